# cmake -DROOT=<tree> -P check_layers.cmake: exits non-zero, listing each include that goes up or
# sideways through the layers of SsmkitLayerRules.cmake. The build runs the same check when it
# configures; the test suite runs this script on the tree and on a planted violation.
cmake_minimum_required(VERSION 3.18)
include("${CMAKE_CURRENT_LIST_DIR}/SsmkitLayerRules.cmake")
if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<source tree> -P check_layers.cmake")
endif()
ssmkit_find_layer_violations("${ROOT}" _violations)
if(_violations)
  list(JOIN _violations "\n  " _text)
  message(FATAL_ERROR "ssmkit layer rules broken:\n  ${_text}")
endif()
message(STATUS "ssmkit layer rules hold in ${ROOT}")

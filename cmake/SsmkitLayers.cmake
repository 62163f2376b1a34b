# One static library per layer (ssmkit_<layer>, alias ssmkit::<layer>) over src/<layer>/*.cpp,
# linking only the layers under it, so code that reaches upward fails to link; and the include
# check that also catches upward uses of header-only code.
include("${CMAKE_CURRENT_LIST_DIR}/SsmkitLayerRules.cmake")

set(SSMKIT_LAYER_TARGETS "")

# ssmkit_add_layer(<layer> DEPS <public deps...> [PRIVATE_DEPS <deps...>] [SOURCES <extra...>])
# A layer compiles as one unity translation unit (SSMKIT_UNITY): the LibTorch headers, which cost
# about 10 s of a 2-core machine's time per translation unit even when precompiled, are then read
# once per layer instead of once per file. Names in anonymous namespaces must therefore differ
# between the files of one layer.
function(ssmkit_add_layer layer)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS;SOURCES" ${ARGN})
  file(GLOB _sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/${layer}/*.cpp")
  set(_target ssmkit_${layer})
  add_library(${_target} STATIC ${_sources} ${ARG_SOURCES})
  add_library(ssmkit::${layer} ALIAS ${_target})
  target_include_directories(${_target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${_target} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  target_compile_options(${_target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${SSMKIT_WARNINGS}>)
  set_target_properties(${_target} PROPERTIES POSITION_INDEPENDENT_CODE ON
    UNITY_BUILD ${SSMKIT_UNITY} UNITY_BUILD_BATCH_SIZE 0)
  set(SSMKIT_LAYER_TARGETS ${SSMKIT_LAYER_TARGETS} ${_target} PARENT_SCOPE)
endfunction()

function(ssmkit_check_layer_includes root)
  ssmkit_find_layer_violations("${root}" _violations)
  if(_violations)
    list(JOIN _violations "\n  " _text)
    message(FATAL_ERROR "ssmkit layer rules broken (cmake/SsmkitLayerRules.cmake):\n  ${_text}")
  endif()
endfunction()

# cmake -DTEST_EXECUTABLE=<gtest binary> -DOUTPUT=<file> -DWORKING_DIRECTORY=<dir> [-DLABELS=..]
#       [-DTIMEOUT=s] [-DENVIRONMENT=..] -P SsmkitListSuites.cmake
# Writes one ctest test per GoogleTest suite of the binary (--gtest_filter=<Suite>.*) into OUTPUT,
# after each build of the binary. One process per suite rather than per test: every process pays
# LibTorch's start-up (about 0.7 s of a 2-core machine), which at one process per test was most of
# the suite's time.
cmake_minimum_required(VERSION 3.18)
execute_process(COMMAND "${TEST_EXECUTABLE}" --gtest_list_tests
  OUTPUT_VARIABLE _listing RESULT_VARIABLE _status)
if(NOT _status EQUAL 0)
  message(FATAL_ERROR "${TEST_EXECUTABLE} --gtest_list_tests failed (${_status}):\n${_listing}")
endif()
string(REPLACE "\n" ";" _lines "${_listing}")
set(_script "")
foreach(_line IN LISTS _lines)
  # Suite lines start in column 0 and end with '.', before an optional "  # TypeParam = ..." note.
  if(_line MATCHES "^([^ #][^ ]*)\\.( .*)?$")
    set(_suite "${CMAKE_MATCH_1}")
    string(APPEND _script
      "add_test([=[${_suite}]=] [=[${TEST_EXECUTABLE}]=] [=[--gtest_filter=${_suite}.*]=])\n"
      "set_tests_properties([=[${_suite}]=] PROPERTIES WORKING_DIRECTORY [=[${WORKING_DIRECTORY}]=] "
      "LABELS [=[${LABELS}]=] TIMEOUT ${TIMEOUT} ENVIRONMENT [=[${ENVIRONMENT}]=])\n")
  endif()
endforeach()
file(WRITE "${OUTPUT}" "${_script}")

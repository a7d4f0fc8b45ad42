# Run at build time (POST_BUILD): asks a test binary for its cases and writes one
# add_test() per case into a file that ctest includes.
execute_process(COMMAND ${EXE} --list OUTPUT_VARIABLE cases RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --list failed")
endif()
string(REPLACE "\n" ";" cases "${cases}")
file(WRITE ${OUT} "")
foreach(c IN LISTS cases)
  if(c)
    file(APPEND ${OUT} "add_test(${PREFIX}.${c} ${EXE} ${c})\n")
  endif()
endforeach()

# ctest runs each doctest case by name, and CMake splits names at ';' (its list separator):
# a case whose name holds one would be registered under a fragment that matches nothing, and
# pass without running. Fail instead.
file(GLOB sources ${SOURCE_DIR}/tests/*.cpp)
foreach(src IN LISTS sources)
  file(STRINGS ${src} lines REGEX "^TEST_CASE\\(\"[^\"]*\\;")
  if(lines)
    message(FATAL_ERROR "${src}: a TEST_CASE name contains ';' and would never run under ctest:\n${lines}")
  endif()
endforeach()

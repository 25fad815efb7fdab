# The one-definition-rule guard of examples/cli/cuda_engine.cu: nvcc's host pass compiles the
# CPU headers without xsimd, so the engine's object file must not define any CPU kernel
# (electra::expr, electra::cpu, electra::ops, Var's gradient buffers) that electra.cpp also
# instantiates with SIMD: the linker would keep one of two different definitions.
# -DOBJECTS=a.o|b.o (the electra program's objects), -DNM=nm
cmake_minimum_required(VERSION 3.20)
string(REPLACE "|" ";" objects "${OBJECTS}")
set(engine "")
foreach(o IN LISTS objects)
  if(o MATCHES "cuda_engine\\.cu\\.o$")
    set(engine "${o}")
  endif()
endforeach()
if(engine STREQUAL "")
  message(FATAL_ERROR "no cuda_engine.cu object among: ${OBJECTS}")
endif()
execute_process(COMMAND ${NM} -C --defined-only "${engine}" OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${engine}")
endif()
# Only the external symbols (T, W, V, u) can collide; a function's name is what precedes its
# parameter list (kernels' host stubs, which name functors in their parameters, are local).
string(REPLACE "\n" ";" lines "${symbols}")
set(bad "")
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-f]* [TWVu] (.*)$")
    set(symbol "${CMAKE_MATCH_1}")
    string(REGEX REPLACE "\\(.*" "" name "${symbol}")
    if(name MATCHES "electra::(expr|cpu|ops)::|grad_buffer")
      list(APPEND bad "${symbol}")
    endif()
  endif()
endforeach()
if(bad)
  list(JOIN bad "\n" text)
  message(FATAL_ERROR "cuda_engine.cu defines CPU kernels that electra.cpp also defines (ODR):\n${text}")
endif()
list(LENGTH lines n)
message(STATUS "cuda_engine.cu.o: ${n} defined symbols, no external one from the CPU kernels")

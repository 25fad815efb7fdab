# Installs electra from SOURCE_DIR into WORK_DIR/prefix, then configures, builds and runs
# the consumer project against the installed package (find_package(electra CONFIG)).
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/electra-build -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix
    -DELECTRA_BUILD_TESTS=OFF -DELECTRA_BUILD_EXAMPLES=OFF -DELECTRA_BUILD_BENCHMARKS=OFF -DELECTRA_CUDA=OFF
    -DELECTRA_USE_OPENBLAS=${USE_OPENBLAS})
run(${CMAKE_COMMAND} --install ${WORK_DIR}/electra-build)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/consumer-build
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
run(${WORK_DIR}/consumer-build/consumer)

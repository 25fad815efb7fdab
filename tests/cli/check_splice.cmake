# splice_weights (the ablation tool of docs/results.md): tensors whose names contain the
# substring come from the donor, the rest stay the base's; a shape mismatch is refused.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
run_ok(out ${ELECTRA} init --config tiny --out ${WORK_DIR}/a --seed 1)
run_ok(out ${ELECTRA} init --config tiny --out ${WORK_DIR}/b --seed 2)
set(a ${WORK_DIR}/a/discriminator.safetensors)
set(b ${WORK_DIR}/b/discriminator.safetensors)

run_ok(out ${SPLICE} ${a} ${b} ${WORK_DIR}/none.safetensors no-such-tensor)
expect("${out}" "^0 of 43 tensors")
run_ok(out ${COMPARE} ${WORK_DIR}/none.safetensors ${a} 0)

run_ok(out ${SPLICE} ${a} ${b} ${WORK_DIR}/emb.safetensors embeddings)
expect("${out}" "^7 of 43 tensors")
execute_process(COMMAND ${COMPARE} ${WORK_DIR}/emb.safetensors ${a} 0 RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(rc EQUAL 0)
  message(FATAL_ERROR "the spliced embeddings should differ from the base's")
endif()
run_ok(out ${SPLICE} ${b} ${WORK_DIR}/emb.safetensors ${WORK_DIR}/back.safetensors encoder.layer)
run_ok(out ${SPLICE} ${WORK_DIR}/back.safetensors ${a} ${WORK_DIR}/back.safetensors predictions)
# b's embeddings with a's layers and head, built the other way round: exactly emb.safetensors.
run_ok(out ${COMPARE} ${WORK_DIR}/back.safetensors ${WORK_DIR}/emb.safetensors 0)

execute_process(COMMAND ${SPLICE} ${a} ${WORK_DIR}/a/generator.safetensors ${WORK_DIR}/x.safetensors encoder.layer
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "has shape \\[16\\]")
  message(FATAL_ERROR "a shape mismatch should be refused naming the shapes; got rc ${rc}: ${err}")
endif()

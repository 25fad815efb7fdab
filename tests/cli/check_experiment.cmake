# scripts/experiment.sh end to end at a toy scale: pretraining ELECTRA, the MLM baseline and one
# sweep member for the same FLOPs budget on the bundled WikiText-2 test file, fine-tuning each
# (and a random initialisation) on the synthetic SST-2 task, and the table. A second invocation
# finds every job done and rewrites the same table.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
include(${CMAKE_CURRENT_LIST_DIR}/synthetic_sst2.cmake)
write_synthetic_sst2(${WORK_DIR}/glue/SST-2)

set(env ELECTRA=${ELECTRA} GLUE_DIR=${WORK_DIR}/glue CORPUS=${CORPUS} BUDGET=2e9 BATCH=4 SEQ_LEN=32
    TASKS=sst2 SEEDS=1 FT_MAX_TRAIN=0 SWEEP=0.5 JOBS=2)
foreach(round first second)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${env} bash ${SCRIPT} ${WORK_DIR}/out
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "experiment.sh failed (${round} run, ${rc}):\n${out}\n${err}")
  endif()
  file(READ ${WORK_DIR}/out/table.md table_${round})
endforeach()
expect("${table_first}" "^\\| task \\| metric \\| electra-g0.25 \\| mlm \\| random \\| electra-g0.5 \\|\n")
expect("${table_first}" "\n\\| sst2 \\| accuracy \\| [01]\\.[0-9]+ \\| [01]\\.[0-9]+ \\| [01]\\.[0-9]+ \\| [01]\\.[0-9]+ \\|\n")
expect("${table_first}" "\n\\| pretraining FLOPs \\| \\| [0-9.e+]+ \\| [0-9.e+]+ \\| 0 \\| [0-9.e+]+ \\|\n")
expect("${table_first}" "\n\\| held-out mlm_accuracy \\| \\| 0\\.[0-9]+ \\| 0\\.[0-9]+ \\| - \\| 0\\.[0-9]+ \\|\n")
expect("${table_first}" "\n\\| held-out disc_auc \\| \\| [01]\\.[0-9]+ \\| - \\| - \\| [01]\\.[0-9]+ \\|\n$")
if(NOT table_first STREQUAL table_second)
  message(FATAL_ERROR "a second run should reuse every result:\n${table_first}\nvs\n${table_second}")
endif()
expect("${err}" "table: ")
if(err MATCHES "pretrain electra|finetune mlm")
  message(FATAL_ERROR "the second run repeated finished jobs:\n${err}")
endif()

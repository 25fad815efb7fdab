# electra init --config tiny, then electra detect on text, JSON and an ids file; checks the
# output's shape and that a bad id is reported with its file and line.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})

run_ok(out ${ELECTRA} init --config tiny --out ${WORK_DIR} --seed 3)
set(model ${WORK_DIR}/discriminator.safetensors)
run_ok(out ${ELECTRA} detect --model ${model} --vocab ${VOCAB} "The cat sat on the mat.")
expect("${out}" "\\[CLS\\] +101 +0\\.[0-9]+\nthe +1996 +0\\.[0-9]+\ncat +4937 +0\\.[0-9]+")
run_ok(out ${ELECTRA} detect --model ${model} --vocab ${VOCAB} --json "Hello!")
expect("${out}" "\"tokens\":\\[\"\\[CLS\\]\",\"hello\",\"!\",\"\\[SEP\\]\"\\],\"ids\":\\[101,7592,999,102\\]")
file(WRITE ${WORK_DIR}/ids.txt "101 7592 999 102\n101 99999 102\n")
execute_process(COMMAND ${ELECTRA} detect --model ${model} --vocab ${VOCAB} --ids-file ${WORK_DIR}/ids.txt
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "ids.txt:2: '99999' is not a token id")
  message(FATAL_ERROR "a bad id should fail naming file and line; got rc ${rc}: ${err}")
endif()
# --device cuda: the same scores from the GPU on a machine with one; elsewhere a clear refusal.
execute_process(COMMAND ${ELECTRA} detect --model ${model} --vocab ${VOCAB} --device cuda "The cat sat on the mat."
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  expect("${out}" "\\[CLS\\] +101 +0\\.[0-9]+\nthe +1996 +0\\.[0-9]+\ncat +4937 +0\\.[0-9]+")
elseif(NOT err MATCHES "--device cuda: (no CUDA device is visible|this electra was built without)")
  message(FATAL_ERROR "detect --device cuda should score or say why it cannot; got rc ${rc}: ${err}")
endif()

# electra squad end to end on the Unicode SQuAD 1.1 fixture (train = dev): a randomly
# initialised Tiny model learns the two answers it can train on, answers come back with their
# accents, --eval-only on the saved model reproduces the predictions byte for byte, a SQuAD 2.0
# file reports HasAns/NoAns, and a malformed file is named in the error.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
set(v1 ${FIXTURES}/squad/v1.1-unicode.json)
set(v2 ${FIXTURES}/squad/v2.0-impossible.json)

run_ok(out ${ELECTRA} squad --train ${v1} --dev ${v1} --config tiny --vocab ${VOCAB} --out ${WORK_DIR}/v1
  --epochs 40 --batch 4 --lr 1e-3 --max-seq-len 128 --threads 1)
expect("${out}" "SQuAD 1\\.1 dev: exact [0-9.]+  f1 [0-9.]+  \\(5 questions\\)")
file(READ ${WORK_DIR}/v1/predictions.json preds)
expect("${preds}" "\"u-owner\": \"Émile Ruch\"")
expect("${preds}" "\"u-opened\": \"1911\"")
file(READ ${WORK_DIR}/v1/results.json results)
expect("${results}" "\"exact\": [0-9.]+,\n    \"f1\": ")
file(READ ${WORK_DIR}/v1/train_log.jsonl log)
expect("${log}" "\"step\":30,")

run_ok(out ${ELECTRA} squad --dev ${v1} --init ${WORK_DIR}/v1/model.safetensors --vocab ${VOCAB}
  --out ${WORK_DIR}/again --max-seq-len 128 --eval-only --threads 1)
file(READ ${WORK_DIR}/again/predictions.json again)
if(NOT again STREQUAL preds)
  message(FATAL_ERROR "--eval-only on the saved model predicts differently:\n${again}\nvs\n${preds}")
endif()

run_ok(out ${ELECTRA} squad --train ${v2} --dev ${v2} --config tiny --vocab ${VOCAB} --out ${WORK_DIR}/v2
  --epochs 2 --batch 4 --max-seq-len 128 --threads 1)
expect("${out}" "SQuAD 2\\.0 dev: .*HasAns exact [0-9.]+ f1 [0-9.]+ \\([0-9]+\\)  NoAns exact")
if(NOT EXISTS ${WORK_DIR}/v2/null_odds.json)
  message(FATAL_ERROR "SQuAD 2.0 writes null_odds.json")
endif()

execute_process(COMMAND ${ELECTRA} squad --train ${FIXTURES}/squad/malformed-truncated.json --dev ${v1}
  --config tiny --vocab ${VOCAB} --out ${WORK_DIR}/bad RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "malformed-truncated.json")
  message(FATAL_ERROR "a malformed SQuAD file should fail naming it; got rc ${rc}: ${err}")
endif()

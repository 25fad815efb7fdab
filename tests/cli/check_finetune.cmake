# electra finetune end to end on a synthetic SST-2 task that a randomly initialised Tiny model
# must learn (the label is whether the sentence says "good" or "bad"): dev accuracy 1.0 over
# two seeds, every output file, the constant baseline, starting from `electra init` weights,
# and a malformed row reported with its file and line.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
set(data ${WORK_DIR}/SST-2)

include(${CMAKE_CURRENT_LIST_DIR}/synthetic_sst2.cmake)
write_synthetic_sst2(${data})

run_ok(out ${ELECTRA} finetune --task sst2 --data ${data} --config tiny --vocab ${VOCAB} --out ${WORK_DIR}/run
  --epochs 12 --batch 8 --lr 1e-3 --seeds 2 --threads 1)
expect("${out}" "sst2 dev, median of 2 seed\\(s\\):  accuracy 1\\.0000")
file(READ ${WORK_DIR}/run/results.json results)
expect("${results}" "\"median\": {\n    \"accuracy\": 1")
expect("${results}" "\"train_examples\": 48")
file(READ ${WORK_DIR}/run/seed-1/dev_predictions.tsv preds)
expect("${preds}" "^guid\tprediction\tgold\ndev-0\t1\t1\ndev-1\t0\t0\n")
file(READ ${WORK_DIR}/run/seed-0/SST-2.tsv submission)
expect("${submission}" "^index\tprediction\n0\t1\n1\t0\n$")
file(READ ${WORK_DIR}/run/seed-0/train_log.jsonl log)
expect("${log}" "\"step\":72,")

run_ok(out ${ELECTRA} finetune --task sst2 --data ${data} --vocab ${VOCAB} --out ${WORK_DIR}/base --baseline)
expect("${out}" "dev accuracy 0\\.5000")

# Pretrained weights (here: a fresh `electra init`) load into the encoder.
run_ok(out ${ELECTRA} init --config tiny --out ${WORK_DIR}/init --seed 1)
run_ok(out ${ELECTRA} finetune --task sst2 --data ${data} --init ${WORK_DIR}/init/discriminator.safetensors
  --vocab ${VOCAB} --out ${WORK_DIR}/from-init --epochs 1 --threads 1)
expect("${out}" "sst2 dev, median of 1 seed\\(s\\):  accuracy [01]\\.[0-9]+")

file(APPEND ${data}/train.tsv "a row without its label\n")
execute_process(COMMAND ${ELECTRA} finetune --task sst2 --data ${data} --config tiny --vocab ${VOCAB}
  --out ${WORK_DIR}/bad RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "train.tsv:50:")
  message(FATAL_ERROR "a malformed row should fail naming file and line; got rc ${rc}: ${err}")
endif()
execute_process(COMMAND ${ELECTRA} finetune --task cola --data ${data} --config tiny --vocab ${VOCAB}
  --out ${WORK_DIR}/bad RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "train.tsv")
  message(FATAL_ERROR "a task without its files should fail naming the path; got rc ${rc}: ${err}")
endif()

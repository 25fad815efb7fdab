# The options of the equal-FLOPs experiment (scripts/experiment.sh): --flops turns a budget of
# model FLOPs into whole steps, --objective mlm pretrains a BERT of the discriminator's size and
# exports only it, fine-tuning starts from that run's encoder, and --generator-size sets the
# generator's width.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
run_ok(out ${ELECTRA} prepare --vocab ${VOCAB} --input ${CORPUS} --out ${WORK_DIR}/data --max-seq-len 32 --seed 1)
set(common pretrain --model tiny --data ${WORK_DIR}/data --batch 4 --max-seq-len 32 --eval-examples 8 --threads 1
    --log-every 1)

# fails(NAME PATTERN args...): the command must fail with a message matching PATTERN.
function(fails name pattern)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "${name}: expected a failure matching '${pattern}', got rc ${rc}: ${err}")
  endif()
  set(last_error "${err}" PARENT_SCOPE)
endfunction()

# A budget below one step is refused and names the cost of a step; 3.5 steps' worth trains 3.
fails("budget below one step" "is less than one step \\([0-9]+ FLOPs at batch 4\\)"
  ${ELECTRA} ${common} --objective mlm --flops 1 --out ${WORK_DIR}/none)
string(REGEX MATCH "\\(([0-9]+) FLOPs" _ "${last_error}")
math(EXPR budget "${CMAKE_MATCH_1} * 7 / 2" OUTPUT_FORMAT DECIMAL)
execute_process(COMMAND ${ELECTRA} ${common} --objective mlm --flops ${budget} --out ${WORK_DIR}/mlm
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mlm pretraining failed: ${err}")
endif()
expect("${err}" "pretraining tiny for 3 steps")
expect("${err}" "model FLOPs \\(flops_computation.py\\): [0-9.e+]+ per step")

# The MLM baseline trains the generator at the discriminator's size and exports it alone.
if(EXISTS ${WORK_DIR}/mlm/discriminator)
  message(FATAL_ERROR "an MLM run must not export the untrained discriminator")
endif()
file(READ ${WORK_DIR}/mlm/generator/config.json gen_config)
expect("${gen_config}" "\"hidden_size\": 64")
expect("${gen_config}" "\"intermediate_size\": 256")

# Fine-tuning from the MLM run, by its directory and by its checkpoint, takes the trained encoder.
include(${CMAKE_CURRENT_LIST_DIR}/synthetic_sst2.cmake)
write_synthetic_sst2(${WORK_DIR}/SST-2)
foreach(init ${WORK_DIR}/mlm ${WORK_DIR}/mlm/checkpoint.safetensors)
  execute_process(COMMAND ${ELECTRA} finetune --task sst2 --data ${WORK_DIR}/SST-2 --init ${init} --vocab ${VOCAB}
    --out ${WORK_DIR}/ft --epochs 1 --threads 1 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "finetune --init ${init} failed: ${err}")
  endif()
  expect("${out}" "sst2 dev, median of 1 seed")
endforeach()
expect("${err}" "mlm/checkpoint.safetensors")

# The generator's width follows --generator-size (Tiny: 64 × 0.5 = 32, ffn 4 × 32).
run_ok(out ${ELECTRA} ${common} --steps 1 --generator-size 0.5 --out ${WORK_DIR}/half)
file(READ ${WORK_DIR}/half/generator/config.json gen_config)
expect("${gen_config}" "\"hidden_size\": 32")
expect("${gen_config}" "\"intermediate_size\": 128")

fails("--steps with --flops" "give --steps or --flops, not both"
  ${ELECTRA} ${common} --steps 2 --flops 1e12 --out ${WORK_DIR}/x)
fails("--generator-size with mlm" "--generator-size applies to --objective electra"
  ${ELECTRA} ${common} --objective mlm --generator-size 0.5 --steps 1 --out ${WORK_DIR}/x)
fails("--generator-size out of range" "generator size fraction must lie in \\(0, 1\\]"
  ${ELECTRA} ${common} --generator-size 1.5 --steps 1 --out ${WORK_DIR}/x)

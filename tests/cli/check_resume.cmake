# A pretraining run killed with SIGKILL and resumed from its last checkpoint must end with
# bitwise the same weights as an uninterrupted run (same seed, same thread count).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})

run_ok(out ${ELECTRA} prepare --vocab ${VOCAB} --input ${CORPUS} --out ${WORK_DIR}/data --max-seq-len 32 --seed 1)
set(common pretrain --model tiny --data ${WORK_DIR}/data --steps 12 --batch 4 --max-seq-len 32 --save-every 4
    --eval-every 4 --log-every 2 --eval-examples 8 --seed 5 --threads 1)
run_ok(out ${ELECTRA} ${common} --out ${WORK_DIR}/straight)

execute_process(COMMAND ${ELECTRA} ${common} --out ${WORK_DIR}/killed --crash-after 6
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(rc EQUAL 0)
  message(FATAL_ERROR "the run with --crash-after 6 should have been killed, but it exited 0")
endif()
run_ok(out ${ELECTRA} ${common} --out ${WORK_DIR}/killed --resume)

foreach(f discriminator/model.safetensors generator/model.safetensors checkpoint.safetensors)
  file(SHA256 ${WORK_DIR}/straight/${f} a)
  file(SHA256 ${WORK_DIR}/killed/${f} b)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "${f} differs between the uninterrupted and the killed-and-resumed run")
  endif()
endforeach()
file(STRINGS ${WORK_DIR}/straight/metrics.jsonl straight_lines)
file(STRINGS ${WORK_DIR}/killed/metrics.jsonl killed_lines)
list(LENGTH straight_lines n1)
list(LENGTH killed_lines n2)
if(NOT n1 EQUAL n2)
  message(FATAL_ERROR "metrics.jsonl has ${n1} records after the straight run but ${n2} after kill + resume")
endif()
if(NOT EXISTS ${WORK_DIR}/killed/curves.svg OR NOT EXISTS ${WORK_DIR}/killed/discriminator/config.json)
  message(FATAL_ERROR "the run did not write curves.svg and the HuggingFace export")
endif()

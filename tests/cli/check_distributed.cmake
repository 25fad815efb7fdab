# Data-parallel electra pretrain under mpirun, on one machine:
#  1. 20 steps on 2 ranks (batch 4 each) match 20 steps of 1 process with --accumulate 2
#     (the same micro-batches and random draws; only float summation order differs);
#  2. a rank killed with SIGKILL takes the job down (mpirun exits non-zero, no hang), and
#     `--resume` on 2 ranks ends bitwise where an uninterrupted 2-rank run ends;
#  3. resuming with another layout is refused unless --reshard;
#  4. electra finetune on 2 ranks learns the synthetic task and rank 0 writes the results.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
set(mpi ${MPIEXEC} -np 2)

run_ok(out ${ELECTRA} prepare --vocab ${VOCAB} --input ${CORPUS} --out ${WORK_DIR}/data --max-seq-len 32 --seed 1)
set(common pretrain --model tiny --data ${WORK_DIR}/data --steps 20 --batch 4 --max-seq-len 32 --save-every 5
    --eval-every 10 --log-every 5 --eval-examples 8 --seed 5 --threads 1)

run_ok(out ${mpi} ${ELECTRA} ${common} --out ${WORK_DIR}/ranks)
run_ok(out ${ELECTRA} ${common} --accumulate 2 --out ${WORK_DIR}/accumulate)
file(READ ${WORK_DIR}/ranks/metrics.jsonl log)
expect("${log}" "\"step\":19,\"split\":\"train\"")
# Tolerance: 20 AdamW steps from float32 gradients summed in a different order.
run_ok(out ${COMPARE} ${WORK_DIR}/ranks/checkpoint.safetensors ${WORK_DIR}/accumulate/checkpoint.safetensors 1e-4)
message(STATUS "2 ranks vs --accumulate 2: ${out}")

execute_process(COMMAND ${mpi} ${ELECTRA} ${common} --out ${WORK_DIR}/killed --crash-after 7 --crash-rank 1
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(rc EQUAL 0 OR rc MATCHES "timeout")
  message(FATAL_ERROR "the job whose rank 1 was killed should fail promptly; got '${rc}':\n${out}${err}")
endif()
run_ok(out ${mpi} ${ELECTRA} ${common} --out ${WORK_DIR}/killed --resume)
foreach(f discriminator/model.safetensors checkpoint.safetensors)
  file(SHA256 ${WORK_DIR}/ranks/${f} a)
  file(SHA256 ${WORK_DIR}/killed/${f} b)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "${f} differs between the uninterrupted and the killed-and-resumed 2-rank runs")
  endif()
endforeach()

set(more pretrain --model tiny --data ${WORK_DIR}/data --steps 25 --batch 4 --max-seq-len 32 --save-every 5
    --eval-every 10 --log-every 5 --eval-examples 8 --seed 5 --threads 1 --out ${WORK_DIR}/ranks --resume)
execute_process(COMMAND ${ELECTRA} ${more} RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "2 slots .*this run has 1.*--reshard")
  message(FATAL_ERROR "resuming 2 ranks' checkpoint in 1 process should be refused; got ${rc}: ${err}")
endif()
run_ok(out ${ELECTRA} ${more} --reshard)

include(${CMAKE_CURRENT_LIST_DIR}/synthetic_sst2.cmake)
write_synthetic_sst2(${WORK_DIR}/SST-2)
run_ok(out ${mpi} ${ELECTRA} finetune --task sst2 --data ${WORK_DIR}/SST-2 --config tiny --vocab ${VOCAB}
  --out ${WORK_DIR}/finetune --epochs 12 --batch 8 --lr 1e-3 --threads 1)
expect("${out}" "sst2 dev, median of 1 seed\\(s\\):  accuracy 1\\.0000")
file(READ ${WORK_DIR}/finetune/seed-0/train_log.jsonl log)
expect("${log}" "\"step\":72,")

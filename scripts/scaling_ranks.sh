#!/usr/bin/env bash
# Data-parallel scaling on this machine: Tiny pretraining tokens/s with 1 process of 1 thread,
# 1 process of 2 threads, and 2 MPI ranks of 1 thread each (batch 32 per rank), on the bundled
# WikiText-2. Prints the mean tokens/s logged at steps 29, 39, 49 and 59 of each (after warm-up).
# Usage: scripts/scaling_ranks.sh [ELECTRA] [WORK]
set -euo pipefail
electra=${1:-build/examples/electra}
work=${2:-/tmp/electra-scaling}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
rm -rf "$work" && mkdir -p "$work"
"$electra" prepare --input data/corpus/wikitext-2/wiki.valid.raw data/corpus/wikitext-2/wiki.test.raw \
  --out "$work/data" --max-seq-len 128 > /dev/null 2>&1
common=(pretrain --model tiny --data "$work/data" --steps 60 --batch 32 --log-every 10 --save-every 1000
        --eval-every 1000)
rate() {  # mean tokens/s of the records at steps 29..59
  grep '"train"' "$1/metrics.jsonl" | awk -F'"tokens_per_s":' 'NR>=3 {split($2, a, ","); s += a[1]; n++} END {printf "%.0f", s / n}'
}
"$electra" "${common[@]}" --threads 1 --out "$work/p1t1" 2> /dev/null
"$electra" "${common[@]}" --threads 2 --out "$work/p1t2" 2> /dev/null
mpirun -np 2 -x ELECTRA_NUM_THREADS=1 "$electra" "${common[@]}" --threads 1 --out "$work/r2t1" 2> /dev/null
printf "1 process x 1 thread   batch 32: %s tokens/s\n" "$(rate "$work/p1t1")"
printf "1 process x 2 threads  batch 32: %s tokens/s\n" "$(rate "$work/p1t2")"
printf "2 ranks   x 1 thread   batch 64: %s tokens/s\n" "$(rate "$work/r2t1")"

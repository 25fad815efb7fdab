#!/usr/bin/env bash
# Fine-tunes one starting point on several GLUE tasks with several seeds and prints the median
# dev scores (the table in docs/results.md). Usage:
#   scripts/finetune_glue.sh OUT (--init WEIGHTS | --config tiny|mini|small | --baseline) [electra finetune options]
# Environment: GLUE_DIR (default ../shared/data/glue), TASKS (default "cola sst2 stsb"),
# SEEDS (default 3), ELECTRA (default build/examples/electra).
set -euo pipefail
out=${1:?usage: scripts/finetune_glue.sh OUT (--init WEIGHTS | --config NAME | --baseline) [options]}
shift
glue=${GLUE_DIR:-../shared/data/glue}
electra=${ELECTRA:-build/examples/electra}
mkdir -p "$out"
for task in ${TASKS:-cola sst2 stsb}; do
  start=$(date +%s)
  if [[ " $* " == *" --baseline "* ]]; then
    "$electra" finetune --task "$task" --data "$glue" --out "$out/$task" "$@" | tee "$out/$task.txt"
  else
    "$electra" finetune --task "$task" --data "$glue" --out "$out/$task" --seeds "${SEEDS:-3}" "$@" \
      2> "$out/$task.log" | tee "$out/$task.txt"
  fi
  echo "$task: $(( $(date +%s) - start )) s" | tee -a "$out/times.txt"
done

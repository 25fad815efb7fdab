#!/usr/bin/env bash
# ELECTRA against masked language modelling at the same pretraining FLOPs, and the generator-size
# sweep, at laptop scale (the paper's Table 1 and Figure 3 questions). One command:
#   scripts/experiment.sh OUT
# 1. Corpus: DATA (shards from `electra prepare`) if set, else CORPUS (text files or folders),
#    prepared into OUT/data. CORPUS defaults to "prose": the English prose that the recipe in
#    ../shared/data/debian-prose-recipe/ builds from Debian packages (73.5 MB; install the
#    packages its README lists first), plus the bundled WikiText-2 valid + test. Without the
#    recipe's packages, CORPUS=wikitext uses the bundled WikiText-2 alone (2.6M tokens).
# 2. Pretraining, each run for the same BUDGET of model FLOPs as counted by flops_computation.py
#    (`electra pretrain --flops`), so the runs take different numbers of steps:
#      electra-g0.25  ELECTRA, generator 1/4 of the discriminator's hidden size (the default)
#      mlm            the MLM-only baseline: a BERT of the discriminator's size
#      electra-g0.125, electra-g0.5, electra-g1   the generator-size sweep
# 3. Fine-tuning of every pretrained discriminator (the MLM model's encoder for mlm) and of a
#    random initialisation on each of TASKS with SEEDS seeds (the paper's recipe; medians).
# 4. OUT/table.md: task, metric, the median of every starting point, the FLOPs spent.
# Jobs run JOBS at a time with 1 thread each: on 2 cores two small jobs side by side beat one
# job on 2 threads. A job whose output is already complete is skipped, so a rerun of the same
# command after an interruption continues (an interrupted pretraining resumes from its checkpoint).
#
# Environment (defaults): MODEL (tiny), BUDGET (1e14 FLOPs), BATCH (32), LR (1e-3),
# TASKS (cola sst2 stsb), SEEDS (3), FT_MAX_TRAIN (8000 training examples per task, 0 = all),
# SWEEP (0.125 0.5 1), JOBS (2), GLUE_DIR (../shared/data/glue), ELECTRA (build/examples/electra),
# SEQ_LEN (128, the pretraining sequence length).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: scripts/experiment.sh OUT   (environment: see the comment at the top of the script)}
electra=${ELECTRA:-$root/build/examples/electra}
model=${MODEL:-tiny}
budget=${BUDGET:-1e14}
batch=${BATCH:-32}
seq_len=${SEQ_LEN:-128}
lr=${LR:-1e-3}
tasks=${TASKS:-cola sst2 stsb}
seeds=${SEEDS:-3}
ft_max=${FT_MAX_TRAIN:-8000}
sweep=${SWEEP:-0.125 0.5 1}
jobs=${JOBS:-2}
glue=${GLUE_DIR:-$root/../shared/data/glue}
[[ -x $electra ]] || { echo "experiment: $electra not found; build first (README)" >&2; exit 1; }
[[ -d $glue ]] || { echo "experiment: GLUE data not found at $glue (set GLUE_DIR)" >&2; exit 1; }
mkdir -p "$out/logs"
started=$(date +%s)
note() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$out/logs/experiment.log" >&2; }

# --- 1. data ---------------------------------------------------------------------------------
data=${DATA:-$out/data}
wikitext=("$root/data/corpus/wikitext-2/wiki.valid.raw" "$root/data/corpus/wikitext-2/wiki.test.raw")
if [[ -z ${DATA:-} && ! -f $data/shard-00000.bin ]]; then
  case ${CORPUS:-prose} in
    prose)
      recipe=${PROSE_RECIPE:-$root/../shared/data/debian-prose-recipe/build_debian_prose.sh}
      if [[ ! -f $recipe || ! -f /usr/share/dictd/gcide.dict.dz ]]; then
        echo "experiment: the Debian prose corpus needs $recipe and its packages (see its README);" \
             "or run with CORPUS=wikitext (the bundled WikiText-2 alone) or CORPUS='FILES...'" >&2
        exit 1
      fi
      note "building the Debian prose corpus into $out/corpus"
      bash "$recipe" "$out/corpus" > "$out/logs/corpus.log" 2>&1
      # One paragraph per line with a blank line after each would make every paragraph a document
      # of a few dozen tokens; pack 40 paragraphs per document so that examples fill 128 tokens.
      awk 'NF' "$out/corpus/all.txt" | awk '{print} NR % 40 == 0 {print ""}' > "$out/corpus/packed.txt"
      inputs=("$out/corpus/packed.txt" "${wikitext[@]}") ;;
    wikitext) inputs=("${wikitext[@]}") ;;
    *) read -r -a inputs <<< "$CORPUS" ;;
  esac
  note "preparing ${inputs[*]} into $data"
  "$electra" prepare --input "${inputs[@]}" --out "$data" --max-seq-len "$seq_len" > "$out/logs/prepare.log" 2>&1
fi

# --- jobs -------------------------------------------------------------------------------------
pretrain() {  # NAME [pretrain options]: one run of BUDGET FLOPs; resumes an interrupted one
  local name=$1; shift
  local dir=$out/pretrain/$name
  [[ -f $dir/done ]] && return 0
  local resume=()
  [[ -f $dir/checkpoint.safetensors ]] && resume=(--resume)
  note "pretrain $name $*"
  "$electra" pretrain --model "$model" --data "$data" --out "$dir" --flops "$budget" --batch "$batch" --lr "$lr" \
    --threads 1 --save-every 250 --eval-every 250 --log-every 50 --max-seq-len "$seq_len" "${resume[@]}" "$@" \
    > "$out/logs/pretrain-$name.log" 2>&1 || return 1
  date > "$dir/done"
  note "pretrain $name done"
}
finetune() {  # NAME (--init DIR | --config MODEL): every task, SEEDS seeds
  local name=$1; shift
  for task in $tasks; do
    local dir=$out/finetune/$name/$task
    [[ -f $dir/results.json ]] && continue
    note "finetune $name $task"
    "$electra" finetune --task "$task" --data "$glue" --out "$dir" --seeds "$seeds" --threads 1 \
      --max-train-examples "$ft_max" "$@" > "$out/logs/finetune-$name-$task.txt" 2> "$out/logs/finetune-$name-$task.log" ||
      return 1
  done
}
chain() {  # NAME [pretrain options]: pretrain then fine-tune
  local name=$1; shift
  pretrain "$name" "$@" && finetune "$name" --init "$out/pretrain/$name"
}
lane() { "$@" || { note "FAILED: $* (see $out/logs)"; return 1; }; }

# The two runs of the main comparison first, then the random initialisation and the sweep.
note "experiment: $model, $budget FLOPs per pretraining run, tasks: $tasks, $seeds seeds, $jobs jobs"
starting_points=("electra-g0.25" "mlm" "random")
pids=()
launch() {
  while (( $(jobs -rp | wc -l) >= jobs )); do wait -n || true; done
  lane "$@" & pids+=($!)
}
launch chain electra-g0.25 --objective electra --generator-size 0.25
launch chain mlm --objective mlm
launch finetune random --config "$model"
for g in $sweep; do
  [[ $g == 0.25 ]] && continue
  launch chain "electra-g$g" --objective electra --generator-size "$g"
  starting_points+=("electra-g$g")
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done

# --- 4. the table -----------------------------------------------------------------------------
flops_of() {  # the FLOPs a pretraining run spent, from its log's header line
  sed -n 's/.* per step, \([^ ]*\) in all$/\1/p' "$out/logs/pretrain-$1.log" 2>/dev/null | head -n 1 || true
}
held_out() {  # NAME FIELD: FIELD of the run's last held-out evaluation, 3 decimals
  grep '"split":"eval"' "$out/pretrain/$1/metrics.jsonl" 2>/dev/null | tail -n 1 |
    sed -n "s/.*\"$2\":\([-0-9.e]*\).*/\1/p" | awk '{printf "%.3f", $1}' || true
}
median_line() {  # NAME TASK -> "metric value ..." from the finetune summary line
  sed -n 's/^.*median of [0-9]* seed(s): *//p' "$out/logs/finetune-$1-$2.txt" 2>/dev/null | head -n 1 || true
}
{
  echo "| task | metric |$(printf ' %s |' "${starting_points[@]}")"
  echo "|---|---|$(printf -- '---|%.0s' "${starting_points[@]}")"
  for task in $tasks; do
    read -r -a first <<< "$(median_line electra-g0.25 "$task")"
    for (( m = 0; m < ${#first[@]}; m += 2 )); do
      row="| $task | ${first[m]} |"
      for name in "${starting_points[@]}"; do
        read -r -a vals <<< "$(median_line "$name" "$task")"
        row+=" ${vals[m+1]:-n/a} |"
      done
      echo "$row"
    done
  done
  row="| pretraining FLOPs | |"
  for name in "${starting_points[@]}"; do
    if [[ $name == random ]]; then row+=" 0 |"; else row+=" $(flops_of "$name") |"; fi
  done
  echo "$row"
  # Held-out pretraining metrics: the MLM accuracy is the generator's (the MLM model's own for
  # mlm), the AUC the discriminator's (none for mlm and random).
  for field in mlm_accuracy disc_auc; do
    row="| held-out $field | |"
    for name in "${starting_points[@]}"; do
      if [[ $name == random || ($name == mlm && $field == disc_auc) ]]; then value=-
      else value=$(held_out "$name" "$field"); fi
      row+=" ${value:-n/a} |"
    done
    echo "$row"
  done
} > "$out/table.md"
note "table: $out/table.md ($(( ($(date +%s) - started) / 60 )) min)"
cat "$out/table.md"
exit $status

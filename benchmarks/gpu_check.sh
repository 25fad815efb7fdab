#!/usr/bin/env bash
# The GPU session's one command for the CUDA backend (issue 7), in order of importance:
#   1. the CUDA tests against the CPU backend (kernels, layers, a whole pretraining step, a
#      fine-tuning step for each head, the replaced-token detector);
#   2. the ELECTRA-Small pretraining step (batch 128 x 128, + clip + AdamW) in fp32, tf32 and
#      bf16 GEMM modes, with tokens/s and MFU (bench_cuda_step), then the same step in PyTorch
#      eager on the same GPU (fp32, tf32, bf16 autocast) when `python3 -c "import torch"` finds
#      CUDA there, with the side-by-side ratio;
#   3. the electra program end to end: Small pretraining on the bundled corpus with
#      --device cuda (bf16 GEMMs), a checkpoint, and a --resume that continues it; then that
#      model fine-tuned on the test fixtures (finetune sst2, squad) and detect, on the GPU;
#   4. cuBLASLt GEMM throughput at ELECTRA-Small's shapes.
# Every step runs under `timeout`, capped by a deadline so that the whole script ends within
# 8 minutes; a step that no longer fits is skipped and says so. Logs are written to
# build-cuda/gpu-check/; summary.txt and logs.tgz (every log) are copied to $OUT when it is set.
#
#   bash benchmarks/gpu_check.sh            on the GPU machine
#   bash benchmarks/gpu_check.sh prepare    on a development machine (no GPU needed): builds
#                                           the same targets into build-cuda/ and copies the
#                                           executables (and the electra program's libutf8proc
#                                           and libgomp) to build-cuda/gpu-bin/ with a stamp of
#                                           the sources they were built from
#
# On the GPU machine the script configures and builds build-cuda/ itself when the project's
# CMake dependencies are there (Eigen, xsimd, OpenMP, utf8proc). A GPU image may have only the
# CUDA toolkit, PyTorch and CMake; then carry build-cuda/gpu-bin from `prepare` and the script
# runs those executables, after checking that their source stamp matches this tree. They are
# built for x86-64-v3 (AVX2), not this machine's instruction set, so they run on any GPU host.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=build-cuda
PREBUILT=$BUILD/gpu-bin
TARGETS=(cuda_functors_on_device cuda_kernels_vs_cpu cuda_gemm_vs_cpu cuda_layers_vs_cpu cuda_pretraining_vs_cpu
  cuda_task_model_vs_cpu bench_cuda_gemm bench_cuda_step electra_cli)
TESTS=(cuda_functors_on_device cuda_kernels_vs_cpu cuda_gemm_vs_cpu cuda_layers_vs_cpu cuda_pretraining_vs_cpu
  cuda_task_model_vs_cpu)

# A hash of the sources the targets are built from (every header they can include).
source_stamp() {
  { find include/electra tests/cuda -type f \( -name '*.hpp' -o -name '*.cuh' -o -name '*.cu' \) -print
    find examples -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.cu' \) -print
    echo benchmarks/bench_cuda_gemm.cu; echo benchmarks/bench_cuda_step.cu
    echo tests/CMakeLists.txt; echo benchmarks/CMakeLists.txt; echo examples/CMakeLists.txt; echo CMakeLists.txt
  } | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16
}

# configure_and_build JOBS ARCHS [WRAPPER...]: each cmake call runs under the wrapper. The
# electra program is built without MPI and OpenBLAS, so that at run time it needs nothing a
# CUDA image may lack but libutf8proc and libgomp (prepare carries those two).
configure_and_build() {
  local jobs=$1 archs=$2
  shift 2
  "$@" cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DELECTRA_CUDA=ON -DELECTRA_BUILD_TESTS=ON \
    -DELECTRA_BUILD_BENCHMARKS=ON -DELECTRA_BUILD_EXAMPLES=ON -DELECTRA_MPI=OFF -DELECTRA_USE_OPENBLAS=OFF \
    -DELECTRA_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3 "-DCMAKE_CUDA_ARCHITECTURES=$archs" &&
    "$@" cmake --build "$BUILD" --target "${TARGETS[@]}" -j "$jobs"
}

if [[ "${1:-}" == prepare ]]; then
  # Development machine: sm_80 and sm_90 (A100, H100/H200), gentle on a shared machine. The
  # stamp is taken before the build and checked after it: an edit during the build would
  # otherwise stamp binaries with sources they were not built from.
  stamp=$(source_stamp)
  time configure_and_build 1 '80;90' nice -n 10 || exit 1
  if [[ "$(source_stamp)" != "$stamp" ]]; then
    echo "prepare: the sources changed during the build; run it again" >&2
    exit 1
  fi
  rm -rf "$PREBUILT"
  mkdir -p "$PREBUILT/lib"
  for t in "${TARGETS[@]}"; do
    name=$t
    [[ $t == electra_cli ]] && name=electra
    cp "$(find "$BUILD" -path "$PREBUILT" -prune -o -type f -name "$name" -perm -u+x -print | head -1)" "$PREBUILT/" || exit 1
  done
  for lib in libutf8proc.so.2 libgomp.so.1; do
    cp -L "$(ldd "$PREBUILT/electra" | awk -v l="$lib" '$1 == l {print $3}')" "$PREBUILT/lib/" || exit 1
  done
  echo "$stamp" > "$PREBUILT/SOURCE_STAMP"
  echo "prepared $PREBUILT (stamp $stamp): carry this folder to the GPU machine"
  exit 0
fi

LOGS=$BUILD/gpu-check
rm -rf "$LOGS"
mkdir -p "$LOGS"
SUMMARY=$LOGS/summary.txt
say() { echo "$*" | tee -a "$SUMMARY"; }
started=$(date +%s)
deadline=$((started + 470))
failed=0
# Copies the summary and every log to $OUT (at most 8 files come back from a GPU machine).
finish() {
  say "gpu_check: $([[ $failed == 0 ]] && echo PASSED || echo FAILED) in $(( $(date +%s) - started )) s"
  if [[ -n "${OUT:-}" ]]; then
    cp "$SUMMARY" "$OUT/summary.txt"
    tar czf "$OUT/logs.tgz" -C "$LOGS" .
  fi
  exit $failed
}
# limit WANTED: seconds a step may take, capped by the deadline (0: it no longer fits).
limit() {
  local left=$((deadline - $(date +%s)))
  (( left > $1 )) && left=$1
  (( left < 10 )) && left=0
  echo $left
}
# within WANTED CMD...: CMD under `timeout`, capped by the deadline; exit 124 when no time is left
# (never `timeout 0`, which would mean no limit).
within() {
  local secs
  secs=$(limit "$1")
  shift
  (( secs == 0 )) && return 124
  timeout "$secs" "$@"
}

say "gpu_check: $(date -u +%FT%TZ), tree stamp $(source_stamp)"
if command -v nvidia-smi > /dev/null; then
  nvidia-smi > "$LOGS/nvidia-smi.txt" 2>&1
  say "gpu: $(nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
fi
arch=${arch:-90}
say "nvcc: $(nvcc --version 2>/dev/null | tail -1 || echo 'not on PATH')"

# ---- build (or use carried executables) --------------------------------------------------
BIN=""
if [[ -f "$PREBUILT/SOURCE_STAMP" && "$(cat "$PREBUILT/SOURCE_STAMP")" == "$(source_stamp)" ]]; then
  BIN=$PREBUILT
  say "build: using carried executables in $PREBUILT (source stamp matches this tree)"
else
  [[ -d "$PREBUILT" ]] && say "build: $PREBUILT is stale or unstamped; building here instead"
  t0=$(date +%s)
  if configure_and_build "$(nproc)" "$arch" timeout 200 > "$LOGS/build.log" 2>&1; then
    BIN=$BUILD
    say "build: configured and built ${TARGETS[*]} for sm_$arch in $(( $(date +%s) - t0 )) s"
  elif [[ -d "$PREBUILT" ]]; then
    BIN=$PREBUILT
    say "build: FAILED here (see build.log); WARNING: running the carried executables from $PREBUILT, built from other sources"
  else
    say "build: FAILED (tail of build.log below); on a machine without the project's CMake dependencies, run"
    say "       'bash benchmarks/gpu_check.sh prepare' on a development machine and carry $PREBUILT"
    tail -25 "$LOGS/build.log" | tee -a "$SUMMARY"
    failed=1
    finish
  fi
fi
# The executable named $1 under $BIN (skipping carried copies when $BIN is the build tree).
find_exe() {
  if [[ "$BIN" == "$PREBUILT" ]]; then find "$BIN" -type f -name "$1" | head -1
  else find "$BIN" -path "$PREBUILT" -prune -o -type f -name "$1" -perm -u+x -print | head -1; fi
}
if [[ "$BIN" == "$PREBUILT" ]]; then
  chmod +x "$PREBUILT"/* 2> /dev/null
  export LD_LIBRARY_PATH="$PWD/$PREBUILT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# cuBLASLt at run time: the toolkit's, else the one PyTorch's wheels bring.
lt_found=$(ldd "$(find_exe cuda_gemm_vs_cpu)" 2> /dev/null | grep -c 'libcublasLt.so.13 => /')
if [[ "$lt_found" == 0 ]]; then
  lt=$(timeout 30 find /usr/local /usr/lib /opt -name 'libcublasLt.so.13*' 2> /dev/null | head -1)
  if [[ -n "$lt" ]]; then
    export LD_LIBRARY_PATH="$(dirname "$lt")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "runtime: libcublasLt.so.13 from $(dirname "$lt")"
  fi
fi

# ---- 1. tests ----------------------------------------------------------------------------
for t in "${TESTS[@]}"; do
  exe=$(find_exe "$t")
  if [[ -z "$exe" ]]; then say "test $t: MISSING executable"; failed=1; continue; fi
  secs=$(limit 120)
  if [[ $secs == 0 ]]; then say "test $t: SKIPPED (out of time)"; failed=1; continue; fi
  t0=$(date +%s)
  timeout "$secs" "$exe" > "$LOGS/$t.log" 2>&1
  rc=$?
  case $rc in
    0) say "test $t: passed ($(( $(date +%s) - t0 )) s)" ;;
    77) say "test $t: SKIPPED (no device seen)"; failed=1 ;;
    124) say "test $t: TIMED OUT after $secs s"; failed=1 ;;
    *) say "test $t: FAILED (exit $rc); failing checks:"; grep -E '^FAIL' "$LOGS/$t.log" | head -20 | tee -a "$SUMMARY"; failed=1 ;;
  esac
done

# run_bench NAME SECONDS PATTERN ARGS...: runs a benchmark, logs it, copies PATTERN's lines.
run_bench() {
  local name=$1 secs pattern=$3 exe rc
  secs=$(limit "$2")
  shift 3
  exe=$(find_exe "$name")
  if [[ -z "$exe" ]]; then say "$name: MISSING executable"; failed=1; return; fi
  if [[ $secs == 0 ]]; then say "$name: SKIPPED (out of time)"; failed=1; return; fi
  timeout "$secs" "$exe" "$@" > "$LOGS/$name.log" 2>&1
  rc=$?
  say "$name $*: exit $rc"
  grep -E "$pattern" "$LOGS/$name.log" | tee -a "$SUMMARY"
  [[ $rc == 0 ]] || failed=1
}

# ---- 2. the pretraining step: electra, then PyTorch eager on the same GPU ------------------
run_bench bench_cuda_step 180 '^(device|model FLOPs|step|parts|FAIL)' 20 small 128 128  # Small, batch 128 x 128
if timeout 60 python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> /dev/null; then
  for precision in fp32 tf32 bf16; do
    secs=$(limit 100)
    if [[ $secs == 0 ]]; then say "pytorch $precision: SKIPPED (out of time)"; continue; fi
    timeout "$secs" python3 benchmarks/torch_reference/electra_step.py --device cuda --precision "$precision" \
      --config small --batch 128 --seq-len 128 --steps 23 > "$LOGS/pytorch_$precision.json" 2> "$LOGS/pytorch_$precision.err"
    say "pytorch $precision: exit $?"
  done
  # Medians after 3 warm-up steps, and the ratio of step times from this run.
  python3 - "$LOGS" << 'PY' | tee -a "$SUMMARY"
import json, re, statistics, sys
logs = sys.argv[1]
ours = {}
try:
    for line in open(f"{logs}/bench_cuda_step.log", errors="replace"):
        m = re.match(r"step (\w+)\s+median\s+([\d.]+) ms", line)
        if m:
            ours[m.group(1)] = float(m.group(2))
except OSError:
    pass
for p in ("fp32", "tf32", "bf16"):
    try:
        r = json.load(open(f"{logs}/pytorch_{p}.json"))
        torch_ms = 1e3 * statistics.median(r["step_seconds"][3:])
    except Exception as e:
        print(f"side-by-side {p}: no PyTorch figure ({type(e).__name__})")
        continue
    if p in ours:
        print(f"side-by-side {p}: pytorch {torch_ms:.2f} ms, electra {ours[p]:.2f} ms per step; "
              f"pytorch/electra = {torch_ms / ours[p]:.2f} (above 1: electra is faster)")
    else:
        print(f"side-by-side {p}: pytorch {torch_ms:.2f} ms, electra: no figure")
PY
else
  say "pytorch: not importable with CUDA here; no side-by-side"
fi

# ---- 3. the electra program: pretrain --device cuda, a checkpoint, --resume --------------------
exe=$(find_exe electra)
if [[ -z "$exe" ]]; then
  say "electra: MISSING executable"; failed=1
elif [[ $(limit 150) == 0 ]]; then
  say "electra: SKIPPED (out of time)"; failed=1
else
  run=/tmp/electra-gpu-run
  rm -rf "$run"
  vocab=data/vocab/bert-uncased-vocab.txt
  common=(--model small --data "$run/data" --vocab "$vocab" --out "$run/small" --batch 128 --device cuda
          --precision bf16 --warmup 20 --save-every 40 --eval-every 40 --eval-examples 128 --log-every 10)
  within 60 "$exe" prepare --vocab "$vocab" --input data/corpus/wikitext-2/wiki.valid.raw \
    data/corpus/wikitext-2/wiki.test.raw --out "$run/data" > "$LOGS/electra_cli.log" 2>&1 &&
    within 120 "$exe" pretrain "${common[@]}" --steps 40 >> "$LOGS/electra_cli.log" 2>&1 &&
    within 90 "$exe" pretrain "${common[@]}" --steps 60 --resume >> "$LOGS/electra_cli.log" 2>&1
  rc=$?
  say "electra pretrain --device cuda (Small, batch 128, 40 steps, then --resume to 60): exit $rc"
  tr '\r' '\n' < "$LOGS/electra_cli.log" | grep -E '^(pretraining|step (10|40|60)/|done|electra)' | tee -a "$SUMMARY"
  [[ $rc == 0 ]] || failed=1
  # The plumbing of the other commands on the GPU, on the tests' small fixtures (a few steps each).
  if [[ $rc == 0 ]]; then
    fixtures=tests/fixtures
    within 60 "$exe" finetune --task sst2 --data $fixtures/glue/SST-2 --init "$run/small" --out "$run/sst2" \
      --device cuda --precision bf16 --epochs 3 --batch 2 > "$LOGS/electra_finetune.log" 2>&1
    step_rc=$?
    say "electra finetune --device cuda (SST-2 fixture, from that model): exit $step_rc"
    [[ $step_rc == 0 ]] || failed=1
    grep -E 'device:|dev, median' "$LOGS/electra_finetune.log" | tee -a "$SUMMARY"
    within 60 "$exe" squad --train $fixtures/squad/v1.1-unicode.json --dev $fixtures/squad/v1.1-unicode.json \
      --init "$run/small" --out "$run/squad" --device cuda --max-seq-len 128 --doc-stride 64 --epochs 2 --batch 2 \
      > "$LOGS/electra_squad.log" 2>&1
    step_rc=$?
    say "electra squad --device cuda (SQuAD fixture): exit $step_rc"
    [[ $step_rc == 0 ]] || failed=1
    grep -E 'device:|SQuAD .* dev:' "$LOGS/electra_squad.log" | tee -a "$SUMMARY"
    within 30 "$exe" detect --model "$run/small/discriminator" --vocab "$vocab" --device cuda \
      "the chef cooked the meal ." > "$LOGS/electra_detect.log" 2>&1
    step_rc=$?
    say "electra detect --device cuda: exit $step_rc"
    [[ $step_rc == 0 ]] || failed=1
    head -4 "$LOGS/electra_detect.log" | tee -a "$SUMMARY"
  fi
fi

# ---- 4. GEMM throughput ------------------------------------------------------------------------
run_bench bench_cuda_gemm 60 '^(device|gemm|SUM|x12|ok|FAIL)' 50

finish

#!/usr/bin/env bash
# The GPU session's one command for the CUDA backend (issue 7): build the CUDA targets, run
# the CUDA tests against the CPU backend (kernels, layers, a whole pretraining step), measure
# cuBLASLt GEMM throughput at ELECTRA-Small's shapes, time the ELECTRA-Small pretraining step
# (batch 128 x length 128, + clip + AdamW) in fp32, tf32 and bf16 GEMM modes with its MFU, and
# the same step in PyTorch eager on the same GPU (fp32, tf32, bf16 autocast) when
# `python3 -c "import torch"` finds CUDA there, with the side-by-side ratio. Logs go under
# $OUT when it is set (else build-cuda/gpu-check/). Bounded to well under 8 minutes: every
# step runs under `timeout`.
#
#   bash benchmarks/gpu_check.sh            on the GPU machine
#   bash benchmarks/gpu_check.sh prepare    on a development machine (no GPU needed): builds
#                                           the same targets into build-cuda/ and copies the
#                                           executables to build-cuda/gpu-bin/ with a stamp
#                                           of the sources they were built from
#
# On the GPU machine the script configures and builds build-cuda/ itself when the project's
# CMake dependencies are there (Eigen, xsimd, OpenMP, utf8proc, Google Benchmark). A GPU
# image may have only the CUDA toolkit and CMake; then carry build-cuda/gpu-bin from
# `prepare` (its executables need only libcublasLt.so.13 and libstdc++ at run time) and the
# script runs those, after checking that their source stamp matches this tree.
#
# Last, the `electra` program end to end: ELECTRA-Small pretraining on the bundled corpus with
# --device cuda (bf16 GEMMs), a checkpoint, and a --resume that continues it.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=build-cuda
PREBUILT=$BUILD/gpu-bin
TARGETS=(cuda_functors_on_device cuda_kernels_vs_cpu cuda_gemm_vs_cpu cuda_layers_vs_cpu cuda_pretraining_vs_cpu
  bench_cuda_gemm bench_cuda_step electra_cli)
TESTS=(cuda_functors_on_device cuda_kernels_vs_cpu cuda_gemm_vs_cpu cuda_layers_vs_cpu cuda_pretraining_vs_cpu)

# A hash of the sources the CUDA targets are built from (the headers they can include).
source_stamp() {
  { find include/electra tests/cuda -type f \( -name '*.hpp' -o -name '*.cuh' -o -name '*.cu' \) -print
    echo benchmarks/bench_cuda_gemm.cu; echo benchmarks/bench_cuda_step.cu
    find examples -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.cu' \) -print
    echo tests/CMakeLists.txt; echo benchmarks/CMakeLists.txt; echo examples/CMakeLists.txt; echo CMakeLists.txt
  } | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16
}

# configure_and_build JOBS ARCHS [WRAPPER...]: each cmake call runs under the wrapper. The
# electra program is built without MPI and OpenBLAS, so that it needs nothing at run time that
# a CUDA image lacks but libutf8proc and libgomp (prepare carries those two).
configure_and_build() {
  local jobs=$1 archs=$2
  shift 2
  "$@" cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DELECTRA_CUDA=ON -DELECTRA_BUILD_TESTS=ON \
    -DELECTRA_BUILD_BENCHMARKS=ON -DELECTRA_BUILD_EXAMPLES=ON -DELECTRA_MPI=OFF -DELECTRA_USE_OPENBLAS=OFF \
    "-DCMAKE_CUDA_ARCHITECTURES=$archs" &&
    "$@" cmake --build "$BUILD" --target "${TARGETS[@]}" -j "$jobs"
}

if [[ "${1:-}" == prepare ]]; then
  # Development machine: sm_80 and sm_90 (A100, H100/H200), gentle on a shared machine.
  time configure_and_build 1 '80;90' nice -n 10 || exit 1
  mkdir -p "$PREBUILT/lib"
  for t in "${TARGETS[@]}"; do
    name=$t
    [[ $t == electra_cli ]] && name=electra
    cp "$(find "$BUILD" -path "$PREBUILT" -prune -o -type f -name "$name" -perm -u+x -print | head -1)" "$PREBUILT/" || exit 1
  done
  # The electra program's shared libraries that a CUDA image may not have.
  for lib in libutf8proc.so.2 libgomp.so.1; do
    cp -L "$(ldd "$PREBUILT/electra" | awk -v l="$lib" '$1 == l {print $3}')" "$PREBUILT/lib/" || exit 1
  done
  source_stamp > "$PREBUILT/SOURCE_STAMP"
  echo "prepared $PREBUILT (stamp $(cat "$PREBUILT/SOURCE_STAMP")): carry this folder to the GPU machine"
  exit 0
fi

LOGS=${OUT:-$BUILD/gpu-check}
mkdir -p "$LOGS"
SUMMARY=$LOGS/summary.txt
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
started=$(date +%s)

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
    exit 1
  fi
fi
# The executable named $1 under $BIN (skipping carried copies when $BIN is the build tree).
find_exe() {
  if [[ "$BIN" == "$PREBUILT" ]]; then find "$BIN" -type f -name "$1" -perm -u+x | head -1
  else find "$BIN" -path "$PREBUILT" -prune -o -type f -name "$1" -perm -u+x -print | head -1; fi
}

# cuBLASLt at run time: the toolkit's, else the one PyTorch's wheels bring.
if ! ldd "$(find_exe cuda_gemm_vs_cpu)" 2>/dev/null | grep -q 'libcublasLt.so.13 => /'; then
  lt=$(timeout 30 find /usr/local /usr/lib /opt -name 'libcublasLt.so.13*' 2>/dev/null | head -1)
  if [[ -n "$lt" ]]; then
    LD_LIBRARY_PATH="$(dirname "$lt")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
    say "runtime: libcublasLt.so.13 from $(dirname "$lt")"
  fi
fi

# ---- tests ------------------------------------------------------------------------------
failed=0
for t in "${TESTS[@]}"; do
  exe=$(find_exe "$t")
  if [[ -z "$exe" ]]; then say "test $t: MISSING executable"; failed=1; continue; fi
  t0=$(date +%s)
  timeout 120 "$exe" > "$LOGS/$t.log" 2>&1
  rc=$?
  case $rc in
    0) say "test $t: passed ($(( $(date +%s) - t0 )) s)" ;;
    77) say "test $t: SKIPPED (no device seen)"; failed=1 ;;
    124) say "test $t: TIMED OUT after 120 s"; failed=1 ;;
    *) say "test $t: FAILED (exit $rc); failing checks:"; grep -E '^FAIL' "$LOGS/$t.log" | head -20 | tee -a "$SUMMARY"; failed=1 ;;
  esac
done

# run_bench NAME SECONDS PATTERN ARGS...: runs a benchmark, logs it, copies PATTERN's lines.
run_bench() {
  local name=$1 seconds=$2 pattern=$3 exe
  shift 3
  exe=$(find_exe "$name")
  if [[ -z "$exe" ]]; then say "$name: MISSING executable"; failed=1; return; fi
  timeout "$seconds" "$exe" "$@" > "$LOGS/$name.log" 2>&1
  local rc=$?
  say "$name $*: exit $rc"
  grep -E "$pattern" "$LOGS/$name.log" | tee -a "$SUMMARY"
  [[ $rc == 0 ]] || failed=1
}

# ---- GEMM throughput; the pretraining step (electra, then PyTorch eager on the same GPU) ----
run_bench bench_cuda_gemm 120 '^(device|gemm|SUM|x12|ok|FAIL)' 50
run_bench bench_cuda_step 240 '^(device|model FLOPs|step|FAIL)' 20 small 128 128  # Small, batch 128 x 128
if timeout 60 python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> /dev/null; then
  for precision in fp32 tf32 bf16; do
    timeout 150 python3 benchmarks/torch_reference/electra_step.py --device cuda --precision "$precision" \
      --config small --batch 128 --seq-len 128 --steps 23 > "$LOGS/pytorch_$precision.json" 2> "$LOGS/pytorch_$precision.err"
    say "pytorch $precision: exit $?"
  done
  # Medians after 3 warm-up steps, and electra's speed-up in the same run.
  python3 - "$LOGS" << 'PY' | tee -a "$SUMMARY"
import json, re, statistics, sys
logs = sys.argv[1]
ours = {}
for line in open(f"{logs}/bench_cuda_step.log", errors="replace"):
    m = re.match(r"step (\w+)\s+median\s+([\d.]+) ms", line)
    if m:
        ours[m.group(1)] = float(m.group(2))
for p in ("fp32", "tf32", "bf16"):
    try:
        r = json.load(open(f"{logs}/pytorch_{p}.json"))
        torch_ms = 1e3 * statistics.median(r["step_seconds"][3:])
    except Exception as e:
        print(f"side-by-side {p}: no PyTorch figure ({type(e).__name__})")
        continue
    if p in ours:
        print(f"side-by-side {p}: pytorch {torch_ms:.2f} ms, electra {ours[p]:.2f} ms per step: electra {torch_ms / ours[p]:.2f}x faster")
    else:
        print(f"side-by-side {p}: pytorch {torch_ms:.2f} ms, electra: no figure")
PY
else
  say "pytorch: not importable with CUDA here; no side-by-side"
fi

# ---- the electra program: pretrain --device cuda, a checkpoint, --resume --------------------
exe=$(find_exe electra)
if [[ -n "$exe" ]]; then
  if ldd "$exe" | grep -q 'not found'; then
    export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$PWD/$PREBUILT/lib"
    say "electra: using the carried libutf8proc/libgomp from $PREBUILT/lib"
  fi
  run=/tmp/electra-gpu-run
  rm -rf "$run"
  vocab=data/vocab/bert-uncased-vocab.txt
  common=(--model small --data "$run/data" --vocab "$vocab" --out "$run/small" --batch 128 --device cuda
          --precision bf16 --warmup 20 --save-every 40 --eval-every 40 --eval-examples 128 --log-every 10)
  timeout 120 "$exe" prepare --vocab "$vocab" --input data/corpus/wikitext-2/wiki.valid.raw data/corpus/wikitext-2/wiki.test.raw --out "$run/data" \
    > "$LOGS/electra_cli.log" 2>&1 &&
    timeout 150 "$exe" pretrain "${common[@]}" --steps 40 >> "$LOGS/electra_cli.log" 2>&1 &&
    timeout 120 "$exe" pretrain "${common[@]}" --steps 60 --resume >> "$LOGS/electra_cli.log" 2>&1
  rc=$?
  say "electra pretrain --device cuda (Small, batch 128, 40 steps, then --resume to 60): exit $rc"
  tr '\r' '\n' < "$LOGS/electra_cli.log" | grep -E '^(pretraining|step (10|40|60)/|done|electra)' | tee -a "$SUMMARY"
  [[ $rc == 0 ]] || failed=1
else
  say "electra: MISSING executable"; failed=1
fi

say "gpu_check: $([[ $failed == 0 ]] && echo PASSED || echo FAILED) in $(( $(date +%s) - started )) s; logs in $LOGS"
exit $failed

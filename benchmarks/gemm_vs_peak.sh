#!/usr/bin/env bash
# GEMM at the [M,K,N] = [4096,256,1024] ELECTRA-Small FFN shape against the machine's FP32
# FMA peak, both measured here, in rounds (peak, Eigen, OpenBLAS, peak, ...) so that
# frequency drift hits every row alike. Prints the median of each row over the rounds.
#
#   benchmarks/gemm_vs_peak.sh [build-dir=build] [rounds=5]
#
# OpenBLAS 0.3.21 does not recognise some recent CPUs and falls back to slow kernels; the
# script then runs it with OPENBLAS_CORETYPE=SkylakeX (override by exporting it yourself).
set -euo pipefail
build=${1:-build}
rounds=${2:-5}
bench="$build/benchmarks/bench_gemm"
[ -x "$bench" ] || { echo "build $bench first (cmake --build $build --target bench_gemm)" >&2; exit 1; }
coretype=${OPENBLAS_CORETYPE:-SkylakeX}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for ((r = 1; r <= rounds; r++)); do
  "$bench" --benchmark_filter='fma_peak|gemm/eigen/K:256/N:1024/' --benchmark_min_time=0.2 --benchmark_format=csv 2>/dev/null |
    grep -E '^"(fma|gemm)' >>"$tmp"
  OPENBLAS_CORETYPE=$coretype "$bench" --benchmark_filter='gemm/engine/K:256/N:1024/' --benchmark_min_time=0.2 \
    --benchmark_format=csv 2>/dev/null | grep -E '^"gemm' | sed 's|gemm/engine|gemm/openblas|' >>"$tmp"
done
"$bench" --benchmark_filter=fma_peak --benchmark_min_time=0.01 2>/dev/null | grep -o 'threads: [0-9]*.*' | head -1
echo "OpenBLAS rows ran with OPENBLAS_CORETYPE=$coretype; medians of $rounds rounds"
printf "%-44s %10s %9s\n" benchmark GFLOP/s "of peak"
# CSV: name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,label,error_occurred,error_message,GFLOP/s
awk -F, '
  { name = $1; gsub(/"/, "", name); sub(/\/real_time$/, "", name); v[name] = v[name] " " $NF }
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ");
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    peak = median(v["fma_peak"]);
    for (name in v) { m = median(v[name]); printf "%-44s %10.1f %8.0f%%\n", name, m, 100 * m / peak }
  }' "$tmp" | sort

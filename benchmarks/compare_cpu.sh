#!/usr/bin/env bash
# electra vs PyTorch on the same ELECTRA pretraining step, on this CPU, side by side:
# ELECTRA-Small at batch 8x128 and 32x128 and Tiny at 32x128, interleaved runs, medians,
# ratio, tokens/s, model GFLOP/s and share of the FP32 peak, peak RSS.
# Needs Debian's python3-torch (apt-get install python3-torch); never needed by the tests.
# Usage: benchmarks/compare_cpu.sh [THREADS] [extra options of torch_reference/compare.py]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
shift || true
py=${PYTHON:-/usr/bin/python3}  # Debian's python, where python3-torch installs
"$py" -c "import torch" 2>/dev/null || { echo "needs PyTorch: apt-get install -y python3-torch" >&2; exit 2; }
# compare.py gives the PyTorch runs OMP_WAIT_POLICY=PASSIVE and OPENBLAS_NUM_THREADS=THREADS.
# Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to SSE3 kernels
# (docs/performance.md), which would slow PyTorch's GEMMs down several times: compare.py gives
# the PyTorch runs the kernel family named by the CPU's flags (TORCH_OPENBLAS_CORETYPE to
# override). electra runs as a user runs it: its own engine choice, untouched environment.
if [ -z "${TORCH_OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then export TORCH_OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export TORCH_OPENBLAS_CORETYPE=Haswell; fi
fi
exec "$py" benchmarks/torch_reference/compare.py --threads "$threads" "$@"

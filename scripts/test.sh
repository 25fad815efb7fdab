#!/usr/bin/env bash
# Install dependencies (with OpenMPI, for the two-rank tests), build everything (library,
# tests, examples, benchmarks, and the CUDA targets when nvcc is present), and run the test
# suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh --with-mpi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -j"$(nproc)"

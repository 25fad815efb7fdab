#!/usr/bin/env bash
# The main job on bundled defaults: install dependencies, build, and train the tiny
# attention classifier, printing its loss as it falls.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target tiny_classifier
./build/examples/tiny_classifier "$@"

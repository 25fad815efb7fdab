#!/usr/bin/env bash
# Installs electra's build dependencies from Debian's packages (Debian 12 or newer).
# Safe to run repeatedly; skips apt when everything is already installed.
set -euo pipefail
packages=(build-essential cmake libeigen3-dev libxsimd-dev libopenblas-dev libutf8proc-dev doctest-dev libbenchmark-dev)
# `install_deps.sh --with-mpi` adds OpenMPI for data-parallel training and its tests.
if [ "${1:-}" = "--with-mpi" ]; then packages+=(openmpi-bin libopenmpi-dev); fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null

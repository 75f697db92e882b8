#!/usr/bin/env bash
# README command 1: set up (idempotent), build Release, run the main job `longmem demo` on the default model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh release
cmake --build build/release --target longmem -j"$(nproc)"
exec build/release/longmem demo "$@"

#!/usr/bin/env bash
# README command 1: set up (idempotent), build Release, run the main job `longmem demo` on the default model.
# When a SideNet trained by the README's `train-sidenet` recipe exists (runs/sn/sidenet.safetensors), the demo
# also answers with LongMem; weights are never shipped in git.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh release
cmake --build build/release --target longmem -j"$(nproc)"
extra=()
if [ -s runs/sn/sidenet.safetensors ]; then extra=(--sidenet runs/sn/sidenet.safetensors); fi
exec build/release/longmem demo "${extra[@]}" "$@"

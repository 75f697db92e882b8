#!/usr/bin/env bash
# README command 2: set up (idempotent), build, run the whole test suite; then the parser and unit tests
# again under AddressSanitizer + UBSan. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh release
cmake --build build/release -j"$jobs"
ctest --test-dir build/release --output-on-failure -j"$jobs"

# Sanitizers: the tests that parse untrusted bytes (files, text) and the unit suite.
scripts/setup.sh asan
ASAN_TESTS=(io_mmap_test io_gguf_test io_safetensors_test quant_test tokenizer_pretok_test tokenizer_spm_test
  tokenizer_vocab_test tokenizer_chat_test tokenizer_smollm2_test sampling_test model_test ops_test)
cmake --build build/asan -j"$jobs" --target "${ASAN_TESTS[@]}"
regex=$(IFS='|'; echo "^(${ASAN_TESTS[*]})\$")
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j"$jobs" -R "$regex"

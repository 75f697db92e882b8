#!/usr/bin/env bash
# Runs a command and checks both its exit status and its output.
# Usage: expect.sh ok|fail REGEX COMMAND...   (REGEX is an extended regex matched against stdout+stderr)
mode=$1 regex=$2
shift 2
out=$("$@" 2>&1)
status=$?
if [ "$mode" = ok ] && [ $status -ne 0 ]; then echo "expected success, got exit $status:"; echo "$out"; exit 1; fi
if [ "$mode" = fail ] && [ $status -eq 0 ]; then echo "expected failure, got exit 0:"; echo "$out"; exit 1; fi
if ! grep -Eq -- "$regex" <<<"$out"; then echo "output does not match /$regex/:"; echo "$out"; exit 1; fi
echo "ok: exit $status, output matches /$regex/"

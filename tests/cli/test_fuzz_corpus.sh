#!/usr/bin/env bash
# The fuzzing corpus and every input that ever crashed the reader (tests/fuzz/) run through
# `invrg --check`: each must end with exit 0 (valid) or 2 (diagnostics), never a crash.
source "$(dirname "$0")/lib.sh"
shopt -s nullglob
files=("$SOURCE_DIR"/fuzz/corpus/* "$SOURCE_DIR"/tests/fuzz/*)
[ ${#files[@]} -gt 0 ] || fail "no corpus files"
for f in "${files[@]}"; do
  "$INVRG" --check "$f" > out.txt 2> err.txt
  rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 2 ]; then pass "$(basename "$f") (exit $rc)"; else
    fail "$(basename "$f"): exit $rc"; head -5 err.txt
  fi
done
finish

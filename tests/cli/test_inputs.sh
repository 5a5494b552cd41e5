#!/usr/bin/env bash
# Every example input in input/ is valid.
source "$(dirname "$0")/lib.sh"
for f in "$SOURCE_DIR"/input/*.nml; do
  expect_status 0 "--check $(basename "$f")" -- "$INVRG" --check "$f"
done
finish

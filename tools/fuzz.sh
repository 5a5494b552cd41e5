#!/usr/bin/env bash
# Fuzzes the namelist reader with libFuzzer (clang, address + undefined sanitizers).
#   tools/fuzz.sh [seconds]     default 1800; findings go to fuzz/findings/
# Inputs that crashed become regression cases in tests/fuzz/ (replayed by ctest -R fuzz).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${INVRG_FUZZ_DIR:-$here/build-fuzz}
mkdir -p "$out" "$here/fuzz/findings"
mpi_flags=$(mpicc --showme:compile) mpi_libs=$(mpicc --showme:link)
clang -g -O1 -std=c17 -D_XOPEN_SOURCE=700 -fsanitize=fuzzer,address,undefined \
  -I"$here/include" $mpi_flags \
  "$here/fuzz/fuzz_namelist.c" "$here/src/core/namelist.c" "$here/src/core/config.c" \
  "$here/src/core/choices.c" \
  "$here/src/core/text.c" "$here/src/core/error.c" "$here/src/core/log.c" \
  $mpi_libs -o "$out/fuzz_namelist"
corpus="$out/corpus"
mkdir -p "$corpus"
cp "$here"/input/*.nml "$here"/fuzz/corpus/* "$corpus"/ 2>/dev/null || true
cp "$here"/tests/fuzz/*.nml "$corpus"/ 2>/dev/null || true
"$out/fuzz_namelist" -max_total_time="${1:-1800}" -artifact_prefix="$here/fuzz/findings/" \
  -print_final_stats=1 "$corpus"

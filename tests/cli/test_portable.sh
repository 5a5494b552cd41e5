#!/usr/bin/env bash
# The portable-only build (-DINVRG_SIMD=OFF: what a target without x86 vector units gets): the
# library and the tests of the code that has vector paths (the batched RNG, the checkerboard
# and multispin sweeps, the dreams) build with warnings as errors and pass there, with
# INVRG_SIMD=generic; the tests named for a vector kernel are skipped; no instruction of the
# library uses an AVX register. Builds only what it runs, to keep the cost small.
#   test_portable.sh <cmake> <ctest>
source "$(dirname "$0")/lib.sh"
cmake=$1 ctest=$2
build=$workdir/build
expect_status 0 "configure with -DINVRG_SIMD=OFF" -- \
  "$cmake" -S "$SOURCE_DIR" -B "$build" -DCMAKE_BUILD_TYPE=Release -DINVRG_SIMD=OFF -DINVRG_WERROR=ON
expect_status 0 "build the library and the tests of the vector paths (-j2)" -- \
  "$cmake" --build "$build" -j2 --target test_rng test_dream test_checkerboard test_multispin test_dream_layout

if [ ! -f "$build/libinvrg.a" ]; then
  fail "no libinvrg.a in the portable build"
elif command -v objdump > /dev/null; then
  avx=$(objdump -d "$build/libinvrg.a" | grep -cE '%[yz]mm[0-9]')
  [ "$avx" = 0 ] && pass "no instruction of libinvrg.a uses an AVX register" \
    || fail "$avx instructions of libinvrg.a use AVX registers"
else
  echo "note: objdump missing, the instructions of libinvrg.a are not checked"
fi

export INVRG_SIMD=generic
expect_status 0 "the RNG, checkerboard, multispin and dream tests in the portable build" -- \
  "$ctest" --test-dir "$build" --output-on-failure \
  -R '^(test_rng|test_dream|test_(checkerboard|multispin)_(np1|np2|generic|avx2|avx512)|test_dream_layout_np[12])$'
cp out.txt ctest.txt
expect_grep ctest.txt "100% tests passed" "all of them pass or are skipped"
for t in checkerboard multispin; do
  for k in avx2 avx512; do
    grep -E "test_${t}_$k .*Skipped" ctest.txt > /dev/null && pass "test_${t}_$k skipped" \
      || { fail "test_${t}_$k not skipped in a portable build"; sed 's/^/  | /' ctest.txt; }
  done
done
n=$(grep -cE 'Test +#[0-9]+: .*Passed' ctest.txt)
[ "$n" = 10 ] && pass "10 tests passed" || fail "$n tests passed, expected 10"
finish

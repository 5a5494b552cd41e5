#!/usr/bin/env bash
# The repository stands alone: its files (git ls-files; without git, the tree minus build
# directories) copied to <tmp>/src/invrg — below a directory named src/, with nothing beside it —
# configure without the tests (check hidden from pkg-config), build the program, and run
# mc → train → dream on 2 ranks to a complete run file; error tracebacks name files relative
# to the copy's root; no file points at a directory beside the clone, except .ci/run (CI's
# optional test data).
#   test_standalone.sh <cmake>
source "$(dirname "$0")/lib.sh"
cmake=$1
copy=$workdir/src/invrg
mkdir -p "$copy"

if git -C "$SOURCE_DIR" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  # Tracked files as they are in the working tree (a file deleted there is left out).
  (cd "$SOURCE_DIR" && git ls-files -z | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
     tar --null -T - -cf -) | tar -xf - -C "$copy" && pass "tracked files copied (git ls-files)" \
     || fail "copying the tracked files"
else
  tar -C "$SOURCE_DIR" --exclude=.git --exclude='./build*' --exclude=./published --exclude='*.h5' \
      -cf - . | tar -xf - -C "$copy" && pass "tree copied (no git)" || fail "copying the tree"
fi
[ "$(ls -A "$workdir/src")" = invrg ] && [ ! -e "$copy/build" ] && pass "nothing beside the copy, no build directory" \
  || fail "the copy is not alone"

# Files that point at the team's directory beside the clone: only .ci/run may (optional data).
refs=$(cd "$copy" && grep -rl '\.\./shared' . | sed 's|^\./||' | sort | tr '\n' ' ')
[ "$refs" = ".ci/run " ] && pass "only .ci/run points beside the clone" \
  || fail "files pointing beside the clone: $refs"

# Configured as on a machine without the check library: pkg-config sees every module but check.
pcdir=$workdir/pkgconfig
mkdir -p "$pcdir"
for d in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
  for pc in "$d"/*.pc; do
    name=$(basename "$pc")
    [ -e "$pc" ] && [ "$name" != check.pc ] && [ ! -e "$pcdir/$name" ] && ln -s "$pc" "$pcdir/$name"
  done
done
export PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH=
pkg-config --exists check && fail "check still visible to pkg-config"
unset INVRG_PUBLISHED_MODELS_DIR
expect_status 0 "configure with BUILD_TESTING=OFF, check hidden" -- \
  "$cmake" -S "$copy" -B "$copy/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
found=$(grep -E '^(CHECK_|pkgcfg_lib_CHECK_)' "$copy/build/CMakeCache.txt")
[ -z "$found" ] && pass "the check library is not looked for" || fail "check looked for: $found"
expect_status 0 "build the program (-j2)" -- "$cmake" --build "$copy/build" -j2 --target invrg
invrg=$copy/build/invrg

mkdir run && cd run || exit 1
cp "$copy/tests/inputs/small_pipeline.nml" small.nml
expect_status 0 "mc → train → dream on 2 ranks" -- "$MPIEXEC" -n 2 "$invrg" small.nml
"$PYTHON" - <<'PY' > py.txt 2>&1 && pass "a complete run file: /mc/L8, /train, /dream/L16 with 8 samples" \
  || { fail "the run file is not complete"; cat py.txt; }
import h5py, sys
with h5py.File("small.h5", "r") as f:
    ok = f.attrs["format"] == "invrg" and "L8" in f["mc"] and "train" in f
    ok = ok and int(f["dream/L16"].attrs["n_samples"]) == 8 and -2 < f["dream/L16"].attrs["energy"] < 0
sys.exit(0 if ok else 1)
PY

# A runtime failure's traceback (log level debug) names files relative to the copy's root, not
# ".../src/invrg/src/...": the disk made full for the run file (tests/cli/enospc_shim.c).
cc -shared -fPIC -O1 -o shim.so "$copy/tests/cli/enospc_shim.c" -ldl || fail "cannot build the ENOSPC shim"
printf "&run stages = 'mc', output = 'x.h5', log_level = 'debug' /\n&mc L = 8, n_chains = 1, n_therm = 5, n_samples = 8 /\n" > full.nml
expect_status 1 "a runtime failure (disk full)" -- \
  "$MPIEXEC" -n 1 -x LD_PRELOAD="$PWD/shim.so" -x INVRG_FAIL_PATH=x.h5.tmp -x INVRG_WATCHDOG_SECONDS=20 "$invrg" full.nml
frames=$(sed -n 's/^  \(at\|from\) \(.*\):[0-9]*$/\2/p' err.txt)
if [ -z "$frames" ]; then
  fail "no traceback printed"; sed 's/^/  | /' err.txt
else
  bad=0
  for f in $frames; do [ -f "$copy/$f" ] || { bad=1; echo "  frame '$f' is not a file of the copy"; }; done
  [ $bad -eq 0 ] && pass "traceback frames are relative to the root: $(echo $frames)" \
    || fail "traceback frames cut in the wrong place"
fi
finish

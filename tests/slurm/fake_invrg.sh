#!/bin/bash
# Stands in for invrg in the restart-chain tests, following invrg's checkpoint contract without
# the physics. `--version` answers like invrg. A run on INPUT counts itself in
# $FAKE_INVRG_STATE and exits 3 ("checkpoint written, run again") until the
# $FAKE_INVRG_RUNS-th run, which writes the &run output file (empty) and exits 0. With
# FAKE_INVRG_WAIT=1 a run waits up to a minute for SIGUSR1 or SIGTERM and exits 3 when one
# comes (as invrg does). Needs INVRG_PYTHON and INVRG_JOBS_DIR (set by the job scripts).
set -u
finish() { # exit 0 with the output written
  local out
  out=$("$INVRG_PYTHON" "$INVRG_JOBS_DIR/nml.py" get "$input" run output) || out=invrg_out.h5
  : >"$out"
  exit 0
}
if [ "${1:-}" = --version ]; then
  echo "invrg 0.0.0 (git fake, test stand-in)"
  exit 0
fi
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "fake invrg: no input" >&2
  exit 2
fi
input=$1
if [ "${FAKE_INVRG_WAIT:-0}" = 1 ]; then
  trap 'echo "fake invrg: SIGUSR1: checkpoint written, stopping"; kill "$sleeper" 2>/dev/null; exit 3' USR1
  trap 'echo "fake invrg: SIGTERM: checkpoint written, stopping"; kill "$sleeper" 2>/dev/null; exit 3' TERM
  echo "fake invrg: waiting for a signal"
  sleep 60 &
  sleeper=$!
  wait "$sleeper"
  finish
fi
n=$(($(cat "$FAKE_INVRG_STATE" 2>/dev/null || echo 0) + 1))
echo "$n" >"$FAKE_INVRG_STATE"
echo "fake invrg: run $n of $FAKE_INVRG_RUNS on $1"
if [ "$n" -lt "$FAKE_INVRG_RUNS" ]; then exit 3; fi
finish

#!/bin/bash
# Stands in for invrg in the restart tests (chains and requeues), following invrg's checkpoint
# contract without the physics. `--version` answers like invrg. A run on INPUT counts itself in
# $FAKE_INVRG_STATE (if set) and exits 3 ("checkpoint written, run again") until the
# $FAKE_INVRG_RUNS-th run (default 1), which writes the &run output file (empty) and exits 0.
# The first $FAKE_INVRG_WAIT runs (default 0) instead wait up to a minute for SIGUSR1 or SIGTERM
# and exit 3 when one comes (as invrg does), or finish after the minute. Needs INVRG_PYTHON and
# INVRG_JOBS_DIR (set by the job scripts).
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
n=1
if [ -n "${FAKE_INVRG_STATE:-}" ]; then
  n=$(($(cat "$FAKE_INVRG_STATE" 2>/dev/null || echo 0) + 1))
  echo "$n" >"$FAKE_INVRG_STATE"
fi
echo "fake invrg: run $n of ${FAKE_INVRG_RUNS:-1} on $1"
if [ "$n" -le "${FAKE_INVRG_WAIT:-0}" ]; then
  trap 'echo "fake invrg: SIGUSR1: checkpoint written, stopping"; kill "$sleeper" 2>/dev/null; exit 3' USR1
  trap 'echo "fake invrg: SIGTERM: checkpoint written, stopping"; kill "$sleeper" 2>/dev/null; exit 3' TERM
  echo "fake invrg: waiting for a signal"
  sleep 60 &
  sleeper=$!
  wait "$sleeper"
  finish
fi
if [ "$n" -lt "${FAKE_INVRG_RUNS:-1}" ]; then exit 3; fi
finish

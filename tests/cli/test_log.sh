#!/usr/bin/env bash
# The log (docs/design.md §6, "Logging"): on 2 ranks the small pipeline's log file exists,
# holds stdout's log, is kept in the run file (/run/log), has a time stamp on every line, a
# start and an end line with its duration for every stage, the timing table and the total
# wall time, and no 'nan' and no '+-' (value(error) everywhere); a stochastic training
# prints every replica, whichever rank trained it, the kept one marked; &run log_file names
# the file or switches it off, and a missing directory is an input error; a run stopped at
# checkpoints and continued keeps every run in the log file, /run/log and the wall time.
source "$(dirname "$0")/lib.sh"

cp "$SOURCE_DIR/tests/inputs/small_pipeline.nml" small.nml
expect_status 0 "small pipeline on 2 ranks" -- \
  "$MPIEXEC" -n 2 "$INVRG" small.nml --set run.log_level=info
cp out.txt small.out
cp err.txt small.err

cat > check_log.py <<'PY'
import re, sys
import h5py
out, log_path, h5_path, stages = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
bad = 0
def check(ok, what):
    global bad
    print(("ok: " if ok else "FAIL: ") + what)
    bad += not ok
stdout = open(out, encoding="utf-8").read()
log = open(log_path, encoding="utf-8").read()
# The file: stdout's lines in order, and besides them only rank 0's warnings and errors.
printed = stdout.splitlines()
extra = [l for l in log.splitlines() if l not in printed]
check(all(l in log.splitlines() for l in printed) and
      all("warning: " in l or "error: " in l for l in extra),
      f"the log file holds stdout's {len(printed)} lines "
      f"(and {len(extra)} more: warnings)")
stamp = re.compile(r"^\[\d\d+:\d\d:\d\d\] ")
check(all(stamp.match(l) for l in log.splitlines()), "every line starts with [hh:mm:ss]")
with h5py.File(h5_path, "r") as f:
    kept = f["run/log"][()].decode("utf-8")
    total, last = f["run"].attrs["walltime_total_s"], f["run"].attrs["walltime_s"]
    per_stage = f["run"].attrs["stage_seconds"]
lines = log.splitlines()
check(kept.splitlines() == lines[:-1] and lines[-1].endswith("] wrote " + h5_path),
      "/run/log is the log file but its last line ('wrote …')")
for s in stages:
    start = [l for l in lines if re.search(rf"\] == stage {s} \(\d of \d\): start$", l)]
    end = [l for l in lines if re.search(rf"\] == stage {s}: end after \d+\.\d\d s$", l)]
    check(len(start) == 1 and len(end) == 1, f"stage {s}: a start line and an end line with "
          f"its duration ({end[0][11:] if end else 'none'})")
i = next((k for k, l in enumerate(lines) if "] timing: wall time of each stage" in l), None)
table = lines[i + 2:i + 4 + len(stages)] if i is not None else []
names = [l[11:].split()[0] for l in table]
check(names == stages + ["outside", "total"] and
      re.search(r"total +\d+\.\d{3} +100\.0$", table[-1]) is not None,
      f"the timing table: a row per stage, the rest and the total ({names})")
# a run never continued: the total is this run's, taken at the same instant
check(len(per_stage) == len(stages) and sum(per_stage) <= total and total > 0 and
      total == last, f"/run: stage_seconds {list(per_stage)}, walltime_total_s "
      f"{total:.6f} = walltime_s {last:.6f}")
check(any(re.search(r"\] wall time \d+\.\d\d s in 1 run \(this run", l) for l in lines),
      "the total wall time")
nan = [l for l in lines if re.search(r"\bnan\b", l, re.I)]
check(not nan, f"no 'nan' in the log {nan[:3]}")
pm = [l for l in lines if "+-" in l]
check(not pm, f"no '+-': value(error) everywhere {pm[:3]}")
check(re.search(r" -?\d+\.\d+\(\d\d\)", log) is not None and "E/N [J]" in log and
      "xi2 [a]" in log, "values as value(error), units in the headers")
sys.exit(1 if bad else 0)
PY
if "$PYTHON" check_log.py small.out small.h5.log small.h5 mc,train,dream,analyze > py.txt 2>&1
then sed 's/^/  /' py.txt; pass "the log of the small pipeline"
else sed 's/^/  /' py.txt; fail "the log of the small pipeline"; fi
grep -q "—" small.out && pass "'—' marks undefined values (MCRG up pairs' ties, 2-size FSS)" \
  || fail "no '—' in the log"

# --- every replica of a stochastic training, the kept one marked (4 replicas on 2 groups)
cat > sgd.nml <<'NML'
&run stages = 'mc', 'train', output = 'sgd.h5' /
&mc L = 8, n_chains = 2, n_therm = 20, n_samples = 40, save_configs = T /
&train optimizer = 'adam', epochs = 2, batch = 10, n_replicas = 4, select = 'best' /
NML
expect_status 0 "stochastic training of 4 replicas on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" sgd.nml
cat > check_train.py <<'PY'
import re, sys
import h5py
lines = open("out.txt", encoding="utf-8").read().splitlines()
rows = {}
for l in lines:
    m = re.match(r"^\[[\d:]+\] +(\d+) +(\d\.\d{7}) +(\d\.\d{7}) +\S+( +<- kept \(best\))?$", l)
    if m:
        rows[int(m.group(1))] = (float(m.group(3)), m.group(4) is not None)
trained_here = sorted({int(m.group(1)) for m in
                       (re.search(r"replica (\d+) epoch", l) for l in lines) if m})
with h5py.File("sgd.h5", "r") as f:
    best = int(f["train"].attrs["best_replica"])
    val = f["train/val_loss"][:, -1]
kept = [r for r, (_, k) in rows.items() if k]
ok = (sorted(rows) == [0, 1, 2, 3] and kept == [best]
      and all(abs(rows[r][0] - val[r]) < 1e-6 for r in rows))
print(f"rows for replicas {sorted(rows)}, kept {kept}, /train/best_replica {best}; "
      f"epoch lines only of rank 0's replicas {trained_here}")
sys.exit(0 if ok else 1)
PY
if "$PYTHON" check_train.py > py.txt 2>&1; then pass "every replica in the log: $(cat py.txt)"
else fail "the replicas in the log: $(cat py.txt)"; sed 's/^/  | /' out.txt; fi

# --- &run log_file: a name of one's own, 'none', a directory that does not exist
mkdir logs
expect_status 0 "log_file = 'logs/mine.log'" -- "$MPIEXEC" -n 1 "$INVRG" sgd.nml \
  --set run.output=own.h5 --set "run.log_file=logs/mine.log"
[ -s logs/mine.log ] && [ ! -e own.h5.log ] && cmp -s <(cat out.txt) logs/mine.log \
  && pass "the log goes to the file named, and only there" || fail "log_file not honoured"
# a new run appends to a log file that is there (a failed run's account is kept); with
# &output overwrite it replaces it, as it replaces the output
printf 'the log of a run that failed\n' > again.h5.log
expect_status 0 "a new run beside an earlier run's log" -- "$MPIEXEC" -n 1 "$INVRG" sgd.nml \
  --set run.output=again.h5
[ "$(head -n 1 again.h5.log)" = "the log of a run that failed" ] && grep -q "wrote again.h5" again.h5.log \
  && pass "the earlier log kept, the new one after it" || fail "the earlier run's log was lost"
expect_status 0 "the same with overwrite" -- "$MPIEXEC" -n 1 "$INVRG" sgd.nml \
  --set run.output=again.h5 --set output.overwrite=.true.
! grep -q "the log of a run that failed" again.h5.log && grep -q "wrote again.h5" again.h5.log \
  && pass "overwrite replaces the log file" || fail "overwrite kept the old log"
printf 'a log file shared by a campaign\n' > campaign.log
expect_status 0 "a log_file of one's own with overwrite" -- "$MPIEXEC" -n 1 "$INVRG" sgd.nml \
  --set run.output=again.h5 --set output.overwrite=.true. --set run.log_file=campaign.log
[ "$(head -n 1 campaign.log)" = "a log file shared by a campaign" ] && grep -q "wrote again.h5" campaign.log \
  && pass "a named log_file is appended to even with overwrite" || fail "a named log_file was truncated"
cp -p again.h5 other_run.h5
expect_status 2 "log_file = another run's results" -- "$MPIEXEC" -n 1 "$INVRG" sgd.nml \
  --set run.output=third.h5 --set run.log_file=other_run.h5
expect_grep err.txt "error: log_file 'other_run.h5' is an HDF5 file" "the input error says what it is"
cmp -s again.h5 other_run.h5 && [ ! -e third.h5 ] && pass "the other run's file untouched, nothing written" \
  || fail "the other run's file changed or output written"
expect_status 0 "log_file = 'none'" -- "$MPIEXEC" -n 1 "$INVRG" sgd.nml --set run.output=none.h5 \
  --set run.log_file=none
[ ! -e none.h5.log ] && [ ! -e none ] && pass "no log file with 'none'" \
  || fail "a log file with 'none'"
expect_status 2 "log_file in a directory that does not exist" -- "$MPIEXEC" -n 1 "$INVRG" sgd.nml \
  --set run.output=nodir.h5 --set run.log_file=no/such/dir.log
expect_grep err.txt "error: the directory 'no/such' of log_file 'no/such/dir.log' does not exist" \
  "the input error names the key's directory"
[ ! -e nodir.h5 ] && [ ! -e nodir.h5.log ] && pass "nothing written" || fail "files written"
expect_status 2 "log_file that is a directory (it was a warning once the run had started)" -- \
  "$MPIEXEC" -n 1 "$INVRG" sgd.nml --set run.output=isdir.h5 --set run.log_file=logs
expect_grep err.txt "error: log_file 'logs' is a directory: name a file in it" "the input error says so"
[ ! -e isdir.h5 ] && pass "nothing written" || fail "files written"

# --- the run's files under other names: refused before any work, nothing lost or written
# (each was accepted once: a corrupt run file, a log that vanished, a deleted input)
cp sgd.nml keep.nml
for case in "log_file=clash.h5.tmp|log_file 'clash.h5.tmp' is the run file this run writes before it takes its name" \
            "log_file=./clash.h5|log_file './clash.h5' is the output of this run ('clash.h5')" \
            "log_file=clash.h5.ckpt|log_file 'clash.h5.ckpt' is this run's checkpoint"; do
  key=${case%%|*} want=${case#*|}
  expect_status 2 "run.$key" -- "$INVRG" keep.nml --set run.output=clash.h5 --set "run.$key"
  expect_grep err.txt "$want" "the error names log_file and the file it would clash with"
done
for case in "clash.h5|stop_file 'clash.h5' is the output of this run" \
            "keep.nml|stop_file 'keep.nml' is this run's input file" \
            "clash.h5.log|stop_file 'clash.h5.log' is this run's log file" \
            "logs|stop_file 'logs' is a directory"; do
  file=${case%%|*} want=${case#*|}
  expect_status 2 "stop_file = '$file'" -- "$INVRG" keep.nml --set run.output=clash.h5 \
    --set "checkpoint.stop_file=$file"
  expect_grep err.txt "$want" "the error names stop_file and what the file is"
done
cp sgd.h5 read.h5
expect_status 2 "stop_file = the data the run reads" -- "$INVRG" keep.nml --set run.output=clash.h5 \
  --set train.data=read.h5 --set checkpoint.stop_file=./read.h5
expect_grep err.txt "stop_file './read.h5' is &train data, which this run reads" "named as the data"
printf "&run output = 'self_out.nml' /\n&output overwrite = .true. /\n" > self_out.nml
cp self_out.nml self_out.orig
expect_status 2 "output = the input file, even with overwrite" -- "$INVRG" self_out.nml
expect_grep err.txt "self_out.nml:1:6: error: output 'self_out.nml' is this run's input file" "named at the key"
cmp -s self_out.nml self_out.orig && [ -e read.h5 ] && [ ! -e clash.h5 ] && [ ! -e clash.h5.log ] \
  && pass "nothing lost, nothing written" || fail "a file was lost or written"

# --- files that are not regular files, names too long: refused (they hung, aborted, or were
# deleted once)
mkfifo fifo
for case in "run.log_file=fifo|log_file 'fifo' is a FIFO or a socket" \
            "checkpoint.stop_file=fifo|stop_file 'fifo' is not a regular file" \
            "run.output=fifo|output 'fifo' is not a regular file" \
            "run.log_file=gone.log|cannot write log_file 'gone.log': a symbolic link to nothing" \
            "run.output=$(printf 'n%.0s' {1..195}).h5|characters long: with '.ckpt.tmp' the run's files need"; do
  key=${case%%|*} want=${case#*|}
  [ "$key" = run.log_file=gone.log ] && ln -sf nowhere/x.log gone.log
  sets=(--set "$key")
  [ "${key%%=*}" = run.output ] || sets+=(--set run.output=odd.h5)
  expect_status 2 "${key:0:40}" -- timeout 60 "$INVRG" keep.nml "${sets[@]}" --set output.overwrite=T
  expect_grep err.txt "$want" "refused at its key"
done
ln -s nowhere/x.h5 dangling.h5
expect_status 2 "output = a symbolic link to nothing" -- "$INVRG" keep.nml --set run.output=dangling.h5
expect_grep err.txt "output 'dangling.h5' is a symbolic link to nothing" "refused at output"
mkfifo odd.h5.ckpt
expect_status 2 "a FIFO as the checkpoint" -- timeout 60 "$INVRG" keep.nml --set run.output=odd.h5
expect_grep err.txt "'odd.h5.ckpt' (this run's checkpoint) is not a regular file" "refused at output"
rm -f odd.h5.ckpt
[ -p fifo ] && [ ! -e odd.h5 ] && pass "the FIFO kept, no output" || fail "the FIFO lost or an output written"
# a checkpoint that is a link to nothing (its target moved away) was taken for none: the run
# started afresh
ln -s moved/odd.h5.ckpt odd.h5.ckpt
expect_status 2 "a checkpoint that is a symbolic link to nothing" -- "$INVRG" keep.nml --set run.output=odd.h5
expect_grep err.txt "error: 'odd.h5.ckpt' (this run's checkpoint) is a symbolic link to nothing: remove it, or choose another output" \
  "refused at output"
grep -q '== stage' out.txt && fail "a stage started beside a checkpoint that links to nothing"
[ -L odd.h5.ckpt ] && [ ! -e odd.h5 ] && [ ! -e odd.h5.tmp ] && pass "the link kept, no output" \
  || fail "the link lost or an output written"
rm -f odd.h5.ckpt
# an output named like a pattern removes only its own stale MPI-IO locks
touch lit1.h5.tmp-111-222.lock 'lit[1].h5.tmp-111-222.lock' # the first matches lit[1] as a pattern
expect_status 0 "output = 'lit[1].h5'" -- "$INVRG" keep.nml --set 'run.output=lit[1].h5' --set run.stages=mc
[ -e lit1.h5.tmp-111-222.lock ] && [ ! -e 'lit[1].h5.tmp-111-222.lock' ] \
  && pass "its own stale lock removed, another file kept" || fail "stale locks: $(ls *.lock 2>&1)"

# --- stopped at checkpoints and continued: every run in the log file, /run/log and the clock
runs=0
rm -f sgd.h5 sgd.h5.log
for polls in 5 20 0; do # stop after so many safe points (0: run to the end)
  INVRG_TEST_STOP_AFTER_POLLS=$polls "$MPIEXEC" -n 2 "$INVRG" sgd.nml > "run$runs.out" 2>&1
  status=$?
  runs=$((runs + 1))
  [ $status -eq 3 ] || break
done
if [ $status -eq 0 ] && [ $runs -ge 2 ]; then pass "completed after $((runs - 1)) checkpoint stops"
else fail "restart chain: exit $status after $runs runs"; fi
cat > check_restarts.py <<'PY'
import re, sys
import h5py
runs = int(sys.argv[1])
log = open("sgd.h5.log", encoding="utf-8").read()
with h5py.File("sgd.h5", "r") as f:
    kept = f["run/log"][()].decode("utf-8")
    total, last = f["run"].attrs["walltime_total_s"], f["run"].attrs["walltime_s"]
    restarts = int(f["run"].attrs["restarts"])
banner = re.compile(r"^\[[\d:]+\] invrg \S+ \(git", re.M)
outs = "".join(open(f"run{i}.out", encoding="utf-8").read() for i in range(runs))
ok = (len(banner.findall(log)) == runs and len(banner.findall(kept)) == runs
      and restarts == runs - 1 and total > last and log.startswith(kept[:200])
      and all(l in log for l in outs.splitlines() if l.startswith("[")))
timing = re.search(r"wall time .* in (\d+) runs", log)
ok &= timing is not None and int(timing.group(1)) == runs
print(f"{runs} runs: banners in the log file {len(banner.findall(log))}, in /run/log "
      f"{len(banner.findall(kept))}; restarts {restarts}; walltime_total_s {total:.3f} > "
      f"walltime_s {last:.3f}; '{timing.group(0) if timing else 'no total'}'")
sys.exit(0 if ok else 1)
PY
if "$PYTHON" check_restarts.py $runs > py.txt 2>&1; then pass "$(cat py.txt)"
else fail "the log across restarts: $(cat py.txt)"; fi
finish

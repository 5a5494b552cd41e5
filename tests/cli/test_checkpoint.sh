#!/usr/bin/env bash
# Checkpoint/restart end to end (issue F9): a run stopped again and again (in mc, train and
# dream), resumed each time on another number of ranks, ends bit for bit where an
# uninterrupted run ends; the same for Swendsen–Wang and for Metropolis on a packed lattice,
# each split over two ranks, after SIGKILL following a periodic checkpoint, and after signals,
# a stop file and a wall-time budget. A changed input or a damaged checkpoint is refused with a
# clear error.
source "$(dirname "$0")/lib.sh"
compare() { "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" "$@"; }

# expect_identical <description> <reference> <file>
expect_identical() {
  if compare "$2" "$3" > cmp.txt 2>&1; then pass "$1: $(cat cmp.txt)"; else
    fail "$1"; sed 's/^/  | /' cmp.txt
  fi
}

# stop_chain <dir> <polls> <rank counts...>: runs the input in <dir> until it completes, each
# run stopping after <polls> safe points, on the rank counts in turn. Checks that a stopped run
# leaves a checkpoint and no output, and counts the stops per stage in <dir>/stops.
stop_chain() {
  local dir=$1 polls=$2
  shift 2
  local counts=("$@") i=0 status
  : > "$dir/stops"
  while [ $i -lt 60 ]; do
    local np=${counts[$((i % ${#counts[@]}))]}
    (cd "$dir" && INVRG_TEST_STOP_AFTER_POLLS=$polls "$MPIEXEC" -n "$np" "$INVRG" run.nml \
      > "log$i" 2>&1)
    status=$?
    i=$((i + 1))
    [ $status -eq 0 ] && break
    if [ $status -ne 3 ]; then
      fail "$dir run $i on $np ranks: exit $status, expected 3 or 0"; tail -20 "$dir/log$((i - 1))"
      return
    fi
    grep -o "written: [^ ]* (stage [a-z]*)" "$dir/log$((i - 1))" | sed 's/.*stage \([a-z]*\))/\1/' \
      >> "$dir/stops"
    if [ -e "$dir/out.h5" ] || [ -e "$dir/out.h5.tmp" ] || [ ! -e "$dir/out.h5.ckpt" ]; then
      fail "$dir after stop $i: expected out.h5.ckpt only, found: $(ls "$dir" | tr '\n' ' ')"
    fi
  done
  [ $status -eq 0 ] && pass "$dir: completed after $((i - 1)) stops ($(sort "$dir/stops" | uniq -c | tr -s ' \n' ' '))" \
    || fail "$dir: not complete after $i runs"
  if [ -e "$dir/out.h5.ckpt" ] || [ -e "$dir/out.h5.ckpt.prev" ]; then
    fail "$dir: checkpoint files left after the run completed"
  fi
}

# --- the whole pipeline, stopped in every stage, resumed on 1 and 2 ranks in turn
cat > pipeline.nml <<'NML'
&run stages = 'mc', 'train', 'dream', output = 'out.h5', seed = 11, log_level = 'info' /
&mc L = 16, n_chains = 4, n_therm = 50, n_samples = 60, algorithm = 'wolff', save_configs = T /
&train model = 'sym3', optimizer = 'adamw', epochs = 6, batch = 40, n_replicas = 3 /
&dream levels = 6, n_samples = 40, measure_from = 3, save_levels = 4, 6, save_max = 10 /
&analyze jackknife_blocks = 4, mcrg_levels = 2 /
NML
mkdir ref stop
cp pipeline.nml ref/run.nml
cp pipeline.nml stop/run.nml
expect_status 0 "uninterrupted pipeline on 2 ranks" -- sh -c "cd ref && \"$MPIEXEC\" -n 2 \"$INVRG\" run.nml"
stop_chain stop 23 1 2
# Where a stop falls depends on how far the other rank got (it learns of the stop without
# waiting), so only the first stage is certain; train and dream get chains of their own below.
if grep -qx mc stop/stops && grep -qvx mc stop/stops; then
  pass "stopped in stage mc and after it ($(sort -u stop/stops | tr '\n' ' '))"
else fail "stops: $(tr '\n' ' ' < stop/stops)"; fi
expect_identical "pipeline stopped and resumed = uninterrupted" ref/out.h5 stop/out.h5

# --- train alone (data from the reference run) and dream alone, stopped every few safe points
for stage in train dream; do
  mkdir "${stage}ref" "${stage}stop"
  if [ $stage = train ]; then
    keys="&train model = 'sym5', optimizer = 'adamw', epochs = 6, batch = 40, n_replicas = 3, data = '../ref/out.h5', data_L = 16 /"
  else
    keys="&dream model = 'sym3', params = 0.55, 0.63, 1.41, levels = 6, n_samples = 30, measure_from = 3, save_levels = 5 /"
  fi
  printf "&run stages = '%s', output = 'out.h5', seed = 5 /\n%s\n&analyze jackknife_blocks = 3, mcrg_levels = 2 /\n" \
    "$stage" "$keys" > "${stage}ref/run.nml"
  cp "${stage}ref/run.nml" "${stage}stop/run.nml"
  expect_status 0 "uninterrupted $stage on 1 rank" -- sh -c "cd ${stage}ref && \"$INVRG\" run.nml"
  stop_chain "${stage}stop" 4 2 1
  n_stops=$(grep -cx "$stage" "${stage}stop/stops")
  [ "$n_stops" -ge 2 ] && pass "$n_stops stops in stage $stage" || fail "$n_stops stops in stage $stage"
  expect_identical "$stage stopped and resumed on 2 and 1 ranks = uninterrupted" \
    "${stage}ref/out.h5" "${stage}stop/out.h5"
done

# --- packed dreams whose first levels are made and measured in batches of 64 (stages.md): the
# safe points are the batches' ends; stopped at every one, resumed on 2 and 1 ranks in turn
mkdir batchref batchstop
printf "&run stages = 'dream', output = 'out.h5', seed = 9 /\n&dream model = 'sym3', params = 0.55, 0.63, 1.41, levels = 6, n_samples = 300, measure_from = 1, lattice = 'packed', random_bits = 'planes' /\n&analyze jackknife_blocks = 5, mcrg_levels = 2, operators = 'swendsen', 'paper36' /\n" \
  > batchref/run.nml
cp batchref/run.nml batchstop/run.nml
expect_status 0 "uninterrupted batched dream on 1 rank" -- sh -c "cd batchref && \"$INVRG\" run.nml"
stop_chain batchstop 1 2 1
n_stops=$(grep -cx dream batchstop/stops)
[ "$n_stops" -ge 3 ] && pass "$n_stops stops in the batched dream" || fail "$n_stops stops in the batched dream"
expect_identical "batched dream stopped at batch ends and resumed on 2 and 1 ranks = uninterrupted" \
  batchref/out.h5 batchstop/out.h5

# --- a refined dream from Monte Carlo seeds (start = 'mc', sweeps below and at the top, packed
# levels split over a group of 2), stopped in both stages and resumed on 2 ranks, against 1 rank
mkdir refref refstop
cat > refref/run.nml <<'NML'
&run stages = 'mc', 'dream', output = 'out.h5', seed = 6 /
&mc L = 4, algorithm = 'wolff', n_chains = 2, n_therm = 20, n_samples = 16, sample_every = 3,
    save_configs = T /
&dream model = 'sym3', params = 0.55, 0.63, 1.41, levels = 6, n_samples = 30, start = 'mc',
    start_L = 4, measure_from = 3, lattice = 'packed', random_bits = 'planes',
    refine_sweeps = 2, refine_top_sweeps = 3, refine_top_algorithm = 'metropolis' /
&analyze jackknife_blocks = 3, mcrg_levels = 2 /
NML
printf '&parallel dream_ranks_per_group = 2 /\n' | cat refref/run.nml - > refstop/run.nml
expect_status 0 "uninterrupted refined dream on 1 rank" -- sh -c "cd refref && \"$INVRG\" run.nml"
stop_chain refstop 4 2
grep -qx dream refstop/stops && pass "refined dream: stopped in stage dream" \
  || fail "refined dream: no stop in stage dream ($(tr '\n' ' ' < refstop/stops))"
expect_identical "refined dream stopped and resumed on a group of 2 = uninterrupted on 1 rank" \
  refref/out.h5 refstop/out.h5
# the same on two groups of one rank with a checkpoint every 3 polls: a group may write one
# from a safe point of its own while the other writes it from the end of the window, and the
# seeds' checks for values that are not spins must pair up around them (they did not: an
# MPI_ERR_TRUNCATE in MPI_Allreduce)
mkdir refgroups
printf '&parallel dream_ranks_per_group = 1 /\n' | cat refref/run.nml - > refgroups/run.nml
(cd refgroups && INVRG_TEST_CHECKPOINT_EVERY_POLLS=3 "$MPIEXEC" -n 2 "$INVRG" run.nml > log 2>&1)
[ $? -eq 0 ] && pass "refined dream on two groups with periodic checkpoints" \
  || { fail "refined dream on two groups with periodic checkpoints"; tail -5 refgroups/log; }
[ "$(grep -c 'written: out.h5.ckpt (stage dream)' refgroups/log)" -ge 2 ] \
  && pass "refined dream on two groups: checkpoints written in stage dream" \
  || fail "refined dream on two groups: no checkpoints in stage dream"
expect_identical "refined dream on two groups with checkpoints = uninterrupted on 1 rank" \
  refref/out.h5 refgroups/out.h5

# --- Swendsen–Wang on a lattice split over 2 ranks, with MCRG and correlations; resumed with
# two groups of one rank, with periodic checkpoints, then on one rank
cat > sw.nml <<'NML'
&run stages = 'mc', output = 'out.h5', seed = 4 /
&mc L = 8, 16, n_chains = 3, n_therm = 20, n_samples = 30, algorithm = 'sw', save_configs = T /
&analyze mcrg_on_mc = F, jackknife_blocks = 3 /
NML
mkdir swref swstop
cp sw.nml swref/run.nml
expect_status 0 "uninterrupted sw on 1 rank" -- sh -c "cd swref && \"$INVRG\" run.nml"
printf '&parallel ranks_per_group = 2 /\n' | cat sw.nml - > swstop/run.nml
(cd swstop && INVRG_TEST_STOP_AFTER_POLLS=17 "$MPIEXEC" -n 2 "$INVRG" run.nml > log0 2>&1)
[ $? -eq 3 ] && pass "sw on a group of 2 ranks: stopped (exit 3)" || fail "sw group of 2: no stop"
sed -i 's/ranks_per_group = 2/ranks_per_group = 1/' swstop/run.nml
(cd swstop && INVRG_TEST_CHECKPOINT_EVERY_POLLS=4 INVRG_TEST_STOP_AFTER_POLLS=30 \
  "$MPIEXEC" -n 2 "$INVRG" run.nml > log1 2>&1)
[ $? -eq 3 ] && pass "sw on 2 groups: periodic checkpoints, then stopped" || fail "sw 2 groups: no stop"
n_written=$(grep -c "checkpoint [0-9]* written" swstop/log1)
[ "$n_written" -ge 3 ] && pass "$n_written checkpoints in one run" || fail "only $n_written checkpoints"
[ -e swstop/out.h5.ckpt.prev ] && pass "keep_previous: out.h5.ckpt.prev kept" || fail "no .ckpt.prev"
expect_status 0 "sw finished on 1 rank" -- sh -c "cd swstop && \"$INVRG\" run.nml"
expect_identical "sw stopped on 2x1, 2 groups, 1 rank = uninterrupted" swref/out.h5 swstop/out.h5

# --- Metropolis on a packed lattice (&mc lattice = 'packed'), rows split over 2 ranks: the
# chains are parked as int8 and packed again on restore; stopped on a group of 2, on 2 groups
# (periodic checkpoints), then finished on 1 rank. Twice: with MCRG and saved configurations
# (measured on int8 copies), and without them (measured on the bits: the int8 lattice is
# written only when a checkpoint parks the chain); and once more with ARS random numbers
packed_stop() { # packed_stop <name> <&mc keys> <&analyze keys>
  printf "&run stages = 'mc', output = 'out.h5', seed = 9 /\n&mc L = 16, n_chains = 3, n_therm = 20, n_samples = 30, algorithm = 'metropolis', lattice = 'packed', %s /\n&analyze mcrg_levels = 2, jackknife_blocks = 3, %s /\n" "$2" "$3" > $1.nml
  mkdir $1ref $1stop
  cp $1.nml $1ref/run.nml
  expect_status 0 "$1: uninterrupted packed metropolis on 1 rank" -- sh -c "cd $1ref && \"$INVRG\" run.nml"
  printf '&parallel ranks_per_group = 2, grid = 2, 1 /\n' | cat $1.nml - > $1stop/run.nml
  (cd $1stop && INVRG_TEST_STOP_AFTER_POLLS=17 "$MPIEXEC" -n 2 "$INVRG" run.nml > log0 2>&1)
  [ $? -eq 3 ] && pass "$1: packed on a group of 2 ranks: stopped (exit 3)" || fail "$1: packed group of 2: no stop"
  sed -i 's/ranks_per_group = 2, grid = 2, 1/ranks_per_group = 1/' $1stop/run.nml
  (cd $1stop && INVRG_TEST_CHECKPOINT_EVERY_POLLS=4 INVRG_TEST_STOP_AFTER_POLLS=20 \
    "$MPIEXEC" -n 2 "$INVRG" run.nml > log1 2>&1)
  [ $? -eq 3 ] && pass "$1: packed on 2 groups: periodic checkpoints, then stopped" || fail "$1: packed 2 groups: no stop"
  expect_status 0 "$1: packed finished on 1 rank" -- sh -c "cd $1stop && \"$INVRG\" run.nml"
  expect_identical "$1: packed stopped on 2x1, 2 groups, 1 rank = uninterrupted" $1ref/out.h5 $1stop/out.h5
}
packed_stop ms "save_configs = T" "mcrg_on_mc = T"
packed_stop mb "save_configs = F" "mcrg_on_mc = F"
packed_stop ma "save_configs = F, generator = 'ars'" "mcrg_on_mc = F" # ARS's sweeps resume too

# --- SIGKILL after periodic checkpoints: the run continues from the last one
mkdir killref kill
cat > killref/to_be_killed.nml <<'NML'
&run stages = 'mc', output = 'out.h5', seed = 12 /
&mc L = 32, n_chains = 2, n_therm = 20, n_samples = 20000, algorithm = 'sw', save_configs = F /
&analyze correlations = F /
NML
cp killref/to_be_killed.nml kill/   # a name of its own: other tests may run invrg meanwhile
expect_status 0 "uninterrupted run to compare with" -- sh -c "cd killref && \"$MPIEXEC\" -n 2 \"$INVRG\" to_be_killed.nml"
(cd kill && INVRG_TEST_CHECKPOINT_EVERY_POLLS=500 "$MPIEXEC" -n 2 "$INVRG" to_be_killed.nml > log0 2>&1) &
runner=$!
for _ in $(seq 600); do [ -e kill/out.h5.ckpt.prev ] && break; sleep 0.05; done   # two checkpoints
pkill -KILL -f "$INVRG to_be_killed.nml"
wait $runner 2>/dev/null
if [ -e kill/out.h5.ckpt ] && [ ! -e kill/out.h5 ]; then
  pass "killed with SIGKILL after two checkpoints, no out.h5"
else fail "SIGKILL scenario did not happen as planned: $(ls kill | tr '\n' ' ')"; fi
expect_status 0 "resumed after SIGKILL" -- sh -c "cd kill && \"$MPIEXEC\" -n 2 \"$INVRG\" to_be_killed.nml"
expect_grep out.txt "continuing from checkpoint" "the killed run continued from its checkpoint"
expect_identical "killed and resumed = uninterrupted" killref/out.h5 kill/out.h5

# --- triggers: SIGTERM (one rank), SIGUSR1 through mpirun, a stop file, a wall-time budget
cat > long.nml <<'NML'
&run stages = 'mc', output = 'out.h5', seed = 5 /
&mc L = 32, n_chains = 2, n_therm = 100, n_samples = 1000000, algorithm = 'sw' /
&analyze correlations = F /
NML
# signal_stop <dir> <signal> <launcher...>
signal_stop() {
  local dir=$1 sig=$2
  shift 2
  mkdir "$dir"
  cp long.nml "$dir/run.nml"
  (cd "$dir" && exec "$@" "$INVRG" run.nml > log 2>&1) &
  local pid=$!
  for _ in $(seq 300); do grep -q "== stage mc" "$dir/log" && break; sleep 0.1; done
  sleep 0.5
  kill "-$sig" $pid
  wait $pid
  local status=$?
  if [ $status -eq 3 ] && [ -e "$dir/out.h5.ckpt" ] && grep -q "signal" "$dir/log"; then
    pass "$sig: checkpoint written, exit 3"
  else fail "$sig: exit $status"; tail -5 "$dir/log"; fi
}
signal_stop term TERM
signal_stop usr1 USR1 "$MPIEXEC" -n 2
mkdir stopfile
printf "&checkpoint stop_file = 'STOP' /\n" | cat long.nml - > stopfile/run.nml
touch stopfile/STOP
expect_status 3 "stop file: checkpoint and exit 3" -- sh -c "cd stopfile && \"$INVRG\" run.nml"
[ ! -e stopfile/STOP ] && pass "the stop file was removed" || fail "the stop file is still there"
mkdir budgetref budget
cat > budgetref/run.nml <<'NML'
&run stages = 'mc', output = 'out.h5', seed = 8 /
&mc L = 32, n_chains = 2, n_therm = 100, n_samples = 3000, algorithm = 'sw' /
NML
expect_status 0 "uninterrupted Swendsen-Wang run" -- sh -c "cd budgetref && \"$INVRG\" run.nml"
cp budgetref/run.nml budget/run.nml
printf "&checkpoint max_walltime_minutes = 0.003 /\n" >> budget/run.nml
status=3 runs=0
while [ $status -eq 3 ] && [ $runs -lt 80 ]; do
  (cd budget && "$INVRG" run.nml > log 2>&1)
  status=$? runs=$((runs + 1))
done
[ $status -eq 0 ] && [ $runs -ge 2 ] && pass "max_walltime_minutes = 0.003: completed in $runs runs" \
  || fail "max_walltime_minutes: exit $status after $runs runs"
expect_identical "wall-time chain = uninterrupted (the budget key may differ)" budgetref/out.h5 budget/out.h5

# --- a budget shorter than the start-up: every run stops at its first safe point, and a run that
# resumed with nothing left finishes instead of stopping again (it used to stop for ever); a
# checkpoint interval shorter than one write ends (the end of the loop used to ask for
# checkpoints without end)
mkdir tinyref
cat > tinyref/run.nml <<'NML'
&run stages = 'mc', output = 'out.h5', seed = 21 /
&mc L = 16, n_chains = 2, n_therm = 20, n_samples = 6, blocks_per_chain = 2,
    algorithm = 'metropolis' /
&analyze correlations = F /
NML
expect_status 0 "uninterrupted short Metropolis run" -- sh -c "cd tinyref && \"$INVRG\" run.nml"
for np in 1 2; do
  mkdir tiny$np
  printf "&checkpoint max_walltime_minutes = 1e-7 /\n" | cat tinyref/run.nml - > tiny$np/run.nml
  status=3 runs=0
  while [ $status -eq 3 ] && [ $runs -lt 30 ]; do
    (cd tiny$np && timeout 120 "$MPIEXEC" -n $np "$INVRG" run.nml > log$runs 2>&1)
    status=$? runs=$((runs + 1))
  done
  [ $status -eq 0 ] && pass "max_walltime_minutes = 1e-7 on $np rank(s): completed in $runs runs" \
    || fail "max_walltime_minutes = 1e-7 on $np rank(s): exit $status after $runs runs"
  expect_identical "tiny budget on $np rank(s) = uninterrupted" tinyref/out.h5 tiny$np/out.h5
done
mkdir often
printf "&checkpoint interval_minutes = 1e-9 /\n" | cat tinyref/run.nml - > often/run.nml
expect_status 0 "interval_minutes = 1e-9 on 2 ranks: the run ends" -- \
  sh -c "cd often && timeout 120 \"$MPIEXEC\" -n 2 \"$INVRG\" run.nml > log 2>&1"
expect_identical "checkpoints at every safe point = uninterrupted" tinyref/out.h5 often/out.h5

# --- rank 0 with nothing left to do still watches the triggers: a run resumed on 2 ranks after
# chain 0 (rank 0's) was complete stops when the stop file appears, long before chain 1 ends
mkdir idle
cat > idle/run.nml <<'NML'
&run stages = 'mc', output = 'out.h5', seed = 6 /
&mc L = 32, n_chains = 2, n_therm = 10, n_samples = 40000, algorithm = 'sw' /
&analyze correlations = F /
&checkpoint stop_file = 'STOP' /
NML
(cd idle && INVRG_TEST_STOP_AFTER_POLLS=40010 "$INVRG" run.nml > log0 2>&1)
[ $? -eq 3 ] && pass "stopped on 1 rank with chain 0 complete" || fail "idle: first stop"
(cd idle && "$MPIEXEC" -n 2 "$INVRG" run.nml > log1 2>&1) &
runner=$!
for _ in $(seq 300); do grep -q "== stage mc" idle/log1 2>/dev/null && break; sleep 0.1; done
sleep 1
touch idle/STOP
wait $runner
status=$?
if [ $status -eq 3 ] && grep -q "stop file" idle/log1; then
  pass "rank 0 without work honoured the stop file (exit 3)"
else fail "rank 0 without work: exit $status"; tail -5 idle/log1; fi

# --- a checkpoint kept only as .prev (a kill between renames in older versions) is not ignored
mkdir orphan
cp long.nml orphan/run.nml
(cd orphan && INVRG_TEST_STOP_AFTER_POLLS=3 "$INVRG" run.nml > log 2>&1)
mv orphan/out.h5.ckpt orphan/out.h5.ckpt.prev
expect_status 2 "only out.h5.ckpt.prev: refused" -- sh -c "cd orphan && \"$INVRG\" run.nml"
expect_grep err.txt "rename it to 'out.h5.ckpt' to continue" "the error says what to do"

# --- refusals: a changed input, a damaged checkpoint
mkdir changed
cp long.nml changed/run.nml
(cd changed && INVRG_TEST_STOP_AFTER_POLLS=3 "$INVRG" run.nml > log 2>&1)
sed -i 's/n_samples = 1000000/n_samples = 999/' changed/run.nml
expect_status 2 "changed n_samples: refused" -- sh -c "cd changed && \"$INVRG\" run.nml"
expect_grep err.txt "run.nml:2:" "the error names the input file and line"
expect_grep err.txt "n_samples" "the error names the key"
# --check makes the same comparison (a job checked before it is resubmitted), on any rank count
# it plans for, and changes no file
sum_before=$(cd changed && ls -l --time-style=+%s.%N out.h5.ckpt* | md5sum)
expect_status 2 "--check: the changed n_samples refused" -- sh -c "cd changed && \"$INVRG\" --check run.nml"
expect_grep err.txt "differs from the checkpoint 'out.h5.ckpt'" "--check names the checkpoint"
expect_status 2 "--check --ranks 4: refused too" -- sh -c "cd changed && \"$INVRG\" --check --ranks 4 run.nml"
expect_grep err.txt "n_samples" "--check --ranks names the key"
expect_status 2 "--check --set: an override that differs from the checkpoint refused" -- \
  sh -c "cd changed && \"$INVRG\" --check run.nml --set mc.n_samples=1000000 --set mc.n_therm=7"
expect_grep err.txt "n_therm" "the override's key is named"
sed -i 's/n_samples = 999/n_samples = 1000000/' changed/run.nml
expect_status 0 "--check of the input the checkpoint was made with: valid" -- \
  sh -c "cd changed && \"$INVRG\" --check run.nml"
expect_grep out.txt "would continue from checkpoint out.h5.ckpt" "--check says it would continue"
[ "$(cd changed && ls -l --time-style=+%s.%N out.h5.ckpt* | md5sum)" = "$sum_before" ] \
  && pass "--check changed no checkpoint file" || fail "--check changed the checkpoint files"
[ ! -e changed/out.h5 ] && [ ! -e changed/out.h5.tmp ] && pass "--check wrote no run file" \
  || fail "--check wrote a run file"
sed -i 's/n_samples = 1000000/n_samples = 999/' changed/run.nml
sed -i "s/seed = 5 /seed = 5, title = 'renamed' /" changed/run.nml
sed -i 's/n_samples = 999/n_samples = 1000000/' changed/run.nml
(cd changed && INVRG_TEST_STOP_AFTER_POLLS=3 "$INVRG" run.nml > log 2>&1)
[ $? -eq 3 ] && pass "a changed title does not matter: resumed (and stopped again)" \
  || fail "a changed title was refused"
head -c 3000 changed/out.h5.ckpt > cut && mv cut changed/out.h5.ckpt
expect_status 1 "truncated checkpoint: runtime error" -- sh -c "cd changed && \"$INVRG\" run.nml"
expect_grep err.txt "cannot continue from the checkpoint 'out.h5.ckpt'" \
  "the error names the checkpoint"
[ ! -e changed/out.h5 ] && pass "nothing written" || fail "out.h5 written from a bad checkpoint"

# --- a checkpoint edited by hand: lattices that hold values other than +1 and -1 (they resumed
# silently), counters that disagree with the datasets (an HDF5 shape error that named no file)
# are input errors naming the file and the dataset, before any work, the checkpoint kept
mkdir edited
cp long.nml edited/run.nml
(cd edited && INVRG_TEST_STOP_AFTER_POLLS=3 "$INVRG" run.nml > log 2>&1)
cp edited/out.h5.ckpt edited/good.ckpt
# edited_in <dir> <where the error points> <description> <h5py statement on f> <expected message>
#   [ranks] [checked by: run (before any stage, the default) | stage (at its restore)]
edited_in() {
  local dir=$1 at=$2 what=$3 edit=$4 message=$5 ranks=${6:-1} by=${7:-run}
  cp "$dir/good.ckpt" "$dir/out.h5.ckpt"
  "$PYTHON" -c "import h5py
with h5py.File('$dir/out.h5.ckpt', 'r+') as f: $edit"
  cp "$dir/out.h5.ckpt" "$dir/edited.ckpt"
  # (a checkpoint taken for good stops at once, exit 3, instead of running on)
  expect_status 2 "$what: refused" -- sh -c "cd $dir && INVRG_TEST_STOP_AFTER_POLLS=1 \
    \"$MPIEXEC\" -n $ranks \"$INVRG\" run.nml"
  expect_grep err.txt "$at: error: the checkpoint 'out.h5.ckpt' is damaged: $message; move it away to start afresh" \
    "$what: the file and the dataset named"
  if [ "$by" = run ]; then grep -q '== stage' out.txt && fail "$what: a stage started"
  else grep -q 'written: ' out.txt && fail "$what: the stage worked"; fi
  cmp -s "$dir/edited.ckpt" "$dir/good.ckpt" && fail "$what: the edit did not change the checkpoint"
  cmp -s "$dir/out.h5.ckpt" "$dir/edited.ckpt" && [ ! -e "$dir/out.h5" ] && [ ! -e "$dir/out.h5.tmp" ] \
    && pass "$what: checkpoint kept, nothing written" || fail "$what: checkpoint changed or output written"
}
edited() { edited_in edited run.nml:1:21 "$@"; }
edited "a spin 7 in a parked lattice" "d = f['checkpoint/mc/lattices']; d[0, 5, 3] = 7" \
  "/checkpoint/mc/lattices: lattice 0 (chain 0) holds the value 7 at (x, y) = (3, 5), which is not a spin (+1 or -1)"
edited "a spin 0, on 2 ranks" "d = f['checkpoint/mc/lattices']; d[0, 31, 30] = 0" \
  "/checkpoint/mc/lattices: lattice 0 (chain 0) holds the value 0 at (x, y) = (30, 31), which is not a spin (+1 or -1)" 2
edited "a chain's count of samples edited" "f['checkpoint/mc/done'][1] = 7" \
  "/checkpoint/mc/done has 2 chains in progress, but /checkpoint/mc/lattices parks 1 lattice"
edited "a count below -1" "f['checkpoint/mc/done'][0] = -5" \
  "/checkpoint/mc/done holds -5 samples for chain 0, outside -1 (not started) … n_samples = 1000000"
# (HDF5 converts what it reads: 1.5 samples to 1, an unsigned 255 to the spin-like 127)
edited "counts of samples as floating-point numbers" \
  "d = f['checkpoint/mc']; v = d['done'][()] + 0.5; del d['done']; d['done'] = v" \
  "/checkpoint/mc/done holds numbers that are not integers"
edited "the lattices as unsigned bytes (-1 is 255)" \
  "d = f['checkpoint/mc']; v = d['lattices'][()].astype('u1'); del d['lattices']; d['lattices'] = v" \
  "/checkpoint/mc/lattices holds 1-byte unsigned integers, not the spins' signed bytes"
edited "the lattices as 2-byte integers, on 2 ranks" \
  "d = f['checkpoint/mc']; v = d['lattices'][()].astype('i2'); del d['lattices']; d['lattices'] = v" \
  "/checkpoint/mc/lattices holds 2-byte signed integers, not the spins' signed bytes" 2
edited "size_index beyond the sizes" "f['checkpoint/mc'].attrs['size_index'] = 3" \
  "/checkpoint/mc size_index = 3 is outside 0 … 0, the sizes of &mc L"
# (an attribute of many values was read into one: the stack overrun, a crash on every rank)
edited "size_index of 4096 values, on 2 ranks" "f['checkpoint/mc'].attrs['size_index'] = [0] * 4096" \
  "/checkpoint/mc attribute size_index is not one integer" 2
edited "size_index as text" "f['checkpoint/mc'].attrs['size_index'] = 'zero'" \
  "/checkpoint/mc attribute size_index is not one integer"
# --check on 2 real ranks (the ranks share the lattices to scan): the same refusal
cp edited/good.ckpt edited/out.h5.ckpt
"$PYTHON" -c "import h5py
with h5py.File('edited/out.h5.ckpt', 'r+') as f: f['checkpoint/mc/lattices'][0, 2, 1] = 5"
expect_status 2 "--check on 2 ranks: an edited lattice refused" -- \
  sh -c "cd edited && \"$MPIEXEC\" -n 2 \"$INVRG\" --check run.nml"
expect_grep err.txt "lattice 0 (chain 0) holds the value 5 at (x, y) = (1, 2)" \
  "--check on 2 ranks names the lattice, the value and the site"
cp edited/good.ckpt edited/out.h5.ckpt
(cd edited && INVRG_TEST_STOP_AFTER_POLLS=3 "$INVRG" run.nml > log 2>&1)
[ $? -eq 3 ] && grep -q "continuing from checkpoint" edited/log \
  && pass "the unedited checkpoint resumes (and stops again)" || fail "the unedited checkpoint was refused"

# --- the same for the states of stages dream and train (a bad window or edited counters
# stopped with exit 1 and HDF5's words, done flags and step counts other than those a run makes
# resumed silently); train's step counts, which only the stage can know (they depend on the
# training data it reads), are checked by the stage as it restores them, before any epoch
for stage in dream train; do
  mkdir "${stage}edit"
  cp "${stage}ref/run.nml" "${stage}edit/run.nml"
  (cd "${stage}edit" && INVRG_TEST_STOP_AFTER_POLLS=3 "$INVRG" run.nml > log 2>&1)
  grep -q "written: out.h5.ckpt (stage $stage)" "${stage}edit/log" \
    && pass "a checkpoint in stage $stage to edit" || fail "no checkpoint in stage $stage to edit"
  cp "${stage}edit/out.h5.ckpt" "${stage}edit/good.ckpt"
done
dream() { edited_in dreamedit run.nml:1:24 "dream: $1" "d = f['checkpoint/dream']; $2" "${@:3}"; }
dream "a done flag 2, on 2 ranks" "d['done'][3] = 2" \
  "/checkpoint/dream/done holds 2 for sample 3 of the window, which is no flag (0 or 1)" 2
dream "a window that starts at the end" "d['window'][0] = 30" \
  "/checkpoint/dream/window starts at sample 30, which is not the start of a window of 4096 samples within n_samples = 30"
dream "the window as floating-point numbers" \
  "v = d['window'][()] * 1.0; del d['window']; d['window'] = v" \
  "/checkpoint/dream/window holds numbers that are not integers"
dream "a window one sample short" "d['window'][1] = 29" \
  "/checkpoint/dream/window holds 29 samples from sample 0, but the input makes it 30"
dream "primaries of 29 samples" "del d['primaries']; d['primaries'] = [[0.0] * 36] * 29" \
  "/checkpoint/dream/primaries has the shape [29, 36], but its counters and the input make it [30, 36]"
dream "block means cut short" "del d['block_means']; d['block_means'] = [0.0] * 100" \
  "/checkpoint/dream/block_means has the shape [100], but its counters and the input make it [108]"
dream "no MCRG sums of the blocked pairs" "del d['blocked_sums']" \
  "it has no dataset /checkpoint/dream/blocked_sums"
# (the lengths an unedited run wrote)
read -r n_up n_corr < <("$PYTHON" -c "import h5py
with h5py.File('dreamedit/good.ckpt', 'r') as f: d = f['checkpoint/dream']; print(len(d['up_sums']), len(d['corr_L16']))")
dream "MCRG sums of the up pairs cut short" "v = d['up_sums'][:-1]; del d['up_sums']; d['up_sums'] = v" \
  "/checkpoint/dream/up_sums has the shape [$((n_up - 1))], but its counters and the input make it [$n_up]"
dream "correlations of another size, on 2 ranks" "d['corr_sizes'][2] = 17" \
  "/checkpoint/dream/corr_sizes holds 17 at index 2, but the measured sizes make it 16" 2
dream "correlation sums of a size cut short" "v = d['corr_L16'][:-2]; del d['corr_L16']; d['corr_L16'] = v" \
  "/checkpoint/dream/corr_L16 has the shape [$((n_corr - 2))], but its counters and the input make it [$n_corr]"
# --check makes these checks too (they were the stage's, which --check does not run)
cp dreamedit/good.ckpt dreamedit/out.h5.ckpt
"$PYTHON" -c "import h5py
with h5py.File('dreamedit/out.h5.ckpt', 'r+') as f: del f['checkpoint/dream/down_sums']"
expect_status 2 "--check: the dream's missing MCRG sums refused" -- \
  sh -c "cd dreamedit && \"$INVRG\" --check run.nml"
expect_grep err.txt "it has no dataset /checkpoint/dream/down_sums" "--check names the dataset"
train() { edited_in trainedit run.nml:1:24 "train: $1" "d = f['checkpoint/train']; $2" "${@:3}"; }
train "7 of 6 epochs done" "d['epochs_done'][1] = 7" \
  "/checkpoint/train/epochs_done holds 7 epochs for replica 1, outside -1 (not started) … epochs = 6"
train "epochs done below -1, on 2 ranks" "d['epochs_done'][0] = -2" \
  "/checkpoint/train/epochs_done holds -2 epochs for replica 0, outside -1 (not started) … epochs = 6" 2
train "rows a column short" "del d['rows']; d['rows'] = [[0.0] * 18] * 3" \
  "/checkpoint/train/rows has the shape [3, 18], but its counters and the input make it [3, 19]"
train "moments of 2 replicas" "del d['moments']; d['moments'] = [[0.0] * 13] * 2" \
  "/checkpoint/train/moments has the shape [2, 13], but its counters and the input make it [3, 13]"
train "an emptied state" "[d.__delitem__(k) for k in list(d)]" \
  "it has no dataset /checkpoint/train/epochs_done" 1 stage
train "an optimizer step count edited, on 2 ranks" "d['moments'][0, 12] = 5" \
  "/checkpoint/train/moments holds 5 optimizer steps for replica 0, but 3 epochs of 6 steps make 18" 2 stage
cp dreamedit/good.ckpt dreamedit/out.h5.ckpt
"$PYTHON" -c "import h5py
with h5py.File('dreamedit/out.h5.ckpt', 'r+') as f: f['checkpoint/dream/window'][1] = 29"
expect_status 2 "--check: the edited dream window refused" -- sh -c "cd dreamedit && \"$INVRG\" --check run.nml"
expect_grep err.txt "is damaged: /checkpoint/dream/window holds 29 samples" "--check names the dataset"
for stage in dream train; do
  cp "${stage}edit/good.ckpt" "${stage}edit/out.h5.ckpt"
  (cd "${stage}edit" && INVRG_TEST_STOP_AFTER_POLLS=3 "$INVRG" run.nml > log 2>&1)
  [ $? -eq 3 ] && grep -q "continuing from checkpoint" "${stage}edit/log" \
    && pass "the unedited $stage checkpoint resumes (and stops again)" \
    || fail "the unedited $stage checkpoint was refused"
done
finish

#!/usr/bin/env bash
# The SLURM job scripts of jobs/ against a real SLURM on this machine: a private munged and a
# one-node slurmctld + slurmd (Debian's packages, installed with apt if missing), configured
# from tests/slurm/slurm.conf.in in a fresh temporary directory, on free ports.
#   1. run.sbatch, srun --mpi=pmix, one node with 2 tasks: a small Monte Carlo run; the run
#      file is complete (exit_status 0, /mc/L8, 2 ranks), the input is copied next to it, the
#      log has the provenance; an input with an error ends the job with status 2; a lock left
#      by a job that is no longer running is cleared; with an MPI_Init that fails (a preloaded
#      shim) the provenance block still shows invrg's version, and the run itself fails.
#   2. ensemble.sbatch, a 2-task array launched with mpirun: one input and run file per task,
#      the table's sizes, seeds template + task. scaling.sbatch on 1 and 2 ranks: its table
#      (12 runs, each efficiency recomputed from its columns) and generated inputs.
#   3. Requeues, with a stand-in for invrg (fake_invrg.sh) that checkpoints (exit 3) until its
#      n-th run: statuses 3 3 0 make the job requeue itself twice and end COMPLETED, exit 0,
#      with the log of every run kept; the limit INVRG_MAX_REQUEUES ends it with status 3;
#      INVRG_MAX_REQUEUES=0 turns requeueing off; an array task requeues itself; SIGUSR1 sent
#      to the batch shell (as sbatch --signal=B:USR1@300 does) reaches the run, which stops
#      with status 3 and is continued; scancel (SIGTERM) stops a job for good.
#   4. restart_chain.sh with the stand-in: three jobs, statuses 3 3 0, each job exits 0; with
#      --max-jobs 2 and a run that never finishes, the chain stops at status 3; --stop ends a
#      chain after its job's checkpoint; a job whose batch shell is killed is reported by
#      --attach (exit 1).
#   5. If invrg has &checkpoint: a restart chain with invrg itself (stop_file, then the rest of
#      the run: statuses 3 0, a complete run file), and a job whose invrg is stopped by SIGUSR1,
#      requeued and continued from its checkpoint to a complete run file.
# The daemons are stopped and the directory is removed at exit, on failure too; daemons left by
# an earlier run that was killed are stopped first. Exit 77 (skipped) only if SLURM is missing
# and cannot be installed. INVRG_SLURM_TEST_KEEP=1 keeps the directory for a look;
# INVRG_SLURM_TEST_NODE names the node (default: this host's short name).
set -uo pipefail
src=${SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
invrg=${INVRG:-$src/build/invrg}
python=${PYTHON:-/usr/bin/python3}
registry=/tmp/invrg-slurm-test.registry
# shellcheck source=tools/env.sh
source "$src/tools/env.sh"

failures=0
t0=$SECONDS
say() { echo "[$((SECONDS - t0)) s] $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
check() { # <description> <command...>
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# ---------------------------------------------------------------- packages
missing=()
for c in slurmctld slurmd sbatch munged; do command -v "$c" >/dev/null || missing+=("$c"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: ${missing[*]} missing, and installing SLURM needs root"
    exit 77
  fi
  say "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  pkgs=(slurmctld slurmd slurm-client munge)
  if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/tmp/invrg-slurm-apt.log 2>&1; then
    apt-get update -q >>/tmp/invrg-slurm-apt.log 2>&1
    if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >>/tmp/invrg-slurm-apt.log 2>&1; then
      tail -n 20 /tmp/invrg-slurm-apt.log
      echo "SKIP: apt cannot install ${pkgs[*]} (log above)"
      exit 77
    fi
  fi
fi
for c in slurmctld slurmd sbatch munged; do
  command -v "$c" >/dev/null || { echo "FAIL: $c still missing after apt"; exit 1; }
done

# ---------------------------------------------------------------- processes of a test dir
alive() { # <pid>: running (a zombie child of this shell is not)
  local s
  s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s:0:1}" != Z ]
}

# Pids whose command line names <dir> or whose working directory is inside it (daemons, job
# steps, ranks), except this shell. The pattern [.] keeps grep from finding itself.
procs_of() {
  local dir=$1
  {
    grep -lsa -- "${dir//./[.]}/" /proc/[0-9]*/cmdline
    find /proc/[0-9]*/cwd -maxdepth 0 \( -lname "$dir" -o -lname "$dir/*" \) 2>/dev/null
  } | cut -d/ -f3 | sort -u | grep -vx "$$"
}

stop_procs_of() { # <dir>: TERM, then KILL after 5 s
  local pids
  pids=$(procs_of "$1")
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    pids=$(procs_of "$1")
    [ -n "$pids" ] || return 0
    sleep 0.5
  done
  echo "killing what is left in $1: $pids"
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
}

# A run killed before its cleanup (ctest's timeout) left its daemons and directory: the
# registry lists "dir pid" of every run; those whose test process is gone are cleaned up.
if [ -f "$registry" ]; then
  while read -r old_dir old_pid; do
    case $old_dir in /tmp/invrg-slurm.*) ;; *) continue ;; esac
    if [ -n "$old_pid" ] && grep -qsa test_slurm "/proc/$old_pid/cmdline"; then
      echo "$old_dir $old_pid" >>"$registry.new" # another run of this test, still going
      continue
    fi
    say "cleaning up after an earlier run: $old_dir"
    stop_procs_of "$old_dir"
    rm -rf -- "$old_dir"
  done <"$registry"
  mv -f "$registry.new" "$registry" 2>/dev/null || rm -f "$registry"
fi

[ -x "$invrg" ] || { echo "FAIL: no invrg at $invrg"; exit 1; }

# ---------------------------------------------------------------- private SLURM
dir=$(mktemp -d /tmp/invrg-slurm.XXXXXX) || exit 1
chmod 755 "$dir" # munged wants every directory of its socket path searchable
echo "$dir $$" >>"$registry"
mkdir -p "$dir"/{munge,state,spool,log,run,work}
# In case the test itself runs inside a SLURM job: nothing of that job may leak into ours.
for v in $(compgen -e); do case $v in SLURM_* | SBATCH_* | SRUN_*) unset "$v" ;; esac; done
export SLURM_CONF=$dir/slurm.conf

cleanup() {
  local status=$?
  cd / || true
  trap - EXIT INT TERM
  if [ -n "${ctld_pid:-}" ] && alive "$ctld_pid"; then
    local jobs
    jobs=$(squeue -h -o %A 2>/dev/null | tr '\n' ' ')
    # shellcheck disable=SC2086
    [ -n "${jobs// /}" ] && scancel $jobs 2>/dev/null
    timeout 15 scontrol shutdown >/dev/null 2>&1
    for _ in $(seq 20); do
      alive "$ctld_pid" || alive "${slurmd_pid:-0}" || break
      sleep 0.5
    done
  fi
  stop_procs_of "$dir"
  if [ "$status" -ne 0 ] || [ "$failures" -gt 0 ]; then
    for f in "$dir"/log/*.log "$dir"/munge/munged.log; do
      [ -f "$f" ] && { echo "---- tail of $f"; tail -n 25 "$f"; }
    done
  fi
  if [ "${INVRG_SLURM_TEST_KEEP:-0}" = 1 ]; then
    echo "kept $dir"
  else
    rm -rf -- "$dir"
  fi
  grep -vF "$dir $$" "$registry" >"$registry.new" 2>/dev/null
  if [ -s "$registry.new" ]; then mv -f "$registry.new" "$registry"; else rm -f "$registry" "$registry.new"; fi
  say "daemons stopped, $dir removed"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$dir/munge/munge.key"
# The daemons run in the foreground of background subshells, from inside $dir (procs_of finds
# them and their helpers by that), with nothing of this script's output.
cd "$dir/run" || exit 1
munged -F --socket="$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" \
  --log-file="$dir/munge/munged.log" --pid-file="$dir/munge/munged.pid" \
  --seed-file="$dir/munge/munged.seed" </dev/null >"$dir/log/munged.out" 2>&1 &
for _ in $(seq 50); do [ -S "$dir/munge/munge.sock" ] && break; sleep 0.2; done
if ! munge -n -S "$dir/munge/munge.sock" | unmunge -S "$dir/munge/munge.sock" >/dev/null; then
  echo "FAIL: munged does not work"
  exit 1
fi

# slurmctld must run on the host SlurmctldHost names: this one, by its short name.
host=$(hostname -s 2>/dev/null || hostname)
node=${INVRG_SLURM_TEST_NODE:-$host}
read -r ctld_port slurmd_port < <("$python" -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
sed -e "s|@CTLD_HOST@|$host|; s|@NODE@|$node|g; s|@DIR@|$dir|g; s|@CTLD_PORT@|$ctld_port|; s|@SLURMD_PORT@|$slurmd_port|" \
  -e "s|@CPUS@|2|" "$src/tests/slurm/slurm.conf.in" >"$SLURM_CONF"
# srun --mpi=pmix keeps per-step directories named by job id, /tmp/spmix_appdir_<uid>_<job>.<step>
# by default; job ids start at 1 in every run of this test, so keep them in $dir.
mkdir -p "$dir/pmix"
echo "PMIxCliTmpDirBase=$dir/pmix" >"$dir/mpi.conf"
slurmctld -D -f "$SLURM_CONF" </dev/null >"$dir/log/slurmctld.out" 2>&1 &
ctld_pid=$!
slurmd -D -f "$SLURM_CONF" -N "$node" </dev/null >"$dir/log/slurmd.out" 2>&1 &
slurmd_pid=$!
state=""
for _ in $(seq 60); do
  state=$(sinfo -h -n "$node" -o %t 2>/dev/null)
  [ "$state" = idle ] && break
  if ! alive "$ctld_pid" || ! alive "$slurmd_pid"; then break; fi
  sleep 1
done
if [ "$state" != idle ]; then
  echo "FAIL: node $node not idle (state '$state')"
  cat "$dir"/log/*.out
  exit 1
fi
say "SLURM up: node $node idle, slurmctld port $ctld_port, slurmd port $slurmd_port"

# ---------------------------------------------------------------- helpers
# Waits until the jobs (ids, or array ids) have ended; 1 on timeout.
wait_jobs() {
  local deadline=$((SECONDS + 150)) id busy
  while :; do
    busy=0
    for id in "$@"; do
      if scontrol -o show job "$id" 2>/dev/null |
        grep -qE 'JobState=(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED)'; then
        busy=1
      fi
    done
    [ "$busy" = 0 ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      for id in "$@"; do scontrol show job "$id"; done
      return 1
    fi
    sleep 1
  done
}
job_field() { # <job id> <field>: e.g. ExitCode -> 0:0
  scontrol -o show job "$1" 2>/dev/null | head -n 1 | grep -o " $2=[^ ]*" | cut -d= -f2
}
expect_job() { # <job id> <JobState> <ExitCode> <description>
  local s e
  s=$(job_field "$1" JobState) e=$(job_field "$1" ExitCode)
  if [ "$s" = "$2" ] && [ "$e" = "$3" ]; then pass "$4: $s, exit code $e"; else
    fail "$4: job $1 is '$s' with exit code '$e', expected $2 and $3"
  fi
}
expect_eq() { # <got> <want> <description>
  if [ "$1" = "$2" ]; then pass "$3: '$1'"; else fail "$3: '$1', expected '$2'"; fi
}
expect_grep() { # <file> <fixed string> <description>
  if grep -qF -- "$2" "$1" 2>/dev/null; then pass "$3"; else
    fail "$3: '$2' not in $1"
    [ -f "$1" ] && sed 's/^/  | /' "$1"
  fi
}
wait_grep() { # <file> <fixed string>: until the file has it, at most 60 s
  for _ in $(seq 120); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done
  fail "'$2' did not appear in $1"
}
# Run file: complete, exit_status 0, /mc/L<L>, nranks, seed.
check_runfile() { # <file> <L> <nranks> <seed>
  "$python" - "$@" <<'PY'
import sys
import h5py
path, L, nranks, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with h5py.File(path, "r") as f:
    run = f["run"].attrs
    problems = []
    if run["exit_status"] != 0: problems.append("exit_status %s" % run["exit_status"])
    if run["nranks"] != nranks: problems.append("nranks %s, expected %d" % (run["nranks"], nranks))
    if "mc/L%d" % L not in f: problems.append("no /mc/L%d (has %s)" % (L, list(f["mc"])))
    elif f["mc/L%d" % L].attrs["n_samples"] <= 0: problems.append("no samples")
    if f["config/run"].attrs["seed"] != seed:
        problems.append("seed %s, expected %d" % (f["config/run"].attrs["seed"], seed))
    if problems:
        print(path + ": " + "; ".join(problems))
        sys.exit(1)
PY
}

cd "$dir/work" || exit 1
jobs_dir=$src/jobs
export INVRG=$invrg INVRG_SITE=debian-localhost INVRG_PYTHON=$python

# ---------------------------------------------------------------- 1. run.sbatch
cat >tiny.nml <<'NML'
! a small Monte Carlo run for the SLURM test
&run stages = 'mc', seed = 11, output = 'tiny.h5', log_level = 'warn' /
&mc L = 8, n_chains = 2, n_therm = 20, n_samples = 40 /
NML
cat >bad.nml <<'NML'
&run stages = 'mc', output = 'bad.h5' /
&mc nsweeps = 3 /
NML
# A lock left by a job on another node that is no longer running (killed at its time limit):
# the job scripts ask SLURM, remove it and run.
printf "host=node-that-died\npid=4242\nstarted=2026-01-01T00:00:00Z\nslurm_job=987654\ninput=tiny.nml\n" >tiny.h5.lock
run_id=$(sbatch --parsable --nodes=1 --ntasks-per-node=2 -t 10 -o run-%j.out "$jobs_dir/run.sbatch" tiny.nml)
bad_id=$(sbatch --parsable -n 1 -t 10 -o bad-%j.out "$jobs_dir/run.sbatch" bad.nml)
# The provenance block asks invrg --version, which must not start MPI (no MPI_Init on the batch
# node, outside any job step): in this job MPI_Init fails loudly, in every process.
cat >no_mpi.c <<'C'
#include <stdio.h>
#include <unistd.h>
int MPI_Init(int *argc, char ***argv) {
  (void)argc; (void)argv;
  fputs("MPI_Init called\n", stderr);
  _exit(99);
}
C
cc -shared -fPIC -o no_mpi.so no_mpi.c || fail "cannot build the MPI_Init shim"
echo "&run stages = 'mc', output = 'nompi.h5' /" >nompi.nml
asan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" # a sanitizer build takes the shim
nompi_id=$(ASAN_OPTIONS=$asan LD_PRELOAD=$PWD/no_mpi.so sbatch --parsable -n 1 -t 10 \
  -o nompi-%j.out "$jobs_dir/run.sbatch" nompi.nml)

# ---------------------------------------------------------------- 2. ensemble.sbatch
cat >template.nml <<'NML'
&run stages = 'mc', seed = 100, output = 'replaced.h5', log_level = 'warn' /
&mc L = 4, n_chains = 2, n_therm = 20, n_samples = 40 /
NML
cat >table.txt <<'TXT'
# two tasks: L = 8 and L = 16
mc.L   mc.n_samples
8      40
16     30   # fewer samples
TXT
# shellcheck disable=SC2016 # $SLURM_NTASKS is expanded in the job
ens_id=$(INVRG_LAUNCH='mpirun -n $SLURM_NTASKS' sbatch --parsable --array=1-2 -n 1 -t 10 \
  -o ens-%A_%a.out "$jobs_dir/ensemble.sbatch" template.nml table.txt ens)
say "submitted run $run_id, bad input $bad_id, no MPI $nompi_id, ensemble $ens_id"
if ! [[ $run_id =~ ^[0-9]+$ && $bad_id =~ ^[0-9]+$ && $nompi_id =~ ^[0-9]+$ && $ens_id =~ ^[0-9]+$ ]]; then
  fail "sbatch did not give job ids: '$run_id' '$bad_id' '$nompi_id' '$ens_id'"
  exit 1
fi
wait_jobs "$run_id" "$bad_id" "$nompi_id" "$ens_id" || fail "jobs did not end within 150 s"
say "jobs ended"

expect_job "$run_id" COMPLETED 0:0 "run.sbatch job"
check "run file tiny.h5 complete (2 ranks, /mc/L8, seed 11)" check_runfile tiny.h5 8 2 11
check "input copied to tiny.h5.input.nml" cmp -s tiny.nml tiny.h5.input.nml
log=run-$run_id.out
expect_grep "$log" "== invrg job provenance" "provenance block"
expect_grep "$log" "job:         $run_id (name invrg, partition debug" "provenance: job id"
expect_grep "$log" "host:        $(hostname)" "provenance: host"
expect_grep "$log" "nodes:       1 ($node), tasks 2, cpus per task 1, tasks per node 2" "provenance: nodes and tasks"
expect_grep "$log" "threads:     OMP_NUM_THREADS=1, hint nomultithread" "provenance: one thread per rank"
expect_grep "$log" "requeues:    0 so far, at most 10 (INVRG_MAX_REQUEUES)" "provenance: requeue count and limit"
expect_grep "$log" "input:       $dir/work/tiny.nml (sha256 $(sha256sum tiny.nml | cut -d' ' -f1))" "provenance: input"
expect_grep "$log" "version:     $("$invrg" --version | head -n 1)" "provenance: invrg --version (git hash)"
expect_grep "$log" "launcher:    srun --mpi=pmix" "provenance: launcher from the site profile"
expect_grep "$log" "== invrg exit status 0 (success)" "exit status line"
expect_grep "$log" "removing tiny.h5.lock left by SLURM job 987654, which is no longer running" \
  "a dead job's lock is cleared"
check "no lock after the run" test ! -e tiny.h5.lock

expect_job "$bad_id" FAILED 2:0 "job with an input error"
expect_grep "bad-$bad_id.out" "unknown key 'nsweeps'" "input error reported in the job log"
check "no input copy for a failed run" test ! -e bad.h5.input.nml

log=nompi-$nompi_id.out
expect_grep "$log" "version:     $("$invrg" --version | head -n 1)" \
  "provenance without MPI: invrg --version answers while MPI_Init would fail"
expect_grep "$log" "MPI_Init called" "provenance without MPI: the shim was in force (the run failed in MPI_Init)"
expect_job "$nompi_id" FAILED 1:0 "provenance without MPI: the run itself needs MPI"

for task in 1 2; do
  L=$((task == 1 ? 8 : 16))
  f=ens/task_00$task
  expect_job "${ens_id}_$task" COMPLETED 0:0 "ensemble task $task"
  check "ensemble task $task: $f.h5 complete (/mc/L$L, seed $((100 + task)))" \
    check_runfile "$f.h5" "$L" 1 $((100 + task))
  expect_grep "$f.nml" "output = 'ens/task_00$task.h5'" "ensemble task $task: its input names its output"
  expect_grep "ens-${ens_id}_$task.out" "array:       task $task of 2 (array job $ens_id)" "ensemble task $task: provenance"
  # shellcheck disable=SC2016
  expect_grep "ens-${ens_id}_$task.out" 'launcher:    mpirun -n $SLURM_NTASKS' "ensemble task $task: launcher from the environment"
done
expect_grep ens/task_002.nml "n_samples = 30" "ensemble: table row applied"

# ---------------------------------------------------------------- 2b. scaling.sbatch
say "scaling.sbatch: every series on 1 and 2 ranks, small sizes"
sc_id=$(sbatch --parsable -n 2 -t 10 -o scaling-%j.out "$jobs_dir/scaling.sbatch" --ranks 1,2 \
  --outdir sc --dream-levels 11 --dream-weak-levels 9 --sw-L 256 --sw-block 128 --sweeps 10 \
  --dreams 32 --dreams-per-rank 8)
wait_jobs "$sc_id" || fail "scaling job did not end within 150 s"
expect_job "$sc_id" COMPLETED 0:0 "scaling.sbatch job"
expect_grep "scaling-$sc_id.out" "launcher:    srun --mpi=pmix" "scaling: provenance"
# the table: 12 runs, each E recomputed from its own columns, the first of a series at 100 %
check "scaling: the table's rows and efficiencies" "$python" - sc/scaling_table.md <<'PY'
import sys
rows = [[c.strip() for c in l.strip().strip("|").split("|")]
        for l in open(sys.argv[1]) if l.startswith("| ") and "series" not in l]
first, bad = {}, []
for r in rows:
    s, P, work, secs, e, pred, em = r[0], int(r[1]), float(r[4]), float(r[5]), r[7], float(r[8]), r[9]
    W0, P0, T0 = first.setdefault(s, (work, P, secs))
    want = 100 * (work / (P * secs)) / (W0 / (P0 * T0))
    if abs(float(e.rstrip(" %")) - want) > 0.051 or pred <= 0 or not em.endswith("%"):
        bad.append(r)
if len(rows) != 12 or len(first) != 6 or bad:
    print("rows %d, series %d, wrong: %s" % (len(rows), len(first), bad))
    sys.exit(1)
PY
expect_grep sc/dream-weak_P2.nml "dream_ranks_per_group = 1" "scaling: weak dream on 2 ranks is two dreams on groups of 1"
expect_grep sc/dream-weak_P2.nml "n_samples = 2" "scaling: weak dream on 2 ranks: two samples"
expect_grep sc/sw-weak_P2.nml "L = $("$python" "$src/tools/scaling_model.py" sw-side --ranks 2 --block 128)," \
  "scaling: weak SW on 2 ranks: L from the model's sw-side"
for f in dream-strong_P2 sw-strong_P2 dreams-weak_P2; do
  check "scaling: run file sc/$f.h5 written" test -s "sc/$f.h5"
done

# ---------------------------------------------------------------- 3. requeues
export INVRG=$src/tests/slurm/fake_invrg.sh
restarts() { job_field "$1" Restarts; }
count_runs() { grep -c '^== invrg job provenance' "$1"; }
say "requeues: 3 3 0; endless with limits 1 and 0, and --no-requeue; an array task"
for name in requeue limit off refused; do echo "&run output = '$name.h5' /" >"$name.nml"; done
rq_id=$(FAKE_INVRG_STATE=$PWD/requeue.count FAKE_INVRG_RUNS=3 \
  sbatch --parsable -n 1 -t 10 -o requeue-%j.out "$jobs_dir/run.sbatch" requeue.nml)
limit_id=$(FAKE_INVRG_STATE=$PWD/limit.count FAKE_INVRG_RUNS=99 INVRG_MAX_REQUEUES=1 \
  sbatch --parsable -n 1 -t 10 -o limit-%j.out "$jobs_dir/run.sbatch" limit.nml)
off_id=$(FAKE_INVRG_STATE=$PWD/off.count FAKE_INVRG_RUNS=99 INVRG_MAX_REQUEUES=0 \
  sbatch --parsable -n 1 -t 10 -o off-%j.out "$jobs_dir/run.sbatch" off.nml)
refused_id=$(FAKE_INVRG_RUNS=99 sbatch --parsable --no-requeue -n 1 -t 10 -o refused-%j.out \
  "$jobs_dir/run.sbatch" refused.nml)
printf 'mc.L\n8\n' >one_row.txt
arr_id=$(FAKE_INVRG_STATE=$PWD/array.count FAKE_INVRG_RUNS=2 sbatch --parsable --array=1-1 -n 1 \
  -t 10 -o arr-%A_%a.out "$jobs_dir/ensemble.sbatch" template.nml one_row.txt arr)
wait_jobs "$rq_id" "$limit_id" "$off_id" "$refused_id" "$arr_id" || fail "requeued jobs did not end within 150 s"

expect_job "$rq_id" COMPLETED 0:0 "requeue 3 3 0: the job"
expect_eq "$(restarts "$rq_id")" 2 "requeue 3 3 0: restarts"
expect_eq "$(cat requeue.count)" 3 "requeue 3 3 0: runs of invrg"
check "requeue 3 3 0: the last run wrote requeue.h5" test -e requeue.h5
log=requeue-$rq_id.out
expect_eq "$(count_runs "$log")" 3 "requeue 3 3 0: the log keeps every run's provenance"
for k in 0 1 2; do
  expect_grep "$log" "requeues:    $k so far, at most 10" "requeue 3 3 0: run $((k + 1)) in the log"
done
expect_eq "$(grep -c '^== invrg exit status 3' "$log")" 2 "requeue 3 3 0: two checkpoint stops logged"
expect_grep "$log" "requeueing job $rq_id (requeue 2 of at most 10)" "requeue 3 3 0: second requeue logged"
expect_grep "$log" "== invrg exit status 0 (success)" "requeue 3 3 0: the last run's status logged"

expect_job "$limit_id" FAILED 3:0 "requeue limit 1: the job ends unfinished"
expect_eq "$(restarts "$limit_id")" 1 "requeue limit 1: restarts"
expect_eq "$(cat limit.count)" 2 "requeue limit 1: runs of invrg"
expect_grep "limit-$limit_id.out" "requeue limit reached: the job was requeued 1 times (INVRG_MAX_REQUEUES=1); the run is unfinished, exit status 3" \
  "requeue limit 1: reported"

expect_job "$off_id" FAILED 3:0 "INVRG_MAX_REQUEUES=0: the job ends unfinished"
expect_eq "$(restarts "$off_id")" 0 "INVRG_MAX_REQUEUES=0: restarts"
expect_grep "off-$off_id.out" "requeueing is off (INVRG_MAX_REQUEUES=0)" "INVRG_MAX_REQUEUES=0: reported"

expect_job "$refused_id" FAILED 3:0 "--no-requeue: SLURM refuses the requeue, the job ends unfinished"
expect_grep "refused-$refused_id.out" "scontrol requeue failed" "--no-requeue: reported"

expect_job "${arr_id}_1" COMPLETED 0:0 "array task requeued once"
expect_eq "$(restarts "${arr_id}_1")" 1 "array task: restarts"
expect_eq "$(count_runs "arr-${arr_id}_1.out")" 2 "array task: the log keeps both runs"
check "array task: arr/task_001.h5 written" test -e arr/task_001.h5

say "requeues: SIGUSR1 to the batch shell, and scancel"
for name in signal cancel; do echo "&run output = '$name.h5' /" >"$name.nml"; done
sig_id=$(FAKE_INVRG_STATE=$PWD/signal.count FAKE_INVRG_WAIT=1 FAKE_INVRG_RUNS=2 \
  sbatch --parsable -n 1 -t 10 -o signal-%j.out "$jobs_dir/run.sbatch" signal.nml)
cancel_id=$(FAKE_INVRG_WAIT=1 sbatch --parsable -n 1 -t 10 -o cancel-%j.out "$jobs_dir/run.sbatch" cancel.nml)
wait_grep "signal-$sig_id.out" "waiting for a signal"
scancel --batch --signal=USR1 "$sig_id"
wait_grep "cancel-$cancel_id.out" "waiting for a signal"
scancel "$cancel_id"
wait_jobs "$sig_id" "$cancel_id" || fail "signal jobs did not end"
log=signal-$sig_id.out
expect_job "$sig_id" COMPLETED 0:0 "SIGUSR1: the job is requeued and completes"
expect_eq "$(restarts "$sig_id")" 1 "SIGUSR1: restarts"
expect_grep "$log" "SIGUSR1 passed on to invrg" "SIGUSR1: the batch shell passed it on"
expect_grep "$log" "fake invrg: SIGUSR1: checkpoint written" "SIGUSR1: the run got it"
expect_grep "$log" "== invrg exit status 3" "SIGUSR1: status 3 logged"
expect_grep "$log" "requeueing job $sig_id (requeue 1 of at most 10)" "SIGUSR1: requeue logged"
expect_grep "$log" "fake invrg: run 2 of 2" "SIGUSR1: the run continued"
expect_eq "$(job_field "$cancel_id" JobState)" CANCELLED "scancel: the job stays cancelled"
expect_eq "$(restarts "$cancel_id")" 0 "scancel: restarts"
expect_grep "cancel-$cancel_id.out" "stopped by SIGTERM (scancel, or the time limit without the --signal lead): not requeued" \
  "scancel: not requeued, reported"

# ---------------------------------------------------------------- 4. restart chains
echo "&run output = 'chain.h5' /" >chain.nml
say "restart chain: a run that checkpoints twice, then finishes"
FAKE_INVRG_STATE=$PWD/chain.count FAKE_INVRG_RUNS=3 "$jobs_dir/restart_chain.sh" --max-jobs 5 \
  --follow --poll 1 --follow-timeout 120 -n 1 -t 10 -o chain-%j.out chain.nml
status=$?
expect_eq "$status" 0 "restart chain: exit status"
statuses=$(grep -v '^#' chain.chain/history | cut -d' ' -f3 | tr '\n' ' ')
expect_eq "$statuses" "3 3 0 " "restart chain: statuses of the jobs"
check "restart chain: three runs" grep -qx 3 chain.count
check "restart chain: the last run wrote chain.h5" test -e chain.h5
ids=$(cut -d' ' -f2 chain.chain/jobs | sort -u | wc -l)
expect_eq "$ids" 3 "restart chain: distinct jobs"
n=0
while read -r seg id; do
  n=$((n + 1))
  expect_grep "chain-$id.out" "chain:       job $seg of at most 5" "restart chain: job $seg log"
  # a checkpoint stop whose successor was submitted exits 0 (not FAILED), as the last job does
  expect_job "$id" COMPLETED 0:0 "restart chain: job $seg"
done <chain.chain/jobs
expect_eq "$n" 3 "restart chain: jobs listed"

say "restart chain: a run that never finishes, --max-jobs 2"
echo "&run output = 'endless.h5' /" >endless.nml
FAKE_INVRG_STATE=$PWD/endless.count FAKE_INVRG_RUNS=99 "$jobs_dir/restart_chain.sh" --max-jobs 2 \
  --follow --poll 1 --follow-timeout 120 -n 1 -t 10 -o endless-%j.out endless.nml
status=$?
expect_eq "$status" 3 "limited chain: exit status"
check "limited chain: two runs" grep -qx 2 endless.count
expect_grep endless.chain/final "3 checkpointed after 2 jobs" "limited chain: final status"
expect_job "$(tail -n 1 endless.chain/jobs | cut -d' ' -f2)" FAILED 3:0 "limited chain: the last job ends unfinished"

say "restart chain: --stop ends it"
echo "&run output = 'stopped.h5' /" >stopped.nml
FAKE_INVRG_WAIT=1 "$jobs_dir/restart_chain.sh" -n 1 -t 10 -o stopped-%j.out stopped.nml
wait_grep "stopped-$(cut -d' ' -f2 stopped.chain/jobs).out" "waiting for a signal"
"$jobs_dir/restart_chain.sh" --stop stopped.nml
"$jobs_dir/restart_chain.sh" --attach --poll 1 --follow-timeout 60 stopped.nml
expect_eq "$?" 3 "stopped chain: exit status"
expect_grep stopped.chain/final "stopped by restart_chain.sh --stop" "stopped chain: final status"
expect_eq "$(wc -l <stopped.chain/jobs)" 1 "stopped chain: jobs submitted"

say "restart chain: a job killed without a word is noticed"
echo "&run output = 'killed.h5' /" >killed.nml
FAKE_INVRG_WAIT=1 "$jobs_dir/restart_chain.sh" -n 1 -t 10 -o killed-%j.out killed.nml
killed_id=$(cut -d' ' -f2 killed.chain/jobs)
wait_grep "killed-$killed_id.out" "waiting for a signal"
scancel --batch --signal=KILL "$killed_id"
"$jobs_dir/restart_chain.sh" --attach --poll 1 --follow-timeout 60 killed.nml >attach.out
expect_eq "$?" 1 "killed chain: exit status"
expect_grep attach.out "job $killed_id ended without recording its status" "killed chain: reported"
check "killed chain: no final status" test ! -e killed.chain/final

# ---------------------------------------------------------------- 5. invrg's own checkpoints
export INVRG=$invrg
if "$invrg" --print-default-input | grep '^&checkpoint' >/dev/null; then # no -q: SIGPIPE + pipefail
  say "restart chain with invrg: a stop file, then the rest of the run"
  cat >real.nml <<'NML'
&run stages = 'mc', seed = 5, output = 'real.h5', log_level = 'warn' /
&mc L = 16, n_chains = 2, n_therm = 100, n_samples = 2000 /
&checkpoint stop_file = 'STOP' /
NML
  touch STOP
  "$jobs_dir/restart_chain.sh" --max-jobs 3 --follow --poll 1 --follow-timeout 150 \
    -n 2 -t 10 -o real-%j.out real.nml
  expect_eq "$?" 0 "invrg chain: exit status"
  statuses=$(grep -v '^#' real.chain/history | cut -d' ' -f3 | tr '\n' ' ')
  expect_eq "$statuses" "3 0 " "invrg chain: statuses of the jobs"
  check "invrg chain: real.h5 complete (2 ranks, /mc/L16, seed 5)" check_runfile real.h5 16 2 5
  check "invrg chain: stop file consumed" test ! -e STOP

  say "SIGUSR1 to the batch shell: invrg writes a checkpoint, the job requeues and completes"
  # long enough (about 5 s on 2 ranks) that the signal comes while the stage runs
  cat >long.nml <<'NML'
&run stages = 'mc', seed = 7, output = 'long.h5' /
&mc L = 32, n_chains = 2, n_therm = 100, n_samples = 12000 /
NML
  long_id=$(sbatch --parsable --nodes=1 --ntasks-per-node=2 -t 10 -o long-%j.out "$jobs_dir/run.sbatch" long.nml)
  wait_grep "long-$long_id.out" "== stage mc"
  scancel --batch --signal=USR1 "$long_id"
  wait_jobs "$long_id" || fail "long job did not end"
  log=long-$long_id.out
  expect_job "$long_id" COMPLETED 0:0 "invrg stopped by SIGUSR1, requeued, completed"
  expect_eq "$(restarts "$long_id")" 1 "invrg requeue: restarts"
  expect_grep "$log" "checkpoint 1 written: long.h5.ckpt" "invrg requeue: checkpoint written on SIGUSR1"
  expect_grep "$log" "input copied to long.h5.input.nml" "invrg requeue: input copied after the checkpoint stop"
  expect_grep "$log" "requeueing job $long_id (requeue 1 of at most 10)" "invrg requeue: requeue logged"
  expect_grep "$log" "continuing from checkpoint long.h5.ckpt" "invrg requeue: the next run continued"
  check "invrg requeue: long.h5 complete (2 ranks, /mc/L32, seed 7)" check_runfile long.h5 32 2 7
else
  echo "note: this invrg has no &checkpoint group yet: its checkpoint tests are left out"
fi

say "done"
if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all passed"

# Functions shared by run.sbatch, ensemble.sbatch and restart_chain.sh (sourced, not run).
# shellcheck shell=bash
# Expects INVRG_JOBS_DIR (absolute path of jobs/) to be set by the caller.

# Status words of invrg's exit codes (README, Exit status).
invrg_status_text() {
  case $1 in
    0) echo "success" ;;
    1) echo "runtime failure" ;;
    2) echo "input or usage error" ;;
    3) echo "stopped after writing a checkpoint: run again to continue" ;;
    *) echo "unknown status" ;;
  esac
}

invrg_die() { # <status> <message>: one line on stderr, exit
  echo "invrg job: error: $2" >&2
  exit "$1"
}

# Sources the site profile (INVRG_SITE: a name in jobs/site/ or a path; default generic)
# and fills in the defaults it left unset: INVRG, INVRG_LAUNCH, INVRG_PYTHON.
invrg_load_site() {
  local site=${INVRG_SITE:-generic}
  case $site in
    */*) INVRG_SITE_FILE=$site ;;
    *) INVRG_SITE_FILE=$INVRG_JOBS_DIR/site/${site%.sh}.sh ;;
  esac
  [ -f "$INVRG_SITE_FILE" ] || invrg_die 2 "site profile '$site' not found ($INVRG_SITE_FILE)"
  # shellcheck disable=SC1090
  source "$INVRG_SITE_FILE" || invrg_die 1 "site profile $INVRG_SITE_FILE failed"
  if [ -z "${INVRG:-}" ]; then
    # build/invrg of the checkout holding jobs/, or P/bin/invrg of an install (P/share/invrg/jobs)
    INVRG=$(dirname "$INVRG_JOBS_DIR")/build/invrg
    local installed
    installed=$(dirname "$(dirname "$(dirname "$INVRG_JOBS_DIR")")")/bin/invrg
    if [ ! -x "$INVRG" ] && [ -x "$installed" ]; then INVRG=$installed; fi
  fi
  : "${INVRG_LAUNCH:=srun}"
  : "${INVRG_MAX_REQUEUES:=10}"
  if [ -z "${INVRG_PYTHON:-}" ]; then
    INVRG_PYTHON=$(command -v python3 || echo /usr/bin/python3)
  fi
  export INVRG INVRG_LAUNCH INVRG_PYTHON INVRG_SITE_FILE INVRG_MAX_REQUEUES
}

invrg_nml() { # nml.py subcommand ...
  "$INVRG_PYTHON" "$INVRG_JOBS_DIR/nml.py" "$@"
}

# Prints the provenance block: <input> <output> [extra lines].
invrg_provenance() {
  local input=$1 output=$2 sum
  shift 2
  sum=$(sha256sum "$input" 2>/dev/null | cut -d' ' -f1)
  echo "== invrg job provenance"
  echo "date:        $(date -Is)"
  echo "host:        $(hostname)"
  echo "job:         ${SLURM_JOB_ID:-none (not under SLURM)} (name ${SLURM_JOB_NAME:-?}, partition ${SLURM_JOB_PARTITION:-?}, account ${SLURM_JOB_ACCOUNT:-?})"
  echo "nodes:       ${SLURM_JOB_NUM_NODES:-1} (${SLURM_JOB_NODELIST:-$(hostname)}), tasks ${SLURM_NTASKS:-?}, cpus per task ${SLURM_CPUS_PER_TASK:-1}, tasks per node ${SLURM_TASKS_PER_NODE:-?}"
  echo "threads:     OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}, hint ${SLURM_HINT:-none}"
  echo "submit dir:  ${SLURM_SUBMIT_DIR:-?}"
  echo "work dir:    $PWD"
  echo "input:       $(realpath -- "$input") (sha256 ${sum:-?})"
  echo "output:      $output"
  echo "invrg:       $INVRG"
  # invrg --version does not start MPI (no MPI_Init, so no PMIx server, no network, safe on
  # the batch node outside any job step); the timeout guards against a hung file system.
  timeout 120 "$INVRG" --version 2>&1 | sed 's/^/version:     /' ||
    echo "version:     (invrg --version failed; see above)"
  echo "launcher:    $INVRG_LAUNCH"
  echo "site:        $INVRG_SITE_FILE"
  local line
  for line in "$@"; do echo "$line"; done
  echo "=="
}

# 0 if the job is pending or running, 1 if it ended or is unknown, 2 if squeue cannot tell.
invrg_job_alive() { # <job id>
  local state err
  if ! state=$(squeue -h -t all -j "$1" -o %T 2>/dev/null); then
    err=$(squeue -h -t all -j "$1" -o %T 2>&1 >/dev/null)
    case $err in *"Invalid job id"*) return 1 ;; *) return 2 ;; esac
  fi
  case $state in
    PENDING | RUNNING | CONFIGURING | COMPLETING | SUSPENDED | REQUEUE* | RESIZING | SIGNALING | STAGE_OUT | SPECIAL_EXIT) return 0 ;;
    *) return 1 ;;
  esac
}

# invrg refuses an output whose lock (<output>.lock) names another host: it cannot tell
# whether that run is alive. Here SLURM can: a lock left by a job that is no longer running
# (killed at its time limit, a failed node), or by this very job before it was requeued on
# another node, is removed, saying so; a live job's lock, or one SLURM cannot judge, is kept.
invrg_clear_dead_lock() { # <output>
  local lock=$1.lock job host
  [ -f "$lock" ] || return 0
  job=$(sed -n 's/^slurm_job=//p' "$lock")
  host=$(sed -n 's/^host=//p' "$lock")
  [ -n "$job" ] && command -v squeue >/dev/null || return 0
  if [ "$job" = "${SLURM_JOB_ID:-}" ]; then
    [ "$host" != "$(hostname)" ] || return 0 # this job on this node: invrg judges the pid
    echo "invrg job: removing $lock left on $host by this job before it was requeued"
    rm -f -- "$lock"
    return 0
  fi
  invrg_job_alive "$job"
  case $? in
    1) echo "invrg job: removing $lock left by SLURM job $job, which is no longer running"
       rm -f -- "$lock" ;;
    *) ;; # alive, or squeue cannot tell: invrg will refuse with the holder's name
  esac
}

# Runs invrg on <input> with the launcher and returns its exit status, mapped to 0-3
# (anything else, e.g. a rank killed by a signal, is a runtime failure: 1). With <output>,
# success without that file is a failure too: srun can return 0 when it failed to start the
# ranks.
# The launcher string is evaluated here, so it may use $SLURM_NTASKS. It runs in the
# background so that this shell can pass on SIGUSR1 and SIGTERM (sbatch --signal=B:USR1@300):
# srun and mpirun forward them to every rank, and invrg answers by writing a checkpoint and
# exiting with status 3. The batch scripts catch signals from their first line on
# (invrg_early_signal).
invrg_run() {
  local input=$1 output=${2:-} status start=$SECONDS pid launch signalled
  eval "launch=($INVRG_LAUNCH)" || invrg_die 2 "cannot parse INVRG_LAUNCH='$INVRG_LAUNCH'"
  [ -z "$output" ] || invrg_clear_dead_lock "$output"
  "${launch[@]}" "$INVRG" "$input" &
  pid=$!
  # The signal is remembered (invrg_signal) for invrg_requeue: SIGTERM means scancel or the
  # time limit itself, and such a job is not requeued.
  # shellcheck disable=SC2064
  trap "signalled=1; invrg_signal=USR1; echo 'invrg job: SIGUSR1 passed on to invrg (checkpoint and stop)'; kill -USR1 $pid" USR1
  # shellcheck disable=SC2064
  trap "signalled=1; invrg_signal=TERM; echo 'invrg job: SIGTERM passed on to invrg (checkpoint and stop)'; kill -TERM $pid" TERM
  invrg_signal=${invrg_early_signal:-}
  if [ -n "${invrg_early_signal:-}" ]; then
    echo "invrg job: SIG$invrg_early_signal came before invrg started (time limit shorter than" \
      "the --signal lead time?): passed on in 5 s"
    sleep 5 # time for invrg to set up its signal handlers
    kill -s "$invrg_early_signal" "$pid" 2>/dev/null
  fi
  while :; do
    signalled=0
    wait "$pid"
    status=$?
    # A trapped signal ends wait early; waiting again gives the status once the launcher ends.
    [ "$signalled" = 1 ] || break
  done
  trap 'echo "invrg job: signal after invrg ended: ignored"' USR1 TERM # let the job finish
  if [ "$status" -gt 3 ]; then
    echo "invrg job: the launcher returned $status (killed by a signal?): reported as 1" >&2
    status=1
  fi
  if [ "$status" -eq 0 ] && [ -n "$output" ] && [ ! -e "$output" ]; then
    echo "invrg job: the launcher returned 0 but $output does not exist: reported as 1" >&2
    status=1
  fi
  echo "== invrg exit status $status ($(invrg_status_text "$status")) at $(date -Is), $((SECONDS - start)) s"
  return "$status"
}

# Requeue-based restarts, for sites whose compute nodes may not submit jobs (the scripts ask
# for #SBATCH --requeue). invrg stopped after writing a checkpoint (status 3: SIGUSR1 passed on
# from sbatch --signal, &checkpoint stop_file or max_walltime_minutes): `scontrol requeue` puts
# this same job back in the queue, and its next run continues from <output>.ckpt. Not done in a
# restart chain (restart_chain.sh submits the next job), after SIGTERM (scancel, or the time
# limit itself: a cancelled job stays cancelled), outside SLURM, or once the job has been
# restarted INVRG_MAX_REQUEUES times (SLURM_RESTART_COUNT; 0 turns requeueing off).
# Returns the job's exit status: 0 when requeued (the stop is not a failure), else <status>.
invrg_requeue() { # <status> <output>
  local status=$1 ckpt=${2:-<output>}.ckpt count=${SLURM_RESTART_COUNT:-0}
  local max=${INVRG_MAX_REQUEUES:-10} again="submit the same job again to continue from $ckpt"
  if [ "$status" -ne 3 ] || [ -n "${INVRG_CHAIN_DIR:-}" ] || [ -z "${SLURM_JOB_ID:-}" ]; then
    return "$status"
  fi
  if ! [[ $max =~ ^[0-9]+$ ]]; then
    echo "invrg job: INVRG_MAX_REQUEUES='$max' is not a count: not requeued; $again" >&2
  elif [ "${invrg_signal:-}" = TERM ]; then
    echo "== invrg job: stopped by SIGTERM (scancel, or the time limit without the --signal lead):" \
      "not requeued; $again"
  elif [ "$max" -eq 0 ]; then
    echo "== invrg job: requeueing is off (INVRG_MAX_REQUEUES=0): the run is unfinished; $again"
  elif [ "$count" -ge "$max" ]; then
    echo "== invrg job: requeue limit reached: the job was requeued $count times" \
      "(INVRG_MAX_REQUEUES=$max); the run is unfinished, exit status 3; $again"
  else
    echo "== invrg job: requeueing job $SLURM_JOB_ID (requeue $((count + 1)) of at most $max):" \
      "it waits in the queue again and continues from $ckpt"
    # SLURM now ends this run's processes (SIGTERM): nothing is left to pass on.
    trap '' USR1 TERM
    if scontrol requeue "$SLURM_JOB_ID"; then return 0; fi
    echo "invrg job: scontrol requeue failed (requeueing disabled for this job or site?):" \
      "exit status 3; $again, or use jobs/restart_chain.sh" >&2
  fi
  return 3
}

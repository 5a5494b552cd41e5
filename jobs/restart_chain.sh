#!/bin/bash
# Runs invrg as a chain of SLURM jobs until the run is complete: the alternative to run.sbatch's
# own requeueing (the default, see jobs/README.md) for sites that let compute nodes submit jobs
# and prefer a new job per segment (a fresh job id, log and accounting record each; no
# --requeue needed).
#
#   jobs/restart_chain.sh [chain options] [sbatch options] INPUT.nml
#   jobs/restart_chain.sh --max-jobs 20 --nodes=2 --ntasks-per-node=128 -t 24:00:00 runs/paper.nml
#   jobs/restart_chain.sh --status INPUT.nml
#
# Chain options (long names only, so they never clash with sbatch's):
#   --max-jobs N         at most N jobs in the chain (default 10)
#   --follow             stay, print each job's end, exit with the chain's final status
#   --follow-timeout S   give up following after S seconds (exit 4; the chain goes on)
#   --poll S             seconds between looks at the chain when following (default 30)
#   --chain-dir DIR      the chain's state (default: INPUT without .nml, plus .chain)
#   --script FILE        the batch script (default jobs/run.sbatch)
#   --status             print the chain's state and exit
#   --attach             follow a chain that is already running (as --follow does)
#   --stop               end the chain: cancel its job (invrg checkpoints on SIGTERM) and
#                        submit no further job
# Every other argument before INPUT goes to sbatch (do not pass --export: the chain's
# settings travel in the environment). The site profile (INVRG_SITE) is sourced before the
# first submission, so its SBATCH_* variables apply.
#
# How it works (no accounting database needed, sacct is not used): restart_chain.sh submits
# run.sbatch with INVRG_CHAIN_DIR, INVRG_CHAIN_SEGMENT and INVRG_CHAIN_MAX in the environment.
# At its end, run.sbatch calls `restart_chain.sh --job-ended STATUS`, which appends
# "segment jobid status date host" to DIR/history and, if invrg stopped after writing a
# checkpoint (status 3) and fewer than N jobs ran, submits the next job with the same sbatch
# options and --dependency=afterany:<this job>; otherwise it writes the chain's final status to
# DIR/final. invrg, run again on the same input, continues from <output>.ckpt. Compute nodes
# must be allowed to run sbatch, and DIR must be on a file system they share. The jobs of a
# chain never requeue themselves; one whose successor was submitted exits 0, the last one with
# the run's status (3 if the chain ended with the run unfinished).
#
# Exit status: 0 submitted (or, with --follow/--attach, the run completed); 1 sbatch failed,
# or (--follow) a job failed at run time or vanished without recording its end (killed at the
# time limit, scancel -s KILL, node failure); 2 usage or input error; 3 (--follow) the chain
# stopped with the run unfinished (--max-jobs reached, or --stop); 4 --follow-timeout reached.
set -uo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
INVRG_JOBS_DIR=$here
export INVRG_JOBS_DIR
# shellcheck source=jobs/lib.sh
source "$here/lib.sh"

say() { echo "restart chain: $*"; }

# Submits job <segment> of the chain in $dir, with extra sbatch arguments; appends to DIR/jobs.
submit() {
  local seg=$1 out id
  shift
  # shellcheck disable=SC1091
  source "$dir/submit.sh" || return 1 # script, input, workdir, max, sbatch_args
  out=$(
    # A job submitting its successor: drop this job's SLURM_* variables (not SLURM_CONF).
    for v in $(compgen -e); do
      case $v in SLURM_CONF) ;; SLURM_*) unset "$v" ;; esac
    done
    cd -- "$workdir" &&
      INVRG_CHAIN_DIR=$dir INVRG_CHAIN_SEGMENT=$seg INVRG_CHAIN_MAX=$max \
        sbatch --parsable "${sbatch_args[@]}" "$@" "$script" "$input"
  ) || { say "sbatch failed for job $seg"; return 1; }
  id=${out%%;*}
  echo "$seg $id" >>"$dir/jobs"
  say "submitted job $seg of at most $max: $id"
}

finish_chain() { # <status> <reason>
  echo "$1 $2" >"$dir/final"
  say "chain over: status $1 ($2)"
}

# Called by run.sbatch inside a job of the chain. Returns the status the job exits with: 0 when
# the next job was submitted (a checkpoint stop that will be continued is not a failure), else
# the run's status (3 when the chain ends with the run unfinished).
job_ended() {
  local status=$1 seg=${INVRG_CHAIN_SEGMENT:?} max=${INVRG_CHAIN_MAX:?}
  dir=${INVRG_CHAIN_DIR:?}
  echo "$seg ${SLURM_JOB_ID:-?} $status $(date -Is) $(hostname)" >>"$dir/history"
  if [ -f "$dir/stop" ]; then
    finish_chain "$status" "$(invrg_status_text "$status"); stopped by restart_chain.sh --stop"
  elif [ "$status" -eq 3 ] && [ "$seg" -lt "$max" ]; then
    if submit $((seg + 1)) "--dependency=afterany:${SLURM_JOB_ID:-0}"; then return 0; fi
    finish_chain 1 "could not submit job $((seg + 1)); run restart_chain.sh again to continue"
  elif [ "$status" -eq 3 ]; then
    finish_chain 3 "checkpointed after $max jobs; run restart_chain.sh again to continue"
  else
    finish_chain "$status" "$(invrg_status_text "$status")"
  fi
  return "$status"
}


show_status() {
  [ -d "$dir" ] || invrg_die 2 "no chain at $dir"
  echo "chain $dir"
  [ -f "$dir/history" ] && sed 's/^/  ended: /' "$dir/history"
  [ -f "$dir/jobs" ] && sed 's/^/  submitted: /' "$dir/jobs"
  if [ -f "$dir/final" ]; then echo "  final: $(cat "$dir/final")"; else echo "  running"; fi
}

# Prints the chain's progress until it ends; returns its final status.
follow() {
  local printed=$1 misses=0 start=$SECONDS last n line
  while :; do
    n=$(wc -l <"$dir/history" 2>/dev/null || echo 0)
    if [ "$n" -gt "$printed" ]; then
      tail -n +"$((printed + 1))" "$dir/history" | head -n "$((n - printed))" | while read -r line; do
        # shellcheck disable=SC2086
        case $line in "#"*) ;; *) set -- $line; say "job $1 ($2) ended with status $3 ($(invrg_status_text "$3"))" ;; esac
      done
      printed=$n
    fi
    if [ -f "$dir/final" ]; then
      read -r n line <"$dir/final"
      return "$n"
    fi
    last=$(tail -n 1 "$dir/jobs" | cut -d' ' -f2)
    invrg_job_alive "$last"
    case $? in
      0) misses=0 ;;
      1) misses=$((misses + 1)) ;;
    esac
    if [ "$misses" -ge 3 ]; then
      say "job $last ended without recording its status (time limit, scancel, node failure?):" \
        "see its log; running restart_chain.sh again continues from the last checkpoint"
      return 1
    fi
    if [ -n "$follow_timeout" ] && [ $((SECONDS - start)) -ge "$follow_timeout" ]; then
      say "stopped following after $follow_timeout s; the chain goes on (--status to look)"
      return 4
    fi
    sleep "$poll"
  done
}

max=10 follow=0 follow_timeout="" poll=30 dir="" script=$here/run.sbatch action=submit
sbatch_args=()
[ $# -ge 1 ] || invrg_die 2 "usage: restart_chain.sh [chain options] [sbatch options] INPUT.nml"
if [ "$1" = --job-ended ]; then
  [ $# -eq 2 ] || invrg_die 2 "usage: restart_chain.sh --job-ended STATUS (from run.sbatch)"
  job_ended "$2"
  exit $?
fi
while [ $# -gt 1 ]; do
  case $1 in
    --max-jobs) max=$2; shift ;;
    --follow) follow=1 ;;
    --follow-timeout) follow_timeout=$2; shift ;;
    --poll) poll=$2; shift ;;
    --chain-dir) dir=$2; shift ;;
    --script) script=$2; shift ;;
    --status) action=status ;;
    --stop) action=stop ;;
    --attach) action=attach ;;
    *) sbatch_args+=("$1") ;;
  esac
  shift
done
input=${1:-}
if [ $# -ne 1 ] || [ -z "$input" ]; then invrg_die 2 "no input file given (the last argument)"; fi
[[ $max =~ ^[1-9][0-9]*$ ]] || invrg_die 2 "--max-jobs wants a positive integer, got '$max'"
[[ $poll =~ ^[0-9]+$ ]] || invrg_die 2 "--poll wants seconds, got '$poll'"
[[ $follow_timeout =~ ^[0-9]*$ ]] || invrg_die 2 "--follow-timeout wants seconds"
: "${dir:=${input%.nml}.chain}"
mkdir -p -- "$(dirname -- "$dir")" && dir=$(cd -- "$(dirname -- "$dir")" && pwd)/$(basename -- "$dir")

case $action in
  status)
    show_status
    exit 0 ;;
  attach)
    [ -f "$dir/jobs" ] || invrg_die 2 "no chain at $dir"
    follow "$(grep -n '^#' "$dir/history" | tail -n 1 | cut -d: -f1)"
    exit $? ;;
  stop)
    [ -f "$dir/jobs" ] || invrg_die 2 "no chain at $dir"
    touch "$dir/stop"
    last=$(tail -n 1 "$dir/jobs" | cut -d' ' -f2)
    if [ -f "$dir/final" ]; then say "the chain in $dir is already over: $(cat "$dir/final")"; exit 0; fi
    say "stopping the chain in $dir: no further job; cancelling job $last"
    scancel "$last"
    exit $? ;;
esac
[ -f "$input" ] || invrg_die 2 "no input file '$input'"
[ -f "$script" ] || invrg_die 2 "no batch script '$script'"
input=$(realpath -- "$input") script=$(realpath -- "$script")

# One chain per directory: refuse while the last job of an unfinished chain is still queued.
if [ -f "$dir/jobs" ] && [ ! -f "$dir/final" ]; then
  last=$(tail -n 1 "$dir/jobs" | cut -d' ' -f2)
  if invrg_job_alive "$last"; then
    invrg_die 2 "a chain is running in $dir (job $last); --status shows it, scancel $last stops it"
  fi
  say "the chain in $dir ended without a final status (job $last); starting a new one"
fi
invrg_load_site # the profile's SBATCH_PARTITION, SBATCH_ACCOUNT, ... apply to sbatch
mkdir -p -- "$dir" || invrg_die 1 "cannot create $dir"
rm -f -- "$dir/jobs" "$dir/final" "$dir/stop"
workdir=$PWD
declare -p script input workdir max sbatch_args >"$dir/submit.sh"
echo "# chain started $(date -Is): $input, at most $max jobs" >>"$dir/history"
seen=$(wc -l <"$dir/history")
submit 1 || exit 1
[ "$follow" = 1 ] || exit 0
follow "$seen"

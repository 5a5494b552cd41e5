# Site profile: generic SLURM cluster (the default; INVRG_SITE=generic).
# shellcheck shell=bash
# Sourced by run.sbatch, ensemble.sbatch and restart_chain.sh's jobs before invrg runs; see
# jobs/site/README.md. Set a variable only if it is not already set, so that the environment
# of a submission (INVRG=... sbatch ...) wins over the profile.

# Software environment (uncomment what your cluster needs):
# module purge
# module load gcc/12 openmpi/4.1 hdf5/1.14-mpi fftw/3.3-mpi

# The invrg binary (default: build/invrg of the checkout that holds this jobs/ directory, or
# P/bin/invrg when jobs/ was installed as P/share/invrg/jobs).
# : "${INVRG:=$HOME/invrg/build/invrg}"

# How to start the MPI ranks; evaluated in the job, so $SLURM_NTASKS may appear in it.
# srun needs Open MPI (or MPICH) built with SLURM's PMIx or PMI-2 support; otherwise use mpirun,
# which inside a SLURM job finds the allocation by itself.
: "${INVRG_LAUNCH:=srun}"
# : "${INVRG_LAUNCH:=srun --mpi=pmix}"
# : "${INVRG_LAUNCH:=mpirun -n \$SLURM_NTASKS}"

# Python 3 for jobs/nml.py (reads &run output, writes the ensemble's inputs).
# : "${INVRG_PYTHON:=/usr/bin/python3}"

# Requeues after checkpoint stops, at most (default 10; 0: none, the job ends with status 3).
# : "${INVRG_MAX_REQUEUES:=20}"

# Threads: the job scripts export OMP_NUM_THREADS=1 before this profile (invrg is MPI only, one
# rank per core with --cpus-per-task=1 and --hint=nomultithread); change it here only for a
# threaded library that needs it. Job size (--nodes, --ntasks-per-node) is given to sbatch.

# Partition and account: sbatch reads SBATCH_* variables in the shell that submits;
# restart_chain.sh sources this profile before it submits (for a plain sbatch, source it first
# or give -p/-A).
# : "${SBATCH_PARTITION:=compute}"; export SBATCH_PARTITION
# : "${SBATCH_ACCOUNT:=myproject}"; export SBATCH_ACCOUNT

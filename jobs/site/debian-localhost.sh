# Site profile: one machine with Debian 12's packages (slurm-wlm 22.05, Open MPI 4.1), as in
# shellcheck shell=bash
# tests/slurm/test_slurm.sh. Debian's Open MPI starts under srun only through PMIx (srun's
# default plugin, and --mpi=pmi2, fail in MPI_Init); mpirun works too.

: "${INVRG_LAUNCH:=srun --mpi=pmix}"
: "${INVRG_PYTHON:=/usr/bin/python3}"

# Open MPI refuses to run as root and to oversubscribe unless told (as tools/env.sh does).
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-1}
export OMPI_MCA_hwloc_base_binding_policy=${OMPI_MCA_hwloc_base_binding_policy:-none}
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}

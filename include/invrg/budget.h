/**
 * @file budget.h
 * What a run will need, estimated before any work: memory per rank, the size of the run file
 * and the integer ranges of its accumulators and datasets. A run that cannot fit is refused up
 * front with an input error on the key that causes it and the amount needed, instead of
 * failing hours later.
 *
 * - *Memory* per rank: the lattices and work arrays of the stage (bytes per spin of the
 *   largest lattice a rank holds, measured: dreams 1.34 with their levels, correlations 8 –
 *   10, Swendsen–Wang 14, Wolff 6), the accumulators (MCRG records per level and jackknife
 *   block, correlation records per block and size) and per-item tables that remain (stage mc
 *   keeps a record per chain); compared with 90 % of the physical memory of this machine
 *   divided among the ranks that run on it (without MPI, `--check --ranks N`: N ranks, at
 *   most one per core of this machine).
 * - *Disk*: saved configurations (1 byte per spin, or 1/8 packed), Monte Carlo series, and the
 *   checkpoint copies of the run file when checkpoints are configured, against the free space
 *   of the output's directory, with a margin of 5 % + 64 MiB. Reported once, by the stage that
 *   writes the most, on its key.
 * - *Ranges*: MCRG sums stay exact while samples · 16 N^2 < 2^94 (mcrg.h); datasets hold fewer
 *   than 2^62 bytes.
 *
 * Each is called from a stage's check() (collective on the world when MPI runs; the same
 * answer on every rank).
 */
#ifndef INVRG_BUDGET_H
#define INVRG_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/stage.h"

/**
 * Stage dream: memory of its levels (@p conv, @p kernel: the model, whose logits need whole
 * lattices when it has no window table), accumulators and windows; its saved configurations
 * against the disk; MCRG and dataset ranges.
 */
invrg_err invrg_budget_check_dream(const invrg_run *run, bool conv, int kernel);

/** Stage mc: memory per chain and size, per-chain tables; saved configurations and series. */
invrg_err invrg_budget_check_mc(const invrg_run *run);

/**
 * Stage train: memory of the @p n_configs training configurations of @p L × L (every rank
 * holds them) and of the replicas' table (parameters, loss curves and Adam moments of every
 * replica; on every rank). Not collective.
 */
invrg_err invrg_budget_check_train(const invrg_run *run, int64_t n_configs, int64_t L);

/** Bytes the run file will take (all stages of &run stages, roughly), without checkpoints. */
double invrg_budget_file_bytes(const invrg_config *cfg);

#endif

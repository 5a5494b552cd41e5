/* The lattices of one dream and the steps between them (dream_levels.h): int8 levels stepped
 * by dream.h, or packed levels stepped by dream_packed.h and refined by Monte Carlo sweeps (an
 * int8 level 0 only: the seed spin, and the blocking of level 1); Swendsen–Wang sweeps of the
 * top level where asked (dream_top_sw.h). */
#include "invrg/dream_levels.h"

#include "invrg/compatible.h"
#include "invrg/multispin.h"
#include "invrg/packed_blockspin.h"
#include "invrg/stage_setup.h"

/* Packed levels are split by rows once every rank of the group gets at least two rows. */
static bool splits_by_rows(const invrg_groups *g, int64_t L) {
  const int P = g->ranks_per_group;
  return P > 1 && L % P == 0 && L / P >= 2;
}

static invrg_err create_works(invrg_dream_levels *d) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t top_lc = (int64_t)1 << (d->levels - 1);
  const int64_t small_lc = d->n_small > 0 ? (int64_t)1 << (d->n_small - 1) : 0;
  if (d->packed) {
    INVRG_CALL(invrg_dream_packed_work_create(d->m, top_lc, d->planes, &d->pw));
    if (d->m_small != NULL) /* sym3 or conv k = 3: both draw planes too */
      INVRG_CALL(invrg_dream_packed_work_create(d->m_small, small_lc, d->planes, &d->pw_small));
  } else {
    INVRG_CALL(invrg_dream_work_create(d->m, (int)top_lc, &d->w));
    if (d->m_small != NULL)
      INVRG_CALL(invrg_dream_work_create(d->m_small, (int)small_lc, &d->w_small));
  }
cleanup:
  return err;
}

invrg_err invrg_dream_levels_create(const invrg_groups *g, int levels, int halo, bool packed,
                                    bool planes, const invrg_model *m,
                                    const invrg_model *m_small, int n_small,
                                    invrg_dream_levels *d) {
  invrg_err err = INVRG_SUCCESS;
  *d = (invrg_dream_levels){.packed = packed, .planes = planes, .levels = levels, .m = m,
                            .m_small = m_small,
                            .n_small = m_small != NULL ? n_small : 0};
  INVRG_CALL(create_works(d));
  for (int level = 0; level <= levels; level++) {
    const int64_t L = (int64_t)1 << level;
    if (!packed || level == 0)
      INVRG_CALL(invrg_stage_lattice_create(g, L, halo, &d->lat[level]));
    if (packed && level >= 1)
      INVRG_CALL(invrg_packed_create(splits_by_rows(g, L) ? g->cart : MPI_COMM_SELF, L, L,
                                     &d->plat[level]));
  }
cleanup:
  return err;
}

void invrg_dream_levels_destroy(invrg_dream_levels *d) {
  for (int l = INVRG_MAX_LEVELS; l >= 0; l--) {
    invrg_packed_destroy(&d->blocks[l]);
    invrg_packed_destroy(&d->plat[l]);
    invrg_lattice_destroy(&d->lat[l]);
  }
  invrg_dream_work_destroy(&d->w);
  invrg_dream_work_destroy(&d->w_small);
  invrg_dream_packed_work_destroy(&d->pw);
  invrg_dream_packed_work_destroy(&d->pw_small);
  invrg_dream_top_sw_destroy(&d->top_sw);
  invrg_dream_batch_destroy(&d->batch);
}

void invrg_dream_levels_set_refine(invrg_dream_levels *d, const invrg_dream_refine *refine) {
  d->refine = *refine;
}

invrg_err invrg_dream_levels_set_top_sw(invrg_dream_levels *d, const invrg_groups *g, int sweeps,
                                        double K, uint64_t seed) {
  invrg_dream_top_sw_destroy(&d->top_sw);
  if (sweeps <= 0) return INVRG_SUCCESS;
  return invrg_dream_top_sw_create(g, d->packed ? NULL : d->lat[d->levels], d->plat[d->levels],
                                   sweeps, K, seed, &d->top_sw);
}

/* Compatible sweeps of a fresh level given its own block spins (levels from 4 x 4: packed
 * blockings need sides that are multiples of 4). */
static invrg_err refine_compatible(invrg_dream_levels *d, int level, uint64_t seed,
                                   uint64_t sample) {
  invrg_err err = INVRG_SUCCESS;
  if (level < 2) goto cleanup;
  if (d->blocks[level] == NULL)
    INVRG_CALL(invrg_packed_blockspin_create_coarse(d->plat[level], &d->blocks[level]));
  const invrg_blockspin_ties ties = {INVRG_TIE_RANDOM, seed, sample, 128 + (uint64_t)level};
  INVRG_CALL(invrg_packed_blockspin_apply(d->plat[level], &ties, d->blocks[level], NULL));
  const invrg_mc_chain chain = {d->refine.K, seed, sample, INVRG_RNG_REFINE, INVRG_RNG_PHILOX};
  for (int s = 0; s < d->refine.compatible; s++)
    /* the sweep uses steps 4·step + position: level·2^24 + 2^23 + 4s + position, apart from
     * the plain sweeps' level·2^24 + s (s < 2^21 and 2^23: the keys' limits) */
    INVRG_CALL(invrg_compatible_sweep(d->plat[level], d->blocks[level], &chain,
                                      (uint64_t)level << 22 | UINT64_C(1) << 21 | (uint64_t)s));
cleanup:
  return err;
}

/* The sweeps of a level: the top level's own, or those of the levels below. */
static int sweeps_of(const invrg_dream_levels *d, int level) {
  return level == d->levels ? d->refine.top_sweeps : d->refine.sweeps;
}

/* True if level @p level is refined after its step. */
static bool refined(const invrg_dream_levels *d, int level) {
  return d->packed && (sweeps_of(d, level) > 0 || d->refine.compatible > 0) &&
         level >= d->refine.from;
}

/* The refinement of a fresh level: sweeps at K with streams of their own (rng.h: REFINE). */
static invrg_err refine_level(invrg_dream_levels *d, int level, uint64_t seed, uint64_t sample) {
  invrg_err err = INVRG_SUCCESS;
  if (d->refine.compatible > 0) INVRG_CALL(refine_compatible(d, level, seed, sample));
  const invrg_mc_chain chain = {d->refine.K, seed, sample, INVRG_RNG_REFINE,
                                d->refine.generator};
  const int sweeps = sweeps_of(d, level);
  const bool heatbath = level == d->levels ? d->refine.top_heatbath : d->refine.heatbath;
  for (int s = 0; s < sweeps; s++)
    INVRG_CALL(invrg_multispin_sweep(d->plat[level], &chain, (uint64_t)level << 24 | (uint64_t)s,
                                     heatbath, NULL));
cleanup:
  return err;
}

static invrg_err step_packed(invrg_dream_levels *d, int level, int8_t seed_spin, uint64_t seed,
                             uint64_t sample) {
  invrg_err err = INVRG_SUCCESS;
  const bool small = level <= d->n_small; /* small_kernel_start = 'paper' */
  const invrg_model *m = small ? d->m_small : d->m;
  invrg_dream_packed_work *w = small ? d->pw_small : d->pw;
  if (level == 1)
    INVRG_CALL(invrg_dream_packed_first_step(m, seed_spin, d->plat[1], seed, sample, w));
  else
    INVRG_CALL(invrg_dream_packed_step(m, d->plat[level - 1], d->plat[level], seed, sample,
                                       level, w));
  INVRG_CALL(invrg_packed_halo_exchange(d->plat[level]));
  if (refined(d, level)) INVRG_CALL(refine_level(d, level, seed, sample));
cleanup:
  return err;
}

invrg_err invrg_dream_levels_enable_batches(invrg_dream_levels *d, int *levels) {
  invrg_err err = INVRG_SUCCESS;
  invrg_dream_batch_destroy(&d->batch);
  *levels = 0;
  const bool models = invrg_dream_batch_supports(d->m) &&
                      (d->n_small == 0 || invrg_dream_batch_supports(d->m_small));
  if (!d->packed || !models) goto cleanup;
  int top = 0; /* the batch's levels: none refined (a refined level feeds the next) */
  while (top < INVRG_DREAM_BATCH_MAX_LEVELS && top < d->levels && !refined(d, top + 1)) top++;
  if (top == 0) goto cleanup;
  INVRG_CALL(invrg_dream_batch_create(d->m, d->m_small, d->n_small, top, &d->batch));
  *levels = top;
cleanup:
  return err;
}

void invrg_dream_levels_run_batch(invrg_dream_levels *d, invrg_dream_start start, uint64_t seed,
                                  const uint64_t *samples, int n, uint64_t *ticks) {
  if (d->batch != NULL) invrg_dream_batch_run(d->batch, start, seed, samples, n, ticks);
}

/* The step into level @p level from the batch: the dream's lane copied into this rank's rows. */
static invrg_err copy_from_batch(invrg_dream_levels *d, int level, uint64_t sample) {
  invrg_err err = INVRG_SUCCESS;
  const int lane = invrg_dream_batch_lane(d->batch, sample);
  INVRG_CHECK(lane >= 0, INVRG_ERR_RUNTIME, "dream %llu is not in the batch of its first levels",
              (unsigned long long)sample);
  invrg_dream_batch_to_packed(d->batch, lane, level, d->plat[level]);
  INVRG_CALL(invrg_packed_halo_exchange(d->plat[level]));
cleanup:
  return err;
}

/* The step into level @p level and its refinement. */
static invrg_err step_level(invrg_dream_levels *d, int level, int8_t seed_spin, uint64_t seed,
                            uint64_t sample) {
  invrg_err err = INVRG_SUCCESS;
  invrg_lattice **lat = d->lat;
  if (level == 1) { /* level 0 holds the seed in both kinds (the first MCRG pair reads it; the
                     * int8 step its halo too) */
    lat[0]->data[invrg_lattice_index(lat[0], 0, 0)] = seed_spin;
    if (!d->packed) INVRG_CALL(invrg_lattice_halo_exchange(lat[0]));
  }
  if (d->batch != NULL && level <= invrg_dream_batch_levels(d->batch)) {
    INVRG_CALL(copy_from_batch(d, level, sample));
    goto cleanup;
  }
  if (d->packed) {
    INVRG_CALL(step_packed(d, level, seed_spin, seed, sample));
    goto cleanup;
  }
  const bool small = level <= d->n_small;
  INVRG_CALL(invrg_dream_step_lattice(small ? d->m_small : d->m, lat[level - 1], lat[level], seed,
                                      sample, level, small ? d->w_small : d->w));
  INVRG_CALL(invrg_lattice_halo_exchange(lat[level]));
cleanup:
  return err;
}

invrg_err invrg_dream_levels_step(invrg_dream_levels *d, int level, int8_t seed_spin,
                                  uint64_t seed, uint64_t sample) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(step_level(d, level, seed_spin, seed, sample));
  if (level == d->levels && d->top_sw != NULL)
    INVRG_CALL(invrg_dream_top_sw_apply(d->top_sw, sample));
cleanup:
  return err;
}

int64_t invrg_dream_levels_top_spins(const invrg_dream_levels *d) {
  if (d->packed) return (int64_t)d->plat[d->levels]->ny * d->plat[d->levels]->lx;
  return (int64_t)d->lat[d->levels]->nx * d->lat[d->levels]->ny;
}

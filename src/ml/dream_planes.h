/* Private to the dream module: packed sym3 steps with random bit planes (dream_planes.c; the
 * contract in invrg/dream_packed.h). */
#ifndef INVRG_DREAM_PLANES_H
#define INVRG_DREAM_PLANES_H

#include <stdint.h>

#include <stdbool.h>

#include "invrg/error.h"
#include "invrg/packed.h"
#include "invrg/rng.h"

typedef struct invrg_dream_planes_work invrg_dream_planes_work;

/* Scratch space for coarse rows of up to @p max_lc sites. */
invrg_err invrg_dream_planes_work_create(int64_t max_lc, invrg_dream_planes_work **out);
void invrg_dream_planes_work_destroy(invrg_dream_planes_work **w);

/* bits[j][k]: all ones if bit 31 − j of threshold k is set, else 0. */
void invrg_dream_planes_thresholds(const uint32_t T12[12], uint32_t bits[32][12]);

/* The coarse lattice of a step: packed (whole on this rank, or split by rows with its halo
 * rows valid), or the 1 × 1 seed spin. */
typedef struct {
  const invrg_packed *packed; /* NULL: the seed */
  bool whole;                 /* packed is whole on this rank */
  int8_t spin;                /* the seed */
  int64_t lc;                 /* side */
} invrg_dream_coarse;

/*
 * Every interior row of @p fine (side 2lc; a rank's rows whole pairs, the children of coarse
 * rows it can read: its own and halo rows, or any of a whole lattice) from @p c, drawn with the
 * stream @p s (dream_packed.h's random bit planes) and sym3's thresholds @p T12.
 */
void invrg_dream_planes_step(invrg_dream_planes_work *w, const invrg_rng_stream *s,
                             const uint32_t T12[12], const invrg_dream_coarse *c,
                             invrg_packed *fine);

#endif

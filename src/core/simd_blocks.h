/* The arguments the block generators of the SIMD layer share (invrg_simd_philox(),
 * invrg_simd_ars()): which counters, and where each block's four words go. Private to
 * src/core. */
#ifndef INVRG_SIMD_BLOCKS_H
#define INVRG_SIMD_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "invrg/error.h"

/* What every level computes (the arguments of invrg_simd_philox() and invrg_simd_ars()). */
typedef struct {
  uint32_t k0, k1, c2, c3;
  uint64_t first;
  const uint64_t *sites;
  int n;
  uint32_t *out;
  size_t stride;
  int tile;
} blocks_job;

/* The job of n blocks (n > 0) of the generators' common arguments. */
static inline blocks_job blocks_job_make(const uint32_t key[2], const uint32_t ctr_hi[2],
                                         uint64_t first, const uint64_t *sites, int n,
                                         uint32_t *out, size_t stride, int tile) {
  /* Whole vectors never straddle a tile: one tile, or tiles of whole vectors. */
  INVRG_ASSERT(tile == n || (tile > 0 && tile % 16 == 0));
  INVRG_ASSERT((size_t)(tile < n ? tile : n) <= stride);
  return (blocks_job){.k0 = key[0], .k1 = key[1], .c2 = ctr_hi[0], .c3 = ctr_hi[1],
                      .first = first, .sites = sites, .n = n, .out = out, .stride = stride,
                      .tile = tile};
}

/* Where word 0 of block i goes; word k is k·stride further. */
static inline uint32_t *dest(const blocks_job *j, int i) {
  return j->out + (size_t)(i / j->tile) * 4 * j->stride + (size_t)(i % j->tile);
}

/* Word 0 of the first block of the vectors of `width` blocks from block i on: one division per
 * batch, not per vector (whole vectors never straddle a tile). */
typedef struct {
  uint32_t *tile_start;
  int at, width;
} dest_walk;

static inline dest_walk dest_walk_start(const blocks_job *j, int i, int width) {
  return (dest_walk){j->out + (size_t)(i / j->tile) * 4 * j->stride, i % j->tile, width};
}

static inline uint32_t *dest_walk_next(const blocks_job *j, dest_walk *d) {
  uint32_t *o = d->tile_start + d->at;
  d->at += d->width;
  if (d->at == j->tile && j->tile < j->n) d->tile_start += 4 * j->stride, d->at = 0;
  return o;
}

static inline uint64_t counter(const blocks_job *j, int i) {
  return j->sites != NULL ? j->sites[i] : j->first + (uint64_t)i;
}

#endif

/* Private to the MCRG module (mcrg.c, mcrg_analysis.c): the accumulator's
 * layout and its exact integers. */
#ifndef INVRG_MCRG_INTERNAL_H
#define INVRG_MCRG_INTERNAL_H

#include <stdint.h>

#include "invrg/mcrg.h"

/*
 * An exact integer v = hi·2^32 + lo kept as two int64 (hi, lo) with
 * 0 ≤ lo < 2^32 after normalisation: adding 2^62-sized products never
 * overflows, and sums of such pairs (over samples, blocks, groups) stay exact
 * up to |v| < 2^95.
 */
static inline void exact_normalise(int64_t *x) {
  /* floor division of lo by 2^32, carried into hi (valid for negative lo too) */
  int64_t carry = x[1] >= 0 ? x[1] / 4294967296 : -((-x[1] + 4294967295) / 4294967296);
  x[0] += carry;
  x[1] -= carry * 4294967296;
}

/* x += v for |v| < 2^63. */
static inline void exact_add(int64_t *x, int64_t v) {
  int64_t lo = (int64_t)((uint64_t)v & UINT64_C(0xffffffff)); /* v mod 2^32 */
  x[0] += (v - lo) / 4294967296;                              /* exact division */
  x[1] += lo;
  if (x[1] >= 4294967296) x[0] += 1, x[1] -= 4294967296;
}

/* 128-bit products of two sums (each up to ~2^43 for L = 2^20): a GCC/Clang type. */
__extension__ typedef __int128 exact_wide;

/* x += a·b for |a·b| < 2^94: the product split as hi·2^32 + lo, then added like exact_add. */
static inline void exact_add_product(int64_t *x, int64_t a, int64_t b) {
  const exact_wide p = (exact_wide)a * b;
  const int64_t lo = (int64_t)(p & 0xffffffff); /* p mod 2^32 */
  x[0] += (int64_t)((p - lo) / 4294967296);       /* exact division */
  x[1] += lo;
  if (x[1] >= 4294967296) x[0] += 1, x[1] -= 4294967296;
}

static inline double exact_to_double(const int64_t *x) {
  return (double)x[0] * 4294967296.0 + (double)x[1];
}

/*
 * Per (level, block) record of int64: a header, then exact pairs for
 * Σ S^c [n], Σ S^f [n], Σ S^c S^c [n][n], Σ S^c S^f [n][n] (row = coarse operator).
 */
enum {
  REC_SAMPLES = 0, /* samples added */
  REC_TIE_SAMPLES, /* samples whose ties were known */
  REC_TIES,        /* tied blocks of those */
  REC_TIE_SITES,   /* coarse sites of those */
  REC_HEADER
};

struct invrg_mcrg {
  const invrg_groups *g;
  invrg_mcrg_params p;
  invrg_operator_set *set[INVRG_MCRG_MAX_SETS];
  int set_first[INVRG_MCRG_MAX_SETS]; /* index of each set's first operator in ops */
  int n_ops;
  invrg_operator *ops;                               /* all sets' operators, concatenated */
  size_t record_len;                                 /* int64 per record */
  int64_t *acc;                                      /* [level − 1][block][record_len] */
  int64_t coarse_size[INVRG_MCRG_MAX_LEVELS + 1][2]; /* lx, ly of each level's coarse lattice */
  bool reduced;
  /* Pairs not yet in acc: plain int64 sums of one block per level, laid out like a record but
   * one int64 per value (header, Σ S^c [n], Σ S^f [n], Σ S^c S^c [n][n], Σ S^c S^f [n][n]),
   * moved into acc when the block changes, before a value could pass 2^62, and before the
   * sums are read (mcrg.c: flush_pending). Small lattices add a pair in a few plain products. */
  int64_t *pending;                             /* [level − 1][pending_len] */
  size_t pending_len;
  int pending_block[INVRG_MCRG_MAX_LEVELS + 1]; /* block of level's pending sums, −1: none */
  int64_t pending_bound[INVRG_MCRG_MAX_LEVELS + 1]; /* ≥ |every pending value| */
  bool products_dq; /* the pending products by AVX-512 DQ (level avx512 on a CPU with DQ) */
  bool products_avx2; /* a run's products by AVX2 (level avx2, or avx512 without DQ) */
  /* Workspace: halo-2 copies of the blocking chain and of explicit pairs, sums. */
  invrg_lattice *chain[INVRG_MCRG_MAX_LEVELS + 1];
  invrg_lattice *pair[2];
  int64_t *sums; /* [n_levels + 1][n_ops] */
};

/* Offsets inside a record (in int64). */
static inline size_t rec_coarse(const invrg_mcrg *m) {
  (void)m;
  return REC_HEADER;
}
static inline size_t rec_fine(const invrg_mcrg *m) { return REC_HEADER + 2 * (size_t)m->n_ops; }
static inline size_t rec_cc(const invrg_mcrg *m) { return REC_HEADER + 4 * (size_t)m->n_ops; }
static inline size_t rec_cf(const invrg_mcrg *m) {
  return REC_HEADER + 4 * (size_t)m->n_ops + 2 * (size_t)m->n_ops * (size_t)m->n_ops;
}

static inline int64_t *mcrg_record(const invrg_mcrg *m, int level, int block) {
  return m->acc + ((size_t)(level - 1) * (size_t)m->p.n_blocks + (size_t)block) * m->record_len;
}

#endif

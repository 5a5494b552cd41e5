/* Private to the window-table kernel of the random bit planes (dream_planes_table.c, and its
 * x86 vector twins in dream_planes_table_x86.c): the thresholds as the kernel reads them. */
#ifndef INVRG_DREAM_PLANES_TABLE_H
#define INVRG_DREAM_PLANES_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ml/dream_planes.h"

/*
 * The patterns of recent vertex rows and their entries, for the AVX2 and AVX-512 gathers. A
 * child (α, β) of coarse site (X, Y) sees the window whose corner is that of child (0, 0) of the
 * "vertex" (X + dcol[β], Y + drow[α]) (d = lo[·] − lo[0]: 0 or 1), so the four children of a
 * vertex read one pattern, and one gathered entry serves all of them. Row V of the vertices is
 * kept in slot V mod S (S: the largest power of two ≤ len / (64·(W + 1))), element X at
 * 64·(W + 1)·slot + X (W: words of a colour row); whatever a slot held before, entry[e] = the
 * table's entry of pattern[e] always (the cache starts as pattern 0 everywhere), so a word
 * compares its patterns with those kept where its vertices would be and gathers only the
 * quarters that differ: the same bytes either way.
 */
typedef struct {
  uint16_t *pattern;
  uint32_t *entry;
  size_t len;       /* elements */
  uint64_t *counts; /* lookups of a gather's sites (16 with AVX-512, 8 with AVX2), and of them
                     * the gathered ones (tests: the cache does its job) */
} vertex_cache;

/* The thresholds as the kernel reads them, one allocation. */
typedef struct {
  int bits;          /* n²: window spins, input planes */
  uint32_t mask;     /* 2^bits − 1 */
  size_t stride;     /* of top: 2^bits, at least 512 (a child's table is then 8 zmm) */
  bool vbmi;         /* bits ≤ 9, AVX-512 VBMI and GFNI: byte permutes, not gathers */
  bool gfni;         /* the CPU has AVX-512 VBMI and GFNI: patterns by bit transposes */
  const uint32_t *T; /* the window table: T[ab << bits | pattern] */
  int8_t drow[4], dcol[4]; /* child ab's vertex: (X + dcol[ab], Y + drow[ab]) */
  uint32_t *entry;   /* entry[D]: byte ab = top[ab·stride + D], the four children's top bytes */
  uint8_t pick[4][64]; /* VBMI byte permutes of child ab's top bytes from a word's entries:
                        * byte s = 4 (s mod 32) + ab */
  vertex_cache cache; /* mutable: the kernel's own, one step at a time */
  /* top[ab·stride + D] = T[ab << bits | (D ^ mask)] >> 24: by the "down" pattern D the input
   * planes spell (the portable and the VBMI kernels' table) */
  uint8_t top[];
} table_bits;

/* Word i of half-word rows: halves 2i and 2i + 1 as one little-endian uint64. */
static inline uint64_t word_of(const uint32_t *halves, int i) {
  uint64_t x;
  memcpy(&x, halves + 2 * i, sizeof x);
  return x;
}

static inline void word_store(uint32_t *halves, int i, uint64_t x) {
  memcpy(halves + 2 * i, &x, sizeof x);
}


#if INVRG_SIMD_X86
/*
 * Planes 0 … 7 of words [0, words) of a piece (dream_planes.h's first()): up and undecided
 * sites from the top bytes of the thresholds of the sites' window patterns. AVX2 and AVX-512
 * gathers for any window (the patterns by masked byte adds, or by GFNI bit transposes where
 * the CPU has AVX-512 VBMI and GFNI, tb->gfni); VBMI byte permutes for windows of at most 9
 * spins (tb->vbmi).
 */
void invrg_planes_table_first_avx2(const table_bits *tb, const invrg_planes_piece *pc,
                                   int words, invrg_planes_rnd rnd, uint32_t *up, uint32_t *und);
void invrg_planes_table_first_avx512(const table_bits *tb, const invrg_planes_piece *pc,
                                     int words, invrg_planes_rnd rnd, uint32_t *up,
                                     uint32_t *und);
void invrg_planes_table_first_gfni(const table_bits *tb, const invrg_planes_piece *pc,
                                   int words, invrg_planes_rnd rnd, uint32_t *up, uint32_t *und);
void invrg_planes_table_first_vbmi(const table_bits *tb, const invrg_planes_piece *pc,
                                   int words, invrg_planes_rnd rnd, uint32_t *up, uint32_t *und);
#endif

#endif

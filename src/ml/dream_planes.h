/* Private to the dream module: packed steps with random bit planes (the contract in
 * invrg/dream_packed.h). dream_planes.c draws (coarse rows, pieces of words, Philox planes,
 * the half-words still undecided); a kernel decides the spins from its input planes: sym3's
 * class masks (dream_planes_sym3.c) or a window table (dream_planes_table.c). */
#ifndef INVRG_DREAM_PLANES_H
#define INVRG_DREAM_PLANES_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/dream_packed.h"
#include "invrg/error.h"
#include "invrg/packed.h"
#include "invrg/rng.h"
#include "invrg/simd.h"
#include "ml/dream_internal.h"

enum {
  INVRG_PLANES_PIECE = 256, /* words of a fine colour row drawn together */
  INVRG_PLANES_INPUTS = 16, /* input planes of a word at most: a 4 × 4 window */
  INVRG_PLANES_FIRST = 8,   /* planes drawn for every word: draws 0 and 1 of both halves */
  INVRG_PLANES_ROUND = 4,   /* a half-word still undecided draws one more block: four planes */
  INVRG_PLANES_BITS = 32    /* u and T are 32-bit */
};

/* Half-words of the uint64 words of packed rows, read in place (hence may_alias). */
typedef uint32_t invrg_planes_half __attribute__((may_alias));

/*
 * A piece of one colour's words on its way: filled row by row, then drawn. Half-word t = 2i + h
 * is sites 32h … 32h + 31 of word i (bits 0 … 31 of the uint32 at t: the little-endian halves
 * of a uint64). in[k][t]: input plane k, bit 1 where the kernel's coarse spin k of the site is
 * −1 (packed.h's convention). in and valid point at the piece's own copies (in_store,
 * valid_store), or, for a piece of one row's words, at the coarse rows themselves.
 */
typedef struct {
  const invrg_planes_half *in[INVRG_PLANES_INPUTS];
  const invrg_planes_half *valid; /* the sites of the row (not its padding) */
  uint32_t in_store[INVRG_PLANES_INPUTS][2 * INVRG_PLANES_PIECE];
  uint32_t valid_store[2 * INVRG_PLANES_PIECE];
  uint8_t child[INVRG_PLANES_PIECE];      /* 2α + β of each word's sites (fine (2Y+α, 2X+β)) */
  int32_t parent_row[INVRG_PLANES_PIECE]; /* Y of each word's parents, 0 … lc − 1 */
  int32_t row_word[INVRG_PLANES_PIECE];   /* its place in the colour row: sites X = 64·that … */
  int n;                                  /* words filled */
  int64_t f0;                             /* the colour's flat word index of the first */
  int64_t lc;                             /* the step's coarse side */
  int64_t row_words;                      /* words of a colour row */
} invrg_planes_piece;

typedef struct invrg_planes_kernel invrg_planes_kernel;

/* Random planes of a piece: plane j of half-word t is rnd[j / 4][j % 4][t] (j < 8). */
typedef const uint32_t (*invrg_planes_rnd)[4][2 * INVRG_PLANES_PIECE];

/*
 * What decides a step's spins. Input k of a site, child 2α + β of coarse site (X, Y), is the
 * coarse spin at (X + offset[2α + β][k][1], Y + offset[2α + β][k][0]) (|offsets| ≤ margin).
 * Each fine spin is up iff u < T, its threshold; u's bits are compared from the top, one plane
 * at a time (undecided &= ~(r ^ T_j), up |= undecided & T_j & ~r before it).
 */
struct invrg_planes_kernel {
  int inputs, margin;
  int8_t offset[4][INVRG_PLANES_INPUTS][2];
  /* up and undecided sites of half-words [0, halves) after planes 0 … 7 (inputs and valid are
   * zero from halves up to the next multiple of 16) */
  void (*first)(const invrg_planes_kernel *k, const invrg_planes_piece *pc, int halves,
                invrg_planes_rnd rnd, uint32_t *up, uint32_t *und, invrg_simd_level level);
  /* planes j0 … j0 + 3 of the half-words half[q], q < n: plane j0 + j is extra[j][q] */
  void (*more)(const invrg_planes_kernel *k, const invrg_planes_piece *pc, const int *half,
               int n, int j0, const uint32_t (*extra)[2 * INVRG_PLANES_PIECE], uint32_t *up,
               uint32_t *und);
  void *data; /* the kernel's thresholds as it reads them (owned) */
};

/* The kernel of sym3's 12 thresholds (dream_planes_sym3.c). */
invrg_err invrg_planes_kernel_sym3(const uint32_t T12[12], invrg_planes_kernel *k);

/* The kernel of window table @p t (dream_planes_table.c), which must outlive it, for coarse
 * lattices of side up to @p max_lc (beyond, its vertex cache hits less: the same bits). */
invrg_err invrg_planes_kernel_table(const window_table *t, int64_t max_lc,
                                    invrg_planes_kernel *k);

void invrg_planes_kernel_destroy(invrg_planes_kernel *k);

/* Tests: AVX-512 table kernels with less than the CPU has: gathers even where VBMI's byte
 * permutes would do (@p gathers), patterns by masked byte adds even where GFNI would transpose
 * them (@p masked_adds). */
void invrg_planes_table_limit(bool gathers, bool masked_adds);

/* Tests: the window-table kernel's gathers so far, counts[0] lookups of a gather's sites
 * through the vertex cache and counts[1] of them gathered (0 and 0 for other kernels). */
void invrg_planes_kernel_lookups(const invrg_planes_kernel *k, uint64_t counts[2]);

/* Tests: which pieces are read in place rather than copied (the same bits either way): -1 the
 * default (rows of 4 × 4 windows' kernels, pieces of up to INVRG_PLANES_PIECE words), 0 none,
 * @p words > 0 (a multiple of 8) every kernel's rows, in pieces of up to that many words. */
void invrg_planes_in_place(int words);

/* Tests: the planes kernel of a packed dream work made with planes (dream_packed.c). */
const invrg_planes_kernel *invrg_dream_packed_kernel(const invrg_dream_packed_work *w);

/* One comparison plane: r the random bits, tb the threshold's bits (scalars or vectors). */
#define INVRG_PLANES_COMPARE(a, u, r, tb) \
  do {                                    \
    (a) |= (u) & (tb) & ~(r);             \
    (u) &= ~((r) ^ (tb));                 \
  } while (0)

typedef struct invrg_dream_planes_work invrg_dream_planes_work;

/* Scratch space for coarse rows of up to @p max_lc sites and kernels of margin ≤ @p margin. */
invrg_err invrg_dream_planes_work_create(int64_t max_lc, int margin,
                                         invrg_dream_planes_work **out);
void invrg_dream_planes_work_destroy(invrg_dream_planes_work **w);

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
 * stream @p s (dream_packed.h's random bit planes) and decided by kernel @p k.
 */
void invrg_dream_planes_step(invrg_dream_planes_work *w, const invrg_rng_stream *s,
                             const invrg_planes_kernel *k, const invrg_dream_coarse *c,
                             invrg_packed *fine);

#endif

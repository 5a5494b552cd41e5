/* Private to the dream module (dream.c, dream_sym3.c, dream_table.c): the work and the window
 * table it holds, the random words of a fine row and the spin drawn from one, and the AVX2
 * pieces the vector rows of sym3 and of the tables both use. */
#ifndef INVRG_DREAM_INTERNAL_H
#define INVRG_DREAM_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invrg/dream.h"
#include "invrg/lattice.h"
#include "invrg/model.h"
#include "invrg/rng.h"
#include "invrg/simd.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

/*
 * The window of a model. Fine site y depends on fine rows y − q … y + q, q the fine reach (sym:
 * one k × k kernel, q = (k − 1)/2; conv: two, q = k − 1), which lie in the coarse rows
 * ⌊(y − q)/2⌋ … ⌊(y + q)/2⌋: n = q + 1 rows starting at I + lo[α] for y = 2I + α, with
 * lo[α] = ⌊(α − q)/2⌋; the same for columns and β. Pattern bit c·n + r says the window spin at
 * row r, column c is up; T[(2α + β) << bits | pattern] is round(P(up)·2^32) of child (α, β).
 */
typedef struct {
  int n;       /* window width */
  int lo[2];   /* first window row (column) relative to the parent, for α (β) = 0, 1 */
  int margin;  /* how far the window reaches beyond the parent: the coarse halo it needs */
  int bits;    /* n² */
  uint32_t *T; /* NULL: the model has no table (sym3, conv with k ≥ 5) */
} window_table;

struct invrg_dream_work {
  int max_lc;
  window_table table;
  uint8_t *codes;          /* table: one fine row's column codes, local coarse column X at X + margin */
  uint16_t *patterns;      /* table: window pattern starting at each coarse column, the same offset */
  double *z;               /* generic path: logits of one fine lattice */
  uint32_t *words;         /* random words of one fine row: [4][row/4 + 3] */
  int8_t *pad;             /* sym3: a coarse row and its neighbour row, padded: 2 (lc + 2) */
  invrg_model_work *model; /* generic path, per coarse size; rebuilt when the size changes */
  int model_lc;
};

/* ------------------------------------------------------------------ words and spins (dream.c) */

/* P(up) = sigmoid(z) as a 32-bit threshold: u < T has probability T / 2^32. */
static inline uint32_t threshold_of(double z) {
  double p = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
  double t = nearbyint(p * 4294967296.0);
  return t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
}

/* Random words of the fine sites [g, g + n) of one row: site g + i uses word (g+i) & 3 of
 * block (g+i) >> 2, at words[((g+i) & 3)·stride + ((g+i) >> 2) − first_block]. */
void invrg_dream_segment_words(const invrg_rng_stream *s, uint64_t g, int n, uint32_t *words,
                               size_t stride, uint64_t *first_block);

static inline int8_t draw_spin(const uint32_t *words, size_t stride, uint64_t first_block,
                               uint64_t g, uint32_t threshold) {
  return words[(g & 3) * stride + ((g >> 2) - first_block)] < threshold ? 1 : -1;
}

/* The vector rows when the SIMD layer's level is AVX2 or above (the same bits either way:
 * tests compare them). */
bool invrg_dream_use_avx2(void);

#if INVRG_SIMD_X86
/* u < T ? 1 : −1 per 32-bit lane: unsigned as a signed comparison after flipping the top bits. */
INVRG_TARGET_AVX2 static inline __m256i avx2_spins(__m256i u, __m256i t) {
  const __m256i flip = _mm256_set1_epi32((int)0x80000000u);
  const __m256i up = _mm256_cmpgt_epi32(_mm256_xor_si256(t, flip), _mm256_xor_si256(u, flip));
  return _mm256_sub_epi32(_mm256_and_si256(up, _mm256_set1_epi32(2)), _mm256_set1_epi32(1));
}

/* Eight Philox blocks of four ±1 sites: word w of block b (lane b of s_w) to out[4b + w], the
 * four of block b packed into the little-endian 32-bit lane b. */
INVRG_TARGET_AVX2 static inline void avx2_store_blocks(int8_t *out, __m256i s0,
                                                                     __m256i s1, __m256i s2,
                                                                     __m256i s3) {
  const __m256i byte = _mm256_set1_epi32(0xff);
  const __m256i packed = _mm256_or_si256(
      _mm256_or_si256(_mm256_and_si256(s0, byte), _mm256_slli_epi32(_mm256_and_si256(s1, byte), 8)),
      _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(s2, byte), 16), _mm256_slli_epi32(s3, 24)));
  _mm256_storeu_si256((__m256i *)out, packed);
}
#endif

/* ------------------------------------------------------------------ sym3 (dream_sym3.c) */

/* sym3's 12 thresholds round(P(up)·2^32) at the index P·6 + n·2 + d: parent up (P), up
 * neighbours among the vertical and horizontal one on the child's side (n), diagonal up (d). */
void invrg_dream_sym3_thresholds12(const invrg_model *m, uint32_t T12[12]);

/* A step of sym3 on whole lattices, coarse lc × lc and fine 2lc × 2lc, rows @p coarse_stride
 * and @p fine_stride apart. */
void invrg_dream_sym3_step(const invrg_model *m, const int8_t *coarse, size_t coarse_stride,
                           int lc, const invrg_rng_stream *s, int8_t *fine, size_t fine_stride,
                           invrg_dream_work *w);

/* A step of sym3 on the block @p f of a distributed fine lattice, from @p c: whole, or
 * distributed on the same grid with the halo invrg_dream_halo() asks for. */
void invrg_dream_sym3_step_block(const invrg_model *m, const invrg_lattice *c, invrg_lattice *f,
                                 const invrg_rng_stream *s, invrg_dream_work *w);

/* ------------------------------------------------------------------ tables (dream_table.c) */

/* True if @p m samples through a window table: not sym3, and a window of at most 16 spins. */
bool invrg_dream_has_table(const invrg_model *m);

/* The window of @p m without its thresholds (T = NULL). */
window_table invrg_dream_table_geometry(const invrg_model *m);

/* The window and the thresholds of @p m (invrg_dream_has_table()); t->T to be freed. */
invrg_err invrg_dream_table_create(const invrg_model *m, window_table *t);

/* A step through the work's table on whole row-major lattices, coarse lc × lc, fine 2lc × 2lc. */
void invrg_dream_table_step(const int8_t *coarse, int lc, const invrg_rng_stream *s,
                            int8_t *fine, invrg_dream_work *w);

/* The table path on lattices: a distributed coarse lattice must be the fine block's parent
 * with the window's halo (runtime error otherwise). */
invrg_err invrg_dream_table_step_lattice(const invrg_lattice *coarse, invrg_lattice *fine,
                                         const invrg_rng_stream *s, invrg_dream_work *w);

#endif

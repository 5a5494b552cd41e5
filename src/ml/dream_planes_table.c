/*
 * The window-table kernel of the random bit planes (dream_planes.h): sym5, sym7 and conv with
 * k ≤ 3 (dream_table.c). A word's 64 spins are children (α, β) of 64 consecutive coarse sites,
 * so window spin (r, c) of all of them is one input plane, k = c·n + r, and a site's window
 * pattern (dream_internal.h: bit c·n + r says the spin is up) is the complement of its bits
 * across the planes. Per word the 64 patterns are put together by transposing the planes, the
 * thresholds' top bytes looked up, and transposed back into threshold planes 0 … 7 (bits 31 …
 * 24); the rare sites still undecided after them read their whole threshold, T itself.
 */
#include <stdlib.h>
#include <string.h>

#include "ml/dream_planes.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

enum { PIECE = INVRG_PLANES_PIECE, FIRST = INVRG_PLANES_FIRST };

/* The thresholds as the kernel reads them, one allocation. */
typedef struct {
  int bits;          /* n²: window spins, input planes */
  uint32_t mask;     /* 2^bits − 1 */
  const uint32_t *T; /* the window table: T[ab << bits | pattern] */
  /* top[ab << bits | D] = T[ab << bits | (D ^ mask)] >> 24: by the "down" pattern D the input
   * planes spell, and 3 bytes more (the AVX-512 gathers read 4 bytes at a time) */
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

/* ------------------------------------------------------------------ portable */

/* The 8 × 8 bit matrix x (row r = byte r, column c = bit c) transposed: bit 8r + c ↔ 8c + r. */
static inline uint64_t transpose8(uint64_t x) {
  uint64_t t = (x ^ (x >> 7)) & UINT64_C(0x00AA00AA00AA00AA);
  x ^= t ^ (t << 7);
  t = (x ^ (x >> 14)) & UINT64_C(0x0000CCCC0000CCCC);
  x ^= t ^ (t << 14);
  t = (x ^ (x >> 28)) & UINT64_C(0x00000000F0F0F0F0);
  return x ^ t ^ (t << 28);
}

/* Bits [from, to) of the down patterns of sites 8g … 8g + 7: byte k for site 8g + k. */
static inline uint64_t pattern_bytes(const uint64_t *pl, int from, int to, int g) {
  uint64_t m = 0; /* row b − from: plane b's bits of the eight sites */
  for (int b = from; b < to; b++) m |= (pl[b] >> (8 * g) & 0xff) << (8 * (b - from));
  return transpose8(m);
}

/* Threshold planes 0 … 7 of one word from its input planes @p pl. */
static void threshold_planes(const table_bits *tb, const uint8_t *top, const uint64_t *pl,
                             uint64_t planes[FIRST]) {
  const int low = tb->bits < 8 ? tb->bits : 8;
  for (int j = 0; j < FIRST; j++) planes[j] = 0;
  for (int g = 0; g < 8; g++) {
    const uint64_t lo = pattern_bytes(pl, 0, low, g);
    const uint64_t hi = tb->bits > 8 ? pattern_bytes(pl, 8, tb->bits, g) : 0;
    uint64_t t = 0; /* byte k: the top byte of site 8g + k's threshold */
    for (int k = 0; k < 8; k++)
      t |= (uint64_t)top[(lo >> (8 * k) & 0xff) | (hi >> (8 * k) & 0xff) << 8] << (8 * k);
    t = transpose8(t); /* byte c: bit 24 + c of the eight thresholds = plane 7 − c */
    for (int j = 0; j < FIRST; j++) planes[j] |= (t >> (8 * (7 - j)) & 0xff) << (8 * g);
  }
}

static void table_first_generic(const table_bits *tb, const invrg_planes_piece *pc, int words,
                                int inputs, invrg_planes_rnd rnd, uint32_t *up, uint32_t *und) {
  for (int i = 0; i < words; i++) {
    uint64_t pl[INVRG_PLANES_INPUTS], planes[FIRST], a = 0, u = word_of(pc->valid, i);
    for (int b = 0; b < inputs; b++) pl[b] = word_of(pc->in[b], i);
    threshold_planes(tb, tb->top + ((size_t)pc->child[i] << tb->bits), pl, planes);
    for (int j = 0; j < FIRST; j++) INVRG_PLANES_COMPARE(a, u, word_of(rnd[j / 4][j % 4], i), planes[j]);
    word_store(up, i, a);
    word_store(und, i, u);
  }
}

/* ------------------------------------------------------------------ AVX-512 */

#if INVRG_SIMD_X86
/* Sites 16q … 16q + 15: their top bytes gathered by the patterns lo | hi << 8. */
#define GATHER_QUARTER(q)                                                                     \
  _mm512_cvtepi32_epi8(_mm512_i32gather_epi32(                                                \
      _mm512_or_si512(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(lo, q)),                 \
                      _mm512_slli_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(hi, q)), \
                                        8)),                                                  \
      top, 1))

/* A word with AVX-512: the pattern bytes of its 64 sites by masked adds of the input planes
 * (byte k of lo gets 2^b where plane b has bit k), the top bytes by four gathers, and plane j
 * the sign bits of the top bytes shifted left by j. */
INVRG_TARGET_AVX512 static void table_first_avx512(const table_bits *tb,
                                                   const invrg_planes_piece *pc, int words,
                                                   invrg_planes_rnd rnd, uint32_t *up,
                                                   uint32_t *und) {
  const int bits = tb->bits;
  for (int i = 0; i < words; i++) {
    const uint8_t *top = tb->top + ((size_t)pc->child[i] << bits);
    __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
    for (int b = 0; b < bits; b++) {
      const __mmask64 m = _cvtu64_mask64(word_of(pc->in[b], i));
      if (b < 8)
        lo = _mm512_mask_add_epi8(lo, m, lo, _mm512_set1_epi8((char)(1 << b)));
      else
        hi = _mm512_mask_add_epi8(hi, m, hi, _mm512_set1_epi8((char)(1 << (b - 8))));
    }
    __m512i t = _mm512_castsi128_si512(GATHER_QUARTER(0));
    t = _mm512_inserti32x4(t, GATHER_QUARTER(1), 1);
    t = _mm512_inserti32x4(t, GATHER_QUARTER(2), 2);
    t = _mm512_inserti32x4(t, GATHER_QUARTER(3), 3);
    uint64_t a = 0, u = word_of(pc->valid, i);
    for (int j = 0; j < FIRST; j++) {
      const uint64_t plane = _cvtmask64_u64(_mm512_movepi8_mask(t));
      t = _mm512_add_epi8(t, t);
      INVRG_PLANES_COMPARE(a, u, word_of(rnd[j / 4][j % 4], i), plane);
    }
    word_store(up, i, a);
    word_store(und, i, u);
  }
}
#undef GATHER_QUARTER
#endif

/* ------------------------------------------------------------------ the kernel */

static void table_first(const invrg_planes_kernel *k, const invrg_planes_piece *pc, int halves,
                        invrg_planes_rnd rnd, uint32_t *up, uint32_t *und,
                        invrg_simd_level level) {
  const table_bits *tb = k->data;
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512) {
    table_first_avx512(tb, pc, halves / 2, rnd, up, und);
    return;
  }
#endif
  (void)level;
  table_first_generic(tb, pc, halves / 2, k->inputs, rnd, up, und);
}

/* Planes j0 … j0 + 3 of waiting half-words: each undecided site reads its whole threshold. */
static void table_more(const invrg_planes_kernel *k, const invrg_planes_piece *pc,
                       const int *half, int n, int j0, const uint32_t (*extra)[2 * PIECE],
                       uint32_t *up, uint32_t *und) {
  const table_bits *tb = k->data;
  for (int q = 0; q < n; q++) {
    const int t = half[q];
    const uint32_t *T = tb->T + ((size_t)pc->child[t / 2] << tb->bits);
    uint32_t a = up[t], u = und[t], planes[INVRG_PLANES_ROUND] = {0};
    for (int s = 0; s < 32; s++) {
      if (!(u >> s & 1)) continue;
      uint32_t D = 0;
      for (int b = 0; b < tb->bits; b++) D |= (pc->in[b][t] >> s & 1) << b;
      const uint32_t thr = T[D ^ tb->mask];
      for (int j = 0; j < INVRG_PLANES_ROUND; j++) planes[j] |= (thr >> (31 - j0 - j) & 1) << s;
    }
    for (int j = 0; j < INVRG_PLANES_ROUND; j++) INVRG_PLANES_COMPARE(a, u, extra[j][q], planes[j]);
    up[t] = a;
    und[t] = u;
  }
}

invrg_err invrg_planes_kernel_table(const window_table *t, invrg_planes_kernel *k) {
  invrg_err err = INVRG_SUCCESS;
  memset(k, 0, sizeof *k);
  INVRG_CHECK(t->T != NULL && t->bits <= INVRG_PLANES_INPUTS, INVRG_ERR_RUNTIME,
              "random bit planes need a window table of at most %d spins",
              INVRG_PLANES_INPUTS);
  const size_t size = (size_t)1 << t->bits;
  table_bits *tb = malloc(sizeof *tb + 4 * size + 3);
  INVRG_CHECK_ALLOC(tb);
  tb->bits = t->bits, tb->mask = (uint32_t)size - 1, tb->T = t->T;
  for (size_t e = 0; e < 4 * size; e++) /* e = ab << bits | D */
    tb->top[e] = (uint8_t)(t->T[e ^ tb->mask] >> 24);
  memset(tb->top + 4 * size, 0, 3);
  k->data = tb;
  k->inputs = t->bits, k->margin = t->margin;
  k->first = table_first, k->more = table_more;
  for (int ab = 0; ab < 4; ab++) /* input c·n + r: window spin (r, c) of child (α, β) */
    for (int c = 0; c < t->n; c++)
      for (int r = 0; r < t->n; r++) {
        k->offset[ab][c * t->n + r][0] = (int8_t)(t->lo[ab >> 1] + r);
        k->offset[ab][c * t->n + r][1] = (int8_t)(t->lo[ab & 1] + c);
      }
cleanup:
  return err;
}

/*
 * The x86 vector kernels of the window-table planes (dream_planes_table.h): per word of 64
 * sites, the window pattern of every site put together from the input planes (masked byte
 * adds with AVX-512, bytes of bits compared with AVX2), the top bytes of the thresholds looked
 * up (AVX2 gathers; AVX-512 gathers shared through the vertex cache; VBMI byte permutes for
 * windows of at most 9 spins) and compared with the random planes: the same bits as the
 * portable kernel.
 */
#include "core/simd_x86.h"
#include "ml/dream_planes_table.h"

#if INVRG_SIMD_X86
#include <immintrin.h>

enum { FIRST = INVRG_PLANES_FIRST };

/* ------------------------------------------------------------------ AVX2 */

/* Byte k: Σ 2^(b − from) over the planes b ∈ [from, to) with bit k set, of half-word t. */
INVRG_TARGET_AVX2 static inline __m256i pattern_bytes_avx2(const invrg_planes_piece *pc, int t,
                                                           int from, int to) {
  __m256i out = _mm256_setzero_si256();
  for (int b = from; b < to; b++)
    out = _mm256_or_si256(out, _mm256_and_si256(invrg_avx2_bytes_of_bits(pc->in[b][t]),
                                                _mm256_set1_epi8((char)(1 << (b - from)))));
  return out;
}

/* Sites 8q … 8q + 7 of a half-word: their top bytes (in the low bytes of the lanes), gathered
 * by the patterns lo | hi << 8 (@p lo8, @p hi8: their pattern bytes in the low 8 bytes). */
INVRG_TARGET_AVX2 static inline __m256i gather8(const uint8_t *top, __m128i lo8, __m128i hi8) {
  const __m256i idx = _mm256_or_si256(_mm256_cvtepu8_epi32(lo8),
                                      _mm256_slli_epi32(_mm256_cvtepu8_epi32(hi8), 8));
  return _mm256_and_si256(_mm256_i32gather_epi32((const int *)(const void *)top, idx, 1),
                          _mm256_set1_epi32(0xff));
}

/* Any window, 32 sites (a half-word) at a time: four gathers of eight, the bytes packed back
 * into site order, plane j the sign bits of the top bytes shifted left by j. */
INVRG_TARGET_AVX2 void invrg_planes_table_first_avx2(const table_bits *tb,
                                                     const invrg_planes_piece *pc, int words,
                                                     invrg_planes_rnd rnd, uint32_t *up,
                                                     uint32_t *und) {
  const int low = tb->bits < 8 ? tb->bits : 8;
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int t = 0; t < 2 * words; t++) {
    const uint8_t *top = tb->top + pc->child[t / 2] * tb->stride;
    const __m256i lo = pattern_bytes_avx2(pc, t, 0, low);
    const __m256i hi = pattern_bytes_avx2(pc, t, 8, tb->bits);
    const __m128i l0 = _mm256_castsi256_si128(lo), l1 = _mm256_extracti128_si256(lo, 1);
    const __m128i h0 = _mm256_castsi256_si128(hi), h1 = _mm256_extracti128_si256(hi, 1);
    const __m256i g0 = gather8(top, l0, h0);
    const __m256i g1 = gather8(top, _mm_srli_si128(l0, 8), _mm_srli_si128(h0, 8));
    const __m256i g2 = gather8(top, l1, h1);
    const __m256i g3 = gather8(top, _mm_srli_si128(l1, 8), _mm_srli_si128(h1, 8));
    /* the packs work within 128-bit lanes: dwords of 4 sites end up as 0, 8, 16, 24 | 4, 12, … */
    __m256i tv = _mm256_packus_epi16(_mm256_packus_epi32(g0, g1), _mm256_packus_epi32(g2, g3));
    tv = _mm256_permutevar8x32_epi32(tv, order);
    uint32_t a = 0, u = pc->valid[t];
    for (int j = 0; j < FIRST; j++) {
      const uint32_t plane = (uint32_t)_mm256_movemask_epi8(tv);
      tv = _mm256_add_epi8(tv, tv);
      INVRG_PLANES_COMPARE(a, u, rnd[j / 4][j % 4][t], plane);
    }
    up[t] = a;
    und[t] = u;
  }
}

/* ------------------------------------------------------------------ AVX-512 */

#define TARGET_VBMI \
  __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vbmi,bmi2,popcnt")))

/* Byte k of the result: Σ 2^(b − from) over the planes b ∈ [from, to) with bit k set (masked
 * adds: the bits are distinct, so adding is OR-ing). */
#define PATTERN_BYTES(out, from, to)                                                     \
  do {                                                                                   \
    (out) = _mm512_setzero_si512();                                                      \
    for (int b_ = (from); b_ < (to); b_++)                                               \
      (out) = _mm512_mask_add_epi8((out), _cvtu64_mask64(word_of(pc->in[b_], i)), (out), \
                                   _mm512_set1_epi8((char)(1 << (b_ - (from)))));        \
  } while (0)

/* The first eight planes of a word at once: its random planes 0 … 7 are the top bytes R of the
 * u of its 64 sites (masked adds again), and the bit-serial comparison of R with the threshold's
 * top byte t from the most significant bit leaves a site up iff R < t, undecided iff R = t. */
#define COMPARE_TOP_BYTES(t)                                                                   \
  do {                                                                                         \
    __m512i r_ = _mm512_setzero_si512();                                                       \
    for (int j_ = 0; j_ < FIRST; j_++)                                                         \
      r_ = _mm512_mask_add_epi8(r_, _cvtu64_mask64(word_of(rnd[j_ / 4][j_ % 4], i)), r_,       \
                                _mm512_set1_epi8((char)(0x80 >> j_)));                         \
    const uint64_t v_ = word_of(pc->valid, i);                                                 \
    word_store(up, i, v_ & _cvtmask64_u64(_mm512_cmplt_epu8_mask(r_, (t))));                   \
    word_store(und, i, v_ & _cvtmask64_u64(_mm512_cmpeq_epi8_mask(r_, (t))));                  \
  } while (0)

/* The patterns of 32 sites as 16-bit lanes: pattern bytes lo (bits 0–7) and hi (8–15). */
#define PATTERNS16(lo, hi, half)                                                               \
  _mm512_or_si512(_mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64((lo), (half))),               \
                  _mm512_slli_epi16(_mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64((hi), (half))), \
                                    8))

/* Any window, through the vertex cache (dream_planes_table.h): the word's 64 patterns against
 * those kept where its vertices would be; a quarter of 16 sites that differs anywhere gathers
 * its entries (and keeps them with its patterns), the others are read; byte ab of an entry is
 * the top byte of child ab. */
INVRG_TARGET_AVX512 void invrg_planes_table_first_avx512(const table_bits *tb,
                                                         const invrg_planes_piece *pc,
                                                         int words, invrg_planes_rnd rnd,
                                                         uint32_t *up, uint32_t *und) {
  const int low = tb->bits < 8 ? tb->bits : 8;
  /* at least 4 slots: the kernel's cache is sized for the work's largest rows */
  const size_t row_len = 64 * ((size_t)pc->row_words + 1), slots = tb->cache.len / row_len;
  for (int i = 0; i < words; i++) {
    const int ab = pc->child[i];
    int64_t V = pc->parent_row[i] + tb->drow[ab];
    if (V >= pc->lc) V -= pc->lc;
    const size_t e0 = (size_t)(V % (int64_t)slots) * row_len + 64 * (size_t)pc->row_word[i] +
                      (size_t)tb->dcol[ab];
    uint16_t *kept = tb->cache.pattern + e0;
    uint32_t *entry = tb->cache.entry + e0;
    __m512i lo, hi;
    PATTERN_BYTES(lo, 0, low);
    PATTERN_BYTES(hi, 8, tb->bits);
    const __m512i p[2] = {PATTERNS16(lo, hi, 0), PATTERNS16(lo, hi, 1)};
    const uint64_t same =
        (uint64_t)_mm512_cmpeq_epi16_mask(p[0], _mm512_loadu_si512(kept)) |
        (uint64_t)_mm512_cmpeq_epi16_mask(p[1], _mm512_loadu_si512(kept + 32)) << 32;
    if (same != ~UINT64_C(0)) {
      _mm512_storeu_si512(kept, p[0]);
      _mm512_storeu_si512(kept + 32, p[1]);
    }
    const __m512i shift = _mm512_set1_epi32(8 * ab);
    __m512i t = _mm512_setzero_si512();
    for (int q = 0; q < 4; q++) {
      __m512i e;
      if ((same >> (16 * q) & 0xffff) == 0xffff) {
        e = _mm512_loadu_si512(entry + 16 * q);
      } else {
        const __m512i idx =
            _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(p[q >> 1], q & 1));
        e = _mm512_i32gather_epi32(idx, tb->entry, 4);
        _mm512_storeu_si512(entry + 16 * q, e);
      }
      t = _mm512_inserti32x4(t, _mm512_cvtepi32_epi8(_mm512_srlv_epi32(e, shift)), q);
    }
    COMPARE_TOP_BYTES(t);
  }
}
#undef PATTERNS16

/* Windows of at most 9 spins with VBMI: a child's 512 top bytes are 8 registers; bits 0–6 of
 * the pattern pick a byte of a pair of them (vpermi2b), bits 7 and 8 the pair (blends). */
TARGET_VBMI void invrg_planes_table_first_vbmi(const table_bits *tb,
                                              const invrg_planes_piece *pc, int words,
                                              invrg_planes_rnd rnd, uint32_t *up,
                                              uint32_t *und) {
  const int low = tb->bits < 7 ? tb->bits : 7;
  __m512i tab[8];
  int child = pc->child[0];
  const uint8_t *top0 = tb->top + (size_t)child * tb->stride;
  for (int q = 0; q < 8; q++) tab[q] = _mm512_loadu_si512(top0 + 64 * q);
  for (int i = 0; i < words; i++) {
    if (pc->child[i] != child) { /* a row's words share their child */
      child = pc->child[i];
      const uint8_t *top = tb->top + (size_t)child * tb->stride;
      for (int q = 0; q < 8; q++) tab[q] = _mm512_loadu_si512(top + 64 * q);
    }
    __m512i idx;
    PATTERN_BYTES(idx, 0, low);
    const __mmask64 k7 = _cvtu64_mask64(tb->bits > 7 ? word_of(pc->in[7], i) : 0);
    const __mmask64 k8 = _cvtu64_mask64(tb->bits > 8 ? word_of(pc->in[8], i) : 0);
    const __m512i t0 = _mm512_permutex2var_epi8(tab[0], idx, tab[1]);
    const __m512i t1 = _mm512_permutex2var_epi8(tab[2], idx, tab[3]);
    const __m512i t2 = _mm512_permutex2var_epi8(tab[4], idx, tab[5]);
    const __m512i t3 = _mm512_permutex2var_epi8(tab[6], idx, tab[7]);
    __m512i t = _mm512_mask_blend_epi8(k8, _mm512_mask_blend_epi8(k7, t0, t1),
                                       _mm512_mask_blend_epi8(k7, t2, t3));
    COMPARE_TOP_BYTES(t);
  }
}
#undef COMPARE_TOP_BYTES
#undef PATTERN_BYTES

#endif

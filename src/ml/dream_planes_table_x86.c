/*
 * The x86 vector kernels of the window-table planes (dream_planes_table.h): per word of 64
 * sites, the window pattern of every site put together from the input planes (GFNI bit
 * transposes or masked byte adds with AVX-512, bytes of bits compared with AVX2), the top bytes
 * of the thresholds looked up (AVX2 and AVX-512 gathers shared through the vertex cache; VBMI
 * byte permutes for windows of at most 9 spins) and compared with the random planes: the same
 * bits as the portable kernel.
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

/* The vertex cache's rows for the piece's colour rows: their length, and the slots (a power
 * of two, at least 4: the cache is sized for the work's largest rows) as a mask. */
typedef struct {
  size_t row_len, slot_mask;
} cache_rows;

static inline cache_rows cache_rows_of(const table_bits *tb, const invrg_planes_piece *pc) {
  const size_t row_len = 64 * ((size_t)pc->row_words + 1), fit = tb->cache.len / row_len;
  size_t slots = 1;
  while (2 * slots <= fit) slots *= 2;
  return (cache_rows){row_len, slots - 1};
}

/* The cache's place of word i's vertices (dream_planes_table.h): element e0 is the first
 * site's; vertex row V in slot V mod the slots. */
static inline size_t cache_place(const table_bits *tb, const invrg_planes_piece *pc, int i,
                                 cache_rows c) {
  const int ab = pc->child[i];
  int64_t V = pc->parent_row[i] + tb->drow[ab];
  if (V >= pc->lc) V -= pc->lc;
  return ((size_t)V & c.slot_mask) * c.row_len + 64 * (size_t)pc->row_word[i] +
         (size_t)tb->dcol[ab];
}

/* Sites 8q … 8q + 7 of a half-word, whose patterns are lo | hi << 8 (@p lo8, @p hi8: their
 * pattern bytes in the low 8 bytes), through the vertex cache at element @p e: the kept
 * entries if the kept patterns are theirs, else gathered and kept; child ab's top bytes in the
 * low bytes of the lanes. */
INVRG_TARGET_AVX2 static inline __m256i top8_cached(const table_bits *tb, size_t e, int ab,
                                                    __m128i lo8, __m128i hi8,
                                                    uint64_t *gathered) {
  const __m256i idx = _mm256_or_si256(_mm256_cvtepu8_epi32(lo8),
                                      _mm256_slli_epi32(_mm256_cvtepu8_epi32(hi8), 8));
  uint16_t *kept = tb->cache.pattern + e;
  uint32_t *entry = tb->cache.entry + e;
  const __m256i was = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)kept));
  __m256i x;
  if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(idx, was)) == -1) {
    x = _mm256_loadu_si256((const __m256i *)(const void *)entry);
  } else {
    ++*gathered;
    x = _mm256_i32gather_epi32((const int *)(const void *)tb->entry, idx, 4);
    _mm256_storeu_si256((__m256i *)(void *)entry, x);
    const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packus_epi32(idx, idx), 0x08);
    _mm_storeu_si128((__m128i *)(void *)kept, _mm256_castsi256_si128(p16));
  }
  return _mm256_and_si256(_mm256_srlv_epi32(x, _mm256_set1_epi32(8 * ab)),
                          _mm256_set1_epi32(0xff));
}

/* Any window, 32 sites (a half-word) at a time: the top bytes of four groups of eight through
 * the vertex cache, packed back into site order, plane j the sign bits of the top bytes
 * shifted left by j. */
INVRG_TARGET_AVX2 void invrg_planes_table_first_avx2(const table_bits *tb,
                                                     const invrg_planes_piece *pc, int words,
                                                     invrg_planes_rnd rnd, uint32_t *up,
                                                     uint32_t *und) {
  const int low = tb->bits < 8 ? tb->bits : 8;
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const cache_rows rows = cache_rows_of(tb, pc);
  uint64_t gathered = 0; /* counted here, kept with the cache at the end (tests) */
  for (int t = 0; t < 2 * words; t++) {
    const int ab = pc->child[t / 2];
    const size_t e = cache_place(tb, pc, t / 2, rows) + 32 * (size_t)(t % 2);
    const __m256i lo = pattern_bytes_avx2(pc, t, 0, low);
    const __m256i hi = pattern_bytes_avx2(pc, t, 8, tb->bits);
    const __m128i l0 = _mm256_castsi256_si128(lo), l1 = _mm256_extracti128_si256(lo, 1);
    const __m128i h0 = _mm256_castsi256_si128(hi), h1 = _mm256_extracti128_si256(hi, 1);
    const __m256i g0 = top8_cached(tb, e, ab, l0, h0, &gathered);
    const __m256i g1 =
        top8_cached(tb, e + 8, ab, _mm_srli_si128(l0, 8), _mm_srli_si128(h0, 8), &gathered);
    const __m256i g2 = top8_cached(tb, e + 16, ab, l1, h1, &gathered);
    const __m256i g3 =
        top8_cached(tb, e + 24, ab, _mm_srli_si128(l1, 8), _mm_srli_si128(h1, 8), &gathered);
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
  tb->cache.counts[0] += 8 * (uint64_t)words;
  tb->cache.counts[1] += gathered;
}

/* ------------------------------------------------------------------ AVX-512 */

#define TARGET_GFNI \
  __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vbmi,gfni,bmi2,popcnt")))

/*
 * The bytes of up to eight planes for words i … i + 7: byte s of out[w] = Σ_b (bit s of word
 * i + w of plane[b]) << b, a missing plane (NULL) contributing 0. Two ways to the same bytes:
 * masked byte adds (the bits are distinct, so adding is OR-ing), one plane and word at a time;
 * or with GFNI, the 8 × 8 words transposed as 64-bit lanes (unpacks, lane shuffles, a byte
 * permute that also orders each 8 × 8 bit block), each block transposed by one affine
 * transform: byte j of the result takes bit i from row 7 − i of the block.
 */
INVRG_TARGET_AVX512 static inline __attribute__((always_inline)) void bytes8_masked(
    const uint32_t *const plane[8], int i, __m512i out[8]) {
  for (int w = 0; w < 8; w++) {
    __m512i x = _mm512_setzero_si512();
    for (int b = 0; b < 8; b++)
      if (plane[b] != NULL)
        x = _mm512_mask_add_epi8(x, _cvtu64_mask64(word_of(plane[b], i + w)), x,
                                 _mm512_set1_epi8((char)(1 << b)));
    out[w] = x;
  }
}

/* Byte 8k + 7 − p of block z: byte k of plane p; planes 0–3 from the first source, 4–7 from
 * the second, pair p / 2 mod 2 in lanes 2·(that) + @p half, plane p mod 2 in qword p mod 2. */
TARGET_GFNI static inline __m512i block_order(int half) {
  uint8_t ix[64];
  for (int k = 0; k < 8; k++)
    for (int p = 0; p < 8; p++) {
      const int q = p & 3;
      const int lane = 2 * (q >> 1) + half;
      ix[8 * k + 7 - p] = (uint8_t)((p >= 4 ? 64 : 0) + 16 * lane + 8 * (q & 1) + k);
    }
  return _mm512_loadu_si512(ix);
}

TARGET_GFNI static inline __attribute__((always_inline)) void bytes8_gfni(
    const uint32_t *const plane[8], int i, __m512i out[8]) {
  __m512i P[8], a[8], b[8];
  for (int k = 0; k < 8; k++)
    P[k] = plane[k] != NULL ? _mm512_loadu_si512(plane[k] + 2 * i) : _mm512_setzero_si512();
  for (int k = 0; k < 4; k++) { /* pair k of words 2L (a[k]) and 2L + 1 (a[4 + k]), lane L */
    a[k] = _mm512_unpacklo_epi64(P[2 * k], P[2 * k + 1]);
    a[4 + k] = _mm512_unpackhi_epi64(P[2 * k], P[2 * k + 1]);
  }
  for (int h = 0; h < 2; h++) /* b[4h + 2c + d]: pairs 2c, 2c + 1 of words h + 2d, h + 2d + 4 */
    for (int c = 0; c < 2; c++) {
      b[4 * h + 2 * c] = _mm512_shuffle_i64x2(a[4 * h + 2 * c], a[4 * h + 2 * c + 1],
                                              _MM_SHUFFLE(2, 0, 2, 0));
      b[4 * h + 2 * c + 1] = _mm512_shuffle_i64x2(a[4 * h + 2 * c], a[4 * h + 2 * c + 1],
                                                  _MM_SHUFFLE(3, 1, 3, 1));
    }
  const __m512i order[2] = {block_order(0), block_order(1)};
  const __m512i unit = _mm512_set1_epi64((long long)0x8040201008040201ULL);
  for (int w = 0; w < 8; w++) {
    const int h = w & 1, d = (w >> 1) & 1, half = w >> 2;
    const __m512i z = _mm512_permutex2var_epi8(b[4 * h + d], order[half], b[4 * h + 2 + d]);
    out[w] = _mm512_gf2p8affine_epi64_epi8(unit, z, 0);
  }
}

/* Planes [from, to) of the piece's inputs as bytes8's plane list. */
static inline void input_planes(const invrg_planes_piece *pc, int from, int to,
                                const uint32_t *plane[8]) {
  for (int b = 0; b < 8; b++) plane[b] = from + b < to ? pc->in[from + b] : NULL;
}

/* The random planes 0 … 7 as the top byte R of each site's u: plane j is bit 7 − j. */
static inline void random_planes(invrg_planes_rnd rnd, const uint32_t *plane[8]) {
  for (int b = 0; b < 8; b++) plane[b] = rnd[(7 - b) / 4][(7 - b) % 4];
}

/* Planes 0 … 7 of word i decided at once: the bit-serial comparison of the u's top byte R
 * with the threshold's top byte t from the most significant bit leaves a site up iff R < t,
 * undecided iff R = t. */
INVRG_TARGET_AVX512 static inline __attribute__((always_inline)) void compare_top_bytes(
    const invrg_planes_piece *pc, int i, __m512i R, __m512i t, uint32_t *up, uint32_t *und) {
  const uint64_t v = word_of(pc->valid, i);
  word_store(up, i, v & _cvtmask64_u64(_mm512_cmplt_epu8_mask(R, t)));
  word_store(und, i, v & _cvtmask64_u64(_mm512_cmpeq_epi8_mask(R, t)));
}

/* The patterns of 32 sites as 16-bit lanes: pattern bytes lo (bits 0–7) and hi (8–15). */
#define PATTERNS16(lo, hi, half)                                                               \
  _mm512_or_si512(_mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64((lo), (half))),               \
                  _mm512_slli_epi16(_mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64((hi), (half))), \
                                    8))

/* The entries of word i's sites, whose patterns have bytes lo and hi, through the vertex cache
 * (dream_planes_table.h): the word's 64 patterns against those kept where its vertices would
 * be; a quarter of 16 sites that differs anywhere gathers its entries (and keeps them with its
 * patterns), the others are read. e[q]: the entries of sites 16q … 16q + 15; byte ab of an
 * entry is the top byte of child ab. */
INVRG_TARGET_AVX512 static inline __attribute__((always_inline)) void entries_cached(
    const table_bits *tb, const invrg_planes_piece *pc, int i, __m512i lo, __m512i hi,
    cache_rows rows, uint64_t *gathered, __m512i e[4]) {
  const size_t e0 = cache_place(tb, pc, i, rows);
  uint16_t *kept = tb->cache.pattern + e0;
  uint32_t *entry = tb->cache.entry + e0;
  const __m512i p[2] = {PATTERNS16(lo, hi, 0), PATTERNS16(lo, hi, 1)};
  const uint64_t same =
      (uint64_t)_mm512_cmpeq_epi16_mask(p[0], _mm512_loadu_si512(kept)) |
      (uint64_t)_mm512_cmpeq_epi16_mask(p[1], _mm512_loadu_si512(kept + 32)) << 32;
  if (same != ~UINT64_C(0)) {
    _mm512_storeu_si512(kept, p[0]);
    _mm512_storeu_si512(kept + 32, p[1]);
  }
  /* quarter q (a literal: the extract takes an immediate at every optimisation level) */
#define QUARTER(q)                                                                            \
  do {                                                                                        \
    if ((same >> (16 * (q)) & 0xffff) == 0xffff) {                                            \
      e[q] = _mm512_loadu_si512(entry + 16 * (q));                                            \
    } else {                                                                                  \
      e[q] = _mm512_i32gather_epi32(                                                          \
          _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(p[(q) >> 1], (q) & 1)), tb->entry, 4); \
      _mm512_storeu_si512(entry + 16 * (q), e[q]);                                            \
      ++*gathered;                                                                            \
    }                                                                                         \
  } while (0)
  QUARTER(0);
  QUARTER(1);
  QUARTER(2);
  QUARTER(3);
#undef QUARTER
}

/* Byte ab of each entry, site order: shifted down and narrowed, a quarter at a time. */
INVRG_TARGET_AVX512 static inline __attribute__((always_inline)) __m512i top_bytes_of(
    const __m512i e[4], int ab) {
  const __m512i shift = _mm512_set1_epi32(8 * ab);
  __m512i t = _mm512_setzero_si512();
  t = _mm512_inserti32x4(t, _mm512_cvtepi32_epi8(_mm512_srlv_epi32(e[0], shift)), 0);
  t = _mm512_inserti32x4(t, _mm512_cvtepi32_epi8(_mm512_srlv_epi32(e[1], shift)), 1);
  t = _mm512_inserti32x4(t, _mm512_cvtepi32_epi8(_mm512_srlv_epi32(e[2], shift)), 2);
  return _mm512_inserti32x4(t, _mm512_cvtepi32_epi8(_mm512_srlv_epi32(e[3], shift)), 3);
}

/* The same with VBMI: byte 4s + ab of each pair of quarters picked by one byte permute
 * (tb->pick[ab]: byte s of the register = 4 (s mod 32) + ab), the two halves blended. Three
 * instructions where the shifts and narrowings take twelve (the narrowings two µops each). */
TARGET_GFNI static inline __attribute__((always_inline)) __m512i top_bytes_vbmi(
    const __m512i e[4], const __m512i pick) {
  const __m512i low = _mm512_permutex2var_epi8(e[0], pick, e[1]);
  const __m512i high = _mm512_permutex2var_epi8(e[2], pick, e[3]);
  return _mm512_mask_blend_epi8(_cvtu64_mask64(~UINT64_C(0) << 32), low, high);
}

/* top_bytes_vbmi()'s byte permutes of the four children, in registers. */
TARGET_GFNI static inline void pick_load(const table_bits *tb, __m512i pick[4]) {
  for (int ab = 0; ab < 4; ab++) pick[ab] = _mm512_loadu_si512(tb->pick[ab]);
}
#undef PATTERNS16

/* Any window, eight words at a time (the piece's inputs and valid sites are zero up to a
 * multiple of eight words): pattern and random bytes by @p BYTES8, entries through the vertex
 * cache, top bytes by @p TOP_BYTES (with the constants @p PICK_INIT loads). */
#define GATHER_KERNEL(name, TARGET, BYTES8, PICK_INIT, TOP_BYTES)                                \
  TARGET void name(const table_bits *tb, const invrg_planes_piece *pc, int words,               \
                   invrg_planes_rnd rnd, uint32_t *up, uint32_t *und) {                          \
    const cache_rows rows = cache_rows_of(tb, pc);                                               \
    __m512i pick[4];                                                                             \
    PICK_INIT(tb, pick);                                                                         \
    const uint32_t *lo_planes[8], *hi_planes[8], *r_planes[8];                                   \
    input_planes(pc, 0, tb->bits < 8 ? tb->bits : 8, lo_planes);                                 \
    input_planes(pc, 8, tb->bits, hi_planes);                                                    \
    random_planes(rnd, r_planes);                                                                \
    uint64_t gathered = 0; /* counted here, kept with the cache at the end (tests) */            \
    for (int i = 0; i < words; i += 8) {                                                         \
      __m512i lo[8], hi[8], R[8];                                                                \
      BYTES8(lo_planes, i, lo);                                                                  \
      BYTES8(hi_planes, i, hi);                                                                  \
      BYTES8(r_planes, i, R);                                                                    \
      for (int w = 0; w < 8 && i + w < words; w++) {                                             \
        __m512i e[4];                                                                            \
        entries_cached(tb, pc, i + w, lo[w], hi[w], rows, &gathered, e);                         \
        compare_top_bytes(pc, i + w, R[w], TOP_BYTES(e, pick, pc->child[i + w]), up, und);       \
      }                                                                                          \
    }                                                                                            \
    tb->cache.counts[0] += 4 * (uint64_t)words;                                                  \
    tb->cache.counts[1] += gathered;                                                             \
  }

#define NO_PICK(tb, pick) (void)(pick)
#define SHIFTED(e, pick, ab) top_bytes_of((e), (ab))
#define PICKED(e, pick, ab) top_bytes_vbmi((e), (pick)[(ab)])
GATHER_KERNEL(invrg_planes_table_first_avx512, INVRG_TARGET_AVX512, bytes8_masked, NO_PICK,
              SHIFTED)
GATHER_KERNEL(invrg_planes_table_first_gfni, TARGET_GFNI, bytes8_gfni, pick_load, PICKED)
#undef GATHER_KERNEL
#undef NO_PICK
#undef SHIFTED
#undef PICKED

/* Windows of at most 9 spins with VBMI (and GFNI): a child's 512 top bytes are 8 registers;
 * bits 0–6 of the pattern pick a byte of a pair of them (vpermi2b), bits 7 and 8 the pair
 * (blends). */
TARGET_GFNI void invrg_planes_table_first_vbmi(const table_bits *tb,
                                              const invrg_planes_piece *pc, int words,
                                              invrg_planes_rnd rnd, uint32_t *up,
                                              uint32_t *und) {
  const uint32_t *idx_planes[8], *r_planes[8];
  input_planes(pc, 0, tb->bits < 7 ? tb->bits : 7, idx_planes);
  random_planes(rnd, r_planes);
  __m512i tab[8];
  int child = pc->child[0];
  for (int q = 0; q < 8; q++)
    tab[q] = _mm512_loadu_si512(tb->top + (size_t)child * tb->stride + 64 * q);
  for (int i = 0; i < words; i += 8) {
    __m512i idx[8], R[8];
    bytes8_gfni(idx_planes, i, idx);
    bytes8_gfni(r_planes, i, R);
    for (int w = 0; w < 8 && i + w < words; w++) {
      if (pc->child[i + w] != child) { /* a row's words share their child */
        child = pc->child[i + w];
        const uint8_t *top = tb->top + (size_t)child * tb->stride;
        for (int q = 0; q < 8; q++) tab[q] = _mm512_loadu_si512(top + 64 * q);
      }
      const __mmask64 k7 = _cvtu64_mask64(tb->bits > 7 ? word_of(pc->in[7], i + w) : 0);
      const __mmask64 k8 = _cvtu64_mask64(tb->bits > 8 ? word_of(pc->in[8], i + w) : 0);
      const __m512i t0 = _mm512_permutex2var_epi8(tab[0], idx[w], tab[1]);
      const __m512i t1 = _mm512_permutex2var_epi8(tab[2], idx[w], tab[3]);
      const __m512i t2 = _mm512_permutex2var_epi8(tab[4], idx[w], tab[5]);
      const __m512i t3 = _mm512_permutex2var_epi8(tab[6], idx[w], tab[7]);
      const __m512i t = _mm512_mask_blend_epi8(k8, _mm512_mask_blend_epi8(k7, t0, t1),
                                               _mm512_mask_blend_epi8(k7, t2, t3));
      compare_top_bytes(pc, i + w, R[w], t, up, und);
    }
  }
}

#endif

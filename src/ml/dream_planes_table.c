/*
 * The window-table kernel of the random bit planes (dream_planes.h): sym5, sym7 and conv with
 * k ≤ 3 (dream_table.c). A word's 64 spins are children (α, β) of 64 consecutive coarse sites,
 * so window spin (r, c) of all of them is one input plane, k = c·n + r, and a site's window
 * pattern (dream_internal.h: bit c·n + r says the spin is up) is the complement of its bits
 * across the planes. Per word the 64 patterns are put together by transposing the planes and
 * the thresholds' top bytes looked up (bits 31 … 24: threshold planes 0 … 7, what the first eight
 * random planes are compared with); the rare sites still undecided after them read their whole
 * threshold, T itself. This file: the portable kernel (8 × 8 bit transposes, the top bytes
 * transposed back into planes), the dispatch, the further planes and the kernel's tables; the
 * x86 kernels are in dream_planes_table_x86.c.
 */
#include <stdlib.h>
#include <string.h>

#include "ml/dream_planes_table.h"

enum { PIECE = INVRG_PLANES_PIECE, FIRST = INVRG_PLANES_FIRST };

static bool only_gathers, only_masked_adds; /* tests: less than the CPU could do */

void invrg_planes_table_limit(bool gathers, bool masked_adds) {
  only_gathers = gathers, only_masked_adds = masked_adds;
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

/* Threshold planes 0 … 7 of one word from its input planes @p pl (a window of @p bits spins). */
static inline __attribute__((always_inline)) void threshold_planes(int bits, const uint8_t *top,
                                                                   const uint64_t *pl,
                                                                   uint64_t planes[FIRST]) {
  const int low = bits < 8 ? bits : 8;
  for (int j = 0; j < FIRST; j++) planes[j] = 0;
  for (int g = 0; g < 8; g++) {
    const uint64_t lo = pattern_bytes(pl, 0, low, g);
    const uint64_t hi = bits > 8 ? pattern_bytes(pl, 8, bits, g) : 0;
    uint64_t t = 0; /* byte k: the top byte of site 8g + k's threshold */
    for (int k = 0; k < 8; k++)
      t |= (uint64_t)top[(lo >> (8 * k) & 0xff) | (hi >> (8 * k) & 0xff) << 8] << (8 * k);
    t = transpose8(t); /* byte c: bit 24 + c of the eight thresholds = plane 7 − c */
    for (int j = 0; j < FIRST; j++) planes[j] |= (t >> (8 * (7 - j)) & 0xff) << (8 * g);
  }
}

static inline __attribute__((always_inline)) void first_generic_body(
    const table_bits *tb, int bits, const invrg_planes_piece *pc, int words,
    invrg_planes_rnd rnd, uint32_t *up, uint32_t *und) {
  for (int i = 0; i < words; i++) {
    uint64_t pl[INVRG_PLANES_INPUTS], planes[FIRST], a = 0, u = word_of(pc->valid, i);
    for (int b = 0; b < bits; b++) pl[b] = word_of(pc->in[b], i);
    threshold_planes(bits, tb->top + pc->child[i] * tb->stride, pl, planes);
    for (int j = 0; j < FIRST; j++)
      INVRG_PLANES_COMPARE(a, u, word_of(rnd[j / 4][j % 4], i), planes[j]);
    word_store(up, i, a);
    word_store(und, i, u);
  }
}

/* The portable kernel, its loops unrolled for the windows there are (3 × 3, 4 × 4). */
static void table_first_generic(const table_bits *tb, const invrg_planes_piece *pc, int words,
                                invrg_planes_rnd rnd, uint32_t *up, uint32_t *und) {
  if (tb->bits == 9)
    first_generic_body(tb, 9, pc, words, rnd, up, und);
  else if (tb->bits == 16)
    first_generic_body(tb, 16, pc, words, rnd, up, und);
  else
    first_generic_body(tb, tb->bits, pc, words, rnd, up, und);
}

/* ------------------------------------------------------------------ the kernel */

static void table_first(const invrg_planes_kernel *k, const invrg_planes_piece *pc, int halves,
                        invrg_planes_rnd rnd, uint32_t *up, uint32_t *und,
                        invrg_simd_level level) {
  const table_bits *tb = k->data;
  const int words = halves / 2;
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512 && tb->vbmi && !only_gathers) {
    invrg_planes_table_first_vbmi(tb, pc, words, rnd, up, und);
    return;
  }
  if (level == INVRG_SIMD_AVX512 && tb->gfni && !only_masked_adds) {
    invrg_planes_table_first_gfni(tb, pc, words, rnd, up, und);
    return;
  }
  if (level == INVRG_SIMD_AVX512) {
    invrg_planes_table_first_avx512(tb, pc, words, rnd, up, und);
    return;
  }
  if (level == INVRG_SIMD_AVX2) {
    invrg_planes_table_first_avx2(tb, pc, words, rnd, up, und);
    return;
  }
#endif
  (void)level;
  table_first_generic(tb, pc, words, rnd, up, und);
}

/* Index of the lowest set bit of x ≠ 0. */
static inline int lowest_bit(uint32_t x) {
#if defined(__GNUC__)
  return __builtin_ctz(x);
#else
  int s = 0;
  while (!(x >> s & 1)) s++;
  return s;
#endif
}

/* Planes j0 … j0 + 3 of waiting half-words: each undecided site (about one a half-word) reads
 * its whole threshold. The table of 4 × 4 windows is 1 MiB, so those reads mostly miss the
 * cache: a block of half-words first finds where its sites' thresholds are and asks for them
 * all (prefetch), then reads them, the misses overlapped. */
static inline __attribute__((always_inline)) void more_body(
    const table_bits *tb, int bits, const invrg_planes_piece *pc, const int *half, int n, int j0,
    const uint32_t (*extra)[2 * PIECE], uint32_t *up, uint32_t *und) {
  enum { BLOCK = 16 };
  for (int q0 = 0; q0 < n; q0 += BLOCK) {
    const int q1 = n - q0 < BLOCK ? n : q0 + BLOCK;
    uint32_t at[BLOCK * 32]; /* T index of each undecided site, in order */
    int m = 0;
    for (int q = q0; q < q1; q++) {
      const int t = half[q];
      const uint32_t T0 = (uint32_t)pc->child[t / 2] << bits;
      for (uint32_t left = und[t]; left != 0; left &= left - 1) {
        const int s = lowest_bit(left);
        uint32_t D = 0;
        for (int b = 0; b < bits; b++) D |= (pc->in[b][t] >> s & 1) << b;
        at[m] = T0 | (D ^ tb->mask);
        __builtin_prefetch(tb->T + at[m]);
        m++;
      }
    }
    m = 0;
    for (int q = q0; q < q1; q++) {
      const int t = half[q];
      uint32_t a = up[t], u = und[t], planes[INVRG_PLANES_ROUND] = {0};
      for (uint32_t left = u; left != 0; left &= left - 1) {
        const int s = lowest_bit(left);
        const uint32_t thr = tb->T[at[m++]];
        for (int j = 0; j < INVRG_PLANES_ROUND; j++) planes[j] |= (thr >> (31 - j0 - j) & 1) << s;
      }
      for (int j = 0; j < INVRG_PLANES_ROUND; j++)
        INVRG_PLANES_COMPARE(a, u, extra[j][q], planes[j]);
      up[t] = a;
      und[t] = u;
    }
  }
}

static void table_more(const invrg_planes_kernel *k, const invrg_planes_piece *pc,
                       const int *half, int n, int j0, const uint32_t (*extra)[2 * PIECE],
                       uint32_t *up, uint32_t *und) {
  const table_bits *tb = k->data;
  if (tb->bits == 9)
    more_body(tb, 9, pc, half, n, j0, extra, up, und);
  else if (tb->bits == 16)
    more_body(tb, 16, pc, half, n, j0, extra, up, und);
  else
    more_body(tb, tb->bits, pc, half, n, j0, extra, up, und);
}

/* AVX-512 VBMI and GFNI (Ice Lake, Zen 4 and later): byte permutes and bit transposes. */
static bool cpu_has_vbmi_gfni(void) {
#if INVRG_SIMD_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("gfni");
#else
  return false;
#endif
}

/* Elements of the vertex cache for colour rows of up to @p max_lc sites (W words): the vertex
 * rows of a piece's fine rows (PIECE / W rows, about half as many vertex rows, which the other
 * colour's piece reads next) and two more, in a power of two of slots of 64·(W + 1) elements:
 * 64·(2·PIECE + 4·(W + 1)) holds at least PIECE / (W + 1) + 1 of them, and at least 4. */
static size_t cache_len(int64_t max_lc) {
  const size_t W = (size_t)((max_lc + 63) / 64);
  return 64 * (2 * (size_t)INVRG_PLANES_PIECE + 4 * (W + 1));
}

/* Bytes before @p offset rounded up to a multiple of 64. */
static size_t aligned(size_t offset) { return (offset + 63) & ~(size_t)63; }

invrg_err invrg_planes_kernel_table(const window_table *t, int64_t max_lc,
                                    invrg_planes_kernel *k) {
  invrg_err err = INVRG_SUCCESS;
  memset(k, 0, sizeof *k);
  INVRG_CHECK(t->T != NULL && t->bits <= INVRG_PLANES_INPUTS, INVRG_ERR_RUNTIME,
              "random bit planes need a window table of at most %d spins",
              INVRG_PLANES_INPUTS);
  const size_t size = (size_t)1 << t->bits, stride = size > 512 ? size : 512;
  const size_t len = cache_len(max_lc);
  const size_t at_entry = aligned(sizeof(table_bits) + 4 * stride),
               at_cache = aligned(at_entry + 4 * size), at_pattern = aligned(at_cache + 4 * len),
               at_counts = aligned(at_pattern + 2 * len);
  char *block = aligned_alloc(64, at_counts + 64);
  INVRG_CHECK_ALLOC(block);
  table_bits *tb = (table_bits *)(void *)block;
  memset(tb, 0, sizeof *tb);
  tb->bits = t->bits, tb->mask = (uint32_t)size - 1, tb->stride = stride, tb->T = t->T;
  tb->gfni = cpu_has_vbmi_gfni();
  tb->vbmi = t->bits <= 9 && tb->gfni;
  tb->entry = (uint32_t *)(void *)(block + at_entry);
  tb->cache = (vertex_cache){(uint16_t *)(void *)(block + at_pattern),
                             (uint32_t *)(void *)(block + at_cache), len,
                             (uint64_t *)(void *)(block + at_counts)};
  tb->cache.counts[0] = tb->cache.counts[1] = 0;
  for (size_t ab = 0; ab < 4; ab++) {
    memset(tb->top + ab * stride + size, 0, stride - size);
    for (size_t D = 0; D < size; D++)
      tb->top[ab * stride + D] = (uint8_t)(t->T[ab << t->bits | (D ^ tb->mask)] >> 24);
    tb->drow[ab] = (int8_t)(t->lo[ab >> 1] - t->lo[0]);
    tb->dcol[ab] = (int8_t)(t->lo[ab & 1] - t->lo[0]);
  }
  for (int ab = 0; ab < 4; ab++)
    for (int b = 0; b < 64; b++) tb->pick[ab][b] = (uint8_t)(4 * (b % 32) + ab);
  for (size_t D = 0; D < size; D++)
    tb->entry[D] = (uint32_t)tb->top[D] | (uint32_t)tb->top[stride + D] << 8 |
                   (uint32_t)tb->top[2 * stride + D] << 16 |
                   (uint32_t)tb->top[3 * stride + D] << 24;
  memset(tb->cache.pattern, 0, 2 * len); /* pattern 0 and its entry: a valid start */
  for (size_t e = 0; e < len; e++) tb->cache.entry[e] = tb->entry[0];
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

void invrg_planes_kernel_lookups(const invrg_planes_kernel *k, uint64_t counts[2]) {
  const table_bits *tb = k->first == table_first ? k->data : NULL;
  counts[0] = tb != NULL ? tb->cache.counts[0] : 0;
  counts[1] = tb != NULL ? tb->cache.counts[1] : 0;
}

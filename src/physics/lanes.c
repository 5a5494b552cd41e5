/* Measurements of bit-sliced lattices (lanes.h). Every sum is a count of down bits per lane
 * (spins, unequal neighbours, products that are −1): s = 1 − 2·down turns a sum of N terms into
 * N − 2·count. */
#include "invrg/lanes.h"

#include <stdlib.h>
#include <string.h>

#include "invrg/bitops.h"
#include "invrg/rng.h"
#include "invrg/simd.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

/* Counts below 2^24 (32² sites × 4 terms, with room); lattices of side up to MAX_L. */
enum { COUNT_BITS = 24, LANES = 64, MAX_L = INVRG_LANES_MAX_L, MAX_N = MAX_L * MAX_L };

/* ---------------------------------------------------------------- counting down bits per lane */

/* Portable: a binary counter per lane, bit-sliced (bit i of plane p is bit p of lane i's
 * count), each word added by a ripple carry that stops when no lane carries; one 64 × 64
 * transposition reads the counts. */
static void count_generic(const uint64_t *w, size_t n, int32_t count[LANES]) {
  uint64_t plane[LANES] = {0};
  for (size_t k = 0; k < n; k++)
    for (uint64_t x = w[k], p = 0; x != 0; p++) {
      const uint64_t carry = plane[p] & x;
      plane[p] ^= x;
      x = carry;
    }
  invrg_transpose64(plane);
  for (int i = 0; i < LANES; i++) count[i] = (int32_t)plane[i];
}

#if INVRG_SIMD_X86
/* total[q] += weight × byte 16q + l of @p bytes, as 32-bit counts of lanes 16q … 16q + 15. */
INVRG_TARGET_AVX512 static inline void widen_bytes(__m512i total[4], __m512i bytes, unsigned shift) {
  total[0] = _mm512_add_epi32(
      total[0], _mm512_slli_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(bytes, 0)), shift));
  total[1] = _mm512_add_epi32(
      total[1], _mm512_slli_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(bytes, 1)), shift));
  total[2] = _mm512_add_epi32(
      total[2], _mm512_slli_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(bytes, 2)), shift));
  total[3] = _mm512_add_epi32(
      total[3], _mm512_slli_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(bytes, 3)), shift));
}

/* A carry-save adder of three bit vectors: sum a ⊕ b ⊕ c, carry the majority of a, b, c. */
INVRG_TARGET_AVX512 static inline __m512i csa(__m512i *carry, __m512i a, __m512i b, __m512i c) {
  *carry = _mm512_ternarylogic_epi64(a, b, c, 0xE8);
  return _mm512_ternarylogic_epi64(a, b, c, 0x96);
}

/* bytes −= the bits of the eight words of @p v, each a 0 or −1 byte per lane (VPMOVM2B). */
INVRG_TARGET_AVX512 static inline __m512i sub_words8(__m512i bytes, __m512i v) {
  uint64_t q[8];
  _mm512_storeu_si512(q, v);
  for (int k = 0; k < 8; k++) bytes = _mm512_sub_epi8(bytes, _mm512_movm_epi8((__mmask64)q[k]));
  return bytes;
}

/*
 * Runs of 128 words (Harley and Seal's carry-save tree, in eight 64-bit columns of a vector):
 * sixteen vectors are added into bit-sliced counters ones, twos, fours, eights, and what
 * carries out, one "sixteen" per lane bit, goes to byte counters: 8 VPMOVM2B per 128 words,
 * not 128. Adds the runs' counts to @p total and returns the words it took.
 */
INVRG_TARGET_AVX512 static size_t count_runs_avx512(const uint64_t *w, size_t n, __m512i total[4]) {
  enum { RUNS_PER_FLUSH = 31 }; /* 8 sixteens a run: 31 · 8 ≤ 255 in a byte */
  if (n < 128) return 0;
  const __m512i zero = _mm512_setzero_si512();
  __m512i ones = zero, twos = zero, fours = zero, eights = zero, sixteens_bytes = zero;
  size_t i = 0;
  for (int runs = 0; i + 128 <= n; i += 128) {
    __m512i eights_of[2], sixteens;
    for (int h = 0; h < 2; h++) { /* 64 words into ones … fours, an eight carried out */
      __m512i v[8], twos_a, twos_b, fours_a, fours_b;
      for (int k = 0; k < 8; k++) v[k] = _mm512_loadu_si512(w + i + 64 * (size_t)h + 8 * (size_t)k);
      ones = csa(&twos_a, ones, v[0], v[1]);
      ones = csa(&twos_b, ones, v[2], v[3]);
      twos = csa(&fours_a, twos, twos_a, twos_b);
      ones = csa(&twos_a, ones, v[4], v[5]);
      ones = csa(&twos_b, ones, v[6], v[7]);
      twos = csa(&fours_b, twos, twos_a, twos_b);
      fours = csa(&eights_of[h], fours, fours_a, fours_b);
    }
    eights = csa(&sixteens, eights, eights_of[0], eights_of[1]);
    sixteens_bytes = sub_words8(sixteens_bytes, sixteens);
    if (++runs == RUNS_PER_FLUSH) {
      widen_bytes(total, sixteens_bytes, 4);
      sixteens_bytes = zero, runs = 0;
    }
  }
  widen_bytes(total, sixteens_bytes, 4);
  /* what the counters hold, a plane at a time: at most 8 a byte, times the plane's weight */
  const __m512i planes[4] = {ones, twos, fours, eights};
  for (unsigned b = 0; b < 4; b++) widen_bytes(total, sub_words8(zero, planes[b]), b);
  return i;
}

/* AVX-512: a byte per lane, the word's bits turned into 64 bytes of 0 or −1 (VPMOVM2B) and
 * subtracted, widened to 32 bits every 255 words; long arrays first in runs of 128 words. */
INVRG_TARGET_AVX512 static void count_avx512(const uint64_t *w, size_t n, int32_t count[LANES]) {
  __m512i total[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
  for (size_t i = count_runs_avx512(w, n, total); i < n;) {
    const size_t chunk = n - i < 255 ? n - i : 255;
    __m512i bytes = _mm512_setzero_si512();
    for (size_t k = 0; k < chunk; k++)
      bytes = _mm512_sub_epi8(bytes, _mm512_movm_epi8((__mmask64)w[i + k]));
    widen_bytes(total, bytes, 0);
    i += chunk;
  }
  for (int q = 0; q < 4; q++) _mm512_storeu_si512(count + 16 * q, total[q]);
}
#endif

#if INVRG_SIMD_X86
/* AVX2: the same byte per lane, the word's eight bytes spread over the 32 byte lanes of two
 * registers (each byte lane gets the byte that holds its bit) and compared with its bit. */
INVRG_TARGET_AVX2 static void count_avx2(const uint64_t *w, size_t n, int32_t count[LANES]) {
  const __m256i spread_lo = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2,
                                             2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i spread_hi = _mm256_setr_epi8(4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6,
                                             6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
  __m256i total[8];
  for (int q = 0; q < 8; q++) total[q] = _mm256_setzero_si256();
  for (size_t i = 0; i < n;) {
    const size_t chunk = n - i < 255 ? n - i : 255;
    __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
    for (size_t k = 0; k < chunk; k++) {
      const __m256i word = _mm256_set1_epi64x((long long)w[i + k]);
      /* the shuffle works within each 128-bit half: both halves hold the whole word */
      lo = _mm256_sub_epi8(
          lo, _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(word, spread_lo), bit), bit));
      hi = _mm256_sub_epi8(
          hi, _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(word, spread_hi), bit), bit));
    }
    const __m256i halves[2] = {lo, hi};
    for (int h = 0; h < 2; h++)
      for (int q = 0; q < 4; q++) /* bytes 8q … 8q + 7 of the half: lanes 32h + 8q … */
        total[4 * h + q] = _mm256_add_epi32(
            total[4 * h + q],
            _mm256_cvtepu8_epi32(_mm_loadl_epi64(
                (const __m128i *)(const void *)((const uint8_t *)&halves[h] + 8 * q))));
    i += chunk;
  }
  for (int q = 0; q < 8; q++) _mm256_storeu_si256((__m256i *)(void *)(count + 8 * q), total[q]);
}
#endif

/* count[i]: lane i's number of set bits in w[0 … n), every lane (n < 2^24). */
static void count_bits(const uint64_t *w, size_t n, int32_t count[LANES]) {
  INVRG_ASSERT(n < ((size_t)1 << COUNT_BITS));
#if INVRG_SIMD_X86
  if (invrg_simd_active() == INVRG_SIMD_AVX512) {
    count_avx512(w, n, count);
    return;
  }
  if (invrg_simd_active() == INVRG_SIMD_AVX2) {
    count_avx2(w, n, count);
    return;
  }
#endif
  count_generic(w, n, count);
}

/* Site (x + dx, y + dy) of an L × L torus, L a power of 2. */
static inline int site(int L, int x, int y, int dx, int dy) {
  return ((y + dy) & (L - 1)) * L + ((x + dx) & (L - 1));
}

/* ---------------------------------------------------------------- measurements */

void invrg_lanes_observables(const invrg_lanes *c, invrg_config_sums *out) {
  const int L = c->L, N = L * L;
  uint64_t unequal[2 * MAX_N]; /* with the right and the lower neighbour */
  INVRG_ASSERT(L <= MAX_L);
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      const uint64_t s = c->w[y * L + x];
      unequal[2 * (y * L + x)] = s ^ c->w[site(L, x, y, 1, 0)];
      unequal[2 * (y * L + x) + 1] = s ^ c->w[site(L, x, y, 0, 1)];
    }
  int32_t d[LANES], u[LANES];
  count_bits(c->w, (size_t)N, d);
  count_bits(unequal, 2 * (size_t)N, u);
  for (int i = 0; i < c->n; i++) /* B = Σ s s' over 2N bonds, M = Σ s */
    out[i] = (invrg_config_sums){.bonds = 2 * N - 2 * (int64_t)u[i],
                                 .magnetisation = N - 2 * (int64_t)d[i], .sites = N};
}

void invrg_lanes_line_sums(const invrg_lanes *c, int64_t *rows, int64_t *cols) {
  const int L = c->L, n = c->n;
  uint64_t column[MAX_L];
  int32_t down[LANES];
  INVRG_ASSERT(L <= MAX_L);
  for (int k = 0; k < L; k++) { /* line k of lane i: L − 2 · (its down spins) */
    int64_t *row = rows + (size_t)k * (size_t)n, *col = cols + (size_t)k * (size_t)n;
    for (int j = 0; j < L; j++) column[j] = c->w[j * L + k];
    count_bits(c->w + (size_t)k * (size_t)L, (size_t)L, down);
    for (int i = 0; i < n; i++) row[i] = L - 2 * (int64_t)down[i];
    count_bits(column, (size_t)L, down);
    for (int i = 0; i < n; i++) col[i] = L - 2 * (int64_t)down[i];
  }
}

/* The farthest offset of any spin of @p ops, in x or y. */
static int reach_of(const invrg_operator *ops, int n_ops) {
  int r = 0;
  for (int a = 0; a < n_ops; a++)
    for (int t = 0; t < ops[a].n_terms; t++)
      for (int k = 0; k < ops[a].n_spins[t]; k++) {
        const int dx = abs(ops[a].spin[t][k].dx), dy = abs(ops[a].spin[t][k].dy);
        r = dx > r ? dx : r;
        r = dy > r ? dy : r;
      }
  return r;
}

/* Every term of @p op at every site of an L × L field, from its padding (below) of width
 * W = L + 2R: a word −1 in the lanes where an odd number of the term's spins is down. Returns
 * the words written. */
static inline __attribute__((always_inline)) size_t
term_products(const uint64_t *padded, int L, int R, const invrg_operator *op, uint64_t *products) {
  const int W = L + 2 * R;
  uint64_t *p = products;
  for (int t = 0; t < op->n_terms; t++)
    for (int y = 0; y < L; y++, p += L) { /* S(dy, dx) at (x, y): (x − dx, y − dy) */
      const uint64_t *r[INVRG_OP_MAX_SPINS];
      for (int k = 0; k < op->n_spins[t]; k++)
        r[k] = padded + (y - op->spin[t][k].dy + R) * W + R - op->spin[t][k].dx;
      /* each word written once (a store of zeros, then loads of other widths from it, stalls
       * the store forwarding) */
      switch (op->n_spins[t]) {
      case 1:
        for (int x = 0; x < L; x++) p[x] = r[0][x];
        break;
      case 2:
        for (int x = 0; x < L; x++) p[x] = r[0][x] ^ r[1][x];
        break;
      case 3:
        for (int x = 0; x < L; x++) p[x] = r[0][x] ^ r[1][x] ^ r[2][x];
        break;
      default:
        for (int x = 0; x < L; x++) p[x] = r[0][x] ^ r[1][x] ^ r[2][x] ^ r[3][x];
      }
    }
  return (size_t)(p - products);
}

static size_t term_products_generic(const uint64_t *padded, int L, int R,
                                    const invrg_operator *op, uint64_t *products) {
  return term_products(padded, L, R, op, products);
}

#if INVRG_SIMD_X86
/* The same loops, vectorised for wider registers. */
INVRG_TARGET_AVX2 static size_t term_products_avx2(const uint64_t *padded, int L, int R,
                                                   const invrg_operator *op,
                                                   uint64_t *products) {
  return term_products(padded, L, R, op, products);
}

INVRG_TARGET_AVX512 static size_t term_products_avx512(const uint64_t *padded, int L, int R,
                                                       const invrg_operator *op,
                                                       uint64_t *products) {
  return term_products(padded, L, R, op, products);
}
#endif

void invrg_lanes_operator_sums(const invrg_lanes *c, const invrg_operator *ops, int n_ops,
                               int64_t *sums) {
  enum { MAX_REACH = 8, MAX_W = MAX_L + 2 * MAX_REACH };
  const int L = c->L, N = L * L, R = reach_of(ops, n_ops), W = L + 2 * R;
  uint64_t padded[MAX_W * MAX_W], products[INVRG_OP_MAX_TERMS * MAX_N];
  INVRG_ASSERT(L <= MAX_L && R <= MAX_REACH);
  /* the field with its periodic images R sites around: every spin of a term at (x, y) is then
   * word x of a row, (x − dx, y − dy) read as row y − dy + R from column R − dx on */
  for (int y = -R; y < L + R; y++)
    for (int x = -R; x < L + R; x++) padded[(y + R) * W + x + R] = c->w[site(L, x, y, 0, 0)];
  size_t (*products_of)(const uint64_t *, int, int, const invrg_operator *, uint64_t *) =
      term_products_generic;
#if INVRG_SIMD_X86
  if (invrg_simd_active() == INVRG_SIMD_AVX512) products_of = term_products_avx512;
  if (invrg_simd_active() == INVRG_SIMD_AVX2) products_of = term_products_avx2;
#endif
  enum { CHUNK = 16 }; /* operators counted before their sums are written */
  int32_t down[CHUNK][LANES];
  for (int a0 = 0; a0 < n_ops; a0 += CHUNK) {
    const int a1 = n_ops - a0 < CHUNK ? n_ops : a0 + CHUNK;
    for (int a = a0; a < a1; a++)
      count_bits(products, products_of(padded, L, R, &ops[a], products), down[a - a0]);
    for (int i = 0; i < c->n; i++) /* a term sums to N − 2 · (its products that are −1) */
      for (int a = a0; a < a1; a++)
        sums[(size_t)i * (size_t)n_ops + (size_t)a] =
            (int64_t)ops[a].n_terms * N - 2 * (int64_t)down[a - a0][i];
  }
}

void invrg_lanes_block(const invrg_lanes *fine, invrg_tie_rule rule, const uint64_t *coins,
                       uint64_t *coarse, int64_t *ties) {
  const int L = fine->L, Lc = L / 2;
  const uint64_t *w = fine->w;
  uint64_t tied[MAX_N / 4];
  INVRG_ASSERT(L <= MAX_L);
  for (int Y = 0; Y < Lc; Y++)
    for (int X = 0; X < Lc; X++) {
      const uint64_t a = w[2 * Y * L + 2 * X], b = w[2 * Y * L + 2 * X + 1],
                     c = w[(2 * Y + 1) * L + 2 * X], d = w[(2 * Y + 1) * L + 2 * X + 1];
      /* down spins of the pairs (a, b) and (c, d): 2 (c1, c2) or 1 (s1, s2) */
      const uint64_t s1 = a ^ b, c1 = a & b, s2 = c ^ d, c2 = c & d;
      const uint64_t three = (c1 & (s2 | c2)) | (c2 & s1); /* 3 or 4 down: −1 */
      const uint64_t tie = (c1 & ~(s2 | c2)) | (c2 & ~(s1 | c1)) | (s1 & s2);
      const uint64_t tie_down = rule == INVRG_TIE_RANDOM ? ~coins[Y * Lc + X]
                                : rule == INVRG_TIE_UP   ? 0
                                                         : a; /* upper left: (2X, 2Y) */
      coarse[Y * Lc + X] = three | (tie & tie_down);
      tied[Y * Lc + X] = tie;
    }
  int32_t count[LANES];
  count_bits(tied, (size_t)Lc * (size_t)Lc, count);
  for (int i = 0; i < fine->n; i++) ties[i] = count[i];
}

/* Coins X < Lc of a row from word 0 of each lane's block, u[i] (lanes i ≥ n read as 0):
 * coins[X] bit i = bit X of u[i]. Portable: one 64 × 64 transposition. */
static void row_coins_generic(const uint32_t *u, int n, int Lc, uint64_t *coins) {
  uint64_t a[LANES];
  for (int i = 0; i < LANES; i++) a[i] = i < n ? u[i] : 0;
  invrg_transpose64(a);
  memcpy(coins, a, (size_t)Lc * sizeof *a);
}

#if INVRG_SIMD_X86
/* The same by a bit test of sixteen lanes at once (Lc ≤ 32 bits of each word). */
INVRG_TARGET_AVX512 static void row_coins_avx512(const uint32_t *u, int n, int Lc,
                                                 uint64_t *coins) {
  __m512i v[LANES / 16];
  for (int q = 0; q < LANES / 16; q++) {
    const int left = n - 16 * q, count = left < 0 ? 0 : left > 16 ? 16 : left;
    v[q] = _mm512_maskz_loadu_epi32((__mmask16)((1u << count) - 1), u + 16 * q);
  }
  for (int X = 0; X < Lc; X++) {
    const __m512i bit = _mm512_set1_epi32((int)(1u << X));
    uint64_t word = 0;
    for (int q = 0; q < LANES / 16; q++)
      word |= (uint64_t)_mm512_test_epi32_mask(v[q], bit) << (16 * q);
    coins[X] = word;
  }
}
#endif

void invrg_lanes_tie_coins(const uint32_t *key0, const uint32_t *key1, int n, uint64_t step,
                           int Lc, uint64_t *coins) {
  const invrg_simd_level simd = invrg_simd_active();
  uint32_t u[4][LANES];
  INVRG_ASSERT(Lc <= MAX_L && n <= LANES);
  for (int Y = 0; Y < Lc; Y++) { /* rows Lc ≤ 32 wide: coin X of row Y is bit X of block Y */
    invrg_rng_items_block(key0, key1, n, step, (uint64_t)Y, 0, simd, u[0], LANES);
#if INVRG_SIMD_X86
    if (simd == INVRG_SIMD_AVX512) {
      row_coins_avx512(u[0], n, Lc, coins + (size_t)Y * (size_t)Lc);
      continue;
    }
#endif
    row_coins_generic(u[0], n, Lc, coins + (size_t)Y * (size_t)Lc);
  }
}

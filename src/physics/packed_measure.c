/* Observables and row and column sums straight from a packed lattice (invrg/packed_measure.h),
 * by XORs and popcounts of whole words; the MCRG operator sums are in packed_measure_mcrg.c.
 * Each kernel is written once (always inlined) and compiled per level of invrg_simd_active():
 * the POPCNT instruction and wider vectors where the level has them, the same numbers. */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/simd_x86.h"
#include "invrg/packed_measure.h"
#include "packed_measure_internal.h"

/* ---------------------------------------------------------------- observables */

/*
 * Word i of colour-1 row b shifted onto the sites of a colour-0 row of parity o (y even: 0):
 * bit k gets b's site k − 1 (o = 0) or k + 1 (o = 1), modulo the half sites of a row
 * (invrg/packed.h). The edge words, which wrap and must keep their padding bits 0.
 */
static PM_INLINE uint64_t side_word(const uint64_t *b, int i, int words, int64_t half,
                                    uint64_t tail, int o) {
  if (o == 0) {
    const uint64_t last = b[(half - 1) >> 6] >> ((half - 1) & 63) & 1;
    return (b[i] << 1 | (i > 0 ? b[i - 1] >> 63 : last)) & (i == words - 1 ? tail : ~UINT64_C(0));
  }
  const uint64_t first = b[0] & 1;
  return b[i] >> 1 | (i + 1 < words ? b[i + 1] << 63 : first << ((half - 1) & 63));
}

/* Unequal pairs of colour-0 word a with its four neighbours; −1 spins of words a and b. */
static PM_INLINE void obs_word(uint64_t a, uint64_t b, uint64_t u, uint64_t d, uint64_t t,
                               bool hw, int64_t *unequal, int64_t *minus) {
  const int same = pm_popcount(a ^ b, hw);
  *unequal += pm_popcount(a ^ u, hw) + pm_popcount(a ^ d, hw) + same + pm_popcount(a ^ t, hw);
  *minus += same + 2 * pm_popcount(a & b, hw); /* popcount(a) + popcount(b) */
}

/* Local row j: colour-0 row a against colour-1 rows j − 1, j, j + 1. */
static PM_INLINE void obs_row(const invrg_packed *p, int j, bool hw, int64_t *unequal,
                              int64_t *minus) {
  const uint64_t *a = invrg_packed_row(p, 0, j), *b = invrg_packed_row(p, 1, j),
                 *u = invrg_packed_row(p, 1, j - 1), *d = invrg_packed_row(p, 1, j + 1);
  const int n = p->words, o = (int)((p->y0 + j) & 1);
  int64_t ue = 0, mi = 0;
  obs_word(a[0], b[0], u[0], d[0], side_word(b, 0, n, p->half, p->tail, o), hw, &ue, &mi);
  if (o == 0)
    for (int i = 1; i < n - 1; i++)
      obs_word(a[i], b[i], u[i], d[i], b[i] << 1 | b[i - 1] >> 63, hw, &ue, &mi);
  else
    for (int i = 1; i < n - 1; i++)
      obs_word(a[i], b[i], u[i], d[i], b[i] >> 1 | b[i + 1] << 63, hw, &ue, &mi);
  if (n > 1)
    obs_word(a[n - 1], b[n - 1], u[n - 1], d[n - 1], side_word(b, n - 1, n, p->half, p->tail, o),
             hw, &ue, &mi);
  *unequal += ue;
  *minus += mi;
}

static PM_INLINE void obs_rows(const invrg_packed *p, bool hw, int64_t count[2]) {
  count[0] = count[1] = 0;
  for (int j = 0; j < p->ny; j++) obs_row(p, j, hw, &count[0], &count[1]);
}

static void obs_rows_generic(const invrg_packed *p, int64_t count[2]) { obs_rows(p, false, count); }
#if INVRG_SIMD_X86
INVRG_TARGET_AVX2 static void obs_rows_avx2(const invrg_packed *p, int64_t count[2]) {
  obs_rows(p, true, count);
}

/* Words i … i + 7 of colour-1 row b shifted as side_word() does, lanes past the row 0. The
 * wraps: o = 0 carries site half − 1 into word 0 and clears the last word's padding; o = 1
 * puts site 0 at bit half − 1 of the last word. */
INVRG_TARGET_AVX512 static __m512i side_vector(const uint64_t *b, int i, int n, int64_t half,
                                               uint64_t tail, int o, __mmask8 valid) {
  const __m512i v = _mm512_maskz_loadu_epi64(valid, b + i);
  const int top = (int)((half - 1) & 63); /* bit of site half − 1 in word n − 1 */
  const __mmask8 last = (__mmask8)(n - 1 - i < 8 ? 1u << (n - 1 - i) : 0u);
  if (o == 0) { /* site k − 1: bit 63 of the word before */
    __m512i prev = _mm512_maskz_loadu_epi64(i == 0 ? (__mmask8)(valid & 0xFE) : valid, b + i - 1);
    if (i == 0) prev = _mm512_mask_set1_epi64(prev, 1, (long long)(b[n - 1] << (63 - top)));
    const __m512i t = _mm512_or_si512(_mm512_slli_epi64(v, 1), _mm512_srli_epi64(prev, 63));
    return _mm512_mask_and_epi64(t, last, t, _mm512_set1_epi64((long long)tail));
  }
  /* site k + 1: bit 0 of the word after */
  const __mmask8 more = (__mmask8)(n - i > 8 ? valid : valid >> 1); /* words i + 1 … n − 1 */
  const __m512i next = _mm512_maskz_loadu_epi64(more, b + i + 1),
                t = _mm512_or_si512(_mm512_srli_epi64(v, 1), _mm512_slli_epi64(next, 63));
  return _mm512_mask_set1_epi64(t, last, (long long)(b[n - 1] >> 1 | (b[0] & 1) << top));
}

/* obs_row eight words a vector: lanes past the row are 0 and count nothing. */
INVRG_TARGET_AVX512 static void obs_row_avx512(const invrg_packed *p, int j, __m512i *unequal,
                                               __m512i *minus) {
  const uint64_t *a = invrg_packed_row(p, 0, j), *b = invrg_packed_row(p, 1, j),
                 *u = invrg_packed_row(p, 1, j - 1), *d = invrg_packed_row(p, 1, j + 1);
  const int n = p->words, o = (int)((p->y0 + j) & 1);
  for (int i = 0; i < n; i += 8) {
    const __mmask8 valid = (__mmask8)(n - i >= 8 ? 0xFFu : (1u << (n - i)) - 1);
    const __m512i va = _mm512_maskz_loadu_epi64(valid, a + i),
                  vb = _mm512_maskz_loadu_epi64(valid, b + i),
                  vu = _mm512_maskz_loadu_epi64(valid, u + i),
                  vd = _mm512_maskz_loadu_epi64(valid, d + i),
                  vt = side_vector(b, i, n, p->half, p->tail, o, valid);
    const __m512i same = pm_pop_bytes(_mm512_xor_si512(va, vb)),
                  both = pm_pop_bytes(_mm512_and_si512(va, vb));
    __m512i bytes = _mm512_add_epi8(same, pm_pop_bytes(_mm512_xor_si512(va, vt)));
    bytes = _mm512_add_epi8(bytes, pm_pop_bytes(_mm512_xor_si512(va, vu)));
    bytes = _mm512_add_epi8(bytes, pm_pop_bytes(_mm512_xor_si512(va, vd)));
    *unequal = _mm512_add_epi64(*unequal, pm_sum_bytes(bytes)); /* ≤ 32 a byte */
    /* popcount(a) + popcount(b) = popcount(a ^ b) + 2 popcount(a & b): one table less */
    *minus = _mm512_add_epi64(*minus,
                              pm_sum_bytes(_mm512_add_epi8(same, _mm512_add_epi8(both, both))));
  }
}

/* Rows of one word (Lx ≤ 128: the small levels of a dream) with VPOPCNTDQ: eight rows a vector
 * (a colour's rows are consecutive words, halo rows included), the side word of each lane by
 * its row's parity, as side_word() makes it. */
PM_TARGET_VPOPCNT static void obs_rows_one_word(const invrg_packed *p, int64_t count[2]) {
  const uint64_t *A = invrg_packed_row(p, 0, 0), *B = invrg_packed_row(p, 1, 0);
  const __m512i one = _mm512_set1_epi64(1), tail = _mm512_set1_epi64((long long)p->tail);
  const __m128i top = _mm_cvtsi32_si128((int)((p->half - 1) & 63)); /* bit of site half − 1 */
  __m512i unequal = _mm512_setzero_si512(), minus = _mm512_setzero_si512();
  for (int j = 0; j < p->ny; j += 8) {
    const __mmask8 m = (__mmask8)(p->ny - j >= 8 ? 0xFFu : (1u << (p->ny - j)) - 1);
    const __mmask8 odd = (__mmask8)(m & ((p->y0 + j) % 2 == 0 ? 0xAAu : 0x55u)); /* o = 1 */
    const __m512i a = _mm512_maskz_loadu_epi64(m, A + j), b = _mm512_maskz_loadu_epi64(m, B + j),
                  u = _mm512_maskz_loadu_epi64(m, B + j - 1),
                  d = _mm512_maskz_loadu_epi64(m, B + j + 1);
    const __m512i left = _mm512_and_si512(
        _mm512_or_si512(_mm512_slli_epi64(b, 1), _mm512_and_si512(_mm512_srl_epi64(b, top), one)),
        tail); /* o = 0: site k − 1, site half − 1 wrapped into bit 0 */
    const __m512i right = _mm512_or_si512(_mm512_srli_epi64(b, 1),
                                          _mm512_sll_epi64(_mm512_and_si512(b, one), top));
    const __m512i t = _mm512_mask_blend_epi64(odd, left, right);
#define POP(x) _mm512_popcnt_epi64(x)
    const __m512i same = POP(_mm512_xor_si512(a, b)), both = POP(_mm512_and_si512(a, b));
    const __m512i up_down = _mm512_add_epi64(POP(_mm512_xor_si512(a, u)), POP(_mm512_xor_si512(a, d)));
    unequal = _mm512_add_epi64(unequal, _mm512_add_epi64(same, POP(_mm512_xor_si512(a, t))));
    unequal = _mm512_add_epi64(unequal, up_down);
    /* popcount(a) + popcount(b) = popcount(a ^ b) + 2 popcount(a & b) */
    minus = _mm512_add_epi64(minus, _mm512_add_epi64(same, _mm512_add_epi64(both, both)));
#undef POP
  }
  count[0] = _mm512_reduce_add_epi64(unequal);
  count[1] = _mm512_reduce_add_epi64(minus);
}

/* Rows of fewer than 8 words (Lx < 1024) would fill a vector only partly: POPCNT word by word
 * does them faster (rows of one word eight rows a vector where the CPU has VPOPCNTDQ). */
INVRG_TARGET_AVX512 static void obs_rows_avx512(const invrg_packed *p, int64_t count[2]) {
  if (p->words == 1 && pm_vpopcnt()) {
    obs_rows_one_word(p, count);
    return;
  }
  if (p->words < 8) {
    obs_rows(p, true, count);
    return;
  }
  __m512i unequal = _mm512_setzero_si512(), minus = _mm512_setzero_si512();
  for (int j = 0; j < p->ny; j++) obs_row_avx512(p, j, &unequal, &minus);
  count[0] = _mm512_reduce_add_epi64(unequal);
  count[1] = _mm512_reduce_add_epi64(minus);
}
#endif

static bool vpopcnt_off; /* tests: the nibble tables even where VPOPCNTDQ would do */

void invrg_packed_measure_no_vpopcnt(bool off) { vpopcnt_off = off; }

bool pm_vpopcnt(void) {
#if INVRG_SIMD_X86
  static int has = -1;
  if (has < 0) {
    __builtin_cpu_init();
    has = __builtin_cpu_supports("avx512vpopcntdq") != 0;
  }
  return has == 1 && !vpopcnt_off;
#else
  return false;
#endif
}

invrg_err invrg_packed_observables_sums(const invrg_packed *p, invrg_config_sums *out) {
  invrg_err err = INVRG_SUCCESS;
  int64_t count[2], total[2]; /* unequal pairs, −1 spins */
  switch (invrg_simd_active()) {
#if INVRG_SIMD_X86
    case INVRG_SIMD_AVX512: obs_rows_avx512(p, count); break;
    case INVRG_SIMD_AVX2: obs_rows_avx2(p, count); break;
#endif
    default: obs_rows_generic(p, count); break;
  }
  if (p->size > 1)
    INVRG_MPI_CALL(MPI_Allreduce(count, total, 2, MPI_INT64_T, MPI_SUM, p->comm));
  else
    total[0] = count[0], total[1] = count[1];
  const int64_t N = p->lx * p->ly;
  out->bonds = 2 * N - 2 * total[0]; /* 4 bonds for each of the N/2 colour-0 sites */
  out->magnetisation = N - 2 * total[1];
  out->sites = N;
cleanup:
  return err;
}

/* ---------------------------------------------------------------- row and column sums */

/* Bit-sliced counters (the portable level): PLANES planes count up to 2^PLANES − 1 rows between
 * flushes. */
enum { PLANES = 8, FLUSH_ROWS = (1 << PLANES) - 1 };

/* Adds row r (1 = −1) to the counters planes[b][i]: a ripple-carry add, bit plane by plane. */
static PM_INLINE void counters_add(uint64_t *restrict planes, const uint64_t *restrict r,
                                   int words) {
  if (words <= 2) { /* short rows (small levels): stop where the carry ends, plane 2 on average */
    for (int i = 0; i < words; i++)
      for (uint64_t carry = r[i], *c = planes + i; carry != 0; c += words) {
        const uint64_t t = *c & carry;
        *c ^= carry;
        carry = t;
      }
    return;
  }
  for (int i = 0; i < words; i++) {
    uint64_t carry = r[i];
    for (int b = 0; b < PLANES; b++) {
      uint64_t *c = planes + (size_t)b * (size_t)words + i;
      const uint64_t t = *c & carry;
      *c ^= carry;
      carry = t;
    }
  }
}

/* Local rows [j0, j1) into the bit planes (the portable level): the even-x sites (colour
 * y mod 2) into planes[0], the odd into [1]; sums[j] = Σ_x s of row j = Lx − 2 · popcount of its
 * two colour rows. */
static void counters_generic(const invrg_packed *p, int j0, int j1, uint64_t *planes,
                             int64_t *sums) {
  const size_t size = (size_t)PLANES * (size_t)p->words;
  for (int j = j0; j < j1; j++) {
    const int c = (int)((p->y0 + j) & 1);
    const uint64_t *even = invrg_packed_row(p, c, j), *odd = invrg_packed_row(p, 1 - c, j);
    counters_add(planes, even, p->words);
    counters_add(planes + size, odd, p->words);
    int64_t minus = 0;
    for (int i = 0; i < p->words; i++)
      minus += pm_popcount(even[i], false) + pm_popcount(odd[i], false);
    sums[j] = p->lx - 2 * minus;
  }
}

/* The counts into minus[x] (−1 spins of column x), x = 2k + parity; clears the planes. */
static void counters_flush(const invrg_packed *p, uint64_t *planes, int parity, int64_t *minus) {
  const int words = p->words;
  for (int64_t k = 0; k < p->half; k++) {
    int64_t v = 0;
    for (int b = 0; b < PLANES; b++)
      v += (int64_t)(planes[(size_t)b * (size_t)words + (size_t)(k >> 6)] >> (k & 63) & 1) << b;
    minus[2 * k + parity] += v;
  }
  memset(planes, 0, (size_t)PLANES * (size_t)words * sizeof *planes);
}

#if INVRG_SIMD_X86
/*
 * The vector levels count in bytes instead: byte 64i + k of a colour's counters (the same
 * PLANES · words words as the bit planes) counts the rows with bit k of word i set, a row adding
 * all ones (−1) where its bits are set, 64 (AVX-512) or 32 (AVX2) columns an instruction.
 * At most FLUSH_ROWS = 255 rows between flushes.
 */
INVRG_TARGET_AVX512 static int64_t count_row_avx512(uint8_t *count, const uint64_t *row,
                                                   int words) {
  int64_t minus = 0;
  for (int i = 0; i < words; i++) {
    __m512i *at = (__m512i *)(void *)(count + 64 * (size_t)i);
    _mm512_storeu_si512(at, _mm512_sub_epi8(_mm512_loadu_si512(at),
                                            _mm512_movm_epi8(_cvtu64_mask64(row[i]))));
    minus += __builtin_popcountll(row[i]);
  }
  return minus;
}

INVRG_TARGET_AVX2 static int64_t count_row_avx2(uint8_t *count, const uint64_t *row, int words) {
  int64_t minus = 0;
  for (int i = 0; i < words; i++) {
    for (int h = 0; h < 2; h++) {
      __m256i *at = (__m256i *)(void *)(count + 64 * (size_t)i + 32 * (size_t)h);
      const __m256i ones = invrg_avx2_bytes_of_bits((uint32_t)(row[i] >> 32 * h));
      _mm256_storeu_si256(at, _mm256_sub_epi8(_mm256_loadu_si256(at), ones));
    }
    minus += __builtin_popcountll(row[i]);
  }
  return minus;
}

/* Rows [j0, j1) into the byte counters (a colour row at a time, at @p level), their sums
 * into sums[]. */
static void counters_bytes(const invrg_packed *p, int j0, int j1, uint64_t *planes,
                           int64_t *sums, invrg_simd_level level) {
  const int words = p->words;
  uint8_t *count[2] = {(uint8_t *)planes, (uint8_t *)(planes + (size_t)PLANES * (size_t)words)};
  for (int j = j0; j < j1; j++) {
    const int c = (int)((p->y0 + j) & 1);
    const uint64_t *row[2] = {invrg_packed_row(p, c, j), invrg_packed_row(p, 1 - c, j)};
    int64_t minus = 0;
    for (int parity = 0; parity < 2; parity++)
      minus += level == INVRG_SIMD_AVX512 ? count_row_avx512(count[parity], row[parity], words)
                                          : count_row_avx2(count[parity], row[parity], words);
    sums[j] = p->lx - 2 * minus;
  }
}

/*
 * counters_bytes() for rows of at most eight words a colour (L ≤ 1024; the small levels of a
 * dream, where the sums are taken for every sample): the byte counters stay in registers over
 * the block of rows and are stored once, instead of a store and a reload per row (a chain
 * through memory, 15–20 cycles a row). The counters are zero on entry (flushed).
 */
INVRG_TARGET_AVX512 static inline __attribute__((always_inline)) void counters_registers_n(
    const invrg_packed *p, int j0, int j1, uint64_t *planes, int64_t *sums, const int words) {
  __m512i count[2][8];
  for (int parity = 0; parity < 2; parity++)
    for (int i = 0; i < words; i++) count[parity][i] = _mm512_setzero_si512();
  for (int j = j0; j < j1; j++) {
    const int c = (int)((p->y0 + j) & 1);
    const uint64_t *row[2] = {invrg_packed_row(p, c, j), invrg_packed_row(p, 1 - c, j)};
    int64_t minus = 0;
    for (int parity = 0; parity < 2; parity++)
      for (int i = 0; i < words; i++) {
        const uint64_t bits = row[parity][i];
        count[parity][i] =
            _mm512_sub_epi8(count[parity][i], _mm512_movm_epi8(_cvtu64_mask64(bits)));
        minus += __builtin_popcountll(bits);
      }
    sums[j] = p->lx - 2 * minus;
  }
  for (int parity = 0; parity < 2; parity++) {
    uint8_t *bytes = (uint8_t *)(planes + (size_t)parity * PLANES * (size_t)words);
    for (int i = 0; i < words; i++) _mm512_storeu_si512(bytes + 64 * i, count[parity][i]);
  }
}

INVRG_TARGET_AVX512 static void counters_registers(const invrg_packed *p, int j0, int j1,
                                                   uint64_t *planes, int64_t *sums) {
  switch (p->words) { /* the loops unrolled: the counters in registers */
    case 1: counters_registers_n(p, j0, j1, planes, sums, 1); break;
    case 2: counters_registers_n(p, j0, j1, planes, sums, 2); break;
    case 3: counters_registers_n(p, j0, j1, planes, sums, 3); break;
    case 4: counters_registers_n(p, j0, j1, planes, sums, 4); break;
    case 5: counters_registers_n(p, j0, j1, planes, sums, 5); break;
    case 6: counters_registers_n(p, j0, j1, planes, sums, 6); break;
    case 7: counters_registers_n(p, j0, j1, planes, sums, 7); break;
    default: counters_registers_n(p, j0, j1, planes, sums, 8); break;
  }
}
#endif

/* The byte counters into minus[x], x = 2k + parity; clears them. */
static void byte_counters_flush(const invrg_packed *p, uint64_t *planes, int parity,
                                int64_t *minus) {
  const uint8_t *count = (const uint8_t *)planes;
  for (int64_t k = 0; k < p->half; k++) minus[2 * k + parity] += count[k];
  memset(planes, 0, (size_t)PLANES * (size_t)p->words * sizeof *planes);
}

/* −1 spins of each column of the local rows into minus[], sums of the local rows into sums[]. */
static void local_sums(const invrg_packed *p, uint64_t *planes, int64_t *minus, int64_t *sums) {
  const invrg_simd_level level = invrg_simd_active();
  for (int j0 = 0; j0 < p->ny; j0 += FLUSH_ROWS) {
    const int j1 = p->ny - j0 < FLUSH_ROWS ? p->ny : j0 + FLUSH_ROWS;
#if INVRG_SIMD_X86
    if (level == INVRG_SIMD_AVX512 && p->words <= 8)
      counters_registers(p, j0, j1, planes, sums);
    else if (level != INVRG_SIMD_GENERIC)
      counters_bytes(p, j0, j1, planes, sums, level);
    else
#endif
      counters_generic(p, j0, j1, planes, sums);
    for (int parity = 0; parity < 2; parity++) {
      uint64_t *counters = planes + (size_t)parity * PLANES * (size_t)p->words;
      if (level == INVRG_SIMD_GENERIC)
        counters_flush(p, counters, parity, minus);
      else
        byte_counters_flush(p, counters, parity, minus);
    }
  }
}

/* Row sums and column sums from zeroed counters @p planes (2 · PLANES · words) and
 * @p minus (lx), over the ranks. */
static invrg_err row_col_local(const invrg_packed *p, uint64_t *planes, int64_t *minus,
                               int64_t *row_sums, int64_t *col_sums) {
  invrg_err err = INVRG_SUCCESS;
  local_sums(p, planes, minus, row_sums + p->y0);
  for (int64_t x = 0; x < p->lx; x++) minus[x] = p->ny - 2 * minus[x]; /* Σ_y s of my rows */
  if (p->size > 1) {
    INVRG_MPI_CALL(MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, row_sums, p->ny, MPI_INT64_T,
                                 p->comm));
    INVRG_MPI_CALL(MPI_Allreduce(minus, col_sums, (int)p->lx, MPI_INT64_T, MPI_SUM, p->comm));
  } else {
    memcpy(col_sums, minus, (size_t)p->lx * sizeof *col_sums);
  }
cleanup:
  return err;
}

enum { SMALL_LX = 256 }; /* row and column sums of rows up to this long: counters on the stack */

invrg_err invrg_packed_row_col_sums(const invrg_packed *p, int64_t *row_sums, int64_t *col_sums) {
  invrg_err err = INVRG_SUCCESS;
  uint64_t small_planes[2 * PLANES * (SMALL_LX / 128)], *planes = NULL;
  int64_t small_minus[SMALL_LX], *minus = NULL;
  INVRG_CHECK(p->lx <= INT_MAX, INVRG_ERR_RUNTIME,
              "column sums of a packed lattice: Lx = %lld is more than 2^31 - 1", (long long)p->lx);
  const size_t n_planes = 2 * (size_t)PLANES * (size_t)p->words;
  if (p->lx <= SMALL_LX) { /* small levels are summed often: no allocation */
    memset(small_planes, 0, n_planes * sizeof *small_planes);
    memset(small_minus, 0, (size_t)p->lx * sizeof *small_minus);
    err = row_col_local(p, small_planes, small_minus, row_sums, col_sums);
    goto cleanup;
  }
  planes = calloc(n_planes, sizeof *planes);
  minus = calloc((size_t)p->lx, sizeof *minus);
  INVRG_CHECK_ALLOC(planes);
  INVRG_CHECK_ALLOC(minus);
  err = row_col_local(p, planes, minus, row_sums, col_sums);
cleanup:
  free(planes);
  free(minus);
  return err;
}

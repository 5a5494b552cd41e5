/* Private to packed_measure.c and packed_measure_mcrg.c: the popcounts of their kernels. */
#ifndef INVRG_PACKED_MEASURE_INTERNAL_H
#define INVRG_PACKED_MEASURE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/simd.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

/* Kernels are written once and inlined into one function per level of invrg_simd_active(). */
#if defined(__GNUC__)
#define PM_INLINE inline __attribute__((always_inline))
#else
#define PM_INLINE inline
#endif

/* Set bits of x: the instruction when @p hw (a level with POPCNT), else bit arithmetic. */
static PM_INLINE int pm_popcount(uint64_t x, bool hw) {
#if defined(__GNUC__)
  if (hw) return __builtin_popcountll(x);
#else
  (void)hw;
#endif
  x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
  x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
  x = (x + (x >> 4)) & UINT64_C(0x0F0F0F0F0F0F0F0F);
  return (int)((x * UINT64_C(0x0101010101010101)) >> 56);
}

#if INVRG_SIMD_X86
/* Set bits of each byte of x (0 … 8): two lookups of a nibble table (AVX2). */
INVRG_TARGET_AVX2 static inline __m256i pm_pop_bytes256(__m256i x) {
  const __m256i table =
      _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1,
                       2, 2, 3, 2, 3, 3, 4);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i lo = _mm256_and_si256(x, nibble),
                hi = _mm256_and_si256(_mm256_srli_epi64(x, 4), nibble);
  return _mm256_add_epi8(_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi));
}

/* The byte counts of @p bytes added up into four 64-bit lanes. */
INVRG_TARGET_AVX2 static inline __m256i pm_sum_bytes256(__m256i bytes) {
  return _mm256_sad_epu8(bytes, _mm256_setzero_si256());
}

/* Set bits of each byte of x (0 … 8): two lookups of a nibble table (AVX-512 BW). */
INVRG_TARGET_AVX512 static inline __m512i pm_pop_bytes(__m512i x) {
  const __m512i table =
      _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4));
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  const __m512i lo = _mm512_and_si512(x, nibble),
                hi = _mm512_and_si512(_mm512_srli_epi64(x, 4), nibble);
  return _mm512_add_epi8(_mm512_shuffle_epi8(table, lo), _mm512_shuffle_epi8(table, hi));
}

/* The byte counts of @p bytes added up into eight 64-bit lanes. */
INVRG_TARGET_AVX512 static inline __m512i pm_sum_bytes(__m512i bytes) {
  return _mm512_sad_epu8(bytes, _mm512_setzero_si512());
}

/* The AVX-512 level with VPOPCNTDQ (Ice Lake, Zen 4 and later): the set bits of each 64-bit
 * lane in one instruction, where the nibble table takes six. */
#define PM_TARGET_VPOPCNT \
  __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vpopcntdq,bmi2,popcnt")))
#endif

/* Whether the AVX-512 kernels may count with VPOPCNTDQ: the CPU has it and no test has turned
 * it off (packed_measure.h). */
bool pm_vpopcnt(void);

#endif

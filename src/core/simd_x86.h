/* Private x86 vector helpers shared by kernels of several modules (with INVRG_SIMD_X86 only). */
#ifndef INVRG_SIMD_X86_H
#define INVRG_SIMD_X86_H

#include <stdint.h>

#include "invrg/simd.h"

#if INVRG_SIMD_X86
#include <immintrin.h>

/* Byte k of the result: all ones if bit k of @p m is set (AVX2 has no mask registers). */
INVRG_TARGET_AVX2 static inline __m256i invrg_avx2_bytes_of_bits(uint32_t m) {
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                          2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x((long long)UINT64_C(0x8040201008040201));
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)m), spread);
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}
#endif

#endif

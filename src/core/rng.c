/* Stream keys of the counter-based generator (layout in invrg/rng.h). */
#include "invrg/rng.h"

void invrg_rng_stream_init(invrg_rng_stream *s, uint64_t seed, invrg_rng_purpose purpose,
                           uint64_t item, uint64_t step) {
  INVRG_ASSERT(step < INVRG_RNG_STEP_LIMIT);
  /* One Philox evaluation keyed by the seed turns (item, purpose) into a stream key. */
  philox4x32_key_t seed_key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
  philox4x32_ctr_t name = {{(uint32_t)item, (uint32_t)(item >> 32), (uint32_t)purpose, 0}};
  philox4x32_ctr_t k = philox4x32(name, seed_key);
  s->key.v[0] = k.v[0];
  s->key.v[1] = k.v[1];
  s->step_lo = (uint32_t)step;
  s->step_hi = (uint32_t)(step >> 32);
}

/* ------------------------------------------------------------------ many blocks at once */

#include <immintrin.h>
#include <stdbool.h>

/* Philox4x32 constants (Salmon et al., SC'11): multipliers and Weyl key increments. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* 32×32 → 64-bit products of the eight lanes of x with m, split into high and low words. */
__attribute__((target("avx2"))) static inline void mulhilo8(__m256i x, __m256i m, __m256i *hi,
                                                            __m256i *lo) {
  __m256i even = _mm256_mul_epu32(x, m);                        /* lanes 0, 2, 4, 6 */
  __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m); /* lanes 1, 3, 5, 7 */
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* Ten Philox rounds on eight counters {c0, c1, c2, c3} (lanes), key (k0, k1). */
__attribute__((target("avx2"))) static void philox8(__m256i x[4], uint32_t k0, uint32_t k1) {
  const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M0), m1 = _mm256_set1_epi32((int)PHILOX_M1);
  for (int round = 0; round < 10; round++) {
    __m256i hi0, lo0, hi1, lo1;
    mulhilo8(x[0], m0, &hi0, &lo0);
    mulhilo8(x[2], m1, &hi1, &lo1);
    /* (x0, x1, x2, x3) ← (hi1 ⊕ x1 ⊕ k0, lo1, hi0 ⊕ x3 ⊕ k1, lo0) */
    __m256i y0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x[1]), _mm256_set1_epi32((int)k0));
    __m256i y2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x[3]), _mm256_set1_epi32((int)k1));
    x[0] = y0, x[1] = lo1, x[2] = y2, x[3] = lo0;
    k0 += PHILOX_W0, k1 += PHILOX_W1;
  }
}

/* Blocks of eight sites given by their low and high words: the counter layout of rng.h. */
__attribute__((target("avx2"))) static void blocks8(const invrg_rng_stream *s, __m256i site_lo,
                                                    __m256i site_hi, uint32_t draw, uint32_t *out,
                                                    size_t stride, int count) {
  __m256i x[4] = {site_lo, site_hi, _mm256_set1_epi32((int)s->step_lo),
                  _mm256_set1_epi32((int)(s->step_hi | draw << 16))};
  philox8(x, s->key.v[0], s->key.v[1]);
  if (count == 8) {
    for (int k = 0; k < 4; k++) _mm256_storeu_si256((__m256i *)(void *)(out + (size_t)k * stride), x[k]);
  } else { /* the tail of a batch */
    uint32_t tmp[8];
    for (int k = 0; k < 4; k++) {
      _mm256_storeu_si256((__m256i *)(void *)tmp, x[k]);
      for (int i = 0; i < count; i++) out[(size_t)k * stride + (size_t)i] = tmp[i];
    }
  }
}

__attribute__((target("avx2"))) static void list_avx2(const invrg_rng_stream *s,
                                                      const uint64_t *sites, int n, uint32_t draw,
                                                      uint32_t *out, size_t stride) {
  for (int i = 0; i < n; i += 8) {
    uint32_t lo[8] = {0}, hi[8] = {0};
    int count = n - i < 8 ? n - i : 8;
    for (int l = 0; l < count; l++) {
      lo[l] = (uint32_t)sites[i + l];
      hi[l] = (uint32_t)(sites[i + l] >> 32);
    }
    blocks8(s, _mm256_loadu_si256((const __m256i *)(const void *)lo),
            _mm256_loadu_si256((const __m256i *)(const void *)hi), draw, out + i, stride, count);
  }
}

__attribute__((target("avx2"))) static void range_avx2(const invrg_rng_stream *s, uint64_t first,
                                                       int n, uint32_t draw, uint32_t *out,
                                                       size_t stride) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int i = 0; i < n; i += 8) {
    uint64_t base = first + (uint64_t)i;
    int count = n - i < 8 ? n - i : 8;
    if ((uint32_t)base <= UINT32_MAX - 7) { /* no carry into the high word within the eight */
      __m256i lo = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)base), lane);
      blocks8(s, lo, _mm256_set1_epi32((int)(uint32_t)(base >> 32)), draw, out + i, stride, count);
    } else {
      uint64_t sites[8];
      for (int l = 0; l < 8; l++) sites[l] = base + (uint64_t)l;
      list_avx2(s, sites, count, draw, out + i, stride);
    }
  }
}

/* The same with sixteen lanes (AVX-512F): twice the work per instruction where the CPU has it. */
#define TARGET_AVX512 __attribute__((target("avx2,avx512f")))

TARGET_AVX512 static inline void mulhilo16(__m512i x, __m512i m, __m512i *hi, __m512i *lo) {
  __m512i even = _mm512_mul_epu32(x, m);
  __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
  *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

TARGET_AVX512 static void list_avx512(const invrg_rng_stream *s, const uint64_t *sites, int n,
                                      uint32_t draw, uint32_t *out, size_t stride) {
  const __m512i m0 = _mm512_set1_epi32((int)PHILOX_M0), m1 = _mm512_set1_epi32((int)PHILOX_M1);
  for (int i = 0; i < n; i += 16) {
    uint32_t lo[16] = {0}, hi[16] = {0};
    int count = n - i < 16 ? n - i : 16;
    for (int l = 0; l < count; l++) {
      lo[l] = (uint32_t)sites[i + l];
      hi[l] = (uint32_t)(sites[i + l] >> 32);
    }
    __m512i x[4] = {_mm512_loadu_si512(lo), _mm512_loadu_si512(hi),
                    _mm512_set1_epi32((int)s->step_lo),
                    _mm512_set1_epi32((int)(s->step_hi | draw << 16))};
    uint32_t k0 = s->key.v[0], k1 = s->key.v[1];
    for (int round = 0; round < 10; round++) {
      __m512i hi0, lo0, hi1, lo1;
      mulhilo16(x[0], m0, &hi0, &lo0);
      mulhilo16(x[2], m1, &hi1, &lo1);
      __m512i y0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x[1]), _mm512_set1_epi32((int)k0));
      __m512i y2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x[3]), _mm512_set1_epi32((int)k1));
      x[0] = y0, x[1] = lo1, x[2] = y2, x[3] = lo0;
      k0 += PHILOX_W0, k1 += PHILOX_W1;
    }
    __mmask16 keep = (__mmask16)((1u << count) - 1);
    for (int k = 0; k < 4; k++) _mm512_mask_storeu_epi32(out + (size_t)k * stride + (size_t)i, keep, x[k]);
  }
}

typedef enum { SIMD_NONE, SIMD_AVX2, SIMD_AVX512 } simd_level;

static simd_level simd(void) {
  static int known = -1;
  if (known < 0)
    known = __builtin_cpu_supports("avx512f") ? SIMD_AVX512
            : __builtin_cpu_supports("avx2")  ? SIMD_AVX2
                                              : SIMD_NONE;
  return (simd_level)known;
}

static bool have_avx2(void) { return simd() == SIMD_AVX2; }

void invrg_rng_blocks_list(const invrg_rng_stream *s, const uint64_t *sites, int n, uint32_t draw,
                           uint32_t *out, size_t stride) {
  if (simd() == SIMD_AVX512) {
    list_avx512(s, sites, n, draw, out, stride);
    return;
  }
  if (have_avx2()) {
    list_avx2(s, sites, n, draw, out, stride);
    return;
  }
  for (int i = 0; i < n; i++) {
    uint32_t w[4];
    invrg_rng_u32x4(s, sites[i], draw, w);
    for (int k = 0; k < 4; k++) out[(size_t)k * stride + (size_t)i] = w[k];
  }
}

void invrg_rng_blocks_range(const invrg_rng_stream *s, uint64_t first, int n, uint32_t draw,
                            uint32_t *out, size_t stride) {
  if (simd() == SIMD_AVX512) { /* as a list, sixteen sites at a time */
    uint64_t sites[256];
    for (int i = 0; i < n; i += 256) {
      int count = n - i < 256 ? n - i : 256;
      for (int l = 0; l < count; l++) sites[l] = first + (uint64_t)(i + l);
      list_avx512(s, sites, count, draw, out + i, stride);
    }
    return;
  }
  if (have_avx2()) {
    range_avx2(s, first, n, draw, out, stride);
    return;
  }
  for (int i = 0; i < n; i++) {
    uint32_t w[4];
    invrg_rng_u32x4(s, first + (uint64_t)i, draw, w);
    for (int k = 0; k < 4; k++) out[(size_t)k * stride + (size_t)i] = w[k];
  }
}

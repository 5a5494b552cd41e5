/* The SIMD layer of simd.h: the dispatcher and the batched Philox4x32-10 (portable, AVX2 with
 * eight blocks per vector, AVX-512 with sixteen; several vectors in flight to hide the latency
 * of the multiplies). */
#include "invrg/simd.h"

#include <Random123/philox.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/error.h"
#include "invrg/log.h"
#include "simd_blocks.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

static const char *const level_names[INVRG_SIMD_LEVELS] = {"generic", "avx2", "avx512"};

const char *invrg_simd_name(invrg_simd_level level) {
  return (unsigned)level < INVRG_SIMD_LEVELS ? level_names[level] : "?";
}

bool invrg_simd_parse(const char *name, invrg_simd_level *level) {
  for (int c = 0; c < INVRG_SIMD_LEVELS; c++)
    if (name != NULL && strcmp(name, level_names[c]) == 0) {
      *level = (invrg_simd_level)c;
      return true;
    }
  return false;
}

bool invrg_simd_runs(invrg_simd_level level) {
#if INVRG_SIMD_X86
  __builtin_cpu_init();
  if (level == INVRG_SIMD_AVX2)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  if (level == INVRG_SIMD_AVX512)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
#endif
  return level == INVRG_SIMD_GENERIC;
}

int invrg_simd_kept = -1; /* the kept choice, or −1 */

static invrg_simd_level choose(void) {
  invrg_simd_level best = INVRG_SIMD_GENERIC;
  for (int c = INVRG_SIMD_LEVELS - 1; c > INVRG_SIMD_GENERIC; c--)
    if (invrg_simd_runs((invrg_simd_level)c)) {
      best = (invrg_simd_level)c;
      break;
    }
  invrg_simd_level level = best;
  const char *want = getenv("INVRG_SIMD");
  if (want != NULL && want[0] != '\0') {
    invrg_simd_level named;
    if (!invrg_simd_parse(want, &named))
      invrg_log(INVRG_LOG_WARN, "INVRG_SIMD=%s is not generic, avx2 or avx512: using %s", want,
                level_names[best]);
    else if (!invrg_simd_runs(named))
      invrg_log(INVRG_LOG_WARN, "INVRG_SIMD=%s: this %s cannot run it, using %s", want,
                INVRG_SIMD_X86 ? "CPU" : "build (portable only)", level_names[best]);
    else
      level = named;
  }
  invrg_log(INVRG_LOG_DEBUG, "SIMD level: %s", level_names[level]);
  return level;
}

invrg_simd_level invrg_simd_choose(void) {
  invrg_simd_kept = (int)choose();
  return (invrg_simd_level)invrg_simd_kept;
}

void invrg_simd_reset(void) { invrg_simd_kept = -1; }

/* ------------------------------------------------------------------ batched Philox */

static void philox_generic(const blocks_job *j) {
  const philox4x32_key_t key = {{j->k0, j->k1}};
  for (int i = 0; i < j->n; i++) {
    const uint64_t b = counter(j, i);
    const philox4x32_ctr_t ctr = {{(uint32_t)b, (uint32_t)(b >> 32), j->c2, j->c3}};
    const philox4x32_ctr_t r = philox4x32(ctr, key);
    uint32_t *o = dest(j, i);
    for (int k = 0; k < 4; k++) o[(size_t)k * j->stride] = r.v[k];
  }
}

/* One counter under a key per block (invrg_simd_philox_keys()). */
typedef struct {
  const uint32_t *key0, *key1;
  uint32_t ctr[4];
  int n;
  uint32_t *out;
  size_t stride;
} keys_job;

static void philox_keys_generic(const keys_job *j) {
  const philox4x32_ctr_t ctr = {{j->ctr[0], j->ctr[1], j->ctr[2], j->ctr[3]}};
  for (int i = 0; i < j->n; i++) {
    const philox4x32_key_t key = {{j->key0[i], j->key1[i]}};
    const philox4x32_ctr_t r = philox4x32(ctr, key);
    for (int k = 0; k < 4; k++) j->out[(size_t)k * j->stride + (size_t)i] = r.v[k];
  }
}

#if INVRG_SIMD_X86
/* Philox4x32 constants (Salmon et al., SC'11): round multipliers and Weyl key increments. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define INLINE __attribute__((always_inline)) static inline
enum { IN_FLIGHT = 4 }; /* independent vectors per batch */

/* ---------------------------------------------------------------- AVX2: 8 blocks per vector */

/* 32×32 → 64-bit products of the 8 lanes of a with m: low and high halves, lane by lane. */
INVRG_TARGET_AVX2 INLINE void mulhilo_avx2(__m256i a, __m256i m, __m256i *lo, __m256i *hi) {
  const __m256i even = _mm256_mul_epu32(a, m);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* The nv (≤ IN_FLIGHT, a constant once inlined) vectors of blocks i0, i0 + 8, …. */
INVRG_TARGET_AVX2 INLINE void batch_avx2(const blocks_job *j, int i0, int nv) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i bias = _mm256_set1_epi32((int)0x80000000u);
  const __m256i M0 = _mm256_set1_epi32((int)PHILOX_M0), M1 = _mm256_set1_epi32((int)PHILOX_M1);
  __m256i x0[IN_FLIGHT], x1[IN_FLIGHT], x2[IN_FLIGHT], x3[IN_FLIGHT];
  for (int v = 0; v < nv; v++) {
    const int i = i0 + 8 * v;
    if (j->sites == NULL) { /* b lo + lane, carrying into b hi where the low word wraps */
      const uint64_t b = j->first + (uint64_t)i;
      const __m256i lo = _mm256_set1_epi32((int)(uint32_t)b);
      x0[v] = _mm256_add_epi32(lo, lane);
      const __m256i wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(lo, bias),
                                                 _mm256_xor_si256(x0[v], bias));
      x1[v] = _mm256_sub_epi32(_mm256_set1_epi32((int)(uint32_t)(b >> 32)), wrapped);
    } else {
      uint32_t lo[8] = {0}, hi[8] = {0};
      const int count = j->n - i < 8 ? j->n - i : 8;
      for (int l = 0; l < count; l++) {
        lo[l] = (uint32_t)j->sites[i + l];
        hi[l] = (uint32_t)(j->sites[i + l] >> 32);
      }
      x0[v] = _mm256_loadu_si256((const __m256i *)(const void *)lo);
      x1[v] = _mm256_loadu_si256((const __m256i *)(const void *)hi);
    }
    x2[v] = _mm256_set1_epi32((int)j->c2);
    x3[v] = _mm256_set1_epi32((int)j->c3);
  }
  uint32_t k0 = j->k0, k1 = j->k1;
  for (int r = 0; r < 10; r++) {
    const __m256i K0 = _mm256_set1_epi32((int)k0), K1 = _mm256_set1_epi32((int)k1);
    for (int v = 0; v < nv; v++) {
      __m256i lo0, hi0, lo1, hi1;
      mulhilo_avx2(x0[v], M0, &lo0, &hi0);
      mulhilo_avx2(x2[v], M1, &lo1, &hi1);
      /* (x0, x1, x2, x3) ← (hi1 ⊕ x1 ⊕ k0, lo1, hi0 ⊕ x3 ⊕ k1, lo0) */
      x0[v] = _mm256_xor_si256(_mm256_xor_si256(hi1, x1[v]), K0);
      x2[v] = _mm256_xor_si256(_mm256_xor_si256(hi0, x3[v]), K1);
      x1[v] = lo1;
      x3[v] = lo0;
    }
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  dest_walk d = dest_walk_start(j, i0, 8);
  for (int v = 0; v < nv; v++) {
    const int i = i0 + 8 * v, count = j->n - i < 8 ? j->n - i : 8;
    uint32_t *o = dest_walk_next(j, &d);
    const __m256i x[4] = {x0[v], x1[v], x2[v], x3[v]};
    for (int k = 0; k < 4; k++) {
      if (count == 8) {
        _mm256_storeu_si256((__m256i *)(void *)(o + (size_t)k * j->stride), x[k]);
      } else { /* the tail */
        uint32_t tmp[8];
        _mm256_storeu_si256((__m256i *)(void *)tmp, x[k]);
        for (int l = 0; l < count; l++) o[(size_t)k * j->stride + (size_t)l] = tmp[l];
      }
    }
  }
}

INVRG_TARGET_AVX2 static void philox_avx2(const blocks_job *job) {
  const blocks_job local = *job, *j = &local; /* a copy the stores to out cannot alias */
  const int nv = (j->n + 7) / 8;
  for (int v = 0; v < nv; v += IN_FLIGHT) {
    switch (nv - v < IN_FLIGHT ? nv - v : IN_FLIGHT) { /* constants: registers, not memory */
      case 1: batch_avx2(j, 8 * v, 1); break;
      case 2: batch_avx2(j, 8 * v, 2); break;
      case 3: batch_avx2(j, 8 * v, 3); break;
      default: batch_avx2(j, 8 * v, 4); break;
    }
  }
}

/* Eight keys a vector (the tail's lanes read zero keys and are not stored), IN_FLIGHT vectors
 * at a time: the rounds of batch_avx2 with the key in a vector of its own. */
INVRG_TARGET_AVX2 static void philox_keys_avx2(const keys_job *job) {
  const keys_job local = *job, *j = &local;
  const __m256i M0 = _mm256_set1_epi32((int)PHILOX_M0), M1 = _mm256_set1_epi32((int)PHILOX_M1);
  const __m256i W0 = _mm256_set1_epi32((int)PHILOX_W0), W1 = _mm256_set1_epi32((int)PHILOX_W1);
  for (int i0 = 0; i0 < j->n; i0 += 8 * IN_FLIGHT) {
    __m256i x0[IN_FLIGHT], x1[IN_FLIGHT], x2[IN_FLIGHT], x3[IN_FLIGHT], K0[IN_FLIGHT],
        K1[IN_FLIGHT];
    for (int v = 0; v < IN_FLIGHT; v++) {
      uint32_t k0[8] = {0}, k1[8] = {0};
      for (int l = 0; l < 8 && i0 + 8 * v + l < j->n; l++)
        k0[l] = j->key0[i0 + 8 * v + l], k1[l] = j->key1[i0 + 8 * v + l];
      K0[v] = _mm256_loadu_si256((const __m256i *)(const void *)k0);
      K1[v] = _mm256_loadu_si256((const __m256i *)(const void *)k1);
      x0[v] = _mm256_set1_epi32((int)j->ctr[0]);
      x1[v] = _mm256_set1_epi32((int)j->ctr[1]);
      x2[v] = _mm256_set1_epi32((int)j->ctr[2]);
      x3[v] = _mm256_set1_epi32((int)j->ctr[3]);
    }
    for (int r = 0; r < 10; r++)
      for (int v = 0; v < IN_FLIGHT; v++) {
        __m256i lo0, hi0, lo1, hi1;
        mulhilo_avx2(x0[v], M0, &lo0, &hi0);
        mulhilo_avx2(x2[v], M1, &lo1, &hi1);
        x0[v] = _mm256_xor_si256(_mm256_xor_si256(hi1, x1[v]), K0[v]);
        x2[v] = _mm256_xor_si256(_mm256_xor_si256(hi0, x3[v]), K1[v]);
        x1[v] = lo1;
        x3[v] = lo0;
        K0[v] = _mm256_add_epi32(K0[v], W0);
        K1[v] = _mm256_add_epi32(K1[v], W1);
      }
    for (int v = 0; v < IN_FLIGHT; v++) {
      const int i = i0 + 8 * v, count = j->n - i < 8 ? j->n - i : 8;
      const __m256i x[4] = {x0[v], x1[v], x2[v], x3[v]};
      for (int k = 0; k < 4 && count > 0; k++) {
        uint32_t tmp[8];
        _mm256_storeu_si256((__m256i *)(void *)tmp, x[k]);
        for (int l = 0; l < count; l++) j->out[(size_t)k * j->stride + (size_t)(i + l)] = tmp[l];
      }
    }
  }
}

/* ---------------------------------------------------------------- AVX-512: 16 per vector */

/*
 * Each 32-bit word of 8 blocks sits in the low half of a 64-bit lane: one VPMULUDQ gives the
 * whole 32×32 product, its low half is already in place and a dword shuffle (on Intel a
 * shuffle port, not the multiplier's) brings the high half down; what the upper halves hold is
 * never read. Per round and 16 blocks: 4 multiplies, 4 shuffles, 4 three-way xors, against 4,
 * 6 shifts, 4 blends and 2 xors with one word per 32-bit lane (about 17% faster on a Xeon).
 */
enum { HALVES_IN_FLIGHT = 4 }; /* 8-block half vectors per batch: 2 vectors of 16 */

INVRG_TARGET_AVX512 INLINE void batch_avx512(const blocks_job *j, int i0, int nv) {
  const __m512i lane = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
  const __m512i M0 = _mm512_set1_epi64(PHILOX_M0), M1 = _mm512_set1_epi64(PHILOX_M1);
  const int nh = 2 * nv;
  __m512i x0[HALVES_IN_FLIGHT], x1[HALVES_IN_FLIGHT], x2[HALVES_IN_FLIGHT], x3[HALVES_IN_FLIGHT];
  for (int v = 0; v < nh; v++) {
    const int i = i0 + 8 * v;
    __m512i ctr; /* 64-bit counters: b lo in the low half, b hi in the high half */
    if (j->sites == NULL) {
      ctr = _mm512_add_epi64(_mm512_set1_epi64((long long)(j->first + (uint64_t)i)), lane);
    } else {
      const int count = j->n - i < 8 ? (j->n - i > 0 ? j->n - i : 0) : 8;
      ctr = _mm512_maskz_loadu_epi64((__mmask8)((1u << count) - 1), j->sites + (i < j->n ? i : 0));
    }
    x0[v] = ctr;
    x1[v] = _mm512_shuffle_epi32(ctr, _MM_PERM_CDAB);
    x2[v] = _mm512_set1_epi32((int)j->c2);
    x3[v] = _mm512_set1_epi32((int)j->c3);
  }
  uint32_t k0 = j->k0, k1 = j->k1;
  for (int r = 0; r < 10; r++) {
    const __m512i K0 = _mm512_set1_epi32((int)k0), K1 = _mm512_set1_epi32((int)k1);
    for (int v = 0; v < nh; v++) {
      const __m512i p0 = _mm512_mul_epu32(x0[v], M0), p1 = _mm512_mul_epu32(x2[v], M1);
      /* (x0, x1, x2, x3) ← (hi1 ⊕ x1 ⊕ k0, lo1, hi0 ⊕ x3 ⊕ k1, lo0) */
      x0[v] = _mm512_ternarylogic_epi32(_mm512_shuffle_epi32(p1, _MM_PERM_CDAB), x1[v], K0, 0x96);
      x2[v] = _mm512_ternarylogic_epi32(_mm512_shuffle_epi32(p0, _MM_PERM_CDAB), x3[v], K1, 0x96);
      x1[v] = p1;
      x3[v] = p0;
    }
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  /* the low halves of two half vectors: words of blocks i … i + 15 in order */
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  dest_walk d = dest_walk_start(j, i0, 16);
  for (int v = 0; v < nv; v++) {
    const int i = i0 + 16 * v, count = j->n - i < 16 ? j->n - i : 16;
    const __mmask16 keep = (__mmask16)(count == 16 ? 0xFFFF : (1u << count) - 1);
    uint32_t *o = dest_walk_next(j, &d);
    const __m512i *x[4] = {x0, x1, x2, x3};
    for (int k = 0; k < 4; k++)
      _mm512_mask_storeu_epi32(o + (size_t)k * j->stride, keep,
                               _mm512_permutex2var_epi32(x[k][2 * v], evens, x[k][2 * v + 1]));
  }
}

INVRG_TARGET_AVX512 static void philox_avx512(const blocks_job *job) {
  const blocks_job local = *job, *j = &local; /* a copy the stores to out cannot alias */
  const int nv = (j->n + 15) / 16;
  for (int v = 0; v < nv; v += HALVES_IN_FLIGHT / 2) {
    if (nv - v >= 2)
      batch_avx512(j, 16 * v, 2); /* constants: registers, not memory */
    else
      batch_avx512(j, 16 * v, 1);
  }
}
/* Sixteen keys a vector in two half vectors of 64-bit lanes (batch_avx512's layout: each key
 * word in the low half of its lane; the tail's lanes read zero keys and are not stored). */
INVRG_TARGET_AVX512 static void philox_keys_avx512(const keys_job *job) {
  const keys_job local = *job, *j = &local;
  const __m512i M0 = _mm512_set1_epi64(PHILOX_M0), M1 = _mm512_set1_epi64(PHILOX_M1);
  const __m512i W0 = _mm512_set1_epi32((int)PHILOX_W0), W1 = _mm512_set1_epi32((int)PHILOX_W1);
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int i0 = 0; i0 < j->n; i0 += 8 * HALVES_IN_FLIGHT) {
    __m512i x0[HALVES_IN_FLIGHT], x1[HALVES_IN_FLIGHT], x2[HALVES_IN_FLIGHT],
        x3[HALVES_IN_FLIGHT], K0[HALVES_IN_FLIGHT], K1[HALVES_IN_FLIGHT];
    for (int v = 0; v < HALVES_IN_FLIGHT; v++) {
      const int i = i0 + 8 * v, count = j->n - i < 8 ? (j->n - i > 0 ? j->n - i : 0) : 8;
      const __mmask8 m = (__mmask8)((1u << count) - 1);
      K0[v] = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(m, j->key0 + (count > 0 ? i : 0)));
      K1[v] = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(m, j->key1 + (count > 0 ? i : 0)));
      x0[v] = _mm512_set1_epi32((int)j->ctr[0]);
      x1[v] = _mm512_set1_epi32((int)j->ctr[1]);
      x2[v] = _mm512_set1_epi32((int)j->ctr[2]);
      x3[v] = _mm512_set1_epi32((int)j->ctr[3]);
    }
    for (int r = 0; r < 10; r++)
      for (int v = 0; v < HALVES_IN_FLIGHT; v++) {
        const __m512i p0 = _mm512_mul_epu32(x0[v], M0), p1 = _mm512_mul_epu32(x2[v], M1);
        x0[v] =
            _mm512_ternarylogic_epi32(_mm512_shuffle_epi32(p1, _MM_PERM_CDAB), x1[v], K0[v], 0x96);
        x2[v] =
            _mm512_ternarylogic_epi32(_mm512_shuffle_epi32(p0, _MM_PERM_CDAB), x3[v], K1[v], 0x96);
        x1[v] = p1;
        x3[v] = p0;
        K0[v] = _mm512_add_epi32(K0[v], W0);
        K1[v] = _mm512_add_epi32(K1[v], W1);
      }
    for (int v = 0; v < HALVES_IN_FLIGHT / 2; v++) {
      const int i = i0 + 16 * v, count = j->n - i < 16 ? j->n - i : 16;
      if (count <= 0) break;
      const __mmask16 keep = (__mmask16)(count == 16 ? 0xFFFF : (1u << count) - 1);
      const __m512i *x[4] = {x0, x1, x2, x3};
      for (int k = 0; k < 4; k++)
        _mm512_mask_storeu_epi32(j->out + (size_t)k * j->stride + (size_t)i, keep,
                                 _mm512_permutex2var_epi32(x[k][2 * v], evens, x[k][2 * v + 1]));
    }
  }
}
#endif /* INVRG_SIMD_X86 */

void invrg_simd_philox_keys(invrg_simd_level level, const uint32_t *key0, const uint32_t *key1,
                            const uint32_t ctr[4], int n, uint32_t *out, size_t stride) {
  if (n <= 0) return;
  INVRG_ASSERT((size_t)n <= stride);
  const keys_job j = {key0, key1, {ctr[0], ctr[1], ctr[2], ctr[3]}, n, out, stride};
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512) {
    philox_keys_avx512(&j);
    return;
  }
  if (level == INVRG_SIMD_AVX2) {
    philox_keys_avx2(&j);
    return;
  }
#endif
  (void)level;
  philox_keys_generic(&j);
}

void invrg_simd_philox(invrg_simd_level level, const uint32_t key[2], const uint32_t ctr_hi[2],
                       uint64_t first, const uint64_t *sites, int n, uint32_t *out, size_t stride,
                       int tile) {
  if (n <= 0) return;
  const blocks_job j = blocks_job_make(key, ctr_hi, first, sites, n, out, stride, tile);
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512) {
    philox_avx512(&j);
    return;
  }
  if (level == INVRG_SIMD_AVX2) {
    philox_avx2(&j);
    return;
  }
#endif
  (void)level;
  philox_generic(&j);
}

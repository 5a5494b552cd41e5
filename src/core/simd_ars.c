/*
 * ARS-7 (Salmon et al., SC'11: "Advanced Randomization System", seven AES rounds with a Weyl
 * key schedule) of batches of counters, for sweeps that choose it over Philox4x32-10
 * (simd.h: invrg_simd_ars()). Four ways, the same bits:
 *   - portable C: the AES round written out (ShiftRows, SubBytes, MixColumns, AddRoundKey);
 *   - AES-NI: one block per instruction, eight in flight (a CPU without VAES);
 *   - VAES with AVX-512: four blocks per instruction, eight vectors in flight, then a 16 × 4
 *     transposition of the words into simd.h's rows; with AVX2 (the AVX2 level), two.
 * An AES round costs one instruction where a Philox round costs several, so a block costs
 * about a third of Philox's with VAES (docs/benchmarks.md, "Multispin checkerboard").
 */
#include <stdbool.h>
#include <string.h>

#include "invrg/error.h"
#include "invrg/simd.h"
#include "simd_blocks.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

enum { ARS_ROUNDS = 7 };

/* The Weyl increments of the key schedule, per 64-bit half (low: the golden ratio − 1, high:
 * √3 − 1, as 64-bit fractions): round key r = key + r·W, half by half, modulo 2^64. */
#define ARS_WEYL_LO UINT64_C(0x9E3779B97F4A7C15)
#define ARS_WEYL_HI UINT64_C(0xBB67AE8584CAA73B)

/* Round key r of the key {k0, k1, 0, 0}: its low and high 64-bit halves. */
static void round_key(const blocks_job *j, int r, uint64_t half[2]) {
  half[0] = ((uint64_t)j->k1 << 32 | j->k0) + (uint64_t)r * ARS_WEYL_LO;
  half[1] = (uint64_t)r * ARS_WEYL_HI;
}

/* ---------------------------------------------------------------- portable: the AES round */

/* x·a in GF(2^8): a shift, reduced by the polynomial when the top bit falls out. */
static uint8_t times2(uint8_t a) { return (uint8_t)(a << 1 ^ (a & 0x80 ? 0x1B : 0)); }

/* Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (FIPS-197 §4.2). */
static uint8_t gf_mul(uint8_t a, uint8_t b) {
  uint8_t p = 0;
  for (; b != 0; b >>= 1) {
    if (b & 1) p ^= a;
    a = times2(a);
  }
  return p;
}

static uint8_t rotl8(uint8_t b, int s) { return (uint8_t)(b << s | b >> (8 - s)); }

/* The S-box (FIPS-197 §5.1.1): the inverse in GF(2^8) (0 for 0), then the affine map
 * b ⊕ rotl(b, 1) ⊕ rotl(b, 2) ⊕ rotl(b, 3) ⊕ rotl(b, 4) ⊕ 0x63. Built once (one thread). */
static uint8_t sbox[256];
static bool sbox_built;

static void build_sbox(void) {
  for (int x = 0; x < 256; x++) {
    uint8_t inv = 0;
    for (int y = 1; x != 0 && y < 256 && inv == 0; y++)
      if (gf_mul((uint8_t)x, (uint8_t)y) == 1) inv = (uint8_t)y;
    sbox[x] = inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63;
  }
  sbox_built = true;
}

/*
 * One AES encryption round on the state s (byte 4c + r is row r of column c, as in an xmm
 * register): ShiftRows (row r rotated left by r columns), SubBytes, MixColumns unless @p last
 * (each column times [2 3 1 1; 1 2 3 1; 1 1 2 3; 3 1 1 2] over GF(2^8)), then the round key:
 * what AESENC (or AESENCLAST) computes.
 */
static void aes_round(uint8_t s[16], const uint8_t key[16], bool last) {
  uint8_t t[16];
  for (int c = 0; c < 4; c++)
    for (int r = 0; r < 4; r++) t[4 * c + r] = sbox[s[4 * ((c + r) % 4) + r]];
  for (int c = 0; c < 4 && !last; c++) {
    const uint8_t *a = t + 4 * c;
    uint8_t m[4];
    for (int r = 0; r < 4; r++) /* 2a ⊕ 3b ⊕ c ⊕ d = 2(a ⊕ b) ⊕ b ⊕ c ⊕ d */
      m[r] = times2(a[r] ^ a[(r + 1) % 4]) ^ a[(r + 1) % 4] ^ a[(r + 2) % 4] ^ a[(r + 3) % 4];
    memcpy(t + 4 * c, m, 4);
  }
  for (int i = 0; i < 16; i++) s[i] = t[i] ^ key[i];
}

/* 64-bit halves as the 16 bytes of an xmm register (little-endian). */
static void halves_to_bytes(const uint64_t half[2], uint8_t b[16]) {
  for (int i = 0; i < 16; i++) b[i] = (uint8_t)(half[i / 8] >> (8 * (i % 8)));
}

static void ars_generic(const blocks_job *j) {
  if (!sbox_built) build_sbox();
  uint8_t key[ARS_ROUNDS + 1][16];
  for (int r = 0; r <= ARS_ROUNDS; r++) {
    uint64_t half[2];
    round_key(j, r, half);
    halves_to_bytes(half, key[r]);
  }
  for (int i = 0; i < j->n; i++) {
    const uint64_t b = counter(j, i), ctr[2] = {b, (uint64_t)j->c3 << 32 | j->c2};
    uint8_t s[16];
    halves_to_bytes(ctr, s);
    for (int k = 0; k < 16; k++) s[k] ^= key[0][k]; /* whitening */
    for (int r = 1; r <= ARS_ROUNDS; r++) aes_round(s, key[r], r == ARS_ROUNDS);
    uint32_t *o = dest(j, i);
    for (int k = 0; k < 4; k++)
      o[(size_t)k * j->stride] = (uint32_t)s[4 * k] | (uint32_t)s[4 * k + 1] << 8 |
                                 (uint32_t)s[4 * k + 2] << 16 | (uint32_t)s[4 * k + 3] << 24;
  }
}

#if INVRG_SIMD_X86
#define INLINE __attribute__((always_inline)) static inline
#define TARGET_AESNI __attribute__((target("sse2,aes")))
#define TARGET_VAES512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,bmi2,popcnt,vaes")))

/* The round keys as 128-bit values (the AES-NI way's; the VAES ways broadcast them). */
static inline void round_keys128(const blocks_job *j, __m128i key[ARS_ROUNDS + 1]) {
  for (int r = 0; r <= ARS_ROUNDS; r++) {
    uint64_t half[2];
    round_key(j, r, half);
    key[r] = _mm_set_epi64x((long long)half[1], (long long)half[0]);
  }
}

/* ---------------------------------------------------------------- AES-NI: a block at a time */

enum { AESNI_IN_FLIGHT = 8 }; /* AESENC's latency is about 4 cycles, its throughput 1 or 2 */

TARGET_AESNI static void ars_aesni(const blocks_job *j) {
  __m128i key[ARS_ROUNDS + 1];
  round_keys128(j, key);
  const long long hi = (long long)((uint64_t)j->c3 << 32 | j->c2);
  for (int i0 = 0; i0 < j->n; i0 += AESNI_IN_FLIGHT) {
    const int count = j->n - i0 < AESNI_IN_FLIGHT ? j->n - i0 : AESNI_IN_FLIGHT;
    __m128i v[AESNI_IN_FLIGHT];
    for (int m = 0; m < AESNI_IN_FLIGHT; m++)
      v[m] = _mm_xor_si128(_mm_set_epi64x(hi, (long long)counter(j, i0 + (m < count ? m : 0))),
                           key[0]);
    for (int r = 1; r < ARS_ROUNDS; r++)
      for (int m = 0; m < AESNI_IN_FLIGHT; m++) v[m] = _mm_aesenc_si128(v[m], key[r]);
    for (int m = 0; m < count; m++) {
      uint32_t w[4];
      _mm_storeu_si128((__m128i *)(void *)w, _mm_aesenclast_si128(v[m], key[ARS_ROUNDS]));
      uint32_t *o = dest(j, i0 + m);
      for (int k = 0; k < 4; k++) o[(size_t)k * j->stride] = w[k];
    }
  }
}

/* ---------------------------------------------------------------- VAES: four blocks a vector */

enum { VAES_IN_FLIGHT = 8 }; /* vectors of four blocks: 32 blocks a batch */

/* Counters of blocks i … i + 3: {b, c2 | c3 << 32} in each 128-bit lane (tails: any b). */
TARGET_VAES512 INLINE __m512i counters4(const blocks_job *j, int i, __m512i hi) {
  if (j->sites == NULL)
    return _mm512_mask_blend_epi64(
        0xAA, _mm512_add_epi64(_mm512_set1_epi64((long long)(j->first + (uint64_t)i)),
                               _mm512_setr_epi64(0, 0, 1, 0, 2, 0, 3, 0)),
        hi);
  const int count = j->n - i < 4 ? (j->n - i > 0 ? j->n - i : 0) : 4;
  return _mm512_mask_expandloadu_epi64(hi, (__mmask8)(0x55 & ((1u << (2 * count)) - 1)),
                                       j->sites + (i < j->n ? i : 0));
}

/* Blocks i … i + 15 in four vectors (block 4q + m in lane m of v[q]) → four rows of 16 words
 * (row k: word k of each block, in order), masked to the first @p count blocks. */
TARGET_VAES512 INLINE void store_rows16(const __m512i v[4], uint32_t *o, size_t stride,
                                        int count) {
  /* words 0, 1 (lo) and 2, 3 (hi) of eight blocks: element 8k' + b from lane b/4, word k */
  const __m512i lo = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29),
                hi = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
  const __m512i first8 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
                last8 = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30,
                                          31);
  const __m512i a = _mm512_permutex2var_epi32(v[0], lo, v[1]),
                b = _mm512_permutex2var_epi32(v[0], hi, v[1]),
                c = _mm512_permutex2var_epi32(v[2], lo, v[3]),
                d = _mm512_permutex2var_epi32(v[2], hi, v[3]);
  const __m512i row[4] = {_mm512_permutex2var_epi32(a, first8, c),
                          _mm512_permutex2var_epi32(a, last8, c),
                          _mm512_permutex2var_epi32(b, first8, d),
                          _mm512_permutex2var_epi32(b, last8, d)};
  const __mmask16 keep = (__mmask16)(count >= 16 ? 0xFFFF : (1u << count) - 1);
  for (int k = 0; k < 4; k++) _mm512_mask_storeu_epi32(o + (size_t)k * stride, keep, row[k]);
}

TARGET_VAES512 static void ars_vaes512(const blocks_job *job) {
  const blocks_job local = *job, *j = &local; /* a copy the stores to out cannot alias */
  __m128i key128[ARS_ROUNDS + 1];
  __m512i key[ARS_ROUNDS + 1];
  round_keys128(j, key128);
  for (int r = 0; r <= ARS_ROUNDS; r++) key[r] = _mm512_broadcast_i32x4(key128[r]);
  const __m512i hi = _mm512_set1_epi64((long long)((uint64_t)j->c3 << 32 | j->c2));
  dest_walk d = dest_walk_start(j, 0, 16);
  for (int i0 = 0; i0 < j->n; i0 += 4 * VAES_IN_FLIGHT) {
    __m512i v[VAES_IN_FLIGHT];
    for (int q = 0; q < VAES_IN_FLIGHT; q++)
      v[q] = _mm512_xor_si512(counters4(j, i0 + 4 * q, hi), key[0]);
    for (int r = 1; r < ARS_ROUNDS; r++)
      for (int q = 0; q < VAES_IN_FLIGHT; q++) v[q] = _mm512_aesenc_epi128(v[q], key[r]);
    for (int q = 0; q < VAES_IN_FLIGHT; q++)
      v[q] = _mm512_aesenclast_epi128(v[q], key[ARS_ROUNDS]);
    for (int h = 0; h < VAES_IN_FLIGHT / 4 && i0 + 16 * h < j->n; h++)
      store_rows16(v + 4 * h, dest_walk_next(j, &d), j->stride, j->n - i0 - 16 * h);
  }
  _mm256_zeroupper();
}

/* ---------------------------------------------------------------- VAES: two blocks a vector */

#define TARGET_VAES256 __attribute__((target("avx2,vaes")))

enum { VAES256_IN_FLIGHT = 8 }; /* vectors of two blocks: 16 blocks a batch */

/* Blocks i … i + 7 in four vectors (block 2q + m in lane m of v[q]) → four rows of 8 words,
 * masked to the first @p count blocks: a 4 × 4 transposition in each 128-bit lane gives word k
 * of blocks 0, 2, 4, 6 | 1, 3, 5, 7, and a permutation puts them in order. */
TARGET_VAES256 INLINE void store_rows8(const __m256i v[4], uint32_t *o, size_t stride, int count) {
  const __m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpackhi_epi32(v[0], v[1]),
                t2 = _mm256_unpacklo_epi32(v[2], v[3]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i row[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2),
                          _mm256_unpacklo_epi64(t1, t3), _mm256_unpackhi_epi64(t1, t3)};
  const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(count),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int k = 0; k < 4; k++)
    _mm256_maskstore_epi32((int *)(void *)(o + (size_t)k * stride), keep,
                           _mm256_permutevar8x32_epi32(row[k], order));
}

TARGET_VAES256 static void ars_vaes256(const blocks_job *job) {
  const blocks_job local = *job, *j = &local; /* a copy the stores to out cannot alias */
  __m128i key128[ARS_ROUNDS + 1];
  __m256i key[ARS_ROUNDS + 1];
  round_keys128(j, key128);
  for (int r = 0; r <= ARS_ROUNDS; r++) key[r] = _mm256_broadcastsi128_si256(key128[r]);
  const long long hi = (long long)((uint64_t)j->c3 << 32 | j->c2);
  for (int i0 = 0; i0 < j->n; i0 += 2 * VAES256_IN_FLIGHT) {
    __m256i v[VAES256_IN_FLIGHT];
    for (int q = 0; q < VAES256_IN_FLIGHT; q++) { /* tails: any counter of the batch */
      const int a = i0 + 2 * q < j->n ? i0 + 2 * q : i0, b = a + 1 < j->n ? a + 1 : a;
      v[q] = _mm256_xor_si256(
          _mm256_set_epi64x(hi, (long long)counter(j, b), hi, (long long)counter(j, a)), key[0]);
    }
    for (int r = 1; r < ARS_ROUNDS; r++)
      for (int q = 0; q < VAES256_IN_FLIGHT; q++) v[q] = _mm256_aesenc_epi128(v[q], key[r]);
    for (int q = 0; q < VAES256_IN_FLIGHT; q++)
      v[q] = _mm256_aesenclast_epi128(v[q], key[ARS_ROUNDS]);
    for (int h = 0; h < VAES256_IN_FLIGHT / 4 && i0 + 8 * h < j->n; h++)
      store_rows8(v + 4 * h, dest(j, i0 + 8 * h), j->stride, j->n - i0 - 8 * h);
  }
  _mm256_zeroupper();
}

/* What this CPU has beyond the SIMD levels: AES-NI, and VAES. */
static int aes_kind = -1; /* −1 unknown, 0 none, 1 AES-NI, 2 AES-NI and VAES */

static bool vaes_hidden; /* tests: as on a CPU without VAES */

static int cpu_aes(void) {
  if (aes_kind < 0) {
    __builtin_cpu_init();
    aes_kind = !__builtin_cpu_supports("aes") ? 0 : __builtin_cpu_supports("vaes") ? 2 : 1;
  }
  return vaes_hidden && aes_kind == 2 ? 1 : aes_kind;
}
#endif

void invrg_simd_ars_hide_vaes(bool hide) {
#if INVRG_SIMD_X86
  vaes_hidden = hide;
#else
  (void)hide;
#endif
}

/* The fastest way this build and CPU have at @p level. */
typedef enum { WAY_PORTABLE, WAY_AESNI, WAY_VAES256, WAY_VAES } ars_way;
static const char *const way_names[] = {"portable", "aes-ni", "vaes-256", "vaes"};

static ars_way way_at(invrg_simd_level level) {
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512 && cpu_aes() == 2) return WAY_VAES;
  if (level == INVRG_SIMD_AVX2 && cpu_aes() == 2) return WAY_VAES256;
  if (level != INVRG_SIMD_GENERIC && cpu_aes() >= 1) return WAY_AESNI;
#endif
  (void)level;
  return WAY_PORTABLE;
}

const char *invrg_simd_ars_way(invrg_simd_level level) { return way_names[way_at(level)]; }

void invrg_simd_ars(invrg_simd_level level, const uint32_t key[2], const uint32_t ctr_hi[2],
                    uint64_t first, const uint64_t *sites, int n, uint32_t *out, size_t stride,
                    int tile) {
  if (n <= 0) return;
  const blocks_job j = blocks_job_make(key, ctr_hi, first, sites, n, out, stride, tile);
  switch (way_at(level)) {
#if INVRG_SIMD_X86
  case WAY_VAES:
    ars_vaes512(&j);
    return;
  case WAY_VAES256:
    ars_vaes256(&j);
    return;
  case WAY_AESNI:
    ars_aesni(&j);
    return;
#endif
  default:
    ars_generic(&j);
  }
}

/*
 * The bit-sliced kernels of the multispin sweeps (contract in invrg/multispin.h): per word,
 * the classes of its 64 sites from the four neighbour words (bit-sliced adders), then the
 * bit-serial comparison of the random planes with the thresholds, most significant first:
 *     accepted   |= undecided & T_j & ~r_j    (random 0 against threshold 1: u < T)
 *     undecided &= ~(r_j ^ T_j)               (still equal so far)
 * Portable C one word at a time; AVX2 4 words a vector; AVX-512 8 words a vector. They run
 * the same function of the same planes, so they give the same bits.
 */
#include <string.h>

#include "multispin_internal.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

/* ---------------------------------------------------------------- portable */

/* a ? b : c, bitwise. */
static inline uint64_t mux(uint64_t a, uint64_t b, uint64_t c) { return (a & b) | (~a & c); }

/* A word on its way: accepted sites, undecided sites, class selectors. */
typedef struct {
  uint64_t acc, und, sel[3];
} word_state;

/* The sites' classes from the neighbour words (bit 1 = spin −1) and the own word s. */
static inline word_state word_start(bool heatbath, uint64_t s, uint64_t up, uint64_t down,
                                    uint64_t same, uint64_t shift, uint64_t mask) {
  word_state w = {0};
  const uint64_t s1 = up ^ down, s2 = same ^ shift;
  if (heatbath) { /* m = number of −1 neighbours: two half adders and a full adder */
    const uint64_t c1 = up & down, c2 = same & shift;
    w.sel[0] = s1 ^ s2;
    w.sel[1] = c1 ^ c2 ^ (s1 & s2);
    w.sel[2] = c1 & c2;
    w.und = mask;
  } else { /* a = neighbours against s, s·h = 4 − 2a: a ≥ 2 flips without a draw */
    const uint64_t c1 = (up ^ s) & (down ^ s), c2 = (same ^ s) & (shift ^ s);
    const uint64_t always = c1 | c2 | (s1 & s2);
    w.sel[0] = ~always & (s1 | s2); /* a = 1 */
    w.acc = always & mask;
    w.und = ~always & mask;
  }
  return w;
}

/* Bit 63 − j of each site's threshold from the class bits t of plane j. */
static inline uint64_t threshold_bits(bool heatbath, const uint64_t t[MS_CLASSES],
                                      const uint64_t sel[3]) {
  if (!heatbath) return mux(sel[0], t[0], t[1]);
  return mux(sel[2], t[4], mux(sel[1], mux(sel[0], t[3], t[2]), mux(sel[0], t[1], t[0])));
}

static inline void compare_plane(uint64_t *acc, uint64_t *und, uint64_t r, uint64_t tb) {
  *acc |= *und & tb & ~r;
  *und &= ~(r ^ tb);
}

static inline void push_half(ms_piece *pc, int half, uint64_t s, const word_state *w,
                             int shift) {
  const int t = pc->waiting++;
  pc->w_half[t] = (uint32_t)half;
  pc->w_s[t] = (uint32_t)(s >> shift);
  pc->w_acc[t] = (uint32_t)(w->acc >> shift);
  pc->w_und[t] = (uint32_t)(w->und >> shift);
  for (int k = 0; k < 3; k++) pc->w_sel[k][t] = (uint32_t)(w->sel[k] >> shift);
}

/* Stores the decided halves of word i (s = +1 iff u < T, or flip), lists the others. */
static int64_t settle_word(ms_piece *pc, bool heatbath, int i, const word_state *w) {
  const uint64_t lo = 0xFFFFFFFFu, hi = lo << 32;
  const uint64_t done = (w->und & lo ? 0 : lo) | (w->und & hi ? 0 : hi);
  const uint64_t s = pc->self[i], s_new = heatbath ? ~w->acc & pc->mask[i] : s ^ w->acc;
  pc->self[i] = (s & ~done) | (s_new & done);
  for (int h = 0; h < 2; h++)
    if (!(done >> (32 * h) & 1)) push_half(pc, 2 * i + h, s, w, 32 * h);
  return ms_popcount64((s ^ s_new) & done);
}

/* Words [i0, n) of the piece, one at a time. */
static int64_t first_generic(ms_piece *pc, const ms_thresholds *tab, int i0) {
  const bool hb = tab->heatbath;
  int64_t flips = 0;
  for (int i = i0; i < pc->n; i++) {
    word_state w = word_start(hb, pc->self[i], pc->up[i], pc->down[i], pc->same[i],
                              pc->shift[i], pc->mask[i]);
    for (int j = 0; j < MS_FIRST_PLANES; j++) {
      uint64_t r;
      memcpy(&r, &pc->rnd[j >> 2][j & 3][2 * i], sizeof r); /* halves 0, 1: little-endian */
      compare_plane(&w.acc, &w.und, r, threshold_bits(hb, tab->bit[j], w.sel));
    }
    flips += settle_word(pc, hb, i, &w);
  }
  return flips;
}

/* Waiting half-words [t0, waiting), one at a time (32-bit values in 64-bit variables). */
static void round_generic(ms_piece *pc, const ms_thresholds *tab, int j0, int t0) {
  for (int t = t0; t < pc->waiting; t++) {
    uint64_t acc = pc->w_acc[t], und = pc->w_und[t];
    const uint64_t sel[3] = {pc->w_sel[0][t], pc->w_sel[1][t], pc->w_sel[2][t]};
    for (int k = 0; k < MS_ROUND_PLANES; k++)
      compare_plane(&acc, &und, pc->extra[k][t],
                    threshold_bits(tab->heatbath, tab->bit[j0 + k], sel));
    pc->w_acc[t] = (uint32_t)acc;
    pc->w_und[t] = (uint32_t)und;
  }
}

#if INVRG_SIMD_X86
/* ---------------------------------------------------------------- AVX2: 4 words a vector */

INVRG_TARGET_AVX2 static inline __m256i mux_avx2(__m256i a, __m256i b, __m256i c) {
  return _mm256_or_si256(_mm256_and_si256(a, b), _mm256_andnot_si256(a, c));
}

/* sum + set bits of each 64-bit lane of x (nibble table, then byte sums). */
INVRG_TARGET_AVX2 static inline __m256i popcount_add_avx2(__m256i sum, __m256i x) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                                       2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i nib = _mm256_set1_epi8(0x0F);
  const __m256i c = _mm256_add_epi8(
      _mm256_shuffle_epi8(lut, _mm256_and_si256(x, nib)),
      _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x, 4), nib)));
  return _mm256_add_epi64(sum, _mm256_sad_epu8(c, _mm256_setzero_si256()));
}

/* Threshold bits of plane j for 64-bit (or 32-bit: the class bits are all-ones or 0) lanes. */
INVRG_TARGET_AVX2 static inline __m256i threshold_avx2(bool hb, const uint64_t *t,
                                                       const __m256i sel[3]) {
#define B(k) _mm256_set1_epi64x((long long)t[k])
  if (!hb) return mux_avx2(sel[0], B(0), B(1));
  return mux_avx2(sel[2], B(4),
                  mux_avx2(sel[1], mux_avx2(sel[0], B(3), B(2)), mux_avx2(sel[0], B(1), B(0))));
#undef B
}

/* Lists the undecided halves of the 4 words at i (old spins s; st: acc, und, sel 0 … 2). */
INVRG_TARGET_AVX2 static void push_avx2(ms_piece *pc, int i, __m256i s, const __m256i st[5]) {
  uint64_t v[5][4], old[4];
  for (int k = 0; k < 5; k++) _mm256_storeu_si256((__m256i *)(void *)v[k], st[k]);
  _mm256_storeu_si256((__m256i *)(void *)old, s);
  for (int w = 0; w < 4; w++)
    for (int h = 0; h < 2; h++)
      if ((uint32_t)(v[1][w] >> (32 * h)) != 0) {
        const word_state ws = {v[0][w], v[1][w], {v[2][w], v[3][w], v[4][w]}};
        push_half(pc, 2 * (i + w) + h, old[w], &ws, 32 * h);
      }
}

INVRG_TARGET_AVX2 static int64_t first_avx2(ms_piece *pc, const ms_thresholds *tab) {
  const bool hb = tab->heatbath;
  const __m256i zero = _mm256_setzero_si256();
  __m256i count = zero;
  int i = 0;
  for (; i + 4 <= pc->n; i += 4) {
#define LOAD(a) _mm256_loadu_si256((const __m256i *)(const void *)((a) + i))
    const __m256i s = LOAD(pc->self), up = LOAD(pc->up), down = LOAD(pc->down);
    const __m256i same = LOAD(pc->same), shift = LOAD(pc->shift), msk = LOAD(pc->mask);
#undef LOAD
    const __m256i s1 = _mm256_xor_si256(up, down), s2 = _mm256_xor_si256(same, shift);
    __m256i st[5]; /* acc, und, sel 0 … 2 */
    if (hb) {
      const __m256i c1 = _mm256_and_si256(up, down), c2 = _mm256_and_si256(same, shift);
      st[0] = zero;
      st[1] = msk;
      st[2] = _mm256_xor_si256(s1, s2);
      st[3] = _mm256_xor_si256(_mm256_xor_si256(c1, c2), _mm256_and_si256(s1, s2));
      st[4] = _mm256_and_si256(c1, c2);
    } else {
      const __m256i c1 = _mm256_and_si256(_mm256_xor_si256(up, s), _mm256_xor_si256(down, s));
      const __m256i c2 = _mm256_and_si256(_mm256_xor_si256(same, s), _mm256_xor_si256(shift, s));
      const __m256i always = _mm256_or_si256(_mm256_or_si256(c1, c2), _mm256_and_si256(s1, s2));
      st[0] = _mm256_and_si256(always, msk);
      st[1] = _mm256_andnot_si256(always, msk);
      st[2] = _mm256_andnot_si256(always, _mm256_or_si256(s1, s2));
      st[3] = st[4] = zero;
    }
    for (int j = 0; j < MS_FIRST_PLANES; j++) {
      const __m256i tb = threshold_avx2(hb, tab->bit[j], st + 2);
      const __m256i r =
          _mm256_loadu_si256((const __m256i *)(const void *)&pc->rnd[j >> 2][j & 3][2 * i]);
      st[0] = _mm256_or_si256(st[0], _mm256_and_si256(st[1], _mm256_andnot_si256(r, tb)));
      st[1] = _mm256_andnot_si256(_mm256_xor_si256(r, tb), st[1]);
    }
    const __m256i done = _mm256_cmpeq_epi32(st[1], zero); /* per half-word */
    const __m256i s_new = hb ? _mm256_andnot_si256(st[0], msk) : _mm256_xor_si256(s, st[0]);
    _mm256_storeu_si256((__m256i *)(void *)(pc->self + i), _mm256_blendv_epi8(s, s_new, done));
    count = popcount_add_avx2(count, _mm256_and_si256(done, _mm256_xor_si256(s, s_new)));
    if (_mm256_movemask_epi8(done) != -1) push_avx2(pc, i, s, st);
  }
  uint64_t c[4];
  _mm256_storeu_si256((__m256i *)(void *)c, count);
  _mm256_zeroupper(); /* GCC 12 leaves it out before this call: see check_vector_state.py */
  return (int64_t)(c[0] + c[1] + c[2] + c[3]) + first_generic(pc, tab, i);
}

INVRG_TARGET_AVX2 static void round_avx2(ms_piece *pc, const ms_thresholds *tab, int j0) {
  int t = 0;
  for (; t + 8 <= pc->waiting; t += 8) {
#define LOAD(a) _mm256_loadu_si256((const __m256i *)(const void *)((a) + t))
    __m256i acc = LOAD(pc->w_acc), und = LOAD(pc->w_und);
    const __m256i sel[3] = {LOAD(pc->w_sel[0]), LOAD(pc->w_sel[1]), LOAD(pc->w_sel[2])};
    for (int k = 0; k < MS_ROUND_PLANES; k++) {
      const __m256i tb = threshold_avx2(tab->heatbath, tab->bit[j0 + k], sel);
      const __m256i r = LOAD(pc->extra[k]);
      acc = _mm256_or_si256(acc, _mm256_and_si256(und, _mm256_andnot_si256(r, tb)));
      und = _mm256_andnot_si256(_mm256_xor_si256(r, tb), und);
    }
#undef LOAD
    _mm256_storeu_si256((__m256i *)(void *)(pc->w_acc + t), acc);
    _mm256_storeu_si256((__m256i *)(void *)(pc->w_und + t), und);
  }
  _mm256_zeroupper(); /* GCC 12 leaves it out before this tail call */
  round_generic(pc, tab, j0, t);
}

/* ---------------------------------------------------------------- AVX-512: 8 words a vector */

#define SET1(x) _mm512_set1_epi64((long long)(x))
/* ternary-logic tables of (a, b, c): a ? b : c, a ^ b ^ c, a | b | c, a & b & ~c, a & ~(b ^ c) */
enum { MUX = 0xCA, XOR3 = 0x96, OR3 = 0xFE, AND_ANDNOT = 0x40, AND_XNOR = 0x90 };

INVRG_TARGET_AVX512 static inline __m512i popcount_add_avx512(__m512i sum, __m512i x) {
  const __m512i lut = _mm512_set4_epi32(0x04030302, 0x03020201, 0x03020201, 0x02010100);
  const __m512i nib = _mm512_set1_epi8(0x0F);
  const __m512i c = _mm512_add_epi8(
      _mm512_shuffle_epi8(lut, _mm512_and_si512(x, nib)),
      _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(x, 4), nib)));
  return _mm512_add_epi64(sum, _mm512_sad_epu8(c, _mm512_setzero_si512()));
}

INVRG_TARGET_AVX512 static inline __m512i threshold_avx512(bool hb, const uint64_t *t,
                                                           const __m512i sel[3]) {
  if (!hb) return _mm512_ternarylogic_epi64(sel[0], SET1(t[0]), SET1(t[1]), MUX);
  const __m512i lo = _mm512_ternarylogic_epi64(sel[0], SET1(t[1]), SET1(t[0]), MUX);
  const __m512i hi = _mm512_ternarylogic_epi64(sel[0], SET1(t[3]), SET1(t[2]), MUX);
  return _mm512_ternarylogic_epi64(sel[2], SET1(t[4]),
                                   _mm512_ternarylogic_epi64(sel[1], hi, lo, MUX), MUX);
}

/* Lists the undecided halves (mask wait) of the 8 words at i: compressed in registers, stored
 * whole (the lanes past the last are overwritten by the next push). */
INVRG_TARGET_AVX512 static void push_avx512(ms_piece *pc, bool hb, int i, __mmask16 wait,
                                            __m512i s, const __m512i st[5]) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const int t = pc->waiting;
#define PUSH(dst, v) _mm512_storeu_si512((dst) + t, _mm512_maskz_compress_epi32(wait, (v)))
  PUSH(pc->w_half, _mm512_add_epi32(lane, _mm512_set1_epi32(2 * i)));
  PUSH(pc->w_s, s);
  PUSH(pc->w_acc, st[0]);
  PUSH(pc->w_und, st[1]);
  for (int k = 0; k < (hb ? 3 : 1); k++) PUSH(pc->w_sel[k], st[2 + k]);
#undef PUSH
  pc->waiting += _mm_popcnt_u32(wait);
}

INVRG_TARGET_AVX512 static int64_t first_avx512(ms_piece *pc, const ms_thresholds *tab) {
  const bool hb = tab->heatbath;
  const __m512i zero = _mm512_setzero_si512();
  __m512i count = zero;
  for (int i = 0; i < pc->n; i += 8) {
    const int rem = pc->n - i;
    const __mmask8 valid = (__mmask8)(rem >= 8 ? 0xFF : (1u << rem) - 1);
    const __mmask16 valid2 = (__mmask16)(rem >= 8 ? 0xFFFF : (1u << (2 * rem)) - 1);
#define LOAD(a) _mm512_maskz_loadu_epi64(valid, (a) + i)
    const __m512i s = LOAD(pc->self), up = LOAD(pc->up), down = LOAD(pc->down);
    const __m512i same = LOAD(pc->same), shift = LOAD(pc->shift), msk = LOAD(pc->mask);
#undef LOAD
    const __m512i s1 = _mm512_xor_si512(up, down), s2 = _mm512_xor_si512(same, shift);
    __m512i st[5]; /* acc, und, sel 0 … 2 */
    if (hb) {
      const __m512i c1 = _mm512_and_si512(up, down), c2 = _mm512_and_si512(same, shift);
      st[0] = zero;
      st[1] = msk;
      st[2] = _mm512_xor_si512(s1, s2);
      st[3] = _mm512_ternarylogic_epi64(c1, c2, _mm512_and_si512(s1, s2), XOR3);
      st[4] = _mm512_and_si512(c1, c2);
    } else {
      const __m512i c1 = _mm512_and_si512(_mm512_xor_si512(up, s), _mm512_xor_si512(down, s));
      const __m512i c2 = _mm512_and_si512(_mm512_xor_si512(same, s), _mm512_xor_si512(shift, s));
      const __m512i always = _mm512_ternarylogic_epi64(c1, c2, _mm512_and_si512(s1, s2), OR3);
      st[0] = _mm512_and_si512(always, msk);
      st[1] = _mm512_andnot_si512(always, msk);
      st[2] = _mm512_andnot_si512(always, _mm512_or_si512(s1, s2));
      st[3] = st[4] = zero;
    }
    for (int j = 0; j < MS_FIRST_PLANES; j++) {
      const __m512i tb = threshold_avx512(hb, tab->bit[j], st + 2);
      const __m512i r = _mm512_maskz_loadu_epi64(valid, &pc->rnd[j >> 2][j & 3][2 * i]);
      st[0] = _mm512_or_si512(st[0], _mm512_ternarylogic_epi64(st[1], tb, r, AND_ANDNOT));
      st[1] = _mm512_ternarylogic_epi64(st[1], r, tb, AND_XNOR);
    }
    const __mmask16 wait = _mm512_mask_test_epi32_mask(valid2, st[1], st[1]);
    const __mmask16 done = valid2 & (__mmask16)~wait;
    const __m512i s_new = hb ? _mm512_andnot_si512(st[0], msk) : _mm512_xor_si512(s, st[0]);
    _mm512_mask_storeu_epi32(pc->self + i, done, s_new);
    count = popcount_add_avx512(count, _mm512_maskz_xor_epi32(done, s, s_new));
    if (wait != 0) push_avx512(pc, hb, i, wait, s, st);
  }
  return _mm512_reduce_add_epi64(count);
}

INVRG_TARGET_AVX512 static void round_avx512(ms_piece *pc, const ms_thresholds *tab, int j0) {
  const bool hb = tab->heatbath;
  for (int t = 0; t < pc->waiting; t += 16) {
    const int rem = pc->waiting - t;
    const __mmask16 m = (__mmask16)(rem >= 16 ? 0xFFFF : (1u << rem) - 1);
#define LOAD(a) _mm512_maskz_loadu_epi32(m, (a) + t)
    __m512i acc = LOAD(pc->w_acc), und = LOAD(pc->w_und);
    __m512i sel[3] = {LOAD(pc->w_sel[0]), _mm512_setzero_si512(), _mm512_setzero_si512()};
    if (hb) sel[1] = LOAD(pc->w_sel[1]), sel[2] = LOAD(pc->w_sel[2]);
    for (int k = 0; k < MS_ROUND_PLANES; k++) {
      const __m512i tb = threshold_avx512(hb, tab->bit[j0 + k], sel);
      const __m512i r = LOAD(pc->extra[k]);
      acc = _mm512_or_si512(acc, _mm512_ternarylogic_epi32(und, tb, r, AND_ANDNOT));
      und = _mm512_ternarylogic_epi32(und, r, tb, AND_XNOR);
    }
#undef LOAD
    _mm512_mask_storeu_epi32(pc->w_acc + t, m, acc);
    _mm512_mask_storeu_epi32(pc->w_und + t, m, und);
  }
}
#undef SET1
#endif /* INVRG_SIMD_X86 */

#if INVRG_SIMD_X86
/* out[i − ia] = R[i] << 1 | R[i − 1] >> 63 (o = 0) or R[i] >> 1 | R[i + 1] << 63 (o = 1), for
 * i in [ia, ib): every word read exists (the caller keeps the row's ends out). */
INVRG_TARGET_AVX512 static void shift_inner_avx512(const uint64_t *R, int ia, int ib, int o,
                                                   uint64_t *out) {
  const int step = o == 0 ? -1 : 1;
  for (int i = ia; i < ib; i += 8) {
    const __mmask8 m = (__mmask8)(ib - i >= 8 ? 0xFF : (1u << (ib - i)) - 1);
    const __m512i a = _mm512_maskz_loadu_epi64(m, R + i);
    const __m512i b = _mm512_maskz_loadu_epi64(m, R + i + step);
    const __m512i v = o == 0 ? _mm512_or_si512(_mm512_slli_epi64(a, 1), _mm512_srli_epi64(b, 63))
                             : _mm512_or_si512(_mm512_srli_epi64(a, 1), _mm512_slli_epi64(b, 63));
    _mm512_mask_storeu_epi64(out + (i - ia), m, v);
  }
}
#endif

static void shift_inner_generic(const uint64_t *R, int ia, int ib, int o, uint64_t *out) {
  if (o == 0)
    for (int i = ia; i < ib; i++) out[i - ia] = R[i] << 1 | R[i - 1] >> 63;
  else
    for (int i = ia; i < ib; i++) out[i - ia] = R[i] >> 1 | R[i + 1] << 63;
}

/* ---------------------------------------------------------------- dispatch */

int64_t ms_kernel_first(ms_piece *pc, const ms_thresholds *tab, invrg_simd_level level) {
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512) return first_avx512(pc, tab);
  if (level == INVRG_SIMD_AVX2) return first_avx2(pc, tab);
#endif
  (void)level;
  return first_generic(pc, tab, 0);
}

void ms_kernel_round(ms_piece *pc, const ms_thresholds *tab, int j0, invrg_simd_level level) {
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512) {
    round_avx512(pc, tab, j0);
    return;
  }
  if (level == INVRG_SIMD_AVX2) {
    round_avx2(pc, tab, j0);
    return;
  }
#endif
  (void)level;
  round_generic(pc, tab, j0, 0);
}

void ms_shift_segment(const uint64_t *R, int ia, int ib, int words, int64_t half, int o,
                      uint64_t *out, invrg_simd_level level) {
  /* the row's ends wrap: site k − 1 of k = 0 is half − 1, site k + 1 of half − 1 is 0 */
  const int a = o == 0 && ia == 0 ? 1 : ia, b = o == 1 && ib == words ? words - 1 : ib;
  if (a > ia) out[0] = R[0] << 1 | (R[(half - 1) >> 6] >> ((half - 1) & 63) & 1);
  if (b < ib) out[b - ia] = R[b] >> 1 | (R[0] & 1) << ((half - 1) & 63);
  if (a >= b) return;
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512) {
    shift_inner_avx512(R, a, b, o, out + (a - ia));
    return;
  }
#endif
  (void)level;
  shift_inner_generic(R, a, b, o, out + (a - ia));
}

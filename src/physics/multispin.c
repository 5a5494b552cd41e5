/*
 * Multispin checkerboard Metropolis and heat bath on packed lattices (contract, random-number
 * mapping and exactness in invrg/multispin.h; layout in invrg/packed.h).
 *
 * Work goes in *pieces*: up to PIECE consecutive words of one colour (whole rows, or parts of
 * long rows), flat in memory since a colour's rows are contiguous. For a piece the sweep
 *   1. builds each word's left/right neighbour word (the other colour's row shifted by one
 *      site, wrapped) and its mask of valid bits;
 *   2. draws the first FIRST_PLANES random planes of all its words with the batched Philox;
 *   3. runs a kernel (portable, AVX2: 4 words a vector, AVX-512: 8) that counts the
 *      neighbours with bit-sliced adders, compares the planes with the thresholds bit-serially
 *      and stores the words it decided; words with undecided sites wait in a list;
 *   4. draws two more planes at a time for the waiting words (batched over the list) until
 *      all are decided or the 64 planes are used.
 * Every kernel computes the same function of the same planes, so all give the same bits.
 */
#include "invrg/multispin.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/simd.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

/* Planes of a 64-bit u; the ones every word draws at once; words per piece. */
enum { PLANES = 64, FIRST_PLANES = 8, FIRST_DRAWS = FIRST_PLANES / 2, PIECE = 256 };

/* Threshold classes: Metropolis 0: s·h = 2, 1: s·h = 4; heat bath m = 0 … 4 neighbours −1. */
enum { CLASSES = 5 };

/* bit[j][k]: all ones if bit 63 − j of class k's threshold is set, else 0. */
typedef struct {
  uint64_t bit[PLANES][CLASSES];
} plane_bits;

/* A word on its way: accepted sites, undecided sites, and what selects each site's class
 * (Metropolis: sel[0] = sites with s·h = 2; heat bath: sel = bits 0, 1, 2 of m). */
typedef struct {
  uint64_t acc, und, sel[3];
} word_state;

/* One piece: its words, their neighbours, the first planes, and the waiting list. */
typedef struct {
  int n;                   /* words */
  uint64_t site0;          /* Philox site of the first word */
  uint64_t *self;          /* the colour being updated */
  const uint64_t *up, *down, *same; /* the other colour: rows y − 1, y + 1, y */
  uint64_t shift[PIECE];   /* the other colour's row y at k − 1 or k + 1 */
  uint64_t mask[PIECE];    /* valid bits */
  uint32_t rnd[FIRST_DRAWS][4][PIECE]; /* draw d, block word k, word i */
  int waiting;             /* words in the list */
  int wait_word[PIECE];
  word_state wait_state[PIECE];
  uint64_t wait_site[PIECE];
  uint32_t extra[4][PIECE];
} piece;

/* Everything a sweep needs. */
typedef struct {
  invrg_packed *p;
  const plane_bits *tab;
  invrg_rng_stream stream;
  invrg_simd_level level;
  bool heatbath;
  piece *pc;
  int64_t flips;
} sweep_ctx;

/* ---------------------------------------------------------------- thresholds */

/* T(p) = min(round(p·2^64), 2^64 − 1); 0 for p ≤ 0. ldexp is exact, the rounding ≤ 2^-65. */
static uint64_t threshold64(double p) {
  if (!(p > 0)) return 0;
  const double t = nearbyint(ldexp(p, 64));
  if (t >= 18446744073709551616.0) return UINT64_MAX;
  return (uint64_t)t;
}

/* Metropolis: p = e^{−2K s h} for s·h = 2, 4; heat bath: 1 / (1 + e^{−2K h}), h = 4 − 2m. */
static void plane_bits_init(double K, bool heatbath, plane_bits *tab) {
  uint64_t T[CLASSES] = {0};
  if (heatbath) {
    for (int m = 0; m < 5; m++) T[m] = threshold64(1.0 / (1.0 + exp(-2.0 * K * (4 - 2 * m))));
  } else {
    T[0] = threshold64(exp(-4.0 * K));
    T[1] = threshold64(exp(-8.0 * K));
  }
  for (int j = 0; j < PLANES; j++)
    for (int k = 0; k < CLASSES; k++) tab->bit[j][k] = (T[k] >> (63 - j)) & 1 ? ~UINT64_C(0) : 0;
}

/* ---------------------------------------------------------------- portable word logic */

static inline uint64_t mux(uint64_t a, uint64_t b, uint64_t c) { return (a & b) | (~a & c); }

/* The sites' classes from the four neighbour words (bit 1 = spin −1) and the own word s. */
static inline word_state word_start(bool heatbath, uint64_t s, uint64_t up, uint64_t down,
                                    uint64_t same, uint64_t shift, uint64_t mask) {
  word_state w = {0};
  if (heatbath) { /* m = number of −1 neighbours by two half adders and a full adder */
    const uint64_t s1 = up ^ down, c1 = up & down, s2 = same ^ shift, c2 = same & shift;
    w.sel[0] = s1 ^ s2;
    w.sel[1] = c1 ^ c2 ^ (s1 & s2);
    w.sel[2] = c1 & c2;
    w.und = mask;
  } else { /* a = neighbours anti-aligned with s, s·h = 4 − 2a: flip always if a ≥ 2 */
    const uint64_t c1 = (up ^ s) & (down ^ s), c2 = (same ^ s) & (shift ^ s);
    const uint64_t s1 = up ^ down, s2 = same ^ shift;
    const uint64_t always = c1 | c2 | (s1 & s2);
    w.sel[0] = ~always & (s1 | s2); /* a = 1 */
    w.acc = always & mask;
    w.und = ~always & mask;
  }
  return w;
}

/* Bit 63 − j of each site's threshold, from the class bits of plane j. */
static inline uint64_t threshold_bits(bool heatbath, const uint64_t t[CLASSES],
                                      const uint64_t sel[3]) {
  if (!heatbath) return mux(sel[0], t[0], t[1]);
  return mux(sel[2], t[4], mux(sel[1], mux(sel[0], t[3], t[2]), mux(sel[0], t[1], t[0])));
}

/* One plane r against threshold bits tb: 0 against 1 accepts (u < T), 1 against 0 rejects. */
static inline void compare_plane(word_state *w, uint64_t r, uint64_t tb) {
  w->acc |= w->und & tb & ~r;
  w->und &= ~(r ^ tb);
}

/* Stores the decided word i of the piece; counts its changed spins. */
static inline int64_t finish_word(piece *pc, bool heatbath, int i, const word_state *w) {
  const uint64_t s = pc->self[i];
  const uint64_t s_new = heatbath ? ~w->acc & pc->mask[i] : s ^ w->acc; /* s = +1 iff u < T */
  pc->self[i] = s_new;
  return __builtin_popcountll(s ^ s_new);
}

static inline void wait_add(piece *pc, int i, const word_state *w) {
  pc->wait_word[pc->waiting] = i;
  pc->wait_state[pc->waiting] = *w;
  pc->waiting++;
}

/* A 64-bit plane from the block words lo and hi of word i. */
static inline uint64_t plane_of(const uint32_t *lo, const uint32_t *hi, int i) {
  return lo[i] | (uint64_t)hi[i] << 32;
}

/* Words [i0, n) of the piece, one at a time. */
static int64_t kernel_generic(piece *pc, const plane_bits *tab, bool heatbath, int i0) {
  int64_t flips = 0;
  for (int i = i0; i < pc->n; i++) {
    word_state w = word_start(heatbath, pc->self[i], pc->up[i], pc->down[i], pc->same[i],
                              pc->shift[i], pc->mask[i]);
    for (int j = 0; j < FIRST_PLANES && w.und != 0; j++) {
      const int d = j >> 1, k = 2 * (j & 1);
      compare_plane(&w, plane_of(pc->rnd[d][k], pc->rnd[d][k + 1], i),
                    threshold_bits(heatbath, tab->bit[j], w.sel));
    }
    if (w.und != 0)
      wait_add(pc, i, &w);
    else
      flips += finish_word(pc, heatbath, i, &w);
  }
  return flips;
}

/* ---------------------------------------------------------------- AVX2: 4 words a vector */
#if INVRG_SIMD_X86
#define SET1(x) _mm256_set1_epi64x((long long)(x))

/* a ? b : c, bitwise. */
INVRG_TARGET_AVX2 static inline __m256i mux_avx2(__m256i a, __m256i b, __m256i c) {
  return _mm256_or_si256(_mm256_and_si256(a, b), _mm256_andnot_si256(a, c));
}

/* Plane j of words i … i + 3. */
INVRG_TARGET_AVX2 static inline __m256i plane_avx2(const piece *pc, int j, int i) {
  const uint32_t *lo = pc->rnd[j >> 1][2 * (j & 1)] + i, *hi = pc->rnd[j >> 1][2 * (j & 1) + 1] + i;
  const __m256i l = _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(const void *)lo));
  const __m256i h = _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(const void *)hi));
  return _mm256_or_si256(l, _mm256_slli_epi64(h, 32));
}

/* Stores the words the vector decided, puts the others on the list; returns changed spins. */
INVRG_TARGET_AVX2 static int64_t settle_avx2(piece *pc, bool heatbath, int i, __m256i s,
                                             __m256i msk, const __m256i st[5]) {
  const __m256i decided = _mm256_cmpeq_epi64(st[1], _mm256_setzero_si256());
  const __m256i s_new = heatbath ? _mm256_andnot_si256(st[0], msk) : _mm256_xor_si256(s, st[0]);
  _mm256_storeu_si256((__m256i *)(void *)(pc->self + i), _mm256_blendv_epi8(s, s_new, decided));
  uint64_t changed[4], lanes[5][4];
  _mm256_storeu_si256((__m256i *)(void *)changed,
                      _mm256_and_si256(decided, _mm256_xor_si256(s, s_new)));
  int64_t flips = 0;
  for (int k = 0; k < 4; k++) flips += _mm_popcnt_u64(changed[k]);
  const int wait = 0xF & ~_mm256_movemask_pd(_mm256_castsi256_pd(decided));
  if (wait == 0) return flips;
  for (int v = 0; v < 5; v++) _mm256_storeu_si256((__m256i *)(void *)lanes[v], st[v]);
  for (int k = 0; k < 4; k++)
    if (wait >> k & 1) {
      const word_state w = {lanes[0][k], lanes[1][k], {lanes[2][k], lanes[3][k], lanes[4][k]}};
      wait_add(pc, i + k, &w);
    }
  return flips;
}

INVRG_TARGET_AVX2 static int64_t kernel_avx2(piece *pc, const plane_bits *tab, bool heatbath) {
  int64_t flips = 0;
  int i = 0;
  for (; i + 4 <= pc->n; i += 4) {
#define LOAD(a) _mm256_loadu_si256((const __m256i *)(const void *)((a) + i))
    const __m256i s = LOAD(pc->self), up = LOAD(pc->up), down = LOAD(pc->down);
    const __m256i same = LOAD(pc->same), shift = LOAD(pc->shift), msk = LOAD(pc->mask);
#undef LOAD
    const __m256i s1 = _mm256_xor_si256(up, down), s2 = _mm256_xor_si256(same, shift);
    __m256i st[5]; /* acc, und, sel 0 … 2 */
    if (heatbath) {
      const __m256i c1 = _mm256_and_si256(up, down), c2 = _mm256_and_si256(same, shift);
      st[0] = _mm256_setzero_si256();
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
      st[3] = st[4] = _mm256_setzero_si256();
    }
    for (int j = 0; j < FIRST_PLANES; j++) {
      const uint64_t *t = tab->bit[j];
      const __m256i tb =
          heatbath ? mux_avx2(st[4], SET1(t[4]),
                              mux_avx2(st[3], mux_avx2(st[2], SET1(t[3]), SET1(t[2])),
                                       mux_avx2(st[2], SET1(t[1]), SET1(t[0]))))
                   : mux_avx2(st[2], SET1(t[0]), SET1(t[1]));
      const __m256i r = plane_avx2(pc, j, i);
      st[0] = _mm256_or_si256(st[0], _mm256_and_si256(st[1], _mm256_andnot_si256(r, tb)));
      st[1] = _mm256_andnot_si256(_mm256_xor_si256(r, tb), st[1]);
      if (_mm256_testz_si256(st[1], st[1])) break;
    }
    flips += settle_avx2(pc, heatbath, i, s, msk, st);
  }
  return flips + kernel_generic(pc, tab, heatbath, i);
}
#undef SET1

/* ---------------------------------------------------------------- AVX-512: 8 words a vector */
#define SET1(x) _mm512_set1_epi64((long long)(x))
/* ternary-logic truth tables of (a, b, c): a ? b : c, a ^ b ^ c, a | b | c, a & b & ~c,
 * a & ~(b ^ c) */
enum { MUX = 0xCA, XOR3 = 0x96, OR3 = 0xFE, AND_ANDNOT = 0x40, AND_XNOR = 0x90 };

INVRG_TARGET_AVX512 static inline __m512i plane_avx512(const piece *pc, int j, int i,
                                                       __mmask8 valid) {
  const uint32_t *lo = pc->rnd[j >> 1][2 * (j & 1)] + i, *hi = pc->rnd[j >> 1][2 * (j & 1) + 1] + i;
  const __m512i l = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(valid, lo));
  const __m512i h = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(valid, hi));
  return _mm512_or_si512(l, _mm512_slli_epi64(h, 32));
}

INVRG_TARGET_AVX512 static int64_t settle_avx512(piece *pc, bool heatbath, int i,
                                                 __mmask8 valid, __m512i s, __m512i msk,
                                                 const __m512i st[5]) {
  const __mmask8 wait = _mm512_mask_test_epi64_mask(valid, st[1], st[1]);
  const __mmask8 done = valid & (__mmask8)~wait;
  const __m512i s_new = heatbath ? _mm512_andnot_si512(st[0], msk) : _mm512_xor_si512(s, st[0]);
  _mm512_mask_storeu_epi64(pc->self + i, done, s_new);
  uint64_t changed[8], lanes[5][8];
  _mm512_storeu_si512(changed, _mm512_maskz_xor_epi64(done, s, s_new));
  int64_t flips = 0;
  for (int k = 0; k < 8; k++) flips += _mm_popcnt_u64(changed[k]);
  if (wait == 0) return flips;
  for (int v = 0; v < 5; v++) _mm512_storeu_si512(lanes[v], st[v]);
  for (int k = 0; k < 8; k++)
    if (wait >> k & 1) {
      const word_state w = {lanes[0][k], lanes[1][k], {lanes[2][k], lanes[3][k], lanes[4][k]}};
      wait_add(pc, i + k, &w);
    }
  return flips;
}

INVRG_TARGET_AVX512 static int64_t kernel_avx512(piece *pc, const plane_bits *tab,
                                                 bool heatbath) {
  int64_t flips = 0;
  for (int i = 0; i < pc->n; i += 8) {
    const __mmask8 valid = (__mmask8)(pc->n - i >= 8 ? 0xFF : (1u << (pc->n - i)) - 1);
#define LOAD(a) _mm512_maskz_loadu_epi64(valid, (a) + i)
    const __m512i s = LOAD(pc->self), up = LOAD(pc->up), down = LOAD(pc->down);
    const __m512i same = LOAD(pc->same), shift = LOAD(pc->shift), msk = LOAD(pc->mask);
#undef LOAD
    const __m512i s1 = _mm512_xor_si512(up, down), s2 = _mm512_xor_si512(same, shift);
    __m512i st[5]; /* acc, und, sel 0 … 2 */
    if (heatbath) {
      const __m512i c1 = _mm512_and_si512(up, down), c2 = _mm512_and_si512(same, shift);
      st[0] = _mm512_setzero_si512();
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
      st[3] = st[4] = _mm512_setzero_si512();
    }
    for (int j = 0; j < FIRST_PLANES; j++) {
      const uint64_t *t = tab->bit[j];
      __m512i tb;
      if (heatbath) {
        const __m512i lo = _mm512_ternarylogic_epi64(st[2], SET1(t[1]), SET1(t[0]), MUX);
        const __m512i hi = _mm512_ternarylogic_epi64(st[2], SET1(t[3]), SET1(t[2]), MUX);
        tb = _mm512_ternarylogic_epi64(st[4], SET1(t[4]),
                                       _mm512_ternarylogic_epi64(st[3], hi, lo, MUX), MUX);
      } else {
        tb = _mm512_ternarylogic_epi64(st[2], SET1(t[0]), SET1(t[1]), MUX);
      }
      const __m512i r = plane_avx512(pc, j, i, valid);
      st[0] = _mm512_or_si512(st[0], _mm512_ternarylogic_epi64(st[1], tb, r, AND_ANDNOT));
      st[1] = _mm512_ternarylogic_epi64(st[1], r, tb, AND_XNOR);
      if (_mm512_test_epi64_mask(st[1], st[1]) == 0) break;
    }
    flips += settle_avx512(pc, heatbath, i, valid, s, msk, st);
  }
  return flips;
}
#undef SET1
#endif /* INVRG_SIMD_X86 */

/* ---------------------------------------------------------------- pieces */

const char *invrg_multispin_kernel(void) { return invrg_simd_name(invrg_simd_active()); }

/* Word i of row R shifted to the other colour's left/right neighbour of each site: k − 1
 * (o = 0) or k + 1 (o = 1), modulo the row's half sites. */
static inline uint64_t shifted_word(const uint64_t *R, int i, int words, int64_t half, int o) {
  if (o == 0) {
    const uint64_t carry = i > 0 ? R[i - 1] >> 63 : R[(half - 1) >> 6] >> ((half - 1) & 63) & 1;
    return R[i] << 1 | carry;
  }
  uint64_t v = R[i] >> 1;
  if (i + 1 < words) return v | R[i + 1] << 63;
  return v | (R[0] & 1) << ((half - 1) & 63); /* the wrap into the last site */
}

/* Neighbour pointers, shifted words and masks of the piece of colour c at flat word f0. */
static void piece_prepare(const invrg_packed *p, int c, int64_t f0, int n, piece *pc) {
  const int W = p->words;
  uint64_t *other = invrg_packed_row(p, 1 - c, 0);
  pc->n = n;
  pc->self = invrg_packed_row(p, c, 0) + f0;
  pc->same = other + f0;
  pc->up = other + f0 - W;
  pc->down = other + f0 + W;
  int j = (int)(f0 / W), i = (int)(f0 % W);
  for (int t = 0; t < n; t++) {
    const int o = (int)((p->y0 + j + c) & 1);
    pc->shift[t] = shifted_word(invrg_packed_row(p, 1 - c, j), i, W, p->half, o);
    pc->mask[t] = i == W - 1 ? p->tail : ~UINT64_C(0);
    if (++i == W) i = 0, j++;
  }
  pc->waiting = 0;
}

/* Draws two planes at a time for the waiting words until none waits. */
static int64_t settle_waiting(sweep_ctx *ctx) {
  piece *pc = ctx->pc;
  int64_t flips = 0;
  for (int j = FIRST_PLANES; pc->waiting > 0; j += 2) {
    for (int t = 0; t < pc->waiting; t++) pc->wait_site[t] = pc->site0 + (uint64_t)pc->wait_word[t];
    invrg_rng_blocks_at(&ctx->stream, ctx->level, 0, pc->wait_site, pc->waiting,
                        (uint32_t)(j / 2), &pc->extra[0][0], PIECE, pc->waiting);
    int kept = 0;
    for (int t = 0; t < pc->waiting; t++) {
      word_state w = pc->wait_state[t];
      for (int h = 0; h < 2; h++)
        compare_plane(&w, plane_of(pc->extra[2 * h], pc->extra[2 * h + 1], t),
                      threshold_bits(ctx->heatbath, ctx->tab->bit[j + h], w.sel));
      if (w.und != 0 && j + 2 < PLANES) { /* after plane 63 the undecided have u = T: reject */
        pc->wait_word[kept] = pc->wait_word[t];
        pc->wait_state[kept++] = w;
      } else {
        flips += finish_word(pc, ctx->heatbath, pc->wait_word[t], &w);
      }
    }
    pc->waiting = kept;
  }
  return flips;
}

/* Colour c's flat words [f0, f1) of this rank (word f = row f / W, word f mod W). */
static void update_words(sweep_ctx *ctx, int c, int64_t f0, int64_t f1) {
  const invrg_packed *p = ctx->p;
  piece *pc = ctx->pc;
  const uint64_t base = ((uint64_t)c * (uint64_t)p->ly + (uint64_t)p->y0) * (uint64_t)p->words;
  for (int64_t f = f0; f < f1; f += PIECE) {
    const int n = (int)(f1 - f < PIECE ? f1 - f : PIECE);
    piece_prepare(p, c, f, n, pc);
    pc->site0 = base + (uint64_t)f;
    for (int d = 0; d < FIRST_DRAWS; d++)
      invrg_rng_blocks_at(&ctx->stream, ctx->level, pc->site0, NULL, n, (uint32_t)d,
                          &pc->rnd[d][0][0], PIECE, n);
#if INVRG_SIMD_X86
    if (ctx->level == INVRG_SIMD_AVX512)
      ctx->flips += kernel_avx512(pc, ctx->tab, ctx->heatbath);
    else if (ctx->level == INVRG_SIMD_AVX2)
      ctx->flips += kernel_avx2(pc, ctx->tab, ctx->heatbath);
    else
#endif
      ctx->flips += kernel_generic(pc, ctx->tab, ctx->heatbath, 0);
    ctx->flips += settle_waiting(ctx);
  }
}

/*
 * Colour c, then its halo rows. With other ranks, the first and last rows go first, and the
 * rows between are updated while they travel (they neither send nor read colour c's halo).
 */
static invrg_err sweep_colour(sweep_ctx *ctx, int c) {
  invrg_err err = INVRG_SUCCESS;
  invrg_packed *p = ctx->p;
  const int64_t W = p->words, ny = p->ny;
  if (p->size == 1) {
    update_words(ctx, c, 0, ny * W);
    INVRG_CALL(invrg_packed_halo_begin(p, c));
  } else {
    update_words(ctx, c, 0, W);
    if (ny > 1) update_words(ctx, c, (ny - 1) * W, ny * W);
    INVRG_CALL(invrg_packed_halo_begin(p, c));
    if (ny > 2) update_words(ctx, c, W, (ny - 1) * W);
  }
  INVRG_CALL(invrg_packed_halo_end(p, c));
cleanup:
  return err;
}

invrg_err invrg_multispin_sweep(invrg_packed *p, const invrg_mc_chain *chain, uint64_t step,
                                bool heatbath, invrg_mc_counts *counts) {
  invrg_err err = INVRG_SUCCESS;
  plane_bits *tab = NULL;
  piece *pc = NULL;
  INVRG_CHECK(chain->K > 0 && isfinite(chain->K), INVRG_ERR_INPUT,
              "checkerboard updates need a positive finite coupling, got K = %g", chain->K);
  INVRG_CHECK(step < INVRG_RNG_STEP_LIMIT, INVRG_ERR_RUNTIME, "sweep number %llu out of range",
              (unsigned long long)step);
  tab = malloc(sizeof *tab);
  pc = malloc(sizeof *pc);
  INVRG_CHECK_ALLOC(tab);
  INVRG_CHECK_ALLOC(pc);
  plane_bits_init(chain->K, heatbath, tab);
  sweep_ctx ctx = {.p = p, .tab = tab, .level = invrg_simd_active(), .heatbath = heatbath,
                   .pc = pc, .flips = 0};
  invrg_rng_stream_init(&ctx.stream, chain->seed, INVRG_RNG_MC, chain->chain, step);
  for (int c = 0; c < 2; c++) INVRG_CALL(sweep_colour(&ctx, c));
  if (counts != NULL) {
    int64_t flips = 0;
    INVRG_MPI_CALL(MPI_Allreduce(&ctx.flips, &flips, 1, MPI_INT64_T, MPI_SUM, p->comm));
    counts->attempted += p->lx * p->ly;
    counts->accepted += flips;
    counts->spins_flipped += flips;
  }
cleanup:
  free(tab);
  free(pc);
  return err;
}

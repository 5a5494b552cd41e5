/*
 * MCRG operator sums straight from a packed lattice (invrg/packed_measure.h). A product of
 * spins is −1 exactly when an odd number of them are, so on natural-order rows (bit x = site x,
 * 1 = −1) a term's value at 64 sites is the XOR of its spins' words and its row sum is
 * Lx − 2 · popcount. Rows are visited once, top to bottom, through a window of consecutive
 * natural rows (a block and the two rows above it), each kept in its three shifts dx = 0, 1, 2
 * (bit x of shift dx holds site x − dx, periodic): every term of every operator then costs a
 * few XORs and one popcount per 64 sites, counted on a whole block at once. Row −2 of the
 * first local row lies two rows up: one natural row from the rank above. A lattice of at most
 * 64 sites whole on one rank (the small levels of a dream, summed once per level and sample) is
 * one word instead, every shift a rotation of it.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/packed_measure.h"
#include "packed_measure_internal.h"

enum {
  SHIFTS = INVRG_MCRG_HALO + 1, /* dx = 0 … 2 */
  ABOVE = INVRG_MCRG_HALO + 1,  /* dy = 0 … 2 */
  SLOTS = ABOVE * SHIFTS,        /* (dy, dx) → slot dy · SHIFTS + dx */
  TAG_ROW = 16,                 /* the row sent down (the halo's persistent requests use 0 … 3) */
  VEC_LIMIT = 31,               /* vectors of ≤ 8 set bits a byte between flushes: ≤ 248 */
  ACC = 64,                     /* byte counters per term */
  BLOCK_WORDS = 512,            /* words of a block of rows (a few KB per shift) */
  SMALL_WORDS = 2048            /* 16 KiB: a call's memory on the stack (both sets to 128²) */
};

/* A term as the slots of its spins. */
typedef struct {
  int n_spins;
  int slot[INVRG_OP_MAX_SPINS];
} flat_term;

/* out = the natural row r (Lx sites, n words) shifted by d: bit x holds site (x − d) mod Lx.
 * The d sites Lx − d … Lx − 1 wrap to bits 0 … d − 1; they lie in the last word (Lx even). */
static PM_INLINE void shift_row(const uint64_t *restrict r, int64_t lx, int n, int d,
                                uint64_t *restrict out) {
  if (d >= lx) d = (int)(d % lx); /* d ≤ 2 < lx but on 2 × 2: no division per row */
  if (d == 0) {
    memcpy(out, r, (size_t)n * sizeof *out);
    return;
  }
  const uint64_t wrap = r[n - 1] >> ((lx - d) & 63) & ((UINT64_C(1) << d) - 1);
  out[0] = r[0] << d | wrap;
  for (int w = 1; w < n; w++) out[w] = r[w] << d | r[w - 1] >> (64 - d);
  if (lx % 64 != 0) out[n - 1] &= (UINT64_C(1) << (lx % 64)) - 1; /* padding stays 0 */
}

/* −1 values of a term on words [w0, w1): popcount of the XOR of its spins' words. */
static PM_INLINE int64_t term_minus(const uint64_t *const *slot, const flat_term *t, int w0,
                                    int w1, bool hw) {
  const uint64_t *a = slot[t->slot[0]], *b = slot[t->slot[1]], *c = slot[t->slot[2]],
                 *d = slot[t->slot[3]];
  int64_t m = 0;
  switch (t->n_spins) { /* unused slots point at slot 0: never read */
    case 1: for (int w = w0; w < w1; w++) m += pm_popcount(a[w], hw); break;
    case 2: for (int w = w0; w < w1; w++) m += pm_popcount(a[w] ^ b[w], hw); break;
    case 3: for (int w = w0; w < w1; w++) m += pm_popcount(a[w] ^ b[w] ^ c[w], hw); break;
    default: for (int w = w0; w < w1; w++) m += pm_popcount(a[w] ^ b[w] ^ c[w] ^ d[w], hw); break;
  }
  return m;
}

#if INVRG_SIMD_X86
/* Adds the set bits of term t's XORs over words [w0, w1) (a multiple of 8 of them) into the
 * 64 byte counters at @p acc, eight words a vector (AVX-512): at most 8 a vector, so up to
 * VEC_LIMIT vectors between flushes. */
INVRG_TARGET_AVX512 static void term_bytes_avx512(const uint64_t *const *slot, const flat_term *t,
                                                  int w0, int w1, uint8_t *acc) {
  const uint64_t *r[INVRG_OP_MAX_SPINS];
  for (int q = 0; q < INVRG_OP_MAX_SPINS; q++) r[q] = slot[t->slot[q]];
  __m512i bytes = _mm512_loadu_si512(acc);
#define LOAD(q) _mm512_loadu_si512(r[q] + w)
  switch (t->n_spins) { /* 0x96: a ^ b ^ c in one ternary-logic instruction */
    case 1:
      for (int w = w0; w < w1; w += 8) bytes = _mm512_add_epi8(bytes, pm_pop_bytes(LOAD(0)));
      break;
    case 2:
      for (int w = w0; w < w1; w += 8)
        bytes = _mm512_add_epi8(bytes, pm_pop_bytes(_mm512_xor_si512(LOAD(0), LOAD(1))));
      break;
    case 3:
      for (int w = w0; w < w1; w += 8)
        bytes = _mm512_add_epi8(
            bytes, pm_pop_bytes(_mm512_ternarylogic_epi64(LOAD(0), LOAD(1), LOAD(2), 0x96)));
      break;
    default:
      for (int w = w0; w < w1; w += 8) {
        const __m512i x = _mm512_ternarylogic_epi64(LOAD(0), LOAD(1), LOAD(2), 0x96);
        bytes = _mm512_add_epi8(bytes, pm_pop_bytes(_mm512_xor_si512(x, LOAD(3))));
      }
      break;
  }
#undef LOAD
  _mm512_storeu_si512(acc, bytes);
}

/* Term t's −1 values over words [0, len) eight words a vector with VPOPCNTDQ: each lane's
 * count added straight into 64-bit sums (no byte counters to flush), the last len mod 8 words
 * by a masked load. */
PM_TARGET_VPOPCNT static int64_t term_lanes_vpopcnt(const uint64_t *const *slot,
                                                    const flat_term *t, int len) {
  const uint64_t *r[INVRG_OP_MAX_SPINS];
  for (int q = 0; q < INVRG_OP_MAX_SPINS; q++) r[q] = slot[t->slot[q]];
  __m512i sum = _mm512_setzero_si512();
  for (int w = 0; w < len; w += 8) {
    const __mmask8 m = (__mmask8)(len - w >= 8 ? 0xFF : (1u << (len - w)) - 1);
#define LOAD(q) _mm512_maskz_loadu_epi64(m, r[q] + w)
    __m512i x = LOAD(0);
    switch (t->n_spins) { /* 0x96: a ^ b ^ c in one ternary-logic instruction */
      case 1: break;
      case 2: x = _mm512_xor_si512(x, LOAD(1)); break;
      case 3: x = _mm512_ternarylogic_epi64(x, LOAD(1), LOAD(2), 0x96); break;
      default:
        x = _mm512_xor_si512(_mm512_ternarylogic_epi64(x, LOAD(1), LOAD(2), 0x96), LOAD(3));
        break;
    }
#undef LOAD
    sum = _mm512_add_epi64(sum, _mm512_popcnt_epi64(x));
  }
  return _mm512_reduce_add_epi64(sum);
}

/* The same four words a vector (AVX2; w1 − w0 a multiple of 4), into the first 32 counters. */
INVRG_TARGET_AVX2 static void term_bytes_avx2(const uint64_t *const *slot, const flat_term *t,
                                              int w0, int w1, uint8_t *acc) {
  const uint64_t *r[INVRG_OP_MAX_SPINS];
  for (int q = 0; q < INVRG_OP_MAX_SPINS; q++) r[q] = slot[t->slot[q]];
  __m256i bytes = _mm256_loadu_si256((const __m256i *)acc);
  for (int w = w0; w < w1; w += 4) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(r[0] + w));
    for (int q = 1; q < t->n_spins; q++)
      x = _mm256_xor_si256(x, _mm256_loadu_si256((const __m256i *)(r[q] + w)));
    bytes = _mm256_add_epi8(bytes, pm_pop_bytes256(x));
  }
  _mm256_storeu_si256((__m256i *)acc, bytes);
}
#endif

/*
 * A window of consecutive natural rows j0 − 2 … j0 + B − 1 in each shift dx, row after row
 * without gaps, so that the rows j0 … j0 + nb − 1 of a block and the rows dy above them are
 * each one range of nb · n words: a term is counted on a whole block at once (short rows
 * would otherwise pay a term's setup per row).
 */
typedef struct {
  const invrg_packed *p;
  int n;     /* words of a natural row */
  int block; /* B: rows of a block */
  uint64_t *win; /* [SHIFTS][B + 2][n] */
  const flat_term *terms;
  int n_terms;
  int64_t *minus; /* [n_terms]: −1 values of each term so far */
  uint8_t *acc;   /* [n_terms][ACC]: byte counters not yet added to minus */
  int used;       /* vectors added to acc since the last flush */
  bool vpopcnt;   /* AVX-512 with VPOPCNTDQ: no byte counters */
} window;

/* Row position @p pos (row j0 − 2 + pos) of shift @p dx. */
static uint64_t *win_row(const window *s, int dx, int pos) {
  return s->win + ((size_t)dx * (size_t)(s->block + 2) + (size_t)pos) * (size_t)s->n;
}

/* Term t's byte counters into minus[t], cleared: portable, and with AVX2 (sums of absolute
 * differences from 0 add eight bytes at a time). */
static void flush_term_generic(window *s, int t) {
  uint8_t *acc = s->acc + (size_t)t * ACC;
  int64_t m = 0;
  for (int k = 0; k < ACC; k++) m += acc[k];
  s->minus[t] += m;
  memset(acc, 0, ACC);
}

#if INVRG_SIMD_X86
INVRG_TARGET_AVX2 static void flush_avx2(window *s) {
  const __m256i zero = _mm256_setzero_si256();
  for (int t = 0; t < s->n_terms; t++) {
    __m256i *acc = (__m256i *)(void *)(s->acc + (size_t)t * ACC);
    const __m256i sum = _mm256_add_epi64(_mm256_sad_epu8(_mm256_loadu_si256(acc), zero),
                                         _mm256_sad_epu8(_mm256_loadu_si256(acc + 1), zero));
    const __m128i half = _mm_add_epi64(_mm256_castsi256_si128(sum),
                                       _mm256_extracti128_si256(sum, 1));
    s->minus[t] += _mm_cvtsi128_si64(half) + _mm_extract_epi64(half, 1);
    _mm256_storeu_si256(acc, zero);
    _mm256_storeu_si256(acc + 1, zero);
  }
}
#endif

/* The byte counters into minus; clears them. */
static PM_INLINE void flush_counters(window *s, invrg_simd_level level) {
  if (s->used == 0) return; /* no vector added: every counter is 0 */
#if INVRG_SIMD_X86
  if (level != INVRG_SIMD_GENERIC)
    flush_avx2(s);
  else
#endif
    for (int t = 0; t < s->n_terms; t++) flush_term_generic(s, t);
  (void)level;
  s->used = 0;
}

/* Counts every term on words [0, len) of its slots. The vector levels add byte counters over
 * whole vectors in pieces of at most VEC_LIMIT vectors (AVX2's four words a vector also at the
 * AVX-512 level when a block is shorter than 32 words), the last len mod vw words by POPCNT. */
static PM_INLINE void count_block(window *s, const uint64_t *const *slot, int len,
                                  invrg_simd_level level) {
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512 && s->vpopcnt) {
    for (int t = 0; t < s->n_terms; t++) s->minus[t] += term_lanes_vpopcnt(slot, &s->terms[t], len);
    return;
  }
  if (level != INVRG_SIMD_GENERIC) {
    const int vw = level == INVRG_SIMD_AVX512 && len >= 32 ? 8 : 4; /* words a vector */
    const int full = len - len % vw;
    for (int w0 = 0; w0 < full; w0 += VEC_LIMIT * vw) {
      const int w1 = full - w0 < VEC_LIMIT * vw ? full : w0 + VEC_LIMIT * vw;
      if (s->used + (w1 - w0) / vw > VEC_LIMIT) flush_counters(s, level);
      for (int t = 0; t < s->n_terms; t++) {
        uint8_t *acc = s->acc + (size_t)t * ACC;
        if (vw == 8)
          term_bytes_avx512(slot, &s->terms[t], w0, w1, acc);
        else
          term_bytes_avx2(slot, &s->terms[t], w0, w1, acc);
      }
      s->used += (w1 - w0) / vw;
    }
    if (full < len)
      for (int t = 0; t < s->n_terms; t++)
        s->minus[t] += term_minus(slot, &s->terms[t], full, len, true);
    return;
  }
#endif
  (void)level;
  for (int t = 0; t < s->n_terms; t++) s->minus[t] += term_minus(slot, &s->terms[t], 0, len, false);
}

/* Puts local row j at position pos of the window, in its three shifts (row −2: *above). */
static PM_INLINE void enter_row(window *s, int j, int pos, const uint64_t *above) {
  uint64_t *r = win_row(s, 0, pos);
  if (j == -INVRG_MCRG_HALO)
    memcpy(r, above, (size_t)s->n * sizeof *r);
  else
    invrg_packed_natural_row(s->p, j, r);
  for (int dx = 1; dx < SHIFTS; dx++) shift_row(r, s->p->lx, s->n, dx, win_row(s, dx, pos));
}

/* Rows [pos, pos + count) of shift 0 shifted into shift dx (pos ≥ 1). Rows of several words
 * are shifted as one run of words, in a loop that vectorises (the word before the run is the
 * row above's last), and then each row's first word takes its own wrapped sites and its last
 * word drops the padding; rows of one word (Lx ≤ 64) are each rotated within Lx bits. */
static PM_INLINE void shift_rows(window *s, int dx, int pos, int count) {
  const int64_t lx = s->p->lx;
  const uint64_t *restrict r = win_row(s, 0, pos);
  uint64_t *restrict out = win_row(s, dx, pos);
  const int n = s->n;
  if (n > 1) { /* Lx > 64 > dx */
    const int total = count * n, top = (int)((lx - dx) & 63);
    for (int w = 0; w < total; w++) out[w] = r[w] << dx | r[w - 1] >> (64 - dx);
    const uint64_t low = (UINT64_C(1) << dx) - 1,
                   pad = lx % 64 != 0 ? (UINT64_C(1) << (lx % 64)) - 1 : ~UINT64_C(0);
    for (int k = 0; k < count; k++) { /* sites Lx − dx … Lx − 1: the last word's */
      out[k * n] = r[k * n] << dx | (r[k * n + n - 1] >> top & low);
      out[k * n + n - 1] &= pad;
    }
    return;
  }
  const int d = (int)(dx % lx); /* once per block */
  if (d == 0) {
    memcpy(out, r, (size_t)count * sizeof *out);
    return;
  }
  const uint64_t all = lx == 64 ? ~UINT64_C(0) : (UINT64_C(1) << lx) - 1;
  for (int k = 0; k < count; k++) out[k] = (r[k] << d | r[k] >> (lx - d)) & all;
}

/* All local rows, block by block; then the counters into minus. */
static PM_INLINE void window_rows(window *s, const uint64_t *above, invrg_simd_level level) {
  const invrg_packed *p = s->p;
  enter_row(s, -2, 0, above);
  enter_row(s, -1, 1, above);
  for (int j0 = 0; j0 < p->ny; j0 += s->block) {
    const int nb = p->ny - j0 < s->block ? p->ny - j0 : s->block;
    invrg_packed_natural_rows(p, j0, nb, win_row(s, 0, 2)); /* the block's rows at once */
    for (int dx = 1; dx < SHIFTS; dx++) shift_rows(s, dx, 2, nb);
    const uint64_t *slot[SLOTS]; /* S(dy, dx) of the block's rows: rows j0 − dy … in shift dx */
    for (int dy = 0; dy < ABOVE; dy++)
      for (int dx = 0; dx < SHIFTS; dx++) slot[dy * SHIFTS + dx] = win_row(s, dx, 2 - dy);
    count_block(s, slot, nb * s->n, level);
    for (int dx = 0; dx < SHIFTS; dx++) /* the last two rows: above the next block */
      memmove(win_row(s, dx, 0), win_row(s, dx, nb), 2 * (size_t)s->n * sizeof *s->win);
  }
  flush_counters(s, level);
}

static void window_generic(window *s, const uint64_t *above) {
  window_rows(s, above, INVRG_SIMD_GENERIC);
}
#if INVRG_SIMD_X86
INVRG_TARGET_AVX2 static void window_avx2(window *s, const uint64_t *above) {
  window_rows(s, above, INVRG_SIMD_AVX2);
}
INVRG_TARGET_AVX512 static void window_avx512(window *s, const uint64_t *above) {
  window_rows(s, above, INVRG_SIMD_AVX512);
}
#endif

/* The natural row two above local row 0: the rank above's row ny − 2 (its halo row −1 when
 * it has a single row; on one rank, my own row ny − 2, periodically). */
static invrg_err row_from_above(const invrg_packed *p, uint64_t *send, uint64_t *above) {
  invrg_err err = INVRG_SUCCESS;
  invrg_packed_natural_row(p, p->ny - 2, send); /* ny − 2 ≥ −1 */
  if (p->size == 1) {
    memcpy(above, send, (size_t)invrg_packed_natural_words(p) * sizeof *above);
    goto cleanup;
  }
  const int lo = (p->rank + p->size - 1) % p->size, hi = (p->rank + 1) % p->size;
  const int n = invrg_packed_natural_words(p);
  INVRG_MPI_CALL(MPI_Sendrecv(send, n, MPI_UINT64_T, hi, TAG_ROW, above, n, MPI_UINT64_T, lo,
                              TAG_ROW, p->comm, MPI_STATUS_IGNORE));
cleanup:
  return err;
}

/* The terms of all operators, flattened; returns how many. */
static int flatten_terms(const invrg_operator *ops, int n, flat_term *terms) {
  int k = 0;
  for (int a = 0; a < n; a++)
    for (int t = 0; t < ops[a].n_terms; t++, k++) {
      memset(&terms[k], 0, sizeof terms[k]);
      terms[k].n_spins = ops[a].n_spins[t];
      for (int q = 0; q < ops[a].n_spins[t]; q++)
        terms[k].slot[q] = ops[a].spin[t][q].dy * SHIFTS + ops[a].spin[t][q].dx;
    }
  return k;
}

/* ---------------------------------------------------------------- lattices of one word */

/* Whole on this rank with at most 64 sites (L ≤ 8): the lattice is one word, bit x + lx·y =
 * site (x, y), and every shift (dy, dx) a rotation of its rows and of each row. */
static bool fits_word(const invrg_packed *p) { return p->size == 1 && p->lx * p->ly <= 64; }

/* Bit (x, y) of the result = bit (x − dx, y − dy) of @p w, periodic (lx · ly ≤ 64 bits,
 * 0 ≤ dy, dx ≤ 2: a division only on lattices narrower than that); @p low: the bits x < dx mod
 * lx of every row. */
static uint64_t shift_word(uint64_t w, int64_t lx, int64_t ly, int dy, int dx, uint64_t low) {
  const int64_t N = lx * ly, k = (dy < ly ? dy : dy % ly) * lx, d = dx < lx ? dx : dx % lx;
  const uint64_t all = N == 64 ? ~UINT64_C(0) : (UINT64_C(1) << N) - 1;
  if (k != 0) w = (w << k | w >> (N - k)) & all; /* row y ← row y − dy */
  if (d == 0) return w;
  return (w << d & all & ~low) | (w >> (lx - d) & low); /* x ← x − d, x < d from x + lx − d */
}

/* minus[k] of term k of a whole lattice of at most 64 sites: its −1 values are where the XOR
 * of its spins' shifted words is 1. */
static void word_minus(const invrg_packed *p, const flat_term *terms, int n_terms,
                       int64_t *minus) {
  uint64_t rows[64], w = 0, slot[SLOTS], low[SHIFTS] = {0};
  invrg_packed_natural_rows(p, 0, (int)p->ny, rows);
  for (int j = 0; j < p->ny; j++) w |= rows[j] << (p->lx * j);
  for (int dx = 1; dx < SHIFTS; dx++) { /* bits x < dx mod lx of every row */
    const int d = (int)(dx < p->lx ? dx : dx % p->lx);
    for (int64_t y = 0; y < p->ly; y++) low[dx] |= ((UINT64_C(1) << d) - 1) << (p->lx * y);
  }
  for (int dy = 0; dy < ABOVE; dy++)
    for (int dx = 0; dx < SHIFTS; dx++)
      slot[dy * SHIFTS + dx] = shift_word(w, p->lx, p->ly, dy, dx, low[dx]);
  for (int k = 0; k < n_terms; k++) {
    uint64_t x = 0;
    for (int q = 0; q < terms[k].n_spins; q++) x ^= slot[terms[k].slot[q]];
    minus[k] = pm_popcount(x, false);
  }
}

/* ---------------------------------------------------------------- all lattices */

/* sums[a] = Σ over a's terms of (sites − 2 · minus), summed over the ranks. */
static invrg_err finish_sums(const invrg_packed *p, const invrg_operator *ops, int n,
                             const int64_t *minus, int64_t *local, int64_t *sums) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t sites = p->lx * p->ny;
  int k = 0;
  for (int a = 0; a < n; a++) {
    local[a] = 0;
    for (int t = 0; t < ops[a].n_terms; t++, k++) local[a] += sites - 2 * minus[k];
  }
  if (p->size > 1)
    INVRG_MPI_CALL(MPI_Allreduce(local, sums, n, MPI_INT64_T, MPI_SUM, p->comm));
  else
    memcpy(sums, local, (size_t)n * sizeof *sums);
cleanup:
  return err;
}

/* The number of terms of @p n operators. */
static size_t count_terms(const invrg_operator *ops, int n) {
  size_t n_terms = 0;
  for (int a = 0; a < n; a++) n_terms += (size_t)ops[a].n_terms;
  return n_terms;
}

/* The sums of @p n operators @p ops whose @p n_terms terms are flattened at @p flat (or, with
 * @p flat NULL, flattened here, on the stack for the small lattices that are summed often). */
static invrg_err evaluate(const invrg_operator *ops, int n, const flat_term *flat,
                          size_t n_terms, const invrg_packed *p, int64_t *sums) {
  invrg_err err = INVRG_SUCCESS;
  const int words = invrg_packed_natural_words(p);
  const int fit = BLOCK_WORDS / words > 1 ? BLOCK_WORDS / words : 1; /* rows of a block */
  const int block = fit < p->ny ? fit : p->ny;
  const invrg_simd_level level = invrg_simd_active();
  window s = {.p = p, .n = words, .block = block,
              .vpopcnt = level == INVRG_SIMD_AVX512 && pm_vpopcnt()};
  /* One block of memory: terms (unless given), minus, local, the window and the send / above
   * rows, the byte counters; on the stack for the small lattices that are summed often. */
  const size_t cap = n_terms > 0 ? n_terms : 1, n_local = (size_t)(n > 0 ? n : 1);
  const size_t n_flat = flat == NULL ? (cap * sizeof(flat_term) + 7) / 8 : 0;
  const size_t n_win = ((size_t)SHIFTS * (size_t)(block + 2) + 2) * (size_t)words;
  const size_t n64 = n_flat + cap + n_local + n_win;
  const size_t bytes = n64 * sizeof(uint64_t) + cap * ACC;
  uint64_t small[SMALL_WORDS], *all = bytes <= sizeof small ? small : malloc(bytes);
  INVRG_CHECK_ALLOC(all);
  s.minus = (int64_t *)(all + n_flat);
  int64_t *local = s.minus + cap;
  s.win = (uint64_t *)(local + n_local);
  s.acc = (uint8_t *)(all + n64);
  memset(s.minus, 0, cap * sizeof *s.minus);
  if (!s.vpopcnt) memset(s.acc, 0, cap * ACC); /* byte counters: the nibble tables' only */
  uint64_t *send = s.win + (size_t)SHIFTS * (size_t)(block + 2) * (size_t)words;
  if (flat == NULL) {
    flat_term *terms = (flat_term *)all;
    s.n_terms = flatten_terms(ops, n, terms);
    s.terms = terms;
  } else {
    s.terms = flat, s.n_terms = (int)n_terms;
  }
  if (fits_word(p)) { /* the small levels of a dream: one word, no window */
    word_minus(p, s.terms, s.n_terms, s.minus);
    INVRG_CALL(finish_sums(p, ops, n, s.minus, local, sums));
    goto cleanup;
  }
  INVRG_CALL(row_from_above(p, send, send + words));
  switch (level) {
#if INVRG_SIMD_X86
    case INVRG_SIMD_AVX512: window_avx512(&s, send + words); break;
    case INVRG_SIMD_AVX2: window_avx2(&s, send + words); break;
#endif
    default: window_generic(&s, send + words); break;
  }
  INVRG_CALL(finish_sums(p, ops, n, s.minus, local, sums));
cleanup:
  if (all != small) free(all);
  return err;
}

invrg_err invrg_packed_operators_evaluate(const invrg_operator *ops, int n,
                                          const invrg_packed *p, int64_t *sums) {
  return evaluate(ops, n, NULL, count_terms(ops, n), p, sums);
}

/* ---------------------------------------------------------------- terms made once */

struct invrg_packed_terms {
  const invrg_operator *ops;
  int n;
  size_t n_terms;
  flat_term term[]; /* [n_terms] */
};

invrg_err invrg_packed_terms_create(const invrg_operator *ops, int n, invrg_packed_terms **out) {
  invrg_err err = INVRG_SUCCESS;
  const size_t n_terms = count_terms(ops, n);
  invrg_packed_terms *t = malloc(sizeof *t + (n_terms > 0 ? n_terms : 1) * sizeof(flat_term));
  INVRG_CHECK_ALLOC(t);
  t->ops = ops, t->n = n;
  t->n_terms = (size_t)flatten_terms(ops, n, t->term);
cleanup:
  *out = t;
  return err;
}

void invrg_packed_terms_destroy(invrg_packed_terms **t) {
  if (t == NULL) return;
  free(*t);
  *t = NULL;
}

invrg_err invrg_packed_terms_evaluate(const invrg_packed_terms *t, const invrg_packed *p,
                                      int64_t *sums) {
  return evaluate(t->ops, t->n, t->term, t->n_terms, p, sums);
}

/*
 * MCRG operator sums straight from a packed lattice (invrg/packed_measure.h). A product of
 * spins is −1 exactly when an odd number of them are, so on natural-order rows (bit x = site x,
 * 1 = −1) a term's value at 64 sites is the XOR of its spins' words and its row sum is
 * Lx − 2 · popcount. Rows are visited once, top to bottom, through a ring of the natural rows
 * j − 2 … j, each kept in its three shifts dx = 0, 1, 2 (bit x of shift dx holds site x − dx,
 * periodic): every term of every operator then costs a few XORs and one popcount per 64 sites.
 * Row j − 2 of the first local row lies two rows up: one natural row from the rank above.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/packed_measure.h"
#include "packed_measure_internal.h"

enum {
  SHIFTS = INVRG_MCRG_HALO + 1, /* dx = 0 … 2 */
  RING = INVRG_MCRG_HALO + 1,   /* rows j − 2 … j */
  SLOTS = RING * SHIFTS,        /* (dy, dx) → slot dy · SHIFTS + dx */
  TAG_ROW = 16                  /* the row sent down (the halo's persistent requests use 0 … 3) */
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
  d = (int)(d % lx);
  if (d == 0) {
    memcpy(out, r, (size_t)n * sizeof *out);
    return;
  }
  const uint64_t wrap = r[n - 1] >> ((lx - d) & 63) & ((UINT64_C(1) << d) - 1);
  out[0] = r[0] << d | wrap;
  for (int w = 1; w < n; w++) out[w] = r[w] << d | r[w - 1] >> (64 - d);
  if (lx % 64 != 0) out[n - 1] &= (UINT64_C(1) << (lx % 64)) - 1; /* padding stays 0 */
}

/* −1 values of a term on one row: popcount of the XOR of its spins' words (portable). */
static int64_t term_minus(const uint64_t *const *slot, const flat_term *t, int n) {
  const uint64_t *a = slot[t->slot[0]], *b = slot[t->slot[1]], *c = slot[t->slot[2]],
                 *d = slot[t->slot[3]];
  int64_t m = 0;
  switch (t->n_spins) { /* unused slots point at slot 0: never read */
    case 1: for (int w = 0; w < n; w++) m += pm_popcount(a[w], false); break;
    case 2: for (int w = 0; w < n; w++) m += pm_popcount(a[w] ^ b[w], false); break;
    case 3: for (int w = 0; w < n; w++) m += pm_popcount(a[w] ^ b[w] ^ c[w], false); break;
    default: for (int w = 0; w < n; w++) m += pm_popcount(a[w] ^ b[w] ^ c[w] ^ d[w], false); break;
  }
  return m;
}

#if INVRG_SIMD_X86
/* term_minus over rows padded with zero words to a multiple of 8: eight words a vector
 * (AVX-512), the byte counts (≤ 8 a vector) summed over up to 31 vectors, then added up. */
INVRG_TARGET_AVX512 static int64_t term_minus_avx512(const uint64_t *const *slot,
                                                     const flat_term *t, int n) {
  const uint64_t *r[INVRG_OP_MAX_SPINS];
  for (int q = 0; q < INVRG_OP_MAX_SPINS; q++) r[q] = slot[t->slot[q]];
  __m512i total = _mm512_setzero_si512();
  for (int w0 = 0; w0 < n; w0 += 8 * 31) {
    __m512i bytes = _mm512_setzero_si512();
    for (int w = w0; w < n && w < w0 + 8 * 31; w += 8) {
      __m512i x = _mm512_loadu_si512(r[0] + w);
      for (int q = 1; q < t->n_spins; q++) x = _mm512_xor_si512(x, _mm512_loadu_si512(r[q] + w));
      bytes = _mm512_add_epi8(bytes, pm_pop_bytes(x));
    }
    total = _mm512_add_epi64(total, pm_sum_bytes(bytes));
  }
  return _mm512_reduce_add_epi64(total);
}

/* The same four words a vector (AVX2). */
INVRG_TARGET_AVX2 static int64_t term_minus_avx2(const uint64_t *const *slot, const flat_term *t,
                                                 int n) {
  const uint64_t *r[INVRG_OP_MAX_SPINS];
  for (int q = 0; q < INVRG_OP_MAX_SPINS; q++) r[q] = slot[t->slot[q]];
  __m256i total = _mm256_setzero_si256();
  for (int w0 = 0; w0 < n; w0 += 4 * 31) {
    __m256i bytes = _mm256_setzero_si256();
    for (int w = w0; w < n && w < w0 + 4 * 31; w += 4) {
      __m256i x = _mm256_loadu_si256((const __m256i *)(r[0] + w));
      for (int q = 1; q < t->n_spins; q++)
        x = _mm256_xor_si256(x, _mm256_loadu_si256((const __m256i *)(r[q] + w)));
      bytes = _mm256_add_epi8(bytes, pm_pop_bytes256(x));
    }
    total = _mm256_add_epi64(total, pm_sum_bytes256(bytes));
  }
  int64_t lane[4];
  _mm256_storeu_si256((__m256i *)lane, total);
  return lane[0] + lane[1] + lane[2] + lane[3];
}
#endif

/* term_minus at @p level. */
static PM_INLINE int64_t term_count(const uint64_t *const *slot, const flat_term *t, int n,
                                    invrg_simd_level level) {
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512) return term_minus_avx512(slot, t, n);
  if (level == INVRG_SIMD_AVX2) return term_minus_avx2(slot, t, n);
#endif
  (void)level;
  return term_minus(slot, t, n);
}

/* The ring of natural rows: ring + (row mod RING · SHIFTS + dx) · stride words. */
typedef struct {
  const invrg_packed *p;
  int n;           /* words of a natural row */
  int stride;      /* n rounded up to a multiple of 8: the padding words stay 0 */
  uint64_t *ring;  /* [RING][SHIFTS][stride] */
  uint64_t *above; /* the natural row of local row −2 */
  const flat_term *terms;
  int n_terms;
  int64_t *minus; /* [n_terms]: −1 values of each term so far */
} ring_state;

static uint64_t *ring_row(const ring_state *s, int j, int dx) {
  return s->ring + ((size_t)((j + RING) % RING) * SHIFTS + (size_t)dx) * (size_t)s->stride;
}

/* Local rows −2 … ny − 1: each enters the ring in its three shifts; from row 0 on, each row's
 * terms are counted. */
static PM_INLINE void ring_rows(ring_state *s, invrg_simd_level level) {
  const invrg_packed *p = s->p;
  for (int j = -INVRG_MCRG_HALO; j < p->ny; j++) {
    uint64_t *r = ring_row(s, j, 0);
    if (j == -INVRG_MCRG_HALO)
      memcpy(r, s->above, (size_t)s->n * sizeof *r);
    else
      invrg_packed_natural_row(p, j, r);
    for (int dx = 1; dx < SHIFTS; dx++) shift_row(r, p->lx, s->n, dx, ring_row(s, j, dx));
    if (j < 0) continue;
    const uint64_t *slot[SLOTS]; /* S(dy, dx) at row j: row j − dy in shift dx */
    for (int dy = 0; dy < RING; dy++)
      for (int dx = 0; dx < SHIFTS; dx++) slot[dy * SHIFTS + dx] = ring_row(s, j - dy, dx);
    for (int t = 0; t < s->n_terms; t++) s->minus[t] += term_count(slot, &s->terms[t], s->n, level);
  }
}

static void ring_generic(ring_state *s) { ring_rows(s, INVRG_SIMD_GENERIC); }
#if INVRG_SIMD_X86
INVRG_TARGET_AVX2 static void ring_avx2(ring_state *s) { ring_rows(s, INVRG_SIMD_AVX2); }
INVRG_TARGET_AVX512 static void ring_avx512(ring_state *s) { ring_rows(s, INVRG_SIMD_AVX512); }
#endif

/* The natural row two above local row 0: the rank above's row ny − 2 (its halo row −1 when
 * it has a single row; on one rank, my own row ny − 2, periodically). */
static invrg_err row_from_above(const invrg_packed *p, uint64_t *send, uint64_t *above) {
  invrg_err err = INVRG_SUCCESS;
  invrg_packed_natural_row(p, p->ny - 2, send);
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

invrg_err invrg_packed_operators_evaluate(const invrg_operator *ops, int n,
                                          const invrg_packed *p, int64_t *sums) {
  invrg_err err = INVRG_SUCCESS;
  const int words = invrg_packed_natural_words(p);
  ring_state s = {.p = p, .n = words, .stride = (words + 7) / 8 * 8};
  flat_term *terms = NULL;
  int64_t *local = NULL;
  uint64_t *send = NULL;
  const size_t cap = (size_t)(n > 0 ? n : 1) * INVRG_OP_MAX_TERMS;
  terms = malloc(cap * sizeof *terms);
  s.minus = calloc(cap, sizeof *s.minus);
  local = calloc((size_t)(n > 0 ? n : 1), sizeof *local);
  s.ring = calloc(((size_t)SLOTS + 2) * (size_t)s.stride, sizeof *s.ring);
  INVRG_CHECK_ALLOC(terms);
  INVRG_CHECK_ALLOC(s.minus);
  INVRG_CHECK_ALLOC(local);
  INVRG_CHECK_ALLOC(s.ring);
  send = s.ring + (size_t)SLOTS * (size_t)s.stride;
  s.above = send + s.stride;
  s.terms = terms;
  s.n_terms = flatten_terms(ops, n, terms);
  INVRG_CALL(row_from_above(p, send, s.above));
  switch (invrg_simd_active()) {
#if INVRG_SIMD_X86
    case INVRG_SIMD_AVX512: ring_avx512(&s); break;
    case INVRG_SIMD_AVX2: ring_avx2(&s); break;
#endif
    default: ring_generic(&s); break;
  }
  INVRG_CALL(finish_sums(p, ops, n, s.minus, local, sums));
cleanup:
  free(terms);
  free(s.minus);
  free(local);
  free(s.ring);
  return err;
}

/* MCRG accumulators: operator sums of (coarse, fine) pairs, kept exactly per
 * level and jackknife block, and their reduction across groups (mcrg.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/mcrg.h"
#include "invrg/simd.h"

#include "physics/mcrg_internal.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

/* Tie-coin steps: sample · LEVEL_STRIDE + level, so every blocking of every sample has its own
 * coins. */
enum { LEVEL_STRIDE = 64 };

/* Pending sums stay below 2^62 in absolute value: a pair's products (below 2^94) are added
 * exactly at once when they could pass that. */
static const int64_t PENDING_LIMIT = INT64_C(1) << 62;

static int64_t *pending_of(const invrg_mcrg *m, int level) {
  return m->pending + (size_t)(level - 1) * m->pending_len;
}

/* Level @p level's pending sums added to the records of @p acc (laid out as m->acc): the
 * header as is, every value v by exact_add, so the records hold the same exact integers as
 * if each pair had been added to them. */
static void pending_into(const invrg_mcrg *m, int level, int64_t *acc) {
  const int block = m->pending_block[level];
  if (block < 0) return;
  const int64_t *q = pending_of(m, level);
  int64_t *r = acc + (mcrg_record(m, level, block) - m->acc);
  for (size_t k = 0; k < REC_HEADER; k++) r[k] += q[k];
  for (size_t k = REC_HEADER; k < m->pending_len; k++) exact_add(r + 2 * k - REC_HEADER, q[k]);
}

void invrg_mcrg_prefetch(const invrg_mcrg *m, int level) {
  if (level < 1 || level > m->p.n_levels) return;
  const char *q = (const char *)pending_of(m, level);
  for (size_t at = 0; at < m->pending_len * sizeof *m->pending; at += 64)
    __builtin_prefetch(q + at, 1, 3);
}

/* Level @p level's pending sums into the accumulator; none pending afterwards. */
static void flush_pending(invrg_mcrg *m, int level) {
  if (m->pending_block[level] < 0) return;
  pending_into(m, level, m->acc);
  memset(pending_of(m, level), 0, m->pending_len * sizeof *m->pending);
  m->pending_block[level] = -1;
  m->pending_bound[level] = 0;
}

invrg_mcrg_params invrg_mcrg_params_of(const invrg_config *cfg, int n_levels, int n_blocks) {
  invrg_mcrg_params mp = {.n_sets = cfg->analyze.n_operators, .n_levels = n_levels,
                          .n_blocks = n_blocks, .seed = (uint64_t)cfg->run.seed,
                          .tie_rule = cfg->analyze.tie_rule_kind};
  for (int k = 0; k < mp.n_sets; k++) mp.sets[k] = cfg->analyze.operators[k];
  return mp;
}

/* The numbers of a record (one level and block) for @p n operators: the header, then the
 * exact (hi, lo) pairs of the 2n sums and the 2n² products of coarse and fine sums. */
static size_t record_length(size_t n) { return REC_HEADER + 2 * (2 * n + 2 * n * n); }

invrg_err invrg_mcrg_create(const invrg_mcrg_params *p, const invrg_groups *g, invrg_mcrg **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_mcrg *m = NULL;
  *out = NULL;
  INVRG_CHECK(p->n_sets >= 1 && p->n_sets <= INVRG_MCRG_MAX_SETS, INVRG_ERR_INPUT,
              "MCRG needs 1 to %d operator sets, got %d", INVRG_MCRG_MAX_SETS, p->n_sets);
  INVRG_CHECK(
      p->n_levels >= 1 && p->n_levels <= INVRG_MCRG_MAX_LEVELS && p->n_levels < LEVEL_STRIDE,
      INVRG_ERR_INPUT, "MCRG levels must be 1 to %d, got %d", INVRG_MCRG_MAX_LEVELS, p->n_levels);
  INVRG_CHECK(p->n_blocks >= 2, INVRG_ERR_INPUT, "MCRG needs at least 2 jackknife blocks, got %d",
              p->n_blocks);
  m = calloc(1, sizeof *m);
  INVRG_CHECK_ALLOC(m);
  m->g = g;
  m->p = *p;
  for (int s = 0; s < p->n_sets; s++) {
    for (int t = 0; t < s; t++)
      INVRG_CHECK(strcmp(p->sets[s], p->sets[t]) != 0, INVRG_ERR_INPUT,
                  "operator set '%s' requested twice", p->sets[s]);
    INVRG_CALL(invrg_operator_set_create(p->sets[s], &m->set[s]));
    m->p.sets[s] = m->set[s]->name; /* our own copy of the name */
    m->set_first[s] = m->n_ops;
    m->n_ops += m->set[s]->n;
  }
  m->ops = malloc((size_t)m->n_ops * sizeof *m->ops);
  INVRG_CHECK_ALLOC(m->ops);
  for (int s = 0; s < p->n_sets; s++)
    memcpy(m->ops + m->set_first[s], m->set[s]->op, (size_t)m->set[s]->n * sizeof *m->ops);
  const size_t n = (size_t)m->n_ops;
  m->record_len = record_length(n);
  m->acc = calloc((size_t)p->n_levels * (size_t)p->n_blocks * m->record_len, sizeof *m->acc);
  INVRG_CHECK_ALLOC(m->acc);
  m->sums = malloc((size_t)(p->n_levels + 1) * n * sizeof *m->sums);
  INVRG_CHECK_ALLOC(m->sums);
  m->pending_len = REC_HEADER + 2 * n + 2 * n * n;
  m->pending = calloc((size_t)p->n_levels * m->pending_len, sizeof *m->pending);
  INVRG_CHECK_ALLOC(m->pending);
  for (int level = 0; level <= INVRG_MCRG_MAX_LEVELS; level++) m->pending_block[level] = -1;
#if INVRG_SIMD_X86
  __builtin_cpu_init();
  m->products_dq = invrg_simd_active() == INVRG_SIMD_AVX512 && __builtin_cpu_supports("avx512dq");
  m->products_avx2 = !m->products_dq && invrg_simd_active() >= INVRG_SIMD_AVX2;
#endif
  *out = m;
  m = NULL;
cleanup:
  invrg_mcrg_destroy(&m);
  return err;
}

static void destroy_chain(invrg_mcrg *m) {
  for (int n = 0; n <= INVRG_MCRG_MAX_LEVELS; n++) invrg_lattice_destroy(&m->chain[n]);
}

void invrg_mcrg_destroy(invrg_mcrg **m) {
  invrg_mcrg *x = *m;
  if (x == NULL) return;
  destroy_chain(x);
  invrg_lattice_destroy(&x->pair[0]);
  invrg_lattice_destroy(&x->pair[1]);
  for (int s = 0; s < INVRG_MCRG_MAX_SETS; s++) invrg_operator_set_destroy(&x->set[s]);
  free(x->ops);
  free(x->acc);
  free(x->sums);
  free(x->pending);
  free(x);
  *m = NULL;
}

int invrg_mcrg_block_of(int64_t index, int64_t count, int n_blocks) {
  if (count <= 0 || index < 0) return 0;
  /* index · n_blocks / count without overflow for index, count < 2^62 */
  int64_t per = count / n_blocks, rem = count % n_blocks;
  /* blocks 0 .. rem−1 hold per + 1 samples, the others per */
  int64_t big = rem * (per + 1);
  int64_t b = index < big ? index / (per + 1) : rem + (per > 0 ? (index - big) / per : 0);
  return (int)(b < n_blocks ? b : n_blocks - 1);
}

const invrg_operator *invrg_mcrg_operators(const invrg_mcrg *m, int *n) {
  if (n) *n = m->n_ops;
  return m->ops;
}

int invrg_mcrg_n_operators(const invrg_mcrg *m) { return m->n_ops; }

int invrg_mcrg_n_levels(const invrg_mcrg *m) { return m->p.n_levels; }

int64_t invrg_mcrg_samples(const invrg_mcrg *m, int level) {
  if (level < 1 || level > m->p.n_levels) return 0;
  int64_t total = m->pending_block[level] >= 0 ? pending_of(m, level)[REC_SAMPLES] : 0;
  for (int b = 0; b < m->p.n_blocks; b++) total += mcrg_record(m, level, b)[REC_SAMPLES];
  return total;
}

/* ------------------------------------------------------------------ accumulate */

/* The largest |coarse[a]| and |fine[a]|: four maxima each, so that no comparison waits for
 * the one before (a single chain of conditional moves cost a run of 64 pairs ~900 cycles). */
static void largest_sums_portable(const int64_t *coarse, const int64_t *fine, int n, int64_t *mc,
                                  int64_t *mf) {
  int64_t c[4] = {0}, f[4] = {0};
  for (int a = 0; a < n; a++) {
    const int64_t x = llabs(coarse[a]), y = llabs(fine[a]);
    c[a % 4] = x > c[a % 4] ? x : c[a % 4];
    f[a % 4] = y > f[a % 4] ? y : f[a % 4];
  }
  for (int k = 1; k < 4; k++) c[0] = c[k] > c[0] ? c[k] : c[0], f[0] = f[k] > f[0] ? f[k] : f[0];
  *mc = c[0], *mf = f[0];
}

#if INVRG_SIMD_X86
/* The same eight at a time (|x| and unsigned maxima of 64-bit lanes: |INT64_MIN| stays the
 * largest, as 2^63). */
__attribute__((target("avx2,avx512f,avx512dq,avx512vl"))) static void largest_sums_avx512(
    const int64_t *coarse, const int64_t *fine, int n, int64_t *mc, int64_t *mf) {
  __m512i c = _mm512_setzero_si512(), f = _mm512_setzero_si512();
  for (int a = 0; a < n; a += 8) {
    const __mmask8 m = (__mmask8)(n - a >= 8 ? 0xFFu : (1u << (n - a)) - 1);
    c = _mm512_max_epu64(c, _mm512_abs_epi64(_mm512_maskz_loadu_epi64(m, coarse + a)));
    f = _mm512_max_epu64(f, _mm512_abs_epi64(_mm512_maskz_loadu_epi64(m, fine + a)));
  }
  const uint64_t uc = _mm512_reduce_max_epu64(c), uf = _mm512_reduce_max_epu64(f);
  *mc = uc > INT64_MAX ? INT64_MAX : (int64_t)uc, *mf = uf > INT64_MAX ? INT64_MAX : (int64_t)uf;
}
#endif

static void largest_sums(const invrg_mcrg *m, const int64_t *coarse, const int64_t *fine, int n,
                         int64_t *mc, int64_t *mf) {
#if INVRG_SIMD_X86
  if (m->products_dq && n >= 64) { /* a run of pairs (one pair's few sums: the plain loop) */
    largest_sums_avx512(coarse, fine, n, mc, mf);
    return;
  }
#endif
  (void)m;
  largest_sums_portable(coarse, fine, n, mc, mf);
}

/* The largest |value| a pair adds to a sum (a product, an operator sum, the sites), capped at
 * PENDING_LIMIT, from the largest sums mc, mf. */
static int64_t pair_bound(int64_t mc, int64_t mf, int64_t sites) {
  exact_wide b = (exact_wide)mc * (mc > mf ? mc : mf); /* below 2^94 */
  b = mf > b ? mf : b; /* mc ≤ b unless mc = 0 */
  b = sites > b ? sites : b;
  return b < PENDING_LIMIT ? (int64_t)b : PENDING_LIMIT;
}

/* The pair's products into the pending sums: Σ S^c_a S^c_b and Σ S^c_a S^f_b. */
static inline __attribute__((always_inline)) void add_products(
    int64_t *restrict qcc, int64_t *restrict qcf, const int64_t *restrict coarse,
    const int64_t *restrict fine, size_t n) {
  for (size_t a = 0; a < n; a++) {
    const int64_t ca = coarse[a];
    for (size_t b = 0; b < n; b++) qcc[a * n + b] += ca * coarse[b];
    for (size_t b = 0; b < n; b++) qcf[a * n + b] += ca * fine[b];
  }
}

#if INVRG_SIMD_X86
/* ca · x lane by lane: by 32 × 32-bit multiplies when every sum is @p narrow, below 2^31 (one
 * instruction where DQ's 64-bit one is three; the same integers). */
__attribute__((target("avx2,avx512f,avx512dq,avx512vl"))) static inline __m512i pair_products(
    __m512i ca, __m512i x, bool narrow) {
  return narrow ? _mm512_mul_epi32(ca, x) : _mm512_mullo_epi64(ca, x);
}

/* The products of sets of at most 8 operators, whose n rows of n sums lie closer together than
 * a vector: all rows are loaded before any is stored. Row by row, each load would follow the
 * masked store of the row before it within the same 64 bytes, and a Zen 4 waits for that store
 * to complete (a swendsen pair 66–74 → 37–42 ns there). Always inlined: called with its vectors
 * as arguments, GCC 12 returned from it without a vzeroupper, and every SSE instruction after
 * it paid for the dirty upper halves on Intel cores (a dream stage's small levels ran 1.5 times
 * slower; tests/tools/check_vector_state.py). */
__attribute__((target("avx2,avx512f,avx512dq,avx512vl"), always_inline)) static inline void
add_rows_in_registers(int64_t *restrict qcc, int64_t *restrict qcf, const int64_t *restrict coarse,
                      __m512i cb, __m512i fb, size_t n, __mmask8 m, bool narrow) {
  __m512i rc[8], rf[8];
#pragma GCC unroll 8
  for (size_t a = 0; a < 8; a++) { /* rows past n: nothing loaded, never stored */
    const __mmask8 row = a < n ? m : 0;
    const size_t at = a < n ? a * n : 0;
    rc[a] = _mm512_maskz_loadu_epi64(row, qcc + at);
    rf[a] = _mm512_maskz_loadu_epi64(row, qcf + at);
  }
#pragma GCC unroll 8
  for (size_t a = 0; a < 8; a++)
    if (a < n) {
      const __m512i ca = _mm512_set1_epi64(coarse[a]);
      rc[a] = _mm512_add_epi64(rc[a], pair_products(ca, cb, narrow));
      rf[a] = _mm512_add_epi64(rf[a], pair_products(ca, fb, narrow));
      _mm512_mask_storeu_epi64(qcc + a * n, m, rc[a]);
      _mm512_mask_storeu_epi64(qcf + a * n, m, rf[a]);
    }
}

/* add_products() with AVX-512 (the same integers): for each a, the row b = 0 … n − 1 eight
 * entries a vector, the last ones masked (the sets' n = 7 or 36 would leave the compiler's
 * vectorised loop mostly in its epilogue). */
__attribute__((target("avx2,avx512f,avx512dq,avx512vl"))) static void add_products_dq(
    int64_t *restrict qcc, int64_t *restrict qcf, const int64_t *restrict coarse,
    const int64_t *restrict fine, size_t n, bool narrow) {
  for (size_t b0 = 0; b0 < n; b0 += 8) {
    const __mmask8 m = (__mmask8)(n - b0 >= 8 ? 0xFFu : (1u << (n - b0)) - 1);
    const __m512i cb = _mm512_maskz_loadu_epi64(m, coarse + b0);
    const __m512i fb = _mm512_maskz_loadu_epi64(m, fine + b0);
    if (n <= 8) { /* every row loaded before any is stored (see add_rows_in_registers) */
      add_rows_in_registers(qcc, qcf, coarse, cb, fb, n, m, narrow);
      return;
    }
    for (size_t a = 0; a < n; a++) {
      const __m512i ca = _mm512_set1_epi64(coarse[a]);
      int64_t *rc = qcc + a * n + b0, *rf = qcf + a * n + b0;
      _mm512_mask_storeu_epi64(
          rc, m, _mm512_add_epi64(_mm512_maskz_loadu_epi64(m, rc), pair_products(ca, cb, narrow)));
      _mm512_mask_storeu_epi64(
          rf, m, _mm512_add_epi64(_mm512_maskz_loadu_epi64(m, rf), pair_products(ca, fb, narrow)));
    }
  }
}
#endif

/* A pair into record @p r, exactly (products in 128 bits). */
static void add_exact(const invrg_mcrg *m, int64_t *r, const int64_t *coarse_sums,
                      const int64_t *fine_sums, int64_t ties, int64_t sites) {
  const int n = m->n_ops;
  r[REC_SAMPLES]++;
  if (ties >= 0) {
    r[REC_TIE_SAMPLES]++;
    r[REC_TIES] += ties;
    r[REC_TIE_SITES] += sites;
  }
  int64_t *sc = r + rec_coarse(m), *sf = r + rec_fine(m), *scc = r + rec_cc(m),
          *scf = r + rec_cf(m);
  for (int a = 0; a < n; a++) {
    exact_add(sc + 2 * a, coarse_sums[a]);
    exact_add(sf + 2 * a, fine_sums[a]);
  }
  for (int a = 0; a < n; a++) {
    const int64_t ca = coarse_sums[a];
    int64_t *row_cc = scc + 2 * (size_t)a * (size_t)n, *row_cf = scf + 2 * (size_t)a * (size_t)n;
    for (int b = 0; b < n; b++) {
      exact_add_product(row_cc + 2 * b, ca, coarse_sums[b]);
      exact_add_product(row_cf + 2 * b, ca, fine_sums[b]);
    }
  }
}

/* A pair into pending sums @p q: one int64 per value (mcrg_internal.h), no overflow while the
 * pending bound stays below PENDING_LIMIT. */
static void add_plain(const invrg_mcrg *m, int64_t *restrict q, const int64_t *restrict coarse,
                      const int64_t *restrict fine, int64_t ties, int64_t sites, bool narrow) {
  const size_t n = (size_t)m->n_ops;
  q[REC_SAMPLES]++;
  if (ties >= 0) {
    q[REC_TIE_SAMPLES]++;
    q[REC_TIES] += ties;
    q[REC_TIE_SITES] += sites;
  }
  int64_t *qc = q + REC_HEADER, *qf = qc + n, *qcc = qf + n, *qcf = qcc + n * n;
  for (size_t a = 0; a < n; a++) qc[a] += coarse[a], qf[a] += fine[a];
#if INVRG_SIMD_X86
  if (m->products_dq) {
    add_products_dq(qcc, qcf, coarse, fine, n, narrow);
    return;
  }
#endif
  (void)narrow;
  add_products(qcc, qcf, coarse, fine, n);
}

invrg_err invrg_mcrg_add_sums(invrg_mcrg *m, int level, int64_t lx, int64_t ly,
                              const int64_t *coarse_sums, const int64_t *fine_sums, int64_t ties,
                              int block) {
  invrg_err err = INVRG_SUCCESS;
  const int n = m->n_ops;
  INVRG_CHECK(!m->reduced, INVRG_ERR_RUNTIME, "MCRG: samples added after the reduction");
  INVRG_CHECK(level >= 1 && level <= m->p.n_levels, INVRG_ERR_RUNTIME,
              "MCRG: level %d is not in 1 .. %d", level, m->p.n_levels);
  INVRG_CHECK(block >= 0 && block < m->p.n_blocks, INVRG_ERR_RUNTIME,
              "MCRG: jackknife block %d is not in 0 .. %d", block, m->p.n_blocks - 1);
  int64_t *size = m->coarse_size[level];
  INVRG_CHECK(size[0] == 0 || (size[0] == lx && size[1] == ly), INVRG_ERR_RUNTIME,
              "MCRG: level %d has %lld x %lld coarse lattices, not %lld x %lld", level,
              (long long)size[0], (long long)size[1], (long long)lx, (long long)ly);
  size[0] = lx, size[1] = ly;
  /* Products are formed in 128 bits and kept exact below 2^94: sums below 2^47 (lattices of
   * up to 2^44 sites; how many samples such products allow is checked up front: budget.h). */
  int64_t mc = 0, mf = 0;
  largest_sums(m, coarse_sums, fine_sums, n, &mc, &mf);
  INVRG_CHECK(mc < INVRG_MCRG_SUM_LIMIT && mf < INVRG_MCRG_SUM_LIMIT, INVRG_ERR_RUNTIME,
              "MCRG: operator sums beyond 2^47 (lattice too large)");

  const int64_t bound = pair_bound(mc, mf, lx * ly);
  if (bound >= PENDING_LIMIT) {
    add_exact(m, mcrg_record(m, level, block), coarse_sums, fine_sums, ties, lx * ly);
    goto cleanup;
  }
  if (m->pending_block[level] != block || bound > PENDING_LIMIT - m->pending_bound[level])
    flush_pending(m, level);
  m->pending_block[level] = block;
  m->pending_bound[level] += bound;
  add_plain(m, pending_of(m, level), coarse_sums, fine_sums, ties, lx * ly,
            (mc > mf ? mc : mf) < INT64_C(2147483648));
cleanup:
  return err;
}

/* ------------------------------------------------------------------ many pairs at once */

enum { RUN_MAX = 64 }; /* a run: the lanes of a batch of dreams */

#if INVRG_SIMD_X86
/* A run's products with AVX-512: for each 8-wide slice of the row b0 … b0 + 7 and each group of
 * up to 7 rows a, the 14 row slices of Σ c_a c_b and Σ c_a f_b stay in registers over all the
 * run's pairs and are added to the pending sums once (32-bit products: every sum below 2^31). */
__attribute__((target("avx2,avx512f,avx512dq,avx512vl"))) static void run_products_avx512(
    int64_t *restrict qcc, int64_t *restrict qcf, const int64_t *restrict coarse,
    const int64_t *restrict fine, size_t n, int count) {
  enum { ROWS = 7 };
  for (size_t b0 = 0; b0 < n; b0 += 8) {
    const __mmask8 m = (__mmask8)(n - b0 >= 8 ? 0xFFu : (1u << (n - b0)) - 1);
    for (size_t a0 = 0; a0 < n; a0 += ROWS) {
      const size_t na = n - a0 < ROWS ? n - a0 : ROWS;
      __m512i cc[ROWS], cf[ROWS];
#pragma GCC unroll 7
      for (size_t a = 0; a < ROWS; a++) cc[a] = cf[a] = _mm512_setzero_si512();
      for (int i = 0; i < count; i++) {
        const int64_t *c = coarse + (size_t)i * n, *f = fine + (size_t)i * n;
        const __m512i cb = _mm512_maskz_loadu_epi64(m, c + b0),
                      fb = _mm512_maskz_loadu_epi64(m, f + b0);
#pragma GCC unroll 7
        for (size_t a = 0; a < ROWS; a++)
          if (a < na) {
            const __m512i ca = _mm512_set1_epi64(c[a0 + a]);
            cc[a] = _mm512_add_epi64(cc[a], _mm512_mul_epi32(ca, cb));
            cf[a] = _mm512_add_epi64(cf[a], _mm512_mul_epi32(ca, fb));
          }
      }
#pragma GCC unroll 7
      for (size_t a = 0; a < ROWS; a++)
        if (a < na) {
          int64_t *rc = qcc + (a0 + a) * n + b0, *rf = qcf + (a0 + a) * n + b0;
          _mm512_mask_storeu_epi64(rc, m, _mm512_add_epi64(_mm512_maskz_loadu_epi64(m, rc), cc[a]));
          _mm512_mask_storeu_epi64(rf, m, _mm512_add_epi64(_mm512_maskz_loadu_epi64(m, rf), cf[a]));
        }
    }
  }
}

/* The same with AVX2: four entries of a row a vector (the last ones masked), groups of up to 6
 * rows a: 12 sums in registers over the run's pairs. */
INVRG_TARGET_AVX2 static void run_products_avx2(int64_t *restrict qcc, int64_t *restrict qcf,
                                                const int64_t *restrict coarse,
                                                const int64_t *restrict fine, size_t n,
                                                int count) {
  enum { ROWS = 6 };
  for (size_t b0 = 0; b0 < n; b0 += 4) {
    const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(n - b0)),
                                         _mm256_setr_epi64x(0, 1, 2, 3));
    for (size_t a0 = 0; a0 < n; a0 += ROWS) {
      const size_t na = n - a0 < ROWS ? n - a0 : ROWS;
      __m256i cc[ROWS], cf[ROWS];
#pragma GCC unroll 6
      for (size_t a = 0; a < ROWS; a++) cc[a] = cf[a] = _mm256_setzero_si256();
      for (int i = 0; i < count; i++) {
        const int64_t *c = coarse + (size_t)i * n, *f = fine + (size_t)i * n;
        const __m256i cb = _mm256_maskload_epi64((const long long *)(const void *)(c + b0), m),
                      fb = _mm256_maskload_epi64((const long long *)(const void *)(f + b0), m);
#pragma GCC unroll 6
        for (size_t a = 0; a < ROWS; a++)
          if (a < na) {
            const __m256i ca = _mm256_set1_epi64x(c[a0 + a]);
            cc[a] = _mm256_add_epi64(cc[a], _mm256_mul_epi32(ca, cb));
            cf[a] = _mm256_add_epi64(cf[a], _mm256_mul_epi32(ca, fb));
          }
      }
#pragma GCC unroll 6
      for (size_t a = 0; a < ROWS; a++)
        if (a < na) {
          long long *rc = (long long *)(void *)(qcc + (a0 + a) * n + b0),
                    *rf = (long long *)(void *)(qcf + (a0 + a) * n + b0);
          _mm256_maskstore_epi64(rc, m, _mm256_add_epi64(_mm256_maskload_epi64(rc, m), cc[a]));
          _mm256_maskstore_epi64(rf, m, _mm256_add_epi64(_mm256_maskload_epi64(rf, m), cf[a]));
        }
    }
  }
}
#endif

/* A run of @p count pairs into pending sums @p q: the header and the sums pair by pair, the
 * products summed over the pairs first where AVX-512 or AVX2 can (else pair by pair). */
static void add_run(const invrg_mcrg *m, int64_t *restrict q, const int64_t *coarse,
                    const int64_t *fine, const int64_t *ties, int count, int64_t sites) {
  const size_t n = (size_t)m->n_ops;
  int64_t *qc = q + REC_HEADER, *qf = qc + n, *qcc = qf + n, *qcf = qcc + n * n;
  q[REC_SAMPLES] += count;
  for (int i = 0; i < count; i++) {
    if (ties != NULL && ties[i] >= 0) {
      q[REC_TIE_SAMPLES]++;
      q[REC_TIES] += ties[i];
      q[REC_TIE_SITES] += sites;
    }
    for (size_t a = 0; a < n; a++)
      qc[a] += coarse[(size_t)i * n + a], qf[a] += fine[(size_t)i * n + a];
  }
#if INVRG_SIMD_X86
  if (m->products_dq) {
    run_products_avx512(qcc, qcf, coarse, fine, n, count);
    return;
  }
  if (m->products_avx2) {
    run_products_avx2(qcc, qcf, coarse, fine, n, count);
    return;
  }
#endif
  for (int i = 0; i < count; i++)
    add_products(qcc, qcf, coarse + (size_t)i * n, fine + (size_t)i * n, n);
}

/* The pairs from @p i0 on that go as one run: those of pair i0's block (at most RUN_MAX), if
 * all their sums are below 2^31 (32-bit products) and the run's bound, its pairs times the
 * bound of its largest sums, is below half the pending limit (*total). Returns the end of the
 * run, or i0 if there is none (the pairs then go one at a time). */
static int run_end(const invrg_mcrg *m, int64_t sites, int n, const int64_t *coarse,
                   const int64_t *fine, const int *blocks, int i0, int64_t *total) {
  const size_t n_ops = (size_t)m->n_ops;
  int i1 = i0;
  while (i1 < n && i1 - i0 < RUN_MAX && blocks[i1] == blocks[i0]) i1++;
  int64_t mc = 0, mf = 0; /* over the run's pairs at once: contiguous, vectorisable */
  largest_sums(m, coarse + (size_t)i0 * n_ops, fine + (size_t)i0 * n_ops, (i1 - i0) * m->n_ops,
               &mc, &mf);
  *total = pair_bound(mc, mf, sites);
  if (mc >= INT64_C(2147483648) || mf >= INT64_C(2147483648) ||
      *total >= PENDING_LIMIT / 2 / RUN_MAX)
    return i0;
  *total *= i1 - i0;
  return i1;
}

invrg_err invrg_mcrg_add_lanes(invrg_mcrg *m, int level, int64_t lx, int64_t ly, int n,
                               const int64_t *coarse_sums, const int64_t *fine_sums,
                               const int64_t *ties, const int *blocks) {
  invrg_err err = INVRG_SUCCESS;
  const size_t n_ops = (size_t)m->n_ops;
  for (int i0 = 0; i0 < n;) {
    int64_t total = 0;
    const int i1 = run_end(m, lx * ly, n, coarse_sums, fine_sums, blocks, i0, &total);
    /* the run's first pair (or a pair that starts none) through invrg_mcrg_add_sums, with
     * every check: the level, the block, the lattice size, the pending block */
    INVRG_CALL(invrg_mcrg_add_sums(m, level, lx, ly, coarse_sums + (size_t)i0 * n_ops,
                                   fine_sums + (size_t)i0 * n_ops, ties != NULL ? ties[i0] : -1,
                                   blocks[i0]));
    if (i1 - i0 > 1) { /* the rest summed over the pairs first, into the same pending sums */
      if (m->pending_block[level] != blocks[i0] ||
          total > PENDING_LIMIT - m->pending_bound[level]) {
        flush_pending(m, level);
        m->pending_block[level] = blocks[i0];
      }
      m->pending_bound[level] += total;
      add_run(m, pending_of(m, level), coarse_sums + (size_t)(i0 + 1) * n_ops,
              fine_sums + (size_t)(i0 + 1) * n_ops, ties != NULL ? ties + i0 + 1 : NULL,
              i1 - i0 - 1, lx * ly);
    }
    i0 = i1 > i0 + 1 ? i1 : i0 + 1;
  }
cleanup:
  return err;
}

/*
 * A lattice like @p lat with halo INVRG_MCRG_HALO: distributed on the group if
 * @p lat is and the grid can split it with that halo, else replicated.
 */
static invrg_err create_copy(const invrg_mcrg *m, const invrg_lattice *lat, invrg_lattice **out) {
  invrg_err err = INVRG_SUCCESS;
  *out = NULL;
  if (lat->mode == INVRG_LATTICE_DISTRIBUTED &&
      invrg_groups_can_distribute(m->g, lat->lx, lat->ly, INVRG_MCRG_HALO)) {
    INVRG_CALL(invrg_lattice_create_distributed(m->g, lat->lx, lat->ly, INVRG_MCRG_HALO, out));
    INVRG_CHECK((*out)->x0 == lat->x0 && (*out)->y0 == lat->y0 && (*out)->nx == lat->nx &&
                    (*out)->ny == lat->ny,
                INVRG_ERR_RUNTIME,
                "MCRG: the lattice is not distributed on the accumulator's group");
  } else {
    INVRG_CALL(invrg_lattice_create_replicated(lat->lx, lat->ly, INVRG_MCRG_HALO, out));
  }
cleanup:
  if (err != INVRG_SUCCESS) invrg_lattice_destroy(out);
  return err;
}

/* True if @p copy (from create_copy) still fits @p lat. */
static bool copy_fits(const invrg_mcrg *m, const invrg_lattice *copy, const invrg_lattice *lat) {
  if (copy == NULL || copy->lx != lat->lx || copy->ly != lat->ly) return false;
  bool distributed = lat->mode == INVRG_LATTICE_DISTRIBUTED &&
                     invrg_groups_can_distribute(m->g, lat->lx, lat->ly, INVRG_MCRG_HALO);
  return distributed == (copy->mode == INVRG_LATTICE_DISTRIBUTED);
}

/* Copies the interior of @p src into @p dst (made by create_copy) and fills dst's halos. */
static invrg_err copy_configuration(const invrg_lattice *src, invrg_lattice *dst) {
  invrg_err err = INVRG_SUCCESS;
  int8_t *whole = NULL;
  if (src->mode == dst->mode) {
    for (int j = 0; j < src->ny; j++)
      memcpy(dst->data + invrg_lattice_index(dst, 0, j), src->data + invrg_lattice_index(src, 0, j),
             (size_t)src->nx);
  } else {
    /* distributed source, replicated copy: gather the whole lattice on every rank */
    whole = malloc((size_t)src->lx * (size_t)src->ly);
    INVRG_CHECK_ALLOC(whole);
    INVRG_CALL(invrg_blockspin_allgather(src, whole));
    for (int j = 0; j < dst->ny; j++)
      memcpy(dst->data + invrg_lattice_index(dst, 0, j), whole + (size_t)j * (size_t)src->lx,
             (size_t)src->lx);
  }
  INVRG_CALL(invrg_lattice_halo_exchange(dst));
cleanup:
  free(whole);
  return err;
}

/* The chain of level lattices for configurations like @p lat, made once and reused. */
static invrg_err prepare_chain(invrg_mcrg *m, const invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  if (copy_fits(m, m->chain[0], lat)) goto cleanup;
  destroy_chain(m);
  INVRG_CALL(create_copy(m, lat, &m->chain[0]));
  for (int n = 1; n <= m->p.n_levels; n++)
    INVRG_CALL(invrg_blockspin_create_coarse(m->chain[n - 1], m->g, INVRG_MCRG_HALO, &m->chain[n]));
cleanup:
  return err;
}

/* The checks of a configuration before its standard MCRG. */
static invrg_err check_configuration(const invrg_mcrg *m, const invrg_lattice *lat, uint64_t sample) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t scale = INT64_C(1) << m->p.n_levels;
  INVRG_CHECK(!m->reduced, INVRG_ERR_RUNTIME, "MCRG: samples added after the reduction");
  INVRG_CHECK(
      lat->lx % scale == 0 && lat->ly % scale == 0, INVRG_ERR_INPUT,
      "MCRG with %d levels needs sides that are multiples of %lld, the lattice is %lld x %lld",
      m->p.n_levels, (long long)scale, (long long)lat->lx, (long long)lat->ly);
  INVRG_CHECK(sample < (INVRG_RNG_STEP_LIMIT / LEVEL_STRIDE), INVRG_ERR_RUNTIME,
              "MCRG: sample index %llu too large for the tie coins", (unsigned long long)sample);
cleanup:
  return err;
}

/*
 * Standard MCRG of @p top (halo ≥ INVRG_MCRG_HALO, current; its sums @p top_sums, or NULL to
 * compute them): blocked into below[0], below[0] into below[1], …, the pair (level n,
 * level n − 1) added for every n.
 */
static invrg_err block_and_add(invrg_mcrg *m, const invrg_lattice *top, const int64_t *top_sums,
                               invrg_lattice *const *below, uint64_t item, uint64_t sample,
                               int block) {
  invrg_err err = INVRG_SUCCESS;
  const int n = m->n_ops;
  if (top_sums != NULL)
    memcpy(m->sums, top_sums, (size_t)n * sizeof *m->sums);
  else
    INVRG_CALL(invrg_operators_evaluate(m->ops, n, top, m->sums));
  const invrg_lattice *fine = top;
  for (int level = 1; level <= m->p.n_levels; level++) {
    const invrg_blockspin_ties key = invrg_mcrg_chain_ties(m, item, sample, level);
    int64_t ties = 0;
    invrg_lattice *coarse = below[level - 1];
    int64_t *coarse_sums = m->sums + (size_t)level * (size_t)n;
    INVRG_CALL(invrg_blockspin_apply(fine, &key, coarse, &ties));
    INVRG_CALL(invrg_operators_evaluate(m->ops, n, coarse, coarse_sums));
    INVRG_CALL(invrg_mcrg_add_sums(m, level, coarse->lx, coarse->ly, coarse_sums, coarse_sums - n,
                                   ties, block));
    fine = coarse;
  }
cleanup:
  return err;
}

invrg_blockspin_ties invrg_mcrg_chain_ties(const invrg_mcrg *m, uint64_t item, uint64_t sample,
                                           int level) {
  return (invrg_blockspin_ties){m->p.tie_rule, m->p.seed, item,
                                sample * LEVEL_STRIDE + (uint64_t)level};
}

invrg_err invrg_mcrg_add_configuration(invrg_mcrg *m, const invrg_lattice *lat, uint64_t item,
                                       uint64_t sample, int block) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(check_configuration(m, lat, sample));
  INVRG_CALL(prepare_chain(m, lat));
  INVRG_CALL(copy_configuration(lat, m->chain[0]));
  INVRG_CALL(block_and_add(m, m->chain[0], NULL, m->chain + 1, item, sample, block));
cleanup:
  return err;
}

invrg_err invrg_mcrg_add_configuration_into(invrg_mcrg *m, const invrg_lattice *lat,
                                            const int64_t *lat_sums, invrg_lattice *const *chain,
                                            uint64_t item, uint64_t sample, int block) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(check_configuration(m, lat, sample));
  INVRG_CHECK(lat->halo >= INVRG_MCRG_HALO, INVRG_ERR_RUNTIME,
              "MCRG in place needs a halo of %d, the lattice has %d", INVRG_MCRG_HALO, lat->halo);
  INVRG_CALL(block_and_add(m, lat, lat_sums, chain, item, sample, block));
cleanup:
  return err;
}

invrg_err invrg_mcrg_operator_sums(const invrg_mcrg *m, const invrg_lattice *lat, int64_t *sums) {
  return invrg_operators_evaluate(m->ops, m->n_ops, lat, sums);
}

invrg_err invrg_mcrg_add_pair(invrg_mcrg *m, int level, const invrg_lattice *coarse,
                              const invrg_lattice *fine, int64_t ties, int block) {
  invrg_err err = INVRG_SUCCESS;
  const int n = m->n_ops;
  INVRG_CHECK(fine->lx == 2 * coarse->lx && fine->ly == 2 * coarse->ly, INVRG_ERR_RUNTIME,
              "MCRG pair: fine %lld x %lld is not twice coarse %lld x %lld", (long long)fine->lx,
              (long long)fine->ly, (long long)coarse->lx, (long long)coarse->ly);
  const invrg_lattice *given[2] = {coarse, fine};
  for (int k = 0; k < 2; k++) {
    const invrg_lattice *lat = given[k];
    if (lat->halo < INVRG_MCRG_HALO) { /* a copy with the halo the operators reach */
      if (!copy_fits(m, m->pair[k], lat)) {
        invrg_lattice_destroy(&m->pair[k]);
        INVRG_CALL(create_copy(m, lat, &m->pair[k]));
      }
      INVRG_CALL(copy_configuration(lat, m->pair[k]));
      lat = m->pair[k];
    }
    INVRG_CALL(invrg_operators_evaluate(m->ops, n, lat, m->sums + (size_t)k * (size_t)n));
  }
  INVRG_CALL(
      invrg_mcrg_add_sums(m, level, coarse->lx, coarse->ly, m->sums, m->sums + n, ties, block));
cleanup:
  return err;
}

/* ------------------------------------------------------------------ reduce */

/* Numbers of the accumulator: [level − 1][block][record_len]. */
static size_t acc_numbers(const invrg_mcrg *m) {
  return (size_t)m->p.n_levels * (size_t)m->p.n_blocks * m->record_len;
}

/*
 * @p acc (this rank's copy of the sums) replaced by the exact totals of all groups: every rank
 * of a group holds the group's sums, so only its rank 0 contributes; integer sums are exact in
 * any order; then 0 ≤ lo < 2^32 again. Collective on g->world.
 */
static invrg_err sum_over_groups(const invrg_mcrg *m, int64_t *acc) {
  invrg_err err = INVRG_SUCCESS;
  const size_t total = acc_numbers(m), chunk = (size_t)1 << 24;
  if (m->g->rank != 0) memset(acc, 0, total * sizeof *acc);
  for (size_t first = 0; first < total; first += chunk) {
    size_t count = total - first < chunk ? total - first : chunk;
    INVRG_MPI_CALL(
        MPI_Allreduce(MPI_IN_PLACE, acc + first, (int)count, MPI_INT64_T, MPI_SUM, m->g->world));
  }
  for (size_t r = 0; r < total; r += m->record_len)
    for (size_t k = REC_HEADER; k < m->record_len; k += 2) exact_normalise(acc + r + k);
cleanup:
  return err;
}

invrg_err invrg_mcrg_reduce(invrg_mcrg *m) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = m->g;
  INVRG_CHECK(!m->reduced, INVRG_ERR_RUNTIME, "MCRG: reduced twice");
  for (int level = 1; level <= m->p.n_levels; level++) flush_pending(m, level);
  INVRG_CALL(sum_over_groups(m, m->acc));
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &m->coarse_size[0][0], 2 * (INVRG_MCRG_MAX_LEVELS + 1),
                               MPI_INT64_T, MPI_MAX, g->world));
  m->reduced = true;
cleanup:
  return err;
}

/* ------------------------------------------------------------------ checkpoints */

/* Coarse sizes kept after the sums: lx, ly of levels 0 … INVRG_MCRG_MAX_LEVELS. */
enum { N_COARSE_SIZES = 2 * (INVRG_MCRG_MAX_LEVELS + 1) };

size_t invrg_mcrg_state_length(const invrg_mcrg *m) { return acc_numbers(m) + N_COARSE_SIZES; }

invrg_err invrg_mcrg_params_state_length(const invrg_mcrg_params *p, size_t *length) {
  invrg_err err = INVRG_SUCCESS;
  invrg_operator_set *set = NULL;
  size_t n_ops = 0;
  for (int s = 0; s < p->n_sets; s++) {
    INVRG_CALL(invrg_operator_set_create(p->sets[s], &set));
    n_ops += (size_t)set->n;
    invrg_operator_set_destroy(&set);
  }
  *length = (size_t)p->n_levels * (size_t)p->n_blocks * record_length(n_ops) + N_COARSE_SIZES;
cleanup:
  invrg_operator_set_destroy(&set);
  return err;
}

invrg_err invrg_mcrg_state_export(const invrg_mcrg *m, int64_t *state) {
  invrg_err err = INVRG_SUCCESS;
  const size_t total = acc_numbers(m);
  INVRG_CHECK(!m->reduced, INVRG_ERR_RUNTIME, "MCRG: saved after the reduction");
  /* The totals the reduction would make, on a copy: the accumulator goes on (its pending sums
   * too, added to the copy only). */
  memcpy(state, m->acc, total * sizeof *state);
  for (int level = 1; level <= m->p.n_levels; level++) pending_into(m, level, state);
  INVRG_CALL(sum_over_groups(m, state));
  memcpy(state + total, &m->coarse_size[0][0], N_COARSE_SIZES * sizeof *state);
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, state + total, N_COARSE_SIZES, MPI_INT64_T, MPI_MAX,
                               m->g->world));
cleanup:
  return err;
}

invrg_err invrg_mcrg_state_import(invrg_mcrg *m, const int64_t *state) {
  invrg_err err = INVRG_SUCCESS;
  const size_t total = acc_numbers(m);
  INVRG_CHECK(!m->reduced, INVRG_ERR_RUNTIME, "MCRG: restored after the reduction");
  if (m->g->world_rank == 0) { /* counted once: world rank 0 is rank 0 of its group */
    for (size_t k = 0; k < total; k++) m->acc[k] += state[k];
    int64_t *sizes = &m->coarse_size[0][0];
    for (size_t k = 0; k < N_COARSE_SIZES; k++)
      if (state[total + k] > sizes[k]) sizes[k] = state[total + k];
  }
cleanup:
  return err;
}

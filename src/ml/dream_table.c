/* Dreaming through window tables: a model whose fine site depends on an n × n window of coarse
 * spins with n² ≤ 16 (sym5, sym7, conv with k ≤ 3; docs/physics.md §4) is a table of thresholds per child
 * position and window pattern, computed once per work from the model's own logits. A step then
 * reads, per fine row, the window pattern of every parent column and draws each fine site with
 * one lookup (AVX2 gathers, or their scalar twin): the same spins as the logits would give. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ml/dream_internal.h"

enum { TABLE_MAX_BITS = 16 }; /* sym7: 4 × 2^16 thresholds, 1 MiB */

static int wrap(int64_t a, int n) { return (int)(((a % n) + n) % n); }

/* ------------------------------------------------------------------ window tables */

static int fine_reach(const invrg_model *m) {
  return m->family == INVRG_MODEL_SYM ? (m->kernel - 1) / 2 : m->kernel - 1;
}

bool invrg_dream_has_table(const invrg_model *m) {
  const int n = fine_reach(m) + 1;
  return m->kind != INVRG_MODEL_KIND_SYM3 && n * n <= TABLE_MAX_BITS;
}

/* ⌊a/2⌋ for negative a too. */
static int floor_half(int a) { return a >= 0 ? a / 2 : -((1 - a) / 2); }

window_table invrg_dream_table_geometry(const invrg_model *m) {
  const int q = fine_reach(m);
  /* the window reaches −lo[0] = ⌈q/2⌉ rows above the parent and lo[1] + n − 1 = ⌊(q + 1)/2⌋,
   * the same number, below it */
  window_table t = {.n = q + 1, .lo = {floor_half(-q), floor_half(1 - q)}, .margin = (q + 1) / 2,
                    .bits = (q + 1) * (q + 1), .T = NULL};
  return t;
}

/* The window spins of a pattern, row-major: μ[r·n + c] = +1 if bit c·n + r is set. */
static void window_spins(int n, uint32_t pattern, int8_t *mu) {
  for (int r = 0; r < n; r++)
    for (int c = 0; c < n; c++) mu[r * n + c] = (pattern >> (c * n + r)) & 1 ? 1 : -1;
}

/* sym: z = ½ Σ_d W[αβ][d] μ(I + d) over the window, rows then columns as invrg_model_logits()
 * sums them (the kernel has weight 0 outside the window): the same logits. */
static double sym_window_logit(const invrg_model *m, const double *W, const window_table *t,
                               int ab, const int8_t *mu) {
  const int r = m->reach, R = 2 * r + 1, dy = t->lo[ab >> 1] + r, dx = t->lo[ab & 1] + r;
  const double *Wab = W + ab * R * R;
  double s = 0;
  for (int i = 0; i < t->n; i++)
    for (int j = 0; j < t->n; j++) s += Wab[(dy + i) * R + dx + j] * mu[i * t->n + j];
  return 0.5 * s;
}

/*
 * The thresholds of every child position and window pattern. sym: the coarse kernels. conv: the
 * network on the window taken as a whole n × n periodic lattice — the child's fine receptive
 * field, 2q + 1 = 2n − 1 sites wide, does not meet its own image on 2n fine sites, so its logit
 * is that of any lattice; q is even, lo[0] = lo[1], and parent (−lo, −lo) has all four children.
 */
invrg_err invrg_dream_table_create(const invrg_model *m, window_table *t) {
  invrg_err err = INVRG_SUCCESS;
  invrg_model_work *mw = NULL;
  *t = invrg_dream_table_geometry(m);
  const int n = t->n, I = -t->lo[0];
  const uint32_t size = UINT32_C(1) << t->bits;
  double W[4 * 25], z[64]; /* sym: reach ≤ 2; conv: (2n)² ≤ 64 */
  int8_t mu[TABLE_MAX_BITS];
  t->T = malloc(4 * (size_t)size * sizeof *t->T);
  INVRG_CHECK_ALLOC(t->T);
  if (m->family == INVRG_MODEL_SYM)
    invrg_model_sym_coarse_kernels(m, W);
  else
    INVRG_CALL(invrg_model_work_create(m, n, &mw));
  for (uint32_t pattern = 0; pattern < size; pattern++) {
    window_spins(n, pattern, mu);
    if (mw != NULL) invrg_model_logits(m, mu, n, z, mw);
    for (int ab = 0; ab < 4; ab++) {
      double zc = mw == NULL ? sym_window_logit(m, W, t, ab, mu)
                             : z[(2 * I + (ab >> 1)) * 2 * n + 2 * I + (ab & 1)];
      t->T[(size_t)ab << t->bits | pattern] = threshold_of(zc);
    }
  }
cleanup:
  invrg_model_work_destroy(&mw);
  return err;
}

bool invrg_dream_table_threshold(const invrg_dream_work *w, const int8_t *coarse, int lc, int y,
                                 int x, uint32_t *threshold) {
  const window_table *t = &w->table;
  if (t->T == NULL) return false;
  const int alpha = y & 1, beta = x & 1, n = t->n;
  uint32_t pattern = 0;
  for (int r = 0; r < n; r++)
    for (int c = 0; c < n; c++) {
      int Y = wrap(y / 2 + t->lo[alpha] + r, lc), X = wrap(x / 2 + t->lo[beta] + c, lc);
      pattern |= (uint32_t)(coarse[Y * lc + X] > 0) << (c * n + r);
    }
  *threshold = t->T[(size_t)(2 * alpha + beta) << t->bits | pattern];
  return true;
}

/* ------------------------------------------------------------------ window table rows */

/* A step's coarse lattice as the rows read it: whole (neighbours by periodic wrap) or a block
 * whose halo holds its neighbours. */
typedef struct {
  const int8_t *origin; /* interior site (0, 0) */
  ptrdiff_t stride;     /* between rows */
  int nx, ny;           /* interior */
  int64_t x0, y0;       /* global coordinates of (0, 0) */
  bool whole;
} coarse_view;

/* A step's fine lattice, or the block of it to fill, of a lattice lx sites wide. */
typedef struct {
  int8_t *origin;
  ptrdiff_t stride;
  int nx, ny;
  int64_t x0, y0, lx;
} fine_view;

static coarse_view coarse_of_lattice(const invrg_lattice *c) {
  return (coarse_view){c->data + invrg_lattice_index(c, 0, 0), c->sx, c->nx, c->ny, c->x0, c->y0,
                       c->mode == INVRG_LATTICE_REPLICATED};
}

static fine_view fine_of_lattice(invrg_lattice *f) {
  return (fine_view){f->data + invrg_lattice_index(f, 0, 0), f->sx, f->nx, f->ny, f->x0, f->y0,
                     f->lx};
}

/*
 * The column codes of the window rows Y + lo[α] … of local coarse row Y: k[X] = Σ_r [μ(Y +
 * lo[α] + r, X) = +1] << r for the local columns X ∈ [−margin, nx + margin). A whole lattice
 * wraps rows and columns (a site may then stand in the window more than once, as it does in
 * the periodic model); a block reads its halo.
 */
static void column_codes(const window_table *t, const coarse_view *c, int64_t Y, int alpha,
                         uint8_t *k) {
  const int M = t->margin, first = c->whole ? 0 : -M, last = c->whole ? c->nx : c->nx + M;
  for (int X = first; X < last; X++) k[X] = 0;
  for (int r = 0; r < t->n; r++) {
    int64_t Yr = Y + t->lo[alpha] + r;
    const int8_t *row = c->origin + (c->whole ? wrap(Yr, c->ny) : Yr) * c->stride;
    for (int X = first; X < last; X++) k[X] = (uint8_t)(k[X] | (row[X] > 0) << r);
  }
  if (!c->whole) return;
  for (int X = -M; X < 0; X++) k[X] = k[wrap(X, c->nx)];
  for (int X = c->nx; X < c->nx + M; X++) k[X] = k[wrap(X, c->nx)];
}

/* The window pattern starting at each column: P[s] = Σ_c k[s + c] << (n·c), s ∈ [−margin,
 * nx + margin − n]; child β of parent column X has the pattern P[X + lo[β]]. */
static void window_patterns(const window_table *t, const uint8_t *k, int nx, uint16_t *P) {
  const int first = -t->margin, end = nx + t->margin - t->n + 1;
  for (int s = first; s < end; s++) P[s] = 0;
  for (int c = 0; c < t->n; c++)
    for (int s = first; s < end; s++) P[s] = (uint16_t)(P[s] | k[s + c] << (t->n * c));
}

/*
 * An aligned row segment, four sites (one Philox block b) at a time: sites 4b … 4b + 3 are the
 * children β = 0, 1 of the parents 2b and 2b + 1 (counted from the first); child β of parent J
 * has the pattern Pβ[J] and the threshold Tβ[Pβ[J]]; word w of block b is words[w·stride + b].
 */
static void table_row(const uint32_t *T0, const uint32_t *T1, const uint16_t *P0,
                      const uint16_t *P1, int b_first, int nb, const uint32_t *words,
                      size_t stride, int8_t *out) {
  const uint32_t *w0 = words, *w1 = words + stride, *w2 = words + 2 * stride,
                 *w3 = words + 3 * stride;
  for (int b = b_first; b < nb; b++) {
    out[4 * b] = (int8_t)(w0[b] < T0[P0[2 * b]] ? 1 : -1);
    out[4 * b + 1] = (int8_t)(w1[b] < T1[P1[2 * b]] ? 1 : -1);
    out[4 * b + 2] = (int8_t)(w2[b] < T0[P0[2 * b + 1]] ? 1 : -1);
    out[4 * b + 3] = (int8_t)(w3[b] < T1[P1[2 * b + 1]] ? 1 : -1);
  }
}

#if INVRG_SIMD_X86
/* The same with AVX2, eight blocks per iteration: sixteen consecutive 16-bit patterns hold the
 * even parents' in the low and the odd parents' in the high halves of their 32-bit lanes; the
 * thresholds are gathered. Returns the first block not done. */
INVRG_TARGET_AVX2 static int table_row_avx2(const uint32_t *T0, const uint32_t *T1,
                                                           const uint16_t *P0, const uint16_t *P1,
                                                           int nb, const uint32_t *words,
                                                           size_t stride, int8_t *out) {
  const __m256i low = _mm256_set1_epi32(0xffff);
  int b = 0;
  for (; b + 8 <= nb; b += 8) {
    const __m256i p0 = _mm256_loadu_si256((const __m256i *)(P0 + 2 * b));
    const __m256i p1 = _mm256_loadu_si256((const __m256i *)(P1 + 2 * b));
    const __m256i t0 = _mm256_i32gather_epi32((const int *)T0, _mm256_and_si256(p0, low), 4);
    const __m256i t1 = _mm256_i32gather_epi32((const int *)T1, _mm256_and_si256(p1, low), 4);
    const __m256i t2 = _mm256_i32gather_epi32((const int *)T0, _mm256_srli_epi32(p0, 16), 4);
    const __m256i t3 = _mm256_i32gather_epi32((const int *)T1, _mm256_srli_epi32(p1, 16), 4);
#define WORDS(w) _mm256_loadu_si256((const __m256i *)(words + (w) * stride + b))
    avx2_store_blocks(out + 4 * b, avx2_spins(WORDS(0), t0), avx2_spins(WORDS(1), t1),
                      avx2_spins(WORDS(2), t2), avx2_spins(WORDS(3), t3));
#undef WORDS
  }
  return b;
}
#endif

/*
 * A step through the window table: fine site (x, y) of the block, child (α, β) = (y & 1, x & 1)
 * of coarse (X, Y) = (x >> 1, y >> 1), is up if its word u < T[αβ][pattern of its window].
 * Rows whose segment is whole Philox blocks take the block rows, others go site by site.
 */
static void table_step(const window_table *t, const coarse_view *c, const fine_view *f,
                       const invrg_rng_stream *s, invrg_dream_work *w, bool vector) {
  const size_t stride = (size_t)f->nx / 4 + 3;
  uint8_t *k = w->codes + t->margin;
  uint16_t *P = w->patterns + t->margin;
  const int64_t X0 = (f->x0 >> 1) - c->x0; /* local coarse column of the first parent */
  for (int j = 0; j < f->ny; j++) {
    const int64_t y = f->y0 + j;
    const int alpha = (int)(y & 1);
    column_codes(t, c, (y >> 1) - c->y0, alpha, k);
    window_patterns(t, k, c->nx, P);
    const uint64_t g0 = (uint64_t)y * (uint64_t)f->lx + (uint64_t)f->x0;
    uint64_t first;
    invrg_dream_segment_words(s, g0, f->nx, w->words, stride, &first);
    const uint32_t *T0 = t->T + ((size_t)(2 * alpha) << t->bits), *T1 = T0 + ((size_t)1 << t->bits);
    int8_t *out = f->origin + j * f->stride;
    if (g0 % 4 == 0 && f->nx % 4 == 0) {
      const uint16_t *P0 = P + X0 + t->lo[0], *P1 = P + X0 + t->lo[1];
      int b = 0;
#if INVRG_SIMD_X86
      if (vector) b = table_row_avx2(T0, T1, P0, P1, f->nx / 4, w->words, stride, out);
#else
      (void)vector;
#endif
      table_row(T0, T1, P0, P1, b, f->nx / 4, w->words, stride, out);
      continue;
    }
    for (int i = 0; i < f->nx; i++) { /* small or odd sizes */
      const int64_t x = f->x0 + i, X = (x >> 1) - c->x0;
      const int beta = (int)(x & 1);
      out[i] = draw_spin(w->words, stride, first, g0 + (uint64_t)i,
                         (beta ? T1 : T0)[P[X + t->lo[beta]]]);
    }
  }
}

/* ------------------------------------------------------------------ steps */

void invrg_dream_table_step(const int8_t *coarse, int lc, const invrg_rng_stream *s,
                            int8_t *fine, invrg_dream_work *w) {
  const coarse_view c = {coarse, lc, lc, lc, 0, 0, true};
  const fine_view f = {fine, 2 * lc, 2 * lc, 2 * lc, 0, 0, 2 * lc};
  table_step(&w->table, &c, &f, s, w, invrg_dream_use_avx2());
}

invrg_err invrg_dream_table_step_lattice(const invrg_lattice *coarse, invrg_lattice *fine,
                                         const invrg_rng_stream *s, invrg_dream_work *w) {
  invrg_err err = INVRG_SUCCESS;
  const window_table *t = &w->table;
  if (coarse->mode == INVRG_LATTICE_DISTRIBUTED) {
    INVRG_CHECK(fine->mode == INVRG_LATTICE_DISTRIBUTED && fine->x0 == 2 * coarse->x0 &&
                    fine->y0 == 2 * coarse->y0 && fine->nx == 2 * coarse->nx &&
                    fine->ny == 2 * coarse->ny,
                INVRG_ERR_RUNTIME, "the fine block must be twice its coarse block");
    INVRG_CHECK(coarse->halo >= t->margin, INVRG_ERR_RUNTIME,
                "coarse halo %d is narrower than the model's window reach %d", coarse->halo,
                t->margin);
  }
  const coarse_view c = coarse_of_lattice(coarse);
  const fine_view f = fine_of_lattice(fine);
  table_step(t, &c, &f, s, w, invrg_dream_use_avx2());
cleanup:
  return err;
}

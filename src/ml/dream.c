/* Dreaming: sampling fine configurations from an inverse-RG model, one level at a time.
 *
 * Three ways to a step, each the same spins on every layout:
 * - sym3: its closed form, 12 thresholds (and a vector row);
 * - window tables: a model whose fine site depends on an n × n window of coarse spins with
 *   n² ≤ 16 (sym5, sym7, conv with k ≤ 3) is a table of thresholds per child position and
 *   window pattern, computed once per work;
 * - the others (conv with k ≥ 5): the logits of invrg_model_logits() on whole lattices. */
#include "invrg/dream.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/rng.h"

/*
 * The window of a model. Fine site y depends on fine rows y − q … y + q, q the fine reach (sym:
 * one k × k kernel, q = (k − 1)/2; conv: two, q = k − 1), which lie in the coarse rows
 * ⌊(y − q)/2⌋ … ⌊(y + q)/2⌋: n = q + 1 rows starting at I + lo[α] for y = 2I + α, with
 * lo[α] = ⌊(α − q)/2⌋; the same for columns and β. Pattern bit c·n + r says the window spin at
 * row r, column c is up; T[(2α + β) << bits | pattern] is round(P(up)·2^32) of child (α, β).
 */
typedef struct {
  int n;       /* window width */
  int lo[2];   /* first window row (column) relative to the parent, for α (β) = 0, 1 */
  int margin;  /* how far the window reaches beyond the parent: the coarse halo it needs */
  int bits;    /* n² */
  uint32_t *T; /* NULL: the model has no table (sym3, conv with k ≥ 5) */
} window_table;

enum { TABLE_MAX_BITS = 16 }; /* sym7: 4 × 2^16 thresholds, 1 MiB */

struct invrg_dream_work {
  int max_lc;
  window_table table;
  uint8_t *codes;          /* table: one fine row's column codes, local coarse column X at X + margin */
  uint16_t *patterns;      /* table: window pattern starting at each coarse column, the same offset */
  double *z;               /* generic path: logits of one fine lattice */
  uint32_t *words;         /* random words of one fine row: [4][row/4 + 3] */
  int8_t *pad;             /* sym3: a coarse row and its neighbour row, padded: 2 (lc + 2) */
  invrg_model_work *model; /* generic path, per coarse size; rebuilt when the size changes */
  int model_lc;
};

int8_t invrg_dream_seed_spin(invrg_dream_start start, uint64_t seed, uint64_t sample) {
  if (start == INVRG_DREAM_START_UP) return 1;
  if (start == INVRG_DREAM_START_ALTERNATE) return sample % 2 == 0 ? 1 : -1;
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, 0);
  return invrg_rng_coin(&s, 0, 1) ? 1 : -1;
}

/* P(up) = sigmoid(z) as a 32-bit threshold: u < T has probability T / 2^32. */
static uint32_t threshold_of(double z) {
  double p = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
  double t = nearbyint(p * 4294967296.0);
  return t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
}

static int wrap(int64_t a, int n) { return (int)(((a % n) + n) % n); }

/* ------------------------------------------------------------------ window tables */

static int fine_reach(const invrg_model *m) {
  return m->family == INVRG_MODEL_SYM ? (m->kernel - 1) / 2 : m->kernel - 1;
}

static bool has_table(const invrg_model *m) {
  const int n = fine_reach(m) + 1;
  return strcmp(m->kind, "sym3") != 0 && n * n <= TABLE_MAX_BITS;
}

/* ⌊a/2⌋ for negative a too. */
static int floor_half(int a) { return a >= 0 ? a / 2 : -((1 - a) / 2); }

static window_table table_geometry(const invrg_model *m) {
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
static invrg_err table_create(const invrg_model *m, window_table *t) {
  invrg_err err = INVRG_SUCCESS;
  invrg_model_work *mw = NULL;
  *t = table_geometry(m);
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

/* ------------------------------------------------------------------ work */

invrg_err invrg_dream_work_create(const invrg_model *m, int max_lc, invrg_dream_work **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_dream_work *w = calloc(1, sizeof *w);
  INVRG_CHECK_ALLOC(w);
  w->max_lc = max_lc;
  w->model_lc = -1;
  const size_t L = 2 * (size_t)max_lc;
  w->words = malloc(4 * (L / 4 + 3) * sizeof *w->words);
  w->pad = malloc(2 * ((size_t)max_lc + 4));
  INVRG_CHECK_ALLOC(w->words);
  INVRG_CHECK_ALLOC(w->pad);
  if (has_table(m)) {
    INVRG_CALL(table_create(m, &w->table));
    /* a coarse row with its margins, and room for the vector row's 16-pattern loads */
    const size_t cols = (size_t)max_lc + 2 * (size_t)w->table.margin + 32;
    w->codes = calloc(cols, sizeof *w->codes);
    w->patterns = calloc(cols, sizeof *w->patterns);
    INVRG_CHECK_ALLOC(w->codes);
    INVRG_CHECK_ALLOC(w->patterns);
  } else if (strcmp(m->kind, "sym3") != 0) { /* logits for the generic path only */
    w->z = malloc(L * L * sizeof *w->z);
    INVRG_CHECK(w->z != NULL, INVRG_ERR_RUNTIME, "out of memory for the logits of %zu x %zu sites",
                L, L);
  }
cleanup:
  if (err != INVRG_SUCCESS) invrg_dream_work_destroy(&w);
  *out = w;
  return err;
}

void invrg_dream_work_destroy(invrg_dream_work **wp) {
  if (wp == NULL || *wp == NULL) return;
  free((*wp)->table.T);
  free((*wp)->codes);
  free((*wp)->patterns);
  free((*wp)->z);
  free((*wp)->words);
  free((*wp)->pad);
  invrg_model_work_destroy(&(*wp)->model);
  free(*wp);
  *wp = NULL;
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

/* ------------------------------------------------------------------ random words */

/* Random words of the fine sites [g, g + n) of one row: site g + i uses word (g+i) & 3 of
 * block (g+i) >> 2, at words[((g+i) & 3)·stride + ((g+i) >> 2) − first_block]. */
static void segment_words(const invrg_rng_stream *s, uint64_t g, int n, uint32_t *words,
                          size_t stride, uint64_t *first_block) {
  *first_block = g >> 2;
  invrg_rng_blocks_range(s, g >> 2, (int)(((g + (uint64_t)n - 1) >> 2) - (g >> 2) + 1), 0, words,
                         stride);
}

static inline int8_t draw_spin(const uint32_t *words, size_t stride, uint64_t first_block,
                               uint64_t g, uint32_t threshold) {
  return words[(g & 3) * stride + ((g >> 2) - first_block)] < threshold ? 1 : -1;
}

/* The vector rows when the CPU has AVX2 and INVRG_SIMD does not say 'generic' (the same bits
 * either way: tests compare them). */
static bool use_avx2(void) {
#if defined(__x86_64__)
  const char *want = getenv("INVRG_SIMD");
  return __builtin_cpu_supports("avx2") && !(want != NULL && strcmp(want, "generic") == 0);
#else
  return false;
#endif
}

#if defined(__x86_64__)
/* u < T ? 1 : −1 per 32-bit lane: unsigned as a signed comparison after flipping the top bits. */
__attribute__((target("avx2"))) static inline __m256i avx2_spins(__m256i u, __m256i t) {
  const __m256i flip = _mm256_set1_epi32((int)0x80000000u);
  const __m256i up = _mm256_cmpgt_epi32(_mm256_xor_si256(t, flip), _mm256_xor_si256(u, flip));
  return _mm256_sub_epi32(_mm256_and_si256(up, _mm256_set1_epi32(2)), _mm256_set1_epi32(1));
}

/* Eight Philox blocks of four ±1 sites: word w of block b (lane b of s_w) to out[4b + w], the
 * four of block b packed into the little-endian 32-bit lane b. */
__attribute__((target("avx2"))) static inline void avx2_store_blocks(int8_t *out, __m256i s0,
                                                                     __m256i s1, __m256i s2,
                                                                     __m256i s3) {
  const __m256i byte = _mm256_set1_epi32(0xff);
  const __m256i packed = _mm256_or_si256(
      _mm256_or_si256(_mm256_and_si256(s0, byte), _mm256_slli_epi32(_mm256_and_si256(s1, byte), 8)),
      _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(s2, byte), 16), _mm256_slli_epi32(s3, 24)));
  _mm256_storeu_si256((__m256i *)out, packed);
}
#endif

/* ------------------------------------------------------------------ sym3 */

/* sym3: z = ½[(c+2b+a) μ_P + (a+b)(μ_V + μ_H) + a μ_D] takes 12 values: tabulate thresholds,
 * T[μ_P > 0][(μ_V + μ_H + 2)/2][μ_D > 0]. Every layout uses this table: bit-identical spins. */
static void sym3_thresholds(const invrg_model *m, uint32_t T[2][3][2]) {
  const double a = m->params[0], b = m->params[1], c = m->params[2];
  for (int p = 0; p < 2; p++)
    for (int n = 0; n < 3; n++)
      for (int d = 0; d < 2; d++)
        T[p][n][d] = threshold_of(0.5 * ((c + 2 * b + a) * (2 * p - 1) + (a + b) * (2 * n - 2) +
                                         a * (2 * d - 1)));
}

/*
 * One fine row of the sym3 step, four sites (one Philox block b) at a time: sites 4b, 4b + 1
 * are the children of coarse site J = 2b, sites 4b + 2, 4b + 3 those of J + 1; a left child's
 * horizontal neighbour is J − 1, a right child's J + 1. @p r and @p v are the coarse row and
 * the vertical neighbour row on the child's side, padded with their periodic images at −1
 * and lc; @p T12 holds the 12 thresholds at P·6 + n·2 + d (sym3_thresholds); word w of block
 * b is words[w·stride + b]. Written branch-free over b so that the compiler vectorises it.
 */
static void sym3_row(const int8_t *restrict r, const int8_t *restrict v, int b_first, int lc,
                     const uint32_t *restrict T12, const uint32_t *restrict words, size_t stride,
                     int8_t *restrict out) {
  const uint32_t *w0 = words, *w1 = words + stride, *w2 = words + 2 * stride,
                 *w3 = words + 3 * stride;
  for (int b = b_first; b < lc / 2; b++) {
    const int J = 2 * b;
    /* P = parent up, n = (vertical + horizontal + 2)/2, d = diagonal up; index P·6 + n·2 + d */
    const int p0 = (r[J] + 1) * 3, p1 = (r[J + 1] + 1) * 3;
    const int i0 = p0 + v[J] + r[J - 1] + 2 + ((v[J - 1] + 1) >> 1);
    const int i1 = p0 + v[J] + r[J + 1] + 2 + ((v[J + 1] + 1) >> 1);
    const int i2 = p1 + v[J + 1] + r[J] + 2 + ((v[J] + 1) >> 1);
    const int i3 = p1 + v[J + 1] + r[J + 2] + 2 + ((v[J + 2] + 1) >> 1);
    out[4 * b] = (int8_t)(w0[b] < T12[i0] ? 1 : -1);
    out[4 * b + 1] = (int8_t)(w1[b] < T12[i1] ? 1 : -1);
    out[4 * b + 2] = (int8_t)(w2[b] < T12[i2] ? 1 : -1);
    out[4 * b + 3] = (int8_t)(w3[b] < T12[i3] ? 1 : -1);
  }
}

#if defined(__x86_64__)
/*
 * The same row with AVX2, eight blocks (32 fine sites) per iteration: the coarse values at
 * even and odd J are split with a byte shuffle, the 12 thresholds looked up with two 8-entry
 * permutes. The blocks the vectors do not cover are left to sym3_row. Returns the first block
 * not done. Rows are padded by two on each side (16-byte loads).
 */
__attribute__((target("avx2"))) static int sym3_row_avx2(const int8_t *r, const int8_t *v, int lc,
                                                          const uint32_t *T12,
                                                          const uint32_t *words, size_t stride,
                                                          int8_t *out) {
  const __m128i even = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m128i odd = _mm_setr_epi8(1, 3, 5, 7, 9, 11, 13, 15, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2),
                three = _mm256_set1_epi32(3), seven = _mm256_set1_epi32(7);
  const __m256i t_lo = _mm256_loadu_si256((const __m256i *)T12);
  const __m256i t_hi = _mm256_setr_epi32((int)T12[8], (int)T12[9], (int)T12[10], (int)T12[11], 0,
                                         0, 0, 0);
#define SPLIT(p, mask) _mm256_cvtepi8_epi32(_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p)), mask))
#define THRESHOLD(i)                                                                      \
  _mm256_blendv_epi8(_mm256_permutevar8x32_epi32(t_lo, i),                                \
                     _mm256_permutevar8x32_epi32(t_hi, _mm256_and_si256(i, seven)),       \
                     _mm256_cmpgt_epi32(i, seven))
  int b = 0;
  for (; b + 8 <= lc / 2; b += 8) {
    const int J = 2 * b;
    /* r and v at J = 2b + 2k (E), 2b + 2k + 1 (O), 2b + 2k − 1 (Om), 2b + 2k + 2 (Ep) */
    const __m256i E = SPLIT(r + J, even), O = SPLIT(r + J, odd), Om = SPLIT(r + J - 2, odd),
                  Ep = SPLIT(r + J + 2, even);
    const __m256i vE = SPLIT(v + J, even), vO = SPLIT(v + J, odd), vOm = SPLIT(v + J - 2, odd),
                  vEp = SPLIT(v + J + 2, even);
    /* index P·6 + n·2 + d = 3(parent + 1) + vertical + horizontal + 2 + (diagonal + 1)/2 */
    const __m256i pE = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_add_epi32(E, one), three),
                                        _mm256_add_epi32(vE, two));
    const __m256i pO = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_add_epi32(O, one), three),
                                        _mm256_add_epi32(vO, two));
#define DIAG(x) _mm256_srai_epi32(_mm256_add_epi32(x, one), 1)
    const __m256i i0 = _mm256_add_epi32(pE, _mm256_add_epi32(Om, DIAG(vOm)));
    const __m256i i1 = _mm256_add_epi32(pE, _mm256_add_epi32(O, DIAG(vO)));
    const __m256i i2 = _mm256_add_epi32(pO, _mm256_add_epi32(E, DIAG(vE)));
    const __m256i i3 = _mm256_add_epi32(pO, _mm256_add_epi32(Ep, DIAG(vEp)));
#define WORDS(w) _mm256_loadu_si256((const __m256i *)(words + (w) * stride + b))
    avx2_store_blocks(out + 4 * b, avx2_spins(WORDS(0), THRESHOLD(i0)),
                      avx2_spins(WORDS(1), THRESHOLD(i1)), avx2_spins(WORDS(2), THRESHOLD(i2)),
                      avx2_spins(WORDS(3), THRESHOLD(i3)));
  }
#undef WORDS
#undef DIAG
#undef THRESHOLD
#undef SPLIT
  return b;
}
#endif

/* The 12 thresholds flat, at P·6 + n·2 + d, as the rows want them. */
static void sym3_thresholds_flat(const invrg_model *m, uint32_t T12[12]) {
  uint32_t T[2][3][2];
  sym3_thresholds(m, T);
  for (int p = 0; p < 2; p++)
    for (int n = 0; n < 3; n++)
      for (int d = 0; d < 2; d++) T12[p * 6 + n * 2 + d] = T[p][n][d];
}

/* One fine row from padded coarse rows (halos or copies, 2 on each side): vector, then scalar. */
static void sym3_row_any(const int8_t *r, const int8_t *v, int lc, const uint32_t *T12,
                         const uint32_t *words, size_t stride, int8_t *out, bool vector) {
  int b = 0;
#if defined(__x86_64__)
  if (vector) b = sym3_row_avx2(r, v, lc, T12, words, stride, out);
#else
  (void)vector;
#endif
  sym3_row(r, v, b, lc, T12, words, stride, out);
}

static void sym3_step(const invrg_model *m, const int8_t *coarse, size_t coarse_stride, int lc,
                      const invrg_rng_stream *s, int8_t *fine, size_t fine_stride,
                      invrg_dream_work *w) {
  uint32_t T[2][3][2], T12[12];
  sym3_thresholds(m, T);
  sym3_thresholds_flat(m, T12);
  const int L = 2 * lc;
  const size_t stride = (size_t)L / 4 + 3;
  int8_t *pad = w->pad; /* two padded coarse rows: [−2, lc + 1] each */
  const bool vector = use_avx2();
  for (int y = 0; y < L; y++) {
    int I = y / 2, alpha = y % 2;
    const int8_t *row = coarse + (size_t)I * coarse_stride;
    const int8_t *vrow = coarse + (size_t)((I + (alpha ? 1 : -1) + lc) % lc) * coarse_stride;
    uint64_t first;
    segment_words(s, (uint64_t)y * (uint64_t)L, L, w->words, stride, &first);
    int8_t *out = fine + (size_t)y * fine_stride;
    if (lc % 2 == 0) { /* whole Philox blocks per coarse pair: the fast row */
      int8_t *r = pad + 2, *v = pad + lc + 6;
      memcpy(r, row, (size_t)lc);
      memcpy(v, vrow, (size_t)lc);
      r[-1] = row[lc - 1], r[lc] = row[0], v[-1] = vrow[lc - 1], v[lc] = vrow[0];
      r[-2] = r[lc + 1] = v[-2] = v[lc + 1] = 0; /* loaded by the vector row, never used */
      sym3_row_any(r, v, lc, T12, w->words, stride, out, vector);
      continue;
    }
    const uint64_t g0 = (uint64_t)y * (uint64_t)L;
    for (int J = 0; J < lc; J++) { /* lc = 1: the 2 x 2 level */
      int left = J == 0 ? lc - 1 : J - 1, right = J + 1 == lc ? 0 : J + 1;
      int P = row[J] > 0, V = vrow[J];
      uint64_t g = g0 + 2 * (uint64_t)J;
      out[2 * J] = draw_spin(w->words, stride, first, g,
                             T[P][(V + row[left] + 2) >> 1][vrow[left] > 0]);
      out[2 * J + 1] = draw_spin(w->words, stride, first, g + 1,
                                 T[P][(V + row[right] + 2) >> 1][vrow[right] > 0]);
    }
  }
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

#if defined(__x86_64__)
/* The same with AVX2, eight blocks per iteration: sixteen consecutive 16-bit patterns hold the
 * even parents' in the low and the odd parents' in the high halves of their 32-bit lanes; the
 * thresholds are gathered. Returns the first block not done. */
__attribute__((target("avx2"))) static int table_row_avx2(const uint32_t *T0, const uint32_t *T1,
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
    segment_words(s, g0, f->nx, w->words, stride, &first);
    const uint32_t *T0 = t->T + ((size_t)(2 * alpha) << t->bits), *T1 = T0 + ((size_t)1 << t->bits);
    int8_t *out = f->origin + j * f->stride;
    if (g0 % 4 == 0 && f->nx % 4 == 0) {
      const uint16_t *P0 = P + X0 + t->lo[0], *P1 = P + X0 + t->lo[1];
      int b = 0;
#if defined(__x86_64__)
      if (vector) b = table_row_avx2(T0, T1, P0, P1, f->nx / 4, w->words, stride, out);
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

/* ------------------------------------------------------------------ generic path */

static void generic_step(const invrg_model *m, const int8_t *coarse, int lc,
                         const invrg_rng_stream *s, int8_t *fine, invrg_dream_work *w) {
  if (w->model_lc != lc) { /* scratch of the model for this size */
    invrg_model_work_destroy(&w->model);
    invrg_model_work_create(m, lc, &w->model);
    w->model_lc = lc;
  }
  invrg_model_logits(m, coarse, lc, w->z, w->model);
  const int L = 2 * lc;
  const size_t stride = (size_t)L / 4 + 3;
  for (int y = 0; y < L; y++) {
    uint64_t first, g = (uint64_t)y * (uint64_t)L;
    segment_words(s, g, L, w->words, stride, &first);
    for (int x = 0; x < L; x++, g++)
      fine[y * L + x] = draw_spin(w->words, stride, first, g, threshold_of(w->z[y * L + x]));
  }
}

void invrg_dream_step(const invrg_model *m, const int8_t *coarse, int lc, uint64_t seed,
                      uint64_t sample, int level, int8_t *fine, invrg_dream_work *w) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, (uint64_t)level);
  if (strcmp(m->kind, "sym3") == 0) {
    sym3_step(m, coarse, (size_t)lc, lc, &s, fine, (size_t)(2 * lc), w);
  } else if (w->table.T != NULL) {
    const coarse_view c = {coarse, lc, lc, lc, 0, 0, true};
    const fine_view f = {fine, 2 * lc, 2 * lc, 2 * lc, 0, 0, 2 * lc};
    table_step(&w->table, &c, &f, &s, w, use_avx2());
  } else {
    generic_step(m, coarse, lc, &s, fine, w);
  }
}

/* ------------------------------------------------------------------ on lattices */

int invrg_dream_halo(const invrg_model *m) {
  if (strcmp(m->kind, "sym3") == 0) return m->reach;
  return has_table(m) ? table_geometry(m).margin : 0;
}

bool invrg_dream_distributes(const invrg_model *m) {
  return strcmp(m->kind, "sym3") == 0 || has_table(m);
}

/* Coarse spin at global (X, Y): local coordinates, wrapped if the coarse lattice is whole. */
static inline int coarse_at(const invrg_lattice *c, int64_t X, int64_t Y) {
  if (c->mode == INVRG_LATTICE_REPLICATED) {
    X = ((X % c->lx) + c->lx) % c->lx;
    Y = ((Y % c->ly) + c->ly) % c->ly;
  }
  return c->data[invrg_lattice_index(c, (int)(X - c->x0), (int)(Y - c->y0))];
}

/*
 * sym3 on a block whose coarse block is exactly its parent (both distributed on the same grid),
 * x0 and the width multiples of 4 (whole Philox blocks) and a coarse halo of 2: the rows of the
 * whole-lattice path, reading the coarse neighbours from the halo. False if it does not apply.
 */
static bool sym3_step_block_rows(const invrg_model *m, const invrg_lattice *c, invrg_lattice *f,
                                 const invrg_rng_stream *s, invrg_dream_work *w) {
  if (c->halo < 2 || f->x0 % 4 != 0 || f->nx % 4 != 0 || c->x0 * 2 != f->x0 ||
      c->y0 * 2 != f->y0 || c->nx * 2 != f->nx || c->ny * 2 != f->ny)
    return false;
  uint32_t T12[12];
  sym3_thresholds_flat(m, T12);
  const bool vector = use_avx2();
  const size_t stride = (size_t)f->nx / 4 + 3;
  for (int j = 0; j < f->ny; j++) {
    const int J = j / 2, side = j % 2 ? 1 : -1; /* the vertical neighbour on the child's side */
    const uint64_t g = (uint64_t)(f->y0 + j) * (uint64_t)f->lx + (uint64_t)f->x0;
    uint64_t first;
    segment_words(s, g, f->nx, w->words, stride, &first);
    sym3_row_any(c->data + invrg_lattice_index(c, 0, J), c->data + invrg_lattice_index(c, 0, J + side),
                 c->nx, T12, w->words, stride, f->data + invrg_lattice_index(f, 0, j), vector);
  }
  return true;
}

/* sym3 on a block: the rows when they apply, else site by site from its 12 thresholds. */
static void sym3_step_block(const invrg_model *m, const invrg_lattice *c, invrg_lattice *f,
                            const invrg_rng_stream *s, invrg_dream_work *w) {
  if (sym3_step_block_rows(m, c, f, s, w)) return;
  const size_t stride = (size_t)f->nx / 4 + 3;
  uint32_t T3[2][3][2];
  sym3_thresholds(m, T3);
  for (int j = 0; j < f->ny; j++) {
    int64_t y = f->y0 + j, Y = y >> 1;
    int alpha = (int)(y & 1);
    uint64_t g = (uint64_t)y * (uint64_t)f->lx + (uint64_t)f->x0, first;
    segment_words(s, g, f->nx, w->words, stride, &first);
    int8_t *out = f->data + invrg_lattice_index(f, 0, j);
    for (int i = 0; i < f->nx; i++, g++) {
      int64_t x = f->x0 + i, X = x >> 1;
      /* parent, and the neighbours on the child's side */
      int64_t Yv = Y + (alpha ? 1 : -1), Xh = X + ((x & 1) ? 1 : -1);
      int P = coarse_at(c, X, Y), V = coarse_at(c, X, Yv), H = coarse_at(c, Xh, Y);
      int D = coarse_at(c, Xh, Yv);
      out[i] = draw_spin(w->words, stride, first, g, T3[P > 0][(V + H + 2) >> 1][D > 0]);
    }
  }
}

/* The table path on lattices: a distributed coarse lattice must be the fine block's parent
 * with the window's halo. */
static invrg_err table_step_lattice(const invrg_lattice *coarse, invrg_lattice *fine,
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
  table_step(t, &c, &f, s, w, use_avx2());
cleanup:
  return err;
}

invrg_err invrg_dream_step_lattice(const invrg_model *m, const invrg_lattice *coarse,
                                   invrg_lattice *fine, uint64_t seed, uint64_t sample, int level,
                                   invrg_dream_work *w) {
  invrg_err err = INVRG_SUCCESS;
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, (uint64_t)level);
  const bool whole = fine->mode == INVRG_LATTICE_REPLICATED && coarse->mode == INVRG_LATTICE_REPLICATED;
  INVRG_CHECK(fine->mode == INVRG_LATTICE_DISTRIBUTED || whole, INVRG_ERR_RUNTIME,
              "a whole fine lattice needs a whole coarse one");
  INVRG_CHECK(has_table(m) == (w->table.T != NULL), INVRG_ERR_RUNTIME,
              "the dream work was made for another model than this %s", m->kind);
  if (strcmp(m->kind, "sym3") == 0) {
    if (whole) /* the closed form, in place */
      sym3_step(m, coarse->data + invrg_lattice_index(coarse, 0, 0), (size_t)coarse->sx,
                coarse->nx, &s, fine->data + invrg_lattice_index(fine, 0, 0), (size_t)fine->sx, w);
    else
      sym3_step_block(m, coarse, fine, &s, w);
    goto cleanup;
  }
  if (w->table.T != NULL) {
    INVRG_CALL(table_step_lattice(coarse, fine, &s, w));
    goto cleanup;
  }
  INVRG_CHECK(whole, INVRG_ERR_INPUT,
              "a %s model with kernel %d dreams on one rank per sample in this version "
              "(ranks_per_group = 1)",
              m->kind, m->kernel);
  /* Whole lattices: the logits path on copies of the interiors. */
  const int lc = coarse->nx, L = fine->nx;
  int8_t *c = malloc((size_t)lc * (size_t)lc), *out = malloc((size_t)L * (size_t)L);
  const bool allocated = c != NULL && out != NULL;
  if (allocated) {
    for (int j = 0; j < lc; j++)
      memcpy(c + (size_t)j * (size_t)lc, coarse->data + invrg_lattice_index(coarse, 0, j), (size_t)lc);
    invrg_dream_step(m, c, lc, seed, sample, level, out, w);
    for (int j = 0; j < L; j++)
      memcpy(fine->data + invrg_lattice_index(fine, 0, j), out + (size_t)j * (size_t)L, (size_t)L);
  }
  free(c);
  free(out);
  INVRG_CHECK(allocated, INVRG_ERR_RUNTIME, "out of memory dreaming %d x %d", L, L);
cleanup:
  return err;
}

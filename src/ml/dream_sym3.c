/* Dreaming with sym3 (docs/physics.md §4): its closed form. The fine logit takes 12 values, so a step is
 * 12 thresholds, one lookup per fine site: on whole lattices a row of four sites per Philox
 * block (and its AVX2 twin, eight blocks at a time), on distributed blocks the same rows
 * reading the coarse halo, or site by site when the block is not aligned. Every path draws
 * the same spins from the same words (dream.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ml/dream_internal.h"

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

#if INVRG_SIMD_X86
/*
 * The same row with AVX2, eight blocks (32 fine sites) per iteration: the coarse values at
 * even and odd J are split with a byte shuffle, the 12 thresholds looked up with two 8-entry
 * permutes. The blocks the vectors do not cover are left to sym3_row. Returns the first block
 * not done. Rows are padded by two on each side (16-byte loads).
 */
INVRG_TARGET_AVX2 static int sym3_row_avx2(const int8_t *r, const int8_t *v, int lc,
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

void invrg_dream_sym3_thresholds12(const invrg_model *m, uint32_t T12[12]) {
  sym3_thresholds_flat(m, T12);
}

/* One fine row from padded coarse rows (halos or copies, 2 on each side): vector, then scalar. */
static void sym3_row_any(const int8_t *r, const int8_t *v, int lc, const uint32_t *T12,
                         const uint32_t *words, size_t stride, int8_t *out, bool vector) {
  int b = 0;
#if INVRG_SIMD_X86
  if (vector) b = sym3_row_avx2(r, v, lc, T12, words, stride, out);
#else
  (void)vector;
#endif
  sym3_row(r, v, b, lc, T12, words, stride, out);
}

void invrg_dream_sym3_step(const invrg_model *m, const int8_t *coarse, size_t coarse_stride,
                           int lc, const invrg_rng_stream *s, int8_t *fine, size_t fine_stride,
                           invrg_dream_work *w) {
  uint32_t T[2][3][2], T12[12];
  sym3_thresholds(m, T);
  sym3_thresholds_flat(m, T12);
  const int L = 2 * lc;
  const size_t stride = (size_t)L / 4 + 3;
  int8_t *pad = w->pad; /* two padded coarse rows: [−2, lc + 1] each */
  const bool vector = invrg_dream_use_avx2();
  for (int y = 0; y < L; y++) {
    int I = y / 2, alpha = y % 2;
    const int8_t *row = coarse + (size_t)I * coarse_stride;
    const int8_t *vrow = coarse + (size_t)((I + (alpha ? 1 : -1) + lc) % lc) * coarse_stride;
    uint64_t first;
    invrg_dream_segment_words(s, (uint64_t)y * (uint64_t)L, L, w->words, stride, &first);
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

/* ------------------------------------------------------------------ on blocks */

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
  const bool vector = invrg_dream_use_avx2();
  const size_t stride = (size_t)f->nx / 4 + 3;
  for (int j = 0; j < f->ny; j++) {
    const int J = j / 2, side = j % 2 ? 1 : -1; /* the vertical neighbour on the child's side */
    const uint64_t g = (uint64_t)(f->y0 + j) * (uint64_t)f->lx + (uint64_t)f->x0;
    uint64_t first;
    invrg_dream_segment_words(s, g, f->nx, w->words, stride, &first);
    sym3_row_any(c->data + invrg_lattice_index(c, 0, J), c->data + invrg_lattice_index(c, 0, J + side),
                 c->nx, T12, w->words, stride, f->data + invrg_lattice_index(f, 0, j), vector);
  }
  return true;
}

/* sym3 on a block: the rows when they apply, else site by site from its 12 thresholds. */
void invrg_dream_sym3_step_block(const invrg_model *m, const invrg_lattice *c, invrg_lattice *f,
                                 const invrg_rng_stream *s, invrg_dream_work *w) {
  if (sym3_step_block_rows(m, c, f, s, w)) return;
  const size_t stride = (size_t)f->nx / 4 + 3;
  uint32_t T3[2][3][2];
  sym3_thresholds(m, T3);
  for (int j = 0; j < f->ny; j++) {
    int64_t y = f->y0 + j, Y = y >> 1;
    int alpha = (int)(y & 1);
    uint64_t g = (uint64_t)y * (uint64_t)f->lx + (uint64_t)f->x0, first;
    invrg_dream_segment_words(s, g, f->nx, w->words, stride, &first);
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


/*
 * Packed steps with random bit planes (dream_packed.h, random_bits = 'planes'): 64 fine spins
 * per word, each up iff its uniform 32-bit u < T (its threshold), u drawn one bit plane at a
 * time, most significant first, and only while some spin of the word is undecided (about 8.5
 * random bits a spin instead of 32):
 *     up        |= undecided & T_j & ~r_j     (random 0 against threshold 1: u < T)
 *     undecided &= ~(r_j ^ T_j)               (still equal so far)
 * The 64 spins of a word are the children (a, b) of the coarse sites X = 64i … 64i + 63 of
 * coarse row Y (packed.h: child (a, b) of X is site X of colour (a + b) mod 2 of fine row
 * 2Y + b), so every coarse spin a kernel reads at a fixed offset from the parent is a word of a
 * natural-order coarse row (bit X = site X) shifted by a few sites. This file draws: it makes
 * those rows, fills pieces of words with the kernel's input planes, draws the random planes and
 * settles the half-words still undecided; the kernel (dream_planes.h) decides.
 */
#include <stdlib.h>
#include <string.h>

#include "ml/dream_planes.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

enum {
  PIECE = INVRG_PLANES_PIECE,
  FIRST_PLANES = INVRG_PLANES_FIRST,
  ROUND_PLANES = INVRG_PLANES_ROUND,
  U_BITS = INVRG_PLANES_BITS,
  MAX_MARGIN = 2, /* sym7's window */
  SPAN = 2 * MAX_MARGIN + 1
};

/* Pieces read in place: -1 those of 4 × 4 windows, in up to PIECE words; tests: 0 none, or
 * every kernel's in up to that many words. */
static int in_place_words = -1;

void invrg_planes_in_place(int words) { in_place_words = words; }

/* Whether rows of W words are read in place by kernel @p k, in pieces of up to *words. Only
 * whole 8-word groups (no zero padding to add) and, by default, only the 16 input planes of a
 * 4 × 4 window: a piece of one row does a row's worth of per-piece work (the Philox calls of
 * the waiting half-words, each a chain of 10 rounds however few blocks) instead of PIECE
 * words', which costs more than copying sym3's 4 planes (20 % slower read in place at 4096²)
 * or sym5's 9 (a few %); sym7's 16 gain 5–7 % (4096², Zen 4). Pieces of several rows read in
 * place, their waiting half-words' inputs copied to be settled together, were slower still. */
static bool read_in_place(const invrg_planes_kernel *k, int64_t W, int *words) {
  *words = in_place_words < 0 ? PIECE : in_place_words;
  return W % 8 == 0 && in_place_words != 0 &&
         (in_place_words > 0 || k->inputs == INVRG_PLANES_INPUTS);
}

/* ------------------------------------------------------------------ shifted rows */

/* out[X] = R[X − 1] (@p dir = −1) or R[X + 1] (+1), periodic in n sites; padding stays 0. */
static void shift_row(const uint64_t *R, int64_t n, int dir, uint64_t *out) {
  const int64_t W = (n + 63) / 64;
  const uint64_t first = R[0] & 1, last = R[(n - 1) >> 6] >> ((n - 1) & 63) & 1;
  if (dir < 0) {
    for (int64_t m = W - 1; m > 0; m--) out[m] = R[m] << 1 | R[m - 1] >> 63;
    out[0] = R[0] << 1 | last;
    if (n & 63) out[W - 1] &= (UINT64_C(1) << (n & 63)) - 1; /* site n − 1 moved past the end */
  } else {
    for (int64_t m = 0; m + 1 < W; m++) out[m] = R[m] >> 1 | R[m + 1] << 63;
    out[W - 1] = R[W - 1] >> 1 | first << ((n - 1) & 63);
  }
}

/* ------------------------------------------------------------------ the work */

/* The coarse rows Y − M … Y + M in natural order, each shifted by −M … M sites, in a ring
 * (moving on by a row reuses the storage of the row that leaves):
 * row[ring(r)][s][X] = coarse spin (X + s − M, Y + r − M). */
typedef struct {
  int64_t Y; /* the centre row (INT64_MIN: none yet) */
  int M;
  int first; /* the ring's slot of r = 0 */
  uint64_t *row[SPAN][SPAN];
} coarse_rows;

/* The slot of row r (0 ≤ r ≤ 2M). */
static inline int ring(const coarse_rows *cr, int r) {
  const int slot = cr->first + r, span = 2 * cr->M + 1;
  return slot < span ? slot : slot - span;
}

struct invrg_dream_planes_work {
  invrg_planes_piece pc[2];       /* one per colour: both fill from the same coarse rows */
  uint32_t rnd[2][4][2 * PIECE];  /* draws 0, 1 of the piece's half-words */
  uint32_t up[2 * PIECE], und[2 * PIECE];
  uint32_t *row_valid;            /* valid sites of a fine colour row: 2 × words half-words */
  /* Philox sites of the half-words still undecided, and their index in the piece (+ 16: room
   * for a whole vector stored at the end of the list) */
  uint64_t wait_site[2 * PIECE + 16];
  int wait_half[2 * PIECE + 16];
  uint32_t extra[4][2 * PIECE];   /* one round's block of each waiting half-word */
  uint64_t *rows;                 /* the coarse rows' storage: (2M + 1)² × words */
  coarse_rows cr;
  /* Where input q of child ab is in the coarse rows, src[ab][q]: one table for each place of
   * the ring's first slot (the rows' storage never moves), made for the kernel whose offsets
   * are kept here. */
  const uint64_t *src_table[SPAN][4][INVRG_PLANES_INPUTS];
  const uint64_t *(*src)[INVRG_PLANES_INPUTS]; /* src_table[cr.first] */
  int8_t src_offset[4][INVRG_PLANES_INPUTS][2];
  int src_inputs; /* 0: no table yet */
  /* Coarse rows of one word (the small levels), all that a rank's fine rows read:
   * small_rows[s][r] = coarse row Ya − M + r shifted by s − M sites (Ya: the first one's parent) */
  uint64_t small_rows[SPAN][PIECE / 2 + SPAN];
  uint64_t small_natural[64]; /* a whole coarse lattice of one-word rows, in natural order */
};

invrg_err invrg_dream_planes_work_create(int64_t max_lc, int margin,
                                         invrg_dream_planes_work **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_dream_planes_work *w = calloc(1, sizeof *w);
  INVRG_CHECK_ALLOC(w);
  INVRG_CHECK(margin >= 0 && margin <= MAX_MARGIN, INVRG_ERR_RUNTIME,
              "random bit planes: a window margin of %d is beyond %d", margin, MAX_MARGIN);
  const size_t W = (size_t)((max_lc + 63) / 64), span = 2 * (size_t)margin + 1;
  w->rows = calloc(span * span * W, sizeof *w->rows);
  w->row_valid = calloc(2 * W, sizeof *w->row_valid);
  INVRG_CHECK_ALLOC(w->rows);
  INVRG_CHECK_ALLOC(w->row_valid);
  w->cr.M = margin;
  for (size_t r = 0; r < span; r++)
    for (size_t s = 0; s < span; s++) w->cr.row[r][s] = w->rows + (r * span + s) * W;
cleanup:
  if (err != INVRG_SUCCESS) invrg_dream_planes_work_destroy(&w);
  *out = w;
  return err;
}

void invrg_dream_planes_work_destroy(invrg_dream_planes_work **wp) {
  if (wp == NULL || *wp == NULL) return;
  free((*wp)->rows);
  free((*wp)->row_valid);
  free(*wp);
  *wp = NULL;
}

void invrg_planes_kernel_destroy(invrg_planes_kernel *k) {
  if (k == NULL) return;
  free(k->data);
  k->data = NULL;
}

/* ------------------------------------------------------------------ the half-words left */

/* The waiting half-words, four planes a round until every site is decided (or u = T). */
static void settle_waiting(invrg_dream_planes_work *w, const invrg_planes_kernel *k,
                           const invrg_planes_piece *pc, int waiting, const invrg_rng_stream *s,
                           invrg_simd_level level) {
  for (int j0 = FIRST_PLANES; waiting > 0 && j0 < U_BITS; j0 += ROUND_PLANES) {
    invrg_rng_blocks_at(s, level, 0, w->wait_site, waiting, (uint32_t)(j0 / ROUND_PLANES),
                        &w->extra[0][0], 2 * PIECE, waiting);
    k->more(k, pc, w->wait_half, waiting, j0, (const uint32_t(*)[2 * PIECE])w->extra, w->up,
            w->und);
    int kept = 0;
    for (int q = 0; q < waiting; q++)
      if (w->und[w->wait_half[q]] != 0) { /* still waiting: on to the next round */
        w->wait_site[kept] = w->wait_site[q];
        w->wait_half[kept++] = w->wait_half[q];
      }
    waiting = kept;
  }
}

/* ------------------------------------------------------------------ coarse rows */

/* Coarse global row Y (any integer) in natural order (bit X = site X, 1 = spin −1). */
static void natural_row(const invrg_dream_coarse *c, int64_t Y, uint64_t *out) {
  if (c->packed == NULL) { /* the 1 x 1 seed */
    out[0] = c->spin < 0;
    return;
  }
  int64_t gy = Y; /* periodic: rows −1 and lc without a division (small levels fetch often) */
  if (gy == -1)
    gy = c->lc - 1;
  else if (gy == c->lc)
    gy = 0;
  else if (gy < 0 || gy > c->lc)
    gy = ((gy % c->lc) + c->lc) % c->lc;
  invrg_packed_natural_row(c->packed, (int)(c->whole ? gy : Y - c->packed->y0), out);
}

/* Row @p r of @p cr: coarse row Y + r − M and its shifts, outwards from the unshifted one. */
static void make_row(coarse_rows *cr, const invrg_dream_coarse *c, int64_t Y, int r) {
  const int M = cr->M;
  uint64_t **sh = cr->row[ring(cr, r)];
  natural_row(c, Y + r - M, sh[M]);
  for (int s = 1; s <= M; s++) {
    shift_row(sh[M - s + 1], c->lc, -1, sh[M - s]);
    shift_row(sh[M + s - 1], c->lc, +1, sh[M + s]);
  }
}

/* The rows around coarse row Y and their shifts, moved on by one row when Y follows; false if
 * they were there already. */
static bool coarse_rows_at(coarse_rows *cr, const invrg_dream_coarse *c, int64_t Y) {
  if (cr->Y == Y) return false;
  const int span = 2 * cr->M + 1;
  int from = 0;
  if (cr->Y == Y - 1) { /* rows Y − M … Y + M − 1 are there already: the ring moves on */
    cr->first = ring(cr, 1);
    from = span - 1;
  }
  for (int r = from; r < span; r++) make_row(cr, c, Y, r);
  cr->Y = Y;
  return true;
}

/* The tables of src for kernel @p k (at the start of a step; made again only for another
 * kernel's offsets). */
static void sources_for(invrg_dream_planes_work *w, const invrg_planes_kernel *k) {
  if (w->src_inputs == k->inputs && memcmp(w->src_offset, k->offset, sizeof k->offset) == 0)
    return;
  coarse_rows *cr = &w->cr;
  const int M = cr->M, first = cr->first;
  for (cr->first = 0; cr->first <= 2 * M; cr->first++)
    for (int ab = 0; ab < 4; ab++)
      for (int q = 0; q < k->inputs; q++)
        w->src_table[cr->first][ab][q] =
            cr->row[ring(cr, M + k->offset[ab][q][0])][M + k->offset[ab][q][1]];
  cr->first = first;
  memcpy(w->src_offset, k->offset, sizeof k->offset);
  w->src_inputs = k->inputs;
}

/* ------------------------------------------------------------------ pieces */

/* The half-words t < @p n with undecided sites listed at wait_half (t) and wait_site
 * (@p site0 + t), in order; their number. */
static int list_waiting(invrg_dream_planes_work *w, int n, uint64_t site0) {
  int waiting = 0;
  for (int t = 0; t < n; t++) { /* listed without a branch: one in eight waits, at random */
    w->wait_site[waiting] = site0 + (uint64_t)t;
    w->wait_half[waiting] = t;
    waiting += w->und[t] != 0;
  }
  return waiting;
}

#if INVRG_SIMD_X86
/* list_waiting() 16 half-words a vector: the undecided lanes compressed. */
INVRG_TARGET_AVX512 static int list_waiting_avx512(invrg_dream_planes_work *w, int n,
                                                   uint64_t site0) {
  int waiting = 0;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i base = _mm512_set1_epi64((long long)site0);
  for (int t = 0; t < n; t += 16) {
    const __mmask16 in = (__mmask16)(n - t >= 16 ? 0xffffu : (1u << (n - t)) - 1);
    const __m512i u = _mm512_maskz_loadu_epi32(in, w->und + t);
    const __mmask16 m = _mm512_test_epi32_mask(u, u);
    if (m == 0) continue;
    const __m512i half = _mm512_add_epi32(_mm512_set1_epi32(t), lane);
    const __m512i lo = _mm512_add_epi64(base, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(half)));
    const __m512i hi =
        _mm512_add_epi64(base, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(half, 1)));
    _mm512_storeu_si512(w->wait_half + waiting, _mm512_maskz_compress_epi32(m, half));
    _mm512_storeu_si512(w->wait_site + waiting, _mm512_maskz_compress_epi64((__mmask8)m, lo));
    const int n_lo = __builtin_popcount(m & 0xffu);
    _mm512_storeu_si512(w->wait_site + waiting + n_lo,
                        _mm512_maskz_compress_epi64((__mmask8)(m >> 8), hi));
    waiting += __builtin_popcount(m);
  }
  return waiting;
}
#endif

/* The words of piece @p pc: the first planes of all, the further planes of the half-words
 * still undecided, the spins stored at @p out (words [0, split)) and @p rest (the others); its
 * first word has Philox word number @p word0. Then the piece is empty. */
static void piece_draw_split(invrg_dream_planes_work *w, const invrg_planes_kernel *k,
                             invrg_planes_piece *pc, const invrg_rng_stream *s, uint64_t word0,
                             uint64_t *out, int split, uint64_t *rest, invrg_simd_level level) {
  const uint64_t site0 = 2 * word0;
  const int halves = 2 * pc->n, padded = (halves + 15) & ~15;
  for (int d = 0; d < 2; d++)
    invrg_rng_blocks_at(s, level, site0, NULL, halves, (uint32_t)d, &w->rnd[d][0][0], 2 * PIECE,
                        halves);
  if (padded > halves) { /* only copied pieces: one read in place is a multiple of 8 words */
    for (int i = 0; i < k->inputs; i++)
      memset(pc->in_store[i] + halves, 0, (size_t)(padded - halves) * sizeof *pc->in_store[i]);
    memset(pc->valid_store + halves, 0, (size_t)(padded - halves) * sizeof *pc->valid_store);
  }
  k->first(k, pc, halves, (invrg_planes_rnd)w->rnd, w->up, w->und, level);
#if INVRG_SIMD_X86
  const int waiting = level == INVRG_SIMD_AVX512 ? list_waiting_avx512(w, halves, site0)
                                                 : list_waiting(w, halves, site0);
#else
  const int waiting = list_waiting(w, halves, site0);
#endif
  settle_waiting(w, k, pc, waiting, s, level);
  for (int t = 0; t < halves; t++) w->up[t] = pc->valid[t] & ~w->up[t]; /* bit 1 = spin −1 */
  memcpy(out, w->up, (size_t)split * sizeof *out);
  if (rest != NULL && split < pc->n)
    memcpy(rest, w->up + 2 * split, (size_t)(pc->n - split) * sizeof *rest);
  pc->n = 0;
}

/* The same with all its words at @p out. */
static void piece_draw(invrg_dream_planes_work *w, const invrg_planes_kernel *k,
                       invrg_planes_piece *pc, const invrg_rng_stream *s, uint64_t word0,
                       uint64_t *out, invrg_simd_level level) {
  piece_draw_split(w, k, pc, s, word0, out, pc->n, NULL, level);
}

/* The piece's inputs and valid sites in its own storage (a piece filled by copies). */
static void piece_use_store(invrg_planes_piece *pc) {
  for (int q = 0; q < INVRG_PLANES_INPUTS; q++) pc->in[q] = pc->in_store[q];
  pc->valid = pc->valid_store;
}

/* Which words [at, at + n) of the piece are: words [i0, i0 + n) of local fine row j, child ab. */
static void piece_place(invrg_planes_piece *pc, const invrg_packed *fine, int j, int ab, int at,
                        int64_t i0, int n) {
  memset(pc->child + at, ab, (size_t)n);
  for (int q = 0; q < n; q++) {
    pc->parent_row[at + q] = (int32_t)((fine->y0 + j) >> 1);
    pc->row_word[at + q] = (int32_t)(i0 + q);
  }
}

/* Words [i0, i0 + n) of local fine row j of colour col appended to its piece: the kernel's
 * input words of child (α, β) = (b, col xor b), b the row's parity, and the valid sites. */
static void piece_fill(invrg_dream_planes_work *w, const invrg_planes_kernel *k,
                       const invrg_packed *fine, int col, int j, int64_t i0, int n) {
  invrg_planes_piece *pc = &w->pc[col];
  const int b = (int)((fine->y0 + j) & 1), ab = 2 * b + (col ^ b);
  const int inputs = k->inputs, at = pc->n;
  const uint64_t *const *src = w->src[ab];
  if (at == 0) piece_use_store(pc);
  if (n == 1) /* short rows (small levels): one word each, no library call */
    for (int q = 0; q < inputs; q++) memcpy(pc->in_store[q] + 2 * at, src[q] + i0, 8);
  else
    for (int q = 0; q < inputs; q++)
      memcpy(pc->in_store[q] + 2 * at, src[q] + i0, (size_t)n * 8);
  memcpy(pc->valid_store + 2 * at, w->row_valid + 2 * i0, 2 * (size_t)n * sizeof *pc->valid);
  piece_place(pc, fine, j, ab, at, i0, n);
  pc->n = at + n;
}

/* Words [i0, i0 + n) of local fine row j of colour col as a piece of their own, read where they
 * are (n a multiple of 8, so the kernel needs no zero padding): the copies of piece_fill() cost
 * 5–7 % of a big step of a 4 × 4 window. The same words, bits and Philox numbers. */
static void piece_in_place(invrg_dream_planes_work *w, const invrg_planes_kernel *k,
                           const invrg_packed *fine, int col, int j, int64_t i0, int n) {
  invrg_planes_piece *pc = &w->pc[col];
  const int b = (int)((fine->y0 + j) & 1), ab = 2 * b + (col ^ b);
  for (int q = 0; q < k->inputs; q++)
    pc->in[q] = (const invrg_planes_half *)(w->src[ab][q] + i0);
  pc->valid = w->row_valid + 2 * i0;
  piece_place(pc, fine, j, ab, 0, i0, n);
  pc->n = n;
}

/* Fine colour rows of one word (the small levels of a dream): the coarse rows they read are
 * made once (small_rows), and each input plane is filled along the rows, one array at a time
 * (the same words as piece_fill(); not row by row across the input arrays, whose stores, 2 KiB
 * apart, contend for the same few cache sets). A colour's rows are one piece; with @p one_piece,
 * both colours' rows are one piece, colour 1's after colour 0's (their Philox word numbers
 * follow each other when the lattice is whole on this rank). */
static void one_word_rows(invrg_dream_planes_work *w, const invrg_planes_kernel *k,
                          const invrg_dream_coarse *c, const invrg_packed *fine, bool one_piece) {
  const int inputs = k->inputs, ny = fine->ny, M = w->cr.M;
  const int64_t Ya = fine->y0 >> 1, n_rows = ((fine->y0 + ny - 1) >> 1) - Ya + 1 + 2 * M;
  const int64_t lc = c->lc;
  if (c->packed != NULL && c->whole) { /* all lc rows at once, then rows Ya − M … periodically */
    invrg_packed_natural_rows(c->packed, 0, (int)lc, w->small_natural);
    for (int64_t r = 0, Y = ((Ya - M) % lc + lc) % lc; r < n_rows; r++, Y = Y + 1 == lc ? 0 : Y + 1)
      w->small_rows[M][r] = w->small_natural[Y];
  } else {
    for (int r = 0; r < n_rows; r++) natural_row(c, Ya - M + r, &w->small_rows[M][r]);
  }
  /* the shifts, outwards from the unshifted rows: rotations within the row's lc bits */
  const uint64_t all = lc == 64 ? ~UINT64_C(0) : (UINT64_C(1) << lc) - 1;
  const int top = (int)(lc - 1);
  for (int sh = 1; sh <= M; sh++) {
    const uint64_t *in_l = w->small_rows[M - sh + 1], *in_r = w->small_rows[M + sh - 1];
    uint64_t *out_l = w->small_rows[M - sh], *out_r = w->small_rows[M + sh];
    for (int r = 0; r < n_rows; r++) { /* as shift_row(): X ← X − 1 and X ← X + 1 */
      out_l[r] = (in_l[r] << 1 | (in_l[r] >> top & 1)) & all;
      out_r[r] = in_r[r] >> 1 | (in_r[r] & 1) << top;
    }
  }
  const uint32_t valid0 = w->row_valid[0], valid1 = w->row_valid[1];
  for (int col = 0; col < 2; col++) {
    invrg_planes_piece *pc = &w->pc[one_piece ? 0 : col];
    const int i0 = one_piece ? col * ny : 0;
    piece_use_store(pc);
    for (int q = 0; q < inputs; q++) {
      const uint64_t *from[2]; /* input q of fine rows of parity b: from[b][Y − Ya] */
      for (int b = 0; b < 2; b++) {
        const int8_t *o = k->offset[2 * b + (col ^ b)][q];
        from[b] = &w->small_rows[M + o[1]][M + o[0]];
      }
      /* row j = y − y0 reads from[y & 1][(y >> 1) − Ya]: with p the parity of y0, the even
       * j read from[p][j / 2], the odd ones from[1 − p][j / 2 + p] */
      const int p = (int)(fine->y0 & 1);
      const uint64_t *even = from[p], *odd = from[1 - p] + p;
      uint32_t *in = pc->in_store[q] + 2 * i0;
      for (int j = 0; j < ny; j += 2) memcpy(in + 2 * j, &even[j >> 1], 8);
      for (int j = 1; j < ny; j += 2) memcpy(in + 2 * j, &odd[j >> 1], 8);
    }
    for (int j = 0; j < ny; j++) {
      const int b = (int)((fine->y0 + j) & 1);
      pc->valid_store[2 * (i0 + j)] = valid0, pc->valid_store[2 * (i0 + j) + 1] = valid1;
      pc->child[i0 + j] = (uint8_t)(2 * b + (col ^ b));
      pc->parent_row[i0 + j] = (int32_t)((fine->y0 + j) >> 1), pc->row_word[i0 + j] = 0;
    }
  }
  if (one_piece)
    w->pc[0].n = 2 * ny;
  else
    w->pc[0].n = w->pc[1].n = ny;
}

/* Valid sites of a fine colour row: the lc sites, not the padding of its last word. */
static void row_valid_init(uint32_t *valid, int64_t lc, int64_t W) {
  for (int64_t h = 0; h < 2 * W; h++) {
    const int64_t first = 32 * h;
    valid[h] = first >= lc ? 0 : lc - first >= 32 ? ~0u : (1u << (lc - first)) - 1;
  }
}

void invrg_dream_planes_step(invrg_dream_planes_work *w, const invrg_rng_stream *s,
                             const invrg_planes_kernel *k, const invrg_dream_coarse *c,
                             invrg_packed *fine) {
  const invrg_simd_level level = invrg_simd_active();
  const int64_t W = fine->words;
  row_valid_init(w->row_valid, c->lc, W);
  sources_for(w, k);
  w->cr.Y = INT64_MIN;
  /* Colour col's words of this rank are consecutive in memory and in Philox word numbers:
   * each colour fills its own piece, both from the coarse rows of the fine row at hand. */
  uint64_t word_base[2], *out[2];
  for (int col = 0; col < 2; col++) {
    word_base[col] = ((uint64_t)col * (uint64_t)fine->ly + (uint64_t)fine->y0) * (uint64_t)W;
    out[col] = invrg_packed_row(fine, col, 0);
    w->pc[col].n = 0, w->pc[col].f0 = 0;
    w->pc[col].lc = c->lc, w->pc[col].row_words = W;
  }
  if (W == 1 && fine->ny <= PIECE) {
    const bool one_piece =
        2 * fine->ny <= PIECE && word_base[1] == word_base[0] + (uint64_t)fine->ny;
    one_word_rows(w, k, c, fine, one_piece);
    if (one_piece)
      piece_draw_split(w, k, &w->pc[0], s, word_base[0], out[0], fine->ny, out[1], level);
    else
      for (int col = 0; col < 2; col++)
        piece_draw(w, k, &w->pc[col], s, word_base[col], out[col], level);
    return;
  }
  int place_words;
  const bool in_place = read_in_place(k, W, &place_words);
  for (int j = 0; j < fine->ny; j++) {
    if (coarse_rows_at(&w->cr, c, (fine->y0 + j) >> 1)) w->src = w->src_table[w->cr.first];
    if (in_place) {
      for (int col = 0; col < 2; col++)
        for (int64_t i0 = 0; i0 < W; i0 += place_words) {
          const int n = (int)(W - i0 < place_words ? W - i0 : place_words);
          const int64_t f0 = (int64_t)j * W + i0;
          piece_in_place(w, k, fine, col, j, i0, n);
          piece_draw(w, k, &w->pc[col], s, word_base[col] + (uint64_t)f0, out[col] + f0, level);
        }
      continue;
    }
    for (int col = 0; col < 2; col++)
      for (int64_t i0 = 0; i0 < W;) {
        invrg_planes_piece *pc = &w->pc[col];
        const int n = (int)(W - i0 < PIECE - pc->n ? W - i0 : PIECE - pc->n);
        piece_fill(w, k, fine, col, j, i0, n);
        i0 += n;
        if (pc->n == PIECE || (j == fine->ny - 1 && i0 == W)) { /* full, or the last */
          const int64_t f0 = pc->f0, filled = pc->n;
          piece_draw(w, k, pc, s, word_base[col] + (uint64_t)f0, out[col] + f0, level);
          pc->f0 = f0 + filled;
        }
      }
  }
}

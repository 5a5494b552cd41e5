/*
 * Packed sym3 steps with random bit planes (dream_packed.h, random_bits = 'planes'): 64 fine
 * spins per word, each up iff its uniform 32-bit u < T (sym3's 12 thresholds, dream.h), u drawn
 * one bit plane at a time, most significant first, and only while some spin of the word is
 * undecided (about 8.5 random bits a spin instead of 32):
 *     up        |= undecided & T_j & ~r_j     (random 0 against threshold 1: u < T)
 *     undecided &= ~(r_j ^ T_j)               (still equal so far)
 * The 64 spins of a word are the children (a, b) of the coarse sites X = 64i … 64i + 63 of
 * coarse row Y (packed.h: child (a, b) of X is site X of colour (a + b) mod 2 of fine row
 * 2Y + b), so the coarse neighbours come from natural-order coarse rows (bit X = site X) and
 * their shifts by one site, and the 12 classes of sym3 are bit masks.
 */
#include <stdlib.h>
#include <string.h>

#include "invrg/simd.h"
#include "ml/dream_internal.h"
#include "ml/dream_planes.h"

enum {
  PIECE = 256,      /* words of a fine colour row handled together */
  FIRST_PLANES = 8, /* drawn for every word: draws 0 and 1 of both halves */
  ROUND_PLANES = 4, /* a half-word still undecided draws one more block: four planes */
  U_BITS = 32,      /* u and T are 32-bit */
  CLASSES = 12      /* sym3: parent up (2) × up neighbours V + H (3) × diagonal up (2) */
};

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

/* ------------------------------------------------------------------ thresholds */

void invrg_dream_planes_thresholds(const uint32_t T12[12], uint32_t bits[32][12]) {
  for (int j = 0; j < U_BITS; j++)
    for (int k = 0; k < CLASSES; k++) bits[j][k] = 0u - (T12[k] >> (31 - j) & 1);
}

/* ------------------------------------------------------------------ the kernel */

/*
 * The kernel works on half-words: the 32 sites 32h … 32h + 31 of word i are half-word 2i + h,
 * bits 0 … 31 of the little-endian uint32 at index 2i + h of the row read as uint32, which is
 * also where the Philox blocks of site 2w + h land (word k of block t at rnd[d][k][t]): plane
 * j of half-word t is rnd[j / 4][j % 4][t], with no shuffling. Vectors of 16 half-words (GCC and
 * Clang vector extensions) compile to one AVX-512 register, two AVX2 or four SSE2 ones.
 */
typedef uint32_t vec16 __attribute__((vector_size(64)));

/* The 12 class masks from the parent, vertical, horizontal and diagonal neighbour bits (1 =
 * spin −1), at sym3's threshold index P·6 + n·2 + d (dream_sym3.c). Scalars or vectors. */
#define CLASS_MASKS(T, p_dn, v_dn, h_dn, d_dn, cls)                                             \
  do {                                                                                         \
    const T v_ = ~(v_dn), h_ = ~(h_dn);                                                        \
    const T P_[2] = {(p_dn), ~(p_dn)}, D_[2] = {(d_dn), ~(d_dn)};                              \
    const T N_[3] = {~v_ & ~h_, v_ ^ h_, v_ & h_}; /* up among V and H: 0, 1, 2 */             \
    for (int p_ = 0; p_ < 2; p_++)                                                             \
      for (int n_ = 0; n_ < 3; n_++)                                                           \
        for (int d_ = 0; d_ < 2; d_++) (cls)[p_ * 6 + n_ * 2 + d_] = P_[p_] & N_[n_] & D_[d_]; \
  } while (0)

/* Planes j0 … j0 + count − 1 of one half-word: the bit-serial comparison. */
#define COMPARE_PLANES(T, cls, tbits, j0, count, plane_of, a, u)                                \
  for (int j_ = 0; j_ < (count); j_++) {                                                       \
    const T r_ = plane_of(j_);                                                                 \
    T tb_ = (a) ^ (a);                                                                         \
    for (int k_ = 0; k_ < CLASSES; k_++) tb_ |= (cls)[k_] & (tbits)[(j0) + j_][k_];            \
    (a) |= (u) & tb_ & ~r_;                                                                    \
    (u) &= ~(r_ ^ tb_);                                                                        \
  }


/* The first planes of n half-words (n a multiple of 16): up and undecided sites. */
static inline __attribute__((always_inline)) void first_planes_body(
    int n, const uint32_t (*restrict in)[2 * PIECE], const uint32_t *restrict valid,
    const uint32_t (*restrict rnd)[4][2 * PIECE], const uint32_t (*restrict tbits)[CLASSES],
    uint32_t *restrict up, uint32_t *restrict und) {
  for (int t = 0; t < n; t += 16) {
    vec16 cls[CLASSES], nb[4], r[FIRST_PLANES], u, a;
    memcpy(&u, valid + t, sizeof u); /* memcpy: unaligned loads, no ABI questions */
    for (int k = 0; k < 4; k++) memcpy(&nb[k], in[k] + t, sizeof nb[k]);
    for (int j = 0; j < FIRST_PLANES; j++) memcpy(&r[j], rnd[j / 4][j % 4] + t, sizeof r[j]);
    a = u ^ u;
    CLASS_MASKS(vec16, nb[0], nb[1], nb[2], nb[3], cls);
#define PLANE(j) r[j]
    COMPARE_PLANES(vec16, cls, tbits, 0, FIRST_PLANES, PLANE, a, u)
#undef PLANE
    memcpy(up + t, &a, sizeof a);
    memcpy(und + t, &u, sizeof u);
  }
}

#define FIRST_PLANES_ARGS                                                                      \
  int n, const uint32_t (*in)[2 * PIECE], const uint32_t *valid,                               \
      const uint32_t (*rnd)[4][2 * PIECE], const uint32_t (*tbits)[CLASSES], uint32_t *up,      \
      uint32_t *und
#define FIRST_PLANES_CALL first_planes_body(n, in, valid, rnd, tbits, up, und)

static void first_planes_generic(FIRST_PLANES_ARGS) { FIRST_PLANES_CALL; }
#if INVRG_SIMD_X86
INVRG_TARGET_AVX2 static void first_planes_avx2(FIRST_PLANES_ARGS) { FIRST_PLANES_CALL; }
INVRG_TARGET_AVX512 static void first_planes_avx512(FIRST_PLANES_ARGS) { FIRST_PLANES_CALL; }
#endif

static void first_planes(invrg_simd_level level, FIRST_PLANES_ARGS) {
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512) {
    first_planes_avx512(n, in, valid, rnd, tbits, up, und);
    return;
  }
  if (level == INVRG_SIMD_AVX2) {
    first_planes_avx2(n, in, valid, rnd, tbits, up, und);
    return;
  }
#endif
  (void)level;
  first_planes_generic(n, in, valid, rnd, tbits, up, und);
}

/* ------------------------------------------------------------------ a fine colour row */

/* The coarse rows a fine row reads, in natural order: parent row, vertical neighbour row on
 * the child's side, and both shifted by one site towards the child. */
typedef struct {
  int64_t Y;        /* coarse row they belong to (INT64_MIN: none yet) */
  uint64_t *nat[3]; /* rows Y − 1, Y, Y + 1 */
  uint64_t *left[3], *right[3];
} coarse_rows;

/* A piece of one colour's words on its way: filled row by row, then drawn. */
typedef struct {
  uint32_t in[4][2 * PIECE];      /* parent, vertical, horizontal, diagonal half-words */
  uint32_t valid[2 * PIECE];      /* the sites of the row (not its padding) */
  int n;                          /* words filled */
  int64_t f0;                     /* the colour's flat word index of the first */
} piece;

struct invrg_dream_planes_work {
  piece pc[2];                    /* one per colour: both fill from the same coarse rows */
  uint32_t rnd[2][4][2 * PIECE];  /* draws 0, 1 of the piece's half-words */
  uint32_t up[2 * PIECE], und[2 * PIECE];
  uint32_t *row_valid;            /* valid sites of a fine colour row: 2 × words half-words */
  uint64_t wait_site[2 * PIECE];  /* Philox sites of the half-words still undecided */
  int wait_half[2 * PIECE];       /* and their index in the piece */
  uint32_t extra[4][2 * PIECE];   /* one round's block of each waiting half-word */
  uint64_t *rows;                 /* the coarse rows' storage: 9 × words */
  coarse_rows cr;
  uint32_t T12[CLASSES];          /* the thresholds of tbits (made once, not every step) */
  uint32_t tbits[U_BITS][CLASSES];
  bool have_tbits;
};

invrg_err invrg_dream_planes_work_create(int64_t max_lc, invrg_dream_planes_work **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_dream_planes_work *w = calloc(1, sizeof *w);
  INVRG_CHECK_ALLOC(w);
  const size_t W = (size_t)((max_lc + 63) / 64);
  w->rows = calloc(9 * W, sizeof *w->rows);
  w->row_valid = calloc(2 * W, sizeof *w->row_valid);
  INVRG_CHECK_ALLOC(w->rows);
  INVRG_CHECK_ALLOC(w->row_valid);
  for (int r = 0; r < 3; r++) {
    w->cr.nat[r] = w->rows + (size_t)r * W;
    w->cr.left[r] = w->rows + (size_t)(3 + r) * W;
    w->cr.right[r] = w->rows + (size_t)(6 + r) * W;
  }
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

/* The waiting half-words, four planes a round until every site is decided (or u = T). */
static void settle_waiting(invrg_dream_planes_work *w, const piece *pc, int waiting,
                           const invrg_rng_stream *s, const uint32_t (*tbits)[CLASSES],
                           invrg_simd_level level) {
  for (int j0 = FIRST_PLANES; waiting > 0 && j0 < U_BITS; j0 += ROUND_PLANES) {
    invrg_rng_blocks_at(s, level, 0, w->wait_site, waiting, (uint32_t)(j0 / ROUND_PLANES),
                        &w->extra[0][0], 2 * PIECE, waiting);
    int kept = 0;
    for (int q = 0; q < waiting; q++) {
      const int t = w->wait_half[q];
      uint32_t cls[CLASSES], a = w->up[t], u = w->und[t];
      CLASS_MASKS(uint32_t, pc->in[0][t], pc->in[1][t], pc->in[2][t], pc->in[3][t], cls);
#define PLANE(j) w->extra[j][q]
      COMPARE_PLANES(uint32_t, cls, tbits, j0, ROUND_PLANES, PLANE, a, u)
#undef PLANE
      w->up[t] = a;
      w->und[t] = u;
      if (u != 0) { /* still waiting: on to the next round */
        w->wait_site[kept] = w->wait_site[q];
        w->wait_half[kept++] = t;
      }
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

/* The rows around coarse row Y and their shifts, moved on by one row when Y follows. */
static void coarse_rows_at(coarse_rows *cr, const invrg_dream_coarse *c, int64_t Y) {
  if (cr->Y == Y) return;
  int first = 0;
  if (cr->Y == Y - 1) { /* rows Y − 1 and Y are there already: rotate them down */
    uint64_t *n0 = cr->nat[0], *l0 = cr->left[0], *r0 = cr->right[0];
    for (int r = 0; r < 2; r++) {
      cr->nat[r] = cr->nat[r + 1], cr->left[r] = cr->left[r + 1];
      cr->right[r] = cr->right[r + 1];
    }
    cr->nat[2] = n0, cr->left[2] = l0, cr->right[2] = r0;
    first = 2;
  }
  for (int r = first; r < 3; r++) {
    natural_row(c, Y - 1 + r, cr->nat[r]);
    shift_row(cr->nat[r], c->lc, -1, cr->left[r]);
    shift_row(cr->nat[r], c->lc, +1, cr->right[r]);
  }
  cr->Y = Y;
}

/* ------------------------------------------------------------------ pieces */

/* The words of piece @p pc: the first planes of all, the further planes of the half-words
 * still undecided, the spins stored at @p out; its first word has Philox word number
 * @p word0. Then the piece is empty. */
static void piece_draw(invrg_dream_planes_work *w, piece *pc, const invrg_rng_stream *s,
                       const uint32_t (*tbits)[CLASSES], uint64_t word0, uint64_t *out,
                       invrg_simd_level level) {
  const uint64_t site0 = 2 * word0;
  const int halves = 2 * pc->n, padded = (halves + 15) & ~15;
  for (int d = 0; d < 2; d++)
    invrg_rng_blocks_at(s, level, site0, NULL, halves, (uint32_t)d, &w->rnd[d][0][0], 2 * PIECE,
                        halves);
  for (int k = 0; k < 4; k++)
    memset(pc->in[k] + halves, 0, (size_t)(padded - halves) * sizeof *pc->in[k]);
  memset(pc->valid + halves, 0, (size_t)(padded - halves) * sizeof *pc->valid);
  first_planes(level, padded, (const uint32_t(*)[2 * PIECE])pc->in, pc->valid,
               (const uint32_t(*)[4][2 * PIECE])w->rnd, tbits, w->up, w->und);
  int waiting = 0;
  for (int t = 0; t < halves; t++) { /* listed without a branch: one in eight waits, at random */
    w->wait_site[waiting] = site0 + (uint64_t)t;
    w->wait_half[waiting] = t;
    waiting += w->und[t] != 0;
  }
  settle_waiting(w, pc, waiting, s, tbits, level);
  for (int t = 0; t < halves; t++) w->up[t] = pc->valid[t] & ~w->up[t]; /* bit 1 = spin −1 */
  memcpy(out, w->up, (size_t)pc->n * sizeof *out);
  pc->n = 0;
}

/* Words [i0, i0 + n) of local fine row j of colour col appended to its piece: the coarse
 * neighbour words of child (a, b) = (col xor b, b), b the row's parity, and the valid sites. */
static void piece_fill(invrg_dream_planes_work *w, const invrg_packed *fine, int col, int j,
                       int64_t i0, int n) {
  piece *pc = &w->pc[col];
  const int b = (int)((fine->y0 + j) & 1), a = col ^ b, v = b ? 2 : 0; /* row Y ± 1 */
  const coarse_rows *cr = &w->cr;
  const uint64_t *nb[4] = {cr->nat[1], cr->nat[v], a ? cr->right[1] : cr->left[1],
                           a ? cr->right[v] : cr->left[v]};
  if (n <= 4) { /* short rows (small levels): word by word, no library call */
    for (int k = 0; k < 4; k++)
      for (int i = 0; i < n; i++) memcpy(pc->in[k] + 2 * (pc->n + i), nb[k] + i0 + i, 8);
    for (int i = 0; i < 2 * n; i++) pc->valid[2 * pc->n + i] = w->row_valid[2 * i0 + i];
  } else {
    for (int k = 0; k < 4; k++)
      memcpy(pc->in[k] + 2 * pc->n, nb[k] + i0, (size_t)n * sizeof *nb[k]);
    memcpy(pc->valid + 2 * pc->n, w->row_valid + 2 * i0, 2 * (size_t)n * sizeof *pc->valid);
  }
  pc->n += n;
}

/* Valid sites of a fine colour row: the lc sites, not the padding of its last word. */
static void row_valid_init(uint32_t *valid, int64_t lc, int64_t W) {
  for (int64_t h = 0; h < 2 * W; h++) {
    const int64_t first = 32 * h;
    valid[h] = first >= lc ? 0 : lc - first >= 32 ? ~0u : (1u << (lc - first)) - 1;
  }
}

void invrg_dream_planes_step(invrg_dream_planes_work *w, const invrg_rng_stream *s,
                             const uint32_t T12[12], const invrg_dream_coarse *c,
                             invrg_packed *fine) {
  if (!w->have_tbits || memcmp(w->T12, T12, sizeof w->T12) != 0) {
    memcpy(w->T12, T12, sizeof w->T12);
    invrg_dream_planes_thresholds(T12, w->tbits);
    w->have_tbits = true;
  }
  const uint32_t(*tbits)[CLASSES] = (const uint32_t(*)[CLASSES])w->tbits;
  const invrg_simd_level level = invrg_simd_active();
  const int64_t W = fine->words;
  row_valid_init(w->row_valid, c->lc, W);
  w->cr.Y = INT64_MIN;
  /* Colour col's words of this rank are consecutive in memory and in Philox word numbers:
   * each colour fills its own piece, both from the coarse rows of the fine row at hand. */
  uint64_t word_base[2], *out[2];
  for (int col = 0; col < 2; col++) {
    word_base[col] = ((uint64_t)col * (uint64_t)fine->ly + (uint64_t)fine->y0) * (uint64_t)W;
    out[col] = invrg_packed_row(fine, col, 0);
    w->pc[col].n = 0, w->pc[col].f0 = 0;
  }
  for (int j = 0; j < fine->ny; j++) {
    coarse_rows_at(&w->cr, c, (fine->y0 + j) >> 1);
    for (int col = 0; col < 2; col++)
      for (int64_t i0 = 0; i0 < W;) {
        piece *pc = &w->pc[col];
        const int n = (int)(W - i0 < PIECE - pc->n ? W - i0 : PIECE - pc->n);
        piece_fill(w, fine, col, j, i0, n);
        i0 += n;
        if (pc->n == PIECE || (j == fine->ny - 1 && i0 == W)) { /* full, or the last */
          const int64_t f0 = pc->f0, filled = pc->n;
          piece_draw(w, pc, s, tbits, word_base[col] + (uint64_t)f0, out[col] + f0, level);
          pc->f0 = f0 + filled;
        }
      }
  }
}

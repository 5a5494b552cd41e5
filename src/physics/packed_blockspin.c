/* The b = 2 majority rule on packed lattices (invrg/packed_blockspin.h): 64 blocks a word by
 * bit-sliced logic on four colour rows, coins only for the tied blocks, the natural-order
 * coarse rows compacted into the coarse lattice's two colour rows. */
#include "invrg/packed_blockspin.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/rng.h"
#include "invrg/simd.h"

/* Blocks per batch of coins: enough for the vector Philox to run full. */
enum { CHUNK_BLOCKS = 4096, ROW_TAG = 16 };

/* One blocking: the fine rows it reads, a chunk of natural-order coarse rows, waiting coins. */
typedef struct {
  const invrg_packed *fine;
  const uint64_t *extra[2]; /* fine row ny (the next rank's row 0) of each colour, or NULL */
  invrg_tie_rule rule;
  invrg_rng_stream coins;
  invrg_simd_level level;
  int64_t lxc;     /* coarse Lx = fine Lx/2 = blocks per coarse row */
  int fwords;      /* words of a natural-order coarse row = words of a fine colour row */
  int rows;        /* coarse rows per chunk */
  uint64_t *nat;   /* rows × fwords: bit X of row i = coarse site X, 1 = −1 */
  uint64_t *site;  /* the chunk's tied blocks (rule random): global coarse index Y·lxc + X */
  uint32_t *pos;   /* … and their bit in nat */
  uint32_t *draw;  /* 4 × rows·lxc words of Philox output */
  int n;           /* tied blocks waiting for their coins */
  int64_t ties;    /* tied blocks blocked by this rank */
} blocker;

/* Set bits of x (portable: no POPCNT instruction assumed). */
static inline int popcount64(uint64_t x) {
  x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
  x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
  x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
  return (int)((x * UINT64_C(0x0101010101010101)) >> 56);
}

/* Index of the lowest set bit of x ≠ 0. */
static inline int lowest_bit(uint64_t x) {
#if defined(__GNUC__)
  return __builtin_ctzll(x);
#else
  return popcount64((x & (~x + 1)) - 1);
#endif
}

/* Bits 0, 2, 4, … 62 of x into bits 0 … 31 (the classic unshuffle by halving masks). */
static inline uint64_t even_bits(uint64_t x) {
  x &= UINT64_C(0x5555555555555555);
  x = (x | x >> 1) & UINT64_C(0x3333333333333333);
  x = (x | x >> 2) & UINT64_C(0x0f0f0f0f0f0f0f0f);
  x = (x | x >> 4) & UINT64_C(0x00ff00ff00ff00ff);
  x = (x | x >> 8) & UINT64_C(0x0000ffff0000ffff);
  return (x | x >> 16) & UINT64_C(0x00000000ffffffff);
}

/* Local fine row j (0 … ny, ny: the next rank's first row) of colour c. */
static const uint64_t *fine_row(const blocker *b, int c, int j) {
  return j < b->fine->ny ? invrg_packed_row(b->fine, c, j) : b->extra[c];
}

/*
 * Coarse row Y into @p nat (its bits at pos0 … of b->nat) from fine rows 2Y (local j) and
 * 2Y + 1. Down bits (1 = −1) of the block's sites: a = (2X, 2Y), e = (2X + 1, 2Y),
 * c = (2X, 2Y + 1), d = (2X + 1, 2Y + 1); n = a + e + c + d; n ≥ 3 → −1, n ≤ 1 → +1, n = 2 →
 * tie. Padding bits are 0 (n = 0). Locals, not b's fields, in the loop: the stores into the
 * uint64_t arrays could alias them.
 */
static void majority_row(blocker *b, int j, int64_t Y, uint64_t *nat, uint32_t pos0) {
  const uint64_t *t0 = fine_row(b, 0, j), *t1 = fine_row(b, 1, j);
  const uint64_t *u0 = fine_row(b, 0, j + 1), *u1 = fine_row(b, 1, j + 1);
  const uint64_t upper_left = b->rule == INVRG_TIE_UPPER_LEFT ? ~UINT64_C(0) : 0;
  const bool coins = b->rule == INVRG_TIE_RANDOM;
  const uint64_t site0 = (uint64_t)(Y * b->lxc);
  uint64_t *site = b->site;
  uint32_t *pos = b->pos;
  int64_t ties = 0;
  int n = b->n;
  for (int w = 0; w < b->fwords; w++) {
    const uint64_t a = t0[w], e = t1[w], c = u1[w], d = u0[w];
    const uint64_t ae2 = a & e, ae1 = a ^ e, cd2 = c & d, cd1 = c ^ d; /* pair counts 2 and 1 */
    const uint64_t three = (ae2 & (c | d)) | (cd2 & (a | e));           /* n ≥ 3 */
    const uint64_t tie = (ae2 & ~(c | d)) | (cd2 & ~(a | e)) | (ae1 & cd1); /* n = 2 */
    nat[w] = three | (tie & a & upper_left);
    if (!coins) {
      ties += popcount64(tie);
      continue;
    }
    for (uint64_t t = tie; t != 0; t &= t - 1) { /* the coins come in flush_coins() */
      const uint32_t x = 64 * (uint32_t)w + (uint32_t)lowest_bit(t);
      site[n] = site0 + x;
      pos[n++] = pos0 + x;
    }
  }
  b->ties += coins ? n - b->n : ties;
  b->n = n;
}

/* The coins of the waiting ties (word 0, top bit, of block (site, draw 0)): 1 → +1, 0 → −1. */
static void flush_coins(blocker *b) {
  const int n = b->n;
  const uint32_t *pos = b->pos, *draw = b->draw;
  uint64_t *nat = b->nat;
  if (n == 0) return;
  invrg_rng_blocks_at(&b->coins, b->level, 0, b->site, n, 0, b->draw, (size_t)n, n);
  for (int i = 0; i < n; i++) nat[pos[i] >> 6] |= (uint64_t)(~draw[i] >> 31) << (pos[i] & 63);
  b->n = 0;
}

/* A natural-order coarse row Y into the coarse colour rows: row Y colour c holds
 * X = 2k + ((Y + c) mod 2), so even X go to colour Y mod 2, odd X to the other. */
static void split_row(const uint64_t *nat, int fwords, int64_t Y, invrg_packed *coarse, int jc) {
  uint64_t *even = invrg_packed_row(coarse, (int)(Y & 1), jc);
  uint64_t *odd = invrg_packed_row(coarse, (int)(~Y & 1), jc);
  for (int w = 0; w < coarse->words; w++) {
    const uint64_t lo = nat[2 * w], hi = 2 * w + 1 < fwords ? nat[2 * w + 1] : 0;
    even[w] = even_bits(lo) | even_bits(hi) << 32;
    odd[w] = even_bits(lo >> 1) | even_bits(hi >> 1) << 32;
  }
}

/* Coarse rows [ya, yb) (global) into @p coarse, whose local row 0 is global row coarse->y0. */
static void block_rows(blocker *b, int64_t ya, int64_t yb, invrg_packed *coarse) {
  const uint32_t row_bits = 64 * (uint32_t)b->fwords;
  for (int64_t y = ya; y < yb; y += b->rows) {
    const int n = (int)(yb - y < b->rows ? yb - y : b->rows);
    for (int i = 0; i < n; i++)
      majority_row(b, (int)(2 * (y + i) - b->fine->y0), y + i, b->nat + (int64_t)i * b->fwords,
                   (uint32_t)i * row_bits);
    flush_coins(b);
    for (int i = 0; i < n; i++)
      split_row(b->nat + (int64_t)i * b->fwords, b->fwords, y + i, coarse,
                (int)(y + i - coarse->y0));
  }
}

static invrg_err blocker_init(blocker *b, const invrg_packed *fine,
                              const invrg_blockspin_ties *ties, int64_t n_rows) {
  invrg_err err = INVRG_SUCCESS;
  b->fine = fine;
  b->rule = ties->rule;
  if (ties->rule == INVRG_TIE_RANDOM)
    invrg_rng_stream_init(&b->coins, ties->seed, INVRG_RNG_TIE, ties->item, ties->step);
  b->level = invrg_simd_active();
  b->lxc = fine->half;
  b->fwords = fine->words;
  const int64_t rows = CHUNK_BLOCKS / b->lxc < n_rows ? CHUNK_BLOCKS / b->lxc : n_rows;
  b->rows = rows > 1 ? (int)rows : 1;
  INVRG_CHECK((int64_t)b->rows * 64 * b->fwords < INT_MAX, INVRG_ERR_INPUT,
              "packed block spin: rows of %lld sites are too long (2^31 bits at most)",
              (long long)fine->lx);
  const size_t blocks = (size_t)b->rows * (size_t)b->lxc;
  b->nat = malloc((size_t)b->rows * (size_t)b->fwords * sizeof *b->nat);
  b->site = malloc(blocks * sizeof *b->site);
  b->pos = malloc(blocks * sizeof *b->pos);
  b->draw = malloc(4 * blocks * sizeof *b->draw);
  INVRG_CHECK_ALLOC(b->nat);
  INVRG_CHECK_ALLOC(b->site);
  INVRG_CHECK_ALLOC(b->pos);
  INVRG_CHECK_ALLOC(b->draw);
cleanup:
  return err;
}

static void blocker_free(blocker *b) {
  free(b->nat);
  free(b->site);
  free(b->pos);
  free(b->draw);
}

/* ---------------------------------------------------------------- the two layouts */

/* True if @p coarse is split like @p fine, its rows under fine's: coarse rank r, rows
 * [y0/2, y0/2 + ny/2), on the same ranks. */
static invrg_err is_under(const invrg_packed *fine, const invrg_packed *coarse, bool *under) {
  invrg_err err = INVRG_SUCCESS;
  int same = MPI_IDENT;
  *under = coarse->size == fine->size && 2 * (int64_t)coarse->ny == fine->ny &&
           2 * coarse->y0 == fine->y0;
  if (*under && fine->size > 1) INVRG_MPI_CALL(MPI_Comm_compare(fine->comm, coarse->comm, &same));
  *under = *under && (same == MPI_IDENT || same == MPI_CONGRUENT);
cleanup:
  return err;
}

/* My rows of a whole coarse lattice, then everyone's (ny odd: the coarse rows whose upper fine
 * row is mine; the lower may be the next rank's row 0, which comes from it). */
static invrg_err block_replicated(blocker *b, invrg_packed *coarse) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_packed *f = b->fine;
  const int nw = f->words, P = f->size;
  uint64_t *send = NULL, *recv = NULL;
  int *count = NULL, *displ = NULL;
  send = malloc(2 * (size_t)nw * sizeof *send);
  recv = malloc(2 * (size_t)nw * sizeof *recv);
  count = malloc((size_t)P * sizeof *count);
  displ = malloc((size_t)P * sizeof *displ);
  INVRG_CHECK_ALLOC(send);
  INVRG_CHECK_ALLOC(recv);
  INVRG_CHECK_ALLOC(count);
  INVRG_CHECK_ALLOC(displ);
  for (int c = 0; c < 2; c++)
    memcpy(send + c * nw, invrg_packed_row(f, c, 0), (size_t)nw * sizeof *send);
  INVRG_MPI_CALL(MPI_Sendrecv(send, 2 * nw, MPI_UINT64_T, (f->rank + P - 1) % P, ROW_TAG, recv,
                              2 * nw, MPI_UINT64_T, (f->rank + 1) % P, ROW_TAG, f->comm,
                              MPI_STATUS_IGNORE));
  b->extra[0] = recv;
  b->extra[1] = recv + nw;
  for (int r = 0; r < P; r++) { /* rank r: coarse rows Y with 2Y in [r·ny, (r + 1)·ny) */
    const int64_t ya = ((int64_t)r * f->ny + 1) / 2, yb = ((int64_t)(r + 1) * f->ny + 1) / 2;
    count[r] = (int)((yb - ya) * coarse->words);
    displ[r] = (int)(ya * coarse->words);
  }
  const int64_t ya = (f->y0 + 1) / 2, yb = (f->y0 + f->ny + 1) / 2;
  block_rows(b, ya, yb, coarse);
  for (int c = 0; c < 2; c++)
    INVRG_MPI_CALL(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, invrg_packed_row(coarse, c, 0),
                                  count, displ, MPI_UINT64_T, f->comm));
cleanup:
  free(send);
  free(recv);
  free(count);
  free(displ);
  return err;
}

/* ---------------------------------------------------------------- public */

invrg_err invrg_packed_blockspin_create_coarse(const invrg_packed *fine, invrg_packed **coarse) {
  invrg_err err = INVRG_SUCCESS;
  *coarse = NULL;
  INVRG_CHECK(fine->lx % 4 == 0 && fine->ly % 4 == 0, INVRG_ERR_INPUT,
              "packed block spin of a %lld x %lld lattice: the sides must be multiples of 4 "
              "(the coarse lattice is packed too, with even sides; block smaller or odd-sided "
              "coarse lattices on int8 lattices)",
              (long long)fine->lx, (long long)fine->ly);
  /* ny even: coarse rows under fine rows on the same ranks; odd: a whole copy on each rank. */
  INVRG_CALL(invrg_packed_create(fine->ny % 2 == 0 ? fine->comm : MPI_COMM_SELF, fine->lx / 2,
                                 fine->ly / 2, coarse));
cleanup:
  return err;
}

invrg_err invrg_packed_blockspin_apply(const invrg_packed *fine, const invrg_blockspin_ties *ties,
                                       invrg_packed *coarse, int64_t *n_ties) {
  invrg_err err = INVRG_SUCCESS;
  blocker b = {0};
  bool under = false;
  int64_t total = 0;
  INVRG_CHECK(coarse->lx * 2 == fine->lx && coarse->ly * 2 == fine->ly, INVRG_ERR_RUNTIME,
              "packed block spin: a %lld x %lld lattice does not block into %lld x %lld",
              (long long)fine->lx, (long long)fine->ly, (long long)coarse->lx,
              (long long)coarse->ly);
  INVRG_CALL(is_under(fine, coarse, &under));
  INVRG_CHECK(under || (coarse->size == 1 && coarse->ny == coarse->ly), INVRG_ERR_RUNTIME,
              "packed block spin: the coarse lattice is neither under the fine rows nor whole "
              "on this rank (make it with invrg_packed_blockspin_create_coarse)");
  INVRG_CALL(blocker_init(&b, fine, ties, under ? coarse->ny : (fine->ny + 1) / 2));
  if (under)
    block_rows(&b, coarse->y0, coarse->y0 + coarse->ny, coarse);
  else
    INVRG_CALL(block_replicated(&b, coarse));
  total = b.ties;
  if (fine->size > 1)
    INVRG_MPI_CALL(MPI_Allreduce(&b.ties, &total, 1, MPI_INT64_T, MPI_SUM, fine->comm));
  INVRG_CALL(invrg_packed_halo_exchange(coarse));
  if (n_ties) *n_ties = total;
cleanup:
  blocker_free(&b);
  return err;
}

/* The b = 2 majority rule on packed lattices (invrg/packed_blockspin.h): 64 blocks a word by
 * bit-sliced logic on four colour rows, the tied blocks decided a word at a time by rows of
 * coins (128 a Philox block), the natural-order coarse rows compacted into the coarse
 * lattice's two colour rows. Portable C, and an AVX-512 path (8 words a vector, PEXT) at the
 * level of invrg_simd_active(): the same bits. */
#include "invrg/packed_blockspin.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/bitops.h"
#include "invrg/rng.h"
#include "invrg/simd.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

/* Coarse sites per chunk of rows: the coins of a chunk are one batch of the vector Philox. */
enum { CHUNK_SITES = 4096, ROW_TAG = 16 };

/* One blocking: the fine rows it reads, a chunk of natural-order coarse rows, their ties. */
typedef struct {
  const invrg_packed *fine;
  const uint64_t *extra[2]; /* fine row ny (the next rank's row 0) of each colour, or NULL */
  invrg_tie_rule rule;
  invrg_rng_stream coins;
  invrg_simd_level level;
  bool avx512;     /* the AVX-512 kernels (level avx512) */
  int64_t lxc;     /* coarse Lx = fine Lx/2 = blocks per coarse row */
  int fwords;      /* words of a natural-order coarse row = words of a fine colour row */
  int rows;        /* coarse rows per chunk */
  uint64_t *nat;   /* rows × fwords: bit X of row i = coarse site X, 1 = −1 */
  uint64_t *tie;   /* rows × fwords: the tied blocks */
  uint64_t *coin;  /* rows × fwords (rule random): bit X of row i = the coin of (X, y + i), 1: +1 */
  uint32_t *draw;  /* 4 × rows·⌈lxc/128⌉ words of Philox output */
  bool owned;      /* nat … draw allocated here (else the caller's small buffer) */
  int64_t ties;    /* tied blocks blocked by this rank */
} blocker;

enum { SMALL_BLOCKER_WORDS = 1024 }; /* 8 KiB: the blockings of small levels need no malloc */

/* ---------------------------------------------------------------- portable kernels */

/* Set bits of x (portable: no POPCNT instruction assumed). */
static inline int popcount64(uint64_t x) {
  x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
  x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
  x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
  return (int)((x * UINT64_C(0x0101010101010101)) >> 56);
}

/*
 * One coarse row from its four fine colour rows f = {a, e, c, d}: down bits (1 = −1) of the
 * block's sites a = (2X, 2Y), e = (2X + 1, 2Y), c = (2X, 2Y + 1), d = (2X + 1, 2Y + 1);
 * n = a + e + c + d; n ≥ 3 → −1 into @p nat, n = 2 → a tie into @p tie (and, if @p ul is all
 * ones, the upper-left spin a into nat), n ≤ 1 → +1. Padding bits are 0 (n = 0). Returns the
 * ties.
 */
static int64_t majority_generic(const uint64_t *const f[4], int nw, uint64_t ul, uint64_t *nat,
                                uint64_t *tie) {
  int64_t ties = 0;
  for (int w = 0; w < nw; w++) {
    const uint64_t a = f[0][w], e = f[1][w], c = f[2][w], d = f[3][w];
    const uint64_t ae2 = a & e, ae1 = a ^ e, cd2 = c & d, cd1 = c ^ d; /* pair counts 2 and 1 */
    const uint64_t t = (ae2 & ~(c | d)) | (cd2 & ~(a | e)) | (ae1 & cd1); /* n = 2 */
    nat[w] = (ae2 & (c | d)) | (cd2 & (a | e)) | (t & a & ul);           /* n ≥ 3 */
    tie[w] = t;
    ties += popcount64(t);
  }
  return ties;
}

/* A natural-order coarse row into its even-X and odd-X colour rows of @p cw words. */
static void split_generic(const uint64_t *nat, int nw, int cw, uint64_t *even, uint64_t *odd) {
  for (int w = 0; w < cw; w++) {
    const uint64_t lo = nat[2 * w], hi = 2 * w + 1 < nw ? nat[2 * w + 1] : 0;
    even[w] = invrg_even_bits(lo) | invrg_even_bits(hi) << 32;
    odd[w] = invrg_even_bits(lo >> 1) | invrg_even_bits(hi >> 1) << 32;
  }
}

/* ---------------------------------------------------------------- AVX-512 kernels */

#if INVRG_SIMD_X86
/* Lanes of the words w … w + 7 that are in a row of nw words. */
INVRG_TARGET_AVX512 static inline __mmask8 lanes8(int w, int nw) {
  return (__mmask8)(nw - w >= 8 ? 0xffu : (1u << (nw - w)) - 1);
}

/* majority_generic()'s logic on 8 words of each of a, e, c, d: the words of mask @p m stored
 * at @p nat and @p tie. */
INVRG_TARGET_AVX512 static inline void majority8(__m512i a, __m512i e, __m512i c, __m512i d,
                                                 __m512i ulv, __mmask8 m, uint64_t *nat,
                                                 uint64_t *tie) {
  const __m512i ae2 = _mm512_and_si512(a, e), cd2 = _mm512_and_si512(c, d);
  const __m512i ae_or = _mm512_or_si512(a, e), cd_or = _mm512_or_si512(c, d);
  const __m512i t = _mm512_or_si512(
      _mm512_or_si512(_mm512_andnot_si512(cd_or, ae2), _mm512_andnot_si512(ae_or, cd2)),
      _mm512_and_si512(_mm512_xor_si512(a, e), _mm512_xor_si512(c, d)));
  const __m512i three =
      _mm512_or_si512(_mm512_and_si512(ae2, cd_or), _mm512_and_si512(cd2, ae_or));
  _mm512_mask_storeu_epi64(nat, m,
                           _mm512_or_si512(three, _mm512_and_si512(t, _mm512_and_si512(a, ulv))));
  _mm512_mask_storeu_epi64(tie, m, t);
}

/* majority_generic(), 8 words a vector. */
INVRG_TARGET_AVX512 static int64_t majority_avx512(const uint64_t *const f[4], int nw,
                                                   uint64_t ul, uint64_t *nat, uint64_t *tie) {
  int64_t ties = 0;
  const __m512i ulv = _mm512_set1_epi64((long long)ul);
  for (int w = 0; w < nw; w += 8) {
    const __mmask8 m = lanes8(w, nw);
    const __m512i a = _mm512_maskz_loadu_epi64(m, f[0] + w);
    const __m512i e = _mm512_maskz_loadu_epi64(m, f[1] + w);
    const __m512i c = _mm512_maskz_loadu_epi64(m, f[2] + w);
    const __m512i d = _mm512_maskz_loadu_epi64(m, f[3] + w);
    majority8(a, e, c, d, ulv, m, nat + w, tie + w);
  }
  for (int w = 0; w < nw; w++) ties += __builtin_popcountll(tie[w]);
  return ties;
}

/* majority_generic() of @p n coarse rows of one word each (fine colour rows of one word, all
 * local from fine row @p j on: word j + k of colour c is fine row j + k), 8 coarse rows a
 * vector: the even fine rows' words are a and e, the odd rows' d and c. */
INVRG_TARGET_AVX512 static int64_t majority_one_word_rows(const invrg_packed *fine, int j, int n,
                                                          uint64_t ul, uint64_t *nat,
                                                          uint64_t *tie) {
  int64_t ties = 0;
  const __m512i ulv = _mm512_set1_epi64((long long)ul);
  const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  const __m512i odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
  const uint64_t *c0 = invrg_packed_row(fine, 0, j), *c1 = invrg_packed_row(fine, 1, j);
  for (int i = 0; i < n; i += 8) {
    const int rows = n - i < 8 ? n - i : 8; /* coarse rows: 2·rows fine rows */
    const __mmask8 lo = (__mmask8)(rows >= 4 ? 0xffu : (1u << (2 * rows)) - 1);
    const __mmask8 hi = (__mmask8)(rows > 4 ? (1u << (2 * rows - 8)) - 1 : 0);
    const __mmask8 out = (__mmask8)((1u << rows) - 1);
    const __m512i f0a = _mm512_maskz_loadu_epi64(lo, c0 + 2 * i);
    const __m512i f0b = _mm512_maskz_loadu_epi64(hi, c0 + 2 * i + 8);
    const __m512i f1a = _mm512_maskz_loadu_epi64(lo, c1 + 2 * i);
    const __m512i f1b = _mm512_maskz_loadu_epi64(hi, c1 + 2 * i + 8);
    const __m512i a = _mm512_permutex2var_epi64(f0a, even, f0b);
    const __m512i d = _mm512_permutex2var_epi64(f0a, odd, f0b);
    const __m512i e = _mm512_permutex2var_epi64(f1a, even, f1b);
    const __m512i c = _mm512_permutex2var_epi64(f1a, odd, f1b);
    majority8(a, e, c, d, ulv, out, nat + i, tie + i);
  }
  for (int i = 0; i < n; i++) ties += __builtin_popcountll(tie[i]);
  return ties;
}

/* split_generic() by PEXT. */
INVRG_TARGET_AVX512 static void split_avx512(const uint64_t *nat, int nw, int cw, uint64_t *even,
                                             uint64_t *odd) {
  const uint64_t ev = UINT64_C(0x5555555555555555), od = ~ev;
  for (int w = 0; w < cw; w++) {
    const uint64_t lo = nat[2 * w], hi = 2 * w + 1 < nw ? nat[2 * w + 1] : 0;
    even[w] = _pext_u64(lo, ev) | _pext_u64(hi, ev) << 32;
    odd[w] = _pext_u64(lo, od) | _pext_u64(hi, od) << 32;
  }
}
#endif

/* ---------------------------------------------------------------- rows */

/* Local fine row j (0 … ny, ny: the next rank's first row) of colour c. */
static const uint64_t *fine_row(const blocker *b, int c, int j) {
  return j < b->fine->ny ? invrg_packed_row(b->fine, c, j) : b->extra[c];
}

/* Coarse row Y (chunk row i) from fine rows 2Y (local j) and 2Y + 1: a, e, c, d are bit X of
 * rows 2Y colour 0, 2Y colour 1, 2Y + 1 colour 1, 2Y + 1 colour 0. Returns its ties. */
static int64_t majority_row(blocker *b, int j, int i) {
  const uint64_t *const f[4] = {fine_row(b, 0, j), fine_row(b, 1, j), fine_row(b, 1, j + 1),
                                fine_row(b, 0, j + 1)};
  const uint64_t ul = b->rule == INVRG_TIE_UPPER_LEFT ? ~UINT64_C(0) : 0;
  uint64_t *nat = b->nat + (int64_t)i * b->fwords, *tie = b->tie + (int64_t)i * b->fwords;
#if INVRG_SIMD_X86
  if (b->avx512) return majority_avx512(f, b->fwords, ul, nat, tie);
#endif
  return majority_generic(f, b->fwords, ul, nat, tie);
}

/* The tied blocks of chunk rows 0 … n − 1 (coarse rows y …) decided by their row coins
 * (rng.h, width lxc, draw 0): a tail (1 = −1) where the coin is 0. */
static void toss_coins(blocker *b, int64_t y, int n) {
  invrg_rng_row_coin_words(&b->coins, b->level, (uint64_t)y, n, (uint64_t)b->lxc, 0, b->draw,
                           b->coin);
  for (int64_t w = 0; w < (int64_t)n * b->fwords; w++) b->nat[w] |= b->tie[w] & ~b->coin[w];
}

/* A natural-order coarse row Y (chunk row i) into the coarse colour rows: row Y colour c holds
 * X = 2k + ((Y + c) mod 2), so even X go to colour Y mod 2, odd X to the other. */
static void split_row(const blocker *b, int i, int64_t Y, invrg_packed *coarse, int jc) {
  const uint64_t *nat = b->nat + (int64_t)i * b->fwords;
  uint64_t *even = invrg_packed_row(coarse, (int)(Y & 1), jc);
  uint64_t *odd = invrg_packed_row(coarse, (int)(~Y & 1), jc);
#if INVRG_SIMD_X86
  if (b->avx512) {
    split_avx512(nat, b->fwords, coarse->words, even, odd);
    return;
  }
#endif
  split_generic(nat, b->fwords, coarse->words, even, odd);
}

/* The majority of chunk rows 0 … n − 1, coarse rows y … y + n − 1: fine rows of one word, all
 * on this rank, 8 coarse rows a vector, else row by row. */
static void majority_rows(blocker *b, int64_t y, int n) {
  const int j = (int)(2 * y - b->fine->y0);
#if INVRG_SIMD_X86
  if (b->avx512 && b->fwords == 1 && j + 2 * n <= b->fine->ny) {
    const uint64_t ul = b->rule == INVRG_TIE_UPPER_LEFT ? ~UINT64_C(0) : 0;
    b->ties += majority_one_word_rows(b->fine, j, n, ul, b->nat, b->tie);
    return;
  }
#endif
  for (int i = 0; i < n; i++) b->ties += majority_row(b, j + 2 * i, i);
}

/* Coarse rows [ya, yb) (global) into @p coarse, whose local row 0 is global row coarse->y0. */
static void block_rows(blocker *b, int64_t ya, int64_t yb, invrg_packed *coarse) {
  for (int64_t y = ya; y < yb; y += b->rows) {
    const int n = (int)(yb - y < b->rows ? yb - y : b->rows);
    majority_rows(b, y, n);
    if (b->rule == INVRG_TIE_RANDOM) toss_coins(b, y, n);
    for (int i = 0; i < n; i++) split_row(b, i, y + i, coarse, (int)(y + i - coarse->y0));
  }
}

static invrg_err blocker_init(blocker *b, const invrg_packed *fine,
                              const invrg_blockspin_ties *ties, int64_t n_rows,
                              uint64_t small[SMALL_BLOCKER_WORDS]) {
  invrg_err err = INVRG_SUCCESS;
  b->fine = fine;
  b->rule = ties->rule;
  if (ties->rule == INVRG_TIE_RANDOM)
    invrg_rng_stream_init(&b->coins, ties->seed, INVRG_RNG_TIE, ties->item, ties->step);
  b->level = invrg_simd_active();
  b->avx512 = INVRG_SIMD_X86 && b->level == INVRG_SIMD_AVX512;
  b->lxc = fine->half;
  b->fwords = fine->words;
  const int64_t rows = CHUNK_SITES / b->lxc < n_rows ? CHUNK_SITES / b->lxc : n_rows;
  b->rows = rows > 1 ? (int)rows : 1;
  const int64_t words = b->rows * (int64_t)b->fwords, coin_blocks = b->rows * ((b->lxc + 127) / 128);
  INVRG_CHECK(words < INT_MAX / 4, INVRG_ERR_INPUT,
              "packed block spin: rows of %lld sites are too long (2^36 at most)",
              (long long)fine->lx);
  /* One block of memory (small levels block often: the caller's buffer if it fits): nat, tie,
   * coin, then draw. */
  const size_t n64 = 3 * (size_t)words;
  const size_t bytes = n64 * sizeof(uint64_t) + 4 * (size_t)coin_blocks * sizeof(uint32_t);
  b->owned = bytes > SMALL_BLOCKER_WORDS * sizeof(uint64_t);
  b->nat = b->owned ? malloc(bytes) : small;
  INVRG_CHECK_ALLOC(b->nat);
  b->tie = b->nat + words;
  b->coin = b->tie + words;
  b->draw = (uint32_t *)(b->nat + n64);
cleanup:
  return err;
}

static void blocker_free(blocker *b) {
  if (b->owned) free(b->nat);
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
    INVRG_MPI_CALL(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL,
                                  invrg_packed_row(coarse, c, 0), count, displ, MPI_UINT64_T,
                                  f->comm));
cleanup:
  free(send);
  free(recv);
  free(count);
  free(displ);
  return err;
}

/* ---------------------------------------------------------------- public */

const char *invrg_packed_blockspin_kernel(void) {
  return INVRG_SIMD_X86 && invrg_simd_active() == INVRG_SIMD_AVX512 ? "avx512" : "generic";
}

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
  uint64_t small[SMALL_BLOCKER_WORDS];
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
  INVRG_CALL(blocker_init(&b, fine, ties, under ? coarse->ny : (fine->ny + 1) / 2, small));
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

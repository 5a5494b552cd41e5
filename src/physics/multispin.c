/*
 * Multispin checkerboard Metropolis and heat bath on packed lattices (contract, random-number
 * mapping and exactness in invrg/multispin.h; layout in invrg/packed.h).
 *
 * Work goes in *pieces*: up to MS_PIECE consecutive words of one colour (whole rows, or parts
 * of long rows), flat in memory since a colour's rows are contiguous. For a piece the sweep
 *   1. builds each word's left/right neighbour word (the other colour's row shifted by one
 *      site, wrapped) and, for rows with padding, the masks of valid bits;
 *   2. draws the first MS_FIRST_PLANES planes of all its words with the batched Philox;
 *   3. runs a kernel (multispin_kernels.c) that stores the half-words it decided and lists
 *      the half-words with undecided sites;
 *   4. draws one more block (four planes) per listed half-word, batched over the list, until
 *      all are decided or the 64 planes are used; then stores them.
 */
#include "invrg/multispin.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "multispin_internal.h"

/* Everything a sweep needs (one allocation). */
typedef struct {
  invrg_packed *p;
  ms_thresholds tab[1];
  invrg_rng_stream stream;
  invrg_simd_level level;
  ms_piece pc[1];
  uint64_t half_site0;          /* Philox site of half 0 of the piece's first word */
  uint64_t w_site[MS_HALVES];   /* Philox sites of the waiting half-words */
  int64_t flips;
} sweep_ctx;

/* The masks of rows without padding. */
#define ONES4 ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0), ~UINT64_C(0)
#define ONES16 ONES4, ONES4, ONES4, ONES4
#define ONES64 ONES16, ONES16, ONES16, ONES16
static const uint64_t all_ones[MS_PIECE] = {ONES64, ONES64, ONES64, ONES64};
#undef ONES64
#undef ONES16
#undef ONES4

/* ---------------------------------------------------------------- thresholds */

/* T(p) = min(round(p·2^64), 2^64 − 1); 0 for p ≤ 0. ldexp is exact, the rounding ≤ 2^-65. */
static uint64_t threshold64(double p) {
  if (!(p > 0)) return 0;
  const double t = nearbyint(ldexp(p, 64));
  if (t >= 18446744073709551616.0) return UINT64_MAX;
  return (uint64_t)t;
}

/* Metropolis: p = e^{−2K s h} for s·h = 2, 4; heat bath: 1 / (1 + e^{−2K h}), h = 4 − 2m. */
static void thresholds_init(double K, bool heatbath, ms_thresholds *tab) {
  uint64_t T[MS_CLASSES] = {0};
  if (heatbath) {
    for (int m = 0; m < 5; m++) T[m] = threshold64(1.0 / (1.0 + exp(-2.0 * K * (4 - 2 * m))));
  } else {
    T[0] = threshold64(exp(-4.0 * K));
    T[1] = threshold64(exp(-8.0 * K));
  }
  tab->heatbath = heatbath;
  for (int j = 0; j < MS_PLANES; j++)
    for (int k = 0; k < MS_CLASSES; k++)
      tab->bit[j][k] = UINT64_C(0) - ((T[k] >> (63 - j)) & 1); /* 0 or all ones */
}

/* ---------------------------------------------------------------- pieces */

const char *invrg_multispin_kernel(void) { return invrg_simd_name(invrg_simd_active()); }

/* Neighbours and masks of the n words of colour c from flat word f0 (row f0 / W) on. */
static void piece_prepare(sweep_ctx *ctx, int c, int64_t f0, int n) {
  const invrg_packed *p = ctx->p;
  ms_piece *pc = ctx->pc;
  const int W = p->words;
  const uint64_t *other = invrg_packed_row(p, 1 - c, 0);
  pc->n = n;
  pc->self = invrg_packed_row(p, c, 0) + f0;
  pc->same = other + f0;
  pc->up = other + f0 - W;
  pc->down = other + f0 + W;
  pc->mask = p->tail == ~UINT64_C(0) ? all_ones : pc->mask_buf;
  pc->waiting = 0;
  int j = (int)(f0 / W), ia = (int)(f0 % W);
  for (int t = 0; t < n; j++, ia = 0) { /* row by row */
    const int ib = W - ia < n - t ? W : ia + n - t;
    const uint64_t *R = invrg_packed_row(p, 1 - c, j);
    const int o = (int)((p->y0 + j + c) & 1);
    if (ib - ia < 16) /* short rows: no call per row */
      ms_shift_short(R, ia, ib, W, p->half, o, pc->shift + t);
    else
      ms_shift_segment(R, ia, ib, W, p->half, o, pc->shift + t, ctx->level);
    if (pc->mask == pc->mask_buf)
      for (int i = ia; i < ib; i++) pc->mask_buf[t + i - ia] = i == W - 1 ? p->tail : ~UINT64_C(0);
    t += ib - ia;
  }
}

/* Stores waiting half-word t of the piece (s = +1 iff u < T, or flip); counts its changes. The
 * half is written alone (bytes 4h … 4h + 3 of its little-endian word), without reading back
 * what the kernel's masked stores may still be writing. */
static int64_t finish_half(ms_piece *pc, bool heatbath, int t) {
  const uint32_t half = pc->w_half[t], s = pc->w_s[t], acc = pc->w_acc[t];
  const uint32_t s_new = heatbath ? ~acc & (uint32_t)(pc->mask[half >> 1] >> 32 * (half & 1))
                                  : s ^ acc;
  memcpy((unsigned char *)pc->self + 4 * (size_t)half, &s_new, sizeof s_new);
  return ms_popcount64(s ^ s_new);
}

/* Rounds of four more planes for the waiting half-words until none waits. */
static int64_t settle_waiting(sweep_ctx *ctx) {
  ms_piece *pc = ctx->pc;
  int64_t flips = 0;
  for (int j0 = MS_FIRST_PLANES; pc->waiting > 0; j0 += MS_ROUND_PLANES) {
    for (int t = 0; t < pc->waiting; t++) ctx->w_site[t] = ctx->half_site0 + pc->w_half[t];
    invrg_rng_blocks_at(&ctx->stream, ctx->level, 0, ctx->w_site, pc->waiting,
                        (uint32_t)(j0 / MS_ROUND_PLANES), &pc->extra[0][0], MS_HALVES,
                        pc->waiting);
    ms_kernel_round(pc, ctx->tab, j0, ctx->level);
    int kept = 0;
    for (int t = 0; t < pc->waiting; t++) {
      if (pc->w_und[t] == 0 || j0 + MS_ROUND_PLANES == MS_PLANES) { /* all equal: u = T */
        flips += finish_half(pc, ctx->tab->heatbath, t);
        continue;
      }
      pc->w_half[kept] = pc->w_half[t];
      pc->w_s[kept] = pc->w_s[t];
      pc->w_acc[kept] = pc->w_acc[t];
      pc->w_und[kept] = pc->w_und[t];
      for (int k = 0; k < 3; k++) pc->w_sel[k][kept] = pc->w_sel[k][t];
      kept++;
    }
    pc->waiting = kept;
  }
  return flips;
}

/* Colour c's flat words [f0, f1) of this rank (word f = row f / W, word f mod W). */
static void update_words(sweep_ctx *ctx, int c, int64_t f0, int64_t f1) {
  const invrg_packed *p = ctx->p;
  ms_piece *pc = ctx->pc;
  /* word (c, gy, i) is Philox site 2·((c·Ly + gy)·W + i) + h for its half h */
  const uint64_t base = ((uint64_t)c * (uint64_t)p->ly + (uint64_t)p->y0) * (uint64_t)p->words;
  for (int64_t f = f0; f < f1; f += MS_PIECE) {
    const int n = (int)(f1 - f < MS_PIECE ? f1 - f : MS_PIECE);
    piece_prepare(ctx, c, f, n);
    ctx->half_site0 = 2 * (base + (uint64_t)f);
    for (int d = 0; d < MS_FIRST_DRAWS; d++)
      invrg_rng_blocks_at(&ctx->stream, ctx->level, ctx->half_site0, NULL, 2 * n, (uint32_t)d,
                          &pc->rnd[d][0][0], MS_HALVES, 2 * n);
    ctx->flips += ms_kernel_first(pc, ctx->tab, ctx->level);
    ctx->flips += settle_waiting(ctx);
  }
}

/*
 * Colour c, then its halo rows. With other ranks, the first and last rows go first, and the
 * rows between are updated while they travel (they neither send nor read colour c's halo).
 */
static invrg_err sweep_colour(sweep_ctx *ctx, int c) {
  invrg_err err = INVRG_SUCCESS;
  invrg_packed *p = ctx->p;
  const int64_t W = p->words, ny = p->ny;
  if (p->size == 1) {
    update_words(ctx, c, 0, ny * W);
    INVRG_CALL(invrg_packed_halo_begin(p, c));
  } else {
    update_words(ctx, c, 0, W);
    if (ny > 1) update_words(ctx, c, (ny - 1) * W, ny * W);
    INVRG_CALL(invrg_packed_halo_begin(p, c));
    if (ny > 2) update_words(ctx, c, W, (ny - 1) * W);
  }
  INVRG_CALL(invrg_packed_halo_end(p, c));
cleanup:
  return err;
}

invrg_err invrg_multispin_sweep(invrg_packed *p, const invrg_mc_chain *chain, uint64_t step,
                                bool heatbath, invrg_mc_counts *counts) {
  invrg_err err = INVRG_SUCCESS;
  sweep_ctx *ctx = NULL;
  INVRG_CHECK(chain->K > 0 && isfinite(chain->K), INVRG_ERR_INPUT,
              "checkerboard updates need a positive finite coupling, got K = %g", chain->K);
  INVRG_CHECK(step < INVRG_RNG_STEP_LIMIT, INVRG_ERR_RUNTIME, "sweep number %llu out of range",
              (unsigned long long)step);
  ctx = malloc(sizeof *ctx);
  INVRG_CHECK_ALLOC(ctx);
  thresholds_init(chain->K, heatbath, ctx->tab);
  ctx->p = p;
  ctx->level = invrg_simd_active();
  ctx->flips = 0;
  invrg_rng_stream_init(&ctx->stream, chain->seed, invrg_mc_chain_purpose(chain), chain->chain, step);
  invrg_rng_stream_use(&ctx->stream, chain->generator);
  for (int c = 0; c < 2; c++) INVRG_CALL(sweep_colour(ctx, c));
  if (counts != NULL) {
    int64_t flips = 0;
    INVRG_MPI_CALL(MPI_Allreduce(&ctx->flips, &flips, 1, MPI_INT64_T, MPI_SUM, p->comm));
    counts->attempted += p->lx * p->ly;
    counts->accepted += flips;
    counts->spins_flipped += flips;
  }
cleanup:
  free(ctx);
  return err;
}

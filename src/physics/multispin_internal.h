/* Private to multispin.c and multispin_kernels.c: a piece of words on its way through a
 * multispin sweep, and the kernels that compare its random planes with the thresholds
 * (contract in invrg/multispin.h). */
#ifndef INVRG_MULTISPIN_INTERNAL_H
#define INVRG_MULTISPIN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/simd.h"

enum {
  MS_PLANES = 64,      /* planes of a 64-bit u */
  MS_FIRST_PLANES = 8, /* drawn for every word at once: draws 0 and 1 of both halves */
  MS_FIRST_DRAWS = 2,
  MS_ROUND_PLANES = 4, /* a waiting half-word gets one more block: four more planes */
  MS_PIECE = 256,      /* words per piece */
  MS_HALVES = 2 * MS_PIECE,
  MS_WAIT = MS_HALVES + 16,
  MS_CLASSES = 5       /* Metropolis: 0 s·h = 2, 1 s·h = 4; heat bath: m = 0 … 4 */
};

/* bit[j][k]: all ones if bit 63 − j of class k's threshold is set, else 0. */
typedef struct {
  uint64_t bit[MS_PLANES][MS_CLASSES];
  bool heatbath;
} ms_thresholds;

/*
 * One piece: n words of the colour being updated and the other colour's neighbour words.
 * Plane j of word i is rnd[j / 4][j % 4][2i] (bits 0–31) and [2i + 1] (bits 32–63): read as
 * one little-endian 64-bit word. Half-words (32 sites, index 2i + h) still undecided after the
 * first planes wait in a list, structure of arrays: their old spins, accepted and undecided
 * sites and class selectors (Metropolis: sel[0] = sites with s·h = 2; heat bath: bits 0, 1, 2 of m).
 */
typedef struct {
  int n;
  uint64_t *self;
  const uint64_t *up, *down, *same;
  const uint64_t *mask;           /* valid bits of each word */
  uint64_t shift[MS_PIECE];       /* the other colour's row at k − 1 or k + 1 */
  uint64_t mask_buf[MS_PIECE];
  uint32_t rnd[MS_FIRST_DRAWS][4][MS_HALVES];
  int waiting;
  /* where and old spins, then the state (room for a whole vector stored past the last) */
  uint32_t w_half[MS_WAIT], w_s[MS_WAIT], w_acc[MS_WAIT], w_und[MS_WAIT], w_sel[3][MS_WAIT];
  uint32_t extra[4][MS_HALVES];   /* a round's planes: word k of waiting half t at [k][t] */
} ms_piece;

/*
 * The first planes of all words of the piece: stores the sites decided (by half-words) and
 * lists the half-words still undecided; returns the spins changed. Same bits at every level.
 */
int64_t ms_kernel_first(ms_piece *pc, const ms_thresholds *tab, invrg_simd_level level);

/* Planes j0 … j0 + 3 (in pc->extra) for every waiting half-word: updates w_acc and w_und. */
void ms_kernel_round(ms_piece *pc, const ms_thresholds *tab, int j0, invrg_simd_level level);

/*
 * Words [ia, ib) of row R (the other colour) shifted onto the sites of a row of parity o: word
 * i gets R's site k − 1 (o = 0) or k + 1 (o = 1) in bit k, modulo the half sites of a row
 * (site k − 1 of k = 0 is half − 1, site k + 1 of half − 1 is 0). Portable, for short segments.
 */
static inline void ms_shift_short(const uint64_t *R, int ia, int ib, int words, int64_t half,
                                  int o, uint64_t *out) {
  const uint64_t last = R[(half - 1) >> 6] >> ((half - 1) & 63) & 1, first = R[0] & 1;
  for (int i = ia; i < ib; i++) {
    if (o == 0)
      out[i - ia] = R[i] << 1 | (i > 0 ? R[i - 1] >> 63 : last);
    else
      out[i - ia] = R[i] >> 1 | (i + 1 < words ? R[i + 1] << 63 : first << ((half - 1) & 63));
  }
}

/* The same for any segment, vectorised at @p level. */
void ms_shift_segment(const uint64_t *R, int ia, int ib, int words, int64_t half, int o,
                      uint64_t *out, invrg_simd_level level);

/* Set bits of x (portable: no POPCNT instruction assumed). */
static inline int ms_popcount64(uint64_t x) {
  x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
  x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
  x = (x + (x >> 4)) & UINT64_C(0x0F0F0F0F0F0F0F0F);
  return (int)((x * UINT64_C(0x0101010101010101)) >> 56);
}

#endif

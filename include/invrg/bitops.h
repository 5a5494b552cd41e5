/**
 * @file bitops.h
 * Bit manipulations the packed and bit-sliced lattices share: a row's even sites, and the
 * transposition that turns 64 words of one site each (a bit per dream) into 64 words of one
 * dream each. Portable C; not collective.
 */
#ifndef INVRG_BITOPS_H
#define INVRG_BITOPS_H

#include <stdint.h>

/** Bits 0, 2, 4, … 62 of @p x into bits 0 … 31 (the classic unshuffle by halving masks). */
static inline uint64_t invrg_even_bits(uint64_t x) {
  x &= UINT64_C(0x5555555555555555);
  x = (x | x >> 1) & UINT64_C(0x3333333333333333);
  x = (x | x >> 2) & UINT64_C(0x0f0f0f0f0f0f0f0f);
  x = (x | x >> 4) & UINT64_C(0x00ff00ff00ff00ff);
  x = (x | x >> 8) & UINT64_C(0x0000ffff0000ffff);
  return (x | x >> 16) & UINT64_C(0x00000000ffffffff);
}

/** a[j] bit i ↔ a[i] bit j: 64 × 64 bits transposed in place, by swapping ever smaller
 * off-diagonal blocks (the j × j blocks of each 2j × 2j block, j = 32, 16, … 1). */
static inline void invrg_transpose64(uint64_t a[64]) {
  uint64_t m = UINT64_C(0x00000000FFFFFFFF);
  for (int j = 32; j != 0; j >>= 1, m ^= m << j)
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      const uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k] ^= t << j;
      a[k | j] ^= t;
    }
}

#endif

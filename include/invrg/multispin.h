/**
 * @file multispin.h
 * Checkerboard Metropolis and heat-bath sweeps of a packed lattice (invrg/packed.h) by
 * multispin coding: the 64 spins of a word are updated together with bitwise logic, and each
 * one's acceptance is an exact Bernoulli draw (docs/design.md §2, "Packed lattices and
 * multispin sweeps").
 *
 * Model and rules are those of invrg/mc_update.h's checkerboard sweep (H = −Σ s_i s_j, weight
 * e^{−K H}; first colour 0, then colour 1, the halo of a colour exchanged before the other is
 * updated), with h the sum of a site's four neighbours:
 *   - Metropolis flips s iff s·h ≤ 0 or u < T(e^{−2K s h});
 *   - heat bath sets s = +1 iff u < T(1 / (1 + e^{−2K h})), else −1;
 * where u is a uniform 64-bit integer and T(p) = min(round(p·2^64), 2^64 − 1) (0 for p ≤ 0):
 * the probability used, T·2^-64, is the double p to within 2^-64 (2^-65 below the clamp).
 *
 * Bit-serial comparison: u is drawn one bit-plane at a time, most significant first. Plane j
 * (j = 0 … 63) of a word holds bit 63 − j of the u of each of its 64 sites; a site is decided
 * at the first plane where its bit differs from bit 63 − j of its T (random 0 against 1:
 * u < T; 1 against 0: u > T); if all 64 bits are equal, u = T and u < T is false. Planes are
 * drawn only while some site of the word is undecided: about 8 planes a word (the most of 64
 * geometric(1/2) lengths), instead of 32 bits a site (measured at K_c: 4.22 Philox blocks a
 * word for Metropolis, 4.25 for heat bath, against 16 for the int8 sweeps).
 *
 * Randomness: a pure function of (seed, INVRG_RNG_MC, chain, step, colour c, global row gy,
 * word index i in the row, plane j), whatever the number of ranks or the kernel. With the
 * stream (seed, INVRG_RNG_MC, chain, @p step) of invrg/rng.h, W = words per row and the word
 * number w = (c·Ly + gy)·W + i, each half h = 0, 1 of the word (sites 32h … 32h + 31) has its
 * own blocks, four planes each:
 *     block_h(d) = invrg_rng_u32x4(stream, site = 2w + h, draw = d),
 *     plane j    = block_0(j / 4)[j mod 4] | block_1(j / 4)[j mod 4] << 32,
 * bit b of a plane belonging to site k = 64·i + b of the row (invrg/packed.h's layout). Planes
 * 0–7 of every word are drawn at once; a half-word with undecided sites after plane 4d + 3
 * draws block d + 1 (so the numbers a site sees never depend on the others' draws). The blocks
 * are Philox4x32-10's, or ARS-7's when the chain says so (invrg_mc_chain.generator, rng.h:
 * invrg_rng_stream_use()): the same mapping, other numbers.
 *
 * Kernels: portable C, and AVX2 (4 words per vector) or AVX-512 (8 words) on x86 at the level
 * of invrg_simd_active() (INVRG_SIMD=generic|avx2|avx512 forces one); the first planes of
 * all words are drawn together by the batched Philox of core/simd, the rare further planes
 * for the words that still need them. All kernels give the same bits.
 */
#ifndef INVRG_MULTISPIN_H
#define INVRG_MULTISPIN_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/mc_update.h"
#include "invrg/packed.h"

/**
 * One checkerboard sweep of @p p, Metropolis (@p heatbath false) or heat bath. On entry the
 * halo rows hold the neighbours' spins; on exit they do again. K must be positive and finite
 * (else an input error); step < 2^48. Bit-identical for any number of ranks.
 *
 * @p counts, if not NULL (on every rank alike), gets this sweep *added*: attempted += Lx·Ly,
 * accepted and spins_flipped += the spins that changed (for heat bath too), summed over the
 * ranks. Collective on p->comm.
 */
invrg_err invrg_multispin_sweep(invrg_packed *p, const invrg_mc_chain *chain, uint64_t step,
                                bool heatbath, invrg_mc_counts *counts);

/** The kernel multispin sweeps use ("generic", "avx2" or "avx512"). Not collective. */
const char *invrg_multispin_kernel(void);

#endif

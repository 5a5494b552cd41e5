/**
 * @file compatible.h
 * Compatible Monte Carlo (Brandt and Ron; Ron, Swendsen and Brandt, PRL 89, 275701 (2002)):
 * heat bath of the fine spins of a packed lattice given its 2 × 2 block spins μ (the b = 2
 * majority rule with random ties, blockspin.h), which stay what they are. It samples
 *     P(σ | μ) ∝ exp(K Σ_<ij> σ_i σ_j) · Π_blocks w(block),
 * w = 1 if the block's majority is its μ, ½ if the block is tied (a tie is μ with probability ½),
 * 0 otherwise; so it leaves the Ising distribution invariant when μ is a sample of blocked Ising,
 * and it relaxes short-range order without touching the long modes μ pins.
 *
 * A sweep updates the four sublattices of the block positions (a, b) — site (2X + a, 2Y + b) —
 * one after the other, (0, 0), (1, 1), (1, 0), (0, 1) (colour 0's two positions, then colour
 * 1's: packed.h), so no two sites of one block change together: site i is set to s = +1 with
 * probability W(+1) / (W(+1) + W(−1)), W(s) = exp(K s h_i) · w(block with σ_i = s), h_i the sum
 * of its four neighbours. Random numbers: site g = gy·Lx + gx (global) uses word 0 of the block
 * (site g, draw 0) of the stream (seed, chain->purpose, chain->chain, 4·step + position), s = +1
 * iff that word is below round(p·2^32) (bias ≤ 2^-33): the same on any layout.
 *
 * This is the reference implementation, one site at a time (about 20 ns per site): for studies
 * at moderate sizes and as the oracle of a multispin kernel to come.
 */
#ifndef INVRG_COMPATIBLE_H
#define INVRG_COMPATIBLE_H

#include <stdint.h>

#include "invrg/error.h"
#include "invrg/mc_update.h"
#include "invrg/packed.h"

/**
 * One compatible heat-bath sweep of @p fine (halos valid on entry and on return) given the block
 * spins @p mu: the packed (Lx/2) × (Ly/2) lattice of the blocks, split by rows under @p fine
 * (invrg_packed_blockspin_create_coarse() of it) or whole on every rank. Every block of @p fine
 * must be compatible with its μ (majority μ, or tied; checked before the sweep: runtime error
 * otherwise), and stays so. Lx and Ly
 * multiples of 2, a rank's rows whole block rows; K > 0 finite. Collective on fine->comm.
 */
invrg_err invrg_compatible_sweep(invrg_packed *fine, const invrg_packed *mu,
                                 const invrg_mc_chain *chain, uint64_t step);

#endif

/**
 * @file packed_blockspin.h
 * The b = 2 majority rule of invrg/blockspin.h on packed lattices (invrg/packed.h): the same
 * coarse configuration and tie count as invrg_blockspin_apply() on the int8 lattice with the
 * same ties (rules random, up and upper_left, the same coins), bit for bit on any number of
 * ranks (docs/design.md §2, "Packed lattices and multispin sweeps").
 *
 * Bit-sliced: in the checkerboard layout the four fine spins of block X of coarse row Y are
 * bit X of four colour rows,
 *     row 2Y colour 0: (2X, 2Y)        row 2Y colour 1: (2X + 1, 2Y)
 *     row 2Y + 1 colour 1: (2X, 2Y + 1)  row 2Y + 1 colour 0: (2X + 1, 2Y + 1),
 * so 64 blocks are decided at once from four words by their count n of −1 spins: n ≥ 3 gives
 * −1, n ≤ 1 gives +1, n = 2 is a tie. The coins are rows of bits, 128 a Philox block
 * (invrg/blockspin.h), so 64 tied blocks are decided by one more AND with a word of coins. The
 * coarse row comes out in natural order (bit X = site X); its even and odd X are compacted
 * into the coarse lattice's two colour rows (row Y colour c holds X = 2k + ((Y + c) mod 2)).
 * Kernels: portable C, and AVX-512 (8 words a vector, the rows split by PEXT) at that level
 * of invrg_simd_active(); the same bits.
 *
 * Where the coarse lattice lives:
 *   - the fine lattice's rows per rank (ny) even: on the same ranks, split by rows, coarse
 *     rank r under fine rank r (ny/2 rows each); no messages but the tie count's sum;
 *   - ny odd (e.g. one fine row per rank at the small levels of a dream): replicated, a whole
 *     packed lattice on MPI_COMM_SELF on every rank. Each rank blocks the coarse rows whose
 *     upper fine row it holds (the lower one may be the next rank's first row: one row pair
 *     from each neighbour), and an MPI_Allgatherv per colour gives every rank all of them.
 * A fine lattice on one rank (MPI_COMM_SELF: replicated) gives a coarse one on one rank.
 *
 * Limits: fine Lx and Ly multiples of 4 (the coarse lattice is packed too, so its sides must
 * be even: the packed path goes down to a 2 × 2 coarse lattice from 4 × 4; a fine 2 × 2 or
 * 6 × 6 blocks only on int8 lattices). Anything else is an input error.
 */
#ifndef INVRG_PACKED_BLOCKSPIN_H
#define INVRG_PACKED_BLOCKSPIN_H

#include <stdint.h>

#include "invrg/blockspin.h"
#include "invrg/error.h"
#include "invrg/packed.h"

/**
 * Creates the packed lattice that blocking @p fine produces (all spins +1), distributed or
 * replicated as described above. Input error if Lx or Ly is not a multiple of 4. Collective
 * on fine->comm.
 */
invrg_err invrg_packed_blockspin_create_coarse(const invrg_packed *fine, invrg_packed **coarse);

/**
 * Blocks @p fine into @p coarse: one made by invrg_packed_blockspin_create_coarse() for a
 * lattice of this size and layout, or any (Lx/2) × (Ly/2) packed lattice on MPI_COMM_SELF
 * (a replicated result, whatever fine's rows per rank). The coarse halos are filled on return;
 * the fine halos are not read. @p n_ties (may be NULL) receives the number of tied blocks of
 * the whole lattice, the same on every rank. Bit-identical for any number of ranks.
 * Collective on fine->comm.
 */
invrg_err invrg_packed_blockspin_apply(const invrg_packed *fine, const invrg_blockspin_ties *ties,
                                       invrg_packed *coarse, int64_t *n_ties);

/**
 * The kernel the blockings use: "avx512" at that level of invrg_simd_active(), otherwise
 * "generic" (the coins' Philox runs at the active level either way). Not collective.
 */
const char *invrg_packed_blockspin_kernel(void);

#endif

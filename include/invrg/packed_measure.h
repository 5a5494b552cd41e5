/**
 * @file packed_measure.h
 * Measurements straight from a packed lattice (invrg/packed.h), by bit operations and
 * popcounts: the sums of the observables, the lattice sums of MCRG operators, and the row and
 * column sums that ξ₂/L needs. Each equals its int8 reference exactly (exact integers), on any
 * number of ranks:
 *   invrg_packed_observables_sums()   = invrg_observables_sums() (invrg/observables.h)
 *   invrg_packed_operators_evaluate() = invrg_operators_evaluate() (invrg/mcrg.h)
 *   invrg_packed_row_col_sums()       = the plain Σ_x s(x, y) and Σ_y s(x, y)
 * All read the halo rows, which must be current (as after invrg_packed_from_lattice(), a
 * multispin sweep or invrg_packed_halo_exchange(); no exchange in flight). Popcounts at the
 * level of invrg_simd_active(): bit arithmetic (generic), the POPCNT instruction or four words
 * a vector by a nibble table (AVX2), eight words a vector (AVX-512; the operator sums by
 * VPOPCNTDQ where the CPU has it): the same numbers.
 */
#ifndef INVRG_PACKED_MEASURE_H
#define INVRG_PACKED_MEASURE_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/mcrg.h"
#include "invrg/observables.h"
#include "invrg/packed.h"

/**
 * B = Σ_<ij> s_i s_j (each bond once), M = Σ s and N of the whole lattice, on every rank.
 * Every bond joins a colour-0 site to a colour-1 site, so with U the unequal pairs between
 * each colour-0 word and its four neighbour words (up, down, same and shifted colour-1 words),
 * B = 4 · N/2 − 2U, and M = N − 2 · popcount(all bits). Collective on p->comm (one
 * MPI_Allreduce when it has more than one rank).
 */
invrg_err invrg_packed_observables_sums(const invrg_packed *p, invrg_config_sums *out);

/**
 * Lattice sums of @p n operators (invrg/mcrg.h: terms of spins S(dy, dx), 0 ≤ dy, dx ≤ 2),
 * sums[k] = Σ_sites Σ_terms Π_spins, on every rank. A product of spins is (−1)^(XOR of their
 * bits), so a term's sum over a row is Lx − 2 · popcount(XOR of the natural rows y − dy
 * shifted by dx); each natural row is built and shifted once per dx, for all terms. Row y − 2
 * of the first local row is one natural row from the rank above (its row ny − 2, which is its
 * halo row when it has one row), sent once per call. Collective on p->comm.
 */
invrg_err invrg_packed_operators_evaluate(const invrg_operator *ops, int n,
                                          const invrg_packed *p, int64_t *sums);

/**
 * Row sums row_sums[y] = Σ_x s(x, y) (Ly of them) and column sums col_sums[x] = Σ_y s(x, y)
 * (Lx of them), exact, on every rank. Rows by popcount; columns by a byte counter per column
 * in the colour-row layout (a row's word adds −1 to the 64 bytes of its set bits, one vector
 * instruction with AVX-512, two with AVX2; portably, bit-sliced counters: one plane per bit of
 * the count, an add a ripple of ANDs and XORs), flushed into integers every 255 rows.
 * Collective on p->comm.
 */
invrg_err invrg_packed_row_col_sums(const invrg_packed *p, int64_t *row_sums, int64_t *col_sums);

/**
 * The terms of @p n operators flattened once, for many evaluations with the same operators (a
 * dream measures every level of every sample with its accumulators' set): @p ops must outlive
 * them. Free with invrg_packed_terms_destroy() (NULL is fine). Not collective.
 */
typedef struct invrg_packed_terms invrg_packed_terms;
invrg_err invrg_packed_terms_create(const invrg_operator *ops, int n, invrg_packed_terms **out);
void invrg_packed_terms_destroy(invrg_packed_terms **t);

/** invrg_packed_operators_evaluate() of the operators of @p t. Collective on p->comm. */
invrg_err invrg_packed_terms_evaluate(const invrg_packed_terms *t, const invrg_packed *p,
                                      int64_t *sums);

/** Tests: count with the nibble tables even where the CPU has VPOPCNTDQ (@p off), or not. */
void invrg_packed_measure_no_vpopcnt(bool off);

#endif

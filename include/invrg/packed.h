/**
 * @file packed.h
 * A periodic Lx × Ly field of Ising spins packed one bit per spin, 64 spins per uint64_t, in
 * the multispin layout of the checkerboard updates (docs/design.md §2, "Packed lattices and
 * multispin sweeps").
 *
 * Bits: 1 = spin −1, 0 = spin +1 (so a word of zeros is all up, and the XOR of two words marks
 * the unequal pairs).
 *
 * Layout: the two checkerboard colours c = (x + y) mod 2 are separate sublattices. Row y of
 * colour c holds the Lx/2 sites x = 2k + ((y + c) mod 2), k = 0 … Lx/2 − 1, site k in bit
 * k mod 64 of word k / 64; a row is `words` = ⌈Lx/128⌉ words, the bits after the last site
 * (padding) are always 0. A site's four neighbours are all of the other colour:
 *   - up and down: the same bit k of the other colour's rows y − 1 and y + 1;
 *   - left and right: bits k and k − 1 of the other colour's row y when (y + c) is even,
 *     bits k and k + 1 when it is odd (k ± 1 taken modulo Lx/2: the periodic wrap).
 *
 * Distribution: by rows only (a 1D decomposition in y). Rank r of the communicator holds the
 * global rows [r·ny, (r + 1)·ny), ny = Ly / P, of both colours, plus one halo row above and
 * one below per colour. Whole rows make every neighbour in x local, and a halo is two rows
 * of words per colour: a 2D grid would only add column halos of single bits. The group's
 * communicator of any grid shape serves (its rank order is used, not its grid).
 *
 * Limits: Lx and Ly even and ≥ 2 (any even Lx: rows are padded to whole words), Ly a multiple
 * of the number of ranks; ny · words < 2^31 words per colour on a rank. Anything else is an
 * input error that says what would work.
 */
#ifndef INVRG_PACKED_H
#define INVRG_PACKED_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/lattice.h"
#include "invrg/rng.h"

/** A packed lattice block. Public fields are read-only; the rows are the caller's to use. */
typedef struct {
  MPI_Comm comm;      /**< own duplicate of the communicator it was created on */
  int rank, size;     /**< in comm */
  int64_t lx, ly;     /**< global size */
  int64_t half;       /**< Lx/2: sites per row of one colour */
  int words;          /**< words per row of one colour: ⌈half / 64⌉ */
  uint64_t tail;      /**< the valid bits of a row's last word */
  int ny;             /**< rows of this rank */
  int64_t y0;         /**< global index of local row 0 */
  uint64_t *rows[2];  /**< colour c: ny + 2 rows of `words` words, local rows −1 … ny */

  /* Halo exchange, private: per colour, receive lower, receive upper, send lower, upper. */
  MPI_Request req[2][4];
  bool in_flight[2];
} invrg_packed;

/**
 * A packed lx × ly lattice split by rows over @p comm (MPI_COMM_SELF: the whole lattice on
 * this rank). All spins start +1 (bits 0), halos included. Input error if the sizes break the
 * limits above. Collective on @p comm.
 */
invrg_err invrg_packed_create(MPI_Comm comm, int64_t lx, int64_t ly, invrg_packed **out);

/** Frees it; sets *p to NULL; accepts NULL. No exchange may be in progress. Collective. */
void invrg_packed_destroy(invrg_packed **p);

/** Row @p j (−1 … ny) of colour @p c. */
static inline uint64_t *invrg_packed_row(const invrg_packed *p, int c, int j) {
  return p->rows[c] + (int64_t)(j + 1) * p->words;
}

/** The spin (+1 or −1) at global column @p x of local row @p j (−1 … ny). */
static inline int invrg_packed_get(const invrg_packed *p, int64_t x, int j) {
  const int c = (int)((x + p->y0 + j + 2 * p->ly) & 1);
  const int64_t k = x >> 1;
  return (invrg_packed_row(p, c, j)[k >> 6] >> (k & 63)) & 1 ? -1 : 1;
}

/** Sets the spin at global column @p x of local row @p j to @p s (+1 or −1). */
static inline void invrg_packed_set(invrg_packed *p, int64_t x, int j, int s) {
  const int c = (int)((x + p->y0 + j + 2 * p->ly) & 1);
  const int64_t k = x >> 1;
  uint64_t *w = invrg_packed_row(p, c, j) + (k >> 6);
  const uint64_t bit = UINT64_C(1) << (k & 63);
  *w = s < 0 ? *w | bit : *w & ~bit;
}

/**
 * Sets every interior site by the fair coin of @p s at (global site gy·Lx + gx, draw 0), the
 * coin invrg_lattice_fill_random() uses, then exchanges the halos: the same field as an int8
 * lattice filled from the same stream, on any number of ranks. Collective on comm.
 */
invrg_err invrg_packed_fill_random(invrg_packed *p, const invrg_rng_stream *s);

/**
 * Starts sending colour @p c's first and last rows to the neighbours' halos (on one rank:
 * copies them, and nothing is left in flight). Until invrg_packed_halo_end(p, c) the caller
 * may change colour c only in rows 1 … ny − 2 and must not read its halo rows.
 * Collective on comm.
 */
invrg_err invrg_packed_halo_begin(invrg_packed *p, int c);

/** Completes the exchange of colour @p c. Collective on comm. */
invrg_err invrg_packed_halo_end(invrg_packed *p, int c);

/** Fills the halo rows of both colours. Collective on comm. */
invrg_err invrg_packed_halo_exchange(invrg_packed *p);

/**
 * Sets the interior of @p p from the int8 lattice @p lat of the same size, then exchanges the
 * halos. @p lat is replicated (every rank of comm holds it whole: no messages), or distributed
 * on a communicator congruent to p->comm (the same group of ranks in the same order, e.g. both
 * made from the group's grid), any grid. Collective on p->comm.
 */
invrg_err invrg_packed_from_lattice(invrg_packed *p, const invrg_lattice *lat);

/**
 * Sets the interior of the int8 lattice @p lat from @p p (the same conditions as
 * invrg_packed_from_lattice(), or @p p whole on this rank (MPI_COMM_SELF) and @p lat of any
 * layout: each rank then fills its own block), then exchanges @p lat's halos, so measurements
 * can follow. Collective on p->comm and lat->comm.
 */
invrg_err invrg_packed_to_lattice(const invrg_packed *p, invrg_lattice *lat);

/** Packs the @p lx int8 spins of global row @p gy into one row per colour (padding cleared). */
void invrg_packed_pack_row(const int8_t *spins, int64_t lx, int64_t gy, uint64_t *row0,
                           uint64_t *row1);

/** Unpacks global row @p gy (its two colour rows) into @p lx int8 spins. */
void invrg_packed_unpack_row(const uint64_t *row0, const uint64_t *row1, int64_t lx, int64_t gy,
                             int8_t *spins);

/** Words of a natural-order row: ⌈Lx / 64⌉. */
static inline int invrg_packed_natural_words(const invrg_packed *p) {
  return (int)((p->lx + 63) / 64);
}

/**
 * Local row @p j (−1 … ny, halos included) in natural order: site x in bit x mod 64 of word
 * x / 64 of @p out (invrg_packed_natural_words() words; 1 = spin −1, padding bits 0). It is the
 * interleave of the row's two colour rows: the even sites x = 2k from colour (y mod 2), the odd
 * ones from the other (y the global row). By bit spreading (BMI2's deposit at the AVX-512
 * level of invrg_simd_active(), shifts and masks elsewhere: the same bits). Not collective.
 */
void invrg_packed_natural_row(const invrg_packed *p, int j, uint64_t *out);

/** Rows @p j … @p j + @p count − 1 the same way, one after the other at @p out. */
void invrg_packed_natural_rows(const invrg_packed *p, int j, int count, uint64_t *out);

#endif

/**
 * @file lattice.h
 * A periodic Lx × Ly field of int8 spins, stored row-major [y][x] (x fastest)
 * with a halo of width h around the local block.
 *
 * Two modes:
 * - *distributed*: split in equal blocks over a group's px × py grid; halos
 *   are filled by a two-phase exchange (x, then y including the x halos, so
 *   the corners arrive) with persistent non-blocking requests;
 * - *replicated*: the whole lattice on every rank that holds it, identical by
 *   construction; no communication at all, halos by periodic wrap in place.
 *   Small lattices live like this (below the size the grid can split, see
 *   invrg_groups_can_distribute()) and become distributed when they grow
 *   (invrg_lattice_distribute()).
 * Code that works on a block is the same in both modes: a replicated lattice
 * is a single block whose communicator is MPI_COMM_SELF.
 *
 * Local coordinates (i, j) count from the first interior site of the block:
 * interior 0 <= i < nx, 0 <= j < ny; halo sites have i or j in [-h, 0) or
 * [n, n + h). Global site index = gy * Lx + gx.
 */
#ifndef INVRG_LATTICE_H
#define INVRG_LATTICE_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/groups.h"
#include "invrg/rng.h"

typedef enum { INVRG_LATTICE_REPLICATED, INVRG_LATTICE_DISTRIBUTED } invrg_lattice_mode;

/** A lattice block. Public fields are read-only; data is the caller's to read and write. */
typedef struct {
  invrg_lattice_mode mode;
  MPI_Comm comm;          /**< own copy of the group grid, or MPI_COMM_SELF if replicated */
  int64_t lx, ly;         /**< global size */
  int halo;               /**< h >= 1 */
  int nx, ny;             /**< interior of the local block */
  int64_t x0, y0;         /**< global coordinates of local site (0, 0) */
  int sx, sy;             /**< stored size: nx + 2h by ny + 2h */
  int8_t *data;           /**< sy rows of sx sites; never reallocated (requests point into it) */
  size_t mapped_bytes;    /**< > 0: data is our mapping of this size (big lattices), else calloc'd */

  /* Halo exchange, private. Phase 0 = x, 1 = y; a phase is remote if its direction is split. */
  bool remote[2];
  MPI_Datatype column;    /**< h columns of the ny interior rows */
  MPI_Request req[2][4];  /**< per phase: receive lower, receive upper, send lower, send upper */
  int phase;              /**< phase to run or running; 2 = no exchange in progress */
  bool in_flight;         /**< requests of `phase` started and not yet completed */
} invrg_lattice;

/**
 * A replicated lattice: the whole lx × ly field plus halos on the calling
 * rank. Not collective (no communication ever). Data starts at 0.
 */
invrg_err invrg_lattice_create_replicated(int64_t lx, int64_t ly, int halo, invrg_lattice **out);

/**
 * A distributed lattice on the grid of @p g. Input error unless
 * invrg_groups_can_distribute(g, lx, ly, halo); validate user input first
 * with invrg_groups_check_lattice() for a message that names the key.
 * Data starts at 0. Collective on g->cart.
 */
invrg_err invrg_lattice_create_distributed(const invrg_groups *g, int64_t lx, int64_t ly, int halo,
                                           invrg_lattice **out);

/**
 * A distributed lattice equal to the replicated @p rep, halos included: each
 * rank copies its block out of its own whole copy, without messages.
 * Same conditions as invrg_lattice_create_distributed(). Collective on g->cart.
 */
invrg_err invrg_lattice_distribute(const invrg_lattice *rep, const invrg_groups *g,
                                   invrg_lattice **out);

/**
 * Frees it; sets *lat to NULL; accepts NULL. No exchange may be in progress.
 * Collective on comm.
 */
void invrg_lattice_destroy(invrg_lattice **lat);

/**
 * Asks the kernel to map all of @p lat's storage now (lattices of 8 MiB and more) rather than
 * page by page as it is first written: for lattices about to be written whole (dream levels).
 * Not collective; no effect on small lattices or where the kernel cannot.
 */
void invrg_lattice_populate(invrg_lattice *lat);

/** Offset in data of local site (i, j), halo included. */
static inline size_t invrg_lattice_index(const invrg_lattice *lat, int i, int j) {
  return (size_t)(j + lat->halo) * (size_t)lat->sx + (size_t)(i + lat->halo);
}

/** Global site index of local site (i, j), halo sites wrapped periodically. */
static inline uint64_t invrg_lattice_global_site(const invrg_lattice *lat, int i, int j) {
  int64_t gx = ((lat->x0 + i) % lat->lx + lat->lx) % lat->lx;
  int64_t gy = ((lat->y0 + j) % lat->ly + lat->ly) % lat->ly;
  return (uint64_t)(gy * lat->lx + gx);
}

/** True if global site (gx, gy) is in the interior of this block; then (*i, *j) is it. */
static inline bool invrg_lattice_to_local(const invrg_lattice *lat, int64_t gx, int64_t gy,
                                          int *i, int *j) {
  if (gx < lat->x0 || gx >= lat->x0 + lat->nx || gy < lat->y0 || gy >= lat->y0 + lat->ny)
    return false;
  *i = (int)(gx - lat->x0);
  *j = (int)(gy - lat->y0);
  return true;
}

/**
 * Sets every site, halo included, to +1 or -1 by the fair coin of @p s at
 * (global site, draw 0): the field does not depend on the grid. Not collective.
 */
void invrg_lattice_fill_random(invrg_lattice *lat, const invrg_rng_stream *s);

/**
 * Starts a halo exchange: runs the phases that need no messages and starts
 * the first that does. Until invrg_lattice_halo_end(), the caller may read
 * and write interior sites at least h away from the block edge. Collective on comm.
 */
invrg_err invrg_lattice_halo_begin(invrg_lattice *lat);

/** Completes the exchange started by invrg_lattice_halo_begin(). Collective on comm. */
invrg_err invrg_lattice_halo_end(invrg_lattice *lat);

/** Fills all halos (begin + end). Collective on comm. */
invrg_err invrg_lattice_halo_exchange(invrg_lattice *lat);

/**
 * Copies the interior into @p global (lx * ly, row-major) on rank 0 of comm,
 * i.e. on every rank of a replicated lattice; @p global is not touched
 * elsewhere (may be NULL). For small lattices (lx * ly < 2^31). Collective on comm.
 */
invrg_err invrg_lattice_gather(const invrg_lattice *lat, int8_t *global);

/**
 * Sets the interior from @p global, read on rank 0 of comm (every rank if
 * replicated). Halos are left as they were: exchange them if needed.
 * Collective on comm.
 */
invrg_err invrg_lattice_scatter(invrg_lattice *lat, const int8_t *global);

/**
 * 64-bit checksum of the interior, the same for any grid and mode:
 * sum over sites of mix(global index, value) mod 2^64. Collective on comm.
 */
invrg_err invrg_lattice_checksum(const invrg_lattice *lat, uint64_t *sum);

/** The same checksum of a whole lx × ly row-major array. Not collective. */
uint64_t invrg_lattice_checksum_array(const int8_t *global, int64_t lx, int64_t ly);

#endif

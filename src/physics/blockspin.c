/* The b = 2 majority rule (docs/physics.md §3) on replicated and distributed lattices. */
#include "invrg/blockspin.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/rng.h"

const char *invrg_tie_rule_name(invrg_tie_rule rule) {
  return (unsigned)rule <= INVRG_TIE_UPPER_LEFT ? invrg_tie_rule_names[rule] : "unknown";
}

bool invrg_tie_rule_from_name(const char *name, invrg_tie_rule *rule) {
  int r;
  if (!invrg_choice_find(invrg_tie_rule_names, name, &r)) return false;
  *rule = (invrg_tie_rule)r;
  return true;
}

/*
 * The majority rule on a region of ncx × ncy coarse sites: fine row pointer
 * @p fine at the region's fine (0, 0), coarse output rows at @p coarse. The
 * region's first coarse site is global (xc0, yc0) of a coarse lattice lxc wide
 * (for the coin's site index). Returns the ties. A first pass takes the sign of
 * every block sum (vectorisable); ties (about 8 % at K_c) are decided after.
 */
static int64_t block_region(const int8_t *fine, ptrdiff_t fine_stride, int ncx, int ncy,
                            int64_t xc0, int64_t yc0, int64_t lxc, const invrg_blockspin_ties *t,
                            int8_t *coarse, ptrdiff_t coarse_stride) {
  invrg_rng_stream coins = {0};
  if (t->rule == INVRG_TIE_RANDOM)
    invrg_rng_stream_init(&coins, t->seed, INVRG_RNG_TIE, t->item, t->step);
  int64_t ties = 0;
  uint64_t block = UINT64_MAX; /* the row-coin block in w (a row's ties share blocks) */
  uint32_t w[4] = {0};
  for (int j = 0; j < ncy; j++) {
    const int8_t *r0 = fine + 2 * (ptrdiff_t)j * fine_stride, *r1 = r0 + fine_stride;
    int8_t *out = coarse + (ptrdiff_t)j * coarse_stride;
    for (int i = 0; i < ncx; i++) {
      int sum = r0[2 * i] + r0[2 * i + 1] + r1[2 * i] + r1[2 * i + 1];
      out[i] = (int8_t)((sum > 0) - (sum < 0));
    }
    for (int i = 0; i < ncx; i++) {
      if (out[i] != 0) continue;
      ties++;
      if (t->rule == INVRG_TIE_UP) {
        out[i] = 1;
      } else if (t->rule == INVRG_TIE_UPPER_LEFT) {
        out[i] = r0[2 * i];
      } else {
        const uint64_t X = (uint64_t)(xc0 + i), Y = (uint64_t)(yc0 + j);
        const uint64_t site = invrg_rng_row_coin_site(Y, X, (uint64_t)lxc);
        if (site != block) invrg_rng_u32x4(&coins, site, 0, w), block = site;
        out[i] = invrg_rng_row_coin_bit(w, X) ? 1 : -1;
      }
    }
  }
  return ties;
}

int64_t invrg_blockspin_array(const int8_t *fine, int64_t lx, int64_t ly,
                              const invrg_blockspin_ties *ties, int8_t *coarse) {
  return block_region(fine, (ptrdiff_t)lx, (int)(lx / 2), (int)(ly / 2), 0, 0, lx / 2, ties, coarse,
                      (ptrdiff_t)(lx / 2));
}

/*
 * Every rank's nx × ny block (contiguous rows) into the whole lx-wide array on
 * every rank of the grid communicator @p comm; blocks placed by grid position
 * (Cartesian dimension 0 is y, 1 is x).
 */
static invrg_err allgather_blocks(const int8_t *block, int nx, int ny, MPI_Comm comm, int64_t lx,
                                  int8_t *global) {
  invrg_err err = INVRG_SUCCESS;
  int8_t *all = NULL;
  int size;
  INVRG_MPI_CALL(MPI_Comm_size(comm, &size));
  const int n = nx * ny;
  all = malloc((size_t)n * (size_t)size);
  INVRG_CHECK_ALLOC(all);
  INVRG_MPI_CALL(MPI_Allgather(block, n, MPI_INT8_T, all, n, MPI_INT8_T, comm));
  for (int r = 0; r < size; r++) {
    int coords[2];
    INVRG_MPI_CALL(MPI_Cart_coords(comm, r, 2, coords));
    int8_t *dst =
        global + (size_t)coords[0] * (size_t)ny * (size_t)lx + (size_t)coords[1] * (size_t)nx;
    for (int j = 0; j < ny; j++)
      memcpy(dst + (size_t)j * (size_t)lx, all + (size_t)r * (size_t)n + (size_t)j * (size_t)nx,
             (size_t)nx);
  }
cleanup:
  free(all);
  return err;
}

/* The interior rows of @p lat into a contiguous nx-wide array. */
static void copy_interior(const invrg_lattice *lat, int8_t *out) {
  for (int j = 0; j < lat->ny; j++)
    memcpy(out + (size_t)j * (size_t)lat->nx, lat->data + invrg_lattice_index(lat, 0, j),
           (size_t)lat->nx);
}

/* The reverse: a contiguous nx-wide array into the interior rows of @p lat. */
static void set_interior(invrg_lattice *lat, const int8_t *in) {
  for (int j = 0; j < lat->ny; j++)
    memcpy(lat->data + invrg_lattice_index(lat, 0, j), in + (size_t)j * (size_t)lat->nx,
           (size_t)lat->nx);
}

invrg_err invrg_blockspin_allgather(const invrg_lattice *lat, int8_t *global) {
  invrg_err err = INVRG_SUCCESS;
  int8_t *block = NULL;
  INVRG_CHECK(lat->lx * lat->ly <= INT_MAX, INVRG_ERR_RUNTIME,
              "cannot gather a %lld x %lld lattice on every rank (2^31 sites at most)",
              (long long)lat->lx, (long long)lat->ly);
  if (lat->mode == INVRG_LATTICE_REPLICATED) {
    copy_interior(lat, global); /* the block is the whole lattice */
    goto cleanup;
  }
  block = malloc((size_t)lat->nx * (size_t)lat->ny);
  INVRG_CHECK_ALLOC(block);
  copy_interior(lat, block);
  INVRG_CALL(allgather_blocks(block, lat->nx, lat->ny, lat->comm, lat->lx, global));
cleanup:
  free(block);
  return err;
}

/* True if @p fine's local blocks can be blocked without their neighbours' sites. */
static bool blocks_are_local(const invrg_lattice *fine) {
  return fine->nx % 2 == 0 && fine->ny % 2 == 0 && fine->x0 % 2 == 0 && fine->y0 % 2 == 0;
}

invrg_err invrg_blockspin_create_coarse(const invrg_lattice *fine, const invrg_groups *g, int halo,
                                        invrg_lattice **coarse) {
  invrg_err err = INVRG_SUCCESS;
  *coarse = NULL;
  const int64_t lxc = fine->lx / 2, lyc = fine->ly / 2;
  INVRG_CHECK(fine->lx % 2 == 0 && fine->ly % 2 == 0, INVRG_ERR_RUNTIME,
              "block spin needs even sides, the lattice is %lld x %lld", (long long)fine->lx,
              (long long)fine->ly);
  if (fine->mode == INVRG_LATTICE_REPLICATED) {
    INVRG_CALL(invrg_lattice_create_replicated(lxc, lyc, halo, coarse));
    goto cleanup;
  }
  INVRG_CHECK(g != NULL && fine->nx == fine->lx / g->px && fine->ny == fine->ly / g->py,
              INVRG_ERR_RUNTIME, "block spin: the fine lattice is not distributed on this group");
  if (blocks_are_local(fine) && invrg_groups_can_distribute(g, lxc, lyc, halo)) {
    INVRG_CALL(invrg_lattice_create_distributed(g, lxc, lyc, halo, coarse));
    INVRG_CHECK((*coarse)->x0 == fine->x0 / 2 && (*coarse)->y0 == fine->y0 / 2, INVRG_ERR_RUNTIME,
                "block spin: coarse block (%lld, %lld) is not under fine block (%lld, %lld)",
                (long long)(*coarse)->x0, (long long)(*coarse)->y0, (long long)fine->x0,
                (long long)fine->y0);
  } else {
    INVRG_CALL(invrg_lattice_create_replicated(lxc, lyc, halo, coarse));
  }
cleanup:
  if (err != INVRG_SUCCESS) invrg_lattice_destroy(coarse);
  return err;
}

invrg_err invrg_blockspin_apply(const invrg_lattice *fine, const invrg_blockspin_ties *ties,
                                invrg_lattice *coarse, int64_t *n_ties) {
  invrg_err err = INVRG_SUCCESS;
  int8_t *buf = NULL, *whole = NULL;
  int64_t local_ties = 0, total_ties = 0;
  const int64_t lxc = fine->lx / 2;
  const ptrdiff_t fine_stride = fine->sx;
  const int8_t *fine_origin = fine->data + invrg_lattice_index(fine, 0, 0);
  INVRG_CHECK(coarse->lx == lxc && coarse->ly == fine->ly / 2, INVRG_ERR_RUNTIME,
              "block spin: a %lld x %lld lattice does not block into %lld x %lld",
              (long long)fine->lx, (long long)fine->ly, (long long)coarse->lx,
              (long long)coarse->ly);
  INVRG_CHECK(fine->mode == INVRG_LATTICE_DISTRIBUTED || coarse->mode == INVRG_LATTICE_REPLICATED,
              INVRG_ERR_RUNTIME, "block spin: a replicated lattice blocks into a replicated one");
  INVRG_CHECK(coarse->mode == INVRG_LATTICE_REPLICATED ||
                  (coarse->x0 == fine->x0 / 2 && coarse->y0 == fine->y0 / 2 &&
                   coarse->nx == fine->nx / 2 && coarse->ny == fine->ny / 2),
              INVRG_ERR_RUNTIME, "block spin: the coarse block is not under the fine block");
  int8_t *coarse_origin = coarse->data + invrg_lattice_index(coarse, 0, 0);

  if (fine->mode == INVRG_LATTICE_REPLICATED) {
    /* The whole lattice here: every rank computes it alike. */
    total_ties = block_region(fine_origin, fine_stride, coarse->nx, coarse->ny, 0, 0, lxc, ties,
                              coarse_origin, coarse->sx);
  } else if (coarse->mode == INVRG_LATTICE_DISTRIBUTED) {
    /* Same grid, half the block: each rank blocks its own sites, no messages. */
    local_ties = block_region(fine_origin, fine_stride, coarse->nx, coarse->ny, coarse->x0,
                              coarse->y0, lxc, ties, coarse_origin, coarse->sx);
    INVRG_MPI_CALL(MPI_Allreduce(&local_ties, &total_ties, 1, MPI_INT64_T, MPI_SUM, fine->comm));
  } else if (blocks_are_local(fine)) {
    /* Local coarse blocks, then the whole (small) coarse lattice on every rank. */
    const int ncx = fine->nx / 2, ncy = fine->ny / 2;
    buf = malloc((size_t)ncx * (size_t)ncy);
    INVRG_CHECK_ALLOC(buf);
    local_ties = block_region(fine_origin, fine_stride, ncx, ncy, fine->x0 / 2, fine->y0 / 2, lxc,
                              ties, buf, ncx);
    INVRG_MPI_CALL(MPI_Allreduce(&local_ties, &total_ties, 1, MPI_INT64_T, MPI_SUM, fine->comm));
    whole = malloc((size_t)coarse->lx * (size_t)coarse->ly);
    INVRG_CHECK_ALLOC(whole);
    INVRG_CALL(allgather_blocks(buf, ncx, ncy, fine->comm, coarse->lx, whole));
    set_interior(coarse, whole);
  } else {
    /* Blocks straddle ranks: gather the fine lattice and block it whole, on every rank. */
    whole = malloc((size_t)fine->lx * (size_t)fine->ly);
    INVRG_CHECK_ALLOC(whole);
    INVRG_CALL(invrg_blockspin_allgather(fine, whole));
    total_ties = block_region(whole, (ptrdiff_t)fine->lx, coarse->nx, coarse->ny, 0, 0, lxc, ties,
                              coarse_origin, coarse->sx);
  }
  INVRG_CALL(invrg_lattice_halo_exchange(coarse));
  if (n_ties) *n_ties = total_ties;
cleanup:
  free(buf);
  free(whole);
  return err;
}

invrg_err invrg_blockspin(const invrg_lattice *fine, const invrg_groups *g,
                          const invrg_blockspin_ties *ties, int halo, invrg_lattice **coarse,
                          int64_t *n_ties) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(invrg_blockspin_create_coarse(fine, g, halo, coarse));
  INVRG_CALL(invrg_blockspin_apply(fine, ties, *coarse, n_ties));
cleanup:
  if (err != INVRG_SUCCESS) invrg_lattice_destroy(coarse);
  return err;
}

/* Swendsen–Wang cluster update (PRL 58, 86 (1987)) on a replicated or distributed lattice.
 *
 * 1. Bonds: between equal neighbours, open with probability 1 − e^{−2K}. The
 *    number deciding bond (g, right) or (g, down) is a pure function of the
 *    global site g, so both blocks that touch a crossing bond agree on it.
 * 2. Clusters inside the block: union–find whose root is the smallest local
 *    index, which is also the smallest global index (local order = global order).
 * 3. Clusters across blocks: every root carries the smallest global index of
 *    its cluster seen so far; boundary labels are exchanged with the four
 *    neighbours and lowered through open crossing bonds until no label changes
 *    anywhere. Then every cluster is named by its smallest global site c.
 * 4. Flip: with the coin of block (c, draw 1) — the same on every rank.
 */
#include <stdlib.h>
#include <string.h>

#include "invrg/mc_update.h"
#include "physics/union_find.h"

enum { BOND_RIGHT = 1, BOND_DOWN = 2, BOND_LEFT = 4, BOND_UP = 8 };

struct invrg_sw {
  int nx, ny;
  bool split_x, split_y;   /* direction cut between ranks: bonds cross blocks */
  int32_t *parent;         /* union–find over interior sites, k = j*nx + i */
  uint32_t *words;         /* random blocks of one row, [4][nx] */
  uint32_t *words_above;   /* … of the row above the block, when it is on another rank */
  uint8_t *bonds;          /* BOND_* flags of open bonds of each interior site */
  int64_t *label;          /* at roots: smallest global index of the cluster known so far */
  /* Labels of the neighbours' boundary sites, received each merge round. */
  int64_t *send_buf, *recv_left, *recv_right, *recv_up, *recv_down;
  int left, right, up, down; /* neighbour ranks in lat->comm */
};

invrg_err invrg_sw_create(const invrg_lattice *lat, invrg_sw **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_sw *w = calloc(1, sizeof *w);
  INVRG_CHECK_ALLOC(w);
  size_t n = (size_t)lat->nx * (size_t)lat->ny;
  size_t edge = (size_t)(lat->nx > lat->ny ? lat->nx : lat->ny);
  w->nx = lat->nx;
  w->ny = lat->ny;
  w->split_x = lat->nx != lat->lx;
  w->split_y = lat->ny != lat->ly;
  w->parent = malloc(n * sizeof *w->parent);
  w->words = malloc(4 * (size_t)lat->nx * sizeof *w->words);
  w->words_above = malloc(4 * (size_t)lat->nx * sizeof *w->words_above);
  INVRG_CHECK_ALLOC(w->words);
  INVRG_CHECK_ALLOC(w->words_above);
  w->bonds = malloc(n * sizeof *w->bonds);
  w->label = malloc(n * sizeof *w->label);
  w->send_buf = malloc(edge * sizeof(int64_t));
  w->recv_left = malloc((size_t)lat->ny * sizeof(int64_t));
  w->recv_right = malloc((size_t)lat->ny * sizeof(int64_t));
  w->recv_up = malloc((size_t)lat->nx * sizeof(int64_t));
  w->recv_down = malloc((size_t)lat->nx * sizeof(int64_t));
  INVRG_CHECK_ALLOC(w->parent);
  INVRG_CHECK_ALLOC(w->bonds);
  INVRG_CHECK_ALLOC(w->label);
  INVRG_CHECK_ALLOC(w->send_buf);
  INVRG_CHECK_ALLOC(w->recv_left);
  INVRG_CHECK_ALLOC(w->recv_right);
  INVRG_CHECK_ALLOC(w->recv_up);
  INVRG_CHECK_ALLOC(w->recv_down);
  w->left = w->right = w->up = w->down = MPI_PROC_NULL;
  if (lat->mode == INVRG_LATTICE_DISTRIBUTED) {
    /* The grid's dimensions are (y, x), row-major like the lattice (groups.h). */
    INVRG_MPI_CALL(MPI_Cart_shift(lat->comm, 1, 1, &w->left, &w->right));
    INVRG_MPI_CALL(MPI_Cart_shift(lat->comm, 0, 1, &w->up, &w->down));
  }
cleanup:
  if (err != INVRG_SUCCESS) invrg_sw_destroy(&w);
  *out = w;
  return err;
}

void invrg_sw_destroy(invrg_sw **wp) {
  if (wp == NULL || *wp == NULL) return;
  invrg_sw *w = *wp;
  free(w->parent);
  free(w->words);
  free(w->words_above);
  free(w->bonds);
  free(w->label);
  free(w->send_buf);
  free(w->recv_left);
  free(w->recv_right);
  free(w->recv_up);
  free(w->recv_down);
  free(w);
  *wp = NULL;
}

/* ------------------------------------------------------------------ 1. bonds */

/* Opens the bonds of every interior site, crossing ones included; unites local ones. */
static void open_bonds(const invrg_lattice *lat, invrg_sw *w, const invrg_rng_stream *rs,
                       uint32_t threshold) {
  const int nx = w->nx, ny = w->ny;
  uint32_t *right_word = w->words, *down_word = w->words + nx; /* words 0 and 1 of each block */
  uint32_t *above_down_word = w->words_above + nx;
  if (w->split_y) /* the row above belongs to another rank: its down bonds reach into row 0 */
    invrg_rng_blocks_range(rs, invrg_lattice_global_site(lat, 0, -1), nx, 0, w->words_above,
                           (size_t)nx);
  for (int j = 0; j < ny; j++) {
    const int8_t *row = lat->data + invrg_lattice_index(lat, 0, j);
    const int8_t *below = row + lat->sx, *above = row - lat->sx;
    invrg_rng_blocks_range(rs, invrg_lattice_global_site(lat, 0, j), nx, 0, w->words, (size_t)nx);
    for (int i = 0; i < nx; i++) {
      int32_t k = j * nx + i;
      uint8_t b = (uint8_t)((row[i] == row[i + 1] && right_word[i] < threshold) * BOND_RIGHT |
                            (row[i] == below[i] && down_word[i] < threshold) * BOND_DOWN);
      if (j == 0 && w->split_y && above[i] == row[i] && above_down_word[i] < threshold)
        b |= BOND_UP;
      w->bonds[k] = b;
    }
    /* The left neighbour's right bond, when it lives on another rank. */
    if (w->split_x && row[-1] == row[0]) {
      uint32_t u[4];
      invrg_rng_u32x4(rs, invrg_lattice_global_site(lat, -1, j), 0, u);
      if (u[0] < threshold) w->bonds[j * nx] |= BOND_LEFT;
    }
  }
  for (int32_t k = 0; k < nx * ny; k++) w->parent[k] = k;
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++) {
      int32_t k = j * nx + i;
      if (w->bonds[k] & BOND_RIGHT) {
        if (i + 1 < nx)
          invrg_uf_unite(w->parent, k, k + 1);
        else if (!w->split_x) /* periodic wrap inside the block */
          invrg_uf_unite(w->parent, k, j * nx);
      }
      if (w->bonds[k] & BOND_DOWN) {
        if (j + 1 < ny)
          invrg_uf_unite(w->parent, k, k + nx);
        else if (!w->split_y)
          invrg_uf_unite(w->parent, k, i);
      }
    }
}

/* ------------------------------------------------------------------ 3. merge across blocks */

static int64_t root_label(invrg_sw *w, int32_t k) {
  return w->label[invrg_uf_find(w->parent, k)];
}

/* Sends labels of one boundary toward @p dest and receives the opposite neighbour's. */
static invrg_err shift_labels(invrg_sw *w, MPI_Comm comm, int n, int stride, int32_t first,
                              int dest, int source, int64_t *recv, int tag) {
  invrg_err err = INVRG_SUCCESS;
  for (int t = 0; t < n; t++) w->send_buf[t] = root_label(w, first + t * stride);
  INVRG_MPI_CALL(MPI_Sendrecv(w->send_buf, n, MPI_INT64_T, dest, tag, recv, n, MPI_INT64_T, source,
                              tag, comm, MPI_STATUS_IGNORE));
cleanup:
  return err;
}

/* Lowers the root label of local site k to @p candidate; true if it changed. */
static bool lower(invrg_sw *w, int32_t k, int64_t candidate) {
  int32_t r = invrg_uf_find(w->parent, k);
  if (candidate < w->label[r]) {
    w->label[r] = candidate;
    return true;
  }
  return false;
}

static invrg_err merge_across_blocks(const invrg_lattice *lat, invrg_sw *w) {
  invrg_err err = INVRG_SUCCESS;
  const int nx = w->nx, ny = w->ny;
  for (;;) {
    int changed = 0, any = 0;
    if (w->split_x) {
      /* My right column goes right (arrives as their left halo), my left column goes left. */
      INVRG_CALL(shift_labels(w, lat->comm, ny, nx, nx - 1, w->right, w->left, w->recv_left, 1));
      INVRG_CALL(shift_labels(w, lat->comm, ny, nx, 0, w->left, w->right, w->recv_right, 2));
      for (int j = 0; j < ny; j++) {
        if (w->bonds[j * nx] & BOND_LEFT) changed |= lower(w, j * nx, w->recv_left[j]);
        if (w->bonds[j * nx + nx - 1] & BOND_RIGHT)
          changed |= lower(w, j * nx + nx - 1, w->recv_right[j]);
      }
    }
    if (w->split_y) {
      INVRG_CALL(shift_labels(w, lat->comm, nx, 1, (ny - 1) * nx, w->down, w->up, w->recv_up, 3));
      INVRG_CALL(shift_labels(w, lat->comm, nx, 1, 0, w->up, w->down, w->recv_down, 4));
      for (int i = 0; i < nx; i++) {
        if (w->bonds[i] & BOND_UP) changed |= lower(w, i, w->recv_up[i]);
        if (w->bonds[(ny - 1) * nx + i] & BOND_DOWN)
          changed |= lower(w, (ny - 1) * nx + i, w->recv_down[i]);
      }
    }
    INVRG_MPI_CALL(MPI_Allreduce(&changed, &any, 1, MPI_INT, MPI_LOR, lat->comm));
    if (!any) break;
  }
cleanup:
  return err;
}

/* ------------------------------------------------------------------ the sweep */

invrg_err invrg_mc_sw_sweep(invrg_lattice *lat, const invrg_mc_chain *chain, uint64_t step,
                            invrg_sw *w, invrg_mc_counts *counts) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(chain->generator == INVRG_RNG_PHILOX, INVRG_ERR_INPUT,
              "Swendsen-Wang sweeps draw with Philox only (ARS is for multispin sweeps)");
  const int nx = w->nx, ny = w->ny;
  invrg_rng_stream rs;
  invrg_rng_stream_init(&rs, chain->seed, invrg_mc_chain_purpose(chain), chain->chain, step);
  open_bonds(lat, w, &rs, invrg_mc_bond_threshold(chain->K));

  /* A local root is its component's smallest site: its global index is the first label. */
  for (int j = 0; j < ny; j++) {
    uint64_t g = invrg_lattice_global_site(lat, 0, j);
    for (int i = 0; i < nx; i++) {
      int32_t k = j * nx + i;
      if (w->parent[k] == k) w->label[k] = (int64_t)(g + (uint64_t)i);
    }
  }
  if (w->split_x || w->split_y) INVRG_CALL(merge_across_blocks(lat, w));

  /* Each root decides its cluster's flip once; label[] is reused to hold the decision. */
  int64_t clusters = 0, flipped = 0;
  for (int j = 0; j < ny; j++) {
    uint64_t g = invrg_lattice_global_site(lat, 0, j);
    for (int i = 0; i < nx; i++) {
      int32_t k = j * nx + i;
      if (w->parent[k] != k) continue;
      int64_t c = w->label[k];
      clusters += c == (int64_t)(g + (uint64_t)i); /* counted where its smallest site lives */
      w->label[k] = invrg_rng_coin(&rs, (uint64_t)c, 1) ? -1 : 1;
    }
  }
  /* Roots are the smallest index of their tree, so parent[k] ≤ k: one forward pass
   * points every site straight at its root (its parent already does). */
  for (int32_t k = 0; k < nx * ny; k++) w->parent[k] = w->parent[w->parent[k]];
  for (int j = 0; j < ny; j++) {
    int8_t *row = lat->data + invrg_lattice_index(lat, 0, j);
    for (int i = 0; i < nx; i++) {
      int8_t factor = (int8_t)w->label[w->parent[j * nx + i]];
      row[i] = (int8_t)(row[i] * factor);
      flipped += factor < 0;
    }
  }
  int64_t local[2] = {clusters, flipped}, total[2] = {clusters, flipped};
  if (lat->mode == INVRG_LATTICE_DISTRIBUTED)
    INVRG_MPI_CALL(MPI_Allreduce(local, total, 2, MPI_INT64_T, MPI_SUM, lat->comm));
  counts->clusters += total[0];
  counts->spins_flipped += total[1];
  INVRG_CALL(invrg_lattice_halo_exchange(lat));
cleanup:
  return err;
}

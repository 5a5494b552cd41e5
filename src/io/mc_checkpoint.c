/* The state of stage mc in a checkpoint, /checkpoint/mc (mc_checkpoint.h). */
#include "invrg/mc_checkpoint.h"

#include <stdbool.h>
#include <stdlib.h>

#include "invrg/checkpoint_check.h"
#include "invrg/configs_io.h"
#include "invrg/corr_io.h"
#include "invrg/h5util.h"
#include "invrg/mc_record.h"
#include "invrg/mcrg_io.h"
#include "invrg/observables.h"

/* A chain in progress has a lattice and an updater in the checkpoint (a slot). */
static bool in_progress(int64_t done, int64_t n_samples) {
  return done >= 0 && done < n_samples;
}

static int64_t count_slots(const int64_t *done, int64_t n_chains, int64_t n_samples) {
  int64_t n_slots = 0;
  for (int64_t c = 0; c < n_chains; c++) n_slots += in_progress(done[c], n_samples);
  return n_slots;
}

/* done[chain] of all chains from each group's own. Collective on g->world. */
static invrg_err gather_done(const invrg_groups *g, const invrg_mc_chains_state *c,
                             int64_t *done) {
  invrg_err err = INVRG_SUCCESS;
  for (int64_t j = 0; j < c->n_chains; j++) done[j] = -1;
  for (int64_t k = 0; k < c->n_mine; k++) done[invrg_groups_item(g, k)] = c->done[k];
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, done, (int)c->n_chains, MPI_INT64_T, MPI_MAX,
                               g->world));
cleanup:
  return err;
}

/* records, lattices and updater: created by all, each row written by the ranks that hold it. */
static invrg_err write_chains(hid_t state, const invrg_groups *g, const invrg_lattice *lat,
                              const invrg_mc_chains_state *c, const int64_t *done) {
  invrg_err err = INVRG_SUCCESS;
  hid_t d_records = -1, d_lattices = -1, d_updater = -1;
  const int64_t n_slots = count_slots(done, c->n_chains, c->n_samples);
  const int64_t slots = n_slots > 0 ? n_slots : 1;
  const hsize_t rdims[2] = {(hsize_t)c->n_chains, (hsize_t)c->record_length},
                udims[2] = {(hsize_t)slots, INVRG_MC_UPDATER_FIELDS};
  INVRG_CALL(invrg_h5_create_dataset(state, "records", H5T_IEEE_F64LE, 2, rdims, &d_records));
  INVRG_CALL(invrg_configs_create(state, "lattices", slots, lat->lx, false, &d_lattices));
  INVRG_CALL(invrg_h5_create_dataset(state, "updater", H5T_STD_I64LE, 2, udims, &d_updater));
  const bool spins_writer = lat->mode == INVRG_LATTICE_DISTRIBUTED || g->rank == 0;
  int64_t slot = 0;
  for (int64_t j = 0; j < c->n_chains; j++) {
    const bool running = in_progress(done[j], c->n_samples);
    if (invrg_groups_item_owner(g, j) == g->group && done[j] >= 0) {
      const int64_t k = j / g->n_groups; /* chain j is the group's k-th item */
      if (g->rank == 0)
        INVRG_CALL(invrg_h5_write_rows(d_records, H5T_NATIVE_DOUBLE, (hsize_t)j, 1,
                                       c->records + (size_t)k * c->record_length));
      if (running && spins_writer)
        INVRG_CALL(invrg_configs_write(d_lattices, lat, false, slot, 1, c->spins[k]));
      if (running && g->rank == 0)
        INVRG_CALL(invrg_h5_write_rows(d_updater, H5T_NATIVE_INT64, (hsize_t)slot, 1,
                                       c->updater[k]));
    }
    slot += running;
  }
cleanup:
  invrg_h5_close(&d_records);
  invrg_h5_close(&d_lattices);
  invrg_h5_close(&d_updater);
  return err;
}

invrg_err invrg_mc_checkpoint_save(invrg_checkpoint *ck, invrg_ckpt_decision d,
                                   const invrg_groups *g, const invrg_lattice *lat,
                                   const invrg_mc_chains_state *chains,
                                   const invrg_mc_sizes_state *sizes) {
  invrg_err err = INVRG_SUCCESS;
  hid_t state = -1;
  const bool root = g->world_rank == 0;
  const size_t n_fss = (size_t)(sizes->size_index + 1) * sizes->blocks_per_size;
  int64_t *done = malloc((size_t)chains->n_chains * sizeof *done);
  INVRG_CHECK_ALLOC(done);
  INVRG_CALL(gather_done(g, chains, done));

  INVRG_CALL(invrg_checkpoint_begin(ck, &state));
  const int64_t size_index = sizes->size_index;
  INVRG_CALL(invrg_h5_attr_int64(state, "size_index", &size_index, 1, true));
  INVRG_CALL(invrg_h5_write_int64(state, "done", done, (size_t)chains->n_chains, root));
  INVRG_CALL(write_chains(state, g, lat, chains, done));
  INVRG_CALL(invrg_h5_write_int64(state, "fss_sizes", sizes->fss_sizes, n_fss, root));
  const hsize_t fdims[1] = {(hsize_t)(n_fss * INVRG_N_PRIMARY)};
  INVRG_CALL(invrg_h5_dataset_doubles(state, "fss_means", 1, fdims, sizes->fss_means, root));
  if (sizes->mcrg != NULL) INVRG_CALL(invrg_mcrg_save(sizes->mcrg, state, "mcrg", g->world));
  if (sizes->corr != NULL) INVRG_CALL(invrg_corr_save(sizes->corr, state, "corr", g->world));
  INVRG_CALL(invrg_checkpoint_end(ck, &state, d));
cleanup:
  invrg_h5_close(&state);
  free(done);
  return err;
}

invrg_err invrg_mc_checkpoint_read_sizes(hid_t state, int n_L, invrg_mc_sizes_state *sizes) {
  invrg_err err = INVRG_SUCCESS;
  hid_t d = -1;
  int64_t index = 0;
  INVRG_CALL(invrg_h5_read_int64_attr(state, "size_index", &index));
  INVRG_CHECK(index >= 0 && index < n_L, INVRG_ERR_RUNTIME,
              "checkpoint: size_index %lld out of range", (long long)index);
  sizes->size_index = (int)index;
  const size_t n = (size_t)(index + 1) * sizes->blocks_per_size;
  INVRG_CALL(invrg_h5_read_int64(state, "fss_sizes", sizes->fss_sizes, n));
  const hsize_t fdims[1] = {(hsize_t)(n * INVRG_N_PRIMARY)};
  INVRG_CALL(invrg_h5_open_dataset(state, "fss_means", 1, fdims, &d));
  INVRG_CALL(invrg_h5_read_rows(d, H5T_NATIVE_DOUBLE, 0, n * INVRG_N_PRIMARY, sizes->fss_means));
  if (sizes->corr != NULL) INVRG_CALL(invrg_corr_load(sizes->corr, state, "corr"));
cleanup:
  invrg_h5_close(&d);
  return err;
}

/* Local chain k in progress: its spins (allocated here) and updater from @p slot. */
static invrg_err read_parked(hid_t d_lattices, hid_t d_updater, const invrg_lattice *lat,
                             int64_t slot, invrg_mc_chains_state *c, int64_t k) {
  invrg_err err = INVRG_SUCCESS;
  c->spins[k] = malloc(invrg_configs_block_bytes(lat, false));
  INVRG_CHECK_ALLOC(c->spins[k]);
  INVRG_CALL(invrg_configs_read_block(d_lattices, lat, slot, c->spins[k]));
  INVRG_CALL(invrg_h5_read_rows(d_updater, H5T_NATIVE_INT64, (hsize_t)slot, 1, c->updater[k]));
cleanup:
  return err;
}

invrg_err invrg_mc_checkpoint_read_chains(hid_t state, const invrg_groups *g,
                                          const invrg_lattice *lat, invrg_mc_chains_state *c,
                                          invrg_mcrg *mcrg) {
  invrg_err err = INVRG_SUCCESS;
  hid_t d_records = -1, d_lattices = -1, d_updater = -1;
  int64_t *done = malloc((size_t)c->n_chains * sizeof *done);
  INVRG_CHECK_ALLOC(done);
  INVRG_CALL(invrg_h5_read_int64(state, "done", done, (size_t)c->n_chains));
  const int64_t n_slots = count_slots(done, c->n_chains, c->n_samples);
  const hsize_t slots = (hsize_t)(n_slots > 0 ? n_slots : 1);
  const hsize_t rdims[2] = {(hsize_t)c->n_chains, (hsize_t)c->record_length},
                ldims[3] = {slots, (hsize_t)lat->ly, (hsize_t)lat->lx},
                udims[2] = {slots, INVRG_MC_UPDATER_FIELDS};
  INVRG_CALL(invrg_h5_open_dataset(state, "records", 2, rdims, &d_records));
  INVRG_CALL(invrg_h5_open_dataset(state, "lattices", 3, ldims, &d_lattices));
  INVRG_CALL(invrg_h5_open_dataset(state, "updater", 2, udims, &d_updater));
  int64_t slot = 0;
  for (int64_t j = 0; j < c->n_chains; j++) {
    const bool running = in_progress(done[j], c->n_samples);
    if (invrg_groups_item_owner(g, j) == g->group && done[j] >= 0) {
      const int64_t k = j / g->n_groups;
      c->done[k] = done[j];
      INVRG_CALL(invrg_h5_read_rows(d_records, H5T_NATIVE_DOUBLE, (hsize_t)j, 1,
                                    c->records + (size_t)k * c->record_length));
      if (running) INVRG_CALL(read_parked(d_lattices, d_updater, lat, slot, c, k));
    }
    slot += running;
  }
  if (mcrg != NULL) INVRG_CALL(invrg_mcrg_load(mcrg, state, "mcrg"));
cleanup:
  invrg_h5_close(&d_records);
  invrg_h5_close(&d_lattices);
  invrg_h5_close(&d_updater);
  free(done);
  return err;
}

/* ------------------------------------------------------------------ checks before a run */

/* Dataset @p name of /checkpoint/mc has the dimensions @p want, else an input error that names
 * the file and the dataset (HDF5 would say only "another shape", deep in the stage). */
static invrg_err check_shape(hid_t state, const char *name, int rank, const hsize_t *want,
                             const invrg_config *cfg, const char *path) {
  return invrg_checkpoint_check_shape(state, "mc", name, rank, want, cfg, path);
}

/* The parked lattices are one per chain in progress (at least one slot, empty when none is):
 * another count means an edited done (or lattices), said in those words rather than as a
 * shape the counters imply. */
static invrg_err check_parked_count(hid_t state, int64_t n_slots, const invrg_config *cfg,
                                    const char *path) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dset = -1, space = -1;
  hsize_t dims[3] = {0, 0, 0};
  if (H5Lexists(state, "lattices", H5P_DEFAULT) <= 0) goto cleanup; /* the shape check says */
  INVRG_H5_CALL(dset = H5Dopen2(state, "lattices", H5P_DEFAULT), "lattices");
  INVRG_H5_CALL(space = H5Dget_space(dset), "lattices");
  const hsize_t slots = (hsize_t)(n_slots > 0 ? n_slots : 1);
  const bool three = H5Sget_simple_extent_ndims(space) == 3 &&
                     H5Sget_simple_extent_dims(space, dims, NULL) == 3;
  if (three && dims[0] != slots)
    err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/mc/done has %lld chains in progress, "
                                   "but /checkpoint/mc/lattices parks %llu lattice%s",
                                   (long long)n_slots, (unsigned long long)dims[0],
                                   dims[0] == 1 ? "" : "s");
cleanup:
  invrg_h5_close(&space);
  invrg_h5_close(&dset);
  return err;
}

/* The counters: size_index an index into &mc L, each chain's done within -1 … n_samples.
 * Collective (metadata); *index and done[] set. */
static invrg_err check_counters(hid_t state, const invrg_config *cfg, const char *path,
                                int64_t *index, int64_t *done) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t n_chains = cfg->mc.n_chains, n_samples = cfg->mc.n_samples;
  bool has_index = false;
  INVRG_CALL(invrg_h5_attr_exists(state, "size_index", &has_index));
  if (!has_index) {
    err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/mc has no attribute size_index");
    goto cleanup;
  }
  if (invrg_h5_read_int64_attr(state, "size_index", index) != INVRG_SUCCESS) {
    invrg_error_clear(); /* said here, naming the file */
    err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/mc attribute size_index is not one "
                                   "integer");
    goto cleanup;
  }
  if (*index < 0 || *index >= cfg->mc.n_L) {
    err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/mc size_index = %lld is outside 0 … "
                                   "%d, the sizes of &mc L", (long long)*index, cfg->mc.n_L - 1);
    goto cleanup;
  }
  INVRG_CALL(invrg_checkpoint_read_counters(state, "mc", "done", n_chains, done, cfg, path));
  for (int64_t c = 0; c < n_chains && err == INVRG_SUCCESS; c++)
    if (done[c] < -1 || done[c] > n_samples)
      err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/mc/done holds %lld samples for "
                                     "chain %lld, outside -1 (not started) … n_samples = %lld",
                                     (long long)done[c], (long long)c, (long long)n_samples);
cleanup:
  return err;
}

/* The chain whose lattice is parked in @p slot (the chains in progress, in chain order). */
static int64_t chain_of_slot(const int64_t *done, int64_t n_chains, int64_t n_samples,
                             int64_t slot) {
  int64_t c = 0;
  for (int64_t seen = -1; c < n_chains; c++)
    if (in_progress(done[c], n_samples) && ++seen == slot) break;
  return c;
}

/* The first value of the parked lattices [slot0, slot1) of @p dset that is not a spin, read a
 * few rows at a time (a lattice may be larger than the memory left). Not collective. */
static invrg_err find_non_spin(hid_t dset, int64_t slot0, int64_t slot1, int64_t L,
                               invrg_non_spin *bad) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t rows_in_1mib = (1 << 20) / L > 0 ? (1 << 20) / L : 1;
  const int64_t rows = L < rows_in_1mib ? L : rows_in_1mib;
  uint8_t *buf = malloc((size_t)(rows * L));
  INVRG_CHECK_ALLOC(buf);
  for (int64_t slot = slot0; slot < slot1 && bad->config == INVRG_NO_NON_SPIN; slot++)
    for (int64_t y = 0; y < L && bad->config == INVRG_NO_NON_SPIN; y += rows) {
      const int64_t ny = y + rows <= L ? rows : L - y;
      INVRG_CALL(invrg_h5_read_block3(dset, H5T_NATIVE_INT8, (hsize_t)slot, 1, (hsize_t)y,
                                      (hsize_t)ny, 0, (hsize_t)L, buf));
      invrg_non_spin_note(bad, slot, buf, L, ny, 0, y);
    }
cleanup:
  free(buf);
  return err;
}

/* The first value that is not a spin in all @p n_slots parked lattices, on every rank: each
 * rank reads its share of the slots (a restart of a big run would otherwise wait for one rank
 * to read them all), the lowest slot with one wins, and its reader tells the others. */
static invrg_err first_non_spin(hid_t dset, int64_t n_slots, int64_t L, MPI_Comm world,
                                invrg_non_spin *bad) {
  invrg_err err = INVRG_SUCCESS;
  int rank = 0, size = 1;
  INVRG_MPI_CALL(MPI_Comm_rank(world, &rank));
  INVRG_MPI_CALL(MPI_Comm_size(world, &size));
  const int64_t slot0 = n_slots * rank / size, slot1 = n_slots * (rank + 1) / size;
  err = find_non_spin(dset, slot0, slot1, L, bad);
  INVRG_CALL(invrg_error_agree(err, world));
  int64_t first = bad->config != INVRG_NO_NON_SPIN ? bad->config : INT64_MAX;
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT64_T, MPI_MIN, world));
  if (first == INT64_MAX) goto cleanup; /* every lattice holds spins only */
  int owner = 0; /* the rank whose share holds slot `first` */
  while (owner + 1 < size && n_slots * (owner + 1) / size <= first) owner++;
  int64_t found[4] = {bad->config, bad->x, bad->y, bad->value};
  INVRG_MPI_CALL(MPI_Bcast(found, 4, MPI_INT64_T, owner, world));
  *bad = (invrg_non_spin){found[0], found[1], found[2], found[3]};
cleanup:
  return err;
}

invrg_err invrg_mc_checkpoint_check(hid_t state, const invrg_config *cfg, const char *path,
                                    MPI_Comm world) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t n_chains = cfg->mc.n_chains, B = cfg->mc.blocks_per_chain;
  int64_t index = 0, *done = malloc((size_t)n_chains * sizeof *done);
  hid_t lattices = -1;
  invrg_non_spin bad = INVRG_NON_SPIN_NONE;
  INVRG_CHECK_ALLOC(done);
  INVRG_CALL(check_counters(state, cfg, path, &index, done));
  const int64_t L = cfg->mc.L[index], n_slots = count_slots(done, n_chains, cfg->mc.n_samples);
  const hsize_t slots = (hsize_t)(n_slots > 0 ? n_slots : 1), blocks = (hsize_t)(index + 1) *
                                                                       (hsize_t)(n_chains * B);
  const hsize_t rdims[2] = {(hsize_t)n_chains, invrg_mc_record_length(B)},
                ldims[3] = {slots, (hsize_t)L, (hsize_t)L},
                udims[2] = {slots, INVRG_MC_UPDATER_FIELDS}, fdims[1] = {blocks},
                mdims[1] = {blocks * INVRG_N_PRIMARY};
  INVRG_CALL(check_shape(state, "records", 2, rdims, cfg, path));
  INVRG_CALL(check_parked_count(state, n_slots, cfg, path));
  INVRG_CALL(check_shape(state, "lattices", 3, ldims, cfg, path));
  INVRG_CALL(invrg_checkpoint_check_integers(state, "mc", "lattices", true, cfg, path));
  INVRG_CALL(check_shape(state, "updater", 2, udims, cfg, path));
  INVRG_CALL(check_shape(state, "fss_sizes", 1, fdims, cfg, path));
  INVRG_CALL(check_shape(state, "fss_means", 1, mdims, cfg, path));
  INVRG_H5_CALL(lattices = H5Dopen2(state, "lattices", H5P_DEFAULT), "lattices"); /* by all */
  INVRG_CALL(first_non_spin(lattices, n_slots, L, world, &bad));
  if (bad.config != INVRG_NO_NON_SPIN) /* the same on every rank */
    err = invrg_checkpoint_damaged(
        cfg, path, "/checkpoint/mc/lattices: lattice %lld (chain %lld) holds the value %lld at "
        "(x, y) = (%lld, %lld), which is not a spin (+1 or -1)", (long long)bad.config,
        (long long)chain_of_slot(done, n_chains, cfg->mc.n_samples, bad.config),
        (long long)bad.value, (long long)bad.x, (long long)bad.y);
  INVRG_CALL(invrg_error_agree(err, world));
cleanup:
  invrg_h5_close(&lattices);
  free(done);
  return err;
}

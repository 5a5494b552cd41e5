/* Wolff single-cluster update (U. Wolff, PRL 62, 361 (1989)) on a replicated lattice. */
#include <math.h>
#include <stdlib.h>

#include "invrg/mc_update.h"

uint32_t invrg_mc_bond_threshold(double K) {
  /* P(u32 < t) = t / 2^32 with t = round((1 − e^{−2K}) 2^32). */
  double t = nearbyint(-expm1(-2 * K) * 4294967296.0);
  return t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
}

invrg_err invrg_wolff_create(int64_t lx, int64_t ly, invrg_wolff **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_wolff *w = calloc(1, sizeof *w);
  INVRG_CHECK_ALLOC(w);
  INVRG_CHECK(lx <= 65536 && ly <= 65536, INVRG_ERR_INPUT,
              "Wolff lattice %lld x %lld is too large for one rank; use algorithm 'sw'",
              (long long)lx, (long long)ly);
  w->lx = lx;
  w->ly = ly;
  invrg_wolff_reset(w);
  /* A frontier never holds a site twice; + 4 for the tentative writes past its end. */
  w->frontier = malloc((size_t)(lx * ly + 4) * sizeof *w->frontier);
  w->next = malloc((size_t)(lx * ly + 4) * sizeof *w->next);
  INVRG_CHECK_ALLOC(w->frontier);
  INVRG_CHECK_ALLOC(w->next);
  /* Periodic neighbours by table: no compare-and-wrap in the hot loop. */
  w->next_x = malloc((size_t)lx * sizeof *w->next_x);
  w->prev_x = malloc((size_t)lx * sizeof *w->prev_x);
  w->next_y = malloc((size_t)ly * sizeof *w->next_y);
  w->prev_y = malloc((size_t)ly * sizeof *w->prev_y);
  INVRG_CHECK_ALLOC(w->next_x);
  INVRG_CHECK_ALLOC(w->prev_x);
  INVRG_CHECK_ALLOC(w->next_y);
  INVRG_CHECK_ALLOC(w->prev_y);
  for (int64_t x = 0; x < lx; x++) {
    w->next_x[x] = (int32_t)((x + 1) % lx);
    w->prev_x[x] = (int32_t)((x + lx - 1) % lx);
  }
  for (int64_t y = 0; y < ly; y++) {
    w->next_y[y] = (int32_t)((y + 1) % ly);
    w->prev_y[y] = (int32_t)((y + ly - 1) % ly);
  }
cleanup:
  if (err != INVRG_SUCCESS) invrg_wolff_destroy(&w);
  *out = w;
  return err;
}

void invrg_wolff_destroy(invrg_wolff **w) {
  if (w == NULL || *w == NULL) return;
  free((*w)->frontier);
  free((*w)->next);
  free((*w)->next_x);
  free((*w)->prev_x);
  free((*w)->next_y);
  free((*w)->prev_y);
  free(*w);
  *w = NULL;
}

void invrg_wolff_reset(invrg_wolff *w) {
  w->clusters = 0;
  w->flipped = 0;
  w->clusters_per_sweep = 0;
}

/* Frontier entries pack a site as (y << 16) | x: no division in the hot loop (L ≤ 65536). */
static inline uint32_t pack_site(int x, int y) { return (uint32_t)y << 16 | (uint32_t)x; }

/*
 * Builds and flips one cluster; returns its size. The halo is not touched.
 * The cluster is the set of sites reachable from the seed through tests that
 * pass, and each test has its own number, so the order of growth does not
 * change it: growing breadth-first lets the random blocks of a whole frontier
 * be computed at once (eight per AVX2 instruction stream).
 */
static int64_t one_cluster(invrg_lattice *lat, invrg_rng_stream *chain_stream, uint64_t step,
                           uint32_t threshold, invrg_wolff *w) {
  const int lx = (int)lat->lx, ly = (int)lat->ly, sx = lat->sx;
  int8_t *s0 = lat->data + invrg_lattice_index(lat, 0, 0); /* site (x, y) at s0[y*sx + x] */
  invrg_rng_stream rs = *chain_stream;
  invrg_rng_stream_set_step(&rs, step);

  uint32_t seed_words[4];
  invrg_rng_u32x4(&rs, 0, 1, seed_words);
  uint64_t seed_site = (((uint64_t)seed_words[0] << 32) | seed_words[1]) % (uint64_t)(lx * ly);
  int x0 = (int)(seed_site % (uint64_t)lx), y0 = (int)(seed_site / (uint64_t)lx);

  /* A site joins the cluster when it is flipped; "still has the old spin" means "not in it". */
  const int8_t old = s0[y0 * sx + x0];
  s0[y0 * sx + x0] = (int8_t)-old;
  uint32_t *frontier = w->frontier, *next = w->next;
  int64_t n_frontier = 1, size = 1;
  frontier[0] = pack_site(x0, y0);
  while (n_frontier > 0) {
    int64_t n_next = 0;
    for (int64_t first = 0; first < n_frontier; first += INVRG_WOLFF_CHUNK) {
      int n = (int)(n_frontier - first < INVRG_WOLFF_CHUNK ? n_frontier - first : INVRG_WOLFF_CHUNK);
      for (int i = 0; i < n; i++) {
        uint32_t site = frontier[first + i];
        w->sites[i] = (uint64_t)(site >> 16) * (uint64_t)lx + (site & 0xffff);
      }
      invrg_rng_blocks_list(&rs, w->sites, n, 0, w->words, INVRG_WOLFF_CHUNK);
      for (int i = 0; i < n; i++) {
        uint32_t site = frontier[first + i];
        int x = (int)(site & 0xffff), y = (int)(site >> 16);
        const int nx[4] = {w->next_x[x], x, w->prev_x[x], x};
        const int ny[4] = {y, w->next_y[y], y, w->prev_y[y]};
        /* Add an aligned neighbour with P = 1 − e^{−2K}; words (right, down, left, up).
         * Written without branches: the outcome is a coin flip no predictor can learn. */
        for (int d = 0; d < 4; d++) {
          int8_t *t = &s0[ny[d] * sx + nx[d]];
          int add = (*t == old) & (w->words[d * INVRG_WOLFF_CHUNK + i] < threshold);
          *t = (int8_t)(*t * (1 - 2 * add));
          next[n_next] = pack_site(nx[d], ny[d]);
          n_next += add;
        }
      }
    }
    size += n_next;
    uint32_t *t = frontier;
    frontier = next, next = t, n_frontier = n_next;
  }
  return size;
}

/* Runs @p n clusters, or if n < 0, clusters until w->flipped reaches @p flip_target. */
static void run_clusters(invrg_lattice *lat, const invrg_mc_chain *chain, int64_t n,
                         int64_t flip_target, invrg_wolff *w, invrg_mc_counts *counts) {
  invrg_rng_stream rs; /* one key per chain: the cluster number goes into the counter */
  invrg_rng_stream_init(&rs, chain->seed, INVRG_RNG_MC, chain->chain, 0);
  const uint32_t threshold = invrg_mc_bond_threshold(chain->K);
  for (int64_t c = 0; n >= 0 ? c < n : w->flipped < flip_target; c++) {
    int64_t size = one_cluster(lat, &rs, w->clusters++, threshold, w);
    w->flipped += size;
    counts->spins_flipped += size;
    counts->clusters += 1;
  }
}

invrg_err invrg_mc_wolff_thermalize(invrg_lattice *lat, const invrg_mc_chain *chain,
                                    int64_t n_sweeps, invrg_wolff *w, invrg_mc_counts *counts) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t N = w->lx * w->ly;
  /* First half: relax. From a random start the first clusters are tiny, and counting them
   * would make "a sweep" far too many clusters. Second half (at least one sweep): measure. */
  const int64_t relax = n_sweeps / 2, measure = n_sweeps - relax > 1 ? n_sweeps - relax : 1;
  run_clusters(lat, chain, -1, w->flipped + relax * N, w, counts);
  const uint64_t clusters_before = w->clusters;
  const int64_t flipped_before = w->flipped;
  run_clusters(lat, chain, -1, w->flipped + measure * N, w, counts);
  /* clusters per sweep = N / ⟨cluster size⟩, measured over the second half */
  double mean_size = (double)(w->flipped - flipped_before) / (double)(w->clusters - clusters_before);
  w->clusters_per_sweep = (int64_t)nearbyint((double)N / mean_size);
  if (w->clusters_per_sweep < 1) w->clusters_per_sweep = 1;
  INVRG_CALL(invrg_lattice_halo_exchange(lat)); /* replicated: a periodic copy, no messages */
cleanup:
  return err;
}

invrg_err invrg_mc_wolff_sweeps(invrg_lattice *lat, const invrg_mc_chain *chain, int64_t n_sweeps,
                                invrg_wolff *w, invrg_mc_counts *counts) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(w->clusters_per_sweep > 0, INVRG_ERR_RUNTIME,
              "Wolff sweeps before thermalisation fixed the clusters per sweep");
  run_clusters(lat, chain, n_sweeps * w->clusters_per_sweep, 0, w, counts);
  INVRG_CALL(invrg_lattice_halo_exchange(lat));
cleanup:
  return err;
}

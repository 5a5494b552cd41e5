/*
 * Wolff single-cluster update (U. Wolff, PRL 62, 361 (1989)) on a replicated lattice.
 *
 * The random numbers a cluster uses are laid down in mc_update.h. Speed comes from a
 * short inner loop: a work copy of the spins as bytes 0/1 in rows of a power-of-two
 * stride (neighbours by masks), sites flipped as they join (no marker to clear),
 * bond tests without branches (a site's four at once, or one after another: whichever a
 * timed trial finds faster on this CPU), and random numbers spent only on tests that are made.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "invrg/mc_update.h"
#include "invrg/ticks.h"

/* Room before a batch of bond-test outcomes for those left from the batch before (< 4). */
#define WOLFF_LEFT 16

uint32_t invrg_mc_bond_threshold(double K) {
  /* P(u32 < t) = t / 2^32 with t = round((1 − e^{−2K}) 2^32); K ≤ 0: never. */
  double t = nearbyint(-expm1(-2 * K) * 4294967296.0);
  return t <= 0 ? 0 : t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
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
  /* Rows of a power-of-two stride: x = i & (stride − 1), no division in the hot loop.
   * A site index fits in 32 bits: stride · ly ≤ 2^16 · 2^16. */
  w->stride = 1;
  while (w->stride < (uint32_t)lx) w->stride *= 2;
  w->spins = calloc((size_t)w->stride * (size_t)ly, 1);
  /* A site joins at most once; + 1 for the tentative write past the end of a full queue. */
  w->queue = malloc((size_t)(lx * ly + 1) * sizeof *w->queue);
  /* Batches start on a cache line, after a line of room for leftovers. */
  w->open = aligned_alloc(64, (WOLFF_LEFT + 4 * INVRG_WOLFF_BATCH) * sizeof *w->open);
  INVRG_CHECK_ALLOC(w->spins);
  INVRG_CHECK_ALLOC(w->queue);
  INVRG_CHECK_ALLOC(w->open);
cleanup:
  if (err != INVRG_SUCCESS) invrg_wolff_destroy(&w);
  *out = w;
  return err;
}

void invrg_wolff_destroy(invrg_wolff **w) {
  if (w == NULL || *w == NULL) return;
  free((*w)->spins);
  free((*w)->queue);
  free((*w)->open);
  free(*w);
  *w = NULL;
}

void invrg_wolff_reset(invrg_wolff *w) {
  w->clusters = 0;
  w->flipped = 0;
  w->clusters_per_sweep = 0;
}

/* The work copy holds b = (1 − s)/2 of spin s at i = y·stride + x, for one run of clusters. */
static void spins_in(const invrg_lattice *lat, invrg_wolff *w) {
  const int lx = (int)w->lx, ly = (int)w->ly;
  for (int y = 0; y < ly; y++) {
    const int8_t *restrict row = lat->data + invrg_lattice_index(lat, 0, y);
    uint8_t *restrict b = w->spins + (size_t)y * w->stride;
    for (int x = 0; x < lx; x++) b[x] = row[x] < 0;
  }
}

static void spins_out(invrg_lattice *lat, const invrg_wolff *w) {
  const int lx = (int)w->lx, ly = (int)w->ly;
  for (int y = 0; y < ly; y++) {
    int8_t *restrict row = lat->data + invrg_lattice_index(lat, 0, y);
    const uint8_t *restrict b = w->spins + (size_t)y * w->stride;
    for (int x = 0; x < lx; x++) row[x] = (int8_t)(1 - 2 * b[x]);
  }
}

/* The shape of the work copy: row length, row stride 2^k ≥ lx, and stride · ly. */
typedef struct {
  size_t lx, stride, end;
} grid;

/*
 * Neighbours right, down, left, up of site i, periodic, without branches. When
 * lx = stride and ly are powers of two, wrapping is a mask: x ± 1 mod lx and
 * i ± stride mod end. Otherwise compare and select.
 */
static inline __attribute__((always_inline)) void neighbours(grid g, size_t i, bool pow2,
                                                             size_t nb[4]) {
  const size_t xmask = g.stride - 1, x = i & xmask, row = i - x;
  if (pow2) {
    nb[0] = row | ((i + 1) & xmask);
    nb[1] = (i + g.stride) & (g.end - 1);
    nb[2] = row | ((i - 1) & xmask);
    nb[3] = (i - g.stride) & (g.end - 1);
  } else {
    nb[0] = x + 1 == g.lx ? row : i + 1;
    nb[1] = row + g.stride == g.end ? x : i + g.stride;
    nb[2] = x == 0 ? i + g.lx - 1 : i - 1;
    nb[3] = row == 0 ? g.end - g.stride + x : i - g.stride;
  }
}

/*
 * The bond-test numbers of a cluster come in batches: blocks (b, draw 0) for the
 * next n values of b (n = 16, 32, … up to INVRG_WOLFF_BATCH), read word-major.
 * Each word u becomes its test's outcome, "open" = [u < T] with T the bond
 * threshold: P(open) = 1 − e^{−2K}. The fewer than four outcomes still unused
 * move to just before the new batch, so the sequence runs on without a gap.
 * Returns where the next unused outcome now is; *end is one past the last.
 */
static const uint32_t *next_batch(invrg_wolff *w, const invrg_rng_stream *rs, uint32_t threshold,
                                  const uint32_t *next, const uint32_t **end, uint64_t *block,
                                  uint32_t *size) {
  uint32_t *restrict batch = w->open + WOLFF_LEFT;
  const ptrdiff_t first = next - batch, unused = *end - next;
  for (ptrdiff_t k = 0; k < unused; k++) batch[k - unused] = batch[first + k];
  const uint32_t n = *size == 0 ? 16 : *size < INVRG_WOLFF_BATCH ? 2 * *size : INVRG_WOLFF_BATCH;
  invrg_rng_blocks_range(rs, *block, (int)n, 0, batch, n);
  for (uint32_t k = 0; k < 4 * n; k++) batch[k] = batch[k] < threshold;
  *block += n, *size = n;
  *end = batch + 4 * n;
  return batch - unused;
}

/* Tests: every cluster grown one way (AUTO: as runs grow them). */
static invrg_wolff_growth forced_growth = INVRG_WOLFF_GROW_AUTO;

void invrg_wolff_test_growth(invrg_wolff_growth growth) { forced_growth = growth; }

invrg_wolff_growth invrg_wolff_growth_of(const invrg_wolff *w) {
  return (invrg_wolff_growth)w->growth;
}

/*
 * Grows and flips the cluster of site @p seed, whose spin becomes @p flipped;
 * returns the cluster's size. The queue holds the cluster's sites in the order
 * they joined: those before `head` have tested their neighbours, those from
 * `head` to `tail` wait. A site is flipped as it joins, so "still has the old
 * spin" means "aligned and not yet in the cluster": nothing to clear after.
 * With @p four_at_once (both sides ≥ 3: a site's four neighbours are four
 * different sites) a site's four tests read their spins together.
 */
static inline __attribute__((always_inline)) size_t grow(invrg_wolff *w, grid g, bool pow2,
                                                         bool four_at_once,
                                                         const invrg_rng_stream *rs,
                                                         uint32_t threshold, size_t seed,
                                                         uint32_t flipped) {
  uint8_t *restrict s = w->spins;
  uint32_t *restrict queue = w->queue;
  s[seed] = (uint8_t)flipped;
  queue[0] = (uint32_t)seed;
  uint32_t *head = queue, *tail = queue + 1;
  /* the next test's outcome and one past the batch: none yet */
  const uint32_t *open = w->open + WOLFF_LEFT, *end = open;
  uint64_t block = 0;
  uint32_t n = 0;
  while (head < tail) {
    if (end - open < 4) open = next_batch(w, rs, threshold, open, &end, &block, &n);
    size_t nb[4];
    neighbours(g, *head++, pow2, nb);
    /* a = 1 when the neighbour is aligned (s ⊕ flipped = 1): test it, with the next outcome.
     * No branches: the result is a coin flip no predictor can learn. */
    if (four_at_once) {
      /* No test of this site changes a spin another one reads, so the four spins load at
       * once and the outcomes' places are a prefix sum of the a's: the same outcomes, in
       * the same order, as one test after another, without a chain of dependent loads. */
      uint32_t sj[4], a[4];
      for (int d = 0; d < 4; d++) sj[d] = s[nb[d]], a[d] = sj[d] ^ flipped;
      const uint32_t at1 = a[0], at2 = at1 + a[1], at3 = at2 + a[2];
      const uint32_t join[4] = {open[0] & a[0], open[at1] & a[1], open[at2] & a[2],
                                open[at3] & a[3]};
      open += at3 + a[3];
      for (int d = 0; d < 4; d++) {
        s[nb[d]] = (uint8_t)(sj[d] ^ join[d]);
        *tail = (uint32_t)nb[d]; /* kept only if it joins */
        tail += join[d];
      }
      continue;
    }
    for (int d = 0; d < 4; d++) {
      const uint32_t sj = s[nb[d]], a = sj ^ flipped, join = *open & a;
      open += a;
      s[nb[d]] = (uint8_t)(sj ^ join);
      *tail = (uint32_t)nb[d]; /* kept only if it joins */
      tail += join;
    }
  }
  return (size_t)(tail - queue);
}

/* One copy of the loop per neighbour rule and way of testing. Not inlined into one_cluster():
 * there GCC knows flipped ∈ {0, 1}, computes s ⊕ flipped in bytes and zero-extends it once more
 * per test (10% slower). */
__attribute__((noinline)) static size_t grow_four_masked(invrg_wolff *w, grid g,
                                                         const invrg_rng_stream *rs,
                                                         uint32_t threshold, size_t seed,
                                                         uint32_t flipped) {
  return grow(w, g, true, true, rs, threshold, seed, flipped);
}

__attribute__((noinline)) static size_t grow_one_masked(invrg_wolff *w, grid g,
                                                        const invrg_rng_stream *rs,
                                                        uint32_t threshold, size_t seed,
                                                        uint32_t flipped) {
  return grow(w, g, true, false, rs, threshold, seed, flipped);
}

__attribute__((noinline)) static size_t grow_four_compared(invrg_wolff *w, grid g,
                                                           const invrg_rng_stream *rs,
                                                           uint32_t threshold, size_t seed,
                                                           uint32_t flipped) {
  return grow(w, g, false, true, rs, threshold, seed, flipped);
}

/* The reference: one test after another, neighbours compared (sides below 3, where a site's
 * neighbours repeat, and lattices whose sides are not powers of two when ONE is faster). */
__attribute__((noinline)) static size_t grow_one_compared(invrg_wolff *w, grid g,
                                                          const invrg_rng_stream *rs,
                                                          uint32_t threshold, size_t seed,
                                                          uint32_t flipped) {
  return grow(w, g, false, false, rs, threshold, seed, flipped);
}

/* Builds and flips cluster number @p step of the chain, grown the way @p way; returns its size. */
static int64_t one_cluster(invrg_wolff *w, const invrg_rng_stream *chain_stream, uint64_t step,
                           uint32_t threshold, invrg_wolff_growth way) {
  const grid g = {(size_t)w->lx, w->stride, (size_t)w->stride * (size_t)w->ly};
  invrg_rng_stream rs = *chain_stream;
  invrg_rng_stream_set_step(&rs, step);
  uint32_t seed_words[4];
  invrg_rng_u32x4(&rs, 0, 1, seed_words);
  uint64_t site = (((uint64_t)seed_words[0] << 32) | seed_words[1]) % (uint64_t)(w->lx * w->ly);
  size_t seed = site / g.lx * g.stride + site % g.lx;
  uint32_t flipped = w->spins[seed] ^ 1u;
  const bool pow2 = g.lx == g.stride && (g.end & (g.end - 1)) == 0;
  if (way == INVRG_WOLFF_GROW_REFERENCE || w->lx < 3 || w->ly < 3 ||
      (way == INVRG_WOLFF_GROW_ONE && !pow2))
    return (int64_t)grow_one_compared(w, g, &rs, threshold, seed, flipped);
  if (way == INVRG_WOLFF_GROW_ONE)
    return (int64_t)grow_one_masked(w, g, &rs, threshold, seed, flipped);
  return (int64_t)(pow2 ? grow_four_masked(w, g, &rs, threshold, seed, flipped)
                        : grow_four_compared(w, g, &rs, threshold, seed, flipped));
}

/* The trial: cluster @p size grown the way @p way in @p ticks. Once both ways have flipped
 * INVRG_WOLFF_TRIAL_SWEEPS sweeps of spins, the one with fewer ticks per flipped spin stays. */
static void trial_add(invrg_wolff *w, invrg_wolff_growth way, uint64_t ticks, int64_t size) {
  const int k = way == INVRG_WOLFF_GROW_ONE;
  w->trial_ticks[k] += ticks;
  w->trial_flips[k] += size;
  const int64_t need = INVRG_WOLFF_TRIAL_SWEEPS * w->lx * w->ly;
  if (w->trial_flips[0] < need || w->trial_flips[1] < need) return;
  /* ticks[1] / flips[1] < ticks[0] / flips[0], in doubles: no overflow */
  const bool one_faster = (double)w->trial_ticks[1] * (double)w->trial_flips[0] <
                          (double)w->trial_ticks[0] * (double)w->trial_flips[1];
  w->growth = one_faster ? INVRG_WOLFF_GROW_ONE : INVRG_WOLFF_GROW_FOUR;
}

/* One cluster (number w->clusters) and its counts, the way the tests force, the trial chose,
 * or, while the trial runs, FOUR and ONE in turn and timed. */
static int64_t next_cluster(invrg_wolff *w, const invrg_rng_stream *rs, uint32_t threshold) {
  invrg_wolff_growth way = forced_growth != INVRG_WOLFF_GROW_AUTO
                               ? forced_growth
                               : (invrg_wolff_growth)w->growth;
  if (way != INVRG_WOLFF_GROW_AUTO) return one_cluster(w, rs, w->clusters++, threshold, way);
  way = w->clusters % 2 ? INVRG_WOLFF_GROW_ONE : INVRG_WOLFF_GROW_FOUR;
  const uint64_t start = invrg_ticks();
  const int64_t size = one_cluster(w, rs, w->clusters++, threshold, way);
  trial_add(w, way, invrg_ticks() - start, size);
  return size;
}

/* Runs @p n clusters, or if n < 0, clusters until w->flipped reaches @p flip_target. */
static void run_clusters(invrg_lattice *lat, const invrg_mc_chain *chain, int64_t n,
                         int64_t flip_target, invrg_wolff *w, invrg_mc_counts *counts) {
  invrg_rng_stream rs; /* one key per chain: the cluster number goes into the counter */
  invrg_rng_stream_init(&rs, chain->seed, invrg_mc_chain_purpose(chain), chain->chain, 0);
  const uint32_t threshold = invrg_mc_bond_threshold(chain->K);
  spins_in(lat, w);
  for (int64_t c = 0; n >= 0 ? c < n : w->flipped < flip_target; c++) {
    const int64_t size = next_cluster(w, &rs, threshold);
    w->flipped += size;
    counts->spins_flipped += size;
    counts->clusters += 1;
  }
  spins_out(lat, w);
}

invrg_err invrg_mc_wolff_thermalize(invrg_lattice *lat, const invrg_mc_chain *chain,
                                    int64_t n_sweeps, invrg_wolff *w, invrg_mc_counts *counts) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(chain->generator == INVRG_RNG_PHILOX, INVRG_ERR_INPUT,
              "Wolff updates draw with Philox only (ARS is for multispin sweeps)");
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
  INVRG_CHECK(chain->generator == INVRG_RNG_PHILOX, INVRG_ERR_INPUT,
              "Wolff updates draw with Philox only (ARS is for multispin sweeps)");
  INVRG_CHECK(w->clusters_per_sweep > 0, INVRG_ERR_RUNTIME,
              "Wolff sweeps before thermalisation fixed the clusters per sweep");
  run_clusters(lat, chain, n_sweeps * w->clusters_per_sweep, 0, w, counts);
  INVRG_CALL(invrg_lattice_halo_exchange(lat));
cleanup:
  return err;
}

/* Per-item results combined across groups in item order (see invrg/reducer.h). */
#include "invrg/reducer.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Values world rank 0 receives per round at most (unless one round of items is larger). */
enum { CHUNK_VALUES = 1 << 16 };
/* An item window of a streaming stage (invrg_reducer_window): 512 KiB of doubles, or 4096
 * items (so that up to 4096 groups all have work in every window) when that is more. */
enum { WINDOW_VALUES = 1 << 16, WINDOW_MIN_ITEMS = 4096 };

/* How many of a group's local items k0 <= k < k1 exist (item k*G + group < n_items). */
static int64_t items_in(int group, int n_groups, int64_t n_items, int64_t k0, int64_t k1) {
  int64_t total = n_items > group ? (n_items - 1 - group) / n_groups + 1 : 0;
  int64_t end = total < k1 ? total : k1;
  return end > k0 ? end - k0 : 0;
}

/* The rounds of local item indices [k0, k0 + round) that travel together. */
static int64_t round_length(const invrg_groups *g, int n) {
  int64_t per_k = (int64_t)g->n_groups * n; /* values of one local index over all groups */
  return per_k < CHUNK_VALUES ? CHUNK_VALUES / per_k : 1;
}

/* The place of group @p gr among the items of a range that starts at item @p first: its items
 * are the range's rel, rel + G, ... */
static int relative(int gr, int G, int64_t first) { return (int)((gr - first % G + G) % G); }

/* Values world rank @p w sends in a round: its group's items, from the group's rank 0. */
static int count_of(const invrg_groups *g, int w, int64_t first, int64_t n_items, int n,
                    int64_t k0, int64_t k1) {
  if (w % g->ranks_per_group != 0) return 0;
  const int rel = relative(w / g->ranks_per_group, g->n_groups, first);
  return (int)(items_in(rel, g->n_groups, n_items, k0, k1) * n);
}

/*
 * MPI_Gatherv of every world rank's @p send_count values to world rank 0 at @p displs (world
 * rank order), in two levels when the world has teams (groups.h): each team's first rank
 * gathers its team, then world rank 0 the teams, whose ranks are consecutive, so the values
 * land exactly where one flat gather puts them. Rank 0's time grows like 2√P, not P.
 */
static invrg_err gather_two_level(const invrg_groups *g, const double *send, int send_count,
                                  int64_t first, int64_t n_items, int n, int64_t k0, int64_t k1,
                                  double *stage, const int *displs) {
  invrg_err err = INVRG_SUCCESS;
  const int s = g->team_size, lead = g->world_rank - g->world_rank % s;
  const int members = g->world_size - lead < s ? g->world_size - lead : s;
  const bool leader = g->world_rank == lead;
  int *counts = NULL, *offsets = NULL, team_count = 0;
  double *team = NULL;
  if (leader) { /* counts and offsets: of the team's members, then (world rank 0) of the teams */
    const int n_teams = (g->world_size + s - 1) / s, len = members > n_teams ? members : n_teams;
    counts = malloc((size_t)len * sizeof *counts);
    offsets = malloc((size_t)len * sizeof *offsets);
    INVRG_CHECK_ALLOC(counts);
    INVRG_CHECK_ALLOC(offsets);
    for (int m = 0; m < members; m++) {
      counts[m] = count_of(g, lead + m, first, n_items, n, k0, k1);
      offsets[m] = team_count;
      team_count += counts[m];
    }
    team = malloc((size_t)team_count * sizeof *team + 1);
    INVRG_CHECK_ALLOC(team);
  }
  INVRG_MPI_CALL(MPI_Gatherv(send, send_count, MPI_DOUBLE, team, counts, offsets, MPI_DOUBLE, 0,
                             g->gather_team));
  if (leader) {
    int *lead_counts = counts, *lead_displs = offsets; /* reused on world rank 0 */
    if (g->world_rank == 0)
      for (int t = 0, w = 0; w < g->world_size; t++, w += s) {
        lead_displs[t] = displs[w];
        lead_counts[t] = 0;
        for (int m = w; m < w + s && m < g->world_size; m++)
          lead_counts[t] += count_of(g, m, first, n_items, n, k0, k1);
      }
    INVRG_MPI_CALL(MPI_Gatherv(team, team_count, MPI_DOUBLE, stage, lead_counts, lead_displs,
                               MPI_DOUBLE, 0, g->gather_leaders));
  }
cleanup:
  free(team);
  free(counts);
  free(offsets);
  return err;
}

/*
 * Local items [k0, k1) of every group, i.e. items [k0 G, min(k1 G, n_items)) of the range
 * that starts at global item @p first, land on world rank 0 in item order:
 * out[(t - k0 G) * n + i]. The rank-0 ranks of the groups send; world rank 0 receives group
 * by group into @p stage and reorders (the t-th vector of the group at place rel is item
 * (k0 + t) G + rel of the range). @p counts, @p displs: world_size.
 */
static invrg_err gather_round(const invrg_groups *g, int64_t first, int64_t n_items, int n,
                              const double *mine, int64_t k0, int64_t k1, double *stage,
                              int *counts, int *displs, double *out) {
  invrg_err err = INVRG_SUCCESS;
  const int G = g->n_groups;
  const int send_count = count_of(g, g->world_rank, first, n_items, n, k0, k1);
  if (g->world_rank == 0) {
    int offset = 0;
    for (int w = 0; w < g->world_size; w++) {
      counts[w] = count_of(g, w, first, n_items, n, k0, k1);
      displs[w] = offset;
      offset += counts[w];
    }
  }
  const double *send = send_count > 0 ? mine + k0 * n : NULL;
  if (g->team_size > 0)
    INVRG_CALL(gather_two_level(g, send, send_count, first, n_items, n, k0, k1, stage, displs));
  else
    INVRG_MPI_CALL(MPI_Gatherv(send, send_count, MPI_DOUBLE, stage, counts, displs, MPI_DOUBLE,
                               0, g->world));
  if (g->world_rank == 0) {
    for (int gr = 0; gr < G; gr++) {
      const double *from = stage + displs[gr * g->ranks_per_group];
      const int rel = relative(gr, G, first);
      int64_t m = items_in(rel, G, n_items, k0, k1);
      for (int64_t t = 0; t < m; t++)
        memcpy(out + (t * G + rel) * n, from + t * n, (size_t)n * sizeof *out);
    }
  }
cleanup:
  return err;
}

/* What world rank 0 does with a round: items first .. first+count-1, in order. */
typedef void (*round_visitor)(int64_t first, int64_t count, int n, const double *values,
                              void *ctx);

/* Walks all items in rounds, handing each round to @p visit on world rank 0. Collective. */
static invrg_err for_each_round(const invrg_groups *g, int64_t first_item, int64_t n_items, int n,
                                const double *mine, round_visitor visit, void *ctx) {
  invrg_err err = INVRG_SUCCESS;
  double *stage = NULL, *ordered = NULL;
  int *counts = NULL, *displs = NULL;
  const int64_t G = g->n_groups, round = round_length(g, n);
  const int64_t k_total = (n_items + G - 1) / G; /* local items of group 0, the most */
  const int64_t round_values = round * G * n;
  INVRG_CHECK(round_values <= INT_MAX, INVRG_ERR_RUNTIME,
              "reducer: %lld groups x %d values per item exceed one message", (long long)G, n);
  if (g->world_rank == 0) {
    stage = malloc((size_t)round_values * sizeof *stage);
    ordered = malloc((size_t)round_values * sizeof *ordered);
    counts = malloc((size_t)g->world_size * sizeof *counts);
    displs = malloc((size_t)g->world_size * sizeof *displs);
    INVRG_CHECK_ALLOC(stage);
    INVRG_CHECK_ALLOC(ordered);
    INVRG_CHECK_ALLOC(counts);
    INVRG_CHECK_ALLOC(displs);
  }
  for (int64_t k0 = 0; k0 < k_total; k0 += round) {
    int64_t k1 = k0 + round < k_total ? k0 + round : k_total;
    INVRG_CALL(gather_round(g, first_item, n_items, n, mine, k0, k1, stage, counts, displs,
                            ordered));
    int64_t first = k0 * G, last = k1 * G < n_items ? k1 * G : n_items;
    if (g->world_rank == 0) visit(first, last - first, n, ordered, ctx);
  }
cleanup:
  free(stage);
  free(ordered);
  free(counts);
  free(displs);
  return err;
}

/* Adds the round's items to the running sum, one item after the other. */
static void add_in_order(int64_t first, int64_t count, int n, const double *values, void *ctx) {
  (void)first;
  double *sum = ctx;
  for (int64_t t = 0; t < count; t++)
    for (int i = 0; i < n; i++) sum[i] += values[t * n + i];
}

invrg_err invrg_reducer_sum_double(const invrg_groups *g, int64_t n_items, int n,
                                   const double *mine, double *sum) {
  invrg_err err = INVRG_SUCCESS;
  for (int i = 0; i < n; i++) sum[i] = 0.0;
  if (n_items == 0 || n == 0) goto cleanup; /* the same on every rank */
  INVRG_CALL(for_each_round(g, 0, n_items, n, mine, add_in_order, sum));
  INVRG_MPI_CALL(MPI_Bcast(sum, n, MPI_DOUBLE, 0, g->world));
cleanup:
  return err;
}

invrg_err invrg_reducer_sum_int64(const invrg_groups *g, int64_t n_items, int n,
                                  const int64_t *mine, int64_t *sum) {
  invrg_err err = INVRG_SUCCESS;
  int64_t *local = NULL;
  for (int i = 0; i < n; i++) sum[i] = 0;
  if (n_items == 0 || n == 0) goto cleanup;
  local = calloc((size_t)n, sizeof *local);
  INVRG_CHECK_ALLOC(local);
  /* Integer addition is exact, so any order is the item order. */
  if (g->rank == 0)
    for (int64_t k = 0; k < invrg_groups_item_count(g, n_items); k++)
      for (int i = 0; i < n; i++) local[i] += mine[k * n + i];
  INVRG_MPI_CALL(MPI_Allreduce(local, sum, n, MPI_INT64_T, MPI_SUM, g->world));
cleanup:
  free(local);
  return err;
}

/* Copies the round's items to their place in the full table. */
static void store(int64_t first, int64_t count, int n, const double *values, void *ctx) {
  double *all = ctx;
  memcpy(all + first * n, values, (size_t)(count * n) * sizeof *all);
}

invrg_err invrg_reducer_gather(const invrg_groups *g, int64_t n_items, int n, const double *mine,
                               double *all) {
  return invrg_reducer_gather_range(g, 0, n_items, n, mine, all);
}

invrg_err invrg_reducer_gather_range(const invrg_groups *g, int64_t first, int64_t count, int n,
                                     const double *mine, double *all) {
  invrg_err err = INVRG_SUCCESS;
  if (count == 0 || n == 0) goto cleanup;
  INVRG_CALL(for_each_round(g, first, count, n, mine, store, all));
cleanup:
  return err;
}

int64_t invrg_reducer_range_count(const invrg_groups *g, int64_t first, int64_t count) {
  const int rel = relative(g->group, g->n_groups, first);
  return count > rel ? (count - 1 - rel) / g->n_groups + 1 : 0;
}

int64_t invrg_reducer_range_item(const invrg_groups *g, int64_t first, int64_t k) {
  return first + relative(g->group, g->n_groups, first) + k * g->n_groups;
}

int64_t invrg_reducer_window(int n) {
  /* INVRG_TEST_WINDOW_ITEMS: small windows for the tests (the same in the run that resumes) */
  const char *test = getenv("INVRG_TEST_WINDOW_ITEMS");
  if (test != NULL && atoll(test) > 0) return atoll(test);
  const int64_t w = WINDOW_VALUES / (n > 0 ? n : 1);
  return w > WINDOW_MIN_ITEMS ? w : WINDOW_MIN_ITEMS;
}

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

/* Work space of the gathers, made before the first: world rank 0 receives into stage, orders
 * into ordered, with counts and displs of every world rank; a team leader (two-level gather)
 * gathers its team into team, with team_counts and team_offsets (members, or teams on world
 * rank 0). Rounds after the first carry no more values, so the first round sizes it all. */
typedef struct {
  double *stage, *ordered, *team;
  int *counts, *displs, *team_counts, *team_offsets;
} round_buffers;

static void round_buffers_free(round_buffers *b) {
  free(b->stage);
  free(b->ordered);
  free(b->team);
  free(b->counts);
  free(b->displs);
  free(b->team_counts);
  free(b->team_offsets);
}

/* A leader's team holds ranks lead … lead + members − 1. */
static int team_lead(const invrg_groups *g) { return g->world_rank - g->world_rank % g->team_size; }
static int team_members(const invrg_groups *g) {
  const int lead = team_lead(g);
  return g->world_size - lead < g->team_size ? g->world_size - lead : g->team_size;
}

/* Allocates on the ranks that receive: not collective, so the caller agrees on the outcome
 * before any gather (a rank that failed alone would leave the others waiting in one).
 * INVRG_TEST_REDUCER_NO_MEMORY = r makes world rank r's allocations fail (tests). */
static invrg_err round_buffers_create(const invrg_groups *g, int64_t first, int64_t n_items,
                                      int n, int64_t k1, int64_t round_values,
                                      round_buffers *b) {
  invrg_err err = INVRG_SUCCESS;
  const char *test = getenv("INVRG_TEST_REDUCER_NO_MEMORY");
  const bool fail = test != NULL && atoi(test) == g->world_rank;
  const bool leader = g->team_size > 0 && g->world_rank == team_lead(g);
  if (leader) { /* the team's counts, then (world rank 0) the teams' */
    const int n_teams = (g->world_size + g->team_size - 1) / g->team_size;
    const int len = team_members(g) > n_teams ? team_members(g) : n_teams;
    int team_values = 0;
    for (int m = 0; m < team_members(g); m++)
      team_values += count_of(g, team_lead(g) + m, first, n_items, n, 0, k1);
    b->team = fail ? NULL : malloc((size_t)team_values * sizeof *b->team + 1);
    b->team_counts = malloc((size_t)len * sizeof *b->team_counts + 1);
    b->team_offsets = malloc((size_t)len * sizeof *b->team_offsets + 1);
    INVRG_CHECK_ALLOC(b->team);
    INVRG_CHECK_ALLOC(b->team_counts);
    INVRG_CHECK_ALLOC(b->team_offsets);
  }
  if (g->world_rank == 0) {
    b->stage = fail ? NULL : malloc((size_t)round_values * sizeof *b->stage);
    b->ordered = malloc((size_t)round_values * sizeof *b->ordered);
    b->counts = malloc((size_t)g->world_size * sizeof *b->counts);
    b->displs = malloc((size_t)g->world_size * sizeof *b->displs);
    INVRG_CHECK_ALLOC(b->stage);
    INVRG_CHECK_ALLOC(b->ordered);
    INVRG_CHECK_ALLOC(b->counts);
    INVRG_CHECK_ALLOC(b->displs);
  }
cleanup:
  return err;
}

/*
 * MPI_Gatherv of every world rank's @p send_count values to world rank 0 at b->displs (world
 * rank order), in two levels when the world has teams (groups.h): each team's first rank
 * gathers its team, then world rank 0 the teams, whose ranks are consecutive, so the values
 * land exactly where one flat gather puts them. Rank 0's time grows like 2√P, not P.
 */
static invrg_err gather_two_level(const invrg_groups *g, const double *send, int send_count,
                                  int64_t first, int64_t n_items, int n, int64_t k0, int64_t k1,
                                  round_buffers *b) {
  invrg_err err = INVRG_SUCCESS;
  const int s = g->team_size, lead = team_lead(g);
  const bool leader = g->world_rank == lead;
  int team_count = 0;
  if (leader) /* counts and offsets of the team's members */
    for (int m = 0; m < team_members(g); m++) {
      b->team_counts[m] = count_of(g, lead + m, first, n_items, n, k0, k1);
      b->team_offsets[m] = team_count;
      team_count += b->team_counts[m];
    }
  INVRG_MPI_CALL(MPI_Gatherv(send, send_count, MPI_DOUBLE, b->team, b->team_counts,
                             b->team_offsets, MPI_DOUBLE, 0, g->gather_team));
  if (leader) {
    int *lead_counts = b->team_counts, *lead_displs = b->team_offsets; /* now of the teams */
    if (g->world_rank == 0)
      for (int t = 0, w = 0; w < g->world_size; t++, w += s) {
        lead_displs[t] = b->displs[w];
        lead_counts[t] = 0;
        for (int m = w; m < w + s && m < g->world_size; m++)
          lead_counts[t] += count_of(g, m, first, n_items, n, k0, k1);
      }
    INVRG_MPI_CALL(MPI_Gatherv(b->team, team_count, MPI_DOUBLE, b->stage, lead_counts,
                               lead_displs, MPI_DOUBLE, 0, g->gather_leaders));
  }
cleanup:
  return err;
}

/*
 * Local items [k0, k1) of every group, i.e. items [k0 G, min(k1 G, n_items)) of the range
 * that starts at global item @p first, land on world rank 0 in item order:
 * b->ordered[(t - k0 G) * n + i]. The rank-0 ranks of the groups send; world rank 0 receives
 * group by group into b->stage and reorders (the t-th vector of the group at place rel is
 * item (k0 + t) G + rel of the range).
 */
static invrg_err gather_round(const invrg_groups *g, int64_t first, int64_t n_items, int n,
                              const double *mine, int64_t k0, int64_t k1, round_buffers *b) {
  invrg_err err = INVRG_SUCCESS;
  const int G = g->n_groups;
  const int send_count = count_of(g, g->world_rank, first, n_items, n, k0, k1);
  if (g->world_rank == 0) {
    int offset = 0;
    for (int w = 0; w < g->world_size; w++) {
      b->counts[w] = count_of(g, w, first, n_items, n, k0, k1);
      b->displs[w] = offset;
      offset += b->counts[w];
    }
  }
  const double *send = send_count > 0 ? mine + k0 * n : NULL;
  if (g->team_size > 0)
    INVRG_CALL(gather_two_level(g, send, send_count, first, n_items, n, k0, k1, b));
  else
    INVRG_MPI_CALL(MPI_Gatherv(send, send_count, MPI_DOUBLE, b->stage, b->counts, b->displs,
                               MPI_DOUBLE, 0, g->world));
  if (g->world_rank == 0) {
    for (int gr = 0; gr < G; gr++) {
      const double *from = b->stage + b->displs[gr * g->ranks_per_group];
      const int rel = relative(gr, G, first);
      int64_t m = items_in(rel, G, n_items, k0, k1);
      for (int64_t t = 0; t < m; t++)
        memcpy(b->ordered + (t * G + rel) * n, from + t * n, (size_t)n * sizeof *b->ordered);
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
  round_buffers b = {0};
  const int64_t G = g->n_groups, round = round_length(g, n);
  const int64_t k_total = (n_items + G - 1) / G; /* local items of group 0, the most */
  const int64_t round_values = round * G * n;
  INVRG_CHECK(round_values <= INT_MAX, INVRG_ERR_RUNTIME,
              "reducer: %lld groups x %d values per item exceed one message", (long long)G, n);
  INVRG_CALL(invrg_error_agree(
      round_buffers_create(g, first_item, n_items, n, round < k_total ? round : k_total,
                           round_values, &b),
      g->world));
  for (int64_t k0 = 0; k0 < k_total; k0 += round) {
    int64_t k1 = k0 + round < k_total ? k0 + round : k_total;
    INVRG_CALL(gather_round(g, first_item, n_items, n, mine, k0, k1, &b));
    int64_t first = k0 * G, last = k1 * G < n_items ? k1 * G : n_items;
    if (g->world_rank == 0) visit(first, last - first, n, b.ordered, ctx);
  }
cleanup:
  round_buffers_free(&b);
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

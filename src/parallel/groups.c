/* Groups of ranks, their periodic grids, and the dealing of work items. */
#include "invrg/groups.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/log.h"

/* Appends to a message buffer; silently truncates (messages are advisory text). */
static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...) {
  size_t used = strlen(buf);
  if (used + 1 >= len) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + used, len - used, fmt, ap);
  va_end(ap);
}

/* "1, 2 or 4": the divisors of n, for messages. */
static void format_divisors(int64_t n, char *buf, size_t len) {
  int64_t count = 0, seen = 0;
  for (int64_t d = 1; d <= n; d++) count += n % d == 0;
  buf[0] = '\0';
  for (int64_t d = 1; d <= n; d++) {
    if (n % d != 0) continue;
    seen++;
    append(buf, len, "%s%lld", seen == 1 ? "" : seen == count ? " or " : ", ", (long long)d);
  }
}

/*
 * The most nearly square grid of n ranks with py >= px: splitting y first
 * keeps the rows of a block long and contiguous, and only the x halos strided.
 */
static void auto_grid(int64_t n, int64_t *px, int64_t *py) {
  int64_t best = 1;
  for (int64_t d = 1; d * d <= n; d++)
    if (n % d == 0) best = d;
  *px = best;
  *py = n / best;
}

/* Checks a request against the world size and resolves the grid (0 = automatic). */
static invrg_err resolve_layout(const invrg_config *cfg, const invrg_groups_request *req,
                                int world_size, int64_t *px, int64_t *py) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t rpg = req->ranks_per_group, gx = req->grid[0], gy = req->grid[1];
  const char *size_key = req->size_key, *grid_key = req->grid_key;
  if (rpg < 1 || world_size % rpg != 0) {
    char divisors[256], other[64] = "";
    format_divisors(world_size, divisors, sizeof divisors);
    if (rpg > 1)
      snprintf(other, sizeof other, ", or run on a multiple of %lld ranks", (long long)rpg);
    if (strcmp(size_key, grid_key) == 0) /* the grid alone set the size */
      err = invrg_config_input_error(
          cfg, "parallel", grid_key,
          "%s = %lld, %lld makes groups of %lld ranks, which do not divide the %d rank%s of "
          "this run: use groups of %s%s", grid_key, (long long)gx, (long long)gy, (long long)rpg,
          world_size, world_size > 1 ? "s" : "", divisors, other);
    else
      err = invrg_config_input_error(
        cfg, "parallel", size_key,
        "%s = %lld does not divide the %d rank%s of this run: use %s%s", size_key,
        (long long)rpg, world_size, world_size > 1 ? "s" : "", divisors, other);
    goto cleanup;
  }

  int64_t sx, sy; /* the suggestion for this group size */
  auto_grid(rpg, &sx, &sy);
  if (gx < 0 || gy < 0) {
    err = invrg_config_input_error(
        cfg, "parallel", grid_key,
        "%s = %lld, %lld: the sizes must be positive, or 0, 0 for automatic; e.g. %s = %lld, "
        "%lld for %s = %lld",
        grid_key, (long long)gx, (long long)gy, grid_key, (long long)sx, (long long)sy,
        size_key, (long long)rpg);
    goto cleanup;
  }
  if (gx == 0 && gy == 0) {
    *px = sx;
    *py = sy;
  } else if (gx == 0 || gy == 0) {
    /* One size given: the other follows, if it divides. */
    const int64_t given = gx != 0 ? gx : gy;
    if (rpg % given != 0) {
      err = invrg_config_input_error(
          cfg, "parallel", grid_key,
          "%s = %lld, %lld: %lld does not divide %s = %lld; use %s = %lld, %lld or 0, 0 "
          "(automatic)",
          grid_key, (long long)gx, (long long)gy, (long long)given, size_key, (long long)rpg,
          grid_key, (long long)sx, (long long)sy);
      goto cleanup;
    }
    *px = gx != 0 ? gx : rpg / gy;
    *py = gy != 0 ? gy : rpg / gx;
  } else if (gx * gy != rpg) {
    err = invrg_config_input_error(
        cfg, "parallel", grid_key,
        "%s = %lld, %lld has %lld ranks but a group has %s = %lld; use %s = %lld, %lld (or "
        "another pair whose product is %lld, or 0, 0 for automatic)",
        grid_key, (long long)gx, (long long)gy, (long long)(gx * gy), size_key, (long long)rpg,
        grid_key, (long long)sx, (long long)sy, (long long)rpg);
    goto cleanup;
  } else {
    *px = gx;
    *py = gy;
  }
cleanup:
  return err;
}

invrg_groups_request invrg_groups_request_parallel(const invrg_config *cfg) {
  const int64_t rpg = cfg->parallel.ranks_per_group;
  return (invrg_groups_request){rpg > 0 ? rpg : 1,
                                {cfg->parallel.grid[0], cfg->parallel.grid[1]},
                                "ranks_per_group",
                                "grid"};
}

/* Teams of ⌈√P⌉ consecutive world ranks for the reducer's gathers: world rank 0 then hears from
 * about 2√P ranks instead of P. */
static invrg_err make_gather_teams(invrg_groups *g) {
  invrg_err err = INVRG_SUCCESS;
  if (g->world_size < 4) goto cleanup;
  int s = 1;
  while (s * s < g->world_size) s++;
  /* INVRG_TEST_TEAM_SIZE: other team sizes for the tests (e.g. 3 of 4 ranks: a smaller last) */
  const char *test = getenv("INVRG_TEST_TEAM_SIZE");
  if (test != NULL && atoi(test) >= 1 && atoi(test) <= g->world_size) s = atoi(test);
  g->team_size = s;
  INVRG_MPI_CALL(MPI_Comm_split(g->world, g->world_rank / s, g->world_rank, &g->gather_team));
  INVRG_MPI_CALL(MPI_Comm_split(g->world, g->world_rank % s == 0 ? 0 : MPI_UNDEFINED,
                                g->world_rank, &g->gather_leaders));
cleanup:
  return err;
}

invrg_err invrg_groups_create_as(MPI_Comm world, const invrg_config *cfg,
                                 const invrg_groups_request *req, invrg_groups **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_groups *g = NULL;
  MPI_Comm split = MPI_COMM_NULL;
  *out = NULL;

  int world_size, world_rank;
  INVRG_MPI_CALL(MPI_Comm_size(world, &world_size));
  INVRG_MPI_CALL(MPI_Comm_rank(world, &world_rank));
  int64_t px = 0, py = 0;
  /* Depends only on the input and the world size: every rank fails alike, no agreement needed. */
  INVRG_CALL(resolve_layout(cfg, req, world_size, &px, &py));

  g = calloc(1, sizeof *g);
  INVRG_CHECK_ALLOC(g);
  g->world = g->cart = g->gather_team = g->gather_leaders = MPI_COMM_NULL;
  g->world_rank = world_rank;
  g->world_size = world_size;
  g->ranks_per_group = (int)req->ranks_per_group;
  g->size_key = req->size_key;
  g->grid_key = req->grid_key;
  g->n_groups = world_size / g->ranks_per_group;
  g->group = world_rank / g->ranks_per_group;
  g->px = (int)px;
  g->py = (int)py;

  INVRG_MPI_CALL(MPI_Comm_dup(world, &g->world));
  INVRG_MPI_CALL(MPI_Comm_set_errhandler(g->world, MPI_ERRORS_RETURN));
  INVRG_MPI_CALL(MPI_Comm_split(g->world, g->group, world_rank, &split));
  /* Cartesian dims are slowest first: {py, px}, so group rank = cy * px + cx. No reordering:
   * the layout must be a pure function of the input. */
  int dims[2] = {g->py, g->px}, periods[2] = {1, 1}, coords[2];
  INVRG_MPI_CALL(MPI_Cart_create(split, 2, dims, periods, 0, &g->cart));
  INVRG_MPI_CALL(MPI_Comm_set_errhandler(g->cart, MPI_ERRORS_RETURN));
  INVRG_MPI_CALL(MPI_Comm_rank(g->cart, &g->rank));
  INVRG_MPI_CALL(MPI_Cart_coords(g->cart, g->rank, 2, coords));
  g->cy = coords[0];
  g->cx = coords[1];
  INVRG_CALL(make_gather_teams(g));
  *out = g;
  g = NULL;
cleanup:
  if (split != MPI_COMM_NULL) MPI_Comm_free(&split);
  invrg_groups_destroy(&g);
  return err;
}

invrg_err invrg_groups_create(MPI_Comm world, const invrg_config *cfg, invrg_groups **out) {
  const invrg_groups_request req = invrg_groups_request_parallel(cfg);
  return invrg_groups_create_as(world, cfg, &req, out);
}

invrg_err invrg_groups_create_planned_as(const invrg_config *cfg, const invrg_groups_request *req,
                                         int n_ranks, invrg_groups **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_groups *g = NULL;
  *out = NULL;
  int64_t px = 0, py = 0;
  INVRG_CALL(resolve_layout(cfg, req, n_ranks, &px, &py));
  g = calloc(1, sizeof *g);
  INVRG_CHECK_ALLOC(g);
  g->world = g->cart = g->gather_team = g->gather_leaders = MPI_COMM_NULL; /* rank 0 of the
                                                                           * planned run */
  g->world_size = n_ranks;
  g->ranks_per_group = (int)req->ranks_per_group;
  g->size_key = req->size_key;
  g->grid_key = req->grid_key;
  g->n_groups = n_ranks / g->ranks_per_group;
  g->px = (int)px;
  g->py = (int)py;
  INVRG_MPI_CALL(MPI_Comm_dup(MPI_COMM_SELF, &g->world));
  *out = g;
  g = NULL;
cleanup:
  invrg_groups_destroy(&g);
  return err;
}

invrg_err invrg_groups_create_planned(const invrg_config *cfg, int n_ranks, invrg_groups **out) {
  const invrg_groups_request req = invrg_groups_request_parallel(cfg);
  return invrg_groups_create_planned_as(cfg, &req, n_ranks, out);
}

void invrg_groups_describe_size(const invrg_groups *g, char *buf, size_t size) {
  if (strcmp(g->size_key, g->grid_key) == 0)
    snprintf(buf, size, "%s = %d, %d (groups of %d)", g->grid_key, g->px, g->py,
             g->ranks_per_group);
  else
    snprintf(buf, size, "%s = %d", g->size_key, g->ranks_per_group);
}

const char *invrg_groups_size_key(const invrg_groups *g) {
  static const char *const pairs[][2] = {{"grid", "ranks_per_group"},
                                         {"mc_grid", "mc_ranks_per_group"},
                                         {"train_grid", "train_ranks_per_group"},
                                         {"dream_grid", "dream_ranks_per_group"},
                                         {"analyze_grid", "analyze_ranks_per_group"}};
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
    if (strcmp(g->size_key, pairs[i][0]) == 0) return pairs[i][1];
  return g->size_key;
}

void invrg_groups_destroy(invrg_groups **g) {
  if (*g == NULL) return;
  if ((*g)->cart != MPI_COMM_NULL) MPI_Comm_free(&(*g)->cart);
  if ((*g)->gather_team != MPI_COMM_NULL) MPI_Comm_free(&(*g)->gather_team);
  if ((*g)->gather_leaders != MPI_COMM_NULL) MPI_Comm_free(&(*g)->gather_leaders);
  if ((*g)->world != MPI_COMM_NULL) MPI_Comm_free(&(*g)->world);
  free(*g);
  *g = NULL;
}

/* Equal blocks, each at least h wide along a split direction (a halo comes from one neighbour). */
static bool fits(int64_t px, int64_t py, int64_t lx, int64_t ly, int halo) {
  if (lx < 1 || ly < 1 || lx % px != 0 || ly % py != 0) return false;
  return (px == 1 || lx / px >= halo) && (py == 1 || ly / py >= halo);
}

bool invrg_groups_can_distribute(const invrg_groups *g, int64_t lx, int64_t ly, int halo) {
  return fits(g->px, g->py, lx, ly, halo);
}

/* Smallest size >= l that splits over p ranks in blocks of at least h sites (when split). */
static int64_t size_that_fits(int64_t l, int64_t p, int halo) {
  int64_t block = (l + p - 1) / p;
  if (p > 1 && block < halo) block = halo;
  return block * p;
}

invrg_err invrg_groups_check_lattice(const invrg_groups *g, const invrg_config *cfg,
                                     const char *nl_group, const char *key, int64_t lx,
                                     int64_t ly, int halo) {
  if (invrg_groups_can_distribute(g, lx, ly, halo)) return INVRG_SUCCESS;
  char grids[256] = "";
  int n_grids = 0;
  for (int64_t d = 1; d <= g->ranks_per_group; d++)
    if (g->ranks_per_group % d == 0 && fits(d, g->ranks_per_group / d, lx, ly, halo))
      append(grids, sizeof grids, "%sgrid = %lld, %lld", n_grids++ > 0 ? " or " : "",
             (long long)d, (long long)(g->ranks_per_group / d));
  if (n_grids == 0)
    snprintf(grids, sizeof grids, "no grid of %d ranks fits it, use a smaller %s",
             g->ranks_per_group, invrg_groups_size_key(g));
  return invrg_config_input_error(
      cfg, nl_group, key,
      "&%s %s: a %lld x %lld lattice (halo %d) does not split into equal blocks on the %d x %d "
      "grid of a group (Lx must be a multiple of %d and Ly of %d, blocks at least %d wide where "
      "split); on this grid a size such as %lld x %lld works; for this size: %s",
      nl_group, key, (long long)lx, (long long)ly, halo, g->px, g->py, g->px, g->py, halo,
      (long long)size_that_fits(lx, g->px, halo), (long long)size_that_fits(ly, g->py, halo),
      grids);
}

int64_t invrg_groups_item_count(const invrg_groups *g, int64_t n_items) {
  /* Items g, g + G, g + 2G, ... below n_items. */
  return n_items > g->group ? (n_items - 1 - g->group) / g->n_groups + 1 : 0;
}

int64_t invrg_groups_item(const invrg_groups *g, int64_t k) {
  return g->group + k * g->n_groups;
}

int invrg_groups_item_owner(const invrg_groups *g, int64_t item) {
  return (int)(item % g->n_groups);
}

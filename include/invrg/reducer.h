/**
 * @file reducer.h
 * Combining per-item results across groups, reproducibly.
 *
 * Every group holds, for each of its items (see invrg_groups_item()), a
 * vector of @p n values, in its local item order: `mine[k * n + i]` is value i
 * of the group's k-th item. Only rank 0 of each group contributes (the other
 * ranks of a group hold the same values, or nothing). Doubles are added item
 * by item in global item order 0, 1, 2, ..., so a sum is bit-identical for any
 * number of groups; integers are exact in any order. (Independence of the
 * grid also needs each item's values to be: e.g. sum integers inside a group.)
 */
#ifndef INVRG_REDUCER_H
#define INVRG_REDUCER_H

#include <stdint.h>

#include "invrg/error.h"
#include "invrg/groups.h"

/**
 * sum[i] = ((0 + v_0[i]) + v_1[i]) + ... over items 0 .. n_items-1,
 * on every rank. Memory per rank stays bounded (items travel in chunks to
 * world rank 0, which adds them in order). Collective on g->world.
 */
invrg_err invrg_reducer_sum_double(const invrg_groups *g, int64_t n_items, int n,
                                   const double *mine, double *sum);

/**
 * sum[i] = sum over items of v_j[i], exact (no overflow for |sum| < 2^63), on
 * every rank. Collective on g->world.
 */
invrg_err invrg_reducer_sum_int64(const invrg_groups *g, int64_t n_items, int n,
                                  const int64_t *mine, int64_t *sum);

/**
 * Collects the records of all items on world rank 0 in item order:
 * all[j * n + i] = value i of item j (n_items * n values, significant and
 * written only on world rank 0; may be NULL elsewhere). Collective on g->world.
 */
invrg_err invrg_reducer_gather(const invrg_groups *g, int64_t n_items, int n, const double *mine,
                               double *all);

/**
 * Streaming: a stage with too many items to keep a record of each walks them in windows of
 * consecutive items [first, first + count) (count <= invrg_reducer_window(n), a size that
 * does not depend on the layout, so a checkpoint taken by one layout resumes on any other)
 * and gathers each window with invrg_reducer_gather_range() into a fold on world rank 0: the
 * memory per rank is bounded whatever the number of items.
 */
int64_t invrg_reducer_window(int n);

/** Items of [first, first + count) this rank's group owns (item j: group j mod n_groups). */
int64_t invrg_reducer_range_count(const invrg_groups *g, int64_t first, int64_t count);

/** The global index of the group's @p k-th item of [first, first + count). */
int64_t invrg_reducer_range_item(const invrg_groups *g, int64_t first, int64_t k);

/**
 * invrg_reducer_gather() of the items [first, first + count): @p mine holds the group's items
 * of the range in order (invrg_reducer_range_item), all[t * n + i] = value i of item
 * first + t on world rank 0. Collective on g->world.
 */
invrg_err invrg_reducer_gather_range(const invrg_groups *g, int64_t first, int64_t count, int n,
                                     const double *mine, double *all);

#endif

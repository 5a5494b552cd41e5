/* Swendsen–Wang sweeps on the top level of a dream (dream_top_sw.h): on the int8 level in
 * place, or on an int8 copy of the packed level, unpacked before and packed back after. */
#include "invrg/dream_top_sw.h"

#include <stdlib.h>

#include "invrg/mc_update.h"

struct invrg_dream_top_sw {
  invrg_lattice *lat;    /* the spins swept: the int8 level, or own (packed) */
  invrg_lattice *own;    /* the int8 copy of a packed level, else NULL */
  invrg_packed *packed;  /* the packed level, else NULL */
  invrg_sw *sw;
  int sweeps;
  double K;
  uint64_t seed;
};

/* An int8 lattice for the packed level @p p: distributed on the group's grid (congruent to
 * p->comm) when p is split by rows over the group, else whole on this rank. */
static invrg_err copy_create(const invrg_groups *g, const invrg_packed *p, invrg_lattice **out) {
  invrg_err err = INVRG_SUCCESS;
  if (p->size == 1) {
    INVRG_CALL(invrg_lattice_create_replicated(p->lx, p->ly, 1, out));
    goto cleanup;
  }
  /* L a multiple of P = px·py, L and P powers of two here: the grid splits it too */
  INVRG_CHECK(invrg_groups_can_distribute(g, p->lx, p->ly, 1), INVRG_ERR_RUNTIME,
              "top_sw_sweeps: a %lld x %lld level split over %d ranks by rows does not split "
              "over the %d x %d grid", (long long)p->lx, (long long)p->ly, p->size, g->px, g->py);
  INVRG_CALL(invrg_lattice_create_distributed(g, p->lx, p->ly, 1, out));
cleanup:
  return err;
}

invrg_err invrg_dream_top_sw_create(const invrg_groups *g, invrg_lattice *lat,
                                    invrg_packed *packed, int sweeps, double K, uint64_t seed,
                                    invrg_dream_top_sw **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_dream_top_sw *t = calloc(1, sizeof *t);
  INVRG_CHECK_ALLOC(t);
  *t = (invrg_dream_top_sw){.lat = lat, .packed = lat == NULL ? packed : NULL,
                            .sweeps = sweeps, .K = K, .seed = seed};
  if (t->packed != NULL) {
    INVRG_CALL(copy_create(g, t->packed, &t->own));
    t->lat = t->own;
  }
  INVRG_CALL(invrg_sw_create(t->lat, &t->sw));
cleanup:
  if (err != INVRG_SUCCESS) invrg_dream_top_sw_destroy(&t);
  *out = t;
  return err;
}

void invrg_dream_top_sw_destroy(invrg_dream_top_sw **tp) {
  if (tp == NULL || *tp == NULL) return;
  invrg_dream_top_sw *t = *tp;
  invrg_sw_destroy(&t->sw);
  invrg_lattice_destroy(&t->own);
  free(t);
  *tp = NULL;
}

invrg_err invrg_dream_top_sw_apply(invrg_dream_top_sw *t, uint64_t sample) {
  invrg_err err = INVRG_SUCCESS;
  invrg_mc_counts counts = {0};
  const invrg_mc_chain chain = {t->K, t->seed, sample, INVRG_RNG_TOP_SW, INVRG_RNG_PHILOX};
  if (t->packed != NULL) INVRG_CALL(invrg_packed_to_lattice(t->packed, t->lat));
  for (int s = 0; s < t->sweeps; s++)
    INVRG_CALL(invrg_mc_sw_sweep(t->lat, &chain, (uint64_t)s, t->sw, &counts));
  if (t->packed != NULL) INVRG_CALL(invrg_packed_from_lattice(t->packed, t->lat));
cleanup:
  return err;
}

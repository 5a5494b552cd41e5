/* Critical Wolff configurations for the training tests: n configurations of L × L at K_c,
 * from chains of 64 samples, 2 sweeps apart, after 100 sweeps of thermalisation; a pure
 * function of (L, n, seed), the same on every rank. The caller frees the array. */
#ifndef INVRG_TESTS_CRITICAL_CONFIGS_H
#define INVRG_TESTS_CRITICAL_CONFIGS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/exact.h"
#include "invrg/lattice.h"
#include "invrg/mc_update.h"

static inline int8_t *critical_configs(int L, int n, uint64_t seed) {
  int8_t *out = malloc((size_t)n * (size_t)(L * L));
  invrg_lattice *lat = NULL;
  invrg_wolff *w = NULL;
  invrg_lattice_create_replicated(L, L, 1, &lat);
  invrg_wolff_create(L, L, &w);
  invrg_mc_counts counts = {0};
  for (int chain = 0, k = 0; k < n; chain++) {
    invrg_mc_chain c = {INVRG_K_CRITICAL, seed, (uint64_t)chain, INVRG_RNG_MC, INVRG_RNG_PHILOX};
    invrg_rng_stream init;
    invrg_rng_stream_init(&init, seed, INVRG_RNG_INIT, (uint64_t)chain, 0);
    invrg_lattice_fill_random(lat, &init);
    invrg_wolff_reset(w);
    invrg_mc_wolff_thermalize(lat, &c, 100, w, &counts);
    for (int s = 0; s < 64 && k < n; s++, k++) {
      invrg_mc_wolff_sweeps(lat, &c, 2, w, &counts);
      for (int y = 0; y < L; y++)
        memcpy(out + (size_t)k * (size_t)(L * L) + (size_t)(y * L),
               lat->data + invrg_lattice_index(lat, 0, y), (size_t)L);
    }
  }
  invrg_wolff_destroy(&w);
  invrg_lattice_destroy(&lat);
  return out;
}

#endif

/* Models for the MPI tests of dreaming: parameters from a fixed stream. Include after
 * mpi_test.h (OK). */
#ifndef INVRG_TEST_MODELS_H
#define INVRG_TEST_MODELS_H

#include "invrg/model.h"
#include "invrg/rng.h"

/* A model of @p kind with parameters from the stream (@p stream, TRAIN): sym θ in [−1, 1), conv
 * its initial ones. */
static inline invrg_model *test_model_make(invrg_model_kind kind, int kernel, uint64_t stream) {
  invrg_model *m = NULL;
  OK(invrg_model_create(kind, kernel, 8, &m));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, stream, INVRG_RNG_TRAIN, 0, 0);
  invrg_model_init_params(m, &s);
  if (m->family == INVRG_MODEL_SYM)
    for (int i = 0; i < m->n_params; i++) m->params[i] = 2 * m->params[i] - 1;
  return m;
}

#endif

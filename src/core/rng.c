/* Stream keys of the counter-based generator (layout in invrg/rng.h). */
#include "invrg/rng.h"

void invrg_rng_stream_init(invrg_rng_stream *s, uint64_t seed, invrg_rng_purpose purpose,
                           uint64_t item, uint64_t step) {
  INVRG_ASSERT(step < INVRG_RNG_STEP_LIMIT);
  /* One Philox evaluation keyed by the seed turns (item, purpose) into a stream key. */
  philox4x32_key_t seed_key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
  philox4x32_ctr_t name = {{(uint32_t)item, (uint32_t)(item >> 32), (uint32_t)purpose, 0}};
  philox4x32_ctr_t k = philox4x32(name, seed_key);
  s->key.v[0] = k.v[0];
  s->key.v[1] = k.v[1];
  s->step_lo = (uint32_t)step;
  s->step_hi = (uint32_t)(step >> 32);
}

/* Stream keys of the counter-based generator (layout in invrg/rng.h). */
#include "invrg/rng.h"

#include <limits.h>
#include <string.h>

#include "invrg/log.h"

/* The last key of each purpose: a dream's levels, or an item's sweeps, open one stream after
 * another with the same (seed, purpose, item) and other steps, and a key costs a Philox
 * evaluation (some 50 ns of latency) where a hit costs two compares. (The process has one
 * thread.) */
enum { KEY_MEMO = 16 }; /* purposes 0 … 15 (rng.h has 1 … 7) */
typedef struct {
  uint64_t seed, item;
  uint32_t key[2];
  bool valid;
} memo_entry;
static memo_entry key_memo[KEY_MEMO];

void invrg_rng_stream_init(invrg_rng_stream *s, uint64_t seed, invrg_rng_purpose purpose,
                           uint64_t item, uint64_t step) {
  INVRG_ASSERT(step < INVRG_RNG_STEP_LIMIT);
  s->step_lo = (uint32_t)step;
  s->step_hi = (uint32_t)(step >> 32);
  s->generator = INVRG_RNG_PHILOX;
  const unsigned p = (unsigned)purpose;
  if (p < KEY_MEMO && key_memo[p].valid && key_memo[p].seed == seed && key_memo[p].item == item) {
    s->key.v[0] = key_memo[p].key[0];
    s->key.v[1] = key_memo[p].key[1];
    return;
  }
  /* One Philox evaluation keyed by the seed turns (item, purpose) into a stream key. */
  philox4x32_key_t seed_key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
  philox4x32_ctr_t name = {{(uint32_t)item, (uint32_t)(item >> 32), (uint32_t)purpose, 0}};
  philox4x32_ctr_t k = philox4x32(name, seed_key);
  s->key.v[0] = k.v[0];
  s->key.v[1] = k.v[1];
  if (p < KEY_MEMO) key_memo[p] = (memo_entry){seed, item, {k.v[0], k.v[1]}, true};
}

/* ------------------------------------------------------------------ many blocks at once */

/* The counter layout of rng.h on the batched generators of the SIMD layer. */
void invrg_rng_blocks_at(const invrg_rng_stream *s, invrg_simd_level level, uint64_t first,
                         const uint64_t *sites, int n, uint32_t draw, uint32_t *out, size_t stride,
                         int tile) {
  INVRG_ASSERT(draw < INVRG_RNG_DRAW_LIMIT);
  INVRG_ASSERT(s->generator == INVRG_RNG_PHILOX || s->generator == INVRG_RNG_ARS);
  const uint32_t ctr_hi[2] = {s->step_lo, s->step_hi | draw << 16};
  if (s->generator == INVRG_RNG_ARS)
    invrg_simd_ars(level, s->key.v, ctr_hi, first, sites, n, out, stride, tile);
  else
    invrg_simd_philox(level, s->key.v, ctr_hi, first, sites, n, out, stride, tile);
}

void invrg_rng_log_generator(invrg_rng_generator generator, const char *key) {
  if (generator != INVRG_RNG_ARS) return;
  const char *way = invrg_simd_ars_way(invrg_simd_active());
  if (strcmp(way, "portable") == 0)
    invrg_log(INVRG_LOG_WARN, "%s = 'ars' on a CPU without AES-NI (or INVRG_SIMD=generic): the "
              "AES rounds run in portable C, about 13 times slower a block than Philox; "
              "'philox' is the faster choice here", key);
  else
    invrg_log(INVRG_LOG_INFO, "%s = 'ars': ARS-7 random numbers by %s", key, way);
}

void invrg_rng_ars_u32x4(const invrg_rng_stream *s, uint64_t site, uint32_t draw,
                         uint32_t out[4]) { /* one block: word k at out[k · 1] */
  invrg_rng_blocks_at(s, invrg_simd_active(), site, NULL, 1, draw, out, 1, 1);
}

void invrg_rng_blocks_list(const invrg_rng_stream *s, const uint64_t *sites, int n, uint32_t draw,
                           uint32_t *out, size_t stride) {
  invrg_rng_blocks_at(s, invrg_simd_active(), 0, sites, n, draw, out, stride, n);
}

void invrg_rng_blocks_range(const invrg_rng_stream *s, uint64_t first, int n, uint32_t draw,
                            uint32_t *out, size_t stride) {
  invrg_rng_blocks_at(s, invrg_simd_active(), first, NULL, n, draw, out, stride, n);
}

/* ------------------------------------------------------------------ streams of many items */

void invrg_rng_item_keys(uint64_t seed, invrg_rng_purpose purpose, const uint64_t *items, int n,
                         invrg_simd_level level, uint32_t *key0, uint32_t *key1) {
  enum { CHUNK = 64 };
  const uint32_t seed_key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  const uint32_t name_hi[2] = {(uint32_t)purpose, 0}; /* the counter {item, purpose, 0} */
  uint32_t out[4 * CHUNK];
  for (int first = 0; first < n; first += CHUNK) {
    const int count = n - first < CHUNK ? n - first : CHUNK;
    invrg_simd_philox(level, seed_key, name_hi, 0, items + first, count, out, CHUNK, count);
    for (int i = 0; i < count; i++) key0[first + i] = out[i], key1[first + i] = out[CHUNK + i];
  }
}

void invrg_rng_items_block(const uint32_t *key0, const uint32_t *key1, int n, uint64_t step,
                           uint64_t site, uint32_t draw, invrg_simd_level level, uint32_t *out,
                           size_t stride) {
  INVRG_ASSERT(step < INVRG_RNG_STEP_LIMIT && draw < INVRG_RNG_DRAW_LIMIT);
  const uint32_t ctr[4] = {(uint32_t)site, (uint32_t)(site >> 32), (uint32_t)step,
                           (uint32_t)(step >> 32) | draw << 16};
  invrg_simd_philox_keys(level, key0, key1, ctr, n, out, stride);
}

/* Rows of coins (rng.h): the blocks of consecutive rows are consecutive sites, one batch; the
 * 64-bit word q of a row is half q mod 2 of its block ⌊q/2⌋, little-endian. */
void invrg_rng_row_coin_words(const invrg_rng_stream *s, invrg_simd_level level, uint64_t y0,
                              int rows, uint64_t width, uint32_t draw, uint32_t *scratch,
                              uint64_t *words) {
  const uint64_t per_row = (width + 127) / 128, n_words = (width + 63) / 64;
  INVRG_ASSERT(rows >= 0 && per_row * (uint64_t)rows <= INT_MAX / 4);
  const int n = (int)(per_row * (uint64_t)rows);
  invrg_rng_blocks_at(s, level, y0 * per_row, NULL, n, draw, scratch, (size_t)n, n);
  for (int i = 0; i < rows; i++)
    for (uint64_t q = 0; q < n_words; q++) {
      const size_t block = (size_t)i * per_row + q / 2, lo = 2 * (q % 2);
      words[(size_t)i * n_words + q] =
          scratch[lo * (size_t)n + block] | (uint64_t)scratch[(lo + 1) * (size_t)n + block] << 32;
    }
}

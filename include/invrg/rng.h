/**
 * @file rng.h
 * Counter-based random numbers: every value is a pure function of
 * (seed, purpose, item, step, site, draw), so results do not depend on which
 * rank draws them, in which order, or how the lattice is split.
 *
 * A *stream* is named by (seed, purpose, item, step): e.g. the Monte Carlo
 * updates (purpose) of chain 17 (item) in sweep 4000 (step). Inside a stream a
 * value is indexed by the global site and a draw number (several values per
 * site and step). Nothing here communicates; nothing is collective.
 *
 * Generator: Random123 Philox4x32-10 (128-bit counter, 64-bit key); a stream may draw its
 * blocks with ARS-7 instead (invrg_rng_stream_use(): the same keys and counters).
 * Layout, in two Philox evaluations:
 *
 *     stream key = Philox(ctr = {item lo, item hi, purpose, 0}, key = seed)[0..1]
 *     block      = Philox(ctr = {site lo, site hi, step lo, step hi | draw << 16},
 *                         key = stream key)
 *
 * Within one (seed, purpose, item) the counters of distinct (step, site, draw)
 * are distinct and Philox is a bijection of the counter for a fixed key, so
 * those blocks never repeat. Streams of different (purpose, item) get
 * independent 64-bit keys; two of them coincide with probability 2^-64, so a
 * run with N of them has a chance of about N^2 / 2^65 of any shared key
 * (3e-6 for 10^7 streams). Ranges: step < 2^48, draw < 2^16.
 *
 * One evaluation gives a block of four 32-bit words. The single-value
 * functions use word 0 (u32, coin) or words 0–1 (uniform, bernoulli) of block
 * (site, draw); the bulk functions return the whole block, so a hot loop can
 * take four 32-bit values or two doubles from one evaluation; row coins take
 * all 128 bits of a block as 128 coins of a row.
 */
#ifndef INVRG_RNG_H
#define INVRG_RNG_H

#include <Random123/philox.h>
#include <stdbool.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/simd.h"

/**
 * What the numbers are for. The values are part of the reproducibility
 * contract (they enter the stream key): never renumber, only append.
 */
typedef enum {
  INVRG_RNG_INIT = 1,  /**< initial configurations */
  INVRG_RNG_MC = 2,    /**< Monte Carlo updates */
  INVRG_RNG_TIE = 3,   /**< tie-breaking coins of the majority rule */
  INVRG_RNG_TRAIN = 4, /**< parameter initialisation, minibatch order */
  INVRG_RNG_DREAM = 5, /**< sampling of dreamed configurations */
  INVRG_RNG_REFINE = 6, /**< Monte Carlo sweeps that refine dreamed levels */
  INVRG_RNG_TOP_SW = 7  /**< Swendsen–Wang sweeps on the top level of a dream */
} invrg_rng_purpose;

/** Largest step + 1 and draw + 1 the counter layout holds. */
#define INVRG_RNG_STEP_LIMIT (UINT64_C(1) << 48)
#define INVRG_RNG_DRAW_LIMIT (UINT32_C(1) << 16)

/**
 * The block function of a stream. Philox4x32-10 is every stream's unless a stage chooses
 * otherwise; ARS-7 (AES rounds, simd.h: invrg_simd_ars()) is the choice of `&mc generator =
 * 'ars'` for the multispin sweeps of packed lattices: the same keys and counters, other blocks,
 * about three times cheaper with VAES. The values are part of the reproducibility contract.
 */
typedef enum {
  INVRG_RNG_PHILOX = 0, /**< Philox4x32-10 */
  INVRG_RNG_ARS = 1     /**< ARS-7 under the key {key[0], key[1], 0, 0} */
} invrg_rng_generator;

/** A stream: the derived key plus the step part of the counter. Cheap to copy. */
typedef struct {
  philox4x32_key_t key;          /**< from (seed, purpose, item) */
  uint32_t step_lo;              /**< step bits 0..31 */
  uint32_t step_hi;              /**< step bits 32..47 */
  invrg_rng_generator generator; /**< Philox unless invrg_rng_stream_use() chose otherwise */
} invrg_rng_stream;

/** Names the stream (seed, purpose, item, step); costs one Philox evaluation. */
void invrg_rng_stream_init(invrg_rng_stream *s, uint64_t seed, invrg_rng_purpose purpose,
                           uint64_t item, uint64_t step);

/**
 * Moves @p s to another step of the same (seed, purpose, item): the step is
 * part of the counter, not of the key, so this costs nothing.
 */
static inline void invrg_rng_stream_set_step(invrg_rng_stream *s, uint64_t step) {
  INVRG_ASSERT(step < INVRG_RNG_STEP_LIMIT);
  s->step_lo = (uint32_t)step;
  s->step_hi = (uint32_t)(step >> 32);
}

/**
 * Says in the log which way ARS runs when @p generator is ARS (the input key @p key chose it): a
 * warning where it runs in portable C (no AES-NI), 13 times slower a block than Philox.
 */
void invrg_rng_log_generator(invrg_rng_generator generator, const char *key);

/** Makes @p s draw its blocks with @p generator (the keys and counters stay). */
static inline void invrg_rng_stream_use(invrg_rng_stream *s, invrg_rng_generator generator) {
  s->generator = generator;
}

/** The ARS-7 block (site, draw) of @p s (invrg_rng_u32x4() of an ARS stream). */
void invrg_rng_ars_u32x4(const invrg_rng_stream *s, uint64_t site, uint32_t draw,
                         uint32_t out[4]);

/** The block (site, draw) of @p s: four independent 32-bit words. */
static inline void invrg_rng_u32x4(const invrg_rng_stream *s, uint64_t site, uint32_t draw,
                                   uint32_t out[4]) {
  INVRG_ASSERT(draw < INVRG_RNG_DRAW_LIMIT);
  if (s->generator == INVRG_RNG_ARS) {
    invrg_rng_ars_u32x4(s, site, draw, out);
    return;
  }
  philox4x32_ctr_t ctr = {{(uint32_t)site, (uint32_t)(site >> 32), s->step_lo,
                           s->step_hi | draw << 16}};
  philox4x32_ctr_t r = philox4x32(ctr, s->key);
  for (int k = 0; k < 4; k++) out[k] = r.v[k];
}

/** Uniform in [0,1) with 53 random bits from two words: (hi:lo >> 11) * 2^-53. */
static inline double invrg_rng_to_uniform(uint32_t lo, uint32_t hi) {
  return (double)((((uint64_t)hi << 32) | lo) >> 11) * 0x1.0p-53;
}

/** Two uniforms in [0,1) from one block: out[0] from words 0–1, out[1] from words 2–3. */
static inline void invrg_rng_uniform_x2(const invrg_rng_stream *s, uint64_t site, uint32_t draw,
                                        double out[2]) {
  uint32_t w[4];
  invrg_rng_u32x4(s, site, draw, w);
  out[0] = invrg_rng_to_uniform(w[0], w[1]);
  out[1] = invrg_rng_to_uniform(w[2], w[3]);
}

/**
 * Many blocks at once, for hot loops: block (sites[i], draw) of @p s for
 * i < n, word k of it in out[k * stride + i] (stride ≥ n). The same numbers
 * as invrg_rng_u32x4(); computed 8 or 16 at a time with AVX2 or AVX-512 when
 * the CPU has them (invrg_simd_active()). Not collective.
 */
void invrg_rng_blocks_list(const invrg_rng_stream *s, const uint64_t *sites, int n, uint32_t draw,
                           uint32_t *out, size_t stride);

/** As invrg_rng_blocks_list() for the consecutive sites first, first + 1, …, first + n − 1. */
void invrg_rng_blocks_range(const invrg_rng_stream *s, uint64_t first, int n, uint32_t draw,
                            uint32_t *out, size_t stride);

/**
 * The general form, for hot loops: at SIMD level @p level (resolved once by the caller), for
 * the sites first … first + n − 1, or sites[0 … n − 1] when @p sites is not NULL, in tiles of
 * @p tile blocks: word k of block i at out[(i / tile)·4·stride + k·stride + i % tile] (tile = n,
 * or a multiple of 16; tile ≤ stride). Not collective.
 */
void invrg_rng_blocks_at(const invrg_rng_stream *s, invrg_simd_level level, uint64_t first,
                         const uint64_t *sites, int n, uint32_t draw, uint32_t *out, size_t stride,
                         int tile);

/**
 * The stream keys of many items at once, for a batch whose lanes are items (a batch of
 * dreams): key0[i], key1[i] are the key invrg_rng_stream_init() derives for (seed, purpose,
 * items[i]), computed at SIMD level @p level. Not collective.
 */
void invrg_rng_item_keys(uint64_t seed, invrg_rng_purpose purpose, const uint64_t *items, int n,
                         invrg_simd_level level, uint32_t *key0, uint32_t *key1);

/**
 * Block (site, draw) of step @p step in the streams of @p n items whose keys
 * invrg_rng_item_keys() gave: word k of item i at out[k·stride + i] (stride ≥ n), the words
 * invrg_rng_u32x4() gives for each stream alone. Not collective.
 */
void invrg_rng_items_block(const uint32_t *key0, const uint32_t *key1, int n, uint64_t step,
                           uint64_t site, uint32_t draw, invrg_simd_level level, uint32_t *out,
                           size_t stride);

/** Uniform 32-bit integer: word 0 of block (site, draw). */
static inline uint32_t invrg_rng_u32(const invrg_rng_stream *s, uint64_t site, uint32_t draw) {
  uint32_t w[4];
  invrg_rng_u32x4(s, site, draw, w);
  return w[0];
}

/** Uniform double in [0,1) with 53 random bits: words 0–1 of block (site, draw). */
static inline double invrg_rng_uniform(const invrg_rng_stream *s, uint64_t site, uint32_t draw) {
  uint32_t w[4];
  invrg_rng_u32x4(s, site, draw, w);
  return invrg_rng_to_uniform(w[0], w[1]);
}

/** Fair coin: the top bit of word 0. */
static inline bool invrg_rng_coin(const invrg_rng_stream *s, uint64_t site, uint32_t draw) {
  return invrg_rng_u32(s, site, draw) >> 31;
}

/**
 * Coins by rows, 128 from one block: coin x (0 ≤ x < width) of row y is bit x mod 128 of the
 * 128-bit number w0 + 2^32·w1 + 2^64·w2 + 2^96·w3 of block (y·⌈width/128⌉ + ⌊x/128⌋, draw).
 * Distinct (x, y) are distinct bits of Philox output: fair, independent coins, each a pure
 * function of (x, y) however the rows are split. For tie coins, where a coin per block of
 * its own would cost a whole Philox evaluation per tied site.
 */
static inline uint64_t invrg_rng_row_coin_site(uint64_t y, uint64_t x, uint64_t width) {
  return y * ((width + 127) / 128) + x / 128;
}

/** Coin x of the block @p w that invrg_rng_row_coin_site() names. */
static inline bool invrg_rng_row_coin_bit(const uint32_t w[4], uint64_t x) {
  return w[x % 128 / 32] >> (x % 32) & 1;
}

/** Coin x of row y (rows @p width wide) of @p s, one evaluation; true: heads. */
static inline bool invrg_rng_row_coin(const invrg_rng_stream *s, uint64_t y, uint64_t x,
                                      uint64_t width, uint32_t draw) {
  uint32_t w[4];
  invrg_rng_u32x4(s, invrg_rng_row_coin_site(y, x, width), draw, w);
  return invrg_rng_row_coin_bit(w, x);
}

/**
 * The coins of rows y0 … y0 + rows − 1 as words: bit b of @p words[i·⌈width/64⌉ + q] is coin
 * 64q + b of row y0 + i (bits from width on: coins nobody uses). @p scratch holds
 * 4·rows·⌈width/128⌉ words. Batched at SIMD level @p level; the same bits at every level.
 */
void invrg_rng_row_coin_words(const invrg_rng_stream *s, invrg_simd_level level, uint64_t y0,
                              int rows, uint64_t width, uint32_t draw, uint32_t *scratch,
                              uint64_t *words);

/** True with probability @p p (u < p: never for p <= 0, always for p >= 1). */
static inline bool invrg_rng_bernoulli(const invrg_rng_stream *s, uint64_t site, uint32_t draw,
                                       double p) {
  return invrg_rng_uniform(s, site, draw) < p;
}

#endif

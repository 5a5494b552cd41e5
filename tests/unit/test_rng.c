/* Counter-based RNG: known answers of Philox4x32-10, ARS-7 against Random123, the documented counter layout, statistics. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/log.h"
#include "invrg/rng.h"
#include "invrg/simd.h"
#include "unit/check_runner.h"

#if defined(__AES__)
#include <Random123/ars.h>
#endif

/* Random123's published known-answer vectors for Philox4x32-10 (kat_vectors). */
static const struct {
  uint32_t ctr[4], key[2], out[4];
} kat[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

START_TEST(test_known_answers) {
  for (size_t t = 0; t < sizeof kat / sizeof kat[0]; t++) {
    philox4x32_ctr_t c = {{kat[t].ctr[0], kat[t].ctr[1], kat[t].ctr[2], kat[t].ctr[3]}};
    philox4x32_key_t k = {{kat[t].key[0], kat[t].key[1]}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int w = 0; w < 4; w++)
      ck_assert_msg(r.v[w] == kat[t].out[w], "vector %zu word %d: got %08x, want %08x", t, w,
                    r.v[w], kat[t].out[w]);
  }
}
END_TEST

/* The layout of rng.h, written out against the library: key from (seed, purpose, item), then
 * ctr = {site lo, site hi, step lo, step hi | draw << 16}. */
START_TEST(test_layout_maps_to_library) {
  const struct {
    uint64_t seed, item, step, site;
    uint32_t draw;
    invrg_rng_purpose purpose;
  } cases[] = {
      {0, 0, 0, 0, 0, INVRG_RNG_INIT},
      {12345, 7, 3, 99, 1, INVRG_RNG_MC},
      {0xfedcba9876543210u, 0x123456789au, 0xabcdef012345u, 0x8000000012345678u, 0xffff,
       INVRG_RNG_DREAM},
  };
  for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
    philox4x32_key_t seed_key = {{(uint32_t)cases[t].seed, (uint32_t)(cases[t].seed >> 32)}};
    philox4x32_ctr_t name = {{(uint32_t)cases[t].item, (uint32_t)(cases[t].item >> 32),
                              (uint32_t)cases[t].purpose, 0}};
    philox4x32_ctr_t derived = philox4x32(name, seed_key);
    philox4x32_key_t key = {{derived.v[0], derived.v[1]}};
    philox4x32_ctr_t ctr = {{(uint32_t)cases[t].site, (uint32_t)(cases[t].site >> 32),
                             (uint32_t)cases[t].step,
                             (uint32_t)(cases[t].step >> 32) | cases[t].draw << 16}};
    philox4x32_ctr_t want = philox4x32(ctr, key);

    invrg_rng_stream s;
    invrg_rng_stream_init(&s, cases[t].seed, cases[t].purpose, cases[t].item, cases[t].step);
    uint32_t got[4];
    invrg_rng_u32x4(&s, cases[t].site, cases[t].draw, got);
    for (int w = 0; w < 4; w++)
      ck_assert_msg(got[w] == want.v[w], "case %zu word %d: got %08x, want %08x", t, w, got[w],
                    want.v[w]);
  }
}
END_TEST

/* Streams opened one after another (as a dream's levels do: the same seed, purpose and item,
 * other steps), with the seed, the item or the purpose changing in between: each key is the
 * one derived afresh, never a remembered one of other names. */
START_TEST(test_stream_keys_follow_their_names) {
  const uint64_t seeds[] = {5, 6, 5}, items[] = {0, 1, 0x100000000u, 1};
  const invrg_rng_purpose purposes[] = {INVRG_RNG_DREAM, INVRG_RNG_TIE, INVRG_RNG_DREAM};
  int checked = 0;
  for (int round = 0; round < 2; round++)
    for (size_t a = 0; a < sizeof seeds / sizeof seeds[0]; a++)
      for (size_t b = 0; b < sizeof items / sizeof items[0]; b++)
        for (size_t c = 0; c < sizeof purposes / sizeof purposes[0]; c++)
          for (uint64_t step = 0; step < 3; step++) {
            philox4x32_key_t seed_key = {{(uint32_t)seeds[a], (uint32_t)(seeds[a] >> 32)}};
            philox4x32_ctr_t name = {{(uint32_t)items[b], (uint32_t)(items[b] >> 32),
                                      (uint32_t)purposes[c], 0}};
            const philox4x32_ctr_t want = philox4x32(name, seed_key);
            invrg_rng_stream s;
            invrg_rng_stream_init(&s, seeds[a], purposes[c], items[b], step);
            ck_assert_msg(s.key.v[0] == want.v[0] && s.key.v[1] == want.v[1],
                          "seed %llu item %llu purpose %d step %llu: a stale key",
                          (unsigned long long)seeds[a], (unsigned long long)items[b],
                          (int)purposes[c], (unsigned long long)step);
            ck_assert(s.step_lo == (uint32_t)step && s.step_hi == 0);
            checked++;
          }
  ck_assert_int_eq(checked, 2 * 3 * 4 * 3 * 3);
}
END_TEST

START_TEST(test_uniform_conversion) {
  ck_assert(invrg_rng_to_uniform(0, 0) == 0.0);
  ck_assert(invrg_rng_to_uniform(0xffffffff, 0xffffffff) == 1.0 - 0x1.0p-53);
  ck_assert(invrg_rng_to_uniform(0, 0x80000000) == 0.5);
  ck_assert(invrg_rng_to_uniform(0x800, 0) == 0x1.0p-53); /* lowest of the 53 bits */
  ck_assert(invrg_rng_to_uniform(0x7ff, 0) == 0.0);       /* the 11 dropped bits */
}
END_TEST

/* Single-value functions are the documented words of the same block. */
START_TEST(test_single_values_are_block_words) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 42, INVRG_RNG_TIE, 5, 11);
  for (uint64_t site = 0; site < 1000; site++) {
    uint32_t w[4];
    double u2[2];
    invrg_rng_u32x4(&s, site, 3, w);
    invrg_rng_uniform_x2(&s, site, 3, u2);
    ck_assert_uint_eq(invrg_rng_u32(&s, site, 3), w[0]);
    ck_assert(invrg_rng_uniform(&s, site, 3) == invrg_rng_to_uniform(w[0], w[1]));
    ck_assert(u2[0] == invrg_rng_to_uniform(w[0], w[1]));
    ck_assert(u2[1] == invrg_rng_to_uniform(w[2], w[3]));
    ck_assert(invrg_rng_coin(&s, site, 3) == (w[0] >> 31 == 1));
    ck_assert(invrg_rng_bernoulli(&s, site, 3, 0.5) == (u2[0] < 0.5));
    ck_assert(!invrg_rng_bernoulli(&s, site, 3, 0.0));
    ck_assert(invrg_rng_bernoulli(&s, site, 3, 1.0));
  }
}
END_TEST

/* Changing any one coordinate of (seed, purpose, item, step, site, draw) changes the block. */
START_TEST(test_coordinates_are_distinct) {
  const uint64_t seed = 7, item = 3, step = 0x100000000u, site = 0x100000001u;
  const uint32_t draw = 2;
  static const char *const changed[] = {"seed", "purpose", "item", "step", "step bit 47",
                                        "site", "site bit 63", "draw"};
  invrg_rng_stream base, s[5];
  invrg_rng_stream_init(&base, seed, INVRG_RNG_MC, item, step);
  invrg_rng_stream_init(&s[0], seed + 1, INVRG_RNG_MC, item, step);
  invrg_rng_stream_init(&s[1], seed, INVRG_RNG_TRAIN, item, step);
  invrg_rng_stream_init(&s[2], seed, INVRG_RNG_MC, item + 1, step);
  invrg_rng_stream_init(&s[3], seed, INVRG_RNG_MC, item, step + 1);
  invrg_rng_stream_init(&s[4], seed, INVRG_RNG_MC, item, step ^ ((uint64_t)1 << 47));
  uint32_t ref[4], v[8][4];
  invrg_rng_u32x4(&base, site, draw, ref);
  for (int t = 0; t < 5; t++) invrg_rng_u32x4(&s[t], site, draw, v[t]);
  invrg_rng_u32x4(&base, site + 1, draw, v[5]);
  invrg_rng_u32x4(&base, site ^ ((uint64_t)1 << 63), draw, v[6]);
  invrg_rng_u32x4(&base, site, draw + 1, v[7]);
  for (int t = 0; t < 8; t++)
    ck_assert_msg(memcmp(v[t], ref, sizeof ref) != 0, "changing the %s gives the same block",
                  changed[t]);
}
END_TEST

/* Row coins are the documented bits: coin x of row y is bit x mod 128 of block
 * (y·⌈width/128⌉ + ⌊x/128⌋) read as one little-endian 128-bit number; the batched words are
 * the single coins at every SIMD level, for widths around the word and block edges. */
START_TEST(test_row_coins_are_documented_bits) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 9, INVRG_RNG_TIE, 4, 77);
  const uint64_t widths[] = {1, 2, 63, 64, 65, 127, 128, 129, 200, 256, 300};
  enum { ROWS = 5, Y0 = 1000 };
  static uint64_t words[ROWS * 5];
  static uint32_t scratch[4 * ROWS * 3];
  for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
    const uint64_t width = widths[k], per_row = (width + 127) / 128, nw = (width + 63) / 64;
    for (uint64_t y = Y0; y < Y0 + ROWS; y++)
      for (uint64_t x = 0; x < width; x++) {
        uint32_t w[4];
        invrg_rng_u32x4(&s, y * per_row + x / 128, 2, w);
        const unsigned r = (unsigned)(x % 128), bit = w[r / 32] >> (r % 32) & 1;
        ck_assert_msg(invrg_rng_row_coin(&s, y, x, width, 2) == (bit == 1),
                      "width %llu: coin (%llu, %llu)", (unsigned long long)width,
                      (unsigned long long)x, (unsigned long long)y);
      }
    for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
      if (!invrg_simd_runs((invrg_simd_level)level)) continue;
      memset(words, 0, sizeof words);
      invrg_rng_row_coin_words(&s, (invrg_simd_level)level, Y0, ROWS, width, 2, scratch, words);
      for (uint64_t i = 0; i < ROWS; i++)
        for (uint64_t x = 0; x < width; x++)
          ck_assert_msg((words[i * nw + x / 64] >> (x % 64) & 1) ==
                            invrg_rng_row_coin(&s, Y0 + i, x, width, 2),
                        "%s, width %llu: word coin (%llu, %llu)",
                        invrg_simd_name((invrg_simd_level)level), (unsigned long long)width,
                        (unsigned long long)x, (unsigned long long)(Y0 + i));
    }
  }
}
END_TEST

/* ---- statistics: each estimate within 5 standard errors of its exact value */

enum { N_STAT = 1 << 20 };

static void check_within(double estimate, double exact, double std_error, const char *what) {
  ck_assert_msg(fabs(estimate - exact) < 5 * std_error, "%s: %.6g, expected %.6g +- 5 x %.2g",
                what, estimate, exact, std_error);
}

/* The batched (AVX2 when available) blocks are the scalar blocks, for lists and ranges,
 * tails shorter than eight, and ranges whose low word wraps into the high word. */
START_TEST(test_batches_equal_single_blocks) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 99, INVRG_RNG_MC, 5, 123456789);
  enum { N = 37, STRIDE = 40 };
  uint32_t out[4 * STRIDE];
  uint64_t sites[N];
  const uint64_t firsts[] = {0, 1000, UINT64_C(0xfffffff0), UINT64_C(0x3fffffffc)};
  for (size_t f = 0; f < sizeof firsts / sizeof firsts[0]; f++) {
    for (int n = 1; n <= N; n += 9) {
      invrg_rng_blocks_range(&s, firsts[f], n, 3, out, STRIDE);
      for (int i = 0; i < n; i++) {
        uint32_t w[4];
        invrg_rng_u32x4(&s, firsts[f] + (uint64_t)i, 3, w);
        for (int k = 0; k < 4; k++)
          ck_assert_msg(out[k * STRIDE + i] == w[k], "range from %llu, n %d, site %d, word %d",
                        (unsigned long long)firsts[f], n, i, k);
      }
    }
  }
  for (int i = 0; i < N; i++) sites[i] = (uint64_t)i * UINT64_C(0x9E3779B97F4A7C15) >> 20;
  invrg_rng_blocks_list(&s, sites, N, 0, out, STRIDE);
  for (int i = 0; i < N; i++) {
    uint32_t w[4];
    invrg_rng_u32x4(&s, sites[i], 0, w);
    for (int k = 0; k < 4; k++) ck_assert_uint_eq(out[k * STRIDE + i], w[k]);
  }
}
END_TEST

/* Every SIMD level this CPU runs gives the scalar blocks, for ranges (low word wrapping into
 * the high word inside a vector, and 2^64 wrapping) and lists, lengths around the vector widths
 * and the batches in flight (1 … 70), plain and tiled layouts; nothing outside the blocks is
 * written. */
START_TEST(test_every_simd_level_gives_the_scalar_blocks) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 7, INVRG_RNG_DREAM, 11, 0xabcdef0123u);
  invrg_rng_stream_use(&s, (invrg_rng_generator)_i); /* Philox, then ARS */
  enum { N = 70, STRIDE = 80, SLACK = 4 * 5 * STRIDE, CANARY = 0x5a5a5a5a };
  static uint32_t out[SLACK];
  const uint64_t firsts[] = {0, 1003, UINT64_C(0xfffffff5), UINT64_C(0x2fffffffb),
                             UINT64_MAX - 20};
  const int lengths[] = {1, 7, 8, 9, 15, 16, 17, 31, 33, 48, 63, 64, 65, 70};
  uint64_t sites[N];
  for (int i = 0; i < N; i++) sites[i] = (uint64_t)i * UINT64_C(0x9E3779B97F4A7C15) + 0xfffffff0u;
  int levels_run = 0;
  for (int run = 0; run < (_i == INVRG_RNG_ARS ? 2 : 1) * INVRG_SIMD_LEVELS; run++) {
    const int level = run % INVRG_SIMD_LEVELS;
    invrg_simd_ars_hide_vaes(run >= INVRG_SIMD_LEVELS); /* ARS: then as on a CPU without VAES */
    if (!invrg_simd_runs((invrg_simd_level)level)) continue;
    levels_run++;
    for (size_t f = 0; f <= sizeof firsts / sizeof firsts[0]; f++) /* the last: the list */
      for (size_t t = 0; t < sizeof lengths / sizeof lengths[0]; t++)
        for (int tiled = 0; tiled < 2; tiled++) {
          const int n = lengths[t], tile = tiled ? 16 : n;
          const size_t stride = tiled ? 16 : STRIDE;
          const bool list = f == sizeof firsts / sizeof firsts[0];
          for (int k = 0; k < SLACK; k++) out[k] = CANARY;
          invrg_rng_blocks_at(&s, (invrg_simd_level)level, list ? 0 : firsts[f], list ? sites : NULL,
                              n, 5, out, stride, tile);
          int written = 0;
          for (int i = 0; i < n; i++) {
            uint32_t w[4];
            invrg_rng_u32x4(&s, list ? sites[i] : firsts[f] + (uint64_t)i, 5, w);
            for (int k = 0; k < 4; k++) {
              const size_t at = (size_t)(i / tile) * 4 * stride + (size_t)k * stride + (size_t)(i % tile);
              ck_assert_msg(out[at] == w[k], "%s %s: %s from %llu, n %d, tile %d, block %d, word %d",
                            _i ? "ars" : "philox", invrg_simd_name((invrg_simd_level)level),
                            list ? "list" : "range",
                            (unsigned long long)(list ? 0 : firsts[f]), n, tile, i, k);
              out[at] = CANARY;
              written++;
            }
          }
          for (int k = 0; k < SLACK; k++)
            ck_assert_msg(out[k] == CANARY, "%s: n %d, tile %d: word %d written outside the blocks",
                          invrg_simd_name((invrg_simd_level)level), n, tile, k);
          ck_assert_int_eq(written, 4 * n);
        }
  }
  invrg_simd_ars_hide_vaes(false);
  ck_assert_int_ge(levels_run, 1);
}
END_TEST

/* Known answers of ARS-7 for keys {k0, k1, 0, 0}, the inputs of the Philox vectors above: the
 * output of Random123's ars4x32_R(7, ctr, key) (its ars.h, with AES-NI), kept here so that
 * builds without AES-NI (not x86) check their portable AES rounds against it too. */
static const uint32_t ars_kat_out[3][4] = {{0xdacf61ff, 0xc45798f3, 0x113c7eeb, 0x101e27f3},
                                           {0x5e39c131, 0xd1121a9c, 0xba0a9803, 0x9372482d},
                                           {0xb330966a, 0xd599daa5, 0xca557885, 0xb5de9cff}};

START_TEST(test_ars_known_answers) {
  for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
    if (!invrg_simd_runs((invrg_simd_level)level)) continue;
    for (int t = 0; t < 3; t++) {
      const uint64_t first = kat[t].ctr[0] | (uint64_t)kat[t].ctr[1] << 32;
      uint32_t out[4];
      invrg_simd_ars((invrg_simd_level)level, kat[t].key, kat[t].ctr + 2, first, NULL, 1, out, 1,
                     1);
      for (int w = 0; w < 4; w++)
        ck_assert_msg(out[w] == ars_kat_out[t][w], "%s (%s): vector %d word %d: %08x, want %08x",
                      invrg_simd_name((invrg_simd_level)level),
                      invrg_simd_ars_way((invrg_simd_level)level), t, w, out[w],
                      ars_kat_out[t][w]);
    }
  }
}
END_TEST

/*
 * ARS-7 is Random123's ars4x32 (7 rounds) of rng.h's counter under the key {key0, key1, 0, 0},
 * whichever way computes it (VAES, AES-NI, the AES round in C): each SIMD level's blocks
 * against Random123's, which needs AES-NI (the test is compiled with -maes on x86 and skips
 * the comparison, saying so, on a CPU without it; the levels still agree with each other in
 * test_every_simd_level_gives_the_scalar_blocks).
 */
START_TEST(test_ars_is_random123s) {
#if defined(__AES__)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("aes")) {
    fprintf(stderr, "SKIP test_ars_is_random123s: this CPU has no AES-NI for Random123's ARS\n");
    return;
  }
  enum { N = 37 };
  const uint64_t seeds[] = {0, 1, UINT64_MAX, 20250611};
  for (size_t t = 0; t < 2 * sizeof seeds / sizeof seeds[0]; t++) {
    invrg_simd_ars_hide_vaes(t >= sizeof seeds / sizeof seeds[0]); /* then as without VAES */
    invrg_rng_stream s;
    invrg_rng_stream_init(&s, seeds[t % 4], INVRG_RNG_MC, 3 * t + 1, (UINT64_C(1) << 47) + 5 * t);
    invrg_rng_stream_use(&s, INVRG_RNG_ARS);
    const uint64_t first = t % 4 == 2 ? UINT64_MAX - 9 : UINT64_C(0xfffffffa) * t;
    const uint32_t draw = (uint32_t)(t * 4099 % INVRG_RNG_DRAW_LIMIT);
    for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
      if (!invrg_simd_runs((invrg_simd_level)level)) continue;
      if (level != INVRG_SIMD_GENERIC && t >= sizeof seeds / sizeof seeds[0])
        ck_assert_str_eq(invrg_simd_ars_way((invrg_simd_level)level), "aes-ni");
      uint32_t out[4 * N];
      invrg_rng_blocks_at(&s, (invrg_simd_level)level, first, NULL, N, draw, out, N, N);
      for (int i = 0; i < N; i++) {
        const uint64_t site = first + (uint64_t)i;
        const ars4x32_ctr_t c = {{(uint32_t)site, (uint32_t)(site >> 32), s.step_lo,
                                  s.step_hi | draw << 16}};
        const ars4x32_key_t k = {{s.key.v[0], s.key.v[1], 0, 0}};
        const ars4x32_ctr_t r = ars4x32_R(7, c, k);
        for (int w = 0; w < 4; w++)
          ck_assert_msg(out[w * N + i] == r.v[w], "%s (%s): seed %zu, block %d, word %d: %08x, "
                        "Random123 %08x", invrg_simd_name((invrg_simd_level)level),
                        invrg_simd_ars_way((invrg_simd_level)level), t, i, w, out[w * N + i],
                        r.v[w]);
      }
    }
  }
  invrg_simd_ars_hide_vaes(false);
#else
  fprintf(stderr, "SKIP test_ars_is_random123s: built without AES-NI (not x86-64)\n");
#endif
}
END_TEST

/* A batch whose lanes are items: every SIMD level derives each item's stream key as
 * invrg_rng_stream_init() does and gives each item's own block (counters whose low words wrap,
 * steps and draws in the high word), for lengths around the vector widths and the vectors in
 * flight; nothing beyond the n lanes of a row is written. */
START_TEST(test_item_lanes_are_their_own_streams) {
  enum { N = 70, STRIDE = 72, CANARY = 0x5a5a5a5a };
  const int lengths[] = {1, 7, 8, 9, 16, 17, 31, 32, 33, 64, 65, 70};
  const uint64_t seed = UINT64_C(0x123456789abcdef), steps[] = {0, 3, UINT64_C(0xfffffffff)};
  const uint64_t sites[] = {0, 5, UINT64_C(0xffffffff), UINT64_C(0x100000003)};
  uint64_t items[N];
  for (int i = 0; i < N; i++) items[i] = (uint64_t)i * UINT64_C(0x9E3779B97F4A7C15) + 77;
  int levels_run = 0;
  for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
    if (!invrg_simd_runs((invrg_simd_level)level)) continue;
    levels_run++;
    for (size_t t = 0; t < sizeof lengths / sizeof lengths[0]; t++) {
      const int n = lengths[t];
      uint32_t key0[N], key1[N], out[4 * STRIDE];
      invrg_rng_item_keys(seed, INVRG_RNG_DREAM, items, n, (invrg_simd_level)level, key0, key1);
      for (int i = 0; i < n; i++) {
        invrg_rng_stream s;
        invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, items[i], 0);
        ck_assert_msg(key0[i] == s.key.v[0] && key1[i] == s.key.v[1], "%s: n %d, key of item %d",
                      invrg_simd_name((invrg_simd_level)level), n, i);
      }
      for (size_t st = 0; st < sizeof steps / sizeof steps[0]; st++)
        for (size_t si = 0; si < sizeof sites / sizeof sites[0]; si++) {
          for (int k = 0; k < 4 * STRIDE; k++) out[k] = CANARY;
          const uint32_t draw = (uint32_t)(st + si) % 3;
          invrg_rng_items_block(key0, key1, n, steps[st], sites[si], draw,
                                (invrg_simd_level)level, out, STRIDE);
          for (int i = 0; i < n; i++) {
            invrg_rng_stream s;
            invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, items[i], steps[st]);
            uint32_t w[4];
            invrg_rng_u32x4(&s, sites[si], draw, w);
            for (int k = 0; k < 4; k++) {
              ck_assert_msg(out[k * STRIDE + i] == w[k],
                            "%s: n %d, step %llu, site %llu, item %d, word %d",
                            invrg_simd_name((invrg_simd_level)level), n,
                            (unsigned long long)steps[st], (unsigned long long)sites[si], i, k);
              out[k * STRIDE + i] = CANARY;
            }
          }
          for (int k = 0; k < 4 * STRIDE; k++)
            ck_assert_msg(out[k] == CANARY, "%s: n %d: word %d written beyond the lanes",
                          invrg_simd_name((invrg_simd_level)level), n, k);
        }
    }
  }
  ck_assert_int_ge(levels_run, 1);
}
END_TEST

/* The dispatcher: INVRG_SIMD names a level this CPU runs → that level; a level it cannot run or
 * a wrong name → the best it runs (with a warning); unset → the best; kept until a reset. */
START_TEST(test_simd_dispatcher_honours_INVRG_SIMD) {
  invrg_simd_level best = INVRG_SIMD_GENERIC;
  for (int c = 0; c < INVRG_SIMD_LEVELS; c++)
    if (invrg_simd_runs((invrg_simd_level)c)) best = (invrg_simd_level)c;
  ck_assert(invrg_simd_runs(INVRG_SIMD_GENERIC));
  for (int c = 0; c < INVRG_SIMD_LEVELS; c++) {
    invrg_simd_level parsed;
    ck_assert(invrg_simd_parse(invrg_simd_name((invrg_simd_level)c), &parsed));
    ck_assert_int_eq(parsed, c);
    setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)c), 1);
    invrg_simd_reset();
    ck_assert_int_eq(invrg_simd_active(), invrg_simd_runs((invrg_simd_level)c) ? c : (int)best);
    setenv("INVRG_SIMD", "generic", 1); /* kept until reset */
    ck_assert_int_eq(invrg_simd_active(), invrg_simd_runs((invrg_simd_level)c) ? c : (int)best);
  }
  invrg_simd_level parsed;
  ck_assert(!invrg_simd_parse("sse2", &parsed));
  setenv("INVRG_SIMD", "sse2", 1);
  invrg_simd_reset();
  ck_assert_int_eq(invrg_simd_active(), best);
  unsetenv("INVRG_SIMD");
  invrg_simd_reset();
  ck_assert_int_eq(invrg_simd_active(), best);
#if !INVRG_SIMD_X86
  ck_assert_int_eq(best, INVRG_SIMD_GENERIC); /* a portable build runs nothing else */
#endif
}
END_TEST

START_TEST(test_uniform_moments) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 2024, INVRG_RNG_MC, 0, 1);
  double mean = 0, var = 0, corr_site = 0, corr_word = 0;
  double prev = invrg_rng_uniform(&s, 0, 0) - 0.5;
  for (uint64_t site = 1; site <= N_STAT; site++) {
    double u2[2];
    invrg_rng_uniform_x2(&s, site, 0, u2);
    double d = u2[0] - 0.5;
    mean += u2[0];
    var += d * d;
    corr_site += prev * d; /* neighbouring sites */
    corr_word += d * (u2[1] - 0.5); /* the two doubles of one block */
    prev = d;
  }
  /* Var(u) = 1/12; Var((u-1/2)^2) = 1/80 - 1/144 = 1/180; Var(d1 d2) = 1/144. */
  check_within(mean / N_STAT, 0.5, sqrt(1.0 / 12 / N_STAT), "mean of uniforms");
  check_within(var / N_STAT, 1.0 / 12, sqrt(1.0 / 180 / N_STAT), "variance of uniforms");
  check_within(corr_site / N_STAT, 0, 1.0 / 12 / sqrt(N_STAT), "covariance of neighbour sites");
  check_within(corr_word / N_STAT, 0, 1.0 / 12 / sqrt(N_STAT), "covariance within a block");
}
END_TEST

START_TEST(test_steps_and_draws_uncorrelated) {
  invrg_rng_stream s0, s1;
  invrg_rng_stream_init(&s0, 99, INVRG_RNG_DREAM, 4, 10);
  invrg_rng_stream_init(&s1, 99, INVRG_RNG_DREAM, 4, 11);
  double corr_step = 0, corr_draw = 0;
  for (uint64_t site = 0; site < N_STAT; site++) {
    double a = invrg_rng_uniform(&s0, site, 0) - 0.5;
    corr_step += a * (invrg_rng_uniform(&s1, site, 0) - 0.5);
    corr_draw += a * (invrg_rng_uniform(&s0, site, 1) - 0.5);
  }
  check_within(corr_step / N_STAT, 0, 1.0 / 12 / sqrt(N_STAT), "covariance of consecutive steps");
  check_within(corr_draw / N_STAT, 0, 1.0 / 12 / sqrt(N_STAT), "covariance of consecutive draws");
}
END_TEST

START_TEST(test_coin_and_bernoulli) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 5, INVRG_RNG_TIE, 1, 0);
  const double p = 0.3;
  double heads = 0, hits = 0, low_bits = 0;
  for (uint64_t site = 0; site < N_STAT; site++) {
    heads += invrg_rng_coin(&s, site, 0);
    hits += invrg_rng_bernoulli(&s, site, 1, p);
    uint32_t w[4];
    invrg_rng_u32x4(&s, site, 2, w);
    for (int k = 0; k < 4; k++) low_bits += w[k] & 1;
  }
  check_within(heads / N_STAT, 0.5, 0.5 / sqrt(N_STAT), "coin frequency");
  /* row coins (width 300: blocks of 128, 128 and 44 coins): frequency, and no correlation of
   * horizontal neighbours, of vertical ones, or of coins 32, 64 and 128 apart in a block */
  const uint64_t width = 300, rows = N_STAT / width;
  const uint64_t lags[][2] = {{1, 0}, {0, 1}, {32, 0}, {64, 0}, {128, 0}};
  double row_heads = 0, same[5] = {0}, pairs[5] = {0};
  for (uint64_t y = 0; y < rows; y++)
    for (uint64_t x = 0; x < width; x++) {
      const bool c = invrg_rng_row_coin(&s, y, x, width, 3);
      row_heads += c;
      for (int l = 0; l < 5; l++)
        if (x + lags[l][0] < width && y + lags[l][1] < rows) {
          pairs[l]++;
          same[l] += c == invrg_rng_row_coin(&s, y + lags[l][1], x + lags[l][0], width, 3);
        }
    }
  check_within(row_heads / (double)(rows * width), 0.5, 0.5 / sqrt((double)(rows * width)),
               "row coin frequency");
  for (int l = 0; l < 5; l++)
    check_within(same[l] / pairs[l], 0.5, 0.5 / sqrt(pairs[l]), "row coins: equal neighbours");
  check_within(hits / N_STAT, p, sqrt(p * (1 - p) / N_STAT), "Bernoulli(0.3) frequency");
  check_within(low_bits / (4.0 * N_STAT), 0.5, 0.5 / sqrt(4.0 * N_STAT), "lowest bit of words");
}
END_TEST

static Suite *rng_suite(void) {
  Suite *s = suite_create("rng");
  TCase *exact = tcase_create("exact");
  tcase_add_test(exact, test_known_answers);
  tcase_add_test(exact, test_layout_maps_to_library);
  tcase_add_test(exact, test_stream_keys_follow_their_names);
  tcase_add_test(exact, test_uniform_conversion);
  tcase_add_test(exact, test_single_values_are_block_words);
  tcase_add_test(exact, test_coordinates_are_distinct);
  tcase_add_test(exact, test_batches_equal_single_blocks);
  tcase_add_loop_test(exact, test_every_simd_level_gives_the_scalar_blocks, INVRG_RNG_PHILOX,
                      INVRG_RNG_ARS + 1);
  tcase_add_test(exact, test_ars_known_answers);
  tcase_add_test(exact, test_ars_is_random123s);
  tcase_add_test(exact, test_item_lanes_are_their_own_streams);
  tcase_add_test(exact, test_simd_dispatcher_honours_INVRG_SIMD);
  tcase_add_test(exact, test_row_coins_are_documented_bits);
  suite_add_tcase(s, exact);
  TCase *stats = tcase_create("statistics");
  tcase_set_timeout(stats, 60);
  tcase_add_test(stats, test_uniform_moments);
  tcase_add_test(stats, test_steps_and_draws_uncorrelated);
  tcase_add_test(stats, test_coin_and_bernoulli);
  suite_add_tcase(s, stats);
  return s;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  invrg_log_init(rank);
  const int status = run_suite(rng_suite());
  MPI_Finalize();
  return status;
}

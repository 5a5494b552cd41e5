/*
 * The small levels of a batch of dreams (dream_batch.h). A model here is a *rule*: fine site
 * (2I + α, 2J + β), child ab = 2α + β of coarse site (I, J), reads `inputs` coarse spins at
 * fixed offsets from its parent; its threshold is T[base[ab] + Σ weight[q] over the inputs q
 * that are up], and it is up iff its uniform u < T (u word g mod 4 of Philox block ⌊g/4⌋ of
 * its dream's stream at step ℓ: dream.h). Two kinds of rule:
 *   - sym3: inputs parent P, vertical V, horizontal H and diagonal D neighbour on the child's
 *     side, weights 6, 2, 2, 1 into its 12 thresholds (index P·6 + n·2 + d of dream_sym3.c);
 *   - a window table: the n × n window from (lo[α], lo[β]), weight of row r, column c
 *     2^(c·n + r) into T[ab << n² | pattern] (dream_internal.h).
 * The lanes are decided 16 at a time with AVX-512 (the index by masked adds, the threshold by a
 * permute or a gather), 8 at a time with AVX2, one at a time otherwise: the same bits.
 */
#include "invrg/dream_batch.h"

#include <stdlib.h>
#include <string.h>

#include "invrg/bitops.h"
#include "invrg/rng.h"
#include "invrg/simd.h"
#include "invrg/ticks.h"
#include "ml/dream_internal.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

enum {
  LANES = INVRG_DREAM_BATCH_LANES,
  MAX_LEVELS = INVRG_DREAM_BATCH_MAX_LEVELS,
  MAX_INPUTS = 16
};

typedef struct {
  int inputs;
  int8_t offset[4][MAX_INPUTS][2]; /* child ab, input q: (dy, dx) from the parent */
  uint32_t weight[MAX_INPUTS];
  uint32_t base[4];
  uint32_t *T; /* owned */
  uint32_t n_T;
} batch_rule;

struct invrg_dream_batch {
  int levels, n_small;
  batch_rule rule, rule_small;
  int n;                                  /* lanes of the last run */
  int last_lane;                          /* the last lane asked for */
  uint64_t samples[LANES];
  uint32_t key0[LANES], key1[LANES];      /* the lanes' dream streams */
  uint64_t *spins[MAX_LEVELS + 1];        /* level ℓ: 4^ℓ words, bit i = lane i */
  uint64_t *lanes[MAX_LEVELS + 1];        /* level ℓ by lane: lane i's sites from word i·W(ℓ) */
  uint16_t *inputs[MAX_LEVELS + 1];       /* level ℓ: the coarse sites fine site g reads, at
                                           * [g·MAX_INPUTS + q] (made once: no modulo per site) */
  uint32_t u[4][LANES];                   /* one Philox block of every lane */
};

static int64_t sites_of(int level) { return (int64_t)1 << (2 * level); }
static int64_t lane_words(int level) { return sites_of(level) < 64 ? 1 : sites_of(level) / 64; }

bool invrg_dream_batch_supports(const invrg_model *m) {
  return m != NULL && (m->kind == INVRG_MODEL_KIND_SYM3 || invrg_dream_has_table(m));
}

/* ------------------------------------------------------------------ rules */

static invrg_err rule_sym3(const invrg_model *m, batch_rule *r) {
  invrg_err err = INVRG_SUCCESS;
  *r = (batch_rule){.inputs = 4, .weight = {6, 2, 2, 1}, .n_T = 12};
  r->T = malloc(12 * sizeof *r->T);
  INVRG_CHECK_ALLOC(r->T);
  invrg_dream_sym3_thresholds12(m, r->T);
  for (int ab = 0; ab < 4; ab++) {
    const int8_t sa = (ab >> 1) ? 1 : -1, sb = (ab & 1) ? 1 : -1;
    const int8_t off[4][2] = {{0, 0}, {sa, 0}, {0, sb}, {sa, sb}}; /* P, V, H, D */
    memcpy(r->offset[ab], off, sizeof off);
  }
cleanup:
  return err;
}

static invrg_err rule_table(const invrg_model *m, batch_rule *r) {
  invrg_err err = INVRG_SUCCESS;
  window_table t = {0};
  err = invrg_dream_table_create(m, &t);
  if (err != INVRG_SUCCESS) {
    free(t.T); /* made before the failure, if it was */
    goto cleanup;
  }
  *r = (batch_rule){.inputs = t.bits, .T = t.T, .n_T = UINT32_C(4) << t.bits};
  for (int row = 0; row < t.n; row++)
    for (int c = 0; c < t.n; c++) {
      const int q = c * t.n + row;
      r->weight[q] = UINT32_C(1) << q;
      for (int ab = 0; ab < 4; ab++) {
        r->offset[ab][q][0] = (int8_t)(t.lo[ab >> 1] + row);
        r->offset[ab][q][1] = (int8_t)(t.lo[ab & 1] + c);
      }
    }
  for (int ab = 0; ab < 4; ab++) r->base[ab] = (uint32_t)ab << t.bits;
cleanup:
  return err;
}

static invrg_err rule_of(const invrg_model *m, batch_rule *r) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(invrg_dream_batch_supports(m), INVRG_ERR_RUNTIME,
              "a %s model cannot dream in batches", invrg_model_kind_name(m->kind));
  INVRG_CALL(m->kind == INVRG_MODEL_KIND_SYM3 ? rule_sym3(m, r) : rule_table(m, r));
cleanup:
  return err;
}

/* ------------------------------------------------------------------ a fine site of every lane */

/* in[q]: input q of the site in every lane; u: the lanes' uniforms. Returns the lanes whose
 * spin is down. */
static uint64_t decide_generic(const batch_rule *r, int ab, const uint64_t *in, const uint32_t *u,
                               int n) {
  uint64_t down = 0;
  for (int i = 0; i < n; i++) {
    uint32_t index = r->base[ab];
    for (int q = 0; q < r->inputs; q++)
      if (!(in[q] >> i & 1)) index += r->weight[q];
    if (!(u[i] < r->T[index])) down |= UINT64_C(1) << i;
  }
  return down;
}

#if INVRG_SIMD_X86
/* AVX2: eight lanes a vector, an input's eight bits spread over the lanes by a compare with
 * the lanes' own bit; the threshold by two 8-entry permutes (sym3's 12) or a gather. */
INVRG_TARGET_AVX2 static uint64_t decide_avx2(const batch_rule *r, int ab, const uint64_t *in,
                                              const uint32_t *u, int n) {
  uint64_t down = 0;
  const bool in_register = r->n_T <= 16;
  uint32_t T16[16] = {0};
  if (in_register) memcpy(T16, r->T, r->n_T * sizeof *T16);
  const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i t_lo = _mm256_loadu_si256((const __m256i *)(const void *)T16),
                t_hi = _mm256_loadu_si256((const __m256i *)(const void *)(T16 + 8));
  const __m256i seven = _mm256_set1_epi32(7), flip = _mm256_set1_epi32((int)0x80000000u);
  for (int h = 0; 8 * h < n; h++) {
    __m256i index = _mm256_set1_epi32((int)r->base[ab]);
    for (int q = 0; q < r->inputs; q++) {
      const __m256i bits =
          _mm256_and_si256(_mm256_set1_epi32((int)(in[q] >> 8 * h & 0xFF)), lane_bit);
      const __m256i is_down = _mm256_cmpeq_epi32(bits, lane_bit);
      index = _mm256_add_epi32(index,
                               _mm256_andnot_si256(is_down, _mm256_set1_epi32((int)r->weight[q])));
    }
    const __m256i T =
        in_register
            ? _mm256_blendv_epi8(_mm256_permutevar8x32_epi32(t_lo, index),
                                 _mm256_permutevar8x32_epi32(t_hi, _mm256_and_si256(index, seven)),
                                 _mm256_cmpgt_epi32(index, seven))
            : _mm256_i32gather_epi32((const int *)(const void *)r->T, index, 4);
    const __m256i uu = _mm256_loadu_si256((const __m256i *)(const void *)(u + 8 * h));
    /* u < T unsigned: a signed compare after flipping the top bits */
    const __m256i up = _mm256_cmpgt_epi32(_mm256_xor_si256(T, flip), _mm256_xor_si256(uu, flip));
    down |= (uint64_t)(uint8_t)~_mm256_movemask_ps(_mm256_castsi256_ps(up)) << 8 * h;
  }
  return n == LANES ? down : down & ((UINT64_C(1) << n) - 1);
}

INVRG_TARGET_AVX512 static uint64_t decide_avx512(const batch_rule *r, int ab, const uint64_t *in,
                                                  const uint32_t *u, int n) {
  uint64_t down = 0;
  const bool in_register = r->n_T <= 16;
  const __m512i T16 = in_register ? _mm512_maskz_loadu_epi32((__mmask16)((1u << r->n_T) - 1), r->T)
                                  : _mm512_setzero_si512();
  for (int h = 0; 16 * h < n; h++) {
    __m512i index = _mm512_set1_epi32((int)r->base[ab]);
    for (int q = 0; q < r->inputs; q++)
      index = _mm512_mask_add_epi32(index, (__mmask16)~(in[q] >> 16 * h), index,
                                    _mm512_set1_epi32((int)r->weight[q]));
    const __m512i T = in_register ? _mm512_permutexvar_epi32(index, T16)
                                  : _mm512_i32gather_epi32(index, (const void *)r->T, 4);
    const __mmask16 up = _mm512_cmplt_epu32_mask(_mm512_loadu_si512(u + 16 * h), T);
    down |= (uint64_t)(uint16_t)~up << 16 * h;
  }
  return n == LANES ? down : down & ((UINT64_C(1) << n) - 1);
}
#endif

/* ------------------------------------------------------------------ levels */

static int wrap(int v, int n) { return ((v % n) + n) % n; }

/* Where the fine sites of level @p level read their inputs under rule @p r (periodic). */
static void input_sites(const batch_rule *r, int level, uint16_t *inputs) {
  const int L = 1 << level, lc = L / 2;
  for (int g = 0; g < L * L; g++) {
    const int y = g / L, x = g % L, ab = 2 * (y & 1) + (x & 1);
    for (int q = 0; q < r->inputs; q++)
      inputs[g * MAX_INPUTS + q] = (uint16_t)(wrap(y / 2 + r->offset[ab][q][0], lc) * lc +
                                              wrap(x / 2 + r->offset[ab][q][1], lc));
  }
}

/* Level @p level (side L) from level − 1 with rule @p r. */
static void step(invrg_dream_batch *b, const batch_rule *r, int level, invrg_simd_level simd) {
  const int L = 1 << level, n = b->n;
  const uint64_t *coarse = b->spins[level - 1];
  const uint16_t *inputs = b->inputs[level];
  uint64_t *fine = b->spins[level];
  uint64_t in[MAX_INPUTS];
  for (int64_t block = 0; block < sites_of(level) / 4; block++) {
    invrg_rng_items_block(b->key0, b->key1, n, (uint64_t)level, (uint64_t)block, 0, simd,
                          b->u[0], LANES);
    for (int k = 0; k < 4; k++) {
      const int g = (int)(4 * block + k), ab = 2 * (g / L & 1) + (g % L & 1);
      for (int q = 0; q < r->inputs; q++) in[q] = coarse[inputs[g * MAX_INPUTS + q]];
#if INVRG_SIMD_X86
      if (simd == INVRG_SIMD_AVX512) {
        fine[g] = decide_avx512(r, ab, in, b->u[k], n);
        continue;
      }
      if (simd == INVRG_SIMD_AVX2) {
        fine[g] = decide_avx2(r, ab, in, b->u[k], n);
        continue;
      }
#endif
      fine[g] = decide_generic(r, ab, in, b->u[k], n);
    }
  }
}

/* Level @p level by lanes: word w of lane i holds sites 64w … 64w + 63. */
static void by_lanes(invrg_dream_batch *b, int level) {
  const int64_t N = sites_of(level), W = lane_words(level);
  uint64_t a[64];
  for (int64_t w = 0; w < W; w++) {
    for (int s = 0; s < 64; s++) a[s] = 64 * w + s < N ? b->spins[level][64 * w + s] : 0;
    invrg_transpose64(a);
    for (int i = 0; i < b->n; i++) b->lanes[level][i * W + w] = a[i];
  }
}

/* The seed spins invrg_dream_seed_spin() gives: +1, by parity, or (any other start) the coin
 * of block (0, draw 1) at step 0, heads up. */
static void seed_spins(invrg_dream_batch *b, invrg_dream_start start, invrg_simd_level simd) {
  const bool coin = start != INVRG_DREAM_START_UP && start != INVRG_DREAM_START_ALTERNATE;
  uint64_t down = 0;
  if (coin) invrg_rng_items_block(b->key0, b->key1, b->n, 0, 0, 1, simd, b->u[0], LANES);
  for (int i = 0; i < b->n; i++) {
    const bool up = coin ? b->u[0][i] >> 31 != 0
                         : start == INVRG_DREAM_START_UP || b->samples[i] % 2 == 0;
    if (!up) down |= UINT64_C(1) << i;
  }
  b->spins[0][0] = down;
}

void invrg_dream_batch_run(invrg_dream_batch *b, invrg_dream_start start, uint64_t seed,
                           const uint64_t *samples, int n, uint64_t *ticks) {
  INVRG_ASSERT(n >= 0 && n <= LANES);
  const invrg_simd_level simd = invrg_simd_active();
  b->n = n;
  b->last_lane = 0;
  memcpy(b->samples, samples, (size_t)n * sizeof *samples);
  if (n == 0) return;
  invrg_rng_item_keys(seed, INVRG_RNG_DREAM, samples, n, simd, b->key0, b->key1);
  seed_spins(b, start, simd);
  uint64_t t = ticks != NULL ? invrg_ticks() : 0;
  for (int level = 1; level <= b->levels; level++) {
    step(b, level <= b->n_small ? &b->rule_small : &b->rule, level, simd);
    by_lanes(b, level);
    if (ticks == NULL) continue;
    const uint64_t now = invrg_ticks();
    ticks[level] += now - t;
    t = now;
  }
}

/* ------------------------------------------------------------------ reading it */

int invrg_dream_batch_levels(const invrg_dream_batch *b) { return b->levels; }

int invrg_dream_batch_count(const invrg_dream_batch *b) { return b->n; }

const uint64_t *invrg_dream_batch_samples(const invrg_dream_batch *b) { return b->samples; }

const uint64_t *invrg_dream_batch_level(const invrg_dream_batch *b, int level) {
  INVRG_ASSERT(level >= 0 && level <= b->levels);
  return b->spins[level];
}

int invrg_dream_batch_lane(invrg_dream_batch *b, uint64_t sample) {
  for (int k = 0; k < b->n; k++) { /* from the lane after the last one found: dreams in order */
    const int i = (b->last_lane + k) % b->n;
    if (b->samples[i] == sample) return b->last_lane = i;
  }
  return -1;
}

int invrg_dream_batch_spin(const invrg_dream_batch *b, int lane, int level, int x, int y) {
  const int64_t g = ((int64_t)y << level) + x;
  return b->spins[level][g] >> lane & 1 ? -1 : 1;
}

void invrg_dream_batch_to_packed(const invrg_dream_batch *b, int lane, int level,
                                 invrg_packed *p) {
  const int L = 1 << level;
  INVRG_ASSERT(level >= 1 && level <= b->levels && lane >= 0 && lane < b->n && p->lx == L &&
               p->ly == L);
  const uint64_t *bits = b->lanes[level] + (size_t)lane * (size_t)lane_words(level);
  const uint64_t row_mask = L == 64 ? ~UINT64_C(0) : (UINT64_C(1) << L) - 1;
  for (int j = 0; j < p->ny; j++) {
    const int64_t gy = p->y0 + j, first = gy * L; /* L divides 64: a row is in one word */
    const uint64_t row = bits[first / 64] >> (first % 64) & row_mask;
    const uint64_t evens = invrg_even_bits(row), odds = invrg_even_bits(row >> 1);
    /* colour c holds the sites x ≡ gy + c (mod 2) */
    invrg_packed_row(p, 0, j)[0] = gy % 2 == 0 ? evens : odds;
    invrg_packed_row(p, 1, j)[0] = gy % 2 == 0 ? odds : evens;
  }
}

/* ------------------------------------------------------------------ life */

invrg_err invrg_dream_batch_create(const invrg_model *m, const invrg_model *m_small, int n_small,
                                   int levels, invrg_dream_batch **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_dream_batch *b = calloc(1, sizeof *b);
  INVRG_CHECK_ALLOC(b);
  INVRG_CHECK(levels >= 1 && levels <= MAX_LEVELS, INVRG_ERR_RUNTIME,
              "a batch of dreams holds levels 1 to %d, not %d", MAX_LEVELS, levels);
  b->levels = levels;
  b->n_small = m_small != NULL ? n_small : 0;
  INVRG_CALL(rule_of(m, &b->rule));
  if (b->n_small > 0) INVRG_CALL(rule_of(m_small, &b->rule_small));
  for (int level = 0; level <= levels; level++) {
    if (level >= 1) {
      b->inputs[level] = malloc((size_t)sites_of(level) * MAX_INPUTS * sizeof *b->inputs[level]);
      INVRG_CHECK_ALLOC(b->inputs[level]);
      input_sites(level <= b->n_small ? &b->rule_small : &b->rule, level, b->inputs[level]);
    }
    b->spins[level] = calloc((size_t)sites_of(level), sizeof *b->spins[level]);
    b->lanes[level] = calloc(LANES * (size_t)lane_words(level), sizeof *b->lanes[level]);
    INVRG_CHECK_ALLOC(b->spins[level]);
    INVRG_CHECK_ALLOC(b->lanes[level]);
  }
cleanup:
  if (err != INVRG_SUCCESS) invrg_dream_batch_destroy(&b);
  *out = b;
  return err;
}

void invrg_dream_batch_destroy(invrg_dream_batch **b) {
  if (*b == NULL) return;
  free((*b)->rule.T);
  free((*b)->rule_small.T);
  for (int level = 0; level <= MAX_LEVELS; level++) {
    free((*b)->spins[level]);
    free((*b)->lanes[level]);
    free((*b)->inputs[level]);
  }
  free(*b);
  *b = NULL;
}

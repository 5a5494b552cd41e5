/*
 * Checkerboard Metropolis and heat-bath sweeps (random-number layout in
 * invrg/mc_update.h).
 *
 * Work is done per row *segment*: the sites of one colour in local row j,
 * columns [i_begin, i_end). Their colour indices q are consecutive, so their
 * random words are a contiguous run of the group layout: the segment first
 * fills a buffer with whole groups of 16 Philox blocks (vectorised across the
 * blocks), then a kernel updates the sites p[0], p[2], … of the row from it.
 *
 * Kernels: a portable one, and AVX2 / AVX-512 ones on x86, at the level of the
 * SIMD layer (invrg/simd.h), which also draws the groups. All give identical
 * results: they implement the same acceptance rule on the same 32-bit words.
 */
#include "invrg/mc_update.h"

#include <math.h>

#include "invrg/simd.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

/* A group: GROUP_BLOCKS Philox blocks, GROUP_SITES = 4 * GROUP_BLOCKS words. */
enum { GROUP_BLOCKS = 16, GROUP_SITES = 64, GROUP_SHIFT = 6 };
/* Sites of a segment handled per buffer fill, and the buffer (two partial groups + slack). */
enum { PIECE_SITES = 1024, BUF_WORDS = PIECE_SITES + 3 * GROUP_SITES };
/* Segments this short draw their words one Philox block per site instead of whole groups. */
enum { SHORT_SEGMENT = 8 };

/*
 * A site accepts when its word u < threshold, T = round(p·2^32) clamped to
 * 2^32 − 1, so the probability used differs from p by at most 2^-32.
 */
typedef struct {
  uint32_t metro[2]; /* Metropolis: flip when s·h = 2 (metro[0]) or 4 (metro[1]) and u < T */
  uint32_t heat[5];  /* heat bath: s = +1 iff u < heat[(h + 4) / 2] */
} thresholds;

/* Everything a segment update needs. */
typedef struct {
  invrg_lattice *lat;
  const invrg_rng_stream *stream;
  const thresholds *th;
  bool heatbath;
  invrg_simd_level kernel;
  int64_t flips; /* spins changed so far on this rank */
} sweep_ctx;

/* ---------------------------------------------------------------- thresholds */

static uint32_t threshold(double p) {
  double t = nearbyint(ldexp(p, 32));
  if (!(t > 0)) return 0;
  if (t > 4294967295.0) return UINT32_MAX;
  return (uint32_t)t;
}

/* Metropolis: p = e^{−2K s h}; heat bath: P(s = +1) = 1 / (1 + e^{−2K h}). */
static void thresholds_init(double K, thresholds *th) {
  th->metro[0] = threshold(exp(-4.0 * K));
  th->metro[1] = threshold(exp(-8.0 * K));
  for (int k = 0; k < 5; k++) th->heat[k] = threshold(1.0 / (1.0 + exp(-2.0 * K * (2 * k - 4))));
}

/* ---------------------------------------------------------------- random words */

/* Word of colour index q in colour c: block 16·(q >> 6) + (q & 15), draw c, word (q >> 4) & 3. */
static uint32_t site_word(const invrg_rng_stream *s, int c, uint64_t q) {
  uint32_t w[4];
  invrg_rng_u32x4(s, (q >> GROUP_SHIFT) * GROUP_BLOCKS + (q & (GROUP_BLOCKS - 1)), (uint32_t)c, w);
  return w[(q >> 4) & 3];
}

/* ---------------------------------------------------------------- portable kernel */

/*
 * Updates the n sites p[0], p[2], …, p[2n − 2] (neighbours p[2t ± 1] and
 * p[2t ± sx]) with words u[t]; returns the number of spins changed.
 */
static int64_t kernel_generic(int8_t *p, ptrdiff_t sx, const uint32_t *u, int n,
                              const thresholds *th, bool heatbath) {
  int64_t flips = 0;
  for (int t = 0; t < n; t++) {
    int8_t *site = p + 2 * t;
    const int s = site[0];
    const int h = site[-1] + site[1] + site[-sx] + site[sx];
    int s_new;
    if (heatbath) {
      s_new = u[t] < th->heat[(h + 4) / 2] ? 1 : -1;
    } else {
      const int sh = s * h; /* ΔE = 2 s h: accept always if sh ≤ 0, else with e^{−2K sh} */
      s_new = (sh <= 0 || u[t] < th->metro[sh / 2 - 1]) ? -s : s;
    }
    flips += s_new != s;
    site[0] = (int8_t)s_new;
  }
  return flips;
}

/* ---------------------------------------------------------------- AVX2 */
#if INVRG_SIMD_X86
/* u < T for unsigned 32-bit lanes (AVX2 only compares signed: flip the top bits). */
INVRG_TARGET_AVX2 static inline __m256i less_u32_avx2(__m256i u_biased, uint32_t T) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(T ^ 0x80000000u)), u_biased);
}

/* Sixteen 32-bit lanes (a: sites 0–7, b: 8–15) of values −8..0 into the even bytes, in order. */
INVRG_TARGET_AVX2 static inline __m256i to_even_bytes_avx2(__m256i a, __m256i b) {
  return _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
}

/*
 * Per chunk of 16 sites (32 bytes: sites at even offsets): h from four byte
 * loads (the right neighbour is the odd byte of the site's own 16-bit lane).
 * Metropolis: level = [u < T(2)] + [u < T(4)] (T(4) ≤ T(2)); flip iff s·h ≤ 2·level.
 * Heat bath: n = Σ_h' [u < T(h')] over h' = −4..4 (T increasing), s = +1 iff h ≥ 6 − 2n.
 */
INVRG_TARGET_AVX2 static int64_t kernel_avx2(int8_t *p, ptrdiff_t sx, const uint32_t *u, int n,
                                       const thresholds *th, bool heatbath) {
  const __m256i even_ff = _mm256_set1_epi16(0x00FF), even_fe = _mm256_set1_epi16(0x00FE);
  const __m256i bias = _mm256_set1_epi32((int)0x80000000u);
  const __m256i zero = _mm256_setzero_si256();
  int64_t flips = 0;
  int t = 0;
  for (; t + 16 <= n; t += 16) {
    int8_t *q = p + 2 * t;
    const __m256i s = _mm256_loadu_si256((const __m256i *)q);
    const __m256i left = _mm256_loadu_si256((const __m256i *)(q - 1));
    const __m256i right = _mm256_srli_epi16(s, 8);
    const __m256i up = _mm256_loadu_si256((const __m256i *)(q - sx));
    const __m256i down = _mm256_loadu_si256((const __m256i *)(q + sx));
    const __m256i h = _mm256_add_epi8(_mm256_add_epi8(left, right), _mm256_add_epi8(up, down));
    const __m256i ua = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(u + t)), bias);
    const __m256i ub = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(u + t + 8)), bias);
    if (heatbath) {
      __m256i na = zero, nb = zero; /* −n per lane */
      for (int k = 0; k < 5; k++) {
        na = _mm256_add_epi32(na, less_u32_avx2(ua, th->heat[k]));
        nb = _mm256_add_epi32(nb, less_u32_avx2(ub, th->heat[k]));
      }
      const __m256i mn = to_even_bytes_avx2(na, nb);
      /* h ≥ 6 − 2n  ⇔  h − 2(−n) > 5 */
      const __m256i upm =
          _mm256_cmpgt_epi8(_mm256_sub_epi8(h, _mm256_add_epi8(mn, mn)), _mm256_set1_epi8(5));
      const __m256i s_new = _mm256_sub_epi8(_mm256_and_si256(upm, _mm256_set1_epi8(2)),
                                            _mm256_set1_epi8(1)); /* ±1 */
      const __m256i res = _mm256_blendv_epi8(s, s_new, even_ff);
      const __m256i changed = _mm256_xor_si256(res, s); /* 0xFE where flipped, else 0 */
      flips += __builtin_popcount((unsigned)_mm256_movemask_epi8(changed));
      _mm256_storeu_si256((__m256i *)q, res);
    } else {
      const __m256i lva =
          _mm256_add_epi32(less_u32_avx2(ua, th->metro[0]), less_u32_avx2(ua, th->metro[1]));
      const __m256i lvb =
          _mm256_add_epi32(less_u32_avx2(ub, th->metro[0]), less_u32_avx2(ub, th->metro[1]));
      const __m256i mlevel = to_even_bytes_avx2(lva, lvb); /* −level */
      const __m256i sh = _mm256_sign_epi8(h, s);           /* s·h, s = ±1 */
      /* flip iff s·h ≤ 2·level  ⇔  not (s·h + 2(−level) > 0) */
      const __m256i keep = _mm256_cmpgt_epi8(_mm256_add_epi8(sh, _mm256_add_epi8(mlevel, mlevel)),
                                             zero);
      const __m256i flip = _mm256_andnot_si256(keep, even_fe);
      flips += __builtin_popcount((unsigned)_mm256_movemask_epi8(flip));
      _mm256_storeu_si256((__m256i *)q, _mm256_xor_si256(s, flip)); /* ±1 ^ 0xFE = ∓1 */
    }
  }
  _mm256_zeroupper(); /* GCC 12 leaves it out before this call: see check_vector_state.py */
  return flips + kernel_generic(p + 2 * t, sx, u + t, n - t, th, heatbath);
}

/* ---------------------------------------------------------------- AVX-512 */

/* Bit t of the 32-bit mask → bit 2t of the 64-bit byte mask (sites sit at even bytes). */
INVRG_TARGET_AVX512 static inline __mmask64 spread(uint32_t m) {
  return (__mmask64)_pdep_u64(m, UINT64_C(0x5555555555555555));
}

/* Mask of the 32 words u[0..rem) that are < T. */
INVRG_TARGET_AVX512 static inline uint32_t less_u32_avx512(__m512i ua, __m512i ub, uint32_t T) {
  const __m512i t = _mm512_set1_epi32((int)T);
  return (uint32_t)_mm512_cmplt_epu32_mask(ua, t) |
         (uint32_t)_mm512_cmplt_epu32_mask(ub, t) << 16;
}

/*
 * Per chunk of 32 sites (64 bytes), the tail with masked loads and stores, so
 * nothing outside p[−1 .. 2n − 1] and the rows' p[±sx .. ±sx + 2n − 1] is touched.
 * Only flipped (or heat-bath colour) bytes are stored.
 */
INVRG_TARGET_AVX512 static int64_t kernel_avx512(int8_t *p, ptrdiff_t sx, const uint32_t *u, int n,
                                           const thresholds *th, bool heatbath) {
  const __m512i fe = _mm512_set1_epi8((char)0xFE), zero = _mm512_setzero_si512();
  int64_t flips = 0;
  for (int t = 0; t < n; t += 32) {
    const int rem = n - t < 32 ? n - t : 32;
    const __mmask64 valid = rem == 32 ? ~(__mmask64)0 : (((__mmask64)1 << (2 * rem)) - 1);
    const __mmask16 va = (__mmask16)(rem >= 16 ? 0xFFFF : (1u << rem) - 1);
    const __mmask16 vb = (__mmask16)(rem >= 32 ? 0xFFFF : rem > 16 ? (1u << (rem - 16)) - 1 : 0);
    const __mmask64 sites = valid & UINT64_C(0x5555555555555555);
    int8_t *q = p + 2 * t;
    const __m512i s = _mm512_maskz_loadu_epi8(valid, q);
    const __m512i left = _mm512_maskz_loadu_epi8(valid, q - 1);
    const __m512i right = _mm512_srli_epi16(s, 8);
    const __m512i up = _mm512_maskz_loadu_epi8(valid, q - sx);
    const __m512i down = _mm512_maskz_loadu_epi8(valid, q + sx);
    const __m512i h = _mm512_add_epi8(_mm512_add_epi8(left, right), _mm512_add_epi8(up, down));
    const __m512i ua = _mm512_maskz_loadu_epi32(va, u + t);
    const __m512i ub = _mm512_maskz_loadu_epi32(vb, u + t + 16);
    if (heatbath) {
      /* s = +1 iff u < T(h): select the threshold mask by h. */
      __mmask64 plus = 0;
      for (int k = 0; k < 5; k++)
        plus |= _mm512_cmpeq_epi8_mask(h, _mm512_set1_epi8((char)(2 * k - 4))) &
                spread(less_u32_avx512(ua, ub, th->heat[k]));
      const __m512i s_new =
          _mm512_mask_blend_epi8(plus, _mm512_set1_epi8(-1), _mm512_set1_epi8(1));
      flips += __builtin_popcountll(_mm512_mask_cmpneq_epi8_mask(sites, s_new, s));
      _mm512_mask_storeu_epi8(q, sites, s_new);
    } else {
      const __mmask64 neg = _mm512_movepi8_mask(s);
      const __m512i sh = _mm512_mask_sub_epi8(h, neg, zero, h); /* s·h */
      const __mmask64 flip =
          sites & (_mm512_cmple_epi8_mask(sh, zero) |
                   (_mm512_cmpeq_epi8_mask(sh, _mm512_set1_epi8(2)) &
                    spread(less_u32_avx512(ua, ub, th->metro[0]))) |
                   (_mm512_cmpeq_epi8_mask(sh, _mm512_set1_epi8(4)) &
                    spread(less_u32_avx512(ua, ub, th->metro[1]))));
      flips += __builtin_popcountll(flip);
      _mm512_mask_storeu_epi8(q, flip, _mm512_xor_si512(s, fe));
    }
  }
  return flips;
}
#endif /* INVRG_SIMD_X86 */

/* ---------------------------------------------------------------- dispatch */

const char *invrg_mc_checkerboard_kernel(void) { return invrg_simd_name(invrg_simd_active()); }

bool invrg_mc_checkerboard_kernel_runs(const char *name) {
  invrg_simd_level level;
  return invrg_simd_parse(name, &level) && invrg_simd_runs(level);
}

/* Groups g0 … g0 + ng − 1 of colour c into out[64·k + 16·word + lane]: tiles of 16 blocks. */
static void fill_groups(const sweep_ctx *ctx, int c, uint64_t g0, int ng, uint32_t *out) {
  invrg_rng_blocks_at(ctx->stream, ctx->kernel, g0 * GROUP_BLOCKS, NULL, ng * GROUP_BLOCKS,
                      (uint32_t)c, out, GROUP_BLOCKS, GROUP_BLOCKS);
}

static int64_t run_kernel(const sweep_ctx *ctx, int8_t *p, const uint32_t *u, int n) {
  const ptrdiff_t sx = ctx->lat->sx;
#if INVRG_SIMD_X86
  if (ctx->kernel == INVRG_SIMD_AVX512) return kernel_avx512(p, sx, u, n, ctx->th, ctx->heatbath);
  if (ctx->kernel == INVRG_SIMD_AVX2) return kernel_avx2(p, sx, u, n, ctx->th, ctx->heatbath);
#endif
  return kernel_generic(p, sx, u, n, ctx->th, ctx->heatbath);
}

/* ---------------------------------------------------------------- sweeps */

/* Colour-c sites of local row j in columns [i_begin, i_end). */
static void update_segment(sweep_ctx *ctx, int c, int j, int i_begin, int i_end) {
  const invrg_lattice *lat = ctx->lat;
  const int64_t gy = lat->y0 + j;
  const int i_first = i_begin + (int)((lat->x0 + i_begin + gy + c) & 1);
  if (i_first >= i_end) return;
  const int n = (i_end - i_first + 1) / 2;
  /* Colour index q = (gy·Lx + gx) / 2: consecutive along the segment. */
  const uint64_t q0 = ((uint64_t)gy * (uint64_t)lat->lx + (uint64_t)(lat->x0 + i_first)) >> 1;
  int8_t *p = lat->data + invrg_lattice_index(lat, i_first, j);
  uint32_t buf[BUF_WORDS];
  if (n <= SHORT_SEGMENT) { /* a block column edge: one Philox block per site beats a group */
    for (int t = 0; t < n; t++) buf[t] = site_word(ctx->stream, c, q0 + (uint64_t)t);
    ctx->flips += kernel_generic(p, lat->sx, buf, n, ctx->th, ctx->heatbath);
    return;
  }
  for (int t0 = 0; t0 < n; t0 += PIECE_SITES) {
    const int m = n - t0 < PIECE_SITES ? n - t0 : PIECE_SITES;
    const uint64_t qa = q0 + (uint64_t)t0, g0 = qa >> GROUP_SHIFT;
    const int ng = (int)(((qa + (uint64_t)m - 1) >> GROUP_SHIFT) - g0 + 1);
    fill_groups(ctx, c, g0, ng, buf);
    ctx->flips += run_kernel(ctx, p + 2 * t0, buf + (qa - (g0 << GROUP_SHIFT)), m);
  }
}

/* Colour c in local rows [j0, j1), columns [i0, i1). */
static void update_rect(sweep_ctx *ctx, int c, int j0, int j1, int i0, int i1) {
  for (int j = j0; j < j1; j++) update_segment(ctx, c, j, i0, i1);
}

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* Colour c on the sites less than h from the block edge: what the halo exchange sends. */
static void update_boundary(sweep_ctx *ctx, int c) {
  const invrg_lattice *lat = ctx->lat;
  const int h = lat->halo, nx = lat->nx, ny = lat->ny;
  const int top = imin(h, ny), bottom = imax(h, ny - h);
  const int left = imin(h, nx), right = imax(h, nx - h);
  update_rect(ctx, c, 0, top, 0, nx);
  update_rect(ctx, c, bottom, ny, 0, nx);
  for (int j = top; j < bottom; j++) {
    update_segment(ctx, c, j, 0, left);
    update_segment(ctx, c, j, right, nx);
  }
}

/*
 * One colour, then its halo. With neighbours on other ranks (@p overlap), the
 * edge sites go first, then the interior is updated while the messages travel
 * (it reads and writes only sites the exchange does not touch).
 */
static invrg_err sweep_colour(sweep_ctx *ctx, int c, bool overlap) {
  invrg_err err = INVRG_SUCCESS;
  invrg_lattice *lat = ctx->lat;
  const int h = lat->halo;
  if (!overlap) {
    update_rect(ctx, c, 0, lat->ny, 0, lat->nx);
    INVRG_CALL(invrg_lattice_halo_exchange(lat));
  } else {
    update_boundary(ctx, c);
    INVRG_CALL(invrg_lattice_halo_begin(lat));
    update_rect(ctx, c, h, lat->ny - h, h, lat->nx - h);
    INVRG_CALL(invrg_lattice_halo_end(lat));
  }
cleanup:
  return err;
}

invrg_err invrg_mc_checkerboard_sweep(invrg_lattice *lat, const invrg_mc_chain *chain,
                                      uint64_t step, bool heatbath, invrg_mc_counts *counts) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(lat->lx % 2 == 0 && lat->ly % 2 == 0, INVRG_ERR_INPUT,
              "checkerboard updates need an even lattice size, got %lld x %lld",
              (long long)lat->lx, (long long)lat->ly);
  INVRG_CHECK(chain->K > 0 && isfinite(chain->K), INVRG_ERR_INPUT,
              "checkerboard updates need a positive finite coupling, got K = %g", chain->K);
  INVRG_CHECK(step < INVRG_RNG_STEP_LIMIT, INVRG_ERR_RUNTIME, "sweep number %llu out of range",
              (unsigned long long)step);
  INVRG_CHECK(chain->generator == INVRG_RNG_PHILOX, INVRG_ERR_INPUT,
              "int8 checkerboard sweeps draw with Philox only (ARS is for multispin sweeps)");

  thresholds th;
  thresholds_init(chain->K, &th);
  invrg_rng_stream stream;
  invrg_rng_stream_init(&stream, chain->seed, invrg_mc_chain_purpose(chain), chain->chain, step);
  sweep_ctx ctx = {.lat = lat, .stream = &stream, .th = &th, .heatbath = heatbath,
                   .kernel = invrg_simd_active(), .flips = 0};
  int ranks = 1;
  if (lat->mode == INVRG_LATTICE_DISTRIBUTED) INVRG_MPI_CALL(MPI_Comm_size(lat->comm, &ranks));
  for (int c = 0; c < 2; c++) INVRG_CALL(sweep_colour(&ctx, c, ranks > 1));

  if (counts != NULL) {
    int64_t flips = 0;
    INVRG_MPI_CALL(MPI_Allreduce(&ctx.flips, &flips, 1, MPI_INT64_T, MPI_SUM, lat->comm));
    counts->attempted += lat->lx * lat->ly;
    counts->accepted += flips;
    counts->spins_flipped += flips;
  }
cleanup:
  return err;
}

/*
 * The sym3 kernel of the random bit planes (dream_planes.h): a word's 64 spins are children
 * (α, β) of 64 consecutive coarse sites, so their parent, vertical, horizontal and diagonal
 * neighbours are four input planes and sym3's 12 classes (P·6 + n·2 + d, dream_sym3.c) are bit
 * masks of them; a threshold plane is the OR over classes of mask & (bit 31 − j of T[class]).
 */
#include <stdlib.h>
#include <string.h>

#include "ml/dream_planes.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

enum { CLASSES = 12, PIECE = INVRG_PLANES_PIECE, FIRST = INVRG_PLANES_FIRST };

/* bits[j][k]: all ones if bit 31 − j of threshold k is set, else 0. */
typedef struct {
  uint32_t bits[INVRG_PLANES_BITS][CLASSES];
} sym3_bits;

/* Vectors of 16 half-words (GCC and Clang vector extensions) compile to one AVX-512 register,
 * two AVX2 or four SSE2 ones. */
typedef uint32_t vec16 __attribute__((vector_size(64)));

/* The 12 class masks from the parent, vertical, horizontal and diagonal neighbour bits (1 =
 * spin −1), at sym3's threshold index P·6 + n·2 + d (dream_sym3.c). Scalars or vectors. */
#define CLASS_MASKS(T, p_dn, v_dn, h_dn, d_dn, cls)                                             \
  do {                                                                                         \
    const T v_ = ~(v_dn), h_ = ~(h_dn);                                                        \
    const T P_[2] = {(p_dn), ~(p_dn)}, D_[2] = {(d_dn), ~(d_dn)};                              \
    const T N_[3] = {~v_ & ~h_, v_ ^ h_, v_ & h_}; /* up among V and H: 0, 1, 2 */             \
    for (int p_ = 0; p_ < 2; p_++)                                                             \
      for (int n_ = 0; n_ < 3; n_++)                                                           \
        for (int d_ = 0; d_ < 2; d_++) (cls)[p_ * 6 + n_ * 2 + d_] = P_[p_] & N_[n_] & D_[d_]; \
  } while (0)

/* Planes j0 … j0 + count − 1 of one half-word: the bit-serial comparison. */
#define COMPARE_PLANES(T, cls, tbits, j0, count, plane_of, a, u)                  \
  for (int j_ = 0; j_ < (count); j_++) {                                         \
    const T r_ = plane_of(j_);                                                   \
    T tb_ = (a) ^ (a);                                                           \
    for (int k_ = 0; k_ < CLASSES; k_++) tb_ |= (cls)[k_] & (tbits)[(j0) + j_][k_]; \
    INVRG_PLANES_COMPARE(a, u, r_, tb_);                                         \
  }

/* The first planes of n half-words (n a multiple of 16): up and undecided sites. */
static inline __attribute__((always_inline)) void first_planes_body(
    int n, const invrg_planes_half *const *restrict in, const invrg_planes_half *restrict valid,
    invrg_planes_rnd restrict rnd, const uint32_t (*restrict tbits)[CLASSES],
    uint32_t *restrict up, uint32_t *restrict und) {
  for (int t = 0; t < n; t += 16) {
    vec16 cls[CLASSES], nb[4], r[FIRST], u, a;
    memcpy(&u, valid + t, sizeof u); /* memcpy: unaligned loads, no ABI questions */
    for (int k = 0; k < 4; k++) memcpy(&nb[k], in[k] + t, sizeof nb[k]);
    for (int j = 0; j < FIRST; j++) memcpy(&r[j], rnd[j / 4][j % 4] + t, sizeof r[j]);
    a = u ^ u;
    CLASS_MASKS(vec16, nb[0], nb[1], nb[2], nb[3], cls);
#define PLANE(j) r[j]
    COMPARE_PLANES(vec16, cls, tbits, 0, FIRST, PLANE, a, u)
#undef PLANE
    memcpy(up + t, &a, sizeof a);
    memcpy(und + t, &u, sizeof u);
  }
}

#define FIRST_PLANES_ARGS                                                                      \
  int n, const invrg_planes_half *const *in, const invrg_planes_half *valid, invrg_planes_rnd rnd, \
      const uint32_t (*tbits)[CLASSES], uint32_t *up, uint32_t *und
#define FIRST_PLANES_CALL first_planes_body(n, in, valid, rnd, tbits, up, und)

static void first_planes_generic(FIRST_PLANES_ARGS) { FIRST_PLANES_CALL; }
#if INVRG_SIMD_X86
INVRG_TARGET_AVX2 static void first_planes_avx2(FIRST_PLANES_ARGS) { FIRST_PLANES_CALL; }
INVRG_TARGET_AVX512 static void first_planes_avx512(FIRST_PLANES_ARGS) { FIRST_PLANES_CALL; }
#endif

static void sym3_first(const invrg_planes_kernel *k, const invrg_planes_piece *pc, int halves,
                       invrg_planes_rnd rnd, uint32_t *up, uint32_t *und,
                       invrg_simd_level level) {
  const int n = (halves + 15) & ~15;
  const uint32_t(*tbits)[CLASSES] = (const uint32_t(*)[CLASSES])((const sym3_bits *)k->data)->bits;
  const invrg_planes_half *const *in = pc->in;
#if INVRG_SIMD_X86
  if (level == INVRG_SIMD_AVX512) {
    first_planes_avx512(n, in, pc->valid, rnd, tbits, up, und);
    return;
  }
  if (level == INVRG_SIMD_AVX2) {
    first_planes_avx2(n, in, pc->valid, rnd, tbits, up, und);
    return;
  }
#endif
  (void)level;
  first_planes_generic(n, in, pc->valid, rnd, tbits, up, und);
}

#if INVRG_SIMD_X86
/* The further planes of 16 waiting half-words a vector: their input planes, up and undecided
 * bits gathered, compared as in the first planes, scattered back (a list's half-words are
 * distinct, so no two lanes write one place). */
INVRG_TARGET_AVX512 static void more_avx512(const uint32_t (*tbits)[CLASSES],
                                            const invrg_planes_piece *pc, const int *half, int n,
                                            int j0, const uint32_t (*extra)[2 * PIECE],
                                            uint32_t *up, uint32_t *und) {
  const __m512i zero = _mm512_setzero_si512();
  for (int q = 0; q < n; q += 16) {
    const __mmask16 m = (__mmask16)(n - q >= 16 ? 0xffffu : (1u << (n - q)) - 1);
    const __m512i t = _mm512_maskz_loadu_epi32(m, half + q);
    vec16 nb[4], r[INVRG_PLANES_ROUND], cls[CLASSES];
    for (int k = 0; k < 4; k++)
      nb[k] = (vec16)_mm512_mask_i32gather_epi32(zero, m, t, pc->in[k], 4);
    for (int j = 0; j < INVRG_PLANES_ROUND; j++)
      r[j] = (vec16)_mm512_maskz_loadu_epi32(m, extra[j] + q);
    vec16 a = (vec16)_mm512_mask_i32gather_epi32(zero, m, t, up, 4);
    vec16 u = (vec16)_mm512_mask_i32gather_epi32(zero, m, t, und, 4);
    CLASS_MASKS(vec16, nb[0], nb[1], nb[2], nb[3], cls);
#define PLANE(j) r[j]
    COMPARE_PLANES(vec16, cls, tbits, j0, INVRG_PLANES_ROUND, PLANE, a, u)
#undef PLANE
    _mm512_mask_i32scatter_epi32(up, m, t, (__m512i)a, 4);
    _mm512_mask_i32scatter_epi32(und, m, t, (__m512i)u, 4);
  }
}
#endif

static void sym3_more(const invrg_planes_kernel *k, const invrg_planes_piece *pc,
                      const int *half, int n, int j0, const uint32_t (*extra)[2 * PIECE],
                      uint32_t *up, uint32_t *und) {
  const uint32_t(*tbits)[CLASSES] = (const uint32_t(*)[CLASSES])((const sym3_bits *)k->data)->bits;
#if INVRG_SIMD_X86
  if (invrg_simd_active() == INVRG_SIMD_AVX512) {
    more_avx512(tbits, pc, half, n, j0, extra, up, und);
    return;
  }
#endif
  for (int q = 0; q < n; q++) {
    const int t = half[q];
    uint32_t cls[CLASSES], a = up[t], u = und[t];
    CLASS_MASKS(uint32_t, pc->in[0][t], pc->in[1][t], pc->in[2][t], pc->in[3][t], cls);
#define PLANE(j) extra[j][q]
    COMPARE_PLANES(uint32_t, cls, tbits, j0, INVRG_PLANES_ROUND, PLANE, a, u)
#undef PLANE
    up[t] = a;
    und[t] = u;
  }
}

invrg_err invrg_planes_kernel_sym3(const uint32_t T12[12], invrg_planes_kernel *k) {
  invrg_err err = INVRG_SUCCESS;
  memset(k, 0, sizeof *k);
  sym3_bits *b = malloc(sizeof *b);
  INVRG_CHECK_ALLOC(b);
  for (int j = 0; j < INVRG_PLANES_BITS; j++)
    for (int c = 0; c < CLASSES; c++) b->bits[j][c] = 0u - (T12[c] >> (31 - j) & 1);
  k->data = b;
  k->inputs = 4, k->margin = 1;
  k->first = sym3_first, k->more = sym3_more;
  /* child 2α + β: parent, the vertical and horizontal neighbours on its side, the diagonal */
  for (int ab = 0; ab < 4; ab++) {
    const int8_t v = (ab >> 1) ? 1 : -1, h = (ab & 1) ? 1 : -1;
    const int8_t off[4][2] = {{0, 0}, {v, 0}, {0, h}, {v, h}};
    memcpy(k->offset[ab], off, sizeof off);
  }
cleanup:
  return err;
}

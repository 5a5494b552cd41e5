/**
 * @file simd.h
 * The one SIMD layer: which vector instruction set the hot loops use (one dispatcher for the
 * whole library, forced with INVRG_SIMD=generic|avx2|avx512) and the batched Philox4x32-10
 * that rng.h's bulk functions and the checkerboard sweeps draw from (and ARS-7, which sweeps
 * of packed lattices may choose instead). Every level gives the
 * same bits; the vector levels only go faster.
 *
 * x86 vector code is compiled only where INVRG_SIMD_X86 is 1: on x86-64 with GCC or Clang,
 * unless the library is configured with -DINVRG_SIMD=OFF (INVRG_SIMD_PORTABLE_ONLY). Elsewhere
 * only the portable C path exists, and the dispatcher always answers "generic". The library
 * is built without -march flags: the vector functions carry their own target attributes and
 * run only on a CPU that has the instructions.
 */
#ifndef INVRG_SIMD_H
#define INVRG_SIMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(INVRG_SIMD_PORTABLE_ONLY)
#define INVRG_SIMD_X86 1
/* What the AVX2 and AVX-512 levels may use (and the dispatcher checks the CPU for). */
#define INVRG_TARGET_AVX2 __attribute__((target("avx2,popcnt")))
#define INVRG_TARGET_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,bmi2,popcnt")))
#else
#define INVRG_SIMD_X86 0
#endif

/** Instruction sets, in increasing order: a level may use everything below it. */
typedef enum {
  INVRG_SIMD_GENERIC = 0, /**< portable C */
  INVRG_SIMD_AVX2 = 1,    /**< AVX2 (+ POPCNT) */
  INVRG_SIMD_AVX512 = 2   /**< AVX-512 F, BW, VL (+ BMI2, AVX2, POPCNT) */
} invrg_simd_level;

/** Number of levels. */
#define INVRG_SIMD_LEVELS 3

/** "generic", "avx2" or "avx512". */
const char *invrg_simd_name(invrg_simd_level level);

/** The level named @p name ("generic", "avx2", "avx512"); false if it names none. */
bool invrg_simd_parse(const char *name, invrg_simd_level *level);

/** True if this build has @p level and this CPU can run it. Not collective. */
bool invrg_simd_runs(invrg_simd_level level);

/**
 * The level the library uses: the one INVRG_SIMD names if this build and CPU run it (else a
 * warning, once), otherwise the best they run. Read at the first call and kept.
 */
static inline invrg_simd_level invrg_simd_active(void);

/* What invrg_simd_active() reads (inline: the kernels ask per row): the kept level or −1, and
 * the function that chooses and keeps it. */
extern int invrg_simd_kept;
invrg_simd_level invrg_simd_choose(void);

static inline invrg_simd_level invrg_simd_active(void) {
  return invrg_simd_kept >= 0 ? (invrg_simd_level)invrg_simd_kept : invrg_simd_choose();
}

/** Forgets the level kept by invrg_simd_active(): the next call reads INVRG_SIMD again (tests). */
void invrg_simd_reset(void);

/**
 * Philox4x32-10 of @p n counters under @p key, at @p level (≤ what invrg_simd_runs() allows):
 * counter i is {b lo, b hi, ctr_hi[0], ctr_hi[1]} with b = sites[i], or b = first + i when
 * @p sites is NULL. Word k of block i goes to out[(i / tile)·4·stride + k·stride + i % tile]:
 * tiles of @p tile blocks, each four rows of @p stride words (tile ≤ stride). tile = n is the
 * plain layout out[k·stride + i]; otherwise tile must be a multiple of 16. The same words at
 * every level (the generic one is Random123's philox4x32). Not collective.
 */
void invrg_simd_philox(invrg_simd_level level, const uint32_t key[2], const uint32_t ctr_hi[2],
                       uint64_t first, const uint64_t *sites, int n, uint32_t *out, size_t stride,
                       int tile);

/**
 * Philox4x32-10 of the one counter @p ctr under @p n keys {key0[i], key1[i]}, at @p level:
 * word k of block i goes to out[k·stride + i] (stride ≥ n). For lanes that are items with a
 * stream each (a batch of dreams): block i is Random123's philox4x32 of @p ctr under key i,
 * the same words at every level. Not collective.
 */
void invrg_simd_philox_keys(invrg_simd_level level, const uint32_t *key0, const uint32_t *key1,
                            const uint32_t ctr[4], int n, uint32_t *out, size_t stride);

/**
 * ARS-7 (Salmon et al., SC'11; Random123's ars4x32 with its default 7 rounds) of the same
 * counters as invrg_simd_philox(), under the 128-bit key {key[0], key[1], 0, 0}, in the same
 * layout: seven AES rounds of counter ⊕ key, round key r = key + r·(0x9E3779B97F4A7C15,
 * 0xBB67AE8584CAA73B) per 64-bit half. For sweeps that choose it (rng.h: INVRG_RNG_ARS). The
 * same words at every level and whatever the CPU: with VAES (four blocks a register at the
 * AVX-512 level, two at AVX2), AES-NI (a CPU without VAES), or the AES round in portable C
 * (slow: for machines without AES-NI and for tests). Not collective.
 */
void invrg_simd_ars(invrg_simd_level level, const uint32_t key[2], const uint32_t ctr_hi[2],
                    uint64_t first, const uint64_t *sites, int n, uint32_t *out, size_t stride,
                    int tile);

/**
 * How invrg_simd_ars() computes at @p level on this CPU: "vaes" (AVX-512 level), "vaes-256"
 * (AVX2 level), "aes-ni" (either level on a CPU without VAES) or "portable".
 */
const char *invrg_simd_ars_way(invrg_simd_level level);

/** Tests: with @p hide, invrg_simd_ars() runs as on a CPU without VAES (AES-NI at the vector
 * levels). Not collective. */
void invrg_simd_ars_hide_vaes(bool hide);

#endif

/**
 * @file exact.h
 * Exact results for the 2D Ising model on the periodic L×L square lattice
 * (H = −Σ_<ij> s_i s_j, coupling K = βJ), used as the oracle of every Monte
 * Carlo and dreamed ensemble. Pure functions, not collective.
 */
#ifndef INVRG_EXACT_H
#define INVRG_EXACT_H

#include <stdbool.h>

/** K_c = ½ ln(1 + √2), the critical coupling. */
#define INVRG_K_CRITICAL 0.44068679350977147

/** Per-spin results of the finite torus. */
typedef struct {
  double log_z;         /**< ln Z (total, not per spin) */
  double energy;        /**< ⟨E⟩/N */
  double specific_heat; /**< C/N = K² (⟨E²⟩ − ⟨E⟩²)/N */
} invrg_exact_thermo;

/**
 * Kaufman's closed form for the L×L torus (Ferdinand & Fisher 1969), in log
 * space with analytic K-derivatives, accurate near K_c. Returns false if L < 2
 * or K <= 0.
 */
bool invrg_exact_torus(int L, double K, invrg_exact_thermo *out);

/** Everything brute-force enumeration gives (per spin; m = Σs/N). */
typedef struct {
  double energy, specific_heat;
  double abs_m, m2, m4;
} invrg_exact_moments;

/**
 * Sums over all 2^(L²) states: exact for L <= 5 (at most 2^25 states).
 * Returns false for larger L.
 */
bool invrg_exact_enumerate(int L, double K, invrg_exact_moments *out);

#endif

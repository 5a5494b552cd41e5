/**
 * @file model.h
 * Inverse-RG models ("upsamplers", docs/physics.md §4): given a coarse configuration μ
 * (Lc × Lc, ±1, periodic) they give independent probabilities P(s = +1) =
 * sigmoid(z) for every site of the 2Lc × 2Lc fine lattice.
 *
 * - sym3, sym5, sym7: one k × k kernel (k = 3, 5, 7) tied across the orbits of
 *   the square's symmetry group D4, bias −ΣK/2, so that z = ½ Σ K · s_up is
 *   exactly spin-flip symmetric; parameters θ_o, one per orbit.
 * - conv: upsample → conv(1→C, k×k) + bias → ReLU → conv(C→1, k×k) + bias.
 *
 * Convolutions are periodic ("circular") cross-correlations on the fine lattice,
 * with true wrap at any size, 1 × 1 included. Functions here work on whole
 * configurations held by the caller (row-major [y][x]); they are not
 * collective and never communicate.
 */
#ifndef INVRG_MODEL_H
#define INVRG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invrg/choices.h" /* invrg_model_kind */
#include "invrg/error.h"
#include "invrg/rng.h"

typedef enum { INVRG_MODEL_SYM, INVRG_MODEL_CONV } invrg_model_family;

/** D4 orbits by sorted offset (|di|, |dj|) = (p ≤ q), index → orbit (docs/physics.md §4). */
extern const int invrg_sym_orbits[10][2];

typedef struct {
  invrg_model_family family;
  invrg_model_kind kind; /**< sym3, sym5, sym7 or conv (invrg_model_kind_name()) */
  int kernel;         /**< k */
  int channels;       /**< C (conv), 0 for sym models */
  int n_params;
  double *params;     /**< owned; layout in invrg_model_param_name() */
  /* sym: how many kernel entries of orbit o fall on coarse offset d for child position
   * (α, β): count[((αβ)·R + dy)·R + dx][o], R = 2·reach + 1. Private. */
  int reach;
  int *orbit_count;
} invrg_model;

/** "sym3", "sym5", "sym7" or "conv" (the `kind` of a model file); "unknown" for another value. */
const char *invrg_model_kind_name(invrg_model_kind kind);

/** Number of parameters of a model kind: sym3 3, sym5 6, sym7 10, conv 2C(k²+… ) = C(2k²+1)+1. */
int invrg_model_param_count(invrg_model_kind kind, int kernel, int channels);

/**
 * A model of @p kind (kernel and channels used by conv only, sym kinds fix their
 * kernel) with parameters zero. Input error for an unknown kind or a bad conv kernel.
 */
invrg_err invrg_model_create(invrg_model_kind kind, int kernel, int channels, invrg_model **out);

void invrg_model_destroy(invrg_model **m);

/** A copy with its own parameters. */
invrg_err invrg_model_clone(const invrg_model *m, invrg_model **out);

/**
 * Initial parameters from the stream @p s (draws at sites 0, 1, …): sym θ ~ U[0, 1);
 * conv weights and biases ~ U(−1/√fan_in, 1/√fan_in) with fan_in = in_channels·k².
 */
void invrg_model_init_params(invrg_model *m, const invrg_rng_stream *s);

/**
 * Name of parameter @p i: sym "theta<i> (p,q)" with its orbit; conv "conv1.weight[c][i][j]",
 * "conv1.bias[c]", "conv2.weight[c][i][j]", "conv2.bias" in that (PyTorch state_dict) order.
 */
void invrg_model_param_name(const invrg_model *m, int i, char *buf, size_t buflen);

/**
 * sym models: the effective coarse kernels W[αβ][d] = Σ_o θ_o orbit_count[αβ][d][o] into
 * @p W (4 · (2·reach + 1)² numbers): z of child αβ of block I is ½ Σ_d W[αβ][d] μ(I + d).
 */
void invrg_model_sym_coarse_kernels(const invrg_model *m, double *W);

/** Scratch memory for one fine size; reused across calls. */
typedef struct invrg_model_work invrg_model_work;
invrg_err invrg_model_work_create(const invrg_model *m, int lc, invrg_model_work **out);
void invrg_model_work_destroy(invrg_model_work **w);

/** Logits z (2lc × 2lc) of every fine site given the coarse μ (lc × lc, ±1). */
void invrg_model_logits(const invrg_model *m, const int8_t *coarse, int lc, double *z,
                        invrg_model_work *w);

/**
 * Binary cross-entropy with logits, summed over the fine sites, of target
 * @p fine (2lc × 2lc, ±1) given @p coarse:  Σ softplus(z) − t z,  t = (s+1)/2.
 * Adds @p weight × its gradient to @p grad (n_params). Returns the unweighted sum.
 */
double invrg_model_loss_grad(const invrg_model *m, const int8_t *coarse, const int8_t *fine,
                             int lc, double weight, double *grad, invrg_model_work *w);

/**
 * The same for sym3 through the closed form z = ½[(c+2b+a) μ_P + (a+b)(μ_V + μ_H) + a μ_D]
 * (docs/physics.md §4) and a histogram of the 24 possible (μ_P, μ_V+μ_H, μ_D, t): the hot path of
 * training. Equal to invrg_model_loss_grad() up to the order of summation.
 */
double invrg_model_sym3_loss_grad(const invrg_model *m, const int8_t *coarse, const int8_t *fine,
                                  int lc, double weight, double *grad);

#endif

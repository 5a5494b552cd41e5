/**
 * @file choices.h
 * The named choices that the input selects (src/core/config.c) and the modules below the
 * stages take as they are: model kinds, the loss, the learning-rate schedule, the replica
 * kept by training, the seed of a dream and the tie rule of the majority rule.
 *
 * Each enum has a NULL-terminated table of its names, indexed by its values: the key table
 * of the input takes its allowed values from there, so a name read from the input is an
 * enum from then on. Choices only the stages use are in config.h.
 */
#ifndef INVRG_CHOICES_H
#define INVRG_CHOICES_H

#include <stdbool.h>

/** Inverse-RG models (model.h, docs/physics.md §4). */
typedef enum {
  INVRG_MODEL_KIND_SYM3, /**< 3 × 3 D4-symmetric kernel, 3 parameters */
  INVRG_MODEL_KIND_SYM5, /**< 5 × 5, 6 parameters */
  INVRG_MODEL_KIND_SYM7, /**< 7 × 7, 10 parameters */
  INVRG_MODEL_KIND_CONV  /**< two-layer convolutional net */
} invrg_model_kind;
/** "sym3", "sym5", "sym7", "conv" (also the `kind` of a model in an HDF5 file). */
extern const char *const invrg_model_kind_names[];

/** The training loss (docs/physics.md §5). */
typedef enum {
  INVRG_LOSS_BCE,     /**< binary cross-entropy per spin */
  INVRG_LOSS_WEIGHTED /**< each configuration weighted 2^-n_tie, mean 1 per batch */
} invrg_loss_kind;
/** "bce", "weighted". */
extern const char *const invrg_loss_kind_names[];

/** The learning-rate schedule of the stochastic optimizers. */
typedef enum { INVRG_SCHEDULE_ONECYCLE, INVRG_SCHEDULE_CONSTANT } invrg_schedule_kind;
/** "onecycle", "constant". */
extern const char *const invrg_schedule_kind_names[];

/** Which model stochastic training keeps of its replicas (invrg_train_select_model()). */
typedef enum {
  INVRG_SELECT_AUTO, /**< sym: the better validating of mean and best; conv: best */
  INVRG_SELECT_MEAN, /**< the mean of the replicas' parameters (sym models only) */
  INVRG_SELECT_BEST  /**< the replica with the lowest final validation loss */
} invrg_train_select;
/** "auto", "mean", "best". */
extern const char *const invrg_train_select_names[];

/** The 1 × 1 seed of a dream (dream.h). */
typedef enum {
  INVRG_DREAM_START_ALTERNATE, /**< +1 for even samples, −1 for odd ones */
  INVRG_DREAM_START_RANDOM,    /**< a fair coin per sample */
  INVRG_DREAM_START_UP,        /**< always +1 */
  INVRG_DREAM_START_MC         /**< a saved Monte Carlo configuration of side start_L */
} invrg_dream_start;
/** "alternate", "random", "up". */
extern const char *const invrg_dream_start_names[];

/** How a tied block (two up, two down) of the majority rule is decided (blockspin.h). */
typedef enum {
  INVRG_TIE_RANDOM = 0,    /**< fair coin keyed by (seed, item, step, coarse site) */
  INVRG_TIE_UP = 1,        /**< always +1 */
  INVRG_TIE_UPPER_LEFT = 2 /**< the block's spin at its lowest (x, y) */
} invrg_tie_rule;
/** "random", "up", "upper_left". */
extern const char *const invrg_tie_rule_names[];

/** The floating-point type of the correlation functions' FFT (correlation.h). */
typedef enum {
  INVRG_CORR_DOUBLE, /**< double: ŝ(k) to about 1e-15 of its scale */
  INVRG_CORR_SINGLE  /**< float: half the memory; G(r) within about 1e-5 of double (docs/physics.md §7) */
} invrg_corr_precision;
/** "double", "single". */
extern const char *const invrg_corr_precision_names[];

/**
 * The position of @p name in the NULL-terminated table @p names (exact match), i.e. the
 * enum value it names; false if it is not there. For names read from files; names read
 * from the input arrive as enums (config.h). Not collective.
 */
bool invrg_choice_find(const char *const *names, const char *name, int *value);

#endif

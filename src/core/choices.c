/* Names of the choices shared by the input and the modules (choices.h), indexed by value. */
#include "invrg/choices.h"

#include <stddef.h>
#include <string.h>

const char *const invrg_model_kind_names[] = {
    [INVRG_MODEL_KIND_SYM3] = "sym3", [INVRG_MODEL_KIND_SYM5] = "sym5",
    [INVRG_MODEL_KIND_SYM7] = "sym7", [INVRG_MODEL_KIND_CONV] = "conv",
    [INVRG_MODEL_KIND_CONV + 1] = NULL};

const char *const invrg_loss_kind_names[] = {
    [INVRG_LOSS_BCE] = "bce", [INVRG_LOSS_WEIGHTED] = "weighted", [INVRG_LOSS_WEIGHTED + 1] = NULL};

const char *const invrg_schedule_kind_names[] = {[INVRG_SCHEDULE_ONECYCLE] = "onecycle",
                                                 [INVRG_SCHEDULE_CONSTANT] = "constant",
                                                 [INVRG_SCHEDULE_CONSTANT + 1] = NULL};

const char *const invrg_train_select_names[] = {[INVRG_SELECT_AUTO] = "auto",
                                                [INVRG_SELECT_MEAN] = "mean",
                                                [INVRG_SELECT_BEST] = "best",
                                                [INVRG_SELECT_BEST + 1] = NULL};

const char *const invrg_dream_start_names[] = {[INVRG_DREAM_START_ALTERNATE] = "alternate",
                                               [INVRG_DREAM_START_RANDOM] = "random",
                                               [INVRG_DREAM_START_UP] = "up",
                                               [INVRG_DREAM_START_MC] = "mc",
                                               [INVRG_DREAM_START_MC + 1] = NULL};

const char *const invrg_tie_rule_names[] = {[INVRG_TIE_RANDOM] = "random", [INVRG_TIE_UP] = "up",
                                            [INVRG_TIE_UPPER_LEFT] = "upper_left",
                                            [INVRG_TIE_UPPER_LEFT + 1] = NULL};
const char *const invrg_corr_precision_names[] = {[INVRG_CORR_DOUBLE] = "double",
                                                  [INVRG_CORR_SINGLE] = "single",
                                                  [INVRG_CORR_SINGLE + 1] = NULL};

bool invrg_choice_find(const char *const *names, const char *name, int *value) {
  for (int i = 0; names[i] != NULL; i++)
    if (strcmp(names[i], name) == 0) {
      *value = i;
      return true;
    }
  return false;
}

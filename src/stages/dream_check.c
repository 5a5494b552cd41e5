/* Stage dream before any work (dream_check.h): the models it dreams with, and every input error
 * of its keys at once. */
#include "invrg/dream_check.h"

#include <string.h>

#include "invrg/budget.h"
#include "invrg/dream.h"
#include "invrg/dream_packed.h"
#include "invrg/model_io.h"
#include "invrg/rng.h"
#include "invrg/seed_configs_io.h"
#include "invrg/stage_setup.h"

/* ------------------------------------------------------------------ the models */

/* The model kind of &dream model (NONE: no model given literally). */
static const invrg_model_kind literal_kind[] = {[INVRG_DREAM_MODEL_SYM3] = INVRG_MODEL_KIND_SYM3,
                                                [INVRG_DREAM_MODEL_SYM5] = INVRG_MODEL_KIND_SYM5,
                                                [INVRG_DREAM_MODEL_SYM7] = INVRG_MODEL_KIND_SYM7};

invrg_err invrg_dream_model(const invrg_run *run, invrg_model **out) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_dream *d = &run->cfg->dream;
  *out = NULL;
  if (d->model_file[0] != '\0') {
    err = invrg_model_read(d->model_file, "model", out);
    if (err == INVRG_ERR_INPUT)
      err = invrg_config_input_error(run->cfg, "dream", "model_file", "%s", invrg_error_message());
    goto cleanup;
  }
  if (d->model_kind != INVRG_DREAM_MODEL_NONE) {
    INVRG_CALL(invrg_model_create(literal_kind[d->model_kind], 0, 0, out));
    if (d->n_params != (*out)->n_params) {
      err = invrg_config_input_error(run->cfg, "dream", "params",
                                     "model '%s' has %d parameters, params gives %d", d->model,
                                     (*out)->n_params, d->n_params);
      goto cleanup;
    }
    memcpy((*out)->params, d->params, (size_t)d->n_params * sizeof *d->params);
    goto cleanup;
  }
  if (run->model != NULL) {
    INVRG_CALL(invrg_model_clone(run->model, out));
    goto cleanup;
  }
  err = invrg_config_input_error(run->cfg, "dream", "model_file",
                                 "no model to dream with: give model_file, or model and params, "
                                 "or add 'train' to &run stages");
cleanup:
  if (err != INVRG_SUCCESS) invrg_model_destroy(out);
  return err;
}

/* The reference code dreamed the first steps of a k = 5 or 7 model, where the kernel is larger
 * than the coarse lattice, with a 3 x 3 model. */
invrg_err invrg_dream_small_kernel_model(const invrg_run *run, const invrg_model *m,
                                         invrg_model **out, int *n_steps) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_dream *d = &run->cfg->dream;
  *out = NULL;
  *n_steps = d->small_kernel_start_kind == INVRG_SMALL_KERNEL_PAPER ? (m->kernel - 3) / 2 : 0;
  if (*n_steps <= 0) goto cleanup;
  if (d->small_kernel_model_file[0] != '\0') {
    err = invrg_model_read(d->small_kernel_model_file, "model", out);
    if (err == INVRG_ERR_INPUT)
      err = invrg_config_input_error(run->cfg, "dream", "small_kernel_model_file", "%s",
                                     invrg_error_message());
    INVRG_CALL(err);
  } else if (m->family == INVRG_MODEL_SYM) {
    INVRG_CALL(invrg_model_create(INVRG_MODEL_KIND_SYM3, 0, 0, out));
    memcpy((*out)->params, d->small_kernel_params, 3 * sizeof *d->small_kernel_params);
  }
  if (*out == NULL || (*out)->kernel != 3 || (*out)->family != m->family) {
    err = invrg_config_input_error(
        run->cfg, "dream", m->family == INVRG_MODEL_CONV ? "small_kernel_model_file" : "small_kernel_start",
        "small_kernel_start = 'paper' with a %s model (k = %d) needs a %s model with k = 3 for "
        "the first %d step%s%s",
        invrg_model_kind_name(m->kind), m->kernel, m->family == INVRG_MODEL_CONV ? "conv" : "sym3",
        *n_steps,
        *n_steps == 1 ? "" : "s",
        m->family == INVRG_MODEL_CONV ? ": give small_kernel_model_file" : "");
    goto cleanup;
  }
cleanup:
  if (err != INVRG_SUCCESS) invrg_model_destroy(out);
  return err;
}

/* ------------------------------------------------------------------ check */

int invrg_dream_seed_level(const invrg_config_dream *d) {
  int level = 0;
  if (d->start_kind == INVRG_DREAM_START_MC)
    while (((int64_t)1 << level) < d->start_L) level++;
  return level;
}

/* start = 'mc': packed levels, a power-of-two start_L below the top, measured and saved above
 * it, and a seed for every sample. */
static invrg_err check_seeds(const invrg_config *cfg) {
  invrg_err found = INVRG_SUCCESS;
  const invrg_config_dream *d = &cfg->dream;
  const int l0 = invrg_dream_seed_level(d);
  int64_t n = 0;
  if (d->lattice_kind != INVRG_MC_LATTICE_PACKED)
    found = invrg_config_input_error(cfg, "dream", "start",
                                     "start = 'mc' dreams on packed levels: set lattice = "
                                     "'packed'");
  if (d->start_L < 2 || d->start_L != (int64_t)1 << l0 || l0 >= d->levels) {
    invrg_err e = invrg_config_input_error(cfg, "dream", "start_L",
                                           "start = 'mc' needs start_L, a power of two from 2 "
                                           "to 2^(levels - 1) = %lld, not %lld",
                                           1LL << (d->levels - 1), (long long)d->start_L);
    return found != INVRG_SUCCESS ? found : e;
  }
  if (d->measure_from <= l0)
    found = invrg_config_input_error(cfg, "dream", "measure_from",
                                     "measure_from = %lld: the levels from one above the seeds' "
                                     "(start_L = %lld, level %d) are dreamed and measured",
                                     (long long)d->measure_from, (long long)d->start_L, l0);
  for (int i = 0; i < d->n_save_levels; i++)
    if (d->save_levels[i] <= l0)
      found = invrg_config_input_error(cfg, "dream", "save_levels",
                                       "save_levels holds %lld, not above the seeds' level %d",
                                       (long long)d->save_levels[i], l0);
  invrg_err counted = invrg_seed_configs_count(cfg, &n);
  if (counted != INVRG_SUCCESS) return found != INVRG_SUCCESS ? found : counted;
  if (n < d->n_samples)
    found = invrg_config_input_error(cfg, "dream", "n_samples",
                                     "n_samples = %lld dreams need as many seeds; /mc/L%lld/"
                                     "configs holds %lld", (long long)d->n_samples,
                                     (long long)d->start_L, (long long)n);
  return found;
}

/* save_levels: within 1 … levels; packed configurations need whole bytes of a row (packed
 * levels write whole rows; int8 levels their blocks of the grid). */
static invrg_err check_save_levels(const invrg_run *run) {
  invrg_err found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_dream *d = &cfg->dream;
  const bool packed_format = cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED;
  const bool packed = d->lattice_kind == INVRG_MC_LATTICE_PACKED;
  for (int i = 0; i < d->n_save_levels; i++) {
    const int64_t L = (int64_t)1 << d->save_levels[i], width = packed ? L : L / run->groups->px;
    if (d->save_levels[i] > d->levels)
      found = invrg_config_input_error(cfg, "dream", "save_levels",
                                       "save_levels holds %lld, outside 1 .. levels = %lld",
                                       (long long)d->save_levels[i], (long long)d->levels);
    else if (packed_format && packed && L < 8)
      found = invrg_config_input_error(cfg, "dream", "save_levels",
                                       "packed configurations need rows of at least 8 spins: "
                                       "level %lld (L = %lld) is too small",
                                       (long long)d->save_levels[i], (long long)L);
    else if (packed_format && !packed && (width < 8 || width % 8 != 0))
      found = invrg_config_input_error(cfg, "dream", "save_levels",
                                       "packed configurations need blocks at least 8 wide: level "
                                       "%lld (L = %lld) on %d ranks along x is too small",
                                       (long long)d->save_levels[i], (long long)L,
                                       run->groups->px);
  }
  return found;
}

/* The keys that choose how levels are made and held: refinement, random bits, packed levels,
 * models that need whole lattices (@p m may be NULL: this run's trained model). */
static invrg_err check_lattice_keys(const invrg_run *run, const invrg_model *m, bool conv,
                                    int kernel) {
  invrg_err found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_dream *d = &cfg->dream;
  const bool packed = d->lattice_kind == INVRG_MC_LATTICE_PACKED;
  const int P = run->groups->ranks_per_group;
  const bool refined = d->refine_sweeps > 0 || d->compatible_sweeps > 0 ||
                       d->refine_top_sweeps > 0;
  if (refined && !packed)
    found = invrg_config_input_error(cfg, "dream",
                                     d->refine_sweeps > 0       ? "refine_sweeps"
                                     : d->refine_top_sweeps > 0 ? "refine_top_sweeps"
                                                                : "compatible_sweeps",
                                     "refined dreams sweep packed levels: set lattice = 'packed'");
  /* multispin sweeps: refine_sweeps on the levels refine_from … levels − 1, the top's own */
  const int64_t top_sweeps = d->refine_top_sweeps >= 0 ? d->refine_top_sweeps : d->refine_sweeps;
  const bool swept = (d->refine_sweeps > 0 && d->refine_from < d->levels) ||
                     (top_sweeps > 0 && d->refine_from <= d->levels);
  if (d->refine_generator_kind == INVRG_RNG_ARS && !swept)
    found = invrg_config_input_error(cfg, "dream", "refine_generator",
                                     "'ars' draws the refining sweeps (refine_sweeps, "
                                     "refine_top_sweeps), and this dream has none: use "
                                     "refine_generator = 'philox'");
  if (refined && d->refine_from > d->levels)
    found = invrg_config_input_error(cfg, "dream", "refine_from",
                                     "refine_from = %lld is above levels = %lld",
                                     (long long)d->refine_from, (long long)d->levels);
  const invrg_model_kind kind = m != NULL ? m->kind : cfg->train.model_kind;
  /* bit planes need sym3's closed form or a window table (sym5, sym7, conv k <= 3) */
  const bool planes = d->random_bits_kind == INVRG_RANDOM_BITS_PLANES;
  const bool draws_planes = m != NULL ? invrg_dream_packed_planes(m) : !(conv && kernel > 3);
  if (planes && (!packed || !draws_planes))
    found = invrg_config_input_error(cfg, "dream", "random_bits",
                                     "random_bits = 'planes' dreams on lattice = 'packed' with "
                                     "sym3, sym5, sym7 or a conv model with k <= 3; this run has "
                                     "%s (k = %d) on lattice = '%s'",
                                     invrg_model_kind_name(kind), kernel, d->lattice);
  /* Models with a window table (sym, conv k = 3) dream on distributed lattices; the others
   * need whole lattices. */
  const bool distributes = m != NULL ? invrg_dream_distributes(m) : !(conv && kernel > 3);
  if (packed && !distributes)
    found = invrg_config_input_error(cfg, "dream", "lattice",
                                     "a conv model with k = %d dreams on int8 lattices only "
                                     "(lattice = 'int8')", kernel);
  /* sym7's window reaches two coarse rows, the packed halo one (a trained model too) */
  const bool two_rows = m != NULL ? distributes && !invrg_dream_packed_supports(m, P)
                                  : kind == INVRG_MODEL_KIND_SYM7 && P > 1;
  if (packed && two_rows)
    found = invrg_config_input_error(cfg, "dream", "lattice",
                                     "a %s model reaches two coarse rows and cannot dream on "
                                     "packed lattices split over %d ranks; use lattice = 'int8' "
                                     "or %s = 1",
                                     invrg_model_kind_name(kind), P,
                                     invrg_groups_size_key(run->groups));
  if (!distributes && P > 1)
    found = invrg_config_input_error(cfg, "parallel", run->groups->size_key,
                                     "a conv model with k = %d dreams each sample on one rank; "
                                     "use %s = 1 (samples spread over all ranks)",
                                     kernel, invrg_groups_size_key(run->groups));
  return found;
}

/* Every error of the stage's keys at once (INVRG_CHECK_MORE), each naming its key. */
invrg_err invrg_dream_check(const invrg_run *run) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_dream *d = &cfg->dream;
  invrg_model *m = NULL;
  if (d->start_kind == INVRG_DREAM_START_MC)
    INVRG_CHECK_MORE(found, check_seeds(cfg));
  else if (d->start_L != 0 || d->start_file[0] != '\0')
    found = invrg_config_input_error(cfg, "dream", d->start_L != 0 ? "start_L" : "start_file",
                                     "start_L and start_file choose the seeds of start = 'mc'; "
                                     "this run has start = '%s'", d->start);
  if (d->measure_from > d->levels)
    found = invrg_config_input_error(cfg, "dream", "measure_from",
                                     "measure_from = %lld is above levels = %lld",
                                     (long long)d->measure_from, (long long)d->levels);
  INVRG_CHECK_MORE(found, check_save_levels(run));
  if (invrg_stage_fits_source(cfg, INVRG_SOURCE_DREAM) && d->measure_from <= d->levels &&
      d->levels - d->measure_from >= 1) {
    int64_t sizes[INVRG_MAX_LEVELS + 1];
    int n = 0;
    for (int64_t l = d->measure_from; l <= d->levels; l++) sizes[n++] = (int64_t)1 << l;
    INVRG_CHECK_MORE(found, invrg_stage_check_fss_range(cfg, INVRG_SOURCE_DREAM,
                                                        "the measured dream sizes", sizes, n));
  }
  /* Read the models now (a bad file is an input error). Every rank reads them: a failure of
   * one rank alone is agreed on before the collective checks of the budget below. */
  invrg_err read = INVRG_SUCCESS;
  const bool trained_here = d->model_file[0] == '\0' && d->model_kind == INVRG_DREAM_MODEL_NONE &&
                            invrg_config_has_stage(cfg, INVRG_STAGE_TRAIN);
  invrg_model *shape = NULL; /* the model stage train will make, its parameters not yet known */
  if (!trained_here)
    read = invrg_dream_model(run, &m);
  else
    read = invrg_model_create(cfg->train.model_kind, (int)cfg->train.conv_kernel,
                              (int)cfg->train.conv_channels, &shape);
  if (read == INVRG_SUCCESS) { /* the small-kernel model of 'paper' too */
    invrg_model *small = NULL;
    int n_small = 0;
    read = invrg_dream_small_kernel_model(run, m != NULL ? m : shape, &small, &n_small);
    invrg_model_destroy(&small);
  }
  invrg_model_destroy(&shape);
  INVRG_CHECK_MORE(found, invrg_error_agree(read, run->groups->world));
  bool conv = m != NULL ? m->family == INVRG_MODEL_CONV
                        : cfg->train.model_kind == INVRG_MODEL_KIND_CONV;
  const int kernel = (int)(m != NULL ? m->kernel : conv ? cfg->train.conv_kernel : 3);
  INVRG_CHECK_MORE(found, invrg_budget_check_dream(run, conv, kernel)); /* memory, disk, ranges */
  INVRG_CHECK_MORE(found, check_lattice_keys(run, m, conv, kernel));
cleanup:
  invrg_model_destroy(&m);
  return err != INVRG_SUCCESS ? err : found;
}

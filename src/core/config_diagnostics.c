/* What the checks of an input find (config.h): its errors and warnings, GCC-style with the
 * place the input set each key, collected and printed in the order of the file, each error
 * once; the errors of refused values held from the reading; the checks between keys run
 * around refused values. Rank 0 prints and counts; the other ranks only run the checks. */
#include "invrg/config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/log.h"
#include "core/config_internal.h"

/* Input errors reported by this process since the checks began (rank 0 prints and counts them),
 * and a hash of each one invrg_config_input_error() reported, so that two checks finding the
 * same problem report it once. */
static int n_input_errors, n_hashes;
static uint64_t reported_hash[256];

/* While the checks of a run collect (invrg_config_collect_diagnostics), their errors and
 * warnings wait here and are printed in the order of the file, like a compiler's. */
typedef struct {
  invrg_nl_pos pos;
  int order; /* arrival, to keep the sort stable */
  bool error; /* else a warning */
  uint64_t hash; /* an error of invrg_config_input_error(): its hash, else 0 */
  char text[1700];
} pending_diagnostic;
static pending_diagnostic *pending;
static int n_pending, pending_capacity;
static bool collecting;

/* The errors of the file that refused keys' values, held by invrg_config_load_for_checks()
 * (rank 0) until the checks between keys begin collecting. */
static pending_diagnostic *held;
static int n_held;

/* Appends @p d to the waiting diagnostics; false if out of memory. */
static bool add_pending(pending_diagnostic d) {
  if (n_pending == pending_capacity) {
    int cap = pending_capacity > 0 ? 2 * pending_capacity : 16;
    pending_diagnostic *grown = realloc(pending, (size_t)cap * sizeof *pending);
    if (grown == NULL) return false;
    pending = grown;
    pending_capacity = cap;
  }
  d.order = n_pending;
  pending[n_pending++] = d;
  return true;
}

void invrg_config_hold_key_errors(const invrg_config *cfg, const invrg_nl_result *res) {
  free(held);
  n_held = 0;
  held = calloc((size_t)res->n_diags, sizeof *held);
  for (int i = 0; held != NULL && i < res->n_diags; i++) {
    char where[800];
    invrg_nl_format_location(cfg->input_path, cfg->overrides, cfg->n_overrides, res->diags[i].pos,
                             where, sizeof where);
    held[n_held] = (pending_diagnostic){.pos = res->diags[i].pos, .error = true};
    snprintf(held[n_held].text, sizeof held[n_held].text, "%s: error: %s\n", where,
             res->diags[i].message);
    n_held++;
  }
}

static void emit(const invrg_config *cfg, invrg_nl_pos pos, const char *severity,
                 const char *message, uint64_t hash) {
  char text[1700], where[800];
  invrg_nl_format_location(cfg->input_path, cfg->overrides, cfg->n_overrides, pos, where,
                           sizeof where);
  snprintf(text, sizeof text, "%s: %s: %s\n", where, severity, message);
  if (collecting) {
    pending_diagnostic d = {.pos = pos, .error = strcmp(severity, "error") == 0, .hash = hash};
    memcpy(d.text, text, sizeof text);
    if (add_pending(d)) return;
  }
  fflush(stdout);
  fputs(text, stderr);
  fflush(stderr);
  invrg_log_copy(text);
}

/* The file's lines first, then the overrides in command-line order (line -k), then whole-file
 * problems (line 0). */
static long sort_line(invrg_nl_pos pos) {
  return pos.line > 0 ? pos.line : pos.line < 0 ? (long)INT_MAX - pos.line : 2L * INT_MAX + 2;
}

static int by_position(const void *a, const void *b) {
  const pending_diagnostic *x = a, *y = b;
  const long lx = sort_line(x->pos), ly = sort_line(y->pos);
  if (lx != ly) return lx < ly ? -1 : 1;
  if (x->pos.col != y->pos.col) return x->pos.col < y->pos.col ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

void invrg_config_collect_diagnostics(bool on) {
  if (on) { /* a new round of checks: count and deduplicate afresh */
    collecting = true;
    n_input_errors = n_hashes = 0;
    for (int i = 0; i < n_held; i++) /* the file's own errors, printed in order with theirs */
      if (add_pending(held[i])) n_input_errors++;
    free(held);
    held = NULL;
    n_held = 0;
    return;
  }
  collecting = false;
  if (n_pending > 0) qsort(pending, (size_t)n_pending, sizeof *pending, by_position);
  fflush(stdout);
  for (int i = 0; i < n_pending; i++) fputs(pending[i].text, stderr);
  fflush(stderr);
  for (int i = 0; i < n_pending; i++) invrg_log_copy(pending[i].text);
  free(pending);
  pending = NULL;
  n_pending = pending_capacity = 0;
}


invrg_config_diagnostics_mark invrg_config_diagnostics_save(void) {
  return (invrg_config_diagnostics_mark){n_pending, n_input_errors, n_hashes};
}

uint64_t invrg_config_diagnostics_digest(invrg_config_diagnostics_mark since) {
  uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a of the texts, in arrival order */
  for (int i = since.n_pending; i < n_pending; i++)
    for (const char *c = pending[i].text; *c != '\0'; c++)
      h = (h ^ (unsigned char)*c) * UINT64_C(1099511628211);
  return h;
}

void invrg_config_diagnostics_restore(invrg_config_diagnostics_mark mark) {
  if (mark.n_pending <= n_pending) n_pending = mark.n_pending;
  if (mark.n_errors <= n_input_errors) n_input_errors = mark.n_errors;
  if (mark.n_hashes <= n_hashes) n_hashes = mark.n_hashes;
}

/* Registers the hash @p h of a reported error (0: none). */
static void remember_hash(uint64_t h) {
  if (h != 0 && n_hashes < 256) reported_hash[n_hashes++] = h;
}

/* Whether @p d sits at a key whose value the input failed to give. */
static bool at_refused_key(const invrg_config *cfg, const pending_diagnostic *d) {
  for (int flat = 0; flat < invrg_config_total_keys(); flat++)
    if (cfg->key_refused[flat] && cfg->key_pos[flat].line == d->pos.line &&
        cfg->key_pos[flat].col == d->pos.col)
      return true;
  return false;
}

/* Whether a diagnostic collected since @p from says @p text. */
static bool collected_since(int from, const char *text) {
  for (int i = from; i < n_pending; i++)
    if (strcmp(pending[i].text, text) == 0) return true;
  return false;
}

/* The most versions of the configuration checked besides the input's own. */
enum { MAX_VERSIONS = 8 };

/* Version @p v of @p cfg: every refused key at its v-th alternative value, where it has one.
 * False if no key has (the version would repeat the input's own). */
static bool version_of(const invrg_config *cfg, int v, invrg_config *version) {
  *version = *cfg; /* shares the positions and text, which checks only read */
  bool changed = false;
  for (int flat = 0; flat < invrg_config_total_keys(); flat++)
    if (cfg->key_refused[flat])
      changed |= invrg_nl_set_alternative(invrg_config_schema(), flat, v, version);
  return changed;
}

invrg_err invrg_config_check_around_refused(const invrg_config *cfg, invrg_config_check_fn check,
                                            void *arg) {
  if (cfg->n_key_errors == 0) return check(cfg, arg);
  /* What the checks would log (e.g. a memory estimate) rests on values the input did not give. */
  const invrg_log_level level = invrg_log_get_level();
  invrg_log_set_level(INVRG_LOG_ERROR);
  const invrg_config_diagnostics_mark mark = invrg_config_diagnostics_save();
  invrg_err found = check(cfg, arg);
  /* What the input's own values gave (rank 0; none elsewhere), set aside; each version keeps
   * what it also finds. Out of memory, nothing is kept, but every rank still checks every
   * version: the checks are collective. */
  const int n_found = n_pending - mark.n_pending;
  pending_diagnostic *first = malloc((size_t)(n_found > 0 ? n_found : 1) * sizeof *first);
  bool *kept = malloc((size_t)(n_found > 0 ? n_found : 1) * sizeof *kept);
  const bool lost = first == NULL || kept == NULL;
  for (int i = 0; !lost && i < n_found; i++) {
    first[i] = pending[mark.n_pending + i];
    kept[i] = !at_refused_key(cfg, &first[i]);
  }
  invrg_config_diagnostics_restore(mark);
  for (int v = 1; v <= MAX_VERSIONS && (found == INVRG_SUCCESS || found == INVRG_ERR_INPUT); v++) {
    invrg_config version;
    if (!version_of(cfg, v, &version)) continue;
    const invrg_err e = check(&version, arg);
    if (e != INVRG_SUCCESS && e != INVRG_ERR_INPUT) found = e;
    for (int i = 0; !lost && i < n_found; i++)
      kept[i] = kept[i] && collected_since(mark.n_pending, first[i].text);
    invrg_config_diagnostics_restore(mark); /* this version's findings and their hashes */
  }
  for (int i = 0; !lost && i < n_found; i++)
    if (kept[i] && add_pending(first[i])) {
      n_input_errors += first[i].error;
      remember_hash(first[i].hash);
    }
  free(kept);
  free(first);
  invrg_log_set_level(level);
  if (found != INVRG_SUCCESS && found != INVRG_ERR_INPUT) return found; /* e.g. MPI failed */
  /* The refused values' errors, and what was kept: reported above, like every input error. */
  invrg_error_set(INVRG_ERR_INPUT, __FILE__, __LINE__, "errors in '%s'", cfg->input_path);
  invrg_error_mark_reported();
  return INVRG_ERR_INPUT;
}

/* FNV-1a of the message and the key it is about. */
static uint64_t diagnostic_hash(const char *group, const char *key, const char *message) {
  uint64_t h = UINT64_C(14695981039346656037);
  const char *parts[3] = {group, key, message};
  for (int i = 0; i < 3; i++)
    for (const char *c = parts[i]; *c != '\0'; c++)
      h = (h ^ (unsigned char)*c) * UINT64_C(1099511628211);
  return h;
}

static bool already_reported(uint64_t h) {
  for (int i = 0; i < n_hashes; i++)
    if (reported_hash[i] == h) return true;
  return false;
}

int invrg_config_input_errors(void) { return n_input_errors; }

invrg_err invrg_config_input_error(const invrg_config *cfg, const char *group, const char *key,
                                   const char *fmt, ...) {
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  /* Reuse the parser's reporting so runtime checks look like parse errors. */
  invrg_nl_result res;
  const uint64_t h = diagnostic_hash(group, key, message);
  if (!already_reported(h) && invrg_nl_result_init(&res, invrg_config_schema(), cfg->input_path)) {
    if (cfg->key_pos != NULL) {
      memcpy(res.key_pos, cfg->key_pos, (size_t)invrg_config_total_keys() * sizeof *res.key_pos);
      memcpy(res.group_pos, cfg->group_pos,
             (size_t)invrg_config_schema()->n_groups * sizeof *res.group_pos);
    }
    invrg_nl_error_at_key(&res, group, key, "%s", message);
    if (invrg_log_is_root()) {
      remember_hash(h);
      n_input_errors++;
      emit(cfg, res.diags[0].pos, "error", res.diags[0].message, h);
    }
    invrg_nl_result_free(&res);
  }
  invrg_error_set(INVRG_ERR_INPUT, __FILE__, __LINE__, "%s", message);
  invrg_error_mark_reported();
  return INVRG_ERR_INPUT;
}


void invrg_config_input_warning(const invrg_config *cfg, const char *group, const char *key,
                                const char *fmt, ...) {
  if (!invrg_log_is_root()) return;
  char message[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  emit(cfg, invrg_config_key_position(cfg, group, key), "warning", message, 0);
}


/* A strict, table-driven Fortran-namelist reader (see include/invrg/namelist.h).
 *
 * Two layers: a scanner that turns text into tokens with line:column, and a
 * parser that walks `&group key = values ... /` and hands each assignment to
 * store_values(), which converts and checks the values against the key's row
 * in the schema. Every problem becomes one diagnostic; parsing goes on so that
 * a user sees all the errors of a file at once.
 */
#include "invrg/namelist.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/text.h"

/* ------------------------------------------------------------------ scanner */

typedef enum {
  TOK_EOF,
  TOK_GROUP,  /* &name */
  TOK_END,    /* '/' or &end */
  TOK_EQUALS, /* = */
  TOK_COMMA,  /* , */
  TOK_WORD,   /* a name, number, logical or repeat prefix */
  TOK_STRING, /* '...' or "..." (text holds the unquoted value) */
  TOK_BAD     /* a broken token, already reported */
} token_kind;

enum { TOKEN_TEXT_MAX = 1024 };

typedef struct {
  token_kind kind;
  invrg_nl_pos pos;
  int repeat;                 /* r in r*value (1 if none), for WORD and STRING */
  invrg_nl_pos repeat_pos;
  bool too_long;              /* value longer than TOKEN_TEXT_MAX */
  char text[TOKEN_TEXT_MAX];
} token;

typedef struct {
  const char *text;
  size_t len, at;
  int line, col;
  invrg_nl_result *res;
  bool no_comments; /* a command-line value: '!' is an error, not a comment */
} scanner;

static void add_diag(invrg_nl_result *res, invrg_nl_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_diag_v(invrg_nl_result *res, invrg_nl_pos pos, const char *fmt, va_list ap) {
  if (res == NULL) return;
  if (res->n_diags == res->diags_capacity) {
    int cap = res->diags_capacity ? 2 * res->diags_capacity : 16;
    invrg_nl_diag *more = realloc(res->diags, (size_t)cap * sizeof *more);
    if (more == NULL) return; /* out of memory: the error count is still right */
    res->diags = more;
    res->diags_capacity = cap;
  }
  invrg_nl_diag *d = &res->diags[res->n_diags++];
  d->pos = pos;
  vsnprintf(d->message, sizeof d->message, fmt, ap);
}

static void add_diag(invrg_nl_result *res, invrg_nl_pos pos, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_diag_v(res, pos, fmt, ap);
  va_end(ap);
}

/* A well-formed value the key does not accept (out of range, not a choice, refused by the key's
 * rule, or the key given twice): the key keeps its earlier value, and the checks between keys
 * can still run around it (invrg_nl_result.n_key_diags). Type and count errors are not
 * refusals: a word where a number belongs may be a key whose '=' is missing. */
static void add_refusal(invrg_nl_result *res, invrg_nl_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_refusal(invrg_nl_result *res, invrg_nl_pos pos, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_diag_v(res, pos, fmt, ap);
  va_end(ap);
  res->n_key_diags++;
}

static int peek(const scanner *s) { return s->at < s->len ? (unsigned char)s->text[s->at] : EOF; }

static void advance(scanner *s) {
  if (s->text[s->at] == '\n') {
    s->line++;
    s->col = 1;
  } else {
    s->col++;
  }
  s->at++;
}

/* Characters that end a bare word. */
static bool is_delimiter(int c) {
  return c == EOF || isspace(c) || c == ',' || c == '=' || c == '/' || c == '!' || c == '\'' ||
         c == '"' || c == '&';
}

static void skip_blanks_and_comments(scanner *s) {
  for (;;) {
    int c = peek(s);
    if (c != EOF && isspace(c)) {
      advance(s);
    } else if (c == '!' && !s->no_comments) {
      while (peek(s) != EOF && peek(s) != '\n') advance(s);
    } else {
      return;
    }
  }
}

/* Reads a quoted string; a doubled quote inside stands for one quote. */
static void scan_string(scanner *s, token *t) {
  int quote = peek(s);
  invrg_nl_pos start = {s->line, s->col};
  size_t n = 0;
  advance(s);
  for (;;) {
    int c = peek(s);
    if (c == EOF || c == '\n') {
      add_diag(s->res, start, "missing terminating %c character", quote);
      t->kind = TOK_BAD;
      return;
    }
    advance(s);
    if (c == quote) {
      if (peek(s) != quote) break;
      advance(s);
    }
    if (n + 1 < sizeof t->text)
      t->text[n++] = (char)c;
    else
      t->too_long = true;
  }
  t->text[n] = '\0';
  t->kind = TOK_STRING;
}

static void scan_word(scanner *s, token *t) {
  size_t n = 0;
  while (!is_delimiter(peek(s))) {
    if (n + 1 < sizeof t->text)
      t->text[n++] = s->text[s->at];
    else
      t->too_long = true;
    advance(s);
  }
  t->text[n] = '\0';
  t->kind = TOK_WORD;
}

/* Splits "r*value" into its repeat count and value; "r*" alone precedes a string. */
static void split_repeat(scanner *s, token *t) {
  char *star = strchr(t->text, '*');
  if (star == NULL) return;
  t->repeat_pos = t->pos;
  char *end = NULL;
  errno = 0;
  long r = strtol(t->text, &end, 10);
  bool digits_only = end == star && star != t->text && isdigit((unsigned char)t->text[0]);
  if (!digits_only || errno != 0 || r < 1 || r > 1000000) {
    add_diag(s->res, t->pos, "invalid repeat count in '%s' (write r*value with r >= 1)", t->text);
    t->kind = TOK_BAD;
    return;
  }
  t->repeat = (int)r;
  int prefix = (int)(star - t->text) + 1;
  memmove(t->text, star + 1, strlen(star + 1) + 1);
  t->pos.col += prefix;
  if (t->text[0] == '\0') {
    /* "3*'abc'": the value is the string that follows immediately. */
    if (peek(s) == '\'' || peek(s) == '"') {
      t->pos = (invrg_nl_pos){s->line, s->col};
      scan_string(s, t);
    } else {
      add_diag(s->res, t->repeat_pos, "missing value after repeat count '%d*'", t->repeat);
      t->kind = TOK_BAD;
    }
  }
}

static void next_token(scanner *s, token *t) {
  skip_blanks_and_comments(s);
  t->pos = (invrg_nl_pos){s->line, s->col};
  t->repeat = 1;
  t->too_long = false;
  t->text[0] = '\0';
  int c = peek(s);
  if (c == EOF) {
    t->kind = TOK_EOF;
  } else if (c == '&') {
    advance(s);
    scan_word(s, t);
    t->kind = invrg_text_ieq(t->text, "end") ? TOK_END : TOK_GROUP;
  } else if (c == '/') {
    advance(s);
    t->kind = TOK_END;
  } else if (c == '=') {
    advance(s);
    t->kind = TOK_EQUALS;
  } else if (c == ',') {
    advance(s);
    t->kind = TOK_COMMA;
  } else if (c == '\'' || c == '"') {
    scan_string(s, t);
  } else if (c == '!') { /* only with no_comments: a comment would drop the rest silently */
    add_diag(s->res, t->pos, "'!' would start a comment here; quote a value that holds it");
    s->at = s->len;
    t->kind = TOK_BAD;
  } else {
    scan_word(s, t);
    split_repeat(s, t);
  }
}

/* ------------------------------------------------------------------ values */

/* Integer: optional sign and decimal digits only (1e3 and 1.5 are not integers). */
static bool parse_int(const char *text, int64_t *out, bool *overflow) {
  const char *p = text;
  if (*p == '+' || *p == '-') p++;
  if (*p == '\0') return false;
  for (const char *q = p; *q; q++)
    if (!isdigit((unsigned char)*q)) return false;
  errno = 0;
  long long v = strtoll(text, NULL, 10);
  *overflow = errno == ERANGE;
  *out = (int64_t)v;
  return true;
}

/* Real: [sign] digits [. digits] [e|d [sign] digits], at least one digit in the mantissa. */
static bool parse_real(const char *text, double *out) {
  char buf[TOKEN_TEXT_MAX];
  size_t n = 0;
  const char *p = text;
  int mantissa_digits = 0;
  if (*p == '+' || *p == '-') buf[n++] = *p++;
  while (isdigit((unsigned char)*p)) buf[n++] = *p++, mantissa_digits++;
  if (*p == '.') {
    buf[n++] = *p++;
    while (isdigit((unsigned char)*p)) buf[n++] = *p++, mantissa_digits++;
  }
  if (mantissa_digits == 0) return false;
  if (*p == 'e' || *p == 'E' || *p == 'd' || *p == 'D') {
    buf[n++] = 'e';
    p++;
    if (*p == '+' || *p == '-') buf[n++] = *p++;
    if (!isdigit((unsigned char)*p)) return false;
    while (isdigit((unsigned char)*p)) buf[n++] = *p++;
  }
  if (*p != '\0') return false;
  buf[n] = '\0';
  errno = 0;
  double v = strtod(buf, NULL);
  if (!isfinite(v)) return false;
  *out = v;
  return true;
}

static bool parse_bool(const char *text, bool *out) {
  static const char *const truths[] = {".true.", ".t.", "t"};
  static const char *const lies[] = {".false.", ".f.", "f"};
  for (size_t i = 0; i < 3; i++) {
    if (invrg_text_ieq(text, truths[i])) return *out = true, true;
    if (invrg_text_ieq(text, lies[i])) return *out = false, true;
  }
  return false;
}

static size_t element_size(const invrg_nl_key *key) {
  switch (key->type) {
    case INVRG_NL_INT: return sizeof(int64_t);
    case INVRG_NL_REAL: return sizeof(double);
    case INVRG_NL_BOOL: return sizeof(bool);
    case INVRG_NL_STRING: return key->string_size;
  }
  return 0;
}

static const void *element_cptr(const invrg_nl_key *key, const void *config, int i) {
  return (const char *)config + key->offset + (size_t)i * element_size(key);
}

int invrg_nl_value_count(const invrg_nl_key *key, const void *config) {
  if (key->count_offset == INVRG_NL_NO_COUNT) return key->max_count;
  int count;
  memcpy(&count, (const char *)config + key->count_offset, sizeof count);
  return count;
}

static const char *type_phrase(invrg_nl_type type) {
  switch (type) {
    case INVRG_NL_INT: return "an integer";
    case INVRG_NL_REAL: return "a real number";
    case INVRG_NL_BOOL: return "a logical (.true. or .false.)";
    case INVRG_NL_STRING: return "a quoted string";
  }
  return "?";
}

/* "'a', 'b' or 'c'" for messages. */
static void list_choices(const char *const *choices, char *buf, size_t buflen) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; choices[i] != NULL && used < buflen; i++) {
    const char *sep = i == 0 ? "" : choices[i + 1] == NULL ? " or " : ", ";
    used += (size_t)snprintf(buf + used, buflen - used, "%s'%s'", sep, choices[i]);
  }
}

static int count_choices(const char *const *choices) {
  int n = 0;
  while (choices[n] != NULL) n++;
  return n;
}

/* One value as scanned: text, position, and whether it was quoted. */
typedef struct {
  const char *text;
  invrg_nl_pos pos;
  bool quoted;
  bool too_long;
} raw_value;

static void describe_range(const invrg_nl_key *key, char *buf, size_t buflen) {
  bool integral = key->type == INVRG_NL_INT;
  if (isfinite(key->min) && isfinite(key->max))
    snprintf(buf, buflen, integral ? "between %.0f and %.0f" : "between %g and %g", key->min,
             key->max);
  else if (isfinite(key->min))
    snprintf(buf, buflen, integral ? ">= %.0f" : ">= %g", key->min);
  else
    snprintf(buf, buflen, integral ? "<= %.0f" : "<= %g", key->max);
}

/* Converts and checks one value into @p dst. Returns false after reporting. */
static bool store_one(const invrg_nl_key *key, const raw_value *v, void *dst,
                      invrg_nl_result *res) {
  if (key->type != INVRG_NL_STRING && v->quoted) {
    add_diag(res, v->pos, "key '%s' expects %s, got the string '%s'", key->name,
             type_phrase(key->type), v->text);
    return false;
  }
  switch (key->type) {
    case INVRG_NL_INT: {
      int64_t x;
      bool overflow = false;
      if (!parse_int(v->text, &x, &overflow)) {
        add_diag(res, v->pos, "key '%s' expects an integer, got '%s'", key->name, v->text);
        return false;
      }
      if (overflow) {
        add_refusal(res, v->pos, "key '%s': '%s' does not fit in a 64-bit integer", key->name,
                 v->text);
        return false;
      }
      if ((double)x < key->min || (double)x > key->max) {
        char range[96];
        describe_range(key, range, sizeof range);
        add_refusal(res, v->pos, "key '%s' must be %s, got %s", key->name, range, v->text);
        return false;
      }
      memcpy(dst, &x, sizeof x);
      return true;
    }
    case INVRG_NL_REAL: {
      double x;
      if (!parse_real(v->text, &x)) {
        add_diag(res, v->pos, "key '%s' expects a real number, got '%s'", key->name, v->text);
        return false;
      }
      if (x < key->min || x > key->max) {
        char range[96];
        describe_range(key, range, sizeof range);
        add_refusal(res, v->pos, "key '%s' must be %s, got %s", key->name, range, v->text);
        return false;
      }
      memcpy(dst, &x, sizeof x);
      return true;
    }
    case INVRG_NL_BOOL: {
      bool x;
      if (!parse_bool(v->text, &x)) {
        add_diag(res, v->pos, "key '%s' expects a logical (.true. or .false.), got '%s'", key->name,
                 v->text);
        return false;
      }
      memcpy(dst, &x, sizeof x);
      return true;
    }
    case INVRG_NL_STRING: {
      if (!v->quoted) {
        add_diag(res, v->pos, "key '%s' expects a quoted string, got %s (write '%s')", key->name,
                 v->text, v->text);
        return false;
      }
      size_t len = strlen(v->text);
      if (v->too_long || len + 1 > key->string_size) {
        add_refusal(res, v->pos, "key '%s': string is longer than %zu characters", key->name,
                 key->string_size - 1);
        return false;
      }
      if (key->choices != NULL) {
        const char *const *c = key->choices;
        int k = 0;
        while (c[k] != NULL && !invrg_text_ieq(c[k], v->text)) k++;
        if (c[k] == NULL) {
          char list[256];
          list_choices(c, list, sizeof list);
          const char *near = invrg_text_suggest(v->text, c, count_choices(c));
          if (near != NULL)
            add_refusal(res, v->pos, "key '%s' must be one of %s, got '%s' (did you mean '%s'?)",
                     key->name, list, v->text, near);
          else
            add_refusal(res, v->pos, "key '%s' must be one of %s, got '%s'", key->name, list,
                     v->text);
          return false;
        }
        memcpy(dst, c[k], strlen(c[k]) + 1); /* canonical spelling of the choice */
        return true;
      }
      memcpy(dst, v->text, len + 1);
      return true;
    }
  }
  return false;
}

/* The positions in key->choices of the n canonical strings at @p strings, as ints at
 * key->index_offset (the rest of a list's max_count: 0, as the strings are empty). */
static void store_indices(const invrg_nl_key *key, const char *strings, int n, void *config) {
  for (int i = 0; i < key->max_count; i++) {
    int index = 0;
    const char *s = strings + (size_t)i * key->string_size;
    while (i < n && key->choices[index] != NULL && strcmp(key->choices[index], s) != 0) index++;
    memcpy((char *)config + key->index_offset + (size_t)i * sizeof index, &index, sizeof index);
  }
}

/*
 * Stores the values of one assignment. The key keeps its previous values
 * unless every value converts and the whole assignment passes its checks.
 */
static bool store_values(const invrg_nl_key *key, const raw_value *values, int n,
                         invrg_nl_pos key_pos, void *config, invrg_nl_result *res) {
  if (n < key->min_count || n > key->max_count) {
    if (n == 0)
      add_diag(res, key_pos, "key '%s' has no value", key->name);
    else if (key->min_count == key->max_count)
      add_diag(res, key_pos, "key '%s' expects %d value%s, got %d", key->name, key->max_count,
               key->max_count == 1 ? "" : "s", n);
    else if (n > key->max_count)
      add_diag(res, key_pos, "key '%s' takes at most %d values, got %d", key->name,
               key->max_count, n);
    else
      add_diag(res, key_pos, "key '%s' needs at least %d values, got %d", key->name,
               key->min_count, n);
    return false;
  }
  /* Convert into a scratch copy so a failed assignment leaves the config untouched. */
  size_t span = (size_t)key->max_count * element_size(key);
  char *scratch = calloc(1, span);
  if (scratch == NULL) return false;
  bool ok = true;
  for (int i = 0; i < n; i++)
    ok = store_one(key, &values[i], scratch + (size_t)i * element_size(key), res) && ok;
  if (ok && key->validate != NULL) {
    char buf[256];
    const char *why = key->validate(scratch, n, buf, sizeof buf);
    if (why != NULL) {
      add_refusal(res, key_pos, "key '%s': %s", key->name, why);
      ok = false;
    }
  }
  if (ok) {
    memcpy((char *)config + key->offset, scratch, span);
    if (key->count_offset != INVRG_NL_NO_COUNT)
      memcpy((char *)config + key->count_offset, &n, sizeof n);
    if (key->has_index && key->choices != NULL) store_indices(key, scratch, n, config);
  }
  free(scratch);
  return ok;
}

/* ------------------------------------------------------------------ schema lookup */

const invrg_nl_group *invrg_nl_find_group(const invrg_nl_schema *schema, const char *name) {
  for (int g = 0; g < schema->n_groups; g++)
    if (invrg_text_ieq(schema->groups[g].name, name)) return &schema->groups[g];
  return NULL;
}

const invrg_nl_key *invrg_nl_find_key(const invrg_nl_group *group, const char *name) {
  for (int k = 0; k < group->n_keys; k++)
    if (invrg_text_ieq(group->keys[k].name, name)) return &group->keys[k];
  return NULL;
}

static int flat_key_index(const invrg_nl_result *res, const invrg_nl_group *group,
                          const invrg_nl_key *key) {
  int g = (int)(group - res->schema->groups);
  return res->key_first[g] + (int)(key - group->keys);
}

bool invrg_nl_result_init(invrg_nl_result *res, const invrg_nl_schema *schema,
                          const char *filename) {
  memset(res, 0, sizeof *res);
  res->schema = schema;
  snprintf(res->filename, sizeof res->filename, "%s", filename);
  int n_keys = 0;
  res->key_first = calloc((size_t)schema->n_groups, sizeof *res->key_first);
  res->group_pos = calloc((size_t)schema->n_groups, sizeof *res->group_pos);
  if (res->key_first == NULL || res->group_pos == NULL) goto fail;
  for (int g = 0; g < schema->n_groups; g++) {
    res->key_first[g] = n_keys;
    n_keys += schema->groups[g].n_keys;
  }
  res->key_pos = calloc((size_t)n_keys + 1, sizeof *res->key_pos);
  res->key_refused = calloc((size_t)n_keys + 1, sizeof *res->key_refused);
  if (res->key_pos == NULL || res->key_refused == NULL) goto fail;
  return true;
fail:
  invrg_nl_result_free(res);
  return false;
}

void invrg_nl_result_free(invrg_nl_result *res) {
  free(res->diags);
  free(res->group_pos);
  free(res->key_pos);
  free(res->key_refused);
  free(res->key_first);
  res->diags = NULL;
  res->group_pos = res->key_pos = NULL;
  res->key_refused = NULL;
  res->key_first = NULL;
  res->n_diags = res->diags_capacity = 0;
}

/* ------------------------------------------------------------------ parser */

typedef struct {
  scanner s;
  token tok;        /* current token */
  token next;       /* one token of lookahead */
  void *config;
  invrg_nl_result *res;
} parser;

static void shift(parser *p) {
  p->tok = p->next;
  next_token(&p->s, &p->next);
}

static bool at_key_start(const parser *p) {
  return p->tok.kind == TOK_WORD && p->next.kind == TOK_EQUALS;
}

static bool ends_group(token_kind k) { return k == TOK_END || k == TOK_GROUP || k == TOK_EOF; }

static void report_unknown_group(invrg_nl_result *res, invrg_nl_pos pos, const char *name) {
  const invrg_nl_schema *schema = res->schema;
  const char *names[64] = {NULL};
  int n = schema->n_groups < 64 ? schema->n_groups : 64;
  for (int g = 0; g < n; g++) names[g] = schema->groups[g].name;
  const char *near = invrg_text_suggest(name, names, n);
  if (near != NULL) {
    add_diag(res, pos, "unknown group '&%s' (did you mean '&%s'?)", name, near);
    return;
  }
  char list[512];
  size_t used = 0;
  list[0] = '\0';
  for (int g = 0; g < n && used < sizeof list; g++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s&%s", g ? ", " : "", names[g]);
  add_diag(res, pos, "unknown group '&%s'; the groups are %s", name, list);
}

static void report_unknown_key(invrg_nl_result *res, invrg_nl_pos pos, const char *name,
                               const invrg_nl_group *group) {
  if (strchr(name, '(') != NULL) {
    add_diag(res, pos,
             "element assignment '%s' is not supported in group '&%s'; assign the whole array",
             name, group->name);
    return;
  }
  const char *names[128];
  int n = group->n_keys < 128 ? group->n_keys : 128;
  for (int k = 0; k < n; k++) names[k] = group->keys[k].name;
  const char *near = invrg_text_suggest(name, names, n);
  if (near != NULL)
    add_diag(res, pos, "unknown key '%s' in group '&%s' (did you mean '%s'?)", name,
             group->name, near);
  else
    add_diag(res, pos, "unknown key '%s' in group '&%s'", name, group->name);
}

/* The values of one assignment, as scanned. */
enum { MAX_VALUES = 256 };
typedef struct {
  raw_value v[MAX_VALUES];
  int n;
  bool broken;   /* a value was malformed (already reported) */
  bool overflow; /* more than MAX_VALUES */
} value_list;
static char value_texts[MAX_VALUES][TOKEN_TEXT_MAX]; /* one parse at a time (rank 0 only) */

/* Appends the @p len characters at @p text. */
static void add_value(value_list *out, const char *text, size_t len, invrg_nl_pos pos,
                      bool quoted, bool too_long) {
  if (out->n == MAX_VALUES) {
    out->overflow = true;
    return;
  }
  too_long = too_long || len >= TOKEN_TEXT_MAX;
  snprintf(value_texts[out->n], sizeof value_texts[out->n], "%.*s",
           (int)(too_long ? TOKEN_TEXT_MAX - 1 : len), text);
  out->v[out->n] = (raw_value){value_texts[out->n], pos, quoted, too_long};
  out->n++;
}

/* Collects `v1, v2 ...` of key @p key_name from the current token up to the next key, the end
 * of the group or the end of the text. */
static void collect_values(parser *p, const char *key_name, value_list *out) {
  bool want_value = true; /* after '=' or ',' */
  out->n = 0;
  out->broken = out->overflow = false;
  while (!ends_group(p->tok.kind) && !at_key_start(p)) {
    token *t = &p->tok;
    if (t->kind == TOK_COMMA) {
      if (want_value) {
        add_diag(p->res, t->pos, "empty value in the list of key '%s'", key_name);
        out->broken = true;
      }
      want_value = true;
    } else if (t->kind == TOK_EQUALS) {
      add_diag(p->res, t->pos, "unexpected '=' in the values of key '%s'", key_name);
      out->broken = true;
    } else if (t->kind == TOK_BAD) {
      out->broken = true;
      want_value = false;
    } else { /* WORD or STRING */
      for (int r = 0; r < t->repeat && !out->overflow; r++)
        add_value(out, t->text, strlen(t->text), t->pos, t->kind == TOK_STRING, t->too_long);
      want_value = false;
    }
    shift(p);
  }
}

/* Key @p flat's assignment was refused if a refusal was reported since @p refusals_before. */
static void note_refused(invrg_nl_result *res, int flat, int refusals_before) {
  if (res->n_key_diags > refusals_before) res->key_refused[flat] = true;
}

/*
 * Parses `key = v1, v2 ...` with the current token at the key; stops at the
 * next key, the end of the group or the end of the file. @p group is NULL
 * inside an unknown group (values are scanned but not checked).
 */
static void parse_assignment(parser *p, const invrg_nl_group *group) {
  const int refusals_before = p->res->n_key_diags;
  token key_tok = p->tok;
  shift(p); /* key */
  shift(p); /* = */
  value_list values;
  collect_values(p, key_tok.text, &values);
  if (group == NULL) return;
  const invrg_nl_key *key = invrg_nl_find_key(group, key_tok.text);
  if (key == NULL) {
    report_unknown_key(p->res, key_tok.pos, key_tok.text, group);
    return;
  }
  int flat = flat_key_index(p->res, group, key);
  if (p->res->key_pos[flat].line != 0) {
    add_refusal(p->res, key_tok.pos, "duplicate key '%s' in group '&%s' (first set at line %d)",
             key->name, group->name, p->res->key_pos[flat].line);
  } else {
    p->res->key_pos[flat] = key_tok.pos;
    if (values.overflow)
      add_diag(p->res, key_tok.pos, "key '%s' takes at most %d values", key->name,
               key->max_count);
    else if (!values.broken) /* a broken value is already reported */
      store_values(key, values.v, values.n, key_tok.pos, p->config, p->res);
  }
  note_refused(p->res, flat, refusals_before);
}

/* Skips tokens until something the parser can resume at. */
static void recover(parser *p) {
  while (!ends_group(p->tok.kind) && !at_key_start(p)) shift(p);
}

static void parse_group_body(parser *p, const invrg_nl_group *group, const token *open) {
  while (!ends_group(p->tok.kind)) {
    if (at_key_start(p)) {
      parse_assignment(p, group);
    } else {
      if (p->tok.kind == TOK_WORD)
        add_diag(p->res, p->tok.pos, "expected '=' after '%s'", p->tok.text);
      else if (p->tok.kind != TOK_BAD)
        add_diag(p->res, p->tok.pos, "expected 'key = value' in group '&%s'", open->text);
      shift(p);
      recover(p);
    }
  }
  if (p->tok.kind == TOK_END) {
    shift(p);
  } else {
    add_diag(p->res, open->pos, "group '&%s' is not closed with '/'", open->text);
  }
}

/* The scanner reports a broken token one token early; present errors in file order. */
static void sort_diagnostics(invrg_nl_diag *d, int n) {
  for (int i = 1; i < n; i++) { /* insertion sort: stable, and lists are short */
    invrg_nl_diag x = d[i];
    int j = i - 1;
    while (j >= 0 && (d[j].pos.line > x.pos.line ||
                      (d[j].pos.line == x.pos.line && d[j].pos.col > x.pos.col))) {
      d[j + 1] = d[j];
      j--;
    }
    d[j + 1] = x;
  }
}

int invrg_nl_parse(const char *text, size_t len, void *config, invrg_nl_result *res) {
  int errors_before = res->n_diags;
  const invrg_nl_schema *schema = res->schema;
  const char *nul = memchr(text, '\0', len);
  if (nul != NULL) {
    /* Binary data: report once where it starts and parse only the text before it. */
    int line = 1, col = 1;
    for (const char *q = text; q < nul; q++) {
      col = *q == '\n' ? 1 : col + 1;
      line += *q == '\n';
    }
    add_diag(res, (invrg_nl_pos){line, col}, "the file contains a NUL byte (not a text file?)");
    len = (size_t)(nul - text);
  }
  parser p = {.s = {text, len, 0, 1, 1, res}, .config = config, .res = res};
  next_token(&p.s, &p.next);
  shift(&p);
  while (p.tok.kind != TOK_EOF) {
    if (p.tok.kind == TOK_GROUP) {
      token open = p.tok;
      const invrg_nl_group *group = invrg_nl_find_group(schema, open.text);
      if (group == NULL) {
        report_unknown_group(res, open.pos, open.text);
      } else {
        int g = (int)(group - schema->groups);
        if (res->group_pos[g].line != 0) {
          add_diag(res, open.pos, "group '&%s' appears twice (first at line %d)", group->name,
                   res->group_pos[g].line);
          group = NULL; /* check its syntax, ignore its values */
        } else {
          res->group_pos[g] = open.pos;
        }
      }
      shift(&p);
      parse_group_body(&p, group, &open);
    } else {
      if (p.tok.kind == TOK_END)
        add_diag(res, p.tok.pos, "'/' outside a group");
      else if (p.tok.kind != TOK_BAD)
        add_diag(res, p.tok.pos, "expected a group such as '&%s', got '%s'", schema->groups[0].name,
                 p.tok.kind == TOK_STRING ? "a string" : p.tok.text[0] ? p.tok.text : ",");
      /* Skip to the next group: one message per stretch of stray text. */
      do shift(&p);
      while (p.tok.kind != TOK_GROUP && p.tok.kind != TOK_EOF);
    }
  }
  /* Required keys (no default) that the file did not set. */
  for (int g = 0; g < schema->n_groups; g++) {
    const invrg_nl_group *group = &schema->groups[g];
    for (int k = 0; k < group->n_keys; k++)
      if (group->keys[k].default_text == NULL && res->key_pos[res->key_first[g] + k].line == 0)
        add_diag(res, res->group_pos[g], "missing required key '%s' in group '&%s'",
                 group->keys[k].name, group->name);
  }
  sort_diagnostics(res->diags + errors_before, res->n_diags - errors_before);
  return res->n_diags - errors_before;
}

/* ------------------------------------------------------------------ command-line overrides */

static bool is_blank(int c) { return c == ' ' || c == '\t'; }

/* The one group that has a key called @p name, or NULL (none, or several). */
static const invrg_nl_group *only_group_with_key(const invrg_nl_schema *schema, const char *name) {
  const invrg_nl_group *found = NULL;
  for (int g = 0; g < schema->n_groups; g++)
    if (invrg_nl_find_key(&schema->groups[g], name) != NULL) {
      if (found != NULL) return NULL;
      found = &schema->groups[g];
    }
  return found;
}

/* The key that the k-th override @p text ("group.key=values") sets, or NULL after reporting
 * why; *values_at: where its values begin in @p text. */
static const invrg_nl_key *override_key(const char *text, int k, invrg_nl_result *res,
                                        const invrg_nl_group **group_out, size_t *values_at) {
  const char *eq = strchr(text, '=');
  size_t start = 0, end = eq != NULL ? (size_t)(eq - text) : strlen(text);
  while (is_blank(text[start])) start++;
  while (end > start && is_blank(text[end - 1])) end--;
  char name[TOKEN_TEXT_MAX];
  snprintf(name, sizeof name, "%.*s", (int)(end - start), text + start);
  const invrg_nl_pos pos = {-k, (int)start + 1};
  char *dot = strchr(name, '.');
  if (eq == NULL) {
    add_diag(res, pos, "expected group.key=value (e.g. mc.L=64): there is no '='");
    return NULL;
  }
  if (dot == NULL || dot == name || dot[1] == '\0') {
    const invrg_nl_group *only = dot == NULL ? only_group_with_key(res->schema, name) : NULL;
    if (only != NULL)
      add_diag(res, pos, "expected group.key=value: '%s' names no group (did you mean '%s.%s'?)",
               name, only->name, name);
    else
      add_diag(res, pos, "expected group.key=value (e.g. mc.L=64), got '%s'", name);
    return NULL;
  }
  *dot = '\0';
  const invrg_nl_group *group = invrg_nl_find_group(res->schema, name);
  if (group == NULL) {
    report_unknown_group(res, pos, name);
    return NULL;
  }
  const invrg_nl_key *key = invrg_nl_find_key(group, dot + 1);
  if (key == NULL) {
    report_unknown_key(res, (invrg_nl_pos){-k, pos.col + (int)(dot - name) + 1}, dot + 1, group);
    return NULL;
  }
  *group_out = group;
  *values_at = (size_t)(eq - text) + 1;
  return key;
}

/* An unquoted string value of the command line, which a shell has already split from the
 * rest: a scalar is the whole text (a path may hold '/', ',' or blanks), a list the pieces
 * between commas and blanks. */
static void unquoted_strings(const char *text, size_t at, int k, const invrg_nl_key *key,
                             invrg_nl_result *res, value_list *out) {
  size_t end = strlen(text);
  while (end > at && is_blank(text[end - 1])) end--;
  if (key->max_count == 1) {
    if (end > at) add_value(out, text + at, end - at, (invrg_nl_pos){-k, (int)at + 1}, true, false);
    return;
  }
  bool want_value = true; /* at the start and after a comma, as in a file */
  while (at < end) {
    if (is_blank(text[at])) {
      at++;
    } else if (text[at] == ',') {
      if (want_value) {
        add_diag(res, (invrg_nl_pos){-k, (int)at + 1}, "empty value in the list of key '%s'",
                 key->name);
        out->broken = true;
      }
      want_value = true;
      at++;
    } else {
      size_t len = strcspn(text + at, ", \t");
      if (at + len > end) len = end - at;
      add_value(out, text + at, len, (invrg_nl_pos){-k, (int)at + 1}, true, false);
      at += len;
      want_value = false;
    }
  }
}

/* The values of the k-th override, from @p at in @p text: written as in a file, except that
 * strings need no quotes (unquoted_strings). */
static void override_values(const char *text, size_t at, int k, const invrg_nl_key *key,
                            invrg_nl_result *res, value_list *out) {
  out->n = 0;
  out->broken = out->overflow = false;
  while (is_blank(text[at])) at++;
  if (key->type == INVRG_NL_STRING && text[at] != '\'' && text[at] != '"') {
    unquoted_strings(text, at, k, key, res, out);
    return;
  }
  parser p = {.s = {text, strlen(text), at, -k, (int)at + 1, res, true}, .res = res};
  next_token(&p.s, &p.next);
  shift(&p);
  collect_values(&p, key->name, out);
  if (p.tok.kind != TOK_EOF) {
    add_diag(res, p.tok.pos, "unexpected '%s' after the values of key '%s'",
             text + p.tok.pos.col - 1, key->name);
    out->broken = true;
  }
}

int invrg_nl_apply_overrides(const char *const *overrides, int n, void *config,
                             invrg_nl_result *res) {
  const int errors_before = res->n_diags;
  res->overrides = overrides;
  res->n_overrides = n;
  for (int i = 0; i < n; i++) {
    const int k = i + 1;
    const char *text = overrides[i];
    const invrg_nl_pos pos = {-k, 1};
    if (strpbrk(text, "\n\r") != NULL) {
      add_diag(res, pos, "a --set value cannot hold a line break");
      continue;
    }
    const invrg_nl_group *group = NULL;
    size_t at = 0;
    const invrg_nl_key *key = override_key(text, k, res, &group, &at);
    if (key == NULL) continue;
    const int flat = flat_key_index(res, group, key);
    const int refusals_before = res->n_key_diags;
    if (res->key_pos[flat].line < 0) {
      add_refusal(res, pos, "key '%s' of '&%s' is given twice on the command line (first by --set "
               "#%d)", key->name, group->name, -res->key_pos[flat].line);
    } else {
      res->key_pos[flat] = pos; /* the file's value, if any, is replaced */
      value_list values;
      override_values(text, at, k, key, res, &values);
      if (values.overflow)
        add_diag(res, pos, "key '%s' takes at most %d values", key->name, key->max_count);
      else if (!values.broken && store_values(key, values.v, values.n, pos, config, res))
        res->key_refused[flat] = false; /* the file's refused value is replaced by a good one */
    }
    note_refused(res, flat, refusals_before);
  }
  return res->n_diags - errors_before;
}

/* ------------------------------------------------------------------ defaults */

int invrg_nl_set_defaults(const invrg_nl_schema *schema, void *config, invrg_nl_result *res) {
  int errors = 0;
  for (int g = 0; g < schema->n_groups; g++) {
    const invrg_nl_group *group = &schema->groups[g];
    for (int k = 0; k < group->n_keys; k++) {
      const invrg_nl_key *key = &group->keys[k];
      if (key->default_text == NULL) continue;
      /* A default is namelist text: parse "&group key = <default> /" with the same code. */
      char text[2048];
      snprintf(text, sizeof text, "&%s %s = %s /", group->name, key->name, key->default_text);
      invrg_nl_result one;
      if (!invrg_nl_result_init(&one, schema, "<built-in default>")) return errors + 1;
      invrg_nl_parse(text, strlen(text), config, &one);
      /* The group's other keys are not in the text; only errors about this key count. */
      for (int i = 0; i < one.n_diags; i++)
        if (strstr(one.diags[i].message, "missing required key") == NULL) {
          errors++;
          if (res != NULL)
            add_diag(res, (invrg_nl_pos){0, 0}, "default of &%s %s: %s", group->name,
                     key->name, one.diags[i].message);
        }
      invrg_nl_result_free(&one);
    }
  }
  return errors;
}

/* ------------------------------------------------------------------ reporting */

void invrg_nl_error_at_key(invrg_nl_result *res, const char *group_name, const char *key_name,
                           const char *fmt, ...) {
  invrg_nl_pos pos = {0, 0};
  const invrg_nl_group *group = invrg_nl_find_group(res->schema, group_name);
  if (group != NULL) {
    int g = (int)(group - res->schema->groups);
    const invrg_nl_key *key = invrg_nl_find_key(group, key_name);
    if (key != NULL) pos = res->key_pos[flat_key_index(res, group, key)];
    if (pos.line == 0) pos = res->group_pos[g];
  }
  va_list ap;
  va_start(ap, fmt);
  add_diag_v(res, pos, fmt, ap);
  va_end(ap);
}

void invrg_nl_format_location(const char *filename, const char *const *overrides,
                              int n_overrides, invrg_nl_pos pos, char *buf, size_t buflen) {
  if (pos.line > 0)
    snprintf(buf, buflen, "%s:%d:%d", filename, pos.line, pos.col);
  else if (pos.line < 0 && overrides != NULL && -pos.line <= n_overrides)
    snprintf(buf, buflen, "command line: --set #%d '%s'", -pos.line, overrides[-pos.line - 1]);
  else
    snprintf(buf, buflen, "%s", filename);
}

void invrg_nl_print_diagnostics(const invrg_nl_result *res, FILE *out) {
  for (int i = 0; i < res->n_diags; i++) {
    const invrg_nl_diag *d = &res->diags[i];
    char where[2048];
    invrg_nl_format_location(res->filename, res->overrides, res->n_overrides, d->pos, where,
                             sizeof where);
    fprintf(out, "%s: error: %s\n", where, d->message);
  }
}

/* ------------------------------------------------------------------ writing */

/* Shortest "%.Ng" that reads back to the same double, always with a '.' or exponent. */
static void format_real(double x, char *buf, size_t buflen) {
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, buflen, "%.*g", digits, x);
    if (strtod(buf, NULL) == x) break;
  }
  if (strpbrk(buf, ".eE") == NULL && strlen(buf) + 3 < buflen) strcat(buf, ".0");
}

static void format_string(const char *s, char *buf, size_t buflen) {
  size_t n = 0;
  if (buflen < 3) return;
  buf[n++] = '\'';
  for (; *s && n + 3 < buflen; s++) {
    if (*s == '\'') buf[n++] = '\''; /* a quote is written twice */
    buf[n++] = *s;
  }
  buf[n++] = '\'';
  buf[n] = '\0';
}

void invrg_nl_format_value(const invrg_nl_key *key, const void *config, char *buf, size_t buflen) {
  int count = invrg_nl_value_count(key, config);
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < count && used < buflen; i++) {
    char one[2 * TOKEN_TEXT_MAX + 8];
    const void *src = element_cptr(key, config, i);
    switch (key->type) {
      case INVRG_NL_INT: {
        int64_t x;
        memcpy(&x, src, sizeof x);
        snprintf(one, sizeof one, "%lld", (long long)x);
        break;
      }
      case INVRG_NL_REAL: {
        double x;
        memcpy(&x, src, sizeof x);
        format_real(x, one, sizeof one);
        break;
      }
      case INVRG_NL_BOOL: {
        bool x;
        memcpy(&x, src, sizeof x);
        snprintf(one, sizeof one, "%s", x ? ".true." : ".false.");
        break;
      }
      case INVRG_NL_STRING: format_string(src, one, sizeof one); break;
    }
    used += (size_t)snprintf(buf + used, buflen - used, "%s%s", i ? ", " : "", one);
  }
}

static void write_groups(const invrg_nl_schema *schema, const void *config, bool describe,
                         const char *const *notes, FILE *out) {
  int flat = 0;
  for (int g = 0; g < schema->n_groups; g++) {
    const invrg_nl_group *group = &schema->groups[g];
    if (describe) fprintf(out, "! %s\n", group->description);
    fprintf(out, "&%s\n", group->name);
    for (int k = 0; k < group->n_keys; k++) {
      const invrg_nl_key *key = &group->keys[k];
      char value[4096];
      invrg_nl_format_value(key, config, value, sizeof value);
      if (describe) fprintf(out, "  ! %s\n", key->description);
      const char *note = notes != NULL ? notes[flat] : NULL;
      flat++;
      if (note != NULL)
        fprintf(out, "  %s = %s  ! %s\n", key->name, value, note);
      else
        fprintf(out, "  %s = %s\n", key->name, value);
    }
    fprintf(out, "/\n%s", g + 1 < schema->n_groups ? "\n" : "");
  }
}

void invrg_nl_write(const invrg_nl_schema *schema, const void *config, bool describe, FILE *out) {
  write_groups(schema, config, describe, NULL, out);
}

void invrg_nl_write_noted(const invrg_nl_schema *schema, const void *config,
                          const char *const *notes, FILE *out) {
  write_groups(schema, config, false, notes, out);
}

static const char *type_name(const invrg_nl_key *key) {
  static char buf[64];
  const char *base = key->type == INVRG_NL_INT    ? "integer"
                     : key->type == INVRG_NL_REAL ? "real"
                     : key->type == INVRG_NL_BOOL ? "logical"
                                                  : "string";
  if (key->max_count == 1) return base;
  if (key->min_count == key->max_count)
    snprintf(buf, sizeof buf, "%s × %d", base, key->max_count);
  else
    snprintf(buf, sizeof buf, "%s × %d–%d", base, key->min_count, key->max_count);
  return buf;
}

void invrg_nl_write_markdown(const invrg_nl_schema *schema, FILE *out) {
  for (int g = 0; g < schema->n_groups; g++) {
    const invrg_nl_group *group = &schema->groups[g];
    fprintf(out, "#### `&%s` — %s\n\n", group->name, group->description);
    fprintf(out, "| key | type | default | allowed | description |\n|---|---|---|---|---|\n");
    for (int k = 0; k < group->n_keys; k++) {
      const invrg_nl_key *key = &group->keys[k];
      char allowed[512] = "";
      if (key->allowed != NULL) {
        snprintf(allowed, sizeof allowed, "%s", key->allowed);
      } else if (key->choices != NULL) {
        list_choices(key->choices, allowed, sizeof allowed);
      } else if (key->type == INVRG_NL_INT || key->type == INVRG_NL_REAL) {
        if (isfinite(key->min) || isfinite(key->max)) describe_range(key, allowed, sizeof allowed);
      }
      const char *def = key->default_text == NULL   ? "(required)"
                        : key->default_text[0] == '\0' ? "(empty)"
                                                        : key->default_text;
      fprintf(out, "| `%s` | %s | %s%s%s | %s | %s |\n", key->name, type_name(key),
              key->default_text && key->default_text[0] ? "`" : "", def,
              key->default_text && key->default_text[0] ? "`" : "", allowed, key->description);
    }
    fprintf(out, "\n");
  }
}

/* ------------------------------------------------------------------ alternative values */

/* Appends the value text @p one to the list in @p buf, @p copies times. */
static void append_values(char *buf, size_t buflen, const char *one, int copies) {
  for (int i = 0; i < copies; i++) {
    const size_t used = strlen(buf);
    snprintf(buf + used, buflen - used, "%s%s", used > 0 ? ", " : "", one);
  }
}

/* A number to try near a side of @p key's range: the end itself, @p inward steps inside it,
 * or where that side is open, a value far from today's @p now. */
static double near_end(const invrg_nl_key *key, bool upper, int inward, double now) {
  const double end = upper ? key->max : key->min;
  const double far = 8.0 * fabs(now) + 8.0;
  double x = isfinite(end) ? end + (upper ? -inward : inward)
             : upper      ? far + inward
                          : -far - inward;
  return fmax(-0x1p62, fmin(x, 0x1p62)); /* an int64_t either way */
}

/* Candidate @p c of the alternative values of @p key (first value now: @p first), as the text
 * of its values ("" for none); false past the last. Lists try no values (where allowed), one
 * value (repeated to the fewest they take) of each kind, and all their choices. */
static bool candidate_text(const invrg_nl_key *key, int c, const void *first, char *buf,
                           size_t buflen) {
  buf[0] = '\0';
  const bool list = key->max_count > 1;
  const int copies = key->min_count > 1 ? key->min_count : 1;
  if (list && key->min_count == 0 && c-- == 0) return true; /* no values */
  char one[2 * TOKEN_TEXT_MAX + 8];
  switch (key->type) {
    case INVRG_NL_BOOL: {
      bool x;
      memcpy(&x, first, sizeof x);
      if (c != 0) return false;
      append_values(buf, buflen, x ? ".false." : ".true.", copies);
      return true;
    }
    case INVRG_NL_STRING: {
      if (key->choices == NULL) {
        if (c != 0) return false;
        append_values(buf, buflen, "'?'", copies);
        return true;
      }
      const int n = count_choices(key->choices);
      if (!list) { /* the other choices */
        for (int k = 0; k < n; k++)
          if (strcmp(key->choices[k], first) != 0 && c-- == 0) {
            format_string(key->choices[k], buf, buflen);
            return true;
          }
        return false;
      }
      if (c < n) { /* each choice alone */
        format_string(key->choices[c], one, sizeof one);
        append_values(buf, buflen, one, copies);
        return true;
      }
      if (c > n || n > key->max_count) return false;
      for (int k = 0; k < n; k++) { /* all of them */
        format_string(key->choices[k], one, sizeof one);
        append_values(buf, buflen, one, 1);
      }
      return true;
    }
    case INVRG_NL_INT:
    case INVRG_NL_REAL: {
      double now;
      if (key->type == INVRG_NL_INT) {
        int64_t x;
        memcpy(&x, first, sizeof x);
        now = (double)x;
      } else {
        memcpy(&now, first, sizeof now);
      }
      if (c >= (key->type == INVRG_NL_INT ? 6 : 4)) return false;
      /* the ends, then a step and two inside them (a rule such as "odd" may refuse an end) */
      const double x = key->type == INVRG_NL_REAL && c >= 2
                           ? (c % 2 ? 2.0 * now + 1.0 : 0.5 * now) /* reals: nearer today's */
                           : near_end(key, c % 2 == 1, c / 2, now);
      if (key->type == INVRG_NL_INT)
        snprintf(one, sizeof one, "%lld", (long long)x);
      else
        format_real(x, one, sizeof one);
      append_values(buf, buflen, one, copies);
      return true;
    }
  }
  return false;
}

bool invrg_nl_set_alternative(const invrg_nl_schema *schema, int flat, int variant, void *config) {
  const invrg_nl_group *group = NULL;
  const invrg_nl_key *key = NULL;
  for (int g = 0, first = 0; g < schema->n_groups && key == NULL; g++) {
    if (flat < first + schema->groups[g].n_keys) {
      group = &schema->groups[g];
      key = &group->keys[flat - first];
    }
    first += schema->groups[g].n_keys;
  }
  if (key == NULL || variant < 1) return false;
  /* The value now, to try the candidates against and to put back if too few are accepted:
   * its values, then their indices in the choices, then their count. */
  const size_t span = (size_t)key->max_count * element_size(key);
  const size_t n_indices = key->has_index && key->choices != NULL ? (size_t)key->max_count : 0;
  const size_t at_count = span + n_indices * sizeof(int);
  char *saved = malloc(at_count + sizeof(int));
  if (saved == NULL) return false;
  char *const cfg_bytes = config;
  memcpy(saved, cfg_bytes + key->offset, span);
  if (n_indices > 0) memcpy(saved + span, cfg_bytes + key->index_offset, at_count - span);
  if (key->count_offset != INVRG_NL_NO_COUNT)
    memcpy(saved + at_count, cfg_bytes + key->count_offset, sizeof(int));
  /* Each candidate as a command-line override, read and checked by the same code: the
   * variant-th that the key accepts stays. */
  int accepted = 0;
  char values[4096], text[4200];
  for (int c = 0; accepted < variant && candidate_text(key, c, saved, values, sizeof values); c++) {
    snprintf(text, sizeof text, "%s.%s=%s", group->name, key->name, values);
    invrg_nl_result scratch;
    if (!invrg_nl_result_init(&scratch, schema, "<alternative>")) break;
    const char *const overrides[1] = {text};
    accepted += invrg_nl_apply_overrides(overrides, 1, config, &scratch) == 0;
    invrg_nl_result_free(&scratch);
  }
  if (accepted < variant) { /* not that many: the value as it was */
    memcpy(cfg_bytes + key->offset, saved, span);
    if (n_indices > 0) memcpy(cfg_bytes + key->index_offset, saved + span, at_count - span);
    if (key->count_offset != INVRG_NL_NO_COUNT)
      memcpy(cfg_bytes + key->count_offset, saved + at_count, sizeof(int));
  }
  free(saved);
  return accepted == variant;
}

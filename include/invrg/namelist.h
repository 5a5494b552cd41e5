/**
 * @file namelist.h
 * A strict, table-driven Fortran-namelist reader.
 *
 * The caller describes its input with a schema: groups of keys, each key with
 * its type, how many values it takes, where it is stored in the caller's
 * configuration struct, its default (as namelist text), its allowed range or
 * choices, and a one-line description. That one table drives parsing, the
 * defaults, the printed default input, the log echo and the HDF5 /config.
 *
 * Accepted syntax: `&group key = value, key2 = v1 v2 /` (or `&end`),
 * case-insensitive names, `!` comments, '...' and "..." strings (a doubled
 * quote stands for itself), logicals .true./.false./T/F (also .t./.f.),
 * integers, reals with e or d exponents, comma- or blank-separated arrays and
 * `r*value` repeats. Everything else is an error reported GCC-style as
 * `file:line:col: error: message`; all errors of a file are collected.
 *
 * Nothing here is collective: rank 0 parses, the caller broadcasts the struct.
 */
#ifndef INVRG_NAMELIST_H
#define INVRG_NAMELIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
  INVRG_NL_INT,    /**< stored as int64_t */
  INVRG_NL_REAL,   /**< stored as double */
  INVRG_NL_BOOL,   /**< stored as bool */
  INVRG_NL_STRING  /**< stored as char[string_size] */
} invrg_nl_type;

/** Marks a key whose number of values is fixed (no count field). */
#define INVRG_NL_NO_COUNT ((size_t)-1)

/**
 * Extra rule for a key, run after type, count and range checks pass. Gets the
 * stored value(s) and their number; returns NULL if fine, else a message
 * (a static string or @p buf, of size @p buflen).
 */
typedef const char *(*invrg_nl_validator)(const void *value, int count, char *buf, size_t buflen);

/** One key of a group. */
typedef struct {
  const char *name;            /**< lower case */
  invrg_nl_type type;
  int min_count;               /**< fewest values accepted (1 for a scalar) */
  int max_count;               /**< most values = capacity of the array (1 for a scalar) */
  size_t offset;               /**< offsetof the value or first element in the config */
  size_t count_offset;         /**< offsetof an int receiving the count, or INVRG_NL_NO_COUNT */
  size_t string_size;          /**< bytes per string element, NUL included (strings only) */
  const char *default_text;    /**< default, as namelist values; NULL = required key */
  double min, max;             /**< inclusive range for numbers (use +-INFINITY for none) */
  const char *const *choices;  /**< NULL-terminated allowed strings, or NULL */
  bool has_index;              /**< choices only: also store each value's position in choices */
  size_t index_offset;         /**< with has_index: offsetof an int (the caller's enum; an
                                    array of max_count for a list) receiving the positions */
  invrg_nl_validator validate; /**< extra rule, or NULL */
  const char *allowed;         /**< what the values may be, for docs/input.md, where validate
                                    allows less than min, max and choices say; or NULL */
  const char *description;     /**< one line, for --print-default-input and docs/input.md */
} invrg_nl_key;

typedef struct {
  const char *name;            /**< lower case, without '&' */
  const char *description;
  const invrg_nl_key *keys;
  int n_keys;
} invrg_nl_group;

typedef struct {
  const invrg_nl_group *groups;
  int n_groups;
} invrg_nl_schema;

/**
 * Where something was written in the input: line and column of the file; line 0 = not given;
 * line -k = the k-th command-line override (invrg_nl_apply_overrides), col its column there.
 */
typedef struct {
  int line, col;
} invrg_nl_pos;

/** One error message. */
typedef struct {
  invrg_nl_pos pos;
  char message[320];
} invrg_nl_diag;

/** What a parse produced besides the values: errors and positions of keys. */
typedef struct {
  const invrg_nl_schema *schema;
  char filename[512];
  invrg_nl_diag *diags;
  int n_diags, diags_capacity;
  invrg_nl_pos *group_pos;     /**< [group] where each group was opened */
  invrg_nl_pos *key_pos;       /**< [flat key index] where each key was set */
  bool *key_refused;           /**< [flat key index] a well-formed value of the key was
                                    refused (out of its range or choices, against its rule, or
                                    the key given twice): it keeps its earlier value */
  int n_key_diags;             /**< of n_diags, those refusals; the rest (syntax, types, counts
                                    of values, unknown groups and keys) say the text is not
                                    what it meant */
  int *key_first;              /**< [group] flat index of the group's first key */
  const char *const *overrides; /**< the command-line overrides applied (not owned), for the
                                     locations of their diagnostics */
  int n_overrides;
} invrg_nl_result;

/** Prepares @p res for @p schema. Returns false if out of memory. */
bool invrg_nl_result_init(invrg_nl_result *res, const invrg_nl_schema *schema, const char *filename);

/** Frees what @p res holds (safe on a zeroed or freed result). */
void invrg_nl_result_free(invrg_nl_result *res);

/**
 * Fills @p config with the defaults of every key (config is zeroed first).
 * Returns the number of errors, which is 0 unless the schema itself is broken;
 * errors go to @p res when given.
 */
int invrg_nl_set_defaults(const invrg_nl_schema *schema, void *config, invrg_nl_result *res);

/**
 * Parses @p text (of length @p len; NUL bytes are errors) into @p config,
 * which must already hold the defaults. Appends errors to @p res and records
 * where each key was set. Returns the number of errors.
 */
int invrg_nl_parse(const char *text, size_t len, void *config, invrg_nl_result *res);

/**
 * Applies the command-line overrides @p overrides[0 .. n) (each "group.key=values", the text
 * of one `--set`) to @p config, after invrg_nl_parse() read the file: the file's value of the
 * key is replaced. Values are checked by the same code as the file's and written the same way,
 * except that the quotes of strings may be left out: an unquoted scalar string is all the text
 * after '=', an unquoted list of strings is split at commas and blanks. Errors (no '=', an
 * unknown group or key, a key given twice on the command line, a bad value) go to @p res at
 * line -k for the k-th override (1-based), which also becomes the key's position. Keeps
 * @p overrides (not a copy) in @p res to name them. Returns the number of errors.
 */
int invrg_nl_apply_overrides(const char *const *overrides, int n, void *config,
                             invrg_nl_result *res);

/**
 * Gives the key at flat index @p flat (groups in schema order, keys in group order) its
 * @p variant-th alternative value in @p config (variant >= 1) that the reader accepts, of these
 * candidates in order: a logical its other value; a scalar with choices its other choices; a
 * number the ends of its range, then one and two steps inside them (reals: half and twice
 * plus one of today's), a value far from today's where a side is open; a string without
 * choices '?'. A list tries no values first (where it may be empty), then one value of each
 * kind (repeated to the fewest it takes), and all of its choices. Returns false, @p config
 * untouched, where fewer candidates are accepted. For checks that must not depend on a value
 * the input failed to give.
 */
bool invrg_nl_set_alternative(const invrg_nl_schema *schema, int flat, int variant, void *config);

/**
 * Formats where @p pos is: "file:line:col", "command line: --set #k 'text'" for the k-th
 * override (line -k), or "file" (line 0).
 */
void invrg_nl_format_location(const char *filename, const char *const *overrides,
                              int n_overrides, invrg_nl_pos pos, char *buf, size_t buflen);

/**
 * Reports an error at key @p key of group @p group (its position if the input
 * set it, else the group's, else the file). For rules that involve several keys.
 */
void invrg_nl_error_at_key(invrg_nl_result *res, const char *group, const char *key,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Writes every diagnostic as "<location>: error: message\n" (invrg_nl_format_location). */
void invrg_nl_print_diagnostics(const invrg_nl_result *res, FILE *out);

/**
 * Writes @p config as a namelist that parses back to the same values.
 * With @p describe, each group and key is preceded by its description as a
 * `!` comment (the form of --print-default-input).
 */
void invrg_nl_write(const invrg_nl_schema *schema, const void *config, bool describe, FILE *out);

/**
 * invrg_nl_write() without descriptions, with @p notes[flat key index] (NULL, or NULL entries:
 * none) written as a `!` comment after the key's value.
 */
void invrg_nl_write_noted(const invrg_nl_schema *schema, const void *config,
                          const char *const *notes, FILE *out);

/** Formats the value(s) of one key as namelist text into @p buf. */
void invrg_nl_format_value(const invrg_nl_key *key, const void *config, char *buf, size_t buflen);

/** Number of values stored for @p key in @p config. */
int invrg_nl_value_count(const invrg_nl_key *key, const void *config);

/** Finds a group or key by name (case-insensitive); NULL if absent. */
const invrg_nl_group *invrg_nl_find_group(const invrg_nl_schema *schema, const char *name);
const invrg_nl_key *invrg_nl_find_key(const invrg_nl_group *group, const char *name);

/** Writes a Markdown table of all keys (the key reference of docs/input.md). */
void invrg_nl_write_markdown(const invrg_nl_schema *schema, FILE *out);

#endif

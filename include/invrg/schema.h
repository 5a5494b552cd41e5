/**
 * @file schema.h
 * The run file's schema: every group, dataset and attribute a run writes, with its units and
 * a one-line description (docs/runfile.md is the prose version of this table).
 *
 * Paths are patterns whose segments may hold one placeholder:
 *   <L> <k>          a decimal number (lattice size, level)
 *   <source>         mc | dream | analyze_mc | analyze_dream (whose data a result describes)
 *   <stage_source>   mc | dream (stage analyze: the stage that saved the configurations)
 *   <pairs>          up | down | blocked | blocked_L<L> (MCRG configuration pairs)
 *   <set>            swendsen | paper36 (MCRG operator sets)
 *   <parity>         even | odd (spin-flip sectors of MCRG)
 *   <fit>            gamma_over_nu | beta_over_nu | one_over_nu | specific_heat_amplitude |
 *                    V4_infinity | xi2_over_L_infinity
 *   <group>          any input group (/config)
 *   <table>          any name (a table of /summary)
 * A member name "*" stands for any name (the keys of an input group); a member name may hold a
 * placeholder too; the path "*" stands for every group and dataset (the attributes every object
 * may carry: description, units, the HDF5 dimension-scale attributes).
 *
 * Derived attribute names follow fixed suffix rules (invrg_schema_suffixes): X_err is the
 * standard error of X, with X's units, and so on. The table is exported as JSON by
 * `invrg --print-schema` (shipped as tools/runfile_schema.json, which the Python tools read):
 * C writers and Python readers take their names from this one place.
 */
#ifndef INVRG_SCHEMA_H
#define INVRG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** What a schema entry describes. */
typedef enum {
  INVRG_SCHEMA_GROUP,     /**< the group at `path` itself (name is "") */
  INVRG_SCHEMA_DATASET,   /**< a dataset `name` in the group at `path` */
  INVRG_SCHEMA_ATTRIBUTE  /**< an attribute `name` of the object at `path` */
} invrg_schema_kind;

/** One entry: a group, or a member of the object at a path pattern. */
typedef struct {
  const char *path;         /**< path pattern of the group (or dataset, for its attributes) */
  invrg_schema_kind kind;
  const char *name;         /**< member name, "" for a group, "*" for any */
  const char *units;        /**< "1" if dimensionless; "" for strings, flags and groups */
  const char *description;  /**< one line */
} invrg_schema_entry;

/** A derived-name rule: base + suffix, with the base's units unless units is non-NULL. */
typedef struct {
  const char *suffix;       /**< e.g. "_err" */
  const char *units;        /**< NULL: the base's units */
  const char *description;  /**< printf format with one %s: the base's description */
} invrg_schema_suffix;

/** The whole table and its size. */
const invrg_schema_entry *invrg_schema_entries(size_t *n);

/** The suffix rules and their number. */
const invrg_schema_suffix *invrg_schema_suffixes(size_t *n);

/** True if @p path (e.g. "/mcrg/dream/up/level3") matches the pattern @p pattern. */
bool invrg_schema_path_matches(const char *pattern, const char *path);

/**
 * The entry describing member @p name (kind @p kind) of the object at @p path ("" name: the
 * group itself), or NULL if the schema does not know it. A derived name (X_err, …) is found
 * through its base: *suffix is then set to its rule (else to NULL; @p suffix may be NULL).
 */
const invrg_schema_entry *invrg_schema_find(const char *path, invrg_schema_kind kind,
                                            const char *name, const invrg_schema_suffix **suffix);

/** The run-file group of one ensemble of a source: "/<top>/L<L>" or "/<top>/<source>/L<L>". */
int invrg_schema_size_path(char *buf, size_t n, const char *top, const char *source, int64_t L);

/** Writes the schema as JSON (entries and suffix rules) to @p out. */
void invrg_schema_print_json(FILE *out);

#endif

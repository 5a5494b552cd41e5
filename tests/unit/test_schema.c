/* The run file's schema (io/schema.c): path patterns, derived names, the size path. */
#include <check.h>
#include <mpi.h>
#include <string.h>

#include "check_runner.h"
#include "invrg/schema.h"

START_TEST(placeholders_match_their_words_only) {
  ck_assert(invrg_schema_path_matches("/", "/"));
  ck_assert(!invrg_schema_path_matches("/", "/mc"));
  ck_assert(invrg_schema_path_matches("/mc/L<L>", "/mc/L128"));
  ck_assert(!invrg_schema_path_matches("/mc/L<L>", "/mc/L"));
  ck_assert(!invrg_schema_path_matches("/mc/L<L>", "/mc/Lx2"));
  ck_assert(!invrg_schema_path_matches("/mc/L<L>", "/mc/L12/extra"));
  ck_assert(!invrg_schema_path_matches("/mc/L<L>/series", "/mc/L12"));
  ck_assert(invrg_schema_path_matches("/corr/<source>/L<L>", "/corr/analyze_dream/L64"));
  ck_assert(!invrg_schema_path_matches("/corr/<source>/L<L>", "/corr/analyze/L64"));
  ck_assert(invrg_schema_path_matches("/mcrg/<source>/<pairs>", "/mcrg/mc/blocked_L256"));
  ck_assert(invrg_schema_path_matches("/mcrg/<source>/<pairs>", "/mcrg/dream/up"));
  ck_assert(!invrg_schema_path_matches("/mcrg/<source>/<pairs>", "/mcrg/dream/blocked_L"));
  ck_assert(!invrg_schema_path_matches("/mcrg/<source>/<pairs>", "/mcrg/dream/sideways"));
  ck_assert(invrg_schema_path_matches("/config/<group>", "/config/anything_at_all"));
}
END_TEST

START_TEST(members_and_derived_names_are_found) {
  const invrg_schema_suffix *sfx = NULL;
  const invrg_schema_entry *e =
      invrg_schema_find("/corr/dream/L32", INVRG_SCHEMA_ATTRIBUTE, "xi2_over_L", &sfx);
  ck_assert_ptr_nonnull(e);
  ck_assert_ptr_null(sfx);
  ck_assert_str_eq(e->units, "1");
  e = invrg_schema_find("/corr/dream/L32", INVRG_SCHEMA_ATTRIBUTE, "xi2_err", &sfx);
  ck_assert_ptr_nonnull(e);
  ck_assert_ptr_nonnull(sfx);
  ck_assert_str_eq(e->name, "xi2");
  ck_assert_str_eq(sfx->suffix, "_err");
  /* τ_int suffixes before _err: energy_err_tau is the τ error of energy, not an error of "energy_err" */
  e = invrg_schema_find("/mc/L8", INVRG_SCHEMA_ATTRIBUTE, "energy_err_tau", &sfx);
  ck_assert(e != NULL && sfx != NULL && strcmp(sfx->suffix, "_err_tau") == 0);
  ck_assert_str_eq(e->name, "energy");
  e = invrg_schema_find("/mcrg/dream/down/level3/paper36/odd", INVRG_SCHEMA_DATASET,
                        "series_y_err", NULL);
  ck_assert(e != NULL && strcmp(e->name, "series_y") == 0);
  ck_assert_ptr_nonnull(invrg_schema_find("/config/mc", INVRG_SCHEMA_ATTRIBUTE, "n_chains", NULL));
  ck_assert_ptr_nonnull(invrg_schema_find("/mc/L8", INVRG_SCHEMA_GROUP, "", NULL));
  /* unknown names, kinds and places */
  ck_assert_ptr_null(invrg_schema_find("/corr/dream/L32", INVRG_SCHEMA_ATTRIBUTE, "xi3", NULL));
  ck_assert_ptr_null(invrg_schema_find("/corr/dream/L32", INVRG_SCHEMA_DATASET, "xi2", NULL));
  ck_assert_ptr_null(invrg_schema_find("/mc/L8", INVRG_SCHEMA_ATTRIBUTE, "_err", NULL));
  ck_assert_ptr_null(invrg_schema_find("/dream/L8", INVRG_SCHEMA_ATTRIBUTE, "n_chains", NULL));
  ck_assert_ptr_null(invrg_schema_find("/nowhere", INVRG_SCHEMA_GROUP, "", NULL));
  /* attributes every object may carry; a member name with a placeholder */
  ck_assert_ptr_nonnull(invrg_schema_find("/nowhere", INVRG_SCHEMA_ATTRIBUTE, "units", NULL));
  ck_assert_ptr_nonnull(invrg_schema_find("/summary", INVRG_SCHEMA_DATASET, "corr_dream", NULL));
  ck_assert_ptr_null(invrg_schema_find("/summary", INVRG_SCHEMA_DATASET, "", NULL));
}
END_TEST

START_TEST(every_entry_is_well_formed) {
  size_t n = 0;
  const invrg_schema_entry *all = invrg_schema_entries(&n);
  ck_assert_uint_gt(n, 100);
  for (size_t i = 0; i < n; i++) {
    const invrg_schema_entry *e = &all[i];
    ck_assert_msg(e->path[0] == '/' || strcmp(e->path, "*") == 0, "entry %zu: path %s", i,
                  e->path);
    ck_assert_msg(e->description[0] != '\0', "entry %zu (%s %s) has no description", i, e->path,
                  e->name);
    ck_assert_msg((e->kind == INVRG_SCHEMA_GROUP) == (e->name[0] == '\0'), "entry %zu", i);
    for (size_t j = 0; j < i; j++) /* each member listed once */
      ck_assert_msg(!(all[j].kind == e->kind && strcmp(all[j].path, e->path) == 0 &&
                      strcmp(all[j].name, e->name) == 0),
                    "%s %s listed twice", e->path, e->name);
    /* every member's group is itself in the schema (a dataset's attributes: its dataset);
     * "*" is every object */
    if (e->kind != INVRG_SCHEMA_GROUP && strcmp(e->path, "*") != 0) {
      bool parent = false;
      for (size_t j = 0; j < n && !parent; j++) {
        if (strcmp(all[j].path, e->path) == 0 && all[j].kind == INVRG_SCHEMA_GROUP) parent = true;
        char full[256];
        snprintf(full, sizeof full, "%s/%s", all[j].path, all[j].name);
        if (all[j].kind == INVRG_SCHEMA_DATASET && strcmp(full, e->path) == 0) parent = true;
      }
      ck_assert_msg(parent, "%s (member %s) is not a group or dataset of the schema", e->path,
                    e->name);
    }
  }
}
END_TEST

START_TEST(size_paths) {
  char buf[64];
  invrg_schema_size_path(buf, sizeof buf, "mc", NULL, 32);
  ck_assert_str_eq(buf, "/mc/L32");
  invrg_schema_size_path(buf, sizeof buf, "corr", "analyze_dream", 1024);
  ck_assert_str_eq(buf, "/corr/analyze_dream/L1024");
  ck_assert(invrg_schema_path_matches("/corr/<source>/L<L>", buf));
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  Suite *s = suite_create("schema");
  TCase *tc = tcase_create("schema");
  tcase_add_test(tc, placeholders_match_their_words_only);
  tcase_add_test(tc, members_and_derived_names_are_found);
  tcase_add_test(tc, every_entry_is_well_formed);
  tcase_add_test(tc, size_paths);
  suite_add_tcase(s, tc);
  const int status = run_suite(s);
  MPI_Finalize();
  return status;
}

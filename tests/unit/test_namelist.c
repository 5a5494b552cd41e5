/* Unit tests of the namelist reader: every accepted form, every error class
 * (message text and position), defaults, and write → parse round trips. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/config.h"
#include "invrg/namelist.h"
#include "invrg/text.h"
#include "unit/check_runner.h"

/* ------------------------------------------------------------------ a test schema */

typedef struct {
  int64_t n;
  int64_t pair[2];
  int64_t list[4];
  int n_list;
  double x;
  double xs[3];
  int n_xs;
  bool flag;
  bool flags[2];
  char name[16];
  char mode[16];
  char names[3][8];
  int n_names;
  int64_t must;
  double beta_x;
} tcfg;

static const char *const modes[] = {"fast", "careful", "exact", NULL};

static const char *even_only(const void *value, int count, char *buf, size_t buflen) {
  const int64_t *v = value;
  for (int i = 0; i < count; i++)
    if (v[i] % 2 != 0) {
      snprintf(buf, buflen, "value %lld is odd; give even numbers", (long long)v[i]);
      return buf;
    }
  return NULL;
}

#define ONE .min_count = 1, .max_count = 1, .count_offset = INVRG_NL_NO_COUNT
static const invrg_nl_key alpha_keys[] = {
    {.name = "n", .type = INVRG_NL_INT, ONE, .offset = offsetof(tcfg, n), .default_text = "7",
     .min = 1, .max = 100, .description = "an integer in [1, 100]"},
    {.name = "pair", .type = INVRG_NL_INT, .min_count = 2, .max_count = 2,
     .count_offset = INVRG_NL_NO_COUNT, .offset = offsetof(tcfg, pair), .default_text = "0, 0",
     .min = -INFINITY, .max = INFINITY, .description = "two integers"},
    {.name = "list", .type = INVRG_NL_INT, .min_count = 1, .max_count = 4,
     .count_offset = offsetof(tcfg, n_list), .offset = offsetof(tcfg, list),
     .default_text = "2", .min = -INFINITY, .max = INFINITY, .validate = even_only,
     .description = "one to four even integers"},
    {.name = "x", .type = INVRG_NL_REAL, ONE, .offset = offsetof(tcfg, x), .default_text = "0.5",
     .min = 0, .max = INFINITY, .description = "a non-negative real"},
    {.name = "xs", .type = INVRG_NL_REAL, .min_count = 0, .max_count = 3,
     .count_offset = offsetof(tcfg, n_xs), .offset = offsetof(tcfg, xs), .default_text = "",
     .min = -INFINITY, .max = 1, .description = "up to three reals <= 1"},
    {.name = "flag", .type = INVRG_NL_BOOL, ONE, .offset = offsetof(tcfg, flag),
     .default_text = ".false.", .description = "a logical"},
    {.name = "flags", .type = INVRG_NL_BOOL, .min_count = 2, .max_count = 2,
     .count_offset = INVRG_NL_NO_COUNT, .offset = offsetof(tcfg, flags),
     .default_text = "T, F", .description = "two logicals"},
    {.name = "name", .type = INVRG_NL_STRING, ONE, .offset = offsetof(tcfg, name),
     .string_size = 16, .default_text = "'abc'", .description = "a short string"},
    {.name = "mode", .type = INVRG_NL_STRING, ONE, .offset = offsetof(tcfg, mode),
     .string_size = 16, .default_text = "'fast'", .choices = modes, .description = "a choice"},
    {.name = "names", .type = INVRG_NL_STRING, .min_count = 1, .max_count = 3,
     .count_offset = offsetof(tcfg, n_names), .offset = offsetof(tcfg, names), .string_size = 8,
     .default_text = "'a', 'b'", .description = "one to three short strings"},
};
static const invrg_nl_key beta_keys[] = {
    {.name = "x", .type = INVRG_NL_REAL, ONE, .offset = offsetof(tcfg, beta_x),
     .default_text = "1d0", .min = -INFINITY, .max = INFINITY, .description = "a real"},
};
static const invrg_nl_key required_keys[] = {
    {.name = "must", .type = INVRG_NL_INT, ONE, .offset = offsetof(tcfg, must),
     .default_text = NULL, .min = -INFINITY, .max = INFINITY, .description = "required"},
};
static const invrg_nl_group test_groups[] = {
    {"alpha", "first group", alpha_keys, (int)(sizeof alpha_keys / sizeof alpha_keys[0])},
    {"beta", "second group", beta_keys, 1},
};
static const invrg_nl_schema schema = {test_groups, 2};
static const invrg_nl_group required_groups[] = {{"req", "with a required key", required_keys, 1}};
static const invrg_nl_schema required_schema = {required_groups, 1};

/* ------------------------------------------------------------------ helpers */

static tcfg cfg;
static invrg_nl_result res;

static int parse_with(const invrg_nl_schema *s, const char *text) {
  invrg_nl_result_free(&res);
  ck_assert(invrg_nl_result_init(&res, s, "t.nml"));
  memset(&cfg, 0, sizeof cfg);
  ck_assert_int_eq(invrg_nl_set_defaults(s, &cfg, NULL), 0);
  return invrg_nl_parse(text, strlen(text), &cfg, &res);
}

static int parse(const char *text) { return parse_with(&schema, text); }

#define EXPECT_OK(text) ck_assert_int_eq(parse(text), 0)

#define EXPECT_ERROR(i, l, c, msg)                         \
  do {                                                     \
    ck_assert_int_gt(res.n_diags, (i));                    \
    ck_assert_str_eq(res.diags[(i)].message, (msg));       \
    ck_assert_int_eq(res.diags[(i)].pos.line, (l));        \
    ck_assert_int_eq(res.diags[(i)].pos.col, (c));         \
  } while (0)

/* Parses @p text expecting exactly one error, at line:col, with message. */
#define EXPECT_ONE_ERROR(text, l, c, msg)  \
  do {                                     \
    ck_assert_int_eq(parse(text), 1);      \
    EXPECT_ERROR(0, l, c, msg);            \
  } while (0)

/* ------------------------------------------------------------------ accepted forms */

START_TEST(defaults_when_empty) {
  EXPECT_OK("");
  ck_assert_int_eq(cfg.n, 7);
  ck_assert_int_eq(cfg.n_list, 1);
  ck_assert_int_eq(cfg.list[0], 2);
  ck_assert_double_eq(cfg.x, 0.5);
  ck_assert_int_eq(cfg.n_xs, 0);
  ck_assert(!cfg.flag);
  ck_assert(cfg.flags[0] && !cfg.flags[1]);
  ck_assert_str_eq(cfg.name, "abc");
  ck_assert_int_eq(cfg.n_names, 2);
  ck_assert_str_eq(cfg.names[1], "b");
  ck_assert_double_eq(cfg.beta_x, 1.0);
}
END_TEST

START_TEST(names_are_case_insensitive) {
  EXPECT_OK("&ALPHA N = 5, Mode = 'CAREFUL' /");
  ck_assert_int_eq(cfg.n, 5);
  ck_assert_str_eq(cfg.mode, "careful"); /* canonical spelling of the choice */
}
END_TEST

START_TEST(comments_everywhere) {
  EXPECT_OK("! leading comment\n&alpha ! after the group\n  n = 3 ! after a value\n"
            "! a line of its own\n  x = 2.5\n/ ! after the end\n");
  ck_assert_int_eq(cfg.n, 3);
  ck_assert_double_eq(cfg.x, 2.5);
}
END_TEST

START_TEST(strings_single_and_double_quoted) {
  EXPECT_OK("&alpha name = \"dq\" names = 'it''s', \"a\"\"b\", '' /");
  ck_assert_str_eq(cfg.name, "dq");
  ck_assert_int_eq(cfg.n_names, 3);
  ck_assert_str_eq(cfg.names[0], "it's");
  ck_assert_str_eq(cfg.names[1], "a\"b");
  ck_assert_str_eq(cfg.names[2], "");
}
END_TEST

START_TEST(strings_keep_comment_and_slash_characters) {
  EXPECT_OK("&alpha name = 'a!b/c&d' /");
  ck_assert_str_eq(cfg.name, "a!b/c&d");
}
END_TEST

START_TEST(logical_forms) {
  const char *truths[] = {".true.", ".TRUE.", "T", "t", ".t."};
  const char *lies[] = {".false.", ".False.", "F", "f", ".F."};
  for (int i = 0; i < 5; i++) {
    char text[64];
    snprintf(text, sizeof text, "&alpha flag = %s, flags = %s %s /", truths[i], lies[i],
             truths[i]);
    EXPECT_OK(text);
    ck_assert(cfg.flag);
    ck_assert(!cfg.flags[0] && cfg.flags[1]);
  }
}
END_TEST

START_TEST(integer_forms) {
  EXPECT_OK("&alpha n = +42 pair = -3, 9223372036854775807 /");
  ck_assert_int_eq(cfg.n, 42);
  ck_assert_int_eq(cfg.pair[0], -3);
  ck_assert_int_eq(cfg.pair[1], INT64_MAX);
}
END_TEST

START_TEST(real_forms) {
  EXPECT_OK("&alpha xs = 1.5d-2, -2.D0, .5 x = 1E+2 /");
  ck_assert_int_eq(cfg.n_xs, 3);
  ck_assert_double_eq(cfg.xs[0], 0.015);
  ck_assert_double_eq(cfg.xs[1], -2.0);
  ck_assert_double_eq(cfg.xs[2], 0.5);
  ck_assert_double_eq(cfg.x, 100.0);
  EXPECT_OK("&alpha x = 3 /"); /* an integer is a fine real */
  ck_assert_double_eq(cfg.x, 3.0);
}
END_TEST

START_TEST(array_separators) {
  EXPECT_OK("&alpha list = 2 4,6\n 8 /");
  ck_assert_int_eq(cfg.n_list, 4);
  ck_assert_int_eq(cfg.list[3], 8);
  EXPECT_OK("&alpha list = 2, 4, /"); /* a trailing comma is allowed */
  ck_assert_int_eq(cfg.n_list, 2);
}
END_TEST

START_TEST(repeat_counts) {
  EXPECT_OK("&alpha list = 3*4 xs = 2*0.25 flags = 2*T names = 2*'zz' /");
  ck_assert_int_eq(cfg.n_list, 3);
  ck_assert_int_eq(cfg.list[2], 4);
  ck_assert_int_eq(cfg.n_xs, 2);
  ck_assert_double_eq(cfg.xs[1], 0.25);
  ck_assert(cfg.flags[0] && cfg.flags[1]);
  ck_assert_int_eq(cfg.n_names, 2);
  ck_assert_str_eq(cfg.names[1], "zz");
}
END_TEST

START_TEST(end_forms_and_several_groups_on_a_line) {
  EXPECT_OK("&alpha n = 2 &end &beta x = -1.5 /");
  ck_assert_int_eq(cfg.n, 2);
  ck_assert_double_eq(cfg.beta_x, -1.5);
}
END_TEST

START_TEST(empty_list_for_optional_array) {
  EXPECT_OK("&alpha xs = 0.5 /");
  EXPECT_OK("&alpha xs = /");
  ck_assert_int_eq(cfg.n_xs, 0);
}
END_TEST

START_TEST(positions_of_keys_are_recorded) {
  EXPECT_OK("&alpha\n  n = 3\n    x = 1 /\n&beta /");
  ck_assert_int_eq(res.key_pos[0].line, 2);
  ck_assert_int_eq(res.key_pos[0].col, 3);
  ck_assert_int_eq(res.key_pos[3].line, 3);
  ck_assert_int_eq(res.key_pos[3].col, 5);
  ck_assert_int_eq(res.group_pos[1].line, 4);
}
END_TEST

/* ------------------------------------------------------------------ error classes */

START_TEST(error_unknown_group_with_suggestion) {
  EXPECT_ONE_ERROR("&alpah n = 1 /", 1, 1, "unknown group '&alpah' (did you mean '&alpha'?)");
}
END_TEST

START_TEST(error_unknown_group_lists_groups) {
  EXPECT_ONE_ERROR("\n&zzz /", 2, 1, "unknown group '&zzz'; the groups are &alpha, &beta");
}
END_TEST

START_TEST(error_unknown_key_with_suggestion) {
  EXPECT_ONE_ERROR("&alpha\n  lsit = 2 /", 2, 3,
                   "unknown key 'lsit' in group '&alpha' (did you mean 'list'?)");
}
END_TEST

START_TEST(error_unknown_key_without_suggestion) {
  EXPECT_ONE_ERROR("&alpha temperature = 2 /", 1, 8,
                   "unknown key 'temperature' in group '&alpha'");
}
END_TEST

START_TEST(error_duplicate_key) {
  EXPECT_ONE_ERROR("&alpha n = 1\n n = 2 /", 2, 2,
                   "duplicate key 'n' in group '&alpha' (first set at line 1)");
  ck_assert_int_eq(cfg.n, 1); /* the first value stands */
}
END_TEST

START_TEST(error_duplicate_group) {
  EXPECT_ONE_ERROR("&beta /\n&beta x = 2 /", 2, 1, "group '&beta' appears twice (first at line 1)");
  ck_assert_double_eq(cfg.beta_x, 1.0);
}
END_TEST

START_TEST(error_integer_given_a_real) {
  EXPECT_ONE_ERROR("&alpha n = 1.5 /", 1, 12, "key 'n' expects an integer, got '1.5'");
}
END_TEST

START_TEST(error_integer_given_an_exponent) {
  EXPECT_ONE_ERROR("&alpha n = 1e3 /", 1, 12, "key 'n' expects an integer, got '1e3'");
}
END_TEST

START_TEST(error_integer_overflow) {
  EXPECT_ONE_ERROR("&alpha pair = 1 99999999999999999999 /", 1, 17,
                   "key 'pair': '99999999999999999999' does not fit in a 64-bit integer");
}
END_TEST

START_TEST(error_real_given_text) {
  EXPECT_ONE_ERROR("&alpha x = abc /", 1, 12, "key 'x' expects a real number, got 'abc'");
  EXPECT_ONE_ERROR("&alpha x = 1.0e /", 1, 12, "key 'x' expects a real number, got '1.0e'");
  EXPECT_ONE_ERROR("&alpha x = inf /", 1, 12, "key 'x' expects a real number, got 'inf'");
}
END_TEST

START_TEST(error_logical_given_text) {
  EXPECT_ONE_ERROR("&alpha flag = yes /", 1, 15,
                   "key 'flag' expects a logical (.true. or .false.), got 'yes'");
}
END_TEST

START_TEST(error_unquoted_string) {
  EXPECT_ONE_ERROR("&alpha name = run.h5 /", 1, 15,
                   "key 'name' expects a quoted string, got run.h5 (write 'run.h5')");
}
END_TEST

START_TEST(error_number_given_a_string) {
  EXPECT_ONE_ERROR("&alpha n = '3' /", 1, 12, "key 'n' expects an integer, got the string '3'");
}
END_TEST

START_TEST(error_below_minimum) {
  EXPECT_ONE_ERROR("&alpha n = 0 /", 1, 12, "key 'n' must be between 1 and 100, got 0");
  EXPECT_ONE_ERROR("&alpha x = -0.1 /", 1, 12, "key 'x' must be >= 0, got -0.1");
}
END_TEST

START_TEST(error_above_maximum) {
  EXPECT_ONE_ERROR("&alpha xs = 0.5 1.5 /", 1, 17, "key 'xs' must be <= 1, got 1.5");
}
END_TEST

START_TEST(error_choice_with_suggestion) {
  EXPECT_ONE_ERROR("&alpha mode = 'exakt' /", 1, 15,
                   "key 'mode' must be one of 'fast', 'careful' or 'exact', got 'exakt' "
                   "(did you mean 'exact'?)");
}
END_TEST

START_TEST(error_choice_without_suggestion) {
  EXPECT_ONE_ERROR("&alpha mode = 'zzzzzz' /", 1, 15,
                   "key 'mode' must be one of 'fast', 'careful' or 'exact', got 'zzzzzz'");
}
END_TEST

START_TEST(error_fixed_count) {
  EXPECT_ONE_ERROR("&alpha pair = 1 2 3 /", 1, 8, "key 'pair' expects 2 values, got 3");
}
END_TEST

START_TEST(error_too_many_values) {
  EXPECT_ONE_ERROR("&alpha list = 2 4 6 8 10 /", 1, 8, "key 'list' takes at most 4 values, got 5");
}
END_TEST

START_TEST(error_no_value) {
  EXPECT_ONE_ERROR("&alpha n = /", 1, 8, "key 'n' has no value");
}
END_TEST

START_TEST(error_missing_closing_quote) {
  ck_assert_int_eq(parse("&alpha\n name = 'abc\n n = 3 /"), 1);
  EXPECT_ERROR(0, 2, 9, "missing terminating ' character");
  ck_assert_int_eq(cfg.n, 3); /* parsing went on after the broken line */
}
END_TEST

START_TEST(error_group_not_closed) {
  EXPECT_ONE_ERROR("&alpha n = 3\n", 1, 1, "group '&alpha' is not closed with '/'");
}
END_TEST

START_TEST(error_group_not_closed_before_next_group) {
  EXPECT_ONE_ERROR("&alpha n = 3\n&beta /", 1, 1, "group '&alpha' is not closed with '/'");
  ck_assert_int_eq(res.group_pos[1].line, 2); /* the next group is still read */
}
END_TEST

START_TEST(error_slash_outside_group) {
  EXPECT_ONE_ERROR("&alpha /\n/", 2, 1, "'/' outside a group");
}
END_TEST

START_TEST(error_text_outside_group) {
  EXPECT_ONE_ERROR("n = 3\n&alpha /", 1, 1, "expected a group such as '&alpha', got 'n'");
}
END_TEST

START_TEST(error_missing_equals) {
  EXPECT_ONE_ERROR("&alpha n 3 /", 1, 8, "expected '=' after 'n'");
}
END_TEST

START_TEST(error_bad_repeat_count) {
  EXPECT_ONE_ERROR("&alpha list = 0*4 /", 1, 15,
                   "invalid repeat count in '0*4' (write r*value with r >= 1)");
  EXPECT_ONE_ERROR("&alpha list = x*4 /", 1, 15,
                   "invalid repeat count in 'x*4' (write r*value with r >= 1)");
}
END_TEST

START_TEST(error_repeat_without_value) {
  EXPECT_ONE_ERROR("&alpha list = 3* /", 1, 15, "missing value after repeat count '3*'");
}
END_TEST

START_TEST(error_empty_list_element) {
  EXPECT_ONE_ERROR("&alpha list = 2,,4 /", 1, 17, "empty value in the list of key 'list'");
}
END_TEST

START_TEST(error_string_too_long) {
  EXPECT_ONE_ERROR("&alpha name = '0123456789abcdef' /", 1, 15,
                   "key 'name': string is longer than 15 characters");
}
END_TEST

START_TEST(error_missing_required_key) {
  ck_assert_int_eq(parse_with(&required_schema, "\n&req /"), 1);
  EXPECT_ERROR(0, 2, 1, "missing required key 'must' in group '&req'");
  ck_assert_int_eq(parse_with(&required_schema, "&req must = 4 /"), 0);
  ck_assert_int_eq(cfg.must, 4);
}
END_TEST

START_TEST(error_from_validator) {
  EXPECT_ONE_ERROR("&alpha list = 2 3 /", 1, 8, "key 'list': value 3 is odd; give even numbers");
  ck_assert_int_eq(cfg.n_list, 1); /* a failed assignment leaves the key as it was */
  ck_assert_int_eq(cfg.list[0], 2);
}
END_TEST

START_TEST(error_element_assignment) {
  EXPECT_ONE_ERROR("&alpha pair(1) = 3 /", 1, 8,
                   "element assignment 'pair(1)' is not supported in group '&alpha'; assign the "
                   "whole array");
}
END_TEST

START_TEST(error_nul_byte) {
  static const char text[] = "&alpha n = 3 /\n\0garbage";
  invrg_nl_result_free(&res);
  ck_assert(invrg_nl_result_init(&res, &schema, "t.nml"));
  ck_assert_int_eq(invrg_nl_parse(text, sizeof text - 1, &cfg, &res), 1);
  EXPECT_ERROR(0, 2, 1, "the file contains a NUL byte (not a text file?)");
}
END_TEST

START_TEST(all_errors_reported_in_file_order) {
  const char *text =
      "&alpha\n"
      "  nn = 3\n"              /* unknown key */
      "  n = 2.5\n"             /* type */
      "  name = 'open\n"        /* missing quote */
      "  mode = 'fast'\n"       /* fine */
      "/\n"
      "&gamma /\n";             /* unknown group */
  ck_assert_int_eq(parse(text), 4);
  EXPECT_ERROR(0, 2, 3, "unknown key 'nn' in group '&alpha' (did you mean 'n'?)");
  EXPECT_ERROR(1, 3, 7, "key 'n' expects an integer, got '2.5'");
  EXPECT_ERROR(2, 4, 10, "missing terminating ' character");
  EXPECT_ERROR(3, 7, 1, "unknown group '&gamma'; the groups are &alpha, &beta");
}
END_TEST

START_TEST(error_at_key_uses_its_position) {
  EXPECT_OK("&alpha\n   x = 2 /\n&beta /");
  invrg_nl_error_at_key(&res, "alpha", "x", "x is too large for n = %d", 7);
  EXPECT_ERROR(0, 2, 4, "x is too large for n = 7");
  invrg_nl_error_at_key(&res, "alpha", "n", "not set, so the group is named");
  EXPECT_ERROR(1, 1, 1, "not set, so the group is named");
}
END_TEST

/* ------------------------------------------------------------------ writing */

static void roundtrip(const invrg_nl_schema *s, const void *original, size_t size) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  invrg_nl_write(s, original, true, f);
  fclose(f);
  void *copy = calloc(1, size);
  invrg_nl_result_free(&res);
  ck_assert(invrg_nl_result_init(&res, s, "written.nml"));
  ck_assert_int_eq(invrg_nl_set_defaults(s, copy, NULL), 0);
  int errors = invrg_nl_parse(text, len, copy, &res);
  if (errors) invrg_nl_print_diagnostics(&res, stderr);
  ck_assert_int_eq(errors, 0);
  ck_assert_mem_eq(copy, original, size);
  free(copy);
  free(text);
}

START_TEST(write_parses_back_to_same_values) {
  tcfg c;
  memset(&c, 0, sizeof c);
  ck_assert_int_eq(invrg_nl_set_defaults(&schema, &c, NULL), 0);
  roundtrip(&schema, &c, sizeof c);
  /* Values that are easy to get wrong: quotes, shortest reals, negative, arrays. */
  c.x = 0.1 + 0.2;
  c.n_xs = 3;
  c.xs[0] = -1e-300;
  c.xs[1] = 1.0 / 3.0;
  c.xs[2] = 1.0;
  snprintf(c.name, sizeof c.name, "it's \"x\"");
  c.flag = true;
  c.pair[0] = INT64_MIN;
  roundtrip(&schema, &c, sizeof c);
}
END_TEST

START_TEST(invrg_defaults_parse_back) {
  invrg_config c;
  invrg_config_defaults(&c);
  roundtrip(invrg_config_schema(), &c, offsetof(invrg_config, input_text));
}
END_TEST

START_TEST(invrg_schema_defaults_are_valid) {
  invrg_config c;
  memset(&c, 0, sizeof c);
  ck_assert(invrg_nl_result_init(&res, invrg_config_schema(), "defaults"));
  ck_assert_int_eq(invrg_nl_set_defaults(invrg_config_schema(), &c, &res), 0);
  ck_assert_int_eq(c.mc.n_samples, 1000);
  ck_assert_int_eq(c.parallel.grid[0], 0);
  ck_assert_str_eq(c.run.log_level, "info");
}
END_TEST

START_TEST(invrg_stage_order_is_checked) {
  invrg_config c;
  invrg_config_defaults(&c);
  invrg_nl_result_free(&res);
  ck_assert(invrg_nl_result_init(&res, invrg_config_schema(), "in.nml"));
  const char *text = "&run stages = 'train', 'mc' /";
  ck_assert_int_eq(invrg_nl_parse(text, strlen(text), &c, &res), 1);
  EXPECT_ERROR(0, 1, 6,
               "key 'stages': stage 'mc' must come before 'train' (order: mc, train, dream, "
               "analyze)");
}
END_TEST

/* Parses @p text into defaults; fails on any error. */
static void parse_invrg(const char *text, invrg_config *c) {
  invrg_config_defaults(c);
  invrg_nl_result_free(&res);
  ck_assert(invrg_nl_result_init(&res, invrg_config_schema(), "in.nml"));
  ck_assert_msg(invrg_nl_parse(text, strlen(text), c, &res) == 0, "%s: %s", text,
                res.n_diags > 0 ? res.diags[0].message : "");
}

/* Every choice of the input (but the operator sets, names of physics' tables) is also stored as
 * its position in the key's names, which is its enum; the fields are the right ones. */
START_TEST(invrg_choices_arrive_as_enums) {
  const invrg_nl_schema *sc = invrg_config_schema();
  invrg_config c;
  for (int g = 0; g < sc->n_groups; g++)
    for (int k = 0; k < sc->groups[g].n_keys; k++) {
      const invrg_nl_key *key = &sc->groups[g].keys[k];
      if (key->choices == NULL || strcmp(key->name, "operators") == 0) continue;
      ck_assert_msg(key->has_index, "&%s %s has no enum", sc->groups[g].name, key->name);
      for (int i = 0; key->choices[i] != NULL; i++) {
        if (strcmp(key->name, "stages") == 0 && i > 0) continue; /* needs its predecessors */
        char text[128];
        snprintf(text, sizeof text, "&%s %s = '%s' /", sc->groups[g].name, key->name,
                 key->choices[i]);
        parse_invrg(text, &c);
        int got;
        memcpy(&got, (const char *)&c + key->index_offset, sizeof got);
        ck_assert_msg(got == i, "%s: enum %d, want %d", text, got, i);
      }
    }
  parse_invrg("&run stages = 'mc', 'dream', log_level = 'debug' /", &c);
  ck_assert(c.run.n_stages == 2 && c.run.stages_kind[0] == INVRG_STAGE_MC &&
            c.run.stages_kind[1] == INVRG_STAGE_DREAM && c.run.log_level_kind == INVRG_LOG_DEBUG);
  ck_assert(invrg_config_has_stage(&c, INVRG_STAGE_DREAM) &&
            !invrg_config_has_stage(&c, INVRG_STAGE_TRAIN));
  parse_invrg("&mc algorithm = 'SW' / &output configs_format = 'packed' /", &c);
  ck_assert(c.mc.algorithm_kind == INVRG_MC_SW &&
            c.output.configs_format_kind == INVRG_CONFIGS_PACKED);
  ck_assert_str_eq(c.mc.algorithm, "sw"); /* the canonical spelling, for /config and the log */
  parse_invrg("&train model = 'conv', loss = 'weighted', optimizer = 'sgd', ties = 'coin', "
              "schedule = 'constant', select = 'best' /",
              &c);
  ck_assert(
      c.train.model_kind == INVRG_MODEL_KIND_CONV && c.train.loss_kind == INVRG_LOSS_WEIGHTED &&
      c.train.optimizer_kind == INVRG_OPTIMIZER_SGD && c.train.ties_kind == INVRG_TIES_COIN &&
      c.train.schedule_kind == INVRG_SCHEDULE_CONSTANT && c.train.select_kind == INVRG_SELECT_BEST);
  parse_invrg("&dream model = 'sym7', start = 'up', small_kernel_start = 'paper' / "
              "&analyze tie_rule = 'upper_left', sources = 'dream', 'mc', fss_sources = 'mc' /",
              &c);
  ck_assert(c.dream.model_kind == INVRG_DREAM_MODEL_SYM7 &&
            c.dream.start_kind == INVRG_DREAM_START_UP &&
            c.dream.small_kernel_start_kind == INVRG_SMALL_KERNEL_PAPER &&
            c.analyze.tie_rule_kind == INVRG_TIE_UPPER_LEFT);
  ck_assert(c.analyze.n_sources == 2 && c.analyze.sources_kind[0] == INVRG_SOURCE_DREAM &&
            c.analyze.sources_kind[1] == INVRG_SOURCE_MC && c.analyze.n_fss_sources == 1 &&
            c.analyze.fss_sources_kind[0] == INVRG_SOURCE_MC);
  invrg_config_defaults(&c); /* the defaults too */
  ck_assert(c.train.optimizer_kind == INVRG_OPTIMIZER_AUTO &&
            c.dream.model_kind == INVRG_DREAM_MODEL_NONE && c.mc.algorithm_kind == INVRG_MC_WOLFF &&
            c.run.log_level_kind == INVRG_LOG_INFO &&
            c.analyze.fss_sources_kind[0] == INVRG_SOURCE_DREAM);
}
END_TEST

START_TEST(markdown_lists_every_key) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  invrg_nl_write_markdown(&schema, f);
  fclose(f);
  for (size_t k = 0; k < sizeof alpha_keys / sizeof alpha_keys[0]; k++) {
    char cell[64];
    snprintf(cell, sizeof cell, "| `%s` |", alpha_keys[k].name);
    ck_assert_ptr_nonnull(strstr(text, cell));
  }
  ck_assert_ptr_nonnull(strstr(text, "'fast', 'careful' or 'exact'"));
  free(text);
}
END_TEST

START_TEST(suggestions) {
  static const char *const words[] = {"nsweeps", "seed", "output"};
  ck_assert_str_eq(invrg_text_suggest("nsweep", words, 3), "nsweeps");
  ck_assert_str_eq(invrg_text_suggest("sede", words, 3), "seed"); /* adjacent swap */
  ck_assert_ptr_null(invrg_text_suggest("banana", words, 3));
  ck_assert_int_eq(invrg_text_edit_distance("kitten", "sitting"), 3);
}
END_TEST

/* ------------------------------------------------------------------ command-line overrides */

/* Parses @p text, then applies the @p n overrides; returns the errors of both. */
static int parse_and_override(const char *text, const char *const *overrides, int n) {
  const int file_errors = parse(text);
  return file_errors + invrg_nl_apply_overrides(overrides, n, &cfg, &res);
}

START_TEST(overrides_replace_the_file_values) {
  static const char *const set[] = {"alpha.n=9",          "alpha.list=4,6 8",
                                    " ALPHA.Name = x/y, z", "alpha.names=c, d",
                                    "beta.x=-2d0",        "alpha.mode='Exact'",
                                    "alpha.xs=3*0.5",     "alpha.flag=T"};
  ck_assert_int_eq(parse_and_override("&alpha n = 3, list = 2, x = 4 / &beta x = 1 /", set, 8), 0);
  ck_assert_int_eq(cfg.n, 9);
  ck_assert_int_eq(cfg.n_list, 3);
  ck_assert(cfg.list[0] == 4 && cfg.list[1] == 6 && cfg.list[2] == 8);
  ck_assert_str_eq(cfg.name, "x/y, z"); /* an unquoted scalar string: all of it, trimmed */
  ck_assert_int_eq(cfg.n_names, 2);
  ck_assert(strcmp(cfg.names[0], "c") == 0 && strcmp(cfg.names[1], "d") == 0);
  ck_assert(cfg.beta_x == -2.0 && cfg.flag && cfg.x == 4.0);
  ck_assert_str_eq(cfg.mode, "exact");
  ck_assert(cfg.n_xs == 3 && cfg.xs[0] == 0.5 && cfg.xs[2] == 0.5);
  /* The position of an overridden key is its override (line -k); the others keep the file's. */
  ck_assert_int_eq(res.key_pos[0].line, -1);
  ck_assert_int_eq(res.key_pos[2].line, -2);
  ck_assert_int_eq(res.key_pos[3].line, 1); /* x: from the file */
  ck_assert_int_eq(res.key_pos[10].line, -5); /* beta.x */
}
END_TEST

START_TEST(overrides_strings_with_or_without_quotes) {
  static const char *const quoted[] = {"alpha.name='it''s'", "alpha.names=\"p q\", 'r'"};
  ck_assert_int_eq(parse_and_override("", quoted, 2), 0);
  ck_assert_str_eq(cfg.name, "it's");
  ck_assert(cfg.n_names == 2 && strcmp(cfg.names[0], "p q") == 0);
  static const char *const bare[] = {"alpha.name=it's !", "alpha.names=u"};
  ck_assert_int_eq(parse_and_override("", bare, 2), 0);
  ck_assert_str_eq(cfg.name, "it's !");
  ck_assert(cfg.n_names == 1 && strcmp(cfg.names[0], "u") == 0);
}
END_TEST

/* Applies one override to the defaults, expecting exactly one error, at column @p c. */
#define EXPECT_OVERRIDE_ERROR(text, c, msg)                              \
  do {                                                                   \
    static const char *const one[] = {text};                             \
    ck_assert_int_eq(parse_and_override("", one, 1), 1);                 \
    EXPECT_ERROR(0, -1, c, msg);                                         \
  } while (0)

START_TEST(overrides_errors_name_the_override) {
  EXPECT_OVERRIDE_ERROR("alpha.n=abc", 9, "key 'n' expects an integer, got 'abc'");
  EXPECT_OVERRIDE_ERROR("alpha.n=200", 9, "key 'n' must be between 1 and 100, got 200");
  EXPECT_OVERRIDE_ERROR("alpha.n='5'", 9, "key 'n' expects an integer, got the string '5'");
  EXPECT_OVERRIDE_ERROR("alpha.n=", 1, "key 'n' has no value");
  EXPECT_OVERRIDE_ERROR("alpha.list=3", 1, "key 'list': value 3 is odd; give even numbers");
  EXPECT_OVERRIDE_ERROR("alpha.mode=fats", 12,
                        "key 'mode' must be one of 'fast', 'careful' or 'exact', got 'fats' "
                        "(did you mean 'fast'?)");
  EXPECT_OVERRIDE_ERROR("alpah.n=3", 1, "unknown group '&alpah' (did you mean '&alpha'?)");
  EXPECT_OVERRIDE_ERROR("alpha.nn=3", 7, "unknown key 'nn' in group '&alpha' (did you mean 'n'?)");
  EXPECT_OVERRIDE_ERROR("alpha.n", 1, "expected group.key=value (e.g. mc.L=64): there is no '='");
  EXPECT_OVERRIDE_ERROR("flags=T,T", 1,
                        "expected group.key=value: 'flags' names no group (did you mean "
                        "'alpha.flags'?)");
  EXPECT_OVERRIDE_ERROR("x=1", 1, "expected group.key=value (e.g. mc.L=64), got 'x'");
  EXPECT_OVERRIDE_ERROR("alpha.n=5 /", 11, "unexpected '/' after the values of key 'n'");
  EXPECT_OVERRIDE_ERROR("alpha.n=5 ! five", 11,
                        "'!' would start a comment here; quote a value that holds it");
  EXPECT_OVERRIDE_ERROR("alpha.names=a,,b", 15, "empty value in the list of key 'names'");
  EXPECT_OVERRIDE_ERROR("alpha.name='open", 12, "missing terminating ' character");
  EXPECT_OVERRIDE_ERROR("alpha.n=1\n", 1, "a --set value cannot hold a line break");
  /* Twice on the command line (the file may set it: that is what an override is for). */
  static const char *const twice[] = {"alpha.n=4", "beta.x=1", "Alpha.N=5"};
  ck_assert_int_eq(parse_and_override("&alpha n = 3 /", twice, 3), 1);
  EXPECT_ERROR(0, -3, 1,
               "key 'n' of '&alpha' is given twice on the command line (first by --set #1)");
  /* The file's errors and the overrides' together, the file's first. */
  static const char *const bad[] = {"alpha.x=-1", "beta.y=2"};
  ck_assert_int_eq(parse_and_override("&alpha n = 0 /", bad, 2), 3);
  EXPECT_ERROR(0, 1, 12, "key 'n' must be between 1 and 100, got 0");
  EXPECT_ERROR(1, -1, 9, "key 'x' must be >= 0, got -1");
  EXPECT_ERROR(2, -2, 6, "unknown key 'y' in group '&beta' (did you mean 'x'?)");
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  invrg_nl_print_diagnostics(&res, f);
  fclose(f);
  ck_assert_str_eq(text, "t.nml:1:12: error: key 'n' must be between 1 and 100, got 0\n"
                         "command line: --set #1 'alpha.x=-1': error: key 'x' must be >= 0, "
                         "got -1\n"
                         "command line: --set #2 'beta.y=2': error: unknown key 'y' in group "
                         "'&beta' (did you mean 'x'?)\n");
  free(text);
}
END_TEST

START_TEST(write_noted_marks_keys) {
  EXPECT_OK("&alpha n = 5 /");
  const char *notes[11] = {NULL};
  notes[0] = "from the command line: --set alpha.n=5";
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  invrg_nl_write_noted(&schema, &cfg, notes, f);
  fclose(f);
  ck_assert_ptr_nonnull(strstr(text, "\n  n = 5  ! from the command line: --set alpha.n=5\n"));
  ck_assert_ptr_nonnull(strstr(text, "\n  pair = 0, 0\n")); /* no note: as invrg_nl_write */
  tcfg back;
  memcpy(&back, &cfg, sizeof back);
  ck_assert_int_eq(parse(text), 0); /* still a namelist that reads back */
  ck_assert_int_eq(cfg.n, back.n);
  free(text);
}
END_TEST

static Suite *namelist_suite(void) {
  Suite *s = suite_create("namelist");
  TCase *ok = tcase_create("accepted");
  tcase_add_test(ok, defaults_when_empty);
  tcase_add_test(ok, names_are_case_insensitive);
  tcase_add_test(ok, comments_everywhere);
  tcase_add_test(ok, strings_single_and_double_quoted);
  tcase_add_test(ok, strings_keep_comment_and_slash_characters);
  tcase_add_test(ok, logical_forms);
  tcase_add_test(ok, integer_forms);
  tcase_add_test(ok, real_forms);
  tcase_add_test(ok, array_separators);
  tcase_add_test(ok, repeat_counts);
  tcase_add_test(ok, end_forms_and_several_groups_on_a_line);
  tcase_add_test(ok, empty_list_for_optional_array);
  tcase_add_test(ok, positions_of_keys_are_recorded);
  suite_add_tcase(s, ok);

  TCase *bad = tcase_create("errors");
  tcase_add_test(bad, error_unknown_group_with_suggestion);
  tcase_add_test(bad, error_unknown_group_lists_groups);
  tcase_add_test(bad, error_unknown_key_with_suggestion);
  tcase_add_test(bad, error_unknown_key_without_suggestion);
  tcase_add_test(bad, error_duplicate_key);
  tcase_add_test(bad, error_duplicate_group);
  tcase_add_test(bad, error_integer_given_a_real);
  tcase_add_test(bad, error_integer_given_an_exponent);
  tcase_add_test(bad, error_integer_overflow);
  tcase_add_test(bad, error_real_given_text);
  tcase_add_test(bad, error_logical_given_text);
  tcase_add_test(bad, error_unquoted_string);
  tcase_add_test(bad, error_number_given_a_string);
  tcase_add_test(bad, error_below_minimum);
  tcase_add_test(bad, error_above_maximum);
  tcase_add_test(bad, error_choice_with_suggestion);
  tcase_add_test(bad, error_choice_without_suggestion);
  tcase_add_test(bad, error_fixed_count);
  tcase_add_test(bad, error_too_many_values);
  tcase_add_test(bad, error_no_value);
  tcase_add_test(bad, error_missing_closing_quote);
  tcase_add_test(bad, error_group_not_closed);
  tcase_add_test(bad, error_group_not_closed_before_next_group);
  tcase_add_test(bad, error_slash_outside_group);
  tcase_add_test(bad, error_text_outside_group);
  tcase_add_test(bad, error_missing_equals);
  tcase_add_test(bad, error_bad_repeat_count);
  tcase_add_test(bad, error_repeat_without_value);
  tcase_add_test(bad, error_empty_list_element);
  tcase_add_test(bad, error_string_too_long);
  tcase_add_test(bad, error_missing_required_key);
  tcase_add_test(bad, error_from_validator);
  tcase_add_test(bad, error_element_assignment);
  tcase_add_test(bad, error_nul_byte);
  tcase_add_test(bad, all_errors_reported_in_file_order);
  tcase_add_test(bad, error_at_key_uses_its_position);
  suite_add_tcase(s, bad);

  TCase *w = tcase_create("writing");
  tcase_add_test(w, write_parses_back_to_same_values);
  tcase_add_test(w, invrg_defaults_parse_back);
  tcase_add_test(w, invrg_schema_defaults_are_valid);
  tcase_add_test(w, invrg_stage_order_is_checked);
  tcase_add_test(w, invrg_choices_arrive_as_enums);
  tcase_add_test(w, markdown_lists_every_key);
  tcase_add_test(w, suggestions);
  suite_add_tcase(s, w);

  TCase *o = tcase_create("overrides");
  tcase_add_test(o, overrides_replace_the_file_values);
  tcase_add_test(o, overrides_strings_with_or_without_quotes);
  tcase_add_test(o, overrides_errors_name_the_override);
  tcase_add_test(o, write_noted_marks_keys);
  suite_add_tcase(s, o);
  return s;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const int status = run_suite(namelist_suite());
  invrg_nl_result_free(&res);
  MPI_Finalize();
  return status;
}

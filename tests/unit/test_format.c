/* Unit tests of the log's numbers (core/format: value(error), '—', aligned cells) and of the
 * log of a run (core/log: time stamps, the log file, the kept text). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "invrg/format.h"
#include "invrg/log.h"
#include "invrg/text.h"
#include "unit/check_runner.h"

#define DASH INVRG_FORMAT_UNDEFINED

static void expect(double value, double error, const char *want) {
  char got[128];
  invrg_format_value_error(got, sizeof got, value, error);
  ck_assert_msg(strcmp(got, want) == 0, "%.17g +- %.17g: got '%s', want '%s'", value, error,
                got, want);
}

/* ------------------------------------------------------------------ worked cases */

START_TEST(rounds_the_error_to_two_digits) {
  expect(1.43254531, 0.00095443, "1.43255(95)");
  expect(-1.43493262, 0.00166599, "-1.4349(17)");
  expect(78.9388, 1.7, "78.9(17)");
  expect(274.33, 16.2, "274(16)");
  expect(6249.95, 40.4, "6250(40)");
  expect(2.185511, 0.050696, "2.186(51)");
  expect(0.001, 0.5, "0.00(50)");
  expect(1.0, 0.001, "1.0000(10)"); /* an exact power of ten */
  expect(1.0, 0.01, "1.000(10)");
  expect(5.0, 1.0, "5.0(10)");
}
END_TEST

START_TEST(carries) {
  expect(1.2345, 0.0996, "1.23(10)");  /* the error's 99.6 rounds to 100: one digit fewer */
  expect(1.2346, 0.00996, "1.235(10)");
  expect(0.09996, 0.0012, "0.1000(12)"); /* the value's rounding carries: 0.0996 → 0.100 */
  expect(9.99996, 0.0012, "10.0000(12)");
  expect(-0.09996, 0.0012, "-0.1000(12)");
  expect(99.996, 0.12, "100.00(12)");
  expect(9.99999996e6, 1.2, "1.00000000(12)e+07"); /* the mantissa's carry moves the exponent */
}
END_TEST

START_TEST(large_and_tiny_numbers) {
  expect(1234567.8, 12.3, "1.234568(12)e+06");
  expect(1.234e-8, 5.6e-10, "1.234(56)e-08");
  expect(-1.234e-8, 5.6e-10, "-1.234(56)e-08");
  expect(390.397, 196, "3.9(20)e+02");  /* an error of hundreds: scientific */
  expect(5260.69, 490, "5.26(49)e+03");
  expect(3e-5, 4e-4, "0.3(40)e-04");    /* the error's magnitude sets the exponent */
  expect(0.00123, 0.00045, "0.00123(45)");
  expect(1e300, 1e-300, "1e+300(1e-300)"); /* below the value's precision: both in full */
}
END_TEST

START_TEST(undefined_and_exact) {
  expect(NAN, 0.1, DASH);
  expect(NAN, NAN, DASH);
  expect(1.5, NAN, "1.5(" DASH ")");
  expect(1.5, -0.1, "1.5(" DASH ")");
  expect(INFINITY, 1, "inf");
  expect(-INFINITY, 1, "-inf");
  expect(1.5, INFINITY, "1.5(inf)");
  expect(1.8467675900123, 0, "1.84676759"); /* zero error: the value alone, 10 digits */
  expect(0, 0, "0");
  char buf[32];
  invrg_format_general(buf, sizeof buf, NAN, 3);
  ck_assert_str_eq(buf, DASH);
  invrg_format_general(buf, sizeof buf, 0.0155123, 3);
  ck_assert_str_eq(buf, "0.0155");
  invrg_format_fixed(buf, sizeof buf, NAN, 4);
  ck_assert_str_eq(buf, DASH);
  invrg_format_fixed(buf, sizeof buf, 0.04251, 4);
  ck_assert_str_eq(buf, "0.0425");
  invrg_format_sigma(buf, sizeof buf, INFINITY);
  ck_assert_str_eq(buf, DASH);
  invrg_format_sigma(buf, sizeof buf, NAN);
  ck_assert_str_eq(buf, DASH);
  invrg_format_sigma(buf, sizeof buf, -0.76);
  ck_assert_str_eq(buf, "-0.8");
}
END_TEST

/* ------------------------------------------------------------------ the rule, on random pairs */

/* Parses "M(D)" or "M(D)e±X": the value, the error and the unit of the last digit. */
static void parse(const char *s, double *value, double *error, double *unit, int *digits) {
  const char *open = strchr(s, '('), *close = strchr(s, ')');
  ck_assert_msg(open != NULL && close != NULL && close > open, "no (…) in '%s'", s);
  char mantissa[64];
  snprintf(mantissa, sizeof mantissa, "%.*s", (int)(open - s), s);
  const char *point = strchr(mantissa, '.');
  const int decimals = point != NULL ? (int)strlen(point + 1) : 0;
  const int exponent = close[1] == 'e' ? atoi(close + 2) : 0;
  ck_assert_msg(close[1] == '\0' || (close[1] == 'e' && (close[2] == '+' || close[2] == '-')),
                "'%s' ends in neither ')' nor an exponent", s);
  *digits = atoi(open + 1);
  *unit = pow(10.0, exponent - decimals);
  *value = strtod(mantissa, NULL) * pow(10.0, exponent);
  *error = *digits * *unit;
}

START_TEST(random_pairs_follow_the_rule) {
  uint64_t state = 0x9E3779B97F4A7C15u;
  for (int i = 0; i < 20000; i++) {
    /* value and error spread over 24 decades, either sign, the error below and above */
    state = state * 6364136223846793005u + 1442695040888963407u;
    const double u1 = (double)(state >> 11) / 9007199254740992.0;
    state = state * 6364136223846793005u + 1442695040888963407u;
    const double u2 = (double)(state >> 11) / 9007199254740992.0;
    state = state * 6364136223846793005u + 1442695040888963407u;
    const double u3 = (double)(state >> 11) / 9007199254740992.0;
    const double value = (u3 < 0.5 ? -1 : 1) * pow(10.0, 24 * u1 - 12);
    const double error = fabs(value) * pow(10.0, 8 * u2 - 6);
    char s[128];
    invrg_format_value_error(s, sizeof s, value, error);
    double v, e, unit;
    int digits;
    parse(s, &v, &e, &unit, &digits);
    ck_assert_msg(digits >= 10 && digits <= 99, "'%s': %d digits of error", s, digits);
    /* both rounded to the unit of the last digit (and a relative 1e-12 for the printing) */
    ck_assert_msg(fabs(e - error) <= 0.5 * unit * (1 + 1e-9), "'%s' for error %.6g", s, error);
    ck_assert_msg(fabs(v - value) <= 0.5 * unit * (1 + 1e-9) + 1e-12 * fabs(value),
                  "'%s' for value %.17g", s, value);
    ck_assert_msg(strlen(s) <= 24, "'%s' is long", s);
  }
}
END_TEST

/* ------------------------------------------------------------------ cells */

START_TEST(cells_align_by_characters) {
  ck_assert_int_eq(invrg_format_width(DASH), 1);
  ck_assert_int_eq(invrg_format_width("a" DASH "b"), 3);
  ck_assert_int_eq(invrg_format_width(""), 0);
  char line[64] = "";
  invrg_format_cell(line, sizeof line, 4, DASH);
  invrg_format_cell(line, sizeof line, 4, "1.5");
  invrg_format_cell(line, sizeof line, -4, "L");
  invrg_format_cell(line, sizeof line, 2, "12345"); /* wider than its column: whole */
  ck_assert_str_eq(line, "    " DASH "  1.5 L    12345");
  char small[8] = "ab";
  invrg_format_cell(small, sizeof small, 10, "x"); /* no overflow: cut at the buffer */
  ck_assert_uint_eq(strlen(small), sizeof small - 1);
}
END_TEST

/* ------------------------------------------------------------------ the log of a run */

START_TEST(the_run_log_is_stamped_filed_and_kept) {
  char path[] = "/tmp/invrg_test_log_XXXXXX";
  const int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  invrg_log_set_level(INVRG_LOG_INFO);
  invrg_log(INVRG_LOG_INFO, "before the run: no stamp, not kept");
  ck_assert_str_eq(invrg_log_text(), "");
  invrg_log_begin_run();
  invrg_log(INVRG_LOG_INFO, "first %d", 1);
  ck_assert(invrg_log_open_file(path, false)); /* the lines so far go in first */
  invrg_log(INVRG_LOG_INFO, "a long line %0900d", 7);
  invrg_log_lines(INVRG_LOG_INFO, "two\nlines\n");
  invrg_log_set_level(INVRG_LOG_WARN);
  invrg_log(INVRG_LOG_INFO, "dropped by the level");
  invrg_log_copy("copied\n");
  ck_assert(invrg_log_prepend("[00:00:09] an earlier run\n"));
  size_t n = 0;
  invrg_log_close_file();
  char *file = invrg_text_read_file(path, &n);
  ck_assert_ptr_nonnull(file);
  const char *kept = invrg_log_text();
  const char *earlier = "[00:00:09] an earlier run\n";
  ck_assert_msg(strncmp(kept, earlier, strlen(earlier)) == 0, "kept text: %s", kept);
  ck_assert_str_eq(kept + strlen(earlier), file); /* the file: this process's lines */
  int lines = 0;
  for (const char *line = file; *line != '\0'; lines++) {
    ck_assert_msg(line[0] == '[' && line[3] == ':' && line[6] == ':' && line[9] == ']' &&
                      line[10] == ' ',
                  "no time stamp: %.40s", line);
    line = strchr(line, '\n') + 1;
  }
  ck_assert_int_eq(lines, 5);
  ck_assert_ptr_null(strstr(file, "dropped"));
  ck_assert_ptr_nonnull(strstr(file, "] first 1\n"));
  ck_assert_ptr_nonnull(strstr(file, "] copied\n"));
  ck_assert_ptr_nonnull(strstr(file, "0007\n"));
  free(file);
  invrg_log_end_run();
  ck_assert_str_eq(invrg_log_text(), "");
  unlink(path);
  invrg_log_set_level(INVRG_LOG_ERROR);
  char stamp[32];
  invrg_log_stamp(stamp, sizeof stamp, 3 * 3600 + 25 * 60 + 7.9);
  ck_assert_str_eq(stamp, "[03:25:07]");
  invrg_log_stamp(stamp, sizeof stamp, 123 * 3600.0);
  ck_assert_str_eq(stamp, "[123:00:00]");
}
END_TEST

int main(void) {
  invrg_log_init(0);
  invrg_log_set_level(INVRG_LOG_ERROR);
  Suite *s = suite_create("format");
  TCase *tc = tcase_create("format");
  tcase_add_test(tc, rounds_the_error_to_two_digits);
  tcase_add_test(tc, carries);
  tcase_add_test(tc, large_and_tiny_numbers);
  tcase_add_test(tc, undefined_and_exact);
  tcase_add_test(tc, random_pairs_follow_the_rule);
  tcase_add_test(tc, cells_align_by_characters);
  tcase_add_test(tc, the_run_log_is_stamped_filed_and_kept);
  suite_add_tcase(s, tc);
  return run_suite(s);
}

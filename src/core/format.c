/* Numbers as the log writes them: value(error), '—' for undefined values, aligned cells. */
#include "invrg/format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The largest number of digits a double carries: beyond it an error cannot be shown in the
 * value's last digits. */
enum { MAX_DIGITS = 17 };

/*
 * The error rounded to two significant digits: *digits (10 … 99) in units of 10^*last. The
 * rounding may carry into a third digit (0.0996 → 10 × 10^-2) and log10 may be off by one
 * next to a power of ten: both are put right by moving *last.
 */
static void error_digits(double error, int *last, int *digits) {
  int l = (int)floor(log10(error)) - 1;
  double d = round(error / pow(10.0, l));
  if (d >= 100) d = round(error / pow(10.0, ++l));
  if (d < 10) d = round(error / pow(10.0, --l));
  *last = l;
  *digits = (int)d;
}

/* Scientific notation: mantissa(digits)e±XX, the mantissa's last digit at 10^last. */
static void scientific(char *buf, size_t size, double value, int last, int digits) {
  const double rounded_error = digits * pow(10.0, last);
  int p = (int)floor(log10(fmax(fabs(value), rounded_error)));
  char mantissa[64];
  for (int attempt = 0; attempt < 2; attempt++) {
    snprintf(mantissa, sizeof mantissa, "%.*f", p - last, value / pow(10.0, p));
    /* rounding may give 10.0…: then the exponent is one more */
    if (strncmp(mantissa + (mantissa[0] == '-'), "10", 2) != 0) break;
    p++;
  }
  snprintf(buf, size, "%s(%d)e%+03d", mantissa, digits, p);
}

void invrg_format_value_error(char *buf, size_t size, double value, double error) {
  if (isnan(value)) {
    snprintf(buf, size, "%s", INVRG_FORMAT_UNDEFINED);
  } else if (isinf(value)) {
    snprintf(buf, size, "%s", value > 0 ? "inf" : "-inf");
  } else if (isnan(error) || error < 0) {
    snprintf(buf, size, "%.6g(%s)", value, INVRG_FORMAT_UNDEFINED);
  } else if (isinf(error)) {
    snprintf(buf, size, "%.6g(inf)", value);
  } else if (error == 0) {
    snprintf(buf, size, "%.10g", value); /* exact */
  } else {
    int last, digits;
    error_digits(error, &last, &digits);
    const double magnitude = fmax(fabs(value), digits * pow(10.0, last));
    const int p = (int)floor(log10(magnitude));
    if (p - last > MAX_DIGITS) /* an error below the value's precision: both in full */
      snprintf(buf, size, "%.10g(%.2g)", value, error);
    else if (last <= 0 && -last <= 9 && p >= -3 && p < 6)
      snprintf(buf, size, "%.*f(%d)", -last, value, digits);
    else
      scientific(buf, size, value, last, digits);
  }
}

void invrg_format_general(char *buf, size_t size, double value, int significant) {
  if (isnan(value))
    snprintf(buf, size, "%s", INVRG_FORMAT_UNDEFINED);
  else
    snprintf(buf, size, "%.*g", significant, value);
}

void invrg_format_fixed(char *buf, size_t size, double value, int decimals) {
  if (isnan(value))
    snprintf(buf, size, "%s", INVRG_FORMAT_UNDEFINED);
  else
    snprintf(buf, size, "%.*f", decimals, value);
}

void invrg_format_sigma(char *buf, size_t size, double deviation) {
  if (!isfinite(deviation))
    snprintf(buf, size, "%s", INVRG_FORMAT_UNDEFINED);
  else
    snprintf(buf, size, "%+.1f", deviation);
}

int invrg_format_width(const char *text) {
  int width = 0;
  for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++)
    width += (*c & 0xC0) != 0x80; /* continuation bytes 10xxxxxx add no column */
  return width;
}

void invrg_format_cell(char *line, size_t size, int width, const char *cell) {
  size_t used = strlen(line);
  const int pad = (width < 0 ? -width : width) - invrg_format_width(cell);
  const int left = width > 0 && pad > 0 ? pad : 0, right = width < 0 && pad > 0 ? pad : 0;
  if (used + 1 < size)
    snprintf(line + used, size - used, " %*s%s%*s", left, "", cell, right, "");
}

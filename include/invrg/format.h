/**
 * @file format.h
 * Numbers as the log writes them (docs/design.md §6, "Logging"). Not collective.
 *
 * A value with its error is written one way everywhere: value(error), the error with two
 * significant digits in units of the value's last digit, as in 1.43255(95) for
 * 1.43254531 ± 0.00095443 or 274(16) for 274.33 ± 16.2. Very small, very large or very
 * uncertain values go to scientific notation: 1.234(56)e-08, 3.9(20)e+02. A value that is
 * undefined (NaN) is written '—' (U+2014), an undefined error '(—)'; a zero error leaves the
 * value alone (10 significant digits). Table cells are aligned by display width, counting a
 * UTF-8 character (such as '—') as one column.
 */
#ifndef INVRG_FORMAT_H
#define INVRG_FORMAT_H

#include <stddef.h>

/** The mark of an undefined value: an em dash, 3 bytes of UTF-8, one column. */
#define INVRG_FORMAT_UNDEFINED "\xe2\x80\x94"

/** Writes @p value ± @p error as value(error) into @p buf (see the file comment). */
void invrg_format_value_error(char *buf, size_t size, double value, double error);

/** Writes @p value with @p significant digits ("%.*g"), or '—' if it is NaN. */
void invrg_format_general(char *buf, size_t size, double value, int significant);

/** Writes @p value with @p decimals digits after the point ("%.*f"), or '—' if it is NaN. */
void invrg_format_fixed(char *buf, size_t size, double value, int decimals);

/** Writes a deviation in standard errors ("%+.1f"), or '—' if it is not finite. */
void invrg_format_sigma(char *buf, size_t size, double deviation);

/** Display width of UTF-8 text: its characters, not its bytes. */
int invrg_format_width(const char *text);

/**
 * Appends one space and @p cell to the NUL-terminated @p line (of @p size bytes), padded to
 * @p width columns: right-aligned if @p width > 0, left-aligned if < 0. Truncates safely.
 */
void invrg_format_cell(char *line, size_t size, int width, const char *cell);

#endif

/**
 * @file text.h
 * Small string helpers shared by the input parser and the CLI. Not collective.
 */
#ifndef INVRG_TEXT_H
#define INVRG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), case-insensitive. */
int invrg_text_edit_distance(const char *a, const char *b);

/**
 * The candidate closest to @p word if it is close enough to be a likely typo
 * (distance <= 1 for short words, <= a third of the length otherwise), else NULL.
 */
const char *invrg_text_suggest(const char *word, const char *const *candidates, int n_candidates);

/** Case-insensitive equality. */
bool invrg_text_ieq(const char *a, const char *b);

/** Copies at most @p n bytes of @p src into @p dst (size @p dst_size), lower-cased, NUL-terminated. */
void invrg_text_lower_copy(char *dst, size_t dst_size, const char *src, size_t n);

/**
 * Reads a whole file into a NUL-terminated buffer (caller frees). Returns NULL
 * and sets errno on failure. @p len receives the length without the NUL.
 */
char *invrg_text_read_file(const char *path, size_t *len);

#endif

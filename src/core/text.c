/* String helpers: edit distance for "did you mean", case-insensitive compare, file reading. */
#include "invrg/text.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int imin(int a, int b) { return a < b ? a : b; }

int invrg_text_edit_distance(const char *a, const char *b) {
  /* Optimal string alignment distance, three rolling rows (words here are short). */
  enum { MAXW = 64 };
  int na = (int)strnlen(a, MAXW), nb = (int)strnlen(b, MAXW);
  int rows[3][MAXW + 1];
  int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
  for (int j = 0; j <= nb; j++) prev[j] = j;
  for (int i = 1; i <= na; i++) {
    cur[0] = i;
    for (int j = 1; j <= nb; j++) {
      int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
      int cost = ca != cb;
      cur[j] = imin(imin(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == cb)
        cur[j] = imin(cur[j], prev2[j - 2] + 1);
    }
    int *t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[nb];
}

const char *invrg_text_suggest(const char *word, const char *const *candidates, int n_candidates) {
  int len = (int)strlen(word);
  int limit = len <= 4 ? 1 : (len + 2) / 3;
  const char *best = NULL;
  int best_d = limit + 1;
  for (int i = 0; i < n_candidates; i++) {
    int d = invrg_text_edit_distance(word, candidates[i]);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  return best;
}

bool invrg_text_ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
  return *a == *b;
}

void invrg_text_lower_copy(char *dst, size_t dst_size, const char *src, size_t n) {
  size_t i = 0;
  for (; i < n && i + 1 < dst_size && src[i]; i++) dst[i] = (char)tolower((unsigned char)src[i]);
  dst[i] = '\0';
}

char *invrg_text_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (buf != NULL) errno = 0; /* so that a read error below keeps its own errno */
  while (buf != NULL) {
    n += fread(buf + n, 1, cap - n - 1, f);
    if (ferror(f)) { /* errno says why (e.g. EISDIR) */
      free(buf);
      buf = NULL;
      if (errno == 0) errno = EIO;
      break;
    }
    if (feof(f)) break;
    char *bigger = realloc(buf, cap * 2);
    if (bigger == NULL) free(buf);
    buf = bigger;
    cap *= 2;
  }
  int saved = errno;
  fclose(f);
  errno = saved;
  if (buf == NULL) return NULL;
  buf[n] = '\0';
  *len = n;
  return buf;
}

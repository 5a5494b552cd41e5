/* Union–find over site indices, shared by Swendsen–Wang's cluster labelling (sw.c) and the
 * benchmark that replays its label merge: path halving, and the smaller root wins, so a root is
 * always its component's smallest index (labels do not depend on the order of the unions). */
#ifndef INVRG_UNION_FIND_H
#define INVRG_UNION_FIND_H

#include <stdint.h>

static inline int32_t invrg_uf_find(int32_t *parent, int32_t k) {
  while (parent[k] != k) { /* path halving */
    parent[k] = parent[parent[k]];
    k = parent[k];
  }
  return k;
}

static inline void invrg_uf_unite(int32_t *parent, int32_t a, int32_t b) {
  a = invrg_uf_find(parent, a);
  b = invrg_uf_find(parent, b);
  if (a < b)
    parent[b] = a;
  else if (b < a)
    parent[a] = b;
}

#endif

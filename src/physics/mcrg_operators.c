/* MCRG spin operators (docs/physics.md §8): the two sets, the parser of their
 * definitions, and their lattice sums. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/mcrg.h"

/* A row of a set table: name and definition in the notation of docs/physics.md §8. */
typedef struct {
  const char *name, *definition;
} op_row;

/*
 * Swendsen's small set. Every operator sums all its orientations (and
 * translates) once per site, so e.g. nn = Σ_bonds s_i s_j = −E:
 *   nn          s(y,x) [s(y−1,x) + s(y,x−1)]
 *   nnn         s(y,x) s(y−1,x−1) + s(y,x−1) s(y−1,x)          (both diagonals)
 *   plaquette   s(y,x) s(y,x−1) s(y−1,x) s(y−1,x−1)
 *   third_nn    s(y,x) [s(y−2,x) + s(y,x−2)]
 *   s           s(y,x)
 *   three_corner  the four 3-spin products of a plaquette (one corner left out)
 *   three_row   s(y,x) s(y,x−1) s(y,x−2) + s(y,x) s(y−1,x) s(y−2,x)
 */
static const op_row swendsen_rows[] = {
    {"nn", "s*S(1,0) + s*S(0,1)"},
    {"nnn", "s*S(1,1) + S(0,1)*S(1,0)"},
    {"plaquette", "s*S(0,1)*S(1,0)*S(1,1)"},
    {"third_nn", "s*S(2,0) + s*S(0,2)"},
    {"s", "s"},
    {"three_corner", "S(0,1)*S(1,0)*S(1,1) + s*S(1,0)*S(1,1) + s*S(0,1)*S(1,1) + s*S(0,1)*S(1,0)"},
    {"three_row", "s*S(0,1)*S(0,2) + s*S(1,0)*S(2,0)"},
};

/* The 36 products of docs/physics.md §8 in the paper's order (name = definition). */
static const op_row paper36_rows[] = {
    {"s", "s"},
    {"s*S(1,0)", "s*S(1,0)"},
    {"s*S(1,1)", "s*S(1,1)"},
    {"s*S(2,0)", "s*S(2,0)"},
    {"s*S(1,2)", "s*S(1,2)"},
    {"s*S(2,2)", "s*S(2,2)"},
    {"s*S(1,1)*S(0,1)", "s*S(1,1)*S(0,1)"},
    {"s*S(0,1)*S(0,2)", "s*S(0,1)*S(0,2)"},
    {"s*S(0,1)*S(1,2)", "s*S(0,1)*S(1,2)"},
    {"s*S(0,1)*S(2,1)", "s*S(0,1)*S(2,1)"},
    {"s*S(0,1)*S(2,2)", "s*S(0,1)*S(2,2)"},
    {"s*S(1,1)*S(0,2)", "s*S(1,1)*S(0,2)"},
    {"s*S(1,1)*S(2,2)", "s*S(1,1)*S(2,2)"},
    {"s*S(1,2)*S(2,1)", "s*S(1,2)*S(2,1)"},
    {"s*S(2,0)*S(1,2)", "s*S(2,0)*S(1,2)"},
    {"s*S(0,2)*S(2,2)", "s*S(0,2)*S(2,2)"},
    {"s*S(1,0)*S(0,1)*S(1,1)", "s*S(1,0)*S(0,1)*S(1,1)"},
    {"s*S(0,1)*S(1,1)*S(1,2)", "s*S(0,1)*S(1,1)*S(1,2)"},
    {"s*S(0,1)*S(0,2)*S(1,2)", "s*S(0,1)*S(0,2)*S(1,2)"},
    {"s*S(1,0)*S(0,2)*S(1,2)", "s*S(1,0)*S(0,2)*S(1,2)"},
    {"s*S(0,1)*S(1,2)*S(2,2)", "s*S(0,1)*S(1,2)*S(2,2)"},
    {"s*S(1,0)*S(1,2)*S(2,2)", "s*S(1,0)*S(1,2)*S(2,2)"},
    {"s*S(0,1)*S(0,2)*S(1,1)", "s*S(0,1)*S(0,2)*S(1,1)"},
    {"s*S(1,0)*S(0,1)*S(1,2)", "s*S(1,0)*S(0,1)*S(1,2)"},
    {"s*S(0,1)*S(1,1)*S(2,2)", "s*S(0,1)*S(1,1)*S(2,2)"},
    {"s*S(0,1)*S(2,1)*S(1,2)", "s*S(0,1)*S(2,1)*S(1,2)"},
    {"s*S(1,1)*S(1,2)*S(2,1)", "s*S(1,1)*S(1,2)*S(2,1)"},
    {"s*S(1,0)*S(0,1)*S(2,2)", "s*S(1,0)*S(0,1)*S(2,2)"},
    {"s*S(0,1)*S(0,2)*S(2,2)", "s*S(0,1)*S(0,2)*S(2,2)"},
    {"s*S(0,1)*S(0,2)*S(2,1)", "s*S(0,1)*S(0,2)*S(2,1)"},
    {"S(1,0)*S(0,1)*S(2,1)*S(1,2)", "S(1,0)*S(0,1)*S(2,1)*S(1,2)"},
    {"s*S(0,2)*S(1,1)*S(2,1)", "s*S(0,2)*S(1,1)*S(2,1)"},
    {"s*S(1,0)*S(0,1)*S(1,1) (dup 16)", "s*S(1,0)*S(0,1)*S(1,1)"}, /* as in the paper */
    {"s*S(1,0)*S(0,2)*S(2,1)", "s*S(1,0)*S(0,2)*S(2,1)"},
    {"s*S(0,2)*S(1,1)*S(2,2)", "s*S(0,2)*S(1,1)*S(2,2)"},
    {"s*S(2,0)*S(0,2)*S(2,2)", "s*S(2,0)*S(0,2)*S(2,2)"},
};

typedef struct {
  const char *name;
  const op_row *rows;
  int n;
} set_table;

static const set_table set_tables[] = {
    {"swendsen", swendsen_rows, (int)(sizeof swendsen_rows / sizeof swendsen_rows[0])},
    {"paper36", paper36_rows, (int)(sizeof paper36_rows / sizeof paper36_rows[0])},
};
enum { N_SETS = (int)(sizeof set_tables / sizeof set_tables[0]) };

static const set_table *find_set(const char *name) {
  for (int k = 0; k < N_SETS; k++)
    if (strcmp(set_tables[k].name, name) == 0) return &set_tables[k];
  return NULL;
}

bool invrg_operator_set_known(const char *name) { return find_set(name) != NULL; }

const char *invrg_operator_set_list(void) { return "swendsen, paper36"; }

/* ------------------------------------------------------------------ parser */

static const char *skip_blanks(const char *p) {
  while (isspace((unsigned char)*p)) p++;
  return p;
}

/* One factor at *p: "s" or "S(a,b)" with digits 0..2; advances *p. */
static bool parse_spin(const char **p, invrg_op_offset *out) {
  const char *q = skip_blanks(*p);
  if (q[0] == 's') {
    out->dy = out->dx = 0;
    *p = q + 1;
    return true;
  }
  int a, b, used = 0;
  if (q[0] != 'S' || sscanf(q, "S(%1d,%1d)%n", &a, &b, &used) != 2 || used == 0) return false;
  if (a < 0 || a > INVRG_MCRG_HALO || b < 0 || b > INVRG_MCRG_HALO) return false;
  out->dy = a;
  out->dx = b;
  *p = q + used;
  return true;
}

invrg_err invrg_operator_parse(const char *name, const char *definition, invrg_operator *op) {
  invrg_err err = INVRG_SUCCESS;
  memset(op, 0, sizeof *op);
  INVRG_CHECK(strlen(name) < sizeof op->name && strlen(definition) < sizeof op->definition,
              INVRG_ERR_RUNTIME, "operator '%s': name or definition too long", name);
  snprintf(op->name, sizeof op->name, "%s", name);
  snprintf(op->definition, sizeof op->definition, "%s", definition);
  const char *p = definition;
  for (;;) {
    INVRG_CHECK(op->n_terms < INVRG_OP_MAX_TERMS, INVRG_ERR_RUNTIME,
                "operator '%s': more than %d terms", name, INVRG_OP_MAX_TERMS);
    const int t = op->n_terms++;
    for (;;) {
      INVRG_CHECK(op->n_spins[t] < INVRG_OP_MAX_SPINS, INVRG_ERR_RUNTIME,
                  "operator '%s': more than %d spins in a term", name, INVRG_OP_MAX_SPINS);
      invrg_op_offset *s = &op->spin[t][op->n_spins[t]];
      INVRG_CHECK(parse_spin(&p, s), INVRG_ERR_RUNTIME,
                  "operator '%s': expected s or S(a,b) with 0 <= a, b <= 2 at '%s'", name, p);
      for (int q = 0; q < op->n_spins[t]; q++)
        INVRG_CHECK(op->spin[t][q].dy != s->dy || op->spin[t][q].dx != s->dx, INVRG_ERR_RUNTIME,
                    "operator '%s': spin S(%d,%d) twice in one term", name, s->dy, s->dx);
      op->n_spins[t]++;
      p = skip_blanks(p);
      if (*p != '*') break;
      p++;
    }
    bool odd = op->n_spins[t] % 2 == 1;
    INVRG_CHECK(t == 0 || odd == op->odd, INVRG_ERR_RUNTIME,
                "operator '%s': terms of different parity", name);
    op->odd = odd;
    if (*p == '\0') break;
    INVRG_CHECK(*p == '+', INVRG_ERR_RUNTIME, "operator '%s': expected '+' or '*' at '%s'", name,
                p);
    p++;
  }
cleanup:
  return err;
}

invrg_err invrg_operator_set_create(const char *name, invrg_operator_set **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_operator_set *set = NULL;
  const set_table *table = find_set(name);
  *out = NULL;
  INVRG_CHECK(table != NULL, INVRG_ERR_INPUT, "unknown operator set '%s' (known: %s)", name,
              invrg_operator_set_list());
  set = calloc(1, sizeof *set);
  INVRG_CHECK_ALLOC(set);
  snprintf(set->name, sizeof set->name, "%s", table->name);
  set->n = table->n;
  set->op = calloc((size_t)set->n, sizeof *set->op);
  INVRG_CHECK_ALLOC(set->op);
  for (int k = 0; k < set->n; k++)
    INVRG_CALL(invrg_operator_parse(table->rows[k].name, table->rows[k].definition, &set->op[k]));
  *out = set;
  set = NULL;
cleanup:
  invrg_operator_set_destroy(&set);
  return err;
}

void invrg_operator_set_destroy(invrg_operator_set **set) {
  if (*set == NULL) return;
  free((*set)->op);
  free(*set);
  *set = NULL;
}

/* ------------------------------------------------------------------ lattice sums */

/*
 * Bit-parallel sums. A spin is −1 exactly when its sign bit is set, and a
 * product of spins is −1 exactly when an odd number of them are, so with rows
 * packed into words of sign bits (1 = −1) a term's value on 64 sites is the
 * XOR of its spins' words, and its row sum is n − 2·popcount. Each row is
 * packed once per horizontal shift dx = 0, 1, 2 (word bit i of shift dx holds
 * site i − dx); a term then costs a few XORs and one popcount per 64 sites.
 * The sums run row by row over a ring of the h + 1 packed rows j − h … j that
 * the offsets (dy ≤ h) reach: memory of a few rows, not of the lattice (big
 * dreams measure 32768² configurations), and integer sums in any order.
 */
enum { SHIFTS = INVRG_MCRG_HALO + 1 };

static inline int popcount64(uint64_t x) {
  x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
  x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
  x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
  return (int)((x * UINT64_C(0x0101010101010101)) >> 56);
}

/*
 * Sign bits of the n spins at p[0..n) into ⌈n/64⌉ words; bits past n are 0.
 * Eight spins at a time: their sign bits moved to bit 0 of each byte, then
 * gathered into one byte by the multiply (the classic bit-gather; any fixed
 * site-to-bit map works, since only equal positions are combined).
 */
static void pack_signs(const int8_t *p, int n, uint64_t *out) {
  const int words = (n + 63) / 64;
  for (int w = 0; w < words; w++) {
    const int base = 64 * w, len = n - base < 64 ? n - base : 64;
    uint64_t word = 0;
    int i = 0;
    for (; i + 8 <= len; i += 8) {
      uint64_t x;
      memcpy(&x, p + base + i, sizeof x);
      x = (x >> 7) & UINT64_C(0x0101010101010101);
      word |= ((x * UINT64_C(0x0102040810204080)) >> 56) << i;
    }
    for (; i < len; i++) word |= (uint64_t)((uint8_t)p[base + i] >> 7) << i;
    out[w] = word;
  }
}

invrg_err invrg_operators_evaluate(const invrg_operator *ops, int n, const invrg_lattice *lat,
                                   int64_t *sums) {
  invrg_err err = INVRG_SUCCESS;
  int64_t *local = NULL, *negative = NULL;
  uint64_t *ring = NULL;
  enum { RING = INVRG_MCRG_HALO + 1 }; /* rows j − h … j */
  const int h = INVRG_MCRG_HALO, words = (lat->nx + 63) / 64;
  INVRG_CHECK(lat->halo >= h, INVRG_ERR_RUNTIME,
              "operator sums need a halo of width %d, the lattice has %d", h, lat->halo);
  int n_terms = 0;
  for (int a = 0; a < n; a++) n_terms += ops[a].n_terms;
  local = calloc((size_t)(n > 0 ? n : 1), sizeof *local);
  negative = calloc((size_t)(n_terms > 0 ? n_terms : 1), sizeof *negative);
  ring = malloc((size_t)RING * SHIFTS * (size_t)words * sizeof *ring);
  INVRG_CHECK_ALLOC(local);
  INVRG_CHECK_ALLOC(negative);
  INVRG_CHECK_ALLOC(ring);
  /* ring row of lattice row j, shift dx: bit i is site (i − dx, j) */
#define PACKED(j, dx) (ring + ((size_t)(((j) + RING) % RING) * SHIFTS + (size_t)(dx)) * (size_t)words)
  for (int j = -h; j < lat->ny; j++) {
    for (int dx = 0; dx < SHIFTS; dx++)
      pack_signs(lat->data + invrg_lattice_index(lat, -dx, j), lat->nx, PACKED(j, dx));
    if (j < 0) continue; /* rows above the block: only packed, for the offsets of rows below */
    const uint64_t *row_up[RING]; /* row_up[dy]: the packed shifts of row j − dy */
    for (int dy = 0; dy < RING; dy++) row_up[dy] = PACKED(j - dy, 0);
    int term = 0;
    for (int a = 0; a < n; a++)
      for (int t = 0; t < ops[a].n_terms; t++, term++) {
        /* S(dy, dx) at (y, x) is the site (y − dy, x − dx): row j − dy of shift dx. */
        const int k = ops[a].n_spins[t];
        const uint64_t *r[INVRG_OP_MAX_SPINS];
        for (int q = 0; q < k; q++)
          r[q] = row_up[ops[a].spin[t][q].dy] + (size_t)ops[a].spin[t][q].dx * (size_t)words;
        int64_t count = 0;
        for (int w = 0; w < words; w++) {
          uint64_t x = r[0][w];
          for (int q = 1; q < k; q++) x ^= r[q][w];
          count += popcount64(x);
        }
        negative[term] += count;
      }
  }
#undef PACKED
  int term = 0;
  for (int a = 0; a < n; a++)
    for (int t = 0; t < ops[a].n_terms; t++, term++)
      local[a] += (int64_t)lat->nx * lat->ny - 2 * negative[term];
  if (lat->mode == INVRG_LATTICE_DISTRIBUTED)
    INVRG_MPI_CALL(MPI_Allreduce(local, sums, n, MPI_INT64_T, MPI_SUM, lat->comm));
  else
    memcpy(sums, local, (size_t)n * sizeof *sums);
cleanup:
  free(local);
  free(negative);
  free(ring);
  return err;
}

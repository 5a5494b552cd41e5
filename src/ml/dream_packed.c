/* Dreaming into packed lattices (dream_packed.h): the fine level is made strip by strip. A
 * strip is S coarse rows unpacked to an int8 block with a halo of two (the coarse rows and
 * columns around it, from the coarse lattice's halo or its periodic wrap), dreamed into a
 * 2S-row int8 block by dream.h's step on blocks, and packed into the fine rows. The int8
 * step on a block gives the spins it gives on any layout, hence the same dreams as int8
 * lattices, bit for bit. */
#include "invrg/dream_packed.h"

#include <stdlib.h>
#include <string.h>

#include "invrg/dream.h"
#include "invrg/lattice.h"
#include "ml/dream_internal.h"
#include "ml/dream_planes.h"

enum {
  STRIP_HALO = 2,           /* what the int8 rows read beyond a block (sym3's 16-byte loads) */
  STRIP_BYTES = 131072 /* int8 fine spins of one strip, about */
};

struct invrg_dream_packed_work {
  invrg_dream_work *step; /* dream.h's work: window table, row buffers */
  int64_t max_lc;
  int strip_rows;         /* S: coarse rows per strip at max_lc (more at smaller sizes) */
  int64_t strip_limit;    /* tests: at most this many rows per strip */
  int8_t *coarse;         /* (S + 4) × (max_lc + 4) */
  int8_t *fine;           /* (2S + 2) × (2 max_lc + 2) */
  invrg_dream_planes_work *planes; /* random_bits = 'planes': the bit-plane rows */
  invrg_planes_kernel kernel;      /* and what decides their spins */
};

/* random_bits = 'planes': sym3's closed form or the model's window table (dream.h's work). */
static invrg_err planes_create(const invrg_model *m, invrg_dream_packed_work *w) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(invrg_dream_packed_planes(m), INVRG_ERR_INPUT,
              "random bit planes dream with sym3 or a window-table model (sym5, sym7, conv "
              "with k <= 3), not %s with k = %d",
              invrg_model_kind_name(m->kind), m->kernel);
  if (m->kind == INVRG_MODEL_KIND_SYM3) {
    uint32_t T12[12];
    invrg_dream_sym3_thresholds12(m, T12);
    INVRG_CALL(invrg_planes_kernel_sym3(T12, &w->kernel));
  } else {
    INVRG_CALL(invrg_planes_kernel_table(&w->step->table, w->max_lc, &w->kernel));
  }
  INVRG_CALL(invrg_dream_planes_work_create(w->max_lc, w->kernel.margin, &w->planes));
cleanup:
  return err;
}

bool invrg_dream_packed_planes(const invrg_model *m) {
  return m->kind == INVRG_MODEL_KIND_SYM3 || invrg_dream_has_table(m);
}

invrg_err invrg_dream_packed_work_create(const invrg_model *m, int64_t max_lc, bool planes,
                                         invrg_dream_packed_work **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_dream_packed_work *w = calloc(1, sizeof *w);
  INVRG_CHECK_ALLOC(w);
  INVRG_CHECK(max_lc >= 1 && max_lc <= INT32_MAX / 4, INVRG_ERR_INPUT,
              "packed dream: coarse size %lld out of range", (long long)max_lc);
  w->max_lc = max_lc;
  w->strip_limit = INT64_MAX;
  w->strip_rows = (int)(STRIP_BYTES / (4 * max_lc) > 0 ? STRIP_BYTES / (4 * max_lc) : 1);
  INVRG_CALL(invrg_dream_work_create(m, (int)max_lc, &w->step));
  const size_t S = (size_t)w->strip_rows, lc = (size_t)max_lc;
  w->coarse = malloc((S + 2 * STRIP_HALO) * (lc + 2 * STRIP_HALO));
  w->fine = malloc((2 * S + 2) * (2 * lc + 2));
  INVRG_CHECK_ALLOC(w->coarse);
  INVRG_CHECK_ALLOC(w->fine);
  if (planes) INVRG_CALL(planes_create(m, w));
cleanup:
  if (err != INVRG_SUCCESS) invrg_dream_packed_work_destroy(&w);
  *out = w;
  return err;
}

void invrg_dream_packed_work_destroy(invrg_dream_packed_work **wp) {
  if (wp == NULL || *wp == NULL) return;
  invrg_dream_work_destroy(&(*wp)->step);
  free((*wp)->coarse);
  free((*wp)->fine);
  invrg_dream_planes_work_destroy(&(*wp)->planes);
  invrg_planes_kernel_destroy(&(*wp)->kernel);
  free(*wp);
  *wp = NULL;
}

const invrg_planes_kernel *invrg_dream_packed_kernel(const invrg_dream_packed_work *w) {
  return &w->kernel;
}

void invrg_dream_packed_work_limit_strip(invrg_dream_packed_work *w, int rows) {
  w->strip_limit = rows < 1 ? 1 : rows;
}

bool invrg_dream_packed_supports(const invrg_model *m, int ranks) {
  return invrg_dream_distributes(m) && (ranks == 1 || invrg_dream_halo(m) <= 1);
}

/* An int8 block of a lattice with global size n × n that no rank shares: the view the int8 step
 * reads (coarse) or writes (fine). No communicator: nothing collective is done on it. */
static invrg_lattice block_view(int64_t n, int64_t y0, int rows, int halo, int8_t *data) {
  invrg_lattice b;
  memset(&b, 0, sizeof b);
  b.mode = INVRG_LATTICE_DISTRIBUTED;
  b.comm = MPI_COMM_NULL;
  b.lx = b.ly = n;
  b.halo = halo;
  b.nx = (int)n, b.ny = rows;
  b.x0 = 0, b.y0 = y0;
  b.sx = (int)n + 2 * halo, b.sy = rows + 2 * halo;
  b.data = data;
  b.phase = 2;
  return b;
}

/* Coarse global row Y (any integer) into @p out[0 … lc), with STRIP_HALO periodic images on
 * either side: from a whole lattice by wrap, else from the local rows and halo rows (−1 … ny).
 * Rows the model cannot reach (split lattices: two beyond the strip) are left as they are. */
static void coarse_row(const invrg_packed *c, bool whole, int64_t Y, int8_t *out) {
  const int64_t lc = c->lx;
  const int64_t gy = Y >= 0 && Y < lc ? Y : ((Y % lc) + lc) % lc; /* a division at the edges only */
  const int64_t j = whole ? gy : Y - c->y0;
  if (!whole && (j < -1 || j > c->ny)) return;
  invrg_packed_unpack_row(invrg_packed_row(c, 0, (int)j), invrg_packed_row(c, 1, (int)j), lc, gy,
                          out);
  for (int h = 1; h <= STRIP_HALO; h++) {
    out[-h] = out[lc >= h ? lc - h : ((lc - h) % lc + lc) % lc];
    out[lc - 1 + h] = out[lc >= h ? h - 1 : (h - 1) % lc];
  }
}

/* The coarse lattice a strip is read from: a packed one, or the 1 × 1 seed spin. */
typedef struct {
  const invrg_packed *packed; /* NULL: the seed */
  bool whole;                 /* packed whole on this rank */
  int8_t spin;                /* the seed */
  int64_t lc;
} coarse_source;

/* The strip of coarse rows [Y0, Y0 + S): coarse block, int8 step, fine rows packed. */
static invrg_err dream_strip(const invrg_model *m, const coarse_source *c, invrg_packed *fine,
                             int64_t Y0, int S, uint64_t seed, uint64_t sample, int level,
                             invrg_dream_packed_work *w) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t lc = c->lc, L = fine->lx;
  invrg_lattice cb = block_view(lc, Y0, S, STRIP_HALO, w->coarse);
  invrg_lattice fb = block_view(L, 2 * Y0, 2 * S, 1, w->fine);
  for (int j = -STRIP_HALO; j < S + STRIP_HALO; j++) {
    int8_t *row = cb.data + invrg_lattice_index(&cb, 0, j);
    if (c->packed != NULL)
      coarse_row(c->packed, c->whole, Y0 + j, row);
    else
      memset(row - STRIP_HALO, c->spin, 1 + 2 * STRIP_HALO);
  }
  INVRG_CALL(invrg_dream_step_lattice(m, &cb, &fb, seed, sample, level, w->step));
  for (int j = 0; j < 2 * S; j++) {
    const int64_t gy = 2 * Y0 + j, local = gy - fine->y0;
    if (local < 0 || local >= fine->ny) continue; /* the 2 x 2 level split over two ranks */
    invrg_packed_pack_row(fb.data + invrg_lattice_index(&fb, 0, j), L, gy,
                          invrg_packed_row(fine, 0, (int)local),
                          invrg_packed_row(fine, 1, (int)local));
  }
cleanup:
  return err;
}

/* random_bits = 'planes': every row of this rank at once. */
static invrg_err planes_step(const coarse_source *c, invrg_packed *fine, uint64_t seed,
                             uint64_t sample, int level, invrg_dream_packed_work *w) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(fine->y0 % 2 == 0 && fine->ny % 2 == 0, INVRG_ERR_RUNTIME,
              "packed dream step: a rank's fine rows must be whole pairs (rows %lld + %d)",
              (long long)fine->y0, fine->ny);
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, (uint64_t)level);
  const invrg_dream_coarse dc = {c->packed, c->whole, c->spin, c->lc};
  invrg_dream_planes_step(w->planes, &s, &w->kernel, &dc, fine);
cleanup:
  return err;
}

invrg_err invrg_dream_packed_first_step(const invrg_model *m, int8_t spin, invrg_packed *fine,
                                        uint64_t seed, uint64_t sample,
                                        invrg_dream_packed_work *w) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(fine->lx == 2 && fine->ly == 2, INVRG_ERR_RUNTIME,
              "the first packed dream step makes 2 x 2, not %lld x %lld", (long long)fine->lx,
              (long long)fine->ly);
  const coarse_source c = {NULL, true, spin, 1};
  if (w->planes != NULL)
    INVRG_CALL(planes_step(&c, fine, seed, sample, 1, w));
  else
    INVRG_CALL(dream_strip(m, &c, fine, 0, 1, seed, sample, 1, w));
cleanup:
  return err;
}

/* Coarse rows per strip at size lc: more at small sizes (fewer calls), as many as the buffers
 * made for strip_rows rows of max_lc hold. */
static int64_t strip_rows(const invrg_dream_packed_work *w, int64_t lc) {
  const int64_t S = w->strip_rows, H = STRIP_HALO, M = w->max_lc;
  const int64_t by_coarse = (S + 2 * H) * (M + 2 * H) / (lc + 2 * H) - 2 * H;
  const int64_t by_fine = ((2 * S + 2) * (2 * M + 2) / (2 * lc + 2) - 2) / 2;
  const int64_t rows = by_coarse < by_fine ? by_coarse : by_fine;
  return rows < w->strip_limit ? rows : w->strip_limit;
}

invrg_err invrg_dream_packed_step(const invrg_model *m, const invrg_packed *coarse,
                                  invrg_packed *fine, uint64_t seed, uint64_t sample, int level,
                                  invrg_dream_packed_work *w) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t lc = coarse->lx;
  const bool whole = coarse->size == 1;
  INVRG_CHECK(fine->lx == 2 * lc && fine->ly == 2 * coarse->ly && coarse->ly == lc &&
                  lc <= w->max_lc,
              INVRG_ERR_RUNTIME,
              "packed dream step: %lld x %lld from %lld x %lld with work for coarse sizes up to "
              "%lld",
              (long long)fine->lx, (long long)fine->ly, (long long)lc, (long long)coarse->ly,
              (long long)w->max_lc);
  INVRG_CHECK(whole || (fine->y0 == 2 * coarse->y0 && fine->ny == 2 * coarse->ny),
              INVRG_ERR_RUNTIME,
              "packed dream step: fine rows [%lld, %lld) are not the children of the coarse rows "
              "[%lld, %lld)",
              (long long)fine->y0, (long long)(fine->y0 + fine->ny), (long long)coarse->y0,
              (long long)(coarse->y0 + coarse->ny));
  INVRG_CHECK(invrg_dream_packed_supports(m, whole ? 1 : coarse->size), INVRG_ERR_RUNTIME,
              "a %s model cannot dream on packed lattices split over %d ranks",
              invrg_model_kind_name(m->kind), coarse->size);
  INVRG_CHECK(fine->y0 % 2 == 0 && fine->ny % 2 == 0, INVRG_ERR_RUNTIME,
              "packed dream step: a rank's fine rows must be whole pairs (rows %lld + %d)",
              (long long)fine->y0, fine->ny);
  const coarse_source source = {coarse, whole, 0, lc};
  if (w->planes != NULL) {
    INVRG_CALL(planes_step(&source, fine, seed, sample, level, w));
    goto cleanup;
  }
  const int64_t per_strip = strip_rows(w, lc);
  for (int64_t Y = fine->y0 / 2, end = (fine->y0 + fine->ny) / 2; Y < end; Y += per_strip) {
    const int S = (int)(end - Y < per_strip ? end - Y : per_strip);
    INVRG_CALL(dream_strip(m, &source, fine, Y, S, seed, sample, level, w));
  }
cleanup:
  return err;
}

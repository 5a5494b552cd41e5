/* The 2D Fourier transform of configurations for the correlation module:
 * rows, transpose, columns, with the same FFTW 1D plans in every layout, so
 * ŝ(k) is bit-identical on a replicated lattice and on any grid of a
 * distributed one (correlation_internal.h). In double or single precision:
 * what depends on the type (plans, rows, one column) is
 * correlation_fft_precision.h, included here once per type; the buffers are
 * untyped here and sized by the type's complex number.
 *
 * Distributed lattices use FFTW-MPI's slab layout (blocks of ⌈n/P⌉ rows before
 * the transpose, ⌈(L/2 + 1)/P⌉ columns after it) but not its transpose: on
 * 4096² over 2 ranks FFTW-MPI's transpose plans (ESTIMATE or MEASURE, plain or
 * TRANSPOSED_OUT) took 0.35–0.96 s, one MPI_Alltoall of the same bytes 15 ms.
 * So the row pass writes its output column-major per destination and one
 * MPI_Alltoallv moves it; each column is assembled from the pieces of every
 * source directly into the column plan's input buffer. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "physics/correlation_internal.h"

/* Rows transformed before they are written, transposed, into the column-major buffer. */
enum { ROW_BATCH = 64 };

/*
 * Every plan is FFTW_ESTIMATE: the planner's choice is then a function of the
 * problem alone, the same on every rank and in every run, which bit-identical
 * results need (FFTW_MEASURE would time candidates and could choose differently).
 * All FFTW planning in invrg uses FFTW_ESTIMATE, so no wisdom from a measured
 * plan can change these choices.
 */
static const unsigned PLAN_FLAGS = FFTW_ESTIMATE;

struct corr_fft {
  int64_t L, H; /* H = L/2 + 1 columns n_x of the r2c half plane */
  invrg_corr_precision precision;
  size_t complex_size; /* bytes of one complex number of that precision */
  bool distributed;
  int nx, ny; /* the block it was made for */
  int64_t x0, y0;
  int comm_size;
  int64_t row_block, col_block; /* slab sizes: ⌈L/P⌉ rows, ⌈H/P⌉ columns */
  int64_t n_rows, row0;         /* rows y transformed on this rank */
  int64_t n_cols, col0;         /* columns n_x transformed on this rank */
  /* 1D plans and the buffers they were made on, of the precision's real and complex type */
  void *rin;   /* [L]: the real row the row plan reads */
  void *batch; /* [ROW_BATCH][batch_stride]: r2c outputs */
  int64_t batch_stride;
  void *scratch;          /* [L]: input of the column plan */
  void *spectrum;         /* [L]: output of the column plan, ŝ(n_x, ·) */
  fftw_complex *widened;  /* single precision: [L], the spectrum as doubles for the caller */
  union {
    fftw_plan d;
    fftwf_plan f;
  } row_plan, col_plan;
  /* Column-major rows: (n_x, y) at packed[base[n_x] + y − row0]. Replicated: the
   * columns themselves (stride padded to keep every column aligned); distributed:
   * the send buffer, grouped by destination. */
  void *packed;
  int64_t *base;      /* [H] */
  int64_t col_stride; /* replicated: complex numbers from one column to the next */
  /* Distributed: the transpose (counts in complex numbers) */
  void *recv; /* from source s: my columns × its rows, column-major */
  int *t_send_count, *t_send_displ, *t_recv_count, *t_recv_displ; /* [P] */
  /* Distributed: the group's blocks → row slabs (counts in bytes) */
  bool direct;  /* every block is its rank's slab already */
  int8_t *slab; /* [n_rows][L] */
  int8_t *send, *recv_spins;
  int *send_count, *send_displ, *recv_count, *recv_displ; /* [P] */
  int64_t *dst_first; /* per destination: first global row of my block in its slab */
  int64_t *src_x0, *src_first,
      *src_n; /* per source: its x0, first global row and rows in my slab */
  int8_t *unpacked; /* [L]: a packed source's row as int8 spins */
};

/* n rounded up to a multiple of 4 complex numbers: steps of 64 bytes (double) or 32 (single),
 * multiples of FFTW's SIMD alignment, keep every row's alignment. */
static int64_t padded(int64_t n) { return (n + 3) / 4 * 4; }

/* n complex numbers of the transform's precision, aligned for SIMD (fftw_malloc). */
static void *alloc_complex(const corr_fft *f, int64_t n) {
  return fftw_malloc((size_t)(n > 0 ? n : 1) * f->complex_size);
}

/* The k-th complex number of @p buffer. */
static void *complex_at(const corr_fft *f, void *buffer, int64_t k) {
  return (char *)buffer + (size_t)k * f->complex_size;
}

corr_source corr_source_of_lattice(const invrg_lattice *lat) {
  return (corr_source){.lat = lat, .L = lat->lx,
                       .distributed = lat->mode == INVRG_LATTICE_DISTRIBUTED, .nx = lat->nx,
                       .ny = lat->ny, .x0 = lat->x0, .y0 = lat->y0, .comm = lat->comm};
}

corr_source corr_source_of_packed(const invrg_packed *p) {
  return (corr_source){.packed = p, .L = p->lx, .distributed = p->size > 1, .nx = (int)p->lx,
                       .ny = p->ny, .x0 = 0, .y0 = p->y0, .comm = p->comm};
}

/* Local row y of the slab as int8 spins: the lattice's own row when the block is the slab, a
 * packed row unpacked (its blocks are always whole rows of the slab). */
static const int8_t *row_spins(const corr_fft *f, const corr_source *src, int64_t y) {
  if (src->packed != NULL) {
    const invrg_packed *p = src->packed;
    invrg_packed_unpack_row(invrg_packed_row(p, 0, (int)y), invrg_packed_row(p, 1, (int)y), p->lx,
                            p->y0 + y, f->unpacked);
    return f->unpacked;
  }
  const invrg_lattice *lat = src->lat;
  if (!f->distributed || f->direct) return lat->data + invrg_lattice_index(lat, 0, (int)y);
  return f->slab + (size_t)y * (size_t)f->L;
}

#define REAL double
#define FFTW(name) fftw_##name
#define OURS(name) name##_double
#define PLAN d
#define SINGLE 0
#include "physics/correlation_fft_precision.h"
#undef REAL
#undef FFTW
#undef OURS
#undef PLAN
#undef SINGLE

#define REAL float
#define FFTW(name) fftwf_##name
#define OURS(name) name##_float
#define PLAN f
#define SINGLE 1
#include "physics/correlation_fft_precision.h"
#undef REAL
#undef FFTW
#undef OURS
#undef PLAN
#undef SINGLE

/* Slab of rank r when n items are cut in blocks of b: [first, first + count). */
static void slab_of(int64_t n, int64_t b, int r, int64_t *first, int64_t *count) {
  int64_t lo = (int64_t)r * b, hi = lo + b;
  if (lo > n) lo = n;
  if (hi > n) hi = n;
  *first = lo;
  *count = hi - lo;
}

void corr_fft_destroy(corr_fft **fp) {
  corr_fft *f = *fp;
  if (f == NULL) return;
  if (f->precision == INVRG_CORR_SINGLE)
    destroy_plans_float(f);
  else
    destroy_plans_double(f);
  fftw_free(f->rin);
  fftw_free(f->batch);
  fftw_free(f->scratch);
  fftw_free(f->spectrum);
  fftw_free(f->widened);
  fftw_free(f->packed);
  fftw_free(f->recv);
  free(f->base);
  free(f->t_send_count);
  free(f->t_send_displ);
  free(f->t_recv_count);
  free(f->t_recv_displ);
  free(f->slab);
  free(f->send);
  free(f->recv_spins);
  free(f->send_count);
  free(f->send_displ);
  free(f->recv_count);
  free(f->recv_displ);
  free(f->dst_first);
  free(f->src_x0);
  free(f->src_first);
  free(f->src_n);
  free(f->unpacked);
  free(f);
  *fp = NULL;
}

/* The 1D plans, made on the buffers whose alignment every execution reproduces. */
static invrg_err make_1d_plans(corr_fft *f) {
  invrg_err err = INVRG_SUCCESS;
  f->rin = alloc_complex(f, padded(f->L)); /* L reals: room for twice that */
  f->batch_stride = padded(f->H);
  f->batch = alloc_complex(f, ROW_BATCH * f->batch_stride);
  f->scratch = alloc_complex(f, padded(f->L));
  f->spectrum = alloc_complex(f, padded(f->L));
  INVRG_CHECK_ALLOC(f->rin);
  INVRG_CHECK_ALLOC(f->batch);
  INVRG_CHECK_ALLOC(f->scratch);
  INVRG_CHECK_ALLOC(f->spectrum);
  if (f->precision == INVRG_CORR_SINGLE) {
    f->widened = fftw_alloc_complex((size_t)padded(f->L));
    INVRG_CHECK_ALLOC(f->widened);
  }
  const bool planned = f->precision == INVRG_CORR_SINGLE ? make_plans_float(f)
                                                          : make_plans_double(f);
  INVRG_CHECK(planned, INVRG_ERR_RUNTIME, "FFTW could not plan %s transforms of length %lld",
              invrg_corr_precision_names[f->precision], (long long)f->L);
cleanup:
  return err;
}

/* Distributed: where each rank's block meets each rank's row slab (int8 Alltoallv). */
static invrg_err plan_redistribution(corr_fft *f, const invrg_lattice *lat, bool *counts_fit) {
  invrg_err err = INVRG_SUCCESS;
  const int P = f->comm_size;
  f->send_count = calloc((size_t)P, sizeof *f->send_count);
  f->send_displ = calloc((size_t)P, sizeof *f->send_displ);
  f->recv_count = calloc((size_t)P, sizeof *f->recv_count);
  f->recv_displ = calloc((size_t)P, sizeof *f->recv_displ);
  f->dst_first = calloc((size_t)P, sizeof *f->dst_first);
  f->src_x0 = calloc((size_t)P, sizeof *f->src_x0);
  f->src_first = calloc((size_t)P, sizeof *f->src_first);
  f->src_n = calloc((size_t)P, sizeof *f->src_n);
  INVRG_CHECK_ALLOC(f->send_count);
  INVRG_CHECK_ALLOC(f->send_displ);
  INVRG_CHECK_ALLOC(f->recv_count);
  INVRG_CHECK_ALLOC(f->recv_displ);
  INVRG_CHECK_ALLOC(f->dst_first);
  INVRG_CHECK_ALLOC(f->src_x0);
  INVRG_CHECK_ALLOC(f->src_first);
  INVRG_CHECK_ALLOC(f->src_n);
  int64_t sent = 0, received = 0;
  for (int d = 0; d < P; d++) {
    int coords[2]; /* dimension 0 is y, 1 is x (groups.h) */
    INVRG_MPI_CALL(MPI_Cart_coords(lat->comm, d, 2, coords));
    const int64_t dx0 = (int64_t)coords[1] * f->nx, dy0 = (int64_t)coords[0] * f->ny;
    int64_t s0, sn;
    slab_of(f->L, f->row_block, d, &s0, &sn);
    /* my block's rows in d's slab */
    int64_t lo = f->y0 > s0 ? f->y0 : s0, hi = f->y0 + f->ny < s0 + sn ? f->y0 + f->ny : s0 + sn;
    int64_t bytes = hi > lo ? (hi - lo) * f->nx : 0;
    *counts_fit = *counts_fit && sent + bytes <= INT_MAX;
    f->send_count[d] = (int)bytes;
    f->send_displ[d] = (int)sent;
    f->dst_first[d] = lo;
    sent += bytes;
    /* d's block rows in my slab */
    lo = dy0 > f->row0 ? dy0 : f->row0;
    hi = dy0 + f->ny < f->row0 + f->n_rows ? dy0 + f->ny : f->row0 + f->n_rows;
    bytes = hi > lo ? (hi - lo) * f->nx : 0;
    *counts_fit = *counts_fit && received + bytes <= INT_MAX;
    f->recv_count[d] = (int)bytes;
    f->recv_displ[d] = (int)received;
    received += bytes;
    f->src_x0[d] = dx0;
    f->src_first[d] = lo;
    f->src_n[d] = hi > lo ? hi - lo : 0;
  }
  f->slab = malloc((size_t)(f->n_rows > 0 ? f->n_rows : 1) * (size_t)f->L);
  f->send = malloc((size_t)(sent > 0 ? sent : 1));
  f->recv_spins = malloc((size_t)(received > 0 ? received : 1));
  INVRG_CHECK_ALLOC(f->slab);
  INVRG_CHECK_ALLOC(f->send);
  INVRG_CHECK_ALLOC(f->recv_spins);
cleanup:
  return err;
}

/* Distributed: the transpose of row slabs into column slabs (complex Alltoallv). */
static invrg_err plan_transpose(corr_fft *f, bool *counts_fit) {
  invrg_err err = INVRG_SUCCESS;
  const int P = f->comm_size;
  f->t_send_count = calloc((size_t)P, sizeof *f->t_send_count);
  f->t_send_displ = calloc((size_t)P, sizeof *f->t_send_displ);
  f->t_recv_count = calloc((size_t)P, sizeof *f->t_recv_count);
  f->t_recv_displ = calloc((size_t)P, sizeof *f->t_recv_displ);
  f->base = malloc((size_t)f->H * sizeof *f->base);
  INVRG_CHECK_ALLOC(f->t_send_count);
  INVRG_CHECK_ALLOC(f->t_send_displ);
  INVRG_CHECK_ALLOC(f->t_recv_count);
  INVRG_CHECK_ALLOC(f->t_recv_displ);
  INVRG_CHECK_ALLOC(f->base);
  int64_t sent = 0, received = 0;
  for (int d = 0; d < P; d++) {
    int64_t c0, nc, r0, nr;
    slab_of(f->H, f->col_block, d, &c0, &nc);
    slab_of(f->L, f->row_block, d, &r0, &nr);
    for (int64_t k = 0; k < nc; k++) f->base[c0 + k] = sent + k * f->n_rows;
    *counts_fit =
        *counts_fit && sent + nc * f->n_rows <= INT_MAX && received + f->n_cols * nr <= INT_MAX;
    f->t_send_count[d] = (int)(nc * f->n_rows);
    f->t_send_displ[d] = (int)sent;
    sent += nc * f->n_rows;
    f->t_recv_count[d] = (int)(f->n_cols * nr);
    f->t_recv_displ[d] = (int)received;
    received += f->n_cols * nr;
  }
  f->packed = alloc_complex(f, sent);
  f->recv = alloc_complex(f, received);
  INVRG_CHECK_ALLOC(f->packed);
  INVRG_CHECK_ALLOC(f->recv);
cleanup:
  return err;
}

invrg_err corr_fft_create(const corr_source *src, invrg_corr_precision precision,
                          corr_fft **out) {
  invrg_err err = INVRG_SUCCESS;
  corr_fft *f = NULL;
  *out = NULL;
  INVRG_CHECK(src->L >= 2 && src->L <= INT_MAX / 2, INVRG_ERR_INPUT,
              "correlations: side %lld is not in 2 .. %d", (long long)src->L, INT_MAX / 2);
  f = calloc(1, sizeof *f);
  INVRG_CHECK_ALLOC(f);
  f->L = src->L;
  f->H = f->L / 2 + 1;
  f->precision = precision;
  f->complex_size = precision == INVRG_CORR_SINGLE ? sizeof(fftwf_complex) : sizeof(fftw_complex);
  f->distributed = src->distributed;
  f->nx = src->nx, f->ny = src->ny, f->x0 = src->x0, f->y0 = src->y0;
  f->comm_size = 1;
  f->unpacked = malloc((size_t)f->L);
  INVRG_CHECK_ALLOC(f->unpacked);
  INVRG_CALL(make_1d_plans(f));
  if (!f->distributed) {
    f->row_block = f->n_rows = f->L;
    f->col_block = f->n_cols = f->H;
    f->col_stride = padded(f->L);
    f->packed = alloc_complex(f, f->H * f->col_stride);
    f->base = malloc((size_t)f->H * sizeof *f->base);
    INVRG_CHECK_ALLOC(f->packed);
    INVRG_CHECK_ALLOC(f->base);
    for (int64_t k = 0; k < f->H; k++) f->base[k] = k * f->col_stride;
  } else {
    int rank;
    INVRG_MPI_CALL(MPI_Comm_size(src->comm, &f->comm_size));
    INVRG_MPI_CALL(MPI_Comm_rank(src->comm, &rank));
    f->row_block = (f->L + f->comm_size - 1) / f->comm_size;
    f->col_block = (f->H + f->comm_size - 1) / f->comm_size;
    slab_of(f->L, f->row_block, rank, &f->row0, &f->n_rows);
    slab_of(f->H, f->col_block, rank, &f->col0, &f->n_cols);
    bool counts_fit = true;
    /* a packed source's blocks are whole rows, Ly / P each: its slabs (no spin messages) */
    const bool rows_are_slab = f->nx == f->L && f->y0 == f->row0 && f->ny == f->n_rows;
    INVRG_CHECK(src->packed == NULL || rows_are_slab, INVRG_ERR_RUNTIME,
                "correlations: packed rows %lld .. %lld are not the slab %lld .. %lld",
                (long long)f->y0, (long long)(f->y0 + f->ny), (long long)f->row0,
                (long long)(f->row0 + f->n_rows));
    if (src->lat != NULL) INVRG_CALL(plan_redistribution(f, src->lat, &counts_fit));
    INVRG_CALL(plan_transpose(f, &counts_fit));
    /* No spin messages when every block is whole rows and exactly its rank's slab. Decided
     * together, like the size check, so that every rank takes the same path. */
    int local[2] = {rows_are_slab, counts_fit}, all[2];
    INVRG_MPI_CALL(MPI_Allreduce(local, all, 2, MPI_INT, MPI_LAND, src->comm));
    INVRG_CHECK(all[1], INVRG_ERR_INPUT,
                "correlations: a %lld x %lld lattice is too large to transpose over %d ranks "
                "(more than 2^31 numbers per rank)",
                (long long)f->L, (long long)f->L, f->comm_size);
    f->direct = all[0] != 0;
  }
  *out = f;
  f = NULL;
cleanup:
  corr_fft_destroy(&f);
  return err;
}

bool corr_fft_fits(const corr_fft *f, const corr_source *src) {
  if (f == NULL || f->L != src->L || f->distributed != src->distributed) return false;
  if (!f->distributed) return true;
  int size = 0;
  MPI_Comm_size(src->comm, &size);
  /* an int8 source's blocks must be redistributed unless they are the slabs */
  return f->nx == src->nx && f->ny == src->ny && f->x0 == src->x0 && f->y0 == src->y0 &&
         f->comm_size == size && (f->direct || src->lat != NULL);
}

/* Distributed: the group's blocks become whole rows of the slabs (int8 spins). Collective. */
static invrg_err redistribute(corr_fft *f, const invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  const size_t nx = (size_t)f->nx;
  for (int d = 0; d < f->comm_size; d++) {
    const int64_t rows = (int64_t)f->send_count[d] / f->nx;
    for (int64_t k = 0; k < rows; k++)
      memcpy(f->send + f->send_displ[d] + (size_t)k * nx,
             lat->data + invrg_lattice_index(lat, 0, (int)(f->dst_first[d] - f->y0 + k)), nx);
  }
  INVRG_MPI_CALL(MPI_Alltoallv(f->send, f->send_count, f->send_displ, MPI_INT8_T, f->recv_spins,
                               f->recv_count, f->recv_displ, MPI_INT8_T, lat->comm));
  for (int s = 0; s < f->comm_size; s++)
    for (int64_t k = 0; k < f->src_n[s]; k++)
      memcpy(
          f->slab + (size_t)(f->src_first[s] - f->row0 + k) * (size_t)f->L + (size_t)f->src_x0[s],
          f->recv_spins + f->recv_displ[s] + (size_t)k * nx, nx);
cleanup:
  return err;
}

/* c2c of every local column, handed to @p column as doubles. */
static void columns(corr_fft *f, corr_column_fn column, void *ctx) {
  const bool single = f->precision == INVRG_CORR_SINGLE;
  const size_t cs = f->complex_size;
  const int alignment = single ? alignment_of_float(f->scratch) : alignment_of_double(f->scratch);
  for (int64_t c = 0; c < f->n_cols; c++) {
    void *in = f->scratch;
    if (!f->distributed) {
      /* whole column, aligned by the padded stride */
      in = complex_at(f, f->packed, f->base[f->col0 + c]);
      if ((single ? alignment_of_float(in) : alignment_of_double(in)) != alignment) {
        memcpy(f->scratch, in, (size_t)f->L * cs);
        in = f->scratch;
      }
    } else { /* the column's pieces, source by source = in increasing y */
      for (int s = 0; s < f->comm_size; s++) {
        int64_t r0, nr;
        slab_of(f->L, f->row_block, s, &r0, &nr);
        memcpy(complex_at(f, f->scratch, r0),
               complex_at(f, f->recv, f->t_recv_displ[s] + c * nr), (size_t)nr * cs);
      }
    }
    column(ctx, f->col0 + c, single ? column_float(f, in) : column_double(f, in));
  }
}

invrg_err corr_fft_run(corr_fft *f, const corr_source *src, corr_column_fn column, void *ctx) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(corr_fft_fits(f, src), INVRG_ERR_RUNTIME,
              "correlations: transform made for another lattice layout");
  if (f->distributed && !f->direct) INVRG_CALL(redistribute(f, src->lat));
  const bool single = f->precision == INVRG_CORR_SINGLE;
  if (single)
    rows_float(f, src);
  else
    rows_double(f, src);
  if (f->distributed) {
    const MPI_Datatype type = single ? MPI_C_FLOAT_COMPLEX : MPI_C_DOUBLE_COMPLEX;
    INVRG_MPI_CALL(MPI_Alltoallv(f->packed, f->t_send_count, f->t_send_displ, type, f->recv,
                                 f->t_recv_count, f->t_recv_displ, type, src->comm));
  }
  columns(f, column, ctx);
cleanup:
  return err;
}

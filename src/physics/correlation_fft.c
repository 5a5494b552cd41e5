/* The 2D Fourier transform of configurations for the correlation module:
 * rows, transpose, columns, with the same FFTW 1D plans in every layout, so
 * ŝ(k) is bit-identical on a replicated lattice and on any grid of a
 * distributed one (correlation_internal.h). */
#include <fftw3-mpi.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "physics/correlation_internal.h"

/* Rows transformed before they are written, transposed, into the columns (serial path). */
enum { ROW_BATCH = 16 };

/*
 * Every plan is FFTW_ESTIMATE: the planner's choice is then a function of the
 * problem alone, the same on every rank and in every run, which bit-identical
 * results need (FFTW_MEASURE would time candidates and could choose differently).
 */
static const unsigned PLAN_FLAGS = FFTW_ESTIMATE;

struct corr_fft {
  int64_t L, H;       /* H = L/2 + 1 columns n_x of the r2c half plane */
  bool distributed;
  int nx, ny;         /* the block it was made for */
  int64_t x0, y0;
  int comm_size;
  ptrdiff_t n_rows, row0;    /* rows y transformed on this rank */
  ptrdiff_t n_cols, col0;    /* columns n_x transformed on this rank */
  ptrdiff_t col_stride;      /* complex numbers from one column to the next in cols */
  ptrdiff_t batch_stride;    /* complex numbers from one batch row to the next */
  double *rin;               /* [L]: the real row the row plan reads */
  fftw_complex *batch;       /* [ROW_BATCH][batch_stride]: r2c outputs */
  fftw_complex *rows;        /* distributed: [n_rows][H], input of the transpose */
  fftw_complex *cols;        /* [n_cols][col_stride] */
  fftw_complex *scratch;     /* [L]: where the column plan was made */
  fftw_plan row_plan, col_plan, transpose;
  /* Distributed: the group's blocks → FFTW's row slabs. */
  bool direct;               /* every block is its rank's slab already */
  int8_t *slab;              /* [n_rows][L] */
  int8_t *send, *recv;
  int *send_count, *send_displ, *recv_count, *recv_displ; /* [comm_size] bytes */
  int64_t *dst_first;        /* per destination: first global row of my block in its slab */
  int64_t *src_x0, *src_first, *src_n; /* per source: its x0, first global row and rows in my slab */
};

/* n rounded up to a multiple of 4 complex numbers: 64-byte steps keep every row's alignment. */
static ptrdiff_t padded(int64_t n) { return (ptrdiff_t)((n + 3) / 4 * 4); }

void corr_fft_destroy(corr_fft **fp) {
  corr_fft *f = *fp;
  if (f == NULL) return;
  if (f->transpose) fftw_destroy_plan(f->transpose);
  if (f->row_plan) fftw_destroy_plan(f->row_plan);
  if (f->col_plan) fftw_destroy_plan(f->col_plan);
  fftw_free(f->rin);
  fftw_free(f->batch);
  fftw_free(f->rows);
  fftw_free(f->cols);
  fftw_free(f->scratch);
  free(f->slab);
  free(f->send);
  free(f->recv);
  free(f->send_count);
  free(f->send_displ);
  free(f->recv_count);
  free(f->recv_displ);
  free(f->dst_first);
  free(f->src_x0);
  free(f->src_first);
  free(f->src_n);
  free(f);
  *fp = NULL;
}

/* The 1D plans, made on the buffers whose alignment every execution reproduces. */
static invrg_err make_1d_plans(corr_fft *f) {
  invrg_err err = INVRG_SUCCESS;
  const int L = (int)f->L;
  f->rin = fftw_alloc_real((size_t)padded(f->L));
  f->batch_stride = padded(f->H);
  f->batch = fftw_alloc_complex((size_t)(ROW_BATCH * f->batch_stride));
  f->scratch = fftw_alloc_complex((size_t)padded(f->L));
  INVRG_CHECK_ALLOC(f->rin);
  INVRG_CHECK_ALLOC(f->batch);
  INVRG_CHECK_ALLOC(f->scratch);
  f->row_plan = fftw_plan_dft_r2c_1d(L, f->rin, f->batch, PLAN_FLAGS);
  f->col_plan = fftw_plan_dft_1d(L, f->scratch, f->scratch, FFTW_FORWARD, PLAN_FLAGS);
  INVRG_CHECK(f->row_plan != NULL && f->col_plan != NULL, INVRG_ERR_RUNTIME,
              "FFTW could not plan transforms of length %d", L);
cleanup:
  return err;
}

/* Where each rank's block meets each rank's slab: counts and offsets of the Alltoallv. */
static invrg_err plan_redistribution(corr_fft *f, const invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  const int P = f->comm_size;
  int64_t *slabs = NULL; /* [P][2]: first row, rows */
  bool counts_fit = true;
  slabs = malloc((size_t)P * 2 * sizeof *slabs);
  f->send_count = calloc((size_t)P, sizeof *f->send_count);
  f->send_displ = calloc((size_t)P, sizeof *f->send_displ);
  f->recv_count = calloc((size_t)P, sizeof *f->recv_count);
  f->recv_displ = calloc((size_t)P, sizeof *f->recv_displ);
  f->dst_first = calloc((size_t)P, sizeof *f->dst_first);
  f->src_x0 = calloc((size_t)P, sizeof *f->src_x0);
  f->src_first = calloc((size_t)P, sizeof *f->src_first);
  f->src_n = calloc((size_t)P, sizeof *f->src_n);
  INVRG_CHECK_ALLOC(slabs);
  INVRG_CHECK_ALLOC(f->send_count);
  INVRG_CHECK_ALLOC(f->send_displ);
  INVRG_CHECK_ALLOC(f->recv_count);
  INVRG_CHECK_ALLOC(f->recv_displ);
  INVRG_CHECK_ALLOC(f->dst_first);
  INVRG_CHECK_ALLOC(f->src_x0);
  INVRG_CHECK_ALLOC(f->src_first);
  INVRG_CHECK_ALLOC(f->src_n);
  int64_t mine[2] = {f->row0, f->n_rows};
  INVRG_MPI_CALL(MPI_Allgather(mine, 2, MPI_INT64_T, slabs, 2, MPI_INT64_T, lat->comm));

  int64_t sent = 0, received = 0;
  for (int d = 0; d < P; d++) {
    int coords[2]; /* dimension 0 is y, 1 is x (groups.h) */
    INVRG_MPI_CALL(MPI_Cart_coords(lat->comm, d, 2, coords));
    const int64_t dx0 = (int64_t)coords[1] * f->nx, dy0 = (int64_t)coords[0] * f->ny;
    /* my block's rows in d's slab */
    int64_t lo = f->y0 > slabs[2 * d] ? f->y0 : slabs[2 * d];
    int64_t hi = f->y0 + f->ny < slabs[2 * d] + slabs[2 * d + 1] ? f->y0 + f->ny
                                                                  : slabs[2 * d] + slabs[2 * d + 1];
    int64_t bytes = hi > lo ? (hi - lo) * f->nx : 0;
    counts_fit = counts_fit && sent + bytes <= INT_MAX;
    f->send_count[d] = (int)bytes;
    f->send_displ[d] = (int)sent;
    f->dst_first[d] = lo;
    sent += bytes;
    /* d's block rows in my slab */
    lo = dy0 > f->row0 ? dy0 : f->row0;
    hi = dy0 + f->ny < f->row0 + f->n_rows ? dy0 + f->ny : f->row0 + f->n_rows;
    bytes = hi > lo ? (hi - lo) * f->nx : 0;
    counts_fit = counts_fit && received + bytes <= INT_MAX;
    f->recv_count[d] = (int)bytes;
    f->recv_displ[d] = (int)received;
    received += bytes;
    f->src_x0[d] = dx0;
    f->src_first[d] = lo;
    f->src_n[d] = hi > lo ? hi - lo : 0;
  }
  /* No messages at all when every block is whole rows and exactly its rank's slab. Decided
   * together, like the size check, so that every rank takes the same path. */
  int local[2] = {f->nx == f->L && f->y0 == f->row0 && f->ny == f->n_rows, counts_fit}, all[2];
  INVRG_MPI_CALL(MPI_Allreduce(local, all, 2, MPI_INT, MPI_LAND, lat->comm));
  INVRG_CHECK(all[1], INVRG_ERR_INPUT,
              "correlations: a %lld x %lld lattice is too large to redistribute over %d ranks "
              "(more than 2^31 bytes per rank)",
              (long long)f->L, (long long)f->L, P);
  f->direct = all[0] != 0;
  if (!f->direct) {
    f->slab = malloc((size_t)(f->n_rows > 0 ? f->n_rows : 1) * (size_t)f->L);
    f->send = malloc((size_t)(sent > 0 ? sent : 1));
    f->recv = malloc((size_t)(received > 0 ? received : 1));
    INVRG_CHECK_ALLOC(f->slab);
    INVRG_CHECK_ALLOC(f->send);
    INVRG_CHECK_ALLOC(f->recv);
  }
cleanup:
  free(slabs);
  return err;
}

invrg_err corr_fft_create(const invrg_lattice *lat, corr_fft **out) {
  invrg_err err = INVRG_SUCCESS;
  corr_fft *f = NULL;
  *out = NULL;
  INVRG_CHECK(lat->lx == lat->ly && lat->lx >= 2, INVRG_ERR_INPUT,
              "correlations need a square lattice of side >= 2, got %lld x %lld",
              (long long)lat->lx, (long long)lat->ly);
  INVRG_CHECK(lat->lx <= INT_MAX / 2, INVRG_ERR_INPUT, "correlations: side %lld too large",
              (long long)lat->lx);
  f = calloc(1, sizeof *f);
  INVRG_CHECK_ALLOC(f);
  f->L = lat->lx;
  f->H = f->L / 2 + 1;
  f->distributed = lat->mode == INVRG_LATTICE_DISTRIBUTED;
  f->nx = lat->nx, f->ny = lat->ny, f->x0 = lat->x0, f->y0 = lat->y0;
  f->comm_size = 1;
  INVRG_CALL(make_1d_plans(f));
  if (!f->distributed) {
    f->n_rows = (ptrdiff_t)f->L, f->row0 = 0;
    f->n_cols = (ptrdiff_t)f->H, f->col0 = 0;
    f->col_stride = padded(f->L);
    f->cols = fftw_alloc_complex((size_t)(f->n_cols * f->col_stride));
    INVRG_CHECK_ALLOC(f->cols);
  } else {
    static bool fftw_mpi_ready = false;
    if (!fftw_mpi_ready) fftw_mpi_init(); /* local: registers FFTW's MPI solvers */
    fftw_mpi_ready = true;
    INVRG_MPI_CALL(MPI_Comm_size(lat->comm, &f->comm_size));
    /* FFTW's slabs: rows y of the L × H input, columns n_x of the H × L output. */
    const ptrdiff_t n[2] = {(ptrdiff_t)f->L, (ptrdiff_t)f->H};
    ptrdiff_t alloc = fftw_mpi_local_size_many_transposed(
        2, n, 2, FFTW_MPI_DEFAULT_BLOCK, FFTW_MPI_DEFAULT_BLOCK, lat->comm, &f->n_rows, &f->row0,
        &f->n_cols, &f->col0);
    /* alloc counts doubles; at least one complex so that every rank has a buffer */
    size_t n_complex = (size_t)(alloc / 2 + 1);
    f->rows = fftw_alloc_complex(n_complex);
    f->cols = fftw_alloc_complex(n_complex);
    INVRG_CHECK_ALLOC(f->rows);
    INVRG_CHECK_ALLOC(f->cols);
    f->col_stride = (ptrdiff_t)f->L;
    f->transpose = fftw_mpi_plan_many_transpose(n[0], n[1], 2, FFTW_MPI_DEFAULT_BLOCK,
                                                FFTW_MPI_DEFAULT_BLOCK, (double *)f->rows,
                                                (double *)f->cols, lat->comm, PLAN_FLAGS);
    INVRG_CHECK(f->transpose != NULL, INVRG_ERR_RUNTIME,
                "FFTW-MPI could not plan the transpose of %lld x %lld", (long long)n[0],
                (long long)n[1]);
    INVRG_CALL(plan_redistribution(f, lat));
  }
  *out = f;
  f = NULL;
cleanup:
  corr_fft_destroy(&f);
  return err;
}

bool corr_fft_fits(const corr_fft *f, const invrg_lattice *lat) {
  if (f == NULL || f->L != lat->lx || lat->lx != lat->ly) return false;
  if (f->distributed != (lat->mode == INVRG_LATTICE_DISTRIBUTED)) return false;
  if (!f->distributed) return true;
  int size = 0;
  MPI_Comm_size(lat->comm, &size);
  return f->nx == lat->nx && f->ny == lat->ny && f->x0 == lat->x0 && f->y0 == lat->y0 &&
         f->comm_size == size;
}

/* r2c of one row of spins into @p out (a batch row: the plan's alignment). */
static void transform_row(corr_fft *f, const int8_t *spins, fftw_complex *out) {
  for (int64_t x = 0; x < f->L; x++) f->rin[x] = spins[x];
  fftw_execute_dft_r2c(f->row_plan, f->rin, out);
}

/* Replicated: rows in batches, each batch written transposed into the columns. */
static void rows_serial(corr_fft *f, const invrg_lattice *lat) {
  const ptrdiff_t H = (ptrdiff_t)f->H, cs = f->col_stride, bs = f->batch_stride;
  for (ptrdiff_t y0 = 0; y0 < f->n_rows; y0 += ROW_BATCH) {
    const ptrdiff_t nb = f->n_rows - y0 < ROW_BATCH ? f->n_rows - y0 : ROW_BATCH;
    for (ptrdiff_t b = 0; b < nb; b++)
      transform_row(f, lat->data + invrg_lattice_index(lat, 0, (int)(y0 + b)), f->batch + b * bs);
    for (ptrdiff_t k = 0; k < H; k++) {
      fftw_complex *dst = f->cols + k * cs + y0;
      for (ptrdiff_t b = 0; b < nb; b++) {
        dst[b][0] = f->batch[b * bs + k][0];
        dst[b][1] = f->batch[b * bs + k][1];
      }
    }
  }
}

/* Distributed: the group's blocks become whole rows of FFTW's slabs (int8 spins). Collective. */
static invrg_err redistribute(corr_fft *f, const invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  const size_t nx = (size_t)f->nx;
  for (int d = 0; d < f->comm_size; d++) {
    const int64_t rows = (int64_t)f->send_count[d] / f->nx;
    for (int64_t k = 0; k < rows; k++)
      memcpy(f->send + f->send_displ[d] + (size_t)k * nx,
             lat->data + invrg_lattice_index(lat, 0, (int)(f->dst_first[d] - f->y0 + k)), nx);
  }
  INVRG_MPI_CALL(MPI_Alltoallv(f->send, f->send_count, f->send_displ, MPI_INT8_T, f->recv,
                               f->recv_count, f->recv_displ, MPI_INT8_T, lat->comm));
  for (int s = 0; s < f->comm_size; s++)
    for (int64_t k = 0; k < f->src_n[s]; k++)
      memcpy(f->slab + (size_t)(f->src_first[s] - f->row0 + k) * (size_t)f->L + (size_t)f->src_x0[s],
             f->recv + f->recv_displ[s] + (size_t)k * nx, nx);
cleanup:
  return err;
}

/* Distributed: rows of the slab (or of the block itself, when it is the slab) into `rows`. */
static void rows_distributed(corr_fft *f, const invrg_lattice *lat) {
  const size_t row_bytes = (size_t)f->H * sizeof(fftw_complex);
  for (ptrdiff_t y = 0; y < f->n_rows; y++) {
    const int8_t *spins = f->direct ? lat->data + invrg_lattice_index(lat, 0, (int)y)
                                    : f->slab + (size_t)y * (size_t)f->L;
    transform_row(f, spins, f->batch);
    memcpy(f->rows + y * (ptrdiff_t)f->H, f->batch, row_bytes);
  }
}

/* c2c of every local column, in place where the column has the plan's alignment. */
static void columns(corr_fft *f, corr_column_fn column, void *ctx) {
  const int scratch_alignment = fftw_alignment_of((double *)f->scratch);
  for (ptrdiff_t c = 0; c < f->n_cols; c++) {
    fftw_complex *col = f->cols + c * f->col_stride;
    if (fftw_alignment_of((double *)col) != scratch_alignment) {
      memcpy(f->scratch, col, (size_t)f->L * sizeof *col);
      col = f->scratch;
    }
    fftw_execute_dft(f->col_plan, col, col);
    column(ctx, (int64_t)(f->col0 + c), (const fftw_complex *)col);
  }
}

invrg_err corr_fft_run(corr_fft *f, const invrg_lattice *lat, corr_column_fn column, void *ctx) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(corr_fft_fits(f, lat), INVRG_ERR_RUNTIME,
              "correlations: transform made for another lattice layout");
  if (!f->distributed) {
    rows_serial(f, lat);
  } else {
    if (!f->direct) INVRG_CALL(redistribute(f, lat));
    rows_distributed(f, lat);
    fftw_execute(f->transpose);
  }
  columns(f, column, ctx);
cleanup:
  return err;
}

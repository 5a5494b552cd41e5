/* Distributed and replicated spin lattices: blocks, halos, gather/scatter, checksums. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_POPULATE */
#include "invrg/lattice.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { PHASE_X = 0, PHASE_Y = 1, PHASE_DONE = 2 };

/* a mod n in [0, n), also for negative a. */
static int64_t wrap(int64_t a, int64_t n) { return (a % n + n) % n; }

/*
 * Zeroed spin storage of @p bytes for @p lat: big lattices (a dream's top level: gigabytes) are
 * mapped by us, page-aligned, so that invrg_lattice_populate() can ask the kernel for their pages
 * in one go; their pages appear when first written, as with calloc.
 */
static int8_t *spins_alloc(invrg_lattice *lat, size_t bytes) {
  lat->mapped_bytes = 0;
  if (bytes < ((size_t)8 << 20)) return calloc(bytes, 1);
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  lat->mapped_bytes = bytes;
  return p;
}

/*
 * Touched one page fault at a time, a fresh lattice costs 2–8 ns per spin on the (virtual)
 * machines we measured, more than dreaming the spins (< 1 ns); MADV_POPULATE_WRITE maps all of
 * it at once (700 MB in about 0.2 s there). Advice only: without it pages fault in as usual.
 */
void invrg_lattice_populate(invrg_lattice *lat) {
#ifdef MADV_POPULATE_WRITE
  if (lat->mapped_bytes > 0) (void)madvise(lat->data, lat->mapped_bytes, MADV_POPULATE_WRITE);
#else
  (void)lat;
#endif
}

/* A block of nx × ny at (x0, y0) with zeroed storage and no exchange machinery yet. */
static invrg_err lattice_alloc(invrg_lattice_mode mode, int64_t lx, int64_t ly, int halo,
                               int64_t nx, int64_t ny, int64_t x0, int64_t y0,
                               invrg_lattice **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_lattice *lat = NULL;
  INVRG_CHECK(lx >= 1 && ly >= 1 && halo >= 1, INVRG_ERR_RUNTIME,
              "lattice %lld x %lld with halo %d: sizes and halo must be at least 1", (long long)lx,
              (long long)ly, halo);
  INVRG_CHECK(nx <= INT_MAX - 2 * (int64_t)halo && ny <= INT_MAX - 2 * (int64_t)halo,
              INVRG_ERR_INPUT, "a %lld x %lld block is too large for one rank", (long long)nx,
              (long long)ny);
  lat = calloc(1, sizeof *lat);
  INVRG_CHECK_ALLOC(lat);
  lat->mode = mode;
  lat->comm = MPI_COMM_SELF;
  lat->lx = lx;
  lat->ly = ly;
  lat->halo = halo;
  lat->nx = (int)nx;
  lat->ny = (int)ny;
  lat->x0 = x0;
  lat->y0 = y0;
  lat->sx = lat->nx + 2 * halo;
  lat->sy = lat->ny + 2 * halo;
  lat->column = MPI_DATATYPE_NULL;
  for (int p = 0; p < 2; p++)
    for (int k = 0; k < 4; k++) lat->req[p][k] = MPI_REQUEST_NULL;
  lat->phase = PHASE_DONE;
  lat->data = spins_alloc(lat, (size_t)lat->sx * (size_t)lat->sy);
  INVRG_CHECK_ALLOC(lat->data);
  *out = lat;
  lat = NULL;
cleanup:
  invrg_lattice_destroy(&lat);
  return err;
}

invrg_err invrg_lattice_create_replicated(int64_t lx, int64_t ly, int halo, invrg_lattice **out) {
  invrg_err err = INVRG_SUCCESS;
  *out = NULL;
  INVRG_CALL(lattice_alloc(INVRG_LATTICE_REPLICATED, lx, ly, halo, lx, ly, 0, 0, out));
cleanup:
  return err;
}

/*
 * Persistent requests of one phase along Cartesian dimension @p dim. A message
 * travelling to the lower neighbour has tag 2*phase, to the upper one
 * 2*phase+1: with two ranks both neighbours are the same rank, and the tag
 * tells its two messages apart.
 */
static invrg_err init_phase(invrg_lattice *lat, int phase, int dim, MPI_Datatype type, int count,
                            size_t recv_lo, size_t recv_hi, size_t send_lo, size_t send_hi) {
  invrg_err err = INVRG_SUCCESS;
  int lo, hi;
  const int to_lower = 2 * phase, to_upper = 2 * phase + 1;
  MPI_Request *r = lat->req[phase];
  INVRG_MPI_CALL(MPI_Cart_shift(lat->comm, dim, 1, &lo, &hi));
  INVRG_MPI_CALL(MPI_Recv_init(lat->data + recv_lo, count, type, lo, to_upper, lat->comm, &r[0]));
  INVRG_MPI_CALL(MPI_Recv_init(lat->data + recv_hi, count, type, hi, to_lower, lat->comm, &r[1]));
  INVRG_MPI_CALL(MPI_Send_init(lat->data + send_lo, count, type, lo, to_lower, lat->comm, &r[2]));
  INVRG_MPI_CALL(MPI_Send_init(lat->data + send_hi, count, type, hi, to_upper, lat->comm, &r[3]));
cleanup:
  return err;
}

invrg_err invrg_lattice_create_distributed(const invrg_groups *g, int64_t lx, int64_t ly, int halo,
                                           invrg_lattice **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_lattice *lat = NULL;
  *out = NULL;
  INVRG_CHECK(invrg_groups_can_distribute(g, lx, ly, halo), INVRG_ERR_INPUT,
              "a %lld x %lld lattice with halo %d does not split into equal blocks on the %d x %d "
              "grid (blocks at least %d wide where split)",
              (long long)lx, (long long)ly, halo, g->px, g->py, halo);
  const int64_t nx = lx / g->px, ny = ly / g->py;
  INVRG_CALL(lattice_alloc(INVRG_LATTICE_DISTRIBUTED, lx, ly, halo, nx, ny, g->cx * nx,
                           g->cy * ny, &lat));
  /* An own communicator: this lattice's messages can never match another's. */
  INVRG_MPI_CALL(MPI_Comm_dup(g->cart, &lat->comm));
  INVRG_MPI_CALL(MPI_Comm_set_errhandler(lat->comm, MPI_ERRORS_RETURN));

  const int h = lat->halo;
  lat->remote[PHASE_X] = g->px > 1;
  lat->remote[PHASE_Y] = g->py > 1;
  if (lat->remote[PHASE_X]) {
    /* x phase: h columns of the interior rows, strided by the row length. Cartesian dim 1 = x. */
    INVRG_MPI_CALL(MPI_Type_vector(lat->ny, h, lat->sx, MPI_INT8_T, &lat->column));
    INVRG_MPI_CALL(MPI_Type_commit(&lat->column));
    INVRG_CALL(init_phase(lat, PHASE_X, 1, lat->column, 1, invrg_lattice_index(lat, -h, 0),
                          invrg_lattice_index(lat, lat->nx, 0), invrg_lattice_index(lat, 0, 0),
                          invrg_lattice_index(lat, lat->nx - h, 0)));
  }
  if (lat->remote[PHASE_Y]) {
    /* y phase: h whole rows, x halos included (that carries the corners); contiguous. */
    INVRG_CALL(init_phase(lat, PHASE_Y, 0, MPI_INT8_T, h * lat->sx,
                          invrg_lattice_index(lat, -h, -h), invrg_lattice_index(lat, -h, lat->ny),
                          invrg_lattice_index(lat, -h, 0),
                          invrg_lattice_index(lat, -h, lat->ny - h)));
  }
  *out = lat;
  lat = NULL;
cleanup:
  invrg_lattice_destroy(&lat);
  return err;
}

invrg_err invrg_lattice_distribute(const invrg_lattice *rep, const invrg_groups *g,
                                   invrg_lattice **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_lattice *lat = NULL;
  *out = NULL;
  INVRG_CHECK(rep->mode == INVRG_LATTICE_REPLICATED, INVRG_ERR_RUNTIME,
              "invrg_lattice_distribute needs a replicated lattice");
  INVRG_CALL(invrg_lattice_create_distributed(g, rep->lx, rep->ly, rep->halo, &lat));
  /* Every site of the block, halo included, is a site of the whole copy. */
  for (int j = -lat->halo; j < lat->ny + lat->halo; j++) {
    int gy = (int)wrap(lat->y0 + j, lat->ly);
    for (int i = -lat->halo; i < lat->nx + lat->halo; i++) {
      int gx = (int)wrap(lat->x0 + i, lat->lx);
      lat->data[invrg_lattice_index(lat, i, j)] = rep->data[invrg_lattice_index(rep, gx, gy)];
    }
  }
  *out = lat;
  lat = NULL;
cleanup:
  invrg_lattice_destroy(&lat);
  return err;
}

void invrg_lattice_destroy(invrg_lattice **lat) {
  invrg_lattice *l = *lat;
  if (l == NULL) return;
  for (int p = 0; p < 2; p++)
    for (int k = 0; k < 4; k++)
      if (l->req[p][k] != MPI_REQUEST_NULL) MPI_Request_free(&l->req[p][k]);
  if (l->column != MPI_DATATYPE_NULL) MPI_Type_free(&l->column);
  if (l->comm != MPI_COMM_SELF && l->comm != MPI_COMM_NULL) MPI_Comm_free(&l->comm);
  if (l->mapped_bytes > 0)
    munmap(l->data, l->mapped_bytes);
  else
    free(l->data);
  free(l);
  *lat = NULL;
}

void invrg_lattice_fill_random(invrg_lattice *lat, const invrg_rng_stream *s) {
  for (int j = -lat->halo; j < lat->ny + lat->halo; j++)
    for (int i = -lat->halo; i < lat->nx + lat->halo; i++)
      lat->data[invrg_lattice_index(lat, i, j)] =
          invrg_rng_coin(s, invrg_lattice_global_site(lat, i, j), 0) ? 1 : -1;
}

/*
 * A phase whose direction is not split: periodic wrap inside the block. Halo
 * site n + k takes interior site k mod n (and -k takes n - k mod n), which is
 * right even for a halo wider than the block. The y rows include the x halos.
 */
static void halo_copy_local(invrg_lattice *lat, int phase) {
  const int h = lat->halo;
  if (phase == PHASE_X) {
    /* One pass over the rows per pair of halo columns; the modulo stays out of the loop. */
    for (int k = 0; k < h; k++) {
      const int lo = k - h, lo_src = (int)wrap(lo, lat->nx);
      const int hi = lat->nx + k, hi_src = (int)wrap(hi, lat->nx);
      for (int j = 0; j < lat->ny; j++) {
        int8_t *row = lat->data + invrg_lattice_index(lat, 0, j);
        row[lo] = row[lo_src];
        row[hi] = row[hi_src];
      }
    }
  } else {
    for (int k = 0; k < h; k++) {
      const int lo = k - h, lo_src = (int)wrap(lo, lat->ny);
      const int hi = lat->ny + k, hi_src = (int)wrap(hi, lat->ny);
      int8_t *d = lat->data;
      memcpy(d + invrg_lattice_index(lat, -h, lo), d + invrg_lattice_index(lat, -h, lo_src),
             (size_t)lat->sx);
      memcpy(d + invrg_lattice_index(lat, -h, hi), d + invrg_lattice_index(lat, -h, hi_src),
             (size_t)lat->sx);
    }
  }
}

/* Runs local phases from lat->phase on, and starts the first remote one. */
static invrg_err halo_advance(invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  for (; lat->phase < PHASE_DONE; lat->phase++) {
    if (lat->remote[lat->phase]) {
      INVRG_MPI_CALL(MPI_Startall(4, lat->req[lat->phase]));
      lat->in_flight = true;
      break;
    }
    halo_copy_local(lat, lat->phase);
  }
cleanup:
  return err;
}

invrg_err invrg_lattice_halo_begin(invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(!lat->in_flight, INVRG_ERR_RUNTIME,
              "halo exchange begun while another is in progress");
  lat->phase = PHASE_X;
  INVRG_CALL(halo_advance(lat));
cleanup:
  return err;
}

invrg_err invrg_lattice_halo_end(invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  /* y sends rows that include the x halos, so x must be complete before y starts. */
  while (lat->in_flight) {
    INVRG_MPI_CALL(MPI_Waitall(4, lat->req[lat->phase], MPI_STATUSES_IGNORE));
    lat->in_flight = false;
    lat->phase++;
    INVRG_CALL(halo_advance(lat));
  }
cleanup:
  return err;
}

invrg_err invrg_lattice_halo_exchange(invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(invrg_lattice_halo_begin(lat));
  INVRG_CALL(invrg_lattice_halo_end(lat));
cleanup:
  return err;
}

/* Copies @p rows rows of @p len bytes between arrays with the given row strides. */
static void copy_rows(int8_t *dst, size_t dst_stride, const int8_t *src, size_t src_stride,
                      int rows, int len) {
  for (int j = 0; j < rows; j++)
    memcpy(dst + (size_t)j * dst_stride, src + (size_t)j * src_stride, (size_t)len);
}

/* Offset in the global array of the block of grid rank r (same block size everywhere). */
static invrg_err block_offset(const invrg_lattice *lat, int r, size_t *offset) {
  invrg_err err = INVRG_SUCCESS;
  int coords[2];
  INVRG_MPI_CALL(MPI_Cart_coords(lat->comm, r, 2, coords));
  *offset = ((size_t)coords[0] * (size_t)lat->ny) * (size_t)lat->lx +
            (size_t)coords[1] * (size_t)lat->nx;
cleanup:
  return err;
}

invrg_err invrg_lattice_gather(const invrg_lattice *lat, int8_t *global) {
  invrg_err err = INVRG_SUCCESS;
  int8_t *block = NULL, *all = NULL;
  const int8_t *interior = lat->data + invrg_lattice_index(lat, 0, 0);
  const size_t nx = (size_t)lat->nx, sx = (size_t)lat->sx, lx = (size_t)lat->lx;
  if (lat->mode == INVRG_LATTICE_REPLICATED) {
    copy_rows(global, lx, interior, sx, lat->ny, lat->nx); /* the block is the whole lattice */
    goto cleanup;
  }
  int rank, size;
  INVRG_MPI_CALL(MPI_Comm_rank(lat->comm, &rank));
  INVRG_MPI_CALL(MPI_Comm_size(lat->comm, &size));
  INVRG_CHECK(lat->lx * lat->ly <= INT_MAX, INVRG_ERR_RUNTIME,
              "cannot gather a %lld x %lld lattice (2^31 sites at most)", (long long)lat->lx,
              (long long)lat->ly);
  const int n = lat->nx * lat->ny;
  block = malloc((size_t)n);
  INVRG_CHECK_ALLOC(block);
  if (rank == 0) {
    all = malloc((size_t)n * (size_t)size);
    INVRG_CHECK_ALLOC(all);
  }
  copy_rows(block, nx, interior, sx, lat->ny, lat->nx);
  INVRG_MPI_CALL(MPI_Gather(block, n, MPI_INT8_T, all, n, MPI_INT8_T, 0, lat->comm));
  for (int r = 0; rank == 0 && r < size; r++) {
    size_t offset = 0;
    INVRG_CALL(block_offset(lat, r, &offset));
    copy_rows(global + offset, lx, all + (size_t)r * (size_t)n, nx, lat->ny, lat->nx);
  }
cleanup:
  free(block);
  free(all);
  return err;
}

invrg_err invrg_lattice_scatter(invrg_lattice *lat, const int8_t *global) {
  invrg_err err = INVRG_SUCCESS;
  int8_t *block = NULL, *all = NULL;
  int8_t *interior = lat->data + invrg_lattice_index(lat, 0, 0);
  const size_t nx = (size_t)lat->nx, sx = (size_t)lat->sx, lx = (size_t)lat->lx;
  if (lat->mode == INVRG_LATTICE_REPLICATED) {
    copy_rows(interior, sx, global, lx, lat->ny, lat->nx);
    goto cleanup;
  }
  int rank, size;
  INVRG_MPI_CALL(MPI_Comm_rank(lat->comm, &rank));
  INVRG_MPI_CALL(MPI_Comm_size(lat->comm, &size));
  INVRG_CHECK(lat->lx * lat->ly <= INT_MAX, INVRG_ERR_RUNTIME,
              "cannot scatter a %lld x %lld lattice (2^31 sites at most)", (long long)lat->lx,
              (long long)lat->ly);
  const int n = lat->nx * lat->ny;
  block = malloc((size_t)n);
  INVRG_CHECK_ALLOC(block);
  if (rank == 0) {
    all = malloc((size_t)n * (size_t)size);
    INVRG_CHECK_ALLOC(all);
  }
  for (int r = 0; rank == 0 && r < size; r++) {
    size_t offset = 0;
    INVRG_CALL(block_offset(lat, r, &offset));
    copy_rows(all + (size_t)r * (size_t)n, nx, global + offset, lx, lat->ny, lat->nx);
  }
  INVRG_MPI_CALL(MPI_Scatter(all, n, MPI_INT8_T, block, n, MPI_INT8_T, 0, lat->comm));
  copy_rows(interior, sx, block, nx, lat->ny, lat->nx);
cleanup:
  free(block);
  free(all);
  return err;
}

/* splitmix64 of (index, value): a well-mixed 64-bit word per site. */
static uint64_t site_hash(uint64_t index, int8_t value) {
  uint64_t z = ((index << 8) | (uint8_t)value) + UINT64_C(0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

invrg_err invrg_lattice_checksum(const invrg_lattice *lat, uint64_t *sum) {
  invrg_err err = INVRG_SUCCESS;
  /* Addition mod 2^64 is associative and commutative: any split gives the same sum. */
  uint64_t local = 0;
  for (int j = 0; j < lat->ny; j++)
    for (int i = 0; i < lat->nx; i++)
      local += site_hash(invrg_lattice_global_site(lat, i, j),
                         lat->data[invrg_lattice_index(lat, i, j)]);
  INVRG_MPI_CALL(MPI_Allreduce(&local, sum, 1, MPI_UINT64_T, MPI_SUM, lat->comm));
cleanup:
  return err;
}

uint64_t invrg_lattice_checksum_array(const int8_t *global, int64_t lx, int64_t ly) {
  uint64_t sum = 0;
  for (uint64_t k = 0; k < (uint64_t)(lx * ly); k++) sum += site_hash(k, global[k]);
  return sum;
}

/* Bit-packed lattices in the multispin layout (invrg/packed.h): rows split over the ranks,
 * halo rows, conversions from and to the int8 lattices. */
#include "invrg/packed.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- rows */

/* The sign bits of the eight int8 spins at s (1 = −1), site i in bit i: the bytes' top bits
 * gathered by one multiplication (byte i's bit lands in bit 56 + i). */
static inline unsigned sign_bits8(const int8_t *s) {
  uint64_t v;
  memcpy(&v, s, sizeof v);
  return (unsigned)((((v >> 7) & UINT64_C(0x0101010101010101)) * UINT64_C(0x0102040810204080)) >>
                    56);
}

/* Bits 0, 2, 4, 6 of b in bits 0 … 3. */
static inline uint64_t even_bits4(unsigned b) {
  return (b & 1) | (b >> 1 & 2) | (b >> 2 & 4) | (b >> 3 & 8);
}

/* Eight sites x = 8t … 8t + 7 at a time: four go to the even-x colour row, four to the odd one
 * (sites k = 4t … 4t + 3 of both: nibble t mod 16 of word t / 16). */
void invrg_packed_pack_row(const int8_t *spins, int64_t lx, int64_t gy, uint64_t *row0,
                           uint64_t *row1) {
  uint64_t *even = gy & 1 ? row1 : row0, *odd = gy & 1 ? row0 : row1; /* (x + gy + c) even */
  const int64_t words = (lx / 2 + 63) / 64;
  memset(even, 0, (size_t)words * sizeof *even);
  memset(odd, 0, (size_t)words * sizeof *odd);
  int64_t x = 0;
  for (; x + 8 <= lx; x += 8) {
    const unsigned b = sign_bits8(spins + x);
    const int64_t t = x >> 3;
    even[t >> 4] |= even_bits4(b) << (4 * (t & 15));
    odd[t >> 4] |= even_bits4(b >> 1) << (4 * (t & 15));
  }
  for (; x < lx; x++) {
    const int64_t k = x >> 1;
    (x & 1 ? odd : even)[k >> 6] |= (uint64_t)(spins[x] < 0) << (k & 63);
  }
}

/* spins8[i]: the 8 spins whose bits (1 = −1) are those of i, bit 0 first. */
#define S1(i, j) ((i) >> (j) & 1 ? -1 : 1)
#define S8(i) {S1(i, 0), S1(i, 1), S1(i, 2), S1(i, 3), S1(i, 4), S1(i, 5), S1(i, 6), S1(i, 7)}
#define ROWS8(i) S8(i), S8(i + 1), S8(i + 2), S8(i + 3), S8(i + 4), S8(i + 5), S8(i + 6), S8(i + 7)
#define ROWS32(i) ROWS8(i), ROWS8(i + 8), ROWS8(i + 16), ROWS8(i + 24)
#define ROWS128(i) ROWS32(i), ROWS32(i + 32), ROWS32(i + 64), ROWS32(i + 96)
static const int8_t spins8[256][8] = {ROWS128(0), ROWS128(128)};
#undef ROWS128
#undef ROWS32
#undef ROWS8
#undef S8
#undef S128
#undef S32
#undef S8
#undef S1
/* spread4[n]: bit j of n moved to bit 2j. */
static const uint8_t spread4[16] = {0x00, 0x01, 0x04, 0x05, 0x10, 0x11, 0x14, 0x15,
                                    0x40, 0x41, 0x44, 0x45, 0x50, 0x51, 0x54, 0x55};

/* Eight sites x = 8t … 8t + 7 at a time: four of the even-x colour row and four of the odd
 * one (sites k = 4t … 4t + 3 of both, one nibble of a word), interleaved by a table. */
void invrg_packed_unpack_row(const uint64_t *row0, const uint64_t *row1, int64_t lx, int64_t gy,
                             int8_t *spins) {
  const uint64_t *even = gy & 1 ? row1 : row0, *odd = gy & 1 ? row0 : row1; /* (x + gy + c) even */
  int64_t x = 0;
  for (; x + 8 <= lx; x += 8) {
    const int64_t k = x >> 1; /* a multiple of 4: its nibble lies within one word */
    const unsigned e = (unsigned)(even[k >> 6] >> (k & 63)) & 15,
                   o = (unsigned)(odd[k >> 6] >> (k & 63)) & 15;
    memcpy(spins + x, spins8[spread4[e] | spread4[o] << 1], 8);
  }
  for (; x < lx; x++) {
    const uint64_t *row = x & 1 ? odd : even;
    const int64_t k = x >> 1;
    spins[x] = (int8_t)((row[k >> 6] >> (k & 63)) & 1 ? -1 : 1);
  }
}

/* ---------------------------------------------------------------- create, destroy */

/* Persistent requests of colour c: halo rows from the neighbours, edge rows to them. A message
 * travelling to the lower rank has tag 2c, to the upper 2c + 1 (with two ranks both
 * neighbours are one rank, and the tag tells its two messages apart). */
static invrg_err init_requests(invrg_packed *p, int c) {
  invrg_err err = INVRG_SUCCESS;
  const int lo = (p->rank + p->size - 1) % p->size, hi = (p->rank + 1) % p->size;
  const int n = p->words;
  MPI_Request *r = p->req[c];
  INVRG_MPI_CALL(MPI_Recv_init(invrg_packed_row(p, c, -1), n, MPI_UINT64_T, lo, 2 * c + 1,
                               p->comm, &r[0]));
  INVRG_MPI_CALL(MPI_Recv_init(invrg_packed_row(p, c, p->ny), n, MPI_UINT64_T, hi, 2 * c,
                               p->comm, &r[1]));
  INVRG_MPI_CALL(MPI_Send_init(invrg_packed_row(p, c, 0), n, MPI_UINT64_T, lo, 2 * c, p->comm,
                               &r[2]));
  INVRG_MPI_CALL(MPI_Send_init(invrg_packed_row(p, c, p->ny - 1), n, MPI_UINT64_T, hi,
                               2 * c + 1, p->comm, &r[3]));
cleanup:
  return err;
}

invrg_err invrg_packed_create(MPI_Comm comm, int64_t lx, int64_t ly, invrg_packed **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_packed *p = NULL;
  int rank, size;
  *out = NULL;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  INVRG_MPI_CALL(MPI_Comm_size(comm, &size));
  INVRG_CHECK(lx >= 2 && ly >= 2 && lx % 2 == 0 && ly % 2 == 0, INVRG_ERR_INPUT,
              "a packed lattice needs even sizes of at least 2, got %lld x %lld", (long long)lx,
              (long long)ly);
  INVRG_CHECK(ly % size == 0, INVRG_ERR_INPUT,
              "a packed %lld x %lld lattice is split by rows: %lld rows do not divide among %d "
              "ranks (use a number of ranks that divides %lld)",
              (long long)lx, (long long)ly, (long long)ly, size, (long long)ly);
  const int64_t words = (lx / 2 + 63) / 64, ny = ly / size;
  INVRG_CHECK((ny + 2) * words < INT_MAX, INVRG_ERR_INPUT,
              "a packed %lld x %lld lattice on %d rank%s: %lld rows of %lld words per rank and "
              "colour is too many (2^31 words at most: use more ranks)",
              (long long)lx, (long long)ly, size, size > 1 ? "s" : "", (long long)ny,
              (long long)words);
  p = calloc(1, sizeof *p);
  INVRG_CHECK_ALLOC(p);
  p->comm = MPI_COMM_NULL;
  for (int c = 0; c < 2; c++)
    for (int k = 0; k < 4; k++) p->req[c][k] = MPI_REQUEST_NULL;
  p->rank = rank;
  p->size = size;
  p->lx = lx;
  p->ly = ly;
  p->half = lx / 2;
  p->words = (int)words;
  p->tail = p->half % 64 == 0 ? ~UINT64_C(0) : (UINT64_C(1) << (p->half % 64)) - 1;
  p->ny = (int)ny;
  p->y0 = rank * ny;
  for (int c = 0; c < 2; c++) {
    p->rows[c] = calloc((size_t)((ny + 2) * words), sizeof(uint64_t));
    INVRG_CHECK_ALLOC(p->rows[c]);
  }
  /* An own communicator: this lattice's messages can never match another's. */
  INVRG_MPI_CALL(MPI_Comm_dup(comm, &p->comm));
  INVRG_MPI_CALL(MPI_Comm_set_errhandler(p->comm, MPI_ERRORS_RETURN));
  if (size > 1)
    for (int c = 0; c < 2; c++) INVRG_CALL(init_requests(p, c));
  *out = p;
  p = NULL;
cleanup:
  invrg_packed_destroy(&p);
  return err;
}

void invrg_packed_destroy(invrg_packed **pp) {
  invrg_packed *p = *pp;
  if (p == NULL) return;
  for (int c = 0; c < 2; c++)
    for (int k = 0; k < 4; k++)
      if (p->req[c][k] != MPI_REQUEST_NULL) MPI_Request_free(&p->req[c][k]);
  if (p->comm != MPI_COMM_NULL) MPI_Comm_free(&p->comm);
  free(p->rows[0]);
  free(p->rows[1]);
  free(p);
  *pp = NULL;
}

/* ---------------------------------------------------------------- halos */

invrg_err invrg_packed_halo_begin(invrg_packed *p, int c) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(!p->in_flight[c], INVRG_ERR_RUNTIME,
              "packed halo exchange of colour %d begun while one is in progress", c);
  const size_t bytes = (size_t)p->words * sizeof(uint64_t);
  if (p->size == 1) { /* periodic wrap in place */
    memcpy(invrg_packed_row(p, c, -1), invrg_packed_row(p, c, p->ny - 1), bytes);
    memcpy(invrg_packed_row(p, c, p->ny), invrg_packed_row(p, c, 0), bytes);
    goto cleanup;
  }
  INVRG_MPI_CALL(MPI_Startall(4, p->req[c]));
  p->in_flight[c] = true;
cleanup:
  return err;
}

invrg_err invrg_packed_halo_end(invrg_packed *p, int c) {
  invrg_err err = INVRG_SUCCESS;
  if (!p->in_flight[c]) goto cleanup;
  p->in_flight[c] = false;
  INVRG_MPI_CALL(MPI_Waitall(4, p->req[c], MPI_STATUSES_IGNORE));
cleanup:
  return err;
}

invrg_err invrg_packed_halo_exchange(invrg_packed *p) {
  invrg_err err = INVRG_SUCCESS;
  for (int c = 0; c < 2; c++) INVRG_CALL(invrg_packed_halo_begin(p, c));
  for (int c = 0; c < 2; c++) INVRG_CALL(invrg_packed_halo_end(p, c));
cleanup:
  return err;
}

invrg_err invrg_packed_fill_random(invrg_packed *p, const invrg_rng_stream *s) {
  invrg_err err = INVRG_SUCCESS;
  for (int j = 0; j < p->ny; j++) {
    const uint64_t gy = (uint64_t)(p->y0 + j);
    for (int c = 0; c < 2; c++) {
      uint64_t *row = invrg_packed_row(p, c, j);
      memset(row, 0, (size_t)p->words * sizeof *row);
      for (int64_t k = 0, x = (int64_t)((gy + (uint64_t)c) & 1); k < p->half; k++, x += 2)
        if (!invrg_rng_coin(s, gy * (uint64_t)p->lx + (uint64_t)x, 0)) /* false: spin −1 */
          row[k >> 6] |= UINT64_C(1) << (k & 63);
    }
  }
  INVRG_CALL(invrg_packed_halo_exchange(p));
cleanup:
  return err;
}

/* ---------------------------------------------------------------- int8 lattices */

/* What each rank of a distributed int8 lattice holds, and how the two layouts overlap. */
typedef struct {
  int64_t (*block)[4]; /* per rank: x0, y0, nx, ny of its int8 block */
  int *count[2], *displ[2]; /* per rank: send and receive counts and offsets */
} exchange_plan;

static void plan_free(exchange_plan *plan) {
  free(plan->block);
  for (int k = 0; k < 2; k++) {
    free(plan->count[k]);
    free(plan->displ[k]);
  }
}

/* Rows [*a, *b) that packed rank r and int8 block q have in common (empty: *a ≥ *b). */
static void overlap(const invrg_packed *p, int r, const int64_t block[4], int64_t *a,
                    int64_t *b) {
  const int64_t pa = (int64_t)r * p->ny, pb = pa + p->ny;
  *a = pa > block[1] ? pa : block[1];
  *b = pb < block[1] + block[3] ? pb : block[1] + block[3];
}

/* The blocks of all int8 ranks; checks that the two communicators are the same ranks. */
static invrg_err plan_blocks(const invrg_packed *p, const invrg_lattice *lat, exchange_plan *plan) {
  invrg_err err = INVRG_SUCCESS;
  int same = MPI_UNEQUAL;
  INVRG_MPI_CALL(MPI_Comm_compare(p->comm, lat->comm, &same));
  INVRG_CHECK(same == MPI_IDENT || same == MPI_CONGRUENT, INVRG_ERR_RUNTIME,
              "packed and int8 lattices live on different groups of ranks");
  const int64_t mine[4] = {lat->x0, lat->y0, lat->nx, lat->ny};
  plan->block = malloc((size_t)p->size * sizeof *plan->block);
  INVRG_CHECK_ALLOC(plan->block);
  for (int k = 0; k < 2; k++) {
    plan->count[k] = calloc((size_t)p->size, sizeof(int));
    plan->displ[k] = calloc((size_t)p->size, sizeof(int));
    INVRG_CHECK_ALLOC(plan->count[k]);
    INVRG_CHECK_ALLOC(plan->displ[k]);
  }
  INVRG_MPI_CALL(MPI_Allgather(mine, 4, MPI_INT64_T, plan->block, 4, MPI_INT64_T, p->comm));
cleanup:
  return err;
}

/* Fills counts and offsets from units per rank (send k = 0, receive k = 1); false on overflow. */
static bool plan_offsets(exchange_plan *plan, int k, const int64_t *units, int size) {
  int64_t at = 0;
  for (int r = 0; r < size; r++) {
    if (units[r] > INT_MAX || at > INT_MAX - units[r]) return false;
    plan->count[k][r] = (int)units[r];
    plan->displ[k][r] = (int)at;
    at += units[r];
  }
  return true;
}

/* int8 → packed between congruent communicators: each int8 rank sends the bytes of its block
 * in the rows a packed rank holds; the packed rank assembles whole rows and packs them. */
static invrg_err from_distributed(invrg_packed *p, const invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  exchange_plan plan = {0};
  int64_t *units = NULL;
  int8_t *send = NULL, *rows = NULL, *recv = NULL;
  INVRG_CALL(plan_blocks(p, lat, &plan));
  units = calloc(2 * (size_t)p->size, sizeof *units);
  INVRG_CHECK_ALLOC(units);
  const int64_t *me = plan.block[p->rank];
  for (int r = 0; r < p->size; r++) {
    int64_t a, b;
    overlap(p, r, me, &a, &b);
    units[r] = a < b ? (b - a) * lat->nx : 0;                          /* I send to r */
    overlap(p, p->rank, plan.block[r], &a, &b);
    units[p->size + r] = a < b ? (b - a) * plan.block[r][2] : 0;        /* r sends to me */
  }
  INVRG_CHECK(plan_offsets(&plan, 0, units, p->size) &&
                  plan_offsets(&plan, 1, units + p->size, p->size),
              INVRG_ERR_RUNTIME, "packed conversion: 2^31 bytes per message at most");
  send = malloc((size_t)lat->nx * (size_t)lat->ny + 1);
  recv = malloc((size_t)p->ny * (size_t)p->lx + 1);
  rows = malloc((size_t)p->ny * (size_t)p->lx + 1);
  INVRG_CHECK_ALLOC(send);
  INVRG_CHECK_ALLOC(recv);
  INVRG_CHECK_ALLOC(rows);
  for (int r = 0; r < p->size; r++) { /* my rows in the order of the packed ranks */
    int64_t a, b;
    overlap(p, r, me, &a, &b);
    for (int64_t gy = a; gy < b; gy++)
      memcpy(send + plan.displ[0][r] + (gy - a) * lat->nx,
             lat->data + invrg_lattice_index(lat, 0, (int)(gy - lat->y0)), (size_t)lat->nx);
  }
  INVRG_MPI_CALL(MPI_Alltoallv(send, plan.count[0], plan.displ[0], MPI_INT8_T, recv,
                               plan.count[1], plan.displ[1], MPI_INT8_T, p->comm));
  for (int q = 0; q < p->size; q++) { /* block q's columns of my rows */
    int64_t a, b;
    overlap(p, p->rank, plan.block[q], &a, &b);
    for (int64_t gy = a; gy < b; gy++)
      memcpy(rows + (gy - p->y0) * p->lx + plan.block[q][0],
             recv + plan.displ[1][q] + (gy - a) * plan.block[q][2], (size_t)plan.block[q][2]);
  }
  for (int j = 0; j < p->ny; j++)
    invrg_packed_pack_row(rows + (int64_t)j * p->lx, p->lx, p->y0 + j,
                          invrg_packed_row(p, 0, j), invrg_packed_row(p, 1, j));
cleanup:
  plan_free(&plan);
  free(units);
  free(send);
  free(recv);
  free(rows);
  return err;
}

invrg_err invrg_packed_from_lattice(invrg_packed *p, const invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(lat->lx == p->lx && lat->ly == p->ly, INVRG_ERR_RUNTIME,
              "packed %lld x %lld lattice from an int8 one of %lld x %lld", (long long)p->lx,
              (long long)p->ly, (long long)lat->lx, (long long)lat->ly);
  if (lat->mode == INVRG_LATTICE_REPLICATED) { /* my rows from my whole copy */
    for (int j = 0; j < p->ny; j++)
      invrg_packed_pack_row(lat->data + invrg_lattice_index(lat, 0, (int)(p->y0 + j)), p->lx,
                            p->y0 + j, invrg_packed_row(p, 0, j), invrg_packed_row(p, 1, j));
  } else {
    INVRG_CALL(from_distributed(p, lat));
  }
  INVRG_CALL(invrg_packed_halo_exchange(p));
cleanup:
  return err;
}

/* My interior rows of both colours, row by row: [row j colour 0][row j colour 1] … */
static void copy_interior(const invrg_packed *p, uint64_t *out, int64_t a, int64_t b) {
  const size_t w = (size_t)p->words;
  for (int64_t gy = a; gy < b; gy++)
    for (int c = 0; c < 2; c++)
      memcpy(out + ((size_t)(gy - a) * 2 + (size_t)c) * w,
             invrg_packed_row(p, c, (int)(gy - p->y0)), w * sizeof *out);
}

/* Unpacks rows [a, b) of global row pairs in @p in into the columns of @p lat's block. */
static invrg_err unpack_into(const invrg_packed *p, const uint64_t *in, int64_t a, int64_t b,
                             invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  int8_t *row = malloc((size_t)p->lx);
  INVRG_CHECK_ALLOC(row);
  const size_t w = (size_t)p->words;
  for (int64_t gy = a; gy < b; gy++) {
    const uint64_t *pair = in + (size_t)(gy - a) * 2 * w;
    invrg_packed_unpack_row(pair, pair + w, p->lx, gy, row);
    memcpy(lat->data + invrg_lattice_index(lat, 0, (int)(gy - lat->y0)), row + lat->x0,
           (size_t)lat->nx);
  }
cleanup:
  free(row);
  return err;
}

/* packed → int8 between congruent communicators: whole packed rows to every block that has
 * some of their sites. */
static invrg_err to_distributed(const invrg_packed *p, invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  exchange_plan plan = {0};
  int64_t *units = NULL;
  uint64_t *send = NULL, *recv = NULL;
  INVRG_CALL(plan_blocks(p, lat, &plan));
  units = calloc(2 * (size_t)p->size, sizeof *units);
  INVRG_CHECK_ALLOC(units);
  const int64_t pair = 2 * (int64_t)p->words;
  for (int r = 0; r < p->size; r++) {
    int64_t a, b;
    overlap(p, p->rank, plan.block[r], &a, &b);
    units[r] = a < b ? (b - a) * pair : 0; /* my rows that block r has */
    overlap(p, r, plan.block[p->rank], &a, &b);
    units[p->size + r] = a < b ? (b - a) * pair : 0; /* r's rows that my block has */
  }
  INVRG_CHECK(plan_offsets(&plan, 0, units, p->size) &&
                  plan_offsets(&plan, 1, units + p->size, p->size),
              INVRG_ERR_RUNTIME, "packed conversion: 2^31 words per message at most");
  const int last = p->size - 1;
  send = malloc(((size_t)plan.displ[0][last] + (size_t)plan.count[0][last] + 1) * sizeof *send);
  recv = malloc(((size_t)plan.displ[1][last] + (size_t)plan.count[1][last] + 1) * sizeof *recv);
  INVRG_CHECK_ALLOC(send);
  INVRG_CHECK_ALLOC(recv);
  for (int r = 0; r < p->size; r++) {
    int64_t a, b;
    overlap(p, p->rank, plan.block[r], &a, &b);
    if (a < b) copy_interior(p, send + plan.displ[0][r], a, b);
  }
  INVRG_MPI_CALL(MPI_Alltoallv(send, plan.count[0], plan.displ[0], MPI_UINT64_T, recv,
                               plan.count[1], plan.displ[1], MPI_UINT64_T, p->comm));
  for (int r = 0; r < p->size; r++) {
    int64_t a, b;
    overlap(p, r, plan.block[p->rank], &a, &b);
    if (a < b) INVRG_CALL(unpack_into(p, recv + plan.displ[1][r], a, b, lat));
  }
cleanup:
  plan_free(&plan);
  free(units);
  free(send);
  free(recv);
  return err;
}

/* packed → a replicated int8 lattice: every rank gathers all rows. */
static invrg_err to_replicated(const invrg_packed *p, invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t mine = 2 * (int64_t)p->ny * p->words;
  uint64_t *all = NULL, *own = NULL;
  INVRG_CHECK(mine <= INT_MAX, INVRG_ERR_RUNTIME,
              "packed conversion: 2^31 words per rank at most");
  all = malloc((size_t)(mine * p->size) * sizeof *all);
  own = malloc((size_t)mine * sizeof *own);
  INVRG_CHECK_ALLOC(all);
  INVRG_CHECK_ALLOC(own);
  copy_interior(p, own, p->y0, p->y0 + p->ny);
  INVRG_MPI_CALL(MPI_Allgather(own, (int)mine, MPI_UINT64_T, all, (int)mine, MPI_UINT64_T,
                               p->comm));
  INVRG_CALL(unpack_into(p, all, 0, p->ly, lat));
cleanup:
  free(all);
  free(own);
  return err;
}

/* A packed lattice whole on this rank into the block of a distributed one: no messages. */
static invrg_err whole_to_block(const invrg_packed *p, invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  uint64_t *pairs = malloc((size_t)lat->ny * 2 * (size_t)p->words * sizeof *pairs);
  INVRG_CHECK_ALLOC(pairs);
  copy_interior(p, pairs, lat->y0, lat->y0 + lat->ny);
  INVRG_CALL(unpack_into(p, pairs, lat->y0, lat->y0 + lat->ny, lat));
cleanup:
  free(pairs);
  return err;
}

invrg_err invrg_packed_to_lattice(const invrg_packed *p, invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(lat->lx == p->lx && lat->ly == p->ly, INVRG_ERR_RUNTIME,
              "int8 %lld x %lld lattice from a packed one of %lld x %lld", (long long)lat->lx,
              (long long)lat->ly, (long long)p->lx, (long long)p->ly);
  if (lat->mode == INVRG_LATTICE_REPLICATED)
    INVRG_CALL(to_replicated(p, lat));
  else if (p->size == 1 && lat->ly == p->ny)
    INVRG_CALL(whole_to_block(p, lat));
  else
    INVRG_CALL(to_distributed(p, lat));
  INVRG_CALL(invrg_lattice_halo_exchange(lat));
cleanup:
  return err;
}

/* ---------------------------------------------------------------- natural-order rows */
/* (Included here, not at the top, to keep this block in one piece for merges.) */
#include "invrg/simd.h"
#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

/* Bits 0 … 31 of v moved to bits 0, 2, … 62 (bit j to bit 2j): five shift-and-mask steps. */
static inline uint64_t spread_even(uint64_t v) {
  v &= UINT64_C(0x00000000FFFFFFFF);
  v = (v | v << 16) & UINT64_C(0x0000FFFF0000FFFF);
  v = (v | v << 8) & UINT64_C(0x00FF00FF00FF00FF);
  v = (v | v << 4) & UINT64_C(0x0F0F0F0F0F0F0F0F);
  v = (v | v << 2) & UINT64_C(0x3333333333333333);
  return (v | v << 1) & UINT64_C(0x5555555555555555);
}

/* Natural word 2i + h holds colour-row bits 32h … 32h + 31 of word i of both rows: the sites
 * x = 2k (even row) in the even bits, x = 2k + 1 (odd row) in the odd bits. */
static void interleave_portable(const uint64_t *even, const uint64_t *odd, int n, uint64_t *out) {
  for (int i = 0; 2 * i < n; i++) {
    out[2 * i] = spread_even(even[i]) | spread_even(odd[i]) << 1;
    if (2 * i + 1 < n) out[2 * i + 1] = spread_even(even[i] >> 32) | spread_even(odd[i] >> 32) << 1;
  }
}

/* The colour-row pair of row r: the even sites x = 2k (colour (y0 + r) mod 2) and the odd. */
static inline void row_pair(const invrg_packed *p, int r, const uint64_t **even,
                            const uint64_t **odd) {
  const int c = (int)((p->y0 + r + 2 * p->ly) & 1);
  *even = invrg_packed_row(p, c, r);
  *odd = invrg_packed_row(p, 1 - c, r);
}

#if INVRG_SIMD_X86
/* Rows [j, j + count) by BMI2's parallel deposit (AVX-512 level of the dispatcher: it has
 * BMI2), the loop over the rows inside: no call per row. */
INVRG_TARGET_AVX512 static void interleave_rows_bmi2(const invrg_packed *p, int j, int count,
                                                     int n, uint64_t *out) {
  const uint64_t e = UINT64_C(0x5555555555555555), o = ~e;
  for (int r = j; r < j + count; r++, out += n) {
    const uint64_t *even, *odd;
    row_pair(p, r, &even, &odd);
    for (int i = 0; 2 * i < n; i++) {
      out[2 * i] = _pdep_u64(even[i], e) | _pdep_u64(odd[i], o);
      if (2 * i + 1 < n)
        out[2 * i + 1] = _pdep_u64(even[i] >> 32, e) | _pdep_u64(odd[i] >> 32, o);
    }
  }
}
#endif

#if INVRG_SIMD_X86
/*
 * Rows of one word a colour (Lx ≤ 128: the small levels of a dream) several rows a vector, by
 * byte shuffles: each byte of a colour word is doubled, the even copy keeps its low nibble and
 * the odd copy its high one, and a table spreads a nibble's bits 0–3 to bits 0, 2, 4, 6; the
 * even sites' spread bytes OR the odd sites' shifted by one are the natural word(s). Eight
 * rows a vector when a row is one natural word (its colour words' low 32 bits), four when two.
 */
INVRG_TARGET_AVX512 static void interleave_short_rows(const invrg_packed *p, int j, int count,
                                                      int n, uint64_t *out) {
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  const __m512i spread = _mm512_broadcast_i32x4(_mm_setr_epi8(
      0x00, 0x01, 0x04, 0x05, 0x10, 0x11, 0x14, 0x15, 0x40, 0x41, 0x44, 0x45, 0x50, 0x51, 0x54, 0x55));
  /* n = 1: bytes 0–3 of each word doubled into its 8 bytes; n = 2: word w in words 2w, 2w + 1
   * (permuted first), its bytes 0–7 doubled across them */
  const __m512i dup =
      n == 1 ? _mm512_broadcast_i32x4(_mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 8, 8, 9, 9, 10, 10, 11, 11))
             : _mm512_broadcast_i32x4(_mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
  const __m512i pairs = _mm512_setr_epi64(0, 0, 1, 1, 2, 2, 3, 3);
  const __mmask64 high = _cvtu64_mask64(UINT64_C(0xAAAAAAAAAAAAAAAA)); /* odd bytes */
  const uint64_t *A = invrg_packed_row(p, 0, j), *B = invrg_packed_row(p, 1, j);
  const int per = n == 1 ? 8 : 4; /* rows a vector */
  for (int r = 0; r < count; r += per) {
    const int rem = count - r < per ? count - r : per;
    const __mmask8 m = (__mmask8)((1u << rem) - 1);
    /* lanes whose row has the even sites x = 2k in colour 1: y0 + j + r + lane odd */
    const __mmask8 swap = (__mmask8)(m & ((p->y0 + j + r) % 2 == 0 ? 0xAAu : 0x55u));
    const __m512i a = _mm512_maskz_loadu_epi64(m, A + r), b = _mm512_maskz_loadu_epi64(m, B + r);
    __m512i v[2] = {_mm512_mask_blend_epi64(swap, a, b), _mm512_mask_blend_epi64(swap, b, a)};
    for (int k = 0; k < 2; k++) { /* the even sites, then the odd */
      if (n == 2) v[k] = _mm512_permutexvar_epi64(pairs, v[k]);
      const __m512i d = _mm512_shuffle_epi8(v[k], dup);
      const __m512i nib = _mm512_and_si512(_mm512_mask_blend_epi8(high, d, _mm512_srli_epi16(d, 4)),
                                           nibble);
      v[k] = _mm512_shuffle_epi8(spread, nib);
    }
    const __m512i natural = _mm512_or_si512(v[0], _mm512_slli_epi64(v[1], 1));
    const __mmask8 store = (__mmask8)(n == 1 ? m : (1u << (2 * rem)) - 1);
    _mm512_mask_storeu_epi64(out + (size_t)r * (size_t)n, store, natural);
  }
}
#endif

void invrg_packed_natural_rows(const invrg_packed *p, int j, int count, uint64_t *out) {
  const int n = invrg_packed_natural_words(p);
#if INVRG_SIMD_X86
  if (invrg_simd_active() >= INVRG_SIMD_AVX512) {
    if (p->words == 1)
      interleave_short_rows(p, j, count, n, out);
    else
      interleave_rows_bmi2(p, j, count, n, out);
    return;
  }
#endif
  for (int r = j; r < j + count; r++, out += n) {
    const uint64_t *even, *odd;
    row_pair(p, r, &even, &odd);
    interleave_portable(even, odd, n, out);
  }
}

void invrg_packed_natural_row(const invrg_packed *p, int j, uint64_t *out) {
  invrg_packed_natural_rows(p, j, 1, out);
}

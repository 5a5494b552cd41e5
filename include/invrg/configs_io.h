/**
 * @file configs_io.h
 * Datasets of spin configurations in the run file: [sample][y][x] int8 (±1), or with
 * &output configs_format = 'packed' uint8 [sample][y][x/8], 8 spins per byte, most
 * significant bit first, 1 = +1. The dataset's attribute `format` says which.
 */
#ifndef INVRG_CONFIGS_IO_H
#define INVRG_CONFIGS_IO_H

#include <hdf5.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/lattice.h"
#include "invrg/packed.h"

/** Creates @p name under @p loc for @p n configurations of L × L. Collective (metadata). */
invrg_err invrg_configs_create(hid_t loc, const char *name, int64_t n, int64_t L, bool packed,
                               hid_t *out);

/** Bytes of this rank's block of one configuration as stored. */
size_t invrg_configs_block_bytes(const invrg_lattice *lat, bool packed);

/** Copies this rank's block (interior) into @p out, packed or not. Not collective. */
void invrg_configs_copy_block(const invrg_lattice *lat, bool packed, uint8_t *out);

/**
 * Writes @p count consecutive configurations starting at @p first, each this rank's block
 * as made by invrg_configs_copy_block(), back to back in @p blocks. Independent I/O: only
 * the ranks that hold the data call it.
 */
invrg_err invrg_configs_write(hid_t dset, const invrg_lattice *lat, bool packed, int64_t first,
                              int64_t count, const uint8_t *blocks);

/**
 * Writes this rank's block of @p lat as configuration @p index, in slabs of rows through a
 * buffer of about 1 MiB (no copy of the block: big dreams). Independent I/O.
 */
invrg_err invrg_configs_write_lattice(hid_t dset, const invrg_lattice *lat, bool packed,
                                     int64_t index);

/**
 * Writes this rank's rows of the packed lattice @p p (whole rows: all of them if @p p is whole
 * on this rank) as configuration @p index, int8 or @p packed, in slabs of rows through a
 * buffer of about 1 MiB. Independent I/O: only the ranks that hold the rows call it (for a
 * lattice whole on every rank of a group, one of them).
 */
invrg_err invrg_configs_write_packed(hid_t dset, const invrg_packed *p, bool packed,
                                     int64_t index);

/**
 * invrg_configs_write_lattice() or invrg_configs_write_packed() as collective writes of every
 * rank of @p comm, the file's communicator (a group that spans all ranks holds the lattice):
 * each rank writes its rows, or none when @p writes is false (a lattice whole on every rank is
 * written by one); MPI-IO may then gather the rows into few large writes. With @p comm
 * MPI_COMM_NULL, independent writes of the ranks that call it. Collective on @p comm.
 */
invrg_err invrg_configs_write_lattice_all(hid_t dset, const invrg_lattice *lat, bool packed,
                                         int64_t index, bool writes, MPI_Comm comm);
invrg_err invrg_configs_write_packed_all(hid_t dset, const invrg_packed *p, bool packed,
                                        int64_t index, bool writes, MPI_Comm comm);

/**
 * Reads this rank's block of configuration @p index (int8) of @p dset, as
 * invrg_configs_copy_block() makes one (nx · ny bytes). Independent I/O.
 */
invrg_err invrg_configs_read_block(hid_t dset, const invrg_lattice *lat, int64_t index,
                                   uint8_t *block);

/**
 * The shape of a configurations dataset: @p n configurations of @p L × @p L, stored int8 or
 * packed (attribute `format`; by the shape if the attribute is missing). Input error, naming
 * @p what (e.g. "'old.h5': /mc/L16/configs"), if the dataset is not [n][L][L] int8 or
 * [n][L][L/8] packed bytes. Collective on the file's communicator (metadata reads).
 */
invrg_err invrg_configs_info(hid_t dset, const char *what, int64_t *n, int64_t *L, bool *packed);

/**
 * Reads this rank's block of configuration @p index of @p dset, int8 or @p packed, as ±1
 * bytes (nx · ny, the int8 form of invrg_configs_copy_block()), for invrg_configs_paste_block().
 * Packed rows are unpacked from the bit where the block starts, so any block of any grid
 * works. An int8 dataset may hold values that are not spins (a damaged or foreign file): see
 * invrg_non_spin_note(). Not collective (independent I/O: each rank reads the part of its
 * block).
 */
invrg_err invrg_configs_read_spins(hid_t dset, const invrg_lattice *lat, bool packed,
                                   int64_t index, uint8_t *block);

/** The first value that is not a spin among configurations read (a damaged or foreign file):
 * the lowest (configuration, y, x), and the value; config INVRG_NO_NON_SPIN if none. */
typedef struct {
  int64_t config, x, y, value;
} invrg_non_spin;

#define INVRG_NO_NON_SPIN INT64_MAX
#define INVRG_NON_SPIN_NONE ((invrg_non_spin){INVRG_NO_NON_SPIN, 0, 0, 0})

/**
 * Configuration @p config's @p block of ±1 bytes (@p nx × @p ny, its first site at global
 * (@p x0, @p y0)) checked: its first value that is not a spin (row-major) noted in @p bad if it
 * is the lowest (configuration, y, x) so far, and every such value made +1, so that the work
 * can go on until the ranks agree (invrg_non_spin_agree()). Not collective.
 */
void invrg_non_spin_note(invrg_non_spin *bad, int64_t config, uint8_t *block, int64_t nx,
                         int64_t ny, int64_t x0, int64_t y0);

/**
 * Every rank of @p comm learns the lowest (configuration, y, x) any rank noted in @p bad, and
 * its value: @p bad is that afterwards (config INVRG_NO_NON_SPIN if none), the same on any
 * layout. Collective on @p comm.
 */
invrg_err invrg_non_spin_agree(invrg_non_spin *bad, MPI_Comm comm);

/**
 * Puts an int8 block made by invrg_configs_copy_block() back into @p lat and
 * fills the halos. Collective on lat->comm.
 */
invrg_err invrg_configs_paste_block(invrg_lattice *lat, const uint8_t *block);

#endif

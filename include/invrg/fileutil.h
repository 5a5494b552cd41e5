/**
 * @file fileutil.h
 * Whole-file operations the run file and checkpoints need: a durable copy and
 * a durable rename; whether two paths name one file. Not collective: call them on one rank.
 */
#ifndef INVRG_FILEUTIL_H
#define INVRG_FILEUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "invrg/error.h"

/**
 * Copies @p from to @p to (created or truncated) and syncs it to disk.
 * Runtime error naming the file and the reason (e.g. "No space left on
 * device"); a failed copy is removed.
 */
invrg_err invrg_file_copy(const char *from, const char *to);

/** Syncs @p path's data to disk. Runtime error naming the file. */
invrg_err invrg_file_sync(const char *path);

/**
 * Renames @p from to @p to (atomic on POSIX file systems) and syncs the
 * directory, so the new name survives a crash. Runtime error naming both.
 */
invrg_err invrg_file_rename(const char *from, const char *to);

/**
 * Renames @p from to @p to only if no file has the name @p to: atomically by a hard link
 * where the file system has them, else by a test just before the rename. *exists is set
 * (and nothing renamed, no error) when one has it. Runtime error naming both otherwise.
 */
invrg_err invrg_file_rename_new(const char *from, const char *to, bool *exists);

/** The directory part of @p path in @p buf ("." when it has none, "/" for the root). */
void invrg_file_directory(const char *path, char *buf, size_t len);

/** True if @p path exists. */
bool invrg_file_exists(const char *path);

/** True if @p path starts with the HDF5 signature (a run file, a checkpoint, a model…). */
bool invrg_file_is_hdf5(const char *path);

/**
 * NULL if this process can read the regular file @p path, else why not, as words that follow
 * the quoted name in a message: "does not exist", "is a directory", "is not a regular file" (a
 * FIFO or device, whose opening may wait for ever), or "cannot be read: " and the system's
 * reason (e.g. "Permission denied"). Points to static text, valid until the next call.
 */
const char *invrg_file_unreadable(const char *path);

/**
 * NULL unless this process could not replace or remove the existing file @p path by a rename
 * in its directory, else why, as words that follow the quoted name in a message: immutable or
 * append-only (chattr +i, +a: a rename over it fails for every user, root too), or another
 * user's file in a directory with the sticky bit (like /tmp: only the file's or the
 * directory's owner, or root, may replace it). A run replaces its output and checkpoints that
 * way, hours after it started: asked before any work. Points to static text, valid until the
 * next call.
 */
const char *invrg_file_unreplaceable(const char *path);

/**
 * True if @p a and @p b name the same file: the same device and inode when both exist, else the
 * same name in the same directory (directories compared by their real paths), so that 'x.h5',
 * './x.h5' and 'run/../x.h5' are one file before it exists.
 */
bool invrg_file_same(const char *a, const char *b);

#endif

/* Durable whole-file copy and rename: data reaches the disk before a name points at it. */
#include "invrg/fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/fs.h> /* FS_IOC_GETFLAGS, FS_IMMUTABLE_FL, FS_APPEND_FL */
#include <sys/ioctl.h>
#endif

bool invrg_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

bool invrg_file_is_hdf5(const char *path) {
  static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  unsigned char head[8];
  FILE *f = fopen(path, "rb");
  if (f == NULL) return false;
  const bool hdf5 = fread(head, 1, sizeof head, f) == sizeof head &&
                    memcmp(head, signature, sizeof head) == 0;
  fclose(f);
  return hdf5;
}

/* "cannot be read: " and errno's reason, for invrg_file_unreadable. */
static const char *refused_by_system(void) {
  static char why[160];
  snprintf(why, sizeof why, "cannot be read: %s", strerror(errno));
  return why;
}

const char *invrg_file_unreadable(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return errno == ENOENT ? "does not exist" : refused_by_system();
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  /* HDF5 would say only that the file is not HDF5 when it may not open it: ask the system */
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return refused_by_system();
  close(fd);
  return NULL;
}

/* The inode flags of @p path that forbid a rename over it (Linux: chattr +i, +a), as words for
 * invrg_file_unreplaceable; NULL if none, or if they cannot be read (no permission to open
 * the file, a file system without them): the rename then decides. */
static const char *rename_forbidding_flags(const char *path) {
#if defined(__linux__) && defined(FS_IOC_GETFLAGS)
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return NULL;
  int flags = 0; /* the kernel reads and writes an int, whatever the ioctl's declared type */
  const bool known = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  close(fd);
  if (known && (flags & FS_IMMUTABLE_FL)) return "is immutable (chattr +i)";
  if (known && (flags & FS_APPEND_FL)) return "is append-only (chattr +a)";
#else
  (void)path;
#endif
  return NULL;
}

const char *invrg_file_unreplaceable(const char *path) {
  static char why[160];
  struct stat st, dir_st;
  char dir[PATH_MAX];
  if (lstat(path, &st) != 0) return NULL; /* nothing to replace */
  /* a rename replaces the name: a symbolic link itself, whose flags cannot be set */
  const char *flags = S_ISLNK(st.st_mode) ? NULL : rename_forbidding_flags(path);
  if (flags != NULL) return flags;
  invrg_file_directory(path, dir, sizeof dir);
  const uid_t me = geteuid();
  /* the sticky bit (the kernel's check_sticky): the file's owner, the directory's owner, or a
   * process with CAP_FOWNER (root: taken as having it) */
  if (stat(dir, &dir_st) == 0 && (dir_st.st_mode & S_ISVTX) && me != 0 && st.st_uid != me &&
      dir_st.st_uid != me) {
    snprintf(why, sizeof why, "belongs to another user (uid %ld) in a directory with the "
             "sticky bit (like /tmp), where only its owner may replace it", (long)st.st_uid);
    return why;
  }
  return NULL;
}

void invrg_file_directory(const char *path, char *buf, size_t len) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    snprintf(buf, len, ".");
  else
    snprintf(buf, len, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* @p path as the real path of its directory and its last component; false if that directory
 * cannot be resolved. */
static bool canonical_path(const char *path, char *out, size_t len) {
  char dir[PATH_MAX], real[PATH_MAX];
  const char *slash = strrchr(path, '/'), *name = slash == NULL ? path : slash + 1;
  invrg_file_directory(path, dir, sizeof dir);
  if (realpath(dir, real) == NULL) return false;
  return snprintf(out, len, "%s/%s", real, name) < (int)len;
}

bool invrg_file_same(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  char ca[PATH_MAX + 256], cb[PATH_MAX + 256];
  if (canonical_path(a, ca, sizeof ca) && canonical_path(b, cb, sizeof cb))
    return strcmp(ca, cb) == 0;
  return strcmp(a, b) == 0;
}

invrg_err invrg_file_sync(const char *path) {
  invrg_err err = INVRG_SUCCESS;
  int fd = open(path, O_RDONLY);
  INVRG_CHECK(fd >= 0, INVRG_ERR_RUNTIME, "cannot open '%s' to sync it: %s", path, strerror(errno));
  INVRG_CHECK(fsync(fd) == 0, INVRG_ERR_RUNTIME, "cannot sync '%s' to disk: %s", path,
              strerror(errno));
cleanup:
  if (fd >= 0) close(fd);
  return err;
}

/* write(2) until all of @p n bytes are out (it may write less than asked). */
static bool write_all(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    buf += w, n -= (size_t)w;
  }
  return true;
}

invrg_err invrg_file_copy(const char *from, const char *to) {
  invrg_err err = INVRG_SUCCESS;
  const size_t chunk = (size_t)8 << 20;
  int in = -1, out = -1;
  char *buf = malloc(chunk);
  INVRG_CHECK_ALLOC(buf);
  in = open(from, O_RDONLY);
  INVRG_CHECK(in >= 0, INVRG_ERR_RUNTIME, "cannot read '%s': %s", from, strerror(errno));
  out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  INVRG_CHECK(out >= 0, INVRG_ERR_RUNTIME, "cannot create '%s': %s", to, strerror(errno));
  for (;;) {
    ssize_t n = read(in, buf, chunk);
    if (n < 0 && errno == EINTR) continue;
    INVRG_CHECK(n >= 0, INVRG_ERR_RUNTIME, "cannot read '%s': %s", from, strerror(errno));
    if (n == 0) break;
    INVRG_CHECK(write_all(out, buf, (size_t)n), INVRG_ERR_RUNTIME, "cannot write '%s': %s", to,
                strerror(errno));
  }
  INVRG_CHECK(fsync(out) == 0, INVRG_ERR_RUNTIME, "cannot sync '%s' to disk: %s", to,
              strerror(errno));
  int closed = close(out);
  out = -1;
  INVRG_CHECK(closed == 0, INVRG_ERR_RUNTIME, "cannot close '%s': %s", to, strerror(errno));
cleanup:
  free(buf);
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  if (err != INVRG_SUCCESS) unlink(to);
  return err;
}

/* Syncs the directory of @p path, so that a new name in it survives a crash; a directory that
 * cannot be synced (some network file systems) is no error. */
static void sync_directory_of(const char *path) {
  char dir[PATH_MAX];
  invrg_file_directory(path, dir, sizeof dir);
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

invrg_err invrg_file_rename(const char *from, const char *to) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(rename(from, to) == 0, INVRG_ERR_RUNTIME, "cannot rename '%s' to '%s': %s", from, to,
              strerror(errno));
  sync_directory_of(to);
cleanup:
  return err;
}

invrg_err invrg_file_rename_new(const char *from, const char *to, bool *exists) {
  invrg_err err = INVRG_SUCCESS;
  *exists = false;
  if (link(from, to) != 0) { /* the new name, atomically, unless a file has it */
    if (!invrg_file_exists(to)) { /* no hard links here (EPERM, ENOTSUP, ...): a plain rename */
      INVRG_CALL(invrg_file_rename(from, to));
      goto cleanup;
    }
    if (!invrg_file_same(from, to)) { /* same: a link resent over NFS that was made */
      *exists = true;
      goto cleanup;
    }
  }
  INVRG_CHECK(unlink(from) == 0, INVRG_ERR_RUNTIME, "cannot remove '%s' after linking it to '%s': "
              "%s", from, to, strerror(errno));
  sync_directory_of(to);
cleanup:
  return err;
}


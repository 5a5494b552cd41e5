/* LD_PRELOAD shim for tests: "the disk is full". Writes to files whose name (the last part
 * of the path) is $INVRG_FAIL_PATH fail with ENOSPC once $INVRG_FAIL_AFTER bytes (default 0) have been
 * written to such files by this process; only on MPI rank $INVRG_FAIL_RANK if that is set.
 * Covers write, pwrite, pwritev and writev, which is what HDF5 and Open MPI's MPI-IO use on
 * Linux, and fwrite (glibc's stdio writes through its internal write, which a shim cannot
 * replace: a full disk shows there as a short fwrite). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long written;

/* Is this write to a "full" file? Counts the bytes it would add. */
static int must_fail(int fd, size_t n) {
  const char *pattern = getenv("INVRG_FAIL_PATH"), *rank = getenv("INVRG_FAIL_RANK");
  if (pattern == NULL || pattern[0] == '\0') return 0;
  if (rank != NULL) {
    const char *mine = getenv("OMPI_COMM_WORLD_RANK");
    if (strcmp(rank, mine != NULL ? mine : "0") != 0) return 0;
  }
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t len = readlink(link, path, sizeof path - 1);
  if (len <= 0) return 0;
  path[len] = '\0';
  const char *base = strrchr(path, '/');
  if (strcmp(base != NULL ? base + 1 : path, pattern) != 0) return 0;
  const char *after = getenv("INVRG_FAIL_AFTER");
  if (written + (long long)n > (after != NULL ? atoll(after) : 0)) return 1;
  written += (long long)n;
  return 0;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);

/* The C library's own function of that name, looked up once. */
#define REAL(name, type)          \
  static type real_##name = NULL; \
  if (real_##name == NULL) *(void **)&real_##name = dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n) {
  REAL(write, write_fn);
  if (must_fail(fd, n)) { errno = ENOSPC; return -1; }
  return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  REAL(pwrite, pwrite_fn);
  if (must_fail(fd, n)) { errno = ENOSPC; return -1; }
  return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
  REAL(pwrite64, pwrite_fn);
  if (must_fail(fd, n)) { errno = ENOSPC; return -1; }
  return real_pwrite64(fd, buf, n, off);
}

static size_t total(const struct iovec *iov, int cnt) {
  size_t n = 0;
  for (int i = 0; i < cnt; i++) n += iov[i].iov_len;
  return n;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  REAL(writev, writev_fn);
  if (must_fail(fd, total(iov, cnt))) { errno = ENOSPC; return -1; }
  return real_writev(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
  REAL(pwritev, pwritev_fn);
  if (must_fail(fd, total(iov, cnt))) { errno = ENOSPC; return -1; }
  return real_pwritev(fd, iov, cnt, off);
}

typedef size_t (*fwrite_fn)(const void *, size_t, size_t, FILE *);

size_t fwrite(const void *buf, size_t size, size_t n, FILE *stream) {
  REAL(fwrite, fwrite_fn);
  if (must_fail(fileno(stream), size * n)) { errno = ENOSPC; return 0; }
  return real_fwrite(buf, size, n, stream);
}

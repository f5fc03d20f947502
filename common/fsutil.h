/* fsutil.h - small filesystem helpers with the durability steps spelled out.
 * Every function returns 0 or -1 with err naming the path and errno text. */
#ifndef LAKEHOUSE_FSUTIL_H
#define LAKEHOUSE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>
#include "error.h"

/* mkdir -p with the given mode for created directories (0750 in the project). */
int fsutil_mkdirs(const char *path, mode_t mode, char err[ERROR_MAX]);
/* fsync a directory so that a rename/create/unlink inside it is durable. */
int fsutil_fsync_dir(const char *dir, char err[ERROR_MAX]);
/* fsync the directory that contains path. */
int fsutil_fsync_parent(const char *path, char err[ERROR_MAX]);
/* write() until done, retrying EINTR. */
int fsutil_write_all(int fd, const void *buf, size_t len, char err[ERROR_MAX]);
/* Read a whole file (at most max bytes, else error) into a malloc'd,
 * NUL-terminated buffer; caller owns *out. */
int fsutil_read_file(const char *path, size_t max, char **out, size_t *len, char err[ERROR_MAX]);
/* snprintf into out; returns -1 (with err) if the result was truncated. */
int fsutil_path(char *out, size_t out_size, char err[ERROR_MAX], const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Write a whole file atomically: tmp in the same dir, fsync, rename, fsync dir. */
int fsutil_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode,
                             char err[ERROR_MAX]);
/* The same, but never replaces: fails with kind ERROR_CONFLICT (error.h)
 * when path exists.
 * Readers see the whole file or none. */
int fsutil_write_file_exclusive(const char *path, const void *buf, size_t len, mode_t mode,
                                char err[ERROR_MAX]);

#endif

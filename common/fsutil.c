/* fsutil.c - filesystem helpers with the durability steps spelled out
 * (see fsutil.h). Every error names the path and the errno text. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fsutil_mkdirs(const char *path, mode_t mode, char err[ERROR_MAX])
{
    char buf[PATH_MAX];
    if (fsutil_path(buf, sizeof buf, err, "%s", path) < 0)
        return -1;
    if (buf[0] == '\0')
        return error_set(err, "mkdir: empty path");
    /* Create each prefix in turn; existing directories are fine, anything
     * else in the way is an error. */
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, mode) < 0) {
            struct stat st;
            int e = errno;
            if (e != EEXIST || stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
                return error_set(err, "mkdir %s: %s", buf,
                                 e == EEXIST ? "exists and is not a directory" : strerror(e));
        }
        *p = saved;
        if (saved == '\0')
            return 0;
    }
}

int fsutil_fsync_dir(const char *dir, char err[ERROR_MAX])
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return error_set(err, "open directory %s: %s", dir, strerror(errno));
    if (fsync(fd) < 0) {
        error_set(err, "fsync directory %s: %s", dir, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int fsutil_fsync_parent(const char *path, char err[ERROR_MAX])
{
    char dir[PATH_MAX];
    if (fsutil_path(dir, sizeof dir, err, "%s", path) < 0)
        return -1;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') /* "a/b/" names b, whose parent is a */
        dir[--n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    return fsutil_fsync_dir(dir, err);
}

int fsutil_write_all(int fd, const void *buf, size_t len, char err[ERROR_MAX])
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return error_set(err, "write fd %d: %s", fd, n < 0 ? strerror(errno) : "wrote nothing");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fsutil_read_file(const char *path, size_t max, char **out, size_t *len, char err[ERROR_MAX])
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(err, "open %s: %s", path, strerror(errno));
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        error_set(err, "read %s: out of memory", path);
        goto fail;
    }
    for (;;) {
        if (used == cap) {
            /* Grow only while the file may still fit: one byte past max
             * is enough to know it does not. */
            if (used > max) {
                error_set(err, "read %s: larger than %zu bytes", path, max);
                goto fail;
            }
            size_t limit = max < SIZE_MAX / 2 ? max + 2 : SIZE_MAX / 2;
            size_t next = cap * 2 > limit ? limit : cap * 2;
            char *grown = realloc(buf, next);
            if (grown == NULL) {
                error_set(err, "read %s: out of memory", path);
                goto fail;
            }
            buf = grown;
            cap = next;
        }
        ssize_t n = read(fd, buf + used, cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            error_set(err, "read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    if (used > max) {
        error_set(err, "read %s: larger than %zu bytes", path, max);
        goto fail;
    }
    if (used == cap) {
        char *grown = realloc(buf, used + 1);
        if (grown == NULL) {
            error_set(err, "read %s: out of memory", path);
            goto fail;
        }
        buf = grown;
    }
    buf[used] = '\0';
    close(fd);
    *out = buf;
    *len = used;
    return 0;
fail:
    free(buf);
    close(fd);
    return -1;
}

int fsutil_path(char *out, size_t out_size, char err[ERROR_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, out_size, fmt, ap);
    va_end(ap);
    if (out_size == 0)
        return error_set(err, "path buffer of size 0");
    if (n < 0 || (size_t)n >= out_size)
        return error_set(err, "path too long (limit %zu bytes): %.200s...", out_size - 1, out);
    return 0;
}

/* Write buf to a fresh temporary file beside path, fsync'd and closed; its
 * name goes to tmp. 0, or -1 with err (the temporary file removed). */
static int fsutil_write_tmp(const char *path, const void *buf, size_t len, mode_t mode,
                            char tmp[PATH_MAX], char err[ERROR_MAX])
{
    if (fsutil_path(tmp, PATH_MAX, err, "%s.tmp.XXXXXX", path) < 0)
        return -1;
    int fd = mkostemp(tmp, O_CLOEXEC); /* unique: concurrent writers never share a tmp file */
    if (fd < 0)
        return error_set(err, "create %s: %s", tmp, strerror(errno));
    if (fchmod(fd, mode) < 0) {
        error_set(err, "chmod %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (fsutil_write_all(fd, buf, len, err) < 0) {
        error_prefix(err, "%s", tmp);
        goto fail;
    }
    if (fsync(fd) < 0) {
        error_set(err, "fsync %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        error_set(err, "close %s: %s", tmp, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

int fsutil_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode,
                             char err[ERROR_MAX])
{
    char tmp[PATH_MAX];
    if (fsutil_write_tmp(path, buf, len, mode, tmp, err) < 0)
        return -1;
    if (rename(tmp, path) < 0) {
        error_set(err, "rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return fsutil_fsync_parent(path, err);
}

int fsutil_write_file_exclusive(const char *path, const void *buf, size_t len, mode_t mode,
                                char err[ERROR_MAX])
{
    char tmp[PATH_MAX];
    if (fsutil_write_tmp(path, buf, len, mode, tmp, err) < 0)
        return -1;
    /* link() fails with EEXIST instead of replacing: the exclusive step */
    int rc = link(tmp, path);
    int saved = errno;
    unlink(tmp);
    if (rc < 0)
        return error_fail(err, saved == EEXIST ? ERROR_CONFLICT : ERROR_INTERNAL, "create %s: %s",
                          path, strerror(saved));
    return fsutil_fsync_parent(path, err);
}

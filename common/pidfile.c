/* pidfile.c - pid files that are also single-instance locks (see pidfile.h). */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fsutil.h"
#include "layout.h"

struct pidfile {
    int fd;
    char path[PATH_MAX];
};

int pidfile_take(const char *data_dir, const char *process, struct pidfile **out,
                 char err[ERROR_MAX])
{
    struct pidfile *pf = calloc(1, sizeof *pf);
    if (pf == NULL)
        return error_set(err, "out of memory");
    if (layout_pid_file(pf->path, sizeof pf->path, data_dir, process, err) < 0)
        goto fail;
    pf->fd = open(pf->path, O_RDWR | O_CREAT | O_CLOEXEC, LAYOUT_FILE_MODE);
    if (pf->fd < 0) {
        error_set(err, "open %s: %s", pf->path, strerror(errno));
        goto fail;
    }
    if (flock(pf->fd, LOCK_EX | LOCK_NB) < 0) {
        char other[32] = "";
        ssize_t n = pread(pf->fd, other, sizeof other - 1, 0);
        other[n > 0 ? n : 0] = '\0';
        other[strcspn(other, "\n")] = '\0';
        error_set(err, "another lakehouse-%s (pid %s) is running on this data directory (%s is locked)",
                  process, other[0] ? other : "?", pf->path);
        close(pf->fd);
        goto fail;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, pid, (size_t)len, 0) != len) {
        error_set(err, "write %s: %s", pf->path, strerror(errno));
        close(pf->fd);
        goto fail;
    }
    *out = pf;
    return 0;
fail:
    free(pf);
    return -1;
}

void pidfile_release(struct pidfile **pidfile)
{
    if (pidfile == NULL || *pidfile == NULL)
        return;
    /* Unlink while still holding the lock, so that no second instance can
     * lock the old inode and then lose its file to our unlink. */
    unlink((*pidfile)->path);
    close((*pidfile)->fd);
    free(*pidfile);
    *pidfile = NULL;
}

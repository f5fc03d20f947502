/* powercut_shim.c - LD_PRELOAD fault injection for tests/fault/powercut.sh.
 *
 * Counts the calls of one kind in one program and acts at the Nth:
 *   FAULT_PROG   program name to act in (e.g. "lakehouse-ingest"); other
 *                programs are untouched
 *   FAULT_CALL   "sync" (fsync, fdatasync), "rename" (rename, renameat,
 *                renameat2) or "write" (write to a file whose path contains
 *                FAULT_PATH, e.g. "/spool/": the process dies before that
 *                write, after the writes and syncs that came before it)
 *   FAULT_AT     N: act at the Nth call of that kind (1-based)
 *   FAULT_MODE   "exit": _exit(137) before the call is made - the process
 *                dies between write and fsync, or between fsync and rename,
 *                like a power cut for everything not yet synced;
 *                "fail": the call returns -1 with errno EIO (sync) or ENOSPC
 *                (rename) and does nothing
 *   FAULT_ONCE   a path: the fault happens once (the file is created when it
 *                fires; while it exists the shim does nothing), so a process
 *                restarted by the supervisor runs normally
 * Built by the test with `cc -shared -fPIC`; not part of any product binary. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int shim_counter_sync;
static int shim_counter_rename;
static int shim_counter_write;

/* 1 when this call is the one to act on. */
static int shim_fires(const char *kind, int *counter)
{
    const char *prog = getenv("FAULT_PROG");
    const char *call = getenv("FAULT_CALL");
    const char *at = getenv("FAULT_AT");
    const char *once = getenv("FAULT_ONCE");
    extern char *program_invocation_short_name;
    if (prog == NULL || call == NULL || at == NULL || strcmp(call, kind) != 0 ||
        strcmp(program_invocation_short_name, prog) != 0)
        return 0;
    if (once != NULL && access(once, F_OK) == 0)
        return 0;
    if (++*counter != atoi(at))
        return 0;
    if (once != NULL) {
        int fd = open(once, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0)
            close(fd);
    }
    char msg[160];
    int n = snprintf(msg, sizeof msg, "powercut_shim: %s call %d in %s (%d): %s\n", kind,
                     *counter, prog, (int)getpid(), getenv("FAULT_MODE"));
    if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
        n = 0;
    const char *mode = getenv("FAULT_MODE");
    if (mode != NULL && strcmp(mode, "exit") == 0)
        _exit(137);
    return 1;
}

int fsync(int fd)
{
    static int (*real)(int);
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (shim_fires("sync", &shim_counter_sync)) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (shim_fires("sync", &shim_counter_sync)) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    if (real == NULL)
        real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    if (shim_fires("rename", &shim_counter_rename)) {
        errno = ENOSPC;
        return -1;
    }
    return real(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
    static int (*real)(int, const char *, int, const char *);
    if (real == NULL)
        real = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
    if (shim_fires("rename", &shim_counter_rename)) {
        errno = ENOSPC;
        return -1;
    }
    return real(fromfd, from, tofd, to);
}

/* Does fd name a file whose path contains FAULT_PATH? */
static int shim_fd_matches(int fd)
{
    const char *want = getenv("FAULT_PATH");
    const char *call = getenv("FAULT_CALL");
    if (want == NULL || call == NULL || strcmp(call, "write") != 0)
        return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    return strstr(path, want) != NULL;
}

ssize_t write(int fd, const void *buf, size_t count)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (real == NULL)
        real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (fd > STDERR_FILENO && shim_fd_matches(fd) &&
        shim_fires("write", &shim_counter_write)) {
        errno = ENOSPC;
        return -1;
    }
    return real(fd, buf, count);
}

/* watch.c - inotify on the bronze tree, through libinotifytools.
 *
 * Files appear in bronze/ only by rename() of a complete file (IN_MOVED_TO).
 * Directories (new domain, endpoint, dt=) appear by mkdir (IN_CREATE|IN_ISDIR):
 * each new directory gets a recursive watch and is then walked, because files
 * may land in it (or in directories below it) before the watch exists. A
 * file seen twice (event and walk) is harmless: the pending queue and the
 * ledger both deduplicate. IN_Q_OVERFLOW means events were lost: the caller
 * re-scans everything.
 *
 * Integration with the poll loop: libinotifytools keeps its inotify
 * descriptor private, and inotifytools_next_events(timeout, n) takes whole
 * seconds (select(2) with tv_sec = timeout; 0 = return at once when nothing
 * is ready, negative = block). So the loop never blocks inside the library:
 * the descriptor is found once after initialisation (the "anon_inode:inotify"
 * link among /proc/self/fd; the process opens no other inotify instance) and
 * put in the zmq_poll set; when it is readable, watch_drain calls
 * next_events(0, 1) until it returns NULL (the library also hands out events
 * it has already buffered without touching the descriptor, so draining to
 * NULL leaves nothing behind). If the descriptor cannot be found, watch_fd
 * returns -1 and the caller drains on a short timer instead. */
#include "processor.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>

#include "bronze.h"
#include "log.h"

#define WATCH_EVENTS (IN_MOVED_TO | IN_CREATE)
/* Events handled per drain: the rest wait for the next loop turn, so that a
 * flood of events cannot starve the control socket. */
#define WATCH_DRAIN_MAX 4096
/* Depth of bronze/<d>/<e>/dt=<date>/<file> below bronze/. */
#define WATCH_WALK_DEPTH 4

struct watch {
    char root[PATH_MAX];
    int fd;
};

static bool watch_is_bronze_name(const char *name)
{
    uint64_t first, last;
    return bronze_parse_name(name, &first, &last) == 0;
}

/* The inotify descriptor libinotifytools opened: the only inotify link
 * among our descriptors (-1 if none or several). */
static int watch_find_fd(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int found = -1, count = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        char link[64], target[64];
        snprintf(link, sizeof link, "/proc/self/fd/%s", ent->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, "anon_inode:inotify") == 0) {
            found = atoi(ent->d_name);
            count++;
        }
    }
    closedir(d);
    return count == 1 ? found : -1;
}

int watch_open(const char *bronze_dir, struct watch **out, char err[ERROR_MAX])
{
    struct watch *w = calloc(1, sizeof *w);
    if (w == NULL)
        return error_set(err, "out of memory");
    snprintf(w->root, sizeof w->root, "%s", bronze_dir);
    if (!inotifytools_initialize()) {
        error_set(err, "inotify: %s", strerror(inotifytools_error()));
        free(w);
        return -1;
    }
    if (!inotifytools_watch_recursively(bronze_dir, WATCH_EVENTS)) {
        int e = inotifytools_error();
        error_set(err, "inotify watch on %s: %s%s", bronze_dir, strerror(e),
                  e == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
        inotifytools_cleanup();
        free(w);
        return -1;
    }
    w->fd = watch_find_fd();
    if (w->fd < 0)
        log_warn("watch_fd_unknown reason=\"inotify descriptor not found\" fallback=polling");
    log_info("watching dir=%s watches=%d", bronze_dir, inotifytools_get_num_watches());
    *out = w;
    return 0;
}

void watch_close(struct watch **watch)
{
    if (*watch == NULL)
        return;
    inotifytools_cleanup();
    free(*watch);
    *watch = NULL;
}

int watch_fd(const struct watch *watch)
{
    return watch->fd;
}

/* Report every bronze file below dir (a new directory), down to the file level. */
static void watch_walk(const char *dir, int depth, void (*on_file)(void *, const char *),
                       void *arg)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return; /* removed again meanwhile: nothing to merge */
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        struct stat st;
        if (lstat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth > 0)
            watch_walk(path, depth - 1, on_file, arg);
        else if (S_ISREG(st.st_mode) && watch_is_bronze_name(ent->d_name))
            on_file(arg, path);
    }
    closedir(d);
}

/* Depth of a directory below the root (bronze/x -> 1), to bound the walk. */
static int watch_depth(const struct watch *w, const char *path)
{
    const char *rest = path + strlen(w->root);
    int depth = 0;
    for (; *rest; rest++)
        if (*rest == '/' && rest[1] != '\0')
            depth++;
    return depth;
}

static void watch_new_dir(struct watch *w, const char *path,
                          void (*on_file)(void *, const char *), void *arg)
{
    if (!inotifytools_watch_recursively(path, WATCH_EVENTS)) {
        int e = inotifytools_error();
        if (e != ENOENT)
            log_error("watch_failed dir=%s reason=\"%s\"%s", path, strerror(e),
                      e == ENOSPC ? " hint=\"raise fs.inotify.max_user_watches\"" : "");
        return;
    }
    log_debug("watch_added dir=%s", path);
    int left = WATCH_WALK_DEPTH - watch_depth(w, path);
    if (left >= 0)
        watch_walk(path, left, on_file, arg);
}

int watch_drain(struct watch *w, void (*on_file)(void *arg, const char *path), void *arg,
                bool *overflow, char err[ERROR_MAX])
{
    for (int i = 0; i < WATCH_DRAIN_MAX; i++) {
        struct inotify_event *ev = inotifytools_next_events(0, 1);
        if (ev == NULL) {
            int e = inotifytools_error();
            if (e != 0 && e != EINTR)
                return error_set(err, "inotify read: %s", strerror(e));
            return 0;
        }
        if (ev->mask & IN_Q_OVERFLOW) {
            *overflow = true;
            continue;
        }
        if (ev->len == 0 || !(ev->mask & (IN_MOVED_TO | IN_CREATE)))
            continue; /* IN_IGNORED of a removed directory and the like */
        const char *dir = inotifytools_filename_from_wd(ev->wd);
        if (dir == NULL)
            continue;
        char path[PATH_MAX];
        /* watched directories are stored with a trailing '/' */
        int n = snprintf(path, sizeof path, "%s%s%s", dir,
                         dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", ev->name);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        if (ev->mask & IN_ISDIR)
            watch_new_dir(w, path, on_file, arg);
        else if ((ev->mask & IN_MOVED_TO) && watch_is_bronze_name(ev->name))
            on_file(arg, path);
    }
    /* Stopped at the cap: the library may hold read-ahead events that will
     * not make the descriptor readable again - the caller drains again soon. */
    return 1;
}

/* landing_watch.c - finding dropped files: inotify watches on landing/,
 * its domain and endpoint directories, scans, and the queue of names. */
#include "landing_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "bronze.h"
#include "endpoints.h"
#include "files.h"
#include "fsutil.h"
#include "ingest.h"
#include "jsonsplit.h"
#include "layout.h"
#include "log.h"
#include "spool.h"
#include "timeutil.h"

/* ------------------------------------------------------------ helpers */

static bool landing_name_printable(const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            return false;
    return true;
}

/* ------------------------------------------------------------ queue, watches */

void landing_refuse(const char *rel, const char *reason)
{
    log_warn("landing_refused path=%s reason=\"%s\"", rel, reason);
}

static bool landing_queue_has(const struct landing *l, const struct landing_item *it)
{
    for (size_t i = 0; i < l->qcount; i++) {
        const struct landing_item *q = &l->queue[(l->qhead + i) % LANDING_QUEUE_MAX];
        if (strcmp(q->name, it->name) == 0 && strcmp(q->endpoint, it->endpoint) == 0 &&
            strcmp(q->domain, it->domain) == 0)
            return true;
    }
    return false;
}

void landing_enqueue(struct landing *l, const char *domain, const char *endpoint,
                            const char *name)
{
    if (name[0] == '.')
        return;
    if (strlen(name) > LANDING_NAME_MAX || !landing_name_printable(name)) {
        char rel[PATH_MAX];
        layout_landing_rel(rel, sizeof rel - 1, domain, endpoint, NULL, NULL);
        strcat(rel, "/");
        landing_refuse(rel, "a file name there is longer than 243 bytes or has control "
                            "characters, quotes or backslashes; rename it");
        return;
    }
    struct landing_item it;
    snprintf(it.domain, sizeof it.domain, "%s", domain);
    snprintf(it.endpoint, sizeof it.endpoint, "%s", endpoint);
    snprintf(it.name, sizeof it.name, "%s", name);
    if (landing_queue_has(l, &it))
        return;
    if (l->qcount == LANDING_QUEUE_MAX) { /* bounded: find it again by a scan later */
        l->rescan_wanted = true;
        return;
    }
    l->queue[(l->qhead + l->qcount) % LANDING_QUEUE_MAX] = it;
    l->qcount++;
}

static void landing_watch_add(struct landing *l, const char *path, int depth, const char *domain,
                              const char *endpoint)
{
    int wd = inotify_add_watch(l->ifd, path,
                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR |
                                   IN_DONT_FOLLOW | IN_EXCL_UNLINK);
    if (wd < 0) {
        log_warn("landing_watch_failed dir=%s reason=\"%s\"", path, strerror(errno));
        return;
    }
    struct landing_watch *w = NULL;
    for (size_t i = 0; i < l->nwatches && w == NULL; i++)
        if (l->watches[i].wd == wd)
            w = &l->watches[i];
    if (w == NULL) {
        if (l->nwatches == l->capwatches) {
            size_t cap = l->capwatches ? l->capwatches * 2 : 16;
            struct landing_watch *p = realloc(l->watches, cap * sizeof *p);
            if (p == NULL) {
                inotify_rm_watch(l->ifd, wd);
                log_warn("landing_watch_failed dir=%s reason=\"out of memory\"", path);
                return;
            }
            l->watches = p;
            l->capwatches = cap;
        }
        w = &l->watches[l->nwatches++];
    }
    w->wd = wd;
    w->depth = depth;
    snprintf(w->domain, sizeof w->domain, "%s", domain);
    snprintf(w->endpoint, sizeof w->endpoint, "%s", endpoint);
}

static void landing_watch_remove(struct landing *l, int wd)
{
    for (size_t i = 0; i < l->nwatches; i++) {
        if (l->watches[i].wd == wd) {
            l->watches[i] = l->watches[--l->nwatches];
            return;
        }
    }
}

/* ------------------------------------------------------------ scanning */

int landing_path(const struct landing *l, const char *domain, const char *endpoint,
                 const char *name, char out[PATH_MAX], char err[ERROR_MAX])
{
    char rel[PATH_MAX];
    if (layout_landing_rel(rel, sizeof rel, domain, endpoint, name, err) < 0)
        return -1;
    return layout_path(out, PATH_MAX, l->data_dir, rel, err);
}

static void landing_scan_endpoint(struct landing *l, const char *domain, const char *endpoint)
{
    char dir[PATH_MAX], err[ERROR_MAX];
    if (landing_path(l, domain, endpoint, NULL, dir, err) < 0)
        return;
    /* Watch first, then list: a file closed after the watch exists is seen
     * by its event, one closed before by the listing. */
    landing_watch_add(l, dir, 2, domain, endpoint);
    char **names = NULL;
    size_t count = 0;
    if (files_list(dir, &names, &count, err) < 0) {
        log_warn("landing_scan_failed reason=\"%s\"", err);
        return;
    }
    int64_t now = timeutil_now_ms();
    for (size_t i = 0; i < count; i++) {
        char path[PATH_MAX], rel[PATH_MAX];
        struct stat st;
        if (landing_path(l, domain, endpoint, names[i], path, err) < 0 ||
            lstat(path, &st) < 0)
            continue;
        layout_landing_rel(rel, sizeof rel, domain, endpoint, names[i], NULL);
        if (S_ISDIR(st.st_mode)) {
            landing_refuse(rel, "directories inside an endpoint directory are not read");
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            landing_refuse(rel, "not a regular file");
            continue;
        }
        if (st.st_size == 0)
            continue; /* its writer may not have written yet */
        int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (now - mtime < LANDING_QUIET_MS && now >= mtime) {
            /* Maybe still being written: its close event or a later scan. */
            l->rescan_at_ms = timeutil_monotonic_ms() + LANDING_QUIET_MS;
            continue;
        }
        landing_enqueue(l, domain, endpoint, names[i]);
    }
    files_list_free(names, count);
}

static void landing_scan_domain(struct landing *l, const char *domain)
{
    char dir[PATH_MAX], err[ERROR_MAX];
    if (landing_path(l, domain, NULL, NULL, dir, err) < 0)
        return;
    landing_watch_add(l, dir, 1, domain, "");
    char **names = NULL;
    size_t count = 0;
    if (files_list(dir, &names, &count, err) < 0) {
        log_warn("landing_scan_failed reason=\"%s\"", err);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        char path[PATH_MAX], rel[PATH_MAX];
        struct stat st;
        if (landing_path(l, domain, names[i], NULL, path, err) < 0 ||
            lstat(path, &st) < 0)
            continue;
        layout_landing_rel(rel, sizeof rel, domain, names[i], NULL, NULL);
        if (!S_ISDIR(st.st_mode))
            landing_refuse(rel, "files go in landing/<domain>/<endpoint>/, not in a domain "
                                "directory");
        else if (!names_is_valid_object(names[i]))
            landing_refuse(rel, "not a valid endpoint name (^[a-z][a-z0-9_]{0,62}$)");
        else
            landing_scan_endpoint(l, domain, names[i]);
    }
    files_list_free(names, count);
}

void landing_scan(struct landing *l)
{
    char err[ERROR_MAX];
    landing_watch_add(l, l->root, 0, "", "");
    char **names = NULL;
    size_t count = 0;
    if (files_list(l->root, &names, &count, err) < 0) {
        log_warn("landing_scan_failed reason=\"%s\"", err);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (names[i][0] == '_')
            continue; /* _done, _failed, _state.db */
        char path[PATH_MAX], rel[PATH_MAX];
        struct stat st;
        if (landing_path(l, names[i], NULL, NULL, path, err) < 0 ||
            lstat(path, &st) < 0)
            continue;
        layout_landing_rel(rel, sizeof rel, names[i], NULL, NULL, NULL);
        if (!S_ISDIR(st.st_mode))
            landing_refuse(rel, "files go in landing/<domain>/<endpoint>/");
        else if (!names_is_valid_object(names[i]))
            landing_refuse(rel, "not a valid domain name (^[a-z][a-z0-9_]{0,62}$)");
        else
            landing_scan_domain(l, names[i]);
    }
    files_list_free(names, count);
}

static void landing_on_event(struct landing *l, const struct landing_watch *w, const char *name,
                             uint32_t mask)
{
    bool dir = (mask & IN_ISDIR) != 0;
    bool dir_arrived = dir && (mask & (IN_CREATE | IN_MOVED_TO));
    bool file_complete = !dir && (mask & (IN_CLOSE_WRITE | IN_MOVED_TO));
    if (name[0] == '.' || (!dir_arrived && !file_complete))
        return;
    /* Copies: scanning adds watches, which may move w. */
    char domain[NAMES_MAX], endpoint[NAMES_MAX], rel[PATH_MAX];
    snprintf(domain, sizeof domain, "%s", w->domain);
    snprintf(endpoint, sizeof endpoint, "%s", w->endpoint);
    switch (w->depth) {
    case 0:
        if (name[0] == '_')
            return;
        layout_landing_rel(rel, sizeof rel, name, NULL, NULL, NULL);
        if (file_complete)
            landing_refuse(rel, "files go in landing/<domain>/<endpoint>/");
        else if (!names_is_valid_object(name))
            landing_refuse(rel, "not a valid domain name (^[a-z][a-z0-9_]{0,62}$)");
        else
            landing_scan_domain(l, name);
        break;
    case 1:
        layout_landing_rel(rel, sizeof rel, domain, name, NULL, NULL);
        if (file_complete)
            landing_refuse(rel, "files go in landing/<domain>/<endpoint>/, not in a domain "
                                "directory");
        else if (!names_is_valid_object(name))
            landing_refuse(rel, "not a valid endpoint name (^[a-z][a-z0-9_]{0,62}$)");
        else
            landing_scan_endpoint(l, domain, name);
        break;
    default:
        layout_landing_rel(rel, sizeof rel, domain, endpoint, name, NULL);
        if (dir_arrived)
            landing_refuse(rel, "directories inside an endpoint directory are not read");
        else
            landing_enqueue(l, domain, endpoint, name);
        break;
    }
}

void landing_read_events(struct ingest_ctx *ctx)
{
    struct landing *l = ctx->landing;
    if (l == NULL)
        return;
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (int round = 0; round < 16; round++) {
        ssize_t n = read(l->ifd, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                log_warn("landing_events_failed reason=\"%s\"", strerror(errno));
            return;
        }
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                log_warn("landing_events_overflow reason=\"inotify queue overflowed; "
                         "rescanning landing/\"");
                l->rescan_wanted = true;
                continue;
            }
            if (ev->mask & IN_IGNORED) {
                landing_watch_remove(l, ev->wd);
                continue;
            }
            if (ev->len == 0 || ev->name[0] == '\0')
                continue;
            for (size_t i = 0; i < l->nwatches; i++) {
                if (l->watches[i].wd == ev->wd) {
                    landing_on_event(l, &l->watches[i], ev->name, ev->mask);
                    break;
                }
            }
        }
    }
}

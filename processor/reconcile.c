/* reconcile.c - the bronze tree against _ledger/_quarantine (rule 3).
 *
 * Events are hints: at start, every reconcile_interval_ms, after an inotify
 * overflow and on request, the processor lists bronze/<d>/<e>/dt=<date>/ and
 * queues every file that is neither merged (_ledger) nor quarantined. The
 * ledger is read one directory at a time (a range query on the file path),
 * so memory stays bounded by the largest directory, not the whole history.
 * Queued files are merged in name order per table (pending.c). */
#include "processor.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bronze.h"
#include "layout.h"
#include "log.h"
#include "timeutil.h"

/* Queue the not-yet-merged files of one dt= directory. */
static int reconcile_dir(struct processor_ctx *ctx, struct silver_db *sdb, const char *domain,
                         const char *endpoint, const char *datedir, int64_t *queued,
                         char err[ERROR_MAX])
{
    char dir[PATH_MAX], prefix[PROCESSOR_REL_MAX];
    /* the file "" gives the directory with its trailing '/': a prefix of its files */
    if (layout_bronze_rel(prefix, sizeof prefix, domain, endpoint, datedir, "", err) < 0 ||
        layout_path(dir, sizeof dir, ctx->cfg->data_dir, prefix, err) < 0)
        return -1;
    int n;
    struct strlist files = {0}, done = {0};
    int rc = scan_dir(dir, SCAN_BRONZE_FILES, &files, err);
    if (rc == 0 && files.count > 0)
        rc = silver_files_done_under(sdb, prefix, &done, err);
    for (size_t i = 0; rc == 0 && i < files.count; i++) {
        char rel[PROCESSOR_REL_MAX];
        n = snprintf(rel, sizeof rel, "%s%s", prefix, files.items[i]);
        if (n < 0 || (size_t)n >= sizeof rel || strlist_contains_sorted(&done, rel))
            continue;
        int added = pending_add(ctx->pending, rel);
        if (added < 0)
            rc = 1; /* queue full: stop here, the overflow flag asks for another pass */
        else
            *queued += added;
    }
    strlist_clear(&files);
    strlist_clear(&done);
    return rc;
}

/* 0 done, 1 queue full, -1 error. */
static int reconcile_domain(struct processor_ctx *ctx, const char *domain, int64_t *queued,
                            char err[ERROR_MAX])
{
    char dir[PATH_MAX];
    if (layout_bronze_dir(dir, sizeof dir, ctx->cfg->data_dir, domain, NULL, NULL, err) < 0)
        return -1;
    int n;
    struct strlist endpoints = {0};
    int rc = scan_dir(dir, SCAN_OBJECT_DIRS, &endpoints, err);
    struct silver_db *sdb = NULL;
    if (rc == 0 && endpoints.count > 0)
        rc = silver_get(ctx->silver, domain, &sdb, err);
    for (size_t e = 0; rc == 0 && e < endpoints.count; e++) {
        char edir[PATH_MAX];
        n = snprintf(edir, sizeof edir, "%s/%s", dir, endpoints.items[e]);
        if (n < 0 || (size_t)n >= sizeof edir)
            continue;
        /* a new schema version's renames/drops reach the table even when no
         * file comes (evolve.c) */
        if (evolve_reconcile(ctx, sdb, endpoints.items[e], err) < 0)
            log_error("schema_change_failed table=%s.%s reason=\"%s\" retry=next_reconcile",
                      domain, endpoints.items[e], err);
        struct strlist dates = {0};
        rc = scan_dir(edir, SCAN_DATE_DIRS, &dates, err);
        for (size_t d = 0; rc == 0 && d < dates.count; d++)
            rc = reconcile_dir(ctx, sdb, domain, endpoints.items[e], dates.items[d], queued, err);
        strlist_clear(&dates);
    }
    strlist_clear(&endpoints);
    return rc;
}

int64_t reconcile_scan(struct processor_ctx *ctx, char err[ERROR_MAX])
{
    int64_t started = timeutil_monotonic_ms();
    char dir[PATH_MAX];
    if (layout_bronze_dir(dir, sizeof dir, ctx->cfg->data_dir, NULL, NULL, NULL, err) < 0)
        return -1;
    struct strlist domains = {0};
    int64_t queued = 0;
    int rc = scan_dir(dir, SCAN_OBJECT_DIRS, &domains, err);
    for (size_t i = 0; rc == 0 && i < domains.count; i++) {
        rc = reconcile_domain(ctx, domains.items[i], &queued, err);
        if (rc < 0) {
            /* one broken domain database must not stop the others */
            log_error("reconcile_failed domain=%s reason=\"%s\"", domains.items[i], err);
            rc = 0;
        }
    }
    strlist_clear(&domains);
    if (rc < 0)
        return -1;
    if (queued > 0 || rc == 1)
        log_info("reconciled queued=%" PRId64 " pending=%zu%s ms=%" PRId64, queued,
                 pending_count(ctx->pending), rc == 1 ? " queue=full" : "",
                 timeutil_monotonic_ms() - started);
    return queued;
}

void reconcile_on_file(void *arg, const char *abs_path)
{
    struct processor_ctx *ctx = arg;
    size_t root = strlen(ctx->cfg->data_dir);
    if (strncmp(abs_path, ctx->cfg->data_dir, root) != 0 || abs_path[root] != '/')
        return;
    const char *rel = abs_path + root + 1;
    char domain[NAMES_MAX], endpoint[NAMES_MAX], date[11];
    uint64_t first, last;
    if (strlen(rel) >= PROCESSOR_REL_MAX ||
        bronze_parse_relative_path(rel, domain, endpoint, date, &first, &last) < 0) {
        log_warn("ignored_file path=%s reason=\"not bronze/<domain>/<endpoint>/dt=<date>/<name>\"",
                 abs_path);
        return;
    }
    if (pending_add(ctx->pending, rel) < 0)
        ctx->need_reconcile = true; /* the scan after draining will find it */
}

int64_t reconcile_drain(struct processor_ctx *ctx, char err[ERROR_MAX])
{
    int64_t merged = 0;
    for (;;) {
        int64_t pass = 0;
        char *rel;
        while (!*ctx->stop && (rel = pending_pop(ctx->pending)) != NULL) {
            if (merge_one(ctx, rel) > 0)
                pass++;
            free(rel);
        }
        merged += pass;
        /* another pass only after an overflow, and only while it gets somewhere
         * (files failing again are retried by the periodic reconcile) */
        if (*ctx->stop || !pending_take_overflow(ctx->pending) || pass == 0)
            return merged;
        if (reconcile_scan(ctx, err) < 0)
            return -1;
    }
}

/* merge_group.c - the live path: the pending files of one table merged in
 * one transaction.
 *
 * When several sealed files of the same table are queued, they are merged
 * in one BEGIN IMMEDIATE ... COMMIT, in name (arrival) order: each file is
 * still its own savepoint with its own snapshot and ledger row (merge.c), so
 * history, time travel, the change feed, rollback and replay see exactly the
 * files they saw when every file had its own transaction. What the group
 * saves is the per-file commit and, more, writing the same hot pages (the
 * table's, its history's and their indexes') once per group instead of once
 * per file. The ledger rows commit together with the data, so a crash before
 * the COMMIT leaves every file of the group pending and the whole group is
 * merged again (exactly once, rule 2).
 *
 * Bound: the group takes the queued files of the table at the head of the
 * queue while their bronze bytes (on disk) stay within merge_group_max_bytes
 * and there are at most MERGE_GROUP_MAX_FILES; the first file is always
 * taken, so 0 merges one file per transaction. A file already in the ledger
 * is skipped; a quarantined or blocked file undoes only its own savepoint.
 * Any other error rolls the whole group back, and its files are then merged
 * one by one, so a failure stays the failing file's alone (as before groups).
 *
 * A stop request (SIGTERM) ends the group after the file being merged: the
 * files merged so far commit, the others stay pending for the next start.
 *
 * Events and log lines follow the COMMIT, one per file. A file's `ms=` is the
 * time it added to its group (the last file's includes the COMMIT), so their
 * sum is the group's time. */
#include "merge_table.h"

#include "stats.h"

#define MERGE_GROUP_MAX_FILES 64

struct merge_item {
    const char *rel;
    struct merge_result res;
    int64_t ms;
    bool skipped; /* in _ledger or _quarantine already, or left for the next start */
};

void merge_publish(struct processor_ctx *ctx, const char *domain, const char *table,
                   const char *file, int64_t snapshot_id, int64_t count)
{
    struct event ev = {.topic = EVENT_SILVER_COMMITTED, .snapshot_id = snapshot_id,
                       .count = count};
    snprintf(ev.domain, sizeof ev.domain, "%s", domain);
    snprintf(ev.name, sizeof ev.name, "%s", table);
    snprintf(ev.file, sizeof ev.file, "%s", file);
    char err[ERROR_MAX];
    if (event_publish(ctx->publisher, &ev, err) < 0)
        log_warn("publish_failed topic=silver.committed table=%s.%s error=\"%s\"", domain, table,
                 err);
}

/* After the COMMIT: log, count and publish one file's outcome; 1 if merged. */
static int merge_report(struct processor_ctx *ctx, const char *domain, const char *endpoint,
                        const struct merge_item *it)
{
    const struct merge_result *res = &it->res;
    const char *rel = it->rel;
    switch (res->outcome) {
    case MERGE_MERGED:
        ctx->merged_files++;
        log_info("merged file=%s table=%s.%s records=%" PRId64 " inserted=%" PRId64
                 " updated=%" PRId64 " deleted=%" PRId64 " unchanged=%" PRId64
                 " dropped=%" PRId64 " snapshot_id=%" PRId64 " ms=%" PRId64,
                 rel, domain, endpoint, res->records, res->inserted, res->updated, res->deleted,
                 res->unchanged, res->dropped, res->snapshot_id, it->ms);
        merge_publish(ctx, domain, endpoint, rel, res->snapshot_id,
                      res->inserted + res->updated + res->deleted);
        return 1;
    case MERGE_QUARANTINED:
        ctx->quarantined_files++;
        log_error("quarantined file=%s table=%s.%s reason=\"%s\"", rel, domain, endpoint,
                  res->reason);
        return 0;
    case MERGE_MISSING:
        log_info("merge_skipped file=%s reason=\"file no longer exists\"", rel);
        return 0;
    case MERGE_BLOCKED:
        ctx->failed_merges++;
        log_error("merge_blocked file=%s table=%s.%s reason=\"%s\" retry=next_reconcile", rel,
                  domain, endpoint, res->reason);
        struct event ev = {.topic = EVENT_MERGE_BLOCKED};
        snprintf(ev.domain, sizeof ev.domain, "%s", domain);
        snprintf(ev.name, sizeof ev.name, "%s", endpoint);
        snprintf(ev.file, sizeof ev.file, "%s", rel);
        char err[ERROR_MAX];
        if (event_publish(ctx->publisher, &ev, err) < 0)
            log_debug("event_dropped topic=merge.blocked reason=\"%s\"", err);
        return 0;
    }
    return 0;
}

/* Merge the files inside the open transaction; each item's ms is the time
 * since the previous one ended. 0 ok (commit), -1 error (roll back). */
static int merge_items(struct processor_ctx *ctx, struct silver_db *sdb, const char *domain,
                       const char *endpoint, struct merge_item *items, size_t n,
                       char err[ERROR_MAX])
{
    struct merge_table *table = NULL;
    int64_t last = timeutil_monotonic_ms();
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0 && ctx->stop != NULL && *ctx->stop) {
            /* stopping: commit the files merged so far; the rest stay
             * pending for the next start (reconcile finds them) */
            for (; i < n; i++)
                items[i].skipped = true;
            break;
        }
        int done = silver_file_done(sdb, items[i].rel, err);
        if (done < 0) {
            rc = -1;
            break;
        }
        items[i].skipped = done > 0; /* merged or quarantined before (event + scan) */
        if (!items[i].skipped) {
            log_debug("merging file=%s", items[i].rel);
            if ((table == NULL &&
                 merge_table_open(sdb, ctx->schemas, domain, endpoint, &table, err) < 0) ||
                merge_file(table, ctx->cfg->data_dir, items[i].rel, "merge", 0, &items[i].res,
                           err) < 0)
                rc = -1;
        }
        int64_t now = timeutil_monotonic_ms();
        items[i].ms = now - last;
        last = now;
    }
    merge_table_close(&table);
    return rc;
}

/* Log and count a failed merge of one file. */
static int merge_failed(struct processor_ctx *ctx, const char *rel, const char *err)
{
    ctx->failed_merges++;
    log_error("merge_failed file=%s error=\"%s\" retry=next_reconcile", rel, err);
    return -1;
}

int merge_group(struct processor_ctx *ctx, char *const *rels, size_t n)
{
    char domain[NAMES_MAX], endpoint[NAMES_MAX], date[11];
    uint64_t first, last;
    if (n == 0)
        return 0;
    if (bronze_parse_relative_path(rels[0], domain, endpoint, date, &first, &last) < 0) {
        log_warn("merge_skipped file=%s reason=\"not a bronze file path\"", rels[0]);
        return 0;
    }
    struct merge_item *items = calloc(n, sizeof *items);
    if (items == NULL)
        return merge_failed(ctx, rels[0], "out of memory");
    for (size_t i = 0; i < n; i++)
        items[i].rel = rels[i];
    char err[ERROR_MAX] = "";
    struct silver_db *sdb;
    int rc = silver_get(ctx->silver, domain, &sdb, err);
    if (rc == 0 && (rc = silver_exec(sdb, "BEGIN IMMEDIATE", err)) == 0) {
        rc = merge_items(ctx, sdb, domain, endpoint, items, n, err);
        int64_t before = timeutil_monotonic_ms();
        if (rc == 0)
            rc = silver_exec(sdb, "COMMIT", err);
        if (rc < 0)
            sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
        size_t at = n - 1; /* the COMMIT counts to the last file merged */
        while (at > 0 && items[at].skipped)
            at--;
        items[at].ms += timeutil_monotonic_ms() - before;
    }
    int merged = 0;
    if (rc < 0 && n > 1) {
        log_warn("merge_group_failed table=%s.%s files=%zu error=\"%s\" action=one_by_one",
                 domain, endpoint, n, err);
        for (size_t i = 0; i < n && !(ctx->stop != NULL && *ctx->stop); i++) {
            int r = merge_group(ctx, &rels[i], 1);
            merged += r > 0 ? r : 0;
        }
    } else if (rc < 0) {
        merged = merge_failed(ctx, rels[0], err);
    } else {
        char label[2 * NAMES_MAX];
        snprintf(label, sizeof label, "%s/%s", domain, endpoint);
        for (size_t i = 0; i < n; i++) {
            if (items[i].skipped)
                continue;
            stats_observe("merge_duration_seconds", label, (double)items[i].ms / 1000.0);
            merged += merge_report(ctx, domain, endpoint, &items[i]);
        }
    }
    free(items);
    return merged;
}

int merge_one(struct processor_ctx *ctx, const char *rel)
{
    char *rels[1] = {(char *)rel};
    return merge_group(ctx, rels, 1);
}

/* Whether two relative bronze paths belong to the same table
 * ("bronze/<domain>/<endpoint>/..."). */
static bool merge_same_table(const char *a, const char *b)
{
    const char *p = a;
    for (int slashes = 0; *p != '\0' && slashes < 3; p++)
        if (*p == '/')
            slashes++;
    size_t len = (size_t)(p - a);
    return len > 0 && a[len - 1] == '/' && strncmp(a, b, len) == 0;
}

/* A queued file's size on disk (0 when it is gone: merge_file tells). */
static int64_t merge_file_bytes(const char *data_dir, const char *rel)
{
    char path[PATH_MAX], err[ERROR_MAX];
    struct stat st;
    if (layout_path(path, sizeof path, data_dir, rel, err) < 0 || stat(path, &st) < 0)
        return 0;
    return (int64_t)st.st_size;
}

int merge_next_group(struct processor_ctx *ctx)
{
    char *rels[MERGE_GROUP_MAX_FILES];
    size_t n = 0;
    if ((rels[0] = pending_pop(ctx->pending)) == NULL)
        return 0;
    n = 1;
    int64_t max = ctx->cfg->merge_group_max_bytes;
    int64_t bytes = max > 0 ? merge_file_bytes(ctx->cfg->data_dir, rels[0]) : 0;
    const char *next;
    while (max > 0 && n < MERGE_GROUP_MAX_FILES && (next = pending_peek(ctx->pending)) != NULL &&
           merge_same_table(rels[0], next)) {
        int64_t size = merge_file_bytes(ctx->cfg->data_dir, next);
        if (bytes + size > max)
            break;
        bytes += size;
        rels[n++] = pending_pop(ctx->pending);
    }
    int merged = merge_group(ctx, rels, n);
    for (size_t i = 0; i < n; i++)
        free(rels[i]);
    return merged;
}

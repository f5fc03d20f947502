/* replay.c - rebuilding silver from bronze on request (control "replay").
 *
 * Scope: every domain, one domain, or one table (= endpoint) of a domain;
 * tables are those with a bronze directory (a table whose bronze is gone
 * cannot be rebuilt and is left alone).
 *   - No date range: each table is rebuilt in ONE transaction: drop the table,
 *     delete its _ledger and _quarantine rows, merge every bronze file again in
 *     name order (the same merge as live processing, operation "replay", so
 *     the result equals what live processing produced: the table is created
 *     from the first record's schema version and each row is the record with
 *     the largest _seq). Readers see the old table until the commit.
 *     Row history (_h_<table>) is kept: the rebuild writes none while it
 *     merges, then history_diff records what differs from the versions
 *     current before, as changes of the rebuild's last snapshot (nothing,
 *     when bronze gives the same rows).
 *   - With a date range (from/to inclusive, either may be open): the files of
 *     those dt= dates are merged again, one transaction per table. Idempotent:
 *     an upsert never lets an older _seq win and appends ignore known _seq.
 *     Quarantined files in the range are tried again.
 * Each table's commit publishes silver.committed (file ""). The control
 * request is answered when everything is done; a stop request (SIGTERM) ends
 * the replay after the current table's transaction. */
#include "processor.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fsutil.h"
#include "layout.h"
#include "log.h"
#include "retention_policy.h"
#include "timeutil.h"

struct replay_totals {
    int64_t files;
    int64_t quarantined;
    int64_t tables;
};

static bool replay_is_date(const char *s)
{
    static const char shape[] = "dddd-dd-dd";
    if (strlen(s) != sizeof shape - 1)
        return false;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    }
    return timeutil_looks_like_date(s) != 0;
}

/* Rows of the table before a rebuild (0 if it does not exist), then drop it
 * and forget its files. Inside the caller's transaction. */
static int replay_reset_table(struct silver_db *sdb, const char *table, int64_t *rows,
                              char err[ERROR_MAX])
{
    *rows = 0;
    int exists = silver_table_exists(sdb, table, err);
    if (exists < 0)
        return -1;
    char sql[160];
    if (exists) {
        sqlite3_stmt *st = NULL;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
        if (sqlite3_prepare_v2(sdb->db, sql, -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW) {
            error_set(err, "silver/%s.db: %s: %s", sdb->domain, sql, sqlite3_errmsg(sdb->db));
            sqlite3_finalize(st);
            return -1;
        }
        *rows = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        snprintf(sql, sizeof sql, "DROP TABLE \"%s\"", table);
        if (silver_exec(sdb, sql, err) < 0)
            return -1;
    }
    static const char *const forget[] = {"DELETE FROM _ledger WHERE table_name = ?1",
                                         "DELETE FROM _quarantine WHERE table_name = ?1"};
    for (size_t i = 0; i < 2; i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(sdb->db, forget[i], -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
            rc = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return error_set(err, "silver/%s.db: %s: %s", sdb->domain, forget[i],
                             sqlite3_errmsg(sdb->db));
    }
    return 0;
}

static int replay_table(struct processor_ctx *ctx, const char *domain, const char *table,
                        const char *from, const char *to, struct replay_totals *totals,
                        char err[ERROR_MAX])
{
    bool rebuild = from[0] == '\0' && to[0] == '\0';
    int64_t started = timeutil_monotonic_ms();
    char edir[PATH_MAX];
    if (layout_bronze_dir(edir, sizeof edir, ctx->cfg->data_dir, domain, table, NULL, err) < 0)
        return -1;
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        return -1;
    struct strlist dates = {0}, files = {0};
    struct merge_table *mt = NULL;
    int64_t deleted = 0, files_merged = 0, quarantined = 0, last_snapshot = 0;
    int64_t inserted = 0, updated = 0;
    if (scan_dir(edir, SCAN_DATE_DIRS, &dates, err) < 0)
        return -1;
    if (silver_exec(sdb, "BEGIN IMMEDIATE", err) < 0)
        goto fail_nobegin;
    if (rebuild && retention_rebuild_check(sdb, table, err) != 0)
        goto fail; /* expired bronze: a rebuild would lose rows (bronze_silver_retention.c) */
    /* a schema change not applied yet goes first: the rebuilt table has the
     * latest names, and the history must follow them (evolve.c) */
    if (rebuild && evolve_latest(sdb, ctx->schemas, table, err) < 0)
        goto fail;
    if (rebuild && replay_reset_table(sdb, table, &deleted, err) < 0)
        goto fail;
    if (merge_table_open(sdb, ctx->schemas, domain, table, &mt, err) < 0)
        goto fail;
    merge_table_set_history(mt, !rebuild);
    int64_t pending_deleted = deleted; /* reported with the first file merged */
    for (size_t d = 0; d < dates.count; d++) {
        const char *date = dates.items[d] + 3; /* "dt=" */
        if ((from[0] && strcmp(date, from) < 0) || (to[0] && strcmp(date, to) > 0))
            continue;
        char ddir[PATH_MAX];
        if (fsutil_path(ddir, sizeof ddir, NULL, "%s/%s", edir, dates.items[d]) < 0)
            continue;
        strlist_clear(&files);
        if (scan_dir(ddir, SCAN_BRONZE_FILES, &files, err) < 0)
            goto fail;
        files.count = retention_drop_covered(files.items, files.count); /* compaction inputs */
        for (size_t f = 0; f < files.count; f++) {
            char rel[PROCESSOR_REL_MAX];
            if (layout_bronze_rel(rel, sizeof rel, domain, table, dates.items[d], files.items[f],
                                  NULL) < 0)
                continue;
            struct merge_result res;
            if (merge_file(mt, ctx->cfg->data_dir, rel, "replay", pending_deleted, &res, err) < 0)
                goto fail;
            if (res.outcome == MERGE_MERGED) {
                files_merged++;
                pending_deleted = 0;
                last_snapshot = res.snapshot_id;
                inserted += res.inserted;
                updated += res.updated;
            } else if (res.outcome == MERGE_QUARANTINED) {
                quarantined++;
                log_error("quarantined file=%s table=%s.%s reason=\"%s\"", rel, domain, table,
                          res.reason);
            }
        }
    }
    if (rebuild && files_merged == 0) {
        /* nothing to merge: still record that the table was rebuilt (emptied) */
        struct silver_snapshot snap = {.table = table, .operation = "replay", .source = "",
                                       .deleted = deleted};
        if (silver_record_snapshot(sdb, &snap, &last_snapshot, err) < 0)
            goto fail;
    }
    merge_table_close(&mt);
    struct history_counts changed = {0};
    if (rebuild && history_diff(sdb, table, last_snapshot, &changed, err) < 0)
        goto fail;
    if (silver_exec(sdb, "COMMIT", err) < 0)
        goto fail;
    strlist_clear(&dates);
    strlist_clear(&files);
    totals->files += files_merged;
    totals->quarantined += quarantined;
    totals->tables++;
    ctx->quarantined_files += quarantined;
    log_info("replayed table=%s.%s mode=%s from=%s to=%s files=%" PRId64 " quarantined=%" PRId64
             " inserted=%" PRId64 " updated=%" PRId64 " deleted=%" PRId64
             " history_changes=%" PRId64 " snapshot_id=%" PRId64 " ms=%" PRId64,
             domain, table, rebuild ? "rebuild" : "range", from[0] ? from : "-",
             to[0] ? to : "-", files_merged, quarantined, inserted, updated, deleted,
             changed.inserted + changed.updated + changed.deleted, last_snapshot, timeutil_monotonic_ms() - started);
    if (last_snapshot > 0)
        merge_publish(ctx, domain, table, "", last_snapshot, inserted + updated + deleted);
    return 0;
fail:
    merge_table_close(&mt);
    sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
fail_nobegin:
    strlist_clear(&dates);
    strlist_clear(&files);
    return error_prefix(err, "replay of %s.%s", domain, table);
}

static int replay_domain(struct processor_ctx *ctx, const char *domain, const char *name,
                         const char *from, const char *to, struct replay_totals *totals,
                         char err[ERROR_MAX])
{
    char dir[PATH_MAX];
    if (layout_bronze_dir(dir, sizeof dir, ctx->cfg->data_dir, domain, NULL, NULL, err) < 0)
        return -1;
    struct strlist tables = {0};
    if (scan_dir(dir, SCAN_OBJECT_DIRS, &tables, err) < 0)
        return -1;
    int rc = 0;
    bool found = false;
    for (size_t i = 0; rc == 0 && i < tables.count && !*ctx->stop; i++) {
        if (name[0] && strcmp(name, tables.items[i]) != 0)
            continue;
        found = true;
        rc = replay_table(ctx, domain, tables.items[i], from, to, totals, err);
    }
    strlist_clear(&tables);
    if (rc == 0 && name[0] && !found)
        return error_set(err, "no bronze files for table %s.%s", domain, name);
    return rc;
}

void replay_run(struct processor_ctx *ctx, const struct control_request *req,
                struct control_reply *reply)
{
    char err[ERROR_MAX] = "";
    struct replay_totals totals = {0};
    int rc = 0;
    if (req->domain[0] && names_check_object("domain", req->domain, err) < 0)
        rc = -1;
    else if (req->name[0] && !req->domain[0])
        rc = error_set(err, "replay of table %s needs its domain", req->name);
    else if (req->name[0] && names_check_object("table", req->name, err) < 0)
        rc = -1;
    else if (req->from[0] && !replay_is_date(req->from))
        rc = error_set(err, "invalid from date '%s': expected YYYY-MM-DD", req->from);
    else if (req->to[0] && !replay_is_date(req->to))
        rc = error_set(err, "invalid to date '%s': expected YYYY-MM-DD", req->to);
    else if (req->from[0] && req->to[0] && strcmp(req->from, req->to) > 0)
        rc = error_set(err, "from date %s is after to date %s", req->from, req->to);

    if (rc == 0 && req->domain[0]) {
        rc = replay_domain(ctx, req->domain, req->name, req->from, req->to, &totals, err);
        if (rc == 0 && totals.tables == 0 && !*ctx->stop)
            rc = error_set(err, "no bronze files for domain %s", req->domain);
    } else if (rc == 0) {
        char dir[PATH_MAX];
        struct strlist domains = {0};
        rc = layout_bronze_dir(dir, sizeof dir, ctx->cfg->data_dir, NULL, NULL, NULL, err);
        if (rc == 0)
            rc = scan_dir(dir, SCAN_OBJECT_DIRS, &domains, err);
        for (size_t i = 0; rc == 0 && i < domains.count && !*ctx->stop; i++)
            rc = replay_domain(ctx, domains.items[i], "", req->from, req->to, &totals, err);
        strlist_clear(&domains);
    }

    reply->count = totals.files;
    reply->id = 0;
    if (rc < 0) {
        reply->ok = false;
        snprintf(reply->message, sizeof reply->message, "%s", err);
        log_error("replay_failed domain=%s table=%s reason=\"%s\"", req->domain[0] ? req->domain : "*",
                  req->name[0] ? req->name : "*", err);
        return;
    }
    reply->ok = true;
    snprintf(reply->message, sizeof reply->message,
             "replayed %" PRId64 " files into %" PRId64 " tables (%" PRId64 " quarantined)%s",
             totals.files, totals.tables, totals.quarantined,
             *ctx->stop ? "; stopped early by shutdown" : "");
}

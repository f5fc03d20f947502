/* bronze_silver_retention.c - expiring old history of bronze and silver.
 *
 * Horizons per layer and table come from common/retention_policy.h. For each table:
 *   bronze  files under dt=<date> with date before the horizon date are
 *           deleted, but only files the ledger knows (merged, or
 *           quarantined): a file not merged yet is never deleted. Their
 *           _ledger/_quarantine rows STAY, so reconcile never sees them as
 *           missing and nothing is merged twice (a deleted file is simply not
 *           listed any more; merge_file treats a vanished file as MERGE_MISSING).
 *   silver  _snapshots rows committed before the horizon, except the table's
 *           newest snapshot, and the _h_<table> versions that ENDED at or
 *           before the newest expired snapshot (common/retention_history.h, shared with
 *           gold retention). Versions still current are kept, so time travel,
 *           change feeds and rollback to every snapshot that remains still
 *           give exact answers; older snapshot ids become "unknown".
 * Every retention run is logged in _retention (one row per table and layer, in the
 * same transaction as the silver deletes). A full rebuild (replay without a
 * date range) of a table whose merged bronze files were expired would lose
 * rows, so replay refuses it (retention_rebuild_check) and says to replay a
 * date range instead. Gold history is the transformer's (single writer). */
#include "processor.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "retention_history.h"
#include "fsutil.h"
#include "layout.h"
#include "log.h"
#include "retention_policy.h"
#include "strbuf.h"
#include "timeutil.h"
#include "sqlutil.h"

#define retention_note(t, ...) strbuf_fixed_appendf((t)->summary, sizeof (t)->summary, __VA_ARGS__)

/* One integer from a query with up to two text and one integer binding. */
static int retention_int(struct silver_db *sdb, const char *sql, const char *t1, const char *t2,
                         int64_t i3, int64_t *out, char err[ERROR_MAX])
{
    const struct sqlutil_value v[] = {SQLUTIL_TEXT(t1), SQLUTIL_TEXT(t2), SQLUTIL_INT(i3)};
    int rc = sqlutil_run_values(sdb->db, sql, v, 3, out, err, "silver/%s.db: %s", sdb->domain, sql);
    return rc < 0 ? -1 : 0;
}

static int retention_log(struct silver_db *sdb, const char *table, const char *layer,
                         const char *horizon, int64_t files, int64_t records, int64_t snapshots,
                         int64_t history_rows, char err[ERROR_MAX])
{
    if (retention_history_log(sdb->db, table, layer, horizon, files, records, snapshots, history_rows,
                              err) < 0)
        return error_prefix(err, "silver/%s.db", sdb->domain);
    return 0;
}

/* Bronze files of one table in dt= directories before the horizon. */
static int retention_bronze(struct processor_ctx *ctx, struct silver_db *sdb, const char *table,
                            bool dry_run, struct retention_totals *totals, char err[ERROR_MAX])
{
    int64_t days = retention_days(ctx->cfg, RETENTION_BRONZE, sdb->domain, table, err);
    if (days < 0)
        return -1;
    char horizon[11];
    retention_horizon_date(timeutil_now_ms(), days, horizon);
    char edir[PATH_MAX];
    if (layout_bronze_dir(edir, sizeof edir, ctx->cfg->data_dir, sdb->domain, table, NULL,
                          err) < 0)
        return -1;
    struct strlist dates = {0};
    if (scan_dir(edir, SCAN_DATE_DIRS, &dates, err) < 0)
        return -1;
    int rc = 0;
    int64_t files = 0, records = 0, kept = 0;
    char last_date[11] = "";
    for (size_t d = 0; rc == 0 && d < dates.count; d++) {
        const char *date = dates.items[d] + 3;
        if (strcmp(date, horizon) >= 0)
            break; /* sorted */
        char ddir[PATH_MAX], prefix[PROCESSOR_REL_MAX];
        if (fsutil_path(ddir, sizeof ddir, err, "%s/%s", edir, dates.items[d]) < 0 ||
            /* the file "" gives the directory with its trailing '/' */
            layout_bronze_rel(prefix, sizeof prefix, sdb->domain, table, dates.items[d], "",
                              err) < 0) {
            rc = -1;
            break;
        }
        struct strlist names = {0}, done = {0};
        rc = scan_dir(ddir, SCAN_BRONZE_FILES, &names, err);
        if (rc == 0 && names.count > 0)
            rc = silver_files_done_under(sdb, prefix, &done, err);
        int64_t removed = 0;
        for (size_t f = 0; rc == 0 && f < names.count; f++) {
            char rel[PROCESSOR_REL_MAX], path[PATH_MAX];
            snprintf(rel, sizeof rel, "%s%s", prefix, names.items[f]);
            if (!strlist_contains_sorted(&done, rel)) {
                kept++; /* not merged yet: it is data, not history */
                log_warn("expire_skipped file=%s reason=\"not merged yet\"", rel);
                continue;
            }
            int64_t n = 0;
            rc = retention_int(sdb, "SELECT records FROM _ledger WHERE file = ?1", rel, NULL, 0,
                               &n, err);
            records += n;
            files++;
            snprintf(last_date, sizeof last_date, "%s", date);
            if (dry_run || rc < 0)
                continue;
            layout_path(path, sizeof path, ctx->cfg->data_dir, rel, NULL);
            if (unlink(path) < 0 && errno != ENOENT) {
                rc = error_set(err, "cannot delete %s: %s", path, strerror(errno));
                break;
            }
            removed++;
            log_info("expired file=%s records=%" PRId64 " horizon=%s", rel, n, horizon);
        }
        strlist_clear(&names);
        strlist_clear(&done);
        if (removed > 0) {
            char ignored[ERROR_MAX];
            if (fsutil_fsync_dir(ddir, ignored) == 0 && rmdir(ddir) == 0)
                fsutil_fsync_dir(edir, ignored); /* empty now: the date is gone */
        }
    }
    strlist_clear(&dates);
    if (rc < 0)
        return -1;
    if (files > 0) {
        totals->files += files;
        totals->records += records;
        retention_note(totals, "; %s.%s: bronze %" PRId64 " files (%" PRId64
                               " records) dated before %s%s",
                       sdb->domain, table, files, records, horizon,
                       kept ? " (unmerged files kept)" : "");
        if (!dry_run && retention_log(sdb, table, "bronze", horizon, files, records, 0, 0, err) < 0)
            return -1;
    }
    return 0;
}

/* Snapshots and row history of one table before the horizon (the caller
 * holds the write transaction). */
static int retention_silver(struct processor_ctx *ctx, struct silver_db *sdb, const char *table,
                            bool dry_run, struct retention_totals *totals, char err[ERROR_MAX])
{
    int64_t days = retention_days(ctx->cfg, RETENTION_SILVER, sdb->domain, table, err);
    if (days < 0)
        return -1;
    char horizon[TIMEUTIL_TIMESTAMP_MAX];
    retention_horizon_time(timeutil_now_ms(), days, horizon, sizeof horizon);
    struct retention_history_counts n;
    if (retention_history_expire(sdb->db, table, horizon, dry_run, &n, err) < 0)
        return error_prefix(err, "silver/%s.db: expiring %s", sdb->domain, table);
    if (n.cut <= 0)
        return 0;
    totals->snapshots += n.snapshots;
    totals->history_rows += n.history_rows;
    retention_note(totals, "; %s.%s: %" PRId64 " snapshots (up to %" PRId64 ") and %" PRId64
                           " history rows before %s",
                   sdb->domain, table, n.snapshots, n.cut, n.history_rows, horizon);
    if (dry_run)
        return 0;
    if (retention_log(sdb, table, "silver", horizon, 0, 0, n.snapshots, n.history_rows, err) < 0)
        return -1;
    log_info("expired table=%s.%s snapshots=%" PRId64 " history_rows=%" PRId64
             " up_to_snapshot=%" PRId64 " horizon=%s",
             sdb->domain, table, n.snapshots, n.history_rows, n.cut, horizon);
    return 0;
}

/* Silver tables of the database (those with snapshots), sorted. */
static int retention_silver_tables(struct silver_db *sdb, struct strlist *out, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT DISTINCT table_name FROM _snapshots ORDER BY 1";
    if (sqlite3_prepare_v2(sdb->db, sql, -1, &st, NULL) != SQLITE_OK)
        return error_set(err, "silver/%s.db: %s: %s", sdb->domain, sql, sqlite3_errmsg(sdb->db));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t != NULL && names_is_valid_object(t) && strlist_push(out, t) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return error_set(err, "silver/%s.db: listing tables failed", sdb->domain);
    return 0;
}

static int retention_domain(struct processor_ctx *ctx, const char *domain, const char *table,
                            bool dry_run, struct retention_totals *totals, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    if (layout_silver_db(path, sizeof path, ctx->cfg->data_dir, domain) < 0)
        return error_set(err, "path too long: silver/%s.db", domain);
    if (access(path, F_OK) != 0)
        return 0; /* nothing merged yet: nothing is history */
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        return -1;
    struct strlist tables = {0}, bronze_tables = {0};
    char dir[PATH_MAX];
    int rc = retention_silver_tables(sdb, &tables, err);
    if (rc == 0)
        rc = layout_bronze_dir(dir, sizeof dir, ctx->cfg->data_dir, domain, NULL, NULL, err);
    if (rc == 0)
        rc = scan_dir(dir, SCAN_OBJECT_DIRS, &bronze_tables, err);
    for (size_t i = 0; rc == 0 && i < bronze_tables.count; i++) {
        if (table[0] && strcmp(table, bronze_tables.items[i]) != 0)
            continue;
        totals->tables += !strlist_contains_sorted(&tables, bronze_tables.items[i]);
        rc = retention_bronze(ctx, sdb, bronze_tables.items[i], dry_run, totals, err);
    }
    for (size_t i = 0; rc == 0 && i < tables.count; i++) {
        if (table[0] && strcmp(table, tables.items[i]) != 0)
            continue;
        totals->tables++;
        if (!dry_run && silver_exec(sdb, "BEGIN IMMEDIATE", err) < 0) {
            rc = -1;
            break;
        }
        rc = retention_silver(ctx, sdb, tables.items[i], dry_run, totals, err);
        if (!dry_run) {
            if (rc == 0)
                rc = silver_exec(sdb, "COMMIT", err);
            if (rc < 0)
                sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    strlist_clear(&tables);
    strlist_clear(&bronze_tables);
    return rc;
}

int retention_expire(struct processor_ctx *ctx, const char *domain, const char *table,
                     bool dry_run, struct retention_totals *totals, char err[ERROR_MAX])
{
    if (retention_check_overrides(ctx->cfg->retention_tables, err) < 0)
        return -1;
    if (domain[0])
        return retention_domain(ctx, domain, table, dry_run, totals, err);
    /* every domain with bronze (retention_domain skips those without silver) */
    struct strlist domains = {0};
    char bdir[PATH_MAX];
    if (layout_bronze_dir(bdir, sizeof bdir, ctx->cfg->data_dir, NULL, NULL, NULL, err) < 0 ||
        scan_dir(bdir, SCAN_OBJECT_DIRS, &domains, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < domains.count; i++)
        rc = retention_domain(ctx, domains.items[i], "", dry_run, totals, err);
    strlist_clear(&domains);
    return rc;
}

void expire_run(struct processor_ctx *ctx, const struct control_request *req,
                struct control_reply *reply)
{
    char err[ERROR_MAX] = "";
    bool dry_run = req->cmd == CONTROL_EXPIRE_DRY_RUN;
    struct retention_totals totals = {0};
    int rc = 0;
    if (req->name[0] && !req->domain[0])
        rc = error_set(err, "expire of table %s needs its domain", req->name);
    else
        rc = retention_expire(ctx, req->domain, req->name, dry_run, &totals, err);
    reply->ok = rc == 0;
    reply->count = totals.files;
    reply->id = totals.snapshots;
    if (rc < 0) {
        snprintf(reply->message, sizeof reply->message, "expire failed: %s", err);
        log_error("expire_failed domain=%s table=%s reason=\"%s\"",
                  req->domain[0] ? req->domain : "*", req->name[0] ? req->name : "*", err);
        return;
    }
    snprintf(reply->message, sizeof reply->message,
             "%s %" PRId64 " bronze files (%" PRId64 " records), %" PRId64 " snapshots, %" PRId64
             " history rows%s",
             dry_run ? "would expire" : "expired", totals.files, totals.records,
             totals.snapshots, totals.history_rows, totals.summary);
    log_info("%s files=%" PRId64 " records=%" PRId64 " snapshots=%" PRId64
             " history_rows=%" PRId64,
             dry_run ? "expire_dry_run" : "expire_done", totals.files, totals.records,
             totals.snapshots, totals.history_rows);
}

int retention_rebuild_check(struct silver_db *sdb, const char *table, char err[ERROR_MAX])
{
    int exists = silver_table_exists(sdb, "_retention", err);
    if (exists <= 0)
        return exists;
    /* the newest bronze horizon applied to this table; merged files dated
     * before it that the ledger still lists were deleted */
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT max(horizon) FROM _retention WHERE table_name = ?1 "
                      "AND layer = 'bronze' AND files > 0";
    char horizon[16] = "";
    if (sqlite3_prepare_v2(sdb->db, sql, -1, &st, NULL) != SQLITE_OK)
        return error_set(err, "silver/%s.db: %s", sdb->domain, sqlite3_errmsg(sdb->db));
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        snprintf(horizon, sizeof horizon, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (horizon[0] == '\0')
        return 0;
    char lo[PROCESSOR_REL_MAX], hi[PROCESSOR_REL_MAX];
    char horizon_dir[16];
    snprintf(horizon_dir, sizeof horizon_dir, "dt=%s", horizon);
    if (layout_bronze_rel(lo, sizeof lo, sdb->domain, table, "dt=", NULL, NULL) < 0 ||
        layout_bronze_rel(hi, sizeof hi, sdb->domain, table, horizon_dir, NULL, NULL) < 0)
        return 0;
    int64_t gone = 0;
    if (retention_int(sdb, "SELECT count(*) FROM _ledger WHERE file >= ?1 AND file < ?2", lo, hi, 0,
                      &gone, err) < 0)
        return -1;
    if (gone == 0)
        return 0;
    error_set(err,
              "bronze files of %s.%s dated before %s were expired by retention (%" PRId64
              " merged files): a rebuild from bronze would lose their rows; replay a date "
              "range instead (--from %s)",
              sdb->domain, table, horizon, gone, horizon);
    return 1;
}

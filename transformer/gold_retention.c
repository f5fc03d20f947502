/* gold_retention.c - expiring old gold history (the transformer is gold's only
 * writer, so gold retention lives here; bronze and silver are the
 * processor's, processor/bronze_silver_retention.c).
 *
 * For each gold table (a table_name of gold/<domain>.db's _snapshots) the
 * horizon is retention_days(RETENTION_GOLD, domain, table) before now
 * (retention_gold_days, per-table overrides in retention_tables). Expired
 * (common/retention_history.h, the same rule as silver's): the _snapshots rows committed
 * before the horizon, except the table's newest snapshot, the _lineage rows
 * of those snapshots and the row versions (_h_<table>) that ended at or
 * before the newest of them; in one transaction per database, logged in its
 * _retention table (layer "gold", history_rows = row versions). Never
 * touched: the gold table's rows and its current versions, the newest
 * snapshot and its _lineage (incremental jobs read their starting point
 * there), and the catalog's executions (their inputs_json drives dependency
 * reconciliation; the catalog is not gold's).
 * Runs daily from the housekeeping timer (first 10 minutes after start, then
 * every 24 h of uptime) and on the control command "expire" /
 * "expire_dry_run" (control_protocol.h, `lakehouse expire`). Between runs, in the one
 * poll loop, so it never overlaps a job's write. */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "control_protocol.h"
#include "retention_history.h"
#include "layout.h"
#include "log.h"
#include "retention_policy.h"
#include "strbuf.h"
#include "timeutil.h"
#include "transformer.h"
#include "sqlutil.h"

#define RETENTION_BUSY_TIMEOUT_MS 10000
#define RETENTION_FIRST_MS (10 * 60 * 1000)
#define RETENTION_DAY_MS (24LL * 3600 * 1000)

struct gold_totals {
    int64_t snapshots;
    int64_t lineage;
    int64_t history;
    char detail[ERROR_MAX / 2];
};

#define gold_note(t, ...) strbuf_fixed_appendf((t)->detail, sizeof (t)->detail, __VA_ARGS__)

static int gold_exec(sqlite3 *db, const char *domain, const char *sql, char err[ERROR_MAX])
{
    return sqlutil_exec(db, sql, err, "gold/%s.db", domain);
}

/* One table of one gold database (inside the caller's transaction). */
static int gold_expire_table(const struct config *cfg, sqlite3 *db, const char *domain,
                             const char *table, bool dry_run, struct gold_totals *totals,
                             char err[ERROR_MAX])
{
    int64_t days = retention_days(cfg, RETENTION_GOLD, domain, table, err);
    if (days < 0)
        return -1;
    char horizon[TIMEUTIL_TIMESTAMP_MAX];
    retention_horizon_time(timeutil_now_ms(), days, horizon, sizeof horizon);
    struct retention_history_counts n;
    if (retention_history_expire(db, table, horizon, dry_run, &n, err) < 0)
        return error_prefix(err, "gold/%s.db: expiring %s", domain, table);
    if (n.cut <= 0)
        return 0;
    if (!dry_run) {
        if (retention_history_log(db, table, "gold", horizon, 0, 0, n.snapshots, n.history_rows, err) < 0)
            return error_prefix(err, "gold/%s.db", domain);
        log_info("gold_expired table=%s.%s horizon=%s snapshots=%" PRId64 " lineage_rows=%" PRId64
                 " history_rows=%" PRId64 " up_to_snapshot=%" PRId64,
                 domain, table, horizon, n.snapshots, n.lineage_rows, n.history_rows, n.cut);
    }
    totals->snapshots += n.snapshots;
    totals->lineage += n.lineage_rows;
    totals->history += n.history_rows;
    gold_note(totals, "; %s.gold.%s: %" PRId64 " snapshots and %" PRId64 " history rows before %s",
              domain, table, n.snapshots, n.history_rows, horizon);
    return 0;
}

/* Every table (or just `table`, "" = all) of gold/<domain>.db, in one
 * transaction. A missing database is nothing to expire. */
static int gold_expire_domain(const struct config *cfg, const char *domain, const char *table,
                              bool dry_run, struct gold_totals *totals, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    struct stat st;
    if (layout_gold_db(path, sizeof path, cfg->data_dir, domain) < 0)
        return error_set(err, "gold database path too long");
    if (stat(path, &st) != 0)
        return 0;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        error_set(err, "open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, RETENTION_BUSY_TIMEOUT_MS);
    sqlite3_stmt *tables = NULL;
    char (*names)[NAMES_MAX] = NULL;
    size_t count = 0;
    int64_t has_snapshots = 0;
    int rc = -1;
    if (sqlutil_int64(db,
                      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_snapshots'",
                      &has_snapshots, err, "gold/%s.db", domain) < 0)
        goto done;
    if (has_snapshots == 0) {
        rc = 0;
        goto done;
    }
    if (gold_exec(db, domain, dry_run ? "BEGIN" : "BEGIN IMMEDIATE", err) < 0)
        goto done;
    /* the table names first: the loop below deletes from _snapshots */
    if (sqlite3_prepare_v2(db,
                           "SELECT DISTINCT table_name FROM _snapshots WHERE ?1 = '' OR "
                           "table_name = ?1 ORDER BY table_name",
                           -1, &tables, NULL) != SQLITE_OK) {
        error_set(err, "gold/%s.db: %s", domain, sqlite3_errmsg(db));
        goto rollback;
    }
    sqlite3_bind_text(tables, 1, table, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(tables)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        if (name == NULL || !names_is_valid_object(name))
            continue; /* not a table a job could have written */
        char (*grown)[NAMES_MAX] = realloc(names, (count + 1) * sizeof *names);
        if (grown == NULL) {
            error_set(err, "out of memory");
            goto rollback;
        }
        names = grown;
        snprintf(names[count++], NAMES_MAX, "%s", name);
    }
    if (step != SQLITE_DONE) {
        error_set(err, "gold/%s.db: %s", domain, sqlite3_errmsg(db));
        goto rollback;
    }
    sqlite3_finalize(tables);
    tables = NULL;
    for (size_t i = 0; i < count; i++)
        if (gold_expire_table(cfg, db, domain, names[i], dry_run, totals, err) < 0)
            goto rollback;
    if (gold_exec(db, domain, dry_run ? "ROLLBACK" : "COMMIT", err) < 0)
        goto rollback;
    rc = 0;
    goto done;
rollback:
    sqlite3_finalize(tables);
    tables = NULL;
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
done:
    sqlite3_finalize(tables);
    free(names);
    sqlite3_close(db);
    return rc;
}

int gold_expire(struct transformer_ctx *ctx, const char *domain, const char *table, bool dry_run,
                struct control_reply *reply, char err[ERROR_MAX])
{
    struct gold_totals totals = {0};
    int rc = 0;
    if (domain[0] != '\0') {
        rc = gold_expire_domain(ctx->cfg, domain, table, dry_run, &totals, err);
    } else {
        json_t *domains = inputs_gold_domains(ctx->cfg->data_dir);
        size_t i;
        json_t *v;
        json_array_foreach(domains, i, v) {
            if (rc == 0)
                rc = gold_expire_domain(ctx->cfg, json_string_value(v), "", dry_run, &totals, err);
        }
        json_decref(domains);
    }
    if (rc < 0)
        return -1;
    reply->ok = true;
    reply->id = totals.snapshots;
    reply->count = totals.lineage;
    snprintf(reply->message, sizeof reply->message,
             "gold: %s %" PRId64 " snapshots (%" PRId64 " lineage rows, %" PRId64
             " history rows)%s",
             dry_run ? "would expire" : "expired", totals.snapshots, totals.lineage,
             totals.history, totals.detail);
    return 0;
}

void gold_retention_tick(struct transformer_ctx *ctx)
{
    int64_t now = timeutil_monotonic_ms();
    if (ctx->next_expire_ms == 0) {
        ctx->next_expire_ms = now + RETENTION_FIRST_MS;
        return;
    }
    if (now < ctx->next_expire_ms)
        return;
    ctx->next_expire_ms = now + RETENTION_DAY_MS;
    struct control_reply reply = {0};
    char err[ERROR_MAX];
    if (gold_expire(ctx, "", "", false, &reply, err) < 0)
        log_error("gold_expire_failed reason=\"%s\"", err);
    else
        log_info("gold_expire_done snapshots=%" PRId64 " lineage_rows=%" PRId64, reply.id,
                 reply.count);
}

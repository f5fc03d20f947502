/* silver.c - the processor's connections to silver/<domain>.db.
 *
 * The processor is the only writer of silver (ARCHITECTURE rule 8). Each
 * domain database is opened on first use and kept open: WAL (readers never
 * block the merge), a busy timeout for the rare moments a reader checkpoints,
 * synchronous=NORMAL (in WAL a commit is atomic; a power loss can only lose
 * the newest commits together with their _ledger rows, and reconcile merges
 * those files again). The internal tables come from layout.h; the schema is
 * versioned with PRAGMA user_version. The statements on the internal tables
 * are prepared once per connection. */
#include "processor.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg_export.h"
#include "layout.h"
#include "log.h"
#include "timeutil.h"
#include "sqlutil.h"
#include "strbuf.h"

#define SILVER_BUSY_TIMEOUT_MS 10000

struct silver {
    char data_dir[PATH_MAX];
    int64_t cache_mib;       /* SQLite page cache of each silver connection */
    struct silver_db **dbs;  /* owned */
    size_t count;
};

int silver_open(const char *data_dir, int64_t cache_mib, struct silver **out,
                char err[ERROR_MAX])
{
    struct silver *s = calloc(1, sizeof *s);
    if (s == NULL)
        return error_set(err, "out of memory");
    snprintf(s->data_dir, sizeof s->data_dir, "%s", data_dir);
    s->cache_mib = cache_mib;
    *out = s;
    return 0;
}

static void silver_db_free(struct silver_db *sdb)
{
    sqlite3_finalize(sdb->done);
    sqlite3_finalize(sdb->done_range);
    sqlite3_finalize(sdb->snapshot);
    sqlite3_finalize(sdb->ledger);
    sqlite3_finalize(sdb->unquarantine);
    sqlite3_finalize(sdb->quarantine);
    if (sdb->db != NULL && sqlite3_close(sdb->db) != SQLITE_OK)
        log_warn("silver_close domain=%s reason=\"%s\"", sdb->domain, sqlite3_errmsg(sdb->db));
    free(sdb);
}

void silver_close(struct silver **silver)
{
    struct silver *s = *silver;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->count; i++)
        silver_db_free(s->dbs[i]);
    free(s->dbs);
    free(s);
    *silver = NULL;
}

int silver_exec(struct silver_db *sdb, const char *sql, char err[ERROR_MAX])
{
    return sqlutil_exec(sdb->db, sql, err, "silver/%s.db: %s", sdb->domain, sql);
}

int silver_exec_buf(struct silver_db *sdb, struct strbuf *b, char err[ERROR_MAX])
{
    int rc = 0;
    if (b->failed)
        rc = error_set(err, "out of memory");
    else if (b->s != NULL)
        rc = silver_exec(sdb, b->s, err);
    strbuf_free(b);
    return rc;
}

static int silver_prepare(struct silver_db *sdb, const char *sql, sqlite3_stmt **stmt,
                          char err[ERROR_MAX])
{
    return sqlutil_prepare(sdb->db, sql, stmt, err, "silver/%s.db: prepare %s", sdb->domain, sql);
}

static int silver_user_version(struct silver_db *sdb, int *version, char err[ERROR_MAX])
{
    int64_t v = 0;
    if (sqlutil_int64(sdb->db, "PRAGMA user_version", &v, err, "silver/%s.db: user_version",
                      sdb->domain) < 0)
        return -1;
    *version = (int)v;
    return 0;
}

/* _domain and _endpoint of a silver table: generated (VIRTUAL, so stored
 * nowhere) constants, as every record of the reference API carries them.
 * Added to a table that lacks them (new, rebuilt by evolve.c or replay, or
 * from before version 2); a table that does not exist is left alone. The
 * names passed the object-name rule: safe inside quotes. */
static int silver_meta_columns(struct silver_db *sdb, const char *table, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    if (silver_prepare(sdb,
                       "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                       "name = ?1), (SELECT count(*) FROM pragma_table_xinfo(?1) WHERE name = "
                       "'_domain'), (SELECT count(*) FROM pragma_table_xinfo(?1) WHERE name = "
                       "'_endpoint')",
                       &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bool exists = rc == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    bool has_domain = rc == SQLITE_ROW && sqlite3_column_int(st, 1) > 0;
    bool has_endpoint = rc == SQLITE_ROW && sqlite3_column_int(st, 2) > 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return error_set(err, "silver/%s.db: columns of %s: %s", sdb->domain, table,
                         sqlite3_errmsg(sdb->db));
    if (!exists || !names_is_valid_object(table))
        return 0;
    char sql[3 * NAMES_MAX + 128];
    if (!has_domain) {
        snprintf(sql, sizeof sql,
                 "ALTER TABLE \"%s\" ADD COLUMN \"_domain\" TEXT GENERATED ALWAYS AS ('%s') "
                 "VIRTUAL",
                 table, sdb->domain);
        if (silver_exec(sdb, sql, err) < 0)
            return -1;
    }
    if (!has_endpoint) {
        snprintf(sql, sizeof sql,
                 "ALTER TABLE \"%s\" ADD COLUMN \"_endpoint\" TEXT GENERATED ALWAYS AS ('%s') "
                 "VIRTUAL",
                 table, table);
        if (silver_exec(sdb, sql, err) < 0)
            return -1;
    }
    return 0;
}

/* Version 1 -> 2: _snapshots.row_count, and _domain/_endpoint on every
 * silver table. */
static int silver_migrate_v2(struct silver_db *sdb, char err[ERROR_MAX])
{
    if (layout_migrate_v2(sdb->db, err) < 0)
        return error_prefix(err, "%s", sdb->domain);
    struct strlist tables = {0};
    sqlite3_stmt *st = NULL;
    if (silver_prepare(sdb, "SELECT name FROM sqlite_master WHERE type = 'table'", &st, err) < 0)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name != NULL && names_is_valid_object(name) && strlist_push(&tables, name) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    int status = rc == SQLITE_DONE ? 0
                                   : error_set(err, "silver/%s.db: listing tables: %s",
                                               sdb->domain, sqlite3_errmsg(sdb->db));
    for (size_t i = 0; status == 0 && i < tables.count; i++)
        status = silver_meta_columns(sdb, tables.items[i], err);
    strlist_clear(&tables);
    return status;
}

/* Bring the database to LAYOUT_DB_VERSION. Migrations run in order inside
 * one transaction: 1 the layout DDL, 2 kept row counts and the generated
 * _domain/_endpoint columns, 3 the Iceberg export state. */
static int silver_migrate(struct silver_db *sdb, char err[ERROR_MAX])
{
    int version;
    if (silver_user_version(sdb, &version, err) < 0)
        return -1;
    if (version == LAYOUT_DB_VERSION)
        return 0;
    if (version > LAYOUT_DB_VERSION)
        return error_set(err, "silver/%s.db has schema version %d, newer than this build (%d)",
                         sdb->domain, version, LAYOUT_DB_VERSION);
    if (silver_exec(sdb, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    if (version < 1 && silver_exec(sdb, layout_silver_ddl, err) < 0)
        goto fail;
    if (version < 2 && silver_migrate_v2(sdb, err) < 0)
        goto fail;
    if (version < 3 && silver_exec(sdb, iceberg_export_ddl, err) < 0)
        goto fail;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", LAYOUT_DB_VERSION);
    if (silver_exec(sdb, sql, err) < 0 || silver_exec(sdb, "COMMIT", err) < 0)
        goto fail;
    return 0;
fail:
    sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* The row counts kept in _snapshots are sums of each commit's inserts and
 * deletes: once per start they are checked against the tables, and a count
 * that drifted is corrected (and logged) rather than shown forever. */
static void silver_verify_row_counts(struct silver_db *sdb)
{
    sqlite3_stmt *st = NULL;
    struct strlist tables = {0};
    if (sqlite3_prepare_v2(sdb->db,
                           "SELECT s.table_name FROM _snapshots AS s JOIN (SELECT table_name, "
                           "max(snapshot_id) AS id FROM _snapshots GROUP BY table_name) AS m "
                           "ON s.snapshot_id = m.id WHERE s.row_count IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name != NULL && names_is_valid_object(name) && strlist_push(&tables, name) < 0)
            break;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < tables.count; i++) {
        const char *t = tables.items[i];
        char sql[NAMES_MAX + 256];
        /* the name passed names.h: safe inside double quotes */
        snprintf(sql, sizeof sql,
                 "SELECT s.snapshot_id, s.row_count, (SELECT count(*) FROM \"%s\") FROM "
                 "_snapshots AS s WHERE s.table_name = ?1 ORDER BY s.snapshot_id DESC LIMIT 1",
                 t);
        if (sqlite3_prepare_v2(sdb->db, sql, -1, &st, NULL) != SQLITE_OK) {
            sqlite3_finalize(st);
            continue; /* a table dropped with its snapshots kept: nothing to check */
        }
        sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
        int64_t id = 0, kept = 0, rows = 0;
        bool differs = false;
        if (sqlite3_step(st) == SQLITE_ROW) {
            id = sqlite3_column_int64(st, 0);
            kept = sqlite3_column_int64(st, 1);
            rows = sqlite3_column_int64(st, 2);
            differs = kept != rows;
        }
        sqlite3_finalize(st);
        if (!differs)
            continue;
        log_warn("row_count_corrected table=%s.%s snapshot_id=%lld kept=%lld rows=%lld",
                 sdb->domain, t, (long long)id, (long long)kept, (long long)rows);
        snprintf(sql, sizeof sql, "UPDATE _snapshots SET row_count = %lld WHERE snapshot_id = %lld",
                 (long long)rows, (long long)id);
        char err[ERROR_MAX];
        if (silver_exec(sdb, sql, err) < 0)
            log_warn("row_count_correct_failed table=%s.%s reason=\"%s\"", sdb->domain, t, err);
    }
    strlist_clear(&tables);
}

static int silver_db_open(const char *data_dir, const char *domain, int64_t cache_mib,
                          struct silver_db **out, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    if (layout_silver_db(path, sizeof path, data_dir, domain) < 0)
        return error_set(err, "silver database path too long for domain %s", domain);
    struct silver_db *sdb = calloc(1, sizeof *sdb);
    if (sdb == NULL)
        return error_set(err, "out of memory");
    snprintf(sdb->domain, sizeof sdb->domain, "%s", domain);
    if (layout_db_open(path, &sdb->db, err) < 0)
        goto fail;
    sqlite3_busy_timeout(sdb->db, SILVER_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(sdb->db, 0);
    if (silver_exec(sdb, "PRAGMA journal_mode=WAL", err) < 0 ||
        silver_exec(sdb, "PRAGMA synchronous=NORMAL", err) < 0 || silver_migrate(sdb, err) < 0)
        goto fail;
    silver_verify_row_counts(sdb);
    /* A merge of updates touches a random page of the table, of its row
     * history and of their key indexes per row: with SQLite's default 2 MiB
     * cache the pages spill mid-transaction once the table is large
     * (bench: merge cost at 3M rows). A bounded cache of its own keeps them. */
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA cache_size = -%lld", (long long)cache_mib * 1024);
    if (silver_exec(sdb, pragma, err) < 0)
        goto fail;
    if (silver_prepare(sdb,
                       "SELECT 1 FROM _ledger WHERE file = ?1 "
                       "UNION ALL SELECT 1 FROM _quarantine WHERE file = ?1",
                       &sdb->done, err) < 0 ||
        silver_prepare(sdb,
                       "SELECT file FROM _ledger WHERE file >= ?1 AND file < ?2 "
                       "UNION SELECT file FROM _quarantine WHERE file >= ?1 AND file < ?2 "
                       "ORDER BY 1",
                       &sdb->done_range, err) < 0 ||
        silver_prepare(sdb,
                       "INSERT INTO _snapshots (table_name, committed_at, operation, source, "
                       "rows_inserted, rows_updated, rows_unchanged, rows_deleted, "
                       "schema_version, snapshot_id, row_count) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                       &sdb->snapshot, err) < 0 ||
        silver_prepare(sdb,
                       "INSERT OR REPLACE INTO _ledger (file, table_name, snapshot_id, records, "
                       "merged_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                       &sdb->ledger, err) < 0 ||
        silver_prepare(sdb, "DELETE FROM _quarantine WHERE file = ?1", &sdb->unquarantine,
                       err) < 0 ||
        silver_prepare(sdb,
                       "INSERT OR REPLACE INTO _quarantine (file, table_name, reason, at) "
                       "VALUES (?1, ?2, ?3, ?4)",
                       &sdb->quarantine, err) < 0)
        goto fail;
    *out = sdb;
    return 0;
fail:
    silver_db_free(sdb);
    return -1;
}

int silver_get(struct silver *s, const char *domain, struct silver_db **out, char err[ERROR_MAX])
{
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->dbs[i]->domain, domain) == 0) {
            *out = s->dbs[i];
            return 0;
        }
    }
    if (names_check_object("domain", domain, err) < 0)
        return -1;
    struct silver_db **dbs = realloc(s->dbs, (s->count + 1) * sizeof *dbs);
    if (dbs == NULL)
        return error_set(err, "out of memory");
    s->dbs = dbs;
    struct silver_db *sdb;
    if (silver_db_open(s->data_dir, domain, s->cache_mib, &sdb, err) < 0)
        return -1;
    s->dbs[s->count++] = sdb;
    log_info("silver_open domain=%s", domain);
    *out = sdb;
    return 0;
}

/* Finish a one-shot statement: reset, and turn a failed step into err. */
static int silver_step_done(struct silver_db *sdb, sqlite3_stmt *stmt, const char *what,
                            char err[ERROR_MAX])
{
    return sqlutil_step_done(sdb->db, stmt, err, "silver/%s.db: %s", sdb->domain, what);
}

int silver_file_done(struct silver_db *sdb, const char *rel, char err[ERROR_MAX])
{
    sqlite3_bind_text(sdb->done, 1, rel, -1, SQLITE_STATIC);
    int rc = sqlite3_step(sdb->done);
    sqlite3_reset(sdb->done);
    sqlite3_clear_bindings(sdb->done);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return error_set(err, "silver/%s.db: ledger lookup of %s: %s", sdb->domain, rel,
                     sqlite3_errmsg(sdb->db));
}

int silver_files_done_under(struct silver_db *sdb, const char *prefix, struct strlist *out,
                            char err[ERROR_MAX])
{
    /* every path under prefix sorts in [prefix, prefix with its last byte + 1) */
    size_t n = strlen(prefix);
    if (n == 0 || n >= PROCESSOR_REL_MAX)
        return error_set(err, "bad ledger prefix '%s'", prefix);
    char upper[PROCESSOR_REL_MAX];
    memcpy(upper, prefix, n + 1);
    upper[n - 1]++;
    sqlite3_bind_text(sdb->done_range, 1, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(sdb->done_range, 2, upper, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(sdb->done_range)) == SQLITE_ROW) {
        const char *file = (const char *)sqlite3_column_text(sdb->done_range, 0);
        if (file != NULL && strlist_push(out, file) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_reset(sdb->done_range);
    sqlite3_clear_bindings(sdb->done_range);
    if (rc != SQLITE_DONE)
        return error_set(err, "silver/%s.db: ledger scan of %s: %s", sdb->domain, prefix,
                         rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(sdb->db));
    return 0;
}

/* Rows in the table after this commit: the previous snapshot's count plus
 * the commit's inserts minus its deletes (every change of a silver table is
 * a snapshot with those counts), so nothing is counted in proportion to the
 * table; counted once when no earlier count exists (a new table, a database
 * from before version 2). */
static int silver_row_count(struct silver_db *sdb, const struct silver_snapshot *snap,
                            int64_t *rows, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    if (silver_prepare(sdb,
                       "SELECT row_count FROM _snapshots WHERE table_name = ?1 "
                       "ORDER BY snapshot_id DESC LIMIT 1",
                       &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, snap->table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bool known = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    int64_t before = known ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return error_set(err, "silver/%s.db: last row count of %s: %s", sdb->domain,
                         snap->table, sqlite3_errmsg(sdb->db));
    if (known) {
        *rows = before + snap->inserted - snap->deleted;
        return 0;
    }
    int exists = silver_table_exists(sdb, snap->table, err);
    if (exists <= 0) {
        *rows = 0;
        return exists;
    }
    char sql[NAMES_MAX + 40];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", snap->table);
    if (silver_prepare(sdb, sql, &st, err) < 0)
        return -1;
    rc = sqlite3_step(st);
    *rows = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return error_set(err, "silver/%s.db: counting %s: %s", sdb->domain, snap->table,
                         sqlite3_errmsg(sdb->db));
    return 0;
}

int silver_record_snapshot(struct silver_db *sdb, const struct silver_snapshot *snap,
                           int64_t *snapshot_id, char err[ERROR_MAX])
{
    int64_t rows = 0;
    if (!names_is_valid_object(snap->table))
        return error_set(err, "silver/%s.db: invalid table name '%s'", sdb->domain, snap->table);
    if (silver_meta_columns(sdb, snap->table, err) < 0 || silver_row_count(sdb, snap, &rows, err) < 0)
        return -1;
    char now[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    const struct sqlutil_value values[] = {
        SQLUTIL_TEXT(snap->table),     SQLUTIL_TEXT(now),
        SQLUTIL_TEXT(snap->operation), SQLUTIL_TEXT(snap->source),
        SQLUTIL_INT(snap->inserted),   SQLUTIL_INT(snap->updated),
        SQLUTIL_INT(snap->unchanged),  SQLUTIL_INT(snap->deleted),
        SQLUTIL_INT(snap->schema_version),
        /* reserved by silver_next_snapshot_id: history rows already use it */
        snap->id > 0 ? SQLUTIL_INT(snap->id) : SQLUTIL_TEXT(NULL),
        SQLUTIL_INT(rows),
    };
    sqlite3_stmt *st = sdb->snapshot;
    sqlutil_bind(st, 1, values, sizeof values / sizeof values[0]);
    if (silver_step_done(sdb, st, "insert into _snapshots", err) < 0)
        return -1;
    *snapshot_id = sqlite3_last_insert_rowid(sdb->db);
    return 0;
}

int silver_record_ledger(struct silver_db *sdb, const char *rel, const char *table,
                         int64_t snapshot_id, int64_t records, char err[ERROR_MAX])
{
    char now[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    sqlite3_stmt *st = sdb->ledger;
    sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, snapshot_id);
    sqlite3_bind_int64(st, 4, records);
    sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
    if (silver_step_done(sdb, st, "insert into _ledger", err) < 0)
        return -1;
    sqlite3_bind_text(sdb->unquarantine, 1, rel, -1, SQLITE_STATIC);
    return silver_step_done(sdb, sdb->unquarantine, "delete from _quarantine", err);
}

int silver_record_quarantine(struct silver_db *sdb, const char *rel, const char *table,
                             const char *reason, char err[ERROR_MAX])
{
    char now[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    sqlite3_stmt *st = sdb->quarantine;
    sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    return silver_step_done(sdb, st, "insert into _quarantine", err);
}

int silver_table_exists(struct silver_db *sdb, const char *table, char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = NULL;
    if (silver_prepare(sdb, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                       &stmt, err) < 0)
        return -1;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return error_set(err, "silver/%s.db: looking up table %s: %s", sdb->domain, table,
                     sqlite3_errmsg(sdb->db));
}

int silver_next_snapshot_id(struct silver_db *sdb, int64_t *id, char err[ERROR_MAX])
{
    /* AUTOINCREMENT hands out max(sqlite_sequence, max rowid) + 1; inside the
     * writer's transaction nobody else can take it first */
    sqlite3_stmt *st = NULL;
    if (silver_prepare(sdb,
                       "SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
                       "WHERE name = '_snapshots'), 0), "
                       "coalesce((SELECT max(snapshot_id) FROM _snapshots), 0)) + 1",
                       &st, err) < 0)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return error_set(err, "silver/%s.db: next snapshot id: %s", sdb->domain,
                         sqlite3_errmsg(sdb->db));
    return 0;
}

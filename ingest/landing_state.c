/* landing_state.c - landing/_state.db: one row per file (status, records
 * stored) and the intent of the chunk being committed (see landing.h). */
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
#include "sqlutil.h"

/* ------------------------------------------------------------ state db */

static const char landing_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS files("
    " domain TEXT NOT NULL, endpoint TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " size INTEGER NOT NULL, status TEXT NOT NULL,"
    " records_done INTEGER NOT NULL, accepted INTEGER NOT NULL, refused INTEGER NOT NULL,"
    " started_at TEXT NOT NULL, finished_at TEXT,"
    " PRIMARY KEY(domain, endpoint, name, sha256));"
    "CREATE TABLE IF NOT EXISTS intent("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " domain TEXT NOT NULL, endpoint TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " batch_id TEXT NOT NULL, spool TEXT NOT NULL, spool_before INTEGER NOT NULL,"
    " spool_after INTEGER NOT NULL, rejected TEXT NOT NULL, rejected_before INTEGER NOT NULL,"
    " rejected_after INTEGER NOT NULL, done_after INTEGER NOT NULL,"
    " accepted_after INTEGER NOT NULL, refused_after INTEGER NOT NULL);";

static int landing_db_error(struct landing *l, const char *what, char err[ERROR_MAX])
{
    return error_set(err, "landing state %s: %s", what, sqlite3_errmsg(l->db));
}

int landing_db_exec(struct landing *l, const char *sql, char err[ERROR_MAX])
{
    return sqlutil_exec(l->db, sql, err, "landing state");
}

int landing_db_open(struct landing *l, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    if (layout_landing_state_db(path, sizeof path, l->data_dir, err) < 0)
        return -1;
    if (layout_db_open(path, &l->db, err) < 0)
        return -1;
    sqlite3_busy_timeout(l->db, 5000);
    /* FULL: a committed intent or progress row survives a power cut, which
     * the exactly-once argument needs (WAL with NORMAL would not). */
    if (landing_db_exec(l, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", err) < 0)
        return -1;
    int64_t version = -1;
    if (sqlutil_int64(l->db, "PRAGMA user_version", &version, err, "landing state "
                      "user_version") < 0)
        return -1;
    if (version > LANDING_DB_VERSION)
        return error_set(err, "%s has schema version %d, newer than this program's %d", path,
                         (int)version, LANDING_DB_VERSION);
    if (version < 1) {
        if (landing_db_exec(l, "BEGIN IMMEDIATE", err) < 0)
            return -1;
        if (landing_db_exec(l, landing_schema_sql, err) < 0 ||
            landing_db_exec(l, "PRAGMA user_version = 1; COMMIT", err) < 0) {
            sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

void landing_bind_key(sqlite3_stmt *st, int first, const struct landing_item *item,
                             const char *sha)
{
    sqlite3_bind_text(st, first, item->domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, first + 1, item->endpoint, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, first + 2, item->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, first + 3, sha, -1, SQLITE_STATIC);
}

/* Run a query (the file key bound at ?1..?4 when item is given): 1 with *st
 * on its first row (the caller reads it and finalizes *st), 0 when there is
 * none, -1 error. */
static int landing_db_row(struct landing *l, const char *sql, const struct landing_item *item,
                          const char *sha, sqlite3_stmt **st, char err[ERROR_MAX])
{
    if (sqlite3_prepare_v2(l->db, sql, -1, st, NULL) != SQLITE_OK)
        return landing_db_error(l, "query", err);
    if (item != NULL)
        landing_bind_key(*st, 1, item, sha);
    int rc = sqlite3_step(*st);
    if (rc == SQLITE_ROW)
        return 1;
    int result = rc == SQLITE_DONE ? 0 : landing_db_error(l, "query", err);
    sqlite3_finalize(*st);
    *st = NULL;
    return result;
}

/* 1 with the row's status and counts, 0 none, -1 error. */
int landing_db_get(struct landing *l, const struct landing_item *item, const char *sha,
                          bool *done, uint64_t counts[3], char when[64], char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    int found = landing_db_row(l,
                               "SELECT status, records_done, accepted, refused,"
                               " coalesce(finished_at, started_at) FROM files"
                               " WHERE domain = ?1 AND endpoint = ?2 AND name = ?3 AND sha256 = ?4",
                               item, sha, &st, err);
    if (found <= 0)
        return found;
    *done = strcmp((const char *)sqlite3_column_text(st, 0), "done") == 0;
    for (int i = 0; i < 3; i++)
        counts[i] = (uint64_t)sqlite3_column_int64(st, 1 + i);
    snprintf(when, 64, "%s", (const char *)sqlite3_column_text(st, 4));
    sqlite3_finalize(st);
    return 1;
}

/* Run one statement with the file key bound at ?1..?4 and values[0..n) at
 * ?5...; a failed step is reported as "landing state <what>: ...". */
static int landing_db_run(struct landing *l, const char *sql, const struct landing_item *item,
                          const char *sha, const struct sqlutil_value *values, size_t n,
                          const char *what, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
        return landing_db_error(l, "prepare", err);
    landing_bind_key(st, 1, item, sha);
    sqlutil_bind(st, 5, values, n);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : landing_db_error(l, what, err);
}

int landing_db_begin_file(struct landing *l, const struct landing_file *f,
                                 char err[ERROR_MAX])
{
    char now[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    const struct sqlutil_value values[] = {SQLUTIL_INT((int64_t)f->size), SQLUTIL_TEXT(now)};
    return landing_db_run(l,
                          "INSERT OR IGNORE INTO files(domain, endpoint, name, sha256, size,"
                          " status, records_done, accepted, refused, started_at)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, 'ingesting', 0, 0, 0, ?6)",
                          &f->item, f->sha, values, 2, "insert", err);
}

int landing_db_put_intent(struct landing *l, const struct landing_intent *in,
                                 char err[ERROR_MAX])
{
    const struct sqlutil_value values[] = {
        SQLUTIL_TEXT(in->id),          SQLUTIL_TEXT(in->spool),
        SQLUTIL_INT(in->spool_before), SQLUTIL_INT(in->spool_after),
        SQLUTIL_TEXT(in->rejected),    SQLUTIL_INT(in->rejected_before),
        SQLUTIL_INT(in->rejected_after), SQLUTIL_INT(in->done_after),
        SQLUTIL_INT(in->accepted_after), SQLUTIL_INT(in->refused_after),
    };
    return landing_db_run(l,
                          "INSERT OR REPLACE INTO intent(id, domain, endpoint, name, sha256,"
                          " batch_id, spool, spool_before, spool_after, rejected,"
                          " rejected_before, rejected_after, done_after, accepted_after,"
                          " refused_after) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
                          " ?11, ?12, ?13, ?14)",
                          &in->item, in->sha, values, sizeof values / sizeof values[0], "intent",
                          err);
}

/* 1 and *in when an intent is recorded, 0 none, -1 error. */
int landing_db_get_intent(struct landing *l, struct landing_intent *in,
                                 char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    int found = landing_db_row(l,
                               "SELECT domain, endpoint, name, sha256, batch_id, spool,"
                               " spool_before, spool_after, rejected, rejected_before,"
                               " rejected_after, done_after, accepted_after, refused_after"
                               " FROM intent WHERE id = 1",
                               NULL, NULL, &st, err);
    if (found <= 0)
        return found;
    memset(in, 0, sizeof *in);
#define COL(i) ((const char *)sqlite3_column_text(st, (i)))
    snprintf(in->item.domain, sizeof in->item.domain, "%s", COL(0));
    snprintf(in->item.endpoint, sizeof in->item.endpoint, "%s", COL(1));
    snprintf(in->item.name, sizeof in->item.name, "%s", COL(2));
    snprintf(in->sha, sizeof in->sha, "%s", COL(3));
    snprintf(in->id, sizeof in->id, "%s", COL(4));
    snprintf(in->spool, sizeof in->spool, "%s", COL(5));
    snprintf(in->rejected, sizeof in->rejected, "%s", COL(8));
#undef COL
    in->spool_before = sqlite3_column_int64(st, 6);
    in->spool_after = sqlite3_column_int64(st, 7);
    in->rejected_before = sqlite3_column_int64(st, 9);
    in->rejected_after = sqlite3_column_int64(st, 10);
    in->done_after = sqlite3_column_int64(st, 11);
    in->accepted_after = sqlite3_column_int64(st, 12);
    in->refused_after = sqlite3_column_int64(st, 13);
    sqlite3_finalize(st);
    return 1;
}

/* The chunk is stored: advance the file's row and drop the intent, in one
 * transaction. */
int landing_db_settle(struct landing *l, const struct landing_item *item, const char *sha,
                             int64_t done, int64_t accepted, int64_t refused, char err[ERROR_MAX])
{
    if (landing_db_exec(l, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    const struct sqlutil_value counts[] = {SQLUTIL_INT(done), SQLUTIL_INT(accepted),
                                           SQLUTIL_INT(refused)};
    if (landing_db_run(l,
                       "UPDATE files SET records_done = ?5, accepted = ?6, refused = ?7"
                       " WHERE domain = ?1 AND endpoint = ?2 AND name = ?3 AND sha256 = ?4",
                       item, sha, counts, 3, "write", err) < 0 ||
        landing_db_exec(l, "DELETE FROM intent; COMMIT", err) < 0) {
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

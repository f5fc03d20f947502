/* retention_history.c - deleting the expired snapshots, row versions and lineage rows
 * of one table, and the _retention log (see retention_history.h). */
#include "retention_history.h"

#include <stdio.h>
#include <string.h>

#include "names.h"
#include "timeutil.h"
#include "sqlutil.h"

static const char retention_history_ddl[] =
    "CREATE TABLE IF NOT EXISTS _retention (id INTEGER PRIMARY KEY, table_name TEXT NOT NULL, "
    "layer TEXT NOT NULL, horizon TEXT NOT NULL, files INTEGER NOT NULL, "
    "records INTEGER NOT NULL, snapshots INTEGER NOT NULL, history_rows INTEGER NOT NULL, "
    "at TEXT NOT NULL)";

/* Run sql with ?1 = t1, ?2 = t2 (text, when given) and ?3 = i3 (when the
 * statement has it); *out = the first column of the first row (0 if none)
 * or, for a statement without columns, changes(). */
static int retention_history_int(sqlite3 *db, const char *sql, const char *t1, const char *t2,
                                 int64_t i3, int64_t *out, char err[ERROR_MAX])
{
    const struct sqlutil_value v[] = {SQLUTIL_TEXT(t1), SQLUTIL_TEXT(t2), SQLUTIL_INT(i3)};
    return sqlutil_run_values(db, sql, v, 3, out, err, NULL) < 0 ? -1 : 0;
}

int retention_history_expire(sqlite3 *db, const char *table, const char *horizon, bool dry_run,
                             struct retention_history_counts *out, char err[ERROR_MAX])
{
    memset(out, 0, sizeof *out);
    int64_t newest = 0, has_history = 0, has_lineage = 0, ignored = 0;
    char htable[NAMES_MAX + 4], sql[256];
    snprintf(htable, sizeof htable, "_h_%s", table);
    if (retention_history_int(db, "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = ?1", table,
                   NULL, 0, &newest, err) < 0 ||
        retention_history_int(db,
                   "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = ?1 "
                   "AND committed_at < ?2 AND snapshot_id < ?3",
                   table, horizon, newest, &out->cut, err) < 0)
        return -1;
    if (out->cut <= 0)
        return 0;
    if (retention_history_int(db,
                   "SELECT count(*) FROM _snapshots WHERE table_name = ?1 AND snapshot_id <= ?3",
                   table, NULL, out->cut, &out->snapshots, err) < 0 ||
        retention_history_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                   htable, NULL, 0, &has_history, err) < 0 ||
        retention_history_int(db,
                   "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_lineage'",
                   NULL, NULL, 0, &has_lineage, err) < 0)
        return -1;
    /* the lineage rows of the expiring snapshots (ids are unique in a database) */
    static const char lineage_where[] =
        " FROM _lineage WHERE snapshot_id IN (SELECT snapshot_id FROM _snapshots "
        "WHERE table_name = ?1 AND snapshot_id <= ?3)";
    if (has_lineage > 0) {
        snprintf(sql, sizeof sql, "SELECT count(*)%s", lineage_where);
        if (retention_history_int(db, sql, table, NULL, out->cut, &out->lineage_rows, err) < 0)
            return -1;
    }
    if (has_history > 0) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM \"%s\" WHERE _valid_to IS NOT NULL AND _valid_to <= ?3",
                 htable);
        if (retention_history_int(db, sql, NULL, NULL, out->cut, &out->history_rows, err) < 0)
            return -1;
    }
    if (dry_run)
        return 0;
    if (has_lineage > 0) {
        snprintf(sql, sizeof sql, "DELETE%s", lineage_where);
        if (retention_history_int(db, sql, table, NULL, out->cut, &ignored, err) < 0)
            return -1;
    }
    if (retention_history_int(db, "DELETE FROM _snapshots WHERE table_name = ?1 AND snapshot_id <= ?3",
                   table, NULL, out->cut, &ignored, err) < 0)
        return -1;
    if (has_history > 0) {
        snprintf(sql, sizeof sql,
                 "DELETE FROM \"%s\" WHERE _valid_to IS NOT NULL AND _valid_to <= ?3", htable);
        if (retention_history_int(db, sql, NULL, NULL, out->cut, &ignored, err) < 0)
            return -1;
    }
    return 0;
}

int retention_history_log(sqlite3 *db, const char *table, const char *layer, const char *horizon,
                          int64_t files, int64_t records, int64_t snapshots, int64_t history_rows,
                          char err[ERROR_MAX])
{
    if (sqlutil_exec(db, retention_history_ddl, err, "creating _retention") < 0)
        return -1;
    char now[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    const struct sqlutil_value values[] = {
        SQLUTIL_TEXT(table),         SQLUTIL_TEXT(layer),     SQLUTIL_TEXT(horizon),
        SQLUTIL_INT(files),          SQLUTIL_INT(records),    SQLUTIL_INT(snapshots),
        SQLUTIL_INT(history_rows),   SQLUTIL_TEXT(now),
    };
    if (sqlutil_run_values(db,
                           "INSERT INTO _retention (table_name, layer, horizon, files, records, "
                           "snapshots, history_rows, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           values, sizeof values / sizeof values[0], NULL, err,
                           "insert into _retention") < 0)
        return -1;
    return 0;
}

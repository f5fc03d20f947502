/* timetravel.c - history forms of silver and gold tables as subqueries over
 * _h_<table>, and the snapshot list (see timetravel.h).
 *
 * Identifiers spliced into the subqueries are checked names (sqlref.h) or
 * column names read from the database that pass the column rule; snapshot
 * ids are integers we parsed and resolved. */
#include "timetravel.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "layout.h"
#include "strbuf.h"
#include "names.h"
#include "timetravel_names.h"
#include "timeutil.h"


/* One integer from sql with text parameters ?1, ?2 (NULL result -> *out = def).
 * 1 row, 0 no row, -1 error. */
static int tt_int(sqlite3 *db, const char *sql, const char *p1, const char *p2, int64_t def,
                  int64_t *out, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        if (p1 != NULL)
            sqlite3_bind_text(st, 1, p1, -1, SQLITE_TRANSIENT);
        if (p2 != NULL)
            sqlite3_bind_text(st, 2, p2, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_type(st, 0) == SQLITE_NULL ? def : sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        error_set(err, "reading history: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

enum tt_names { TT_COLUMNS, TT_PRIMARY_KEY, TT_INDEX };

/* Column names of schema.table in order (TT_COLUMNS), its primary key
 * columns in key order (TT_PRIMARY_KEY), or the columns of the index named
 * table (TT_INDEX). Caller frees the array and its strings. */
static int tt_columns(sqlite3 *db, const char *schema, const char *table, enum tt_names which,
                      char ***out, size_t *count, char err[ERROR_MAX])
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st = NULL;
    const char *sql =
        which == TT_PRIMARY_KEY ? "SELECT name FROM pragma_table_info(?1, ?2) WHERE pk > 0 ORDER BY pk"
        : which == TT_INDEX     ? "SELECT name FROM pragma_index_info(?1, ?2) ORDER BY seqno"
                                : "SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid";
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return error_set(err, "reading history columns: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, schema, -1, SQLITE_TRANSIENT);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name == NULL || strlen(name) >= NAMES_MAX ||
            (name[0] == '_' ? !names_is_valid_column(name + 1) : !names_is_valid_column(name)))
            continue; /* never splice a name we did not check */
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = realloc(*out, cap * sizeof *p);
            if (p == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = p;
        }
        if (((*out)[*count] = strdup(name)) == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        (*count)++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        for (size_t i = 0; i < *count; i++)
            free((*out)[i]);
        free(*out);
        *out = NULL;
        *count = 0;
        return error_set(err, "reading history columns: %s",
                         rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
    }
    return 0;
}

static void tt_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* Columns of _h_<t> that are not columns of a row: the validity pair, and
 * the keepers of dropped columns (timetravel_names.h: time travel to before
 * the drop shows them under their old name; @changes and @scd2 use the
 * current columns). */
static bool tt_is_hidden(const char *name)
{
    return strcmp(name, "_valid_from") == 0 || strcmp(name, "_valid_to") == 0 ||
           timetravel_names_is_dropped(name);
}

/* The snapshot of the table current at the time given in at->time. */
static int tt_resolve_time(sqlite3 *db, const char *schema, const struct sqlref *ref,
                           const char *time, int64_t *snapshot, char err[ERROR_MAX])
{
    int64_t ms;
    if (timeutil_parse_utc_ms(time, &ms) != 0)
        return error_set(err, "%s.%s.%s@'%s': not an ISO 8601 time "
                              "(e.g. 2026-11-21T10:00:00Z)",
                         ref->domain, sqlref_layer_name(ref->layer), ref->table, time);
    char iso[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(ms, iso);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT max(snapshot_id) FROM \"%s\"._snapshots "
             "WHERE table_name = ?1 AND committed_at <= ?2",
             schema);
    *snapshot = 0;
    if (tt_int(db, sql, ref->table, iso, 0, snapshot, err) < 0)
        return -1;
    if (*snapshot > 0)
        return 0;
    return error_set(err, "%s.%s.%s has no snapshot at or before %s", ref->domain,
                     sqlref_layer_name(ref->layer), ref->table, iso);
}

static int tt_check_snapshot(sqlite3 *db, const char *schema, const struct sqlref *ref,
                             int64_t snapshot, char err[ERROR_MAX])
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT snapshot_id FROM \"%s\"._snapshots WHERE table_name = ?1 AND snapshot_id = "
             "%" PRId64,
             schema, snapshot);
    int64_t found = 0;
    int rc = tt_int(db, sql, ref->table, NULL, 0, &found, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    int64_t lo = 0, hi = 0;
    snprintf(sql, sizeof sql, "SELECT min(snapshot_id) FROM \"%s\"._snapshots WHERE table_name = ?1",
             schema);
    if (tt_int(db, sql, ref->table, NULL, 0, &lo, err) < 0)
        return -1;
    snprintf(sql, sizeof sql, "SELECT max(snapshot_id) FROM \"%s\"._snapshots WHERE table_name = ?1",
             schema);
    if (tt_int(db, sql, ref->table, NULL, 0, &hi, err) < 0)
        return -1;
    const char *layer = sqlref_layer_name(ref->layer);
    if (lo == 0)
        return error_set(err, "unknown snapshot %" PRId64 " of %s.%s.%s: it has no snapshots",
                         snapshot, ref->domain, layer, ref->table);
    if (ref->layer == SQLREF_GOLD)
        return error_set(err,
                         "unknown snapshot %" PRId64 " of %s.gold.%s (its snapshots are between %"
                         PRId64 " and %" PRId64 "; see lakehouse history %s.gold.%s)",
                         snapshot, ref->domain, ref->table, lo, hi, ref->domain, ref->table);
    return error_set(err,
                     "unknown snapshot %" PRId64 " of %s.silver.%s (its snapshots are between %"
                     PRId64 " and %" PRId64 "; see lakehouse history %s/%s)",
                     snapshot, ref->domain, ref->table, lo, hi, ref->domain, ref->table);
}

/* t@expectations: the failures per rule per snapshot the processor records
 * in _expectations (only when a rule failed at least once: an empty result
 * otherwise), with the snapshot's commit time. */
static int tt_expectations(sqlite3 *db, const struct sqlref *ref, char **text,
                           char err[ERROR_MAX])
{
    if (ref->layer != SQLREF_SILVER)
        return error_set(err, "%s.%s.%s@expectations: expectations are checked when silver "
                              "tables are merged; only silver tables have counts",
                         ref->domain, sqlref_layer_name(ref->layer), ref->table);
    char schema[SQLREF_SCHEMA_MAX];
    sqlref_schema_name(ref->layer, ref->domain, schema);
    char sql[256];
    int64_t n = 0;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\".sqlite_master WHERE name = ?1",
             schema);
    if (tt_int(db, sql, ref->table, NULL, 0, &n, err) < 0)
        return -1;
    if (n == 0)
        return error_set(err, "%s.silver.%s@expectations: no such table", ref->domain,
                         ref->table);
    if (tt_int(db, sql, "_expectations", NULL, 0, &n, err) < 0)
        return -1;
    struct strbuf b = {0};
    if (n == 0)
        strbuf_addf(&b, "(SELECT NULL AS snapshot_id, NULL AS committed_at, NULL AS rule, "
                        "NULL AS action, NULL AS failed WHERE 0)");
    else
        strbuf_addf(&b,
                    "(SELECT e.snapshot_id AS snapshot_id, s.committed_at AS committed_at, "
                    "e.rule AS rule, e.action AS action, e.failed AS failed "
                    "FROM \"%s\"._expectations AS e LEFT JOIN \"%s\"._snapshots AS s "
                    "ON s.snapshot_id = e.snapshot_id AND s.table_name = e.table_name "
                    "WHERE e.table_name = '%s')",
                    schema, schema, ref->table); /* table: a checked name (names.h) */
    if (b.failed) {
        strbuf_free(&b);
        return error_set(err, "out of memory");
    }
    *text = b.s;
    return 0;
}

/* t@S: the versions visible at snapshot s, in the column names of its time. */
static int tt_sql_snapshot(sqlite3 *db, const char *schema, const struct sqlref *ref,
                           const char *h, char **cols, size_t ncols, int64_t s, struct strbuf *b,
                           char err[ERROR_MAX])
{
    int rc = -1;
    /* the columns of the snapshot's time (renames and drops undone) */
    char (*shown)[NAMES_MAX] = calloc(ncols, sizeof *shown);
    if (shown == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    if (timetravel_names_at(db, schema, ref->table, s, cols, ncols, shown, err) < 0)
        goto done;
    strbuf_addf(b, "(SELECT ");
    for (size_t i = 0, n = 0; i < ncols; i++) {
        if (tt_is_hidden(cols[i]) && !timetravel_names_is_dropped(cols[i]))
            continue; /* validity */
        if (shown[i][0] == '\0')
            continue;
        strbuf_addf(b, "%s\"%s\"", n++ ? ", " : "", cols[i]);
        if (strcmp(shown[i], cols[i]) != 0)
            strbuf_addf(b, " AS \"%s\"", shown[i]);
    }
    strbuf_addf(b,
           " FROM \"%s\".\"%s\" WHERE \"_valid_from\" <= %" PRId64
           " AND (\"_valid_to\" IS NULL OR \"_valid_to\" > %" PRId64 "))",
           schema, h, s, s);
    rc = 0;
done:
    free(shown);
    return rc;
}

/* t@changes(s, to): the rows each snapshot in the range inserted, updated
 * (before and after) or deleted; keys pair an update's two sides. */
static int tt_sql_changes(sqlite3 *db, const char *schema, const struct sqlref *ref,
                          const char *h, char **cols, size_t ncols, char **keys, size_t nkeys,
                          int64_t s, int64_t to, struct strbuf *b, char err[ERROR_MAX])
{
    const char *layer = sqlref_layer_name(ref->layer);
    if (s < 0) {
        error_set(err, "%s.%s.%s@changes without a range is for incremental jobs (the "
                       "changes since their last run); give one: @changes(<from>[,<to>])",
                  ref->domain, layer, ref->table);
        return -1;
    }
    if (to == 0) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT max(snapshot_id) FROM \"%s\"._snapshots WHERE table_name = ?1",
                 schema);
        if (tt_int(db, sql, ref->table, NULL, 0, &to, err) < 0)
            return -1;
    } else if (to < s) {
        error_set(err, "%s.%s.%s@changes(%" PRId64 ",%" PRId64 "): the first snapshot "
                       "is after the last",
                  ref->domain, layer, ref->table, s, to);
        return -1;
    }
    /* one branch for versions that started in the range, one for those
     * that ended in it; a version of the same key ending / starting at
     * the same snapshot makes the pair an update */
    for (int branch = 0; branch < 2; branch++) {
        const char *at_col = branch == 0 ? "_valid_from" : "_valid_to";
        const char *other = branch == 0 ? "_valid_to" : "_valid_from";
        strbuf_addf(b, branch == 0 ? "(SELECT " : " UNION ALL SELECT ");
        for (size_t i = 0; i < ncols; i++)
            if (!tt_is_hidden(cols[i]))
                strbuf_addf(b, "c.\"%s\", ", cols[i]);
        if (nkeys == 0 && ref->layer == SQLREF_GOLD) {
            strbuf_addf(b, "'%s' AS \"_change_type\", ", branch == 0 ? "insert" : "delete");
        } else {
            strbuf_addf(b, "CASE WHEN EXISTS (SELECT 1 FROM \"%s\".\"%s\" AS o WHERE ",
                        schema, h);
            for (size_t k = 0; k < nkeys; k++)
                strbuf_addf(b, "o.\"%s\" %s c.\"%s\" AND ", keys[k],
                            ref->layer == SQLREF_GOLD ? "IS" : "=", keys[k]); /* NULL keys */
            if (nkeys == 0)
                strbuf_addf(b, "o.\"_seq\" = c.\"_seq\" AND ");
            strbuf_addf(b, "o.\"%s\" = c.\"%s\") THEN '%s' ELSE '%s' END AS \"_change_type\", ",
                        other, at_col, branch == 0 ? "update_after" : "update_before",
                        branch == 0 ? "insert" : "delete");
        }
        strbuf_addf(b,
               "c.\"%s\" AS \"_snapshot_id\", (SELECT committed_at FROM \"%s\"._snapshots "
               "WHERE snapshot_id = c.\"%s\") AS \"_committed_at\" FROM \"%s\".\"%s\" AS c "
               "WHERE c.\"%s\" BETWEEN %" PRId64 " AND %" PRId64,
               at_col, schema, at_col, schema, h, at_col, s, to);
    }
    strbuf_addf(b, ")");
    return 0;
}

/* t@scd2: every version with its validity as commit times. */
static void tt_sql_scd2(const char *schema, const char *h, char **cols, size_t ncols,
                        struct strbuf *b)
{
    strbuf_addf(b, "(SELECT ");
    for (size_t i = 0; i < ncols; i++)
        if (!tt_is_hidden(cols[i]))
            strbuf_addf(b, "c.\"%s\", ", cols[i]);
    strbuf_addf(b,
           "f.committed_at AS \"_valid_from\", t.committed_at AS \"_valid_to\", "
           "(c.\"_valid_to\" IS NULL) AS \"_is_current\", c.\"_valid_from\" AS "
           "\"_from_snapshot\", c.\"_valid_to\" AS \"_to_snapshot\" FROM \"%s\".\"%s\" AS c "
           "LEFT JOIN \"%s\"._snapshots AS f ON f.snapshot_id = c.\"_valid_from\" "
           "LEFT JOIN \"%s\"._snapshots AS t ON t.snapshot_id = c.\"_valid_to\")",
           schema, h, schema, schema);
}

int timetravel_expand(void *arg, const struct sqlref *ref, const struct sqlref_at *at,
                      char **text, char err[ERROR_MAX])
{
    const struct timetravel_db *tdb = arg;
    sqlite3 *db = tdb->db;
    *text = NULL;
    if (at->kind == SQLREF_AT_EXPECTATIONS)
        return tt_expectations(db, ref, text, err);
    const char *layer = sqlref_layer_name(ref->layer);
    if (ref->layer != SQLREF_SILVER && ref->layer != SQLREF_GOLD)
        return error_set(err, "%s.%s.%s: time travel, @changes and @scd2 are for silver and gold "
                              "tables",
                         ref->domain, layer, ref->table);
    char schema[SQLREF_SCHEMA_MAX];
    if (ref->layer == SQLREF_GOLD && tdb->gold_main != NULL &&
        strcmp(ref->domain, tdb->gold_main) == 0)
        snprintf(schema, sizeof schema, "main"); /* the transformer's own gold database */
    else
        sqlref_schema_name(ref->layer, ref->domain, schema);
    char h[NAMES_MAX + 4], uk[NAMES_MAX + 4];
    snprintf(h, sizeof h, "_h_%s", ref->table);
    snprintf(uk, sizeof uk, "_uk_%s", ref->table);
    char **cols = NULL, **keys = NULL;
    size_t ncols = 0, nkeys = 0;
    struct strbuf b = {0};
    int rc = -1;
    /* the key that pairs update_before / update_after: silver's primary key
     * (else _seq); gold's unique_key (the index _uk_<t> of upsert jobs),
     * else none: every change of a keyless gold table is an insert or a delete */
    if (tt_columns(db, schema, h, TT_COLUMNS, &cols, &ncols, err) < 0 ||
        (ref->layer == SQLREF_SILVER
             ? tt_columns(db, schema, ref->table, TT_PRIMARY_KEY, &keys, &nkeys, err)
             : tt_columns(db, schema, uk, TT_INDEX, &keys, &nkeys, err)) < 0)
        goto done;
    if (ncols == 0) {
        if (ref->layer == SQLREF_GOLD)
            error_set(err, "no history for %s.gold.%s (no such table, or its job has not run "
                           "since history was added: the next run starts it)",
                      ref->domain, ref->table);
        else
            error_set(err, "no history for %s.silver.%s (no such table, or not merged since "
                           "history was added)",
                      ref->domain, ref->table);
        goto done;
    }
    int64_t s = at->snapshot;
    switch (at->kind) {
    case SQLREF_AT_TIME:
        if (tt_resolve_time(db, schema, ref, at->time, &s, err) < 0)
            goto done;
        /* fall through */
    case SQLREF_AT_SNAPSHOT:
        if (tt_check_snapshot(db, schema, ref, s, err) < 0)
            goto done;
        if (tt_sql_snapshot(db, schema, ref, h, cols, ncols, s, &b, err) < 0)
            goto done;
        break;
    case SQLREF_AT_CHANGES:
        if (tt_sql_changes(db, schema, ref, h, cols, ncols, keys, nkeys, s, at->to, &b, err) < 0)
            goto done;
        break;
    case SQLREF_AT_EXPECTATIONS: /* handled above */
    case SQLREF_AT_SCD2:
        tt_sql_scd2(schema, h, cols, ncols, &b);
        break;
    }
    if (b.failed) {
        error_set(err, "out of memory");
        goto done;
    }
    *text = b.s;
    b.s = NULL;
    rc = 0;
done:
    free(b.s);
    tt_free(cols, ncols);
    tt_free(keys, nkeys);
    return rc;
}

int timetravel_history(const char *data_dir, enum sqlref_layer layer, const char *domain,
                       const char *table, int64_t limit, json_t **out, char err[ERROR_MAX])
{
    *out = NULL;
    char path[4096];
    if (layer != SQLREF_SILVER && layer != SQLREF_GOLD)
        return error_set(err, "%s.%s.%s: only silver and gold tables have snapshots", domain,
                         sqlref_layer_name(layer), table);
    if ((layer == SQLREF_GOLD ? layout_gold_db(path, sizeof path, data_dir, domain)
                              : layout_silver_db(path, sizeof path, data_dir, domain)) != 0)
        return error_set(err, "data directory path too long: %s", data_dir);
    struct stat st;
    if (stat(path, &st) != 0)
        return error_fail(err, ERROR_NOT_FOUND, "no %s database for domain %s",
                          sqlref_layer_name(layer), domain);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    enum error_kind kind = ERROR_INTERNAL;
    json_t *list = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        error_set(err, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db,
                           "SELECT snapshot_id, committed_at, operation, source, rows_inserted, "
                           "rows_updated, rows_unchanged, rows_deleted, schema_version "
                           "FROM _snapshots WHERE table_name = ?1 ORDER BY snapshot_id DESC "
                           "LIMIT ?2",
                           -1, &stmt, NULL) != SQLITE_OK) {
        error_set(err, "%s: reading _snapshots: %s", path, sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, limit > 0 ? limit : -1);
    list = json_array();
    int rc;
    while (list != NULL && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *at = (const char *)sqlite3_column_text(stmt, 1);
        const char *op = (const char *)sqlite3_column_text(stmt, 2);
        const char *src = (const char *)sqlite3_column_text(stmt, 3);
        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "snapshot_id",
                              (json_int_t)sqlite3_column_int64(stmt, 0), "committed_at",
                              at ? at : "", "operation", op ? op : "", "source", src ? src : "",
                              "rows_inserted", (json_int_t)sqlite3_column_int64(stmt, 4),
                              "rows_updated", (json_int_t)sqlite3_column_int64(stmt, 5),
                              "rows_unchanged", (json_int_t)sqlite3_column_int64(stmt, 6),
                              "rows_deleted", (json_int_t)sqlite3_column_int64(stmt, 7),
                              "schema_version", (json_int_t)sqlite3_column_int64(stmt, 8));
        if (o == NULL || json_array_append_new(list, o) != 0) {
            error_set(err, "out of memory");
            goto fail;
        }
    }
    if (list == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    if (rc != SQLITE_DONE) {
        error_set(err, "%s: reading _snapshots: %s", path, sqlite3_errmsg(db));
        goto fail;
    }
    if (json_array_size(list) == 0) {
        kind = ERROR_NOT_FOUND;
        if (layer == SQLREF_GOLD)
            error_set(err, "no gold table %s.gold.%s (no snapshots)", domain, table);
        else
            error_set(err, "no silver table %s.%s (no snapshots)", domain, table);
        goto fail;
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    *out = list;
    return 0;
fail:
    json_decref(list);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return -(int)kind;
}

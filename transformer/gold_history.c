/* gold_history.c - the row history of gold tables (_h_<table>, layout.h and
 * common/rowhistory.h): every version of every row with the snapshot that
 * created it (_valid_from) and the one that ended it (_valid_to, NULL while
 * current), written in the run's transaction so that time travel, the change
 * feed and the SCD2 view (timetravel.h) read gold exactly as they read silver.
 *
 * Per write mode (run.c), after the gold table holds its new rows:
 *   overwrite  the new rows are compared with the current versions as whole
 *              rows, duplicates counted (row_number over identical rows,
 *              then GROUP BY: a multiset difference, one sort of each side):
 *              a current version without an identical new row is closed, a
 *              new row without an identical current version is a new
 *              version; an unchanged row keeps its version. Cost in
 *              proportion to the table (gold tables are small).
 *   append     the rows the INSERT added (rowid above the table's largest
 *              before it) are new versions.
 *   upsert     only the keys the query wrote or deleted (temp._run_rows,
 *              run.c) are looked at: the current version of such a key is
 *              closed when the table's row differs or is gone (_delete), and
 *              a key whose row has no identical current version gets one.
 *              Cost in proportion to the rows the run wrote.
 * A gold table written before history existed gets its history at its next
 * run: history_prepare, before the write, creates _h_<table> with the rows
 * the table holds as versions valid from snapshot 0 (as silver's), so the
 * run's own change is recorded exactly. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rowhistory.h"
#include "strbuf.h"
#include "transformer.h"
#include "sqlutil.h"

static int history_exec(sqlite3 *db, struct strbuf *b, const char *table, const char *what,
                        char err[ERROR_MAX])
{
    if (b->failed) {
        strbuf_free(b);
        return error_set(err, "history of %s: out of memory", table);
    }
    return sqlutil_exec_buf(db, b, err, "history of %s: %s", table, what);
}

/* Create / extend _h_<table> (seed: with the table's rows as versions). */
static int history_sync_keys(sqlite3 *db, const char *table, char keys[][NAMES_MAX],
                             size_t nkeys, bool seed, char err[ERROR_MAX])
{
    const char **names = calloc(nkeys + 1, sizeof *names);
    if (names == NULL)
        return error_set(err, "out of memory");
    for (size_t k = 0; k < nkeys; k++)
        names[k] = keys[k];
    int rc = rowhistory_sync(db, "main", table, names, nkeys, seed, err);
    free(names);
    if (rc < 0)
        return error_prefix(err, "history of %s", table);
    if (rc > 0 && seed)
        log_info("gold_history_created table=%s seeded_from=current_rows", table);
    return 0;
}

int history_prepare(sqlite3 *db, const char *table, char keys[][NAMES_MAX], size_t nkeys,
                    int64_t *max_rowid, char err[ERROR_MAX])
{
    *max_rowid = 0;
    if (history_sync_keys(db, table, keys, nkeys, true, err) < 0)
        return -1;
    struct rowhistory_cols t = {0};
    if (rowhistory_columns(db, "main", table, &t, err) < 0)
        return error_prefix(err, "history of %s", table);
    bool exists = t.count > 0;
    rowhistory_cols_free(&t);
    if (!exists)
        return 0;
    char sql[NAMES_MAX + 64];
    snprintf(sql, sizeof sql, "SELECT coalesce(max(rowid), 0) FROM main.\"%s\"", table);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        *max_rowid = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return error_set(err, "history of %s: %s", table, sqlite3_errmsg(db));
    return 0;
}

/* The columns of the table and of its history (after a sync without seed:
 * a table created by this run starts with an empty history). */
static int history_load(sqlite3 *db, const char *table, char keys[][NAMES_MAX], size_t nkeys,
                        struct rowhistory_cols *t, struct rowhistory_cols *h, char err[ERROR_MAX])
{
    char name[NAMES_MAX + 4];
    snprintf(name, sizeof name, "_h_%s", table);
    if (history_sync_keys(db, table, keys, nkeys, false, err) < 0)
        return -1;
    if (rowhistory_columns(db, "main", table, t, err) < 0 ||
        rowhistory_columns(db, "main", name, h, err) < 0) {
        rowhistory_cols_free(t);
        return error_prefix(err, "history of %s", table);
    }
    return 0;
}

/* "INSERT INTO main._h_<table> (<cols>, _valid_from) SELECT <alias.cols>, " */
static void history_insert_head(struct strbuf *b, const char *table,
                                const struct rowhistory_cols *t, const char *alias)
{
    strbuf_addf(b, "INSERT INTO main.\"_h_%s\" (", table);
    for (size_t i = 0; i < t->count; i++)
        strbuf_addf(b, "\"%s\", ", t->items[i].name);
    strbuf_addf(b, "\"_valid_from\") SELECT ");
    for (size_t i = 0; i < t->count; i++)
        strbuf_addf(b, "%s\"%s\", ", alias, t->items[i].name);
}

int history_record_overwrite(sqlite3 *db, const char *table, int64_t snapshot_id,
                             char err[ERROR_MAX])
{
    struct rowhistory_cols t = {0}, h = {0};
    if (history_load(db, table, NULL, 0, &t, &h, err) < 0)
        return -1;
    struct strbuf b = {0};
    /* C: every history column but the validity (a superset of the table's) */
    strbuf_addf(&b, "DROP TABLE IF EXISTS temp.\"_gh_diff\"; CREATE TEMP TABLE \"_gh_diff\" AS SELECT ");
    for (size_t i = 0; i < h.count; i++)
        if (!rowhistory_is_validity(h.items[i].name))
            strbuf_addf(&b, "\"%s\", ", h.items[i].name);
    strbuf_addf(&b, "max(\"_gh_r\") AS \"_gh_r\", min(\"_gh_side\") AS \"_gh_side\" FROM (SELECT ");
    for (size_t i = 0; i < h.count; i++)
        if (!rowhistory_is_validity(h.items[i].name))
            strbuf_addf(&b, "\"%s\", ", h.items[i].name);
    strbuf_addf(&b, "row_number() OVER (PARTITION BY ");
    for (size_t i = 0, n = 0; i < h.count; i++)
        if (!rowhistory_is_validity(h.items[i].name))
            strbuf_addf(&b, "%s\"%s\"", n++ ? ", " : "", h.items[i].name);
    strbuf_addf(&b, ") AS \"_gh_n\", rowid AS \"_gh_r\", 1 AS \"_gh_side\" FROM main.\"_h_%s\" "
                    "WHERE \"_valid_to\" IS NULL UNION ALL SELECT ", table);
    for (size_t i = 0; i < h.count; i++) {
        const char *c = h.items[i].name;
        if (rowhistory_is_validity(c))
            continue;
        if (rowhistory_find(&t, c) != NULL)
            strbuf_addf(&b, "\"%s\", ", c);
        else
            strbuf_addf(&b, "NULL, "); /* a column the new table no longer has */
    }
    strbuf_addf(&b, "row_number() OVER (PARTITION BY ");
    for (size_t i = 0; i < t.count; i++)
        strbuf_addf(&b, "%s\"%s\"", i ? ", " : "", t.items[i].name);
    strbuf_addf(&b, "), NULL, 2 FROM main.\"%s\") GROUP BY ", table);
    for (size_t i = 0; i < h.count; i++)
        if (!rowhistory_is_validity(h.items[i].name))
            strbuf_addf(&b, "\"%s\", ", h.items[i].name);
    strbuf_addf(&b, "\"_gh_n\" HAVING count(*) = 1;");
    /* side 1: only in the current versions (gone); side 2: only in the table (new) */
    strbuf_addf(&b,
                "UPDATE main.\"_h_%s\" SET \"_valid_to\" = %" PRId64 " WHERE rowid IN "
                "(SELECT \"_gh_r\" FROM temp.\"_gh_diff\" WHERE \"_gh_side\" = 1);",
                table, snapshot_id);
    history_insert_head(&b, table, &t, "");
    strbuf_addf(&b, "%" PRId64 " FROM temp.\"_gh_diff\" WHERE \"_gh_side\" = 2;", snapshot_id);
    strbuf_addf(&b, "DROP TABLE temp.\"_gh_diff\";");
    rowhistory_cols_free(&t);
    rowhistory_cols_free(&h);
    return history_exec(db, &b, table, "overwrite versions", err);
}

int history_record_append(sqlite3 *db, const char *table, int64_t after_rowid,
                          int64_t snapshot_id, char err[ERROR_MAX])
{
    struct rowhistory_cols t = {0}, h = {0};
    if (history_load(db, table, NULL, 0, &t, &h, err) < 0)
        return -1;
    struct strbuf b = {0};
    history_insert_head(&b, table, &t, "");
    strbuf_addf(&b, "%" PRId64 " FROM main.\"%s\" WHERE rowid > %" PRId64, snapshot_id, table,
                after_rowid);
    rowhistory_cols_free(&t);
    rowhistory_cols_free(&h);
    return history_exec(db, &b, table, "appended versions", err);
}

int history_record_upsert(sqlite3 *db, const char *table, char keys[][NAMES_MAX], size_t nkeys,
                          const char *scope, int64_t snapshot_id, char err[ERROR_MAX])
{
    struct rowhistory_cols t = {0}, h = {0};
    if (history_load(db, table, keys, nkeys, &t, &h, err) < 0)
        return -1;
    struct strbuf b = {0};
    /* the keys the run touched */
    struct strbuf r = {0};
    strbuf_addf(&r, "(SELECT DISTINCT ");
    for (size_t k = 0; k < nkeys; k++)
        strbuf_addf(&r, "%s\"%s\"", k ? ", " : "", keys[k]);
    strbuf_addf(&r, " FROM temp.\"%s\") AS r", scope);
    /* close the current version of a touched key whose row differs or is gone */
    strbuf_addf(&b,
                "UPDATE main.\"_h_%s\" SET \"_valid_to\" = %" PRId64 " WHERE rowid IN "
                "(SELECT h.rowid FROM %s JOIN main.\"_h_%s\" AS h ON ",
                table, snapshot_id, r.failed ? "" : r.s, table);
    for (size_t k = 0; k < nkeys; k++)
        strbuf_addf(&b, "h.\"%s\" IS r.\"%s\" AND ", keys[k], keys[k]);
    strbuf_addf(&b, "h.\"_valid_to\" IS NULL WHERE NOT (EXISTS (SELECT 1 FROM main.\"%s\" AS t "
                    "WHERE ", table);
    for (size_t i = 0; i < t.count; i++)
        strbuf_addf(&b, "%st.\"%s\" IS h.\"%s\"", i ? " AND " : "", t.items[i].name,
                    t.items[i].name);
    strbuf_addf(&b, ")");
    for (size_t i = 0; i < h.count; i++)
        if (!rowhistory_is_validity(h.items[i].name) && rowhistory_find(&t, h.items[i].name) == NULL)
            strbuf_addf(&b, " AND h.\"%s\" IS NULL", h.items[i].name);
    strbuf_addf(&b, "));");
    /* a new version for every touched key whose row has no current one */
    history_insert_head(&b, table, &t, "t.");
    strbuf_addf(&b, "%" PRId64 " FROM %s JOIN main.\"%s\" AS t ON ", snapshot_id,
                r.failed ? "" : r.s, table);
    for (size_t k = 0; k < nkeys; k++)
        strbuf_addf(&b, "%st.\"%s\" IS r.\"%s\"", k ? " AND " : "", keys[k], keys[k]);
    strbuf_addf(&b, " WHERE NOT EXISTS (SELECT 1 FROM main.\"_h_%s\" AS h WHERE ", table);
    for (size_t k = 0; k < nkeys; k++)
        strbuf_addf(&b, "h.\"%s\" IS t.\"%s\" AND ", keys[k], keys[k]);
    strbuf_addf(&b, "h.\"_valid_to\" IS NULL)");
    if (r.failed)
        b.failed = true;
    strbuf_free(&r);
    rowhistory_cols_free(&t);
    rowhistory_cols_free(&h);
    return history_exec(db, &b, table, "upserted versions", err);
}

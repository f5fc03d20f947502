/* lineage.c - what a gold run reads and the record of it (transformer.h):
 * the job SQL rewritten with its history forms (time travel and change feed
 * of silver and gold tables, timetravel.h; a bare @changes in an incremental job),
 * and the _lineage rows of the gold snapshot (layout.h).
 *
 * Why the last run's input snapshots come from gold's own _lineage rather
 * than from the catalog's inputs_json: _lineage commits in the same
 * transaction as the gold rows, so "the changes after what the table
 * already reflects" is exact even when the process died between the gold
 * COMMIT and the catalog update (the two hold the same ids otherwise). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timetravel.h"
#include "transformer.h"
#include "sqlutil.h"

static const char lineage_ddl[] =
    "CREATE TABLE IF NOT EXISTS main._lineage (\n"
    "  snapshot_id INTEGER NOT NULL,\n"
    "  input_table TEXT NOT NULL,\n"
    "  input_snapshot_id INTEGER NOT NULL,\n"
    "  changes_from INTEGER,\n"
    "  change_rows INTEGER,\n"
    "  PRIMARY KEY (snapshot_id, input_table)\n"
    ") WITHOUT ROWID;\n";

struct lineage_rewrite_ctx {
    sqlite3 *db;
    const struct tjob *job;
    const json_t *inputs;  /* this run's input snapshots */
    bool full;             /* read every change (first run, changed definition) */
    json_t *changes;       /* owned by the caller */
};

/* The input snapshot of `key` recorded by the latest gold snapshot of the
 * job's table: 1 found, 0 none, -1 error. */
static int lineage_last_input(sqlite3 *db, const char *table, const char *key, int64_t *out,
                              char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = NULL;
    bool exists = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND "
                           "name = '_lineage'",
                           -1, &stmt, NULL) != SQLITE_OK)
        return error_set(err, "read _lineage: %s", sqlite3_errmsg(db));
    exists = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    if (!exists)
        return 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT input_snapshot_id FROM main._lineage WHERE input_table = ?2 "
                           "AND snapshot_id = (SELECT max(snapshot_id) FROM main._snapshots "
                           "WHERE table_name = ?1)",
                           -1, &stmt, NULL) != SQLITE_OK)
        return error_set(err, "read _lineage: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_DONE)
        error_set(err, "read _lineage: %s", sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* sqlref_at_fn: a bare @changes becomes the change feed since the last run
 * (of a silver or a gold input: both keep their row history by snapshot id);
 * every other form is timetravel's. */
static int lineage_expand(void *arg, const struct sqlref *ref, const struct sqlref_at *at,
                          char **text, char err[ERROR_MAX])
{
    struct lineage_rewrite_ctx *c = arg;
    /* the job's own gold database is "main" on this connection */
    struct timetravel_db tdb = {.db = c->db, .gold_main = c->job->def.domain};
    if (at->kind != SQLREF_AT_CHANGES || at->snapshot >= 0)
        return timetravel_expand(&tdb, ref, at, text, err);
    char key[3 * NAMES_MAX + 8];
    jobs_input_key(ref, key);
    if (!c->job->def.incremental)
        return error_set(err, "%s@changes: only incremental jobs read the changes since their "
                              "last run", key);
    int64_t cur = json_integer_value(json_object_get(c->inputs, key));
    int64_t last = 0;
    int found = c->full ? 0 : lineage_last_input(c->db, c->job->def.name, key, &last, err);
    if (found < 0)
        return -1;
    /* From the snapshot after the last one read; everything (from 0: rows
     * older than the history carry _valid_from 0) on a first run, or when
     * the table went back in snapshot ids (rebuilt). */
    int64_t from = found == 1 && last <= cur ? last + 1 : 0;
    struct sqlref_at range = {.kind = SQLREF_AT_CHANGES, .snapshot = from,
                              .to = from <= cur ? cur : 0};
    if (timetravel_expand(&tdb, ref, &range, text, err) != 0)
        return -1;
    if (json_object_get(c->changes, key) != NULL)
        return 0; /* the same feed twice: counted once */
    /* How many change rows the run reads: the proof that an incremental run
     * costs what changed. The feed (timetravel.c) has one row per version that
     * started in the range and one per version that ended in it, so two index
     * range counts on the row history give its size without running it (which
     * took a sixth of a gold run under steady load). */
    char schema[SQLREF_SCHEMA_MAX];
    sqlref_schema_name(ref->layer, ref->domain, schema);
    if (ref->layer == SQLREF_GOLD && strcmp(ref->domain, c->job->def.domain) == 0)
        snprintf(schema, sizeof schema, "main"); /* the job's own gold database */
    char sql[2 * SQLREF_SCHEMA_MAX + 2 * NAMES_MAX + 256];
    int64_t last_read = from <= cur ? cur : from - 1; /* empty range when nothing is new */
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM \"%s\".\"_h_%s\" WHERE \"_valid_from\" BETWEEN %" PRId64
             " AND %" PRId64 ") + (SELECT count(*) FROM \"%s\".\"_h_%s\" WHERE \"_valid_to\" "
             "BETWEEN %" PRId64 " AND %" PRId64 ")",
             schema, ref->table, from, last_read, schema, ref->table, from, last_read);
    sqlite3_stmt *stmt = NULL;
    int64_t rows = 0;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        rows = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) {
        error_set(err, "%s@changes: %s", key, sqlite3_errmsg(c->db));
        free(*text);
        *text = NULL;
        return -1;
    }
    json_t *o = json_pack("{s:I, s:I}", "from", (json_int_t)from, "rows", (json_int_t)rows);
    if (o == NULL || json_object_set_new(c->changes, key, o) != 0) {
        free(*text);
        *text = NULL;
        return error_set(err, "out of memory");
    }
    return 0;
}

int lineage_rewrite(sqlite3 *db, const struct tjob *job, const json_t *inputs, bool full,
                    char **sql, json_t **changes, char err[ERROR_MAX])
{
    *sql = NULL;
    *changes = json_object();
    if (*changes == NULL)
        return error_set(err, "out of memory");
    struct lineage_rewrite_ctx c = {.db = db, .job = job, .inputs = inputs, .full = full,
                                    .changes = *changes};
    if (sqlref_rewrite_main_at(job->def.sql, SQLREF_GOLD, job->def.domain, lineage_expand, &c,
                               sql, NULL, NULL, err) != 0) {
        json_decref(*changes);
        *changes = NULL;
        return -1;
    }
    return 0;
}

int lineage_record(sqlite3 *db, int64_t snapshot_id, const json_t *inputs,
                   const json_t *changes, char err[ERROR_MAX])
{
    if (sqlutil_exec(db, lineage_ddl, err, "create _lineage") < 0)
        return -1;
    sqlite3_stmt *stmt = NULL;
    if (sqlutil_prepare(db,
                        "INSERT INTO main._lineage (snapshot_id, input_table, input_snapshot_id, "
                        "changes_from, change_rows) VALUES (?1, ?2, ?3, ?4, ?5)",
                        &stmt, err, "record lineage") < 0)
        return -1;
    const char *key;
    json_t *value;
    int rc = 0;
    json_object_foreach((json_t *)inputs, key, value) {
        const json_t *ch = changes ? json_object_get(changes, key) : NULL;
        const struct sqlutil_value row[] = {
            SQLUTIL_INT(snapshot_id),
            SQLUTIL_TEXT(key),
            SQLUTIL_INT(json_integer_value(value)),
            ch ? SQLUTIL_INT(json_integer_value(json_object_get(ch, "from"))) : SQLUTIL_TEXT(NULL),
            ch ? SQLUTIL_INT(json_integer_value(json_object_get(ch, "rows"))) : SQLUTIL_TEXT(NULL),
        };
        sqlutil_bind(stmt, 1, row, sizeof row / sizeof row[0]);
        if ((rc = sqlutil_step_done(db, stmt, err, "record lineage")) < 0)
            break;
    }
    sqlite3_finalize(stmt);
    return rc;
}

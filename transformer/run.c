/* run.c - executing one job (transformer.h): the gold write and its records.
 *
 * The transformer is the only writer of gold/<domain>.db. A run opens it as
 * "main", ATTACHes every other database the SQL reads read-only (URI
 * mode=ro) under its sqlref schema name (silver_<d>, gold_<d>), and rewrites
 * the SQL with sqlref_rewrite_main so that references to the job's own
 * domain's gold tables point at "main" (a database cannot be attached twice).
 *
 * One transaction (deferred BEGIN: a BEGIN IMMEDIATE would try to lock the
 * read-only attachments too) holds, in this order:
 *   1. the snapshot ids of every input (the first read of each attached
 *      database fixes its WAL snapshot, so the query below sees exactly these
 *      snapshots: inputs_json is what the run really read);
 *   2. the write: overwrite = CREATE TABLE _tmp_<t> AS <query>; DROP <t>;
 *      ALTER RENAME (readers see the old or the new table, never a half);
 *      append = INSERT INTO <t> (created from the query on the first run);
 *      append + unique_key = upsert through a UNIQUE index _uk_<t> and
 *      INSERT ... ON CONFLICT(key) DO UPDATE SET every other column (an
 *      accumulate column: SET c = c + excluded.c; keys whose accumulate
 *      columns all became 0 are deleted; an accumulating run that reads a
 *      change feed from its start empties the table first);
 *      output columns the table lacks are added (nullable) for append/upsert;
 *   2b. the row history of the table (history.c), as changes of the
 *      snapshot id the _snapshots row then takes (reserved first);
 *   3. the _snapshots row (operation overwrite | append | upsert, source
 *      "execution:<id>", schema_version 0: gold tables have no endpoint schema)
 *      and its _lineage rows (lineage.c: the input snapshots, the @changes read);
 *   4. a row in _executions (internal to the transformer: execution id, rows,
 *      inputs_json; the latest RUN_KEEP_EXECUTIONS are kept). If the process
 *      dies between this COMMIT and the catalog update, run_recover finds the
 *      row at the next start and records the execution as SUCCEEDED instead
 *      of FAILED, so reconcile does not run it again (an append would
 *      otherwise add its rows twice).
 * Then the catalog execution is finished (SUCCEEDED + rows + inputs_json, or
 * FAILED + the error), gold.committed is published and the jobs reading this
 * table are queued directly (events are hints; the broker may be absent).
 *
 * The job SQL must be one SELECT (WITH allowed). Output column names must be
 * usable column names (names.h, or a metadata name such as _seq), so that
 * every identifier we splice is checked: "count(*)" needs an alias. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "event.h"
#include "iceberg_export.h"
#include "layout.h"
#include "log.h"
#include "strbuf.h"
#include "names.h"
#include "timeutil.h"
#include "transformer.h"
#include "stats.h"

#define RUN_BUSY_TIMEOUT_MS 10000
#define RUN_MAX_COLUMNS 2000
#define RUN_KEEP_EXECUTIONS 100
#define RUN_RECOVER_SCAN 1000

/* The transformer's own record of committed runs in each gold database. */
static const char run_executions_ddl[] =
    "CREATE TABLE IF NOT EXISTS _executions (\n"
    "  execution_id INTEGER PRIMARY KEY,\n"
    "  table_name TEXT NOT NULL,\n"
    "  snapshot_id INTEGER NOT NULL,\n"
    "  row_count INTEGER NOT NULL,\n"
    "  inputs_json TEXT NOT NULL\n"
    ");\n";

/* Result of the gold transaction. */
struct run_result {
    int64_t rows;          /* rows written (overwrite: rows of the new table) */
    int64_t snapshot_id;   /* gold _snapshots id */
    json_t *inputs;        /* snapshot ids read; owned */
};

/* The query's output columns. */
struct run_columns {
    char (*names)[NAMES_MAX];
    size_t count;
};

static int run_db_error(sqlite3 *db, char err[ERROR_MAX], const char *what)
{
    return error_set(err, "%s: %s", what, sqlite3_errmsg(db));
}

static int run_exec(sqlite3 *db, const char *sql, char err[ERROR_MAX], const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        error_set(err, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* A single int64 from a query without parameters. */
static int run_scalar(sqlite3 *db, const char *sql, int64_t *out, char err[ERROR_MAX],
                      const char *what)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return run_db_error(db, err, what);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        run_db_error(db, err, what);
        sqlite3_finalize(stmt);
        return -1;
    }
    *out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return 0;
}

/* Is there a table named `table` in main? */
static int run_table_exists(sqlite3 *db, const char *table, bool *exists, char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?1",
                           -1, &stmt, NULL) != SQLITE_OK)
        return run_db_error(db, err, "look up gold table");
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    *exists = rc == SQLITE_ROW;
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return run_db_error(db, err, "look up gold table");
    return 0;
}

int run_open_gold(const char *data_dir, const char *domain, sqlite3 **out, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    *out = NULL;
    if (layout_gold_db(path, sizeof path, data_dir, domain) < 0)
        return error_set(err, "gold database path too long");
    sqlite3 *db = NULL;
    if (layout_db_open(path, &db, err) < 0)
        return -1;
    sqlite3_busy_timeout(db, RUN_BUSY_TIMEOUT_MS);
    int64_t version = 0;
    if (run_exec(db, "PRAGMA journal_mode = WAL", err, path) < 0 ||
        run_scalar(db, "PRAGMA user_version", &version, err, path) < 0)
        goto fail;
    if (version > LAYOUT_DB_VERSION) {
        error_set(err, "%s: database version %lld is newer than this program knows (%d)", path,
                  (long long)version, LAYOUT_DB_VERSION);
        goto fail;
    }
    if (run_exec(db, layout_gold_ddl, err, path) < 0 ||
        run_exec(db, run_executions_ddl, err, path) < 0)
        goto fail;
    if (version < 2 && run_exec(db, iceberg_export_ddl, err, path) < 0)
        goto fail;
    if (version < LAYOUT_DB_VERSION) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", LAYOUT_DB_VERSION);
        if (run_exec(db, pragma, err, path) < 0)
            goto fail;
    }
    *out = db;
    return 0;
fail:
    sqlite3_close(db);
    return -1;
}

/* ATTACH every input database other than main, read-only. */
static int run_attach_inputs(sqlite3 *db, const char *data_dir, const struct tjob *job,
                             char err[ERROR_MAX])
{
    for (size_t i = 0; i < job->input_count; i++) {
        const struct sqlref *ref = &job->inputs[i];
        if (ref->layer == SQLREF_GOLD && strcmp(ref->domain, job->def.domain) == 0)
            continue; /* main */
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || (job->inputs[j].layer == ref->layer &&
                            strcmp(job->inputs[j].domain, ref->domain) == 0);
        if (seen)
            continue;
        char path[PATH_MAX], uri[3 * PATH_MAX + 16], schema[SQLREF_SCHEMA_MAX];
        char key[3 * NAMES_MAX + 8];
        jobs_input_key(ref, key);
        if (inputs_db_path(path, sizeof path, data_dir, ref->layer, ref->domain) < 0 ||
            inputs_uri(uri, sizeof uri, path) < 0)
            return error_set(err, "input %s: database path too long", key);
        struct stat st;
        if (stat(path, &st) != 0)
            return error_set(err, "input table %s does not exist (no database %s/%s.db yet)", key,
                             sqlref_layer_name(ref->layer), ref->domain);
        sqlref_schema_name(ref->layer, ref->domain, schema);
        char sql[SQLREF_SCHEMA_MAX + 32];
        snprintf(sql, sizeof sql, "ATTACH ?1 AS \"%s\"", schema);
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
            return run_db_error(db, err, "attach");
        sqlite3_bind_text(stmt, 1, uri, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(stmt);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE)
            return error_set(err, "attach %s read-only: %s", path, sqlite3_errmsg(db));
    }
    return 0;
}

/* Snapshot ids of every input, inside the open transaction. */
static int run_read_inputs(sqlite3 *db, const struct tjob *job, json_t **out,
                           char err[ERROR_MAX])
{
    json_t *obj = json_object();
    if (obj == NULL)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < job->input_count; i++) {
        const struct sqlref *ref = &job->inputs[i];
        char key[3 * NAMES_MAX + 8], schema[SQLREF_SCHEMA_MAX];
        jobs_input_key(ref, key);
        if (ref->layer == SQLREF_GOLD && strcmp(ref->domain, job->def.domain) == 0)
            snprintf(schema, sizeof schema, "main");
        else
            sqlref_schema_name(ref->layer, ref->domain, schema);
        int64_t id = 0;
        int rc = inputs_table_snapshot(db, schema, ref->table, &id, err);
        if (rc == 0)
            error_set(err, "input table %s does not exist", key);
        if (rc <= 0 || json_object_set_new(obj, key, json_integer(id)) < 0) {
            if (rc == 1)
                error_set(err, "out of memory");
            json_decref(obj);
            return -1;
        }
    }
    *out = obj;
    return 0;
}

/* Skip blanks, ';' and comments; true if nothing else follows. */
static bool run_only_trailer(const char *s)
{
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == ';')
            s++;
        if (s[0] == '-' && s[1] == '-') {
            while (*s != '\0' && *s != '\n')
                s++;
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            if (e == NULL)
                return true;
            s = e + 2;
        } else {
            return *s == '\0';
        }
    }
}

/* An output column name we may splice (quoted): a column name, or '_' and one. */
static bool run_column_ok(const char *name)
{
    return names_is_valid_column(name) || (name[0] == '_' && names_is_valid_column(name + 1));
}

/* Prepare the rewritten query alone: one SELECT, its output columns, and
 * the statement text without its trailing ';' (*body, malloc'd). */
static int run_check_query(sqlite3 *db, const char *sql, char **body, struct run_columns *cols,
                           char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    *body = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, &tail) != SQLITE_OK)
        return error_set(err, "SQL error: %s", sqlite3_errmsg(db));
    if (stmt == NULL)
        return error_set(err, "the job SQL is empty");
    if (!run_only_trailer(tail)) {
        sqlite3_finalize(stmt);
        return error_set(err, "the job SQL must be a single SELECT statement (found more after "
                              "the first statement)");
    }
    if (sqlite3_bind_parameter_count(stmt) > 0) {
        sqlite3_finalize(stmt);
        return error_set(err, "the job SQL has parameters (?, :name): a job has no values to "
                              "bind");
    }
    int n = sqlite3_column_count(stmt);
    if (!sqlite3_stmt_readonly(stmt) || n == 0) {
        sqlite3_finalize(stmt);
        return error_set(err, "the job SQL must be a SELECT statement");
    }
    if (n > RUN_MAX_COLUMNS) {
        sqlite3_finalize(stmt);
        return error_set(err, "the query has %d columns (at most %d)", n, RUN_MAX_COLUMNS);
    }
    cols->names = calloc((size_t)n, sizeof *cols->names);
    if (cols->names == NULL) {
        sqlite3_finalize(stmt);
        return error_set(err, "out of memory");
    }
    cols->count = (size_t)n;
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(stmt, i);
        if (name == NULL || !run_column_ok(name)) {
            error_set(err,
                      "output column %d '%.60s' is not a valid column name (must match "
                      "^[A-Za-z][A-Za-z0-9_]{0,62}$): give it an alias with AS",
                      i + 1, name ? name : "?");
            sqlite3_finalize(stmt);
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (strcasecmp(cols->names[j], name) == 0) {
                error_set(err, "output column '%s' appears twice: give one an alias with AS",
                          name);
                sqlite3_finalize(stmt);
                return -1;
            }
        }
        snprintf(cols->names[i], NAMES_MAX, "%s", name);
    }
    sqlite3_finalize(stmt);
    /* The statement text itself, without the ';' that ended it. */
    size_t len = (size_t)(tail - sql);
    while (len > 0 && (sql[len - 1] == ';' || sql[len - 1] == ' ' || sql[len - 1] == '\t' ||
                       sql[len - 1] == '\n' || sql[len - 1] == '\r'))
        len--;
    *body = strndup(sql, len);
    if (*body == NULL)
        return error_set(err, "out of memory");
    return 0;
}


/* Run SQL text built from checked identifiers, then empty the buffer. */
static int run_text_exec(sqlite3 *db, struct strbuf *t, char err[ERROR_MAX], const char *what)
{
    int rc;
    if (t->failed)
        rc = error_set(err, "out of memory");
    else
        rc = run_exec(db, t->s, err, what);
    strbuf_free(t);
    return rc;
}

/* Add output columns the existing table lacks (append/upsert). */
static int run_add_missing_columns(sqlite3 *db, const char *table, const struct run_columns *cols,
                                   char err[ERROR_MAX])
{
    char sql[NAMES_MAX + 64];
    snprintf(sql, sizeof sql, "PRAGMA main.table_info(\"%s\")", table);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return run_db_error(db, err, "read table columns");
    bool *have = calloc(cols->count, sizeof *have);
    if (have == NULL) {
        sqlite3_finalize(stmt);
        return error_set(err, "out of memory");
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(stmt, 1);
        for (size_t i = 0; name != NULL && i < cols->count; i++) {
            if (strcasecmp(cols->names[i], name) == 0)
                have[i] = true;
        }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        free(have);
        return run_db_error(db, err, "read table columns");
    }
    for (size_t i = 0; i < cols->count; i++) {
        if (have[i])
            continue;
        char alter[3 * NAMES_MAX + 64];
        snprintf(alter, sizeof alter, "ALTER TABLE main.\"%s\" ADD COLUMN \"%s\"", table,
                 cols->names[i]);
        if (run_exec(db, alter, err, "add column") < 0) {
            free(have);
            return -1;
        }
        log_info("gold_column_added table=%s column=%s", table, cols->names[i]);
    }
    free(have);
    return 0;
}

/* Split the stored unique key "a,b" into names, checking each is an output column. */
static int run_key_columns(const char *unique_key, const struct run_columns *cols,
                           char keys[][NAMES_MAX], size_t max, size_t *count, char err[ERROR_MAX])
{
    *count = 0;
    const char *p = unique_key;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t n = strcspn(p, ", ");
        if (n >= NAMES_MAX || *count == max)
            return error_set(err, "unique_key '%s' is too long", unique_key);
        char name[NAMES_MAX];
        memcpy(name, p, n);
        name[n] = '\0';
        p += n;
        if (!names_is_valid_column(name))
            return error_set(err, "unique_key column '%s' is not a valid column name", name);
        bool found = false;
        for (size_t i = 0; i < cols->count && !found; i++)
            found = strcasecmp(cols->names[i], name) == 0;
        if (!found)
            return error_set(err, "unique_key column '%s' is not an output column of the query",
                             name);
        snprintf(keys[(*count)++], NAMES_MAX, "%s", name);
    }
    if (*count == 0)
        return error_set(err, "empty unique_key");
    return 0;
}

/* Make sure main."_uk_<table>" is a UNIQUE index on exactly the key columns. */
static int run_ensure_unique_index(sqlite3 *db, const char *table, char keys[][NAMES_MAX],
                                   size_t nkeys, char err[ERROR_MAX])
{
    char index[NAMES_MAX + 8];
    snprintf(index, sizeof index, "_uk_%s", table);
    char sql[2 * NAMES_MAX + 64];
    snprintf(sql, sizeof sql, "PRAGMA main.index_info(\"%s\")", index);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return run_db_error(db, err, "read unique index");
    size_t seen = 0;
    bool same = true;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int seqno = sqlite3_column_int(stmt, 0);
        const char *name = (const char *)sqlite3_column_text(stmt, 2);
        if (seqno < 0 || (size_t)seqno >= nkeys || name == NULL ||
            strcasecmp(name, keys[seqno]) != 0)
            same = false;
        seen++;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return run_db_error(db, err, "read unique index");
    if (seen == nkeys && same)
        return 0;
    struct strbuf t = {0};
    if (seen > 0)
        strbuf_addf(&t, "DROP INDEX main.\"%s\"; ", index);
    strbuf_addf(&t, "CREATE UNIQUE INDEX main.\"%s\" ON \"%s\" (", index, table);
    for (size_t i = 0; i < nkeys; i++)
        strbuf_addf(&t, "%s\"%s\"", i ? ", " : "", keys[i]);
    strbuf_addf(&t, ")");
    if (run_text_exec(db, &t, err, "create the unique index") < 0) {
        char msg[ERROR_MAX];
        snprintf(msg, sizeof msg, "%s", err);
        return error_set(err, "%s (does the gold table already hold duplicate keys?)", msg);
    }
    return 0;
}

static int run_count_rows(sqlite3 *db, const char *table, int64_t *out, char err[ERROR_MAX])
{
    char sql[NAMES_MAX + 48];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM main.\"%s\"", table);
    return run_scalar(db, sql, out, err, "count rows");
}

static int run_write_overwrite(sqlite3 *db, const char *table, const char *body,
                               int64_t *inserted, int64_t *deleted, char err[ERROR_MAX])
{
    bool exists = false;
    *deleted = 0;
    if (run_table_exists(db, table, &exists, err) < 0 ||
        (exists && run_count_rows(db, table, deleted, err) < 0))
        return -1;
    char tmp[NAMES_MAX + 8];
    snprintf(tmp, sizeof tmp, "_tmp_%s", table);
    struct strbuf t = {0};
    strbuf_addf(&t, "DROP TABLE IF EXISTS main.\"%s\"; CREATE TABLE main.\"%s\" AS\n%s\n;", tmp,
                 tmp, body);
    if (run_text_exec(db, &t, err, "run the query") < 0 ||
        run_count_rows(db, tmp, inserted, err) < 0)
        return -1;
    strbuf_addf(&t, "DROP TABLE IF EXISTS main.\"%s\"; ALTER TABLE main.\"%s\" RENAME TO \"%s\";",
                 table, tmp, table);
    return run_text_exec(db, &t, err, "replace the gold table");
}

static int run_write_rows(sqlite3 *db, const char *table, const char *body,
                          const struct run_columns *cols, const char *unique_key,
                          const char *accumulate, int64_t *inserted, int64_t *updated,
                          char err[ERROR_MAX])
{
    bool exists = false;
    *inserted = *updated = 0;
    if (run_table_exists(db, table, &exists, err) < 0)
        return -1;
    struct strbuf t = {0};
    if (!exists && unique_key[0] == '\0') {
        strbuf_addf(&t, "CREATE TABLE main.\"%s\" AS\n%s\n;", table, body);
        if (run_text_exec(db, &t, err, "run the query") < 0)
            return -1;
        return run_count_rows(db, table, inserted, err);
    }
    if (!exists) {
        /* the first upsert: the table takes the query's shape, then the index */
        strbuf_addf(&t, "CREATE TABLE main.\"%s\" AS SELECT * FROM (\n%s\n) LIMIT 0;", table,
                     body);
        if (run_text_exec(db, &t, err, "create the gold table") < 0)
            return -1;
    } else if (run_add_missing_columns(db, table, cols, err) < 0) {
        return -1;
    }

    char(*keys)[NAMES_MAX] = NULL;
    size_t nkeys = 0;
    int64_t before = 0;
    if (unique_key[0] != '\0') {
        keys = calloc(cols->count, sizeof *keys);
        if (keys == NULL)
            return error_set(err, "out of memory");
        if (run_key_columns(unique_key, cols, keys, cols->count, &nkeys, err) < 0 ||
            run_ensure_unique_index(db, table, keys, nkeys, err) < 0 ||
            run_count_rows(db, table, &before, err) < 0) {
            free(keys);
            return -1;
        }
    }
    strbuf_addf(&t, "INSERT INTO main.\"%s\" (", table);
    for (size_t i = 0; i < cols->count; i++)
        strbuf_addf(&t, "%s\"%s\"", i ? ", " : "", cols->names[i]);
    strbuf_addf(&t, ") SELECT * FROM (\n%s\n)", body);
    if (nkeys > 0) {
        /* "WHERE true" resolves the parsing ambiguity between a join's ON and ON CONFLICT */
        strbuf_addf(&t, " WHERE true ON CONFLICT (");
        for (size_t i = 0; i < nkeys; i++)
            strbuf_addf(&t, "%s\"%s\"", i ? ", " : "", keys[i]);
        strbuf_addf(&t, ") DO ");
        size_t set = 0;
        for (size_t i = 0; i < cols->count; i++) {
            bool is_key = false;
            for (size_t k = 0; k < nkeys && !is_key; k++)
                is_key = strcasecmp(keys[k], cols->names[i]) == 0;
            if (is_key)
                continue;
            if (job_column_listed(accumulate, cols->names[i]))
                strbuf_addf(&t, "%s\"%s\" = coalesce(\"%s\", 0) + coalesce(excluded.\"%s\", 0)",
                             set++ ? ", " : "UPDATE SET ", cols->names[i], cols->names[i],
                             cols->names[i]);
            else
                strbuf_addf(&t, "%s\"%s\" = excluded.\"%s\"", set++ ? ", " : "UPDATE SET ",
                             cols->names[i], cols->names[i]);
        }
        if (set == 0)
            strbuf_addf(&t, "NOTHING");
    }
    free(keys);
    if (run_text_exec(db, &t, err, "run the query") < 0)
        return -1;
    int64_t changes = sqlite3_changes64(db);
    if (nkeys == 0) {
        *inserted = changes;
        return 0;
    }
    int64_t after = 0;
    if (run_count_rows(db, table, &after, err) < 0)
        return -1;
    *inserted = after - before;
    *updated = changes - *inserted;
    return 0;
}

/* Accumulating jobs (job.h): the rows of the keys this run wrote whose
 * accumulated columns all came to 0 (or NULL) are deleted: their group has
 * no rows left. Adds to *deleted. */
static int run_delete_emptied(sqlite3 *db, const char *table, char (*keys)[NAMES_MAX],
                              size_t nkeys, const char *accumulate, int64_t *deleted,
                              char err[ERROR_MAX])
{
    if (accumulate[0] == '\0')
        return 0;
    struct strbuf t = {0};
    strbuf_addf(&t, "DELETE FROM main.\"%s\" WHERE (", table);
    for (size_t i = 0; i < nkeys; i++)
        strbuf_addf(&t, "%s\"%s\"", i ? ", " : "", keys[i]);
    strbuf_addf(&t, ") IN (SELECT ");
    for (size_t i = 0; i < nkeys; i++)
        strbuf_addf(&t, "%s\"%s\"", i ? ", " : "", keys[i]);
    strbuf_addf(&t, " FROM temp.\"_run_rows\")");
    const char *p = accumulate;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        strbuf_addf(&t, " AND coalesce(\"%.*s\", 0) = 0", (int)n, p);
        p += n + (p[n] == ',');
    }
    if (run_text_exec(db, &t, err, "delete the keys whose accumulated columns are 0") < 0)
        return -1;
    *deleted += sqlite3_changes64(db);
    return 0;
}

/* Every accumulate column must be an output column of the query. */
static int run_check_accumulate(const char *accumulate, const struct run_columns *cols,
                                char err[ERROR_MAX])
{
    const char *p = accumulate;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < cols->count && !found; i++)
            found = strlen(cols->names[i]) == n && strncasecmp(cols->names[i], p, n) == 0;
        if (!found)
            return error_set(err, "accumulate column '%.*s' is not an output column of the query",
                             (int)n, p);
        p += n + (p[n] == ',');
    }
    return 0;
}

/* An accumulating run that reads a change feed from its start (first run,
 * changed definition, rebuilt input: lineage.c's "from" 0) starts from an
 * empty table, or it would count what the table already holds twice. */
static bool run_accumulate_from_start(const struct job_def *def, const json_t *changes)
{
    if (def->accumulate[0] == '\0')
        return false;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)changes, key, value) {
        if (json_integer_value(json_object_get(value, "from")) == 0)
            return true;
    }
    return false;
}

/* append / upsert. An upsert runs the query once, into temp._run_rows, which
 * the write and then the row history (history.c: the keys it touched) read;
 * run_execute drops it. An upsert whose query has a column _delete: rows
 * where it is true delete their key instead of being written (how an
 * incremental job removes a group that lost all its rows, job.h); the column
 * is not stored. */
static int run_write_append(sqlite3 *db, const char *table, const char *body,
                            const struct run_columns *cols, const char *unique_key,
                            const char *accumulate, int64_t *inserted, int64_t *updated,
                            int64_t *deleted, char err[ERROR_MAX])
{
    size_t del = cols->count;
    for (size_t i = 0; unique_key[0] != '\0' && i < cols->count; i++)
        if (strcasecmp(cols->names[i], "_delete") == 0)
            del = i;
    *deleted = 0;
    if (unique_key[0] == '\0')
        return run_write_rows(db, table, body, cols, unique_key, "", inserted, updated, err);
    if (del < cols->count && cols->count < 2)
        return error_set(err, "the query has only the _delete column");
    struct run_columns kept = {.names = calloc(cols->count, sizeof *kept.names)};
    if (kept.names == NULL)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < cols->count; i++)
        if (i != del)
            memcpy(kept.names[kept.count++], cols->names[i], NAMES_MAX);
    char(*keys)[NAMES_MAX] = calloc(cols->count, sizeof *keys);
    size_t nkeys = 0;
    struct strbuf t = {0}, rows = {0};
    int rc = -1;
    if (keys == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    if (run_key_columns(unique_key, &kept, keys, kept.count, &nkeys, err) < 0)
        goto done;
    strbuf_addf(&t, "DROP TABLE IF EXISTS temp.\"_run_rows\"; CREATE TEMP TABLE \"_run_rows\" AS "
                     "SELECT * FROM (\n%s\n);", body);
    if (run_text_exec(db, &t, err, "run the query") < 0)
        goto done;
    strbuf_addf(&rows, "SELECT ");
    for (size_t i = 0; i < kept.count; i++)
        strbuf_addf(&rows, "%s\"%s\"", i ? ", " : "", kept.names[i]);
    strbuf_addf(&rows, " FROM temp.\"_run_rows\"");
    if (del < cols->count)
        strbuf_addf(&rows, " WHERE NOT coalesce(\"%s\", 0)", cols->names[del]);
    if (rows.failed) {
        error_set(err, "out of memory");
        goto done;
    }
    if (run_write_rows(db, table, rows.s, &kept, unique_key, accumulate, inserted, updated,
                       err) < 0 ||
        run_delete_emptied(db, table, keys, nkeys, accumulate, deleted, err) < 0)
        goto done;
    if (del == cols->count) {
        rc = 0;
        goto done;
    }
    strbuf_addf(&t, "DELETE FROM main.\"%s\" WHERE (", table);
    for (size_t i = 0; i < nkeys; i++)
        strbuf_addf(&t, "%s\"%s\"", i ? ", " : "", keys[i]);
    strbuf_addf(&t, ") IN (SELECT ");
    for (size_t i = 0; i < nkeys; i++)
        strbuf_addf(&t, "%s\"%s\"", i ? ", " : "", keys[i]);
    strbuf_addf(&t, " FROM temp.\"_run_rows\" WHERE coalesce(\"%s\", 0))", cols->names[del]);
    if (run_text_exec(db, &t, err, "delete the _delete rows") < 0)
        goto done;
    *deleted += sqlite3_changes64(db);
    rc = 0;
done:
    free(rows.s);
    free(keys);
    free(kept.names);
    return rc;
}

/* The whole gold transaction. */
static int run_execute(const char *data_dir, const struct tjob *job, int64_t execution_id,
                       bool full, struct run_result *res, char err[ERROR_MAX])
{
    sqlite3 *db = NULL;
    char *rewritten = NULL, *body = NULL;
    struct run_columns cols = {0};
    bool in_txn = false;
    int rc = -1;
    const struct job_def *def = &job->def;
    json_t *changes = NULL;
    char(*keys)[NAMES_MAX] = NULL;
    size_t nkeys = 0;
    memset(res, 0, sizeof *res);

    if (run_open_gold(data_dir, def->domain, &db, err) < 0 ||
        run_attach_inputs(db, data_dir, job, err) < 0)
        goto done;
    if (run_exec(db, "BEGIN", err, "begin") < 0)
        goto done;
    in_txn = true;
    /* rewritten after the inputs are read: history forms see those snapshots */
    if (run_read_inputs(db, job, &res->inputs, err) < 0 ||
        lineage_rewrite(db, job, res->inputs, full, &rewritten, &changes, err) < 0 ||
        run_check_query(db, rewritten, &body, &cols, err) < 0)
        goto done;

    /* the snapshot id first: the row history written with the table uses it */
    int64_t snapshot_id = 0, max_rowid = 0;
    if (run_scalar(db,
                   "SELECT max(coalesce((SELECT seq FROM main.sqlite_sequence WHERE name = "
                   "'_snapshots'), 0), coalesce((SELECT max(snapshot_id) FROM main._snapshots), "
                   "0)) + 1",
                   &snapshot_id, err, "next snapshot id") < 0)
        goto done;
    bool upsert = def->write_mode != JOB_WRITE_OVERWRITE && def->unique_key[0] != '\0';
    keys = calloc(cols.count, sizeof *keys);
    if (keys == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    if ((upsert && run_key_columns(def->unique_key, &cols, keys, cols.count, &nkeys, err) < 0) ||
        history_prepare(db, def->name, keys, nkeys, &max_rowid, err) < 0)
        goto done;

    int64_t inserted = 0, updated = 0, deleted = 0;
    const char *operation;
    bool reset = run_accumulate_from_start(def, changes);
    if (def->accumulate[0] != '\0' && run_check_accumulate(def->accumulate, &cols, err) < 0)
        goto done;
    if (reset) {
        bool exists = false;
        if (run_table_exists(db, def->name, &exists, err) < 0)
            goto done;
        char sql[NAMES_MAX + 32];
        snprintf(sql, sizeof sql, "DELETE FROM main.\"%s\"", def->name);
        if (exists && run_exec(db, sql, err, "empty the accumulated table") < 0)
            goto done;
        deleted = exists ? sqlite3_changes64(db) : 0;
    }
    if (def->write_mode == JOB_WRITE_OVERWRITE) {
        operation = "overwrite";
        if (run_write_overwrite(db, def->name, body, &inserted, &deleted, err) < 0 ||
            history_record_overwrite(db, def->name, snapshot_id, err) < 0)
            goto done;
        res->rows = inserted;
    } else {
        operation = upsert ? "upsert" : "append";
        int64_t removed = 0;
        if (run_write_append(db, def->name, body, &cols, def->unique_key, def->accumulate,
                             &inserted, &updated, &removed, err) < 0)
            goto done;
        deleted += removed;
        /* after a reset every key may have changed: compare the whole table */
        if (reset ? history_record_overwrite(db, def->name, snapshot_id, err) < 0
            : upsert ? history_record_upsert(db, def->name, keys, nkeys, "_run_rows",
                                             snapshot_id, err) < 0
                     : history_record_append(db, def->name, max_rowid, snapshot_id, err) < 0)
            goto done;
        if (run_exec(db, "DROP TABLE IF EXISTS temp.\"_run_rows\"", err, "drop the query rows") <
            0)
            goto done;
        res->rows = inserted + updated;
    }

    char now[TIMEUTIL_TIMESTAMP_MAX], source[64];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    snprintf(source, sizeof source, "execution:%lld", (long long)execution_id);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO main._snapshots (table_name, committed_at, operation,"
                           " source, rows_inserted, rows_updated, rows_unchanged, rows_deleted,"
                           " schema_version, snapshot_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, 0,"
                           " ?8)",
                           -1, &stmt, NULL) != SQLITE_OK) {
        run_db_error(db, err, "record the snapshot");
        goto done;
    }
    sqlite3_bind_text(stmt, 1, def->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, operation, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, inserted);
    sqlite3_bind_int64(stmt, 6, updated);
    sqlite3_bind_int64(stmt, 7, deleted);
    sqlite3_bind_int64(stmt, 8, snapshot_id);
    int step = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (step != SQLITE_DONE) {
        run_db_error(db, err, "record the snapshot");
        goto done;
    }
    res->snapshot_id = sqlite3_last_insert_rowid(db);
    if (lineage_record(db, res->snapshot_id, res->inputs, changes, err) < 0)
        goto done;
    if (json_object_size(changes) > 0) {
        char *text = json_dumps(changes, JSON_COMPACT | JSON_SORT_KEYS);
        log_info("run_changes job=%s.%s execution=%lld changes=%s", def->domain, def->name,
                 (long long)execution_id, text ? text : "?");
        free(text);
    }

    char *inputs_text = json_dumps(res->inputs, JSON_COMPACT | JSON_SORT_KEYS);
    if (inputs_text == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    stmt = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO main._executions (execution_id, table_name, snapshot_id,"
                           " row_count, inputs_json) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, execution_id);
        sqlite3_bind_text(stmt, 2, def->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, res->snapshot_id);
        sqlite3_bind_int64(stmt, 4, res->rows);
        sqlite3_bind_text(stmt, 5, inputs_text, -1, SQLITE_STATIC);
        step = sqlite3_step(stmt);
    } else {
        step = SQLITE_ERROR;
    }
    sqlite3_finalize(stmt);
    free(inputs_text);
    if (step != SQLITE_DONE) {
        run_db_error(db, err, "record the execution in gold");
        goto done;
    }
    char prune[256];
    snprintf(prune, sizeof prune,
             "DELETE FROM main._executions WHERE execution_id NOT IN (SELECT execution_id FROM"
             " main._executions ORDER BY execution_id DESC LIMIT %d)",
             RUN_KEEP_EXECUTIONS);
    if (run_exec(db, prune, err, "prune _executions") < 0)
        goto done;
    if (run_exec(db, "COMMIT", err, "commit") < 0)
        goto done;
    in_txn = false;
    rc = 0;
done:
    if (in_txn)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    json_decref(changes);
    free(keys);
    free(rewritten);
    free(body);
    free(cols.names);
    return rc;
}

int run_job(struct transformer_ctx *ctx, struct tjob *job, const char *trigger,
            int64_t execution_id)
{
    char err[ERROR_MAX] = "";
    char cerr[ERROR_MAX];
    const struct job_def *def = &job->def;
    if (execution_id <= 0 &&
        catalog_execution_start(ctx->catalog, def->domain, def->name, trigger, &execution_id,
                                cerr) < 0) {
        log_error("run_not_started job=%s.%s reason=\"%s\"", def->domain, def->name, cerr);
        ctx->runs_failed++;
        return -1;
    }
    log_info("run_start job=%s.%s execution=%lld trigger=%s", def->domain, def->name,
             (long long)execution_id, trigger);
    int64_t started = timeutil_monotonic_ms();

    struct run_result res = {0};
    /* a changed definition recomputes from every change (incremental jobs) */
    bool full = strcmp(trigger, "definition") == 0;
    int rc = job->valid ? run_execute(ctx->cfg->data_dir, job, execution_id, full, &res, err)
                        : error_set(err, "the job definition is invalid");
    char *inputs_text = res.inputs ? json_dumps(res.inputs, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (catalog_execution_finish(ctx->catalog, execution_id, rc == 0 ? "SUCCEEDED" : "FAILED",
                                 rc == 0 ? res.rows : 0, rc == 0 ? NULL : err, inputs_text,
                                 cerr) < 0)
        log_error("execution_finish_failed job=%s.%s execution=%lld reason=\"%s\"", def->domain,
                  def->name, (long long)execution_id, cerr);
    free(inputs_text);

    /* What this run read, for coalescing and for reconcile not to retry the
     * same failure. */
    if (res.inputs != NULL) {
        json_decref(job->last_inputs);
        job->last_inputs = res.inputs;
        res.inputs = NULL;
    }
    int64_t ms = timeutil_monotonic_ms() - started;
    char label[2 * NAMES_MAX];
    snprintf(label, sizeof label, "%s/%s", def->domain, def->name);
    stats_observe("transform_duration_seconds", label, (double)ms / 1000.0);
    if (rc < 0) {
        stats_count("transform_runs_failed_total", label, 1);
        ctx->runs_failed++;
        log_warn("run_failed job=%s.%s execution=%lld ms=%lld error=\"%s\"", def->domain,
                 def->name, (long long)execution_id, (long long)ms, err);
        return -1;
    }
    ctx->runs_ok++;
    log_info("run_ok job=%s.%s execution=%lld rows=%lld snapshot=%lld ms=%lld", def->domain,
             def->name, (long long)execution_id, (long long)res.rows,
             (long long)res.snapshot_id, (long long)ms);

    struct event ev = {.topic = EVENT_GOLD_COMMITTED, .snapshot_id = res.snapshot_id,
                       .count = res.rows};
    snprintf(ev.domain, sizeof ev.domain, "%s", def->domain);
    snprintf(ev.name, sizeof ev.name, "%s", def->name);
    if (ctx->pub != NULL && event_publish(ctx->pub, &ev, cerr) < 0)
        log_debug("event_dropped topic=gold.committed reason=\"%s\"", cerr);
    schedule_table_committed(ctx, def->domain, SQLREF_GOLD, def->name, res.snapshot_id);
    return 0;
}

/* Look for execution_id in gold/<domain>.db _executions: 1 found (rows and
 * inputs_json filled, *inputs malloc'd), 0 not, -1 error. */
static int run_find_committed(const char *data_dir, const char *domain, int64_t execution_id,
                              int64_t *rows, char **inputs, char err[ERROR_MAX])
{
    char path[PATH_MAX], uri[3 * PATH_MAX + 16];
    struct stat st;
    *inputs = NULL;
    if (layout_gold_db(path, sizeof path, data_dir, domain) < 0 ||
        inputs_uri(uri, sizeof uri, path) < 0)
        return error_set(err, "gold database path too long");
    if (stat(path, &st) != 0)
        return 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int found = -1;
    if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        error_set(err, "open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(db, RUN_BUSY_TIMEOUT_MS);
    int rc = sqlite3_prepare_v2(db,
                                "SELECT row_count, inputs_json FROM _executions WHERE execution_id = ?1",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        /* a gold database written before _executions existed */
        found = strstr(sqlite3_errmsg(db), "no such table") != NULL ? 0 : -1;
        if (found < 0)
            error_set(err, "%s: %s", path, sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_bind_int64(stmt, 1, execution_id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *rows = sqlite3_column_int64(stmt, 0);
        const char *text = (const char *)sqlite3_column_text(stmt, 1);
        *inputs = strdup(text ? text : "{}");
        found = *inputs != NULL ? 1 : error_set(err, "out of memory");
    } else if (rc == SQLITE_DONE) {
        found = 0;
    } else {
        error_set(err, "%s: %s", path, sqlite3_errmsg(db));
    }
done:
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return found;
}

int run_recover(struct transformer_ctx *ctx, char err[ERROR_MAX])
{
    json_t *list = NULL;
    if (catalog_list_executions(ctx->catalog, NULL, NULL, RUN_RECOVER_SCAN, &list, err) < 0)
        return -1;
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row) {
        const char *status = json_string_value(json_object_get(row, "status"));
        const char *domain = json_string_value(json_object_get(row, "domain"));
        const char *job = json_string_value(json_object_get(row, "job_name"));
        json_int_t id = json_integer_value(json_object_get(row, "execution_id"));
        if (status == NULL || strcmp(status, "RUNNING") != 0 || domain == NULL || job == NULL ||
            !names_is_valid_object(domain))
            continue;
        int64_t rows = 0;
        char *inputs = NULL;
        char ferr[ERROR_MAX];
        int found = run_find_committed(ctx->cfg->data_dir, domain, id, &rows, &inputs, ferr);
        if (found < 0)
            log_warn("recover_failed execution=%lld reason=\"%s\"", (long long)id, ferr);
        if (found == 1) {
            if (catalog_execution_finish(ctx->catalog, id, "SUCCEEDED", rows, NULL, inputs,
                                         ferr) < 0)
                log_warn("recover_failed execution=%lld reason=\"%s\"", (long long)id, ferr);
            else
                log_info("recovered job=%s.%s execution=%lld status=SUCCEEDED rows=%lld "
                         "reason=\"gold committed before the process stopped\"",
                         domain, job, (long long)id, (long long)rows);
        }
        free(inputs);
    }
    json_decref(list);
    return catalog_fail_running_executions(
        ctx->catalog, "interrupted: the transformer stopped while the job was running", err);
}

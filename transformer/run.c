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
 *   2b. the row history of the table (gold_history.c), as changes of the
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
 * FAILED + the error) and gold.committed is published; the scheduler then
 * queues the jobs reading this table directly (events are hints; the broker
 * may be absent).
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
#include "sqlutil.h"
#include "stats.h"

#define RUN_BUSY_TIMEOUT_MS 10000
/* Retries of a run that found its database busy, 20, 40, 80 ms apart. */
#define RUN_BUSY_RETRIES 3
#define RUN_BUSY_BACKOFF_MS 20
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

/* Open gold/<domain>.db for writing: WAL, busy timeout, _snapshots, version
 * (transformer.h). */
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
    if (sqlutil_exec(db, "PRAGMA journal_mode = WAL", err, "%s", path) < 0 ||
        sqlutil_int64(db, "PRAGMA user_version", &version, err, "%s", path) < 0)
        goto fail;
    if (version > LAYOUT_DB_VERSION) {
        error_set(err, "%s: database version %lld is newer than this program knows (%d)", path,
                  (long long)version, LAYOUT_DB_VERSION);
        goto fail;
    }
    if (sqlutil_exec(db, layout_gold_ddl, err, "%s", path) < 0 ||
        sqlutil_exec(db, run_executions_ddl, err, "%s", path) < 0)
        goto fail;
    if (version < 2 && layout_migrate_v2(db, err) < 0) {
        error_prefix(err, "%s", path);
        goto fail;
    }
    if (version < 3 && sqlutil_exec(db, iceberg_export_ddl, err, "%s", path) < 0)
        goto fail;
    if (version < LAYOUT_DB_VERSION) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", LAYOUT_DB_VERSION);
        if (sqlutil_exec(db, pragma, err, "%s", path) < 0)
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
            return error_set(err, "attach: %s", sqlite3_errmsg(db));
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

/* What the write step did, for the _snapshots row. */
struct run_counts {
    const char *operation; /* "overwrite" | "append" | "upsert" */
    int64_t inserted, updated, deleted;
};

/* The write of the query's rows (body) and their row history, as changes of
 * snapshot_id, per the job's write mode. */
static int run_write(sqlite3 *db, const struct job_def *def, const char *body,
                     const struct write_columns *cols, const json_t *changes,
                     int64_t snapshot_id, struct run_counts *n, struct run_result *res,
                     char err[ERROR_MAX])
{
    bool upsert = def->write_mode != JOB_WRITE_OVERWRITE && def->unique_key[0] != '\0';
    char(*keys)[NAMES_MAX] = calloc(cols->count, sizeof *keys);
    size_t nkeys = 0;
    int64_t max_rowid = 0;
    int rc = -1;
    if (keys == NULL)
        return error_set(err, "out of memory");
    if ((upsert && write_key_columns(def->unique_key, cols, keys, cols->count, &nkeys, err) < 0) ||
        history_prepare(db, def->name, keys, nkeys, &max_rowid, err) < 0)
        goto done;

    bool reset = write_accumulate_from_start(def, changes);
    if (def->accumulate[0] != '\0' && write_check_accumulate(def->accumulate, cols, err) < 0)
        goto done;
    if (reset) {
        bool exists = false;
        if (write_table_exists(db, def->name, &exists, err) < 0)
            goto done;
        char sql[NAMES_MAX + 32];
        snprintf(sql, sizeof sql, "DELETE FROM main.\"%s\"", def->name);
        if (exists && sqlutil_exec(db, sql, err, "empty the accumulated table") < 0)
            goto done;
        n->deleted = exists ? sqlite3_changes64(db) : 0;
    }
    if (def->write_mode == JOB_WRITE_OVERWRITE) {
        n->operation = "overwrite";
        if (write_overwrite(db, def->name, body, &n->inserted, &n->deleted, err) < 0 ||
            history_record_overwrite(db, def->name, snapshot_id, err) < 0)
            goto done;
        res->rows = n->inserted;
    } else {
        n->operation = upsert ? "upsert" : "append";
        int64_t removed = 0;
        if (write_append(db, def->name, body, cols, def->unique_key, def->accumulate,
                         &n->inserted, &n->updated, &removed, err) < 0)
            goto done;
        n->deleted += removed;
        /* after a reset every key may have changed: compare the whole table */
        if (reset ? history_record_overwrite(db, def->name, snapshot_id, err) < 0
            : upsert ? history_record_upsert(db, def->name, keys, nkeys, "_run_rows",
                                             snapshot_id, err) < 0
                     : history_record_append(db, def->name, max_rowid, snapshot_id, err) < 0)
            goto done;
        if (sqlutil_exec(db, "DROP TABLE IF EXISTS temp.\"_run_rows\"", err,
                         "drop the query rows") < 0)
            goto done;
        res->rows = n->inserted + n->updated;
    }
    if (write_ensure_index(db, def, err) < 0)
        goto done;
    rc = 0;
done:
    free(keys);
    return rc;
}

/* The records of the write: the _snapshots row (its id: res->snapshot_id),
 * its _lineage rows and the _executions row (the oldest pruned). */
static int run_record(sqlite3 *db, const struct job_def *def, int64_t execution_id,
                      int64_t snapshot_id, const struct run_counts *n, const json_t *changes,
                      struct run_result *res, char err[ERROR_MAX])
{
    /* kept with the snapshot, so that listings never count the table (a
     * gold write already costs a query over its inputs) */
    int64_t row_count = 0;
    if (write_count_rows(db, def->name, &row_count, err) < 0)
        return -1;
    char now[TIMEUTIL_TIMESTAMP_MAX], source[64];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    snprintf(source, sizeof source, "execution:%lld", (long long)execution_id);
    sqlite3_stmt *stmt = NULL;
    if (sqlutil_prepare(db,
                        "INSERT INTO main._snapshots (table_name, committed_at, operation,"
                        " source, rows_inserted, rows_updated, rows_unchanged, rows_deleted,"
                        " schema_version, snapshot_id, row_count) VALUES (?1, ?2, ?3, ?4, ?5,"
                        " ?6, 0, ?7, 0, ?8, ?9)",
                        &stmt, err, "record the snapshot") < 0)
        return -1;
    sqlite3_bind_text(stmt, 1, def->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, n->operation, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, n->inserted);
    sqlite3_bind_int64(stmt, 6, n->updated);
    sqlite3_bind_int64(stmt, 7, n->deleted);
    sqlite3_bind_int64(stmt, 8, snapshot_id);
    sqlite3_bind_int64(stmt, 9, row_count);
    int rc = sqlutil_step_done(db, stmt, err, "record the snapshot");
    sqlite3_finalize(stmt);
    if (rc < 0)
        return -1;
    res->snapshot_id = sqlite3_last_insert_rowid(db);
    if (lineage_record(db, res->snapshot_id, res->inputs, changes, err) < 0)
        return -1;
    if (json_object_size(changes) > 0) {
        char *text = json_dumps(changes, JSON_COMPACT | JSON_SORT_KEYS);
        log_info("run_changes job=%s.%s execution=%lld changes=%s", def->domain, def->name,
                 (long long)execution_id, text ? text : "?");
        free(text);
    }

    char *inputs_text = json_dumps(res->inputs, JSON_COMPACT | JSON_SORT_KEYS);
    if (inputs_text == NULL)
        return error_set(err, "out of memory");
    rc = sqlutil_prepare(db,
                         "INSERT INTO main._executions (execution_id, table_name, snapshot_id,"
                         " row_count, inputs_json) VALUES (?1, ?2, ?3, ?4, ?5)",
                         &stmt, err, "record the execution in gold");
    if (rc == 0) {
        sqlite3_bind_int64(stmt, 1, execution_id);
        sqlite3_bind_text(stmt, 2, def->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, res->snapshot_id);
        sqlite3_bind_int64(stmt, 4, res->rows);
        sqlite3_bind_text(stmt, 5, inputs_text, -1, SQLITE_STATIC);
        rc = sqlutil_step_done(db, stmt, err, "record the execution in gold");
    }
    sqlite3_finalize(stmt);
    free(inputs_text);
    if (rc < 0)
        return -1;
    char prune[256];
    snprintf(prune, sizeof prune,
             "DELETE FROM main._executions WHERE execution_id NOT IN (SELECT execution_id FROM"
             " main._executions ORDER BY execution_id DESC LIMIT %d)",
             RUN_KEEP_EXECUTIONS);
    return sqlutil_exec(db, prune, err, "prune _executions");
}

/* The whole gold transaction. */
static int run_execute(const char *data_dir, const struct tjob *job, int64_t execution_id,
                       bool full, struct run_result *res, char err[ERROR_MAX])
{
    sqlite3 *db = NULL;
    char *rewritten = NULL, *body = NULL;
    struct write_columns cols = {0};
    bool in_txn = false;
    int rc = -1;
    const struct job_def *def = &job->def;
    json_t *changes = NULL;
    memset(res, 0, sizeof *res);

    if (run_open_gold(data_dir, def->domain, &db, err) < 0 ||
        run_attach_inputs(db, data_dir, job, err) < 0)
        goto done;
    if (sqlutil_exec(db, "BEGIN", err, "begin") < 0)
        goto done;
    in_txn = true;
    /* rewritten after the inputs are read: history forms see those snapshots */
    if (run_read_inputs(db, job, &res->inputs, err) < 0 ||
        lineage_rewrite(db, job, res->inputs, full, &rewritten, &changes, err) < 0 ||
        write_check_query(db, rewritten, &body, &cols, err) < 0)
        goto done;

    /* the snapshot id first: the row history written with the table uses it */
    int64_t snapshot_id = 0;
    if (sqlutil_int64(db,
                      "SELECT max(coalesce((SELECT seq FROM main.sqlite_sequence WHERE name = "
                      "'_snapshots'), 0), coalesce((SELECT max(snapshot_id) FROM main._snapshots), "
                      "0)) + 1",
                      &snapshot_id, err, "next snapshot id") < 0)
        goto done;
    struct run_counts n = {0};
    if (run_write(db, def, body, &cols, changes, snapshot_id, &n, res, err) < 0 ||
        run_record(db, def, execution_id, snapshot_id, &n, changes, res, err) < 0)
        goto done;
    if (sqlutil_exec(db, "COMMIT", err, "commit") < 0)
        goto done;
    in_txn = false;
    rc = 0;
done:
    /* Another connection held a lock SQLite does not wait for (a read
     * transaction cannot always become a write one): busy, worth a retry. */
    if (rc < 0 && db != NULL &&
        ((sqlite3_errcode(db) & 0xff) == SQLITE_BUSY || (sqlite3_errcode(db) & 0xff) == SQLITE_LOCKED))
        rc = -(int)ERROR_BUSY;
    if (in_txn)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    json_decref(changes);
    free(rewritten);
    free(body);
    free(cols.names);
    return rc;
}

/* job.started / job.finished: hints for watchers (GET /events). */
static void run_publish(struct transformer_ctx *ctx, enum event_topic topic,
                        const struct job_def *def, int64_t execution_id, const char *status,
                        int64_t snapshot_id)
{
    char err[ERROR_MAX];
    struct event ev = {.topic = topic, .count = execution_id, .snapshot_id = snapshot_id};
    snprintf(ev.domain, sizeof ev.domain, "%s", def->domain);
    snprintf(ev.name, sizeof ev.name, "%s", def->name);
    snprintf(ev.file, sizeof ev.file, "%s", status);
    if (ctx->pub != NULL && event_publish(ctx->pub, &ev, err) < 0)
        log_debug("event_dropped topic=%s reason=\"%s\"", event_topic_name(topic), err);
}

int run_job(struct transformer_ctx *ctx, struct tjob *job, const char *trigger,
            int64_t execution_id, int64_t *snapshot_id)
{
    *snapshot_id = 0;
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
    run_publish(ctx, EVENT_JOB_STARTED, def, execution_id, "", 0);
    int64_t started = timeutil_monotonic_ms();

    struct run_result res = {0};
    /* a changed definition recomputes from every change (incremental jobs) */
    bool full = strcmp(trigger, "definition") == 0;
    int rc = job->valid ? run_execute(ctx->cfg->data_dir, job, execution_id, full, &res, err)
                        : error_set(err, "the job definition is invalid");
    /* A busy database is a moment's contention, not this job's failure: try
     * again shortly, or the gold table would wait for the next commit of an
     * input (on an idle system, indefinitely) or the reconcile. */
    for (int attempt = 1; rc == -(int)ERROR_BUSY && attempt <= RUN_BUSY_RETRIES; attempt++) {
        log_info("run_retry job=%s.%s execution=%lld attempt=%d reason=\"%s\"", def->domain,
                 def->name, (long long)execution_id, attempt, err);
        json_decref(res.inputs);
        timeutil_sleep_ms(RUN_BUSY_BACKOFF_MS << (attempt - 1));
        rc = run_execute(ctx->cfg->data_dir, job, execution_id, full, &res, err);
    }
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
        log_warn("run_failed job=%s.%s execution=%lld ms=%lld reason=\"%s\"", def->domain,
                 def->name, (long long)execution_id, (long long)ms, err);
        run_publish(ctx, EVENT_JOB_FINISHED, def, execution_id, "FAILED", 0);
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
    run_publish(ctx, EVENT_JOB_FINISHED, def, execution_id, "SUCCEEDED", res.snapshot_id);
    *snapshot_id = res.snapshot_id;
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
    /* a gold database written before _executions existed has none */
    int64_t has_table = 0;
    if (sqlutil_int64(db,
                      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                      " name = '_executions'",
                      &has_table, err, "%s", path) < 0)
        goto done;
    if (has_table == 0) {
        found = 0;
        goto done;
    }
    if (sqlutil_prepare(db, "SELECT row_count, inputs_json FROM _executions WHERE execution_id = ?1",
                        &stmt, err, "%s", path) < 0)
        goto done;
    sqlite3_bind_int64(stmt, 1, execution_id);
    int rc = sqlite3_step(stmt);
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

/* catalog.c - catalog.db access (catalog.h): the database, its statements
 * and endpoint schema versions (jobs, models and executions: catalog_jobs.c).
 *
 * Every statement is declared once, by name, in catalog_sql[] and prepared
 * when the catalog is opened; values are always bound. Writes that read
 * before they write (next schema version, job cycle check) run inside
 * BEGIN IMMEDIATE so that two writers (CLI, ingest evolving a schema) cannot
 * interleave; the busy timeout makes the second one wait instead of failing. */
#include "catalog.h"
#include "catalog_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "expectation.h"
#include "fsutil.h"
#include "layout.h"
#include "timeutil.h"

#define CATALOG_BUSY_TIMEOUT_MS 5000

/* Migrations in order: catalog_migrations[i] takes user_version i to i + 1. */
static const char *const catalog_migrations[] = {
    /* 1: endpoints, jobs, executions */
    "CREATE TABLE endpoints ("
    "  domain TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  mode TEXT NOT NULL,"
    "  schema_json TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL,"
    "  PRIMARY KEY (domain, name, version)"
    ");"
    "CREATE TABLE jobs ("
    "  domain TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  sql TEXT NOT NULL,"
    "  write_mode TEXT NOT NULL,"
    "  unique_key TEXT NOT NULL DEFAULT '',"
    "  schedule TEXT NOT NULL,"
    "  cron TEXT NOT NULL DEFAULT '',"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL,"
    "  PRIMARY KEY (domain, name)"
    ");"
    "CREATE TABLE executions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  domain TEXT NOT NULL,"
    "  job TEXT NOT NULL,"
    "  \"trigger\" TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED')),"
    "  started_at TEXT NOT NULL,"
    "  finished_at TEXT,"
    "  \"rows\" INTEGER,"
    "  error TEXT,"
    "  inputs_json TEXT"
    ");"
    "CREATE INDEX executions_by_job ON executions (domain, job, id);"
    "CREATE INDEX executions_by_status ON executions (status);",
    /* 2: incremental jobs (job.h) */
    "ALTER TABLE jobs ADD COLUMN incremental INTEGER NOT NULL DEFAULT 0;",
    /* 3: accumulating jobs (job.h) */
    "ALTER TABLE jobs ADD COLUMN accumulate TEXT NOT NULL DEFAULT '';",
    /* 4: secondary indexes of gold tables, models and the jobs they manage (model.h) */
    "ALTER TABLE jobs ADD COLUMN index_columns TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN model TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE models ("
    "  name TEXT PRIMARY KEY,"
    "  concept_file TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL"
    ");",
};
#define CATALOG_VERSION ((int)(sizeof catalog_migrations / sizeof catalog_migrations[0]))


#define CATALOG_EXECUTION_COLUMNS                                                                  \
    "id, domain, job, \"trigger\", status, started_at, finished_at, \"rows\", error"

static const char *const catalog_sql[CATALOG_STMT_COUNT] = {
    [CATALOG_BEGIN] = "BEGIN IMMEDIATE",
    [CATALOG_COMMIT] = "COMMIT",
    [CATALOG_ROLLBACK] = "ROLLBACK",
    [CATALOG_ENDPOINT_LATEST] =
        "SELECT version, schema_json, created_at FROM endpoints"
        " WHERE domain = ?1 AND name = ?2 ORDER BY version DESC LIMIT 1",
    [CATALOG_ENDPOINT_GET] =
        "SELECT version, schema_json, created_at FROM endpoints"
        " WHERE domain = ?1 AND name = ?2 AND version = ?3",
    [CATALOG_ENDPOINT_INSERT] =
        "INSERT INTO endpoints (domain, name, version, mode, schema_json, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [CATALOG_ENDPOINT_VERSION] =
        "SELECT max(version) FROM endpoints WHERE domain = ?1 AND name = ?2",
    [CATALOG_ENDPOINT_LIST] =
        "SELECT e.domain, e.name, e.version, e.mode, e.created_at, e.updated_at FROM endpoints e"
        " WHERE (?1 IS NULL OR e.domain = ?1) AND e.version = (SELECT max(l.version)"
        " FROM endpoints l WHERE l.domain = e.domain AND l.name = e.name)"
        " ORDER BY e.domain, e.name",
    [CATALOG_ENDPOINT_VERSIONS] =
        "SELECT version, schema_json FROM endpoints WHERE domain = ?1 AND name = ?2"
        " ORDER BY version",
    [CATALOG_ENDPOINT_DELETE] = "DELETE FROM endpoints WHERE domain = ?1 AND name = ?2",
    [CATALOG_JOB_UPSERT] =
        "INSERT INTO jobs (domain, name, sql, write_mode, unique_key, schedule, cron,"
        " created_at, updated_at, incremental, accumulate, index_columns, model)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12)"
        " ON CONFLICT (domain, name) DO UPDATE SET sql = excluded.sql,"
        " write_mode = excluded.write_mode, unique_key = excluded.unique_key,"
        " schedule = excluded.schedule, cron = excluded.cron, updated_at = excluded.updated_at,"
        " incremental = excluded.incremental, accumulate = excluded.accumulate,"
        " index_columns = excluded.index_columns, model = excluded.model",
    [CATALOG_JOB_GET] =
        "SELECT domain, name, sql, write_mode, unique_key, schedule, cron, incremental,"
        " accumulate, index_columns, model FROM jobs"
        " WHERE domain = ?1 AND name = ?2",
    [CATALOG_JOB_LIST] =
        "SELECT domain, name, sql, write_mode, unique_key, schedule, cron, incremental,"
        " accumulate, index_columns, model FROM jobs"
        " ORDER BY domain, name",
    [CATALOG_JOB_DELETE] = "DELETE FROM jobs WHERE domain = ?1 AND name = ?2",
    [CATALOG_MODEL_UPSERT] =
        "INSERT INTO models (name, concept_file, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)"
        " ON CONFLICT (name) DO UPDATE SET concept_file = excluded.concept_file,"
        " updated_at = excluded.updated_at",
    [CATALOG_MODEL_GET] = "SELECT concept_file FROM models WHERE name = ?1",
    [CATALOG_MODEL_LIST] =
        "SELECT m.name, m.created_at, m.updated_at,"
        " (SELECT count(*) FROM jobs j WHERE j.model = m.name) FROM models m ORDER BY m.name",
    [CATALOG_MODEL_DELETE] = "DELETE FROM models WHERE name = ?1",
    [CATALOG_MODEL_JOBS_DELETE] = "DELETE FROM jobs WHERE model = ?1",
    [CATALOG_EXECUTION_START] =
        "INSERT INTO executions (domain, job, \"trigger\", status, started_at)"
        " VALUES (?1, ?2, ?3, 'RUNNING', ?4)",
    [CATALOG_EXECUTION_FINISH] =
        "UPDATE executions SET status = ?2, finished_at = ?3, \"rows\" = ?4, error = ?5,"
        " inputs_json = ?6 WHERE id = ?1",
    [CATALOG_EXECUTION_LAST_SUCCESS] =
        "SELECT inputs_json FROM executions WHERE domain = ?1 AND job = ?2"
        " AND status = 'SUCCEEDED' ORDER BY id DESC LIMIT 1",
    [CATALOG_EXECUTION_GET] =
        "SELECT " CATALOG_EXECUTION_COLUMNS " FROM executions WHERE id = ?1",
    [CATALOG_EXECUTION_LIST] =
        "SELECT " CATALOG_EXECUTION_COLUMNS " FROM executions"
        " WHERE (?1 IS NULL OR domain = ?1) AND (?2 IS NULL OR job = ?2)"
        " ORDER BY id DESC LIMIT ?3",
    [CATALOG_EXECUTION_FAIL_RUNNING] =
        "UPDATE executions SET status = 'FAILED', finished_at = ?1, error = ?2"
        " WHERE status = 'RUNNING'",
};


/* ---------------------------------------------------------------- helpers */

int catalog_db_error(struct catalog *catalog, char err[ERROR_MAX], const char *what)
{
    return error_set(err, "catalog %s: %s: %s", catalog->path, what, sqlite3_errmsg(catalog->db));
}

/* The named statement, reset and unbound, ready for new values. */
sqlite3_stmt *catalog_stmt(struct catalog *catalog, enum catalog_stmt id)
{
    sqlite3_stmt *stmt = catalog->stmt[id];
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return stmt;
}

int catalog_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    if (text == NULL)
        return sqlite3_bind_null(stmt, index);
    return sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
}

/* The named statement with a domain and a name (endpoint, job) bound to ?1
 * and ?2, the first two parameters of most statements. */
sqlite3_stmt *catalog_stmt_named(struct catalog *catalog, enum catalog_stmt id,
                                        const char *domain, const char *name)
{
    sqlite3_stmt *stmt = catalog_stmt(catalog, id);
    catalog_bind_text(stmt, 1, domain);
    catalog_bind_text(stmt, 2, name);
    return stmt;
}

/* Run a statement that returns no rows. */
int catalog_exec(struct catalog *catalog, sqlite3_stmt *stmt, char err[ERROR_MAX],
                        const char *what)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        catalog_db_error(catalog, err, what);
        sqlite3_reset(stmt);
        return -1;
    }
    sqlite3_reset(stmt);
    return 0;
}

/* Step a statement that returns at most one row: 1 on a row (read it, then
 * sqlite3_reset), 0 when there is none, -1 on error (both reset already). */
int catalog_step_row(struct catalog *catalog, sqlite3_stmt *stmt, char err[ERROR_MAX],
                            const char *what)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        catalog_db_error(catalog, err, what);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Run a bound statement and collect its rows, each converted by row_json,
 * into a new array (*out). */
int catalog_collect(struct catalog *catalog, sqlite3_stmt *stmt, catalog_row_json_fn row_json,
                           const char *what, json_t **out, char err[ERROR_MAX])
{
    *out = NULL;
    json_t *list = json_array();
    if (list == NULL)
        return error_set(err, "out of memory");
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *row = row_json(catalog, stmt, err);
        if (row == NULL)
            goto fail;
        if (json_array_append_new(list, row) < 0) {
            error_set(err, "out of memory");
            goto fail;
        }
    }
    if (rc != SQLITE_DONE) {
        catalog_db_error(catalog, err, what);
        goto fail;
    }
    sqlite3_reset(stmt);
    *out = list;
    return 0;
fail:
    sqlite3_reset(stmt);
    json_decref(list);
    return -1;
}

int catalog_begin(struct catalog *catalog, char err[ERROR_MAX])
{
    return catalog_exec(catalog, catalog_stmt(catalog, CATALOG_BEGIN), err, "begin");
}

int catalog_commit(struct catalog *catalog, char err[ERROR_MAX])
{
    return catalog_exec(catalog, catalog_stmt(catalog, CATALOG_COMMIT), err, "commit");
}

void catalog_rollback(struct catalog *catalog)
{
    if (!sqlite3_get_autocommit(catalog->db)) {
        sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_ROLLBACK);
        sqlite3_step(stmt);
        sqlite3_reset(stmt);
    }
}

void catalog_now(char out[TIMEUTIL_TIMESTAMP_MAX])
{
    timeutil_format_utc_ms(timeutil_now_ms(), out);
}

const char *catalog_column_text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? (const char *)text : "";
}

/* A result column as JSON (NULL -> null). */
static json_t *catalog_column_json(sqlite3_stmt *stmt, int col)
{
    switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(stmt, col));
    case SQLITE_FLOAT: return json_real(sqlite3_column_double(stmt, col));
    case SQLITE_NULL: return json_null();
    default: return json_string(catalog_column_text(stmt, col));
    }
}

/* The current row as an object, column i under keys[i]; NULL with err set. */
json_t *catalog_row_object(sqlite3_stmt *stmt, const char *const *keys, int n,
                                  char err[ERROR_MAX])
{
    json_t *row = json_object();
    for (int i = 0; row != NULL && i < n; i++) {
        if (json_object_set_new(row, keys[i], catalog_column_json(stmt, i)) < 0) {
            json_decref(row);
            row = NULL;
        }
    }
    if (row == NULL)
        error_set(err, "out of memory");
    return row;
}

/* ------------------------------------------------------ open / migrate */

/* Changing the journal mode needs a moment of exclusive access, which the
 * busy handler does not cover, so retry while another process holds it. */
static int catalog_set_wal(struct catalog *catalog, char err[ERROR_MAX])
{
    int64_t deadline = timeutil_monotonic_ms() + CATALOG_BUSY_TIMEOUT_MS;
    for (;;) {
        int rc = sqlite3_exec(catalog->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || timeutil_monotonic_ms() > deadline)
            return catalog_db_error(catalog, err, "set WAL mode");
        usleep(10000);
    }
}

static int catalog_user_version(struct catalog *catalog, int *version, char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(catalog->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
        return catalog_db_error(catalog, err, "read user_version");
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        catalog_db_error(catalog, err, "read user_version");
        sqlite3_finalize(stmt);
        return -1;
    }
    *version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return 0;
}

/* Bring the schema to CATALOG_VERSION. The version is read again inside the
 * write transaction: several processes may open a new catalog at once. */
static int catalog_migrate(struct catalog *catalog, char err[ERROR_MAX])
{
    int version;
    if (catalog_user_version(catalog, &version, err) < 0)
        return -1;
    if (version == CATALOG_VERSION)
        return 0;
    if (sqlite3_exec(catalog->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return catalog_db_error(catalog, err, "begin migration");
    if (catalog_user_version(catalog, &version, err) < 0)
        goto fail;
    if (version > CATALOG_VERSION) {
        error_set(err, "catalog %s: schema version %d is newer than this program knows (%d)",
                  catalog->path, version, CATALOG_VERSION);
        goto fail;
    }
    for (; version < CATALOG_VERSION; version++) {
        char pragma[64];
        if (sqlite3_exec(catalog->db, catalog_migrations[version], NULL, NULL, NULL) != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "migration to version %d", version + 1);
            catalog_db_error(catalog, err, what);
            goto fail;
        }
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version + 1);
        if (sqlite3_exec(catalog->db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
            catalog_db_error(catalog, err, "set user_version");
            goto fail;
        }
    }
    if (sqlite3_exec(catalog->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        catalog_db_error(catalog, err, "commit migration");
        goto fail;
    }
    return 0;
fail:
    sqlite3_exec(catalog->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int catalog_open(const char *data_dir, bool read_only, struct catalog **out, char err[ERROR_MAX])
{
    *out = NULL;
    struct catalog *catalog = calloc(1, sizeof *catalog);
    if (catalog == NULL)
        return error_set(err, "out of memory");
    catalog->read_only = read_only;
    if (layout_catalog_db(catalog->path, sizeof catalog->path, data_dir, err) < 0)
        goto fail_free;

    bool existed = access(catalog->path, F_OK) == 0;
    int flags = SQLITE_OPEN_NOMUTEX;
    if (read_only) {
        if (!existed) {
            error_set(err, "catalog %s does not exist (no endpoint or job was created yet)",
                      catalog->path);
            goto fail_free;
        }
        flags |= SQLITE_OPEN_READONLY;
    } else {
        if (fsutil_mkdirs(data_dir, LAYOUT_DIR_MODE, err) < 0)
            goto fail_free;
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    }
    if (sqlite3_open_v2(catalog->path, &catalog->db, flags, NULL) != SQLITE_OK) {
        if (catalog->db == NULL)
            error_set(err, "catalog %s: out of memory", catalog->path);
        else
            catalog_db_error(catalog, err, "open");
        goto fail;
    }
    if (!existed && !read_only && chmod(catalog->path, LAYOUT_FILE_MODE) < 0) {
        error_set(err, "catalog %s: chmod: %s", catalog->path, strerror(errno));
        goto fail;
    }
    sqlite3_busy_timeout(catalog->db, CATALOG_BUSY_TIMEOUT_MS);

    if (read_only) {
        int version;
        if (catalog_user_version(catalog, &version, err) < 0)
            goto fail;
        if (version != CATALOG_VERSION) {
            error_set(err, "catalog %s: schema version %d, this program needs %d%s", catalog->path,
                      version, CATALOG_VERSION,
                      version < CATALOG_VERSION ? " (open it once for writing to migrate)" : "");
            goto fail;
        }
    } else {
        if (catalog_set_wal(catalog, err) < 0)
            goto fail;
        /* The catalog is written rarely; losing a created endpoint on power
         * failure is not worth the saved fsync. */
        if (sqlite3_exec(catalog->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK) {
            catalog_db_error(catalog, err, "set synchronous");
            goto fail;
        }
        if (catalog_migrate(catalog, err) < 0)
            goto fail;
    }
    for (int i = 0; i < CATALOG_STMT_COUNT; i++) {
        if (sqlite3_prepare_v3(catalog->db, catalog_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &catalog->stmt[i], NULL) != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "prepare statement %d", i);
            catalog_db_error(catalog, err, what);
            goto fail;
        }
    }
    *out = catalog;
    return 0;

fail:
    catalog_close(&catalog);
    return -1;
fail_free:
    free(catalog);
    return -1;
}

void catalog_close(struct catalog **catalog)
{
    if (catalog == NULL || *catalog == NULL)
        return;
    struct catalog *c = *catalog;
    for (int i = 0; i < CATALOG_STMT_COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    sqlite3_close(c->db);
    free(c);
    *catalog = NULL;
}

/* ------------------------------------------------------------- endpoints */

/* Parse one stored schema row (version, schema_json). */
static struct schema *catalog_schema_from_row(struct catalog *catalog, sqlite3_stmt *stmt,
                                              char err[ERROR_MAX])
{
    json_error_t jerr;
    const char *text = catalog_column_text(stmt, 1);
    json_t *json = json_loads(text, 0, &jerr);
    if (json == NULL) {
        error_set(err, "catalog %s: stored schema is not valid JSON: %s", catalog->path, jerr.text);
        return NULL;
    }
    struct schema *schema = schema_from_json(json, err);
    json_decref(json);
    if (schema == NULL) {
        error_prefix(err, "catalog %s: stored schema", catalog->path);
        return NULL;
    }
    schema->version = sqlite3_column_int(stmt, 0);
    return schema;
}

/* Latest stored version inside a transaction: 1 found (*out, *created_at
 * filled), 0 none, -1 error. */
static int catalog_latest(struct catalog *catalog, const char *domain, const char *name,
                          struct schema **out, char created_at[TIMEUTIL_TIMESTAMP_MAX],
                          char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_ENDPOINT_LATEST, domain, name);
    int rc = catalog_step_row(catalog, stmt, err, "read endpoint");
    if (rc <= 0)
        return rc;
    snprintf(created_at, TIMEUTIL_TIMESTAMP_MAX, "%s", catalog_column_text(stmt, 2));
    *out = catalog_schema_from_row(catalog, stmt, err);
    sqlite3_reset(stmt);
    return *out ? 1 : -1;
}

int catalog_put_endpoint(struct catalog *catalog, const struct schema *schema, int *version,
                         char err[ERROR_MAX])
{
    enum error_kind refused = ERROR_INTERNAL; /* what a failure answers */
    struct schema *previous = NULL;
    struct schema *checked = NULL;
    json_t *json = NULL;
    char *text = NULL;
    char now[TIMEUTIL_TIMESTAMP_MAX];
    char created_at[TIMEUTIL_TIMESTAMP_MAX];

    /* Round trip through the JSON form: the struct may have been built in
     * code (schema_evolve), and the JSON form is what the catalog keeps. */
    json = schema_to_json(schema);
    if (json == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    checked = schema_from_json(json, err);
    if (checked == NULL) {
        refused = ERROR_INVALID;
        goto fail;
    }
    /* expectations: each rule must be a pure SQL expression over the columns */
    if (expectation_check(checked, err) < 0) {
        error_prefix(err, "endpoint %s/%s", checked->domain, checked->name);
        refused = ERROR_INVALID;
        goto fail;
    }
    json_decref(json);
    json = NULL;

    if (catalog_begin(catalog, err) < 0)
        goto fail;
    int found = catalog_latest(catalog, checked->domain, checked->name, &previous, created_at, err);
    if (found < 0)
        goto fail_rollback;
    catalog_now(now);
    if (found == 1) {
        if (schema_check_compatible(previous, checked, err) < 0) {
            error_prefix(err, "endpoint %s/%s: incompatible change to version %d",
                         checked->domain, checked->name, previous->version);
            refused = ERROR_CONFLICT;
            goto fail_rollback;
        }
        /* The same definition again is not a new version. */
        checked->version = previous->version;
        json_t *a = schema_to_json(previous);
        json_t *b = schema_to_json(checked);
        bool same = a != NULL && b != NULL && json_equal(a, b);
        json_decref(a);
        json_decref(b);
        if (same) {
            catalog_rollback(catalog);
            *version = previous->version;
            schema_destroy(&previous);
            schema_destroy(&checked);
            return 0;
        }
        checked->version = previous->version + 1;
    } else {
        checked->version = 1;
        snprintf(created_at, sizeof created_at, "%s", now);
    }
    json = schema_to_json(checked);
    text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    if (text == NULL) {
        error_set(err, "out of memory");
        goto fail_rollback;
    }
    sqlite3_stmt *stmt =
        catalog_stmt_named(catalog, CATALOG_ENDPOINT_INSERT, checked->domain, checked->name);
    sqlite3_bind_int(stmt, 3, checked->version);
    catalog_bind_text(stmt, 4, schema_mode_name(checked->mode));
    catalog_bind_text(stmt, 5, text);
    catalog_bind_text(stmt, 6, created_at);
    catalog_bind_text(stmt, 7, now);
    if (catalog_exec(catalog, stmt, err, "insert endpoint") < 0 || catalog_commit(catalog, err) < 0)
        goto fail_rollback;
    *version = checked->version;
    free(text);
    json_decref(json);
    schema_destroy(&previous);
    schema_destroy(&checked);
    return 0;

fail_rollback:
    catalog_rollback(catalog);
fail:
    free(text);
    json_decref(json);
    schema_destroy(&previous);
    schema_destroy(&checked);
    return -(int)refused;
}

int catalog_get_endpoint(struct catalog *catalog, const char *domain, const char *name,
                         int version, struct schema **out, char err[ERROR_MAX])
{
    *out = NULL;
    char created_at[TIMEUTIL_TIMESTAMP_MAX];
    if (version <= 0)
        return catalog_latest(catalog, domain, name, out, created_at, err);
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_ENDPOINT_GET, domain, name);
    sqlite3_bind_int(stmt, 3, version);
    int rc = catalog_step_row(catalog, stmt, err, "read endpoint");
    if (rc <= 0)
        return rc;
    *out = catalog_schema_from_row(catalog, stmt, err);
    sqlite3_reset(stmt);
    return *out ? 1 : -1;
}

int catalog_endpoint_version(struct catalog *catalog, const char *domain, const char *name,
                             int *version, char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_ENDPOINT_VERSION, domain, name);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        catalog_db_error(catalog, err, "read endpoint version");
        sqlite3_reset(stmt);
        return -1;
    }
    int found = sqlite3_column_type(stmt, 0) != SQLITE_NULL;
    if (found)
        *version = sqlite3_column_int(stmt, 0);
    sqlite3_reset(stmt);
    return found;
}

/* A row of CATALOG_ENDPOINT_LIST as an object (catalog_collect). */
static json_t *catalog_endpoint_row_json(struct catalog *catalog, sqlite3_stmt *stmt,
                                         char err[ERROR_MAX])
{
    static const char *const keys[] = {"domain", "name", "version", "mode", "created_at",
                                       "updated_at"};
    (void)catalog;
    return catalog_row_object(stmt, keys, 6, err);
}

int catalog_list_endpoints(struct catalog *catalog, const char *domain, json_t **out,
                           char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_ENDPOINT_LIST);
    catalog_bind_text(stmt, 1, domain);
    return catalog_collect(catalog, stmt, catalog_endpoint_row_json, "list endpoints", out, err);
}

/* A stored schema row as its JSON definition (catalog_collect). */
static json_t *catalog_schema_row_json(struct catalog *catalog, sqlite3_stmt *stmt,
                                       char err[ERROR_MAX])
{
    struct schema *schema = catalog_schema_from_row(catalog, stmt, err);
    if (schema == NULL)
        return NULL;
    json_t *json = schema_to_json(schema);
    schema_destroy(&schema);
    if (json == NULL)
        error_set(err, "out of memory");
    return json;
}

int catalog_endpoint_versions(struct catalog *catalog, const char *domain, const char *name,
                              json_t **out, char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_ENDPOINT_VERSIONS, domain, name);
    return catalog_collect(catalog, stmt, catalog_schema_row_json, "list endpoint versions", out,
                           err);
}

int catalog_delete_endpoint(struct catalog *catalog, const char *domain, const char *name,
                            char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_ENDPOINT_DELETE, domain, name);
    if (catalog_exec(catalog, stmt, err, "delete endpoint") < 0)
        return -1;
    return sqlite3_changes(catalog->db) > 0 ? 1 : 0;
}

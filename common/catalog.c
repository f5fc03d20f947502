/* catalog.c - catalog.db access (catalog.h): endpoint schema versions,
 * transform jobs and their executions.
 *
 * Every statement is declared once, by name, in catalog_sql[] and prepared
 * when the catalog is opened; values are always bound. Writes that read
 * before they write (next schema version, job cycle check) run inside
 * BEGIN IMMEDIATE so that two writers (CLI, ingest evolving a schema) cannot
 * interleave; the busy timeout makes the second one wait instead of failing. */
#include "catalog.h"

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

#define CATALOG_FILE "catalog.db"
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

enum catalog_stmt {
    CATALOG_BEGIN,
    CATALOG_COMMIT,
    CATALOG_ROLLBACK,
    CATALOG_ENDPOINT_LATEST,
    CATALOG_ENDPOINT_GET,
    CATALOG_ENDPOINT_INSERT,
    CATALOG_ENDPOINT_VERSION,
    CATALOG_ENDPOINT_LIST,
    CATALOG_ENDPOINT_VERSIONS,
    CATALOG_ENDPOINT_DELETE,
    CATALOG_JOB_UPSERT,
    CATALOG_JOB_GET,
    CATALOG_JOB_LIST,
    CATALOG_JOB_DELETE,
    CATALOG_MODEL_UPSERT,
    CATALOG_MODEL_GET,
    CATALOG_MODEL_LIST,
    CATALOG_MODEL_DELETE,
    CATALOG_MODEL_JOBS_DELETE,
    CATALOG_EXECUTION_START,
    CATALOG_EXECUTION_FINISH,
    CATALOG_EXECUTION_LAST_SUCCESS,
    CATALOG_EXECUTION_GET,
    CATALOG_EXECUTION_LIST,
    CATALOG_EXECUTION_FAIL_RUNNING,
    CATALOG_STMT_COUNT
};

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

struct catalog {
    sqlite3 *db;
    sqlite3_stmt *stmt[CATALOG_STMT_COUNT];
    bool read_only;
    char path[PATH_MAX];
};

/* ---------------------------------------------------------------- helpers */

static int catalog_db_error(struct catalog *catalog, char err[ERROR_MAX], const char *what)
{
    return error_set(err, "catalog %s: %s: %s", catalog->path, what, sqlite3_errmsg(catalog->db));
}

/* The named statement, reset and unbound, ready for new values. */
static sqlite3_stmt *catalog_stmt(struct catalog *catalog, enum catalog_stmt id)
{
    sqlite3_stmt *stmt = catalog->stmt[id];
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return stmt;
}

static int catalog_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    if (text == NULL)
        return sqlite3_bind_null(stmt, index);
    return sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
}

/* The named statement with a domain and a name (endpoint, job) bound to ?1
 * and ?2, the first two parameters of most statements. */
static sqlite3_stmt *catalog_stmt_named(struct catalog *catalog, enum catalog_stmt id,
                                        const char *domain, const char *name)
{
    sqlite3_stmt *stmt = catalog_stmt(catalog, id);
    catalog_bind_text(stmt, 1, domain);
    catalog_bind_text(stmt, 2, name);
    return stmt;
}

/* Run a statement that returns no rows. */
static int catalog_exec(struct catalog *catalog, sqlite3_stmt *stmt, char err[ERROR_MAX],
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
static int catalog_step_row(struct catalog *catalog, sqlite3_stmt *stmt, char err[ERROR_MAX],
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

/* One result row as JSON; NULL with err set. */
typedef json_t *(*catalog_row_json_fn)(struct catalog *catalog, sqlite3_stmt *stmt,
                                       char err[ERROR_MAX]);

/* Run a bound statement and collect its rows, each converted by row_json,
 * into a new array (*out). */
static int catalog_collect(struct catalog *catalog, sqlite3_stmt *stmt, catalog_row_json_fn row_json,
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

static int catalog_begin(struct catalog *catalog, char err[ERROR_MAX])
{
    return catalog_exec(catalog, catalog_stmt(catalog, CATALOG_BEGIN), err, "begin");
}

static int catalog_commit(struct catalog *catalog, char err[ERROR_MAX])
{
    return catalog_exec(catalog, catalog_stmt(catalog, CATALOG_COMMIT), err, "commit");
}

static void catalog_rollback(struct catalog *catalog)
{
    if (!sqlite3_get_autocommit(catalog->db)) {
        sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_ROLLBACK);
        sqlite3_step(stmt);
        sqlite3_reset(stmt);
    }
}

static void catalog_now(char out[TIMEUTIL_TIMESTAMP_MAX])
{
    timeutil_format_utc_ms(timeutil_now_ms(), out);
}

static const char *catalog_column_text(sqlite3_stmt *stmt, int col)
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
static json_t *catalog_row_object(sqlite3_stmt *stmt, const char *const *keys, int n,
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
    if (fsutil_path(catalog->path, sizeof catalog->path, err, "%s/%s", data_dir, CATALOG_FILE) < 0)
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
    int refused = -1; /* what a failure answers: -1, or CATALOG_REFUSED */
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
        refused = CATALOG_REFUSED;
        goto fail;
    }
    /* expectations: each rule must be a pure SQL expression over the columns */
    if (expectation_check(checked, err) < 0) {
        error_prefix(err, "endpoint %s/%s", checked->domain, checked->name);
        refused = CATALOG_REFUSED;
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
            refused = CATALOG_REFUSED;
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
    return refused;
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

/* ------------------------------------------------------------------ jobs */

static int catalog_job_from_row(struct catalog *catalog, sqlite3_stmt *stmt, struct job_def *out,
                                char err[ERROR_MAX])
{
    memset(out, 0, sizeof *out);
    snprintf(out->domain, sizeof out->domain, "%s", catalog_column_text(stmt, 0));
    snprintf(out->name, sizeof out->name, "%s", catalog_column_text(stmt, 1));
    if (job_write_mode_from_name(catalog_column_text(stmt, 3), &out->write_mode) < 0 ||
        job_schedule_from_name(catalog_column_text(stmt, 5), &out->schedule) < 0)
        return error_set(err, "catalog %s: job %s/%s has an unknown write mode or schedule",
                         catalog->path, out->domain, out->name);
    snprintf(out->unique_key, sizeof out->unique_key, "%s", catalog_column_text(stmt, 4));
    snprintf(out->cron, sizeof out->cron, "%s", catalog_column_text(stmt, 6));
    out->incremental = sqlite3_column_int(stmt, 7) != 0;
    snprintf(out->accumulate, sizeof out->accumulate, "%s", catalog_column_text(stmt, 8));
    snprintf(out->index, sizeof out->index, "%s", catalog_column_text(stmt, 9));
    snprintf(out->model, sizeof out->model, "%s", catalog_column_text(stmt, 10));
    out->sql = strdup(catalog_column_text(stmt, 2));
    if (out->sql == NULL)
        return error_set(err, "out of memory");
    return 0;
}

static void catalog_free_jobs(struct job_def *jobs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        job_clear(&jobs[i]);
    free(jobs);
}

int catalog_list_jobs(struct catalog *catalog, struct job_def **jobs, size_t *count,
                      char err[ERROR_MAX])
{
    *jobs = NULL;
    *count = 0;
    struct job_def *list = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_JOB_LIST);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            size_t next = cap ? cap * 2 : 16;
            struct job_def *grown = realloc(list, next * sizeof *list);
            if (grown == NULL) {
                error_set(err, "out of memory");
                goto fail;
            }
            list = grown;
            cap = next;
        }
        if (catalog_job_from_row(catalog, stmt, &list[n], err) < 0) {
            job_clear(&list[n]);
            goto fail;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        catalog_db_error(catalog, err, "list jobs");
        goto fail;
    }
    sqlite3_reset(stmt);
    *jobs = list;
    *count = n;
    return 0;
fail:
    sqlite3_reset(stmt);
    catalog_free_jobs(list, n);
    return -1;
}

/* Bind and run the upsert of one job (inside the caller's transaction). */
static int catalog_store_job(struct catalog *catalog, const struct job_def *job,
                             char err[ERROR_MAX])
{
    char now[TIMEUTIL_TIMESTAMP_MAX];
    catalog_now(now);
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_JOB_UPSERT, job->domain, job->name);
    catalog_bind_text(stmt, 3, job->sql);
    catalog_bind_text(stmt, 4, job_write_mode_name(job->write_mode));
    catalog_bind_text(stmt, 5, job->unique_key);
    catalog_bind_text(stmt, 6, job_schedule_name(job->schedule));
    catalog_bind_text(stmt, 7, job->cron);
    catalog_bind_text(stmt, 8, now);
    sqlite3_bind_int(stmt, 9, job->incremental ? 1 : 0);
    catalog_bind_text(stmt, 10, job->accumulate);
    catalog_bind_text(stmt, 11, job->index);
    catalog_bind_text(stmt, 12, job->model);
    return catalog_exec(catalog, stmt, err, "store job");
}

int catalog_put_job(struct catalog *catalog, const struct job_def *job, char err[ERROR_MAX])
{
    struct job_def *jobs = NULL;
    size_t count = 0;

    if (job_validate(job, err) < 0)
        return -1; /* the message names the job */
    if (catalog_begin(catalog, err) < 0)
        return -1;
    /* The cycle check and the write see the same set of jobs. */
    if (catalog_list_jobs(catalog, &jobs, &count, err) < 0)
        goto fail;
    if (job_check_cycle(jobs, count, job, err) < 0) {
        error_prefix(err, "job %s/%s", job->domain, job->name);
        goto fail;
    }
    if (catalog_store_job(catalog, job, err) < 0 || catalog_commit(catalog, err) < 0)
        goto fail;
    catalog_free_jobs(jobs, count);
    return 0;
fail:
    catalog_rollback(catalog);
    catalog_free_jobs(jobs, count);
    return -1;
}

int catalog_get_job(struct catalog *catalog, const char *domain, const char *name,
                    struct job_def *out, char err[ERROR_MAX])
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_JOB_GET, domain, name);
    int rc = catalog_step_row(catalog, stmt, err, "read job");
    if (rc <= 0)
        return rc;
    rc = catalog_job_from_row(catalog, stmt, out, err);
    sqlite3_reset(stmt);
    if (rc < 0) {
        job_clear(out);
        return -1;
    }
    return 1;
}

int catalog_delete_job(struct catalog *catalog, const char *domain, const char *name,
                       char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_JOB_DELETE, domain, name);
    if (catalog_exec(catalog, stmt, err, "delete job") < 0)
        return -1;
    if (sqlite3_changes(catalog->db) == 0)
        return error_set(err, "no job %s/%s", domain, name);
    return 0;
}

/* ------------------------------------------------------------ executions */

int catalog_execution_start(struct catalog *catalog, const char *domain, const char *job,
                            const char *trigger, int64_t *execution_id, char err[ERROR_MAX])
{
    char now[TIMEUTIL_TIMESTAMP_MAX];
    catalog_now(now);
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_EXECUTION_START, domain, job);
    catalog_bind_text(stmt, 3, trigger ? trigger : "");
    catalog_bind_text(stmt, 4, now);
    if (catalog_exec(catalog, stmt, err, "start execution") < 0)
        return -1;
    *execution_id = sqlite3_last_insert_rowid(catalog->db);
    return 0;
}

int catalog_execution_finish(struct catalog *catalog, int64_t execution_id, const char *status,
                             int64_t rows, const char *error, const char *inputs_json,
                             char err[ERROR_MAX])
{
    if (status == NULL || (strcmp(status, "SUCCEEDED") != 0 && strcmp(status, "FAILED") != 0))
        return error_set(err, "execution %lld: status must be SUCCEEDED or FAILED, not %s",
                         (long long)execution_id, status ? status : "(null)");
    if (inputs_json != NULL) {
        json_error_t jerr;
        json_t *parsed = json_loads(inputs_json, 0, &jerr);
        if (parsed == NULL)
            return error_set(err, "execution %lld: inputs are not valid JSON: %s",
                             (long long)execution_id, jerr.text);
        json_decref(parsed);
    }
    char now[TIMEUTIL_TIMESTAMP_MAX];
    catalog_now(now);
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_EXECUTION_FINISH);
    sqlite3_bind_int64(stmt, 1, execution_id);
    catalog_bind_text(stmt, 2, status);
    catalog_bind_text(stmt, 3, now);
    sqlite3_bind_int64(stmt, 4, rows);
    catalog_bind_text(stmt, 5, error);
    catalog_bind_text(stmt, 6, inputs_json);
    if (catalog_exec(catalog, stmt, err, "finish execution") < 0)
        return -1;
    if (sqlite3_changes(catalog->db) == 0)
        return error_set(err, "no execution %lld", (long long)execution_id);
    return 0;
}

int catalog_last_success_inputs(struct catalog *catalog, const char *domain, const char *job,
                                json_t **out, char err[ERROR_MAX])
{
    *out = NULL;
    sqlite3_stmt *stmt =
        catalog_stmt_named(catalog, CATALOG_EXECUTION_LAST_SUCCESS, domain, job);
    int rc = catalog_step_row(catalog, stmt, err, "read last execution");
    if (rc <= 0)
        return rc;
    json_t *inputs;
    if (sqlite3_column_type(stmt, 0) == SQLITE_NULL) {
        inputs = json_object(); /* a success that read nothing recorded */
    } else {
        json_error_t jerr;
        inputs = json_loads(catalog_column_text(stmt, 0), 0, &jerr);
        if (inputs == NULL) {
            error_set(err, "catalog %s: inputs of job %s/%s are not valid JSON: %s", catalog->path,
                      domain, job, jerr.text);
            sqlite3_reset(stmt);
            return -1;
        }
    }
    sqlite3_reset(stmt);
    if (inputs == NULL)
        return error_set(err, "out of memory");
    *out = inputs;
    return 1;
}

/* An execution row as an object (also for catalog_collect). */
static json_t *catalog_execution_json(struct catalog *catalog, sqlite3_stmt *stmt,
                                      char err[ERROR_MAX])
{
    static const char *const keys[] = {"execution_id", "domain",      "job_name",
                                       "trigger",      "status",      "started_at",
                                       "finished_at",  "rows",        "error"};
    (void)catalog;
    return catalog_row_object(stmt, keys, 9, err);
}

int catalog_get_execution(struct catalog *catalog, int64_t execution_id, json_t **out,
                          char err[ERROR_MAX])
{
    *out = NULL;
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_EXECUTION_GET);
    sqlite3_bind_int64(stmt, 1, execution_id);
    int rc = catalog_step_row(catalog, stmt, err, "read execution");
    if (rc <= 0)
        return rc;
    *out = catalog_execution_json(catalog, stmt, err);
    sqlite3_reset(stmt);
    return *out ? 1 : -1;
}

int catalog_list_executions(struct catalog *catalog, const char *domain, const char *job,
                            int limit, json_t **out, char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_EXECUTION_LIST, domain, job);
    sqlite3_bind_int(stmt, 3, limit > 0 ? limit : -1); /* LIMIT -1: no limit */
    return catalog_collect(catalog, stmt, catalog_execution_json, "list executions", out, err);
}

int catalog_fail_running_executions(struct catalog *catalog, const char *reason,
                                    char err[ERROR_MAX])
{
    char now[TIMEUTIL_TIMESTAMP_MAX];
    catalog_now(now);
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_EXECUTION_FAIL_RUNNING);
    catalog_bind_text(stmt, 1, now);
    catalog_bind_text(stmt, 2, reason ? reason : "interrupted");
    return catalog_exec(catalog, stmt, err, "fail running executions");
}

/* ---------------------------------------------------------------- models */

int catalog_put_model(struct catalog *catalog, const char *name, const char *concept_file,
                      const struct job_def *set, size_t set_count, char err[ERROR_MAX])
{
    struct job_def *jobs = NULL, *final = NULL;
    size_t count = 0, nfinal = 0;
    int rc = -1;
    for (size_t i = 0; i < set_count; i++)
        if (job_validate(&set[i], err) < 0)
            return CATALOG_REFUSED;
    if (catalog_begin(catalog, err) < 0)
        return -1;
    if (catalog_list_jobs(catalog, &jobs, &count, err) < 0)
        goto fail;
    final = calloc(count + set_count + 1, sizeof *final);
    if (final == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    /* The whole set replaces the model's jobs: others' jobs stay, and none of
     * them may be taken over. */
    for (size_t i = 0; i < count; i++) {
        bool replaced = false;
        for (size_t k = 0; k < set_count && !replaced; k++)
            replaced = strcmp(jobs[i].domain, set[k].domain) == 0 &&
                       strcmp(jobs[i].name, set[k].name) == 0;
        if (replaced && strcmp(jobs[i].model, name) != 0) {
            error_set(err, "job %s/%s exists and is not managed by model %s", jobs[i].domain,
                      jobs[i].name, name);
            rc = CATALOG_REFUSED;
            goto fail;
        }
        if (strcmp(jobs[i].model, name) != 0)
            final[nfinal++] = jobs[i];
    }
    for (size_t k = 0; k < set_count; k++)
        final[nfinal++] = set[k];
    for (size_t k = 0; k < set_count; k++) {
        if (job_check_cycle(final, nfinal, &set[k], err) < 0) {
            error_prefix(err, "job %s/%s", set[k].domain, set[k].name);
            rc = CATALOG_REFUSED;
            goto fail;
        }
    }
    char now[TIMEUTIL_TIMESTAMP_MAX];
    catalog_now(now);
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_MODEL_JOBS_DELETE);
    catalog_bind_text(stmt, 1, name);
    if (catalog_exec(catalog, stmt, err, "delete model jobs") < 0)
        goto fail;
    for (size_t k = 0; k < set_count; k++)
        if (catalog_store_job(catalog, &set[k], err) < 0)
            goto fail;
    stmt = catalog_stmt(catalog, CATALOG_MODEL_UPSERT);
    catalog_bind_text(stmt, 1, name);
    catalog_bind_text(stmt, 2, concept_file);
    catalog_bind_text(stmt, 3, now);
    if (catalog_exec(catalog, stmt, err, "store model") < 0 || catalog_commit(catalog, err) < 0)
        goto fail;
    free(final);
    catalog_free_jobs(jobs, count);
    return 0;
fail:
    catalog_rollback(catalog);
    free(final);
    catalog_free_jobs(jobs, count);
    return rc;
}

int catalog_get_model(struct catalog *catalog, const char *name, char **concept_file,
                      char err[ERROR_MAX])
{
    *concept_file = NULL;
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_MODEL_GET);
    catalog_bind_text(stmt, 1, name);
    int rc = catalog_step_row(catalog, stmt, err, "read model");
    if (rc <= 0)
        return rc;
    *concept_file = strdup(catalog_column_text(stmt, 0));
    sqlite3_reset(stmt);
    return *concept_file == NULL ? error_set(err, "out of memory") : 1;
}

static json_t *catalog_model_row(struct catalog *catalog, sqlite3_stmt *stmt, char err[ERROR_MAX])
{
    static const char *const keys[] = {"name", "created_at", "updated_at", "jobs"};
    (void)catalog;
    return catalog_row_object(stmt, keys, 4, err);
}

int catalog_list_models(struct catalog *catalog, json_t **out, char err[ERROR_MAX])
{
    return catalog_collect(catalog, catalog_stmt(catalog, CATALOG_MODEL_LIST), catalog_model_row,
                           "list models", out, err);
}

int catalog_delete_model(struct catalog *catalog, const char *name, char err[ERROR_MAX])
{
    if (catalog_begin(catalog, err) < 0)
        return -1;
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_MODEL_JOBS_DELETE);
    catalog_bind_text(stmt, 1, name);
    if (catalog_exec(catalog, stmt, err, "delete model jobs") < 0)
        goto fail;
    stmt = catalog_stmt(catalog, CATALOG_MODEL_DELETE);
    catalog_bind_text(stmt, 1, name);
    if (catalog_exec(catalog, stmt, err, "delete model") < 0)
        goto fail;
    int deleted = sqlite3_changes(catalog->db) > 0;
    if (catalog_commit(catalog, err) < 0)
        goto fail;
    return deleted;
fail:
    catalog_rollback(catalog);
    return -1;
}

/* catalog_internal.h - what the catalog's files share (catalog.c: the
 * database, its statements, endpoints; catalog_jobs.c: jobs, the models
 * that manage job sets, and executions): the named statements and the
 * helpers that run them. Only the catalog's own files include it. */
#ifndef LAKEHOUSE_CATALOG_INTERNAL_H
#define LAKEHOUSE_CATALOG_INTERNAL_H

#include <limits.h>
#include <sqlite3.h>

#include "catalog.h"
#include "timeutil.h"

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

struct catalog {
    sqlite3 *db;
    sqlite3_stmt *stmt[CATALOG_STMT_COUNT];
    bool read_only;
    char path[PATH_MAX];
};

/* One result row as JSON; NULL with err set. */
typedef json_t *(*catalog_row_json_fn)(struct catalog *catalog, sqlite3_stmt *stmt,
                                       char err[ERROR_MAX]);

int catalog_db_error(struct catalog *catalog, char err[ERROR_MAX], const char *what);
sqlite3_stmt *catalog_stmt(struct catalog *catalog, enum catalog_stmt id);
int catalog_bind_text(sqlite3_stmt *stmt, int index, const char *text);
sqlite3_stmt *catalog_stmt_named(struct catalog *catalog, enum catalog_stmt id,
                                 const char *domain, const char *name);
int catalog_exec(struct catalog *catalog, sqlite3_stmt *stmt, char err[ERROR_MAX],
                 const char *what);
int catalog_step_row(struct catalog *catalog, sqlite3_stmt *stmt, char err[ERROR_MAX],
                     const char *what);
int catalog_collect(struct catalog *catalog, sqlite3_stmt *stmt, catalog_row_json_fn row_json,
                    const char *what, json_t **out, char err[ERROR_MAX]);
int catalog_begin(struct catalog *catalog, char err[ERROR_MAX]);
int catalog_commit(struct catalog *catalog, char err[ERROR_MAX]);
void catalog_rollback(struct catalog *catalog);
void catalog_now(char out[TIMEUTIL_TIMESTAMP_MAX]);
const char *catalog_column_text(sqlite3_stmt *stmt, int col);
json_t *catalog_row_object(sqlite3_stmt *stmt, const char *const *keys, int n,
                           char err[ERROR_MAX]);

#endif

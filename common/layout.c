/* layout.c - paths of the data directory and the DDL of the internal tables
 * of silver and gold databases (see layout.h). */
#include "layout.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "names.h"

#define LAYOUT_SNAPSHOTS_DDL                                                                 \
    "CREATE TABLE IF NOT EXISTS _snapshots (\n"                                              \
    "  snapshot_id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                                     \
    "  table_name TEXT NOT NULL,\n"                                                          \
    "  committed_at TEXT NOT NULL,\n"                                                        \
    "  operation TEXT NOT NULL,\n"                                                           \
    "  source TEXT NOT NULL,\n"                                                              \
    "  rows_inserted INTEGER NOT NULL,\n"                                                    \
    "  rows_updated INTEGER NOT NULL,\n"                                                     \
    "  rows_unchanged INTEGER NOT NULL,\n"                                                   \
    "  rows_deleted INTEGER NOT NULL,\n"                                                     \
    "  schema_version INTEGER NOT NULL,\n"                                                   \
    "  row_count INTEGER\n"                                                                  \
    ");\n"

const char *const layout_silver_ddl = LAYOUT_SNAPSHOTS_DDL
    "CREATE TABLE IF NOT EXISTS _ledger (\n"
    "  file TEXT PRIMARY KEY,\n"
    "  table_name TEXT NOT NULL,\n"
    "  snapshot_id INTEGER NOT NULL,\n"
    "  records INTEGER NOT NULL,\n"
    "  merged_at TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS _quarantine (\n"
    "  file TEXT PRIMARY KEY,\n"
    "  table_name TEXT NOT NULL,\n"
    "  reason TEXT NOT NULL,\n"
    "  at TEXT NOT NULL\n"
    ");\n";

const char *const layout_gold_ddl = LAYOUT_SNAPSHOTS_DDL;

int layout_migrate_v2(sqlite3 *db, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT count(*) FROM pragma_table_info('_snapshots') "
                                "WHERE name = 'row_count'",
                                -1, &st, NULL);
    int has = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (has < 0)
        return error_set(err, "reading the columns of _snapshots: %s", sqlite3_errmsg(db));
    if (has > 0)
        return 0;
    char *msg = NULL;
    if (sqlite3_exec(db, "ALTER TABLE _snapshots ADD COLUMN row_count INTEGER", NULL, NULL,
                     &msg) != SQLITE_OK) {
        error_set(err, "adding _snapshots.row_count: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static const char *const layout_subdirs[] = {"spool", "bronze", "rejected", "silver", "gold", "run"};

int layout_silver_db(char *out, size_t out_size, const char *data_dir, const char *domain)
{
    return fsutil_path(out, out_size, NULL, "%s/silver/%s.db", data_dir, domain);
}

int layout_gold_db(char *out, size_t out_size, const char *data_dir, const char *domain)
{
    return fsutil_path(out, out_size, NULL, "%s/gold/%s.db", data_dir, domain);
}

int layout_dir(char *out, size_t out_size, const char *data_dir, const char *sub)
{
    return fsutil_path(out, out_size, NULL, "%s/%s", data_dir, sub);
}

/* Append "/<part>" for each non-NULL part up to the first NULL. */
static int layout_join(char *out, size_t out_size, char err[ERROR_MAX], const char *first,
                       const char *const parts[], size_t nparts)
{
    if (fsutil_path(out, out_size, err, "%s", first) < 0)
        return -1;
    size_t len = strlen(out);
    for (size_t i = 0; i < nparts && parts[i] != NULL; i++) {
        if (fsutil_path(out + len, out_size - len, NULL, "/%s", parts[i]) < 0) {
            out[len] = '\0';
            return error_set(err, "path too long (limit %zu bytes): %.200s/%.100s...",
                             out_size - 1, out, parts[i]);
        }
        len += strlen(out + len);
    }
    return 0;
}

int layout_path(char *out, size_t out_size, const char *data_dir, const char *rel,
                char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/%s", data_dir, rel);
}

int layout_catalog_db(char *out, size_t out_size, const char *data_dir, char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/catalog.db", data_dir);
}

int layout_pid_file(char *out, size_t out_size, const char *data_dir, const char *process,
                    char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/run/%s.pid", data_dir, process);
}

int layout_stats_file(char *out, size_t out_size, const char *data_dir, const char *process,
                      char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/run/%s.stats.json", data_dir, process);
}

int layout_maintenance_state(char *out, size_t out_size, const char *data_dir,
                             char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/run/processor.maintenance", data_dir);
}

int layout_compaction_dir(char *out, size_t out_size, const char *data_dir, char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/spool/.compact", data_dir);
}

int layout_run_endpoint(char *out, size_t out_size, const char *data_dir, const char *socket,
                        char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "ipc://%s/run/%s", data_dir, socket);
}

int layout_bronze_rel(char *out, size_t out_size, const char *domain, const char *table,
                      const char *date_dir, const char *file, char err[ERROR_MAX])
{
    const char *const parts[] = {domain, table, date_dir, file};
    return layout_join(out, out_size, err, "bronze", parts, 4);
}

static int layout_under(char *out, size_t out_size, char err[ERROR_MAX], const char *data_dir,
                        const char *sub, const char *a, const char *b, const char *c)
{
    const char *const parts[] = {sub, a, b, c};
    return layout_join(out, out_size, err, data_dir, parts, 4);
}

int layout_bronze_dir(char *out, size_t out_size, const char *data_dir, const char *domain,
                      const char *table, const char *date_dir, char err[ERROR_MAX])
{
    return layout_under(out, out_size, err, data_dir, "bronze", domain, table, date_dir);
}

int layout_bronze_date_dir(char *out, size_t out_size, const char *data_dir, const char *domain,
                           const char *table, const char *date, char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/bronze/%s/%s/dt=%s", data_dir, domain, table,
                       date);
}

int layout_spool_dir(char *out, size_t out_size, const char *data_dir, const char *domain,
                     const char *endpoint, char err[ERROR_MAX])
{
    return layout_under(out, out_size, err, data_dir, "spool", domain, endpoint, NULL);
}

int layout_spool_file(char *out, size_t out_size, const char *data_dir, const char *domain,
                      const char *endpoint, uint64_t first_seq, const char *date,
                      const char *suffix, char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/spool/%s/%s/%020" PRIu64 "-%s%s", data_dir, domain,
                       endpoint, first_seq, date, suffix);
}

int layout_rejected_dir(char *out, size_t out_size, const char *data_dir, const char *domain,
                        const char *endpoint, char err[ERROR_MAX])
{
    return layout_under(out, out_size, err, data_dir, "rejected", domain, endpoint, NULL);
}

int layout_rejected_rel(char *out, size_t out_size, const char *domain, const char *endpoint,
                        const char *date, char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "rejected/%s/%s/%s.ndjson", domain, endpoint, date);
}

int layout_rejected_expectations(char *out, size_t out_size, const char *data_dir,
                                 const char *domain, const char *table, const char *date,
                                 char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/rejected/%s/%s/%s-expectations.ndjson", data_dir,
                       domain, table, date);
}

int layout_landing_dir(char *out, size_t out_size, const char *data_dir, char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/landing", data_dir);
}

int layout_landing_state_db(char *out, size_t out_size, const char *data_dir,
                            char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s/landing/_state.db", data_dir);
}

int layout_landing_bucket_dir(char *out, size_t out_size, const char *data_dir,
                              const char *bucket, const char *domain, const char *endpoint,
                              char err[ERROR_MAX])
{
    const char *const parts[] = {"landing", bucket, domain, endpoint};
    return layout_join(out, out_size, err, data_dir, parts, 4);
}

int layout_iceberg_namespace(char *out, size_t out_size, const char *domain, const char *layer,
                             char err[ERROR_MAX])
{
    return fsutil_path(out, out_size, err, "%s_%s", domain, layer);
}

int layout_iceberg_key(char *out, size_t out_size, const char *domain, const char *layer,
                       const char *table, char err[ERROR_MAX])
{
    char ns[2 * NAMES_MAX];
    if (layout_iceberg_namespace(ns, sizeof ns, domain, layer, err) < 0)
        return -1;
    const char *const parts[] = {table};
    return layout_join(out, out_size, err, ns, parts, 1);
}

int layout_iceberg_dir(char *out, size_t out_size, const char *data_dir, const char *domain,
                       const char *layer, const char *table, char err[ERROR_MAX])
{
    char ns[2 * NAMES_MAX];
    if (domain != NULL && layout_iceberg_namespace(ns, sizeof ns, domain, layer, err) < 0)
        return -1;
    const char *const parts[] = {"iceberg", domain != NULL ? ns : NULL, table};
    return layout_join(out, out_size, err, data_dir, parts, 3);
}

int layout_iceberg_staging_dir(char *out, size_t out_size, const char *data_dir,
                               char err[ERROR_MAX])
{
    const char *const parts[] = {"run", "iceberg-staging"};
    return layout_join(out, out_size, err, data_dir, parts, 2);
}

int layout_landing_rel(char *out, size_t out_size, const char *domain, const char *endpoint,
                       const char *name, char err[ERROR_MAX])
{
    const char *const parts[] = {domain, endpoint, name};
    return layout_join(out, out_size, err, "landing", parts, 3);
}

int layout_create(const char *data_dir, char err[ERROR_MAX])
{
    if (fsutil_mkdirs(data_dir, LAYOUT_DIR_MODE, err) < 0)
        return error_prefix(err, "data directory");
    for (size_t i = 0; i < sizeof layout_subdirs / sizeof layout_subdirs[0]; i++) {
        char dir[PATH_MAX];
        if (fsutil_path(dir, sizeof dir, err, "%s/%s", data_dir, layout_subdirs[i]) < 0 ||
            fsutil_mkdirs(dir, LAYOUT_DIR_MODE, err) < 0)
            return error_prefix(err, "data directory");
    }
    return 0;
}

int layout_db_open(const char *path, sqlite3 **out, char err[ERROR_MAX])
{
    bool existed = access(path, F_OK) == 0;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                        NULL) != SQLITE_OK) {
        error_set(err, "open %s: %s", path, db != NULL ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        *out = NULL;
        return -1;
    }
    if (!existed && chmod(path, LAYOUT_FILE_MODE) < 0) {
        error_set(err, "%s: chmod: %s", path, strerror(errno));
        sqlite3_close(db);
        *out = NULL;
        return -1;
    }
    *out = db;
    return 0;
}

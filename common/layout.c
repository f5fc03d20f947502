/* layout.c - paths of the data directory and the DDL of the internal tables
 * of silver and gold databases (see layout.h). */
#include "layout.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

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

static int layout_format(char *out, size_t out_size, const char *fmt, const char *a,
                         const char *b)
{
    int n = snprintf(out, out_size, fmt, a, b);
    return n < 0 || (size_t)n >= out_size ? -1 : 0;
}

int layout_silver_db(char *out, size_t out_size, const char *data_dir, const char *domain)
{
    return layout_format(out, out_size, "%s/silver/%s.db", data_dir, domain);
}

int layout_gold_db(char *out, size_t out_size, const char *data_dir, const char *domain)
{
    return layout_format(out, out_size, "%s/gold/%s.db", data_dir, domain);
}

int layout_dir(char *out, size_t out_size, const char *data_dir, const char *sub)
{
    return layout_format(out, out_size, "%s/%s", data_dir, sub);
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

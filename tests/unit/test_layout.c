/* test_layout.c - unit tests of the data directory layout and the internal
 * table DDL (layout.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "iceberg_export.h"
#include "layout.h"

static void test_paths(void **state)
{
    (void)state;
    char out[PATH_MAX];
    assert_int_equal(layout_silver_db(out, sizeof out, "/d", "demo"), 0);
    assert_string_equal(out, "/d/silver/demo.db");
    assert_int_equal(layout_gold_db(out, sizeof out, "/d", "demo"), 0);
    assert_string_equal(out, "/d/gold/demo.db");
    assert_int_equal(layout_dir(out, sizeof out, "/d", "bronze"), 0);
    assert_string_equal(out, "/d/bronze");

    char small[18];
    assert_int_equal(layout_silver_db(small, sizeof small, "/d", "demo"), 0); /* 17 chars */
    assert_int_equal(layout_silver_db(small, sizeof small, "/d", "demo2"), -1);
    assert_int_equal(layout_gold_db(small, sizeof small, "/data", "demo"), -1);
    assert_int_equal(layout_dir(small, sizeof small, "/a/very/long/dir", "run"), -1);
}

static void test_data_paths(void **state)
{
    (void)state;
    char out[PATH_MAX], err[ERROR_MAX];
    assert_int_equal(layout_catalog_db(out, sizeof out, "/d", err), 0);
    assert_string_equal(out, "/d/catalog.db");
    assert_int_equal(layout_pid_file(out, sizeof out, "/d", "ingest", err), 0);
    assert_string_equal(out, "/d/run/ingest.pid");
    assert_int_equal(layout_stats_file(out, sizeof out, "/d", "ingest", err), 0);
    assert_string_equal(out, "/d/run/ingest.stats.json");
    assert_int_equal(layout_maintenance_state(out, sizeof out, "/d", err), 0);
    assert_string_equal(out, "/d/run/processor.maintenance");
    assert_int_equal(layout_compaction_dir(out, sizeof out, "/d", err), 0);
    assert_string_equal(out, "/d/spool/.compact");
    assert_int_equal(layout_bronze_rel(out, sizeof out, "a", "b", "dt=2024-01-02", "", err), 0);
    assert_string_equal(out, "bronze/a/b/dt=2024-01-02/"); /* "" file: a prefix of its files */
    assert_int_equal(layout_run_endpoint(out, sizeof out, "/d", "ingest.sock", err), 0);
    assert_string_equal(out, "ipc:///d/run/ingest.sock");
    assert_int_equal(layout_path(out, sizeof out, "/d", "bronze/a/b", err), 0);
    assert_string_equal(out, "/d/bronze/a/b");
    assert_int_equal(layout_bronze_rel(out, sizeof out, "a", "b", "dt=2024-01-02", "f.lz4", err), 0);
    assert_string_equal(out, "bronze/a/b/dt=2024-01-02/f.lz4");
    assert_int_equal(layout_bronze_rel(out, sizeof out, "a", NULL, "x", NULL, err), 0);
    assert_string_equal(out, "bronze/a");
    assert_int_equal(layout_bronze_dir(out, sizeof out, "/d", NULL, NULL, NULL, err), 0);
    assert_string_equal(out, "/d/bronze");
    assert_int_equal(layout_bronze_dir(out, sizeof out, "/d", "a", "b", NULL, err), 0);
    assert_string_equal(out, "/d/bronze/a/b");
    assert_int_equal(layout_bronze_date_dir(out, sizeof out, "/d", "a", "b", "2024-01-02", err), 0);
    assert_string_equal(out, "/d/bronze/a/b/dt=2024-01-02");
    assert_int_equal(layout_spool_dir(out, sizeof out, "/d", "a", "b", err), 0);
    assert_string_equal(out, "/d/spool/a/b");
    assert_int_equal(layout_spool_file(out, sizeof out, "/d", "a", "b", 7, "2024-01-02", ".ndjson", err), 0);
    assert_string_equal(out, "/d/spool/a/b/00000000000000000007-2024-01-02.ndjson");
    assert_int_equal(layout_rejected_dir(out, sizeof out, "/d", "a", NULL, err), 0);
    assert_string_equal(out, "/d/rejected/a");
    assert_int_equal(layout_rejected_rel(out, sizeof out, "a", "b", "2024-01-02", err), 0);
    assert_string_equal(out, "rejected/a/b/2024-01-02.ndjson");
    assert_int_equal(layout_rejected_expectations(out, sizeof out, "/d", "a", "b", "2024-01-02", err), 0);
    assert_string_equal(out, "/d/rejected/a/b/2024-01-02-expectations.ndjson");
    assert_int_equal(layout_landing_dir(out, sizeof out, "/d", err), 0);
    assert_string_equal(out, "/d/landing");
    assert_int_equal(layout_landing_state_db(out, sizeof out, "/d", err), 0);
    assert_string_equal(out, "/d/landing/_state.db");
    assert_int_equal(layout_landing_bucket_dir(out, sizeof out, "/d", LAYOUT_LANDING_DONE, "a", "b", err), 0);
    assert_string_equal(out, "/d/landing/_done/a/b");
    assert_int_equal(layout_landing_rel(out, sizeof out, "a", "b", "f.csv", err), 0);
    assert_string_equal(out, "landing/a/b/f.csv");

    /* every builder refuses a path that does not fit, and says so */
    char small[16];
    err[0] = '\0';
    assert_int_equal(layout_bronze_dir(small, sizeof small, "/d", "domain", "table", NULL, err), -1);
    assert_non_null(strstr(err, "too long"));
    err[0] = '\0';
    assert_int_equal(layout_catalog_db(small, sizeof small, "/a/long/dir", err), -1);
    assert_non_null(strstr(err, "too long"));
    assert_int_equal(layout_landing_rel(small, sizeof small, "domain", "endpoint", NULL, NULL), -1);
}

static void test_create(void **state)
{
    (void)state;
    char root[] = "/tmp/lh-test-layout.XXXXXX";
    assert_non_null(mkdtemp(root));
    char data[PATH_MAX];
    char err[ERROR_MAX] = "";
    snprintf(data, sizeof data, "%s/nested/data", root);
    assert_int_equal(layout_create(data, err), 0);
    assert_int_equal(layout_create(data, err), 0); /* idempotent */
    const char *subs[] = {"spool", "bronze", "rejected", "silver", "gold", "run"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char dir[PATH_MAX];
        struct stat st;
        assert_int_equal(layout_dir(dir, sizeof dir, data, subs[i]), 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
    }

    /* a file where the data directory should be */
    char blocked[PATH_MAX];
    snprintf(blocked, sizeof blocked, "%s/file", root);
    FILE *f = fopen(blocked, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(layout_create(blocked, err), -1);
    assert_non_null(strstr(err, "data directory"));
    assert_non_null(strstr(err, blocked));

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

/* "name type notnull pk," for every column of table, in order. */
static void table_shape(sqlite3 *db, const char *table, char *out, size_t out_size)
{
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA table_info(\"%s\")", table);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    out[0] = '\0';
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        size_t used = strlen(out);
        snprintf(out + used, out_size - used, "%s %s %d %d,", sqlite3_column_text(stmt, 1),
                 sqlite3_column_text(stmt, 2), sqlite3_column_int(stmt, 3),
                 sqlite3_column_int(stmt, 5));
    }
    sqlite3_finalize(stmt);
}

static const char *const snapshots_shape =
    "snapshot_id INTEGER 0 1,table_name TEXT 1 0,committed_at TEXT 1 0,operation TEXT 1 0,"
    "source TEXT 1 0,rows_inserted INTEGER 1 0,rows_updated INTEGER 1 0,"
    "rows_unchanged INTEGER 1 0,rows_deleted INTEGER 1 0,schema_version INTEGER 1 0,"
    "row_count INTEGER 0 0,";

static sqlite3 *open_with(const char *ddl)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, ddl, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("ddl: %s", msg);
    /* a second run changes nothing (IF NOT EXISTS) */
    assert_int_equal(sqlite3_exec(db, ddl, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static int count_tables(sqlite3 *db)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM sqlite_master WHERE type='table' "
                                        "AND name NOT LIKE 'sqlite_%'",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int n = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

static void test_silver_ddl(void **state)
{
    (void)state;
    sqlite3 *db = open_with(layout_silver_ddl);
    char shape[1024];
    assert_int_equal(count_tables(db), 3);
    table_shape(db, "_snapshots", shape, sizeof shape);
    assert_string_equal(shape, snapshots_shape);
    table_shape(db, "_ledger", shape, sizeof shape);
    assert_string_equal(shape, "file TEXT 0 1,table_name TEXT 1 0,snapshot_id INTEGER 1 0,"
                               "records INTEGER 1 0,merged_at TEXT 1 0,");
    table_shape(db, "_quarantine", shape, sizeof shape);
    assert_string_equal(shape, "file TEXT 0 1,table_name TEXT 1 0,reason TEXT 1 0,at TEXT 1 0,");

    /* AUTOINCREMENT: snapshot ids are never reused, even after a delete */
    const char *sql =
        "INSERT INTO _snapshots(table_name, committed_at, operation, source, rows_inserted,"
        " rows_updated, rows_unchanged, rows_deleted, schema_version)"
        " VALUES ('t', 'now', 'merge', 'f', 1, 0, 0, 0, 1);";
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DELETE FROM _snapshots;", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_last_insert_rowid(db), 2);
    /* NOT NULL is enforced */
    assert_int_not_equal(sqlite3_exec(db, "INSERT INTO _ledger(file) VALUES ('x')", NULL, NULL,
                                      NULL),
                         SQLITE_OK);
    sqlite3_close(db);
}

static void test_gold_ddl(void **state)
{
    (void)state;
    sqlite3 *db = open_with(layout_gold_ddl);
    char shape[1024];
    assert_int_equal(count_tables(db), 1);
    table_shape(db, "_snapshots", shape, sizeof shape);
    assert_string_equal(shape, snapshots_shape);
    sqlite3_close(db);
    assert_int_equal(LAYOUT_DB_VERSION, 3);
}

/* A version-1 _snapshots (no row_count) gains the column, keeps its rows,
 * and a second migration changes nothing; a version-2 one is left alone. */
static void test_migrate_v2(void **state)
{
    (void)state;
    sqlite3 *db = open_with(
        "CREATE TABLE IF NOT EXISTS _snapshots (snapshot_id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "table_name TEXT NOT NULL, committed_at TEXT NOT NULL, operation TEXT NOT NULL, "
        "source TEXT NOT NULL, rows_inserted INTEGER NOT NULL, rows_updated INTEGER NOT NULL, "
        "rows_unchanged INTEGER NOT NULL, rows_deleted INTEGER NOT NULL, "
        "schema_version INTEGER NOT NULL);"
        "INSERT OR IGNORE INTO _snapshots VALUES (1, 't', 'x', 'merge', '', 2, 0, 0, 0, 1);");
    char err[ERROR_MAX] = "";
    char shape[1024];
    assert_int_equal(layout_migrate_v2(db, err), 0);
    table_shape(db, "_snapshots", shape, sizeof shape);
    assert_string_equal(shape, snapshots_shape);
    assert_int_equal(layout_migrate_v2(db, err), 0);
    table_shape(db, "_snapshots", shape, sizeof shape);
    assert_string_equal(shape, snapshots_shape);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), count(row_count) FROM _snapshots",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    assert_int_equal(sqlite3_column_int(st, 1), 0); /* unknown until the next commit */
    sqlite3_finalize(st);
    sqlite3_close(db);

    db = open_with(layout_gold_ddl);
    assert_int_equal(layout_migrate_v2(db, err), 0);
    table_shape(db, "_snapshots", shape, sizeof shape);
    assert_string_equal(shape, snapshots_shape);
    sqlite3_close(db);
}

/* Version 3 of silver and gold: the Iceberg export state, six tables. */
static void test_iceberg_export_ddl(void **state)
{
    (void)state;
    sqlite3 *db = open_with(iceberg_export_ddl);
    assert_int_equal(count_tables(db), 6);
    char shape[1024];
    table_shape(db, "_iceberg_files", shape, sizeof shape);
    assert_non_null(strstr(shape, "path"));
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_data_paths),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_silver_ddl),
        cmocka_unit_test(test_gold_ddl),
        cmocka_unit_test(test_migrate_v2),
        cmocka_unit_test(test_iceberg_export_ddl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

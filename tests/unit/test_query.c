/* test_query.c - the read-only query engine (query.h): reads across silver
 * and gold, errors that name the problem, refusal of every kind of write,
 * the time limit and the row limit, and the table listing. The databases are
 * made by the test in a temporary data directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "read/query.h"

static char data_dir[256];

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static int64_t count_rows(const char *path, const char *table)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

static int setup(void **state)
{
    (void)state;
    snprintf(data_dir, sizeof data_dir, "/tmp/test_query.XXXXXX");
    if (mkdtemp(data_dir) == NULL)
        return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/silver", data_dir);
    mkdir(path, 0750);
    snprintf(path, sizeof path, "%s/gold", data_dir);
    mkdir(path, 0750);

    snprintf(path, sizeof path, "%s/silver/demo.db", data_dir);
    exec_sql(path,
             "PRAGMA journal_mode=WAL;"
             "CREATE TABLE flights(origin TEXT, delay INTEGER, _seq INTEGER NOT NULL);"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) "
             "INSERT INTO flights SELECT CASE WHEN i % 2 THEN 'SFO' ELSE 'LAX' END, i, i FROM n;"
             "CREATE TABLE _snapshots(snapshot_id INTEGER PRIMARY KEY AUTOINCREMENT, table_name TEXT,"
             " committed_at TEXT);"
             "INSERT INTO _snapshots(table_name, committed_at) VALUES"
             " ('flights', '2026-01-01T00:00:00Z'), ('flights', '2026-01-02T00:00:00Z');"
             "CREATE TABLE _ledger(file TEXT PRIMARY KEY);");
    snprintf(path, sizeof path, "%s/gold/demo.db", data_dir);
    exec_sql(path,
             "PRAGMA journal_mode=WAL;"
             "CREATE TABLE by_origin(origin TEXT, flights INTEGER);"
             "INSERT INTO by_origin VALUES ('SFO', 5), ('LAX', 5);");
    snprintf(path, sizeof path, "%s/silver/other.db", data_dir);
    exec_sql(path, "CREATE TABLE events(id INTEGER);");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static json_t *run_ok(const char *sql, int64_t max_rows)
{
    struct query_limits limits = {.timeout_ms = 10000, .max_rows = max_rows};
    json_t *result = NULL;
    char err[ERROR_MAX] = "";
    if (query_run(data_dir, sql, &limits, &result, err) != 0)
        fail_msg("query failed: %s: %s", sql, err);
    return result;
}

static void run_fails(const char *sql, const char *expected)
{
    struct query_limits limits = {.timeout_ms = 10000, .max_rows = 1000};
    json_t *result = NULL;
    char err[ERROR_MAX] = "";
    int rc = query_run(data_dir, sql, &limits, &result, err);
    if (rc == 0) {
        json_decref(result);
        fail_msg("query should have failed: %s", sql);
    }
    assert_null(result);
    assert_int_equal(error_kind_of(rc), ERROR_INVALID);
    if (strstr(err, expected) == NULL)
        fail_msg("%s: error '%s' does not contain '%s'", sql, err, expected);
}

static void test_select_silver(void **state)
{
    (void)state;
    json_t *r = run_ok("SELECT origin, count(*) AS n, sum(delay) AS total FROM demo.silver.flights "
                       "GROUP BY origin ORDER BY origin",
                       0);
    assert_int_equal(json_integer_value(json_object_get(r, "row_count")), 2);
    assert_true(json_is_false(json_object_get(r, "truncated")));
    json_t *cols = json_object_get(r, "columns");
    assert_int_equal(json_array_size(cols), 3);
    assert_string_equal(json_string_value(json_array_get(cols, 0)), "origin");
    json_t *row0 = json_array_get(json_object_get(r, "data"), 0);
    assert_string_equal(json_string_value(json_object_get(row0, "origin")), "LAX");
    assert_int_equal(json_integer_value(json_object_get(row0, "n")), 5);
    assert_int_equal(json_integer_value(json_object_get(row0, "total")), 2 + 4 + 6 + 8 + 10);
    json_decref(r);
}

static void test_join_silver_gold(void **state)
{
    (void)state;
    json_t *r = run_ok("SELECT g.origin, g.flights, count(*) AS c, 1.5 AS x, NULL AS z "
                       "FROM demo.gold.by_origin g JOIN \"demo\".silver.\"flights\" f "
                       "ON f.origin = g.origin GROUP BY g.origin ORDER BY g.origin",
                       0);
    assert_int_equal(json_integer_value(json_object_get(r, "row_count")), 2);
    json_t *row = json_array_get(json_object_get(r, "data"), 1);
    assert_string_equal(json_string_value(json_object_get(row, "origin")), "SFO");
    assert_int_equal(json_integer_value(json_object_get(row, "c")), 5);
    assert_true(json_is_real(json_object_get(row, "x")));
    assert_true(json_is_null(json_object_get(row, "z")));
    json_decref(r);
}

static void test_duplicate_column_names(void **state)
{
    (void)state;
    json_t *r = run_ok("SELECT 1 AS a, 2 AS a, x'00ff' AS b", 0);
    json_t *cols = json_object_get(r, "columns");
    assert_string_equal(json_string_value(json_array_get(cols, 0)), "a");
    assert_string_equal(json_string_value(json_array_get(cols, 1)), "a:2");
    json_t *row = json_array_get(json_object_get(r, "data"), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "a")), 1);
    assert_int_equal(json_integer_value(json_object_get(row, "a:2")), 2);
    assert_string_equal(json_string_value(json_object_get(row, "b")), "00ff");
    json_decref(r);
}

static void test_invalid_utf8_text(void **state)
{
    (void)state;
    json_t *r = run_ok("SELECT CAST(x'61ff62' AS TEXT) AS t", 0);
    json_t *row = json_array_get(json_object_get(r, "data"), 0);
    assert_string_equal(json_string_value(json_object_get(row, "t")), "a\xef\xbf\xbd" "b");
    json_decref(r);
}

static void test_errors_name_the_problem(void **state)
{
    (void)state;
    run_fails("SELECT * FROM nope.silver.flights", "no such domain database: nope (silver)");
    run_fails("SELECT * FROM other.gold.x", "no such domain database: other (gold)");
    run_fails("SELECT * FROM demo.silver.nope", "no such table: demo.silver.nope");
    run_fails("SELECT * FROM flights", "no such table: flights");
    run_fails("SELECT nope FROM demo.silver.flights", "no such column: nope");
    run_fails("SELEKT 1", "syntax error");
    run_fails("SELECT * FROM demo.bronze.flights", "bronze");
    run_fails("", "empty query");
    run_fails("SELECT 1; SELECT 2", "only one statement");
}

static void test_refuses_writes(void **state)
{
    (void)state;
    char silver[512];
    snprintf(silver, sizeof silver, "%s/silver/demo.db", data_dir);
    run_fails("INSERT INTO demo.silver.flights VALUES ('X', 1, 99)", "not allowed");
    run_fails("UPDATE demo.silver.flights SET delay = 0", "not allowed");
    run_fails("DELETE FROM demo.silver.flights", "not allowed");
    run_fails("DELETE FROM demo.gold.by_origin", "not allowed");
    run_fails("DROP TABLE demo.silver.flights", "not allowed");
    run_fails("CREATE TABLE t(x)", "not allowed");
    run_fails("CREATE TEMP TABLE t AS SELECT * FROM demo.silver.flights", "not allowed");
    run_fails("ALTER TABLE demo.silver.flights ADD COLUMN y", "not allowed");
    run_fails("ATTACH DATABASE '/tmp/x.db' AS x", "not allowed: ATTACH");
    run_fails("DETACH DATABASE silver_demo", "not allowed");
    run_fails("PRAGMA journal_mode=DELETE", "not allowed: PRAGMA");
    run_fails("PRAGMA user_version = 7", "not allowed: PRAGMA");
    run_fails("SELECT * FROM demo.silver.flights; PRAGMA writable_schema = 1", "only one statement");
    run_fails("SELECT load_extension('/tmp/evil.so')", "not allowed: function load_extension");
    run_fails("BEGIN", "not allowed");
    run_fails("VACUUM", "not allowed");
    run_fails("SELECT 1; DELETE FROM demo.silver.flights", "only one statement");
    run_fails("WITH x AS (SELECT 1) DELETE FROM demo.silver.flights", "not allowed");
    assert_int_equal(count_rows(silver, "flights"), 10);
}

static void test_time_limit(void **state)
{
    (void)state;
    struct query_limits limits = {.timeout_ms = 200, .max_rows = 10};
    json_t *result = NULL;
    char err[ERROR_MAX] = "";
    int rc = query_run(data_dir,
                       "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                       "SELECT count(*) FROM c",
                       &limits, &result, err);
    assert_int_equal(error_kind_of(rc), ERROR_TIMEOUT);
    assert_null(result);
    assert_non_null(strstr(err, "time limit of 200 ms"));
}

/* A value over a quarter of max_memory_mib fails before it is allocated;
 * so does a string built up by an aggregate; a small one runs. */
static void test_memory_limit(void **state)
{
    (void)state;
    struct query_limits limits = {.timeout_ms = 10000, .max_rows = 10, .max_memory_mib = 16};
    static const char *const big[] = {
        "SELECT length(randomblob(900000000))",
        "SELECT zeroblob(2000000000)",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 500) "
        "SELECT length(group_concat(hex(randomblob(20000)))) FROM c",
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        json_t *result = NULL;
        char err[ERROR_MAX] = "";
        int rc = query_run(data_dir, big[i], &limits, &result, err);
        assert_int_equal(error_kind_of(rc), ERROR_TOO_LARGE);
        assert_null(result);
        assert_non_null(strstr(err, "query_max_memory_mib"));
    }
    json_t *result = NULL;
    char err[ERROR_MAX] = "";
    assert_int_equal(query_run(data_dir, "SELECT length(randomblob(1000000)) AS n", &limits,
                               &result, err),
                     0);
    json_decref(result);
}

static void test_row_limit(void **state)
{
    (void)state;
    json_t *r = run_ok("SELECT * FROM demo.silver.flights ORDER BY _seq", 4);
    assert_int_equal(json_integer_value(json_object_get(r, "row_count")), 4);
    assert_int_equal(json_array_size(json_object_get(r, "data")), 4);
    assert_true(json_is_true(json_object_get(r, "truncated")));
    json_decref(r);
    r = run_ok("SELECT * FROM demo.silver.flights", 10);
    assert_int_equal(json_integer_value(json_object_get(r, "row_count")), 10);
    assert_true(json_is_false(json_object_get(r, "truncated")));
    json_decref(r);
    /* An infinite query with a row limit stops at the limit. */
    r = run_ok("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c", 3);
    assert_int_equal(json_integer_value(json_object_get(r, "row_count")), 3);
    assert_true(json_is_true(json_object_get(r, "truncated")));
    json_decref(r);
}

static void test_list_tables(void **state)
{
    (void)state;
    json_t *r = NULL;
    char err[ERROR_MAX] = "";
    if (query_list_tables(data_dir, &r, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(json_array_size(r), 3);
    json_t *t0 = json_array_get(r, 0);
    assert_string_equal(json_string_value(json_object_get(t0, "domain")), "demo");
    assert_string_equal(json_string_value(json_object_get(t0, "layer")), "silver");
    assert_string_equal(json_string_value(json_object_get(t0, "table")), "flights");
    assert_int_equal(json_integer_value(json_object_get(t0, "rows")), 10);
    assert_int_equal(json_integer_value(json_object_get(t0, "snapshot_id")), 2);
    assert_string_equal(json_string_value(json_object_get(t0, "last_commit")),
                        "2026-01-02T00:00:00Z");
    json_t *t1 = json_array_get(r, 1);
    assert_string_equal(json_string_value(json_object_get(t1, "layer")), "gold");
    assert_string_equal(json_string_value(json_object_get(t1, "table")), "by_origin");
    assert_int_equal(json_integer_value(json_object_get(t1, "rows")), 2);
    assert_true(json_is_null(json_object_get(t1, "snapshot_id")));
    json_t *t2 = json_array_get(r, 2);
    assert_string_equal(json_string_value(json_object_get(t2, "domain")), "other");
    json_decref(r);

    /* An empty data directory lists nothing. */
    assert_int_equal(query_list_tables("/nonexistent-lakehouse-dir", &r, err), 0);
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_silver),
        cmocka_unit_test(test_join_silver_gold),
        cmocka_unit_test(test_duplicate_column_names),
        cmocka_unit_test(test_invalid_utf8_text),
        cmocka_unit_test(test_errors_name_the_problem),
        cmocka_unit_test(test_refuses_writes),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_row_limit),
        cmocka_unit_test(test_list_tables),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

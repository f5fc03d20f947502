/* test_bronze_vtab.c - domain.bronze.table in queries (bronze_vtab.h through
 * query.h): columns from the catalog schema or one `record` column, the
 * metadata columns, one file read on _file = X, a join with silver, dt pruning, corrupt files (error
 * naming the file; skipped once quarantined), a missing endpoint, refusal of
 * writes, and the bronze entries of the table listing. Bronze files are made
 * with bronze_seal in a temporary data directory. */
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

#include "bronze.h"
#include "read/bronze_vtab.h"
#include "catalog.h"
#include "read/query.h"
#include "schema.h"

static char data_dir[256];

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* Seal `lines` as the bronze file of (domain, endpoint, date, first..last);
 * returns its relative path in rel. */
static void make_bronze(const char *domain, const char *endpoint, const char *date,
                        uint64_t first, uint64_t last, const char *lines, char rel[512])
{
    char spool[512], path[1024], err[ERROR_MAX] = "";
    snprintf(spool, sizeof spool, "%s/spool.tmp", data_dir);
    FILE *f = fopen(spool, "w");
    assert_non_null(f);
    fputs(lines, f);
    fclose(f);
    assert_int_equal(bronze_relative_path(rel, 512, domain, endpoint, date, first, last), 0);
    snprintf(path, sizeof path, "%s/%s", data_dir, rel);
    if (bronze_seal(spool, strlen(lines), path, err) != 0)
        fail_msg("bronze_seal: %s", err);
    unlink(spool);
}

static int setup(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "", path[512], rel[512];
    snprintf(data_dir, sizeof data_dir, "/tmp/test_bronze_vtab.XXXXXX");
    if (mkdtemp(data_dir) == NULL)
        return -1;
    /* the catalog knows demo/flights; demo/raw has no schema */
    struct catalog *catalog = NULL;
    if (catalog_open(data_dir, false, &catalog, err) != 0)
        fail_msg("catalog_open: %s", err);
    json_t *def = json_loads("{\"domain\":\"demo\",\"name\":\"flights\",\"mode\":\"MANUAL\","
                             "\"columns\":[{\"name\":\"origin\",\"type\":\"string\"},"
                             "{\"name\":\"delay\",\"type\":\"integer\"},"
                             "{\"name\":\"tags\",\"type\":\"json\"}]}",
                             0, NULL);
    struct schema *schema = schema_from_json(def, err);
    json_decref(def);
    assert_non_null(schema);
    int version = 0;
    if (catalog_put_endpoint(catalog, schema, &version, err) != 0)
        fail_msg("catalog_put_endpoint: %s", err);
    schema_destroy(&schema);
    catalog_close(&catalog);

    make_bronze("demo", "flights", "2026-01-01", 1, 3,
                "{\"origin\":\"SFO\",\"delay\":10,\"tags\":{\"a\":1},\"_insert_date\":"
                "\"2026-01-01T10:00:00.000Z\",\"_domain\":\"demo\",\"_endpoint\":\"flights\","
                "\"_seq\":1,\"_schema_version\":1,\"_batch_id\":\"b-1\"}\n"
                "{\"origin\":\"LAX\",\"delay\":20,\"_insert_date\":\"2026-01-01T10:00:00.001Z\","
                "\"_domain\":\"demo\",\"_endpoint\":\"flights\",\"_seq\":2,\"_schema_version\":1,"
                "\"_rescued\":{\"extra\":true}}\n"
                "{\"origin\":\"SFO\",\"delay\":30,\"_insert_date\":\"2026-01-01T10:00:00.002Z\","
                "\"_domain\":\"demo\",\"_endpoint\":\"flights\",\"_seq\":3,\"_schema_version\":1}\n",
                rel);
    make_bronze("demo", "flights", "2026-01-02", 4, 5,
                "{\"origin\":\"JFK\",\"delay\":5,\"_insert_date\":\"2026-01-02T08:00:00.000Z\","
                "\"_domain\":\"demo\",\"_endpoint\":\"flights\",\"_seq\":4,\"_schema_version\":1}\n"
                "{\"origin\":\"SFO\",\"_insert_date\":\"2026-01-02T08:00:00.001Z\","
                "\"_domain\":\"demo\",\"_endpoint\":\"flights\",\"_seq\":5,\"_schema_version\":1}\n",
                rel);
    make_bronze("demo", "raw", "2026-01-01", 7, 7,
                "{\"x\":1,\"y\":\"z\",\"_insert_date\":\"2026-01-01T00:00:00.000Z\","
                "\"_domain\":\"demo\",\"_endpoint\":\"raw\",\"_seq\":7,\"_schema_version\":0}\n",
                rel);

    snprintf(path, sizeof path, "%s/silver", data_dir);
    mkdir(path, 0750);
    snprintf(path, sizeof path, "%s/silver/demo.db", data_dir);
    exec_sql(path, "PRAGMA journal_mode=WAL;"
                   "CREATE TABLE airports(code TEXT PRIMARY KEY, city TEXT);"
                   "INSERT INTO airports VALUES ('SFO','San Francisco'), ('LAX','Los Angeles');"
                   "CREATE TABLE _ledger(file TEXT PRIMARY KEY, table_name TEXT, records INTEGER);"
                   "CREATE TABLE _quarantine(file TEXT PRIMARY KEY, table_name TEXT, reason TEXT);");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static json_t *run_ok(const char *sql)
{
    struct query_limits limits = {.timeout_ms = 10000, .max_rows = 1000};
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
    if (query_run(data_dir, sql, &limits, &result, err) == 0) {
        json_decref(result);
        fail_msg("query should have failed: %s", sql);
    }
    if (strstr(err, expected) == NULL)
        fail_msg("%s: error '%s' does not contain '%s'", sql, err, expected);
}

static json_t *row0(json_t *r) { return json_array_get(json_object_get(r, "data"), 0); }

static void test_count_and_sum(void **state)
{
    (void)state;
    json_t *r = run_ok("SELECT count(*) AS n, sum(delay) AS total, count(delay) AS with_delay "
                       "FROM demo.bronze.flights");
    assert_int_equal(json_integer_value(json_object_get(row0(r), "n")), 5);
    assert_int_equal(json_integer_value(json_object_get(row0(r), "total")), 65);
    assert_int_equal(json_integer_value(json_object_get(row0(r), "with_delay")), 4);
    json_decref(r);
}

static void test_metadata_columns(void **state)
{
    (void)state;
    json_t *r = run_ok("SELECT _seq, _insert_date, _schema_version, _batch_id, _rescued, _file, "
                       "tags FROM demo.bronze.flights ORDER BY _seq LIMIT 2");
    json_t *a = row0(r);
    json_t *b = json_array_get(json_object_get(r, "data"), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "_seq")), 1);
    assert_string_equal(json_string_value(json_object_get(a, "_insert_date")),
                        "2026-01-01T10:00:00.000Z");
    assert_int_equal(json_integer_value(json_object_get(a, "_schema_version")), 1);
    assert_string_equal(json_string_value(json_object_get(a, "_batch_id")), "b-1");
    assert_true(json_is_null(json_object_get(a, "_rescued")));
    assert_string_equal(json_string_value(json_object_get(a, "_file")),
                        "bronze/demo/flights/dt=2026-01-01/00000000000000000001-"
                        "00000000000000000003.ndjson.lz4");
    assert_string_equal(json_string_value(json_object_get(a, "tags")), "{\"a\":1}");
    assert_true(json_is_null(json_object_get(b, "_batch_id")));
    assert_string_equal(json_string_value(json_object_get(b, "_rescued")), "{\"extra\":true}");
    json_decref(r);
}

/* _file = X reads that file only (the Iceberg export of bronze reads file
 * by file), alone or with an _insert_date bound in either order; a file
 * that is not there matches nothing. */
static void test_one_file(void **state)
{
    (void)state;
    static const char *const sql[] = {
        "SELECT count(*) AS n, min(_seq) AS lo FROM demo.bronze.flights WHERE _file = "
        "'bronze/demo/flights/dt=2026-01-02/00000000000000000004-00000000000000000005.ndjson.lz4'",
        "SELECT count(*) AS n, min(_seq) AS lo FROM demo.bronze.flights WHERE _file = "
        "'bronze/demo/flights/dt=2026-01-02/00000000000000000004-00000000000000000005.ndjson.lz4' "
        "AND _insert_date <= '2026-01-03'",
        "SELECT count(*) AS n, min(_seq) AS lo FROM demo.bronze.flights WHERE "
        "_insert_date <= '2026-01-03' AND _file = "
        "'bronze/demo/flights/dt=2026-01-02/00000000000000000004-00000000000000000005.ndjson.lz4'"};
    for (size_t i = 0; i < 3; i++) {
        json_t *r = run_ok(sql[i]);
        assert_int_equal(json_integer_value(json_object_get(row0(r), "n")), 2);
        assert_int_equal(json_integer_value(json_object_get(row0(r), "lo")), 4);
        json_decref(r);
    }
    json_t *r = run_ok("SELECT count(*) AS n FROM demo.bronze.flights WHERE _file = "
                       "'bronze/demo/flights/dt=2026-01-01/nosuch.ndjson.lz4'");
    assert_int_equal(json_integer_value(json_object_get(row0(r), "n")), 0);
    json_decref(r);
    /* a date bound before the file's directory still prunes it */
    r = run_ok("SELECT count(*) AS n FROM demo.bronze.flights WHERE _insert_date < '2026-01-02' "
               "AND _file = 'bronze/demo/flights/dt=2026-01-02/00000000000000000004-"
               "00000000000000000005.ndjson.lz4'");
    assert_int_equal(json_integer_value(json_object_get(row0(r), "n")), 0);
    json_decref(r);
}

static void test_join_with_silver(void **state)
{
    (void)state;
    json_t *r = run_ok("SELECT a.city AS city, count(*) AS n, sum(b.delay) AS total "
                       "FROM demo.bronze.flights b JOIN demo.silver.airports a ON a.code = b.origin "
                       "GROUP BY a.city ORDER BY a.city");
    json_t *data = json_object_get(r, "data");
    assert_int_equal(json_array_size(data), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(data, 0), "city")),
                        "Los Angeles");
    json_t *sf = json_array_get(data, 1);
    assert_int_equal(json_integer_value(json_object_get(sf, "n")), 3);
    assert_int_equal(json_integer_value(json_object_get(sf, "total")), 40);
    json_decref(r);
}

static void test_record_mode_without_schema(void **state)
{
    (void)state;
    json_t *r = run_ok("SELECT record, _seq, json_extract(record, '$.y') AS y FROM demo.bronze.raw");
    assert_string_equal(json_string_value(json_object_get(row0(r), "record")),
                        "{\"x\":1,\"y\":\"z\"}");
    assert_int_equal(json_integer_value(json_object_get(row0(r), "_seq")), 7);
    assert_string_equal(json_string_value(json_object_get(row0(r), "y")), "z");
    json_decref(r);
}

static void test_corrupt_file(void **state)
{
    (void)state;
    char rel[512], path[1024], silver[512];
    make_bronze("demo", "flights", "2026-01-03", 6, 6,
                "{\"origin\":\"SEA\",\"delay\":1,\"_insert_date\":\"2026-01-03T00:00:00.000Z\","
                "\"_seq\":6}\n",
                rel);
    snprintf(path, sizeof path, "%s/%s", data_dir, rel);
    /* flip bytes in the middle of the frame */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 12, SEEK_SET);
    fputs("garbage", f);
    fclose(f);

    run_fails("SELECT count(*) FROM demo.bronze.flights", rel);
    run_fails("SELECT count(*) FROM demo.bronze.flights", "corrupt bronze file");
    /* an upper bound on _insert_date prunes dt=2026-01-03: the file is not read */
    json_t *r = run_ok("SELECT count(*) AS n FROM demo.bronze.flights "
                       "WHERE _insert_date <= '2026-01-02T23:59:59Z'");
    assert_int_equal(json_integer_value(json_object_get(row0(r), "n")), 5);
    json_decref(r);
    r = run_ok("SELECT count(*) AS n FROM demo.bronze.flights WHERE _insert_date < '2026-01-02'");
    assert_int_equal(json_integer_value(json_object_get(row0(r), "n")), 3);
    json_decref(r);

    /* the listing counts the file but not its rows */
    json_t *tables = json_array();
    char err[ERROR_MAX] = "";
    assert_int_equal(bronze_vtab_add_tables(data_dir, tables, err), 0);
    json_t *t = json_array_get(tables, 0);
    assert_string_equal(json_string_value(json_object_get(t, "table")), "flights");
    assert_int_equal(json_integer_value(json_object_get(t, "files")), 3);
    assert_int_equal(json_integer_value(json_object_get(t, "rows")), 5);
    json_decref(tables);

    /* once the processor quarantined it, the file is skipped */
    snprintf(silver, sizeof silver, "%s/silver/demo.db", data_dir);
    char sql[1024];
    snprintf(sql, sizeof sql, "INSERT INTO _quarantine VALUES ('%s', 'flights', 'corrupt')", rel);
    exec_sql(silver, sql);
    r = run_ok("SELECT count(*) AS n FROM demo.bronze.flights");
    assert_int_equal(json_integer_value(json_object_get(row0(r), "n")), 5);
    json_decref(r);
    exec_sql(silver, "DELETE FROM _quarantine");
    unlink(path);
}

static void test_errors_and_read_only(void **state)
{
    (void)state;
    run_fails("SELECT * FROM demo.bronze.nope", "no bronze data for demo.bronze.nope");
    run_fails("SELECT * FROM nodomain.bronze.flights", "no bronze data for nodomain.bronze.flights");
    run_fails("SELECT nope FROM demo.bronze.flights", "no such column: nope");
    run_fails("INSERT INTO demo.bronze.flights(origin) VALUES ('X')", "not allowed");
    run_fails("DELETE FROM demo.bronze.flights", "may not be modified");
    run_fails("DROP TABLE demo.bronze.flights", "not allowed");
    run_fails("DETACH DATABASE bronze_demo", "not allowed");
    run_fails("SELECT * FROM lakehouse_bronze", "no such table");
}

static void test_listing(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "", silver[512];
    snprintf(silver, sizeof silver, "%s/silver/demo.db", data_dir);
    /* one merged file: its records come from the ledger */
    exec_sql(silver, "INSERT INTO _ledger VALUES ('bronze/demo/flights/dt=2026-01-02/"
                     "00000000000000000004-00000000000000000005.ndjson.lz4', 'flights', 2)");
    json_t *tables = NULL;
    assert_int_equal(query_list_tables(data_dir, &tables, err), 0);
    assert_int_equal(bronze_vtab_add_tables(data_dir, tables, err), 0);
    /* bronze first within a domain, then silver */
    assert_int_equal(json_array_size(tables), 3);
    json_t *t0 = json_array_get(tables, 0), *t1 = json_array_get(tables, 1),
           *t2 = json_array_get(tables, 2);
    assert_string_equal(json_string_value(json_object_get(t0, "layer")), "bronze");
    assert_string_equal(json_string_value(json_object_get(t0, "table")), "flights");
    assert_int_equal(json_integer_value(json_object_get(t0, "rows")), 5);
    assert_int_equal(json_integer_value(json_object_get(t0, "files")), 2);
    assert_int_equal(json_integer_value(json_object_get(t0, "files_pending")), 1);
    assert_string_equal(json_string_value(json_object_get(t1, "table")), "raw");
    assert_int_equal(json_integer_value(json_object_get(t1, "rows")), 1);
    assert_string_equal(json_string_value(json_object_get(t2, "layer")), "silver");
    json_decref(tables);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_and_sum),
        cmocka_unit_test(test_metadata_columns),
        cmocka_unit_test(test_one_file),
        cmocka_unit_test(test_join_with_silver),
        cmocka_unit_test(test_record_mode_without_schema),
        cmocka_unit_test(test_corrupt_file),
        cmocka_unit_test(test_errors_and_read_only),
        cmocka_unit_test(test_listing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_transformer_run.c - job runs against a temporary data directory
 * (transformer/run.c, write.c): each write mode's gold rows, _snapshots and
 * _executions rows and catalog execution; a failed run writes nothing; the
 * scheduler queues the jobs downstream of a run (schedule.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "layout.h"
#include "sqlutil.h"
#include "transformer.h"

struct fixture {
    struct config cfg;
    struct transformer_ctx ctx;
    sqlite3 *silver;
};

/* silver/demo.db with flights(id, origin, delay) and one snapshot. */
static int make_silver(struct fixture *f, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    if (layout_silver_db(path, sizeof path, f->cfg.data_dir, "demo") < 0 ||
        layout_db_open(path, &f->silver, err) < 0 ||
        sqlutil_exec(f->silver, layout_silver_ddl, err, "silver ddl") < 0)
        return -1;
    return sqlutil_exec(f->silver,
                        "CREATE TABLE flights (id INTEGER PRIMARY KEY, origin TEXT, delay INTEGER);"
                        "INSERT INTO flights VALUES (1, 'SFO', 10), (2, 'SFO', 20), (3, 'LAX', 5);"
                        "INSERT INTO _snapshots (table_name, committed_at, operation, source,"
                        " rows_inserted, rows_updated, rows_unchanged, rows_deleted, schema_version)"
                        " VALUES ('flights', '2024-01-01T00:00:00.000Z', 'merge', '', 3, 0, 0, 0, 1)",
                        err, "silver rows");
}

static int add_job(struct fixture *f, const char *text)
{
    char err[ERROR_MAX];
    struct job_def def;
    if (job_parse_sql_file(text, NULL, &def, err) < 0 ||
        catalog_put_job(f->ctx.catalog, &def, err) < 0) {
        fprintf(stderr, "add_job: %s\n", err);
        return -1;
    }
    job_clear(&def);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[ERROR_MAX] = "", dir[] = "/tmp/lh-run-XXXXXX";
    if (f == NULL || mkdtemp(dir) == NULL || config_load(&f->cfg, NULL, dir, err) < 0 ||
        layout_create(dir, err) < 0 || make_silver(f, err) < 0 ||
        catalog_open(dir, false, &f->ctx.catalog, err) < 0) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    f->ctx.cfg = &f->cfg;
    if (add_job(f, "-- job: by_origin\n-- domain: demo\n-- write_mode: overwrite\n"
                   "SELECT origin, count(*) AS n, sum(delay) AS delay FROM demo.silver.flights"
                   " GROUP BY origin") < 0 ||
        add_job(f, "-- job: log\n-- domain: demo\n-- write_mode: append\n"
                   "SELECT origin, delay FROM demo.silver.flights WHERE delay > 8") < 0 ||
        add_job(f, "-- job: latest\n-- domain: demo\n-- unique_key: origin\n"
                   "SELECT origin, max(delay) AS worst FROM demo.silver.flights GROUP BY origin") < 0 ||
        add_job(f, "-- job: top\n-- domain: demo\n-- write_mode: overwrite\n"
                   "SELECT origin FROM demo.gold.by_origin ORDER BY n DESC LIMIT 1") < 0 ||
        add_job(f, "-- job: broken\n-- domain: demo\n-- write_mode: overwrite\n"
                   "SELECT no_such_column FROM demo.silver.flights") < 0 ||
        jobs_reload(&f->ctx, err) < 0) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    jobs_free(&f->ctx.jobs);
    catalog_close(&f->ctx.catalog);
    sqlite3_close(f->silver);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->cfg.data_dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static int run(struct fixture *f, const char *name, int64_t *snapshot_id)
{
    struct tjob *job = jobs_find(&f->ctx.jobs, "demo", name);
    assert_non_null(job);
    return run_job(&f->ctx, job, "manual", 0, snapshot_id);
}

/* One integer from gold/demo.db. */
static int64_t gold(struct fixture *f, const char *sql)
{
    char path[PATH_MAX], err[ERROR_MAX] = "";
    sqlite3 *db = NULL;
    int64_t n = -1;
    assert_int_equal(layout_gold_db(path, sizeof path, f->cfg.data_dir, "demo"), 0);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlutil_int64(db, sql, &n, err, "gold") < 0)
        fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
    return n;
}

/* The status of the job's latest catalog execution. */
static void assert_last_status(struct fixture *f, const char *name, const char *status)
{
    char err[ERROR_MAX];
    json_t *list = NULL;
    assert_int_equal(catalog_list_executions(f->ctx.catalog, "demo", name, 1, &list, err), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "status")),
                        status);
    json_decref(list);
}

static void silver_change(struct fixture *f, const char *sql)
{
    char err[ERROR_MAX];
    char snap[512];
    snprintf(snap, sizeof snap,
             "%s; INSERT INTO _snapshots (table_name, committed_at, operation, source,"
             " rows_inserted, rows_updated, rows_unchanged, rows_deleted, schema_version)"
             " VALUES ('flights', '2024-01-02T00:00:00.000Z', 'merge', '', 1, 0, 0, 0, 1)",
             sql);
    if (sqlutil_exec(f->silver, snap, err, "silver") < 0)
        fail_msg("%s", err);
}

static void test_overwrite(void **state)
{
    struct fixture *f = *state;
    int64_t snap = 0;
    assert_int_equal(run(f, "by_origin", &snap), 0);
    assert_true(snap > 0);
    assert_int_equal(gold(f, "SELECT count(*) FROM by_origin"), 2);
    assert_int_equal(gold(f, "SELECT delay FROM by_origin WHERE origin = 'SFO'"), 30);
    assert_int_equal(gold(f, "SELECT count(*) FROM _snapshots WHERE table_name = 'by_origin'"
                             " AND operation = 'overwrite' AND rows_inserted = 2"), 1);
    assert_int_equal(gold(f, "SELECT count(*) FROM _executions WHERE table_name = 'by_origin'"), 1);
    assert_int_equal(gold(f, "SELECT max(snapshot_id) FROM _snapshots"), snap);
    assert_last_status(f, "by_origin", "SUCCEEDED");
    /* again after a change: the table is replaced, not added to */
    silver_change(f, "INSERT INTO flights VALUES (4, 'JFK', 1)");
    int64_t again = 0;
    assert_int_equal(run(f, "by_origin", &again), 0);
    assert_true(again > snap);
    assert_int_equal(gold(f, "SELECT count(*) FROM by_origin"), 3);
    assert_int_equal(gold(f, "SELECT rows_deleted FROM _snapshots WHERE snapshot_id = (SELECT"
                             " max(snapshot_id) FROM _snapshots)"), 2);
}

static void test_append(void **state)
{
    struct fixture *f = *state;
    int64_t snap = 0;
    assert_int_equal(run(f, "log", &snap), 0);
    assert_int_equal(gold(f, "SELECT count(*) FROM log"), 2);
    assert_int_equal(run(f, "log", &snap), 0);
    assert_int_equal(gold(f, "SELECT count(*) FROM log"), 4);
    assert_int_equal(gold(f, "SELECT count(*) FROM _snapshots WHERE operation = 'append'"), 2);
}

static void test_upsert(void **state)
{
    struct fixture *f = *state;
    int64_t snap = 0;
    assert_int_equal(run(f, "latest", &snap), 0);
    assert_int_equal(gold(f, "SELECT count(*) FROM latest"), 2);
    silver_change(f, "UPDATE flights SET delay = 50 WHERE id = 3; INSERT INTO flights VALUES"
                     " (4, 'JFK', 7)");
    assert_int_equal(run(f, "latest", &snap), 0);
    assert_int_equal(gold(f, "SELECT count(*) FROM latest"), 3);
    assert_int_equal(gold(f, "SELECT worst FROM latest WHERE origin = 'LAX'"), 50);
    assert_int_equal(gold(f, "SELECT count(*) FROM _snapshots WHERE snapshot_id = " "(SELECT"
                             " max(snapshot_id) FROM _snapshots) AND operation = 'upsert' AND"
                             " rows_inserted = 1 AND rows_updated = 2"), 1);
    /* row history: LAX has a closed and a current version */
    assert_int_equal(gold(f, "SELECT count(*) FROM _h_latest WHERE origin = 'LAX'"), 2);
}

static void test_failed_run_writes_nothing(void **state)
{
    struct fixture *f = *state;
    int64_t snap = -1;
    assert_int_equal(run(f, "broken", &snap), -1);
    assert_int_equal(snap, 0);
    assert_last_status(f, "broken", "FAILED");
    assert_int_equal(gold(f, "SELECT count(*) FROM sqlite_master WHERE name = 'broken'"), 0);
    assert_int_equal(gold(f, "SELECT count(*) FROM _snapshots"), 0);
}

/* The scheduler runs a queued job and then queues the jobs reading its table. */
static void test_schedule_queues_downstream(void **state)
{
    struct fixture *f = *state;
    struct tjob *up = jobs_find(&f->ctx.jobs, "demo", "by_origin");
    struct tjob *down = jobs_find(&f->ctx.jobs, "demo", "top");
    assert_non_null(up);
    assert_non_null(down);
    assert_false(down->pending);
    schedule_queue(up, "manual");
    assert_true(schedule_has_work(&f->ctx));
    assert_true(schedule_run_next(&f->ctx));
    assert_false(up->pending);
    assert_int_equal(gold(f, "SELECT count(*) FROM by_origin"), 2);
    assert_true(down->pending);
    assert_true(schedule_run_next(&f->ctx));
    assert_false(down->pending);
    assert_int_equal(gold(f, "SELECT count(*) FROM top WHERE origin = 'SFO'"), 1);
    assert_false(schedule_has_work(&f->ctx));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_run_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedule_queues_downstream, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

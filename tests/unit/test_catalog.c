/* test_catalog.c - unit tests of common/catalog.c on a temporary data
 * directory: endpoint versions and compatibility, jobs (with the cycle
 * check), executions, read-only access and reopening. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "catalog.h"

#define FLIGHTS_V1                                                                                 \
    "{\"domain\":\"demo\",\"name\":\"flights\",\"mode\":\"MANUAL\",\"columns\":["              \
    "{\"name\":\"date\",\"type\":\"timestamp\",\"format\":\"%Y/%m/%d %H:%M\"},"                \
    "{\"name\":\"delay\",\"type\":\"integer\"},"                                                \
    "{\"name\":\"origin\",\"type\":\"string\"}]}"
#define FLIGHTS_V2                                                                                 \
    "{\"domain\":\"demo\",\"name\":\"flights\",\"mode\":\"MANUAL\",\"columns\":["              \
    "{\"name\":\"date\",\"type\":\"timestamp\",\"format\":\"%Y/%m/%d %H:%M\"},"                \
    "{\"name\":\"delay\",\"type\":\"float\"},"                                                  \
    "{\"name\":\"origin\",\"type\":\"string\"},"                                                \
    "{\"name\":\"destination\",\"type\":\"string\"}]}"
/* origin string -> integer: a type change that is not a widening */
#define FLIGHTS_BAD                                                                                \
    "{\"domain\":\"demo\",\"name\":\"flights\",\"mode\":\"MANUAL\",\"columns\":["              \
    "{\"name\":\"date\",\"type\":\"timestamp\",\"format\":\"%Y/%m/%d %H:%M\"},"                \
    "{\"name\":\"delay\",\"type\":\"float\"},"                                                  \
    "{\"name\":\"origin\",\"type\":\"integer\"},"                                               \
    "{\"name\":\"destination\",\"type\":\"string\"}]}"

struct fixture {
    char dir[64];
    struct catalog *catalog;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_catalog.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    char err[ERROR_MAX];
    if (catalog_open(f->dir, false, &f->catalog, err) < 0) {
        fprintf(stderr, "catalog_open: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    catalog_close(&f->catalog);
    static const char *const files[] = {"catalog.db", "catalog.db-wal", "catalog.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct schema *schema_parse(const char *text)
{
    char err[ERROR_MAX];
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    struct schema *s = schema_from_json(j, err);
    json_decref(j);
    if (s == NULL)
        fail_msg("schema: %s", err);
    return s;
}

static int put_endpoint(struct catalog *c, const char *text, int *version, char err[ERROR_MAX])
{
    struct schema *s = schema_parse(text);
    int rc = catalog_put_endpoint(c, s, version, err);
    schema_destroy(&s);
    return rc;
}

static void make_job(struct job_def *job, const char *domain, const char *name, const char *sql)
{
    memset(job, 0, sizeof *job);
    snprintf(job->domain, sizeof job->domain, "%s", domain);
    snprintf(job->name, sizeof job->name, "%s", name);
    job->sql = strdup(sql);
    job->write_mode = JOB_WRITE_OVERWRITE;
    job->schedule = JOB_SCHEDULE_DEPENDENCY;
}

/* ------------------------------------------------------------------ tests */

static void test_open_creates_wal_catalog(void **state)
{
    struct fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/catalog.db", f->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 4); /* 2: jobs.incremental, 3: jobs.accumulate,
                                                        4: jobs.index_columns/model, models */
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    /* a second writer and a reopen migrate nothing and keep working */
    char err[ERROR_MAX];
    struct catalog *second = NULL;
    assert_int_equal(catalog_open(f->dir, false, &second, err), 0);
    catalog_close(&second);
    assert_null(second);
    catalog_close(&second); /* NULL-safe */
}

static void test_read_only(void **state)
{
    struct fixture *f = *state;
    char err[ERROR_MAX];
    struct catalog *ro = NULL;
    /* a directory without a catalog */
    assert_int_equal(catalog_open("/tmp/no-such-lakehouse-dir-xyz", true, &ro, err), -1);
    assert_null(ro);
    assert_non_null(strstr(err, "does not exist"));

    int version = 0;
    assert_int_equal(put_endpoint(f->catalog, FLIGHTS_V1, &version, err), 0);
    assert_int_equal(catalog_open(f->dir, true, &ro, err), 0);
    struct schema *s = NULL;
    assert_int_equal(catalog_get_endpoint(ro, "demo", "flights", 0, &s, err), 1);
    assert_int_equal(s->version, 1);
    /* writes fail on a read-only catalog */
    assert_int_equal(catalog_put_endpoint(ro, s, &version, err), 0); /* unchanged: no write */
    struct schema *v2 = schema_parse(FLIGHTS_V2);
    assert_int_equal(catalog_put_endpoint(ro, v2, &version, err), -1); /* ERROR_INTERNAL */
    assert_non_null(strstr(err, "catalog"));
    schema_destroy(&v2);
    schema_destroy(&s);
    catalog_close(&ro);
}

static void test_endpoint_versions(void **state)
{
    struct fixture *f = *state;
    char err[ERROR_MAX];
    int version = 0;
    struct schema *s = NULL;

    assert_int_equal(catalog_get_endpoint(f->catalog, "demo", "flights", 0, &s, err), 0);
    assert_null(s);
    assert_int_equal(catalog_endpoint_version(f->catalog, "demo", "flights", &version, err), 0);

    assert_int_equal(put_endpoint(f->catalog, FLIGHTS_V1, &version, err), 0);
    assert_int_equal(version, 1);
    /* the same definition again is not a new version */
    assert_int_equal(put_endpoint(f->catalog, FLIGHTS_V1, &version, err), 0);
    assert_int_equal(version, 1);
    /* a compatible change: integer -> float, a new nullable column */
    assert_int_equal(put_endpoint(f->catalog, FLIGHTS_V2, &version, err), 0);
    assert_int_equal(version, 2);
    int latest = 0;
    assert_int_equal(catalog_endpoint_version(f->catalog, "demo", "flights", &latest, err), 1);
    assert_int_equal(latest, 2);

    /* an incompatible change is refused and names the column */
    version = -1;
    assert_int_equal(error_kind_of(put_endpoint(f->catalog, FLIGHTS_BAD, &version, err)),
                     ERROR_CONFLICT);
    assert_int_equal(version, -1);
    assert_non_null(strstr(err, "demo/flights"));
    assert_non_null(strstr(err, "column 'origin'"));
    assert_int_equal(catalog_endpoint_version(f->catalog, "demo", "flights", &latest, err), 1);
    assert_int_equal(latest, 2);

    /* latest and a given version */
    assert_int_equal(catalog_get_endpoint(f->catalog, "demo", "flights", 0, &s, err), 1);
    assert_int_equal(s->version, 2);
    assert_int_equal(s->column_count, 4);
    assert_int_equal(schema_find_column(s, "delay")->type, SCHEMA_TYPE_FLOAT);
    assert_string_equal(schema_find_column(s, "date")->format, "%Y/%m/%d %H:%M");
    schema_destroy(&s);
    assert_int_equal(catalog_get_endpoint(f->catalog, "demo", "flights", 1, &s, err), 1);
    assert_int_equal(s->version, 1);
    assert_int_equal(s->column_count, 3);
    schema_destroy(&s);
    assert_int_equal(catalog_get_endpoint(f->catalog, "demo", "flights", 7, &s, err), 0);

    /* another endpoint in another domain */
    assert_int_equal(put_endpoint(f->catalog,
                                  "{\"domain\":\"shop\",\"name\":\"raw\",\"mode\":\"SINGLE_COLUMN\"}",
                                  &version, err),
                     0);
    assert_int_equal(version, 1);

    json_t *list = NULL;
    assert_int_equal(catalog_list_endpoints(f->catalog, NULL, &list, err), 0);
    assert_int_equal(json_array_size(list), 2);
    json_t *first = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(first, "domain")), "demo");
    assert_string_equal(json_string_value(json_object_get(first, "name")), "flights");
    assert_int_equal(json_integer_value(json_object_get(first, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(first, "mode")), "MANUAL");
    const char *created = json_string_value(json_object_get(first, "created_at"));
    assert_non_null(created);
    assert_int_equal(created[strlen(created) - 1], 'Z');
    assert_non_null(json_object_get(first, "updated_at"));
    json_decref(list);
    assert_int_equal(catalog_list_endpoints(f->catalog, "shop", &list, err), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "mode")),
                        "SINGLE_COLUMN");
    json_decref(list);

    assert_int_equal(catalog_endpoint_versions(f->catalog, "demo", "flights", &list, err), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "version")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "version")), 2);
    json_decref(list);

    /* delete */
    assert_int_equal(catalog_delete_endpoint(f->catalog, "demo", "flights", err), 1);
    assert_int_equal(catalog_delete_endpoint(f->catalog, "demo", "flights", err), 0);
    assert_int_equal(catalog_get_endpoint(f->catalog, "demo", "flights", 0, &s, err), 0);
    assert_int_equal(catalog_list_endpoints(f->catalog, NULL, &list, err), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
}

static void test_endpoint_evolved_schema(void **state)
{
    struct fixture *f = *state;
    char err[ERROR_MAX];
    int version = 0;
    assert_int_equal(put_endpoint(f->catalog,
                                  "{\"domain\":\"demo\",\"name\":\"auto\",\"mode\":\"AUTO_INFERENCE\"}",
                                  &version, err),
                     0);
    assert_int_equal(version, 1);
    struct schema *current = NULL;
    assert_int_equal(catalog_get_endpoint(f->catalog, "demo", "auto", 0, &current, err), 1);
    json_t *record = json_loads("{\"id\":1,\"Cost: Total\":2.5}", 0, NULL);
    struct schema *evolved = NULL;
    assert_int_equal(schema_evolve(current, record, &evolved, err), 1);
    assert_int_equal(catalog_put_endpoint(f->catalog, evolved, &version, err), 0);
    assert_int_equal(version, 2);
    schema_destroy(&current);
    assert_int_equal(catalog_get_endpoint(f->catalog, "demo", "auto", 0, &current, err), 1);
    assert_int_equal(current->version, 2);
    assert_non_null(schema_find_column(current, "cost_total"));
    json_decref(record);
    schema_destroy(&evolved);
    schema_destroy(&current);
}

static void test_jobs(void **state)
{
    struct fixture *f = *state;
    char err[ERROR_MAX];
    struct job_def job, got;
    make_job(&job, "demo", "flights_by_origin",
             "SELECT origin, count(*) AS flights FROM demo.silver.flights GROUP BY origin");
    assert_int_equal(catalog_put_job(f->catalog, &job, err), 0);

    assert_int_equal(catalog_get_job(f->catalog, "demo", "flights_by_origin", &got, err), 1);
    assert_string_equal(got.domain, "demo");
    assert_string_equal(got.name, "flights_by_origin");
    assert_string_equal(got.sql, job.sql);
    assert_int_equal(got.write_mode, JOB_WRITE_OVERWRITE);
    assert_int_equal(got.schedule, JOB_SCHEDULE_DEPENDENCY);
    assert_string_equal(got.unique_key, "");
    assert_string_equal(got.cron, "");
    job_clear(&got);
    assert_int_equal(catalog_get_job(f->catalog, "demo", "nope", &got, err), 0);

    /* replace: append with a unique key, on a cron schedule */
    free(job.sql);
    job.sql = strdup("SELECT origin, day, count(*) AS n FROM demo.silver.flights GROUP BY 1, 2");
    job.write_mode = JOB_WRITE_APPEND;
    snprintf(job.unique_key, sizeof job.unique_key, "origin,day");
    job.schedule = JOB_SCHEDULE_CRON;
    snprintf(job.cron, sizeof job.cron, "0 2 * * ? *");
    assert_int_equal(catalog_put_job(f->catalog, &job, err), 0);
    assert_int_equal(catalog_get_job(f->catalog, "demo", "flights_by_origin", &got, err), 1);
    assert_string_equal(got.sql, job.sql);
    assert_int_equal(got.write_mode, JOB_WRITE_APPEND);
    assert_int_equal(got.schedule, JOB_SCHEDULE_CRON);
    assert_string_equal(got.unique_key, "origin,day");
    assert_string_equal(got.cron, "0 2 * * ? *");
    job_clear(&got);

    struct job_def other;
    make_job(&other, "demo", "top_origins",
             "SELECT * FROM demo.gold.flights_by_origin ORDER BY n DESC LIMIT 10");
    assert_int_equal(catalog_put_job(f->catalog, &other, err), 0);

    struct job_def *jobs = NULL;
    size_t count = 0;
    assert_int_equal(catalog_list_jobs(f->catalog, &jobs, &count, err), 0);
    assert_int_equal(count, 2);
    assert_string_equal(jobs[0].name, "flights_by_origin");
    assert_string_equal(jobs[1].name, "top_origins");
    for (size_t i = 0; i < count; i++)
        job_clear(&jobs[i]);
    free(jobs);

    /* invalid jobs are refused by job_validate */
    struct job_def bad;
    make_job(&bad, "demo", "selfish", "SELECT * FROM demo.gold.selfish");
    assert_int_equal(catalog_put_job(f->catalog, &bad, err), -1);
    assert_non_null(strstr(err, "own output"));
    job_clear(&bad);
    make_job(&bad, "Demo", "x", "SELECT 1");
    assert_int_equal(catalog_put_job(f->catalog, &bad, err), -1);
    assert_non_null(strstr(err, "invalid domain name"));
    job_clear(&bad);

    /* delete */
    assert_int_equal(catalog_delete_job(f->catalog, "demo", "top_origins", err), 0);
    assert_int_equal(catalog_get_job(f->catalog, "demo", "top_origins", &got, err), 0);
    assert_int_equal(error_kind_of(catalog_delete_job(f->catalog, "demo", "top_origins", err)),
                     ERROR_NOT_FOUND);
    assert_non_null(strstr(err, "no job demo/top_origins"));
    assert_int_equal(catalog_list_jobs(f->catalog, &jobs, &count, err), 0);
    assert_int_equal(count, 1);
    job_clear(&jobs[0]);
    free(jobs);

    job_clear(&job);
    job_clear(&other);
}

static void test_job_cycle_refused(void **state)
{
    struct fixture *f = *state;
    char err[ERROR_MAX];
    struct job_def a, b, c;
    make_job(&a, "demo", "a", "SELECT * FROM demo.silver.flights");
    make_job(&b, "demo", "b", "SELECT * FROM demo.gold.a");
    make_job(&c, "demo", "c", "SELECT * FROM demo.gold.b");
    assert_int_equal(catalog_put_job(f->catalog, &a, err), 0);
    assert_int_equal(catalog_put_job(f->catalog, &b, err), 0);
    assert_int_equal(catalog_put_job(f->catalog, &c, err), 0);
    /* a now reads c: a -> c -> b -> a */
    free(a.sql);
    a.sql = strdup("SELECT * FROM demo.gold.c");
    assert_int_equal(catalog_put_job(f->catalog, &a, err), -1);
    assert_non_null(strstr(err, "cycle"));
    assert_non_null(strstr(err, "demo.a"));
    /* the stored job is unchanged */
    struct job_def got;
    assert_int_equal(catalog_get_job(f->catalog, "demo", "a", &got, err), 1);
    assert_string_equal(got.sql, "SELECT * FROM demo.silver.flights");
    job_clear(&got);
    job_clear(&a);
    job_clear(&b);
    job_clear(&c);
}

/* A model's job set goes in as a whole: replaced, refused together, deleted. */
static void test_model_job_set(void **state)
{
    struct fixture *f = *state;
    char err[ERROR_MAX];
    struct job_def set[3], mine;
    make_job(&set[0], "m_dab", "a", "SELECT * FROM demo.silver.flights");
    make_job(&set[1], "m_dab", "b", "SELECT * FROM m_dab.gold.a");
    make_job(&set[2], "m_dab", "c", "SELECT * FROM m_dab.gold.b");
    for (int i = 0; i < 3; i++)
        snprintf(set[i].model, sizeof set[i].model, "m");
    snprintf(set[0].index, sizeof set[0].index, "origin");
    assert_int_equal(catalog_put_model(f->catalog, "m", "model: m\n", set, 3, err), 0);
    struct job_def got;
    assert_int_equal(catalog_get_job(f->catalog, "m_dab", "a", &got, err), 1);
    assert_string_equal(got.model, "m");
    assert_string_equal(got.index, "origin");
    job_clear(&got);
    /* the new set drops c */
    assert_int_equal(catalog_put_model(f->catalog, "m", "model: m\n# 2\n", set, 2, err), 0);
    assert_int_equal(catalog_get_job(f->catalog, "m_dab", "c", &got, err), 0);
    /* a job of nobody's with a name of the set refuses the whole set */
    make_job(&mine, "m_dab", "c", "SELECT * FROM demo.silver.flights");
    assert_int_equal(catalog_put_job(f->catalog, &mine, err), 0);
    assert_int_equal(catalog_put_model(f->catalog, "m", "x", set, 3, err), -(int)ERROR_CONFLICT);
    assert_non_null(strstr(err, "job m_dab/c exists and is not managed by model m"));
    /* a cycle over the set is refused and nothing changes */
    free(set[0].sql);
    set[0].sql = strdup("SELECT * FROM m_dab.gold.b");
    assert_int_equal(catalog_put_model(f->catalog, "m", "x", set, 2, err), -(int)ERROR_CONFLICT);
    assert_non_null(strstr(err, "cycle"));
    char *text = NULL;
    assert_int_equal(catalog_get_model(f->catalog, "m", &text, err), 1);
    assert_string_equal(text, "model: m\n# 2\n");
    free(text);
    json_t *list = NULL;
    assert_int_equal(catalog_list_models(f->catalog, &list, err), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "jobs")), 2);
    json_decref(list);
    assert_int_equal(catalog_delete_model(f->catalog, "m", err), 0);
    assert_int_equal(catalog_get_job(f->catalog, "m_dab", "a", &got, err), 0);
    assert_int_equal(catalog_get_job(f->catalog, "m_dab", "c", &got, err), 1); /* not its job */
    job_clear(&got);
    assert_int_equal(catalog_delete_model(f->catalog, "m", err), -(int)ERROR_NOT_FOUND);
    for (int i = 0; i < 3; i++)
        job_clear(&set[i]);
    job_clear(&mine);
}

static void test_executions(void **state)
{
    struct fixture *f = *state;
    char err[ERROR_MAX];
    json_t *inputs = NULL;
    assert_int_equal(catalog_last_success_inputs(f->catalog, "demo", "j", &inputs, err), 0);
    assert_null(inputs);

    int64_t id1 = 0, id2 = 0, id3 = 0;
    assert_int_equal(catalog_execution_start(f->catalog, "demo", "j", "dependency", &id1, err), 0);
    assert_true(id1 > 0);
    json_t *e = NULL;
    assert_int_equal(catalog_get_execution(f->catalog, id1, &e, err), 1);
    assert_int_equal(json_integer_value(json_object_get(e, "execution_id")), id1);
    assert_string_equal(json_string_value(json_object_get(e, "domain")), "demo");
    assert_string_equal(json_string_value(json_object_get(e, "job_name")), "j");
    assert_string_equal(json_string_value(json_object_get(e, "trigger")), "dependency");
    assert_string_equal(json_string_value(json_object_get(e, "status")), "RUNNING");
    assert_non_null(json_string_value(json_object_get(e, "started_at")));
    assert_true(json_is_null(json_object_get(e, "finished_at")));
    assert_true(json_is_null(json_object_get(e, "rows")));
    assert_true(json_is_null(json_object_get(e, "error")));
    json_decref(e);

    /* bad finishes */
    assert_int_equal(catalog_execution_finish(f->catalog, id1, "DONE", 1, NULL, NULL, err), -1);
    assert_non_null(strstr(err, "SUCCEEDED or FAILED"));
    assert_int_equal(catalog_execution_finish(f->catalog, id1, "SUCCEEDED", 1, NULL, "{oops", err),
                     -1);
    assert_int_equal(catalog_execution_finish(f->catalog, 999, "FAILED", 0, "x", NULL, err), -1);
    assert_non_null(strstr(err, "no execution 999"));

    assert_int_equal(catalog_execution_finish(f->catalog, id1, "SUCCEEDED", 42, NULL,
                                              "{\"demo.silver.flights\":12}", err),
                     0);
    assert_int_equal(catalog_get_execution(f->catalog, id1, &e, err), 1);
    assert_string_equal(json_string_value(json_object_get(e, "status")), "SUCCEEDED");
    assert_int_equal(json_integer_value(json_object_get(e, "rows")), 42);
    assert_non_null(json_string_value(json_object_get(e, "finished_at")));
    json_decref(e);

    assert_int_equal(catalog_last_success_inputs(f->catalog, "demo", "j", &inputs, err), 1);
    assert_int_equal(json_integer_value(json_object_get(inputs, "demo.silver.flights")), 12);
    json_decref(inputs);

    /* a failed run does not replace the last success */
    assert_int_equal(catalog_execution_start(f->catalog, "demo", "j", "cron", &id2, err), 0);
    assert_true(id2 > id1);
    assert_int_equal(catalog_execution_finish(f->catalog, id2, "FAILED", 0, "no such table", NULL,
                                              err),
                     0);
    assert_int_equal(catalog_last_success_inputs(f->catalog, "demo", "j", &inputs, err), 1);
    assert_int_equal(json_integer_value(json_object_get(inputs, "demo.silver.flights")), 12);
    json_decref(inputs);

    /* a run left RUNNING by a crash */
    assert_int_equal(catalog_execution_start(f->catalog, "demo", "k", "manual", &id3, err), 0);
    assert_int_equal(catalog_fail_running_executions(f->catalog, "transformer restarted", err), 0);
    assert_int_equal(catalog_get_execution(f->catalog, id3, &e, err), 1);
    assert_string_equal(json_string_value(json_object_get(e, "status")), "FAILED");
    assert_string_equal(json_string_value(json_object_get(e, "error")), "transformer restarted");
    assert_non_null(json_string_value(json_object_get(e, "finished_at")));
    json_decref(e);
    /* finished runs are untouched */
    assert_int_equal(catalog_get_execution(f->catalog, id1, &e, err), 1);
    assert_string_equal(json_string_value(json_object_get(e, "status")), "SUCCEEDED");
    json_decref(e);

    assert_int_equal(catalog_get_execution(f->catalog, 12345, &e, err), 0);

    json_t *list = NULL;
    assert_int_equal(catalog_list_executions(f->catalog, NULL, NULL, 0, &list, err), 0);
    assert_int_equal(json_array_size(list), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "execution_id")),
                     id3); /* newest first */
    json_decref(list);
    assert_int_equal(catalog_list_executions(f->catalog, "demo", "j", 0, &list, err), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "execution_id")),
                     id2);
    json_decref(list);
    assert_int_equal(catalog_list_executions(f->catalog, NULL, NULL, 1, &list, err), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);

    /* a success without recorded inputs reads as {} */
    int64_t id4 = 0;
    assert_int_equal(catalog_execution_start(f->catalog, "demo", "m", "manual", &id4, err), 0);
    assert_int_equal(catalog_execution_finish(f->catalog, id4, "SUCCEEDED", 0, NULL, NULL, err), 0);
    assert_int_equal(catalog_last_success_inputs(f->catalog, "demo", "m", &inputs, err), 1);
    assert_true(json_is_object(inputs));
    assert_int_equal(json_object_size(inputs), 0);
    json_decref(inputs);
}

static void test_reopen_keeps_everything(void **state)
{
    struct fixture *f = *state;
    char err[ERROR_MAX];
    int version = 0;
    assert_int_equal(put_endpoint(f->catalog, FLIGHTS_V1, &version, err), 0);
    struct job_def job;
    make_job(&job, "demo", "j", "SELECT 1 FROM demo.silver.flights");
    assert_int_equal(catalog_put_job(f->catalog, &job, err), 0);
    job_clear(&job);
    int64_t id = 0;
    assert_int_equal(catalog_execution_start(f->catalog, "demo", "j", "manual", &id, err), 0);

    catalog_close(&f->catalog);
    assert_int_equal(catalog_open(f->dir, false, &f->catalog, err), 0);
    assert_int_equal(catalog_endpoint_version(f->catalog, "demo", "flights", &version, err), 1);
    assert_int_equal(version, 1);
    struct job_def got;
    assert_int_equal(catalog_get_job(f->catalog, "demo", "j", &got, err), 1);
    job_clear(&got);
    json_t *e = NULL;
    assert_int_equal(catalog_get_execution(f->catalog, id, &e, err), 1);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_wal_catalog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_evolved_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_cycle_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_job_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_executions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_job.c - unit tests of job.c: the SQL-file header, the JSON form,
 * validation, dependencies and cycle detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "job.h"

static struct job_def parse_ok(const char *text, const char *default_name)
{
    struct job_def job;
    char err[ERROR_MAX] = "";
    if (job_parse_sql_file(text, default_name, &job, err) != 0)
        fail_msg("parse failed: %s\n--- text:\n%s", err, text);
    return job;
}

static void expect_parse_error(const char *text, const char *fragment)
{
    struct job_def job;
    char err[ERROR_MAX] = "";
    assert_int_equal(-1, job_parse_sql_file(text, "fallback", &job, err));
    assert_null(job.sql);
    if (strstr(err, fragment) == NULL)
        fail_msg("error is '%s', expected it to contain '%s'\n--- text:\n%s", err, fragment, text);
}

static void test_index_and_model(void **state)
{
    (void)state;
    struct job_def job = parse_ok("-- domain: demo\n-- index: origin , day\n-- model: shop\n"
                                  "SELECT origin, day FROM demo.silver.flights\n", "x");
    assert_string_equal("origin,day", job.index);
    assert_string_equal("shop", job.model);
    json_t *j = job_to_json(&job);
    assert_string_equal("origin,day", json_string_value(json_object_get(j, "index")));
    struct job_def back;
    char err[ERROR_MAX] = "";
    assert_int_equal(0, job_from_json(j, &back, err));
    assert_string_equal("shop", back.model);
    assert_string_equal("origin,day", back.index);
    json_decref(j);
    job_clear(&back);
    job_clear(&job);
    expect_parse_error("-- domain: demo\n-- model: Shop\nSELECT 1 AS a\n", "line 2");
    expect_parse_error("-- domain: demo\n-- index: a b\nSELECT 1 AS a\n", "line 2");
}

static void test_full_header(void **state)
{
    (void)state;
    struct job_def job = parse_ok("-- job: flights_by_origin\n"
                                  "-- domain: demo\n"
                                  "-- write_mode: overwrite\n"
                                  "-- schedule: dependency\n"
                                  "SELECT origin, count(*) AS n\n"
                                  "FROM demo.silver.flights GROUP BY origin\n\n",
                                  NULL);
    assert_string_equal("flights_by_origin", job.name);
    assert_string_equal("demo", job.domain);
    assert_int_equal(JOB_WRITE_OVERWRITE, job.write_mode);
    assert_int_equal(JOB_SCHEDULE_DEPENDENCY, job.schedule);
    assert_string_equal("", job.unique_key);
    assert_string_equal("", job.cron);
    assert_string_equal("SELECT origin, count(*) AS n\nFROM demo.silver.flights GROUP BY origin",
                        job.sql);
    job_clear(&job);
    assert_null(job.sql);
    assert_string_equal("", job.name);
}

static void test_defaults_and_file_name(void **state)
{
    (void)state;
    struct job_def job = parse_ok("-- domain: air\nSELECT 1 AS x FROM air.silver.t", "jobs/daily_x.sql");
    assert_string_equal("daily_x", job.name);
    assert_int_equal(JOB_WRITE_OVERWRITE, job.write_mode);
    assert_int_equal(JOB_SCHEDULE_DEPENDENCY, job.schedule);
    job_clear(&job);
    job = parse_ok("-- domain: air\nSELECT 1 AS x FROM air.silver.t", "plain");
    assert_string_equal("plain", job.name);
    job_clear(&job);
    char err[ERROR_MAX];
    assert_int_equal(-1, job_parse_sql_file("-- domain: air\nSELECT 1", "dir/Bad-Name.sql", &job, err));
    assert_non_null(strstr(err, "invalid job name 'Bad-Name'"));
    assert_int_equal(-1, job_parse_sql_file("-- domain: air\nSELECT 1", NULL, &job, err));
    assert_non_null(strstr(err, "no job name"));
}

static void test_unique_key_and_cron(void **state)
{
    (void)state;
    struct job_def job = parse_ok("-- job: upserted\n-- domain: demo\n"
                                  "--unique_key:  origin ,day\n"
                                  "SELECT origin, day FROM demo.silver.f",
                                  NULL);
    assert_string_equal("origin,day", job.unique_key);
    assert_int_equal(JOB_WRITE_APPEND, job.write_mode); /* implied by unique_key */
    job_clear(&job);

    job = parse_ok("-- job: nightly\n-- domain: demo\n-- write_mode: APPEND\n"
                   "-- schedule: cron\n-- cron: 0 2 * * ? *\n"
                   "SELECT * FROM demo.gold.upserted",
                   NULL);
    assert_int_equal(JOB_SCHEDULE_CRON, job.schedule);
    assert_string_equal("0 2 * * ? *", job.cron);
    assert_int_equal(JOB_WRITE_APPEND, job.write_mode);
    job_clear(&job);

    /* cron without schedule implies schedule cron */
    job = parse_ok("-- job: j\n-- domain: demo\n-- cron: */5 * * * *\nSELECT 1 AS one", NULL);
    assert_int_equal(JOB_SCHEDULE_CRON, job.schedule);
    job_clear(&job);
}

static void test_comments_crlf_bom(void **state)
{
    (void)state;
    struct job_def job = parse_ok("\xEF\xBB\xBF-- Busiest origins, rebuilt on every commit\r\n"
                                  "\r\n"
                                  "-- job: busiest\r\n"
                                  "--   domain:demo\r\n"
                                  "-- plain comment without a colon\r\n"
                                  "SELECT 'a: b' AS x -- trailing: comment\r\n"
                                  "FROM demo.silver.f\r\n",
                                  NULL);
    assert_string_equal("busiest", job.name);
    assert_string_equal("demo", job.domain);
    assert_string_equal("SELECT 'a: b' AS x -- trailing: comment\r\nFROM demo.silver.f", job.sql);
    job_clear(&job);
}

static void test_header_errors(void **state)
{
    (void)state;
    expect_parse_error("-- job: a\n-- domain: d\n-- shedule: cron\nSELECT 1",
                       "line 3: unknown header key 'shedule'");
    expect_parse_error("-- job: a\n-- domain: d\n-- job: b\nSELECT 1",
                       "line 3: 'job' given twice (first on line 1)");
    expect_parse_error("-- job: a\n-- domain:\nSELECT 1", "line 2: empty value for 'domain'");
    expect_parse_error("-- job: a\nSELECT 1", "missing '-- domain: NAME'");
    expect_parse_error("-- job: a\n-- domain: d\n\n-- only comments\n", "no SQL after the header");
    expect_parse_error("", "no SQL");
    /* found by fuzz_job: the JSON form of the job could not carry it */
    expect_parse_error("-- job: a\n-- domain: d\nSELECT 'caf\xe9' AS x",
                       "job d.a: the SQL is not valid UTF-8");
    expect_parse_error("-- job: a\n-- domain: Demo\nSELECT 1", "line 2: invalid domain name 'Demo'");
    expect_parse_error("-- job: a-b\n-- domain: d\nSELECT 1", "line 1: invalid job name 'a-b'");
    expect_parse_error("-- job: a\n-- domain: d\n-- write_mode: merge\nSELECT 1",
                       "line 3: unknown write_mode 'merge'");
    expect_parse_error("-- job: a\n-- domain: d\n-- schedule: hourly\nSELECT 1",
                       "line 3: unknown schedule 'hourly'");
    expect_parse_error("-- job: a\n-- domain: d\n-- schedule: cron\nSELECT 1",
                       "schedule cron needs a '-- cron: EXPRESSION' line");
    expect_parse_error("-- job: a\n-- domain: d\n-- schedule: dependency\n-- cron: 0 2 * * *\nSELECT 1",
                       "line 4: a cron expression is given but the schedule is dependency");
    expect_parse_error("-- job: a\n-- domain: d\n-- cron: 0 25 * * *\nSELECT 1",
                       "line 3: cron expression '0 25 * * *': hour field '25'");
    expect_parse_error("-- job: a\n-- domain: d\n-- unique_key: id\n-- write_mode: overwrite\nSELECT 1",
                       "needs write_mode append");
    expect_parse_error("-- job: a\n-- domain: d\n-- unique_key: id, id\nSELECT 1",
                       "line 3: unique_key: column 'id' is listed twice");
    expect_parse_error("-- job: a\n-- domain: d\n-- unique_key: id,\nSELECT 1",
                       "line 3: unique_key 'id,': empty column name");
    expect_parse_error("-- job: a\n-- domain: d\n-- unique_key: _seq\nSELECT 1",
                       "line 3: unique_key: invalid column name '_seq'");
    /* SQL references */
    expect_parse_error("-- job: a\n-- domain: d\nSELECT * FROM d.gold.a",
                       "job d.a: reads its own output table d.gold.a");
    expect_parse_error("-- job: a\n-- domain: d\nSELECT * FROM d.bronze.t",
                       "not bronze");
    expect_parse_error("-- job: a\n-- domain: d\nSELECT * FROM D.silver.t",
                       "invalid table reference 'D.silver.t'");
}

/* The SQL must be one read-only query; checked on the text, without tables. */
static void test_single_select(void **state)
{
    (void)state;
    static const char *const good[] = {
        "SELECT 1 AS x",
        "  -- leading comment\n/* block; comment */ select 1 AS x;",
        "SELECT 'a;b' AS x, \"c;d\" FROM demo.silver.t; ; -- done; really\n",
        "WITH a AS (SELECT 1 AS x), \"delete\" AS (SELECT 2) SELECT * FROM a",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5) SELECT x FROM c",
        "VALUES (1, 2)",
        "SELECT replace(a, ';', '') AS r, [semi;colon] FROM demo.silver.t /* ; */",
        NULL};
    static const struct {
        const char *sql;
        const char *fragment;
    } bad[] = {
        {"DELETE FROM demo.silver.t", "single SELECT statement (it starts with DELETE"},
        {"ATTACH DATABASE '/tmp/x.db' AS x", "it starts with ATTACH"},
        {"-- c\n  /* c */ PRAGMA writable_schema = 1", "it starts with PRAGMA"},
        {"SELECT 1 AS a; DROP TABLE demo.silver.t", "found another statement after ';'"},
        {"SELECT 1 AS a;;\n-- x\nSELECT 2", "found another statement"},
        {"WITH a AS (SELECT 1 AS x) DELETE FROM demo.silver.t", "WITH ... DELETE"},
        {"WITH a AS (SELECT 1 AS x) INSERT INTO demo.gold.o SELECT * FROM a", "WITH ... INSERT"},
        {"(SELECT 1)", "it starts with '('"},
    };
    char err[ERROR_MAX];
    struct job_def job = {.domain = "demo", .name = "j", .write_mode = JOB_WRITE_OVERWRITE,
                          .schedule = JOB_SCHEDULE_DEPENDENCY};
    for (int i = 0; good[i] != NULL; i++) {
        job.sql = (char *)good[i];
        if (job_validate(&job, err) != 0)
            fail_msg("refused '%s': %s", good[i], err);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        job.sql = (char *)bad[i].sql;
        assert_int_equal(-1, job_validate(&job, err));
        if (strstr(err, bad[i].fragment) == NULL || strstr(err, "job demo.j") == NULL)
            fail_msg("'%s': error '%s' lacks '%s'", bad[i].sql, err, bad[i].fragment);
    }
    /* The file form and the JSON form refuse it too. */
    expect_parse_error("-- job: wipe\n-- domain: d\nDELETE FROM d.silver.t", "single SELECT");
    json_t *json = json_pack("{s:s, s:s, s:s}", "domain", "d", "job_name", "two", "query",
                             "SELECT 1; SELECT 2");
    struct job_def parsed;
    assert_int_equal(-1, job_from_json(json, &parsed, err));
    assert_non_null(strstr(err, "single SELECT"));
    json_decref(json);
}

static void test_validate(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct job_def job = {.domain = "demo", .name = "j", .sql = (char *)"SELECT 1 AS x",
                          .write_mode = JOB_WRITE_OVERWRITE,
                          .schedule = JOB_SCHEDULE_DEPENDENCY};
    assert_int_equal(0, job_validate(&job, err));
    job.sql = (char *)"   \n";
    assert_int_equal(-1, job_validate(&job, err));
    assert_non_null(strstr(err, "empty SQL"));
    job.sql = (char *)"SELECT 1 AS x";
    job.schedule = JOB_SCHEDULE_CRON;
    assert_int_equal(-1, job_validate(&job, err));
    assert_non_null(strstr(err, "needs a cron expression"));
    strcpy(job.cron, "0 0 * * *");
    assert_int_equal(0, job_validate(&job, err));
    strcpy(job.unique_key, "a,b");
    assert_int_equal(-1, job_validate(&job, err));
    assert_non_null(strstr(err, "needs write_mode append"));
    job.write_mode = JOB_WRITE_APPEND;
    assert_int_equal(0, job_validate(&job, err));
    strcpy(job.name, "sqlite_x");
    assert_int_equal(-1, job_validate(&job, err));
    assert_non_null(strstr(err, "reserved"));
}

static void test_json_round_trip(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    json_t *in = json_pack("{s:s, s:s, s:s, s:[s,s], s:s}", "domain", "demo", "job_name", "up",
                           "query", "SELECT a, b FROM demo.silver.t", "unique_key", "a", "b",
                           "schedule_type", "DEPENDENCY");
    struct job_def job;
    assert_int_equal(0, job_from_json(in, &job, err));
    json_decref(in);
    assert_string_equal("a,b", job.unique_key);
    assert_int_equal(JOB_WRITE_APPEND, job.write_mode);
    json_t *out = job_to_json(&job);
    assert_non_null(out);
    assert_string_equal("up", json_string_value(json_object_get(out, "job_name")));
    assert_string_equal("append", json_string_value(json_object_get(out, "write_mode")));
    assert_string_equal("a,b", json_string_value(json_object_get(out, "unique_key")));
    assert_string_equal("dependency", json_string_value(json_object_get(out, "schedule_type")));
    assert_true(json_is_null(json_object_get(out, "cron_schedule")) ||
                json_object_get(out, "cron_schedule") == NULL);
    struct job_def again;
    assert_int_equal(0, job_from_json(out, &again, err));
    assert_string_equal(job.sql, again.sql);
    assert_int_equal(job.write_mode, again.write_mode);
    json_decref(out);
    job_clear(&again);
    job_clear(&job);

    in = json_pack("{s:s, s:s, s:s, s:s}", "domain", "demo", "job_name", "x", "query", "SELECT 1",
                   "owner", "me");
    assert_int_equal(-1, job_from_json(in, &job, err));
    assert_non_null(strstr(err, "unknown key 'owner'"));
    json_decref(in);
    in = json_pack("{s:s, s:s}", "domain", "demo", "job_name", "x");
    assert_int_equal(-1, job_from_json(in, &job, err));
    assert_non_null(strstr(err, "missing 'query'"));
    json_decref(in);
    in = json_pack("{s:s, s:s, s:s, s:s}", "domain", "demo", "job_name", "x", "query", "SELECT 1",
                   "cron_schedule", "0 3 * * *");
    assert_int_equal(0, job_from_json(in, &job, err));
    assert_int_equal(JOB_SCHEDULE_CRON, job.schedule);
    json_decref(in);
    job_clear(&job);
}

static void test_accumulate(void **state)
{
    (void)state;
    struct job_def job = parse_ok("-- domain: demo\n-- unique_key: origin\n"
                                  "-- accumulate: flights , delay_sum\n"
                                  "SELECT origin, 1 AS flights, 2 AS delay_sum\n",
                                  "acc.sql");
    assert_string_equal("flights,delay_sum", job.accumulate);
    assert_true(job_column_listed(job.accumulate, "delay_sum"));
    assert_true(job_column_listed(job.accumulate, "FLIGHTS"));
    assert_false(job_column_listed(job.accumulate, "delay"));
    assert_false(job_column_listed(job.accumulate, "flights,delay_sum"));
    json_t *out = job_to_json(&job);
    assert_string_equal("flights,delay_sum",
                        json_string_value(json_object_get(out, "accumulate")));
    struct job_def again;
    char err[ERROR_MAX] = "";
    assert_int_equal(0, job_from_json(out, &again, err));
    assert_string_equal("flights,delay_sum", again.accumulate);
    json_decref(out);
    job_clear(&again);
    job_clear(&job);

    /* the JSON array form */
    json_t *in = json_pack("{s:s, s:s, s:s, s:s, s:[s,s]}", "domain", "demo", "job_name", "a",
                           "query", "SELECT 1 AS k, 2 AS n, 3 AS s", "unique_key", "k",
                           "accumulate", "n", "s");
    assert_int_equal(0, job_from_json(in, &job, err));
    assert_string_equal("n,s", job.accumulate);
    json_decref(in);
    job_clear(&job);

    expect_parse_error("-- domain: demo\n-- accumulate: n\nSELECT 1 AS n\n",
                       "accumulate adds to the stored row of a key and needs a unique_key");
    expect_parse_error("-- domain: demo\n-- unique_key: k, n\n-- accumulate: n\n"
                       "SELECT 1 AS k, 2 AS n\n",
                       "column 'n' is in unique_key and accumulate");
    expect_parse_error("-- domain: demo\n-- unique_key: k\n-- accumulate: n, n\nSELECT 1\n",
                       "accumulate: column 'n' is listed twice");
    expect_parse_error("-- domain: demo\n-- unique_key: k\n-- accumulate: n;x\nSELECT 1\n",
                       "accumulate");
}

static void test_dependencies(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct job_def job = {.domain = "demo", .name = "j",
                          .sql = (char *)"SELECT * FROM demo.silver.a JOIN demo.gold.b "
                                         "JOIN demo.silver.a AS again JOIN air.silver.a"};
    struct sqlref *refs = NULL;
    size_t n = 0;
    assert_int_equal(0, job_dependencies(&job, &refs, &n, err));
    assert_int_equal(3, n);
    assert_string_equal("a", refs[0].table);
    assert_int_equal(SQLREF_GOLD, refs[1].layer);
    assert_string_equal("air", refs[2].domain);
    free(refs);
}

static struct job_def mk(const char *domain, const char *name, const char *sql)
{
    struct job_def j = {.write_mode = JOB_WRITE_OVERWRITE, .schedule = JOB_SCHEDULE_DEPENDENCY};
    strcpy(j.domain, domain);
    strcpy(j.name, name);
    j.sql = (char *)sql;
    return j;
}

static void test_cycles(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct job_def jobs[4];
    /* self reference */
    struct job_def self = mk("demo", "a", "SELECT * FROM demo.gold.a");
    assert_int_equal(-1, job_check_cycle(NULL, 0, &self, err));
    assert_string_equal("cycle: demo.a -> demo.a", err);

    /* a chain is fine: b reads a, c reads b */
    jobs[0] = mk("demo", "a", "SELECT * FROM demo.silver.src");
    jobs[1] = mk("demo", "b", "SELECT * FROM demo.gold.a");
    struct job_def c = mk("demo", "c", "SELECT * FROM demo.gold.b JOIN demo.gold.a");
    assert_int_equal(0, job_check_cycle(jobs, 2, &c, err));
    jobs[2] = c;

    /* replacing a to read c closes a cycle a -> c -> b -> a (or a -> c -> a) */
    struct job_def a2 = mk("demo", "a", "SELECT * FROM demo.gold.c");
    assert_int_equal(-1, job_check_cycle(jobs, 3, &a2, err));
    assert_true(strncmp(err, "cycle: demo.a -> demo.c -> ", 27) == 0);
    assert_non_null(strstr(err, "-> demo.a"));

    /* two jobs */
    struct job_def a3 = mk("demo", "a", "SELECT * FROM demo.gold.b");
    assert_int_equal(-1, job_check_cycle(jobs, 2, &a3, err));
    assert_string_equal("cycle: demo.a -> demo.b -> demo.a", err);

    /* a longer cycle across domains: x.p -> y.q -> z.r -> x.p */
    jobs[0] = mk("y", "q", "SELECT * FROM z.gold.r");
    jobs[1] = mk("z", "r", "SELECT * FROM x.gold.p");
    jobs[2] = mk("w", "unrelated", "SELECT * FROM x.gold.p");
    struct job_def p = mk("x", "p", "SELECT * FROM w.silver.t JOIN y.gold.q");
    assert_int_equal(-1, job_check_cycle(jobs, 3, &p, err));
    assert_string_equal("cycle: x.p -> y.q -> z.r -> x.p", err);
    /* the same name in another domain or layer is not an edge */
    struct job_def p2 = mk("x", "p", "SELECT * FROM y.silver.q JOIN q.gold.y");
    assert_int_equal(0, job_check_cycle(jobs, 3, &p2, err));

    /* replacing the job that closed the cycle removes it */
    jobs[0] = mk("demo", "a", "SELECT * FROM demo.gold.b");
    jobs[1] = mk("demo", "b", "SELECT * FROM demo.silver.s");
    struct job_def b2 = mk("demo", "b", "SELECT * FROM demo.silver.t");
    assert_int_equal(0, job_check_cycle(jobs, 2, &b2, err));
    struct job_def b3 = mk("demo", "b", "SELECT * FROM demo.gold.a");
    assert_int_equal(-1, job_check_cycle(jobs, 2, &b3, err));
    assert_string_equal("cycle: demo.b -> demo.a -> demo.b", err);
}

static void test_copy(void **state)
{
    (void)state;
    struct job_def src = parse_ok("-- job: a\n-- domain: d\n-- unique_key: k\nSELECT k FROM d.silver.s",
                                  NULL);
    struct job_def dst;
    assert_int_equal(0, job_copy(&dst, &src));
    assert_ptr_not_equal(src.sql, dst.sql);
    assert_string_equal(src.sql, dst.sql);
    assert_string_equal("k", dst.unique_key);
    job_clear(&src);
    assert_string_equal("SELECT k FROM d.silver.s", dst.sql);
    job_clear(&dst);
    job_clear(NULL);
}

static void test_mode_names(void **state)
{
    (void)state;
    enum job_write_mode m;
    enum job_schedule s;
    assert_int_equal(0, job_write_mode_from_name("append", &m));
    assert_int_equal(JOB_WRITE_APPEND, m);
    assert_int_equal(-1, job_write_mode_from_name("upsert", &m));
    assert_int_equal(0, job_schedule_from_name("cron", &s));
    assert_int_equal(JOB_SCHEDULE_CRON, s);
    assert_int_equal(-1, job_schedule_from_name("", &s));
    assert_string_equal("overwrite", job_write_mode_name(JOB_WRITE_OVERWRITE));
    assert_string_equal("dependency", job_schedule_name(JOB_SCHEDULE_DEPENDENCY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_header),
        cmocka_unit_test(test_defaults_and_file_name),
        cmocka_unit_test(test_unique_key_and_cron),
        cmocka_unit_test(test_comments_crlf_bom),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_accumulate),
        cmocka_unit_test(test_dependencies),
        cmocka_unit_test(test_single_select),
        cmocka_unit_test(test_cycles),
        cmocka_unit_test(test_index_and_model),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_mode_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

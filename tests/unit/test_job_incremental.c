/* test_job_incremental.c - incremental jobs (job.h): the header and JSON
 * forms, validation of bare @changes, and the sqlref forms they rely on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "job.h"
#include "sqlref.h"

#define INC_SQL                                                                                 \
    "SELECT origin, count(*) AS n, count(*) = 0 AS _delete\n"                                   \
    "FROM demo.silver.flights@changes GROUP BY origin"

static void test_header(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct job_def job;
    assert_int_equal(0, job_parse_sql_file("-- domain: demo\n-- unique_key: origin\n"
                                           "-- incremental: TRUE\n" INC_SQL,
                                           "inc.sql", &job, err));
    assert_true(job.incremental);
    assert_int_equal(JOB_WRITE_APPEND, job.write_mode);
    job_clear(&job);

    assert_int_equal(0, job_parse_sql_file("-- domain: demo\n-- incremental: false\n"
                                           "SELECT 1 AS a FROM demo.silver.t",
                                           "x.sql", &job, err));
    assert_false(job.incremental);
    job_clear(&job);

    assert_int_equal(-1, job_parse_sql_file("-- domain: demo\n-- unique_key: origin\n"
                                            "-- incremental: yes\n" INC_SQL,
                                            "inc.sql", &job, err));
    assert_non_null(strstr(err, "line 3: incremental must be true or false"));
    /* not incremental: bare @changes says what to add */
    assert_int_equal(-1, job_parse_sql_file("-- domain: demo\n-- unique_key: origin\n" INC_SQL,
                                            "inc.sql", &job, err));
    assert_non_null(strstr(err, "incremental: true"));
    /* incremental overwrite */
    assert_int_equal(-1, job_parse_sql_file("-- domain: demo\n-- incremental: true\n" INC_SQL,
                                            "inc.sql", &job, err));
    assert_non_null(strstr(err, "incremental needs write_mode append"));
    /* a range is fine anywhere */
    assert_int_equal(0, job_parse_sql_file("-- domain: demo\n"
                                           "SELECT * FROM demo.silver.t@changes(3, 7)",
                                           "r.sql", &job, err));
    job_clear(&job);
}

static void test_json(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct job_def job;
    json_t *in = json_pack("{s:s, s:s, s:s, s:s, s:b}", "domain", "demo", "job_name", "inc",
                           "query", INC_SQL, "unique_key", "origin", "incremental", 1);
    assert_int_equal(0, job_from_json(in, &job, err));
    json_decref(in);
    assert_true(job.incremental);
    json_t *out = job_to_json(&job);
    assert_true(json_is_true(json_object_get(out, "incremental")));
    struct job_def again;
    assert_int_equal(0, job_from_json(out, &again, err));
    assert_true(again.incremental);
    json_decref(out);
    job_clear(&again);
    job_clear(&job);

    in = json_pack("{s:s, s:s, s:s, s:s}", "domain", "demo", "job_name", "inc", "query", INC_SQL,
                   "incremental", "true");
    assert_int_equal(-1, job_from_json(in, &job, err));
    assert_non_null(strstr(err, "'incremental' must be true or false"));
    json_decref(in);
}

struct seen {
    int bare, range;
};

static int note(void *arg, const struct sqlref *ref, const struct sqlref_at *at, char **text,
                char err[ERROR_MAX])
{
    (void)ref;
    (void)err;
    struct seen *s = arg;
    if (at->kind == SQLREF_AT_CHANGES && at->snapshot < 0)
        s->bare++;
    else if (at->kind == SQLREF_AT_CHANGES)
        s->range++;
    *text = strdup("(SELECT 1)");
    return 0;
}

static void test_sqlref_forms(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    char *out = NULL;
    struct seen s = {0};
    assert_int_equal(0, sqlref_rewrite_at("SELECT * FROM d.silver.t@changes WHERE 1 "
                                          "UNION ALL SELECT * FROM d.silver.t@changes)"
                                          " UNION ALL SELECT * FROM d.silver.t@changes (2)",
                                          note, &s, &out, NULL, NULL, err));
    assert_int_equal(2, s.bare);
    assert_int_equal(1, s.range);
    free(out);
    /* @changesx is no form */
    assert_int_equal(-1, sqlref_rewrite_at("SELECT * FROM d.silver.t@changesx", note, &s, &out,
                                           NULL, NULL, err));
    /* main-domain gold references become main */
    assert_int_equal(0, sqlref_rewrite_main_at("SELECT * FROM d.gold.g, d.silver.t@changes",
                                               SQLREF_GOLD, "d", note, &s, &out, NULL, NULL,
                                               err));
    assert_non_null(strstr(out, "\"main\".\"g\""));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_sqlref_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_expectation.c - unit tests of common/expect.c: the expectations of a schema
 * (parsing in schema.c, the sandbox that checks rules, evaluation with
 * CHECK-constraint semantics). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "expectation.h"
#include "schema.h"

static struct schema *with_rule(const char *rule, const char *action, char err[ERROR_MAX])
{
    json_t *j = json_pack("{s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:[{s:s, s:s, s:s}]}", "domain",
                          "air", "name", "t", "columns", "name", "delay", "type", "integer",
                          "name", "origin", "type", "string", "expectations", "name", "r1", "rule",
                          rule, "action", action);
    assert_non_null(j);
    struct schema *s = schema_from_json(j, err);
    json_decref(j);
    return s;
}

static void test_parse_and_round_trip(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct schema *s = with_rule("delay > -120", "drop", err);
    assert_non_null(s);
    assert_int_equal(s->expectation_count, 1);
    assert_int_equal(s->expectations[0].action, SCHEMA_EXPECT_DROP);
    json_t *j = schema_to_json(s);
    struct schema *back = schema_from_json(j, err);
    json_decref(j);
    assert_non_null(back);
    assert_string_equal(back->expectations[0].rule, "delay > -120");
    struct schema *copy = schema_copy(back);
    assert_string_equal(copy->expectations[0].name, "r1");
    schema_destroy(&copy);
    schema_destroy(&back);
    schema_destroy(&s);
    assert_null(with_rule("delay > 0", "explode", err));
    assert_non_null(strstr(err, "\"action\" must be warn, drop or fail"));
    assert_null(with_rule("", "warn", err));
}

static void test_check_sandbox(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    static const char *const ok[] = {"delay > -120", "origin IS NOT NULL",
                                     "length(origin) = 3 AND delay BETWEEN -60 AND 600",
                                     "origin IN ('SEA', 'SFO')", "coalesce(delay, 0) >= 0"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        struct schema *s = with_rule(ok[i], "warn", err);
        assert_non_null(s);
        assert_int_equal(expectation_check(s, err), 0);
        schema_destroy(&s);
    }
    static const char *const bad[] = {"(SELECT count(*) FROM sqlite_master) > 0",
                                      "1; DROP TABLE x",
                                      "nope > 1",
                                      "1) FROM sqlite_master --",
                                      "(SELECT name FROM pragma_table_info('t')) IS NULL",
                                      "delay > 1) UNION SELECT (1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct schema *s = with_rule(bad[i], "warn", err);
        assert_non_null(s);
        if (expectation_check(s, err) == 0)
            fail_msg("rule accepted: %s", bad[i]);
        assert_non_null(strstr(err, "expectation 'r1'"));
        schema_destroy(&s);
    }
}

static void test_eval(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct schema *s = with_rule("delay < 300", "drop", err);
    struct expectation_set *e = NULL;
    assert_int_equal(expectation_open(s, &e, err), 0);
    schema_destroy(&s); /* expect keeps its own copy */
    bool failed[1];
    json_t *r = json_pack("{s:i, s:s}", "delay", 12, "origin", "SEA");
    assert_int_equal(expectation_eval(e, r, failed, err), 0);
    assert_false(failed[0]);
    json_object_set_new(r, "delay", json_integer(301));
    assert_int_equal(expectation_eval(e, r, failed, err), 0);
    assert_true(failed[0]);
    json_object_del(r, "delay"); /* NULL passes, like a CHECK constraint */
    assert_int_equal(expectation_eval(e, r, failed, err), 0);
    assert_false(failed[0]);
    json_decref(r);
    expectation_close(&e);
    assert_null(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_round_trip),
        cmocka_unit_test(test_check_sandbox),
        cmocka_unit_test(test_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

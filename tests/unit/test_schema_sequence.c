/* test_schema_sequence.c - unit tests of the "sequence_by" field of endpoint
 * schemas (common/schema.c): parsing and its rules, the JSON round trip, and
 * the compatibility rule that refuses changing it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "schema.h"

#define QUAKES(seq, type)                                                                          \
    "{\"domain\":\"geo\",\"name\":\"quakes\"" seq ",\"columns\":["                                 \
    "{\"name\":\"id\",\"type\":\"string\",\"primary_key\":true},"                                  \
    "{\"name\":\"updated\",\"type\":\"" type "\"},"                                                \
    "{\"name\":\"place\",\"type\":\"string\"}]}"

static struct schema *parse(const char *text, char err[ERROR_MAX])
{
    json_error_t jerr;
    json_t *json = json_loads(text, 0, &jerr);
    assert_non_null(json);
    struct schema *s = schema_from_json(json, err);
    json_decref(json);
    return s;
}

static void test_sequence_by_types(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    static const char *const ok[] = {QUAKES(",\"sequence_by\":\"updated\"", "integer"),
                                     QUAKES(",\"sequence_by\":\"updated\"", "float"),
                                     QUAKES(",\"sequence_by\":\"updated\"", "timestamp"),
                                     QUAKES(",\"sequence_by\":\"updated\"", "date")};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        struct schema *s = parse(ok[i], err);
        assert_non_null(s);
        assert_string_equal(s->sequence_by, "updated");
        schema_destroy(&s);
    }
    assert_null(parse(QUAKES(",\"sequence_by\":\"updated\"", "string"), err));
    assert_non_null(strstr(err, "sequence_by column 'updated' is string"));
    assert_null(parse(QUAKES(",\"sequence_by\":\"nope\"", "integer"), err));
    assert_non_null(strstr(err, "sequence_by 'nope' is not a column"));
    assert_null(parse(QUAKES(",\"sequence_by\":3", "integer"), err));
    assert_null(parse("{\"domain\":\"geo\",\"name\":\"q\",\"sequence_by\":\"t\",\"columns\":["
                      "{\"name\":\"t\",\"type\":\"integer\"}]}",
                      err));
    assert_non_null(strstr(err, "needs a primary key"));
}

static void test_sequence_by_round_trip_and_compat(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct schema *a = parse(QUAKES(",\"sequence_by\":\"updated\"", "integer"), err);
    assert_non_null(a);
    json_t *j = schema_to_json(a);
    assert_string_equal(json_string_value(json_object_get(j, "sequence_by")), "updated");
    struct schema *b = schema_from_json(j, err);
    json_decref(j);
    assert_non_null(b);
    assert_int_equal(schema_check_compatible(a, b, err), 0);
    struct schema *none = parse(QUAKES("", "integer"), err);
    assert_non_null(none);
    assert_string_equal(none->sequence_by, "");
    j = schema_to_json(none);
    assert_null(json_object_get(j, "sequence_by"));
    json_decref(j);
    assert_int_equal(schema_check_compatible(a, none, err), -1);
    assert_non_null(strstr(err, "sequence_by: changing it from 'updated' to ''"));
    assert_int_equal(schema_check_compatible(none, a, err), -1);
    struct schema *copy = schema_copy(a);
    assert_string_equal(copy->sequence_by, "updated");
    schema_destroy(&copy);
    schema_destroy(&none);
    schema_destroy(&b);
    schema_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_by_types),
        cmocka_unit_test(test_sequence_by_round_trip_and_compat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

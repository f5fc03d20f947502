/* test_ingest_jsonout.c - unit tests of ingest's compact JSON writer
 * (ingest/jsonout.h) and of schema_normalize_values, the object-free
 * validation it serialises, and of the fast NDJSON reader
 * (fields_read_json, ingest/fields.h) + schema_normalize_fields, which must store exactly
 * what the jansson path stores. The writer must produce json_dumpb's text
 * (except the documented shorter reals) and every real must read back as the
 * same double. It links ingest's library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../ingest/fields.h"
#include "../../ingest/jsonout.h"
#include "schema.h"

/* The writer's text of v, NUL-terminated; caller frees. */
static char *write_value(const json_t *v)
{
    struct strbuf b = {0};
    assert_true(jsonout_value(&b, v));
    assert_true(strbuf_append(&b, "", 1));
    return b.s;
}

static void same_as_jansson(const char *doc)
{
    json_error_t e;
    json_t *v = json_loads(doc, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    assert_non_null(v);
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *got = write_value(v);
    assert_string_equal(got, want);
    free(want);
    free(got);
    json_decref(v);
}

static void test_structure_and_strings(void **state)
{
    (void)state;
    same_as_jansson("{\"a\":1,\"b\":\"x\\\"y\\\\z\\n\\t\\r\\b\\f\\u0001\\u001f\\u0000/\xc3\xa9"
                    "\xe2\x82\xac\xf0\x9f\x98\x80\",\"c\":[1,-9223372036854775808,"
                    "9223372036854775807,true,false,null,{},[]],\"d\":{\"k\\n\":[\"\"]}}");
    same_as_jansson("[\"\\u007f\",0,-1,\"\"]");
    same_as_jansson("{\"z\":1,\"a\":2,\"m\":{\"y\":[1,[2,[3]]]}}"); /* insertion order */
    same_as_jansson("\"long run without escapes then one\\\" at the end\"");
}

static char *write_real(double d)
{
    struct strbuf b = {0};
    assert_true(jsonout_real(&b, d));
    assert_true(strbuf_append(&b, "", 1));
    return b.s;
}

static void expect_real(double d, const char *want)
{
    char *got = write_real(d);
    assert_string_equal(got, want);
    free(got);
}

static void test_real_forms(void **state)
{
    (void)state;
    expect_real(14.56, "14.56");
    expect_real(0.1, "0.1");            /* jansson: 0.10000000000000001 */
    expect_real(3.14159, "3.14159");    /* jansson: 3.1415899999999999 */
    expect_real(5.0, "5.0");
    expect_real(-5.0, "-5.0");
    expect_real(0.0, "0.0");
    expect_real(-0.0, "-0.0");
    expect_real(0.001, "0.001");
    expect_real(-2.25, "-2.25");
    expect_real(0.30000000000000004, "0.30000000000000004");
    expect_real(0.016666666666666666, "0.016666666666666666");
    /* outside the exact range: jansson's own "%.17g" form */
    expect_real(1e300, "1.0000000000000001e300");
    expect_real(1e-7, "9.9999999999999995e-8");
    expect_real(1e22, "1e22");
    expect_real(1e17, "1e17");
    expect_real(9007199254740992.0, "9007199254740992.0");
}

static void test_real_round_trip(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL; /* xorshift: deterministic */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        switch (i % 4) {
        case 0: memcpy(&d, &x, sizeof d); break;                       /* any bit pattern */
        case 1: d = (double)(x % 1000000) / 100.0; break;              /* 2 decimals */
        case 2: d = (double)(x % 100000) / 60.0; break;                /* 17 digits */
        default: d = ldexp(1.0, (int)(x % 80) - 20); break;            /* powers of two */
        }
        if (!isfinite(d))
            continue;
        char *s = write_real(d);
        json_t *back = json_loads(s, JSON_DECODE_ANY, NULL);
        assert_non_null(back);
        assert_true(json_is_real(back));
        double r = json_real_value(back);
        assert_memory_equal(&r, &d, sizeof d);
        json_decref(back);
        free(s);
    }
}

/* The values path serialises to the object path's text, errors included. */
static void test_normalize_values_matches_object(void **state)
{
    (void)state;
    json_t *def = json_loads(
        "{\"domain\":\"d\",\"name\":\"e\",\"mode\":\"MANUAL\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"ts\",\"type\":\"timestamp\",\"format\":\"%Y/%m/%d %H:%M\"},"
        "{\"name\":\"f\",\"type\":\"float\"},{\"name\":\"b\",\"type\":\"boolean\"},"
        "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":8,\"scale\":2},"
        "{\"name\":\"s\",\"type\":\"string\",\"required\":true}]}",
        0, NULL);
    char err[ERROR_MAX];
    struct schema *schema = schema_from_json(def, err);
    assert_non_null(schema);
    const char *records[] = {
        "{\"id\":1,\"ts\":\"2001/01/13 14:56\",\"f\":1.5,\"b\":\"TRUE\",\"p\":\"12.5\",\"s\":\"x\"}",
        "{\"s\":\"y\",\"id\":\"2\",\"f\":3,\"extra\":{\"k\":[1]},\"p\":7}",
        "{\"id\":3,\"s\":\"z\",\"ts\":null,\"unknown\":null}",
        "{\"s\":\"no id\"}",
        "{\"id\":4}",
        "{\"id\":5,\"s\":\"q\",\"f\":\"abc\"}",
        "{\"id\":6,\"s\":\"q\",\"p\":\"123456789.1\"}",
    };
    for (size_t i = 0; i < sizeof records / sizeof records[0]; i++) {
        json_t *rec = json_loads(records[i], 0, NULL);
        assert_non_null(rec);
        for (int check = 0; check <= 1; check++) {
            json_t *obj = NULL;
            char err_obj[ERROR_MAX] = "", err_val[ERROR_MAX] = "";
            int rc_obj = check ? schema_validate_record(schema, rec, &obj, err_obj)
                               : schema_passthrough_record(schema, rec, &obj, err_obj);
            json_t *values[8];
            json_t *rescued = NULL;
            int rc_val =
                schema_normalize_values(schema, rec, check != 0, values, &rescued, err_val);
            assert_int_equal(rc_val, rc_obj);
            if (rc_obj < 0) {
                assert_string_equal(err_val, err_obj);
                for (size_t c = 0; c < schema->column_count; c++)
                    assert_null(values[c]);
                assert_null(rescued);
                continue;
            }
            json_t *rebuilt = json_object();
            for (size_t c = 0; c < schema->column_count; c++)
                if (values[c] != NULL)
                    json_object_set_new(rebuilt, schema->columns[c].name, values[c]);
            if (rescued != NULL)
                json_object_set_new(rebuilt, "_rescued", rescued);
            char *a = write_value(obj), *b = write_value(rebuilt);
            assert_string_equal(b, a);
            free(a);
            free(b);
            json_decref(rebuilt);
            json_decref(obj);
        }
        json_decref(rec);
    }
    schema_destroy(&schema);
    json_decref(def);
}

/* Lines the fast reader takes must give the jansson path's values, line
 * text and refusals; the others it must leave to jansson. */
static void test_fast_reader_matches_jansson(void **state)
{
    (void)state;
    json_t *def = json_loads(
        "{\"domain\":\"d\",\"name\":\"e\",\"mode\":\"MANUAL\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"ts\",\"type\":\"timestamp\",\"format\":\"%Y/%m/%d %H:%M\"},"
        "{\"name\":\"f\",\"type\":\"float\"},{\"name\":\"b\",\"type\":\"boolean\"},"
        "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":40,\"scale\":2},"
        "{\"name\":\"s\",\"type\":\"string\",\"required\":true}]}",
        0, NULL);
    char err[ERROR_MAX];
    struct schema *schema = schema_from_json(def, err);
    assert_non_null(schema);
    struct {
        const char *line;
        int fast; /* what fields_read_json answers */
    } cases[] = {
        {"{\"id\":1,\"ts\":\"2001/01/13 14:56\",\"f\":1.5,\"b\":\"TRUE\",\"p\":\"12.5\",\"s\":\"x\"}", 1},
        {" {\"s\" : \"a\\\"b\\\\c\\/d\\n\\t\u00e9\" , \"id\":\"2\",\"f\":3,\"p\":7,\"zz\":-0.5e-3}\t", 1},
        {"{\"id\":3,\"s\":\"z\",\"ts\":null,\"unknown\":null,\"b\":false}", 1},
        {"{\"s\":\"no id\"}", 1},
        {"{\"id\":5,\"s\":\"q\",\"f\":\"abc\"}", 1},
        {"{\"id\":-9223372036854775808,\"s\":\"q\",\"f\":1E2,\"p\":123456789012345}", 1},
        {"{\"id\":6,\"s\":\"q\",\"p\":0.1,\"f\":1e-400}", 1},
        {"{}", 1},
        {"{\"id\":7,\"s\":\"\\u00e9\"}", 0},         /* \u escape */
        {"{\"id\":8,\"s\":\"x\",\"extra\":{\"k\":1}}", 0}, /* nested */
        {"{\"id\":9,\"id\":10,\"s\":\"x\"}", 0},          /* duplicate key */
        {"{\"id\":9223372036854775808,\"s\":\"x\"}", 0},   /* beyond int64 */
        {"{\"id\":01,\"s\":\"x\"}", 0},
        {"{\"id\":1,\"s\":\"x\"} x", 0},
        {"{\"id\":1,\"s\":\"x\",}", 0},
        {"{\"id\":1e999,\"s\":\"x\"}", 0},
        {"{\"id\":1,\"s\":\"\xc3\x28\"}", 0},            /* invalid UTF-8 */
        {"{\"id\":1,\"s\":\"\ttab\"}", 0},                /* raw control character */
        {"[1,2]", 0},
        {"{\"id\":tru,\"s\":\"x\"}", 0},
    };
    struct fields fs = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *line = cases[i].line;
        int fast = fields_read_json(line, strlen(line), &fs);
        assert_int_equal(fast, cases[i].fast);
        if (fast != 1)
            continue;
        json_t *rec = json_loadb(line, strlen(line), JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
        assert_non_null(rec);
        assert_int_equal(json_object_size(rec), fs.count);
        for (int check = 0; check <= 1; check++) {
            json_t *values[8], *rescued = NULL, *rescued_fast = NULL;
            char err_slow[ERROR_MAX] = "", err_fast[ERROR_MAX] = "";
            struct schema_value out[8];
            int rc_slow = schema_normalize_values(schema, rec, check != 0, values, &rescued, err_slow);
            int rc_fast = schema_normalize_fields(schema, fs.f, fs.count, check != 0, out,
                                                  &rescued_fast, err_fast);
            assert_int_equal(rc_fast, rc_slow);
            if (rc_slow < 0) {
                assert_string_equal(err_fast, err_slow);
                continue;
            }
            struct strbuf a = {0}, b = {0};
            for (size_t c = 0; c < schema->column_count; c++) {
                assert_int_equal(values[c] == NULL, out[c].kind == SCHEMA_VALUE_ABSENT);
                if (values[c] == NULL)
                    continue;
                assert_true(jsonout_value(&a, values[c]));
                assert_true(jsonout_schema_value(&b, &out[c]));
                assert_true(strbuf_append(&a, ",", 1) && strbuf_append(&b, ",", 1));
                json_decref(values[c]);
            }
            assert_int_equal(rescued == NULL, rescued_fast == NULL);
            if (rescued != NULL) {
                assert_true(jsonout_value(&a, rescued) && jsonout_value(&b, rescued_fast));
            }
            assert_true(strbuf_append(&a, "", 1) && strbuf_append(&b, "", 1));
            assert_string_equal(b.s, a.s);
            strbuf_free(&a);
            strbuf_free(&b);
            schema_values_clear(out, schema->column_count);
            json_decref(rescued);
            json_decref(rescued_fast);
        }
        json_decref(rec);
    }
    fields_free(&fs);
    schema_destroy(&schema);
    json_decref(def);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure_and_strings),
        cmocka_unit_test(test_real_forms),
        cmocka_unit_test(test_real_round_trip),
        cmocka_unit_test(test_normalize_values_matches_object),
        cmocka_unit_test(test_fast_reader_matches_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ingest_validate.c - unit tests of ingest/validate.c (validation and
 * normalisation of every type, coercions, decimals, _rescued, SINGLE_COLUMN)
 * and of the schema model it applies (common/schema.c: the JSON form,
 * AUTO_INFERENCE evolution, the compatibility rule). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "schema.h"
#include "../../ingest/validate.h"

#define FLIGHTS_SCHEMA                                                                             \
    "{\"domain\":\"demo\",\"name\":\"flights\",\"mode\":\"MANUAL\",\"columns\":["              \
    "{\"name\":\"date\",\"type\":\"timestamp\",\"format\":\"%Y/%m/%d %H:%M\"},"                \
    "{\"name\":\"delay\",\"type\":\"integer\"},"                                                \
    "{\"name\":\"distance\",\"type\":\"integer\"},"                                             \
    "{\"name\":\"origin\",\"type\":\"string\"},"                                                \
    "{\"name\":\"destination\",\"type\":\"string\"}]}"

#define ALL_TYPES_SCHEMA                                                                           \
    "{\"domain\":\"demo\",\"name\":\"types\",\"columns\":["                                     \
    "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"                              \
    "{\"name\":\"s\",\"type\":\"string\"},"                                                     \
    "{\"name\":\"i\",\"type\":\"integer\"},"                                                    \
    "{\"name\":\"f\",\"type\":\"float\"},"                                                      \
    "{\"name\":\"b\",\"type\":\"boolean\"},"                                                    \
    "{\"name\":\"ts\",\"type\":\"timestamp\"},"                                                 \
    "{\"name\":\"d\",\"type\":\"date\"},"                                                       \
    "{\"name\":\"j\",\"type\":\"json\"},"                                                       \
    "{\"name\":\"a\",\"type\":\"array\"},"                                                      \
    "{\"name\":\"dec\",\"type\":\"decimal\"},"                                                  \
    "{\"name\":\"price\",\"type\":\"decimal\",\"precision\":5,\"scale\":2},"                    \
    "{\"name\":\"p7\",\"type\":\"decimal\",\"precision\":7},"                                   \
    "{\"name\":\"req\",\"type\":\"string\",\"required\":false}]}"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        fail_msg("bad test JSON '%s': %s", text, jerr.text);
    return j;
}

static struct schema *schema_parse(const char *text)
{
    char err[ERROR_MAX] = "";
    json_t *j = parse(text);
    struct schema *s = schema_from_json(j, err);
    json_decref(j);
    if (s == NULL)
        fail_msg("schema refused: %s", err);
    return s;
}

/* schema_from_json must refuse text with a message containing want. */
static void schema_refused(const char *text, const char *want)
{
    char err[ERROR_MAX] = "";
    json_t *j = parse(text);
    struct schema *s = schema_from_json(j, err);
    json_decref(j);
    if (s != NULL) {
        schema_destroy(&s);
        fail_msg("schema accepted, expected error containing '%s': %s", want, text);
    }
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' does not contain '%s'", err, want);
}

static void assert_json(const json_t *got, const char *expected)
{
    json_t *want = parse(expected);
    if (!json_equal((json_t *)got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        fail_msg("got %s, expected %s", g ? g : "(null)", expected);
    }
    json_decref(want);
}

/* Validate record text; compare the normalised form with expected (exact
 * key order too, through the compact dump). */
static void valid(const struct schema *s, const char *record, const char *expected)
{
    char err[ERROR_MAX] = "";
    json_t *r = parse(record);
    json_t *out = NULL;
    int rc = schema_validate_record(s, r, &out, err);
    json_decref(r);
    if (rc != 0)
        fail_msg("record %s refused: %s", record, err);
    assert_json(out, expected);
    json_t *want = parse(expected);
    char *a = json_dumps(out, JSON_COMPACT);
    char *b = json_dumps(want, JSON_COMPACT);
    if (strcmp(a, b) != 0)
        fail_msg("key order: got %s, expected %s", a, b);
    free(a);
    free(b);
    json_decref(want);
    json_decref(out);
}

static void invalid(const struct schema *s, const char *record, const char *want)
{
    char err[ERROR_MAX] = "";
    json_t *r = parse(record);
    json_t *out = NULL;
    int rc = schema_validate_record(s, r, &out, err);
    json_decref(r);
    if (rc == 0) {
        char *g = json_dumps(out, JSON_COMPACT);
        fail_msg("record %s accepted as %s, expected error containing '%s'", record, g, want);
    }
    assert_null(out);
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' does not contain '%s'", err, want);
}

/* ------------------------------------------------------------------ tests */

static void test_names(void **state)
{
    (void)state;
    for (int t = SCHEMA_TYPE_STRING; t <= SCHEMA_TYPE_DECIMAL; t++) {
        enum schema_type back;
        assert_int_equal(schema_type_from_name(schema_type_name((enum schema_type)t), &back), 0);
        assert_int_equal(back, t);
    }
    enum schema_type t;
    assert_int_equal(schema_type_from_name("varchar", &t), -1);
    assert_string_equal(schema_type_sql(SCHEMA_TYPE_STRING), "TEXT");
    assert_string_equal(schema_type_sql(SCHEMA_TYPE_INTEGER), "INTEGER");
    assert_string_equal(schema_type_sql(SCHEMA_TYPE_BOOLEAN), "INTEGER");
    assert_string_equal(schema_type_sql(SCHEMA_TYPE_FLOAT), "REAL");
    assert_string_equal(schema_type_sql(SCHEMA_TYPE_DECIMAL), "TEXT");
    assert_string_equal(schema_type_sql(SCHEMA_TYPE_TIMESTAMP), "TEXT");
    enum schema_mode m;
    assert_int_equal(schema_mode_from_name("AUTO_INFERENCE", &m), 0);
    assert_int_equal(m, SCHEMA_MODE_AUTO_INFERENCE);
    assert_string_equal(schema_mode_name(SCHEMA_MODE_SINGLE_COLUMN), "SINGLE_COLUMN");
    assert_int_equal(schema_mode_from_name("AUTO", &m), -1);
}

static void test_from_json_and_back(void **state)
{
    (void)state;
    struct schema *s = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"orders\",\"mode\":\"MANUAL\",\"description\":\"d\","
        "\"columns\":[{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true,"
        "\"description\":\"the id\"},"
        "{\"name\":\"date\",\"type\":\"timestamp\",\"format\":\"%Y/%m/%d %H:%M\"},"
        "{\"name\":\"price\",\"type\":\"decimal\",\"precision\":12,\"scale\":2}]}");
    assert_string_equal(s->domain, "demo");
    assert_string_equal(s->name, "orders");
    assert_int_equal(s->version, 0);
    assert_int_equal(s->column_count, 3);
    assert_true(s->columns[0].primary_key);
    assert_true(s->columns[0].required); /* a primary key is required */
    assert_int_equal(schema_primary_key_count(s), 1);
    assert_string_equal(s->columns[1].format, "%Y/%m/%d %H:%M");
    assert_int_equal(s->columns[2].precision, 12);
    assert_int_equal(s->columns[2].scale, 2);
    assert_non_null(schema_find_column(s, "price"));
    assert_null(schema_find_column(s, "nope"));

    s->version = 3;
    json_t *j = schema_to_json(s);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 3);
    char err[ERROR_MAX];
    struct schema *back = schema_from_json(j, err);
    assert_non_null(back);
    assert_int_equal(back->version, 3);
    json_t *j2 = schema_to_json(back);
    assert_true(json_equal(j, j2));
    json_decref(j);
    json_decref(j2);

    struct schema *copy = schema_copy(s);
    assert_int_equal(copy->column_count, 3);
    assert_ptr_not_equal(copy->columns, s->columns);
    assert_string_equal(copy->columns[2].name, "price");
    schema_destroy(&copy);
    schema_destroy(&back);
    schema_destroy(&s);
    assert_null(s);
    schema_destroy(&s); /* NULL-safe */
}

static void test_from_json_refusals(void **state)
{
    (void)state;
    schema_refused("[]", "must be a JSON object");
    schema_refused("{\"name\":\"x\",\"columns\":[{\"name\":\"a\",\"type\":\"string\"}]}",
                   "missing \"domain\"");
    schema_refused("{\"domain\":\"Demo\",\"name\":\"x\",\"columns\":[]}", "invalid domain name");
    schema_refused("{\"domain\":\"demo\",\"name\":\"../x\",\"columns\":[]}",
                   "invalid endpoint name");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"colums\":[]}", "unknown key \"colums\"");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"mode\":\"SOMETIMES\"}", "unknown mode");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":[]}",
                   "needs at least one column");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"varchar\"}]}",
                   "column 'a': unknown type 'varchar'");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":[{\"name\":\"a\"}]}",
                   "column 'a': missing \"type\"");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"_seq\",\"type\":\"integer\"}]}",
                   "reserved");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a b\",\"type\":\"integer\"}]}",
                   "invalid column name 'a b'");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"A\",\"type\":\"string\"}]}",
                   "column 'A' is defined twice");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"integer\",\"format\":\"%Y\"}]}",
                   "\"format\" is only allowed on timestamp and date");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"string\",\"precision\":3}]}",
                   "only allowed on decimal");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"decimal\",\"precision\":3,\"scale\":4}]}",
                   "scale 4 is larger than precision 3");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"decimal\",\"precision\":-1}]}",
                   "\"precision\" must be an integer");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"json\",\"primary_key\":true}]}",
                   "primary key cannot be of type json");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"integer\",\"primary_key\":true,"
                   "\"required\":false}]}",
                   "always required");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"integer\",\"nullable\":true}]}",
                   "column 'a': unknown key \"nullable\"");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"timestamp\",\"format\":\"%s\"}]}",
                   "column 'a'");
    schema_refused("{\"domain\":\"demo\",\"name\":\"x\",\"mode\":\"SINGLE_COLUMN\",\"columns\":"
                   "[{\"name\":\"a\",\"type\":\"string\"}]}",
                   "SINGLE_COLUMN");
}

static void test_string_and_messages(void **state)
{
    (void)state;
    struct schema *s = schema_parse(FLIGHTS_SCHEMA);
    valid(s,
          "{\"destination\":\"LAX\",\"origin\":\"JFK\",\"distance\":\"2475\",\"delay\":-3,"
          "\"date\":\"2024/03/01 07:05\"}",
          "{\"date\":\"2024-03-01T07:05:00\",\"delay\":-3,\"distance\":2475,\"origin\":\"JFK\","
          "\"destination\":\"LAX\"}");
    /* the message of the header's example, exactly */
    char err[ERROR_MAX];
    json_t *r = parse("{\"delay\":\"abc\"}");
    json_t *out = NULL;
    assert_int_equal(schema_validate_record(s, r, &out, err), -1);
    assert_string_equal(err, "field 'delay': expected integer, got string \"abc\"");
    json_decref(r);
    invalid(s, "{\"origin\":5}", "field 'origin': expected string, got integer 5");
    invalid(s, "{\"origin\":[\"a\"]}", "field 'origin': expected string, got array");
    invalid(s, "[1,2]", "record is not a JSON object (got array)");
    invalid(s, "null", "record is null");
    /* absent, null: omitted */
    valid(s, "{\"origin\":null,\"delay\":1}", "{\"delay\":1}");
    valid(s, "{}", "{}");
    /* long values are cut in messages */
    invalid(s, "{\"delay\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
            "...\"");
    schema_destroy(&s);
}

static void test_integer(void **state)
{
    (void)state;
    struct schema *s = schema_parse(ALL_TYPES_SCHEMA);
    valid(s, "{\"id\":1,\"i\":42}", "{\"id\":1,\"i\":42}");
    valid(s, "{\"id\":\"7\",\"i\":\"-12\"}", "{\"id\":7,\"i\":-12}");
    valid(s, "{\"id\":1,\"i\":\"+3\"}", "{\"id\":1,\"i\":3}");
    valid(s, "{\"id\":1,\"i\":5.0}", "{\"id\":1,\"i\":5}");
    valid(s, "{\"id\":1,\"i\":\"9223372036854775807\"}", "{\"id\":1,\"i\":9223372036854775807}");
    valid(s, "{\"id\":1,\"i\":\"-9223372036854775808\"}",
          "{\"id\":1,\"i\":-9223372036854775808}");
    invalid(s, "{\"id\":1,\"i\":\"9223372036854775808\"}",
            "field 'i': integer out of range (64-bit)");
    invalid(s, "{\"id\":1,\"i\":\"99999999999999999999\"}", "integer out of range");
    invalid(s, "{\"id\":1,\"i\":1e20}", "field 'i': expected integer, got float");
    invalid(s, "{\"id\":1,\"i\":1.5}", "field 'i': expected integer, got float 1.5");
    invalid(s, "{\"id\":1,\"i\":\"1.5\"}", "expected integer, got string \"1.5\"");
    invalid(s, "{\"id\":1,\"i\":\" 42\"}", "expected integer");
    invalid(s, "{\"id\":1,\"i\":\"42 \"}", "expected integer");
    invalid(s, "{\"id\":1,\"i\":\"\"}", "expected integer");
    invalid(s, "{\"id\":1,\"i\":\"-\"}", "expected integer");
    invalid(s, "{\"id\":1,\"i\":true}", "expected integer, got boolean true");
    schema_destroy(&s);
}

static void test_float_boolean(void **state)
{
    (void)state;
    struct schema *s = schema_parse(ALL_TYPES_SCHEMA);
    valid(s, "{\"id\":1,\"f\":1.5}", "{\"id\":1,\"f\":1.5}");
    valid(s, "{\"id\":1,\"f\":3}", "{\"id\":1,\"f\":3.0}");
    valid(s, "{\"id\":1,\"f\":\"2.5e3\"}", "{\"id\":1,\"f\":2500.0}");
    valid(s, "{\"id\":1,\"f\":\"-.5\"}", "{\"id\":1,\"f\":-0.5}");
    valid(s, "{\"id\":1,\"f\":\"7\"}", "{\"id\":1,\"f\":7.0}");
    invalid(s, "{\"id\":1,\"f\":\"abc\"}", "field 'f': expected float, got string \"abc\"");
    invalid(s, "{\"id\":1,\"f\":\"nan\"}", "expected float");
    invalid(s, "{\"id\":1,\"f\":\"inf\"}", "expected float");
    invalid(s, "{\"id\":1,\"f\":\"0x10\"}", "expected float");
    invalid(s, "{\"id\":1,\"f\":\"1e999\"}", "field 'f': float out of range");
    invalid(s, "{\"id\":1,\"f\":false}", "expected float, got boolean false");
    invalid(s, "{\"id\":1,\"i\":0.1}", "field 'i': expected integer, got float 0.1");

    valid(s, "{\"id\":1,\"b\":true}", "{\"id\":1,\"b\":true}");
    valid(s, "{\"id\":1,\"b\":false}", "{\"id\":1,\"b\":false}");
    valid(s, "{\"id\":1,\"b\":\"true\"}", "{\"id\":1,\"b\":true}");
    valid(s, "{\"id\":1,\"b\":\"FALSE\"}", "{\"id\":1,\"b\":false}");
    invalid(s, "{\"id\":1,\"b\":\"yes\"}", "field 'b': expected boolean, got string \"yes\"");
    invalid(s, "{\"id\":1,\"b\":1}", "expected boolean, got integer 1");
    schema_destroy(&s);
}

static void test_timestamp_date(void **state)
{
    (void)state;
    struct schema *s = schema_parse(ALL_TYPES_SCHEMA);
    valid(s, "{\"id\":1,\"ts\":\"2024-01-02T03:04:05Z\"}",
          "{\"id\":1,\"ts\":\"2024-01-02T03:04:05Z\"}");
    valid(s, "{\"id\":1,\"ts\":\"2024-01-02 03:04\"}", "{\"id\":1,\"ts\":\"2024-01-02T03:04:00\"}");
    valid(s, "{\"id\":1,\"ts\":\"2024-01-02T03:04:05.123+02:00\"}",
          "{\"id\":1,\"ts\":\"2024-01-02T03:04:05.123+02:00\"}");
    invalid(s, "{\"id\":1,\"ts\":\"2024-02-30T00:00:00Z\"}", "field 'ts': invalid timestamp");
    invalid(s, "{\"id\":1,\"ts\":\"yesterday\"}", "field 'ts'");
    invalid(s, "{\"id\":1,\"ts\":1700000000}", "field 'ts': expected timestamp, got integer");
    valid(s, "{\"id\":1,\"d\":\"2024-02-29\"}", "{\"id\":1,\"d\":\"2024-02-29\"}");
    invalid(s, "{\"id\":1,\"d\":\"2023-02-29\"}", "field 'd': invalid date");
    invalid(s, "{\"id\":1,\"d\":\"2024-13-01\"}", "field 'd'");
    invalid(s, "{\"id\":1,\"d\":\"2024-01-01T10:00:00Z\"}", "field 'd'");
    invalid(s, "{\"id\":1,\"d\":true}", "expected date, got boolean");
    schema_destroy(&s);

    /* the demo's declared input format */
    s = schema_parse(FLIGHTS_SCHEMA);
    valid(s, "{\"date\":\"2024/12/31 23:59\"}", "{\"date\":\"2024-12-31T23:59:00\"}");
    /* normalising a normalised value is a no-op */
    valid(s, "{\"date\":\"2024-12-31T23:59:00\"}", "{\"date\":\"2024-12-31T23:59:00\"}");
    invalid(s, "{\"date\":\"2024/02/30 10:00\"}", "field 'date'");
    invalid(s, "{\"date\":\"31.12.2024\"}", "field 'date'");
    schema_destroy(&s);

    s = schema_parse("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":[{\"name\":\"day\","
                     "\"type\":\"date\",\"format\":\"%d/%m/%Y\"}]}");
    valid(s, "{\"day\":\"31/12/2024\"}", "{\"day\":\"2024-12-31\"}");
    invalid(s, "{\"day\":\"31/02/2024\"}", "field 'day'");
    schema_destroy(&s);
}

static void test_json_array(void **state)
{
    (void)state;
    struct schema *s = schema_parse(ALL_TYPES_SCHEMA);
    valid(s, "{\"id\":1,\"j\":{\"x\":[1,{\"y\":null}]}}", "{\"id\":1,\"j\":{\"x\":[1,{\"y\":null}]}}");
    valid(s, "{\"id\":1,\"j\":5}", "{\"id\":1,\"j\":5}");
    valid(s, "{\"id\":1,\"j\":\"text\"}", "{\"id\":1,\"j\":\"text\"}");
    valid(s, "{\"id\":1,\"a\":[1,\"two\",null]}", "{\"id\":1,\"a\":[1,\"two\",null]}");
    valid(s, "{\"id\":1,\"a\":[]}", "{\"id\":1,\"a\":[]}");
    invalid(s, "{\"id\":1,\"a\":{}}", "field 'a': expected array, got object");
    invalid(s, "{\"id\":1,\"a\":\"[1]\"}", "field 'a': expected array, got string");
    schema_destroy(&s);
}

static void test_decimal(void **state)
{
    (void)state;
    struct schema *s = schema_parse(ALL_TYPES_SCHEMA);
    /* strings are kept exactly, whatever their length */
    valid(s, "{\"id\":1,\"dec\":\"12345678901234567890.123456789\"}",
          "{\"id\":1,\"dec\":\"12345678901234567890.123456789\"}");
    valid(s, "{\"id\":1,\"dec\":\"-12.50\"}", "{\"id\":1,\"dec\":\"-12.50\"}");
    valid(s, "{\"id\":1,\"dec\":\"+1.5\"}", "{\"id\":1,\"dec\":\"1.5\"}");
    valid(s, "{\"id\":1,\"dec\":\"007.5\"}", "{\"id\":1,\"dec\":\"7.5\"}");
    valid(s, "{\"id\":1,\"dec\":\".5\"}", "{\"id\":1,\"dec\":\"0.5\"}");
    valid(s, "{\"id\":1,\"dec\":\"5.\"}", "{\"id\":1,\"dec\":\"5\"}");
    valid(s, "{\"id\":1,\"dec\":\"-0\"}", "{\"id\":1,\"dec\":\"0\"}");
    /* JSON numbers whose digits are recoverable */
    valid(s, "{\"id\":1,\"dec\":42}", "{\"id\":1,\"dec\":\"42\"}");
    valid(s, "{\"id\":1,\"dec\":-9223372036854775808}",
          "{\"id\":1,\"dec\":\"-9223372036854775808\"}");
    valid(s, "{\"id\":1,\"dec\":12.5}", "{\"id\":1,\"dec\":\"12.5\"}");
    valid(s, "{\"id\":1,\"dec\":0.1}", "{\"id\":1,\"dec\":\"0.1\"}");
    valid(s, "{\"id\":1,\"dec\":-0.000123}", "{\"id\":1,\"dec\":\"-0.000123\"}");
    valid(s, "{\"id\":1,\"dec\":1e20}", "{\"id\":1,\"dec\":\"100000000000000000000\"}");
    valid(s, "{\"id\":1,\"dec\":123456789.012345}", "{\"id\":1,\"dec\":\"123456789.012345\"}");
    /* more than 15 significant digits: refused, with the way out */
    invalid(s, "{\"id\":1,\"dec\":12345678901234567.89}",
            "more than 15 significant digits");
    invalid(s, "{\"id\":1,\"dec\":12345678901234567.89}",
            "send decimal values as JSON strings (e.g. \"dec\": \"1234.5678\")");
    invalid(s, "{\"id\":1,\"dec\":0.1234567890123456}", "field 'dec'");
    /* not decimal literals */
    invalid(s, "{\"id\":1,\"dec\":\"12a\"}", "field 'dec': expected decimal, got string \"12a\"");
    invalid(s, "{\"id\":1,\"dec\":\"1e5\"}", "expected decimal");
    invalid(s, "{\"id\":1,\"dec\":\".\"}", "expected decimal");
    invalid(s, "{\"id\":1,\"dec\":\"1,5\"}", "expected decimal");
    invalid(s, "{\"id\":1,\"dec\":true}", "expected decimal, got boolean");

    /* precision 5, scale 2: at most 3 digits before the point */
    valid(s, "{\"id\":1,\"price\":\"123.45\"}", "{\"id\":1,\"price\":\"123.45\"}");
    valid(s, "{\"id\":1,\"price\":\"1.2\"}", "{\"id\":1,\"price\":\"1.20\"}");
    valid(s, "{\"id\":1,\"price\":7}", "{\"id\":1,\"price\":\"7.00\"}");
    valid(s, "{\"id\":1,\"price\":\"1.230\"}", "{\"id\":1,\"price\":\"1.23\"}");
    valid(s, "{\"id\":1,\"price\":\"-0.00\"}", "{\"id\":1,\"price\":\"0.00\"}");
    valid(s, "{\"id\":1,\"price\":0.25}", "{\"id\":1,\"price\":\"0.25\"}");
    invalid(s, "{\"id\":1,\"price\":\"1234.5\"}", "field 'price': decimal 1234.5 does not fit "
                                                  "precision 5, scale 2 (at most 3 digits "
                                                  "before the point)");
    invalid(s, "{\"id\":1,\"price\":\"1.234\"}",
            "field 'price': decimal 1.234 has more than 2 digits after the point");
    invalid(s, "{\"id\":1,\"price\":0.125}", "more than 2 digits after the point");
    /* precision 7, scale unbounded: 7 significant digits in all */
    valid(s, "{\"id\":1,\"p7\":\"12345.67\"}", "{\"id\":1,\"p7\":\"12345.67\"}");
    valid(s, "{\"id\":1,\"p7\":\"0001234.567000\"}", "{\"id\":1,\"p7\":\"1234.567000\"}");
    invalid(s, "{\"id\":1,\"p7\":\"12345.678\"}", "does not fit precision 7");
    schema_destroy(&s);
}

static void test_required_and_keys(void **state)
{
    (void)state;
    struct schema *s = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"region\",\"type\":\"string\",\"primary_key\":true},"
        "{\"name\":\"name\",\"type\":\"string\",\"required\":true},"
        "{\"name\":\"note\",\"type\":\"string\"}]}");
    assert_int_equal(schema_primary_key_count(s), 2);
    valid(s, "{\"name\":\"n\",\"region\":\"eu\",\"id\":1}",
          "{\"id\":1,\"region\":\"eu\",\"name\":\"n\"}");
    invalid(s, "{\"region\":\"eu\",\"name\":\"n\"}", "field 'id': primary key is missing");
    invalid(s, "{\"id\":null,\"region\":\"eu\",\"name\":\"n\"}",
            "field 'id': primary key is missing");
    invalid(s, "{\"id\":1,\"name\":\"n\"}", "field 'region': primary key is missing");
    invalid(s, "{\"id\":1,\"region\":\"eu\"}", "field 'name': required field is missing");
    invalid(s, "{\"id\":1,\"region\":\"eu\",\"name\":null}", "field 'name': required field");
    invalid(s, "{\"id\":\"x\",\"region\":\"eu\",\"name\":\"n\"}", "field 'id': expected integer");
    schema_destroy(&s);
}

static void test_rescued(void **state)
{
    (void)state;
    struct schema *s = schema_parse(FLIGHTS_SCHEMA);
    valid(s, "{\"Origin\":\"JFK\",\"delay\":1,\"extra\":{\"a\":1},\"gate\":\"B7\",\"none\":null}",
          "{\"delay\":1,\"_rescued\":{\"Origin\":\"JFK\",\"extra\":{\"a\":1},\"gate\":\"B7\"}}");
    /* metadata-looking fields from the producer are not columns either */
    valid(s, "{\"_seq\":5,\"origin\":\"JFK\"}", "{\"origin\":\"JFK\",\"_rescued\":{\"_seq\":5}}");
    /* a bad known field is still an error in MANUAL */
    invalid(s, "{\"delay\":\"x\",\"extra\":1}", "field 'delay'");
    schema_destroy(&s);
}

static void test_single_column(void **state)
{
    (void)state;
    struct schema *s =
        schema_parse("{\"domain\":\"demo\",\"name\":\"raw\",\"mode\":\"SINGLE_COLUMN\"}");
    assert_int_equal(s->column_count, 1);
    assert_string_equal(s->columns[0].name, "data");
    assert_int_equal(s->columns[0].type, SCHEMA_TYPE_JSON);
    valid(s, "{\"a\":1,\"b\":[true]}", "{\"data\":{\"a\":1,\"b\":[true]}}");
    valid(s, "[1,2,3]", "{\"data\":[1,2,3]}");
    valid(s, "\"text\"", "{\"data\":\"text\"}");
    valid(s, "42", "{\"data\":42}");
    invalid(s, "null", "record is null");

    /* its JSON form parses back */
    json_t *j = schema_to_json(s);
    char err[ERROR_MAX];
    struct schema *back = schema_from_json(j, err);
    assert_non_null(back);
    assert_int_equal(back->column_count, 1);
    json_decref(j);
    schema_destroy(&back);

    json_t *r = parse("{\"x\":1}");
    json_t *out = NULL;
    assert_int_equal(schema_passthrough_record(s, r, &out, err), 0);
    assert_json(out, "{\"data\":{\"x\":1}}");
    json_decref(out);
    json_decref(r);
    schema_destroy(&s);
}

static void test_passthrough(void **state)
{
    (void)state;
    struct schema *s = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"when\",\"type\":\"timestamp\"}]}");
    char err[ERROR_MAX];
    json_t *r = parse("{\"when\":\"not a time\",\"other\":1,\"nothing\":null}");
    json_t *out = NULL;
    /* no checks: missing key and bad timestamp pass, unknown fields rescued */
    assert_int_equal(schema_passthrough_record(s, r, &out, err), 0);
    assert_json(out, "{\"when\":\"not a time\",\"_rescued\":{\"other\":1}}");
    json_decref(out);
    json_decref(r);
    r = parse("[1]");
    assert_int_equal(schema_passthrough_record(s, r, &out, err), -1);
    assert_null(out);
    json_decref(r);
    schema_destroy(&s);
}

static void test_infer_type(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int type;
    } cases[] = {
        {"\"hello\"", SCHEMA_TYPE_STRING},
        {"\"2024-01-02T03:04:05Z\"", SCHEMA_TYPE_TIMESTAMP},
        {"\"2024-01-02 03:04\"", SCHEMA_TYPE_TIMESTAMP},
        {"\"2024-01-02\"", SCHEMA_TYPE_DATE},
        {"\"2024-02-30\"", SCHEMA_TYPE_STRING},
        {"\"42\"", SCHEMA_TYPE_STRING},
        {"42", SCHEMA_TYPE_INTEGER},
        {"4.2", SCHEMA_TYPE_FLOAT},
        {"true", SCHEMA_TYPE_BOOLEAN},
        {"false", SCHEMA_TYPE_BOOLEAN},
        {"[1]", SCHEMA_TYPE_ARRAY},
        {"{\"a\":1}", SCHEMA_TYPE_JSON},
        {"null", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = parse(cases[i].json);
        enum schema_type t = SCHEMA_TYPE_STRING;
        int rc = schema_infer_type(v, &t);
        if (cases[i].type < 0) {
            assert_int_equal(rc, -1);
        } else {
            assert_int_equal(rc, 0);
            if ((int)t != cases[i].type)
                fail_msg("%s inferred as %s", cases[i].json, schema_type_name(t));
        }
        json_decref(v);
    }
}

/* evolve + validate one record against an AUTO_INFERENCE schema; *s is
 * replaced by the evolved schema when there is one. */
static int evolve(struct schema **s, const char *record)
{
    char err[ERROR_MAX] = "";
    json_t *r = parse(record);
    struct schema *next = NULL;
    int rc = schema_evolve(*s, r, &next, err);
    json_decref(r);
    if (rc < 0)
        fail_msg("evolve failed: %s", err);
    if (rc == 1) {
        assert_non_null(next);
        assert_int_equal(next->version, (*s)->version);
        schema_destroy(s);
        *s = next;
    } else {
        assert_null(next);
    }
    return rc;
}

static void test_evolve_from_empty(void **state)
{
    (void)state;
    struct schema *s =
        schema_parse("{\"domain\":\"demo\",\"name\":\"auto\",\"mode\":\"AUTO_INFERENCE\"}");
    assert_int_equal(s->column_count, 0);
    s->version = 1;
    const char *rec = "{\"id\":1,\"Name\":\"x\",\"Cost: Total $\":1.5,\"ts\":\"2024-01-01T00:00:00Z\","
                      "\"day\":\"2024-01-01\",\"flag\":true,\"tags\":[1],\"obj\":{\"k\":2},"
                      "\"nothing\":null}";
    assert_int_equal(evolve(&s, rec), 1);
    assert_int_equal(s->version, 1);
    static const struct {
        const char *name;
        enum schema_type type;
    } want[] = {
        {"id", SCHEMA_TYPE_INTEGER},     {"name", SCHEMA_TYPE_STRING},
        {"cost_total", SCHEMA_TYPE_FLOAT}, {"ts", SCHEMA_TYPE_TIMESTAMP},
        {"day", SCHEMA_TYPE_DATE},       {"flag", SCHEMA_TYPE_BOOLEAN},
        {"tags", SCHEMA_TYPE_ARRAY},     {"obj", SCHEMA_TYPE_JSON},
    };
    assert_int_equal(s->column_count, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < s->column_count; i++) {
        assert_string_equal(s->columns[i].name, want[i].name);
        assert_int_equal(s->columns[i].type, want[i].type);
        assert_false(s->columns[i].required);
        assert_false(s->columns[i].primary_key);
    }
    /* the record now fits: no new version, and it validates with the messy
     * names mapped to their columns */
    assert_int_equal(evolve(&s, rec), 0);
    valid(s, rec,
          "{\"id\":1,\"name\":\"x\",\"cost_total\":1.5,\"ts\":\"2024-01-01T00:00:00Z\","
          "\"day\":\"2024-01-01\",\"flag\":true,\"tags\":[1],\"obj\":{\"k\":2}}");
    /* null-only fields add nothing */
    assert_int_equal(evolve(&s, "{\"later\":null}"), 0);
    /* the evolved schema is a valid definition */
    json_t *j = schema_to_json(s);
    char err[ERROR_MAX];
    struct schema *back = schema_from_json(j, err);
    if (back == NULL)
        fail_msg("evolved schema does not parse back: %s", err);
    schema_destroy(&back);
    json_decref(j);
    /* the new schema is a compatible change */
    struct schema *empty =
        schema_parse("{\"domain\":\"demo\",\"name\":\"auto\",\"mode\":\"AUTO_INFERENCE\"}");
    assert_int_equal(schema_check_compatible(empty, s, err), 0);
    schema_destroy(&empty);
    schema_destroy(&s);
}

static void test_evolve_widen_and_conflicts(void **state)
{
    (void)state;
    struct schema *s =
        schema_parse("{\"domain\":\"demo\",\"name\":\"auto\",\"mode\":\"AUTO_INFERENCE\"}");
    assert_int_equal(evolve(&s, "{\"n\":1,\"label\":\"a\",\"d\":\"2024-01-01\"}"), 1);
    assert_int_equal(schema_find_column(s, "n")->type, SCHEMA_TYPE_INTEGER);
    /* an integral real fits an integer column */
    assert_int_equal(evolve(&s, "{\"n\":3.0}"), 0);
    /* integer -> float */
    struct schema *before = schema_copy(s);
    assert_int_equal(evolve(&s, "{\"n\":2.5}"), 1);
    assert_int_equal(schema_find_column(s, "n")->type, SCHEMA_TYPE_FLOAT);
    char err[ERROR_MAX];
    assert_int_equal(schema_check_compatible(before, s, err), 0);
    schema_destroy(&before);
    valid(s, "{\"n\":2}", "{\"n\":2.0}");
    /* date -> timestamp */
    assert_int_equal(evolve(&s, "{\"d\":\"2024-01-01T10:00:00Z\"}"), 1);
    assert_int_equal(schema_find_column(s, "d")->type, SCHEMA_TYPE_TIMESTAMP);
    /* a conflict that cannot widen: no new version, the value is rescued */
    assert_int_equal(evolve(&s, "{\"n\":\"lots\",\"label\":7}"), 0);
    valid(s, "{\"n\":\"lots\",\"label\":7}", "{\"_rescued\":{\"n\":\"lots\",\"label\":7}}");
    /* a spelling that sanitises to a column lands in it */
    valid(s, "{\"N\":1}", "{\"n\":1.0}");
    /* a new field and a conflict at once */
    assert_int_equal(evolve(&s, "{\"label\":[1],\"New Field\":\"v\"}"), 1);
    assert_non_null(schema_find_column(s, "new_field"));
    valid(s, "{\"label\":[1],\"New Field\":\"v\"}",
          "{\"new_field\":\"v\",\"_rescued\":{\"label\":[1]}}");
    /* two spellings of one column: the first wins, the other is rescued */
    valid(s, "{\"new_field\":\"a\",\"New Field\":\"b\"}",
          "{\"new_field\":\"a\",\"_rescued\":{\"New Field\":\"b\"}}");
    schema_destroy(&s);

    /* MANUAL and SINGLE_COLUMN never evolve */
    s = schema_parse(FLIGHTS_SCHEMA);
    assert_int_equal(evolve(&s, "{\"brand_new\":1}"), 0);
    schema_destroy(&s);
}

static void test_auto_key_conflict_is_error(void **state)
{
    (void)state;
    struct schema *s = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"auto\",\"mode\":\"AUTO_INFERENCE\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true}]}");
    invalid(s, "{\"id\":\"abc\"}", "field 'id': expected integer");
    invalid(s, "{\"other\":1}", "field 'id': primary key is missing");
    schema_destroy(&s);
}

static void test_compatibility(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct schema *base = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"n\",\"type\":\"integer\"},"
        "{\"name\":\"d\",\"type\":\"date\"},"
        "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
        "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}]}");
    static const struct {
        const char *columns;
        const char *want; /* NULL = compatible */
    } cases[] = {
        /* same */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         NULL},
        /* add a nullable column, widen, relax required, widen decimal, descriptions */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true,\"description\":\"key\"},"
         "{\"name\":\"n\",\"type\":\"float\"},{\"name\":\"d\",\"type\":\"timestamp\"},"
         "{\"name\":\"s\",\"type\":\"string\"},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":12,\"scale\":4},"
         "{\"name\":\"extra\",\"type\":\"json\"}",
         NULL},
        /* removal (a drop) is fine in MANUAL; not of the key */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"d\",\"type\":\"date\"},{\"name\":\"s\",\"type\":\"string\"},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         NULL},
        {"{\"name\":\"n\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'id': dropping a primary-key column is not allowed (rows are identified by it)"},
        /* rename, declared; also of the key; with a type widening at once */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"count\",\"type\":\"float\",\"renamed_from\":\"n\"},"
         "{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         NULL},
        {"{\"name\":\"key\",\"type\":\"integer\",\"primary_key\":true,\"renamed_from\":\"id\"},"
         "{\"name\":\"n\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         NULL},
        /* a renamed column keeps its rules: no narrowing, no new requirement */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"count\",\"type\":\"boolean\",\"renamed_from\":\"n\"},"
         "{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'n': changing the type from integer to boolean is not allowed"},
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"count\",\"type\":\"integer\",\"required\":true,\"renamed_from\":\"n\"},"
         "{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'n': making an existing column required"},
        /* bad renames */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2},"
         "{\"name\":\"q\",\"type\":\"integer\",\"renamed_from\":\"nope\"}",
         "column 'q': \"renamed_from\": 'nope' is not a column of version 0"},
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2},"
         "{\"name\":\"q\",\"type\":\"integer\",\"renamed_from\":\"n\"}",
         "column 'n': renamed to 'q' but still a column"},
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"q\",\"type\":\"integer\",\"renamed_from\":\"n\"},"
         "{\"name\":\"r\",\"type\":\"integer\",\"renamed_from\":\"n\"},"
         "{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'n': renamed twice, to 'q' and to 'r'"},
        /* a swap is not a rename: both names exist already */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"date\",\"renamed_from\":\"d\"},"
         "{\"name\":\"d\",\"type\":\"integer\",\"renamed_from\":\"n\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'n': \"renamed_from\": \"d\" cannot apply: 'n' is already a column"},
        /* any -> string only when declared; never a key */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"string\",\"widen\":true},"
         "{\"name\":\"d\",\"type\":\"string\",\"widen\":true},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"string\",\"widen\":true}",
         NULL},
        {"{\"name\":\"id\",\"type\":\"string\",\"primary_key\":true,\"widen\":true},"
         "{\"name\":\"n\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'id': changing the type of a primary-key column is not allowed"},
        /* narrowing / other type change */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"string\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'n': changing the type from integer to string is not allowed"},
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":8,\"scale\":2}",
         "column 'p': narrowing decimal(10,2) to decimal(8,2)"},
        /* primary key changes */
        {"{\"name\":\"id\",\"type\":\"integer\"},"
         "{\"name\":\"n\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'id': removing it from the primary key"},
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'n': adding it to the primary key"},
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2},"
         "{\"name\":\"k\",\"type\":\"string\",\"primary_key\":true}",
         "column 'k': adding a primary key column"},
        /* required */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"integer\",\"required\":true},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'n': making an existing column required"},
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"n\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2},"
         "{\"name\":\"must\",\"type\":\"string\",\"required\":true}",
         "column 'must': a new column must not be required"},
        /* renaming by case */
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"N\",\"type\":\"integer\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'n': renaming it to 'N' only changes the case of its name"},
        {"{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
         "{\"name\":\"N\",\"type\":\"integer\",\"renamed_from\":\"n\"},{\"name\":\"d\",\"type\":\"date\"},"
         "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
         "{\"name\":\"p\",\"type\":\"decimal\",\"precision\":10,\"scale\":2}",
         "column 'n': renaming it to 'N' only changes the case of its name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[4096];
        snprintf(text, sizeof text, "{\"domain\":\"demo\",\"name\":\"x\",\"columns\":[%s]}",
                 cases[i].columns);
        struct schema *to = schema_parse(text);
        err[0] = '\0';
        int rc = schema_check_compatible(base, to, err);
        if (cases[i].want == NULL && rc != 0)
            fail_msg("case %zu refused: %s", i, err);
        if (cases[i].want != NULL && (rc != -1 || strstr(err, cases[i].want) == NULL))
            fail_msg("case %zu: rc %d, error '%s', expected '%s'", i, rc, err, cases[i].want);
        schema_destroy(&to);
    }
    /* narrowing back is refused */
    struct schema *wide = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"columns\":[{\"name\":\"n\",\"type\":\"float\"}]}");
    struct schema *narrow = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"columns\":[{\"name\":\"n\",\"type\":\"integer\"}]}");
    assert_int_equal(schema_check_compatible(wide, narrow, err), -1);
    assert_non_null(strstr(err, "column 'n': changing the type from float to integer"));
    assert_int_equal(schema_check_compatible(narrow, wide, err), 0);
    /* mode changes into SINGLE_COLUMN are refused */
    struct schema *single =
        schema_parse("{\"domain\":\"demo\",\"name\":\"x\",\"mode\":\"SINGLE_COLUMN\"}");
    assert_int_equal(schema_check_compatible(narrow, single, err), -1);
    assert_non_null(strstr(err, "mode change"));
    schema_destroy(&single);
    schema_destroy(&wide);
    schema_destroy(&narrow);
    schema_destroy(&base);
}

/* Renames and drops across versions: what a column became (schema_successor),
 * "renamed_from" carried over into later versions, sequence_by, modes. */
static void test_rename_drop_versions(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct schema *v1 = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"version\":1,\"sequence_by\":\"at\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"at\",\"type\":\"timestamp\"},{\"name\":\"delay\",\"type\":\"integer\"},"
        "{\"name\":\"miles\",\"type\":\"integer\"}]}");
    /* v2: delay -> dep_delay, miles dropped */
    struct schema *v2 = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"version\":2,\"sequence_by\":\"at\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"at\",\"type\":\"timestamp\"},"
        "{\"name\":\"dep_delay\",\"type\":\"integer\",\"renamed_from\":\"delay\"}]}");
    if (schema_check_compatible(v1, v2, err) != 0)
        fail_msg("rename + drop refused: %s", err);
    assert_string_equal(schema_successor(v1, v2, "delay")->name, "dep_delay");
    assert_string_equal(schema_successor(v1, v2, "id")->name, "id");
    assert_null(schema_successor(v1, v2, "miles"));
    /* the JSON form keeps the declaration (GET, edit, PUT works) */
    json_t *j = schema_to_json(v2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "columns"), 2), "renamed_from")),
                        "delay");
    struct schema *back = schema_from_json(j, err);
    assert_non_null(back);
    assert_string_equal(back->columns[2].renamed_from, "delay");
    json_decref(j);
    schema_destroy(&back);
    /* v3 carries "renamed_from" over unchanged and adds a column "delay":
     * a new column, not the old one */
    struct schema *v3 = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"version\":3,\"sequence_by\":\"at\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"at\",\"type\":\"timestamp\"},"
        "{\"name\":\"dep_delay\",\"type\":\"integer\",\"renamed_from\":\"delay\"},"
        "{\"name\":\"delay\",\"type\":\"string\"}]}");
    if (schema_check_compatible(v2, v3, err) != 0)
        fail_msg("carried-over renamed_from refused: %s", err);
    assert_string_equal(schema_successor(v2, v3, "dep_delay")->name, "dep_delay");
    /* the sequence_by column: renamed along, never dropped */
    struct schema *seq_renamed = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"sequence_by\":\"updated\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"updated\",\"type\":\"timestamp\",\"renamed_from\":\"at\"},"
        "{\"name\":\"delay\",\"type\":\"integer\"},{\"name\":\"miles\",\"type\":\"integer\"}]}");
    if (schema_check_compatible(v1, seq_renamed, err) != 0)
        fail_msg("renaming the sequence_by column refused: %s", err);
    struct schema *seq_dropped = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"delay\",\"type\":\"integer\"},{\"name\":\"miles\",\"type\":\"integer\"}]}");
    assert_int_equal(schema_check_compatible(v1, seq_dropped, err), -1);
    assert_non_null(strstr(err, "column 'at': dropping the sequence_by column is not allowed (it "
                                "decides which version of a row wins)"));
    /* renaming the sequence_by column but keeping the old name in sequence_by */
    struct schema *seq_stale = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"x\",\"sequence_by\":\"id\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
        "{\"name\":\"updated\",\"type\":\"timestamp\",\"renamed_from\":\"at\"},"
        "{\"name\":\"delay\",\"type\":\"integer\"},{\"name\":\"miles\",\"type\":\"integer\"}]}");
    assert_int_equal(schema_check_compatible(v1, seq_stale, err), -1);
    assert_non_null(strstr(err, "sequence_by: changing it from 'at' to 'id'"));
    /* AUTO_INFERENCE: no drops, no renames (the next record adds the column back) */
    struct schema *a1 = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"a\",\"mode\":\"AUTO_INFERENCE\",\"columns\":["
        "{\"name\":\"k\",\"type\":\"integer\"},{\"name\":\"v\",\"type\":\"string\"}]}");
    struct schema *a_drop = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"a\",\"mode\":\"AUTO_INFERENCE\",\"columns\":["
        "{\"name\":\"k\",\"type\":\"integer\"}]}");
    assert_int_equal(schema_check_compatible(a1, a_drop, err), -1);
    assert_non_null(strstr(err, "column 'v': removing a column is only allowed in a MANUAL schema"));
    struct schema *a_rename = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"a\",\"mode\":\"AUTO_INFERENCE\",\"columns\":["
        "{\"name\":\"k\",\"type\":\"integer\"},"
        "{\"name\":\"w\",\"type\":\"string\",\"renamed_from\":\"v\"}]}");
    assert_int_equal(schema_check_compatible(a1, a_rename, err), -1);
    assert_non_null(strstr(err, "column 'v': renaming a column needs a MANUAL schema"));
    /* ...but AUTO_INFERENCE -> MANUAL may drop in the same version */
    struct schema *m_drop = schema_parse(
        "{\"domain\":\"demo\",\"name\":\"a\",\"columns\":[{\"name\":\"k\",\"type\":\"integer\"}]}");
    assert_int_equal(schema_check_compatible(a1, m_drop, err), 0);
    /* "widen" is a declaration on string columns only */
    json_error_t jerr;
    json_t *bad = json_loads("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":["
                             "{\"name\":\"n\",\"type\":\"integer\",\"widen\":true}]}",
                             0, &jerr);
    assert_null(schema_from_json(bad, err));
    assert_non_null(strstr(err, "column 'n': \"widen\" is only for string columns"));
    json_decref(bad);
    bad = json_loads("{\"domain\":\"demo\",\"name\":\"x\",\"columns\":["
                     "{\"name\":\"n\",\"type\":\"integer\",\"renamed_from\":\"bad name\"}]}",
                     0, &jerr);
    assert_null(schema_from_json(bad, err));
    assert_non_null(strstr(err, "column 'n': \"renamed_from\" must be a column name"));
    json_decref(bad);
    schema_destroy(&m_drop);
    schema_destroy(&a_rename);
    schema_destroy(&a_drop);
    schema_destroy(&a1);
    schema_destroy(&seq_stale);
    schema_destroy(&seq_dropped);
    schema_destroy(&seq_renamed);
    schema_destroy(&v3);
    schema_destroy(&v2);
    schema_destroy(&v1);
}

static void test_many_columns(void **state)
{
    (void)state;
    /* more columns than the validator keeps on its stack */
    char text[16384] = "{\"domain\":\"demo\",\"name\":\"wide\",\"columns\":[";
    char record[8192] = "{";
    for (int i = 0; i < 100; i++) {
        char col[96];
        snprintf(col, sizeof col, "%s{\"name\":\"c%d\",\"type\":\"integer\"}", i ? "," : "", i);
        strcat(text, col);
        snprintf(col, sizeof col, "%s\"c%d\":\"%d\"", i ? "," : "", 99 - i, 99 - i);
        strcat(record, col);
    }
    strcat(text, "]}");
    strcat(record, ",\"zz\":1}");
    struct schema *s = schema_parse(text);
    char err[ERROR_MAX];
    json_t *r = parse(record);
    json_t *out = NULL;
    assert_int_equal(schema_validate_record(s, r, &out, err), 0);
    assert_int_equal(json_object_size(out), 101);
    assert_int_equal(json_integer_value(json_object_get(out, "c42")), 42);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "_rescued"), "zz")), 1);
    /* schema order */
    void *it = json_object_iter(out);
    assert_string_equal(json_object_iter_key(it), "c0");
    json_decref(out);
    json_decref(r);
    schema_destroy(&s);
}

static void test_column_limit(void **state)
{
    (void)state;
    struct schema *s =
        schema_parse("{\"domain\":\"demo\",\"name\":\"auto\",\"mode\":\"AUTO_INFERENCE\"}");
    json_t *r = json_object();
    for (int i = 0; i < SCHEMA_COLUMNS_MAX + 1; i++) {
        char key[32];
        snprintf(key, sizeof key, "f%d", i);
        json_object_set_new(r, key, json_integer(i));
    }
    struct schema *next = NULL;
    char err[ERROR_MAX];
    assert_int_equal(schema_evolve(s, r, &next, err), -1);
    assert_null(next);
    assert_non_null(strstr(err, "columns"));
    json_decref(r);
    schema_destroy(&s);
}

/* Not a check, a measurement: validations per second of a flights record
 * (printed; the sanitizer build is several times slower than -O2). */
static void test_throughput(void **state)
{
    (void)state;
    struct schema *s = schema_parse(FLIGHTS_SCHEMA);
    json_t *r = parse("{\"date\":\"2024/03/01 07:05\",\"delay\":12,\"distance\":2475,"
                      "\"origin\":\"JFK\",\"destination\":\"LAX\"}");
    char err[ERROR_MAX];
    struct timespec a, b;
    const int n = 100000;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        json_t *out = NULL;
        assert_int_equal(schema_validate_record(s, r, &out, err), 0);
        json_decref(out);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("schema_validate_record: %.0f records/s\n", n / secs);
    json_decref(r);
    schema_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_from_json_and_back),
        cmocka_unit_test(test_from_json_refusals),
        cmocka_unit_test(test_string_and_messages),
        cmocka_unit_test(test_integer),
        cmocka_unit_test(test_float_boolean),
        cmocka_unit_test(test_timestamp_date),
        cmocka_unit_test(test_json_array),
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_required_and_keys),
        cmocka_unit_test(test_rescued),
        cmocka_unit_test(test_single_column),
        cmocka_unit_test(test_passthrough),
        cmocka_unit_test(test_infer_type),
        cmocka_unit_test(test_evolve_from_empty),
        cmocka_unit_test(test_evolve_widen_and_conflicts),
        cmocka_unit_test(test_auto_key_conflict_is_error),
        cmocka_unit_test(test_compatibility),
        cmocka_unit_test(test_rename_drop_versions),
        cmocka_unit_test(test_many_columns),
        cmocka_unit_test(test_column_limit),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

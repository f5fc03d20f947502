/* test_record_reader.c - unit tests of the common record reader
 * (common/record_reader.h): formats, detection, byte order marks, line
 * numbers in records and errors, the size cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record_reader.h"

struct opened {
    FILE *f;
    struct record_reader *r;
};

static struct opened open_text(const char *text, enum record_format format, const char *name,
                               size_t max)
{
    struct opened o;
    char err[ERROR_MAX] = "";
    o.f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(o.f);
    o.r = record_reader_open(o.f, format, name, max, "record_max_bytes", err);
    if (o.r == NULL)
        fail_msg("open: %s", err);
    return o;
}

static void close_text(struct opened *o)
{
    record_reader_close(&o->r);
    assert_null(o->r);
    fclose(o->f);
}

/* The next record must be `want`, starting at line `line`. */
static void expect_record(struct opened *o, const char *want, uint64_t line)
{
    const char *rec;
    size_t len;
    char err[ERROR_MAX] = "";
    enum record_read rc = record_reader_next(o->r, &rec, &len, err);
    if (rc != RECORD_READ_OK)
        fail_msg("expected %s, got %d (%s)", want, rc, err);
    assert_string_equal(rec, want);
    assert_int_equal(len, strlen(want));
    assert_int_equal(record_reader_line(o->r), line);
}

static void expect_result(struct opened *o, enum record_read want, const char *message)
{
    const char *rec;
    size_t len;
    char err[ERROR_MAX] = "";
    enum record_read rc = record_reader_next(o->r, &rec, &len, err);
    if (rc != want)
        fail_msg("expected %d, got %d (%s)", want, rc, err);
    if (message != NULL)
        assert_string_equal(err, message);
}

static void test_ndjson_bom_blank_crlf(void **state)
{
    (void)state;
    struct opened o = open_text("\xEF\xBB\xBF{\"a\":1}\r\n\n  \t\r\n{\"a\":2}  \n{\"a\":3}",
                                RECORD_FORMAT_AUTO, NULL, 100);
    assert_int_equal(record_reader_format(o.r), RECORD_FORMAT_NDJSON);
    expect_record(&o, "{\"a\":1}", 1);
    expect_record(&o, "{\"a\":2}", 4);
    expect_record(&o, "{\"a\":3}", 5);
    expect_result(&o, RECORD_READ_END, NULL);
    close_text(&o);
}

static void test_ndjson_too_large_goes_on(void **state)
{
    (void)state;
    struct opened o = open_text("{\"a\":1}\n{\"a\":\"long text\"}\n{\"b\":2}\n",
                                RECORD_FORMAT_NDJSON, NULL, 10);
    expect_record(&o, "{\"a\":1}", 1);
    expect_result(&o, RECORD_READ_TOO_LARGE,
                  "line 2: record larger than record_max_bytes (10 bytes)");
    expect_record(&o, "{\"b\":2}", 3);
    expect_result(&o, RECORD_READ_END, NULL);
    close_text(&o);
}

static void test_json_array_compact_lines(void **state)
{
    (void)state;
    struct opened o = open_text("\xEF\xBB\xBF\n[\n  {\"a\": 1,\n   \"b\": \"x y\"},\n  {\"a\": 2}\n]\n",
                                RECORD_FORMAT_AUTO, "data.json", 100);
    assert_int_equal(record_reader_format(o.r), RECORD_FORMAT_JSON);
    expect_record(&o, "{\"a\":1,\"b\":\"x y\"}", 3);
    expect_record(&o, "{\"a\":2}", 5);
    expect_result(&o, RECORD_READ_END, NULL);
    close_text(&o);
}

static void test_json_array_empty(void **state)
{
    (void)state;
    struct opened o = open_text(" [ ] ", RECORD_FORMAT_AUTO, NULL, 100);
    expect_result(&o, RECORD_READ_END, NULL);
    close_text(&o);
}

static void json_error(const char *text, const char *message)
{
    struct opened o = open_text(text, RECORD_FORMAT_JSON, NULL, 100);
    const char *rec;
    size_t len;
    char err[ERROR_MAX] = "";
    enum record_read rc;
    while ((rc = record_reader_next(o.r, &rec, &len, err)) == RECORD_READ_OK)
        ;
    assert_int_equal(rc, RECORD_READ_ERROR);
    assert_string_equal(err, message);
    close_text(&o);
}

static void test_json_array_errors(void **state)
{
    (void)state;
    json_error("[{\"a\":1},\n{\"a\":2}\n",
               "line 3: unexpected end of input: the JSON array is not closed with ']'");
    json_error("[{\"a\":1},\n]", "line 2: ',' before ']' (trailing comma)");
    json_error("[{\"a\":1}\n{\"a\":2}]", "line 2: expected ',' or ']' after an array element");
    json_error("[{\"a\":1}] x", "line 1: text after the end of the JSON array");
    json_error("\n{\"a\":1}", "line 2: a JSON array must start with '['");
    json_error("[{\"a\":1},\n\n{\"a\" 2}]", "line 3: invalid JSON: ':' expected near '2'");
    json_error("[{\"a\":1,\"a\":2}]", "line 1: invalid JSON: duplicate object key near '\"a\"'");
    json_error("[{\"a\":\n1", "line 2: unexpected end of input inside the element that starts "
                            "at line 1");
}

static void test_csv_lines(void **state)
{
    (void)state;
    struct opened o = open_text("\n\xEF\xBB\xBFid,name\n1,a\n\n2,\"b\nc\"\n3,d\n",
                                RECORD_FORMAT_CSV, NULL, 100);
    expect_record(&o, "{\"id\":\"1\",\"name\":\"a\"}", 3);
    expect_record(&o, "{\"id\":\"2\",\"name\":\"b\\nc\"}", 5);
    expect_record(&o, "{\"id\":\"3\",\"name\":\"d\"}", 7);
    expect_result(&o, RECORD_READ_END, NULL);
    close_text(&o);
}

static void test_csv_errors_name_lines(void **state)
{
    (void)state;
    struct opened o = open_text("\n\nid,name\n1,a\n2,b,c\n", RECORD_FORMAT_AUTO, "x.csv", 100);
    expect_record(&o, "{\"id\":\"1\",\"name\":\"a\"}", 4);
    expect_result(&o, RECORD_READ_ERROR, "line 5: 3 cells but the header has 2 columns");
    close_text(&o);
}

static void test_detection(void **state)
{
    (void)state;
    assert_int_equal(record_format_from_extension("a.CSV"), RECORD_FORMAT_CSV);
    assert_int_equal(record_format_from_extension("a.jsonl"), RECORD_FORMAT_NDJSON);
    assert_int_equal(record_format_from_extension("a.ndjson"), RECORD_FORMAT_NDJSON);
    assert_int_equal(record_format_from_extension("a.json"), RECORD_FORMAT_AUTO);
    assert_int_equal(record_format_from_extension(NULL), RECORD_FORMAT_AUTO);
    assert_int_equal(record_format_sniff("\xEF\xBB\xBF \n[1]", 8), RECORD_FORMAT_JSON);
    assert_int_equal(record_format_sniff("\n{\"a\":1}", 8), RECORD_FORMAT_NDJSON);
    assert_int_equal(record_format_sniff("  ", 2), RECORD_FORMAT_NDJSON);
    assert_int_equal(record_format_sniff("id,name", 7), RECORD_FORMAT_CSV);
    /* The extension wins over the content. */
    struct opened o = open_text("[1]\n", RECORD_FORMAT_AUTO, "odd.ndjson", 100);
    assert_int_equal(record_reader_format(o.r), RECORD_FORMAT_NDJSON);
    expect_record(&o, "[1]", 1);
    close_text(&o);
    enum record_format f;
    assert_int_equal(record_format_from_name("csv", &f), 0);
    assert_int_equal(f, RECORD_FORMAT_CSV);
    assert_int_equal(record_format_from_name("tsv", &f), -1);
}

static void test_not_utf8_start(void **state)
{
    (void)state;
    const char *text = "\xEF\xBF\xBF{}";
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    char err[ERROR_MAX] = "";
    assert_null(record_reader_open(f, RECORD_FORMAT_AUTO, NULL, 100, "x", err));
    assert_string_equal(err, "line 1: starts with bytes that are not UTF-8 text");
    fclose(f);
}

/* Bodies in memory split into the same lines as the reader reads. */
static void test_memory_lines_match_reader(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF{\"a\":1}\r\n\n \n{\"a\":2} \t\n{\"a\":3}";
    const char *body = text;
    size_t len = record_skip_bom(&body, strlen(text));
    const char *p = body, *end = body + len, *line;
    size_t n;
    uint64_t line_no = 0;
    struct opened o = open_text(text, RECORD_FORMAT_NDJSON, NULL, 100);
    while (record_next_line(&p, end, &line, &n, &line_no)) {
        const char *rec;
        size_t rlen;
        char err[ERROR_MAX];
        assert_int_equal(record_reader_next(o.r, &rec, &rlen, err), RECORD_READ_OK);
        assert_int_equal(n, rlen);
        assert_memory_equal(line, rec, n);
        assert_int_equal(line_no, record_reader_line(o.r));
    }
    expect_result(&o, RECORD_READ_END, NULL);
    close_text(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndjson_bom_blank_crlf),
        cmocka_unit_test(test_ndjson_too_large_goes_on),
        cmocka_unit_test(test_json_array_compact_lines),
        cmocka_unit_test(test_json_array_empty),
        cmocka_unit_test(test_json_array_errors),
        cmocka_unit_test(test_csv_lines),
        cmocka_unit_test(test_csv_errors_name_lines),
        cmocka_unit_test(test_detection),
        cmocka_unit_test(test_not_utf8_start),
        cmocka_unit_test(test_memory_lines_match_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

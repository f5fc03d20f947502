/* test_csv.c - unit tests of the streaming CSV reader (csv.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* Read all of text (len bytes) and return the rows as one compact JSON
 * array string (caller frees), or NULL on an error, with err filled. */
static char *read_all(const char *text, size_t len, char err[ERROR_MAX])
{
    FILE *in = fmemopen((void *)text, len, "r");
    assert_non_null(in);
    char *result = NULL;
    json_t *rows = json_array();
    struct csv_reader *reader = csv_reader_open(in, err);
    if (reader == NULL)
        goto done;
    json_t *row;
    int rc;
    while ((rc = csv_reader_next(reader, &row, err)) == 1)
        json_array_append_new(rows, row);
    if (rc == 0)
        result = json_dumps(rows, JSON_COMPACT | JSON_PRESERVE_ORDER);
    csv_reader_close(&reader);
    assert_null(reader);
done:
    json_decref(rows);
    fclose(in);
    return result;
}

static void csv_ok(const char *text, const char *expected)
{
    char err[ERROR_MAX] = "";
    char *got = read_all(text, strlen(text), err);
    if (got == NULL)
        fail_msg("refused: %s", err);
    assert_string_equal(got, expected);
    free(got);
}

static void csv_bad(const char *text, const char *why)
{
    char err[ERROR_MAX] = "";
    char *got = read_all(text, strlen(text), err);
    if (got != NULL)
        fail_msg("accepted as %s", got);
    if (strstr(err, why) == NULL)
        fail_msg("message '%s' lacks '%s'", err, why);
}

static void test_basic(void **state)
{
    (void)state;
    csv_ok("a,b\n1,2\n3,4\n", "[{\"a\":\"1\",\"b\":\"2\"},{\"a\":\"3\",\"b\":\"4\"}]");
    csv_ok("a,b\n1,2", "[{\"a\":\"1\",\"b\":\"2\"}]"); /* no final newline */
    csv_ok("a,b\n", "[]");
    csv_ok("a,b", "[]");
    csv_ok("only\nx\n", "[{\"only\":\"x\"}]");
    csv_ok("a,b\n 1 , 2 \n", "[{\"a\":\" 1 \",\"b\":\" 2 \"}]"); /* spaces are data */
}

static void test_line_ends(void **state)
{
    (void)state;
    csv_ok("a,b\r\n1,2\r\n3,4\r\n", "[{\"a\":\"1\",\"b\":\"2\"},{\"a\":\"3\",\"b\":\"4\"}]");
    csv_ok("a,b\r1,2\r", "[{\"a\":\"1\",\"b\":\"2\"}]"); /* old Mac CR */
    csv_ok("a,b\n\n1,2\n\r\n\n3,4\n\n", "[{\"a\":\"1\",\"b\":\"2\"},{\"a\":\"3\",\"b\":\"4\"}]");
    csv_ok("\n\na\n1\n", "[{\"a\":\"1\"}]"); /* blank lines before the header */
}

static void test_quoting(void **state)
{
    (void)state;
    csv_ok("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n",
           "[{\"a\":\"x,y\",\"b\":\"say \\\"hi\\\"\"}]");
    csv_ok("a,b\n\"line1\nline2\",z\n", "[{\"a\":\"line1\\nline2\",\"b\":\"z\"}]");
    csv_ok("a,b\r\n\"x\r\ny\",z\r\n", "[{\"a\":\"x\\r\\ny\",\"b\":\"z\"}]"); /* kept verbatim */
    csv_ok("\"a b\",\"c\"\"\"\n1,2\n", "[{\"a b\":\"1\",\"c\\\"\":\"2\"}]");
    csv_ok("a,b\n\"\",x\n", "[{\"a\":\"\",\"b\":\"x\"}]"); /* quoted empty: present */
    csv_ok("a\n\"\"\"\"\n", "[{\"a\":\"\\\"\"}]");
    csv_ok("a,b\nx\"y,z\n", "[{\"a\":\"x\\\"y\",\"b\":\"z\"}]"); /* stray quote mid-field */
    csv_ok("a,b\n\"1\",\"2\"", "[{\"a\":\"1\",\"b\":\"2\"}]");
    csv_bad("a,b\n\"unterminated,2\n3,4\n", "line 2: unterminated quoted field");
    csv_bad("a,b\n\"x\"y,2\n", "line 2: unexpected character after closing quote");
}

static void test_empty_and_ragged(void **state)
{
    (void)state;
    csv_ok("a,b,c\n1,,3\n", "[{\"a\":\"1\",\"c\":\"3\"}]"); /* empty unquoted: absent */
    csv_ok("a,b,c\n,,\n", "[{}]");
    csv_ok("a,b,c\n1\n", "[{\"a\":\"1\"}]"); /* short row: rest absent */
    csv_ok("a,b,c\n1,2\n", "[{\"a\":\"1\",\"b\":\"2\"}]");
    csv_bad("a,b\n1,2\n1,2,3\n", "line 3: 3 cells but the header has 2 columns");
    csv_bad("a,b\n1,2,\n", "line 2: 3 cells"); /* a trailing comma is one more cell */
    /* the line named is the one a row starts on, after multi-line cells */
    csv_bad("a,b\n\"x\ny\nz\",1\n1,2,3\n", "line 5:");
}

static void test_header_errors(void **state)
{
    (void)state;
    csv_bad("", "empty input");
    csv_bad("\n\r\n", "empty input");
    csv_bad("a,,c\n1,2,3\n", "header column 2 has no name");
    csv_bad("a,b,\n", "header column 3 has no name");
    csv_bad("a,b,a\n1,2,3\n", "duplicate header column 'a'");
    csv_bad("a,\xff\n1,2\n", "header column 2 is not valid UTF-8");
    csv_bad("\"a\nb\n", "unterminated");
}

static void test_bom_and_utf8(void **state)
{
    (void)state;
    csv_ok("\xEF\xBB\xBF" "a,b\n1,2\n", "[{\"a\":\"1\",\"b\":\"2\"}]");
    csv_ok("caf\xc3\xa9\n cr\xc3\xa8me\n", "[{\"caf\xc3\xa9\":\" cr\xc3\xa8me\"}]");
    csv_bad("a\n\xc3\x28\n", "line 2: column 'a' is not valid UTF-8");
}

static void test_error_then_continue(void **state)
{
    (void)state;
    const char *text = "a\n1\n1,2\n3\n";
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    char err[ERROR_MAX] = "";
    struct csv_reader *reader = csv_reader_open(in, err);
    assert_non_null(reader);
    json_t *row = NULL;
    assert_int_equal(csv_reader_next(reader, &row, err), 1);
    json_decref(row);
    assert_int_equal(csv_reader_next(reader, &row, err), -1);
    assert_null(row);
    assert_non_null(strstr(err, "line 3"));
    assert_int_equal(csv_reader_next(reader, &row, err), 1); /* the row after the bad one */
    assert_string_equal(json_string_value(json_object_get(row, "a")), "3");
    json_decref(row);
    assert_int_equal(csv_reader_next(reader, &row, err), 0);
    assert_int_equal(csv_reader_next(reader, &row, err), 0);
    csv_reader_close(&reader);
    csv_reader_close(&reader); /* NULL-safe */
    csv_reader_close(NULL);
    fclose(in);
}

static void test_embedded_nul_and_large(void **state)
{
    (void)state;
    /* a NUL byte inside a cell survives (JSON escapes it) */
    const char text[] = "a\nx\0y\n";
    char err[ERROR_MAX] = "";
    char *got = read_all(text, sizeof text - 1, err);
    assert_non_null(got);
    assert_string_equal(got, "[{\"a\":\"x\\u0000y\"}]");
    free(got);

    /* a big quoted cell spanning many buffer growths */
    size_t n = 1000000;
    char *big = malloc(n + 16);
    assert_non_null(big);
    memcpy(big, "a\n\"", 3);
    memset(big + 3, 'q', n);
    memcpy(big + 3 + n, "\"\n", 3);
    got = read_all(big, strlen(big), err);
    assert_non_null(got);
    assert_int_equal(strlen(got), n + 10); /* [{"a":"..."}] */
    free(got);
    free(big);

    /* a row over CSV_ROW_MAX is refused instead of growing without bound */
    n = CSV_ROW_MAX + 10;
    big = malloc(n + 8);
    assert_non_null(big);
    memcpy(big, "a\n", 2);
    memset(big + 2, 'q', n);
    big[n + 2] = '\0';
    got = read_all(big, n + 2, err);
    assert_null(got);
    assert_non_null(strstr(err, "line 2: row longer than"));
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_line_ends),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_empty_and_ragged),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_bom_and_utf8),
        cmocka_unit_test(test_error_then_continue),
        cmocka_unit_test(test_embedded_nul_and_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

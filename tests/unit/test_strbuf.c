/* test_strbuf.c - growable strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "strbuf.h"

static void test_appends_and_grows(void **state)
{
    (void)state;
    struct strbuf b = {0};
    strbuf_addf(&b, "SELECT %s", "a");
    for (int i = 0; i < 1000; i++)
        strbuf_addf(&b, ", \"c%d\"", i);
    assert_false(b.failed);
    assert_int_equal(b.len, strlen(b.s));
    assert_true(strncmp(b.s, "SELECT a, \"c0\", \"c1\"", 20) == 0);
    assert_non_null(strstr(b.s, ", \"c999\""));
    assert_true(b.cap > b.len);
    strbuf_free(&b);
    assert_null(b.s);
    assert_int_equal(b.len, 0);
    /* reusable after free */
    strbuf_addf(&b, "%d", 42);
    assert_string_equal(b.s, "42");
    strbuf_free(&b);
}

static void test_failed_stays_failed(void **state)
{
    (void)state;
    struct strbuf b = {0};
    b.failed = true;
    strbuf_addf(&b, "ignored");
    assert_null(b.s);
    strbuf_free(&b);
    assert_false(b.failed);
}

static void test_fixed_append_cuts_with_ellipsis(void **state)
{
    (void)state;
    char buf[16] = "";
    strbuf_fixed_appendf(buf, sizeof buf, "a=%d", 1);
    strbuf_fixed_appendf(buf, sizeof buf, ", b=%s", "two");
    assert_string_equal(buf, "a=1, b=two");
    strbuf_fixed_appendf(buf, sizeof buf, ", c=%s", "three");
    assert_int_equal(strlen(buf), sizeof buf - 1);
    assert_string_equal(buf, "a=1, b=two, ...");
    strbuf_fixed_appendf(buf, sizeof buf, "more");
    assert_string_equal(buf, "a=1, b=two, ..."); /* full: unchanged */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_append_cuts_with_ellipsis),
        cmocka_unit_test(test_appends_and_grows),
        cmocka_unit_test(test_failed_stays_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

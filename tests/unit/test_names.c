/* test_names.c - unit tests of the identifier rules (names.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "names.h"

static void repeat(char *out, char c, size_t n)
{
    memset(out, c, n);
    out[n] = '\0';
}

static void test_valid_objects(void **state)
{
    (void)state;
    assert_true(names_is_valid_object("demo"));
    assert_true(names_is_valid_object("a"));
    assert_true(names_is_valid_object("flights_by_origin2"));
    assert_true(names_is_valid_object("a_"));
    assert_true(names_is_valid_object("sqlite"));   /* only the "sqlite_" prefix is reserved */
    assert_true(names_is_valid_object("sqlitex"));
    char name[80];
    repeat(name, 'a', 63);
    assert_true(names_is_valid_object(name));
}

static void test_invalid_objects(void **state)
{
    (void)state;
    const char *bad[] = {"", "../x", "a b", "a\"b", "a'b", "Demo", "1abc", "_x", "a-b", "a.b",
                         "a/b", "sqlite_x", "sqlite_", "caf\xc3\xa9", "\xc3\xa9t\xc3\xa9", "a\n",
                         " a", "a;drop", "x\\y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(names_is_valid_object(bad[i]));
    assert_false(names_is_valid_object(NULL));
    char name[80];
    repeat(name, 'a', 64);
    assert_false(names_is_valid_object(name));
}

static void test_check_object_messages(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "";
    assert_int_equal(names_check_object("domain", "demo", err), 0);
    assert_int_equal(names_check_object("domain", "../x", err), -1);
    assert_string_equal(err, "invalid domain name '../x': must match ^[a-z][a-z0-9_]{0,62}$");
    assert_int_equal(names_check_object("table", "sqlite_master", err), -1);
    assert_non_null(strstr(err, "table name 'sqlite_master'"));
    assert_non_null(strstr(err, "reserved"));
    assert_int_equal(names_check_object("endpoint", "", err), -1);
    assert_non_null(strstr(err, "endpoint name ''"));
    assert_int_equal(names_check_object("job", NULL, err), -1);
    assert_non_null(strstr(err, "job"));
    /* a huge name is shortened in the message, never overflowing it */
    char huge[2000];
    repeat(huge, 'x', sizeof huge - 1);
    assert_int_equal(names_check_object("domain", huge, err), -1);
    assert_true(strlen(err) < 200);
    assert_non_null(strstr(err, "..."));
    assert_int_equal(names_check_object("domain", "x", NULL), 0);
    assert_int_equal(names_check_object("domain", "X", NULL), -1);
}

static void test_columns(void **state)
{
    (void)state;
    assert_true(names_is_valid_column("Delay"));
    assert_true(names_is_valid_column("origin_2"));
    assert_true(names_is_valid_column("sqlite_x")); /* reserved for tables only */
    char name[80];
    repeat(name, 'Z', 63);
    assert_true(names_is_valid_column(name));
    repeat(name, 'Z', 64);
    assert_false(names_is_valid_column(name));
    const char *bad[] = {"", "_seq", "_rescued", "1a", "a b", "a\"b", "a-b", "\xc3\xa9", "a\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(names_is_valid_column(bad[i]));
    assert_false(names_is_valid_column(NULL));

    char err[ERROR_MAX];
    assert_int_equal(names_check_column("ok", err), 0);
    assert_int_equal(names_check_column("a b", err), -1);
    assert_string_equal(err, "invalid column name 'a b': must match ^[A-Za-z][A-Za-z0-9_]{0,62}$");
    assert_int_equal(names_check_column("_seq", err), -1);
    assert_non_null(strstr(err, "reserved"));
}

static void check_sanitize(const char *in, const char *expected)
{
    char out[NAMES_MAX];
    names_sanitize_column(in, out);
    assert_string_equal(out, expected);
    assert_true(names_is_valid_column(out));
    char again[NAMES_MAX];
    names_sanitize_column(out, again); /* a sanitised name is a fixed point */
    assert_string_equal(again, out);
}

static void test_sanitize(void **state)
{
    (void)state;
    check_sanitize("Cost: Total $", "cost_total");
    check_sanitize("already_fine", "already_fine");
    check_sanitize("CamelCase", "camelcase");
    check_sanitize("__x__", "x");
    check_sanitize("a  --  b", "a_b");
    check_sanitize("a__b", "a_b");
    check_sanitize("1st place", "c_1st_place");
    check_sanitize("_seq", "seq");
    check_sanitize("", "c");
    check_sanitize("$$$", "c");
    check_sanitize("caf\xc3\xa9 cr\xc3\xa8me", "caf_cr_me");
    check_sanitize("\xc3\xa9t\xc3\xa9", "t");
    check_sanitize("../etc/passwd", "etc_passwd");
    check_sanitize("a\"b'c", "a_b_c");

    char out[NAMES_MAX];
    names_sanitize_column(NULL, out);
    assert_string_equal(out, "c");

    char in[200];
    repeat(in, 'q', 150);
    names_sanitize_column(in, out);
    assert_int_equal(strlen(out), 63);
    assert_true(names_is_valid_column(out));

    /* truncation that would end on a separator trims it */
    memset(in, 'a', 62);
    strcpy(in + 62, " bbb");
    names_sanitize_column(in, out);
    assert_int_equal(strlen(out), 62);
    assert_true(names_is_valid_column(out));

    /* the "c_" prefix counts against the 63 characters */
    memset(in, '9', 100);
    in[100] = '\0';
    names_sanitize_column(in, out);
    assert_int_equal(strlen(out), 63);
    assert_memory_equal(out, "c_99", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_objects),
        cmocka_unit_test(test_invalid_objects),
        cmocka_unit_test(test_check_object_messages),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

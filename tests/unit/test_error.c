/* test_error.c - unit tests of error kinds (error.h): the return value that
 * carries one, and the name table control replies send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "error.h"

static void test_fail_carries_kind(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    for (int k = ERROR_INTERNAL; k < ERROR_KIND_COUNT; k++) {
        int rc = error_fail(err, (enum error_kind)k, "thing %d", k);
        assert_true(rc < 0);
        assert_int_equal(error_kind_of(rc), k);
    }
    char last[ERROR_MAX];
    snprintf(last, sizeof last, "thing %d", ERROR_KIND_COUNT - 1);
    assert_string_equal(err, last);
    /* plain -1 is internal; success is none; a stray value is internal */
    assert_int_equal(error_fail(NULL, ERROR_INTERNAL, "x"), -1);
    assert_int_equal(error_kind_of(-1), ERROR_INTERNAL);
    assert_int_equal(error_kind_of(0), ERROR_NONE);
    assert_int_equal(error_kind_of(3), ERROR_NONE);
    assert_int_equal(error_kind_of(-1000), ERROR_INTERNAL);
    /* a failure needs a kind: none becomes internal */
    assert_int_equal(error_kind_of(error_fail(err, ERROR_NONE, "y")), ERROR_INTERNAL);
}

static void test_kind_names(void **state)
{
    (void)state;
    const char *expected[ERROR_KIND_COUNT] = {"",         "internal", "invalid", "not_found",
                                              "conflict", "busy",     "timeout", "no_space",
                                              "too_large", "denied",  "unavailable"};
    for (int k = ERROR_NONE; k < ERROR_KIND_COUNT; k++) {
        assert_string_equal(error_kind_name((enum error_kind)k), expected[k]);
        enum error_kind back = ERROR_KIND_COUNT;
        assert_int_equal(error_kind_from_name(expected[k], &back), 0);
        assert_int_equal(back, k);
    }
    enum error_kind out;
    assert_int_equal(error_kind_from_name("Busy", &out), -1);
    assert_int_equal(error_kind_from_name("not found", &out), -1);
    assert_string_equal(error_kind_name(ERROR_KIND_COUNT), "internal");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_carries_kind),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

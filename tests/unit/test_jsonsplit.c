/* test_jsonsplit.c - cutting a JSON array into its elements byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "jsonsplit.h"

/* Feed text (one element and what follows it); return how many bytes the
 * element has, or -1 if it never ended. */
static int element_length(const char *text)
{
    struct jsonsplit split;
    jsonsplit_reset(&split);
    for (size_t i = 0; text[i] != '\0'; i++) {
        enum jsonsplit_result step = jsonsplit_step(&split, (unsigned char)text[i]);
        if (step == JSONSPLIT_OUTSIDE)
            return (int)i;
        if (step == JSONSPLIT_LAST)
            return (int)i + 1;
    }
    return -1;
}

static void test_objects_and_arrays_end_at_their_closing_bracket(void **state)
{
    (void)state;
    assert_int_equal(element_length("{\"a\":1},{\"b\":2}]"), 7);
    assert_int_equal(element_length("[1,[2,3],{\"x\":[]}] , 4"), 18);
    assert_int_equal(element_length("{}]"), 2);
}

static void test_brackets_and_quotes_inside_strings_do_not_count(void **state)
{
    (void)state;
    assert_int_equal(element_length("{\"a\":\"}],{\"}, 1"), 12);
    assert_int_equal(element_length("{\"a\":\"x\\\"}\"}]"), 12); /* escaped quote */
    assert_int_equal(element_length("{\"a\":\"x\\\\\"}]"), 11);  /* escaped backslash */
}

static void test_scalars_end_before_a_comma_blank_or_the_closing_bracket(void **state)
{
    (void)state;
    assert_int_equal(element_length("12.5,3"), 4);
    assert_int_equal(element_length("true]"), 4);
    assert_int_equal(element_length("null\n,"), 4);
    assert_int_equal(element_length("\"a,b\" ,"), 5);
}

static void test_unfinished_element_never_ends(void **state)
{
    (void)state;
    assert_int_equal(element_length("{\"a\":[1,2"), -1);
    assert_int_equal(element_length("\"open string ]"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objects_and_arrays_end_at_their_closing_bracket),
        cmocka_unit_test(test_brackets_and_quotes_inside_strings_do_not_count),
        cmocka_unit_test(test_scalars_end_before_a_comma_blank_or_the_closing_bracket),
        cmocka_unit_test(test_unfinished_element_never_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_utf8.c - unit tests of the one UTF-8 check (common/utf8.h): what
 * jansson takes is valid, overlong forms, surrogates, code points above
 * U+10FFFF and cut sequences are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <jansson.h>

#include "utf8.h"

static bool jansson_takes(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    json_decref(v);
    return v != NULL;
}

static void test_cases(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "plain", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF",
        "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xF0\x80\x80\xAF", "\xED\xA0\x80",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xC3", "\xE2\x82", "\x80", "a\xFFz",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i]);
        assert_int_equal(utf8_valid(cases[i], n), jansson_takes(cases[i], n));
    }
    assert_int_equal(utf8_sequence((const unsigned char *)"\xF0\x9F\x98\x80", 4), 4);
    assert_int_equal(utf8_sequence((const unsigned char *)"\xF0\x9F\x98\x80", 3), 0);
    assert_int_equal(utf8_sequence((const unsigned char *)"a", 1), 1);
}

/* Every 2-byte string: the check agrees with jansson. */
static void test_all_pairs(void **state)
{
    (void)state;
    char s[2];
    for (int a = 0x01; a < 0x100; a++) {
        for (int b = 0x01; b < 0x100; b++) {
            s[0] = (char)a;
            s[1] = (char)b;
            assert_int_equal(utf8_valid(s, 2), jansson_takes(s, 2));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_all_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

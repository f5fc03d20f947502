/* test_jsonflat.c - the flat-object scanner agrees with jansson on every line
 * it accepts, and leaves everything outside its subset to jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonflat.h"

#define MAXF 64

/* s[0..len) as the scanner gives it, escapes decoded, NUL-terminated. */
static void decoded(const struct jsonflat_field *f, const char *s, size_t len, char *out,
                    size_t *out_len)
{
    assert_true(len < 256);
    *out_len = f->escaped ? jsonflat_unescape(s, len, out) : len;
    if (!f->escaped)
        memcpy(out, s, len);
    out[*out_len] = '\0';
}

/* If the scanner accepts the line, jansson must read the same object. */
static int check_agrees_with(const char *line, unsigned flags)
{
    struct jsonflat_field f[MAXF];
    size_t len = strlen(line);
    int n = jsonflat_scan(line, len, f, MAXF, flags);
    json_error_t je;
    json_t *root = json_loadb(line, len, JSON_ALLOW_NUL, &je);
    if (n < 0) {
        json_decref(root);
        return n;
    }
    if (root == NULL || !json_is_object(root)) {
        fail_msg("accepted what jansson refuses: %s (%s)", line, je.text);
    }
    /* no duplicate keys in the accepted set of the tests below */
    assert_int_equal((size_t)n, json_object_size(root));
    for (int i = 0; i < n; i++) {
        if (!(flags & JSONFLAT_ESCAPES))
            assert_false(f[i].escaped);
        char key[256];
        size_t key_len;
        decoded(&f[i], f[i].key, f[i].key_len, key, &key_len);
        json_t *v = json_object_get(root, key);
        if (v == NULL)
            fail_msg("key %s missing in jansson's reading of %s", key, line);
        switch (f[i].type) {
        case JSONFLAT_NULL: assert_true(json_is_null(v)); break;
        case JSONFLAT_TRUE: assert_true(json_is_true(v)); break;
        case JSONFLAT_FALSE: assert_true(json_is_false(v)); break;
        case JSONFLAT_INTEGER:
            assert_true(json_is_integer(v));
            assert_true(json_integer_value(v) == f[i].integer);
            break;
        case JSONFLAT_REAL:
            assert_true(json_is_real(v));
            assert_memory_equal(&f[i].real, &(double){json_real_value(v)}, sizeof(double));
            break;
        case JSONFLAT_STRING: {
            char str[256];
            size_t str_len;
            decoded(&f[i], f[i].str, f[i].len, str, &str_len);
            assert_true(json_is_string(v));
            assert_int_equal(str_len, json_string_length(v));
            assert_memory_equal(str, json_string_value(v), str_len);
            break;
        }
        }
    }
    json_decref(root);
    return n;
}

/* Both modes agree with jansson; the strict one accepts no more lines. */
static int check_agrees(const char *line)
{
    int strict = check_agrees_with(line, 0);
    int escapes = check_agrees_with(line, JSONFLAT_ESCAPES);
    if (strict >= 0)
        assert_int_equal(strict, escapes);
    return strict;
}

static void test_flat_records_are_read_in_place(void **state)
{
    (void)state;
    const char *line = "{\"id\":17,\"delay\":-3,\"time\":1.25,\"origin\":\"SFO\","
                       "\"ok\":true,\"bad\":false,\"gone\":null,\"_seq\":9223372036854775807,"
                       "\"low\":-9223372036854775808,\"e\":1e3,\"name\":\"Zürich €\"}";
    assert_int_equal(check_agrees(line), 11);
    assert_int_equal(check_agrees("  { \"a\" : 1 , \"b\" :\t\"x\" }  \r\n"), 2);
    assert_int_equal(check_agrees("{}"), 0);
    assert_int_equal(check_agrees("{\"a\":-0,\"b\":0.5E-3,\"c\":\"\"}"), 3);
    assert_int_equal(check_agrees("{\"\xF0\x9F\x98\x80\":\"\xE2\x82\xAC\"}"), 1);
}

static void test_escapes_are_decoded_when_asked(void **state)
{
    (void)state;
    const char *line = "{\"k\\\"\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\xC3\xA9\",\"n\":1}";
    assert_int_equal(check_agrees(line), -1);
    assert_int_equal(check_agrees_with(line, JSONFLAT_ESCAPES), 2);
    struct jsonflat_field f[MAXF];
    assert_int_equal(jsonflat_scan(line, strlen(line), f, MAXF, JSONFLAT_ESCAPES), 2);
    assert_true(f[0].escaped);
    assert_false(f[1].escaped);
    char out[64];
    size_t n = jsonflat_unescape(f[0].str, f[0].len, out);
    assert_int_equal(n, 14);
    assert_memory_equal(out, "a\"b\\c/d\b\f\n\r\t\xC3\xA9", n);
    /* \u, unknown and cut escapes stay jansson's in either mode */
    const char *no[] = {"{\"a\":\"\\u0041\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\\"}"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_int_equal(jsonflat_scan(no[i], strlen(no[i]), f, MAXF, JSONFLAT_ESCAPES), -1);
}

static void test_everything_else_is_left_to_jansson(void **state)
{
    (void)state;
    const char *no[] = {
        "", "[]", "1", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1}x",
        "{\"a\":1} {}", "{\"a\":{\"b\":1}}", "{\"a\":[1]}", "{\"a\":\"x\\ny\"}",
        "{\"a\\u0041\":1}", "{\"a\":\"tab\there\"}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":1e}", "{\"a\":-}", "{\"a\":+1}", "{\"a\":9223372036854775808}",
        "{\"a\":-9223372036854775809}", "{\"a\":1e999}", "{\"a\":tru}", "{\"a\":truex}",
        "{\"a\":NaN}", "{\"a\":\"\xC0\xAF\"}", "{\"a\":\"\xED\xA0\x80\"}", "{\"a\":\"\xF4\x90\x80\x80\"}",
        "{\"a\":\"\xE2\x82\"}", "{\"a\":\"\x80\"}", "{'a':1}", "{\"a\" 1}", "{\"a\":1 \"b\":2}",
        "{\"a\":123456789012345678901234567890.5e-1234567890123456789012345678901234567890}",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        struct jsonflat_field f[MAXF];
        unsigned flags = strchr(no[i], '\\') != NULL && strstr(no[i], "\\u") == NULL
                             ? 0 : JSONFLAT_ESCAPES; /* the widest mode that must refuse it */
        if (jsonflat_scan(no[i], strlen(no[i]), f, MAXF, flags) >= 0)
            fail_msg("accepted %s", no[i]);
    }
    /* a NUL inside a string is a control character */
    const char nul[] = "{\"a\":\"x\0y\"}";
    struct jsonflat_field f[MAXF];
    assert_int_equal(jsonflat_scan(nul, sizeof nul - 1, f, MAXF, JSONFLAT_ESCAPES), -1);
    /* more fields than the caller holds */
    assert_int_equal(jsonflat_scan("{\"a\":1,\"b\":2}", 13, f, 1, 0), -1);
    assert_int_equal(jsonflat_scan("{\"a\":1}", 7, f, 1, 0), 1);
}

/* Reals read by the scanner's fast path or by strtod are strtod's value to
 * the bit, whatever their digits, point and exponent. */
static void test_reals_are_strtods(void **state)
{
    (void)state;
    unsigned seed = 777;
    for (int iter = 0; iter < 20000; iter++) {
        char num[48], line[64];
        seed = seed * 1103515245u + 12345u;
        unsigned long long mant = ((unsigned long long)seed << 20) ^ (seed >> 3);
        int digits = 1 + (int)((seed >> 24) % 19);
        seed = seed * 1103515245u + 12345u;
        int point = (int)((seed >> 16) % (unsigned)(digits + 1));
        int exp = (int)((seed >> 8) % 61) - 30;
        char d[24];
        snprintf(d, sizeof d, "%0*llu", digits, mant % 10000000000000000000ull);
        d[digits] = '\0';
        if (point > 0 && point < digits)
            snprintf(num, sizeof num, "%s%.*s.%s%s", seed & 1 ? "-" : "", point, d, d + point,
                     seed & 2 ? "" : "e");
        else
            snprintf(num, sizeof num, "%s%s.5%s", seed & 1 ? "-" : "", d, seed & 2 ? "" : "e");
        if (num[strlen(num) - 1] == 'e')
            snprintf(num + strlen(num), sizeof num - strlen(num), "%d", exp);
        const char *digits_at = num[0] == '-' ? num + 1 : num;
        if (digits_at[0] == '0' && isdigit((unsigned char)digits_at[1]))
            continue; /* a leading zero: not JSON */
        snprintf(line, sizeof line, "{\"r\":%s}", num);
        struct jsonflat_field f[1];
        if (jsonflat_scan(line, strlen(line), f, 1, 0) != 1)
            fail_msg("refused %s", line);
        assert_int_equal(f[0].type, JSONFLAT_REAL);
        double want = strtod(num, NULL);
        if (memcmp(&f[0].real, &want, sizeof want) != 0)
            fail_msg("%s: %.17g, strtod %.17g", num, f[0].real, want);
    }
}

/* Random lines built from JSON pieces, valid and not: whenever the scanner
 * accepts one, jansson reads the same fields. */
static void test_random_lines_agree(void **state)
{
    (void)state;
    const char *keys[] = {"\"a\"", "\"b\"", "\"id\"", "\"_seq\"", "\"k\\\"\"", "\"\xC3\xA9\"", "a",
                          "\"\""};
    const char *vals[] = {"1", "-1", "0", "-0", "12.5", "1e5", "-2.5E-3", "\"x\"", "\"\"",
                          "\"\xE2\x82\xAC\"", "true", "false", "null", "[1]", "{}", "01",
                          "\"a\\tb\"", "99999999999999999999", "1.", "nul", "\"\x01\"",
                          "123456789", "-9223372036854775808", "3.14159265358979"};
    const char *seps[] = {",", ",", ",", " , ", ",,", ""};
    unsigned seed = 12345;
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char line[1024];
        size_t len = 0;
        seed = seed * 1103515245u + 12345u;
        int fields = (int)((seed >> 16) % 5);
        len += (size_t)snprintf(line + len, sizeof line - len, "%s{", (seed >> 8) % 7 ? "" : " ");
        const char *used[5];
        int nused = 0;
        for (int i = 0; i < fields; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *k = keys[(seed >> 16) % (sizeof keys / sizeof keys[0])];
            bool dup = false;
            for (int j = 0; j < nused; j++)
                dup = dup || strcmp(used[j], k) == 0;
            if (dup)
                continue; /* jansson keeps the last of a repeated key; the caller handles that */
            used[nused++] = k;
            seed = seed * 1103515245u + 12345u;
            const char *v = vals[(seed >> 16) % (sizeof vals / sizeof vals[0])];
            seed = seed * 1103515245u + 12345u;
            const char *sep = nused > 1 ? seps[(seed >> 16) % (sizeof seps / sizeof seps[0])] : "";
            len += (size_t)snprintf(line + len, sizeof line - len, "%s%s:%s", sep, k, v);
        }
        seed = seed * 1103515245u + 12345u;
        len += (size_t)snprintf(line + len, sizeof line - len, "}%s",
                                (seed >> 16) % 11 ? "" : ((seed >> 20) % 2 ? " x" : "  "));
        if (check_agrees(line) >= 0)
            accepted++;
    }
    assert_true(accepted > 1000); /* the test exercised the accepting path */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_records_are_read_in_place),
        cmocka_unit_test(test_escapes_are_decoded_when_asked),
        cmocka_unit_test(test_everything_else_is_left_to_jansson),
        cmocka_unit_test(test_reals_are_strtods),
        cmocka_unit_test(test_random_lines_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

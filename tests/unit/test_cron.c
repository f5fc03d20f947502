/* test_cron.c - unit tests of cron.c: both field forms, names, steps,
 * ranges, the day-of-month/day-of-week rule, cron_next across month, year
 * and leap-day boundaries, and the messages of invalid expressions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "cron.h"

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = s};
    return timegm(&tm);
}

static struct cron_expr parse_ok(const char *text)
{
    struct cron_expr e;
    char err[ERROR_MAX] = "";
    if (cron_parse(text, &e, err) != 0)
        fail_msg("cron_parse('%s') failed: %s", text, err);
    return e;
}

static uint64_t bits(const int *values, size_t n)
{
    uint64_t b = 0;
    for (size_t i = 0; i < n; i++)
        b |= UINT64_C(1) << values[i];
    return b;
}

static void test_five_fields(void **state)
{
    (void)state;
    struct cron_expr e = parse_ok("*/15 2 * * 1-5");
    int mins[] = {0, 15, 30, 45};
    assert_int_equal(bits(mins, 4), e.minutes);
    assert_int_equal(1u << 2, e.hours);
    assert_int_equal(0xFFFFFFFEu, e.days); /* days 1..31 */
    assert_int_equal(0x1FFE, e.months);    /* months 1..12 */
    assert_int_equal(0x3E, e.weekdays);    /* Mon..Fri */
    assert_false(e.days_restricted);
    assert_true(e.weekdays_restricted);
    assert_int_equal(0, e.year_from);
}

static void test_six_fields_aws_form(void **state)
{
    (void)state;
    struct cron_expr e = parse_ok("0 2 * * ? *");
    assert_int_equal(1, e.minutes);
    assert_int_equal(1u << 2, e.hours);
    assert_int_equal(0x7F, e.weekdays);
    assert_false(e.days_restricted);
    assert_false(e.weekdays_restricted);
    assert_int_equal(0, e.year_from);
    assert_true(cron_matches(&e, utc(2026, 11, 21, 2, 0, 59)));
    assert_false(cron_matches(&e, utc(2026, 11, 21, 2, 1, 0)));
    assert_false(cron_matches(&e, utc(2026, 11, 21, 3, 0, 0)));

    e = parse_ok("0 12 ? * MON-FRI 2026-2027");
    assert_int_equal(2026, e.year_from);
    assert_int_equal(2027, e.year_to);
    assert_false(e.days_restricted);
    assert_true(cron_matches(&e, utc(2026, 11, 16, 12, 0, 0)));  /* Monday */
    assert_false(cron_matches(&e, utc(2026, 11, 21, 12, 0, 0))); /* Saturday */
    assert_false(cron_matches(&e, utc(2028, 11, 20, 12, 0, 0))); /* Monday, year out */

    e = parse_ok("0 0 1 1 ? 2030,2031");
    assert_int_equal(2030, e.year_from);
    assert_int_equal(2031, e.year_to);
}

static void test_names_and_sunday(void **state)
{
    (void)state;
    struct cron_expr e = parse_ok("0 0 1 JAN,jul,Dec mon-fri");
    assert_int_equal((1u << 1) | (1u << 7) | (1u << 12), e.months);
    assert_int_equal(0x3E, e.weekdays);
    e = parse_ok("0 0 * * 7");
    assert_int_equal(1, e.weekdays);
    e = parse_ok("0 0 * * 0");
    assert_int_equal(1, e.weekdays);
    e = parse_ok("0 0 * * FRI-SUN");
    assert_int_equal((1 << 5) | (1 << 6) | 1, e.weekdays);
    e = parse_ok("0 0 * * 5-7");
    assert_int_equal((1 << 5) | (1 << 6) | 1, e.weekdays);
    e = parse_ok("0 0 * * SUN");
    assert_true(cron_matches(&e, utc(2026, 11, 22, 0, 0, 0))); /* a Sunday */
}

static void test_steps_ranges_lists(void **state)
{
    (void)state;
    struct cron_expr e = parse_ok("5-20/5 1,3,5 1-10/3 */4 *");
    int mins[] = {5, 10, 15, 20};
    assert_int_equal(bits(mins, 4), e.minutes);
    assert_int_equal((1u << 1) | (1u << 3) | (1u << 5), e.hours);
    assert_int_equal((1u << 1) | (1u << 4) | (1u << 7) | (1u << 10), e.days);
    assert_int_equal((1u << 1) | (1u << 5) | (1u << 9), e.months);
    e = parse_ok("10/20 * * * *");
    int mins2[] = {10, 30, 50};
    assert_int_equal(bits(mins2, 3), e.minutes);
    e = parse_ok("  0   0\t* * *  ");
    assert_int_equal(1, e.minutes);
    e = parse_ok("59 23 31 12 *");
    assert_int_equal(UINT64_C(1) << 59, e.minutes);
}

static void test_day_or_rule(void **state)
{
    (void)state;
    /* both restricted: the 13th OR a Friday */
    struct cron_expr e = parse_ok("0 0 13 * 5");
    assert_true(e.days_restricted && e.weekdays_restricted);
    assert_true(cron_matches(&e, utc(2026, 11, 13, 0, 0, 0)));  /* Friday 13th */
    assert_true(cron_matches(&e, utc(2026, 11, 20, 0, 0, 0)));  /* a Friday */
    assert_true(cron_matches(&e, utc(2026, 12, 13, 0, 0, 0)));  /* a Sunday 13th */
    assert_false(cron_matches(&e, utc(2026, 11, 16, 0, 0, 0))); /* Monday 16th */
    /* only the weekday restricted: Mondays only */
    e = parse_ok("0 0 * * 1");
    assert_true(cron_matches(&e, utc(2026, 11, 16, 0, 0, 0)));
    assert_false(cron_matches(&e, utc(2026, 11, 13, 0, 0, 0)));
    /* only the day restricted */
    e = parse_ok("0 0 13 * ?");
    assert_true(cron_matches(&e, utc(2026, 12, 13, 0, 0, 0)));
    assert_false(cron_matches(&e, utc(2026, 11, 20, 0, 0, 0)));
    /* Vixie: a field starting with '*' counts as unrestricted -> AND */
    e = parse_ok("0 0 */2 * 1");
    assert_false(e.days_restricted);
    assert_false(cron_matches(&e, utc(2026, 11, 16, 0, 0, 0))); /* Monday, even day */
    assert_true(cron_matches(&e, utc(2026, 11, 23, 0, 0, 0)));  /* Monday, odd day */
}

static void test_next(void **state)
{
    (void)state;
    struct cron_expr e = parse_ok("* * * * *");
    assert_int_equal(utc(2026, 1, 1, 12, 1, 0), cron_next(&e, utc(2026, 1, 1, 12, 0, 30)));
    /* strictly after: a matching minute itself is not returned */
    assert_int_equal(utc(2026, 1, 1, 12, 1, 0), cron_next(&e, utc(2026, 1, 1, 12, 0, 0)));

    e = parse_ok("0 2 * * ? *");
    assert_int_equal(utc(2026, 1, 2, 2, 0, 0), cron_next(&e, utc(2026, 1, 1, 2, 0, 0)));
    assert_int_equal(utc(2026, 1, 1, 2, 0, 0), cron_next(&e, utc(2026, 1, 1, 1, 59, 59)));

    /* across a month */
    e = parse_ok("0 0 1 * *");
    assert_int_equal(utc(2026, 2, 1, 0, 0, 0), cron_next(&e, utc(2026, 1, 31, 12, 0, 0)));
    /* across a year */
    e = parse_ok("30 23 31 12 *");
    assert_int_equal(utc(2027, 12, 31, 23, 30, 0), cron_next(&e, utc(2026, 12, 31, 23, 30, 0)));
    e = parse_ok("0 0 1 1 *");
    assert_int_equal(utc(2027, 1, 1, 0, 0, 0), cron_next(&e, utc(2026, 12, 31, 23, 59, 59)));
    /* leap day */
    e = parse_ok("0 12 29 2 *");
    assert_int_equal(utc(2028, 2, 29, 12, 0, 0), cron_next(&e, utc(2025, 3, 1, 0, 0, 0)));
    assert_int_equal(utc(2032, 2, 29, 12, 0, 0), cron_next(&e, utc(2028, 2, 29, 12, 0, 0)));
    /* the last day of February in a leap year, by weekday */
    e = parse_ok("15 6 * FEB TUE");
    assert_int_equal(utc(2028, 2, 29, 6, 15, 0), cron_next(&e, utc(2028, 2, 23, 6, 15, 0)));
    /* never: 30 February, and a year range in the past */
    e = parse_ok("0 0 30 2 *");
    assert_int_equal(-1, cron_next(&e, utc(2026, 1, 1, 0, 0, 0)));
    e = parse_ok("0 0 * * ? 2020");
    assert_int_equal(-1, cron_next(&e, utc(2026, 1, 1, 0, 0, 0)));
    e = parse_ok("0 0 1 1 ? 2030");
    assert_int_equal(utc(2030, 1, 1, 0, 0, 0), cron_next(&e, utc(2026, 6, 1, 0, 0, 0)));
    /* every result of a walk matches, and nothing in between does */
    e = parse_ok("*/20 9-10 * * MON");
    time_t t = utc(2026, 11, 15, 0, 0, 0);
    for (int i = 0; i < 12; i++) {
        time_t n = cron_next(&e, t);
        assert_true(n > t);
        assert_true(cron_matches(&e, n));
        for (time_t m = (t / 60 + 1) * 60; m < n; m += 60)
            assert_false(cron_matches(&e, m));
        t = n;
    }
}

static void expect_invalid(const char *text, const char *fragment)
{
    struct cron_expr e;
    char err[ERROR_MAX] = "";
    assert_int_equal(-1, cron_parse(text, &e, err));
    if (strstr(err, fragment) == NULL)
        fail_msg("error for '%s' is '%s', expected it to contain '%s'", text, err, fragment);
}

static void test_invalid(void **state)
{
    (void)state;
    expect_invalid("", "expected 5 fields");
    expect_invalid("* * * *", "got 4");
    expect_invalid("* * * * * * *", "got more than 6");
    expect_invalid("60 * * * *", "minute field '60': 60 is out of range 0-59");
    expect_invalid("* 24 * * *", "hour field '24': 24 is out of range 0-23");
    expect_invalid("* * 0 * *", "day-of-month field '0': 0 is out of range 1-31");
    expect_invalid("* * 32 * *", "out of range 1-31");
    expect_invalid("* * * 13 *", "month field '13'");
    expect_invalid("* * * * 8", "day-of-week field '8': 8 is out of range 0-7");
    expect_invalid("*/0 * * * *", "step 0 is out of range");
    expect_invalid("*/ * * * *", "step must be a number");
    expect_invalid("5-1 * * * *", "range 5-1 is backwards");
    expect_invalid("* * * FOO *", "unknown name 'FOO'");
    expect_invalid("* * * * MONDAY", "unknown name 'MONDAY'");
    expect_invalid("* * * JAN-MON *", "unknown name 'MON'");
    expect_invalid("1,,2 * * * *", "empty list element");
    expect_invalid("1, * * * *", "empty list element");
    expect_invalid("a * * * *", "unexpected 'a'");
    expect_invalid("1-2-3 * * * *", "unexpected '-'");
    expect_invalid("? ? ? ? ?x", "day-of-week field '?x': unexpected '?'");
    expect_invalid("0 0 * * ? 2026,2028", "years must form one range");
    expect_invalid("0 0 * * ? */2", "year field");
    expect_invalid("0 0 * * ? 2026/2", "steps are not supported for years");
    expect_invalid("0 0 * * ? 1900", "out of range 1970-2199");
    /* the whole expression is quoted in the message */
    expect_invalid("0 25 * * *", "cron expression '0 25 * * *'");
    struct cron_expr e;
    assert_int_equal(-1, cron_parse(NULL, &e, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_five_fields),
        cmocka_unit_test(test_six_fields_aws_form),
        cmocka_unit_test(test_names_and_sunday),
        cmocka_unit_test(test_steps_ranges_lists),
        cmocka_unit_test(test_day_or_rule),
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

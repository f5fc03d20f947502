/* test_timeutil.c - unit tests of timestamp/date parsing and clocks (timeutil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

static void ts_ok(const char *in, const char *format, const char *expected)
{
    char out[TIMEUTIL_TIMESTAMP_MAX] = "";
    char err[ERROR_MAX] = "";
    if (timeutil_normalize_timestamp(in, format, out, err) != 0)
        fail_msg("'%s' (format '%s') refused: %s", in, format ? format : "", err);
    assert_string_equal(out, expected);
}

/* Refused, and the message names the value and contains `why`. */
static void ts_bad(const char *in, const char *format, const char *why)
{
    char out[TIMEUTIL_TIMESTAMP_MAX] = "";
    char err[ERROR_MAX] = "";
    if (timeutil_normalize_timestamp(in, format, out, err) == 0)
        fail_msg("'%s' (format '%s') accepted as '%s'", in, format ? format : "", out);
    assert_non_null(strstr(err, "invalid timestamp"));
    if (in[0] != '\0' && strlen(in) < 60)
        assert_non_null(strstr(err, in));
    if (why != NULL && strstr(err, why) == NULL)
        fail_msg("message '%s' lacks '%s'", err, why);
}

static void date_ok(const char *in, const char *format, const char *expected)
{
    char out[16] = "";
    char err[ERROR_MAX] = "";
    if (timeutil_normalize_date(in, format, out, err) != 0)
        fail_msg("date '%s' refused: %s", in, err);
    assert_string_equal(out, expected);
}

static void date_bad(const char *in, const char *format)
{
    char out[16] = "";
    char err[ERROR_MAX] = "";
    if (timeutil_normalize_date(in, format, out, err) == 0)
        fail_msg("date '%s' accepted as '%s'", in, out);
    assert_non_null(strstr(err, "invalid date"));
}

static void test_iso_forms(void **state)
{
    (void)state;
    ts_ok("2021-03-04T10:20:30", NULL, "2021-03-04T10:20:30");
    ts_ok("2021-03-04 10:20:30", NULL, "2021-03-04T10:20:30");
    ts_ok("2021-03-04t10:20:30z", "", "2021-03-04T10:20:30Z");
    ts_ok("2021-03-04T10:20", NULL, "2021-03-04T10:20:00");
    ts_ok("2021-03-04 10:20Z", NULL, "2021-03-04T10:20:00Z");
    ts_ok("2021-03-04", NULL, "2021-03-04T00:00:00"); /* date only: midnight */
    ts_ok("0000-01-01T00:00:00", NULL, "0000-01-01T00:00:00");
    ts_ok("9999-12-31T23:59:59", NULL, "9999-12-31T23:59:59");
}

static void test_iso_zones(void **state)
{
    (void)state;
    ts_ok("2021-03-04T10:20:30Z", NULL, "2021-03-04T10:20:30Z");
    ts_ok("2021-03-04T10:20:30+00:00", NULL, "2021-03-04T10:20:30+00:00");
    ts_ok("2021-03-04T10:20:30+0000", NULL, "2021-03-04T10:20:30+00:00");
    ts_ok("2021-03-04T10:20:30+00", NULL, "2021-03-04T10:20:30+00:00");
    ts_ok("2021-03-04T10:20:30+05:30", NULL, "2021-03-04T10:20:30+05:30");
    ts_ok("2021-03-04T10:20:30-0800", NULL, "2021-03-04T10:20:30-08:00");
    ts_ok("2021-03-04T10:20:30-00:00", NULL, "2021-03-04T10:20:30-00:00");
    ts_ok("2021-03-04T10:20+01", NULL, "2021-03-04T10:20:00+01:00");
    ts_bad("2021-03-04T10:20:30+5", NULL, "ISO 8601");
    ts_bad("2021-03-04T10:20:30+24:00", NULL, NULL);
    ts_bad("2021-03-04T10:20:30+05:60", NULL, NULL);
    ts_bad("2021-03-04T10:20:30+05:3", NULL, NULL);
    ts_bad("2021-03-04T10:20:30Zjunk", NULL, NULL);
    ts_bad("2021-03-04T10:20:30 UTC", NULL, NULL);
    ts_bad("2021-03-04Z", NULL, NULL);
}

static void test_iso_fractions(void **state)
{
    (void)state;
    ts_ok("2021-03-04T10:20:30.5", NULL, "2021-03-04T10:20:30.5");
    ts_ok("2021-03-04T10:20:30.500Z", NULL, "2021-03-04T10:20:30.500Z");
    ts_ok("2021-03-04T10:20:30.123456789+02:00", NULL, "2021-03-04T10:20:30.123456789+02:00");
    ts_ok("2021-03-04T10:20:30,25", NULL, "2021-03-04T10:20:30.25");
    ts_bad("2021-03-04T10:20:30.1234567891", NULL, "1 to 9 digits");
    ts_bad("2021-03-04T10:20:30.", NULL, "1 to 9 digits");
    ts_bad("2021-03-04T10:20:30.Z", NULL, NULL);
    ts_bad("2021-03-04T10:20.5", NULL, NULL); /* fraction needs seconds */
}

static void test_calendar(void **state)
{
    (void)state;
    ts_ok("2020-02-29T12:00:00", NULL, "2020-02-29T12:00:00");
    ts_ok("2000-02-29T12:00:00", NULL, "2000-02-29T12:00:00");
    ts_bad("2021-02-29T12:00:00", NULL, "day 29 does not exist in 2021-02");
    ts_bad("1900-02-29", NULL, "day 29");
    ts_bad("2021-02-30", NULL, "day 30");
    ts_bad("2021-04-31T00:00:00", NULL, "day 31");
    ts_bad("2021-01-00T00:00:00", NULL, "day 0");
    ts_bad("2021-13-01T00:00:00", NULL, "month 13");
    ts_bad("2021-00-01T00:00:00", NULL, "month 0");
    ts_bad("2021-03-04T24:00:00", NULL, "hour 24");
    ts_bad("2021-03-04T10:60:00", NULL, "minute 60");
    ts_bad("2021-03-04T10:20:60", NULL, "second 60");
    ts_ok("2021-12-31T23:59:59", NULL, "2021-12-31T23:59:59");
}

static void test_garbage(void **state)
{
    (void)state;
    const char *bad[] = {"", "garbage", "2021-3-4", "20210304", "2021/03/04", "2021-03-04T",
                         "2021-03-04 ", " 2021-03-04", "2021-03-04T10", "2021-03-04T10:2",
                         "2021-03-04X10:20", "2021-03-04T10:20:3", "12:00:00", "2021-03-04T1a:20",
                         "-2021-03-04", "\xc3\xa9", "2021-03-04\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ts_bad(bad[i], NULL, NULL);
    char out[TIMEUTIL_TIMESTAMP_MAX];
    char err[ERROR_MAX];
    assert_int_equal(timeutil_normalize_timestamp(NULL, NULL, out, err), -1);
    /* a long bad value is shortened in the message */
    char huge[1000];
    memset(huge, '9', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(timeutil_normalize_timestamp(huge, NULL, out, err), -1);
    assert_true(strlen(err) < 300);
}

static void test_input_format(void **state)
{
    (void)state;
    const char *f = "%Y/%m/%d %H:%M";
    ts_ok("2001/01/14 21:55", f, "2001-01-14T21:55:00");
    ts_ok("2001/1/4 1:05", f, "2001-01-04T01:05:00");
    ts_ok("2001/01/14 21:55  ", f, "2001-01-14T21:55:00"); /* trailing blanks */
    ts_ok("2020/02/29 00:00", f, "2020-02-29T00:00:00");
    ts_bad("2021/02/29 00:00", f, "day 29 does not exist");
    ts_bad("2021/02/30 10:00", f, "day 30");
    ts_bad("2001/01/14 25:00", f, "does not match format '%Y/%m/%d %H:%M'");
    ts_bad("2001/01/14 21:55x", f, "does not match");
    ts_bad("2001/01/14", f, "does not match");
    ts_bad("garbage", f, "does not match");
    /* already normalised values pass again unchanged */
    ts_ok("2001-01-14T21:55:00", f, "2001-01-14T21:55:00");
    ts_ok("2001-01-14T21:55:00.25Z", f, "2001-01-14T21:55:00.25Z");

    ts_ok("14.01.2001", "%d.%m.%Y", "2001-01-14T00:00:00");
    ts_ok("01/14/01 9:05:07 PM", "%m/%d/%y %I:%M:%S %p", "2001-01-14T21:05:07");
    ts_ok("2001-014 10:00", "%Y-%j %H:%M", "2001-01-14T10:00:00");
    ts_ok("20010114215501", "%Y%m%d%H%M%S", "2001-01-14T21:55:01");
    /* the fixed-shape fast path and strptime agree at the edges */
    ts_bad("2001/00/14 21:55", f, "does not match format");
    ts_bad("2001/13/14 21:55", f, "does not match format");
    ts_bad("2001/01/14 21:55:60", "%Y/%m/%d %H:%M:%S", "second 60 out of range");
    ts_ok("2001/01/14\t21:55", f, "2001-01-14T21:55:00");
    ts_ok("0000/12/31 23:59", f, "0000-12-31T23:59:00");
    ts_ok("2001/01/14 21:5", f, "2001-01-14T21:05:00"); /* strptime takes 1 digit */
}

static void test_input_format_zones(void **state)
{
    (void)state;
    const char *f = "%Y/%m/%d %H:%M:%S %z";
    ts_ok("2001/01/14 21:55:00 +0200", f, "2001-01-14T21:55:00+02:00");
    ts_ok("2001/01/14 21:55:00 -05:30", f, "2001-01-14T21:55:00-05:30");
    ts_ok("2001/01/14 21:55:00 +00", f, "2001-01-14T21:55:00+00:00");
    ts_ok("2001/01/14 21:55:00 Z", f, "2001-01-14T21:55:00Z");
    ts_bad("2001/01/14 21:55:00 CET", f, "does not match");
    ts_ok("[2001/01/14 21:55:00+0100]", "[%Y/%m/%d %H:%M:%S%z]", "2001-01-14T21:55:00+01:00");
    ts_ok("100% 2001-01-14", "100%% %Y-%m-%d", "2001-01-14T00:00:00");
}

static void test_input_format_refused(void **state)
{
    (void)state;
    ts_bad("2001/01/14 21:55 CET", "%Y/%m/%d %H:%M %Z", "%Z is not supported");
    ts_bad("979509300", "%s", "%s is not supported");
    ts_bad("21:55", "%H:%M", "does not give a full date");
    ts_bad("2001/01", "%Y/%m", "does not give a full date");

    char err[ERROR_MAX];
    assert_int_equal(timeutil_check_format(NULL, err), 0);
    assert_int_equal(timeutil_check_format("", err), 0);
    assert_int_equal(timeutil_check_format("%Y/%m/%d %H:%M", err), 0);
    assert_int_equal(timeutil_check_format("%d.%m.%Y", err), 0);
    assert_int_equal(timeutil_check_format("%Y-%m-%d %H:%M:%S %z", err), 0);
    assert_int_equal(timeutil_check_format("%m/%d/%y %I:%M %p", err), 0);
    assert_int_equal(timeutil_check_format("%H:%M", err), -1);
    assert_non_null(strstr(err, "invalid input format '%H:%M'"));
    assert_non_null(strstr(err, "full date"));
    assert_int_equal(timeutil_check_format("%Y-%m-%d %Z", err), -1);
    assert_int_equal(timeutil_check_format("%s", err), -1);
    assert_int_equal(timeutil_check_format("%Y-%m-%d %", err), -1);
    assert_non_null(strstr(err, "lone"));
    char long_format[200];
    memset(long_format, ' ', sizeof long_format - 1);
    memcpy(long_format, "%Y-%m-%d", 8);
    long_format[sizeof long_format - 1] = '\0';
    assert_int_equal(timeutil_check_format(long_format, err), -1);
}

static void test_dates(void **state)
{
    (void)state;
    date_ok("2021-03-04", NULL, "2021-03-04");
    date_ok("2020-02-29", "", "2020-02-29");
    date_ok("04/03/2021", "%d/%m/%Y", "2021-03-04");
    date_ok("2001/01/14 21:55", "%Y/%m/%d %H:%M", "2001-01-14"); /* the format names a time */
    date_ok("2021-03-04", "%d/%m/%Y", "2021-03-04");               /* already normal */
    date_bad("2021-03-04T10:00:00", NULL); /* would lose the time part */
    date_bad("2021-03-04 10:00", NULL);
    date_bad("2021-02-30", NULL);
    date_bad("2021-02-29", NULL);
    date_bad("31/02/2021", "%d/%m/%Y");
    date_bad("2021-3-4", NULL);
    date_bad("", NULL);
    date_bad("tomorrow", "%d/%m/%Y");
    char out[16];
    char err[ERROR_MAX];
    assert_int_equal(timeutil_normalize_date(NULL, NULL, out, err), -1);
}

static void test_looks_like(void **state)
{
    (void)state;
    assert_true(timeutil_looks_like_timestamp("2021-03-04T10:20:30Z"));
    assert_true(timeutil_looks_like_timestamp("2021-03-04 10:20"));
    assert_false(timeutil_looks_like_timestamp("2021-03-04"));
    assert_false(timeutil_looks_like_timestamp("2021-02-30T10:20:30"));
    assert_false(timeutil_looks_like_timestamp("hello"));
    assert_false(timeutil_looks_like_timestamp(NULL));
    assert_true(timeutil_looks_like_date("2021-03-04"));
    assert_false(timeutil_looks_like_date("2021-03-04T10:20:30"));
    assert_false(timeutil_looks_like_date("2021-02-30"));
    assert_false(timeutil_looks_like_date("12345"));
    assert_false(timeutil_looks_like_date(NULL));
}

static void test_parse_utc_ms(void **state)
{
    (void)state;
    int64_t ms = 42;
    assert_int_equal(timeutil_parse_utc_ms("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(timeutil_parse_utc_ms("2001-09-09T01:46:40.123Z", &ms), 0);
    assert_int_equal(ms, 1000000000123LL);
    assert_int_equal(timeutil_parse_utc_ms("2001-09-09T03:46:40.1239+02:00", &ms), 0);
    assert_int_equal(ms, 1000000000123LL);
    assert_int_equal(timeutil_parse_utc_ms("2001-09-08T20:16:40.5-05:30", &ms), 0);
    assert_int_equal(ms, 1000000000500LL);
    assert_int_equal(timeutil_parse_utc_ms("2001-09-09T01:46:40", &ms), 0); /* no zone: UTC */
    assert_int_equal(ms, 1000000000000LL);
    assert_int_equal(timeutil_parse_utc_ms("1969-12-31T23:59:59.999Z", &ms), 0);
    assert_int_equal(ms, -1);
    assert_int_equal(timeutil_parse_utc_ms("2000-03-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 951868800000LL);
    assert_int_equal(timeutil_parse_utc_ms("2021-02-30T00:00:00Z", &ms), -1);
    assert_int_equal(timeutil_parse_utc_ms("nope", &ms), -1);
    assert_int_equal(timeutil_parse_utc_ms(NULL, &ms), -1);
}

static void test_format(void **state)
{
    (void)state;
    char out[TIMEUTIL_TIMESTAMP_MAX];
    char day[16];
    timeutil_format_utc_ms(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    timeutil_format_utc_ms(1000000000123LL, out);
    assert_string_equal(out, "2001-09-09T01:46:40.123Z");
    timeutil_format_utc_ms(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    timeutil_format_utc_ms(951782400000LL, out); /* leap day */
    assert_string_equal(out, "2000-02-29T00:00:00.000Z");
    timeutil_format_date(1000000000123LL, day);
    assert_string_equal(day, "2001-09-09");
    timeutil_format_date(-1, day);
    assert_string_equal(day, "1969-12-31");

    /* format -> parse round trip over a spread of instants */
    for (int64_t t = -5000000000000LL; t < 5000000000000LL; t += 123456789123LL) {
        int64_t back = 0;
        timeutil_format_utc_ms(t, out);
        assert_int_equal(timeutil_parse_utc_ms(out, &back), 0);
        assert_int_equal(back, t);
        assert_true(timeutil_looks_like_timestamp(out));
    }
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t ms = timeutil_now_ms();
    int64_t us = timeutil_now_us();
    assert_true(ms > 1600000000000LL);
    assert_true(us / 1000 >= ms && us / 1000 - ms < 1000);
    int64_t m1 = timeutil_monotonic_ms();
    int64_t m2 = timeutil_monotonic_ms();
    assert_true(m2 >= m1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso_forms),
        cmocka_unit_test(test_iso_zones),
        cmocka_unit_test(test_iso_fractions),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_input_format),
        cmocka_unit_test(test_input_format_zones),
        cmocka_unit_test(test_input_format_refused),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_looks_like),
        cmocka_unit_test(test_parse_utc_ms),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* timeutil.c - clocks and timestamp normalisation (see timeutil.h).
 *
 * ISO 8601 is parsed by hand so that the zone and the fraction can be kept
 * exactly as given; strptime(3) is used only for declared input formats, with
 * "%z" handled here for the same reason. Every parse ends with a calendar
 * check, because strptime happily accepts February 30. */
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TIMEUTIL_WHY_MAX 160
#define TIMEUTIL_SHOWN_MAX 64 /* bytes of a bad value quoted in a message */
#define TIMEUTIL_ISO_FORM "YYYY-MM-DD[THH:MM[:SS[.fraction]]][Z|+HH:MM]"

/* A parsed timestamp, before formatting. */
struct ts {
    int year, mon, mday, hour, min, sec;
    bool has_time;
    char frac[10];    /* digits as given, "" when absent */
    char zone[8];     /* "", "Z" or "+HH:MM" / "-HH:MM" */
    int zone_minutes; /* signed offset east of UTC */
};

static int64_t timeutil_clock(clockid_t clock, int64_t per_sec)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * per_sec + ts.tv_nsec / (1000000000 / per_sec);
}

int64_t timeutil_now_ms(void) { return timeutil_clock(CLOCK_REALTIME, 1000); }
int64_t timeutil_now_us(void) { return timeutil_clock(CLOCK_REALTIME, 1000000); }
int64_t timeutil_monotonic_ms(void) { return timeutil_clock(CLOCK_MONOTONIC, 1000); }

/* Floor division, so that instants before 1970 still split into a day and a
 * non-negative remainder. */
static int64_t timeutil_floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static void timeutil_gmtime_ms(int64_t unix_ms, struct tm *tm, int *ms)
{
    int64_t secs = timeutil_floor_div(unix_ms, 1000);
    *ms = (int)(unix_ms - secs * 1000);
    time_t t = (time_t)secs;
    gmtime_r(&t, tm);
}

void timeutil_format_utc_ms(int64_t unix_ms, char out[TIMEUTIL_TIMESTAMP_MAX])
{
    struct tm tm;
    int ms;
    timeutil_gmtime_ms(unix_ms, &tm, &ms);
    snprintf(out, TIMEUTIL_TIMESTAMP_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void timeutil_format_date(int64_t unix_ms, char out[16])
{
    struct tm tm;
    int ms;
    timeutil_gmtime_ms(unix_ms, &tm, &ms);
    snprintf(out, 16, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static bool timeutil_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int timeutil_days_in_month(int year, int mon)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mon == 2 && timeutil_is_leap(year) ? 29 : days[mon - 1];
}

/* Calendar validity: the one check every parse path ends with. */
static int timeutil_check(const struct ts *t, char why[TIMEUTIL_WHY_MAX])
{
    if (t->year < 0 || t->year > 9999)
        return snprintf(why, TIMEUTIL_WHY_MAX, "year %d out of range 0000-9999", t->year), -1;
    if (t->mon < 1 || t->mon > 12)
        return snprintf(why, TIMEUTIL_WHY_MAX, "month %d out of range 01-12", t->mon), -1;
    if (t->mday < 1 || t->mday > timeutil_days_in_month(t->year, t->mon))
        return snprintf(why, TIMEUTIL_WHY_MAX, "day %d does not exist in %04d-%02d", t->mday,
                        t->year, t->mon),
               -1;
    if (t->hour < 0 || t->hour > 23)
        return snprintf(why, TIMEUTIL_WHY_MAX, "hour %d out of range 00-23", t->hour), -1;
    if (t->min < 0 || t->min > 59)
        return snprintf(why, TIMEUTIL_WHY_MAX, "minute %d out of range 00-59", t->min), -1;
    if (t->sec < 0 || t->sec > 59)
        return snprintf(why, TIMEUTIL_WHY_MAX, "second %d out of range 00-59", t->sec), -1;
    return 0;
}

/* Exactly n digits at p -> *v. */
static bool timeutil_digits(const char *p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return false;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return true;
}

/* Z | z | +HH | +HHMM | +HH:MM (or '-'). Returns bytes consumed, -1 if none. */
static int timeutil_parse_zone(const char *p, struct ts *t)
{
    if (*p == 'Z' || *p == 'z') {
        strcpy(t->zone, "Z");
        t->zone_minutes = 0;
        return 1;
    }
    if (*p != '+' && *p != '-')
        return -1;
    int hh, mm = 0, n;
    if (!timeutil_digits(p + 1, 2, &hh))
        return -1;
    if (p[3] == ':' && timeutil_digits(p + 4, 2, &mm))
        n = 6;
    else if (timeutil_digits(p + 3, 2, &mm))
        n = 5;
    else
        n = 3;
    if (hh > 23 || mm > 59)
        return -1;
    snprintf(t->zone, sizeof t->zone, "%c%02d:%02d", p[0], hh, mm);
    t->zone_minutes = (p[0] == '-' ? -1 : 1) * (hh * 60 + mm);
    return n;
}

/* YYYY-MM-DD[(T|t| )HH:MM[:SS[(.|,)fraction]][zone]] */
static int timeutil_parse_iso(const char *s, struct ts *t, char why[TIMEUTIL_WHY_MAX])
{
    memset(t, 0, sizeof *t);
    const char *p = s;
    if (!timeutil_digits(p, 4, &t->year) || p[4] != '-' || !timeutil_digits(p + 5, 2, &t->mon) ||
        p[7] != '-' || !timeutil_digits(p + 8, 2, &t->mday))
        goto bad;
    p += 10;
    if (*p == 'T' || *p == 't' || (*p == ' ' && p[1] != '\0')) {
        t->has_time = true;
        p++;
        if (!timeutil_digits(p, 2, &t->hour) || p[2] != ':' || !timeutil_digits(p + 3, 2, &t->min))
            goto bad;
        p += 5;
        if (*p == ':') {
            if (!timeutil_digits(p + 1, 2, &t->sec))
                goto bad;
            p += 3;
            if (*p == '.' || *p == ',') {
                size_t n = strspn(p + 1, "0123456789");
                if (n < 1 || n > 9)
                    return snprintf(why, TIMEUTIL_WHY_MAX, "fraction must have 1 to 9 digits"), -1;
                memcpy(t->frac, p + 1, n);
                t->frac[n] = '\0';
                p += 1 + n;
            }
        }
        if (*p != '\0') {
            int n = timeutil_parse_zone(p, t);
            if (n < 0)
                goto bad;
            p += n;
        }
    }
    if (*p != '\0')
        goto bad;
    return timeutil_check(t, why);
bad:
    snprintf(why, TIMEUTIL_WHY_MAX, "expected ISO 8601 " TIMEUTIL_ISO_FORM);
    return -1;
}

/* Conversions strptime accepts but that would silently lose information:
 * %Z is skipped without effect and %s is read as local time. */
static int timeutil_check_conversions(const char *format, char why[TIMEUTIL_WHY_MAX])
{
    for (const char *p = format; *p != '\0'; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == 'E' || *p == 'O')
            p++;
        if (*p == '\0')
            return snprintf(why, TIMEUTIL_WHY_MAX, "format ends with a lone '%%'"), -1;
        if (*p == 'Z' || *p == 's')
            return snprintf(why, TIMEUTIL_WHY_MAX,
                            "format conversion %%%c is not supported (use %%z for zones)", *p),
                   -1;
    }
    return 0;
}

/* strptime over format, with every "%z" read by timeutil_parse_zone. Returns
 * the rest of s after the format, or NULL. */
static const char *timeutil_strptime(const char *s, const char *format, struct tm *tm,
                                     struct ts *t)
{
    char segment[TIMEUTIL_FORMAT_MAX];
    const char *p = format;
    while (s != NULL && *p != '\0') {
        /* Cut the format before the next %z (skipping "%%"). */
        const char *q = p;
        while (*q != '\0' && !(q[0] == '%' && q[1] == 'z')) {
            if (q[0] == '%' && q[1] != '\0')
                q++;
            q++;
        }
        size_t n = (size_t)(q - p);
        memcpy(segment, p, n);
        segment[n] = '\0';
        if (n > 0)
            s = strptime(s, segment, tm);
        if (s != NULL && *q == '%') {
            while (isspace((unsigned char)*s))
                s++;
            int used = timeutil_parse_zone(s, t);
            s = used < 0 ? NULL : s + used;
            q += 2;
        }
        p = q;
    }
    return s;
}

/* The common case without strptime (profiled: ~10 % of ingest's time per
 * record): a format of only %Y %m %d %H %M %S (each once, the date complete)
 * and literal characters, and an input of exactly its shape - 4 digits for
 * %Y, 2 for the others, each literal as is, nothing after - with every
 * field inside the range glibc's strptime accepts. For such input strptime
 * yields the same fields; for anything else this returns false and the
 * strptime path below decides (and words any error). */
static bool timeutil_parse_fixed(const char *s, const char *format, struct ts *t)
{
    static const struct {
        char conv;
        int width, min, max;
    } convs[] = {{'Y', 4, 0, 9999}, {'m', 2, 1, 12}, {'d', 2, 1, 31},
                 {'H', 2, 0, 23},   {'M', 2, 0, 59}, {'S', 2, 0, 61}};
    int values[6] = {0, 0, 0, 0, 0, 0};
    unsigned seen = 0;
    for (const char *p = format; *p != '\0'; p++) {
        if (*p != '%') {
            if (*s++ != *p)
                return false;
            continue;
        }
        p++;
        size_t k = 0;
        while (k < 6 && convs[k].conv != *p)
            k++;
        if (k == 6 || (seen & (1u << k)) != 0 || !timeutil_digits(s, convs[k].width, &values[k]) ||
            values[k] < convs[k].min || values[k] > convs[k].max)
            return false;
        seen |= 1u << k;
        s += convs[k].width;
    }
    if (*s != '\0' || (seen & 7u) != 7u)
        return false;
    t->year = values[0];
    t->mon = values[1];
    t->mday = values[2];
    t->hour = values[3];
    t->min = values[4];
    t->sec = values[5];
    t->has_time = true;
    return true;
}

static int timeutil_parse_format(const char *s, const char *format, struct ts *t,
                                 char why[TIMEUTIL_WHY_MAX])
{
    memset(t, 0, sizeof *t);
    if (strlen(format) >= TIMEUTIL_FORMAT_MAX)
        return snprintf(why, TIMEUTIL_WHY_MAX, "format longer than %d bytes",
                        TIMEUTIL_FORMAT_MAX - 1),
               -1;
    if (timeutil_parse_fixed(s, format, t))
        return timeutil_check(t, why);
    if (timeutil_check_conversions(format, why) < 0)
        return -1;
    /* Parse twice from two different starting values: a field the input
     * did not set keeps its starting value, so it differs between the runs.
     * (In-range sentinels, because glibc computes weekdays from them.) */
    struct tm a = {.tm_year = 70, .tm_mon = 0, .tm_mday = 1};
    struct tm b = {.tm_year = 71, .tm_mon = 1, .tm_mday = 2, .tm_hour = 1, .tm_min = 1, .tm_sec = 1};
    const char *rest = timeutil_strptime(s, format, &a, t);
    if (rest != NULL)
        rest = timeutil_strptime(s, format, &b, t);
    if (rest != NULL)
        while (isspace((unsigned char)*rest))
            rest++;
    if (rest == NULL || *rest != '\0')
        return snprintf(why, TIMEUTIL_WHY_MAX, "does not match format '%s'", format), -1;
    if (a.tm_year != b.tm_year || a.tm_mon != b.tm_mon || a.tm_mday != b.tm_mday)
        return snprintf(why, TIMEUTIL_WHY_MAX, "format '%s' does not give a full date", format),
               -1;
    t->year = a.tm_year + 1900;
    t->mon = a.tm_mon + 1;
    t->mday = a.tm_mday;
    t->hour = a.tm_hour == b.tm_hour ? a.tm_hour : 0;
    t->min = a.tm_min == b.tm_min ? a.tm_min : 0;
    t->sec = a.tm_sec == b.tm_sec ? a.tm_sec : 0;
    t->has_time = true;
    return timeutil_check(t, why);
}

int timeutil_check_format(const char *format, char err[ERROR_MAX])
{
    char why[TIMEUTIL_WHY_MAX];
    if (format == NULL || format[0] == '\0')
        return 0;
    /* Round trip a known instant through the format: proves that it parses
     * what it prints and that it yields a full date. */
    struct tm tm = {.tm_year = 101, .tm_mon = 1, .tm_mday = 3, .tm_hour = 4, .tm_min = 5,
                    .tm_sec = 6, .tm_wday = 6, .tm_yday = 33};
    char sample[256];
    struct ts t;
    if (strlen(format) >= TIMEUTIL_FORMAT_MAX || timeutil_check_conversions(format, why) < 0)
        goto fail;
    /* The format is the user's; timeutil_check_conversions has just allowed
     * only the conversions it understands. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t sample_len = strftime(sample, sizeof sample, format, &tm);
#pragma GCC diagnostic pop
    if (sample_len == 0) {
        snprintf(why, sizeof why, "format produces no text");
        goto fail;
    }
    if (timeutil_parse_format(sample, format, &t, why) < 0)
        goto fail;
    return 0;
fail:
    return error_set(err, "invalid input format '%.*s': %s", TIMEUTIL_SHOWN_MAX, format, why);
}

static void timeutil_format_ts(const struct ts *t, char out[TIMEUTIL_TIMESTAMP_MAX])
{
    /* Once per ingested timestamp: plain digits instead of snprintf (a
     * profile hot spot), same text; unusual field ranges take snprintf. */
    size_t frac_len = strlen(t->frac), zone_len = strlen(t->zone);
    if (t->year < 0 || t->year > 9999 || t->mon < 0 || t->mon > 99 || t->mday < 0 ||
        t->mday > 99 || t->hour < 0 || t->hour > 99 || t->min < 0 || t->min > 99 || t->sec < 0 ||
        t->sec > 99 || 20 + frac_len + zone_len >= TIMEUTIL_TIMESTAMP_MAX) {
        snprintf(out, TIMEUTIL_TIMESTAMP_MAX, "%04d-%02d-%02dT%02d:%02d:%02d%s%s%s", t->year,
                 t->mon, t->mday, t->hour, t->min, t->sec, t->frac[0] ? "." : "", t->frac,
                 t->zone);
        return;
    }
    const int fields[6] = {t->year, t->mon, t->mday, t->hour, t->min, t->sec};
    static const char seps[6] = {'-', '-', 'T', ':', ':', '\0'};
    char *p = out;
    for (int i = 0; i < 6; i++) {
        int v = fields[i];
        if (i == 0) {
            *p++ = (char)('0' + v / 1000);
            *p++ = (char)('0' + v / 100 % 10);
        }
        *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        if (seps[i] != '\0')
            *p++ = seps[i];
    }
    if (frac_len > 0) {
        *p++ = '.';
        memcpy(p, t->frac, frac_len);
        p += frac_len;
    }
    memcpy(p, t->zone, zone_len + 1);
}

/* Parse with the declared format; a value already in ISO 8601 is accepted
 * too, so that normalising a normalised value is a no-op. *iso tells which
 * parser succeeded. On failure why holds the reason for the declared format
 * (or for ISO when there is none). */
static int timeutil_parse_any(const char *in, const char *format, struct ts *t, bool *iso,
                              char why[TIMEUTIL_WHY_MAX])
{
    *iso = true;
    if (format == NULL || format[0] == '\0')
        return timeutil_parse_iso(in, t, why);
    *iso = false;
    if (timeutil_parse_format(in, format, t, why) == 0)
        return 0;
    char iso_why[TIMEUTIL_WHY_MAX];
    *iso = true;
    return timeutil_parse_iso(in, t, iso_why);
}

int timeutil_normalize_timestamp(const char *in, const char *input_format,
                                 char out[TIMEUTIL_TIMESTAMP_MAX], char err[ERROR_MAX])
{
    char why[TIMEUTIL_WHY_MAX];
    struct ts t;
    if (in == NULL)
        return error_set(err, "invalid timestamp: missing value");
    bool iso;
    if (timeutil_parse_any(in, input_format, &t, &iso, why) < 0)
        return error_set(err, "invalid timestamp '%.*s%s': %s", TIMEUTIL_SHOWN_MAX, in,
                         strlen(in) > TIMEUTIL_SHOWN_MAX ? "..." : "", why);
    timeutil_format_ts(&t, out);
    return 0;
}

int timeutil_normalize_date(const char *in, const char *input_format, char out[16],
                            char err[ERROR_MAX])
{
    char why[TIMEUTIL_WHY_MAX];
    struct ts t;
    if (in == NULL)
        return error_set(err, "invalid date: missing value");
    bool iso;
    int rc = timeutil_parse_any(in, input_format, &t, &iso, why);
    /* ISO input must be a plain date: cutting off a time part would lose it
     * silently. A declared format may carry a time; the date is what it names. */
    if (rc == 0 && iso && t.has_time) {
        snprintf(why, sizeof why, "expected a date YYYY-MM-DD, got a timestamp");
        rc = -1;
    }
    if (rc < 0)
        return error_set(err, "invalid date '%.*s%s': %s", TIMEUTIL_SHOWN_MAX, in,
                         strlen(in) > TIMEUTIL_SHOWN_MAX ? "..." : "", why);
    snprintf(out, 16, "%04d-%02d-%02d", t.year, t.mon, t.mday);
    return 0;
}

int timeutil_looks_like_timestamp(const char *s)
{
    char why[TIMEUTIL_WHY_MAX];
    struct ts t;
    return s != NULL && timeutil_parse_iso(s, &t, why) == 0 && t.has_time;
}

int timeutil_looks_like_date(const char *s)
{
    char why[TIMEUTIL_WHY_MAX];
    struct ts t;
    return s != NULL && timeutil_parse_iso(s, &t, why) == 0 && !t.has_time;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), independent of TZ and of time_t range. */
static int64_t timeutil_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parse to UTC with `digits` digits of the second's fraction (3 = ms, 6 = us);
 * further digits are cut. */
static int timeutil_parse_utc_frac(const char *in, int digits, int64_t *out)
{
    char why[TIMEUTIL_WHY_MAX];
    struct ts t;
    if (in == NULL || timeutil_parse_iso(in, &t, why) < 0)
        return -1;
    size_t frac_len = strlen(t.frac);
    int64_t frac = 0, unit = 1;
    for (int i = 0; i < digits; i++) {
        frac = frac * 10 + ((size_t)i < frac_len ? t.frac[i] - '0' : 0);
        unit *= 10;
    }
    int64_t secs = timeutil_days_from_civil(t.year, t.mon, t.mday) * 86400 + t.hour * 3600 +
                   t.min * 60 + t.sec - (int64_t)t.zone_minutes * 60;
    *out = secs * unit + frac;
    return 0;
}

int timeutil_parse_utc_ms(const char *in, int64_t *unix_ms)
{
    return timeutil_parse_utc_frac(in, 3, unix_ms);
}

int timeutil_parse_utc_us(const char *in, int64_t *unix_us)
{
    return timeutil_parse_utc_frac(in, 6, unix_us);
}

int timeutil_parse_date_days(const char *in, int32_t *days)
{
    char why[TIMEUTIL_WHY_MAX];
    struct ts t;
    if (in == NULL || timeutil_parse_iso(in, &t, why) < 0 || t.has_time)
        return -1;
    *days = (int32_t)timeutil_days_from_civil(t.year, t.mon, t.mday);
    return 0;
}

void timeutil_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

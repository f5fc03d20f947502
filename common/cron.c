/* cron.c - parsing and evaluating cron expressions in UTC (see cron.h).
 *
 * Every field is parsed into a bit set, so matching a minute is a handful of
 * bit tests. Choices where crons differ, written down here:
 *   - Vixie's day rule: a day field counts as unrestricted when its text
 *     starts with '*' or '?' (so "*\/2" in day-of-month is still "unrestricted"
 *     and ANDed with the weekday, exactly as Vixie cron does); when both day
 *     fields are restricted a day matches if either matches.
 *   - "a/n" means a..max step n; ranges must not wrap around (22-2 is an error),
 *     except weekday ranges ending in Sunday given as 0 or SUN (FRI-SUN).
 *   - '?' stands alone in a field and means the same as '*'.
 *   - The year field (6-field form) is one contiguous range: '*', 2026,
 *     2026-2028 or a list that forms one range (2026,2027); steps are refused. */
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CRON_TEXT_SHOWN 100
#define CRON_YEAR_MIN 1970
#define CRON_YEAR_MAX 2199

struct cron_field {
    const char *name;
    int min;
    int max;
    const char *const *names; /* 3-letter names, or NULL */
    int names_base;           /* value of names[0] */
};

static const char *const cron_month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                               "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const cron_weekday_names[] = {"SUN", "MON", "TUE", "WED",
                                                 "THU", "FRI", "SAT", NULL};

enum { CRON_MINUTE, CRON_HOUR, CRON_DOM, CRON_MONTH, CRON_DOW, CRON_YEAR, CRON_FIELDS };

static const struct cron_field cron_fields[CRON_FIELDS] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},
    {"month", 1, 12, cron_month_names, 1},
    {"day-of-week", 0, 7, cron_weekday_names, 0},
    {"year", CRON_YEAR_MIN, CRON_YEAR_MAX, NULL, 0},
};

/* Parse a number or a name at *p; advances *p. */
static int cron_value(const char **p, const struct cron_field *f, int *out, char *what,
                      size_t what_size)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s)) {
            if (v < 100000)
                v = v * 10 + (*s - '0');
            s++;
        }
        if (v < f->min || v > f->max) {
            snprintf(what, what_size, "%ld is out of range %d-%d", v, f->min, f->max);
            return -1;
        }
        *out = (int)v;
        *p = s;
        return 0;
    }
    if (f->names != NULL && isalpha((unsigned char)*s)) {
        size_t n = 0;
        while (isalpha((unsigned char)s[n]))
            n++;
        for (int i = 0; f->names[i] != NULL; i++) {
            if (n == 3 && strncasecmp(s, f->names[i], 3) == 0) {
                *out = f->names_base + i;
                *p = s + n;
                return 0;
            }
        }
        snprintf(what, what_size, "unknown name '%.*s'", (int)(n > 20 ? 20 : n), s);
        return -1;
    }
    if (*s == '\0')
        snprintf(what, what_size, "missing value");
    else
        snprintf(what, what_size, "unexpected '%c'", *s);
    return -1;
}

/* "v" or "lo-hi" at *p (advanced past it) into lo..hi; *range tells
 * which. A weekday range may end at SUN (0): FRI-SUN. */
static int cron_range(const char **p, const struct cron_field *f, int *lo, int *hi, bool *range,
                      char *what, size_t what_size)
{
    if (cron_value(p, f, lo, what, what_size) < 0)
        return -1;
    *hi = *lo;
    *range = **p == '-';
    if (!*range)
        return 0;
    (*p)++;
    if (cron_value(p, f, hi, what, what_size) < 0)
        return -1;
    if (f->names == cron_weekday_names && *hi == 0 && *lo > 0)
        *hi = 7;
    if (*hi < *lo) {
        snprintf(what, what_size, "range %d-%d is backwards", *lo, *hi);
        return -1;
    }
    return 0;
}

/* Parse one field into bits (bit v for each value v). `what` receives the
 * reason on error. */
static int cron_field_parse(const char *text, const struct cron_field *f, uint64_t *bits,
                            char *what, size_t what_size)
{
    *bits = 0;
    if (strcmp(text, "?") == 0)
        text = "*";
    const char *p = text;
    for (;;) {
        int lo, hi, step = 1;
        if (*p == ',' || *p == '\0') {
            snprintf(what, what_size, "empty list element");
            return -1;
        }
        if (*p == '*') {
            lo = f->min;
            hi = f->max;
            p++;
        } else {
            bool range = false;
            if (cron_range(&p, f, &lo, &hi, &range, what, what_size) < 0)
                return -1;
            if (!range && *p == '/') {
                hi = f->max; /* "a/n": a..max step n */
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p)) {
                snprintf(what, what_size, "step must be a number");
                return -1;
            }
            long v = 0;
            while (isdigit((unsigned char)*p)) {
                if (v < 100000)
                    v = v * 10 + (*p - '0');
                p++;
            }
            if (v < 1 || v > f->max) {
                snprintf(what, what_size, "step %ld is out of range 1-%d", v, f->max);
                return -1;
            }
            step = (int)v;
        }
        for (int v = lo; v <= hi; v += step) {
            int bit = (f->names == cron_weekday_names && v == 7) ? 0 : v;
            *bits |= UINT64_C(1) << bit;
        }
        if (*p == '\0')
            return 0;
        if (*p != ',') {
            snprintf(what, what_size, "unexpected '%c'", *p);
            return -1;
        }
        p++;
    }
}

/* The year field: one contiguous range. */
static int cron_year_parse(const char *text, int *from, int *to, char *what, size_t what_size)
{
    if (strcmp(text, "*") == 0 || strcmp(text, "?") == 0) {
        *from = *to = 0;
        return 0;
    }
    const struct cron_field *f = &cron_fields[CRON_YEAR];
    bool seen[CRON_YEAR_MAX - CRON_YEAR_MIN + 1] = {0};
    const char *p = text;
    for (;;) {
        int lo, hi;
        if (*p == ',' || *p == '\0') {
            snprintf(what, what_size, "empty list element");
            return -1;
        }
        bool range = false;
        if (cron_range(&p, f, &lo, &hi, &range, what, what_size) < 0)
            return -1;
        if (*p == '/') {
            snprintf(what, what_size, "steps are not supported for years");
            return -1;
        }
        for (int y = lo; y <= hi; y++)
            seen[y - CRON_YEAR_MIN] = true;
        if (*p == '\0')
            break;
        if (*p != ',') {
            snprintf(what, what_size, "unexpected '%c'", *p);
            return -1;
        }
        p++;
    }
    int first = -1, last = -1;
    for (int i = 0; i <= CRON_YEAR_MAX - CRON_YEAR_MIN; i++) {
        if (!seen[i])
            continue;
        if (first < 0)
            first = i;
        else if (last != i - 1) {
            snprintf(what, what_size, "years must form one range (e.g. 2026-2028)");
            return -1;
        }
        last = i;
    }
    *from = first + CRON_YEAR_MIN;
    *to = last + CRON_YEAR_MIN;
    return 0;
}

int cron_parse(const char *text, struct cron_expr *out, char err[ERROR_MAX])
{
    if (text == NULL)
        return error_set(err, "missing cron expression");
    int shown = (int)strnlen(text, CRON_TEXT_SHOWN);
    const char *ell = strlen(text) > CRON_TEXT_SHOWN ? "..." : "";

    char copy[512];
    if (strlen(text) >= sizeof copy)
        return error_set(err, "cron expression '%.*s%s' is too long", shown, text, ell);
    strcpy(copy, text);

    char *fields[CRON_FIELDS + 1];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t\r\n", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == CRON_FIELDS + 1)
            break;
        fields[n++] = tok;
    }
    if (n != 5 && n != 6)
        return error_set(err,
                         "cron expression '%.*s%s': expected 5 fields (minute hour day-of-month "
                         "month day-of-week) or 6 (... year), got %s%d",
                         shown, text, ell, n > CRON_FIELDS ? "more than " : "",
                         n > CRON_FIELDS ? CRON_FIELDS : n);

    struct cron_expr e = {0};
    char what[160];
    uint64_t bits[CRON_DOW + 1];
    for (int i = 0; i <= CRON_DOW; i++) {
        if (cron_field_parse(fields[i], &cron_fields[i], &bits[i], what, sizeof what) < 0)
            return error_set(err, "cron expression '%.*s%s': %s field '%s': %s", shown, text, ell,
                             cron_fields[i].name, fields[i], what);
    }
    if (n == 6 && cron_year_parse(fields[CRON_YEAR], &e.year_from, &e.year_to, what,
                                  sizeof what) < 0)
        return error_set(err, "cron expression '%.*s%s': year field '%s': %s", shown, text, ell,
                         fields[CRON_YEAR], what);

    e.minutes = bits[CRON_MINUTE];
    e.hours = (uint32_t)bits[CRON_HOUR];
    e.days = (uint32_t)bits[CRON_DOM];
    e.months = (uint16_t)bits[CRON_MONTH];
    e.weekdays = (uint8_t)bits[CRON_DOW];
    e.days_restricted = fields[CRON_DOM][0] != '*' && fields[CRON_DOM][0] != '?';
    e.weekdays_restricted = fields[CRON_DOW][0] != '*' && fields[CRON_DOW][0] != '?';
    *out = e;
    return 0;
}

static bool cron_day_matches(const struct cron_expr *e, const struct tm *tm)
{
    if (!(e->months & (1u << (tm->tm_mon + 1))))
        return false;
    int year = tm->tm_year + 1900;
    if (e->year_from != 0 && (year < e->year_from || year > e->year_to))
        return false;
    bool dom = (e->days >> tm->tm_mday) & 1u;
    bool dow = (e->weekdays >> tm->tm_wday) & 1u;
    if (e->days_restricted && e->weekdays_restricted)
        return dom || dow;
    return dom && dow;
}

bool cron_matches(const struct cron_expr *expr, time_t t)
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return false;
    return ((expr->minutes >> tm.tm_min) & 1u) && ((expr->hours >> tm.tm_hour) & 1u) &&
           cron_day_matches(expr, &tm);
}

time_t cron_next(const struct cron_expr *expr, time_t t)
{
    /* floor to the minute (also for negative t), then the next minute */
    time_t minute = t / 60 - ((t % 60) < 0 ? 1 : 0);
    time_t start = (minute + 1) * 60;
    time_t day = start / 86400 - ((start % 86400) < 0 ? 1 : 0);
    time_t limit = start + (time_t)5 * 366 * 86400;
    for (time_t ds = day * 86400; ds < limit; ds += 86400) {
        struct tm tm;
        if (gmtime_r(&ds, &tm) == NULL)
            return -1;
        if (!cron_day_matches(expr, &tm))
            continue;
        for (int h = 0; h < 24; h++) {
            if (!((expr->hours >> h) & 1u))
                continue;
            for (int m = 0; m < 60; m++) {
                if (!((expr->minutes >> m) & 1u))
                    continue;
                time_t cand = ds + h * 3600 + m * 60;
                if (cand >= start)
                    return cand < limit ? cand : -1;
            }
        }
    }
    return -1;
}

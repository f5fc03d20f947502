/* cron.h - cron expressions, evaluated in UTC.
 *
 * Accepted forms:
 *   5 fields: minute hour day-of-month month day-of-week      ("*\/15 2 * * 1-5")
 *   6 fields: minute hour day-of-month month day-of-week year (the AWS
 *             EventBridge form, "0 2 * * ? *"); year is '*' or a list/range of years.
 * Each field: '*', '?', numbers, ranges a-b, steps *\/n and a-b/n, lists a,b,c;
 * months JAN-DEC and weekdays SUN-SAT (0 or 7 = Sunday) by name too.
 * As in Vixie cron, when both day fields are restricted a day matches if
 * either matches; a day field is restricted unless its text starts with '*'
 * or '?'. Ranges do not wrap (22-2 is an error; FRI-SUN is allowed). The
 * year field must form one contiguous range (2026, 2026-2028, 2026,2027). */
#ifndef LAKEHOUSE_CRON_H
#define LAKEHOUSE_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "error.h"

struct cron_expr {
    uint64_t minutes;   /* bit n: minute n */
    uint32_t hours;
    uint32_t days;      /* bit n: day n (1-31) */
    uint16_t months;    /* bit n: month n (1-12) */
    uint8_t weekdays;   /* bit n: weekday n (0 = Sunday) */
    bool days_restricted;
    bool weekdays_restricted;
    int year_from;      /* 0 = any */
    int year_to;
};

int cron_parse(const char *text, struct cron_expr *out, char err[ERROR_MAX]);
/* Does the minute containing unix time t (UTC) match? */
bool cron_matches(const struct cron_expr *expr, time_t t);
/* First matching minute strictly after t, or -1 if none within 5 years. */
time_t cron_next(const struct cron_expr *expr, time_t t);

#endif

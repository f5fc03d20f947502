/* timeutil.h - clocks, and parsing/normalising of timestamps and dates.
 *
 * Normal forms (what bronze and silver store):
 *   timestamp: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)?  - the zone is
 *              kept when the input had one ("Z" for UTC), omitted when it had
 *              none; the fraction is kept as given (1 to 9 digits).
 *   date:      YYYY-MM-DD
 * Accepted input: ISO 8601 / RFC 3339 (either 'T' or ' ' separator, seconds
 * optional, 'Z' or numeric offset optional), or, when the column declares an
 * input format, that strptime(3) format (e.g. "%Y/%m/%d %H:%M"). Calendar
 * validity is checked (no 2021-02-30, hours 0-23, seconds 0-59: no leap
 * second). Details of the choices made:
 *   - ISO zones: "Z"/"z" stays "Z"; "+HH", "+HHMM", "+HH:MM" become "+HH:MM"
 *     (sign kept, "-00:00" too); the instant is never shifted. A ',' before
 *     the fraction becomes '.'. Surrounding whitespace is refused.
 *   - A date-only value is a valid timestamp (midnight, no zone); a date
 *     column refuses an ISO value with a time part rather than cut it off.
 *   - With an input format, a value already in ISO 8601 is accepted too, so
 *     normalising a normalised value changes nothing. "%z" in a format takes
 *     the same zone forms as ISO; "%Z" and "%s" are refused (strptime would
 *     ignore the zone name / read local time). A format must yield a full
 *     date; missing time fields are 0. */
#ifndef LAKEHOUSE_TIMEUTIL_H
#define LAKEHOUSE_TIMEUTIL_H

#include <stdint.h>
#include "error.h"

#define TIMEUTIL_TIMESTAMP_MAX 48
#define TIMEUTIL_FORMAT_MAX 64 /* input format buffer size, NUL included */

int64_t timeutil_now_ms(void);       /* CLOCK_REALTIME, ms since epoch */
int64_t timeutil_now_us(void);       /* CLOCK_REALTIME, us since epoch */
int64_t timeutil_monotonic_ms(void); /* CLOCK_MONOTONIC, ms */
/* Sleep ms milliseconds (the whole time, even when a signal interrupts it). */
void timeutil_sleep_ms(int64_t ms);

/* unix ms -> "2026-11-21T13:03:28.123Z" (out: TIMEUTIL_TIMESTAMP_MAX bytes) */
void timeutil_format_utc_ms(int64_t unix_ms, char out[TIMEUTIL_TIMESTAMP_MAX]);
/* unix ms -> "2026-11-21" (UTC) (out: at least 11 bytes) */
void timeutil_format_date(int64_t unix_ms, char out[16]);

/* Normalise a timestamp / date as described above. input_format may be NULL or
 * "" (then ISO 8601 only). Returns 0, or -1 with err naming the value. */
int timeutil_normalize_timestamp(const char *in, const char *input_format,
                                 char out[TIMEUTIL_TIMESTAMP_MAX], char err[ERROR_MAX]);
int timeutil_normalize_date(const char *in, const char *input_format, char out[16],
                            char err[ERROR_MAX]);

/* Check a declared input format once (e.g. when an endpoint is created): it
 * must fit TIMEUTIL_FORMAT_MAX, use no refused conversion and parse back a
 * full date from what it prints. NULL or "" (ISO 8601) is fine. 0 or -1. */
int timeutil_check_format(const char *format, char err[ERROR_MAX]);

/* True if the string is an ISO 8601 timestamp (with a time part) / a date. */
int timeutil_looks_like_timestamp(const char *s);
int timeutil_looks_like_date(const char *s);

/* Parse "YYYY-MM-DDTHH:MM:SS[.fff](Z|offset)" to unix ms (UTC). 0 or -1.
 * Takes any ISO form accepted above; no zone means UTC; digits of the
 * fraction beyond milliseconds are cut. */
int timeutil_parse_utc_ms(const char *in, int64_t *unix_ms);
/* The same to unix microseconds (digits beyond microseconds are cut). */
int timeutil_parse_utc_us(const char *in, int64_t *unix_us);
/* A date "YYYY-MM-DD" (no time part) to days since 1970-01-01. 0 or -1. */
int timeutil_parse_date_days(const char *in, int32_t *days);

#endif

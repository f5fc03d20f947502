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
 * validity is checked (no 2021-02-30, hours 0-23...). */
#ifndef LAKEHOUSE_TIMEUTIL_H
#define LAKEHOUSE_TIMEUTIL_H

#include <stdint.h>
#include "error.h"

#define TIMEUTIL_TIMESTAMP_MAX 48

int64_t timeutil_now_ms(void);       /* CLOCK_REALTIME, ms since epoch */
int64_t timeutil_now_us(void);       /* CLOCK_REALTIME, us since epoch */
int64_t timeutil_monotonic_ms(void); /* CLOCK_MONOTONIC, ms */

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

/* True if the string is an ISO 8601 timestamp (with a time part) / a date. */
int timeutil_looks_like_timestamp(const char *s);
int timeutil_looks_like_date(const char *s);

/* Parse "YYYY-MM-DDTHH:MM:SS[.fff](Z|offset)" to unix ms (UTC). 0 or -1. */
int timeutil_parse_utc_ms(const char *in, int64_t *unix_ms);

#endif

/* retention_policy.h - the retention rules and the bronze compaction naming rule,
 * shared by the processor (bronze + silver retention, compaction), the
 * transformer (gold retention) and every reader of bronze (bronze_vtab.c,
 * replay).
 *
 * Retention horizons: a layer keeps `days` days of history; the defaults come
 * from the configuration (retention_bronze_days 90, retention_silver_days
 * 730, retention_gold_days 2555) and one table can override them with the
 * retention_tables setting, a list of "layer:domain/table=days" entries
 * separated by spaces, commas or semicolons, e.g.
 *     "bronze:demo/flights=30 silver:demo/flights=365 gold:demo/by_origin=3650"
 * (table "*" applies to every table of the domain; an exact table wins).
 *
 * Compaction naming rule: a compacted bronze file is named
 * <first_seq of its first input>-<last_seq of its last input>, so its
 * sequence range contains the ranges of the files it replaces. Ingest never
 * writes two files of one table with overlapping ranges, so a file whose
 * range lies inside another file's range of the same directory is a
 * compaction input that is about to be removed: readers skip it
 * (retention_drop_covered), and never count a record twice. */
#ifndef LAKEHOUSE_RETENTION_POLICY_H
#define LAKEHOUSE_RETENTION_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

enum retention_layer { RETENTION_BRONZE, RETENTION_SILVER, RETENTION_GOLD };

/* The days the layer keeps for domain/table (an override from
 * cfg->retention_tables, else the layer default). -1 with err when
 * retention_tables is malformed (the message names the bad entry). */
int64_t retention_days(const struct config *cfg, enum retention_layer layer, const char *domain,
                       const char *table, char err[ERROR_MAX]);
/* Check a retention_tables value: 0, or -1 with err naming the bad entry. */
int retention_check_overrides(const char *spec, char err[ERROR_MAX]);

/* The UTC date "YYYY-MM-DD" `days` days before now_ms: bronze files of a
 * dt= date strictly before it are expired. */
void retention_horizon_date(int64_t now_ms, int64_t days, char out[11]);
/* The UTC timestamp (timeutil_format_utc_ms form) `days` days before now_ms:
 * snapshots committed strictly before it are expired. */
void retention_horizon_time(int64_t now_ms, int64_t days, char *out, size_t out_size);

/* names[0..count) are bronze file names of one dt= directory, sorted.
 * Removes (frees) every name whose sequence range lies inside another
 * name's range, keeping the order; names that are not bronze names are kept.
 * Returns the new count. */
size_t retention_drop_covered(char **names, size_t count);

#endif

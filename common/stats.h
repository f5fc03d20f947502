/* stats.h - a process's own counters, gauges and histograms, published as a
 * file for the broker's GET /metrics and `lakehouse status`.
 *
 * Each daemon calls stats_open once at start; from then on its counting
 * points (a line each: stats_count, stats_gauge, stats_observe) update an
 * in-memory table, and its housekeeping timer calls stats_tick, which at most
 * every STATS_FLUSH_MS writes the whole table atomically (fsutil) to
 * <data>/run/<process>.stats.json. Readers therefore never see half a file,
 * and nothing crosses a socket: a stopped process leaves its last snapshot.
 *
 * Like log.h the module holds process-wide state (one table per process),
 * so that a counting point deep in a module needs no extra plumbing; it is
 * guarded by a mutex (the broker's HTTP threads may count too). Every call is
 * a no-op before stats_open, so code shared with tools needs no checks.
 *
 * A series is a name ("ingest_records_accepted_total") plus one label value
 * ("" for none; for tables and endpoints "domain/name", for processes the
 * process name): the metrics renderer (broker/http/http_metrics.c) knows
 * which label keys each name has. Bounded memory: at most STATS_SERIES_MAX
 * series; more are dropped (and counted in "stats_series_dropped").
 * Histograms have the fixed bucket bounds stats_bucket_bounds (seconds).
 * The file also carries pid, started_at, updated_at, rss_bytes (from
 * /proc/self/statm) and the last STATS_ERRORS_MAX log lines at level warn
 * or above (log.h hook), for `lakehouse status`.
 *
 * File format (JSON):
 *   {"process":"ingest","pid":123,"started_at":"<utc>","updated_at":"<utc>",
 *    "rss_bytes":N,"bucket_bounds":[0.001,...],
 *    "counters":[{"name":..,"label":..,"value":N}], "gauges":[...same...],
 *    "histograms":[{"name":..,"label":..,"buckets":[per-bound counts, not
 *                   cumulative],"count":N,"sum":S}],
 *    "errors":[{"at":"<utc>","level":"error","message":"..."}]} */
#ifndef LAKEHOUSE_STATS_H
#define LAKEHOUSE_STATS_H

#include <stdint.h>
#include <jansson.h>

#include "error.h"

#define STATS_SERIES_MAX 1024
#define STATS_ERRORS_MAX 5
#define STATS_FLUSH_MS 1000
#define STATS_BUCKET_COUNT 14

/* Upper bounds (seconds) of the histogram buckets; +Inf is implied. */
extern const double stats_bucket_bounds[STATS_BUCKET_COUNT];

/* Start the table for process ("ingest", ...) writing to
 * <data_dir>/run/<process>.stats.json, hook log.h for the last errors, and
 * write a first snapshot. -1 with err (path too long, out of memory). */
int stats_open(const char *data_dir, const char *process, char err[ERROR_MAX]);

/* Add delta to a counter. */
void stats_count(const char *name, const char *label, uint64_t delta);
/* Set a counter to a total the caller keeps itself (never decreasing). */
void stats_counter_set(const char *name, const char *label, uint64_t total);
/* Set a gauge. */
void stats_gauge(const char *name, const char *label, double value);
/* Record one observation (seconds) in a histogram. */
void stats_observe(const char *name, const char *label, double seconds);

/* A monotonic clock in seconds, for durations passed to stats_observe. */
double stats_now(void);

/* Housekeeping: write the snapshot if STATS_FLUSH_MS passed since the last
 * write. A failure is logged once (until a write succeeds again). */
void stats_tick(void);
/* Write the snapshot now. 0 or -1 with err. */
int stats_flush(char err[ERROR_MAX]);
/* Final write, unhook the log, free. The file stays (the last values). */
void stats_close(void);

/* Read <data_dir>/run/<process>.stats.json: 1 with *out (new reference),
 * 0 when there is none, -1 with err when it cannot be read or parsed. */
int stats_read(const char *data_dir, const char *process, json_t **out, char err[ERROR_MAX]);

#endif

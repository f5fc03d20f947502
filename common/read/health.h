/* health.h - what the data directory says about the running system, for
 * `lakehouse status` and the broker's GET /metrics (one model, two views).
 *
 * Everything is read from durable state, never asked over a socket, so it
 * works whether the processes run under the broker, under systemd or not at
 * all, and a hung process cannot hang the reader:
 *   - processes: run/<proc>.pid (checked against /proc: a stale file reads
 *     "down"; a SIGSTOPped process "stopped"), since = the pid file's mtime
 *     (written at start), and run/<proc>.stats.json (stats.h);
 *   - tables: every silver and gold database read-only: rows (count(*)),
 *     snapshots and last commit (_snapshots), newest ingest time merged
 *     (the _seq of the newest ledger file: _seq is the ingest time in
 *     microseconds, made strictly increasing, see protocol.h), hence
 *     freshness = now - that; bronze backlog = sealed files neither in
 *     _ledger nor in _quarantine, with the age of the oldest one (its mtime
 *     is when it was sealed); spool bytes (open spool files);
 *   - databases: bytes on disk of each .db with its -wal.
 * A silver table is "lagging" when its backlog is not empty and its oldest
 * unmerged file is older than lag_ms; the processor entry then has
 * "lagging": true.
 *
 * Result (caller owns):
 *   {"data_dir":..., "collected_at":"<utc>", "lag_ms":N,
 *    "processes":[{"process","state":"up|down|stopped","pid"|null,"since"|null,
 *                  "rss_bytes"|null,"lagging"(processor),"stats":{...}|null}],
 *    "tables":[{"domain","layer":"silver|gold","table","rows","snapshots",
 *               "last_commit"|null,"last_commit_unix"|null,"newest_insert_unix"|null,
 *               "freshness_seconds"|null,"backlog","backlog_oldest_age_seconds"|null,
 *               "spool_bytes","state":"ok|lagging"}],
 *    "databases":[{"domain","layer","bytes"}],
 *    "iceberg":[the export of each exported table: health_iceberg.h]}
 * (tables known only from bronze so far appear as silver with rows null). */
#ifndef LAKEHOUSE_HEALTH_H
#define LAKEHOUSE_HEALTH_H

#include <stdint.h>
#include <jansson.h>

#include "error.h"

/* The four processes, in start order. */
extern const char *const health_processes[4];

/* 0 with *out, or -1 with err (out of memory). Unreadable parts (a locked
 * or corrupt database) are left out rather than failing the whole view. */
int health_collect(const char *data_dir, int64_t lag_ms, json_t **out, char err[ERROR_MAX]);

/* The view `lakehouse status --json` prints and GET /status answers:
 *   {"data_dir","collected_at","lag_ms",
 *    "processes":[{... as above but "stats", plus "last_errors":[...]}],
 *    "tables":[... as above], "iceberg":[... as above],
 *    "last_errors":[{"at","level","message","process"}] (oldest first, all processes)}
 * 0 with *out (caller owns), or -1 with err. */
int health_status(const char *data_dir, int64_t lag_ms, json_t **out, char err[ERROR_MAX]);

#endif

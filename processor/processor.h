/* processor.h - the processor's internal interfaces (not used outside processor/).
 *
 * The processor turns sealed bronze files into silver rows:
 *   watch.c      libinotifytools on bronze/: new files and new directories
 *   pending.c    the bounded, sorted set of bronze files waiting to be merged
 *   scan.c       sorted listings of the bronze tree (domains, endpoints, dates, files)
 *   reconcile.c  bronze tree vs _ledger/_quarantine -> pending
 *   silver.c     silver/<domain>.db connections and their internal tables
 *   schemas.c    endpoint schemas from the catalog (read-only) for table creation
 *   merge.c      one bronze file -> rows of one silver table (+ ledger, snapshot);
 *                merge_*.c its parts (merge_table.h); merge_group.c the live
 *                path (a table's pending files in one transaction)
 *   replay.c     rebuild tables / re-merge date ranges on request
 *   silver_history.c  row history (_h_<table>) and rollback
 *   bronze_silver_retention.c  expiring old bronze files and silver history
 *   compaction.c compacting the small bronze files of closed days
 *   evolve.c     declared schema changes (rename, drop, widen) on tables
 *   control_server.c the control socket (replay / reconcile / rollback / ping / export)
 *   export.c     silver tables published as Iceberg tables (iceberg_export)
 *   export_bronze.c  each endpoint's bronze as an append-only Iceberg table
 *   main.c       the entry: config, resources, the one poll loop, tear-down
 *
 * A bronze file is always named by its path relative to the data directory,
 * "bronze/<domain>/<endpoint>/dt=<date>/<first>-<last>.ndjson.lz4" (the form
 * stored in _ledger and _quarantine); the silver table is named after the
 * endpoint. Every exported function returns 0 / -1 with err unless stated. */
#ifndef LAKEHOUSE_PROCESSOR_H
#define LAKEHOUSE_PROCESSOR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <jansson.h>

#include "config.h"
#include "control_protocol.h"
#include "error.h"
#include "names.h"
#include "schema.h"

/* Bronze files waiting in memory. Beyond this the queue refuses more and
 * the processor re-scans bronze once it has drained (bounded memory: the
 * bronze tree itself is the durable backlog). */
#define PROCESSOR_PENDING_MAX 65536
/* Longest relative bronze path we handle (domain + endpoint + date + name). */
#define PROCESSOR_REL_MAX 512

/* ---- scan.c: sorted directory listings ---------------------------------- */

struct strlist {
    char **items; /* owned, each malloc'd */
    size_t count;
    size_t cap;
};

enum scan_kind {
    SCAN_OBJECT_DIRS,  /* directories named like a domain / endpoint (names.h) */
    SCAN_DATE_DIRS,    /* directories "dt=YYYY-MM-DD" */
    SCAN_BRONZE_FILES  /* regular files "<first:020>-<last:020>.ndjson.lz4" */
};

/* Entries of dir of the given kind, sorted by strcmp (byte order, which is
 * arrival order for bronze names). A missing directory is an empty list.
 * out must be empty or cleared; caller clears it (strlist_clear). */
int scan_dir(const char *dir, enum scan_kind kind, struct strlist *out, char err[ERROR_MAX]);
int strlist_push(struct strlist *list, const char *item);
void strlist_clear(struct strlist *list);
/* Is s in the sorted list? */
bool strlist_contains_sorted(const struct strlist *list, const char *s);

/* ---- pending.c: files waiting to be merged ------------------------------ */

struct pending;
/* NULL on allocation failure. Caller owns (pending_free). */
struct pending *pending_new(size_t limit);
void pending_free(struct pending **pending);
/* 1 added, 0 already queued, -1 queue full (the overflow flag is set). */
int pending_add(struct pending *pending, const char *rel);
/* The smallest queued path (name order per table); caller frees. NULL if empty. */
char *pending_pop(struct pending *pending);
/* The smallest queued path, still queued (valid until the next add/pop). */
const char *pending_peek(const struct pending *pending);
size_t pending_count(const struct pending *pending);
/* Whether an add was refused since the last call (and clear the flag). */
bool pending_take_overflow(struct pending *pending);

/* ---- silver.c: one connection per domain database ----------------------- */

struct silver_db {
    char domain[NAMES_MAX];
    sqlite3 *db;
    sqlite3_stmt *done;          /* file in _ledger or _quarantine? */
    sqlite3_stmt *done_range;    /* files of one directory in _ledger or _quarantine */
    sqlite3_stmt *snapshot;      /* INSERT INTO _snapshots */
    sqlite3_stmt *ledger;        /* INSERT OR REPLACE INTO _ledger */
    sqlite3_stmt *unquarantine;  /* DELETE FROM _quarantine WHERE file = ? */
    sqlite3_stmt *quarantine;    /* INSERT OR REPLACE INTO _quarantine */
};

struct silver_snapshot {
    int64_t id;             /* from silver_next_snapshot_id, or 0: the next one */
    const char *table;
    const char *operation;  /* "merge" | "replay" | "rollback" | "schema_change" */
    const char *source;     /* relative bronze path, or "" */
    int64_t inserted, updated, unchanged, deleted;
    int64_t schema_version;
};

struct silver;
/* The cache of open domain databases under <data_dir>/silver, each with a
 * page cache of cache_mib MiB (config silver_cache_mib). Caller owns. */
int silver_open(const char *data_dir, int64_t cache_mib, struct silver **out,
                char err[ERROR_MAX]);
void silver_close(struct silver **silver);
/* silver/<domain>.db, opened (created, WAL, migrated) on first use and kept
 * open. *out is owned by the cache. */
int silver_get(struct silver *silver, const char *domain, struct silver_db **out,
               char err[ERROR_MAX]);
/* Run one SQL statement without results (BEGIN IMMEDIATE, COMMIT, SAVEPOINT...). */
int silver_exec(struct silver_db *sdb, const char *sql, char err[ERROR_MAX]);
/* silver_exec of the SQL text built in b, then empty b (an append that
 * failed: "out of memory", nothing run). */
struct strbuf;
int silver_exec_buf(struct silver_db *sdb, struct strbuf *b, char err[ERROR_MAX]);
/* 1 if file is in _ledger or _quarantine, 0 if not, -1 error. */
int silver_file_done(struct silver_db *sdb, const char *rel, char err[ERROR_MAX]);
/* Append to out (sorted) the ledger and quarantine files starting with prefix. */
int silver_files_done_under(struct silver_db *sdb, const char *prefix, struct strlist *out,
                            char err[ERROR_MAX]);
int silver_record_snapshot(struct silver_db *sdb, const struct silver_snapshot *snap,
                           int64_t *snapshot_id, char err[ERROR_MAX]);
/* The id the next _snapshots row will get (call inside the write transaction;
 * rows written before the snapshot row, e.g. history, carry it). */
int silver_next_snapshot_id(struct silver_db *sdb, int64_t *id, char err[ERROR_MAX]);
/* _ledger row (replacing an older one: replay) and removal of a quarantine row. */
int silver_record_ledger(struct silver_db *sdb, const char *rel, const char *table,
                         int64_t snapshot_id, int64_t records, char err[ERROR_MAX]);
int silver_record_quarantine(struct silver_db *sdb, const char *rel, const char *table,
                             const char *reason, char err[ERROR_MAX]);
/* Does the table exist in the database? 1 / 0 / -1. */
int silver_table_exists(struct silver_db *sdb, const char *table, char err[ERROR_MAX]);

/* ---- schemas.c: endpoint schemas from the catalog ------------------------ */

struct schemas;
int schemas_open(const char *data_dir, struct schemas **out, char err[ERROR_MAX]);
void schemas_close(struct schemas **schemas);
/* The given version (0 = latest) of an endpoint's schema. 1 found (*out owned
 * by the caller), 0 no such endpoint/version (or no catalog at all), -1 the
 * catalog could not be read (retry later; never guess types then). */
int schemas_get(struct schemas *schemas, const char *domain, const char *endpoint, int version,
                struct schema **out, char err[ERROR_MAX]);

/* ---- merge.c: one bronze file into one silver table ---------------------- */

enum merge_outcome {
    MERGE_MERGED,      /* rows, snapshot and ledger written (inside the caller's transaction) */
    MERGE_QUARANTINED, /* corrupt: rolled back to before the file, _quarantine row written */
    MERGE_MISSING,     /* the file vanished (retention): nothing written */
    MERGE_BLOCKED      /* a "fail" expectation failed (reason): rolled back, stays pending */
};

struct merge_result {
    enum merge_outcome outcome;
    int64_t records, inserted, updated, unchanged;
    int64_t deleted;        /* rows removed by deletes ("_op":"delete") */
    int64_t dropped;        /* records dropped by "drop" expectations (in rejected/) */
    int64_t snapshot_id;
    char reason[ERROR_MAX]; /* MERGE_QUARANTINED: why */
};

/* Per-table state kept across the files of one transaction: the table's
 * columns and the prepared statements for the current column set. */
struct merge_table;
/* The caller has an open transaction on sdb. Caller owns *out. */
int merge_table_open(struct silver_db *sdb, struct schemas *schemas, const char *domain,
                     const char *table, struct merge_table **out, char err[ERROR_MAX]);
void merge_table_close(struct merge_table **table);
/* Merge the bronze file rel (relative to data_dir) into the table inside a
 * savepoint of the caller's transaction; writes the _snapshots row (operation,
 * rows_deleted as given) and the _ledger row. -1 on an error that may pass
 * (SQLite busy/full/I-O, catalog unreadable): the savepoint is rolled back
 * and the file stays unmerged for the next reconcile. A "fail" expectation:
 * MERGE_BLOCKED (rolled back, nothing recorded) when operation is "merge",
 * else -1 with the reason (a replay must not skip a file). */
int merge_file(struct merge_table *table, const char *data_dir, const char *rel,
               const char *operation, int64_t rows_deleted, struct merge_result *result,
               char err[ERROR_MAX]);

struct processor_ctx;
/* Live path (merge_group.c): merge files of ONE table, in this order, in one
 * transaction (BEGIN IMMEDIATE ... COMMIT; each file its own savepoint,
 * snapshot and ledger row), skipping files already in _ledger/_quarantine,
 * then log and publish silver.committed per file. An error rolls the group
 * back and merges its files one by one. Returns the files merged; with one
 * file: 1 merged, 0 skipped/quarantined/blocked, -1 error. */
int merge_group(struct processor_ctx *ctx, char *const *rels, size_t n);
/* merge_group of one file. */
int merge_one(struct processor_ctx *ctx, const char *rel);
/* Pop the next group from the pending queue and merge it: the head file and
 * the queued files of the same table after it, while their bronze bytes stay
 * within merge_group_max_bytes (config). Returns merge_group's count. */
int merge_next_group(struct processor_ctx *ctx);
/* Publish silver.committed (a hint: failures are logged, not returned). */
void merge_publish(struct processor_ctx *ctx, const char *domain, const char *table,
                   const char *file, int64_t snapshot_id, int64_t count);

/* Whether merge_file writes row history (default on). Replay turns it off
 * while it rebuilds a table and records the difference with history_diff. */
void merge_table_set_history(struct merge_table *table, bool on);

/* ---- evolve.c: declared schema changes (rename, drop, widen to string) -------- */

/* Bring an existing table (no table: nothing to do) to the latest schema
 * version inside the caller's transaction: each MANUAL version that changes
 * columns is applied and recorded as a "schema_change" snapshot.
 * *last_snapshot: the last one recorded, 0 if none. */
int evolve_apply(struct silver_db *sdb, struct schemas *schemas, const char *table,
                 const struct schema *latest, int64_t *last_snapshot, char err[ERROR_MAX]);
/* evolve_apply with the latest schema read from the catalog (replay, before
 * a rebuild drops the table). */
int evolve_latest(struct silver_db *sdb, struct schemas *schemas, const char *table,
                  char err[ERROR_MAX]);
/* The same in its own transaction for reconcile, publishing silver.committed.
 * 1 applied, 0 nothing to do (or no table / endpoint), -1 error. */
int evolve_reconcile(struct processor_ctx *ctx, struct silver_db *sdb, const char *table,
                     char err[ERROR_MAX]);
/* The table was just created with the column names of schema version
 * `version` (merge.c), in the snapshot being written. */
int evolve_created(struct silver_db *sdb, const char *table, int version, int64_t snapshot_id,
                   char err[ERROR_MAX]);
/* Forget the schema changes of a table being deleted (drop.c). */
int evolve_forget(struct silver_db *sdb, const char *table, char err[ERROR_MAX]);

/* Per-table cache of how column names of older versions are called in the
 * latest one (merge.c keeps one per merge_table). */
struct evolve_names;
void evolve_names_free(struct evolve_names **names);
/* The latest name of column `name` of schema version `version`: *out is
 * name itself, its new name, or NULL when the column was dropped since. */
int evolve_name(struct evolve_names **cache, struct schemas *schemas, const char *domain,
                const char *table, const struct schema *latest, int version, const char *name,
                const char **out, char err[ERROR_MAX]);
/* A bronze record of an older version with its fields renamed to the latest
 * names and dropped ones left out: *out a new object (caller owns), or NULL
 * when the record needs no change. */
int evolve_record(struct evolve_names **cache, struct schemas *schemas, const char *domain,
                  const char *table, const struct schema *latest, json_t *root, json_t **out,
                  char err[ERROR_MAX]);

/* ---- silver_history.c: row history _h_<table>, rollback --------------------------- */

struct history_counts {
    int64_t inserted, updated, deleted;
};

/* Make _h_<table> exist (with indexes) and have every column of the table.
 * No table: nothing to do. Inside the caller's transaction. */
int history_sync(struct silver_db *sdb, const char *table, char err[ERROR_MAX]);
/* Remove the empty versions [S, S) a file left (a key changed twice in it). */
int history_cleanup(struct silver_db *sdb, const char *table, int64_t snapshot_id,
                    char err[ERROR_MAX]);
/* Record the difference between the table and its current history versions
 * as changes made by snapshot_id (closes versions that differ or are gone,
 * adds versions for rows without one). *out says what changed. */
int history_diff(struct silver_db *sdb, const char *table, int64_t snapshot_id,
                 struct history_counts *out, char err[ERROR_MAX]);
/* Execute a "rollback" control request (domain, name = table, from = the
 * snapshot id): the table becomes its state at that snapshot, as a new
 * snapshot (operation "rollback"). Always fills reply (id = new snapshot). */
void rollback_run(struct processor_ctx *ctx, const struct control_request *req,
                  struct control_reply *reply);

/* ---- watch.c: inotify on the bronze tree --------------------------------- */

struct watch;
/* Watch bronze_dir recursively (IN_MOVED_TO for files, IN_CREATE/IN_MOVED_TO
 * of directories). libinotifytools is a process-wide singleton: one watch per
 * process. Caller owns *out. */
int watch_open(const char *bronze_dir, struct watch **out, char err[ERROR_MAX]);
void watch_close(struct watch **watch);
/* The inotify descriptor for zmq_poll, or -1 when it could not be found
 * (then the caller polls watch_drain on a short timer). */
int watch_fd(const struct watch *watch);
/* Handle every event ready now without blocking: on_file(arg, absolute path)
 * for each bronze file moved in and for each bronze file found under a new
 * directory (which is watched first, then walked: files may land before the
 * watch exists). *overflow is set on IN_Q_OVERFLOW (events were lost).
 * Returns 0 when everything ready was handled, 1 when it stopped at its
 * per-call limit (call again without waiting for the descriptor), -1 error. */
int watch_drain(struct watch *watch, void (*on_file)(void *arg, const char *path), void *arg,
                bool *overflow, char err[ERROR_MAX]);

/* ---- reconcile.c ---------------------------------------------------------- */

/* Queue every bronze file (of every domain, or of one) that is in neither
 * _ledger nor _quarantine. Returns the number queued, or -1. Stops early when
 * the pending queue is full (its overflow flag asks for another pass). */
int64_t reconcile_scan(struct processor_ctx *ctx, char err[ERROR_MAX]);
/* Absolute path -> queued (used by the watch). Paths that are not bronze
 * files of a valid table are ignored with a log line. */
void reconcile_on_file(void *ctx, const char *abs_path);
/* Merge queued files until the queue is empty or a stop is requested,
 * re-scanning after an overflow. Returns files merged, -1 on error. */
int64_t reconcile_drain(struct processor_ctx *ctx, char err[ERROR_MAX]);

/* ---- replay.c ------------------------------------------------------------- */

/* Execute a "replay" control request; always fills reply. */
void replay_run(struct processor_ctx *ctx, const struct control_request *req,
                struct control_reply *reply);

/* ---- drop.c --------------------------------------------------------------- */

/* Execute a "drop" control request (domain, name = endpoint): delete the
 * data of an endpoint already deleted from the catalog (order and crash
 * safety in drop.c); always fills reply. */
void drop_run(struct processor_ctx *ctx, const struct control_request *req,
              struct control_reply *reply);

/* ---- bronze_silver_retention.c: expiring old bronze files, snapshots and row history ---- */

struct retention_totals {
    int64_t tables;
    int64_t files;          /* bronze files expired */
    int64_t records;        /* records in them (from _ledger) */
    int64_t snapshots;      /* silver _snapshots rows expired */
    int64_t history_rows;   /* _h_<table> versions expired */
    char summary[ERROR_MAX]; /* per-table detail, for the reply */
};
/* Expire (or with dry_run only count) what is older than the horizons of
 * every table of one domain ("" = every domain) or one table ("" = all):
 * bronze files (dt= date before the horizon, merged or quarantined only),
 * silver _snapshots rows and _h_<table> versions. Never the current rows. */
int retention_expire(struct processor_ctx *ctx, const char *domain, const char *table,
                     bool dry_run, struct retention_totals *totals, char err[ERROR_MAX]);
/* Control "expire" / "expire_dry_run"; always fills reply. */
void expire_run(struct processor_ctx *ctx, const struct control_request *req,
                struct control_reply *reply);
/* 1 (with err saying so) when some merged bronze files of the table were
 * expired, so that a rebuild from bronze would lose rows; 0 if not; -1. */
int retention_rebuild_check(struct silver_db *sdb, const char *table, char err[ERROR_MAX]);

/* ---- compaction.c: many small bronze files of a day -> one ------------------ */

/* Compact the merged small files of closed days (before today, UTC) of one
 * domain ("" all) / table ("" all), or of one date (date "" = every closed
 * day). *inputs / *outputs: files replaced / files written. */
int compaction_compact(struct processor_ctx *ctx, const char *domain, const char *table,
                       const char *date, int64_t *inputs, int64_t *outputs, char err[ERROR_MAX]);
/* Finish compactions: roll back those whose compacted file never appeared
 * (a crash), and remove the inputs of those older than the reader grace
 * period (all of them when force). Returns compactions finished, or -1. */
int64_t compaction_finish(struct processor_ctx *ctx, bool force, char err[ERROR_MAX]);
/* Control "compact"; always fills reply. */
void compact_run(struct processor_ctx *ctx, const struct control_request *req,
                 struct control_reply *reply);

/* ---- maintenance.c: the daily/periodic housekeeping of silver ---------------- */

struct maintenance;
int maintenance_open(struct processor_ctx *ctx, struct maintenance **out, char err[ERROR_MAX]);
void maintenance_close(struct maintenance **maintenance);
/* Call from the housekeeping tick: compaction finishing, WAL checkpoints,
 * the daily retention + compaction run, VACUUM on its interval. */
void maintenance_tick(struct processor_ctx *ctx);

/* ---- control_server.c ----------------------------------------------------- */

/* Bind the REP socket at cfg->processor_control_endpoint. */
void *control_socket_open(void *zmq_context, const struct config *cfg, char err[ERROR_MAX]);
/* Close it and remove its ipc socket file. NULL-safe; sets *socket NULL. */
void control_socket_close(void **socket, const struct config *cfg);
/* Receive and answer one request (call when the socket is readable). */
void control_serve_one(struct processor_ctx *ctx);

/* ---- main.c: the process state -------------------------------------------- */

struct processor_ctx {
    const struct config *cfg;
    volatile sig_atomic_t *stop;  /* set by SIGTERM/SIGINT */
    void *zmq;
    void *control;                /* REP */
    void *publisher;              /* PUB to the broker */
    void *subscriber;             /* SUB: schema.changed (a hint to reconcile now) */
    struct watch *watch;
    struct pending *pending;
    struct silver *silver;
    struct schemas *schemas;
    bool need_reconcile;          /* overflow: scan bronze again soon */
    bool watch_backlog;           /* watch_drain stopped at its limit: drain again */
    int64_t merged_files;         /* counters for the periodic stats line */
    int64_t quarantined_files;
    int64_t failed_merges;
    struct maintenance *maintenance; /* maintenance.c: schedule of retention/compaction */
    int64_t next_export_ms;       /* export.c: monotonic time of the next export tick */
    int export_failures;          /* export.c: ticks failed in a row (retry backoff) */
    struct iceberg_store *iceberg_store; /* export.c: opened at first use, freed at exit */
};

/* ---- export.c: silver tables as Iceberg tables (iceberg/<domain>_silver/) ---- */

/* config iceberg_export is "local" or "s3". */
bool export_enabled(const struct config *cfg);
/* Export every table (domain NULL/""), a domain's, or one table whose newest
 * snapshot is not exported yet; *exported counts the tables written,
 * *matched the tables in scope. Errors are logged per table; -1 names the
 * first. */
int export_run_scope(struct processor_ctx *ctx, const char *domain, const char *table,
                     int64_t *exported, int64_t *matched, char err[ERROR_MAX]);
/* At start: delete files under the exported tables that no committed
 * version references and that are older than a grace period (left by an
 * export that crashed). *removed counts them. */
int export_sweep(struct processor_ctx *ctx, int64_t *removed, char err[ERROR_MAX]);
/* Every iceberg_export_interval_s while no file waits to be merged; after
 * a tick with a failure the next waits twice as long (up to 16 intervals,
 * at most 10 minutes unless the interval is longer). */
void export_tick(struct processor_ctx *ctx);
/* The "export" control request: domain / name = table scope, answered when
 * done (count = tables exported, id = silver tables in scope). */
void export_run(struct processor_ctx *ctx, const struct control_request *req,
                struct control_reply *reply);

struct iceberg_field; /* iceberg_meta.h */

/* The table store (ctx->iceberg_store), opened at first use (S3 credentials
 * are read then). NULL with err. */
struct iceberg_store *export_store(struct processor_ctx *ctx, char err[ERROR_MAX]);

/* What export_fields needs besides the table. */
struct export_source {
    struct processor_ctx *ctx;
    const char *domain;
};
/* The Iceberg fields of a table's columns (iceberg_export_fields_fn, arg a
 * struct export_source): types from the endpoint's latest schema, metadata
 * columns by name; db may be any connection that sees the table. */
int export_fields(void *arg, sqlite3 *db, const char *table, struct iceberg_field **out,
                  size_t *n, char err[ERROR_MAX]);

/* ---- export_bronze.c: bronze as Iceberg tables (iceberg/<domain>_bronze/) ---- */

/* State tables in silver/<domain>.db (_iceberg_bronze_tables, _manifests,
 * _fields, _files: the bronze files each export covered). */
extern const char export_bronze_ddl[];
/* Append the endpoint's sealed files not exported yet: 1 exported, 0
 * current, -1 with err (nothing committed). Sets the lag gauges
 * (iceberg_export_lag_seconds / _snapshots = files, label
 * "<domain>/bronze.<endpoint>"). */
int export_bronze_endpoint(struct processor_ctx *ctx, const char *domain, const char *endpoint,
                           char err[ERROR_MAX]);
/* Every endpoint of the domain, or just `only`; failures logged per table,
 * -1 names the first. */
int export_bronze_domain(struct processor_ctx *ctx, const char *domain, const char *only,
                         int64_t *exported, int64_t *matched, char err[ERROR_MAX]);

#endif

/* transformer.h - private to the transformer process: its context, the
 * in-memory job table and the functions its files share.
 *
 * Files, one concern each:
 *   main.c            entry: arguments, resources, the poll loop, tear-down
 *   jobs.c            the job table: loading from the catalog, keeping the
 *                     scheduling state across reloads, who reads which table
 *   inputs.c          the current snapshot id of the tables a job reads
 *   schedule.c        deciding what runs: commit events (coalesced), reconcile,
 *                     cron minutes, the order of pending runs (upstream first),
 *                     and queueing the jobs downstream of a run
 *   run.c             executing one job against gold/<domain>.db and recording it
 *   write.c           the gold write per write mode (overwrite, append, upsert)
 *   lineage.c         the job SQL with its history forms (incremental @changes)
 *                     and the _lineage rows of each gold snapshot
 *   gold_history.c    the row history of gold tables (_h_<table>), in the run's
 *                     transaction
 *   gold_retention.c  expiring old gold snapshots, lineage and row versions
 *   gold_export.c     gold tables published as Iceberg tables (iceberg/<domain>_gold/)
 *   commands.c        the control socket (ping / run / reload / expire / drop / export)
 *   drop.c            deleting a gold table no job writes any more
 * Everything runs on the one thread of the poll loop; a job runs to its end
 * before the loop looks at sockets again, which is what makes "finish the
 * current job on SIGTERM" and coalescing simple. */
#ifndef LAKEHOUSE_TRANSFORMER_H
#define LAKEHOUSE_TRANSFORMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>

#include "catalog.h"
#include "config.h"
#include "cron.h"
#include "error.h"
#include "job.h"
#include "sqlref.h"

#define TRANSFORMER_TRIGGER_MAX 16

/* One job and its scheduling state. */
struct tjob {
    struct job_def def;        /* owned */
    struct sqlref *inputs;     /* owned: the tables the SQL reads, deduplicated */
    size_t input_count;
    struct cron_expr cron;     /* valid when def.schedule is cron */
    bool valid;                /* false: the stored definition does not validate; never run */

    /* Scheduling state (carried over when the table is reloaded). */
    bool pending;              /* a run is wanted: at most one, however many commits arrive */
    char trigger[TRANSFORMER_TRIGGER_MAX]; /* why the pending run is wanted */
    int64_t forced_execution;  /* execution created by a "run" request, 0 = none */
    json_t *last_inputs;       /* owned: snapshot ids read by the last finished run in this
                                  process (success or failure), NULL = none yet */
    int64_t cron_minute;       /* last minute (unix time / 60) a cron run was queued */
};

struct jobs {
    struct tjob *items;        /* owned */
    size_t count;
    bool loaded;               /* loaded at least once: later loads queue new/changed jobs */
};

struct transformer_ctx {
    const struct config *cfg;
    struct catalog *catalog;
    void *zmq;                 /* context */
    void *sub;                 /* events in (SUB) */
    void *pub;                 /* events out (PUB) */
    void *rep;                 /* control socket (REP) */
    struct jobs jobs;
    bool reload_wanted;        /* a job.changed event arrived */
    int64_t next_reconcile_ms; /* monotonic */
    int64_t runs_ok;
    int64_t runs_failed;
    int64_t next_expire_ms;    /* monotonic: next daily gold retention (gold_retention.c) */
    int64_t next_export_ms;    /* monotonic: next Iceberg export tick (gold_export.c) */
    struct iceberg_store *iceberg_store; /* gold_export.c: opened at first use, freed at exit */
};

/* jobs.c --------------------------------------------------------------- */

/* (Re)load every job from the catalog, keeping the scheduling state of jobs
 * that still exist. After the first load, a new job or a changed definition
 * of a dependency job queues a run (trigger "definition"). Forced runs of
 * jobs that disappeared are finished as FAILED. */
int jobs_reload(struct transformer_ctx *ctx, char err[ERROR_MAX]);
void jobs_free(struct jobs *jobs);
struct tjob *jobs_find(struct jobs *jobs, const char *domain, const char *name);
/* Does job read the table (domain, layer, table)? */
bool jobs_reads(const struct tjob *job, const char *domain, enum sqlref_layer layer,
                const char *table);
/* Is another pending (or forced) job the producer of one of job's inputs? */
bool jobs_has_pending_upstream(const struct jobs *jobs, const struct tjob *job);
/* "demo.silver.flights" */
void jobs_input_key(const struct sqlref *ref, char out[3 * NAMES_MAX + 8]);

/* inputs.c ------------------------------------------------------------- */

/* Path of the database holding a layer of a domain; -1 for bronze or a path
 * that does not fit. */
int inputs_db_path(char *out, size_t out_size, const char *data_dir, enum sqlref_layer layer,
                   const char *domain);
/* The domains with a gold database (names of gold/<domain>.db), as a JSON
 * array of strings (new reference; empty when there is none). */
json_t *inputs_gold_domains(const char *data_dir);
/* "file:<path percent-encoded>?mode=ro"; -1 if it does not fit. */
int inputs_uri(char *out, size_t out_size, const char *path);
/* In schema (of db), does table exist (1/0), and its latest snapshot id
 * (0 without snapshots)? -1 with err on a database error. */
int inputs_table_snapshot(sqlite3 *db, const char *schema, const char *table, int64_t *id,
                          char err[ERROR_MAX]);

/* The current snapshot id of every input of job, as the inputs_json object
 * {"demo.silver.flights": 12, ...} (0 for a table without snapshots).
 * Returns 1 with *current (new reference), 0 when an input table does not
 * exist yet (missing names it), -1 on error. */
int inputs_current(const char *data_dir, const struct tjob *job, json_t **current,
                   char missing[ERROR_MAX], char err[ERROR_MAX]);

/* schedule.c ----------------------------------------------------------- */

/* Queue a run of job (a pending run already queued absorbs this one). */
void schedule_queue(struct tjob *job, const char *trigger);
/* A table committed with snapshot_id: queue every job reading it that has not
 * already read that snapshot (or a later one). */
void schedule_table_committed(struct transformer_ctx *ctx, const char *domain,
                              enum sqlref_layer layer, const char *table, int64_t snapshot_id);
/* Compare each dependency job's inputs with its last success; queue those
 * whose inputs changed (or that never succeeded and whose inputs exist). */
void schedule_reconcile(struct transformer_ctx *ctx);
/* Queue cron jobs matching the current minute (once per minute). */
void schedule_cron_tick(struct transformer_ctx *ctx, time_t now);
/* Run the next wanted job, if any (forced runs first, upstream before
 * downstream). Returns true if something was run or dropped. */
bool schedule_run_next(struct transformer_ctx *ctx);
/* Is any run wanted? */
bool schedule_has_work(const struct transformer_ctx *ctx);
/* At shutdown: finish forced executions that never started as FAILED. */
void schedule_abandon(struct transformer_ctx *ctx, const char *reason);

/* write.c ---------------------------------------------------------------- */

/* The query's output columns. */
struct write_columns {
    char (*names)[NAMES_MAX];
    size_t count;
};

/* The rows of main.`table`. */
int write_count_rows(sqlite3 *db, const char *table, int64_t *out, char err[ERROR_MAX]);
/* Is there a table named `table` in main? */
int write_table_exists(sqlite3 *db, const char *table, bool *exists, char err[ERROR_MAX]);
/* Prepare the rewritten query alone: one SELECT, its output columns (cols,
 * names malloc'd), and the statement text without its trailing ';' (*body,
 * malloc'd). */
int write_check_query(sqlite3 *db, const char *sql, char **body, struct write_columns *cols,
                      char err[ERROR_MAX]);
/* Split the stored unique key "a,b" into names, checking each is an output column. */
int write_key_columns(const char *unique_key, const struct write_columns *cols,
                      char keys[][NAMES_MAX], size_t max, size_t *count, char err[ERROR_MAX]);
/* Every accumulate column must be an output column of the query. */
int write_check_accumulate(const char *accumulate, const struct write_columns *cols,
                           char err[ERROR_MAX]);
/* Whether an accumulating run starts from an empty table (it reads a change
 * feed from its start). */
bool write_accumulate_from_start(const struct job_def *def, const json_t *changes);
/* overwrite: the query's rows replace the table (a new table swapped in). */
int write_overwrite(sqlite3 *db, const char *table, const char *body, int64_t *inserted,
                    int64_t *deleted, char err[ERROR_MAX]);
/* append / upsert (unique_key set; accumulate columns; a _delete column
 * deletes keys). An upsert leaves the query's rows in temp._run_rows for
 * the row history; the caller drops it. */
int write_append(sqlite3 *db, const char *table, const char *body,
                 const struct write_columns *cols, const char *unique_key, const char *accumulate,
                 int64_t *inserted, int64_t *updated, int64_t *deleted, char err[ERROR_MAX]);

/* The job's secondary index (-- index: a, b) as main."_ix_<table>",
 * created after the write (an overwrite makes a new table) and re-created
 * when the list changed; nothing without an index header. */
int write_ensure_index(sqlite3 *db, const struct job_def *def, char err[ERROR_MAX]);

/* run.c ---------------------------------------------------------------- */

/* Run job now and record it: an execution row (created unless
 * execution_id > 0), the gold write in one transaction with its _snapshots
 * row, the execution's outcome and gold.committed. Returns 0 on success with
 * *snapshot_id = the gold snapshot written (the caller queues the jobs
 * downstream), -1 if the run failed (already recorded). */
int run_job(struct transformer_ctx *ctx, struct tjob *job, const char *trigger,
            int64_t execution_id, int64_t *snapshot_id);

/* Open gold/<domain>.db for writing (created if missing): WAL, busy
 * timeout, the internal tables, migrated to LAYOUT_DB_VERSION. Caller
 * closes *out. */
int run_open_gold(const char *data_dir, const char *domain, sqlite3 **out, char err[ERROR_MAX]);

/* At start: executions left RUNNING by a crash. Those whose gold write had
 * committed (found in the gold database's _executions) are recorded as
 * SUCCEEDED with their rows and inputs; the others become FAILED. */
int run_recover(struct transformer_ctx *ctx, char err[ERROR_MAX]);

/* lineage.c ------------------------------------------------------------ */

/* The job's SQL for db (inside the run's transaction, inputs read): own
 * domain gold references to main, history forms expanded (timetravel.h); a
 * bare @changes (incremental jobs, job.h) reads the snapshots after the one
 * the table's latest gold snapshot recorded in _lineage (full: from the
 * first). *sql malloc'd; *changes (new reference) {"d.silver.t": {"from",
 * "rows"}} for each input read that way. */
int lineage_rewrite(sqlite3 *db, const struct tjob *job, const json_t *inputs, bool full,
                    char **sql, json_t **changes, char err[ERROR_MAX]);
/* _lineage rows of gold snapshot_id: one per input (inputs_json object),
 * with changes_from / change_rows from changes (may be NULL). */
int lineage_record(sqlite3 *db, int64_t snapshot_id, const json_t *inputs,
                   const json_t *changes, char err[ERROR_MAX]);

/* gold_history.c ------------------------------------------------------------ */

/* Before the write of table (in the run's transaction): an existing table
 * without history gets _h_<table>, seeded with its rows (valid from 0);
 * *max_rowid = the table's largest rowid (0: no table). keys: the job's
 * unique_key (nkeys 0: none), the history's index key when it is created. */
int history_prepare(sqlite3 *db, const char *table, char keys[][NAMES_MAX], size_t nkeys,
                    int64_t *max_rowid, char err[ERROR_MAX]);
/* After the write, as changes of snapshot_id (gold_history.c says how): */
int history_record_overwrite(sqlite3 *db, const char *table, int64_t snapshot_id,
                             char err[ERROR_MAX]);
/* rows with rowid > after_rowid are new */
int history_record_append(sqlite3 *db, const char *table, int64_t after_rowid,
                          int64_t snapshot_id, char err[ERROR_MAX]);
/* the keys found in temp.<scope> were written or deleted */
int history_record_upsert(sqlite3 *db, const char *table, char keys[][NAMES_MAX], size_t nkeys,
                          const char *scope, int64_t snapshot_id, char err[ERROR_MAX]);

/* gold_retention.c ---------------------------------------------------------- */

/* Expire gold history older than the retention horizons (gold_retention.c):
 * domain "" = every gold database, table "" = every table. Fills reply (ok,
 * id = snapshots, count = lineage rows, message = totals and detail); -1 with
 * err on a database error (nothing of that database deleted). */
struct control_reply;
int gold_expire(struct transformer_ctx *ctx, const char *domain, const char *table, bool dry_run,
                struct control_reply *reply, char err[ERROR_MAX]);
/* drop.c: delete gold table domain.table (no job may still write it) with
 * its row history, _snapshots and _lineage rows, in one transaction; fills
 * reply. */
int gold_drop(struct transformer_ctx *ctx, const char *domain, const char *table,
              struct control_reply *reply, char err[ERROR_MAX]);
/* From the housekeeping timer: the daily retention run when it is due. */
void gold_retention_tick(struct transformer_ctx *ctx);

/* gold_export.c -------------------------------------------------------- */

struct control_request;
/* config iceberg_export is "local". */
bool gold_export_enabled(const struct config *cfg);
/* Export every gold table (domain NULL/""), a domain's, or one table whose
 * newest snapshot is not exported yet; *exported counts the tables written,
 * *matched the tables in scope. Errors are logged per table; -1 names the
 * first. */
int gold_export_scope(struct transformer_ctx *ctx, const char *domain, const char *table,
                      int64_t *exported, int64_t *matched, char err[ERROR_MAX]);
/* At start: repair version hints and delete files under exported gold
 * tables that nothing committed references, once older than the grace
 * period. *removed counts them. */
int gold_export_sweep(struct transformer_ctx *ctx, int64_t *removed, char err[ERROR_MAX]);
/* From the housekeeping timer: every iceberg_export_interval_s while no run
 * is wanted. */
void gold_export_tick(struct transformer_ctx *ctx);
/* The "export" control request: domain / name = table scope, answered when
 * done (count = tables exported, id = gold tables in scope). */
void gold_export_run(struct transformer_ctx *ctx, const struct control_request *req,
                     struct control_reply *reply);

/* commands.c ----------------------------------------------------------- */

/* Answer every pending request on the control socket. */
void commands_handle(struct transformer_ctx *ctx);

#endif

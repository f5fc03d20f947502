/* layout.h - the shape of the data directory and of the silver/gold databases.
 *
 * Data directory (one root for everything):
 *   catalog.db  spool/  bronze/  rejected/  silver/<domain>.db  gold/<domain>.db  run/
 *   landing/ (drop folder, with its _state.db, _done/, _failed/)
 *   iceberg/<domain>_<layer>/<table>/{metadata,data}/ (exported Iceberg tables)
 * Directories are created 0750, files 0640.
 *
 * Every silver and gold database holds, besides its tables, internal tables
 * (names start with '_', which no user table can); the list below is all of
 * them, each marked with the layer it is in:
 *   _snapshots(snapshot_id INTEGER PRIMARY KEY AUTOINCREMENT, table_name TEXT NOT NULL,
 *              committed_at TEXT NOT NULL, operation TEXT NOT NULL,
 *              source TEXT NOT NULL, rows_inserted INTEGER NOT NULL,
 *              rows_updated INTEGER NOT NULL, rows_unchanged INTEGER NOT NULL,
 *              rows_deleted INTEGER NOT NULL, schema_version INTEGER NOT NULL,
 *              row_count INTEGER)
 *       operation: silver "merge" | "replay" | "rollback" (source "snapshot:<id>") |
 *                  "schema_change" (source "schema v<N>: rename a -> b; drop c"); gold "overwrite" | "append" | "upsert"
 *       source:    silver: the bronze file (relative path); gold: "execution:<id>"
 *       row_count: rows in the table after the commit (version 2; NULL in rows
 *                  written before), so listings need not count the table
 *   _ledger(file TEXT PRIMARY KEY, table_name TEXT NOT NULL, snapshot_id INTEGER NOT NULL,
 *           records INTEGER NOT NULL, merged_at TEXT NOT NULL)      -- silver only
 *   _schema_changes(table_name, snapshot_id, schema_version, change, column_name,
 *                   new_name, h_column)                               -- silver only,
 *       created on first use: renames and drops of columns (processor/evolve.c)
 *   _quarantine(file TEXT PRIMARY KEY, table_name TEXT NOT NULL, reason TEXT NOT NULL,
 *               at TEXT NOT NULL)                                     -- silver only
 *   _h_<table>(<the table's columns>, _valid_from INTEGER NOT NULL, _valid_to INTEGER)
 *       -- silver and gold: every version of every row; _valid_from = the snapshot
 *       that created it, _valid_to = the one that ended it (NULL = current); created
 *       by rowhistory.h (the one DDL, with its indexes), written in the same
 *       transaction as the table (processor/silver_history.c, transformer/gold_history.c),
 *       read by timetravel.h, expired by retention_history.h
 *   _d_<table>(<the key columns>, _seq ...) -- silver only, keyed tables that saw a
 *       delete: tombstones, so an older record arriving later cannot bring a
 *       deleted key back (processor/merge.c)
 *   _expectations(snapshot_id, table_name, rule, action, failed) -- silver only,
 *       created on first use: per snapshot, the records each expectation failed
 *   _compactions(file, table_name, inputs, files, records, state, created_ms,
 *                created_at, finished_at) -- silver only: bronze compactions and
 *       their progress, so a compaction interrupted by a crash is finished or
 *       undone (processor/compaction.c)
 *   _retention(...) -- what retention expired, per table and layer (retention_history.h)
 *   _executions(execution_id, table_name, snapshot_id, row_count, inputs_json)
 *       -- gold only: the runs committed in this database, so that a run whose
 *       catalog record was lost in a crash is recognised (transformer/run.c)
 *   _lineage(snapshot_id INTEGER NOT NULL, input_table TEXT NOT NULL,
 *            input_snapshot_id INTEGER NOT NULL, changes_from INTEGER, change_rows INTEGER)
 *       -- gold only: per gold snapshot, the snapshot of every table the run read
 *       ("demo.silver.flights"); changes_from/change_rows when it read @changes
 *       (job.h); written in the run's transaction (transformer/lineage.c)
 *   _iceberg_tables, _iceberg_snapshots, _iceberg_schemas, _iceberg_fields,
 *   _iceberg_metadata_log, _iceberg_files -- silver and gold: the Iceberg export
 *       state of each exported table (common/iceberg_export.h; version 3)
 *   _iceberg_manifests, _iceberg_rows, _iceberg_expired -- silver and gold: what
 *       incremental exports and snapshot expiry need (common/iceberg_delta.h;
 *       created by the first export that uses them)
 * A bronze file is merged and recorded in _ledger in one transaction (rule 2).
 * Silver tables carry the user columns plus _seq INTEGER (the winning record's
 * ingest sequence), _insert_date TEXT, _schema_version INTEGER and _rescued TEXT,
 * and the generated (VIRTUAL) columns _domain and _endpoint (constant per table).
 * The databases use WAL; the processor is the only writer of silver, the
 * transformer the only writer of gold; PRAGMA user_version = LAYOUT_DB_VERSION. */
#ifndef LAKEHOUSE_LAYOUT_H
#define LAKEHOUSE_LAYOUT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

/* 1: the DDL below; 2: _snapshots.row_count, and silver tables' generated
 * _domain and _endpoint columns (processor/silver.c); 3: the Iceberg export
 * state (iceberg_export_ddl) */
#define LAYOUT_DB_VERSION 3
#define LAYOUT_DIR_MODE 0750
#define LAYOUT_FILE_MODE 0640

/* The DDL above (CREATE TABLE IF NOT EXISTS ...), for silver and gold. */
extern const char *const layout_silver_ddl;
extern const char *const layout_gold_ddl;

/* Version 1 -> 2 of the internal tables (either layer): add
 * _snapshots.row_count when missing. Call inside the migration's transaction. */
int layout_migrate_v2(sqlite3 *db, char err[ERROR_MAX]);

/* "<data_dir>/silver/<domain>.db" etc. Return 0 or -1 if the path is too long. */
int layout_silver_db(char *out, size_t out_size, const char *data_dir, const char *domain);
int layout_gold_db(char *out, size_t out_size, const char *data_dir, const char *domain);
/* "<data_dir>/<sub>" for sub in spool, bronze, rejected, silver, gold, run. */
int layout_dir(char *out, size_t out_size, const char *data_dir, const char *sub);
/* Every path below is built here and nowhere else. Each returns 0, or -1
 * with err (may be NULL) saying the path was too long; out then holds a
 * truncated path that must not be used. Relative paths ("bronze/...") are
 * the form the catalog, ledgers and state databases store; layout_path
 * makes one absolute. A NULL trailing part stops the path before it
 * (layout_bronze_dir(.., domain, NULL, ..) is "<data_dir>/bronze/<domain>"). */
int layout_path(char *out, size_t out_size, const char *data_dir, const char *rel,
                char err[ERROR_MAX]);
/* "<data_dir>/catalog.db" */
int layout_catalog_db(char *out, size_t out_size, const char *data_dir, char err[ERROR_MAX]);
/* "<data_dir>/run/<process>.pid" */
int layout_pid_file(char *out, size_t out_size, const char *data_dir, const char *process,
                    char err[ERROR_MAX]);
/* "<data_dir>/run/<process>.stats.json": a process's counters (stats.h) */
int layout_stats_file(char *out, size_t out_size, const char *data_dir, const char *process,
                      char err[ERROR_MAX]);
/* "<data_dir>/run/processor.maintenance": when the processor's daily work last ran */
int layout_maintenance_state(char *out, size_t out_size, const char *data_dir,
                             char err[ERROR_MAX]);
/* "<data_dir>/spool/.compact": where the processor writes a compaction's output */
int layout_compaction_dir(char *out, size_t out_size, const char *data_dir, char err[ERROR_MAX]);
/* "ipc://<data_dir>/run/<socket>" (socket: "ingest.sock", ...) */
int layout_run_endpoint(char *out, size_t out_size, const char *data_dir, const char *socket,
                        char err[ERROR_MAX]);
/* "bronze[/<domain>[/<table>[/<date_dir>[/<file>]]]]" (date_dir: "dt=YYYY-MM-DD") */
int layout_bronze_rel(char *out, size_t out_size, const char *domain, const char *table,
                      const char *date_dir, const char *file, char err[ERROR_MAX]);
/* "<data_dir>/bronze[/<domain>[/<table>[/<date_dir>]]]" */
int layout_bronze_dir(char *out, size_t out_size, const char *data_dir, const char *domain,
                      const char *table, const char *date_dir, char err[ERROR_MAX]);
/* "<data_dir>/bronze/<domain>/<table>/dt=<date>" (date: "YYYY-MM-DD") */
int layout_bronze_date_dir(char *out, size_t out_size, const char *data_dir, const char *domain,
                           const char *table, const char *date, char err[ERROR_MAX]);
/* "<data_dir>/spool[/<domain>[/<endpoint>]]" */
int layout_spool_dir(char *out, size_t out_size, const char *data_dir, const char *domain,
                     const char *endpoint, char err[ERROR_MAX]);
/* "<data_dir>/spool/<domain>/<endpoint>/<first_seq, 20 digits>-<date><suffix>" */
int layout_spool_file(char *out, size_t out_size, const char *data_dir, const char *domain,
                      const char *endpoint, uint64_t first_seq, const char *date,
                      const char *suffix, char err[ERROR_MAX]);
/* "<data_dir>/rejected[/<domain>[/<endpoint>]]" */
int layout_rejected_dir(char *out, size_t out_size, const char *data_dir, const char *domain,
                        const char *endpoint, char err[ERROR_MAX]);
/* "rejected/<domain>/<endpoint>/<date>.ndjson": ingest's records refused that day */
int layout_rejected_rel(char *out, size_t out_size, const char *domain, const char *endpoint,
                        const char *date, char err[ERROR_MAX]);
/* "<data_dir>/rejected/<domain>/<table>/<date>-expectations.ndjson": the
 * processor's records dropped by expectations that day */
int layout_rejected_expectations(char *out, size_t out_size, const char *data_dir,
                                 const char *domain, const char *table, const char *date,
                                 char err[ERROR_MAX]);
/* The drop folder: "<data_dir>/landing", its state database
 * "<data_dir>/landing/_state.db", and the folders files move to once done
 * or failed, "<data_dir>/landing/<bucket>[/<domain>[/<endpoint>]]". */
#define LAYOUT_LANDING_DONE "_done"
#define LAYOUT_LANDING_FAILED "_failed"
int layout_landing_dir(char *out, size_t out_size, const char *data_dir, char err[ERROR_MAX]);
int layout_landing_state_db(char *out, size_t out_size, const char *data_dir,
                            char err[ERROR_MAX]);
int layout_landing_bucket_dir(char *out, size_t out_size, const char *data_dir,
                              const char *bucket, const char *domain, const char *endpoint,
                              char err[ERROR_MAX]);
/* "landing[/<domain>[/<endpoint>[/<name>]]]": a dropped file as logged and stored */
int layout_landing_rel(char *out, size_t out_size, const char *domain, const char *endpoint,
                       const char *name, char err[ERROR_MAX]);
/* Exported Iceberg tables (layer "bronze", "silver" or "gold"): the
 * namespace "<domain>_<layer>", a table's key "<domain>_<layer>[/<table>]"
 * below the table store's root (iceberg_store.h: <data_dir>/iceberg or
 * s3://<bucket>/<prefix>), and on local disk
 * "<data_dir>/iceberg[/<domain>_<layer>[/<table>]]" (domain NULL: the root;
 * table NULL: the namespace). */
int layout_iceberg_namespace(char *out, size_t out_size, const char *domain, const char *layer,
                             char err[ERROR_MAX]);
int layout_iceberg_key(char *out, size_t out_size, const char *domain, const char *layer,
                       const char *table, char err[ERROR_MAX]);
int layout_iceberg_dir(char *out, size_t out_size, const char *data_dir, const char *domain,
                       const char *layer, const char *table, char err[ERROR_MAX]);
/* "<data_dir>/run/iceberg-staging": where data files of a table exported to
 * S3 are built before they are put (iceberg_store.h). */
int layout_iceberg_staging_dir(char *out, size_t out_size, const char *data_dir,
                               char err[ERROR_MAX]);
/* Create data_dir and all its subdirectories (0750). */
int layout_create(const char *data_dir, char err[ERROR_MAX]);
/* Open (creating it if absent) a database of the data directory for
 * writing. A database it creates gets LAYOUT_FILE_MODE, which its WAL and
 * shm files then take too. *out is NULL on failure (err names the path). */
int layout_db_open(const char *path, sqlite3 **out, char err[ERROR_MAX]);

#endif

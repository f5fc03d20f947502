/* iceberg_export.h - one SQLite table of a silver or gold database published
 * as an Iceberg v2 table under <domain>_<layer>/<table>/ of the table store
 * (iceberg_store.h: <data>/iceberg or s3://<bucket>/<prefix>), and
 * the export state kept beside it in the same database (_iceberg_* tables).
 * The processor (silver) and the transformer (gold) each export the tables
 * of the databases they write, with the same commit sequence:
 *
 * each table whose newest project snapshot S (its _snapshots log) is not
 * exported yet is written as one Iceberg snapshot equal to S, whole or as
 * the change since the exported snapshot (iceberg_delta.h decides and keeps
 * what that needs): Parquet data and position-delete files, manifests and
 * manifest list (fsync'd), then metadata/v<N+1>.metadata.json
 * created exclusively, then the pointer in _iceberg_tables (the commit, one
 * SQLite transaction with the snapshot, schema, field-id and file rows), then
 * metadata/version-hint.text. A crash before the commit leaves version N
 * readable; the files of a failed attempt are removed when the error is seen,
 * those a crash left are swept at the next start once older than
 * ICEBERG_EXPORT_SWEEP_GRACE_S (_iceberg_files lists every file a committed
 * snapshot references); a crash after the commit leaves the hint one version
 * behind (still a readable version) until the start repairs it. The caller
 * must be the database's writer and call this between its own writes, so
 * the rows read are exactly S's. Field ids stay with a column name and type
 * (a renamed column keeps its id); a new or retyped column gets the next
 * id, and a retyped one makes the export a full one. Snapshots older than
 * the table's retention horizon expire at its next export. */
#ifndef LAKEHOUSE_ICEBERG_EXPORT_H
#define LAKEHOUSE_ICEBERG_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "config.h"
#include "control_protocol.h"
#include "error.h"
#include "iceberg_meta.h"
#include "iceberg_store.h"

/* Files of an exported table that no committed version references are
 * deleted at start once they are this old: younger ones may belong to an
 * export of a process still running. */
#define ICEBERG_EXPORT_SWEEP_GRACE_S 600

/* CREATE TABLE IF NOT EXISTS of the state tables (_iceberg_tables,
 * _iceberg_snapshots, _iceberg_schemas, _iceberg_fields,
 * _iceberg_metadata_log, _iceberg_files); part of the databases' layout. */
extern const char iceberg_export_ddl[];

/* The Iceberg type of each column of the table (layer specific). Fill *out
 * (malloc'd, caller of the callback frees) with one field per column in
 * table order: name, type, kind, precision/scale, identifier, required; the
 * exporter assigns the ids. 0, or -1 with err. */
typedef int (*iceberg_export_fields_fn)(void *arg, sqlite3 *db, const char *table,
                                        struct iceberg_field **out, size_t *n,
                                        char err[ERROR_MAX]);

struct iceberg_export_source {
    sqlite3 *db;                /* the layer's database, opened for writing */
    struct iceberg_store *store; /* where the table's files go (iceberg_export_store) */
    const char *data_dir;
    const char *domain;
    const char *layer;          /* "silver" | "gold": the namespace <domain>_<layer> */
    const char *table;
    iceberg_export_fields_fn fields;
    void *fields_arg;
    const char *metrics_label;  /* stats label of the table ("air/flights") */
    int64_t retention_days;     /* the layer's history horizon for the table (0: keep all):
                                 * older Iceberg snapshots expire (iceberg_delta.h) */
};

/* Export the table if its newest snapshot is not exported yet: 1 exported,
 * 0 already current (or no snapshot), -1 with err (nothing committed, the
 * files of the attempt removed). Observes iceberg_export_duration_seconds. */
int iceberg_export_table(const struct iceberg_export_source *src, char err[ERROR_MAX]);

/* The gauges iceberg_export_lag_seconds / _snapshots of a table (label):
 * the age of its oldest snapshot not exported yet and how many there are. */
void iceberg_export_lag(sqlite3 *db, const char *table, const char *label);

/* At start, for every table of db in _iceberg_tables: a version hint left
 * behind its pointer by a crash is rewritten, and files under the table's
 * data/ and metadata/ in store that no committed snapshot references are
 * deleted once older than the grace period (domain is for the log), and so
 * are staged files a crash left (iceberg_store_clean_staging). A table
 * exported to another store is skipped. *removed is increased by the files
 * deleted. */
int iceberg_export_sweep_db(sqlite3 *db, struct iceberg_store *store, const char *domain,
                            int64_t *removed, char err[ERROR_MAX]);

/* The writer's export tick: true once every iceberg_export_interval_s (the
 * first an interval after the first call); *next_ms (monotonic, 0 at
 * start) is kept by the caller. */
bool iceberg_export_due(const struct config *cfg, int64_t *next_ms);

/* Whether cfg exports at all (iceberg_export "local" or "s3"). */
bool iceberg_export_enabled(const struct config *cfg);

/* A writer's export of every table in scope (domain and table NULL or ""
 * for all): exported and matched counted, -1 with err for the first
 * failure (each one logged per table). */
typedef int (*iceberg_export_scope_fn)(void *arg, const char *domain, const char *table,
                                       int64_t *exported, int64_t *matched, char err[ERROR_MAX]);

/* The writer's loop step: when export is on, the writer is not busy with
 * its own work (busy: merges or job runs come first) and the tick is due
 * (iceberg_export_due), every table is exported through fn. */
void iceberg_export_tick(const struct config *cfg, bool busy, int64_t *next_ms,
                         iceberg_export_scope_fn fn, void *arg);
/* The "export" control request answered through fn (reply prefix as in
 * iceberg_export_reply; *store: the writer's store once fn has run). */
void iceberg_export_serve(const struct config *cfg, const struct control_request *req,
                          struct control_reply *reply, const char *prefix,
                          struct iceberg_store *const *store, iceberg_export_scope_fn fn,
                          void *arg);

/* The "export" control request: -1 with err when it cannot run (export off,
 * a table without its domain), else 0. */
int iceberg_export_request_check(const struct config *cfg, const struct control_request *req,
                                 char err[ERROR_MAX]);
/* Its reply: ok = rc == 0, count = exported, id = matched (tables in
 * scope), message "<prefix>exported N table(s) to <store root> ..." (the
 * root: <data>/iceberg or s3://<bucket>/<prefix>) or "<prefix>export
 * failed: <err>". */
void iceberg_export_reply(struct control_reply *reply, int rc, int64_t exported, int64_t matched,
                          const char *prefix, const struct iceberg_store *store,
                          const char *err);

#endif

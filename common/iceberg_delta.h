/* iceberg_delta.h - what one export of a table writes: the whole table, or
 * only what changed since the exported snapshot. Owns the state that makes
 * the second possible (_iceberg_manifests: the manifests of each exported
 * snapshot; _iceberg_rows: the data file and position of every exported row
 * version) and the reading of rows into Parquet. The C code never reads a
 * written file back: everything it needs is in these SQLite tables.
 *
 * Rows are the current versions of the row history _h_<t> (rowhistory.h),
 * which is t@S when S is the newest snapshot; a version is identified by its
 * rowid in _h_<t>. An incremental export from E to S writes the versions
 * that started in (E, S] and are current as new data files, and the
 * positions of the exported versions that ended in (E, S] as one Iceberg v2
 * position-delete file (file_path, pos; content 1, its own manifest); the
 * manifests of the exported snapshot are carried as they are (their entries
 * keep the sequence numbers they inherited). Equality deletes are never
 * written.
 *
 * Expiry: snapshots older than the table's retention horizon (the one of
 * its layer's history) leave the metadata; the files only they referenced
 * are deleted once expired for the grace period.
 *
 * The table is written whole instead (a full export) when: it was never
 * exported or its state predates this module; a type changed in a way
 * Iceberg v2 cannot express (the caller says so); a snapshot in (E, S] is a
 * gold "overwrite" run or a silver "replay"; the change is large (changed
 * versions above half of the table: large rollbacks, rewritten tables); the
 * history does not account for the table's row count (versions pruned by
 * retention while the export lagged); or compaction is due: the snapshot
 * would carry more than ICEBERG_DELTA_MAX_MANIFESTS manifests, or its
 * position deletes would reach a quarter of its data rows (a full export
 * folds small files, manifests and deletes into one set of files). */
#ifndef LAKEHOUSE_ICEBERG_DELTA_H
#define LAKEHOUSE_ICEBERG_DELTA_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "error.h"
#include "iceberg_manifest.h"
#include "iceberg_meta.h"
#include "iceberg_table.h"

#define ICEBERG_DELTA_MAX_MANIFESTS 16

/* CREATE TABLE IF NOT EXISTS of _iceberg_manifests, _iceberg_rows and
 * _iceberg_expired. */
extern const char iceberg_delta_ddl[];

struct iceberg_delta {
    bool full;                  /* write the table whole */
    bool mapped;                /* rows read from _h_<t>, their positions kept */
    const char *why;            /* why full (for the log) */
    int64_t from, to;           /* E (exported project snapshot) and S */
    int64_t deletes;            /* positions the delete file holds */
    struct iceberg_manifest_file *kept; /* carried manifests (path owned) */
    size_t nkept;
    int64_t kept_data_rows, kept_delete_rows;
};

/* Decide how S is exported. current: the Iceberg snapshot exported (< 0:
 * none); exported: its project snapshot E; rewrite: the caller needs a full
 * export (a widened type). 0, or -1 with err. */
int iceberg_delta_plan(sqlite3 *db, const char *table, const struct iceberg_field *f, size_t n,
                       int64_t current, int64_t exported, int64_t project, bool rewrite,
                       struct iceberg_delta *d, char err[ERROR_MAX]);
void iceberg_delta_free(struct iceberg_delta *d);

/* Column col of the statement's current row into the Parquet writer as
 * field f's kind (text dates and timestamps parsed). 0, or -1 with err. */
int iceberg_delta_value(struct parquet_writer *w, size_t col, const struct iceberg_field *f,
                        sqlite3_stmt *st, char err[ERROR_MAX]);

/* The rows to write (all, or those new since E) into files (finished);
 * their positions are kept for the commit. 0, or -1 with err. */
int iceberg_delta_rows(sqlite3 *db, const char *table, const struct iceberg_field *f, size_t n,
                       const struct iceberg_delta *d, struct iceberg_files *files,
                       char err[ERROR_MAX]);

/* The position-delete file of an incremental export (NULL *out when there
 * is nothing to delete). 0, or -1 with err. */
int iceberg_delta_deletes(sqlite3 *db, const char *table, struct iceberg_store *store,
                          const char *key, struct iceberg_delta *d,
                          const struct iceberg_write_options *opt, struct iceberg_files **out,
                          char err[ERROR_MAX]);

/* Inside the caller's commit transaction, after the data files' rows in
 * _iceberg_files: the new positions and the snapshot's manifests. */
int iceberg_delta_commit(sqlite3 *db, const char *table, const struct iceberg_delta *d,
                         int64_t snapshot_id, const struct iceberg_files *files,
                         const struct iceberg_manifest_file *m, size_t nm, char err[ERROR_MAX]);

/* Snapshot expiry, inside the caller's commit transaction: the snapshots
 * other than keep committed before horizon_ms leave _iceberg_snapshots and
 * _iceberg_manifests; the files no kept snapshot references (a file belongs
 * to the snapshot that added it, and is referenced while a kept snapshot
 * lists a manifest that snapshot added) move from _iceberg_files to
 * _iceberg_expired with now_ms. *expired counts them. */
int iceberg_delta_expire(sqlite3 *db, const char *table, int64_t horizon_ms, int64_t keep,
                         int64_t now_ms, int64_t *expired, char err[ERROR_MAX]);
/* Delete from store the expired files of table (NULL: every table; files
 * of another store are left alone) expired more than
 * grace_s ago (readers of an older version may still read them until
 * then). *removed counts them. */
int iceberg_delta_purge(sqlite3 *db, struct iceberg_store *store, const char *table,
                        int64_t grace_s, int64_t *removed, char err[ERROR_MAX]);

#endif

/* retention_history.h - expiring the old history of one table inside a silver or gold
 * database: its snapshots, its row versions (_h_<table>) and, in gold, the
 * _lineage rows of those snapshots; and the _retention log of what went.
 * Shared by the processor (silver, processor/bronze_silver_retention.c) and the
 * transformer (gold, transformer/gold_retention.c), each the only writer of its
 * databases; the horizons come from retention_policy.h.
 *
 * What expires, for a horizon (a timeutil timestamp): the table's snapshots
 * committed before it except the table's newest; cut = the newest of those.
 * Deleted: _snapshots rows of the table with snapshot_id <= cut, the _lineage
 * rows of those snapshots (when _lineage exists), and the row versions that
 * ENDED at or before cut (_valid_to <= cut). Versions still current
 * (_valid_to NULL) or ended later are never touched, so time travel, change
 * feeds and rollback to every snapshot that remains stay exact; older
 * snapshot ids become unknown.
 *
 *   _retention(id INTEGER PRIMARY KEY, table_name, layer ('bronze' | 'silver' |
 *              'gold'), horizon, files, records, snapshots, history_rows, at)
 */
#ifndef LAKEHOUSE_RETENTION_HISTORY_H
#define LAKEHOUSE_RETENTION_HISTORY_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct retention_history_counts {
    int64_t cut;          /* the newest expired snapshot, 0 = nothing expires */
    int64_t snapshots;    /* _snapshots rows */
    int64_t history_rows; /* _h_<table> versions */
    int64_t lineage_rows; /* _lineage rows (gold) */
};

/* Expire table's history before horizon, inside the caller's transaction
 * (dry_run: count only, delete nothing). table must be a checked name.
 * -1 with err (the SQLite message; the caller names the database). */
int retention_history_expire(sqlite3 *db, const char *table, const char *horizon, bool dry_run,
                             struct retention_history_counts *out, char err[ERROR_MAX]);

/* Add a _retention row (the table is created when missing), inside the
 * caller's transaction. */
int retention_history_log(sqlite3 *db, const char *table, const char *layer, const char *horizon,
                          int64_t files, int64_t records, int64_t snapshots, int64_t history_rows,
                          char err[ERROR_MAX]);

#endif

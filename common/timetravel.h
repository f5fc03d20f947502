/* timetravel.h - reading the row history of silver and gold tables: time
 * travel, change feed, SCD2 view and the snapshot list (DESCRIBE HISTORY).
 *
 * The processor keeps, beside every silver table <t>, and the transformer,
 * beside every gold table, the internal table _h_<t> (layout.h,
 * rowhistory.h): every version of every row with _valid_from (the snapshot
 * that created it) and _valid_to (the snapshot that ended it, NULL while
 * current). This module only reads it. The SQL forms (sqlref.h) become
 * subqueries over it:
 *   t@S, t@'time'   the columns of t as of snapshot S (for a time: the latest
 *                   snapshot of t committed at or before it)
 *   t@changes(a,b)  the columns of t plus _change_type ('insert' |
 *                   'update_before' | 'update_after' | 'delete'),
 *                   _snapshot_id and _committed_at: each row changed by the
 *                   snapshots a..b (inclusive; b omitted = the latest)
 *   t@scd2          every version: the columns of t plus _valid_from and
 *                   _valid_to (commit times; _valid_to NULL while current),
 *                   _is_current (1/0), _from_snapshot and _to_snapshot
 *   t@expectations  failures per expectation rule per snapshot: snapshot_id,
 *                   committed_at, rule, action, failed (silver only)
 * Update pairs are matched on a key: a silver table's primary key (else
 * _seq); a gold table's unique_key (the index _uk_<t> of an upsert job). A
 * gold table without one (overwrite, append) has no pairs: a changed row is
 * a 'delete' of its old version and an 'insert' of its new one, and in @scd2
 * every version is its own row. A subquery has no name: give it an alias to
 * qualify columns (SELECT h.id FROM demo.silver.t@3 AS h). Bronze has no
 * history. */
#ifndef LAKEHOUSE_TIMETRAVEL_H
#define LAKEHOUSE_TIMETRAVEL_H

#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>

#include "error.h"
#include "sqlref.h"

/* What timetravel_expand reads: the connection on which the silver / gold
 * database of a reference's domain is attached as sqlref_schema_name, except
 * the gold database of domain gold_main (NULL: none), which the connection
 * opened as "main" (the transformer writing it). */
struct timetravel_db {
    sqlite3 *db;
    const char *gold_main;
};

/* A sqlref_at_fn; arg is a struct timetravel_db (read before any authorizer
 * refuses PRAGMA functions). Errors name the table: unknown snapshot (with
 * the table's range), no snapshot at or before a time, a time that is not
 * ISO 8601, no history, a bronze table. */
int timetravel_expand(void *arg, const struct sqlref *ref, const struct sqlref_at *at,
                      char **text, char err[ERROR_MAX]);

/* The snapshots of the silver or gold table domain.table, newest first, at
 * most limit (0 = all): [{"snapshot_id","committed_at","operation","source",
 * "rows_inserted","rows_updated","rows_unchanged","rows_deleted",
 * "schema_version"}]. Fails with ERROR_NOT_FOUND (error.h) when the domain
 * or the table is unknown. New reference in *out. */
int timetravel_history(const char *data_dir, enum sqlref_layer layer, const char *domain,
                       const char *table, int64_t limit, json_t **out, char err[ERROR_MAX]);

#endif

/* query.h - read-only SQL over the three layers, for `lakehouse query` and the
 * broker's query API.
 *
 * References are written domain.silver.table / domain.gold.table /
 * domain.bronze.table (sqlref.h).
 * Each referenced database is ATTACHed read-only (URI mode=ro) to a private
 * in-memory connection; read-only-ness is enforced by the engine: the
 * connection is opened with SQLITE_OPEN_READONLY semantics for attached files
 * and an authorizer that allows only reads (SELECT, READ, FUNCTION, RECURSIVE)
 * - no writes, ATTACH, PRAGMA or load_extension. A progress handler enforces
 * the time limit; the row limit stops the scan and sets "truncated".
 *
 * Details (query.c):
 *   - one statement per query ("SELECT 1; SELECT 2" is an error);
 *   - a bronze reference (domain.bronze.table) scans the endpoint's bronze
 *     files through a read-only virtual table (bronze_vtab.h);
 *   - values: INTEGER -> JSON integer, REAL -> JSON real (inf/nan -> null),
 *     TEXT -> string (invalid UTF-8 bytes become U+FFFD), BLOB -> lower-case
 *     hex string, NULL -> null;
 *   - duplicate column names are made unique ("n", "n:2", ...) so that each
 *     row object keeps every value;
 *   - besides max_rows, a result is cut (truncated) after about 64 MiB of
 *     values: bounded memory whatever the limits say;
 *   - a table name without domain and layer reads the empty in-memory main
 *     database; the "no such table" message then says how to write names. */
#ifndef LAKEHOUSE_QUERY_H
#define LAKEHOUSE_QUERY_H

#include <stdint.h>
#include <jansson.h>
#include "error.h"

struct query_limits {
    int64_t timeout_ms;     /* 0 = none */
    int64_t max_rows;       /* 0 = none */
    int64_t max_memory_mib; /* 0 = none; see query_memory_limit */
};

/* Memory bound of queries. A query's strings and blobs are limited to a
 * quarter of max_memory_mib each (SQLite's SQLITE_LIMIT_LENGTH, checked
 * before allocating, so randomblob(900000000) fails at once), its result to
 * a quarter too; and the SQLite heap of the whole process is capped at
 * concurrent x per_query_mib + 64 MiB (sqlite3_hard_heap_limit64: sorts,
 * caches, group_concat...). A query reaching either limit fails with
 * ERROR_TOO_LARGE. Call once at start, before any query. */
void query_memory_limit(int64_t concurrent, int64_t per_query_mib);

/* Run sql against data_dir. On success *result is a new object:
 *   {"columns":[names], "data":[{col:value,...}], "row_count":n, "truncated":bool}
 * On failure err names the problem ("no such table: demo.silver.x",
 * "query exceeded the time limit of 10000 ms", "not allowed: write to ...")
 * and the kind (error.h) is ERROR_TIMEOUT when the time limit was reached,
 * ERROR_TOO_LARGE when the memory bound was, else ERROR_INVALID.
 * A reference to a domain whose database does not exist is an error naming it. */
int query_run(const char *data_dir, const char *sql, const struct query_limits *limits,
              json_t **result, char err[ERROR_MAX]);

/* List every silver and gold table with its row count, sorted by domain,
 * layer (silver first) and table:
 * [{"domain","layer","table","rows","snapshot_id","last_commit"}] where the
 * last two come from the database's _snapshots (null when it has none).
 * rows is the count kept with the newest snapshot (layout.h), so listing
 * costs nothing in proportion to the data; a table without one (no
 * snapshot, a database from before it was kept) is counted. Internal tables (names starting with '_') are not listed. A missing
 * silver/ or gold/ directory lists nothing. New reference in *result. */
int query_list_tables(const char *data_dir, json_t **result, char err[ERROR_MAX]);

#endif

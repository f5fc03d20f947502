/* query.h - read-only SQL over the three layers, for `lakehouse query` and the
 * broker's query API.
 *
 * References are written domain.silver.table / domain.gold.table (sqlref.h).
 * Each referenced database is ATTACHed read-only (URI mode=ro) to a private
 * in-memory connection; read-only-ness is enforced by the engine: the
 * connection is opened with SQLITE_OPEN_READONLY semantics for attached files
 * and an authorizer that allows only reads (SELECT, READ, FUNCTION, RECURSIVE)
 * - no writes, ATTACH, PRAGMA or load_extension. A progress handler enforces
 * the time limit; the row limit stops the scan and sets "truncated". */
#ifndef LAKEHOUSE_QUERY_H
#define LAKEHOUSE_QUERY_H

#include <stdint.h>
#include <jansson.h>
#include "error.h"

struct query_limits {
    int64_t timeout_ms;  /* 0 = none */
    int64_t max_rows;    /* 0 = none */
};

/* Run sql against data_dir. On success *result is a new object:
 *   {"columns":[names], "data":[{col:value,...}], "row_count":n, "truncated":bool}
 * On failure -1 with err naming the problem ("no such table: demo.silver.x",
 * "query exceeded the time limit of 10000 ms", "not allowed: write to ...").
 * A reference to a domain whose database does not exist is an error naming it. */
int query_run(const char *data_dir, const char *sql, const struct query_limits *limits,
              json_t **result, char err[ERROR_MAX]);

/* List every silver and gold table with its row count:
 * [{"domain","layer","table","rows"}]. New reference in *result. */
int query_list_tables(const char *data_dir, json_t **result, char err[ERROR_MAX]);

#endif

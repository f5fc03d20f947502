/* sqlref.h - table references in user SQL: `domain.layer.table`.
 *
 * Users write three-part names (layer is bronze, silver or gold), e.g.
 *   SELECT origin, count(*) FROM demo.silver.flights GROUP BY origin
 * SQLite knows schemas, not three-part names, so each database is ATTACHed
 * under the schema name "<layer>_<domain>" and each reference is rewritten to
 * "<layer>_<domain>"."<table>". The scan is SQL-aware: string literals,
 * quoted identifiers ("..", `..`, [..]) and comments are left alone. Parts may
 * be written bare or double-quoted; all three must follow names.h. */
#ifndef LAKEHOUSE_SQLREF_H
#define LAKEHOUSE_SQLREF_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "names.h"

#define SQLREF_SCHEMA_MAX (NAMES_MAX + 8)

enum sqlref_layer { SQLREF_BRONZE, SQLREF_SILVER, SQLREF_GOLD };

struct sqlref {
    char domain[NAMES_MAX];
    enum sqlref_layer layer;
    char table[NAMES_MAX];
};

const char *sqlref_layer_name(enum sqlref_layer layer);
/* "silver_demo" for (SQLREF_SILVER, "demo"). */
void sqlref_schema_name(enum sqlref_layer layer, const char *domain, char out[SQLREF_SCHEMA_MAX]);

/* Rewrite sql. *out_sql (malloc'd, caller frees) is the rewritten text;
 * *refs (malloc'd, caller frees, may be NULL when *count is 0) lists each
 * distinct reference in order of first appearance. A three-part name whose
 * middle part is a layer but whose parts break the naming rule is an error
 * naming it. Either output pointer may be NULL if not wanted. */
int sqlref_rewrite(const char *sql, char **out_sql, struct sqlref **refs, size_t *count,
                   char err[ERROR_MAX]);

/* Like sqlref_rewrite, but references into the database that the connection
 * itself opened as "main" (layer main_layer of domain main_domain) are
 * rewritten to "main"."<table>" instead of "<layer>_<domain>"."<table>": the
 * transformer writes gold/<domain>.db as main and cannot ATTACH it a second
 * time. main_domain NULL behaves exactly like sqlref_rewrite. Same ownership. */
int sqlref_rewrite_main(const char *sql, enum sqlref_layer main_layer, const char *main_domain,
                        char **out_sql, struct sqlref **refs, size_t *count, char err[ERROR_MAX]);

/* History forms: a suffix written right after a reference, without blanks.
 *   demo.silver.t@42                       the table as of snapshot 42
 *   demo.silver.t@'2026-11-21T10:00:00Z'   as of the snapshot current at that
 *                                          instant (ISO 8601; no zone = UTC)
 *   demo.silver.t@changes(3,7)             change feed of snapshots 3..7
 *   demo.silver.t@changes(3)               ... from snapshot 3 to the latest
 *   demo.silver.t@changes                  in an incremental job (job.h) only:
 *                                          the changes since the job's last
 *                                          successful run (snapshot = -1 here)
 *   demo.silver.t@scd2                     every version with validity times
 *   demo.silver.t@expectations             failures per expectation rule per
 *                                          snapshot (data-quality counts)
 * sqlref_rewrite and sqlref_rewrite_main leave a suffix in the text as it is
 * (SQLite then reports a syntax error there); sqlref_rewrite_at hands each
 * reference with a suffix to a callback that returns the replacement text
 * (e.g. a subquery; query.c / timetravel.h). */
enum sqlref_at_kind {
    SQLREF_AT_SNAPSHOT,
    SQLREF_AT_TIME,
    SQLREF_AT_CHANGES,
    SQLREF_AT_SCD2,
    SQLREF_AT_EXPECTATIONS
};

struct sqlref_at {
    enum sqlref_at_kind kind;
    int64_t snapshot;  /* SNAPSHOT: the id; CHANGES: the first snapshot */
    int64_t to;        /* CHANGES: the last snapshot, 0 = the latest */
    char time[40];     /* TIME: the text between the quotes */
};

/* Return 0 and *text (malloc'd; the rewriter frees it) or -1 with err. */
typedef int (*sqlref_at_fn)(void *arg, const struct sqlref *ref, const struct sqlref_at *at,
                            char **text, char err[ERROR_MAX]);

/* Like sqlref_rewrite, and every reference followed by a suffix above is
 * replaced, suffix included, by the text fn gives. A '@' after a reference
 * that is none of the forms is an error naming the forms. */
int sqlref_rewrite_at(const char *sql, sqlref_at_fn fn, void *arg, char **out_sql,
                      struct sqlref **refs, size_t *count, char err[ERROR_MAX]);
/* Both: main-domain references as sqlref_rewrite_main, suffixes as
 * sqlref_rewrite_at (the transformer: a job's SQL with history forms). */
int sqlref_rewrite_main_at(const char *sql, enum sqlref_layer main_layer, const char *main_domain,
                           sqlref_at_fn fn, void *arg, char **out_sql, struct sqlref **refs,
                           size_t *count, char err[ERROR_MAX]);

#endif

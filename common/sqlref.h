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

#endif

/* rowhistory.h - the row-history table _h_<t> of a silver or gold table
 * (layout.h): the one place that creates it and keeps its columns following
 * the table's. Who writes versions into it: the processor for silver
 * (processor/silver_history.c, merge.c), the transformer for gold
 * (transformer/gold_history.c); timetravel.h reads it.
 *
 *   _h_<t>(<every column of t>, _valid_from INTEGER NOT NULL, _valid_to INTEGER)
 *   index _h_<t>_key  (<key columns>, _valid_to)   the current version of a key
 *   index _h_<t>_from (_valid_from)                 change feed by start
 *   index _h_<t>_to   (_valid_to) WHERE _valid_to IS NOT NULL   ... by end
 * The key is the table's primary key (silver), _seq (silver without one),
 * the job's unique_key (gold upsert) or nothing (gold overwrite/append: the
 * key index is then on _valid_to alone).
 *
 * Column names read from a database are only returned when they pass the
 * column rule (names.h; a leading '_' allowed for metadata), so callers may
 * splice them in double quotes. */
#ifndef LAKEHOUSE_ROWHISTORY_H
#define LAKEHOUSE_ROWHISTORY_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "names.h"

struct rowhistory_col {
    char name[NAMES_MAX];
    const char *type; /* "INTEGER" | "REAL" | "TEXT" | "NUMERIC" | "" (static) */
    int pk;           /* position in the primary key, 0 = not part of it */
};

struct rowhistory_cols {
    struct rowhistory_col *items; /* owned; rowhistory_cols_free */
    size_t count;
};

/* Columns of schema.table in order (none if it does not exist). -1 with err
 * on a database error or a column name that fails the rule. */
int rowhistory_columns(sqlite3 *db, const char *schema, const char *table,
                       struct rowhistory_cols *out, char err[ERROR_MAX]);
void rowhistory_cols_free(struct rowhistory_cols *cols);
/* The column named name (case-insensitive), or NULL. */
const struct rowhistory_col *rowhistory_find(const struct rowhistory_cols *cols, const char *name);
/* Is name _valid_from or _valid_to? */
bool rowhistory_is_validity(const char *name);

/* Make schema._h_<table> exist with every column of schema.<table>, inside
 * the caller's transaction. When it is created, its indexes are made (key:
 * keys[0..nkeys), checked column names) and, when seed is true, the table's
 * rows become its first versions (_valid_from 0: a table from before history
 * existed); otherwise it starts empty. When it exists, the table's columns it
 * lacks are added. No table: nothing to do. Returns 1 created, 0 not, -1 err. */
int rowhistory_sync(sqlite3 *db, const char *schema, const char *table, const char *const *keys,
                    size_t nkeys, bool seed, char err[ERROR_MAX]);

#endif

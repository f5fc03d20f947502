/* timetravel_names.h - the column names a silver table had at a snapshot.
 *
 * Declared schema changes (processor/evolve.c) rename and drop columns of a
 * silver table. Its row history _h_<t> follows renames and keeps dropped
 * columns as "_dropped_<snapshot>_<n>"; each change is a row of
 * _schema_changes(table_name, snapshot_id, schema_version, change,
 * column_name, new_name, h_column) in the silver database. Time travel to
 * snapshot S shows the columns of S's time: the changes recorded after S are
 * undone, newest first (a renamed column gets its old name back, a dropped
 * one reappears under its name, and a column that took a name later is
 * hidden). Columns added after S show as NULL, as they always have. */
#ifndef LAKEHOUSE_TIMETRAVEL_NAMES_H
#define LAKEHOUSE_TIMETRAVEL_NAMES_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "names.h"

/* cols[0..n): the columns of schema._h_<table> in order (checked names).
 * Fills shown[i] with the name column i has at snapshot, or "" when it is not
 * a column then (a dropped column's keeper after its drop, a column named
 * like an older one before that one's change). snapshot < 0: now. A database
 * without _schema_changes (gold, or no change yet): the names as they are,
 * minus dropped keepers. -1 with err on a database error. */
int timetravel_names_at(sqlite3 *db, const char *schema, const char *table, int64_t snapshot,
                        char *const *cols, size_t n, char (*shown)[NAMES_MAX],
                        char err[ERROR_MAX]);

/* Is name the keeper of a dropped column in _h_<t> ("_dropped_...")? */
int timetravel_names_is_dropped(const char *name);

#endif

/* timetravel_names.c - column names of a silver table at a snapshot, from
 * _schema_changes (see timetravel_names.h). */
#include "timetravel_names.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TIMETRAVEL_NAMES_DROPPED "_dropped_"

int timetravel_names_is_dropped(const char *name)
{
    return strncmp(name, TIMETRAVEL_NAMES_DROPPED, sizeof TIMETRAVEL_NAMES_DROPPED - 1) == 0;
}

/* Hide every shown name equal to name except index keep. */
static void timetravel_names_hide(char (*shown)[NAMES_MAX], size_t n, const char *name,
                                  size_t keep)
{
    for (size_t j = 0; j < n; j++)
        if (j != keep && strcasecmp(shown[j], name) == 0)
            shown[j][0] = '\0';
}

int timetravel_names_at(sqlite3 *db, const char *schema, const char *table, int64_t snapshot,
                        char *const *cols, size_t n, char (*shown)[NAMES_MAX],
                        char err[ERROR_MAX])
{
    for (size_t i = 0; i < n; i++)
        snprintf(shown[i], NAMES_MAX, "%s", timetravel_names_is_dropped(cols[i]) ? "" : cols[i]);
    if (snapshot < 0)
        return 0;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM \"%s\".sqlite_master WHERE type = 'table' AND "
             "name = '_schema_changes'",
             schema);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    int has = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        has = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return error_set(err, "reading schema changes: %s", sqlite3_errmsg(db));
    if (!has)
        return 0;
    snprintf(sql, sizeof sql,
             "SELECT change, column_name, new_name, h_column FROM \"%s\"._schema_changes "
             "WHERE table_name = ?1 AND snapshot_id > ?2 AND change IN ('rename', 'drop') "
             "ORDER BY snapshot_id DESC, rowid DESC",
             schema);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return error_set(err, "reading schema changes: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, snapshot);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *change = (const char *)sqlite3_column_text(st, 0);
        const char *column = (const char *)sqlite3_column_text(st, 1);
        const char *new_name = (const char *)sqlite3_column_text(st, 2);
        const char *keeper = (const char *)sqlite3_column_text(st, 3);
        if (change == NULL || column == NULL || !names_is_valid_column(column))
            continue; /* never show a name we did not check */
        if (strcmp(change, "rename") == 0 && new_name != NULL) {
            for (size_t i = 0; i < n; i++) {
                if (strcasecmp(shown[i], new_name) == 0) {
                    timetravel_names_hide(shown, n, column, i);
                    snprintf(shown[i], NAMES_MAX, "%s", column);
                    break;
                }
            }
        } else if (strcmp(change, "drop") == 0 && keeper != NULL) {
            for (size_t i = 0; i < n; i++) {
                if (strcmp(cols[i], keeper) == 0) {
                    timetravel_names_hide(shown, n, column, i);
                    snprintf(shown[i], NAMES_MAX, "%s", column);
                    break;
                }
            }
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return error_set(err, "reading schema changes: %s", sqlite3_errmsg(db));
    return 0;
}

/* drop.c - the "drop" control command (control.h): delete a gold table that
 * no job writes any more (`lakehouse model delete --tables`), with its row
 * history, its _snapshots and _lineage rows, in one transaction of gold's
 * only writer. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "control.h"
#include "layout.h"
#include "log.h"
#include "names.h"
#include "transformer.h"

#define DROP_BUSY_TIMEOUT_MS 5000

int gold_drop(struct transformer_ctx *ctx, const char *domain, const char *table,
              struct control_reply *reply, char err[ERROR_MAX])
{
    if (!names_is_valid_object(domain) || !names_is_valid_object(table))
        return error_set(err, "drop: give a gold domain and table");
    if (jobs_find(&ctx->jobs, domain, table) != NULL)
        return error_set(err, "drop: job %s/%s still writes %s.gold.%s: delete the job first",
                         domain, table, domain, table);
    char path[PATH_MAX];
    struct stat st;
    if (layout_gold_db(path, sizeof path, ctx->cfg->data_dir, domain) < 0)
        return error_set(err, "gold database path too long");
    if (stat(path, &st) != 0) {
        reply->ok = true;
        snprintf(reply->message, sizeof reply->message, "%s.gold.%s: no such table", domain,
                 table);
        return 0;
    }
    sqlite3 *db = NULL;
    if (layout_db_open(path, &db, err) < 0)
        return -1;
    sqlite3_busy_timeout(db, DROP_BUSY_TIMEOUT_MS);
    /* names are checked: safe inside double quotes */
    char sql[6 * NAMES_MAX + 512];
    snprintf(sql, sizeof sql,
             "BEGIN IMMEDIATE;"
             "DROP TABLE IF EXISTS main.\"%s\";"
             "DROP TABLE IF EXISTS main.\"_h_%s\";"
             "CREATE TEMP TABLE IF NOT EXISTS _drop_ids (id INTEGER);"
             "DELETE FROM temp._drop_ids;",
             table, table);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    int64_t rows = 0;
    /* _snapshots and _lineage exist once the domain had a run */
    if (rc == SQLITE_OK) {
        sqlite3_stmt *stmt = NULL;
        rc = sqlite3_prepare_v2(db,
                                "SELECT count(*) FROM main.sqlite_master WHERE type = 'table'"
                                " AND name IN ('_snapshots', '_lineage')",
                                -1, &stmt, NULL);
        if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 2) {
            sqlite3_finalize(stmt);
            stmt = NULL;
            rc = sqlite3_prepare_v2(db,
                                    "DELETE FROM main._lineage WHERE snapshot_id IN (SELECT"
                                    " snapshot_id FROM main._snapshots WHERE table_name = ?1)",
                                    -1, &stmt, NULL);
            if (rc == SQLITE_OK) {
                sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
                rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
            }
            sqlite3_finalize(stmt);
            stmt = NULL;
            if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(db, "DELETE FROM main._snapshots WHERE table_name = ?1",
                                        -1, &stmt, NULL);
            if (rc == SQLITE_OK) {
                sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
                rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
                rows = sqlite3_changes64(db);
            }
        }
        sqlite3_finalize(stmt);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        error_set(err, "drop %s.gold.%s: %s", domain, table, sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
        return -1;
    }
    sqlite3_close(db);
    reply->ok = true;
    reply->count = rows;
    snprintf(reply->message, sizeof reply->message, "%s.gold.%s dropped (%lld snapshots)", domain,
             table, (long long)rows);
    log_info("gold_dropped table=%s.gold.%s snapshots=%lld", domain, table, (long long)rows);
    return 0;
}

/* drop.c - the "drop" control command (control_protocol.h): delete a gold
 * table that no job writes any more (`lakehouse model delete --tables`),
 * with its row history, its _snapshots and _lineage rows, in one
 * transaction of gold's only writer. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "control_protocol.h"
#include "layout.h"
#include "log.h"
#include "names.h"
#include "sqlutil.h"
#include "transformer.h"

#define DROP_BUSY_TIMEOUT_MS 5000

/* The statements of the drop, inside the caller's transaction; *snapshots =
 * the _snapshots rows deleted. */
static int drop_table(sqlite3 *db, const char *table, int64_t *snapshots, char err[ERROR_MAX])
{
    /* names are checked: safe inside double quotes */
    char sql[2 * NAMES_MAX + 128];
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS main.\"%s\"; DROP TABLE IF EXISTS main.\"_h_%s\";", table,
             table);
    if (sqlutil_exec(db, sql, err, "drop the table") < 0)
        return -1;
    /* _snapshots and _lineage exist once the domain had a run */
    int64_t internal = 0;
    if (sqlutil_int64(db,
                      "SELECT count(*) FROM main.sqlite_master WHERE type = 'table'"
                      " AND name IN ('_snapshots', '_lineage')",
                      &internal, err, "read the gold tables") < 0)
        return -1;
    if (internal != 2)
        return 0;
    const char *binds[] = {table};
    if (sqlutil_run(db,
                    "DELETE FROM main._lineage WHERE snapshot_id IN (SELECT snapshot_id FROM"
                    " main._snapshots WHERE table_name = ?1)",
                    binds, 1, NULL, err, "delete the lineage") < 0 ||
        sqlutil_run(db, "DELETE FROM main._snapshots WHERE table_name = ?1", binds, 1, snapshots,
                    err, "delete the snapshots") < 0)
        return -1;
    return 0;
}

int gold_drop(struct transformer_ctx *ctx, const char *domain, const char *table,
              struct control_reply *reply, char err[ERROR_MAX])
{
    if (!names_is_valid_object(domain) || !names_is_valid_object(table))
        return error_fail(err, ERROR_INVALID, "drop: give a gold domain and table");
    if (jobs_find(&ctx->jobs, domain, table) != NULL)
        return error_fail(err, ERROR_CONFLICT,
                          "drop: job %s/%s still writes %s.gold.%s: delete the job first", domain,
                          table, domain, table);
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
    int64_t snapshots = 0;
    if (sqlutil_exec(db, "BEGIN IMMEDIATE", err, "begin") < 0)
        goto fail;
    if (drop_table(db, table, &snapshots, err) < 0 ||
        sqlutil_exec(db, "COMMIT", err, "commit") < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    sqlite3_close(db);
    reply->ok = true;
    reply->count = snapshots;
    snprintf(reply->message, sizeof reply->message, "%s.gold.%s dropped (%lld snapshots)", domain,
             table, (long long)snapshots);
    log_info("gold_dropped table=%s.gold.%s snapshots=%lld", domain, table, (long long)snapshots);
    return 0;
fail:
    sqlite3_close(db);
    return error_prefix(err, "drop %s.gold.%s", domain, table);
}

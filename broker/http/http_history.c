/* http_history.c - the history of a silver or gold table (DESCRIBE HISTORY):
 *   GET /tables/{domain}/silver/{table}/history[?limit=N]
 *   GET /tables/{domain}/gold/{table}/history[?limit=N]
 *   -> {"domain","layer":"silver"|"gold","table","history":[{snapshot_id,
 *       committed_at, operation, source, rows_inserted, rows_updated,
 *       rows_unchanged, rows_deleted, schema_version}, ...]}   newest first
 * 404 when the domain or table has no snapshots. Time travel, the change feed
 * and the SCD2 view are query forms (timetravel.h) served by /consumption/query. */
#include "http_internal.h"

#include <stdlib.h>
#include <string.h>

#include "timetravel.h"

static void http_history_layer(struct http_request *req, struct http_reply *reply,
                               enum sqlref_layer layer)
{
    char err[ERROR_MAX];
    const char *limit_arg = http_request_arg(req, "limit");
    long long limit = 0;
    if (limit_arg != NULL) {
        char *end = NULL;
        limit = strtoll(limit_arg, &end, 10);
        if (limit_arg[0] == '\0' || *end != '\0' || limit <= 0) {
            http_reply_error(reply, 400, "limit must be a positive number, got '%.40s'",
                             limit_arg);
            return;
        }
    }
    json_t *list = NULL;
    int rc = timetravel_history(req->cfg->data_dir, layer, req->params[0], req->params[1], limit,
                                &list, err);
    if (rc != 0) {
        http_reply_failure(reply, rc, err);
        return;
    }
    http_reply_json(reply, 200,
                    json_pack("{s:s, s:s, s:s, s:o}", "domain", req->params[0], "layer",
                              sqlref_layer_name(layer), "table", req->params[1], "history", list));
}

void http_history_list(struct http_request *req, struct http_reply *reply)
{
    http_history_layer(req, reply, SQLREF_SILVER);
}

void http_history_list_gold(struct http_request *req, struct http_reply *reply)
{
    http_history_layer(req, reply, SQLREF_GOLD);
}

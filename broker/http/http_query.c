/* http_query.c - the query API (/consumption...), on top of query.h:
 *   GET  /consumption/query?sql=...   (or POST with {"sql": "..."})
 *        -> {data:[...], row_count, columns, truncated}
 *   GET  /consumption/tables -> [{domain, layer, table, rows, snapshot_id,
 *        last_commit}] for bronze (bronze_vtab.h, plus files and
 *        files_pending), silver and gold, by domain, layer, table
 * Read-only-ness, the time limit (query_timeout_ms) and the row limit
 * (query_max_rows) are enforced by query.c with the engine's own means; here
 * only the answer codes are chosen: 400 for anything wrong with the SQL,
 * 422 when it needed more than query_max_memory_mib, 504 when it ran out of
 * time, 503 + Retry-After when query_max_concurrent queries are running. */
#include "http_internal.h"

#include <string.h>

#include "read/bronze_vtab.h"
#include "read/query.h"

void http_query_run(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    json_t *body = NULL;
    const char *sql = http_request_arg(req, "sql");
    if (strcmp(req->method, "POST") == 0) {
        if ((body = http_body_json(req, reply)) == NULL)
            return;
        sql = json_string_value(json_object_get(body, "sql"));
    }
    if (sql == NULL || sql[0] == '\0') {
        http_reply_error(reply, 400, "missing SQL: GET /consumption/query?sql=... or POST "
                                     "{\"sql\": \"...\"}");
        json_decref(body);
        return;
    }
    if (!http_server_query_enter(req->server)) {
        http_reply_error(reply, 503, "%lld queries are running, the most allowed at once "
                                     "(query_max_concurrent); retry later",
                         (long long)req->cfg->query_max_concurrent);
        reply->retry_after = 1;
        json_decref(body);
        return;
    }
    struct query_limits limits = {.timeout_ms = req->cfg->query_timeout_ms,
                                  .max_rows = req->cfg->query_max_rows,
                                  .max_memory_mib = req->cfg->query_max_memory_mib};
    json_t *result = NULL;
    int rc = query_run(req->cfg->data_dir, sql, &limits, &result, err);
    http_server_query_leave(req->server);
    if (rc < 0)
        http_reply_failure(reply, rc, err);
    else
        http_reply_json(reply, 200, result);
    json_decref(body);
}

/* The same list as `lakehouse tables`: bronze_vtab_add_tables adds the
 * bronze entries and sorts the whole list. */
void http_query_tables(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    json_t *result = NULL;
    if (query_list_tables(req->cfg->data_dir, &result, err) < 0 ||
        bronze_vtab_add_tables(req->cfg->data_dir, result, err) < 0) {
        json_decref(result);
        http_reply_error(reply, 500, "%s", err);
        return;
    }
    http_reply_json(reply, 200, result);
}

/* http_query.c - the query API (/consumption...), on top of query.h:
 *   GET  /consumption/query?sql=...   (or POST with {"sql": "..."})
 *        -> {data:[...], row_count, columns, truncated}
 *   GET  /consumption/tables -> [{domain, layer, table, rows, snapshot_id,
 *        last_commit}] for bronze (http_bronze.c, plus files and
 *        files_pending), silver and gold, by domain, layer, table
 * Read-only-ness, the time limit (query_timeout_ms) and the row limit
 * (query_max_rows) are enforced by query.c with the engine's own means; here
 * only the answer codes are chosen: 400 for anything wrong with the SQL,
 * 504 when it ran out of time. */
#include "http_internal.h"

#include <stdlib.h>
#include <string.h>

#include "query.h"

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
    struct query_limits limits = {.timeout_ms = req->cfg->query_timeout_ms,
                                  .max_rows = req->cfg->query_max_rows};
    json_t *result = NULL;
    if (query_run(req->cfg->data_dir, sql, &limits, &result, err) < 0)
        http_reply_error(reply, strstr(err, "time limit") ? 504 : 400, "%s", err);
    else
        http_reply_json(reply, 200, result);
    json_decref(body);
}

static int http_layer_rank(const char *layer)
{
    return strcmp(layer, "bronze") == 0 ? 0 : strcmp(layer, "silver") == 0 ? 1 : 2;
}

static int http_table_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "domain")),
                   json_string_value(json_object_get(y, "domain")));
    if (c == 0)
        c = http_layer_rank(json_string_value(json_object_get(x, "layer"))) -
            http_layer_rank(json_string_value(json_object_get(y, "layer")));
    if (c == 0)
        c = strcmp(json_string_value(json_object_get(x, "table")),
                   json_string_value(json_object_get(y, "table")));
    return c;
}

void http_query_tables(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    json_t *result = NULL;
    if (query_list_tables(req->cfg->data_dir, &result, err) < 0) {
        http_reply_error(reply, 500, "%s", err);
        return;
    }
    http_bronze_tables(req->cfg->data_dir, result);
    size_t n = json_array_size(result);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    if (items == NULL) {
        json_decref(result);
        http_reply_error(reply, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(result, i));
    qsort(items, n, sizeof *items, http_table_cmp);
    json_array_clear(result);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(result, items[i]);
    free(items);
    http_reply_json(reply, 200, result);
}

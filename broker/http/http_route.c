/* http_route.c - the route table of the HTTP API and dispatch.
 *
 * A pattern is a path whose "{kind}" parts match one segment; each such part
 * must be a valid object name (names.h) and is copied into req->params in
 * order, so handlers never see an unchecked name. A path that matches some
 * pattern but not with this method is answered 405 with an Allow header;
 * any other path 404. */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_SEGMENTS_MAX 8

struct http_route {
    const char *method;
    const char *pattern;
    http_handler handler;
};

static const struct http_route http_routes[] = {
    {"GET", "/", http_health},
    {"GET", "/health", http_health},
    {"GET", "/metrics", http_metrics},
    {"POST", "/endpoints/infer", http_endpoints_infer},
    {"POST", "/endpoints", http_endpoints_create},
    {"GET", "/endpoints", http_endpoints_list},
    {"GET", "/endpoints/{domain}/{endpoint}", http_endpoints_get},
    {"PUT", "/endpoints/{domain}/{endpoint}", http_endpoints_update},
    {"DELETE", "/endpoints/{domain}/{endpoint}", http_endpoints_delete},
    {"GET", "/endpoints/{domain}/{endpoint}/versions", http_endpoints_versions},
    {"GET", "/endpoints/{domain}/{endpoint}/yaml", http_endpoints_yaml},
    {"GET", "/endpoints/{domain}/{endpoint}/download", http_endpoints_download},
    {"POST", "/ingest/{domain}/{endpoint}", http_ingest_one},
    {"POST", "/ingest/{domain}/{endpoint}/batch", http_ingest_batch},
    {"GET", "/consumption/query", http_query_run},
    {"POST", "/consumption/query", http_query_run},
    {"GET", "/consumption/tables", http_query_tables},
    {"GET", "/tables/{domain}/silver/{table}/history", http_history_list},
    {"GET", "/tables/{domain}/gold/{table}/history", http_history_list_gold},
    {"POST", "/transform/jobs", http_jobs_create},
    {"GET", "/transform/jobs", http_jobs_list},
    {"GET", "/transform/jobs/{domain}/{job}", http_jobs_get},
    {"PUT", "/transform/jobs/{domain}/{job}", http_jobs_update},
    {"DELETE", "/transform/jobs/{domain}/{job}", http_jobs_delete},
    {"POST", "/transform/jobs/{domain}/{job}/run", http_jobs_run},
    {"GET", "/transform/executions", http_jobs_executions},
    {"GET", "/transform/executions/{execution_id}", http_jobs_execution},
    {"GET", "/status", http_ops_status},
    {"POST", "/tables/{domain}/silver/{table}/rollback", http_ops_rollback},
    {"POST", "/tables/{domain}/gold/{table}/rollback", http_ops_rollback_gold},
    {"POST", "/replay", http_replay_start},
    {"GET", "/replay/{replay_id}", http_replay_get},
    {"POST", "/maintenance/expire", http_ops_maintenance},
    {"POST", "/maintenance/compact", http_ops_maintenance},
    {"POST", "/export", http_ops_maintenance},
    {"POST", "/config/check", http_ops_config_check},
    {"GET", "/lineage/graph", http_lineage_graph},
    {"GET", "/tables/{domain}/gold/{table}/lineage", http_lineage_gold},
    {"GET", "/tables/{domain}/{endpoint}/rejected", http_rejected_list},
    {"GET", "/tables/{domain}/silver/{table}/quarantine", http_rejected_quarantine},
    {"GET", "/events", http_events_stream},
    {"PUT", "/models/{name}", http_models_put},
    {"GET", "/models", http_models_list},
    {"GET", "/models/{name}", http_models_get},
    {"GET", "/models/{name}/plan", http_models_plan},
    {"GET", "/models/{name}/docs", http_models_docs},
    {"DELETE", "/models/{name}", http_models_delete},
    {"GET", "/iceberg/v1/config", http_iceberg_config},
    {"GET", "/iceberg/v1/{prefix}/namespaces", http_iceberg_namespaces},
    {"GET", "/iceberg/v1/{prefix}/namespaces/{namespace}", http_iceberg_namespace},
    {"HEAD", "/iceberg/v1/{prefix}/namespaces/{namespace}", http_iceberg_namespace},
    {"GET", "/iceberg/v1/{prefix}/namespaces/{namespace}/tables", http_iceberg_tables},
    {"GET", "/iceberg/v1/{prefix}/namespaces/{namespace}/tables/{table}", http_iceberg_table},
    {"HEAD", "/iceberg/v1/{prefix}/namespaces/{namespace}/tables/{table}", http_iceberg_table},
};
#define HTTP_ROUTE_COUNT (sizeof http_routes / sizeof http_routes[0])

/* Split "/a/b/c" (a trailing '/' is ignored) into at most max segments of
 * buf. Returns the count, or -1 when there are too many or one is empty. */
static int http_split(const char *path, char *buf, size_t size, char **seg, int max)
{
    snprintf(buf, size, "%s", path);
    size_t n = strlen(buf);
    if (n > 1 && buf[n - 1] == '/')
        buf[n - 1] = '\0';
    int count = 0;
    char *p = buf[0] == '/' ? buf + 1 : buf;
    if (*p == '\0')
        return 0;
    for (;;) {
        if (count == max)
            return -1;
        seg[count++] = p;
        char *slash = strchr(p, '/');
        if (slash == NULL)
            break;
        *slash = '\0';
        p = slash + 1;
        if (*p == '\0')
            return -1;
    }
    return count;
}

/* 1 when path segments fit the pattern (params are not checked here). */
static int http_match(const char *pattern, char **seg, int nseg)
{
    char buf[256];
    char *pat[HTTP_SEGMENTS_MAX];
    int npat = http_split(pattern, buf, sizeof buf, pat, HTTP_SEGMENTS_MAX);
    if (npat != nseg)
        return 0;
    for (int i = 0; i < npat; i++)
        if (pat[i][0] != '{' && strcmp(pat[i], seg[i]) != 0)
            return 0;
    return 1;
}

/* Copy the {} segments into req->params; ids ({execution_id}, {replay_id})
 * are numbers, every other one an object name. */
static int http_params(const struct http_route *route, char **seg, struct http_request *req,
                       struct http_reply *reply)
{
    char buf[256];
    char *pat[HTTP_SEGMENTS_MAX];
    int npat = http_split(route->pattern, buf, sizeof buf, pat, HTTP_SEGMENTS_MAX);
    int k = 0;
    for (int i = 0; i < npat && k < HTTP_PARAMS_MAX; i++) {
        if (pat[i][0] != '{')
            continue;
        char kind[32];
        snprintf(kind, sizeof kind, "%.*s", (int)strlen(pat[i]) - 2, pat[i] + 1);
        size_t klen = strlen(kind);
        if (klen > 3 && strcmp(kind + klen - 3, "_id") == 0) {
            if (strlen(seg[i]) >= NAMES_MAX || strspn(seg[i], "0123456789") != strlen(seg[i])) {
                http_reply_error(reply, 400, "%.*s id '%.80s' is not a number", (int)klen - 3,
                                 kind, seg[i]);
                return -1;
            }
        } else {
            char err[ERROR_MAX];
            if (names_check_object(kind, seg[i], err) < 0) {
                if (strncmp(route->pattern, "/iceberg/", 9) == 0)
                    http_iceberg_error(reply, 404,
                                       strcmp(kind, "table") == 0 ? "NoSuchTableException"
                                                                  : "NoSuchNamespaceException",
                                       "%s", err);
                else
                    http_reply_error(reply, 400, "%s", err);
                return -1;
            }
        }
        snprintf(req->params[k++], NAMES_MAX, "%s", seg[i]);
    }
    return 0;
}

void http_route_dispatch(struct http_request *req, struct http_reply *reply)
{
    char buf[1024];
    char *seg[HTTP_SEGMENTS_MAX];
    int nseg = strlen(req->path) < sizeof buf
                   ? http_split(req->path, buf, sizeof buf, seg, HTTP_SEGMENTS_MAX)
                   : -1;
    const struct http_route *found = NULL;
    char allow[64] = "";
    for (size_t i = 0; nseg >= 0 && i < HTTP_ROUTE_COUNT; i++) {
        if (!http_match(http_routes[i].pattern, seg, nseg))
            continue;
        /* A literal route (e.g. /endpoints/infer) wins over a {} one. */
        if (strcmp(http_routes[i].method, req->method) == 0) {
            found = &http_routes[i];
            break;
        }
        if (strstr(allow, http_routes[i].method) == NULL)
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", http_routes[i].method);
    }
    if (found == NULL && allow[0] != '\0') {
        http_reply_error(reply, 405, "method %s not allowed on %s (allowed: %s)", req->method,
                         req->path, allow);
        snprintf(reply->allow, sizeof reply->allow, "%s", allow);
        return;
    }
    if (found == NULL) {
        http_reply_error(reply, 404, "no such route: %s %.200s", req->method, req->path);
        return;
    }
    if (http_params(found, seg, req, reply) < 0)
        return;
    found->handler(req, reply);
}

/* http_ops.c - the operator routes: what `lakehouse status`, `rollback`,
 * `expire`, `compact`, `export` and `config check` do, over HTTP (health.h,
 * ops.h):
 *   GET  /status                                   = lakehouse status --json
 *   POST /tables/{domain}/silver/{table}/rollback  {"snapshot_id": N} -> 200 the new snapshot
 *   POST /tables/{domain}/gold/{table}/rollback    -> 409 (gold is rewritten by its job)
 *   POST /maintenance/expire  {"table":"d[/t]","dry_run":bool}
 *   POST /maintenance/compact {"table":"d[/t]","date":"YYYY-MM-DD"}
 *   POST /export {"domain","table","wait":bool}   -> 200 what was exported
 *   POST /config/check (a configuration file)     -> 200 {"ok","problems"}
 * (/replay: http_replay.c). Rollback, expire, compact and export wait for a
 * worker that may take minutes: they answer through http_defer, on a thread
 * of their own rather than a handler worker (http_long.c). Failures answer
 * with the status of their error kind (http_status_of). */
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "read/health.h"
#include "log.h"
#include "read/ops.h"
#include "timeutil.h"

#define HTTP_STATUS_LAG_MS 10000 /* as `lakehouse status` (--lag-seconds 10) */

void http_ops_status(struct http_request *req, struct http_reply *reply)
{
    const char *lag = http_request_arg(req, "lag_seconds");
    double lag_s = HTTP_STATUS_LAG_MS / 1000.0;
    if (lag != NULL) {
        char *end = NULL;
        lag_s = strtod(lag, &end);
        if (lag[0] == '\0' || *end != '\0' || lag_s < 0) {
            http_reply_error(reply, 400, "lag_seconds must be a number of seconds >= 0, got "
                                         "'%.40s'", lag);
            return;
        }
    }
    json_t *out = NULL;
    char err[ERROR_MAX];
    if (health_status(req->cfg->data_dir, (int64_t)(lag_s * 1000), &out, err) != 0) {
        http_reply_error(reply, 500, "%s", err);
        return;
    }
    http_reply_json(reply, 200, out);
}

/* The body as a JSON object (400 otherwise); new reference or NULL. */
json_t *http_ops_body(const struct http_request *req, struct http_reply *reply,
                             bool optional)
{
    if (optional && req->body_len == 0)
        return json_object();
    json_t *body = http_body_json(req, reply);
    if (body != NULL && !json_is_object(body)) {
        json_decref(body);
        http_reply_error(reply, 400, "expected a JSON object as the body");
        return NULL;
    }
    return body;
}

/* Optional string field: 1 set, 0 absent or null, -1 after a 400. */
int http_ops_string(json_t *body, const char *key, struct http_reply *reply,
                           const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        http_reply_error(reply, 400, "\"%s\" must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

/* Optional "YYYY-MM-DD" field into out ("" when absent). */
int http_ops_date(json_t *body, const char *key, struct http_reply *reply, char out[16])
{
    const char *text;
    char err[ERROR_MAX], norm[16];
    out[0] = '\0';
    int rc = http_ops_string(body, key, reply, &text);
    if (rc <= 0)
        return rc;
    if (strlen(text) != 10 || timeutil_normalize_date(text, NULL, norm, err) != 0 ||
        strcmp(norm, text) != 0) {
        http_reply_error(reply, 400, "\"%s\": expected a date YYYY-MM-DD, got '%.40s'", key,
                         text);
        return -1;
    }
    snprintf(out, 16, "%s", text);
    return 0;
}

/* "table": "DOMAIN" or "DOMAIN/TABLE" (absent: everything). */
int http_ops_scope(json_t *body, struct http_reply *reply, char domain[NAMES_MAX],
                          char table[NAMES_MAX])
{
    const char *text;
    char err[ERROR_MAX];
    domain[0] = table[0] = '\0';
    int rc = http_ops_string(body, "table", reply, &text);
    if (rc <= 0)
        return rc;
    const char *slash = strchr(text, '/');
    size_t dlen = slash ? (size_t)(slash - text) : strlen(text);
    if (dlen >= NAMES_MAX || (slash && strlen(slash + 1) >= NAMES_MAX)) {
        http_reply_error(reply, 400, "\"table\": expected DOMAIN or DOMAIN/TABLE, got '%.80s'",
                         text);
        return -1;
    }
    memcpy(domain, text, dlen);
    domain[dlen] = '\0';
    if (slash)
        snprintf(table, NAMES_MAX, "%s", slash + 1);
    if (names_check_object("domain", domain, err) != 0 ||
        (slash && names_check_object("table", table, err) != 0)) {
        http_reply_error(reply, 400, "\"table\": %s", err);
        return -1;
    }
    return 0;
}

int http_ops_target(json_t *body, struct http_reply *reply, char domain[NAMES_MAX],
                    char table[NAMES_MAX])
{
    const char *d, *t;
    char err[ERROR_MAX];
    domain[0] = table[0] = '\0';
    if (http_ops_string(body, "domain", reply, &d) < 0 ||
        http_ops_string(body, "table", reply, &t) < 0)
        return -1;
    if (t != NULL && d == NULL) {
        http_reply_error(reply, 400, "\"table\" needs \"domain\"");
        return -1;
    }
    if ((d && names_check_object("domain", d, err) != 0) ||
        (t && names_check_object("table", t, err) != 0)) {
        http_reply_error(reply, 400, "%s", err);
        return -1;
    }
    snprintf(domain, NAMES_MAX, "%s", d ? d : "");
    snprintf(table, NAMES_MAX, "%s", t ? t : "");
    return 0;
}

/* ---- the deferred worker calls ---- */

enum http_ops_kind { HTTP_OPS_ROLLBACK, HTTP_OPS_EXPIRE, HTTP_OPS_COMPACT, HTTP_OPS_EXPORT };

/* What the call's thread needs: copies only, the request is gone by then. */
struct http_ops_call {
    enum http_ops_kind kind;
    void *zmq;
    const struct config *cfg;
    char domain[NAMES_MAX], table[NAMES_MAX];
    int64_t snapshot; /* rollback */
    bool dry_run;     /* expire */
    char date[16];    /* compact */
};

static void http_ops_call_run(void *arg, struct http_reply *out)
{
    struct http_ops_call *c = arg;
    json_t *answer = NULL;
    char err[ERROR_MAX];
    int rc = 0;
    switch (c->kind) {
    case HTTP_OPS_ROLLBACK:
        rc = ops_rollback(c->zmq, c->cfg, c->domain, c->table, c->snapshot, &answer, err);
        if (rc == 0)
            log_info("http rollback table=%s.%s snapshot_id=%lld", c->domain, c->table,
                     (long long)json_integer_value(json_object_get(answer, "snapshot_id")));
        break;
    case HTTP_OPS_EXPIRE:
        rc = ops_expire(c->zmq, c->cfg, c->domain, c->table, c->dry_run, &answer, err);
        break;
    case HTTP_OPS_COMPACT:
        rc = ops_compact(c->zmq, c->cfg, c->domain, c->table, c->date, &answer, err);
        break;
    case HTTP_OPS_EXPORT:
        rc = ops_export(c->zmq, c->cfg, c->domain, c->table, &answer, err);
        break;
    }
    if (rc == 0)
        http_reply_json(out, 200, answer);
    else
        http_reply_failure(out, rc, err);
}

/* A call of kind for this request, or NULL (out of memory). */
static struct http_ops_call *http_ops_call_new(const struct http_request *req,
                                               enum http_ops_kind kind)
{
    struct http_ops_call *c = calloc(1, sizeof *c);
    if (c != NULL) {
        c->kind = kind;
        c->zmq = http_server_zmq(req->server);
        c->cfg = req->cfg;
    }
    return c;
}

/* Answer later with the call's result (http_long.c); takes c and body. */
static void http_ops_defer(struct http_reply *reply, struct http_ops_call *c, json_t *body)
{
    json_decref(body);
    http_defer(reply, http_ops_call_run, free, c);
}

void http_ops_rollback(struct http_request *req, struct http_reply *reply)
{
    json_t *body = http_ops_body(req, reply, false);
    if (body == NULL)
        return;
    json_t *snap = json_object_get(body, "snapshot_id");
    if (!json_is_integer(snap) || json_integer_value(snap) <= 0) {
        http_reply_error(reply, 400, "\"snapshot_id\" must be a positive integer");
        json_decref(body);
        return;
    }
    struct http_ops_call *c = http_ops_call_new(req, HTTP_OPS_ROLLBACK);
    if (c != NULL) {
        snprintf(c->domain, sizeof c->domain, "%s", req->params[0]);
        snprintf(c->table, sizeof c->table, "%s", req->params[1]);
        c->snapshot = json_integer_value(snap);
    }
    http_ops_defer(reply, c, body);
}

void http_ops_rollback_gold(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    ops_rollback_gold_reason(req->params[0], req->params[1], err);
    http_reply_error(reply, http_status_of(ERROR_CONFLICT), "%s", err);
}

/* ---- maintenance, export ---- */

/* Optional boolean field into *out; -1 after a 400. */
static int http_ops_bool(json_t *body, const char *key, struct http_reply *reply, bool *out)
{
    json_t *v = json_object_get(body, key);
    if (v != NULL && !json_is_boolean(v)) {
        http_reply_error(reply, 400, "\"%s\" must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* The fields of each maintenance request into c; -1 after a 400. */
static int http_ops_fields(json_t *body, struct http_reply *reply, struct http_ops_call *c)
{
    bool wait;
    switch (c->kind) {
    case HTTP_OPS_EXPIRE:
        return http_ops_bool(body, "dry_run", reply, &c->dry_run) < 0 ||
                       http_ops_scope(body, reply, c->domain, c->table) < 0
                   ? -1
                   : 0;
    case HTTP_OPS_COMPACT:
        return http_ops_scope(body, reply, c->domain, c->table) < 0 ||
                       http_ops_date(body, "date", reply, c->date) < 0
                   ? -1
                   : 0;
    case HTTP_OPS_EXPORT:
        /* "wait" is accepted as `lakehouse export --wait` is: the workers
         * answer when the export is done, so the answer always comes then */
        return http_ops_bool(body, "wait", reply, &wait) < 0 ||
                       http_ops_target(body, reply, c->domain, c->table) < 0
                   ? -1
                   : 0;
    case HTTP_OPS_ROLLBACK: break;
    }
    return 0;
}

/* POST /maintenance/expire, /maintenance/compact and /export: checked now,
 * answered when the worker is done; which one is read from the path. */
void http_ops_maintenance(struct http_request *req, struct http_reply *reply)
{
    static const struct {
        const char *path;
        enum http_ops_kind kind;
    } kinds[] = {
        {"/maintenance/expire", HTTP_OPS_EXPIRE},
        {"/maintenance/compact", HTTP_OPS_COMPACT},
        {"/export", HTTP_OPS_EXPORT},
    };
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] - 1 && strcmp(req->path, kinds[k].path) != 0)
        k++;
    json_t *body = http_ops_body(req, reply, true);
    if (body == NULL)
        return;
    struct http_ops_call *c = http_ops_call_new(req, kinds[k].kind);
    if (c != NULL && http_ops_fields(body, reply, c) < 0) {
        free(c);
        json_decref(body);
        return;
    }
    http_ops_defer(reply, c, body);
}

/* ---- configuration ---- */

/* The body is a configuration file: it is checked as one, from a private
 * temporary file (config_check_file reads a path). */
void http_ops_config_check(struct http_request *req, struct http_reply *reply)
{
    char path[] = "/tmp/lakehouse-config-check-XXXXXX";
    char err[ERROR_MAX];
    int fd = mkstemp(path);
    if (fd < 0) {
        http_reply_error(reply, 500, "config check: temporary file: %s", strerror(errno));
        return;
    }
    int rc = fsutil_write_all(fd, req->body, req->body_len, err);
    close(fd);
    json_t *out = NULL;
    if (rc == 0)
        rc = ops_config_check(path, &out, err);
    unlink(path);
    if (rc != 0)
        http_reply_failure(reply, rc, err);
    else
        http_reply_json(reply, 200, out);
}

/* http_ops.c - the operator routes: what `lakehouse status`, `rollback`,
 * `replay`, `expire` and `compact` do, over HTTP (health.h, ops.h):
 *   GET  /status                                   = lakehouse status --json
 *   POST /tables/{domain}/silver/{table}/rollback  {"snapshot_id": N} -> 200 the new snapshot
 *   POST /tables/{domain}/gold/{table}/rollback    -> 409 (gold is rewritten by its job)
 *   POST /replay  {"domain","table","from","to"}   -> 202 {"id","status":"running",...}
 *   GET  /replay/{replay_id}                       -> the replay's progress and result
 *   POST /maintenance/expire  {"table":"d[/t]","dry_run":bool}
 *   POST /maintenance/compact {"table":"d[/t]","date":"YYYY-MM-DD"}
 * A replay runs in a thread of its own (it can take hours) and only one at a
 * time (the processor does one anyway); the last HTTP_REPLAYS_KEPT are kept
 * for GET /replay/{id}, in memory (a broker restart forgets them). */
#include "http_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "log.h"
#include "ops.h"
#include "timeutil.h"

#define HTTP_STATUS_LAG_MS 10000 /* as `lakehouse status` (--lag-seconds 10) */
#define HTTP_REPLAYS_KEPT 32

/* ops_status -> HTTP status */
static unsigned http_ops_code(enum ops_status st)
{
    switch (st) {
    case OPS_OK: return 200;
    case OPS_NOT_FOUND: return 404;
    case OPS_CONFLICT: return 409;
    case OPS_UNAVAILABLE: break;
    }
    return 503;
}

static void http_ops_fail(struct http_reply *reply, enum ops_status st, const char *err)
{
    http_reply_error(reply, http_ops_code(st), "%s", err);
    if (st == OPS_UNAVAILABLE)
        reply->retry_after = 5;
}

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
static json_t *http_ops_body(const struct http_request *req, struct http_reply *reply,
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
static int http_ops_string(json_t *body, const char *key, struct http_reply *reply,
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
static int http_ops_date(json_t *body, const char *key, struct http_reply *reply, char out[16])
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
static int http_ops_scope(json_t *body, struct http_reply *reply, char domain[NAMES_MAX],
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

void http_ops_rollback(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    json_t *body = http_ops_body(req, reply, false);
    if (body == NULL)
        return;
    json_t *snap = json_object_get(body, "snapshot_id");
    if (!json_is_integer(snap) || json_integer_value(snap) <= 0) {
        http_reply_error(reply, 400, "\"snapshot_id\" must be a positive integer");
        json_decref(body);
        return;
    }
    json_t *out = NULL;
    enum ops_status st = ops_rollback(http_server_zmq(req->server), req->cfg, req->params[0],
                                      req->params[1], json_integer_value(snap), &out, err);
    json_decref(body);
    if (st != OPS_OK) {
        http_ops_fail(reply, st, err);
        return;
    }
    log_info("http rollback table=%s.%s snapshot_id=%lld", req->params[0], req->params[1],
             (long long)json_integer_value(json_object_get(out, "snapshot_id")));
    http_reply_json(reply, 200, out);
}

void http_ops_rollback_gold(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    ops_rollback_gold_reason(req->params[0], req->params[1], err);
    http_reply_error(reply, 409, "%s", err);
}

/* ---- replay ---- */

struct http_replay {
    int64_t id;                /* 0 = free slot */
    char domain[NAMES_MAX], table[NAMES_MAX], from[16], to[16];
    char status[16];           /* running | succeeded | failed */
    int64_t started_ms, finished_ms;
    json_t *result;            /* ops_replay's answer, when succeeded */
    char error[ERROR_MAX];
};

/* Shared by the request threads and the replay threads, under the lock. */
static struct {
    pthread_mutex_t lock;
    struct http_replay items[HTTP_REPLAYS_KEPT];
    int64_t next_id;
} http_replays = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_id = 1};

struct http_replay_job {
    void *zmq;
    const struct config *cfg;
    struct control_request req;
    int64_t id;
};

static struct http_replay *http_replay_find(int64_t id)
{
    for (size_t i = 0; i < HTTP_REPLAYS_KEPT; i++)
        if (http_replays.items[i].id == id)
            return &http_replays.items[i];
    return NULL;
}

static void *http_replay_run(void *arg)
{
    struct http_replay_job *job = arg;
    json_t *out = NULL;
    char err[ERROR_MAX] = "";
    enum ops_status st = ops_replay(job->zmq, job->cfg, &job->req, &out, err);
    pthread_mutex_lock(&http_replays.lock);
    struct http_replay *r = http_replay_find(job->id);
    if (r != NULL) {
        snprintf(r->status, sizeof r->status, "%s", st == OPS_OK ? "succeeded" : "failed");
        r->finished_ms = timeutil_now_ms();
        r->result = out;
        out = NULL;
        snprintf(r->error, sizeof r->error, "%s", st == OPS_OK ? "" : err);
    }
    pthread_mutex_unlock(&http_replays.lock);
    log_info("http replay_done id=%lld ok=%d", (long long)job->id, st == OPS_OK);
    json_decref(out);
    free(job);
    return NULL;
}

static json_t *http_replay_json(const struct http_replay *r)
{
    char started[TIMEUTIL_TIMESTAMP_MAX], finished[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(r->started_ms, started);
    timeutil_format_utc_ms(r->finished_ms, finished);
    int64_t end = r->finished_ms ? r->finished_ms : timeutil_now_ms();
    json_t *o = json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:s?, s:I}", "id",
                          (json_int_t)r->id, "status", r->status, "domain",
                          r->domain[0] ? r->domain : NULL, "table", r->table[0] ? r->table : NULL,
                          "from", r->from[0] ? r->from : NULL, "to", r->to[0] ? r->to : NULL,
                          "started_at", started, "finished_at",
                          r->finished_ms ? finished : NULL, "elapsed_ms",
                          (json_int_t)(end - r->started_ms));
    if (o == NULL)
        return NULL;
    if (r->result != NULL) {
        json_object_set(o, "files_merged", json_object_get(r->result, "files_merged"));
        json_object_set(o, "message", json_object_get(r->result, "message"));
    }
    if (r->error[0])
        json_object_set_new(o, "error", json_string(r->error));
    return o;
}

void http_ops_replay(struct http_request *req, struct http_reply *reply)
{
    json_t *body = http_ops_body(req, reply, true);
    if (body == NULL)
        return;
    struct http_replay_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        json_decref(body);
        http_reply_error(reply, 500, "out of memory");
        return;
    }
    job->zmq = http_server_zmq(req->server);
    job->cfg = req->cfg;
    snprintf(job->req.cmd, sizeof job->req.cmd, "replay");
    const char *domain, *table;
    char err[ERROR_MAX];
    if (http_ops_string(body, "domain", reply, &domain) < 0 ||
        http_ops_string(body, "table", reply, &table) < 0 ||
        http_ops_date(body, "from", reply, job->req.from) < 0 ||
        http_ops_date(body, "to", reply, job->req.to) < 0)
        goto fail;
    if (table != NULL && domain == NULL) {
        http_reply_error(reply, 400, "\"table\" needs \"domain\"");
        goto fail;
    }
    if ((domain && names_check_object("domain", domain, err) != 0) ||
        (table && names_check_object("table", table, err) != 0)) {
        http_reply_error(reply, 400, "%s", err);
        goto fail;
    }
    snprintf(job->req.domain, sizeof job->req.domain, "%s", domain ? domain : "");
    snprintf(job->req.name, sizeof job->req.name, "%s", table ? table : "");
    if (job->req.from[0] && job->req.to[0] && strcmp(job->req.from, job->req.to) > 0) {
        http_reply_error(reply, 400, "\"from\" %s is after \"to\" %s", job->req.from,
                         job->req.to);
        goto fail;
    }
    if (!ops_endpoint_present(req->cfg->processor_control_endpoint)) {
        http_reply_error(reply, 503, "the processor is not running (nothing listens on %s)",
                         req->cfg->processor_control_endpoint + 6);
        reply->retry_after = 5;
        goto fail;
    }
    pthread_mutex_lock(&http_replays.lock);
    struct http_replay *slot = NULL;
    for (size_t i = 0; i < HTTP_REPLAYS_KEPT; i++) {
        struct http_replay *r = &http_replays.items[i];
        if (r->id != 0 && strcmp(r->status, "running") == 0) {
            pthread_mutex_unlock(&http_replays.lock);
            http_reply_error(reply, 409, "replay %lld is still running (GET /replay/%lld)",
                             (long long)r->id, (long long)r->id);
            goto fail;
        }
        if (slot == NULL || r->id < slot->id) /* free, else the oldest */
            slot = r;
    }
    json_decref(slot->result);
    memset(slot, 0, sizeof *slot);
    slot->id = job->id = http_replays.next_id++;
    snprintf(slot->domain, sizeof slot->domain, "%s", job->req.domain);
    snprintf(slot->table, sizeof slot->table, "%s", job->req.name);
    snprintf(slot->from, sizeof slot->from, "%s", job->req.from);
    snprintf(slot->to, sizeof slot->to, "%s", job->req.to);
    snprintf(slot->status, sizeof slot->status, "running");
    slot->started_ms = timeutil_now_ms();
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&thread, &attr, http_replay_run, job);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        snprintf(slot->status, sizeof slot->status, "failed");
        snprintf(slot->error, sizeof slot->error, "could not start a thread: %s", strerror(rc));
        slot->finished_ms = timeutil_now_ms();
    }
    json_t *out = http_replay_json(slot);
    pthread_mutex_unlock(&http_replays.lock);
    json_decref(body);
    if (rc != 0) {
        free(job);
        json_decref(out);
        http_reply_error(reply, 503, "replay: could not start a thread: %s", strerror(rc));
        return;
    }
    log_info("http replay_start id=%lld domain=%s table=%s from=%s to=%s", (long long)job->id,
             job->req.domain, job->req.name, job->req.from, job->req.to);
    http_reply_json(reply, 202, out);
    return;
fail:
    free(job);
    json_decref(body);
}

void http_ops_replay_get(struct http_request *req, struct http_reply *reply)
{
    int64_t id = strtoll(req->params[0], NULL, 10);
    pthread_mutex_lock(&http_replays.lock);
    struct http_replay *r = id > 0 ? http_replay_find(id) : NULL;
    json_t *out = r != NULL ? http_replay_json(r) : NULL;
    pthread_mutex_unlock(&http_replays.lock);
    if (r == NULL) {
        http_reply_error(reply, 404, "no replay %s (the last %d are kept until the broker "
                                     "restarts)", req->params[0], HTTP_REPLAYS_KEPT);
        return;
    }
    http_reply_json(reply, 200, out);
}

/* ---- maintenance ---- */

void http_ops_expire(struct http_request *req, struct http_reply *reply)
{
    char domain[NAMES_MAX], table[NAMES_MAX], err[ERROR_MAX];
    json_t *body = http_ops_body(req, reply, true);
    if (body == NULL)
        return;
    json_t *dry = json_object_get(body, "dry_run");
    if (dry != NULL && !json_is_boolean(dry)) {
        http_reply_error(reply, 400, "\"dry_run\" must be true or false");
        json_decref(body);
        return;
    }
    if (http_ops_scope(body, reply, domain, table) < 0) {
        json_decref(body);
        return;
    }
    json_t *out = NULL;
    enum ops_status st = ops_expire(http_server_zmq(req->server), req->cfg, domain, table,
                                    json_is_true(dry), &out, err);
    json_decref(body);
    if (st != OPS_OK)
        http_ops_fail(reply, st, err);
    else
        http_reply_json(reply, 200, out);
}

void http_ops_compact(struct http_request *req, struct http_reply *reply)
{
    char domain[NAMES_MAX], table[NAMES_MAX], date[16], err[ERROR_MAX];
    json_t *body = http_ops_body(req, reply, true);
    if (body == NULL)
        return;
    if (http_ops_scope(body, reply, domain, table) < 0 ||
        http_ops_date(body, "date", reply, date) < 0) {
        json_decref(body);
        return;
    }
    json_t *out = NULL;
    enum ops_status st =
        ops_compact(http_server_zmq(req->server), req->cfg, domain, table, date, &out, err);
    json_decref(body);
    if (st != OPS_OK)
        http_ops_fail(reply, st, err);
    else
        http_reply_json(reply, 200, out);
}

/* http_replay.c - POST /replay {"domain","table","from","to"} -> 202
 * {"id","status":"running",...} and GET /replay/{replay_id}: what `lakehouse
 * replay` does (ops.h), in the background. A replay runs in a thread of its
 * own (it can take hours) and only one at a time (the processor does one
 * anyway); the last HTTP_REPLAYS_KEPT are kept for GET /replay/{id}, in
 * memory (a broker restart forgets them). Progress: the processor replays
 * table by table, one transaction each, and records a "replay" snapshot per
 * table; tables_done counts the tables with such a snapshot newer than the
 * replay's start, tables_total the tables in scope (bronze/<domain>/<table>
 * directories). */
#include "http_internal.h"

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "log.h"
#include "read/ops.h"
#include "timeutil.h"

#define HTTP_REPLAYS_KEPT 32
#define HTTP_REPLAY_DOMAINS_MAX 16 /* progress is followed in at most this many domains */

struct http_replay_domain {
    char name[NAMES_MAX];
    int64_t baseline;          /* newest silver snapshot id when the replay started */
};

struct http_replay {
    int64_t id;                /* 0 = free slot */
    char domain[NAMES_MAX], table[NAMES_MAX], from[16], to[16];
    struct http_replay_domain domains[HTTP_REPLAY_DOMAINS_MAX];
    size_t ndomains;           /* 0 with tables_total -1: progress not followed */
    int64_t tables_total;
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
    int st = ops_replay(job->zmq, job->cfg, &job->req, &out, err);
    pthread_mutex_lock(&http_replays.lock);
    struct http_replay *r = http_replay_find(job->id);
    if (r != NULL) {
        snprintf(r->status, sizeof r->status, "%s", st == 0 ? "succeeded" : "failed");
        r->finished_ms = timeutil_now_ms();
        r->result = out;
        out = NULL;
        snprintf(r->error, sizeof r->error, "%s", st == 0 ? "" : err);
    }
    pthread_mutex_unlock(&http_replays.lock);
    log_info("http replay_done id=%lld ok=%d", (long long)job->id, st == 0);
    json_decref(out);
    free(job);
    return NULL;
}

/* One number from silver/<domain>.db (read-only); 0 when it does not exist. */
static int64_t http_replay_scalar(const char *data_dir, const char *domain, const char *sql,
                                  int64_t arg, const char *table)
{
    char path[4096];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (layout_silver_db(path, sizeof path, data_dir, domain) != 0 ||
        sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return 0;
    }
    sqlite3_busy_timeout(db, 2000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_bind_parameter_count(st) == 2) {
            sqlite3_bind_int64(st, 1, arg);
            sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
        }
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Valid object names among the subdirectories of dir, calling fn for each;
 * how many. */
static int64_t http_replay_dirs(const char *dir, const char *data_dir,
                                void (*fn)(struct http_replay *, const char *, const char *),
                                struct http_replay *r)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!names_is_valid_object(e->d_name))
            continue;
        n++;
        if (fn != NULL)
            fn(r, data_dir, e->d_name);
    }
    closedir(d);
    return n;
}

static void http_replay_add_domain(struct http_replay *r, const char *data_dir,
                                   const char *domain)
{
    char dir[4200];
    if (r->ndomains == HTTP_REPLAY_DOMAINS_MAX) {
        r->tables_total = -1;
        return;
    }
    struct http_replay_domain *d = &r->domains[r->ndomains++];
    snprintf(d->name, sizeof d->name, "%s", domain);
    d->baseline = http_replay_scalar(data_dir, domain,
                                     "SELECT coalesce(max(snapshot_id), 0) FROM _snapshots", 0,
                                     "");
    snprintf(dir, sizeof dir, "%s/bronze/%s", data_dir, domain);
    if (r->tables_total >= 0)
        r->tables_total += r->table[0] ? 1 : http_replay_dirs(dir, data_dir, NULL, NULL);
}

/* The scope and the baselines, at the start (r->domain/table set). */
static void http_replay_scope(struct http_replay *r, const char *data_dir)
{
    char dir[4200];
    r->ndomains = 0;
    r->tables_total = 0;
    if (r->domain[0]) {
        http_replay_add_domain(r, data_dir, r->domain);
        return;
    }
    snprintf(dir, sizeof dir, "%s/bronze", data_dir);
    http_replay_dirs(dir, data_dir, http_replay_add_domain, r);
}

/* Tables whose replay has committed (outside the lock: reads databases). */
static int64_t http_replay_done(const struct http_replay *r, const char *data_dir)
{
    int64_t done = 0;
    for (size_t i = 0; i < r->ndomains; i++)
        done += http_replay_scalar(data_dir, r->domains[i].name,
                                   "SELECT count(DISTINCT table_name) FROM _snapshots WHERE "
                                   "snapshot_id > ?1 AND operation = 'replay' AND "
                                   "(?2 = '' OR table_name = ?2)",
                                   r->domains[i].baseline, r->table);
    return done;
}

/* data_dir NULL: progress as at the start (nothing done yet). */
static json_t *http_replay_json(const struct http_replay *r, const char *data_dir)
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
    if (r->tables_total >= 0) {
        int64_t done = data_dir != NULL ? http_replay_done(r, data_dir) : 0;
        json_object_set_new(o, "progress",
                            json_pack("{s:I, s:I}", "tables_done",
                                      (json_int_t)(done < r->tables_total ? done : r->tables_total),
                                      "tables_total", (json_int_t)r->tables_total));
    }
    return o;
}

void http_replay_start(struct http_request *req, struct http_reply *reply)
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
    job->req.cmd = CONTROL_REPLAY;
    if (http_ops_target(body, reply, job->req.domain, job->req.name) < 0 ||
        http_ops_date(body, "from", reply, job->req.from) < 0 ||
        http_ops_date(body, "to", reply, job->req.to) < 0)
        goto fail;
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
    struct http_replay *scope = calloc(1, sizeof *scope); /* read before taking the lock */
    if (scope == NULL) {
        http_reply_error(reply, 500, "out of memory");
        goto fail;
    }
    snprintf(scope->domain, sizeof scope->domain, "%s", job->req.domain);
    snprintf(scope->table, sizeof scope->table, "%s", job->req.name);
    http_replay_scope(scope, req->cfg->data_dir);
    pthread_mutex_lock(&http_replays.lock);
    struct http_replay *slot = NULL;
    for (size_t i = 0; i < HTTP_REPLAYS_KEPT; i++) {
        struct http_replay *r = &http_replays.items[i];
        if (r->id != 0 && strcmp(r->status, "running") == 0) {
            pthread_mutex_unlock(&http_replays.lock);
            free(scope);
            http_reply_error(reply, 409, "replay %lld is still running (GET /replay/%lld)",
                             (long long)r->id, (long long)r->id);
            goto fail;
        }
        if (slot == NULL || r->id < slot->id) /* free, else the oldest */
            slot = r;
    }
    json_decref(slot->result);
    *slot = *scope;
    free(scope);
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
    json_t *out = http_replay_json(slot, NULL);
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

void http_replay_get(struct http_request *req, struct http_reply *reply)
{
    int64_t id = strtoll(req->params[0], NULL, 10);
    struct http_replay *copy = malloc(sizeof *copy);
    if (copy == NULL) {
        http_reply_error(reply, 500, "out of memory");
        return;
    }
    pthread_mutex_lock(&http_replays.lock);
    struct http_replay *r = id > 0 ? http_replay_find(id) : NULL;
    if (r != NULL) {
        *copy = *r;
        json_incref(copy->result);
    }
    pthread_mutex_unlock(&http_replays.lock);
    if (r == NULL) {
        free(copy);
        http_reply_error(reply, 404, "no replay %s (the last %d are kept until the broker "
                                     "restarts)", req->params[0], HTTP_REPLAYS_KEPT);
        return;
    }
    /* the progress reads the databases: not under the lock */
    json_t *out = http_replay_json(copy, req->cfg->data_dir);
    json_decref(copy->result);
    free(copy);
    http_reply_json(reply, 200, out);
}

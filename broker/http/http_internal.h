/* http_internal.h - what the files of broker/http/ share: the request and
 * reply structs, the route handlers of each API group and the helpers for
 * JSON answers. Private to broker/http/.
 *
 *   http_server.c     libmicrohttpd setup, listen address, auth, body limit
 *   http_route.c      path matching and dispatch, 404/405
 *   http_reply.c      building replies (JSON, text, errors in {"detail": ...})
 *   http_endpoints.c  /endpoints...: the schema registry (catalog.h)
 *   http_yaml.c       a schema as YAML text
 *   http_ingest.c     /ingest...: producer client of ingest (protocol.h)
 *   http_query.c      /consumption...: read-only SQL (query.h)
 *   http_jobs.c       /transform...: jobs, runs, executions
 *   http_metrics.c    /metrics: Prometheus text from health.h and stats.h
 *   http_guard.c      browser safety: Host, Origin and body type rules
 *   http_work.c       worker threads that run handlers off the polling threads
 *   http_fifo.c       the queue of work waiting for a thread (workers, ingest calls)
 *   http_async.c      ingest calls waited for by one thread, not one per request
 *   http_watch.c      the whole-request deadline (http_request_timeout_ms)
 *   http_long.c       long operator calls on threads of their own, not the workers'
 *   http_ops.c        /status, rollback, /maintenance, /export, /config/check (ops.h)
 *   http_replay.c     /replay: replays in the background, followed by id
 *   http_lineage.c    /lineage/graph, gold table lineage
 *   http_rejected.c   refused records and quarantined bronze files
 *   http_events.c     /events: Server-Sent Events from the event bus
 *   http_models.c     /models...: concept files compiled into jobs (model.h)
 *   http_iceberg.c    /iceberg/v1/...: read-only Iceberg REST catalog of the exported tables
 * Errors are answered as {"detail": "<what and where>"} with a fitting
 * status, the shape FastAPI clients of the reference API already handle. */
#ifndef LAKEHOUSE_HTTP_INTERNAL_H
#define LAKEHOUSE_HTTP_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "catalog.h"
#include "config.h"
#include "error.h"
#include "event.h"
#include "names.h"
#include "protocol.h"

#define HTTP_PARAMS_MAX 4
#define HTTP_CONTROL_TIMEOUT_MS 5000
/* Retry-After (s) of a busy or full-disk answer */
#define HTTP_RETRY_AFTER_S 1

struct http_server;
struct http_reply;

/* One request, filled by http_server.c before a handler runs. */
struct http_request {
    struct http_server *server;
    const struct config *cfg;
    void *connection;          /* struct MHD_Connection *, for http_request_arg/header */
    const char *method;
    const char *path;
    const char *body;          /* NUL-terminated; "" when none */
    size_t body_len;
    char params[HTTP_PARAMS_MAX][NAMES_MAX]; /* the {} parts of the route, checked names */
};

/* ---- http_fifo.c ---- */
/* A queue of work waiting for a thread (http_work.c: handlers; http_async.c:
 * ingest calls), its items linked through an http_link member; the owner's
 * lock guards it. Once closed it takes nothing more. */
struct http_link {
    struct http_link *next;
};
struct http_fifo {
    struct http_link *head, *tail;
    bool closed;
};
/* Append item; -1 (nothing appended) once closed. */
int http_fifo_push(struct http_fifo *fifo, struct http_link *item);
/* The oldest item, removed; NULL when empty. */
struct http_link *http_fifo_pop(struct http_fifo *fifo);
/* Close; the items still queued (a chain through next; the caller's now). */
struct http_link *http_fifo_close(struct http_fifo *fifo);
/* The struct of type whose member is at ptr. */
#define HTTP_CONTAINER(ptr, type, member)                                                       \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* A batch for ingest, sent and waited for by http_async.c while no thread
 * waits; http_ingest_finish then builds the answer from its result. */
struct http_ingest_call {
    char *header;              /* owned: the encoded protocol request */
    size_t header_len;
    char *owned;               /* owned: a body the handler built, or NULL */
    const char *body;          /* owned or the request's body (alive until answered) */
    size_t body_len;
    bool single;               /* POST /ingest/{d}/{e} (else .../batch) */
    bool validate;
    int rc;                    /* result: 0 with reply, -1 with err (transport, timeout) */
    char err[ERROR_MAX];
    struct protocol_reply reply;
    void (*done)(void *arg);   /* run by http_async.c's thread when finished */
    void *done_arg;
    struct http_link link;     /* in http_async.c's queue */
};

/* A response streamed while it is produced (Server-Sent Events). The
 * handler sets reply->stream with status 200 and a content_type such as
 * "text/event-stream". The server calls attach once, before the first read,
 * with the wake handle of this stream. read runs on a polling thread when
 * the client can take more and must not block: it returns the bytes it put
 * in buf (> 0), 0 when it has nothing now, or -1 to end the stream. After a
 * 0 the connection sleeps (suspended: it holds no thread) until
 * http_stream_wake(wake) is called, from any thread, once there is
 * something to read (an event, a ping). done runs once when the connection
 * ends; wake must not be used after done returns (drop it there, under the
 * lock the waker holds while calling http_stream_wake). */
struct http_stream_wake;
struct http_stream {
    void (*attach)(void *cls, struct http_stream_wake *wake);
    long (*read)(void *cls, char *buf, size_t max);
    void (*done)(void *cls);
    void *cls;
};
void http_stream_wake(struct http_stream_wake *wake);

/* A call that waits long for a worker process (http_long.c): run on a
 * thread of its own fills out (status and JSON); free releases arg, run or
 * not. */
struct http_deferred {
    void (*run)(void *arg, struct http_reply *out);
    void (*free)(void *arg);
    void *arg;
};

/* The answer a handler fills; the server sends it. */
struct http_reply {
    unsigned status;
    json_t *json;              /* owned: sent as application/json */
    char *text;                /* owned: sent as is when json is NULL */
    size_t text_len;
    char content_type[64];
    char disposition[160];     /* Content-Disposition value, "" = none */
    char allow[64];            /* Allow header for 405, "" = none */
    int retry_after;           /* seconds, 0 = no Retry-After header */
    struct http_ingest_call *ingest; /* owned: answer after this ingest call */
    struct http_stream stream;  /* stream.read != NULL: streamed instead of json/text */
    struct http_deferred deferred; /* run != NULL (status 0): answer after this call */
};

typedef void (*http_handler)(struct http_request *req, struct http_reply *reply);

/* ---- http_server.c ---- */
/* Query-string argument (URL-decoded) or header; NULL when absent. */
const char *http_request_arg(const struct http_request *req, const char *name);
const char *http_request_header(const struct http_request *req, const char *name);
/* The client's socket (to notice a hang-up); -1 when unknown. */
int http_request_fd(const struct http_request *req);
/* The server's ZeroMQ context (thread-safe) for per-request sockets. */
void *http_server_zmq(struct http_server *server);
/* The server's event hub (http_events.c); NULL when it could not start. */
struct http_events *http_server_events(struct http_server *server);
/* Publish a hint event on the server's PUB socket (serialised by a mutex).
 * Failures are logged only: events are hints. */
void http_server_publish(struct http_server *server, const struct event *ev);

/* Take one of the broker's query_max_concurrent query slots: true, or false
 * when all are taken (answer 503). http_server_query_leave gives it back. */
bool http_server_query_enter(struct http_server *server);
void http_server_query_leave(struct http_server *server);

/* ---- http_guard.c ---- */
/* Host (NULL: none) names this server in token-less mode: listen_host, localhost,
 * 127.0.0.1 or [::1], with the port (without: only the scheme's default). */
bool http_guard_host_ok(const char *host, const char *listen_host, unsigned port, bool tls);
/* origin is one of list (http_cors_origins: space or comma separated). */
bool http_guard_origin_listed(const char *origin, const char *list);
/* origin is this server's own: scheme (tls: https) + "://" + the Host header. */
bool http_guard_origin_own(const char *origin, const char *host, bool tls);
/* A request to path may carry this body type (NULL: none, which is fine only
 * without a body): application/json; application/x-ndjson for
 * /ingest/{d}/{e}/batch; application/yaml for /endpoints... */
bool http_guard_type_ok(const char *path, const char *content_type, bool has_body);

/* ---- http_work.c ---- */
struct http_work;
struct http_work_item {
    struct http_link link;     /* first: the queue's link is the item */
    void (*run)(struct http_work_item *item);
};
struct http_work *http_work_start(size_t threads, char err[ERROR_MAX]);
/* Queue item->run for a worker; -1 when stopping (nothing queued). */
int http_work_submit(struct http_work *work, struct http_work_item *item);
/* Run what is queued, join the workers, free, NULL *work. */
void http_work_stop(struct http_work **work);

/* ---- http_async.c ---- */
struct http_async;
/* At most limit calls in flight (more wait in a queue). zmq is the server's
 * context; cfg gives ingest_endpoint, CURVE keys, http_ingest_timeout_ms. */
struct http_async *http_async_start(void *zmq, const struct config *cfg, size_t limit,
                                    char err[ERROR_MAX]);
/* Queue call; its done callback runs later on the async thread, once.
 * -1 when stopping (done is not run). */
int http_async_submit(struct http_async *async, struct http_ingest_call *call);
/* Finish every call (-1 "server is stopping"), join, free, NULL *async. */
void http_async_stop(struct http_async **async);

/* ---- http_long.c ---- */
struct http_long;
struct http_long *http_long_start(char err[ERROR_MAX]);
/* Run reply->deferred (taken from it) on a thread of its own; when done, its
 * answer goes into *reply and done(done_arg) runs (resume the connection).
 * -1 with a 503 in reply when too many run or the server stops. */
int http_long_submit(struct http_long *longs, struct http_reply *reply,
                     void (*done)(void *arg), void *done_arg);
/* Answer every waiting connection 503 (done runs), free when the last
 * call's thread ends, NULL *longs. */
void http_long_stop(struct http_long **longs);
/* For a handler: answer with what run puts in its reply, later, off the
 * handler workers. arg NULL (out of memory): 500 and -1. */
int http_defer(struct http_reply *reply, void (*run)(void *arg, struct http_reply *out),
               void (*free_arg)(void *arg), void *arg);

/* ---- http_watch.c ---- */
struct http_watch;
struct http_watch_entry;
struct http_watch *http_watch_start(int64_t timeout_ms, char err[ERROR_MAX]);
void http_watch_stop(struct http_watch **watch);
/* Watch a new connection's socket, armed (NULL on out of memory). */
struct http_watch_entry *http_watch_add(struct http_watch *watch, int fd);
/* Arm (deadline from now) or disarm while a request is answered. */
void http_watch_arm(struct http_watch *watch, struct http_watch_entry *entry, bool armed);
/* Forget the entry before its socket is closed; frees it. */
void http_watch_remove(struct http_watch *watch, struct http_watch_entry *entry);

/* ---- http_route.c ---- */
/* Find the route of method+path, check and copy its {} parts into
 * req->params and run its handler; else 404 / 405 with Allow. */
void http_route_dispatch(struct http_request *req, struct http_reply *reply);

/* ---- http_reply.c ---- */
/* Set status and JSON (takes the reference; NULL means out of memory -> 500). */
void http_reply_json(struct http_reply *reply, unsigned status, json_t *json);
/* {"detail": message} with status. */
/* The text of an error answer, printf-style, into msg; a server-side one
 * (status >= 500) is logged as `<log_event> status=... detail=...`. */
void http_reply_error_text(char msg[ERROR_MAX], unsigned status, const char *log_event,
                           const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
void http_reply_error(struct http_reply *reply, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The one error kind (error.h) -> HTTP status table. */
unsigned http_status_of(enum error_kind kind);
/* http_reply_error with the status of rc's kind (error_kind_of); a busy or
 * full-disk failure also says when to retry (Retry-After). */
void http_reply_failure(struct http_reply *reply, int rc, const char *err);
/* Take a malloc'd text body (owned afterwards by the reply). */
void http_reply_text(struct http_reply *reply, unsigned status, const char *content_type,
                     char *text, size_t len);
void http_reply_clear(struct http_reply *reply);
/* Parse the body as JSON. On failure answers 400 with the line, column and
 * byte position of the error and returns NULL. New reference. */
json_t *http_body_json(const struct http_request *req, struct http_reply *reply);
/* Boolean query argument: absent -> def; "true/1/yes" or "false/0/no", else
 * 400 and -1. */
int http_arg_bool(const struct http_request *req, struct http_reply *reply, const char *name,
                  bool def, bool *out);
/* Sort a JSON array of objects by the value of key (strings or integers);
 * key may start with '-' for descending. Unknown keys (not in allowed, a
 * NULL-terminated list) -> 400 and -1. NULL order_by: unchanged. */
int http_sort_by(struct http_reply *reply, json_t *array, const char *order_by,
                 const char *const *allowed);
/* Open the catalog (read-write, created if missing); 500 on failure. */
struct catalog *http_catalog(const struct http_request *req, struct http_reply *reply);

/* ---- handlers, one file per API group ---- */
void http_health(struct http_request *req, struct http_reply *reply);
/* http_metrics.c: GET /metrics, Prometheus text format 0.0.4 */
void http_metrics(struct http_request *req, struct http_reply *reply);
void http_endpoints_create(struct http_request *req, struct http_reply *reply);
void http_endpoints_list(struct http_request *req, struct http_reply *reply);
void http_endpoints_get(struct http_request *req, struct http_reply *reply);
void http_endpoints_update(struct http_request *req, struct http_reply *reply);
void http_endpoints_delete(struct http_request *req, struct http_reply *reply);
void http_endpoints_versions(struct http_request *req, struct http_reply *reply);
void http_endpoints_yaml(struct http_request *req, struct http_reply *reply);
void http_endpoints_download(struct http_request *req, struct http_reply *reply);
void http_endpoints_infer(struct http_request *req, struct http_reply *reply);

void http_ingest_one(struct http_request *req, struct http_reply *reply);
void http_ingest_batch(struct http_request *req, struct http_reply *reply);
/* Build the answer of a finished reply->ingest call and free the call. */
void http_ingest_finish(struct http_request *req, struct http_reply *reply);

void http_query_run(struct http_request *req, struct http_reply *reply);
void http_query_tables(struct http_request *req, struct http_reply *reply);
void http_history_list(struct http_request *req, struct http_reply *reply); /* http_history.c */
void http_history_list_gold(struct http_request *req, struct http_reply *reply);

void http_jobs_create(struct http_request *req, struct http_reply *reply);
void http_jobs_list(struct http_request *req, struct http_reply *reply);
void http_jobs_get(struct http_request *req, struct http_reply *reply);
void http_jobs_update(struct http_request *req, struct http_reply *reply);
void http_jobs_delete(struct http_request *req, struct http_reply *reply);
void http_jobs_run(struct http_request *req, struct http_reply *reply);
void http_jobs_execution(struct http_request *req, struct http_reply *reply);
void http_jobs_executions(struct http_request *req, struct http_reply *reply);
/* http_models.c */
void http_models_put(struct http_request *req, struct http_reply *reply);
void http_models_list(struct http_request *req, struct http_reply *reply);
void http_models_get(struct http_request *req, struct http_reply *reply);
void http_models_plan(struct http_request *req, struct http_reply *reply);
void http_models_docs(struct http_request *req, struct http_reply *reply);
void http_models_delete(struct http_request *req, struct http_reply *reply);

/* http_ops.c */
void http_ops_status(struct http_request *req, struct http_reply *reply);
void http_ops_rollback(struct http_request *req, struct http_reply *reply);
void http_ops_rollback_gold(struct http_request *req, struct http_reply *reply);
/* POST /maintenance/expire, /maintenance/compact, /export (by the path) */
void http_ops_maintenance(struct http_request *req, struct http_reply *reply);
void http_ops_config_check(struct http_request *req, struct http_reply *reply);
/* The body as a JSON object (optional: none is {}), else NULL after a 400. */
json_t *http_ops_body(const struct http_request *req, struct http_reply *reply, bool optional);
/* Optional string field: 1 set, 0 absent or null, -1 after a 400. */
int http_ops_string(json_t *body, const char *key, struct http_reply *reply, const char **out);
/* Optional "YYYY-MM-DD" field into out ("" when absent); -1 after a 400. */
int http_ops_date(json_t *body, const char *key, struct http_reply *reply, char out[16]);
/* "table": "DOMAIN" or "DOMAIN/TABLE" (absent: everything); -1 after a 400. */
int http_ops_scope(json_t *body, struct http_reply *reply, char domain[NAMES_MAX],
                   char table[NAMES_MAX]);
/* "domain" and "table" (which needs "domain"), each optional; -1 after a 400. */
int http_ops_target(json_t *body, struct http_reply *reply, char domain[NAMES_MAX],
                    char table[NAMES_MAX]);
/* http_replay.c */
void http_replay_start(struct http_request *req, struct http_reply *reply);
void http_replay_get(struct http_request *req, struct http_reply *reply);
/* http_lineage.c */
void http_lineage_graph(struct http_request *req, struct http_reply *reply);
void http_lineage_gold(struct http_request *req, struct http_reply *reply);
/* http_rejected.c */
void http_rejected_list(struct http_request *req, struct http_reply *reply);
void http_rejected_quarantine(struct http_request *req, struct http_reply *reply);
/* http_events.c: GET /events answers with reply->stream. The
 * hub subscribes to the event bus in a thread of its own: start it with the
 * server; stop it (wakes and ends every stream) before stopping the daemon,
 * free it after (streams still reference it until then). */
void http_events_stream(struct http_request *req, struct http_reply *reply);
struct http_events *http_events_start(void *zmq_context, const struct config *cfg,
                                      char err[ERROR_MAX]);
void http_events_stop(struct http_events *hub);
void http_events_free(struct http_events **hub);
/* http_iceberg.c: errors there are {"error": {"message", "type", "code"}} */
void http_iceberg_error(struct http_reply *reply, unsigned code, const char *type,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void http_iceberg_config(struct http_request *req, struct http_reply *reply);
void http_iceberg_namespaces(struct http_request *req, struct http_reply *reply);
void http_iceberg_namespace(struct http_request *req, struct http_reply *reply); /* GET|HEAD */
void http_iceberg_tables(struct http_request *req, struct http_reply *reply);
void http_iceberg_table(struct http_request *req, struct http_reply *reply);     /* GET|HEAD */

/* ---- http_yaml.c ---- */
/* Render a JSON value as a YAML document (malloc'd, caller frees; NULL on
 * out of memory). Strings are double-quoted with JSON escapes, which YAML
 * reads the same way. */
char *http_yaml_render(const json_t *value, size_t *len);

#endif

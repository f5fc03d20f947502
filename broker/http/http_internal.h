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
 *   http_iceberg.c    /iceberg/v1/...: read-only Iceberg REST catalog of the exported tables
 * Errors are answered as {"detail": "<what and where>"} with a fitting
 * status, the shape FastAPI clients of the reference API already handle. */
#ifndef LAKEHOUSE_HTTP_INTERNAL_H
#define LAKEHOUSE_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "catalog.h"
#include "config.h"
#include "error.h"
#include "event.h"
#include "names.h"

#define HTTP_PARAMS_MAX 4
#define HTTP_CONTROL_TIMEOUT_MS 5000
/* Retry-After (s) of a busy or full-disk answer */
#define HTTP_RETRY_AFTER_S 1

struct http_server;

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
};

typedef void (*http_handler)(struct http_request *req, struct http_reply *reply);

/* ---- http_server.c ---- */
/* Query-string argument (URL-decoded) or header; NULL when absent. */
const char *http_request_arg(const struct http_request *req, const char *name);
const char *http_request_header(const struct http_request *req, const char *name);
/* The server's ZeroMQ context (thread-safe) for per-request sockets. */
void *http_server_zmq(struct http_server *server);
/* Publish a hint event on the server's PUB socket (serialised by a mutex).
 * Failures are logged only: events are hints. */
void http_server_publish(struct http_server *server, const struct event *ev);

/* ---- http_route.c ---- */
/* Find the route of method+path, check and copy its {} parts into
 * req->params and run its handler; else 404 / 405 with Allow. */
void http_route_dispatch(struct http_request *req, struct http_reply *reply);

/* ---- http_reply.c ---- */
/* Set status and JSON (takes the reference; NULL means out of memory -> 500). */
void http_reply_json(struct http_reply *reply, unsigned status, json_t *json);
/* {"detail": message} with status. */
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

/* http_reply.c - building replies and reading common request parts: JSON
 * answers, {"detail": ...} errors, the JSON body with the position of a
 * syntax error, boolean query arguments, order_by, the catalog. */
#include "http_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

void http_reply_json(struct http_reply *reply, unsigned status, json_t *json)
{
    json_decref(reply->json);
    reply->json = json;
    reply->status = status;
    if (json == NULL) {
        reply->status = 500;
        reply->json = json_pack("{s:s}", "detail", "out of memory");
    }
}

void http_reply_error_text(char msg[ERROR_MAX], unsigned status, const char *log_event,
                           const char *fmt, va_list ap)
{
    vsnprintf(msg, ERROR_MAX, fmt, ap);
    if (status >= 500)
        log_warn("%s status=%u detail=\"%s\"", log_event, status, msg);
}

void http_reply_error(struct http_reply *reply, unsigned status, const char *fmt, ...)
{
    char msg[ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    http_reply_error_text(msg, status, "http error", fmt, ap);
    va_end(ap);
    http_reply_json(reply, status, json_pack("{s:s}", "detail", msg));
}

unsigned http_status_of(enum error_kind kind)
{
    static const unsigned statuses[ERROR_KIND_COUNT] = {
        [ERROR_NONE] = 200,      [ERROR_INTERNAL] = 500, [ERROR_INVALID] = 400,
        [ERROR_NOT_FOUND] = 404, [ERROR_CONFLICT] = 409, [ERROR_BUSY] = 503,
        /* denied/unavailable are a peer's (S3) answers to us: a gateway error */
        [ERROR_TIMEOUT] = 504,   [ERROR_NO_SPACE] = 507, [ERROR_TOO_LARGE] = 422,
        [ERROR_DENIED] = 502,    [ERROR_UNAVAILABLE] = 503,
    };
    return kind >= ERROR_NONE && kind < ERROR_KIND_COUNT ? statuses[kind] : 500;
}

void http_reply_failure(struct http_reply *reply, int rc, const char *err)
{
    enum error_kind kind = error_kind_of(rc);
    http_reply_error(reply, http_status_of(kind), "%s", err);
    if (kind == ERROR_BUSY || kind == ERROR_NO_SPACE || kind == ERROR_UNAVAILABLE)
        reply->retry_after = HTTP_RETRY_AFTER_S;
}

void http_reply_text(struct http_reply *reply, unsigned status, const char *content_type,
                     char *text, size_t len)
{
    free(reply->text);
    reply->text = text;
    reply->text_len = len;
    reply->status = status;
    snprintf(reply->content_type, sizeof reply->content_type, "%s", content_type);
}

void http_reply_clear(struct http_reply *reply)
{
    json_decref(reply->json);
    free(reply->text);
    if (reply->stream.read != NULL && reply->stream.done != NULL)
        reply->stream.done(reply->stream.cls); /* never sent */
    if (reply->deferred.free != NULL)
        reply->deferred.free(reply->deferred.arg); /* never run */
    if (reply->ingest != NULL) {
        protocol_reply_clear(&reply->ingest->reply);
        free(reply->ingest->header);
        free(reply->ingest->owned);
        free(reply->ingest);
    }
    memset(reply, 0, sizeof *reply);
}

json_t *http_body_json(const struct http_request *req, struct http_reply *reply)
{
    if (req->body_len == 0) {
        http_reply_error(reply, 400, "empty request body: expected JSON");
        return NULL;
    }
    json_error_t jerr;
    json_t *json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (json == NULL) {
        char msg[ERROR_MAX];
        snprintf(msg, sizeof msg, "invalid JSON at line %d column %d (byte %d): %s", jerr.line,
                 jerr.column, jerr.position, jerr.text);
        http_reply_json(reply, 400,
                        json_pack("{s:s, s:i, s:i, s:i}", "detail", msg, "line", jerr.line,
                                  "column", jerr.column, "position", jerr.position));
    }
    return json;
}

int http_arg_bool(const struct http_request *req, struct http_reply *reply, const char *name,
                  bool def, bool *out)
{
    const char *v = http_request_arg(req, name);
    if (v == NULL || v[0] == '\0') {
        *out = def;
        return 0;
    }
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0) {
        *out = false;
        return 0;
    }
    http_reply_error(reply, 400, "query parameter '%s': expected true or false, got '%.100s'",
                     name, v);
    return -1;
}

/* qsort has no context argument: the key travels in a thread-local. */
static _Thread_local const char *http_sort_key;

static int http_sort_cmp(const void *a, const void *b)
{
    json_t *x = json_object_get(*(json_t *const *)a, http_sort_key);
    json_t *y = json_object_get(*(json_t *const *)b, http_sort_key);
    if (json_is_integer(x) && json_is_integer(y)) {
        json_int_t i = json_integer_value(x), j = json_integer_value(y);
        return (i > j) - (i < j);
    }
    const char *s = json_is_string(x) ? json_string_value(x) : "";
    const char *t = json_is_string(y) ? json_string_value(y) : "";
    return strcmp(s, t);
}

int http_sort_by(struct http_reply *reply, json_t *array, const char *order_by,
                 const char *const *allowed)
{
    if (order_by == NULL || order_by[0] == '\0')
        return 0;
    bool desc = order_by[0] == '-';
    const char *key = desc ? order_by + 1 : order_by;
    size_t i;
    for (i = 0; allowed[i] != NULL; i++)
        if (strcmp(allowed[i], key) == 0)
            break;
    if (allowed[i] == NULL) {
        char list[256] = "";
        for (size_t k = 0; allowed[k] != NULL; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                     allowed[k]);
        http_reply_error(reply, 400, "order_by '%.100s': expected one of %s (prefix '-' for "
                                     "descending)", order_by, list);
        return -1;
    }
    size_t n = json_array_size(array);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    if (items == NULL) {
        http_reply_error(reply, 500, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < n; k++)
        items[k] = json_incref(json_array_get(array, k));
    http_sort_key = key;
    qsort(items, n, sizeof *items, http_sort_cmp);
    json_array_clear(array);
    for (size_t k = 0; k < n; k++)
        json_array_append_new(array, items[desc ? n - 1 - k : k]);
    free(items);
    return 0;
}

struct catalog *http_catalog(const struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    if (catalog_open(req->cfg->data_dir, false, &catalog, err) < 0) {
        http_reply_error(reply, 500, "catalog: %s", err);
        return NULL;
    }
    return catalog;
}

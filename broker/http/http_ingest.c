/* http_ingest.c - POST /ingest/{domain}/{endpoint}[/batch]: the HTTP face of
 * the producer protocol. Each request is one batch sent to ingest over a
 * fresh DEALER socket (protocol.h), and answered only after ingest's reply,
 * which ingest sends after fdatasync: a 2xx means durable (rule 1).
 *
 *   single  body {"data": {...}}      -> 200 {status:"sent", endpoint,
 *                                              records_sent, validated}
 *   batch   body [{...}, ...]         -> 200 {status:"completed", endpoint,
 *           (or {"data": [...]})              total_records, validated_count,
 *                                              sent_count, rejected_count, errors}
 * A batch body that is the array itself is forwarded to ingest unparsed:
 * ingest's parse is the only one, and its refusal of bad JSON (with the
 * position) is answered 400 here; the counts come from ingest's reply.
 * Query: validate (default true), strict (default false), batch_id (or the
 * Idempotency-Key header): a re-sent batch with the same id is stored once
 * and answered again with duplicate=true.
 * Errors: 400 bad JSON (with its position) or malformed request, 404 unknown
 * endpoint, 413 body over http_body_max_bytes (http_server.c), 422 records
 * refused (strict batch, or the single record failed validation: it is kept
 * in rejected/ with the reason), 503 + Retry-After when ingest is busy or
 * does not answer within http_ingest_timeout_ms, 507 + Retry-After when the
 * disk is full, 500 when ingest failed to store otherwise.
 * A handler only prepares the call (reply->ingest); the server has
 * http_async.c send it and wait, then http_ingest_finish answers. */
#include "http_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "record_reader.h"


static json_t *http_ingest_errors(const struct protocol_reply *r)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < r->error_count; i++)
        json_array_append_new(list, json_pack("{s:I, s:s}", "index", (json_int_t)r->errors[i].index,
                                              "reason", r->errors[i].reason));
    return list;
}

/* Answer a refused / busy / error reply; returns 1 if it did. */
static int http_ingest_failure(struct http_reply *reply, const struct protocol_reply *r)
{
    switch (r->status) {
    case PROTOCOL_STATUS_OK:
    case PROTOCOL_STATUS_PARTIAL:
        return 0;
    case PROTOCOL_STATUS_BUSY:
        http_reply_error(reply, 503, "ingest is busy: %s", r->message[0] ? r->message : "retry later");
        reply->retry_after = HTTP_RETRY_AFTER_S;
        return 1;
    case PROTOCOL_STATUS_ERROR:
        /* A full disk is the client's to wait out: 507 Insufficient Storage
         * with Retry-After; re-sending the same batch_id later is safe. */
        if (r->kind == ERROR_NO_SPACE) {
            http_reply_error(reply, 507, "ingest could not store the batch: %s", r->message);
            reply->retry_after = HTTP_RETRY_AFTER_S;
            return 1;
        }
        http_reply_error(reply, 500, "ingest could not store the batch: %s", r->message);
        return 1;
    case PROTOCOL_STATUS_REFUSED:
        break;
    }
    if (r->kind == ERROR_NOT_FOUND) {
        http_reply_error(reply, 404, "%s", r->message);
    } else if (r->syntax.set) {
        /* A "json" body ingest could not parse: the same answer as a body the
         * broker parsed itself (http_body_json), from the reply's position. */
        const struct protocol_syntax *s = &r->syntax;
        char msg[ERROR_MAX];
        snprintf(msg, sizeof msg, "invalid JSON at line %" PRIu64 " column %" PRIu64
                 " (byte %" PRIu64 "): %s", s->line, s->column, s->position, s->text);
        http_reply_json(reply, 400,
                        json_pack("{s:s, s:I, s:I, s:I}", "detail", msg, "line",
                                  (json_int_t)s->line, "column", (json_int_t)s->column,
                                  "position", (json_int_t)s->position));
    } else if (r->refused > 0 || r->error_count > 0) {
        http_reply_json(reply, 422,
                        json_pack("{s:s, s:s, s:I, s:o}", "detail", r->message, "status",
                                  "refused", "rejected_count", (json_int_t)r->refused, "errors",
                                  http_ingest_errors(r)));
    } else {
        http_reply_error(reply, 400, "%s", r->message);
    }
    return 1;
}

/* Shared part: options and the encoded request; on success reply->ingest
 * holds the call (taking owned, a body the handler built), else the reply
 * is set and owned is freed. */
static void http_ingest_prepare(struct http_request *req, struct http_reply *reply,
                                const char *body, size_t len, char *owned, bool single)
{
    char err[ERROR_MAX];
    struct protocol_request preq = {.format = PROTOCOL_FORMAT_JSON};
    struct http_ingest_call *call = NULL;
    if (http_arg_bool(req, reply, "validate", true, &preq.validate) < 0 ||
        http_arg_bool(req, reply, "strict", false, &preq.strict) < 0)
        goto fail;
    snprintf(preq.domain, sizeof preq.domain, "%s", req->params[0]);
    snprintf(preq.endpoint, sizeof preq.endpoint, "%s", req->params[1]);
    const char *id = http_request_arg(req, "batch_id");
    if (id == NULL)
        id = http_request_header(req, "Idempotency-Key");
    if (id != NULL && id[0] != '\0') {
        if (strlen(id) >= sizeof preq.id) {
            http_reply_error(reply, 400, "batch_id: at most %zu characters", sizeof preq.id - 1);
            goto fail;
        }
        snprintf(preq.id, sizeof preq.id, "%s", id);
    }
    call = calloc(1, sizeof *call);
    if (call == NULL) {
        http_reply_error(reply, 500, "out of memory");
        goto fail;
    }
    if (protocol_request_encode(&preq, &call->header, &call->header_len, err) < 0) {
        http_reply_error(reply, 400, "%s", err);
        goto fail;
    }
    call->owned = owned;
    call->body = body;
    call->body_len = len;
    call->single = single;
    call->validate = preq.validate;
    reply->ingest = call;
    return;
fail:
    if (call != NULL)
        free(call->header);
    free(call);
    free(owned);
}

void http_ingest_one(struct http_request *req, struct http_reply *reply)
{
    json_t *body = http_body_json(req, reply);
    if (body == NULL)
        return;
    json_t *data = json_object_get(body, "data");
    if (!json_is_object(body) || !json_is_object(data)) {
        http_reply_error(reply, 400, "expected a body {\"data\": {...}} holding one record "
                                     "(send several to /ingest/%s/%s/batch)",
                         req->params[0], req->params[1]);
        json_decref(body);
        return;
    }
    json_t *batch = json_pack("[O]", data);
    char *text = batch ? json_dumps(batch, JSON_COMPACT) : NULL;
    json_decref(batch);
    json_decref(body);
    if (text == NULL) {
        http_reply_error(reply, 500, "out of memory");
        return;
    }
    http_ingest_prepare(req, reply, text, strlen(text), text, true);
}

/* Whether the body is a JSON array (the record reader's detection: a byte
 * order mark and blanks skipped). */
static bool http_ingest_is_array(const char *body, size_t len)
{
    return record_format_sniff(body, len) == RECORD_FORMAT_JSON;
}

void http_ingest_batch(struct http_request *req, struct http_reply *reply)
{
    /* The array itself is sent as it came, unparsed: parsing it here too
     * cost about half of the broker's time under load. Ingest parses it
     * (strictly, duplicate keys refused, as http_body_json does) and checks
     * each record; bad JSON comes back as a refusal with its position. Any
     * other body ({"data": [...]}, or not an array) is parsed here to unwrap
     * it or to say what is wrong. */
    if (http_ingest_is_array(req->body, req->body_len)) {
        http_ingest_prepare(req, reply, req->body, req->body_len, NULL, false);
        return;
    }
    json_t *body = http_body_json(req, reply);
    if (body == NULL)
        return;
    json_t *records = json_object_get(body, "data");
    if (!json_is_object(body) || json_object_size(body) != 1 || !json_is_array(records)) {
        http_reply_error(reply, 400, "expected a JSON array of records [{...}, ...]");
        json_decref(body);
        return;
    }
    char *text = json_dumps(records, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        http_reply_error(reply, 500, "out of memory");
        return;
    }
    http_ingest_prepare(req, reply, text, strlen(text), text, false);
}

static void http_ingest_answer(struct http_request *req, struct http_reply *reply,
                               const struct http_ingest_call *call)
{
    const struct protocol_reply *r = &call->reply;
    char endpoint[2 * NAMES_MAX];
    snprintf(endpoint, sizeof endpoint, "%s/%s", req->params[0], req->params[1]);
    if (call->single && r->accepted == 0) {
        /* Non-strict: the record is kept in rejected/ with its reason. */
        http_reply_json(reply, 422,
                        json_pack("{s:s, s:s, s:s, s:i, s:o}", "detail",
                                  r->error_count ? r->errors[0].reason : r->message, "status",
                                  "rejected", "endpoint", endpoint, "records_sent", 0, "errors",
                                  http_ingest_errors(r)));
    } else if (call->single) {
        json_t *ok = json_pack("{s:s, s:s, s:I, s:b}", "status", "sent", "endpoint", endpoint,
                               "records_sent", (json_int_t)r->accepted, "validated",
                               call->validate);
        if (ok != NULL && r->duplicate)
            json_object_set_new(ok, "duplicate", json_true());
        http_reply_json(reply, 200, ok);
    } else {
        /* Every record of a stored batch is either accepted or refused. */
        json_t *ok = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:o}", "status", "completed",
                               "endpoint", endpoint, "total_records",
                               (json_int_t)(r->accepted + r->refused), "validated_count",
                               (json_int_t)(call->validate ? r->accepted : 0), "sent_count",
                               (json_int_t)r->accepted, "rejected_count", (json_int_t)r->refused,
                               "duplicate", r->duplicate, "errors", http_ingest_errors(r));
        http_reply_json(reply, 200, ok);
    }
}

void http_ingest_finish(struct http_request *req, struct http_reply *reply)
{
    struct http_ingest_call *call = reply->ingest;
    reply->ingest = NULL;
    if (call->rc < 0) {
        /* Nothing is known about the batch: the client re-sends it. */
        http_reply_error(reply, 503, "%s", call->err);
        reply->retry_after = HTTP_RETRY_AFTER_S;
    } else if (!http_ingest_failure(reply, &call->reply)) {
        http_ingest_answer(req, reply, call);
    }
    protocol_reply_clear(&call->reply);
    free(call->header);
    free(call->owned);
    free(call);
}

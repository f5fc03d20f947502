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
 * disk is full, 500 when ingest failed to store otherwise. */
#include "http_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "log.h"
#include "protocol.h"
#include "record_reader.h"


/* The start of ingest's refusal of an unparsable "json" body (ingest/batch.c
 * batch_decode_json); it is turned into the API's 400 with the position. */
#define HTTP_INGEST_BAD_JSON "invalid JSON array body at line "

/* Send one batch and wait for ingest's reply. -1 with err on transport
 * failure or timeout (nothing is known about the batch then). */
static int http_ingest_call(struct http_request *req, const struct protocol_request *preq,
                            const char *body, size_t len, struct protocol_reply *reply,
                            char err[ERROR_MAX])
{
    const char *endpoint = req->cfg->ingest_endpoint;
    char *header = NULL;
    size_t header_len = 0;
    /* a request it cannot encode is the client's; any other failure is
     * ingest not answering now: retry shortly */
    int ret = -(int)ERROR_BUSY;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    void *sock = NULL;
    if (protocol_request_encode(preq, &header, &header_len, err) < 0) {
        ret = -(int)ERROR_INVALID;
        goto done;
    }
    sock = zmq_socket(http_server_zmq(req->server), ZMQ_DEALER);
    if (sock == NULL) {
        error_set(err, "ingest %s: socket: %s", endpoint, zmq_strerror(zmq_errno()));
        goto done;
    }
    int linger = 0;
    int timeout = req->cfg->http_ingest_timeout_ms > INT_MAX ? INT_MAX
                                                             : (int)req->cfg->http_ingest_timeout_ms;
    if (curve_client_setup(sock, req->cfg, err) < 0) /* tcp:// with CURVE keys only */
        goto done;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout) != 0 ||
        zmq_connect(sock, endpoint) != 0) {
        error_set(err, "ingest %s: connect: %s", endpoint, zmq_strerror(zmq_errno()));
        goto done;
    }
    if (zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, header, header_len, ZMQ_SNDMORE) < 0 || zmq_send(sock, body, len, 0) < 0) {
        error_set(err, "ingest %s: send: %s", endpoint, zmq_strerror(zmq_errno()));
        goto done;
    }
    /* Reply: empty delimiter, then the reply map. */
    for (int frame = 0;; frame++) {
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            if (zmq_errno() == EAGAIN)
                error_set(err, "ingest did not answer within %d ms (is lakehouse-ingest "
                               "running?); the batch may or may not be stored: re-send it "
                               "with the same batch_id", timeout);
            else
                error_set(err, "ingest %s: receive: %s", endpoint, zmq_strerror(zmq_errno()));
            goto done;
        }
        bool more = zmq_msg_more(&msg);
        if (frame == 0 && zmq_msg_size(&msg) == 0 && more)
            continue;
        if (frame != 1 || more) {
            error_set(err, "ingest %s: malformed reply (frame %d)", endpoint, frame);
            goto done;
        }
        if (protocol_reply_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), reply, err) == 0)
            ret = 0;
        break;
    }
done:
    zmq_msg_close(&msg);
    if (sock != NULL)
        zmq_close(sock);
    free(header);
    return ret;
}

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
    int line, column, position, text = 0;
    if (r->kind == ERROR_NOT_FOUND) {
        http_reply_error(reply, 404, "%s", r->message);
    } else if (strncmp(r->message, HTTP_INGEST_BAD_JSON, strlen(HTTP_INGEST_BAD_JSON)) == 0 &&
               sscanf(r->message, HTTP_INGEST_BAD_JSON "%d, column %d (byte %d): %n", &line,
                      &column, &position, &text) == 3 &&
               text > 0) {
        /* The same answer as a body the broker parsed itself (http_body_json). */
        char msg[ERROR_MAX];
        snprintf(msg, sizeof msg, "invalid JSON at line %d column %d (byte %d): %s", line, column,
                 position, r->message + text);
        http_reply_json(reply, 400,
                        json_pack("{s:s, s:i, s:i, s:i}", "detail", msg, "line", line, "column",
                                  column, "position", position));
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

/* Shared part: options, the call, transport failures. 0 with *r filled
 * (status ok or partial), -1 when the reply is already set. */
static int http_ingest_send(struct http_request *req, struct http_reply *reply, const char *body,
                            size_t len, bool *validate, struct protocol_reply *r)
{
    char err[ERROR_MAX];
    struct protocol_request preq = {.format = PROTOCOL_FORMAT_JSON};
    if (http_arg_bool(req, reply, "validate", true, &preq.validate) < 0 ||
        http_arg_bool(req, reply, "strict", false, &preq.strict) < 0)
        return -1;
    *validate = preq.validate;
    snprintf(preq.domain, sizeof preq.domain, "%s", req->params[0]);
    snprintf(preq.endpoint, sizeof preq.endpoint, "%s", req->params[1]);
    const char *id = http_request_arg(req, "batch_id");
    if (id == NULL)
        id = http_request_header(req, "Idempotency-Key");
    if (id != NULL && id[0] != '\0') {
        if (strlen(id) >= sizeof preq.id) {
            http_reply_error(reply, 400, "batch_id: at most %zu characters", sizeof preq.id - 1);
            return -1;
        }
        snprintf(preq.id, sizeof preq.id, "%s", id);
    }
    int rc = http_ingest_call(req, &preq, body, len, r, err);
    if (rc < 0) {
        http_reply_failure(reply, rc, err);
        return -1;
    }
    if (http_ingest_failure(reply, r)) {
        protocol_reply_clear(r);
        return -1;
    }
    return 0;
}

void http_ingest_one(struct http_request *req, struct http_reply *reply)
{
    char *text = NULL;
    json_t *body = http_body_json(req, reply);
    if (body == NULL)
        return;
    json_t *data = json_object_get(body, "data");
    if (!json_is_object(body) || !json_is_object(data)) {
        http_reply_error(reply, 400, "expected a body {\"data\": {...}} holding one record "
                                     "(send several to /ingest/%s/%s/batch)",
                         req->params[0], req->params[1]);
        goto done;
    }
    json_t *batch = json_pack("[O]", data);
    text = batch ? json_dumps(batch, JSON_COMPACT) : NULL;
    json_decref(batch);
    if (text == NULL) {
        http_reply_error(reply, 500, "out of memory");
        goto done;
    }
    struct protocol_reply r = {0};
    bool validate;
    if (http_ingest_send(req, reply, text, strlen(text), &validate, &r) < 0)
        goto done;
    char endpoint[2 * NAMES_MAX];
    snprintf(endpoint, sizeof endpoint, "%s/%s", req->params[0], req->params[1]);
    if (r.accepted == 0) {
        /* Non-strict: the record is kept in rejected/ with its reason. */
        http_reply_json(reply, 422,
                        json_pack("{s:s, s:s, s:s, s:i, s:o}", "detail",
                                  r.error_count ? r.errors[0].reason : r.message, "status",
                                  "rejected", "endpoint", endpoint, "records_sent", 0, "errors",
                                  http_ingest_errors(&r)));
    } else {
        json_t *ok = json_pack("{s:s, s:s, s:I, s:b}", "status", "sent", "endpoint", endpoint,
                               "records_sent", (json_int_t)r.accepted, "validated", validate);
        if (ok != NULL && r.duplicate)
            json_object_set_new(ok, "duplicate", json_true());
        http_reply_json(reply, 200, ok);
    }
    protocol_reply_clear(&r);
done:
    free(text);
    json_decref(body);
}

/* Whether the body is a JSON array (the record reader's detection: a byte
 * order mark and blanks skipped). */
static bool http_ingest_is_array(const char *body, size_t len)
{
    return record_format_sniff(body, len) == RECORD_FORMAT_JSON;
}

void http_ingest_batch(struct http_request *req, struct http_reply *reply)
{
    char *text = NULL;
    json_t *body = NULL;
    /* The array itself is sent as it came, unparsed: parsing it here too
     * cost about half of the broker's time under load. Ingest parses it
     * (strictly, duplicate keys refused, as http_body_json does) and checks
     * each record; bad JSON comes back as a refusal with its position. Any
     * other body ({"data": [...]}, or not an array) is parsed here to unwrap
     * it or to say what is wrong. */
    const char *out = req->body;
    size_t len = req->body_len;
    if (!http_ingest_is_array(req->body, req->body_len)) {
        if ((body = http_body_json(req, reply)) == NULL)
            return;
        json_t *records = json_object_get(body, "data");
        if (!json_is_object(body) || json_object_size(body) != 1 || !json_is_array(records)) {
            http_reply_error(reply, 400, "expected a JSON array of records [{...}, ...]");
            goto done;
        }
        text = json_dumps(records, JSON_COMPACT);
        if (text == NULL) {
            http_reply_error(reply, 500, "out of memory");
            goto done;
        }
        out = text;
        len = strlen(text);
    }
    struct protocol_reply r = {0};
    bool validate;
    if (http_ingest_send(req, reply, out, len, &validate, &r) < 0)
        goto done;
    char endpoint[2 * NAMES_MAX];
    snprintf(endpoint, sizeof endpoint, "%s/%s", req->params[0], req->params[1]);
    /* Every record of a stored batch is either accepted or refused. */
    json_t *ok = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:o}", "status", "completed",
                           "endpoint", endpoint, "total_records",
                           (json_int_t)(r.accepted + r.refused), "validated_count",
                           (json_int_t)(validate ? r.accepted : 0), "sent_count",
                           (json_int_t)r.accepted, "rejected_count", (json_int_t)r.refused,
                           "duplicate", r.duplicate, "errors", http_ingest_errors(&r));
    http_reply_json(reply, 200, ok);
    protocol_reply_clear(&r);
done:
    free(text);
    json_decref(body);
}

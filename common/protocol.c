/* protocol.c - the producer wire protocol: request header and reply
 * encoding and strict decoding (see protocol.h). */
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nametable.h"
#include "wire.h"

static const char *const protocol_format_names[] = {
    [PROTOCOL_FORMAT_NDJSON] = "ndjson",
    [PROTOCOL_FORMAT_JSON] = "json",
    [PROTOCOL_FORMAT_MSGPACK] = "msgpack",
};
#define PROTOCOL_FORMAT_COUNT (sizeof protocol_format_names / sizeof protocol_format_names[0])

static const char *const protocol_status_names[] = {
    [PROTOCOL_STATUS_OK] = "ok",
    [PROTOCOL_STATUS_PARTIAL] = "partial",
    [PROTOCOL_STATUS_REFUSED] = "refused",
    [PROTOCOL_STATUS_BUSY] = "busy",
    [PROTOCOL_STATUS_ERROR] = "error",
};
#define PROTOCOL_STATUS_COUNT (sizeof protocol_status_names / sizeof protocol_status_names[0])

const char *protocol_format_name(enum protocol_format f)
{
    return nametable_name(protocol_format_names, PROTOCOL_FORMAT_COUNT, (int)f, NULL);
}

int protocol_format_from_name(const char *name, enum protocol_format *out)
{
    int i = nametable_find(protocol_format_names, PROTOCOL_FORMAT_COUNT, name, false);
    if (i < 0)
        return -1;
    *out = (enum protocol_format)i;
    return 0;
}

const char *protocol_status_name(enum protocol_status s)
{
    return nametable_name(protocol_status_names, PROTOCOL_STATUS_COUNT, (int)s, NULL);
}

/* A batch id: 1..128 printable ASCII characters (it is echoed in replies and
 * logs, and used as a dedup key). */
static int protocol_check_id(const char *what, const char *id, char err[ERROR_MAX])
{
    size_t n = strnlen(id, PROTOCOL_ID_MAX);
    if (n == 0 || n >= PROTOCOL_ID_MAX)
        return error_set(err, "%s: batch id must be 1 to %d characters", what,
                         PROTOCOL_ID_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x20 || c > 0x7e)
            return error_set(err, "%s: batch id contains a non-printable character at %zu",
                             what, i);
    }
    return 0;
}

static int protocol_check_request(const struct protocol_request *req, char err[ERROR_MAX])
{
    if (names_check_object("domain", req->domain, err) < 0 ||
        names_check_object("endpoint", req->endpoint, err) < 0)
        return error_prefix(err, "request header");
    if (req->id[0] != '\0' && protocol_check_id("request header", req->id, err) < 0)
        return -1;
    return 0;
}

int protocol_request_encode(const struct protocol_request *req, char **out, size_t *len,
                            char err[ERROR_MAX])
{
    const char *format = protocol_format_name(req->format);
    if (format == NULL)
        return error_set(err, "request header: unknown format %d", (int)req->format);
    if (strnlen(req->domain, sizeof req->domain) == sizeof req->domain ||
        strnlen(req->endpoint, sizeof req->endpoint) == sizeof req->endpoint ||
        strnlen(req->id, sizeof req->id) == sizeof req->id)
        return error_set(err, "request header: unterminated string field");
    if (protocol_check_request(req, err) < 0)
        return -1;

    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    bool has_id = req->id[0] != '\0';
    int failed = msgpack_pack_map(&pk, has_id ? 7 : 6) != 0;
    failed |= wire_pack_key_uint(&pk, "v", PROTOCOL_VERSION);
    failed |= wire_pack_key_str(&pk, "domain", req->domain);
    failed |= wire_pack_key_str(&pk, "endpoint", req->endpoint);
    failed |= wire_pack_key_str(&pk, "format", format);
    if (has_id)
        failed |= wire_pack_key_str(&pk, "id", req->id);
    failed |= wire_pack_key_bool(&pk, "strict", req->strict);
    failed |= wire_pack_key_bool(&pk, "validate", req->validate);
    return wire_finish(&sbuf, failed, "request header", out, len, err);
}

int protocol_request_decode(const void *buf, size_t len, struct protocol_request *out,
                            char err[ERROR_MAX])
{
    struct protocol_request req;
    memset(&req, 0, sizeof req);
    req.validate = true;
    uint64_t version = 0;
    char format[16];
    struct wire_field fields[] = {
        {.key = "v", .type = WIRE_UINT, .required = true, .out = &version},
        {.key = "domain", .type = WIRE_STR, .required = true, .out = req.domain,
         .out_size = sizeof req.domain},
        {.key = "endpoint", .type = WIRE_STR, .required = true, .out = req.endpoint,
         .out_size = sizeof req.endpoint},
        {.key = "format", .type = WIRE_STR, .required = true, .out = format,
         .out_size = sizeof format},
        {.key = "id", .type = WIRE_STR, .required = false, .out = req.id,
         .out_size = sizeof req.id},
        {.key = "strict", .type = WIRE_BOOL, .required = false, .out = &req.strict},
        {.key = "validate", .type = WIRE_BOOL, .required = false, .out = &req.validate},
    };
    if (wire_decode_map(buf, len, "request header", fields, sizeof fields / sizeof fields[0],
                        err) < 0)
        return -1;
    if (version != PROTOCOL_VERSION)
        return error_set(err, "request header: unsupported protocol version %llu (expected %d)",
                         (unsigned long long)version, PROTOCOL_VERSION);
    if (protocol_format_from_name(format, &req.format) < 0)
        return error_set(err, "request header: unknown format '%s' (ndjson, json or msgpack)",
                         format);
    /* An id key that is present must be a real id: "" would silently turn
     * dedup off for a producer that meant to use it. */
    if (fields[4].seen && protocol_check_id("request header", req.id, err) < 0)
        return -1;
    if (protocol_check_request(&req, err) < 0)
        return -1;
    *out = req;
    return 0;
}

int protocol_reply_add_error(struct protocol_reply *reply, uint64_t index, const char *reason)
{
    if (reply->error_count >= PROTOCOL_ERRORS_MAX)
        return 0;
    /* Grow by doubling (8, 16, ... capped at PROTOCOL_ERRORS_MAX): the
     * capacity is implied by the count, so the struct needs no extra field. */
    size_t n = reply->error_count;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        size_t cap = n == 0 ? 8 : n * 2;
        if (cap > PROTOCOL_ERRORS_MAX)
            cap = PROTOCOL_ERRORS_MAX;
        struct protocol_record_error *e = realloc(reply->errors, cap * sizeof *e);
        if (e == NULL)
            return -1;
        reply->errors = e;
    }
    struct protocol_record_error *e = &reply->errors[n];
    e->index = index;
    snprintf(e->reason, sizeof e->reason, "%s", reason);
    reply->error_count = n + 1;
    return 0;
}

void protocol_reply_clear(struct protocol_reply *reply)
{
    free(reply->errors);
    memset(reply, 0, sizeof *reply);
}

int protocol_reply_encode(const struct protocol_reply *reply, char **out, size_t *len,
                          char err[ERROR_MAX])
{
    const char *status = protocol_status_name(reply->status);
    if (status == NULL)
        return error_set(err, "reply: unknown status %d", (int)reply->status);
    if (reply->error_count > PROTOCOL_ERRORS_MAX)
        return error_set(err, "reply: %zu record errors (at most %d)", reply->error_count,
                         PROTOCOL_ERRORS_MAX);
    if (strnlen(reply->id, sizeof reply->id) == sizeof reply->id ||
        strnlen(reply->message, sizeof reply->message) == sizeof reply->message ||
        strnlen(reply->syntax.text, sizeof reply->syntax.text) == sizeof reply->syntax.text)
        return error_set(err, "reply: unterminated string field");

    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    int failed = msgpack_pack_map(&pk, reply->syntax.set ? 10 : 9) != 0;
    failed |= wire_pack_key_uint(&pk, "v", PROTOCOL_VERSION);
    failed |= wire_pack_key_str(&pk, "id", reply->id);
    failed |= wire_pack_key_str(&pk, "status", status);
    failed |= wire_pack_key_str(&pk, "kind", error_kind_name(reply->kind));
    failed |= wire_pack_key_uint(&pk, "accepted", reply->accepted);
    failed |= wire_pack_key_uint(&pk, "refused", reply->refused);
    failed |= wire_pack_key_bool(&pk, "duplicate", reply->duplicate);
    failed |= wire_pack_key_str(&pk, "message", reply->message);
    failed |= wire_pack_str(&pk, "errors");
    failed |= msgpack_pack_array(&pk, reply->error_count) != 0;
    for (size_t i = 0; i < reply->error_count; i++) {
        const struct protocol_record_error *e = &reply->errors[i];
        failed |= msgpack_pack_map(&pk, 2) != 0;
        failed |= wire_pack_key_uint(&pk, "index", e->index);
        /* reason is a fixed array filled by add_error; bound it anyway. */
        char reason[PROTOCOL_REASON_MAX];
        snprintf(reason, sizeof reason, "%.*s", (int)sizeof e->reason - 1, e->reason);
        failed |= wire_pack_key_str(&pk, "reason", reason);
    }
    if (reply->syntax.set) {
        failed |= wire_pack_str(&pk, "syntax");
        failed |= msgpack_pack_map(&pk, 4) != 0;
        failed |= wire_pack_key_uint(&pk, "line", reply->syntax.line);
        failed |= wire_pack_key_uint(&pk, "column", reply->syntax.column);
        failed |= wire_pack_key_uint(&pk, "position", reply->syntax.position);
        failed |= wire_pack_key_str(&pk, "text", reply->syntax.text);
    }
    return wire_finish(&sbuf, failed, "reply", out, len, err);
}

/* WIRE_CUSTOM decoder of the "errors" array into a struct protocol_reply. */
static int protocol_decode_errors(const msgpack_object *value, void *out, char err[ERROR_MAX])
{
    struct protocol_reply *reply = out;
    if (value->type != MSGPACK_OBJECT_ARRAY)
        return error_set(err, "reply: key 'errors' must be an array");
    const msgpack_object_array *arr = &value->via.array;
    if (arr->size > PROTOCOL_ERRORS_MAX)
        return error_set(err, "reply: %u record errors (at most %d)", arr->size,
                         PROTOCOL_ERRORS_MAX);
    for (uint32_t i = 0; i < arr->size; i++) {
        uint64_t index = 0;
        char reason[PROTOCOL_REASON_MAX];
        struct wire_field fields[] = {
            {.key = "index", .type = WIRE_UINT, .required = true, .out = &index},
            {.key = "reason", .type = WIRE_STR, .required = true, .out = reason,
             .out_size = sizeof reason},
        };
        char what[48];
        snprintf(what, sizeof what, "reply: errors[%u]", i);
        if (wire_decode_object(&arr->ptr[i], what, fields, 2, err) < 0)
            return -1;
        if (protocol_reply_add_error(reply, index, reason) < 0)
            return error_set(err, "reply: out of memory");
    }
    return 0;
}

/* WIRE_CUSTOM decoder of the "syntax" map into a struct protocol_syntax. */
static int protocol_decode_syntax(const msgpack_object *value, void *out, char err[ERROR_MAX])
{
    struct protocol_syntax *syntax = out;
    struct wire_field fields[] = {
        {.key = "line", .type = WIRE_UINT, .required = true, .out = &syntax->line},
        {.key = "column", .type = WIRE_UINT, .required = true, .out = &syntax->column},
        {.key = "position", .type = WIRE_UINT, .required = true, .out = &syntax->position},
        {.key = "text", .type = WIRE_STR, .required = true, .out = syntax->text,
         .out_size = sizeof syntax->text},
    };
    if (wire_decode_object(value, "reply: syntax", fields, sizeof fields / sizeof fields[0],
                           err) < 0)
        return -1;
    syntax->set = true;
    return 0;
}

int protocol_reply_decode(const void *buf, size_t len, struct protocol_reply *out,
                          char err[ERROR_MAX])
{
    struct protocol_reply reply;
    memset(&reply, 0, sizeof reply);
    uint64_t version = 0;
    char status[16], kind[16];
    struct wire_field fields[] = {
        {.key = "v", .type = WIRE_UINT, .required = true, .out = &version},
        {.key = "id", .type = WIRE_STR, .required = true, .out = reply.id,
         .out_size = sizeof reply.id},
        {.key = "status", .type = WIRE_STR, .required = true, .out = status,
         .out_size = sizeof status},
        {.key = "kind", .type = WIRE_STR, .required = true, .out = kind, .out_size = sizeof kind},
        {.key = "accepted", .type = WIRE_UINT, .required = true, .out = &reply.accepted},
        {.key = "refused", .type = WIRE_UINT, .required = true, .out = &reply.refused},
        {.key = "duplicate", .type = WIRE_BOOL, .required = true, .out = &reply.duplicate},
        {.key = "message", .type = WIRE_STR, .required = true, .out = reply.message,
         .out_size = sizeof reply.message},
        {.key = "errors", .type = WIRE_CUSTOM, .required = true, .out = &reply,
         .decode = protocol_decode_errors},
        {.key = "syntax", .type = WIRE_CUSTOM, .required = false, .out = &reply.syntax,
         .decode = protocol_decode_syntax},
    };
    if (wire_decode_map(buf, len, "reply", fields, sizeof fields / sizeof fields[0], err) < 0)
        goto fail;
    if (version != PROTOCOL_VERSION) {
        error_set(err, "reply: unsupported protocol version %llu (expected %d)",
                  (unsigned long long)version, PROTOCOL_VERSION);
        goto fail;
    }
    int status_index = nametable_find(protocol_status_names, PROTOCOL_STATUS_COUNT, status, false);
    if (status_index < 0) {
        error_set(err, "reply: unknown status '%s'", status);
        goto fail;
    }
    reply.status = (enum protocol_status)status_index;
    if (error_kind_from_name(kind, &reply.kind) < 0) {
        error_set(err, "reply: unknown kind '%s'", kind);
        goto fail;
    }
    *out = reply;
    return 0;
fail:
    protocol_reply_clear(&reply);
    return -1;
}

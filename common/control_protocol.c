/* control_protocol.c - control socket messages (strict msgpack) and the one-shot
 * REQ client used by the `lakehouse` command (see control_protocol.h). */
#include "control_protocol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "nametable.h"
#include "wire.h"

static const char *const control_cmd_names[CONTROL_CMD_COUNT] = {
    [CONTROL_PING] = "ping",       [CONTROL_REPLAY] = "replay",
    [CONTROL_RECONCILE] = "reconcile", [CONTROL_DROP] = "drop",
    [CONTROL_ROLLBACK] = "rollback", [CONTROL_EXPIRE] = "expire",
    [CONTROL_EXPIRE_DRY_RUN] = "expire_dry_run", [CONTROL_COMPACT] = "compact",
    [CONTROL_EXPORT] = "export",
    [CONTROL_RUN] = "run",         [CONTROL_RELOAD] = "reload",
};

const char *control_cmd_name(enum control_cmd cmd)
{
    return nametable_name(control_cmd_names, CONTROL_CMD_COUNT, (int)cmd, "?");
}

int control_cmd_from_name(const char *name, enum control_cmd *out)
{
    int c = nametable_find(control_cmd_names, CONTROL_CMD_COUNT, name, false);
    if (c < 0)
        return -1;
    *out = (enum control_cmd)c;
    return 0;
}

/* "" or YYYY-MM-DD with a plausible month and day; the process that acts on
 * the range resolves it against the dt= directories that exist. */
static bool control_is_date(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    }
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static int control_check_request(const struct control_request *req, char err[ERROR_MAX])
{
    if (req->cmd < 0 || req->cmd >= CONTROL_CMD_COUNT)
        return error_set(err, "control request: invalid command %d", (int)req->cmd);
    if (req->domain[0] != '\0' && names_check_object("domain", req->domain, err) < 0)
        return error_prefix(err, "control request");
    if (req->name[0] != '\0' && names_check_object("table/job", req->name, err) < 0)
        return error_prefix(err, "control request");
    /* from is a date, or a snapshot id for "rollback" */
    if (req->from[0] != '\0' && !control_is_date(req->from) &&
        strspn(req->from, "0123456789") != strlen(req->from))
        return error_set(err, "control request: invalid from date '%s' (YYYY-MM-DD)", req->from);
    if (req->to[0] != '\0' && !control_is_date(req->to))
        return error_set(err, "control request: invalid to date '%s' (YYYY-MM-DD)", req->to);
    return 0;
}

int control_request_encode(const struct control_request *req, char **out, size_t *len,
                           char err[ERROR_MAX])
{
    if (strnlen(req->domain, sizeof req->domain) == sizeof req->domain ||
        strnlen(req->name, sizeof req->name) == sizeof req->name ||
        strnlen(req->from, sizeof req->from) == sizeof req->from ||
        strnlen(req->to, sizeof req->to) == sizeof req->to)
        return error_set(err, "control request: unterminated string field");
    if (control_check_request(req, err) < 0)
        return -1;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    int failed = msgpack_pack_map(&pk, 6) != 0;
    failed |= wire_pack_key_uint(&pk, "v", CONTROL_VERSION);
    failed |= wire_pack_key_str(&pk, "cmd", control_cmd_name(req->cmd));
    failed |= wire_pack_key_str(&pk, "domain", req->domain);
    failed |= wire_pack_key_str(&pk, "name", req->name);
    failed |= wire_pack_key_str(&pk, "from", req->from);
    failed |= wire_pack_key_str(&pk, "to", req->to);
    return wire_finish(&sbuf, failed, "control request", out, len, err);
}

int control_request_decode(const void *buf, size_t len, struct control_request *out,
                           char err[ERROR_MAX])
{
    struct control_request req;
    memset(&req, 0, sizeof req);
    uint64_t version = 0;
    char cmd[32];
    struct wire_field fields[] = {
        {.key = "v", .type = WIRE_UINT, .required = true, .out = &version},
        {.key = "cmd", .type = WIRE_STR, .required = true, .out = cmd, .out_size = sizeof cmd},
        {.key = "domain", .type = WIRE_STR, .required = true, .out = req.domain,
         .out_size = sizeof req.domain},
        {.key = "name", .type = WIRE_STR, .required = true, .out = req.name,
         .out_size = sizeof req.name},
        {.key = "from", .type = WIRE_STR, .required = true, .out = req.from,
         .out_size = sizeof req.from},
        {.key = "to", .type = WIRE_STR, .required = true, .out = req.to,
         .out_size = sizeof req.to},
    };
    if (wire_decode_map(buf, len, "control request", fields, sizeof fields / sizeof fields[0],
                        err) < 0)
        return -1;
    if (version != CONTROL_VERSION)
        return error_set(err, "control request: unsupported version %llu (expected %d)",
                         (unsigned long long)version, CONTROL_VERSION);
    if (control_cmd_from_name(cmd, &req.cmd) < 0)
        return error_set(err, "control request: unknown command '%s'", cmd);
    if (control_check_request(&req, err) < 0)
        return -1;
    *out = req;
    return 0;
}

int control_reply_encode(const struct control_reply *reply, char **out, size_t *len,
                         char err[ERROR_MAX])
{
    if (strnlen(reply->message, sizeof reply->message) == sizeof reply->message)
        return error_set(err, "control reply: unterminated message");
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    enum error_kind kind = reply->ok ? ERROR_NONE
                           : reply->kind == ERROR_NONE ? ERROR_INTERNAL : reply->kind;
    int failed = msgpack_pack_map(&pk, 6) != 0;
    failed |= wire_pack_key_uint(&pk, "v", CONTROL_VERSION);
    failed |= wire_pack_key_str(&pk, "status", reply->ok ? "ok" : "error");
    failed |= wire_pack_key_str(&pk, "kind", error_kind_name(kind));
    failed |= wire_pack_key_str(&pk, "message", reply->message);
    failed |= wire_pack_key_int(&pk, "count", reply->count);
    failed |= wire_pack_key_int(&pk, "id", reply->id);
    return wire_finish(&sbuf, failed, "control reply", out, len, err);
}

int control_reply_decode(const void *buf, size_t len, struct control_reply *out,
                         char err[ERROR_MAX])
{
    struct control_reply reply;
    memset(&reply, 0, sizeof reply);
    uint64_t version = 0;
    char status[8], kind[16];
    struct wire_field fields[] = {
        {.key = "v", .type = WIRE_UINT, .required = true, .out = &version},
        {.key = "status", .type = WIRE_STR, .required = true, .out = status,
         .out_size = sizeof status},
        {.key = "kind", .type = WIRE_STR, .required = true, .out = kind, .out_size = sizeof kind},
        {.key = "message", .type = WIRE_STR, .required = true, .out = reply.message,
         .out_size = sizeof reply.message},
        {.key = "count", .type = WIRE_INT, .required = true, .out = &reply.count},
        {.key = "id", .type = WIRE_INT, .required = true, .out = &reply.id},
    };
    if (wire_decode_map(buf, len, "control reply", fields, sizeof fields / sizeof fields[0],
                        err) < 0)
        return -1;
    if (version != CONTROL_VERSION)
        return error_set(err, "control reply: unsupported version %llu (expected %d)",
                         (unsigned long long)version, CONTROL_VERSION);
    if (strcmp(status, "ok") == 0)
        reply.ok = true;
    else if (strcmp(status, "error") == 0)
        reply.ok = false;
    else
        return error_set(err, "control reply: unknown status '%s'", status);
    if (error_kind_from_name(kind, &reply.kind) < 0 || (reply.kind == ERROR_NONE) != reply.ok)
        return error_set(err, "control reply: kind '%s' does not go with status '%s'", kind,
                         status);
    *out = reply;
    return 0;
}

int control_call(void *zmq_context, const char *endpoint, const struct control_request *req,
                 int timeout_ms, struct control_reply *reply, char err[ERROR_MAX])
{
    char *buf = NULL;
    size_t len = 0;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int ret = -1;
    void *sock = NULL;

    if (control_request_encode(req, &buf, &len, err) < 0)
        goto done;
    sock = zmq_socket(zmq_context, ZMQ_REQ);
    if (sock == NULL) {
        error_set(err, "control %s: %s", endpoint, zmq_strerror(zmq_errno()));
        goto done;
    }
    /* A fresh socket per call, LINGER 0 and closed at the end: a REQ whose
     * reply never came is stuck in its send/recv state machine, so it is
     * thrown away rather than reused, and closing it never blocks. */
    int timeout = timeout_ms > 0 ? timeout_ms : -1;
    int linger = 0;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout) != 0) {
        error_set(err, "control %s: socket options: %s", endpoint, zmq_strerror(zmq_errno()));
        goto done;
    }
    if (zmq_connect(sock, endpoint) != 0) {
        error_set(err, "control %s: connect: %s", endpoint, zmq_strerror(zmq_errno()));
        goto done;
    }
    if (zmq_send(sock, buf, len, 0) < 0) {
        int e = zmq_errno();
        if (e == EAGAIN)
            error_set(err, "could not send to %s within %d ms: is the process running?",
                      endpoint, timeout_ms);
        else
            error_set(err, "control %s: send: %s", endpoint, zmq_strerror(e));
        goto done;
    }
    if (zmq_msg_recv(&msg, sock, 0) < 0) {
        int e = zmq_errno();
        if (e == EAGAIN)
            error_set(err, "no reply from %s within %d ms: is the process running?", endpoint,
                      timeout_ms);
        else
            error_set(err, "control %s: receive: %s", endpoint, zmq_strerror(e));
        goto done;
    }
    int more = 0;
    size_t more_size = sizeof more;
    if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_size) == 0 && more) {
        error_set(err, "control %s: malformed reply (more than one frame)", endpoint);
        goto done;
    }
    if (control_reply_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), reply, err) < 0) {
        error_prefix(err, "control %s", endpoint);
        goto done;
    }
    ret = 0;
done:
    zmq_msg_close(&msg);
    if (sock != NULL)
        zmq_close(sock);
    free(buf);
    return ret;
}

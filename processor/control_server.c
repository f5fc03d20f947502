/* control_server.c - the processor's control socket (ZeroMQ REP, control_protocol.h).
 *
 * One request at a time, answered when the work is done: "ping", "reconcile"
 * (scan bronze against the ledger and merge everything missing now; count =
 * files merged) and "replay" (replay.c). A malformed request is answered
 * with an error and otherwise ignored; it is never fatal. */
#include "processor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "log.h"

void *control_socket_open(void *zmq_context, const struct config *cfg, char err[ERROR_MAX])
{
    void *s = zmq_socket(zmq_context, ZMQ_REP);
    if (s == NULL) {
        error_set(err, "control socket: %s", zmq_strerror(errno));
        return NULL;
    }
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(s, cfg->processor_control_endpoint) != 0) {
        error_set(err, "cannot bind control socket %s: %s", cfg->processor_control_endpoint,
                  zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

void control_socket_close(void **socket, const struct config *cfg)
{
    if (*socket == NULL)
        return;
    zmq_close(*socket);
    *socket = NULL;
    /* libzmq leaves the ipc socket file behind; a stale one would look like
     * a running processor to whoever waits for it */
    const char *ipc = "ipc://";
    if (strncmp(cfg->processor_control_endpoint, ipc, strlen(ipc)) == 0)
        unlink(cfg->processor_control_endpoint + strlen(ipc));
}

static void control_dispatch(struct processor_ctx *ctx, const struct control_request *req,
                             struct control_reply *reply)
{
    char err[ERROR_MAX] = "";
    switch (req->cmd) {
    case CONTROL_PING:
        reply->ok = true;
        reply->count = (int64_t)pending_count(ctx->pending);
        snprintf(reply->message, sizeof reply->message, "processor ok: %zu files pending",
                 pending_count(ctx->pending));
        break;
    case CONTROL_RECONCILE: {
        int64_t merged = -1;
        if (reconcile_scan(ctx, err) >= 0)
            merged = reconcile_drain(ctx, err);
        reply->ok = merged >= 0;
        reply->count = merged >= 0 ? merged : 0;
        if (merged >= 0)
            snprintf(reply->message, sizeof reply->message, "merged %" PRId64 " files", merged);
        else
            snprintf(reply->message, sizeof reply->message, "reconcile failed: %s", err);
        break;
    }
    case CONTROL_REPLAY: replay_run(ctx, req, reply); break;
    case CONTROL_ROLLBACK: rollback_run(ctx, req, reply); break;
    case CONTROL_DROP: drop_run(ctx, req, reply); break;
    case CONTROL_EXPIRE:
    case CONTROL_EXPIRE_DRY_RUN: expire_run(ctx, req, reply); break;
    case CONTROL_COMPACT: compact_run(ctx, req, reply); break;
    case CONTROL_EXPORT: export_run(ctx, req, reply); break;
    case CONTROL_RUN:
    case CONTROL_RELOAD:
    case CONTROL_CMD_COUNT:
        reply->ok = false;
        reply->kind = ERROR_INVALID;
        snprintf(reply->message, sizeof reply->message,
                 "unknown command '%s' (processor knows ping, reconcile, replay, rollback, drop, "
                 "expire, expire_dry_run, compact, export)",
                 control_cmd_name(req->cmd));
        break;
    }
}

void control_serve_one(struct processor_ctx *ctx)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, ctx->control, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return; /* EAGAIN: nothing after all */
    }
    struct control_reply reply = {0};
    struct control_request req = {0};
    char err[ERROR_MAX] = "";
    bool more = zmq_msg_more(&msg);
    int rc = control_request_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &req, err);
    zmq_msg_close(&msg);
    while (more) { /* a request is one frame: drop the rest */
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, ctx->control, 0) < 0)
            more = false;
        else
            more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
        rc = error_set(err, "request has more than one frame");
    }
    if (rc < 0) {
        log_warn("control_bad_request reason=\"%s\"", err);
        reply.kind = ERROR_INVALID;
        snprintf(reply.message, sizeof reply.message, "bad request: %s", err);
    } else {
        log_info("control_request cmd=%s domain=%s name=%s from=%s to=%s", control_cmd_name(req.cmd),
                 req.domain[0] ? req.domain : "-", req.name[0] ? req.name : "-",
                 req.from[0] ? req.from : "-", req.to[0] ? req.to : "-");
        control_dispatch(ctx, &req, &reply);
    }
    char *buf = NULL;
    size_t len = 0;
    if (control_reply_encode(&reply, &buf, &len, err) < 0) {
        /* REP must answer before it can receive again: send an empty frame
         * (the client reports it as malformed) */
        log_error("control_reply_failed reason=\"%s\"", err);
        zmq_send(ctx->control, "", 0, ZMQ_DONTWAIT);
        return;
    }
    if (zmq_send(ctx->control, buf, len, ZMQ_DONTWAIT) < 0)
        log_warn("control_reply_failed reason=\"%s\"", zmq_strerror(errno));
    free(buf);
}

/* commands.c - the transformer's control socket (REP, control_protocol.h):
 *   ping    -> ok, count = jobs
 *   reload  -> re-read the jobs from the catalog, count = jobs
 *   run     -> create the execution (RUNNING) now, reply with its id, and run
 *              it right after (schedule_run_next takes forced runs first). A
 *              second "run" of a job whose forced run has not started yet is
 *              answered with the same execution id (coalesced).
 *   expire, expire_dry_run -> gold retention (gold_retention.c)
 *   drop    -> delete a gold table no job writes any more (drop.c)
 *   export  -> Iceberg export of changed gold tables (gold_export.c)
 * A malformed request gets an error reply (REP must always answer), never
 * stops the process. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "control_protocol.h"
#include "log.h"
#include "transformer.h"

#define COMMANDS_MAX_PER_TURN 64

static void commands_run(struct transformer_ctx *ctx, const struct control_request *req,
                         struct control_reply *reply)
{
    char err[ERROR_MAX];
    if (req->domain[0] == '\0' || req->name[0] == '\0') {
        snprintf(reply->message, sizeof reply->message, "run: domain and job name are required");
        return;
    }
    struct tjob *job = jobs_find(&ctx->jobs, req->domain, req->name);
    if (job == NULL) {
        /* perhaps just added and its job.changed hint not seen (or lost) */
        if (jobs_reload(ctx, err) < 0)
            log_warn("jobs_reload_failed reason=\"%s\"", err);
        job = jobs_find(&ctx->jobs, req->domain, req->name);
    }
    if (job == NULL) {
        reply->kind = ERROR_NOT_FOUND;
        snprintf(reply->message, sizeof reply->message, "unknown job %s/%s", req->domain,
                 req->name);
        return;
    }
    if (!job->valid) {
        if (job_validate(&job->def, err) == 0)
            snprintf(err, sizeof err, "its SQL references or schedule cannot be read");
        reply->kind = ERROR_INVALID;
        snprintf(reply->message, sizeof reply->message, "job %s/%s is invalid: %.400s",
                 req->domain, req->name, err);
        return;
    }
    if (job->forced_execution > 0) {
        reply->ok = true;
        reply->id = job->forced_execution;
        snprintf(reply->message, sizeof reply->message, "execution %lld already queued",
                 (long long)job->forced_execution);
        return;
    }
    int64_t id = 0;
    if (catalog_execution_start(ctx->catalog, job->def.domain, job->def.name, "manual", &id,
                                err) < 0) {
        snprintf(reply->message, sizeof reply->message, "%s", err);
        return;
    }
    job->forced_execution = id;
    reply->ok = true;
    reply->id = id;
    snprintf(reply->message, sizeof reply->message, "execution %lld started", (long long)id);
    log_info("run_requested job=%s.%s execution=%lld", job->def.domain, job->def.name,
             (long long)id);
}

static void commands_dispatch(struct transformer_ctx *ctx, const struct control_request *req,
                              struct control_reply *reply)
{
    char err[ERROR_MAX];
    switch (req->cmd) {
    case CONTROL_PING:
        reply->ok = true;
        reply->count = (int64_t)ctx->jobs.count;
        snprintf(reply->message, sizeof reply->message,
                 "transformer: %zu jobs, %lld runs succeeded, %lld failed", ctx->jobs.count,
                 (long long)ctx->runs_ok, (long long)ctx->runs_failed);
        break;
    case CONTROL_RELOAD:
        if (jobs_reload(ctx, err) < 0) {
            snprintf(reply->message, sizeof reply->message, "%s", err);
            break;
        }
        reply->ok = true;
        reply->count = (int64_t)ctx->jobs.count;
        snprintf(reply->message, sizeof reply->message, "%zu jobs loaded", ctx->jobs.count);
        break;
    case CONTROL_RUN: commands_run(ctx, req, reply); break;
    case CONTROL_EXPIRE:
    case CONTROL_EXPIRE_DRY_RUN:
        if (gold_expire(ctx, req->domain, req->name, req->cmd == CONTROL_EXPIRE_DRY_RUN, reply,
                        err) < 0) {
            reply->ok = false;
            snprintf(reply->message, sizeof reply->message, "%s", err);
        }
        break;
    case CONTROL_DROP: {
        int rc = gold_drop(ctx, req->domain, req->name, reply, err);
        if (rc < 0) {
            reply->ok = false;
            reply->kind = error_kind_of(rc);
            snprintf(reply->message, sizeof reply->message, "%s", err);
        }
        break;
    }
    case CONTROL_EXPORT: gold_export_run(ctx, req, reply); break;
    case CONTROL_REPLAY:
    case CONTROL_RECONCILE:
    case CONTROL_ROLLBACK:
    case CONTROL_COMPACT:
    case CONTROL_CMD_COUNT:
        reply->kind = ERROR_INVALID;
        snprintf(reply->message, sizeof reply->message,
                 "unknown command '%s' (transformer: ping, run, reload, expire, "
                 "expire_dry_run, drop, export)", control_cmd_name(req->cmd));
        break;
    }
}

static void commands_reply(struct transformer_ctx *ctx, const struct control_reply *reply)
{
    char err[ERROR_MAX];
    char *buf = NULL;
    size_t len = 0;
    if (control_reply_encode(reply, &buf, &len, err) < 0) {
        /* cannot happen with our own reply; answer something decodable */
        struct control_reply fallback = {.ok = false};
        snprintf(fallback.message, sizeof fallback.message, "internal error: %.400s", err);
        if (control_reply_encode(&fallback, &buf, &len, err) < 0) {
            log_error("control_reply_failed reason=\"%s\"", err);
            return;
        }
    }
    if (zmq_send(ctx->rep, buf, len, 0) < 0)
        log_warn("control_reply_failed reason=\"%s\"", zmq_strerror(zmq_errno()));
    free(buf);
}

void commands_handle(struct transformer_ctx *ctx)
{
    for (int i = 0; i < COMMANDS_MAX_PER_TURN; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, ctx->rep, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&msg);
            if (e != EAGAIN && e != EINTR)
                log_warn("control_receive_failed reason=\"%s\"", zmq_strerror(e));
            return;
        }
        struct control_request req;
        struct control_reply reply = {.ok = false};
        char err[ERROR_MAX];
        int more = 0;
        size_t more_size = sizeof more;
        if (zmq_getsockopt(ctx->rep, ZMQ_RCVMORE, &more, &more_size) == 0 && more) {
            /* read the rest so that the reply pairs with this request */
            while (more) {
                zmq_msg_t extra;
                zmq_msg_init(&extra);
                int rc = zmq_msg_recv(&extra, ctx->rep, 0);
                zmq_msg_close(&extra);
                more_size = sizeof more;
                if (rc < 0 || zmq_getsockopt(ctx->rep, ZMQ_RCVMORE, &more, &more_size) != 0)
                    more = 0;
            }
            reply.kind = ERROR_INVALID;
            snprintf(reply.message, sizeof reply.message,
                     "malformed control request: more than one frame");
        } else if (control_request_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &req, err) <
                   0) {
            reply.kind = ERROR_INVALID;
            snprintf(reply.message, sizeof reply.message, "%s", err);
            log_warn("control_request_malformed reason=\"%s\"", err);
        } else {
            commands_dispatch(ctx, &req, &reply);
        }
        zmq_msg_close(&msg);
        commands_reply(ctx, &reply);
    }
}

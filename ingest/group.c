/* group.c - receive, handle, commit, reply (see group.h). */
#include "group.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "batch.h"
#include "dedup.h"
#include "endpoints.h"
#include "ingest.h"
#include "log.h"
#include "protocol.h"
#include "spool.h"
#include "stats.h"

/* ROUTER routing ids are at most 255 bytes. */
#define GROUP_ROUTING_ID_MAX 256
/* Frames of a request: routing id, empty delimiter, header, body. */
#define GROUP_FRAMES 4

struct group_reply {
    unsigned char routing_id[GROUP_ROUTING_ID_MAX];
    size_t routing_id_len;
    struct protocol_reply reply;
    struct spool_table *table; /* the table whose commit this reply waits for */
    bool remembered;           /* its id went into the dedup window */
    char domain[NAMES_MAX];
    char endpoint[NAMES_MAX];
};

struct group {
    size_t max;
    size_t count;
    struct group_reply *replies;
};

int group_open(size_t max_batches, struct group **out, char err[ERROR_MAX])
{
    struct group *g = calloc(1, sizeof *g);
    if (g == NULL || (g->replies = calloc(max_batches, sizeof *g->replies)) == NULL) {
        free(g);
        return error_set(err, "group: out of memory for %zu reply slots", max_batches);
    }
    g->max = max_batches;
    *out = g;
    return 0;
}

void group_close(struct group **group)
{
    struct group *g = *group;
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->count; i++)
        protocol_reply_clear(&g->replies[i].reply);
    free(g->replies);
    free(g);
    *group = NULL;
}

/* Receive one multipart message without waiting. 1: got one (nparts set,
 * parts beyond GROUP_FRAMES discarded and counted), 0: nothing waiting,
 * -1: interrupted or the context is gone. */
static int group_recv(void *router, zmq_msg_t parts[GROUP_FRAMES], int *nparts)
{
    *nparts = 0;
    zmq_msg_init(&parts[0]);
    if (zmq_msg_recv(&parts[0], router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&parts[0]);
        return errno == EAGAIN ? 0 : -1;
    }
    int n = 1;
    bool more = zmq_msg_more(&parts[0]);
    while (more) { /* the rest of a multipart message is already here */
        zmq_msg_t extra;
        zmq_msg_t *m = n < GROUP_FRAMES ? &parts[n] : &extra;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, router, 0) < 0) {
            zmq_msg_close(m);
            break;
        }
        more = zmq_msg_more(m);
        if (m == &extra)
            zmq_msg_close(m);
        n++;
    }
    *nparts = n;
    return 1;
}

static void group_close_parts(zmq_msg_t parts[GROUP_FRAMES], int nparts)
{
    for (int i = 0; i < nparts && i < GROUP_FRAMES; i++)
        zmq_msg_close(&parts[i]);
}

static void group_status(struct group_reply *r, enum protocol_status status, const char *fmt,
                         ...) __attribute__((format(printf, 3, 4)));
static void group_status(struct group_reply *r, enum protocol_status status, const char *fmt, ...)
{
    r->reply.status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reply.message, sizeof r->reply.message, fmt, ap);
    va_end(ap);
}

/* Answer a re-sent batch id from the window. */
static void group_duplicate(struct ingest_ctx *ctx, struct group_reply *r,
                            const struct protocol_request *req, const struct dedup_counts *c)
{
    r->reply.duplicate = true;
    r->reply.accepted = c->accepted;
    r->reply.refused = c->refused;
    group_status(r, c->refused > 0 ? PROTOCOL_STATUS_PARTIAL : PROTOCOL_STATUS_OK,
                 "duplicate of batch '%s', already stored; not stored again", req->id);
    /* The original is still waiting for this group's fdatasync: so does
     * this answer (and it fails with it). */
    if (c->group == ctx->group_number)
        r->table = spool_table_get(ctx->spools, req->domain, req->endpoint);
    ctx->stats.duplicates++;
}

/* A re-sent batch id found on disk at start (not stored in this run): its
 * first attempt may have been in a group that a crash tore (not acknowledged,
 * yet a prefix of its lines survived in the spool, and of its refused lines
 * in rejected/). The batch has just been validated again: of its lines, drop
 * those already on disk and keep the rest, so the batch ends up stored
 * exactly once. All of it on disk: a plain duplicate (returns false). */
static bool group_complete_recovered(struct ingest_ctx *ctx, struct group_reply *r,
                                     const struct protocol_request *req,
                                     struct spool_table *table, const struct spool_mark *before,
                                     const struct dedup_counts *stored)
{
    if (r->reply.accepted <= stored->accepted && r->reply.refused <= stored->refused) {
        spool_rollback(table, before);
        r->reply.duplicate = true;
        group_status(r, r->reply.refused > 0 ? PROTOCOL_STATUS_PARTIAL : PROTOCOL_STATUS_OK,
                     "duplicate of batch '%s', already stored; not stored again", req->id);
        ctx->stats.duplicates++;
        return false;
    }
    spool_drop_since(table, before, stored->accepted, stored->refused);
    log_warn("batch_completed domain=%s endpoint=%s id=%s accepted=%" PRIu64
             " on_disk_before=%" PRIu64 " reason=\"a crash tore its first attempt\"",
             req->domain, req->endpoint, req->id, r->reply.accepted, stored->accepted);
    return true;
}

static void group_handle(struct ingest_ctx *ctx, struct group_reply *r,
                         zmq_msg_t parts[GROUP_FRAMES], int nparts)
{
    if (nparts != GROUP_FRAMES) {
        group_status(r, PROTOCOL_STATUS_REFUSED,
                     "malformed request: expected 2 frames (header, body) after the "
                     "delimiter, got %d",
                     nparts - 2);
        return;
    }
    struct protocol_request req;
    char err[ERROR_MAX];
    if (protocol_request_decode(zmq_msg_data(&parts[2]), zmq_msg_size(&parts[2]), &req, err) <
        0) {
        group_status(r, PROTOCOL_STATUS_REFUSED, "malformed request header: %s", err);
        return;
    }
    snprintf(r->reply.id, sizeof r->reply.id, "%s", req.id);
    snprintf(r->domain, sizeof r->domain, "%s", req.domain);
    snprintf(r->endpoint, sizeof r->endpoint, "%s", req.endpoint);
    const char *body = zmq_msg_data(&parts[3]);
    size_t len = zmq_msg_size(&parts[3]);
    ctx->stats.batches++;

    struct dedup_counts counts;
    bool seen = dedup_lookup(ctx->dedup, req.domain, req.endpoint, req.id, &counts);
    if (seen && counts.group != 0) {
        group_duplicate(ctx, r, &req, &counts);
        return;
    }
    size_t held = spool_pending_bytes(ctx->spools);
    if (held > 0 && held + len > (size_t)ctx->cfg->ingest_queue_max_bytes) {
        group_status(r, PROTOCOL_STATUS_BUSY,
                     "ingest is busy (%zu bytes waiting for the disk); retry later", held);
        ctx->stats.busy++;
        return;
    }
    const struct schema *schema = NULL;
    int rc = endpoints_get(ctx->endpoints, req.domain, req.endpoint, &schema, err);
    if (rc == 0) {
        group_status(r, PROTOCOL_STATUS_REFUSED, "unknown endpoint %s/%s", req.domain,
                     req.endpoint);
        r->reply.kind = ERROR_NOT_FOUND;
        return;
    }
    if (rc < 0) {
        group_status(r, PROTOCOL_STATUS_ERROR, "catalog: %s", err);
        return;
    }
    struct spool_table *table = spool_table_get(ctx->spools, req.domain, req.endpoint);
    if (table == NULL) {
        group_status(r, PROTOCOL_STATUS_ERROR, "out of memory");
        return;
    }
    struct spool_mark before;
    spool_mark(table, &before);
    batch_process(ctx, &req, body, len, table, schema, &r->reply);
    if (r->reply.status != PROTOCOL_STATUS_OK && r->reply.status != PROTOCOL_STATUS_PARTIAL)
        return;
    if (seen && !group_complete_recovered(ctx, r, &req, table, &before, &counts))
        return;
    r->table = table;
    struct dedup_counts stored = {
        .accepted = r->reply.accepted, .refused = r->reply.refused, .group = ctx->group_number};
    r->remembered = dedup_insert(ctx->dedup, req.domain, req.endpoint, req.id, &stored) == 0;
}

/* spool_failed_fn: the batches of a table whose commit failed were not
 * stored; say so, and let a re-send through the dedup window. */
static void group_on_commit_failed(struct spool_table *table, const char *err, void *arg)
{
    struct ingest_ctx *ctx = arg;
    struct group *g = ctx->group;
    for (size_t i = 0; i < g->count; i++) {
        struct group_reply *r = &g->replies[i];
        if (r->table != table)
            continue;
        if (r->remembered)
            dedup_remove(ctx->dedup, r->domain, r->endpoint, r->reply.id);
        r->remembered = false;
        char id[PROTOCOL_ID_MAX];
        memcpy(id, r->reply.id, sizeof id);
        protocol_reply_clear(&r->reply); /* drops counts and the error list */
        memcpy(r->reply.id, id, sizeof id);
        r->reply.status = PROTOCOL_STATUS_ERROR;
        r->reply.kind = table->failure;
        snprintf(r->reply.message, sizeof r->reply.message,
                 "could not store the batch (nothing acknowledged): %s", err);
    }
}

static void group_send(struct ingest_ctx *ctx, struct group_reply *r)
{
    char err[ERROR_MAX];
    char *buf = NULL;
    size_t len = 0;
    if (protocol_reply_encode(&r->reply, &buf, &len, err) < 0) {
        log_error("reply_encode_failed id=\"%s\" reason=\"%s\"", r->reply.id, err);
        return;
    }
    /* ROUTER drops a reply to a peer that is gone or not reading; that peer
     * re-sends after its timeout and the dedup window answers it. */
    if (zmq_send(ctx->router, r->routing_id, r->routing_id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(ctx->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(ctx->router, buf, len, ZMQ_DONTWAIT) < 0)
        log_warn("reply_dropped id=\"%s\" reason=\"%s\"", r->reply.id, zmq_strerror(errno));
    free(buf);
}

static void group_account(struct ingest_ctx *ctx, const struct group_reply *r)
{
    const struct protocol_reply *p = &r->reply;
    if (!p->duplicate) {
        ctx->stats.accepted += p->accepted;
        ctx->stats.refused += p->refused;
        if (p->accepted + p->refused > 0) { /* a known endpoint: one series each */
            char label[2 * NAMES_MAX];
            snprintf(label, sizeof label, "%s/%s", r->domain, r->endpoint);
            stats_count("ingest_records_accepted_total", label, p->accepted);
            stats_count("ingest_records_refused_total", label, p->refused);
        }
    }
    if (p->status == PROTOCOL_STATUS_ERROR)
        ctx->stats.errors++;
    if (p->status == PROTOCOL_STATUS_OK || p->status == PROTOCOL_STATUS_BUSY)
        log_debug("batch domain=%s endpoint=%s id=\"%s\" status=%s accepted=%" PRIu64
                  " duplicate=%d",
                  r->domain, r->endpoint, p->id, protocol_status_name(p->status), p->accepted,
                  p->duplicate);
    else
        log_info("batch domain=%s endpoint=%s id=\"%s\" status=%s accepted=%" PRIu64
                 " refused=%" PRIu64 " message=\"%s\"",
                 r->domain[0] ? r->domain : "-", r->endpoint[0] ? r->endpoint : "-", p->id,
                 protocol_status_name(p->status), p->accepted, p->refused, p->message);
}

size_t group_run(struct ingest_ctx *ctx)
{
    struct group *g = ctx->group;
    ctx->group_number++;
    g->count = 0;
    size_t received = 0;
    while (received < g->max) {
        zmq_msg_t parts[GROUP_FRAMES];
        int nparts;
        if (group_recv(ctx->router, parts, &nparts) <= 0)
            break;
        received++;
        /* Without a routing id and an empty delimiter there is no way to
         * answer in the protocol: log and drop (a peer cannot crash us). */
        if (nparts < 2 || zmq_msg_size(&parts[1]) != 0 ||
            zmq_msg_size(&parts[0]) > GROUP_ROUTING_ID_MAX) {
            log_warn("request_dropped reason=\"malformed envelope (%d frames)\"", nparts);
            group_close_parts(parts, nparts);
            continue;
        }
        struct group_reply *r = &g->replies[g->count++];
        memset(r, 0, sizeof *r);
        r->routing_id_len = zmq_msg_size(&parts[0]);
        memcpy(r->routing_id, zmq_msg_data(&parts[0]), r->routing_id_len);
        group_handle(ctx, r, parts, nparts);
        group_close_parts(parts, nparts);
        /* End the group once a table has a bronze file's worth: it is sealed
         * right after the commit, so files stay near seal_max_bytes. */
        if (r->table != NULL &&
            r->table->size + r->table->pending.len >= (uint64_t)ctx->cfg->seal_max_bytes)
            break;
    }
    if (g->count == 0)
        return received;
    spool_commit(ctx->spools, group_on_commit_failed, ctx);
    ctx->stats.groups++;
    for (size_t i = 0; i < g->count; i++) {
        struct group_reply *r = &g->replies[i];
        group_account(ctx, r);
        group_send(ctx, r);
        protocol_reply_clear(&r->reply);
    }
    g->count = 0;
    return received;
}

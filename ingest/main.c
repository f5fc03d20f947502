/* main.c - lakehouse-ingest: the producer endpoint of the pipeline.
 *
 *   lakehouse-ingest --data DIR [--config FILE] [--help]
 *
 * Start-up: load the configuration, create the data directory layout, take
 * the pid file (an exclusive lock: one ingest per data directory), open the
 * catalog and the event sockets, seal the spool files a previous run left
 * (spool_recover), learn _seq marks and the batch-id window (recover.c),
 * and only then bind the ROUTER socket, so that a producer that can connect
 * talks to a ready process. Then one zmq_poll loop over the ROUTER (group
 * commits, group.c), the schema.changed subscription and the sealer
 * thread's results (sealer.h: spools are sealed off the loop), with a
 * housekeeping tick every HOUSEKEEPING_MS (hand spools due by age/size to
 * the sealer, re-check catalog versions, log counters); a spool that falls
 * due by seal_quiet_ms or age wakes the loop before the tick. SIGTERM/SIGINT
 * only set a flag: the loop
 * finishes its group, seals every spool and exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <zmq.h>

#include "batch.h"
#include "dedup.h"
#include "endpoints.h"
#include "fsutil.h"
#include "group.h"
#include "ingest.h"
#include "landing.h"
#include "log.h"
#include "daemon.h"
#include "recover.h"
#include "spool.h"
#include "stats.h"
#include "timeutil.h"
#include "zap.h"

#define HOUSEKEEPING_MS 50
#define CATALOG_CHECK_MS 2000
#define STATS_LOG_MS 60000
/* Events read per loop turn: a flood of hints must not starve producers. */
#define EVENTS_PER_TURN 1000

void ingest_publish(struct ingest_ctx *ctx, enum event_topic topic, const char *domain,
                    const char *name, const char *file, int64_t count)
{
    if (ctx->publisher == NULL)
        return;
    struct event ev = {.topic = topic, .count = count};
    snprintf(ev.domain, sizeof ev.domain, "%s", domain);
    snprintf(ev.name, sizeof ev.name, "%s", name);
    snprintf(ev.file, sizeof ev.file, "%s", file);
    char err[ERROR_MAX];
    if (event_publish(ctx->publisher, &ev, err) < 0)
        log_warn("event_dropped topic=%s reason=\"%s\"", event_topic_name(topic), err);
}

void ingest_on_sealed(const char *domain, const char *endpoint, const char *rel_path,
                      uint64_t records, void *arg)
{
    struct ingest_ctx *ctx = arg;
    ctx->stats.sealed_files++;
    ingest_publish(ctx, EVENT_BRONZE_SEALED, domain, endpoint, rel_path, (int64_t)records);
}

/* ------------------------------------------------------------ loop */

static void ingest_on_event(const struct event *ev, void *arg)
{
    struct ingest_ctx *ctx = arg;
    if (ev->topic == EVENT_SCHEMA_CHANGED && ev->domain[0] && ev->name[0]) {
        log_debug("schema_changed domain=%s endpoint=%s version=%" PRId64, ev->domain, ev->name,
                  ev->count);
        endpoints_forget(ctx->endpoints, ev->domain, ev->name);
    }
}

static struct spool_seal_rule ingest_seal_rule(const struct config *cfg)
{
    return (struct spool_seal_rule){.max_bytes = (uint64_t)cfg->seal_max_bytes,
                                    .max_age_ms = cfg->seal_max_age_ms,
                                    .quiet_ms = cfg->seal_quiet_ms};
}

void ingest_seal_due(struct ingest_ctx *ctx, int64_t now_ms)
{
    struct spool_seal_rule rule = ingest_seal_rule(ctx->cfg);
    spool_seal_due(ctx->spools, now_ms, &rule, ingest_on_sealed, ctx);
}

/* When the loop must wake next: the housekeeping tick, or earlier when a
 * spool falls due by age or quiet (a spool already overdue - the sealer's
 * queue is full - waits for the tick instead of spinning). */
static int64_t ingest_next_wake(const struct ingest_ctx *ctx, int64_t now, int64_t housekeeping)
{
    struct spool_seal_rule rule = ingest_seal_rule(ctx->cfg);
    int64_t due = spool_next_due_ms(ctx->spools, &rule);
    return due > now && due < housekeeping ? due : housekeeping;
}

static void ingest_log_stats(const struct ingest_ctx *ctx)
{
    const struct ingest_stats *s = &ctx->stats;
    log_info("stats batches=%" PRIu64 " accepted=%" PRIu64 " refused=%" PRIu64
             " duplicates=%" PRIu64 " busy=%" PRIu64 " errors=%" PRIu64 " groups=%" PRIu64
             " sealed_files=%" PRIu64,
             s->batches, s->accepted, s->refused, s->duplicates, s->busy, s->errors, s->groups,
             s->sealed_files);
}

/* Totals ingest keeps anyway, for GET /metrics (stats.h); per-endpoint
 * records are counted in group.c. */
static void ingest_publish_stats(const struct ingest_ctx *ctx)
{
    const struct ingest_stats *s = &ctx->stats;
    stats_counter_set("ingest_batches_total", "", s->batches);
    stats_counter_set("ingest_busy_total", "", s->busy);
    stats_counter_set("ingest_duplicates_total", "", s->duplicates);
    stats_counter_set("ingest_group_commits_total", "", s->groups);
    stats_counter_set("ingest_sealed_files_total", "", s->sealed_files);
    daemon_tick();
}

static void ingest_loop(struct ingest_ctx *ctx, struct notify *notify)
{
    int64_t now = timeutil_monotonic_ms();
    int64_t next_housekeeping = now + HOUSEKEEPING_MS;
    int64_t next_catalog_check = now + CATALOG_CHECK_MS;
    int64_t next_stats = now + STATS_LOG_MS;
    uint64_t logged_batches = 0;
    int64_t wake = next_housekeeping;
    while (!daemon_stopping()) {
        zmq_pollitem_t items[] = {
            {.socket = ctx->router, .events = ZMQ_POLLIN},
            {.socket = ctx->subscriber, .events = ZMQ_POLLIN},
            {.fd = landing_fd(ctx->landing), .events = ZMQ_POLLIN},
            {.fd = spool_seal_fd(ctx->spools), .events = ZMQ_POLLIN},
            {.socket = zap_socket(ctx->zap), .events = ZMQ_POLLIN},
        };
        long timeout = landing_busy(ctx->landing) ? 0 : (long)(wake - now);
        if (zmq_poll(items, ctx->zap != NULL ? 5 : 4, timeout < 0 ? 0 : timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll_failed reason=\"%s\"", zmq_strerror(errno));
            return;
        }
        if (ctx->zap != NULL && (items[4].revents & ZMQ_POLLIN))
            zap_handle(ctx->zap);
        if (items[3].revents & ZMQ_POLLIN) /* the sealer thread sealed files */
            spool_seal_reap(ctx->spools, ingest_on_sealed, ctx);
        if (items[1].revents & ZMQ_POLLIN)
            daemon_drain_events(ctx->subscriber, EVENTS_PER_TURN, ingest_on_event, ctx);
        if (items[0].revents & ZMQ_POLLIN) {
            group_run(ctx);
            /* A spool that just reached seal_max_bytes is handed to the
             * sealer thread at once. */
            ingest_seal_due(ctx, timeutil_monotonic_ms());
        }
        if (items[2].revents & ZMQ_POLLIN)
            landing_read_events(ctx);
        landing_step(ctx); /* one bounded step of a landing file, if any */
        now = timeutil_monotonic_ms();
        if (now < next_housekeeping) {
            /* A spool gone quiet is sealed at once, so the processor merges
             * a lone record without waiting for seal_max_age_ms. */
            if (now >= wake)
                ingest_seal_due(ctx, now);
            wake = ingest_next_wake(ctx, now, next_housekeeping);
            continue;
        }
        next_housekeeping = now + HOUSEKEEPING_MS;
        notify_watchdog(notify);
        ingest_seal_due(ctx, now);
        wake = ingest_next_wake(ctx, now, next_housekeeping);
        ingest_publish_stats(ctx);
        landing_tick(ctx, now);
        if (now >= next_catalog_check) {
            endpoints_check_versions(ctx->endpoints);
            next_catalog_check = now + CATALOG_CHECK_MS;
        }
        if (now >= next_stats) {
            if (ctx->stats.batches != logged_batches)
                ingest_log_stats(ctx);
            logged_batches = ctx->stats.batches;
            next_stats = now + STATS_LOG_MS;
        }
    }
}

/* ------------------------------------------------------------ main */

static void ingest_usage(FILE *out, bool full)
{
    (void)full;
    fprintf(out,
            "usage: lakehouse-ingest [--data DIR] [--config FILE] [--help]\n"
            "\n"
            "Receives producer batches on a ZeroMQ ROUTER socket (ingest_endpoint),\n"
            "validates them against the endpoint schemas of the catalog, stores them\n"
            "durably in spool files and seals those into bronze/.\n"
            "\n"
            "  --data DIR     data directory (default $LAKEHOUSE_DATA or ./lakehouse)\n"
            "  --config FILE  JSON configuration file\n"
            "  --help         this text and every configuration option\n"
            "\n"
            "Configuration options:\n");
    config_print_help(out);
}

static int ingest_sockets_open(struct ingest_ctx *ctx, char err[ERROR_MAX])
{
    const struct config *cfg = ctx->cfg;
    ctx->publisher = event_publisher_open(ctx->zmq, cfg, err);
    if (ctx->publisher == NULL)
        return -1;
    enum event_topic topics[] = {EVENT_SCHEMA_CHANGED};
    ctx->subscriber = event_subscriber_open(ctx->zmq, cfg, topics, 1, err);
    if (ctx->subscriber == NULL)
        return -1;
    ctx->router = zmq_socket(ctx->zmq, ZMQ_ROUTER);
    if (ctx->router == NULL)
        return error_set(err, "zmq_socket ROUTER: %s", zmq_strerror(errno));
    /* Replies already made durable get a moment to leave at stop. */
    int linger = 2000;
    /* Bounded memory: queued requests per producer connection, and frames
     * far above batch_max_bytes (which get a polite refusal) cut the
     * connection instead of being buffered. */
    int hwm = (int)(cfg->group_commit_max_batches < 1000000 ? cfg->group_commit_max_batches
                                                            : 1000000);
    int64_t max_msg = 2 * cfg->batch_max_bytes + 1024 * 1024;
    if (zmq_setsockopt(ctx->router, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_setsockopt(ctx->router, ZMQ_RCVHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(ctx->router, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg) < 0)
        return error_set(err, "zmq_setsockopt ROUTER: %s", zmq_strerror(errno));
    return 0;
}

int main(int argc, char **argv)
{
    static struct config cfg;
    struct daemon d = {.name = "ingest", .cfg = &cfg, .usage = ingest_usage};
    int rc = daemon_options(&d, argc, argv);
    if (rc >= 0)
        return rc;
    rc = 1;
    char err[ERROR_MAX];
    struct ingest_ctx ctx = {.cfg = &cfg};
    if (daemon_start(&d, err) < 0)
        goto fail;

    ctx.zmq = zmq_ctx_new();
    if (ctx.zmq == NULL) {
        error_set(err, "zmq_ctx_new: %s", zmq_strerror(errno));
        goto fail;
    }
    if (ingest_sockets_open(&ctx, err) < 0 || zap_open(&ctx, err) < 0 ||
        catalog_open(cfg.data_dir, false, &ctx.catalog, err) < 0 ||
        endpoints_open(ctx.catalog, &ctx.endpoints, err) < 0 ||
        spool_set_open(cfg.data_dir, &ctx.spools, err) < 0 ||
        dedup_open((size_t)cfg.batch_id_window, &ctx.dedup, err) < 0 ||
        batch_decoder_open(&ctx.decoder, err) < 0 ||
        group_open((size_t)cfg.group_commit_max_batches, &ctx.group, err) < 0)
        goto fail;
    /* Before spool_recover: a landing chunk in doubt is resolved (and a
     * partial one cut) while its spool is still a spool. */
    if (landing_open(&ctx, &ctx.landing, err) < 0)
        goto fail;
    if (spool_recover(ctx.spools, ingest_on_sealed, &ctx, err) < 0) {
        error_prefix(err, "spool recovery");
        goto fail;
    }
    if (recover_history(&ctx, err) < 0) {
        error_prefix(err, "recovery");
        goto fail;
    }
    if (zmq_bind(ctx.router, cfg.ingest_endpoint) < 0) {
        error_set(err, "bind %s: %s", cfg.ingest_endpoint, zmq_strerror(errno));
        goto fail;
    }
    log_info("started endpoint=%s data=%s seal_max_bytes=%" PRId64 " seal_max_age_ms=%" PRId64
             " seal_quiet_ms=%" PRId64,
             cfg.ingest_endpoint, cfg.data_dir, cfg.seal_max_bytes, cfg.seal_max_age_ms,
             cfg.seal_quiet_ms);

    notify_ready(d.notify, "accepting batches");
    ingest_loop(&ctx, d.notify);
    notify_stopping(d.notify);

    rc = 0;
    if (spool_seal_all(ctx.spools, ingest_on_sealed, &ctx) < 0) {
        log_error("stop_incomplete reason=\"a spool could not be sealed; it is recovered at "
                  "the next start\"");
        rc = 1;
    }
    ingest_log_stats(&ctx);
    ingest_publish_stats(&ctx);
    log_info("stopped");
    goto out;

fail:
    log_error("start_failed reason=\"%s\"", err);
out:
    if (ctx.router != NULL)
        zmq_close(ctx.router);
    zap_close(&ctx.zap);
    if (ctx.subscriber != NULL)
        zmq_close(ctx.subscriber);
    if (ctx.publisher != NULL)
        zmq_close(ctx.publisher);
    landing_close(&ctx.landing);
    group_close(&ctx.group);
    batch_decoder_close(&ctx.decoder);
    dedup_close(&ctx.dedup);
    spool_set_close(&ctx.spools);
    endpoints_close(&ctx.endpoints);
    catalog_close(&ctx.catalog);
    if (ctx.zmq != NULL)
        zmq_ctx_term(ctx.zmq);
    daemon_stop(&d);
    return rc;
}

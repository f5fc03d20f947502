/* main.c - lakehouse-processor: bronze files -> silver tables.
 *
 *   lakehouse-processor --data DIR [--config FILE] [--help]
 *
 * One entry: load the configuration, create the data directory layout, take
 * the pid file (an exclusive lock: silver has one writer), open the silver
 * cache, the schema source, the control socket, the event publisher and the
 * inotify watch (before the first scan, so that no file can slip between
 * scan and watch), queue what bronze holds that the ledger lacks, then loop:
 *
 *   zmq_poll(control socket, schema.changed subscription, inotify fd;
 *            timeout 0 while files are queued, else until the housekeeping tick)
 *   -> answer a control request; a schema.changed event asks for a reconcile
 *      (schema changes of tables, evolve.c); drain inotify events into the queue;
 *   -> housekeeping: reconcile every reconcile_interval_ms (or at once after
 *      an inotify overflow or a full queue);
 *   -> merge ONE queued file (its own transaction), then poll again, so that
 *      control requests and SIGTERM are served between files.
 *
 * SIGTERM/SIGINT only set a flag: the file being merged finishes its
 * transaction, then the loop ends and everything is torn down in reverse;
 * exit 0. Fatal start-up errors exit 1 with a log line. */
#include "processor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <zmq.h>

#include "bronze.h"
#include "daemon.h"
#include "event.h"
#include "iceberg_store.h"
#include "layout.h"
#include "log.h"
#include "stats.h"
#include "timeutil.h"

/* The housekeeping tick; while the inotify descriptor is unknown, events
 * are drained on this shorter tick instead. */
#define PROCESSOR_TICK_MS 1000
#define PROCESSOR_FALLBACK_TICK_MS 50
#define PROCESSOR_EVENTS_PER_TURN 64

static void processor_usage(FILE *out, bool full)
{
    (void)full;
    fprintf(out,
            "usage: lakehouse-processor --data DIR [--config FILE] [--help]\n"
            "\n"
            "Watches DIR/bronze and merges every sealed bronze file into\n"
            "DIR/silver/<domain>.db (upsert by primary key, schema evolution, ledger).\n"
            "--data defaults to $LAKEHOUSE_DATA, else ./lakehouse.\n"
            "\n"
            "Configuration (JSON file keys; environment LAKEHOUSE_<KEY>):\n");
    config_print_help(out);
}

static void processor_drain_watch(struct processor_ctx *ctx)
{
    bool overflow = false;
    char err[ERROR_MAX];
    int rc = watch_drain(ctx->watch, reconcile_on_file, ctx, &overflow, err);
    if (rc < 0) {
        log_error("watch_failed reason=\"%s\" action=reconcile", err);
        ctx->need_reconcile = true;
    }
    ctx->watch_backlog = rc == 1;
    if (overflow) {
        log_warn("inotify_overflow action=reconcile");
        ctx->need_reconcile = true;
    }
}

/* Merge one file, timed for GET /metrics (merge_duration_seconds per table). */
static void processor_merge_timed(struct processor_ctx *ctx, const char *rel)
{
    double started = stats_now();
    merge_one(ctx, rel);
    char domain[NAMES_MAX], endpoint[NAMES_MAX], date[16], label[2 * NAMES_MAX];
    uint64_t first, last;
    if (bronze_parse_relative_path(rel, domain, endpoint, date, &first, &last) == 0) {
        snprintf(label, sizeof label, "%s/%s", domain, endpoint);
        stats_observe("merge_duration_seconds", label, stats_now() - started);
    }
}

/* Counters and the queue depth for GET /metrics; SIGHUP. */
static void processor_housekeeping(const struct processor_ctx *ctx)
{
    stats_gauge("processor_pending_files", "", (double)pending_count(ctx->pending));
    stats_counter_set("processor_files_merged_total", "", (uint64_t)ctx->merged_files);
    stats_counter_set("processor_files_quarantined_total", "", (uint64_t)ctx->quarantined_files);
    stats_counter_set("processor_merges_failed_total", "", (uint64_t)ctx->failed_merges);
    daemon_tick();
}

/* schema.changed: a new schema version may rename or drop columns of a
 * silver table (evolve.c); reconcile now instead of at the next tick. */
static void processor_on_event(const struct event *ev, void *arg)
{
    struct processor_ctx *ctx = arg;
    if (ev->topic == EVENT_SCHEMA_CHANGED)
        ctx->need_reconcile = true;
}

/* Returns 0 after a stop request, -1 if polling failed. */
static int processor_loop(struct processor_ctx *ctx, struct notify *notify)
{
    int fd = watch_fd(ctx->watch);
    int64_t interval = ctx->cfg->reconcile_interval_ms > 0 ? ctx->cfg->reconcile_interval_ms : 10000;
    int64_t next_reconcile = timeutil_monotonic_ms() + interval;
    while (!daemon_stopping()) {
        int64_t now = timeutil_monotonic_ms();
        long timeout = 0;
        if (pending_count(ctx->pending) == 0 && !ctx->need_reconcile && !ctx->watch_backlog) {
            int64_t until = next_reconcile - now;
            int64_t tick = fd >= 0 ? PROCESSOR_TICK_MS : PROCESSOR_FALLBACK_TICK_MS;
            timeout = (long)(until < 0 ? 0 : until < tick ? until : tick);
        }
        timeout = notify_poll_timeout(notify, timeout);
        zmq_pollitem_t items[3] = {{.socket = ctx->control, .events = ZMQ_POLLIN},
                                   {.socket = ctx->subscriber, .events = ZMQ_POLLIN},
                                   {.socket = NULL, .fd = fd, .events = ZMQ_POLLIN}};
        int rc = zmq_poll(items, fd >= 0 ? 3 : 2, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll_failed reason=\"%s\"", zmq_strerror(errno));
            return -1;
        }
        if (items[0].revents & ZMQ_POLLIN)
            control_serve_one(ctx);
        if (items[1].revents & ZMQ_POLLIN)
            daemon_drain_events(ctx->subscriber, PROCESSOR_EVENTS_PER_TURN, processor_on_event,
                                ctx);
        if (fd < 0 || ctx->watch_backlog || (items[2].revents & ZMQ_POLLIN))
            processor_drain_watch(ctx);

        notify_watchdog(notify);
        now = timeutil_monotonic_ms();
        if (ctx->need_reconcile || now >= next_reconcile) {
            char err[ERROR_MAX];
            ctx->need_reconcile = false;
            if (reconcile_scan(ctx, err) < 0)
                log_error("reconcile_failed reason=\"%s\"", err);
            next_reconcile = now + interval;
        }
        char *rel = pending_pop(ctx->pending);
        if (rel != NULL) {
            processor_merge_timed(ctx, rel);
            free(rel);
        }
        processor_housekeeping(ctx);
        maintenance_tick(ctx); /* retention, compaction, checkpoints (maintenance.c) */
        export_tick(ctx);      /* Iceberg export of changed tables (export.c) */
        if (pending_count(ctx->pending) == 0 && pending_take_overflow(ctx->pending))
            ctx->need_reconcile = true; /* files were left out: look again */
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct config cfg;
    struct daemon d = {.name = "processor", .cfg = &cfg, .usage = processor_usage};
    int status = daemon_options(&d, argc, argv);
    if (status >= 0)
        return status;
    status = 1;
    char err[ERROR_MAX] = "";
    struct processor_ctx ctx = {.cfg = &cfg, .stop = daemon_stop_flag()};
    char bronze[PATH_MAX];

    if (daemon_start(&d, err) < 0)
        goto done;
    if (layout_dir(bronze, sizeof bronze, cfg.data_dir, "bronze") < 0) {
        error_set(err, "data directory path too long");
        goto done;
    }
    ctx.pending = pending_new(PROCESSOR_PENDING_MAX);
    if (ctx.pending == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    if (silver_open(cfg.data_dir, cfg.silver_cache_mib, &ctx.silver, err) < 0 ||
        schemas_open(cfg.data_dir, &ctx.schemas, err) < 0)
        goto done;
    ctx.zmq = zmq_ctx_new();
    if (ctx.zmq == NULL) {
        error_set(err, "zmq context: %s", zmq_strerror(errno));
        goto done;
    }
    if ((ctx.publisher = event_publisher_open(ctx.zmq, &cfg, err)) == NULL)
        goto done;
    enum event_topic topics[] = {EVENT_SCHEMA_CHANGED};
    if ((ctx.subscriber = event_subscriber_open(ctx.zmq, &cfg, topics, 1, err)) == NULL)
        goto done;
    if (watch_open(bronze, &ctx.watch, err) < 0)
        goto done;
    if ((ctx.control = control_socket_open(ctx.zmq, &cfg, err)) == NULL)
        goto done;
    if (maintenance_open(&ctx, &ctx.maintenance, err) < 0)
        goto done;

    log_info("started data=%s control=%s reconcile_interval_ms=%" PRId64, cfg.data_dir,
             cfg.processor_control_endpoint, cfg.reconcile_interval_ms);
    if (reconcile_scan(&ctx, err) < 0)
        log_error("reconcile_failed reason=\"%s\"", err); /* retried by the loop */
    int64_t swept;
    if (export_enabled(&cfg) && export_sweep(&ctx, &swept, err) < 0)
        log_error("iceberg_sweep_failed reason=\"%s\"", err); /* tried again at the next start */
    notify_ready(d.notify, "watching bronze");
    if (processor_loop(&ctx, d.notify) < 0) {
        error_set(err, "poll loop failed");
        goto done;
    }
    status = 0;
    notify_stopping(d.notify);
    log_info("stopping merged=%" PRId64 " quarantined=%" PRId64 " failed=%" PRId64
             " pending=%zu",
             ctx.merged_files, ctx.quarantined_files, ctx.failed_merges,
             pending_count(ctx.pending));

done:
    if (status != 0)
        log_error("fatal reason=\"%s\"", err);
    control_socket_close(&ctx.control, &cfg);
    watch_close(&ctx.watch);
    if (ctx.subscriber != NULL)
        zmq_close(ctx.subscriber);
    if (ctx.publisher != NULL) {
        int linger = 0;
        zmq_setsockopt(ctx.publisher, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(ctx.publisher);
    }
    if (ctx.zmq != NULL)
        zmq_ctx_term(ctx.zmq);
    maintenance_close(&ctx.maintenance);
    schemas_close(&ctx.schemas);
    silver_close(&ctx.silver);
    iceberg_store_free(&ctx.iceberg_store);
    if (ctx.pending != NULL)
        processor_housekeeping(&ctx);
    pending_free(&ctx.pending);
    daemon_stop(&d);
    if (status == 0)
        log_info("stopped");
    return status;
}

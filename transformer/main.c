/* main.c - lakehouse-transformer: runs the transform jobs that build gold.
 *
 *   lakehouse-transformer --data DIR [--config FILE] [--help]
 *
 * One entry: parse arguments and config, create the data directory, write
 * run/transformer.pid, open the catalog and resolve executions left RUNNING by
 * a crash (run_recover), load the jobs, open the event sockets (SUB for
 * silver.committed / gold.committed / job.changed, PUB for gold.committed; the
 * broker may be absent: events are hints) and the control socket, reconcile,
 * then one zmq_poll loop: events and control requests, a housekeeping timer
 * (cron minutes; reload + reconcile every reconcile_interval_ms), and one job
 * run per turn so that sockets stay served between runs. SIGTERM/SIGINT only
 * set a flag: the job that is running finishes, then the process exits 0. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "daemon.h"
#include "event.h"
#include "fsutil.h"
#include "iceberg_store.h"
#include "log.h"
#include "reload.h"
#include "stats.h"
#include "timeutil.h"
#include "transformer.h"

#define TRANSFORMER_HOUSEKEEPING_MS 250
#define TRANSFORMER_EVENTS_PER_TURN 1000

static void transformer_usage(FILE *out, bool full)
{
    (void)full;
    fprintf(out,
            "usage: lakehouse-transformer --data DIR [--config FILE] [--help]\n"
            "\n"
            "Runs the transform jobs of the catalog, writing gold/<domain>.db: dependency\n"
            "jobs when a table they read commits (and on reconcile), cron jobs on their\n"
            "schedule (UTC), and runs requested with `lakehouse job run`.\n"
            "\n"
            "  --data DIR      data directory (default: $LAKEHOUSE_DATA or ./lakehouse)\n"
            "  --config FILE   JSON configuration file (keys below)\n"
            "  --help          this text\n"
            "\n"
            "SIGTERM/SIGINT: the running job finishes, then exit 0.\n"
            "\n"
            "Configuration (file key; environment LAKEHOUSE_<KEY>):\n");
    config_print_help(out);
}


static void transformer_on_event(const struct event *ev, void *arg)
{
    struct transformer_ctx *ctx = arg;
    switch (ev->topic) {
    case EVENT_SILVER_COMMITTED:
        schedule_table_committed(ctx, ev->domain, SQLREF_SILVER, ev->name, ev->snapshot_id);
        break;
    case EVENT_GOLD_COMMITTED:
        schedule_table_committed(ctx, ev->domain, SQLREF_GOLD, ev->name, ev->snapshot_id);
        break;
    case EVENT_JOB_CHANGED:
        ctx->reload_wanted = true;
        break;
    default:
        break;
    }
}

static void transformer_reload(struct transformer_ctx *ctx)
{
    char err[ERROR_MAX];
    ctx->reload_wanted = false;
    if (jobs_reload(ctx, err) < 0)
        log_warn("jobs_reload_failed reason=\"%s\"", err);
}

static void transformer_housekeeping(struct transformer_ctx *ctx)
{
    size_t queued = 0;
    for (size_t i = 0; i < ctx->jobs.count; i++)
        queued += ctx->jobs.items[i].pending;
    stats_gauge("transformer_pending_runs", "", (double)queued);
    stats_counter_set("transformer_runs_ok_total", "", (uint64_t)ctx->runs_ok);
    stats_counter_set("transformer_runs_failed_total", "", (uint64_t)ctx->runs_failed);
    daemon_tick();
    schedule_cron_tick(ctx, time(NULL));
    gold_retention_tick(ctx);
    gold_export_tick(ctx); /* Iceberg export of changed gold tables */
    if (timeutil_monotonic_ms() >= ctx->next_reconcile_ms) {
        transformer_reload(ctx);
        schedule_reconcile(ctx);
        ctx->next_reconcile_ms = timeutil_monotonic_ms() + ctx->cfg->reconcile_interval_ms;
    }
}

static void transformer_loop(struct transformer_ctx *ctx, struct notify *notify)
{
    int64_t next_tick = 0;
    while (!daemon_stopping()) {
        long timeout = 0;
        if (!schedule_has_work(ctx) && !ctx->reload_wanted) {
            int64_t now = timeutil_monotonic_ms();
            timeout = next_tick > now ? (long)(next_tick - now) : 0;
        }
        zmq_pollitem_t items[] = {
            {.socket = ctx->sub, .events = ZMQ_POLLIN},
            {.socket = ctx->rep, .events = ZMQ_POLLIN},
        };
        if (zmq_poll(items, 2, notify_poll_timeout(notify, timeout)) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            log_error("poll_failed reason=\"%s\"", zmq_strerror(zmq_errno()));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            daemon_drain_events(ctx->sub, TRANSFORMER_EVENTS_PER_TURN, transformer_on_event, ctx);
        if (items[1].revents & ZMQ_POLLIN)
            commands_handle(ctx);
        if (ctx->reload_wanted)
            transformer_reload(ctx);
        int64_t now = timeutil_monotonic_ms();
        if (now >= next_tick) {
            transformer_housekeeping(ctx);
            next_tick = now + TRANSFORMER_HOUSEKEEPING_MS;
        }
        notify_watchdog(notify);
        if (!daemon_stopping())
            schedule_run_next(ctx);
    }
}

int main(int argc, char **argv)
{
    static struct config cfg;
    struct daemon d = {.name = "transformer", .cfg = &cfg, .usage = transformer_usage};
    int status = daemon_options(&d, argc, argv);
    if (status >= 0)
        return status;
    status = 1;
    char err[ERROR_MAX];
    struct transformer_ctx ctx = {.cfg = &cfg};

    if (daemon_start(&d, err) < 0)
        goto fail;
    if (catalog_open(cfg.data_dir, false, &ctx.catalog, err) < 0)
        goto fail;
    if (run_recover(&ctx, err) < 0)
        goto fail;
    if (jobs_reload(&ctx, err) < 0)
        goto fail;
    int64_t swept = 0;
    if (gold_export_enabled(&cfg) && gold_export_sweep(&ctx, &swept, err) < 0)
        log_error("iceberg_sweep_failed reason=\"%s\"", err); /* tried again at the next start */

    ctx.zmq = zmq_ctx_new();
    if (ctx.zmq == NULL) {
        error_set(err, "zmq context: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    static const enum event_topic topics[] = {EVENT_SILVER_COMMITTED, EVENT_GOLD_COMMITTED,
                                              EVENT_JOB_CHANGED};
    ctx.sub = event_subscriber_open(ctx.zmq, &cfg, topics, sizeof topics / sizeof topics[0], err);
    if (ctx.sub == NULL)
        goto fail;
    ctx.pub = event_publisher_open(ctx.zmq, &cfg, err);
    if (ctx.pub == NULL)
        goto fail;
    ctx.rep = zmq_socket(ctx.zmq, ZMQ_REP);
    int linger = 0;
    if (ctx.rep == NULL || zmq_setsockopt(ctx.rep, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(ctx.rep, cfg.transformer_control_endpoint) != 0) {
        error_set(err, "control socket %s: %s", cfg.transformer_control_endpoint,
                  zmq_strerror(zmq_errno()));
        goto fail;
    }
    log_info("started data=%s control=%s jobs=%zu reconcile_ms=%lld", cfg.data_dir,
             cfg.transformer_control_endpoint, ctx.jobs.count,
             (long long)cfg.reconcile_interval_ms);

    /* Reconcile right away (events missed while we were down), then every interval. */
    schedule_reconcile(&ctx);
    ctx.next_reconcile_ms = timeutil_monotonic_ms() + cfg.reconcile_interval_ms;
    notify_ready(d.notify, "running jobs");
    transformer_loop(&ctx, d.notify);
    notify_stopping(d.notify);
    schedule_abandon(&ctx, "the transformer stopped before the run started");
    log_info("stopped signal=%d runs_ok=%lld runs_failed=%lld", daemon_stopping(),
             (long long)ctx.runs_ok, (long long)ctx.runs_failed);
    status = 0;
    goto done;

fail:
    log_error("start_failed reason=\"%s\"", err);
done:
    if (ctx.rep != NULL) {
        zmq_close(ctx.rep);
        /* libzmq leaves the ipc socket file behind; a stale one would look
         * like a running transformer to whoever waits for it */
        if (strncmp(cfg.transformer_control_endpoint, "ipc://", 6) == 0 && status == 0)
            unlink(cfg.transformer_control_endpoint + 6);
    }
    if (ctx.pub != NULL)
        zmq_close(ctx.pub);
    if (ctx.sub != NULL)
        zmq_close(ctx.sub);
    if (ctx.zmq != NULL)
        zmq_ctx_term(ctx.zmq);
    jobs_free(&ctx.jobs);
    catalog_close(&ctx.catalog);
    iceberg_store_free(&ctx.iceberg_store);
    daemon_stop(&d);
    return status;
}

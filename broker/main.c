/* main.c - lakehouse-broker: the event bus and, unless --no-supervise, the
 * parent of lakehouse-ingest, lakehouse-processor and lakehouse-transformer.
 *
 *   lakehouse-broker --data DIR [--config FILE] [--demo] [--no-supervise] [--help]
 *
 * One entry: parse arguments and config, create the data directory, write
 * run/broker.pid, (--demo) make sure the demo endpoint and job exist, bind the
 * proxy, start the children, then one zmq_poll loop that forwards events and,
 * on a 50 ms housekeeping timer, reaps and restarts children. SIGTERM/SIGINT
 * only set a flag; the loop then stops the children in order,
 * keeps forwarding their last events meanwhile, and exits 0. SIGHUP reloads
 * the settings that can change while running (reload.h) and is passed on to
 * the children. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "broker.h"
#include "config.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "s3.h"
#include "http/http.h"

#define BROKER_HOUSEKEEPING_MS 50

struct broker_ctx {
    struct config cfg;
    const char *config_path;
    bool demo;
    bool supervise;
    void *zmq;
    struct proxy *proxy;
    struct supervisor *sup;
    struct http_server *http; /* the HTTP API (broker/http/), own threads */
    struct notify *notify;    /* the daemon's (daemon.h) */
};

static volatile sig_atomic_t broker_child_signal = 0;

static void broker_on_child(int sig) { broker_child_signal = sig; }

/* SIGCHLD: reap and restart at once. The stop signals are the daemon's. */
static int broker_child_signals(char err[ERROR_MAX])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = broker_on_child;
    sa.sa_flags = SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        return error_set(err, "sigaction: %s", strerror(errno));
    return 0;
}

static void broker_usage(FILE *out, bool full)
{
    fprintf(out,
            "usage: lakehouse-broker --data DIR [--config FILE] [--demo] [--no-supervise] [--help]\n"
            "\n"
            "The lakehouse event bus (ZeroMQ XSUB/XPUB proxy) and, by default, the\n"
            "supervisor of lakehouse-ingest, lakehouse-processor and lakehouse-transformer,\n"
            "which it starts from its own directory and restarts when they die.\n"
            "\n"
            "  --data DIR      data directory (default: $LAKEHOUSE_DATA or ./lakehouse)\n"
            "  --config FILE   JSON configuration file (--help lists its keys)\n"
            "  --demo          make sure the demo endpoint demo/flights and the job\n"
            "                  demo/flights_by_origin exist\n"
            "  --no-supervise  run the event bus only (each worker is its own service)\n"
            "  --help          this text\n"
            "\n"
            "SIGTERM/SIGINT stop the workers in order (ingest, processor, transformer)\n"
            "and exit 0.\n");
    if (full) {
        fputc('\n', out);
        config_print_help(out);
    }
}

static void broker_demo_events(struct broker_ctx *ctx, int endpoint_version, bool job_created)
{
    /* Hints for workers run as separate services (--no-supervise); the
     * children started below read the catalog at start anyway. */
    char err[ERROR_MAX];
    if (endpoint_version > 0) {
        struct event ev = {.topic = EVENT_SCHEMA_CHANGED, .count = endpoint_version};
        snprintf(ev.domain, sizeof ev.domain, "demo");
        snprintf(ev.name, sizeof ev.name, "flights");
        if (proxy_publish(ctx->proxy, &ev, err) != 0)
            log_debug("event_dropped topic=schema.changed reason=\"%s\"", err);
    }
    if (job_created) {
        struct event ev = {.topic = EVENT_JOB_CHANGED};
        snprintf(ev.domain, sizeof ev.domain, "demo");
        snprintf(ev.name, sizeof ev.name, "flights_by_origin");
        if (proxy_publish(ctx->proxy, &ev, err) != 0)
            log_debug("event_dropped topic=job.changed reason=\"%s\"", err);
    }
}

/* The loop: forward events both ways; every BROKER_HOUSEKEEPING_MS reap and
 * restart children, or drive the ordered stop. Returns 0 after a clean stop. */
static int broker_loop(struct broker_ctx *ctx)
{
    zmq_pollitem_t items[2];
    proxy_poll_items(ctx->proxy, items);
    char err[ERROR_MAX];
    int status = 0;
    bool stopping = false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t next_tick = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

    for (;;) {
        if (daemon_stopping() != 0 && !stopping) {
            log_info("stopping signal=%d", daemon_stopping());
            stopping = true;
            notify_stopping(ctx->notify);
            /* No HTTP request may still wait on ingest while it shuts down. */
            http_server_stop(&ctx->http);
            if (ctx->sup != NULL)
                supervise_begin_stop(ctx->sup);
        }
        if (stopping && (ctx->sup == NULL || supervise_stopped(ctx->sup)))
            break;

        int n = zmq_poll(items, 2, notify_poll_timeout(ctx->notify, BROKER_HOUSEKEEPING_MS));
        if (n < 0 && zmq_errno() != EINTR) {
            log_error("poll_failed reason=\"%s\"", zmq_strerror(zmq_errno()));
            status = 1;
            daemon_request_stop(SIGTERM); /* stop the children in order, then exit */
            usleep(BROKER_HOUSEKEEPING_MS * 1000); /* no busy loop while they stop */
        }
        if (n > 0 && (items[0].revents & ZMQ_POLLIN) &&
            proxy_forward_events(ctx->proxy, err) != 0)
            log_warn("proxy_error reason=\"%s\"", err);
        if (n > 0 && (items[1].revents & ZMQ_POLLIN) &&
            proxy_forward_subscriptions(ctx->proxy, err) != 0)
            log_warn("proxy_error reason=\"%s\"", err);

        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if (ctx->sup != NULL && (broker_child_signal != 0 || now >= next_tick)) {
            broker_child_signal = 0;
            supervise_reap(ctx->sup);
            supervise_tick(ctx->sup);
        }
        if (now >= next_tick) {
            next_tick = now + BROKER_HOUSEKEEPING_MS;
            if (daemon_tick() && ctx->sup != NULL)
                supervise_signal(ctx->sup, SIGHUP);
        }
        notify_watchdog(ctx->notify);
    }
    return status;
}

static void broker_option(int val, void *arg)
{
    struct broker_ctx *ctx = arg;
    if (val == 'D')
        ctx->demo = true;
    else if (val == 'n')
        ctx->supervise = false;
}

static void broker_s3_fatal(const char *problem, void *arg)
{
    (void)arg;
    log_error("start_failed reason=\"%s\"", problem);
}

static void broker_s3_warn(const char *problem, void *arg)
{
    (void)arg;
    log_warn("s3_unavailable reason=\"%s\" action=export_retries", problem);
}

int main(int argc, char **argv)
{
    struct broker_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.supervise = true;
    static const struct option extra[] = {
        {"demo", no_argument, NULL, 'D'},
        {"no-supervise", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    struct daemon d = {.name = "broker", .cfg = &ctx.cfg, .usage = broker_usage,
                       .extra = extra, .on_extra = broker_option, .arg = &ctx};
    int status = daemon_options(&d, argc, argv);
    if (status >= 0)
        return status;
    status = 1;
    ctx.config_path = d.config_path;
    char err[ERROR_MAX] = "";
    if (daemon_start(&d, err) != 0 || config_read_token_file(&ctx.cfg, err) != 0 ||
        broker_child_signals(err) != 0) {
        log_error("start_failed reason=\"%s\"", err);
        goto done;
    }
    ctx.notify = d.notify;
    /* iceberg_export s3 without bucket or credentials cannot work: refuse to
     * start; an S3 server that does not answer now may later (the export
     * retries), so that is only named. */
    if (s3_check_config(&ctx.cfg, false, broker_s3_fatal, NULL) > 0)
        goto done;
    s3_check_config(&ctx.cfg, true, broker_s3_warn, NULL);
    int demo_version = 0;
    bool demo_job = false;
    if (ctx.demo && demo_ensure(&ctx.cfg, &demo_version, &demo_job, err) != 0) {
        log_error("start_failed reason=\"demo: %s\"", err);
        goto done;
    }
    ctx.zmq = zmq_ctx_new();
    if (ctx.zmq == NULL) {
        log_error("start_failed reason=\"zmq_ctx_new: %s\"", zmq_strerror(zmq_errno()));
        goto done;
    }
    if (proxy_open(ctx.zmq, &ctx.cfg, &ctx.proxy, err) != 0) {
        log_error("start_failed reason=\"event bus: %s\"", err);
        goto done;
    }
    broker_demo_events(&ctx, demo_version, demo_job);
    ctx.http = http_server_start(&ctx.cfg, err);
    if (ctx.http == NULL) {
        log_error("start_failed reason=\"http: %s\"", err);
        goto done;
    }
    if (ctx.supervise) {
        if (supervise_open(&ctx.cfg, ctx.config_path, &ctx.sup, err) != 0) {
            log_error("start_failed reason=\"%s\"", err);
            goto done;
        }
        supervise_set_events(ctx.sup, ctx.proxy);
        supervise_start(ctx.sup);
    }
    log_info("started data=%s events_in=%s events_out=%s http=%s port=%u supervise=%s",
             ctx.cfg.data_dir, ctx.cfg.events_pub_endpoint, ctx.cfg.events_sub_endpoint,
             ctx.cfg.http_listen, http_server_port(ctx.http), ctx.supervise ? "yes" : "no");
    notify_ready(ctx.notify, ctx.supervise ? "serving events, HTTP API; workers started"
                                           : "serving events, HTTP API");

    status = broker_loop(&ctx);
    log_info("stopped status=%d events_forwarded=%llu", status,
             (unsigned long long)proxy_forwarded(ctx.proxy));

done:
    http_server_stop(&ctx.http);
    supervise_close(&ctx.sup);
    proxy_close(&ctx.proxy);
    if (ctx.zmq != NULL)
        zmq_ctx_term(ctx.zmq);
    daemon_stop(&d);
    return status;
}

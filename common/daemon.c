/* daemon.c - the start and stop the daemons share (see daemon.h). */
#include "daemon.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "layout.h"
#include "log.h"
#include "reload.h"
#include "stats.h"

#define DAEMON_OPTIONS_MAX 16

static volatile sig_atomic_t daemon_stop_signal = 0;

static void daemon_on_stop(int sig) { daemon_stop_signal = sig; }

int daemon_stopping(void) { return (int)daemon_stop_signal; }

volatile sig_atomic_t *daemon_stop_flag(void) { return &daemon_stop_signal; }

void daemon_request_stop(int sig) { daemon_stop_signal = sig; }

int daemon_options(struct daemon *d, int argc, char **argv)
{
    struct option options[DAEMON_OPTIONS_MAX] = {
        {"data", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
    };
    size_t n = 3;
    for (size_t i = 0; d->extra != NULL && d->extra[i].name != NULL; i++) {
        if (n + 1 < DAEMON_OPTIONS_MAX)
            options[n++] = d->extra[i];
    }
    options[n] = (struct option){NULL, 0, NULL, 0};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "d:c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': d->data_arg = optarg; break;
        case 'c': d->config_path = optarg; break;
        case 'h': d->usage(stdout, true); return 0;
        case '?': d->usage(stderr, false); return 2;
        default:
            if (d->on_extra == NULL) {
                d->usage(stderr, false);
                return 2;
            }
            d->on_extra(opt, d->arg);
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lakehouse-%s: unexpected argument '%s'\n", d->name, argv[optind]);
        d->usage(stderr, false);
        return 2;
    }
    return -1;
}

static int daemon_signals(char err[ERROR_MAX])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = daemon_on_stop; /* no SA_RESTART: zmq_poll returns EINTR */
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return error_set(err, "sigaction: %s", strerror(errno));
    sa.sa_handler = SIG_IGN; /* a peer gone away is an error return, not death */
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return error_set(err, "sigaction: %s", strerror(errno));
    return 0;
}

int daemon_start(struct daemon *d, char err[ERROR_MAX])
{
    log_init(d->name, LOG_LEVEL_INFO);
    if (config_load(d->cfg, d->config_path, d->data_arg, err) < 0)
        return -1;
    enum log_level level = LOG_LEVEL_INFO;
    if (log_level_from_name(d->cfg->log_level, &level) < 0)
        log_warn("config log_level=%s reason=\"unknown level, using info\"", d->cfg->log_level);
    log_init(d->name, level);
    if (daemon_signals(err) < 0 || layout_create(d->cfg->data_dir, err) < 0 ||
        pidfile_take(d->cfg->data_dir, d->name, &d->pidfile, err) < 0 ||
        reload_setup(d->name, d->cfg, d->config_path, d->data_arg, err) < 0)
        return -1;
    if (stats_open(d->cfg->data_dir, d->name, err) < 0)
        log_warn("stats_unavailable reason=\"%s\"", err);
    if (notify_open(&d->notify, err) < 0)
        log_warn("notify_unavailable reason=\"%s\"", err);
    return 0;
}

void daemon_stop(struct daemon *d)
{
    stats_close();
    pidfile_release(&d->pidfile);
    notify_close(&d->notify);
}

bool daemon_tick(void)
{
    stats_tick();
    return reload_poll();
}

void daemon_drain_events(void *subscriber, int max,
                         void (*on_event)(const struct event *ev, void *arg), void *arg)
{
    for (int i = 0; i < max; i++) {
        struct event ev;
        char err[ERROR_MAX];
        if (event_receive(subscriber, ZMQ_DONTWAIT, &ev, err) < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ETERM)
                return;
            log_warn("event_ignored reason=\"%s\"", err);
            continue;
        }
        on_event(&ev, arg);
    }
}

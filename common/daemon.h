/* daemon.h - the start and stop the four daemons share: the options --data,
 * --config and --help, the configuration, the log, the data directory
 * layout, the pid file (the single-instance lock), configuration reload on
 * SIGHUP, the stats file, the stop signals, SIGPIPE, systemd notification
 * and draining the event subscription. Each main.c keeps only what is its
 * own (its sockets, its loop, its extra options). */
#ifndef LAKEHOUSE_DAEMON_H
#define LAKEHOUSE_DAEMON_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "error.h"
#include "event.h"
#include "notify.h"
#include "pidfile.h"

struct daemon {
    /* Set by the caller. */
    const char *name;                    /* "ingest": log name, pid file, lakehouse-<name> */
    struct config *cfg;                  /* filled by daemon_start */
    void (*usage)(FILE *out, bool full); /* full: after --help (else a usage error) */
    const struct option *extra;          /* more flag options, {NULL} ended; or NULL */
    void (*on_extra)(int val, void *arg);
    void *arg;
    /* Filled in. */
    const char *data_arg;    /* --data, or NULL */
    const char *config_path; /* --config, or NULL */
    struct pidfile *pidfile;
    struct notify *notify; /* NULL without systemd */
};

/* Parse the command line (getopt_long). Returns -1 to go on, else the exit
 * status: 0 after --help, 2 after a usage error (both print the usage). */
int daemon_options(struct daemon *d, int argc, char **argv);

/* Log, configuration (and its log level), stop signals (SIGTERM/SIGINT set
 * the flag below; no SA_RESTART, so a poll returns EINTR at once), SIGPIPE
 * ignored, the data directory, the pid file, SIGHUP reload, the stats file
 * and systemd notification (the last two only warn when unavailable).
 * -1 with err; the caller logs start_failed and calls daemon_stop. */
int daemon_start(struct daemon *d, char err[ERROR_MAX]);

/* Close what daemon_start opened (stats file, pid file, notification). */
void daemon_stop(struct daemon *d);

/* Housekeeping every daemon does on its tick: write the stats file when due
 * and apply a SIGHUP's reload. Returns true when a SIGHUP was handled. */
bool daemon_tick(void);

/* The signal that asked to stop, 0 while none. The flag itself is for code
 * that checks it deep in long work. */
int daemon_stopping(void);
volatile sig_atomic_t *daemon_stop_flag(void);
/* Ask the loop to stop as if sig had arrived. */
void daemon_request_stop(int sig);

/* Read at most max events from a subscriber socket without waiting and pass
 * each to on_event. No more events, a signal or the context ending stop the
 * drain; a malformed event is logged (event_ignored) and skipped. */
void daemon_drain_events(void *subscriber, int max,
                         void (*on_event)(const struct event *ev, void *arg), void *arg);

#endif

/* broker.h - the parts of lakehouse-broker, one concern per file:
 *   proxy.c      the event bus: XSUB (publishers connect) <-> XPUB (subscribers
 *                connect), forwarded in the broker's own zmq_poll loop;
 *   supervise.c  the three workers as children: start, restart with backoff,
 *                ordered stop;
 *   demo.c       --demo: the demo endpoint and job in the catalog;
 *   main.c       arguments, config, the poll loop, tear-down.
 * Private to the broker; no other process includes it. */
#ifndef LAKEHOUSE_BROKER_H
#define LAKEHOUSE_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "config.h"
#include "error.h"
#include "event.h"

/* ---- proxy.c ---- */

struct proxy;

/* Bind XSUB at cfg->events_pub_endpoint and XPUB at cfg->events_sub_endpoint.
 * Caller owns *out (proxy_close). */
int proxy_open(void *zmq_context, const struct config *cfg, struct proxy **out,
               char err[ERROR_MAX]);
/* Close both sockets (LINGER 0: pending hints are dropped) and NULL *proxy. */
void proxy_close(struct proxy **proxy);
/* Fill items[0] (XSUB) and items[1] (XPUB) for zmq_poll. */
void proxy_poll_items(struct proxy *proxy, zmq_pollitem_t items[2]);
/* Forward pending events XSUB -> XPUB (bounded per call so that the loop
 * stays responsive). -1 with err on a socket error. */
int proxy_forward_events(struct proxy *proxy, char err[ERROR_MAX]);
/* Forward pending (un)subscriptions XPUB -> XSUB. */
int proxy_forward_subscriptions(struct proxy *proxy, char err[ERROR_MAX]);
/* Publish an event of the broker's own straight to the subscribers. */
int proxy_publish(struct proxy *proxy, const struct event *ev, char err[ERROR_MAX]);
/* Events forwarded since start (for the stop log line). */
uint64_t proxy_forwarded(const struct proxy *proxy);

/* ---- supervise.c ---- */

struct supervisor;

/* Find lakehouse-ingest, -processor and -transformer in the directory of the
 * broker binary (/proc/self/exe). config_path (may be NULL) is passed on to
 * the children, as is cfg->data_dir. Nothing is started yet. Caller owns *out. */
int supervise_open(const struct config *cfg, const char *config_path, struct supervisor **out,
                   char err[ERROR_MAX]);
/* Publish process.up / process.down of the children through proxy (events.h). */
void supervise_set_events(struct supervisor *sup, struct proxy *proxy);
/* Start every child (order: ingest, processor, transformer). */
void supervise_start(struct supervisor *sup);
/* Collect exited children (waitpid WNOHANG), log how each died, and schedule
 * restarts with exponential backoff unless stopping. */
void supervise_reap(struct supervisor *sup);
/* Housekeeping: start children whose restart is due; drive the ordered stop
 * (SIGTERM, wait stop_timeout_ms, SIGKILL, next child). */
void supervise_tick(struct supervisor *sup);
/* Send sig to every running child (SIGHUP: reload their settings). */
void supervise_signal(struct supervisor *sup, int sig);
/* Begin the ordered stop ingest -> processor -> transformer. */
void supervise_begin_stop(struct supervisor *sup);
/* True once stopping and every child has been reaped. */
bool supervise_stopped(const struct supervisor *sup);
/* SIGKILL and reap whatever still runs (error paths), free, NULL *sup. */
void supervise_close(struct supervisor **sup);

/* ---- demo.c ---- */

/* Make sure the demo endpoint demo/flights and the job demo/flights_by_origin
 * exist in the catalog (existing ones are left as they are). *endpoint_version
 * is set to the version created (0 if it existed); *job_created says whether
 * the job was added. */
int demo_ensure(const struct config *cfg, int *endpoint_version, bool *job_created,
                char err[ERROR_MAX]);

#endif

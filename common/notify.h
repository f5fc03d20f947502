/* notify.h - readiness, watchdog and stopping notifications to systemd.
 *
 * Implements the documented sd_notify datagram protocol (sd_notify(3)) by
 * itself, so that no libsystemd is needed: each notification is one
 * datagram of "KEY=value" lines sent to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (an absolute path, or an abstract socket when it starts
 * with '@'). Without $NOTIFY_SOCKET every call is a no-op, so the same
 * binaries run under systemd (Type=notify, WatchdogSec=) or without it.
 *
 * Use from a process main loop:
 *   notify_open(&n, err)                 after config, before resources
 *   notify_ready(n, "serving ...")       when sockets are bound and recovery is done
 *   notify_watchdog(n)                   from the loop's housekeeping (sends when due)
 *   timeout = notify_poll_timeout(n, timeout)  so the loop wakes up in time to ping
 *   notify_stopping(n)                   when a stop signal is seen
 *   notify_close(&n)
 *
 * The module owns the notification socket and the watchdog ping schedule;
 * it never changes the environment. A process that starts children (the
 * broker) filters the entries notify_env_entry() names out of their
 * environment, so that only it reports to the service manager. */
#ifndef LAKEHOUSE_NOTIFY_H
#define LAKEHOUSE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct notify;

/* Read $NOTIFY_SOCKET and $WATCHDOG_USEC. Returns 0 with *out = NULL when
 * NOTIFY_SOCKET is unset or empty (not under systemd: every other call is a
 * no-op on NULL), 0 with *out set (caller owns it, notify_close) when it is
 * usable, -1 with err when it names no usable socket address or socket()
 * fails (*out = NULL; the caller logs it and runs on without notifications). */
int notify_open(struct notify **out, char err[ERROR_MAX]);

/* Close the socket, free, set *n = NULL. NULL and *n == NULL are fine. */
void notify_close(struct notify **n);

/* Send one datagram, e.g. "READY=1\nSTATUS=serving". Returns 0 (also when
 * n is NULL), -1 with err when sending failed. */
int notify_send(struct notify *n, const char *state, char err[ERROR_MAX]);

/* READY=1 (with STATUS=status unless status is NULL); failures are logged. */
void notify_ready(struct notify *n, const char *status);

/* STOPPING=1 (with STATUS=stopping); failures are logged. */
void notify_stopping(struct notify *n);

/* WATCHDOG=1 when the next ping is due (every half of WATCHDOG_USEC);
 * nothing when no watchdog is configured. Cheap: call it every loop turn. */
void notify_watchdog(struct notify *n);

/* timeout_ms (a zmq_poll/poll timeout, -1 = infinite) lowered so that the
 * loop wakes up when the next watchdog ping is due; unchanged without a
 * watchdog. */
long notify_poll_timeout(const struct notify *n, long timeout_ms);

/* The watchdog ping interval in ms: half of $WATCHDOG_USEC (rounded down,
 * at least 1), or 0 when it is unset, invalid, or $WATCHDOG_PID names
 * another process. */
int64_t notify_watchdog_interval_ms(void);

/* True for an environment entry ("NAME=value") addressed to the service
 * manager's main process (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID):
 * children must not inherit these. */
bool notify_env_entry(const char *entry);

#endif

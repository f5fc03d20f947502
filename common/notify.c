/* notify.c - the sd_notify datagram protocol (see notify.h).
 *
 * One SOCK_DGRAM socket, opened once, sends every notification to the
 * address read from $NOTIFY_SOCKET at open time, like sd_notify(3) does
 * (a blocking send; the service manager drains its socket promptly). A
 * failure is only logged: a process keeps serving even when the manager is
 * gone. */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"

struct notify {
    int fd;
    struct sockaddr_un addr;
    socklen_t addr_len;
    int64_t watchdog_ms;  /* ping interval; 0 = no watchdog */
    int64_t next_ping_ms; /* monotonic */
};

int64_t notify_watchdog_interval_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    if (usec == NULL || usec[0] == '\0')
        return 0;
    char *end;
    errno = 0;
    unsigned long long us = strtoull(usec, &end, 10);
    if (errno != 0 || *end != '\0' || us == 0 || usec[0] == '-')
        return 0;
    /* WATCHDOG_PID, when set, says which process the watchdog is for. */
    const char *pid = getenv("WATCHDOG_PID");
    if (pid != NULL && pid[0] != '\0') {
        errno = 0;
        long long p = strtoll(pid, &end, 10);
        if (errno != 0 || *end != '\0' || p != (long long)getpid())
            return 0;
    }
    int64_t ms = (int64_t)(us / 2000);
    return ms > 0 ? ms : 1;
}

bool notify_env_entry(const char *entry)
{
    static const char *const names[] = {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID="};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(entry, names[i], strlen(names[i])) == 0)
            return true;
    return false;
}

int notify_open(struct notify **out, char err[ERROR_MAX])
{
    *out = NULL;
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0')
        return 0;
    struct notify *n = calloc(1, sizeof *n);
    if (n == NULL)
        return error_set(err, "out of memory");
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof n->addr.sun_path) {
        free(n);
        return error_set(err, "NOTIFY_SOCKET '%.200s' is not an absolute path or @abstract name "
                              "of at most %zu characters", path, sizeof n->addr.sun_path - 1);
    }
    n->addr.sun_family = AF_UNIX;
    memcpy(n->addr.sun_path, path, len);
    if (path[0] == '@')
        n->addr.sun_path[0] = '\0'; /* abstract: the length counts, no terminator */
    n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (n->fd < 0) {
        error_set(err, "NOTIFY_SOCKET: socket: %s", strerror(errno));
        free(n);
        return -1;
    }
    n->watchdog_ms = notify_watchdog_interval_ms();
    n->next_ping_ms = timeutil_monotonic_ms(); /* first ping on the first loop turn */
    *out = n;
    return 0;
}

void notify_close(struct notify **n)
{
    if (n == NULL || *n == NULL)
        return;
    close((*n)->fd);
    free(*n);
    *n = NULL;
}

int notify_send(struct notify *n, const char *state, char err[ERROR_MAX])
{
    if (n == NULL)
        return 0;
    ssize_t w;
    do {
        w = sendto(n->fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&n->addr,
                   n->addr_len);
    } while (w < 0 && errno == EINTR);
    if (w < 0)
        return error_set(err, "notify '%.40s': %s", state, strerror(errno));
    return 0;
}

void notify_ready(struct notify *n, const char *status)
{
    if (n == NULL)
        return;
    char msg[512];
    char err[ERROR_MAX];
    snprintf(msg, sizeof msg, "READY=1%s%.400s", status != NULL ? "\nSTATUS=" : "",
             status != NULL ? status : "");
    if (notify_send(n, msg, err) < 0)
        log_warn("notify_failed reason=\"%s\"", err);
}

void notify_stopping(struct notify *n)
{
    char err[ERROR_MAX];
    if (notify_send(n, "STOPPING=1\nSTATUS=stopping", err) < 0)
        log_warn("notify_failed reason=\"%s\"", err);
}

void notify_watchdog(struct notify *n)
{
    if (n == NULL || n->watchdog_ms == 0)
        return;
    int64_t now = timeutil_monotonic_ms();
    if (now < n->next_ping_ms)
        return;
    n->next_ping_ms = now + n->watchdog_ms;
    char err[ERROR_MAX];
    if (notify_send(n, "WATCHDOG=1", err) < 0)
        log_warn("notify_failed reason=\"%s\"", err);
}

long notify_poll_timeout(const struct notify *n, long timeout_ms)
{
    if (n == NULL || n->watchdog_ms == 0)
        return timeout_ms;
    int64_t until = n->next_ping_ms - timeutil_monotonic_ms();
    if (until < 0)
        until = 0;
    if (timeout_ms < 0 || until < timeout_ms)
        return (long)until;
    return timeout_ms;
}

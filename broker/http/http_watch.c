/* http_watch.c - the request deadline (http_request_timeout_ms): a
 * connection must deliver a whole request (headers and body) within it,
 * counted from its accept or from the end of its previous answer. One
 * thread looks at the armed deadlines ten times a second and shuts down
 * the socket of a late connection; libmicrohttpd then sees the end of the
 * stream and closes it as usual. libmicrohttpd's own timeout only counts
 * idle time, so a client trickling one byte at a time (slowloris) would
 * keep its connection for ever without this.
 *
 * Entries live in one list under a mutex; an entry is removed (by the
 * connection-closed notification) before libmicrohttpd closes the socket,
 * so a shut-down descriptor is never one reused by a newer connection. */
#include "http_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "log.h"
#include "timeutil.h"

#define HTTP_WATCH_PERIOD_MS 100

struct http_watch_entry {
    int fd;
    int64_t deadline_ms; /* 0 = not armed (a request is being answered) */
    struct http_watch_entry *prev, *next;
};

struct http_watch {
    int64_t timeout_ms;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    pthread_t thread;
    struct http_watch_entry *head;
};

static void *http_watch_run(void *arg)
{
    struct http_watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += HTTP_WATCH_PERIOD_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
        int64_t now = timeutil_monotonic_ms();
        unsigned closed = 0;
        for (struct http_watch_entry *e = w->head; e != NULL; e = e->next) {
            if (e->deadline_ms == 0 || e->deadline_ms > now)
                continue;
            shutdown(e->fd, SHUT_RDWR);
            e->deadline_ms = 0;
            closed++;
        }
        if (closed > 0)
            log_info("http closed_slow_connections count=%u reason=\"no whole request within "
                     "http_request_timeout_ms=%lld\"", closed, (long long)w->timeout_ms);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct http_watch *http_watch_start(int64_t timeout_ms, char err[ERROR_MAX])
{
    struct http_watch *w = calloc(1, sizeof *w);
    if (w == NULL) {
        error_set(err, "http: out of memory");
        return NULL;
    }
    w->timeout_ms = timeout_ms;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, http_watch_run, w) != 0) {
        error_set(err, "http: cannot start the request-deadline thread");
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

void http_watch_stop(struct http_watch **watch)
{
    if (watch == NULL || *watch == NULL)
        return;
    struct http_watch *w = *watch;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    while (w->head != NULL) {
        struct http_watch_entry *e = w->head;
        w->head = e->next;
        free(e);
    }
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
    *watch = NULL;
}

struct http_watch_entry *http_watch_add(struct http_watch *w, int fd)
{
    struct http_watch_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->fd = fd;
    e->deadline_ms = timeutil_monotonic_ms() + w->timeout_ms;
    pthread_mutex_lock(&w->lock);
    e->next = w->head;
    if (w->head != NULL)
        w->head->prev = e;
    w->head = e;
    pthread_mutex_unlock(&w->lock);
    return e;
}

void http_watch_arm(struct http_watch *w, struct http_watch_entry *e, bool armed)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    e->deadline_ms = armed ? timeutil_monotonic_ms() + w->timeout_ms : 0;
    pthread_mutex_unlock(&w->lock);
}

void http_watch_remove(struct http_watch *w, struct http_watch_entry *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        w->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    pthread_mutex_unlock(&w->lock);
    free(e);
}

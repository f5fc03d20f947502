/* http_async.c - ingest calls without a waiting thread (http_internal.h).
 *
 * One thread owns every DEALER socket to ingest. A request handler hands it
 * a call (encoded header and body) and returns; the thread sends the call,
 * waits for ingest's durable ack among all others in one zmq_poll, stores
 * the reply in the call and runs its done callback, which resumes the HTTP
 * connection. So a thousand producers waiting for fdatasync cost a thousand
 * sockets, not a thousand threads.
 *
 * Each call in flight has its own socket (the protocol's replies carry no
 * tag a shared socket could match them by); a socket whose call was
 * answered is kept for the next call (up to HTTP_ASYNC_IDLE_MAX), one whose
 * call timed out is closed, so a late reply never meets a newer call.
 * Handlers wake the thread through an eventfd. The thread waits in epoll on
 * each socket's ZMQ_FD (and the eventfd), so an ack costs the same with a
 * thousand calls in flight as with one; deadlines are checked every
 * HTTP_ASYNC_TICK_MS. */
#include "http_internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "log.h"
#include "timeutil.h"

#define HTTP_ASYNC_IDLE_MAX 1024
#define HTTP_ASYNC_TICK_MS 100
#define HTTP_ASYNC_EVENTS 256
#define HTTP_ASYNC_WAKE UINT64_MAX /* epoll tag of the eventfd */

struct http_async_flight {
    struct http_ingest_call *call; /* NULL: slot free */
    void *sock;
    int fd;                        /* the socket's ZMQ_FD */
    int64_t deadline_ms;
};

struct http_async {
    const struct config *cfg;
    void *zmq;
    int wake_fd;
    int epoll_fd;
    pthread_t thread;
    pthread_mutex_t lock;
    struct http_fifo queue;                            /* submitted, not yet sent; closed: stop */
    size_t limit;                                      /* calls in flight at most */
    struct http_async_flight *flights;                 /* thread only: limit slots */
    size_t *free_slots;                                /* thread only: stack of free slots */
    size_t free_count;
    size_t flight_count;
    void **idle;                                       /* thread only */
    size_t idle_count;
};

static void http_async_finish(struct http_ingest_call *call) { call->done(call->done_arg); }

static void http_async_fail(struct http_ingest_call *call, const char *message)
{
    call->rc = -1;
    error_set(call->err, "%s", message);
    http_async_finish(call);
}

static void *http_async_socket(struct http_async *a, char err[ERROR_MAX])
{
    if (a->idle_count > 0)
        return a->idle[--a->idle_count];
    const char *endpoint = a->cfg->ingest_endpoint;
    void *sock = zmq_socket(a->zmq, ZMQ_DEALER);
    if (sock == NULL) {
        error_set(err, "ingest %s: socket: %s", endpoint, zmq_strerror(zmq_errno()));
        return NULL;
    }
    int linger = 0;
    if (curve_client_setup(sock, a->cfg, err) < 0) { /* tcp:// with CURVE keys only */
        zmq_close(sock);
        return NULL;
    }
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(sock, endpoint) != 0) {
        error_set(err, "ingest %s: connect: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

static void http_async_release(struct http_async *a, void *sock, bool reuse)
{
    if (reuse && a->idle_count < HTTP_ASYNC_IDLE_MAX)
        a->idle[a->idle_count++] = sock;
    else
        zmq_close(sock);
}

static void http_async_check(struct http_async *a, size_t slot);

/* Send a queued call: it joins the flights, or fails at once. */
static void http_async_send(struct http_async *a, struct http_ingest_call *call)
{
    char err[ERROR_MAX];
    void *sock = http_async_socket(a, err);
    if (sock == NULL) {
        http_async_fail(call, err);
        return;
    }
    /* DONTWAIT: a peer that is not there yet must not stall every other call;
     * the pipe to a connecting ipc:// peer queues the message. */
    if (zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, call->header, call->header_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, call->body, call->body_len, ZMQ_DONTWAIT) < 0) {
        error_set(err, "ingest %s: send: %s", a->cfg->ingest_endpoint, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        http_async_fail(call, err);
        return;
    }
    size_t slot = a->free_slots[--a->free_count];
    struct http_async_flight *f = &a->flights[slot];
    size_t fd_len = sizeof f->fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = slot};
    if (zmq_getsockopt(sock, ZMQ_FD, &f->fd, &fd_len) != 0 ||
        epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, f->fd, &ev) != 0) {
        error_set(err, "ingest %s: cannot wait for the reply: %s", a->cfg->ingest_endpoint,
                  strerror(errno));
        a->free_slots[a->free_count++] = slot;
        zmq_close(sock);
        http_async_fail(call, err);
        return;
    }
    f->call = call;
    f->sock = sock;
    f->deadline_ms = timeutil_monotonic_ms() + a->cfg->http_ingest_timeout_ms;
    a->flight_count++;
    /* The reply may be in already: ZMQ_FD only signals changes after this. */
    http_async_check(a, slot);
}

/* Take slot out of the flights (its socket closed or kept by the caller). */
static void http_async_vacate(struct http_async *a, size_t slot)
{
    struct http_async_flight *f = &a->flights[slot];
    epoll_ctl(a->epoll_fd, EPOLL_CTL_DEL, f->fd, NULL);
    f->call = NULL;
    f->sock = NULL;
    a->free_slots[a->free_count++] = slot;
    a->flight_count--;
}

/* Read the reply waiting on slot and finish its call. */
static void http_async_receive(struct http_async *a, size_t slot)
{
    struct http_async_flight *f = &a->flights[slot];
    struct http_ingest_call *call = f->call;
    void *sock = f->sock;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    bool ok = false;
    call->rc = -1;
    for (int frame = 0;; frame++) {
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
            error_set(call->err, "ingest %s: receive: %s", a->cfg->ingest_endpoint,
                      zmq_strerror(zmq_errno()));
            break;
        }
        bool more = zmq_msg_more(&msg);
        if (frame == 0 && zmq_msg_size(&msg) == 0 && more)
            continue;
        if (frame != 1 || more) {
            error_set(call->err, "ingest %s: malformed reply (frame %d)", a->cfg->ingest_endpoint,
                      frame);
            break;
        }
        call->rc = protocol_reply_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &call->reply,
                                         call->err);
        ok = call->rc == 0;
        break;
    }
    zmq_msg_close(&msg);
    http_async_vacate(a, slot);
    http_async_release(a, sock, ok);
    http_async_finish(call);
}

/* Whether slot's socket has its reply (this also clears its ZMQ_FD
 * signal); if so, finish the call. */
static void http_async_check(struct http_async *a, size_t slot)
{
    int events = 0;
    size_t len = sizeof events;
    if (zmq_getsockopt(a->flights[slot].sock, ZMQ_EVENTS, &events, &len) == 0 &&
        (events & ZMQ_POLLIN))
        http_async_receive(a, slot);
}

static void http_async_expire(struct http_async *a, int64_t now)
{
    for (size_t slot = 0; slot < a->limit; slot++) {
        struct http_async_flight *f = &a->flights[slot];
        if (f->call == NULL || f->deadline_ms > now)
            continue;
        struct http_ingest_call *call = f->call;
        void *sock = f->sock;
        http_async_vacate(a, slot);
        zmq_close(sock); /* a late reply must not meet a newer call */
        call->rc = -1;
        error_set(call->err,
                  "ingest did not answer within %lld ms (is lakehouse-ingest running?); the "
                  "batch may or may not be stored: re-send it with the same batch_id",
                  (long long)a->cfg->http_ingest_timeout_ms);
        http_async_finish(call);
    }
}

static void *http_async_run(void *arg)
{
    struct http_async *a = arg;
    struct epoll_event events[HTTP_ASYNC_EVENTS];
    int64_t next_tick = timeutil_monotonic_ms() + HTTP_ASYNC_TICK_MS;
    for (;;) {
        /* Take the queued calls while there is room in flight. */
        pthread_mutex_lock(&a->lock);
        bool stop = a->queue.closed;
        while (!stop && a->queue.head != NULL && a->flight_count < a->limit) {
            struct http_ingest_call *call =
                HTTP_CONTAINER(http_fifo_pop(&a->queue), struct http_ingest_call, link);
            pthread_mutex_unlock(&a->lock);
            http_async_send(a, call);
            pthread_mutex_lock(&a->lock);
        }
        pthread_mutex_unlock(&a->lock);
        if (stop)
            break;
        int64_t now = timeutil_monotonic_ms();
        int wait = a->flight_count == 0 ? -1 : next_tick > now ? (int)(next_tick - now) : 0;
        int n = epoll_wait(a->epoll_fd, events, HTTP_ASYNC_EVENTS, wait);
        if (n < 0 && errno != EINTR) {
            log_error("http ingest_wait_failed reason=\"%s\"", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 == HTTP_ASYNC_WAKE) {
                uint64_t count;
                if (read(a->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
                    log_warn("http wake_read_failed reason=\"%s\"", strerror(errno));
            } else if (a->flights[events[i].data.u64].call != NULL) {
                http_async_check(a, (size_t)events[i].data.u64);
            }
        }
        now = timeutil_monotonic_ms();
        if (now >= next_tick) {
            http_async_expire(a, now);
            next_tick = now + HTTP_ASYNC_TICK_MS;
        }
    }
    /* Stopping: every call still here is answered as not known to be stored. */
    for (size_t slot = 0; slot < a->limit; slot++) {
        struct http_async_flight *f = &a->flights[slot];
        if (f->call == NULL)
            continue;
        struct http_ingest_call *call = f->call;
        void *sock = f->sock;
        http_async_vacate(a, slot);
        zmq_close(sock);
        http_async_fail(call, "the server is stopping; the batch may or may not be "
                                    "stored: re-send it with the same batch_id");
    }
    pthread_mutex_lock(&a->lock);
    struct http_link *rest = http_fifo_close(&a->queue);
    pthread_mutex_unlock(&a->lock);
    while (rest != NULL) {
        struct http_link *next = rest->next;
        http_async_fail(HTTP_CONTAINER(rest, struct http_ingest_call, link),
                        "the server is stopping; the batch was not sent");
        rest = next;
    }
    while (a->idle_count > 0)
        zmq_close(a->idle[--a->idle_count]);
    return NULL;
}

struct http_async *http_async_start(void *zmq, const struct config *cfg, size_t limit,
                                    char err[ERROR_MAX])
{
    struct http_async *a = calloc(1, sizeof *a);
    if (a == NULL)
        goto nomem;
    a->cfg = cfg;
    a->zmq = zmq;
    a->limit = limit;
    a->wake_fd = a->epoll_fd = -1;
    a->flights = calloc(limit, sizeof *a->flights);
    a->free_slots = calloc(limit, sizeof *a->free_slots);
    a->idle = calloc(HTTP_ASYNC_IDLE_MAX, sizeof *a->idle);
    if (a->flights == NULL || a->free_slots == NULL || a->idle == NULL)
        goto nomem;
    for (size_t i = 0; i < limit; i++)
        a->free_slots[a->free_count++] = limit - 1 - i;
    a->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = HTTP_ASYNC_WAKE};
    if (a->wake_fd < 0 || a->epoll_fd < 0 ||
        epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, a->wake_fd, &ev) != 0) {
        error_set(err, "http: eventfd/epoll: %s", strerror(errno));
        goto fail;
    }
    pthread_mutex_init(&a->lock, NULL);
    if (pthread_create(&a->thread, NULL, http_async_run, a) != 0) {
        error_set(err, "http: cannot start the ingest-call thread");
        pthread_mutex_destroy(&a->lock);
        goto fail;
    }
    return a;
nomem:
    error_set(err, "http: out of memory");
fail:
    if (a != NULL) {
        if (a->wake_fd >= 0)
            close(a->wake_fd);
        if (a->epoll_fd >= 0)
            close(a->epoll_fd);
        free(a->flights);
        free(a->free_slots);
        free(a->idle);
    }
    free(a);
    return NULL;
}

static void http_async_wake(struct http_async *a)
{
    uint64_t one = 1;
    if (write(a->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("http wake_failed reason=\"%s\"", strerror(errno));
}

int http_async_submit(struct http_async *a, struct http_ingest_call *call)
{
    pthread_mutex_lock(&a->lock);
    int rc = http_fifo_push(&a->queue, &call->link);
    pthread_mutex_unlock(&a->lock);
    if (rc == 0)
        http_async_wake(a);
    return rc;
}

void http_async_stop(struct http_async **async)
{
    if (async == NULL || *async == NULL)
        return;
    struct http_async *a = *async;
    pthread_mutex_lock(&a->lock);
    a->queue.closed = true; /* the thread answers what is still queued */
    pthread_mutex_unlock(&a->lock);
    http_async_wake(a);
    pthread_join(a->thread, NULL);
    pthread_mutex_destroy(&a->lock);
    close(a->wake_fd);
    close(a->epoll_fd);
    free(a->flights);
    free(a->free_slots);
    free(a->idle);
    free(a);
    *async = NULL;
}

/* http_long.c - handlers whose answer waits long for a worker process
 * (http_internal.h): a rollback rewrites a whole silver table, an export
 * writes every changed table, an expire or a compaction goes through every
 * bronze file of a domain; each can take minutes. Such work must not hold
 * one of the few handler workers (http_work.c) for all that time, or a few
 * operators would lock every other request out. The handler only checks
 * the request and leaves a deferred call in its reply; the call then runs
 * on a thread of its own while the connection stays suspended (it holds no
 * worker), and the connection is resumed with the call's answer.
 *
 * At most HTTP_LONG_MAX run at once (the workers do one operation at a time
 * anyway): beyond that, 503 with Retry-After. When the server stops, every
 * waiting connection is answered 503 at once (the operation goes on in the
 * worker); the call's thread ends when the server's ZeroMQ context ends its
 * control call, and then only frees what it owns. */
#include "http_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_LONG_MAX 8

struct http_long_op {
    struct http_long *owner;
    struct http_deferred call;
    struct http_reply *reply;  /* the connection's: written only when not abandoned */
    void (*done)(void *arg);
    void *done_arg;
    bool abandoned;            /* the server answered it while stopping */
    struct http_long_op *next; /* running, under owner->lock */
};

struct http_long {
    pthread_mutex_t lock;
    struct http_long_op *running;
    size_t count;
    size_t refs;               /* 1 for the server + 1 per running thread */
    bool stopped;
};

struct http_long *http_long_start(char err[ERROR_MAX])
{
    struct http_long *l = calloc(1, sizeof *l);
    if (l == NULL) {
        error_set(err, "http: out of memory");
        return NULL;
    }
    pthread_mutex_init(&l->lock, NULL);
    l->refs = 1;
    return l;
}

/* Drop one reference (under the lock); frees after the lock on the last. */
static void http_long_release(struct http_long *l)
{
    bool last = --l->refs == 0;
    pthread_mutex_unlock(&l->lock);
    if (last) {
        pthread_mutex_destroy(&l->lock);
        free(l);
    }
}

static void http_deferred_clear(struct http_deferred *call)
{
    if (call->free != NULL)
        call->free(call->arg);
    memset(call, 0, sizeof *call);
}

static void *http_long_run(void *arg)
{
    struct http_long_op *op = arg;
    struct http_reply out;
    memset(&out, 0, sizeof out);
    op->call.run(op->call.arg, &out);
    struct http_long *l = op->owner;
    pthread_mutex_lock(&l->lock);
    for (struct http_long_op **p = &l->running; *p != NULL; p = &(*p)->next) {
        if (*p == op) {
            *p = op->next;
            break;
        }
    }
    l->count--;
    if (op->abandoned) {
        http_reply_clear(&out);
    } else {
        /* resumed under the lock: http_long_stop waits for it */
        *op->reply = out;
        op->done(op->done_arg);
    }
    http_deferred_clear(&op->call);
    free(op);
    http_long_release(l);
    return NULL;
}

int http_long_submit(struct http_long *l, struct http_reply *reply, void (*done)(void *arg),
                     void *done_arg)
{
    struct http_long_op *op = calloc(1, sizeof *op);
    pthread_mutex_lock(&l->lock);
    if (op == NULL || l->stopped || l->count >= HTTP_LONG_MAX) {
        bool stopping = l->stopped;
        pthread_mutex_unlock(&l->lock);
        free(op);
        http_deferred_clear(&reply->deferred);
        http_reply_error(reply, 503, "%s", stopping ? "the server is stopping"
                                                     : "too many long operations at once "
                                                       "(rollback, expire, compact, export): "
                                                       "retry shortly");
        reply->retry_after = HTTP_RETRY_AFTER_S;
        return -1;
    }
    op->owner = l;
    op->call = reply->deferred;
    memset(&reply->deferred, 0, sizeof reply->deferred);
    op->reply = reply;
    op->done = done;
    op->done_arg = done_arg;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, http_long_run, op);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_unlock(&l->lock);
        http_deferred_clear(&op->call);
        free(op);
        http_reply_error(reply, 503, "could not start a thread for the operation");
        reply->retry_after = HTTP_RETRY_AFTER_S;
        return -1;
    }
    op->next = l->running;
    l->running = op;
    l->count++;
    l->refs++;
    pthread_mutex_unlock(&l->lock);
    return 0;
}

void http_long_stop(struct http_long **longs)
{
    if (longs == NULL || *longs == NULL)
        return;
    struct http_long *l = *longs;
    pthread_mutex_lock(&l->lock);
    l->stopped = true;
    for (struct http_long_op *op = l->running; op != NULL; op = op->next) {
        if (op->abandoned)
            continue;
        op->abandoned = true;
        http_reply_error(op->reply, 503, "the server is stopping; the operation goes on in the "
                                         "worker (see GET /status)");
        op->reply->retry_after = HTTP_RETRY_AFTER_S;
        op->done(op->done_arg);
    }
    http_long_release(l);
    *longs = NULL;
}

int http_defer(struct http_reply *reply, void (*run)(void *arg, struct http_reply *out),
               void (*free_arg)(void *arg), void *arg)
{
    if (arg == NULL) {
        http_reply_error(reply, 500, "out of memory");
        return -1;
    }
    reply->deferred = (struct http_deferred){.run = run, .free = free_arg, .arg = arg};
    return 0;
}

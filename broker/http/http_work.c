/* http_work.c - the worker threads that run request handlers
 * (http_internal.h). libmicrohttpd's few polling threads each serve many
 * connections, so they must never block: a handler (a catalog transaction,
 * a query near its time limit, a control call) runs here while its
 * connection is suspended, and the connection is resumed when it is done.
 * The queue holds at most one item per open connection, so it is bounded by
 * http_max_connections. */
#include "http_internal.h"

#include <pthread.h>
#include <stdlib.h>

struct http_work {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct http_fifo queue; /* closed: stopping */
    size_t threads;
    pthread_t *thread;
};

static void *http_work_run(void *arg)
{
    struct http_work *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->queue.closed && w->queue.head == NULL)
            pthread_cond_wait(&w->ready, &w->lock);
        struct http_work_item *item = (struct http_work_item *)(void *)http_fifo_pop(&w->queue);
        if (item == NULL) /* stopping and nothing left */
            break;
        pthread_mutex_unlock(&w->lock);
        item->run(item);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct http_work *http_work_start(size_t threads, char err[ERROR_MAX])
{
    struct http_work *w = calloc(1, sizeof *w);
    pthread_t *thread = calloc(threads, sizeof *thread);
    if (w == NULL || thread == NULL) {
        free(w);
        free(thread);
        error_set(err, "http: out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->ready, NULL);
    w->thread = thread;
    for (; w->threads < threads; w->threads++) {
        if (pthread_create(&w->thread[w->threads], NULL, http_work_run, w) != 0) {
            error_set(err, "http: cannot start worker thread %zu", w->threads + 1);
            http_work_stop(&w);
            return NULL;
        }
    }
    return w;
}

int http_work_submit(struct http_work *w, struct http_work_item *item)
{
    pthread_mutex_lock(&w->lock);
    int rc = http_fifo_push(&w->queue, &item->link);
    if (rc == 0)
        pthread_cond_signal(&w->ready);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void http_work_stop(struct http_work **work)
{
    if (work == NULL || *work == NULL)
        return;
    struct http_work *w = *work;
    pthread_mutex_lock(&w->lock);
    w->queue.closed = true; /* what is queued still runs */
    pthread_cond_broadcast(&w->ready);
    pthread_mutex_unlock(&w->lock);
    /* The items already queued still run (their connections are waiting). */
    for (size_t i = 0; i < w->threads; i++)
        pthread_join(w->thread[i], NULL);
    pthread_cond_destroy(&w->ready);
    pthread_mutex_destroy(&w->lock);
    free(w->thread);
    free(w);
    *work = NULL;
}

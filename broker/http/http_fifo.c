/* http_fifo.c - the queue of work waiting for a thread (http_internal.h):
 * handlers waiting for a worker (http_work.c) and ingest calls waiting for
 * a socket (http_async.c). The owner's lock guards it. */
#include "http_internal.h"

int http_fifo_push(struct http_fifo *fifo, struct http_link *item)
{
    if (fifo->closed)
        return -1;
    item->next = NULL;
    if (fifo->tail != NULL)
        fifo->tail->next = item;
    else
        fifo->head = item;
    fifo->tail = item;
    return 0;
}

struct http_link *http_fifo_pop(struct http_fifo *fifo)
{
    struct http_link *item = fifo->head;
    if (item != NULL) {
        fifo->head = item->next;
        if (fifo->head == NULL)
            fifo->tail = NULL;
    }
    return item;
}

struct http_link *http_fifo_close(struct http_fifo *fifo)
{
    struct http_link *rest = fifo->head;
    fifo->closed = true;
    fifo->head = fifo->tail = NULL;
    return rest;
}

/* buf.h - a growable byte buffer for ingest's group-commit output.
 *
 * Lines of a group are built in place in these buffers (one per table for the
 * spool, one for rejected records) and handed to write() in one call, so the
 * hot path does not allocate per record once a buffer has grown to its
 * working size. The buffer owns its memory; buf_free releases it. Growth is
 * bounded by the group limits (ingest_queue_max_bytes, batch limits), not
 * here. */
#ifndef INGEST_BUF_H
#define INGEST_BUF_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

/* Make room for `more` bytes after len. false on allocation failure (the
 * buffer is unchanged). */
static inline bool buf_reserve(struct buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

static inline bool buf_append(struct buf *b, const void *data, size_t len)
{
    if (!buf_reserve(b, len))
        return false;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return true;
}

/* Release memory beyond `keep` bytes of capacity after a burst, so that one
 * huge group does not pin its peak memory for ever. */
static inline void buf_reset(struct buf *b, size_t keep)
{
    b->len = 0;
    if (b->cap > keep) {
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
}

static inline void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

#endif

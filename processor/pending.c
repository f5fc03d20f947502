/* pending.c - the bounded set of bronze files waiting to be merged.
 *
 * A sorted array of relative paths without duplicates. Sorting the whole
 * relative path ("bronze/<d>/<e>/dt=<date>/<first>-<last>...") puts the files
 * of each table in arrival order, so popping the smallest merges every table
 * in name order. Events and scans mostly add in order, so inserts are usually
 * appends; popping advances a head index instead of moving the array. The
 * limit keeps memory bounded; a refused add sets the overflow flag and the
 * processor re-scans bronze (the durable backlog) after draining. */
#include "processor.h"

#include <stdlib.h>
#include <string.h>

struct pending {
    char **items;  /* items[head .. count) are queued, sorted */
    size_t head;
    size_t count;
    size_t cap;
    size_t limit;
    bool overflow;
};

struct pending *pending_new(size_t limit)
{
    struct pending *p = calloc(1, sizeof *p);
    if (p != NULL)
        p->limit = limit;
    return p;
}

void pending_free(struct pending **pending)
{
    struct pending *p = *pending;
    if (p == NULL)
        return;
    for (size_t i = p->head; i < p->count; i++)
        free(p->items[i]);
    free(p->items);
    free(p);
    *pending = NULL;
}

size_t pending_count(const struct pending *pending)
{
    return pending->count - pending->head;
}

bool pending_take_overflow(struct pending *pending)
{
    bool o = pending->overflow;
    pending->overflow = false;
    return o;
}

/* Index of the first queued item >= rel. */
static size_t pending_lower_bound(const struct pending *p, const char *rel)
{
    size_t lo = p->head, hi = p->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(p->items[mid], rel) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int pending_add(struct pending *p, const char *rel)
{
    size_t at = pending_lower_bound(p, rel);
    if (at < p->count && strcmp(p->items[at], rel) == 0)
        return 0;
    if (pending_count(p) >= p->limit) {
        p->overflow = true;
        return -1;
    }
    if (p->head > 0 && (p->count == p->cap || p->head >= p->count / 2)) {
        /* reclaim the popped prefix before growing */
        memmove(p->items, p->items + p->head, (p->count - p->head) * sizeof *p->items);
        p->count -= p->head;
        at -= p->head;
        p->head = 0;
    }
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        char **items = realloc(p->items, cap * sizeof *items);
        if (items == NULL) {
            p->overflow = true;
            return -1;
        }
        p->items = items;
        p->cap = cap;
    }
    char *copy = strdup(rel);
    if (copy == NULL) {
        p->overflow = true;
        return -1;
    }
    memmove(p->items + at + 1, p->items + at, (p->count - at) * sizeof *p->items);
    p->items[at] = copy;
    p->count++;
    return 1;
}

const char *pending_peek(const struct pending *p)
{
    return p->head == p->count ? NULL : p->items[p->head];
}

char *pending_pop(struct pending *p)
{
    if (p->head == p->count)
        return NULL;
    char *item = p->items[p->head++];
    if (p->head == p->count)
        p->head = p->count = 0;
    return item;
}

/* dedup.h - the batch-id window: which (domain, endpoint, batch id) were
 * stored recently, with the counts their reply carried.
 *
 * A producer that lost a reply re-sends the batch with the same id; ingest
 * answers it from this window (duplicate=true) instead of storing it again.
 * The window holds the last `window` ids in insertion order (oldest evicted
 * first); it is a hash table over a ring of entries, allocated once at open
 * (one key string is allocated per stored batch, never per record). At start
 * recover.c refills it from the _batch_id of recent bronze files and the
 * rejected/ files. Each entry remembers the group (a number the caller
 * increments per group commit) it was stored in, so that a duplicate of a
 * batch still waiting for its fdatasync is answered after that same sync. */
#ifndef INGEST_DEDUP_H
#define INGEST_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

struct dedup;

struct dedup_counts {
    uint64_t accepted;
    uint64_t refused;
    uint64_t group; /* group number when stored; 0 = before this run */
};

/* window 0 disables deduplication (every call is a no-op / not found).
 * Caller owns *out (dedup_close). */
int dedup_open(size_t window, struct dedup **out, char err[ERROR_MAX]);
void dedup_close(struct dedup **dedup);

/* true and *out filled if the id is in the window. */
bool dedup_lookup(const struct dedup *dedup, const char *domain, const char *endpoint,
                  const char *id, struct dedup_counts *out);
/* Remember a stored batch (replaces an entry with the same key). -1 on
 * allocation failure (the batch is then simply not deduplicated). */
int dedup_insert(struct dedup *dedup, const char *domain, const char *endpoint, const char *id,
                 const struct dedup_counts *counts);
/* Add to the counts of an id, inserting it if absent (start-up refill). */
int dedup_add(struct dedup *dedup, const char *domain, const char *endpoint, const char *id,
              uint64_t accepted, uint64_t refused);
/* Forget an id (its group failed to become durable). */
void dedup_remove(struct dedup *dedup, const char *domain, const char *endpoint, const char *id);
size_t dedup_count(const struct dedup *dedup);

#endif

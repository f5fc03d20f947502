/* dedup.c - the batch-id window (see dedup.h): a ring of entries in
 * insertion order plus an open-addressing hash index (linear probing,
 * backward-shift deletion, so no tombstones accumulate). */
#include "dedup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "protocol.h"

#define DEDUP_KEY_MAX (2 * NAMES_MAX + PROTOCOL_ID_MAX + 2)

struct dedup_entry {
    char *key;            /* NULL: slot of the ring no longer live */
    uint64_t hash;
    struct dedup_counts counts;
};

struct dedup {
    size_t window;
    struct dedup_entry *ring; /* window entries */
    size_t head;              /* oldest entry */
    size_t used;              /* ring positions in use (live or not) */
    size_t live;
    uint32_t *slots;          /* ring index + 1, 0 = empty */
    size_t mask;
};

static uint64_t dedup_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static void dedup_key(char out[DEDUP_KEY_MAX], const char *domain, const char *endpoint,
                      const char *id)
{
    snprintf(out, DEDUP_KEY_MAX, "%s/%s/%s", domain, endpoint, id);
}

int dedup_open(size_t window, struct dedup **out, char err[ERROR_MAX])
{
    *out = NULL;
    if (window > (1u << 30))
        return error_set(err, "batch_id_window %zu is too large (max %u)", window, 1u << 30);
    struct dedup *d = calloc(1, sizeof *d);
    if (d == NULL)
        return error_set(err, "dedup: out of memory");
    d->window = window;
    if (window > 0) {
        size_t nslots = 16;
        while (nslots < window * 2)
            nslots *= 2;
        d->ring = calloc(window, sizeof *d->ring);
        d->slots = calloc(nslots, sizeof *d->slots);
        d->mask = nslots - 1;
        if (d->ring == NULL || d->slots == NULL) {
            dedup_close(&d);
            return error_set(err, "dedup: out of memory for a window of %zu ids", window);
        }
    }
    *out = d;
    return 0;
}

void dedup_close(struct dedup **dedup)
{
    struct dedup *d = *dedup;
    if (d == NULL)
        return;
    if (d->ring != NULL) {
        for (size_t i = 0; i < d->window; i++)
            free(d->ring[i].key);
    }
    free(d->ring);
    free(d->slots);
    free(d);
    *dedup = NULL;
}

/* Slot holding key, or the empty slot where it would go. */
static size_t dedup_find_slot(const struct dedup *d, const char *key, uint64_t hash)
{
    size_t i = hash & d->mask;
    while (d->slots[i] != 0) {
        const struct dedup_entry *e = &d->ring[d->slots[i] - 1];
        if (e->hash == hash && strcmp(e->key, key) == 0)
            break;
        i = (i + 1) & d->mask;
    }
    return i;
}

/* Empty slot i and shift later members of its probe run back. */
static void dedup_delete_slot(struct dedup *d, size_t i)
{
    size_t j = i;
    for (;;) {
        d->slots[i] = 0;
        for (;;) {
            j = (j + 1) & d->mask;
            if (d->slots[j] == 0)
                return;
            size_t k = d->ring[d->slots[j] - 1].hash & d->mask;
            /* Leave the entry at j if its home k lies cyclically in (i, j]. */
            bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
            if (!stays)
                break;
        }
        d->slots[i] = d->slots[j];
        i = j;
    }
}

static void dedup_kill(struct dedup *d, struct dedup_entry *e)
{
    size_t slot = dedup_find_slot(d, e->key, e->hash);
    if (d->slots[slot] != 0)
        dedup_delete_slot(d, slot);
    free(e->key);
    e->key = NULL;
    d->live--;
}

bool dedup_lookup(const struct dedup *d, const char *domain, const char *endpoint,
                  const char *id, struct dedup_counts *out)
{
    if (d->window == 0 || id[0] == '\0')
        return false;
    char key[DEDUP_KEY_MAX];
    dedup_key(key, domain, endpoint, id);
    size_t slot = dedup_find_slot(d, key, dedup_hash(key));
    if (d->slots[slot] == 0)
        return false;
    *out = d->ring[d->slots[slot] - 1].counts;
    return true;
}

static int dedup_put(struct dedup *d, const char *key, uint64_t hash,
                     const struct dedup_counts *counts)
{
    if (d->used == d->window) { /* evict the oldest position */
        struct dedup_entry *old = &d->ring[d->head];
        if (old->key != NULL)
            dedup_kill(d, old);
        d->head = (d->head + 1) % d->window;
        d->used--;
    }
    size_t pos = (d->head + d->used) % d->window;
    struct dedup_entry *e = &d->ring[pos];
    e->key = strdup(key);
    if (e->key == NULL)
        return -1;
    e->hash = hash;
    e->counts = *counts;
    d->used++;
    d->live++;
    size_t slot = dedup_find_slot(d, key, hash);
    d->slots[slot] = (uint32_t)(pos + 1);
    return 0;
}

/* Store counts under the batch id. A stored id: add to its counts (add) or
 * replace them (the newest counts win, keeping its age). */
static int dedup_store(struct dedup *d, const char *domain, const char *endpoint, const char *id,
                       const struct dedup_counts *counts, bool add)
{
    if (d->window == 0 || id[0] == '\0')
        return 0;
    char key[DEDUP_KEY_MAX];
    dedup_key(key, domain, endpoint, id);
    uint64_t hash = dedup_hash(key);
    size_t slot = dedup_find_slot(d, key, hash);
    if (d->slots[slot] != 0 && add) {
        struct dedup_counts *c = &d->ring[d->slots[slot] - 1].counts;
        c->accepted += counts->accepted;
        c->refused += counts->refused;
        return 0;
    }
    if (d->slots[slot] != 0)
        dedup_kill(d, &d->ring[d->slots[slot] - 1]);
    return dedup_put(d, key, hash, counts);
}

int dedup_insert(struct dedup *d, const char *domain, const char *endpoint, const char *id,
                 const struct dedup_counts *counts)
{
    return dedup_store(d, domain, endpoint, id, counts, false);
}

int dedup_add(struct dedup *d, const char *domain, const char *endpoint, const char *id,
              uint64_t accepted, uint64_t refused)
{
    struct dedup_counts counts = {.accepted = accepted, .refused = refused, .group = 0};
    return dedup_store(d, domain, endpoint, id, &counts, true);
}

void dedup_remove(struct dedup *d, const char *domain, const char *endpoint, const char *id)
{
    if (d->window == 0 || id[0] == '\0')
        return;
    char key[DEDUP_KEY_MAX];
    dedup_key(key, domain, endpoint, id);
    size_t slot = dedup_find_slot(d, key, dedup_hash(key));
    if (d->slots[slot] != 0)
        dedup_kill(d, &d->ring[d->slots[slot] - 1]);
}

size_t dedup_count(const struct dedup *d)
{
    return d->live;
}

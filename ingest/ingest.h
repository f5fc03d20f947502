/* ingest.h - the state of the ingest process, shared by its files.
 *
 * main.c      start-up, the poll loop, housekeeping, stop
 * group.c     the group commit: receive requests, handle each, one fdatasync
 *             per touched table, then every reply
 * batch.c     one batch: decode the body, validate, append lines
 * mpjson.c    msgpack bodies to JSON values
 * spool.c     spool files, sealing into bronze, spool recovery
 * rejected.c  rejected/ files
 * dedup.c     the batch-id window
 * endpoints.c the endpoint schema cache
 * recover.c   start-up knowledge from bronze/rejected (_seq, batch ids)
 * files.c     durable file creation, sorted listings
 * landing.c   drop-folder ingestion of files in landing/
 * zap.c       optional CURVE on the ROUTER and its ZAP handler
 * Everything here is owned by main.c; the other files borrow it. */
#ifndef INGEST_INGEST_H
#define INGEST_INGEST_H

#include <stdint.h>

#include "catalog.h"
#include "config.h"
#include "event.h"

struct spool_set;
struct dedup;
struct endpoints;
struct batch_decoder;
struct group;
struct landing;
struct zap;

struct ingest_stats {
    uint64_t batches;
    uint64_t accepted;
    uint64_t refused;
    uint64_t duplicates;
    uint64_t busy;
    uint64_t errors;
    uint64_t groups;
    uint64_t sealed_files;
};

struct ingest_ctx {
    const struct config *cfg;
    void *zmq;
    void *router;      /* producers (protocol.h) */
    void *publisher;   /* events out */
    void *subscriber;  /* schema.changed in */
    struct catalog *catalog;
    struct endpoints *endpoints;
    struct spool_set *spools;
    struct dedup *dedup;
    struct batch_decoder *decoder;
    struct group *group;
    struct landing *landing; /* landing/ drop folder */
    struct zap *zap;   /* CURVE client authentication (zap.c); NULL when off */
    uint64_t group_number; /* increments per group commit; tags dedup entries */
    struct ingest_stats stats;
};

/* Publish an event (a hint: failures are logged, never fatal). */
void ingest_publish(struct ingest_ctx *ctx, enum event_topic topic, const char *domain,
                    const char *name, const char *file, int64_t count);

/* spool_sealed_fn for the spool module: publishes bronze.sealed. arg is the ctx. */
void ingest_on_sealed(const char *domain, const char *endpoint, const char *rel_path,
                      uint64_t records, void *arg);
/* Hand the spools that are due (size, age, quiet) to the sealer. */
void ingest_seal_due(struct ingest_ctx *ctx, int64_t now_ms);

#endif

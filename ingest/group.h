/* group.h - the group commit: the unit of work of ingest's loop.
 *
 * group_run drains the requests waiting on the ROUTER socket (at most
 * group_commit_max_batches), handles each one (header, batch-id dedup,
 * endpoint lookup, batch.c), then makes every touched table durable with one
 * write() and one fdatasync per file (spool_commit), and only then sends
 * the replies (rule 1: acked means durable). A table whose commit fails
 * turns the replies of its batches into status "error" and forgets their
 * batch ids, so a re-send is stored.
 * A group also ends early when a table's spool plus its pending lines reach
 * seal_max_bytes (the spool is sealed right after the commit).
 * Back-pressure (rule 5): while the lines held for the current group exceed
 * ingest_queue_max_bytes, further requests are answered "busy" at once and
 * nothing of them is kept; a body above batch_max_bytes is refused. The
 * group owns its reply slots (allocated once at open). */
#ifndef INGEST_GROUP_H
#define INGEST_GROUP_H

#include <stddef.h>

#include "error.h"

struct ingest_ctx;
struct group;

int group_open(size_t max_batches, struct group **out, char err[ERROR_MAX]);
void group_close(struct group **group);

/* Handle one group. Returns the number of requests received (0: none was
 * waiting). */
size_t group_run(struct ingest_ctx *ctx);

#endif

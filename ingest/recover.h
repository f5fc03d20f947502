/* recover.h - what ingest learns at start from bronze/ and rejected/ (after
 * spool_recover has sealed the leftover spools):
 *   - the _seq high-water mark of every table, from the names of the files
 *     in its two newest dt= directories, so _seq stays strictly increasing
 *     even if the clock went back across a restart;
 *   - the batch-id window: the _batch_id of every record of the bronze files
 *     sealed within the last RECOVER_WINDOW_S seconds (newest first, at most
 *     RECOVER_BRONZE_BUDGET compressed bytes) and the batch_id of the
 *     rejected/ lines of today and yesterday within the same time, so that a
 *     producer re-sending after a crash of ingest (lost reply) gets
 *     duplicate=true instead of a second copy.
 * The window refill is bounded work: a re-send older than that window (or
 * beyond the budget) is stored again, as documented in the README. */
#ifndef INGEST_RECOVER_H
#define INGEST_RECOVER_H

#include "error.h"

#define RECOVER_WINDOW_S 3600
#define RECOVER_BRONZE_BUDGET (64ll * 1024 * 1024)

struct ingest_ctx;

/* -1 with err only when a directory cannot be read; unreadable files are
 * logged and skipped (the processor quarantines corrupt bronze files). */
int recover_history(struct ingest_ctx *ctx, char err[ERROR_MAX]);

#endif

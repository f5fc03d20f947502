/* sealer.h - sealing spool files into bronze on a worker thread, off the
 * group-commit loop.
 *
 * Sealing a spool (read it, LZ4-compress it, fsync, rename into bronze/,
 * fsync the directory) took a quarter of ingest's loop in profiles and held
 * every ack behind it for its duration (ack p99 ~50 ms at 100k rec/s with
 * ingest alone). The loop now only hands the durable part of a full or old
 * spool to this thread and starts a new spool file for the next group.
 *
 * Crash safety is unchanged: a handed-over spool stays in spool/ until its
 * bronze file is complete, durable and renamed (bronze_seal), then it is
 * unlinked; after a crash spool_recover seals whatever is left, in name
 * order. Jobs run one at a time in submission order, so a table's bronze
 * files appear in _seq order. A failed seal is retried (after
 * SEALER_RETRY_MS) before any later job; at stop (sealer_drain) a failure
 * leaves it and every later job as spools for the next start.
 * Bounded (rule 5): at most SEALER_QUEUE_MAX jobs wait; beyond that the loop
 * keeps appending to the current spool until there is room.
 * Only the thread touches a job's files; results come back to the loop
 * (sealer_reap, woken through sealer_fd), which publishes bronze.sealed. */
#ifndef INGEST_SEALER_H
#define INGEST_SEALER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "names.h"

#define SEALER_QUEUE_MAX 16
#define SEALER_RETRY_MS 1000

/* What to seal: the first `len` bytes (`records` records) of the spool at
 * path, as bronze/<domain>/<endpoint>/dt=<date>/<first_seq>-<last_seq>. */
struct sealer_job {
    char domain[NAMES_MAX];
    char endpoint[NAMES_MAX];
    char path[PATH_MAX];
    char date[11];
    uint64_t first_seq;
    uint64_t last_seq;
    size_t len;
    uint64_t records;
};

/* Seal one job (the thread's work; also called directly). 0: sealed, with
 * its bronze path relative to data_dir in rel (rel "" when the bronze file
 * already existed and only the spool was removed); -1 with err. */
typedef int (*sealer_seal_fn)(const char *data_dir, const struct sealer_job *job,
                              char rel[PATH_MAX], char err[ERROR_MAX]);
/* A sealed file, reported on the loop's thread. */
typedef void (*sealer_done_fn)(const char *domain, const char *endpoint, const char *rel_path,
                               uint64_t records, void *arg);

struct sealer;

/* Start the thread. */
int sealer_open(const char *data_dir, sealer_seal_fn seal, struct sealer **out,
                char err[ERROR_MAX]);
/* Stop the thread after the job in hand; queued jobs stay spools. NULL-safe. */
void sealer_close(struct sealer **sealer);
/* Readable (poll) when results wait for sealer_reap. */
int sealer_fd(const struct sealer *sealer);
/* Queue a copy of job. false when SEALER_QUEUE_MAX jobs wait (or out of
 * memory): the caller keeps the spool and tries again later. */
bool sealer_submit(struct sealer *sealer, const struct sealer_job *job);
/* Report the sealed files so far through done(). */
void sealer_reap(struct sealer *sealer, sealer_done_fn done, void *arg);
/* Stop: wait for every queued job, then reap. -1 when one could not be
 * sealed (it and the jobs after it stay spools). */
int sealer_drain(struct sealer *sealer, sealer_done_fn done, void *arg);

#endif

/* landing.h - drop-folder ingestion (the Auto Loader pattern): files put in
 * <data>/landing/<domain>/<endpoint>/ become bronze exactly once.
 *
 * Watched with inotify (one fd in ingest's poll set): a file is taken when it
 * is complete, i.e. renamed in (IN_MOVED_TO) or closed after writing
 * (IN_CLOSE_WRITE); at start, and after an event-queue overflow, the tree is
 * scanned (files modified in the last LANDING_QUIET_MS are left for their
 * close event or a later scan). Names starting with '.' are ignored (write
 * ".name.tmp", then rename). Domain and endpoint directory names are checked
 * (names.h) before they reach a path; files elsewhere (landing/x.csv,
 * landing/<d>/x.csv, directories inside an endpoint directory, badly named
 * directories) are refused with a log line and left alone. An empty file is
 * left where it is (its writer may not have written yet).
 *
 * Formats: CSV with a header row (".csv", ".tsv" is not supported), NDJSON
 * (".ndjson", ".jsonl") or one JSON array (".json" and others are sniffed:
 * '[' array, '{' NDJSON, anything else CSV). A file is handled in stages, each
 * loop turn doing one bounded step so that producers are never starved:
 *   hash    SHA-256 of the content (OpenSSL libcrypto);
 *   check   the whole file is parsed once: a CSV syntax error, a row with too
 *           many cells, invalid UTF-8, a JSON array that is not well formed,
 *           an element that is not JSON, or one record larger than
 *           batch_max_bytes fails the file before anything of it is stored;
 *   ingest  chunks of at most batch_max_records records / batch_max_bytes go
 *           through the producer path (batch.c validation and AUTO_INFERENCE
 *           evolution, spool append, spool_commit's fdatasync, rejected/ for
 *           refused records: landing is never strict). Each chunk is a batch
 *           with id "landing-<first 16 hex of the SHA-256>-<n>", n the
 *           0-based position of its first record in the file, so the file
 *           position of a rejected/ line is n + its "index";
 *   finish  the file moves to landing/_done/<d>/<e>/ (or, when it failed,
 *           to landing/_failed/<d>/<e>/ with <name>.error saying why). A name
 *           already taken there gets ".1", ".2", ... appended.
 *
 * Exactly once. landing/_state.db (SQLite, WAL, synchronous=FULL) holds one
 * row per (domain, endpoint, name, sha256): status ingesting|done and the
 * records already stored. A file whose row is done is not ingested again
 * (it moves to _done, logged as a duplicate); a file with a row ingesting
 * resumes after the stored records. Before each chunk's spool_commit an
 * intent row records where the chunk's lines go (spool file and its size
 * before and after, rejected file and its size before); after the commit the
 * file row advances and the intent is deleted in one transaction. At the next
 * start (landing_open, which runs before spool_recover) an intent left by a
 * crash is resolved from the spool (or, if it was sealed since, its bronze
 * file): the chunk's last line there means committed (the file row advances);
 * a partial chunk is cut off the spool and the rejected file; nothing means
 * not committed (its rejected lines, written and synced before the spool
 * lines, are cut too). So a crash at any point neither loses nor repeats a
 * record in bronze or in rejected/.
 *
 * Memory: one chunk body, one record, a queue of at most LANDING_QUEUE_MAX
 * names (beyond it a rescan is scheduled instead). */
#ifndef INGEST_LANDING_H
#define INGEST_LANDING_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define LANDING_QUEUE_MAX 4096
#define LANDING_QUIET_MS 1000

struct ingest_ctx;
struct landing;

/* Create landing/ and its _done/_failed dirs, open the state database,
 * resolve a chunk left in doubt by a crash (must run before spool_recover
 * seals the spools), set up the inotify watches and queue the files already
 * there. ctx->cfg must be set. Caller owns *out (landing_close). -1 with err
 * on a fatal start-up error. */
int landing_open(struct ingest_ctx *ctx, struct landing **out, char err[ERROR_MAX]);
void landing_close(struct landing **landing);

/* The inotify fd for the poll set (readable: call landing_read_events). */
int landing_fd(const struct landing *landing);
void landing_read_events(struct ingest_ctx *ctx);
/* true while work is waiting that landing_step can do now (poll without
 * waiting then). */
bool landing_busy(const struct landing *landing);
/* One bounded step of work (a no-op when idle). */
void landing_step(struct ingest_ctx *ctx);
/* Housekeeping: scheduled rescans, retries after errors. */
void landing_tick(struct ingest_ctx *ctx, int64_t now_ms);

#endif

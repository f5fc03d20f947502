/* rejected.h - records refused by validation in a non-strict batch
 * (ARCHITECTURE rule 4: nothing is silently dropped).
 *
 * File: rejected/<domain>/<endpoint>/<YYYY-MM-DD>.ndjson (UTC date of the
 * rejection), appended, one JSON object a line:
 *   {"rejected_at":"2026-11-21T13:03:28.123Z","batch_id":"b-1"|null,"index":3,
 *    "reason":"field 'delay': expected integer, got string \"abc\"",
 *    "record":<the record as received>}
 * When the record could not be parsed, "record" is its raw text as a JSON
 * string; when the raw bytes are not valid UTF-8 (or the record came from a
 * msgpack body and could not be converted), "record_base64" holds the raw
 * bytes in base64 instead of "record".
 * The lines of a group are written with one write() and made durable by the
 * same group commit as the spool (spool.c calls write/sync/cut), before the
 * spool lines, so a partial reply is sent only when its rejected lines are on
 * disk too, and a spool line on disk means its rejected lines are. A torn
 * last line left by a crash is cut when the file is next opened. */
#ifndef INGEST_REJECTED_H
#define INGEST_REJECTED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strbuf.h"
#include "error.h"

struct rejected_file {
    int fd;             /* -1: not open */
    char date[11];      /* date of the open file */
    off_t synced;       /* durable size */
    off_t written;      /* size after the last write */
};

void rejected_file_init(struct rejected_file *f);
void rejected_file_close(struct rejected_file *f);

/* Append one rejected-record line to buf. Exactly one of record / raw is
 * used: record when not NULL, else raw_len bytes of raw (base64 when
 * base64_only or when not valid UTF-8). batch_id "" is written as null.
 * -1 only on allocation failure. */
int rejected_format(struct strbuf *buf, const char *rejected_at, const char *batch_id,
                    uint64_t index, const char *reason, const json_t *record, const char *raw,
                    size_t raw_len, bool base64_only);

/* Append len bytes to the file of `date` (opening it, creating directories,
 * cutting a torn tail first). Not durable until rejected_sync. */
int rejected_write(struct rejected_file *f, const char *data_dir, const char *domain,
                   const char *endpoint, const char *date, const void *data, size_t len,
                   char err[ERROR_MAX]);
int rejected_sync(struct rejected_file *f, char err[ERROR_MAX]);
/* Undo writes since the last sync (best effort; logged on failure). */
void rejected_rollback(struct rejected_file *f);
/* Cut the open file back to size, durably: lines already synced whose
 * batch then failed to commit (best effort; logged on failure). */
void rejected_cut(struct rejected_file *f, off_t size);

/* Is text (the start of a line rejected_format wrote) a line of batch
 * batch_id? Recovery uses it to find a batch's lines in a rejected/ file. */
bool rejected_line_has_batch(const char *text, size_t len, const char *batch_id);

#endif

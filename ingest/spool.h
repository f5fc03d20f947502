/* spool.h - ingest's spool files: one open file per table, the group commit
 * that makes appended records durable, sealing into bronze, and recovery of
 * spool files left by a previous run.
 *
 * A table's records of the current group are built as finished NDJSON lines
 * (normalised record + metadata, see bronze.h) in its `pending` buffer, and
 * the refused records' lines in its `rejected` buffer. spool_commit writes
 * each touched table with one write() per file and one fdatasync per file;
 * only then may the caller acknowledge. On failure the file is cut back to
 * its durable size, so an unacknowledged record never stays in a spool.
 *
 * _seq per table is max(previous + 1, now_us): strictly increasing; the
 * previous value survives restarts through spool_note_seq (recover.c feeds it
 * the newest bronze names; spool_recover the leftover spools).
 *
 * Sealing (size >= seal_max_bytes, age >= seal_max_age_ms, no commit for
 * seal_quiet_ms, stop): bronze_seal
 * of the durable bytes, then unlink of the spool, then the callback (which
 * publishes bronze.sealed). Sealing by size or age runs on the sealer thread
 * (sealer.h): the table starts a new spool file at once, and the callback
 * runs from spool_seal_reap when the loop sees spool_seal_fd readable. Start
 * (spool_recover) and stop (spool_seal_all) seal on the caller's thread.
 * The set owns the tables, their buffers and fds, and the sealer. */
#ifndef INGEST_SPOOL_H
#define INGEST_SPOOL_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"
#include "error.h"
#include "names.h"
#include "rejected.h"
#include "schema.h"
#include "validate.h"

/* Metadata text shared by every record of one batch, prepared once so that a
 * record costs its serialisation (jsonout.h) plus two memcpy. */
struct spool_meta {
    char head[384]; /* ,"_insert_date":"..","_domain":"..","_endpoint":"..","_seq": */
    size_t head_len;
    char tail[384]; /* ,"_schema_version":N[,"_batch_id":".."]}\n */
    size_t tail_len;
    int64_t now_us;
    char date[16];  /* UTC date of _insert_date (YYYY-MM-DD) */
};

struct spool_table {
    char domain[NAMES_MAX];
    char endpoint[NAMES_MAX];
    uint64_t last_seq;         /* highest _seq handed out (pending included) */

    /* The open spool file; fd -1 when the table has none. */
    int fd;
    char path[PATH_MAX];
    uint64_t first_seq;
    char date[11];
    uint64_t size;             /* durable bytes */
    uint64_t records;          /* durable records */
    uint64_t durable_last_seq; /* _seq of the last durable record */
    int64_t opened_ms;         /* monotonic time the file was created */
    int64_t committed_ms;      /* monotonic time records last became durable in it */
    int64_t seal_retry_ms;     /* after a failed seal, not before this time */
    bool seal_now;             /* a failed rollback: seal the durable part at once */
    enum error_kind failure;   /* of the last failed commit: ERROR_NO_SPACE or ERROR_INTERNAL */

    /* The current group. */
    struct strbuf pending;
    uint64_t pending_records;
    uint64_t pending_first_seq;
    char pending_date[11];
    struct strbuf rejected;
    struct rejected_file rejected_file;
    struct spool_table *next_touched; /* list of tables touched by the group */
    bool touched;
};

/* Position in a table's buffers, to undo a strict batch that is refused. */
struct spool_mark {
    size_t pending_len;
    size_t rejected_len;
    uint64_t pending_records;
    uint64_t last_seq;
};

struct spool_set;

typedef void (*spool_sealed_fn)(const char *domain, const char *endpoint, const char *rel_path,
                                uint64_t records, void *arg);
typedef void (*spool_failed_fn)(struct spool_table *table, const char *err, void *arg);

int spool_set_open(const char *data_dir, struct spool_set **out, char err[ERROR_MAX]);
/* Close files and free (does not seal: call spool_seal_all first). */
void spool_set_close(struct spool_set **set);

/* The table's state, created on first use (no file yet). NULL only when out
 * of memory. domain and endpoint must be valid names. */
struct spool_table *spool_table_get(struct spool_set *set, const char *domain,
                                    const char *endpoint);
/* Raise the table's _seq high-water mark to at least seq. */
void spool_note_seq(struct spool_table *table, uint64_t seq);

/* The bytes every spool line of batch batch_id ends with: its "_batch_id"
 * field, the line's last, then "}\n" (sealing keeps the lines as they are,
 * so bronze lines end the same without the '\n'). Recovery looks for them to
 * tell whether a batch's lines reached a file. The length written to out,
 * NUL-terminated; 0 when it does not fit in size. */
size_t spool_line_suffix(const char *batch_id, char *out, size_t size);

/* Prepare the metadata of a batch. batch_id "" = none (no _batch_id). */
void spool_meta_init(struct spool_meta *meta, const char *domain, const char *endpoint,
                     int64_t now_ms, int64_t now_us, int schema_version, const char *batch_id);

/* Append one normalised record (a JSON object) with its metadata to the
 * table's pending lines and mark the table touched. -1 with err when the
 * line would exceed record_max bytes (nothing appended) or on allocation
 * failure. */
int spool_append(struct spool_set *set, struct spool_table *table, const json_t *record,
                 const struct spool_meta *meta, size_t record_max, char err[ERROR_MAX]);
/* The same for a record validated by schema_normalize_values: the values of
 * the schema's columns (NULL = absent) in column order, then "_rescued"
 * (may be NULL); no normalised object is built. */
int spool_append_values(struct spool_set *set, struct spool_table *table,
                        const struct schema *schema, json_t *const *values,
                        const json_t *rescued, const struct spool_meta *meta, size_t record_max,
                        char err[ERROR_MAX]);
/* The same for values from schema_normalize_fields (ABSENT = no value). */
int spool_append_fields(struct spool_set *set, struct spool_table *table,
                        const struct schema *schema, const struct schema_value *values,
                        const json_t *rescued, const struct spool_meta *meta, size_t record_max,
                        char err[ERROR_MAX]);
/* Mark the table touched (e.g. after appending rejected lines only). */
void spool_touch(struct spool_set *set, struct spool_table *table);
void spool_mark(const struct spool_table *table, struct spool_mark *mark);
void spool_rollback(struct spool_table *table, const struct spool_mark *mark);
/* Remove, of what was appended since mark, the first `lines` spool lines and
 * the first `rejected_lines` rejected lines (fewer if there are fewer): the
 * part of a re-sent batch that a torn group already left on disk. */
void spool_drop_since(struct spool_table *table, const struct spool_mark *mark, uint64_t lines,
                      uint64_t rejected_lines);
/* Bytes held in the pending and rejected buffers of the current group. */
size_t spool_pending_bytes(const struct spool_set *set);

/* The group commit: for each touched table write pending lines and rejected
 * lines, fdatasync both. A table that fails is rolled back and reported
 * through failed() (its batches must not be acknowledged). Returns the
 * number of failed tables. */
size_t spool_commit(struct spool_set *set, spool_failed_fn failed, void *arg);

/* When to seal: at max_bytes, at max_age_ms after the file was created, or
 * quiet_ms after its last commit (0: never for quiet). */
struct spool_seal_rule {
    uint64_t max_bytes;
    int64_t max_age_ms;
    int64_t quiet_ms;
};

/* Seal the spools that are due (the rule, or a failed rollback). */
void spool_seal_due(struct spool_set *set, int64_t now_ms, const struct spool_seal_rule *rule,
                    spool_sealed_fn sealed, void *arg);
/* The earliest monotonic time a spool becomes due by age or quiet; INT64_MAX
 * when no spool is open. */
int64_t spool_next_due_ms(const struct spool_set *set, const struct spool_seal_rule *rule);
/* Readable when sealed files wait to be reported; -1 if none can. */
int spool_seal_fd(const struct spool_set *set);
/* Report the files the sealer thread sealed (the sealed callback). */
void spool_seal_reap(struct spool_set *set, spool_sealed_fn sealed, void *arg);
/* Seal every open spool (stop), after the ones handed to the sealer. -1 if
 * any failed (logged; the spool stays and is recovered at the next start). */
int spool_seal_all(struct spool_set *set, spool_sealed_fn sealed, void *arg);

/* Start-up: seal every spool file left by a previous run (torn tail cut; a
 * spool whose bronze file already exists is only removed) and note the
 * tables' _seq. -1 with err if a spool could not be sealed. */
int spool_recover(struct spool_set *set, spool_sealed_fn sealed, void *arg,
                  char err[ERROR_MAX]);

#endif

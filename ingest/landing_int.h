/* landing_int.h - what the drop folder's files share (landing.h is its
 * interface to ingest): the state of the watcher, the queue and the file in
 * progress, and the functions each file offers the others. landing.c runs
 * one file through its stages; landing_state.c keeps landing/_state.db;
 * landing_recover.c resolves a chunk a crash left in doubt; landing_watch.c
 * finds files (inotify, scans) and queues them; landing_read.c reads a file's
 * records (record_reader.h). */
#ifndef INGEST_LANDING_INT_H
#define INGEST_LANDING_INT_H

#include <limits.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "strbuf.h"
#include "error.h"
#include "landing.h"
#include "names.h"
#include "protocol.h"
#include "record_reader.h"

#define LANDING_DB_VERSION 1
/* Bytes hashed per step, and records checked per step. */
#define LANDING_HASH_STEP (4 * 1024 * 1024)
#define LANDING_READ_CHUNK (64 * 1024)
/* Wait after an error that may pass (catalog busy, disk full, ...). */
#define LANDING_RETRY_MS 1000
/* Room for ".error" and ".NNNN" after a file name in _failed/ and _done/. */
#define LANDING_NAME_MAX (NAME_MAX - 12)

enum landing_stage { STAGE_HASH, STAGE_CHECK, STAGE_INGEST, STAGE_FINISH };

struct landing_item {
    char domain[NAMES_MAX];
    char endpoint[NAMES_MAX];
    char name[NAME_MAX + 1];
};

/* depth 0: landing/, 1: landing/<d>/, 2: landing/<d>/<e>/ */
struct landing_watch {
    int wd;
    int depth;
    char domain[NAMES_MAX];
    char endpoint[NAMES_MAX];
};

/* Records of a file, one at a time, as NDJSON line text (record_reader.h). */
struct landing_reader {
    FILE *in;
    struct record_reader *records;
    const char *rec;   /* the current record (no newline) */
    size_t len;
    bool held;         /* rec is read but not consumed yet */
};

/* The chunk whose spool_commit may be in doubt (table `intent`). Paths are
 * relative to the data directory. */
struct landing_intent {
    struct landing_item item;
    char sha[65];
    char id[PROTOCOL_ID_MAX];
    char spool[PATH_MAX];
    int64_t spool_before, spool_after;
    char rejected[PATH_MAX];
    int64_t rejected_before, rejected_after;
    int64_t done_after, accepted_after, refused_after;
};

struct landing_file {
    struct landing_item item;
    char path[PATH_MAX];
    char rel[PATH_MAX]; /* landing/<d>/<e>/<name>, for logs */
    int fd;
    dev_t dev;
    ino_t ino;
    off_t size;
    enum record_format format;
    enum landing_stage stage;
    EVP_MD_CTX *md;
    off_t hashed;
    char sha[65];
    struct landing_reader reader;
    bool reader_open;
    uint64_t total;
    uint64_t done, accepted, refused, chunks;
    bool resumed;
    int64_t started_ms;
};

struct landing {
    char data_dir[PATH_MAX];
    char root[PATH_MAX];
    int ifd;
    sqlite3 *db;
    struct landing_watch *watches;
    size_t nwatches, capwatches;
    struct landing_item *queue; /* ring of LANDING_QUEUE_MAX */
    size_t qhead, qcount;
    bool rescan_wanted;
    int64_t rescan_at_ms; /* monotonic; 0: none scheduled */
    int64_t retry_at_ms;  /* monotonic; no step before this */
    bool active;
    struct landing_file cur;
    bool settle_pending; /* the state row must still learn of a committed chunk */
    struct strbuf body;
    uint64_t files_done, files_failed, files_duplicate;
};

/* landing_state.c: landing/_state.db */
int landing_db_exec(struct landing *l, const char *sql, char err[ERROR_MAX]);
int landing_db_open(struct landing *l, char err[ERROR_MAX]);
void landing_bind_key(sqlite3_stmt *st, int first, const struct landing_item *item,
                             const char *sha);
int landing_db_get(struct landing *l, const struct landing_item *item, const char *sha,
                          bool *done, uint64_t counts[3], char when[64], char err[ERROR_MAX]);
int landing_db_begin_file(struct landing *l, const struct landing_file *f,
                                 char err[ERROR_MAX]);
int landing_db_put_intent(struct landing *l, const struct landing_intent *in,
                                 char err[ERROR_MAX]);
int landing_db_get_intent(struct landing *l, struct landing_intent *in,
                                 char err[ERROR_MAX]);
int landing_db_settle(struct landing *l, const struct landing_item *item, const char *sha,
                             int64_t done, int64_t accepted, int64_t refused, char err[ERROR_MAX]);

/* landing_recover.c: at start, the chunk an intent left in doubt */
int landing_recover(struct landing *l, char err[ERROR_MAX]);

/* landing_watch.c: watches, scans, the queue */
/* The absolute path of landing/<domain>[/<endpoint>[/<name>]] (NULL parts
 * stop it), from layout.h. -1 with err when too long. */
int landing_path(const struct landing *l, const char *domain, const char *endpoint,
                 const char *name, char out[PATH_MAX], char err[ERROR_MAX]);
void landing_refuse(const char *rel, const char *reason);
void landing_enqueue(struct landing *l, const char *domain, const char *endpoint,
                            const char *name);
void landing_scan(struct landing *l);

/* landing_read.c: a file's records as NDJSON lines */
void landing_reader_close(struct landing_reader *r);
/* Read the file open as fd (from its start) as `format`. */
int landing_reader_open(struct landing_reader *r, int fd, enum record_format format, size_t max,
                        char err[ERROR_MAX]);
/* 1: r->rec holds the next record, 0: end, -1: the file cannot be read on
 * (err says where). A held record is returned again. */
int landing_reader_next(struct landing_reader *r, char err[ERROR_MAX]);
/* The file's format: its name's extension, else its first bytes. */
enum record_format landing_detect(int fd, const char *name);

#endif

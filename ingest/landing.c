/* landing.c - drop-folder ingestion: watch, hash, check, ingest in chunks
 * through the producer path, exactly once (see landing.h). */
#include "landing.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "bronze.h"
#include "buf.h"
#include "csv.h"
#include "endpoints.h"
#include "files.h"
#include "fsutil.h"
#include "ingest.h"
#include "jsonsplit.h"
#include "layout.h"
#include "log.h"
#include "names.h"
#include "protocol.h"
#include "spool.h"
#include "timeutil.h"

#define LANDING_DB_VERSION 1
/* Bytes hashed per step, and records checked per step. */
#define LANDING_HASH_STEP (4 * 1024 * 1024)
#define LANDING_READ_CHUNK (64 * 1024)
/* Wait after an error that may pass (catalog busy, disk full, ...). */
#define LANDING_RETRY_MS 1000
/* Room for ".error" and ".NNNN" after a file name in _failed/ and _done/. */
#define LANDING_NAME_MAX (NAME_MAX - 12)

enum landing_format { LANDING_CSV, LANDING_NDJSON, LANDING_JSON };
static const char *const landing_format_names[] = {"csv", "ndjson", "json"};

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

/* Records of a file, one at a time, as NDJSON line text. */
struct landing_reader {
    enum landing_format format;
    FILE *in;
    struct csv_reader *csv;
    struct buf rec;    /* the current record (no '\n') */
    bool held;         /* rec is read but not consumed yet */
    uint64_t line;     /* '\n' read so far (ndjson, json) */
    uint64_t rows;     /* csv rows read */
    int json_state;    /* 0 before '[', 1 inside the array, 2 after ']' */
    bool parse_json;   /* json: check each element with jansson (check stage) */
    size_t max;        /* batch_max_bytes */
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
    enum landing_format format;
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
    struct buf body;
    uint64_t files_done, files_failed, files_duplicate;
};

/* ------------------------------------------------------------ helpers */

static bool landing_name_printable(const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            return false;
    return true;
}

static int landing_rel(const struct landing *l, const char *path, char out[PATH_MAX])
{
    size_t n = strlen(l->data_dir);
    if (strncmp(path, l->data_dir, n) == 0 && path[n] == '/')
        path += n + 1;
    snprintf(out, PATH_MAX, "%s", path);
    return 0;
}

static off_t landing_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* ------------------------------------------------------------ state db */

static const char landing_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS files("
    " domain TEXT NOT NULL, endpoint TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " size INTEGER NOT NULL, status TEXT NOT NULL,"
    " records_done INTEGER NOT NULL, accepted INTEGER NOT NULL, refused INTEGER NOT NULL,"
    " started_at TEXT NOT NULL, finished_at TEXT,"
    " PRIMARY KEY(domain, endpoint, name, sha256));"
    "CREATE TABLE IF NOT EXISTS intent("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " domain TEXT NOT NULL, endpoint TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " batch_id TEXT NOT NULL, spool TEXT NOT NULL, spool_before INTEGER NOT NULL,"
    " spool_after INTEGER NOT NULL, rejected TEXT NOT NULL, rejected_before INTEGER NOT NULL,"
    " rejected_after INTEGER NOT NULL, done_after INTEGER NOT NULL,"
    " accepted_after INTEGER NOT NULL, refused_after INTEGER NOT NULL);";

static int landing_db_error(struct landing *l, const char *what, char err[ERROR_MAX])
{
    return error_set(err, "landing state %s: %s", what, sqlite3_errmsg(l->db));
}

static int landing_db_exec(struct landing *l, const char *sql, char err[ERROR_MAX])
{
    char *msg = NULL;
    if (sqlite3_exec(l->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        error_set(err, "landing state: %s", msg != NULL ? msg : sqlite3_errmsg(l->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int landing_db_open(struct landing *l, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    if (fsutil_path(path, sizeof path, err, "%s/_state.db", l->root) < 0)
        return -1;
    if (layout_db_open(path, &l->db, err) < 0)
        return -1;
    sqlite3_busy_timeout(l->db, 5000);
    /* FULL: a committed intent or progress row survives a power cut, which
     * the exactly-once argument needs (WAL with NORMAL would not). */
    if (landing_db_exec(l, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", err) < 0)
        return -1;
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0)
        return landing_db_error(l, "user_version", err);
    if (version > LANDING_DB_VERSION)
        return error_set(err, "%s has schema version %d, newer than this program's %d", path,
                         version, LANDING_DB_VERSION);
    if (version < 1) {
        if (landing_db_exec(l, "BEGIN IMMEDIATE", err) < 0)
            return -1;
        if (landing_db_exec(l, landing_schema_sql, err) < 0 ||
            landing_db_exec(l, "PRAGMA user_version = 1; COMMIT", err) < 0) {
            sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

static void landing_bind_key(sqlite3_stmt *st, int first, const struct landing_item *item,
                             const char *sha)
{
    sqlite3_bind_text(st, first, item->domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, first + 1, item->endpoint, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, first + 2, item->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, first + 3, sha, -1, SQLITE_STATIC);
}

/* 1 with the row's status and counts, 0 none, -1 error. */
static int landing_db_get(struct landing *l, const struct landing_item *item, const char *sha,
                          bool *done, uint64_t counts[3], char when[64], char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(l->db,
                           "SELECT status, records_done, accepted, refused,"
                           " coalesce(finished_at, started_at) FROM files"
                           " WHERE domain = ?1 AND endpoint = ?2 AND name = ?3 AND sha256 = ?4",
                           -1, &st, NULL) != SQLITE_OK)
        return landing_db_error(l, "query", err);
    landing_bind_key(st, 1, item, sha);
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW) {
        *done = strcmp((const char *)sqlite3_column_text(st, 0), "done") == 0;
        for (int i = 0; i < 3; i++)
            counts[i] = (uint64_t)sqlite3_column_int64(st, 1 + i);
        snprintf(when, 64, "%s", (const char *)sqlite3_column_text(st, 4));
        result = 1;
    } else if (rc != SQLITE_DONE) {
        result = landing_db_error(l, "query", err);
    }
    sqlite3_finalize(st);
    return result;
}

/* Run one statement with the file key bound at ?1..?4 and up to three
 * integers at ?5..?7. */
static int landing_db_run(struct landing *l, const char *sql, const struct landing_item *item,
                          const char *sha, const int64_t *ints, int nints, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
        return landing_db_error(l, "prepare", err);
    if (item != NULL)
        landing_bind_key(st, 1, item, sha);
    for (int i = 0; i < nints; i++)
        sqlite3_bind_int64(st, 5 + i, ints[i]);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return landing_db_error(l, "write", err);
    return 0;
}

static int landing_db_begin_file(struct landing *l, const struct landing_file *f,
                                 char err[ERROR_MAX])
{
    char now[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(l->db,
                           "INSERT OR IGNORE INTO files(domain, endpoint, name, sha256, size,"
                           " status, records_done, accepted, refused, started_at)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, 'ingesting', 0, 0, 0, ?6)",
                           -1, &st, NULL) != SQLITE_OK)
        return landing_db_error(l, "prepare", err);
    landing_bind_key(st, 1, &f->item, f->sha);
    sqlite3_bind_int64(st, 5, (int64_t)f->size);
    sqlite3_bind_text(st, 6, now, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : landing_db_error(l, "insert", err);
}

static int landing_db_put_intent(struct landing *l, const struct landing_intent *in,
                                 char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(l->db,
                           "INSERT OR REPLACE INTO intent(id, domain, endpoint, name, sha256,"
                           " batch_id, spool, spool_before, spool_after, rejected,"
                           " rejected_before, rejected_after, done_after, accepted_after,"
                           " refused_after) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
                           " ?11, ?12, ?13, ?14)",
                           -1, &st, NULL) != SQLITE_OK)
        return landing_db_error(l, "prepare", err);
    landing_bind_key(st, 1, &in->item, in->sha);
    sqlite3_bind_text(st, 5, in->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, in->spool, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, in->spool_before);
    sqlite3_bind_int64(st, 8, in->spool_after);
    sqlite3_bind_text(st, 9, in->rejected, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, in->rejected_before);
    sqlite3_bind_int64(st, 11, in->rejected_after);
    sqlite3_bind_int64(st, 12, in->done_after);
    sqlite3_bind_int64(st, 13, in->accepted_after);
    sqlite3_bind_int64(st, 14, in->refused_after);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : landing_db_error(l, "intent", err);
}

/* 1 and *in when an intent is recorded, 0 none, -1 error. */
static int landing_db_get_intent(struct landing *l, struct landing_intent *in,
                                 char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(l->db,
                           "SELECT domain, endpoint, name, sha256, batch_id, spool, spool_before,"
                           " spool_after, rejected, rejected_before, rejected_after, done_after,"
                           " accepted_after, refused_after FROM intent WHERE id = 1",
                           -1, &st, NULL) != SQLITE_OK)
        return landing_db_error(l, "query", err);
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW) {
        memset(in, 0, sizeof *in);
#define COL(i) ((const char *)sqlite3_column_text(st, (i)))
        snprintf(in->item.domain, sizeof in->item.domain, "%s", COL(0));
        snprintf(in->item.endpoint, sizeof in->item.endpoint, "%s", COL(1));
        snprintf(in->item.name, sizeof in->item.name, "%s", COL(2));
        snprintf(in->sha, sizeof in->sha, "%s", COL(3));
        snprintf(in->id, sizeof in->id, "%s", COL(4));
        snprintf(in->spool, sizeof in->spool, "%s", COL(5));
        snprintf(in->rejected, sizeof in->rejected, "%s", COL(8));
#undef COL
        in->spool_before = sqlite3_column_int64(st, 6);
        in->spool_after = sqlite3_column_int64(st, 7);
        in->rejected_before = sqlite3_column_int64(st, 9);
        in->rejected_after = sqlite3_column_int64(st, 10);
        in->done_after = sqlite3_column_int64(st, 11);
        in->accepted_after = sqlite3_column_int64(st, 12);
        in->refused_after = sqlite3_column_int64(st, 13);
        result = 1;
    } else if (rc != SQLITE_DONE) {
        result = landing_db_error(l, "query", err);
    }
    sqlite3_finalize(st);
    return result;
}

/* The chunk is stored: advance the file's row and drop the intent, in one
 * transaction. */
static int landing_db_settle(struct landing *l, const struct landing_item *item, const char *sha,
                             int64_t done, int64_t accepted, int64_t refused, char err[ERROR_MAX])
{
    if (landing_db_exec(l, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    int64_t ints[3] = {done, accepted, refused};
    if (landing_db_run(l,
                       "UPDATE files SET records_done = ?5, accepted = ?6, refused = ?7"
                       " WHERE domain = ?1 AND endpoint = ?2 AND name = ?3 AND sha256 = ?4",
                       item, sha, ints, 3, err) < 0 ||
        landing_db_exec(l, "DELETE FROM intent; COMMIT", err) < 0) {
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ recovery */

/* Does the line that starts at `start` in fd (ending before `limit`) end
 * with `suffix` (which includes the '\n')? 1 yes, 0 no (or no complete
 * line), -1 I/O error. */
static int landing_line_ends_with(int fd, off_t start, off_t limit, const char *suffix)
{
    char buf[LANDING_READ_CHUNK];
    size_t slen = strlen(suffix);
    char tail[256];
    size_t tlen = 0;
    if (slen > sizeof tail)
        return 0;
    for (off_t pos = start; pos < limit;) {
        size_t want = (size_t)(limit - pos) < sizeof buf ? (size_t)(limit - pos) : sizeof buf;
        ssize_t n = pread(fd, buf, want, pos);
        if (n < 0)
            return errno == EINTR ? 0 : -1;
        if (n == 0)
            return 0;
        char *nl = memchr(buf, '\n', (size_t)n);
        size_t use = nl != NULL ? (size_t)(nl - buf) + 1 : (size_t)n;
        /* keep the last slen bytes seen */
        if (use >= slen) {
            memcpy(tail, buf + use - slen, slen);
            tlen = slen;
        } else {
            size_t keep = tlen + use > slen ? slen - use : tlen;
            memmove(tail, tail + tlen - keep, keep);
            memcpy(tail + keep, buf, use);
            tlen = keep + use;
        }
        if (nl != NULL)
            return tlen == slen && memcmp(tail, suffix, slen) == 0;
        pos += n;
    }
    return 0;
}

/* The 'n'-byte window ending at `end` equals suffix? */
static bool landing_ends_at(int fd, off_t end, const char *suffix)
{
    size_t slen = strlen(suffix);
    char buf[256];
    if (slen > sizeof buf || end < (off_t)slen)
        return false;
    return pread(fd, buf, slen, end - (off_t)slen) == (ssize_t)slen &&
           memcmp(buf, suffix, slen) == 0;
}

/* Is the rejected/ line starting at `start` one of this batch's? */
static bool landing_rejected_line_is(int fd, off_t start, const char *id)
{
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof buf - 1, start);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char want[PROTOCOL_ID_MAX + 32];
    snprintf(want, sizeof want, "\"batch_id\":\"%s\"", id);
    char *at = strstr(buf, "\"batch_id\":");
    return at != NULL && strncmp(at, want, strlen(want)) == 0;
}

/* Did a sealed bronze file made of `spool_rel` receive the batch? */
static int landing_sealed_has(const struct landing *l, const struct landing_intent *in,
                              const char *suffix_line, char err[ERROR_MAX])
{
    const char *base = strrchr(in->spool, '/');
    base = base != NULL ? base + 1 : in->spool;
    uint64_t first;
    char date[11];
    if (spool_parse_name(base, &first, date) < 0)
        return 0;
    char dir[PATH_MAX], prefix[32];
    if (fsutil_path(dir, sizeof dir, err, "%s/bronze/%s/%s/dt=%s", l->data_dir, in->item.domain,
                    in->item.endpoint, date) < 0)
        return -1;
    snprintf(prefix, sizeof prefix, "%020" PRIu64 "-", first);
    char **names = NULL;
    size_t count = 0;
    if (files_list(dir, &names, &count, err) < 0)
        return -1;
    int found = 0;
    size_t slen = strlen(suffix_line) - 1; /* without '\n' */
    for (size_t i = 0; i < count && !found; i++) {
        uint64_t a, b;
        if (strncmp(names[i], prefix, strlen(prefix)) != 0 || bronze_parse_name(names[i], &a, &b) < 0)
            continue;
        char path[PATH_MAX];
        if (fsutil_path(path, sizeof path, err, "%s/%s", dir, names[i]) < 0) {
            found = -1;
            break;
        }
        struct bronze_reader *r = bronze_reader_open(path, err);
        if (r == NULL) {
            found = -1;
            break;
        }
        const char *line;
        size_t len;
        int rc;
        while ((rc = bronze_reader_next(r, &line, &len, err)) == 1) {
            if (len >= slen && memcmp(line + len - slen, suffix_line, slen) == 0) {
                found = 1;
                break;
            }
        }
        if (rc < 0)
            found = -1;
        bronze_reader_close(&r);
    }
    files_list_free(names, count);
    return found;
}

/* Resolve the chunk of an intent: 1 committed, 0 not (any partial part cut
 * off), -1 error (left for the next start). */
static int landing_resolve(struct landing *l, const struct landing_intent *in, char err[ERROR_MAX])
{
    char spool[PATH_MAX], rejected[PATH_MAX];
    if (fsutil_path(spool, sizeof spool, err, "%s/%s", l->data_dir, in->spool) < 0 ||
        fsutil_path(rejected, sizeof rejected, err, "%s/%s", l->data_dir, in->rejected) < 0)
        return -1;
    char suffix[PROTOCOL_ID_MAX + 32];
    snprintf(suffix, sizeof suffix, "\"_batch_id\":\"%s\"}\n", in->id);
    bool partial = false;
    int committed = 0;
    bool spool_lines = in->spool_after > in->spool_before;
    if (spool_lines) {
        int fd = open(spool, O_RDWR | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT)
            return error_set(err, "open %s: %s", spool, strerror(errno));
        if (fd < 0) {
            /* Sealed since (or never created): look in its bronze file. */
            committed = landing_sealed_has(l, in, suffix, err);
            if (committed != 0)
                return committed;
        }
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) < 0) {
            close(fd);
            return error_set(err, "stat %s: %s", spool, strerror(errno));
        }
        if (fd < 0) {
            /* not committed: only its rejected lines may be there */
        } else if (st.st_size >= in->spool_after && landing_ends_at(fd, in->spool_after, suffix)) {
            committed = 1;
        } else if (st.st_size > in->spool_before) {
            int ours = landing_line_ends_with(fd, in->spool_before, st.st_size, suffix);
            /* Our first line, or no complete line at all (a torn tail):
             * the chunk's own bytes, cut them. Complete lines of others
             * (acknowledged producer records) are never cut. */
            if (ours == 1) {
                partial = true;
            } else if (ours == 0) {
                char c;
                bool any_newline = false;
                for (off_t p = in->spool_before; p < st.st_size && !any_newline; p++)
                    any_newline = pread(fd, &c, 1, p) == 1 && c == '\n';
                partial = !any_newline;
            }
            if (partial && ftruncate(fd, in->spool_before) < 0) {
                error_set(err, "truncate %s: %s", spool, strerror(errno));
                close(fd);
                return -1;
            }
            if (partial && fdatasync(fd) < 0) {
                error_set(err, "fdatasync %s: %s", spool, strerror(errno));
                close(fd);
                return -1;
            }
        }
        if (fd >= 0)
            close(fd);
        if (committed)
            return committed;
    }
    /* Rejected lines are made durable before the spool lines (spool.c): with
     * spool lines, the chunk is not committed here, so its rejected lines
     * (all or some of them) are cut; without, the rejected file alone
     * decides. */
    if (in->rejected_after <= in->rejected_before)
        return 0;
    int fd = open(rejected, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : error_set(err, "open %s: %s", rejected, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = error_set(err, "stat %s: %s", rejected, strerror(errno));
    } else if (st.st_size > in->rejected_before &&
               landing_rejected_line_is(fd, in->rejected_before, in->id)) {
        if (!spool_lines && st.st_size >= in->rejected_after) {
            rc = 1;
        } else if (ftruncate(fd, in->rejected_before) < 0 || fdatasync(fd) < 0) {
            rc = error_set(err, "truncate %s: %s", rejected, strerror(errno));
        }
    }
    close(fd);
    return rc;
}

static int landing_recover(struct landing *l, char err[ERROR_MAX])
{
    struct landing_intent in;
    int rc = landing_db_get_intent(l, &in, err);
    if (rc <= 0)
        return rc;
    rc = landing_resolve(l, &in, err);
    if (rc < 0)
        return error_prefix(err, "resolving the chunk of %s/%s/%s", in.item.domain,
                            in.item.endpoint, in.item.name);
    if (rc == 1) {
        if (landing_db_settle(l, &in.item, in.sha, in.done_after, in.accepted_after,
                              in.refused_after, err) < 0)
            return -1;
    } else if (landing_db_exec(l, "DELETE FROM intent", err) < 0) {
        return -1;
    }
    log_info("landing_recovered file=landing/%s/%s/%s batch=%s chunk=%s", in.item.domain,
             in.item.endpoint, in.item.name, in.id,
             rc == 1 ? "stored" : "not stored (ingested again)");
    return 0;
}

/* ------------------------------------------------------------ reader */

static void landing_reader_close(struct landing_reader *r)
{
    csv_reader_close(&r->csv);
    if (r->in != NULL)
        fclose(r->in);
    r->in = NULL;
    buf_free(&r->rec);
}

static int landing_reader_open(struct landing_reader *r, int fd, enum landing_format format,
                               size_t max, bool parse_json, char err[ERROR_MAX])
{
    memset(r, 0, sizeof *r);
    r->format = format;
    r->max = max;
    r->parse_json = parse_json;
    int dup_fd = dup(fd);
    if (dup_fd < 0)
        return error_set(err, "dup: %s", strerror(errno));
    if (lseek(dup_fd, 0, SEEK_SET) < 0 || (r->in = fdopen(dup_fd, "r")) == NULL) {
        error_set(err, "read: %s", strerror(errno));
        close(dup_fd);
        return -1;
    }
    if (format == LANDING_CSV) {
        r->csv = csv_reader_open(r->in, err);
        if (r->csv == NULL) {
            landing_reader_close(r);
            return -1;
        }
    }
    return 0;
}

static inline int landing_rec_put(struct landing_reader *r, int c)
{
    if (r->rec.len == r->rec.cap && !buf_reserve(&r->rec, 4096))
        return -1;
    r->rec.data[r->rec.len++] = (char)c;
    return 0;
}

static int landing_next_ndjson(struct landing_reader *r, char err[ERROR_MAX])
{
    for (;;) {
        r->rec.len = 0;
        uint64_t line = r->line + 1;
        bool blank = true, any = false, too_long = false;
        int c;
        while ((c = getc_unlocked(r->in)) != EOF && c != '\n') {
            any = true;
            if (too_long)
                continue;
            if (r->rec.len >= r->max) {
                too_long = true;
                continue;
            }
            if (landing_rec_put(r, c) < 0)
                return error_set(err, "out of memory");
            if (c != ' ' && c != '\t' && c != '\r')
                blank = false;
        }
        if (ferror(r->in))
            return error_set(err, "line %" PRIu64 ": read error: %s", line, strerror(errno));
        if (c == '\n')
            r->line++;
        if (!any && c == EOF)
            return 0;
        if (too_long)
            return error_set(err, "line %" PRIu64 ": record longer than batch_max_bytes (%zu)",
                             line, r->max);
        if (line == 1 && r->rec.len >= 3 && memcmp(r->rec.data, "\xEF\xBB\xBF", 3) == 0) {
            memmove(r->rec.data, r->rec.data + 3, r->rec.len - 3);
            r->rec.len -= 3;
        }
        while (r->rec.len > 0 && r->rec.data[r->rec.len - 1] == '\r')
            r->rec.len--;
        if (!blank)
            return 1;
    }
}

static int landing_json_getc(struct landing_reader *r)
{
    int c = getc_unlocked(r->in);
    if (c == '\n')
        r->line++;
    return c;
}

static int landing_json_skip_blank(struct landing_reader *r)
{
    int c;
    while ((c = landing_json_getc(r)) == ' ' || c == '\t' || c == '\r' || c == '\n')
        ;
    return c;
}

static int landing_next_json(struct landing_reader *r, char err[ERROR_MAX])
{
    int c;
    if (r->json_state == 2)
        return 0;
    if (r->json_state == 0) {
        c = landing_json_skip_blank(r);
        if (c == 0xEF) { /* UTF-8 byte order mark */
            if (landing_json_getc(r) != 0xBB || landing_json_getc(r) != 0xBF)
                return error_set(err, "line 1: a JSON array file must start with '['");
            c = landing_json_skip_blank(r);
        }
        if (c != '[')
            return error_set(err, "line %" PRIu64 ": a JSON array file must start with '['",
                             r->line + 1);
        r->json_state = 1;
        c = landing_json_skip_blank(r);
        if (c == ']')
            goto end_of_array;
        ungetc(c, r->in);
    }
    c = landing_json_skip_blank(r);
    if (c == EOF)
        return error_set(err, "line %" PRIu64 ": unexpected end of file inside the array",
                         r->line + 1);
    ungetc(c, r->in);
    uint64_t start_line = r->line + 1;
    r->rec.len = 0;
    struct jsonsplit split;
    jsonsplit_reset(&split);
    for (;;) {
        c = landing_json_getc(r);
        if (c == EOF)
            return error_set(err, "line %" PRIu64 ": unexpected end of file inside the element "
                                  "starting at line %" PRIu64,
                             r->line + 1, start_line);
        enum jsonsplit_result step = jsonsplit_step(&split, c);
        if (step == JSONSPLIT_OUTSIDE) {
            ungetc(c, r->in);
            if (c == '\n')
                r->line--;
            break;
        }
        bool end_after = step == JSONSPLIT_LAST;
        if (r->rec.len >= r->max)
            return error_set(err, "line %" PRIu64 ": record larger than batch_max_bytes (%zu)",
                             start_line, r->max);
        /* One line per record: newlines between tokens become blanks (a
         * raw newline inside a string is invalid JSON anyway). */
        if (landing_rec_put(r, c == '\n' || c == '\r' ? ' ' : c) < 0)
            return error_set(err, "out of memory");
        if (end_after)
            break;
    }
    if (r->rec.len == 0)
        return error_set(err, "line %" PRIu64 ": expected a value", start_line);
    if (r->parse_json) {
        json_error_t e;
        json_t *v = json_loadb(r->rec.data, r->rec.len, JSON_DECODE_ANY, &e);
        if (v == NULL)
            return error_set(err, "line %" PRIu64 ": invalid JSON element: %s", start_line,
                             e.text);
        json_decref(v);
    }
    c = landing_json_skip_blank(r);
    if (c == ',')
        return 1;
    if (c == EOF)
        return error_set(err, "line %" PRIu64 ": unexpected end of file: the array is not "
                              "closed with ']'",
                         r->line + 1);
    if (c != ']')
        return error_set(err, "line %" PRIu64 ": expected ',' or ']' after an element",
                         r->line + 1);
end_of_array:
    r->json_state = 2;
    c = landing_json_skip_blank(r);
    if (c != EOF)
        return error_set(err, "line %" PRIu64 ": text after the end of the array", r->line + 1);
    return r->rec.len > 0 ? 1 : 0;
}

static int landing_next_csv(struct landing_reader *r, char err[ERROR_MAX])
{
    json_t *row = NULL;
    int rc = csv_reader_next(r->csv, &row, err);
    if (rc <= 0)
        return rc;
    r->rows++;
    r->rec.len = 0;
    size_t n = json_dumpb(row, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (n > r->max) {
        json_decref(row);
        return error_set(err, "row %" PRIu64 ": record larger than batch_max_bytes (%zu)",
                         r->rows, r->max);
    }
    if (!buf_reserve(&r->rec, n)) {
        json_decref(row);
        return error_set(err, "out of memory");
    }
    r->rec.len = json_dumpb(row, r->rec.data, n, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(row);
    return 1;
}

/* 1: r->rec holds the next record, 0: end, -1: the file cannot be read on
 * (err says where). A held record is returned again. */
static int landing_reader_next(struct landing_reader *r, char err[ERROR_MAX])
{
    if (r->held) {
        r->held = false;
        return 1;
    }
    switch (r->format) {
    case LANDING_CSV: return landing_next_csv(r, err);
    case LANDING_NDJSON: return landing_next_ndjson(r, err);
    default: return landing_next_json(r, err);
    }
}

/* ------------------------------------------------------------ queue, watches */

static void landing_refuse(const char *rel, const char *reason)
{
    log_warn("landing_refused path=%s reason=\"%s\"", rel, reason);
}

static bool landing_queue_has(const struct landing *l, const struct landing_item *it)
{
    for (size_t i = 0; i < l->qcount; i++) {
        const struct landing_item *q = &l->queue[(l->qhead + i) % LANDING_QUEUE_MAX];
        if (strcmp(q->name, it->name) == 0 && strcmp(q->endpoint, it->endpoint) == 0 &&
            strcmp(q->domain, it->domain) == 0)
            return true;
    }
    return false;
}

static void landing_enqueue(struct landing *l, const char *domain, const char *endpoint,
                            const char *name)
{
    if (name[0] == '.')
        return;
    if (strlen(name) > LANDING_NAME_MAX || !landing_name_printable(name)) {
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "landing/%s/%s/", domain, endpoint);
        landing_refuse(rel, "a file name there is longer than 243 bytes or has control "
                            "characters, quotes or backslashes; rename it");
        return;
    }
    struct landing_item it;
    snprintf(it.domain, sizeof it.domain, "%s", domain);
    snprintf(it.endpoint, sizeof it.endpoint, "%s", endpoint);
    snprintf(it.name, sizeof it.name, "%s", name);
    if (landing_queue_has(l, &it))
        return;
    if (l->qcount == LANDING_QUEUE_MAX) { /* bounded: find it again by a scan later */
        l->rescan_wanted = true;
        return;
    }
    l->queue[(l->qhead + l->qcount) % LANDING_QUEUE_MAX] = it;
    l->qcount++;
}

static void landing_watch_add(struct landing *l, const char *path, int depth, const char *domain,
                              const char *endpoint)
{
    int wd = inotify_add_watch(l->ifd, path,
                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR |
                                   IN_DONT_FOLLOW | IN_EXCL_UNLINK);
    if (wd < 0) {
        log_warn("landing_watch_failed dir=%s reason=\"%s\"", path, strerror(errno));
        return;
    }
    struct landing_watch *w = NULL;
    for (size_t i = 0; i < l->nwatches && w == NULL; i++)
        if (l->watches[i].wd == wd)
            w = &l->watches[i];
    if (w == NULL) {
        if (l->nwatches == l->capwatches) {
            size_t cap = l->capwatches ? l->capwatches * 2 : 16;
            struct landing_watch *p = realloc(l->watches, cap * sizeof *p);
            if (p == NULL) {
                inotify_rm_watch(l->ifd, wd);
                log_warn("landing_watch_failed dir=%s reason=\"out of memory\"", path);
                return;
            }
            l->watches = p;
            l->capwatches = cap;
        }
        w = &l->watches[l->nwatches++];
    }
    w->wd = wd;
    w->depth = depth;
    snprintf(w->domain, sizeof w->domain, "%s", domain);
    snprintf(w->endpoint, sizeof w->endpoint, "%s", endpoint);
}

static void landing_watch_remove(struct landing *l, int wd)
{
    for (size_t i = 0; i < l->nwatches; i++) {
        if (l->watches[i].wd == wd) {
            l->watches[i] = l->watches[--l->nwatches];
            return;
        }
    }
}

/* ------------------------------------------------------------ scanning */

static void landing_scan_endpoint(struct landing *l, const char *domain, const char *endpoint)
{
    char dir[PATH_MAX], err[ERROR_MAX];
    if (fsutil_path(dir, sizeof dir, err, "%s/%s/%s", l->root, domain, endpoint) < 0)
        return;
    /* Watch first, then list: a file closed after the watch exists is seen
     * by its event, one closed before by the listing. */
    landing_watch_add(l, dir, 2, domain, endpoint);
    char **names = NULL;
    size_t count = 0;
    if (files_list(dir, &names, &count, err) < 0) {
        log_warn("landing_scan_failed reason=\"%s\"", err);
        return;
    }
    int64_t now = timeutil_now_ms();
    for (size_t i = 0; i < count; i++) {
        char path[PATH_MAX], rel[PATH_MAX];
        struct stat st;
        if (fsutil_path(path, sizeof path, err, "%s/%s", dir, names[i]) < 0 ||
            lstat(path, &st) < 0)
            continue;
        snprintf(rel, sizeof rel, "landing/%s/%s/%s", domain, endpoint, names[i]);
        if (S_ISDIR(st.st_mode)) {
            landing_refuse(rel, "directories inside an endpoint directory are not read");
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            landing_refuse(rel, "not a regular file");
            continue;
        }
        if (st.st_size == 0)
            continue; /* its writer may not have written yet */
        int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (now - mtime < LANDING_QUIET_MS && now >= mtime) {
            /* Maybe still being written: its close event or a later scan. */
            l->rescan_at_ms = timeutil_monotonic_ms() + LANDING_QUIET_MS;
            continue;
        }
        landing_enqueue(l, domain, endpoint, names[i]);
    }
    files_list_free(names, count);
}

static void landing_scan_domain(struct landing *l, const char *domain)
{
    char dir[PATH_MAX], err[ERROR_MAX];
    if (fsutil_path(dir, sizeof dir, err, "%s/%s", l->root, domain) < 0)
        return;
    landing_watch_add(l, dir, 1, domain, "");
    char **names = NULL;
    size_t count = 0;
    if (files_list(dir, &names, &count, err) < 0) {
        log_warn("landing_scan_failed reason=\"%s\"", err);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        char path[PATH_MAX], rel[PATH_MAX];
        struct stat st;
        if (fsutil_path(path, sizeof path, err, "%s/%s", dir, names[i]) < 0 ||
            lstat(path, &st) < 0)
            continue;
        snprintf(rel, sizeof rel, "landing/%s/%s", domain, names[i]);
        if (!S_ISDIR(st.st_mode))
            landing_refuse(rel, "files go in landing/<domain>/<endpoint>/, not in a domain "
                                "directory");
        else if (!names_is_valid_object(names[i]))
            landing_refuse(rel, "not a valid endpoint name (^[a-z][a-z0-9_]{0,62}$)");
        else
            landing_scan_endpoint(l, domain, names[i]);
    }
    files_list_free(names, count);
}

static void landing_scan(struct landing *l)
{
    char err[ERROR_MAX];
    landing_watch_add(l, l->root, 0, "", "");
    char **names = NULL;
    size_t count = 0;
    if (files_list(l->root, &names, &count, err) < 0) {
        log_warn("landing_scan_failed reason=\"%s\"", err);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (names[i][0] == '_')
            continue; /* _done, _failed, _state.db */
        char path[PATH_MAX], rel[PATH_MAX];
        struct stat st;
        if (fsutil_path(path, sizeof path, err, "%s/%s", l->root, names[i]) < 0 ||
            lstat(path, &st) < 0)
            continue;
        snprintf(rel, sizeof rel, "landing/%s", names[i]);
        if (!S_ISDIR(st.st_mode))
            landing_refuse(rel, "files go in landing/<domain>/<endpoint>/");
        else if (!names_is_valid_object(names[i]))
            landing_refuse(rel, "not a valid domain name (^[a-z][a-z0-9_]{0,62}$)");
        else
            landing_scan_domain(l, names[i]);
    }
    files_list_free(names, count);
}

static void landing_on_event(struct landing *l, const struct landing_watch *w, const char *name,
                             uint32_t mask)
{
    bool dir = (mask & IN_ISDIR) != 0;
    bool dir_arrived = dir && (mask & (IN_CREATE | IN_MOVED_TO));
    bool file_complete = !dir && (mask & (IN_CLOSE_WRITE | IN_MOVED_TO));
    if (name[0] == '.' || (!dir_arrived && !file_complete))
        return;
    /* Copies: scanning adds watches, which may move w. */
    char domain[NAMES_MAX], endpoint[NAMES_MAX], rel[PATH_MAX];
    snprintf(domain, sizeof domain, "%s", w->domain);
    snprintf(endpoint, sizeof endpoint, "%s", w->endpoint);
    switch (w->depth) {
    case 0:
        if (name[0] == '_')
            return;
        snprintf(rel, sizeof rel, "landing/%s", name);
        if (file_complete)
            landing_refuse(rel, "files go in landing/<domain>/<endpoint>/");
        else if (!names_is_valid_object(name))
            landing_refuse(rel, "not a valid domain name (^[a-z][a-z0-9_]{0,62}$)");
        else
            landing_scan_domain(l, name);
        break;
    case 1:
        snprintf(rel, sizeof rel, "landing/%s/%s", domain, name);
        if (file_complete)
            landing_refuse(rel, "files go in landing/<domain>/<endpoint>/, not in a domain "
                                "directory");
        else if (!names_is_valid_object(name))
            landing_refuse(rel, "not a valid endpoint name (^[a-z][a-z0-9_]{0,62}$)");
        else
            landing_scan_endpoint(l, domain, name);
        break;
    default:
        snprintf(rel, sizeof rel, "landing/%s/%s/%s", domain, endpoint, name);
        if (dir_arrived)
            landing_refuse(rel, "directories inside an endpoint directory are not read");
        else
            landing_enqueue(l, domain, endpoint, name);
        break;
    }
}

void landing_read_events(struct ingest_ctx *ctx)
{
    struct landing *l = ctx->landing;
    if (l == NULL)
        return;
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (int round = 0; round < 16; round++) {
        ssize_t n = read(l->ifd, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                log_warn("landing_events_failed reason=\"%s\"", strerror(errno));
            return;
        }
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                log_warn("landing_events_overflow reason=\"inotify queue overflowed; "
                         "rescanning landing/\"");
                l->rescan_wanted = true;
                continue;
            }
            if (ev->mask & IN_IGNORED) {
                landing_watch_remove(l, ev->wd);
                continue;
            }
            if (ev->len == 0 || ev->name[0] == '\0')
                continue;
            for (size_t i = 0; i < l->nwatches; i++) {
                if (l->watches[i].wd == ev->wd) {
                    landing_on_event(l, &l->watches[i], ev->name, ev->mask);
                    break;
                }
            }
        }
    }
}

/* ------------------------------------------------------------ one file */

static void landing_file_end(struct landing *l)
{
    struct landing_file *f = &l->cur;
    if (f->reader_open)
        landing_reader_close(&f->reader);
    f->reader_open = false;
    if (f->md != NULL)
        EVP_MD_CTX_free(f->md);
    f->md = NULL;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    l->active = false;
}

static void landing_retry_later(struct landing *l)
{
    l->retry_at_ms = timeutil_monotonic_ms() + LANDING_RETRY_MS;
}

/* Move the current file to landing/<bucket>/<d>/<e>/ (with <name>.error
 * beside it when error_text is given). A file that was removed or replaced
 * meanwhile is not moved (0, *moved false). */
static int landing_move(struct landing *l, const char *bucket, const char *error_text,
                        char target_rel[PATH_MAX], char err[ERROR_MAX])
{
    struct landing_file *f = &l->cur;
    char dir[PATH_MAX], target[PATH_MAX], errpath[PATH_MAX];
    target_rel[0] = '\0';
    if (fsutil_path(dir, sizeof dir, err, "%s/%s/%s/%s", l->root, bucket, f->item.domain,
                    f->item.endpoint) < 0 ||
        fsutil_mkdirs(dir, LAYOUT_DIR_MODE, err) < 0)
        return -1;
    struct stat st;
    if (lstat(f->path, &st) < 0 || st.st_ino != f->ino || st.st_dev != f->dev)
        return 0;
    int n = 0;
    for (;; n++) {
        int rc = n == 0 ? fsutil_path(target, sizeof target, err, "%s/%s", dir, f->item.name)
                        : fsutil_path(target, sizeof target, err, "%s/%s.%d", dir,
                                      f->item.name, n);
        if (rc < 0 || fsutil_path(errpath, sizeof errpath, err, "%s.error", target) < 0)
            return -1;
        if (lstat(target, &st) < 0 && errno == ENOENT &&
            (error_text == NULL || (lstat(errpath, &st) < 0 && errno == ENOENT)))
            break;
        if (n == 9999)
            return error_set(err, "%s: no free name for %s", dir, f->item.name);
    }
    if (error_text != NULL &&
        fsutil_write_file_atomic(errpath, error_text, strlen(error_text), LAYOUT_FILE_MODE,
                                 err) < 0)
        return -1;
    if (rename(f->path, target) < 0)
        return error_set(err, "rename %s to %s: %s", f->path, target, strerror(errno));
    if (fsutil_fsync_dir(dir, err) < 0 || fsutil_fsync_parent(f->path, err) < 0)
        log_warn("landing_fsync_failed reason=\"%s\"", err);
    landing_rel(l, target, target_rel);
    return 0;
}

static void landing_fail(struct landing *l, const char *reason)
{
    struct landing_file *f = &l->cur;
    char text[ERROR_MAX + 512], err[ERROR_MAX], moved[PATH_MAX];
    if (f->done > 0)
        snprintf(text, sizeof text,
                 "%s\nfile: %s\n%" PRIu64 " records of it were stored before this error "
                 "(batch ids landing-%.16s-*)\n",
                 reason, f->rel, f->done, f->sha);
    else
        snprintf(text, sizeof text, "%s\nfile: %s\nnothing of it was stored\n", reason, f->rel);
    log_warn("landing_failed file=%s reason=\"%s\" records_stored=%" PRIu64, f->rel, reason,
             f->done);
    if (landing_move(l, "_failed", text, moved, err) < 0)
        log_error("landing_move_failed file=%s reason=\"%s\"", f->rel, err);
    l->files_failed++;
    landing_file_end(l);
}

static enum landing_format landing_detect(int fd, const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot != NULL && strcasecmp(dot, ".csv") == 0)
        return LANDING_CSV;
    if (dot != NULL && (strcasecmp(dot, ".ndjson") == 0 || strcasecmp(dot, ".jsonl") == 0))
        return LANDING_NDJSON;
    unsigned char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    ssize_t i = 0;
    if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (i < n && buf[i] == '[')
        return LANDING_JSON;
    if (i < n && buf[i] == '{')
        return LANDING_NDJSON;
    return LANDING_CSV;
}

static void landing_start(struct ingest_ctx *ctx, const struct landing_item *it)
{
    struct landing *l = ctx->landing;
    struct landing_file *f = &l->cur;
    char err[ERROR_MAX];
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->item = *it;
    snprintf(f->rel, sizeof f->rel, "landing/%s/%s/%s", it->domain, it->endpoint, it->name);
    if (fsutil_path(f->path, sizeof f->path, err, "%s/%s/%s/%s", l->root, it->domain,
                    it->endpoint, it->name) < 0)
        return;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ELOOP)
            landing_refuse(f->rel, "symbolic links are not followed");
        else if (errno != ENOENT) /* ENOENT: already moved (a repeated event) */
            log_warn("landing_open_failed file=%s reason=\"%s\"", f->rel, strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        if (!S_ISREG(st.st_mode))
            landing_refuse(f->rel, "not a regular file");
        close(fd);
        return;
    }
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->started_ms = timeutil_monotonic_ms();
    l->active = true;
    const struct schema *schema = NULL;
    int rc = endpoints_get(ctx->endpoints, it->domain, it->endpoint, &schema, err);
    if (rc < 0) {
        log_warn("landing_retry file=%s reason=\"catalog: %s\"", f->rel, err);
        landing_file_end(l);
        landing_enqueue(l, it->domain, it->endpoint, it->name);
        landing_retry_later(l);
        return;
    }
    if (rc == 0) {
        char reason[ERROR_MAX];
        snprintf(reason, sizeof reason,
                 "unknown endpoint %s/%s: create the endpoint first, then drop the file again",
                 it->domain, it->endpoint);
        landing_fail(l, reason);
        return;
    }
    f->format = landing_detect(fd, it->name);
    f->md = EVP_MD_CTX_new();
    if (f->md == NULL || EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1) {
        log_warn("landing_retry file=%s reason=\"sha256 unavailable\"", f->rel);
        landing_file_end(l);
        landing_enqueue(l, it->domain, it->endpoint, it->name);
        landing_retry_later(l);
        return;
    }
    f->stage = STAGE_HASH;
}

static void landing_step_hash(struct ingest_ctx *ctx)
{
    struct landing *l = ctx->landing;
    struct landing_file *f = &l->cur;
    char buf[LANDING_READ_CHUNK], err[ERROR_MAX];
    for (size_t budget = 0; budget < LANDING_HASH_STEP;) {
        ssize_t n = pread(f->fd, buf, sizeof buf, f->hashed);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, sizeof err, "read error: %s", strerror(errno));
            landing_fail(l, err);
            return;
        }
        if (n == 0)
            goto hashed;
        EVP_DigestUpdate(f->md, buf, (size_t)n);
        f->hashed += n;
        budget += (size_t)n;
    }
    return;
hashed:;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(f->md, md, &mdlen);
    for (unsigned int i = 0; i < mdlen && i < 32; i++)
        snprintf(f->sha + 2 * i, 3, "%02x", md[i]);
    f->size = f->hashed;
    bool done = false;
    uint64_t counts[3];
    char when[64];
    int rc = landing_db_get(l, &f->item, f->sha, &done, counts, when, err);
    if (rc < 0) {
        log_warn("landing_retry file=%s reason=\"%s\"", f->rel, err);
        f->hashed = 0;
        EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
        landing_retry_later(l);
        return;
    }
    if (rc == 1 && done) {
        char moved[PATH_MAX];
        log_info("landing_duplicate file=%s sha256=%.16s reason=\"same name and content "
                 "already ingested (%s); not ingested again\"",
                 f->rel, f->sha, when);
        if (landing_move(l, "_done", NULL, moved, err) < 0)
            log_error("landing_move_failed file=%s reason=\"%s\"", f->rel, err);
        l->files_duplicate++;
        landing_file_end(l);
        return;
    }
    if (rc == 1) {
        f->resumed = true;
        f->done = counts[0];
        f->accepted = counts[1];
        f->refused = counts[2];
    }
    log_info("landing_file file=%s format=%s bytes=%lld sha256=%.16s%s", f->rel,
             landing_format_names[f->format], (long long)f->size, f->sha,
             f->resumed ? " resumed=true" : "");
    if (landing_reader_open(&f->reader, f->fd, f->format, (size_t)ctx->cfg->batch_max_bytes,
                            true, err) < 0) {
        char reason[ERROR_MAX + 32];
        snprintf(reason, sizeof reason, "unparsable file: %s", err);
        landing_fail(l, reason);
        return;
    }
    f->reader_open = true;
    f->stage = STAGE_CHECK;
}

static void landing_step_check(struct ingest_ctx *ctx)
{
    struct landing *l = ctx->landing;
    struct landing_file *f = &l->cur;
    char err[ERROR_MAX];
    for (int64_t i = 0; i < ctx->cfg->batch_max_records; i++) {
        int rc = landing_reader_next(&f->reader, err);
        if (rc < 0) {
            char reason[ERROR_MAX + 32];
            snprintf(reason, sizeof reason, "unparsable file: %s", err);
            landing_fail(l, reason);
            return;
        }
        if (rc == 0) {
            landing_reader_close(&f->reader);
            f->reader_open = false;
            f->stage = STAGE_INGEST;
            return;
        }
        f->total++;
    }
}

/* spool_failed_fn */
static void landing_on_commit_failed(struct spool_table *table, const char *err, void *arg)
{
    (void)table;
    bool *failed = arg;
    *failed = true;
    log_error("landing_commit_failed reason=\"%s\"", err);
}

/* Where the lines of the table's current group go (see landing.h). */
static int landing_intent_fill(struct landing *l, struct spool_table *t,
                               struct landing_intent *in, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    if (t->fd >= 0) {
        snprintf(path, sizeof path, "%s", t->path);
        in->spool_before = (int64_t)t->size;
    } else {
        if (fsutil_path(path, sizeof path, err, "%s/spool/%s/%s/%020" PRIu64 "-%s%s",
                        l->data_dir, t->domain, t->endpoint, t->pending_first_seq,
                        t->pending_date, SPOOL_SUFFIX) < 0)
            return -1;
        in->spool_before = 0;
    }
    landing_rel(l, path, in->spool);
    in->spool_after = in->spool_before + (int64_t)t->pending.len;
    char date[16];
    timeutil_format_date(timeutil_now_ms(), date);
    snprintf(in->rejected, sizeof in->rejected, "rejected/%s/%s/%s.ndjson", t->domain,
             t->endpoint, date);
    if (t->rejected_file.fd >= 0 && strcmp(t->rejected_file.date, date) == 0) {
        in->rejected_before = (int64_t)t->rejected_file.synced;
    } else {
        if (fsutil_path(path, sizeof path, err, "%s/%s", l->data_dir, in->rejected) < 0)
            return -1;
        off_t size = landing_file_size(path);
        in->rejected_before = size > 0 ? (int64_t)size : 0;
    }
    in->rejected_after = in->rejected_before + (int64_t)t->rejected.len;
    return 0;
}

/* Restart the ingest stage from the stored records after a passing error. */
static void landing_ingest_again(struct landing *l)
{
    struct landing_file *f = &l->cur;
    if (f->reader_open)
        landing_reader_close(&f->reader);
    f->reader_open = false;
    landing_retry_later(l);
}

static void landing_chunk(struct ingest_ctx *ctx, uint64_t first, uint64_t n)
{
    struct landing *l = ctx->landing;
    struct landing_file *f = &l->cur;
    char err[ERROR_MAX];
    const struct schema *schema = NULL;
    int rc = endpoints_get(ctx->endpoints, f->item.domain, f->item.endpoint, &schema, err);
    if (rc == 0) {
        char reason[ERROR_MAX];
        snprintf(reason, sizeof reason, "endpoint %s/%s was deleted while the file was read",
                 f->item.domain, f->item.endpoint);
        landing_fail(l, reason);
        return;
    }
    struct spool_table *table = rc < 0 ? NULL
                                       : spool_table_get(ctx->spools, f->item.domain,
                                                         f->item.endpoint);
    if (table == NULL) {
        log_warn("landing_retry file=%s reason=\"%s\"", f->rel,
                 rc < 0 ? err : "out of memory");
        landing_ingest_again(l);
        return;
    }
    struct protocol_request req = {.format = PROTOCOL_FORMAT_NDJSON, .strict = false,
                                   .validate = true};
    snprintf(req.domain, sizeof req.domain, "%s", f->item.domain);
    snprintf(req.endpoint, sizeof req.endpoint, "%s", f->item.endpoint);
    snprintf(req.id, sizeof req.id, "landing-%.16s-%" PRIu64, f->sha, first);
    struct protocol_reply reply;
    memset(&reply, 0, sizeof reply);
    struct spool_mark mark;
    spool_mark(table, &mark);
    bool stored = batch_process(ctx, &req, l->body.data, l->body.len, table, schema, &reply);
    enum protocol_status status = reply.status;
    uint64_t accepted = reply.accepted, refused = reply.refused;
    if (status != PROTOCOL_STATUS_OK && status != PROTOCOL_STATUS_PARTIAL) {
        char reason[ERROR_MAX];
        snprintf(reason, sizeof reason, "%s", reply.message);
        protocol_reply_clear(&reply);
        if (stored)
            spool_rollback(table, &mark);
        if (status == PROTOCOL_STATUS_REFUSED) {
            landing_fail(l, reason);
        } else {
            log_warn("landing_retry file=%s reason=\"%s\"", f->rel, reason);
            landing_ingest_again(l);
        }
        return;
    }
    protocol_reply_clear(&reply);
    if (stored) {
        struct landing_intent in = {.item = f->item};
        snprintf(in.sha, sizeof in.sha, "%s", f->sha);
        snprintf(in.id, sizeof in.id, "%s", req.id);
        in.done_after = (int64_t)(first + n);
        in.accepted_after = (int64_t)(f->accepted + accepted);
        in.refused_after = (int64_t)(f->refused + refused);
        if (landing_intent_fill(l, table, &in, err) < 0 ||
            landing_db_put_intent(l, &in, err) < 0) {
            spool_rollback(table, &mark);
            log_warn("landing_retry file=%s reason=\"%s\"", f->rel, err);
            landing_ingest_again(l);
            return;
        }
        bool failed = false;
        spool_commit(ctx->spools, landing_on_commit_failed, &failed);
        if (failed) {
            /* Not stored. The intent is resolved as "not stored" anyway, but
             * delete it now so that it cannot outlive this chunk. */
            if (landing_db_exec(l, "DELETE FROM intent", err) < 0)
                log_warn("landing_intent_left reason=\"%s\"", err);
            landing_ingest_again(l);
            return;
        }
    }
    f->done = first + n;
    f->accepted += accepted;
    f->refused += refused;
    f->chunks++;
    ctx->stats.accepted += accepted;
    ctx->stats.refused += refused;
    if (landing_db_settle(l, &f->item, f->sha, (int64_t)f->done, (int64_t)f->accepted,
                          (int64_t)f->refused, err) < 0) {
        log_warn("landing_settle_retry file=%s reason=\"%s\"", f->rel, err);
        l->settle_pending = true;
        landing_retry_later(l);
    }
    spool_seal_due(ctx->spools, timeutil_monotonic_ms(), (uint64_t)ctx->cfg->seal_max_bytes,
                   ctx->cfg->seal_max_age_ms, ingest_on_sealed, ctx);
}

static void landing_step_ingest(struct ingest_ctx *ctx)
{
    struct landing *l = ctx->landing;
    struct landing_file *f = &l->cur;
    char err[ERROR_MAX];
    const struct config *cfg = ctx->cfg;
    if (!f->reader_open) {
        if (landing_db_begin_file(l, f, err) < 0) {
            log_warn("landing_retry file=%s reason=\"%s\"", f->rel, err);
            landing_retry_later(l);
            return;
        }
        int rc = landing_reader_open(&f->reader, f->fd, f->format, (size_t)cfg->batch_max_bytes,
                                     false, err);
        f->reader_open = rc == 0;
        /* Resume after the records stored by an earlier run. */
        for (uint64_t i = 0; rc == 0 && i < f->done; i++) {
            rc = landing_reader_next(&f->reader, err);
            if (rc == 0)
                rc = error_set(err, "the file has fewer records than were stored");
            else if (rc == 1)
                rc = 0;
        }
        if (rc < 0) {
            char reason[ERROR_MAX + 64];
            snprintf(reason, sizeof reason, "file changed while it was read: %s", err);
            landing_fail(l, reason);
        }
        return;
    }
    l->body.len = 0;
    uint64_t n = 0;
    while (n < (uint64_t)cfg->batch_max_records) {
        int rc = landing_reader_next(&f->reader, err);
        if (rc < 0) {
            char reason[ERROR_MAX + 64];
            snprintf(reason, sizeof reason, "file changed while it was read: %s", err);
            landing_fail(l, reason);
            return;
        }
        if (rc == 0)
            break;
        struct buf *rec = &f->reader.rec;
        if (n > 0 && l->body.len + rec->len + 1 > (size_t)cfg->batch_max_bytes) {
            f->reader.held = true;
            break;
        }
        if (!buf_reserve(&l->body, rec->len + 1)) {
            log_warn("landing_retry file=%s reason=\"out of memory\"", f->rel);
            landing_ingest_again(l);
            return;
        }
        buf_append(&l->body, rec->data, rec->len);
        buf_append(&l->body, "\n", 1);
        n++;
    }
    if (n == 0) {
        landing_reader_close(&f->reader);
        f->reader_open = false;
        f->stage = STAGE_FINISH;
        return;
    }
    landing_chunk(ctx, f->done, n);
    buf_reset(&l->body, (size_t)4 * 1024 * 1024);
}

static void landing_step_finish(struct ingest_ctx *ctx)
{
    struct landing *l = ctx->landing;
    struct landing_file *f = &l->cur;
    char err[ERROR_MAX], now[TIMEUTIL_TIMESTAMP_MAX], moved[PATH_MAX];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_ERROR;
    if (sqlite3_prepare_v2(l->db,
                           "UPDATE files SET status = 'done', finished_at = ?5"
                           " WHERE domain = ?1 AND endpoint = ?2 AND name = ?3 AND sha256 = ?4",
                           -1, &st, NULL) == SQLITE_OK) {
        landing_bind_key(st, 1, &f->item, f->sha);
        sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        log_warn("landing_retry file=%s reason=\"landing state: %s\"", f->rel,
                 sqlite3_errmsg(l->db));
        landing_retry_later(l);
        return;
    }
    if (landing_move(l, "_done", NULL, moved, err) < 0)
        log_error("landing_move_failed file=%s reason=\"%s\"", f->rel, err);
    log_info("landing_done file=%s moved_to=%s records=%" PRIu64 " accepted=%" PRIu64
             " refused=%" PRIu64 " chunks=%" PRIu64 " ms=%" PRId64,
             f->rel, moved[0] ? moved : "-", f->done, f->accepted, f->refused, f->chunks,
             timeutil_monotonic_ms() - f->started_ms);
    l->files_done++;
    landing_file_end(l);
}

/* ------------------------------------------------------------ interface */

int landing_open(struct ingest_ctx *ctx, struct landing **out, char err[ERROR_MAX])
{
    *out = NULL;
    struct landing *l = calloc(1, sizeof *l);
    if (l == NULL)
        return error_set(err, "landing: out of memory");
    l->ifd = -1;
    l->cur.fd = -1;
    char sub[PATH_MAX];
    if (fsutil_path(l->data_dir, sizeof l->data_dir, err, "%s", ctx->cfg->data_dir) < 0 ||
        fsutil_path(l->root, sizeof l->root, err, "%s/landing", l->data_dir) < 0 ||
        fsutil_mkdirs(l->root, LAYOUT_DIR_MODE, err) < 0 ||
        fsutil_path(sub, sizeof sub, err, "%s/_done", l->root) < 0 ||
        fsutil_mkdirs(sub, LAYOUT_DIR_MODE, err) < 0 ||
        fsutil_path(sub, sizeof sub, err, "%s/_failed", l->root) < 0 ||
        fsutil_mkdirs(sub, LAYOUT_DIR_MODE, err) < 0)
        goto fail;
    l->queue = calloc(LANDING_QUEUE_MAX, sizeof *l->queue);
    if (l->queue == NULL) {
        error_set(err, "landing: out of memory");
        goto fail;
    }
    if (landing_db_open(l, err) < 0 || landing_recover(l, err) < 0)
        goto fail;
    l->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (l->ifd < 0) {
        error_set(err, "landing: inotify_init1: %s", strerror(errno));
        goto fail;
    }
    landing_scan(l);
    log_info("landing_watching dir=%s queued=%zu", l->root, l->qcount);
    *out = l;
    return 0;
fail:
    landing_close(&l);
    return -1;
}

void landing_close(struct landing **landing)
{
    struct landing *l = *landing;
    if (l == NULL)
        return;
    landing_file_end(l);
    if (l->files_done + l->files_failed + l->files_duplicate > 0)
        log_info("landing_stats files_done=%" PRIu64 " files_failed=%" PRIu64
                 " files_duplicate=%" PRIu64,
                 l->files_done, l->files_failed, l->files_duplicate);
    if (l->db != NULL)
        sqlite3_close(l->db);
    if (l->ifd >= 0)
        close(l->ifd);
    free(l->watches);
    free(l->queue);
    buf_free(&l->body);
    free(l);
    *landing = NULL;
}

int landing_fd(const struct landing *landing)
{
    return landing != NULL ? landing->ifd : -1;
}

bool landing_busy(const struct landing *l)
{
    if (l == NULL || (l->retry_at_ms != 0 && timeutil_monotonic_ms() < l->retry_at_ms))
        return false;
    return l->settle_pending || l->active || l->qcount > 0 || l->rescan_wanted;
}

void landing_step(struct ingest_ctx *ctx)
{
    struct landing *l = ctx->landing;
    if (!landing_busy(l))
        return;
    l->retry_at_ms = 0;
    if (l->settle_pending) {
        struct landing_file *f = &l->cur;
        char err[ERROR_MAX];
        if (landing_db_settle(l, &f->item, f->sha, (int64_t)f->done, (int64_t)f->accepted,
                              (int64_t)f->refused, err) < 0) {
            landing_retry_later(l);
            return;
        }
        l->settle_pending = false;
    }
    if (!l->active) {
        if (l->qcount > 0) {
            struct landing_item it = l->queue[l->qhead];
            l->qhead = (l->qhead + 1) % LANDING_QUEUE_MAX;
            l->qcount--;
            landing_start(ctx, &it);
        } else if (l->rescan_wanted) {
            l->rescan_wanted = false;
            landing_scan(l);
        }
        return;
    }
    switch (l->cur.stage) {
    case STAGE_HASH: landing_step_hash(ctx); break;
    case STAGE_CHECK: landing_step_check(ctx); break;
    case STAGE_INGEST: landing_step_ingest(ctx); break;
    case STAGE_FINISH: landing_step_finish(ctx); break;
    }
}

void landing_tick(struct ingest_ctx *ctx, int64_t now_ms)
{
    struct landing *l = ctx->landing;
    if (l == NULL)
        return;
    if (l->rescan_at_ms != 0 && now_ms >= l->rescan_at_ms) {
        l->rescan_at_ms = 0;
        l->rescan_wanted = true;
    }
}

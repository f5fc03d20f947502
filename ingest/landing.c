/* landing.c - drop-folder ingestion: watch, hash, check, ingest in chunks
 * through the producer path, exactly once (see landing.h). */
#include "landing_int.h"

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
#include "strbuf.h"
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

/* ------------------------------------------------------------ helpers */

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
    if (layout_landing_bucket_dir(dir, sizeof dir, l->data_dir, bucket, f->item.domain,
                                  f->item.endpoint, err) < 0 ||
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
    if (landing_move(l, LAYOUT_LANDING_FAILED, text, moved, err) < 0)
        log_error("landing_move_failed file=%s reason=\"%s\"", f->rel, err);
    l->files_failed++;
    landing_file_end(l);
}

static void landing_start(struct ingest_ctx *ctx, const struct landing_item *it)
{
    struct landing *l = ctx->landing;
    struct landing_file *f = &l->cur;
    char err[ERROR_MAX];
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->item = *it;
    if (layout_landing_rel(f->rel, sizeof f->rel, it->domain, it->endpoint, it->name, err) < 0 ||
        landing_path(l, it->domain, it->endpoint, it->name, f->path, err) < 0)
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
        if (landing_move(l, LAYOUT_LANDING_DONE, NULL, moved, err) < 0)
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
             record_format_name(f->format), (long long)f->size, f->sha,
             f->resumed ? " resumed=true" : "");
    if (landing_reader_open(&f->reader, f->fd, f->format, (size_t)ctx->cfg->batch_max_bytes,
                            err) < 0) {
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
        if (layout_spool_file(path, sizeof path, l->data_dir, t->domain, t->endpoint,
                              (unsigned long long)t->pending_first_seq, t->pending_date,
                              SPOOL_SUFFIX, err) < 0)
            return -1;
        in->spool_before = 0;
    }
    landing_rel(l, path, in->spool);
    in->spool_after = in->spool_before + (int64_t)t->pending.len;
    char date[16];
    timeutil_format_date(timeutil_now_ms(), date);
if (layout_rejected_rel(in->rejected, sizeof in->rejected, t->domain, t->endpoint, date,
                            err) < 0)
        return -1;
    if (t->rejected_file.fd >= 0 && strcmp(t->rejected_file.date, date) == 0) {
        in->rejected_before = (int64_t)t->rejected_file.synced;
    } else {
        if (layout_path(path, sizeof path, l->data_dir, in->rejected, err) < 0)
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
    bool stored = batch_process(ctx, &req, l->body.s, l->body.len, table, schema, &reply);
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
    ingest_seal_due(ctx, timeutil_monotonic_ms());
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
                                     err);
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
    strbuf_cut(&l->body, 0);
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
        const struct landing_reader *rec = &f->reader;
        if (n > 0 && l->body.len + rec->len + 1 > (size_t)cfg->batch_max_bytes) {
            f->reader.held = true;
            break;
        }
        if (!strbuf_reserve(&l->body, rec->len + 1)) {
            log_warn("landing_retry file=%s reason=\"out of memory\"", f->rel);
            landing_ingest_again(l);
            return;
        }
        strbuf_append(&l->body, rec->rec, rec->len);
        strbuf_append(&l->body, "\n", 1);
        n++;
    }
    if (n == 0) {
        landing_reader_close(&f->reader);
        f->reader_open = false;
        f->stage = STAGE_FINISH;
        return;
    }
    landing_chunk(ctx, f->done, n);
    strbuf_reset(&l->body, (size_t)4 * 1024 * 1024);
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
    if (landing_move(l, LAYOUT_LANDING_DONE, NULL, moved, err) < 0)
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
        layout_landing_dir(l->root, sizeof l->root, l->data_dir, err) < 0 ||
        fsutil_mkdirs(l->root, LAYOUT_DIR_MODE, err) < 0 ||
        layout_landing_bucket_dir(sub, sizeof sub, l->data_dir, LAYOUT_LANDING_DONE, NULL, NULL,
                                  err) < 0 ||
        fsutil_mkdirs(sub, LAYOUT_DIR_MODE, err) < 0 ||
        layout_landing_bucket_dir(sub, sizeof sub, l->data_dir, LAYOUT_LANDING_FAILED, NULL,
                                  NULL, err) < 0 ||
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
    strbuf_free(&l->body);
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

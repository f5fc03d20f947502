/* spool.c - spool files, group commit, sealing and spool recovery (see
 * spool.h). */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bronze.h"
#include "files.h"
#include "fsutil.h"
#include "jsonout.h"
#include "layout.h"
#include "log.h"
#include "sealer.h"
#include "timeutil.h"

/* Capacity a table's buffers keep between groups; a burst above it is freed
 * after its commit (bounded memory, rule 5). */
#define SPOOL_BUFFER_KEEP (1024 * 1024)
/* Wait after a failed seal before trying again. */
#define SPOOL_SEAL_RETRY_MS 1000

struct spool_set {
    char data_dir[PATH_MAX];
    struct spool_table **tables;
    size_t count;
    size_t cap;
    struct spool_table *touched;
    struct sealer *sealer; /* seals on its thread (sealer.h) */
};

static int spool_seal_job(const char *data_dir, const struct sealer_job *job,
                          char rel[PATH_MAX], char err[ERROR_MAX]);

int spool_set_open(const char *data_dir, struct spool_set **out, char err[ERROR_MAX])
{
    struct spool_set *set = calloc(1, sizeof *set);
    if (set == NULL)
        return error_set(err, "spool: out of memory");
    if (fsutil_path(set->data_dir, sizeof set->data_dir, err, "%s", data_dir) < 0 ||
        sealer_open(data_dir, spool_seal_job, &set->sealer, err) < 0) {
        free(set);
        return -1;
    }
    *out = set;
    return 0;
}

static void spool_table_free(struct spool_table *t)
{
    if (t->fd >= 0)
        close(t->fd);
    rejected_file_close(&t->rejected_file);
    strbuf_free(&t->pending);
    strbuf_free(&t->rejected);
    free(t);
}

void spool_set_close(struct spool_set **set)
{
    struct spool_set *s = *set;
    if (s == NULL)
        return;
    sealer_close(&s->sealer);
    for (size_t i = 0; i < s->count; i++)
        spool_table_free(s->tables[i]);
    free(s->tables);
    free(s);
    *set = NULL;
}

struct spool_table *spool_table_get(struct spool_set *set, const char *domain,
                                    const char *endpoint)
{
    for (size_t i = 0; i < set->count; i++) {
        struct spool_table *t = set->tables[i];
        if (strcmp(t->domain, domain) == 0 && strcmp(t->endpoint, endpoint) == 0)
            return t;
    }
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        struct spool_table **p = realloc(set->tables, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        set->tables = p;
        set->cap = cap;
    }
    struct spool_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    snprintf(t->domain, sizeof t->domain, "%s", domain);
    snprintf(t->endpoint, sizeof t->endpoint, "%s", endpoint);
    t->fd = -1;
    rejected_file_init(&t->rejected_file);
    set->tables[set->count++] = t;
    return t;
}

void spool_note_seq(struct spool_table *t, uint64_t seq)
{
    if (seq > t->last_seq)
        t->last_seq = seq;
}

/* ------------------------------------------------------------ appending */

static size_t spool_escape_id(char *out, size_t out_size, const char *id)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)id; *p && o + 7 < out_size; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20) {
            o += (size_t)snprintf(out + o, out_size - o, "\\u%04x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
    return o;
}

void spool_meta_init(struct spool_meta *m, const char *domain, const char *endpoint,
                     int64_t now_ms, int64_t now_us, int schema_version, const char *batch_id)
{
    char ts[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(now_ms, ts);
    timeutil_format_date(now_ms, m->date);
    m->now_us = now_us;
    int n = snprintf(m->head, sizeof m->head,
                     ",\"_insert_date\":\"%s\",\"_domain\":\"%s\",\"_endpoint\":\"%s\",\"_seq\":",
                     ts, domain, endpoint);
    m->head_len = (size_t)n;
    n = snprintf(m->tail, sizeof m->tail, ",\"_schema_version\":%d", schema_version);
    m->tail_len = (size_t)n;
    if (batch_id[0] != '\0') {
        m->tail_len += spool_line_suffix(batch_id, m->tail + m->tail_len,
                                         sizeof m->tail - m->tail_len);
    } else {
        memcpy(m->tail + m->tail_len, "}\n", 3);
        m->tail_len += 2;
    }
}

size_t spool_line_suffix(const char *batch_id, char *out, size_t size)
{
    char esc[2 * 128 + 8];
    spool_escape_id(esc, sizeof esc, batch_id);
    int n = snprintf(out, size, ",\"_batch_id\":\"%s\"}\n", esc);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

void spool_touch(struct spool_set *set, struct spool_table *t)
{
    if (t->touched)
        return;
    t->touched = true;
    t->next_touched = set->touched;
    set->touched = t;
}

/* Finish the line whose object text (fields only, no closing brace) starts
 * at `start` in the pending buffer: size check, then the metadata fields and
 * the closing brace, then the table's counters. written false (out of
 * memory while writing the fields): the line is cut. */
static int spool_finish_line(struct spool_set *set, struct spool_table *t, size_t start,
                             bool written, bool empty, const struct spool_meta *meta,
                             size_t record_max, char err[ERROR_MAX])
{
    struct strbuf *b = &t->pending;
    if (!written) {
        strbuf_cut(b, start);
        return error_set(err, "out of memory");
    }
    size_t n = b->len - start + 1; /* the record as its own object, "}" included */
    if (n > record_max) {
        strbuf_cut(b, start);
        return error_set(err, "record of %zu bytes exceeds record_max_bytes (%zu)", n, record_max);
    }
    size_t meta_len = meta->head_len + 20 + meta->tail_len;
    if (!strbuf_reserve(b, meta_len)) {
        strbuf_cut(b, start);
        return error_set(err, "out of memory");
    }
    uint64_t seq = t->last_seq + 1;
    if ((uint64_t)meta->now_us > seq)
        seq = (uint64_t)meta->now_us;
    /* The metadata follows the record's fields (no comma after "{"). */
    char *p = b->s + b->len;
    size_t skip = empty ? 1 : 0;
    memcpy(p, meta->head + skip, meta->head_len - skip);
    p += meta->head_len - skip;
    p += jsonout_u64(p, seq);
    memcpy(p, meta->tail, meta->tail_len);
    p += meta->tail_len;

    if (t->pending_records == 0 && t->fd < 0) {
        t->pending_first_seq = seq;
        memcpy(t->pending_date, meta->date, sizeof t->pending_date);
    }
    b->len = (size_t)(p - b->s);
    t->pending_records++;
    t->last_seq = seq;
    spool_touch(set, t);
    return 0;
}

/* One record line being written into a table's pending buffer. */
struct spool_line {
    struct strbuf *b;
    size_t start; /* where the line starts in b */
    bool first;   /* no member written yet */
    bool ok;      /* false once an append ran out of memory */
};

static struct spool_line spool_line_begin(struct spool_table *t)
{
    struct spool_line l = {&t->pending, t->pending.len, true, false};
    l.ok = strbuf_append(l.b, "{", 1);
    return l;
}

/* A member's "key": (preceded by a comma unless it is the first); false
 * when out of memory, then its value must not be written. */
static bool spool_line_key(struct spool_line *l, const char *key)
{
    l->ok = l->ok && (l->first || strbuf_append(l->b, ",", 1)) &&
            jsonout_string(l->b, key, strlen(key)) && strbuf_append(l->b, ":", 1);
    l->first = false;
    return l->ok;
}

static void spool_line_member(struct spool_line *l, const char *key, const json_t *value)
{
    if (spool_line_key(l, key))
        l->ok = jsonout_value(l->b, value);
}

/* The rescued column (when there is one) and the line's metadata. */
static int spool_line_end(struct spool_set *set, struct spool_table *t, struct spool_line *l,
                          const json_t *rescued, const struct spool_meta *meta,
                          size_t record_max, char err[ERROR_MAX])
{
    if (rescued != NULL)
        spool_line_member(l, SCHEMA_RESCUED_COLUMN, rescued);
    return spool_finish_line(set, t, l->start, l->ok, l->first, meta, record_max, err);
}

int spool_append(struct spool_set *set, struct spool_table *t, const json_t *record,
                 const struct spool_meta *meta, size_t record_max, char err[ERROR_MAX])
{
    if (!json_is_object(record))
        return error_set(err, "normalised record is not a JSON object");
    struct spool_line l = spool_line_begin(t);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)record, key, value) {
        spool_line_member(&l, key, value);
    }
    return spool_line_end(set, t, &l, NULL, meta, record_max, err);
}

int spool_append_values(struct spool_set *set, struct spool_table *t,
                        const struct schema *schema, json_t *const *values,
                        const json_t *rescued, const struct spool_meta *meta, size_t record_max,
                        char err[ERROR_MAX])
{
    struct spool_line l = spool_line_begin(t);
    for (size_t i = 0; l.ok && i < schema->column_count; i++) {
        if (values[i] != NULL)
            spool_line_member(&l, schema->columns[i].name, values[i]);
    }
    return spool_line_end(set, t, &l, rescued, meta, record_max, err);
}

int spool_append_fields(struct spool_set *set, struct spool_table *t,
                        const struct schema *schema, const struct schema_value *values,
                        const json_t *rescued, const struct spool_meta *meta, size_t record_max,
                        char err[ERROR_MAX])
{
    struct spool_line l = spool_line_begin(t);
    for (size_t i = 0; l.ok && i < schema->column_count; i++) {
        if (values[i].kind != SCHEMA_VALUE_ABSENT && spool_line_key(&l, schema->columns[i].name))
            l.ok = jsonout_schema_value(l.b, &values[i]);
    }
    return spool_line_end(set, t, &l, rescued, meta, record_max, err);
}

void spool_mark(const struct spool_table *t, struct spool_mark *m)
{
    m->pending_len = t->pending.len;
    m->rejected_len = t->rejected.len;
    m->pending_records = t->pending_records;
    m->last_seq = t->last_seq;
}

void spool_rollback(struct spool_table *t, const struct spool_mark *m)
{
    strbuf_cut(&t->pending, m->pending_len);
    strbuf_cut(&t->rejected, m->rejected_len);
    t->pending_records = m->pending_records;
    t->last_seq = m->last_seq;
}

/* Cut the first n lines of b after byte `from`; returns how many it cut. */
static uint64_t spool_cut_lines(struct strbuf *b, size_t from, uint64_t n)
{
    size_t end = from;
    uint64_t cut = 0;
    if (b->s == NULL)
        return 0;
    while (cut < n && end < b->len) {
        const char *nl = memchr(b->s + end, '\n', b->len - end);
        if (nl == NULL)
            break;
        end = (size_t)(nl - b->s) + 1;
        cut++;
    }
    if (end > from) {
        memmove(b->s + from, b->s + end, b->len - end);
        b->len -= end - from;
    }
    return cut;
}

/* The _seq of the line starting at offset `at`: the metadata ends each line,
 * so its "_seq" member is the last one (a nested json value may hold its own
 * "_seq" key earlier in the line). 0 if none. */
static uint64_t spool_line_seq(const struct strbuf *b, size_t at)
{
    const char *line = b->s + at;
    const char *nl = memchr(line, '\n', b->len - at);
    size_t len = nl != NULL ? (size_t)(nl - line) : b->len - at;
    static const char key[] = "\"_seq\":";
    for (size_t i = len; i >= sizeof key - 1; i--) {
        if (memcmp(line + i - (sizeof key - 1), key, sizeof key - 1) == 0)
            return strtoull(line + i, NULL, 10);
    }
    return 0;
}

void spool_drop_since(struct spool_table *t, const struct spool_mark *m, uint64_t lines,
                      uint64_t rejected_lines)
{
    uint64_t cut = spool_cut_lines(&t->pending, m->pending_len, lines);
    t->pending_records -= cut;
    spool_cut_lines(&t->rejected, m->rejected_len, rejected_lines);
    /* a new spool file is named after its first line's _seq */
    if (cut > 0 && m->pending_records == 0 && t->fd < 0 && t->pending_records > 0)
        t->pending_first_seq = spool_line_seq(&t->pending, 0);
}

size_t spool_pending_bytes(const struct spool_set *set)
{
    size_t n = 0;
    for (const struct spool_table *t = set->touched; t != NULL; t = t->next_touched)
        n += t->pending.len + t->rejected.len;
    return n;
}

/* ------------------------------------------------------------ commit */

static int spool_create(struct spool_set *set, struct spool_table *t, char err[ERROR_MAX])
{
    if (layout_spool_file(t->path, sizeof t->path, set->data_dir, t->domain, t->endpoint,
                          t->pending_first_seq, t->pending_date, SPOOL_SUFFIX, err) < 0)
        return -1;
    int fd = files_create_durable(t->path, O_WRONLY | O_APPEND | O_EXCL, LAYOUT_FILE_MODE, 3, err);
    if (fd < 0)
        return -1;
    t->fd = fd;
    t->first_seq = t->pending_first_seq;
    memcpy(t->date, t->pending_date, sizeof t->date);
    t->size = 0;
    t->records = 0;
    t->opened_ms = timeutil_monotonic_ms();
    t->committed_ms = t->opened_ms;
    t->seal_retry_ms = 0;
    t->seal_now = false;
    return 0;
}

/* Close and remove a spool that holds nothing durable. */
static void spool_discard_empty(struct spool_table *t)
{
    close(t->fd);
    t->fd = -1;
    if (unlink(t->path) < 0 && errno != ENOENT)
        log_warn("spool_unlink_failed file=%s reason=\"%s\"", t->path, strerror(errno));
}

static int spool_commit_table(struct spool_set *set, struct spool_table *t, char err[ERROR_MAX])
{
    /* Rejected lines are written and synced before the spool lines: the
     * spool line is what marks a landing/ chunk as committed (landing.c
     * resolves a chunk left in doubt from it), so once it exists, its
     * chunk's rejected lines exist too. */
    bool created = false;
    bool rejected_synced = false;
    off_t rejected_start = 0;
    if (t->rejected.len > 0) {
        char date[16];
        timeutil_format_date(timeutil_now_ms(), date);
        if (rejected_write(&t->rejected_file, set->data_dir, t->domain, t->endpoint, date,
                           t->rejected.s, t->rejected.len, err) < 0)
            goto fail;
        rejected_start = t->rejected_file.written - (off_t)t->rejected.len;
        if (rejected_sync(&t->rejected_file, err) < 0)
            goto fail;
        rejected_synced = true;
    }
    if (t->pending.len > 0) {
        if (t->fd < 0) {
            if (spool_create(set, t, err) < 0)
                goto fail;
            created = true;
        }
        if (fsutil_write_all(t->fd, t->pending.s, t->pending.len, err) < 0) {
            error_prefix(err, "spool %s", t->path);
            goto fail;
        }
        if (fdatasync(t->fd) < 0) {
            error_set(err, "fdatasync %s: %s", t->path, strerror(errno));
            goto fail;
        }
    }
    t->size += t->pending.len;
    t->records += t->pending_records;
    if (t->pending_records > 0) {
        t->durable_last_seq = t->last_seq;
        t->committed_ms = timeutil_monotonic_ms();
    }
    return 0;

fail:;
    /* errno is still the failed call's (building err keeps it): a full disk
     * is the client's to wait out, the rest is ours */
    int failed_errno = errno;
    /* Nothing of this group may stay: cut the files back to their durable
     * size. If even that fails, seal the durable part now (bronze_seal takes
     * only the first `size` bytes) so the stray lines never reach bronze. */
    if (t->fd >= 0) {
        if (created && t->size == 0) {
            spool_discard_empty(t);
        } else if (ftruncate(t->fd, (off_t)t->size) < 0) {
            log_error("spool_rollback_failed file=%s reason=\"%s\"", t->path, strerror(errno));
            t->seal_now = true;
        }
    }
    if (rejected_synced)
        rejected_cut(&t->rejected_file, rejected_start);
    else
        rejected_rollback(&t->rejected_file);
    return failed_errno == ENOSPC || failed_errno == EDQUOT ? -(int)ERROR_NO_SPACE : -1;
}

size_t spool_commit(struct spool_set *set, spool_failed_fn failed, void *arg)
{
    size_t failures = 0;
    struct spool_table *next;
    for (struct spool_table *t = set->touched; t != NULL; t = next) {
        next = t->next_touched;
        char err[ERROR_MAX];
        int rc = spool_commit_table(set, t, err);
        if (rc < 0) {
            t->failure = error_kind_of(rc);
            log_error("commit_failed domain=%s endpoint=%s reason=\"%s\"", t->domain, t->endpoint,
                      err);
            failed(t, err, arg);
            failures++;
        }
        strbuf_reset(&t->pending, SPOOL_BUFFER_KEEP);
        strbuf_reset(&t->rejected, SPOOL_BUFFER_KEEP);
        t->pending_records = 0;
        t->touched = false;
        t->next_touched = NULL;
    }
    set->touched = NULL;
    return failures;
}

/* ------------------------------------------------------------ sealing */

/* Seal job->len bytes of a spool file as bronze/<d>/<e>/dt=<date>/<first>-<last>,
 * unless that bronze file exists already (then the spool was sealed before a
 * crash and only its removal was lost: rel ""). Removes the spool. Runs on
 * the sealer thread (sealer.h) or, at start and stop, on the loop's. */
static int spool_seal_job(const char *data_dir, const struct sealer_job *job,
                          char rel[PATH_MAX], char err[ERROR_MAX])
{
    char full[PATH_MAX];
    rel[0] = '\0';
    if (bronze_relative_path(rel, PATH_MAX, job->domain, job->endpoint, job->date,
                             job->first_seq, job->last_seq) < 0) {
        rel[0] = '\0';
        return error_set(err, "bronze name for %s: invalid", job->path);
    }
    if (layout_path(full, sizeof full, data_dir, rel, err) < 0) {
        rel[0] = '\0';
        return -1;
    }
    struct stat st;
    bool exists = stat(full, &st) == 0;
    if (!exists && bronze_seal(job->path, job->len, full, err) < 0) {
        rel[0] = '\0';
        return -1;
    }
    if (unlink(job->path) < 0 && errno != ENOENT)
        log_warn("spool_unlink_failed file=%s reason=\"%s\"", job->path, strerror(errno));
    if (exists) {
        log_info("spool_removed file=%s reason=\"already sealed as %s\"", job->path, rel);
        rel[0] = '\0';
        return 0;
    }
    log_info("sealed file=%s records=%" PRIu64 " bytes=%zu", rel, job->records, job->len);
    return 0;
}

static int spool_job_init(struct sealer_job *job, const char *domain, const char *endpoint,
                          const char *spool_path, const char *date, uint64_t first_seq,
                          uint64_t last_seq, size_t len, uint64_t records, char err[ERROR_MAX])
{
    memset(job, 0, sizeof *job);
    if (fsutil_path(job->domain, sizeof job->domain, err, "%s", domain) < 0 ||
        fsutil_path(job->endpoint, sizeof job->endpoint, err, "%s", endpoint) < 0 ||
        fsutil_path(job->path, sizeof job->path, err, "%s", spool_path) < 0 ||
        fsutil_path(job->date, sizeof job->date, err, "%s", date) < 0)
        return -1;
    job->first_seq = first_seq;
    job->last_seq = last_seq;
    job->len = len;
    job->records = records;
    return 0;
}

/* Seal a spool now, on this thread, and report it. */
static int spool_seal_path(const char *data_dir, const char *domain, const char *endpoint,
                           const char *spool_path, const char *date, uint64_t first_seq,
                           uint64_t last_seq, size_t len, uint64_t records,
                           spool_sealed_fn sealed, void *arg, char err[ERROR_MAX])
{
    struct sealer_job job;
    char rel[PATH_MAX];
    if (spool_job_init(&job, domain, endpoint, spool_path, date, first_seq, last_seq, len,
                       records, err) < 0 ||
        spool_seal_job(data_dir, &job, rel, err) < 0)
        return -1;
    if (rel[0] != '\0')
        sealed(domain, endpoint, rel, records, arg);
    return 0;
}

/* The table starts a new spool file with its next group. */
static void spool_table_detached(struct spool_table *t)
{
    close(t->fd);
    t->fd = -1;
    t->size = 0;
    t->records = 0;
    t->seal_now = false;
}

/* Seal a table's spool: handed to the sealer thread when `async` and it
 * has room, else sealed here. */
static int spool_seal_table(struct spool_set *set, struct spool_table *t, spool_sealed_fn sealed,
                            void *arg, bool async)
{
    if (t->size == 0) {
        spool_discard_empty(t);
        return 0;
    }
    char err[ERROR_MAX];
    if (async && set->sealer != NULL) {
        struct sealer_job job;
        if (spool_job_init(&job, t->domain, t->endpoint, t->path, t->date, t->first_seq,
                           t->durable_last_seq, t->size, t->records, err) == 0 &&
            sealer_submit(set->sealer, &job)) {
            spool_table_detached(t);
            return 0;
        }
        return 0; /* the queue is full: the spool grows until there is room */
    }
    if (spool_seal_path(set->data_dir, t->domain, t->endpoint, t->path, t->date, t->first_seq,
                        t->durable_last_seq, t->size, t->records, sealed, arg, err) < 0) {
        log_error("seal_failed file=%s reason=\"%s\"", t->path, err);
        t->seal_retry_ms = timeutil_monotonic_ms() + SPOOL_SEAL_RETRY_MS;
        return -1;
    }
    spool_table_detached(t);
    return 0;
}

/* When the table's open spool is due by age or quietness. */
static int64_t spool_due_ms(const struct spool_table *t, const struct spool_seal_rule *rule)
{
    int64_t due = t->opened_ms + rule->max_age_ms;
    if (rule->quiet_ms > 0 && t->committed_ms + rule->quiet_ms < due)
        due = t->committed_ms + rule->quiet_ms;
    return due > t->seal_retry_ms ? due : t->seal_retry_ms;
}

void spool_seal_due(struct spool_set *set, int64_t now_ms, const struct spool_seal_rule *rule,
                    spool_sealed_fn sealed, void *arg)
{
    for (size_t i = 0; i < set->count; i++) {
        struct spool_table *t = set->tables[i];
        if (t->fd < 0 || now_ms < t->seal_retry_ms)
            continue;
        if (t->seal_now || t->size >= rule->max_bytes || now_ms >= spool_due_ms(t, rule))
            spool_seal_table(set, t, sealed, arg, true);
    }
}

int64_t spool_next_due_ms(const struct spool_set *set, const struct spool_seal_rule *rule)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < set->count; i++) {
        const struct spool_table *t = set->tables[i];
        if (t->fd >= 0 && spool_due_ms(t, rule) < next)
            next = spool_due_ms(t, rule);
    }
    return next;
}

int spool_seal_fd(const struct spool_set *set)
{
    return set->sealer != NULL ? sealer_fd(set->sealer) : -1;
}

void spool_seal_reap(struct spool_set *set, spool_sealed_fn sealed, void *arg)
{
    if (set->sealer != NULL)
        sealer_reap(set->sealer, sealed, arg);
}

int spool_seal_all(struct spool_set *set, spool_sealed_fn sealed, void *arg)
{
    /* The handed-over spools first: they are older than the open ones. */
    int rc = 0;
    if (set->sealer != NULL && sealer_drain(set->sealer, sealed, arg) < 0)
        return -1; /* the open spools stay too: recovered after them, in order */
    for (size_t i = 0; i < set->count; i++) {
        struct spool_table *t = set->tables[i];
        if (t->fd >= 0 && spool_seal_table(set, t, sealed, arg, false) < 0)
            rc = -1;
    }
    return rc;
}

/* ------------------------------------------------------------ recovery */

/* _seq of the last line of buf[0..len) (complete lines). 0 if unreadable. */
static uint64_t spool_last_line_seq(const char *buf, size_t len)
{
    size_t end = len - 1; /* the final '\n' */
    size_t start = end;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    json_t *line = json_loadb(buf + start, end - start, 0, NULL);
    json_t *seq = json_object_get(line, "_seq");
    uint64_t v = json_is_integer(seq) && json_integer_value(seq) > 0
                     ? (uint64_t)json_integer_value(seq)
                     : 0;
    json_decref(line);
    return v;
}

static int spool_recover_file(struct spool_set *set, const char *domain, const char *endpoint,
                              const char *path, const char *name, spool_sealed_fn sealed,
                              void *arg, char err[ERROR_MAX])
{
    uint64_t first_seq;
    char date[11];
    if (spool_parse_name(name, &first_seq, date) < 0) {
        log_warn("spool_unknown_file file=%s reason=\"not a spool file name; left alone\"", path);
        return 0;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return error_set(err, "open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        error_set(err, "stat %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    const char *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            error_set(err, "mmap %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
    }
    size_t keep = size > 0 ? bronze_valid_prefix(map, size) : 0;
    uint64_t records = 0, last_seq = 0;
    if (keep > 0) {
        for (const char *p = map; (p = memchr(p, '\n', (size_t)(map + keep - p))) != NULL; p++)
            records++;
        last_seq = spool_last_line_seq(map, keep);
    }
    if (map != NULL)
        munmap((void *)map, size);
    close(fd);
    if (keep < size)
        log_warn("spool_torn_tail_cut file=%s kept=%zu dropped=%zu", path, keep, size - keep);
    if (keep == 0) {
        if (unlink(path) < 0)
            return error_set(err, "unlink %s: %s", path, strerror(errno));
        log_info("spool_removed file=%s reason=\"no complete record\"", path);
        return 0;
    }
    if (last_seq < first_seq)
        return error_set(err, "spool %s: last record has no valid _seq", path);
    if (spool_seal_path(set->data_dir, domain, endpoint, path, date, first_seq, last_seq, keep,
                        records, sealed, arg, err) < 0)
        return -1;
    struct spool_table *t = spool_table_get(set, domain, endpoint);
    if (t == NULL)
        return error_set(err, "spool: out of memory");
    spool_note_seq(t, last_seq);
    return 0;
}

int spool_recover(struct spool_set *set, spool_sealed_fn sealed, void *arg, char err[ERROR_MAX])
{
    char dir[PATH_MAX];
    char **domains = NULL, **endpoints = NULL, **files = NULL;
    size_t ndomains = 0, nendpoints = 0, nfiles = 0;
    int rc = -1;
    if (layout_spool_dir(dir, sizeof dir, set->data_dir, NULL, NULL, err) < 0 ||
        files_list(dir, &domains, &ndomains, err) < 0)
        return -1;
    for (size_t i = 0; i < ndomains; i++) {
        if (!names_is_valid_object(domains[i])) {
            log_warn("spool_unknown_file file=%s/%s reason=\"not a domain name; left alone\"", dir,
                     domains[i]);
            continue;
        }
        char ddir[PATH_MAX];
        if (fsutil_path(ddir, sizeof ddir, err, "%s/%s", dir, domains[i]) < 0 ||
            files_list(ddir, &endpoints, &nendpoints, err) < 0)
            goto done;
        for (size_t j = 0; j < nendpoints; j++) {
            if (!names_is_valid_object(endpoints[j])) {
                log_warn("spool_unknown_file file=%s/%s reason=\"not an endpoint name; left "
                         "alone\"",
                         ddir, endpoints[j]);
                continue;
            }
            char edir[PATH_MAX];
            if (fsutil_path(edir, sizeof edir, err, "%s/%s", ddir, endpoints[j]) < 0 ||
                files_list(edir, &files, &nfiles, err) < 0)
                goto done;
            for (size_t k = 0; k < nfiles; k++) {
                char path[PATH_MAX];
                if (fsutil_path(path, sizeof path, err, "%s/%s", edir, files[k]) < 0 ||
                    spool_recover_file(set, domains[i], endpoints[j], path, files[k], sealed, arg,
                                       err) < 0)
                    goto done;
            }
            files_list_free(files, nfiles);
            files = NULL;
            nfiles = 0;
        }
        files_list_free(endpoints, nendpoints);
        endpoints = NULL;
        nendpoints = 0;
    }
    rc = 0;
done:
    files_list_free(files, nfiles);
    files_list_free(endpoints, nendpoints);
    files_list_free(domains, ndomains);
    return rc;
}

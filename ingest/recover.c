/* recover.c - _seq high-water marks and the batch-id window from the data
 * directory at start (see recover.h). */
#include "recover.h"

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bronze.h"
#include "dedup.h"
#include "files.h"
#include "fsutil.h"
#include "growarray.h"
#include "ingest.h"
#include "layout.h"
#include "log.h"
#include "names.h"
#include "protocol.h"
#include "spool.h"
#include "timeutil.h"

/* Rejected files bigger than this are skipped by the refill (logged). */
#define RECOVER_REJECTED_MAX (64u * 1024 * 1024)

struct recover_file {
    char path[PATH_MAX];
    char domain[NAMES_MAX];
    char endpoint[NAMES_MAX];
    uint64_t first_seq;
    off_t size;
};

struct recover_list {
    struct recover_file *files;
    size_t count;
    size_t cap;
};

static int recover_list_add(struct recover_list *l, const struct recover_file *f)
{
    struct recover_file *p = growarray_room(l->files, &l->cap, l->count, sizeof *p, 64);
    if (p == NULL)
        return -1;
    l->files = p;
    l->files[l->count++] = *f;
    return 0;
}

static int recover_newest_first(const void *a, const void *b)
{
    const struct recover_file *x = a, *y = b;
    return x->first_seq < y->first_seq ? 1 : x->first_seq > y->first_seq ? -1 : 0;
}

/* The batch id of a bronze line. Ingest writes _batch_id as the last key of
 * each line (spool_meta_init), and a line without one ends in a number
 * (_schema_version), so a line ending in a string then '}' carries it. */
static bool recover_batch_id(const char *line, size_t len, char out[PROTOCOL_ID_MAX])
{
    static const char key[] = "\"_batch_id\":";
    const size_t key_len = sizeof key - 1;
    if (len < key_len + 3 || line[len - 1] != '}' || line[len - 2] != '"')
        return false;
    size_t close = len - 2;
    size_t open = close;
    while (open > 0) {
        open--;
        if (line[open] != '"')
            continue;
        size_t backslashes = 0;
        while (open > backslashes && line[open - 1 - backslashes] == '\\')
            backslashes++;
        if (backslashes % 2 == 0)
            break;
    }
    if (open < key_len || line[open] != '"' || memcmp(line + open - key_len, key, key_len) != 0)
        return false;
    size_t o = 0;
    for (size_t i = open + 1; i < close; i++) {
        char c = line[i];
        if (c == '\\' && i + 1 < close)
            c = line[++i]; /* ids are printable ASCII: only \" and \\ occur */
        if (o + 1 >= PROTOCOL_ID_MAX)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return o > 0;
}

static void recover_bronze_file(struct ingest_ctx *ctx, const struct recover_file *f)
{
    char err[ERROR_MAX];
    struct bronze_reader *r = bronze_reader_open(f->path, err);
    if (r == NULL) {
        log_warn("recover_skip file=%s reason=\"%s\"", f->path, err);
        return;
    }
    const char *line;
    size_t len;
    int rc;
    char id[PROTOCOL_ID_MAX];
    while ((rc = bronze_reader_next(r, &line, &len, err)) == 1) {
        if (recover_batch_id(line, len, id))
            dedup_add(ctx->dedup, f->domain, f->endpoint, id, 1, 0);
    }
    if (rc < 0)
        log_warn("recover_skip file=%s reason=\"%s\"", f->path, err);
    bronze_reader_close(&r);
}

/* One table's dt= directories: note the _seq high-water mark and collect
 * the files sealed since since_us. */
static int recover_bronze_table(struct ingest_ctx *ctx, const char *dir, const char *domain,
                                const char *endpoint, uint64_t since_us,
                                struct recover_list *recent, char err[ERROR_MAX])
{
    char **dts = NULL, **files = NULL;
    size_t ndts = 0, nfiles = 0;
    if (files_list(dir, &dts, &ndts, err) < 0)
        return -1;
    struct spool_table *table = spool_table_get(ctx->spools, domain, endpoint);
    int rc = table != NULL ? 0 : error_set(err, "out of memory");
    int seen = 0;
    /* Names sort by date: the newest two hold the highest _seq. */
    for (size_t i = ndts; rc == 0 && i-- > 0 && seen < 2;) {
        if (strncmp(dts[i], "dt=", 3) != 0 || !timeutil_looks_like_date(dts[i] + 3))
            continue;
        seen++;
        char sub[PATH_MAX];
        if (fsutil_path(sub, sizeof sub, err, "%s/%s", dir, dts[i]) < 0 ||
            files_list(sub, &files, &nfiles, err) < 0) {
            rc = -1;
            break;
        }
        for (size_t k = 0; k < nfiles; k++) {
            uint64_t first, last;
            if (bronze_parse_name(files[k], &first, &last) < 0)
                continue; /* e.g. a .tmp left by a crash during a seal */
            spool_note_seq(table, last);
            if (last < since_us)
                continue;
            struct recover_file f = {.first_seq = first};
            struct stat st;
            if (fsutil_path(f.path, sizeof f.path, err, "%s/%s", sub, files[k]) < 0) {
                rc = -1;
                break;
            }
            f.size = stat(f.path, &st) == 0 ? st.st_size : 0;
            snprintf(f.domain, sizeof f.domain, "%s", domain);
            snprintf(f.endpoint, sizeof f.endpoint, "%s", endpoint);
            if (recover_list_add(recent, &f) < 0) {
                rc = error_set(err, "out of memory");
                break;
            }
        }
        files_list_free(files, nfiles);
        files = NULL;
        nfiles = 0;
    }
    files_list_free(dts, ndts);
    return rc;
}

/* Calls fn(ctx, dir, domain, endpoint) for each <root>/<domain>/<endpoint>
 * directory with valid names. */
typedef int (*recover_table_fn)(struct ingest_ctx *ctx, const char *dir, const char *domain,
                                const char *endpoint, void *arg, char err[ERROR_MAX]);

static int recover_each_table(struct ingest_ctx *ctx, const char *root, recover_table_fn fn,
                              void *arg, char err[ERROR_MAX])
{
    char **domains = NULL, **endpoints = NULL;
    size_t ndomains = 0, nendpoints = 0;
    if (files_list(root, &domains, &ndomains, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ndomains; i++) {
        if (!names_is_valid_object(domains[i]))
            continue;
        char ddir[PATH_MAX];
        if (fsutil_path(ddir, sizeof ddir, err, "%s/%s", root, domains[i]) < 0 ||
            files_list(ddir, &endpoints, &nendpoints, err) < 0) {
            rc = -1;
            break;
        }
        for (size_t j = 0; rc == 0 && j < nendpoints; j++) {
            if (!names_is_valid_object(endpoints[j]))
                continue;
            char edir[PATH_MAX];
            if (fsutil_path(edir, sizeof edir, err, "%s/%s", ddir, endpoints[j]) < 0 ||
                fn(ctx, edir, domains[i], endpoints[j], arg, err) < 0)
                rc = -1;
        }
        files_list_free(endpoints, nendpoints);
        endpoints = NULL;
        nendpoints = 0;
    }
    files_list_free(domains, ndomains);
    return rc;
}

struct recover_bronze_arg {
    uint64_t since_us;
    struct recover_list recent;
};

static int recover_bronze_fn(struct ingest_ctx *ctx, const char *dir, const char *domain,
                             const char *endpoint, void *arg, char err[ERROR_MAX])
{
    struct recover_bronze_arg *a = arg;
    return recover_bronze_table(ctx, dir, domain, endpoint, a->since_us, &a->recent, err);
}

struct recover_rejected_arg {
    int64_t since_ms;
    char dates[2][16];
};

static int recover_rejected_fn(struct ingest_ctx *ctx, const char *dir, const char *domain,
                               const char *endpoint, void *arg, char err[ERROR_MAX])
{
    struct recover_rejected_arg *a = arg;
    for (int d = 1; d >= 0; d--) { /* yesterday, then today */
        char path[PATH_MAX];
        if (fsutil_path(path, sizeof path, err, "%s/%s.ndjson", dir, a->dates[d]) < 0)
            return -1;
        struct stat st;
        if (stat(path, &st) < 0)
            continue;
        if (st.st_size > (off_t)RECOVER_REJECTED_MAX) {
            log_warn("recover_skip file=%s reason=\"larger than %u bytes\"", path,
                     RECOVER_REJECTED_MAX);
            continue;
        }
        char *text = NULL;
        size_t len = 0;
        char ferr[ERROR_MAX];
        if (fsutil_read_file(path, RECOVER_REJECTED_MAX, &text, &len, ferr) < 0) {
            log_warn("recover_skip file=%s reason=\"%s\"", path, ferr);
            continue;
        }
        for (char *p = text, *nl; p < text + len; p = nl + 1) {
            nl = memchr(p, '\n', (size_t)(text + len - p));
            if (nl == NULL)
                break; /* torn tail: cut when the file is next opened */
            json_t *line = json_loadb(p, (size_t)(nl - p), 0, NULL);
            const char *id = json_string_value(json_object_get(line, "batch_id"));
            const char *at = json_string_value(json_object_get(line, "rejected_at"));
            int64_t at_ms = 0;
            if (id != NULL && at != NULL && timeutil_parse_utc_ms(at, &at_ms) == 0 &&
                at_ms >= a->since_ms)
                dedup_add(ctx->dedup, domain, endpoint, id, 0, 1);
            json_decref(line);
        }
        free(text);
    }
    return 0;
}

int recover_history(struct ingest_ctx *ctx, char err[ERROR_MAX])
{
    const char *data_dir = ctx->cfg->data_dir;
    int64_t now_ms = timeutil_now_ms();
    char root[PATH_MAX];
    struct recover_bronze_arg b = {
        .since_us = (uint64_t)(timeutil_now_us() - (int64_t)RECOVER_WINDOW_S * 1000000)};
    if (layout_bronze_dir(root, sizeof root, data_dir, NULL, NULL, NULL, err) < 0 ||
        recover_each_table(ctx, root, recover_bronze_fn, &b, err) < 0) {
        free(b.recent.files);
        return -1;
    }
    /* Newest first within the budget, then read oldest first so that the
     * window's eviction order follows arrival order. */
    if (b.recent.count > 0)
        qsort(b.recent.files, b.recent.count, sizeof *b.recent.files, recover_newest_first);
    size_t take = 0;
    long long bytes = 0;
    while (take < b.recent.count && bytes < RECOVER_BRONZE_BUDGET)
        bytes += b.recent.files[take++].size;
    if (take < b.recent.count)
        log_warn("recover_budget files_skipped=%zu reason=\"older recent files not read for "
                 "the batch-id window\"",
                 b.recent.count - take);
    for (size_t i = take; i-- > 0;)
        recover_bronze_file(ctx, &b.recent.files[i]);
    free(b.recent.files);

    struct recover_rejected_arg r = {.since_ms = now_ms - (int64_t)RECOVER_WINDOW_S * 1000};
    timeutil_format_date(now_ms, r.dates[0]);
    timeutil_format_date(now_ms - 86400000, r.dates[1]);
    if (layout_rejected_dir(root, sizeof root, data_dir, NULL, NULL, err) < 0 ||
        recover_each_table(ctx, root, recover_rejected_fn, &r, err) < 0)
        return -1;
    log_info("recovered bronze_files_read=%zu batch_ids=%zu", take, dedup_count(ctx->dedup));
    return 0;
}

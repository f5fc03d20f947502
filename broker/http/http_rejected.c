/* http_rejected.c - what the pipeline refused, over HTTP:
 *   GET /tables/{domain}/{endpoint}/rejected[?date=YYYY-MM-DD&reason=TEXT&offset=N&limit=N]
 *       -> {"domain","endpoint","offset","limit","has_more","records":[{"date",
 *           "source":"validation"|"expectation","rejected_at","reason","batch_id",
 *           "index","record" (or "record_base64"),"file" (expectations: the bronze file)}]}
 *       Records refused by validation (rejected/<d>/<e>/<date>.ndjson, written
 *       by ingest) and dropped by expectations (<date>-expectations.ndjson,
 *       written by the processor), newest first: dates descending, within a
 *       date the expectation drops (merged after ingest) then the validation
 *       refusals, each file from its last line up. reason filters on a
 *       substring of the reason (case-sensitive). limit default 100, max 1000.
 *   GET /tables/{domain}/silver/{table}/quarantine
 *       -> {"domain","table","files":[{"file","reason","at"}]}  newest first
 * Memory: one file's line offsets at a time (8 bytes a line) and one page of
 * records; each line is read on its own. */
#include "http_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "layout.h"
#include "timeutil.h"

#define HTTP_REJECTED_LIMIT_DEFAULT 100
#define HTTP_REJECTED_LIMIT_MAX 1000
#define HTTP_REJECTED_LINE_MAX (64 * 1024 * 1024)

static int http_rejected_cmp_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Line start offsets of the file (plus the end offset last); -1 on error. */
static int http_rejected_lines(FILE *f, long **out, size_t *count)
{
    size_t cap = 256, n = 0;
    long *offs = malloc(cap * sizeof *offs);
    if (offs == NULL)
        return -1;
    offs[n++] = 0;
    long pos = 0;
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < got; i++) {
            if (buf[i] != '\n')
                continue;
            if (n == cap) {
                long *grown = realloc(offs, 2 * cap * sizeof *offs);
                if (grown == NULL) {
                    free(offs);
                    return -1;
                }
                offs = grown;
                cap *= 2;
            }
            offs[n++] = pos + (long)i + 1;
        }
        pos += (long)got;
    }
    /* a last line without '\n' is torn (being written, or cut): not shown */
    *out = offs;
    *count = n - 1;
    return 0;
}

struct http_rejected_page {
    const char *reason;
    int64_t skip;  /* matches still to skip (offset) */
    int64_t limit;
    json_t *records;
    bool more;     /* a match beyond the page exists */
};

/* Walk one file from its last line up, adding matches to the page. */
static int http_rejected_file(const char *path, const char *date, const char *source,
                              struct http_rejected_page *page, char err[ERROR_MAX])
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT ? 0 : error_set(err, "%s: %s", path, strerror(errno));
    long *offs = NULL;
    size_t n = 0;
    int rc = 0;
    if (http_rejected_lines(f, &offs, &n) < 0) {
        fclose(f);
        return error_set(err, "out of memory");
    }
    char *line = NULL;
    for (size_t i = n; i-- > 0 && !page->more;) {
        long len = offs[i + 1] - offs[i];
        if (len <= 1 || len > HTTP_REJECTED_LINE_MAX)
            continue;
        char *grown = realloc(line, (size_t)len + 1);
        if (grown == NULL) {
            rc = error_set(err, "out of memory");
            break;
        }
        line = grown;
        if (fseek(f, offs[i], SEEK_SET) != 0 || fread(line, 1, (size_t)len, f) != (size_t)len) {
            rc = error_set(err, "%s: read failed", path);
            break;
        }
        line[len] = '\0';
        if (page->reason != NULL && strstr(line, page->reason) == NULL)
            continue; /* cheap test first; the reason field itself is checked below */
        json_t *o = json_loads(line, 0, NULL);
        const char *why = json_string_value(json_object_get(o, "reason"));
        if (!json_is_object(o) || (page->reason && (why == NULL || !strstr(why, page->reason)))) {
            json_decref(o);
            continue;
        }
        if (page->skip > 0) {
            page->skip--;
            json_decref(o);
            continue;
        }
        if ((int64_t)json_array_size(page->records) >= page->limit) {
            page->more = true;
            json_decref(o);
            break;
        }
        json_object_set_new(o, "date", json_string(date));
        json_object_set_new(o, "source", json_string(source));
        json_array_append_new(page->records, o);
    }
    free(line);
    free(offs);
    fclose(f);
    return rc;
}

/* The dates that have rejected files ("YYYY-MM-DD" prefixes), newest first. */
static int http_rejected_dates(const char *dir, char ***out, size_t *count, char err[ERROR_MAX])
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : error_set(err, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    size_t cap = 0;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (len < 17 || strcmp(name + len - 7, ".ndjson") != 0 || name[4] != '-' ||
            name[7] != '-' || strspn(name, "0123456789-") < 10)
            continue;
        if (len != 17 && strcmp(name + 10, "-expectations.ndjson") != 0)
            continue;
        bool seen = false;
        for (size_t i = 0; i < *count && !seen; i++)
            seen = strncmp((*out)[i], name, 10) == 0;
        if (seen)
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(*out, cap * sizeof *grown);
            if (grown == NULL) {
                rc = error_set(err, "out of memory");
                break;
            }
            *out = grown;
        }
        (*out)[*count] = strndup(name, 10);
        if ((*out)[*count] == NULL) {
            rc = error_set(err, "out of memory");
            break;
        }
        (*count)++;
    }
    closedir(d);
    if (*count > 1)
        qsort(*out, *count, sizeof **out, http_rejected_cmp_desc);
    return rc;
}

static int http_rejected_arg(struct http_request *req, struct http_reply *reply,
                             const char *name, int64_t def, int64_t min, int64_t max,
                             int64_t *out)
{
    const char *text = http_request_arg(req, name);
    *out = def;
    if (text == NULL)
        return 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || v < min || v > max) {
        http_reply_error(reply, 400, "%s must be a number from %lld to %lld, got '%.40s'", name,
                         (long long)min, (long long)max, text);
        return -1;
    }
    *out = v;
    return 0;
}

void http_rejected_list(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX], dir[4096], norm[16];
    const char *d = req->params[0], *e = req->params[1];
    int64_t offset, limit;
    if (http_rejected_arg(req, reply, "offset", 0, 0, INT64_MAX / 2, &offset) < 0 ||
        http_rejected_arg(req, reply, "limit", HTTP_REJECTED_LIMIT_DEFAULT, 1,
                          HTTP_REJECTED_LIMIT_MAX, &limit) < 0)
        return;
    const char *date = http_request_arg(req, "date");
    if (date != NULL && (strlen(date) != 10 || timeutil_normalize_date(date, NULL, norm, err) != 0 ||
                         strcmp(norm, date) != 0)) {
        http_reply_error(reply, 400, "date: expected YYYY-MM-DD, got '%.40s'", date);
        return;
    }
    const char *reason = http_request_arg(req, "reason");
    if (reason != NULL && reason[0] == '\0')
        reason = NULL;
    int n = snprintf(dir, sizeof dir, "%s/rejected/%s/%s", req->cfg->data_dir, d, e);
    if (n < 0 || (size_t)n >= sizeof dir) {
        http_reply_error(reply, 500, "data directory path too long");
        return;
    }
    char **dates = NULL;
    size_t ndates = 0;
    struct http_rejected_page page = {.reason = reason, .skip = offset, .limit = limit,
                                      .records = json_array()};
    int rc = http_rejected_dates(dir, &dates, &ndates, err);
    for (size_t i = 0; rc == 0 && i < ndates && !page.more; i++) {
        if (date != NULL && strcmp(dates[i], date) != 0)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s-expectations.ndjson", dir, dates[i]);
        rc = http_rejected_file(path, dates[i], "expectation", &page, err);
        if (rc == 0 && !page.more) {
            snprintf(path, sizeof path, "%s/%s.ndjson", dir, dates[i]);
            rc = http_rejected_file(path, dates[i], "validation", &page, err);
        }
    }
    for (size_t i = 0; i < ndates; i++)
        free(dates[i]);
    free(dates);
    if (rc != 0) {
        json_decref(page.records);
        http_reply_error(reply, 500, "rejected/%s/%s: %s", d, e, err);
        return;
    }
    http_reply_json(reply, 200,
                    json_pack("{s:s, s:s, s:I, s:I, s:b, s:o}", "domain", d, "endpoint", e,
                              "offset", (json_int_t)offset, "limit", (json_int_t)limit,
                              "has_more", page.more, "records", page.records));
}

void http_rejected_quarantine(struct http_request *req, struct http_reply *reply)
{
    char path[4096];
    const char *d = req->params[0], *t = req->params[1];
    struct stat st;
    if (layout_silver_db(path, sizeof path, req->cfg->data_dir, d) != 0) {
        http_reply_error(reply, 500, "data directory path too long");
        return;
    }
    json_t *files = json_array();
    if (stat(path, &st) != 0) {
        /* nothing merged in the domain yet: nothing quarantined either */
        http_reply_json(reply, 200, json_pack("{s:s, s:s, s:o}", "domain", d, "table", t,
                                              "files", files));
        return;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_prepare_v2(db,
                                "SELECT file, reason, at FROM _quarantine WHERE table_name = ?1 "
                                "ORDER BY at DESC, file DESC",
                                -1, &stmt, NULL);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, t, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            const char *f = (const char *)sqlite3_column_text(stmt, 0);
            const char *why = (const char *)sqlite3_column_text(stmt, 1);
            const char *at = (const char *)sqlite3_column_text(stmt, 2);
            json_array_append_new(files, json_pack("{s:s, s:s, s:s}", "file", f ? f : "",
                                                   "reason", why ? why : "", "at", at ? at : ""));
        }
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
        http_reply_error(reply, 500, "silver/%s.db: reading _quarantine: %s", d,
                         db ? sqlite3_errmsg(db) : "out of memory");
        json_decref(files);
    } else {
        http_reply_json(reply, 200, json_pack("{s:s, s:s, s:o}", "domain", d, "table", t,
                                              "files", files));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

/* http_bronze.c - the bronze part of GET /consumption/tables: one entry per
 * bronze/<domain>/<endpoint>/ directory with its sealed files and records.
 *
 * Records of a file already merged are read from the silver database's
 * _ledger (one indexed lookup per file, no decompression); only files not
 * yet in the ledger (the backlog, normally a few) are read with the bronze
 * reader to count their lines. Corrupt files count in files but not in rows.
 * Entry: {domain, layer:"bronze", table, rows, files, files_pending,
 * snapshot_id:null, last_commit:null} - the same keys as silver/gold. */
#include "http_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>

#include "bronze.h"
#include "layout.h"

#define HTTP_BRONZE_SUFFIX ".ndjson.lz4"

struct http_bronze_count {
    int64_t rows;
    int64_t files;
    int64_t pending;
};

static bool http_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Records of one file: from the ledger when merged, else by reading it. */
static void http_bronze_file(sqlite3_stmt *ledger, const char *data_dir, const char *rel,
                             struct http_bronze_count *c)
{
    c->files++;
    if (ledger != NULL) {
        sqlite3_bind_text(ledger, 1, rel, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(ledger);
        int64_t records = rc == SQLITE_ROW ? sqlite3_column_int64(ledger, 0) : -1;
        sqlite3_reset(ledger);
        if (records >= 0) {
            c->rows += records;
            return;
        }
    }
    c->pending++;
    char path[PATH_MAX], err[ERROR_MAX];
    if (snprintf(path, sizeof path, "%s/%s", data_dir, rel) >= (int)sizeof path)
        return;
    struct bronze_reader *r = bronze_reader_open(path, err);
    if (r == NULL)
        return;
    const char *line;
    size_t len;
    int64_t n = 0;
    int rc;
    while ((rc = bronze_reader_next(r, &line, &len, err)) == 1)
        n++;
    if (rc == 0)
        c->rows += n; /* a corrupt file's lines are void */
    bronze_reader_close(&r);
}

static void http_bronze_table(sqlite3_stmt *ledger, const char *data_dir, const char *domain,
                              const char *table, struct http_bronze_count *c)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/bronze/%s/%s", data_dir, domain, table);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "dt=", 3) != 0 || strlen(e->d_name) != 13)
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        DIR *s = opendir(sub);
        if (s == NULL)
            continue;
        struct dirent *f;
        while ((f = readdir(s)) != NULL) {
            if (!http_has_suffix(f->d_name, HTTP_BRONZE_SUFFIX))
                continue;
            char rel[PATH_MAX];
            if (snprintf(rel, sizeof rel, "bronze/%s/%s/%s/%s", domain, table, e->d_name,
                         f->d_name) < (int)sizeof rel)
                http_bronze_file(ledger, data_dir, rel, c);
        }
        closedir(s);
    }
    closedir(d);
}

/* The ledger lookup of a domain's silver database, or NULL when there is
 * none yet (then every file counts as pending). */
static sqlite3_stmt *http_ledger_open(const char *data_dir, const char *domain, sqlite3 **db)
{
    char path[PATH_MAX];
    *db = NULL;
    if (layout_silver_db(path, sizeof path, data_dir, domain) < 0)
        return NULL;
    sqlite3_stmt *stmt = NULL;
    /* A plain path, not a URI: a data dir with '?' or '%' in it must work. */
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(*db, 1000) != SQLITE_OK ||
        sqlite3_prepare_v2(*db, "SELECT records FROM _ledger WHERE file = ?1", -1, &stmt,
                           NULL) != SQLITE_OK) {
        sqlite3_close(*db);
        *db = NULL;
        return NULL;
    }
    return stmt;
}

int http_bronze_tables(const char *data_dir, json_t *out)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/bronze", data_dir);
    DIR *top = opendir(dir);
    if (top == NULL)
        return 0; /* no bronze yet */
    struct dirent *de;
    while ((de = readdir(top)) != NULL) {
        if (!names_is_valid_object(de->d_name))
            continue;
        sqlite3 *db = NULL;
        sqlite3_stmt *ledger = http_ledger_open(data_dir, de->d_name, &db);
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        DIR *dd = opendir(sub);
        struct dirent *te;
        while (dd != NULL && (te = readdir(dd)) != NULL) {
            if (!names_is_valid_object(te->d_name))
                continue;
            struct http_bronze_count c = {0};
            http_bronze_table(ledger, data_dir, de->d_name, te->d_name, &c);
            json_array_append_new(
                out, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:n, s:n}", "domain", de->d_name,
                               "layer", "bronze", "table", te->d_name, "rows", (json_int_t)c.rows,
                               "files", (json_int_t)c.files, "files_pending",
                               (json_int_t)c.pending, "snapshot_id", "last_commit"));
        }
        if (dd != NULL)
            closedir(dd);
        sqlite3_finalize(ledger);
        sqlite3_close(db);
    }
    closedir(top);
    return 0;
}

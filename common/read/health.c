/* health.c - processes, tables, backlog and freshness from the data
 * directory (see health.h). */
#include "read/health.h"
#include "read/health_iceberg.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bronze.h"
#include "layout.h"
#include "names.h"
#include "stats.h"
#include "timeutil.h"

#define HEALTH_BUSY_MS 2000

const char *const health_processes[4] = {"broker", "ingest", "processor", "transformer"};

static json_t *health_time(int64_t unix_ms)
{
    char text[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(unix_ms, text);
    return json_string(text);
}

static bool health_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---------------------------------------------------------------- processes */

/* "up", "stopped", or "down" (no, bad or stale pid file). */
static const char *health_state(const char *pid_path, const char *proc, long *pid,
                                int64_t *since_ms)
{
    *pid = 0;
    *since_ms = 0;
    FILE *f = fopen(pid_path, "r");
    if (f == NULL)
        return "down";
    struct stat st;
    if (fstat(fileno(f), &st) == 0)
        *since_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    int n = fscanf(f, "%ld", pid);
    fclose(f);
    if (n != 1 || *pid <= 0 || (kill((pid_t)*pid, 0) != 0 && errno == ESRCH)) {
        *pid = 0;
        return "down";
    }
    char path[64];
    char stat_text[512] = "";
    snprintf(path, sizeof path, "/proc/%ld/stat", *pid);
    f = fopen(path, "r");
    if (f != NULL) {
        size_t len = fread(stat_text, 1, sizeof stat_text - 1, f);
        stat_text[len] = '\0';
        fclose(f);
    }
    /* "pid (comm) S ...": comm holds at most 15 characters of the name. */
    char expected[64];
    snprintf(expected, sizeof expected, "(lakehouse-%s", proc);
    const char *open = strchr(stat_text, '(');
    const char *close = strrchr(stat_text, ')');
    if (open == NULL || close == NULL || strncmp(open, expected, 16) != 0) {
        *pid = 0;
        return "down"; /* the pid now belongs to another program */
    }
    if (close[1] == ' ' && (close[2] == 'T' || close[2] == 't'))
        return "stopped";
    return "up";
}

static json_t *health_process(const char *data_dir, const char *proc)
{
    char pid_path[PATH_MAX];
    if (layout_pid_file(pid_path, sizeof pid_path, data_dir, proc, NULL) < 0)
        pid_path[0] = '\0'; /* reads as not running */
    long pid;
    int64_t since_ms;
    const char *state = health_state(pid_path, proc, &pid, &since_ms);
    json_t *p = json_pack("{s:s, s:s}", "process", proc, "state", state);
    if (p == NULL)
        return NULL;
    bool running = pid > 0;
    json_object_set_new(p, "pid", running ? json_integer(pid) : json_null());
    json_object_set_new(p, "since", running && since_ms > 0 ? health_time(since_ms) : json_null());
    json_t *stats = NULL;
    char err[ERROR_MAX];
    if (stats_read(data_dir, proc, &stats, err) < 0)
        stats = NULL;
    json_t *rss = stats ? json_object_get(stats, "rss_bytes") : NULL;
    json_object_set_new(p, "rss_bytes", running && json_is_integer(rss) ? json_incref(rss)
                                                                        : json_null());
    json_object_set_new(p, "stats", stats ? stats : json_null());
    return p;
}

/* ---------------------------------------------------------------- tables */

static sqlite3 *health_open_db(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return NULL;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, HEALTH_BUSY_MS);
    return db;
}

static int64_t health_file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

static json_t *health_find(json_t *tables, const char *domain, const char *layer,
                           const char *table)
{
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t) {
        if (strcmp(json_string_value(json_object_get(t, "domain")), domain) == 0 &&
            strcmp(json_string_value(json_object_get(t, "layer")), layer) == 0 &&
            strcmp(json_string_value(json_object_get(t, "table")), table) == 0)
            return t;
    }
    return NULL;
}

static json_t *health_table_entry(json_t *tables, const char *domain, const char *layer,
                                  const char *table)
{
    json_t *t = health_find(tables, domain, layer, table);
    if (t != NULL)
        return t;
    t = json_pack("{s:s, s:s, s:s, s:n, s:i, s:n, s:n, s:n, s:n, s:i, s:n, s:i, s:i, s:s}",
                  "domain", domain, "layer", layer, "table", table, "rows", "snapshots", 0,
                  "last_commit", "last_commit_unix", "newest_insert_unix", "freshness_seconds",
                  "backlog", 0, "backlog_oldest_age_seconds", "spool_bytes", 0, "bronze_bytes", 0,
                  "state", "ok");
    if (t != NULL)
        json_array_append_new(tables, t);
    return t;
}

/* Tables, rows, snapshots, last commit and (silver) newest ingest time of
 * one database. */
static void health_database(sqlite3 *db, const char *domain, const char *layer, json_t *tables,
                            int64_t now_ms)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' "
                           "AND substr(name, 1, 1) <> '_' AND name NOT LIKE 'sqlite%' "
                           "ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name == NULL || !names_is_valid_object(name))
            continue;
        json_t *t = health_table_entry(tables, domain, layer, name);
        if (t == NULL)
            continue;
        /* the count kept with the newest snapshot (layout.h version 2), else
         * count; name passed names.h: safe to quote as an identifier */
        sqlite3_stmt *c = NULL;
        if (sqlite3_prepare_v2(db,
                               "SELECT row_count FROM _snapshots WHERE table_name = ?1 "
                               "ORDER BY snapshot_id DESC LIMIT 1",
                               -1, &c, NULL) == SQLITE_OK) {
            sqlite3_bind_text(c, 1, name, -1, SQLITE_STATIC);
            if (sqlite3_step(c) == SQLITE_ROW && sqlite3_column_type(c, 0) != SQLITE_NULL)
                json_object_set_new(t, "rows", json_integer(sqlite3_column_int64(c, 0)));
        }
        sqlite3_finalize(c);
        c = NULL;
        if (json_is_integer(json_object_get(t, "rows")))
            continue;
        char sql[NAMES_MAX + 64];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", name);
        if (sqlite3_prepare_v2(db, sql, -1, &c, NULL) == SQLITE_OK &&
            sqlite3_step(c) == SQLITE_ROW)
            json_object_set_new(t, "rows", json_integer(sqlite3_column_int64(c, 0)));
        sqlite3_finalize(c);
    }
    sqlite3_finalize(st);

    if (sqlite3_prepare_v2(db,
                           "SELECT table_name, count(*), max(committed_at) FROM _snapshots "
                           "GROUP BY table_name",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            const char *at = (const char *)sqlite3_column_text(st, 2);
            json_t *t = name ? health_find(tables, domain, layer, name) : NULL;
            if (t == NULL)
                continue; /* snapshots of a dropped table */
            json_object_set_new(t, "snapshots", json_integer(sqlite3_column_int64(st, 1)));
            int64_t ms;
            if (at != NULL && timeutil_parse_utc_ms(at, &ms) == 0) {
                json_object_set_new(t, "last_commit", json_string(at));
                json_object_set_new(t, "last_commit_unix", json_real((double)ms / 1000.0));
            }
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (strcmp(layer, "silver") != 0)
        return;
    if (sqlite3_prepare_v2(db, "SELECT table_name, max(file) FROM _ledger GROUP BY table_name",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            const char *file = (const char *)sqlite3_column_text(st, 1);
            json_t *t = name ? health_find(tables, domain, layer, name) : NULL;
            const char *base = file ? strrchr(file, '/') : NULL;
            uint64_t first, last;
            if (t == NULL || base == NULL || bronze_parse_name(base + 1, &first, &last) != 0)
                continue;
            double newest = (double)last / 1e6;
            json_object_set_new(t, "newest_insert_unix", json_real(newest));
            double age = (double)now_ms / 1000.0 - newest;
            json_object_set_new(t, "freshness_seconds", json_real(age > 0 ? age : 0));
        }
    }
    sqlite3_finalize(st);
}

/* Each <data>/<layer>/<domain>.db: its tables, and its bytes on disk. */
static void health_layer(const char *data_dir, const char *layer, json_t *tables,
                         json_t *databases, int64_t now_ms)
{
    char dir[PATH_MAX];
    struct dirent **list = NULL;
    int n = layout_dir(dir, sizeof dir, data_dir, layer) == 0
                ? scandir(dir, &list, NULL, alphasort) : -1;
    for (int i = 0; i < n; i++) {
        const char *fname = list[i]->d_name;
        size_t len = strlen(fname);
        char domain[NAMES_MAX];
        if (len > 3 && len - 3 < sizeof domain && strcmp(fname + len - 3, ".db") == 0) {
            snprintf(domain, sizeof domain, "%.*s", (int)(len - 3), fname);
            if (names_is_valid_object(domain)) {
                char path[PATH_MAX], wal[PATH_MAX + 8];
                snprintf(path, sizeof path, "%s/%s", dir, fname);
                snprintf(wal, sizeof wal, "%s-wal", path);
                json_array_append_new(databases,
                                      json_pack("{s:s, s:s, s:I}", "domain", domain, "layer",
                                                layer, "bytes",
                                                (json_int_t)(health_file_bytes(path) +
                                                             health_file_bytes(wal))));
                sqlite3 *db = health_open_db(path);
                if (db != NULL)
                    health_database(db, domain, layer, tables, now_ms);
                sqlite3_close(db);
            }
        }
        free(list[i]);
    }
    free(list);
}

/* Bronze of <domain>/<table>/: bytes of every sealed file, and the backlog
 * (files not in _ledger/_quarantine: how many, oldest mtime). */
static void health_backlog(const char *data_dir, sqlite3_stmt *known, const char *domain,
                           const char *table, int64_t *count, int64_t *oldest_mtime_ms,
                           int64_t *bytes)
{
    char dir[PATH_MAX];
    struct dirent **dates = NULL;
    int nd = layout_bronze_dir(dir, sizeof dir, data_dir, domain, table, NULL, NULL) == 0
                 ? scandir(dir, &dates, NULL, alphasort) : -1;
    for (int a = 0; a < nd; a++) {
        const char *date = dates[a]->d_name;
        char sub[PATH_MAX];
        if (strncmp(date, "dt=", 3) == 0 &&
            snprintf(sub, sizeof sub, "%s/%s", dir, date) < (int)sizeof sub) {
            DIR *d = opendir(sub);
            struct dirent *e;
            while (d != NULL && (e = readdir(d)) != NULL) {
                uint64_t first, last;
                if (bronze_parse_name(e->d_name, &first, &last) != 0)
                    continue;
                char path[PATH_MAX + 300];
                snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
                struct stat st;
                bool stated = stat(path, &st) == 0;
                if (stated)
                    *bytes += st.st_size;
                char rel[PATH_MAX];
                if (layout_bronze_rel(rel, sizeof rel, domain, table, date, e->d_name, NULL) < 0)
                    continue;
                bool done = false;
                if (known != NULL) {
                    sqlite3_reset(known);
                    sqlite3_bind_text(known, 1, rel, -1, SQLITE_TRANSIENT);
                    done = sqlite3_step(known) == SQLITE_ROW;
                }
                if (done)
                    continue;
                (*count)++;
                if (stated) {
                    int64_t ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
                    if (*oldest_mtime_ms == 0 || ms < *oldest_mtime_ms)
                        *oldest_mtime_ms = ms;
                }
            }
            if (d != NULL)
                closedir(d);
        }
        free(dates[a]);
    }
    free(dates);
}

/* Sum of the file sizes in spool/<domain>/<table>/. */
static int64_t health_spool_bytes(const char *data_dir, const char *domain, const char *table)
{
    char dir[PATH_MAX];
    DIR *d = layout_spool_dir(dir, sizeof dir, data_dir, domain, table, NULL) == 0 ? opendir(dir)
                                                                                  : NULL;
    if (d == NULL)
        return 0;
    int64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            total += st.st_size;
    }
    closedir(d);
    return total;
}

/* Walk bronze/<domain>/<table>/ and spool/<domain>/<table>/: backlog, spool
 * bytes and the lagging state of each silver table. Returns whether any
 * table lags. */
static bool health_bronze(const char *data_dir, json_t *tables, int64_t now_ms, int64_t lag_ms)
{
    bool lagging = false;
    static const char *const roots[] = {"bronze", "spool"};
    for (size_t r = 0; r < 2; r++) {
        char root[PATH_MAX];
        struct dirent **domains = NULL;
        int nd = layout_dir(root, sizeof root, data_dir, roots[r]) == 0
                     ? scandir(root, &domains, NULL, alphasort) : -1;
        for (int a = 0; a < nd; a++) {
            const char *domain = domains[a]->d_name;
            char ddir[PATH_MAX];
            snprintf(ddir, sizeof ddir, "%s/%s", root, domain);
            if (!names_is_valid_object(domain) || !health_is_dir(ddir)) {
                free(domains[a]);
                continue;
            }
            sqlite3 *db = NULL;
            sqlite3_stmt *known = NULL;
            if (r == 0) {
                char path[PATH_MAX];
                if (layout_silver_db(path, sizeof path, data_dir, domain) == 0)
                    db = health_open_db(path);
                if (db != NULL &&
                    sqlite3_prepare_v2(db,
                                       "SELECT 1 FROM _ledger WHERE file = ?1 UNION ALL "
                                       "SELECT 1 FROM _quarantine WHERE file = ?1 LIMIT 1",
                                       -1, &known, NULL) != SQLITE_OK)
                    known = NULL; /* no ledger yet: every file is backlog */
            }
            struct dirent **names = NULL;
            int ne = scandir(ddir, &names, NULL, alphasort);
            for (int b = 0; b < ne; b++) {
                const char *table = names[b]->d_name;
                char edir[PATH_MAX];
                snprintf(edir, sizeof edir, "%s/%s", ddir, table);
                json_t *t = names_is_valid_object(table) && health_is_dir(edir)
                                ? health_table_entry(tables, domain, "silver", table)
                                : NULL;
                if (t != NULL && r == 0) {
                    int64_t count = 0, oldest = 0, bytes = 0;
                    health_backlog(data_dir, known, domain, table, &count, &oldest, &bytes);
                    json_object_set_new(t, "backlog", json_integer(count));
                    json_object_set_new(t, "bronze_bytes", json_integer(bytes));
                    if (count > 0 && oldest > 0) {
                        double age = (double)(now_ms - oldest) / 1000.0;
                        json_object_set_new(t, "backlog_oldest_age_seconds",
                                            json_real(age > 0 ? age : 0));
                        if (now_ms - oldest > lag_ms) {
                            json_object_set_new(t, "state", json_string("lagging"));
                            lagging = true;
                        }
                    }
                } else if (t != NULL) {
                    json_object_set_new(
                        t, "spool_bytes",
                        json_integer(health_spool_bytes(data_dir, domain, table)));
                }
                free(names[b]);
            }
            free(names);
            sqlite3_finalize(known);
            sqlite3_close(db);
            free(domains[a]);
        }
        free(domains);
    }
    return lagging;
}

static int health_cmp(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a;
    const json_t *y = *(const json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "domain")),
                   json_string_value(json_object_get(y, "domain")));
    if (c == 0) /* silver before gold */
        c = -strcmp(json_string_value(json_object_get(x, "layer")),
                    json_string_value(json_object_get(y, "layer")));
    if (c == 0)
        c = strcmp(json_string_value(json_object_get(x, "table")),
                   json_string_value(json_object_get(y, "table")));
    return c;
}

static json_t *health_sorted(json_t *tables)
{
    size_t n = json_array_size(tables);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    json_t *out = json_array();
    if (items == NULL || out == NULL) {
        free(items);
        json_decref(out);
        return json_incref(tables);
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(tables, i);
    qsort(items, n, sizeof *items, health_cmp);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, items[i]);
    free(items);
    return out;
}

int health_collect(const char *data_dir, int64_t lag_ms, json_t **out, char err[ERROR_MAX])
{
    int64_t now_ms = timeutil_now_ms();
    json_t *processes = json_array();
    json_t *tables = json_array();
    json_t *databases = json_array();
    if (processes == NULL || tables == NULL || databases == NULL)
        goto oom;
    for (size_t i = 0; i < 4; i++) {
        json_t *p = health_process(data_dir, health_processes[i]);
        if (p == NULL)
            goto oom;
        json_array_append_new(processes, p);
    }
    health_layer(data_dir, "silver", tables, databases, now_ms);
    health_layer(data_dir, "gold", tables, databases, now_ms);
    bool lagging = health_bronze(data_dir, tables, now_ms, lag_ms);
    json_object_set_new(json_array_get(processes, 2), "lagging", json_boolean(lagging));
    json_t *sorted = health_sorted(tables);
    json_decref(tables);
    json_t *iceberg = json_array();
    health_iceberg_collect(data_dir, now_ms, lag_ms, iceberg);
    *out = json_pack("{s:s, s:o, s:I, s:o, s:o, s:o, s:o}", "data_dir", data_dir, "collected_at",
                     health_time(now_ms), "lag_ms", (json_int_t)lag_ms, "processes", processes,
                     "tables", sorted, "databases", databases, "iceberg", iceberg);
    if (*out == NULL)
        return error_set(err, "health: out of memory");
    return 0;
oom:
    json_decref(processes);
    json_decref(tables);
    json_decref(databases);
    return error_set(err, "health: out of memory");
}

/* The processes for output: without the raw stats, with their last errors. */
static json_t *health_status_processes(json_t *health, json_t *errors)
{
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(health, "processes"), i, p) {
        json_t *copy = json_deep_copy(p);
        json_t *stats = json_object_get(copy, "stats");
        json_t *list = json_object_get(stats, "errors");
        json_object_set(copy, "last_errors", json_is_array(list) ? list : json_array());
        size_t k;
        json_t *e;
        json_array_foreach(list, k, e) {
            json_t *row = json_deep_copy(e);
            json_object_set(row, "process", json_object_get(copy, "process"));
            json_array_append_new(errors, row);
        }
        json_object_del(copy, "stats");
        json_array_append_new(out, copy);
    }
    return out;
}

static int health_status_cmp_at(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "at"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "at"));
    return strcmp(x ? x : "", y ? y : "");
}

int health_status(const char *data_dir, int64_t lag_ms, json_t **out, char err[ERROR_MAX])
{
    json_t *health = NULL;
    *out = NULL;
    if (health_collect(data_dir, lag_ms, &health, err) != 0)
        return -1;
    json_t *errors = json_array();
    json_t *processes = health_status_processes(health, errors);
    /* oldest first, across processes */
    size_t ne = json_array_size(errors);
    json_t **items = calloc(ne ? ne : 1, sizeof *items);
    json_t *sorted = json_array();
    for (size_t i = 0; items != NULL && i < ne; i++)
        items[i] = json_array_get(errors, i);
    if (items != NULL)
        qsort(items, ne, sizeof *items, health_status_cmp_at);
    for (size_t i = 0; items != NULL && i < ne; i++)
        json_array_append(sorted, items[i]);
    free(items);
    json_decref(errors);
    *out = json_pack("{s:O, s:O, s:O, s:o, s:O, s:O, s:o}", "data_dir",
                     json_object_get(health, "data_dir"), "collected_at",
                     json_object_get(health, "collected_at"), "lag_ms",
                     json_object_get(health, "lag_ms"), "processes", processes, "tables",
                     json_object_get(health, "tables"), "iceberg",
                     json_object_get(health, "iceberg"), "last_errors", sorted);
    json_decref(health);
    if (*out == NULL)
        return error_set(err, "out of memory");
    return 0;
}

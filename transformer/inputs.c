/* inputs.c - what a job reads, as durable state: the current snapshot id of
 * each input table (max(snapshot_id) in the _snapshots log of the silver or
 * gold database holding it). Reconcile compares these with the inputs_json of
 * the job's last success; run.c records them for each execution.
 *
 * Databases are opened read-only (URI mode=ro): the processor is the only
 * writer of silver, and reading never blocks it (WAL). */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "layout.h"
#include "names.h"
#include "transformer.h"

#define INPUTS_BUSY_TIMEOUT_MS 5000

int inputs_db_path(char *out, size_t out_size, const char *data_dir, enum sqlref_layer layer,
                   const char *domain)
{
    if (layer == SQLREF_SILVER)
        return layout_silver_db(out, out_size, data_dir, domain);
    if (layer == SQLREF_GOLD)
        return layout_gold_db(out, out_size, data_dir, domain);
    return -1; /* bronze is files, not a database */
}

json_t *inputs_gold_domains(const char *data_dir)
{
    json_t *out = json_array();
    char dir[PATH_MAX];
    if (layout_dir(dir, sizeof dir, data_dir, "gold") < 0)
        return out;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char name[NAMES_MAX];
        if (len <= 3 || len - 3 >= sizeof name || strcmp(e->d_name + len - 3, ".db") != 0)
            continue;
        memcpy(name, e->d_name, len - 3);
        name[len - 3] = '\0';
        if (names_is_valid_object(name))
            json_array_append_new(out, json_string(name));
    }
    if (d != NULL)
        closedir(d);
    return out;
}

int inputs_uri(char *out, size_t out_size, const char *path)
{
    /* file: URI: every byte outside a safe set is percent-encoded, so that a
     * data directory containing '?', '#' or '%' cannot change the query. */
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    const char *prefix = "file:";
    const char *suffix = "?mode=ro";
    if (strlen(prefix) >= out_size)
        return -1;
    memcpy(out, prefix, strlen(prefix));
    n = strlen(prefix);
    for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
        bool safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '/' || *p == '.' || *p == '_' ||
                    *p == '-';
        if (n + 4 >= out_size)
            return -1;
        if (safe) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    if (n + strlen(suffix) + 1 > out_size)
        return -1;
    memcpy(out + n, suffix, strlen(suffix) + 1);
    return 0;
}

int inputs_table_snapshot(sqlite3 *db, const char *schema, const char *table, int64_t *id,
                          char err[ERROR_MAX])
{
    char sql[256];
    sqlite3_stmt *stmt = NULL;
    int found = 0;
    bool has_log = false;
    *id = 0;
    /* schema and table passed names.h (or are "main"): safe inside quotes */
    snprintf(sql, sizeof sql,
             "SELECT name FROM \"%s\".sqlite_master WHERE type IN ('table', 'view')"
             " AND name IN (?1, '_snapshots')",
             schema);
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        goto db_fail;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(stmt, 0);
        if (name != NULL && strcmp(name, table) == 0)
            found = 1;
        else
            has_log = true;
    }
    if (rc != SQLITE_DONE)
        goto db_fail;
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (!found || !has_log)
        return found;
    snprintf(sql, sizeof sql,
             "SELECT coalesce(max(snapshot_id), 0) FROM \"%s\"._snapshots WHERE table_name = ?1",
             schema);
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        goto db_fail;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_ROW)
        goto db_fail;
    *id = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return 1;
db_fail:
    error_set(err, "read snapshots of %s.%s: %s", schema, table, sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    return -1;
}

/* Open one input database read-only: 1 opened, 0 does not exist, -1 error. */
static int inputs_open(const char *data_dir, const struct sqlref *ref, sqlite3 **out,
                       char err[ERROR_MAX])
{
    char path[PATH_MAX], uri[3 * PATH_MAX + 16];
    *out = NULL;
    if (inputs_db_path(path, sizeof path, data_dir, ref->layer, ref->domain) < 0 ||
        inputs_uri(uri, sizeof uri, path) < 0)
        return error_set(err, "path of %s.%s too long", ref->domain, sqlref_layer_name(ref->layer));
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        error_set(err, "open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, INPUTS_BUSY_TIMEOUT_MS);
    *out = db;
    return 1;
}

int inputs_current(const char *data_dir, const struct tjob *job, json_t **current,
                   char missing[ERROR_MAX], char err[ERROR_MAX])
{
    *current = NULL;
    json_t *obj = json_object();
    if (obj == NULL)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < job->input_count; i++) {
        const struct sqlref *ref = &job->inputs[i];
        char key[3 * NAMES_MAX + 8];
        jobs_input_key(ref, key);
        sqlite3 *db = NULL;
        int rc = inputs_open(data_dir, ref, &db, err);
        int64_t id = 0;
        if (rc == 1) {
            rc = inputs_table_snapshot(db, "main", ref->table, &id, err);
            sqlite3_close(db);
        }
        if (rc < 0) {
            json_decref(obj);
            return error_prefix(err, "input %s", key);
        }
        if (rc == 0) {
            error_set(missing, "input table %s does not exist yet", key);
            json_decref(obj);
            return 0;
        }
        if (json_object_set_new(obj, key, json_integer(id)) < 0) {
            json_decref(obj);
            return error_set(err, "out of memory");
        }
    }
    *current = obj;
    return 1;
}

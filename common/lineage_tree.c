/* lineage_tree.c - what a gold snapshot stands on, read from the databases
 * (read-only), for `lakehouse lineage` and GET /tables/{d}/gold/{t}/lineage.
 *
 * A gold snapshot's _lineage rows (layout.h, written by the transformer in
 * the run's transaction) name the snapshot of every table the run read.
 * A silver input at snapshot S stands on the bronze files its _ledger
 * records with snapshot ids <= S; a gold input is followed recursively.
 * Gold snapshots older than _lineage fall back to the transformer's
 * _executions record (the latest runs only). */
#include "lineage_tree.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "layout.h"
#include "names.h"
#include "sqlref.h"

#define LINEAGE_TREE_DEPTH_MAX 16

struct lineage_tree_opts {
    const char *data_dir;
    int64_t files_max; /* 0 = all */
    bool missing;      /* the asked table or snapshot is not there */
};

/* Open the silver or gold database of domain read-only; NULL with err. */
static sqlite3 *lineage_tree_open(const char *data_dir, enum sqlref_layer layer, const char *domain,
                             char err[ERROR_MAX])
{
    char path[4096];
    int rc = layer == SQLREF_GOLD ? layout_gold_db(path, sizeof path, data_dir, domain)
                                  : layout_silver_db(path, sizeof path, data_dir, domain);
    struct stat st;
    if (rc != 0) {
        error_set(err, "data directory path too long: %s", data_dir);
        return NULL;
    }
    if (stat(path, &st) != 0) {
        error_set(err, "no %s database for domain %s (%s)", sqlref_layer_name(layer), domain,
                  path);
        return NULL;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        error_set(err, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* The _snapshots row (snapshot 0 = the table's latest) as an object with
 * "table" set to name; NULL with err when there is none. */
static json_t *lineage_tree_snapshot(sqlite3 *db, const char *name, const char *table,
                                int64_t snapshot, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    json_t *o = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT snapshot_id, committed_at, operation, source, rows_inserted, "
                           "rows_updated, rows_deleted FROM _snapshots WHERE table_name = ?1 AND "
                           "(?2 = 0 OR snapshot_id = ?2) ORDER BY snapshot_id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        error_set(err, "%s: reading _snapshots: %s", name, sqlite3_errmsg(db));
        return NULL;
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, snapshot);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *at = (const char *)sqlite3_column_text(st, 1);
        const char *op = (const char *)sqlite3_column_text(st, 2);
        const char *src = (const char *)sqlite3_column_text(st, 3);
        o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:I}", "table", name, "snapshot_id",
                      (json_int_t)sqlite3_column_int64(st, 0), "committed_at", at ? at : "",
                      "operation", op ? op : "", "source", src ? src : "", "rows_inserted",
                      (json_int_t)sqlite3_column_int64(st, 4), "rows_updated",
                      (json_int_t)sqlite3_column_int64(st, 5), "rows_deleted",
                      (json_int_t)sqlite3_column_int64(st, 6));
        if (o == NULL)
            error_set(err, "out of memory");
    } else if (rc == SQLITE_DONE) {
        if (snapshot > 0)
            error_set(err, "%s has no snapshot %" PRId64, name, snapshot);
        else
            error_set(err, "%s has no snapshots (no such table, or never written)", name);
    } else {
        error_set(err, "%s: reading _snapshots: %s", name, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return o;
}

/* Does db have a table called name? */
static bool lineage_tree_has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

/* The inputs of gold snapshot as [{"table", "snapshot_id", "changes_from",
 * "change_rows"}]: _lineage, else _executions' inputs_json. */
static json_t *lineage_tree_gold_inputs(sqlite3 *db, int64_t snapshot, char err[ERROR_MAX])
{
    json_t *list = json_array();
    sqlite3_stmt *st = NULL;
    if (list == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    if (lineage_tree_has_table(db, "_lineage")) {
        if (sqlite3_prepare_v2(db,
                               "SELECT input_table, input_snapshot_id, changes_from, change_rows "
                               "FROM _lineage WHERE snapshot_id = ?1 ORDER BY input_table",
                               -1, &st, NULL) != SQLITE_OK)
            goto db_fail;
        sqlite3_bind_int64(st, 1, snapshot);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            json_t *o = json_pack("{s:s, s:I}", "table", t ? t : "", "snapshot_id",
                                  (json_int_t)sqlite3_column_int64(st, 1));
            if (o != NULL && sqlite3_column_type(st, 2) != SQLITE_NULL) {
                json_object_set_new(o, "changes_from", json_integer(sqlite3_column_int64(st, 2)));
                json_object_set_new(o, "change_rows", json_integer(sqlite3_column_int64(st, 3)));
            }
            if (o == NULL || json_array_append_new(list, o) != 0) {
                error_set(err, "out of memory");
                goto fail;
            }
        }
        if (rc != SQLITE_DONE)
            goto db_fail;
        sqlite3_finalize(st);
        st = NULL;
        if (json_array_size(list) > 0)
            return list;
    }
    if (lineage_tree_has_table(db, "_executions")) {
        if (sqlite3_prepare_v2(db, "SELECT inputs_json FROM _executions WHERE snapshot_id = ?1",
                               -1, &st, NULL) != SQLITE_OK)
            goto db_fail;
        sqlite3_bind_int64(st, 1, snapshot);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *text = (const char *)sqlite3_column_text(st, 0);
            json_t *inputs = text ? json_loads(text, 0, NULL) : NULL;
            const char *key;
            json_t *v;
            json_object_foreach(inputs, key, v) {
                json_array_append_new(list, json_pack("{s:s, s:I}", "table", key, "snapshot_id",
                                                      json_integer_value(v)));
            }
            json_decref(inputs);
        }
    }
    sqlite3_finalize(st);
    return list;
db_fail:
    error_set(err, "reading lineage: %s", sqlite3_errmsg(db));
fail:
    sqlite3_finalize(st);
    json_decref(list);
    return NULL;
}

/* Bronze files of a silver table up to snapshot (and how many of them came
 * after changes_from - 1, when the run read changes): into node. */
static int lineage_tree_bronze(sqlite3 *db, const char *table, int64_t snapshot, json_t *node,
                          const struct lineage_tree_opts *o, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    json_t *files = json_array();
    int64_t count = 0, records = 0, changed = 0;
    int64_t from = json_integer_value(json_object_get(node, "changes_from"));
    if (files == NULL)
        return error_set(err, "out of memory");
    if (sqlite3_prepare_v2(db,
                           "SELECT file, snapshot_id, records FROM _ledger WHERE table_name = ?1 "
                           "AND snapshot_id <= ?2 ORDER BY file",
                           -1, &st, NULL) != SQLITE_OK)
        goto db_fail;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, snapshot);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t sid = sqlite3_column_int64(st, 1);
        count++;
        records += sqlite3_column_int64(st, 2);
        if (json_object_get(node, "changes_from") != NULL && sid >= from)
            changed++;
        if (o->files_max > 0 && (int64_t)json_array_size(files) >= o->files_max)
            continue;
        const char *f = (const char *)sqlite3_column_text(st, 0);
        json_t *e = json_pack("{s:s, s:I, s:I}", "file", f ? f : "", "snapshot_id",
                              (json_int_t)sid, "records",
                              (json_int_t)sqlite3_column_int64(st, 2));
        if (e == NULL || json_array_append_new(files, e) != 0) {
            sqlite3_finalize(st);
            json_decref(files);
            return error_set(err, "out of memory");
        }
    }
    if (rc != SQLITE_DONE)
        goto db_fail;
    sqlite3_finalize(st);
    json_object_set_new(node, "bronze_file_count", json_integer(count));
    json_object_set_new(node, "bronze_records", json_integer(records));
    if (json_object_get(node, "changes_from") != NULL)
        json_object_set_new(node, "changed_bronze_files", json_integer(changed));
    json_object_set_new(node, "bronze_files", files);
    return 0;
db_fail:
    error_set(err, "%s: reading _ledger: %s", table, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    json_decref(files);
    return -1;
}

/* The lineage tree of a gold table's snapshot (0 = latest). */
static json_t *lineage_tree_node(const char *domain, const char *table, int64_t snapshot, int depth,
                            struct lineage_tree_opts *o, char err[ERROR_MAX]);

/* Fill one input node (table "d.layer.t" at snapshot_id). */
static int lineage_tree_input(json_t *node, int depth, struct lineage_tree_opts *o,
                         char err[ERROR_MAX])
{
    const char *key = json_string_value(json_object_get(node, "table"));
    int64_t snapshot = json_integer_value(json_object_get(node, "snapshot_id"));
    struct sqlref *refs = NULL;
    size_t n = 0;
    char *ignored = NULL;
    /* the key is "domain.layer.table": parse it as a reference (checked names) */
    if (key == NULL || sqlref_rewrite(key, &ignored, &refs, &n, err) != 0 || n != 1) {
        free(ignored);
        free(refs);
        return error_set(err, "lineage names an unknown input '%s'", key ? key : "?");
    }
    free(ignored);
    struct sqlref ref = refs[0];
    free(refs);
    if (ref.layer == SQLREF_GOLD) {
        json_t *sub = lineage_tree_node(ref.domain, ref.table, snapshot, depth + 1, o, err);
        if (sub == NULL)
            return -1;
        json_object_set_new(node, "inputs", json_incref(json_object_get(sub, "inputs")));
        json_object_set(node, "committed_at", json_object_get(sub, "committed_at"));
        json_object_set(node, "operation", json_object_get(sub, "operation"));
        json_object_set(node, "source", json_object_get(sub, "source"));
        json_decref(sub);
        return 0;
    }
    sqlite3 *db = lineage_tree_open(o->data_dir, SQLREF_SILVER, ref.domain, err);
    if (db == NULL)
        return -1;
    json_t *snap = snapshot > 0 ? lineage_tree_snapshot(db, key, ref.table, snapshot, err) : NULL;
    int rc = -1;
    if (snapshot > 0 && snap == NULL)
        goto done;
    if (snap != NULL) {
        json_object_set(node, "committed_at", json_object_get(snap, "committed_at"));
        json_object_set(node, "operation", json_object_get(snap, "operation"));
    }
    rc = lineage_tree_bronze(db, ref.table, snapshot, node, o, err);
done:
    json_decref(snap);
    sqlite3_close(db);
    return rc;
}

static json_t *lineage_tree_node(const char *domain, const char *table, int64_t snapshot, int depth,
                            struct lineage_tree_opts *o, char err[ERROR_MAX])
{
    if (depth > LINEAGE_TREE_DEPTH_MAX) {
        error_set(err, "lineage deeper than %d gold tables", LINEAGE_TREE_DEPTH_MAX);
        return NULL;
    }
    char name[3 * NAMES_MAX + 8];
    snprintf(name, sizeof name, "%s.gold.%s", domain, table);
    sqlite3 *db = lineage_tree_open(o->data_dir, SQLREF_GOLD, domain, err);
    if (db == NULL) {
        o->missing = depth == 0;
        return NULL;
    }
    json_t *node = lineage_tree_snapshot(db, name, table, snapshot, err);
    if (node == NULL)
        o->missing = depth == 0;
    json_t *inputs = node ? lineage_tree_gold_inputs(
                                db, json_integer_value(json_object_get(node, "snapshot_id")), err)
                          : NULL;
    sqlite3_close(db);
    if (inputs == NULL) {
        json_decref(node);
        return NULL;
    }
    json_object_set_new(node, "inputs", inputs);
    size_t i;
    json_t *in;
    json_array_foreach(inputs, i, in) {
        if (lineage_tree_input(in, depth, o, err) != 0) {
            json_decref(node);
            return NULL;
        }
    }
    return node;
}

int lineage_tree_gold(const char *data_dir, const char *domain, const char *table,
                      int64_t snapshot, int64_t files_max, json_t **out, char err[ERROR_MAX])
{
    struct lineage_tree_opts o = {.data_dir = data_dir, .files_max = files_max};
    *out = lineage_tree_node(domain, table, snapshot, 0, &o, err);
    return *out != NULL ? 0 : o.missing ? 1 : -1;
}

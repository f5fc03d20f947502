/* iceberg_export.c - a silver or gold table as an Iceberg v2 table and its
 * export state (iceberg_export.h). Moved from the processor's exporter so
 * that the transformer exports gold with the same commit sequence. */
#include "iceberg_export.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "iceberg_delta.h"
#include "iceberg_table.h"
#include "layout.h"
#include "log.h"
#include "sqlutil.h"
#include "stats.h"
#include "strbuf.h"
#include "timeutil.h"

const char iceberg_export_ddl[] =
    "CREATE TABLE IF NOT EXISTS _iceberg_tables (table_name TEXT PRIMARY KEY, uuid TEXT NOT NULL, "
    "location TEXT NOT NULL, metadata_version INTEGER NOT NULL, metadata_file TEXT NOT NULL, "
    "last_sequence_number INTEGER NOT NULL, last_column_id INTEGER NOT NULL, "
    "schema_id INTEGER NOT NULL, current_snapshot_id INTEGER NOT NULL, "
    "exported_snapshot INTEGER NOT NULL, exported_at_ms INTEGER NOT NULL, "
    "duration_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS _iceberg_snapshots (table_name TEXT NOT NULL, "
    "snapshot_id INTEGER NOT NULL, parent_id INTEGER NOT NULL, sequence_number INTEGER NOT NULL, "
    "timestamp_ms INTEGER NOT NULL, manifest_list TEXT NOT NULL, schema_id INTEGER NOT NULL, "
    "operation TEXT NOT NULL, lakehouse_snapshot_id INTEGER NOT NULL, summary TEXT NOT NULL, "
    "PRIMARY KEY (table_name, snapshot_id));"
    "CREATE TABLE IF NOT EXISTS _iceberg_schemas (table_name TEXT NOT NULL, "
    "schema_id INTEGER NOT NULL, schema_json TEXT NOT NULL, PRIMARY KEY (table_name, schema_id));"
    "CREATE TABLE IF NOT EXISTS _iceberg_fields (table_name TEXT NOT NULL, name TEXT NOT NULL, "
    "type TEXT NOT NULL, field_id INTEGER NOT NULL, PRIMARY KEY (table_name, name, type));"
    "CREATE TABLE IF NOT EXISTS _iceberg_metadata_log (table_name TEXT NOT NULL, "
    "version INTEGER NOT NULL, file TEXT NOT NULL, timestamp_ms INTEGER NOT NULL, "
    "PRIMARY KEY (table_name, version));"
    /* every data file, manifest and manifest list a committed snapshot
     * references: what the sweep at start keeps */
    "CREATE TABLE IF NOT EXISTS _iceberg_files (table_name TEXT NOT NULL, path TEXT NOT NULL, "
    "snapshot_id INTEGER NOT NULL, PRIMARY KEY (table_name, path));";

/* The table's current export state (no row: never exported). */
struct iceberg_export_state {
    bool exists;
    char uuid[ICEBERG_UUID_MAX];
    int64_t version, last_sequence, current_snapshot, exported_snapshot;
    int32_t last_column_id, schema_id;
};

static int iceberg_export_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char err[ERROR_MAX])
{
    return sqlutil_prepare(db, sql, st, err, "export");
}

/* A statement whose ?1 is the table name. */
static int iceberg_export_query(sqlite3 *db, const char *sql, const char *table, sqlite3_stmt **st,
                        char err[ERROR_MAX])
{
    if (iceberg_export_prepare(db, sql, st, err) < 0)
        return -1;
    sqlite3_bind_text(*st, 1, table, -1, SQLITE_STATIC);
    return 0;
}

static int iceberg_export_load_state(sqlite3 *db, const char *table, struct iceberg_export_state *s,
                             char err[ERROR_MAX])
{
    memset(s, 0, sizeof *s);
    sqlite3_stmt *st;
    if (iceberg_export_query(db, "SELECT uuid, metadata_version, last_sequence_number, "
                           "current_snapshot_id, exported_snapshot, last_column_id, schema_id "
                         "FROM _iceberg_tables WHERE table_name = ?1",
                     table, &st, err) < 0)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s->exists = true;
        snprintf(s->uuid, sizeof s->uuid, "%s", (const char *)sqlite3_column_text(st, 0));
        s->version = sqlite3_column_int64(st, 1);
        s->last_sequence = sqlite3_column_int64(st, 2);
        s->current_snapshot = sqlite3_column_int64(st, 3);
        s->exported_snapshot = sqlite3_column_int64(st, 4);
        s->last_column_id = (int32_t)sqlite3_column_int(st, 5);
        s->schema_id = (int32_t)sqlite3_column_int(st, 6);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return error_set(err, "export state of %s: %s", table, sqlite3_errmsg(db));
    return 0;
}

/* The schemas JSON array (stored ones plus, when it differs from the
 * current one, the new schema as current_schema_id + 1). */
static json_t *iceberg_export_schemas(sqlite3 *db, const char *table, json_t *schema,
                              struct iceberg_export_state *s, bool *added, char err[ERROR_MAX])
{
    json_t *all = json_array();
    sqlite3_stmt *st;
    if (iceberg_export_query(db, "SELECT schema_id, schema_json FROM _iceberg_schemas "
                           "WHERE table_name = ?1 ORDER BY schema_id", table, &st, err) < 0) {
        json_decref(all);
        return NULL;
    }
    json_t *current = NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *j = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        if (j == NULL)
            continue;
        if (sqlite3_column_int(st, 0) == s->schema_id)
            current = j;
        json_array_append_new(all, j);
    }
    sqlite3_finalize(st);
    /* compare without the id: the fields and identifier fields decide */
    json_t *probe = json_deep_copy(schema);
    json_object_set_new(probe, "schema-id", json_integer(s->schema_id));
    *added = current == NULL || !json_equal(current, probe);
    json_decref(probe);
    if (*added) {
        if (s->exists)
            s->schema_id++;
        json_object_set_new(schema, "schema-id", json_integer(s->schema_id));
        json_array_append(all, schema);
    }
    return all;
}

/* Snapshots and metadata log from the state tables, plus the new snapshot. */
static int iceberg_export_history(sqlite3 *db, const char *table, int64_t horizon_ms,
                                  struct iceberg_snapshot **snaps, size_t *nsnaps,
                                  struct iceberg_metadata_log **log, size_t *nlog, char **strings,
                                  size_t *nstrings, char err[ERROR_MAX])
{
    sqlite3_stmt *st;
    *nsnaps = *nlog = 0;
    /* the snapshots the commit keeps: those within the retention horizon */
    if (iceberg_export_query(db, "SELECT snapshot_id, parent_id, sequence_number, timestamp_ms, "
                           "manifest_list, schema_id, operation, lakehouse_snapshot_id, summary "
                         "FROM _iceberg_snapshots WHERE table_name = ?1 AND timestamp_ms >= ?2 "
                         "ORDER BY sequence_number",
                     table, &st, err) < 0)
        return -1;
    sqlite3_bind_int64(st, 2, horizon_ms);
    size_t cap = 8;
    *snaps = calloc(cap + 1, sizeof **snaps);
    while (*snaps != NULL && sqlite3_step(st) == SQLITE_ROW) {
        if (*nsnaps == cap) {
            cap *= 2;
            struct iceberg_snapshot *g = realloc(*snaps, (cap + 1) * sizeof *g);
            if (g == NULL)
                break;
            *snaps = g;
        }
        struct iceberg_snapshot *s = &(*snaps)[(*nsnaps)++];
        memset(s, 0, sizeof *s);
        s->snapshot_id = sqlite3_column_int64(st, 0);
        s->parent_id = sqlite3_column_int64(st, 1);
        s->sequence_number = sqlite3_column_int64(st, 2);
        s->timestamp_ms = sqlite3_column_int64(st, 3);
        strings[(*nstrings)++] = strdup((const char *)sqlite3_column_text(st, 4));
        s->manifest_list = strings[*nstrings - 1];
        s->schema_id = (int32_t)sqlite3_column_int(st, 5);
        strings[(*nstrings)++] = strdup((const char *)sqlite3_column_text(st, 6));
        s->operation = strings[*nstrings - 1];
        s->lakehouse_snapshot_id = sqlite3_column_int64(st, 7);
        s->summary_extra = json_loads((const char *)sqlite3_column_text(st, 8), 0, NULL);
        if (*nstrings > 2 * 4096 - 4)
            break; /* a bound on history kept in one metadata file */
    }
    sqlite3_finalize(st);
    if (*snaps == NULL)
        return error_set(err, "out of memory");
    if (iceberg_export_query(db, "SELECT timestamp_ms, file FROM _iceberg_metadata_log "
                           "WHERE table_name = ?1 ORDER BY version", table, &st, err) < 0)
        return -1;
    cap = 8;
    *log = calloc(cap, sizeof **log);
    while (*log != NULL && sqlite3_step(st) == SQLITE_ROW && *nstrings < 2 * 4096 + 4096) {
        if (*nlog == cap) {
            cap *= 2;
            struct iceberg_metadata_log *g = realloc(*log, cap * sizeof *g);
            if (g == NULL)
                break;
            *log = g;
        }
        (*log)[*nlog].timestamp_ms = sqlite3_column_int64(st, 0);
        strings[(*nstrings)++] = strdup((const char *)sqlite3_column_text(st, 1));
        (*log)[(*nlog)++].file = strings[*nstrings - 1];
    }
    sqlite3_finalize(st);
    return *log == NULL ? error_set(err, "out of memory") : 0;
}

#define ICEBERG_EXPORT_STRINGS_MAX (3 * 4096 + 8)

/* What an export wrote, for its commit. */
struct iceberg_export_written {
    const struct iceberg_files *data, *deletes; /* deletes: NULL for none */
    const struct iceberg_manifest_file *m;      /* the manifest list's manifests */
    size_t nm;
    const struct iceberg_delta *delta;
    int64_t horizon_ms;                         /* older snapshots expire */
    int64_t expired;                            /* out: files no longer referenced */
};

static int iceberg_export_commit(sqlite3 *db, const char *table, const char *location,
                         const struct iceberg_export_state *s, const char *metadata_file,
                         const char *previous_file, int64_t previous_ms,
                         const struct iceberg_snapshot *snap, const char *schema_json,
                         bool schema_added, const struct iceberg_field *f, size_t n,
                         struct iceberg_export_written *w, int64_t duration_ms,
                         char err[ERROR_MAX])
{
    char *summary = json_dumps(snap->summary_extra, JSON_COMPACT);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (summary == NULL || sqlutil_exec(db, "BEGIN IMMEDIATE", err, "export commit") < 0) {
        if (summary == NULL)
            error_set(err, "export commit: out of memory");
        free(summary);
        return -1;
    }
#define ICEBERG_EXPORT_STEP(sql, binds)                                                                    \
    do {                                                                                           \
        if (iceberg_export_prepare(db, sql, &st, err) < 0)                                                 \
            goto fail;                                                                             \
        binds;                                                                                     \
        if (sqlite3_step(st) != SQLITE_DONE) {                                                     \
            error_set(err, "export commit: %s", sqlite3_errmsg(db));                               \
            goto fail;                                                                             \
        }                                                                                          \
        sqlite3_finalize(st);                                                                      \
        st = NULL;                                                                                 \
    } while (0)
    ICEBERG_EXPORT_STEP("INSERT OR REPLACE INTO _iceberg_tables VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                "?9, ?10, ?11, ?12)",
                (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                 sqlite3_bind_text(st, 2, s->uuid, -1, SQLITE_STATIC),
                 sqlite3_bind_text(st, 3, location, -1, SQLITE_STATIC),
                 sqlite3_bind_int64(st, 4, s->version + 1),
                 sqlite3_bind_text(st, 5, metadata_file, -1, SQLITE_STATIC),
                 sqlite3_bind_int64(st, 6, snap->sequence_number),
                 sqlite3_bind_int64(st, 7, s->last_column_id),
                 sqlite3_bind_int64(st, 8, s->schema_id),
                 sqlite3_bind_int64(st, 9, snap->snapshot_id),
                 sqlite3_bind_int64(st, 10, snap->lakehouse_snapshot_id),
                 sqlite3_bind_int64(st, 11, timeutil_now_ms()),
                 sqlite3_bind_int64(st, 12, duration_ms)));
    ICEBERG_EXPORT_STEP("INSERT INTO _iceberg_snapshots VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                 sqlite3_bind_int64(st, 2, snap->snapshot_id),
                 sqlite3_bind_int64(st, 3, snap->parent_id),
                 sqlite3_bind_int64(st, 4, snap->sequence_number),
                 sqlite3_bind_int64(st, 5, snap->timestamp_ms),
                 sqlite3_bind_text(st, 6, snap->manifest_list, -1, SQLITE_STATIC),
                 sqlite3_bind_int64(st, 7, snap->schema_id),
                 sqlite3_bind_text(st, 8, snap->operation, -1, SQLITE_STATIC),
                 sqlite3_bind_int64(st, 9, snap->lakehouse_snapshot_id),
                 sqlite3_bind_text(st, 10, summary, -1, SQLITE_STATIC)));
    if (schema_added)
        ICEBERG_EXPORT_STEP("INSERT OR REPLACE INTO _iceberg_schemas VALUES (?1, ?2, ?3)",
                    (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                     sqlite3_bind_int64(st, 2, s->schema_id),
                     sqlite3_bind_text(st, 3, schema_json, -1, SQLITE_STATIC)));
    if (previous_file != NULL)
        ICEBERG_EXPORT_STEP("INSERT OR REPLACE INTO _iceberg_metadata_log VALUES (?1, ?2, ?3, ?4)",
                    (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                     sqlite3_bind_int64(st, 2, s->version),
                     sqlite3_bind_text(st, 3, previous_file, -1, SQLITE_STATIC),
                     sqlite3_bind_int64(st, 4, previous_ms)));
    for (size_t i = 0; i < n; i++)
        ICEBERG_EXPORT_STEP("INSERT OR IGNORE INTO _iceberg_fields VALUES (?1, ?2, ?3, ?4)",
                    (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                     sqlite3_bind_text(st, 2, f[i].name, -1, SQLITE_STATIC),
                     sqlite3_bind_text(st, 3, f[i].type, -1, SQLITE_STATIC),
                     sqlite3_bind_int64(st, 4, f[i].id)));
    /* every file the snapshot adds: data and delete files, manifests, list */
    for (int k = 0; k < 2; k++) {
        size_t nfiles = 0;
        const struct iceberg_file *df =
            (k ? w->deletes : w->data) ? iceberg_files_list(k ? w->deletes : w->data, &nfiles)
                                       : NULL;
        for (size_t i = 0; i < nfiles; i++)
            ICEBERG_EXPORT_STEP("INSERT OR IGNORE INTO _iceberg_files VALUES (?1, ?2, ?3)",
                                (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                                 sqlite3_bind_text(st, 2, df[i].path, -1, SQLITE_STATIC),
                                 sqlite3_bind_int64(st, 3, snap->snapshot_id)));
    }
    for (size_t i = 0; i <= w->nm; i++)
        ICEBERG_EXPORT_STEP("INSERT OR IGNORE INTO _iceberg_files VALUES (?1, ?2, ?3)",
                            (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                             sqlite3_bind_text(st, 2,
                                               i < w->nm ? w->m[i].path : snap->manifest_list,
                                               -1, SQLITE_STATIC),
                             sqlite3_bind_int64(st, 3, snap->snapshot_id)));
    if (iceberg_delta_commit(db, table, w->delta, snap->snapshot_id, w->data, w->m, w->nm,
                             err) < 0 ||
        iceberg_delta_expire(db, table, w->horizon_ms, snap->snapshot_id, timeutil_now_ms(),
                             &w->expired, err) < 0)
        goto fail;
#undef ICEBERG_EXPORT_STEP
    if (sqlutil_exec(db, "COMMIT", err, "export commit") < 0)
        goto fail;
    rc = 0;
    goto done;
fail:
    sqlite3_finalize(st);
    sqlutil_exec(db, "ROLLBACK", NULL, NULL);
done:
    free(summary);
    return rc;
}

/* The recorded id of name with type, following renames back (silver's
 * _schema_changes: a renamed column keeps its id): > 0, or 0 for none. */
static int32_t iceberg_export_known_id(sqlite3_stmt *id, sqlite3_stmt *renamed, const char *table,
                                       const char *name, const char *type)
{
    char at[NAMES_MAX];
    snprintf(at, sizeof at, "%s", name);
    for (int hop = 0; hop < 16; hop++) {
        sqlite3_reset(id);
        sqlite3_bind_text(id, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(id, 2, at, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(id, 3, type, -1, SQLITE_STATIC);
        if (sqlite3_step(id) == SQLITE_ROW)
            return (int32_t)sqlite3_column_int(id, 0);
        if (renamed == NULL)
            return 0;
        sqlite3_reset(renamed);
        sqlite3_bind_text(renamed, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(renamed, 2, at, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(renamed) != SQLITE_ROW)
            return 0;
        snprintf(at, sizeof at, "%s", (const char *)sqlite3_column_text(renamed, 0));
    }
    return 0;
}

/* Ids of the fields: the recorded id of each name and type (or of the name
 * it was renamed from), or the next. *rewrite: a column that had another
 * type (a widening Iceberg v2 cannot express: the new id needs every row). */
static int iceberg_export_field_ids(sqlite3 *db, const char *table, struct iceberg_export_state *s,
                                    struct iceberg_field *f, size_t n, bool *rewrite,
                                    char err[ERROR_MAX])
{
    sqlite3_stmt *id, *renamed = NULL, *other;
    if (iceberg_export_prepare(db, "SELECT field_id FROM _iceberg_fields WHERE table_name = ?1 "
                                   "AND name = ?2 AND type = ?3", &id, err) < 0)
        return -1;
    if (iceberg_export_prepare(db, "SELECT 1 FROM _iceberg_fields WHERE table_name = ?1 "
                                   "AND name = ?2 AND type <> ?3", &other, err) < 0) {
        sqlite3_finalize(id);
        return -1;
    }
    /* silver only, and created on first use: no table, no renames */
    if (sqlite3_prepare_v2(db, "SELECT column_name FROM _schema_changes WHERE table_name = ?1 "
                               "AND change = 'rename' AND new_name = ?2 "
                               "ORDER BY snapshot_id DESC LIMIT 1", -1, &renamed, NULL) != SQLITE_OK)
        renamed = NULL;
    *rewrite = false;
    for (size_t i = 0; i < n; i++) {
        f[i].id = iceberg_export_known_id(id, renamed, table, f[i].name, f[i].type);
        for (size_t j = 0; j < i && f[i].id > 0; j++)
            if (f[j].id == f[i].id)
                f[i].id = 0; /* a name reused after a rename: a new column */
        if (f[i].id > 0)
            continue;
        f[i].id = ++s->last_column_id;
        sqlite3_reset(other);
        sqlite3_bind_text(other, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(other, 2, f[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(other, 3, f[i].type, -1, SQLITE_STATIC);
        if (sqlite3_step(other) == SQLITE_ROW)
            *rewrite = true;
    }
    sqlite3_finalize(id);
    sqlite3_finalize(renamed);
    sqlite3_finalize(other);
    return 0;
}

/* Whether the table's newest project snapshot is not exported yet: 1 with
 * the export state, that snapshot and its commit time; 0 when it is current
 * (or has no snapshot); -1 error. */
static int iceberg_export_pending(const struct iceberg_export_source *src,
                                  struct iceberg_export_state *s, int64_t *project,
                                  int64_t *committed_ms, char err[ERROR_MAX])
{
    sqlite3 *db = src->db;
    if (sqlutil_exec(db, iceberg_export_ddl, err, "export tables of %s", src->domain) < 0 ||
        iceberg_export_load_state(db, src->table, s, err) < 0)
        return -1;
    sqlite3_stmt *st;
    if (iceberg_export_query(db, "SELECT snapshot_id, committed_at FROM _snapshots WHERE "
                                 "table_name = ?1 ORDER BY snapshot_id DESC LIMIT 1",
                             src->table, &st, err) < 0)
        return -1;
    *project = 0;
    *committed_ms = timeutil_now_ms();
    if (sqlite3_step(st) == SQLITE_ROW) {
        *project = sqlite3_column_int64(st, 0);
        timeutil_parse_utc_ms((const char *)sqlite3_column_text(st, 1), committed_ms);
    }
    sqlite3_finalize(st);
    return *project != 0 && !(s->exists && s->exported_snapshot == *project);
}

/* The source's columns with their field ids (*fields: caller frees). */
static int iceberg_export_fields(const struct iceberg_export_source *src,
                                 struct iceberg_export_state *s, struct iceberg_field **fields,
                                 size_t *n, bool *rewrite, char err[ERROR_MAX])
{
    if (src->fields(src->fields_arg, src->db, src->table, fields, n, err) < 0)
        return -1;
    if (*n == 0)
        return error_set(err, "table %s has no columns", src->table);
    return iceberg_export_field_ids(src->db, src->table, s, *fields, *n, rewrite, err);
}

/* Delete the file at location (a failed attempt's); errors are left to the
 * sweep at start. */
static void iceberg_export_delete(struct iceberg_store *store, const char *location)
{
    char key[PATH_MAX], err[ERROR_MAX];
    if (location[0] != '\0' && iceberg_store_key_of(store, location, key, err) == 0)
        iceberg_store_delete(store, key, err);
}

/* The files one export writes before its commit. */
struct iceberg_export_out {
    struct iceberg_store *store;
    struct iceberg_delta delta;
    struct iceberg_files *data, *deletes;
    struct iceberg_manifest_file *m; /* the carried ones, then the new ones */
    size_t nm;
    char manifest[2][PATH_MAX];      /* the new data and delete manifests */
    char list[PATH_MAX];
};

/* Remove what a failed export wrote (remove) and free. */
static void iceberg_export_out_free(struct iceberg_export_out *o, bool remove)
{
    if (remove && o->store != NULL) {
        for (int k = 0; k < 2; k++)
            iceberg_export_delete(o->store, o->manifest[k]);
        iceberg_export_delete(o->store, o->list);
    }
    iceberg_files_free(&o->data, remove);
    iceberg_files_free(&o->deletes, remove);
    free(o->m);
    iceberg_delta_free(&o->delta);
}

/* Data files, delete file, manifests and manifest list of the snapshot. */
static int iceberg_export_write(const struct iceberg_export_source *src, const char *key,
                                const struct iceberg_field *f, size_t n,
                                const struct iceberg_manifest_info *info, int64_t snapshot_id,
                                int64_t parent, int64_t sequence, struct iceberg_export_out *o,
                                char err[ERROR_MAX])
{
    /* 16 MiB row groups: the export's share of the writer process's memory bound */
    struct iceberg_write_options opt = {.codec = PARQUET_CODEC_ZSTD,
                                        .row_group_bytes = 16 << 20,
                                        .schema_json = info->schema_json};
    struct iceberg_delta *d = &o->delta;
    o->store = src->store;
    if ((o->data = iceberg_files_open(src->store, key, f, n, &opt, err)) == NULL ||
        iceberg_delta_rows(src->db, src->table, f, n, d, o->data, err) < 0 ||
        iceberg_delta_deletes(src->db, src->table, src->store, key, d, &opt, &o->deletes,
                              err) < 0)
        return -1;
    size_t carried = d->full ? 0 : d->nkept;
    if ((o->m = calloc(carried + 2, sizeof *o->m)) == NULL)
        return error_set(err, "out of memory");
    if (carried > 0)
        memcpy(o->m, d->kept, carried * sizeof *o->m);
    o->nm = carried;
    size_t nfiles;
    iceberg_files_list(o->data, &nfiles);
    if (nfiles > 0 || d->full) {
        if (iceberg_write_manifest(src->store, key, o->data, info, snapshot_id, sequence, 0,
                                   o->manifest[0], &o->m[o->nm], err) < 0)
            return -1;
        o->nm++;
    }
    if (o->deletes != NULL) {
        struct iceberg_manifest_info di = *info;
        di.content = ICEBERG_POSITION_DELETES;
        if (iceberg_write_manifest(src->store, key, o->deletes, &di, snapshot_id, sequence, 1,
                                   o->manifest[1], &o->m[o->nm], err) < 0)
            return -1;
        o->nm++;
    }
    return iceberg_write_manifest_list(src->store, key, snapshot_id, parent, sequence, o->m,
                                       o->nm, o->list, err);
}

/* The summary fields and operation of the snapshot (new reference). */
static json_t *iceberg_export_summary(const struct iceberg_export_out *o, const char **operation,
                                      bool first)
{
    const struct iceberg_delta *d = &o->delta;
    int64_t added = iceberg_files_rows(o->data), data_files = 0, deleted = 0, delete_files = 0;
    for (size_t i = 0; i < o->nm; i++) {
        if (o->m[i].content == ICEBERG_DATA)
            data_files += o->m[i].added_files;
        else
            delete_files += o->m[i].added_files;
    }
    int64_t total = added;
    if (!d->full) {
        total += d->kept_data_rows - d->kept_delete_rows - d->deletes;
        deleted = d->deletes;
    }
    size_t nfiles;
    iceberg_files_list(o->data, &nfiles);
    *operation = first ? "append" : d->full ? "overwrite" : deleted == 0 ? "append"
                 : added == 0 ? "delete" : "overwrite";
    json_t *j = json_object();
    const char *keys[] = {"added-data-files", "added-records", "total-data-files",
                          "total-records", "added-position-deletes", "total-delete-files",
                          "lakehouse.export"};
    int64_t values[] = {(int64_t)nfiles, added, data_files, total, deleted, delete_files};
    for (size_t i = 0; i < 6; i++) {
        char v[24];
        snprintf(v, sizeof v, "%" PRId64, values[i]);
        json_object_set_new(j, keys[i], json_string(v));
    }
    /* full (and why) or incremental: what the tests and the log look at */
    json_object_set_new(j, keys[6], json_string(d->full ? d->why : "incremental"));
    return j;
}


/* The version being replaced (file, NULL for none) joins the metadata log
 * of the next one; the log is grown either way (the caller frees it). */
static int iceberg_export_log_append(struct iceberg_metadata_log **log, size_t *nlog,
                                     const char *file, int64_t now_ms, char err[ERROR_MAX])
{
    struct iceberg_metadata_log *grown = realloc(*log, (*nlog + 1) * sizeof **log);
    if (grown == NULL)
        return error_set(err, "out of memory");
    *log = grown;
    if (file != NULL)
        (*log)[(*nlog)++] = (struct iceberg_metadata_log){.timestamp_ms = now_ms, .file = file};
    return 0;
}

/* v<version>.metadata.json, created exclusively; one that exists was left
 * by an attempt that crashed before its commit: never referenced by the
 * pointer, so it is replaced. */
static int iceberg_export_put_metadata(struct iceberg_store *store, const char *key,
                                       int64_t version, const json_t *meta, char path[PATH_MAX],
                                       char err[ERROR_MAX])
{
    int rc = iceberg_write_metadata(store, key, version, meta, path, err);
    if (rc >= 0 || error_kind_of(rc) != ERROR_CONFLICT)
        return rc;
    log_warn("iceberg_metadata_exists file=%s action=replace reason=\"an export that did not "
             "commit left it\"", path);
    iceberg_export_delete(store, path);
    return iceberg_write_metadata(store, key, version, meta, path, err);
}

/* After the commit: the version hint, the deletion of files expired for
 * the grace period, the log line and the duration metric. Failures here
 * are retried by the next export (or start). */
static void iceberg_export_committed(const struct iceberg_export_source *src,
                                     const char *key, const struct iceberg_snapshot *snap,
                                     int64_t version, const struct iceberg_export_out *out,
                                     int64_t expired, int64_t duration)
{
    const char *domain = src->domain, *table = src->table;
    char err[ERROR_MAX];
    if (iceberg_write_version_hint(src->store, key, version, err) < 0)
        log_warn("iceberg_version_hint_failed table=%s/%s reason=\"%s\" action=retry_next_export",
                 domain, table, err);
    int64_t purged = 0;
    if (iceberg_delta_purge(src->db, src->store, table, ICEBERG_EXPORT_SWEEP_GRACE_S, &purged,
                            err) < 0)
        log_warn("iceberg_expired_files_kept table=%s/%s reason=\"%s\" action=retry_next_export",
                 domain, table, err);
    log_info("iceberg_exported layer=%s table=%s/%s snapshot=%" PRId64 " iceberg_snapshot=%" PRId64
             " version=%" PRId64 " mode=\"%s\" rows=%" PRId64 " deletes=%" PRId64
             " expired_files=%" PRId64 " duration_ms=%" PRId64,
             src->layer, domain, table, snap->lakehouse_snapshot_id, snap->snapshot_id, version,
             out->delta.full ? out->delta.why : "incremental", iceberg_files_rows(out->data),
             out->delta.deletes, expired, duration);
    stats_observe("iceberg_export_duration_seconds", src->metrics_label,
                  (double)duration / 1000.0);
}

int iceberg_export_table(const struct iceberg_export_source *src, char err[ERROR_MAX])
{
    sqlite3 *db = src->db;
    const char *domain = src->domain, *table = src->table;
    struct iceberg_export_state s;
    int64_t project, committed_ms;
    int pending = iceberg_export_pending(src, &s, &project, &committed_ms, err);
    if (pending <= 0)
        return pending;

    int64_t started = timeutil_monotonic_ms();
    struct iceberg_store *store = src->store;
    char key[PATH_MAX], location[PATH_MAX];
    if (layout_iceberg_key(key, sizeof key, domain, src->layer, table, err) < 0 ||
        iceberg_store_uri(store, key, location, err) < 0)
        return -1;
    if (!s.exists)
        iceberg_random_uuid(s.uuid);

    struct iceberg_field *fields = NULL;
    size_t n = 0;
    struct iceberg_export_out out = {0};
    json_t *schema = NULL, *schemas = NULL, *meta = NULL, *extra = NULL;
    char *schema_text = NULL;
    struct iceberg_snapshot *snaps = NULL;
    struct iceberg_metadata_log *log = NULL;
    size_t nsnaps = 0, nlog = 0, nstrings = 0;
    char **strings = calloc(ICEBERG_EXPORT_STRINGS_MAX, sizeof *strings);
    char meta_path[PATH_MAX] = "", previous[PATH_MAX] = "";
    int rc = -1;
    bool committed = false, rewrite = false;
    if (strings == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    if (iceberg_export_fields(src, &s, &fields, &n, &rewrite, err) < 0 ||
        iceberg_delta_plan(db, table, fields, n, s.exists ? s.current_snapshot : -1,
                           s.exported_snapshot, project, rewrite, &out.delta, err) < 0)
        goto done;

    schema = iceberg_schema_json(s.schema_id, fields, n);
    bool schema_added = false;
    if ((schemas = iceberg_export_schemas(db, table, schema, &s, &schema_added, err)) == NULL)
        goto done;
    schema_text = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int64_t snapshot_id = iceberg_random_snapshot_id(), sequence = s.last_sequence + 1;
    int64_t parent = s.exists ? s.current_snapshot : -1;
    struct iceberg_manifest_info info = {.schema_json = schema_text, .schema_id = s.schema_id,
                                         .partition_spec_json = "[]", .content = ICEBERG_DATA};
    if (schema_text == NULL ||
        iceberg_export_write(src, key, fields, n, &info, snapshot_id, parent, sequence, &out,
                             err) < 0)
        goto done;

    int64_t horizon_ms = src->retention_days > 0
                             ? timeutil_now_ms() - src->retention_days * 86400 * INT64_C(1000)
                             : 0;
    if (iceberg_export_history(db, table, horizon_ms, &snaps, &nsnaps, &log, &nlog, strings,
                               &nstrings, err) < 0)
        goto done;
    const char *operation;
    extra = iceberg_export_summary(&out, &operation, !s.exists);
    struct iceberg_snapshot *snap = &snaps[nsnaps];
    *snap = (struct iceberg_snapshot){
        .snapshot_id = snapshot_id, .parent_id = parent, .sequence_number = sequence,
        .timestamp_ms = committed_ms, .manifest_list = out.list, .schema_id = s.schema_id,
        .operation = operation, .lakehouse_snapshot_id = project, .summary_extra = extra};
    /* the version being replaced joins the metadata log */
    if (s.exists && iceberg_metadata_path(previous, location, s.version, err) < 0)
        goto done;
    int64_t now_ms = timeutil_now_ms();
    if (iceberg_export_log_append(&log, &nlog, s.exists ? previous : NULL, now_ms, err) < 0)
        goto done;
    struct iceberg_table t = {.uuid = s.uuid, .location = location,
                              .last_sequence_number = sequence, .last_updated_ms = now_ms,
                              .last_column_id = s.last_column_id, .current_schema_id = s.schema_id,
                              .schemas = schemas, .snapshots = snaps, .nsnapshots = nsnaps + 1,
                              .current_snapshot_id = snapshot_id, .metadata_log = log,
                              .nmetadata_log = nlog};
    if ((meta = iceberg_table_json(&t, err)) == NULL)
        goto done;
    if (iceberg_export_put_metadata(store, key, s.version + 1, meta, meta_path, err) < 0)
        goto done;
    int64_t duration = timeutil_monotonic_ms() - started;
    struct iceberg_export_written w = {.data = out.data, .deletes = out.deletes, .m = out.m,
                                       .nm = out.nm, .delta = &out.delta,
                                       .horizon_ms = horizon_ms};
    if (iceberg_export_commit(db, table, location, &s, meta_path, s.exists ? previous : NULL, now_ms, snap,
                      schema_text, schema_added, fields, n, &w, duration, err) < 0) {
        iceberg_export_delete(store, meta_path);
        goto done;
    }
    committed = true;
    iceberg_export_committed(src, key, snap, s.version + 1, &out, w.expired, duration);
    rc = 1;
done:
    iceberg_export_out_free(&out, !committed);
    for (size_t i = 0; snaps != NULL && i < nsnaps; i++)
        json_decref(snaps[i].summary_extra);
    for (size_t i = 0; strings != NULL && i < nstrings; i++)
        free(strings[i]);
    free(strings);
    free(snaps);
    free(log);
    free(fields);
    free(schema_text);
    json_decref(extra);
    json_decref(meta);
    json_decref(schemas);
    json_decref(schema);
    return rc;
}

void iceberg_export_lag(sqlite3 *db, const char *table, const char *label)
{
    sqlite3_stmt *st;
    char err[ERROR_MAX];
    if (iceberg_export_prepare(db, "SELECT count(*), min(committed_at) FROM _snapshots WHERE "
                           "table_name = ?1 AND snapshot_id > coalesce((SELECT exported_snapshot "
                           "FROM _iceberg_tables WHERE table_name = ?1), 0)", &st, err) < 0)
        return;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t behind = sqlite3_column_int64(st, 0), oldest_ms = 0;
        double lag = 0;
        if (behind > 0 &&
            timeutil_parse_utc_ms((const char *)sqlite3_column_text(st, 1), &oldest_ms) == 0)
            lag = (double)(timeutil_now_ms() - oldest_ms) / 1000.0;
        stats_gauge("iceberg_export_lag_seconds", label, lag < 0 ? 0 : lag);
        stats_gauge("iceberg_export_lag_snapshots", label, (double)behind);
    }
    sqlite3_finalize(st);
}

/* What the sweep of one table needs while it lists the table's files. */
struct iceberg_export_sweep {
    struct iceberg_store *store;
    sqlite3_stmt *referenced; /* ?1 table, ?2 location: a row when committed */
    const char *table;
    int64_t metadata_version, horizon_ms, *removed;
};

/* A file of the table (iceberg_store_list_fn): deleted when nothing
 * committed references it and it is older than the grace period. */
static int iceberg_export_sweep_file(const char *key, int64_t size, int64_t mtime_ms, void *arg)
{
    (void)size;
    struct iceberg_export_sweep *w = arg;
    const char *name = strrchr(key, '/') != NULL ? strrchr(key, '/') + 1 : key;
    long long v;
    int used = 0;
    char location[PATH_MAX], err[ERROR_MAX];
    if (name[0] == '.' || strcmp(name, "version-hint.text") == 0)
        return 0;
    if (sscanf(name, "v%lld.metadata.json%n", &v, &used) == 1 && name[used] == '\0' &&
        v <= w->metadata_version)
        return 0; /* a committed version */
    /* an unknown age (0) is never old enough */
    if (mtime_ms <= 0 || mtime_ms >= w->horizon_ms ||
        iceberg_store_uri(w->store, key, location, err) < 0)
        return 0;
    sqlite3_reset(w->referenced);
    sqlite3_bind_text(w->referenced, 1, w->table, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->referenced, 2, location, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(w->referenced) == SQLITE_ROW)
        return 0;
    if (iceberg_store_delete(w->store, key, err) == S3_OK) {
        log_info("iceberg_orphan_removed table=%s file=%s", w->table, location);
        (*w->removed)++;
    }
    return 0;
}

/* Delete the files under the table's location (data/ and metadata/) that
 * nothing committed references and that are older than the grace period. */
static int iceberg_export_sweep_table(sqlite3 *db, struct iceberg_store *store,
                                      const char *table, const char *location,
                                      int64_t metadata_version, int64_t *removed,
                                      char err[ERROR_MAX])
{
    char key[PATH_MAX], prefix[PATH_MAX];
    if (iceberg_store_key_of(store, location, key, err) < 0 ||
        fsutil_path(prefix, sizeof prefix, err, "%s/", key) < 0)
        return -1;
    struct iceberg_export_sweep w = {.store = store, .table = table,
                                     .metadata_version = metadata_version,
                                     .horizon_ms = timeutil_now_ms() -
                                                   (int64_t)ICEBERG_EXPORT_SWEEP_GRACE_S * 1000,
                                     .removed = removed};
    if (iceberg_export_prepare(db, "SELECT 1 FROM _iceberg_files WHERE table_name = ?1 AND path = ?2",
                       &w.referenced, err) < 0)
        return -1;
    enum s3_status rc = iceberg_store_list(store, prefix, iceberg_export_sweep_file, &w, err);
    sqlite3_finalize(w.referenced);
    return rc == S3_OK ? 0 : -1;
}

/* 1 when _iceberg_files lists files of the table, 0 when not, -1 error. */
static int iceberg_export_has_files(sqlite3 *db, const char *table)
{
    sqlite3_stmt *st;
    char err[ERROR_MAX];
    if (iceberg_export_query(db, "SELECT 1 FROM _iceberg_files WHERE table_name = ?1 LIMIT 1", table,
                     &st, err) < 0)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int iceberg_export_sweep_db(sqlite3 *db, struct iceberg_store *store, const char *domain,
                            int64_t *removed, char err[ERROR_MAX])
{
    if (sqlutil_exec(db, iceberg_export_ddl, err, "export tables of %s", domain) < 0)
        return -1;
    *removed += iceberg_store_clean_staging(store, ICEBERG_EXPORT_SWEEP_GRACE_S);
    sqlite3_stmt *st;
    if (iceberg_export_prepare(db, "SELECT table_name, location, metadata_version "
                                   "FROM _iceberg_tables", &st, err) < 0)
        return -1;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *table = (const char *)sqlite3_column_text(st, 0);
        const char *location = (const char *)sqlite3_column_text(st, 1);
        int64_t version = sqlite3_column_int64(st, 2);
        char key[PATH_MAX];
        if (iceberg_store_key_of(store, location, key, err) < 0) {
            /* exported to another store (iceberg_export changed): not ours to sweep */
            log_warn("iceberg_sweep_skipped table=%s/%s reason=\"%s\"", domain, table, err);
            continue;
        }
        /* a crash between the commit and the hint left the hint behind */
        if (iceberg_read_version_hint(store, key, err) != version) {
            if (iceberg_write_version_hint(store, key, version, err) < 0)
                log_warn("iceberg_version_hint_failed table=%s/%s reason=\"%s\"", domain, table,
                         err);
            else
                log_info("iceberg_version_hint_repaired table=%s/%s version=%" PRId64, domain,
                         table, version);
        }
        if (iceberg_export_has_files(db, table) != 1)
            continue; /* nothing recorded: keep everything rather than guess */
        rc = iceberg_export_sweep_table(db, store, table, location, version, removed, err);
    }
    sqlite3_finalize(st);
    if (rc == 0)
        rc = iceberg_delta_purge(db, store, NULL, ICEBERG_EXPORT_SWEEP_GRACE_S, removed, err);
    return rc;
}

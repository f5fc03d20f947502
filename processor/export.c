/* export.c - silver tables published as Iceberg v2 tables under
 * <data>/iceberg/<domain>_silver/<table>/ (config iceberg_export = "local").
 *
 * Every iceberg_export_interval_s (and at once on the "export" control
 * request) each table whose newest project snapshot S is not exported yet is
 * written whole as one Iceberg snapshot equal to S (operation "overwrite";
 * the first one "append"): Parquet data files, manifest and manifest list
 * (fsync'd), then metadata/v<N+1>.metadata.json created exclusively, then
 * the pointer in _iceberg_tables (the commit, one SQLite transaction with
 * the snapshot, schema and field-id rows), then metadata/version-hint.text.
 * A crash before the commit leaves version N readable; the files of the
 * failed attempt are removed when the error is seen, and those a crash left
 * are swept at the next start once older than EXPORT_SWEEP_GRACE_S
 * (_iceberg_files lists every file a committed snapshot references); a
 * crash after the commit leaves the hint one version behind (still a
 * readable version) until the start repairs it. The export reads the table
 * in the processor's thread between merges, so the rows are exactly S's.
 * Field ids stay with a column name and type; a new or retyped column gets
 * the next id. */
#include "processor.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "iceberg_meta.h"
#include "iceberg_table.h"
#include "layout.h"
#include "log.h"
#include "sqlutil.h"
#include "stats.h"
#include "strbuf.h"
#include "timeutil.h"

static const char export_ddl[] =
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

/* Files of a table that no committed version references (an export that
 * crashed before its commit) are deleted at start once they are this old:
 * younger ones may belong to an export of a process still running. */
#define EXPORT_SWEEP_GRACE_S 600

/* The table's current export state (no row: never exported). */
struct export_state {
    bool exists;
    char uuid[ICEBERG_UUID_MAX];
    int64_t version, last_sequence, current_snapshot, exported_snapshot;
    int32_t last_column_id, schema_id;
};

static int export_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char err[ERROR_MAX])
{
    return sqlutil_prepare(db, sql, st, err, "export");
}

/* A statement whose ?1 is the table name. */
static int export_query(sqlite3 *db, const char *sql, const char *table, sqlite3_stmt **st,
                        char err[ERROR_MAX])
{
    if (export_prepare(db, sql, st, err) < 0)
        return -1;
    sqlite3_bind_text(*st, 1, table, -1, SQLITE_STATIC);
    return 0;
}

static int export_load_state(sqlite3 *db, const char *table, struct export_state *s,
                             char err[ERROR_MAX])
{
    memset(s, 0, sizeof *s);
    sqlite3_stmt *st;
    if (export_query(db, "SELECT uuid, metadata_version, last_sequence_number, "
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

/* The Iceberg fields of the table's columns: types from the latest schema
 * (metadata columns by name), ids from _iceberg_fields or new ones. */
static int export_fields(struct processor_ctx *ctx, sqlite3 *db, const char *domain,
                         const char *table, struct export_state *state,
                         struct iceberg_field **out, size_t *n, char err[ERROR_MAX])
{
    struct schema *schema = NULL;
    if (schemas_get(ctx->schemas, domain, table, 0, &schema, err) < 0)
        return -1;
    char sql[NAMES_MAX + 64];
    snprintf(sql, sizeof sql, "PRAGMA table_info(\"%s\")", table);
    sqlite3_stmt *st = NULL, *id = NULL;
    struct iceberg_field *f = NULL;
    size_t count = 0, cap = 0;
    int rc = -1;
    if (export_prepare(db, sql, &st, err) < 0 ||
        export_prepare(db, "SELECT field_id FROM _iceberg_fields WHERE table_name = ?1 AND "
                           "name = ?2 AND type = ?3", &id, err) < 0)
        goto done;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            struct iceberg_field *g = realloc(f, cap * sizeof *g);
            if (g == NULL) {
                error_set(err, "out of memory");
                goto done;
            }
            f = g;
        }
        struct iceberg_field *x = &f[count++];
        const struct schema_column *col = schema ? schema_find_column(schema, name) : NULL;
        if (name[0] == '_')
            iceberg_field_metadata(name, x);
        else if (col != NULL)
            iceberg_field_from_column(col, x);
        else
            iceberg_field_metadata(name, x); /* unknown to the schema: string */
        if (col != NULL)
            x->identifier = col->primary_key;
        x->required = x->identifier || strcmp(name, "_seq") == 0;
        sqlite3_reset(id);
        sqlite3_bind_text(id, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(id, 2, x->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(id, 3, x->type, -1, SQLITE_STATIC);
        x->id = sqlite3_step(id) == SQLITE_ROW ? (int32_t)sqlite3_column_int(id, 0)
                                               : ++state->last_column_id;
    }
    *out = f;
    *n = count;
    f = NULL;
    rc = count > 0 ? 0 : error_set(err, "table %s has no columns", table);
done:
    free(f);
    sqlite3_finalize(st);
    sqlite3_finalize(id);
    schema_destroy(&schema);
    return rc;
}

/* One SQLite value into the Parquet writer as the field's kind. */
static int export_value(struct parquet_writer *w, size_t col, const struct iceberg_field *f,
                        sqlite3_stmt *st, char err[ERROR_MAX])
{
    int type = sqlite3_column_type(st, (int)col);
    if (type == SQLITE_NULL)
        return parquet_add_null(w, col, err);
    const char *text = (const char *)sqlite3_column_text(st, (int)col);
    switch (f->kind) {
    case PARQUET_LONG:
    case PARQUET_INT:
        return parquet_add_int(w, col, sqlite3_column_int64(st, (int)col), err);
    case PARQUET_DOUBLE:
        return parquet_add_double(w, col, sqlite3_column_double(st, (int)col), err);
    case PARQUET_BOOLEAN:
        if (type == SQLITE_TEXT)
            return parquet_add_bool(w, col, strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0,
                                    err);
        return parquet_add_bool(w, col, sqlite3_column_int64(st, (int)col) != 0, err);
    case PARQUET_DATE: {
        int32_t days;
        if (timeutil_parse_date_days(text, &days) < 0)
            return error_set(err, "column %s: '%.40s' is not a date", f->name, text);
        return parquet_add_int(w, col, days, err);
    }
    case PARQUET_TIMESTAMPTZ: {
        int64_t us;
        if (timeutil_parse_utc_us(text, &us) < 0)
            return error_set(err, "column %s: '%.40s' is not a timestamp", f->name, text);
        return parquet_add_int(w, col, us, err);
    }
    case PARQUET_DECIMAL:
        return parquet_add_decimal_text(w, col, text, err);
    case PARQUET_STRING:
        return parquet_add_string(w, col, text, (size_t)sqlite3_column_bytes(st, (int)col), err);
    }
    return error_set(err, "column %s: unknown kind", f->name);
}

/* Every row of the table into data files. */
static int export_rows(sqlite3 *db, const char *table, const struct iceberg_field *f, size_t n,
                       struct iceberg_files *files, char err[ERROR_MAX])
{
    struct strbuf sql = {0};
    strbuf_addf(&sql, "SELECT ");
    for (size_t i = 0; i < n; i++)
        strbuf_addf(&sql, "%s\"%s\"", i ? ", " : "", f[i].name);
    strbuf_addf(&sql, " FROM \"%s\"", table);
    if (sql.failed)
        return error_set(err, "out of memory");
    sqlite3_stmt *st;
    int rc = export_prepare(db, sql.s, &st, err);
    strbuf_free(&sql);
    if (rc < 0)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct parquet_writer *w = iceberg_files_row(files, err);
        if (w == NULL)
            goto fail;
        for (size_t i = 0; i < n; i++) {
            if (export_value(w, i, &f[i], st, err) < 0)
                goto fail;
        }
        if (parquet_end_row(w, err) < 0 || iceberg_files_row_done(files, err) < 0)
            goto fail;
    }
    if (rc != SQLITE_DONE) {
        error_set(err, "reading %s: %s", table, sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_finalize(st);
    return iceberg_files_finish(files, err);
fail:
    sqlite3_finalize(st);
    return -1;
}

/* The schemas JSON array (stored ones plus, when it differs from the
 * current one, the new schema as current_schema_id + 1). */
static json_t *export_schemas(sqlite3 *db, const char *table, json_t *schema,
                              struct export_state *s, bool *added, char err[ERROR_MAX])
{
    json_t *all = json_array();
    sqlite3_stmt *st;
    if (export_query(db, "SELECT schema_id, schema_json FROM _iceberg_schemas "
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
static int export_history(sqlite3 *db, const char *table, struct iceberg_snapshot **snaps,
                          size_t *nsnaps, struct iceberg_metadata_log **log, size_t *nlog,
                          char **strings, size_t *nstrings, char err[ERROR_MAX])
{
    sqlite3_stmt *st;
    *nsnaps = *nlog = 0;
    if (export_query(db, "SELECT snapshot_id, parent_id, sequence_number, timestamp_ms, "
                           "manifest_list, schema_id, operation, lakehouse_snapshot_id, summary "
                         "FROM _iceberg_snapshots WHERE table_name = ?1 ORDER BY sequence_number",
                     table, &st, err) < 0)
        return -1;
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
    if (export_query(db, "SELECT timestamp_ms, file FROM _iceberg_metadata_log "
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

#define EXPORT_STRINGS_MAX (3 * 4096 + 8)

static int export_commit(sqlite3 *db, const char *table, const char *location,
                         const struct export_state *s, const char *metadata_file,
                         const char *previous_file, int64_t previous_ms,
                         const struct iceberg_snapshot *snap, const char *schema_json,
                         bool schema_added, const struct iceberg_field *f, size_t n,
                         const struct iceberg_files *files, const char *manifest,
                         int64_t duration_ms, char err[ERROR_MAX])
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
#define EXPORT_STEP(sql, binds)                                                                    \
    do {                                                                                           \
        if (export_prepare(db, sql, &st, err) < 0)                                                 \
            goto fail;                                                                             \
        binds;                                                                                     \
        if (sqlite3_step(st) != SQLITE_DONE) {                                                     \
            error_set(err, "export commit: %s", sqlite3_errmsg(db));                               \
            goto fail;                                                                             \
        }                                                                                          \
        sqlite3_finalize(st);                                                                      \
        st = NULL;                                                                                 \
    } while (0)
    EXPORT_STEP("INSERT OR REPLACE INTO _iceberg_tables VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
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
    EXPORT_STEP("INSERT INTO _iceberg_snapshots VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
        EXPORT_STEP("INSERT OR REPLACE INTO _iceberg_schemas VALUES (?1, ?2, ?3)",
                    (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                     sqlite3_bind_int64(st, 2, s->schema_id),
                     sqlite3_bind_text(st, 3, schema_json, -1, SQLITE_STATIC)));
    if (previous_file != NULL)
        EXPORT_STEP("INSERT OR REPLACE INTO _iceberg_metadata_log VALUES (?1, ?2, ?3, ?4)",
                    (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                     sqlite3_bind_int64(st, 2, s->version),
                     sqlite3_bind_text(st, 3, previous_file, -1, SQLITE_STATIC),
                     sqlite3_bind_int64(st, 4, previous_ms)));
    for (size_t i = 0; i < n; i++)
        EXPORT_STEP("INSERT OR IGNORE INTO _iceberg_fields VALUES (?1, ?2, ?3, ?4)",
                    (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                     sqlite3_bind_text(st, 2, f[i].name, -1, SQLITE_STATIC),
                     sqlite3_bind_text(st, 3, f[i].type, -1, SQLITE_STATIC),
                     sqlite3_bind_int64(st, 4, f[i].id)));
    size_t nfiles;
    const struct iceberg_file *df = iceberg_files_list(files, &nfiles);
    for (size_t i = 0; i < nfiles + 2; i++)
        EXPORT_STEP("INSERT OR IGNORE INTO _iceberg_files VALUES (?1, ?2, ?3)",
                    (sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC),
                     sqlite3_bind_text(st, 2,
                                       i < nfiles ? df[i].path
                                       : i == nfiles ? manifest
                                                     : snap->manifest_list,
                                       -1, SQLITE_STATIC),
                     sqlite3_bind_int64(st, 3, snap->snapshot_id)));
#undef EXPORT_STEP
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

/* Whether the table's newest project snapshot is not exported yet: 1 with
 * *db, the export state, that snapshot and its commit time; 0 when it is
 * current (or has no snapshot); -1 error. */
static int export_pending(struct processor_ctx *ctx, const char *domain, const char *table,
                          sqlite3 **db, struct export_state *s, int64_t *project,
                          int64_t *committed_ms, char err[ERROR_MAX])
{
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        return -1;
    *db = sdb->db;
    if (sqlutil_exec(*db, export_ddl, err, "export tables of %s", domain) < 0)
        return -1;
    int exists = silver_table_exists(sdb, table, err);
    if (exists <= 0)
        return exists;
    if (export_load_state(*db, table, s, err) < 0)
        return -1;
    sqlite3_stmt *st;
    if (export_query(*db, "SELECT snapshot_id, committed_at FROM _snapshots WHERE table_name = ?1 "
                          "ORDER BY snapshot_id DESC LIMIT 1", table, &st, err) < 0)
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

/* The summary fields of a snapshot that holds files (new reference). */
static json_t *export_summary(const struct iceberg_files *files)
{
    size_t nfiles;
    iceberg_files_list(files, &nfiles);
    char rows[24], count[24];
    snprintf(rows, sizeof rows, "%" PRId64, iceberg_files_rows(files));
    snprintf(count, sizeof count, "%zu", nfiles);
    return json_pack("{ssssssss}", "added-data-files", count, "added-records", rows,
                     "total-data-files", count, "total-records", rows);
}

/* v<version>.metadata.json, created exclusively; one that exists was left
 * by an attempt that crashed before its commit: never referenced by the
 * pointer, so it is replaced. */
static int export_put_metadata(const char *location, int64_t version, const json_t *meta,
                               char path[PATH_MAX], char err[ERROR_MAX])
{
    int rc = iceberg_write_metadata(location, version, meta, path, err);
    if (rc >= 0 || error_kind_of(rc) != ERROR_CONFLICT)
        return rc;
    unlink(path);
    return iceberg_write_metadata(location, version, meta, path, err);
}

/* The table's rows as data files under location (caller owns them), or
 * NULL with err. */
static struct iceberg_files *export_data(sqlite3 *db, const char *table, const char *location,
                                         const struct iceberg_field *fields, size_t n,
                                         char err[ERROR_MAX])
{
    /* 16 MiB row groups: the export's share of the processor's memory bound */
    struct iceberg_write_options opt = {.codec = PARQUET_CODEC_ZSTD,
                                        .row_group_bytes = 16 << 20};
    struct iceberg_files *files = iceberg_files_open(location, fields, n, &opt, err);
    if (files != NULL && export_rows(db, table, fields, n, files, err) < 0)
        iceberg_files_free(&files, true);
    return files;
}

/* The version being replaced (file, NULL for none) joins the metadata log
 * of the next one; the log is grown either way (the caller frees it). */
static int export_log_append(struct iceberg_metadata_log **log, size_t *nlog, const char *file,
                             int64_t now_ms, char err[ERROR_MAX])
{
    struct iceberg_metadata_log *grown = realloc(*log, (*nlog + 1) * sizeof **log);
    if (grown == NULL)
        return error_set(err, "out of memory");
    *log = grown;
    if (file != NULL)
        (*log)[(*nlog)++] = (struct iceberg_metadata_log){.timestamp_ms = now_ms, .file = file};
    return 0;
}

/* Export one table if its newest snapshot is not exported yet. 1 exported,
 * 0 already current (or no snapshot), -1 error. */
static int export_table(struct processor_ctx *ctx, const char *domain, const char *table,
                        char err[ERROR_MAX])
{
    sqlite3 *db;
    struct export_state s;
    int64_t project, committed_ms;
    int pending = export_pending(ctx, domain, table, &db, &s, &project, &committed_ms, err);
    if (pending <= 0)
        return pending;

    int64_t started = timeutil_monotonic_ms();
    char location[PATH_MAX];
    if (layout_iceberg_dir(location, sizeof location, ctx->cfg->data_dir, domain, "silver", table,
                           err) < 0 ||
        fsutil_mkdirs(location, 0750, err) < 0)
        return -1;
    if (!s.exists)
        iceberg_random_uuid(s.uuid);

    struct iceberg_field *fields = NULL;
    size_t n = 0;
    struct iceberg_files *files = NULL;
    json_t *schema = NULL, *schemas = NULL, *meta = NULL, *extra = NULL;
    char *schema_text = NULL;
    struct iceberg_snapshot *snaps = NULL;
    struct iceberg_metadata_log *log = NULL;
    size_t nsnaps = 0, nlog = 0, nstrings = 0;
    char **strings = calloc(EXPORT_STRINGS_MAX, sizeof *strings);
    char list[PATH_MAX] = "", manifest[PATH_MAX] = "", meta_path[PATH_MAX] = "";
    char previous[PATH_MAX] = "";
    int rc = -1;
    bool committed = false;
    if (strings == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    if (export_fields(ctx, db, domain, table, &s, &fields, &n, err) < 0 ||
        (files = export_data(db, table, location, fields, n, err)) == NULL)
        goto done;

    schema = iceberg_schema_json(s.schema_id, fields, n);
    bool schema_added = false;
    if ((schemas = export_schemas(db, table, schema, &s, &schema_added, err)) == NULL)
        goto done;
    schema_text = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int64_t snapshot_id = iceberg_random_snapshot_id(), sequence = s.last_sequence + 1;
    struct iceberg_manifest_info info = {.schema_json = schema_text, .schema_id = s.schema_id,
                                         .partition_spec_json = "[]", .content = ICEBERG_DATA};
    if (schema_text == NULL ||
        iceberg_write_snapshot(location, files, &info, snapshot_id,
                               s.exists ? s.current_snapshot : -1, sequence, manifest, list,
                               err) < 0)
        goto done;

    if (export_history(db, table, &snaps, &nsnaps, &log, &nlog, strings, &nstrings, err) < 0)
        goto done;
    size_t nfiles;
    iceberg_files_list(files, &nfiles);
    extra = export_summary(files);
    struct iceberg_snapshot *snap = &snaps[nsnaps];
    *snap = (struct iceberg_snapshot){
        .snapshot_id = snapshot_id, .parent_id = s.exists ? s.current_snapshot : -1,
        .sequence_number = sequence, .timestamp_ms = committed_ms, .manifest_list = list,
        .schema_id = s.schema_id, .operation = s.exists ? "overwrite" : "append",
        .lakehouse_snapshot_id = project, .summary_extra = extra};
    /* the version being replaced joins the metadata log */
    if (s.exists && iceberg_metadata_path(previous, location, s.version, err) < 0)
        goto done;
    int64_t now_ms = timeutil_now_ms();
    if (export_log_append(&log, &nlog, s.exists ? previous : NULL, now_ms, err) < 0)
        goto done;
    struct iceberg_table t = {.uuid = s.uuid, .location = location,
                              .last_sequence_number = sequence, .last_updated_ms = now_ms,
                              .last_column_id = s.last_column_id, .current_schema_id = s.schema_id,
                              .schemas = schemas, .snapshots = snaps, .nsnapshots = nsnaps + 1,
                              .current_snapshot_id = snapshot_id, .metadata_log = log,
                              .nmetadata_log = nlog};
    if ((meta = iceberg_table_json(&t, err)) == NULL)
        goto done;
    if (export_put_metadata(location, s.version + 1, meta, meta_path, err) < 0)
        goto done;
    int64_t duration = timeutil_monotonic_ms() - started;
    if (export_commit(db, table, location, &s, meta_path, s.exists ? previous : NULL, now_ms, snap,
                      schema_text, schema_added, fields, n, files, manifest, duration,
                      err) < 0) {
        unlink(meta_path);
        goto done;
    }
    committed = true;
    if (iceberg_write_version_hint(location, s.version + 1, err) < 0)
        log_warn("iceberg_version_hint_failed table=%s/%s reason=\"%s\" action=retry_next_export",
                 domain, table, err);
    log_info("iceberg_exported table=%s/%s snapshot=%" PRId64 " iceberg_snapshot=%" PRId64
             " version=%" PRId64 " rows=%" PRId64 " files=%zu duration_ms=%" PRId64,
             domain, table, project, snapshot_id, s.version + 1, iceberg_files_rows(files),
             nfiles, duration);
    char label[2 * NAMES_MAX];
    snprintf(label, sizeof label, "%s/%s", domain, table);
    stats_observe("iceberg_export_duration_seconds", label, (double)duration / 1000.0);
    rc = 1;
done:
    if (!committed && list[0] != '\0') {
        unlink(list); /* and the data files below */
        unlink(manifest);
    }
    iceberg_files_free(&files, !committed);
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

/* lakehouse_iceberg_export_lag_seconds / _snapshots of a table: how far its
 * export is behind (the age of the oldest snapshot not exported yet). */
static void export_lag(sqlite3 *db, const char *domain, const char *table)
{
    sqlite3_stmt *st;
    char err[ERROR_MAX];
    if (export_prepare(db, "SELECT count(*), min(committed_at) FROM _snapshots WHERE "
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
        char label[2 * NAMES_MAX];
        snprintf(label, sizeof label, "%s/%s", domain, table);
        stats_gauge("iceberg_export_lag_seconds", label, lag < 0 ? 0 : lag);
        stats_gauge("iceberg_export_lag_snapshots", label, (double)behind);
    }
    sqlite3_finalize(st);
}

/* Tables of one domain (all with a snapshot), or just `only`. */
static int export_domain(struct processor_ctx *ctx, const char *domain, const char *only,
                         int64_t *exported, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    if (layout_silver_db(path, sizeof path, ctx->cfg->data_dir, domain) < 0)
        return error_set(err, "path too long");
    if (access(path, F_OK) != 0)
        return only != NULL && only[0] ? error_set(err, "no silver database for domain %s", domain)
                                       : 0;
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        return -1;
    struct strlist tables = {0};
    sqlite3_stmt *st;
    if (export_prepare(sdb->db, "SELECT DISTINCT table_name FROM _snapshots ORDER BY 1", &st,
                       err) < 0)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (names_is_valid_column(t) && (only == NULL || !only[0] || strcmp(only, t) == 0))
            strlist_push(&tables, t);
    }
    sqlite3_finalize(st);
    int rc = 0;
    for (size_t i = 0; i < tables.count; i++) {
        char terr[ERROR_MAX];
        int r = export_table(ctx, domain, tables.items[i], terr);
        if (r < 0) {
            log_error("iceberg_export_failed table=%s/%s reason=\"%s\" action=retry_next_tick",
                      domain, tables.items[i], terr);
            if (rc == 0)
                error_set(err, "%s/%s: %s", domain, tables.items[i], terr);
            rc = -1;
        } else {
            *exported += r;
        }
        export_lag(sdb->db, domain, tables.items[i]);
    }
    if (only != NULL && only[0] && tables.count == 0 && rc == 0)
        rc = error_set(err, "no silver table %s/%s", domain, only);
    strlist_clear(&tables);
    return rc;
}

/* Delete the files of dir (data/ or metadata/ of a table) that nothing
 * committed references and that are older than the grace period. */
static int export_sweep_dir(sqlite3 *db, const char *table, const char *dir,
                            int64_t metadata_version, int64_t *removed, char err[ERROR_MAX])
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : error_set(err, "%s: %s", dir, strerror(errno));
    sqlite3_stmt *st;
    if (export_prepare(db, "SELECT 1 FROM _iceberg_files WHERE table_name = ?1 AND path = ?2",
                       &st, err) < 0) {
        closedir(d);
        return -1;
    }
    time_t horizon = time(NULL) - EXPORT_SWEEP_GRACE_S;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        long long v;
        int used = 0;
        if (e->d_name[0] == '.' || strcmp(e->d_name, "version-hint.text") == 0)
            continue;
        if (sscanf(e->d_name, "v%lld.metadata.json%n", &v, &used) == 1 &&
            e->d_name[used] == '\0' && v <= metadata_version)
            continue; /* a committed version */
        if (fsutil_path(path, sizeof path, err, "%s/%s", dir, e->d_name) < 0)
            continue;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            continue;
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_mtime < horizon &&
            unlink(path) == 0) {
            log_info("iceberg_orphan_removed table=%s file=%s", table, path);
            (*removed)++;
        }
    }
    sqlite3_finalize(st);
    closedir(d);
    return 0;
}

/* 1 when _iceberg_files lists files of the table, 0 when not, -1 error. */
static int export_has_files(sqlite3 *db, const char *table)
{
    sqlite3_stmt *st;
    char err[ERROR_MAX];
    if (export_query(db, "SELECT 1 FROM _iceberg_files WHERE table_name = ?1 LIMIT 1", table,
                     &st, err) < 0)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int export_sweep(struct processor_ctx *ctx, int64_t *removed, char err[ERROR_MAX])
{
    *removed = 0;
    char bronze[PATH_MAX];
    struct strlist domains = {0};
    if (layout_dir(bronze, sizeof bronze, ctx->cfg->data_dir, "bronze") < 0 ||
        scan_dir(bronze, SCAN_OBJECT_DIRS, &domains, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < domains.count && rc == 0; i++) {
        char path[PATH_MAX];
        struct silver_db *sdb;
        if (layout_silver_db(path, sizeof path, ctx->cfg->data_dir, domains.items[i]) < 0 ||
            access(path, F_OK) != 0)
            continue;
        if (silver_get(ctx->silver, domains.items[i], &sdb, err) < 0 ||
            sqlutil_exec(sdb->db, export_ddl, err, "export tables of %s", domains.items[i]) < 0) {
            rc = -1;
            break;
        }
        sqlite3_stmt *st;
        if (export_prepare(sdb->db, "SELECT table_name, location, metadata_version "
                                    "FROM _iceberg_tables", &st, err) < 0) {
            rc = -1;
            break;
        }
        while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
            const char *table = (const char *)sqlite3_column_text(st, 0);
            const char *location = (const char *)sqlite3_column_text(st, 1);
            int64_t version = sqlite3_column_int64(st, 2);
            /* a crash between the commit and the hint left the hint behind */
            if (iceberg_read_version_hint(location, err) != version) {
                if (iceberg_write_version_hint(location, version, err) < 0)
                    log_warn("iceberg_version_hint_failed table=%s/%s reason=\"%s\"",
                             domains.items[i], table, err);
                else
                    log_info("iceberg_version_hint_repaired table=%s/%s version=%" PRId64,
                             domains.items[i], table, version);
            }
            if (export_has_files(sdb->db, table) != 1)
                continue; /* nothing recorded: keep everything rather than guess */
            char sub[PATH_MAX];
            for (int k = 0; k < 2 && rc == 0; k++) {
                if (fsutil_path(sub, sizeof sub, err, "%s/%s", location,
                                k ? "metadata" : "data") < 0 ||
                    export_sweep_dir(sdb->db, table, sub, version, removed, err) < 0)
                    rc = -1;
            }
        }
        sqlite3_finalize(st);
    }
    strlist_clear(&domains);
    return rc;
}

bool export_enabled(const struct config *cfg)
{
    return strcmp(cfg->iceberg_export, "local") == 0;
}

int export_run_scope(struct processor_ctx *ctx, const char *domain, const char *table,
                     int64_t *exported, char err[ERROR_MAX])
{
    *exported = 0;
    if (domain != NULL && domain[0])
        return export_domain(ctx, domain, table, exported, err);
    char bronze[PATH_MAX];
    struct strlist domains = {0};
    if (layout_dir(bronze, sizeof bronze, ctx->cfg->data_dir, "bronze") < 0 ||
        scan_dir(bronze, SCAN_OBJECT_DIRS, &domains, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < domains.count; i++) {
        char derr[ERROR_MAX];
        if (export_domain(ctx, domains.items[i], NULL, exported, derr) < 0 && rc == 0) {
            snprintf(err, ERROR_MAX, "%s", derr);
            rc = -1;
        }
    }
    strlist_clear(&domains);
    return rc;
}

void export_tick(struct processor_ctx *ctx)
{
    if (!export_enabled(ctx->cfg) || pending_count(ctx->pending) > 0)
        return; /* merges come first */
    int64_t now = timeutil_monotonic_ms();
    if (ctx->next_export_ms == 0)
        ctx->next_export_ms = now + ctx->cfg->iceberg_export_interval_s * 1000;
    if (now < ctx->next_export_ms)
        return;
    ctx->next_export_ms = now + ctx->cfg->iceberg_export_interval_s * 1000;
    int64_t exported;
    char err[ERROR_MAX];
    export_run_scope(ctx, NULL, NULL, &exported, err); /* failures logged per table */
}

void export_run(struct processor_ctx *ctx, const struct control_request *req,
                struct control_reply *reply)
{
    char err[ERROR_MAX] = "";
    int64_t exported = 0;
    int rc;
    if (!export_enabled(ctx->cfg))
        rc = error_fail(err, ERROR_INVALID, "iceberg_export is '%s': nothing is exported",
                        ctx->cfg->iceberg_export);
    else if (req->name[0] && !req->domain[0])
        rc = error_fail(err, ERROR_INVALID, "export of table %s needs its domain", req->name);
    else
        rc = export_run_scope(ctx, req->domain, req->name, &exported, err);
    reply->ok = rc == 0;
    reply->kind = error_kind_of(rc);
    reply->count = exported;
    if (rc < 0)
        snprintf(reply->message, sizeof reply->message, "export failed: %s", err);
    else
        snprintf(reply->message, sizeof reply->message,
                 "exported %" PRId64 " table(s) to %s/iceberg (the others were current)",
                 exported, ctx->cfg->data_dir);
}

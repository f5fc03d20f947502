/* export_bronze.c - each endpoint's bronze published as an append-only
 * Iceberg v2 table under <domain>_bronze/<endpoint>/ of the table store
 * (iceberg_store.h: <data>/iceberg or s3://<bucket>/<prefix>).
 *
 * Columns are those of the bronze query form (common/read/bronze_vtab.h:
 * the endpoint's columns, or one JSON string `record` without a schema,
 * then _insert_date, _seq, _schema_version, _batch_id, _rescued); the rows
 * are read through that virtual table file by file (_file = X), so another
 * engine reads exactly what `lakehouse query` shows. Each export tick appends
 * the sealed files not exported yet (at most EXPORT_BRONZE_FILES_MAX) as one
 * Iceberg snapshot: new Parquet data files and one new manifest, a manifest
 * list naming every manifest so far, metadata/v<N+1>.metadata.json created
 * exclusively, then the commit in silver/<domain>.db (one transaction: the
 * table pointer, the manifest, the field ids and the bronze files covered),
 * then version-hint.text. A crash before the commit leaves version N
 * readable and the files covered unrecorded (exported again, never twice:
 * the pointer and the covered files commit together). Rows are exported
 * above a _seq watermark (the highest _seq of the files covered), so a
 * compaction of exported files into one new file adds nothing twice. */
#include "processor.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bronze.h"
#include "fsutil.h"
#include "iceberg_delta.h"
#include "iceberg_export.h"
#include "iceberg_table.h"
#include "layout.h"
#include "log.h"
#include "read/bronze_vtab.h"
#include "retention_policy.h"
#include "sqlutil.h"
#include "stats.h"
#include "strbuf.h"
#include "timeutil.h"

/* Bounds the work of one tick per endpoint; the rest follows next tick. */
#define EXPORT_BRONZE_FILES_MAX 256

const char export_bronze_ddl[] =
    "CREATE TABLE IF NOT EXISTS _iceberg_bronze_tables (endpoint TEXT PRIMARY KEY, "
    "uuid TEXT NOT NULL, location TEXT NOT NULL, metadata_version INTEGER NOT NULL, "
    "metadata_file TEXT NOT NULL, last_sequence_number INTEGER NOT NULL, "
    "current_snapshot_id INTEGER NOT NULL, schema_id INTEGER NOT NULL, "
    "schema_json TEXT NOT NULL, last_seq INTEGER NOT NULL, exported_at_ms INTEGER NOT NULL, "
    "duration_ms INTEGER NOT NULL, total_rows INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS _iceberg_bronze_manifests (endpoint TEXT NOT NULL, "
    "path TEXT NOT NULL, length INTEGER NOT NULL, sequence_number INTEGER NOT NULL, "
    "snapshot_id INTEGER NOT NULL, files INTEGER NOT NULL, rows INTEGER NOT NULL, "
    "PRIMARY KEY (endpoint, path));"
    "CREATE TABLE IF NOT EXISTS _iceberg_bronze_fields (endpoint TEXT NOT NULL, "
    "name TEXT NOT NULL, type TEXT NOT NULL, field_id INTEGER NOT NULL, "
    "PRIMARY KEY (endpoint, name, type));"
    "CREATE TABLE IF NOT EXISTS _iceberg_bronze_files (endpoint TEXT NOT NULL, "
    "file TEXT NOT NULL, last_seq INTEGER NOT NULL, snapshot_id INTEGER NOT NULL, "
    "PRIMARY KEY (endpoint, file));";

/* The endpoint's export state (exists false: never exported). */
struct export_bronze_state {
    bool exists;
    char uuid[ICEBERG_UUID_MAX];
    int64_t version, sequence, snapshot, last_seq, total_rows;
    int32_t schema_id, last_column_id;
    char *schema_json; /* malloc'd */
};

/* One export attempt of an endpoint. */
struct export_bronze_run {
    struct processor_ctx *ctx;
    sqlite3 *db; /* silver/<domain>.db */
    struct iceberg_store *store;
    const char *domain, *endpoint;
    char key[PATH_MAX], location[PATH_MAX], label[2 * NAMES_MAX];
    struct export_bronze_state s;
    struct strlist files;       /* relative paths, arrival order */
    int64_t files_last_seq;     /* highest last _seq of files */
    int64_t oldest_mtime;       /* of files (lag) */
    struct iceberg_field *fields;
    size_t nfields;
    struct iceberg_files *data;
    int64_t snapshot_id;
    char manifest[PATH_MAX], list[PATH_MAX], meta[PATH_MAX]; /* locations */
    char manifest_key[PATH_MAX], list_key[PATH_MAX], meta_key[PATH_MAX];
    int64_t manifest_len;
};

static int export_bronze_load(struct export_bronze_run *r, char err[ERROR_MAX])
{
    struct export_bronze_state *s = &r->s;
    sqlite3_stmt *st;
    if (sqlutil_exec(r->db, export_bronze_ddl, err, "bronze export state of %s", r->domain) < 0 ||
        sqlutil_prepare(r->db, "SELECT uuid, metadata_version, last_sequence_number, "
                               "current_snapshot_id, schema_id, schema_json, last_seq, total_rows, "
                               "(SELECT coalesce(max(field_id), 0) FROM _iceberg_bronze_fields "
                               "WHERE endpoint = ?1) FROM _iceberg_bronze_tables WHERE endpoint = ?1",
                        &st, err, "bronze export of %s", r->endpoint) < 0)
        return -1;
    sqlite3_bind_text(st, 1, r->endpoint, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        s->exists = true;
        snprintf(s->uuid, sizeof s->uuid, "%s", (const char *)sqlite3_column_text(st, 0));
        s->version = sqlite3_column_int64(st, 1);
        s->sequence = sqlite3_column_int64(st, 2);
        s->snapshot = sqlite3_column_int64(st, 3);
        s->schema_id = (int32_t)sqlite3_column_int(st, 4);
        s->schema_json = strdup((const char *)sqlite3_column_text(st, 5));
        s->last_seq = sqlite3_column_int64(st, 6);
        s->total_rows = sqlite3_column_int64(st, 7);
        s->last_column_id = (int32_t)sqlite3_column_int(st, 8);
    } else {
        iceberg_random_uuid(s->uuid);
    }
    sqlite3_finalize(st);
    return 0;
}

/* The sealed files of the endpoint not covered yet (last _seq above the
 * watermark), oldest first, at most EXPORT_BRONZE_FILES_MAX; *pending gets
 * how many there are in all. */
static int export_bronze_pending(struct export_bronze_run *r, int64_t *pending,
                                 char err[ERROR_MAX])
{
    const char *data_dir = r->ctx->cfg->data_dir;
    char dir[PATH_MAX];
    struct strlist dates = {0};
    *pending = 0;
    if (layout_bronze_dir(dir, sizeof dir, data_dir, r->domain, r->endpoint, NULL, err) < 0 ||
        scan_dir(dir, SCAN_DATE_DIRS, &dates, err) < 0)
        return -1;
    int rc = 0;
    for (size_t d = 0; d < dates.count && rc == 0; d++) {
        struct strlist names = {0};
        if (layout_bronze_dir(dir, sizeof dir, data_dir, r->domain, r->endpoint,
                              dates.items[d], err) < 0 ||
            scan_dir(dir, SCAN_BRONZE_FILES, &names, err) < 0) {
            rc = -1;
            break;
        }
        /* inputs of a compaction whose output is here: only the output */
        names.count = retention_drop_covered(names.items, names.count);
        for (size_t i = 0; i < names.count && rc == 0; i++) {
            uint64_t first, last;
            char rel[PATH_MAX], path[PATH_MAX];
            struct stat sb;
            if (bronze_parse_name(names.items[i], &first, &last) < 0 ||
                (int64_t)last <= r->s.last_seq)
                continue;
            (*pending)++;
            if (layout_bronze_rel(rel, sizeof rel, r->domain, r->endpoint, dates.items[d],
                                  names.items[i], err) < 0 ||
                layout_path(path, sizeof path, data_dir, rel, err) < 0) {
                rc = -1;
                break;
            }
            if (stat(path, &sb) == 0 && (r->oldest_mtime == 0 || sb.st_mtime < r->oldest_mtime))
                r->oldest_mtime = sb.st_mtime;
            if (r->files.count >= EXPORT_BRONZE_FILES_MAX)
                continue;
            if (strlist_push(&r->files, rel) < 0)
                rc = error_set(err, "out of memory");
            if ((int64_t)last > r->files_last_seq)
                r->files_last_seq = (int64_t)last;
        }
        strlist_clear(&names);
    }
    strlist_clear(&dates);
    return rc;
}

/* Field ids: the recorded id of each name and type, or the next. */
static int export_bronze_field_ids(struct export_bronze_run *r, char err[ERROR_MAX])
{
    sqlite3_stmt *st;
    if (sqlutil_prepare(r->db, "SELECT field_id FROM _iceberg_bronze_fields WHERE endpoint = ?1 "
                               "AND name = ?2 AND type = ?3", &st, err, "bronze export") < 0)
        return -1;
    for (size_t i = 0; i < r->nfields; i++) {
        struct iceberg_field *f = &r->fields[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, r->endpoint, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, f->type, -1, SQLITE_STATIC);
        f->id = sqlite3_step(st) == SQLITE_ROW ? (int32_t)sqlite3_column_int(st, 0)
                                               : ++r->s.last_column_id;
        f->identifier = false; /* bronze keeps every record: no key */
        f->required = strcmp(f->name, "_seq") == 0;
    }
    sqlite3_finalize(st);
    return 0;
}

/* The fields of the bronze query form (without _file) and every new row of
 * the files into Parquet data files under the table's data/. */
static int export_bronze_rows(struct export_bronze_run *r, sqlite3 *mem, char err[ERROR_MAX])
{
    struct export_source fsrc = {.ctx = r->ctx, .domain = r->domain};
    if (export_fields(&fsrc, mem, r->endpoint, &r->fields, &r->nfields, err) < 0)
        return -1;
    if (r->nfields > 0 && strcmp(r->fields[r->nfields - 1].name, "_file") == 0)
        r->nfields--;
    if (export_bronze_field_ids(r, err) < 0)
        return -1;
    struct strbuf sql = {0};
    strbuf_addf(&sql, "SELECT ");
    for (size_t i = 0; i < r->nfields; i++)
        strbuf_addf(&sql, "%s\"%s\"", i ? ", " : "", r->fields[i].name);
    strbuf_addf(&sql, " FROM \"%s\" WHERE _file = ?1 AND _seq > ?2", r->endpoint);
    sqlite3_stmt *st = NULL;
    int rc = sql.failed ? error_set(err, "out of memory")
                        : sqlutil_prepare(mem, sql.s, &st, err, "bronze export of %s/%s",
                                          r->domain, r->endpoint);
    strbuf_free(&sql);
    struct iceberg_write_options opt = {.codec = PARQUET_CODEC_ZSTD, .row_group_bytes = 16 << 20};
    if (rc == 0 &&
        (r->data = iceberg_files_open(r->store, r->key, r->fields, r->nfields, &opt, err)) == NULL)
        rc = -1;
    for (size_t f = 0; rc == 0 && f < r->files.count; f++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, r->files.items[f], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, r->s.last_seq);
        int step;
        while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
            struct parquet_writer *w = iceberg_files_row(r->data, err);
            for (size_t i = 0; w != NULL && rc == 0 && i < r->nfields; i++)
                rc = iceberg_delta_value(w, i, &r->fields[i], st, err);
            if (w == NULL || rc < 0 || parquet_end_row(w, err) < 0 ||
                iceberg_files_row_done(r->data, err) < 0)
                rc = -1;
        }
        if (rc == 0 && step != SQLITE_DONE)
            rc = error_set(err, "reading %s: %s", r->files.items[f], sqlite3_errmsg(mem));
    }
    sqlite3_finalize(st);
    return rc < 0 ? -1 : iceberg_files_finish(r->data, err);
}

/* The new manifest (the files of this snapshot, ADDED) and the manifest
 * list: every manifest committed so far, then the new one. */
static int export_bronze_manifests(struct export_bronze_run *r, const char *schema_text,
                                   int64_t sequence, char err[ERROR_MAX])
{
    char uuid[ICEBERG_UUID_MAX];
    iceberg_random_uuid(uuid);
    if (fsutil_path(r->manifest_key, PATH_MAX, err, "%s/metadata/%s-m0.avro", r->key, uuid) < 0 ||
        fsutil_path(r->list_key, PATH_MAX, err, "%s/metadata/snap-%" PRId64 "-1-%s.avro", r->key,
                    r->snapshot_id, uuid) < 0 ||
        iceberg_store_uri(r->store, r->manifest_key, r->manifest, err) < 0 ||
        iceberg_store_uri(r->store, r->list_key, r->list, err) < 0)
        return -1;
    size_t n;
    const struct iceberg_file *df = iceberg_files_list(r->data, &n);
    struct iceberg_manifest_entry *e = calloc(n + 1, sizeof *e);
    if (e == NULL)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < n; i++)
        e[i] = (struct iceberg_manifest_entry){
            .status = ICEBERG_ADDED, .snapshot_id = r->snapshot_id, .sequence_number = -1,
            .file_sequence_number = -1,
            .file = {.content = ICEBERG_DATA, .path = df[i].path, .format = "PARQUET",
                     .record_count = df[i].rows, .file_size = df[i].size,
                     .metrics = df[i].metrics, .nmetrics = df[i].nmetrics}};
    struct iceberg_manifest_info info = {.schema_json = schema_text, .schema_id = r->s.schema_id,
                                         .partition_spec_json = "[]", .content = ICEBERG_DATA};
    struct strbuf b = {0};
    int rc = iceberg_manifest_encode(&b, &info, e, n, err);
    free(e);
    if (rc == 0 && iceberg_store_put(r->store, r->manifest_key, b.s, b.len, true, err) != S3_OK)
        rc = -1;
    r->manifest_len = (int64_t)b.len;
    strbuf_free(&b);
    if (rc < 0)
        return -1;
    /* the earlier manifests, as committed */
    sqlite3_stmt *st;
    if (sqlutil_prepare(r->db, "SELECT path, length, sequence_number, snapshot_id, files, rows "
                               "FROM _iceberg_bronze_manifests WHERE endpoint = ?1 "
                               "ORDER BY sequence_number", &st, err, "bronze export") < 0)
        return -1;
    sqlite3_bind_text(st, 1, r->endpoint, -1, SQLITE_STATIC);
    struct iceberg_manifest_file *m = NULL;
    size_t count = 0;
    struct strlist paths = {0};
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        struct iceberg_manifest_file *g = realloc(m, (count + 2) * sizeof *g);
        if (g == NULL || strlist_push(&paths, (const char *)sqlite3_column_text(st, 0)) < 0) {
            rc = error_set(err, "out of memory");
            m = g != NULL ? g : m;
            break;
        }
        m = g;
        int64_t seq = sqlite3_column_int64(st, 2);
        m[count++] = (struct iceberg_manifest_file){
            .length = sqlite3_column_int64(st, 1), .content = ICEBERG_DATA,
            .sequence_number = seq, .min_sequence_number = seq,
            .added_snapshot_id = sqlite3_column_int64(st, 3),
            .added_files = (int32_t)sqlite3_column_int(st, 4),
            .added_rows = sqlite3_column_int64(st, 5)};
    }
    sqlite3_finalize(st);
    struct iceberg_manifest_file *g = rc == 0 ? realloc(m, (count + 1) * sizeof *g) : NULL;
    if (rc == 0 && g == NULL)
        rc = error_set(err, "out of memory");
    if (rc == 0) {
        m = g;
        for (size_t i = 0; i < count; i++)
            m[i].path = paths.items[i];
        m[count++] = (struct iceberg_manifest_file){
            .path = r->manifest, .length = r->manifest_len, .content = ICEBERG_DATA,
            .sequence_number = sequence, .min_sequence_number = sequence,
            .added_snapshot_id = r->snapshot_id, .added_files = (int32_t)n,
            .added_rows = iceberg_files_rows(r->data)};
        rc = iceberg_manifest_list_encode(&b, r->snapshot_id, r->s.exists ? r->s.snapshot : -1,
                                          sequence, m, count, err);
        if (rc == 0 && iceberg_store_put(r->store, r->list_key, b.s, b.len, true, err) != S3_OK)
            rc = -1;
    }
    strbuf_free(&b);
    strlist_clear(&paths);
    free(m);
    return rc;
}

/* metadata/v<N+1>.metadata.json: the current schema and snapshot (earlier
 * snapshots are not kept: every one of them is a prefix of the current). */
static int export_bronze_metadata(struct export_bronze_run *r, json_t *schema, int64_t sequence,
                                  char err[ERROR_MAX])
{
    char rows[24], files[24], total[24], last[24];
    size_t n;
    iceberg_files_list(r->data, &n);
    snprintf(rows, sizeof rows, "%" PRId64, iceberg_files_rows(r->data));
    snprintf(total, sizeof total, "%" PRId64, r->s.total_rows + iceberg_files_rows(r->data));
    snprintf(files, sizeof files, "%zu", n);
    snprintf(last, sizeof last, "%" PRId64, r->files_last_seq);
    /* no project snapshot: lakehouse.snapshot-id 0, the _seq watermark instead */
    json_t *extra = json_pack("{ssssssss}", "added-data-files", files, "added-records", rows,
                              "total-records", total, "lakehouse.bronze-last-seq", last);
    int64_t now_ms = timeutil_now_ms();
    struct iceberg_snapshot snap = {
        .snapshot_id = r->snapshot_id, .parent_id = r->s.exists ? r->s.snapshot : -1,
        .sequence_number = sequence, .timestamp_ms = now_ms, .manifest_list = r->list,
        .schema_id = r->s.schema_id, .operation = "append",
        .lakehouse_snapshot_id = 0, .summary_extra = extra};
    json_t *schemas = json_pack("[O]", schema);
    struct iceberg_table t = {.uuid = r->s.uuid, .location = r->location,
                              .last_sequence_number = sequence, .last_updated_ms = now_ms,
                              .last_column_id = r->s.last_column_id,
                              .current_schema_id = r->s.schema_id, .schemas = schemas,
                              .snapshots = &snap, .nsnapshots = 1,
                              .current_snapshot_id = r->snapshot_id};
    json_t *meta = iceberg_table_json(&t, err);
    int rc = meta == NULL ? -1
                          : iceberg_metadata_path(r->meta_key, r->key, r->s.version + 1, err);
    if (rc == 0)
        rc = iceberg_write_metadata(r->store, r->key, r->s.version + 1, meta, r->meta, err);
    if (rc < 0 && meta != NULL && error_kind_of(rc) == ERROR_CONFLICT) {
        /* left by an attempt that crashed before its commit: never referenced */
        iceberg_store_delete(r->store, r->meta_key, err);
        rc = iceberg_write_metadata(r->store, r->key, r->s.version + 1, meta, r->meta, err);
    }
    json_decref(meta);
    json_decref(schemas);
    json_decref(extra);
    return rc < 0 ? -1 : 0;
}

/* The commit: pointer, manifest, field ids and the bronze files covered in
 * one transaction. */
static int export_bronze_commit(struct export_bronze_run *r, const char *schema_text,
                                int64_t sequence, int64_t duration_ms, char err[ERROR_MAX])
{
    sqlite3 *db = r->db;
    const char *what = "bronze export commit";
    if (sqlutil_exec(db, "BEGIN IMMEDIATE", err, "%s", what) < 0)
        return -1;
    size_t n;
    iceberg_files_list(r->data, &n);
    int64_t rows = iceberg_files_rows(r->data);
    const struct sqlutil_value table[] = {
        SQLUTIL_TEXT(r->endpoint), SQLUTIL_TEXT(r->s.uuid), SQLUTIL_TEXT(r->location),
        SQLUTIL_INT(r->s.version + 1), SQLUTIL_TEXT(r->meta), SQLUTIL_INT(sequence),
        SQLUTIL_INT(r->snapshot_id), SQLUTIL_INT(r->s.schema_id), SQLUTIL_TEXT(schema_text),
        SQLUTIL_INT(r->files_last_seq), SQLUTIL_INT(timeutil_now_ms()),
        SQLUTIL_INT(duration_ms), SQLUTIL_INT(r->s.total_rows + rows)};
    const struct sqlutil_value manifest[] = {
        SQLUTIL_TEXT(r->endpoint), SQLUTIL_TEXT(r->manifest), SQLUTIL_INT(r->manifest_len),
        SQLUTIL_INT(sequence), SQLUTIL_INT(r->snapshot_id), SQLUTIL_INT((int64_t)n),
        SQLUTIL_INT(rows)};
    int rc = sqlutil_run_values(db, "INSERT OR REPLACE INTO _iceberg_bronze_tables VALUES (?1, "
                                    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                                table, 13, NULL, err, "%s", what);
    if (rc >= 0)
        rc = sqlutil_run_values(db, "INSERT INTO _iceberg_bronze_manifests VALUES (?1, ?2, ?3, "
                                    "?4, ?5, ?6, ?7)", manifest, 7, NULL, err, "%s", what);
    for (size_t i = 0; rc >= 0 && i < r->nfields; i++) {
        const struct sqlutil_value field[] = {
            SQLUTIL_TEXT(r->endpoint), SQLUTIL_TEXT(r->fields[i].name),
            SQLUTIL_TEXT(r->fields[i].type), SQLUTIL_INT(r->fields[i].id)};
        rc = sqlutil_run_values(db, "INSERT OR IGNORE INTO _iceberg_bronze_fields VALUES (?1, "
                                    "?2, ?3, ?4)", field, 4, NULL, err, "%s", what);
    }
    for (size_t i = 0; rc >= 0 && i < r->files.count; i++) {
        uint64_t first = 0, last = 0;
        const char *base = strrchr(r->files.items[i], '/');
        bronze_parse_name(base != NULL ? base + 1 : r->files.items[i], &first, &last);
        const struct sqlutil_value file[] = {SQLUTIL_TEXT(r->endpoint),
                                             SQLUTIL_TEXT(r->files.items[i]),
                                             SQLUTIL_INT((int64_t)last), SQLUTIL_INT(r->snapshot_id)};
        rc = sqlutil_run_values(db, "INSERT OR IGNORE INTO _iceberg_bronze_files VALUES (?1, ?2, "
                                    "?3, ?4)", file, 4, NULL, err, "%s", what);
    }
    if (rc >= 0 && sqlutil_exec(db, "COMMIT", err, "%s", what) == 0)
        return 0;
    sqlutil_exec(db, "ROLLBACK", NULL, NULL);
    return -1;
}

/* The schema of the fields; a new schema id when it differs from the
 * committed one. *text gets its JSON (caller frees). */
static json_t *export_bronze_schema(struct export_bronze_run *r, char **text)
{
    json_t *schema = iceberg_schema_json(r->s.schema_id, r->fields, r->nfields);
    json_t *old = r->s.schema_json != NULL ? json_loads(r->s.schema_json, 0, NULL) : NULL;
    if (r->s.exists && (old == NULL || !json_equal(old, schema))) {
        r->s.schema_id++;
        json_object_set_new(schema, "schema-id", json_integer(r->s.schema_id));
    }
    json_decref(old);
    *text = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    return schema;
}

/* Write and commit the snapshot of r->files (files removed on failure). */
static int export_bronze_write(struct export_bronze_run *r, char err[ERROR_MAX])
{
    int64_t started = timeutil_monotonic_ms();
    sqlite3 *mem = NULL;
    char *schema_text = NULL;
    json_t *schema = NULL;
    bool committed = false;
    int64_t sequence = r->s.sequence + 1;
    r->snapshot_id = iceberg_random_snapshot_id();
    int rc = 0;
    if (sqlite3_open(":memory:", &mem) != SQLITE_OK)
        rc = error_set(err, "bronze export: cannot open an in-memory database");
    if (rc == 0)
        rc = bronze_vtab_attach(mem, r->ctx->cfg->data_dir, r->domain, r->endpoint, err);
    if (rc == 0)
        rc = export_bronze_rows(r, mem, err);
    if (rc == 0) {
        schema = export_bronze_schema(r, &schema_text);
        rc = schema_text == NULL ? error_set(err, "out of memory") : 0;
    }
    if (rc == 0)
        rc = export_bronze_manifests(r, schema_text, sequence, err);
    if (rc == 0)
        rc = export_bronze_metadata(r, schema, sequence, err);
    int64_t duration = timeutil_monotonic_ms() - started;
    if (rc == 0)
        rc = export_bronze_commit(r, schema_text, sequence, duration, err);
    committed = rc == 0;
    if (!committed) {
        char derr[ERROR_MAX];
        if (r->meta[0] != '\0')
            iceberg_store_delete(r->store, r->meta_key, derr);
        if (r->list[0] != '\0')
            iceberg_store_delete(r->store, r->list_key, derr);
        if (r->manifest[0] != '\0')
            iceberg_store_delete(r->store, r->manifest_key, derr);
    } else {
        char herr[ERROR_MAX];
        if (iceberg_write_version_hint(r->store, r->key, r->s.version + 1, herr) < 0)
            log_warn("iceberg_version_hint_failed table=%s/%s reason=\"%s\" "
                     "action=retry_next_export", r->domain, r->label, herr);
        log_info("iceberg_exported layer=bronze table=%s/%s files=%zu last_seq=%" PRId64
                 " iceberg_snapshot=%" PRId64 " version=%" PRId64 " rows=%" PRId64
                 " duration_ms=%" PRId64, r->domain, r->endpoint, r->files.count,
                 r->files_last_seq, r->snapshot_id, r->s.version + 1,
                 iceberg_files_rows(r->data), duration);
        stats_observe("iceberg_export_duration_seconds", r->label, (double)duration / 1000.0);
    }
    iceberg_files_free(&r->data, !committed);
    free(schema_text);
    json_decref(schema);
    sqlite3_close(mem);
    return rc;
}

int export_bronze_endpoint(struct processor_ctx *ctx, const char *domain, const char *endpoint,
                           char err[ERROR_MAX])
{
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        return -1;
    struct export_bronze_run r = {.ctx = ctx, .db = sdb->db, .domain = domain,
                                  .endpoint = endpoint, .store = export_store(ctx, err)};
    if (r.store == NULL)
        return -1;
    snprintf(r.label, sizeof r.label, "%s/bronze.%s", domain, endpoint);
    int64_t pending = 0;
    int rc = layout_iceberg_key(r.key, sizeof r.key, domain, "bronze", endpoint, err) < 0 ||
                     iceberg_store_uri(r.store, r.key, r.location, err) < 0
                 ? -1 : 0;
    if (rc == 0)
        rc = export_bronze_load(&r, err);
    if (rc == 0)
        rc = export_bronze_pending(&r, &pending, err);
    if (rc == 0 && r.files.count > 0) {
        rc = export_bronze_write(&r, err);
        if (rc == 0) {
            pending -= (int64_t)r.files.count;
            r.oldest_mtime = 0; /* the rest (if any) is younger: next tick */
        }
        rc = rc == 0 ? 1 : -1;
    }
    /* lag: the files not exported yet and the age of the oldest */
    double lag = r.oldest_mtime > 0 && pending > 0
                     ? (double)(timeutil_now_ms() / 1000 - r.oldest_mtime) : 0;
    stats_gauge("iceberg_export_lag_seconds", r.label, lag < 0 ? 0 : lag);
    stats_gauge("iceberg_export_lag_snapshots", r.label, (double)(pending > 0 ? pending : 0));
    free(r.s.schema_json);
    free(r.fields);
    strlist_clear(&r.files);
    return rc;
}

int export_bronze_domain(struct processor_ctx *ctx, const char *domain, const char *only,
                         int64_t *exported, int64_t *matched, char err[ERROR_MAX])
{
    char dir[PATH_MAX];
    struct strlist endpoints = {0};
    if (layout_bronze_dir(dir, sizeof dir, ctx->cfg->data_dir, domain, NULL, NULL, err) < 0 ||
        scan_dir(dir, SCAN_OBJECT_DIRS, &endpoints, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < endpoints.count; i++) {
        const char *e = endpoints.items[i];
        if (only != NULL && only[0] && strcmp(only, e) != 0)
            continue;
        (*matched)++;
        char eerr[ERROR_MAX];
        int r = export_bronze_endpoint(ctx, domain, e, eerr);
        if (r < 0) {
            log_error("iceberg_export_failed table=%s/bronze.%s reason=\"%s\" "
                      "action=retry_with_backoff", domain, e, eerr);
            if (rc == 0)
                error_set(err, "%s/bronze.%s: %s", domain, e, eerr);
            rc = -1;
        } else {
            *exported += r;
        }
    }
    strlist_clear(&endpoints);
    return rc;
}

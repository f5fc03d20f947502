/* iceberg_delta.c - full or incremental content of one export
 * (iceberg_delta.h). */
#include "iceberg_delta.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#include "rowhistory.h"
#include "sqlutil.h"
#include "strbuf.h"
#include "timeutil.h"

const char iceberg_delta_ddl[] =
    "CREATE TABLE IF NOT EXISTS _iceberg_manifests (table_name TEXT NOT NULL, "
    "snapshot_id INTEGER NOT NULL, path TEXT NOT NULL, length INTEGER NOT NULL, "
    "content INTEGER NOT NULL, sequence_number INTEGER NOT NULL, "
    "min_sequence_number INTEGER NOT NULL, added_snapshot_id INTEGER NOT NULL, "
    "added_files INTEGER NOT NULL, added_rows INTEGER NOT NULL, "
    "PRIMARY KEY (table_name, snapshot_id, path));"
    /* hrow: rowid of the version in _h_<t>; file_id: rowid in _iceberg_files */
    "CREATE TABLE IF NOT EXISTS _iceberg_rows (table_name TEXT NOT NULL, hrow INTEGER NOT NULL, "
    "file_id INTEGER NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (table_name, hrow)) "
    "WITHOUT ROWID;"
    /* files of expired snapshots, deleted after the grace period */
    "CREATE TABLE IF NOT EXISTS _iceberg_expired (table_name TEXT NOT NULL, path TEXT NOT NULL, "
    "expired_at_ms INTEGER NOT NULL, PRIMARY KEY (table_name, path));";

/* the positions of the rows written by this export, until its commit */
static const char id_temp_ddl[] =
    "CREATE TEMP TABLE IF NOT EXISTS _iceberg_pos (hrow INTEGER PRIMARY KEY, "
    "file_no INTEGER NOT NULL, pos INTEGER NOT NULL);"
    "DELETE FROM temp._iceberg_pos;";

/* The Iceberg reserved ids of a position-delete file's columns. */
#define ID_FILE_PATH_ID 2147483546
#define ID_POS_ID 2147483545

static int id_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char err[ERROR_MAX])
{
    return sqlutil_prepare(db, sql, st, err, "export");
}

/* One integer from sql (?1 table, ?2 and ?3 the snapshot range). */
/* sql prepared with ?1 = table, ?2 = a, ?3 = b. */
static int id_bound(sqlite3 *db, const char *sql, const char *table, int64_t a, int64_t b,
                    sqlite3_stmt **st, char err[ERROR_MAX])
{
    if (id_prepare(db, sql, st, err) < 0)
        return -1;
    sqlite3_bind_text(*st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(*st, 2, a);
    sqlite3_bind_int64(*st, 3, b);
    return 0;
}

static int id_count(sqlite3 *db, const char *sql, const char *table, int64_t a, int64_t b,
                    int64_t *out, char err[ERROR_MAX])
{
    sqlite3_stmt *st;
    if (id_bound(db, sql, table, a, b, &st, err) < 0)
        return -1;
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return error_set(err, "export of %s: %s", table, sqlite3_errmsg(db));
    return 0;
}

/* Whether _h_<t> has every field's column (then rows come from it). */
static int id_mapped(sqlite3 *db, const char *table, const struct iceberg_field *f, size_t n,
                     bool *mapped, char err[ERROR_MAX])
{
    char h[NAMES_MAX + 4];
    snprintf(h, sizeof h, "_h_%s", table);
    struct rowhistory_cols cols = {0};
    if (rowhistory_columns(db, "main", h, &cols, err) < 0)
        return -1;
    *mapped = cols.count > 0;
    for (size_t i = 0; i < n && *mapped; i++)
        *mapped = rowhistory_find(&cols, f[i].name) != NULL;
    rowhistory_cols_free(&cols);
    return 0;
}

/* The manifests of the exported snapshot. */
static int id_load_kept(sqlite3 *db, const char *table, int64_t current, struct iceberg_delta *d,
                        char err[ERROR_MAX])
{
    sqlite3_stmt *st;
    if (id_prepare(db, "SELECT path, length, content, sequence_number, min_sequence_number, "
                       "added_snapshot_id, added_files, added_rows FROM _iceberg_manifests "
                       "WHERE table_name = ?1 AND snapshot_id = ?2 ORDER BY rowid", &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, current);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (d->nkept == cap) {
            cap = cap ? cap * 2 : 8;
            struct iceberg_manifest_file *g = realloc(d->kept, cap * sizeof *g);
            if (g == NULL)
                break;
            d->kept = g;
        }
        struct iceberg_manifest_file *m = &d->kept[d->nkept];
        char *path = strdup((const char *)sqlite3_column_text(st, 0));
        if (path == NULL)
            break;
        d->nkept++;
        *m = (struct iceberg_manifest_file){
            .path = path, .length = sqlite3_column_int64(st, 1),
            .content = (enum iceberg_content)sqlite3_column_int(st, 2),
            .sequence_number = sqlite3_column_int64(st, 3),
            .min_sequence_number = sqlite3_column_int64(st, 4),
            .added_snapshot_id = sqlite3_column_int64(st, 5),
            .added_files = (int32_t)sqlite3_column_int(st, 6),
            .added_rows = sqlite3_column_int64(st, 7)};
        if (m->content == ICEBERG_DATA)
            d->kept_data_rows += m->added_rows;
        else
            d->kept_delete_rows += m->added_rows;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return error_set(err, "export state of %s: %s", table,
                         rc == SQLITE_ROW ? "out of memory" : sqlite3_errmsg(db));
    return 0;
}

/* The row count of the table at S (its snapshot row, else counted). */
static int id_rows_at(sqlite3 *db, const char *table, int64_t project, int64_t *rows,
                      char err[ERROR_MAX])
{
    int64_t known = 0;
    if (id_count(db, "SELECT count(*) FROM _snapshots WHERE table_name = ?1 AND snapshot_id = ?2 "
                     "AND row_count IS NOT NULL AND ?3 = ?3", table, project, 0, &known, err) < 0)
        return -1;
    char sql[NAMES_MAX + 96];
    if (known)
        return id_count(db, "SELECT row_count FROM _snapshots WHERE table_name = ?1 AND "
                            "snapshot_id = ?2 AND ?3 = ?3", table, project, 0, rows, err);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\" WHERE ?1 = ?1 AND ?2 = ?2 AND ?3 = ?3",
             table);
    return id_count(db, sql, table, 0, 0, rows, err);
}

/* Whether (E, S] can be exported as a change; else d->why says why not. */
static int id_decide(sqlite3 *db, const char *table, struct iceberg_delta *d, char err[ERROR_MAX])
{
    int64_t whole = 0, ended = 0, added = 0, rows = 0;
    char sql[2 * NAMES_MAX + 256];
    if (id_count(db, "SELECT count(*) FROM _snapshots WHERE table_name = ?1 AND snapshot_id > ?2 "
                     "AND snapshot_id <= ?3 AND operation IN ('overwrite', 'replay')",
                 table, d->from, d->to, &whole, err) < 0)
        return -1;
    if (whole > 0) {
        d->why = "overwrite or replay";
        return 0;
    }
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM \"_h_%s\" AS h JOIN _iceberg_rows AS m ON m.table_name = ?1 "
             "AND m.hrow = h.rowid WHERE h.\"_valid_to\" > ?2 AND h.\"_valid_to\" <= ?3",
             table);
    if (id_count(db, sql, table, d->from, d->to, &ended, err) < 0)
        return -1;
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM \"_h_%s\" WHERE ?1 = ?1 AND \"_valid_from\" > ?2 AND "
             "\"_valid_from\" <= ?3 AND \"_valid_to\" IS NULL", table);
    if (id_count(db, sql, table, d->from, d->to, &added, err) < 0 ||
        id_rows_at(db, table, d->to, &rows, err) < 0)
        return -1;
    int64_t before = d->kept_data_rows - d->kept_delete_rows;
    if (before - ended + added != rows)
        d->why = "history does not account for the rows";
    else if ((ended + added) * 2 > before)
        d->why = "large change";
    else if (d->nkept + 2 > ICEBERG_DELTA_MAX_MANIFESTS)
        d->why = "compaction: manifests";
    else if ((d->kept_delete_rows + ended) * 4 > d->kept_data_rows + added)
        d->why = "compaction: deletes";
    else
        d->full = false;
    d->deletes = ended;
    return 0;
}

int iceberg_delta_plan(sqlite3 *db, const char *table, const struct iceberg_field *f, size_t n,
                       int64_t current, int64_t exported, int64_t project, bool rewrite,
                       struct iceberg_delta *d, char err[ERROR_MAX])
{
    memset(d, 0, sizeof *d);
    d->full = true;
    d->from = exported;
    d->to = project;
    if (sqlutil_exec(db, iceberg_delta_ddl, err, "export state of %s", table) < 0 ||
        id_mapped(db, table, f, n, &d->mapped, err) < 0)
        return -1;
    int64_t overwrite = 0;
    if (id_count(db, "SELECT count(*) FROM _snapshots WHERE table_name = ?1 AND snapshot_id = ?2 "
                     "AND operation = 'overwrite' AND ?3 = ?3", table, project, 0, &overwrite,
                 err) < 0)
        return -1;
    if (overwrite > 0) {
        /* a gold overwrite run: rewritten whole at every run, so the rows
         * are read from the table in its order and no position is kept */
        d->why = "overwrite";
        d->mapped = false;
    } else if (current < 0)
        d->why = "first export";
    else if (rewrite)
        d->why = "type change";
    else if (!d->mapped)
        d->why = "no row history";
    else if (id_load_kept(db, table, current, d, err) < 0)
        return -1;
    else if (d->nkept == 0)
        d->why = "no manifest state";
    else if (id_decide(db, table, d, err) < 0)
        return -1;
    if (d->full)
        d->deletes = 0;
    return 0;
}

void iceberg_delta_free(struct iceberg_delta *d)
{
    for (size_t i = 0; i < d->nkept; i++)
        free((char *)d->kept[i].path);
    free(d->kept);
    d->kept = NULL;
    d->nkept = 0;
}

int iceberg_delta_value(struct parquet_writer *w, size_t col, const struct iceberg_field *f,
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

/* The SELECT of the rows to write (the version's rowid last when mapped). */
static int id_rows_sql(const char *table, const struct iceberg_field *f, size_t n,
                       const struct iceberg_delta *d, struct strbuf *sql, char err[ERROR_MAX])
{
    strbuf_addf(sql, "SELECT ");
    for (size_t i = 0; i < n; i++)
        strbuf_addf(sql, "%s\"%s\"", i ? ", " : "", f[i].name);
    if (!d->mapped)
        strbuf_addf(sql, " FROM \"%s\"", table);
    else if (d->full)
        strbuf_addf(sql, ", rowid FROM \"_h_%s\" WHERE \"_valid_to\" IS NULL", table);
    else
        strbuf_addf(sql, ", rowid FROM \"_h_%s\" WHERE \"_valid_from\" > %" PRId64
                         " AND \"_valid_from\" <= %" PRId64 " AND \"_valid_to\" IS NULL",
                    table, d->from, d->to);
    return sql->failed ? error_set(err, "out of memory") : 0;
}

/* The row of st into files, its position into pos (when mapped). */
static int id_row(sqlite3_stmt *st, const struct iceberg_field *f, size_t n, sqlite3_stmt *pos,
                  struct iceberg_files *files, char err[ERROR_MAX])
{
    struct parquet_writer *w = iceberg_files_row(files, err);
    if (w == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (iceberg_delta_value(w, i, &f[i], st, err) < 0)
            return -1;
    if (pos != NULL) {
        size_t file_no;
        int64_t at;
        iceberg_files_position(files, &file_no, &at);
        sqlite3_reset(pos);
        sqlite3_bind_int64(pos, 1, sqlite3_column_int64(st, (int)n));
        sqlite3_bind_int64(pos, 2, (int64_t)file_no);
        sqlite3_bind_int64(pos, 3, at);
        if (sqlite3_step(pos) != SQLITE_DONE)
            return error_set(err, "export positions: %s",
                             sqlite3_errmsg(sqlite3_db_handle(pos)));
    }
    if (parquet_end_row(w, err) < 0 || iceberg_files_row_done(files, err) < 0)
        return -1;
    return 0;
}

int iceberg_delta_rows(sqlite3 *db, const char *table, const struct iceberg_field *f, size_t n,
                       const struct iceberg_delta *d, struct iceberg_files *files,
                       char err[ERROR_MAX])
{
    struct strbuf sql = {0};
    sqlite3_stmt *st = NULL, *pos = NULL;
    int rc = -1;
    /* one read transaction: the rows are S's, and the positions are
     * written to the temporary table without a commit per row */
    if (id_rows_sql(table, f, n, d, &sql, err) < 0 ||
        sqlutil_exec(db, id_temp_ddl, err, "export positions") < 0 ||
        sqlutil_exec(db, "BEGIN", err, "export of %s", table) < 0)
        goto done;
    if (id_prepare(db, sql.s, &st, err) < 0 ||
        (d->mapped && id_prepare(db, "INSERT INTO temp._iceberg_pos VALUES (?1, ?2, ?3)", &pos,
                                 err) < 0))
        goto end;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if (id_row(st, f, n, pos, files, err) < 0)
            goto end;
    if (step != SQLITE_DONE) {
        error_set(err, "reading %s: %s", table, sqlite3_errmsg(db));
        goto end;
    }
    rc = iceberg_files_finish(files, err);
end:
    sqlite3_finalize(st);
    sqlite3_finalize(pos);
    st = pos = NULL;
    if (sqlutil_exec(db, "COMMIT", rc < 0 ? NULL : err, "export of %s", table) < 0)
        rc = -1;
done:
    strbuf_free(&sql);
    return rc;
}

int iceberg_delta_deletes(sqlite3 *db, const char *table, struct iceberg_store *store,
                          const char *key, struct iceberg_delta *d,
                          const struct iceberg_write_options *opt, struct iceberg_files **out,
                          char err[ERROR_MAX])
{
    *out = NULL;
    if (d->full || d->deletes == 0)
        return 0;
    struct iceberg_field df[2] = {
        {.id = ID_FILE_PATH_ID, .name = "file_path", .required = true, .type = "string",
         .kind = PARQUET_STRING},
        {.id = ID_POS_ID, .name = "pos", .required = true, .type = "long", .kind = PARQUET_LONG}};
    char sql[NAMES_MAX + 320];
    snprintf(sql, sizeof sql,
             "SELECT f.path, m.pos FROM \"_h_%s\" AS h JOIN _iceberg_rows AS m ON "
             "m.table_name = ?1 AND m.hrow = h.rowid JOIN _iceberg_files AS f ON f.rowid = "
             "m.file_id WHERE h.\"_valid_to\" > ?2 AND h.\"_valid_to\" <= ?3 "
             "ORDER BY f.path, m.pos", table);
    sqlite3_stmt *st;
    if (id_bound(db, sql, table, d->from, d->to, &st, err) < 0)
        return -1;
    struct iceberg_write_options dopt = *opt;
    dopt.schema_json = NULL; /* the table's schema is not this file's */
    struct iceberg_files *files = iceberg_files_open(store, key, df, 2, &dopt, err);
    int step = SQLITE_ERROR;
    while (files != NULL && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (id_row(st, df, 2, NULL, files, err) < 0) {
            step = SQLITE_ERROR;
            break;
        }
    }
    sqlite3_finalize(st);
    if (files == NULL)
        return -1;
    if (step != SQLITE_DONE || iceberg_files_finish(files, err) < 0) {
        if (step != SQLITE_DONE && step != SQLITE_ERROR)
            error_set(err, "reading positions of %s: %s", table, sqlite3_errmsg(db));
        iceberg_files_free(&files, true);
        return -1;
    }
    *out = files;
    return 0;
}

static int id_exec(sqlite3 *db, const char *sql, const char *table, int64_t a, int64_t b,
                   char err[ERROR_MAX])
{
    sqlite3_stmt *st;
    if (id_bound(db, sql, table, a, b, &st, err) < 0)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : error_set(err, "export commit: %s", sqlite3_errmsg(db));
}

/* The positions of the rows written: the file rows' ids in _iceberg_files. */
static int id_commit_rows(sqlite3 *db, const char *table, const struct iceberg_files *files,
                          char err[ERROR_MAX])
{
    size_t nfiles;
    const struct iceberg_file *df = iceberg_files_list(files, &nfiles);
    sqlite3_stmt *id;
    if (id_prepare(db, "SELECT rowid FROM _iceberg_files WHERE table_name = ?1 AND path = ?2",
                   &id, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < nfiles && rc == 0; i++) {
        sqlite3_reset(id);
        sqlite3_bind_text(id, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(id, 2, df[i].path, -1, SQLITE_STATIC);
        if (sqlite3_step(id) != SQLITE_ROW) {
            rc = error_set(err, "export commit: %s not recorded", df[i].path);
            break;
        }
        rc = id_exec(db, "INSERT OR REPLACE INTO _iceberg_rows SELECT ?1, hrow, ?2, pos "
                         "FROM temp._iceberg_pos WHERE file_no = ?3",
                     table, sqlite3_column_int64(id, 0), (int64_t)i, err);
    }
    sqlite3_finalize(id);
    return rc;
}

int iceberg_delta_commit(sqlite3 *db, const char *table, const struct iceberg_delta *d,
                         int64_t snapshot_id, const struct iceberg_files *files,
                         const struct iceberg_manifest_file *m, size_t nm, char err[ERROR_MAX])
{
    char sql[NAMES_MAX + 256];
    if (d->full) {
        if (id_exec(db, "DELETE FROM _iceberg_rows WHERE table_name = ?1 AND ?2 = ?3", table, 0,
                    0, err) < 0)
            return -1;
    } else {
        snprintf(sql, sizeof sql,
                 "DELETE FROM _iceberg_rows WHERE table_name = ?1 AND hrow IN (SELECT rowid "
                 "FROM \"_h_%s\" WHERE \"_valid_to\" > ?2 AND \"_valid_to\" <= ?3)", table);
        if (id_exec(db, sql, table, d->from, d->to, err) < 0)
            return -1;
    }
    if (d->mapped && id_commit_rows(db, table, files, err) < 0)
        return -1;
    sqlite3_stmt *st;
    if (id_prepare(db, "INSERT OR REPLACE INTO _iceberg_manifests VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                       "?7, ?8, ?9, ?10)", &st, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < nm && rc == 0; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, snapshot_id);
        sqlite3_bind_text(st, 3, m[i].path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, m[i].length);
        sqlite3_bind_int(st, 5, (int)m[i].content);
        sqlite3_bind_int64(st, 6, m[i].sequence_number);
        sqlite3_bind_int64(st, 7, m[i].min_sequence_number);
        sqlite3_bind_int64(st, 8, m[i].added_snapshot_id);
        sqlite3_bind_int(st, 9, m[i].added_files);
        sqlite3_bind_int64(st, 10, m[i].added_rows);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = error_set(err, "export commit: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc;
}

/* The files of the table that no kept snapshot references. */
#define ID_UNREFERENCED                                                                           \
    "table_name = ?1 AND snapshot_id NOT IN (SELECT snapshot_id FROM _iceberg_snapshots "         \
    "WHERE table_name = ?1) AND snapshot_id NOT IN (SELECT added_snapshot_id FROM "              \
    "_iceberg_manifests WHERE table_name = ?1)"

int iceberg_delta_expire(sqlite3 *db, const char *table, int64_t horizon_ms, int64_t keep,
                         int64_t now_ms, int64_t *expired, char err[ERROR_MAX])
{
    *expired = 0;
    if (id_exec(db, "DELETE FROM _iceberg_manifests WHERE table_name = ?1 AND snapshot_id IN "
                    "(SELECT snapshot_id FROM _iceberg_snapshots WHERE table_name = ?1 AND "
                    "timestamp_ms < ?2 AND snapshot_id <> ?3)", table, horizon_ms, keep, err) < 0 ||
        id_exec(db, "DELETE FROM _iceberg_snapshots WHERE table_name = ?1 AND timestamp_ms < ?2 "
                    "AND snapshot_id <> ?3", table, horizon_ms, keep, err) < 0 ||
        id_exec(db, "INSERT OR REPLACE INTO _iceberg_expired SELECT table_name, path, ?2 FROM "
                    "_iceberg_files WHERE " ID_UNREFERENCED " AND ?3 = ?3",
                table, now_ms, 0, err) < 0)
        return -1;
    *expired = sqlite3_changes(db);
    return id_exec(db, "DELETE FROM _iceberg_files WHERE " ID_UNREFERENCED " AND ?2 = ?3", table,
                   0, 0, err);
}

int iceberg_delta_purge(sqlite3 *db, struct iceberg_store *store, const char *table,
                        int64_t grace_s, int64_t *removed, char err[ERROR_MAX])
{
    sqlite3_stmt *st;
    if (sqlutil_exec(db, iceberg_delta_ddl, err, "export state") < 0 ||
        id_prepare(db, "SELECT table_name, path FROM _iceberg_expired WHERE (?1 IS NULL OR "
                       "table_name = ?1) AND expired_at_ms < ?2", &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, timeutil_now_ms() - grace_s * 1000);
    int64_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(st, 1);
        char key[PATH_MAX], kerr[ERROR_MAX];
        if (iceberg_store_key_of(store, path, key, kerr) == 0 &&
            iceberg_store_delete(store, key, kerr) == S3_OK) {
            log_info("iceberg_expired_file_removed table=%s file=%s",
                     (const char *)sqlite3_column_text(st, 0), path);
            n++;
        }
    }
    sqlite3_finalize(st);
    *removed += n;
    if (n == 0)
        return 0;
    if (id_prepare(db, "DELETE FROM _iceberg_expired WHERE (?1 IS NULL OR table_name = ?1) AND "
                       "expired_at_ms < ?2", &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, timeutil_now_ms() - grace_s * 1000);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : error_set(err, "export state: %s", sqlite3_errmsg(db));
}

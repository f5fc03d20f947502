/* iceberg_table.c - files of an Iceberg table in its store (iceberg_table.h). */
#include "iceberg_table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binenc.h"
#include "fsutil.h"

#define IT_TARGET_DEFAULT (UINT64_C(128) << 20)

struct iceberg_files {
    struct iceberg_store *store;
    char key[PATH_MAX];          /* the table's key in the store */
    char uuid[ICEBERG_UUID_MAX]; /* names this snapshot's files */
    struct iceberg_field *fields;
    struct parquet_column *cols;
    size_t n;
    struct iceberg_write_options opt;
    struct parquet_writer *w;    /* the open file, or NULL */
    char open_path[PATH_MAX];    /* where the open file is built (iceberg_store_stage) */
    char open_key[PATH_MAX];
    int64_t open_rows;
    struct iceberg_file *files;
    size_t nfiles, cap;
    int64_t rows;
};

struct iceberg_files *iceberg_files_open(struct iceberg_store *st, const char *key,
                                         const struct iceberg_field *fields, size_t n,
                                         const struct iceberg_write_options *opt,
                                         char err[ERROR_MAX])
{
    struct iceberg_files *f = calloc(1, sizeof *f);
    if (f == NULL || (f->fields = calloc(n, sizeof *f->fields)) == NULL ||
        (f->cols = calloc(n, sizeof *f->cols)) == NULL) {
        if (f != NULL)
            free(f->fields);
        free(f);
        error_set(err, "out of memory");
        return NULL;
    }
    f->store = st;
    snprintf(f->key, sizeof f->key, "%s", key);
    iceberg_random_uuid(f->uuid);
    memcpy(f->fields, fields, n * sizeof *fields);
    for (size_t i = 0; i < n; i++)
        iceberg_field_parquet(&f->fields[i], &f->cols[i]);
    f->n = n;
    f->opt = *opt;
    if (f->opt.target_file_bytes == 0)
        f->opt.target_file_bytes = IT_TARGET_DEFAULT;
    return f;
}

struct parquet_writer *iceberg_files_row(struct iceberg_files *f, char err[ERROR_MAX])
{
    if (f->w != NULL)
        return f->w;
    if (fsutil_path(f->open_key, sizeof f->open_key, err, "%s/data/%05zu-%s.parquet", f->key,
                    f->nfiles, f->uuid) < 0 ||
        iceberg_store_stage(f->store, f->open_key, f->open_path, err) < 0)
        return NULL;
    struct parquet_options po = {.codec = f->opt.codec, .row_group_bytes = f->opt.row_group_bytes,
                                 .kv_key = f->opt.schema_json ? "iceberg.schema" : NULL,
                                 .kv_value = f->opt.schema_json};
    f->w = parquet_writer_open(f->open_path, f->cols, f->n, &po, err);
    f->open_rows = 0;
    return f->w;
}

static int it_close_file(struct iceberg_files *f, char err[ERROR_MAX])
{
    if (f->w == NULL)
        return 0;
    if (f->nfiles == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 4;
        struct iceberg_file *files = realloc(f->files, cap * sizeof *files);
        if (files == NULL) {
            parquet_writer_abort(&f->w);
            return error_set(err, "out of memory");
        }
        f->files = files;
        f->cap = cap;
    }
    struct parquet_column_stats *st = calloc(f->n, sizeof *st);
    struct iceberg_metrics *m = calloc(f->n, sizeof *m);
    if (st == NULL || m == NULL) {
        free(st);
        free(m);
        parquet_writer_abort(&f->w);
        return error_set(err, "out of memory");
    }
    uint64_t size;
    struct iceberg_file *out = &f->files[f->nfiles];
    if (parquet_writer_close(&f->w, &size, st, err) < 0 ||
        iceberg_store_uri(f->store, f->open_key, out->path, err) < 0 ||
        iceberg_store_put_staged(f->store, f->open_key, f->open_path, err) != S3_OK) {
        for (size_t i = 0; i < f->n; i++)
            parquet_stats_free(&st[i]);
        unlink(f->open_path);
        free(st);
        free(m);
        return -1;
    }
    for (size_t i = 0; i < f->n; i++) {
        iceberg_metrics_from_parquet(&f->cols[i], &st[i], &m[i]);
        parquet_stats_free(&st[i]);
    }
    free(st);
    f->nfiles++;
    out->size = (int64_t)size;
    out->rows = f->open_rows;
    out->metrics = m;
    out->nmetrics = f->n;
    return 0;
}

int iceberg_files_row_done(struct iceberg_files *f, char err[ERROR_MAX])
{
    f->open_rows++;
    f->rows++;
    if (f->w != NULL && parquet_writer_bytes(f->w) >= f->opt.target_file_bytes)
        return it_close_file(f, err);
    return 0;
}

int iceberg_files_finish(struct iceberg_files *f, char err[ERROR_MAX])
{
    return it_close_file(f, err);
}

const struct iceberg_file *iceberg_files_list(const struct iceberg_files *f, size_t *n)
{
    *n = f->nfiles;
    return f->files;
}

int64_t iceberg_files_rows(const struct iceberg_files *f)
{
    return f->rows;
}

void iceberg_files_free(struct iceberg_files **fp, bool remove)
{
    struct iceberg_files *f = *fp;
    if (f == NULL)
        return;
    *fp = NULL;
    parquet_writer_abort(&f->w);
    for (size_t i = 0; i < f->nfiles; i++) {
        char key[PATH_MAX], err[ERROR_MAX];
        if (remove && iceberg_store_key_of(f->store, f->files[i].path, key, err) == 0)
            iceberg_store_delete(f->store, key, err);
        free(f->files[i].metrics);
    }
    free(f->files);
    free(f->fields);
    free(f->cols);
    free(f);
}

void iceberg_files_position(const struct iceberg_files *f, size_t *file_no, int64_t *pos)
{
    *file_no = f->nfiles;
    *pos = f->open_rows;
}

/* A store status as a return value: 0, or -(int)kind (error.h). */
static int it_rc(enum s3_status rc)
{
    return rc == S3_OK ? 0 : -(int)rc;
}

/* Create key exclusively with b's bytes; 0 or -kind with err. */
static int it_put(struct iceberg_store *st, const char *key, const struct strbuf *b,
                  char err[ERROR_MAX])
{
    return it_rc(iceberg_store_put(st, key, b->s, b->len, true, err));
}

int iceberg_write_manifest(struct iceberg_store *st, const char *key,
                           const struct iceberg_files *files,
                           const struct iceberg_manifest_info *info, int64_t snapshot_id,
                           int64_t sequence_number, int k, char path[PATH_MAX],
                           struct iceberg_manifest_file *out, char err[ERROR_MAX])
{
    char mkey[PATH_MAX];
    if (fsutil_path(mkey, sizeof mkey, err, "%s/metadata/%s-m%d.avro", key, files->uuid, k) < 0 ||
        iceberg_store_uri(st, mkey, path, err) < 0)
        return -1;
    struct iceberg_manifest_entry *e = calloc(files->nfiles ? files->nfiles : 1, sizeof *e);
    if (e == NULL)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < files->nfiles; i++) {
        const struct iceberg_file *df = &files->files[i];
        e[i].status = ICEBERG_ADDED;
        e[i].snapshot_id = snapshot_id;
        e[i].sequence_number = e[i].file_sequence_number = -1; /* inherited */
        e[i].file = (struct iceberg_data_file){.content = info->content, .path = df->path,
                                               .format = "PARQUET", .record_count = df->rows,
                                               .file_size = df->size, .metrics = df->metrics,
                                               .nmetrics = df->nmetrics};
    }
    struct strbuf b = {0};
    int rc = iceberg_manifest_encode(&b, info, e, files->nfiles, err);
    free(e);
    if (rc == 0)
        rc = it_put(st, mkey, &b, err);
    *out = (struct iceberg_manifest_file){
        .path = path, .length = (int64_t)b.len, .content = info->content,
        .partition_spec_id = info->partition_spec_id, .sequence_number = sequence_number,
        .min_sequence_number = sequence_number, .added_snapshot_id = snapshot_id,
        .added_files = (int32_t)files->nfiles, .added_rows = files->rows};
    strbuf_free(&b);
    return rc;
}

int iceberg_write_manifest_list(struct iceberg_store *st, const char *key, int64_t snapshot_id,
                                int64_t parent_id, int64_t sequence_number,
                                const struct iceberg_manifest_file *m, size_t n,
                                char path[PATH_MAX], char err[ERROR_MAX])
{
    char uuid[ICEBERG_UUID_MAX], lkey[PATH_MAX];
    iceberg_random_uuid(uuid);
    if (fsutil_path(lkey, sizeof lkey, err, "%s/metadata/snap-%" PRId64 "-1-%s.avro", key,
                    snapshot_id, uuid) < 0 ||
        iceberg_store_uri(st, lkey, path, err) < 0)
        return -1;
    struct strbuf b = {0};
    int rc = iceberg_manifest_list_encode(&b, snapshot_id, parent_id, sequence_number, m, n, err);
    if (rc == 0)
        rc = it_put(st, lkey, &b, err);
    strbuf_free(&b);
    return rc;
}

int iceberg_write_snapshot(struct iceberg_store *st, const char *key,
                           const struct iceberg_files *files,
                           const struct iceberg_manifest_info *info, int64_t snapshot_id,
                           int64_t parent_id, int64_t sequence_number,
                           char manifest[PATH_MAX], char list_path[PATH_MAX],
                           char err[ERROR_MAX])
{
    struct iceberg_manifest_file mf;
    if (iceberg_write_manifest(st, key, files, info, snapshot_id, sequence_number, 0, manifest,
                               &mf, err) < 0)
        return -1;
    if (iceberg_write_manifest_list(st, key, snapshot_id, parent_id, sequence_number, &mf, 1,
                                    list_path, err) < 0) {
        char mkey[PATH_MAX], ignored[ERROR_MAX];
        if (iceberg_store_key_of(st, manifest, mkey, ignored) == 0)
            iceberg_store_delete(st, mkey, ignored);
        return -1;
    }
    return 0;
}

int iceberg_metadata_path(char path[PATH_MAX], const char *dir, int64_t version,
                          char err[ERROR_MAX])
{
    return fsutil_path(path, PATH_MAX, err, "%s/metadata/v%" PRId64 ".metadata.json", dir,
                       version);
}

int iceberg_version_hint_path(char path[PATH_MAX], const char *dir, char err[ERROR_MAX])
{
    return fsutil_path(path, PATH_MAX, err, "%s/metadata/version-hint.text", dir);
}

int64_t iceberg_read_version_hint(struct iceberg_store *st, const char *key,
                                  char err[ERROR_MAX])
{
    char path[PATH_MAX];
    struct strbuf b = {0};
    if (iceberg_version_hint_path(path, key, err) < 0)
        return -1;
    if (iceberg_store_get(st, path, &b, err) != S3_OK || b.len > 64) {
        if (b.len > 64)
            error_set(err, "%s: not a version number", path);
        strbuf_free(&b);
        return -1;
    }
    char *end;
    long long v = b.s != NULL ? strtoll(b.s, &end, 10) : 0;
    bool ok = b.s != NULL && end != b.s && v > 0;
    strbuf_free(&b);
    if (!ok)
        return error_set(err, "%s: not a version number", path);
    return (int64_t)v;
}

int iceberg_write_metadata(struct iceberg_store *st, const char *key, int64_t version,
                           const json_t *metadata, char path[PATH_MAX], char err[ERROR_MAX])
{
    char mkey[PATH_MAX];
    if (iceberg_metadata_path(mkey, key, version, err) < 0 ||
        iceberg_store_uri(st, mkey, path, err) < 0)
        return -1;
    char *text = json_dumps(metadata, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL)
        return error_set(err, "out of memory");
    int rc = it_rc(iceberg_store_put(st, mkey, text, strlen(text), true, err));
    free(text);
    return rc;
}

int iceberg_write_version_hint(struct iceberg_store *st, const char *key, int64_t version,
                               char err[ERROR_MAX])
{
    char hkey[PATH_MAX], text[24];
    if (iceberg_version_hint_path(hkey, key, err) < 0)
        return -1;
    int n = snprintf(text, sizeof text, "%" PRId64, version);
    return it_rc(iceberg_store_put(st, hkey, text, (size_t)n, false, err));
}

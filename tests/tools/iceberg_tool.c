/* iceberg_tool.c - test driver of the Parquet writer (and, as they come, the
 * Avro and Iceberg writers): builds files from JSON so that independent
 * readers can check them.
 *
 *   lakehouse-iceberg-tool parquet OUT SPEC.json < rows.ndjson
 *     SPEC: {"codec":"zstd"|"snappy"|"none", "page_bytes":N, "row_group_bytes":N,
 *            "columns":[{"name":..,"type":"long|int|double|boolean|date|
 *            timestamptz|decimal|string","field_id":N,"required":bool,
 *            "precision":P,"scale":S}]}
 *     rows: one JSON array a line, values in column order: null, numbers,
 *     booleans, strings (date "YYYY-MM-DD", timestamptz ISO 8601, decimal
 *     "-12.50"). Prints {"file_size":N,"rows":N,"columns":[{"values","nulls",
 *     "bytes","min","max","metrics":{Iceberg metrics, bounds in hex}}]} (bounds
 *     as text, absent without bounds).
 *
 *   lakehouse-iceberg-tool manifest OUT SPEC.json
 *     SPEC: {"schema":{Iceberg schema},"schema_id":N,"content":"data"|"deletes",
 *            "entries":[{"status":0|1|2,"snapshot_id":N,"sequence_number":N|null,
 *            "file_sequence_number":N|null,"file":{"path":..,"record_count":N,
 *            "metrics":[metrics as the parquet command prints them]}}]}
 *     file_size_in_bytes is the size of the file at "path" (stat).
 *   lakehouse-iceberg-tool manifest-list OUT SPEC.json
 *     SPEC: {"snapshot_id":N,"parent_id":N|null,"sequence_number":N,
 *            "manifests":[{"path":..,"content":..,"sequence_number":N,
 *            "min_sequence_number":N,"added_snapshot_id":N,"added_files":N,
 *            "existing_files":N,"deleted_files":N,"added_rows":N,
 *            "existing_rows":N,"deleted_rows":N}]}
 *     manifest_length is the size of the file at "path". Both print
 *     {"file_size":N}.
 *   lakehouse-iceberg-tool table DIR SPEC.json < rows.ndjson
 *     A whole table of one snapshot at DIR (absolute): data files (rolled at
 *     "target_file_bytes"), manifest, manifest list, metadata/v1.metadata.json
 *     and version-hint.text. SPEC: the parquet command's, plus "identifier"
 *     (column names), "lakehouse_snapshot_id", "timestamp_ms". Prints
 *     {"snapshot_id":N,"files":N,"rows":N}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>

#include "binenc.h"
#include "fsutil.h"
#include "iceberg_manifest.h"
#include "iceberg_table.h"
#include "parquet.h"
#include "timeutil.h"

static int die(const char *msg)
{
    fprintf(stderr, "lakehouse-iceberg-tool: %s\n", msg);
    return 2;
}

static int kind_of(const char *s, enum parquet_kind *k)
{
    static const struct { const char *name; enum parquet_kind kind; } kinds[] = {
        {"long", PARQUET_LONG},       {"int", PARQUET_INT},
        {"double", PARQUET_DOUBLE},   {"boolean", PARQUET_BOOLEAN},
        {"date", PARQUET_DATE},       {"timestamptz", PARQUET_TIMESTAMPTZ},
        {"decimal", PARQUET_DECIMAL}, {"string", PARQUET_STRING},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(s, kinds[i].name) == 0) {
            *k = kinds[i].kind;
            return 0;
        }
    }
    return -1;
}

static int add_value(struct parquet_writer *w, size_t col, const struct parquet_column *c,
                     json_t *v, char err[ERROR_MAX])
{
    if (json_is_null(v))
        return parquet_add_null(w, col, err);
    switch (c->kind) {
    case PARQUET_LONG:
    case PARQUET_INT:
        return parquet_add_int(w, col, json_integer_value(v), err);
    case PARQUET_DOUBLE:
        return parquet_add_double(w, col, json_number_value(v), err);
    case PARQUET_BOOLEAN:
        return parquet_add_bool(w, col, json_is_true(v), err);
    case PARQUET_DATE: {
        int32_t days;
        if (timeutil_parse_date_days(json_string_value(v), &days) < 0)
            return error_set(err, "bad date");
        return parquet_add_int(w, col, days, err);
    }
    case PARQUET_TIMESTAMPTZ: {
        int64_t us;
        if (timeutil_parse_utc_us(json_string_value(v), &us) < 0)
            return error_set(err, "bad timestamp");
        return parquet_add_int(w, col, us, err);
    }
    case PARQUET_DECIMAL:
        return parquet_add_decimal_text(w, col, json_string_value(v), err);
    case PARQUET_STRING:
        return parquet_add_string(w, col, json_string_value(v), json_string_length(v), err);
    }
    return error_set(err, "unknown kind");
}

static json_t *dec_text(__int128 v, int scale)
{
    char digits[64];
    int n = 0;
    unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u > 0 || n <= scale);
    char out[80];
    int k = 0;
    if (v < 0)
        out[k++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        out[k++] = digits[i];
        if (i == scale && scale > 0)
            out[k++] = '.';
    }
    out[k] = '\0';
    return json_string(out);
}

static json_t *bound_json(const struct parquet_column *c, const struct parquet_column_stats *s,
                          bool max)
{
    switch (c->kind) {
    case PARQUET_DOUBLE:
        return json_real(max ? s->max_d : s->min_d);
    case PARQUET_DECIMAL:
        return dec_text(max ? s->max_dec : s->min_dec, c->scale);
    case PARQUET_STRING:
        return max ? json_stringn(s->max_s, s->max_len) : json_stringn(s->min_s, s->min_len);
    default:
        return json_integer(max ? s->max_i : s->min_i);
    }
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char out[2 * ICEBERG_BOUND_MAX + 1];
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
    return json_string(out);
}

static size_t hex_get(const char *s, uint8_t *out)
{
    size_t n = s ? strlen(s) / 2 : 0;
    for (size_t i = 0; i < n && i < ICEBERG_BOUND_MAX; i++)
        sscanf(s + 2 * i, "%2hhx", &out[i]);
    return n < ICEBERG_BOUND_MAX ? n : ICEBERG_BOUND_MAX;
}

static json_t *metrics_json(const struct iceberg_metrics *m)
{
    json_t *j = json_pack("{sIsIsIsIsI}", "field_id", (json_int_t)m->field_id, "column_size",
                          (json_int_t)m->column_size, "value_count", (json_int_t)m->value_count,
                          "null_count", (json_int_t)m->null_count, "nan_count",
                          (json_int_t)m->nan_count);
    if (m->has_lower)
        json_object_set_new(j, "lower", hex_json(m->lower, m->lower_len));
    if (m->has_upper)
        json_object_set_new(j, "upper", hex_json(m->upper, m->upper_len));
    return j;
}

static void metrics_get(json_t *j, struct iceberg_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->field_id = (int32_t)json_integer_value(json_object_get(j, "field_id"));
    m->column_size = json_integer_value(json_object_get(j, "column_size"));
    m->value_count = json_integer_value(json_object_get(j, "value_count"));
    m->null_count = json_integer_value(json_object_get(j, "null_count"));
    m->nan_count = json_integer_value(json_object_get(j, "nan_count"));
    const char *lo = json_string_value(json_object_get(j, "lower"));
    const char *hi = json_string_value(json_object_get(j, "upper"));
    m->has_lower = lo != NULL;
    m->has_upper = hi != NULL;
    m->lower_len = hex_get(lo, m->lower);
    m->upper_len = hex_get(hi, m->upper);
}

static int64_t file_size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int64_t opt_long(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static int write_out(const char *out, struct strbuf *b)
{
    char err[ERROR_MAX];
    if (fsutil_write_file_exclusive(out, b->s, b->len, 0640, err) < 0)
        return die(err);
    printf("{\"file_size\":%zu}\n", b->len);
    strbuf_free(b);
    return 0;
}

static int cmd_manifest(const char *out, const char *spec_path)
{
    json_error_t jerr;
    json_t *spec = json_load_file(spec_path, 0, &jerr);
    if (spec == NULL)
        return die(jerr.text);
    char *schema = json_dumps(json_object_get(spec, "schema"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    const char *content = json_string_value(json_object_get(spec, "content")) ?: "data";
    struct iceberg_manifest_info info = {
        .schema_json = schema ? schema : "{}",
        .schema_id = (int32_t)json_integer_value(json_object_get(spec, "schema_id")),
        .partition_spec_json = "[]",
        .content = strcmp(content, "deletes") == 0 ? ICEBERG_POSITION_DELETES : ICEBERG_DATA,
    };
    json_t *jentries = json_object_get(spec, "entries");
    size_t n = json_array_size(jentries);
    struct iceberg_manifest_entry *e = calloc(n ? n : 1, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        json_t *je = json_array_get(jentries, i), *jf = json_object_get(je, "file");
        e[i].status = (enum iceberg_status)json_integer_value(json_object_get(je, "status"));
        e[i].snapshot_id = json_integer_value(json_object_get(je, "snapshot_id"));
        e[i].sequence_number = opt_long(je, "sequence_number");
        e[i].file_sequence_number = opt_long(je, "file_sequence_number");
        e[i].file.content = info.content;
        e[i].file.path = json_string_value(json_object_get(jf, "path"));
        e[i].file.format = "PARQUET";
        e[i].file.record_count = json_integer_value(json_object_get(jf, "record_count"));
        e[i].file.file_size = file_size_of(e[i].file.path);
        json_t *jm = json_object_get(jf, "metrics");
        size_t nm = json_array_size(jm);
        struct iceberg_metrics *m = calloc(nm ? nm : 1, sizeof *m);
        for (size_t k = 0; k < nm; k++)
            metrics_get(json_array_get(jm, k), &m[k]);
        e[i].file.metrics = m;
        e[i].file.nmetrics = nm;
    }
    struct strbuf b = {0};
    char err[ERROR_MAX];
    int rc = iceberg_manifest_encode(&b, &info, e, n, err);
    for (size_t i = 0; i < n; i++)
        free((void *)e[i].file.metrics);
    free(e);
    free(schema);
    json_decref(spec);
    if (rc < 0)
        return die(err);
    return write_out(out, &b);
}

static int cmd_manifest_list(const char *out, const char *spec_path)
{
    json_error_t jerr;
    json_t *spec = json_load_file(spec_path, 0, &jerr);
    if (spec == NULL)
        return die(jerr.text);
    json_t *jm = json_object_get(spec, "manifests");
    size_t n = json_array_size(jm);
    struct iceberg_manifest_file *m = calloc(n ? n : 1, sizeof *m);
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_array_get(jm, i);
        const char *content = json_string_value(json_object_get(j, "content")) ?: "data";
        m[i].path = json_string_value(json_object_get(j, "path"));
        m[i].length = file_size_of(m[i].path);
        m[i].content = strcmp(content, "deletes") == 0 ? ICEBERG_POSITION_DELETES : ICEBERG_DATA;
        m[i].sequence_number = opt_long(j, "sequence_number");
        m[i].min_sequence_number = opt_long(j, "min_sequence_number");
        m[i].added_snapshot_id = opt_long(j, "added_snapshot_id");
        m[i].added_files = (int32_t)opt_long(j, "added_files");
        m[i].existing_files = (int32_t)opt_long(j, "existing_files");
        m[i].deleted_files = (int32_t)opt_long(j, "deleted_files");
        m[i].added_rows = opt_long(j, "added_rows");
        m[i].existing_rows = opt_long(j, "existing_rows");
        m[i].deleted_rows = opt_long(j, "deleted_rows");
    }
    struct strbuf b = {0};
    char err[ERROR_MAX];
    int rc = iceberg_manifest_list_encode(&b, opt_long(spec, "snapshot_id"),
                                          opt_long(spec, "parent_id"),
                                          opt_long(spec, "sequence_number"), m, n, err);
    free(m);
    json_decref(spec);
    if (rc < 0)
        return die(err);
    return write_out(out, &b);
}

static int cmd_table(const char *dir, const char *spec_path)
{
    json_error_t jerr;
    json_t *spec = json_load_file(spec_path, 0, &jerr);
    if (spec == NULL)
        return die(jerr.text);
    json_t *jcols = json_object_get(spec, "columns"), *ident = json_object_get(spec, "identifier");
    size_t n = json_array_size(jcols);
    struct iceberg_field *fields = calloc(n ? n : 1, sizeof *fields);
    struct parquet_column *cols = calloc(n ? n : 1, sizeof *cols);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(jcols, i);
        struct iceberg_field *f = &fields[i];
        snprintf(f->name, sizeof f->name, "%s", json_string_value(json_object_get(c, "name")));
        const char *type = json_string_value(json_object_get(c, "type")) ?: "";
        if (kind_of(type, &f->kind) < 0)
            return die("bad column type");
        f->id = (int32_t)json_integer_value(json_object_get(c, "field_id"));
        f->required = json_is_true(json_object_get(c, "required"));
        f->precision = (int)json_integer_value(json_object_get(c, "precision"));
        f->scale = (int)json_integer_value(json_object_get(c, "scale"));
        if (f->kind == PARQUET_DECIMAL)
            snprintf(f->type, sizeof f->type, "decimal(%d,%d)", f->precision, f->scale);
        else
            snprintf(f->type, sizeof f->type, "%s", type);
        for (size_t k = 0; k < json_array_size(ident); k++)
            f->identifier |= strcmp(json_string_value(json_array_get(ident, k)), f->name) == 0;
        iceberg_field_parquet(f, &cols[i]);
    }
    const char *codec = json_string_value(json_object_get(spec, "codec")) ?: "zstd";
    struct iceberg_write_options opt = {
        .codec = strcmp(codec, "snappy") == 0 ? PARQUET_CODEC_SNAPPY : PARQUET_CODEC_ZSTD,
        .target_file_bytes = (uint64_t)json_integer_value(json_object_get(spec, "target_file_bytes")),
        .row_group_bytes = (size_t)json_integer_value(json_object_get(spec, "row_group_bytes"))};
    char err[ERROR_MAX];
    /* the table is the last component of dir in a local store at the rest */
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s", dir);
    char *slash = strrchr(root, '/');
    const char *key = slash != NULL ? dir + (slash - root) + 1 : dir;
    if (slash != NULL)
        *slash = '\0';
    else
        snprintf(root, sizeof root, ".");
    struct iceberg_store *store = iceberg_store_open_dir(root, err);
    struct iceberg_files *files =
        store != NULL ? iceberg_files_open(store, key, fields, n, &opt, err) : NULL;
    if (files == NULL)
        return die(err);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        json_t *row = json_loads(line, 0, &jerr);
        struct parquet_writer *w = iceberg_files_row(files, err);
        if (w == NULL || !json_is_array(row) || json_array_size(row) != n)
            return die(w == NULL ? err : "bad row");
        for (size_t i = 0; i < n; i++) {
            if (add_value(w, i, &cols[i], json_array_get(row, i), err) < 0)
                return die(err);
        }
        json_decref(row);
        if (parquet_end_row(w, err) < 0 || iceberg_files_row_done(files, err) < 0)
            return die(err);
    }
    free(line);
    if (iceberg_files_finish(files, err) < 0)
        return die(err);

    json_t *schema = iceberg_schema_json(0, fields, n);
    json_t *schemas = json_pack("[O]", schema);
    char *schema_text = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    struct iceberg_manifest_info info = {.schema_json = schema_text, .schema_id = 0,
                                         .partition_spec_json = "[]", .content = ICEBERG_DATA};
    int64_t snapshot_id = iceberg_random_snapshot_id();
    char manifest[PATH_MAX], list[PATH_MAX], meta_path[PATH_MAX], uuid[ICEBERG_UUID_MAX];
    if (iceberg_write_snapshot(store, key, files, &info, snapshot_id, -1, 1, manifest, list, err) < 0)
        return die(err);
    size_t nfiles;
    iceberg_files_list(files, &nfiles);
    char count[24];
    snprintf(count, sizeof count, "%lld", (long long)iceberg_files_rows(files));
    json_t *extra = json_pack("{ss}", "total-records", count);
    struct iceberg_snapshot snap = {
        .snapshot_id = snapshot_id, .parent_id = -1, .sequence_number = 1,
        .timestamp_ms = json_integer_value(json_object_get(spec, "timestamp_ms")),
        .manifest_list = list, .schema_id = 0, .operation = "append",
        .lakehouse_snapshot_id = json_integer_value(json_object_get(spec, "lakehouse_snapshot_id")),
        .summary_extra = extra};
    iceberg_random_uuid(uuid);
    int32_t last_id = 0;
    for (size_t i = 0; i < n; i++)
        last_id = fields[i].id > last_id ? fields[i].id : last_id;
    struct iceberg_table t = {.uuid = uuid, .location = dir, .last_sequence_number = 1,
                              .last_updated_ms = timeutil_now_ms(), .last_column_id = last_id,
                              .current_schema_id = 0, .schemas = schemas, .snapshots = &snap,
                              .nsnapshots = 1, .current_snapshot_id = snapshot_id};
    json_t *meta = iceberg_table_json(&t, err);
    if (meta == NULL || iceberg_write_metadata(store, key, 1, meta, meta_path, err) < 0 ||
        iceberg_write_version_hint(store, key, 1, err) < 0)
        return die(err);
    printf("{\"snapshot_id\":%lld,\"files\":%zu,\"rows\":%s}\n", (long long)snapshot_id, nfiles,
           count);
    json_decref(meta);
    json_decref(extra);
    json_decref(schemas);
    json_decref(schema);
    free(schema_text);
    iceberg_files_free(&files, false);
    iceberg_store_free(&store);
    free(fields);
    free(cols);
    json_decref(spec);
    return 0;
}

static int cmd_parquet(const char *out, const char *spec_path)
{
    json_error_t jerr;
    json_t *spec = json_load_file(spec_path, 0, &jerr);
    if (spec == NULL)
        return die(jerr.text);
    json_t *jcols = json_object_get(spec, "columns");
    size_t n = json_array_size(jcols);
    struct parquet_column *cols = calloc(n ? n : 1, sizeof *cols);
    struct parquet_column_stats *stats = calloc(n ? n : 1, sizeof *stats);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(jcols, i);
        cols[i].name = json_string_value(json_object_get(c, "name"));
        if (cols[i].name == NULL ||
            kind_of(json_string_value(json_object_get(c, "type")) ?: "", &cols[i].kind) < 0)
            return die("bad column in spec");
        cols[i].field_id = (int32_t)json_integer_value(json_object_get(c, "field_id"));
        cols[i].required = json_is_true(json_object_get(c, "required"));
        cols[i].precision = (int)json_integer_value(json_object_get(c, "precision"));
        cols[i].scale = (int)json_integer_value(json_object_get(c, "scale"));
    }
    struct parquet_options opt = {0};
    const char *codec = json_string_value(json_object_get(spec, "codec")) ?: "zstd";
    opt.codec = strcmp(codec, "snappy") == 0 ? PARQUET_CODEC_SNAPPY
                : strcmp(codec, "none") == 0 ? PARQUET_CODEC_UNCOMPRESSED
                                             : PARQUET_CODEC_ZSTD;
    opt.page_bytes = (size_t)json_integer_value(json_object_get(spec, "page_bytes"));
    opt.row_group_bytes = (size_t)json_integer_value(json_object_get(spec, "row_group_bytes"));
    char err[ERROR_MAX];
    struct parquet_writer *w = parquet_writer_open(out, cols, n, &opt, err);
    if (w == NULL)
        return die(err);
    char *line = NULL;
    size_t cap = 0;
    long rows = 0;
    while (getline(&line, &cap, stdin) > 0) {
        json_t *row = json_loads(line, 0, &jerr);
        if (!json_is_array(row) || json_array_size(row) != n) {
            parquet_writer_abort(&w);
            return die("row is not an array of one value per column");
        }
        for (size_t i = 0; i < n; i++) {
            if (add_value(w, i, &cols[i], json_array_get(row, i), err) < 0) {
                parquet_writer_abort(&w);
                return die(err);
            }
        }
        json_decref(row);
        if (parquet_end_row(w, err) < 0) {
            parquet_writer_abort(&w);
            return die(err);
        }
        rows++;
    }
    free(line);
    uint64_t size;
    if (parquet_writer_close(&w, &size, stats, err) < 0)
        return die(err);
    json_t *res = json_pack("{sIsI}", "file_size", (json_int_t)size, "rows", (json_int_t)rows);
    json_t *rc = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_pack("{sIsIsIsI}", "values", (json_int_t)stats[i].values, "nulls",
                              (json_int_t)stats[i].nulls, "nans", (json_int_t)stats[i].nans,
                              "bytes", (json_int_t)stats[i].bytes);
        if (stats[i].has_bounds) {
            json_object_set_new(c, "min", bound_json(&cols[i], &stats[i], false));
            json_object_set_new(c, "max", bound_json(&cols[i], &stats[i], true));
        }
        struct iceberg_metrics m;
        iceberg_metrics_from_parquet(&cols[i], &stats[i], &m);
        json_object_set_new(c, "metrics", metrics_json(&m));
        json_array_append_new(rc, c);
        parquet_stats_free(&stats[i]);
    }
    json_object_set_new(res, "columns", rc);
    json_dumpf(res, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(res);
    json_decref(spec);
    free(cols);
    free(stats);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "parquet") == 0)
        return cmd_parquet(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "table") == 0)
        return cmd_table(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "manifest") == 0)
        return cmd_manifest(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "manifest-list") == 0)
        return cmd_manifest_list(argv[2], argv[3]);
    fprintf(stderr, "usage: lakehouse-iceberg-tool parquet|manifest|manifest-list|table OUT SPEC.json\n");
    return 2;
}

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
 *     "bytes","min","max"}]} (bounds as text, absent without bounds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

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
    fprintf(stderr, "usage: lakehouse-iceberg-tool parquet OUT SPEC.json < rows.ndjson\n");
    return 2;
}

/* iceberg_manifest.c - Iceberg v2 manifests, manifest lists and column
 * metrics (iceberg_manifest.h). */
#include "iceberg_manifest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "avro.h"

/* Maps with int keys are arrays of key/value records (logicalType "map"),
 * as the spec requires for non-string keys. */
#define IM_MAP(name, id, kid, vid, vtype)                                                          \
    "{\"name\":\"" name "\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"record\"," \
    "\"name\":\"k" #kid "_v" #vid "\",\"fields\":[{\"name\":\"key\",\"type\":\"int\",\"field-id\":" \
    #kid "},{\"name\":\"value\",\"type\":\"" vtype "\",\"field-id\":" #vid "}]},"                  \
    "\"logicalType\":\"map\"}],\"default\":null,\"field-id\":" #id "}"

static const char IM_ENTRY_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
    "{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
    "{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},"
    "{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":3},"
    "{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,"
    "\"field-id\":4},"
    "{\"name\":\"data_file\",\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
    "{\"name\":\"content\",\"type\":\"int\",\"field-id\":134},"
    "{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
    "{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
    "{\"name\":\"partition\",\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":[]},"
    "\"field-id\":102},"
    "{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
    "{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104},"
    IM_MAP("column_sizes", 108, 117, 118, "long") ","
    IM_MAP("value_counts", 109, 119, 120, "long") ","
    IM_MAP("null_value_counts", 110, 121, 122, "long") ","
    IM_MAP("nan_value_counts", 137, 138, 139, "long") ","
    IM_MAP("lower_bounds", 125, 126, 127, "bytes") ","
    IM_MAP("upper_bounds", 128, 129, 130, "bytes") ","
    "{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":131},"
    "{\"name\":\"split_offsets\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"long\","
    "\"element-id\":133}],\"default\":null,\"field-id\":132},"
    "{\"name\":\"equality_ids\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"int\","
    "\"element-id\":136}],\"default\":null,\"field-id\":135},"
    "{\"name\":\"sort_order_id\",\"type\":[\"null\",\"int\"],\"default\":null,\"field-id\":140}"
    "]},\"field-id\":2}]}";

static const char IM_LIST_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
    "{\"name\":\"manifest_path\",\"type\":\"string\",\"field-id\":500},"
    "{\"name\":\"manifest_length\",\"type\":\"long\",\"field-id\":501},"
    "{\"name\":\"partition_spec_id\",\"type\":\"int\",\"field-id\":502},"
    "{\"name\":\"content\",\"type\":\"int\",\"field-id\":517},"
    "{\"name\":\"sequence_number\",\"type\":\"long\",\"field-id\":515},"
    "{\"name\":\"min_sequence_number\",\"type\":\"long\",\"field-id\":516},"
    "{\"name\":\"added_snapshot_id\",\"type\":\"long\",\"field-id\":503},"
    "{\"name\":\"added_files_count\",\"type\":\"int\",\"field-id\":504},"
    "{\"name\":\"existing_files_count\",\"type\":\"int\",\"field-id\":505},"
    "{\"name\":\"deleted_files_count\",\"type\":\"int\",\"field-id\":506},"
    "{\"name\":\"added_rows_count\",\"type\":\"long\",\"field-id\":512},"
    "{\"name\":\"existing_rows_count\",\"type\":\"long\",\"field-id\":513},"
    "{\"name\":\"deleted_rows_count\",\"type\":\"long\",\"field-id\":514},"
    "{\"name\":\"partitions\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"record\","
    "\"name\":\"r508\",\"fields\":["
    "{\"name\":\"contains_null\",\"type\":\"boolean\",\"field-id\":509},"
    "{\"name\":\"contains_nan\",\"type\":[\"null\",\"boolean\"],\"default\":null,\"field-id\":518},"
    "{\"name\":\"lower_bound\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":510},"
    "{\"name\":\"upper_bound\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":511}"
    "]},\"element-id\":508}],\"default\":null,\"field-id\":507},"
    "{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":519}"
    "]}";

/* ---- metrics ---------------------------------------------------------------- */

static size_t im_le(uint8_t *out, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * i));
    return (size_t)n;
}

/* Decimal bound: two's complement big-endian in the fewest bytes. */
static size_t im_decimal(uint8_t *out, __int128 v)
{
    int n = 1;
    while (n < 16) {
        __int128 lim = (__int128)1 << (8 * n - 1);
        if (v >= -lim && v < lim)
            break;
        n++;
    }
    for (int i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return (size_t)n;
}

/* Length of the UTF-8 sequence starting with byte c (1 for stray bytes). */
static size_t im_utf8_len(uint8_t c)
{
    return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* Byte length of the first `chars` code points of s (or all of it). */
static size_t im_prefix(const char *s, size_t len, size_t chars)
{
    size_t i = 0;
    while (i < len && chars-- > 0) {
        size_t n = im_utf8_len((uint8_t)s[i]);
        i = i + n > len ? len : i + n;
    }
    return i;
}

static size_t im_utf8_put(uint8_t *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static uint32_t im_utf8_get(const uint8_t *p, size_t n)
{
    if (n == 1)
        return p[0];
    uint32_t cp = p[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++)
        cp = cp << 6 | (p[i] & 0x3f);
    return cp;
}

/* Upper bound of a string cut to ICEBERG_STRING_BOUND_CHARS: the prefix with
 * its last code point that can grow raised by one (later ones dropped).
 * false when no code point can grow (no bound then). */
static bool im_string_upper(const char *s, size_t len, uint8_t *out, size_t *out_len)
{
    size_t cut = im_prefix(s, len, ICEBERG_STRING_BOUND_CHARS);
    if (cut == len) {
        memcpy(out, s, len);
        *out_len = len;
        return true;
    }
    /* start offsets of the prefix's code points */
    size_t starts[ICEBERG_STRING_BOUND_CHARS], n = 0;
    for (size_t i = 0; i < cut; i += im_utf8_len((uint8_t)s[i]))
        starts[n++] = i;
    while (n-- > 0) {
        size_t at = starts[n], clen = im_utf8_len((uint8_t)s[at]);
        if (at + clen > cut)
            continue;
        uint32_t cp = im_utf8_get((const uint8_t *)s + at, clen) + 1;
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xe000; /* no surrogates in UTF-8 */
        if (cp > 0x10ffff)
            continue;
        memcpy(out, s, at);
        *out_len = at + im_utf8_put(out + at, cp);
        return true;
    }
    return false;
}

void iceberg_metrics_from_parquet(const struct parquet_column *col,
                                  const struct parquet_column_stats *st,
                                  struct iceberg_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->field_id = col->field_id;
    out->column_size = (int64_t)st->bytes;
    out->value_count = st->values;
    out->null_count = st->nulls;
    out->nan_count = col->kind == PARQUET_DOUBLE ? st->nans : -1;
    if (!st->has_bounds)
        return;
    out->has_lower = out->has_upper = true;
    switch (col->kind) {
    case PARQUET_LONG:
    case PARQUET_TIMESTAMPTZ:
        out->lower_len = im_le(out->lower, (uint64_t)st->min_i, 8);
        out->upper_len = im_le(out->upper, (uint64_t)st->max_i, 8);
        break;
    case PARQUET_INT:
    case PARQUET_DATE:
        out->lower_len = im_le(out->lower, (uint64_t)st->min_i, 4);
        out->upper_len = im_le(out->upper, (uint64_t)st->max_i, 4);
        break;
    case PARQUET_BOOLEAN:
        out->lower_len = im_le(out->lower, (uint64_t)st->min_i, 1);
        out->upper_len = im_le(out->upper, (uint64_t)st->max_i, 1);
        break;
    case PARQUET_DOUBLE: {
        /* -0.0 precedes +0.0: a zero bound is widened to cover both */
        double lo = st->min_d == 0 ? -0.0 : st->min_d, hi = st->max_d == 0 ? 0.0 : st->max_d;
        uint64_t bits;
        memcpy(&bits, &lo, sizeof bits);
        out->lower_len = im_le(out->lower, bits, 8);
        memcpy(&bits, &hi, sizeof bits);
        out->upper_len = im_le(out->upper, bits, 8);
        break;
    }
    case PARQUET_DECIMAL:
        out->lower_len = im_decimal(out->lower, st->min_dec);
        out->upper_len = im_decimal(out->upper, st->max_dec);
        break;
    case PARQUET_STRING:
        out->lower_len = im_prefix(st->min_s, st->min_len, ICEBERG_STRING_BOUND_CHARS);
        memcpy(out->lower, st->min_s, out->lower_len);
        out->has_upper = im_string_upper(st->max_s, st->max_len, out->upper, &out->upper_len);
        break;
    }
}

/* ---- manifests ---------------------------------------------------------------- */

enum im_map { IM_SIZES, IM_VALUES, IM_NULLS, IM_NANS, IM_LOWER, IM_UPPER };

/* One optional int-keyed map over the file's metrics; null when no column
 * has the entry. */
static void im_put_map(struct strbuf *b, const struct iceberg_data_file *f, enum im_map which)
{
    int64_t count = 0;
    for (size_t i = 0; i < f->nmetrics; i++) {
        const struct iceberg_metrics *m = &f->metrics[i];
        count += which == IM_NANS ? m->nan_count >= 0
                 : which == IM_LOWER ? m->has_lower
                 : which == IM_UPPER ? m->has_upper
                                     : 1;
    }
    if (count == 0) {
        avro_put_union(b, 0);
        return;
    }
    avro_put_union(b, 1);
    avro_put_block(b, count);
    for (size_t i = 0; i < f->nmetrics; i++) {
        const struct iceberg_metrics *m = &f->metrics[i];
        switch (which) {
        case IM_SIZES:
            avro_put_long(b, m->field_id);
            avro_put_long(b, m->column_size);
            break;
        case IM_VALUES:
            avro_put_long(b, m->field_id);
            avro_put_long(b, m->value_count);
            break;
        case IM_NULLS:
            avro_put_long(b, m->field_id);
            avro_put_long(b, m->null_count);
            break;
        case IM_NANS:
            if (m->nan_count >= 0) {
                avro_put_long(b, m->field_id);
                avro_put_long(b, m->nan_count);
            }
            break;
        case IM_LOWER:
            if (m->has_lower) {
                avro_put_long(b, m->field_id);
                avro_put_bytes(b, m->lower, m->lower_len);
            }
            break;
        case IM_UPPER:
            if (m->has_upper) {
                avro_put_long(b, m->field_id);
                avro_put_bytes(b, m->upper, m->upper_len);
            }
            break;
        }
    }
    avro_put_block(b, 0);
}

static void im_put_optional_long(struct strbuf *b, int64_t v)
{
    if (v < 0) {
        avro_put_union(b, 0);
    } else {
        avro_put_union(b, 1);
        avro_put_long(b, v);
    }
}

int iceberg_manifest_encode(struct strbuf *out, const struct iceberg_manifest_info *info,
                            const struct iceberg_manifest_entry *entries, size_t n,
                            char err[ERROR_MAX])
{
    struct strbuf rec = {0};
    for (size_t i = 0; i < n; i++) {
        const struct iceberg_manifest_entry *e = &entries[i];
        const struct iceberg_data_file *f = &e->file;
        if (e->status != ICEBERG_ADDED && (e->sequence_number < 0 || e->file_sequence_number < 0)) {
            strbuf_free(&rec);
            return error_set(err, "manifest entry %s: an existing or deleted file needs its "
                             "sequence numbers", f->path);
        }
        if (f->content != info->content) {
            strbuf_free(&rec);
            return error_set(err, "manifest entry %s: content %d in a manifest of content %d",
                             f->path, (int)f->content, (int)info->content);
        }
        avro_put_long(&rec, e->status);
        avro_put_union(&rec, 1);
        avro_put_long(&rec, e->snapshot_id);
        im_put_optional_long(&rec, e->sequence_number);
        im_put_optional_long(&rec, e->file_sequence_number);
        avro_put_long(&rec, f->content);
        avro_put_string(&rec, f->path);
        avro_put_string(&rec, f->format);
        /* partition: the empty record of an unpartitioned spec encodes as nothing */
        avro_put_long(&rec, f->record_count);
        avro_put_long(&rec, f->file_size);
        im_put_map(&rec, f, IM_SIZES);
        im_put_map(&rec, f, IM_VALUES);
        im_put_map(&rec, f, IM_NULLS);
        im_put_map(&rec, f, IM_NANS);
        im_put_map(&rec, f, IM_LOWER);
        im_put_map(&rec, f, IM_UPPER);
        avro_put_union(&rec, 0); /* key_metadata */
        avro_put_union(&rec, 0); /* split_offsets */
        avro_put_union(&rec, 0); /* equality_ids: never written */
        avro_put_union(&rec, 0); /* sort_order_id: unsorted */
    }
    char schema_id[16], spec_id[16];
    snprintf(schema_id, sizeof schema_id, "%" PRId32, info->schema_id);
    snprintf(spec_id, sizeof spec_id, "%" PRId32, info->partition_spec_id);
    const struct avro_meta meta[] = {
        {"schema", info->schema_json},
        {"schema-id", schema_id},
        {"partition-spec", info->partition_spec_json},
        {"partition-spec-id", spec_id},
        {"format-version", "2"},
        {"content", info->content == ICEBERG_DATA ? "data" : "deletes"},
    };
    int rc = avro_file_encode(out, IM_ENTRY_SCHEMA, meta, sizeof meta / sizeof meta[0], &rec,
                              (int64_t)n, err);
    strbuf_free(&rec);
    return rc;
}

int iceberg_manifest_list_encode(struct strbuf *out, int64_t snapshot_id, int64_t parent_id,
                                 int64_t sequence_number, const struct iceberg_manifest_file *m,
                                 size_t n, char err[ERROR_MAX])
{
    struct strbuf rec = {0};
    for (size_t i = 0; i < n; i++) {
        avro_put_string(&rec, m[i].path);
        avro_put_long(&rec, m[i].length);
        avro_put_long(&rec, m[i].partition_spec_id);
        avro_put_long(&rec, m[i].content);
        avro_put_long(&rec, m[i].sequence_number);
        avro_put_long(&rec, m[i].min_sequence_number);
        avro_put_long(&rec, m[i].added_snapshot_id);
        avro_put_long(&rec, m[i].added_files);
        avro_put_long(&rec, m[i].existing_files);
        avro_put_long(&rec, m[i].deleted_files);
        avro_put_long(&rec, m[i].added_rows);
        avro_put_long(&rec, m[i].existing_rows);
        avro_put_long(&rec, m[i].deleted_rows);
        avro_put_union(&rec, 1); /* partitions: none in an unpartitioned spec */
        avro_put_block(&rec, 0);
        avro_put_union(&rec, 0); /* key_metadata */
    }
    char sid[24], pid[24], seq[24];
    snprintf(sid, sizeof sid, "%" PRId64, snapshot_id);
    snprintf(pid, sizeof pid, "%" PRId64, parent_id);
    snprintf(seq, sizeof seq, "%" PRId64, sequence_number);
    struct avro_meta meta[4] = {
        {"snapshot-id", sid},
        {"sequence-number", seq},
        {"format-version", "2"},
        {"parent-snapshot-id", pid},
    };
    int rc = avro_file_encode(out, IM_LIST_SCHEMA, meta, parent_id >= 0 ? 4 : 3, &rec,
                              (int64_t)n, err);
    strbuf_free(&rec);
    return rc;
}

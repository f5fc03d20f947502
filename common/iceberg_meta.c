/* iceberg_meta.c - Iceberg v2 table metadata (iceberg_meta.h). */
#include "iceberg_meta.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "timeutil.h"

#define IM_ID_LIMIT (INT64_C(1) << 53)

static void im_set(struct iceberg_field *f, const char *type, enum parquet_kind kind)
{
    snprintf(f->type, sizeof f->type, "%s", type);
    f->kind = kind;
}

void iceberg_field_from_column(const struct schema_column *col, struct iceberg_field *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", col->name);
    out->required = col->required || col->primary_key;
    switch (col->type) {
    case SCHEMA_TYPE_INTEGER:
        im_set(out, "long", PARQUET_LONG);
        break;
    case SCHEMA_TYPE_FLOAT:
        im_set(out, "double", PARQUET_DOUBLE);
        break;
    case SCHEMA_TYPE_BOOLEAN:
        im_set(out, "boolean", PARQUET_BOOLEAN);
        break;
    case SCHEMA_TYPE_DATE:
        im_set(out, "date", PARQUET_DATE);
        break;
    case SCHEMA_TYPE_TIMESTAMP:
        im_set(out, "timestamptz", PARQUET_TIMESTAMPTZ);
        break;
    case SCHEMA_TYPE_DECIMAL:
        /* scale 0 means "unbounded" in the schema, so only a declared
         * scale gives a fixed Iceberg decimal */
        if (col->precision >= 1 && col->precision <= PARQUET_DECIMAL_PRECISION_MAX &&
            col->scale >= 1 && col->scale <= col->precision) {
            snprintf(out->type, sizeof out->type, "decimal(%d,%d)", col->precision, col->scale);
            out->kind = PARQUET_DECIMAL;
            out->precision = col->precision;
            out->scale = col->scale;
        } else {
            im_set(out, "string", PARQUET_STRING);
        }
        break;
    case SCHEMA_TYPE_STRING:
    case SCHEMA_TYPE_JSON:
    case SCHEMA_TYPE_ARRAY:
        im_set(out, "string", PARQUET_STRING);
        break;
    }
}

void iceberg_field_metadata(const char *name, struct iceberg_field *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    if (strcmp(name, "_seq") == 0)
        im_set(out, "long", PARQUET_LONG);
    else if (strcmp(name, "_insert_date") == 0)
        im_set(out, "timestamptz", PARQUET_TIMESTAMPTZ);
    else if (strcmp(name, "_schema_version") == 0)
        im_set(out, "int", PARQUET_INT);
    else
        im_set(out, "string", PARQUET_STRING);
}

void iceberg_field_parquet(const struct iceberg_field *f, struct parquet_column *out)
{
    *out = (struct parquet_column){.name = f->name, .kind = f->kind, .field_id = f->id,
                                   .required = f->required, .precision = f->precision,
                                   .scale = f->scale};
}

json_t *iceberg_schema_json(int32_t schema_id, const struct iceberg_field *fields, size_t n)
{
    json_t *ids = json_array(), *jf = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct iceberg_field *f = &fields[i];
        json_array_append_new(jf, json_pack("{sisssbss}", "id", (int)f->id, "name", f->name,
                                            "required", f->required, "type", f->type));
        if (f->identifier && f->required && f->kind != PARQUET_DOUBLE)
            json_array_append_new(ids, json_integer(f->id));
    }
    return json_pack("{sssisoso}", "type", "struct", "schema-id", (int)schema_id,
                     "identifier-field-ids", ids, "fields", jf);
}

int64_t iceberg_random_snapshot_id(void)
{
    uint64_t v = 0;
    while (v == 0) {
        if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
            v = (uint64_t)timeutil_now_us() ^ (uint64_t)getpid() << 40;
        v &= (uint64_t)IM_ID_LIMIT - 1;
    }
    return (int64_t)v;
}

void iceberg_random_uuid(char out[ICEBERG_UUID_MAX])
{
    uint8_t b[16] = {0};
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t t = (uint64_t)timeutil_now_us() ^ (uint64_t)getpid() << 40;
        memcpy(b, &t, sizeof t);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, ICEBERG_UUID_MAX,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

json_t *iceberg_snapshot_json(const struct iceberg_snapshot *s)
{
    json_t *summary = json_object();
    json_object_set_new(summary, "operation", json_string(s->operation));
    char lh[24];
    snprintf(lh, sizeof lh, "%" PRId64, s->lakehouse_snapshot_id);
    json_object_set_new(summary, "lakehouse.snapshot-id", json_string(lh));
    if (s->summary_extra != NULL) {
        const char *key;
        json_t *value;
        json_object_foreach(s->summary_extra, key, value)
            json_object_set(summary, key, value);
    }
    json_t *j = json_pack("{sIsIsIsssisO}", "snapshot-id", (json_int_t)s->snapshot_id,
                          "sequence-number", (json_int_t)s->sequence_number, "timestamp-ms",
                          (json_int_t)s->timestamp_ms, "manifest-list", s->manifest_list,
                          "schema-id", (int)s->schema_id, "summary", summary);
    if (s->parent_id >= 0)
        json_object_set_new(j, "parent-snapshot-id", json_integer(s->parent_id));
    json_decref(summary);
    return j;
}

static bool im_id_ok(int64_t id)
{
    return id > 0 && id < IM_ID_LIMIT;
}

json_t *iceberg_table_json(const struct iceberg_table *t, char err[ERROR_MAX])
{
    const struct iceberg_snapshot *current = NULL;
    for (size_t i = 0; i < t->nsnapshots; i++) {
        const struct iceberg_snapshot *s = &t->snapshots[i];
        if (!im_id_ok(s->snapshot_id) || !im_id_ok(s->sequence_number)) {
            error_set(err, "snapshot %" PRId64 " (sequence %" PRId64 "): ids must be in [1, 2^53)",
                      s->snapshot_id, s->sequence_number);
            return NULL;
        }
        if (s->sequence_number > t->last_sequence_number) {
            error_set(err, "snapshot %" PRId64 ": sequence number %" PRId64
                      " above last-sequence-number %" PRId64, s->snapshot_id,
                      s->sequence_number, t->last_sequence_number);
            return NULL;
        }
        if (s->snapshot_id == t->current_snapshot_id)
            current = s;
    }
    if (t->current_snapshot_id >= 0 && current == NULL) {
        error_set(err, "current snapshot %" PRId64 " is not among the snapshots",
                  t->current_snapshot_id);
        return NULL;
    }
    json_t *snapshots = json_array(), *snap_log = json_array(), *meta_log = json_array();
    for (size_t i = 0; i < t->nsnapshots; i++) {
        json_array_append_new(snapshots, iceberg_snapshot_json(&t->snapshots[i]));
        json_array_append_new(snap_log, json_pack("{sIsI}", "timestamp-ms",
                                                  (json_int_t)t->snapshots[i].timestamp_ms,
                                                  "snapshot-id",
                                                  (json_int_t)t->snapshots[i].snapshot_id));
    }
    for (size_t i = 0; i < t->nmetadata_log; i++)
        json_array_append_new(meta_log, json_pack("{sIss}", "timestamp-ms",
                                                  (json_int_t)t->metadata_log[i].timestamp_ms,
                                                  "metadata-file", t->metadata_log[i].file));
    json_t *refs = json_object();
    if (current != NULL)
        json_object_set_new(refs, "main", json_pack("{sIss}", "snapshot-id",
                                                    (json_int_t)current->snapshot_id, "type",
                                                    "branch"));
    json_t *j = json_object();
    json_object_set_new(j, "format-version", json_integer(ICEBERG_FORMAT_VERSION));
    json_object_set_new(j, "table-uuid", json_string(t->uuid));
    json_object_set_new(j, "location", json_string(t->location));
    json_object_set_new(j, "last-sequence-number", json_integer(t->last_sequence_number));
    json_object_set_new(j, "last-updated-ms", json_integer(t->last_updated_ms));
    json_object_set_new(j, "last-column-id", json_integer(t->last_column_id));
    json_object_set_new(j, "current-schema-id", json_integer(t->current_schema_id));
    json_object_set(j, "schemas", t->schemas);
    json_object_set_new(j, "default-spec-id", json_integer(0));
    json_object_set_new(j, "partition-specs", json_pack("[{siso}]", "spec-id", 0, "fields",
                                                        json_array()));
    /* 999: no partition field yet, new ones would start at 1000 */
    json_object_set_new(j, "last-partition-id", json_integer(999));
    json_object_set_new(j, "default-sort-order-id", json_integer(0));
    json_object_set_new(j, "sort-orders", json_pack("[{siso}]", "order-id", 0, "fields",
                                                    json_array()));
    if (t->properties != NULL)
        json_object_set(j, "properties", t->properties);
    else
        json_object_set_new(j, "properties", json_object());
    if (current != NULL)
        json_object_set_new(j, "current-snapshot-id", json_integer(current->snapshot_id));
    json_object_set_new(j, "refs", refs);
    json_object_set_new(j, "snapshots", snapshots);
    json_object_set_new(j, "statistics", json_array());
    json_object_set_new(j, "snapshot-log", snap_log);
    json_object_set_new(j, "metadata-log", meta_log);
    return j;
}

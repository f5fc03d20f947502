/* test_iceberg_meta.c - unit tests of the Iceberg table metadata (iceberg_meta.h):
 * the type mapping, schema JSON with identifier fields, the metadata
 * document and its rules. icebird reads whole tables in iceberg_table.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "iceberg_meta.h"

static void map(enum schema_type type, int precision, int scale, const char *want,
                enum parquet_kind kind)
{
    struct schema_column col = {.type = type, .precision = precision, .scale = scale};
    strcpy(col.name, "c");
    struct iceberg_field f;
    iceberg_field_from_column(&col, &f);
    assert_string_equal(f.type, want);
    assert_int_equal(f.kind, kind);
}

static void test_type_mapping(void **state)
{
    (void)state;
    map(SCHEMA_TYPE_INTEGER, 0, 0, "long", PARQUET_LONG);
    map(SCHEMA_TYPE_FLOAT, 0, 0, "double", PARQUET_DOUBLE);
    map(SCHEMA_TYPE_BOOLEAN, 0, 0, "boolean", PARQUET_BOOLEAN);
    map(SCHEMA_TYPE_DATE, 0, 0, "date", PARQUET_DATE);
    map(SCHEMA_TYPE_TIMESTAMP, 0, 0, "timestamptz", PARQUET_TIMESTAMPTZ);
    map(SCHEMA_TYPE_DECIMAL, 12, 2, "decimal(12,2)", PARQUET_DECIMAL);
    map(SCHEMA_TYPE_DECIMAL, 38, 38, "decimal(38,38)", PARQUET_DECIMAL);
    map(SCHEMA_TYPE_DECIMAL, 0, 0, "string", PARQUET_STRING);   /* unbounded */
    map(SCHEMA_TYPE_DECIMAL, 10, 0, "string", PARQUET_STRING);  /* unbounded scale */
    map(SCHEMA_TYPE_DECIMAL, 39, 2, "string", PARQUET_STRING);
    map(SCHEMA_TYPE_JSON, 0, 0, "string", PARQUET_STRING);
    map(SCHEMA_TYPE_ARRAY, 0, 0, "string", PARQUET_STRING);
    map(SCHEMA_TYPE_STRING, 0, 0, "string", PARQUET_STRING);
    struct iceberg_field f;
    iceberg_field_metadata("_seq", &f);
    assert_string_equal(f.type, "long");
    iceberg_field_metadata("_insert_date", &f);
    assert_string_equal(f.type, "timestamptz");
    iceberg_field_metadata("_schema_version", &f);
    assert_string_equal(f.type, "int");
    iceberg_field_metadata("_rescued", &f);
    assert_string_equal(f.type, "string");
}

static void test_schema_json(void **state)
{
    (void)state;
    struct iceberg_field f[3] = {
        {.id = 1, .name = "id", .required = true, .identifier = true, .type = "long"},
        {.id = 2, .name = "x", .required = true, .identifier = true, .type = "double",
         .kind = PARQUET_DOUBLE}, /* a double cannot identify rows */
        {.id = 5, .name = "s", .type = "string"},
    };
    json_t *j = iceberg_schema_json(3, f, 3);
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text,
                        "{\"type\":\"struct\",\"schema-id\":3,\"identifier-field-ids\":[1],"
                        "\"fields\":[{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
                        "{\"id\":2,\"name\":\"x\",\"required\":true,\"type\":\"double\"},"
                        "{\"id\":5,\"name\":\"s\",\"required\":false,\"type\":\"string\"}]}");
    free(text);
    json_decref(j);
}

static void test_ids(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        int64_t id = iceberg_random_snapshot_id();
        assert_true(id > 0 && id < (INT64_C(1) << 53));
    }
    char a[ICEBERG_UUID_MAX], b[ICEBERG_UUID_MAX];
    iceberg_random_uuid(a);
    iceberg_random_uuid(b);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[14], '4');
    assert_string_not_equal(a, b);
}

static void test_table_json(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    json_t *schemas = json_pack("[{sssi}]", "type", "struct", "schema-id", 0);
    struct iceberg_snapshot s[2] = {
        {.snapshot_id = 11, .parent_id = -1, .sequence_number = 1, .timestamp_ms = 1000,
         .manifest_list = "/t/metadata/a.avro", .operation = "append",
         .lakehouse_snapshot_id = 7},
        {.snapshot_id = 12, .parent_id = 11, .sequence_number = 2, .timestamp_ms = 2000,
         .manifest_list = "/t/metadata/b.avro", .operation = "overwrite",
         .lakehouse_snapshot_id = 9},
    };
    struct iceberg_metadata_log log = {.timestamp_ms = 1000, .file = "/t/metadata/v1.metadata.json"};
    struct iceberg_table t = {.uuid = "u", .location = "/t", .last_sequence_number = 2,
                              .last_updated_ms = 2000, .last_column_id = 3, .schemas = schemas,
                              .snapshots = s, .nsnapshots = 2, .current_snapshot_id = 12,
                              .metadata_log = &log, .nmetadata_log = 1};
    json_t *j = iceberg_table_json(&t, err);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "format-version")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "current-snapshot-id")), 12);
    json_t *main = json_object_get(json_object_get(j, "refs"), "main");
    assert_int_equal(json_integer_value(json_object_get(main, "snapshot-id")), 12);
    json_t *snap = json_array_get(json_object_get(j, "snapshots"), 1);
    assert_int_equal(json_integer_value(json_object_get(snap, "parent-snapshot-id")), 11);
    json_t *summary = json_object_get(snap, "summary");
    assert_string_equal(json_string_value(json_object_get(summary, "operation")), "overwrite");
    assert_string_equal(json_string_value(json_object_get(summary, "lakehouse.snapshot-id")), "9");
    assert_null(json_object_get(json_array_get(json_object_get(j, "snapshots"), 0),
                                "parent-snapshot-id"));
    assert_int_equal(json_array_size(json_object_get(j, "metadata-log")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "snapshot-log")), 2);
    json_decref(j);

    t.current_snapshot_id = 99; /* not listed */
    assert_null(iceberg_table_json(&t, err));
    assert_non_null(strstr(err, "99"));
    t.current_snapshot_id = 12;
    s[1].snapshot_id = INT64_C(1) << 53; /* too large for JSON readers */
    assert_null(iceberg_table_json(&t, err));
    s[1].snapshot_id = 12;
    t.last_sequence_number = 1; /* below a snapshot's */
    assert_null(iceberg_table_json(&t, err));
    json_decref(schemas);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_mapping),
        cmocka_unit_test(test_schema_json),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_table_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

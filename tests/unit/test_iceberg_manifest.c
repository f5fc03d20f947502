/* test_iceberg_manifest.c - unit tests of the Avro container encoding
 * (avro.h) and of the manifest metrics' single-value bounds
 * (iceberg_manifest.h). Whole files are read back by avsc and python3-avro
 * in iceberg_manifest.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "avro.h"
#include "iceberg_manifest.h"

static void test_avro_values(void **state)
{
    (void)state;
    struct strbuf b = {0};
    avro_put_long(&b, -3);       /* zig-zag 5 */
    avro_put_string(&b, "ab");   /* length 2 as zig-zag 4 */
    avro_put_bool(&b, true);
    avro_put_union(&b, 1);       /* branch 1 -> 2 */
    avro_put_block(&b, 0);
    const uint8_t want[] = {0x05, 0x04, 'a', 'b', 0x01, 0x02, 0x00};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.s, want, sizeof want);
    strbuf_free(&b);
}

static void test_avro_container(void **state)
{
    (void)state;
    struct strbuf out = {0}, rec = {0};
    char err[ERROR_MAX];
    avro_put_long(&rec, 1);
    avro_put_long(&rec, 2);
    const struct avro_meta meta[] = {{"k", "v"}};
    assert_int_equal(avro_file_encode(&out, "\"long\"", meta, 1, &rec, 2, err), 0);
    assert_memory_equal(out.s, "Obj\x01", 4);
    /* map block of 3 entries (zig-zag 6), first key "avro.schema" */
    assert_int_equal(out.s[4], 0x06);
    assert_int_equal(out.s[5], 22);
    assert_memory_equal(out.s + 6, "avro.schema", 11);
    /* tail: count 2, size 2, the records, then the 16-byte sync marker that
     * also ends the header */
    size_t tail = out.len - 16 - 2 - 2;
    const uint8_t block[] = {0x04, 0x04, 0x02, 0x04};
    assert_memory_equal(out.s + tail, block, sizeof block);
    assert_memory_equal(out.s + tail - 16, out.s + out.len - 16, 16);
    strbuf_free(&out);
    strbuf_free(&rec);
}

static void metrics_of(enum parquet_kind kind, struct parquet_column_stats *st,
                       struct iceberg_metrics *m)
{
    struct parquet_column col = {.name = "c", .kind = kind, .field_id = 9, .precision = 20,
                                 .scale = 2};
    st->has_bounds = true;
    iceberg_metrics_from_parquet(&col, st, m);
    assert_int_equal(m->field_id, 9);
}

static void test_bounds(void **state)
{
    (void)state;
    struct iceberg_metrics m;
    struct parquet_column_stats st = {.values = 4, .nulls = 1, .min_i = -2, .max_i = 300};
    metrics_of(PARQUET_INT, &st, &m);
    const uint8_t lo_int[] = {0xfe, 0xff, 0xff, 0xff}, hi_int[] = {0x2c, 0x01, 0, 0};
    assert_int_equal(m.lower_len, 4);
    assert_memory_equal(m.lower, lo_int, 4);
    assert_memory_equal(m.upper, hi_int, 4);
    assert_int_equal(m.nan_count, -1);

    metrics_of(PARQUET_TIMESTAMPTZ, &st, &m);
    assert_int_equal(m.lower_len, 8);

    /* decimals: big-endian two's complement, fewest bytes */
    st.min_dec = -129;
    st.max_dec = 127;
    metrics_of(PARQUET_DECIMAL, &st, &m);
    const uint8_t lo_dec[] = {0xff, 0x7f}, hi_dec[] = {0x7f};
    assert_int_equal(m.lower_len, 2);
    assert_memory_equal(m.lower, lo_dec, 2);
    assert_int_equal(m.upper_len, 1);
    assert_memory_equal(m.upper, hi_dec, 1);

    /* doubles: a zero bound covers both zeros (-0.0 below +0.0) */
    st.min_d = 0.0;
    st.max_d = -0.0;
    st.nans = 2;
    metrics_of(PARQUET_DOUBLE, &st, &m);
    assert_int_equal(m.lower[7], 0x80); /* sign bit of -0.0 */
    assert_int_equal(m.upper[7], 0x00);
    assert_int_equal(m.nan_count, 2);

    /* strings: 16 code points; the upper bound's last one raised */
    char lo[] = "abcdefghijklmnopqrstuvwxyz", hi[] = "zzzzzzzzzzzzzzz\xc3\xa9zzz";
    st.min_s = lo;
    st.min_len = strlen(lo);
    st.max_s = hi;
    st.max_len = strlen(hi);
    metrics_of(PARQUET_STRING, &st, &m);
    assert_int_equal(m.lower_len, 16);
    assert_memory_equal(m.lower, "abcdefghijklmnop", 16);
    assert_true(m.has_upper);
    assert_int_equal(m.upper_len, 17);
    assert_memory_equal(m.upper, "zzzzzzzzzzzzzzz\xc3\xaa", 17); /* e-acute + 1 */
    /* a short string is kept whole */
    char shortv[] = "ok";
    st.max_s = shortv;
    st.max_len = 2;
    metrics_of(PARQUET_STRING, &st, &m);
    assert_int_equal(m.upper_len, 2);
    /* no code point can grow: no upper bound */
    char top[80] = "";
    for (int i = 0; i < 17; i++)
        strcat(top, "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
    st.max_s = top;
    st.max_len = strlen(top);
    metrics_of(PARQUET_STRING, &st, &m);
    assert_false(m.has_upper);

    /* no values: counts only */
    struct parquet_column_stats none = {.values = 3, .nulls = 3};
    struct parquet_column col = {.name = "c", .kind = PARQUET_LONG, .field_id = 1};
    iceberg_metrics_from_parquet(&col, &none, &m);
    assert_false(m.has_lower || m.has_upper);
    assert_int_equal(m.null_count, 3);
}

static void test_manifest_rules(void **state)
{
    (void)state;
    struct strbuf out = {0};
    char err[ERROR_MAX];
    struct iceberg_manifest_info info = {.schema_json = "{}", .partition_spec_json = "[]"};
    struct iceberg_manifest_entry e = {.status = ICEBERG_EXISTING, .snapshot_id = 1,
                                       .sequence_number = -1, .file_sequence_number = -1,
                                       .file = {.path = "/x.parquet", .format = "PARQUET"}};
    assert_int_equal(iceberg_manifest_encode(&out, &info, &e, 1, err), -1);
    assert_non_null(strstr(err, "sequence numbers"));
    e.status = ICEBERG_ADDED;
    e.file.content = ICEBERG_POSITION_DELETES;
    assert_int_equal(iceberg_manifest_encode(&out, &info, &e, 1, err), -1);
    assert_non_null(strstr(err, "content"));
    e.file.content = ICEBERG_DATA;
    assert_int_equal(iceberg_manifest_encode(&out, &info, &e, 1, err), 0);
    strbuf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_avro_values),
        cmocka_unit_test(test_avro_container),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_manifest_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_parquet.c - unit tests of the Thrift compact encoder (thrift_compact.h)
 * and of the Parquet writer's page layout, levels and decimals (parquet.h).
 * Expected bytes follow the Thrift compact protocol and Parquet format specs;
 * the integration test iceberg_parquet.sh reads whole files with DuckDB and
 * hyparquet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binenc.h"
#include "fsutil.h"
#include "parquet.h"
#include "thrift_compact.h"
#include "timeutil.h"

#define assert_bytes(buf, ...)                                                                     \
    do {                                                                                           \
        const uint8_t want_[] = {__VA_ARGS__};                                                     \
        assert_int_equal((buf)->len, sizeof want_);                                                \
        assert_memory_equal((buf)->s, want_, sizeof want_);                                        \
    } while (0)

static void test_varints(void **state)
{
    (void)state;
    struct strbuf b = {0};
    binenc_uvarint(&b, 0);
    binenc_uvarint(&b, 127);
    binenc_uvarint(&b, 300);
    binenc_zigzag(&b, -1);
    binenc_zigzag(&b, 1);
    binenc_zigzag(&b, -64);
    assert_bytes(&b, 0x00, 0x7f, 0xac, 0x02, 0x01, 0x02, 0x7f);
    strbuf_cut(&b, 0);
    binenc_zigzag(&b, INT64_MIN);
    assert_int_equal(b.len, 10);
    assert_int_equal(binenc_bytes(&b)[0], 0xff);
    assert_int_equal(binenc_bytes(&b)[9], 0x01);
    strbuf_free(&b);
}

static void test_thrift_fields(void **state)
{
    (void)state;
    struct strbuf b = {0};
    struct thrift_writer t;
    thrift_writer_init(&t, &b);
    thrift_field_i32(&t, 1, 3);        /* delta 1, i32: 0x15, zigzag 6 */
    thrift_field_bool(&t, 2, true);    /* delta 1, type true: 0x11 */
    thrift_field_bool(&t, 3, false);   /* 0x12 */
    thrift_field_i64(&t, 20, -2);      /* delta 17 > 15: type byte 0x06, zigzag id 40, zigzag -2 = 3 */
    thrift_field_string(&t, 21, "ab"); /* delta 1, binary 0x18, len 2 */
    thrift_field_i16(&t, 22, 1);       /* 0x14, 2 */
    thrift_field_i8(&t, 23, -1);       /* 0x13, 0xff: i8 is a plain byte */
    thrift_struct_end(&t);
    assert_bytes(&b, 0x15, 0x06, 0x11, 0x12, 0x06, 0x28, 0x03, 0x18, 0x02, 'a', 'b', 0x14, 0x02,
                 0x13, 0xff, 0x00);
    strbuf_free(&b);
}

static void test_thrift_nesting_and_lists(void **state)
{
    (void)state;
    struct strbuf b = {0};
    struct thrift_writer t;
    thrift_writer_init(&t, &b);
    thrift_field_i32(&t, 4, 1);
    thrift_field_struct_begin(&t, 5); /* delta 1, struct 0x1c */
    thrift_field_i32(&t, 2, 0);       /* ids restart in the nested struct: delta 2 */
    thrift_struct_end(&t);
    thrift_field_list_begin(&t, 6, THRIFT_I32, 2); /* 0x19, size 2 << 4 | 5 */
    thrift_elem_i32(&t, 0);
    thrift_elem_i32(&t, 3);
    thrift_field_list_begin(&t, 7, THRIFT_STRUCT, 1);
    thrift_elem_struct_begin(&t);
    thrift_field_string(&t, 4, "x");
    thrift_struct_end(&t);
    thrift_struct_end(&t);
    assert_bytes(&b, 0x45, 0x02, 0x1c, 0x25, 0x00, 0x00, 0x19, 0x25, 0x00, 0x06, 0x19, 0x1c, 0x48,
                 0x01, 'x', 0x00, 0x00);

    /* a list of 15 or more elements: 0xf0 | type, then the size as a varint */
    strbuf_cut(&b, 0);
    thrift_writer_init(&t, &b);
    thrift_field_list_begin(&t, 1, THRIFT_I64, 300);
    assert_bytes(&b, 0x19, 0xf6, 0xac, 0x02);
    strbuf_free(&b);
}

static void test_levels(void **state)
{
    (void)state;
    struct strbuf b = {0};
    uint8_t ones[10], mixed[10] = {1, 0, 1, 1, 0, 0, 0, 0, 1, 0};
    memset(ones, 1, sizeof ones);
    parquet_encode_levels(&b, ones, 10); /* one RLE run: 10 << 1, value 1 */
    assert_bytes(&b, 0x14, 0x01);
    strbuf_cut(&b, 0);
    memset(ones, 0, sizeof ones);
    parquet_encode_levels(&b, ones, 3);
    assert_bytes(&b, 0x06, 0x00);
    strbuf_cut(&b, 0);
    /* bit-packed: 2 groups -> header (2 << 1) | 1, then LSB-first bits */
    parquet_encode_levels(&b, mixed, 10);
    assert_bytes(&b, 0x05, 0x0d, 0x01);
    strbuf_free(&b);
}

static void test_decimals(void **state)
{
    (void)state;
    __int128 v;
    assert_int_equal(parquet_decimal_parse("-12.5", 5, 2, &v), 0);
    assert_true(v == -1250);
    assert_int_equal(parquet_decimal_parse("0.010", 4, 2, &v), 0); /* extra zero is fine */
    assert_true(v == 1);
    assert_int_equal(parquet_decimal_parse("007", 1, 0, &v), 0);
    assert_true(v == 7);
    assert_int_equal(parquet_decimal_parse("0.015", 4, 2, &v), -1); /* scale cannot hold it */
    assert_int_equal(parquet_decimal_parse("100.00", 4, 2, &v), -1); /* 3 integer digits > 2 */
    assert_int_equal(parquet_decimal_parse("", 4, 2, &v), -1);
    assert_int_equal(parquet_decimal_parse("1e5", 9, 0, &v), -1);
    assert_int_equal(parquet_decimal_parse("-", 9, 0, &v), -1);
    assert_int_equal(parquet_decimal_parse("99999999999999999999999999999999999999", 38, 0, &v), 0);
    assert_true(v > 0 && v % 10 == 9);
    assert_int_equal(parquet_decimal_parse("1", 39, 0, &v), -1);
    /* fewest bytes for P digits (the Parquet spec's table) */
    assert_int_equal(parquet_decimal_fixed_bytes(1), 1);
    assert_int_equal(parquet_decimal_fixed_bytes(2), 1);
    assert_int_equal(parquet_decimal_fixed_bytes(3), 2);
    assert_int_equal(parquet_decimal_fixed_bytes(18), 8);
    assert_int_equal(parquet_decimal_fixed_bytes(19), 9);
    assert_int_equal(parquet_decimal_fixed_bytes(38), 16);
}

static void test_time_parsing(void **state)
{
    (void)state;
    int64_t us;
    int32_t days;
    assert_int_equal(timeutil_parse_utc_us("1970-01-01T00:00:01.0000019Z", &us), 0);
    assert_int_equal(us, 1000001);
    assert_int_equal(timeutil_parse_utc_us("1969-12-31T23:59:59.5+00:00", &us), 0);
    assert_int_equal(us, -500000);
    assert_int_equal(timeutil_parse_utc_us("2024-01-01T01:00:00+01:00", &us), 0);
    assert_int_equal(us, INT64_C(1704067200000000));
    assert_int_equal(timeutil_parse_date_days("1970-01-02", &days), 0);
    assert_int_equal(days, 1);
    assert_int_equal(timeutil_parse_date_days("1969-12-31", &days), 0);
    assert_int_equal(days, -1);
    assert_int_equal(timeutil_parse_date_days("1970-01-02T00:00:00Z", &days), -1);
}

static char *tmp_path(void)
{
    char *p = strdup("/tmp/lh-test-parquet.XXXXXX");
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    close(fd);
    unlink(p);
    return p;
}

/* The whole layout of a one-column file: magic, page header, values,
 * footer, footer length, magic. */
static void test_page_layout(void **state)
{
    (void)state;
    char *path = tmp_path();
    char err[ERROR_MAX];
    struct parquet_column col = {.name = "n", .kind = PARQUET_INT, .field_id = 7, .required = true};
    struct parquet_options opt = {.codec = PARQUET_CODEC_UNCOMPRESSED};
    struct parquet_writer *w = parquet_writer_open(path, &col, 1, &opt, err);
    assert_non_null(w);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(parquet_add_int(w, 0, i, err), 0);
        assert_int_equal(parquet_end_row(w, err), 0);
    }
    uint64_t size;
    struct parquet_column_stats st;
    assert_int_equal(parquet_writer_close(&w, &size, &st, err), 0);
    assert_null(w);
    char *data;
    size_t len;
    assert_int_equal(fsutil_read_file(path, 1 << 20, &data, &len, err), 0);
    assert_int_equal(len, size);
    const uint8_t head[] = {'P', 'A', 'R', '1',
                            /* PageHeader: type 0, sizes 12 and 12, DataPageHeader{3 values,
                             * PLAIN, RLE, RLE} */
                            0x15, 0x00, 0x15, 0x18, 0x15, 0x18, 0x2c, 0x15, 0x06, 0x15, 0x00,
                            0x15, 0x06, 0x15, 0x06, 0x00, 0x00,
                            1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0};
    assert_true(len > sizeof head + 8);
    assert_memory_equal(data, head, sizeof head);
    assert_memory_equal(data + len - 4, "PAR1", 4);
    uint32_t footer = (uint8_t)data[len - 8] | (uint8_t)data[len - 7] << 8 |
                      (uint8_t)data[len - 6] << 16 | (uint32_t)(uint8_t)data[len - 5] << 24;
    assert_int_equal(sizeof head + footer + 8, len);
    /* FileMetaData starts with version 1 and the schema list of 2 elements */
    const uint8_t meta[] = {0x15, 0x02, 0x19, 0x2c};
    assert_memory_equal(data + sizeof head, meta, sizeof meta);
    assert_int_equal(st.values, 3);
    assert_int_equal(st.nulls, 0);
    assert_true(st.has_bounds);
    assert_int_equal(st.min_i, 1);
    assert_int_equal(st.max_i, 3);
    assert_int_equal(st.bytes, 17 + 12); /* page header + values */
    parquet_stats_free(&st);
    free(data);
    unlink(path);
    free(path);
}

static void test_writer_errors(void **state)
{
    (void)state;
    char *path = tmp_path();
    char err[ERROR_MAX];
    struct parquet_column cols[2] = {
        {.name = "a", .kind = PARQUET_LONG, .field_id = 1, .required = true},
        {.name = "d", .kind = PARQUET_DECIMAL, .field_id = 2, .precision = 4, .scale = 1},
    };
    struct parquet_options opt = {.codec = PARQUET_CODEC_ZSTD};
    struct parquet_writer *w = parquet_writer_open(path, cols, 2, &opt, err);
    assert_non_null(w);
    assert_int_equal(parquet_add_int(w, 0, 1, err), 0);
    assert_int_equal(parquet_end_row(w, err), -1); /* column d has no value */
    assert_non_null(strstr(err, "column 'd': no value"));
    parquet_writer_abort(&w);
    assert_null(w);
    assert_int_equal(access(path, F_OK), -1); /* removed */

    w = parquet_writer_open(path, cols, 2, &opt, err);
    assert_int_equal(parquet_add_null(w, 0, err), -1);
    assert_non_null(strstr(err, "null in a required column"));
    parquet_writer_abort(&w);

    w = parquet_writer_open(path, cols, 2, &opt, err);
    assert_int_equal(parquet_add_decimal_text(w, 1, "123.4", err), 0);
    assert_int_equal(parquet_add_int(w, 0, 1, err), 0);
    assert_int_equal(parquet_end_row(w, err), 0);
    assert_int_equal(parquet_add_decimal_text(w, 1, "1234.5", err), -1); /* precision 4 */
    assert_non_null(strstr(err, "not a decimal(4,1)"));
    uint64_t size;
    assert_int_equal(parquet_writer_close(&w, &size, NULL, err), -1); /* failed before */
    assert_int_equal(access(path, F_OK), -1);

    /* a bad decimal definition is refused at open */
    cols[1].precision = 39;
    assert_null(parquet_writer_open(path, cols, 2, &opt, err));
    assert_non_null(strstr(err, "decimal(39,1)"));
    free(path);
}

/* Small limits give many pages and row groups; the stats still add up. */
static void test_row_groups(void **state)
{
    (void)state;
    char *path = tmp_path();
    char err[ERROR_MAX];
    struct parquet_column col = {.name = "s", .kind = PARQUET_STRING, .field_id = 1};
    struct parquet_options opt = {.codec = PARQUET_CODEC_SNAPPY, .page_bytes = 512,
                                  .row_group_bytes = 4096};
    struct parquet_writer *w = parquet_writer_open(path, &col, 1, &opt, err);
    char v[32];
    for (int i = 0; i < 5000; i++) {
        if (i % 7 == 0) {
            assert_int_equal(parquet_add_null(w, 0, err), 0);
        } else {
            int n = snprintf(v, sizeof v, "v%05d", i);
            assert_int_equal(parquet_add_string(w, 0, v, (size_t)n, err), 0);
        }
        assert_int_equal(parquet_end_row(w, err), 0);
    }
    uint64_t size;
    struct parquet_column_stats st;
    assert_int_equal(parquet_writer_close(&w, &size, &st, err), 0);
    assert_int_equal(st.values, 5000);
    assert_int_equal(st.nulls, 715);
    assert_string_equal(st.min_s, "v00001");
    assert_string_equal(st.max_s, "v04999");
    assert_true(st.bytes < size);
    parquet_stats_free(&st);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints),        cmocka_unit_test(test_thrift_fields),
        cmocka_unit_test(test_thrift_nesting_and_lists), cmocka_unit_test(test_levels),
        cmocka_unit_test(test_decimals),       cmocka_unit_test(test_time_parsing),
        cmocka_unit_test(test_page_layout),    cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_row_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

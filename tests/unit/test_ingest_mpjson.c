/* test_ingest_mpjson.c - unit tests of ingest's msgpack body reader
 * (ingest/mpjson.h). It links ingest's library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <string.h>

#include "../../ingest/fields.h"
#include "../../ingest/mpjson.h"

/* Read every element; returns the number read, NULL entries for elements
 * that could not be converted (their error in errs[i]). */
static int read_all(const msgpack_sbuffer *sb, json_t **out, char errs[][ERROR_MAX], int max,
                    int *rc_out)
{
    struct mpjson_reader r;
    uint32_t count;
    char err[ERROR_MAX];
    if (mpjson_open(&r, sb->data, sb->size, &count, err) < 0) {
        *rc_out = -2;
        return 0;
    }
    int n = 0, rc;
    for (;;) {
        json_t *v;
        const char *raw;
        size_t raw_len;
        rc = mpjson_next(&r, &v, &raw, &raw_len, errs[n < max ? n : max - 1]);
        if (rc <= 0)
            break;
        assert_true(raw_len > 0);
        if (n < max)
            out[n] = v;
        else
            json_decref(v);
        n++;
    }
    *rc_out = rc;
    return n;
}

static void test_convert_types(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 8);
    msgpack_pack_str_with_body(&pk, "i", 1);
    msgpack_pack_int64(&pk, -5);
    msgpack_pack_str_with_body(&pk, "u", 1);
    msgpack_pack_uint64(&pk, 300);
    msgpack_pack_str_with_body(&pk, "f", 1);
    msgpack_pack_double(&pk, 1.5);
    msgpack_pack_str_with_body(&pk, "s", 1);
    msgpack_pack_str_with_body(&pk, "h\xc3\xa9", 3);
    msgpack_pack_str_with_body(&pk, "b", 1);
    msgpack_pack_true(&pk);
    msgpack_pack_str_with_body(&pk, "n", 1);
    msgpack_pack_nil(&pk);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int8(&pk, 1);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_float(&pk, 0.25f);
    msgpack_pack_str_with_body(&pk, "t", 1);
    char ts[8] = {0x00, 0x00, 0x00, 0x00, 0x5e, 0x0b, 0xe1, 0x00}; /* 2020-01-01T00:00:00Z */
    msgpack_pack_ext_with_body(&pk, ts + 4, 4, -1);

    json_t *out[4];
    char errs[4][ERROR_MAX];
    int rc;
    assert_int_equal(read_all(&sb, out, errs, 4, &rc), 1);
    assert_int_equal(rc, 0);
    assert_non_null(out[0]);
    char *text = json_dumps(out[0], JSON_COMPACT);
    assert_string_equal(text, "{\"i\":-5,\"u\":300,\"f\":1.5,\"s\":\"h\xc3\xa9\",\"b\":true,"
                              "\"n\":null,\"a\":[1,{\"x\":0.25}],\"t\":\"2020-01-01T00:00:00Z\"}");
    free(text);
    json_decref(out[0]);
    msgpack_sbuffer_destroy(&sb);
}

static void test_per_record_errors(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_map(&pk, 1); /* 0: uint64 above INT64_MAX */
    msgpack_pack_str_with_body(&pk, "big", 3);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_map(&pk, 1); /* 1: fine */
    msgpack_pack_str_with_body(&pk, "ok", 2);
    msgpack_pack_int32(&pk, 1);
    msgpack_pack_map(&pk, 1); /* 2: non-string key */
    msgpack_pack_int32(&pk, 7);
    msgpack_pack_int32(&pk, 1);
    msgpack_pack_map(&pk, 1); /* 3: bin value, nested */
    msgpack_pack_str_with_body(&pk, "o", 1);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "p", 1);
    msgpack_pack_bin_with_body(&pk, "xy", 2);
    msgpack_pack_map(&pk, 2); /* 4: duplicate key */
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_int32(&pk, 1);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_int32(&pk, 2);

    json_t *out[8];
    char errs[8][ERROR_MAX];
    int rc;
    assert_int_equal(read_all(&sb, out, errs, 8, &rc), 5);
    assert_int_equal(rc, 0);
    assert_null(out[0]);
    assert_non_null(strstr(errs[0], "field 'big': integer 18446744073709551615 is out of range"));
    assert_non_null(out[1]);
    json_decref(out[1]);
    assert_null(out[2]);
    assert_non_null(strstr(errs[2], "not a string"));
    assert_null(out[3]);
    assert_non_null(strstr(errs[3], "field 'o.p'"));
    assert_null(out[4]);
    assert_non_null(strstr(errs[4], "duplicate key 'k'"));
    msgpack_sbuffer_destroy(&sb);
}

static void test_malformed_bodies(void **state)
{
    (void)state;
    struct mpjson_reader r;
    uint32_t count;
    char err[ERROR_MAX];
    json_t *v;
    const char *raw;
    size_t raw_len;
    /* not an array */
    assert_int_equal(mpjson_open(&r, "\x81\xa1k\x01", 4, &count, err), -1);
    /* a hostile count: 4 billion elements announced, nothing follows */
    assert_int_equal(mpjson_open(&r, "\xdd\xff\xff\xff\xff", 5, &count, err), 0);
    assert_int_equal(count, UINT32_MAX);
    assert_int_equal(mpjson_next(&r, &v, &raw, &raw_len, err), -1);
    assert_non_null(strstr(err, "byte 5"));
    /* a map announcing 2^32-1 entries inside the first element */
    assert_int_equal(mpjson_open(&r, "\x91\xdf\xff\xff\xff\xff\xa1k", 8, &count, err), 0);
    assert_int_equal(mpjson_next(&r, &v, &raw, &raw_len, err), -1);
    /* truncated string */
    assert_int_equal(mpjson_open(&r, "\x91\x81\xa5key", 6, &count, err), 0);
    assert_int_equal(mpjson_next(&r, &v, &raw, &raw_len, err), -1);
    /* reserved byte 0xc1 */
    assert_int_equal(mpjson_open(&r, "\x91\xc1", 2, &count, err), 0);
    assert_int_equal(mpjson_next(&r, &v, &raw, &raw_len, err), -1);
    /* trailing bytes after the last element */
    assert_int_equal(mpjson_open(&r, "\x91\x80\x00", 3, &count, err), 0);
    assert_int_equal(mpjson_next(&r, &v, &raw, &raw_len, err), 1);
    json_decref(v);
    assert_int_equal(mpjson_next(&r, &v, &raw, &raw_len, err), -1);
    assert_non_null(strstr(err, "after its last record"));
    /* nesting deeper than the limit */
    unsigned char deep[MPJSON_DEPTH_MAX + 4];
    deep[0] = 0x91;
    for (size_t i = 1; i < sizeof deep; i++)
        deep[i] = 0x91;
    deep[sizeof deep - 1] = 0x00;
    assert_int_equal(mpjson_open(&r, deep, sizeof deep, &count, err), 0);
    assert_int_equal(mpjson_next(&r, &v, &raw, &raw_len, err), -1);
}

/* The fast path reads a map of scalars into the same values mpjson_next
 * builds, leaves everything else to it (reader unmoved), and ends each
 * element where mpjson_next does. */
static void test_fast_fields(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_map(&pk, 6); /* simple */
    msgpack_pack_str_with_body(&pk, "i", 1);
    msgpack_pack_int64(&pk, -5);
    msgpack_pack_str_with_body(&pk, "u", 1);
    msgpack_pack_uint64(&pk, 300);
    msgpack_pack_str_with_body(&pk, "f", 1);
    msgpack_pack_float(&pk, 0.25f);
    msgpack_pack_str_with_body(&pk, "s", 1);
    msgpack_pack_str_with_body(&pk, "h\xc3\xa9", 3);
    msgpack_pack_str_with_body(&pk, "b", 1);
    msgpack_pack_false(&pk);
    msgpack_pack_str_with_body(&pk, "n", 1);
    msgpack_pack_nil(&pk);
    msgpack_pack_map(&pk, 1); /* nested: not simple */
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_map(&pk, 2); /* duplicate key: not simple */
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_int8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_int8(&pk, 2);
    msgpack_pack_map(&pk, 1); /* uint beyond int64: not simple */
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_map(&pk, 1); /* invalid UTF-8: not simple */
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_str_with_body(&pk, "\xc3\x28", 2);

    struct mpjson_reader r;
    uint32_t count;
    char err[ERROR_MAX];
    assert_int_equal(mpjson_open(&r, sb.data, sb.size, &count, err), 0);
    struct fields fs = {0};
    const int simple[] = {1, 0, 0, 0, 0};
    for (int k = 0; k < 5; k++) {
        const char *raw, *raw2;
        size_t raw_len, raw_len2;
        struct mpjson_reader at = r;
        int fast = mpjson_next_fields(&r, &fs, &raw, &raw_len);
        assert_int_equal(fast, simple[k]);
        struct mpjson_reader after = r;
        r = at;
        json_t *v;
        assert_int_equal(mpjson_next(&r, &v, &raw2, &raw_len2, err), 1);
        if (fast == 0) {
            assert_true(after.p == at.p);
            json_decref(v);
            continue;
        }
        assert_true(after.p == r.p && raw == raw2 && raw_len == raw_len2);
        assert_int_equal(json_object_size(v), fs.count);
        for (size_t i = 0; i < fs.count; i++) {
            json_t *a = schema_value_to_json(&fs.f[i].value);
            json_t *b = json_object_get(v, fs.f[i].key);
            assert_non_null(b);
            assert_int_equal(json_typeof(a), json_typeof(b));
            assert_true(json_equal(a, b));
            json_decref(a);
        }
        json_decref(v);
    }
    const char *raw;
    size_t raw_len;
    assert_int_equal(mpjson_next_fields(&r, &fs, &raw, &raw_len), 0); /* the end */
    fields_free(&fs);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convert_types),
        cmocka_unit_test(test_per_record_errors),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_fast_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_protocol.c - unit tests of the producer protocol: request header and
 * reply encode / strict decode, record error lists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

static void pack_s(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* A header map from (key, kind, value) triples: kind 's' string, 'u' uint,
 * 'b' bool, 'i' negative int, 'n' nil. */
struct kv {
    const char *key;
    char kind;
    const char *s;
    uint64_t u;
};

static int decode_header(const struct kv *kvs, size_t n, struct protocol_request *out, char *err)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        pack_s(&pk, kvs[i].key);
        switch (kvs[i].kind) {
        case 's': pack_s(&pk, kvs[i].s); break;
        case 'u': msgpack_pack_uint64(&pk, kvs[i].u); break;
        case 'b': kvs[i].u ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk); break;
        case 'i': msgpack_pack_int64(&pk, -1); break;
        default: msgpack_pack_nil(&pk); break;
        }
    }
    int rc = protocol_request_decode(sbuf.data, sbuf.size, out, err);
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}

static void test_names(void **state)
{
    (void)state;
    enum protocol_format f;
    assert_int_equal(protocol_format_from_name("ndjson", &f), 0);
    assert_int_equal(f, PROTOCOL_FORMAT_NDJSON);
    assert_int_equal(protocol_format_from_name("json", &f), 0);
    assert_int_equal(f, PROTOCOL_FORMAT_JSON);
    assert_int_equal(protocol_format_from_name("msgpack", &f), 0);
    assert_int_equal(f, PROTOCOL_FORMAT_MSGPACK);
    assert_int_equal(protocol_format_from_name("csv", &f), -1);
    assert_string_equal(protocol_format_name(PROTOCOL_FORMAT_JSON), "json");
    assert_null(protocol_format_name((enum protocol_format)9));
    assert_string_equal(protocol_status_name(PROTOCOL_STATUS_OK), "ok");
    assert_string_equal(protocol_status_name(PROTOCOL_STATUS_PARTIAL), "partial");
    assert_string_equal(protocol_status_name(PROTOCOL_STATUS_REFUSED), "refused");
    assert_string_equal(protocol_status_name(PROTOCOL_STATUS_BUSY), "busy");
    assert_string_equal(protocol_status_name(PROTOCOL_STATUS_ERROR), "error");
    assert_null(protocol_status_name((enum protocol_status)9));
}

static void test_request_round_trip(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct protocol_request req;
    memset(&req, 0, sizeof req);
    snprintf(req.domain, sizeof req.domain, "demo");
    snprintf(req.endpoint, sizeof req.endpoint, "flights");
    snprintf(req.id, sizeof req.id, "run-42");
    req.format = PROTOCOL_FORMAT_MSGPACK;
    req.strict = true;
    req.validate = false;
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(protocol_request_encode(&req, &buf, &len, err), 0);
    struct protocol_request out;
    memset(&out, 0x5A, sizeof out);
    assert_int_equal(protocol_request_decode(buf, len, &out, err), 0);
    assert_string_equal(out.domain, "demo");
    assert_string_equal(out.endpoint, "flights");
    assert_string_equal(out.id, "run-42");
    assert_int_equal(out.format, PROTOCOL_FORMAT_MSGPACK);
    assert_true(out.strict);
    assert_false(out.validate);

    /* Trailing bytes, truncation. */
    char *longer = malloc(len + 2);
    memcpy(longer, buf, len);
    longer[len] = 0x01;
    longer[len + 1] = 0x02;
    assert_int_equal(protocol_request_decode(longer, len + 2, &out, err), -1);
    assert_non_null(strstr(err, "trailing"));
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(protocol_request_decode(buf, cut, &out, err), -1);
    free(longer);
    free(buf);

    /* No id: the key is omitted and comes back as "". */
    req.id[0] = '\0';
    assert_int_equal(protocol_request_encode(&req, &buf, &len, err), 0);
    assert_int_equal(protocol_request_decode(buf, len, &out, err), 0);
    assert_string_equal(out.id, "");
    free(buf);

    /* Encode refuses what decode would refuse. */
    snprintf(req.domain, sizeof req.domain, "../x");
    assert_int_equal(protocol_request_encode(&req, &buf, &len, err), -1);
    assert_non_null(strstr(err, "domain"));
    snprintf(req.domain, sizeof req.domain, "demo");
    req.format = (enum protocol_format)7;
    assert_int_equal(protocol_request_encode(&req, &buf, &len, err), -1);
}

static void test_request_strict(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct protocol_request out;
    const struct kv minimal[] = {
        {"v", 'u', NULL, PROTOCOL_VERSION},
        {"domain", 's', "demo", 0},
        {"endpoint", 's', "flights", 0},
        {"format", 's', "ndjson", 0},
    };
    assert_int_equal(decode_header(minimal, 4, &out, err), 0);
    assert_false(out.strict);  /* default */
    assert_true(out.validate); /* default */
    assert_string_equal(out.id, "");
    assert_int_equal(out.format, PROTOCOL_FORMAT_NDJSON);

    /* Each required key missing. */
    for (size_t skip = 0; skip < 4; skip++) {
        struct kv kvs[4];
        size_t n = 0;
        for (size_t i = 0; i < 4; i++)
            if (i != skip)
                kvs[n++] = minimal[i];
        assert_int_equal(decode_header(kvs, n, &out, err), -1);
        assert_non_null(strstr(err, "missing key"));
        assert_non_null(strstr(err, minimal[skip].key));
    }

    struct kv kvs[6];
    memcpy(kvs, minimal, sizeof minimal);
    /* Unknown key. */
    kvs[4] = (struct kv){"compression", 's', "zstd", 0};
    assert_int_equal(decode_header(kvs, 5, &out, err), -1);
    assert_non_null(strstr(err, "unknown key 'compression'"));
    /* Duplicate key. */
    kvs[4] = (struct kv){"domain", 's', "demo", 0};
    assert_int_equal(decode_header(kvs, 5, &out, err), -1);
    assert_non_null(strstr(err, "duplicate"));
    /* Wrong types. */
    kvs[4] = (struct kv){"strict", 's', "true", 0};
    assert_int_equal(decode_header(kvs, 5, &out, err), -1);
    assert_non_null(strstr(err, "strict"));
    kvs[4] = (struct kv){"validate", 'u', NULL, 1};
    assert_int_equal(decode_header(kvs, 5, &out, err), -1);
    kvs[4] = (struct kv){"id", 'u', NULL, 12};
    assert_int_equal(decode_header(kvs, 5, &out, err), -1);
    kvs[4] = (struct kv){"id", 'n', NULL, 0};
    assert_int_equal(decode_header(kvs, 5, &out, err), -1);
    /* Optional keys, good. */
    kvs[4] = (struct kv){"strict", 'b', NULL, 1};
    kvs[5] = (struct kv){"id", 's', "batch 1 ~!", 0};
    assert_int_equal(decode_header(kvs, 6, &out, err), 0);
    assert_true(out.strict);
    assert_string_equal(out.id, "batch 1 ~!");
    /* Bad ids: empty, non-printable, too long. */
    kvs[5] = (struct kv){"id", 's', "", 0};
    assert_int_equal(decode_header(kvs, 6, &out, err), -1);
    kvs[5] = (struct kv){"id", 's', "tab\there", 0};
    assert_int_equal(decode_header(kvs, 6, &out, err), -1);
    char long_id[200];
    memset(long_id, 'a', 129);
    long_id[129] = '\0';
    kvs[5] = (struct kv){"id", 's', long_id, 0};
    assert_int_equal(decode_header(kvs, 6, &out, err), -1);
    long_id[128] = '\0'; /* exactly 128 is fine */
    assert_int_equal(decode_header(kvs, 6, &out, err), 0);
    assert_int_equal(strlen(out.id), 128);

    /* Version: wrong value, wrong type (negative int, string). */
    memcpy(kvs, minimal, sizeof minimal);
    kvs[0] = (struct kv){"v", 'u', NULL, PROTOCOL_VERSION + 1};
    assert_int_equal(decode_header(kvs, 4, &out, err), -1);
    assert_non_null(strstr(err, "version"));
    kvs[0] = (struct kv){"v", 'i', NULL, 0};
    assert_int_equal(decode_header(kvs, 4, &out, err), -1);
    kvs[0] = (struct kv){"v", 's', "1", 0};
    assert_int_equal(decode_header(kvs, 4, &out, err), -1);
    /* Invalid names and format. */
    memcpy(kvs, minimal, sizeof minimal);
    kvs[1] = (struct kv){"domain", 's', "../etc", 0};
    assert_int_equal(decode_header(kvs, 4, &out, err), -1);
    assert_non_null(strstr(err, "domain"));
    kvs[1] = (struct kv){"domain", 's', "demo", 0};
    kvs[2] = (struct kv){"endpoint", 's', "Flights", 0};
    assert_int_equal(decode_header(kvs, 4, &out, err), -1);
    assert_non_null(strstr(err, "endpoint"));
    kvs[2] = (struct kv){"endpoint", 's', "flights", 0};
    kvs[3] = (struct kv){"format", 's', "csv", 0};
    assert_int_equal(decode_header(kvs, 4, &out, err), -1);
    assert_non_null(strstr(err, "format"));
    char huge[100];
    memset(huge, 'a', 99);
    huge[99] = '\0';
    kvs[3] = (struct kv){"format", 's', "ndjson", 0};
    kvs[2] = (struct kv){"endpoint", 's', huge, 0};
    assert_int_equal(decode_header(kvs, 4, &out, err), -1);
    assert_non_null(strstr(err, "too long"));

    /* Not a map at all, empty buffer, a string with an embedded NUL. */
    assert_int_equal(protocol_request_decode("\x91\x01", 2, &out, err), -1);
    assert_int_equal(protocol_request_decode("", 0, &out, err), -1);
    const char nul_domain[] = "\x81\xa6" "domain" "\xa3" "d\0m";
    assert_int_equal(protocol_request_decode(nul_domain, sizeof nul_domain - 1, &out, err), -1);
    assert_non_null(strstr(err, "NUL"));
}

static void test_reply_round_trip(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct protocol_reply reply;
    memset(&reply, 0, sizeof reply);
    snprintf(reply.id, sizeof reply.id, "b-7");
    reply.status = PROTOCOL_STATUS_PARTIAL;
    reply.accepted = 998;
    reply.refused = 250;
    reply.duplicate = true;
    reply.kind = ERROR_INVALID;
    snprintf(reply.message, sizeof reply.message, "250 records refused");
    char long_reason[600];
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    for (uint64_t i = 0; i < 250; i++) {
        char reason[64];
        snprintf(reason, sizeof reason, "record %llu: field 'delay' must be an integer",
                 (unsigned long long)i);
        assert_int_equal(protocol_reply_add_error(&reply, i * 2, i == 3 ? long_reason : reason),
                         0);
    }
    assert_int_equal(reply.error_count, PROTOCOL_ERRORS_MAX);
    assert_int_equal(strlen(reply.errors[3].reason), PROTOCOL_REASON_MAX - 1);

    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(protocol_reply_encode(&reply, &buf, &len, err), 0);
    struct protocol_reply out;
    memset(&out, 0, sizeof out);
    assert_int_equal(protocol_reply_decode(buf, len, &out, err), 0);
    assert_string_equal(out.id, "b-7");
    assert_int_equal(out.status, PROTOCOL_STATUS_PARTIAL);
    assert_int_equal(out.accepted, 998);
    assert_int_equal(out.refused, 250);
    assert_true(out.duplicate);
    assert_int_equal(out.kind, ERROR_INVALID);
    assert_string_equal(out.message, "250 records refused");
    assert_int_equal(out.error_count, PROTOCOL_ERRORS_MAX);
    for (size_t i = 0; i < out.error_count; i++) {
        assert_int_equal(out.errors[i].index, i * 2);
        assert_string_equal(out.errors[i].reason, reply.errors[i].reason);
    }
    assert_false(out.syntax.set);
    protocol_reply_clear(&out);
    assert_null(out.errors);
    assert_int_equal(out.error_count, 0);

    /* Trailing bytes and truncation. */
    char *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(protocol_reply_decode(longer, len + 1, &out, err), -1);
    assert_null(out.errors);
    for (size_t cut = 0; cut < len; cut += 7)
        assert_int_equal(protocol_reply_decode(buf, cut, &out, err), -1);
    free(longer);
    free(buf);
    protocol_reply_clear(&reply);

    /* Every status, no errors; the refusal of a body that is not JSON
     * carries where it broke. */
    for (int s = PROTOCOL_STATUS_OK; s <= PROTOCOL_STATUS_ERROR; s++) {
        memset(&reply, 0, sizeof reply);
        reply.status = (enum protocol_status)s;
        bool syntax = s == PROTOCOL_STATUS_REFUSED;
        if (syntax) {
            reply.syntax = (struct protocol_syntax){.set = true, .line = 3, .column = 7,
                                                    .position = 41};
            snprintf(reply.syntax.text, sizeof reply.syntax.text, "end of file expected");
        }
        assert_int_equal(protocol_reply_encode(&reply, &buf, &len, err), 0);
        assert_int_equal(protocol_reply_decode(buf, len, &out, err), 0);
        assert_int_equal(out.status, s);
        assert_int_equal(out.error_count, 0);
        assert_string_equal(out.id, "");
        assert_int_equal(out.syntax.set, syntax);
        if (syntax) {
            assert_int_equal(out.syntax.line, 3);
            assert_int_equal(out.syntax.column, 7);
            assert_int_equal(out.syntax.position, 41);
            assert_string_equal(out.syntax.text, "end of file expected");
        }
        protocol_reply_clear(&out);
        free(buf);
    }
    reply.status = (enum protocol_status)12;
    assert_int_equal(protocol_reply_encode(&reply, &buf, &len, err), -1);
}

/* Build a reply map by hand with one deliberate defect: 1 missing key, 2
 * unknown key, 3 version, 4 status, 5-7 errors, 8 kind. */
static int decode_reply_with(int defect, struct protocol_reply *out, char *err)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, defect == 1 ? 8 : defect == 2 ? 10 : 9);
    pack_s(&pk, "v");
    msgpack_pack_uint64(&pk, defect == 3 ? PROTOCOL_VERSION + 1 : PROTOCOL_VERSION);
    pack_s(&pk, "id");
    pack_s(&pk, "x");
    pack_s(&pk, "status");
    pack_s(&pk, defect == 4 ? "fine" : "refused");
    pack_s(&pk, "kind");
    pack_s(&pk, defect == 8 ? "sleepy" : "not_found");
    pack_s(&pk, "accepted");
    msgpack_pack_uint64(&pk, 0);
    pack_s(&pk, "refused");
    msgpack_pack_uint64(&pk, 2);
    pack_s(&pk, "duplicate");
    msgpack_pack_false(&pk);
    if (defect != 1) { /* 1: message missing */
        pack_s(&pk, "message");
        pack_s(&pk, "bad records");
    }
    pack_s(&pk, "errors");
    if (defect == 5) {
        pack_s(&pk, "none");
    } else {
        msgpack_pack_array(&pk, 2);
        msgpack_pack_map(&pk, 2);
        pack_s(&pk, "index");
        msgpack_pack_uint64(&pk, 0);
        pack_s(&pk, "reason");
        pack_s(&pk, "first");
        msgpack_pack_map(&pk, defect == 6 ? 3 : 2);
        pack_s(&pk, "index");
        if (defect == 7)
            msgpack_pack_int64(&pk, -1);
        else
            msgpack_pack_uint64(&pk, 5);
        pack_s(&pk, "reason");
        pack_s(&pk, "second");
        if (defect == 6) {
            pack_s(&pk, "hint");
            pack_s(&pk, "x");
        }
    }
    if (defect == 2) {
        pack_s(&pk, "retry_after_ms");
        msgpack_pack_uint64(&pk, 100);
    }
    int rc = protocol_reply_decode(sbuf.data, sbuf.size, out, err);
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}

static void test_reply_strict(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct protocol_reply out;
    memset(&out, 0, sizeof out);
    assert_int_equal(decode_reply_with(0, &out, err), 0);
    assert_int_equal(out.status, PROTOCOL_STATUS_REFUSED);
    assert_int_equal(out.kind, ERROR_NOT_FOUND);
    assert_int_equal(out.error_count, 2);
    assert_int_equal(out.errors[1].index, 5);
    assert_string_equal(out.errors[1].reason, "second");
    protocol_reply_clear(&out);

    const char *expect[] = {NULL,      "missing key 'message'", "unknown key", "version",
                            "status",  "errors",                "errors[1]",   "errors[1]",
                            "unknown kind 'sleepy'"};
    for (int defect = 1; defect <= 8; defect++) {
        memset(&out, 0, sizeof out);
        assert_int_equal(decode_reply_with(defect, &out, err), -1);
        assert_non_null(strstr(err, expect[defect]));
        assert_null(out.errors); /* nothing leaks into out on failure */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_request_strict),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_reply_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

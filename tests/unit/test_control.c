/* test_control.c - unit tests of the control messages (strict decoding) and
 * of control_call against a REP server thread, including timeouts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "control_protocol.h"

static void pack_s(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static struct control_request make_request(enum control_cmd cmd, const char *domain,
                                           const char *name, const char *from, const char *to)
{
    struct control_request req;
    memset(&req, 0, sizeof req);
    req.cmd = cmd;
    snprintf(req.domain, sizeof req.domain, "%s", domain);
    snprintf(req.name, sizeof req.name, "%s", name);
    snprintf(req.from, sizeof req.from, "%s", from);
    snprintf(req.to, sizeof req.to, "%s", to);
    return req;
}

static void test_request_round_trip(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct control_request req = make_request(CONTROL_REPLAY, "demo", "flights", "2026-01-01",
                                              "2026-12-31");
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(control_request_encode(&req, &buf, &len, err), 0);
    struct control_request out;
    memset(&out, 0x77, sizeof out);
    assert_int_equal(control_request_decode(buf, len, &out, err), 0);
    assert_int_equal(out.cmd, CONTROL_REPLAY);
    assert_string_equal(out.domain, "demo");
    assert_string_equal(out.name, "flights");
    assert_string_equal(out.from, "2026-01-01");
    assert_string_equal(out.to, "2026-12-31");

    char *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = (char)0xc3;
    assert_int_equal(control_request_decode(longer, len + 1, &out, err), -1);
    assert_non_null(strstr(err, "trailing"));
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(control_request_decode(buf, cut, &out, err), -1);
    free(longer);
    free(buf);

    req = make_request(CONTROL_PING, "", "", "", "");
    assert_int_equal(control_request_encode(&req, &buf, &len, err), 0);
    assert_int_equal(control_request_decode(buf, len, &out, err), 0);
    assert_int_equal(out.cmd, CONTROL_PING);
    assert_string_equal(out.domain, "");
    free(buf);

    /* Encode checks too. */
    req = make_request(CONTROL_CMD_COUNT, "", "", "", "");
    assert_int_equal(control_request_encode(&req, &buf, &len, err), -1);
    req = make_request(CONTROL_REPLAY, "../x", "", "", "");
    assert_int_equal(control_request_encode(&req, &buf, &len, err), -1);
    req = make_request(CONTROL_REPLAY, "demo", "", "yesterday", "");
    assert_int_equal(control_request_encode(&req, &buf, &len, err), -1);
    assert_non_null(strstr(err, "from"));
    req = make_request(CONTROL_REPLAY, "demo", "", "", "2026-13-01");
    assert_int_equal(control_request_encode(&req, &buf, &len, err), -1);
    req = make_request((enum control_cmd)-1, "", "", "", "");
    assert_int_equal(control_request_encode(&req, &buf, &len, err), -1);
}

/* One name per command, each read back as itself; no other name is one. */
static void test_command_names(void **state)
{
    (void)state;
    for (int c = 0; c < CONTROL_CMD_COUNT; c++) {
        const char *name = control_cmd_name((enum control_cmd)c);
        assert_string_not_equal(name, "?");
        enum control_cmd back = CONTROL_CMD_COUNT;
        assert_int_equal(control_cmd_from_name(name, &back), 0);
        assert_int_equal(back, c);
        for (int d = 0; d < c; d++)
            assert_string_not_equal(name, control_cmd_name((enum control_cmd)d));
    }
    assert_string_equal(control_cmd_name(CONTROL_EXPIRE_DRY_RUN), "expire_dry_run");
    enum control_cmd out;
    assert_int_equal(control_cmd_from_name("Run", &out), -1);
    assert_int_equal(control_cmd_from_name("", &out), -1);
    assert_string_equal(control_cmd_name(CONTROL_CMD_COUNT), "?");
}

/* Request map with one defect: 1 missing key, 2 unknown key, 3 wrong type,
 * 4 version, 5 duplicate, 6 bad name, 7 cmd too long, 8 unknown cmd. */
static int decode_request_with(int defect, struct control_request *out, char *err)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    size_t n = 6;
    if (defect == 1)
        n = 5;
    if (defect == 2 || defect == 5)
        n = 7;
    msgpack_pack_map(&pk, n);
    pack_s(&pk, "v");
    msgpack_pack_uint64(&pk, defect == 4 ? 0 : CONTROL_VERSION);
    pack_s(&pk, "cmd");
    pack_s(&pk, defect == 7   ? "a_command_name_that_is_far_too_long_for_the_buffer"
                : defect == 8 ? "garbage"
                              : "run");
    pack_s(&pk, "domain");
    pack_s(&pk, "sales");
    pack_s(&pk, "name");
    if (defect == 3)
        msgpack_pack_uint64(&pk, 3);
    else
        pack_s(&pk, defect == 6 ? "sqlite_master" : "daily");
    pack_s(&pk, "from");
    pack_s(&pk, "");
    if (defect != 1) {
        pack_s(&pk, "to");
        pack_s(&pk, "");
    }
    if (defect == 2) {
        pack_s(&pk, "force");
        msgpack_pack_true(&pk);
    }
    if (defect == 5) {
        pack_s(&pk, "cmd");
        pack_s(&pk, "ping");
    }
    int rc = control_request_decode(sbuf.data, sbuf.size, out, err);
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}

static void test_request_strict(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct control_request out;
    assert_int_equal(decode_request_with(0, &out, err), 0);
    assert_int_equal(out.cmd, CONTROL_RUN);
    assert_string_equal(out.name, "daily");
    const char *expect[] = {NULL,        "missing key 'to'", "unknown key 'force'", "'name'",
                            "version",   "duplicate",        "name",                "too long",
                            "unknown command 'garbage'"};
    for (int defect = 1; defect <= 8; defect++) {
        assert_int_equal(decode_request_with(defect, &out, err), -1);
        assert_non_null(strstr(err, expect[defect]));
    }
}

/* A reply map by hand; with_id false leaves the key "id" out. */
static void pack_reply(msgpack_packer *pk, const char *status, const char *kind, bool with_id)
{
    msgpack_pack_map(pk, with_id ? 6 : 5);
    pack_s(pk, "v");
    msgpack_pack_uint64(pk, CONTROL_VERSION);
    pack_s(pk, "status");
    pack_s(pk, status);
    pack_s(pk, "kind");
    pack_s(pk, kind);
    pack_s(pk, "message");
    pack_s(pk, "");
    pack_s(pk, "count");
    msgpack_pack_int64(pk, 0);
    if (with_id) {
        pack_s(pk, "id");
        msgpack_pack_int64(pk, 0);
    }
}

static void test_reply_round_trip(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct control_reply reply = {.ok = true, .count = 12, .id = -5};
    snprintf(reply.message, sizeof reply.message, "merged 12 files");
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(control_reply_encode(&reply, &buf, &len, err), 0);
    struct control_reply out;
    assert_int_equal(control_reply_decode(buf, len, &out, err), 0);
    assert_true(out.ok);
    assert_int_equal(out.count, 12);
    assert_int_equal(out.id, -5);
    assert_string_equal(out.message, "merged 12 files");
    char *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0x00;
    assert_int_equal(control_reply_decode(longer, len + 1, &out, err), -1);
    free(longer);
    free(buf);

    assert_int_equal(out.kind, ERROR_NONE);

    reply.ok = false;
    snprintf(reply.message, sizeof reply.message, "unknown job sales/x");
    for (int k = ERROR_INTERNAL; k < ERROR_KIND_COUNT; k++) {
        reply.kind = (enum error_kind)k;
        assert_int_equal(control_reply_encode(&reply, &buf, &len, err), 0);
        assert_int_equal(control_reply_decode(buf, len, &out, err), 0);
        assert_false(out.ok);
        assert_int_equal(out.kind, k);
        assert_string_equal(out.message, "unknown job sales/x");
        free(buf);
    }
    /* a failure sent without a kind arrives as internal */
    reply.kind = ERROR_NONE;
    assert_int_equal(control_reply_encode(&reply, &buf, &len, err), 0);
    assert_int_equal(control_reply_decode(buf, len, &out, err), 0);
    assert_int_equal(out.kind, ERROR_INTERNAL);
    free(buf);

    /* Unknown status, missing key, a kind that is none or does not go with
     * the status. */
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    const char *const bad_kinds[][2] = {{"error", "sleepy"}, {"error", ""}, {"ok", "busy"}};
    for (size_t i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
        msgpack_sbuffer_clear(&sbuf);
        pack_reply(&pk, bad_kinds[i][0], bad_kinds[i][1], true);
        assert_int_equal(control_reply_decode(sbuf.data, sbuf.size, &out, err), -1);
        assert_non_null(strstr(err, "kind"));
    }
    msgpack_sbuffer_clear(&sbuf);
    pack_reply(&pk, "maybe", "", true);
    assert_int_equal(control_reply_decode(sbuf.data, sbuf.size, &out, err), -1);
    assert_non_null(strstr(err, "status"));
    msgpack_sbuffer_clear(&sbuf);
    pack_reply(&pk, "ok", "", false);
    assert_int_equal(control_reply_decode(sbuf.data, sbuf.size, &out, err), -1);
    assert_non_null(strstr(err, "missing key 'id'"));
    msgpack_sbuffer_destroy(&sbuf);
}

/* A REP server answering `n` requests: "ping" -> ok, anything else -> error
 * with the command echoed; "compact" makes it answer with bytes that are not
 * a reply. */
struct server {
    void *ctx;
    const char *endpoint;
    int n;
    int served;
    pthread_mutex_t lock;
    int bound;
};

static void *server_main(void *arg)
{
    struct server *s = arg;
    void *rep = zmq_socket(s->ctx, ZMQ_REP);
    int linger = 0;
    zmq_setsockopt(rep, ZMQ_LINGER, &linger, sizeof linger);
    int rc = zmq_bind(rep, s->endpoint);
    pthread_mutex_lock(&s->lock);
    s->bound = rc == 0 ? 1 : -1;
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->n && rc == 0; i++) {
        char buf[4096];
        int len = zmq_recv(rep, buf, sizeof buf, 0);
        if (len < 0)
            break;
        char err[ERROR_MAX];
        struct control_request req;
        struct control_reply reply;
        memset(&reply, 0, sizeof reply);
        if (control_request_decode(buf, (size_t)len, &req, err) < 0) {
            snprintf(reply.message, sizeof reply.message, "%s", err);
        } else if (req.cmd == CONTROL_COMPACT) {
            zmq_send(rep, "\x01\x02", 2, 0);
            s->served++;
            continue;
        } else if (req.cmd == CONTROL_PING) {
            reply.ok = true;
            reply.count = 1;
            reply.id = 99;
            snprintf(reply.message, sizeof reply.message, "pong");
        } else {
            snprintf(reply.message, sizeof reply.message, "unknown command %s",
                     control_cmd_name(req.cmd));
        }
        char *out = NULL;
        size_t out_len = 0;
        if (control_reply_encode(&reply, &out, &out_len, err) == 0) {
            zmq_send(rep, out, out_len, 0);
            free(out);
        }
        s->served++;
    }
    zmq_close(rep);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_call(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    void *ctx = zmq_ctx_new();
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/lakehouse-test-control-%d.sock", (int)getpid());

    /* Nobody listening: a timeout with a helpful message, in about the time. */
    struct control_request ping = make_request(CONTROL_PING, "", "", "", "");
    struct control_reply reply;
    int64_t t0 = now_ms();
    assert_int_equal(control_call(ctx, endpoint, &ping, 200, &reply, err), -1);
    int64_t took = now_ms() - t0;
    assert_true(took >= 150 && took < 3000);
    assert_non_null(strstr(err, "no reply from"));
    assert_non_null(strstr(err, endpoint));
    assert_non_null(strstr(err, "is the process running"));

    /* Then a server comes up: the next calls work (no stuck REQ socket). */
    struct server s = {.ctx = ctx, .endpoint = endpoint, .n = 4};
    pthread_mutex_init(&s.lock, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, server_main, &s), 0);
    for (;;) {
        pthread_mutex_lock(&s.lock);
        int bound = s.bound;
        pthread_mutex_unlock(&s.lock);
        if (bound != 0) {
            assert_int_equal(bound, 1);
            break;
        }
        sleep_ms(1);
    }
    assert_int_equal(control_call(ctx, endpoint, &ping, 5000, &reply, err), 0);
    assert_true(reply.ok);
    assert_int_equal(reply.id, 99);
    assert_string_equal(reply.message, "pong");

    struct control_request other = make_request(CONTROL_RELOAD, "", "", "", "");
    assert_int_equal(control_call(ctx, endpoint, &other, 5000, &reply, err), 0);
    assert_false(reply.ok); /* an error reply is not a transport error */
    assert_string_equal(reply.message, "unknown command reload");

    struct control_request garbage = make_request(CONTROL_COMPACT, "", "", "", "");
    assert_int_equal(control_call(ctx, endpoint, &garbage, 5000, &reply, err), -1);
    assert_non_null(strstr(err, endpoint));

    assert_int_equal(control_call(ctx, endpoint, &ping, 0, &reply, err), 0); /* 0: no limit */
    assert_true(reply.ok);
    pthread_join(th, NULL);
    assert_int_equal(s.served, 4);
    pthread_mutex_destroy(&s.lock);

    /* Invalid request: refused before anything is sent; bad endpoint. */
    struct control_request bad = make_request(CONTROL_REPLAY, "Bad", "", "", "");
    assert_int_equal(control_call(ctx, endpoint, &bad, 100, &reply, err), -1);
    assert_int_equal(control_call(ctx, "nowhere", &ping, 100, &reply, err), -1);
    assert_non_null(strstr(err, "nowhere"));

    /* Every socket was closed: terminating the context does not hang. */
    assert_int_equal(zmq_ctx_term(ctx), 0);
    unlink(endpoint + strlen("ipc://")); /* libzmq may leave the socket file */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_request_strict),
        cmocka_unit_test(test_command_names),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

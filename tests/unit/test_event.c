/* test_event.c - unit tests of the event envelope (strict msgpack decoding)
 * and of the PUB/SUB helpers through an XSUB/XPUB forwarder like the broker's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "event.h"

static struct event sample_event(void)
{
    struct event ev;
    memset(&ev, 0, sizeof ev);
    ev.topic = EVENT_SILVER_COMMITTED;
    ev.time_ms = 1763730208123;
    snprintf(ev.domain, sizeof ev.domain, "demo");
    snprintf(ev.name, sizeof ev.name, "flights");
    snprintf(ev.file, sizeof ev.file,
             "bronze/demo/flights/dt=2026-11-21/00000000000000000001-00000000000000000009.ndjson.lz4");
    ev.snapshot_id = 42;
    ev.count = -3;
    return ev;
}

/* Build an envelope by hand: the standard keys with optional changes.
 * skip: key to leave out; extra: unknown key to add; bad_type: key whose
 * value is packed as the wrong type; version: the v value. */
struct craft {
    const char *skip;
    const char *extra;
    const char *bad_type;
    uint64_t version;
    const char *topic;
    const char *domain;
    const char *duplicate;
};

static void pack_s(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void craft_envelope(const struct craft *c, msgpack_sbuffer *sbuf)
{
    static const char *const keys[] = {"v",    "topic", "time_ms",     "domain",
                                       "name", "file",  "snapshot_id", "count"};
    msgpack_sbuffer_init(sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    size_t n = 8;
    if (c->skip)
        n--;
    if (c->extra)
        n++;
    if (c->duplicate)
        n++;
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < 8; i++) {
        const char *k = keys[i];
        if (c->skip && strcmp(c->skip, k) == 0)
            continue;
        pack_s(&pk, k);
        if (c->bad_type && strcmp(c->bad_type, k) == 0) {
            if (strcmp(k, "topic") == 0 || strcmp(k, "domain") == 0 || strcmp(k, "name") == 0 ||
                strcmp(k, "file") == 0)
                msgpack_pack_int(&pk, 7);
            else
                pack_s(&pk, "7");
            continue;
        }
        if (strcmp(k, "v") == 0)
            msgpack_pack_uint64(&pk, c->version);
        else if (strcmp(k, "topic") == 0)
            pack_s(&pk, c->topic ? c->topic : "gold.committed");
        else if (strcmp(k, "domain") == 0)
            pack_s(&pk, c->domain ? c->domain : "sales");
        else if (strcmp(k, "name") == 0)
            pack_s(&pk, "orders");
        else if (strcmp(k, "file") == 0)
            pack_s(&pk, "");
        else
            msgpack_pack_int64(&pk, 5);
    }
    if (c->extra) {
        pack_s(&pk, c->extra);
        msgpack_pack_int(&pk, 1);
    }
    if (c->duplicate) {
        pack_s(&pk, c->duplicate);
        msgpack_pack_int64(&pk, 5);
    }
}

static int decode_crafted(const struct craft *c, struct event *ev, char *err)
{
    msgpack_sbuffer sbuf;
    craft_envelope(c, &sbuf);
    int rc = event_decode(sbuf.data, sbuf.size, ev, err);
    msgpack_sbuffer_destroy(&sbuf);
    return rc;
}

static void test_topic_names(void **state)
{
    (void)state;
    for (int t = 0; t < EVENT_TOPIC_COUNT; t++) {
        const char *name = event_topic_name((enum event_topic)t);
        assert_non_null(name);
        enum event_topic back;
        assert_int_equal(event_topic_from_name(name, &back), 0);
        assert_int_equal(back, t);
    }
    assert_string_equal(event_topic_name(EVENT_BRONZE_SEALED), "bronze.sealed");
    assert_string_equal(event_topic_name(EVENT_SILVER_COMMITTED), "silver.committed");
    assert_string_equal(event_topic_name(EVENT_GOLD_COMMITTED), "gold.committed");
    assert_string_equal(event_topic_name(EVENT_SCHEMA_CHANGED), "schema.changed");
    assert_string_equal(event_topic_name(EVENT_JOB_CHANGED), "job.changed");
    assert_null(event_topic_name(EVENT_TOPIC_COUNT));
    enum event_topic t;
    assert_int_equal(event_topic_from_name("silver", &t), -1);
    assert_int_equal(event_topic_from_name("", &t), -1);
}

static void test_round_trip(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    for (int t = 0; t < EVENT_TOPIC_COUNT; t++) {
        struct event ev = sample_event();
        ev.topic = (enum event_topic)t;
        char *buf = NULL;
        size_t len = 0;
        assert_int_equal(event_encode(&ev, &buf, &len, err), 0);
        struct event out;
        memset(&out, 0xAB, sizeof out);
        assert_int_equal(event_decode(buf, len, &out, err), 0);
        assert_int_equal(out.topic, ev.topic);
        assert_true(out.time_ms == ev.time_ms);
        assert_string_equal(out.domain, ev.domain);
        assert_string_equal(out.name, ev.name);
        assert_string_equal(out.file, ev.file);
        assert_true(out.snapshot_id == 42);
        assert_true(out.count == -3);
        free(buf);
    }
    /* Empty strings and extreme integers. */
    struct event ev;
    memset(&ev, 0, sizeof ev);
    ev.topic = EVENT_JOB_CHANGED;
    ev.time_ms = INT64_MIN;
    ev.snapshot_id = INT64_MAX;
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(event_encode(&ev, &buf, &len, err), 0);
    struct event out;
    assert_int_equal(event_decode(buf, len, &out, err), 0);
    assert_true(out.time_ms == INT64_MIN);
    assert_true(out.snapshot_id == INT64_MAX);
    assert_string_equal(out.domain, "");
    free(buf);
}

static void test_encode_rejects(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    char *buf = NULL;
    size_t len = 0;
    struct event ev = sample_event();
    ev.topic = EVENT_TOPIC_COUNT;
    assert_int_equal(event_encode(&ev, &buf, &len, err), -1);
    assert_null(buf);
    ev = sample_event();
    snprintf(ev.domain, sizeof ev.domain, "../etc");
    assert_int_equal(event_encode(&ev, &buf, &len, err), -1);
    assert_non_null(strstr(err, "domain"));
    ev = sample_event();
    snprintf(ev.file, sizeof ev.file, "/etc/passwd");
    assert_int_equal(event_encode(&ev, &buf, &len, err), -1);
    ev = sample_event();
    snprintf(ev.file, sizeof ev.file, "bronze/../../x");
    assert_int_equal(event_encode(&ev, &buf, &len, err), -1);
}

static void test_strict_decode(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct event ev;
    struct craft ok = {.version = EVENT_VERSION};
    assert_int_equal(decode_crafted(&ok, &ev, err), 0);
    assert_int_equal(ev.topic, EVENT_GOLD_COMMITTED);
    assert_string_equal(ev.domain, "sales");

    static const char *const keys[] = {"v",    "topic", "time_ms",     "domain",
                                       "name", "file",  "snapshot_id", "count"};
    for (size_t i = 0; i < 8; i++) {
        struct craft c = {.version = EVENT_VERSION, .skip = keys[i]};
        assert_int_equal(decode_crafted(&c, &ev, err), -1);
        assert_non_null(strstr(err, "missing key"));
        assert_non_null(strstr(err, keys[i]));

        struct craft w = {.version = EVENT_VERSION, .bad_type = keys[i]};
        assert_int_equal(decode_crafted(&w, &ev, err), -1);
        assert_non_null(strstr(err, keys[i]));

        struct craft d = {.version = EVENT_VERSION, .duplicate = keys[i]};
        assert_int_equal(decode_crafted(&d, &ev, err), -1);
        assert_non_null(strstr(err, "duplicate"));
    }
    struct craft unknown = {.version = EVENT_VERSION, .extra = "colour"};
    assert_int_equal(decode_crafted(&unknown, &ev, err), -1);
    assert_non_null(strstr(err, "unknown key 'colour'"));

    struct craft version = {.version = EVENT_VERSION + 1};
    assert_int_equal(decode_crafted(&version, &ev, err), -1);
    assert_non_null(strstr(err, "version"));

    struct craft topic = {.version = EVENT_VERSION, .topic = "silver.exploded"};
    assert_int_equal(decode_crafted(&topic, &ev, err), -1);
    assert_non_null(strstr(err, "unknown topic"));

    struct craft name = {.version = EVENT_VERSION, .domain = "Bad-Name"};
    assert_int_equal(decode_crafted(&name, &ev, err), -1);
}

static void test_trailing_and_truncated(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct event ev = sample_event();
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(event_encode(&ev, &buf, &len, err), 0);
    char *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = (char)0xc0; /* a msgpack nil */
    struct event out;
    assert_int_equal(event_decode(longer, len + 1, &out, err), -1);
    assert_non_null(strstr(err, "trailing"));
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(event_decode(buf, cut, &out, err), -1);
    assert_int_equal(event_decode("\xc1", 1, &out, err), -1); /* never-used byte */
    assert_int_equal(event_decode("\x93\x01\x02\x03", 4, &out, err), -1); /* an array */
    assert_non_null(strstr(err, "map"));
    free(longer);
    free(buf);
}

/* ------------------------------------------------------------ PUB/SUB */

struct bus {
    void *ctx;
    void *xsub;
    void *xpub;
    struct config cfg;
};

static void bus_open(struct bus *b, const char *tag)
{
    memset(b, 0, sizeof *b);
    b->ctx = zmq_ctx_new();
    assert_non_null(b->ctx);
    snprintf(b->cfg.events_pub_endpoint, sizeof b->cfg.events_pub_endpoint, "inproc://%s-in", tag);
    snprintf(b->cfg.events_sub_endpoint, sizeof b->cfg.events_sub_endpoint, "inproc://%s-out",
             tag);
    b->xsub = zmq_socket(b->ctx, ZMQ_XSUB);
    b->xpub = zmq_socket(b->ctx, ZMQ_XPUB);
    int linger = 0;
    zmq_setsockopt(b->xsub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(b->xpub, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_bind(b->xsub, b->cfg.events_pub_endpoint), 0);
    assert_int_equal(zmq_bind(b->xpub, b->cfg.events_sub_endpoint), 0);
}

/* Forward whatever is pending in both directions (the broker's job). */
static void bus_pump(struct bus *b)
{
    void *from[2] = {b->xsub, b->xpub};
    void *to[2] = {b->xpub, b->xsub};
    for (int i = 0; i < 2; i++) {
        for (;;) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, from[i], ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            int more = zmq_msg_more(&msg);
            zmq_msg_send(&msg, to[i], more ? ZMQ_SNDMORE : 0);
        }
    }
}

static void bus_close(struct bus *b)
{
    zmq_close(b->xsub);
    zmq_close(b->xpub);
    zmq_ctx_term(b->ctx);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_publish_receive(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    struct bus b;
    bus_open(&b, "pubsub");
    void *pub = event_publisher_open(b.ctx, &b.cfg, err);
    assert_non_null(pub);
    enum event_topic topics[] = {EVENT_SILVER_COMMITTED, EVENT_JOB_CHANGED};
    void *sub = event_subscriber_open(b.ctx, &b.cfg, topics, 2, err);
    assert_non_null(sub);

    int hwm = 0;
    size_t sz = sizeof hwm;
    assert_int_equal(zmq_getsockopt(pub, ZMQ_SNDHWM, &hwm, &sz), 0);
    assert_int_equal(hwm, EVENT_HWM);
    int linger = -1;
    sz = sizeof linger;
    assert_int_equal(zmq_getsockopt(pub, ZMQ_LINGER, &linger, &sz), 0);
    assert_int_equal(linger, 0);

    /* Subscriptions travel asynchronously; keep publishing until one event
     * arrives (events are hints: early ones may be dropped). */
    struct event ev = sample_event();
    ev.time_ms = 0;
    struct event got;
    int received = 0;
    for (int i = 0; i < 500 && !received; i++) {
        struct event other = sample_event();
        other.topic = EVENT_BRONZE_SEALED; /* not subscribed: filtered out */
        assert_int_equal(event_publish(pub, &other, err), 0);
        assert_int_equal(event_publish(pub, &ev, err), 0);
        bus_pump(&b);
        if (event_receive(sub, ZMQ_DONTWAIT, &got, err) == 0)
            received = 1;
        else {
            assert_int_equal(errno, EAGAIN);
            sleep_ms(5);
        }
    }
    assert_true(received);
    assert_int_equal(got.topic, EVENT_SILVER_COMMITTED);
    assert_true(got.time_ms > 1600000000000LL); /* filled in by publish */
    assert_string_equal(got.name, "flights");

    /* Drain, then check filtering and order with the subscription in place. */
    bus_pump(&b);
    while (event_receive(sub, ZMQ_DONTWAIT, &got, err) == 0)
        ;
    struct event job = sample_event();
    job.topic = EVENT_JOB_CHANGED;
    snprintf(job.name, sizeof job.name, "daily");
    struct event sealed = sample_event();
    sealed.topic = EVENT_BRONZE_SEALED;
    assert_int_equal(event_publish(pub, &sealed, err), 0);
    assert_int_equal(event_publish(pub, &job, err), 0);
    int found = 0;
    for (int i = 0; i < 200 && !found; i++) {
        bus_pump(&b);
        if (event_receive(sub, ZMQ_DONTWAIT, &got, err) == 0) {
            assert_int_equal(got.topic, EVENT_JOB_CHANGED);
            assert_string_equal(got.name, "daily");
            found = 1;
        } else {
            sleep_ms(2);
        }
    }
    assert_true(found);

    /* Malformed messages from a raw publisher are reported, then skipped. */
    void *raw = zmq_socket(b.ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(raw, b.cfg.events_pub_endpoint), 0);
    int errors = 0, good = 0;
    for (int i = 0; i < 500 && good == 0; i++) {
        zmq_send(raw, "job.changed", 11, ZMQ_SNDMORE);
        zmq_send(raw, "garbage", 7, 0);
        zmq_send(raw, "job.changed", 11, 0); /* one frame only */
        char *body = NULL;
        size_t len = 0;
        assert_int_equal(event_encode(&job, &body, &len, err), 0);
        zmq_send(raw, "silver.committed", 16, ZMQ_SNDMORE); /* topic mismatch */
        zmq_send(raw, body, len, 0);
        zmq_send(raw, "job.changed", 11, ZMQ_SNDMORE); /* three frames */
        zmq_send(raw, body, len, ZMQ_SNDMORE);
        zmq_send(raw, "x", 1, 0);
        zmq_send(raw, "job.changed", 11, ZMQ_SNDMORE); /* finally a good one */
        zmq_send(raw, body, len, 0);
        free(body);
        bus_pump(&b);
        for (;;) {
            int rc = event_receive(sub, ZMQ_DONTWAIT, &got, err);
            if (rc == 0) {
                good++;
                break;
            }
            if (errno == EAGAIN && strstr(err, "no event pending"))
                break;
            assert_int_equal(errno, EBADMSG);
            assert_non_null(strstr(err, "malformed event"));
            errors++;
        }
        if (good == 0)
            sleep_ms(5);
    }
    assert_int_equal(good, 1);
    assert_true(errors >= 4);
    assert_int_equal(got.topic, EVENT_JOB_CHANGED);

    zmq_close(raw);
    zmq_close(pub);
    zmq_close(sub);
    bus_close(&b);
}

/* A publisher whose broker is gone must neither block on publish nor on
 * shutdown (LINGER 0). The test would hang here otherwise. */
static void test_publish_without_broker(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    void *ctx = zmq_ctx_new();
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.events_pub_endpoint, sizeof cfg.events_pub_endpoint,
             "ipc:///tmp/lakehouse-test-event-nobody-%d.sock", (int)getpid());
    snprintf(cfg.events_sub_endpoint, sizeof cfg.events_sub_endpoint,
             "ipc:///tmp/lakehouse-test-event-nobody-out-%d.sock", (int)getpid());
    void *pub = event_publisher_open(ctx, &cfg, err);
    assert_non_null(pub);
    void *sub = event_subscriber_open(ctx, &cfg, NULL, 0, err);
    assert_non_null(sub);
    struct event ev = sample_event();
    for (int i = 0; i < 20000; i++)
        event_publish(pub, &ev, err);
    struct event got;
    assert_int_equal(event_receive(sub, ZMQ_DONTWAIT, &got, err), -1);
    assert_int_equal(errno, EAGAIN);
    zmq_close(pub);
    zmq_close(sub);
    assert_int_equal(zmq_ctx_term(ctx), 0);

    /* Bad endpoint and bad topic are reported. */
    ctx = zmq_ctx_new();
    snprintf(cfg.events_pub_endpoint, sizeof cfg.events_pub_endpoint, "nonsense");
    assert_null(event_publisher_open(ctx, &cfg, err));
    assert_non_null(strstr(err, "nonsense"));
    enum event_topic bad = EVENT_TOPIC_COUNT;
    assert_null(event_subscriber_open(ctx, &cfg, &bad, 1, err));
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_names),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_encode_rejects),
        cmocka_unit_test(test_strict_decode),
        cmocka_unit_test(test_trailing_and_truncated),
        cmocka_unit_test(test_publish_receive),
        cmocka_unit_test(test_publish_without_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* event.c - event topics, the msgpack envelope (strict), and the PUB/SUB
 * helpers every process uses to publish and receive hints (see event.h). */
#include "event.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "nametable.h"
#include "timeutil.h"
#include "wire.h"

static const char *const event_topic_names[EVENT_TOPIC_COUNT] = {
    [EVENT_BRONZE_SEALED] = "bronze.sealed",
    [EVENT_SILVER_COMMITTED] = "silver.committed",
    [EVENT_GOLD_COMMITTED] = "gold.committed",
    [EVENT_SCHEMA_CHANGED] = "schema.changed",
    [EVENT_JOB_CHANGED] = "job.changed",
    [EVENT_JOB_STARTED] = "job.started",
    [EVENT_JOB_FINISHED] = "job.finished",
    [EVENT_PROCESS_UP] = "process.up",
    [EVENT_PROCESS_DOWN] = "process.down",
    [EVENT_MERGE_BLOCKED] = "merge.blocked",
};

const char *event_topic_name(enum event_topic topic)
{
    return nametable_name(event_topic_names, EVENT_TOPIC_COUNT, (int)topic, NULL);
}

int event_topic_from_name(const char *name, enum event_topic *out)
{
    int i = nametable_find(event_topic_names, EVENT_TOPIC_COUNT, name, false);
    if (i < 0)
        return -1;
    *out = (enum event_topic)i;
    return 0;
}

/* domain and name reach paths and SQL identifiers in consumers, so they are
 * checked here, at the edge (rule 7): "" or a valid object name. */
static int event_check_name(const char *kind, const char *value, char err[ERROR_MAX])
{
    if (value[0] == '\0' || names_is_valid_object(value))
        return 0;
    return error_set(err, "event: invalid %s name '%s'", kind, value);
}

/* file is a path relative to data_dir: never absolute, never climbing out. */
static int event_check_file(const char *file, char err[ERROR_MAX])
{
    if (file[0] == '\0')
        return 0;
    if (file[0] == '/')
        return error_set(err, "event: file '%s' must be relative to the data directory", file);
    const char *p = file;
    while (*p != '\0') {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return error_set(err, "event: file '%s' must not contain '..'", file);
        p += n;
        if (*p == '/')
            p++;
    }
    return 0;
}

static int event_check_strings(const struct event *ev, char err[ERROR_MAX])
{
    if (strnlen(ev->domain, sizeof ev->domain) == sizeof ev->domain ||
        strnlen(ev->name, sizeof ev->name) == sizeof ev->name ||
        strnlen(ev->file, sizeof ev->file) == sizeof ev->file)
        return error_set(err, "event: unterminated string field");
    if (event_check_name("domain", ev->domain, err) < 0 ||
        event_check_name("name", ev->name, err) < 0 || event_check_file(ev->file, err) < 0)
        return -1;
    return 0;
}

int event_encode(const struct event *ev, char **out, size_t *len, char err[ERROR_MAX])
{
    const char *topic = event_topic_name(ev->topic);
    if (topic == NULL)
        return error_set(err, "event: unknown topic %d", (int)ev->topic);
    if (event_check_strings(ev, err) < 0)
        return -1;

    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    int failed = msgpack_pack_map(&pk, 8) != 0;
    failed |= wire_pack_key_uint(&pk, "v", EVENT_VERSION);
    failed |= wire_pack_key_str(&pk, "topic", topic);
    failed |= wire_pack_key_int(&pk, "time_ms", ev->time_ms);
    failed |= wire_pack_key_str(&pk, "domain", ev->domain);
    failed |= wire_pack_key_str(&pk, "name", ev->name);
    failed |= wire_pack_key_str(&pk, "file", ev->file);
    failed |= wire_pack_key_int(&pk, "snapshot_id", ev->snapshot_id);
    failed |= wire_pack_key_int(&pk, "count", ev->count);
    return wire_finish(&sbuf, failed, "event", out, len, err);
}

int event_decode(const void *buf, size_t len, struct event *out, char err[ERROR_MAX])
{
    struct event ev;
    memset(&ev, 0, sizeof ev);
    uint64_t version = 0;
    char topic[32];
    struct wire_field fields[] = {
        {.key = "v", .type = WIRE_UINT, .required = true, .out = &version},
        {.key = "topic", .type = WIRE_STR, .required = true, .out = topic, .out_size = sizeof topic},
        {.key = "time_ms", .type = WIRE_INT, .required = true, .out = &ev.time_ms},
        {.key = "domain", .type = WIRE_STR, .required = true, .out = ev.domain,
         .out_size = sizeof ev.domain},
        {.key = "name", .type = WIRE_STR, .required = true, .out = ev.name,
         .out_size = sizeof ev.name},
        {.key = "file", .type = WIRE_STR, .required = true, .out = ev.file,
         .out_size = sizeof ev.file},
        {.key = "snapshot_id", .type = WIRE_INT, .required = true, .out = &ev.snapshot_id},
        {.key = "count", .type = WIRE_INT, .required = true, .out = &ev.count},
    };
    if (wire_decode_map(buf, len, "event", fields, sizeof fields / sizeof fields[0], err) < 0)
        return -1;
    if (version != EVENT_VERSION)
        return error_set(err, "event: unsupported version %llu (expected %d)",
                         (unsigned long long)version, EVENT_VERSION);
    if (event_topic_from_name(topic, &ev.topic) < 0)
        return error_set(err, "event: unknown topic '%s'", topic);
    if (event_check_strings(&ev, err) < 0)
        return -1;
    *out = ev;
    return 0;
}

/* A new event socket (ZMQ_PUB or ZMQ_SUB; what names it in errors) with the
 * options every event socket gets: bounded queues, and LINGER 0 so that
 * closing a socket with undelivered hints never blocks zmq_ctx_term (a
 * process must be able to stop even when the broker is gone). */
static void *event_socket_open(void *zmq_context, int type, const char *what,
                               char err[ERROR_MAX])
{
    void *sock = zmq_socket(zmq_context, type);
    if (sock == NULL) {
        error_set(err, "%s: %s", what, zmq_strerror(zmq_errno()));
        return NULL;
    }
    int hwm = EVENT_HWM;
    int linger = 0;
    if (zmq_setsockopt(sock, type == ZMQ_PUB ? ZMQ_SNDHWM : ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        error_set(err, "event socket options: %s", zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/* Connect a socket from event_socket_open: sock, or NULL (closed) on error. */
static void *event_socket_connect(void *sock, const char *endpoint, const char *what,
                                  char err[ERROR_MAX])
{
    if (zmq_connect(sock, endpoint) != 0) {
        error_set(err, "%s: connect %s: %s", what, endpoint, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

void *event_publisher_open(void *zmq_context, const struct config *cfg, char err[ERROR_MAX])
{
    void *sock = event_socket_open(zmq_context, ZMQ_PUB, "event publisher", err);
    if (sock == NULL)
        return NULL;
    return event_socket_connect(sock, cfg->events_pub_endpoint, "event publisher", err);
}

void *event_subscriber_open(void *zmq_context, const struct config *cfg,
                            const enum event_topic *topics, size_t n, char err[ERROR_MAX])
{
    void *sock = event_socket_open(zmq_context, ZMQ_SUB, "event subscriber", err);
    if (sock == NULL)
        return NULL;
    if (n == 0) {
        if (zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0) != 0) {
            error_set(err, "event subscriber: subscribe: %s", zmq_strerror(zmq_errno()));
            goto fail;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = event_topic_name(topics[i]);
        if (name == NULL) {
            error_set(err, "event subscriber: unknown topic %d", (int)topics[i]);
            goto fail;
        }
        /* SUB filters by prefix; no topic name is a prefix of another, and
         * event_receive checks the exact name anyway. */
        if (zmq_setsockopt(sock, ZMQ_SUBSCRIBE, name, strlen(name)) != 0) {
            error_set(err, "event subscriber: subscribe %s: %s", name, zmq_strerror(zmq_errno()));
            goto fail;
        }
    }
    return event_socket_connect(sock, cfg->events_sub_endpoint, "event subscriber", err);
fail:
    zmq_close(sock);
    return NULL;
}

int event_publish(void *pub_socket, const struct event *ev, char err[ERROR_MAX])
{
    struct event copy = *ev;
    if (copy.time_ms == 0)
        copy.time_ms = timeutil_now_ms();
    char *body = NULL;
    size_t len = 0;
    if (event_encode(&copy, &body, &len, err) < 0)
        return -1;
    const char *topic = event_topic_name(copy.topic);
    int rc = -1;
    /* PUB never blocks (it drops at the HWM); ZMQ_DONTWAIT makes sure of it
     * for any socket type a caller might pass. A multipart message is
     * delivered atomically, so a failure here never leaves half an event. */
    if (zmq_send(pub_socket, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(pub_socket, body, len, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        error_set(err, "event %s dropped: %s", topic,
                  e == EAGAIN ? "queue full" : zmq_strerror(e));
    } else {
        rc = 0;
    }
    free(body);
    return rc;
}

/* Read and discard the remaining frames of a multipart message. */
static void event_drain(void *sock)
{
    int more = 1;
    size_t size = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &size) == 0 && more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int rc = zmq_msg_recv(&msg, sock, 0);
        zmq_msg_close(&msg);
        if (rc < 0)
            break;
        size = sizeof more;
    }
}

static int event_has_more(void *sock)
{
    int more = 0;
    size_t size = sizeof more;
    if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &size) != 0)
        return 0;
    return more;
}

int event_receive(void *sub_socket, int flags, struct event *out, char err[ERROR_MAX])
{
    zmq_msg_t topic_msg;
    zmq_msg_t body_msg;
    zmq_msg_init(&topic_msg);
    zmq_msg_init(&body_msg);
    int ret = -1;

    if (zmq_msg_recv(&topic_msg, sub_socket, flags) < 0) {
        int e = zmq_errno();
        error_set(err, "event receive: %s", e == EAGAIN ? "no event pending" : zmq_strerror(e));
        zmq_msg_close(&topic_msg);
        zmq_msg_close(&body_msg);
        errno = e;
        return -1;
    }
    if (!event_has_more(sub_socket)) {
        error_set(err, "malformed event: one frame instead of two");
        goto done;
    }
    /* The rest of a multipart message is already here: no flags needed. */
    if (zmq_msg_recv(&body_msg, sub_socket, 0) < 0) {
        error_set(err, "event receive: %s", zmq_strerror(zmq_errno()));
        goto done;
    }
    if (event_has_more(sub_socket)) {
        event_drain(sub_socket);
        error_set(err, "malformed event: more than two frames");
        goto done;
    }
    struct event ev;
    if (event_decode(zmq_msg_data(&body_msg), zmq_msg_size(&body_msg), &ev, err) < 0) {
        error_prefix(err, "malformed event");
        goto done;
    }
    const char *name = event_topic_name(ev.topic);
    if (zmq_msg_size(&topic_msg) != strlen(name) ||
        memcmp(zmq_msg_data(&topic_msg), name, strlen(name)) != 0) {
        error_set(err, "malformed event: topic frame does not match envelope topic %s", name);
        goto done;
    }
    *out = ev;
    ret = 0;
done:
    zmq_msg_close(&topic_msg);
    zmq_msg_close(&body_msg);
    if (ret < 0)
        errno = EBADMSG; /* a stale EAGAIN must not hide pending events */
    return ret;
}

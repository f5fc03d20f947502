/* http_events.c - GET /events: the event bus as Server-Sent Events.
 *
 * One thread of the HTTP server subscribes to every topic (event.h) and
 * keeps the last HTTP_EVENTS_RING events in a ring, each with an id counted
 * from 1 for this broker run. A stream answers
 *   id: <n>\nevent: <topic>\ndata: <one-line JSON object>\n\n
 * for each event after the one named by Last-Event-ID (header, or the
 * last_event_id query argument; none: from now on; an id beyond the newest,
 * i.e. from an earlier broker run: everything in the ring), and ": ping\n\n"
 * after HTTP_EVENTS_PING_MS without one. Events that left the ring before a
 * slow or returning client read them are skipped, said in a comment
 * (": missed N events"); events are hints (durable state is the truth).
 *
 * At most cfg->http_max_event_streams streams at once (503 with Retry-After
 * beyond), so streams never take every connection. A stream never blocks
 * (http_internal.h, struct http_stream): its read hands over what is queued
 * or nothing, and the connection sleeps without a thread until the hub
 * thread wakes it: on a new event, when a ping is due, on the server's stop,
 * or when it sees the client hang up (checked every HTTP_EVENTS_SLICE_MS, so
 * that a closed stream frees its slot at once). */
#include "http_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "timeutil.h"

#define HTTP_EVENTS_RING 1024
#define HTTP_EVENTS_PING_MS 15000
#define HTTP_EVENTS_SLICE_MS 250
#define HTTP_EVENTS_RETRY_AFTER_S 5
#define HTTP_EVENTS_BATCH 64 /* events formatted per reader call */

struct http_events_item {
    int64_t id;
    enum event_topic topic;
    char *data; /* one-line JSON, owned */
};

struct http_events_stream;

struct http_events {
    pthread_mutex_t lock;      /* also held while waking a stream */
    struct http_events_item ring[HTTP_EVENTS_RING];
    struct http_events_stream *list; /* the attached streams */
    int64_t newest;            /* id of the newest event, 0 = none yet */
    int64_t streams;
    int64_t max_streams;
    bool stop;
    void *sub;                 /* used by the thread only */
    pthread_t thread;
    bool thread_started;
};

struct http_events_stream {
    struct http_events *hub;
    struct http_events_stream *prev, *next; /* in hub->list once attached */
    struct http_stream_wake *wake;          /* hub lock; NULL once done */
    int fd;                    /* the client's socket: a hang-up ends the stream */
    bool gone;                 /* hub lock: the client hung up */
    int64_t last_id;           /* hub lock: the last event sent */
    int64_t last_write_ms;     /* hub lock: monotonic, when text was last queued */
    char *pending;             /* formatted text not yet handed to libmicrohttpd */
    size_t pending_len, pending_off;
};

/* The data line of an event: what a watcher needs, named as in the HTTP API. */
static char *http_events_data(const struct event *ev)
{
    char when[TIMEUTIL_TIMESTAMP_MAX], job[2 * NAMES_MAX];
    timeutil_format_utc_ms(ev->time_ms, when);
    snprintf(job, sizeof job, "%s/%s", ev->domain, ev->name);
    json_t *o = json_pack("{s:s}", "time", when);
    if (o == NULL)
        return NULL;
    const char *layer = NULL;
    switch (ev->topic) {
    case EVENT_BRONZE_SEALED:
        layer = "bronze";
        json_object_set_new(o, "file", json_string(ev->file));
        json_object_set_new(o, "records", json_integer(ev->count));
        break;
    case EVENT_SILVER_COMMITTED:
        layer = "silver";
        json_object_set_new(o, "snapshot_id", json_integer(ev->snapshot_id));
        json_object_set_new(o, "rows_changed", json_integer(ev->count));
        if (ev->file[0])
            json_object_set_new(o, "file", json_string(ev->file));
        break;
    case EVENT_GOLD_COMMITTED:
        layer = "gold";
        json_object_set_new(o, "snapshot_id", json_integer(ev->snapshot_id));
        json_object_set_new(o, "rows", json_integer(ev->count));
        json_object_set_new(o, "job", json_string(job));
        break;
    case EVENT_SCHEMA_CHANGED:
        layer = "silver";
        json_object_set_new(o, "schema_version", json_integer(ev->count));
        break;
    case EVENT_JOB_CHANGED:
    case EVENT_JOB_STARTED:
    case EVENT_JOB_FINISHED:
        layer = "gold";
        json_object_set_new(o, "job", json_string(job));
        if (ev->topic != EVENT_JOB_CHANGED)
            json_object_set_new(o, "execution_id", json_integer(ev->count));
        if (ev->topic == EVENT_JOB_FINISHED) {
            json_object_set_new(o, "status", json_string(ev->file));
            if (ev->snapshot_id > 0)
                json_object_set_new(o, "snapshot_id", json_integer(ev->snapshot_id));
        }
        break;
    case EVENT_PROCESS_UP:
    case EVENT_PROCESS_DOWN:
        json_object_set_new(o, "process", json_string(ev->name));
        json_object_set_new(o, "pid", json_integer(ev->count));
        if (ev->topic == EVENT_PROCESS_DOWN)
            json_object_set_new(o, "how", json_string(ev->file));
        break;
    case EVENT_MERGE_BLOCKED:
        layer = "silver";
        json_object_set_new(o, "file", json_string(ev->file));
        break;
    case EVENT_TOPIC_COUNT: break;
    }
    if (layer != NULL) {
        json_object_set_new(o, "domain", json_string(ev->domain));
        json_object_set_new(o, "layer", json_string(layer));
        json_object_set_new(o, "table", json_string(ev->name));
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

static void http_events_push(struct http_events *hub, const struct event *ev)
{
    char *data = http_events_data(ev);
    if (data == NULL)
        return;
    pthread_mutex_lock(&hub->lock);
    int64_t id = ++hub->newest;
    struct http_events_item *slot = &hub->ring[id % HTTP_EVENTS_RING];
    free(slot->data);
    slot->id = id;
    slot->topic = ev->topic;
    slot->data = data;
    for (struct http_events_stream *st = hub->list; st != NULL; st = st->next)
        http_stream_wake(st->wake);
    pthread_mutex_unlock(&hub->lock);
}

/* Has the client gone? (a sleeping stream's connection is not polled by
 * the server: without this its slot would stay taken until a ping fails) */
static bool http_events_gone(const struct http_events_stream *s)
{
    if (s->fd < 0)
        return false;
    struct pollfd p = {.fd = s->fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* Wake the streams a ping is due on and those whose client hung up. */
static void http_events_tend(struct http_events *hub)
{
    int64_t now = timeutil_monotonic_ms();
    pthread_mutex_lock(&hub->lock);
    for (struct http_events_stream *st = hub->list; st != NULL; st = st->next) {
        if (!st->gone && http_events_gone(st))
            st->gone = true;
        if (st->gone || now - st->last_write_ms >= HTTP_EVENTS_PING_MS)
            http_stream_wake(st->wake);
    }
    pthread_mutex_unlock(&hub->lock);
}

static void *http_events_run(void *arg)
{
    struct http_events *hub = arg;
    char err[ERROR_MAX];
    for (;;) {
        pthread_mutex_lock(&hub->lock);
        bool stop = hub->stop;
        pthread_mutex_unlock(&hub->lock);
        if (stop)
            break;
        zmq_pollitem_t item = {.socket = hub->sub, .events = ZMQ_POLLIN};
        int n = zmq_poll(&item, 1, HTTP_EVENTS_SLICE_MS);
        if (n < 0 && zmq_errno() == ETERM)
            break;
        http_events_tend(hub);
        if (n <= 0)
            continue;
        for (int i = 0; i < HTTP_EVENTS_BATCH; i++) {
            struct event ev;
            if (event_receive(hub->sub, ZMQ_DONTWAIT, &ev, err) == 0) {
                http_events_push(hub, &ev);
                continue;
            }
            if (errno == EBADMSG) {
                log_debug("http events_malformed reason=\"%s\"", err);
                continue;
            }
            break;
        }
    }
    zmq_close(hub->sub);
    hub->sub = NULL;
    return NULL;
}

struct http_events *http_events_start(void *zmq_context, const struct config *cfg,
                                      char err[ERROR_MAX])
{
    struct http_events *hub = calloc(1, sizeof *hub);
    if (hub == NULL) {
        error_set(err, "http events: out of memory");
        return NULL;
    }
    pthread_mutex_init(&hub->lock, NULL);
    hub->max_streams = cfg->http_max_event_streams;
    hub->sub = event_subscriber_open(zmq_context, cfg, NULL, 0, err);
    if (hub->sub == NULL) {
        error_prefix(err, "http events");
        http_events_free(&hub);
        return NULL;
    }
    int rc = pthread_create(&hub->thread, NULL, http_events_run, hub);
    if (rc != 0) {
        error_set(err, "http events: cannot start a thread: %s", strerror(rc));
        zmq_close(hub->sub);
        hub->sub = NULL;
        http_events_free(&hub);
        return NULL;
    }
    hub->thread_started = true;
    return hub;
}

void http_events_stop(struct http_events *hub)
{
    if (hub == NULL)
        return;
    pthread_mutex_lock(&hub->lock);
    hub->stop = true;
    for (struct http_events_stream *st = hub->list; st != NULL; st = st->next)
        http_stream_wake(st->wake); /* they read the end */
    pthread_mutex_unlock(&hub->lock);
    if (hub->thread_started) {
        pthread_join(hub->thread, NULL);
        hub->thread_started = false;
    }
}

void http_events_free(struct http_events **hub)
{
    if (hub == NULL || *hub == NULL)
        return;
    struct http_events *h = *hub;
    http_events_stop(h);
    for (size_t i = 0; i < HTTP_EVENTS_RING; i++)
        free(h->ring[i].data);
    pthread_mutex_destroy(&h->lock);
    free(h);
    *hub = NULL;
}

/* Format the events after s->last_id (lock held) into s->pending. */
static void http_events_format(struct http_events_stream *s)
{
    struct http_events *hub = s->hub;
    int64_t oldest = hub->newest - HTTP_EVENTS_RING + 1;
    if (oldest < 1)
        oldest = 1;
    size_t cap = 256, len = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return;
    out[0] = '\0';
    if (s->last_id + 1 < oldest) {
        len += (size_t)snprintf(out, cap, ": missed %" PRId64 " events\n\n",
                                oldest - s->last_id - 1);
        s->last_id = oldest - 1;
    }
    for (int i = 0; i < HTTP_EVENTS_BATCH && s->last_id < hub->newest; i++) {
        const struct http_events_item *it = &hub->ring[(s->last_id + 1) % HTTP_EVENTS_RING];
        const char *topic = event_topic_name(it->topic);
        size_t need = strlen(it->data) + strlen(topic ? topic : "") + 64;
        if (len + need > cap) {
            while (len + need > cap)
                cap *= 2;
            char *grown = realloc(out, cap);
            if (grown == NULL)
                break;
            out = grown;
        }
        len += (size_t)snprintf(out + len, cap - len, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n",
                                it->id, topic ? topic : "unknown", it->data);
        s->last_id = it->id;
    }
    s->pending = out;
    s->pending_len = len;
    s->pending_off = 0;
}

static void http_events_attach(void *cls, struct http_stream_wake *wake)
{
    struct http_events_stream *s = cls;
    struct http_events *hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    s->wake = wake;
    s->next = hub->list;
    if (hub->list != NULL)
        hub->list->prev = s;
    hub->list = s;
    pthread_mutex_unlock(&hub->lock);
}

/* Never waits: what is queued, else the events not sent yet or a due ping,
 * else 0 (the hub wakes the stream when there is more). */
static long http_events_read(void *cls, char *buf, size_t max)
{
    struct http_events_stream *s = cls;
    struct http_events *hub = s->hub;
    if (s->pending == NULL) {
        pthread_mutex_lock(&hub->lock);
        if (hub->stop || s->gone) {
            pthread_mutex_unlock(&hub->lock);
            return -1;
        }
        if (s->last_id < hub->newest)
            http_events_format(s);
        int64_t now = timeutil_monotonic_ms();
        if ((s->pending == NULL || s->pending_len == 0) &&
            now - s->last_write_ms >= HTTP_EVENTS_PING_MS) {
            free(s->pending);
            s->pending = strdup(": ping\n\n");
            s->pending_len = s->pending != NULL ? strlen(s->pending) : 0;
            s->pending_off = 0;
        }
        if (s->pending != NULL && s->pending_len > 0)
            s->last_write_ms = now;
        pthread_mutex_unlock(&hub->lock);
        if (s->pending == NULL || s->pending_len == 0) {
            free(s->pending);
            s->pending = NULL;
            return 0;
        }
    }
    size_t n = s->pending_len - s->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, s->pending + s->pending_off, n);
    s->pending_off += n;
    if (s->pending_off == s->pending_len) {
        free(s->pending);
        s->pending = NULL;
    }
    return (long)n;
}

static void http_events_close(void *cls)
{
    struct http_events_stream *s = cls;
    struct http_events *hub = s->hub;
    pthread_mutex_lock(&hub->lock);
    if (s->wake != NULL) {
        if (s->prev != NULL)
            s->prev->next = s->next;
        else
            hub->list = s->next;
        if (s->next != NULL)
            s->next->prev = s->prev;
        s->wake = NULL;
    }
    hub->streams--;
    pthread_mutex_unlock(&hub->lock);
    log_info("http events_stream_closed last_id=%" PRId64, s->last_id);
    free(s->pending);
    free(s);
}

void http_events_stream(struct http_request *req, struct http_reply *reply)
{
    struct http_events *hub = http_server_events(req->server);
    const char *resume = http_request_header(req, "Last-Event-ID");
    if (resume == NULL)
        resume = http_request_arg(req, "last_event_id");
    int64_t last = -1;
    if (resume != NULL && resume[0] != '\0') {
        char *end = NULL;
        long long v = strtoll(resume, &end, 10);
        if (resume[0] < '0' || resume[0] > '9' || *end != '\0') {
            http_reply_error(reply, 400, "Last-Event-ID must be an event id (a number), got "
                                         "'%.40s'", resume);
            return;
        }
        last = v;
    }
    if (hub == NULL) {
        http_reply_error(reply, 503, "the event stream is not available");
        reply->retry_after = HTTP_EVENTS_RETRY_AFTER_S;
        return;
    }
    struct http_events_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        http_reply_error(reply, 500, "out of memory");
        return;
    }
    s->hub = hub;
    s->fd = http_request_fd(req);
    pthread_mutex_lock(&hub->lock);
    bool full = hub->streams >= hub->max_streams;
    if (!full) {
        hub->streams++;
        /* none: from now on; one from an earlier broker run: all we have */
        s->last_id = last < 0 ? hub->newest : last > hub->newest ? 0 : last;
    }
    int64_t streams = hub->streams;
    pthread_mutex_unlock(&hub->lock);
    if (full) {
        free(s);
        http_reply_error(reply, 503, "too many event streams (%" PRId64 " open, "
                                     "http_max_event_streams); retry later", streams);
        reply->retry_after = HTTP_EVENTS_RETRY_AFTER_S;
        return;
    }
    /* a first comment at once, so that the client sees the stream open */
    s->pending = strdup("retry: 3000\n: connected\n\n");
    s->pending_len = s->pending ? strlen(s->pending) : 0;
    s->last_write_ms = timeutil_monotonic_ms();
    log_info("http events_stream_open last_id=%" PRId64 " streams=%" PRId64, s->last_id,
             streams);
    reply->status = 200;
    snprintf(reply->content_type, sizeof reply->content_type, "text/event-stream");
    reply->stream = (struct http_stream){.attach = http_events_attach,
                                         .read = http_events_read,
                                         .done = http_events_close,
                                         .cls = s};
}

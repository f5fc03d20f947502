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
 * beyond), so streams never take every connection. A stream's reader waits
 * for events in slices of HTTP_EVENTS_SLICE_MS and notices the server's
 * stop at the next slice. */
#include "http_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <microhttpd.h>
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

struct http_events {
    pthread_mutex_t lock;
    pthread_cond_t cond;       /* signalled on each new event and on stop */
    struct http_events_item ring[HTTP_EVENTS_RING];
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
    int64_t last_id;           /* the last event sent */
    int64_t last_write_ms;     /* monotonic */
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
    pthread_cond_broadcast(&hub->cond);
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
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&hub->cond, &attr);
    pthread_condattr_destroy(&attr);
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
    pthread_cond_broadcast(&hub->cond);
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
    pthread_cond_destroy(&h->cond);
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

static ssize_t http_events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct http_events_stream *s = cls;
    struct http_events *hub = s->hub;
    if (s->pending == NULL) {
        pthread_mutex_lock(&hub->lock);
        while (!hub->stop && s->last_id >= hub->newest &&
               timeutil_monotonic_ms() - s->last_write_ms < HTTP_EVENTS_PING_MS) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += (long)HTTP_EVENTS_SLICE_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&hub->cond, &hub->lock, &until);
        }
        if (hub->stop) {
            pthread_mutex_unlock(&hub->lock);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (s->last_id < hub->newest)
            http_events_format(s);
        pthread_mutex_unlock(&hub->lock);
        if (s->pending == NULL || s->pending_len == 0) {
            free(s->pending);
            s->pending = strdup(": ping\n\n");
            if (s->pending == NULL)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            s->pending_len = strlen(s->pending);
            s->pending_off = 0;
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
    s->last_write_ms = timeutil_monotonic_ms();
    return (ssize_t)n;
}

static void http_events_close(void *cls)
{
    struct http_events_stream *s = cls;
    pthread_mutex_lock(&s->hub->lock);
    s->hub->streams--;
    pthread_mutex_unlock(&s->hub->lock);
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
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, http_events_read, s, http_events_close);
    if (resp == NULL) {
        http_events_close(s);
        http_reply_error(reply, 500, "out of memory");
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    log_info("http events_stream_open last_id=%" PRId64 " streams=%" PRId64, s->last_id,
             streams);
    reply->status = 200;
    reply->response = resp;
}

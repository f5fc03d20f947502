/* event.h - every event topic and the event envelope, in one place.
 *
 * Events are hints (ARCHITECTURE rule 3): PUB/SUB may drop them; consumers
 * reconcile from durable state. On the wire an event is two ZeroMQ frames:
 *   frame 1: the topic name, e.g. "silver.committed" (SUB prefix filtering)
 *   frame 2: a msgpack map, exactly these keys (strict decoding: a missing or
 *            unknown key, a wrong type, trailing bytes or a version other than
 *            EVENT_VERSION is an error):
 *     v (uint) topic (str) time_ms (int) domain (str) name (str)
 *     file (str) snapshot_id (int) count (int)
 * Meaning of the fields per topic:
 *   bronze.sealed     name=endpoint, file=path relative to data_dir, count=records
 *   silver.committed  name=table, file=bronze file merged (relative) or "" , snapshot_id, count=rows changed
 *   gold.committed    name=table (= job name), snapshot_id, count=rows written
 *   schema.changed    name=endpoint, count=new schema version
 *   job.changed       name=job name
 *   job.started       name=job name, count=execution id
 *   job.finished      name=job name, count=execution id, file=status ("SUCCEEDED" |
 *                     "FAILED"), snapshot_id=the gold snapshot written (0: none)
 *   process.up        domain="", name=process ("ingest", ...), count=pid
 *   process.down      domain="", name=process, count=pid, file=how it ended
 *                     ("exited with status 1", "killed by signal 9 (Killed)")
 *   merge.blocked     name=table, file=bronze file whose merge a "fail"
 *                     expectation stopped (retried every reconcile)
 * Publishers connect a PUB socket to config.events_pub_endpoint; subscribers
 * connect a SUB socket to config.events_sub_endpoint (the broker proxies). */
#ifndef LAKEHOUSE_EVENT_H
#define LAKEHOUSE_EVENT_H

#include <stdint.h>
#include <stddef.h>
#include "error.h"
#include "names.h"
#include "config.h"

#define EVENT_VERSION 1
#define EVENT_FILE_MAX 512
/* ZMQ_SNDHWM / ZMQ_RCVHWM of event sockets (messages). Events are small;
 * this many per peer absorb bursts (a replay commits many files) without
 * letting a stalled subscriber grow memory without bound (rule 5). */
#define EVENT_HWM 10000

enum event_topic {
    EVENT_BRONZE_SEALED,
    EVENT_SILVER_COMMITTED,
    EVENT_GOLD_COMMITTED,
    EVENT_SCHEMA_CHANGED,
    EVENT_JOB_CHANGED,
    EVENT_JOB_STARTED,
    EVENT_JOB_FINISHED,
    EVENT_PROCESS_UP,
    EVENT_PROCESS_DOWN,
    EVENT_MERGE_BLOCKED,
    EVENT_TOPIC_COUNT
};

struct event {
    enum event_topic topic;
    int64_t time_ms;
    char domain[NAMES_MAX];
    char name[NAMES_MAX];
    char file[EVENT_FILE_MAX];
    int64_t snapshot_id;
    int64_t count;
};

/* "bronze.sealed", ... ; NULL for an out-of-range topic. */
const char *event_topic_name(enum event_topic topic);
/* name -> topic; -1 if unknown. */
int event_topic_from_name(const char *name, enum event_topic *out);

/* Encode the envelope (frame 2) into a malloc'd buffer; caller frees *out. */
int event_encode(const struct event *ev, char **out, size_t *len, char err[ERROR_MAX]);
/* Strict decode of frame 2. */
int event_decode(const void *buf, size_t len, struct event *out, char err[ERROR_MAX]);

/* Create a PUB socket connected to cfg->events_pub_endpoint. Caller owns the
 * socket (zmq_close). NULL with err on failure. */
void *event_publisher_open(void *zmq_context, const struct config *cfg, char err[ERROR_MAX]);
/* Create a SUB socket connected to cfg->events_sub_endpoint subscribed to the
 * given topics (all topics when n == 0). Caller owns the socket. */
void *event_subscriber_open(void *zmq_context, const struct config *cfg,
                            const enum event_topic *topics, size_t n, char err[ERROR_MAX]);

/* Send ev (time_ms filled in if 0) as two frames, non-blocking: a full queue
 * drops the event (it is a hint) and returns -1 with err. Note that a PUB
 * socket with no subscriber yet (or at its ZMQ_SNDHWM, EVENT_HWM) silently
 * drops and still returns 0: events are hints. Sockets from the open
 * functions have ZMQ_LINGER 0, so zmq_close/zmq_ctx_term never hang. */
int event_publish(void *pub_socket, const struct event *ev, char err[ERROR_MAX]);
/* Receive one event (blocking unless flags has ZMQ_DONTWAIT). Returns 0, or
 * -1 with err (malformed events are reported, never fatal; the bad message is
 * consumed, so the next call reads the next event). When nothing could be
 * received errno tells why: EAGAIN (ZMQ_DONTWAIT, nothing pending), EINTR
 * (a signal), ETERM (context terminated); after a malformed event it is
 * EBADMSG (call again: more may be pending). domain and name of a decoded event
 * are "" or valid object names (names.h); file is "" or a relative path
 * without "..". */
int event_receive(void *sub_socket, int flags, struct event *out, char err[ERROR_MAX]);

#endif

/* bench.c - lakehouse-bench: the load generators and reference loops of
 * `make bench` (driven by tests/bench/bench.sh; never part of `make test`).
 *
 * Every machine-dependent figure of the bench is a ratio to a limit measured
 * by this program in the same run on the same records, so this file holds
 * both sides: the clients that drive the real processes and the bare loops
 * that bound what those processes could do.
 *
 *   lakehouse-bench load --data DIR --table D/E --src200 F --src20 F [options]
 *       native protocol (common/protocol.h) load generator; prints key=value
 *       --set base|updates|probe|steady  which records (see records_make)
 *       --records N   --base-records N (updates/probe: the table's size)
 *       --format ndjson|msgpack   --producers P   --window W   --batch B
 *       --seed S (probe)  --first-id K (steady)
 *       --parse-baseline   time jansson (or msgpack) parsing the same bodies
 *       --rate R --seconds S   paced open-loop load (one producer)
 *       --poll-silver TABLE --poll-gold TABLE --drain-s S
 *                          steady run: time from ack to readable (silver
 *                          max(id), gold sum(flights)), polled every 2/10 ms
 *   lakehouse-bench http --port P --table D/E --src200 F --src20 F --records N
 *       --connections C [--batch B] [--rate R]   POST /ingest/D/E/batch, keep-alive;
 *                          --rate: open loop, R records/s offered in total
 *                          (each connection paced, starts spread)
 *   lakehouse-bench bare --out DB --silver DB --table T --list FILE [--history]
 *       the bare loop: read the bronze files listed (one per line), parse
 *       each line with jansson and upsert it with ONE prepared statement,
 *       one transaction per file (what a merge must at least do)
 *       --history: also keep row history with the least work silver's
 *       _h_<T> layout (common/layout.h, processor/silver_history.c) allows: the
 *       silver database's own _h_<T> DDL and indexes, and for every row the
 *       upsert changed, close the key's open version and add the new one
 *       (two more prepared statements); each file is one snapshot id. The
 *       second limit of the merge figures: it tells what history costs.
 *
 * Records: id (fresh integer), delay/distance/time from vega-datasets
 * flights-200k.json (record (id-1) mod 200k), date/origin/destination from
 * flights-20k.json (record (id-1) mod 20k; flights-200k carries no airport
 * or date, and the gold job groups by origin and day). Deterministic. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bronze.h"
#include "protocol.h"

/* ---- small helpers ---------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    nanosleep(&ts, NULL);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static uint64_t rng_state = 0x5eed;
static uint64_t rng_next(void)
{
    /* splitmix64: deterministic and good enough to spread ids */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* p in [0,100] of a sorted array */
static double pct(const int64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return NAN;
    size_t i = (size_t)ceil(p / 100.0 * (double)n);
    if (i > 0)
        i--;
    if (i >= n)
        i = n - 1;
    return (double)sorted[i];
}

/* growable byte buffer */
struct buf {
    char *s;
    size_t n, cap;
};
static void buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->n + n + 1 > cap)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = '\0';
}

/* ---- records ------------------------------------------------------------ */

struct src200 {
    int delay, distance;
    double time;
};
struct src20 {
    char date[24], origin[8], dest[8];
};
struct rec {
    int64_t id;
    int delay;
    uint32_t i200, i20;
};
static struct src200 *s200;
static size_t n200;
static struct src20 *s20;
static size_t n20;

static int load_sources(const char *f200, const char *f20)
{
    json_error_t je;
    json_t *a = json_load_file(f200, 0, &je);
    if (!json_is_array(a) || json_array_size(a) == 0) {
        fprintf(stderr, "%s: %s\n", f200, a ? "not an array" : je.text);
        return -1;
    }
    n200 = json_array_size(a);
    s200 = xmalloc(n200 * sizeof *s200);
    for (size_t i = 0; i < n200; i++) {
        json_t *o = json_array_get(a, i);
        s200[i].delay = (int)json_integer_value(json_object_get(o, "delay"));
        s200[i].distance = (int)json_integer_value(json_object_get(o, "distance"));
        s200[i].time = json_number_value(json_object_get(o, "time"));
    }
    json_decref(a);
    a = json_load_file(f20, 0, &je);
    if (!json_is_array(a) || json_array_size(a) == 0) {
        fprintf(stderr, "%s: %s\n", f20, a ? "not an array" : je.text);
        return -1;
    }
    n20 = json_array_size(a);
    s20 = xmalloc(n20 * sizeof *s20);
    for (size_t i = 0; i < n20; i++) {
        json_t *o = json_array_get(a, i);
        const char *d = json_string_value(json_object_get(o, "date"));
        const char *og = json_string_value(json_object_get(o, "origin"));
        const char *ds = json_string_value(json_object_get(o, "destination"));
        snprintf(s20[i].date, sizeof s20[i].date, "%s", d ? d : "");
        snprintf(s20[i].origin, sizeof s20[i].origin, "%s", og ? og : "");
        snprintf(s20[i].dest, sizeof s20[i].dest, "%s", ds ? ds : "");
    }
    json_decref(a);
    return 0;
}

static struct rec rec_base(int64_t id)
{
    struct rec r = {.id = id, .i200 = (uint32_t)((id - 1) % (int64_t)n200),
                    .i20 = (uint32_t)((id - 1) % (int64_t)n20)};
    r.delay = s200[r.i200].delay;
    return r;
}

/* base:    ids 1..N.
 * updates: for a table of base_n rows, base_n/10 distinct existing ids with a
 *          changed delay plus base_n/30 new ids (300k + 100k for 3M), shuffled;
 *          --records is ignored.
 * probe:   `records` distinct existing ids of a base_n table, delay changed
 *          (seeded with --seed so every probe batch differs).
 * steady:  ids first_id.. first_id+N-1. */
static struct rec *records_make(const char *set, int64_t n, int64_t base_n, int64_t first_id,
                                uint64_t seed, int64_t *count)
{
    rng_state = 0x5eed + seed * 7919;
    struct rec *r = NULL;
    if (strcmp(set, "base") == 0 || strcmp(set, "steady") == 0) {
        int64_t first = strcmp(set, "base") == 0 ? 1 : first_id;
        r = xmalloc((size_t)n * sizeof *r);
        for (int64_t i = 0; i < n; i++)
            r[i] = rec_base(first + i);
        *count = n;
    } else if (strcmp(set, "updates") == 0 || strcmp(set, "probe") == 0) {
        bool upd = strcmp(set, "updates") == 0;
        int64_t nu = upd ? base_n / 10 : n, nn = upd ? base_n / 30 : 0;
        if (nu > base_n) {
            fprintf(stderr, "probe larger than the table\n");
            return NULL;
        }
        uint32_t *perm = xmalloc((size_t)base_n * sizeof *perm);
        for (int64_t i = 0; i < base_n; i++)
            perm[i] = (uint32_t)(i + 1);
        r = xmalloc((size_t)(nu + nn) * sizeof *r);
        for (int64_t i = 0; i < nu; i++) { /* partial Fisher-Yates: distinct ids */
            int64_t j = i + (int64_t)(rng_next() % (uint64_t)(base_n - i));
            uint32_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
            r[i] = rec_base(perm[i]);
            r[i].delay += 1 + (int)(rng_next() % 60);
        }
        free(perm);
        for (int64_t i = 0; i < nn; i++)
            r[nu + i] = rec_base(base_n + 1 + i);
        for (int64_t i = nu + nn - 1; i > 0; i--) {
            int64_t j = (int64_t)(rng_next() % (uint64_t)(i + 1));
            struct rec t = r[i];
            r[i] = r[j];
            r[j] = t;
        }
        *count = nu + nn;
    } else {
        fprintf(stderr, "unknown set %s\n", set);
        return NULL;
    }
    return r;
}

/* shortest %g that reads back to the same double, like the source file */
static int fmt_double(char *out, size_t size, double v)
{
    for (int p = 15; p <= 17; p++) {
        snprintf(out, size, "%.*g", p, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (strpbrk(out, ".eE") == NULL && strlen(out) + 2 < size)
        strcat(out, ".0");
    return (int)strlen(out);
}

static void rec_json(struct buf *b, const struct rec *r)
{
    char line[256], t[40];
    fmt_double(t, sizeof t, s200[r->i200].time);
    const struct src20 *x = &s20[r->i20];
    int n = snprintf(line, sizeof line,
                     "{\"id\":%" PRId64 ",\"date\":\"%s\",\"delay\":%d,\"distance\":%d,\"time\":%s,"
                     "\"origin\":\"%s\",\"destination\":\"%s\"}",
                     r->id, x->date, r->delay, s200[r->i200].distance, t, x->origin, x->dest);
    buf_add(b, line, (size_t)n);
}

static void mp_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void rec_msgpack(msgpack_packer *pk, const struct rec *r)
{
    const struct src20 *x = &s20[r->i20];
    msgpack_pack_map(pk, 7);
    mp_str(pk, "id");
    msgpack_pack_int64(pk, r->id);
    mp_str(pk, "date");
    mp_str(pk, x->date);
    mp_str(pk, "delay");
    msgpack_pack_int(pk, r->delay);
    mp_str(pk, "distance");
    msgpack_pack_int(pk, s200[r->i200].distance);
    mp_str(pk, "time");
    msgpack_pack_double(pk, s200[r->i200].time);
    mp_str(pk, "origin");
    mp_str(pk, x->origin);
    mp_str(pk, "destination");
    mp_str(pk, x->dest);
}

enum body_kind { BODY_NDJSON, BODY_ARRAY, BODY_MSGPACK };

struct batch {
    char *body;
    size_t len;
    int64_t records, last_id;
    int64_t sent_ns, ack_ns;
};

/* Pre-build every body so that encoding is not charged to the system under test. */
static struct batch *batches_make(const struct rec *r, int64_t n, int64_t per, enum body_kind kind,
                                  size_t *count)
{
    size_t nb = (size_t)((n + per - 1) / per);
    struct batch *b = calloc(nb ? nb : 1, sizeof *b);
    for (size_t k = 0; k < nb; k++) {
        int64_t from = (int64_t)k * per, to = from + per < n ? from + per : n;
        b[k].records = to - from;
        int64_t last = 0;
        for (int64_t i = from; i < to; i++)
            if (r[i].id > last)
                last = r[i].id;
        b[k].last_id = last;
        if (kind == BODY_MSGPACK) {
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            msgpack_pack_array(&pk, (size_t)(to - from));
            for (int64_t i = from; i < to; i++)
                rec_msgpack(&pk, &r[i]);
            b[k].body = sb.data; /* released with free() below (sbuffer uses malloc) */
            b[k].len = sb.size;
        } else {
            struct buf out = {0};
            if (kind == BODY_ARRAY)
                buf_add(&out, "[", 1);
            for (int64_t i = from; i < to; i++) {
                if (kind == BODY_ARRAY && i > from)
                    buf_add(&out, ",", 1);
                rec_json(&out, &r[i]);
                if (kind == BODY_NDJSON)
                    buf_add(&out, "\n", 1);
            }
            if (kind == BODY_ARRAY)
                buf_add(&out, "]", 1);
            b[k].body = out.s;
            b[k].len = out.n;
        }
    }
    *count = nb;
    return b;
}

/* The parsing limit: one thread doing nothing but parse the same bodies
 * (ingest's loop is one thread). Returns records per second. */
static double parse_baseline(const struct batch *b, size_t nb, enum body_kind kind)
{
    int64_t recs = 0, t0 = now_ns();
    for (size_t k = 0; k < nb; k++) {
        if (kind == BODY_MSGPACK) {
            msgpack_unpacked u;
            msgpack_unpacked_init(&u);
            size_t off = 0;
            if (msgpack_unpack_next(&u, b[k].body, b[k].len, &off) == MSGPACK_UNPACK_SUCCESS)
                recs += (int64_t)u.data.via.array.size;
            msgpack_unpacked_destroy(&u);
            continue;
        }
        const char *p = b[k].body, *end = p + b[k].len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            json_error_t je;
            json_t *o = json_loadb(p, len, 0, &je);
            if (o == NULL) {
                fprintf(stderr, "baseline parse error: %s\n", je.text);
                exit(2);
            }
            json_decref(o);
            recs++;
            p += len + 1;
        }
    }
    double s = (double)(now_ns() - t0) / 1e9;
    return (double)recs / s;
}

/* ---- native protocol load ---------------------------------------------- */

struct load {
    void *zctx;
    char endpoint[4200];
    char domain[NAMES_MAX], table[NAMES_MAX];
    enum body_kind kind;
    struct batch *b;
    size_t nb;
    int producers, window;
    double rate; /* records/s, 0 = as fast as possible */
    char run[32];
    atomic_long busy, failed;
};

struct producer {
    struct load *l;
    int index;
};

static int send_batch(void *s, struct load *l, size_t k)
{
    struct protocol_request req = {.validate = true,
                                   .format = l->kind == BODY_MSGPACK ? PROTOCOL_FORMAT_MSGPACK
                                                                     : PROTOCOL_FORMAT_NDJSON};
    snprintf(req.domain, sizeof req.domain, "%s", l->domain);
    snprintf(req.endpoint, sizeof req.endpoint, "%s", l->table);
    snprintf(req.id, sizeof req.id, "%s-%zu", l->run, k);
    char *hdr = NULL, err[ERROR_MAX];
    size_t hlen = 0;
    if (protocol_request_encode(&req, &hdr, &hlen, err) < 0) {
        fprintf(stderr, "encode: %s\n", err);
        return -1;
    }
    zmq_send(s, "", 0, ZMQ_SNDMORE);
    zmq_send(s, hdr, hlen, ZMQ_SNDMORE);
    zmq_send(s, l->b[k].body, l->b[k].len, 0);
    free(hdr);
    l->b[k].sent_ns = now_ns();
    return 0;
}

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    struct load *l = p->l;
    void *s = zmq_socket(l->zctx, ZMQ_DEALER);
    int zero = 0, hwm = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_connect(s, l->endpoint) < 0) {
        fprintf(stderr, "connect %s: %s\n", l->endpoint, zmq_strerror(errno));
        atomic_fetch_add(&l->failed, 1);
        zmq_close(s);
        return NULL;
    }
    size_t next = (size_t)p->index, done = 0, mine = 0;
    for (size_t k = (size_t)p->index; k < l->nb; k += (size_t)l->producers)
        mine++;
    int inflight = 0;
    size_t *retry = xmalloc((mine + 1) * sizeof *retry);
    size_t nretry = 0;
    int64_t t0 = now_ns(), last_progress = t0;
    while (done < mine) {
        int64_t now = now_ns();
        /* resend batches answered busy, then new ones (paced when rate > 0) */
        while (nretry > 0 && inflight < l->window) {
            send_batch(s, l, retry[--nretry]);
            inflight++;
        }
        while (next < l->nb && inflight < l->window) {
            if (l->rate > 0) {
                /* batch k is due when k * batch-size records were offered */
                int64_t due = t0 + (int64_t)((double)next * (double)l->b[0].records / l->rate * 1e9);
                if (now < due)
                    break;
            }
            if (send_batch(s, l, next) < 0)
                goto out;
            inflight++;
            next += (size_t)l->producers;
        }
        long timeout = 100;
        if (l->rate > 0 && next < l->nb)
            timeout = 1;
        zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&it, 1, timeout);
        if (rc < 0 && errno != EINTR)
            break;
        while (rc > 0) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            zmq_msg_close(&m); /* empty delimiter */
            zmq_msg_init(&m);
            zmq_msg_recv(&m, s, 0);
            int64_t ack = now_ns();
            struct protocol_reply rep;
            char err[ERROR_MAX];
            if (protocol_reply_decode(zmq_msg_data(&m), zmq_msg_size(&m), &rep, err) < 0) {
                fprintf(stderr, "reply: %s\n", err);
                zmq_msg_close(&m);
                atomic_fetch_add(&l->failed, 1);
                goto out;
            }
            zmq_msg_close(&m);
            const char *dash = strrchr(rep.id, '-');
            size_t k = dash ? (size_t)strtoull(dash + 1, NULL, 10) : 0;
            inflight--;
            if (rep.status == PROTOCOL_STATUS_BUSY) {
                atomic_fetch_add(&l->busy, 1);
                retry[nretry++] = k;
                sleep_ns(2000000);
            } else {
                if (rep.status != PROTOCOL_STATUS_OK || rep.accepted != (uint64_t)l->b[k].records) {
                    if (atomic_fetch_add(&l->failed, 1) < 5) /* the first few say enough */
                        fprintf(stderr, "batch %zu: status=%s accepted=%" PRIu64 " %s\n", k,
                                protocol_status_name(rep.status), rep.accepted, rep.message);
                }
                l->b[k].ack_ns = ack;
                done++;
                last_progress = ack;
            }
            protocol_reply_clear(&rep);
        }
        if (now_ns() - last_progress > 60 * 1000000000LL) {
            fprintf(stderr, "producer %d: no reply for 60 s\n", p->index);
            atomic_fetch_add(&l->failed, 1);
            break;
        }
    }
out:
    free(retry);
    zmq_close(s);
    return NULL;
}

/* ---- freshness pollers ------------------------------------------------- */

struct sample {
    int64_t t_ns, value;
};
struct poller {
    char path[4200], sql[512];
    int interval_ms;
    int64_t target; /* stop once value >= target after `stop` */
    atomic_int stop;
    struct sample *s;
    size_t n, cap;
    int64_t query_ns_total, queries;
};

static void *poller_main(void *arg)
{
    struct poller *p = arg;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t last = -1;
    for (;;) {
        if (atomic_load(&p->stop) == 2)
            break;
        if (st == NULL) {
            if (db == NULL &&
                sqlite3_open_v2(p->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) !=
                    SQLITE_OK) {
                sqlite3_close(db);
                db = NULL;
            }
            if (db != NULL && sqlite3_prepare_v2(db, p->sql, -1, &st, NULL) != SQLITE_OK) {
                st = NULL;
                sqlite3_close(db); /* table not there yet: reopen to see the new schema */
                db = NULL;
            }
        }
        if (st != NULL) {
            int64_t q0 = now_ns();
            int rc = sqlite3_step(st);
            int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
            sqlite3_reset(st);
            int64_t t = now_ns();
            p->query_ns_total += t - q0;
            p->queries++;
            if (rc != SQLITE_ROW && rc != SQLITE_BUSY) { /* e.g. table replaced: prepare again */
                sqlite3_finalize(st);
                st = NULL;
                sqlite3_close(db);
                db = NULL;
            }
            if (v > last) {
                if (p->n == p->cap) {
                    p->cap = p->cap ? p->cap * 2 : 4096;
                    p->s = realloc(p->s, p->cap * sizeof *p->s);
                }
                /* readable at the latest at t; the query started at q0 */
                p->s[p->n++] = (struct sample){t, v};
                last = v;
            }
            if (atomic_load(&p->stop) && last >= p->target)
                break;
        }
        sleep_ns((int64_t)p->interval_ms * 1000000);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return NULL;
}

/* time at which the polled value first reached v, or -1 */
static int64_t poller_when(const struct poller *p, int64_t v)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->s[mid].value >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo < p->n ? p->s[lo].t_ns : -1;
}

static void report_delays(const char *name, struct poller *p, const struct batch *b, size_t nb,
                          bool cumulative)
{
    int64_t *d = xmalloc((nb + 1) * sizeof *d);
    size_t n = 0, missing = 0;
    int64_t cum = 0;
    for (size_t k = 0; k < nb; k++) {
        cum += b[k].records;
        if (b[k].ack_ns == 0)
            continue;
        int64_t t = poller_when(p, cumulative ? cum : b[k].last_id);
        if (t < 0) {
            missing++;
            continue;
        }
        d[n++] = t > b[k].ack_ns ? t - b[k].ack_ns : 0;
    }
    qsort(d, n, sizeof *d, cmp_i64);
    /* batches never seen count as slower than every seen one */
    size_t all = n + missing;
    double p50 = NAN, p99 = NAN;
    if (all > 0) {
        size_t i50 = (size_t)ceil(0.50 * (double)all), i99 = (size_t)ceil(0.99 * (double)all);
        p50 = i50 >= 1 && i50 <= n ? (double)d[i50 - 1] / 1e6 : INFINITY;
        p99 = i99 >= 1 && i99 <= n ? (double)d[i99 - 1] / 1e6 : INFINITY;
    }
    printf("%s_p50_ms=%.1f\n%s_p99_ms=%.1f\n%s_max_ms=%.1f\n%s_unseen=%zu\n%s_poll_ms=%.2f\n",
           name, p50, name, p99, name, n ? (double)d[n - 1] / 1e6 : NAN, name, missing, name,
           p->queries ? (double)p->query_ns_total / (double)p->queries / 1e6 : 0.0);
    free(d);
}

static int split_table(const char *arg, char *domain, char *table)
{
    const char *slash = strchr(arg, '/');
    if (slash == NULL || slash == arg || (size_t)(slash - arg) >= NAMES_MAX ||
        strlen(slash + 1) >= NAMES_MAX)
        return -1;
    memcpy(domain, arg, (size_t)(slash - arg));
    domain[slash - arg] = '\0';
    strcpy(table, slash + 1);
    return 0;
}

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}
static bool flag(int argc, char **argv, const char *name)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static int cmd_load(int argc, char **argv)
{
    struct load l = {0};
    const char *data = opt(argc, argv, "--data", NULL), *tab = opt(argc, argv, "--table", NULL);
    if (data == NULL || tab == NULL || split_table(tab, l.domain, l.table) < 0) {
        fprintf(stderr, "load: --data DIR --table D/E required\n");
        return 2;
    }
    if (load_sources(opt(argc, argv, "--src200", ""), opt(argc, argv, "--src20", "")) < 0)
        return 2;
    const char *set = opt(argc, argv, "--set", "base");
    int64_t n = atoll(opt(argc, argv, "--records", "1000"));
    int64_t base_n = atoll(opt(argc, argv, "--base-records", "0"));
    int64_t first_id = atoll(opt(argc, argv, "--first-id", "1"));
    int64_t per = atoll(opt(argc, argv, "--batch", "1000"));
    uint64_t seed = strtoull(opt(argc, argv, "--seed", "0"), NULL, 10);
    double seconds = atof(opt(argc, argv, "--seconds", "0"));
    l.rate = atof(opt(argc, argv, "--rate", "0"));
    if (l.rate > 0 && seconds > 0)
        n = (int64_t)(l.rate * seconds);
    l.kind = strcmp(opt(argc, argv, "--format", "ndjson"), "msgpack") == 0 ? BODY_MSGPACK
                                                                            : BODY_NDJSON;
    l.producers = atoi(opt(argc, argv, "--producers", "4"));
    l.window = atoi(opt(argc, argv, "--window", "8"));
    if (l.producers < 1 || l.window < 1 || per < 1 || n < 1) {
        fprintf(stderr, "load: bad numbers\n");
        return 2;
    }
    if (l.rate > 0)
        l.producers = 1;
    snprintf(l.endpoint, sizeof l.endpoint, "ipc://%s/run/ingest.sock", data);
    snprintf(l.run, sizeof l.run, "bench%lld", (long long)(now_ns() / 1000) % 1000000000);

    int64_t count = 0;
    struct rec *r = records_make(set, n, base_n, first_id, seed, &count);
    if (r == NULL)
        return 2;
    l.b = batches_make(r, count, per, l.kind, &l.nb);
    free(r);
    size_t bytes = 0;
    for (size_t k = 0; k < l.nb; k++)
        bytes += l.b[k].len;
    printf("records=%" PRId64 "\nbatches=%zu\nbody_bytes_per_record=%.1f\n", count, l.nb,
           (double)bytes / (double)count);
    if (flag(argc, argv, "--parse-baseline")) {
        /* best of 3: the limit should not be lowered by a noisy neighbour */
        double best = 0;
        for (int i = 0; i < 3; i++) {
            double v = parse_baseline(l.b, l.nb, l.kind);
            if (v > best)
                best = v;
        }
        printf("parse_rate=%.0f\n", best);
    }
    fflush(stdout);

    struct poller ps = {.interval_ms = 2}, pg = {.interval_ms = 10};
    pthread_t tps, tpg;
    const char *poll_silver = opt(argc, argv, "--poll-silver", NULL);
    const char *poll_gold = opt(argc, argv, "--poll-gold", NULL);
    int64_t total = 0, max_id = 0;
    for (size_t k = 0; k < l.nb; k++) {
        total += l.b[k].records;
        if (l.b[k].last_id > max_id)
            max_id = l.b[k].last_id;
    }
    if (poll_silver) {
        snprintf(ps.path, sizeof ps.path, "file:%s/silver/%s.db?mode=ro", data, l.domain);
        snprintf(ps.sql, sizeof ps.sql, "SELECT coalesce(max(id), 0) FROM \"%s\"", poll_silver);
        ps.target = max_id;
        pthread_create(&tps, NULL, poller_main, &ps);
    }
    if (poll_gold) {
        snprintf(pg.path, sizeof pg.path, "file:%s/gold/%s.db?mode=ro", data, l.domain);
        snprintf(pg.sql, sizeof pg.sql, "SELECT coalesce(sum(flights), 0) FROM \"%s\"",
                 poll_gold);
        pg.target = total;
        pthread_create(&tpg, NULL, poller_main, &pg);
    }

    l.zctx = zmq_ctx_new();
    struct producer *pr = xmalloc((size_t)l.producers * sizeof *pr);
    pthread_t *th = xmalloc((size_t)l.producers * sizeof *th);
    int64_t t0 = now_ns();
    /* wall-clock start of the load (after the bodies are built), so the
     * driver's RSS samples can be aligned with the load, not with our start */
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    printf("start_unix_ms=%" PRId64 "\n", (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000);
    fflush(stdout);
    for (int i = 0; i < l.producers; i++) {
        pr[i] = (struct producer){&l, i};
        pthread_create(&th[i], NULL, producer_main, &pr[i]);
    }
    for (int i = 0; i < l.producers; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    int64_t acked = 0;
    int64_t *lat = xmalloc((l.nb + 1) * sizeof *lat);
    size_t nl = 0;
    for (size_t k = 0; k < l.nb; k++)
        if (l.b[k].ack_ns) {
            acked += l.b[k].records;
            lat[nl++] = l.b[k].ack_ns - l.b[k].sent_ns;
        }
    qsort(lat, nl, sizeof *lat, cmp_i64);
    printf("acked=%" PRId64 "\nseconds=%.3f\nrate=%.0f\nack_p50_ms=%.2f\nack_p99_ms=%.2f\n"
           "ack_max_ms=%.2f\nbusy=%ld\nfailed=%ld\n",
           acked, secs, (double)acked / secs, pct(lat, nl, 50) / 1e6, pct(lat, nl, 99) / 1e6,
           nl ? (double)lat[nl - 1] / 1e6 : NAN, atomic_load(&l.busy), atomic_load(&l.failed));
    fflush(stdout);
    free(lat);

    double drain = atof(opt(argc, argv, "--drain-s", "60"));
    if (poll_silver || poll_gold) {
        atomic_store(&ps.stop, 1);
        atomic_store(&pg.stop, 1);
        int64_t deadline = now_ns() + (int64_t)(drain * 1e9);
        bool s_done = !poll_silver, g_done = !poll_gold;
        while (now_ns() < deadline && !(s_done && g_done)) {
            sleep_ns(50000000);
            /* pollers exit on their own once caught up */
            s_done = s_done || (ps.n && ps.s[ps.n - 1].value >= ps.target);
            g_done = g_done || (pg.n && pg.s[pg.n - 1].value >= pg.target);
        }
        atomic_store(&ps.stop, 2);
        atomic_store(&pg.stop, 2);
        if (poll_silver) {
            pthread_join(tps, NULL);
            report_delays("silver", &ps, l.b, l.nb, false);
        }
        if (poll_gold) {
            pthread_join(tpg, NULL);
            report_delays("gold", &pg, l.b, l.nb, true);
            printf("gold_final_rows=%" PRId64 "\ngold_expected_rows=%" PRId64 "\n",
                   pg.n ? pg.s[pg.n - 1].value : 0, total);
        }
    }
    zmq_ctx_term(l.zctx);
    for (size_t k = 0; k < l.nb; k++)
        free(l.b[k].body);
    free(l.b);
    free(pr);
    free(th);
    free(ps.s);
    free(pg.s);
    return atomic_load(&l.failed) ? 1 : 0;
}

/* ---- HTTP load ----------------------------------------------------------- */

struct http_load {
    int port, conns;
    int64_t interval_ns;   /* per connection between requests; 0 = closed loop */
    int64_t start_ns;
    char domain[NAMES_MAX], table[NAMES_MAX], run[32];
    struct batch *b;
    size_t nb;
    atomic_long retries, failed;
};
struct http_conn {
    struct http_load *h;
    int index;
};

static int http_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One request/response on a keep-alive connection. Returns the status code,
 * -1 on a broken connection. *close_after set when the server closes. */
static int http_post(int fd, int port, const char *path, const char *body, size_t len,
                     bool *close_after)
{
    char hdr[1024];
    int hn = snprintf(hdr, sizeof hdr,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      path, port, len);
    if (write_all(fd, hdr, (size_t)hn) < 0 || write_all(fd, body, len) < 0)
        return -1;
    static _Thread_local char in[65536];
    size_t got = 0;
    char *eoh = NULL;
    while (eoh == NULL) {
        if (got == sizeof in - 1)
            return -1;
        ssize_t r = read(fd, in + got, sizeof in - 1 - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
        in[got] = '\0';
        eoh = strstr(in, "\r\n\r\n");
    }
    int status = atoi(in + 9);
    size_t clen = 0;
    *close_after = false;
    for (char *line = strstr(in, "\r\n"); line && line < eoh; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            clen = (size_t)strtoull(line + 17, NULL, 10);
        else if (strncasecmp(line + 2, "Connection: close", 17) == 0)
            *close_after = true;
        else if (strncasecmp(line + 2, "Transfer-Encoding: chunked", 26) == 0)
            return -1; /* not expected from the API: every answer has a length */
    }
    size_t have = got - (size_t)(eoh + 4 - in);
    while (have < clen) {
        char tmp[65536];
        size_t want = clen - have < sizeof tmp ? clen - have : sizeof tmp;
        ssize_t r = read(fd, tmp, want);
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return status;
}

static void *http_main(void *arg)
{
    struct http_conn *c = arg;
    struct http_load *h = c->h;
    int fd = -1;
    int64_t due = h->start_ns + (h->interval_ns ? h->interval_ns * c->index / h->conns : 0);
    for (size_t k = (size_t)c->index; k < h->nb; k += (size_t)h->conns) {
        if (h->interval_ns) { /* open loop: a late request is not made up for by a burst */
            int64_t now = now_ns();
            if (due > now)
                sleep_ns(due - now);
            due += h->interval_ns;
        }
        char path[512];
        snprintf(path, sizeof path, "/ingest/%s/%s/batch?batch_id=%s-%zu", h->domain, h->table,
                 h->run, k);
        for (int attempt = 0;; attempt++) {
            if (fd < 0 && (fd = http_connect(h->port)) < 0) {
                fprintf(stderr, "http: connect failed\n");
                atomic_fetch_add(&h->failed, 1);
                return NULL;
            }
            bool close_after = false;
            h->b[k].sent_ns = now_ns();
            int st = http_post(fd, h->port, path, h->b[k].body, h->b[k].len, &close_after);
            if (st < 0 || close_after) {
                close(fd);
                fd = -1;
            }
            if (st >= 200 && st < 300) {
                h->b[k].ack_ns = now_ns();
                break;
            }
            if ((st == 503 || st < 0) && attempt < 50) {
                atomic_fetch_add(&h->retries, 1);
                sleep_ns(20000000);
                continue;
            }
            fprintf(stderr, "http: batch %zu status %d\n", k, st);
            atomic_fetch_add(&h->failed, 1);
            break;
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int cmd_http(int argc, char **argv)
{
    struct http_load h = {0};
    const char *tab = opt(argc, argv, "--table", NULL);
    if (tab == NULL || split_table(tab, h.domain, h.table) < 0) {
        fprintf(stderr, "http: --table D/E required\n");
        return 2;
    }
    if (load_sources(opt(argc, argv, "--src200", ""), opt(argc, argv, "--src20", "")) < 0)
        return 2;
    h.port = atoi(opt(argc, argv, "--port", "8080"));
    h.conns = atoi(opt(argc, argv, "--connections", "4"));
    int64_t n = atoll(opt(argc, argv, "--records", "1000"));
    int64_t per = atoll(opt(argc, argv, "--batch", "1000"));
    int64_t rate = atoll(opt(argc, argv, "--rate", "0"));
    if (h.conns < 1 || n < 1 || per < 1 || rate < 0)
        return 2;
    if (rate > 0)
        h.interval_ns = (int64_t)((double)h.conns * (double)per * 1e9 / (double)rate);
    snprintf(h.run, sizeof h.run, "http%lld", (long long)(now_ns() / 1000) % 1000000000);
    int64_t count = 0;
    struct rec *r = records_make("base", n, 0, 1, 0, &count);
    h.b = batches_make(r, count, per, BODY_ARRAY, &h.nb);
    free(r);
    pthread_t *th = xmalloc((size_t)h.conns * sizeof *th);
    struct http_conn *cs = xmalloc((size_t)h.conns * sizeof *cs);
    int64_t t0 = now_ns();
    h.start_ns = t0 + 100000000; /* all threads up before the first paced request */
    for (int i = 0; i < h.conns; i++) {
        cs[i] = (struct http_conn){&h, i};
        pthread_create(&th[i], NULL, http_main, &cs[i]);
    }
    for (int i = 0; i < h.conns; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    int64_t acked = 0;
    int64_t *lat = xmalloc((h.nb + 1) * sizeof *lat);
    size_t nl = 0;
    for (size_t k = 0; k < h.nb; k++)
        if (h.b[k].ack_ns) {
            acked += h.b[k].records;
            lat[nl++] = h.b[k].ack_ns - h.b[k].sent_ns; /* the last attempt's request */
        }
    qsort(lat, nl, sizeof *lat, cmp_i64);
    printf("acked=%" PRId64 "\nseconds=%.3f\nrate=%.0f\nretries=%ld\nfailed=%ld\n"
           "p50_ms=%.2f\np99_ms=%.2f\n",
           acked, secs, (double)acked / secs, atomic_load(&h.retries), atomic_load(&h.failed),
           pct(lat, nl, 50) / 1e6, pct(lat, nl, 99) / 1e6);
    free(lat);
    for (size_t k = 0; k < h.nb; k++)
        free(h.b[k].body);
    free(h.b);
    free(th);
    free(cs);
    return atomic_load(&h.failed) ? 1 : 0;
}

/* ---- the bare merge loop --------------------------------------------------- */

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int cmd_bare(int argc, char **argv)
{
    const char *out = opt(argc, argv, "--out", NULL), *silver = opt(argc, argv, "--silver", NULL);
    const char *table = opt(argc, argv, "--table", NULL), *list = opt(argc, argv, "--list", NULL);
    if (!out || !silver || !table || !list) {
        fprintf(stderr, "bare: --out DB --silver DB --table T --list FILE\n");
        return 2;
    }
    /* the silver table's own DDL and columns, so both loops write the same rows */
    bool history = flag(argc, argv, "--history");
    sqlite3 *src = NULL, *db = NULL;
    sqlite3_stmt *st = NULL, *up = NULL, *hclose = NULL, *hins = NULL;
    char **hddl = NULL;
    int nhddl = 0;
    int rcode = 1;
    char **cols = NULL;
    int ncols = 0, *is_pk = NULL;
    struct buf sql = {0};
    FILE *lf = NULL;
    if (sqlite3_open_v2(silver, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_prepare_v2(src, "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", -1, &st,
                       NULL);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "bare: no table %s in %s\n", table, silver);
        goto fail;
    }
    char *ddl = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    st = NULL;
    if (history) { /* _h_<T> and its indexes, as silver has them */
        sqlite3_prepare_v2(src, "SELECT sql FROM sqlite_master WHERE tbl_name = '_h_' || ? AND "
                                "sql IS NOT NULL ORDER BY type = 'index', name", -1, &st, NULL);
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            hddl = realloc(hddl, (size_t)(nhddl + 1) * sizeof *hddl);
            hddl[nhddl++] = strdup((const char *)sqlite3_column_text(st, 0));
        }
        sqlite3_finalize(st);
        st = NULL;
        if (nhddl == 0) {
            fprintf(stderr, "bare: no _h_%s in %s\n", table, silver);
            free(ddl);
            goto fail;
        }
    }
    char q[256];
    snprintf(q, sizeof q, "SELECT name, pk FROM pragma_table_info('%s') ORDER BY cid", table);
    sqlite3_prepare_v2(src, q, -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        cols = realloc(cols, (size_t)(ncols + 1) * sizeof *cols);
        is_pk = realloc(is_pk, (size_t)(ncols + 1) * sizeof *is_pk);
        cols[ncols] = strdup((const char *)sqlite3_column_text(st, 0));
        is_pk[ncols++] = sqlite3_column_int(st, 1) > 0;
    }
    sqlite3_finalize(st);
    st = NULL;

    if (sqlite3_open(out, &db) != SQLITE_OK || exec_sql(db, "PRAGMA journal_mode=WAL") < 0 ||
        exec_sql(db, "PRAGMA synchronous=NORMAL") < 0) {
        free(ddl);
        goto fail;
    }
    sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name=?", -1, &st, NULL);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    bool exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    st = NULL;
    if (!exists && exec_sql(db, ddl) < 0) {
        free(ddl);
        goto fail;
    }
    free(ddl);
    for (int i = 0; !exists && i < nhddl; i++)
        if (exec_sql(db, hddl[i]) < 0)
            goto fail;
    int64_t snapshot = 0; /* history: one snapshot id per file, after the last one there */
    if (history) {
        char hq[256];
        snprintf(hq, sizeof hq, "SELECT coalesce(max(_valid_from), 0) FROM \"_h_%s\"", table);
        sqlite3_prepare_v2(db, hq, -1, &st, NULL);
        if (sqlite3_step(st) == SQLITE_ROW)
            snapshot = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        st = NULL;
        /* close the key's open version: ?1.. the key columns in key order, then _valid_to */
        struct buf h = {0};
        char t[512];
        int n = snprintf(t, sizeof t, "UPDATE \"_h_%s\" SET _valid_to = ?%d WHERE ", table,
                         ncols + 1);
        buf_add(&h, t, (size_t)n);
        for (int i = 0; i < ncols; i++)
            if (is_pk[i]) {
                n = snprintf(t, sizeof t, "\"%s\" = ?%d AND ", cols[i], i + 1);
                buf_add(&h, t, (size_t)n);
            }
        buf_add(&h, "_valid_to IS NULL", 17);
        if (sqlite3_prepare_v2(db, h.s, -1, &hclose, NULL) != SQLITE_OK) {
            fprintf(stderr, "bare: %s: %s\n", h.s, sqlite3_errmsg(db));
            free(h.s);
            goto fail;
        }
        h.n = 0;
        n = snprintf(t, sizeof t, "INSERT INTO \"_h_%s\" (", table);
        buf_add(&h, t, (size_t)n);
        for (int i = 0; i < ncols; i++) {
            n = snprintf(t, sizeof t, "\"%s\", ", cols[i]);
            buf_add(&h, t, (size_t)n);
        }
        buf_add(&h, "_valid_from) VALUES (", 21);
        for (int i = 0; i <= ncols; i++) {
            n = snprintf(t, sizeof t, "%s?%d", i ? ", " : "", i + 1);
            buf_add(&h, t, (size_t)n);
        }
        buf_add(&h, ")", 1);
        if (sqlite3_prepare_v2(db, h.s, -1, &hins, NULL) != SQLITE_OK) {
            fprintf(stderr, "bare: %s: %s\n", h.s, sqlite3_errmsg(db));
            free(h.s);
            goto fail;
        }
        free(h.s);
    }
    /* INSERT ... ON CONFLICT(pk) DO UPDATE ... WHERE the newer _seq wins */
    buf_add(&sql, "INSERT INTO \"", 13);
    buf_add(&sql, table, strlen(table));
    buf_add(&sql, "\" (", 3);
    for (int i = 0; i < ncols; i++) {
        char t[128];
        int n = snprintf(t, sizeof t, "%s\"%s\"", i ? ", " : "", cols[i]);
        buf_add(&sql, t, (size_t)n);
    }
    buf_add(&sql, ") VALUES (", 10);
    for (int i = 0; i < ncols; i++)
        buf_add(&sql, i ? ", ?" : "?", i ? 3 : 1);
    buf_add(&sql, ") ON CONFLICT (", 15);
    for (int i = 0, k = 0; i < ncols; i++)
        if (is_pk[i]) {
            char t[128];
            int n = snprintf(t, sizeof t, "%s\"%s\"", k++ ? ", " : "", cols[i]);
            buf_add(&sql, t, (size_t)n);
        }
    buf_add(&sql, ") DO UPDATE SET ", 16);
    for (int i = 0, k = 0; i < ncols; i++)
        if (!is_pk[i]) {
            char t[256];
            int n = snprintf(t, sizeof t, "%s\"%s\" = excluded.\"%s\"", k++ ? ", " : "", cols[i],
                             cols[i]);
            buf_add(&sql, t, (size_t)n);
        }
    buf_add(&sql, " WHERE excluded._seq > _seq", 27);
    if (sqlite3_prepare_v2(db, sql.s, -1, &up, NULL) != SQLITE_OK) {
        fprintf(stderr, "bare: %s: %s\n", sql.s, sqlite3_errmsg(db));
        goto fail;
    }
    lf = fopen(list, "r");
    if (lf == NULL)
        goto fail;
    char path[4096];
    int64_t rows = 0, files = 0, t0 = now_ns();
    while (fgets(path, sizeof path, lf)) {
        path[strcspn(path, "\n")] = '\0';
        if (path[0] == '\0')
            continue;
        char err[ERROR_MAX];
        struct bronze_reader *rd = bronze_reader_open(path, err);
        if (rd == NULL) {
            fprintf(stderr, "bare: %s\n", err);
            goto fail;
        }
        if (exec_sql(db, "BEGIN IMMEDIATE") < 0)
            goto fail;
        snapshot++;
        const char *line;
        size_t len;
        int rc;
        while ((rc = bronze_reader_next(rd, &line, &len, err)) == 1) {
            json_error_t je;
            json_t *o = json_loadb(line, len, 0, &je);
            if (!json_is_object(o)) {
                fprintf(stderr, "bare: %s: %s\n", path, je.text);
                goto fail;
            }
            for (int i = 0; i < ncols; i++) {
                json_t *v = json_object_get(o, cols[i]);
                int c = i + 1;
                /* the same values for the history statements (hclose: the key only) */
                sqlite3_stmt *to[3] = {up, hins, is_pk[i] ? hclose : NULL};
                for (int k = 0; k < 3; k++) {
                    sqlite3_stmt *u = to[k];
                    if (u == NULL)
                        continue;
                    if (v == NULL || json_is_null(v))
                        sqlite3_bind_null(u, c);
                    else if (json_is_integer(v))
                        sqlite3_bind_int64(u, c, json_integer_value(v));
                    else if (json_is_real(v))
                        sqlite3_bind_double(u, c, json_real_value(v));
                    else if (json_is_string(v))
                        sqlite3_bind_text(u, c, json_string_value(v), (int)json_string_length(v),
                                          SQLITE_STATIC);
                    else if (json_is_boolean(v))
                        sqlite3_bind_int(u, c, json_is_true(v));
                    else {
                        char *s = json_dumps(v, JSON_COMPACT);
                        sqlite3_bind_text(u, c, s, -1, SQLITE_TRANSIENT);
                        free(s);
                    }
                }
            }
            if (sqlite3_step(up) != SQLITE_DONE) {
                fprintf(stderr, "bare: %s\n", sqlite3_errmsg(db));
                goto fail;
            }
            sqlite3_reset(up);
            sqlite3_clear_bindings(up);
            if (history && sqlite3_changes(db) == 1) {
                sqlite3_bind_int64(hclose, ncols + 1, snapshot);
                sqlite3_bind_int64(hins, ncols + 1, snapshot);
                if (sqlite3_step(hclose) != SQLITE_DONE || sqlite3_step(hins) != SQLITE_DONE) {
                    fprintf(stderr, "bare: history: %s\n", sqlite3_errmsg(db));
                    goto fail;
                }
                sqlite3_reset(hclose);
                sqlite3_reset(hins);
            }
            json_decref(o);
            rows++;
        }
        bronze_reader_close(&rd);
        if (rc < 0) {
            fprintf(stderr, "bare: %s\n", err);
            goto fail;
        }
        if (exec_sql(db, "COMMIT") < 0)
            goto fail;
        files++;
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    printf("rows=%" PRId64 "\nfiles=%" PRId64 "\nseconds=%.3f\nrate=%.0f\n", rows, files, secs,
           (double)rows / secs);
    rcode = 0;
fail:
    if (lf)
        fclose(lf);
    free(sql.s);
    for (int i = 0; i < ncols; i++)
        free(cols[i]);
    free(cols);
    free(is_pk);
    sqlite3_finalize(st);
    sqlite3_finalize(up);
    sqlite3_finalize(hclose);
    sqlite3_finalize(hins);
    for (int i = 0; i < nhddl; i++)
        free(hddl[i]);
    free(hddl);
    sqlite3_close(db);
    sqlite3_close(src);
    return rcode;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lakehouse-bench load|http|bare ... (see tests/bench/bench.c)\n");
        return 2;
    }
    if (strcmp(argv[1], "load") == 0)
        return cmd_load(argc, argv);
    if (strcmp(argv[1], "http") == 0)
        return cmd_http(argc, argv);
    if (strcmp(argv[1], "bare") == 0)
        return cmd_bare(argc, argv);
    fprintf(stderr, "unknown command %s\n", argv[1]);
    return 2;
}

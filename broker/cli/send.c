/* send.c - `lakehouse send DOMAIN/ENDPOINT [FILE...]`: the reference client of
 * the producer protocol (protocol.h).
 *
 * Input: NDJSON, a JSON array, or CSV with a header row, from files or stdin
 * ("-" or no file), read by the common record reader (record_reader.h: the
 * format from --format, else the file name, else the first byte). Every
 * record is sent as one NDJSON line; memory stays bounded by the window,
 * not by the file.
 * Records are cut into batches (--batch-size, and never more than the
 * server's batch_max_records / batch_max_bytes), each with the id
 * "<prefix>-<n>". Up to --window batches are in flight on one DEALER socket;
 * replies are matched by id. "busy" and "error" replies are retried after a
 * backoff, a batch without a reply within --timeout-ms is re-sent with the
 * same id (ingest stores it once and answers duplicate=true). A refusal of a
 * whole batch without per-record errors (unknown endpoint, malformed request)
 * stops the run: every further batch would be refused the same way.
 * A record larger than record_max_bytes is refused here, with its reason.
 * Output: refusal reasons (the first CLI_SEND_REASONS) on stderr, then
 *   sent N records: A accepted, R refused (B batches)
 * Exit 0 all accepted, 1 some refused, 2 an error (input, transport) - then
 * some records may not have been acknowledged; re-running with the same
 * --id-prefix re-sends them without duplicates (same batch cuts). */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "curve.h"
#include "protocol.h"
#include "record_reader.h"
#include "strbuf.h"

#define CLI_SEND_REASONS 20
#define CLI_SEND_WINDOW_MAX 1000
#define CLI_SEND_BUSY_RETRIES 300     /* ~10 minutes at the 2 s backoff cap */
#define CLI_SEND_ERROR_RETRIES 5
#define CLI_SEND_TIMEOUT_RETRIES 20
#define CLI_SEND_PREFIX_MAX 100

struct send_opts {
    enum record_format format;
    int64_t batch_size;
    bool strict;
    bool validate;
    int window;
    char id_prefix[CLI_SEND_PREFIX_MAX + 1];
    int64_t timeout_ms;
};

/* ---- input ---- */

struct send_input {
    const char *name;     /* as shown: the path or "stdin" */
    FILE *f;
    bool owns_f;
    struct record_reader *records;
};

static void send_input_close(struct send_input *in)
{
    record_reader_close(&in->records);
    if (in->f != NULL && in->owns_f)
        fclose(in->f);
    in->f = NULL;
}

static int send_input_open(struct send_input *in, const char *path, enum record_format format,
                           size_t cap, char err[ERROR_MAX])
{
    memset(in, 0, sizeof *in);
    if (strcmp(path, "-") == 0) {
        in->name = "stdin";
        in->f = stdin;
    } else {
        in->name = path;
        in->f = fopen(path, "r");
        if (in->f == NULL)
            return error_set(err, "cannot open %s: %s", path, strerror(errno));
        in->owns_f = true;
    }
    in->records = record_reader_open(in->f, format, in->f == stdin ? NULL : path, cap,
                                     "record_max_bytes", err);
    if (in->records == NULL) {
        error_prefix(err, "%s", in->name);
        send_input_close(in);
        return -1;
    }
    return 0;
}

/* Next record into *rec / *len. 1 record, 2 refused here (reason), 0 end,
 * -1 error. */
static int send_input_next(struct send_input *in, const char **rec, size_t *len,
                           char reason[ERROR_MAX], char err[ERROR_MAX])
{
    switch (record_reader_next(in->records, rec, len, err)) {
    case RECORD_READ_OK: return 1;
    case RECORD_READ_END: return 0;
    case RECORD_READ_TOO_LARGE:
        snprintf(reason, ERROR_MAX, "%s", err);
        return 2;
    default: return error_prefix(err, "%s", in->name);
    }
}

/* ---- batches in flight ---- */

enum send_slot_state { SLOT_FREE, SLOT_IN_FLIGHT, SLOT_RETRY };

struct send_pos {
    uint32_t input; /* index into the file list */
    uint64_t where; /* line or row */
};

struct send_batch {
    enum send_slot_state state;
    char id[PROTOCOL_ID_MAX];
    char *header;
    size_t header_len;
    struct strbuf body;
    size_t records;
    struct send_pos *pos;
    size_t pos_cap;
    int64_t sent_ms;
    int64_t retry_at_ms;
    int busy;
    int errors;
    int timeouts;
};

struct send_ctx {
    struct cli *cli;
    struct send_opts opts;
    char domain[NAMES_MAX];
    char endpoint[NAMES_MAX];
    void *sock;
    void *monitor;             /* tcp://: handshake failures (curve.h) */
    struct send_batch *slots;

    char **paths;
    size_t npaths;
    size_t current;
    bool input_open;
    struct send_input in;
    bool inputs_done;

    const char *rec;           /* the record read last (the reader's) */
    size_t rec_len;
    bool pending;              /* rec holds a record not yet in a batch */
    struct send_pos pending_pos;

    size_t max_record;
    size_t max_batch_bytes;
    size_t max_batch_records;

    uint64_t records;
    uint64_t accepted;
    uint64_t refused;
    uint64_t batches;
    uint64_t batch_seq;
    uint64_t reasons_shown;
    uint64_t reasons_hidden;
    char last_batch_message[ERROR_MAX];
    bool stop_sending;         /* read no more input */
    bool failed;               /* exit 2 */
    bool abort;                /* transport trouble: stop waiting for replies */
    struct cli_progress *progress; /* on a terminal only */
};

static int64_t send_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_where(const struct send_ctx *ctx, const struct send_pos *pos, char *out,
                       size_t size)
{
    const char *name = strcmp(ctx->paths[pos->input], "-") == 0 ? "stdin" : ctx->paths[pos->input];
    snprintf(out, size, "%s: line %llu", name, (unsigned long long)pos->where);
}

/* where: "<file>: line N" (send_where), or the file alone when the reason
 * names its line (the reader's refusals). */
static void send_show_reason(struct send_ctx *ctx, const char *where, const char *reason)
{
    if (ctx->reasons_shown >= CLI_SEND_REASONS) {
        ctx->reasons_hidden++;
        return;
    }
    ctx->reasons_shown++;
    fprintf(stderr, "refused: %s: %s\n", where, reason);
}

static void send_reason(struct send_ctx *ctx, const struct send_pos *pos, const char *reason)
{
    char where[PATH_MAX + 64] = "?";
    if (pos != NULL)
        send_where(ctx, pos, where, sizeof where);
    send_show_reason(ctx, where, reason);
}

/* Next record from the inputs into ctx->rec. Same returns as send_input_next. */
static int send_next_record(struct send_ctx *ctx, char reason[ERROR_MAX], char err[ERROR_MAX])
{
    for (;;) {
        if (!ctx->input_open) {
            if (ctx->current >= ctx->npaths)
                return 0;
            if (send_input_open(&ctx->in, ctx->paths[ctx->current], ctx->opts.format,
                                ctx->max_record, err) != 0)
                return -1;
            ctx->input_open = true;
        }
        int rc = send_input_next(&ctx->in, &ctx->rec, &ctx->rec_len, reason, err);
        if (rc != 0) {
            ctx->pending_pos.input = (uint32_t)ctx->current;
            ctx->pending_pos.where = record_reader_line(ctx->in.records);
            return rc;
        }
        send_input_close(&ctx->in);
        ctx->input_open = false;
        ctx->current++;
    }
}

static int send_transmit(struct send_ctx *ctx, struct send_batch *b, char err[ERROR_MAX])
{
    if (zmq_send(ctx->sock, "", 0, ZMQ_SNDMORE) < 0 ||
        zmq_send(ctx->sock, b->header, b->header_len, ZMQ_SNDMORE) < 0 ||
        zmq_send(ctx->sock, b->body.s, b->body.len, 0) < 0) {
        int e = zmq_errno();
        /* A send that timed out because every handshake failed: say why. */
        if (curve_monitor_failed(ctx->monitor, err))
            return -1;
        return error_set(err, "send to %s: %s", ctx->cli->cfg.ingest_endpoint, zmq_strerror(e));
    }
    b->state = SLOT_IN_FLIGHT;
    b->sent_ms = send_now_ms();
    return 0;
}

/* Read records into a free slot and send it. 1 sent, 0 nothing to send, -1 error. */
static int send_fill(struct send_ctx *ctx, struct send_batch *b)
{
    char err[ERROR_MAX];
    char reason[ERROR_MAX];
    b->records = 0;
    b->body.len = 0;
    while (b->records < ctx->max_batch_records) {
        if (!ctx->pending) {
            int rc = send_next_record(ctx, reason, err);
            if (rc == 0) {
                ctx->inputs_done = true;
                break;
            }
            if (rc < 0) {
                cli_error("%s", err);
                ctx->failed = true;
                ctx->stop_sending = true;
                break;
            }
            if (rc == 2) {
                ctx->records++;
                ctx->refused++;
                send_show_reason(ctx, ctx->in.name, reason);
                continue;
            }
            ctx->pending = true;
        }
        if (b->records > 0 && b->body.len + ctx->rec_len + 1 > ctx->max_batch_bytes)
            break;
        if (b->records == b->pos_cap) {
            size_t cap = b->pos_cap ? b->pos_cap * 2 : 256;
            struct send_pos *p = realloc(b->pos, cap * sizeof *p);
            if (p == NULL) {
                cli_error("out of memory");
                ctx->failed = ctx->stop_sending = true;
                break;
            }
            b->pos = p;
            b->pos_cap = cap;
        }
        if (!strbuf_append(&b->body, ctx->rec, ctx->rec_len) ||
            !strbuf_append(&b->body, "\n", 1)) {
            cli_error("out of memory");
            ctx->failed = ctx->stop_sending = true;
            break;
        }
        b->pos[b->records++] = ctx->pending_pos;
        ctx->records++;
        ctx->pending = false;
    }
    if (b->records == 0)
        return 0;

    ctx->batch_seq++;
    snprintf(b->id, sizeof b->id, "%s-%llu", ctx->opts.id_prefix,
             (unsigned long long)ctx->batch_seq);
    struct protocol_request req;
    memset(&req, 0, sizeof req);
    snprintf(req.domain, sizeof req.domain, "%s", ctx->domain);
    snprintf(req.endpoint, sizeof req.endpoint, "%s", ctx->endpoint);
    snprintf(req.id, sizeof req.id, "%s", b->id);
    req.format = PROTOCOL_FORMAT_NDJSON;
    req.strict = ctx->opts.strict;
    req.validate = ctx->opts.validate;
    free(b->header);
    b->header = NULL;
    if (protocol_request_encode(&req, &b->header, &b->header_len, err) != 0) {
        cli_error("%s", err);
        ctx->failed = ctx->stop_sending = ctx->abort = true;
        b->state = SLOT_RETRY; /* counted as not acknowledged */
        return -1;
    }
    b->busy = b->errors = b->timeouts = 0;
    ctx->batches++;
    if (send_transmit(ctx, b, err) != 0) {
        cli_error("%s", err);
        ctx->failed = ctx->stop_sending = ctx->abort = true;
        b->state = SLOT_RETRY; /* counted as not acknowledged */
        return -1;
    }
    return 1;
}

static int64_t send_backoff(int attempt, int64_t base, int64_t cap)
{
    int64_t d = base;
    for (int i = 1; i < attempt && d < cap; i++)
        d *= 2;
    return d < cap ? d : cap;
}

static void send_handle_reply(struct send_ctx *ctx, struct protocol_reply *reply)
{
    struct send_batch *b = NULL;
    for (int i = 0; i < ctx->opts.window; i++) {
        if (ctx->slots[i].state == SLOT_IN_FLIGHT && strcmp(ctx->slots[i].id, reply->id) == 0)
            b = &ctx->slots[i];
    }
    if (b == NULL)
        return; /* a late answer to a batch already settled (re-sent after a timeout) */
    int64_t now = send_now_ms();
    switch (reply->status) {
    case PROTOCOL_STATUS_BUSY:
        b->busy++;
        if (b->busy > CLI_SEND_BUSY_RETRIES) {
            cli_error("batch %s: ingest still busy after %d retries: %s", b->id, b->busy - 1,
                      reply->message);
            ctx->failed = ctx->stop_sending = ctx->abort = true;
            b->state = SLOT_RETRY; /* counted as not acknowledged */
            return;
        }
        b->state = SLOT_RETRY;
        b->retry_at_ms = now + send_backoff(b->busy, 50, 2000);
        return;
    case PROTOCOL_STATUS_ERROR:
        b->errors++;
        if (b->errors > CLI_SEND_ERROR_RETRIES) {
            cli_error("batch %s: ingest failed to store it (%d attempts): %s", b->id, b->errors,
                      reply->message);
            ctx->failed = ctx->stop_sending = ctx->abort = true;
            b->state = SLOT_RETRY; /* counted as not acknowledged */
            return;
        }
        fprintf(stderr, "lakehouse: batch %s: ingest error, retrying: %s\n", b->id,
                reply->message);
        b->state = SLOT_RETRY;
        b->retry_at_ms = now + send_backoff(b->errors, 500, 8000);
        return;
    case PROTOCOL_STATUS_OK:
    case PROTOCOL_STATUS_PARTIAL:
    case PROTOCOL_STATUS_REFUSED:
        break;
    }
    uint64_t refused = reply->refused;
    if (reply->status == PROTOCOL_STATUS_REFUSED && reply->accepted == 0 && refused == 0)
        refused = b->records; /* a refused batch stores nothing */
    ctx->accepted += reply->accepted;
    ctx->refused += refused;
    for (size_t i = 0; i < reply->error_count; i++) {
        uint64_t idx = reply->errors[i].index;
        send_reason(ctx, idx < b->records ? &b->pos[idx] : NULL, reply->errors[i].reason);
    }
    if (reply->error_count < refused && reply->error_count == PROTOCOL_ERRORS_MAX)
        ctx->reasons_hidden += refused - reply->error_count;
    if (reply->status == PROTOCOL_STATUS_REFUSED && reply->error_count == 0) {
        /* The batch as a whole: every further batch would meet the same fate. */
        if (strcmp(ctx->last_batch_message, reply->message) != 0) {
            fprintf(stderr, "refused: batch %s: %s\n", b->id,
                    reply->message[0] ? reply->message : "refused");
            snprintf(ctx->last_batch_message, sizeof ctx->last_batch_message, "%s",
                     reply->message);
        }
        ctx->stop_sending = true;
    }
    b->state = SLOT_FREE;
}

/* Receive every pending reply. */
static void send_receive(struct send_ctx *ctx)
{
    for (;;) {
        zmq_msg_t delim;
        zmq_msg_init(&delim);
        if (zmq_msg_recv(&delim, ctx->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&delim);
            return;
        }
        bool ok = zmq_msg_size(&delim) == 0 && zmq_msg_more(&delim);
        bool more = zmq_msg_more(&delim);
        zmq_msg_close(&delim);
        zmq_msg_t body;
        zmq_msg_init(&body);
        if (more && zmq_msg_recv(&body, ctx->sock, 0) < 0) {
            zmq_msg_close(&body);
            return;
        }
        more = more && zmq_msg_more(&body);
        while (more) { /* unexpected extra frames */
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            if (zmq_msg_recv(&extra, ctx->sock, 0) < 0)
                more = false;
            else
                more = zmq_msg_more(&extra);
            zmq_msg_close(&extra);
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "lakehouse: ignored a malformed reply from ingest\n");
            zmq_msg_close(&body);
            continue;
        }
        struct protocol_reply reply;
        memset(&reply, 0, sizeof reply);
        char err[ERROR_MAX];
        if (protocol_reply_decode(zmq_msg_data(&body), zmq_msg_size(&body), &reply, err) != 0) {
            fprintf(stderr, "lakehouse: ignored a malformed reply from ingest: %s\n", err);
        } else {
            send_handle_reply(ctx, &reply);
        }
        protocol_reply_clear(&reply);
        zmq_msg_close(&body);
    }
}

/* Re-send batches whose backoff is over or whose reply is overdue.
 * Returns the poll timeout until the next such moment (ms). */
static long send_retries(struct send_ctx *ctx)
{
    int64_t now = send_now_ms();
    int64_t next = now + 100;
    char err[ERROR_MAX];
    for (int i = 0; i < ctx->opts.window && !ctx->abort; i++) {
        struct send_batch *b = &ctx->slots[i];
        if (b->state == SLOT_RETRY && now >= b->retry_at_ms) {
            if (send_transmit(ctx, b, err) != 0) {
                cli_error("%s", err);
                ctx->failed = ctx->stop_sending = ctx->abort = true;
            }
        } else if (b->state == SLOT_IN_FLIGHT && now - b->sent_ms >= ctx->opts.timeout_ms) {
            b->timeouts++;
            if (b->timeouts > CLI_SEND_TIMEOUT_RETRIES) {
                cli_error("batch %s: no reply from ingest at %s after %d attempts of %lld ms "
                          "(is lakehouse-ingest running?)",
                          b->id, ctx->cli->cfg.ingest_endpoint, b->timeouts,
                          (long long)ctx->opts.timeout_ms);
                ctx->failed = ctx->stop_sending = ctx->abort = true;
                break;
            }
            fprintf(stderr, "lakehouse: batch %s: no reply within %lld ms, re-sending (%d)\n",
                    b->id, (long long)ctx->opts.timeout_ms, b->timeouts);
            if (send_transmit(ctx, b, err) != 0) {
                cli_error("%s", err);
                ctx->failed = ctx->stop_sending = ctx->abort = true;
            }
        }
        if (b->state == SLOT_RETRY && b->retry_at_ms < next)
            next = b->retry_at_ms;
        if (b->state == SLOT_IN_FLIGHT && b->sent_ms + ctx->opts.timeout_ms < next)
            next = b->sent_ms + ctx->opts.timeout_ms;
    }
    int64_t wait = next - send_now_ms();
    return wait < 1 ? 1 : (long)wait;
}

static int send_run(struct send_ctx *ctx)
{
    for (;;) {
        for (int i = 0; i < ctx->opts.window && !ctx->stop_sending && !ctx->inputs_done; i++) {
            if (ctx->slots[i].state == SLOT_FREE && send_fill(ctx, &ctx->slots[i]) <= 0)
                break;
        }
        bool busy = false;
        for (int i = 0; i < ctx->opts.window; i++) {
            if (ctx->slots[i].state != SLOT_FREE)
                busy = true;
        }
        /* Nothing in flight: the input is done or stopped (send_fill only
         * leaves every slot free then). An input error still waits here for
         * the answers to what was already sent. */
        if (!busy || ctx->abort)
            break;
        long timeout = send_retries(ctx);
        if (ctx->abort)
            break;
        zmq_pollitem_t item = {.socket = ctx->sock, .events = ZMQ_POLLIN};
        int n = zmq_poll(&item, 1, timeout);
        if (n < 0 && zmq_errno() != EINTR) {
            cli_error("poll: %s", zmq_strerror(zmq_errno()));
            ctx->failed = true;
            break;
        }
        if (n > 0)
            send_receive(ctx);
        cli_progress_update(ctx->progress, ctx->accepted + ctx->refused, ctx->current,
                            ctx->input_open && ctx->in.f ? (int64_t)ftell(ctx->in.f) : 0);
        char err[ERROR_MAX];
        if (curve_monitor_failed(ctx->monitor, err)) {
            cli_error("%s", err);
            ctx->failed = true;
            break;
        }
    }
    uint64_t pending = 0;
    for (int i = 0; i < ctx->opts.window; i++) {
        if (ctx->slots[i].state != SLOT_FREE)
            pending += ctx->slots[i].records;
    }
    cli_progress_end(&ctx->progress);
    if (ctx->reasons_hidden > 0)
        fprintf(stderr, "refused: ... and %llu more\n", (unsigned long long)ctx->reasons_hidden);
    printf("sent %llu records: %llu accepted, %llu refused (%llu batches)\n",
           (unsigned long long)ctx->records, (unsigned long long)ctx->accepted,
           (unsigned long long)ctx->refused, (unsigned long long)ctx->batches);
    if (pending > 0)
        cli_error("%llu records were not acknowledged; re-run with --id-prefix %s to re-send "
                  "them without duplicates",
                  (unsigned long long)pending, ctx->opts.id_prefix);
    if (ctx->failed)
        return CLI_USAGE;
    return ctx->refused > 0 ? CLI_FAILED : CLI_OK;
}

static int send_parse_int(const char *text, const char *flag, int64_t min, int64_t max,
                          int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        cli_error("%s: expected a number from %lld to %lld, got '%s'", flag, (long long)min,
                  (long long)max, text);
        return -1;
    }
    *out = v;
    return 0;
}

static const char send_usage[] =
    "usage: lakehouse send DOMAIN/ENDPOINT [FILE...] [--format ndjson|json|csv]\n"
    "         [--batch-size N] [--strict] [--no-validate] [--window N]\n"
    "         [--id-prefix P] [--timeout-ms MS]\n";

static int send_parse(struct send_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"batch-size", required_argument, NULL, 'b'},
        {"strict", no_argument, NULL, 's'},
        {"no-validate", no_argument, NULL, 'n'},
        {"window", required_argument, NULL, 'w'},
        {"id-prefix", required_argument, NULL, 'i'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct send_opts *o = &ctx->opts;
    o->format = RECORD_FORMAT_AUTO;
    o->batch_size = 1000;
    o->validate = true;
    o->window = 8;
    o->timeout_ms = 10000;
    int64_t v = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'f':
            if (record_format_from_name(optarg, &o->format) < 0 ||
                o->format == RECORD_FORMAT_AUTO) {
                cli_error("--format: expected ndjson, json or csv, got '%s'", optarg);
                return -1;
            }
            break;
        case 'b':
            if (send_parse_int(optarg, "--batch-size", 1, ctx->cli->cfg.batch_max_records,
                               &o->batch_size) != 0)
                return -1;
            break;
        case 's': o->strict = true; break;
        case 'n': o->validate = false; break;
        case 'w':
            if (send_parse_int(optarg, "--window", 1, CLI_SEND_WINDOW_MAX, &v) != 0)
                return -1;
            o->window = (int)v;
            break;
        case 'i': {
            size_t len = strlen(optarg);
            bool ok = len >= 1 && len <= CLI_SEND_PREFIX_MAX;
            for (size_t i = 0; ok && i < len; i++)
                ok = optarg[i] > 0x20 && optarg[i] < 0x7f;
            if (!ok) {
                cli_error("--id-prefix: 1 to %d printable ASCII characters without spaces",
                          CLI_SEND_PREFIX_MAX);
                return -1;
            }
            snprintf(o->id_prefix, sizeof o->id_prefix, "%s", optarg);
            break;
        }
        case 't':
            if (send_parse_int(optarg, "--timeout-ms", 100, 3600000, &o->timeout_ms) != 0)
                return -1;
            break;
        case 'h': fputs(send_usage, stdout); return 1;
        default: fputs(send_usage, stderr); return -1;
        }
    }
    if (optind >= argc) {
        cli_error("send: missing DOMAIN/ENDPOINT");
        fputs(send_usage, stderr);
        return -1;
    }
    char err[ERROR_MAX];
    if (cli_parse_ref(argv[optind], "endpoint", ctx->domain, ctx->endpoint, err) != 0) {
        cli_error("send: %s", err);
        return -1;
    }
    if (o->id_prefix[0] == '\0') {
        unsigned char rnd[6];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
            memcpy(rnd, &x, sizeof rnd);
        }
        snprintf(o->id_prefix, sizeof o->id_prefix, "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5]);
    }
    return 0;
}

int cli_send(struct cli *cli, int argc, char **argv)
{
    struct send_ctx *ctx = calloc(1, sizeof *ctx);
    static char *stdin_path[] = {"-"};
    int status = CLI_USAGE;
    if (ctx == NULL) {
        cli_error("out of memory");
        return CLI_USAGE;
    }
    ctx->cli = cli;
    int rc = send_parse(ctx, argc, argv);
    if (rc != 0) {
        status = rc > 0 ? CLI_OK : CLI_USAGE;
        goto done;
    }
    if (optind + 1 < argc) {
        ctx->paths = argv + optind + 1;
        ctx->npaths = (size_t)(argc - optind - 1);
    } else {
        ctx->paths = stdin_path;
        ctx->npaths = 1;
    }
    ctx->slots = calloc((size_t)ctx->opts.window, sizeof *ctx->slots);
    if (ctx->slots == NULL) {
        cli_error("out of memory");
        goto done;
    }
    ctx->max_record = (size_t)cli->cfg.record_max_bytes;
    ctx->max_batch_bytes = (size_t)cli->cfg.batch_max_bytes;
    ctx->max_batch_records = (size_t)ctx->opts.batch_size;

    if (!cli_endpoint_present(cli->cfg.ingest_endpoint)) {
        cli_error("cannot reach ingest: nothing listens on %s (is the lakehouse group running "
                  "on %s?)",
                  cli->cfg.ingest_endpoint + 6, cli->cfg.data_dir);
        goto done;
    }
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        goto done;
    ctx->sock = zmq_socket(zctx, ZMQ_DEALER);
    if (ctx->sock == NULL) {
        cli_error("socket: %s", zmq_strerror(zmq_errno()));
        goto done;
    }
    int linger = 0;
    int sndtimeo = 10000;
    zmq_setsockopt(ctx->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(ctx->sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    char err[ERROR_MAX];
    if (curve_client_setup(ctx->sock, &cli->cfg, err) < 0) {
        cli_error("%s", err);
        goto done;
    }
    if (curve_endpoint_is_tcp(cli->cfg.ingest_endpoint) &&
        (ctx->monitor = curve_monitor_open(zctx, ctx->sock, err)) == NULL) {
        cli_error("%s", err);
        goto done;
    }
    if (zmq_connect(ctx->sock, cli->cfg.ingest_endpoint) != 0) {
        cli_error("connect %s: %s", cli->cfg.ingest_endpoint, zmq_strerror(zmq_errno()));
        goto done;
    }
    ctx->progress = cli_progress_start("sending", ctx->paths, ctx->npaths);
    status = send_run(ctx);

done:
    if (ctx->input_open)
        send_input_close(&ctx->in);
    if (ctx->sock != NULL) {
        curve_monitor_close(ctx->sock, &ctx->monitor);
        zmq_close(ctx->sock);
    }
    if (ctx->slots != NULL) {
        for (int i = 0; i < ctx->opts.window; i++) {
            free(ctx->slots[i].header);
            free(ctx->slots[i].pos);
            strbuf_free(&ctx->slots[i].body);
        }
    }
    free(ctx->slots);
    free(ctx);
    return status;
}

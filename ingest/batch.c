/* batch.c - one producer batch: decode, evolve (AUTO_INFERENCE), validate,
 * append (see batch.h). */
#include "batch.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints.h"
#include "fields.h"
#include "growarray.h"
#include "jsonsplit.h"
#include "ingest.h"
#include "log.h"
#include "mpjson.h"
#include "record_reader.h"
#include "spool.h"
#include "timeutil.h"

/* Columns whose values the hot path keeps on the stack. */
#define BATCH_VALUES_STACK 64

/* A record refused before validation (decoding, evolution). Kept until the
 * validation pass so that the reply and rejected/ list refusals in record
 * order. */
struct batch_deferred {
    uint64_t index;
    char *reason;          /* owned */
    json_t *record;        /* owned reference, or NULL: raw text below */
    const char *raw;       /* points into the request body */
    size_t raw_len;
    bool base64_only;
};

struct batch_decoder {
    json_t **records; /* NULL entry: see deferred */
    size_t count;
    size_t cap;
    struct batch_deferred *deferred;
    size_t deferred_count;
    size_t deferred_cap;
    struct fields fields; /* the fast path's current record */
};

/* State of the batch being handled. */
struct batch_run {
    struct ingest_ctx *ctx;
    const struct protocol_request *req;
    struct spool_table *table;
    struct protocol_reply *reply;
    struct batch_decoder *dec;
    char rejected_at[TIMEUTIL_TIMESTAMP_MAX];
    uint64_t refused;
    bool failed; /* server-side failure: nothing of the batch may be stored */
    struct schema *delete_schema; /* deletes: the key (+ sequence_by) columns; owned */
};

/* What storing a batch's records needs (batch_store_begin .. _end): the
 * per-column value array of the hot path and the lines' metadata. */
struct batch_writer {
    json_t *stack[BATCH_VALUES_STACK];
    json_t **values; /* stack, or allocated for a wide schema; NULL: SINGLE_COLUMN */
    struct spool_meta meta;
};

int batch_decoder_open(struct batch_decoder **out, char err[ERROR_MAX])
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return error_set(err, "batch decoder: out of memory");
    return 0;
}

static void batch_decoder_reset(struct batch_decoder *d)
{
    for (size_t i = 0; i < d->count; i++)
        json_decref(d->records[i]);
    d->count = 0;
    for (size_t i = 0; i < d->deferred_count; i++) {
        free(d->deferred[i].reason);
        json_decref(d->deferred[i].record);
    }
    d->deferred_count = 0;
    /* Keep the vector unless one huge batch grew it far beyond the usual. */
    if (d->cap > 65536) {
        free(d->records);
        d->records = NULL;
        d->cap = 0;
    }
}

void batch_decoder_close(struct batch_decoder **decoder)
{
    struct batch_decoder *d = *decoder;
    if (d == NULL)
        return;
    batch_decoder_reset(d);
    free(d->records);
    free(d->deferred);
    fields_free(&d->fields);
    free(d);
    *decoder = NULL;
}

/* Takes the reference to record (may be NULL). */
static int batch_push(struct batch_run *run, json_t *record)
{
    struct batch_decoder *d = run->dec;
    json_t **p = growarray_room(d->records, &d->cap, d->count, sizeof *p, 1024);
    if (p == NULL) {
        json_decref(record);
        run->failed = true;
        snprintf(run->reply->message, sizeof run->reply->message, "out of memory");
        return -1;
    }
    d->records = p;
    d->records[d->count++] = record;
    return 0;
}

static void batch_set_status(struct protocol_reply *reply, enum protocol_status status,
                             const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void batch_set_status(struct protocol_reply *reply, enum protocol_status status,
                             const char *fmt, ...)
{
    reply->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reply->message, sizeof reply->message, fmt, ap);
    va_end(ap);
}

/* One refused record: listed in the reply; unless strict, kept in rejected/
 * with its reason (rule 4). record or raw text, see rejected_format. */
static void batch_record_error(struct batch_run *run, uint64_t index, const char *reason,
                               const json_t *record, const char *raw, size_t raw_len,
                               bool base64_only)
{
    run->refused++;
    if (protocol_reply_add_error(run->reply, index, reason) < 0)
        log_warn("reply_error_dropped index=%" PRIu64 " reason=\"out of memory\"", index);
    if (run->req->strict)
        return;
    if (rejected_format(&run->table->rejected, run->rejected_at, run->req->id, index, reason,
                        record, raw, raw_len, base64_only) < 0) {
        run->failed = true; /* it cannot be kept, so the batch cannot be acked */
        snprintf(run->reply->message, sizeof run->reply->message,
                 "out of memory keeping a rejected record");
    }
}

/* Note a refusal found before validation; takes the reference to record. */
static void batch_defer_error(struct batch_run *run, uint64_t index, const char *reason,
                              json_t *record, const char *raw, size_t raw_len, bool base64_only)
{
    struct batch_decoder *d = run->dec;
    struct batch_deferred *p =
        growarray_room(d->deferred, &d->deferred_cap, d->deferred_count, sizeof *p, 64);
    if (p == NULL)
        goto oom;
    d->deferred = p;
    struct batch_deferred *e = &d->deferred[d->deferred_count];
    if ((e->reason = strdup(reason)) == NULL)
        goto oom;
    e->index = index;
    e->record = record;
    e->raw = raw;
    e->raw_len = raw_len;
    e->base64_only = base64_only;
    d->deferred_count++;
    return;
oom:
    json_decref(record);
    run->failed = true;
    snprintf(run->reply->message, sizeof run->reply->message, "out of memory");
}

static int batch_deferred_cmp(const void *a, const void *b)
{
    const struct batch_deferred *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* ------------------------------------------------------------ decoding */

/* Refuse a batch of more than batch_max_records records; returns -1. */
static int batch_refuse_count(struct batch_run *run)
{
    batch_set_status(run->reply, PROTOCOL_STATUS_REFUSED,
                     "batch has more than %" PRId64 " records (batch_max_records); split it",
                     run->ctx->cfg->batch_max_records);
    return -1;
}

/* One NDJSON line p[0..n) parsed the jansson way, or NULL with the reason
 * of its refusal (too long, or not JSON). */
static json_t *batch_parse_line(const struct batch_run *run, const char *p, size_t n,
                                uint64_t line_no, char reason[ERROR_MAX])
{
    int64_t max = run->ctx->cfg->record_max_bytes;
    if (n > (size_t)max) {
        snprintf(reason, ERROR_MAX,
                 "line %" PRIu64 ": record of %zu bytes exceeds record_max_bytes (%" PRId64 ")",
                 line_no, n, max);
        return NULL;
    }
    json_error_t e;
    json_t *record = json_loadb(p, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (record == NULL)
        snprintf(reason, ERROR_MAX, "line %" PRIu64 ", column %d: invalid JSON: %s", line_no,
                 e.column, e.text);
    return record;
}

/* The NDJSON lines of a body (a byte order mark skipped). */
struct batch_lines {
    const char *next;
    const char *end;
    const char *line; /* the current line, without its end */
    size_t n;
    uint64_t line_no; /* 1-based */
};

static void batch_lines_open(struct batch_lines *ls, const char *body, size_t len)
{
    len = record_skip_bom(&body, len);
    ls->next = body;
    ls->end = body + len;
    ls->line_no = 0;
}

static bool batch_lines_next(struct batch_lines *ls)
{
    return record_next_line(&ls->next, ls->end, &ls->line, &ls->n, &ls->line_no);
}

static int batch_decode_ndjson(struct batch_run *run, const char *body, size_t len)
{
    struct batch_lines ls;
    batch_lines_open(&ls, body, len);
    while (!run->failed && batch_lines_next(&ls)) {
        uint64_t index = run->dec->count;
        if (index >= (uint64_t)run->ctx->cfg->batch_max_records)
            return batch_refuse_count(run);
        char reason[ERROR_MAX];
        json_t *record = batch_parse_line(run, ls.line, ls.n, ls.line_no, reason);
        if (record == NULL)
            batch_defer_error(run, index, reason, NULL, ls.line, ls.n, false);
        if (batch_push(run, record) < 0)
            return -1;
    }
    return 0;
}

static int batch_decode_json(struct batch_run *run, const char *body, size_t len)
{
    len = record_skip_bom(&body, len);
    json_error_t e;
    json_t *array = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    if (array == NULL) {
        batch_set_status(run->reply, PROTOCOL_STATUS_REFUSED,
                         "invalid JSON array body at line %d, column %d (byte %d): %s", e.line,
                         e.column, e.position, e.text);
        /* the same position as fields, for the broker's answer */
        struct protocol_syntax *syntax = &run->reply->syntax;
        syntax->set = true;
        syntax->line = e.line > 0 ? (uint64_t)e.line : 0;
        syntax->column = e.column > 0 ? (uint64_t)e.column : 0;
        syntax->position = e.position > 0 ? (uint64_t)e.position : 0;
        snprintf(syntax->text, sizeof syntax->text, "%s", e.text);
        return -1;
    }
    if (!json_is_array(array)) {
        batch_set_status(run->reply, PROTOCOL_STATUS_REFUSED,
                         "format json expects a JSON array of records (use ndjson for one "
                         "object per line)");
        json_decref(array);
        return -1;
    }
    size_t n = json_array_size(array);
    if (n > (size_t)run->ctx->cfg->batch_max_records) {
        batch_set_status(run->reply, PROTOCOL_STATUS_REFUSED,
                         "batch has %zu records, more than batch_max_records (%" PRId64 "); "
                         "split it",
                         n, run->ctx->cfg->batch_max_records);
        json_decref(array);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (batch_push(run, json_incref(json_array_get(array, i))) < 0) {
            json_decref(array);
            return -1;
        }
    }
    json_decref(array);
    return 0;
}

/* Open a msgpack body (an array of maps) and check its record count against
 * batch_max_records; -1 with the batch refused (reply filled) otherwise. */
static int batch_open_msgpack(struct batch_run *run, const char *body, size_t len,
                              struct mpjson_reader *r, uint32_t *count)
{
    char err[ERROR_MAX];
    if (mpjson_open(r, body, len, count, err) < 0) {
        batch_set_status(run->reply, PROTOCOL_STATUS_REFUSED, "%s", err);
        return -1;
    }
    if (*count > (uint64_t)run->ctx->cfg->batch_max_records) {
        batch_set_status(run->reply, PROTOCOL_STATUS_REFUSED,
                         "batch has %" PRIu32 " records, more than batch_max_records (%" PRId64
                         "); split it",
                         *count, run->ctx->cfg->batch_max_records);
        return -1;
    }
    return 0;
}

static int batch_decode_msgpack(struct batch_run *run, const char *body, size_t len)
{
    struct mpjson_reader r;
    uint32_t count;
    char err[ERROR_MAX];
    if (batch_open_msgpack(run, body, len, &r, &count) < 0)
        return -1;
    for (;;) {
        json_t *record;
        const char *raw;
        size_t raw_len;
        int rc = mpjson_next(&r, &record, &raw, &raw_len, err);
        if (rc < 0) {
            batch_set_status(run->reply, PROTOCOL_STATUS_REFUSED, "%s", err);
            return -1;
        }
        if (rc == 0)
            return 0;
        if (record == NULL)
            batch_defer_error(run, run->dec->count, err, NULL, raw, raw_len, true);
        if (batch_push(run, record) < 0 || run->failed)
            return -1;
    }
}

/* ------------------------------------------------------------ deletes */

/* A record carrying "_op" (null = absent) is an operation, not data. */
static const json_t *batch_op(const json_t *record)
{
    const json_t *op = json_object_get(record, "_op");
    return op != NULL && !json_is_null(op) ? op : NULL;
}

/* A delete (batch_delete_record) appended to the spool. 0 appended, -1
 * refused with err. */
static int batch_delete(struct batch_run *run, const struct schema *schema, const json_t *record,
                        const json_t *op, const struct spool_meta *meta, char err[ERROR_MAX])
{
    json_t *normalized = NULL;
    int rc = batch_delete_record(schema, &run->delete_schema, record, op, run->req->validate,
                                 &normalized, err);
    if (rc == 0)
        rc = spool_append(run->ctx->spools, run->table, normalized, meta,
                          (size_t)run->ctx->cfg->record_max_bytes, err);
    json_decref(normalized);
    return rc;
}

/* ------------------------------------------------------------ evolution */

/* AUTO_INFERENCE: fold every record into the schema. Returns the evolved
 * schema (caller owns) or NULL when the current one fits. Records that
 * cannot be folded are refused here. */
static struct schema *batch_evolve_compute(struct batch_run *run, const struct schema *current)
{
    struct schema *work = NULL;
    for (size_t i = 0; i < run->dec->count; i++) {
        json_t *record = run->dec->records[i];
        if (record == NULL || !json_is_object(record))
            continue; /* non-objects are refused by the validation pass */
        if (batch_op(record) != NULL)
            continue; /* a delete adds no column */
        struct schema *evolved = NULL;
        char err[ERROR_MAX];
        int rc = schema_evolve(work != NULL ? work : current, record, &evolved, err);
        if (rc < 0) {
            batch_defer_error(run, i, err, record, NULL, 0, false);
            run->dec->records[i] = NULL;
        } else if (rc == 1) {
            schema_destroy(&work);
            work = evolved;
        }
    }
    return work;
}

/* Store an evolved schema as a new catalog version (before any record that
 * uses it is written) and make it the cached one. If the catalog refuses it
 * (another writer stored a version meanwhile), evolve once more from the
 * catalog's latest version. */
static int batch_evolve_store(struct batch_run *run, struct schema *work,
                              const struct schema **schema, char err[ERROR_MAX])
{
    struct ingest_ctx *ctx = run->ctx;
    const char *d = run->req->domain, *e = run->req->endpoint;
    for (int attempt = 0;; attempt++) {
        int version = 0;
        if (catalog_put_endpoint(ctx->catalog, work, &version, err) == 0) {
            work->version = version;
            log_info("schema_evolved domain=%s endpoint=%s version=%d columns=%zu", d, e, version,
                     work->column_count);
            endpoints_set(ctx->endpoints, &work);
            ingest_publish(ctx, EVENT_SCHEMA_CHANGED, d, e, "", version);
            return endpoints_get(ctx->endpoints, d, e, schema, err) == 1 ? 0 : -1;
        }
        schema_destroy(&work);
        if (attempt == 1)
            return -1;
        log_warn("schema_evolve_retry domain=%s endpoint=%s reason=\"%s\"", d, e, err);
        int rc = endpoints_reload(ctx->endpoints, d, e, schema, err);
        if (rc <= 0) {
            if (rc == 0)
                error_set(err, "endpoint %s/%s was deleted", d, e);
            return -1;
        }
        work = batch_evolve_compute(run, *schema);
        if (work == NULL)
            return 0; /* the latest version already fits */
    }
}

/* ------------------------------------------------------------ the batch */

/* Before storing records: the per-column value array of the hot path
 * (schema_normalize_values; stack when the schema is small, NULL for
 * SINGLE_COLUMN: the object path) and the batch's line metadata. -1 (run
 * failed) when out of memory. */
static int batch_store_begin(struct batch_run *run, const struct schema *schema,
                             struct batch_writer *w, int64_t now_ms, int64_t now_us)
{
    const struct protocol_request *req = run->req;
    spool_meta_init(&w->meta, req->domain, req->endpoint, now_ms, now_us, schema->version,
                    req->id);
    w->values = NULL;
    if (schema->mode == SCHEMA_MODE_SINGLE_COLUMN)
        return 0;
    w->values = schema->column_count <= BATCH_VALUES_STACK
                    ? w->stack
                    : malloc(schema->column_count * sizeof *w->values);
    if (w->values == NULL) {
        run->failed = true;
        snprintf(run->reply->message, sizeof run->reply->message, "out of memory");
        return -1;
    }
    return 0;
}

static void batch_store_end(struct batch_writer *w)
{
    if (w->values != w->stack)
        free(w->values);
    w->values = NULL;
}

/* Validate one decoded record and append its line (or refuse it). */
static void batch_store(struct batch_run *run, const struct schema *schema, json_t **values,
                        const struct spool_meta *meta, uint64_t i, const json_t *record)
{
    const struct config *cfg = run->ctx->cfg;
    const struct protocol_request *req = run->req;
    char err[ERROR_MAX];
    int rc;
    if (schema->mode != SCHEMA_MODE_SINGLE_COLUMN && !json_is_object(record)) {
        static const char *const type_names[] = {"object", "array",   "string", "integer",
                                                 "real",   "boolean", "boolean", "null"};
        snprintf(err, sizeof err, "record is not a JSON object (got %s)",
                 type_names[json_typeof(record)]);
        batch_record_error(run, i, err, record, NULL, 0, false);
        return;
    }
    const json_t *op = schema->mode != SCHEMA_MODE_SINGLE_COLUMN ? batch_op(record) : NULL;
    if (op != NULL) {
        if (batch_delete(run, schema, record, op, meta, err) < 0)
            batch_record_error(run, i, err, record, NULL, 0, false);
        return;
    }
    if (values != NULL) {
        /* Hot path: the validated values are written straight into the
         * spool buffer, no normalised object is built. */
        json_t *rescued = NULL;
        rc = schema_normalize_values(schema, record, req->validate, values, &rescued, err);
        if (rc == 0)
            rc = spool_append_values(run->ctx->spools, run->table, schema, values, rescued, meta,
                                     (size_t)cfg->record_max_bytes, err);
        for (size_t c = 0; c < schema->column_count; c++)
            json_decref(values[c]);
        json_decref(rescued);
    } else {
        json_t *normalized = NULL;
        rc = req->validate ? schema_validate_record(schema, record, &normalized, err)
                           : schema_passthrough_record(schema, record, &normalized, err);
        if (rc == 0)
            rc = spool_append(run->ctx->spools, run->table, normalized, meta,
                              (size_t)cfg->record_max_bytes, err);
        json_decref(normalized);
    }
    if (rc < 0)
        batch_record_error(run, i, err, record, NULL, 0, false);
}

/* The fast path: the record read by a fast reader into run->dec->fields
 * (fields.h) validated by the same rules (schema_normalize_fields) and
 * written from the values. false when it was not stored: a delete, a
 * refusal, or a schema too wide for the stack; the caller then runs the
 * record through the jansson path, which stores it or refuses it with its
 * usual message and rejected/ line (so a refusal costs a second pass, a
 * stored record one). */
static bool batch_store_fields(struct batch_run *run, const struct schema *schema,
                               const struct spool_meta *meta)
{
    const struct fields *fs = &run->dec->fields;
    if (schema->column_count > BATCH_VALUES_STACK || fields_has_key(fs, "_op", 3))
        return false;
    struct schema_value values[BATCH_VALUES_STACK];
    json_t *rescued = NULL;
    char err[ERROR_MAX];
    if (schema_normalize_fields(schema, fs->f, fs->count, run->req->validate, values, &rescued,
                                err) < 0)
        return false;
    int rc = spool_append_fields(run->ctx->spools, run->table, schema, values, rescued, meta,
                                 (size_t)run->ctx->cfg->record_max_bytes, err);
    schema_values_clear(values, schema->column_count);
    json_decref(rescued);
    return rc == 0;
}

/* Forget the per-record errors listed so far (the batch is refused whole or
 * taken again another way). */
static void batch_drop_errors(struct batch_run *run)
{
    free(run->reply->errors);
    run->reply->errors = NULL;
    run->reply->error_count = 0;
    run->refused = 0;
}

/* After a fast reader returned read (1: fields read, 0: not simple, -1: out
 * of memory): 1 stored, 0 for the jansson path, -1 failed (run->failed). */
static int batch_fast_store(struct batch_run *run, const struct schema *schema,
                            const struct spool_meta *meta, int read)
{
    if (read < 0) {
        run->failed = true;
        snprintf(run->reply->message, sizeof run->reply->message, "out of memory");
        return -1;
    }
    return read == 1 && batch_store_fields(run, schema, meta) ? 1 : 0;
}

/* A record read the jansson way, or NULL when it was refused for reason
 * (raw: its text): stored, or its refusal noted; takes the reference. */
static void batch_take(struct batch_run *run, const struct schema *schema,
                       const struct batch_writer *w, uint64_t index, json_t *record,
                       const char *reason, const char *raw, size_t raw_len, bool base64_only)
{
    if (record == NULL) {
        batch_record_error(run, index, reason, NULL, raw, raw_len, base64_only);
        return;
    }
    batch_store(run, schema, w->values, &w->meta, index, record);
    json_decref(record);
}

/* NDJSON when no record depends on the others (not AUTO_INFERENCE): each
 * line is parsed, validated, written and freed before the next, instead of
 * holding the batch's decoded records (profiles showed the allocator
 * spending more on 1,000 live trees than on one reused). Same refusals,
 * reasons and order as batch_decode_ndjson + the validation pass: the
 * batch_max_records check runs first over the lines, so a refused batch
 * has written nothing. *total = records in the body. */
static int batch_stream_ndjson(struct batch_run *run, const char *body, size_t len,
                               const struct schema *schema, int64_t now_ms, int64_t now_us,
                               uint64_t *total)
{
    const struct config *cfg = run->ctx->cfg;
    struct batch_lines ls;
    batch_lines_open(&ls, body, len);
    uint64_t count = 0;
    while (batch_lines_next(&ls)) {
        if (++count > (uint64_t)cfg->batch_max_records)
            return batch_refuse_count(run);
    }
    *total = count;

    struct batch_writer w;
    if (batch_store_begin(run, schema, &w, now_ms, now_us) < 0)
        return -1;
    batch_lines_open(&ls, body, len);
    for (uint64_t index = 0; !run->failed && batch_lines_next(&ls); index++) {
        const char *p = ls.line;
        size_t n = ls.n;
        if (w.values != NULL && n <= (size_t)cfg->record_max_bytes) {
            int fast =
                batch_fast_store(run, schema, &w.meta, fields_read_json(p, n, &run->dec->fields));
            if (fast < 0)
                break;
            if (fast == 1)
                continue;
        }
        char reason[ERROR_MAX];
        json_t *record = batch_parse_line(run, p, n, ls.line_no, reason);
        batch_take(run, schema, &w, index, record, reason, p, n, false);
    }
    batch_store_end(&w);
    return 0;
}

/* msgpack the same way. A body found malformed after some records were
 * handled refuses the whole batch as batch_decode_msgpack does: the caller
 * rolls the lines back (nothing stored) and the per-record errors listed so
 * far are dropped from the reply. */
static int batch_stream_msgpack(struct batch_run *run, const char *body, size_t len,
                                const struct schema *schema, int64_t now_ms, int64_t now_us,
                                uint64_t *total)
{
    struct mpjson_reader r;
    uint32_t count;
    char err[ERROR_MAX];
    if (batch_open_msgpack(run, body, len, &r, &count) < 0)
        return -1;
    struct batch_writer w;
    if (batch_store_begin(run, schema, &w, now_ms, now_us) < 0)
        return -1;
    int rc = 0;
    uint64_t index = 0;
    for (; !run->failed; index++) {
        json_t *record;
        const char *raw;
        size_t raw_len;
        if (w.values != NULL) {
            struct mpjson_reader at = r;
            int fast = batch_fast_store(run, schema, &w.meta,
                                        mpjson_next_fields(&r, &run->dec->fields, &raw, &raw_len));
            if (fast < 0)
                break;
            if (fast == 1)
                continue;
            r = at; /* read it again the jansson way */
        }
        int next = mpjson_next(&r, &record, &raw, &raw_len, err);
        if (next < 0) {
            batch_set_status(run->reply, PROTOCOL_STATUS_REFUSED, "%s", err);
            batch_drop_errors(run);
            rc = -1;
            break;
        }
        if (next == 0)
            break;
        batch_take(run, schema, &w, index, record, err, raw, raw_len, true);
    }
    *total = index;
    batch_store_end(&w);
    return rc;
}

static const char *batch_skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* A JSON array body (format json, HTTP POST .../batch) the NDJSON way when
 * every element is an object the fast reader takes: the array's grammar is
 * checked here, each element's by fields_read_json, so such a body is valid
 * JSON and jansson would have read the same records. Each element is
 * stored (or refused) as it is read. 1: done (*total = elements); 0: some
 * element is not simple, or the body is not such an array (or has more
 * than batch_max_records elements): nothing of it was kept (lines rolled
 * back to *mark, reply errors dropped), the caller parses the body whole
 * as before, which refuses what is wrong with its usual message. */
static int batch_stream_json(struct batch_run *run, const char *body, size_t len,
                             const struct schema *schema, int64_t now_ms, int64_t now_us,
                             const struct spool_mark *mark, uint64_t *total)
{
    const struct config *cfg = run->ctx->cfg;
    struct batch_writer w;
    if (schema->mode == SCHEMA_MODE_SINGLE_COLUMN ||
        schema->column_count > BATCH_VALUES_STACK ||
        batch_store_begin(run, schema, &w, now_ms, now_us) < 0)
        return 0;
    len = record_skip_bom(&body, len);
    const char *p = body, *end = body + len;
    p = batch_skip_ws(p, end);
    if (p == end || *p != '[')
        return 0;
    p = batch_skip_ws(p + 1, end);
    if (p < end && *p == ']')
        return 0; /* empty: nothing to gain */
    uint64_t index = 0;
    int done = 0;
    while (!run->failed) {
        if (p == end || *p != '{' || index >= (uint64_t)cfg->batch_max_records)
            break;
        struct jsonsplit split;
        jsonsplit_reset(&split);
        const char *q = p;
        enum jsonsplit_result step = JSONSPLIT_MORE;
        while (q < end && (step = jsonsplit_step(&split, (unsigned char)*q)) == JSONSPLIT_MORE)
            q++;
        if (q == end || step != JSONSPLIT_LAST)
            break;
        q++; /* the element is p[0..q) */
        size_t n = (size_t)(q - p);
        int fast = fields_read_json(p, n, &run->dec->fields);
        if (fast != 1)
            break;
        if (n > (size_t)cfg->record_max_bytes || !batch_store_fields(run, schema, &w.meta)) {
            /* a refusal (or a delete): the jansson path for this element */
            json_t *record = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
            if (record == NULL)
                break;
            batch_store(run, schema, w.values, &w.meta, index, record);
            json_decref(record);
        }
        index++;
        p = batch_skip_ws(q, end);
        if (p < end && *p == ',') {
            p = batch_skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == ']' && batch_skip_ws(p + 1, end) == end)
            done = 1;
        break;
    }
    batch_store_end(&w);
    if (done && !run->failed) {
        *total = index;
        return 1;
    }
    spool_rollback(run->table, mark);
    batch_drop_errors(run);
    run->failed = false;
    run->reply->message[0] = '\0';
    return 0;
}

/* The decoded records (the jansson path) validated and stored in order,
 * refusals deferred by decoding listed at their place. -1 when out of
 * memory (run->failed). */
static int batch_store_decoded(struct batch_run *run, const struct schema *schema,
                               uint64_t total, int64_t now_ms, int64_t now_us)
{
    struct batch_decoder *dec = run->dec;
    if (dec->deferred_count > 1)
        qsort(dec->deferred, dec->deferred_count, sizeof *dec->deferred, batch_deferred_cmp);
    size_t next_deferred = 0;
    struct batch_writer w;
    if (batch_store_begin(run, schema, &w, now_ms, now_us) < 0)
        return -1;
    for (size_t i = 0; i < total && !run->failed; i++) {
        json_t *record = dec->records[i];
        if (record == NULL) {
            const struct batch_deferred *e = &dec->deferred[next_deferred++];
            batch_record_error(run, e->index, e->reason, e->record, e->raw, e->raw_len,
                               e->base64_only);
            continue;
        }
        batch_store(run, schema, w.values, &w.meta, i, record);
    }
    batch_store_end(&w);
    return 0;
}

bool batch_process(struct ingest_ctx *ctx, const struct protocol_request *req, const char *body,
                   size_t len, struct spool_table *table, const struct schema *schema,
                   struct protocol_reply *reply)
{
    struct batch_run run = {
        .ctx = ctx, .req = req, .table = table, .reply = reply, .dec = ctx->decoder};
    const struct config *cfg = ctx->cfg;
    int64_t now_ms = timeutil_now_ms();
    int64_t now_us = timeutil_now_us();
    timeutil_format_utc_ms(now_ms, run.rejected_at);
    struct spool_mark mark;
    spool_mark(table, &mark);
    bool stored = false;
    char err[ERROR_MAX];

    if (len > (size_t)cfg->batch_max_bytes) {
        batch_set_status(reply, PROTOCOL_STATUS_REFUSED,
                         "batch body of %zu bytes exceeds batch_max_bytes (%" PRId64 "); split it",
                         len, cfg->batch_max_bytes);
        goto done;
    }
    uint64_t total = 0;
    if (schema->mode != SCHEMA_MODE_AUTO_INFERENCE && req->format != PROTOCOL_FORMAT_JSON) {
        int src = req->format == PROTOCOL_FORMAT_NDJSON
                      ? batch_stream_ndjson(&run, body, len, schema, now_ms, now_us, &total)
                      : batch_stream_msgpack(&run, body, len, schema, now_ms, now_us, &total);
        if (src < 0 || run.failed)
            goto done;
        goto stored;
    }
    if (schema->mode != SCHEMA_MODE_AUTO_INFERENCE && req->format == PROTOCOL_FORMAT_JSON &&
        batch_stream_json(&run, body, len, schema, now_ms, now_us, &mark, &total) == 1)
        goto stored;
    int rc = req->format == PROTOCOL_FORMAT_NDJSON ? batch_decode_ndjson(&run, body, len)
             : req->format == PROTOCOL_FORMAT_JSON ? batch_decode_json(&run, body, len)
                                                   : batch_decode_msgpack(&run, body, len);
    if (rc < 0 || run.failed)
        goto done;
    total = run.dec->count;

    /* AUTO_INFERENCE: one new schema version for the whole batch, stored
     * before any record that needs it is written, and never for a strict
     * batch that is going to be refused anyway. */
    if (schema->mode == SCHEMA_MODE_AUTO_INFERENCE && run.dec->deferred_count < total) {
        struct schema *work = batch_evolve_compute(&run, schema);
        bool refusing = req->strict && run.dec->deferred_count > 0;
        if (work != NULL && !run.failed && !refusing && run.dec->deferred_count < total &&
            batch_evolve_store(&run, work, &schema, err) < 0) {
            run.failed = true;
            snprintf(reply->message, sizeof reply->message, "schema evolution failed: %s", err);
        } else if (work != NULL && (run.failed || refusing)) {
            schema_destroy(&work);
        }
        if (run.failed)
            goto done;
    }

    /* Validate every record, also in a strict batch that already has a bad
     * one: its reply lists every bad record. */
    if (batch_store_decoded(&run, schema, total, now_ms, now_us) < 0)
        goto done;
stored:
    if (run.failed)
        goto done;
    if (req->strict && run.refused > 0)
        goto strict_refused;

    reply->accepted = total - run.refused;
    reply->refused = run.refused;
    if (run.refused == 0)
        batch_set_status(reply, PROTOCOL_STATUS_OK, "%s", "");
    else
        batch_set_status(reply, PROTOCOL_STATUS_PARTIAL,
                         "%" PRIu64 " of %" PRIu64 " records refused (kept in rejected/%s/%s)",
                         run.refused, total, req->domain, req->endpoint);
    stored = table->pending.len > mark.pending_len || table->rejected.len > mark.rejected_len;
    if (stored)
        spool_touch(ctx->spools, table);
    goto done;

strict_refused:
    reply->accepted = 0;
    reply->refused = total;
    batch_set_status(reply, PROTOCOL_STATUS_REFUSED,
                     "strict batch refused: %" PRIu64 " of %" PRIu64 " records invalid; nothing "
                     "stored",
                     run.refused, total);

done:
    if (run.failed) {
        reply->status = PROTOCOL_STATUS_ERROR;
        reply->accepted = 0;
        reply->refused = 0;
        log_error("batch_failed domain=%s endpoint=%s id=\"%s\" reason=\"%s\"", req->domain,
                  req->endpoint, req->id, reply->message);
    }
    if (!stored)
        spool_rollback(table, &mark);
    schema_destroy(&run.delete_schema);
    batch_decoder_reset(run.dec);
    return stored;
}

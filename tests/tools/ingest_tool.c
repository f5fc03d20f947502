/* ingest_tool.c - test helper for tests/integration/ingest.sh: talks to
 * lakehouse-ingest and the catalog directly, without the broker or the CLI.
 * Built as <build>/bin/lakehouse-ingest-tool (linked like a process).
 *
 *   lakehouse-ingest-tool endpoint-create DATA_DIR FILE.json
 *       store the schema as a new endpoint version; prints the version
 *   lakehouse-ingest-tool send DATA_DIR DOMAIN/ENDPOINT FORMAT FILE|- [options]
 *       send FILE as one batch body; prints each reply as one JSON line
 *       --id ID        batch id            --strict / --no-validate
 *       --repeat N     send the batch N times back-to-back before reading
 *                      any reply (same id, or ID-1..ID-N with --distinct)
 *       --timeout-ms N wait for the replies (default 10000)
 *   lakehouse-ingest-tool json2msgpack FILE
 *       JSON -> msgpack on stdout; a string "u64:N" becomes the unsigned
 *       integer N (to test values above INT64_MAX)
 * Exit status: 0 when every reply arrived, 1 otherwise, 2 on usage errors. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "catalog.h"
#include "config.h"
#include "fsutil.h"
#include "protocol.h"
#include "schema.h"

static int read_input(const char *path, char **out, size_t *len)
{
    char err[ERROR_MAX];
    if (strcmp(path, "-") != 0) {
        if (fsutil_read_file(path, (size_t)1 << 30, out, len, err) < 0) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
        return 0;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap)
            buf = realloc(buf, cap *= 2);
        size_t r = fread(buf + n, 1, cap - n, stdin);
        if (r == 0)
            break;
        n += r;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int cmd_endpoint_create(const char *data_dir, const char *file)
{
    char err[ERROR_MAX];
    json_error_t je;
    json_t *def = json_load_file(file, 0, &je);
    if (def == NULL) {
        fprintf(stderr, "%s: %s\n", file, je.text);
        return 1;
    }
    struct schema *schema = schema_from_json(def, err);
    json_decref(def);
    struct catalog *cat = NULL;
    int version = 0;
    if (schema == NULL || catalog_open(data_dir, false, &cat, err) < 0 ||
        catalog_put_endpoint(cat, schema, &version, err) < 0) {
        fprintf(stderr, "endpoint-create: %s\n", err);
        schema_destroy(&schema);
        catalog_close(&cat);
        return 1;
    }
    printf("%d\n", version);
    schema_destroy(&schema);
    catalog_close(&cat);
    return 0;
}

static void print_reply(const struct protocol_reply *r)
{
    json_t *errors = json_array();
    for (size_t i = 0; i < r->error_count; i++)
        json_array_append_new(errors, json_pack("{s:I,s:s}", "index", (json_int_t)r->errors[i].index,
                                                "reason", r->errors[i].reason));
    json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:b,s:s,s:o}", "id", r->id, "status",
                          protocol_status_name(r->status), "accepted", (json_int_t)r->accepted,
                          "refused", (json_int_t)r->refused, "duplicate", r->duplicate,
                          "message", r->message, "errors", errors);
    char *s = json_dumps(o, JSON_COMPACT);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(o);
}

static int cmd_send(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "send DATA_DIR DOMAIN/ENDPOINT FORMAT FILE [options]\n");
        return 2;
    }
    const char *data_dir = argv[0], *target = argv[1], *format = argv[2], *file = argv[3];
    struct protocol_request req = {.validate = true};
    const char *slash = strchr(target, '/');
    if (slash == NULL || protocol_format_from_name(format, &req.format) < 0) {
        fprintf(stderr, "bad DOMAIN/ENDPOINT or FORMAT\n");
        return 2;
    }
    snprintf(req.domain, sizeof req.domain, "%.*s", (int)(slash - target), target);
    snprintf(req.endpoint, sizeof req.endpoint, "%s", slash + 1);
    long repeat = 1, timeout_ms = 10000;
    int distinct = 0;
    char id[PROTOCOL_ID_MAX] = "";
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--id") == 0 && i + 1 < argc)
            snprintf(id, sizeof id, "%s", argv[++i]);
        else if (strcmp(argv[i], "--strict") == 0)
            req.strict = true;
        else if (strcmp(argv[i], "--no-validate") == 0)
            req.validate = false;
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atol(argv[++i]);
        else if (strcmp(argv[i], "--distinct") == 0)
            distinct = 1;
        else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
            timeout_ms = atol(argv[++i]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    static struct config cfg;
    char err[ERROR_MAX];
    if (config_load(&cfg, NULL, data_dir, err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    char *body = NULL;
    size_t body_len = 0;
    if (read_input(file, &body, &body_len) < 0)
        return 2;

    void *zctx = zmq_ctx_new();
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, cfg.ingest_endpoint) < 0) {
        fprintf(stderr, "connect %s: %s\n", cfg.ingest_endpoint, zmq_strerror(errno));
        return 1;
    }
    for (long n = 0; n < repeat; n++) {
        if (distinct)
            snprintf(req.id, sizeof req.id, "%s-%ld", id, n + 1);
        else
            snprintf(req.id, sizeof req.id, "%s", id);
        char *hdr = NULL;
        size_t hdr_len = 0;
        if (protocol_request_encode(&req, &hdr, &hdr_len, err) < 0) {
            fprintf(stderr, "encode: %s\n", err);
            return 2;
        }
        zmq_send(s, "", 0, ZMQ_SNDMORE);
        zmq_send(s, hdr, hdr_len, ZMQ_SNDMORE);
        zmq_send(s, body, body_len, 0);
        free(hdr);
    }
    int rc = 0;
    for (long n = 0; n < repeat; n++) {
        zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, timeout_ms) <= 0) {
            fprintf(stderr, "no reply within %ld ms\n", timeout_ms);
            rc = 1;
            break;
        }
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, s, 0); /* empty delimiter */
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        zmq_msg_recv(&m, s, 0);
        struct protocol_reply reply;
        if (protocol_reply_decode(zmq_msg_data(&m), zmq_msg_size(&m), &reply, err) < 0) {
            fprintf(stderr, "bad reply: %s\n", err);
            rc = 1;
        } else {
            print_reply(&reply);
            protocol_reply_clear(&reply);
        }
        zmq_msg_close(&m);
    }
    zmq_close(s);
    zmq_ctx_term(zctx);
    free(body);
    return rc;
}

static void pack_json(msgpack_packer *pk, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        msgpack_pack_map(pk, json_object_size(v));
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            msgpack_pack_str_with_body(pk, k, strlen(k));
            pack_json(pk, x);
        }
        break;
    }
    case JSON_ARRAY: {
        msgpack_pack_array(pk, json_array_size(v));
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) pack_json(pk, x);
        break;
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        if (strncmp(s, "u64:", 4) == 0)
            msgpack_pack_uint64(pk, strtoull(s + 4, NULL, 10));
        else
            msgpack_pack_str_with_body(pk, s, json_string_length(v));
        break;
    }
    case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(v)); break;
    case JSON_REAL: msgpack_pack_double(pk, json_real_value(v)); break;
    case JSON_TRUE: msgpack_pack_true(pk); break;
    case JSON_FALSE: msgpack_pack_false(pk); break;
    case JSON_NULL: msgpack_pack_nil(pk); break;
    }
}

static int cmd_json2msgpack(const char *file)
{
    json_error_t je;
    json_t *v = json_load_file(file, JSON_DECODE_ANY, &je);
    if (v == NULL) {
        fprintf(stderr, "%s: %s\n", file, je.text);
        return 1;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_json(&pk, v);
    fwrite(sb.data, 1, sb.size, stdout);
    msgpack_sbuffer_destroy(&sb);
    json_decref(v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "endpoint-create") == 0)
        return cmd_endpoint_create(argv[2], argv[3]);
    if (argc >= 2 && strcmp(argv[1], "send") == 0)
        return cmd_send(argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[1], "json2msgpack") == 0)
        return cmd_json2msgpack(argv[2]);
    fprintf(stderr, "usage: lakehouse-ingest-tool endpoint-create DATA_DIR FILE.json | send ... | "
                    "json2msgpack FILE\n");
    return 2;
}

/* protocol.h - the producer wire protocol (version 3), spoken between
 * producers (e.g. `lakehouse send`) and ingest's ZeroMQ ROUTER socket.
 *
 * Request (REQ-compatible envelope; a DEALER client sends the empty frame
 * itself, which lets it keep many batches in flight):
 *   frame 0: empty delimiter
 *   frame 1: header, a msgpack map:
 *       v        uint  PROTOCOL_VERSION (required)
 *       domain   str   (required)
 *       endpoint str   (required)
 *       format   str   "ndjson" | "json" (a JSON array) | "msgpack" (an array of maps) (required)
 *       id       str   batch id, 1..128 printable ASCII (optional). A batch re-sent
 *                      with the same id (for the same domain/endpoint) after a
 *                      lost reply is acknowledged again but stored once.
 *       strict   bool  all-or-nothing (optional, default false)
 *       validate bool  check records against the schema (optional, default true)
 *   frame 2: body, the records in the given format.
 * Reply:
 *   frame 0: empty delimiter
 *   frame 1: msgpack map:
 *       v         uint  PROTOCOL_VERSION
 *       id        str   the request's id ("" if none)
 *       status    str   "ok" (all accepted) | "partial" (some refused, written
 *                       to rejected/) | "refused" (nothing stored: strict batch
 *                       with bad records, unknown endpoint, malformed request)
 *                       | "busy" (overloaded: retry later; nothing stored)
 *                       | "error" (server-side failure, e.g. disk full; nothing acknowledged)
 *       accepted  uint  records durably stored
 *       refused   uint  records refused
 *       duplicate bool  true if this id was already stored
 *       kind      str   what kind of failure a refused or error reply is, when
 *                       the server tells ("not_found": unknown endpoint;
 *                       "no_space": the disk is full; error.h), else ""
 *       message   str   human-readable summary ("" when ok)
 *       errors    array of {index uint, reason str}: the first PROTOCOL_ERRORS_MAX
 *                       refused records (index is 0-based in the batch)
 *       syntax    map {line uint, column uint, position uint, text str}, only when
 *                       a "json" body is not valid JSON: where the parser stopped
 *                       (1-based line, column, 0-based byte) and what it said
 * The reply is sent only after the accepted records are durable (fdatasync). */
#ifndef LAKEHOUSE_PROTOCOL_H
#define LAKEHOUSE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "names.h"

#define PROTOCOL_VERSION 3
#define PROTOCOL_ID_MAX 129      /* 128 chars + NUL */
#define PROTOCOL_ERRORS_MAX 100  /* refused records listed in a reply */
#define PROTOCOL_REASON_MAX 256

enum protocol_format { PROTOCOL_FORMAT_NDJSON, PROTOCOL_FORMAT_JSON, PROTOCOL_FORMAT_MSGPACK };

enum protocol_status {
    PROTOCOL_STATUS_OK,
    PROTOCOL_STATUS_PARTIAL,
    PROTOCOL_STATUS_REFUSED,
    PROTOCOL_STATUS_BUSY,
    PROTOCOL_STATUS_ERROR
};

struct protocol_request {
    char domain[NAMES_MAX];
    char endpoint[NAMES_MAX];
    char id[PROTOCOL_ID_MAX]; /* "" = none */
    enum protocol_format format;
    bool strict;
    bool validate;
};

struct protocol_record_error {
    uint64_t index;
    char reason[PROTOCOL_REASON_MAX];
};

/* Where a body that is not valid JSON broke, as the parser tells it. */
struct protocol_syntax {
    bool set; /* only on such a refusal */
    uint64_t line;
    uint64_t column;
    uint64_t position;
    char text[PROTOCOL_REASON_MAX];
};

struct protocol_reply {
    char id[PROTOCOL_ID_MAX];
    enum protocol_status status;
    uint64_t accepted;
    uint64_t refused;
    bool duplicate;
    enum error_kind kind; /* ERROR_NONE unless the server classified a failure */
    char message[ERROR_MAX];
    size_t error_count;                    /* <= PROTOCOL_ERRORS_MAX */
    struct protocol_record_error *errors;  /* owned by the reply; protocol_reply_clear frees */
    struct protocol_syntax syntax;
};

const char *protocol_format_name(enum protocol_format f);
int protocol_format_from_name(const char *name, enum protocol_format *out);
const char *protocol_status_name(enum protocol_status s);

/* Header encode/decode. Encode: malloc'd buffer, caller frees. Decode is
 * strict (missing required key, unknown key, wrong type, bad version, invalid
 * domain/endpoint name or id, trailing bytes -> -1 with err). */
int protocol_request_encode(const struct protocol_request *req, char **out, size_t *len,
                            char err[ERROR_MAX]);
int protocol_request_decode(const void *buf, size_t len, struct protocol_request *out,
                            char err[ERROR_MAX]);

/* Append one record error (ignored once PROTOCOL_ERRORS_MAX are listed;
 * refused is counted by the caller). Returns 0 or -1 on allocation failure. */
int protocol_reply_add_error(struct protocol_reply *reply, uint64_t index, const char *reason);
int protocol_reply_encode(const struct protocol_reply *reply, char **out, size_t *len,
                          char err[ERROR_MAX]);
int protocol_reply_decode(const void *buf, size_t len, struct protocol_reply *out,
                          char err[ERROR_MAX]);
/* Free errors and zero the struct. */
void protocol_reply_clear(struct protocol_reply *reply);

#endif

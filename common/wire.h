/* wire.h - msgpack mechanics shared by the message modules (event.c,
 * protocol.c, control_protocol.c) and ingest's msgpack body reader. Owns no message: those are defined in event.h,
 * protocol.h and control_protocol.h. It owns the one strict-decoding routine so that
 * every message is read the same way (STYLE: reading fails if bytes are left
 * over): a buffer must hold exactly one msgpack map whose keys are strings,
 * each key known, none repeated, every required key present and every value
 * of the declared type. Strings never contain a NUL byte and must fit their
 * buffer (no silent truncation). */
#ifndef LAKEHOUSE_WIRE_H
#define LAKEHOUSE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "error.h"

enum wire_type {
    WIRE_UINT,   /* out: uint64_t*; msgpack positive integer */
    WIRE_INT,    /* out: int64_t*; msgpack integer within int64 range */
    WIRE_BOOL,   /* out: bool* */
    WIRE_STR,    /* out: char[out_size], NUL-terminated; longer strings are an error */
    WIRE_CUSTOM  /* decode(object, out, err) is called with the raw value */
};

struct wire_field {
    const char *key;
    enum wire_type type;
    bool required;
    void *out;
    size_t out_size;                                     /* WIRE_STR only */
    int (*decode)(const msgpack_object *value, void *out, char err[ERROR_MAX]); /* WIRE_CUSTOM */
    bool seen;                                           /* set by the decoder */
};

/* Decode buf[0..len) as exactly one map with the given fields. `what` names
 * the message in errors ("event", "request header", ...). Returns 0, or -1
 * with err such as "event: missing key 'topic'". */
int wire_decode_map(const void *buf, size_t len, const char *what, struct wire_field *fields,
                    size_t n, char err[ERROR_MAX]);
/* The same for an already unpacked object (nested maps). */
int wire_decode_object(const msgpack_object *obj, const char *what, struct wire_field *fields,
                       size_t n, char err[ERROR_MAX]);

/* Copy a msgpack string into out (out_size bytes incl. NUL); -1 with err if it
 * is not a string, contains NUL or does not fit. */
int wire_copy_str(const msgpack_object *value, const char *what, const char *key, char *out,
                  size_t out_size, char err[ERROR_MAX]);

/* Packing: the packer writes into a msgpack_sbuffer. Each returns 0 or
 * non-zero on allocation failure, so results can be OR-ed together. */
int wire_pack_str(msgpack_packer *pk, const char *s);
int wire_pack_key_str(msgpack_packer *pk, const char *key, const char *value);
int wire_pack_key_uint(msgpack_packer *pk, const char *key, uint64_t value);
int wire_pack_key_int(msgpack_packer *pk, const char *key, int64_t value);
int wire_pack_key_bool(msgpack_packer *pk, const char *key, bool value);

/* The unsigned integer in the bytes (at most 8) at p, in msgpack's
 * big-endian order: for the readers that walk msgpack bytes themselves
 * (inline: ingest reads every number of a msgpack body with it). */
static inline uint64_t wire_be(const unsigned char *p, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* Hand the sbuffer's bytes to the caller (*out malloc'd, caller frees) when
 * pack_failed is 0; otherwise free them and fail with "<what>: out of memory". */
int wire_finish(msgpack_sbuffer *sbuf, int pack_failed, const char *what, char **out,
                size_t *len, char err[ERROR_MAX]);

#endif

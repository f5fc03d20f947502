/* wire.c - strict msgpack map decoding and small packing helpers shared by
 * the message modules (see wire.h). */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

/* Keys are short identifiers; anything longer is unknown anyway, and the
 * bound keeps error messages readable. */
#define WIRE_KEY_SHOWN 32

static void wire_key_text(const msgpack_object_str *key, char out[WIRE_KEY_SHOWN + 4])
{
    size_t n = key->size < WIRE_KEY_SHOWN ? key->size : WIRE_KEY_SHOWN;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key->ptr[i];
        out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (key->size > WIRE_KEY_SHOWN) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
}

int wire_copy_str(const msgpack_object *value, const char *what, const char *key, char *out,
                  size_t out_size, char err[ERROR_MAX])
{
    if (value->type != MSGPACK_OBJECT_STR)
        return error_set(err, "%s: key '%s' must be a string", what, key);
    const msgpack_object_str *s = &value->via.str;
    if (s->size > 0 && memchr(s->ptr, '\0', s->size) != NULL)
        return error_set(err, "%s: key '%s' contains a NUL byte", what, key);
    if ((size_t)s->size >= out_size)
        return error_set(err, "%s: key '%s' is too long (%u bytes, at most %zu)", what, key,
                         s->size, out_size - 1);
    if (s->size > 0)
        memcpy(out, s->ptr, s->size);
    out[s->size] = '\0';
    return 0;
}

static int wire_decode_value(const msgpack_object *value, const char *what,
                             struct wire_field *f, char err[ERROR_MAX])
{
    switch (f->type) {
    case WIRE_UINT:
        if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return error_set(err, "%s: key '%s' must be an unsigned integer", what, f->key);
        *(uint64_t *)f->out = value->via.u64;
        return 0;
    case WIRE_INT:
        if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            if (value->via.u64 > (uint64_t)INT64_MAX)
                return error_set(err, "%s: key '%s' is out of range", what, f->key);
            *(int64_t *)f->out = (int64_t)value->via.u64;
            return 0;
        }
        if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            *(int64_t *)f->out = value->via.i64;
            return 0;
        }
        return error_set(err, "%s: key '%s' must be an integer", what, f->key);
    case WIRE_BOOL:
        if (value->type != MSGPACK_OBJECT_BOOLEAN)
            return error_set(err, "%s: key '%s' must be a boolean", what, f->key);
        *(bool *)f->out = value->via.boolean;
        return 0;
    case WIRE_STR:
        return wire_copy_str(value, what, f->key, f->out, f->out_size, err);
    case WIRE_CUSTOM:
        return f->decode(value, f->out, err);
    }
    return error_set(err, "%s: key '%s' has an unsupported field type", what, f->key);
}

int wire_decode_object(const msgpack_object *obj, const char *what, struct wire_field *fields,
                       size_t n, char err[ERROR_MAX])
{
    for (size_t i = 0; i < n; i++)
        fields[i].seen = false;
    if (obj->type != MSGPACK_OBJECT_MAP)
        return error_set(err, "%s: not a msgpack map", what);
    const msgpack_object_map *map = &obj->via.map;
    for (uint32_t k = 0; k < map->size; k++) {
        const msgpack_object *key = &map->ptr[k].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return error_set(err, "%s: map key #%u is not a string", what, k);
        char shown[WIRE_KEY_SHOWN + 4];
        wire_key_text(&key->via.str, shown);
        struct wire_field *f = NULL;
        for (size_t i = 0; i < n; i++) {
            size_t klen = strlen(fields[i].key);
            if (klen == key->via.str.size && memcmp(fields[i].key, key->via.str.ptr, klen) == 0) {
                f = &fields[i];
                break;
            }
        }
        if (f == NULL)
            return error_set(err, "%s: unknown key '%s'", what, shown);
        if (f->seen)
            return error_set(err, "%s: duplicate key '%s'", what, shown);
        f->seen = true;
        if (wire_decode_value(&map->ptr[k].val, what, f, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (fields[i].required && !fields[i].seen)
            return error_set(err, "%s: missing key '%s'", what, fields[i].key);
    }
    return 0;
}

/* Walk the bytes of one msgpack value without allocating: 0 when every
 * container declares no more elements than bytes remain and every payload
 * fits, else -1. msgpack-c's unpacker allocates its object tree from the
 * declared sizes before it reads them, so without this check a 5-byte
 * "array of 4 billion" from a peer asks for ~64 GB (found by fuzz_protocol). */
static int wire_check_sizes(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    uint64_t pending = 1; /* values still to read */
    while (pending > 0) {
        if (p >= end)
            return -1;
        unsigned char b = *p++;
        pending--;
        uint64_t items = 0, skip = 0;
        size_t head = 0; /* bytes of the length field */
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            continue;
        if (b >= 0x80 && b <= 0x8f)
            items = 2u * (b & 0x0fu);
        else if (b >= 0x90 && b <= 0x9f)
            items = b & 0x0fu;
        else if (b >= 0xa0 && b <= 0xbf)
            skip = b & 0x1fu;
        else if (b == 0xc4 || b == 0xd9)
            head = 1;
        else if (b == 0xc5 || b == 0xda)
            head = 2;
        else if (b == 0xc6 || b == 0xdb)
            head = 4;
        else if (b >= 0xc7 && b <= 0xc9)
            head = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4, skip = 1; /* + type byte */
        else if (b == 0xca || b == 0xcb)
            skip = b == 0xca ? 4 : 8;
        else if (b >= 0xcc && b <= 0xd3)
            skip = 1u << ((b - 0xcc) & 3);
        else if (b >= 0xd4 && b <= 0xd8)
            skip = 1 + (1u << (b - 0xd4));
        else if (b == 0xdc || b == 0xde)
            head = 2;
        else if (b == 0xdd || b == 0xdf)
            head = 4;
        else
            return -1; /* 0xc1: never used */
        if (head > 0) {
            if ((size_t)(end - p) < head)
                return -1;
            uint64_t n = wire_be(p, head);
            p += head;
            if (b >= 0xdc)
                items = b >= 0xde ? 2 * n : n;
            else
                skip += n;
        }
        if (skip > (uint64_t)(end - p) || items > (uint64_t)(end - p))
            return -1;
        p += skip;
        pending += items;
    }
    return 0;
}

int wire_decode_map(const void *buf, size_t len, const char *what, struct wire_field *fields,
                    size_t n, char err[ERROR_MAX])
{
    if (buf == NULL || len == 0)
        return error_set(err, "%s: empty message", what);
    if (wire_check_sizes(buf, len) < 0)
        return error_set(err, "%s: malformed or truncated msgpack (%zu bytes)", what, len);
    msgpack_unpacked result;
    msgpack_unpacked_init(&result);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&result, buf, len, &off);
    int ret = -1;
    if (rc == MSGPACK_UNPACK_CONTINUE)
        error_set(err, "%s: truncated msgpack (%zu bytes)", what, len);
    else if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
        error_set(err, "%s: out of memory while decoding", what);
    else if (rc != MSGPACK_UNPACK_SUCCESS && rc != MSGPACK_UNPACK_EXTRA_BYTES)
        error_set(err, "%s: malformed msgpack", what);
    else if (off != len)
        error_set(err, "%s: %zu trailing bytes after the map", what, len - off);
    else
        ret = wire_decode_object(&result.data, what, fields, n, err);
    msgpack_unpacked_destroy(&result);
    return ret;
}

int wire_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    if (msgpack_pack_str(pk, n) != 0)
        return -1;
    return msgpack_pack_str_body(pk, s, n) != 0;
}

/* Key first, then value: each step is sequenced (operands of | are not). */
int wire_pack_key_str(msgpack_packer *pk, const char *key, const char *value)
{
    if (wire_pack_str(pk, key) != 0)
        return -1;
    return wire_pack_str(pk, value);
}

int wire_pack_key_uint(msgpack_packer *pk, const char *key, uint64_t value)
{
    if (wire_pack_str(pk, key) != 0)
        return -1;
    return msgpack_pack_uint64(pk, value) != 0;
}

int wire_pack_key_int(msgpack_packer *pk, const char *key, int64_t value)
{
    if (wire_pack_str(pk, key) != 0)
        return -1;
    return msgpack_pack_int64(pk, value) != 0;
}

int wire_pack_key_bool(msgpack_packer *pk, const char *key, bool value)
{
    if (wire_pack_str(pk, key) != 0)
        return -1;
    return (value ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) != 0;
}

int wire_finish(msgpack_sbuffer *sbuf, int pack_failed, const char *what, char **out,
                size_t *len, char err[ERROR_MAX])
{
    if (pack_failed || sbuf->data == NULL) {
        msgpack_sbuffer_destroy(sbuf);
        msgpack_sbuffer_init(sbuf);
        return error_set(err, "%s: out of memory while encoding", what);
    }
    *len = sbuf->size;
    *out = msgpack_sbuffer_release(sbuf);
    return 0;
}

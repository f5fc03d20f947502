/* mpjson.c - msgpack body -> jansson values (see mpjson.h). Two passes per
 * element: mpjson_skip checks the structure and finds the element's end
 * (no allocation), then mpjson_convert builds the JSON value from bytes that
 * are known to be well-formed, so a conversion error never loses the
 * position of the next element. */
#include "mpjson.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "utf8.h"
#include "wire.h"

enum mp_kind { MP_NIL, MP_BOOL, MP_UINT, MP_INT, MP_FLOAT, MP_STR, MP_BIN, MP_ARRAY, MP_MAP, MP_EXT };

struct mp_item {
    enum mp_kind kind;
    bool b;
    uint64_t u;
    int64_t i;
    double f;
    const unsigned char *data; /* str/bin/ext payload */
    uint32_t n;                /* payload bytes, or array/map element count */
    int8_t ext_type;
};

/* The IEEE 754 float (bytes 4) or double (bytes 8) at p, big-endian. */
static double mp_real(const unsigned char *p, int bytes)
{
    uint64_t bits = wire_be(p, (size_t)bytes);
    if (bytes == 4) {
        uint32_t bits32 = (uint32_t)bits;
        float fl;
        memcpy(&fl, &bits32, sizeof fl);
        return fl;
    }
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Read one item header (and the payload of str/bin/ext) at *p. -1 when the
 * bytes run out or the type byte is the reserved 0xc1. */
/* A float, uint or int whose type byte t (0xca..0xd3) was read; *pp at its
 * payload, avail bytes there. */
static int mp_read_number(unsigned char t, const unsigned char **pp, size_t avail,
                          struct mp_item *it)
{
    const unsigned char *p = *pp;
#define NEED(k)              \
    do {                     \
        if (avail < (k))     \
            return -1;       \
    } while (0)
    switch (t) {
    case 0xca: case 0xcb: { /* float 32, float 64 */
        int k = t == 0xca ? 4 : 8;
        NEED((size_t)k);
        it->kind = MP_FLOAT;
        it->f = mp_real(p, k);
        p += k;
        break;
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf: {
        int k = 1 << (t - 0xcc);
        NEED((size_t)k);
        it->kind = MP_UINT;
        it->u = wire_be(p, (size_t)k);
        p += k;
        break;
    }
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        int k = 1 << (t - 0xd0);
        NEED((size_t)k);
        uint64_t v = wire_be(p, (size_t)k);
        if (k < 8 && (v >> (8 * k - 1)) & 1) /* sign-extend */
            v |= ~(uint64_t)0 << (8 * k);
        it->kind = MP_INT;
        it->i = (int64_t)v;
        p += k;
        break;
    }
    default:
        return -1;
    }
#undef NEED
    *pp = p;
    return 0;
}

static int mp_read(const unsigned char **pp, const unsigned char *end, struct mp_item *it)
{
    const unsigned char *p = *pp;
    if (p >= end)
        return -1;
    unsigned char t = *p++;
    size_t avail = (size_t)(end - p);
    int lenbytes = 0; /* for str/bin/ext/array/map with explicit length */
    memset(it, 0, sizeof *it);
#define NEED(k)              \
    do {                     \
        if (avail < (k))     \
            return -1;       \
    } while (0)
    if (t <= 0x7f) {
        it->kind = MP_UINT;
        it->u = t;
    } else if (t >= 0xe0) {
        it->kind = MP_INT;
        it->i = (int8_t)t;
    } else if (t <= 0x8f) {
        it->kind = MP_MAP;
        it->n = t & 0x0f;
    } else if (t <= 0x9f) {
        it->kind = MP_ARRAY;
        it->n = t & 0x0f;
    } else if (t <= 0xbf) {
        it->kind = MP_STR;
        it->n = t & 0x1f;
    } else {
        switch (t) {
        case 0xc0: it->kind = MP_NIL; break;
        case 0xc2: it->kind = MP_BOOL; it->b = false; break;
        case 0xc3: it->kind = MP_BOOL; it->b = true; break;
        case 0xc4: case 0xc5: case 0xc6:
            it->kind = MP_BIN;
            lenbytes = 1 << (t - 0xc4);
            break;
        case 0xc7: case 0xc8: case 0xc9:
            it->kind = MP_EXT;
            lenbytes = 1 << (t - 0xc7);
            break;
        case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf:
        case 0xd0: case 0xd1: case 0xd2: case 0xd3:
            if (mp_read_number(t, &p, avail, it) < 0)
                return -1;
            break;
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
            NEED(1);
            it->kind = MP_EXT;
            it->ext_type = (int8_t)*p++;
            it->n = 1u << (t - 0xd4);
            avail = (size_t)(end - p);
            NEED(it->n);
            it->data = p;
            p += it->n;
            break;
        case 0xd9: case 0xda: case 0xdb:
            it->kind = MP_STR;
            lenbytes = 1 << (t - 0xd9);
            break;
        case 0xdc: case 0xdd:
            it->kind = MP_ARRAY;
            lenbytes = 2 << (t - 0xdc);
            break;
        case 0xde: case 0xdf:
            it->kind = MP_MAP;
            lenbytes = 2 << (t - 0xde);
            break;
        default: /* 0xc1: never used */
            return -1;
        }
    }
    if (lenbytes > 0) {
        NEED((size_t)lenbytes);
        it->n = (uint32_t)wire_be(p, (size_t)lenbytes);
        p += lenbytes;
        if (it->kind == MP_EXT) {
            avail = (size_t)(end - p);
            NEED(1);
            it->ext_type = (int8_t)*p++;
        }
    }
    if (it->kind == MP_STR || it->kind == MP_BIN || (it->kind == MP_EXT && it->data == NULL)) {
        avail = (size_t)(end - p);
        NEED(it->n);
        it->data = p;
        p += it->n;
    }
#undef NEED
    *pp = p;
    return 0;
}

/* Walk one value; no allocation: a container's count only drives a loop
 * that stops at the end of the bytes. */
static int mp_skip(const unsigned char **p, const unsigned char *end, int depth)
{
    struct mp_item it;
    if (depth > MPJSON_DEPTH_MAX || mp_read(p, end, &it) < 0)
        return -1;
    if (it.kind == MP_ARRAY || it.kind == MP_MAP) {
        uint64_t children = it.kind == MP_MAP ? 2 * (uint64_t)it.n : it.n;
        for (uint64_t i = 0; i < children; i++) {
            if (mp_skip(p, end, depth + 1) < 0)
                return -1;
        }
    }
    return 0;
}

static json_t *mp_timestamp(const struct mp_item *it, const char *path, char err[ERROR_MAX])
{
    int64_t sec;
    uint32_t nsec;
    if (it->n == 4) {
        sec = (int64_t)wire_be(it->data, 4);
        nsec = 0;
    } else if (it->n == 8) {
        uint64_t v = wire_be(it->data, 8);
        nsec = (uint32_t)(v >> 34);
        sec = (int64_t)(v & 0x3ffffffffull);
    } else if (it->n == 12) {
        nsec = (uint32_t)wire_be(it->data, 4);
        sec = (int64_t)wire_be(it->data + 4, 8);
    } else {
        error_set(err, "field '%s': msgpack timestamp of %u bytes is invalid", path, it->n);
        return NULL;
    }
    struct tm tm;
    time_t t = (time_t)sec;
    if (nsec > 999999999u || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 ||
        tm.tm_year + 1900 > 9999) {
        error_set(err, "field '%s': msgpack timestamp out of range", path);
        return NULL;
    }
    char out[64];
    int n = snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (nsec % 1000000u == 0 && nsec != 0)
        n += snprintf(out + n, sizeof out - (size_t)n, ".%03u", nsec / 1000000u);
    else if (nsec % 1000u == 0 && nsec != 0)
        n += snprintf(out + n, sizeof out - (size_t)n, ".%06u", nsec / 1000u);
    else if (nsec != 0)
        n += snprintf(out + n, sizeof out - (size_t)n, ".%09u", nsec);
    snprintf(out + n, sizeof out - (size_t)n, "Z");
    return json_string(out);
}

/* Append ".key" or "[i]" to a field path (truncated if long: it is only
 * used in messages). */
static void mp_path_push(char *path, size_t size, size_t len, const char *fmt, const char *key,
                         size_t key_len, uint64_t index)
{
    if (len >= size - 1)
        return;
    if (key != NULL) {
        /* What snprintf(fmt, ...) writes for fmt ".%.*s" or "%.*s", copied by
         * hand: this runs for every map key (profiled), not only on errors. */
        char *out = path + len;
        size_t room = size - len - 1;
        if (fmt[0] == '.') {
            *out++ = '.';
            room--;
        }
        size_t n = key_len > 64 ? 64 : key_len;
        const char *nul = memchr(key, '\0', n); /* %.*s stops at a NUL */
        if (nul != NULL)
            n = (size_t)(nul - key);
        if (n > room)
            n = room;
        memcpy(out, key, n);
        out[n] = '\0';
    } else
        snprintf(path + len, size - len, "[%llu]", (unsigned long long)index);
}

#define MP_PATH_MAX 160

/* Convert one value whose structure mp_skip has checked. */
static json_t *mp_convert(const unsigned char **p, const unsigned char *end, char *path,
                          char err[ERROR_MAX])
{
    struct mp_item it;
    if (mp_read(p, end, &it) < 0) {
        error_set(err, "malformed msgpack");
        return NULL;
    }
    const char *where = path[0] ? path : "(record)";
    size_t plen = strlen(path);
    switch (it.kind) {
    case MP_NIL: return json_null();
    case MP_BOOL: return json_boolean(it.b);
    case MP_INT: return json_integer(it.i);
    case MP_UINT:
        if (it.u > (uint64_t)INT64_MAX) {
            error_set(err, "field '%s': integer %llu is out of range (max %lld)", where,
                      (unsigned long long)it.u, (long long)INT64_MAX);
            return NULL;
        }
        return json_integer((json_int_t)it.u);
    case MP_FLOAT:
        if (!isfinite(it.f)) {
            error_set(err, "field '%s': %s cannot be represented in JSON", where,
                      isnan(it.f) ? "NaN" : "Infinity");
            return NULL;
        }
        return json_real(it.f);
    case MP_STR: {
        if (memchr(it.data, '\0', it.n) != NULL) {
            error_set(err, "field '%s': string contains a NUL character", where);
            return NULL;
        }
        json_t *s = json_stringn((const char *)it.data, it.n);
        if (s == NULL)
            error_set(err, "field '%s': string is not valid UTF-8", where);
        return s;
    }
    case MP_BIN:
        error_set(err, "field '%s': msgpack bin values are not supported (send a string)", where);
        return NULL;
    case MP_EXT:
        if (it.ext_type == -1)
            return mp_timestamp(&it, where, err);
        error_set(err, "field '%s': msgpack ext type %d is not supported", where, it.ext_type);
        return NULL;
    case MP_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a != NULL && i < it.n; i++) {
            mp_path_push(path, MP_PATH_MAX, plen, NULL, NULL, 0, i);
            json_t *v = mp_convert(p, end, path, err);
            path[plen] = '\0';
            if (v == NULL || json_array_append_new(a, v) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case MP_MAP: {
        json_t *o = json_object();
        for (uint32_t i = 0; o != NULL && i < it.n; i++) {
            struct mp_item key;
            if (mp_read(p, end, &key) < 0 || key.kind != MP_STR) {
                /* The caller resumes at the element's end, known from mp_skip. */
                error_set(err, "field '%s': map key %u is not a string", where, i);
                json_decref(o);
                return NULL;
            }
            if (memchr(key.data, '\0', key.n) != NULL) {
                error_set(err, "field '%s': map key %u contains a NUL character", where, i);
                json_decref(o);
                return NULL;
            }
            if (json_object_getn(o, (const char *)key.data, key.n) != NULL) {
                error_set(err, "field '%s': duplicate key '%.*s'", where,
                          (int)(key.n > 64 ? 64 : key.n), (const char *)key.data);
                json_decref(o);
                return NULL;
            }
            mp_path_push(path, MP_PATH_MAX, plen, plen ? ".%.*s" : "%.*s",
                         (const char *)key.data, key.n, 0);
            json_t *v = mp_convert(p, end, path, err);
            path[plen] = '\0';
            if (v == NULL) {
                json_decref(o);
                return NULL;
            }
            if (json_object_setn_new(o, (const char *)key.data, key.n, v) < 0) {
                error_set(err, "field '%s': map key %u is not valid UTF-8", where, i);
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    }
    return NULL;
}

int mpjson_open(struct mpjson_reader *r, const void *body, size_t len, uint32_t *count,
                char err[ERROR_MAX])
{
    r->start = r->p = body;
    r->end = r->start + len;
    struct mp_item it;
    if (mp_read(&r->p, r->end, &it) < 0 || it.kind != MP_ARRAY)
        return error_set(err, "msgpack body is not an array of records");
    r->remaining = it.n;
    *count = it.n;
    return 0;
}

int mpjson_next(struct mpjson_reader *r, json_t **value, const char **raw, size_t *raw_len,
                char err[ERROR_MAX])
{
    *value = NULL;
    if (r->remaining == 0) {
        if (r->p != r->end)
            return error_set(err, "msgpack body has %zu bytes after its last record",
                             (size_t)(r->end - r->p));
        return 0;
    }
    const unsigned char *start = r->p;
    const unsigned char *q = start;
    if (mp_skip(&q, r->end, 1) < 0)
        return error_set(err, "msgpack body truncated or malformed in the record at byte %zu",
                         (size_t)(start - r->start));
    r->remaining--;
    r->p = q;
    *raw = (const char *)start;
    *raw_len = (size_t)(q - start);
    char path[MP_PATH_MAX] = "";
    const unsigned char *c = start;
    *value = mp_convert(&c, q, path, err);
    return 1;
}

/* One scalar of the fast path; false: not simple. */
static bool mp_field_value(const struct mp_item *it, struct fields *fs, struct schema_value *v)
{
    v->json = NULL;
    v->heap = NULL;
    switch (it->kind) {
    case MP_NIL: v->kind = SCHEMA_VALUE_NULL; return true;
    case MP_BOOL: v->kind = it->b ? SCHEMA_VALUE_TRUE : SCHEMA_VALUE_FALSE; return true;
    case MP_INT:
        v->kind = SCHEMA_VALUE_INTEGER;
        v->i = it->i;
        return true;
    case MP_UINT:
        if (it->u > (uint64_t)INT64_MAX)
            return false;
        v->kind = SCHEMA_VALUE_INTEGER;
        v->i = (int64_t)it->u;
        return true;
    case MP_FLOAT:
        if (!isfinite(it->f))
            return false;
        v->kind = SCHEMA_VALUE_REAL;
        v->d = it->f;
        return true;
    case MP_STR:
        if (memchr(it->data, '\0', it->n) != NULL || !utf8_valid(it->data, it->n))
            return false;
        v->kind = SCHEMA_VALUE_STRING;
        v->s = fields_copy(fs, it->data, it->n);
        v->len = it->n;
        return v->s != NULL;
    default: return false; /* bin, ext, nested: mpjson_next */
    }
}

int mpjson_next_fields(struct mpjson_reader *r, struct fields *fs, const char **raw,
                       size_t *raw_len)
{
    if (r->remaining == 0)
        return 0;
    /* One pass, bounded by the body: the element ends after its last
     * value (only scalars are taken, so no mp_skip is needed to find it).
     * Keys and strings are at most the element's bytes, plus a NUL each. */
    const unsigned char *start = r->p, *end = r->end;
    size_t room = (size_t)(end - start);
    if (room > FIELDS_ARENA_MAX)
        room = FIELDS_ARENA_MAX;
    if (!fields_begin(fs, room + 2 * FIELDS_MAX + 2))
        return -1;
    const unsigned char *p = start;
    struct mp_item it;
    if (mp_read(&p, end, &it) < 0 || it.kind != MP_MAP || it.n > FIELDS_MAX)
        return 0;
    for (uint32_t i = 0; i < it.n; i++) {
        struct mp_item key, value;
        if (mp_read(&p, end, &key) < 0 || key.kind != MP_STR ||
            memchr(key.data, '\0', key.n) != NULL || !utf8_valid(key.data, key.n) ||
            fields_has_key(fs, (const char *)key.data, key.n))
            return 0;
        struct schema_field *f = &fs->f[fs->count];
        if ((f->key = fields_copy(fs, key.data, key.n)) == NULL)
            return 0;
        fs->key_len[fs->count] = key.n;
        if (mp_read(&p, end, &value) < 0 || !mp_field_value(&value, fs, &f->value))
            return 0;
        fs->count++;
    }
    r->remaining--;
    r->p = p;
    *raw = (const char *)start;
    *raw_len = (size_t)(p - start);
    return 1;
}

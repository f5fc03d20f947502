/* jsonfields.c - fast NDJSON record reader (see jsonfields.h). */
#include "jsonfields.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"

/* Longest number text handed to strtod (longer: the jansson path). */
#define JSONFIELDS_NUMBER_MAX 64

struct jf {
    const unsigned char *p;
    const unsigned char *end;
};

static void jf_ws(struct jf *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* After a number or literal: what jansson's lexer accepts next. */
static bool jf_delimiter(const struct jf *j)
{
    if (j->p == j->end)
        return true;
    unsigned char c = *j->p;
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '}';
}

/* A string at j->p (the opening quote), decoded into the arena. */
static bool jf_string(struct jf *j, struct fields *fs, const char **out, size_t *out_len)
{
    j->p++;
    char *dst = fs->arena.s + fs->arena.len;
    size_t n = 0;
    bool high = false;
    for (;;) {
        const unsigned char *s = j->p;
        while (s < j->end && *s != '"' && *s != '\\' && *s >= 0x20) {
            high |= *s >= 0x80;
            s++;
        }
        memcpy(dst + n, j->p, (size_t)(s - j->p));
        n += (size_t)(s - j->p);
        j->p = s;
        if (s == j->end || *s < 0x20)
            return false;
        if (*s == '"')
            break;
        if (j->end - s < 2)
            return false;
        char c;
        switch (s[1]) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        default: return false; /* \u and invalid escapes: the jansson path */
        }
        dst[n++] = c;
        j->p = s + 2;
    }
    j->p++; /* closing quote */
    if (high && !utf8_valid((const unsigned char *)dst, n))
        return false;
    dst[n] = '\0';
    fs->arena.len += n + 1;
    *out = dst;
    *out_len = n;
    return true;
}

static bool jf_digits(struct jf *j)
{
    const unsigned char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static bool jf_number(struct jf *j, struct schema_value *v)
{
    const unsigned char *start = j->p;
    bool negative = false;
    if (*j->p == '-') {
        negative = true;
        j->p++;
    }
    const unsigned char *int_start = j->p;
    if (!jf_digits(j))
        return false;
    if (*int_start == '0' && j->p - int_start > 1)
        return false; /* leading zero */
    bool real = false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jf_digits(j))
            return false;
        real = true;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!jf_digits(j))
            return false;
        real = true;
    }
    if (!jf_delimiter(j))
        return false;
    v->json = NULL;
    if (!real) {
        uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        uint64_t acc = 0;
        for (const unsigned char *d = int_start; d < j->p; d++) {
            unsigned digit = (unsigned)(*d - '0');
            if (acc > (limit - digit) / 10)
                return false; /* jansson refuses it: let it say so */
            acc = acc * 10 + digit;
        }
        v->kind = SCHEMA_VALUE_INTEGER;
        v->i = negative ? (int64_t)(0 - acc) : (int64_t)acc;
        return true;
    }
    /* Clinger's fast path: at most 15 significant digits (exact in a
     * double) scaled by a power of ten up to 1e22 (exact too) is one
     * correctly rounded multiplication or division, so it equals strtod's
     * correctly rounded result. */
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t mantissa = 0;
    int digits = 0, scale = 0, exp10 = 0;
    bool fraction = false, exact = true;
    const unsigned char *c = int_start;
    for (; c < j->p && *c != 'e' && *c != 'E'; c++) {
        if (*c == '.') {
            fraction = true;
            continue;
        }
        if (mantissa == 0 && *c == '0') {
            scale -= fraction; /* leading zeros only move the point */
            continue;
        }
        if (++digits > 15) {
            exact = false;
            break;
        }
        mantissa = mantissa * 10 + (uint64_t)(*c - '0');
        scale -= fraction;
    }
    if (exact && c < j->p) { /* the exponent */
        c++;
        bool neg_exp = *c == '-';
        if (*c == '+' || *c == '-')
            c++;
        for (; c < j->p && exact; c++) {
            exp10 = exp10 * 10 + (*c - '0');
            exact = exp10 <= 400;
        }
        if (neg_exp)
            exp10 = -exp10;
    }
    int e = scale + exp10;
    if (exact && e >= -22 && e <= 22) {
        double d = (double)mantissa;
        d = e < 0 ? d / pow10[-e] : d * pow10[e];
        v->kind = SCHEMA_VALUE_REAL;
        v->d = negative ? -d : d;
        return true;
    }
    size_t len = (size_t)(j->p - start);
    if (len >= JSONFIELDS_NUMBER_MAX)
        return false;
    char text[JSONFIELDS_NUMBER_MAX];
    memcpy(text, start, len);
    text[len] = '\0';
    double d = strtod(text, NULL);
    if (isinf(d))
        return false; /* jansson: "real number overflow" */
    v->kind = SCHEMA_VALUE_REAL;
    v->d = d;
    return true;
}

static bool jf_literal(struct jf *j, const char *word, size_t len)
{
    if ((size_t)(j->end - j->p) < len || memcmp(j->p, word, len) != 0)
        return false;
    j->p += len;
    return jf_delimiter(j);
}

static bool jf_value(struct jf *j, struct fields *fs, struct schema_value *v)
{
    if (j->p == j->end)
        return false;
    v->json = NULL;
    v->heap = NULL;
    switch (*j->p) {
    case '"':
        v->kind = SCHEMA_VALUE_STRING;
        return jf_string(j, fs, &v->s, &v->len);
    case 't':
        v->kind = SCHEMA_VALUE_TRUE;
        return jf_literal(j, "true", 4);
    case 'f':
        v->kind = SCHEMA_VALUE_FALSE;
        return jf_literal(j, "false", 5);
    case 'n':
        v->kind = SCHEMA_VALUE_NULL;
        return jf_literal(j, "null", 4);
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
            return jf_number(j, v);
        return false; /* nested values, anything else */
    }
}

int jsonfields_read(const char *p, size_t n, struct fields *fs)
{
    /* keys and strings are at most the line's bytes, plus a NUL each */
    if (n > SIZE_MAX / 2 || !fields_begin(fs, n + 2 * FIELDS_MAX + 2))
        return -1;
    struct jf j = {(const unsigned char *)p, (const unsigned char *)p + n};
    jf_ws(&j);
    if (j.p == j.end || *j.p != '{')
        return 0;
    j.p++;
    jf_ws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
    } else {
        for (;;) {
            if (fs->count == FIELDS_MAX || j.p == j.end || *j.p != '"')
                return 0;
            struct schema_field *f = &fs->f[fs->count];
            size_t key_len;
            if (!jf_string(&j, fs, &f->key, &key_len) || fields_has_key(fs, f->key, key_len))
                return 0;
            fs->key_len[fs->count] = key_len;
            jf_ws(&j);
            if (j.p == j.end || *j.p != ':')
                return 0;
            j.p++;
            jf_ws(&j);
            if (!jf_value(&j, fs, &f->value))
                return 0;
            fs->count++;
            jf_ws(&j);
            if (j.p == j.end)
                return 0;
            if (*j.p == '}') {
                j.p++;
                break;
            }
            if (*j.p != ',')
                return 0;
            j.p++;
            jf_ws(&j);
        }
    }
    jf_ws(&j);
    return j.p == j.end ? 1 : 0;
}

/* jsonflat.c - the flat-object scanner (jsonflat.h): a strict subset of
 * JSON read in place; anything outside it is left to jansson. */
#include "jsonflat.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "utf8.h"

/* Longest number text handed to strtod (longer: the jansson path). */
#define JSONFLAT_NUMBER_MAX 64

struct jsonflat_cursor {
    const unsigned char *p;
    const unsigned char *end;
    unsigned flags;
};

static void jsonflat_blanks(struct jsonflat_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* The escapes jsonflat_unescape decodes (\u is jansson's); 0 for the rest. */
static char jsonflat_escape(unsigned char b)
{
    switch (b) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
    }
}

/* A string; the cursor is on the opening quote. Escapes only with
 * JSONFLAT_ESCAPES (then *escaped is set). */
static bool jsonflat_string(struct jsonflat_cursor *c, const char **s, size_t *len, bool *escaped)
{
    const unsigned char *p = c->p + 1;
    const unsigned char *start = p;
    while (p < c->end) {
        unsigned char b = *p;
        if (b == '"') {
            *s = (const char *)start;
            *len = (size_t)(p - start);
            c->p = p + 1;
            return true;
        }
        if (b == '\\') {
            if (!(c->flags & JSONFLAT_ESCAPES) || c->end - p < 2 || jsonflat_escape(p[1]) == 0)
                return false;
            *escaped = true;
            p += 2;
            continue;
        }
        if (b < 0x20)
            return false; /* control characters: jansson's */
        if (b < 0x80) {
            p++;
            continue;
        }
        size_t n = utf8_sequence(p, (size_t)(c->end - p));
        if (n == 0)
            return false;
        p += n;
    }
    return false;
}

static bool jsonflat_digit(unsigned char b)
{
    return b >= '0' && b <= '9';
}

static const unsigned char *jsonflat_digits(const unsigned char *p, const unsigned char *end)
{
    while (p < end && jsonflat_digit(*p))
        p++;
    return p;
}

/* Clinger's fast path for the real text[0..end) (its grammar checked): at
 * most 15 significant digits (exact in a double) scaled by a power of ten
 * up to 1e22 (exact too) is one correctly rounded multiplication or
 * division, so it equals strtod's correctly rounded result. false when the
 * number is outside the fast path. */
static bool jsonflat_real_fast(const unsigned char *digits, const unsigned char *end, double *out)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t mantissa = 0;
    int count = 0, scale = 0, exp10 = 0;
    bool fraction = false;
    const unsigned char *c = digits;
    for (; c < end && *c != 'e' && *c != 'E'; c++) {
        if (*c == '.') {
            fraction = true;
            continue;
        }
        if (mantissa == 0 && *c == '0') {
            scale -= fraction; /* leading zeros only move the point */
            continue;
        }
        if (++count > 15)
            return false;
        mantissa = mantissa * 10 + (uint64_t)(*c - '0');
        scale -= fraction;
    }
    if (c < end) { /* the exponent */
        c++;
        bool neg_exp = *c == '-';
        if (*c == '+' || *c == '-')
            c++;
        for (; c < end; c++) {
            exp10 = exp10 * 10 + (*c - '0');
            if (exp10 > 400)
                return false;
        }
        if (neg_exp)
            exp10 = -exp10;
    }
    int e = scale + exp10;
    if (e < -22 || e > 22)
        return false;
    double d = (double)mantissa;
    *out = e < 0 ? d / pow10[-e] : d * pow10[e];
    return true;
}

/* A number in JSON's grammar; integers (no fraction, no exponent) that fit
 * in int64 as integers, others as strtod reads them unless they overflow. */
static bool jsonflat_number(struct jsonflat_cursor *c, struct jsonflat_field *f)
{
    const unsigned char *p = c->p, *start = p;
    bool neg = false;
    if (p < c->end && *p == '-') {
        neg = true;
        p++;
    }
    const unsigned char *digits = p;
    if (p >= c->end || !jsonflat_digit(*p))
        return false;
    if (*p == '0' && p + 1 < c->end && jsonflat_digit(p[1]))
        return false; /* a leading zero: invalid JSON, jansson says so */
    uint64_t u = 0;
    bool fits = true;
    while (p < c->end && jsonflat_digit(*p)) {
        unsigned d = (unsigned)(*p - '0');
        if (u > (UINT64_MAX - d) / 10)
            fits = false;
        else
            u = u * 10 + d;
        p++;
    }
    bool real = false;
    if (p < c->end && *p == '.') {
        real = true;
        p++;
        if (p >= c->end || !jsonflat_digit(*p))
            return false;
        p = jsonflat_digits(p, c->end);
    }
    if (p < c->end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < c->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= c->end || !jsonflat_digit(*p))
            return false;
        p = jsonflat_digits(p, c->end);
    }
    c->p = p;
    if (!real) {
        if (!fits || (!neg && u > (uint64_t)INT64_MAX) ||
            (neg && u > (uint64_t)INT64_MAX + 1u))
            return false; /* jansson: "too big integer" */
        f->type = JSONFLAT_INTEGER;
        f->integer = neg ? (int64_t)(0 - u) : (int64_t)u;
        return true;
    }
    f->type = JSONFLAT_REAL;
    if (jsonflat_real_fast(digits, p, &f->real)) {
        if (neg)
            f->real = -f->real;
        return true;
    }
    char tmp[JSONFLAT_NUMBER_MAX];
    size_t n = (size_t)(p - start);
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, start, n);
    tmp[n] = '\0';
    char *stop = NULL;
    f->real = strtod(tmp, &stop);
    /* a locale with another decimal point, or jansson's "real number overflow" */
    return stop == tmp + n && !isinf(f->real);
}

static bool jsonflat_literal(struct jsonflat_cursor *c, const char *word, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* One "key": value at the cursor (on the key's quote). */
static bool jsonflat_member(struct jsonflat_cursor *c, struct jsonflat_field *f)
{
    f->escaped = false;
    if (!jsonflat_string(c, &f->key, &f->key_len, &f->escaped))
        return false;
    jsonflat_blanks(c);
    if (c->p >= c->end || *c->p != ':')
        return false;
    c->p++;
    jsonflat_blanks(c);
    if (c->p >= c->end)
        return false;
    switch (*c->p) {
    case '"':
        f->type = JSONFLAT_STRING;
        return jsonflat_string(c, &f->str, &f->len, &f->escaped);
    case 't':
        f->type = JSONFLAT_TRUE;
        return jsonflat_literal(c, "true", 4);
    case 'f':
        f->type = JSONFLAT_FALSE;
        return jsonflat_literal(c, "false", 5);
    case 'n':
        f->type = JSONFLAT_NULL;
        return jsonflat_literal(c, "null", 4);
    default:
        return jsonflat_number(c, f); /* '{', '[' and the rest fail here */
    }
}

int jsonflat_scan(const char *text, size_t len, struct jsonflat_field *fields, size_t max,
                  unsigned flags)
{
    struct jsonflat_cursor c = {(const unsigned char *)text, (const unsigned char *)text + len,
                                flags};
    jsonflat_blanks(&c);
    if (c.p >= c.end || *c.p != '{')
        return -1;
    c.p++;
    jsonflat_blanks(&c);
    size_t n = 0;
    if (c.p < c.end && *c.p == '}') {
        c.p++;
    } else {
        for (;;) {
            if (c.p >= c.end || *c.p != '"' || n == max || !jsonflat_member(&c, &fields[n]))
                return -1;
            n++;
            jsonflat_blanks(&c);
            if (c.p >= c.end)
                return -1;
            if (*c.p == '}') {
                c.p++;
                break;
            }
            if (*c.p != ',')
                return -1;
            c.p++;
            jsonflat_blanks(&c);
        }
    }
    jsonflat_blanks(&c);
    return c.p == c.end ? (int)n : -1;
}

size_t jsonflat_unescape(const char *s, size_t len, char *out)
{
    const char *p = s, *end = s + len;
    size_t n = 0;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t run = (size_t)((bs != NULL ? bs : end) - p);
        memcpy(out + n, p, run);
        n += run;
        if (bs == NULL)
            break;
        out[n++] = jsonflat_escape((unsigned char)bs[1]); /* checked by the scan */
        p = bs + 2;
    }
    return n;
}

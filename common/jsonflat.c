/* jsonflat.c - the flat-object scanner (jsonflat.h): a strict subset of
 * JSON read in place; anything outside it is left to jansson. */
#include "jsonflat.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

struct jsonflat_cursor {
    const unsigned char *p;
    const unsigned char *end;
};

static void jsonflat_blanks(struct jsonflat_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* A string without escapes; the cursor is on the opening quote. */
static bool jsonflat_string(struct jsonflat_cursor *c, const char **s, size_t *len)
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
        if (b == '\\' || b < 0x20)
            return false; /* escapes and control characters: jansson's */
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

/* A number in JSON's grammar; integers (no fraction, no exponent) that fit
 * in int64 as integers, others through strtod unless they overflow. */
static bool jsonflat_number(struct jsonflat_cursor *c, struct jsonflat_field *f)
{
    const unsigned char *p = c->p, *start = p;
    bool neg = false;
    if (p < c->end && *p == '-') {
        neg = true;
        p++;
    }
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
        while (p < c->end && jsonflat_digit(*p))
            p++;
    }
    if (p < c->end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < c->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= c->end || !jsonflat_digit(*p))
            return false;
        while (p < c->end && jsonflat_digit(*p))
            p++;
    }
    if (!real) {
        if (!fits || (!neg && u > (uint64_t)INT64_MAX) ||
            (neg && u > (uint64_t)INT64_MAX + 1u))
            return false; /* jansson: "too big integer" */
        f->type = JSONFLAT_INTEGER;
        f->integer = neg ? (u == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)u) : (int64_t)u;
        c->p = p;
        return true;
    }
    char tmp[64];
    size_t n = (size_t)(p - start);
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, start, n);
    tmp[n] = '\0';
    char *stop = NULL;
    double d = strtod(tmp, &stop);
    if (stop != tmp + n || isinf(d))
        return false; /* a locale with another decimal point, or an overflow */
    f->type = JSONFLAT_REAL;
    f->real = d;
    c->p = p;
    return true;
}

static bool jsonflat_literal(struct jsonflat_cursor *c, const char *word, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    c->p += n;
    return true;
}

int jsonflat_scan(const char *text, size_t len, struct jsonflat_field *fields, size_t max)
{
    struct jsonflat_cursor c = {(const unsigned char *)text, (const unsigned char *)text + len};
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
            if (c.p >= c.end || *c.p != '"' || n == max)
                return -1;
            struct jsonflat_field *f = &fields[n];
            if (!jsonflat_string(&c, &f->key, &f->key_len))
                return -1;
            jsonflat_blanks(&c);
            if (c.p >= c.end || *c.p != ':')
                return -1;
            c.p++;
            jsonflat_blanks(&c);
            if (c.p >= c.end)
                return -1;
            bool ok;
            switch (*c.p) {
            case '"':
                f->type = JSONFLAT_STRING;
                ok = jsonflat_string(&c, &f->str, &f->len);
                break;
            case 't':
                f->type = JSONFLAT_TRUE;
                ok = jsonflat_literal(&c, "true", 4);
                break;
            case 'f':
                f->type = JSONFLAT_FALSE;
                ok = jsonflat_literal(&c, "false", 5);
                break;
            case 'n':
                f->type = JSONFLAT_NULL;
                ok = jsonflat_literal(&c, "null", 4);
                break;
            default:
                ok = jsonflat_number(&c, f); /* '{', '[' and the rest fail here */
                break;
            }
            if (!ok)
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

/* jsonout.c - compact JSON writer for spool lines (see jsonout.h). Profiles
 * of ingest showed json_dumpb (and the printf it uses for every number) as
 * a large share of a record's cost; this writes the same text with plain
 * loops. */
#include "jsonout.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Deeper than anything the decoders produce (jansson stops at 2048). */
#define JSONOUT_DEPTH_MAX 4096
/* 2^53: integers below it are exact doubles. */
#define JSONOUT_EXACT 9007199254740992.0
/* Fraction digits tried: with a >= 1e-3 enough for 17 significant digits. */
#define JSONOUT_FRACTION_MAX 20

size_t jsonout_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static bool jsonout_integer(struct strbuf *b, json_int_t v)
{
    if (!strbuf_reserve(b, 24))
        return false;
    char *p = b->s + b->len;
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        *p++ = '-';
        u = 0 - u;
    }
    p += jsonout_u64(p, u);
    b->len = (size_t)(p - b->s);
    return true;
}

/* jansson's form (strconv.c jsonp_dtostr with precision 17): "%.17g", ".0"
 * appended when neither '.' nor 'e' is present, and the exponent without '+'
 * or leading zeros. The C locale is in effect (ingest never sets one). */
static bool jsonout_real_printf(struct strbuf *b, double d)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%.17g", d);
    if (n < 0 || (size_t)n >= sizeof tmp - 3)
        return false;
    size_t len = (size_t)n;
    if (strchr(tmp, '.') == NULL && strchr(tmp, 'e') == NULL) {
        memcpy(tmp + len, ".0", 3);
        len += 2;
    }
    char *e = strchr(tmp, 'e');
    if (e != NULL) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - tmp) + 1);
            len -= (size_t)(end - start);
        }
    }
    return strbuf_append(b, tmp, len);
}

/* Shortest plain decimal that reads back as a, for 1e-3 <= a < 2^53: the
 * fewest fraction digits f (at most JSONOUT_FRACTION_MAX) whose nearest
 * candidate c / 10^f lies inside a's rounding interval, checked exactly in
 * 128-bit integers (a = m * 2^e with e < 0, so the interval test
 * |c / 10^f - a| < 2^e / 2 becomes |2c * 2^-e - 2m * 10^f| < 10^f, with the
 * half-way case belonging to a when m is even, as strtod rounds half to
 * even; below a power of two the lower gap is half as wide). Sizes: m < 2^53
 * and 10^f <= 10^20 keep every product below 2^121. -1 when out of range. */
static int jsonout_shortest(double a, uint64_t *digits, int *fraction)
{
    int ex;
    double fr = frexp(a, &ex); /* a = fr * 2^ex, 0.5 <= fr < 1 */
    int e = ex - 53;
    if (e >= 0 || e < -70)
        return -1;
    uint64_t m = (uint64_t)ldexp(fr, 53);
    unsigned shift = (unsigned)-e;
    unsigned __int128 p10 = 1;
    for (int f = 0; f <= JSONOUT_FRACTION_MAX; f++, p10 *= 10) {
        unsigned __int128 scaled = (unsigned __int128)m * p10; /* a * 10^f * 2^-e */
        unsigned __int128 c = (scaled + ((unsigned __int128)1 << (shift - 1))) >> shift;
        unsigned __int128 twice_c = (c << shift) << 1, twice_a = scaled << 1;
        bool below = twice_c < twice_a;
        unsigned __int128 diff = below ? twice_a - twice_c : twice_c - twice_a;
        /* below a power of two the gap to the next smaller double is half */
        if (below && m == (uint64_t)1 << 52)
            diff *= 2;
        bool inside = diff < p10 || (diff == p10 && (m & 1) == 0);
        if (!inside)
            continue;
        if (c >= (unsigned __int128)1e18)
            return -1;
        *digits = (uint64_t)c;
        *fraction = f;
        return 0;
    }
    return -1;
}

bool jsonout_real(struct strbuf *b, double d)
{
    if (d == 0.0)
        return strbuf_append(b, signbit(d) ? "-0.0" : "0.0", signbit(d) ? 4 : 3);
    double a = fabs(d);
    uint64_t u;
    int f;
    if (a >= 1e-3 && a < JSONOUT_EXACT && jsonout_shortest(a, &u, &f) == 0) {
        uint64_t p10 = 1;
        for (int k = 0; k < f; k++)
            p10 *= 10;
        if (!strbuf_reserve(b, 48))
            return false;
        char *p = b->s + b->len;
        if (d < 0)
            *p++ = '-';
        p += jsonout_u64(p, u / p10);
        *p++ = '.';
        if (f == 0) {
            *p++ = '0';
        } else {
            uint64_t frac = u % p10;
            for (int k = f - 1; k >= 0; k--) {
                p[k] = (char)('0' + frac % 10);
                frac /= 10;
            }
            p += f;
        }
        b->len = (size_t)(p - b->s);
        return true;
    }
    return jsonout_real_printf(b, d);
}

bool jsonout_string(struct strbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    if (len > SIZE_MAX - 16 || !strbuf_reserve(b, len + 2))
        return false;
    b->s[b->len++] = '"';
    size_t i = 0;
    while (i < len) {
        /* Copy the run of bytes that need no escape in one go. */
        size_t run = i;
        while (run < len) {
            unsigned char c = (unsigned char)s[run];
            if (c < 0x20 || c == '"' || c == '\\')
                break;
            run++;
        }
        memcpy(b->s + b->len, s + i, run - i);
        b->len += run - i;
        i = run;
        if (i == len)
            break;
        /* One escape: up to 6 bytes instead of 1 (room for the rest stays). */
        if (!strbuf_reserve(b, 6 + (len - i) + 1))
            return false;
        unsigned char c = (unsigned char)s[i++];
        char *p = b->s + b->len;
        *p++ = '\\';
        switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
            break;
        }
        b->len = (size_t)(p - b->s);
    }
    b->s[b->len++] = '"';
    return true;
}

static bool jsonout_value_depth(struct strbuf *b, const json_t *v, int depth)
{
    if (depth > JSONOUT_DEPTH_MAX)
        return false;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (!strbuf_append(b, "{", 1))
            return false;
        bool first = true;
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item) {
            if ((!first && !strbuf_append(b, ",", 1)) ||
                !jsonout_string(b, key, strlen(key)) || !strbuf_append(b, ":", 1) ||
                !jsonout_value_depth(b, item, depth + 1))
                return false;
            first = false;
        }
        return strbuf_append(b, "}", 1);
    }
    case JSON_ARRAY: {
        if (!strbuf_append(b, "[", 1))
            return false;
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if ((i > 0 && !strbuf_append(b, ",", 1)) ||
                !jsonout_value_depth(b, json_array_get(v, i), depth + 1))
                return false;
        }
        return strbuf_append(b, "]", 1);
    }
    case JSON_STRING:
        return jsonout_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return jsonout_integer(b, json_integer_value(v));
    case JSON_REAL:
        return jsonout_real(b, json_real_value(v));
    case JSON_TRUE:
        return strbuf_append(b, "true", 4);
    case JSON_FALSE:
        return strbuf_append(b, "false", 5);
    case JSON_NULL:
        return strbuf_append(b, "null", 4);
    }
    return false;
}

bool jsonout_value(struct strbuf *b, const json_t *value)
{
    return jsonout_value_depth(b, value, 0);
}

bool jsonout_schema_value(struct strbuf *b, const struct schema_value *v)
{
    switch (v->kind) {
    case SCHEMA_VALUE_NULL: return strbuf_append(b, "null", 4);
    case SCHEMA_VALUE_FALSE: return strbuf_append(b, "false", 5);
    case SCHEMA_VALUE_TRUE: return strbuf_append(b, "true", 4);
    case SCHEMA_VALUE_INTEGER: return jsonout_integer(b, v->i);
    case SCHEMA_VALUE_REAL: return jsonout_real(b, v->d);
    case SCHEMA_VALUE_STRING: return jsonout_string(b, v->s, v->len);
    case SCHEMA_VALUE_OBJECT:
    case SCHEMA_VALUE_ARRAY: return v->json != NULL && jsonout_value(b, v->json);
    case SCHEMA_VALUE_ABSENT: break;
    }
    return false;
}

/* utf8.c - UTF-8 validation (see utf8.h). */
#include "utf8.h"

#include <stdint.h>

size_t utf8_sequence(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t extra;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        extra = 1;
        cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        extra = 2;
        cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
        extra = 3;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (len <= extra)
        return 0;
    for (size_t k = 1; k <= extra; k++) {
        if ((s[k] & 0xc0u) != 0x80u)
            return 0;
        cp = cp << 6 | (s[k] & 0x3fu);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, out of range or a surrogate */
    return extra + 1;
}

bool utf8_valid(const void *s, size_t n)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_sequence(p + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* fields.c - flat records for the fast readers (see fields.h). */
#include "fields.h"

#include <string.h>

bool fields_begin(struct fields *fs, size_t bytes)
{
    fs->count = 0;
    fs->arena.len = 0;
    return buf_reserve(&fs->arena, bytes);
}

char *fields_copy(struct fields *fs, const void *s, size_t n)
{
    if (fs->arena.cap - fs->arena.len <= n)
        return NULL;
    char *out = fs->arena.data + fs->arena.len;
    memcpy(out, s, n);
    out[n] = '\0';
    fs->arena.len += n + 1;
    return out;
}

bool fields_has_key(const struct fields *fs, const char *key, size_t len)
{
    for (size_t i = 0; i < fs->count; i++)
        if (fs->key_len[i] == len && memcmp(fs->f[i].key, key, len) == 0)
            return true;
    return false;
}

bool fields_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t extra;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= extra)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            unsigned char cc = s[i + k];
            if ((cc & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (cc & 0x3f);
        }
        if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

void fields_free(struct fields *fs)
{
    buf_free(&fs->arena);
    fs->count = 0;
}

/* bytebuf.c - growable byte buffer (bytebuf.h). */
#include "bytebuf.h"

#include <stdlib.h>
#include <string.h>

int bytebuf_reserve(struct bytebuf *b, size_t n)
{
    if (b->failed)
        return -1;
    if (n <= b->cap - b->len)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return -1;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = true;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void bytebuf_add(struct bytebuf *b, const void *data, size_t n)
{
    if (n == 0 || bytebuf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void bytebuf_add_byte(struct bytebuf *b, uint8_t v)
{
    bytebuf_add(b, &v, 1);
}

void bytebuf_add_u32le(struct bytebuf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    bytebuf_add(b, x, 4);
}

void bytebuf_add_u64le(struct bytebuf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    bytebuf_add(b, x, 8);
}

void bytebuf_add_uvarint(struct bytebuf *b, uint64_t v)
{
    uint8_t x[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        x[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    bytebuf_add(b, x, n);
}

void bytebuf_add_zigzag(struct bytebuf *b, int64_t v)
{
    bytebuf_add_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void bytebuf_reset(struct bytebuf *b)
{
    b->len = 0;
    b->failed = false;
}

void bytebuf_free(struct bytebuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* binenc.c - binary encodings appended to a strbuf (binenc.h). */
#include "binenc.h"

void binenc_byte(struct strbuf *b, uint8_t v)
{
    strbuf_append(b, &v, 1);
}

void binenc_u32le(struct strbuf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    strbuf_append(b, x, 4);
}

void binenc_u64le(struct strbuf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    strbuf_append(b, x, 8);
}

void binenc_uvarint(struct strbuf *b, uint64_t v)
{
    uint8_t x[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        x[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    strbuf_append(b, x, n);
}

void binenc_zigzag(struct strbuf *b, int64_t v)
{
    binenc_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

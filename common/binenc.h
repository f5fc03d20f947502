/* binenc.h - binary encodings appended to a strbuf, for the files we write
 * byte by byte (Parquet pages and footers, Avro blocks): little-endian
 * integers, unsigned LEB128 varints and zig-zag varints. Like every strbuf
 * append, a failed allocation marks the buffer failed; check it once at the end. */
#ifndef LAKEHOUSE_BINENC_H
#define LAKEHOUSE_BINENC_H

#include <stdint.h>

#include "strbuf.h"

void binenc_byte(struct strbuf *b, uint8_t v);
void binenc_u32le(struct strbuf *b, uint32_t v);
void binenc_u64le(struct strbuf *b, uint64_t v);
/* Unsigned LEB128 varint (Thrift compact, Avro after zig-zag). */
void binenc_uvarint(struct strbuf *b, uint64_t v);
/* Zig-zag then varint (Thrift compact i16/i32/i64, Avro int/long). */
void binenc_zigzag(struct strbuf *b, int64_t v);
/* The buffer's bytes, unsigned. */
static inline const uint8_t *binenc_bytes(const struct strbuf *b)
{
    return (const uint8_t *)b->s;
}

#endif

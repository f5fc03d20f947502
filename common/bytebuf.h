/* bytebuf.h - a growable byte buffer for building binary files (Parquet pages
 * and footers, Avro blocks). Like strbuf: an append that cannot allocate marks
 * the buffer failed and later appends do nothing, so callers check `failed`
 * once at the end. The buffer owns p; bytebuf_free releases it. */
#ifndef LAKEHOUSE_BYTEBUF_H
#define LAKEHOUSE_BYTEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bytebuf {
    uint8_t *p;   /* NULL until the first append */
    size_t len;
    size_t cap;
    bool failed;  /* an append ran out of memory */
};

/* Make room for n more bytes; 0, or -1 (and failed set). */
int bytebuf_reserve(struct bytebuf *b, size_t n);
void bytebuf_add(struct bytebuf *b, const void *data, size_t n);
void bytebuf_add_byte(struct bytebuf *b, uint8_t v);
void bytebuf_add_u32le(struct bytebuf *b, uint32_t v);
void bytebuf_add_u64le(struct bytebuf *b, uint64_t v);
/* Unsigned LEB128 varint (Thrift compact, Avro after zig-zag). */
void bytebuf_add_uvarint(struct bytebuf *b, uint64_t v);
/* Zig-zag then varint (Thrift compact i16/i32/i64, Avro int/long). */
void bytebuf_add_zigzag(struct bytebuf *b, int64_t v);
/* Forget the contents but keep the allocation (failed is cleared too). */
void bytebuf_reset(struct bytebuf *b);
/* Free the bytes and reset the buffer to empty. */
void bytebuf_free(struct bytebuf *b);

#endif

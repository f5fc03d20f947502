/* thrift_compact.c - Thrift compact protocol encoder (thrift_compact.h). */
#include "thrift_compact.h"

#include <assert.h>
#include <string.h>

void thrift_writer_init(struct thrift_writer *w, struct strbuf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

/* Field header: the id as a delta from the previous field's when it is 1..15
 * (one byte), else the type byte and the id as a zig-zag varint. */
static void thrift_field_header(struct thrift_writer *w, int16_t id, uint8_t type)
{
    int16_t last = w->last_id[w->depth];
    assert(id > last);
    int delta = id - last;
    if (delta <= 15) {
        binenc_byte(w->out, (uint8_t)(delta << 4 | type));
    } else {
        binenc_byte(w->out, type);
        binenc_zigzag(w->out, id);
    }
    w->last_id[w->depth] = id;
}

void thrift_field_i8(struct thrift_writer *w, int16_t id, int8_t v)
{
    thrift_field_header(w, id, THRIFT_I8);
    binenc_byte(w->out, (uint8_t)v);
}

void thrift_field_i16(struct thrift_writer *w, int16_t id, int16_t v)
{
    thrift_field_header(w, id, THRIFT_I16);
    binenc_zigzag(w->out, v);
}

void thrift_field_i32(struct thrift_writer *w, int16_t id, int32_t v)
{
    thrift_field_header(w, id, THRIFT_I32);
    binenc_zigzag(w->out, v);
}

void thrift_field_i64(struct thrift_writer *w, int16_t id, int64_t v)
{
    thrift_field_header(w, id, THRIFT_I64);
    binenc_zigzag(w->out, v);
}

void thrift_field_bool(struct thrift_writer *w, int16_t id, bool v)
{
    /* A bool field's value is its type code. */
    thrift_field_header(w, id, v ? THRIFT_BOOL_TRUE : THRIFT_BOOL_FALSE);
}

void thrift_field_binary(struct thrift_writer *w, int16_t id, const void *p, size_t n)
{
    thrift_field_header(w, id, THRIFT_BINARY);
    binenc_uvarint(w->out, n);
    strbuf_append(w->out, p, n);
}

void thrift_field_string(struct thrift_writer *w, int16_t id, const char *s)
{
    thrift_field_binary(w, id, s, strlen(s));
}

static void thrift_push(struct thrift_writer *w)
{
    assert(w->depth + 1 < THRIFT_DEPTH_MAX);
    w->last_id[++w->depth] = 0;
}

void thrift_field_struct_begin(struct thrift_writer *w, int16_t id)
{
    thrift_field_header(w, id, THRIFT_STRUCT);
    thrift_push(w);
}

void thrift_field_list_begin(struct thrift_writer *w, int16_t id, enum thrift_type elem_type,
                             size_t n)
{
    thrift_field_header(w, id, THRIFT_LIST);
    if (n < 15) {
        binenc_byte(w->out, (uint8_t)(n << 4 | elem_type));
    } else {
        binenc_byte(w->out, (uint8_t)(0xf0 | elem_type));
        binenc_uvarint(w->out, n);
    }
}

void thrift_elem_i32(struct thrift_writer *w, int32_t v)
{
    binenc_zigzag(w->out, v);
}

void thrift_elem_i64(struct thrift_writer *w, int64_t v)
{
    binenc_zigzag(w->out, v);
}

void thrift_elem_string(struct thrift_writer *w, const char *s)
{
    size_t n = strlen(s);
    binenc_uvarint(w->out, n);
    strbuf_append(w->out, s, n);
}

void thrift_elem_struct_begin(struct thrift_writer *w)
{
    thrift_push(w);
}

void thrift_struct_end(struct thrift_writer *w)
{
    binenc_byte(w->out, 0);
    if (w->depth > 0)
        w->depth--;
}

/* thrift_compact.h - an encoder for the Thrift compact protocol, enough for
 * the Parquet footer and page headers: structs (and unions, which encode as a
 * struct with one field), i8/i16/i32/i64, bool, binary/string and lists.
 * Encoding only: the project never reads Parquet back. Field ids must rise
 * within a struct (the caller writes them in id order, as the IDL lists them);
 * nesting is bounded by THRIFT_DEPTH_MAX (an assert: the structures are the
 * writer's own, not input). */
#ifndef LAKEHOUSE_THRIFT_COMPACT_H
#define LAKEHOUSE_THRIFT_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "binenc.h"

#define THRIFT_DEPTH_MAX 16

/* Compact protocol type codes (field headers and list element types). */
enum thrift_type {
    THRIFT_BOOL_TRUE = 1,
    THRIFT_BOOL_FALSE = 2,
    THRIFT_I8 = 3,
    THRIFT_I16 = 4,
    THRIFT_I32 = 5,
    THRIFT_I64 = 6,
    THRIFT_DOUBLE = 7,
    THRIFT_BINARY = 8,
    THRIFT_LIST = 9,
    THRIFT_SET = 10,
    THRIFT_MAP = 11,
    THRIFT_STRUCT = 12
};

struct thrift_writer {
    struct strbuf *out;          /* not owned */
    int depth;                    /* 0 = the outermost struct */
    int16_t last_id[THRIFT_DEPTH_MAX];
};

/* Start writing the outermost struct into out (appended to what is there). */
void thrift_writer_init(struct thrift_writer *w, struct strbuf *out);

/* Fields of the current struct. */
void thrift_field_i8(struct thrift_writer *w, int16_t id, int8_t v);
void thrift_field_i16(struct thrift_writer *w, int16_t id, int16_t v);
void thrift_field_i32(struct thrift_writer *w, int16_t id, int32_t v);
void thrift_field_i64(struct thrift_writer *w, int16_t id, int64_t v);
void thrift_field_bool(struct thrift_writer *w, int16_t id, bool v);
void thrift_field_binary(struct thrift_writer *w, int16_t id, const void *p, size_t n);
void thrift_field_string(struct thrift_writer *w, int16_t id, const char *s);
/* A struct-valued field: its fields follow, then thrift_struct_end. */
void thrift_field_struct_begin(struct thrift_writer *w, int16_t id);
/* A list-valued field of n elements of elem_type; then n thrift_elem_* calls
 * (for structs: thrift_elem_struct_begin ... thrift_struct_end each). */
void thrift_field_list_begin(struct thrift_writer *w, int16_t id, enum thrift_type elem_type,
                             size_t n);
void thrift_elem_i32(struct thrift_writer *w, int32_t v);
void thrift_elem_i64(struct thrift_writer *w, int64_t v);
void thrift_elem_string(struct thrift_writer *w, const char *s);
void thrift_elem_struct_begin(struct thrift_writer *w);
/* End the current struct (writes its stop byte); at depth 0 this ends the
 * outermost struct. */
void thrift_struct_end(struct thrift_writer *w);

#endif

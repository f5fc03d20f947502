/* mpjson.h - a msgpack batch body (an array of values) read element by
 * element and converted to jansson values.
 *
 * Written here rather than with msgpack-c's unpacker because that one
 * allocates its object tree from the declared container sizes (a 5-byte
 * "array of 4 billion" asks for ~100 GB) and does not tell where each element
 * starts and ends; this reader walks the bytes with bounds checks, allocates
 * only the JSON values, and hands out each element's raw bytes (kept in
 * rejected/ when the element cannot be converted).
 *
 * Conversion: nil/bool/int/float/str/array/map as expected; a map key must
 * be a string (valid UTF-8, no NUL, not repeated); a positive integer above
 * INT64_MAX, a non-finite float, a string with NUL or invalid UTF-8, bin and
 * ext values are errors naming the field path, except ext type -1 (the
 * msgpack timestamp) which becomes "YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|
 * .fffffffff]Z". Nesting deeper than MPJSON_DEPTH_MAX is malformed. */
#ifndef INGEST_MPJSON_H
#define INGEST_MPJSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fields.h"

#define MPJSON_DEPTH_MAX 128

struct mpjson_reader {
    const unsigned char *start;
    const unsigned char *p;
    const unsigned char *end;
    uint32_t remaining;
};

/* Read the array header: *count elements follow. -1 with err if the body is
 * not a msgpack array. */
int mpjson_open(struct mpjson_reader *r, const void *body, size_t len, uint32_t *count,
                char err[ERROR_MAX]);

/* Next element. Returns 1 with *raw and *raw_len set to its bytes and either
 * *value (a new reference) or *value NULL and err (this element cannot be
 * converted: a per-record error); 0 after the last element (-1 instead if
 * bytes follow it); -1 with err (naming the byte offset) when the body is
 * truncated or malformed (the batch cannot be read on). */
int mpjson_next(struct mpjson_reader *r, json_t **value, const char **raw, size_t *raw_len,
                char err[ERROR_MAX]);

/* The fast path (fields.h): the next element read straight into flat
 * fields when it is a map of at most FIELDS_MAX distinct string keys whose
 * values are nil, bool, int64 (a uint above INT64_MAX is not), finite float
 * or a string (valid UTF-8, no NUL) - the same values mpjson_next would
 * build. 1: read (*raw, *raw_len set, the reader moved past it); 0: not
 * simple, or the end, or malformed: nothing moved, use mpjson_next (which
 * reports what is wrong); -1: out of memory. */
int mpjson_next_fields(struct mpjson_reader *r, struct fields *fs, const char **raw,
                       size_t *raw_len);

#endif

/* avro.h - Avro binary encoding and the object container file, as Iceberg
 * manifests and manifest lists need them: the schema JSON is written exactly
 * as given (so "field-id" and other attributes survive), any file metadata
 * keys, codec "null". The caller encodes its records into one strbuf with
 * the avro_put_* helpers (in schema order); avro_file_write wraps them in a
 * container. Records are kept in memory: manifests hold one small record per
 * file, so their size follows the number of files, not of rows. */
#ifndef LAKEHOUSE_AVRO_H
#define LAKEHOUSE_AVRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "binenc.h"
#include "error.h"

/* Binary encoding of one value. int and long share the zig-zag varint. */
void avro_put_long(struct strbuf *b, int64_t v);
void avro_put_bool(struct strbuf *b, bool v);
void avro_put_bytes(struct strbuf *b, const void *p, size_t n);
void avro_put_string(struct strbuf *b, const char *s);
/* The branch index of a union; the branch's value follows. */
void avro_put_union(struct strbuf *b, int branch);
/* Arrays and maps: avro_put_block(count) then count items, repeated, then
 * avro_put_block(0) to end. */
void avro_put_block(struct strbuf *b, int64_t count);

/* One metadata entry of the container header ("avro.schema" and
 * "avro.codec" are written by avro_file_write). */
struct avro_meta {
    const char *key;
    const char *value;
};

/* Write path (created exclusively: never replaces a file; fsync'd): the
 * header with schema_json and meta[0..nmeta), then records (count records
 * already encoded) in one block. *file_size gets the file's size. 0, or -1
 * with err (nothing left at path). */
int avro_file_write(const char *path, const char *schema_json, const struct avro_meta *meta,
                    size_t nmeta, const struct strbuf *records, int64_t count,
                    uint64_t *file_size, char err[ERROR_MAX]);
/* The same container into out (for tests and for writers that upload). */
int avro_file_encode(struct strbuf *out, const char *schema_json, const struct avro_meta *meta,
                     size_t nmeta, const struct strbuf *records, int64_t count,
                     char err[ERROR_MAX]);

#endif

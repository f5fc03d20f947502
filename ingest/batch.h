/* batch.h - one producer batch, from body bytes to spool lines.
 *
 * Decoding (protocol.h formats):
 *   ndjson  one record per line; blank lines are skipped and not counted.
 *           A line that does not parse is a per-record error naming the
 *           body line and jansson's column ("line 4, column 12: ...").
 *   json    one JSON array; a body that does not parse refuses the whole
 *           batch with jansson's line/column/byte position.
 *   msgpack an array of maps. Converted to JSON values here: a uint64 above
 *           INT64_MAX, NaN/Infinity, bin/ext values (except the timestamp
 *           extension, which becomes an ISO 8601 string), non-string keys
 *           and invalid UTF-8 are per-record errors; a truncated or
 *           malformed body refuses the batch with the byte offset. The
 *           decoder is bounds-checked and never allocates from a declared
 *           count, so a hostile count cannot exhaust memory.
 *   Duplicate keys in an object are a per-record error (nothing is dropped).
 * Fast path (not AUTO_INFERENCE): a record that is an object of scalar
 * fields - an NDJSON line, an element of a json array, a msgpack map - is
 * read straight into flat fields (fields.h: fields_read_json, mpjson.h),
 * validated by schema_normalize_fields and written, with no jansson tree;
 * every other record, and every record the fast path would refuse, takes
 * the jansson path, so refusals, their messages and rejected/ lines are the
 * same either way.
 * Then, per record: AUTO_INFERENCE schemas evolve first (one new catalog
 * version per batch at most, published as schema.changed, before any record
 * is written); each record is validated (or passed through when
 * validate=false) into its normalised form and appended to the table's
 * pending spool lines with the metadata columns. Refused records go to the
 * reply's error list and, unless strict, to the table's rejected lines.
 * A strict batch with any refused record stores nothing (status refused,
 * refused = every record, errors = the bad ones).
 * Memory: the decoded records of one batch (bounded by batch_max_bytes /
 * batch_max_records); the record vector is reused between batches. */
#ifndef INGEST_BATCH_H
#define INGEST_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "protocol.h"
#include "schema.h"
#include "validate.h"

struct ingest_ctx;
struct spool_table;
struct batch_decoder;

int batch_decoder_open(struct batch_decoder **out, char err[ERROR_MAX]);
void batch_decoder_close(struct batch_decoder **decoder);

/* Handle one batch for `table` whose endpoint schema is `schema` (owned by
 * ctx->endpoints; it may be replaced during the call by an evolved
 * version). Fills reply (status, counts, errors, message). Returns true when
 * records or rejected lines were added to the table's group buffers (the
 * reply must then wait for the group commit), false otherwise. */
bool batch_process(struct ingest_ctx *ctx, const struct protocol_request *req, const char *body,
                   size_t len, struct spool_table *table, const struct schema *schema,
                   struct protocol_reply *reply);

/* {"_op":"delete", <key fields>} (op is the "_op" value) removes the key's
 * row in silver (the processor decides by _seq, or by sequence_by then
 * _seq). It is stored in bronze as the key columns (and the sequence_by
 * column, which it must carry), validated as such (validate) or passed
 * through, plus "_op":"delete"; other fields are ignored and need not be
 * present. *delete_schema caches the key-only schema (built on first use,
 * the caller frees it). 0 and *out (caller owns), or -1 refused with err. */
int batch_delete_record(const struct schema *schema, struct schema **delete_schema,
                        const json_t *record, const json_t *op, bool validate, json_t **out,
                        char err[ERROR_MAX]);

#endif

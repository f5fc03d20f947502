/* bronze.h - the bronze file format and the paths of the data directory.
 *
 * Spool file (open, appended by ingest):
 *   spool/<domain>/<endpoint>/<first_seq:020>-<YYYY-MM-DD>.ndjson
 *   plain NDJSON, one normalised record per line, '\n'-terminated; made durable
 *   by fdatasync before producers are acknowledged.
 * Bronze file (sealed, immutable):
 *   bronze/<domain>/<endpoint>/dt=<YYYY-MM-DD>/<first_seq:020>-<last_seq:020>.ndjson.lz4
 *   one LZ4 frame (readable with lz4cat) holding exactly the spool's complete
 *   lines. The date is the UTC date of the first record's _insert_date (taken
 *   from the spool name). Names sort in arrival order within a table.
 * Every record line carries the metadata columns _insert_date (UTC, ISO 8601
 * with "Z"), _domain, _endpoint, _seq (ingest sequence number, strictly
 * increasing within a table), _schema_version, and _batch_id when the producer
 * gave one.
 * Sealing: compress the complete lines to "<final>.tmp" in the target dir,
 * fsync, rename to the final name, fsync the dir, and only then unlink the
 * spool. A leftover spool whose bronze file already exists is simply removed.
 * A spool's torn tail (an unterminated or unparsable last line) is cut. */
#ifndef LAKEHOUSE_BRONZE_H
#define LAKEHOUSE_BRONZE_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define BRONZE_SUFFIX ".ndjson.lz4"
#define SPOOL_SUFFIX ".ndjson"

/* Length of the longest prefix of buf made of complete '\n'-terminated lines
 * each of which parses as a JSON object (the part of a spool to keep). */
size_t bronze_valid_prefix(const char *buf, size_t len);

/* Compress the first `len` bytes of the file at spool_path into bronze_path
 * (atomic: tmp + fsync + rename + fsync dir; creates missing directories).
 * Does not remove the spool. */
int bronze_seal(const char *spool_path, size_t len, const char *bronze_path, char err[ERROR_MAX]);

/* Names. Return 0 or -1 (not a name of that kind). */
int bronze_parse_name(const char *basename, uint64_t *first_seq, uint64_t *last_seq);
int spool_parse_name(const char *basename, uint64_t *first_seq, char date[11]);
/* Path of a bronze file relative to data_dir:
 * "bronze/<d>/<e>/dt=<date>/<first>-<last>.ndjson.lz4". */
int bronze_relative_path(char *out, size_t out_size, const char *domain, const char *endpoint,
                         const char *date, uint64_t first_seq, uint64_t last_seq);
/* Parse a relative bronze path back (domain/endpoint/date out buffers sized
 * NAMES_MAX, NAMES_MAX, 11). */
int bronze_parse_relative_path(const char *rel, char *domain, char *endpoint, char *date,
                               uint64_t *first_seq, uint64_t *last_seq);

/* Streaming reader of a sealed file: lines without their '\n'. */
struct bronze_reader;
struct bronze_reader *bronze_reader_open(const char *path, char err[ERROR_MAX]);
/* 1: *line/*len set (valid until the next call), 0: end of file, -1: corrupt
 * or truncated frame, line without '\n' at the end, I/O error (err says which
 * and where). */
int bronze_reader_next(struct bronze_reader *reader, const char **line, size_t *len,
                       char err[ERROR_MAX]);
void bronze_reader_close(struct bronze_reader **reader);

#endif

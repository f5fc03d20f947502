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
/* Longest record line (without its '\n') the reader accepts: bounds its
 * memory to one line plus one 64 KiB chunk. */
#define BRONZE_LINE_MAX (16u * 1024u * 1024u)

/* Length of the longest prefix of buf made of complete '\n'-terminated lines
 * each of which parses as a JSON object (the part of a spool to keep). */
size_t bronze_valid_prefix(const char *buf, size_t len);

/* Compress the first `len` bytes of the file at spool_path into bronze_path
 * (atomic: tmp + fsync + rename + fsync dir; creates missing directories).
 * Does not remove the spool. The frame carries the content size, block and
 * content checksums, so the reader detects truncation and corruption. The
 * `len` bytes must end with '\n' (use bronze_valid_prefix), else -1. Memory
 * used is a fixed 64 KiB chunk whatever the spool size. Files are created
 * LAYOUT_FILE_MODE, directories LAYOUT_DIR_MODE, and each directory created
 * is fsync'd in its parent. */
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

/* Streaming reader of a sealed file: lines without their '\n'. Holds at most
 * one line (BRONZE_LINE_MAX) plus one chunk in memory. Corruption may only be
 * detected at the end of the frame (content checksum), after earlier lines
 * were returned: a caller must treat everything read from a file that ends
 * in -1 as void (e.g. roll back the merge transaction). */
struct bronze_reader;
struct bronze_reader *bronze_reader_open(const char *path, char err[ERROR_MAX]);
/* 1: *line and *len set (valid until the next call), 0: end of file, -1: corrupt
 * or truncated frame, bytes after the frame, a line longer than
 * BRONZE_LINE_MAX, line without '\n' at the end, I/O error (err says which
 * and where). After -1 every further call returns -1 with the same error. */
int bronze_reader_next(struct bronze_reader *reader, const char **line, size_t *len,
                       char err[ERROR_MAX]);
/* Close and free; sets *reader to NULL. NULL or *reader == NULL is a no-op. */
void bronze_reader_close(struct bronze_reader **reader);

#endif

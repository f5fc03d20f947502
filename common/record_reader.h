/* record_reader.h - turning a file of records into records: the one reader
 * behind `lakehouse send`, ingest's drop folder (landing/) and the format
 * names the protocol uses, so that a file gives the same records and the
 * same errors whichever way it comes in.
 *
 * Formats: NDJSON (one JSON value a line), one JSON array of values, CSV
 * with a header row (csv.h). The format is given, or told by the file name
 * (".csv" CSV, ".ndjson"/".jsonl" NDJSON), else by the first byte that is
 * not blank: '[' a JSON array, '{' or nothing at all NDJSON, anything else
 * CSV. A UTF-8 byte order mark at the start is dropped in every format.
 *
 * Every record comes out as one line of JSON text without '\n': an NDJSON
 * line as it is (trailing blanks and '\r' cut; blank lines are no records,
 * its JSON is checked by whoever parses the record), a JSON array element
 * parsed and written compact (an element that is not JSON is an error: the
 * array cannot be read on), a CSV row as a compact object of strings.
 * Errors and refusals start with "line N: ", N the file's line where the
 * record (or the problem) is. Streaming: memory follows the largest record,
 * never the file. */
#ifndef LAKEHOUSE_RECORD_READER_H
#define LAKEHOUSE_RECORD_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

enum record_format { RECORD_FORMAT_AUTO, RECORD_FORMAT_NDJSON, RECORD_FORMAT_JSON,
                     RECORD_FORMAT_CSV };

/* "auto", "ndjson", "json", "csv". */
const char *record_format_name(enum record_format format);
/* -1 for an unknown name. */
int record_format_from_name(const char *name, enum record_format *out);

/* The format a file name says (".csv", ".ndjson", ".jsonl", any case), or
 * RECORD_FORMAT_AUTO when it says nothing (name may be NULL). */
enum record_format record_format_from_extension(const char *name);
/* The format the first bytes of a file say (see above; BOM and blanks
 * skipped). */
enum record_format record_format_sniff(const void *head, size_t len);

struct record_reader;

enum record_read {
    RECORD_READ_ERROR = -1, /* the input cannot be read on; err says where */
    RECORD_READ_END = 0,
    RECORD_READ_OK = 1,     /* rec, len: the next record */
    RECORD_READ_TOO_LARGE = 2 /* the record is over max_bytes, skipped; err
                               * says where; reading may go on */
};

/* Read `in` (not owned; read from its current position) as `format`
 * (AUTO: told by name, else by content). max_bytes caps one record's text,
 * limit_name names that cap in messages ("record_max_bytes"). NULL with err
 * when the input cannot be opened as that format (a CSV header that is not
 * one). Caller owns the reader (record_reader_close). */
struct record_reader *record_reader_open(FILE *in, enum record_format format, const char *name,
                                         size_t max_bytes, const char *limit_name,
                                         char err[ERROR_MAX]);
/* See enum record_read. *rec is NUL-terminated and valid until the next
 * call. After RECORD_READ_ERROR stop reading. */
enum record_read record_reader_next(struct record_reader *reader, const char **rec, size_t *len,
                                    char err[ERROR_MAX]);
/* The format being read (never AUTO). */
enum record_format record_reader_format(const struct record_reader *reader);
/* The line where the last record returned (or refused) starts. */
uint64_t record_reader_line(const struct record_reader *reader);
/* Free and set *reader to NULL. NULL-safe. */
void record_reader_close(struct record_reader **reader);

/* In-memory bodies (ingest's batches): skip a UTF-8 byte order mark at the
 * start of body. */
size_t record_skip_bom(const char **body, size_t len);
/* The next NDJSON record line of a body at *p (before end), the way the
 * reader reads a file: its text without the line end and trailing blanks in
 * *line / *n, its 1-based line number in *line_no (counted on from the
 * value given). Blank lines are skipped. false at the end. */
bool record_next_line(const char **p, const char *end, const char **line, size_t *n,
                      uint64_t *line_no);

#endif

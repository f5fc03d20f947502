/* csv.h - a streaming RFC 4180 CSV reader: header row, quoted fields with
 * embedded commas, quotes ("") and newlines, CRLF or LF line ends.
 * Each data row becomes a JSON object keyed by the header; every value is a
 * string (typing is the schema's job), an empty unquoted cell is absent.
 * A row with more cells than the header is an error naming the line; fewer
 * cells leave the missing columns absent. Blank lines are skipped; a UTF-8
 * byte order mark before the header is dropped. The header must have
 * non-empty, distinct names. A row is at most CSV_ROW_MAX bytes (bounded
 * memory); a longer one is an error. */
#ifndef LAKEHOUSE_CSV_H
#define LAKEHOUSE_CSV_H

#include <stdio.h>
#include <jansson.h>
#include "error.h"

#define CSV_ROW_MAX (16 * 1024 * 1024)

struct csv_reader;

/* Reads the header row. The reader does not own `in`. NULL with err. */
struct csv_reader *csv_reader_open(FILE *in, char err[ERROR_MAX]);
/* The same for input whose first byte is on line first_line (a caller read
 * blank lines before it), so that messages name the file's lines. */
struct csv_reader *csv_reader_open_at(FILE *in, long first_line, char err[ERROR_MAX]);
/* The line where the row csv_reader_next returned last starts. */
long csv_reader_line(const struct csv_reader *reader);
/* 1: *row is a new reference; 0: end of input; -1: error (err names the line).
 * After an error in a row read whole (too many cells, bad UTF-8) the next
 * call reads the following row; after any other error stop reading. */
int csv_reader_next(struct csv_reader *reader, json_t **row, char err[ERROR_MAX]);
/* Free and set *reader to NULL. NULL-safe. */
void csv_reader_close(struct csv_reader **reader);

#endif

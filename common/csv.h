/* csv.h - a streaming RFC 4180 CSV reader: header row, quoted fields with
 * embedded commas, quotes ("") and newlines, CRLF or LF line ends.
 * Each data row becomes a JSON object keyed by the header; every value is a
 * string (typing is the schema's job), an empty unquoted cell is absent.
 * A row with more cells than the header is an error naming the line. */
#ifndef LAKEHOUSE_CSV_H
#define LAKEHOUSE_CSV_H

#include <stdio.h>
#include <jansson.h>
#include "error.h"

struct csv_reader;

/* Reads the header row. The reader does not own `in`. NULL with err. */
struct csv_reader *csv_reader_open(FILE *in, char err[ERROR_MAX]);
/* 1: *row is a new reference; 0: end of input; -1: error (err names the line). */
int csv_reader_next(struct csv_reader *reader, json_t **row, char err[ERROR_MAX]);
void csv_reader_close(struct csv_reader **reader);

#endif

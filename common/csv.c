/* csv.c - streaming RFC 4180 reader (see csv.h). One row is held in memory
 * at a time: its bytes in one buffer, its cells as offsets into it. */
#include "csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct csv_cell {
    size_t offset, length;
    bool quoted;
};

struct csv_reader {
    FILE *in;
    long line;          /* physical line of the next byte, from 1 */
    long row_line;      /* line where the last row read starts */
    char *bytes;        /* cell contents of the current row */
    size_t bytes_len, bytes_cap;
    struct csv_cell *cells;
    size_t cell_count, cell_cap;
    char **header;      /* owned copies of the header names */
    size_t column_count;
};

static int csv_append(struct csv_reader *r, char c, long row_line, char err[ERROR_MAX])
{
    if (r->bytes_len == r->bytes_cap) {
        if (r->bytes_cap >= CSV_ROW_MAX)
            return error_set(err, "line %ld: row longer than %d bytes", row_line, CSV_ROW_MAX);
        size_t cap = r->bytes_cap ? r->bytes_cap * 2 : 256;
        char *grown = realloc(r->bytes, cap);
        if (grown == NULL)
            return error_set(err, "line %ld: out of memory", row_line);
        r->bytes = grown;
        r->bytes_cap = cap;
    }
    r->bytes[r->bytes_len++] = c;
    return 0;
}

static int csv_push_cell(struct csv_reader *r, size_t offset, bool quoted, long row_line,
                         char err[ERROR_MAX])
{
    if (r->cell_count == r->cell_cap) {
        size_t cap = r->cell_cap ? r->cell_cap * 2 : 16;
        struct csv_cell *grown = realloc(r->cells, cap * sizeof *grown);
        if (grown == NULL)
            return error_set(err, "line %ld: out of memory", row_line);
        r->cells = grown;
        r->cell_cap = cap;
    }
    r->cells[r->cell_count++] =
        (struct csv_cell){.offset = offset, .length = r->bytes_len - offset, .quoted = quoted};
    return 0;
}

/* Read one row into r->cells, skipping blank lines. *row_line is the line it
 * starts on. 1: a row; 0: end of input; -1: error. */
static int csv_read_row(struct csv_reader *r, long *row_line, char err[ERROR_MAX])
{
    int c;
    do { /* blank lines (LF, CRLF or CR) carry no row */
        c = getc(r->in);
        if (c == '\r') {
            int next = getc(r->in);
            if (next != '\n' && next != EOF)
                ungetc(next, r->in);
            r->line++;
        } else if (c == '\n') {
            r->line++;
        }
    } while (c == '\r' || c == '\n');
    r->bytes_len = 0;
    r->cell_count = 0;
    *row_line = r->line;
    if (c == EOF)
        return ferror(r->in) ? error_set(err, "line %ld: read error", r->line) : 0;

    for (;;) {
        size_t offset = r->bytes_len;
        bool quoted = c == '"';
        if (quoted) {
            for (;;) {
                c = getc(r->in);
                if (c == EOF)
                    return error_set(err, "line %ld: unterminated quoted field", *row_line);
                if (c == '"') {
                    c = getc(r->in);
                    if (c != '"')
                        break; /* closing quote; c is the byte after it */
                }
                if (c == '\n')
                    r->line++;
                if (csv_append(r, (char)c, *row_line, err) < 0)
                    return -1;
            }
            if (c != ',' && c != '\n' && c != '\r' && c != EOF)
                return error_set(err, "line %ld: unexpected character after closing quote",
                                 r->line);
        } else {
            while (c != ',' && c != '\n' && c != '\r' && c != EOF) {
                if (csv_append(r, (char)c, *row_line, err) < 0)
                    return -1;
                c = getc(r->in);
            }
        }
        if (csv_push_cell(r, offset, quoted, *row_line, err) < 0)
            return -1;
        if (c == ',') {
            c = getc(r->in);
            continue;
        }
        if (c == '\r') {
            int next = getc(r->in);
            if (next != '\n' && next != EOF)
                ungetc(next, r->in);
        }
        if (c != EOF)
            r->line++;
        else if (ferror(r->in))
            return error_set(err, "line %ld: read error", r->line);
        return 1;
    }
}

struct csv_reader *csv_reader_open(FILE *in, char err[ERROR_MAX])
{
    return csv_reader_open_at(in, 1, err);
}

long csv_reader_line(const struct csv_reader *reader)
{
    return reader->row_line;
}

struct csv_reader *csv_reader_open_at(FILE *in, long first_line, char err[ERROR_MAX])
{
    struct csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        error_set(err, "csv: out of memory");
        return NULL;
    }
    r->in = in;
    r->line = first_line;
    /* Allocated up front: a row of empty cells appends no byte, and a cell's
     * bytes + offset must never be NULL + 0 (undefined; found by fuzz_csv). */
    r->bytes_cap = 256;
    r->bytes = malloc(r->bytes_cap);
    if (r->bytes == NULL) {
        free(r);
        error_set(err, "csv: out of memory");
        return NULL;
    }
    long row_line;
    int rc = csv_read_row(r, &row_line, err);
    if (rc == 0)
        error_set(err, "csv: empty input, expected a header row");
    if (rc <= 0)
        goto fail;
    r->header = calloc(r->cell_count, sizeof *r->header);
    if (r->header == NULL) {
        error_set(err, "csv: out of memory");
        goto fail;
    }
    r->column_count = r->cell_count;
    for (size_t i = 0; i < r->cell_count; i++) {
        const char *name = r->bytes + r->cells[i].offset;
        size_t len = r->cells[i].length;
        if (i == 0 && len >= 3 && memcmp(name, "\xEF\xBB\xBF", 3) == 0) {
            name += 3; /* UTF-8 byte order mark, as spreadsheets write it */
            len -= 3;
        }
        if (len == 0) {
            error_set(err, "line %ld: header column %zu has no name", row_line, i + 1);
            goto fail;
        }
        json_t *check = json_stringn(name, len); /* names become JSON keys */
        if (check == NULL || memchr(name, '\0', len) != NULL) {
            json_decref(check);
            error_set(err, "line %ld: header column %zu is not valid UTF-8 text", row_line, i + 1);
            goto fail;
        }
        json_decref(check);
        r->header[i] = strndup(name, len);
        if (r->header[i] == NULL) {
            error_set(err, "csv: out of memory");
            goto fail;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(r->header[j], r->header[i]) == 0) {
                error_set(err, "line %ld: duplicate header column '%.100s'", row_line,
                          r->header[i]);
                goto fail;
            }
        }
    }
    return r;
fail:
    csv_reader_close(&r);
    return NULL;
}

int csv_reader_next(struct csv_reader *reader, json_t **row, char err[ERROR_MAX])
{
    *row = NULL;
    long row_line;
    int rc = csv_read_row(reader, &row_line, err);
    if (rc <= 0)
        return rc;
    reader->row_line = row_line;
    if (reader->cell_count > reader->column_count)
        return error_set(err, "line %ld: %zu cells but the header has %zu columns", row_line,
                         reader->cell_count, reader->column_count);
    json_t *object = json_object();
    if (object == NULL)
        return error_set(err, "line %ld: out of memory", row_line);
    for (size_t i = 0; i < reader->cell_count; i++) {
        const struct csv_cell *cell = &reader->cells[i];
        if (cell->length == 0 && !cell->quoted)
            continue; /* empty unquoted cell: absent */
        json_t *value = json_stringn(reader->bytes + cell->offset, cell->length);
        if (value == NULL || json_object_set_new(object, reader->header[i], value) < 0) {
            json_decref(object);
            return error_set(err, "line %ld: column '%.100s' is not valid UTF-8", row_line,
                             reader->header[i]);
        }
    }
    *row = object;
    return 1;
}

void csv_reader_close(struct csv_reader **reader)
{
    if (reader == NULL || *reader == NULL)
        return;
    struct csv_reader *r = *reader;
    for (size_t i = 0; r->header != NULL && i < r->column_count; i++)
        free(r->header[i]);
    free(r->header);
    free(r->cells);
    free(r->bytes);
    free(r);
    *reader = NULL;
}

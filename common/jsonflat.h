/* jsonflat.h - the one fast scanner for flat JSON objects (one NDJSON line),
 * used by ingest (every record it receives) and by the processor's merge
 * (every bronze line it reads again).
 *
 * Building a jansson tree per line (a malloc per key and value, a hash
 * table, a mutex around the allocator) was most of the CPU of both. Nearly
 * every line is a flat object of scalars, so this scanner reads such a line
 * in place into an array of fields whose keys and string values point into
 * the line.
 *
 * It accepts only a strict subset and says "not mine" for everything else,
 * so that the caller parses that line with jansson and behaves exactly as
 * before: the same values for what it accepts (integers without fraction or
 * exponent as int64, other numbers as strtod reads them, UTF-8 checked like
 * jansson), and every error, every rare form and every edge is jansson's to
 * handle. Not in the subset: nested objects and arrays, the \u escape (and,
 * without JSONFLAT_ESCAPES, every backslash escape), a control character or
 * invalid UTF-8 in a string, an integer outside int64 or a real that
 * overflows, a number over 63 characters, anything after the closing brace
 * but blanks, more fields than the caller's array holds. Duplicate keys are
 * returned as they come (jansson keeps the last one or refuses them, by its
 * flags): the caller must treat a repeated key as "not mine" too. */
#ifndef LAKEHOUSE_JSONFLAT_H
#define LAKEHOUSE_JSONFLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jsonflat_type {
    JSONFLAT_NULL,
    JSONFLAT_TRUE,
    JSONFLAT_FALSE,
    JSONFLAT_INTEGER,
    JSONFLAT_REAL,
    JSONFLAT_STRING
};

struct jsonflat_field {
    const char *key;       /* into the line, not NUL-terminated */
    size_t key_len;
    enum jsonflat_type type;
    bool escaped;          /* the key or the string holds escapes: jsonflat_unescape */
    const char *str;       /* JSONFLAT_STRING: into the line, not NUL-terminated */
    size_t len;
    int64_t integer;       /* JSONFLAT_INTEGER */
    double real;           /* JSONFLAT_REAL */
};

/* Accept the escapes \" \\ \/ \b \f \n \r \t in keys and strings (left in
 * place: the field says `escaped`, the caller decodes). */
#define JSONFLAT_ESCAPES 1u

/* Scan text[0..len) as one flat JSON object. Returns the number of fields
 * written to fields[0..max), or -1 when the line is not in the subset above
 * (the caller parses it with a full parser, which also reports errors). */
int jsonflat_scan(const char *text, size_t len, struct jsonflat_field *fields, size_t max,
                  unsigned flags);

/* Decode the escapes of a key or string s[0..len) that jsonflat_scan
 * accepted into out (room for len bytes; no NUL added). Returns the decoded
 * length (at most len). */
size_t jsonflat_unescape(const char *s, size_t len, char *out);

#endif

/* jsonfields.h - the fast reader of one NDJSON record line: a JSON object of
 * scalar fields read straight into flat fields (fields.h), without building
 * a jansson tree. Profiles of ingest showed the tree (allocations, hashing,
 * freeing) as most of a record's cost.
 *
 * It accepts exactly what jansson's json_loadb(JSON_REJECT_DUPLICATES)
 * accepts for such a line and yields the same values: RFC 8259 numbers (an
 * integer without fraction or exponent is an int64, anything else a double
 * read by strtod), strings with the escapes \" \\ \/ \b \f \n \r \t and
 * valid UTF-8, true, false, null, spaces/tabs/CR/LF between tokens. It
 * answers "not simple" for everything else (nested values, \u escapes, more
 * than FIELDS_MAX fields, duplicate keys, an integer beyond int64, a real
 * that overflows, malformed text); the caller then parses the line with
 * jansson, which reports errors with their usual messages. */
#ifndef INGEST_JSONFIELDS_H
#define INGEST_JSONFIELDS_H

#include <stddef.h>

#include "fields.h"

/* 1: the line p[0..n) is a simple object, its fields are in fs; 0: not
 * simple (fs holds nothing usable); -1: out of memory. */
int jsonfields_read(const char *p, size_t n, struct fields *fs);

#endif

/* fields.h - one record as the flat list of its top-level fields
 * (schema_field), the form ingest's fast readers hand to validation
 * (schema_normalize_fields) instead of a jansson tree.
 *
 * The fast readers (fields_read_json for NDJSON lines, over the flat
 * scanner jsonflat.h; mpjson_next_fields for msgpack maps) take only the common shape: an object of at most FIELDS_MAX
 * distinct keys whose values are scalars (null, booleans, integers, finite
 * reals, strings). Anything else - nested values, escapes they do not
 * decode, duplicate keys, malformed input - makes them answer "not simple",
 * and the caller runs the record through the jansson path, which keeps
 * every refusal, message and rejected/ line exactly as before. Keys and
 * strings are copied into `arena`, NUL-terminated, after one reservation
 * per record (so the pointers never move while a record is read). */
#ifndef INGEST_FIELDS_H
#define INGEST_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"
#include "schema.h"
#include "validate.h"

#define FIELDS_MAX 64
/* Most key and string bytes a reader that cannot size a record beforehand
 * (msgpack) reserves; a larger record takes the jansson path. */
#define FIELDS_ARENA_MAX (64 * 1024)

struct fields {
    struct schema_field f[FIELDS_MAX];
    size_t key_len[FIELDS_MAX]; /* strlen(f[i].key): the duplicate check compares lengths first */
    size_t count;
    struct strbuf arena;
};

/* Start a record of at most `bytes` bytes of keys and strings (plus their
 * terminators). false when out of memory. */
bool fields_begin(struct fields *fs, size_t bytes);
/* Copy s[0..n) into the arena with a NUL; the copy, or NULL when the room
 * reserved by fields_begin does not hold it (the record is not simple). */
char *fields_copy(struct fields *fs, const void *s, size_t n);
/* Is key[0..len) already one of the fields read so far? */
bool fields_has_key(const struct fields *fs, const char *key, size_t len);

/* Read the NDJSON line p[0..n) when it is a simple object: exactly what
 * jansson's json_loadb(JSON_REJECT_DUPLICATES) accepts for such a line, with
 * the same values (jsonflat.h's subset, escapes decoded, no duplicate key).
 * 1: the fields are in fs; 0: not simple (fs holds nothing usable, the
 * caller takes the jansson path, which reports errors); -1: out of memory. */
int fields_read_json(const char *p, size_t n, struct fields *fs);

void fields_free(struct fields *fs);

#endif

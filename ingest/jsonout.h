/* jsonout.h - ingest's compact JSON writer: serialises jansson values straight
 * into a group-commit buffer (buf.h), replacing json_dumpb on the hot path.
 *
 * Output is what json_dumpb(JSON_COMPACT) writes (insertion order of object
 * keys, the same string escapes: \" \\ \b \f \n \r \t, \u00XX uppercase for
 * other control characters, UTF-8 and '/' as they are), with one deliberate
 * difference: a real is written in the shortest form that reads back as the
 * same double ("14.56", not "%.17g"'s "14.560000000000000") when that form
 * has at most 15 fraction digits and 16 significant digits; otherwise in
 * jansson's own "%.17g" form. The value every reader parses is identical, and
 * the common case costs no printf. Strings are assumed valid UTF-8 (jansson's
 * decoder and the msgpack reader guarantee it). */
#ifndef INGEST_JSONOUT_H
#define INGEST_JSONOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h> /* buf.h uses SIZE_MAX */

#include "strbuf.h"
#include "schema.h"
#include "validate.h"

/* Append one value. false when out of memory or nested too deep (the
 * buffer may then hold a partial value: the caller cuts it back). */
bool jsonout_value(struct strbuf *b, const json_t *value);
/* Append a validated value (schema.h): the same text jsonout_value writes
 * for the jansson value it stands for. false for ABSENT. */
bool jsonout_schema_value(struct strbuf *b, const struct schema_value *v);
/* Append s[0..len) as a JSON string (quotes included). */
bool jsonout_string(struct strbuf *b, const char *s, size_t len);
/* Decimal digits of v into out (at least 20 bytes; no terminator); returns
 * the count. */
size_t jsonout_u64(char *out, uint64_t v);
/* Append a real as described above. */
bool jsonout_real(struct strbuf *b, double d);

#endif

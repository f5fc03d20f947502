/* validate.h - per-record validation and normalisation against an endpoint
 * schema (common/schema.h holds the model), for ingest.
 *
 * Validation of one record (a JSON object) produces its normalised form:
 *   - schema columns in schema order; absent and null fields are omitted;
 *     missing required fields / primary keys are errors;
 *   - string: JSON string. integer: JSON integer (int64), or a string holding a
 *     clean integer literal (CSV input). float: any JSON number or a numeric
 *     string. boolean: true/false or "true"/"false". timestamp/date: strings,
 *     normalised by timeutil (ISO 8601 or the column's format). json: any value.
 *     array: JSON array. decimal: a string of digits ("-12.50") kept exactly, or
 *     a JSON number whose exact digits are recoverable (integers; reals with at
 *     most 15 significant digits) - otherwise an error telling the producer to
 *     send the value as a string; precision/scale checked; stored as a string.
 *   - MANUAL: fields the schema does not know go into "_rescued" (an object of
 *     the original fields); they are never dropped.
 *   - AUTO_INFERENCE: call schema_evolve first; fields whose value cannot be
 *     stored in the column's type (and cannot widen it) go into "_rescued".
 *   - SINGLE_COLUMN: the whole input value (any JSON) becomes {"data": value};
 *     the schema has the one column "data" of type json.
 * Errors name the field and the problem, e.g.
 *   "field 'delay': expected integer, got string \"abc\"".
 * Details of the implementation (validate.c):
 *   - a null field counts as absent everywhere, also for unknown fields (it is
 *     not copied into _rescued);
 *   - integer also accepts a JSON real with an integral value up to 2^53
 *     (5.0 -> 5); integer strings are [+-]?[0-9]+ without spaces;
 *   - boolean strings are matched case-insensitively ("TRUE" from spreadsheets);
 *   - decimal normal form: no '+', no leading zeros, no "-0", fraction padded to
 *     the scale ("12.5" -> "12.50" with scale 2); extra fraction digits beyond
 *     the scale are accepted only when they are zeros;
 *   - AUTO_INFERENCE maps a record field to a column by exact name, else by
 *     names_sanitize_column(field) compared case-insensitively; evolution
 *     also widens date -> timestamp; a value that fails its column goes to
 *     _rescued unless the column is required or a primary key (then an error). */
#ifndef INGEST_VALIDATE_H
#define INGEST_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "error.h"
#include "schema.h"

/* Validate and normalise one record. On success *normalized is a new object
 * (caller owns the reference). On failure returns -1 with err. */
int schema_validate_record(const struct schema *schema, const json_t *record,
                           json_t **normalized, char err[ERROR_MAX]);

/* Normalise without checking (validate=false in the protocol): values are
 * stored as given, unknown fields still go to _rescued. Same ownership. */
int schema_passthrough_record(const struct schema *schema, const json_t *record,
                              json_t **normalized, char err[ERROR_MAX]);

/* The same normalisation (check = true: schema_validate_record, false:
 * schema_passthrough_record) without building the normalised object, for
 * writers that serialise it themselves (ingest's hot path): values[i] (an
 * array of column_count) receives a new reference to column i's normal form,
 * or NULL when absent; *rescued the "_rescued" object or NULL. The object
 * form is these values in column order, then "_rescued". The caller owns
 * every reference; on failure all are NULL. Not for SINGLE_COLUMN schemas
 * (returns -1). */
int schema_normalize_values(const struct schema *schema, const json_t *record, bool check,
                            json_t **values, json_t **rescued, char err[ERROR_MAX]);

/* The per-field rules above, fed by any decoder. schema_validate_record and
 * friends turn a jansson object into these fields and call the same code, so
 * the rules have one implementation; ingest's fast readers (NDJSON lines and
 * msgpack maps decoded without a jansson tree) build the fields themselves.
 *
 * A value is borrowed from its decoder: a string is UTF-8 without NUL inside
 * and NUL-terminated (s[len] == '\0'); `json` is the jansson value it was
 * made from (then the rules share it instead of copying), always set for
 * OBJECT and ARRAY, NULL for a scalar a reader decoded itself. */
enum schema_value_kind {
    SCHEMA_VALUE_ABSENT, /* output only: the column has no value */
    SCHEMA_VALUE_NULL,
    SCHEMA_VALUE_FALSE,
    SCHEMA_VALUE_TRUE,
    SCHEMA_VALUE_INTEGER,
    SCHEMA_VALUE_REAL,
    SCHEMA_VALUE_STRING,
    SCHEMA_VALUE_OBJECT,
    SCHEMA_VALUE_ARRAY
};

#define SCHEMA_VALUE_TEXT_MAX 64

struct schema_value {
    enum schema_value_kind kind;
    int64_t i; /* INTEGER */
    double d;  /* REAL */
    const char *s; /* STRING */
    size_t len;
    json_t *json;
    /* Output only: text the rules produced (a normalised timestamp or
     * decimal) lives in `text`, or in `heap` when longer (then owned:
     * schema_values_clear). An output value is not to be copied. */
    char *heap;
    char text[SCHEMA_VALUE_TEXT_MAX];
};

struct schema_field {
    const char *key; /* NUL-terminated */
    struct schema_value value;
};

/* The value of a jansson value (borrowed; json set). */
void schema_value_from_json(json_t *json, struct schema_value *out);
/* A new jansson value for v (a new reference to v->json when set). NULL
 * when out of memory (or v is ABSENT). */
json_t *schema_value_to_json(const struct schema_value *v);
/* Free what outputs own (heap text); NULL-safe for n == 0. */
void schema_values_clear(struct schema_value *values, size_t n);

/* schema_normalize_values over a record given as its n top-level fields
 * (distinct keys, any order; not SINGLE_COLUMN): values (column_count of
 * them) receive each column's normal form (ABSENT when it has none; they
 * may point into the fields' strings, so the fields must outlive them),
 * *rescued a new object of the fields the schema does not take (or NULL).
 * Same checks and messages as schema_validate_record (check = true) or
 * schema_passthrough_record. -1 with err (values cleared, *rescued NULL). */
int schema_normalize_fields(const struct schema *schema, const struct schema_field *fields,
                            size_t n, bool check, struct schema_value *values, json_t **rescued,
                            char err[ERROR_MAX]);

#endif

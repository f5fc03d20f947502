/* schema.h - endpoint schemas: types, modes, JSON form, record validation and
 * inference. Pure logic: no I/O (the catalog stores schemas, ingest applies them).
 *
 * JSON form of a schema (the file given to `lakehouse endpoint create`, and the
 * body of the later HTTP API):
 *   {"domain":"demo","name":"flights","mode":"MANUAL","description":"...",
 *    "columns":[{"name":"id","type":"integer","required":true,"primary_key":true,
 *                "description":"..."},
 *               {"name":"date","type":"timestamp","format":"%Y/%m/%d %H:%M"},
 *               {"name":"price","type":"decimal","precision":12,"scale":2}]}
 * In a later version a column may carry "renamed_from":"<its previous name>"
 * (a rename) or "widen":true (its type changes to string); a column left out
 * is dropped (schema_check_compatible says what is allowed).
 * Types: string integer float boolean timestamp date json array decimal.
 * A primary-key column is required. Column names follow names.h; "format" only
 * on timestamp/date; precision/scale only on decimal (0 = unbounded).
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
 * Details of the implementation (schema.c):
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
 *     _rescued unless the column is required or a primary key (then an error);
 *   - column names are unique case-insensitively (SQLite identifiers are);
 *   - schema_from_json refuses unknown keys; "version" is accepted (the output
 *     of schema_to_json parses back); SINGLE_COLUMN gets its "data" column
 *     when "columns" is left out; MANUAL needs at least one column; a primary
 *     key cannot be json or array. */
#ifndef LAKEHOUSE_SCHEMA_H
#define LAKEHOUSE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "error.h"
#include "names.h"

enum schema_type {
    SCHEMA_TYPE_STRING,
    SCHEMA_TYPE_INTEGER,
    SCHEMA_TYPE_FLOAT,
    SCHEMA_TYPE_BOOLEAN,
    SCHEMA_TYPE_TIMESTAMP,
    SCHEMA_TYPE_DATE,
    SCHEMA_TYPE_JSON,
    SCHEMA_TYPE_ARRAY,
    SCHEMA_TYPE_DECIMAL
};

enum schema_mode { SCHEMA_MODE_MANUAL, SCHEMA_MODE_AUTO_INFERENCE, SCHEMA_MODE_SINGLE_COLUMN };

#define SCHEMA_FORMAT_MAX 64
#define SCHEMA_DESCRIPTION_MAX 512
#define SCHEMA_RESCUED_COLUMN "_rescued"
/* Most columns a schema may have (definitions and AUTO_INFERENCE growth);
 * leaves room below SQLite's 2000 for the metadata columns. */
#define SCHEMA_COLUMNS_MAX 1000

struct schema_column {
    char name[NAMES_MAX];
    enum schema_type type;
    bool required;
    bool primary_key;
    char format[SCHEMA_FORMAT_MAX]; /* strptime input format for timestamp/date; "" = ISO 8601 */
    int precision;                  /* decimal: total digits, 0 = unbounded */
    int scale;                      /* decimal: digits after the point, 0 = unbounded */
    char description[SCHEMA_DESCRIPTION_MAX];
    /* Schema evolution, declared in a new version (see schema_check_compatible):
     * "renamed_from": the name this column had in the previous version;
     * "widen": true accepts a change of this column's type to string. Both
     * act only in the version that makes the change: carried over unchanged
     * into later versions (GET, edit, PUT) they are kept and ignored. */
    char renamed_from[NAMES_MAX];   /* "" = not renamed */
    bool widen;
};

/* Expectations (data-quality rules, checked by the processor while it merges;
 * common/expectation.h): "expectations":[{"name":"delay_sane","rule":"delay > -120",
 * "action":"warn"|"drop"|"fail"}]. name: a column-style name, unique; rule: a
 * SQL expression over the columns (validated by catalog_put_endpoint with
 * expectation_check). They may change freely between versions. */
#define SCHEMA_EXPECTATIONS_MAX 64
#define SCHEMA_RULE_MAX 512
enum schema_expect_action { SCHEMA_EXPECT_WARN, SCHEMA_EXPECT_DROP, SCHEMA_EXPECT_FAIL };

struct schema_expectation {
    char name[NAMES_MAX];
    char rule[SCHEMA_RULE_MAX];
    enum schema_expect_action action;
};

const char *schema_expect_action_name(enum schema_expect_action action);

struct schema {
    char domain[NAMES_MAX];
    char name[NAMES_MAX];
    int version;                    /* 0 until stored in the catalog */
    enum schema_mode mode;
    char description[SCHEMA_DESCRIPTION_MAX];
    /* "sequence_by": the column whose larger value wins in a keyed silver
     * table (ties: the larger _seq), "" = _seq alone. Must name an integer,
     * float, timestamp or date column of a schema with a primary key; a
     * delete ("_op":"delete") must then carry it. Changing it is an
     * incompatible change. */
    char sequence_by[NAMES_MAX];
    size_t column_count;
    struct schema_column *columns;  /* owned */
    size_t expectation_count;
    struct schema_expectation *expectations; /* owned (NULL when none) */
};

const char *schema_type_name(enum schema_type type);
int schema_type_from_name(const char *name, enum schema_type *out);
/* SQLite declared type for a column: TEXT / INTEGER / REAL. Decimals are TEXT
 * so that SQLite never converts them to floating point. */
const char *schema_type_sql(enum schema_type type);
const char *schema_mode_name(enum schema_mode mode);
int schema_mode_from_name(const char *name, enum schema_mode *out);

/* Parse and check a schema definition (names, types, keys). Caller owns the
 * result (schema_destroy). NULL with err on failure. */
struct schema *schema_from_json(const json_t *definition, char err[ERROR_MAX]);
/* The JSON form above plus "version". Caller owns the new reference. */
json_t *schema_to_json(const struct schema *schema);
struct schema *schema_copy(const struct schema *schema);
/* Free and set *schema to NULL. NULL-safe. */
void schema_destroy(struct schema **schema);

const struct schema_column *schema_find_column(const struct schema *schema, const char *name);
size_t schema_primary_key_count(const struct schema *schema);

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

/* AUTO_INFERENCE: does this record need a new schema version? Returns 1 and a
 * new schema in *evolved (caller owns; version = current->version, the catalog
 * assigns the next) when the record has fields the schema lacks (names
 * sanitised with names_sanitize_column, types inferred) or widens a type
 * (integer -> float); 0 when the current schema fits; -1 on error.
 * current may have zero columns (first payload). Null-only fields add nothing. */
int schema_evolve(const struct schema *current, const json_t *record, struct schema **evolved,
                  char err[ERROR_MAX]);

/* Infer a column type from one JSON value (null -> -1). */
int schema_infer_type(const json_t *value, enum schema_type *out);

/* Is changing `from` into `to` a safe evolution? Allowed: adding nullable
 * columns; integer -> float; date -> timestamp; descriptions; and, declared
 * in a MANUAL `to`:
 *   - rename: a column with "renamed_from": "<old>" whose name is new (not a
 *     column of `from`, case-insensitively); <old> must be a column of `from`
 *     and no longer be one of `to`; at most one column per old name. Key and
 *     sequence_by columns may be renamed (sequence_by then names the new name);
 *   - drop: a column of `from` that `to` lacks (and that no column is renamed
 *     from), except a primary-key column or the sequence_by column;
 *   - any type -> string on a column with "widen": true (not a primary key).
 * Refused with a message naming the column and why: primary-key changes,
 * type narrowing or other type changes, making an existing column required,
 * a new required or key column, changing sequence_by, a rename or drop in
 * AUTO_INFERENCE (the next record would add the column back), a rename that
 * only changes the case of a name. */
int schema_check_compatible(const struct schema *from, const struct schema *to,
                            char err[ERROR_MAX]);

/* What column `name` of `from` became in `to` (the next version): the column
 * renamed from it, else the column of that name (case-insensitive); NULL when
 * `to` dropped it. Assumes schema_check_compatible(from, to) passed. */
const struct schema_column *schema_successor(const struct schema *from, const struct schema *to,
                                             const char *name);

#endif

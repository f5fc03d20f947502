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
 * columns; integer -> float; date -> timestamp; descriptions. Refused with a
 * message naming the column: primary-key changes, type narrowing or other
 * type changes, making an existing column required, removing a column,
 * changing sequence_by. */
int schema_check_compatible(const struct schema *from, const struct schema *to,
                            char err[ERROR_MAX]);

#endif

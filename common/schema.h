/* schema.h - endpoint schemas: types, modes, JSON form, inference and evolution. Pure logic: no I/O (the catalog stores schemas, ingest applies them).
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
 * Validation of one record is ingest's: ingest/validate.h.
 * Details of the implementation (schema.c):
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
#include <sys/types.h>
#include <jansson.h>
#include "error.h"
#include "names.h"

#define SCHEMA_SINGLE_COLUMN_NAME "data"
/* Integers a double holds exactly: up to 2^53. */
#define SCHEMA_EXACT_INT_MAX 9007199254740992.0

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

/* Helpers that evolution and validation share. The name of a JSON value's
 * kind ("object", "integer", ...). */
const char *schema_json_kind(const json_t *v);
/* A JSON real holding an integral value that a double represents exactly. */
bool schema_real_as_int64(double d, int64_t *out);
/* The column a record key maps to in AUTO_INFERENCE (names_sanitize_column,
 * then a case-insensitive match); -1 when none. */
ssize_t schema_auto_column(const struct schema *schema, const char *key);

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

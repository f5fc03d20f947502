/* schema.c - endpoint schemas (schema.h): the JSON form, inference and
 * evolution for AUTO_INFERENCE, and the compatibility rule between versions.
 * Per-record validation is ingest's (ingest/validate.c). */
#include "schema.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "nametable.h"
#include "timeutil.h"


static const char *const schema_type_names[] = {
    [SCHEMA_TYPE_STRING] = "string",       [SCHEMA_TYPE_INTEGER] = "integer",
    [SCHEMA_TYPE_FLOAT] = "float",         [SCHEMA_TYPE_BOOLEAN] = "boolean",
    [SCHEMA_TYPE_TIMESTAMP] = "timestamp", [SCHEMA_TYPE_DATE] = "date",
    [SCHEMA_TYPE_JSON] = "json",           [SCHEMA_TYPE_ARRAY] = "array",
    [SCHEMA_TYPE_DECIMAL] = "decimal",
};
#define SCHEMA_TYPE_COUNT (sizeof schema_type_names / sizeof schema_type_names[0])

static const char *const schema_mode_names[] = {
    [SCHEMA_MODE_MANUAL] = "MANUAL",
    [SCHEMA_MODE_AUTO_INFERENCE] = "AUTO_INFERENCE",
    [SCHEMA_MODE_SINGLE_COLUMN] = "SINGLE_COLUMN",
};
#define SCHEMA_MODE_COUNT (sizeof schema_mode_names / sizeof schema_mode_names[0])


/* ------------------------------------------------------------------ names */

const char *schema_type_name(enum schema_type type)
{
    return nametable_name(schema_type_names, SCHEMA_TYPE_COUNT, (int)type, "unknown");
}

int schema_type_from_name(const char *name, enum schema_type *out)
{
    int i = nametable_find(schema_type_names, SCHEMA_TYPE_COUNT, name, true);
    if (i < 0)
        return -1;
    *out = (enum schema_type)i;
    return 0;
}

const char *schema_type_sql(enum schema_type type)
{
    switch (type) {
    case SCHEMA_TYPE_INTEGER:
    case SCHEMA_TYPE_BOOLEAN:
        return "INTEGER";
    case SCHEMA_TYPE_FLOAT:
        return "REAL";
    default:
        return "TEXT";
    }
}

const char *schema_mode_name(enum schema_mode mode)
{
    return nametable_name(schema_mode_names, SCHEMA_MODE_COUNT, (int)mode, "unknown");
}

int schema_mode_from_name(const char *name, enum schema_mode *out)
{
    int i = nametable_find(schema_mode_names, SCHEMA_MODE_COUNT, name, true);
    if (i < 0)
        return -1;
    *out = (enum schema_mode)i;
    return 0;
}

/* ------------------------------------------------------- life cycle */

void schema_destroy(struct schema **schema)
{
    if (schema == NULL || *schema == NULL)
        return;
    free((*schema)->columns);
    free((*schema)->expectations);
    free(*schema);
    *schema = NULL;
}

struct schema *schema_copy(const struct schema *schema)
{
    struct schema *copy = malloc(sizeof *copy);
    if (copy == NULL)
        return NULL;
    *copy = *schema;
    copy->columns = NULL;
    if (schema->column_count > 0) {
        copy->columns = malloc(schema->column_count * sizeof *copy->columns);
        if (copy->columns == NULL) {
            free(copy);
            return NULL;
        }
        memcpy(copy->columns, schema->columns, schema->column_count * sizeof *copy->columns);
    }
    copy->expectations = NULL;
    if (schema->expectation_count > 0) {
        size_t size = schema->expectation_count * sizeof *copy->expectations;
        copy->expectations = malloc(size);
        if (copy->expectations == NULL) {
            free(copy->columns);
            free(copy);
            return NULL;
        }
        memcpy(copy->expectations, schema->expectations, size);
    }
    return copy;
}

const struct schema_column *schema_find_column(const struct schema *schema, const char *name)
{
    for (size_t i = 0; i < schema->column_count; i++)
        if (strcmp(schema->columns[i].name, name) == 0)
            return &schema->columns[i];
    return NULL;
}

/* SQLite identifiers are case-insensitive, so two columns that differ only in
 * case would collide in the silver table. */
static ssize_t schema_find_column_nocase(const struct schema *schema, const char *name)
{
    for (size_t i = 0; i < schema->column_count; i++)
        if (strcasecmp(schema->columns[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

size_t schema_primary_key_count(const struct schema *schema)
{
    size_t n = 0;
    for (size_t i = 0; i < schema->column_count; i++)
        if (schema->columns[i].primary_key)
            n++;
    return n;
}

/* Append a zeroed column; returns it or NULL when out of memory. */
static struct schema_column *schema_add_column(struct schema *schema)
{
    struct schema_column *cols =
        realloc(schema->columns, (schema->column_count + 1) * sizeof *schema->columns);
    if (cols == NULL)
        return NULL;
    schema->columns = cols;
    struct schema_column *col = &cols[schema->column_count++];
    memset(col, 0, sizeof *col);
    return col;
}

/* ----------------------------------------------------------- JSON form */

static int schema_copy_string(const json_t *value, char *out, size_t size, const char *what,
                              char err[ERROR_MAX])
{
    if (!json_is_string(value))
        return error_set(err, "%s must be a string", what);
    const char *s = json_string_value(value);
    if (json_string_length(value) != strlen(s))
        return error_set(err, "%s must not contain NUL characters", what);
    if (strlen(s) >= size)
        return error_set(err, "%s is too long (at most %zu characters)", what, size - 1);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int schema_column_from_json(struct schema *schema, size_t index, const json_t *def,
                                   char err[ERROR_MAX])
{
    if (!json_is_object(def))
        return error_set(err, "columns[%zu] must be an object", index);
    const json_t *name = json_object_get(def, "name");
    if (name == NULL)
        return error_set(err, "columns[%zu]: missing \"name\"", index);
    if (!json_is_string(name))
        return error_set(err, "columns[%zu]: \"name\" must be a string", index);
    const char *cname = json_string_value(name);
    if (names_check_column(cname, err) < 0)
        return error_prefix(err, "columns[%zu]", index);
    if (schema_find_column_nocase(schema, cname) >= 0)
        return error_set(err, "column '%s' is defined twice (column names are case-insensitive)",
                         cname);

    struct schema_column *col = schema_add_column(schema);
    if (col == NULL)
        return error_set(err, "out of memory");
    snprintf(col->name, sizeof col->name, "%s", cname);

    bool has_type = false, has_format = false, has_precision = false, has_scale = false;
    bool required_false = false;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)def, key, value) {
        if (strcmp(key, "name") == 0)
            continue;
        if (strcmp(key, "type") == 0) {
            if (!json_is_string(value) ||
                schema_type_from_name(json_string_value(value), &col->type) < 0)
                return error_set(err,
                                 "column '%s': unknown type %s%s%s (expected one of string, "
                                 "integer, float, boolean, timestamp, date, json, array, decimal)",
                                 cname, json_is_string(value) ? "'" : "",
                                 json_is_string(value) ? json_string_value(value) : "(not a string)",
                                 json_is_string(value) ? "'" : "");
            has_type = true;
        } else if (strcmp(key, "required") == 0 || strcmp(key, "primary_key") == 0) {
            if (!json_is_boolean(value))
                return error_set(err, "column '%s': \"%s\" must be true or false", cname, key);
            if (key[0] == 'r') {
                col->required = json_is_true(value);
                required_false = !col->required;
            } else {
                col->primary_key = json_is_true(value);
            }
        } else if (strcmp(key, "description") == 0) {
            if (schema_copy_string(value, col->description, sizeof col->description,
                                   "description", err) < 0)
                return error_prefix(err, "column '%s'", cname);
        } else if (strcmp(key, "renamed_from") == 0) {
            if (!json_is_string(value) || !names_is_valid_column(json_string_value(value)))
                return error_set(err, "column '%s': \"renamed_from\" must be a column name",
                                 cname);
            snprintf(col->renamed_from, sizeof col->renamed_from, "%s",
                     json_string_value(value));
        } else if (strcmp(key, "widen") == 0) {
            if (!json_is_boolean(value))
                return error_set(err, "column '%s': \"widen\" must be true or false", cname);
            col->widen = json_is_true(value);
        } else if (strcmp(key, "format") == 0) {
            if (schema_copy_string(value, col->format, sizeof col->format, "\"format\"", err) < 0)
                return error_prefix(err, "column '%s'", cname);
            has_format = col->format[0] != '\0';
        } else if (strcmp(key, "precision") == 0 || strcmp(key, "scale") == 0) {
            if (!json_is_integer(value) || json_integer_value(value) < 0 ||
                json_integer_value(value) > 1000)
                return error_set(err, "column '%s': \"%s\" must be an integer from 0 to 1000",
                                 cname, key);
            if (key[0] == 'p') {
                col->precision = (int)json_integer_value(value);
                has_precision = true;
            } else {
                col->scale = (int)json_integer_value(value);
                has_scale = true;
            }
        } else {
            return error_set(err, "column '%s': unknown key \"%s\"", cname, key);
        }
    }
    if (!has_type)
        return error_set(err, "column '%s': missing \"type\"", cname);
    if (has_format && col->type != SCHEMA_TYPE_TIMESTAMP && col->type != SCHEMA_TYPE_DATE)
        return error_set(err, "column '%s': \"format\" is only allowed on timestamp and date columns",
                         cname);
    if ((has_precision || has_scale) && col->type != SCHEMA_TYPE_DECIMAL)
        return error_set(err,
                         "column '%s': \"precision\" and \"scale\" are only allowed on decimal columns",
                         cname);
    if (col->widen && col->type != SCHEMA_TYPE_STRING)
        return error_set(err,
                         "column '%s': \"widen\" is only for string columns (it declares a "
                         "change of the column's type to string)",
                         cname);
    if (has_format && timeutil_check_format(col->format, err) < 0)
        return error_prefix(err, "column '%s'", cname);
    if (col->precision > 0 && col->scale > col->precision)
        return error_set(err, "column '%s': scale %d is larger than precision %d", cname,
                         col->scale, col->precision);
    if (col->primary_key) {
        if (required_false)
            return error_set(err, "column '%s': a primary key column is always required", cname);
        if (col->type == SCHEMA_TYPE_JSON || col->type == SCHEMA_TYPE_ARRAY)
            return error_set(err, "column '%s': a primary key cannot be of type %s", cname,
                             schema_type_name(col->type));
        col->required = true;
    }
    return 0;
}

const char *schema_expect_action_name(enum schema_expect_action action)
{
    return action == SCHEMA_EXPECT_DROP ? "drop" : action == SCHEMA_EXPECT_FAIL ? "fail" : "warn";
}

/* "expectations": [{"name","rule","action"}] (the rule's SQL is checked by
 * expectation_check when the catalog stores the schema). */
static int schema_expectations_from_json(struct schema *schema, const json_t *list,
                                         char err[ERROR_MAX])
{
    if (!json_is_array(list))
        return error_set(err, "schema: \"expectations\" must be an array");
    size_t n = json_array_size(list);
    if (n > SCHEMA_EXPECTATIONS_MAX)
        return error_set(err, "schema: %zu expectations, at most %d are allowed", n,
                         SCHEMA_EXPECTATIONS_MAX);
    if (n == 0)
        return 0;
    schema->expectations = calloc(n, sizeof *schema->expectations);
    if (schema->expectations == NULL)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(list, i);
        struct schema_expectation *x = &schema->expectations[i];
        const char *key;
        json_t *value;
        bool has_rule = false;
        if (!json_is_object(e))
            return error_set(err, "schema: expectation %zu is not an object", i + 1);
        json_object_foreach((json_t *)e, key, value) {
            const char *v = json_is_string(value) ? json_string_value(value) : NULL;
            if (strcmp(key, "name") == 0) {
                if (v == NULL || !names_is_valid_column(v))
                    return error_set(err,
                                     "schema: expectation %zu: \"name\" must match "
                                     "^[A-Za-z][A-Za-z0-9_]{0,62}$",
                                     i + 1);
                snprintf(x->name, sizeof x->name, "%s", v);
            } else if (strcmp(key, "rule") == 0) {
                if (v == NULL || v[0] == '\0' || strlen(v) >= sizeof x->rule)
                    return error_set(err,
                                     "schema: expectation %zu: \"rule\" must be a SQL "
                                     "expression of 1 to %d characters",
                                     i + 1, SCHEMA_RULE_MAX - 1);
                snprintf(x->rule, sizeof x->rule, "%s", v);
                has_rule = true;
            } else if (strcmp(key, "action") == 0) {
                if (v != NULL && strcmp(v, "warn") == 0)
                    x->action = SCHEMA_EXPECT_WARN;
                else if (v != NULL && strcmp(v, "drop") == 0)
                    x->action = SCHEMA_EXPECT_DROP;
                else if (v != NULL && strcmp(v, "fail") == 0)
                    x->action = SCHEMA_EXPECT_FAIL;
                else
                    return error_set(err,
                                     "schema: expectation %zu: \"action\" must be warn, drop "
                                     "or fail",
                                     i + 1);
            } else {
                return error_set(err, "schema: expectation %zu: unknown key \"%s\"", i + 1,
                                 key);
            }
        }
        if (x->name[0] == '\0' || !has_rule)
            return error_set(err, "schema: expectation %zu needs a \"name\" and a \"rule\"",
                             i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(schema->expectations[j].name, x->name) == 0)
                return error_set(err, "schema: two expectations are named '%s'", x->name);
        schema->expectation_count = i + 1;
    }
    return 0;
}

/* What holds for the schema as a whole once its keys are read: a MANUAL
 * schema has columns, SINGLE_COLUMN its one "data" column, sequence_by a
 * column of an ordered type and a primary key. */
static int schema_check_whole(struct schema *schema, char err[ERROR_MAX])
{
    switch (schema->mode) {
    case SCHEMA_MODE_MANUAL:
        if (schema->column_count == 0) {
            error_set(err, "schema %s/%s: a MANUAL schema needs at least one column",
                      schema->domain, schema->name);
            return -1;
        }
        break;
    case SCHEMA_MODE_AUTO_INFERENCE:
        break;
    case SCHEMA_MODE_SINGLE_COLUMN:
        if (schema->column_count == 0) {
            struct schema_column *col = schema_add_column(schema);
            if (col == NULL) {
                error_set(err, "out of memory");
                return -1;
            }
            snprintf(col->name, sizeof col->name, "%s", SCHEMA_SINGLE_COLUMN_NAME);
            col->type = SCHEMA_TYPE_JSON;
        } else if (schema->column_count != 1 ||
                   strcmp(schema->columns[0].name, SCHEMA_SINGLE_COLUMN_NAME) != 0 ||
                   schema->columns[0].type != SCHEMA_TYPE_JSON || schema->columns[0].required) {
            error_set(err,
                      "schema %s/%s: a SINGLE_COLUMN schema has exactly one optional column "
                      "\"data\" of type json (leave \"columns\" out)",
                      schema->domain, schema->name);
            return -1;
        }
        break;
    }
    if (schema->sequence_by[0] != '\0') {
        const struct schema_column *c = schema_find_column(schema, schema->sequence_by);
        if (c == NULL) {
            error_set(err, "schema %s/%s: sequence_by '%s' is not a column", schema->domain,
                      schema->name, schema->sequence_by);
            return -1;
        }
        if (c->type != SCHEMA_TYPE_INTEGER && c->type != SCHEMA_TYPE_FLOAT &&
            c->type != SCHEMA_TYPE_TIMESTAMP && c->type != SCHEMA_TYPE_DATE) {
            error_set(err,
                      "schema %s/%s: sequence_by column '%s' is %s; it must be integer, float, "
                      "timestamp or date",
                      schema->domain, schema->name, c->name, schema_type_name(c->type));
            return -1;
        }
        if (schema_primary_key_count(schema) == 0) {
            error_set(err,
                      "schema %s/%s: sequence_by needs a primary key (it orders the versions "
                      "of a row)",
                      schema->domain, schema->name);
            return -1;
        }
    }
    return 0;
}

struct schema *schema_from_json(const json_t *definition, char err[ERROR_MAX])
{
    if (!json_is_object(definition)) {
        error_set(err, "schema definition must be a JSON object");
        return NULL;
    }
    struct schema *schema = calloc(1, sizeof *schema);
    if (schema == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    schema->mode = SCHEMA_MODE_MANUAL;
    const json_t *columns = NULL;
    bool has_domain = false, has_name = false;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)definition, key, value) {
        if (strcmp(key, "domain") == 0 || strcmp(key, "name") == 0) {
            bool is_domain = key[0] == 'd';
            char *out = is_domain ? schema->domain : schema->name;
            if (!json_is_string(value)) {
                error_set(err, "schema: \"%s\" must be a string", key);
                goto fail;
            }
            if (names_check_object(is_domain ? "domain" : "endpoint", json_string_value(value),
                                   err) < 0)
                goto fail;
            snprintf(out, NAMES_MAX, "%s", json_string_value(value));
            if (is_domain)
                has_domain = true;
            else
                has_name = true;
        } else if (strcmp(key, "mode") == 0) {
            if (!json_is_string(value) ||
                schema_mode_from_name(json_string_value(value), &schema->mode) < 0) {
                error_set(err,
                          "schema: unknown mode %s (expected MANUAL, AUTO_INFERENCE or "
                          "SINGLE_COLUMN)",
                          json_is_string(value) ? json_string_value(value) : "(not a string)");
                goto fail;
            }
        } else if (strcmp(key, "description") == 0) {
            if (schema_copy_string(value, schema->description, sizeof schema->description,
                                   "schema: description", err) < 0)
                goto fail;
        } else if (strcmp(key, "version") == 0) {
            if (!json_is_integer(value) || json_integer_value(value) < 0 ||
                json_integer_value(value) > INT32_MAX) {
                error_set(err, "schema: \"version\" must be a non-negative integer");
                goto fail;
            }
            schema->version = (int)json_integer_value(value);
        } else if (strcmp(key, "sequence_by") == 0) {
            if (!json_is_string(value) || !names_is_valid_column(json_string_value(value))) {
                error_set(err, "schema: \"sequence_by\" must be a column name");
                goto fail;
            }
            snprintf(schema->sequence_by, sizeof schema->sequence_by, "%s",
                     json_string_value(value));
        } else if (strcmp(key, "expectations") == 0) {
            if (schema_expectations_from_json(schema, value, err) < 0)
                goto fail;
        } else if (strcmp(key, "columns") == 0) {
            if (!json_is_array(value)) {
                error_set(err, "schema: \"columns\" must be an array");
                goto fail;
            }
            columns = value;
        } else {
            error_set(err, "schema: unknown key \"%s\"", key);
            goto fail;
        }
    }
    if (!has_domain) {
        error_set(err, "schema: missing \"domain\"");
        goto fail;
    }
    if (!has_name) {
        error_set(err, "schema: missing \"name\"");
        goto fail;
    }
    size_t n = columns ? json_array_size(columns) : 0;
    if (n > SCHEMA_COLUMNS_MAX) {
        error_set(err, "schema %s/%s: %zu columns, at most %d are allowed", schema->domain,
                  schema->name, n, SCHEMA_COLUMNS_MAX);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (schema_column_from_json(schema, i, json_array_get(columns, i), err) < 0) {
            error_prefix(err, "schema %s/%s", schema->domain, schema->name);
            goto fail;
        }
    }
    if (schema_check_whole(schema, err) < 0)
        goto fail;
    return schema;

fail:
    schema_destroy(&schema);
    return NULL;
}

json_t *schema_to_json(const struct schema *schema)
{
    json_t *columns = json_array();
    json_t *root = json_object();
    if (columns == NULL || root == NULL)
        goto fail;
    for (size_t i = 0; i < schema->column_count; i++) {
        const struct schema_column *col = &schema->columns[i];
        json_t *c = json_object();
        if (c == NULL || json_array_append_new(columns, c) < 0)
            goto fail;
        json_object_set_new(c, "name", json_string(col->name));
        json_object_set_new(c, "type", json_string(schema_type_name(col->type)));
        json_object_set_new(c, "required", json_boolean(col->required));
        json_object_set_new(c, "primary_key", json_boolean(col->primary_key));
        if (col->format[0] != '\0')
            json_object_set_new(c, "format", json_string(col->format));
        if (col->type == SCHEMA_TYPE_DECIMAL) {
            json_object_set_new(c, "precision", json_integer(col->precision));
            json_object_set_new(c, "scale", json_integer(col->scale));
        }
        if (col->description[0] != '\0')
            json_object_set_new(c, "description", json_string(col->description));
        if (col->renamed_from[0] != '\0')
            json_object_set_new(c, "renamed_from", json_string(col->renamed_from));
        if (col->widen)
            json_object_set_new(c, "widen", json_true());
    }
    json_object_set_new(root, "domain", json_string(schema->domain));
    json_object_set_new(root, "name", json_string(schema->name));
    json_object_set_new(root, "version", json_integer(schema->version));
    json_object_set_new(root, "mode", json_string(schema_mode_name(schema->mode)));
    if (schema->description[0] != '\0')
        json_object_set_new(root, "description", json_string(schema->description));
    if (schema->sequence_by[0] != '\0')
        json_object_set_new(root, "sequence_by", json_string(schema->sequence_by));
    if (schema->expectation_count > 0) {
        json_t *list = json_array();
        if (list == NULL || json_object_set_new(root, "expectations", list) < 0)
            goto fail;
        for (size_t i = 0; i < schema->expectation_count; i++) {
            const struct schema_expectation *x = &schema->expectations[i];
            json_t *e = json_pack("{s:s, s:s, s:s}", "name", x->name, "rule", x->rule, "action",
                                  schema_expect_action_name(x->action));
            if (e == NULL || json_array_append_new(list, e) < 0)
                goto fail;
        }
    }
    json_object_set_new(root, "columns", columns);
    return root;

fail:
    json_decref(columns);
    json_decref(root);
    return NULL;
}

/* ------------------------------------------------ helpers shared with validation */

const char *schema_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "float";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

/* A JSON real holding an integral value that a double represents exactly. */
bool schema_real_as_int64(double d, int64_t *out)
{
    if (!(d >= -SCHEMA_EXACT_INT_MAX && d <= SCHEMA_EXACT_INT_MAX) || d != trunc(d))
        return false;
    *out = (int64_t)d;
    return true;
}

/* AUTO_INFERENCE maps a record key to a column through names_sanitize_column
 * (that is how schema_evolve named it). -1 when the key maps to no column. */
ssize_t schema_auto_column(const struct schema *schema, const char *key)
{
    char sanitized[NAMES_MAX];
    names_sanitize_column(key, sanitized);
    return schema_find_column_nocase(schema, sanitized);
}

/* --------------------------------------------------- inference, evolution */

int schema_infer_type(const json_t *value, enum schema_type *out)
{
    switch (json_typeof(value)) {
    case JSON_STRING: {
        const char *s = json_string_value(value);
        if (timeutil_looks_like_timestamp(s))
            *out = SCHEMA_TYPE_TIMESTAMP;
        else if (timeutil_looks_like_date(s))
            *out = SCHEMA_TYPE_DATE;
        else
            *out = SCHEMA_TYPE_STRING;
        return 0;
    }
    case JSON_INTEGER: *out = SCHEMA_TYPE_INTEGER; return 0;
    case JSON_REAL: *out = SCHEMA_TYPE_FLOAT; return 0;
    case JSON_TRUE:
    case JSON_FALSE: *out = SCHEMA_TYPE_BOOLEAN; return 0;
    case JSON_ARRAY: *out = SCHEMA_TYPE_ARRAY; return 0;
    case JSON_OBJECT: *out = SCHEMA_TYPE_JSON; return 0;
    default: return -1;
    }
}

int schema_evolve(const struct schema *current, const json_t *record, struct schema **evolved,
                  char err[ERROR_MAX])
{
    *evolved = NULL;
    if (current->mode != SCHEMA_MODE_AUTO_INFERENCE)
        return 0;
    if (!json_is_object(record))
        return error_set(err, "record is not a JSON object (got %s)",
                         record ? schema_json_kind(record) : "nothing");
    struct schema *next = NULL; /* copied on the first change */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)record, key, v) {
        enum schema_type type;
        if (schema_infer_type(v, &type) < 0)
            continue; /* null-only fields add nothing */
        const struct schema *s = next ? next : current;
        ssize_t index = -1;
        const struct schema_column *exact = schema_find_column(s, key);
        if (exact != NULL)
            index = exact - s->columns;
        else
            index = schema_auto_column(s, key);

        if (index < 0) {
            char name[NAMES_MAX];
            names_sanitize_column(key, name);
            if (!names_is_valid_column(name))
                continue; /* cannot be a column: validation rescues it */
            if (s->column_count >= SCHEMA_COLUMNS_MAX) {
                schema_destroy(&next);
                return error_set(err, "field '%s': schema %s/%s already has %d columns, the limit",
                                 name, current->domain, current->name, SCHEMA_COLUMNS_MAX);
            }
            if (next == NULL && (next = schema_copy(current)) == NULL)
                return error_set(err, "out of memory");
            struct schema_column *col = schema_add_column(next);
            if (col == NULL) {
                schema_destroy(&next);
                return error_set(err, "out of memory");
            }
            memcpy(col->name, name, sizeof col->name);
            col->type = type;
            continue;
        }
        const struct schema_column *col = &s->columns[index];
        enum schema_type widened = col->type;
        int64_t ignored;
        if (col->type == SCHEMA_TYPE_INTEGER && json_is_real(v) &&
            !schema_real_as_int64(json_real_value(v), &ignored))
            widened = SCHEMA_TYPE_FLOAT;
        else if (col->type == SCHEMA_TYPE_DATE && type == SCHEMA_TYPE_TIMESTAMP)
            widened = SCHEMA_TYPE_TIMESTAMP;
        if (widened == col->type)
            continue; /* fits, or a conflict that validation rescues */
        if (next == NULL && (next = schema_copy(current)) == NULL)
            return error_set(err, "out of memory");
        /* A date column's input format stays: it yields a full date, and
         * ISO 8601 timestamps are accepted besides it. */
        next->columns[index].type = widened;
    }
    if (next == NULL)
        return 0;
    *evolved = next;
    return 1;
}

/* ---------------------------------------------------------- compatibility */

static bool schema_type_widens(enum schema_type from, enum schema_type to)
{
    return from == to || (from == SCHEMA_TYPE_INTEGER && to == SCHEMA_TYPE_FLOAT) ||
           (from == SCHEMA_TYPE_DATE && to == SCHEMA_TYPE_TIMESTAMP);
}

/* 0 = unbounded, so a bound may grow or disappear but never appear or shrink. */
static bool schema_bound_narrows(int from, int to)
{
    if (to == 0)
        return false;
    return from == 0 || to < from;
}

/* Does column b of `to` rename a column of `from`? Only where its name is
 * new: "renamed_from" carried over into later versions means nothing. */
static bool schema_is_rename(const struct schema *from, const struct schema_column *b)
{
    return b->renamed_from[0] != '\0' && schema_find_column_nocase(from, b->name) < 0;
}

const struct schema_column *schema_successor(const struct schema *from, const struct schema *to,
                                             const char *name)
{
    for (size_t i = 0; i < to->column_count; i++) {
        const struct schema_column *b = &to->columns[i];
        if (schema_is_rename(from, b) && strcasecmp(b->renamed_from, name) == 0)
            return b;
    }
    ssize_t j = schema_find_column_nocase(to, name);
    return j >= 0 ? &to->columns[j] : NULL;
}

/* The declarations of renames in `to`: each names a column of `from` that
 * `to` no longer has, once. */
static int schema_check_renames(const struct schema *from, const struct schema *to,
                                char err[ERROR_MAX])
{
    for (size_t i = 0; i < to->column_count; i++) {
        const struct schema_column *b = &to->columns[i];
        if (b->renamed_from[0] == '\0')
            continue;
        ssize_t same = schema_find_column_nocase(from, b->name);
        if (same >= 0) {
            /* carried over from the version that renamed it: ignored */
            if (strcasecmp(from->columns[same].renamed_from, b->renamed_from) == 0)
                continue;
            if (strcmp(from->columns[same].name, b->name) != 0)
                return error_set(err,
                                 "column '%s': renaming it to '%s' only changes the case of its "
                                 "name, which is not allowed (names are case-insensitive)",
                                 from->columns[same].name, b->name);
            return error_set(err,
                             "column '%s': \"renamed_from\": \"%s\" cannot apply: '%s' is "
                             "already a column of version %d (a rename needs a new name)",
                             b->name, b->renamed_from, b->name, from->version);
        }
        if (to->mode != SCHEMA_MODE_MANUAL)
            return error_set(err,
                             "column '%s': renaming a column needs a MANUAL schema (in %s the "
                             "next record would add '%s' back)",
                             b->renamed_from, schema_mode_name(to->mode), b->renamed_from);
        if (schema_find_column_nocase(from, b->renamed_from) < 0)
            return error_set(err,
                             "column '%s': \"renamed_from\": '%s' is not a column of version %d",
                             b->name, b->renamed_from, from->version);
        if (schema_find_column_nocase(to, b->renamed_from) >= 0)
            return error_set(err,
                             "column '%s': renamed to '%s' but still a column (a rename replaces "
                             "the old name; add the new column without \"renamed_from\" to keep "
                             "both)",
                             b->renamed_from, b->name);
        for (size_t j = 0; j < i; j++)
            if (schema_is_rename(from, &to->columns[j]) &&
                strcasecmp(to->columns[j].renamed_from, b->renamed_from) == 0)
                return error_set(err, "column '%s': renamed twice, to '%s' and to '%s'",
                                 b->renamed_from, to->columns[j].name, b->name);
    }
    return 0;
}

int schema_check_compatible(const struct schema *from, const struct schema *to,
                            char err[ERROR_MAX])
{
    if (from->mode != to->mode &&
        (from->mode == SCHEMA_MODE_SINGLE_COLUMN || to->mode == SCHEMA_MODE_SINGLE_COLUMN))
        return error_set(err, "mode change from %s to %s is not allowed",
                         schema_mode_name(from->mode), schema_mode_name(to->mode));
    if (schema_check_renames(from, to, err) < 0)
        return -1;
    /* sequence_by may follow a rename of its column, nothing else */
    const struct schema_column *seq =
        from->sequence_by[0] ? schema_successor(from, to, from->sequence_by) : NULL;
    if (seq == NULL && from->sequence_by[0] != '\0')
        return error_set(err,
                         "column '%s': dropping the sequence_by column is not allowed (it "
                         "decides which version of a row wins)",
                         from->sequence_by);
    if (strcmp(seq ? seq->name : "", to->sequence_by) != 0)
        return error_set(err,
                         "sequence_by: changing it from '%s' to '%s' is not allowed (the "
                         "winning version of rows already merged would change)",
                         from->sequence_by, to->sequence_by);
    for (size_t i = 0; i < from->column_count; i++) {
        const struct schema_column *a = &from->columns[i];
        const struct schema_column *b = schema_successor(from, to, a->name);
        if (b == NULL) {
            if (a->primary_key)
                return error_set(err,
                                 "column '%s': dropping a primary-key column is not allowed "
                                 "(rows are identified by it)",
                                 a->name);
            if (to->mode != SCHEMA_MODE_MANUAL)
                return error_set(err,
                                 "column '%s': removing a column is only allowed in a MANUAL "
                                 "schema (in %s the next record would add it back)",
                                 a->name, schema_mode_name(to->mode));
            continue; /* a drop */
        }
        if (strcmp(a->name, b->name) != 0 && strcasecmp(a->name, b->name) == 0)
            return error_set(err,
                             "column '%s': renaming it to '%s' only changes the case of its "
                             "name, which is not allowed (names are case-insensitive)",
                             a->name, b->name);
        if (a->primary_key != b->primary_key)
            return error_set(err, "column '%s': %s the primary key is not allowed", a->name,
                             a->primary_key ? "removing it from" : "adding it to");
        bool to_string = b->type == SCHEMA_TYPE_STRING && a->type != SCHEMA_TYPE_STRING;
        if (to_string && b->widen && a->primary_key)
            return error_set(err,
                             "column '%s': changing the type of a primary-key column is not "
                             "allowed (rows are identified by it)",
                             a->name);
        if (to_string && b->widen && to->mode != SCHEMA_MODE_MANUAL)
            return error_set(err, "column '%s': \"widen\" needs a MANUAL schema", a->name);
        if (!schema_type_widens(a->type, b->type) && !(to_string && b->widen))
            return error_set(err,
                             "column '%s': changing the type from %s to %s is not allowed (only "
                             "integer -> float, date -> timestamp, and any type -> string "
                             "declared with \"widen\": true)",
                             a->name, schema_type_name(a->type), schema_type_name(b->type));
        if (b->required && !a->required)
            return error_set(err, "column '%s': making an existing column required is not allowed",
                             a->name);
        if (a->type == SCHEMA_TYPE_DECIMAL && b->type == SCHEMA_TYPE_DECIMAL) {
            if (schema_bound_narrows(a->precision, b->precision) ||
                schema_bound_narrows(a->scale, b->scale))
                return error_set(err,
                                 "column '%s': narrowing decimal(%d,%d) to decimal(%d,%d) is not "
                                 "allowed (0 = unbounded)",
                                 a->name, a->precision, a->scale, b->precision, b->scale);
        }
    }
    for (size_t i = 0; i < to->column_count; i++) {
        const struct schema_column *b = &to->columns[i];
        if (schema_find_column_nocase(from, b->name) >= 0 || schema_is_rename(from, b))
            continue;
        if (b->primary_key)
            return error_set(err, "column '%s': adding a primary key column is not allowed",
                             b->name);
        if (b->required)
            return error_set(err, "column '%s': a new column must not be required (existing "
                             "records do not have it)",
                             b->name);
    }
    return 0;
}

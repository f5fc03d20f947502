/* schema.c - endpoint schemas (schema.h): the JSON form, per-record validation
 * and normalisation, inference and evolution for AUTO_INFERENCE, and the
 * compatibility rule between versions.
 *
 * Validation runs once per ingested record, so the hot path avoids needless
 * work: the rules run on flat fields (schema_normalize_fields; a jansson
 * object is turned into its members first, ingest's fast readers build them
 * without a tree), a field's column is found by trying the column at the
 * field's own position first, values that are already in normal form are
 * shared instead of copied, and the slow path (fields the schema does not
 * know) only runs when the record has more fields than matched. */
#include "schema.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "timeutil.h"

#define SCHEMA_SHOWN_MAX 40     /* characters of a bad value quoted in a message */
#define SCHEMA_SLOTS_STACK 64   /* columns handled without a heap allocation */
#define SCHEMA_DECIMAL_STACK 128
#define SCHEMA_REAL_DIGITS_MAX 15 /* significant digits a double always keeps exactly */
#define SCHEMA_EXACT_INT_MAX 9007199254740992.0 /* 2^53 */

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

#define SCHEMA_SINGLE_COLUMN_NAME "data"

/* ------------------------------------------------------------------ names */

const char *schema_type_name(enum schema_type type)
{
    if ((size_t)type >= SCHEMA_TYPE_COUNT)
        return "unknown";
    return schema_type_names[type];
}

int schema_type_from_name(const char *name, enum schema_type *out)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < SCHEMA_TYPE_COUNT; i++) {
        if (strcasecmp(name, schema_type_names[i]) == 0) {
            *out = (enum schema_type)i;
            return 0;
        }
    }
    return -1;
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
    if ((size_t)mode >= SCHEMA_MODE_COUNT)
        return "unknown";
    return schema_mode_names[mode];
}

int schema_mode_from_name(const char *name, enum schema_mode *out)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < SCHEMA_MODE_COUNT; i++) {
        if (strcasecmp(name, schema_mode_names[i]) == 0) {
            *out = (enum schema_mode)i;
            return 0;
        }
    }
    return -1;
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
    switch (schema->mode) {
    case SCHEMA_MODE_MANUAL:
        if (schema->column_count == 0) {
            error_set(err, "schema %s/%s: a MANUAL schema needs at least one column",
                      schema->domain, schema->name);
            goto fail;
        }
        break;
    case SCHEMA_MODE_AUTO_INFERENCE:
        break;
    case SCHEMA_MODE_SINGLE_COLUMN:
        if (schema->column_count == 0) {
            struct schema_column *col = schema_add_column(schema);
            if (col == NULL) {
                error_set(err, "out of memory");
                goto fail;
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
            goto fail;
        }
        break;
    }
    if (schema->sequence_by[0] != '\0') {
        const struct schema_column *c = schema_find_column(schema, schema->sequence_by);
        if (c == NULL) {
            error_set(err, "schema %s/%s: sequence_by '%s' is not a column", schema->domain,
                      schema->name, schema->sequence_by);
            goto fail;
        }
        if (c->type != SCHEMA_TYPE_INTEGER && c->type != SCHEMA_TYPE_FLOAT &&
            c->type != SCHEMA_TYPE_TIMESTAMP && c->type != SCHEMA_TYPE_DATE) {
            error_set(err,
                      "schema %s/%s: sequence_by column '%s' is %s; it must be integer, float, "
                      "timestamp or date",
                      schema->domain, schema->name, c->name, schema_type_name(c->type));
            goto fail;
        }
        if (schema_primary_key_count(schema) == 0) {
            error_set(err,
                      "schema %s/%s: sequence_by needs a primary key (it orders the versions "
                      "of a row)",
                      schema->domain, schema->name);
            goto fail;
        }
    }
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

/* ------------------------------------------------------ value checks */

static const char *schema_json_kind(const json_t *v)
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

/* ------------------------------------------------------------ values */

void schema_value_from_json(json_t *json, struct schema_value *out)
{
    out->json = json;
    out->heap = NULL;
    switch (json_typeof(json)) {
    case JSON_OBJECT: out->kind = SCHEMA_VALUE_OBJECT; break;
    case JSON_ARRAY: out->kind = SCHEMA_VALUE_ARRAY; break;
    case JSON_STRING:
        out->kind = SCHEMA_VALUE_STRING;
        out->s = json_string_value(json);
        out->len = json_string_length(json);
        break;
    case JSON_INTEGER:
        out->kind = SCHEMA_VALUE_INTEGER;
        out->i = json_integer_value(json);
        break;
    case JSON_REAL:
        out->kind = SCHEMA_VALUE_REAL;
        out->d = json_real_value(json);
        break;
    case JSON_TRUE: out->kind = SCHEMA_VALUE_TRUE; break;
    case JSON_FALSE: out->kind = SCHEMA_VALUE_FALSE; break;
    default: out->kind = SCHEMA_VALUE_NULL; break;
    }
}

json_t *schema_value_to_json(const struct schema_value *v)
{
    if (v->json != NULL)
        return json_incref(v->json);
    switch (v->kind) {
    case SCHEMA_VALUE_NULL: return json_null();
    case SCHEMA_VALUE_FALSE: return json_false();
    case SCHEMA_VALUE_TRUE: return json_true();
    case SCHEMA_VALUE_INTEGER: return json_integer(v->i);
    case SCHEMA_VALUE_REAL: return json_real(v->d);
    case SCHEMA_VALUE_STRING: return json_stringn(v->s, v->len);
    default: return NULL; /* ABSENT; OBJECT and ARRAY always carry json */
    }
}

void schema_values_clear(struct schema_value *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(values[i].heap);
        values[i].heap = NULL;
        values[i].kind = SCHEMA_VALUE_ABSENT;
    }
}

static const char *schema_value_kind_name(const struct schema_value *v)
{
    switch (v->kind) {
    case SCHEMA_VALUE_OBJECT: return "object";
    case SCHEMA_VALUE_ARRAY: return "array";
    case SCHEMA_VALUE_STRING: return "string";
    case SCHEMA_VALUE_INTEGER: return "integer";
    case SCHEMA_VALUE_REAL: return "float";
    case SCHEMA_VALUE_TRUE:
    case SCHEMA_VALUE_FALSE: return "boolean";
    default: return "null";
    }
}

/* The output is the input, shared (its json reference too). */
static void schema_value_same(struct schema_value *out, const struct schema_value *in)
{
    *out = *in;
    out->heap = NULL;
}

static void schema_value_scalar(struct schema_value *out, enum schema_value_kind kind)
{
    out->kind = kind;
    out->json = NULL;
    out->heap = NULL;
}

/* A string the rules produced: copied into the value. -1 out of memory. */
static int schema_value_text(struct schema_value *out, const char *s, size_t len)
{
    schema_value_scalar(out, SCHEMA_VALUE_STRING);
    char *dst = out->text;
    if (len >= sizeof out->text) {
        if ((out->heap = malloc(len + 1)) == NULL)
            return -1;
        dst = out->heap;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    out->s = dst;
    out->len = len;
    return 0;
}

/* "string \"abc\"", "float 1.5", "object"... for messages; bounded and with
 * control characters replaced so that one value cannot break a log line. */
static void schema_describe(const struct schema_value *v, char *out, size_t size)
{
    switch (v->kind) {
    case SCHEMA_VALUE_STRING: {
        const char *s = v->s;
        size_t len = v->len;
        char shown[SCHEMA_SHOWN_MAX + 1];
        size_t n = len < SCHEMA_SHOWN_MAX ? len : SCHEMA_SHOWN_MAX;
        for (size_t i = 0; i < n; i++)
            shown[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
        shown[n] = '\0';
        snprintf(out, size, "string \"%s%s\"", shown, len > n ? "..." : "");
        break;
    }
    case SCHEMA_VALUE_INTEGER:
        snprintf(out, size, "integer %lld", (long long)v->i);
        break;
    case SCHEMA_VALUE_REAL: {
        /* the shortest form that reads back the same: 0.1, not 0.10000000000000001 */
        double d = v->d;
        snprintf(out, size, "float %.15g", d);
        if (strtod(out + 6, NULL) != d)
            snprintf(out, size, "float %.17g", d);
        break;
    }
    case SCHEMA_VALUE_TRUE:
        snprintf(out, size, "boolean true");
        break;
    case SCHEMA_VALUE_FALSE:
        snprintf(out, size, "boolean false");
        break;
    default:
        snprintf(out, size, "%s", schema_value_kind_name(v));
        break;
    }
}

static int schema_type_error(const struct schema_column *col, const struct schema_value *v,
                             char err[ERROR_MAX])
{
    char shown[SCHEMA_SHOWN_MAX + 32];
    schema_describe(v, shown, sizeof shown);
    return error_set(err, "field '%s': expected %s, got %s", col->name,
                     schema_type_name(col->type), shown);
}

static bool schema_is_digit(char c) { return c >= '0' && c <= '9'; }

/* A clean integer literal: [+-]?[0-9]+, nothing else (no spaces). 1 parsed,
 * 0 not an integer literal, -1 out of the int64 range. */
static int schema_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool negative = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    if (i == len)
        return 0;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t acc = 0;
    bool overflow = false;
    for (; i < len; i++) {
        if (!schema_is_digit(s[i]))
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (limit - d) / 10)
            overflow = true; /* keep scanning: "123abc" is still "not a literal" */
        else
            acc = acc * 10 + d;
    }
    if (overflow)
        return -1;
    *out = negative ? (int64_t)(0 - acc) : (int64_t)acc;
    return 1;
}

/* A clean decimal/scientific literal accepted for float columns:
 * [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)? */
static bool schema_is_float_literal(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && schema_is_digit(s[i])) {
        i++;
        digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && schema_is_digit(s[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < len && schema_is_digit(s[i])) {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return false;
    }
    return i == len;
}

/* A JSON real holding an integral value that a double represents exactly. */
static bool schema_real_as_int64(double d, int64_t *out)
{
    if (!(d >= -SCHEMA_EXACT_INT_MAX && d <= SCHEMA_EXACT_INT_MAX) || d != trunc(d))
        return false;
    *out = (int64_t)d;
    return true;
}

/* Normal form of a decimal literal [+-]?digits[.digits] (either part may be
 * empty, not both): no '+', no leading zeros, "-" dropped from zero, fraction
 * padded to the column's scale; digits beyond the scale are refused unless
 * they are zeros. 0 with *out set (the input shared when already normal),
 * or -1 with err (*syntax set when the text is not a decimal literal at
 * all). */
static int schema_decimal_normalize(const struct schema_column *col, const char *s, size_t len,
                                    const struct schema_value *original, struct schema_value *out,
                                    bool *syntax, char err[ERROR_MAX])
{
    *syntax = false;
    size_t i = 0;
    bool negative = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    const char *int_part = s + i;
    size_t int_len = 0;
    while (i < len && schema_is_digit(s[i])) {
        i++;
        int_len++;
    }
    const char *frac = s + i;
    size_t frac_len = 0;
    if (i < len && s[i] == '.') {
        i++;
        frac = s + i;
        while (i < len && schema_is_digit(s[i])) {
            i++;
            frac_len++;
        }
    }
    if (i != len || int_len + frac_len == 0) {
        *syntax = true;
        error_set(err, "not a decimal literal");
        return -1;
    }
    while (int_len > 0 && int_part[0] == '0') { /* leading zeros carry no value */
        int_part++;
        int_len--;
    }
    size_t scale = (size_t)col->scale;
    if (scale > 0 && frac_len > scale) {
        for (size_t k = scale; k < frac_len; k++) {
            if (frac[k] != '0')
                goto scale_error;
        }
        frac_len = scale;
    }
    if (col->precision > 0) {
        size_t digits = int_len;
        if (scale > 0) {
            if (int_len > (size_t)(col->precision - col->scale))
                goto precision_error;
        } else {
            size_t significant = frac_len;
            while (significant > 0 && frac[significant - 1] == '0')
                significant--;
            if (digits + significant > (size_t)col->precision)
                goto precision_error;
        }
    }
    size_t out_frac = frac_len > scale ? frac_len : scale;
    bool zero = int_len == 0;
    for (size_t k = 0; zero && k < frac_len; k++)
        zero = frac[k] == '0';

    char stack[SCHEMA_DECIMAL_STACK];
    size_t need = 1 + (int_len ? int_len : 1) + 1 + out_frac + 1;
    char *buf = need <= sizeof stack ? stack : malloc(need);
    if (buf == NULL) {
        error_set(err, "out of memory");
        return -1;
    }
    size_t n = 0;
    if (negative && !zero)
        buf[n++] = '-';
    if (int_len == 0) {
        buf[n++] = '0';
    } else {
        memcpy(buf + n, int_part, int_len);
        n += int_len;
    }
    if (out_frac > 0) {
        buf[n++] = '.';
        memcpy(buf + n, frac, frac_len);
        n += frac_len;
        for (size_t k = frac_len; k < out_frac; k++)
            buf[n++] = '0';
    }
    int rc = 0;
    if (original != NULL && n == len && memcmp(buf, s, n) == 0)
        schema_value_same(out, original); /* already normal: share it */
    else if (schema_value_text(out, buf, n) < 0)
        rc = error_set(err, "out of memory");
    if (buf != stack)
        free(buf);
    return rc;

scale_error:
    error_set(err, "field '%s': decimal %.*s%s has more than %d digits after the point (scale %d)",
              col->name, (int)(len < SCHEMA_SHOWN_MAX ? len : SCHEMA_SHOWN_MAX), s,
              len > SCHEMA_SHOWN_MAX ? "..." : "", col->scale, col->scale);
    return -1;
precision_error:
    if (col->scale > 0)
        error_set(err,
                  "field '%s': decimal %.*s%s does not fit precision %d, scale %d (at most %d "
                  "digits before the point)",
                  col->name, (int)(len < SCHEMA_SHOWN_MAX ? len : SCHEMA_SHOWN_MAX), s,
                  len > SCHEMA_SHOWN_MAX ? "..." : "", col->precision, col->scale,
                  col->precision - col->scale);
    else
        error_set(err, "field '%s': decimal %.*s%s does not fit precision %d (at most %d digits)",
                  col->name, (int)(len < SCHEMA_SHOWN_MAX ? len : SCHEMA_SHOWN_MAX), s,
                  len > SCHEMA_SHOWN_MAX ? "..." : "", col->precision, col->precision);
    return -1;
}

/* The exact decimal digits of a double when it has at most 15 significant
 * digits (then the shortest such form reads back as the same double, and it
 * is what the producer wrote). Plain notation, no exponent. 0 or -1. */
static int schema_real_to_plain(double d, char *out, size_t size)
{
    char sci[40];
    int sig = 1;
    for (; sig <= SCHEMA_REAL_DIGITS_MAX; sig++) {
        snprintf(sci, sizeof sci, "%.*e", sig - 1, d);
        if (strtod(sci, NULL) == d)
            break;
    }
    if (sig > SCHEMA_REAL_DIGITS_MAX)
        return -1;
    /* sci is "[-]d[.ddd]e[+-]xx" */
    char digits[SCHEMA_REAL_DIGITS_MAX + 1];
    size_t nd = 0;
    const char *p = sci;
    bool negative = *p == '-';
    if (negative)
        p++;
    for (; *p != 'e'; p++)
        if (schema_is_digit(*p))
            digits[nd++] = *p;
    long exp10 = strtol(p + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0') /* trailing zeros only move the point */
        nd--;
    size_t n = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 >= size)                                                                         \
            return -1;                                                                             \
        out[n++] = (c);                                                                            \
    } while (0)
    if (negative && !(nd == 1 && digits[0] == '0'))
        PUT('-');
    if (exp10 >= (long)nd - 1) {
        for (size_t k = 0; k < nd; k++)
            PUT(digits[k]);
        for (long k = 0; k < exp10 - ((long)nd - 1); k++)
            PUT('0');
    } else if (exp10 >= 0) {
        for (size_t k = 0; k < nd; k++) {
            PUT(digits[k]);
            if ((long)k == exp10)
                PUT('.');
        }
    } else {
        PUT('0');
        PUT('.');
        for (long k = 0; k < -exp10 - 1; k++)
            PUT('0');
        for (size_t k = 0; k < nd; k++)
            PUT(digits[k]);
    }
#undef PUT
    out[n] = '\0';
    return 0;
}

static int schema_convert_decimal(const struct schema_column *col, const struct schema_value *v,
                                  struct schema_value *out, char err[ERROR_MAX])
{
    bool syntax = false;
    int rc;
    if (v->kind == SCHEMA_VALUE_STRING) {
        rc = schema_decimal_normalize(col, v->s, v->len, v, out, &syntax, err);
    } else if (v->kind == SCHEMA_VALUE_INTEGER) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", (long long)v->i);
        rc = schema_decimal_normalize(col, buf, (size_t)n, NULL, out, &syntax, err);
    } else if (v->kind == SCHEMA_VALUE_REAL) {
        char buf[400]; /* the widest double in plain notation is ~330 characters */
        if (schema_real_to_plain(v->d, buf, sizeof buf) < 0)
            return error_set(err,
                             "field '%s': the JSON number %.17g has more than %d significant "
                             "digits, so its exact decimal value was lost in floating point; "
                             "send decimal values as JSON strings (e.g. \"%s\": \"1234.5678\")",
                             col->name, v->d, SCHEMA_REAL_DIGITS_MAX, col->name);
        rc = schema_decimal_normalize(col, buf, strlen(buf), NULL, out, &syntax, err);
    } else {
        return schema_type_error(col, v, err);
    }
    if (rc < 0 && syntax)
        schema_type_error(col, v, err);
    return rc;
}

/* Convert one present, non-null value to the column's normal form in *out
 * (the input shared when it is already normal). 0, or -1 with err. These are
 * the per-column rules of schema.h, for every decoder. */
static int schema_convert(const struct schema_column *col, const struct schema_value *v,
                          struct schema_value *out, char err[ERROR_MAX])
{
    switch (col->type) {
    case SCHEMA_TYPE_STRING:
        if (v->kind == SCHEMA_VALUE_STRING) {
            schema_value_same(out, v);
            return 0;
        }
        break;
    case SCHEMA_TYPE_INTEGER: {
        if (v->kind == SCHEMA_VALUE_INTEGER) {
            schema_value_same(out, v);
            return 0;
        }
        int64_t i;
        if (v->kind == SCHEMA_VALUE_REAL && schema_real_as_int64(v->d, &i)) {
            schema_value_scalar(out, SCHEMA_VALUE_INTEGER);
            out->i = i;
            return 0;
        }
        if (v->kind == SCHEMA_VALUE_STRING) {
            int rc = schema_parse_int64(v->s, v->len, &i);
            if (rc == 1) {
                schema_value_scalar(out, SCHEMA_VALUE_INTEGER);
                out->i = i;
                return 0;
            }
            if (rc < 0) {
                char shown[SCHEMA_SHOWN_MAX + 32];
                schema_describe(v, shown, sizeof shown);
                return error_set(err, "field '%s': integer out of range (64-bit), got %s",
                                 col->name, shown);
            }
        }
        if (v->kind == SCHEMA_VALUE_REAL) {
            char shown[SCHEMA_SHOWN_MAX + 32];
            schema_describe(v, shown, sizeof shown);
            return error_set(err, "field '%s': expected integer, got %s%s", col->name, shown,
                             fabs(v->d) > SCHEMA_EXACT_INT_MAX
                                 ? " (beyond the range a float holds exactly)"
                                 : "");
        }
        break;
    }
    case SCHEMA_TYPE_FLOAT:
        if (v->kind == SCHEMA_VALUE_REAL) {
            schema_value_same(out, v);
            return 0;
        }
        if (v->kind == SCHEMA_VALUE_INTEGER) {
            schema_value_scalar(out, SCHEMA_VALUE_REAL);
            out->d = (double)v->i;
            return 0;
        }
        if (v->kind == SCHEMA_VALUE_STRING && schema_is_float_literal(v->s, v->len)) {
            double d = strtod(v->s, NULL);
            if (isfinite(d)) {
                schema_value_scalar(out, SCHEMA_VALUE_REAL);
                out->d = d;
                return 0;
            }
            char shown[SCHEMA_SHOWN_MAX + 32];
            schema_describe(v, shown, sizeof shown);
            return error_set(err, "field '%s': float out of range, got %s", col->name, shown);
        }
        break;
    case SCHEMA_TYPE_BOOLEAN:
        if (v->kind == SCHEMA_VALUE_TRUE || v->kind == SCHEMA_VALUE_FALSE) {
            schema_value_same(out, v);
            return 0;
        }
        if (v->kind == SCHEMA_VALUE_STRING) {
            if (strcasecmp(v->s, "true") == 0) {
                schema_value_scalar(out, SCHEMA_VALUE_TRUE);
                return 0;
            }
            if (strcasecmp(v->s, "false") == 0) {
                schema_value_scalar(out, SCHEMA_VALUE_FALSE);
                return 0;
            }
        }
        break;
    case SCHEMA_TYPE_TIMESTAMP:
    case SCHEMA_TYPE_DATE: {
        if (v->kind != SCHEMA_VALUE_STRING)
            break;
        char text[TIMEUTIL_TIMESTAMP_MAX];
        int rc = col->type == SCHEMA_TYPE_TIMESTAMP
                     ? timeutil_normalize_timestamp(v->s, col->format, text, err)
                     : timeutil_normalize_date(v->s, col->format, text, err);
        if (rc < 0)
            return error_prefix(err, "field '%s'", col->name);
        size_t n = strlen(text);
        if (n == v->len && memcmp(text, v->s, n) == 0) {
            schema_value_same(out, v);
            return 0;
        }
        if (schema_value_text(out, text, n) < 0)
            return error_set(err, "out of memory");
        return 0;
    }
    case SCHEMA_TYPE_JSON:
        schema_value_same(out, v);
        return 0;
    case SCHEMA_TYPE_ARRAY:
        if (v->kind == SCHEMA_VALUE_ARRAY) {
            schema_value_same(out, v);
            return 0;
        }
        break;
    case SCHEMA_TYPE_DECIMAL:
        return schema_convert_decimal(col, v, out, err);
    }
    return schema_type_error(col, v, err);
}

/* ------------------------------------------------- record normalisation */

/* The value found for a column and the record key it came from (the key is
 * the column name, or in AUTO_INFERENCE the original messy name). */
struct schema_slot {
    const char *key;
    const struct schema_value *value;
};

static int schema_rescue(json_t **rescued, const char *key, const struct schema_value *value,
                         char err[ERROR_MAX])
{
    if (*rescued == NULL && (*rescued = json_object()) == NULL)
        return error_set(err, "out of memory");
    if (json_object_set_new(*rescued, key, schema_value_to_json(value)) < 0)
        return error_set(err, "out of memory");
    return 0;
}

/* AUTO_INFERENCE maps a record key to a column through names_sanitize_column
 * (that is how schema_evolve named it). -1 when the key maps to no column. */
static ssize_t schema_auto_column(const struct schema *schema, const char *key)
{
    char sanitized[NAMES_MAX];
    names_sanitize_column(key, sanitized);
    return schema_find_column_nocase(schema, sanitized);
}

/* The column named exactly key, trying `hint` first (records usually list
 * their fields in schema order). -1 when none. */
static ssize_t schema_column_index(const struct schema *schema, const char *key, size_t hint)
{
    if (hint < schema->column_count && strcmp(schema->columns[hint].name, key) == 0)
        return (ssize_t)hint;
    for (size_t i = 0; i < schema->column_count; i++)
        if (strcmp(schema->columns[i].name, key) == 0)
            return (ssize_t)i;
    return -1;
}

int schema_normalize_fields(const struct schema *schema, const struct schema_field *fields,
                            size_t n, bool check, struct schema_value *values, json_t **rescued_out,
                            char err[ERROR_MAX])
{
    *rescued_out = NULL;
    for (size_t i = 0; i < schema->column_count; i++) {
        values[i].kind = SCHEMA_VALUE_ABSENT;
        values[i].heap = NULL;
    }
    if (schema->mode == SCHEMA_MODE_SINGLE_COLUMN)
        return error_set(err, "schema_normalize_values: SINGLE_COLUMN schema");

    bool auto_mode = schema->mode == SCHEMA_MODE_AUTO_INFERENCE;
    struct schema_slot stack[SCHEMA_SLOTS_STACK];
    struct schema_slot *slots = stack;
    json_t *rescued = NULL;
    if (schema->column_count > SCHEMA_SLOTS_STACK) {
        slots = calloc(schema->column_count, sizeof *slots);
        if (slots == NULL)
            return error_set(err, "out of memory");
    }
    for (size_t i = 0; i < schema->column_count; i++) {
        slots[i].key = schema->columns[i].name;
        slots[i].value = NULL;
    }

    /* Pass 1: the fields named exactly like a column. */
    size_t matched = 0;
    for (size_t k = 0; k < n; k++) {
        ssize_t i = schema_column_index(schema, fields[k].key, k);
        if (i < 0)
            continue;
        matched++;
        if (fields[k].value.kind != SCHEMA_VALUE_NULL)
            slots[i].value = &fields[k].value;
    }
    /* Pass 2, only when some keys matched no column by exact name. */
    if (matched < n) {
        for (size_t k = 0; k < n; k++) {
            const char *key = fields[k].key;
            const struct schema_value *v = &fields[k].value;
            if (schema_column_index(schema, key, k) >= 0)
                continue; /* handled in pass 1 */
            if (v->kind == SCHEMA_VALUE_NULL)
                continue; /* null is the same as absent */
            if (auto_mode) {
                ssize_t i = schema_auto_column(schema, key);
                if (i >= 0 && slots[i].value == NULL) {
                    slots[i].key = key;
                    slots[i].value = v;
                    continue;
                }
            }
            if (schema_rescue(&rescued, key, v, err) < 0)
                goto fail;
        }
    }

    for (size_t i = 0; i < schema->column_count; i++) {
        const struct schema_column *col = &schema->columns[i];
        const struct schema_value *v = slots[i].value;
        if (v == NULL) {
            if (check && col->primary_key) {
                error_set(err, "field '%s': primary key is missing", col->name);
                goto fail;
            }
            if (check && col->required) {
                error_set(err, "field '%s': required field is missing", col->name);
                goto fail;
            }
            continue;
        }
        if (!check) {
            schema_value_same(&values[i], v);
            continue;
        }
        if (schema_convert(col, v, &values[i], err) < 0) {
            values[i].kind = SCHEMA_VALUE_ABSENT;
            values[i].heap = NULL;
            /* AUTO_INFERENCE keeps what its column cannot hold, unless the
             * record would then lack a key or required field. */
            if (auto_mode && !col->required && !col->primary_key) {
                if (schema_rescue(&rescued, slots[i].key, v, err) < 0)
                    goto fail;
                continue;
            }
            goto fail;
        }
    }
    if (slots != stack)
        free(slots);
    *rescued_out = rescued;
    return 0;

fail:
    json_decref(rescued);
    schema_values_clear(values, schema->column_count);
    if (slots != stack)
        free(slots);
    return -1;
}

/* The jansson form: the record's members as fields, the same rules, then
 * the values as jansson values. With values == NULL the normal form is built
 * as a new object in *normalized; otherwise (schema_normalize_values, not
 * SINGLE_COLUMN) each column's value goes to values[i] and the rescued
 * fields to *rescued_out. */
static int schema_normalize(const struct schema *schema, const json_t *record, bool check,
                            json_t **normalized, json_t **values, json_t **rescued_out,
                            char err[ERROR_MAX])
{
    if (normalized != NULL)
        *normalized = NULL;
    if (values != NULL) {
        memset(values, 0, schema->column_count * sizeof *values);
        *rescued_out = NULL;
    }
    if (record == NULL || json_is_null(record))
        return error_set(err, "record is null");
    if (schema->mode == SCHEMA_MODE_SINGLE_COLUMN && values != NULL)
        return error_set(err, "schema_normalize_values: SINGLE_COLUMN schema");
    if (schema->mode == SCHEMA_MODE_SINGLE_COLUMN) {
        json_t *out = json_object();
        if (out == NULL || json_object_set(out, SCHEMA_SINGLE_COLUMN_NAME, (json_t *)record) < 0) {
            json_decref(out);
            return error_set(err, "out of memory");
        }
        *normalized = out;
        return 0;
    }
    if (!json_is_object(record))
        return error_set(err, "record is not a JSON object (got %s)", schema_json_kind(record));

    size_t n = json_object_size(record);
    struct schema_field fstack[SCHEMA_SLOTS_STACK];
    struct schema_value vstack[SCHEMA_SLOTS_STACK];
    struct schema_field *fields = n <= SCHEMA_SLOTS_STACK ? fstack : malloc(n * sizeof *fields);
    struct schema_value *vals = schema->column_count <= SCHEMA_SLOTS_STACK
                                    ? vstack
                                    : malloc(schema->column_count * sizeof *vals);
    json_t *rescued = NULL, *out = NULL;
    int rc = -1;
    if (fields == NULL || vals == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)record, key, v) {
        fields[k].key = key;
        schema_value_from_json(v, &fields[k].value);
        k++;
    }
    if (schema_normalize_fields(schema, fields, k, check, vals, &rescued, err) < 0)
        goto done;
    if (values == NULL && (out = json_object()) == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < schema->column_count; i++) {
        if (vals[i].kind == SCHEMA_VALUE_ABSENT)
            continue;
        json_t *value = schema_value_to_json(&vals[i]);
        if (value == NULL) {
            error_set(err, "out of memory");
            goto done;
        }
        if (values != NULL) {
            values[i] = value;
        } else if (json_object_set_new(out, schema->columns[i].name, value) < 0) {
            error_set(err, "out of memory");
            goto done;
        }
    }
    if (values != NULL) {
        *rescued_out = rescued;
        rescued = NULL;
    } else if (rescued != NULL) {
        int set = json_object_set_new(out, SCHEMA_RESCUED_COLUMN, rescued);
        rescued = NULL;
        if (set < 0) {
            error_set(err, "out of memory");
            goto done;
        }
    }
    if (normalized != NULL) {
        *normalized = out;
        out = NULL;
    }
    rc = 0;

done:
    if (vals != NULL)
        schema_values_clear(vals, schema->column_count);
    json_decref(out);
    json_decref(rescued);
    if (rc < 0) {
        for (size_t i = 0; values != NULL && i < schema->column_count; i++) {
            json_decref(values[i]);
            values[i] = NULL;
        }
    }
    if (fields != fstack)
        free(fields);
    if (vals != vstack)
        free(vals);
    return rc;
}

int schema_validate_record(const struct schema *schema, const json_t *record,
                           json_t **normalized, char err[ERROR_MAX])
{
    return schema_normalize(schema, record, true, normalized, NULL, NULL, err);
}

int schema_passthrough_record(const struct schema *schema, const json_t *record,
                              json_t **normalized, char err[ERROR_MAX])
{
    return schema_normalize(schema, record, false, normalized, NULL, NULL, err);
}

int schema_normalize_values(const struct schema *schema, const json_t *record, bool check,
                            json_t **values, json_t **rescued, char err[ERROR_MAX])
{
    return schema_normalize(schema, record, check, NULL, values, rescued, err);
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

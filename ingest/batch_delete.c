/* batch_delete.c - a record {"_op":"delete", <key fields>} turned into
 * what bronze stores for it (batch.h). */
#include "batch.h"

#include <string.h>

#include "schema.h"
#include "validate.h"

int batch_delete_record(const struct schema *schema, struct schema **delete_schema,
                        const json_t *record, const json_t *op, bool validate, json_t **out,
                        char err[ERROR_MAX])
{
    if (!json_is_string(op) || strcmp(json_string_value(op), "delete") != 0)
        return error_set(err, "field '_op': the only operation is \"delete\" (got %s)",
                         json_is_string(op) ? json_string_value(op) : "a non-string");
    if (schema->mode == SCHEMA_MODE_SINGLE_COLUMN || schema_primary_key_count(schema) == 0)
        return error_set(err,
                         "field '_op': endpoint %s/%s has no primary key, so a delete cannot "
                         "name a row (declare \"primary_key\" columns to use deletes)",
                         schema->domain, schema->name);
    if (schema->sequence_by[0] != '\0') {
        const json_t *v = json_object_get(record, schema->sequence_by);
        if (v == NULL || json_is_null(v))
            return error_set(err,
                             "field '%s': a delete on an endpoint with sequence_by must carry "
                             "it (it decides whether the delete is newer than the row)",
                             schema->sequence_by);
    }
    if (*delete_schema == NULL) {
        struct schema *k = schema_copy(schema);
        if (k == NULL)
            return error_set(err, "out of memory");
        size_t n = 0;
        for (size_t i = 0; i < k->column_count; i++) {
            struct schema_column c = k->columns[i];
            if (c.primary_key || strcmp(c.name, k->sequence_by) == 0)
                k->columns[n++] = c;
        }
        k->column_count = n;
        k->mode = SCHEMA_MODE_MANUAL;
        *delete_schema = k;
    }
    json_t *key = json_object();
    if (key == NULL)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < (*delete_schema)->column_count; i++) {
        const char *name = (*delete_schema)->columns[i].name;
        json_t *v = json_object_get(record, name);
        if (v != NULL && json_object_set(key, name, v) < 0) {
            json_decref(key);
            return error_set(err, "out of memory");
        }
    }
    json_t *normalized = NULL;
    int rc = validate
                 ? schema_validate_record((*delete_schema), key, &normalized, err)
                 : schema_passthrough_record((*delete_schema), key, &normalized, err);
    json_decref(key);
    if (rc == 0 && json_object_set_new(normalized, "_op", json_string("delete")) < 0)
        rc = error_set(err, "out of memory");
    if (rc == 0)
        *out = normalized;
    else
        json_decref(normalized);
    return rc;
}


/* fuzz_schema.c - libFuzzer target: record validation (schema.h).
 * The first input byte picks one of a few fixed schemas (every type, each
 * mode); the rest is parsed as JSON and, when it is an object, validated,
 * passed through and evolved. The whole input is also tried as a schema
 * definition (schema_from_json). */
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "schema.h"
#include "../../ingest/validate.h"

static const char *fuzz_schemas[] = {
    "{\"domain\":\"d\",\"name\":\"t\",\"mode\":\"MANUAL\",\"columns\":["
    "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"
    "{\"name\":\"s\",\"type\":\"string\",\"required\":true},"
    "{\"name\":\"f\",\"type\":\"float\"},{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"ts\",\"type\":\"timestamp\"},{\"name\":\"tf\",\"type\":\"timestamp\",\"format\":\"%Y/%m/%d %H:%M\"},"
    "{\"name\":\"dt\",\"type\":\"date\"},{\"name\":\"j\",\"type\":\"json\"},{\"name\":\"a\",\"type\":\"array\"},"
    "{\"name\":\"dec\",\"type\":\"decimal\",\"precision\":12,\"scale\":2},"
    "{\"name\":\"du\",\"type\":\"decimal\"}]}",
    "{\"domain\":\"d\",\"name\":\"t\",\"mode\":\"AUTO_INFERENCE\"}",
    "{\"domain\":\"d\",\"name\":\"t\",\"mode\":\"AUTO_INFERENCE\",\"columns\":["
    "{\"name\":\"x\",\"type\":\"integer\"},{\"name\":\"when\",\"type\":\"date\"}]}",
    "{\"domain\":\"d\",\"name\":\"t\",\"mode\":\"SINGLE_COLUMN\"}",
};
#define FUZZ_SCHEMA_COUNT (sizeof fuzz_schemas / sizeof fuzz_schemas[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct schema *schemas[FUZZ_SCHEMA_COUNT];
    char err[ERROR_MAX];
    if (schemas[0] == NULL) {
        for (size_t i = 0; i < FUZZ_SCHEMA_COUNT; i++) {
            json_t *def = json_loads(fuzz_schemas[i], 0, NULL);
            schemas[i] = schema_from_json(def, err);
            json_decref(def);
            if (schemas[i] == NULL)
                __builtin_trap();
        }
    }
    if (size < 1)
        return 0;
    const struct schema *schema = schemas[data[0] % FUZZ_SCHEMA_COUNT];
    json_t *value = json_loadb((const char *)data + 1, size - 1,
                               JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (value == NULL)
        return 0;
    json_t *out = NULL;
    if (schema->mode == SCHEMA_MODE_SINGLE_COLUMN || json_is_object(value)) {
        if (schema_validate_record(schema, value, &out, err) == 0)
            json_decref(out);
        out = NULL;
        if (schema_passthrough_record(schema, value, &out, err) == 0)
            json_decref(out);
    }
    if (json_is_object(value) && schema->mode == SCHEMA_MODE_AUTO_INFERENCE) {
        struct schema *evolved = NULL;
        if (schema_evolve(schema, value, &evolved, err) == 1) {
            out = NULL;
            if (schema_validate_record(evolved, value, &out, err) == 0)
                json_decref(out);
            char err2[ERROR_MAX];
            (void)schema_check_compatible(schema, evolved, err2);
        }
        schema_destroy(&evolved);
    }
    if (json_is_object(value)) {
        struct schema *s = schema_from_json(value, err);
        if (s != NULL) {
            json_t *back = schema_to_json(s);
            json_decref(back);
        }
        schema_destroy(&s);
    }
    json_decref(value);
    return 0;
}

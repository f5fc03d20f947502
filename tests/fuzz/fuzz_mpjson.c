/* fuzz_mpjson.c - libFuzzer target: ingest's msgpack body reader
 * (ingest/mpjson.h), compiled in (ingest/ is not part of the common library).
 * Also differential: whenever the fast path (mpjson_next_fields) reads an
 * element, mpjson_next must read the same element into the same values. */
#include <stddef.h>
#include <stdint.h>

#include "../../ingest/fields.h"
#include "../../ingest/mpjson.h"

static void fuzz_same(const struct fields *fs, json_t *v)
{
    if (v == NULL || !json_is_object(v) || json_object_size(v) != fs->count)
        __builtin_trap();
    for (size_t i = 0; i < fs->count; i++) {
        json_t *fast = schema_value_to_json(&fs->f[i].value);
        json_t *slow = json_object_get(v, fs->f[i].key);
        if (fast == NULL || slow == NULL || !json_equal(fast, slow) ||
            json_typeof(fast) != json_typeof(slow))
            __builtin_trap();
        json_decref(fast);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mpjson_reader r;
    uint32_t count;
    char err[ERROR_MAX];
    struct fields fs = {0};
    if (mpjson_open(&r, data, size, &count, err) < 0)
        return 0;
    for (;;) {
        json_t *v = NULL;
        const char *raw;
        size_t raw_len;
        struct mpjson_reader at = r;
        int fast = mpjson_next_fields(&r, &fs, &raw, &raw_len);
        struct mpjson_reader after = r;
        r = at;
        int rc = mpjson_next(&r, &v, &raw, &raw_len, err);
        if (fast == 1) {
            if (rc != 1 || r.p != after.p)
                __builtin_trap();
            fuzz_same(&fs, v);
        }
        if (rc != 1)
            break;
        if ((const uint8_t *)raw < data || (const uint8_t *)raw + raw_len > data + size)
            __builtin_trap();
        if (v != NULL) {
            char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            free(text);
            json_decref(v);
        }
    }
    fields_free(&fs);
    return 0;
}

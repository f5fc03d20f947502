/* fuzz_jsonfields.c - libFuzzer target, differential: ingest's fast NDJSON
 * record reader (ingest/jsonfields.h) against jansson. Whenever the fast
 * reader accepts a line, json_loadb (with ingest's flags) must accept it too
 * and hold the same fields with the same values and types. Compiled in
 * (ingest/ is not part of the common library). */
#include <stddef.h>
#include <stdint.h>

#include "../../ingest/fields.h"
#include "../../ingest/jsonfields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fields fs = {0};
    int fast = jsonfields_read((const char *)data, size, &fs);
    if (fast == 1) {
        json_error_t e;
        json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                               &e);
        if (v == NULL || !json_is_object(v) || json_object_size(v) != fs.count)
            __builtin_trap();
        for (size_t i = 0; i < fs.count; i++) {
            json_t *a = schema_value_to_json(&fs.f[i].value);
            json_t *b = json_object_get(v, fs.f[i].key);
            if (a == NULL || b == NULL || json_typeof(a) != json_typeof(b) || !json_equal(a, b))
                __builtin_trap();
            json_decref(a);
        }
        json_decref(v);
    }
    fields_free(&fs);
    return 0;
}

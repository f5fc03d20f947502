/* fuzz_jsonflat.c - libFuzzer target, differential: the flat-JSON scanner
 * (common/jsonflat.h) against jansson, in both of its uses. The strict mode
 * (the processor's merge): whenever it accepts a line without a repeated
 * key, json_loadb must read the same fields, values and types. The escapes
 * mode through ingest's NDJSON reader (fields_read_json, ingest/fields.h):
 * whenever it accepts a line, json_loadb with ingest's flags must accept it
 * too and hold the same decoded fields. Links ingest's library. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../ingest/fields.h"
#include "jsonflat.h"

#define FUZZ_FLAT_MAX 256

static json_t *fuzz_flat_value(const struct jsonflat_field *f)
{
    switch (f->type) {
    case JSONFLAT_NULL: return json_null();
    case JSONFLAT_TRUE: return json_true();
    case JSONFLAT_FALSE: return json_false();
    case JSONFLAT_INTEGER: return json_integer(f->integer);
    case JSONFLAT_REAL: return json_real(f->real);
    case JSONFLAT_STRING: return json_stringn_nocheck(f->str, f->len);
    }
    return NULL;
}

static void fuzz_strict(const uint8_t *data, size_t size)
{
    static struct jsonflat_field f[FUZZ_FLAT_MAX];
    int n = jsonflat_scan((const char *)data, size, f, FUZZ_FLAT_MAX, 0);
    if (n < 0)
        return;
    json_error_t e;
    json_t *v = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &e);
    if (v == NULL || !json_is_object(v))
        __builtin_trap();
    for (int i = 0; i < n; i++) {
        char key[FUZZ_FLAT_MAX * 4];
        if (f[i].escaped || f[i].key_len >= sizeof key || memchr(f[i].key, '\0', f[i].key_len))
            __builtin_trap();
        memcpy(key, f[i].key, f[i].key_len);
        key[f[i].key_len] = '\0';
        bool repeated = false;
        for (int j = 0; j < n; j++)
            repeated |= j != i && f[j].key_len == f[i].key_len &&
                        memcmp(f[j].key, f[i].key, f[i].key_len) == 0;
        if (repeated)
            continue; /* jansson keeps the last one; the merge takes such a line slowly */
        json_t *a = fuzz_flat_value(&f[i]);
        json_t *b = json_object_get(v, key);
        if (a == NULL || b == NULL || json_typeof(a) != json_typeof(b) || !json_equal(a, b))
            __builtin_trap();
        json_decref(a);
    }
    json_decref(v);
}

static void fuzz_ingest(const uint8_t *data, size_t size)
{
    struct fields fs = {0};
    int fast = fields_read_json((const char *)data, size, &fs);
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
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_strict(data, size);
    fuzz_ingest(data, size);
    return 0;
}

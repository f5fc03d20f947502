/* fuzz_mpjson.c - libFuzzer target: ingest's msgpack body reader
 * (ingest/mpjson.h), compiled in (ingest/ is not part of the common library). */
#include <stddef.h>
#include <stdint.h>

#include "../../ingest/mpjson.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mpjson_reader r;
    uint32_t count;
    char err[ERROR_MAX];
    if (mpjson_open(&r, data, size, &count, err) < 0)
        return 0;
    for (;;) {
        json_t *v = NULL;
        const char *raw;
        size_t raw_len;
        int rc = mpjson_next(&r, &v, &raw, &raw_len, err);
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
    return 0;
}

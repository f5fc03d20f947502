/* fuzz_jsonsplit.c - libFuzzer target: the JSON array element splitter
 * (jsonsplit.h) that cuts producer batches, `lakehouse send` input and
 * landing/ files into records. Differential: whenever jansson parses the
 * whole input as an array, splitting it element by element (the way the
 * readers do) must give exactly jansson's elements, in order. Any input
 * must be walked without a crash. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "jsonsplit.h"

static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    json_error_t jerr;
    json_t *whole = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    bool check = json_is_array(whole);
    size_t i = 0;
    while (i < size && is_blank(data[i]))
        i++;
    if (i == size || data[i] != '[') {
        if (check)
            __builtin_trap(); /* jansson saw an array that does not start with '[' */
        json_decref(whole);
        return 0;
    }
    i++;
    size_t element = 0;
    for (;;) {
        while (i < size && (is_blank(data[i]) || data[i] == ','))
            i++;
        if (i == size || data[i] == ']')
            break;
        size_t start = i;
        struct jsonsplit split;
        jsonsplit_reset(&split);
        bool complete = false;
        while (i < size) {
            enum jsonsplit_result step = jsonsplit_step(&split, data[i]);
            if (step == JSONSPLIT_OUTSIDE) {
                complete = true;
                break;
            }
            i++;
            if (step == JSONSPLIT_LAST) {
                complete = true;
                break;
            }
        }
        if (!complete || i == start)
            break;
        if (check) {
            json_t *value = json_loadb((const char *)data + start, i - start, JSON_DECODE_ANY,
                                       &jerr);
            if (value == NULL || !json_equal(value, json_array_get(whole, element)))
                __builtin_trap();
            json_decref(value);
        }
        element++;
    }
    if (check && element != json_array_size(whole))
        __builtin_trap();
    json_decref(whole);
    return 0;
}

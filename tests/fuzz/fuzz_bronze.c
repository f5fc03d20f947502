/* fuzz_bronze.c - libFuzzer target: the bronze file reader (bronze.h) on
 * arbitrary file contents (a hand-placed or damaged file in bronze/), plus
 * bronze_valid_prefix (spool recovery) and the name parsers. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bronze.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (path[0] == '\0')
        snprintf(path, sizeof path, "/tmp/fuzz-bronze-%d.ndjson.lz4", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    if (size > 0 && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    fclose(f);
    char err[ERROR_MAX];
    struct bronze_reader *r = bronze_reader_open(path, err);
    if (r != NULL) {
        const char *line;
        size_t len;
        int rc;
        while ((rc = bronze_reader_next(r, &line, &len, err)) == 1)
            if (len > BRONZE_LINE_MAX)
                __builtin_trap();
        bronze_reader_close(&r);
        if (r != NULL)
            __builtin_trap();
    }
    unlink(path);
    size_t keep = bronze_valid_prefix((const char *)data, size);
    if (keep > size || (keep > 0 && data[keep - 1] != '\n'))
        __builtin_trap();
    /* Names: the input as a C string. */
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    uint64_t a, b;
    char date[11], domain[NAMES_MAX], endpoint[NAMES_MAX];
    (void)bronze_parse_name(s, &a, &b);
    (void)spool_parse_name(s, &a, date);
    if (bronze_parse_relative_path(s, domain, endpoint, date, &a, &b) == 0 &&
        (!names_is_valid_object(domain) || !names_is_valid_object(endpoint)))
        __builtin_trap();
    free(s);
    return 0;
}

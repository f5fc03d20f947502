/* fuzz_csv.c - libFuzzer target: the CSV reader (csv.h) over arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *in = fmemopen((void *)data, size, "rb");
    if (in == NULL)
        return 0;
    char err[ERROR_MAX];
    struct csv_reader *r = csv_reader_open(in, err);
    if (r != NULL) {
        json_t *row;
        int rc, errors = 0;
        /* After an error in a whole row reading goes on; stop after many. */
        while ((rc = csv_reader_next(r, &row, err)) != 0) {
            if (rc == 1) {
                if (!json_is_object(row))
                    __builtin_trap();
                json_decref(row);
            } else if (++errors > 1000) {
                break;
            }
        }
        csv_reader_close(&r);
    }
    fclose(in);
    return 0;
}

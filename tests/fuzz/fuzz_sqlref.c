/* fuzz_sqlref.c - libFuzzer target: SQL reference rewriting (sqlref.h).
 * Every reference returned must hold valid names; the rewritten text must be
 * a NUL-terminated string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "sqlref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char err[ERROR_MAX];
    for (int pass = 0; pass < 2; pass++) {
        char *out = NULL;
        struct sqlref *refs = NULL;
        size_t count = 0;
        int rc = pass == 0 ? sqlref_rewrite(s, &out, &refs, &count, err)
                           : sqlref_rewrite_main(s, SQLREF_GOLD, "demo", &out, &refs, &count, err);
        if (rc == 0) {
            (void)strlen(out);
            for (size_t i = 0; i < count; i++)
                if (!names_is_valid_object(refs[i].domain) || !names_is_valid_object(refs[i].table))
                    __builtin_trap();
        }
        free(out);
        free(refs);
    }
    free(s);
    return 0;
}

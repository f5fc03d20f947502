/* fuzz_cron.c - libFuzzer target: the cron parser (cron.h); a parsed
 * expression is evaluated too (matches and next). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct cron_expr expr;
    char err[ERROR_MAX];
    if (cron_parse(s, &expr, err) == 0) {
        time_t t = 1767225600; /* 2026-01-01 */
        (void)cron_matches(&expr, t);
        time_t next = cron_next(&expr, t);
        if (next != (time_t)-1 && (next <= t || !cron_matches(&expr, next)))
            __builtin_trap();
    }
    free(s);
    return 0;
}

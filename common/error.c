/* error.c - filling caller-provided error buffers (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int error_set(char *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, ERROR_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

int error_prefix(char *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    char prefix[ERROR_MAX];
    char old[ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(old, sizeof old, "%s", err);
    snprintf(err, ERROR_MAX, "%s: %s", prefix, old);
    return -1;
}

/* error.c - filling caller-provided error buffers (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nametable.h"

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

static const char *const error_kind_names[ERROR_KIND_COUNT] = {
    [ERROR_NONE] = "",           [ERROR_INTERNAL] = "internal", [ERROR_INVALID] = "invalid",
    [ERROR_NOT_FOUND] = "not_found", [ERROR_CONFLICT] = "conflict", [ERROR_BUSY] = "busy",
    [ERROR_TIMEOUT] = "timeout", [ERROR_NO_SPACE] = "no_space", [ERROR_TOO_LARGE] = "too_large",
    [ERROR_DENIED] = "denied",   [ERROR_UNAVAILABLE] = "unavailable",
};

int error_fail(char *err, enum error_kind kind, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, ERROR_MAX, fmt, ap);
        va_end(ap);
    }
    return kind > ERROR_NONE && kind < ERROR_KIND_COUNT ? -(int)kind : -(int)ERROR_INTERNAL;
}

enum error_kind error_kind_of(int rc)
{
    if (rc >= 0)
        return ERROR_NONE;
    return -rc < ERROR_KIND_COUNT ? (enum error_kind)-rc : ERROR_INTERNAL;
}

const char *error_kind_name(enum error_kind kind)
{
    return nametable_name(error_kind_names, ERROR_KIND_COUNT, (int)kind, "internal");
}

int error_kind_from_name(const char *name, enum error_kind *out)
{
    int k = nametable_find(error_kind_names, ERROR_KIND_COUNT, name, false);
    if (k < 0)
        return -1;
    *out = (enum error_kind)k;
    return 0;
}

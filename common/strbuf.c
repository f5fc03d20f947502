/* strbuf.c - growable strings (see strbuf.h). */
#include "strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_addf(struct strbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

bool strbuf_grow(struct strbuf *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->cap - b->len > more)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= more) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *s = realloc(b->s, cap);
    if (s == NULL) {
        b->failed = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void strbuf_free(struct strbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

void strbuf_cut(struct strbuf *b, size_t len)
{
    b->len = len;
    b->failed = false;
    if (b->s != NULL)
        b->s[len] = '\0';
}

void strbuf_reset(struct strbuf *b, size_t keep)
{
    if (b->cap > keep) {
        strbuf_free(b);
        return;
    }
    strbuf_cut(b, 0);
}

void strbuf_fixed_appendf(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 4 >= size)
        return; /* full: already ends in "..." or has no room for more */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
    if (n < 0 || used + (size_t)n >= size)
        snprintf(buf + size - 4, 4, "...");
}

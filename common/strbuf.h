/* strbuf.h - a growable, NUL-terminated string for building SQL, records and
 * other text with appends. An append that cannot allocate marks the
 * buffer failed and later appends do nothing, so callers check once, at the
 * end, instead of after every piece. The buffer owns s; strbuf_free releases it. */
#ifndef LAKEHOUSE_STRBUF_H
#define LAKEHOUSE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct strbuf {
    char *s;      /* NULL until the first append */
    size_t len;
    size_t cap;
    bool failed;  /* an append ran out of memory */
};

/* Append printf-style text. */
void strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The slow part of strbuf_reserve: grow. */
bool strbuf_grow(struct strbuf *b, size_t more);
/* Make room for `more` bytes after len (plus the NUL). false (and failed
 * set) when out of memory; the text is unchanged. Inline: hot paths (ingest's
 * group commit) reserve per value and write in place. */
static inline bool strbuf_reserve(struct strbuf *b, size_t more)
{
    if (!b->failed && b->cap - b->len > more)
        return true;
    return strbuf_grow(b, more);
}
/* Append n bytes (NUL-terminated after). false when out of memory. */
static inline bool strbuf_append(struct strbuf *b, const void *data, size_t n)
{
    if (!strbuf_reserve(b, n))
        return false;
    if (n > 0) /* data may be NULL when there is nothing to copy */
        memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = '\0';
    return true;
}
/* Free the text and reset the buffer to empty (reusable). */
void strbuf_free(struct strbuf *b);
/* Cut the text back to its first len bytes (len <= b->len) and clear
 * failed: what was appended after a mark is undone, the buffer usable again. */
void strbuf_cut(struct strbuf *b, size_t len);
/* Empty the buffer for reuse; free its memory when it holds more than keep
 * bytes, so that one burst does not pin its peak memory for ever. */
void strbuf_reset(struct strbuf *b, size_t keep);

/* For fixed summaries (a reply line, a log field): append printf-style text
 * to the NUL-terminated buf of size bytes; what does not fit is cut and the
 * text then ends in "...". size must be at least 4. */
void strbuf_fixed_appendf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

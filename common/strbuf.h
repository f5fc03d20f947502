/* strbuf.h - a growable, NUL-terminated string for building SQL, records and
 * other text with appends. An append that cannot allocate marks the
 * buffer failed and later appends do nothing, so callers check once, at the
 * end, instead of after every piece. The buffer owns s; strbuf_free releases it. */
#ifndef LAKEHOUSE_STRBUF_H
#define LAKEHOUSE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *s;      /* NULL until the first append */
    size_t len;
    size_t cap;
    bool failed;  /* an append ran out of memory */
};

/* Append printf-style text. */
void strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Make room for `more` bytes after len (plus the NUL). false (and failed
 * set) when out of memory; the text is unchanged. */
bool strbuf_reserve(struct strbuf *b, size_t more);
/* Append n bytes (NUL-terminated after). false when out of memory. */
bool strbuf_append(struct strbuf *b, const void *data, size_t n);
/* Free the text and reset the buffer to empty (reusable). */
void strbuf_free(struct strbuf *b);

/* For fixed summaries (a reply line, a log field): append printf-style text
 * to the NUL-terminated buf of size bytes; what does not fit is cut and the
 * text then ends in "...". size must be at least 4. */
void strbuf_fixed_appendf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

/* utf8.h - the one UTF-8 check: valid as jansson takes it (no overlong
 * forms, no surrogates, nothing above U+10FFFF), for the readers that decode
 * text without jansson (ingest's fast JSON and msgpack readers, the flat
 * JSON scanner) and for query results turned into JSON. */
#ifndef LAKEHOUSE_UTF8_H
#define LAKEHOUSE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length (1..4) of the valid UTF-8 sequence at s (len > 0 bytes there),
 * 0 when the bytes there are not one. */
size_t utf8_sequence(const unsigned char *s, size_t len);
/* Are the n bytes at s valid UTF-8? */
bool utf8_valid(const void *s, size_t n);

#endif

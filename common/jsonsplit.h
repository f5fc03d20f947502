/* jsonsplit.h - finding where one element of a JSON array ends, byte by byte.
 *
 * Readers that stream a large JSON array (`lakehouse send` on a .json file,
 * ingest's landing/ drop folder) cut it into its elements without parsing
 * the whole array: they feed the bytes of one element to jsonsplit_step,
 * which tracks strings (with escapes) and nesting, and says when the element
 * is complete. Each element is then parsed on its own (jansson), so memory
 * follows the largest element, not the file. The splitter does not validate:
 * a malformed element is found by the parser that reads it. */
#ifndef LAKEHOUSE_JSONSPLIT_H
#define LAKEHOUSE_JSONSPLIT_H

#include <stdbool.h>

struct jsonsplit {
    bool in_string;
    bool escaped;
    int depth;
};

enum jsonsplit_result {
    JSONSPLIT_MORE,       /* the byte belongs to the element; more follow */
    JSONSPLIT_LAST,       /* the byte belongs to the element and completes it */
    JSONSPLIT_OUTSIDE     /* the byte is not part of the element: it ended just
                           * before (a ',' or blank after a scalar, or the
                           * array's own ']') */
};

/* Start a new element. */
void jsonsplit_reset(struct jsonsplit *split);

/* Feed the next byte c of the element (the first byte after the blanks that
 * precede it). */
enum jsonsplit_result jsonsplit_step(struct jsonsplit *split, int c);

#endif

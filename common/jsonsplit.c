/* jsonsplit.c - the JSON array element splitter (jsonsplit.h). */
#include "jsonsplit.h"

void jsonsplit_reset(struct jsonsplit *split)
{
    split->in_string = false;
    split->escaped = false;
    split->depth = 0;
}

enum jsonsplit_result jsonsplit_step(struct jsonsplit *split, int c)
{
    if (split->in_string) {
        if (split->escaped)
            split->escaped = false;
        else if (c == '\\')
            split->escaped = true;
        else if (c == '"') {
            split->in_string = false;
            return split->depth == 0 ? JSONSPLIT_LAST : JSONSPLIT_MORE;
        }
        return JSONSPLIT_MORE;
    }
    switch (c) {
    case '"':
        split->in_string = true;
        return JSONSPLIT_MORE;
    case '{':
    case '[':
        split->depth++;
        return JSONSPLIT_MORE;
    case '}':
    case ']':
        if (split->depth == 0)
            return JSONSPLIT_OUTSIDE; /* the array's own ']' after a scalar */
        split->depth--;
        return split->depth == 0 ? JSONSPLIT_LAST : JSONSPLIT_MORE;
    case ',':
    case ' ':
    case '\t':
    case '\r':
    case '\n':
        return split->depth == 0 ? JSONSPLIT_OUTSIDE : JSONSPLIT_MORE;
    default:
        return JSONSPLIT_MORE;
    }
}

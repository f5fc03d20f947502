/* growarray.c - doubling arrays (see growarray.h). */
#include "growarray.h"

#include <stdint.h>
#include <stdlib.h>

void *growarray_room(void *items, size_t *cap, size_t count, size_t elem, size_t first)
{
    if (count < *cap)
        return items;
    size_t want = *cap ? *cap * 2 : first;
    if (want < *cap || want > SIZE_MAX / elem)
        return NULL;
    void *p = realloc(items, want * elem);
    if (p != NULL)
        *cap = want;
    return p;
}

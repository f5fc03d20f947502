/* growarray.h - room for one more element in an array that grows by
 * doubling (lists of records, files, tables, rule counts): the one copy of
 * the "full? realloc twice the size" step. The caller keeps the pointer,
 * the count and the capacity in its own struct. */
#ifndef LAKEHOUSE_GROWARRAY_H
#define LAKEHOUSE_GROWARRAY_H

#include <stddef.h>

/* items holds count elements of elem bytes in *cap allocated. Returns items
 * when count < *cap, else items reallocated to twice *cap (first when *cap
 * is 0) with *cap updated; the caller stores the result. NULL when out of
 * memory: items and *cap are unchanged and still the caller's. */
void *growarray_room(void *items, size_t *cap, size_t count, size_t elem, size_t first);

#endif

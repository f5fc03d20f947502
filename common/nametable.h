/* nametable.h - the names of an enum's values, kept as one table of strings
 * indexed by the value (protocol formats and statuses, event topics, control
 * commands, error kinds, schema types and modes): one lookup each way
 * instead of a loop per enum. */
#ifndef LAKEHOUSE_NAMETABLE_H
#define LAKEHOUSE_NAMETABLE_H

#include <stdbool.h>
#include <stddef.h>

/* table[value], or fallback when value is outside [0, count). */
const char *nametable_name(const char *const *table, size_t count, int value,
                           const char *fallback);

/* The index of name in table[0..count) (ignoring ASCII case when fold), or
 * -1 when it is not there (name NULL included). */
int nametable_find(const char *const *table, size_t count, const char *name, bool fold);

#endif

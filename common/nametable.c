/* nametable.c - enum value <-> name lookups (see nametable.h). */
#include "nametable.h"

#include <string.h>
#include <strings.h>

const char *nametable_name(const char *const *table, size_t count, int value,
                           const char *fallback)
{
    return value >= 0 && (size_t)value < count ? table[value] : fallback;
}

int nametable_find(const char *const *table, size_t count, const char *name, bool fold)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (table[i] != NULL && (fold ? strcasecmp(name, table[i]) : strcmp(name, table[i])) == 0)
            return (int)i;
    return -1;
}

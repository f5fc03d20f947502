/* fields.c - flat records for the fast readers (see fields.h). */
#include "fields.h"

#include <string.h>

bool fields_begin(struct fields *fs, size_t bytes)
{
    fs->count = 0;
    strbuf_cut(&fs->arena, 0);
    return strbuf_reserve(&fs->arena, bytes);
}

char *fields_copy(struct fields *fs, const void *s, size_t n)
{
    if (fs->arena.cap - fs->arena.len <= n)
        return NULL;
    char *out = fs->arena.s + fs->arena.len;
    memcpy(out, s, n);
    out[n] = '\0';
    fs->arena.len += n + 1;
    return out;
}

bool fields_has_key(const struct fields *fs, const char *key, size_t len)
{
    for (size_t i = 0; i < fs->count; i++)
        if (fs->key_len[i] == len && memcmp(fs->f[i].key, key, len) == 0)
            return true;
    return false;
}


void fields_free(struct fields *fs)
{
    strbuf_free(&fs->arena);
    fs->count = 0;
}

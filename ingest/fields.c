/* fields.c - flat records for the fast readers (see fields.h). */
#include "fields.h"

#include <string.h>

#include "jsonflat.h"

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

/* A key or string of a scanned line into the arena, its escapes decoded. */
static const char *fields_copy_json(struct fields *fs, const char *s, size_t n, bool escaped,
                                    size_t *out_len)
{
    char *dst = fs->arena.s + fs->arena.len;
    size_t len = n;
    if (escaped)
        len = jsonflat_unescape(s, n, dst);
    else
        memcpy(dst, s, n);
    dst[len] = '\0';
    fs->arena.len += len + 1;
    *out_len = len;
    return dst;
}

static void fields_json_value(struct fields *fs, const struct jsonflat_field *jf,
                              struct schema_value *v)
{
    v->json = NULL;
    v->heap = NULL;
    switch (jf->type) {
    case JSONFLAT_NULL: v->kind = SCHEMA_VALUE_NULL; break;
    case JSONFLAT_TRUE: v->kind = SCHEMA_VALUE_TRUE; break;
    case JSONFLAT_FALSE: v->kind = SCHEMA_VALUE_FALSE; break;
    case JSONFLAT_INTEGER:
        v->kind = SCHEMA_VALUE_INTEGER;
        v->i = jf->integer;
        break;
    case JSONFLAT_REAL:
        v->kind = SCHEMA_VALUE_REAL;
        v->d = jf->real;
        break;
    case JSONFLAT_STRING:
        v->kind = SCHEMA_VALUE_STRING;
        v->s = fields_copy_json(fs, jf->str, jf->len, jf->escaped, &v->len);
        break;
    }
}

int fields_read_json(const char *p, size_t n, struct fields *fs)
{
    /* keys and strings are at most the line's bytes, plus a NUL each */
    if (n > SIZE_MAX / 2 || !fields_begin(fs, n + 2 * FIELDS_MAX + 2))
        return -1;
    struct jsonflat_field jf[FIELDS_MAX];
    int count = jsonflat_scan(p, n, jf, FIELDS_MAX, JSONFLAT_ESCAPES);
    if (count < 0)
        return 0;
    for (int i = 0; i < count; i++) {
        struct schema_field *f = &fs->f[fs->count];
        size_t key_len;
        f->key = fields_copy_json(fs, jf[i].key, jf[i].key_len, jf[i].escaped, &key_len);
        if (fields_has_key(fs, f->key, key_len))
            return 0; /* jansson refuses duplicates (JSON_REJECT_DUPLICATES) */
        fs->key_len[fs->count] = key_len;
        fields_json_value(fs, &jf[i], &f->value);
        fs->count++;
    }
    return 1;
}

void fields_free(struct fields *fs)
{
    strbuf_free(&fs->arena);
    fs->count = 0;
}

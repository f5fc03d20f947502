/* http_yaml.c - a JSON value as a YAML document, for
 * GET /endpoints/{domain}/{name}/yaml. Block style for objects and arrays;
 * every string is double-quoted with JSON escapes (valid YAML, and never
 * misread as a number, boolean or null); keys are plain when they are simple
 * identifiers (column names always are), quoted otherwise. */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct http_yaml_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
};

static void yaml_put(struct http_yaml_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void yaml_puts(struct http_yaml_buf *b, const char *s) { yaml_put(b, s, strlen(s)); }

static void yaml_indent(struct http_yaml_buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        yaml_puts(b, "  ");
}

/* A scalar on the current line (strings quoted via the JSON encoder). */
static void yaml_scalar(struct http_yaml_buf *b, const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (s == NULL) {
        b->failed = true;
        return;
    }
    yaml_puts(b, s);
    free(s);
}

static bool yaml_plain_key(const char *k)
{
    if (k[0] == '\0' || strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
                            != strlen(k))
        return false;
    /* YAML 1.1 readers take these as booleans/null even as keys. */
    static const char *const reserved[] = {"y", "n", "yes", "no", "on", "off", "true", "false",
                                           "null", NULL};
    for (int i = 0; reserved[i] != NULL; i++)
        if (strcasecmp(k, reserved[i]) == 0)
            return false;
    return true;
}

static bool yaml_is_empty_container(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

static void yaml_value(struct http_yaml_buf *b, const json_t *v, int depth);

/* Object entries at depth; first_inline: the first key continues a "- " line. */
static void yaml_object(struct http_yaml_buf *b, const json_t *obj, int depth, bool first_inline)
{
    const char *key;
    json_t *v;
    bool first = true;
    json_object_foreach((json_t *)obj, key, v) {
        if (!(first && first_inline))
            yaml_indent(b, depth);
        first = false;
        if (yaml_plain_key(key)) {
            yaml_puts(b, key);
        } else {
            json_t *k = json_string(key);
            yaml_scalar(b, k);
            json_decref(k);
        }
        yaml_puts(b, ":");
        if ((json_is_object(v) || json_is_array(v)) && !yaml_is_empty_container(v)) {
            yaml_puts(b, "\n");
            yaml_value(b, v, depth + 1);
        } else {
            yaml_puts(b, " ");
            yaml_value(b, v, depth);
        }
    }
}

static void yaml_value(struct http_yaml_buf *b, const json_t *v, int depth)
{
    if (json_is_object(v) && json_object_size(v) > 0) {
        yaml_object(b, v, depth, false);
    } else if (json_is_array(v) && json_array_size(v) > 0) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            yaml_indent(b, depth);
            yaml_puts(b, "- ");
            if (json_is_object(item) && json_object_size(item) > 0) {
                yaml_object(b, item, depth + 1, true);
            } else if (json_is_array(item) && json_array_size(item) > 0) {
                yaml_puts(b, "\n");
                yaml_value(b, item, depth + 1);
            } else {
                yaml_scalar(b, item);
                yaml_puts(b, "\n");
            }
        }
    } else {
        /* scalars and empty containers: "{}" / "[]" are valid flow YAML */
        yaml_scalar(b, v);
        yaml_puts(b, "\n");
    }
}

char *http_yaml_render(const json_t *value, size_t *len)
{
    struct http_yaml_buf b = {0};
    yaml_puts(&b, "---\n");
    yaml_value(&b, value, 0);
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

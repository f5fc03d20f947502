/* endpoints.c - the endpoint schema cache (see endpoints.h). A plain array:
 * a host has tens of endpoints, and a lookup per batch (not per record)
 * costs nothing next to parsing the batch. */
#include "endpoints.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

struct endpoints {
    struct catalog *catalog; /* not owned */
    struct schema **items;
    size_t count;
    size_t cap;
};

int endpoints_open(struct catalog *catalog, struct endpoints **out, char err[ERROR_MAX])
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return error_set(err, "endpoint cache: out of memory");
    (*out)->catalog = catalog;
    return 0;
}

void endpoints_close(struct endpoints **endpoints)
{
    struct endpoints *e = *endpoints;
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->count; i++)
        schema_destroy(&e->items[i]);
    free(e->items);
    free(e);
    *endpoints = NULL;
}

static size_t endpoints_find(const struct endpoints *e, const char *domain, const char *name)
{
    for (size_t i = 0; i < e->count; i++) {
        if (strcmp(e->items[i]->domain, domain) == 0 && strcmp(e->items[i]->name, name) == 0)
            return i;
    }
    return e->count;
}

static void endpoints_remove_at(struct endpoints *e, size_t i)
{
    schema_destroy(&e->items[i]);
    e->items[i] = e->items[--e->count];
}

void endpoints_set(struct endpoints *e, struct schema **schema)
{
    size_t i = endpoints_find(e, (*schema)->domain, (*schema)->name);
    if (i < e->count) {
        schema_destroy(&e->items[i]);
        e->items[i] = *schema;
        *schema = NULL;
        return;
    }
    if (e->count == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        struct schema **p = realloc(e->items, cap * sizeof *p);
        if (p == NULL) { /* not cached: the next batch asks the catalog again */
            schema_destroy(schema);
            return;
        }
        e->items = p;
        e->cap = cap;
    }
    e->items[e->count++] = *schema;
    *schema = NULL;
}

void endpoints_forget(struct endpoints *e, const char *domain, const char *name)
{
    size_t i = endpoints_find(e, domain, name);
    if (i < e->count)
        endpoints_remove_at(e, i);
}

int endpoints_reload(struct endpoints *e, const char *domain, const char *name,
                     const struct schema **schema, char err[ERROR_MAX])
{
    struct schema *s = NULL;
    int rc = catalog_get_endpoint(e->catalog, domain, name, 0, &s, err);
    if (rc <= 0) {
        if (rc == 0)
            endpoints_forget(e, domain, name);
        return rc;
    }
    endpoints_set(e, &s);
    size_t i = endpoints_find(e, domain, name);
    if (i == e->count)
        return error_set(err, "endpoint cache: out of memory");
    *schema = e->items[i];
    return 1;
}

int endpoints_get(struct endpoints *e, const char *domain, const char *name,
                  const struct schema **schema, char err[ERROR_MAX])
{
    size_t i = endpoints_find(e, domain, name);
    if (i < e->count) {
        *schema = e->items[i];
        return 1;
    }
    return endpoints_reload(e, domain, name, schema, err);
}

void endpoints_check_versions(struct endpoints *e)
{
    char err[ERROR_MAX];
    for (size_t i = 0; i < e->count;) {
        struct schema *s = e->items[i];
        int version = 0;
        int rc = catalog_endpoint_version(e->catalog, s->domain, s->name, &version, err);
        if (rc < 0) {
            log_warn("catalog_check_failed reason=\"%s\"", err);
            return;
        }
        if (rc == 0) {
            log_info("endpoint_forgotten domain=%s endpoint=%s reason=\"deleted from catalog\"",
                     s->domain, s->name);
            endpoints_remove_at(e, i);
            continue; /* the last item moved into i */
        }
        if (version != s->version) {
            char domain[NAMES_MAX], name[NAMES_MAX];
            strcpy(domain, s->domain);
            strcpy(name, s->name);
            const struct schema *fresh;
            rc = endpoints_reload(e, domain, name, &fresh, err);
            if (rc < 0) {
                log_warn("catalog_reload_failed domain=%s endpoint=%s reason=\"%s\"", domain,
                         name, err);
                return;
            }
            if (rc == 0)
                continue; /* deleted meanwhile: the last item moved into i */
            log_info("schema_reloaded domain=%s endpoint=%s version=%d", domain, name,
                     fresh->version);
        }
        i++;
    }
}

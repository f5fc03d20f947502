/* schemas.c - endpoint schemas for creating and widening silver tables.
 *
 * The catalog is opened read-only on first need and kept open (WAL: every
 * read transaction sees the newest versions). Three answers are kept apart
 * on purpose: a schema, "no such endpoint" (including: there is no catalog
 * yet) - the merge then infers types from the values - and "the catalog
 * cannot be read right now", which must never be taken for "no schema":
 * a table created by inference has no primary key and would stay that way. */
#include "processor.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"
#include "layout.h"
#include "log.h"

struct schemas {
    char data_dir[PATH_MAX];
    struct catalog *catalog;  /* NULL until first opened */
};

int schemas_open(const char *data_dir, struct schemas **out, char err[ERROR_MAX])
{
    struct schemas *s = calloc(1, sizeof *s);
    if (s == NULL)
        return error_set(err, "out of memory");
    snprintf(s->data_dir, sizeof s->data_dir, "%s", data_dir);
    *out = s;
    return 0;
}

void schemas_close(struct schemas **schemas)
{
    struct schemas *s = *schemas;
    if (s == NULL)
        return;
    catalog_close(&s->catalog);
    free(s);
    *schemas = NULL;
}

int schemas_get(struct schemas *s, const char *domain, const char *endpoint, int version,
                struct schema **out, char err[ERROR_MAX])
{
    *out = NULL;
    if (s->catalog == NULL) {
        char path[PATH_MAX];
        if (layout_catalog_db(path, sizeof path, s->data_dir, err) < 0)
            return -1;
        struct stat st;
        if (stat(path, &st) < 0) {
            if (errno == ENOENT)
                return 0; /* no catalog at all: every endpoint is unknown */
            return error_set(err, "catalog %s: %s", path, strerror(errno));
        }
        if (catalog_open(s->data_dir, true, &s->catalog, err) < 0)
            return -1;
    }
    int rc = catalog_get_endpoint(s->catalog, domain, endpoint, version, out, err);
    if (rc < 0) {
        /* reopen next time: the handle may be what is broken */
        catalog_close(&s->catalog);
        return -1;
    }
    return rc;
}

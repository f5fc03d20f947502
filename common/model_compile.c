/* model_compile.c - a concept file checked against the catalog's current
 * endpoint schemas and generated into jobs (model.h): the one path the CLI
 * and the broker share. */
#include "model.h"

#include <stdio.h>
#include <string.h>

#include "catalog.h"

static int model_catalog_schema(void *arg, const char *domain, const char *table,
                                struct schema **out, char err[ERROR_MAX])
{
    return catalog_get_endpoint(arg, domain, table, 0, out, err);
}

int model_compile(struct catalog *catalog, const char *text, size_t len, const char *file,
                  struct model **model, struct model_job **jobs, size_t *count,
                  struct strbuf *problems, char err[ERROR_MAX])
{
    *model = NULL;
    *jobs = NULL;
    *count = 0;
    struct model *m = NULL;
    if (model_parse(text, len, file, &m, err) < 0) {
        strbuf_addf(problems, "%s\n", err);
        return CATALOG_REFUSED;
    }
    int n = model_check(m, model_catalog_schema, catalog, problems, err);
    if (n < 0) {
        model_free(&m);
        return -1;
    }
    if (n > 0) {
        const char *nl = problems->s != NULL ? strchr(problems->s, '\n') : NULL;
        error_set(err, "%.*s%s", nl != NULL ? (int)(nl - problems->s) : 0,
                  problems->s != NULL ? problems->s : "", n > 1 ? " (and more)" : "");
        model_free(&m);
        return CATALOG_REFUSED;
    }
    if (model_generate(m, MODEL_PROFILE_FULL, jobs, count, err) < 0) {
        model_free(&m);
        return -1;
    }
    *model = m;
    return 0;
}

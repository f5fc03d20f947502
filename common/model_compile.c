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

bool model_job_same(const struct job_def *a, const struct job_def *b)
{
    return strcmp(a->sql ? a->sql : "", b->sql ? b->sql : "") == 0 &&
           a->write_mode == b->write_mode && strcmp(a->unique_key, b->unique_key) == 0 &&
           a->incremental == b->incremental && strcmp(a->accumulate, b->accumulate) == 0 &&
           strcmp(a->index, b->index) == 0 && strcmp(a->model, b->model) == 0 &&
           a->schedule == b->schedule && strcmp(a->cron, b->cron) == 0;
}

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
                  enum model_profile profile, struct model **model, struct model_job **jobs,
                  size_t *count,
                  struct strbuf *problems, char err[ERROR_MAX])
{
    *model = NULL;
    *jobs = NULL;
    *count = 0;
    struct model *m = NULL;
    if (model_parse(text, len, file, &m, err) < 0) {
        strbuf_addf(problems, "%s\n", err);
        return -(int)ERROR_INVALID;
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
        return -(int)ERROR_INVALID;
    }
    if (model_generate(m, profile, jobs, count, err) < 0) {
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

static const struct job_def *model_find_job(const struct job_def *jobs, size_t n,
                                            const char *domain, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(jobs[k].domain, domain) == 0 && strcmp(jobs[k].name, name) == 0)
            return &jobs[k];
    return NULL;
}

void model_diff(const char *name, const struct model_job *jobs, size_t count,
                const struct job_def *installed, size_t ninstalled, model_diff_fn fn, void *arg)
{
    for (size_t i = 0; i < count; i++) {
        const struct job_def *old =
            model_find_job(installed, ninstalled, jobs[i].def.domain, jobs[i].def.name);
        fn(arg, old == NULL ? MODEL_JOB_NEW
                : model_job_same(&jobs[i].def, old) ? MODEL_JOB_UNCHANGED
                                                    : MODEL_JOB_CHANGED,
           &jobs[i], old);
    }
    for (size_t k = 0; k < ninstalled; k++) {
        bool kept = false;
        for (size_t i = 0; i < count && !kept; i++)
            kept = strcmp(installed[k].domain, jobs[i].def.domain) == 0 &&
                   strcmp(installed[k].name, jobs[i].def.name) == 0;
        if (!kept && strcmp(installed[k].model, name) == 0)
            fn(arg, MODEL_JOB_REMOVED, NULL, &installed[k]);
    }
}

/* fuzz_model.c - libFuzzer target: concept files as users send them
 * (`lakehouse model check`, PUT /models, model.h), YAML or JSON. A file that
 * parses is checked against a source where every table has the columns
 * id, key, ref, day (date), amount (float), name; a valid one is generated,
 * documented and its diamond queries built. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static int fuzz_schema(void *arg, const char *domain, const char *table, struct schema **out,
                       char err[ERROR_MAX])
{
    (void)arg;
    (void)domain;
    static const struct {
        const char *name;
        enum schema_type type;
    } cols[] = {{"id", SCHEMA_TYPE_INTEGER}, {"key", SCHEMA_TYPE_STRING},
                {"ref", SCHEMA_TYPE_INTEGER}, {"day", SCHEMA_TYPE_DATE},
                {"amount", SCHEMA_TYPE_FLOAT}, {"name", SCHEMA_TYPE_STRING}};
    if (strcmp(table, "missing") == 0)
        return 0;
    struct schema *s = calloc(1, sizeof *s);
    if (s == NULL)
        return error_set(err, "out of memory");
    s->column_count = sizeof cols / sizeof cols[0];
    s->columns = calloc(s->column_count, sizeof *s->columns);
    if (s->columns == NULL) {
        free(s);
        return error_set(err, "out of memory");
    }
    for (size_t i = 0; i < s->column_count; i++) {
        strcpy(s->columns[i].name, cols[i].name);
        s->columns[i].type = cols[i].type;
        s->columns[i].primary_key = i == 0; /* id: the incremental bags */
    }
    *out = s;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char err[ERROR_MAX];
    struct model *m = NULL;
    if (model_parse((const char *)data, size, "fuzz.yaml", &m, err) != 0)
        return 0;
    struct strbuf problems = {0};
    if (model_check(m, fuzz_schema, NULL, &problems, err) == 0) {
        for (int p = 0; p < 2; p++) {
            struct model_job *jobs = NULL;
            size_t count = 0;
            if (model_generate(m, p ? MODEL_PROFILE_FULL : MODEL_PROFILE_INCREMENTAL, &jobs,
                               &count, err) == 0) {
                free(model_plan_text(jobs, count));
                model_jobs_free(jobs, count);
            }
        }
        free(model_docs(m, "md", err));
        free(model_diamond_sql(m, err));
    }
    strbuf_free(&problems);
    model_free(&m);
    return 0;
}

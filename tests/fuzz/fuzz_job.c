/* fuzz_job.c - libFuzzer target: transform job definitions as users send
 * them (job.h): the SQL-file form (`lakehouse job add`, jobs directory) when
 * the first byte is even, the JSON form (POST/PUT /transform/jobs) when odd.
 * A definition that parses is validated, its dependencies read, and its JSON
 * form must parse back to the same job. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "sqlref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char err[ERROR_MAX];
    struct job_def job;
    memset(&job, 0, sizeof job);
    int rc;
    if ((data[0] & 1) == 0) {
        rc = job_parse_sql_file(text, "fuzzed", &job, err);
    } else {
        json_error_t jerr;
        json_t *json = json_loads(text, 0, &jerr);
        rc = json != NULL ? job_from_json(json, &job, err) : -1;
        json_decref(json);
    }
    if (rc == 0) {
        struct sqlref *refs = NULL;
        size_t count = 0;
        if (job_validate(&job, err) == 0 && job_dependencies(&job, &refs, &count, err) == 0)
            free(refs);
        json_t *back = job_to_json(&job);
        struct job_def again;
        memset(&again, 0, sizeof again);
        if (back == NULL)
            __builtin_trap();
        /* its nulls ("not set") must read back as such */
        if (job_from_json(back, &again, err) != 0 || strcmp(again.domain, job.domain) != 0 ||
            strcmp(again.name, job.name) != 0 || strcmp(again.sql, job.sql) != 0 ||
            again.write_mode != job.write_mode || again.schedule != job.schedule ||
            strcmp(again.unique_key, job.unique_key) != 0 || strcmp(again.cron, job.cron) != 0)
            __builtin_trap();
        json_decref(back);
        job_clear(&again);
    }
    job_clear(&job);
    free(text);
    return 0;
}

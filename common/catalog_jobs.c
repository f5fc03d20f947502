/* catalog_jobs.c - transform jobs, the models that install job sets, and
 * the jobs' executions in catalog.db (catalog.h; statements and helpers in
 * catalog_internal.h). */
#include "catalog.h"
#include "catalog_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

/* ------------------------------------------------------------------ jobs */

static int catalog_job_from_row(struct catalog *catalog, sqlite3_stmt *stmt, struct job_def *out,
                                char err[ERROR_MAX])
{
    memset(out, 0, sizeof *out);
    snprintf(out->domain, sizeof out->domain, "%s", catalog_column_text(stmt, 0));
    snprintf(out->name, sizeof out->name, "%s", catalog_column_text(stmt, 1));
    if (job_write_mode_from_name(catalog_column_text(stmt, 3), &out->write_mode) < 0 ||
        job_schedule_from_name(catalog_column_text(stmt, 5), &out->schedule) < 0)
        return error_set(err, "catalog %s: job %s/%s has an unknown write mode or schedule",
                         catalog->path, out->domain, out->name);
    snprintf(out->unique_key, sizeof out->unique_key, "%s", catalog_column_text(stmt, 4));
    snprintf(out->cron, sizeof out->cron, "%s", catalog_column_text(stmt, 6));
    out->incremental = sqlite3_column_int(stmt, 7) != 0;
    snprintf(out->accumulate, sizeof out->accumulate, "%s", catalog_column_text(stmt, 8));
    snprintf(out->index, sizeof out->index, "%s", catalog_column_text(stmt, 9));
    snprintf(out->model, sizeof out->model, "%s", catalog_column_text(stmt, 10));
    out->sql = strdup(catalog_column_text(stmt, 2));
    if (out->sql == NULL)
        return error_set(err, "out of memory");
    return 0;
}

static void catalog_free_jobs(struct job_def *jobs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        job_clear(&jobs[i]);
    free(jobs);
}

int catalog_list_jobs(struct catalog *catalog, struct job_def **jobs, size_t *count,
                      char err[ERROR_MAX])
{
    *jobs = NULL;
    *count = 0;
    struct job_def *list = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_JOB_LIST);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            size_t next = cap ? cap * 2 : 16;
            struct job_def *grown = realloc(list, next * sizeof *list);
            if (grown == NULL) {
                error_set(err, "out of memory");
                goto fail;
            }
            list = grown;
            cap = next;
        }
        if (catalog_job_from_row(catalog, stmt, &list[n], err) < 0) {
            job_clear(&list[n]);
            goto fail;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        catalog_db_error(catalog, err, "list jobs");
        goto fail;
    }
    sqlite3_reset(stmt);
    *jobs = list;
    *count = n;
    return 0;
fail:
    sqlite3_reset(stmt);
    catalog_free_jobs(list, n);
    return -1;
}

/* Bind and run the upsert of one job (inside the caller's transaction). */
static int catalog_store_job(struct catalog *catalog, const struct job_def *job,
                             char err[ERROR_MAX])
{
    char now[TIMEUTIL_TIMESTAMP_MAX];
    catalog_now(now);
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_JOB_UPSERT, job->domain, job->name);
    catalog_bind_text(stmt, 3, job->sql);
    catalog_bind_text(stmt, 4, job_write_mode_name(job->write_mode));
    catalog_bind_text(stmt, 5, job->unique_key);
    catalog_bind_text(stmt, 6, job_schedule_name(job->schedule));
    catalog_bind_text(stmt, 7, job->cron);
    catalog_bind_text(stmt, 8, now);
    sqlite3_bind_int(stmt, 9, job->incremental ? 1 : 0);
    catalog_bind_text(stmt, 10, job->accumulate);
    catalog_bind_text(stmt, 11, job->index);
    catalog_bind_text(stmt, 12, job->model);
    return catalog_exec(catalog, stmt, err, "store job");
}

int catalog_put_job(struct catalog *catalog, const struct job_def *job, char err[ERROR_MAX])
{
    struct job_def *jobs = NULL;
    size_t count = 0;

    if (job_validate(job, err) < 0)
        return -1; /* the message names the job */
    if (catalog_begin(catalog, err) < 0)
        return -1;
    /* The cycle check and the write see the same set of jobs. */
    if (catalog_list_jobs(catalog, &jobs, &count, err) < 0)
        goto fail;
    if (job_check_cycle(jobs, count, job, err) < 0) {
        error_prefix(err, "job %s/%s", job->domain, job->name);
        goto fail;
    }
    if (catalog_store_job(catalog, job, err) < 0 || catalog_commit(catalog, err) < 0)
        goto fail;
    catalog_free_jobs(jobs, count);
    return 0;
fail:
    catalog_rollback(catalog);
    catalog_free_jobs(jobs, count);
    return -1;
}

int catalog_get_job(struct catalog *catalog, const char *domain, const char *name,
                    struct job_def *out, char err[ERROR_MAX])
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_JOB_GET, domain, name);
    int rc = catalog_step_row(catalog, stmt, err, "read job");
    if (rc <= 0)
        return rc;
    rc = catalog_job_from_row(catalog, stmt, out, err);
    sqlite3_reset(stmt);
    if (rc < 0) {
        job_clear(out);
        return -1;
    }
    return 1;
}

int catalog_delete_job(struct catalog *catalog, const char *domain, const char *name,
                       char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_JOB_DELETE, domain, name);
    if (catalog_exec(catalog, stmt, err, "delete job") < 0)
        return -1;
    if (sqlite3_changes(catalog->db) == 0)
        return error_fail(err, ERROR_NOT_FOUND, "no job %s/%s", domain, name);
    return 0;
}

/* ---------------------------------------------------------------- models */

/* The jobs the catalog will hold once set replaces model `name`'s jobs
 * (others' jobs stay; none of them may be taken over), into final (room for
 * count + set_count). -(ERROR_CONFLICT) for a job of set that another model
 * or no model owns. */
static int catalog_model_final_set(const char *name, const struct job_def *jobs, size_t count,
                                   const struct job_def *set, size_t set_count,
                                   struct job_def *final, size_t *nfinal, char err[ERROR_MAX])
{
    *nfinal = 0;
    for (size_t i = 0; i < count; i++) {
        bool replaced = false;
        for (size_t k = 0; k < set_count && !replaced; k++)
            replaced = strcmp(jobs[i].domain, set[k].domain) == 0 &&
                       strcmp(jobs[i].name, set[k].name) == 0;
        if (replaced && strcmp(jobs[i].model, name) != 0)
            return error_fail(err, ERROR_CONFLICT, "job %s/%s exists and is not managed by model %s",
                              jobs[i].domain, jobs[i].name, name);
        if (strcmp(jobs[i].model, name) != 0)
            final[(*nfinal)++] = jobs[i];
    }
    for (size_t k = 0; k < set_count; k++)
        final[(*nfinal)++] = set[k];
    for (size_t k = 0; k < set_count; k++) {
        if (job_check_cycle(final, *nfinal, &set[k], err) < 0) {
            error_prefix(err, "job %s/%s", set[k].domain, set[k].name);
            return -(int)ERROR_CONFLICT;
        }
    }
    return 0;
}

int catalog_put_model(struct catalog *catalog, const char *name, const char *concept_file,
                      const struct job_def *set, size_t set_count, char err[ERROR_MAX])
{
    struct job_def *jobs = NULL, *final = NULL;
    size_t count = 0, nfinal = 0;
    int rc = -1;
    for (size_t i = 0; i < set_count; i++)
        if (job_validate(&set[i], err) < 0)
            return -(int)ERROR_INVALID;
    if (catalog_begin(catalog, err) < 0)
        return -1;
    if (catalog_list_jobs(catalog, &jobs, &count, err) < 0)
        goto fail;
    final = calloc(count + set_count + 1, sizeof *final);
    if (final == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    rc = catalog_model_final_set(name, jobs, count, set, set_count, final, &nfinal, err);
    if (rc < 0)
        goto fail;
    rc = -1;
    char now[TIMEUTIL_TIMESTAMP_MAX];
    catalog_now(now);
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_MODEL_JOBS_DELETE);
    catalog_bind_text(stmt, 1, name);
    if (catalog_exec(catalog, stmt, err, "delete model jobs") < 0)
        goto fail;
    for (size_t k = 0; k < set_count; k++)
        if (catalog_store_job(catalog, &set[k], err) < 0)
            goto fail;
    stmt = catalog_stmt(catalog, CATALOG_MODEL_UPSERT);
    catalog_bind_text(stmt, 1, name);
    catalog_bind_text(stmt, 2, concept_file);
    catalog_bind_text(stmt, 3, now);
    if (catalog_exec(catalog, stmt, err, "store model") < 0 || catalog_commit(catalog, err) < 0)
        goto fail;
    free(final);
    catalog_free_jobs(jobs, count);
    return 0;
fail:
    catalog_rollback(catalog);
    free(final);
    catalog_free_jobs(jobs, count);
    return rc;
}

int catalog_get_model(struct catalog *catalog, const char *name, char **concept_file,
                      char err[ERROR_MAX])
{
    *concept_file = NULL;
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_MODEL_GET);
    catalog_bind_text(stmt, 1, name);
    int rc = catalog_step_row(catalog, stmt, err, "read model");
    if (rc <= 0)
        return rc;
    *concept_file = strdup(catalog_column_text(stmt, 0));
    sqlite3_reset(stmt);
    return *concept_file == NULL ? error_set(err, "out of memory") : 1;
}

static json_t *catalog_model_row(struct catalog *catalog, sqlite3_stmt *stmt, char err[ERROR_MAX])
{
    static const char *const keys[] = {"name", "created_at", "updated_at", "jobs"};
    (void)catalog;
    return catalog_row_object(stmt, keys, 4, err);
}

int catalog_list_models(struct catalog *catalog, json_t **out, char err[ERROR_MAX])
{
    return catalog_collect(catalog, catalog_stmt(catalog, CATALOG_MODEL_LIST), catalog_model_row,
                           "list models", out, err);
}

int catalog_delete_model(struct catalog *catalog, const char *name, char err[ERROR_MAX])
{
    if (catalog_begin(catalog, err) < 0)
        return -1;
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_MODEL_JOBS_DELETE);
    catalog_bind_text(stmt, 1, name);
    if (catalog_exec(catalog, stmt, err, "delete model jobs") < 0)
        goto fail;
    stmt = catalog_stmt(catalog, CATALOG_MODEL_DELETE);
    catalog_bind_text(stmt, 1, name);
    if (catalog_exec(catalog, stmt, err, "delete model") < 0)
        goto fail;
    if (sqlite3_changes(catalog->db) == 0) {
        catalog_rollback(catalog);
        return error_fail(err, ERROR_NOT_FOUND, "no model %s", name);
    }
    if (catalog_commit(catalog, err) < 0)
        goto fail;
    return 0;
fail:
    catalog_rollback(catalog);
    return -1;
}

/* ------------------------------------------------------------ executions */

int catalog_execution_start(struct catalog *catalog, const char *domain, const char *job,
                            const char *trigger, int64_t *execution_id, char err[ERROR_MAX])
{
    char now[TIMEUTIL_TIMESTAMP_MAX];
    catalog_now(now);
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_EXECUTION_START, domain, job);
    catalog_bind_text(stmt, 3, trigger ? trigger : "");
    catalog_bind_text(stmt, 4, now);
    if (catalog_exec(catalog, stmt, err, "start execution") < 0)
        return -1;
    *execution_id = sqlite3_last_insert_rowid(catalog->db);
    return 0;
}

int catalog_execution_finish(struct catalog *catalog, int64_t execution_id, const char *status,
                             int64_t rows, const char *error, const char *inputs_json,
                             char err[ERROR_MAX])
{
    if (status == NULL || (strcmp(status, "SUCCEEDED") != 0 && strcmp(status, "FAILED") != 0))
        return error_set(err, "execution %lld: status must be SUCCEEDED or FAILED, not %s",
                         (long long)execution_id, status ? status : "(null)");
    if (inputs_json != NULL) {
        json_error_t jerr;
        json_t *parsed = json_loads(inputs_json, 0, &jerr);
        if (parsed == NULL)
            return error_set(err, "execution %lld: inputs are not valid JSON: %s",
                             (long long)execution_id, jerr.text);
        json_decref(parsed);
    }
    char now[TIMEUTIL_TIMESTAMP_MAX];
    catalog_now(now);
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_EXECUTION_FINISH);
    sqlite3_bind_int64(stmt, 1, execution_id);
    catalog_bind_text(stmt, 2, status);
    catalog_bind_text(stmt, 3, now);
    sqlite3_bind_int64(stmt, 4, rows);
    catalog_bind_text(stmt, 5, error);
    catalog_bind_text(stmt, 6, inputs_json);
    if (catalog_exec(catalog, stmt, err, "finish execution") < 0)
        return -1;
    if (sqlite3_changes(catalog->db) == 0)
        return error_set(err, "no execution %lld", (long long)execution_id);
    return 0;
}

int catalog_last_success_inputs(struct catalog *catalog, const char *domain, const char *job,
                                json_t **out, char err[ERROR_MAX])
{
    *out = NULL;
    sqlite3_stmt *stmt =
        catalog_stmt_named(catalog, CATALOG_EXECUTION_LAST_SUCCESS, domain, job);
    int rc = catalog_step_row(catalog, stmt, err, "read last execution");
    if (rc <= 0)
        return rc;
    json_t *inputs;
    if (sqlite3_column_type(stmt, 0) == SQLITE_NULL) {
        inputs = json_object(); /* a success that read nothing recorded */
    } else {
        json_error_t jerr;
        inputs = json_loads(catalog_column_text(stmt, 0), 0, &jerr);
        if (inputs == NULL) {
            error_set(err, "catalog %s: inputs of job %s/%s are not valid JSON: %s", catalog->path,
                      domain, job, jerr.text);
            sqlite3_reset(stmt);
            return -1;
        }
    }
    sqlite3_reset(stmt);
    if (inputs == NULL)
        return error_set(err, "out of memory");
    *out = inputs;
    return 1;
}

/* An execution row as an object (also for catalog_collect). */
static json_t *catalog_execution_json(struct catalog *catalog, sqlite3_stmt *stmt,
                                      char err[ERROR_MAX])
{
    static const char *const keys[] = {"execution_id", "domain",      "job_name",
                                       "trigger",      "status",      "started_at",
                                       "finished_at",  "rows",        "error"};
    (void)catalog;
    return catalog_row_object(stmt, keys, 9, err);
}

int catalog_get_execution(struct catalog *catalog, int64_t execution_id, json_t **out,
                          char err[ERROR_MAX])
{
    *out = NULL;
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_EXECUTION_GET);
    sqlite3_bind_int64(stmt, 1, execution_id);
    int rc = catalog_step_row(catalog, stmt, err, "read execution");
    if (rc <= 0)
        return rc;
    *out = catalog_execution_json(catalog, stmt, err);
    sqlite3_reset(stmt);
    return *out ? 1 : -1;
}

int catalog_list_executions(struct catalog *catalog, const char *domain, const char *job,
                            int limit, json_t **out, char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = catalog_stmt_named(catalog, CATALOG_EXECUTION_LIST, domain, job);
    sqlite3_bind_int(stmt, 3, limit > 0 ? limit : -1); /* LIMIT -1: no limit */
    return catalog_collect(catalog, stmt, catalog_execution_json, "list executions", out, err);
}

int catalog_fail_running_executions(struct catalog *catalog, const char *reason,
                                    char err[ERROR_MAX])
{
    char now[TIMEUTIL_TIMESTAMP_MAX];
    catalog_now(now);
    sqlite3_stmt *stmt = catalog_stmt(catalog, CATALOG_EXECUTION_FAIL_RUNNING);
    catalog_bind_text(stmt, 1, now);
    catalog_bind_text(stmt, 2, reason ? reason : "interrupted");
    return catalog_exec(catalog, stmt, err, "fail running executions");
}

/* jobs.c - the transformer's in-memory job table (transformer.h): loaded
 * from the catalog at start, on job.changed and every reconcile interval.
 *
 * The catalog is the source of truth for definitions; this table adds what
 * only a running transformer knows (pending runs, forced executions, what the
 * last run read). A reload builds a new table and moves that state over by
 * (domain, name), so a reload never loses a queued run. The "who reads this
 * table" question is answered by scanning each job's input list: jobs are
 * few (tens to hundreds), commits are what we are fast about, not lookups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "timeutil.h"
#include "transformer.h"

void jobs_input_key(const struct sqlref *ref, char out[3 * NAMES_MAX + 8])
{
    snprintf(out, 3 * NAMES_MAX + 8, "%s.%s.%s", ref->domain, sqlref_layer_name(ref->layer),
             ref->table);
}

static void jobs_item_clear(struct tjob *job)
{
    job_clear(&job->def);
    free(job->inputs);
    json_decref(job->last_inputs);
    memset(job, 0, sizeof *job);
}

void jobs_free(struct jobs *jobs)
{
    for (size_t i = 0; i < jobs->count; i++)
        jobs_item_clear(&jobs->items[i]);
    free(jobs->items);
    jobs->items = NULL;
    jobs->count = 0;
}

struct tjob *jobs_find(struct jobs *jobs, const char *domain, const char *name)
{
    for (size_t i = 0; i < jobs->count; i++) {
        if (strcmp(jobs->items[i].def.domain, domain) == 0 &&
            strcmp(jobs->items[i].def.name, name) == 0)
            return &jobs->items[i];
    }
    return NULL;
}

bool jobs_reads(const struct tjob *job, const char *domain, enum sqlref_layer layer,
                const char *table)
{
    for (size_t i = 0; i < job->input_count; i++) {
        const struct sqlref *r = &job->inputs[i];
        if (r->layer == layer && strcmp(r->domain, domain) == 0 && strcmp(r->table, table) == 0)
            return true;
    }
    return false;
}

/* A wanted run: pending or forced. */
static bool jobs_wanted(const struct tjob *job)
{
    return job->pending || job->forced_execution > 0;
}

int jobs_mark_waiting(const struct jobs *jobs, bool *waiting)
{
    size_t n = jobs->count, top = 0;
    /* expand[]: jobs whose downstream is still to mark; each enters once */
    size_t *expand = malloc((n ? n : 1) * sizeof *expand);
    bool *entered = calloc(n ? n : 1, sizeof *entered);
    if (expand == NULL || entered == NULL) {
        free(expand);
        free(entered);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        waiting[i] = false;
        if (jobs_wanted(&jobs->items[i])) {
            entered[i] = true;
            expand[top++] = i;
        }
    }
    while (top > 0) {
        const struct tjob *up = &jobs->items[expand[--top]];
        for (size_t j = 0; j < n; j++) {
            if (!jobs_reads(&jobs->items[j], up->def.domain, SQLREF_GOLD, up->def.name))
                continue;
            waiting[j] = true;
            if (!entered[j]) {
                entered[j] = true;
                expand[top++] = j;
            }
        }
    }
    free(expand);
    free(entered);
    return 0;
}

/* Did anything that changes the job's output (or its table's index) change? */
static bool jobs_definition_changed(const struct job_def *a, const struct job_def *b)
{
    return strcmp(a->sql ? a->sql : "", b->sql ? b->sql : "") != 0 ||
           a->write_mode != b->write_mode || strcmp(a->unique_key, b->unique_key) != 0 ||
           a->schedule != b->schedule || strcmp(a->cron, b->cron) != 0 ||
           a->incremental != b->incremental || strcmp(a->index, b->index) != 0;
}

/* Build one table entry from a catalog definition (takes ownership of def);
 * err says why when the definition is invalid. */
static void jobs_item_init(struct tjob *job, struct job_def *def, char err[ERROR_MAX])
{
    err[0] = '\0';
    memset(job, 0, sizeof *job);
    job->def = *def;
    memset(def, 0, sizeof *def);
    job->valid = job_validate(&job->def, err) == 0 &&
                 job_dependencies(&job->def, &job->inputs, &job->input_count, err) == 0 &&
                 (job->def.schedule != JOB_SCHEDULE_CRON ||
                  cron_parse(job->def.cron, &job->cron, err) == 0);
}

/* A cron job seen for the first time by this process: if its last execution
 * started in the current minute (a restart right after a cron run), that
 * minute is already served - cron runs once per matching minute. */
static void jobs_init_cron_minute(struct transformer_ctx *ctx, struct tjob *job)
{
    char err[ERROR_MAX];
    json_t *list = NULL;
    if (catalog_list_executions(ctx->catalog, job->def.domain, job->def.name, 1, &list, err) < 0) {
        log_warn("executions_read_failed job=%s.%s reason=\"%s\"", job->def.domain,
                 job->def.name, err);
        return;
    }
    const char *started = json_string_value(json_object_get(json_array_get(list, 0), "started_at"));
    int64_t ms = 0;
    if (started != NULL && timeutil_parse_utc_ms(started, &ms) == 0)
        job->cron_minute = ms / 60000;
    json_decref(list);
}

/* Finish a forced execution that will never run. */
static void jobs_abandon_forced(struct transformer_ctx *ctx, struct tjob *job, const char *reason)
{
    char err[ERROR_MAX];
    if (job->forced_execution <= 0)
        return;
    if (catalog_execution_finish(ctx->catalog, job->forced_execution, "FAILED", 0, reason, NULL,
                                 err) < 0)
        log_error("execution_finish_failed execution=%lld reason=\"%s\"",
                  (long long)job->forced_execution, err);
    job->forced_execution = 0;
}

int jobs_reload(struct transformer_ctx *ctx, char err[ERROR_MAX])
{
    struct job_def *defs = NULL;
    size_t count = 0;
    if (catalog_list_jobs(ctx->catalog, &defs, &count, err) < 0)
        return -1;
    struct tjob *items = calloc(count ? count : 1, sizeof *items);
    if (items == NULL) {
        for (size_t i = 0; i < count; i++)
            job_clear(&defs[i]);
        free(defs);
        return error_set(err, "out of memory loading %zu jobs", count);
    }
    struct jobs *old = &ctx->jobs;
    size_t added = 0, changed = 0;
    for (size_t i = 0; i < count; i++) {
        struct tjob *job = &items[i];
        char why[ERROR_MAX];
        jobs_item_init(job, &defs[i], why);
        struct tjob *prev = jobs_find(old, job->def.domain, job->def.name);
        /* said once, not at every reload */
        if (!job->valid && (prev == NULL || prev->valid ||
                            jobs_definition_changed(&prev->def, &job->def)))
            log_warn("job_invalid job=%s.%s reason=\"%s\"", job->def.domain, job->def.name, why);
        if (prev != NULL) {
            job->pending = prev->pending;
            memcpy(job->trigger, prev->trigger, sizeof job->trigger);
            job->forced_execution = prev->forced_execution;
            job->cron_minute = prev->cron_minute;
            job->passed_over = prev->passed_over;
            prev->forced_execution = 0; /* moved */
            bool differs = jobs_definition_changed(&prev->def, &job->def);
            if (!differs) {
                job->last_inputs = prev->last_inputs;
                prev->last_inputs = NULL;
            } else {
                changed++;
                log_info("job_changed job=%s.%s", job->def.domain, job->def.name);
                if (job->valid && job->def.schedule == JOB_SCHEDULE_DEPENDENCY)
                    schedule_queue(job, "definition");
            }
        } else if (job->valid && job->def.schedule == JOB_SCHEDULE_CRON) {
            jobs_init_cron_minute(ctx, job);
        }
        if (prev == NULL && old->loaded) {
            added++;
            log_info("job_added job=%s.%s schedule=%s", job->def.domain, job->def.name,
                     job_schedule_name(job->def.schedule));
            if (job->valid && job->def.schedule == JOB_SCHEDULE_DEPENDENCY)
                schedule_queue(job, "definition");
        }
        if (!job->valid) {
            job->pending = false;
            jobs_abandon_forced(ctx, job, "job definition is invalid");
        }
    }
    free(defs);
    /* Jobs that disappeared: their forced runs will never happen. */
    for (size_t i = 0; i < old->count; i++) {
        if (old->items[i].forced_execution > 0) {
            log_info("job_removed job=%s.%s", old->items[i].def.domain, old->items[i].def.name);
            jobs_abandon_forced(ctx, &old->items[i], "job was deleted before it ran");
        }
    }
    bool was_loaded = old->loaded;
    jobs_free(old);
    ctx->jobs.items = items;
    ctx->jobs.count = count;
    ctx->jobs.loaded = true;
    if (!was_loaded || added > 0 || changed > 0)
        log_info("jobs_loaded count=%zu added=%zu changed=%zu", count, added, changed);
    return 0;
}

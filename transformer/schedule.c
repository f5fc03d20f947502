/* schedule.c - deciding which job runs when (transformer.h).
 *
 * A wanted run is one flag per job (tjob.pending), so commits coalesce: while
 * a job runs, the loop does not read events; afterwards any number of commits
 * of its inputs set the same flag once, which is at most one more run. A
 * commit whose snapshot the job has already read (its last run saw that
 * snapshot id or a later one) queues nothing, which also absorbs the echo of
 * our own gold.committed coming back through the broker after the downstream
 * job was queued directly.
 *
 * Events are hints (ARCHITECTURE rule 3): reconcile compares, for each
 * dependency job, the snapshot ids recorded by its last success with the
 * current ones, at start and every reconcile_interval_ms. A job whose last
 * attempt in this process failed on the same inputs is not retried by
 * reconcile (that would record a FAILED execution every interval); a new
 * commit, a changed definition or a manual run tries again.
 *
 * Order, in waves: a job waits while any job upstream of it, directly or
 * through other jobs, has a run wanted (pending or forced). Between two runs
 * the loop reads events, so a job queued by one upstream job must not run
 * before another upstream job queued by the same commit (a diamond, or a
 * chain beside a direct edge): waiting on direct inputs only would run it
 * once per path. Waiting on the whole upstream closure, one commit runs each
 * downstream job once, on the fresh result of all of them. Among the jobs
 * that wait on nothing, forced runs ("run" requests) go first. There is no
 * "running" state to wait on: a run holds the loop until it has committed
 * and queued its downstream jobs. Waiting is bounded: a job passed over
 * once per job of the table runs anyway, so upstream jobs that a stream of
 * commits queues again after every run cannot starve it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "transformer.h"

void schedule_queue(struct tjob *job, const char *trigger)
{
    if (job->pending)
        return; /* coalesced into the run already wanted */
    job->pending = true;
    snprintf(job->trigger, sizeof job->trigger, "%s", trigger);
}

/* Has the job already read snapshot_id (or later) of the table key? */
static bool schedule_already_read(const struct tjob *job, const char *key, int64_t snapshot_id)
{
    if (job->last_inputs == NULL || snapshot_id <= 0)
        return false;
    json_t *seen = json_object_get(job->last_inputs, key);
    return json_is_integer(seen) && json_integer_value(seen) >= snapshot_id;
}

void schedule_table_committed(struct transformer_ctx *ctx, const char *domain,
                              enum sqlref_layer layer, const char *table, int64_t snapshot_id)
{
    struct sqlref ref = {.layer = layer};
    snprintf(ref.domain, sizeof ref.domain, "%s", domain);
    snprintf(ref.table, sizeof ref.table, "%s", table);
    char key[3 * NAMES_MAX + 8];
    jobs_input_key(&ref, key);
    for (size_t i = 0; i < ctx->jobs.count; i++) {
        struct tjob *job = &ctx->jobs.items[i];
        if (!job->valid || job->def.schedule != JOB_SCHEDULE_DEPENDENCY ||
            !jobs_reads(job, domain, layer, table))
            continue;
        if (schedule_already_read(job, key, snapshot_id))
            continue;
        if (!job->pending)
            log_debug("queued job=%s.%s trigger=dependency input=%s snapshot=%lld",
                      job->def.domain, job->def.name, key, (long long)snapshot_id);
        schedule_queue(job, "dependency");
    }
}

void schedule_reconcile(struct transformer_ctx *ctx)
{
    char err[ERROR_MAX], missing[ERROR_MAX];
    for (size_t i = 0; i < ctx->jobs.count; i++) {
        struct tjob *job = &ctx->jobs.items[i];
        if (!job->valid || job->def.schedule != JOB_SCHEDULE_DEPENDENCY || job->pending)
            continue;
        json_t *current = NULL, *last = NULL;
        int rc = inputs_current(ctx->cfg->data_dir, job, &current, missing, err);
        if (rc < 0) {
            log_warn("reconcile_failed job=%s.%s reason=\"%s\"", job->def.domain, job->def.name,
                     err);
            continue;
        }
        if (rc == 0)
            continue; /* not runnable until its inputs exist */
        rc = catalog_last_success_inputs(ctx->catalog, job->def.domain, job->def.name, &last, err);
        if (rc < 0) {
            log_warn("reconcile_failed job=%s.%s reason=\"%s\"", job->def.domain, job->def.name,
                     err);
        } else if (rc == 1 && json_equal(last, current)) {
            /* up to date */
        } else if (job->last_inputs != NULL && json_equal(job->last_inputs, current)) {
            /* already tried on exactly these inputs in this process (and failed) */
        } else {
            log_info("queued job=%s.%s trigger=reconcile reason=%s", job->def.domain,
                     job->def.name, rc == 1 ? "inputs_changed" : "never_succeeded");
            schedule_queue(job, "reconcile");
        }
        json_decref(current);
        json_decref(last);
    }
}

void schedule_cron_tick(struct transformer_ctx *ctx, time_t now)
{
    int64_t minute = (int64_t)now / 60;
    for (size_t i = 0; i < ctx->jobs.count; i++) {
        struct tjob *job = &ctx->jobs.items[i];
        if (!job->valid || job->def.schedule != JOB_SCHEDULE_CRON || job->cron_minute == minute)
            continue;
        if (!cron_matches(&job->cron, now))
            continue;
        job->cron_minute = minute;
        log_info("queued job=%s.%s trigger=cron cron=\"%s\"", job->def.domain, job->def.name,
                 job->def.cron);
        schedule_queue(job, "cron");
    }
}

bool schedule_has_work(const struct transformer_ctx *ctx)
{
    for (size_t i = 0; i < ctx->jobs.count; i++) {
        if (ctx->jobs.items[i].pending || ctx->jobs.items[i].forced_execution > 0)
            return true;
    }
    return false;
}

/* The first wanted job (forced ones when forced_only) that waits on nothing
 * (waiting NULL: the first at all). */
static struct tjob *schedule_first(struct jobs *jobs, const bool *waiting, bool forced_only)
{
    for (size_t i = 0; i < jobs->count; i++) {
        struct tjob *job = &jobs->items[i];
        bool wanted = forced_only ? job->forced_execution > 0
                                  : job->pending || job->forced_execution > 0;
        if (wanted && (waiting == NULL || !waiting[i]))
            return job;
    }
    return NULL;
}

/* A wanted job passed over once per job of the table: one wave has had
 * every chance to reach it, so upstream jobs are being queued again. */
static struct tjob *schedule_starved(struct jobs *jobs)
{
    for (size_t i = 0; i < jobs->count; i++) {
        struct tjob *job = &jobs->items[i];
        if ((job->pending || job->forced_execution > 0) && job->passed_over >= jobs->count)
            return job;
    }
    return NULL;
}

struct tjob *schedule_pick(struct jobs *jobs)
{
    bool *waiting = calloc(jobs->count ? jobs->count : 1, sizeof *waiting);
    if (waiting == NULL || jobs_mark_waiting(jobs, waiting) < 0) {
        free(waiting);
        waiting = NULL; /* out of memory: in table order, as correct if not as frugal */
    }
    struct tjob *job = schedule_starved(jobs);
    if (job == NULL)
        job = schedule_first(jobs, waiting, true);
    if (job == NULL)
        job = schedule_first(jobs, waiting, false);
    if (job == NULL && waiting != NULL)
        job = schedule_first(jobs, NULL, true); /* only a cycle the catalog refused */
    if (job == NULL && waiting != NULL)
        job = schedule_first(jobs, NULL, false);
    for (size_t i = 0; job != NULL && i < jobs->count; i++) {
        struct tjob *other = &jobs->items[i];
        if (other != job && (other->pending || other->forced_execution > 0))
            other->passed_over++;
    }
    free(waiting);
    return job;
}

bool schedule_run_next(struct transformer_ctx *ctx)
{
    struct tjob *job = schedule_pick(&ctx->jobs);
    if (job == NULL)
        return false;
    char trigger[TRANSFORMER_TRIGGER_MAX];
    int64_t execution = job->forced_execution;
    job->passed_over = 0;
    if (execution > 0) {
        snprintf(trigger, sizeof trigger, "manual");
        job->forced_execution = 0;
        job->pending = false; /* the forced run also serves any queued one */
    } else {
        memcpy(trigger, job->trigger, sizeof trigger);
        job->pending = false;
        /* Dependency runs wait for their inputs; a cron run or a manual run
         * goes ahead and records the missing input as its failure. */
        if (job->def.schedule == JOB_SCHEDULE_DEPENDENCY) {
            char err[ERROR_MAX], missing[ERROR_MAX];
            json_t *current = NULL;
            int rc = inputs_current(ctx->cfg->data_dir, job, &current, missing, err);
            json_decref(current);
            if (rc == 0) {
                log_info("skipped job=%s.%s trigger=%s reason=\"%s\"", job->def.domain,
                         job->def.name, trigger, missing);
                return true;
            }
        }
    }
    int64_t snapshot_id = 0;
    if (run_job(ctx, job, trigger, execution, &snapshot_id) == 0)
        schedule_table_committed(ctx, job->def.domain, SQLREF_GOLD, job->def.name, snapshot_id);
    return true;
}

void schedule_abandon(struct transformer_ctx *ctx, const char *reason)
{
    char err[ERROR_MAX];
    for (size_t i = 0; i < ctx->jobs.count; i++) {
        struct tjob *job = &ctx->jobs.items[i];
        if (job->forced_execution <= 0)
            continue;
        if (catalog_execution_finish(ctx->catalog, job->forced_execution, "FAILED", 0, reason,
                                     NULL, err) < 0)
            log_error("execution_finish_failed execution=%lld reason=\"%s\"",
                      (long long)job->forced_execution, err);
        job->forced_execution = 0;
    }
}

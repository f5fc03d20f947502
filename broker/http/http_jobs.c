/* http_jobs.c - the transform jobs API (/transform...): job definitions in
 * the catalog (job.h JSON form {domain, job_name, query, write_mode,
 * unique_key, schedule_type, cron_schedule}), runs through the
 * transformer's control socket, and execution records.
 *
 * Codes: 201 created, 400 invalid job (names, SQL references, cron, cycle),
 * 404 unknown job or execution, 409 job exists (POST), 503 transformer not
 * answering (run). A change publishes job.changed; the transformer also
 * re-reads the catalog every reconcile_interval_ms. */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_protocol.h"
#include "log.h"

#define HTTP_EXECUTIONS_DEFAULT 100

static const char *const http_job_orders[] = {"domain", "job_name", "write_mode",
                                              "schedule_type", NULL};

static void http_publish_job(struct http_request *req, const char *domain, const char *name)
{
    struct event ev = {.topic = EVENT_JOB_CHANGED};
    snprintf(ev.domain, sizeof ev.domain, "%s", domain);
    snprintf(ev.name, sizeof ev.name, "%s", name);
    http_server_publish(req->server, &ev);
}

static json_t *http_job_answer(const struct job_def *job)
{
    json_t *j = job_to_json(job);
    char id[2 * NAMES_MAX];
    snprintf(id, sizeof id, "%s/%s", job->domain, job->name);
    if (j != NULL)
        json_object_set_new(j, "id", json_string(id));
    return j;
}

/* Store body as a job. creating: must not exist yet (409); else it must
 * exist (404), the body's domain/job_name, if given, must match the path,
 * and fields the body leaves out keep their stored values. */
static void http_job_put(struct http_request *req, struct http_reply *reply, bool creating)
{
    char err[ERROR_MAX];
    struct job_def job = {0}, old = {0};
    struct catalog *catalog = NULL;
    json_t *body = http_body_json(req, reply);
    if (body == NULL)
        return;
    if (!json_is_object(body)) {
        http_reply_error(reply, 400, "job definition: expected a JSON object");
        goto done;
    }
    if (!creating) {
        static const char *const keys[2] = {"domain", "job_name"};
        for (int i = 0; i < 2; i++) {
            json_t *v = json_object_get(body, keys[i]);
            if (v != NULL &&
                (!json_is_string(v) || strcmp(json_string_value(v), req->params[i]) != 0)) {
                http_reply_error(reply, 400, "job definition: '%s' in the body does not match "
                                             "the path /transform/jobs/%s/%s",
                                 keys[i], req->params[0], req->params[1]);
                goto done;
            }
            json_object_set_new(body, keys[i], json_string(req->params[i]));
        }
        /* PUT changes what the body names; the rest keeps its stored value */
        if ((catalog = http_catalog(req, reply)) == NULL)
            goto done;
        int stored = catalog_get_job(catalog, req->params[0], req->params[1], &old, err);
        if (stored <= 0) {
            if (stored < 0)
                http_reply_error(reply, 500, "catalog: %s", err);
            else
                http_reply_error(reply, 404, "no job %s/%s (create it with POST /transform/jobs)",
                                 req->params[0], req->params[1]);
            goto done;
        }
        json_t *merged = job_to_json(&old); /* nulls read back as "not set" */
        if (merged == NULL || json_object_update(merged, body) != 0) {
            json_decref(merged);
            http_reply_error(reply, 500, "out of memory");
            goto done;
        }
        json_decref(body);
        body = merged;
    }
    if (job_from_json(body, &job, err) < 0) {
        http_reply_error(reply, 400, "job definition: %s", err);
        goto done;
    }
    if (catalog == NULL && (catalog = http_catalog(req, reply)) == NULL)
        goto done;
    job_clear(&old);
    int found = catalog_get_job(catalog, job.domain, job.name, &old, err);
    if (found < 0) {
        http_reply_error(reply, 500, "catalog: %s", err);
        goto done;
    }
    if (creating && found == 1) {
        http_reply_error(reply, 409, "job %s/%s already exists; change it with PUT "
                                     "/transform/jobs/%s/%s",
                         job.domain, job.name, job.domain, job.name);
        goto done;
    }
    if (!creating && found == 0) {
        http_reply_error(reply, 404, "no job %s/%s (create it with POST /transform/jobs)",
                         job.domain, job.name);
        goto done;
    }
    if (catalog_put_job(catalog, &job, err) < 0) {
        http_reply_error(reply, 400, "job %s/%s: %s", job.domain, job.name, err);
        goto done;
    }
    log_info("http job_%s job=%s/%s", creating ? "created" : "updated", job.domain, job.name);
    http_publish_job(req, job.domain, job.name);
    http_reply_json(reply, creating ? 201 : 200, http_job_answer(&job));
done:
    job_clear(&job);
    job_clear(&old);
    catalog_close(&catalog);
    json_decref(body);
}

void http_jobs_create(struct http_request *req, struct http_reply *reply)
{
    http_job_put(req, reply, true);
}

void http_jobs_update(struct http_request *req, struct http_reply *reply)
{
    http_job_put(req, reply, false);
}

void http_jobs_list(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    const char *domain = http_request_arg(req, "domain");
    if (domain != NULL && domain[0] != '\0' && names_check_object("domain", domain, err) < 0) {
        http_reply_error(reply, 400, "query parameter 'domain': %s", err);
        return;
    }
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    struct job_def *jobs = NULL;
    size_t count = 0;
    if (catalog_list_jobs(catalog, &jobs, &count, err) < 0) {
        http_reply_error(reply, 500, "catalog: %s", err);
        catalog_close(&catalog);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++) {
        if (list != NULL && (domain == NULL || domain[0] == '\0' ||
                             strcmp(jobs[i].domain, domain) == 0))
            json_array_append_new(list, http_job_answer(&jobs[i]));
        job_clear(&jobs[i]);
    }
    free(jobs);
    if (list == NULL)
        http_reply_error(reply, 500, "out of memory");
    else if (http_sort_by(reply, list, http_request_arg(req, "order_by"), http_job_orders) == 0)
        http_reply_json(reply, 200, json_incref(list));
    json_decref(list);
    catalog_close(&catalog);
}

/* The job the path names (params 0 and 1) into *job: 1 found; 0 (404) or
 * -1 (500) after replying. */
static int http_job_find(struct http_request *req, struct http_reply *reply,
                         struct catalog *catalog, struct job_def *job)
{
    char err[ERROR_MAX];
    int found = catalog_get_job(catalog, req->params[0], req->params[1], job, err);
    if (found < 0)
        http_reply_error(reply, 500, "catalog: %s", err);
    else if (found == 0)
        http_reply_error(reply, 404, "no job %s/%s", req->params[0], req->params[1]);
    return found;
}

void http_jobs_get(struct http_request *req, struct http_reply *reply)
{
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    struct job_def job = {0};
    if (http_job_find(req, reply, catalog, &job) == 1)
        http_reply_json(reply, 200, http_job_answer(&job));
    job_clear(&job);
    catalog_close(&catalog);
}

void http_jobs_delete(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    struct job_def job = {0};
    int found = http_job_find(req, reply, catalog, &job);
    job_clear(&job);
    int rc = found == 1 ? catalog_delete_job(catalog, req->params[0], req->params[1], err) : 0;
    if (rc < 0) {
        http_reply_failure(reply, rc, err);
    } else if (found == 1) {
        log_info("http job_deleted job=%s/%s", req->params[0], req->params[1]);
        http_publish_job(req, req->params[0], req->params[1]);
        char id[2 * NAMES_MAX];
        snprintf(id, sizeof id, "%s/%s", req->params[0], req->params[1]);
        http_reply_json(reply, 200, json_pack("{s:s, s:s}", "id", id, "status", "deleted"));
    }
    catalog_close(&catalog);
}

void http_jobs_run(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    const char *d = req->params[0], *n = req->params[1];
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    struct job_def job = {0};
    json_t *execution = NULL;
    int found = http_job_find(req, reply, catalog, &job);
    job_clear(&job);
    if (found != 1)
        goto done;
    struct control_request creq = {.cmd = CONTROL_RUN};
    snprintf(creq.domain, sizeof creq.domain, "%s", d);
    snprintf(creq.name, sizeof creq.name, "%s", n);
    struct control_reply crep;
    if (control_call(http_server_zmq(req->server), req->cfg->transformer_control_endpoint, &creq,
                     HTTP_CONTROL_TIMEOUT_MS, &crep, err) < 0) {
        http_reply_error(reply, 503, "transformer: %s", err);
        reply->retry_after = 5;
        goto done;
    }
    if (!crep.ok) {
        http_reply_error(reply, 409, "transformer refused to run %s/%s: %s", d, n, crep.message);
        goto done;
    }
    found = catalog_get_execution(catalog, crep.id, &execution, err);
    if (found < 0) {
        http_reply_error(reply, 500, "catalog: %s", err);
        goto done;
    }
    /* The transformer records the execution as RUNNING before it replies;
     * the answer says RUNNING even if the run has already finished. */
    const char *started = json_string_value(json_object_get(execution, "started_at"));
    log_info("http job_run job=%s/%s execution=%lld", d, n, (long long)crep.id);
    http_reply_json(reply, 200,
                    json_pack("{s:I, s:s, s:s, s:s, s:s?}", "execution_id", (json_int_t)crep.id,
                              "job_name", n, "domain", d, "status", "RUNNING", "started_at",
                              started));
done:
    json_decref(execution);
    catalog_close(&catalog);
}

void http_jobs_execution(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    long long id = strtoll(req->params[0], NULL, 10);
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    json_t *execution = NULL;
    int found = catalog_get_execution(catalog, id, &execution, err);
    if (found < 0)
        http_reply_error(reply, 500, "catalog: %s", err);
    else if (found == 0)
        http_reply_error(reply, 404, "no execution %lld", id);
    else
        http_reply_json(reply, 200, execution);
    catalog_close(&catalog);
}

/* GET /transform/executions?domain=&job_name=&limit= (newest first). */
void http_jobs_executions(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    const char *domain = http_request_arg(req, "domain");
    const char *job = http_request_arg(req, "job_name");
    if ((domain && names_check_object("domain", domain, err) < 0) ||
        (job && names_check_object("job", job, err) < 0)) {
        http_reply_error(reply, 400, "%s", err);
        return;
    }
    const char *l = http_request_arg(req, "limit");
    char *end = NULL;
    long limit = l ? strtol(l, &end, 10) : HTTP_EXECUTIONS_DEFAULT;
    if (l != NULL && (*end != '\0' || limit < 1 || limit > 100000)) {
        http_reply_error(reply, 400, "query parameter 'limit': expected 1 to 100000, got "
                                     "'%.50s'", l);
        return;
    }
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    json_t *list = NULL;
    if (catalog_list_executions(catalog, domain, job, (int)limit, &list, err) < 0)
        http_reply_error(reply, 500, "catalog: %s", err);
    else
        http_reply_json(reply, 200, list);
    catalog_close(&catalog);
}

/* http_models.c - /models: concept files (common/model.h) compiled into
 * managed transform jobs, the HTTP form of `lakehouse model`.
 *   PUT    /models/{name}        body: the concept file (application/json or
 *                                application/yaml); checked, generated and
 *                                installed as one job set (catalog_put_model);
 *                                ?profile=full: every job a full rebuild
 *   GET    /models               [{name, jobs, created_at, updated_at}]
 *   GET    /models/{name}        {name, concept_file, jobs: ["d/n", ...]}
 *   GET    /models/{name}/plan   the generated jobs against the installed ones
 *                                (?profile=full as for PUT)
 *   GET    /models/{name}/docs   ?format=md (default) | mermaid, as text
 *   DELETE /models/{name}        the model and its jobs (the tables stay)
 * A refused concept file is 400 {"detail": first problem, "problems": [every
 * "file:line:column: message"]}. */
#include "http_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "model.h"
#include "strbuf.h"

/* Compile text (named file in messages); answers the refusal itself. 0 or -1. */
static int http_model_compile(struct catalog *catalog, struct http_request *req,
                              struct http_reply *reply, const char *text, size_t len,
                              const char *file, struct model **m, struct model_job **jobs,
                              size_t *count)
{
    char err[ERROR_MAX];
    const char *arg = http_request_arg(req, "profile");
    enum model_profile profile = MODEL_PROFILE_INCREMENTAL;
    if (arg != NULL && strcmp(arg, "full") == 0) {
        profile = MODEL_PROFILE_FULL;
    } else if (arg != NULL && strcmp(arg, "incremental") != 0) {
        http_reply_error(reply, 400, "profile must be incremental or full");
        return -1;
    }
    struct strbuf problems = {0};
    int rc = model_compile(catalog, text, len, file, profile, m, jobs, count, &problems, err);
    if (error_kind_of(rc) == ERROR_INVALID) {
        json_t *list = json_array();
        for (const char *p = problems.s; p != NULL && *p != '\0';) {
            const char *nl = strchr(p, '\n');
            size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
            json_array_append_new(list, json_stringn(p, n));
            p = nl != NULL ? nl + 1 : NULL;
        }
        http_reply_json(reply, http_status_of(ERROR_INVALID),
                        json_pack("{s:s, s:o}", "detail", err, "problems", list));
    } else if (rc < 0) {
        http_reply_failure(reply, rc, err);
    }
    strbuf_free(&problems);
    return rc == 0 ? 0 : -1;
}

/* The stored concept file of {name}: 1 (*text: caller frees), else answered. */
static int http_model_stored(struct catalog *catalog, struct http_request *req,
                             struct http_reply *reply, char **text)
{
    char err[ERROR_MAX];
    int rc = catalog_get_model(catalog, req->params[0], text, err);
    if (rc < 0)
        http_reply_failure(reply, rc, err);
    else if (rc == 0)
        http_reply_error(reply, http_status_of(ERROR_NOT_FOUND), "no model %s", req->params[0]);
    return rc;
}

static json_t *http_model_job_ids(const struct model_job *jobs, size_t count)
{
    json_t *ids = json_array();
    for (size_t i = 0; ids != NULL && i < count; i++)
        json_array_append_new(ids, json_sprintf("%s/%s", jobs[i].def.domain, jobs[i].def.name));
    return ids;
}

void http_models_put(struct http_request *req, struct http_reply *reply)
{
    const char *type = http_request_header(req, "Content-Type");
    if (type == NULL || (strncasecmp(type, "application/json", 16) != 0 &&
                         strncasecmp(type, "application/yaml", 16) != 0)) {
        http_reply_error(reply, 415, "a concept file is application/json or application/yaml");
        return;
    }
    char err[ERROR_MAX];
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    struct model *m = NULL;
    struct model_job *jobs = NULL;
    size_t count = 0;
    char file[NAMES_MAX + 16];
    snprintf(file, sizeof file, "models/%s", req->params[0]);
    struct job_def *set = NULL;
    if (http_model_compile(catalog, req, reply, req->body, req->body_len, file, &m, &jobs, &count) < 0)
        goto done;
    if (strcmp(m->name, req->params[0]) != 0) {
        http_reply_error(reply, 400, "%s: the file says 'model: %s', the path %s", file, m->name,
                         req->params[0]);
        goto done;
    }
    char *old = NULL;
    bool existed = catalog_get_model(catalog, m->name, &old, err) == 1;
    free(old);
    set = calloc(count + 1, sizeof *set);
    if (set == NULL) {
        http_reply_failure(reply, -1, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++)
        set[i] = jobs[i].def; /* shallow: jobs keep ownership */
    int rc = catalog_put_model(catalog, m->name, req->body, set, count, err);
    if (rc != 0) {
        error_prefix(err, "model %s", m->name);
        http_reply_failure(reply, rc, err);
        goto done;
    }
    log_info("http model_applied model=%s jobs=%zu", m->name, count);
    for (size_t i = 0; i < count; i++) {
        struct event ev = {.topic = EVENT_JOB_CHANGED};
        snprintf(ev.domain, sizeof ev.domain, "%s", jobs[i].def.domain);
        snprintf(ev.name, sizeof ev.name, "%s", jobs[i].def.name);
        http_server_publish(req->server, &ev);
    }
    http_reply_json(reply, existed ? 200 : 201,
                    json_pack("{s:s, s:o}", "name", m->name, "jobs", http_model_job_ids(jobs, count)));
done:
    free(set);
    model_jobs_free(jobs, count);
    model_free(&m);
    catalog_close(&catalog);
}

void http_models_list(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    json_t *list = NULL;
    int rc = catalog_list_models(catalog, &list, err);
    if (rc < 0)
        http_reply_failure(reply, rc, err);
    else
        http_reply_json(reply, 200, list);
    catalog_close(&catalog);
}

/* GET /models/{name}, /plan and /docs share: the stored file, compiled. */
enum http_model_view { HTTP_MODEL_GET, HTTP_MODEL_PLAN, HTTP_MODEL_DOCS };

static void http_model_plan_row(void *arg, enum model_change change, const struct model_job *job,
                                const struct job_def *installed)
{
    static const char *const names[] = {[MODEL_JOB_NEW] = "new", [MODEL_JOB_CHANGED] = "changed",
                                        [MODEL_JOB_UNCHANGED] = "unchanged"};
    json_t *out = arg;
    if (change == MODEL_JOB_REMOVED)
        json_array_append_new(json_object_get(out, "removed"),
                              json_sprintf("%s/%s", installed->domain, installed->name));
    else
        json_array_append_new(json_object_get(out, "jobs"),
                              json_pack("{s:s, s:s, s:s, s:s}", "domain", job->def.domain,
                                        "job_name", job->def.name, "status", names[change],
                                        "file", job->text));
}

static json_t *http_model_plan(struct catalog *catalog, const struct model *m,
                               const struct model_job *jobs, size_t count, char err[ERROR_MAX])
{
    struct job_def *installed = NULL;
    size_t n = 0;
    if (catalog_list_jobs(catalog, &installed, &n, err) < 0)
        return NULL;
    json_t *out = json_pack("{s:s, s:[], s:[]}", "name", m->name, "jobs", "removed");
    if (out != NULL)
        model_diff(m->name, jobs, count, installed, n, http_model_plan_row, out);
    for (size_t k = 0; k < n; k++)
        job_clear(&installed[k]);
    free(installed);
    if (out == NULL)
        error_set(err, "out of memory");
    return out;
}

static void http_model_view(struct http_request *req, struct http_reply *reply,
                            enum http_model_view view)
{
    char err[ERROR_MAX];
    const char *format = http_request_arg(req, "format");
    if (view == HTTP_MODEL_DOCS && format == NULL)
        format = "md";
    if (view == HTTP_MODEL_DOCS && strcmp(format, "md") != 0 && strcmp(format, "mermaid") != 0) {
        http_reply_error(reply, 400, "format must be md or mermaid");
        return;
    }
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    char *text = NULL;
    struct model *m = NULL;
    struct model_job *jobs = NULL;
    size_t count = 0;
    char file[NAMES_MAX + 16];
    snprintf(file, sizeof file, "models/%s", req->params[0]);
    if (http_model_stored(catalog, req, reply, &text) != 1 ||
        http_model_compile(catalog, req, reply, text, strlen(text), file, &m, &jobs, &count) < 0)
        goto done;
    if (view == HTTP_MODEL_GET) {
        http_reply_json(reply, 200, json_pack("{s:s, s:s, s:o}", "name", m->name, "concept_file",
                                              text, "jobs", http_model_job_ids(jobs, count)));
    } else if (view == HTTP_MODEL_PLAN) {
        json_t *plan = http_model_plan(catalog, m, jobs, count, err);
        if (plan == NULL)
            http_reply_failure(reply, -1, err);
        else
            http_reply_json(reply, 200, plan);
    } else {
        char *docs = model_docs(m, format, err);
        if (docs == NULL)
            http_reply_failure(reply, -1, err);
        else
            http_reply_text(reply, 200,
                            strcmp(format, "md") == 0 ? "text/markdown; charset=utf-8"
                                                      : "text/plain; charset=utf-8",
                            docs, strlen(docs));
    }
done:
    free(text);
    model_jobs_free(jobs, count);
    model_free(&m);
    catalog_close(&catalog);
}

void http_models_get(struct http_request *req, struct http_reply *reply)
{
    http_model_view(req, reply, HTTP_MODEL_GET);
}

void http_models_plan(struct http_request *req, struct http_reply *reply)
{
    http_model_view(req, reply, HTTP_MODEL_PLAN);
}

void http_models_docs(struct http_request *req, struct http_reply *reply)
{
    http_model_view(req, reply, HTTP_MODEL_DOCS);
}

void http_models_delete(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    int rc = catalog_delete_model(catalog, req->params[0], err);
    if (rc < 0) {
        http_reply_failure(reply, rc, err);
    } else {
        log_info("http model_deleted model=%s", req->params[0]);
        struct event ev = {.topic = EVENT_JOB_CHANGED};
        http_server_publish(req->server, &ev);
        http_reply_json(reply, 200,
                        json_pack("{s:s, s:s}", "name", req->params[0], "status", "deleted"));
    }
    catalog_close(&catalog);
}

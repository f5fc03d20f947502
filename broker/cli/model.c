/* model.c - `lakehouse model check FILE | plan FILE [--out DIR] [--profile
 * full] | apply FILE | list | show NAME | status NAME | delete NAME [--tables]
 * | docs NAME --format md|mermaid`: concept files compiled into transform
 * jobs (common/model.h) and stored in the catalog with the jobs they manage.
 * apply installs the whole job set in one catalog transaction and asks the
 * transformer to reload, which queues every new or changed job (its first
 * run); the DAG's dependency triggers do the rest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fsutil.h"
#include "model.h"
#include "read/query.h"

#define MODEL_FILE_MAX (4 * 1024 * 1024)
#define MODEL_CONTROL_TIMEOUT_MS 5000

static const char model_usage[] =
    "usage: lakehouse model check FILE\n"
    "       lakehouse model plan FILE [--out DIR|-] [--profile incremental|full]\n"
    "       lakehouse model apply FILE [--profile incremental|full]\n"
    "       lakehouse model list\n"
    "       lakehouse model show NAME\n"
    "       lakehouse model status NAME\n"
    "       lakehouse model delete NAME [--tables]\n"
    "       lakehouse model docs NAME --format md|mermaid\n";

/* Compile a concept file (read from path, or text when given). Prints the
 * refusals. CLI_OK with *model, *jobs; CLI_FAILED otherwise. */
static int model_load(struct cli *cli, const char *path, const char *text,
                      enum model_profile profile, struct model **model, struct model_job **jobs,
                      size_t *count)
{
    char err[ERROR_MAX];
    char *owned = NULL;
    size_t len = 0;
    if (text == NULL) {
        if (fsutil_read_file(path, MODEL_FILE_MAX, &owned, &len, err) != 0) {
            cli_error("%s", err);
            return CLI_FAILED;
        }
        text = owned;
    } else {
        len = strlen(text);
    }
    struct catalog *catalog = NULL;
    int rc = cli_catalog_open(cli, false, &catalog, err);
    if (rc != 0) {
        cli_error("%s", rc == 1 ? "no catalog yet: create the source endpoints first" : err);
        free(owned);
        return CLI_FAILED;
    }
    struct strbuf problems = {0};
    rc = model_compile(catalog, text, len, path, profile, model, jobs, count, &problems, err);
    catalog_close(&catalog);
    free(owned);
    if (error_kind_of(rc) == ERROR_INVALID)
        fputs(problems.s != NULL ? problems.s : "", stderr);
    else if (rc < 0)
        cli_error("%s", err);
    strbuf_free(&problems);
    return rc == 0 ? CLI_OK : CLI_FAILED;
}

static int model_check_cmd(struct cli *cli, int argc, char **argv)
{
    if (argc != 2) {
        fputs(model_usage, stderr);
        return CLI_USAGE;
    }
    struct model *m = NULL;
    struct model_job *jobs = NULL;
    size_t count = 0;
    if (model_load(cli, argv[1], NULL, MODEL_PROFILE_INCREMENTAL, &m, &jobs, &count) != CLI_OK)
        return CLI_FAILED;
    printf("model %s: %zu bags, %zu jobs, valid\n", m->name, m->nbags, count);
    model_jobs_free(jobs, count);
    model_free(&m);
    return CLI_OK;
}

static void model_diff_print(void *arg, enum model_change change, const struct model_job *job,
                             const struct job_def *installed)
{
    static const char marks[] = {[MODEL_JOB_NEW] = '+', [MODEL_JOB_CHANGED] = '~',
                                 [MODEL_JOB_UNCHANGED] = '=', [MODEL_JOB_REMOVED] = '-'};
    const struct job_def *def = job != NULL ? &job->def : installed;
    *(size_t *)arg += change != MODEL_JOB_UNCHANGED;
    printf("%c %s/%s%s\n", marks[change], def->domain, def->name,
           job != NULL && installed != NULL && installed->model[0] == '\0'
               ? " (exists, not managed by a model)"
               : "");
}

/* Print the difference between the generated jobs and the installed ones:
 * "+ new", "~ changed", "= unchanged", "- removed". */
static int model_diff_show(struct cli *cli, const char *name, const struct model_job *jobs,
                      size_t count, size_t *changes)
{
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    struct job_def *installed = NULL;
    size_t n = 0;
    *changes = 0;
    int rc = cli_catalog_open(cli, false, &catalog, err);
    if (rc < 0 || (rc == 0 && catalog_list_jobs(catalog, &installed, &n, err) != 0)) {
        cli_error("%s", err);
        catalog_close(&catalog);
        return CLI_FAILED;
    }
    catalog_close(&catalog);
    model_diff(name, jobs, count, installed, n, model_diff_print, changes);
    for (size_t k = 0; k < n; k++)
        job_clear(&installed[k]);
    free(installed);
    return CLI_OK;
}

static int model_write_files(const char *dir, const struct model_job *jobs, size_t count)
{
    char err[ERROR_MAX];
    for (size_t i = 0; i < count; i++) {
        char sub[PATH_MAX], path[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, jobs[i].def.domain);
        if (snprintf(path, sizeof path, "%s/%s.sql", sub, jobs[i].def.name) >= (int)sizeof path) {
            cli_error("%s: path too long", sub);
            return CLI_FAILED;
        }
        if ((mkdir(dir, 0755) != 0 && errno != EEXIST) ||
            (mkdir(sub, 0755) != 0 && errno != EEXIST)) {
            cli_error("%s: %s", sub, strerror(errno));
            return CLI_FAILED;
        }
        if (fsutil_write_file_atomic(path, jobs[i].text, strlen(jobs[i].text), 0644, err) != 0) {
            cli_error("%s", err);
            return CLI_FAILED;
        }
    }
    return CLI_OK;
}

static int model_profile_arg(const char *text, enum model_profile *out)
{
    if (strcmp(text, "full") == 0)
        *out = MODEL_PROFILE_FULL;
    else if (strcmp(text, "incremental") == 0)
        *out = MODEL_PROFILE_INCREMENTAL;
    else {
        cli_error("unknown profile '%s' (incremental | full)", text);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int model_plan(struct cli *cli, int argc, char **argv)
{
    const char *file = NULL, *out = NULL;
    enum model_profile profile = MODEL_PROFILE_INCREMENTAL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            if (model_profile_arg(argv[++i], &profile) != CLI_OK)
                return CLI_USAGE;
        } else if (file == NULL && argv[i][0] != '-') {
            file = argv[i];
        } else {
            fputs(model_usage, stderr);
            return CLI_USAGE;
        }
    }
    if (file == NULL) {
        fputs(model_usage, stderr);
        return CLI_USAGE;
    }
    struct model *m = NULL;
    struct model_job *jobs = NULL;
    size_t count = 0, changes = 0;
    if (model_load(cli, file, NULL, profile, &m, &jobs, &count) != CLI_OK)
        return CLI_FAILED;
    int rc = CLI_OK;
    if (out != NULL && strcmp(out, "-") == 0) {
        char *text = model_plan_text(jobs, count);
        fputs(text != NULL ? text : "", stdout);
        free(text);
    } else {
        if (out != NULL)
            rc = model_write_files(out, jobs, count);
        if (rc == CLI_OK)
            rc = model_diff_show(cli, m->name, jobs, count, &changes);
        if (rc == CLI_OK)
            printf("model %s: %zu jobs, %zu to change%s%s\n", m->name, count, changes,
                   out != NULL ? "; files in " : "", out != NULL ? out : "");
    }
    model_jobs_free(jobs, count);
    model_free(&m);
    return rc;
}

static int model_apply(struct cli *cli, int argc, char **argv)
{
    enum model_profile profile = MODEL_PROFILE_INCREMENTAL;
    if (argc == 4 && strcmp(argv[2], "--profile") == 0) {
        if (model_profile_arg(argv[3], &profile) != CLI_OK)
            return CLI_USAGE;
        argc = 2;
    }
    if (argc != 2) {
        fputs(model_usage, stderr);
        return CLI_USAGE;
    }
    char err[ERROR_MAX];
    char *text = NULL;
    size_t len = 0;
    if (fsutil_read_file(argv[1], MODEL_FILE_MAX, &text, &len, err) != 0) {
        cli_error("%s", err);
        return CLI_FAILED;
    }
    struct model *m = NULL;
    struct model_job *jobs = NULL;
    size_t count = 0, changes = 0;
    if (model_load(cli, argv[1], text, profile, &m, &jobs, &count) != CLI_OK ||
        model_diff_show(cli, m->name, jobs, count, &changes) != CLI_OK) {
        free(text);
        model_jobs_free(jobs, count);
        model_free(&m);
        return CLI_FAILED;
    }
    struct job_def *set = calloc(count + 1, sizeof *set);
    struct catalog *catalog = NULL;
    int rc = set == NULL ? -1 : cli_catalog_open(cli, true, &catalog, err);
    if (set == NULL)
        error_set(err, "out of memory");
    for (size_t i = 0; set != NULL && i < count; i++)
        set[i] = jobs[i].def; /* shallow: jobs keep ownership */
    if (rc == 0)
        rc = catalog_put_model(catalog, m->name, text, set, count, err);
    catalog_close(&catalog);
    free(set);
    free(text);
    if (rc != 0) {
        cli_error("model %s: %s", m->name, err);
        model_jobs_free(jobs, count);
        model_free(&m);
        return CLI_FAILED;
    }
    for (size_t i = 0; i < count; i++) {
        struct event ev = {.topic = EVENT_JOB_CHANGED};
        snprintf(ev.domain, sizeof ev.domain, "%s", jobs[i].def.domain);
        snprintf(ev.name, sizeof ev.name, "%s", jobs[i].def.name);
        cli_publish(cli, &ev);
    }
    /* The reload queues new and changed jobs at once; without a transformer
     * they run when it starts. */
    struct control_request req = {0};
    req.cmd = CONTROL_RELOAD;
    struct control_reply reply;
    const char *ep = cli->cfg.transformer_control_endpoint;
    bool queued = cli_endpoint_present(ep) &&
                  cli_control_call(cli, ep, "transformer", &req, MODEL_CONTROL_TIMEOUT_MS, NULL,
                                   &reply) == CLI_OK &&
                  reply.ok;
    printf("model %s applied: %zu jobs (%zu changed); %s\n", m->name, count, changes,
           queued ? "the transformer queued the new and changed jobs"
                  : "the transformer is not running: the jobs run when it starts");
    model_jobs_free(jobs, count);
    model_free(&m);
    return CLI_OK;
}

static int model_list_get(struct catalog *catalog, void *arg, json_t **list,
                          char err[ERROR_MAX])
{
    (void)arg;
    return catalog_list_models(catalog, list, err);
}

static int model_list(struct cli *cli, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fputs(model_usage, stderr);
        return CLI_USAGE;
    }
    json_t *rows = cli_catalog_list(cli, model_list_get, NULL);
    if (rows == NULL)
        return CLI_FAILED;
    static const char *const columns[] = {"name", "jobs", "created_at", "updated_at"};
    cli_print_counted(columns, 4, rows, "model", "");
    json_decref(rows);
    return CLI_OK;
}

struct model_get {
    const char *name;
    char **text;
};

static int model_get(struct catalog *catalog, void *arg, char err[ERROR_MAX])
{
    struct model_get *g = arg;
    return catalog_get_model(catalog, g->name, g->text, err);
}

/* The stored concept file of NAME: CLI_OK with *text (caller frees). */
static int model_stored(struct cli *cli, const char *name, char **text)
{
    *text = NULL;
    if (!names_is_valid_object(name)) {
        cli_error("invalid model name '%s'", name);
        return CLI_USAGE;
    }
    struct model_get g = {name, text};
    return cli_catalog_lookup(cli, model_get, &g, "unknown model %s", name) == 1 ? CLI_OK
                                                                                  : CLI_FAILED;
}

/* The stored concept file of NAME, compiled against the current schemas. */
/* The profile the model was applied with: incremental when one of its
 * installed jobs is. */
static enum model_profile model_installed_profile(struct cli *cli, const char *name)
{
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    struct job_def *jobs = NULL;
    size_t n = 0;
    bool incremental = false;
    if (cli_catalog_open(cli, false, &catalog, err) == 0 &&
        catalog_list_jobs(catalog, &jobs, &n, err) == 0) {
        for (size_t i = 0; i < n; i++) {
            incremental |= strcmp(jobs[i].model, name) == 0 && jobs[i].incremental;
            job_clear(&jobs[i]);
        }
        free(jobs);
    }
    catalog_close(&catalog);
    return incremental ? MODEL_PROFILE_INCREMENTAL : MODEL_PROFILE_FULL;
}

static int model_load_stored(struct cli *cli, const char *name, struct model **m,
                             struct model_job **jobs, size_t *count)
{
    char *text = NULL;
    int rc = model_stored(cli, name, &text);
    if (rc != CLI_OK)
        return rc;
    enum model_profile profile = model_installed_profile(cli, name);
    char label[NAMES_MAX + 16];
    snprintf(label, sizeof label, "model %s", name);
    rc = model_load(cli, label, text, profile, m, jobs, count);
    free(text);
    return rc;
}

static int model_show(struct cli *cli, int argc, char **argv)
{
    if (argc != 2) {
        fputs(model_usage, stderr);
        return CLI_USAGE;
    }
    char *text = NULL;
    int rc = model_stored(cli, argv[1], &text);
    if (rc == CLI_OK) {
        size_t n = strlen(text);
        printf("%s%s", text, n > 0 && text[n - 1] == '\n' ? "" : "\n");
    }
    free(text);
    return rc;
}

static int model_docs_cmd(struct cli *cli, int argc, char **argv)
{
    if (argc != 4 || strcmp(argv[2], "--format") != 0) {
        fputs(model_usage, stderr);
        return CLI_USAGE;
    }
    struct model *m = NULL;
    struct model_job *jobs = NULL;
    size_t count = 0;
    int rc = model_load_stored(cli, argv[1], &m, &jobs, &count);
    if (rc != CLI_OK)
        return rc;
    char err[ERROR_MAX];
    char *docs = model_docs(m, argv[3], err);
    if (docs == NULL) {
        cli_error("%s", err);
        rc = CLI_USAGE;
    } else {
        fputs(docs, stdout);
        free(docs);
    }
    model_jobs_free(jobs, count);
    model_free(&m);
    return rc;
}

/* Drift: the plan of the stored file against the installed jobs (new silver
 * columns change the bags), and each job's last execution. */
static int model_status(struct cli *cli, int argc, char **argv)
{
    if (argc != 2) {
        fputs(model_usage, stderr);
        return CLI_USAGE;
    }
    struct model *m = NULL;
    struct model_job *jobs = NULL;
    size_t count = 0, changes = 0;
    int rc = model_load_stored(cli, argv[1], &m, &jobs, &count);
    if (rc != CLI_OK)
        return rc;
    printf("plan against the installed jobs:\n");
    rc = model_diff_show(cli, m->name, jobs, count, &changes);
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    size_t failing = 0;
    if (rc == CLI_OK && cli_catalog_open(cli, false, &catalog, err) == 0) {
        for (size_t i = 0; i < count; i++) {
            json_t *ex = NULL;
            if (catalog_list_executions(catalog, jobs[i].def.domain, jobs[i].def.name, 1, &ex,
                                        err) != 0)
                break;
            json_t *last = json_array_get(ex, 0);
            const char *status = json_string_value(json_object_get(last, "status"));
            if (status != NULL && strcmp(status, "FAILED") == 0) {
                failing++;
                printf("failing: %s/%s: %s\n", jobs[i].def.domain, jobs[i].def.name,
                       json_string_value(json_object_get(last, "error")));
            }
            json_decref(ex);
        }
    }
    catalog_close(&catalog);
    /* silver columns the installed bags do not copy (schema evolution) */
    size_t missing = 0;
    if (rc == CLI_OK && cli_catalog_open(cli, false, &catalog, err) == 0) {
        char dab[NAMES_MAX];
        model_domain(m->name, "dab", dab);
        for (size_t b = 0; b < m->nbags; b++) {
            const struct model_bag *bag = &m->bags[b];
            char job[NAMES_MAX + 8];
            snprintf(job, sizeof job, "bag__%s", bag->table);
            struct job_def installed;
            if (catalog_get_job(catalog, dab, job, &installed, err) != 1)
                continue;
            for (size_t c = 0; c < bag->ncolumns; c++) {
                char as[NAMES_MAX + 8];
                snprintf(as, sizeof as, "AS \"%s\"", bag->columns[c].name);
                if (strstr(installed.sql, as) == NULL) {
                    printf("drift: %s.silver.%s.%s is not in %s.gold.%s\n", m->source,
                           bag->table, bag->columns[c].source, dab, job);
                    missing++;
                }
            }
            job_clear(&installed);
        }
    }
    catalog_close(&catalog);
    /* diamonds: the paths must agree (the stage keeps the first) */
    size_t disagreeing = 0;
    char *sql = model_diamond_sql(m, err);
    if (sql != NULL) {
        struct query_limits limits = {.timeout_ms = 60000, .max_rows = 0};
        json_t *result = NULL;
        if (query_run(cli->cfg.data_dir, sql, &limits, &result, err) != 0) {
            printf("diamonds: not checked (%s)\n", err);
        } else {
            size_t i;
            json_t *row;
            json_array_foreach(json_object_get(result, "data"), i, row) {
                json_int_t rows = json_integer_value(json_object_get(row, "disagreeing"));
                printf("diamond %s.%s: %lld rows whose paths disagree\n",
                       json_string_value(json_object_get(row, "stage")),
                       json_string_value(json_object_get(row, "hook")), (long long)rows);
                disagreeing += rows > 0;
            }
            json_decref(result);
        }
        free(sql);
    }
    printf("model %s: %zu jobs, %s, %zu failing, %zu diamonds disagreeing\n", m->name, count,
           changes ? "drift (silver columns or the file changed: model apply)" : "no drift",
           failing, disagreeing);
    model_jobs_free(jobs, count);
    model_free(&m);
    return rc == CLI_OK && changes == 0 && failing == 0 && disagreeing == 0 ? CLI_OK
                                                                          : CLI_FAILED;
}

/* Ask the transformer (gold's only writer) to reload, then to drop each
 * table of jobs. Returns the number of failures (printed). */
static int model_drop_tables(struct cli *cli, const struct job_def *jobs, size_t count)
{
    const char *ep = cli->cfg.transformer_control_endpoint;
    struct control_request req = {0};
    struct control_reply reply;
    req.cmd = CONTROL_RELOAD;
    if (cli_control_call(cli, ep, "transformer", &req, MODEL_CONTROL_TIMEOUT_MS, "reload",
                         &reply) != CLI_OK || !reply.ok) {
        cli_error("transformer reload: %s", reply.message);
        return (int)count;
    }
    int failures = 0;
    for (size_t i = 0; i < count; i++) {
        memset(&req, 0, sizeof req);
        req.cmd = CONTROL_DROP;
        snprintf(req.domain, sizeof req.domain, "%s", jobs[i].domain);
        snprintf(req.name, sizeof req.name, "%s", jobs[i].name);
        if (cli_control_call(cli, ep, "transformer", &req, MODEL_CONTROL_TIMEOUT_MS, "drop",
                             &reply) != CLI_OK) {
            failures++;
        } else if (!reply.ok) {
            cli_error("%s", reply.message);
            failures++;
        } else {
            printf("%s\n", reply.message);
        }
    }
    return failures;
}

static int model_delete(struct cli *cli, int argc, char **argv)
{
    bool tables = argc == 3 && strcmp(argv[2], "--tables") == 0;
    if (argc != 2 && !tables) {
        fputs(model_usage, stderr);
        return CLI_USAGE;
    }
    if (!names_is_valid_object(argv[1])) {
        cli_error("invalid model name '%s'", argv[1]);
        return CLI_USAGE;
    }
    if (tables && !cli_endpoint_present(cli->cfg.transformer_control_endpoint)) {
        cli_error("model delete --tables: the transformer (the only writer of gold) is not "
                  "running; nothing deleted");
        return CLI_FAILED;
    }
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    struct job_def *all = NULL;
    size_t n = 0, mine = 0;
    int rc = cli_catalog_open(cli, true, &catalog, err);
    if (rc == 0 && tables)
        rc = catalog_list_jobs(catalog, &all, &n, err);
    /* the model's jobs first in the array: their tables go after the model */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (strcmp(all[i].model, argv[1]) == 0) {
            struct job_def t = all[mine];
            all[mine++] = all[i];
            all[i] = t;
        }
    }
    if (rc == 0)
        rc = catalog_delete_model(catalog, argv[1], err);
    else
        rc = -1;
    catalog_close(&catalog);
    int failures = 0;
    if (rc < 0)
        cli_error("%s", err);
    if (rc == 0) {
        struct event ev = {.topic = EVENT_JOB_CHANGED};
        cli_publish(cli, &ev);
        if (tables)
            failures = model_drop_tables(cli, all, mine);
        printf("model %s deleted with its jobs%s\n", argv[1],
               !tables ? " (their gold tables are kept)"
                       : failures ? "; some gold tables are left (above)"
                                  : " and their gold tables");
    }
    for (size_t i = 0; i < n; i++)
        job_clear(&all[i]);
    free(all);
    return rc == 0 && failures == 0 ? CLI_OK : CLI_FAILED;
}

int cli_model(struct cli *cli, int argc, char **argv)
{
    static const struct cli_subcommand commands[] = {
        {"check", model_check_cmd}, {"plan", model_plan},     {"apply", model_apply},
        {"list", model_list},       {"show", model_show},     {"status", model_status},
        {"delete", model_delete},   {"docs", model_docs_cmd}, {NULL, NULL},
    };
    return cli_dispatch(cli, argc, argv, "model", model_usage, commands);
}

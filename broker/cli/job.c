/* job.c - `lakehouse job add FILE.sql|DIR ... | list | show D/N |
 * delete D/N | run D/N [--wait] | executions [D/N]`: transform jobs in the
 * catalog (delete keeps the gold table and the executions).
 * add reads the SQL-file form of job.h (a directory: every *.sql in it, in
 * name order) and publishes job.changed as a hint. run asks the transformer
 * over its control socket; --wait follows the execution in the catalog. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "control_protocol.h"
#include "fsutil.h"
#include "job.h"

#define CLI_JOB_FILE_MAX (1024 * 1024)
#define CLI_JOB_EXECUTIONS 50
#define CLI_CONTROL_TIMEOUT_MS 5000
#define CLI_WAIT_POLL_MS 200

static const char job_usage[] =
    "usage: lakehouse job add FILE.sql|DIR ...\n"
    "       lakehouse job list\n"
    "       lakehouse job show DOMAIN/NAME\n"
    "       lakehouse job delete DOMAIN/NAME\n"
    "       lakehouse job run DOMAIN/NAME [--wait]\n"
    "       lakehouse job executions [DOMAIN/NAME]\n";

/* Store one SQL file. Returns 0 or -1 (message printed). */
static int job_add_file(struct cli *cli, struct catalog *catalog, const char *path)
{
    char err[ERROR_MAX];
    char *text = NULL;
    size_t len = 0;
    if (fsutil_read_file(path, CLI_JOB_FILE_MAX, &text, &len, err) != 0) {
        cli_error("%s", err);
        return -1;
    }
    /* default name: the file name without directory and ".sql" */
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    char name[NAMES_MAX] = "";
    size_t blen = strlen(base);
    if (blen > 4 && strcmp(base + blen - 4, ".sql") == 0)
        blen -= 4;
    if (blen < NAMES_MAX) {
        memcpy(name, base, blen);
        name[blen] = '\0';
    }
    struct job_def job;
    memset(&job, 0, sizeof job);
    int rc = job_parse_sql_file(text, name[0] != '\0' ? name : NULL, &job, err);
    free(text);
    if (rc != 0) {
        cli_error("%s: %s", path, err);
        return -1;
    }
    if (catalog_put_job(catalog, &job, err) != 0) {
        cli_error("%s: job %s/%s: %s", path, job.domain, job.name, err);
        job_clear(&job);
        return -1;
    }
    printf("job %s/%s stored (%s, %s%s%s)\n", job.domain, job.name,
           job_write_mode_name(job.write_mode), job_schedule_name(job.schedule),
           job.schedule == JOB_SCHEDULE_CRON ? " " : "", job.cron);
    struct event ev = {.topic = EVENT_JOB_CHANGED};
    snprintf(ev.domain, sizeof ev.domain, "%s", job.domain);
    snprintf(ev.name, sizeof ev.name, "%s", job.name);
    cli_publish(cli, &ev);
    job_clear(&job);
    return 0;
}

static int job_sql_filter(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 4 && strcmp(e->d_name + n - 4, ".sql") == 0;
}

static int job_add(struct cli *cli, int argc, char **argv)
{
    if (argc < 2) {
        fputs(job_usage, stderr);
        return CLI_USAGE;
    }
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    if (cli_catalog_open(cli, true, &catalog, err) != 0) {
        cli_error("%s", err);
        return CLI_FAILED;
    }
    int failures = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            cli_error("%s: %s", argv[i], strerror(errno));
            failures++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failures += job_add_file(cli, catalog, argv[i]) != 0;
            continue;
        }
        struct dirent **entries = NULL;
        int n = scandir(argv[i], &entries, job_sql_filter, alphasort);
        if (n < 0) {
            cli_error("%s: %s", argv[i], strerror(errno));
            failures++;
            continue;
        }
        if (n == 0)
            cli_error("%s: no .sql files in this directory", argv[i]);
        for (int k = 0; k < n; k++) {
            char path[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%s", argv[i], entries[k]->d_name) >=
                (int)sizeof path) {
                cli_error("%s/%s: path too long", argv[i], entries[k]->d_name);
                failures++;
            } else {
                failures += job_add_file(cli, catalog, path) != 0;
            }
            free(entries[k]);
        }
        free(entries);
        if (n == 0)
            failures++;
    }
    catalog_close(&catalog);
    return failures > 0 ? CLI_FAILED : CLI_OK;
}

static int job_list(struct cli *cli, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fputs(job_usage, stderr);
        return CLI_USAGE;
    }
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    int rc = cli_catalog_open(cli, false, &catalog, err);
    if (rc < 0) {
        cli_error("%s", err);
        return CLI_FAILED;
    }
    struct job_def *jobs = NULL;
    size_t count = 0;
    if (rc == 0 && catalog_list_jobs(catalog, &jobs, &count, err) != 0) {
        cli_error("%s", err);
        catalog_close(&catalog);
        return CLI_FAILED;
    }
    catalog_close(&catalog);
    json_t *rows = json_array();
    for (size_t i = 0; i < count; i++) {
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "domain", jobs[i].domain, "name",
                            jobs[i].name, "write_mode", job_write_mode_name(jobs[i].write_mode),
                            "unique_key", jobs[i].unique_key, "schedule",
                            job_schedule_name(jobs[i].schedule), "cron", jobs[i].cron));
        job_clear(&jobs[i]);
    }
    free(jobs);
    static const char *const columns[] = {"domain", "name", "write_mode", "unique_key",
                                          "schedule", "cron"};
    cli_print_objects(stdout, columns, 6, rows);
    printf("(%zu job%s)\n", count, count == 1 ? "" : "s");
    json_decref(rows);
    return CLI_OK;
}

/* Look a job up; prints the error. 1 found, 0 unknown, -1 error. */
static int job_lookup(struct cli *cli, const char *domain, const char *name, struct job_def *job)
{
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    int rc = cli_catalog_open(cli, false, &catalog, err);
    if (rc < 0) {
        cli_error("%s", err);
        return -1;
    }
    if (rc == 1) {
        cli_error("unknown job %s/%s", domain, name);
        return 0;
    }
    rc = catalog_get_job(catalog, domain, name, job, err);
    catalog_close(&catalog);
    if (rc < 0)
        cli_error("%s", err);
    else if (rc == 0)
        cli_error("unknown job %s/%s", domain, name);
    return rc;
}

static int job_show(struct cli *cli, int argc, char **argv)
{
    char domain[NAMES_MAX];
    char name[NAMES_MAX];
    if (cli_only_ref(argc, argv, "job", job_usage, domain, name) != CLI_OK)
        return CLI_USAGE;
    struct job_def job;
    memset(&job, 0, sizeof job);
    if (job_lookup(cli, domain, name, &job) != 1)
        return CLI_FAILED;
    /* The SQL-file form: what `job add` reads back. */
    printf("-- job: %s\n-- domain: %s\n-- write_mode: %s\n", job.name, job.domain,
           job_write_mode_name(job.write_mode));
    if (job.unique_key[0] != '\0')
        printf("-- unique_key: %s\n", job.unique_key);
    if (job.incremental)
        printf("-- incremental: true\n");
    if (job.accumulate[0] != '\0')
        printf("-- accumulate: %s\n", job.accumulate);
    printf("-- schedule: %s\n", job_schedule_name(job.schedule));
    if (job.cron[0] != '\0')
        printf("-- cron: %s\n", job.cron);
    const char *sql = job.sql != NULL ? job.sql : "";
    size_t n = strlen(sql);
    printf("%s%s", sql, n > 0 && sql[n - 1] == '\n' ? "" : "\n");
    job_clear(&job);
    return CLI_OK;
}

static void job_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Follow an execution until it is no longer RUNNING. */
static int job_wait(struct cli *cli, int64_t id)
{
    char err[ERROR_MAX];
    for (;;) {
        struct catalog *catalog = NULL;
        if (cli_catalog_open(cli, false, &catalog, err) != 0) {
            cli_error("%s", err);
            return CLI_FAILED;
        }
        json_t *ex = NULL;
        int rc = catalog_get_execution(catalog, id, &ex, err);
        catalog_close(&catalog);
        if (rc < 0) {
            cli_error("%s", err);
            return CLI_FAILED;
        }
        if (rc == 0) {
            cli_error("execution %lld is not in the catalog", (long long)id);
            return CLI_FAILED;
        }
        const char *status = json_string_value(json_object_get(ex, "status"));
        if (status != NULL && strcmp(status, "RUNNING") != 0) {
            json_int_t rows = json_integer_value(json_object_get(ex, "rows"));
            const char *error = json_string_value(json_object_get(ex, "error"));
            int result = strcmp(status, "SUCCEEDED") == 0 ? CLI_OK : CLI_FAILED;
            if (result == CLI_OK)
                printf("execution %lld SUCCEEDED: %lld rows\n", (long long)id, (long long)rows);
            else
                printf("execution %lld %s: %s\n", (long long)id, status,
                       error != NULL ? error : "(no message)");
            json_decref(ex);
            return result;
        }
        json_decref(ex);
        job_sleep_ms(CLI_WAIT_POLL_MS);
    }
}

static int job_run(struct cli *cli, int argc, char **argv)
{
    bool wait;
    struct control_request req;
    memset(&req, 0, sizeof req);
    if (cli_flag_ref(argc, argv, "wait", "job", job_usage, &wait, req.domain, req.name) != CLI_OK)
        return CLI_USAGE;
    struct job_def job;
    memset(&job, 0, sizeof job);
    if (job_lookup(cli, req.domain, req.name, &job) != 1)
        return CLI_FAILED;
    job_clear(&job);

    req.cmd = CONTROL_RUN;
    struct control_reply reply;
    if (cli_control_call(cli, cli->cfg.transformer_control_endpoint, "transformer", &req,
                         CLI_CONTROL_TIMEOUT_MS, NULL, &reply) != CLI_OK)
        return CLI_FAILED;
    if (!reply.ok) {
        cli_error("run %s/%s: %s", req.domain, req.name, reply.message);
        return CLI_FAILED;
    }
    printf("job %s/%s started: execution %lld\n", req.domain, req.name, (long long)reply.id);
    fflush(stdout);
    return wait ? job_wait(cli, reply.id) : CLI_OK;
}

static int job_executions(struct cli *cli, int argc, char **argv)
{
    if (argc > 2) {
        fputs(job_usage, stderr);
        return CLI_USAGE;
    }
    char domain[NAMES_MAX] = "";
    char name[NAMES_MAX] = "";
    char err[ERROR_MAX];
    if (argc == 2 && cli_parse_ref(argv[1], "job", domain, name, err) != 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    struct catalog *catalog = NULL;
    int rc = cli_catalog_open(cli, false, &catalog, err);
    if (rc < 0) {
        cli_error("%s", err);
        return CLI_FAILED;
    }
    json_t *list = NULL;
    if (rc == 0 && catalog_list_executions(catalog, argc == 2 ? domain : NULL,
                                           argc == 2 ? name : NULL, CLI_JOB_EXECUTIONS, &list,
                                           err) != 0) {
        cli_error("%s", err);
        catalog_close(&catalog);
        return CLI_FAILED;
    }
    catalog_close(&catalog);
    if (list == NULL)
        list = json_array();
    static const char *const columns[] = {"execution_id", "domain", "job_name", "trigger",
                                          "status", "started_at", "finished_at", "rows",
                                          "error"};
    cli_set_null_text("");
    cli_print_objects(stdout, columns, 9, list);
    size_t n = json_array_size(list);
    printf("(%zu execution%s%s)\n", n, n == 1 ? "" : "s",
           n == CLI_JOB_EXECUTIONS ? ", the most recent" : "");
    json_decref(list);
    return CLI_OK;
}

/* The job leaves the catalog; its gold table and executions stay (a query
 * may still read them). job.changed tells the transformer to forget it. */
static int job_delete(struct cli *cli, int argc, char **argv)
{
    char domain[NAMES_MAX];
    char name[NAMES_MAX];
    if (cli_only_ref(argc, argv, "job", job_usage, domain, name) != CLI_OK)
        return CLI_USAGE;
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    int rc = cli_catalog_open(cli, true, &catalog, err);
    if (rc == 0) /* writing: 0 or -1, the data directory must exist */
        rc = catalog_delete_job(catalog, domain, name, err);
    catalog_close(&catalog);
    if (rc != 0) {
        cli_error("%s", err);
        return CLI_FAILED;
    }
    printf("job %s/%s deleted (its gold table %s.gold.%s is kept)\n", domain, name, domain, name);
    struct event ev = {.topic = EVENT_JOB_CHANGED};
    snprintf(ev.domain, sizeof ev.domain, "%s", domain);
    snprintf(ev.name, sizeof ev.name, "%s", name);
    cli_publish(cli, &ev);
    return CLI_OK;
}

int cli_job(struct cli *cli, int argc, char **argv)
{
    static const struct cli_subcommand commands[] = {
        {"add", job_add}, {"list", job_list}, {"show", job_show}, {"delete", job_delete},
        {"run", job_run},
        {"executions", job_executions}, {NULL, NULL},
    };
    return cli_dispatch(cli, argc, argv, "job", job_usage, commands);
}

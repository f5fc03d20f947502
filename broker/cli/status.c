/* status.c - `lakehouse status [--json]`: which processes run (their pid
 * files in run/, checked against /proc so that a stale file reads "down"),
 * and per table its rows, last commit and bronze backlog: sealed bronze files
 * that are neither in the silver ledger nor quarantined yet (normally a few,
 * briefly; a growing number means the processor is down or behind). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bronze.h"
#include "cli.h"
#include "layout.h"
#include "query.h"

static const char *const status_processes[] = {"broker", "ingest", "processor", "transformer"};

/* "up", "down" or "down (stale pid file)"; *pid set when the file had one. */
static const char *status_process(const char *data_dir, const char *proc, long *pid)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/run/%s.pid", data_dir, proc);
    *pid = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return "down";
    int n = fscanf(f, "%ld", pid);
    fclose(f);
    if (n != 1 || *pid <= 0)
        return "down (bad pid file)";
    if (kill((pid_t)*pid, 0) != 0 && errno == ESRCH)
        return "down (stale pid file)";
    char comm_path[64];
    char comm[64] = "";
    snprintf(comm_path, sizeof comm_path, "/proc/%ld/comm", *pid);
    f = fopen(comm_path, "r");
    if (f != NULL) {
        if (fgets(comm, sizeof comm, f) == NULL)
            comm[0] = '\0';
        fclose(f);
    }
    char expected[64];
    snprintf(expected, sizeof expected, "lakehouse-%s", proc);
    /* comm holds at most 15 characters of the name */
    if (strncmp(comm, expected, 15) != 0)
        return "down (stale pid file)";
    return "up";
}

struct status_silver {
    sqlite3 *db;
    sqlite3_stmt *known; /* is a file in _ledger or _quarantine? */
};

static void status_silver_open(struct status_silver *s, const char *data_dir, const char *domain)
{
    memset(s, 0, sizeof *s);
    char path[PATH_MAX + 64];
    if (layout_silver_db(path, sizeof path, data_dir, domain) != 0)
        return;
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(s->db);
        s->db = NULL;
        return;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM _ledger WHERE file = ?1 "
                           "UNION ALL SELECT 1 FROM _quarantine WHERE file = ?1 LIMIT 1",
                           -1, &s->known, NULL) != SQLITE_OK) {
        s->known = NULL; /* no ledger yet: every file is backlog */
    }
}

static void status_silver_close(struct status_silver *s)
{
    sqlite3_finalize(s->known);
    sqlite3_close(s->db);
    memset(s, 0, sizeof *s);
}

static bool status_known(struct status_silver *s, const char *rel)
{
    if (s->known == NULL)
        return false;
    sqlite3_reset(s->known);
    sqlite3_bind_text(s->known, 1, rel, -1, SQLITE_TRANSIENT);
    return sqlite3_step(s->known) == SQLITE_ROW;
}

static bool status_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Sealed files of bronze/<domain>/<endpoint>/ not yet merged. */
static int64_t status_backlog(const char *data_dir, struct status_silver *silver,
                              const char *domain, const char *endpoint)
{
    char dir[PATH_MAX + 256];
    snprintf(dir, sizeof dir, "%s/bronze/%s/%s", data_dir, domain, endpoint);
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int64_t backlog = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "dt=", 3) != 0)
            continue;
        char sub[PATH_MAX + 512];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        DIR *s = opendir(sub);
        if (s == NULL)
            continue;
        struct dirent *f;
        while ((f = readdir(s)) != NULL) {
            uint64_t first = 0;
            uint64_t last = 0;
            if (bronze_parse_name(f->d_name, &first, &last) != 0)
                continue;
            char rel[1024];
            snprintf(rel, sizeof rel, "bronze/%s/%s/%s/%s", domain, endpoint, e->d_name,
                     f->d_name);
            if (!status_known(silver, rel))
                backlog++;
        }
        closedir(s);
    }
    closedir(d);
    return backlog;
}

static json_t *status_find(json_t *tables, const char *domain, const char *layer,
                           const char *table)
{
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t) {
        if (strcmp(json_string_value(json_object_get(t, "domain")), domain) == 0 &&
            strcmp(json_string_value(json_object_get(t, "layer")), layer) == 0 &&
            strcmp(json_string_value(json_object_get(t, "table")), table) == 0)
            return t;
    }
    return NULL;
}

/* Add "backlog" to silver entries, and entries for tables that so far exist
 * only in bronze. */
static void status_bronze(const char *data_dir, json_t *tables)
{
    char root[PATH_MAX + 16];
    snprintf(root, sizeof root, "%s/bronze", data_dir);
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t) {
        if (strcmp(json_string_value(json_object_get(t, "layer")), "silver") == 0)
            json_object_set_new(t, "backlog", json_integer(0));
        else
            json_object_set_new(t, "backlog", json_null());
    }
    struct dirent **domains = NULL;
    int nd = scandir(root, &domains, NULL, alphasort);
    for (int a = 0; a < nd; a++) {
        const char *domain = domains[a]->d_name;
        char ddir[PATH_MAX + 128];
        snprintf(ddir, sizeof ddir, "%s/%s", root, domain);
        if (!names_is_valid_object(domain) || !status_is_dir(ddir))
            continue;
        struct status_silver silver;
        status_silver_open(&silver, data_dir, domain);
        struct dirent **endpoints = NULL;
        int ne = scandir(ddir, &endpoints, NULL, alphasort);
        for (int b = 0; b < ne; b++) {
            const char *endpoint = endpoints[b]->d_name;
            char edir[PATH_MAX + 256];
            snprintf(edir, sizeof edir, "%s/%s", ddir, endpoint);
            if (names_is_valid_object(endpoint) && status_is_dir(edir)) {
                int64_t backlog = status_backlog(data_dir, &silver, domain, endpoint);
                json_t *entry = status_find(tables, domain, "silver", endpoint);
                if (entry == NULL) {
                    entry = json_pack("{s:s, s:s, s:s, s:n, s:n, s:n}", "domain", domain,
                                      "layer", "silver", "table", endpoint, "rows",
                                      "snapshot_id", "last_commit");
                    json_array_append_new(tables, entry);
                }
                json_object_set_new(entry, "backlog", json_integer(backlog));
            }
            free(endpoints[b]);
        }
        free(endpoints);
        status_silver_close(&silver);
    }
    for (int a = 0; a < nd; a++)
        free(domains[a]);
    free(domains);
}

static int status_cmp(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a;
    const json_t *y = *(const json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "domain")),
                   json_string_value(json_object_get(y, "domain")));
    if (c != 0)
        return c;
    /* silver before gold */
    c = -strcmp(json_string_value(json_object_get(x, "layer")),
                json_string_value(json_object_get(y, "layer")));
    if (c != 0)
        return c;
    return strcmp(json_string_value(json_object_get(x, "table")),
                  json_string_value(json_object_get(y, "table")));
}

static json_t *status_sorted(json_t *tables)
{
    size_t n = json_array_size(tables);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    json_t *out = json_array();
    if (items == NULL || out == NULL) {
        free(items);
        json_decref(out);
        return json_incref(tables);
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(tables, i);
    qsort(items, n, sizeof *items, status_cmp);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, items[i]);
    free(items);
    return out;
}

int cli_status(struct cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'j': json = true; break;
        case 'h': printf("usage: lakehouse status [--json]\n"); return CLI_OK;
        default: fprintf(stderr, "usage: lakehouse status [--json]\n"); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        return CLI_USAGE;
    }
    const char *data_dir = cli->cfg.data_dir;
    if (!status_is_dir(data_dir)) {
        cli_error("data directory %s does not exist (pass --data DIR or set LAKEHOUSE_DATA)",
                  data_dir);
        return CLI_FAILED;
    }
    json_t *processes = json_array();
    for (size_t i = 0; i < sizeof status_processes / sizeof status_processes[0]; i++) {
        long pid = 0;
        const char *state = status_process(data_dir, status_processes[i], &pid);
        json_t *p = json_pack("{s:s, s:s}", "process", status_processes[i], "state", state);
        json_object_set_new(p, "pid", pid > 0 ? json_integer(pid) : json_null());
        json_array_append_new(processes, p);
    }
    json_t *listed = NULL;
    char err[ERROR_MAX];
    if (query_list_tables(data_dir, &listed, err) != 0) {
        cli_error("%s", err);
        json_decref(processes);
        return CLI_FAILED;
    }
    status_bronze(data_dir, listed);
    json_t *tables = status_sorted(listed);
    json_decref(listed);

    if (json) {
        json_t *out = json_pack("{s:s, s:o, s:o}", "data_dir", data_dir, "processes", processes,
                                "tables", tables);
        cli_print_json(out);
        json_decref(out);
        return CLI_OK;
    }
    printf("data directory: %s\n\n", data_dir);
    cli_set_null_text("-");
    static const char *const pcols[] = {"process", "state", "pid"};
    cli_print_objects(stdout, pcols, 3, processes);
    printf("\n");
    static const char *const tcols[] = {"domain", "layer", "table", "rows", "last_commit",
                                        "backlog"};
    cli_print_objects(stdout, tcols, 6, tables);
    size_t n = json_array_size(tables);
    printf("(%zu table%s)\n", n, n == 1 ? "" : "s");
    json_decref(processes);
    json_decref(tables);
    return CLI_OK;
}

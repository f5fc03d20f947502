/* status.c - `lakehouse status [--json] [--lag-seconds S]`: the process group
 * at a glance, from the data directory alone (health.h), so it answers
 * whether the processes run under the broker, under systemd or not at all:
 *   - each process up / down / stopped (SIGSTOP) and since when (its pid
 *     file's mtime), its memory;
 *   - per table rows, last commit, freshness (now minus the ingest time of
 *     the newest merged record), bronze backlog (sealed files not merged
 *     yet) and "lagging" when the oldest of those is older than S seconds
 *     (default 10); the processor then shows "lagging" too;
 *   - the last warnings and errors each process logged (its stats file).
 * Exit status 0 whatever the state (it is a report); 1 when the data
 * directory does not exist. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "read/health.h"

#define STATUS_LAG_SECONDS_DEFAULT 10
#define STATUS_ERRORS_SHOWN 10

static const char *const status_usage =
    "usage: lakehouse status [--json] [--lag-seconds S]\n"
    "  --lag-seconds S  a table whose oldest unmerged bronze file is older than S\n"
    "                   seconds is lagging (default 10)\n";

/* "3.2s", "4m05s", "2h03m", "1d02h" */
static void status_age(double seconds, char *out, size_t size)
{
    long s = (long)seconds;
    if (seconds < 60)
        snprintf(out, size, "%.1fs", seconds);
    else if (s < 3600)
        snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, size, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else
        snprintf(out, size, "%ldd%02ldh", s / 86400, (s % 86400) / 3600);
}

static json_t *status_age_json(json_t *v)
{
    if (!json_is_number(v))
        return json_null();
    char text[32];
    status_age(json_number_value(v), text, sizeof text);
    return json_string(text);
}

/* The Iceberg export of each exported table (health_iceberg.h). */
static void status_print_iceberg(json_t *iceberg)
{
    if (json_array_size(iceberg) == 0)
        return;
    json_t *rows = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(iceberg, i, t) {
        char duration[32];
        snprintf(duration, sizeof duration, "%.3f s",
                 json_number_value(json_object_get(t, "duration_seconds")));
        json_array_append_new(
            rows, json_pack("{s:O, s:O, s:O, s:O, s:O, s:s, s:O, s:o, s:O}", "domain",
                            json_object_get(t, "domain"), "layer", json_object_get(t, "layer"),
                            "table", json_object_get(t, "table"), "exported_snapshot",
                            json_object_get(t, "exported_snapshot"), "exported_at",
                            json_object_get(t, "exported_at"), "duration", duration, "behind",
                            json_object_get(t, "lag_snapshots"), "lag",
                            status_age_json(json_object_get(t, "lag_seconds")), "state",
                            json_object_get(t, "state")));
    }
    printf("\nIceberg export:\n");
    static const char *const cols[] = {"domain", "layer",    "table",  "exported_snapshot",
                                       "exported_at", "duration", "behind", "lag", "state"};
    cli_print_objects(stdout, cols, 9, rows);
    json_decref(rows);
}

static void status_print_text(json_t *health, json_t *processes, json_t *errors)
{
    printf("data directory: %s\n\n", json_string_value(json_object_get(health, "data_dir")));
    cli_set_null_text("-");
    json_t *prows = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(processes, i, p) {
        char state[64];
        snprintf(state, sizeof state, "%s%s", json_string_value(json_object_get(p, "state")),
                 json_is_true(json_object_get(p, "lagging")) ? ", lagging" : "");
        json_t *rss = json_object_get(p, "rss_bytes");
        char mem[32] = "";
        if (json_is_integer(rss))
            snprintf(mem, sizeof mem, "%.1f MiB", (double)json_integer_value(rss) / 1048576.0);
        json_array_append_new(
            prows, json_pack("{s:O, s:s, s:O, s:O, s:s?}", "process", json_object_get(p, "process"),
                             "state", state, "pid", json_object_get(p, "pid"), "since",
                             json_object_get(p, "since"), "memory", mem[0] ? mem : NULL));
    }
    static const char *const pcols[] = {"process", "state", "pid", "since", "memory"};
    cli_print_objects(stdout, pcols, 5, prows);
    json_decref(prows);
    printf("\n");

    json_t *tables = json_object_get(health, "tables");
    json_t *trows = json_array();
    json_t *t;
    json_array_foreach(tables, i, t) {
        bool silver = strcmp(json_string_value(json_object_get(t, "layer")), "silver") == 0;
        json_array_append_new(
            trows,
            json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:O, s:o, s:O}", "domain",
                      json_object_get(t, "domain"), "layer", json_object_get(t, "layer"),
                      "table", json_object_get(t, "table"), "rows", json_object_get(t, "rows"),
                      "last_commit", json_object_get(t, "last_commit"), "freshness",
                      status_age_json(json_object_get(t, "freshness_seconds")), "backlog",
                      silver ? json_object_get(t, "backlog") : json_null(), "oldest_unmerged",
                      status_age_json(json_object_get(t, "backlog_oldest_age_seconds")),
                      "state", silver ? json_object_get(t, "state") : json_null()));
    }
    static const char *const tcols[] = {"domain",  "layer",   "table",
                                        "rows",    "last_commit", "freshness",
                                        "backlog", "oldest_unmerged", "state"};
    cli_print_counted(tcols, 9, trows, "table", ""); /* a row per table */
    json_decref(trows);

    status_print_iceberg(json_object_get(health, "iceberg"));

    size_t ne = json_array_size(errors);
    if (ne > 0) {
        printf("\nlast warnings and errors:\n");
        for (size_t k = ne > STATUS_ERRORS_SHOWN ? ne - STATUS_ERRORS_SHOWN : 0; k < ne; k++) {
            json_t *e = json_array_get(errors, k);
            printf("  %s %s %s: %s\n", json_string_value(json_object_get(e, "at")),
                   json_string_value(json_object_get(e, "process")),
                   json_string_value(json_object_get(e, "level")),
                   json_string_value(json_object_get(e, "message")));
        }
    }
}

int cli_status(struct cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"lag-seconds", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    double lag_seconds = STATUS_LAG_SECONDS_DEFAULT;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'j': json = true; break;
        case 'l': {
            char *end;
            lag_seconds = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || lag_seconds < 0) {
                cli_error("--lag-seconds '%s': expected a number of seconds >= 0", optarg);
                return CLI_USAGE;
            }
            break;
        }
        case 'h': printf("%s", status_usage); return CLI_OK;
        default: fprintf(stderr, "%s", status_usage); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        return CLI_USAGE;
    }
    const char *data_dir = cli->cfg.data_dir;
    struct stat st;
    if (stat(data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("data directory %s does not exist (pass --data DIR or set LAKEHOUSE_DATA)",
                  data_dir);
        return CLI_FAILED;
    }
    json_t *health = NULL;
    char err[ERROR_MAX];
    if (health_status(data_dir, (int64_t)(lag_seconds * 1000), &health, err) != 0) {
        cli_error("%s", err);
        return CLI_FAILED;
    }
    if (json)
        cli_print_json(health);
    else
        status_print_text(health, json_object_get(health, "processes"),
                          json_object_get(health, "last_errors"));
    json_decref(health);
    return CLI_OK;
}

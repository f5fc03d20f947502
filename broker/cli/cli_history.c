/* cli_history.c - the history commands of silver and gold tables (timetravel.h):
 *   lakehouse history TABLE [--limit N] [--json]
 *       the table's snapshots, newest first (DESCRIBE HISTORY)
 *   lakehouse changes TABLE FROM_SNAPSHOT [TO_SNAPSHOT] [--json]
 *       the change feed: rows inserted / updated (before and after) /
 *       deleted by the snapshots FROM..TO (TO omitted: the latest)
 *   lakehouse rollback DOMAIN/TABLE SNAPSHOT
 *       make the silver table equal its state at SNAPSHOT, as a new snapshot
 *       (asks the processor, the only writer of silver: control_protocol.h)
 * TABLE is DOMAIN/TABLE (a silver table) or DOMAIN.silver.TABLE /
 * DOMAIN.gold.TABLE. Gold tables are not rolled back: their job rewrites
 * them (a rerun), and time travel reads their old states. history and
 * changes read the database directly (read-only). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "control_protocol.h"
#include "read/query.h"
#include "sqlref.h"
#include "timetravel.h"

/* snapshot by snapshot; within one: deletes, inserts, then update pairs */
#define CLI_CHANGES_ORDER                                                                       \
    "ORDER BY _snapshot_id, CASE _change_type WHEN 'delete' THEN 1 WHEN 'insert' THEN 2 "      \
    "WHEN 'update_before' THEN 3 ELSE 4 END"

static int history_snapshot_arg(const char *text, int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || v <= 0) {
        cli_error("expected a snapshot id (a positive number), got '%s'", text);
        return -1;
    }
    *out = v;
    return 0;
}

/* DOMAIN/TABLE (silver) or DOMAIN.LAYER.TABLE with LAYER silver or gold. */
static int history_table_arg(const char *text, enum sqlref_layer *layer, char domain[NAMES_MAX],
                             char table[NAMES_MAX], char err[ERROR_MAX])
{
    *layer = SQLREF_SILVER;
    if (strchr(text, '/') != NULL || strchr(text, '.') == NULL)
        return cli_parse_ref(text, "table", domain, table, err);
    struct sqlref *refs = NULL;
    size_t count = 0;
    char *rewritten = NULL;
    if (sqlref_rewrite(text, &rewritten, &refs, &count, err) != 0)
        return -1;
    /* exactly one reference and nothing else */
    int rc = 0;
    char expect[3 * NAMES_MAX + 8] = "";
    if (count == 1) {
        snprintf(expect, sizeof expect, "%s.%s.%s", refs[0].domain,
                 sqlref_layer_name(refs[0].layer), refs[0].table);
    }
    if (count != 1 || strcasecmp(expect, text) != 0 || refs[0].layer == SQLREF_BRONZE) {
        rc = error_set(err, "expected DOMAIN/TABLE, DOMAIN.silver.TABLE or DOMAIN.gold.TABLE, "
                            "got '%.100s'",
                       text);
    } else {
        *layer = refs[0].layer;
        snprintf(domain, NAMES_MAX, "%s", refs[0].domain);
        snprintf(table, NAMES_MAX, "%s", refs[0].table);
    }
    free(refs);
    free(rewritten);
    return rc;
}

/* The state of history and changes. */
struct history_args {
    int64_t limit;
};

static const struct option history_options[] = {
    {"limit", required_argument, NULL, 'l'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int history_option(int opt, const char *arg, void *state)
{
    struct history_args *a = state;
    if (opt != 'l')
        return CLI_HELP;
    return history_snapshot_arg(arg, &a->limit) == 0 ? CLI_OK : CLI_USAGE;
}

static int history_run(struct cli *cli, char **operands, int count, void *state, json_t **out)
{
    (void)count;
    struct history_args *a = state;
    char domain[NAMES_MAX], table[NAMES_MAX], err[ERROR_MAX];
    enum sqlref_layer layer;
    if (history_table_arg(operands[0], &layer, domain, table, err) != 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    return cli_outcome(
        timetravel_history(cli->cfg.data_dir, layer, domain, table, a->limit, out, err), err);
}

static void history_print(const json_t *list, void *state)
{
    (void)state;
    static const char *const columns[] = {"snapshot_id", "committed_at", "operation",
                                          "rows_inserted", "rows_updated", "rows_deleted",
                                          "rows_unchanged", "schema_version", "source"};
    cli_print_objects(stdout, columns, sizeof columns / sizeof columns[0], list);
}

int cli_history(struct cli *cli, int argc, char **argv)
{
    static const struct cli_spec spec = {
        .usage = "usage: lakehouse history DOMAIN/TABLE|DOMAIN.gold.TABLE [--limit N] "
                 "[--json]\n",
        .shortopts = "h", .options = history_options, .min_operands = 1, .max_operands = 1,
        .option = history_option, .run = history_run, .print = history_print,
    };
    struct history_args args = {0};
    return cli_spec_run(cli, argc, argv, &spec, &args);
}

static int changes_run(struct cli *cli, char **operands, int count, void *state, json_t **out)
{
    int64_t *max_rows = state; /* for the note of changes_print */
    char domain[NAMES_MAX], table[NAMES_MAX], err[ERROR_MAX];
    int64_t from = 0, to = 0;
    enum sqlref_layer layer;
    if (history_table_arg(operands[0], &layer, domain, table, err) != 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    if (history_snapshot_arg(operands[1], &from) != 0 ||
        (count == 3 && history_snapshot_arg(operands[2], &to) != 0))
        return CLI_USAGE;
    /* checked names and numbers only: the query form of the change feed */
    char sql[4 * NAMES_MAX + 256], range[64];
    if (to > 0)
        snprintf(range, sizeof range, "%" PRId64 ",%" PRId64, from, to);
    else
        snprintf(range, sizeof range, "%" PRId64, from);
    /* gold tables have no _seq: within a change type, rows in no set order */
    snprintf(sql, sizeof sql, "SELECT * FROM %s.%s.%s@changes(%s) " CLI_CHANGES_ORDER "%s",
             domain, sqlref_layer_name(layer), table, range,
             layer == SQLREF_SILVER ? ", _seq" : "");
    struct query_limits limits = {.timeout_ms = cli->cfg.query_timeout_ms,
                                  .max_rows = cli->cfg.query_max_rows};
    *max_rows = cli->cfg.query_max_rows;
    if (query_run(cli->cfg.data_dir, sql, &limits, out, err) != 0) {
        cli_error("changes of %s/%s: %s", domain, table, err);
        return CLI_FAILED;
    }
    return CLI_OK;
}

static void changes_print(const json_t *result, void *state)
{
    const int64_t *max_rows = state;
    cli_print_table(stdout, json_object_get(result, "columns"), json_object_get(result, "data"));
    if (json_is_true(json_object_get(result, "truncated")))
        fprintf(stderr, "lakehouse: note: cut after %" PRId64 " rows (query_max_rows)\n",
                *max_rows);
}

int cli_changes(struct cli *cli, int argc, char **argv)
{
    static const struct cli_spec spec = {
        .usage = "usage: lakehouse changes DOMAIN/TABLE|DOMAIN.gold.TABLE FROM_SNAPSHOT "
                 "[TO_SNAPSHOT] [--json]\n",
        .shortopts = "h", .options = history_options + 1, .min_operands = 2,
        .max_operands = 3, .run = changes_run, .print = changes_print,
    };
    int64_t max_rows = 0;
    return cli_spec_run(cli, argc, argv, &spec, &max_rows);
}

int cli_rollback(struct cli *cli, int argc, char **argv)
{
    static const char usage[] = "usage: lakehouse rollback DOMAIN/TABLE SNAPSHOT\n";
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (argc != 3) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    struct control_request req;
    memset(&req, 0, sizeof req);
    req.cmd = CONTROL_ROLLBACK;
    char err[ERROR_MAX];
    int64_t snapshot;
    enum sqlref_layer layer;
    if (history_table_arg(argv[1], &layer, req.domain, req.name, err) != 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    if (layer == SQLREF_GOLD) {
        ops_rollback_gold_reason(req.domain, req.name, err);
        cli_error("%s", err);
        return CLI_FAILED;
    }
    if (history_snapshot_arg(argv[2], &snapshot) != 0)
        return CLI_USAGE;
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    json_t *out = NULL;
    int rc = ops_rollback(zctx, &cli->cfg, req.domain, req.name, snapshot, &out, err);
    if (rc != 0)
        return cli_outcome(rc, err);
    printf("%s\n", json_string_value(json_object_get(out, "message")));
    json_decref(out);
    return CLI_OK;
}

/* cli_maintenance.c - the commands that ask the workers (processor,
 * transformer) to do one operation on a scope of tables and answer when it
 * is done (ops.h), all with the outline [DOMAIN[/TABLE]] [options] [--json]:
 *   lakehouse expire [--dry-run]   bronze files and silver (and gold) history
 *                                  older than the retention horizons
 *   lakehouse compact [--date D]   the small bronze files of closed days (or
 *                                  of one date) into one file each
 *   lakehouse export [--wait]      changed silver and gold tables published
 *                                  as Iceberg tables; both workers answer when
 *                                  done, so the command always waits (--wait
 *                                  says so, for scripts written for a later
 *                                  asynchronous default)
 *   lakehouse replay [--from D] [--to D]  silver rebuilt from bronze, or the
 *                                  files of a date range merged again
 * --json prints the answer as the HTTP API gives it (POST /maintenance/...,
 * POST /export; POST /replay answers it in GET /replay/{id}). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control_protocol.h"

enum maint_kind { MAINT_EXPIRE, MAINT_COMPACT, MAINT_EXPORT, MAINT_REPLAY };

struct maint_args {
    enum maint_kind kind;
    const char *usage;
    struct control_request req; /* scope; compact: from = the date; replay: from, to */
    bool dry_run;
};

static const struct option maint_options[] = {
    {"dry-run", no_argument, NULL, 'n'}, {"date", required_argument, NULL, 'd'},
    {"wait", no_argument, NULL, 'w'},    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},    {NULL, 0, NULL, 0},
};

/* Which option letters each command takes. */
static const char *const maint_letters[] = {
    [MAINT_EXPIRE] = "n", [MAINT_COMPACT] = "d", [MAINT_EXPORT] = "w", [MAINT_REPLAY] = "ft"};

static int maint_option(int opt, const char *arg, void *state)
{
    struct maint_args *a = state;
    if (strchr(maint_letters[a->kind], opt) == NULL)
        return CLI_HELP;
    switch (opt) {
    case 'n': a->dry_run = true; break;
    case 'd': return cli_date_arg("--date", arg, a->req.from) == 0 ? CLI_OK : CLI_USAGE;
    case 'f': return cli_date_arg("--from", arg, a->req.from) == 0 ? CLI_OK : CLI_USAGE;
    case 't': return cli_date_arg("--to", arg, a->req.to) == 0 ? CLI_OK : CLI_USAGE;
    default: break; /* --wait: it always waits */
    }
    return CLI_OK;
}

/* The replay, with its progress line on a terminal. */
static int maint_replay(void *zctx, const struct config *cfg, struct control_request *req,
                        json_t **out, char err[ERROR_MAX])
{
    req->cmd = CONTROL_REPLAY;
    struct cli_progress *progress = cli_progress_start("replaying", NULL, 0);
    cli_progress_tick_start(progress);
    int rc = ops_replay(zctx, cfg, req, out, err);
    cli_progress_end(&progress);
    return rc;
}

static int maint_run(struct cli *cli, char **operands, int count, void *state, json_t **out)
{
    struct maint_args *a = state;
    struct control_request *req = &a->req;
    char err[ERROR_MAX];
    if (cli_spec_scope(operands, count, a->usage, req) != CLI_OK)
        return CLI_USAGE;
    if (req->to[0] != '\0' && req->from[0] != '\0' && strcmp(req->from, req->to) > 0) {
        cli_error("--from %s is after --to %s", req->from, req->to);
        return CLI_USAGE;
    }
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    int rc = 0;
    switch (a->kind) {
    case MAINT_EXPIRE:
        rc = ops_expire(zctx, &cli->cfg, req->domain, req->name, a->dry_run, out, err);
        break;
    case MAINT_COMPACT:
        rc = ops_compact(zctx, &cli->cfg, req->domain, req->name, req->from, out, err);
        break;
    case MAINT_EXPORT: rc = ops_export(zctx, &cli->cfg, req->domain, req->name, out, err); break;
    case MAINT_REPLAY: rc = maint_replay(zctx, &cli->cfg, req, out, err); break;
    }
    return cli_outcome(rc, err);
}

static void maint_print(const json_t *out, void *state)
{
    const struct maint_args *a = state;
    if (a->kind == MAINT_EXPIRE || a->kind == MAINT_EXPORT) {
        cli_print_layers(out);
        return;
    }
    const char *message = json_string_value(json_object_get(out, "message"));
    if (a->kind == MAINT_COMPACT) {
        printf("%s\n", message);
        return;
    }
    json_int_t files = json_integer_value(json_object_get(out, "files_merged"));
    printf("replay done: %lld file%s merged%s%s\n", (long long)files, files == 1 ? "" : "s",
           message[0] ? " - " : "", message);
}

/* Each command's usage and short options, by kind. */
static const struct {
    const char *usage;
    const char *shortopts;
} maint_commands[] = {
    [MAINT_EXPIRE] = {"usage: lakehouse expire [--dry-run] [DOMAIN[/TABLE]] [--json]\n", "nh"},
    [MAINT_COMPACT] = {"usage: lakehouse compact [DOMAIN[/TABLE]] [--date YYYY-MM-DD] "
                       "[--json]\n",
                       "h"},
    [MAINT_EXPORT] = {"usage: lakehouse export [DOMAIN[/TABLE]] [--wait] [--json]\n", "wh"},
    [MAINT_REPLAY] = {"usage: lakehouse replay [DOMAIN[/TABLE]] [--from YYYY-MM-DD] "
                      "[--to YYYY-MM-DD] [--json]\n",
                      "h"},
};

static int maint_command(struct cli *cli, int argc, char **argv, enum maint_kind kind)
{
    const struct cli_spec spec = {
        .usage = maint_commands[kind].usage, .shortopts = maint_commands[kind].shortopts,
        .options = maint_options, .min_operands = 0, .max_operands = 1,
        .option = maint_option, .run = maint_run, .print = maint_print,
    };
    struct maint_args args;
    memset(&args, 0, sizeof args);
    args.kind = kind;
    args.usage = spec.usage;
    return cli_spec_run(cli, argc, argv, &spec, &args);
}

int cli_expire(struct cli *cli, int argc, char **argv)
{
    return maint_command(cli, argc, argv, MAINT_EXPIRE);
}

int cli_compact(struct cli *cli, int argc, char **argv)
{
    return maint_command(cli, argc, argv, MAINT_COMPACT);
}

int cli_export(struct cli *cli, int argc, char **argv)
{
    return maint_command(cli, argc, argv, MAINT_EXPORT);
}

int cli_replay(struct cli *cli, int argc, char **argv)
{
    return maint_command(cli, argc, argv, MAINT_REPLAY);
}

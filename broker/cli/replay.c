/* replay.c - `lakehouse replay [DOMAIN[/TABLE]] [--from YYYY-MM-DD]
 * [--to YYYY-MM-DD]`: ask the processor (control socket, control_protocol.h) to rebuild
 * silver tables from bronze, or to merge the files of a date range again.
 * The processor replies when it is done (ops.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control_protocol.h"

static const char replay_usage[] =
    "usage: lakehouse replay [DOMAIN[/TABLE]] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n";

int cli_replay(struct cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct control_request req;
    memset(&req, 0, sizeof req);
    req.cmd = CONTROL_REPLAY;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt != 'f' && opt != 't')
            return cli_option_rest(opt, replay_usage);
        if (cli_date_arg(opt == 'f' ? "--from" : "--to", optarg,
                         opt == 'f' ? req.from : req.to) != 0)
            return CLI_USAGE;
    }
    if (cli_scope_operand(argc, argv, replay_usage, &req) != CLI_OK)
        return CLI_USAGE;
    if (req.from[0] != '\0' && req.to[0] != '\0' && strcmp(req.from, req.to) > 0) {
        cli_error("--from %s is after --to %s", req.from, req.to);
        return CLI_USAGE;
    }

    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    json_t *out = NULL;
    char err[ERROR_MAX];
    struct cli_progress *progress = cli_progress_start("replaying", NULL, 0);
    cli_progress_tick_start(progress);
    int rc = ops_replay(zctx, &cli->cfg, &req, &out, err);
    cli_progress_end(&progress);
    if (rc != 0)
        return cli_outcome(rc, err);
    json_int_t files = json_integer_value(json_object_get(out, "files_merged"));
    const char *message = json_string_value(json_object_get(out, "message"));
    printf("replay done: %lld file%s merged%s%s\n", (long long)files, files == 1 ? "" : "s",
           message[0] ? " - " : "", message);
    json_decref(out);
    return CLI_OK;
}

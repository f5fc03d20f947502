/* replay.c - `lakehouse replay [DOMAIN[/TABLE]] [--from YYYY-MM-DD]
 * [--to YYYY-MM-DD]`: ask the processor (control socket, control.h) to rebuild
 * silver tables from bronze, or to merge the files of a date range again.
 * The processor replies when it is done (ops.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "timeutil.h"


static const char replay_usage[] =
    "usage: lakehouse replay [DOMAIN[/TABLE]] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n";

static int replay_date(const char *flag, const char *text, char out[16])
{
    char err[ERROR_MAX];
    char norm[16];
    if (strlen(text) != 10 || timeutil_normalize_date(text, NULL, norm, err) != 0 ||
        strcmp(norm, text) != 0) {
        cli_error("%s: expected a date YYYY-MM-DD, got '%s'", flag, text);
        return -1;
    }
    snprintf(out, 16, "%s", text);
    return 0;
}

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
    snprintf(req.cmd, sizeof req.cmd, "replay");
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'f':
            if (replay_date("--from", optarg, req.from) != 0)
                return CLI_USAGE;
            break;
        case 't':
            if (replay_date("--to", optarg, req.to) != 0)
                return CLI_USAGE;
            break;
        case 'h': fputs(replay_usage, stdout); return CLI_OK;
        default: fputs(replay_usage, stderr); return CLI_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(replay_usage, stderr);
        return CLI_USAGE;
    }
    if (argc - optind == 1 && cli_control_scope(argv[optind], &req) != 0)
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
    enum ops_status st = ops_replay(zctx, &cli->cfg, &req, &out, err);
    if (st != OPS_OK)
        return cli_ops_failed(st, err);
    json_int_t files = json_integer_value(json_object_get(out, "files_merged"));
    const char *message = json_string_value(json_object_get(out, "message"));
    printf("replay done: %lld file%s merged%s%s\n", (long long)files, files == 1 ? "" : "s",
           message[0] ? " - " : "", message);
    json_decref(out);
    return CLI_OK;
}

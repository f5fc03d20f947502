/* replay.c - `lakehouse replay [DOMAIN[/TABLE]] [--from YYYY-MM-DD]
 * [--to YYYY-MM-DD]`: ask the processor (control socket, control_protocol.h) to rebuild
 * silver tables from bronze, or to merge the files of a date range again.
 * The processor replies when it is done; a ping first tells a stopped
 * processor apart from a long replay. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control_protocol.h"
#include "timeutil.h"

#define CLI_PING_TIMEOUT_MS 5000
#define CLI_REPLAY_TIMEOUT_MS (6 * 3600 * 1000) /* a rebuild of a big table takes a while */

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
    req.cmd = CONTROL_REPLAY;
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

    const char *endpoint = cli->cfg.processor_control_endpoint;
    struct control_request ping;
    memset(&ping, 0, sizeof ping);
    ping.cmd = CONTROL_PING;
    struct control_reply reply;
    if (cli_control_call(cli, endpoint, "processor", &ping, CLI_PING_TIMEOUT_MS,
                         "the processor does not answer", &reply) != CLI_OK)
        return CLI_FAILED;
    struct cli_progress *progress = cli_progress_start("replaying", NULL, 0);
    cli_progress_tick_start(progress);
    int rc = cli_control_call(cli, endpoint, "processor", &req, CLI_REPLAY_TIMEOUT_MS, "replay",
                              &reply);
    cli_progress_end(&progress);
    if (rc != CLI_OK)
        return CLI_FAILED;
    if (!reply.ok) {
        cli_error("replay failed: %s", reply.message);
        return CLI_FAILED;
    }
    printf("replay done: %lld file%s merged%s%s\n", (long long)reply.count,
           reply.count == 1 ? "" : "s", reply.message[0] ? " - " : "", reply.message);
    return CLI_OK;
}

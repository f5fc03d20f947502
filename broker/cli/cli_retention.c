/* cli_retention.c - `lakehouse expire [--dry-run] [DOMAIN[/TABLE]]` and
 * `lakehouse compact [DOMAIN[/TABLE]] [--date YYYY-MM-DD]`: ask the processor
 * (control socket, control_protocol.h: "expire", "expire_dry_run", "compact") to
 * expire bronze files and silver history older than the retention horizons
 * (and the transformer, same commands, to expire gold history),
 * or to compact the small bronze files of closed days (or of one date) into
 * one file each. The processor answers when it is done. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control_protocol.h"
#include "timeutil.h"

#define CLI_MAINT_TIMEOUT_MS (3600 * 1000)

static const char expire_usage[] = "usage: lakehouse expire [--dry-run] [DOMAIN[/TABLE]]\n";
static const char compact_usage[] =
    "usage: lakehouse compact [DOMAIN[/TABLE]] [--date YYYY-MM-DD]\n";

/* One request to the worker on endpoint (who: "processor", "transformer");
 * CLI_OK only when it succeeded. */
static int maint_call(struct cli *cli, const char *endpoint, const char *who,
                      const struct control_request *req, const char *what,
                      struct control_reply *reply)
{
    if (cli_control_call(cli, endpoint, who, req, CLI_MAINT_TIMEOUT_MS, what, reply) != CLI_OK)
        return CLI_FAILED;
    if (!reply->ok) {
        cli_error("%s", reply->message);
        return CLI_FAILED;
    }
    return CLI_OK;
}

/* Gold history is the transformer's (its only writer): the same request
 * goes there too. Not running: said on stderr, not an error (it also expires
 * gold daily by itself). */
static int expire_gold(struct cli *cli, const struct control_request *req)
{
    if (!cli_endpoint_present(cli->cfg.transformer_control_endpoint)) {
        fprintf(stderr, "gold: not expired, the transformer is not running (nothing listens on "
                        "%s)\n", cli->cfg.transformer_control_endpoint + 6);
        return CLI_OK;
    }
    struct control_reply reply;
    int rc = maint_call(cli, cli->cfg.transformer_control_endpoint, "transformer", req,
                        "expire gold", &reply);
    if (rc == CLI_OK)
        printf("%s\n", reply.message);
    return rc;
}

int cli_expire(struct cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct control_request req;
    memset(&req, 0, sizeof req);
    req.cmd = CONTROL_EXPIRE;
    int opt;
    while ((opt = getopt_long(argc, argv, "nh", options, NULL)) != -1) {
        switch (opt) {
        case 'n': req.cmd = CONTROL_EXPIRE_DRY_RUN; break;
        case 'h': fputs(expire_usage, stdout); return CLI_OK;
        default: fputs(expire_usage, stderr); return CLI_USAGE;
        }
    }
    if (argc - optind > 1 || (argc - optind == 1 && cli_control_scope(argv[optind], &req) != 0)) {
        fputs(expire_usage, stderr);
        return CLI_USAGE;
    }
    struct control_reply reply;
    int rc = maint_call(cli, cli->cfg.processor_control_endpoint, "processor", &req, "expire",
                        &reply);
    if (rc == CLI_OK)
        printf("%s\n", reply.message);
    if (rc == CLI_OK)
        rc = expire_gold(cli, &req);
    return rc;
}

int cli_compact(struct cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"date", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct control_request req;
    memset(&req, 0, sizeof req);
    req.cmd = CONTROL_COMPACT;
    int opt;
    char err[ERROR_MAX], norm[16];
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            if (strlen(optarg) != 10 || timeutil_normalize_date(optarg, NULL, norm, err) != 0 ||
                strcmp(norm, optarg) != 0) {
                cli_error("--date: expected a date YYYY-MM-DD, got '%s'", optarg);
                return CLI_USAGE;
            }
            snprintf(req.from, sizeof req.from, "%s", optarg);
            break;
        case 'h': fputs(compact_usage, stdout); return CLI_OK;
        default: fputs(compact_usage, stderr); return CLI_USAGE;
        }
    }
    if (argc - optind > 1 || (argc - optind == 1 && cli_control_scope(argv[optind], &req) != 0)) {
        fputs(compact_usage, stderr);
        return CLI_USAGE;
    }
    struct control_reply reply;
    int rc = maint_call(cli, cli->cfg.processor_control_endpoint, "processor", &req, "compact",
                        &reply);
    if (rc == CLI_OK)
        printf("%s\n", reply.message);
    return rc;
}

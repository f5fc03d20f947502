/* cli_retention.c - `lakehouse expire [--dry-run] [DOMAIN[/TABLE]]` and
 * `lakehouse compact [DOMAIN[/TABLE]] [--date YYYY-MM-DD]`: ask the processor
 * (control socket, control_protocol.h: "expire", "expire_dry_run", "compact") to
 * expire bronze files and silver history older than the retention horizons
 * (and the transformer, same commands, to expire gold history),
 * or to compact the small bronze files of closed days (or of one date) into
 * one file each (ops.h). The processor answers when it is done. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control_protocol.h"

static const char expire_usage[] = "usage: lakehouse expire [--dry-run] [DOMAIN[/TABLE]]\n";
static const char compact_usage[] =
    "usage: lakehouse compact [DOMAIN[/TABLE]] [--date YYYY-MM-DD]\n";

int cli_expire(struct cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct control_request req;
    memset(&req, 0, sizeof req);
    bool dry_run = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "nh", options, NULL)) != -1) {
        if (opt != 'n')
            return cli_option_rest(opt, expire_usage);
        dry_run = true;
    }
    if (cli_scope_operand(argc, argv, expire_usage, &req) != CLI_OK)
        return CLI_USAGE;
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    json_t *out = NULL;
    char err[ERROR_MAX];
    int rc = ops_expire(zctx, &cli->cfg, req.domain, req.name, dry_run, &out, err);
    if (rc == 0)
        cli_print_layers(out);
    json_decref(out);
    return cli_outcome(rc, err);
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
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt != 'd')
            return cli_option_rest(opt, compact_usage);
        if (cli_date_arg("--date", optarg, req.from) != 0)
            return CLI_USAGE;
    }
    if (cli_scope_operand(argc, argv, compact_usage, &req) != CLI_OK)
        return CLI_USAGE;
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    json_t *out = NULL;
    char err[ERROR_MAX];
    int rc = ops_compact(zctx, &cli->cfg, req.domain, req.name, req.from, &out, err);
    if (rc == 0)
        printf("%s\n", json_string_value(json_object_get(out, "message")));
    json_decref(out);
    return cli_outcome(rc, err);
}

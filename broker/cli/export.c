/* export.c - `lakehouse export [DOMAIN[/TABLE]] [--wait]`: ask the processor
 * (silver) and the transformer (gold) to publish now, as Iceberg tables, the
 * tables whose newest snapshot is not exported yet (ops.h ops_export). Both
 * answer when the export is done, so the command always waits; --wait says
 * so explicitly (scripts written for a later asynchronous default keep
 * working). A transformer that is not running is said on stderr (gold is
 * exported again by itself at its next start). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control_protocol.h"

static const char export_usage[] = "usage: lakehouse export [DOMAIN[/TABLE]] [--wait]\n";

int cli_export(struct cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"wait", no_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct control_request req;
    memset(&req, 0, sizeof req);
    int opt;
    while ((opt = getopt_long(argc, argv, "wh", options, NULL)) != -1) {
        if (opt != 'w')
            return cli_option_rest(opt, export_usage);
    }
    if (cli_scope_operand(argc, argv, export_usage, &req) != CLI_OK)
        return CLI_USAGE;
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    json_t *out = NULL;
    char err[ERROR_MAX];
    int rc = ops_export(zctx, &cli->cfg, req.domain, req.name, &out, err);
    if (rc == 0)
        cli_print_layers(out);
    json_decref(out);
    return cli_outcome(rc, err);
}

/* export.c - `lakehouse export [DOMAIN[/TABLE]] [--wait]`: ask the processor
 * (control socket, control_protocol.h: "export") to publish now, as Iceberg tables,
 * the silver tables whose newest snapshot is not exported yet. The
 * processor answers when the export is done, so the command always waits;
 * --wait says so explicitly (scripts written for a later asynchronous
 * default keep working). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control_protocol.h"

#define CLI_EXPORT_TIMEOUT_MS (3600 * 1000)

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
    req.cmd = CONTROL_EXPORT;
    int opt;
    while ((opt = getopt_long(argc, argv, "wh", options, NULL)) != -1) {
        switch (opt) {
        case 'w': break;
        case 'h': fputs(export_usage, stdout); return CLI_OK;
        default: fputs(export_usage, stderr); return CLI_USAGE;
        }
    }
    if (argc - optind > 1 || (argc - optind == 1 && cli_control_scope(argv[optind], &req) != 0)) {
        fputs(export_usage, stderr);
        return CLI_USAGE;
    }
    struct control_reply reply;
    if (cli_control_call(cli, cli->cfg.processor_control_endpoint, "processor", &req,
                         CLI_EXPORT_TIMEOUT_MS, "export", &reply) != CLI_OK)
        return CLI_FAILED;
    if (!reply.ok) {
        cli_error("%s", reply.message);
        return CLI_FAILED;
    }
    printf("%s\n", reply.message);
    return CLI_OK;
}

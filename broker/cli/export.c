/* export.c - `lakehouse export [DOMAIN[/TABLE]] [--wait]`: ask the processor
 * (silver) and the transformer (gold), each on its control socket
 * (control_protocol.h: "export"), to publish now, as Iceberg tables, the tables whose
 * newest snapshot is not exported yet. Both answer when the export is done,
 * so the command always waits; --wait says so explicitly (scripts written
 * for a later asynchronous default keep working). A TABLE may be silver,
 * gold or both: each reply's id says how many tables were in its scope, so
 * the command fails only when neither layer has it or an export failed. A
 * transformer that is not running is said on stderr (gold is exported again
 * by itself at its next start). */
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
    bool one_table = req.name[0] != '\0';
    struct control_reply silver, gold = {.ok = true};
    if (cli_control_call(cli, cli->cfg.processor_control_endpoint, "processor", &req,
                         CLI_EXPORT_TIMEOUT_MS, "export", &silver) != CLI_OK)
        return CLI_FAILED;
    bool asked_gold = cli_endpoint_present(cli->cfg.transformer_control_endpoint);
    if (!asked_gold)
        fprintf(stderr, "gold: not exported, the transformer is not running (nothing listens on "
                        "%s)\n", cli->cfg.transformer_control_endpoint + 6);
    else if (cli_control_call(cli, cli->cfg.transformer_control_endpoint, "transformer", &req,
                              CLI_EXPORT_TIMEOUT_MS, "export gold", &gold) != CLI_OK)
        return CLI_FAILED;
    /* a table only in gold: the processor's "no silver table" is no failure */
    bool silver_failed = !silver.ok && !(one_table && silver.id == 0 && gold.ok && gold.id > 0);
    if (silver_failed || !gold.ok) {
        if (silver_failed)
            cli_error("%s", silver.message);
        if (!gold.ok)
            cli_error("%s", gold.message);
        return CLI_FAILED;
    }
    if (silver.ok && (!one_table || silver.id > 0))
        printf("%s\n", silver.message);
    if (asked_gold && (!one_table || gold.id > 0))
        printf("%s\n", gold.message);
    return CLI_OK;
}

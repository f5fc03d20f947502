/* expire.c - `lakehouse expire [--dry-run] [DOMAIN[/TABLE]]` and
 * `lakehouse compact [DOMAIN[/TABLE]] [--date YYYY-MM-DD]`: ask the processor
 * (control socket, control.h: "expire", "expire_dry_run", "compact") to
 * expire bronze files and silver history older than the retention horizons
 * (and the transformer, same commands, to expire gold history),
 * or to compact the small bronze files of closed days (or of one date) into
 * one file each. The processor answers when it is done. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "timeutil.h"


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
    snprintf(req.cmd, sizeof req.cmd, "expire");
    int opt;
    while ((opt = getopt_long(argc, argv, "nh", options, NULL)) != -1) {
        switch (opt) {
        case 'n': snprintf(req.cmd, sizeof req.cmd, "expire_dry_run"); break;
        case 'h': fputs(expire_usage, stdout); return CLI_OK;
        default: fputs(expire_usage, stderr); return CLI_USAGE;
        }
    }
    if (argc - optind > 1 || (argc - optind == 1 && cli_control_scope(argv[optind], &req) != 0)) {
        fputs(expire_usage, stderr);
        return CLI_USAGE;
    }
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    json_t *out = NULL;
    char err[ERROR_MAX];
    enum ops_status st = ops_expire(zctx, &cli->cfg, req.domain, req.name,
                                    strcmp(req.cmd, "expire_dry_run") == 0, &out, err);
    if (st != OPS_OK)
        return cli_ops_failed(st, err);
    printf("%s\n", json_string_value(json_object_get(json_object_get(out, "silver"), "message")));
    json_t *gold = json_object_get(out, "gold");
    if (json_is_object(gold))
        printf("%s\n", json_string_value(json_object_get(gold, "message")));
    size_t i;
    json_t *note;
    json_array_foreach(json_object_get(out, "notes"), i, note)
        fprintf(stderr, "%s\n", json_string_value(note));
    json_decref(out);
    return CLI_OK;
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
    snprintf(req.cmd, sizeof req.cmd, "compact");
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
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    json_t *out = NULL;
    enum ops_status st = ops_compact(zctx, &cli->cfg, req.domain, req.name, req.from, &out, err);
    if (st != OPS_OK)
        return cli_ops_failed(st, err);
    printf("%s\n", json_string_value(json_object_get(out, "message")));
    json_decref(out);
    return CLI_OK;
}

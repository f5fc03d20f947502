/* expire.c - `lakehouse expire [--dry-run] [DOMAIN[/TABLE]]` and
 * `lakehouse compact [DOMAIN[/TABLE]] [--date YYYY-MM-DD]`: ask the processor
 * (control socket, control.h: "expire", "expire_dry_run", "compact") to
 * expire bronze files and silver history older than the retention horizons,
 * or to compact the small bronze files of closed days (or of one date) into
 * one file each. The processor answers when it is done. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "timeutil.h"

#define CLI_MAINT_TIMEOUT_MS (3600 * 1000)

static const char expire_usage[] = "usage: lakehouse expire [--dry-run] [DOMAIN[/TABLE]]\n";
static const char compact_usage[] =
    "usage: lakehouse compact [DOMAIN[/TABLE]] [--date YYYY-MM-DD]\n";

static int maint_target(const char *target, struct control_request *req)
{
    char err[ERROR_MAX];
    if (strchr(target, '/') != NULL) {
        if (cli_parse_ref(target, "table", req->domain, req->name, err) != 0) {
            cli_error("%s", err);
            return -1;
        }
    } else if (names_check_object("domain", target, err) != 0) {
        cli_error("%s", err);
        return -1;
    } else {
        snprintf(req->domain, sizeof req->domain, "%s", target);
    }
    return 0;
}

static int maint_call(struct cli *cli, const struct control_request *req, const char *what,
                      struct control_reply *reply)
{
    char err[ERROR_MAX];
    if (!cli_endpoint_present(cli->cfg.processor_control_endpoint)) {
        cli_error("the processor is not running (nothing listens on %s)",
                  cli->cfg.processor_control_endpoint + 6);
        return CLI_FAILED;
    }
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    memset(reply, 0, sizeof *reply);
    if (control_call(zctx, cli->cfg.processor_control_endpoint, req, CLI_MAINT_TIMEOUT_MS, reply,
                     err) != 0) {
        cli_error("%s: %s", what, err);
        return CLI_FAILED;
    }
    if (!reply->ok) {
        cli_error("%s", reply->message);
        return CLI_FAILED;
    }
    return CLI_OK;
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
    snprintf(req.cmd, sizeof req.cmd, "expire");
    int opt;
    while ((opt = getopt_long(argc, argv, "nh", options, NULL)) != -1) {
        switch (opt) {
        case 'n': snprintf(req.cmd, sizeof req.cmd, "expire_dry_run"); break;
        case 'h': fputs(expire_usage, stdout); return CLI_OK;
        default: fputs(expire_usage, stderr); return CLI_USAGE;
        }
    }
    if (argc - optind > 1 || (argc - optind == 1 && maint_target(argv[optind], &req) != 0)) {
        fputs(expire_usage, stderr);
        return CLI_USAGE;
    }
    struct control_reply reply;
    int rc = maint_call(cli, &req, "expire", &reply);
    if (rc == CLI_OK)
        printf("%s\n", reply.message);
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
    if (argc - optind > 1 || (argc - optind == 1 && maint_target(argv[optind], &req) != 0)) {
        fputs(compact_usage, stderr);
        return CLI_USAGE;
    }
    struct control_reply reply;
    int rc = maint_call(cli, &req, "compact", &reply);
    if (rc == CLI_OK)
        printf("%s\n", reply.message);
    return rc;
}

/* cli_control.c - asking a worker (processor, transformer) over its control
 * socket (control_protocol.h), for the commands that do (replay, expire, compact,
 * rollback, job run): the scope argument, the "not running" check and the
 * call, with the same messages everywhere. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "read/ops.h"

int cli_control_scope(const char *target, struct control_request *req)
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

int cli_control_call(struct cli *cli, const char *endpoint, const char *who,
                     const struct control_request *req, int timeout_ms, const char *what,
                     struct control_reply *reply)
{
    char err[ERROR_MAX];
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    if (ops_call(zctx, endpoint, who, req, timeout_ms, what, reply, err) != 0) {
        cli_error("%s", err);
        return CLI_FAILED;
    }
    return CLI_OK;
}

int cli_dispatch(struct cli *cli, int argc, char **argv, const char *group, const char *usage,
                 const struct cli_subcommand *table)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *sub = argv[1];
    for (const struct cli_subcommand *c = table; c->name != NULL; c++) {
        if (strcmp(sub, c->name) == 0)
            return c->run(cli, argc - 1, argv + 1);
    }
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    cli_error("unknown %s command '%s'", group, sub);
    fputs(usage, stderr);
    return CLI_USAGE;
}

/* main.c - `lakehouse`, the command-line client: global options, the
 * configuration (the same file and environment as the daemons, so that it
 * finds their sockets and databases), dispatch to one command group, and the
 * helpers the groups share. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "layout.h"
#include "read/ops.h"

/* How long a catalog write waits for the broker to pass on subscriptions
 * before it publishes its hint (a new publisher's first message is dropped
 * until its peer has told it what to send). */
#define CLI_PUBLISH_WAIT_MS 500
#define CLI_PUBLISH_LINGER_MS 1000

void cli_error(const char *fmt, ...)
{
    char msg[2 * ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "lakehouse: %s\n", msg);
}

void *cli_zmq(struct cli *cli)
{
    if (cli->zmq == NULL) {
        cli->zmq = zmq_ctx_new();
        if (cli->zmq == NULL)
            cli_error("zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
    }
    return cli->zmq;
}

int cli_parse_ref(const char *text, const char *kind, char domain[NAMES_MAX],
                  char name[NAMES_MAX], char err[ERROR_MAX])
{
    const char *slash = strchr(text, '/');
    if (slash == NULL || strchr(slash + 1, '/') != NULL)
        return error_set(err, "expected DOMAIN/%s, got '%.100s'", kind, text);
    size_t dlen = (size_t)(slash - text);
    if (dlen >= NAMES_MAX || strlen(slash + 1) >= NAMES_MAX) {
        return error_set(err, "invalid %s '%.100s': names have at most %d characters", kind, text,
                         NAMES_MAX - 1);
    }
    memcpy(domain, text, dlen);
    domain[dlen] = '\0';
    snprintf(name, NAMES_MAX, "%s", slash + 1);
    if (names_check_object("domain", domain, err) != 0 ||
        names_check_object(kind, name, err) != 0)
        return -1;
    return 0;
}

int cli_only_ref(int argc, char **argv, const char *kind, const char *usage,
                 char domain[NAMES_MAX], char name[NAMES_MAX])
{
    if (argc != 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    char err[ERROR_MAX];
    if (cli_parse_ref(argv[1], kind, domain, name, err) != 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_flag_ref(int argc, char **argv, const char *flag, const char *kind, const char *usage,
                 bool *set, char domain[NAMES_MAX], char name[NAMES_MAX])
{
    const struct option options[] = {
        {flag, no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    *set = false;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt != 'f') {
            fputs(usage, stderr);
            return CLI_USAGE;
        }
        *set = true;
    }
    if (argc - optind != 1) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    char err[ERROR_MAX];
    if (cli_parse_ref(argv[optind], kind, domain, name, err) != 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_catalog_open(struct cli *cli, bool write, struct catalog **out, char err[ERROR_MAX])
{
    struct stat st;
    *out = NULL;
    if (write) {
        if (stat(cli->cfg.data_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return error_set(err,
                             "data directory %s does not exist (pass --data DIR or set "
                             "LAKEHOUSE_DATA, or start lakehouse-broker --data DIR once)",
                             cli->cfg.data_dir);
        return catalog_open(cli->cfg.data_dir, false, out, err);
    }
    char path[PATH_MAX];
    if (layout_catalog_db(path, sizeof path, cli->cfg.data_dir, err) < 0)
        return -1;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return 1;
    return catalog_open(cli->cfg.data_dir, true, out, err);
}

bool cli_endpoint_present(const char *endpoint)
{
    return ops_endpoint_present(endpoint);
}

void cli_publish(struct cli *cli, const struct event *ev)
{
    char err[ERROR_MAX];
    if (!cli_endpoint_present(cli->cfg.events_pub_endpoint))
        return; /* no broker: nobody to tell; the workers read the catalog at start */
    if (cli->publisher == NULL) {
        void *ctx = cli_zmq(cli);
        if (ctx == NULL)
            return;
        /* XPUB rather than PUB: it shows when the broker's subscriptions have
         * arrived, so the hint is not dropped as a slow joiner. */
        void *sock = zmq_socket(ctx, ZMQ_XPUB);
        if (sock == NULL)
            return;
        int linger = CLI_PUBLISH_LINGER_MS;
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(sock, cli->cfg.events_pub_endpoint) != 0) {
            zmq_close(sock);
            return;
        }
        zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, CLI_PUBLISH_WAIT_MS) > 0) {
            char buf[256];
            while (zmq_recv(sock, buf, sizeof buf, ZMQ_DONTWAIT) >= 0) {
            }
        }
        cli->publisher = sock;
    }
    if (event_publish(cli->publisher, ev, err) != 0)
        fprintf(stderr, "lakehouse: note: %s (the workers will notice the change on their own)\n",
                err);
}

static void cli_usage(FILE *out)
{
    fprintf(out,
            "usage: lakehouse [--data DIR] [--config FILE] COMMAND [ARGS]\n"
            "\n"
            "Commands:\n"
            "  send DOMAIN/ENDPOINT [FILE...]   send NDJSON, a JSON array or CSV (stdin: - or none)\n"
            "       [--format ndjson|json|csv] [--batch-size N] [--strict] [--no-validate]\n"
            "       [--window N] [--id-prefix P] [--timeout-ms MS]\n"
            "  endpoint create FILE.json         store an endpoint schema (a new version)\n"
            "  endpoint list [--domain D]\n"
            "  endpoint show D/N [--version V] | endpoint versions D/N\n"
            "  endpoint delete D/N [--data]      remove it (--data: its bronze and silver too)\n"
            "  job add FILE.sql|DIR ...          store transform jobs\n"
            "  job list | job show D/N | job delete D/N | job run D/N [--wait]\n"
            "  job executions [D/N]\n"
            "  query \"SQL\" [--json]              read-only SQL: domain.silver.t, domain.gold.t\n"
            "  tables [--json]                   silver and gold tables with row counts\n"
            "  replay [DOMAIN[/TABLE]] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
            "  status [--json] [--lag-seconds S] processes, tables, freshness, backlog, errors\n"
            "  config check FILE [--json]        validate a configuration file (every problem)\n"
            "  config print [--defaults]         effective (or default) configuration as JSON\n"
            "  history D/T [--limit N] [--json]  snapshots of a silver table, newest first\n"
            "                                    (D.gold.T: of a gold table)\n"
            "  changes D/T FROM [TO] [--json]    change feed of snapshots FROM..TO (or D.gold.T)\n"
            "  rollback D/T SNAPSHOT             the silver table as of SNAPSHOT, as a new snapshot\n"
            "  lineage D/T [--snapshot N] [--files N] [--json]  silver snapshots and bronze\n"
            "                                    files under a gold table's snapshot\n"
            "  expire [--dry-run] [DOMAIN[/TABLE]]  remove bronze files and silver history\n"
            "                                    older than the retention horizons\n"
            "  compact [DOMAIN[/TABLE]] [--date YYYY-MM-DD]  small bronze files of a day -> one\n"
            "  model check|plan|apply FILE, model list|show|status|delete|docs NAME\n"
            "                                    concept files compiled into gold jobs\n"
            "  export [DOMAIN[/TABLE]] [--wait]  publish changed silver/gold tables as Iceberg\n"
            "                                    (replay, expire, compact, export: --json prints\n"
            "                                    the answer as the HTTP API gives it)\n"
            "  keygen DIR [--client NAME]        CURVE key pair for a tcp:// ingest_endpoint:\n"
            "                                    DIR/server.key + .pub, or DIR/NAME.key + .pub\n"
            "\n"
            "  --data DIR      data directory (default: $LAKEHOUSE_DATA or ./lakehouse)\n"
            "  --config FILE   the JSON configuration file the daemons use\n"
            "\n"
            "Exit status: 0 success; 1 failed (send: some records refused); 2 usage error\n"
            "(send: an error left records unacknowledged).\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL;
    const char *config_path = NULL;
    int opt;
    /* '+': stop at the command; its own options are parsed by the command. */
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': data_dir = optarg; break;
        case 'c': config_path = optarg; break;
        case 'h': cli_usage(stdout); return CLI_OK;
        default: cli_usage(stderr); return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        cli_usage(stderr);
        return CLI_USAGE;
    }
    const char *command = argv[optind];
    if (strcmp(command, "help") == 0) {
        cli_usage(stdout);
        return CLI_OK;
    }

    static const struct {
        const char *name;
        int (*run)(struct cli *, int, char **);
    } commands[] = {
        {"send", cli_send},     {"endpoint", cli_endpoint}, {"job", cli_job},
        {"query", cli_query},   {"tables", cli_tables},     {"replay", cli_replay},
        {"status", cli_status},   {"history", cli_history},   {"changes", cli_changes},
        {"config", cli_config},
        {"rollback", cli_rollback},
        {"lineage", cli_lineage},
        {"expire", cli_expire},   {"compact", cli_compact},
        {"export", cli_export},
        {"keygen", cli_keygen},
        {"model", cli_model},
    };
    int (*run)(struct cli *, int, char **) = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(command, commands[i].name) == 0)
            run = commands[i].run;
    }
    if (run == NULL) {
        cli_error("unknown command '%s' (see lakehouse --help)", command);
        return CLI_USAGE;
    }

    struct cli *cli = calloc(1, sizeof *cli);
    if (cli == NULL) {
        cli_error("out of memory");
        return CLI_FAILED;
    }
    char err[ERROR_MAX];
    if (config_load(&cli->cfg, config_path, data_dir, err) != 0) {
        cli_error("%s", err);
        free(cli);
        return CLI_USAGE;
    }
    /* The installed token file is readable by root and the lakehouse group
     * only: other users run without it (what needs it then says 401). */
    (void)config_read_token_file(&cli->cfg, err);
    /* Sub-command option parsing starts afresh (optind = 0 re-initialises
     * getopt, dropping the '+' mode), so its options may follow arguments. */
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0;
    int status = run(cli, sub_argc, sub_argv);

    if (cli->publisher != NULL)
        zmq_close(cli->publisher);
    if (cli->zmq != NULL)
        zmq_ctx_term(cli->zmq);
    free(cli);
    return status;
}

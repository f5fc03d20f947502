/* config.c - `lakehouse config`: check a configuration file, print the
 * effective configuration or the defaults.
 *
 *   lakehouse config check FILE [--json] every problem of FILE, one line each,
 *                                        naming the key and the value; exit 1
 *                                        when there is any (--json: the answer
 *                                        of ops_config_check, as the HTTP API's
 *                                        POST /config/check)
 *   lakehouse config print [--defaults [--token-file PATH]]
 *                                        the effective configuration (file,
 *                                        environment, --data) as JSON; with
 *                                        --defaults the built-in defaults with
 *                                        --data's directory and http_token_file
 *                                        PATH (what `make install` writes to
 *                                        /etc/lakehouse/lakehouse.json) */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const config_usage =
    "usage: lakehouse config check FILE [--json]\n"
    "       lakehouse config print [--defaults [--token-file PATH]]\n"
    "Settings a running process reloads on SIGHUP: " CONFIG_RELOADABLE
    "; others need a restart.\n";

struct config_problems {
    const char *path;
    int count;
};

static void config_report(const char *problem, void *arg)
{
    struct config_problems *p = arg;
    p->count++;
    /* messages from the file parser already name it */
    if (strncmp(problem, "config ", 7) == 0)
        fprintf(stderr, "%s\n", problem);
    else
        fprintf(stderr, "config %s: %s\n", p->path, problem);
}

static int config_check_json(const char *path)
{
    json_t *out = NULL;
    char err[ERROR_MAX];
    int rc = ops_config_check(path, &out, err);
    if (rc == 0)
        cli_print_json(out);
    bool ok = json_is_true(json_object_get(out, "ok"));
    json_decref(out);
    return rc == 0 && !ok ? CLI_FAILED : cli_outcome(rc, err);
}

int cli_config(struct cli *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fprintf(argc < 2 ? stderr : stdout, "%s", config_usage);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "check") == 0) {
        bool json = argc == 4 && strcmp(argv[3], "--json") == 0;
        if (argc != 3 && !json) {
            fprintf(stderr, "%s", config_usage);
            return CLI_USAGE;
        }
        if (json)
            return config_check_json(argv[2]);
        struct config_problems problems = {argv[2], 0};
        config_check_file(argv[2], config_report, &problems);
        if (problems.count > 0) {
            fprintf(stderr, "config %s: %d problem%s\n", argv[2], problems.count,
                    problems.count == 1 ? "" : "s");
            return CLI_FAILED;
        }
        printf("config %s: ok\n", argv[2]);
        return CLI_OK;
    }
    if (strcmp(argv[1], "print") == 0) {
        static const struct option options[] = {
            {"defaults", no_argument, NULL, 'd'},
            {"token-file", required_argument, NULL, 't'},
            {NULL, 0, NULL, 0},
        };
        bool defaults = false;
        const char *token_file = "";
        int opt;
        optind = 0;
        while ((opt = getopt_long(argc - 1, argv + 1, "", options, NULL)) != -1) {
            if (opt == 'd') {
                defaults = true;
            } else if (opt == 't') {
                token_file = optarg;
            } else {
                fprintf(stderr, "%s", config_usage);
                return CLI_USAGE;
            }
        }
        if (token_file[0] != '\0' && !defaults) {
            cli_error("--token-file goes with --defaults");
            return CLI_USAGE;
        }
        if (optind < argc - 1) {
            cli_error("unexpected argument '%s'", argv[optind + 1]);
            return CLI_USAGE;
        }
        if (defaults)
            config_print_defaults(cli->cfg.data_dir, token_file, stdout);
        else
            config_print(&cli->cfg, stdout);
        return CLI_OK;
    }
    cli_error("unknown config command '%s' (check, print)", argv[1]);
    return CLI_USAGE;
}

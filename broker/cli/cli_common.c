/* cli_common.c - the small pieces every command of broker/cli/ repeats
 * (cli.h): the help/usage end of an option switch, a date argument, the
 * optional DOMAIN[/TABLE] operand of the worker commands, a counted list,
 * the messages of an ops.h answer, the outcome of a call and the outline
 * of a command described by a cli_spec (options, operands, --json). One place each, so that the commands say the same thing
 * the same way. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "timeutil.h"

int cli_option_rest(int opt, const char *usage)
{
    if (opt == 'h') {
        fputs(usage, stdout);
        return CLI_OK;
    }
    fputs(usage, stderr);
    return CLI_USAGE;
}

int cli_date_arg(const char *flag, const char *text, char out[16])
{
    char err[ERROR_MAX];
    char norm[16];
    if (strlen(text) != 10 || timeutil_normalize_date(text, NULL, norm, err) != 0 ||
        strcmp(norm, text) != 0) {
        cli_error("%s: expected a date YYYY-MM-DD, got '%s'", flag, text);
        return -1;
    }
    snprintf(out, 16, "%s", text);
    return 0;
}

void cli_print_counted(const char *const *columns, size_t ncolumns, const json_t *rows,
                       const char *noun, const char *note)
{
    cli_print_objects(stdout, columns, ncolumns, rows);
    size_t n = json_array_size(rows);
    printf("(%zu %s%s%s)\n", n, noun, n == 1 ? "" : "s", note);
}

int cli_outcome(int rc, const char *err)
{
    if (rc >= 0)
        return CLI_OK;
    cli_error("%s", err);
    return CLI_FAILED;
}

void cli_print_layers(const json_t *out)
{
    static const char *const layers[] = {"silver", "gold"};
    for (size_t i = 0; i < 2; i++) {
        json_t *layer = json_object_get(out, layers[i]);
        if (json_is_object(layer))
            printf("%s\n", json_string_value(json_object_get(layer, "message")));
    }
    size_t i;
    json_t *note;
    json_array_foreach(json_object_get(out, "notes"), i, note)
        fprintf(stderr, "%s\n", json_string_value(note));
}

int cli_spec_run(struct cli *cli, int argc, char **argv, const struct cli_spec *spec, void *state)
{
    bool json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, spec->shortopts, spec->options, NULL)) != -1) {
        if (opt == 'j') {
            json = true;
        } else if (opt == 'h' || opt == '?' || spec->option == NULL) {
            return cli_option_rest(opt, spec->usage);
        } else {
            int rc = spec->option(opt, optarg, state);
            if (rc != CLI_OK)
                return rc == CLI_HELP ? cli_option_rest(opt, spec->usage) : rc;
        }
    }
    int count = argc - optind;
    if (count < spec->min_operands || count > spec->max_operands) {
        fputs(spec->usage, stderr);
        return CLI_USAGE;
    }
    json_t *out = NULL;
    int status = spec->run(cli, argv + optind, count, state, &out);
    if (status == CLI_OK && out != NULL) {
        if (json || spec->print == NULL)
            cli_print_json(out);
        else
            spec->print(out, state);
    }
    json_decref(out);
    return status;
}

int cli_spec_scope(char **operands, int count, const char *usage, struct control_request *req)
{
    if (count == 1 && cli_control_scope(operands[0], req) != 0) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_catalog_lookup(struct cli *cli, cli_catalog_get_fn get, void *arg, const char *fmt, ...)
{
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    int rc = cli_catalog_open(cli, false, &catalog, err);
    if (rc == 0)
        rc = get(catalog, arg, err);
    else if (rc == 1)
        rc = 0; /* no catalog yet: nothing is in it */
    catalog_close(&catalog);
    if (rc < 0) {
        cli_error("%s", err);
    } else if (rc == 0) {
        char unknown[ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(unknown, sizeof unknown, fmt, ap);
        va_end(ap);
        cli_error("%s", unknown);
    }
    return rc;
}

json_t *cli_catalog_list(struct cli *cli, cli_catalog_list_fn get, void *arg)
{
    char err[ERROR_MAX];
    struct catalog *catalog = NULL;
    json_t *list = NULL;
    int rc = cli_catalog_open(cli, false, &catalog, err);
    if (rc == 0)
        rc = get(catalog, arg, &list, err);
    catalog_close(&catalog);
    if (rc < 0) {
        cli_error("%s", err);
        json_decref(list);
        return NULL;
    }
    return list != NULL ? list : json_array(); /* no catalog yet: nothing */
}

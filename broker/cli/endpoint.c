/* endpoint.c - `lakehouse endpoint create FILE.json | list [--domain D] |
 * show D/N [--version V] | versions D/N | delete D/N [--data]`: the schema
 * registry in the
 * catalog (delete --data also has the processor delete the data).
 * create stores a new version (the catalog checks that the change is a safe
 * evolution) and publishes schema.changed as a hint. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "endpoint_drop.h"
#include "fsutil.h"
#include "schema.h"
#include "strbuf.h"

#define CLI_SCHEMA_FILE_MAX (4 * 1024 * 1024)

static const char endpoint_usage[] =
    "usage: lakehouse endpoint create FILE.json\n"
    "       lakehouse endpoint list [--domain D]\n"
    "       lakehouse endpoint show DOMAIN/NAME [--version V]\n"
    "       lakehouse endpoint versions DOMAIN/NAME\n"
    "       lakehouse endpoint delete DOMAIN/NAME [--data]\n";

static int endpoint_create(struct cli *cli, int argc, char **argv)
{
    if (argc != 2) {
        fputs(endpoint_usage, stderr);
        return CLI_USAGE;
    }
    const char *path = argv[1];
    char err[ERROR_MAX];
    char *text = NULL;
    size_t len = 0;
    if (fsutil_read_file(path, CLI_SCHEMA_FILE_MAX, &text, &len, err) != 0) {
        cli_error("%s", err);
        return CLI_FAILED;
    }
    json_error_t jerr;
    json_t *definition = json_loadb(text, len, 0, &jerr);
    free(text);
    if (definition == NULL) {
        cli_error("%s line %d: invalid JSON: %s", path, jerr.line, jerr.text);
        return CLI_FAILED;
    }
    struct schema *schema = schema_from_json(definition, err);
    json_decref(definition);
    if (schema == NULL) {
        cli_error("%s: %s", path, err);
        return CLI_FAILED;
    }
    struct catalog *catalog = NULL;
    int version = 0;
    int status = CLI_FAILED;
    if (cli_catalog_open(cli, true, &catalog, err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    int before = 0;
    if (catalog_endpoint_version(catalog, schema->domain, schema->name, &before, err) < 0) {
        cli_error("endpoint %s/%s: %s", schema->domain, schema->name, err);
        goto done;
    }
    if (catalog_put_endpoint(catalog, schema, &version, err) != 0) {
        cli_error("%s", err);
        goto done;
    }
    if (version == before) {
        printf("endpoint %s/%s unchanged (version %d, %s)\n", schema->domain, schema->name,
               version, schema_mode_name(schema->mode));
        status = CLI_OK;
        goto done;
    }
    printf("endpoint %s/%s %s (version %d, %s)\n", schema->domain, schema->name,
           before == 0 ? "created" : "updated", version, schema_mode_name(schema->mode));
    struct event ev = {.topic = EVENT_SCHEMA_CHANGED, .count = version};
    snprintf(ev.domain, sizeof ev.domain, "%s", schema->domain);
    snprintf(ev.name, sizeof ev.name, "%s", schema->name);
    cli_publish(cli, &ev);
    status = CLI_OK;
done:
    catalog_close(&catalog);
    schema_destroy(&schema);
    return status;
}

/* arg: the domain, or NULL for all */
static int endpoint_list_get(struct catalog *catalog, void *arg, json_t **list,
                             char err[ERROR_MAX])
{
    return catalog_list_endpoints(catalog, arg, list, err);
}

static int endpoint_list(struct cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"domain", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    const char *domain = NULL;
    char err[ERROR_MAX];
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt != 'd') {
            fputs(endpoint_usage, stderr);
            return CLI_USAGE;
        }
        domain = optarg;
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        return CLI_USAGE;
    }
    if (domain != NULL && names_check_object("domain", domain, err) != 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    json_t *list = cli_catalog_list(cli, endpoint_list_get, (void *)domain);
    if (list == NULL)
        return CLI_FAILED;
    static const char *const columns[] = {"domain", "name", "version", "mode", "updated_at"};
    cli_print_counted(columns, 5, list, "endpoint", "");
    json_decref(list);
    return CLI_OK;
}

struct endpoint_get {
    const char *domain, *name;
    int version;             /* 0 = the latest */
    struct schema *schema;   /* endpoint_get's answer */
    json_t *versions;        /* endpoint_get_versions' answer */
};

static int endpoint_get(struct catalog *catalog, void *arg, char err[ERROR_MAX])
{
    struct endpoint_get *g = arg;
    return catalog_get_endpoint(catalog, g->domain, g->name, g->version, &g->schema, err);
}

/* 1 when the endpoint has versions. */
static int endpoint_get_versions(struct catalog *catalog, void *arg, char err[ERROR_MAX])
{
    struct endpoint_get *g = arg;
    if (catalog_endpoint_versions(catalog, g->domain, g->name, &g->versions, err) != 0)
        return -1;
    return json_array_size(g->versions) > 0;
}

static int endpoint_show(struct cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"version", required_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    int version = 0;
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt != 'v') {
            fputs(endpoint_usage, stderr);
            return CLI_USAGE;
        }
        char *end = NULL;
        long v = strtol(optarg, &end, 10);
        if (end == optarg || *end != '\0' || v < 1 || v > 1000000000) {
            cli_error("--version: expected a version number (1, 2, ...), got '%s'", optarg);
            return CLI_USAGE;
        }
        version = (int)v;
    }
    if (argc - optind != 1) {
        fputs(endpoint_usage, stderr);
        return CLI_USAGE;
    }
    char domain[NAMES_MAX];
    char name[NAMES_MAX];
    char err[ERROR_MAX];
    if (cli_parse_ref(argv[optind], "endpoint", domain, name, err) != 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    struct endpoint_get g = {domain, name, version, NULL, NULL};
    int rc = version > 0 ? cli_catalog_lookup(cli, endpoint_get, &g,
                                              "unknown endpoint %s/%s version %d", domain, name,
                                              version)
                         : cli_catalog_lookup(cli, endpoint_get, &g, "unknown endpoint %s/%s",
                                              domain, name);
    if (rc != 1)
        return CLI_FAILED;
    struct schema *schema = g.schema;
    json_t *json = schema_to_json(schema);
    schema_destroy(&schema);
    char *text = json != NULL ? json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(json);
    if (text == NULL) {
        cli_error("out of memory");
        return CLI_FAILED;
    }
    printf("%s\n", text);
    free(text);
    return CLI_OK;
}

/* delete D/N [--data]: the catalog entry (every version); with --data also
 * its bronze, silver and rejected data, by the processor (endpoint_drop.h).
 * Without --data an unknown endpoint is an error; with --data it is not when
 * data is left (an earlier delete whose data part failed). */
static int endpoint_delete(struct cli *cli, int argc, char **argv)
{
    bool data;
    char domain[NAMES_MAX], name[NAMES_MAX], err[ERROR_MAX];
    if (cli_flag_ref(argc, argv, "data", "endpoint", endpoint_usage, &data, domain, name) != CLI_OK)
        return CLI_USAGE;
    if (data && !cli_endpoint_present(cli->cfg.processor_control_endpoint)) {
        cli_error("the processor is not running (nothing listens on %s): it deletes the data; "
                  "nothing was deleted",
                  cli->cfg.processor_control_endpoint);
        return CLI_FAILED;
    }
    struct catalog *catalog = NULL;
    if (cli_catalog_open(cli, true, &catalog, err) != 0) {
        cli_error("%s", err);
        return CLI_FAILED;
    }
    int rc = catalog_delete_endpoint(catalog, domain, name, err);
    catalog_close(&catalog);
    if (rc < 0) {
        cli_error("%s", err);
        return CLI_FAILED;
    }
    if (rc > 0) {
        struct event ev = {.topic = EVENT_SCHEMA_CHANGED, .count = 0};
        snprintf(ev.domain, sizeof ev.domain, "%s", domain);
        snprintf(ev.name, sizeof ev.name, "%s", name);
        cli_publish(cli, &ev);
        printf("endpoint %s/%s deleted%s\n", domain, name,
               data ? "" : " (its data is kept; --data deletes it too)");
    }
    if (!data) {
        if (rc == 0) {
            cli_error("unknown endpoint %s/%s", domain, name);
            return CLI_FAILED;
        }
        return CLI_OK;
    }
    void *zctx = cli_zmq(cli);
    if (zctx == NULL)
        return CLI_FAILED;
    struct control_reply reply;
    if (endpoint_drop_data(zctx, &cli->cfg, domain, name, rc > 0, &reply, err) != 0) {
        cli_error("%s; the data of %s/%s is kept: run the command again", err, domain, name);
        return CLI_FAILED;
    }
    if (!reply.ok && endpoint_drop_nothing(&reply)) {
        if (rc > 0)
            return CLI_OK; /* an endpoint that never had data */
        cli_error("unknown endpoint %s/%s (and no data)", domain, name);
        return CLI_FAILED;
    }
    if (!reply.ok) {
        cli_error("deleting the data of %s/%s failed: %s (run the command again)", domain, name,
                  reply.message);
        return CLI_FAILED;
    }
    printf("data of %s/%s deleted: %lld bronze file%s, %lld silver row%s\n", domain, name,
           (long long)reply.count, reply.count == 1 ? "" : "s", (long long)reply.id,
           reply.id == 1 ? "" : "s");
    return CLI_OK;
}

/* One line per schema version: its mode and its columns as "name type". */
static int endpoint_versions(struct cli *cli, int argc, char **argv)
{
    char domain[NAMES_MAX];
    char name[NAMES_MAX];
    if (cli_only_ref(argc, argv, "endpoint", endpoint_usage, domain, name) != CLI_OK)
        return CLI_USAGE;
    struct endpoint_get g = {domain, name, 0, NULL, NULL};
    if (cli_catalog_lookup(cli, endpoint_get_versions, &g, "unknown endpoint %s/%s", domain,
                           name) != 1) {
        json_decref(g.versions);
        return CLI_FAILED;
    }
    json_t *versions = g.versions;
    json_t *rows = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v) {
        struct strbuf columns = {0};
        size_t j;
        json_t *c;
        json_array_foreach(json_object_get(v, "columns"), j, c) {
            strbuf_addf(&columns, "%s%s %s%s", j > 0 ? ", " : "",
                        json_string_value(json_object_get(c, "name")),
                        json_string_value(json_object_get(c, "type")),
                        json_is_true(json_object_get(c, "primary_key")) ? " key" : "");
        }
        json_array_append_new(rows, json_pack("{s:O, s:O, s:s}", "version",
                                              json_object_get(v, "version"), "mode",
                                              json_object_get(v, "mode"), "columns",
                                              columns.s != NULL && !columns.failed ? columns.s : ""));
        strbuf_free(&columns);
    }
    static const char *const columns[] = {"version", "mode", "columns"};
    cli_print_objects(stdout, columns, 3, rows);
    json_decref(rows);
    json_decref(versions);
    return CLI_OK;
}

int cli_endpoint(struct cli *cli, int argc, char **argv)
{
    static const struct cli_subcommand commands[] = {
        {"create", endpoint_create}, {"list", endpoint_list}, {"show", endpoint_show},
        {"versions", endpoint_versions}, {"delete", endpoint_delete}, {NULL, NULL},
    };
    return cli_dispatch(cli, argc, argv, "endpoint", endpoint_usage, commands);
}

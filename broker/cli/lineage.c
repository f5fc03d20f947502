/* lineage.c - `lakehouse lineage DOMAIN/GOLD_TABLE [--snapshot N] [--files N] [--json]`:
 * what a gold snapshot stands on (lineage_tree.h), as a tree or as JSON. Files are listed up to --files
 * per input (default 20, 0 = all); the counts always cover all of them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "read/lineage_tree.h"

static void lineage_print(const json_t *node, int indent)
{
    size_t i;
    json_t *in;
    json_array_foreach(json_object_get(node, "inputs"), i, in) {
        const char *t = json_string_value(json_object_get(in, "table"));
        const char *op = json_string_value(json_object_get(in, "operation"));
        const char *at = json_string_value(json_object_get(in, "committed_at"));
        printf("%*s%s snapshot %" JSON_INTEGER_FORMAT, indent, "", t ? t : "?",
               json_integer_value(json_object_get(in, "snapshot_id")));
        if (op != NULL)
            printf(" (%s at %s)", op, at ? at : "?");
        json_t *count = json_object_get(in, "bronze_file_count");
        if (count != NULL)
            printf(": %" JSON_INTEGER_FORMAT " bronze files, %" JSON_INTEGER_FORMAT " records",
                   json_integer_value(count),
                   json_integer_value(json_object_get(in, "bronze_records")));
        printf("\n");
        if (json_object_get(in, "changes_from") != NULL) {
            printf("%*s  read as changes from snapshot %" JSON_INTEGER_FORMAT ": %"
                   JSON_INTEGER_FORMAT " change rows",
                   indent, "", json_integer_value(json_object_get(in, "changes_from")),
                   json_integer_value(json_object_get(in, "change_rows")));
            if (json_object_get(in, "changed_bronze_files") != NULL)
                printf(", %" JSON_INTEGER_FORMAT " new bronze files",
                       json_integer_value(json_object_get(in, "changed_bronze_files")));
            printf("\n");
        }
        size_t j;
        json_t *f;
        json_array_foreach(json_object_get(in, "bronze_files"), j, f) {
            printf("%*s  %s (snapshot %" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
                   " records)\n",
                   indent, "", json_string_value(json_object_get(f, "file")),
                   json_integer_value(json_object_get(f, "snapshot_id")),
                   json_integer_value(json_object_get(f, "records")));
        }
        if (count != NULL &&
            json_integer_value(count) > (json_int_t)json_array_size(json_object_get(in, "bronze_files")))
            printf("%*s  ... and %" JSON_INTEGER_FORMAT " more (--files 0 lists all)\n", indent,
                   "",
                   json_integer_value(count) -
                       (json_int_t)json_array_size(json_object_get(in, "bronze_files")));
        lineage_print(in, indent + 2);
    }
}

struct lineage_args {
    int64_t files_max;
    int64_t snapshot;
};

static int lineage_option(int opt, const char *arg, void *state)
{
    struct lineage_args *a = state;
    char *end = NULL;
    long long v = strtoll(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || (opt == 's' && v <= 0)) {
        cli_error("--%s expects a %s number, got '%s'", opt == 's' ? "snapshot" : "files",
                  opt == 's' ? "positive" : "non-negative", arg);
        return CLI_USAGE;
    }
    if (opt == 's')
        a->snapshot = v;
    else
        a->files_max = v;
    return CLI_OK;
}

static int lineage_run(struct cli *cli, char **operands, int count, void *state, json_t **out)
{
    (void)count;
    struct lineage_args *a = state;
    char domain[NAMES_MAX], table[NAMES_MAX], err[ERROR_MAX];
    if (cli_parse_ref(operands[0], "table", domain, table, err) != 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    if (lineage_tree_gold(cli->cfg.data_dir, domain, table, a->snapshot, a->files_max, out,
                          err) != 0) {
        cli_error("lineage of %s/%s: %s", domain, table, err);
        return CLI_FAILED;
    }
    return CLI_OK;
}

static void lineage_print_tree(const json_t *tree, void *state)
{
    (void)state;
    printf("%s snapshot %" JSON_INTEGER_FORMAT " (%s at %s by %s: %" JSON_INTEGER_FORMAT
           " inserted, %" JSON_INTEGER_FORMAT " updated, %" JSON_INTEGER_FORMAT " deleted)\n",
           json_string_value(json_object_get(tree, "table")),
           json_integer_value(json_object_get(tree, "snapshot_id")),
           json_string_value(json_object_get(tree, "operation")),
           json_string_value(json_object_get(tree, "committed_at")),
           json_string_value(json_object_get(tree, "source")),
           json_integer_value(json_object_get(tree, "rows_inserted")),
           json_integer_value(json_object_get(tree, "rows_updated")),
           json_integer_value(json_object_get(tree, "rows_deleted")));
    if (json_array_size(json_object_get(tree, "inputs")) == 0)
        printf("  (no lineage recorded for this snapshot)\n");
    lineage_print(tree, 2);
}

int cli_lineage(struct cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"snapshot", required_argument, NULL, 's'},
        {"files", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct cli_spec spec = {
        .usage = "usage: lakehouse lineage DOMAIN/GOLD_TABLE [--snapshot N] [--files N] "
                 "[--json]\n",
        .shortopts = "h", .options = options, .min_operands = 1, .max_operands = 1,
        .option = lineage_option, .run = lineage_run, .print = lineage_print_tree,
    };
    struct lineage_args args = {.files_max = LINEAGE_TREE_FILES_DEFAULT};
    return cli_spec_run(cli, argc, argv, &spec, &args);
}

/* query.c - `lakehouse query "SQL" [--json]` and `lakehouse tables [--json]`,
 * plus the aligned-table printer every command uses.
 *
 * Table cells: NULL for null, numbers right-aligned, text with newlines and
 * tabs shown as \n and \t, JSON values compact; a cell is cut at
 * CLI_CELL_MAX characters ("..." marks the cut). Widths count UTF-8
 * characters, not bytes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read/bronze_vtab.h"
#include "cli.h"
#include "read/query.h"

#define CLI_CELL_MAX 60

static const char *cli_null_text = "NULL";

void cli_set_null_text(const char *text)
{
    cli_null_text = text;
}

void cli_print_json(const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        cli_error("cannot encode the result as JSON");
        return;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text);
}

/* Characters (UTF-8 code points) in s. */
static size_t cli_width(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    }
    return n;
}

/* Display text of one value (malloc'd). */
static char *cli_cell(const json_t *v, bool *numeric)
{
    *numeric = false;
    char buf[64];
    const char *text = NULL;
    char *owned = NULL;
    if (v == NULL || json_is_null(v)) {
        text = cli_null_text;
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        text = buf;
        *numeric = true;
    } else if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        if (strpbrk(buf, ".eEn") == NULL)
            strcat(buf, ".0");
        text = buf;
        *numeric = true;
    } else if (json_is_true(v)) {
        text = "true";
    } else if (json_is_false(v)) {
        text = "false";
    } else if (json_is_string(v)) {
        text = json_string_value(v);
    } else {
        owned = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        text = owned != NULL ? owned : "?";
    }
    /* Escape control characters, then cut long values. */
    size_t len = strlen(text);
    char *out = malloc(len * 2 + 8);
    if (out == NULL) {
        free(owned);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n' || c == '\t' || c == '\r') {
            out[n++] = '\\';
            out[n++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        } else if (c < 0x20 || c == 0x7f) {
            out[n++] = '?';
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    if (cli_width(out) > CLI_CELL_MAX) {
        size_t chars = 0;
        size_t i = 0;
        for (; out[i] != '\0'; i++) {
            if (((unsigned char)out[i] & 0xc0) != 0x80 && chars++ == CLI_CELL_MAX - 3)
                break;
        }
        memcpy(out + i, "...", 4);
    }
    free(owned);
    return out;
}

static void cli_pad(FILE *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', out);
}

void cli_print_objects(FILE *out, const char *const *columns, size_t ncol, const json_t *rows)
{
    size_t nrow = json_array_size(rows);
    size_t *width = calloc(ncol ? ncol : 1, sizeof *width);
    bool *numeric = calloc(ncol ? ncol : 1, sizeof *numeric);
    char **cells = calloc(nrow * ncol + 1, sizeof *cells);
    if (width == NULL || numeric == NULL || cells == NULL) {
        cli_error("out of memory");
        goto done;
    }
    for (size_t c = 0; c < ncol; c++)
        width[c] = cli_width(columns[c]);
    for (size_t r = 0; r < nrow; r++) {
        const json_t *row = json_array_get(rows, r);
        for (size_t c = 0; c < ncol; c++) {
            bool num = false;
            char *cell = cli_cell(json_object_get(row, columns[c]), &num);
            cells[r * ncol + c] = cell;
            if (cell == NULL)
                continue;
            if (num)
                numeric[c] = true;
            size_t w = cli_width(cell);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t c = 0; c < ncol; c++) {
        size_t w = cli_width(columns[c]);
        bool last = c + 1 == ncol;
        if (numeric[c]) {
            cli_pad(out, width[c] - w);
            fputs(columns[c], out);
        } else {
            fputs(columns[c], out);
            if (!last)
                cli_pad(out, width[c] - w);
        }
        fputs(last ? "\n" : "  ", out);
    }
    for (size_t c = 0; c < ncol; c++) {
        for (size_t i = 0; i < width[c]; i++)
            fputc('-', out);
        fputs(c + 1 == ncol ? "\n" : "  ", out);
    }
    for (size_t r = 0; r < nrow; r++) {
        /* no trailing blanks: stop after the last non-empty cell */
        size_t end = 0;
        for (size_t c = 0; c < ncol; c++) {
            const char *cell = cells[r * ncol + c];
            if (cell == NULL || cell[0] != '\0' || numeric[c])
                end = c + 1;
        }
        for (size_t c = 0; c < end; c++) {
            const char *cell = cells[r * ncol + c] != NULL ? cells[r * ncol + c] : "?";
            size_t w = cli_width(cell);
            bool last = c + 1 == end;
            /* numbers right-aligned; NULL in a numeric column too */
            const json_t *v = json_object_get(json_array_get(rows, r), columns[c]);
            if (numeric[c] && (json_is_number(v) || json_is_null(v) || v == NULL)) {
                cli_pad(out, width[c] - w);
                fputs(cell, out);
            } else {
                fputs(cell, out);
                if (!last)
                    cli_pad(out, width[c] - w);
            }
            if (!last)
                fputs("  ", out);
        }
        fputc('\n', out);
    }
done:
    if (cells != NULL) {
        for (size_t i = 0; i < nrow * ncol; i++)
            free(cells[i]);
    }
    free(cells);
    free(numeric);
    free(width);
}

void cli_print_table(FILE *out, const json_t *columns, const json_t *data)
{
    size_t ncol = json_array_size(columns);
    const char **names = calloc(ncol ? ncol : 1, sizeof *names);
    if (names == NULL) {
        cli_error("out of memory");
        return;
    }
    for (size_t i = 0; i < ncol; i++) {
        const char *s = json_string_value(json_array_get(columns, i));
        names[i] = s != NULL ? s : "?";
    }
    cli_print_objects(out, names, ncol, data);
    free(names);
}

/* Parse "[--json]" plus positional arguments into args (at most max). */
static int cli_parse_json_flag(int argc, char **argv, bool *json, const char **args, int max,
                               int *nargs, const char *usage)
{
    static const struct option options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    *json = false;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'j': *json = true; break;
        case 'h': printf("usage: %s\n", usage); return 1;
        default: fprintf(stderr, "usage: %s\n", usage); return -1;
        }
    }
    *nargs = argc - optind;
    if (*nargs > max) {
        cli_error("unexpected argument '%s'", argv[optind + max]);
        fprintf(stderr, "usage: %s\n", usage);
        return -1;
    }
    for (int i = 0; i < *nargs; i++)
        args[i] = argv[optind + i];
    return 0;
}

int cli_query(struct cli *cli, int argc, char **argv)
{
    static const char usage[] = "lakehouse query \"SQL\" [--json]   (use -- before SQL that "
                                "starts with '-')";
    bool json = false;
    const char *args[1];
    int nargs = 0;
    int rc = cli_parse_json_flag(argc, argv, &json, args, 1, &nargs, usage);
    if (rc != 0)
        return rc > 0 ? CLI_OK : CLI_USAGE;
    if (nargs != 1) {
        fprintf(stderr, "usage: %s\n", usage);
        return CLI_USAGE;
    }
    struct query_limits limits = {.timeout_ms = cli->cfg.query_timeout_ms,
                                  .max_rows = cli->cfg.query_max_rows,
                                  .max_memory_mib = cli->cfg.query_max_memory_mib};
    json_t *result = NULL;
    char err[ERROR_MAX];
    query_memory_limit(1, cli->cfg.query_max_memory_mib);
    if (query_run(cli->cfg.data_dir, args[0], &limits, &result, err) != 0) {
        cli_error("query failed: %s", err);
        return CLI_FAILED;
    }
    if (json) {
        cli_print_json(result);
    } else {
        json_int_t rows = json_integer_value(json_object_get(result, "row_count"));
        cli_print_table(stdout, json_object_get(result, "columns"), json_object_get(result, "data"));
        printf("(%lld row%s)\n", (long long)rows, rows == 1 ? "" : "s");
        if (json_is_true(json_object_get(result, "truncated")))
            fprintf(stderr,
                    "lakehouse: note: result truncated after %lld rows (query_max_rows is %lld)\n",
                    (long long)rows, (long long)cli->cfg.query_max_rows);
    }
    json_decref(result);
    return CLI_OK;
}

int cli_tables(struct cli *cli, int argc, char **argv)
{
    static const char usage[] = "lakehouse tables [--json]";
    bool json = false;
    const char *args[1];
    int nargs = 0;
    int rc = cli_parse_json_flag(argc, argv, &json, args, 0, &nargs, usage);
    if (rc != 0)
        return rc > 0 ? CLI_OK : CLI_USAGE;
    json_t *tables = NULL;
    char err[ERROR_MAX];
    if (query_list_tables(cli->cfg.data_dir, &tables, err) != 0 ||
        bronze_vtab_add_tables(cli->cfg.data_dir, tables, err) != 0) {
        cli_error("%s", err);
        json_decref(tables);
        return CLI_FAILED;
    }
    if (json) {
        cli_print_json(tables);
    } else {
        static const char *const columns[] = {"domain", "layer", "table", "rows", "last_commit"};
        cli_print_counted(columns, 5, tables, "table", "");
    }
    json_decref(tables);
    return CLI_OK;
}

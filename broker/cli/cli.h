/* cli.h - the `lakehouse` command: one file per command group
 *   send.c      send          (the reference producer of protocol.h)
 *   endpoint.c  endpoint      create / list / show / delete
 *   job.c       job           add / list / show / run / executions
 *   query.c     query, tables (and the aligned table printer all commands use)
 *   status.c    status
 *   config.c    config check / print
 *   cli_history.c  history, changes, rollback (silver row history)
 *   cli_maintenance.c  expire, compact, export, replay (one worker operation each)
 *   lineage.c   lineage (what a gold snapshot stands on)
 *   model.c     model         check / plan / apply / list / show / status / delete / docs
 *   cli_control.c the control-socket call the worker commands share (below)
 *   cli_common.c  option, argument, catalog and list helpers every command uses
 *   progress.c  the progress line of send and replay (below)
 *   main.c      global options, config, dispatch, shared helpers below.
 * Exit status of every command: 0 success, 1 the command failed (or, for
 * send, some records were refused), 2 usage error or, for send, an error
 * that left records unacknowledged. Private to broker/cli/. */
#ifndef LAKEHOUSE_CLI_H
#define LAKEHOUSE_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "catalog.h"
#include "config.h"
#include "control_protocol.h"
#include "error.h"
#include "event.h"
#include "names.h"
#include "read/ops.h"

#define CLI_OK 0
#define CLI_FAILED 1
#define CLI_USAGE 2

struct cli {
    struct config cfg;
    void *zmq;       /* created on first use (cli_zmq) */
    void *publisher; /* created on first cli_publish */
};

/* Progress on a terminal (progress.c): NULL, and every call a no-op, when
 * stdout is not a terminal. paths (count of them, "-" = stdin) give the
 * input size for the percentage. update redraws at most 4 times a second:
 * records so far, and the position (offset in paths[file]); offset -1 =
 * unknown. tick_start redraws the elapsed time from a thread instead (for
 * a command that waits in one call). end erases the line. */
struct cli_progress;
struct cli_progress *cli_progress_start(const char *what, char *const *paths, size_t count);
void cli_progress_update(struct cli_progress *p, uint64_t records, size_t file, int64_t offset);
void cli_progress_tick_start(struct cli_progress *p);
void cli_progress_end(struct cli_progress **p);

/* "lakehouse: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The ZeroMQ context, created on first use (NULL after printing an error). */
void *cli_zmq(struct cli *cli);
/* Split "DOMAIN/NAME" and check both names (kind is "endpoint", "job", "table"). */
int cli_parse_ref(const char *text, const char *kind, char domain[NAMES_MAX],
                  char name[NAMES_MAX], char err[ERROR_MAX]);
/* For "COMMAND DOMAIN/NAME" with nothing else: argv[1] parsed into domain
 * and name. CLI_OK, or CLI_USAGE after printing usage or the error. */
int cli_only_ref(int argc, char **argv, const char *kind, const char *usage,
                 char domain[NAMES_MAX], char name[NAMES_MAX]);
/* For "COMMAND [--FLAG] DOMAIN/NAME": *set tells whether --flag was given.
 * CLI_OK, or CLI_USAGE after printing usage or the error. */
int cli_flag_ref(int argc, char **argv, const char *flag, const char *kind, const char *usage,
                 bool *set, char domain[NAMES_MAX], char name[NAMES_MAX]);
/* Open the catalog. Reading: returns 1 (and *out NULL) when the catalog does
 * not exist yet, so that lists are simply empty. Writing: the data directory
 * must exist (a mistyped --data must not create a new lakehouse). */
int cli_catalog_open(struct cli *cli, bool write, struct catalog **out, char err[ERROR_MAX]);
/* Publish an event through the broker, best effort (events are hints; the
 * workers also notice catalog changes on their own). */
void cli_publish(struct cli *cli, const struct event *ev);
/* Does a process listen on the ipc:// endpoint? (a test connect; tcp://
 * endpoints: true, ZeroMQ will tell). */
bool cli_endpoint_present(const char *endpoint);

/* A subcommand of a command group ("endpoint create", "job run"). */
struct cli_subcommand {
    const char *name;
    int (*run)(struct cli *cli, int argc, char **argv); /* argv[0] is the subcommand */
};
/* Run the subcommand named by argv[1] from the NULL-terminated table; print
 * usage for help or a missing one, an error naming group for an unknown one. */
int cli_dispatch(struct cli *cli, int argc, char **argv, const char *group, const char *usage,
                 const struct cli_subcommand *table);

/* cli_control.c: fill req->domain (and req->name) from a DOMAIN or DOMAIN/TABLE
 * argument; -1 after printing the error. */
int cli_control_scope(const char *target, struct control_request *req);
/* Send req to the worker listening on endpoint (who: "processor",
 * "transformer") and wait up to timeout_ms for *reply. CLI_OK: *reply came
 * (reply->ok may be false; the caller says what failed). CLI_FAILED: nothing
 * listens or the call failed, error printed (prefixed "what: " unless NULL). */
int cli_control_call(struct cli *cli, const char *endpoint, const char *who,
                     const struct control_request *req, int timeout_ms, const char *what,
                     struct control_reply *reply);

/* cli_common.c: the pieces the commands share.
 * The end of an option switch: 'h' prints usage on stdout (CLI_OK), any
 * other option prints it on stderr (CLI_USAGE); the command returns that. */
int cli_option_rest(int opt, const char *usage);
/* A YYYY-MM-DD argument of flag into out; -1 after printing the error. */
int cli_date_arg(const char *flag, const char *text, char out[16]);
/* One thing read from the catalog: get returns 1 found, 0 none, -1 with err.
 * No catalog yet counts as none. Prints the error, or the message of fmt
 * when there is none; returns 1, 0 or -1. */
typedef int (*cli_catalog_get_fn)(struct catalog *catalog, void *arg, char err[ERROR_MAX]);
int cli_catalog_lookup(struct cli *cli, cli_catalog_get_fn get, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A list read from the catalog: get fills *list (or returns -1 with err).
 * No catalog yet: an empty list. NULL after printing the error. */
typedef int (*cli_catalog_list_fn)(struct catalog *catalog, void *arg, json_t **list,
                                   char err[ERROR_MAX]);
json_t *cli_catalog_list(struct cli *cli, cli_catalog_list_fn get, void *arg);
/* rows as an aligned table, then "(N <noun>s<note>)". */
void cli_print_counted(const char *const *columns, size_t ncolumns, const json_t *rows,
                       const char *noun, const char *note);
/* A command's outline, run by cli_spec_run: the options (getopt_long;
 * 'h' is help, 'j' is --json when listed), between min_operands and
 * max_operands operands, then run, whose answer (*out, may stay NULL) is
 * printed as JSON with --json (or without print), else by print. */
#define CLI_HELP 3 /* from option: treat the option as unknown (usage) */
struct cli_spec {
    const char *usage;
    const char *shortopts;
    const struct option *options;
    int min_operands, max_operands;
    /* the command's own options: CLI_OK, CLI_USAGE after printing, CLI_HELP */
    int (*option)(int opt, const char *arg, void *state);
    /* the work: CLI_OK with *out, or the exit status after printing */
    int (*run)(struct cli *cli, char **operands, int count, void *state, json_t **out);
    void (*print)(const json_t *out, void *state);
};
int cli_spec_run(struct cli *cli, int argc, char **argv, const struct cli_spec *spec,
                 void *state);
/* The optional DOMAIN[/TABLE] operand of a worker command into req (none:
 * every table). CLI_OK, or CLI_USAGE after printing the error and usage. */
int cli_spec_scope(char **operands, int count, const char *usage, struct control_request *req);
/* An ops.h answer with "silver" and "gold" parts (ops_expire, ops_export):
 * the message of each present part on stdout, its "notes" on stderr. */
void cli_print_layers(const json_t *out);
/* A call's outcome (rc >= 0, or < 0 with err: an ops.h operation, a
 * catalog call): CLI_OK, or CLI_FAILED after printing err. */
int cli_outcome(int rc, const char *err);

/* query.c: print rows as an aligned table. columns: array of names; data:
 * array of objects keyed by those names. */
void cli_print_table(FILE *out, const json_t *columns, const json_t *data);
/* How null cells are shown (default "NULL", as in query results). */
void cli_set_null_text(const char *text);
/* Same, from column names given as C strings and rows given as objects. */
void cli_print_objects(FILE *out, const char *const *columns, size_t ncolumns, const json_t *rows);
/* Print JSON (compact, one line) on stdout. */
void cli_print_json(const json_t *value);

/* Commands: argv[0] is the command name. Return the exit status. */
int cli_send(struct cli *cli, int argc, char **argv);
int cli_keygen(struct cli *cli, int argc, char **argv);
int cli_endpoint(struct cli *cli, int argc, char **argv);
int cli_job(struct cli *cli, int argc, char **argv);
int cli_query(struct cli *cli, int argc, char **argv);
int cli_tables(struct cli *cli, int argc, char **argv);
int cli_replay(struct cli *cli, int argc, char **argv);
/* cli_maintenance.c: expire, export, compact (replay above) */
int cli_expire(struct cli *cli, int argc, char **argv);
int cli_export(struct cli *cli, int argc, char **argv);
int cli_compact(struct cli *cli, int argc, char **argv);
int cli_status(struct cli *cli, int argc, char **argv);
int cli_config(struct cli *cli, int argc, char **argv);
/* cli_history.c: history, changes, rollback of silver tables */
int cli_history(struct cli *cli, int argc, char **argv);
int cli_changes(struct cli *cli, int argc, char **argv);
int cli_rollback(struct cli *cli, int argc, char **argv);
/* lineage.c: silver snapshots and bronze files under a gold snapshot */
int cli_lineage(struct cli *cli, int argc, char **argv);
/* model.c: concept files compiled into managed transform jobs */
int cli_model(struct cli *cli, int argc, char **argv);

#endif

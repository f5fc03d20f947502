/* model.h - the concept-file compiler: a concept file (YAML, or the same tree
 * as JSON) parsed into a model with the file:line:column of every node
 * (model_parse.c), checked against the source endpoints' current schemas
 * (model_check.c), and generated into ordinary transform jobs (model_gen.c).
 * Shared by the CLI (`lakehouse model ...`) and the broker (/models). Pure
 * logic: the caller supplies the schemas; nothing here touches the catalog.
 *
 * Generated tables (the README's "Modelling" section describes the method):
 *   <model>_dab.gold.bag__<table>        one per bag: hooks + prefixed columns
 *   <model>_dar.gold.bridge__<table>     one per bag: the bridge stage
 *   <model>_dar.gold.events__<table>     one per bag with events: event rows
 *   <model>_dar.gold.<dar.bridge>        the union of the stages
 *   <model>_dar.gold.<dar.calendar>      one row per day over the event dates
 *   <model>_kimball.gold.dim_<bag>       per kimball dimension (SCD1 or SCD2)
 *   <model>_kimball.gold.fct_<bag>       per kimball fact */
#ifndef LAKEHOUSE_MODEL_H
#define LAKEHOUSE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "job.h"
#include "names.h"
#include "schema.h"
#include "strbuf.h"

#define MODEL_KEYSET_MAX (2 * NAMES_MAX) /* "<domain>.<name>" */

struct model_pos {
    int line;   /* 1-based; 0 = unknown */
    int column; /* 1-based */
};

struct model_concept {
    char name[NAMES_MAX];
    char type[16];       /* core | reference | ... ("" = core) */
    char *definition;    /* owned, may be NULL */
    struct model_pos pos;
};

struct model_keyset {
    char name[MODEL_KEYSET_MAX];
    char concept[NAMES_MAX];
    struct model_pos pos;        /* of the key */
    struct model_pos concept_pos;
};

struct model_hook {
    char name[NAMES_MAX];        /* hook__<concept>[__<role>] */
    char concept[NAMES_MAX];     /* from the name */
    char role[NAMES_MAX];        /* from the name, "" = none */
    char keyset[MODEL_KEYSET_MAX]; /* given, or resolved by model_check */
    bool keyset_given;
    char (*columns)[NAMES_MAX];  /* owned: the key columns (composite: several) */
    struct model_pos *column_pos; /* owned */
    size_t ncolumns;
    struct model_pos pos;        /* of the name */
    struct model_pos keyset_pos;
    int parent;                  /* model_check: the bag whose primary hook has this
                                    keyset, -1 = none; the own bag for a self-reference */
};

struct model_event {
    char name[NAMES_MAX];
    char column[NAMES_MAX];
    struct model_pos pos;
    struct model_pos column_pos;
};

struct model_measure {
    char name[NAMES_MAX];
    char *expr;                  /* owned: SQL expression over the silver table's columns */
    char event[NAMES_MAX];
    struct model_pos pos;
    struct model_pos expr_pos;
    struct model_pos event_pos;
};

/* A silver column copied into a bag (filled by model_check). */
struct model_column {
    char source[NAMES_MAX];      /* silver column */
    char name[NAMES_MAX];        /* <prefix>__<source without strip> */
    enum schema_type type;
};

/* A hook of a bridge stage (model_check): the bag's own hooks, then the
 * hooks inherited through each foreign hook from the parent's stage. */
#define MODEL_SOURCES_MAX 4
struct model_stage_hook {
    char name[NAMES_MAX];
    char concept[NAMES_MAX];
    char keyset[MODEL_KEYSET_MAX];
    size_t nsources;             /* >1: a diamond (equal values expected) */
    int via[MODEL_SOURCES_MAX];  /* the bag's hook it came through, -1 = the bag's own */
    char from[MODEL_SOURCES_MAX][NAMES_MAX]; /* its name in the parent's stage */
};

struct model_bag {
    char table[NAMES_MAX];
    char prefix[NAMES_MAX];
    char strip[NAMES_MAX];
    char primary[NAMES_MAX];
    struct model_hook *hooks;    /* owned, in file order */
    size_t nhooks;
    struct model_event *events;  /* owned */
    size_t nevents;
    struct model_measure *measures; /* owned */
    size_t nmeasures;
    struct model_pos pos, table_pos, prefix_pos, primary_pos;
    /* model_check: */
    int primary_hook;            /* index into hooks */
    struct model_column *columns; /* owned */
    size_t ncolumns;
    bool key_is_primary;         /* the primary hook's columns are the table's primary key */
    struct model_stage_hook *stage; /* owned */
    size_t nstage;
    int order;                   /* position in dependency order (parents first) */
};

struct model_dimension {
    char bag[NAMES_MAX];
    int scd;                     /* 1 or 2 */
    char (*flatten)[NAMES_MAX];  /* owned: parent bags (by table) flattened in */
    struct model_pos *flatten_pos; /* owned */
    size_t nflatten;
    struct model_pos pos, bag_pos, scd_pos;
    int bag_index;               /* model_check */
};

struct model_fact {
    char bag[NAMES_MAX];
    char event[NAMES_MAX];
    struct model_pos pos, bag_pos, event_pos;
    int bag_index;               /* model_check */
};

struct model {
    char file[256];              /* for messages */
    char name[NAMES_MAX];
    char source[NAMES_MAX];
    struct model_pos name_pos, source_pos;
    struct model_concept *concepts;
    size_t nconcepts;
    struct model_keyset *keysets;
    size_t nkeysets;
    struct model_bag *bags;
    size_t nbags;
    char bridge[NAMES_MAX];      /* default "uss_bridge" */
    char calendar[NAMES_MAX];    /* default "calendar" */
    struct model_pos bridge_pos, calendar_pos;
    struct model_dimension *dimensions;
    size_t ndimensions;
    struct model_fact *facts;
    size_t nfacts;
    bool checked;
    int *order;                  /* model_check: bag indexes, parents first (owned) */
};

/* Parse a concept file. text is YAML, or JSON when it starts with '{'
 * (checked as JSON first). file names it in messages. Structural errors
 * (unknown keys, wrong node kinds, invalid names) are refused here with
 * "file:line:column: message" in err. Caller owns *out (model_free). */
int model_parse(const char *text, size_t len, const char *file, struct model **out,
                char err[ERROR_MAX]);
void model_free(struct model **model);

/* The current schema of a source table: 1 found (*out owned by the caller),
 * 0 no such endpoint, -1 error (err set). */
typedef int (*model_schema_fn)(void *arg, const char *domain, const char *table,
                               struct schema **out, char err[ERROR_MAX]);

/* Check the model against the sources (every refusal of the README's list)
 * and resolve what generation needs. Every refusal is appended to problems
 * as one line "file:line:column: message\n". Returns the number of refusals
 * (0 = the model is valid and model->checked is set), -1 when a schema
 * lookup itself failed (err set). */
int model_check(struct model *model, model_schema_fn schema_fn, void *arg,
                struct strbuf *problems, char err[ERROR_MAX]);

/* incremental (the default): a bag whose primary hook is its table's
 * primary key reads the silver change feed and upserts the touched keys,
 * and so do its bridge stage, event rows and (when every bag's does) the
 * union, from their gold inputs' change feeds; the calendar and the Kimball
 * jobs are full rebuilds. full: every job a full rebuild (the
 * fallback, and the oracle the incremental tables must equal). */
enum model_profile { MODEL_PROFILE_INCREMENTAL, MODEL_PROFILE_FULL };

/* One generated job: its SQL-file text and the parsed definition. */
struct model_job {
    char *text;                  /* owned: the SQL-file form */
    struct job_def def;          /* owned; def.model is the model's name */
};

/* Generate the jobs of a checked model, in dependency order (deterministic:
 * the same model and schemas give the same bytes). Caller frees with
 * model_jobs_free. */
int model_generate(const struct model *model, enum model_profile profile,
                   struct model_job **jobs, size_t *count, char err[ERROR_MAX]);
void model_jobs_free(struct model_job *jobs, size_t count);

/* Every job file one after another, each after a line
 * "-- file: <domain>/<job>.sql" (the form `model plan` prints and the golden
 * test compares). Caller frees. */
char *model_plan_text(const struct model_job *jobs, size_t count);

/* A query over the generated tables giving, per diamond (a stage hook
 * reached by several paths), the rows whose paths disagree:
 * columns stage, hook, disagreeing. NULL (and err "") when the model has none.
 * Caller frees. */
char *model_diamond_sql(const struct model *model, char err[ERROR_MAX]);

/* Documentation of a checked model: format "md" or "mermaid". Caller frees. */
char *model_docs(const struct model *model, const char *format, char err[ERROR_MAX]);

/* Parse, check against the catalog's current endpoint schemas and generate
 * (model_compile.c). Returns 0 (*model and *jobs owned by the caller),
 * -(ERROR_INVALID) (error.h) when the file is refused (err holds the first
 * line, problems every line), -1 on a storage error (err). */
struct catalog;
int model_compile(struct catalog *catalog, const char *text, size_t len, const char *file,
                  enum model_profile profile, struct model **model, struct model_job **jobs,
                  size_t *count,
                  struct strbuf *problems, char err[ERROR_MAX]);

/* Is the generated job the same definition as the installed one? (what
 * `model plan` marks "=" and apply leaves alone) */
bool model_job_same(const struct job_def *generated, const struct job_def *installed);

/* The plan against the installed jobs: fn is called for each generated job
 * in order (installed: the job of that name, or NULL), then for each
 * installed job of the model that the plan no longer has (job NULL). */
enum model_change { MODEL_JOB_NEW, MODEL_JOB_CHANGED, MODEL_JOB_UNCHANGED, MODEL_JOB_REMOVED };
typedef void (*model_diff_fn)(void *arg, enum model_change change, const struct model_job *job,
                              const struct job_def *installed);
void model_diff(const char *name, const struct model_job *jobs, size_t count,
                const struct job_def *installed, size_t ninstalled, model_diff_fn fn, void *arg);

/* The gold domains of a model: <name>_dab, <name>_dar, <name>_kimball. */
int model_domain(const char *model_name, const char *layer, char out[NAMES_MAX]);

#endif

/* model_gen.c - the jobs of a checked model (model.h), as SQL-file text in the
 * job format (job.h), parsed back so that what is installed is exactly what
 * a user reads. Deterministic: names and columns come in file order (bags in
 * dependency order for the bridge stages), nothing depends on time or memory.
 *
 * Full profile: every job is an overwrite that recomputes its table from its
 * inputs; the DAG of dependency triggers (bag -> bridge stage -> events ->
 * union -> calendar; dimension -> fact) keeps everything current.
 * Incremental profile: bags, bridge stages, event rows and the union are
 * upserts that re-read only the keys their inputs' change feeds touched
 * (a child's keys when its parent's stage row changed: cascading
 * inheritance), and so are the facts (also the keys whose dimension rows
 * changed); the calendar is rebuilt from the union's min and max date
 * (index seeks on hook__epoch__date) and the dimensions stay full rebuilds. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_EPOCH_KEYSET "epoch.date"

struct gen {
    const struct model *m;
    enum model_profile profile;
    char dab[NAMES_MAX], dar[NAMES_MAX], kimball[NAMES_MAX];
    struct model_job *jobs;
    size_t count;
    char *err;
};

/* '<keyset>|' || a."c1" || '~' || a."c2" ; alias may be "". */
static void gen_hook_expr(struct strbuf *b, const struct model_hook *h, const char *alias)
{
    strbuf_addf(b, "'%s|'", h->keyset);
    for (size_t i = 0; i < h->ncolumns; i++)
        strbuf_addf(b, "%s || %s%s\"%s\"", i ? " || '~'" : "", alias, alias[0] ? "." : "",
                    h->columns[i]);
}

/* The header; upsert_key != NULL makes an incremental upsert job on it. */
static void gen_header_mode(struct strbuf *b, const struct gen *g, const char *domain,
                            const char *job, const char *index, const char *upsert_key)
{
    strbuf_addf(b,
                "-- generated from the concept file of model %s (lakehouse model show %s)\n"
                "-- job: %s\n-- domain: %s\n-- model: %s\n",
                g->m->name, g->m->name, job, domain, g->m->name);
    if (upsert_key != NULL)
        strbuf_addf(b, "-- unique_key: %s\n-- incremental: true\n", upsert_key);
    else
        strbuf_addf(b, "-- write_mode: overwrite\n");
    if (index != NULL)
        strbuf_addf(b, "-- index: %s\n", index);
}

static void gen_header(struct strbuf *b, const struct gen *g, const char *domain,
                       const char *job, const char *index)
{
    gen_header_mode(b, g, domain, job, index, NULL);
}

/* Parse the text back into a job and keep both. */
static int gen_add(struct gen *g, struct strbuf *text)
{
    if (text->failed)
        return error_set(g->err, "out of memory");
    struct model_job *grown = realloc(g->jobs, (g->count + 1) * sizeof *grown);
    if (grown == NULL)
        return error_set(g->err, "out of memory");
    g->jobs = grown;
    struct model_job *j = &g->jobs[g->count];
    memset(j, 0, sizeof *j);
    char err[ERROR_MAX];
    if (job_parse_sql_file(text->s, NULL, &j->def, err) < 0) {
        job_clear(&j->def);
        return error_set(g->err, "generated job does not parse (a bug): %s", err);
    }
    j->text = text->s;
    text->s = NULL;
    strbuf_free(text);
    g->count++;
    return 0;
}

static size_t gen_event_index(const struct model_bag *bag, const char *name)
{
    for (size_t e = 0; e < bag->nevents; e++)
        if (strcmp(bag->events[e].name, name) == 0)
            return e;
    return 0;
}

/* Whether the bridge stage joins hook h's parent stage (something to inherit). */
static bool gen_inherits(const struct model_bag *bag, size_t h)
{
    for (size_t i = 0; i < bag->nstage; i++)
        for (size_t k = 0; k < bag->stage[i].nsources; k++)
            if (bag->stage[i].via[k] == (int)h)
                return true;
    return false;
}

/* A bag's DAR jobs are upserts on its hook when that hook is unique (the
 * table's key) and no stage inherits from itself (it would read its own
 * change feed). */
static bool gen_dar_incremental(const struct gen *g, const struct model_bag *bag)
{
    if (g->profile != MODEL_PROFILE_INCREMENTAL || !bag->key_is_primary)
        return false;
    for (size_t h = 0; h < bag->nhooks; h++)
        if (gen_inherits(bag, h) && &g->m->bags[bag->hooks[h].parent] == bag)
            return false;
    return true;
}

/* -------------------------------------------------------------------- DAB */

/* Incremental bag: the keys the silver change feed touched, upserted from
 * the table's current rows; a key the table no longer has is deleted. */
static int gen_bag_incremental(struct gen *g, const struct model_bag *bag)
{
    const struct model_hook *ph = &bag->hooks[bag->primary_hook];
    struct strbuf b = {0};
    char job[NAMES_MAX];
    snprintf(job, sizeof job, "bag__%s", bag->table);
    const char *index = NULL; /* the stage's lookup of children by their parent */
    for (size_t h = 0; h < bag->nhooks && index == NULL && gen_dar_incremental(g, bag); h++)
        if (gen_inherits(bag, h))
            index = bag->hooks[h].name;
    gen_header_mode(&b, g, g->dab, job, index, ph->name);
    strbuf_addf(&b, "WITH touched AS (\n    SELECT DISTINCT ");
    for (size_t k = 0; k < ph->ncolumns; k++)
        strbuf_addf(&b, "%s\"%s\"", k ? ", " : "", ph->columns[k]);
    strbuf_addf(&b, " FROM %s.silver.%s@changes)\nSELECT", g->m->source, bag->table);
    /* the same columns in the same order as the full profile's */
    for (size_t h = 0; h < bag->nhooks; h++) {
        strbuf_addf(&b, "%s\n    ", h ? "," : "");
        gen_hook_expr(&b, &bag->hooks[h], (int)h == bag->primary_hook ? "t" : "s");
        strbuf_addf(&b, " AS \"%s\"", bag->hooks[h].name);
    }
    for (size_t c = 0; c < bag->ncolumns; c++)
        strbuf_addf(&b, ",\n    s.\"%s\" AS \"%s\"", bag->columns[c].source, bag->columns[c].name);
    strbuf_addf(&b, ",\n    s.\"%s\" IS NULL AS _delete\nFROM touched AS t\nLEFT JOIN %s.silver.%s AS s ON ",
                ph->columns[0], g->m->source, bag->table);
    for (size_t k = 0; k < ph->ncolumns; k++)
        strbuf_addf(&b, "%ss.\"%s\" = t.\"%s\"", k ? " AND " : "", ph->columns[k], ph->columns[k]);
    strbuf_addf(&b, "\n");
    return gen_add(g, &b);
}

static int gen_bag(struct gen *g, const struct model_bag *bag)
{
    if (g->profile == MODEL_PROFILE_INCREMENTAL && bag->key_is_primary)
        return gen_bag_incremental(g, bag);
    struct strbuf b = {0};
    char job[NAMES_MAX];
    snprintf(job, sizeof job, "bag__%s", bag->table);
    gen_header(&b, g, g->dab, job, bag->primary);
    strbuf_addf(&b, "SELECT\n");
    for (size_t h = 0; h < bag->nhooks; h++) {
        strbuf_addf(&b, "    ");
        gen_hook_expr(&b, &bag->hooks[h], "");
        strbuf_addf(&b, " AS \"%s\",\n", bag->hooks[h].name);
    }
    for (size_t c = 0; c < bag->ncolumns; c++)
        strbuf_addf(&b, "    \"%s\" AS \"%s\"%s\n", bag->columns[c].source, bag->columns[c].name,
                    c + 1 < bag->ncolumns ? "," : "");
    strbuf_addf(&b, "FROM %s.silver.%s\n", g->m->source, bag->table);
    return gen_add(g, &b);
}

/* -------------------------------------------------------------------- DAR */

static void gen_source(struct strbuf *b, const struct model_stage_hook *sh, size_t k);

/* Incremental stage: the keys of the bag's change feed and the children of
 * the keys of each parent stage's change feed (their inherited hooks moved);
 * a key the bag no longer has is deleted. */
static void gen_stage_touched(struct strbuf *b, const struct gen *g, const struct model_bag *bag)
{
    strbuf_addf(b, "WITH touched AS (\n    SELECT \"%s\" AS bridge_key FROM %s.gold.bag__%s@changes",
                bag->primary, g->dab, bag->table);
    for (size_t h = 0; h < bag->nhooks; h++)
        if (gen_inherits(bag, h))
            strbuf_addf(b,
                        "\n    UNION SELECT c.\"%s\" FROM %s.gold.bag__%s AS c WHERE c.\"%s\" IN"
                        "\n        (SELECT bridge_key FROM %s.gold.bridge__%s@changes)",
                        bag->primary, g->dab, bag->table, bag->hooks[h].name, g->dar,
                        g->m->bags[bag->hooks[h].parent].table);
    strbuf_addf(b, ")\n");
}

static int gen_bridge_stage(struct gen *g, const struct model_bag *bag)
{
    bool incr = gen_dar_incremental(g, bag);
    struct strbuf b = {0};
    char job[NAMES_MAX];
    snprintf(job, sizeof job, "bridge__%s", bag->table);
    gen_header_mode(&b, g, g->dar, job, incr ? NULL : "bridge_key", incr ? "bridge_key" : NULL);
    if (incr)
        gen_stage_touched(&b, g, bag);
    strbuf_addf(&b, "SELECT\n    '%s' AS stage,\n    ", bag->table);
    if (incr)
        strbuf_addf(&b, "t.bridge_key AS bridge_key");
    else
        strbuf_addf(&b, "b.\"%s\" AS bridge_key", bag->primary);
    for (size_t i = 0; i < bag->nstage; i++) {
        const struct model_stage_hook *sh = &bag->stage[i];
        strbuf_addf(&b, ",\n    ");
        if (sh->nsources > 1)
            strbuf_addf(&b, "coalesce(");
        for (size_t s = 0; s < sh->nsources; s++) {
            strbuf_addf(&b, "%s", s ? ", " : "");
            gen_source(&b, sh, s);
        }
        strbuf_addf(&b, "%s AS \"%s\"", sh->nsources > 1 ? ")" : "", sh->name);
    }
    if (incr)
        strbuf_addf(&b, ",\n    b.\"%s\" IS NULL AS _delete\nFROM touched AS t\n"
                        "LEFT JOIN %s.gold.bag__%s AS b ON b.\"%s\" = t.bridge_key\n",
                    bag->primary, g->dab, bag->table, bag->primary);
    else
        strbuf_addf(&b, "\nFROM %s.gold.bag__%s AS b\n", g->dab, bag->table);
    for (size_t h = 0; h < bag->nhooks; h++) {
        const struct model_hook *hook = &bag->hooks[h];
        if (!gen_inherits(bag, h)) /* a parent with nothing to inherit (no join, no fan-out) */
            continue;
        strbuf_addf(&b, "LEFT JOIN %s.gold.bridge__%s AS p%zu ON p%zu.bridge_key = b.\"%s\"\n",
                    g->dar, g->m->bags[hook->parent].table, h, h, hook->name);
    }
    return gen_add(g, &b);
}

/* NAME: one row per source row with its key, event days and (measures)
 * measures, read from FROM (silver, or a bag under its source's names). */
static void gen_src_cte(struct strbuf *b, const struct model_bag *bag, const char *name,
                        bool measures, const char *from)
{
    strbuf_addf(b, "%s AS MATERIALIZED (\n    SELECT ", name);
    gen_hook_expr(b, &bag->hooks[bag->primary_hook], "");
    strbuf_addf(b, " AS bridge_key");
    for (size_t e = 0; e < bag->nevents; e++)
        strbuf_addf(b, ",\n           substr(\"%s\", 1, 10) AS d%zu", bag->events[e].column, e);
    for (size_t i = 0; measures && i < bag->nmeasures; i++)
        strbuf_addf(b, ",\n           (%s) AS m%zu", bag->measures[i].expr, i);
    strbuf_addf(b, "\n    FROM %s)", from);
}

static void gen_src_silver(struct strbuf *b, const struct gen *g, const struct model_bag *bag)
{
    char from[2 * NAMES_MAX + 16];
    snprintf(from, sizeof from, "%s.silver.%s", g->m->source, bag->table);
    strbuf_addf(b, "WITH ");
    gen_src_cte(b, bag, "src", true, from);
}

/* A subquery of the bag's rows under their silver names: of the touched
 * keys, or (changes) every image of its change feed. Reading the bag, not
 * silver, keeps the event rows a function of the bag's snapshots, so the
 * images of its change feed name every row a run may have to remove. */
static char *gen_bag_as_source(const struct gen *g, const struct model_bag *bag, bool changes)
{
    struct strbuf b = {0};
    strbuf_addf(&b, "(SELECT ");
    for (size_t c = 0; c < bag->ncolumns; c++)
        strbuf_addf(&b, "%sb.\"%s\" AS \"%s\"", c ? ", " : "", bag->columns[c].name,
                    bag->columns[c].source);
    strbuf_addf(&b, "\n          FROM %s.gold.bag__%s%s AS b", g->dab, bag->table,
                changes ? "@changes" : "");
    if (!changes)
        strbuf_addf(&b, " WHERE b.\"%s\" IN (SELECT bridge_key FROM touched)", bag->primary);
    strbuf_addf(&b, ")");
    return b.failed ? (strbuf_free(&b), NULL) : b.s;
}

/* days, event_rows: one row per distinct event day of a src row, or one
 * with a NULL day when it has none. */
static void gen_event_rows(struct strbuf *b, const struct model_bag *bag)
{
    strbuf_addf(b, ",\ndays AS (\n");
    for (size_t e = 0; e < bag->nevents; e++)
        strbuf_addf(b, "    %sSELECT bridge_key, d%zu AS day FROM src WHERE d%zu IS NOT NULL\n",
                    e ? "UNION " : "", e, e);
    strbuf_addf(b, "),\nevent_rows AS (\n    SELECT bridge_key, day FROM days\n"
                   "    UNION ALL SELECT bridge_key, NULL FROM src WHERE");
    for (size_t e = 0; e < bag->nevents; e++)
        strbuf_addf(b, "%s d%zu IS NULL", e ? " AND" : "", e);
    strbuf_addf(b, ")");
}

static void gen_event_select(struct strbuf *b, const struct gen *g, const struct model_bag *bag)
{
    strbuf_addf(b, "SELECT\n    '%s' AS stage,\n"
                   "    CASE WHEN r.day IS NULL THEN r.bridge_key"
                   " ELSE r.bridge_key || '@' || r.day END AS bridge_key",
                bag->table);
    for (size_t i = 0; i < bag->nstage; i++)
        strbuf_addf(b, ",\n    st.\"%s\" AS \"%s\"", bag->stage[i].name, bag->stage[i].name);
    strbuf_addf(b, ",\n    '" GEN_EPOCH_KEYSET "|' || r.day AS hook__epoch__date");
    for (size_t e = 0; e < bag->nevents; e++)
        strbuf_addf(b, ",\n    coalesce(s.d%zu = r.day, 0) AS \"event__%s__%s\"", e, bag->prefix,
                    bag->events[e].name);
    for (size_t i = 0; i < bag->nmeasures; i++)
        strbuf_addf(b, ",\n    CASE WHEN s.d%zu = r.day THEN s.m%zu END AS \"measure__%s__%s\"",
                    gen_event_index(bag, bag->measures[i].event), i, bag->prefix,
                    bag->measures[i].name);
    strbuf_addf(b,
                "\nFROM event_rows AS r\nJOIN src AS s ON s.bridge_key = r.bridge_key\n"
                "JOIN %s.gold.bridge__%s AS st ON st.bridge_key = r.bridge_key\n",
                g->dar, bag->table);
}

/* Incremental event rows: the rows of the keys the bag's or the stage's
 * change feed touched, and a delete for every event row of an image in the
 * bag's change feed (an old date, a deleted row) that is no longer made. */
static int gen_events_incremental(struct gen *g, const struct model_bag *bag, struct strbuf *b)
{
    char *rows = gen_bag_as_source(g, bag, false), *images = gen_bag_as_source(g, bag, true);
    if (rows == NULL || images == NULL) {
        free(rows);
        free(images);
        strbuf_free(b);
        return error_set(g->err, "out of memory");
    }
    strbuf_addf(b, "WITH touched AS (\n    SELECT \"%s\" AS bridge_key FROM %s.gold.bag__%s@changes\n"
                   "    UNION SELECT bridge_key FROM %s.gold.bridge__%s@changes),\n",
                bag->primary, g->dab, bag->table, g->dar, bag->table);
    gen_src_cte(b, bag, "src", true, rows);
    gen_event_rows(b, bag);
    strbuf_addf(b, ",\nfresh AS (\n");
    gen_event_select(b, g, bag);
    strbuf_addf(b, "),\n");
    gen_src_cte(b, bag, "was", false, images);
    strbuf_addf(b, ",\ngone AS (\n");
    for (size_t e = 0; e < bag->nevents; e++)
        strbuf_addf(b, "    %sSELECT bridge_key || '@' || d%zu AS bridge_key FROM was WHERE d%zu IS NOT NULL\n",
                    e ? "UNION " : "", e, e);
    strbuf_addf(b, "    UNION SELECT bridge_key FROM was WHERE");
    for (size_t e = 0; e < bag->nevents; e++)
        strbuf_addf(b, "%s d%zu IS NULL", e ? " AND" : "", e);
    strbuf_addf(b, ")\nSELECT *, 0 AS _delete FROM fresh\nUNION ALL\nSELECT '%s', g.bridge_key",
                bag->table);
    for (size_t i = 0; i < bag->nstage + 1 + bag->nevents + bag->nmeasures; i++)
        strbuf_addf(b, ", NULL");
    strbuf_addf(b, ", 1\nFROM gone AS g WHERE g.bridge_key NOT IN (SELECT bridge_key FROM fresh)\n");
    free(rows);
    free(images);
    return gen_add(g, b);
}

static int gen_events(struct gen *g, const struct model_bag *bag)
{
    bool incr = gen_dar_incremental(g, bag);
    struct strbuf b = {0};
    char job[NAMES_MAX];
    snprintf(job, sizeof job, "events__%s", bag->table);
    gen_header_mode(&b, g, g->dar, job, NULL, incr ? "bridge_key" : NULL);
    if (incr)
        return gen_events_incremental(g, bag, &b);
    gen_src_silver(&b, g, bag);
    gen_event_rows(&b, bag);
    strbuf_addf(&b, "\n");
    gen_event_select(&b, g, bag);
    return gen_add(g, &b);
}

/* Every hook name of the union, in bag and stage order. */
static size_t gen_union_hooks(const struct model *m, const char **names, size_t cap)
{
    size_t n = 0;
    for (size_t bi = 0; bi < m->nbags; bi++) {
        const struct model_bag *bag = &m->bags[bi];
        for (size_t i = 0; i < bag->nstage; i++) {
            bool seen = false;
            for (size_t k = 0; k < n && !seen; k++)
                seen = strcmp(names[k], bag->stage[i].name) == 0;
            if (!seen && n < cap)
                names[n++] = bag->stage[i].name;
        }
    }
    return n;
}

static bool gen_stage_has(const struct model_bag *bag, const char *name)
{
    for (size_t i = 0; i < bag->nstage; i++)
        if (strcmp(bag->stage[i].name, name) == 0)
            return true;
    return false;
}

/* One stage's branch of the union; incremental: its change feed's keys,
 * re-read from the stage (alias s) or deleted when the stage lost them. */
static void gen_union_branch(struct strbuf *b, const struct gen *g, size_t bi, const char **hooks,
                             size_t nhooks, bool incr)
{
    const struct model *m = g->m;
    const struct model_bag *bag = &m->bags[bi];
    bool events = bag->nevents > 0;
    const char *s = incr ? "s." : "";
    if (incr)
        strbuf_addf(b, "%sSELECT '%s' AS stage, c.bridge_key AS bridge_key", bi ? "UNION ALL\n" : "",
                    bag->table);
    else
        strbuf_addf(b, "%sSELECT stage, bridge_key", bi ? "UNION ALL\n" : "");
    for (size_t k = 0; k < nhooks; k++)
        strbuf_addf(b, ", %s\"%s\"", gen_stage_has(bag, hooks[k]) ? s : "NULL AS ", hooks[k]);
    strbuf_addf(b, ", %shook__epoch__date", events ? s : "NULL AS ");
    for (size_t ob = 0; ob < m->nbags; ob++)
        for (size_t e = 0; e < m->bags[ob].nevents; e++)
            strbuf_addf(b, ", %s\"event__%s__%s\"", ob == bi ? s : "0 AS ", m->bags[ob].prefix,
                        m->bags[ob].events[e].name);
    for (size_t ob = 0; ob < m->nbags; ob++)
        for (size_t i = 0; i < m->bags[ob].nmeasures; i++)
            strbuf_addf(b, ", %s\"measure__%s__%s\"", ob == bi ? s : "NULL AS ",
                        m->bags[ob].prefix, m->bags[ob].measures[i].name);
    const char *from = events ? "events" : "bridge";
    if (incr)
        strbuf_addf(b, ", s.bridge_key IS NULL AS _delete\n"
                       "FROM (SELECT DISTINCT bridge_key FROM %s.gold.%s__%s@changes) AS c\n"
                       "LEFT JOIN %s.gold.%s__%s AS s ON s.bridge_key = c.bridge_key\n",
                    g->dar, from, bag->table, g->dar, from, bag->table);
    else
        strbuf_addf(b, "\nFROM %s.gold.%s__%s\n", g->dar, from, bag->table);
}

/* The union is an upsert when every stage is. */
static bool gen_union_incremental(const struct gen *g)
{
    bool incr = true;
    for (size_t bi = 0; bi < g->m->nbags; bi++)
        incr &= gen_dar_incremental(g, &g->m->bags[bi]);
    return incr;
}

static int gen_union(struct gen *g)
{
    const struct model *m = g->m;
    size_t cap = 0;
    bool incr = gen_union_incremental(g);
    for (size_t bi = 0; bi < m->nbags; bi++)
        cap += m->bags[bi].nstage;
    const char **hooks = calloc(cap + 1, sizeof *hooks);
    if (hooks == NULL)
        return error_set(g->err, "out of memory");
    size_t nhooks = gen_union_hooks(m, hooks, cap);
    struct strbuf b = {0};
    /* the calendar's span: min/max through this index, not a scan */
    gen_header_mode(&b, g, g->dar, m->bridge, incr ? "hook__epoch__date" : NULL,
                    incr ? "stage, bridge_key" : NULL);
    for (size_t bi = 0; bi < m->nbags; bi++)
        gen_union_branch(&b, g, bi, hooks, nhooks, incr);
    free(hooks);
    return gen_add(g, &b);
}

static int gen_calendar(struct gen *g)
{
    struct strbuf b = {0};
    gen_header(&b, g, g->dar, g->m->calendar, NULL);
    size_t skip = strlen(GEN_EPOCH_KEYSET) + 2;
    if (gen_union_incremental(g))
        /* the hooks sort as their dates: two index seeks on the union */
        strbuf_addf(&b,
                    "WITH RECURSIVE bounds AS (\n"
                    "    SELECT substr((SELECT min(hook__epoch__date) FROM %s.gold.%s), %zu) AS lo,\n"
                    "        substr((SELECT max(hook__epoch__date) FROM %s.gold.%s), %zu) AS hi),\n",
                    g->dar, g->m->bridge, skip, g->dar, g->m->bridge, skip);
    else
        strbuf_addf(&b,
                    "WITH RECURSIVE bounds AS (\n"
                    "    SELECT min(substr(hook__epoch__date, %zu)) AS lo,"
                    " max(substr(hook__epoch__date, %zu)) AS hi\n"
                    "    FROM %s.gold.%s),\n",
                    skip, skip, g->dar, g->m->bridge);
    strbuf_addf(&b,
                "days(day) AS (\n"
                "    SELECT lo FROM bounds WHERE lo IS NOT NULL\n"
                "    UNION ALL SELECT date(day, '+1 day') FROM days, bounds WHERE day < hi)\n"
                "SELECT\n"
                "    '" GEN_EPOCH_KEYSET "|' || day AS hook__epoch__date,\n"
                "    day AS epoch__date,\n"
                "    CAST(strftime('%%Y', day) AS INTEGER) AS epoch__year,\n"
                "    (CAST(strftime('%%m', day) AS INTEGER) + 2) / 3 AS epoch__quarter,\n"
                "    CAST(strftime('%%m', day) AS INTEGER) AS epoch__month,\n"
                "    CAST(strftime('%%d', day) AS INTEGER) AS epoch__day,\n"
                "    CAST(strftime('%%w', day) AS INTEGER) AS epoch__weekday\n"
                "FROM days\n");
    return gen_add(g, &b);
}

/* ---------------------------------------------------------------- Kimball */

static int gen_flatten_hook(const struct model *m, const struct model_bag *bag, const char *table)
{
    for (size_t h = 0; h < bag->nhooks; h++)
        if (bag->hooks[h].parent >= 0 &&
            strcmp(m->bags[bag->hooks[h].parent].table, table) == 0)
            return (int)h;
    return -1;
}

/* ",\n    a."col" AS "col"", or NULL AS "col" for the unknown member (alias NULL). */
static void gen_dim_column(struct strbuf *b, const char *alias, const char *column)
{
    if (alias == NULL)
        strbuf_addf(b, ",\n    NULL AS \"%s\"", column);
    else
        strbuf_addf(b, ",\n    %s.\"%s\" AS \"%s\"", alias, column, column);
}

static int gen_dimension(struct gen *g, const struct model_dimension *d)
{
    const struct model *m = g->m;
    const struct model_bag *bag = &m->bags[d->bag_index];
    const struct model_hook *primary = &bag->hooks[bag->primary_hook];
    struct strbuf b = {0};
    char job[NAMES_MAX];
    snprintf(job, sizeof job, "dim_%s", bag->table);
    gen_header(&b, g, g->kimball, job, primary->name);
    const char *key = primary->name + strlen("hook__");
    const char *src = d->scd == 2 ? "v" : "b";
    if (d->scd == 2) {
        strbuf_addf(&b, "WITH v AS (\n    SELECT");
        for (size_t h = 0; h < bag->nhooks; h++) {
            strbuf_addf(&b, "%s\n        ", h ? "," : "");
            gen_hook_expr(&b, &bag->hooks[h], "h");
            strbuf_addf(&b, " AS \"%s\"", bag->hooks[h].name);
        }
        for (size_t c = 0; c < bag->ncolumns; c++)
            strbuf_addf(&b, ",\n        h.\"%s\" AS \"%s\"", bag->columns[c].source,
                        bag->columns[c].name);
        strbuf_addf(&b, ",\n        h._from_snapshot AS from_snapshot, h._valid_from AS valid_from,"
                        " h._valid_to AS valid_to, h._is_current AS is_current,\n"
                        "        row_number() OVER (PARTITION BY ");
        gen_hook_expr(&b, primary, "h");
        strbuf_addf(&b, " ORDER BY h._from_snapshot) AS version\n    FROM %s.silver.%s@scd2 AS h)\n",
                    m->source, bag->table);
    }
    /* the unknown member, then every row (every version) */
    for (int pass = 0; pass < 2; pass++) {
        bool unknown = pass == 0;
        strbuf_addf(&b, "%sSELECT\n    ", unknown ? "" : "UNION ALL\n");
        if (unknown)
            strbuf_addf(&b, "'unknown'");
        else if (d->scd == 2)
            strbuf_addf(&b, "v.\"%s\" || '#' || v.from_snapshot", primary->name);
        else
            strbuf_addf(&b, "b.\"%s\"", primary->name);
        strbuf_addf(&b, " AS \"key__%s\"", key);
        for (size_t h = 0; h < bag->nhooks; h++)
            gen_dim_column(&b, unknown ? NULL : src, bag->hooks[h].name);
        for (size_t c = 0; c < bag->ncolumns; c++)
            gen_dim_column(&b, unknown ? NULL : src, bag->columns[c].name);
        for (size_t f = 0; f < d->nflatten; f++) {
            int pi = -1;
            for (size_t o = 0; o < m->nbags; o++)
                if (strcmp(m->bags[o].table, d->flatten[f]) == 0)
                    pi = (int)o;
            const struct model_bag *p = &m->bags[pi];
            char alias[16];
            snprintf(alias, sizeof alias, "f%zu", f);
            for (size_t c = 0; c < p->ncolumns; c++)
                gen_dim_column(&b, unknown ? NULL : alias, p->columns[c].name);
        }
        if (d->scd == 2) {
            if (unknown)
                strbuf_addf(&b, ",\n    NULL AS valid_from,\n    NULL AS valid_to,\n"
                                "    NULL AS is_current\n");
            else
                strbuf_addf(&b, ",\n    CASE WHEN v.version = 1 THEN '0001-01-01'"
                                " ELSE v.valid_from END,\n    v.valid_to,\n    v.is_current\n");
        } else {
            strbuf_addf(&b, "\n");
        }
        if (!unknown) {
            if (d->scd == 2)
                strbuf_addf(&b, "FROM v\n");
            else
                strbuf_addf(&b, "FROM %s.gold.bag__%s AS b\n", g->dab, bag->table);
            for (size_t f = 0; f < d->nflatten; f++) {
                int h = gen_flatten_hook(m, bag, d->flatten[f]);
                const struct model_bag *p = &m->bags[bag->hooks[h].parent];
                strbuf_addf(&b, "LEFT JOIN %s.gold.bag__%s AS f%zu ON f%zu.\"%s\" = %s.\"%s\"\n",
                            g->dab, p->table, f, f, p->primary, src, bag->hooks[h].name);
            }
        }
    }
    return gen_add(g, &b);
}

/* Each dimension's stage hook in the fact's bag: calls fn(b, g, d, db, sh). */
typedef void gen_fact_dim_fn(struct strbuf *b, const struct gen *g, const struct model_fact *f,
                             const struct model_dimension *d, const struct model_stage_hook *sh);

static void gen_fact_dims(struct strbuf *b, const struct gen *g, const struct model_fact *f,
                          gen_fact_dim_fn *fn)
{
    const struct model *m = g->m;
    const struct model_bag *bag = &m->bags[f->bag_index];
    for (size_t di = 0; di < m->ndimensions; di++) {
        const struct model_dimension *d = &m->dimensions[di];
        if (d->bag_index == f->bag_index)
            continue;
        const struct model_bag *db = &m->bags[d->bag_index];
        for (size_t i = 0; i < bag->nstage; i++)
            if (strcmp(bag->stage[i].keyset, db->hooks[db->primary_hook].keyset) == 0)
                fn(b, g, f, d, &bag->stage[i]);
    }
}

/* The dimension key valid at the event date (st: the stage row, s: src). */
static void gen_fact_key(struct strbuf *b, const struct gen *g, const struct model_fact *f,
                         const struct model_dimension *d, const struct model_stage_hook *sh)
{
    const struct model_bag *db = &g->m->bags[d->bag_index];
    const struct model_hook *dp = &db->hooks[db->primary_hook];
    size_t ev = gen_event_index(&g->m->bags[f->bag_index], f->event);
    strbuf_addf(b,
                ",\n    coalesce((SELECT d.\"key__%s\" FROM %s.gold.dim_%s AS d"
                " WHERE d.\"%s\" = st.\"%s\"",
                dp->name + 6, g->kimball, db->table, dp->name, sh->name);
    if (d->scd == 2)
        strbuf_addf(b, " AND d.valid_from <= s.d%zu AND (d.valid_to IS NULL OR s.d%zu < d.valid_to)",
                    ev, ev);
    strbuf_addf(b, " LIMIT 1), 'unknown') AS \"key__%s\"", sh->name + 6);
}

/* The facts whose dimension rows changed (a new version, a moved valid_to). */
static void gen_fact_touched(struct strbuf *b, const struct gen *g, const struct model_fact *f,
                             const struct model_dimension *d, const struct model_stage_hook *sh)
{
    const struct model_bag *db = &g->m->bags[d->bag_index];
    strbuf_addf(b,
                "    UNION SELECT st.bridge_key FROM %s.gold.dim_%s@changes AS c"
                " JOIN %s.gold.bridge__%s AS st ON st.\"%s\" = c.\"%s\"\n",
                g->kimball, db->table, g->dar, g->m->bags[f->bag_index].table, sh->name,
                db->hooks[db->primary_hook].name);
}

/* Full: every src row with a stage row. Incremental (upsert on the bag's
 * hook): the keys the bag's, the stage's or a dimension's change feed
 * touched, re-read from the bag, or deleted when the bag lost them. */
static int gen_fact(struct gen *g, const struct model_fact *f)
{
    const struct model *m = g->m;
    const struct model_bag *bag = &m->bags[f->bag_index];
    bool incr = gen_dar_incremental(g, bag);
    struct strbuf b = {0};
    char job[NAMES_MAX];
    snprintf(job, sizeof job, "fct_%s", bag->table);
    gen_header_mode(&b, g, g->kimball, job, NULL, incr ? bag->primary : NULL);
    if (incr) {
        char *rows = gen_bag_as_source(g, bag, false);
        if (rows == NULL) {
            strbuf_free(&b);
            return error_set(g->err, "out of memory");
        }
        strbuf_addf(&b, "WITH touched AS (\n    SELECT \"%s\" AS bridge_key FROM %s.gold.bag__%s@changes\n"
                        "    UNION SELECT bridge_key FROM %s.gold.bridge__%s@changes\n",
                    bag->primary, g->dab, bag->table, g->dar, bag->table);
        gen_fact_dims(&b, g, f, gen_fact_touched);
        strbuf_addf(&b, "),\n");
        gen_src_cte(&b, bag, "src", true, rows);
        free(rows);
    } else {
        gen_src_silver(&b, g, bag);
    }
    size_t ev = gen_event_index(bag, f->event);
    strbuf_addf(&b, "\nSELECT\n    %s.bridge_key AS \"%s\",\n    s.d%zu AS \"date__%s\",\n"
                    "    '" GEN_EPOCH_KEYSET "|' || s.d%zu AS hook__epoch__date",
                incr ? "t" : "s", bag->primary, ev, f->event, ev);
    gen_fact_dims(&b, g, f, gen_fact_key);
    for (size_t i = 0; i < bag->nmeasures; i++)
        strbuf_addf(&b, ",\n    s.m%zu AS \"%s\"", i, bag->measures[i].name);
    if (incr)
        strbuf_addf(&b, ",\n    (s.bridge_key IS NULL OR st.bridge_key IS NULL) AS _delete\n"
                        "FROM touched AS t\nLEFT JOIN src AS s ON s.bridge_key = t.bridge_key\n"
                        "LEFT JOIN %s.gold.bridge__%s AS st ON st.bridge_key = t.bridge_key\n",
                    g->dar, bag->table);
    else
        strbuf_addf(&b, "\nFROM src AS s\nJOIN %s.gold.bridge__%s AS st ON st.bridge_key = s.bridge_key\n",
                    g->dar, bag->table);
    return gen_add(g, &b);
}

/* The value of source k of a stage hook, in the FROM of gen_bridge_stage. */
static void gen_source(struct strbuf *b, const struct model_stage_hook *sh, size_t k)
{
    if (sh->via[k] < 0)
        strbuf_addf(b, "b.\"%s\"", sh->from[k]);
    else
        strbuf_addf(b, "p%d.\"%s\"", sh->via[k], sh->from[k]);
}

char *model_diamond_sql(const struct model *m, char err[ERROR_MAX])
{
    char dab[NAMES_MAX], dar[NAMES_MAX];
    model_domain(m->name, "dab", dab);
    model_domain(m->name, "dar", dar);
    struct strbuf b = {0};
    err[0] = '\0';
    for (size_t bi = 0; bi < m->nbags; bi++) {
        const struct model_bag *bag = &m->bags[bi];
        for (size_t i = 0; i < bag->nstage; i++) {
            const struct model_stage_hook *sh = &bag->stage[i];
            if (sh->nsources < 2)
                continue;
            strbuf_addf(&b, "%sSELECT '%s' AS stage, '%s' AS hook, count(*) AS disagreeing\n"
                            "FROM %s.gold.bag__%s AS b\n",
                        b.s != NULL ? "UNION ALL\n" : "", bag->table, sh->name, dab, bag->table);
            for (size_t k = 0; k < sh->nsources; k++) {
                int h = sh->via[k];
                if (h >= 0)
                    strbuf_addf(&b, "LEFT JOIN %s.gold.bridge__%s AS p%d ON p%d.bridge_key = b.\"%s\"\n",
                                dar, m->bags[bag->hooks[h].parent].table, h, h, bag->hooks[h].name);
            }
            strbuf_addf(&b, "WHERE ");
            for (size_t k = 1; k < sh->nsources; k++) {
                strbuf_addf(&b, "%s", k > 1 ? " OR " : "");
                gen_source(&b, sh, 0);
                strbuf_addf(&b, " <> ");
                gen_source(&b, sh, k);
            }
            strbuf_addf(&b, "\n");
        }
    }
    if (b.failed) {
        strbuf_free(&b);
        error_set(err, "out of memory");
        return NULL;
    }
    return b.s;
}

int model_generate(const struct model *model, enum model_profile profile,
                   struct model_job **jobs, size_t *count, char err[ERROR_MAX])
{
    *jobs = NULL;
    *count = 0;
    if (!model->checked)
        return error_set(err, "model %s is not checked", model->name);
    struct gen g = {.m = model, .profile = profile, .err = err};
    model_domain(model->name, "dab", g.dab);
    model_domain(model->name, "dar", g.dar);
    model_domain(model->name, "kimball", g.kimball);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < model->nbags; i++)
        rc = gen_bag(&g, &model->bags[i]);
    for (size_t i = 0; rc == 0 && i < model->nbags; i++)
        rc = gen_bridge_stage(&g, &model->bags[model->order[i]]);
    for (size_t i = 0; rc == 0 && i < model->nbags; i++)
        if (model->bags[i].nevents > 0)
            rc = gen_events(&g, &model->bags[i]);
    if (rc == 0 && model->nbags > 0)
        rc = gen_union(&g);
    if (rc == 0 && model->nbags > 0)
        rc = gen_calendar(&g);
    for (size_t i = 0; rc == 0 && i < model->ndimensions; i++)
        rc = gen_dimension(&g, &model->dimensions[i]);
    for (size_t i = 0; rc == 0 && i < model->nfacts; i++)
        rc = gen_fact(&g, &model->facts[i]);
    if (rc < 0) {
        model_jobs_free(g.jobs, g.count);
        return -1;
    }
    *jobs = g.jobs;
    *count = g.count;
    return 0;
}

void model_jobs_free(struct model_job *jobs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(jobs[i].text);
        job_clear(&jobs[i].def);
    }
    free(jobs);
}

char *model_plan_text(const struct model_job *jobs, size_t count)
{
    struct strbuf b = {0};
    for (size_t i = 0; i < count; i++)
        strbuf_addf(&b, "%s-- file: %s/%s.sql\n%s", i ? "\n" : "", jobs[i].def.domain,
                    jobs[i].def.name, jobs[i].text);
    if (b.failed || b.s == NULL) {
        strbuf_free(&b);
        return strdup("");
    }
    return b.s;
}

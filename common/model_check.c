/* model_check.c - every refusal of a concept file that needs the sources'
 * schemas or the whole model, each at its file:line:column; and what
 * generation needs: each bag's columns, each hook's keyset and parent bag,
 * the bags in dependency order and each bridge stage's hooks.
 *
 * Inheritance: a foreign hook whose keyset is another bag's primary brings
 * that bag's stage hooks (but its primary) into this stage; with a role
 * (hook__customer__buyer) each inherited name takes that role. The same name
 * reached twice with the same keyset through different hooks is a diamond
 * (accepted; the first path in hook order gives the value, the others must
 * agree); with another keyset, or twice through one hook, it is refused. */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "sqlutil.h"

struct mc {
    struct model *m;
    struct strbuf *problems;
    int count;
};

static void mc_fail(struct mc *mc, struct model_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void mc_fail(struct mc *mc, struct model_pos pos, const char *fmt, ...)
{
    char msg[ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    strbuf_addf(mc->problems, "%s:%d:%d: %s\n", mc->m->file, pos.line, pos.column, msg);
    mc->count++;
}

static const struct model_keyset *mc_keyset(const struct model *m, const char *name)
{
    for (size_t i = 0; i < m->nkeysets; i++)
        if (strcmp(m->keysets[i].name, name) == 0)
            return &m->keysets[i];
    return NULL;
}

static bool mc_concept_known(const struct model *m, const char *name)
{
    for (size_t i = 0; i < m->nconcepts; i++)
        if (strcmp(m->concepts[i].name, name) == 0)
            return true;
    return false;
}

static const struct schema_column *mc_column(const struct schema *s, const char *name)
{
    for (size_t i = 0; i < s->column_count; i++)
        if (strcmp(s->columns[i].name, name) == 0)
            return &s->columns[i];
    return NULL;
}

/* A generated name: at most 63 characters. */
static bool mc_name_fits(struct mc *mc, struct model_pos pos, const char *what, const char *a,
                         const char *b, const char *c, char out[NAMES_MAX])
{
    char full[4 * NAMES_MAX];
    snprintf(full, sizeof full, "%s%s%s", a, b, c);
    if (strlen(full) >= NAMES_MAX) {
        mc_fail(mc, pos, "generated %s name '%s' is longer than %d characters", what, full,
                NAMES_MAX - 1);
        return false;
    }
    if (out != NULL)
        snprintf(out, NAMES_MAX, "%s", full);
    return true;
}

/* Measures must prepare against the silver table's columns. */
static void mc_measures(struct mc *mc, struct model_bag *bag, const struct schema *s)
{
    if (bag->nmeasures == 0)
        return;
    sqlite3 *db = NULL;
    struct strbuf ddl = {0};
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        mc_fail(mc, bag->pos, "cannot open an in-memory database to check measures");
        sqlite3_close(db);
        return;
    }
    strbuf_addf(&ddl, "CREATE TABLE \"%s\" (", bag->table);
    for (size_t i = 0; i < s->column_count; i++)
        strbuf_addf(&ddl, "%s\"%s\" %s", i ? ", " : "", s->columns[i].name,
                    schema_type_sql(s->columns[i].type));
    strbuf_addf(&ddl, ")");
    char err[ERROR_MAX];
    if (sqlutil_exec_buf(db, &ddl, err, "rebuild table %s to check measures", bag->table) < 0)
        mc_fail(mc, bag->table_pos, "%s", err);
    for (size_t i = 0; i < bag->nmeasures; i++) {
        struct model_measure *me = &bag->measures[i];
        bool found = false;
        for (size_t e = 0; e < bag->nevents; e++)
            found |= strcmp(bag->events[e].name, me->event) == 0;
        if (!found)
            mc_fail(mc, me->event_pos, "measure %s: event '%s' is not an event of bag %s",
                    me->name, me->event, bag->table);
        struct strbuf q = {0};
        strbuf_addf(&q, "SELECT (%s) FROM \"%s\"", me->expr, bag->table);
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        if (q.failed)
            mc_fail(mc, me->expr_pos, "out of memory");
        else if (sqlite3_prepare_v2(db, q.s, -1, &stmt, &tail) != SQLITE_OK)
            mc_fail(mc, me->expr_pos, "measure %s: expression does not prepare against %s.%s: %s",
                    me->name, mc->m->source, bag->table, sqlite3_errmsg(db));
        else if ((tail != NULL && strspn(tail, " \t\r\n") != strlen(tail)) ||
                 sqlite3_column_count(stmt) != 1 || strstr(me->expr, "--") != NULL ||
                 strstr(me->expr, "/*") != NULL)
            mc_fail(mc, me->expr_pos,
                    "measure %s: the expression must be one expression (no comments)", me->name);
        sqlite3_finalize(stmt);
        strbuf_free(&q);
        char name[NAMES_MAX];
        char mid[2 * NAMES_MAX];
        snprintf(mid, sizeof mid, "%s__", bag->prefix);
        mc_name_fits(mc, me->pos, "measure column", "measure__", mid, me->name, name);
    }
    strbuf_free(&ddl);
    sqlite3_close(db);
}

/* Table, columns, hooks and events of one bag. Returns 0, or -1 when the
 * schema lookup failed. */
static int mc_bag(struct mc *mc, size_t bi, model_schema_fn schema_fn, void *arg,
                  char err[ERROR_MAX])
{
    struct model *m = mc->m;
    struct model_bag *bag = &m->bags[bi];
    struct schema *s = NULL;
    int rc = schema_fn(arg, m->source, bag->table, &s, err);
    if (rc < 0)
        return -1;
    char job[NAMES_MAX];
    mc_name_fits(mc, bag->table_pos, "job", "bridge__", bag->table, "", job);
    mc_name_fits(mc, bag->table_pos, "job", "events__", bag->table, "", job);
    for (size_t o = 0; o < bi; o++)
        if (strcmp(m->bags[o].table, bag->table) == 0)
            mc_fail(mc, bag->table_pos, "table %s has a bag already", bag->table);
    if (rc == 0) {
        mc_fail(mc, bag->table_pos, "unknown table %s.%s (no such endpoint)", m->source,
                bag->table);
        return 0;
    }
    /* columns */
    bag->columns = calloc(s->column_count ? s->column_count : 1, sizeof *bag->columns);
    if (bag->columns == NULL) {
        schema_destroy(&s);
        return error_set(err, "out of memory");
    }
    size_t slen = strlen(bag->strip);
    for (size_t i = 0; i < s->column_count; i++) {
        const struct schema_column *c = &s->columns[i];
        if (c->name[0] == '_')
            continue;
        struct model_column *mcol = &bag->columns[bag->ncolumns];
        const char *rest = c->name;
        if (slen > 0 && strncmp(rest, bag->strip, slen) == 0 && rest[slen] != '\0')
            rest = rest + slen;
        char mid[2 * NAMES_MAX];
        snprintf(mid, sizeof mid, "%s__", bag->prefix);
        if (!mc_name_fits(mc, bag->prefix_pos, "column", mid, rest, "", mcol->name))
            continue;
        snprintf(mcol->source, sizeof mcol->source, "%s", c->name);
        mcol->type = c->type;
        for (size_t o = 0; o < bag->ncolumns; o++)
            if (strcmp(bag->columns[o].name, mcol->name) == 0)
                mc_fail(mc, bag->prefix_pos, "columns %s and %s both become %s",
                        bag->columns[o].source, c->name, mcol->name);
        bag->ncolumns++;
    }
    /* hooks */
    int primaries = 0;
    for (size_t h = 0; h < bag->nhooks; h++) {
        struct model_hook *hook = &bag->hooks[h];
        for (size_t k = 0; k < hook->ncolumns; k++)
            if (mc_column(s, hook->columns[k]) == NULL)
                mc_fail(mc, hook->column_pos[k], "unknown column %s in %s.%s", hook->columns[k],
                        m->source, bag->table);
        if (!mc_concept_known(m, hook->concept))
            mc_fail(mc, hook->pos, "hook %s: unknown concept '%s'", hook->name, hook->concept);
        if (hook->keyset_given) {
            const struct model_keyset *ks = mc_keyset(m, hook->keyset);
            if (ks == NULL)
                mc_fail(mc, hook->keyset_pos, "hook %s: unknown keyset '%s'", hook->name,
                        hook->keyset);
            else if (strcmp(ks->concept, hook->concept) != 0)
                mc_fail(mc, hook->keyset_pos,
                        "hook %s: its concept '%s' differs from keyset %s's concept '%s'",
                        hook->name, hook->concept, ks->name, ks->concept);
        } else {
            int found = 0;
            for (size_t k = 0; k < m->nkeysets; k++)
                if (strcmp(m->keysets[k].concept, hook->concept) == 0 && found++ == 0)
                    snprintf(hook->keyset, sizeof hook->keyset, "%s", m->keysets[k].name);
            if (found == 0)
                mc_fail(mc, hook->pos, "hook %s: no keyset has the concept '%s'", hook->name,
                        hook->concept);
            else if (found > 1)
                mc_fail(mc, hook->pos,
                        "hook %s: several keysets have the concept '%s': give {keyset: ..., key: ...}",
                        hook->name, hook->concept);
        }
        if (strcmp(hook->name, bag->primary) == 0) {
            primaries++;
            bag->primary_hook = (int)h;
        }
    }
    if (bag->primary_hook >= 0) {
        const struct model_hook *ph = &bag->hooks[bag->primary_hook];
        size_t pk = schema_primary_key_count(s);
        bag->key_is_primary = pk == ph->ncolumns;
        for (size_t k = 0; k < ph->ncolumns; k++) {
            const struct schema_column *c = mc_column(s, ph->columns[k]);
            bag->key_is_primary &= c != NULL && c->primary_key;
        }
    }
    if (bag->primary[0] == '\0')
        mc_fail(mc, bag->pos, "bag %s has no primary hook (primary: hook__...)", bag->table);
    else if (primaries != 1)
        mc_fail(mc, bag->primary_pos, "bag %s: primary %s is not one of its hooks", bag->table,
                bag->primary);
    /* events */
    for (size_t e = 0; e < bag->nevents; e++) {
        struct model_event *ev = &bag->events[e];
        const struct schema_column *c = mc_column(s, ev->column);
        if (c == NULL)
            mc_fail(mc, ev->column_pos, "unknown column %s in %s.%s", ev->column, m->source,
                    bag->table);
        else if (c->type != SCHEMA_TYPE_DATE && c->type != SCHEMA_TYPE_TIMESTAMP)
            mc_fail(mc, ev->column_pos, "event %s: column %s is %s, not a date or timestamp",
                    ev->name, ev->column, schema_type_name(c->type));
        char mid[2 * NAMES_MAX];
        snprintf(mid, sizeof mid, "%s__", bag->prefix);
        mc_name_fits(mc, ev->pos, "event flag", "event__", mid, ev->name, NULL);
    }
    mc_measures(mc, bag, s);
    schema_destroy(&s);
    return 0;
}

/* Parents, self-references, keysets primary twice. */
static void mc_parents(struct mc *mc)
{
    struct model *m = mc->m;
    for (size_t b = 0; b < m->nbags; b++) {
        struct model_bag *bag = &m->bags[b];
        if (bag->primary_hook < 0)
            continue;
        const char *ks = bag->hooks[bag->primary_hook].keyset;
        for (size_t o = 0; o < b; o++) {
            struct model_bag *other = &m->bags[o];
            if (other->primary_hook >= 0 && ks[0] != '\0' &&
                strcmp(other->hooks[other->primary_hook].keyset, ks) == 0)
                mc_fail(mc, bag->primary_pos, "keyset %s is the primary of bags %s and %s", ks,
                        other->table, bag->table);
        }
    }
    for (size_t b = 0; b < m->nbags; b++) {
        struct model_bag *bag = &m->bags[b];
        for (size_t h = 0; h < bag->nhooks; h++) {
            struct model_hook *hook = &bag->hooks[h];
            hook->parent = -1;
            if ((int)h == bag->primary_hook || hook->keyset[0] == '\0')
                continue;
            for (size_t o = 0; o < m->nbags; o++) {
                struct model_bag *p = &m->bags[o];
                if (p->primary_hook >= 0 && strcmp(p->hooks[p->primary_hook].keyset,
                                                   hook->keyset) == 0) {
                    hook->parent = (int)o;
                    break;
                }
            }
        }
    }
}

/* Depth-first order, parents first; a cycle (other than a self-reference)
 * is refused at the hook that closes it. */
static void mc_visit(struct mc *mc, size_t b, int *state, int *order, size_t *n, int *path,
                     size_t depth)
{
    struct model *m = mc->m;
    if (state[b] == 2)
        return;
    if (state[b] == 1)
        return; /* reported by the caller */
    state[b] = 1;
    path[depth] = (int)b;
    struct model_bag *bag = &m->bags[b];
    for (size_t h = 0; h < bag->nhooks; h++) {
        int p = bag->hooks[h].parent;
        if (p < 0 || p == (int)b)
            continue;
        if (state[p] == 1) {
            char cycle[ERROR_MAX] = "";
            size_t start = 0;
            while (start < depth && path[start] != p)
                start++;
            for (size_t i = start; i <= depth; i++)
                strbuf_fixed_appendf(cycle, sizeof cycle, "%s -> ", m->bags[path[i]].table);
            strbuf_fixed_appendf(cycle, sizeof cycle, "%s", m->bags[p].table);
            mc_fail(mc, bag->hooks[h].pos, "reference cycle: %s", cycle);
            continue;
        }
        mc_visit(mc, (size_t)p, state, order, n, path, depth + 1);
    }
    state[b] = 2;
    order[(*n)++] = (int)b;
}

static struct model_stage_hook *mc_stage_find(struct model_bag *bag, const char *name)
{
    for (size_t i = 0; i < bag->nstage; i++)
        if (strcmp(bag->stage[i].name, name) == 0)
            return &bag->stage[i];
    return NULL;
}

/* The stage hooks of one bag (its parents' are done). */
static int mc_stage(struct mc *mc, struct model_bag *bag, char err[ERROR_MAX])
{
    struct model *m = mc->m;
    size_t cap = bag->nhooks;
    for (size_t h = 0; h < bag->nhooks; h++)
        if (bag->hooks[h].parent >= 0)
            cap += m->bags[bag->hooks[h].parent].nstage;
    bag->stage = calloc(cap ? cap : 1, sizeof *bag->stage);
    if (bag->stage == NULL)
        return error_set(err, "out of memory");
    for (size_t h = 0; h < bag->nhooks; h++) {
        struct model_hook *hook = &bag->hooks[h];
        struct model_stage_hook *sh = &bag->stage[bag->nstage++];
        snprintf(sh->name, sizeof sh->name, "%s", hook->name);
        snprintf(sh->concept, sizeof sh->concept, "%s", hook->concept);
        snprintf(sh->keyset, sizeof sh->keyset, "%s", hook->keyset);
        sh->nsources = 1;
        sh->via[0] = -1;
        snprintf(sh->from[0], sizeof sh->from[0], "%s", hook->name);
        for (size_t o = 0; o < h; o++)
            if (strcmp(bag->hooks[o].name, hook->name) == 0)
                mc_fail(mc, hook->pos, "hook %s appears twice in bag %s", hook->name, bag->table);
    }
    for (size_t h = 0; h < bag->nhooks; h++) {
        struct model_hook *hook = &bag->hooks[h];
        if (hook->parent < 0 || hook->parent == (int)(bag - m->bags))
            continue;
        struct model_bag *p = &m->bags[hook->parent];
        for (size_t k = 0; k < p->nstage; k++) {
            struct model_stage_hook *ph = &p->stage[k];
            if (strcmp(ph->name, p->primary) == 0)
                continue;
            char name[NAMES_MAX];
            if (hook->role[0] != '\0') {
                if (!mc_name_fits(mc, hook->pos, "hook", "hook__", ph->concept, "__", NULL))
                    continue;
                char mid[2 * NAMES_MAX];
                snprintf(mid, sizeof mid, "%s__", ph->concept);
                if (!mc_name_fits(mc, hook->pos, "hook", "hook__", mid, hook->role, name))
                    continue;
            } else {
                snprintf(name, sizeof name, "%s", ph->name);
            }
            struct model_stage_hook *sh = mc_stage_find(bag, name);
            if (sh == NULL) {
                sh = &bag->stage[bag->nstage++];
                snprintf(sh->name, sizeof sh->name, "%s", name);
                snprintf(sh->concept, sizeof sh->concept, "%s", ph->concept);
                snprintf(sh->keyset, sizeof sh->keyset, "%s", ph->keyset);
                sh->nsources = 1;
                sh->via[0] = (int)h;
                snprintf(sh->from[0], sizeof sh->from[0], "%s", ph->name);
                continue;
            }
            bool same_path = false;
            for (size_t i = 0; i < sh->nsources; i++)
                same_path |= sh->via[i] == (int)h;
            if (strcmp(sh->keyset, ph->keyset) != 0 || same_path) {
                mc_fail(mc, hook->pos,
                        "bag %s: %s is reached through %s from %s and through another path"
                        " that is not the same parent and role: give one of them a role",
                        bag->table, name, hook->name, p->table);
                continue;
            }
            if (sh->nsources < MODEL_SOURCES_MAX) {
                sh->via[sh->nsources] = (int)h;
                snprintf(sh->from[sh->nsources], sizeof sh->from[0], "%s", ph->name);
                sh->nsources++;
            }
        }
    }
    return 0;
}

static int mc_find_bag(const struct model *m, const char *table)
{
    for (size_t i = 0; i < m->nbags; i++)
        if (strcmp(m->bags[i].table, table) == 0)
            return (int)i;
    return -1;
}

static void mc_kimball(struct mc *mc)
{
    struct model *m = mc->m;
    for (size_t i = 0; i < m->ndimensions; i++) {
        struct model_dimension *d = &m->dimensions[i];
        d->bag_index = mc_find_bag(m, d->bag);
        mc_name_fits(mc, d->bag_pos, "job", "dim_", d->bag, "", NULL);
        if (d->bag_index < 0) {
            mc_fail(mc, d->bag_pos, "dimension: no bag for table %s", d->bag);
            continue;
        }
        for (size_t o = 0; o < i; o++)
            if (strcmp(m->dimensions[o].bag, d->bag) == 0)
                mc_fail(mc, d->bag_pos, "bag %s has a dimension already", d->bag);
        struct model_bag *bag = &m->bags[d->bag_index];
        for (size_t f = 0; f < d->nflatten; f++) {
            bool found = false;
            int pi = mc_find_bag(m, d->flatten[f]);
            for (size_t h = 0; pi >= 0 && h < bag->nhooks; h++)
                found |= bag->hooks[h].parent == pi && pi != d->bag_index;
            if (!found)
                mc_fail(mc, d->flatten_pos[f], "flatten: %s is not a parent bag of %s",
                        d->flatten[f], d->bag);
            else if (strcmp(m->bags[pi].prefix, bag->prefix) == 0)
                mc_fail(mc, d->flatten_pos[f], "flatten: %s has the same prefix as %s",
                        d->flatten[f], d->bag);
        }
    }
    for (size_t i = 0; i < m->nfacts; i++) {
        struct model_fact *f = &m->facts[i];
        f->bag_index = mc_find_bag(m, f->bag);
        mc_name_fits(mc, f->bag_pos, "job", "fct_", f->bag, "", NULL);
        if (f->bag_index < 0) {
            mc_fail(mc, f->bag_pos, "fact: no bag for table %s", f->bag);
            continue;
        }
        for (size_t o = 0; o < i; o++)
            if (strcmp(m->facts[o].bag, f->bag) == 0)
                mc_fail(mc, f->bag_pos, "bag %s has a fact already", f->bag);
        struct model_bag *bag = &m->bags[f->bag_index];
        bool found = false;
        for (size_t e = 0; e < bag->nevents; e++)
            found |= strcmp(bag->events[e].name, f->event) == 0;
        if (!found)
            mc_fail(mc, f->event_pos, "fact %s: '%s' is not an event of bag %s", f->bag, f->event,
                    f->bag);
    }
}

int model_check(struct model *model, model_schema_fn schema_fn, void *arg,
                struct strbuf *problems, char err[ERROR_MAX])
{
    struct mc mc = {.m = model, .problems = problems};
    struct model *m = model;
    int *state = NULL, *path = NULL;
    m->checked = false;
    char domain[NAMES_MAX];
    const char *const layers[] = {"dab", "dar", "kimball"};
    for (size_t i = 0; i < 3; i++)
        if (model_domain(m->name, layers[i], domain) < 0 || !names_is_valid_object(domain))
            mc_fail(&mc, m->name_pos, "generated domain name %s_%s is longer than %d characters",
                    m->name, layers[i], NAMES_MAX - 1);
    for (size_t i = 0; i < m->nkeysets; i++)
        if (!mc_concept_known(m, m->keysets[i].concept))
            mc_fail(&mc, m->keysets[i].concept_pos, "keyset %s: unknown concept '%s'",
                    m->keysets[i].name, m->keysets[i].concept);
    for (size_t b = 0; b < m->nbags; b++)
        if (mc_bag(&mc, b, schema_fn, arg, err) < 0)
            return -1;
    mc_parents(&mc);

    free(m->order);
    m->order = calloc(m->nbags + 1, sizeof *m->order);
    state = calloc(m->nbags + 1, sizeof *state);
    path = calloc(m->nbags + 1, sizeof *path);
    if (m->order == NULL || state == NULL || path == NULL) {
        free(state);
        free(path);
        return error_set(err, "out of memory");
    }
    size_t n = 0;
    for (size_t b = 0; b < m->nbags; b++)
        mc_visit(&mc, b, state, m->order, &n, path, 0);
    free(state);
    free(path);
    if (mc.count == 0) {
        for (size_t i = 0; i < n; i++) {
            m->bags[m->order[i]].order = (int)i;
            if (mc_stage(&mc, &m->bags[m->order[i]], err) < 0)
                return -1;
        }
    }
    mc_kimball(&mc);
    if (problems->failed)
        return error_set(err, "out of memory");
    m->checked = mc.count == 0;
    return mc.count;
}

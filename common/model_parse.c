/* model_parse.c - the concept file into struct model (model.h). libyaml loads
 * the document (JSON is a subset it reads, after jansson has checked it as
 * JSON), so that every node keeps its line and column for messages. */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <yaml.h>

struct mp {
    yaml_document_t *doc;
    const char *file;
    char *err;
};

static struct model_pos mp_pos(const yaml_node_t *node)
{
    struct model_pos p = {(int)node->start_mark.line + 1, (int)node->start_mark.column + 1};
    return p;
}

static int mp_fail(struct mp *mp, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int mp_fail(struct mp *mp, const yaml_node_t *node, const char *fmt, ...)
{
    char msg[ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct model_pos p = mp_pos(node);
    return error_set(mp->err, "%s:%d:%d: %s", mp->file, p.line, p.column, msg);
}

static const char *mp_scalar(const yaml_node_t *node)
{
    return node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static yaml_node_t *mp_node(struct mp *mp, int index)
{
    return yaml_document_get_node(mp->doc, index);
}

/* A scalar into a fixed buffer. */
static int mp_text(struct mp *mp, const yaml_node_t *node, const char *what, char *out,
                   size_t size)
{
    const char *s = mp_scalar(node);
    if (s == NULL)
        return mp_fail(mp, node, "%s must be a string", what);
    if (strlen(s) >= size)
        return mp_fail(mp, node, "%s '%.80s' is longer than %zu characters", what, s, size - 1);
    snprintf(out, size, "%s", s);
    return 0;
}

static int mp_object_name(struct mp *mp, const yaml_node_t *node, const char *what,
                          char out[NAMES_MAX])
{
    char err[ERROR_MAX];
    if (mp_text(mp, node, what, out, NAMES_MAX) < 0)
        return -1;
    if (names_check_object(what, out, err) < 0)
        return mp_fail(mp, node, "%s", err);
    return 0;
}

static int mp_column_name(struct mp *mp, const yaml_node_t *node, char out[NAMES_MAX])
{
    char err[ERROR_MAX];
    if (mp_text(mp, node, "column", out, NAMES_MAX) < 0)
        return -1;
    if (names_check_column(out, err) < 0)
        return mp_fail(mp, node, "%s", err);
    return 0;
}

static int mp_strdup(struct mp *mp, const yaml_node_t *node, const char *what, char **out)
{
    const char *s = mp_scalar(node);
    if (s == NULL)
        return mp_fail(mp, node, "%s must be a string", what);
    free(*out);
    *out = strdup(s);
    return *out == NULL ? error_set(mp->err, "out of memory") : 0;
}

/* Grow a dynamic array by one zeroed element. */
static void *mp_push(void **items, size_t *count, size_t size)
{
    char *grown = realloc(*items, (*count + 1) * size);
    if (grown == NULL)
        return NULL;
    memset(grown + *count * size, 0, size);
    *items = grown;
    return grown + (*count)++ * size;
}
#define MP_PUSH(arr, n) mp_push((void **)&(arr), &(n), sizeof *(arr))

typedef int (*mp_pair_fn)(struct mp *mp, void *obj, const char *key, yaml_node_t *key_node,
                          yaml_node_t *value);

/* Call fn for each key of a mapping; a repeated key is refused. */
static int mp_each_pair(struct mp *mp, yaml_node_t *node, const char *what, mp_pair_fn fn,
                        void *obj)
{
    if (node->type != YAML_MAPPING_NODE)
        return mp_fail(mp, node, "%s must be a mapping", what);
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = mp_node(mp, p->key), *v = mp_node(mp, p->value);
        const char *key = mp_scalar(k);
        if (key == NULL)
            return mp_fail(mp, k, "keys of %s must be strings", what);
        for (yaml_node_pair_t *q = node->data.mapping.pairs.start; q < p; q++) {
            const char *other = mp_scalar(mp_node(mp, q->key));
            if (other != NULL && strcmp(other, key) == 0)
                return mp_fail(mp, k, "'%s' is repeated in %s", key, what);
        }
        if (fn(mp, obj, key, k, v) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- concepts */

static int mp_concept_pair(struct mp *mp, void *obj, const char *key, yaml_node_t *k,
                           yaml_node_t *v)
{
    struct model_concept *c = obj;
    if (strcmp(key, "type") == 0)
        return mp_text(mp, v, "concept type", c->type, sizeof c->type);
    if (strcmp(key, "definition") == 0)
        return mp_strdup(mp, v, "definition", &c->definition);
    return mp_fail(mp, k, "unknown key '%s' in concept %s (type, definition)", key, c->name);
}

static int mp_concepts(struct mp *mp, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    struct model *m = obj;
    (void)key;
    struct model_concept *c = MP_PUSH(m->concepts, m->nconcepts);
    if (c == NULL)
        return error_set(mp->err, "out of memory");
    c->pos = mp_pos(k);
    if (mp_object_name(mp, k, "concept", c->name) < 0)
        return -1;
    if (strstr(c->name, "__") != NULL)
        return mp_fail(mp, k, "concept '%s' may not contain '__' (it separates hook name parts)",
                       c->name);
    if (v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0)
        return 0;
    if (mp_each_pair(mp, v, "a concept", mp_concept_pair, c) < 0)
        return -1;
    if (c->type[0] != '\0' && strcmp(c->type, "core") != 0 && strcmp(c->type, "reference") != 0)
        return mp_fail(mp, v, "concept %s: type must be core or reference", c->name);
    return 0;
}

static int mp_keysets(struct mp *mp, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    struct model *m = obj;
    struct model_keyset *ks = MP_PUSH(m->keysets, m->nkeysets);
    if (ks == NULL)
        return error_set(mp->err, "out of memory");
    ks->pos = mp_pos(k);
    ks->concept_pos = mp_pos(v);
    /* <source>.<name>: both parts object names; '|' and '~' never occur. */
    const char *dot = strchr(key, '.');
    char a[NAMES_MAX] = "", b[NAMES_MAX] = "";
    if (dot == NULL || (size_t)(dot - key) >= NAMES_MAX || strlen(dot + 1) >= NAMES_MAX)
        return mp_fail(mp, k, "keyset '%s' must be <source>.<name>", key);
    memcpy(a, key, (size_t)(dot - key));
    snprintf(b, sizeof b, "%s", dot + 1);
    if (!names_is_valid_object(a) || !names_is_valid_object(b))
        return mp_fail(mp, k, "keyset '%s' must be <source>.<name> of lower-case names", key);
    snprintf(ks->name, sizeof ks->name, "%s", key);
    return mp_object_name(mp, v, "concept", ks->concept);
}

/* ----------------------------------------------------------------- bags */

static int mp_hook_name(struct mp *mp, yaml_node_t *k, struct model_hook *h)
{
    if (mp_text(mp, k, "hook", h->name, sizeof h->name) < 0)
        return -1;
    if (strncmp(h->name, "hook__", 6) != 0 || !names_is_valid_column(h->name))
        return mp_fail(mp, k, "hook '%s' must be named hook__<concept>[__<role>]", h->name);
    const char *concept = h->name + 6;
    const char *sep = strstr(concept, "__");
    size_t clen = sep != NULL ? (size_t)(sep - concept) : strlen(concept);
    memcpy(h->concept, concept, clen);
    h->concept[clen] = '\0';
    if (sep != NULL)
        snprintf(h->role, sizeof h->role, "%s", sep + 2);
    if (!names_is_valid_object(h->concept) ||
        (sep != NULL && (!names_is_valid_object(h->role) || strstr(h->role, "__") != NULL)))
        return mp_fail(mp, k, "hook '%s' must be named hook__<concept>[__<role>]", h->name);
    if (strcmp(h->concept, "epoch") == 0)
        return mp_fail(mp, k, "hook '%s': the concept 'epoch' is the calendar's", h->name);
    return 0;
}

static int mp_hook_column(struct mp *mp, struct model_hook *h, yaml_node_t *node)
{
    char (*grown)[NAMES_MAX] = realloc(h->columns, (h->ncolumns + 1) * sizeof *grown);
    if (grown == NULL)
        return error_set(mp->err, "out of memory");
    h->columns = grown;
    struct model_pos *pgrown = realloc(h->column_pos, (h->ncolumns + 1) * sizeof *pgrown);
    if (pgrown == NULL)
        return error_set(mp->err, "out of memory");
    h->column_pos = pgrown;
    h->column_pos[h->ncolumns] = mp_pos(node);
    return mp_column_name(mp, node, h->columns[h->ncolumns++]);
}

static int mp_hook_key(struct mp *mp, struct model_hook *h, yaml_node_t *v)
{
    if (v->type == YAML_SCALAR_NODE)
        return mp_hook_column(mp, h, v);
    if (v->type != YAML_SEQUENCE_NODE)
        return mp_fail(mp, v, "the key of %s must be a column or a list of columns", h->name);
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++)
        if (mp_hook_column(mp, h, mp_node(mp, *i)) < 0)
            return -1;
    if (h->ncolumns == 0)
        return mp_fail(mp, v, "the key of %s has no column", h->name);
    return 0;
}

static int mp_hook_pair(struct mp *mp, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    struct model_hook *h = obj;
    if (strcmp(key, "key") == 0)
        return mp_hook_key(mp, h, v);
    if (strcmp(key, "keyset") == 0) {
        h->keyset_given = true;
        h->keyset_pos = mp_pos(v);
        return mp_text(mp, v, "keyset", h->keyset, sizeof h->keyset);
    }
    return mp_fail(mp, k, "unknown key '%s' in hook %s (key, keyset)", key, h->name);
}

static int mp_hooks(struct mp *mp, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    struct model_bag *bag = obj;
    (void)key;
    struct model_hook *h = MP_PUSH(bag->hooks, bag->nhooks);
    if (h == NULL)
        return error_set(mp->err, "out of memory");
    h->pos = mp_pos(k);
    h->parent = -1;
    if (mp_hook_name(mp, k, h) < 0)
        return -1;
    if (v->type == YAML_MAPPING_NODE) {
        if (mp_each_pair(mp, v, "a hook", mp_hook_pair, h) < 0)
            return -1;
        if (h->ncolumns == 0)
            return mp_fail(mp, v, "hook %s has no key", h->name);
        return 0;
    }
    return mp_hook_key(mp, h, v);
}

static int mp_events(struct mp *mp, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    struct model_bag *bag = obj;
    (void)key;
    struct model_event *e = MP_PUSH(bag->events, bag->nevents);
    if (e == NULL)
        return error_set(mp->err, "out of memory");
    e->pos = mp_pos(k);
    e->column_pos = mp_pos(v);
    if (mp_object_name(mp, k, "event", e->name) < 0)
        return -1;
    return mp_column_name(mp, v, e->column);
}

static int mp_measure_pair(struct mp *mp, void *obj, const char *key, yaml_node_t *k,
                           yaml_node_t *v)
{
    struct model_measure *me = obj;
    if (strcmp(key, "expr") == 0) {
        me->expr_pos = mp_pos(v);
        return mp_strdup(mp, v, "expr", &me->expr);
    }
    if (strcmp(key, "event") == 0) {
        me->event_pos = mp_pos(v);
        return mp_text(mp, v, "event", me->event, sizeof me->event);
    }
    return mp_fail(mp, k, "unknown key '%s' in measure %s (expr, event)", key, me->name);
}

static int mp_measures(struct mp *mp, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    struct model_bag *bag = obj;
    (void)key;
    struct model_measure *me = MP_PUSH(bag->measures, bag->nmeasures);
    if (me == NULL)
        return error_set(mp->err, "out of memory");
    me->pos = mp_pos(k);
    if (mp_object_name(mp, k, "measure", me->name) < 0 ||
        mp_each_pair(mp, v, "a measure", mp_measure_pair, me) < 0)
        return -1;
    if (me->expr == NULL || me->event[0] == '\0')
        return mp_fail(mp, v, "measure %s needs expr and event", me->name);
    return 0;
}

static int mp_bag_pair(struct mp *mp, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    struct model_bag *bag = obj;
    if (strcmp(key, "table") == 0) {
        bag->table_pos = mp_pos(v);
        return mp_object_name(mp, v, "table", bag->table);
    }
    if (strcmp(key, "prefix") == 0) {
        bag->prefix_pos = mp_pos(v);
        if (mp_object_name(mp, v, "prefix", bag->prefix) < 0)
            return -1;
        if (strstr(bag->prefix, "__") != NULL)
            return mp_fail(mp, v, "prefix '%s' may not contain '__'", bag->prefix);
        return 0;
    }
    if (strcmp(key, "strip") == 0)
        return mp_text(mp, v, "strip", bag->strip, sizeof bag->strip);
    if (strcmp(key, "primary") == 0) {
        bag->primary_pos = mp_pos(v);
        return mp_text(mp, v, "primary", bag->primary, sizeof bag->primary);
    }
    if (strcmp(key, "hooks") == 0)
        return mp_each_pair(mp, v, "hooks", mp_hooks, bag);
    if (strcmp(key, "events") == 0)
        return mp_each_pair(mp, v, "events", mp_events, bag);
    if (strcmp(key, "measures") == 0)
        return mp_each_pair(mp, v, "measures", mp_measures, bag);
    return mp_fail(mp, k,
                   "unknown key '%s' in a bag (table, prefix, strip, primary, hooks, events,"
                   " measures)",
                   key);
}

static int mp_bags(struct mp *mp, struct model *m, yaml_node_t *v)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return mp_fail(mp, v, "bags must be a list");
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        yaml_node_t *node = mp_node(mp, *i);
        struct model_bag *bag = MP_PUSH(m->bags, m->nbags);
        if (bag == NULL)
            return error_set(mp->err, "out of memory");
        bag->pos = mp_pos(node);
        bag->primary_hook = -1;
        if (mp_each_pair(mp, node, "a bag", mp_bag_pair, bag) < 0)
            return -1;
        if (bag->table[0] == '\0')
            return mp_fail(mp, node, "a bag needs a table");
        if (bag->prefix[0] == '\0') {
            snprintf(bag->prefix, sizeof bag->prefix, "%s", bag->table);
            bag->prefix_pos = bag->table_pos;
        }
    }
    return 0;
}

/* -------------------------------------------------------------- dar / kimball */

static int mp_dar_pair(struct mp *mp, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    struct model *m = obj;
    if (strcmp(key, "bridge") == 0) {
        m->bridge_pos = mp_pos(v);
        return mp_object_name(mp, v, "bridge", m->bridge);
    }
    if (strcmp(key, "calendar") == 0) {
        m->calendar_pos = mp_pos(v);
        return mp_object_name(mp, v, "calendar", m->calendar);
    }
    return mp_fail(mp, k, "unknown key '%s' in dar (bridge, calendar)", key);
}

static int mp_dimension_pair(struct mp *mp, void *obj, const char *key, yaml_node_t *k,
                             yaml_node_t *v)
{
    struct model_dimension *d = obj;
    if (strcmp(key, "bag") == 0) {
        d->bag_pos = mp_pos(v);
        return mp_object_name(mp, v, "bag", d->bag);
    }
    if (strcmp(key, "scd") == 0) {
        const char *s = mp_scalar(v);
        d->scd_pos = mp_pos(v);
        if (s == NULL || (strcmp(s, "1") != 0 && strcmp(s, "2") != 0))
            return mp_fail(mp, v, "scd must be 1 or 2");
        d->scd = s[0] - '0';
        return 0;
    }
    if (strcmp(key, "flatten") == 0) {
        if (v->type != YAML_SEQUENCE_NODE)
            return mp_fail(mp, v, "flatten must be a list of bags");
        for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
             i++) {
            yaml_node_t *item = mp_node(mp, *i);
            char (*grown)[NAMES_MAX] = realloc(d->flatten, (d->nflatten + 1) * sizeof *grown);
            if (grown == NULL)
                return error_set(mp->err, "out of memory");
            d->flatten = grown;
            struct model_pos *pg = realloc(d->flatten_pos, (d->nflatten + 1) * sizeof *pg);
            if (pg == NULL)
                return error_set(mp->err, "out of memory");
            d->flatten_pos = pg;
            d->flatten_pos[d->nflatten] = mp_pos(item);
            if (mp_object_name(mp, item, "bag", d->flatten[d->nflatten++]) < 0)
                return -1;
        }
        return 0;
    }
    return mp_fail(mp, k, "unknown key '%s' in a dimension (bag, scd, flatten)", key);
}

static int mp_fact_pair(struct mp *mp, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    struct model_fact *f = obj;
    if (strcmp(key, "bag") == 0) {
        f->bag_pos = mp_pos(v);
        return mp_object_name(mp, v, "bag", f->bag);
    }
    if (strcmp(key, "event") == 0) {
        f->event_pos = mp_pos(v);
        return mp_object_name(mp, v, "event", f->event);
    }
    return mp_fail(mp, k, "unknown key '%s' in a fact (bag, event)", key);
}

static int mp_kimball_pair(struct mp *mp, void *obj, const char *key, yaml_node_t *k,
                           yaml_node_t *v)
{
    struct model *m = obj;
    bool dims = strcmp(key, "dimensions") == 0;
    if (!dims && strcmp(key, "facts") != 0)
        return mp_fail(mp, k, "unknown key '%s' in kimball (dimensions, facts)", key);
    if (v->type != YAML_SEQUENCE_NODE)
        return mp_fail(mp, v, "%s must be a list", key);
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        yaml_node_t *item = mp_node(mp, *i);
        if (dims) {
            struct model_dimension *d = MP_PUSH(m->dimensions, m->ndimensions);
            if (d == NULL)
                return error_set(mp->err, "out of memory");
            d->pos = mp_pos(item);
            d->scd = 1;
            d->bag_index = -1;
            if (mp_each_pair(mp, item, "a dimension", mp_dimension_pair, d) < 0)
                return -1;
            if (d->bag[0] == '\0')
                return mp_fail(mp, item, "a dimension needs a bag");
        } else {
            struct model_fact *f = MP_PUSH(m->facts, m->nfacts);
            if (f == NULL)
                return error_set(mp->err, "out of memory");
            f->pos = mp_pos(item);
            f->bag_index = -1;
            if (mp_each_pair(mp, item, "a fact", mp_fact_pair, f) < 0)
                return -1;
            if (f->bag[0] == '\0' || f->event[0] == '\0')
                return mp_fail(mp, item, "a fact needs a bag and an event");
        }
    }
    return 0;
}

static int mp_top_pair(struct mp *mp, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    struct model *m = obj;
    if (strcmp(key, "model") == 0) {
        m->name_pos = mp_pos(v);
        return mp_object_name(mp, v, "model", m->name);
    }
    if (strcmp(key, "source") == 0) {
        m->source_pos = mp_pos(v);
        return mp_object_name(mp, v, "domain", m->source);
    }
    if (strcmp(key, "concepts") == 0)
        return mp_each_pair(mp, v, "concepts", mp_concepts, m);
    if (strcmp(key, "keysets") == 0)
        return mp_each_pair(mp, v, "keysets", mp_keysets, m);
    if (strcmp(key, "bags") == 0)
        return mp_bags(mp, m, v);
    if (strcmp(key, "dar") == 0)
        return mp_each_pair(mp, v, "dar", mp_dar_pair, m);
    if (strcmp(key, "kimball") == 0)
        return mp_each_pair(mp, v, "kimball", mp_kimball_pair, m);
    return mp_fail(mp, k,
                   "unknown key '%s' (model, source, concepts, keysets, bags, dar, kimball)", key);
}

/* JSON form: refuse what is not JSON with jansson's position. */
static int mp_check_json(const char *text, size_t len, const char *file, char err[ERROR_MAX])
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, 0, &jerr);
    if (j == NULL)
        return error_set(err, "%s:%d:%d: not valid JSON: %s", file, jerr.line, jerr.column,
                         jerr.text);
    json_decref(j);
    return 0;
}

int model_parse(const char *text, size_t len, const char *file, struct model **out,
                char err[ERROR_MAX])
{
    *out = NULL;
    size_t lead = 0;
    while (lead < len && strchr(" \t\r\n", text[lead]) != NULL)
        lead++;
    if (lead < len && text[lead] == '{' && mp_check_json(text, len, file, err) < 0)
        return -1;

    struct model *m = calloc(1, sizeof *m);
    if (m == NULL)
        return error_set(err, "out of memory");
    snprintf(m->file, sizeof m->file, "%s", file);
    snprintf(m->bridge, sizeof m->bridge, "uss_bridge");
    snprintf(m->calendar, sizeof m->calendar, "calendar");

    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        free(m);
        return error_set(err, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        error_set(err, "%s:%zu:%zu: %s", file, parser.problem_mark.line + 1,
                  parser.problem_mark.column + 1,
                  parser.problem != NULL ? parser.problem : "not valid YAML");
        yaml_parser_delete(&parser);
        model_free(&m);
        return -1;
    }
    struct mp mp = {.doc = &doc, .file = file, .err = err};
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL)
        rc = error_set(err, "%s:1:1: the concept file is empty", file);
    else if (mp_each_pair(&mp, root, "the concept file", mp_top_pair, m) < 0)
        rc = -1;
    else if (m->name[0] == '\0')
        rc = mp_fail(&mp, root, "the concept file needs 'model: <name>'");
    else if (m->source[0] == '\0')
        rc = mp_fail(&mp, root, "the concept file needs 'source: <silver domain>'");
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc < 0) {
        model_free(&m);
        return -1;
    }
    *out = m;
    return 0;
}

void model_free(struct model **model)
{
    struct model *m = *model;
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nconcepts; i++)
        free(m->concepts[i].definition);
    free(m->concepts);
    free(m->keysets);
    for (size_t i = 0; i < m->nbags; i++) {
        struct model_bag *b = &m->bags[i];
        for (size_t k = 0; k < b->nhooks; k++) {
            free(b->hooks[k].columns);
            free(b->hooks[k].column_pos);
        }
        free(b->hooks);
        free(b->events);
        for (size_t k = 0; k < b->nmeasures; k++)
            free(b->measures[k].expr);
        free(b->measures);
        free(b->columns);
        free(b->stage);
    }
    free(m->order);
    free(m->bags);
    for (size_t i = 0; i < m->ndimensions; i++) {
        free(m->dimensions[i].flatten);
        free(m->dimensions[i].flatten_pos);
    }
    free(m->dimensions);
    free(m->facts);
    free(m);
    *model = NULL;
}

int model_domain(const char *model_name, const char *layer, char out[NAMES_MAX])
{
    int n = snprintf(out, NAMES_MAX, "%s_%s", model_name, layer);
    return n < 0 || n >= NAMES_MAX ? -1 : 0;
}

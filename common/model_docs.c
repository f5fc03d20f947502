/* model_docs.c - documentation of a checked model (model.h): the glossary,
 * the keysets, the column dictionary of every bag, the DAS -> DAB -> DAR DAG
 * and an entity-relationship diagram, as Markdown (with Mermaid blocks) or
 * as Mermaid alone. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void docs_flow(struct strbuf *b, const struct model *m)
{
    char dab[NAMES_MAX], dar[NAMES_MAX];
    model_domain(m->name, "dab", dab);
    model_domain(m->name, "dar", dar);
    strbuf_addf(b, "flowchart LR\n");
    for (size_t i = 0; i < m->nbags; i++) {
        const struct model_bag *bag = &m->bags[i];
        strbuf_addf(b, "    das_%s[\"%s.silver.%s\"] --> dab_%s[\"%s.gold.bag__%s\"]\n",
                    bag->table, m->source, bag->table, bag->table, dab, bag->table);
        strbuf_addf(b, "    dab_%s --> stage_%s[\"%s.gold.bridge__%s\"]\n", bag->table,
                    bag->table, dar, bag->table);
        for (size_t h = 0; h < bag->nhooks; h++) {
            int p = bag->hooks[h].parent;
            if (p >= 0 && p != (int)i)
                strbuf_addf(b, "    stage_%s --> stage_%s\n", m->bags[p].table, bag->table);
        }
        if (bag->nevents > 0)
            strbuf_addf(b, "    stage_%s --> events_%s[\"%s.gold.events__%s\"] --> bridge\n",
                        bag->table, bag->table, dar, bag->table);
        else
            strbuf_addf(b, "    stage_%s --> bridge\n", bag->table);
    }
    strbuf_addf(b, "    bridge[\"%s.gold.%s\"] --> calendar[\"%s.gold.%s\"]\n", dar, m->bridge,
                dar, m->calendar);
}

static void docs_er(struct strbuf *b, const struct model *m)
{
    strbuf_addf(b, "erDiagram\n");
    for (size_t i = 0; i < m->nbags; i++) {
        const struct model_bag *bag = &m->bags[i];
        for (size_t h = 0; h < bag->nhooks; h++) {
            int p = bag->hooks[h].parent;
            if (p >= 0)
                strbuf_addf(b, "    %s }o--|| %s : \"%s\"\n", bag->table, m->bags[p].table,
                            bag->hooks[h].name);
        }
    }
    for (size_t i = 0; i < m->nbags; i++) {
        const struct model_bag *bag = &m->bags[i];
        strbuf_addf(b, "    %s {\n", bag->table);
        for (size_t h = 0; h < bag->nhooks; h++)
            strbuf_addf(b, "        text %s%s\n", bag->hooks[h].name,
                        (int)h == bag->primary_hook ? " PK" : " FK");
        for (size_t c = 0; c < bag->ncolumns; c++)
            strbuf_addf(b, "        %s %s\n", schema_type_name(bag->columns[c].type),
                        bag->columns[c].name);
        strbuf_addf(b, "    }\n");
    }
}

char *model_docs(const struct model *m, const char *format, char err[ERROR_MAX])
{
    if (!m->checked) {
        error_set(err, "model %s is not checked", m->name);
        return NULL;
    }
    bool md = strcmp(format, "md") == 0;
    if (!md && strcmp(format, "mermaid") != 0) {
        error_set(err, "unknown docs format '%s' (md | mermaid)", format);
        return NULL;
    }
    struct strbuf b = {0};
    if (!md) {
        docs_flow(&b, m);
        strbuf_addf(&b, "\n");
        docs_er(&b, m);
    } else {
        strbuf_addf(&b, "# Model %s\n\nSource (DAS): silver domain `%s`.\n\n## Glossary\n\n"
                        "| concept | type | definition |\n|---|---|---|\n",
                    m->name, m->source);
        for (size_t i = 0; i < m->nconcepts; i++)
            strbuf_addf(&b, "| %s | %s | %s |\n", m->concepts[i].name,
                        m->concepts[i].type[0] ? m->concepts[i].type : "core",
                        m->concepts[i].definition ? m->concepts[i].definition : "");
        strbuf_addf(&b, "\n## Keysets\n\n| keyset | concept | primary of |\n|---|---|---|\n");
        for (size_t i = 0; i < m->nkeysets; i++) {
            const char *bag = "";
            for (size_t k = 0; k < m->nbags; k++)
                if (m->bags[k].primary_hook >= 0 &&
                    strcmp(m->bags[k].hooks[m->bags[k].primary_hook].keyset,
                           m->keysets[i].name) == 0)
                    bag = m->bags[k].table;
            strbuf_addf(&b, "| %s | %s | %s |\n", m->keysets[i].name, m->keysets[i].concept, bag);
        }
        strbuf_addf(&b, "\n## Column dictionary\n");
        for (size_t i = 0; i < m->nbags; i++) {
            const struct model_bag *bag = &m->bags[i];
            strbuf_addf(&b, "\n### bag__%s (from %s.silver.%s)\n\n| column | from | type |\n"
                            "|---|---|---|\n",
                        bag->table, m->source, bag->table);
            for (size_t h = 0; h < bag->nhooks; h++) {
                const struct model_hook *hook = &bag->hooks[h];
                strbuf_addf(&b, "| %s | '%s\\|' \\|\\| ", hook->name, hook->keyset);
                for (size_t c = 0; c < hook->ncolumns; c++)
                    strbuf_addf(&b, "%s%s", c ? " ~ " : "", hook->columns[c]);
                strbuf_addf(&b, " | hook%s |\n", (int)h == bag->primary_hook ? " (primary)" : "");
            }
            for (size_t c = 0; c < bag->ncolumns; c++)
                strbuf_addf(&b, "| %s | %s | %s |\n", bag->columns[c].name,
                            bag->columns[c].source, schema_type_name(bag->columns[c].type));
            for (size_t e = 0; e < bag->nevents; e++)
                strbuf_addf(&b, "| event__%s__%s | %s | event flag (bridge) |\n", bag->prefix,
                            bag->events[e].name, bag->events[e].column);
            for (size_t k = 0; k < bag->nmeasures; k++)
                strbuf_addf(&b, "| measure__%s__%s | %s | measure at %s (bridge) |\n",
                            bag->prefix, bag->measures[k].name, bag->measures[k].expr,
                            bag->measures[k].event);
        }
        strbuf_addf(&b, "\n## DAS -> DAB -> DAR\n\n```mermaid\n");
        docs_flow(&b, m);
        strbuf_addf(&b, "```\n\n## Entities and relations\n\n```mermaid\n");
        docs_er(&b, m);
        strbuf_addf(&b, "```\n");
    }
    if (b.failed) {
        strbuf_free(&b);
        error_set(err, "out of memory");
        return NULL;
    }
    return b.s;
}

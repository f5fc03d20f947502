/* http_lineage.c - lineage over HTTP:
 *   GET /lineage/graph -> {"nodes":[...], "edges":[...]}: the whole pipeline
 *       from the catalog and the job SQL (job_dependencies), no table scans.
 *       Node {"id":"<domain>.<layer>.<table>","domain","layer","table",
 *       "job":"<domain>/<job>" (gold only)}: a bronze and a silver node per
 *       endpoint, a gold node per job; a table a job reads that no endpoint
 *       or job makes gets a node too. Edge {"from","to","job" (into gold)}.
 *   GET /tables/{domain}/gold/{table}/lineage[?snapshot=N&files=N]
 *       = lakehouse lineage --json (lineage_tree.h). */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "lineage_tree.h"
#include "sqlref.h"

/* Add the node (once; nodes is an object keyed by id for lookups). */
static json_t *http_lineage_node(json_t *nodes, json_t *order, const char *domain,
                                 enum sqlref_layer layer, const char *table)
{
    char id[3 * NAMES_MAX + 8];
    snprintf(id, sizeof id, "%s.%s.%s", domain, sqlref_layer_name(layer), table);
    json_t *node = json_object_get(nodes, id);
    if (node != NULL)
        return node;
    node = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "domain", domain, "layer",
                     sqlref_layer_name(layer), "table", table);
    if (node == NULL)
        return NULL;
    json_object_set_new(nodes, id, node);
    json_array_append(order, node);
    return node;
}

static int http_lineage_edge(json_t *edges, const json_t *from, const json_t *to, const char *job)
{
    json_t *e = json_pack("{s:O, s:O}", "from", json_object_get(from, "id"), "to",
                          json_object_get(to, "id"));
    if (e != NULL && job != NULL)
        json_object_set_new(e, "job", json_string(job));
    return e != NULL ? json_array_append_new(edges, e) : -1;
}

void http_lineage_graph(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    json_t *endpoints = NULL;
    struct job_def *jobs = NULL;
    size_t njobs = 0;
    json_t *nodes = json_object(), *order = json_array(), *edges = json_array();
    if (catalog_list_endpoints(catalog, NULL, &endpoints, err) < 0 ||
        catalog_list_jobs(catalog, &jobs, &njobs, err) < 0) {
        http_reply_error(reply, 500, "catalog: %s", err);
        goto done;
    }
    size_t i;
    json_t *ep;
    json_array_foreach(endpoints, i, ep) {
        const char *d = json_string_value(json_object_get(ep, "domain"));
        const char *n = json_string_value(json_object_get(ep, "name"));
        if (d == NULL || n == NULL)
            continue;
        json_t *b = http_lineage_node(nodes, order, d, SQLREF_BRONZE, n);
        json_t *s = http_lineage_node(nodes, order, d, SQLREF_SILVER, n);
        if (b == NULL || s == NULL || http_lineage_edge(edges, b, s, NULL) < 0)
            goto oom;
    }
    for (size_t j = 0; j < njobs; j++) {
        char label[2 * NAMES_MAX];
        snprintf(label, sizeof label, "%s/%s", jobs[j].domain, jobs[j].name);
        json_t *g = http_lineage_node(nodes, order, jobs[j].domain, SQLREF_GOLD, jobs[j].name);
        if (g == NULL)
            goto oom;
        json_object_set_new(g, "job", json_string(label));
    }
    for (size_t j = 0; j < njobs; j++) {
        char label[2 * NAMES_MAX];
        snprintf(label, sizeof label, "%s/%s", jobs[j].domain, jobs[j].name);
        json_t *g = http_lineage_node(nodes, order, jobs[j].domain, SQLREF_GOLD, jobs[j].name);
        struct sqlref *refs = NULL;
        size_t nrefs = 0;
        if (job_dependencies(&jobs[j], &refs, &nrefs, err) < 0)
            continue; /* an invalid stored job: no edges (its runs fail and say why) */
        for (size_t k = 0; k < nrefs; k++) {
            json_t *in = http_lineage_node(nodes, order, refs[k].domain, refs[k].layer,
                                           refs[k].table);
            if (in == NULL || http_lineage_edge(edges, in, g, label) < 0) {
                free(refs);
                goto oom;
            }
        }
        free(refs);
    }
    http_reply_json(reply, 200, json_pack("{s:O, s:O}", "nodes", order, "edges", edges));
    goto done;
oom:
    http_reply_error(reply, 500, "out of memory");
done:
    for (size_t j = 0; j < njobs; j++)
        job_clear(&jobs[j]);
    free(jobs);
    json_decref(endpoints);
    json_decref(nodes);
    json_decref(order);
    json_decref(edges);
    catalog_close(&catalog);
}

/* Non-negative integer argument (positive when positive is set): 1 set,
 * 0 absent, -1 after a 400. */
static int http_lineage_number(struct http_request *req, struct http_reply *reply,
                               const char *name, bool positive, int64_t *out)
{
    const char *text = http_request_arg(req, name);
    if (text == NULL)
        return 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || (positive && v <= 0)) {
        http_reply_error(reply, 400, "%s must be a %s number, got '%.40s'", name,
                         positive ? "positive" : "non-negative", text);
        return -1;
    }
    *out = v;
    return 1;
}

void http_lineage_gold(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    int64_t snapshot = 0, files = LINEAGE_TREE_FILES_DEFAULT;
    if (http_lineage_number(req, reply, "snapshot", true, &snapshot) < 0 ||
        http_lineage_number(req, reply, "files", false, &files) < 0)
        return;
    json_t *tree = NULL;
    int rc = lineage_tree_gold(req->cfg->data_dir, req->params[0], req->params[1], snapshot,
                               files, &tree, err);
    if (rc != 0) {
        http_reply_error(reply, rc == 1 ? 404 : 500, "lineage of %s/%s: %s", req->params[0],
                         req->params[1], err);
        return;
    }
    http_reply_json(reply, 200, tree);
}

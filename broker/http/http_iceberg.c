/* http_iceberg.c - a read-only Iceberg REST catalog over the exported tables.
 * Namespaces are <domain>_bronze, <domain>_silver and <domain>_gold for every
 * domain with an endpoint or a job; a namespace's tables are those the
 * exporter committed. The current metadata file of a table is the pointer
 * the exporter commits in SQLite (_iceberg_tables of the layer's database;
 * bronze: _iceberg_bronze_tables of the silver database);
 * a layer whose database has no such state is read from the committed
 * version hints under <namespace>/ of the table store. Metadata files are
 * read through the table store (iceberg_store.h: <data>/iceberg, or the S3
 * bucket with iceberg_export "s3", whose settings a table load hands to
 * clients in its config). Errors have the catalog's shape
 * {"error": {"message", "type", "code"}}. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "http_internal.h"
#include "iceberg_store.h"
#include "iceberg_table.h"
#include "job.h"
#include "layout.h"
#include "log.h"

#define ICEBERG_PREFIX "lakehouse"
#define ICEBERG_METADATA_MAX (64 * 1024 * 1024)
#define ICEBERG_HINT_SUFFIX "/metadata/version-hint.text"

static const char *const iceberg_layers[] = {"bronze", "silver", "gold"};

void http_iceberg_error(struct http_reply *reply, unsigned code, const char *type,
                        const char *fmt, ...)
{
    char msg[ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    http_reply_error_text(msg, code, "http iceberg error", fmt, ap);
    va_end(ap);
    http_reply_json(reply, code,
                    json_pack("{s:{s:s,s:s,s:i}}", "error", "message", msg, "type", type, "code",
                              (int)code));
}

void http_iceberg_config(struct http_request *req, struct http_reply *reply)
{
    (void)req;
    json_t *endpoints = json_pack(
        "[s,s,s,s,s,s]", "GET /v1/{prefix}/namespaces", "GET /v1/{prefix}/namespaces/{namespace}",
        "HEAD /v1/{prefix}/namespaces/{namespace}", "GET /v1/{prefix}/namespaces/{namespace}/tables",
        "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
        "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}");
    http_reply_json(reply, 200,
                    json_pack("{s:{},s:{s:s},s:o}", "defaults", "overrides", "prefix",
                              ICEBERG_PREFIX, "endpoints", endpoints));
}

static int iceberg_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj as a JSON array of strings in byte order (new reference). */
static json_t *iceberg_sorted_keys(json_t *obj)
{
    size_t n = json_object_size(obj), i = 0;
    const char **keys = calloc(n + 1, sizeof *keys);
    json_t *out = json_array();
    if (keys == NULL)
        return out;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) keys[i++] = key;
    qsort(keys, n, sizeof *keys, iceberg_cmp);
    for (i = 0; i < n; i++)
        json_array_append_new(out, json_string(keys[i]));
    free(keys);
    return out;
}

/* Every domain with an endpoint or a job, as a sorted JSON array of strings. */
static json_t *iceberg_domains(struct http_request *req, struct http_reply *reply)
{
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return NULL;
    char err[ERROR_MAX];
    json_t *endpoints = NULL, *domains = json_object();
    struct job_def *jobs = NULL;
    size_t njobs = 0;
    if (catalog_list_endpoints(catalog, NULL, &endpoints, err) < 0 ||
        catalog_list_jobs(catalog, &jobs, &njobs, err) < 0) {
        http_iceberg_error(reply, 500, "ServiceFailureException", "catalog: %s", err);
        catalog_close(&catalog);
        json_decref(endpoints);
        json_decref(domains);
        return NULL;
    }
    size_t i;
    json_t *e;
    json_array_foreach(endpoints, i, e) {
        const char *d = json_string_value(json_object_get(e, "domain"));
        if (d != NULL)
            json_object_set_new(domains, d, json_true());
    }
    for (i = 0; i < njobs; i++) {
        json_object_set_new(domains, jobs[i].domain, json_true());
        job_clear(&jobs[i]);
    }
    free(jobs);
    json_decref(endpoints);
    catalog_close(&catalog);
    json_t *out = iceberg_sorted_keys(domains);
    json_decref(domains);
    return out;
}

/* Split "<domain>_<layer>" into domain and layer; -1 if it is not one. */
static int iceberg_namespace(const char *ns, char domain[NAMES_MAX], const char **layer)
{
    const char *us = strrchr(ns, '_');
    if (us == NULL || us == ns || (size_t)(us - ns) >= NAMES_MAX)
        return -1;
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(us + 1, iceberg_layers[i]) == 0) {
            *layer = iceberg_layers[i];
            snprintf(domain, NAMES_MAX, "%.*s", (int)(us - ns), ns);
            char err[ERROR_MAX];
            return names_check_object("domain", domain, err);
        }
    }
    return -1;
}

/* 1 when domain is known, 0 when not (404 answered), -1 on error (answered). */
static int iceberg_namespace_exists(struct http_request *req, struct http_reply *reply,
                                    const char *ns, char domain[NAMES_MAX], const char **layer)
{
    if (iceberg_namespace(ns, domain, layer) < 0) {
        http_iceberg_error(reply, 404, "NoSuchNamespaceException",
                           "namespace '%.100s' does not exist (namespaces are <domain>_bronze, "
                           "<domain>_silver and <domain>_gold)", ns);
        return 0;
    }
    json_t *domains = iceberg_domains(req, reply);
    if (domains == NULL)
        return -1;
    size_t i;
    json_t *d;
    int found = 0;
    json_array_foreach(domains, i, d) if (strcmp(json_string_value(d), domain) == 0) found = 1;
    json_decref(domains);
    if (!found)
        http_iceberg_error(reply, 404, "NoSuchNamespaceException",
                           "namespace '%.100s' does not exist: no domain '%s'", ns, domain);
    return found;
}

/* ns and table of the route: /iceberg/v1/{prefix}/namespaces/{ns}[/tables/{table}]. */
static const char *iceberg_param_ns(const struct http_request *req) { return req->params[1]; }
static const char *iceberg_param_table(const struct http_request *req) { return req->params[2]; }

void http_iceberg_namespaces(struct http_request *req, struct http_reply *reply)
{
    const char *parent = http_request_arg(req, "parent");
    json_t *list = json_array();
    if (parent != NULL && parent[0] != '\0') {
        /* one level only: no namespace has children */
        http_reply_json(reply, 200, json_pack("{s:o}", "namespaces", list));
        return;
    }
    json_t *domains = iceberg_domains(req, reply);
    if (domains == NULL) {
        json_decref(list);
        return;
    }
    size_t i;
    json_t *d;
    json_array_foreach(domains, i, d) {
        for (size_t l = 0; l < 3; l++) {
            char ns[NAMES_MAX + 16];
            snprintf(ns, sizeof ns, "%s_%s", json_string_value(d), iceberg_layers[l]);
            json_array_append_new(list, json_pack("[s]", ns));
        }
    }
    json_decref(domains);
    http_reply_json(reply, 200, json_pack("{s:o}", "namespaces", list));
}

void http_iceberg_namespace(struct http_request *req, struct http_reply *reply)
{
    char domain[NAMES_MAX];
    const char *layer;
    const char *ns = iceberg_param_ns(req);
    if (iceberg_namespace_exists(req, reply, ns, domain, &layer) != 1)
        return;
    if (strcmp(req->method, "HEAD") == 0) {
        http_reply_clear(reply);
        reply->status = 204;
        return;
    }
    http_reply_json(reply, 200,
                    json_pack("{s:[s],s:{s:s,s:s}}", "namespace", ns, "properties", "domain",
                              domain, "layer", layer));
}

/* The table store the exporters write to; a local one at <data>/iceberg
 * when export is off (tables exported before stay readable). NULL with err.
 * Caller owns. */
static struct iceberg_store *iceberg_catalog_store(const struct config *cfg, char err[ERROR_MAX])
{
    if (strcmp(cfg->iceberg_export, "s3") == 0 || strcmp(cfg->iceberg_export, "local") == 0)
        return iceberg_store_open(cfg, err);
    char root[PATH_MAX];
    if (layout_iceberg_dir(root, sizeof root, cfg->data_dir, NULL, NULL, NULL, err) < 0)
        return NULL;
    return iceberg_store_open_dir(root, err);
}

/* What iceberg_hint_found collects: {table: metadata location}. */
struct iceberg_hints {
    struct iceberg_store *store;
    json_t *out;
    size_t prefix_len; /* of "<namespace>/" */
};

/* A file of the namespace (iceberg_store_list_fn): a table's version hint
 * adds the table with the metadata file it names. */
static int iceberg_hint_found(const char *key, int64_t size, int64_t mtime_ms, void *arg)
{
    (void)size;
    (void)mtime_ms;
    struct iceberg_hints *h = arg;
    const char *table = key + h->prefix_len, *slash = strchr(table, '/');
    char name[NAMES_MAX], dir[PATH_MAX], meta[PATH_MAX], uri[PATH_MAX], err[ERROR_MAX];
    if (slash == NULL || slash == table || (size_t)(slash - table) >= sizeof name ||
        strcmp(slash, ICEBERG_HINT_SUFFIX) != 0)
        return 0;
    snprintf(name, sizeof name, "%.*s", (int)(slash - table), table);
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - key), key);
    int64_t v = iceberg_read_version_hint(h->store, dir, err);
    if (name[0] != '.' && v > 0 && iceberg_metadata_path(meta, dir, v, err) == 0 &&
        iceberg_store_uri(h->store, meta, uri, err) == 0)
        json_object_set_new(h->out, name, json_string(uri));
    return 0;
}

/* The exported tables of a namespace: {name: metadata file} in a JSON
 * object (new reference), or NULL with err. */
static json_t *iceberg_tables(const struct config *cfg, const char *domain, const char *layer,
                              char err[ERROR_MAX])
{
    json_t *out = json_object();
    char db_path[PATH_MAX] = "";
    bool bronze = strcmp(layer, "bronze") == 0; /* its state is in the silver database */
    if (bronze || strcmp(layer, "silver") == 0)
        layout_silver_db(db_path, sizeof db_path, cfg->data_dir, domain);
    else if (strcmp(layer, "gold") == 0)
        layout_gold_db(db_path, sizeof db_path, cfg->data_dir, domain);
    sqlite3 *db = NULL;
    bool state = false;
    if (db_path[0] != '\0' &&
        sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, bronze ? "SELECT endpoint, metadata_file FROM "
                                            "_iceberg_bronze_tables ORDER BY endpoint"
                                          : "SELECT table_name, metadata_file FROM _iceberg_tables "
                                            "ORDER BY table_name", -1, &st, NULL) == SQLITE_OK) {
            state = true;
            int rc;
            while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                json_object_set_new(out, (const char *)sqlite3_column_text(st, 0),
                                    json_string((const char *)sqlite3_column_text(st, 1)));
            if (rc != SQLITE_DONE) {
                error_set(err, "%s: %s", db_path, sqlite3_errmsg(db));
                json_decref(out);
                out = NULL;
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    if (state || out == NULL)
        return out;
    /* no export state for this layer: the committed version hints */
    struct iceberg_store *store = iceberg_catalog_store(cfg, err);
    char ns[2 * NAMES_MAX], prefix[2 * NAMES_MAX + 1];
    if (store == NULL || layout_iceberg_namespace(ns, sizeof ns, domain, layer, err) < 0) {
        iceberg_store_free(&store);
        json_decref(out);
        return NULL;
    }
    snprintf(prefix, sizeof prefix, "%s/", ns);
    struct iceberg_hints h = {.store = store, .out = out, .prefix_len = strlen(prefix)};
    if (iceberg_store_list(store, prefix, iceberg_hint_found, &h, err) != S3_OK) {
        json_decref(out);
        out = NULL;
    }
    iceberg_store_free(&store);
    return out;
}

/* The tables of namespace ns ({name: metadata location}, new reference), or
 * NULL with the error answered (404 for an unknown namespace). */
static json_t *iceberg_namespace_tables(struct http_request *req, struct http_reply *reply,
                                        const char *ns)
{
    char domain[NAMES_MAX], err[ERROR_MAX];
    const char *layer;
    if (iceberg_namespace_exists(req, reply, ns, domain, &layer) != 1)
        return NULL;
    json_t *tables = iceberg_tables(req->cfg, domain, layer, err);
    if (tables == NULL)
        http_iceberg_error(reply, 500, "ServiceFailureException", "%s", err);
    return tables;
}

void http_iceberg_tables(struct http_request *req, struct http_reply *reply)
{
    const char *ns = iceberg_param_ns(req);
    json_t *tables = iceberg_namespace_tables(req, reply, ns);
    if (tables == NULL)
        return;
    json_t *ids = json_array(), *names = iceberg_sorted_keys(tables);
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
        json_array_append_new(ids, json_pack("{s:[s],s:O}", "namespace", ns, "name", name));
    json_decref(names);
    json_decref(tables);
    http_reply_json(reply, 200, json_pack("{s:o}", "identifiers", ids));
}

/* The metadata document at location (a local path or s3://bucket/key of
 * the table store). */
static json_t *iceberg_read_metadata(struct iceberg_store *store, const char *location,
                                     char err[ERROR_MAX])
{
    char key[PATH_MAX];
    struct strbuf b = {0};
    if (iceberg_store_key_of(store, location, key, err) < 0 ||
        iceberg_store_get(store, key, &b, err) != S3_OK) {
        strbuf_free(&b);
        return NULL;
    }
    json_error_t jerr;
    json_t *meta = b.len <= ICEBERG_METADATA_MAX ? json_loadb(b.s, b.len, 0, &jerr) : NULL;
    if (meta == NULL)
        error_set(err, "%.300s: %s", location,
                  b.len > ICEBERG_METADATA_MAX ? "too large" : jerr.text);
    strbuf_free(&b);
    return meta;
}

void http_iceberg_table(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    const char *ns = iceberg_param_ns(req), *table = iceberg_param_table(req);
    json_t *tables = iceberg_namespace_tables(req, reply, ns);
    if (tables == NULL)
        return;
    const char *location = json_string_value(json_object_get(tables, table));
    if (location == NULL) {
        http_iceberg_error(reply, 404, "NoSuchTableException",
                           "table %s.%s does not exist (not exported yet?)", ns, table);
        json_decref(tables);
        return;
    }
    if (strcmp(req->method, "HEAD") == 0) {
        json_decref(tables);
        http_reply_clear(reply);
        reply->status = 204;
        return;
    }
    struct iceberg_store *store = iceberg_catalog_store(req->cfg, err);
    json_t *meta = store != NULL ? iceberg_read_metadata(store, location, err) : NULL;
    bool s3 = store != NULL && iceberg_store_is_s3(store);
    iceberg_store_free(&store);
    if (meta == NULL) {
        http_iceberg_error(reply, 500, "ServiceFailureException", "table %s.%s: %s", ns, table,
                           err);
        json_decref(tables);
        return;
    }
    json_t *config = json_object();
    if (s3) {
        json_object_set_new(config, "s3.endpoint", json_string(req->cfg->s3_endpoint));
        json_object_set_new(config, "s3.path-style-access",
                            json_string(req->cfg->s3_path_style ? "true" : "false"));
        json_object_set_new(config, "client.region", json_string(req->cfg->s3_region));
    }
    http_reply_json(reply, 200,
                    json_pack("{s:s,s:o,s:o}", "metadata-location", location, "metadata", meta,
                              "config", config));
    json_decref(tables);
}

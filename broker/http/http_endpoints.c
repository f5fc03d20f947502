/* http_endpoints.c - the schema registry over HTTP (/endpoints...), on top of
 * catalog.h, plus the health route.
 *
 * An endpoint is answered as
 *   {id:"domain/name", name, domain, version, mode, endpoint_url, schema_url,
 *    status:"ACTIVE", created_at, updated_at, description, columns}
 * (created_at: first version; updated_at: latest version). Status codes:
 * 201 created, 400 invalid definition, 404 unknown endpoint or version,
 * 409 already exists (POST) or incompatible schema change (PUT).
 * DELETE with delete_data=true also has the processor delete the endpoint's
 * bronze, silver and rejected data (endpoint_drop.h).
 * Every change publishes schema.changed (count = the new version, 0 after a
 * delete); ingest and processor also notice the catalog version by
 * themselves, the event only makes it immediate. */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint_drop.h"
#include "log.h"

static const char *const http_endpoint_orders[] = {"domain", "name", "version", "mode",
                                                   "created_at", "updated_at", NULL};

void http_health(struct http_request *req, struct http_reply *reply)
{
    /* "auth" lets a client (the console) know whether to ask for a token
     * before its first call instead of after a 401. */
    http_reply_json(reply, 200,
                    json_pack("{s:s, s:s, s:s}", "status", "ok", "service", "lakehouse", "auth",
                              req->cfg->http_token[0] ? "bearer" : "none"));
}

/* "http://<Host header>" (or the listen address) so that the URLs in answers
 * work from where the client stands. */
static void http_base_url(const struct http_request *req, char *out, size_t size)
{
    const char *host = http_request_header(req, "Host");
    snprintf(out, size, "http://%.200s", host && host[0] ? host : req->cfg->http_listen);
}

static void http_publish_schema(struct http_request *req, const char *domain, const char *name,
                                int version)
{
    struct event ev = {.topic = EVENT_SCHEMA_CHANGED, .count = version};
    snprintf(ev.domain, sizeof ev.domain, "%s", domain);
    snprintf(ev.name, sizeof ev.name, "%s", name);
    http_server_publish(req->server, &ev);
}

/* Add id, URLs and status to a catalog list row {domain, name, ...}. */
static void http_endpoint_decorate(const struct http_request *req, json_t *row)
{
    const char *d = json_string_value(json_object_get(row, "domain"));
    const char *n = json_string_value(json_object_get(row, "name"));
    char base[256], buf[512];
    http_base_url(req, base, sizeof base);
    snprintf(buf, sizeof buf, "%s/%s", d ? d : "", n ? n : "");
    json_object_set_new(row, "id", json_string(buf));
    snprintf(buf, sizeof buf, "%s/ingest/%s/%s", base, d ? d : "", n ? n : "");
    json_object_set_new(row, "endpoint_url", json_string(buf));
    snprintf(buf, sizeof buf, "%s/endpoints/%s/%s", base, d ? d : "", n ? n : "");
    json_object_set_new(row, "schema_url", json_string(buf));
    json_object_set_new(row, "status", json_string("ACTIVE"));
}

/* The full answer for one endpoint version: catalog timestamps plus the
 * schema. New reference, NULL with a reply set on failure. */
static json_t *http_endpoint_answer(struct http_request *req, struct http_reply *reply,
                                    struct catalog *catalog, const struct schema *schema)
{
    char err[ERROR_MAX];
    json_t *list = NULL;
    if (catalog_list_endpoints(catalog, schema->domain, &list, err) < 0) {
        http_reply_error(reply, 500, "catalog: %s", err);
        return NULL;
    }
    json_t *answer = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row) {
        if (strcmp(json_string_value(json_object_get(row, "name")), schema->name) == 0) {
            json_object_update(answer, row);
            break;
        }
    }
    json_decref(list);
    json_t *def = schema_to_json(schema);
    if (answer == NULL || def == NULL) {
        json_decref(answer);
        json_decref(def);
        http_reply_error(reply, 500, "out of memory");
        return NULL;
    }
    json_object_set_new(answer, "domain", json_string(schema->domain));
    json_object_set_new(answer, "name", json_string(schema->name));
    json_object_set_new(answer, "version", json_integer(schema->version));
    json_object_set_new(answer, "mode", json_string(schema_mode_name(schema->mode)));
    json_object_set(answer, "description", json_object_get(def, "description"));
    json_object_set(answer, "columns", json_object_get(def, "columns"));
    json_decref(def);
    http_endpoint_decorate(req, answer);
    return answer;
}

/* Parse the ?version= argument: 0 (latest) when absent. -1 with 400 set. */
static int http_version_arg(struct http_request *req, struct http_reply *reply, int *version)
{
    const char *v = http_request_arg(req, "version");
    *version = 0;
    if (v == NULL || v[0] == '\0')
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end != '\0' || n < 1 || n > 1000000000) {
        http_reply_error(reply, 400, "query parameter 'version': expected a positive integer, "
                                     "got '%.50s'", v);
        return -1;
    }
    *version = (int)n;
    return 0;
}

/* Load one endpoint version; 1 found, 0 answered 404, -1 answered 500. */
static int http_endpoint_load(struct http_request *req, struct http_reply *reply,
                              struct catalog *catalog, int version, struct schema **out)
{
    char err[ERROR_MAX];
    const char *d = req->params[0], *n = req->params[1];
    int found = catalog_get_endpoint(catalog, d, n, version, out, err);
    if (found < 0)
        http_reply_error(reply, 500, "catalog: %s", err);
    else if (found == 0 && version == 0)
        http_reply_error(reply, 404, "no endpoint %s/%s", d, n);
    else if (found == 0)
        http_reply_error(reply, 404, "endpoint %s/%s has no version %d", d, n, version);
    return found;
}

/* For a create or an update: the definition in body (*schema), the catalog,
 * and the endpoint's current version (*current). 1 the endpoint exists, 0 it
 * does not, -1 after replying. */
static int http_endpoint_prepare(struct http_request *req, struct http_reply *reply, json_t *body,
                                 struct schema **schema, struct catalog **catalog, int *current)
{
    char err[ERROR_MAX];
    *schema = schema_from_json(body, err);
    if (*schema == NULL) {
        http_reply_error(reply, 400, "endpoint definition: %s", err);
        return -1;
    }
    if ((*catalog = http_catalog(req, reply)) == NULL)
        return -1;
    int found = catalog_endpoint_version(*catalog, (*schema)->domain, (*schema)->name, current,
                                         err);
    if (found < 0)
        http_reply_error(reply, 500, "catalog: %s", err);
    return found;
}

/* Store schema as the endpoint's next version (before: its version now, 0
 * for none) and answer status with it; a refused change of the schema is a
 * conflict with the stored version, a definition wrong in itself (e.g. a
 * bad expectation) is 400 (the failure's kind). A new version is logged
 * and published (schema.changed). */
static void http_endpoint_store(struct http_request *req, struct http_reply *reply,
                                struct catalog *catalog, struct schema *schema, int before,
                                unsigned status)
{
    char err[ERROR_MAX];
    int version = 0;
    int stored = catalog_put_endpoint(catalog, schema, &version, err);
    if (stored < 0) {
        http_reply_failure(reply, stored, err);
        return;
    }
    schema->version = version;
    if (version != before) {
        log_info("http endpoint_%s endpoint=%s/%s version=%d", before == 0 ? "created" : "updated",
                 schema->domain, schema->name, version);
        http_publish_schema(req, schema->domain, schema->name, version);
    }
    json_t *answer = http_endpoint_answer(req, reply, catalog, schema);
    if (answer != NULL)
        http_reply_json(reply, status, answer);
}

void http_endpoints_create(struct http_request *req, struct http_reply *reply)
{
    struct catalog *catalog = NULL;
    struct schema *schema = NULL;
    json_t *body = http_body_json(req, reply);
    if (body == NULL)
        return;
    int existing = 0;
    int found = http_endpoint_prepare(req, reply, body, &schema, &catalog, &existing);
    if (found < 0)
        goto done;
    if (found == 1) {
        http_reply_error(reply, 409, "endpoint %s/%s already exists (version %d); change its "
                                     "schema with PUT /endpoints/%s/%s",
                         schema->domain, schema->name, existing, schema->domain, schema->name);
        goto done;
    }
    http_endpoint_store(req, reply, catalog, schema, 0, 201);
done:
    schema_destroy(&schema);
    catalog_close(&catalog);
    json_decref(body);
}

void http_endpoints_list(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    const char *domain = http_request_arg(req, "domain");
    if (domain != NULL && domain[0] == '\0')
        domain = NULL;
    if (domain != NULL && names_check_object("domain", domain, err) < 0) {
        http_reply_error(reply, 400, "query parameter 'domain': %s", err);
        return;
    }
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    json_t *list = NULL;
    if (catalog_list_endpoints(catalog, domain, &list, err) < 0) {
        http_reply_error(reply, 500, "catalog: %s", err);
        goto done;
    }
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row) http_endpoint_decorate(req, row);
    if (http_sort_by(reply, list, http_request_arg(req, "order_by"), http_endpoint_orders) == 0) {
        http_reply_json(reply, 200, list);
        list = NULL;
    }
done:
    json_decref(list);
    catalog_close(&catalog);
}

void http_endpoints_get(struct http_request *req, struct http_reply *reply)
{
    int version;
    if (http_version_arg(req, reply, &version) < 0)
        return;
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    struct schema *schema = NULL;
    if (http_endpoint_load(req, reply, catalog, version, &schema) == 1) {
        json_t *answer = http_endpoint_answer(req, reply, catalog, schema);
        if (answer != NULL)
            http_reply_json(reply, 200, answer);
    }
    schema_destroy(&schema);
    catalog_close(&catalog);
}

void http_endpoints_update(struct http_request *req, struct http_reply *reply)
{
    const char *d = req->params[0], *n = req->params[1];
    struct catalog *catalog = NULL;
    struct schema *schema = NULL;
    json_t *body = http_body_json(req, reply);
    if (body == NULL)
        return;
    if (!json_is_object(body)) {
        http_reply_error(reply, 400, "endpoint definition: expected a JSON object");
        goto done;
    }
    /* domain and name come from the path; if the body repeats them they
     * must agree, so that a PUT never silently writes another endpoint. */
    static const char *const keys[2] = {"domain", "name"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, keys[i]);
        if (v != NULL && (!json_is_string(v) || strcmp(json_string_value(v), req->params[i]))) {
            http_reply_error(reply, 400, "endpoint definition: '%s' in the body does not match "
                                         "the path /endpoints/%s/%s", keys[i], d, n);
            goto done;
        }
        json_object_set_new(body, keys[i], json_string(req->params[i]));
    }
    int before = 0;
    int found = http_endpoint_prepare(req, reply, body, &schema, &catalog, &before);
    if (found < 0)
        goto done;
    if (found == 0) {
        http_reply_error(reply, 404, "no endpoint %s/%s (create it with POST /endpoints)", d, n);
        goto done;
    }
    http_endpoint_store(req, reply, catalog, schema, before, 200);
done:
    schema_destroy(&schema);
    catalog_close(&catalog);
    json_decref(body);
}

/* DELETE ...?delete_data=true after the catalog part: 200 with what was
 * deleted; 404 when there was neither an endpoint nor data; 503 (Retry-After)
 * when the processor does not answer or ingest kept a spool open. */
static void http_endpoints_drop_data(struct http_request *req, struct http_reply *reply,
                                     const char *d, const char *n, bool deleted)
{
    char err[ERROR_MAX];
    struct control_reply crep;
    if (endpoint_drop_data(http_server_zmq(req->server), req->cfg, d, n, deleted, &crep,
                           err) < 0) {
        http_reply_error(reply, 503, "%s%s; the data of %s/%s is kept, send the request again",
                         deleted ? "endpoint deleted, but " : "", err, d, n);
        reply->retry_after = 5;
        return;
    }
    if (!crep.ok) {
        if (endpoint_drop_nothing(&crep) && !deleted) {
            http_reply_error(reply, 404, "no endpoint %s/%s", d, n);
        } else if (endpoint_drop_nothing(&crep)) {
            crep.count = crep.id = 0; /* an endpoint without data: deleted */
            crep.ok = true;
        } else {
            http_reply_error(reply, endpoint_drop_busy(&crep) ? 503 : 500,
                             "%sdeleting the data of %s/%s: %s",
                             deleted ? "endpoint deleted, but " : "", d, n, crep.message);
            if (endpoint_drop_busy(&crep))
                reply->retry_after = 5;
        }
        if (!crep.ok)
            return;
    }
    log_info("http endpoint_data_deleted endpoint=%s/%s bronze_files=%lld silver_rows=%lld", d, n,
             (long long)crep.count, (long long)crep.id);
    char id[2 * NAMES_MAX];
    snprintf(id, sizeof id, "%s/%s", d, n);
    http_reply_json(reply, 200,
                    json_pack("{s:s, s:s, s:b, s:I, s:I}", "id", id, "status", "deleted",
                              "data_kept", 0, "bronze_files", (json_int_t)crep.count,
                              "silver_rows", (json_int_t)crep.id));
}

void http_endpoints_delete(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    const char *d = req->params[0], *n = req->params[1];
    bool delete_data;
    if (http_arg_bool(req, reply, "delete_data", false, &delete_data) < 0)
        return;
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    int rc = catalog_delete_endpoint(catalog, d, n, err);
    if (rc > 0) {
        log_info("http endpoint_deleted endpoint=%s/%s", d, n);
        http_publish_schema(req, d, n, 0);
    }
    if (rc >= 0 && delete_data) {
        /* The processor, the only writer of silver, deletes the data
         * (endpoint_drop.h). rc == 0: the endpoint went before, maybe by a
         * request whose drop failed; its data may still be there. */
        catalog_close(&catalog);
        http_endpoints_drop_data(req, reply, d, n, rc > 0);
        return;
    }
    if (rc < 0) {
        http_reply_error(reply, 500, "catalog: %s", err);
    } else if (rc == 0) {
        http_reply_error(reply, 404, "no endpoint %s/%s", d, n);
    } else {
        char id[2 * NAMES_MAX];
        snprintf(id, sizeof id, "%s/%s", d, n);
        http_reply_json(reply, 200, json_pack("{s:s, s:s, s:b}", "id", id, "status", "deleted",
                                              "data_kept", 1));
    }
    catalog_close(&catalog);
}

void http_endpoints_versions(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return;
    json_t *list = NULL;
    if (catalog_endpoint_versions(catalog, req->params[0], req->params[1], &list, err) < 0)
        http_reply_error(reply, 500, "catalog: %s", err);
    else if (json_array_size(list) == 0)
        http_reply_error(reply, 404, "no endpoint %s/%s", req->params[0], req->params[1]);
    else {
        http_reply_json(reply, 200, list);
        list = NULL;
    }
    json_decref(list);
    catalog_close(&catalog);
}

/* The schema of ?version= (default latest) in its definition form, the
 * file `lakehouse endpoint create` and POST /endpoints accept. */
static json_t *http_endpoint_definition(struct http_request *req, struct http_reply *reply,
                                        int *version)
{
    if (http_version_arg(req, reply, version) < 0)
        return NULL;
    struct catalog *catalog = http_catalog(req, reply);
    if (catalog == NULL)
        return NULL;
    struct schema *schema = NULL;
    json_t *def = NULL;
    if (http_endpoint_load(req, reply, catalog, *version, &schema) == 1) {
        *version = schema->version;
        def = schema_to_json(schema);
        if (def == NULL)
            http_reply_error(reply, 500, "out of memory");
    }
    schema_destroy(&schema);
    catalog_close(&catalog);
    return def;
}

void http_endpoints_yaml(struct http_request *req, struct http_reply *reply)
{
    int version;
    json_t *def = http_endpoint_definition(req, reply, &version);
    if (def == NULL)
        return;
    size_t len = 0;
    char *text = http_yaml_render(def, &len);
    json_decref(def);
    if (text == NULL)
        http_reply_error(reply, 500, "out of memory");
    else
        http_reply_text(reply, 200, "application/yaml; charset=utf-8", text, len);
}

void http_endpoints_download(struct http_request *req, struct http_reply *reply)
{
    const char *format = http_request_arg(req, "format");
    bool yaml = format != NULL && strcmp(format, "yaml") == 0;
    if (format != NULL && !yaml && strcmp(format, "json") != 0) {
        http_reply_error(reply, 400, "query parameter 'format': expected json or yaml, got "
                                     "'%.50s'", format);
        return;
    }
    int version;
    json_t *def = http_endpoint_definition(req, reply, &version);
    if (def == NULL)
        return;
    size_t len = 0;
    char *text = yaml ? http_yaml_render(def, &len) : json_dumps(def, JSON_INDENT(2));
    json_decref(def);
    if (text == NULL) {
        http_reply_error(reply, 500, "out of memory");
        return;
    }
    if (!yaml) {
        len = strlen(text);
        char *t = realloc(text, len + 2);
        if (t != NULL) {
            text = t;
            text[len++] = '\n';
            text[len] = '\0';
        }
    }
    http_reply_text(reply, 200, yaml ? "application/yaml; charset=utf-8" : "application/json",
                    text, len);
    snprintf(reply->disposition, sizeof reply->disposition,
             "attachment; filename=\"%s.%s.v%d.%s\"", req->params[0], req->params[1], version,
             yaml ? "yaml" : "json");
}

/* POST /endpoints/infer: the body is a sample (one object, an array of
 * objects, or {"data": object-or-array} as sent to /ingest). Answers a
 * definition that POST /endpoints accepts (query domain, name and mode,
 * default MANUAL, fill it in). */
void http_endpoints_infer(struct http_request *req, struct http_reply *reply)
{
    char err[ERROR_MAX];
    struct schema *current = NULL;
    json_t *def = NULL;
    json_t *body = http_body_json(req, reply);
    if (body == NULL)
        return;
    json_t *sample = body;
    json_t *data = json_object_get(body, "data");
    if (json_object_size(body) == 1 && (json_is_object(data) || json_is_array(data)))
        sample = data;
    const char *mode_name = http_request_arg(req, "mode");
    enum schema_mode mode = SCHEMA_MODE_MANUAL;
    if (mode_name != NULL && schema_mode_from_name(mode_name, &mode) < 0) {
        http_reply_error(reply, 400, "query parameter 'mode': expected MANUAL, AUTO_INFERENCE "
                                     "or SINGLE_COLUMN, got '%.50s'", mode_name);
        goto done;
    }
    const char *names[2] = {http_request_arg(req, "domain"), http_request_arg(req, "name")};
    for (int i = 0; i < 2; i++) {
        if (names[i] != NULL && names_check_object(i ? "endpoint" : "domain", names[i], err) < 0) {
            http_reply_error(reply, 400, "%s", err);
            goto done;
        }
    }
    current = calloc(1, sizeof *current);
    if (current == NULL) {
        http_reply_error(reply, 500, "out of memory");
        goto done;
    }
    current->mode = SCHEMA_MODE_AUTO_INFERENCE;
    snprintf(current->domain, sizeof current->domain, "%s", names[0] ? names[0] : "sample");
    snprintf(current->name, sizeof current->name, "%s", names[1] ? names[1] : "sample");
    size_t count = json_is_array(sample) ? json_array_size(sample) : 1;
    for (size_t i = 0; i < count; i++) {
        json_t *record = json_is_array(sample) ? json_array_get(sample, i) : sample;
        if (!json_is_object(record)) {
            http_reply_error(reply, 400, "sample record %zu: expected a JSON object", i);
            goto done;
        }
        struct schema *evolved = NULL;
        int rc = schema_evolve(current, record, &evolved, err);
        if (rc < 0) {
            http_reply_error(reply, 400, "sample record %zu: %s", i, err);
            goto done;
        }
        if (rc == 1) {
            schema_destroy(&current);
            current = evolved;
        }
    }
    if (mode == SCHEMA_MODE_MANUAL && current->column_count == 0) {
        http_reply_error(reply, 400, "the sample has no field with a non-null value to infer "
                                     "a column from");
        goto done;
    }
    current->mode = mode;
    def = schema_to_json(current);
    if (def == NULL) {
        http_reply_error(reply, 500, "out of memory");
        goto done;
    }
    json_object_del(def, "version");
    if (names[0] == NULL)
        json_object_del(def, "domain");
    if (names[1] == NULL)
        json_object_del(def, "name");
    if (mode == SCHEMA_MODE_SINGLE_COLUMN)
        json_object_del(def, "columns"); /* the one "data" column is implied */
    http_reply_json(reply, 200, def);
done:
    schema_destroy(&current);
    json_decref(body);
}

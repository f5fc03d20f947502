/* demo.c - `lakehouse-broker --demo` (what `make run` starts): make sure the
 * demo endpoint and the demo job exist, so that
 *   lakehouse send demo/flights tests/data/flights-20k.json
 * works on a fresh data directory and fills demo.gold.flights_by_origin.
 * Existing definitions are never replaced: a user may have changed them. */
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "catalog.h"
#include "job.h"
#include "log.h"
#include "schema.h"

static const char demo_endpoint_json[] =
    "{\"domain\":\"demo\",\"name\":\"flights\",\"mode\":\"MANUAL\","
    "\"description\":\"Demo: U.S. domestic flights (vega-datasets flights-20k)\","
    "\"columns\":["
    "{\"name\":\"date\",\"type\":\"timestamp\",\"format\":\"%Y/%m/%d %H:%M\"},"
    "{\"name\":\"delay\",\"type\":\"integer\"},"
    "{\"name\":\"distance\",\"type\":\"integer\"},"
    "{\"name\":\"origin\",\"type\":\"string\"},"
    "{\"name\":\"destination\",\"type\":\"string\"}]}";

static const char demo_job_sql[] =
    "-- job: flights_by_origin\n"
    "-- domain: demo\n"
    "-- write_mode: overwrite\n"
    "-- schedule: dependency\n"
    "SELECT origin, substr(date,1,10) AS day, count(*) AS flights, avg(delay) AS avg_delay\n"
    "FROM demo.silver.flights GROUP BY origin, day\n";

static int demo_endpoint(struct catalog *catalog, int *version, char err[ERROR_MAX])
{
    struct schema *existing = NULL;
    int found = catalog_get_endpoint(catalog, "demo", "flights", 0, &existing, err);
    if (found < 0)
        return -1;
    if (found > 0) {
        schema_destroy(&existing);
        return 0;
    }
    json_error_t jerr;
    json_t *definition = json_loads(demo_endpoint_json, 0, &jerr);
    if (definition == NULL)
        return error_set(err, "demo endpoint definition: %s", jerr.text);
    struct schema *schema = schema_from_json(definition, err);
    json_decref(definition);
    if (schema == NULL)
        return error_prefix(err, "demo endpoint definition");
    int rc = catalog_put_endpoint(catalog, schema, version, err);
    schema_destroy(&schema);
    if (rc != 0)
        return error_prefix(err, "demo endpoint demo/flights");
    log_info("demo_endpoint_created endpoint=demo/flights version=%d", *version);
    return 0;
}

static int demo_job(struct catalog *catalog, bool *created, char err[ERROR_MAX])
{
    struct job_def job;
    memset(&job, 0, sizeof job);
    int found = catalog_get_job(catalog, "demo", "flights_by_origin", &job, err);
    if (found < 0)
        return -1;
    if (found > 0) {
        job_clear(&job);
        return 0;
    }
    if (job_parse_sql_file(demo_job_sql, "flights_by_origin", &job, err) != 0)
        return error_prefix(err, "demo job definition");
    int rc = catalog_put_job(catalog, &job, err);
    job_clear(&job);
    if (rc != 0)
        return error_prefix(err, "demo job demo/flights_by_origin");
    *created = true;
    log_info("demo_job_created job=demo/flights_by_origin");
    return 0;
}

int demo_ensure(const struct config *cfg, int *endpoint_version, bool *job_created,
                char err[ERROR_MAX])
{
    struct catalog *catalog = NULL;
    *endpoint_version = 0;
    *job_created = false;
    if (catalog_open(cfg->data_dir, false, &catalog, err) != 0)
        return -1;
    int rc = demo_endpoint(catalog, endpoint_version, err);
    if (rc == 0)
        rc = demo_job(catalog, job_created, err);
    catalog_close(&catalog);
    return rc;
}

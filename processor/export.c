/* export.c - silver tables published as Iceberg v2 tables under
 * <domain>_silver/<table>/ of the table store (config iceberg_export =
 * "local": <data>/iceberg; "s3": s3://<s3_bucket>/<s3_prefix>).
 *
 * Every iceberg_export_interval_s (and at once on the "export" control
 * request) each table whose newest project snapshot is not exported yet is
 * exported by iceberg_export_table (common/iceberg_export.h: the files, the
 * commit sequence and the _iceberg_* state tables); this file chooses the
 * tables, types their columns from the endpoint schema and sweeps at start.
 * The export runs in the processor's thread between merges, so the rows
 * read are exactly the snapshot's. */
#include "processor.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iceberg_export.h"
#include "layout.h"
#include "log.h"
#include "retention_policy.h"
#include "sqlutil.h"
#include "timeutil.h"

int export_fields(void *arg, sqlite3 *db, const char *table, struct iceberg_field **out,
                         size_t *n, char err[ERROR_MAX])
{
    const struct export_source *src = arg;
    struct schema *schema = NULL;
    if (schemas_get(src->ctx->schemas, src->domain, table, 0, &schema, err) < 0)
        return -1;
    char sql[NAMES_MAX + 64];
    snprintf(sql, sizeof sql, "PRAGMA table_info(\"%s\")", table);
    sqlite3_stmt *st = NULL;
    struct iceberg_field *f = NULL;
    size_t count = 0, cap = 0;
    int rc = -1;
    if (sqlutil_prepare(db, sql, &st, err, "export of %s", table) < 0)
        goto done;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            struct iceberg_field *g = realloc(f, cap * sizeof *g);
            if (g == NULL) {
                error_set(err, "out of memory");
                goto done;
            }
            f = g;
        }
        struct iceberg_field *x = &f[count++];
        const struct schema_column *col = schema ? schema_find_column(schema, name) : NULL;
        if (name[0] == '_')
            iceberg_field_metadata(name, x);
        else if (col != NULL)
            iceberg_field_from_column(col, x);
        else
            iceberg_field_metadata(name, x); /* unknown to the schema: string */
        if (col != NULL)
            x->identifier = col->primary_key;
        x->required = x->identifier || strcmp(name, "_seq") == 0;
    }
    *out = f;
    *n = count;
    f = NULL;
    rc = 0;
done:
    free(f);
    sqlite3_finalize(st);
    schema_destroy(&schema);
    return rc;
}

struct iceberg_store *export_store(struct processor_ctx *ctx, char err[ERROR_MAX])
{
    if (ctx->iceberg_store == NULL)
        ctx->iceberg_store = iceberg_store_open(ctx->cfg, err);
    return ctx->iceberg_store;
}

/* Export one table if its newest snapshot is not exported yet. 1 exported,
 * 0 already current (or no snapshot), -1 error. */
static int export_table(struct processor_ctx *ctx, const char *domain, const char *table,
                        char err[ERROR_MAX])
{
    struct iceberg_store *store = export_store(ctx, err);
    if (store == NULL)
        return -1;
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        return -1;
    int exists = silver_table_exists(sdb, table, err);
    if (exists <= 0)
        return exists;
    struct export_source fsrc = {.ctx = ctx, .domain = domain};
    char label[2 * NAMES_MAX];
    snprintf(label, sizeof label, "%s/%s", domain, table);
    struct iceberg_export_source src = {.db = sdb->db, .store = store,
                                        .data_dir = ctx->cfg->data_dir,
                                        .domain = domain, .layer = "silver", .table = table,
                                        .fields = export_fields, .fields_arg = &fsrc,
                                        .metrics_label = label};
    if ((src.retention_days = retention_days(ctx->cfg, RETENTION_SILVER, domain, table, err)) < 0)
        return -1;
    return iceberg_export_table(&src, err);
}

/* Tables of one domain (all with a snapshot), or just `only`; then the
 * domain's bronze (export_bronze.c). */
static int export_silver_domain(struct processor_ctx *ctx, const char *domain, const char *only,
                                int64_t *exported, int64_t *matched, char err[ERROR_MAX]);

static int export_domain(struct processor_ctx *ctx, const char *domain, const char *only,
                         int64_t *exported, int64_t *matched, char err[ERROR_MAX])
{
    int64_t before = *matched;
    char serr[ERROR_MAX] = "", berr[ERROR_MAX] = "";
    int rc = export_silver_domain(ctx, domain, only, exported, matched, serr);
    int brc = export_bronze_domain(ctx, domain, only, exported, matched, berr);
    if (rc < 0 || brc < 0)
        return error_set(err, "%s", rc < 0 ? serr : berr);
    if (only != NULL && only[0] && *matched == before)
        return error_set(err, "no silver table %s/%s and no bronze endpoint of that name", domain,
                         only);
    return 0;
}

static int export_silver_domain(struct processor_ctx *ctx, const char *domain, const char *only,
                                int64_t *exported, int64_t *matched, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    if (layout_silver_db(path, sizeof path, ctx->cfg->data_dir, domain) < 0)
        return error_set(err, "path too long");
    if (access(path, F_OK) != 0)
        return 0;
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        return -1;
    struct strlist tables = {0};
    sqlite3_stmt *st;
    if (sqlutil_prepare(sdb->db, "SELECT DISTINCT table_name FROM _snapshots ORDER BY 1", &st,
                        err, "export: silver/%s.db", domain) < 0)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (names_is_valid_column(t) && (only == NULL || !only[0] || strcmp(only, t) == 0))
            strlist_push(&tables, t);
    }
    sqlite3_finalize(st);
    *matched += (int64_t)tables.count;
    int rc = 0;
    for (size_t i = 0; i < tables.count; i++) {
        char terr[ERROR_MAX];
        int r = export_table(ctx, domain, tables.items[i], terr);
        if (r < 0) {
            log_error("iceberg_export_failed table=%s/%s reason=\"%s\" action=retry_next_tick",
                      domain, tables.items[i], terr);
            if (rc == 0)
                error_set(err, "%s/%s: %s", domain, tables.items[i], terr);
            rc = -1;
        } else {
            *exported += r;
        }
        char label[2 * NAMES_MAX];
        snprintf(label, sizeof label, "%s/%s", domain, tables.items[i]);
        iceberg_export_lag(sdb->db, tables.items[i], label);
    }
    strlist_clear(&tables);
    return rc;
}


/* The domains (from bronze/). */
static int export_domains(struct processor_ctx *ctx, struct strlist *domains, char err[ERROR_MAX])
{
    char bronze[PATH_MAX];
    if (layout_dir(bronze, sizeof bronze, ctx->cfg->data_dir, "bronze") < 0)
        return error_set(err, "path too long");
    return scan_dir(bronze, SCAN_OBJECT_DIRS, domains, err);
}

int export_sweep(struct processor_ctx *ctx, int64_t *removed, char err[ERROR_MAX])
{
    *removed = 0;
    struct strlist domains = {0};
    struct iceberg_store *store = export_store(ctx, err);
    if (store == NULL || export_domains(ctx, &domains, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < domains.count && rc == 0; i++) {
        char path[PATH_MAX];
        struct silver_db *sdb;
        if (layout_silver_db(path, sizeof path, ctx->cfg->data_dir, domains.items[i]) < 0 ||
            access(path, F_OK) != 0)
            continue;
        if (silver_get(ctx->silver, domains.items[i], &sdb, err) < 0 ||
            iceberg_export_sweep_db(sdb->db, store, domains.items[i], removed, err) < 0)
            rc = -1;
    }
    strlist_clear(&domains);
    return rc;
}

bool export_enabled(const struct config *cfg)
{
    return iceberg_export_enabled(cfg);
}

int export_run_scope(struct processor_ctx *ctx, const char *domain, const char *table,
                     int64_t *exported, int64_t *matched, char err[ERROR_MAX])
{
    *exported = *matched = 0;
    if (domain != NULL && domain[0])
        return export_domain(ctx, domain, table, exported, matched, err);
    struct strlist domains = {0};
    if (export_domains(ctx, &domains, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < domains.count; i++) {
        char derr[ERROR_MAX];
        if (export_domain(ctx, domains.items[i], NULL, exported, matched, derr) < 0 && rc == 0) {
            snprintf(err, ERROR_MAX, "%s", derr);
            rc = -1;
        }
    }
    strlist_clear(&domains);
    return rc;
}

static int export_scope(void *arg, const char *domain, const char *table, int64_t *exported,
                        int64_t *matched, char err[ERROR_MAX])
{
    return export_run_scope(arg, domain, table, exported, matched, err);
}

/* export_scope for the tick: after a tick with a failure the next one
 * backs off (processor.h); failures are logged per table. */
static int export_tick_scope(void *arg, const char *domain, const char *table,
                             int64_t *exported, int64_t *matched, char err[ERROR_MAX])
{
    struct processor_ctx *ctx = arg;
    int rc = export_scope(arg, domain, table, exported, matched, err);
    if (rc == 0) {
        ctx->export_failures = 0;
        return 0;
    }
    if (ctx->export_failures < 4)
        ctx->export_failures++;
    int64_t interval_ms = ctx->cfg->iceberg_export_interval_s * 1000;
    int64_t delay = interval_ms << ctx->export_failures;
    if (delay > 600000)
        delay = interval_ms > 600000 ? interval_ms : 600000;
    ctx->next_export_ms = timeutil_monotonic_ms() + delay;
    return rc;
}

void export_tick(struct processor_ctx *ctx)
{
    /* merges come first */
    iceberg_export_tick(ctx->cfg, pending_count(ctx->pending) > 0, &ctx->next_export_ms,
                        export_tick_scope, ctx);
}

void export_run(struct processor_ctx *ctx, const struct control_request *req,
                struct control_reply *reply)
{
    iceberg_export_serve(ctx->cfg, req, reply, "", &ctx->iceberg_store, export_scope, ctx);
}

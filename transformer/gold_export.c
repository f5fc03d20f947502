/* gold_export.c - gold tables published as Iceberg v2 tables under
 * <domain>_gold/<table>/ of the table store (config iceberg_export =
 * "local": <data>/iceberg; "s3": s3://<s3_bucket>/<s3_prefix>).
 *
 * The transformer is the only writer of gold, so it exports gold the way
 * the processor exports silver: every iceberg_export_interval_s while no run
 * is wanted (runs come first), and at once on the "export" control request,
 * each gold table whose newest gold snapshot is not exported yet goes
 * through iceberg_export_table (common/iceberg_export.h: files, commit
 * sequence, _iceberg_* state in gold/<domain>.db). A job runs to its end
 * before the loop comes here, so the rows read are exactly the snapshot's.
 *
 * Gold tables have no endpoint schema (CREATE TABLE AS SELECT), so a
 * column's Iceberg type comes from its declared affinity widened by the
 * values it holds: integers -> long, any real -> double, any text or blob
 * -> string (a column without values and without an INT or REAL affinity
 * is a string). The job's unique_key columns are identifier-field-ids when
 * they hold no NULL and are not double. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "control_protocol.h"
#include "iceberg_export.h"
#include "retention_policy.h"
#include "layout.h"
#include "log.h"
#include "names.h"
#include "sqlutil.h"
#include "strbuf.h"
#include "transformer.h"

/* Columns typed per scan: two aggregates each, under SQLite's result limit. */
#define GOLD_EXPORT_SCAN_COLUMNS 900

/* The value ranks of a column: the widest storage class seen. */
enum gold_rank { GOLD_NONE, GOLD_INTEGER, GOLD_REAL, GOLD_TEXT };

struct gold_export_arg {
    const struct tjob *job; /* the job writing the table, NULL if gone */
};

static enum gold_rank gold_export_affinity(const char *decl)
{
    if (decl == NULL)
        return GOLD_NONE;
    if (strcasestr(decl, "INT") != NULL)
        return GOLD_INTEGER;
    if (strcasestr(decl, "CHAR") != NULL || strcasestr(decl, "CLOB") != NULL ||
        strcasestr(decl, "TEXT") != NULL)
        return GOLD_TEXT;
    if (strcasestr(decl, "REAL") != NULL || strcasestr(decl, "FLOA") != NULL ||
        strcasestr(decl, "DOUB") != NULL)
        return GOLD_REAL;
    return GOLD_NONE;
}

/* For columns [from, to) of f: the widest value class into rank[], whether
 * any value is NULL into nulls[]. */
static int gold_export_scan(sqlite3 *db, const char *table, const struct iceberg_field *f,
                            size_t from, size_t to, int *rank, bool *nulls, char err[ERROR_MAX])
{
    struct strbuf sql = {0};
    strbuf_addf(&sql, "SELECT ");
    for (size_t i = from; i < to; i++)
        strbuf_addf(&sql, "%scoalesce(max(CASE typeof(\"%s\") WHEN 'integer' THEN 1 "
                          "WHEN 'real' THEN 2 WHEN 'null' THEN 0 ELSE 3 END), 0), "
                          "count(*) - count(\"%s\")",
                    i > from ? ", " : "", f[i].name, f[i].name);
    strbuf_addf(&sql, " FROM \"%s\"", table);
    if (sql.failed)
        return error_set(err, "out of memory");
    sqlite3_stmt *st;
    int rc = sqlutil_prepare(db, sql.s, &st, err, "typing gold table %s", table);
    strbuf_free(&sql);
    if (rc < 0)
        return -1;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (size_t i = from; i < to; i++) {
            rank[i] = sqlite3_column_int(st, (int)(2 * (i - from)));
            nulls[i] = sqlite3_column_int64(st, (int)(2 * (i - from) + 1)) > 0;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : error_set(err, "typing gold table %s: %s", table,
                                            sqlite3_errmsg(db));
}

/* iceberg_export_fields_fn of gold tables. */
static int gold_export_fields(void *arg, sqlite3 *db, const char *table,
                              struct iceberg_field **out, size_t *n, char err[ERROR_MAX])
{
    const struct gold_export_arg *a = arg;
    char pragma[NAMES_MAX + 64];
    snprintf(pragma, sizeof pragma, "PRAGMA table_info(\"%s\")", table);
    sqlite3_stmt *st = NULL;
    struct iceberg_field *f = NULL;
    int *rank = NULL;
    bool *nulls = NULL;
    size_t count = 0, cap = 0;
    int rc = -1;
    if (sqlutil_prepare(db, pragma, &st, err, "gold table %s", table) < 0)
        goto done;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            struct iceberg_field *g = realloc(f, cap * sizeof *g);
            int *r = realloc(rank, cap * sizeof *r);
            if (r != NULL)
                rank = r;
            if (g != NULL)
                f = g;
            if (g == NULL || r == NULL) {
                error_set(err, "out of memory");
                goto done;
            }
        }
        memset(&f[count], 0, sizeof f[count]);
        snprintf(f[count].name, sizeof f[count].name, "%s", (const char *)sqlite3_column_text(st, 1));
        rank[count] = gold_export_affinity((const char *)sqlite3_column_text(st, 2));
        count++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((nulls = calloc(count ? count : 1, sizeof *nulls)) == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    int *seen = calloc(count ? count : 1, sizeof *seen);
    if (seen == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count && rc != -2; i += GOLD_EXPORT_SCAN_COLUMNS) {
        size_t to = i + GOLD_EXPORT_SCAN_COLUMNS < count ? i + GOLD_EXPORT_SCAN_COLUMNS : count;
        if (gold_export_scan(db, table, f, i, to, seen, nulls, err) < 0)
            rc = -2;
    }
    for (size_t i = 0; i < count && rc != -2; i++) {
        int r = seen[i] > rank[i] ? seen[i] : rank[i];
        struct iceberg_field *x = &f[i];
        /* iceberg_field_metadata gives a string field of any name */
        char name[NAMES_MAX];
        snprintf(name, sizeof name, "%s", x->name);
        iceberg_field_metadata("", x);
        snprintf(x->name, sizeof x->name, "%s", name);
        if (r == GOLD_INTEGER) {
            snprintf(x->type, sizeof x->type, "long");
            x->kind = PARQUET_LONG;
        } else if (r == GOLD_REAL) {
            snprintf(x->type, sizeof x->type, "double");
            x->kind = PARQUET_DOUBLE;
        }
        x->identifier = a->job != NULL && a->job->def.unique_key[0] &&
                        job_column_listed(a->job->def.unique_key, x->name) && !nulls[i] &&
                        r != GOLD_REAL;
        x->required = x->identifier;
    }
    free(seen);
    if (rc == -2) {
        rc = -1;
        goto done;
    }
    *out = f;
    *n = count;
    f = NULL;
    rc = 0;
done:
    sqlite3_finalize(st);
    free(f);
    free(rank);
    free(nulls);
    return rc;
}

/* "<domain>/gold.<table>": the stats label (domain and table labels). */
static void gold_export_label(char out[3 * NAMES_MAX], const char *domain, const char *table)
{
    snprintf(out, 3 * NAMES_MAX, "%s/gold.%s", domain, table);
}

/* The table store, opened at first use (S3 credentials are read then). */
static struct iceberg_store *gold_export_store(struct transformer_ctx *ctx, char err[ERROR_MAX])
{
    if (ctx->iceberg_store == NULL)
        ctx->iceberg_store = iceberg_store_open(ctx->cfg, err);
    return ctx->iceberg_store;
}

/* Tables of gold/<domain>.db with a snapshot (or just `only`): exported
 * when changed. *matched counts the tables in scope. */
static int gold_export_domain(struct transformer_ctx *ctx, const char *domain, const char *only,
                              int64_t *exported, int64_t *matched, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    struct stat sb;
    struct iceberg_store *store = gold_export_store(ctx, err);
    if (store == NULL)
        return -1;
    if (layout_gold_db(path, sizeof path, ctx->cfg->data_dir, domain) < 0)
        return error_set(err, "gold database path too long");
    if (stat(path, &sb) != 0)
        return 0;
    sqlite3 *db;
    if (run_open_gold(ctx->cfg->data_dir, domain, &db, err) < 0)
        return -1;
    json_t *tables = json_array();
    sqlite3_stmt *st;
    if (sqlutil_prepare(db, "SELECT DISTINCT s.table_name FROM _snapshots s JOIN sqlite_master m "
                            "ON m.type = 'table' AND m.name = s.table_name ORDER BY 1",
                        &st, err, "gold/%s.db", domain) < 0) {
        json_decref(tables);
        sqlite3_close(db);
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (names_is_valid_column(t) && (only == NULL || !only[0] || strcmp(only, t) == 0))
            json_array_append_new(tables, json_string(t));
    }
    sqlite3_finalize(st);
    *matched += (int64_t)json_array_size(tables);
    int rc = 0;
    size_t i;
    json_t *v;
    json_array_foreach(tables, i, v) {
        const char *table = json_string_value(v);
        char label[3 * NAMES_MAX], terr[ERROR_MAX];
        gold_export_label(label, domain, table);
        struct gold_export_arg arg = {.job = jobs_find(&ctx->jobs, domain, table)};
        struct iceberg_export_source src = {.db = db, .store = store,
                                            .data_dir = ctx->cfg->data_dir,
                                            .domain = domain, .layer = "gold", .table = table,
                                            .fields = gold_export_fields, .fields_arg = &arg,
                                            .metrics_label = label};
        src.retention_days = retention_days(ctx->cfg, RETENTION_GOLD, domain, table, terr);
        int r = src.retention_days < 0 ? -1 : iceberg_export_table(&src, terr);
        if (r < 0) {
            log_error("iceberg_export_failed layer=gold table=%s/%s reason=\"%s\" "
                      "action=retry_next_tick", domain, table, terr);
            if (rc == 0)
                error_set(err, "%s/%s: %s", domain, table, terr);
            rc = -1;
        } else {
            *exported += r;
        }
        iceberg_export_lag(db, table, label);
    }
    json_decref(tables);
    sqlite3_close(db);
    return rc;
}

bool gold_export_enabled(const struct config *cfg)
{
    return iceberg_export_enabled(cfg);
}

int gold_export_scope(struct transformer_ctx *ctx, const char *domain, const char *table,
                      int64_t *exported, int64_t *matched, char err[ERROR_MAX])
{
    *exported = *matched = 0;
    if (domain != NULL && domain[0])
        return gold_export_domain(ctx, domain, table, exported, matched, err);
    json_t *domains = inputs_gold_domains(ctx->cfg->data_dir);
    int rc = 0;
    size_t i;
    json_t *v;
    json_array_foreach(domains, i, v) {
        char derr[ERROR_MAX];
        if (gold_export_domain(ctx, json_string_value(v), NULL, exported, matched, derr) < 0 &&
            rc == 0) {
            snprintf(err, ERROR_MAX, "%s", derr);
            rc = -1;
        }
    }
    json_decref(domains);
    return rc;
}

int gold_export_sweep(struct transformer_ctx *ctx, int64_t *removed, char err[ERROR_MAX])
{
    *removed = 0;
    struct iceberg_store *store = gold_export_store(ctx, err);
    if (store == NULL)
        return -1;
    json_t *domains = inputs_gold_domains(ctx->cfg->data_dir);
    int rc = 0;
    size_t i;
    json_t *v;
    json_array_foreach(domains, i, v) {
        sqlite3 *db;
        const char *domain = json_string_value(v);
        if (run_open_gold(ctx->cfg->data_dir, domain, &db, err) < 0) {
            rc = -1;
            break;
        }
        rc = iceberg_export_sweep_db(db, store, domain, removed, err);
        sqlite3_close(db);
        if (rc < 0)
            break;
    }
    json_decref(domains);
    return rc;
}

static int gold_export_scope_fn(void *arg, const char *domain, const char *table,
                                int64_t *exported, int64_t *matched, char err[ERROR_MAX])
{
    return gold_export_scope(arg, domain, table, exported, matched, err);
}

void gold_export_tick(struct transformer_ctx *ctx)
{
    /* runs come first */
    iceberg_export_tick(ctx->cfg, schedule_has_work(ctx), &ctx->next_export_ms,
                        gold_export_scope_fn, ctx);
}

void gold_export_run(struct transformer_ctx *ctx, const struct control_request *req,
                     struct control_reply *reply)
{
    iceberg_export_serve(ctx->cfg, req, reply, "gold: ", &ctx->iceberg_store,
                         gold_export_scope_fn, ctx);
}

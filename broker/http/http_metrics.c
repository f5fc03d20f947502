/* http_metrics.c - GET /metrics in the Prometheus text format 0.0.4.
 *
 * Nothing is kept in the broker: each scrape reads the data directory
 * (health.h: processes, tables, backlog, freshness, bytes on disk) and the
 * processes' stats snapshots (stats.h: counters and histograms each process
 * writes every second), so a scrape is correct whichever process serves it
 * and whether the workers run under the broker or under systemd.
 *
 * Stats series carry one label value; http_metrics_families says which
 * label keys it splits into ("demo/flights" -> domain="demo",table="flights")
 * and gives the HELP text. A name not listed is still exported, with its
 * value as label="...". Every name is prefixed "lakehouse_". */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read/health.h"
#include "stats.h"
#include "timeutil.h"

#define HTTP_METRICS_LAG_MS 10000

struct http_metrics_family {
    const char *name;  /* stats name */
    const char *key1;  /* label key of the value (before a '/'), NULL: no label */
    const char *key2;  /* label key after the '/' */
    const char *help;
};

static const struct http_metrics_family http_metrics_families[] = {
    {"ingest_records_accepted_total", "domain", "endpoint", "Records stored by ingest, per endpoint."},
    {"ingest_records_refused_total", "domain", "endpoint",
     "Records refused by validation (answered, or written to rejected/), per endpoint."},
    {"ingest_batches_total", NULL, NULL, "Producer batches received by ingest."},
    {"ingest_busy_total", NULL, NULL, "Batches answered busy (ingest at its memory bound)."},
    {"ingest_duplicates_total", NULL, NULL, "Re-sent batches answered from the batch-id window."},
    {"ingest_group_commits_total", NULL, NULL, "Group commits (one fdatasync per touched spool)."},
    {"ingest_sealed_files_total", NULL, NULL, "Spool files sealed into bronze."},
    {"merge_duration_seconds", "domain", "table", "Time to merge one bronze file into silver."},
    {"iceberg_export_duration_seconds", "domain", "table",
     "Time of one Iceberg export of a table (table: silver name, gold.<job>, bronze.<endpoint>)."},
    {"iceberg_export_lag_seconds", "domain", "table",
     "Age of the oldest snapshot (bronze: sealed file) of a table not exported to Iceberg yet (0: current)."},
    {"iceberg_export_lag_snapshots", "domain", "table",
     "Snapshots (bronze: sealed files) of a table not exported to Iceberg yet."},
    {"processor_pending_files", NULL, NULL, "Bronze files queued in the processor (queue depth)."},
    {"processor_files_merged_total", NULL, NULL, "Bronze files merged into silver."},
    {"processor_files_quarantined_total", NULL, NULL, "Bronze files quarantined (unreadable)."},
    {"processor_merges_failed_total", NULL, NULL, "Merges that failed and will be retried."},
    {"transform_duration_seconds", "domain", "job", "Time of one transform job run."},
    {"transform_runs_failed_total", "domain", "job", "Failed transform job runs, per job."},
    {"transformer_pending_runs", NULL, NULL, "Transform runs waiting (queue depth)."},
    {"transformer_runs_ok_total", NULL, NULL, "Successful transform runs."},
    {"transformer_runs_failed_total", NULL, NULL, "Failed transform runs."},
    {"process_restarts_total", "process", NULL,
     "Restarts of a crashed worker by the broker's supervisor."},
};
#define HTTP_METRICS_FAMILY_COUNT (sizeof http_metrics_families / sizeof http_metrics_families[0])

static const struct http_metrics_family *http_metrics_family(const char *name)
{
    for (size_t i = 0; i < HTTP_METRICS_FAMILY_COUNT; i++)
        if (strcmp(http_metrics_families[i].name, name) == 0)
            return &http_metrics_families[i];
    return NULL;
}

/* A label value with \, " and newline escaped. */
static void http_metrics_escaped(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i] != '\0'; i++) {
        if (s[i] == '\\' || s[i] == '"')
            fprintf(out, "\\%c", s[i]);
        else if (s[i] == '\n')
            fputs("\\n", out);
        else
            fputc(s[i], out);
    }
}

static void http_metrics_label(FILE *out, bool *first, const char *key, const char *value,
                               size_t n)
{
    fprintf(out, "%s%s=\"", *first ? "{" : ",", key);
    http_metrics_escaped(out, value, n);
    fputc('"', out);
    *first = false;
}

/* "{k1="a",k2="b"" (unclosed, so that le= can follow) or "" ; returns
 * whether anything was written. */
static bool http_metrics_labels(FILE *out, const struct http_metrics_family *f, const char *value)
{
    bool first = true;
    if (value == NULL || value[0] == '\0')
        return false;
    const char *slash = strchr(value, '/');
    if (f != NULL && f->key1 != NULL && f->key2 != NULL && slash != NULL) {
        http_metrics_label(out, &first, f->key1, value, (size_t)(slash - value));
        http_metrics_label(out, &first, f->key2, slash + 1, strlen(slash + 1));
    } else {
        http_metrics_label(out, &first, f != NULL && f->key1 != NULL ? f->key1 : "label", value,
                           strlen(value));
    }
    return true;
}

static void http_metrics_head(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP lakehouse_%s %s\n# TYPE lakehouse_%s %s\n", name, help, name, type);
}

static void http_metrics_value(FILE *out, double v)
{
    if (v == (double)(long long)v && v < 1e15 && v > -1e15)
        fprintf(out, " %lld\n", (long long)v);
    else
        fprintf(out, " %.15g\n", v);
}

static double http_metrics_number(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : 0;
}

/* One gauge/counter sample per table entry with a numeric key. */
static void http_metrics_tables(FILE *out, json_t *tables, const char *name, const char *type,
                                const char *help, const char *key, bool silver_only,
                                bool with_layer)
{
    http_metrics_head(out, name, type, help);
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t) {
        const char *layer = json_string_value(json_object_get(t, "layer"));
        json_t *v = json_object_get(t, key);
        if (!json_is_number(v) || (silver_only && strcmp(layer, "silver") != 0))
            continue;
        const char *domain = json_string_value(json_object_get(t, "domain"));
        const char *table = json_string_value(json_object_get(t, "table"));
        bool first = true;
        fprintf(out, "lakehouse_%s", name);
        http_metrics_label(out, &first, "domain", domain, strlen(domain));
        if (with_layer)
            http_metrics_label(out, &first, "layer", layer, strlen(layer));
        http_metrics_label(out, &first, "table", table, strlen(table));
        fputc('}', out);
        http_metrics_value(out, http_metrics_number(v));
    }
}

static void http_metrics_processes(FILE *out, json_t *processes)
{
    static const struct {
        const char *name, *help;
    } heads[] = {
        {"process_up", "1 when the process runs (its pid file names a live lakehouse process)."},
        {"process_start_time_seconds", "When the process started (unix time)."},
        {"process_resident_memory_bytes", "Resident memory of the process."},
    };
    for (size_t h = 0; h < 3; h++) {
        http_metrics_head(out, heads[h].name, "gauge", heads[h].help);
        size_t i;
        json_t *p;
        json_array_foreach(processes, i, p) {
            const char *proc = json_string_value(json_object_get(p, "process"));
            bool up = strcmp(json_string_value(json_object_get(p, "state")), "down") != 0;
            double v = up;
            if (h == 1) {
                int64_t ms;
                const char *since = json_string_value(json_object_get(p, "since"));
                if (since == NULL || timeutil_parse_utc_ms(since, &ms) != 0)
                    continue;
                v = (double)ms / 1000.0;
            } else if (h == 2) {
                json_t *rss = json_object_get(p, "rss_bytes");
                if (!json_is_integer(rss))
                    continue;
                v = (double)json_integer_value(rss);
            }
            fprintf(out, "lakehouse_%s{process=\"%s\"}", heads[h].name, proc);
            http_metrics_value(out, v);
        }
    }
}

/* Group every stats series of every process by name:
 * {name: {"type": "counter|gauge|histogram", "series": [...]}}. */
static json_t *http_metrics_collect(json_t *processes)
{
    json_t *families = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(processes, i, p) {
        json_t *stats = json_object_get(p, "stats");
        static const char *const kinds[] = {"counters", "gauges", "histograms"};
        static const char *const types[] = {"counter", "gauge", "histogram"};
        for (size_t k = 0; k < 3; k++) {
            size_t j;
            json_t *s;
            json_array_foreach(json_object_get(stats, kinds[k]), j, s) {
                const char *name = json_string_value(json_object_get(s, "name"));
                if (name == NULL)
                    continue;
                json_t *fam = json_object_get(families, name);
                if (fam == NULL) {
                    fam = json_pack("{s:s, s:[]}", "type", types[k], "series");
                    json_object_set_new(families, name, fam);
                }
                if (fam != NULL && strcmp(json_string_value(json_object_get(fam, "type")),
                                          types[k]) == 0)
                    json_array_append(json_object_get(fam, "series"), s);
            }
        }
    }
    return families;
}

static void http_metrics_histogram(FILE *out, const char *name,
                                   const struct http_metrics_family *f, json_t *s)
{
    const char *label = json_string_value(json_object_get(s, "label"));
    json_t *buckets = json_object_get(s, "buckets");
    uint64_t cumulative = 0;
    for (size_t b = 0; b < STATS_BUCKET_COUNT && b < json_array_size(buckets); b++) {
        cumulative += (uint64_t)json_integer_value(json_array_get(buckets, b));
        fprintf(out, "lakehouse_%s_bucket", name);
        bool any = http_metrics_labels(out, f, label);
        fprintf(out, "%sle=\"%g\"}", any ? "," : "{", stats_bucket_bounds[b]);
        http_metrics_value(out, (double)cumulative);
    }
    fprintf(out, "lakehouse_%s_bucket", name);
    bool any = http_metrics_labels(out, f, label);
    fprintf(out, "%sle=\"+Inf\"}", any ? "," : "{");
    http_metrics_value(out, http_metrics_number(json_object_get(s, "count")));
    static const char *const parts[] = {"sum", "count"};
    for (size_t k = 0; k < 2; k++) {
        fprintf(out, "lakehouse_%s_%s", name, parts[k]);
        if (http_metrics_labels(out, f, label))
            fputc('}', out);
        http_metrics_value(out, http_metrics_number(json_object_get(s, parts[k])));
    }
}

static void http_metrics_stats(FILE *out, json_t *processes)
{
    json_t *families = http_metrics_collect(processes);
    /* every child's restart counter, also before its first restart */
    json_t *restarts = json_object_get(families, "process_restarts_total");
    if (restarts == NULL) {
        restarts = json_pack("{s:s, s:[]}", "type", "counter", "series");
        json_object_set_new(families, "process_restarts_total", restarts);
    }
    for (size_t i = 1; i < 4 && restarts != NULL; i++) {
        json_t *series = json_object_get(restarts, "series");
        bool found = false;
        size_t j;
        json_t *s;
        json_array_foreach(series, j, s)
            found |= strcmp(json_string_value(json_object_get(s, "label")),
                            health_processes[i]) == 0;
        if (!found)
            json_array_append_new(series, json_pack("{s:s, s:s, s:i}", "name",
                                                    "process_restarts_total", "label",
                                                    health_processes[i], "value", 0));
    }
    const char *name;
    json_t *fam;
    json_object_foreach(families, name, fam) {
        const struct http_metrics_family *f = http_metrics_family(name);
        const char *type = json_string_value(json_object_get(fam, "type"));
        http_metrics_head(out, name, type, f ? f->help : "(from the process stats file)");
        size_t j;
        json_t *s;
        json_array_foreach(json_object_get(fam, "series"), j, s) {
            if (strcmp(type, "histogram") == 0) {
                http_metrics_histogram(out, name, f, s);
                continue;
            }
            fprintf(out, "lakehouse_%s", name);
            if (http_metrics_labels(out, f, json_string_value(json_object_get(s, "label"))))
                fputc('}', out);
            http_metrics_value(out, http_metrics_number(json_object_get(s, "value")));
        }
    }
    json_decref(families);
}

void http_metrics(struct http_request *req, struct http_reply *reply)
{
    json_t *health = NULL;
    char err[ERROR_MAX];
    if (health_collect(req->cfg->data_dir, HTTP_METRICS_LAG_MS, &health, err) < 0) {
        http_reply_error(reply, 500, "metrics: %s", err);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL) {
        json_decref(health);
        http_reply_error(reply, 500, "metrics: out of memory");
        return;
    }
    json_t *processes = json_object_get(health, "processes");
    json_t *tables = json_object_get(health, "tables");
    http_metrics_processes(out, processes);
    http_metrics_tables(out, tables, "table_rows", "gauge", "Rows of a silver or gold table.",
                        "rows", false, true);
    http_metrics_tables(out, tables, "table_snapshots", "gauge",
                        "Commits recorded in the table's _snapshots.", "snapshots", false, true);
    http_metrics_tables(out, tables, "table_last_commit_timestamp_seconds", "gauge",
                        "Time of the table's last commit (unix time).", "last_commit_unix", false,
                        true);
    http_metrics_tables(out, tables, "table_freshness_seconds", "gauge",
                        "Now minus the ingest time of the newest record merged into silver.",
                        "freshness_seconds", true, false);
    http_metrics_tables(out, tables, "bronze_backlog_files", "gauge",
                        "Sealed bronze files not merged (nor quarantined) yet.", "backlog", true,
                        false);
    http_metrics_tables(out, tables, "bronze_backlog_oldest_age_seconds", "gauge",
                        "Age of the oldest sealed bronze file not merged yet.",
                        "backlog_oldest_age_seconds", true, false);
    http_metrics_tables(out, tables, "bronze_bytes", "gauge",
                        "Bytes on disk of the table's sealed bronze files.", "bronze_bytes",
                        true, false);
    http_metrics_tables(out, tables, "spool_bytes", "gauge",
                        "Bytes in open spool files (acknowledged, not sealed yet).",
                        "spool_bytes", true, false);
    http_metrics_head(out, "database_bytes", "gauge",
                      "Bytes on disk of a silver or gold database (with its WAL).");
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(health, "databases"), i, d) {
        const char *domain = json_string_value(json_object_get(d, "domain"));
        bool first = true;
        fputs("lakehouse_database_bytes", out);
        http_metrics_label(out, &first, "domain", domain, strlen(domain));
        http_metrics_label(out, &first, "layer",
                           json_string_value(json_object_get(d, "layer")), 6);
        fputc('}', out);
        http_metrics_value(out, http_metrics_number(json_object_get(d, "bytes")));
    }
    http_metrics_stats(out, processes);
    fclose(out);
    json_decref(health);
    http_reply_text(reply, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

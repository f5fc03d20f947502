/* stats.c - the process's counters, gauges and histograms and their
 * snapshot file (see stats.h). */
#include "stats.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "layout.h"
#include "log.h"
#include "timeutil.h"

#define STATS_NAME_MAX 64
#define STATS_LABEL_MAX 160
#define STATS_FILE_MAX (4 * 1024 * 1024)

const double stats_bucket_bounds[STATS_BUCKET_COUNT] = {0.001, 0.005, 0.01, 0.025, 0.05,
                                                        0.1,   0.25,  0.5,  1,     2.5,
                                                        5,     10,    30,   60};

enum stats_kind { STATS_COUNTER, STATS_GAUGE, STATS_HISTOGRAM };

struct stats_series {
    char name[STATS_NAME_MAX];
    char label[STATS_LABEL_MAX];
    enum stats_kind kind;
    double value;                         /* counter, gauge */
    uint64_t buckets[STATS_BUCKET_COUNT]; /* histogram, per bucket; +Inf = count - sum of these */
    uint64_t count;
    double sum;
};

struct stats_error {
    int64_t at_ms;
    enum log_level level;
    char message[ERROR_MAX];
};

struct stats_table {
    char path[PATH_MAX];
    char process[32];
    int64_t started_ms;
    int64_t flushed_ms; /* monotonic, last write attempt */
    bool flush_failed;  /* logged once */
    struct stats_series *series;
    size_t count;
    uint64_t dropped;
    struct stats_error errors[STATS_ERRORS_MAX]; /* ring */
    size_t error_next;
    size_t error_count;
};

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stats_table *stats_table;

/* Called by log.c with its own lock held; takes ours (never the other way
 * round: nothing logs while holding stats_lock). */
static void stats_on_log(enum log_level level, const char *message)
{
    pthread_mutex_lock(&stats_lock);
    struct stats_table *t = stats_table;
    if (t != NULL) {
        struct stats_error *e = &t->errors[t->error_next];
        e->at_ms = timeutil_now_ms();
        e->level = level;
        snprintf(e->message, sizeof e->message, "%s", message);
        t->error_next = (t->error_next + 1) % STATS_ERRORS_MAX;
        if (t->error_count < STATS_ERRORS_MAX)
            t->error_count++;
    }
    pthread_mutex_unlock(&stats_lock);
}

int stats_open(const char *data_dir, const char *process, char err[ERROR_MAX])
{
    struct stats_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return error_set(err, "stats: out of memory");
    t->series = calloc(STATS_SERIES_MAX, sizeof *t->series);
    if (t->series == NULL) {
        free(t);
        return error_set(err, "stats: out of memory");
    }
    if (layout_stats_file(t->path, sizeof t->path, data_dir, process, err) < 0) {
        free(t->series);
        free(t);
        return error_prefix(err, "stats file");
    }
    snprintf(t->process, sizeof t->process, "%s", process);
    t->started_ms = timeutil_now_ms();
    t->flushed_ms = timeutil_monotonic_ms();
    pthread_mutex_lock(&stats_lock);
    struct stats_table *old = stats_table;
    stats_table = t;
    pthread_mutex_unlock(&stats_lock);
    if (old != NULL) {
        free(old->series);
        free(old);
    }
    log_set_hook(stats_on_log);
    return stats_flush(err);
}

/* The series (created on first use); NULL when the table is full. Lock held. */
static struct stats_series *stats_find(struct stats_table *t, const char *name,
                                       const char *label, enum stats_kind kind)
{
    if (label == NULL)
        label = "";
    for (size_t i = 0; i < t->count; i++) {
        struct stats_series *s = &t->series[i];
        if (s->kind == kind && strcmp(s->name, name) == 0 && strcmp(s->label, label) == 0)
            return s;
    }
    if (t->count == STATS_SERIES_MAX) {
        t->dropped++;
        return NULL;
    }
    struct stats_series *s = &t->series[t->count++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->label, sizeof s->label, "%s", label);
    s->kind = kind;
    return s;
}

void stats_count(const char *name, const char *label, uint64_t delta)
{
    pthread_mutex_lock(&stats_lock);
    struct stats_series *s =
        stats_table ? stats_find(stats_table, name, label, STATS_COUNTER) : NULL;
    if (s != NULL)
        s->value += (double)delta;
    pthread_mutex_unlock(&stats_lock);
}

void stats_counter_set(const char *name, const char *label, uint64_t total)
{
    pthread_mutex_lock(&stats_lock);
    struct stats_series *s =
        stats_table ? stats_find(stats_table, name, label, STATS_COUNTER) : NULL;
    if (s != NULL)
        s->value = (double)total;
    pthread_mutex_unlock(&stats_lock);
}

double stats_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void stats_gauge(const char *name, const char *label, double value)
{
    pthread_mutex_lock(&stats_lock);
    struct stats_series *s = stats_table ? stats_find(stats_table, name, label, STATS_GAUGE) : NULL;
    if (s != NULL)
        s->value = value;
    pthread_mutex_unlock(&stats_lock);
}

void stats_observe(const char *name, const char *label, double seconds)
{
    pthread_mutex_lock(&stats_lock);
    struct stats_series *s =
        stats_table ? stats_find(stats_table, name, label, STATS_HISTOGRAM) : NULL;
    if (s != NULL) {
        for (size_t i = 0; i < STATS_BUCKET_COUNT; i++) {
            if (seconds <= stats_bucket_bounds[i]) {
                s->buckets[i]++;
                break;
            }
        }
        s->count++;
        s->sum += seconds;
    }
    pthread_mutex_unlock(&stats_lock);
}

static int64_t stats_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    long size = 0, resident = 0;
    int n = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    return n == 2 ? (int64_t)resident * sysconf(_SC_PAGESIZE) : -1;
}

static json_t *stats_time(int64_t unix_ms)
{
    char text[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(unix_ms, text);
    return json_string(text);
}

/* The snapshot as JSON. Lock held. */
static json_t *stats_json(const struct stats_table *t)
{
    json_t *root = json_object();
    json_t *counters = json_array();
    json_t *gauges = json_array();
    json_t *histograms = json_array();
    json_t *bounds = json_array();
    json_t *errors = json_array();
    for (size_t i = 0; i < STATS_BUCKET_COUNT; i++)
        json_array_append_new(bounds, json_real(stats_bucket_bounds[i]));
    for (size_t i = 0; i < t->count; i++) {
        const struct stats_series *s = &t->series[i];
        json_t *o = json_pack("{s:s, s:s}", "name", s->name, "label", s->label);
        if (o == NULL)
            continue;
        if (s->kind == STATS_HISTOGRAM) {
            json_t *b = json_array();
            for (size_t k = 0; k < STATS_BUCKET_COUNT; k++)
                json_array_append_new(b, json_integer((json_int_t)s->buckets[k]));
            json_object_set_new(o, "buckets", b);
            json_object_set_new(o, "count", json_integer((json_int_t)s->count));
            json_object_set_new(o, "sum", json_real(s->sum));
            json_array_append_new(histograms, o);
        } else {
            json_object_set_new(o, "value", json_real(s->value));
            json_array_append_new(s->kind == STATS_COUNTER ? counters : gauges, o);
        }
    }
    /* oldest first */
    for (size_t i = 0; i < t->error_count; i++) {
        size_t k = (t->error_next + STATS_ERRORS_MAX - t->error_count + i) % STATS_ERRORS_MAX;
        const struct stats_error *e = &t->errors[k];
        json_t *o = json_pack("{s:o, s:s, s:s}", "at", stats_time(e->at_ms), "level",
                              e->level == LOG_LEVEL_ERROR ? "error" : "warn", "message",
                              e->message);
        if (o != NULL)
            json_array_append_new(errors, o);
    }
    json_object_set_new(root, "process", json_string(t->process));
    json_object_set_new(root, "pid", json_integer((json_int_t)getpid()));
    json_object_set_new(root, "started_at", stats_time(t->started_ms));
    json_object_set_new(root, "updated_at", stats_time(timeutil_now_ms()));
    json_object_set_new(root, "rss_bytes", json_integer(stats_rss_bytes()));
    json_object_set_new(root, "series_dropped", json_integer((json_int_t)t->dropped));
    json_object_set_new(root, "bucket_bounds", bounds);
    json_object_set_new(root, "counters", counters);
    json_object_set_new(root, "gauges", gauges);
    json_object_set_new(root, "histograms", histograms);
    json_object_set_new(root, "errors", errors);
    return root;
}

int stats_flush(char err[ERROR_MAX])
{
    pthread_mutex_lock(&stats_lock);
    if (stats_table == NULL) {
        pthread_mutex_unlock(&stats_lock);
        return 0;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", stats_table->path);
    stats_table->flushed_ms = timeutil_monotonic_ms();
    json_t *root = stats_json(stats_table);
    pthread_mutex_unlock(&stats_lock);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (text == NULL)
        return error_set(err, "stats %s: out of memory", path);
    int rc = fsutil_write_file_atomic(path, text, strlen(text), LAYOUT_FILE_MODE, err);
    free(text);
    return rc;
}

void stats_tick(void)
{
    pthread_mutex_lock(&stats_lock);
    bool due = stats_table != NULL &&
               timeutil_monotonic_ms() - stats_table->flushed_ms >= STATS_FLUSH_MS;
    bool failed_before = stats_table != NULL && stats_table->flush_failed;
    pthread_mutex_unlock(&stats_lock);
    if (!due)
        return;
    char err[ERROR_MAX];
    int rc = stats_flush(err);
    if (rc < 0 && !failed_before)
        log_warn("stats_write_failed reason=\"%s\"", err);
    else if (rc == 0 && failed_before)
        log_info("stats_written again=yes");
    pthread_mutex_lock(&stats_lock);
    if (stats_table != NULL)
        stats_table->flush_failed = rc < 0;
    pthread_mutex_unlock(&stats_lock);
}

void stats_close(void)
{
    char err[ERROR_MAX];
    if (stats_flush(err) < 0)
        log_warn("stats_write_failed reason=\"%s\"", err);
    log_set_hook(NULL);
    pthread_mutex_lock(&stats_lock);
    struct stats_table *t = stats_table;
    stats_table = NULL;
    pthread_mutex_unlock(&stats_lock);
    if (t != NULL) {
        free(t->series);
        free(t);
    }
}

int stats_read(const char *data_dir, const char *process, json_t **out, char err[ERROR_MAX])
{
    *out = NULL;
    char path[PATH_MAX];
    if (layout_stats_file(path, sizeof path, data_dir, process, err) < 0)
        return -1;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return 0;
    char *text = NULL;
    size_t len = 0;
    if (fsutil_read_file(path, STATS_FILE_MAX, &text, &len, err) < 0)
        return -1;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    free(text);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return error_set(err, "%s: not a stats snapshot: %s", path, jerr.text);
    }
    *out = root;
    return 1;
}

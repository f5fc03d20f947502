/* maintenance.c - the processor's housekeeping of bronze and silver over time.
 *
 * Called from the housekeeping tick of the one poll loop (so it never runs
 * during a merge, and the processor stays the only writer of silver):
 *   every 2 s      finish compactions whose reader grace period is over
 *                  (compaction.c); at start also roll back interrupted ones
 *                  and wipe spool/.compact
 *   every 10 min   PRAGMA wal_checkpoint(TRUNCATE) of each silver database,
 *                  without waiting for readers (busy: try again next time),
 *                  so the WAL does not grow while queries keep reading
 *   daily          retention (bronze_silver_retention.c: bronze, silver history) and
 *                  compaction of closed days; VACUUM of every silver
 *                  database when vacuum_interval_days have passed
 * The time of the last daily run and of the last VACUUM is kept in
 * <data>/run/processor.maintenance ("<daily_ms> <vacuum_ms>"), so restarts do
 * not repeat them; on a fresh data directory the first daily run is 10
 * minutes after start (a start-up is not slowed by it). */
#include "processor.h"

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "layout.h"
#include "log.h"
#include "timeutil.h"

#define MAINTENANCE_FINISH_MS 2000
#define MAINTENANCE_CHECKPOINT_MS (10 * 60 * 1000)
#define MAINTENANCE_DAY_MS (24LL * 3600 * 1000)
#define MAINTENANCE_FIRST_MS (10 * 60 * 1000)
#define MAINTENANCE_BUSY_TIMEOUT_MS 10000 /* silver.c's */

struct maintenance {
    char state_path[PATH_MAX];
    int64_t next_finish;     /* monotonic */
    int64_t next_checkpoint; /* monotonic */
    int64_t next_daily;      /* wall clock */
    int64_t last_vacuum;     /* wall clock, 0 never */
};

static void maintenance_save(struct maintenance *m, int64_t daily_ms)
{
    char text[64], err[ERROR_MAX];
    int n = snprintf(text, sizeof text, "%" PRId64 " %" PRId64 "\n", daily_ms, m->last_vacuum);
    if (fsutil_write_file_atomic(m->state_path, text, (size_t)n, LAYOUT_FILE_MODE, err) < 0)
        log_warn("maintenance_state_unsaved reason=\"%s\"", err);
}

/* Remove what an interrupted compaction left in spool/.compact. */
static void maintenance_wipe_tmp(const struct processor_ctx *ctx)
{
    char dir[PATH_MAX], err[ERROR_MAX];
    if (layout_compaction_dir(dir, sizeof dir, ctx->cfg->data_dir, err) < 0)
        return;
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        if (fsutil_path(path, sizeof path, err, "%s/%s", dir, e->d_name) == 0 && unlink(path) == 0)
            log_info("compaction_leftover_removed path=%s", path);
    }
    closedir(d);
}

int maintenance_open(struct processor_ctx *ctx, struct maintenance **out, char err[ERROR_MAX])
{
    struct maintenance *m = calloc(1, sizeof *m);
    if (m == NULL)
        return error_set(err, "out of memory");
    if (layout_maintenance_state(m->state_path, sizeof m->state_path, ctx->cfg->data_dir, err) <
        0) {
        free(m);
        return -1;
    }
    int64_t now = timeutil_now_ms(), last_daily = 0;
    char *text = NULL;
    size_t len = 0;
    char ignored[ERROR_MAX];
    if (fsutil_read_file(m->state_path, 256, &text, &len, ignored) == 0) {
        long long a = 0, b = 0;
        if (sscanf(text, "%lld %lld", &a, &b) == 2) {
            last_daily = a;
            m->last_vacuum = b;
        }
        free(text);
    }
    m->next_daily = last_daily > 0 ? last_daily + MAINTENANCE_DAY_MS : now + MAINTENANCE_FIRST_MS;
    if (m->next_daily > now + MAINTENANCE_DAY_MS) /* clock went back */
        m->next_daily = now + MAINTENANCE_DAY_MS;
    if (m->last_vacuum == 0 || m->last_vacuum > now)
        m->last_vacuum = now; /* first VACUUM one interval from now */
    m->next_checkpoint = timeutil_monotonic_ms() + MAINTENANCE_CHECKPOINT_MS;
    *out = m;
    /* compactions a crash interrupted: roll back or leave for the grace */
    if (compaction_finish(ctx, false, ignored) < 0)
        log_error("compaction_recovery_failed reason=\"%s\"", ignored);
    maintenance_wipe_tmp(ctx);
    return 0;
}

void maintenance_close(struct maintenance **maintenance)
{
    free(*maintenance);
    *maintenance = NULL;
}

/* Run sql (checkpoint, VACUUM) on every silver database. */
static void maintenance_each_db(struct processor_ctx *ctx, const char *sql, bool no_wait)
{
    char dir[PATH_MAX], err[ERROR_MAX];
    struct strlist domains = {0};
    if (layout_bronze_dir(dir, sizeof dir, ctx->cfg->data_dir, NULL, NULL, NULL, err) < 0 ||
        scan_dir(dir, SCAN_OBJECT_DIRS, &domains, err) < 0) {
        log_error("maintenance_failed what=\"%s\" reason=\"%s\"", sql, err);
        return;
    }
    for (size_t i = 0; i < domains.count && !*ctx->stop; i++) {
        char db[PATH_MAX];
        struct silver_db *sdb;
        if (layout_silver_db(db, sizeof db, ctx->cfg->data_dir, domains.items[i]) < 0 ||
            access(db, F_OK) != 0 || silver_get(ctx->silver, domains.items[i], &sdb, err) < 0)
            continue;
        int64_t started = timeutil_monotonic_ms();
        if (no_wait)
            sqlite3_busy_timeout(sdb->db, 0); /* never stall merges behind a reader */
        int rc = silver_exec(sdb, sql, err);
        if (no_wait)
            sqlite3_busy_timeout(sdb->db, MAINTENANCE_BUSY_TIMEOUT_MS);
        if (rc < 0)
            log_info("maintenance_skipped domain=%s what=\"%s\" reason=\"%s\"", domains.items[i],
                     sql, err);
        else
            log_debug("maintenance domain=%s what=\"%s\" ms=%" PRId64, domains.items[i], sql,
                      timeutil_monotonic_ms() - started);
    }
    strlist_clear(&domains);
}

static void maintenance_daily(struct processor_ctx *ctx, struct maintenance *m, int64_t now)
{
    char err[ERROR_MAX];
    struct retention_totals totals = {0};
    if (retention_expire(ctx, "", "", false, &totals, err) < 0)
        log_error("expire_failed reason=\"%s\"", err);
    else
        log_info("expire_done files=%" PRId64 " records=%" PRId64 " snapshots=%" PRId64
                 " history_rows=%" PRId64 " trigger=daily",
                 totals.files, totals.records, totals.snapshots, totals.history_rows);
    int64_t inputs = 0, outputs = 0;
    if (compaction_compact(ctx, "", "", "", &inputs, &outputs, err) < 0)
        log_error("compaction_failed reason=\"%s\"", err);
    else if (inputs > 0)
        log_info("compaction_done inputs=%" PRId64 " outputs=%" PRId64 " trigger=daily", inputs,
                 outputs);
    if (now - m->last_vacuum >= ctx->cfg->vacuum_interval_days * MAINTENANCE_DAY_MS) {
        maintenance_each_db(ctx, "VACUUM", false);
        m->last_vacuum = now;
        log_info("vacuumed trigger=daily");
    }
    maintenance_save(m, now);
}

void maintenance_tick(struct processor_ctx *ctx)
{
    struct maintenance *m = ctx->maintenance;
    if (m == NULL)
        return;
    char err[ERROR_MAX];
    int64_t mono = timeutil_monotonic_ms(), now = timeutil_now_ms();
    if (mono >= m->next_finish) {
        if (compaction_finish(ctx, false, err) < 0)
            log_error("compaction_finish_failed reason=\"%s\"", err);
        m->next_finish = mono + MAINTENANCE_FINISH_MS;
    }
    if (mono >= m->next_checkpoint) {
        maintenance_each_db(ctx, "PRAGMA wal_checkpoint(TRUNCATE)", true);
        m->next_checkpoint = timeutil_monotonic_ms() + MAINTENANCE_CHECKPOINT_MS;
    }
    if (now >= m->next_daily) {
        maintenance_daily(ctx, m, now);
        m->next_daily = now + MAINTENANCE_DAY_MS;
    }
}

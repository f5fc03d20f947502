/* health_iceberg.c - export state and lag of each exported table (see
 * health_iceberg.h). */
#include "read/health_iceberg.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "bronze.h"
#include "layout.h"
#include "names.h"
#include "timeutil.h"

#define HEALTH_ICEBERG_BUSY_MS 2000

static json_t *health_iceberg_entry(const char *domain, const char *layer, const char *table,
                                    int64_t exported_at_ms, int64_t duration_ms, int64_t behind,
                                    double lag_s, int64_t lag_ms)
{
    char at[TIMEUTIL_TIMESTAMP_MAX];
    timeutil_format_utc_ms(exported_at_ms, at);
    if (behind == 0 || lag_s < 0)
        lag_s = 0;
    return json_pack("{s:s, s:s, s:s, s:n, s:s, s:f, s:I, s:f, s:s}", "domain", domain, "layer",
                     layer, "table", table, "exported_snapshot", "exported_at", at,
                     "duration_seconds", (double)duration_ms / 1000.0, "lag_snapshots",
                     (json_int_t)behind, "lag_seconds", lag_s, "state",
                     lag_s * 1000.0 > (double)lag_ms ? "lagging" : "ok");
}

/* silver or gold: the pointer against the project snapshots after it. */
static void health_iceberg_db(sqlite3 *db, const char *domain, const char *layer, int64_t now_ms,
                              int64_t lag_ms, json_t *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT i.table_name, i.exported_snapshot, i.exported_at_ms, "
                               "i.duration_ms, count(s.snapshot_id), min(s.committed_at) "
                               "FROM _iceberg_tables i LEFT JOIN _snapshots s ON "
                               "s.table_name = i.table_name AND s.snapshot_id > i.exported_snapshot "
                               "GROUP BY i.table_name ORDER BY i.table_name",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t oldest_ms = now_ms, behind = sqlite3_column_int64(st, 4);
        const char *oldest = (const char *)sqlite3_column_text(st, 5);
        if (oldest != NULL)
            timeutil_parse_utc_ms(oldest, &oldest_ms);
        json_t *e = health_iceberg_entry(domain, layer, (const char *)sqlite3_column_text(st, 0),
                                         sqlite3_column_int64(st, 2),
                                         sqlite3_column_int64(st, 3), behind,
                                         (double)(now_ms - oldest_ms) / 1000.0, lag_ms);
        json_object_set_new(e, "exported_snapshot", json_integer(sqlite3_column_int64(st, 1)));
        json_array_append_new(out, e);
    }
    sqlite3_finalize(st);
}

/* Sealed files of an endpoint whose last _seq is above last_seq: how many,
 * and the mtime (seconds) of the oldest. */
static void health_iceberg_pending(const char *data_dir, const char *domain, const char *endpoint,
                                   int64_t last_seq, int64_t *count, int64_t *oldest)
{
    char dir[PATH_MAX];
    struct dirent **dates = NULL;
    int nd = layout_bronze_dir(dir, sizeof dir, data_dir, domain, endpoint, NULL, NULL) == 0
                 ? scandir(dir, &dates, NULL, alphasort) : -1;
    for (int d = 0; d < nd; d++) {
        char ddir[PATH_MAX];
        DIR *h = strncmp(dates[d]->d_name, "dt=", 3) == 0 &&
                         layout_bronze_dir(ddir, sizeof ddir, data_dir, domain, endpoint,
                                           dates[d]->d_name, NULL) == 0
                     ? opendir(ddir) : NULL;
        struct dirent *e;
        while (h != NULL && (e = readdir(h)) != NULL) {
            uint64_t first, last;
            char path[PATH_MAX + 300];
            struct stat sb;
            if (bronze_parse_name(e->d_name, &first, &last) != 0 || (int64_t)last <= last_seq)
                continue;
            snprintf(path, sizeof path, "%s/%s", ddir, e->d_name);
            if (stat(path, &sb) != 0)
                continue;
            (*count)++;
            if (*oldest == 0 || sb.st_mtime < *oldest)
                *oldest = sb.st_mtime;
        }
        if (h != NULL)
            closedir(h);
        free(dates[d]);
    }
    free(dates);
}

/* bronze (state in silver/<domain>.db): the watermark against the files. */
static void health_iceberg_bronze(sqlite3 *db, const char *data_dir, const char *domain,
                                  int64_t now_ms, int64_t lag_ms, json_t *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT endpoint, last_seq, exported_at_ms, duration_ms "
                               "FROM _iceberg_bronze_tables ORDER BY endpoint",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *endpoint = (const char *)sqlite3_column_text(st, 0);
        if (endpoint == NULL || !names_is_valid_object(endpoint))
            continue;
        int64_t count = 0, oldest = 0;
        health_iceberg_pending(data_dir, domain, endpoint, sqlite3_column_int64(st, 1), &count,
                               &oldest);
        double lag = oldest > 0 ? (double)now_ms / 1000.0 - (double)oldest : 0;
        json_array_append_new(out, health_iceberg_entry(domain, "bronze", endpoint,
                                                        sqlite3_column_int64(st, 2),
                                                        sqlite3_column_int64(st, 3), count, lag,
                                                        lag_ms));
    }
    sqlite3_finalize(st);
}

void health_iceberg_collect(const char *data_dir, int64_t now_ms, int64_t lag_ms, json_t *out)
{
    static const char *const layers[] = {"silver", "gold"};
    for (size_t l = 0; l < 2; l++) {
        char dir[PATH_MAX];
        struct dirent **list = NULL;
        int n = layout_dir(dir, sizeof dir, data_dir, layers[l]) == 0
                    ? scandir(dir, &list, NULL, alphasort) : -1;
        for (int i = 0; i < n; i++) {
            const char *fname = list[i]->d_name;
            size_t len = strlen(fname);
            char domain[NAMES_MAX], path[PATH_MAX + 300];
            sqlite3 *db = NULL;
            if (len > 3 && len - 3 < sizeof domain && strcmp(fname + len - 3, ".db") == 0) {
                snprintf(domain, sizeof domain, "%.*s", (int)(len - 3), fname);
                snprintf(path, sizeof path, "%s/%s", dir, fname);
                if (names_is_valid_object(domain) &&
                    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
                    sqlite3_busy_timeout(db, HEALTH_ICEBERG_BUSY_MS);
                    if (l == 0)
                        health_iceberg_bronze(db, data_dir, domain, now_ms, lag_ms, out);
                    health_iceberg_db(db, domain, layers[l], now_ms, lag_ms, out);
                }
                sqlite3_close(db);
            }
            free(list[i]);
        }
        free(list);
    }
}

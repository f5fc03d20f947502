/* compaction.c - many small bronze files of one table and day -> one file.
 *
 * Inputs: a run of consecutive files of one dt= directory, each merged (in
 * _ledger; quarantined or unmerged files break a run) and small (under
 * seal_max_bytes/8 on disk), together at most seal_max_bytes. The output is
 * named <first_seq of the first>-<last_seq of the last>, so its range covers
 * every input (common/retention_policy.h): readers that see both skip the inputs.
 *
 * Steps, and what a crash after each leaves (recovery is compaction_finish at
 * start and on every maintenance tick):
 *   1. concatenate the inputs' lines into spool/.compact/<name>.ndjson and
 *      seal it (bronze_seal: tmp + fsync + rename) to spool/.compact/<name>
 *      -> crash: leftovers in spool/.compact, wiped at start; bronze untouched.
 *   2. ONE silver transaction (synchronous=FULL, so it survives a power cut):
 *      a _compactions row (state "pending", inputs as a JSON array) and the
 *      _ledger row of the output (snapshot_id = the newest input's, records =
 *      their sum). The inputs' ledger rows stay: every file on disk is in the
 *      ledger at every instant, so reconcile never merges anything again.
 *      -> crash: the output is not in bronze: the compaction is rolled back
 *      (its two rows deleted), the inputs are as before.
 *   3. rename the output into dt=<date>/ and fsync the directory. The
 *      processor's own inotify event finds it in the ledger and skips it.
 *      Bronze readers (queries, replay) now skip the covered inputs.
 *      -> crash: nothing to undo; step 4 happens after restart.
 *   4. after a grace period (query_timeout_ms + 1 s: a query that listed the
 *      directory before step 3 may still read the inputs), unlink the inputs,
 *      fsync the directory, then in one transaction delete their ledger rows
 *      and mark the compaction "done" (the row stays: it maps the old file
 *      names, which _snapshots.source still shows, to the new one).
 *      -> crash: unlinking again is harmless (ENOENT); ledger rows of files
 *      that are gone are harmless (as after retention).
 * The records (and their _seq) are unchanged, so silver is unchanged and a
 * replay gives the same tables. */
#include "processor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bronze.h"
#include "fsutil.h"
#include "layout.h"
#include "log.h"
#include "retention_policy.h"
#include "timeutil.h"
#include "sqlutil.h"

#define COMPACTION_GRACE_EXTRA_MS 1000

static const char compaction_ddl[] =
    "CREATE TABLE IF NOT EXISTS _compactions (file TEXT PRIMARY KEY, table_name TEXT NOT NULL, "
    "inputs TEXT NOT NULL, files INTEGER NOT NULL, records INTEGER NOT NULL, "
    "state TEXT NOT NULL, created_ms INTEGER NOT NULL, created_at TEXT NOT NULL, "
    "finished_at TEXT)";

struct compaction_input {
    char name[64];
    int64_t snapshot_id;
    int64_t records;
    int64_t bytes;
};

static int compaction_sql(struct silver_db *sdb, const char *sql, const char *t1, const char *t2,
                          int64_t i3, char err[ERROR_MAX])
{
    const struct sqlutil_value v[] = {SQLUTIL_TEXT(t1), SQLUTIL_TEXT(t2), SQLUTIL_INT(i3)};
    return sqlutil_run_values(sdb->db, sql, v, 3, NULL, err, "silver/%s.db: %s", sdb->domain, sql);
}

/* The ledger row of rel: 1 found, 0 not in the ledger, -1 error. */
static int compaction_ledger(struct silver_db *sdb, const char *rel, int64_t *snapshot_id,
                             int64_t *records, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT snapshot_id, records FROM _ledger WHERE file = ?1";
    if (sqlite3_prepare_v2(sdb->db, sql, -1, &st, NULL) != SQLITE_OK)
        return error_set(err, "silver/%s.db: %s", sdb->domain, sqlite3_errmsg(sdb->db));
    sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *snapshot_id = sqlite3_column_int64(st, 0);
        *records = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return error_set(err, "silver/%s.db: ledger lookup of %s failed", sdb->domain, rel);
}

/* Step 1: the inputs' lines, sealed into `sealed` (in the tmp dir). */
static int compaction_write(const char *data_dir, const char *prefix,
                            const struct compaction_input *in, size_t n, const char *plain,
                            const char *sealed, char err[ERROR_MAX])
{
    int fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, LAYOUT_FILE_MODE);
    if (fd < 0)
        return error_set(err, "cannot create %s: %s", plain, strerror(errno));
    FILE *out = fdopen(fd, "w");
    if (out == NULL) {
        close(fd);
        return error_set(err, "cannot write %s: %s", plain, strerror(errno));
    }
    size_t total = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[PATH_MAX];
        char rel[PROCESSOR_REL_MAX];
        if (fsutil_path(rel, sizeof rel, err, "%s%s", prefix, in[i].name) < 0 ||
            layout_path(path, sizeof path, data_dir, rel, err) < 0) {
            rc = -1;
            break;
        }
        struct bronze_reader *r = bronze_reader_open(path, err);
        if (r == NULL) {
            rc = -1;
            break;
        }
        const char *line;
        size_t len;
        int got;
        while ((got = bronze_reader_next(r, &line, &len, err)) == 1) {
            if (fwrite(line, 1, len, out) != len || fputc('\n', out) == EOF) {
                got = error_set(err, "cannot write %s: %s", plain, strerror(errno));
                break;
            }
            total += len + 1;
        }
        bronze_reader_close(&r);
        if (got < 0)
            rc = error_prefix(err, "%s", path);
    }
    if (fclose(out) != 0 && rc == 0)
        rc = error_set(err, "cannot write %s: %s", plain, strerror(errno));
    if (rc == 0 && total == 0)
        rc = error_set(err, "inputs of %s are empty", sealed);
    if (rc == 0)
        rc = bronze_seal(plain, total, sealed, err);
    unlink(plain);
    return rc;
}

/* Delete the rows of a compaction that never reached bronze. */
static int compaction_undo(struct silver_db *sdb, const char *rel, char err[ERROR_MAX])
{
    if (silver_exec(sdb, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    if (compaction_sql(sdb, "DELETE FROM _ledger WHERE file = ?1", rel, NULL, 0, err) < 0 ||
        compaction_sql(sdb, "DELETE FROM _compactions WHERE file = ?1", rel, NULL, 0, err) < 0 ||
        silver_exec(sdb, "COMMIT", err) < 0) {
        sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Steps 1-3 for one run of inputs. */
static int compaction_group(struct processor_ctx *ctx, struct silver_db *sdb, const char *table,
                            const char *date, const char *prefix,
                            const struct compaction_input *in, size_t n, char err[ERROR_MAX])
{
    uint64_t first, last, f2, l2;
    if (bronze_parse_name(in[0].name, &first, &l2) < 0 ||
        bronze_parse_name(in[n - 1].name, &f2, &last) < 0)
        return error_set(err, "bad input names in %s", prefix);
    char rel[PROCESSOR_REL_MAX], tmpdir[PATH_MAX], plain[PATH_MAX], sealed[PATH_MAX],
        final[PATH_MAX], ddir[PATH_MAX];
    if (bronze_relative_path(rel, sizeof rel, sdb->domain, table, date, first, last) < 0)
        return error_set(err, "bad output name in %s", prefix);
    const char *base = strrchr(rel, '/') + 1;
    if (layout_compaction_dir(tmpdir, sizeof tmpdir, ctx->cfg->data_dir, err) < 0 ||
        fsutil_path(plain, sizeof plain, err, "%s/%.41s%s", tmpdir, base, SPOOL_SUFFIX) < 0 ||
        fsutil_path(sealed, sizeof sealed, err, "%s/%s", tmpdir, base) < 0 ||
        layout_path(final, sizeof final, ctx->cfg->data_dir, rel, err) < 0 ||
        layout_path(ddir, sizeof ddir, ctx->cfg->data_dir, prefix, err) < 0)
        return -1;
    if (fsutil_mkdirs(tmpdir, LAYOUT_DIR_MODE, err) < 0)
        return -1;
    if (compaction_write(ctx->cfg->data_dir, prefix, in, n, plain, sealed, err) < 0) {
        unlink(sealed);
        return -1;
    }

    /* step 2 */
    json_t *inputs = json_array();
    int64_t records = 0, snapshot_id = 0;
    for (size_t i = 0; i < n; i++) {
        char irel[PROCESSOR_REL_MAX];
        snprintf(irel, sizeof irel, "%s%s", prefix, in[i].name);
        json_array_append_new(inputs, json_string(irel));
        records += in[i].records;
        if (in[i].snapshot_id > snapshot_id)
            snapshot_id = in[i].snapshot_id;
    }
    char *inputs_text = json_dumps(inputs, JSON_COMPACT);
    json_decref(inputs);
    if (inputs_text == NULL) {
        unlink(sealed);
        return error_set(err, "out of memory");
    }
    char now[TIMEUTIL_TIMESTAMP_MAX];
    int64_t now_ms = timeutil_now_ms();
    timeutil_format_utc_ms(now_ms, now);
    int rc = silver_exec(sdb, "PRAGMA synchronous=FULL", err);
    if (rc == 0 && (rc = silver_exec(sdb, "BEGIN IMMEDIATE", err)) == 0) {
        sqlite3_stmt *st = NULL;
        const char *sql = "INSERT OR REPLACE INTO _compactions (file, table_name, inputs, files, "
                          "records, state, created_ms, created_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)";
        if (silver_exec(sdb, compaction_ddl, err) < 0)
            rc = -1;
        else if (sqlite3_prepare_v2(sdb->db, sql, -1, &st, NULL) != SQLITE_OK)
            rc = error_set(err, "silver/%s.db: %s", sdb->domain, sqlite3_errmsg(sdb->db));
        if (rc == 0) {
            sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, inputs_text, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, (int64_t)n);
            sqlite3_bind_int64(st, 5, records);
            sqlite3_bind_int64(st, 6, now_ms);
            sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = error_set(err, "silver/%s.db: insert into _compactions: %s", sdb->domain,
                               sqlite3_errmsg(sdb->db));
        }
        sqlite3_finalize(st);
        if (rc == 0)
            rc = silver_record_ledger(sdb, rel, table, snapshot_id, records, err);
        if (rc == 0)
            rc = silver_exec(sdb, "COMMIT", err);
        if (rc < 0)
            sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
    }
    char ignored[ERROR_MAX];
    silver_exec(sdb, "PRAGMA synchronous=NORMAL", ignored);
    free(inputs_text);
    if (rc < 0) {
        unlink(sealed);
        return -1;
    }

    /* step 3 */
    if (rename(sealed, final) < 0) {
        error_set(err, "cannot move %s to %s: %s", sealed, final, strerror(errno));
        unlink(sealed);
        if (compaction_undo(sdb, rel, ignored) < 0)
            log_error("compaction_undo_failed file=%s reason=\"%s\"", rel, ignored);
        return -1;
    }
    if (fsutil_fsync_dir(ddir, err) < 0)
        return -1; /* the row is pending: recovery decides by what is on disk */
    log_info("compacted table=%s.%s date=%s files=%zu records=%" PRId64 " into=%s", sdb->domain,
             table, date, n, records, rel);
    return 0;
}

/* Compact one dt= directory of a table. */
static int compaction_day(struct processor_ctx *ctx, struct silver_db *sdb, const char *table,
                          const char *datedir, int64_t *inputs, int64_t *outputs,
                          char err[ERROR_MAX])
{
    char prefix[PROCESSOR_REL_MAX], dir[PATH_MAX], upper[PROCESSOR_REL_MAX];
    /* the file "" gives the directory with its trailing '/': a prefix of its files */
    if (layout_bronze_rel(prefix, sizeof prefix, sdb->domain, table, datedir, "", err) < 0 ||
        layout_path(dir, sizeof dir, ctx->cfg->data_dir, prefix, err) < 0)
        return -1;
    snprintf(upper, sizeof upper, "%s", prefix);
    upper[strlen(upper) - 1]++;
    /* one compaction at a time per directory: the previous one must finish */
    if (compaction_sql(sdb, compaction_ddl, NULL, NULL, 0, err) < 0)
        return -1;
    int busy = compaction_sql(sdb,
                              "SELECT 1 FROM _compactions WHERE state = 'pending' "
                              "AND file >= ?1 AND file < ?2",
                              prefix, upper, 0, err);
    if (busy != 0)
        return busy < 0 ? -1 : 0;
    struct strlist names = {0};
    if (scan_dir(dir, SCAN_BRONZE_FILES, &names, err) < 0)
        return -1;
    names.count = retention_drop_covered(names.items, names.count);
    int64_t small = ctx->cfg->seal_max_bytes / 8, cap = ctx->cfg->seal_max_bytes;
    struct compaction_input *run = calloc(names.count + 1, sizeof *run);
    int rc = run == NULL ? error_set(err, "out of memory") : 0;
    size_t count = 0;
    int64_t run_bytes = 0;
    for (size_t i = 0; rc == 0 && i <= names.count; i++) {
        struct compaction_input cur = {0};
        bool fits = false;
        if (i < names.count) {
            char rel[PROCESSOR_REL_MAX], path[PATH_MAX];
            struct stat st;
            snprintf(rel, sizeof rel, "%s%s", prefix, names.items[i]);
            layout_path(path, sizeof path, ctx->cfg->data_dir, rel, NULL);
            snprintf(cur.name, sizeof cur.name, "%s", names.items[i]);
            int merged = compaction_ledger(sdb, rel, &cur.snapshot_id, &cur.records, err);
            if (merged < 0) {
                rc = -1;
                break;
            }
            if (merged && stat(path, &st) == 0 && st.st_size < small) {
                cur.bytes = st.st_size;
                fits = true;
            }
        }
        if (fits && run_bytes + cur.bytes <= cap) {
            run[count++] = cur;
            run_bytes += cur.bytes;
            continue;
        }
        if (count >= 2) {
            rc = compaction_group(ctx, sdb, table, datedir + 3, prefix, run, count, err);
            if (rc == 0) {
                *inputs += (int64_t)count;
                (*outputs)++;
            }
        }
        count = 0;
        run_bytes = 0;
        if (fits) {
            run[count++] = cur;
            run_bytes = cur.bytes;
        }
    }
    free(run);
    strlist_clear(&names);
    return rc;
}

static int compaction_domain(struct processor_ctx *ctx, const char *domain, const char *table,
                             const char *date, int64_t *inputs, int64_t *outputs,
                             char err[ERROR_MAX])
{
    char dir[PATH_MAX], today[16];
    timeutil_format_date(timeutil_now_ms(), today);
    if (layout_bronze_dir(dir, sizeof dir, ctx->cfg->data_dir, domain, NULL, NULL, err) < 0)
        return -1;
    struct strlist tables = {0};
    if (scan_dir(dir, SCAN_OBJECT_DIRS, &tables, err) < 0)
        return -1;
    struct silver_db *sdb = NULL;
    int rc = 0;
    char db[PATH_MAX];
    if (layout_silver_db(db, sizeof db, ctx->cfg->data_dir, domain) < 0)
        rc = error_set(err, "path too long: silver/%s.db", domain);
    else if (access(db, F_OK) == 0) /* else nothing merged yet: nothing to compact */
        rc = silver_get(ctx->silver, domain, &sdb, err);
    for (size_t t = 0; rc == 0 && sdb != NULL && t < tables.count && !*ctx->stop; t++) {
        if (table[0] && strcmp(table, tables.items[t]) != 0)
            continue;
        char edir[PATH_MAX];
        struct strlist dates = {0};
        if (fsutil_path(edir, sizeof edir, err, "%s/%s", dir, tables.items[t]) < 0 ||
            scan_dir(edir, SCAN_DATE_DIRS, &dates, err) < 0) {
            rc = -1;
            break;
        }
        for (size_t d = 0; rc == 0 && d < dates.count; d++) {
            const char *day = dates.items[d] + 3;
            if (date[0] ? strcmp(day, date) != 0 : strcmp(day, today) >= 0)
                continue; /* automatic: closed days only */
            rc = compaction_day(ctx, sdb, tables.items[t], dates.items[d], inputs, outputs, err);
        }
        strlist_clear(&dates);
    }
    strlist_clear(&tables);
    return rc;
}

int compaction_compact(struct processor_ctx *ctx, const char *domain, const char *table,
                       const char *date, int64_t *inputs, int64_t *outputs, char err[ERROR_MAX])
{
    *inputs = *outputs = 0;
    if (domain[0])
        return compaction_domain(ctx, domain, table, date, inputs, outputs, err);
    char dir[PATH_MAX];
    struct strlist domains = {0};
    if (layout_bronze_dir(dir, sizeof dir, ctx->cfg->data_dir, NULL, NULL, NULL, err) < 0 ||
        scan_dir(dir, SCAN_OBJECT_DIRS, &domains, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < domains.count; i++) {
        if (compaction_domain(ctx, domains.items[i], "", date, inputs, outputs, err) < 0) {
            log_error("compaction_failed domain=%s reason=\"%s\"", domains.items[i], err);
            rc = -1; /* go on with the other domains; report the last error */
        }
    }
    strlist_clear(&domains);
    return rc;
}

/* Step 4 (or the roll-back of a compaction that never reached bronze). */
static int compaction_finish_one(struct processor_ctx *ctx, struct silver_db *sdb,
                                 const char *rel, const char *inputs_text, char err[ERROR_MAX])
{
    char final[PATH_MAX], ddir[PATH_MAX];
    if (layout_path(final, sizeof final, ctx->cfg->data_dir, rel, err) < 0)
        return -1;
    snprintf(ddir, sizeof ddir, "%s", final);
    *strrchr(ddir, '/') = '\0';
    struct stat st;
    if (stat(final, &st) != 0) {
        log_warn("compaction_rolled_back file=%s reason=\"compacted file not in bronze "
                 "(interrupted)\"", rel);
        return compaction_undo(sdb, rel, err);
    }
    json_error_t jerr;
    json_t *inputs = json_loads(inputs_text, 0, &jerr);
    if (!json_is_array(inputs)) {
        json_decref(inputs);
        return error_set(err, "_compactions row of %s: bad inputs", rel);
    }
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(inputs, i, v) {
        const char *in = json_string_value(v);
        char path[PATH_MAX];
        if (in == NULL || strncmp(in, "bronze/", 7) != 0 || strstr(in, "..") != NULL ||
            layout_path(path, sizeof path, ctx->cfg->data_dir, in, err) < 0)
            continue;
        if (unlink(path) < 0 && errno != ENOENT) {
            rc = error_set(err, "cannot delete %s: %s", path, strerror(errno));
            break;
        }
    }
    if (rc == 0)
        rc = fsutil_fsync_dir(ddir, err);
    if (rc == 0)
        rc = silver_exec(sdb, "BEGIN IMMEDIATE", err);
    if (rc == 0) {
        json_array_foreach(inputs, i, v) {
            const char *in = json_string_value(v);
            if (rc == 0 && in != NULL)
                rc = compaction_sql(sdb, "DELETE FROM _ledger WHERE file = ?1", in, NULL, 0, err) < 0
                         ? -1 : 0;
        }
        char now[TIMEUTIL_TIMESTAMP_MAX];
        timeutil_format_utc_ms(timeutil_now_ms(), now);
        if (rc == 0 && compaction_sql(sdb,
                                      "UPDATE _compactions SET state = 'done', finished_at = ?2 "
                                      "WHERE file = ?1",
                                      rel, now, 0, err) < 0)
            rc = -1;
        if (rc == 0)
            rc = silver_exec(sdb, "COMMIT", err);
        if (rc < 0)
            sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc == 0)
        log_info("compaction_finished file=%s inputs_removed=%zu", rel, json_array_size(inputs));
    json_decref(inputs);
    return rc;
}

static int64_t compaction_finish_domain(struct processor_ctx *ctx, const char *domain, bool force,
                                        char err[ERROR_MAX])
{
    char db[PATH_MAX];
    if (layout_silver_db(db, sizeof db, ctx->cfg->data_dir, domain) < 0)
        return error_set(err, "path too long: silver/%s.db", domain);
    if (access(db, F_OK) != 0)
        return 0;
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        return -1;
    int exists = silver_table_exists(sdb, "_compactions", err);
    if (exists <= 0)
        return exists;
    int64_t grace = ctx->cfg->query_timeout_ms + COMPACTION_GRACE_EXTRA_MS;
    int64_t now = timeutil_now_ms();
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT file, inputs, created_ms FROM _compactions WHERE state = 'pending' "
                      "ORDER BY file";
    if (sqlite3_prepare_v2(sdb->db, sql, -1, &st, NULL) != SQLITE_OK)
        return error_set(err, "silver/%s.db: %s", domain, sqlite3_errmsg(sdb->db));
    /* collect first: finishing writes to the table being read */
    struct strlist files = {0}, inputs = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *file = (const char *)sqlite3_column_text(st, 0);
        const char *in = (const char *)sqlite3_column_text(st, 1);
        int64_t created = sqlite3_column_int64(st, 2);
        char path[PATH_MAX];
        bool present = file != NULL &&
                       layout_path(path, sizeof path, ctx->cfg->data_dir, file, NULL) == 0 &&
                       access(path, F_OK) == 0;
        if (file == NULL || in == NULL || (present && !force && now - created < grace))
            continue;
        if (strlist_push(&files, file) < 0 || strlist_push(&inputs, in) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    int64_t finished = 0;
    if (rc != SQLITE_DONE)
        finished = error_set(err, "silver/%s.db: reading _compactions failed", domain);
    for (size_t i = 0; finished >= 0 && i < files.count; i++) {
        if (compaction_finish_one(ctx, sdb, files.items[i], inputs.items[i], err) < 0)
            finished = -1;
        else
            finished++;
    }
    strlist_clear(&files);
    strlist_clear(&inputs);
    return finished;
}

int64_t compaction_finish(struct processor_ctx *ctx, bool force, char err[ERROR_MAX])
{
    char dir[PATH_MAX];
    struct strlist domains = {0};
    if (layout_bronze_dir(dir, sizeof dir, ctx->cfg->data_dir, NULL, NULL, NULL, err) < 0 ||
        scan_dir(dir, SCAN_OBJECT_DIRS, &domains, err) < 0)
        return -1;
    int64_t total = 0;
    for (size_t i = 0; i < domains.count; i++) {
        int64_t n = compaction_finish_domain(ctx, domains.items[i], force, err);
        if (n < 0)
            log_error("compaction_finish_failed domain=%s reason=\"%s\"", domains.items[i], err);
        else
            total += n;
    }
    strlist_clear(&domains);
    return total;
}

void compact_run(struct processor_ctx *ctx, const struct control_request *req,
                 struct control_reply *reply)
{
    char err[ERROR_MAX] = "";
    int64_t inputs = 0, outputs = 0;
    int rc = 0;
    if (req->name[0] && !req->domain[0])
        rc = error_set(err, "compaction of table %s needs its domain", req->name);
    else if (req->from[0] && (strlen(req->from) != 10 || !timeutil_looks_like_date(req->from)))
        rc = error_set(err, "invalid date '%s': expected YYYY-MM-DD", req->from);
    else
        rc = compaction_compact(ctx, req->domain, req->name, req->from, &inputs, &outputs, err);
    reply->ok = rc == 0;
    reply->count = inputs;
    reply->id = outputs;
    if (rc < 0) {
        snprintf(reply->message, sizeof reply->message, "compaction failed: %s", err);
        return;
    }
    snprintf(reply->message, sizeof reply->message,
             "compacted %" PRId64 " files into %" PRId64
             " (the old files are removed after %" PRId64 " ms)",
             inputs, outputs, ctx->cfg->query_timeout_ms + COMPACTION_GRACE_EXTRA_MS);
}

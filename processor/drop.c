/* drop.c - deleting the data of a deleted endpoint (control "drop"), for
 * DELETE /endpoints/{d}/{n}?delete_data=true and `lakehouse endpoint delete
 * D/N --data`. The processor does it because it is the only writer of
 * silver and the only reader of bronze that acts on it.
 *
 * Order, chosen so that a crash or an error at any point leaves either the
 * old state or a state the same request finishes when sent again, and never
 * one in which a half-deleted table comes back by itself:
 *   1. Refuse while the endpoint is in the catalog: the caller deletes it
 *      first, so ingest refuses new batches for it (at once on the
 *      schema.changed event, at the latest at its next catalog check).
 *   2. Refuse with "busy: ..." while spool/<d>/<n>/ holds a spool file: ingest
 *      owns the spool and seals it into bronze within seal_max_age_ms; the
 *      caller retries. (Ingest not running with a leftover spool: busy until
 *      it starts and recovers the spool.)
 *   3. rename bronze/<d>/<n> -> bronze/<d>/.dropping-<n> (atomic, fsync'd):
 *      from here no scan, reconcile, replay or listing sees the files (the
 *      name fails the identifier rule), so a silver table dropped in step 4
 *      cannot be rebuilt from half-deleted bronze.
 *   4. One transaction on silver/<d>.db: DROP TABLE (and its row history
 *      _h_<n> if any), and delete its _ledger, _quarantine and _snapshots
 *      rows. (If it fails, bronze stays renamed;
 *      sending the request again finishes the job.)
 *   5. Remove bronze/<d>/.dropping-<n>, rejected/<d>/<n> and the empty
 *      spool/<d>/<n>. A crash here leaves only the .dropping- directory,
 *      which nothing reads and the next drop of that name removes.
 * Files of the table still in the pending queue simply find their file gone
 * (merge_one: nothing written). Gold tables built from the table and the
 * jobs that read it are left alone (dependency jobs wait until the table
 * exists again). landing/ is the producers' inbox and is not touched.
 * Reply: count = bronze files deleted, id = silver rows dropped. */
#include "processor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bronze.h"
#include "fsutil.h"
#include "layout.h"
#include "log.h"

#define DROP_PREFIX ".dropping-"
/* Deepest directory nesting under a removed directory (bronze: dt=/file). */
#define DROP_MAX_DEPTH 8

static bool drop_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* rm -rf of the directory entry `name` in parent; *bronze_files counts the
 * sealed bronze files removed. Missing is fine. Symlinks are removed, never
 * followed. */
static int drop_remove_at(int parent, const char *name, int depth, int64_t *bronze_files,
                          char err[ERROR_MAX])
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : error_set(err, "%s: %s", name, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(parent, name, 0) != 0 && errno != ENOENT)
            return error_set(err, "remove %s: %s", name, strerror(errno));
        if (drop_has_suffix(name, BRONZE_SUFFIX))
            (*bronze_files)++;
        return 0;
    }
    if (depth > DROP_MAX_DEPTH)
        return error_set(err, "%s: directories nested too deep", name);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return error_set(err, "open %s: %s", name, strerror(errno));
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return error_set(err, "open %s: %s", name, strerror(errno));
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        rc = drop_remove_at(dirfd(d), e->d_name, depth + 1, bronze_files, err);
    }
    closedir(d);
    if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = error_set(err, "remove %s: %s", name, strerror(errno));
    return rc;
}

static int drop_remove(const char *path, int64_t *bronze_files, char err[ERROR_MAX])
{
    if (drop_remove_at(AT_FDCWD, path, 0, bronze_files, err) < 0)
        return error_prefix(err, "%s", path);
    return 0;
}

/* Does spool/<d>/<n>/ hold a spool file? 1 / 0 / -1. */
static int drop_spool_busy(const char *dir, char err[ERROR_MAX])
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : error_set(err, "%s: %s", dir, strerror(errno));
    int busy = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (drop_has_suffix(e->d_name, SPOOL_SUFFIX))
            busy = 1;
    }
    closedir(d);
    return busy;
}

/* Step 4: the table and its rows in the internal tables, in one transaction.
 * *found is set when there was anything to drop. */
static int drop_silver(struct processor_ctx *ctx, const char *domain, const char *table,
                       int64_t *rows, bool *found, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    struct stat st;
    *rows = 0;
    if (layout_silver_db(path, sizeof path, ctx->cfg->data_dir, domain) < 0)
        return error_set(err, "path too long: silver/%s.db", domain);
    if (stat(path, &st) != 0)
        return 0; /* no silver database: nothing to drop */
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        return -1;
    if (silver_exec(sdb, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    int exists = silver_table_exists(sdb, table, err);
    if (exists < 0)
        goto fail;
    char sql[2 * NAMES_MAX];
    if (exists) {
        *found = true;
        sqlite3_stmt *st_count = NULL;
        /* The name passed names.h checks: safe inside double quotes. */
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
        if (sqlite3_prepare_v2(sdb->db, sql, -1, &st_count, NULL) != SQLITE_OK ||
            sqlite3_step(st_count) != SQLITE_ROW) {
            error_set(err, "silver/%s.db: %s: %s", domain, sql, sqlite3_errmsg(sdb->db));
            sqlite3_finalize(st_count);
            goto fail;
        }
        *rows = sqlite3_column_int64(st_count, 0);
        sqlite3_finalize(st_count);
        snprintf(sql, sizeof sql, "DROP TABLE \"%s\"", table);
        if (silver_exec(sdb, sql, err) < 0)
            goto fail;
    }
    /* the row history of the table, when there is one (silver_history.c) */
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS \"_h_%s\"", table);
    if (silver_exec(sdb, sql, err) < 0)
        goto fail;
    /* and its delete tombstones (merge.c) */
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS \"_d_%s\"", table);
    if (silver_exec(sdb, sql, err) < 0)
        goto fail;
    /* its schema changes (evolve.c): a new endpoint of this name starts over */
    if (evolve_forget(sdb, table, err) < 0)
        goto fail;
    static const char *const forget[] = {"DELETE FROM _ledger WHERE table_name = ?1",
                                         "DELETE FROM _quarantine WHERE table_name = ?1",
                                         "DELETE FROM _snapshots WHERE table_name = ?1"};
    for (size_t i = 0; i < sizeof forget / sizeof *forget; i++) {
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2(sdb->db, forget[i], -1, &stmt, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
            rc = sqlite3_step(stmt);
        }
        if (rc == SQLITE_DONE && sqlite3_changes(sdb->db) > 0)
            *found = true;
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE) {
            error_set(err, "silver/%s.db: %s: %s", domain, forget[i], sqlite3_errmsg(sdb->db));
            goto fail;
        }
    }
    if (silver_exec(sdb, "COMMIT", err) < 0)
        goto fail;
    return 0;
fail:
    sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static int drop_endpoint(struct processor_ctx *ctx, const char *domain, const char *name,
                         struct control_reply *reply, char err[ERROR_MAX])
{
    const char *data = ctx->cfg->data_dir;
    char dir[PATH_MAX], moved[PATH_MAX], path[PATH_MAX], moved_name[NAMES_MAX + 16];
    struct stat st;
    bool found = false;
    int64_t files = 0, rows = 0;

    struct schema *schema = NULL;
    int rc = schemas_get(ctx->schemas, domain, name, 0, &schema, err);
    schema_destroy(&schema);
    if (rc < 0)
        return error_prefix(err, "catalog");
    if (rc > 0)
        return error_fail(err, ERROR_CONFLICT,
                         "endpoint %s/%s still exists in the catalog: delete the endpoint first",
                         domain, name);

    if (layout_spool_dir(dir, sizeof dir, data, domain, name, err) < 0)
        return -1;
    rc = drop_spool_busy(dir, err);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return error_fail(err, ERROR_BUSY,
                         "busy: ingest still has an open spool file for %s/%s (it is sealed "
                         "within seal_max_age_ms, or when ingest starts); try again",
                         domain, name);

    /* 3: out of sight of every scan, atomically */
    if (layout_bronze_dir(dir, sizeof dir, data, domain, name, NULL, err) < 0 ||
        fsutil_path(moved_name, sizeof moved_name, err, DROP_PREFIX "%s", name) < 0 ||
        layout_bronze_dir(moved, sizeof moved, data, domain, moved_name, NULL, err) < 0)
        return -1;
    if (lstat(dir, &st) == 0) {
        found = true;
        if (drop_remove(moved, &files, err) < 0) /* left over by an earlier drop */
            return -1;
        files = 0;
        if (rename(dir, moved) != 0)
            return error_set(err, "rename %s: %s", dir, strerror(errno));
        if (fsutil_fsync_parent(moved, err) < 0)
            return -1;
    } else if (errno != ENOENT) {
        return error_set(err, "%s: %s", dir, strerror(errno));
    } else if (lstat(moved, &st) == 0) {
        found = true; /* an earlier drop stopped after step 3 */
    }

    /* 4 */
    if (drop_silver(ctx, domain, name, &rows, &found, err) < 0)
        return -1;

    /* 5 */
    if (drop_remove(moved, &files, err) < 0)
        return -1;
    int64_t ignored = 0;
    if (layout_rejected_dir(path, sizeof path, data, domain, name, err) < 0)
        return -1;
    if (lstat(path, &st) == 0)
        found = true;
    if (drop_remove(path, &ignored, err) < 0)
        return -1;
    if (layout_spool_dir(path, sizeof path, data, domain, name, err) < 0)
        return -1;
    if (rmdir(path) != 0 && errno != ENOENT && errno != ENOTEMPTY)
        log_warn("drop_spool_dir path=%s reason=\"%s\"", path, strerror(errno));

    if (!found)
        return error_fail(err, ERROR_NOT_FOUND,
                          "no data for %s/%s (no bronze, silver or rejected data)", domain, name);
    reply->count = files;
    reply->id = rows;
    snprintf(reply->message, sizeof reply->message,
             "dropped %s/%s: %" PRId64 " bronze files, %" PRId64 " silver rows", domain, name,
             files, rows);
    log_info("dropped table=%s.%s bronze_files=%" PRId64 " silver_rows=%" PRId64, domain, name,
             files, rows);
    return 0;
}

void drop_run(struct processor_ctx *ctx, const struct control_request *req,
              struct control_reply *reply)
{
    char err[ERROR_MAX] = "";
    reply->count = 0;
    reply->id = 0;
    int rc;
    if (!req->domain[0] || !req->name[0])
        rc = error_fail(err, ERROR_INVALID, "drop needs a domain and a table");
    else if (names_check_object("domain", req->domain, err) < 0 ||
             names_check_object("table", req->name, err) < 0)
        rc = -(int)ERROR_INVALID;
    else
        rc = drop_endpoint(ctx, req->domain, req->name, reply, err);
    reply->ok = rc == 0;
    reply->kind = error_kind_of(rc);
    if (rc < 0) {
        snprintf(reply->message, sizeof reply->message, "%s", err);
        if (reply->kind == ERROR_BUSY)
            log_info("drop_busy domain=%s table=%s", req->domain, req->name);
        else
            log_error("drop_failed domain=%s table=%s reason=\"%s\"", req->domain, req->name, err);
    }
}

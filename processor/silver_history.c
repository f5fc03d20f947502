/* silver_history.c - the row history of silver tables (_h_<table>) and rollback.
 *
 * Every silver table <t> has an internal table _h_<t> (names starting with
 * '_' can never be user tables) holding every version of every row: the
 * table's columns (user columns, _rescued, _seq, _insert_date,
 * _schema_version) plus
 *   _valid_from INTEGER NOT NULL  the snapshot that created this version
 *   _valid_to   INTEGER           the snapshot that ended it (NULL: current)
 * A version is visible at snapshot S when _valid_from <= S AND (_valid_to IS
 * NULL OR _valid_to > S). Indexes: (key, _valid_to) where the key is the
 * primary key (or _seq for tables without one), _valid_from, and _valid_to
 * (partial, closed versions only).
 *
 * Who writes it:
 *   - merge.c, in the merge transaction of each file: an inserted row adds a
 *     version; an updated row closes the current version and adds one; an
 *     unchanged row writes nothing. A key changed twice in one file leaves an
 *     empty version [S, S), removed at the end of the file (history_cleanup).
 *   - replay (rebuild): the table is rebuilt without history writes, then
 *     history_diff compares the rebuilt table with the current versions and
 *     closes/adds only what differs, so history before the rebuild stays
 *     readable and a rebuild that changes nothing writes nothing.
 *   - rollback (control "rollback"): the table is replaced by its versions
 *     visible at snapshot S and history_diff records the difference as a new
 *     snapshot (operation "rollback", source "snapshot:<S>").
 * The history of a table created before history existed starts with its rows
 * at that moment (_valid_from 0). */
#include "processor.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "event.h"
#include "strbuf.h"
#include "layout.h"
#include "rowhistory.h"
#include "log.h"
#include "timeutil.h"

/* Columns of a table (none if it does not exist). Caller frees items. */
static int history_columns(struct silver_db *sdb, const char *table, struct rowhistory_cols *out,
                           char err[ERROR_MAX])
{
    if (rowhistory_columns(sdb->db, "main", table, out, err) < 0)
        return error_prefix(err, "silver/%s.db", sdb->domain);
    return 0;
}

static bool history_is_meta(const char *name)
{
    return strcmp(name, "_seq") == 0 || strcmp(name, "_insert_date") == 0 ||
           strcmp(name, "_schema_version") == 0;
}

/* The key of history rows: the primary key columns in key order, or _seq. */
static void history_key(struct strbuf *b, const struct rowhistory_cols *t, const char *left,
                        const char *right)
{
    size_t n = 0;
    for (int p = 1; p <= (int)t->count; p++) {
        for (size_t i = 0; i < t->count; i++) {
            if (t->items[i].pk == p) {
                strbuf_addf(b, "%s\"%s\".\"%s\" = \"%s\".\"%s\"", n++ ? " AND " : "", left,
                            t->items[i].name, right, t->items[i].name);
            }
        }
    }
    if (n == 0)
        strbuf_addf(b, "\"%s\".\"_seq\" = \"%s\".\"_seq\"", left, right);
}

static int history_exec(struct silver_db *sdb, struct strbuf *b, int64_t *changes,
                        char err[ERROR_MAX])
{
    int rc = silver_exec_buf(sdb, b, err);
    if (rc == 0 && changes != NULL)
        *changes = sqlite3_changes64(sdb->db);
    return rc;
}

int history_sync(struct silver_db *sdb, const char *table, char err[ERROR_MAX])
{
    struct rowhistory_cols t = {0};
    const char **keys = NULL;
    size_t nkeys = 0;
    int rc = -1;
    if (history_columns(sdb, table, &t, err) < 0)
        goto done;
    /* the history key: the primary key columns in key order, or _seq */
    keys = calloc(t.count + 1, sizeof *keys);
    if (keys == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    for (int p = 1; p <= (int)t.count; p++)
        for (size_t i = 0; i < t.count; i++)
            if (t.items[i].pk == p)
                keys[nkeys++] = t.items[i].name;
    if (nkeys == 0)
        keys[nkeys++] = "_seq";
    int created = rowhistory_sync(sdb->db, "main", table, keys, nkeys, true, err);
    if (created < 0) {
        error_prefix(err, "silver/%s.db: history of %s", sdb->domain, table);
        goto done;
    }
    if (created > 0)
        log_info("history_created table=%s.%s", sdb->domain, table);
    rc = 0;
done:
    free(keys);
    rowhistory_cols_free(&t);
    return rc;
}

int history_cleanup(struct silver_db *sdb, const char *table, int64_t snapshot_id,
                    char err[ERROR_MAX])
{
    struct strbuf b = {0};
    strbuf_addf(&b,
                "DELETE FROM \"_h_%s\" WHERE \"_valid_from\" = %" PRId64
                " AND \"_valid_to\" = %" PRId64,
                table, snapshot_id, snapshot_id);
    return history_exec(sdb, &b, NULL, err);
}

int history_diff(struct silver_db *sdb, const char *table, int64_t snapshot_id,
                 struct history_counts *out, char err[ERROR_MAX])
{
    memset(out, 0, sizeof *out);
    if (history_sync(sdb, table, err) < 0)
        return -1;
    char h[NAMES_MAX + 4];
    snprintf(h, sizeof h, "_h_%s", table);
    struct rowhistory_cols t = {0}, hc = {0};
    struct strbuf b = {0};
    int64_t closed = 0, added = 0, both = 0;
    int rc = -1;
    if (history_columns(sdb, table, &t, err) < 0 || history_columns(sdb, h, &hc, err) < 0)
        goto done;
    if (hc.count == 0) {
        rc = 0; /* neither table nor history: nothing to record */
        goto done;
    }
    /* close every current version that the table no longer has as it is */
    strbuf_addf(&b, "UPDATE \"%s\" SET \"_valid_to\" = %" PRId64 " WHERE \"_valid_to\" IS NULL",
                h, snapshot_id);
    if (t.count > 0) {
        strbuf_addf(&b, " AND NOT (EXISTS (SELECT 1 FROM \"%s\" WHERE ", table);
        history_key(&b, &t, table, h);
        for (size_t i = 0; i < t.count; i++)
            if (!history_is_meta(t.items[i].name))
                strbuf_addf(&b, " AND \"%s\".\"%s\" IS \"%s\".\"%s\"", table, t.items[i].name, h,
                            t.items[i].name);
        strbuf_addf(&b, ")");
        /* (a dropped column kept as _dropped_<snapshot>_<n> by evolve.c is no
         * longer part of the row: its old values are not a difference) */
        for (size_t i = 0; i < hc.count; i++)
            if (!history_is_meta(hc.items[i].name) && !rowhistory_is_validity(hc.items[i].name) &&
                strncmp(hc.items[i].name, "_dropped_", 9) != 0 &&
                rowhistory_find(&t, hc.items[i].name) == NULL)
                strbuf_addf(&b, " AND \"%s\".\"%s\" IS NULL", h, hc.items[i].name);
        strbuf_addf(&b, ")");
    }
    if (history_exec(sdb, &b, &closed, err) < 0)
        goto done;
    if (t.count > 0) {
        /* add a version for every row without a current one */
        strbuf_addf(&b, "INSERT INTO \"%s\" (", h);
        for (size_t i = 0; i < t.count; i++)
            strbuf_addf(&b, "\"%s\", ", t.items[i].name);
        strbuf_addf(&b, "\"_valid_from\") SELECT ");
        for (size_t i = 0; i < t.count; i++)
            strbuf_addf(&b, "\"%s\", ", t.items[i].name);
        strbuf_addf(&b, "%" PRId64 " FROM \"%s\" WHERE NOT EXISTS (SELECT 1 FROM \"%s\" WHERE ",
                    snapshot_id, table, h);
        strbuf_addf(&b, "\"%s\".\"_valid_to\" IS NULL AND ", h);
        history_key(&b, &t, h, table);
        strbuf_addf(&b, ")");
        if (history_exec(sdb, &b, &added, err) < 0)
            goto done;
        /* keys both closed and added are updates */
        strbuf_addf(&b,
                    "SELECT count(*) FROM \"%s\" AS n WHERE n.\"_valid_from\" = %" PRId64
                    " AND EXISTS (SELECT 1 FROM \"%s\" AS p WHERE p.\"_valid_to\" = %" PRId64
                    " AND ",
                    h, snapshot_id, h, snapshot_id);
        history_key(&b, &t, "p", "n");
        strbuf_addf(&b, ")");
        if (b.failed) {
            error_set(err, "out of memory");
            goto done;
        }
        sqlite3_stmt *st = NULL;
        int src = sqlite3_prepare_v2(sdb->db, b.s, -1, &st, NULL);
        if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
            both = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (src != SQLITE_ROW) {
            error_set(err, "silver/%s.db: counting updates of %s: %s", sdb->domain, table,
                      sqlite3_errmsg(sdb->db));
            goto done;
        }
        free(b.s);
        b = (struct strbuf){0};
    }
    if (history_cleanup(sdb, table, snapshot_id, err) < 0)
        goto done;
    out->updated = both;
    out->inserted = added - both;
    out->deleted = closed - both;
    rc = 0;
done:
    free(b.s);
    free(t.items);
    free(hc.items);
    return rc;
}

/* ---- rollback --------------------------------------------------------------- */

static int history_snapshot_check(struct silver_db *sdb, const char *table, int64_t snapshot,
                                  int64_t *schema_version, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(sdb->db,
                                "SELECT schema_version FROM _snapshots "
                                "WHERE snapshot_id = ?1 AND table_name = ?2",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, snapshot);
        sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *schema_version = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return error_set(err, "unknown snapshot %" PRId64 " of table %s.%s (see lakehouse "
                              "history %s/%s)",
                         snapshot, sdb->domain, table, sdb->domain, table);
    return error_set(err, "silver/%s.db: reading _snapshots: %s", sdb->domain,
                     sqlite3_errmsg(sdb->db));
}

/* Replace the rows of table by its versions visible at snapshot (inside the
 * caller's transaction). */
static int history_restore(struct silver_db *sdb, const char *table, int64_t snapshot,
                           int64_t *rows, char err[ERROR_MAX])
{
    struct rowhistory_cols t = {0};
    struct strbuf b = {0};
    int rc = -1;
    if (history_columns(sdb, table, &t, err) < 0)
        goto done;
    strbuf_addf(&b, "DELETE FROM \"%s\"", table);
    if (history_exec(sdb, &b, NULL, err) < 0)
        goto done;
    strbuf_addf(&b, "INSERT INTO \"%s\" (", table);
    for (size_t i = 0; i < t.count; i++)
        strbuf_addf(&b, "%s\"%s\"", i ? ", " : "", t.items[i].name);
    strbuf_addf(&b, ") SELECT ");
    for (size_t i = 0; i < t.count; i++)
        strbuf_addf(&b, "%s\"%s\"", i ? ", " : "", t.items[i].name);
    strbuf_addf(&b,
                " FROM \"_h_%s\" WHERE \"_valid_from\" <= %" PRId64
                " AND (\"_valid_to\" IS NULL OR \"_valid_to\" > %" PRId64 ")",
                table, snapshot, snapshot);
    if (history_exec(sdb, &b, rows, err) < 0)
        goto done;
    /* Delete tombstones (_d_<table>, merge.c) of keys whose row the rollback
     * brought back are void: the rolled-back state has the row, so a later
     * older record must be judged against the row, not the undone delete.
     * Tombstones of keys still absent stay; the rollback adds none. */
    char d[NAMES_MAX + 4];
    snprintf(d, sizeof d, "_d_%s", table);
    bool keyed = false;
    for (size_t i = 0; i < t.count; i++)
        keyed = keyed || t.items[i].pk > 0;
    int dtable = keyed ? silver_table_exists(sdb, d, err) : 0;
    if (dtable < 0)
        goto done;
    if (dtable > 0) {
        strbuf_addf(&b, "DELETE FROM \"%s\" WHERE EXISTS (SELECT 1 FROM \"%s\" WHERE ", d, table);
        bool first = true;
        for (size_t i = 0; i < t.count; i++) {
            if (t.items[i].pk <= 0)
                continue;
            strbuf_addf(&b, "%s\"%s\".\"%s\" IS \"%s\".\"%s\"", first ? "" : " AND ", table,
                        t.items[i].name, d, t.items[i].name);
            first = false;
        }
        strbuf_addf(&b, ")");
        int64_t cleared = 0;
        if (history_exec(sdb, &b, &cleared, err) < 0)
            goto done;
        if (cleared > 0)
            log_info("rollback_tombstones_cleared table=%s.%s count=%" PRId64, sdb->domain, table,
                     cleared);
    }
    rc = 0;
done:
    free(b.s);
    free(t.items);
    return rc;
}

static int history_rollback(struct processor_ctx *ctx, const char *domain, const char *table,
                            int64_t snapshot, struct control_reply *reply, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    struct stat st;
    if (layout_silver_db(path, sizeof path, ctx->cfg->data_dir, domain) < 0 ||
        stat(path, &st) < 0)
        return error_fail(err, ERROR_NOT_FOUND, "no silver database for domain %s", domain);
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        return -1;
    if (silver_exec(sdb, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    int64_t schema_version = 0, rows = 0, id = 0;
    struct history_counts counts;
    int exists = silver_table_exists(sdb, table, err);
    enum error_kind kind = ERROR_INTERNAL;
    if (exists == 0) {
        kind = ERROR_NOT_FOUND;
        error_set(err, "no silver table %s.%s", domain, table);
    }
    if (exists <= 0 || history_sync(sdb, table, err) < 0 ||
        history_snapshot_check(sdb, table, snapshot, &schema_version, err) < 0 ||
        silver_next_snapshot_id(sdb, &id, err) < 0 ||
        history_restore(sdb, table, snapshot, &rows, err) < 0 ||
        history_diff(sdb, table, id, &counts, err) < 0)
        goto fail;
    char source[48];
    snprintf(source, sizeof source, "snapshot:%" PRId64, snapshot);
    int64_t unchanged = rows - counts.inserted - counts.updated;
    struct silver_snapshot snap = {
        .id = id, .table = table, .operation = "rollback", .source = source,
        .inserted = counts.inserted, .updated = counts.updated,
        .unchanged = unchanged > 0 ? unchanged : 0, .deleted = counts.deleted,
        .schema_version = schema_version};
    int64_t recorded;
    if (silver_record_snapshot(sdb, &snap, &recorded, err) < 0 ||
        silver_exec(sdb, "COMMIT", err) < 0)
        goto fail;
    log_info("rolled_back table=%s.%s to_snapshot=%" PRId64 " snapshot_id=%" PRId64
             " inserted=%" PRId64 " updated=%" PRId64 " deleted=%" PRId64,
             domain, table, snapshot, recorded, counts.inserted, counts.updated, counts.deleted);
    merge_publish(ctx, domain, table, "", recorded,
                  counts.inserted + counts.updated + counts.deleted);
    reply->ok = true;
    reply->id = recorded;
    reply->count = counts.inserted + counts.updated + counts.deleted;
    snprintf(reply->message, sizeof reply->message,
             "rolled back %s.%s to snapshot %" PRId64 " as snapshot %" PRId64 ": %" PRId64
             " inserted, %" PRId64 " updated, %" PRId64 " deleted, %" PRId64 " rows",
             domain, table, snapshot, recorded, counts.inserted, counts.updated, counts.deleted,
             rows);
    return 0;
fail:
    sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
    return -(int)kind;
}

void rollback_run(struct processor_ctx *ctx, const struct control_request *req,
                  struct control_reply *reply)
{
    char err[ERROR_MAX] = "";
    char *end = NULL;
    long long snapshot = strtoll(req->from, &end, 10);
    int rc = 0;
    if (!req->domain[0] || !req->name[0])
        rc = error_fail(err, ERROR_INVALID, "rollback needs a domain and a table");
    else if (names_check_object("domain", req->domain, err) < 0 ||
             names_check_object("table", req->name, err) < 0)
        rc = -(int)ERROR_INVALID;
    else if (req->from[0] == '\0' || end == NULL || *end != '\0' || snapshot <= 0)
        rc = error_fail(err, ERROR_INVALID,
                        "rollback needs a snapshot id (a positive number), got '%s'", req->from);
    else
        rc = history_rollback(ctx, req->domain, req->name, snapshot, reply, err);
    if (rc < 0) {
        reply->ok = false;
        reply->kind = error_kind_of(rc);
        snprintf(reply->message, sizeof reply->message, "%s", err);
        log_error("rollback_failed table=%s.%s snapshot=%s reason=\"%s\"", req->domain, req->name,
                  req->from, err);
    }
}

/* merge.c - one bronze file -> rows of one silver table, exactly once.
 *
 * A file is merged inside a savepoint of the caller's transaction together
 * with its _snapshots and _ledger rows (rule 2). The live path
 * (merge_group.c) wraps the pending files of one table, up to a bound, in
 * one BEGIN IMMEDIATE ... COMMIT; replay wraps all the files of a table in
 * one transaction.
 *
 * The table:
 *   - is created at the first record: the user columns of the endpoint schema
 *     version that record was validated against (the record's _schema_version;
 *     versions are immutable, so replay creates exactly the table live
 *     processing created; the latest version if that one is gone), then
 *     _seq, _insert_date, _schema_version, _rescued, and PRIMARY KEY of the
 *     schema's key columns. Without a catalog entry there is no key and no
 *     column: columns are added as fields appear, types inferred from values.
 *   - gains a column (ALTER TABLE ADD COLUMN) for any field it lacks, typed
 *     by the record's schema version, else the latest schema, else the value
 *     (TEXT for a column the latest version widened to string).
 *   - schema changes (evolve.c): merge_table_open first brings the table to
 *     the latest version (renames, drops); a record of an older version has
 *     its fields renamed to the latest names and dropped fields left out
 *     before it is merged, and a table is created with the latest names, so
 *     live merges and replay build the same table.
 *   - with a primary key: upsert where the larger _seq wins, so a late or
 *     re-merged file never rolls a row back and the row is always the record
 *     with the largest _seq (whatever order files arrive in - replay = live):
 *       INSERT OR IGNORE                              changes()==1 -> inserted
 *       UPDATE all columns WHERE pk AND _seq < new AND some column differs
 *                                                     changes()==1 -> updated
 *       UPDATE _seq/_insert_date/_schema_version WHERE pk AND _seq < new
 *                                                     -> unchanged (same data)
 *   - without: append, with _seq UNIQUE and INSERT OR IGNORE, so a file
 *     merged again never duplicates.
 *   - sequence_by (schema.h): "which version wins" compares (the sequence
 *     column, _seq) instead of _seq alone - NULL lowest, timestamp/date by
 *     julianday() (to the millisecond) - in the updates, the deletes and the
 *     tombstones alike, so a late older record never overwrites a newer one.
 *   - deletes (a record with "_op":"delete", keyed tables only): DELETE the
 *     key's row when the delete is newer (closing its history version, so the
 *     change feed shows a delete), and keep a tombstone in _d_<table> (key,
 *     sequence column, _seq) unless a newer row stays. While _d_<table> has
 *     rows, an upsert first looks up its key's tombstone: a newer tombstone
 *     makes the record unchanged (a late older record cannot bring the row
 *     back), an older one is removed. A table created anew drops an old
 *     _d_<table> (rebuild), so replay rebuilds the tombstones too.
 *   - expectations (schema.h, expectation.h) of the endpoint's LATEST schema
 *     are evaluated on every record that is not a delete: warn counts, drop
 *     counts and leaves the record out (its line goes to
 *     rejected/<d>/<e>/<date>-expectations.ndjson, written and fdatasync'd
 *     before the merge commits; replay does not write it again), fail rolls
 *     the file back and leaves it pending (MERGE_BLOCKED; reconcile tries
 *     again, so changing the rule lets it merge; in a replay it is an error).
 *     Failures per rule go to _expectations(snapshot_id, table_name, rule,
 *     action, failed) with the snapshot, one row per rule (0 included).
 *   - row history (silver_history.c): an inserted row adds a version to
 *     _h_<table>, an updated row closes the current version and adds one
 *     (same bound values, plus the snapshot id reserved before the file's
 *     rows are written); an unchanged row writes no history.
 * Values: string -> TEXT, integer -> INTEGER, real -> REAL, true/false -> 1/0,
 * object/array -> compact JSON text, null/absent -> NULL (a record replaces
 * the whole row: fields it lacks become NULL). _domain, _endpoint, _batch_id
 * are not columns.
 *
 * A file is corrupt (quarantined, never half merged, not retried) when the
 * frame or a line cannot be read, a line is not a JSON object, _seq is not a
 * non-negative integer, a field name breaks the column rule, _domain /
 * _endpoint name another table, a key column is missing, or SQLite refuses a
 * value or a column for good (constraint, type mismatch, too many columns).
 *
 * Each line is read once and its values are bound directly. The common line
 * - a flat object of scalars, every field a known column of the current
 * names, no expectations - is read in place by jsonflat_scan (common/
 * jsonflat.h; building a jansson tree per line was about half of a merge's
 * CPU); any other line (a new column, nested values, escapes, an older
 * version's renamed fields, anything unusual) is parsed with jansson and
 * handled exactly as before, including every error message. The statements
 * for the current column set are prepared once per table and kept while the
 * transaction lasts. */
#include "merge_table.h"

static int merge_savepoint(struct merge_table *t, const char *sql, char err[ERROR_MAX])
{
    return silver_exec(t->sdb, sql, err);
}

/* Undo everything since the savepoint and forget cached columns/statements
 * (an ALTER TABLE may have been rolled back with it). */
static int merge_undo(struct merge_table *t, char err[ERROR_MAX])
{
    merge_free_texts(t);
    merge_finalize(t);
    if (merge_savepoint(t, "ROLLBACK TO merge_file", err) < 0 ||
        merge_savepoint(t, "RELEASE merge_file", err) < 0)
        return -1;
    return merge_load(t, err);
}

/* One line of the file: the flat fast path, else jansson (a record of an
 * older version mapped to the latest names). 0 ok, 1 corrupt (res->reason),
 * 2 blocked, -1 error (err). */
static int merge_line(struct merge_table *t, const char *text, size_t len, int64_t line,
                      struct merge_result *res, int64_t *max_version, char err[ERROR_MAX])
{
    int nflat = jsonflat_scan(text, len, t->flat, MERGE_FLAT_MAX, 0);
    if (nflat >= 0) {
        int frc = merge_record_flat(t, t->flat, nflat, line, res, max_version, res->reason, err);
        if (frc != MERGE_SLOW)
            return frc;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
    if (root == NULL)
        return merge_corrupt(res->reason, "line %" PRId64 ": invalid JSON: %s", line, jerr.text);
    json_t *mapped = NULL; /* a record of an older version, in the latest names */
    int rc;
    if (!json_is_object(root)) {
        rc = merge_corrupt(res->reason, "line %" PRId64 ": not a JSON object", line);
    } else if (evolve_record(&t->names, t->schemas, t->domain, t->name,
                             t->latest_fetched ? t->latest : NULL, root, &mapped, err) < 0) {
        rc = -1;
    } else {
        rc = merge_record(t, mapped != NULL ? mapped : root, line, res, max_version, res->reason,
                          err);
    }
    json_decref(mapped);
    merge_free_texts(t);
    json_decref(root);
    return rc;
}

int merge_file(struct merge_table *t, const char *data_dir, const char *rel,
               const char *operation, int64_t rows_deleted, struct merge_result *res,
               char err[ERROR_MAX])
{
    memset(res, 0, sizeof *res);
    char path[PATH_MAX];
    if (layout_path(path, sizeof path, data_dir, rel, err) < 0)
        return -1;
    if (merge_savepoint(t, "SAVEPOINT merge_file", err) < 0)
        return -1;
    t->closed = 0;
    t->ncounts = 0;
    t->counted_version = -1; /* count every rule of this file's versions */
    t->file = rel;
    if (strcmp(operation, "merge") == 0) { /* replay does not write rejected/ again */
        if (t->drops == NULL && (t->drops = calloc(1, sizeof *t->drops)) == NULL) {
            char uerr[ERROR_MAX];
            merge_undo(t, uerr);
            return error_set(err, "out of memory");
        }
        t->drops->len = 0;
        t->drops->failed = false;
    } else if (t->drops != NULL) {
        free(t->drops->s);
        free(t->drops);
        t->drops = NULL;
    }
    if (silver_next_snapshot_id(t->sdb, &t->snapshot_id, err) < 0) {
        char uerr[ERROR_MAX];
        merge_undo(t, uerr);
        return -1;
    }

    int64_t max_version = 0;
    int64_t line = 0;
    int rc = 0; /* 0 ok, 1 corrupt, -1 error */
    char rerr[ERROR_MAX] = "";
    struct bronze_reader *reader = bronze_reader_open(path, rerr);
    if (reader == NULL) {
        struct stat st;
        if (stat(path, &st) < 0 && errno == ENOENT) {
            res->outcome = MERGE_MISSING;
            return merge_savepoint(t, "RELEASE merge_file", err);
        }
        error_set(res->reason, "cannot read: %s", rerr);
        rc = 1;
    }
    while (rc == 0) {
        const char *text;
        size_t len;
        int r = bronze_reader_next(reader, &text, &len, rerr);
        if (r == 0)
            break;
        if (r < 0) {
            error_set(res->reason, "%s", rerr);
            rc = 1;
            break;
        }
        line++;
        rc = merge_line(t, text, len, line, res, &max_version, err);
    }
    bronze_reader_close(&reader);

    if (rc == 0 && t->closed > 0 && history_cleanup(t->sdb, t->name, t->snapshot_id, err) < 0)
        rc = -1;
    if (rc == 0) {
        struct silver_snapshot snap = {
            .id = t->snapshot_id, .table = t->name, .operation = operation, .source = rel,
            .inserted = res->inserted, .updated = res->updated, .unchanged = res->unchanged,
            .deleted = rows_deleted + res->deleted, .schema_version = max_version};
        if (merge_write_drops(t, data_dir, err) < 0 ||
            silver_record_snapshot(t->sdb, &snap, &res->snapshot_id, err) < 0 ||
            merge_record_expectations(t, res->snapshot_id, err) < 0 ||
            silver_record_ledger(t->sdb, rel, t->name, res->snapshot_id, res->records, err) < 0)
            rc = -1;
    }
    if (rc == 0) {
        res->outcome = MERGE_MERGED;
        return merge_savepoint(t, "RELEASE merge_file", err);
    }
    char uerr[ERROR_MAX];
    if (merge_undo(t, uerr) < 0) {
        if (rc == 1)
            snprintf(err, ERROR_MAX, "%s", uerr);
        return -1;
    }
    if (rc < 0)
        return -1;
    res->records = res->inserted = res->updated = res->unchanged = res->deleted = 0;
    res->dropped = 0;
    if (rc == 2) {
        /* a "fail" expectation: nothing of the file, not quarantined - it
         * stays pending and is tried again at each reconcile */
        if (strcmp(operation, "merge") != 0)
            return error_set(err, "%s: %s (fix the data or the rule, then replay again)", rel,
                             res->reason);
        res->outcome = MERGE_BLOCKED;
        return 0;
    }
    res->outcome = MERGE_QUARANTINED;
    return silver_record_quarantine(t->sdb, rel, t->name, res->reason, err);
}


/* merge_expect.c - expectations while merging: failures per rule, the
 * lines of dropped records, the _expectations rows (merge_table.h). */
#include "merge_table.h"

#include "growarray.h"

static struct merge_rule_count *merge_count(struct merge_table *t,
                                            const struct schema_expectation *x)
{
    for (size_t i = 0; i < t->ncounts; i++)
        if (t->counts[i].action == x->action && strcmp(t->counts[i].name, x->name) == 0)
            return &t->counts[i];
    struct merge_rule_count *grown =
        growarray_room(t->counts, &t->capcounts, t->ncounts, sizeof *grown, 8);
    if (grown == NULL)
        return NULL;
    t->counts = grown;
    struct merge_rule_count *c = &t->counts[t->ncounts++];
    snprintf(c->name, sizeof c->name, "%s", x->name);
    snprintf(c->rule, sizeof c->rule, "%s", x->rule);
    c->action = x->action;
    c->failed = 0;
    return c;
}

/* The expectations of the endpoint's latest schema on one record: 0 keep,
 * 3 dropped (its rejected/ line kept for the end of the file), 2 a "fail"
 * rule failed (reason), -1 error. */
int merge_expect(struct merge_table *t, const json_t *root, int version, int64_t line,
                        char reason[ERROR_MAX], char err[ERROR_MAX])
{
    /* the latest rules (not the record's version): changing a rule is how a
     * file blocked by a "fail" rule gets merged */
    (void)version;
    const struct schema *s = t->latest;
    if (s == NULL || s->expectation_count == 0)
        return 0;
    if (t->expect == NULL || t->expect_version != s->version) {
        expectation_close(&t->expect);
        char why[ERROR_MAX];
        if (expectation_open(s, &t->expect, why) < 0) {
            error_set(reason, "schema version %d: %s", s->version, why);
            return 2; /* the catalog holds a rule SQLite cannot run: wait for a fix */
        }
        t->expect_version = s->version;
    }
    if (t->counted_version != s->version) {
        t->counted_version = s->version;
        for (size_t i = 0; i < s->expectation_count; i++) /* rules that never fail count 0 */
            if (merge_count(t, &s->expectations[i]) == NULL)
                return error_set(err, "out of memory");
    }
    bool failed[SCHEMA_EXPECTATIONS_MAX] = {false};
    if (expectation_eval(t->expect, root, failed, err) < 0)
        return -1;
    const struct schema_expectation *drop = NULL;
    for (size_t i = 0; i < s->expectation_count; i++) {
        if (!failed[i])
            continue;
        const struct schema_expectation *x = &s->expectations[i];
        struct merge_rule_count *c = merge_count(t, x);
        if (c == NULL)
            return error_set(err, "out of memory");
        c->failed++;
        if (x->action == SCHEMA_EXPECT_FAIL) {
            error_set(reason, "expectation %s failed on line %" PRId64 " (rule: %s)", x->name,
                      line, x->rule);
            return 2;
        }
        if (x->action == SCHEMA_EXPECT_DROP && drop == NULL)
            drop = x;
    }
    if (drop == NULL)
        return 0;
    if (t->drops == NULL)
        return 3; /* replay: the live merge kept it in rejected/ already */
    /* the line format of ingest's rejected files, plus the bronze file */
    char now[TIMEUTIL_TIMESTAMP_MAX], why[NAMES_MAX + 32];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    snprintf(why, sizeof why, "expectation %s failed", drop->name);
    const json_t *batch = json_object_get(root, "_batch_id");
    json_t *j = json_pack("{s:s, s:O, s:I, s:s, s:O, s:s}", "rejected_at", now, "batch_id",
                          json_is_string(batch) ? batch : json_null(), "index",
                          (json_int_t)(line - 1), "reason", why, "record", root, "file",
                          t->file);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return error_set(err, "out of memory");
    strbuf_addf(t->drops, "%s\n", text);
    free(text);
    if (t->drops->failed)
        return error_set(err, "out of memory");
    return 3;
}

/* Append the dropped records' lines to rejected/<d>/<e>/<date>-expectations.ndjson
 * (a file of the processor's own: ingest cuts its files back after a failed
 * group commit) and make them durable before the merge commits. */
int merge_write_drops(struct merge_table *t, const char *data_dir, char err[ERROR_MAX])
{
    if (t->drops == NULL || t->drops->len == 0)
        return 0;
    char now[TIMEUTIL_TIMESTAMP_MAX], date[11], dir[PATH_MAX], path[PATH_MAX];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    snprintf(date, sizeof date, "%.10s", now);
    if (layout_rejected_dir(dir, sizeof dir, data_dir, t->domain, t->name, err) < 0 ||
        layout_rejected_expectations(path, sizeof path, data_dir, t->domain, t->name, date,
                                     err) < 0 ||
        fsutil_mkdirs(dir, 0750, err) < 0)
        return -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return error_set(err, "%s: %s", path, strerror(errno));
    int rc = fsutil_write_all(fd, t->drops->s, t->drops->len, err);
    if (rc == 0 && fdatasync(fd) < 0)
        rc = error_set(err, "fdatasync %s: %s", path, strerror(errno));
    close(fd);
    if (rc == 0)
        rc = fsutil_fsync_dir(dir, err);
    return rc;
}

/* _expectations: failures per rule of the snapshot (silver internal table). */
int merge_record_expectations(struct merge_table *t, int64_t snapshot_id,
                                     char err[ERROR_MAX])
{
    if (t->ncounts == 0)
        return 0;
    if (silver_exec(t->sdb,
                    "CREATE TABLE IF NOT EXISTS _expectations (snapshot_id INTEGER NOT NULL, "
                    "table_name TEXT NOT NULL, rule TEXT NOT NULL, action TEXT NOT NULL, "
                    "failed INTEGER NOT NULL, PRIMARY KEY (snapshot_id, table_name, rule))",
                    err) < 0)
        return -1;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(t->sdb->db,
                                "INSERT OR REPLACE INTO _expectations (snapshot_id, table_name, "
                                "rule, action, failed) VALUES (?1, ?2, ?3, ?4, ?5)",
                                -1, &st, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < t->ncounts; i++) {
        sqlite3_bind_int64(st, 1, snapshot_id);
        sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, t->counts[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, schema_expect_action_name(t->counts[i].action), -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, t->counts[i].failed);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return error_set(err, "silver/%s.db: _expectations: %s", t->domain,
                         sqlite3_errmsg(t->sdb->db));
    return 0;
}

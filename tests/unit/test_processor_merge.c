/* test_processor_merge.c - merging bronze files into a temporary silver
 * database (processor/merge*.c): insert, upsert where the larger _seq wins,
 * deletes, keyless append, corrupt files, exactly-once on a re-merge, and
 * the live path's groups (several pending files of a table in one
 * transaction) leaving exactly what one transaction per file leaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bronze.h"
#include "config.h"
#include "catalog.h"
#include "layout.h"
#include "processor.h"
#include "sqlutil.h"

#define USERS_SCHEMA                                                                               \
    "{\"domain\":\"demo\",\"name\":\"users\",\"mode\":\"MANUAL\",\"columns\":["                \
    "{\"name\":\"id\",\"type\":\"integer\",\"primary_key\":true},"                              \
    "{\"name\":\"name\",\"type\":\"string\"}]}"

struct fixture {
    char dir[64];
    struct schemas *schemas;
    struct silver *silver;
    struct silver_db *sdb;
    int files; /* bronze files written so far (their sequence ranges) */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[ERROR_MAX];
    snprintf(f->dir, sizeof f->dir, "/tmp/lh-merge-XXXXXX");
    if (mkdtemp(f->dir) == NULL || layout_create(f->dir, err) < 0)
        return -1;
    struct catalog *c = NULL;
    json_t *j = json_loads(USERS_SCHEMA, 0, NULL);
    struct schema *s = j != NULL ? schema_from_json(j, err) : NULL;
    json_decref(j);
    int version = 0;
    if (s == NULL || catalog_open(f->dir, false, &c, err) < 0 ||
        catalog_put_endpoint(c, s, &version, err) < 0) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    schema_destroy(&s);
    catalog_close(&c);
    if (schemas_open(f->dir, &f->schemas, err) < 0 || silver_open(f->dir, 8, &f->silver, err) < 0 ||
        silver_get(f->silver, "demo", &f->sdb, err) < 0) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    silver_close(&f->silver);
    schemas_close(&f->schemas);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Seal lines (NDJSON text) as the next bronze file of demo/<table>; rel gets
 * its path relative to the data directory. */
static void bronze_file(struct fixture *f, const char *table, const char *lines,
                        char rel[PATH_MAX])
{
    char err[ERROR_MAX], name[64], spool[PATH_MAX], path[PATH_MAX];
    f->files++;
    snprintf(name, sizeof name, "%020d-%020d.ndjson.lz4", f->files * 100, f->files * 100 + 99);
    assert_int_equal(layout_bronze_rel(rel, PATH_MAX, "demo", table, "dt=2024-01-01", name, err), 0);
    assert_int_equal(layout_path(path, sizeof path, f->dir, rel, err), 0);
    snprintf(spool, sizeof spool, "%s/spool/lines-%d", f->dir, f->files);
    FILE *fp = fopen(spool, "w");
    assert_non_null(fp);
    fputs(lines, fp);
    fclose(fp);
    assert_int_equal(bronze_seal(spool, strlen(lines), path, err), 0);
    unlink(spool);
}

/* Merge rel into demo/<table> in its own transaction, as the live path does. */
static int merge(struct fixture *f, const char *table, const char *rel, struct merge_result *res)
{
    char err[ERROR_MAX] = "";
    struct merge_table *t = NULL;
    assert_int_equal(silver_exec(f->sdb, "BEGIN IMMEDIATE", err), 0);
    int rc = merge_table_open(f->sdb, f->schemas, "demo", table, &t, err);
    if (rc == 0)
        rc = merge_file(t, f->dir, rel, "merge", 0, res, err);
    merge_table_close(&t);
    if (rc < 0)
        fprintf(stderr, "merge: %s\n", err);
    assert_int_equal(silver_exec(f->sdb, rc == 0 ? "COMMIT" : "ROLLBACK", err), 0);
    return rc;
}

static int64_t count(struct fixture *f, const char *sql)
{
    char err[ERROR_MAX] = "";
    int64_t n = -1;
    if (sqlutil_int64(f->sdb->db, sql, &n, err, "count") < 0)
        fail_msg("%s: %s", sql, err);
    return n;
}

static void test_insert_then_upsert(void **state)
{
    struct fixture *f = *state;
    char rel[PATH_MAX];
    struct merge_result res;
    bronze_file(f, "users",
                "{\"id\":1,\"name\":\"ann\",\"_seq\":1,\"_schema_version\":1}\n"
                "{\"id\":2,\"name\":\"bob\",\"_seq\":2,\"_schema_version\":1}\n"
                "{\"id\":3,\"name\":\"cy\",\"_seq\":3,\"_schema_version\":1}\n",
                rel);
    assert_int_equal(merge(f, "users", rel, &res), 0);
    assert_int_equal(res.outcome, MERGE_MERGED);
    assert_int_equal(res.records, 3);
    assert_int_equal(res.inserted, 3);
    assert_true(res.snapshot_id > 0);
    assert_int_equal(count(f, "SELECT count(*) FROM users"), 3);
    assert_int_equal(count(f, "SELECT count(*) FROM _ledger"), 1);

    /* a newer version of id 1, a new id 4, and an older version of id 2 */
    bronze_file(f, "users",
                "{\"id\":1,\"name\":\"anna\",\"_seq\":10,\"_schema_version\":1}\n"
                "{\"id\":4,\"name\":\"dee\",\"_seq\":11,\"_schema_version\":1}\n"
                "{\"id\":2,\"name\":\"old bob\",\"_seq\":0,\"_schema_version\":1}\n",
                rel);
    assert_int_equal(merge(f, "users", rel, &res), 0);
    assert_int_equal(res.outcome, MERGE_MERGED);
    assert_int_equal(res.inserted, 1);
    assert_int_equal(res.updated, 1);
    assert_int_equal(res.unchanged, 1);
    assert_int_equal(count(f, "SELECT count(*) FROM users"), 4);
    assert_int_equal(count(f, "SELECT count(*) FROM users WHERE id = 1 AND name = 'anna'"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM users WHERE id = 2 AND name = 'bob'"), 1);
    /* row history: id 1 has a closed and a current version */
    assert_int_equal(count(f, "SELECT count(*) FROM _h_users WHERE id = 1"), 2);
    assert_int_equal(count(f, "SELECT count(*) FROM _h_users WHERE id = 1 AND _valid_to IS NULL"), 1);
}

static void test_delete_and_tombstone(void **state)
{
    struct fixture *f = *state;
    char rel[PATH_MAX];
    struct merge_result res;
    bronze_file(f, "users",
                "{\"id\":1,\"name\":\"ann\",\"_seq\":1,\"_schema_version\":1}\n"
                "{\"id\":2,\"name\":\"bob\",\"_seq\":2,\"_schema_version\":1}\n",
                rel);
    assert_int_equal(merge(f, "users", rel, &res), 0);
    bronze_file(f, "users", "{\"id\":2,\"_op\":\"delete\",\"_seq\":5,\"_schema_version\":1}\n",
                rel);
    assert_int_equal(merge(f, "users", rel, &res), 0);
    assert_int_equal(res.outcome, MERGE_MERGED);
    assert_int_equal(res.deleted, 1);
    assert_int_equal(count(f, "SELECT count(*) FROM users WHERE id = 2"), 0);
    /* a late record older than the delete does not bring the row back */
    bronze_file(f, "users", "{\"id\":2,\"name\":\"late\",\"_seq\":3,\"_schema_version\":1}\n",
                rel);
    assert_int_equal(merge(f, "users", rel, &res), 0);
    assert_int_equal(res.inserted, 0);
    assert_int_equal(count(f, "SELECT count(*) FROM users WHERE id = 2"), 0);
    /* a newer one does */
    bronze_file(f, "users", "{\"id\":2,\"name\":\"back\",\"_seq\":9,\"_schema_version\":1}\n",
                rel);
    assert_int_equal(merge(f, "users", rel, &res), 0);
    assert_int_equal(res.inserted, 1);
    assert_int_equal(count(f, "SELECT count(*) FROM users WHERE id = 2 AND name = 'back'"), 1);
}

static void test_remerge_is_exactly_once(void **state)
{
    struct fixture *f = *state;
    char rel[PATH_MAX];
    struct merge_result res;
    char err[ERROR_MAX];
    /* keyless (no endpoint in the catalog): append, _seq UNIQUE */
    bronze_file(f, "logs", "{\"msg\":\"a\",\"_seq\":1}\n{\"msg\":\"b\",\"_seq\":2}\n", rel);
    assert_int_equal(silver_file_done(f->sdb, rel, err), 0);
    assert_int_equal(merge(f, "logs", rel, &res), 0);
    assert_int_equal(res.inserted, 2);
    assert_int_equal(silver_file_done(f->sdb, rel, err), 1);
    int64_t snapshots = count(f, "SELECT count(*) FROM _snapshots");
    /* merging the same file again (a replay) adds no row and no ledger row */
    assert_int_equal(merge(f, "logs", rel, &res), 0);
    assert_int_equal(res.outcome, MERGE_MERGED);
    assert_int_equal(res.inserted, 0);
    assert_int_equal(count(f, "SELECT count(*) FROM logs"), 2);
    assert_int_equal(count(f, "SELECT count(*) FROM _ledger"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM _snapshots"), snapshots + 1);
    /* the keyed table too */
    bronze_file(f, "users", "{\"id\":7,\"name\":\"g\",\"_seq\":1,\"_schema_version\":1}\n", rel);
    assert_int_equal(merge(f, "users", rel, &res), 0);
    assert_int_equal(merge(f, "users", rel, &res), 0);
    assert_int_equal(res.inserted, 0);
    assert_int_equal(res.updated, 0);
    assert_int_equal(count(f, "SELECT count(*) FROM users"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM _h_users"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM _ledger"), 2);
}

static void test_corrupt_file_quarantined_whole(void **state)
{
    struct fixture *f = *state;
    char rel[PATH_MAX];
    struct merge_result res;
    bronze_file(f, "logs", "{\"msg\":\"a\",\"_seq\":1}\n{\"msg\":\"b\",\"_seq\":-4}\n", rel);
    assert_int_equal(merge(f, "logs", rel, &res), 0);
    assert_int_equal(res.outcome, MERGE_QUARANTINED);
    assert_non_null(strstr(res.reason, "line 2"));
    assert_int_equal(res.records, 0);
    assert_int_equal(count(f, "SELECT count(*) FROM _quarantine"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM _ledger"), 0);
    /* never half merged: the first line's row was rolled back too */
    assert_int_equal(count(f, "SELECT count(*) FROM sqlite_master WHERE name = 'logs'"), 0);
}

static void test_vanished_file_is_missing(void **state)
{
    struct fixture *f = *state;
    struct merge_result res;
    char rel[] = "bronze/demo/logs/dt=2024-01-01/00000000000000000001-00000000000000000002.ndjson.lz4";
    assert_int_equal(merge(f, "logs", rel, &res), 0);
    assert_int_equal(res.outcome, MERGE_MISSING);
    assert_int_equal(count(f, "SELECT count(*) FROM _ledger"), 0);
}

/* Text of a query's rows (one column per row, joined), for comparing databases. */
static void digest(struct fixture *f, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->sdb->db, sql, -1, &st, NULL), SQLITE_OK);
    size_t len = 0;
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        len += (size_t)snprintf(out + len, size - len, "%s;", v != NULL ? v : "NULL");
        assert_true(len < size);
    }
    sqlite3_finalize(st);
}

/* Queue four files of demo/users (an update of earlier ids, a corrupt one, a
 * delete) and one of demo/logs, and drain the queue with merge_next_group at
 * the given bound; out gets what silver then holds. Returns the groups it
 * took (logs comes first in name order). */
static int merge_queued(struct fixture *f, int64_t max_bytes, char *out, size_t size)
{
    static struct config cfg;
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", f->dir);
    cfg.merge_group_max_bytes = max_bytes;
    struct processor_ctx ctx = {.cfg = &cfg, .silver = f->silver, .schemas = f->schemas,
                                .pending = pending_new(16)};
    assert_non_null(ctx.pending);
    const char *files[][2] = {
        {"users", "{\"id\":1,\"name\":\"ann\",\"_seq\":1,\"_schema_version\":1}\n"
                  "{\"id\":2,\"name\":\"bob\",\"_seq\":2,\"_schema_version\":1}\n"},
        {"users", "{\"id\":1,\"name\":\"anna\",\"_seq\":3,\"_schema_version\":1}\n"
                  "{\"id\":3,\"name\":\"cy\",\"_seq\":4,\"_schema_version\":1}\n"},
        {"users", "{\"id\":4,\"name\":\"dee\",\"_seq\":5}\n{\"id\":5,\"_seq\":-1}\n"},
        {"users", "{\"id\":2,\"_op\":\"delete\",\"_seq\":6,\"_schema_version\":1}\n"
                  "{\"id\":1,\"name\":\"anne\",\"_seq\":7,\"_schema_version\":1}\n"},
        {"logs", "{\"msg\":\"a\",\"_seq\":1}\n"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[PATH_MAX];
        bronze_file(f, files[i][0], files[i][1], rel);
        assert_int_equal(pending_add(ctx.pending, rel), 1);
    }
    int groups = 0;
    for (; pending_count(ctx.pending) > 0; groups++)
        merge_next_group(&ctx);
    assert_int_equal(ctx.merged_files, 4);
    assert_int_equal(ctx.quarantined_files, 1);
    assert_int_equal(ctx.failed_merges, 0);
    pending_free(&ctx.pending);
    const char *queries[] = {
        "SELECT id || ',' || coalesce(name, '') || ',' || _seq FROM users ORDER BY id",
        "SELECT id || ',' || coalesce(name, '') || ',' || _valid_from || ',' || "
        "coalesce(_valid_to, '-') FROM _h_users ORDER BY id, _valid_from",
        "SELECT snapshot_id || ',' || table_name || ',' || operation || ',' || source || ',' || "
        "rows_inserted || ',' || rows_updated || ',' || rows_deleted FROM _snapshots ORDER BY snapshot_id",
        "SELECT file || ',' || snapshot_id || ',' || records FROM _ledger ORDER BY file",
        "SELECT file FROM _quarantine ORDER BY file", "SELECT msg FROM logs"};
    size_t len = 0;
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        digest(f, queries[q], out + len, size - len);
        len = strlen(out);
    }
    return groups;
}

static void test_group_same_as_one_by_one(void **state)
{
    struct fixture *f = *state;
    static char grouped[8192], single[8192];
    /* logs, then the four files of users in one group (the corrupt one
     * quarantined inside it) */
    assert_int_equal(merge_queued(f, 1 << 20, grouped, sizeof grouped), 2);
    assert_int_equal(count(f, "SELECT count(DISTINCT snapshot_id) FROM _ledger"), 4);
    assert_int_equal(count(f, "SELECT count(*) FROM _h_users WHERE id = 1"), 3);
    assert_int_equal(count(f, "SELECT count(*) FROM users"), 2); /* 2 deleted, 4 quarantined */

    struct fixture *g = NULL;
    void *gs = NULL;
    assert_int_equal(setup(&gs), 0);
    g = gs;
    /* bound 0: one file per transaction */
    assert_int_equal(merge_queued(g, 0, single, sizeof single), 5);
    assert_string_equal(grouped, single);
    assert_int_equal(teardown(&gs), 0);
}

static void test_group_bound(void **state)
{
    struct fixture *f = *state;
    static struct config cfg;
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", f->dir);
    struct processor_ctx ctx = {.cfg = &cfg, .silver = f->silver, .schemas = f->schemas,
                                .pending = pending_new(16)};
    char rel[PATH_MAX], path[PATH_MAX], err[ERROR_MAX];
    int64_t size = 0;
    for (int i = 0; i < 3; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"id\":%d,\"name\":\"n\",\"_seq\":%d,\"_schema_version\":1}\n",
                 i, i + 1);
        bronze_file(f, "users", line, rel);
        assert_int_equal(layout_path(path, sizeof path, f->dir, rel, err), 0);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        size = st.st_size > size ? st.st_size : size;
        assert_int_equal(pending_add(ctx.pending, rel), 1);
    }
    /* room for two files of this size, not three */
    cfg.merge_group_max_bytes = 2 * size + size / 2;
    assert_int_equal(merge_next_group(&ctx), 2);
    assert_int_equal(pending_count(ctx.pending), 1);
    assert_int_equal(merge_next_group(&ctx), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM _ledger"), 3);

    /* a stop request ends a group after its first file; the rest stay unmerged */
    volatile sig_atomic_t stop = 1;
    ctx.stop = &stop;
    cfg.merge_group_max_bytes = 1 << 20;
    for (int i = 3; i < 6; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"id\":%d,\"name\":\"n\",\"_seq\":%d,\"_schema_version\":1}\n",
                 i, i + 1);
        bronze_file(f, "users", line, rel);
        assert_int_equal(pending_add(ctx.pending, rel), 1);
    }
    assert_int_equal(merge_next_group(&ctx), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM _ledger"), 4);
    assert_int_equal(silver_file_done(f->sdb, rel, err), 0);
    pending_free(&ctx.pending);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_then_upsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remerge_is_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file_quarantined_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vanished_file_is_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_same_as_one_by_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

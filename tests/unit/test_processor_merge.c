/* test_processor_merge.c - merging bronze files into a temporary silver
 * database (processor/merge*.c): insert, upsert where the larger _seq wins,
 * deletes, keyless append, corrupt files, and exactly-once on a re-merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bronze.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_then_upsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remerge_is_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file_quarantined_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vanished_file_is_missing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_sqlutil.c - the shared SQLite steps and their error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "sqlutil.h"

static sqlite3 *open_memory(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    char err[ERROR_MAX] = "";
    assert_int_equal(sqlutil_exec(db, "CREATE TABLE t(a INTEGER, b TEXT)", err, "mem"), 0);
    return db;
}

static void test_exec_and_message(void **state)
{
    (void)state;
    sqlite3 *db = open_memory();
    char err[ERROR_MAX] = "";
    assert_int_equal(sqlutil_exec(db, "INSERT INTO t VALUES (1, 'x')", err, "db %d", 7), 0);
    assert_int_equal(sqlutil_exec(db, "INSERT INTO nope VALUES (1)", err, "silver/%s.db", "d"), -1);
    assert_string_equal(err, "silver/d.db: no such table: nope");
    assert_int_equal(sqlutil_exec(db, "SELEC 1", err, NULL), -1);
    assert_non_null(strstr(err, "syntax error"));
    assert_int_equal(strncmp(err, "near", 4), 0);
    sqlite3_close(db);
}

static void test_exec_buf_runs_and_empties(void **state)
{
    (void)state;
    sqlite3 *db = open_memory();
    char err[ERROR_MAX] = "";
    struct strbuf b = {0};
    strbuf_addf(&b, "INSERT INTO t VALUES (%d, 'y');", 2);
    strbuf_addf(&b, "INSERT INTO t VALUES (%d, 'z');", 3);
    assert_int_equal(sqlutil_exec_buf(db, &b, err, "t"), 0);
    assert_null(b.s);
    int64_t n = -1;
    assert_int_equal(sqlutil_int64(db, "SELECT count(*) FROM t", &n, err, "t"), 1);
    assert_int_equal(n, 2);
    /* empty buffer: nothing to run */
    assert_int_equal(sqlutil_exec_buf(db, &b, err, "t"), 0);
    /* failed buffer: nothing runs */
    strbuf_addf(&b, "DELETE FROM t");
    b.failed = true;
    assert_int_equal(sqlutil_exec_buf(db, &b, err, "history of %s", "t"), -1);
    assert_string_equal(err, "history of t: out of memory");
    assert_false(b.failed);
    assert_int_equal(sqlutil_int64(db, "SELECT count(*) FROM t", &n, err, "t"), 1);
    assert_int_equal(n, 2);
    sqlite3_close(db);
}

static void test_int64_and_text(void **state)
{
    (void)state;
    sqlite3 *db = open_memory();
    char err[ERROR_MAX] = "";
    int64_t n = -1;
    assert_int_equal(sqlutil_int64(db, "SELECT a FROM t", &n, err, "t"), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sqlutil_exec(db, "INSERT INTO t VALUES (41, 'hello')", err, NULL), 0);
    assert_int_equal(sqlutil_int64(db, "SELECT a + 1 FROM t", &n, err, "t"), 1);
    assert_int_equal(n, 42);
    assert_int_equal(sqlutil_int64(db, "SELECT x FROM t", &n, err, "gold/%s.db", "g"), -1);
    assert_string_equal(err, "gold/g.db: no such column: x");
    char text[6];
    assert_int_equal(sqlutil_text(db, "SELECT b FROM t", text, sizeof text, err, "t"), 1);
    assert_string_equal(text, "hello");
    assert_int_equal(sqlutil_text(db, "SELECT b || '!' FROM t", text, sizeof text, err, "t"), -1);
    assert_string_equal(err, "t: value too long");
    assert_int_equal(sqlutil_text(db, "SELECT NULL", text, sizeof text, err, "t"), 1);
    assert_string_equal(text, "");
    assert_int_equal(sqlutil_text(db, "SELECT b FROM t WHERE 0", text, sizeof text, err, "t"), 0);
    sqlite3_close(db);
}

static void test_run_binds_and_changes(void **state)
{
    (void)state;
    sqlite3 *db = open_memory();
    char err[ERROR_MAX] = "";
    const char *binds[] = {"1", "a", NULL};
    int64_t n = -1;
    assert_int_equal(sqlutil_run(db, "INSERT INTO t VALUES (?1, ?2)", binds, 2, &n, err, "t"), 0);
    assert_int_equal(n, 1);
    binds[0] = "2";
    assert_int_equal(sqlutil_run(db, "INSERT INTO t VALUES (?1, ?2)", binds, 2, NULL, err, "t"), 0);
    assert_int_equal(sqlutil_run(db, "UPDATE t SET b = ?1", &binds[2], 1, &n, err, "t"), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sqlutil_run(db, "SELECT count(*) FROM t WHERE b IS ?1", &binds[2], 1, &n,
                                 err, "t"), 1);
    assert_int_equal(n, 2);
    assert_int_equal(sqlutil_run(db, "SELECT a FROM t WHERE a > 5", NULL, 0, &n, err, "t"), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sqlutil_run(db, "", NULL, 0, &n, err, "t"), 0);
    assert_int_equal(sqlutil_run(db, "INSERT INTO t VALUES (1, 2, 3)", NULL, 0, &n, err, "ins"), -1);
    assert_string_equal(err, "ins: table t has 2 columns but 3 values were supplied");
    sqlite3_close(db);
}

static void test_prepare_and_step_done(void **state)
{
    (void)state;
    sqlite3 *db = open_memory();
    char err[ERROR_MAX] = "";
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlutil_prepare(db, "SELECT nope FROM t", &st, err, "prepare %s", "q"), -1);
    assert_null(st);
    assert_string_equal(err, "prepare q: no such column: nope");
    assert_int_equal(sqlutil_prepare(db, "INSERT INTO t VALUES (?1, 'v')", &st, err, "p"), 0);
    for (int i = 0; i < 3; i++) {
        sqlite3_bind_int(st, 1, i);
        assert_int_equal(sqlutil_step_done(db, st, err, "insert"), 0);
    }
    sqlite3_finalize(st);
    assert_int_equal(sqlutil_prepare(db, "SELECT a FROM t", &st, err, "p"), 0);
    assert_int_equal(sqlutil_step_done(db, st, err, "select"), -1);
    assert_non_null(strstr(err, "select: "));
    sqlite3_finalize(st);
    int64_t n = 0;
    assert_int_equal(sqlutil_int64(db, "SELECT sum(a) FROM t", &n, err, "t"), 1);
    assert_int_equal(n, 3);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_and_message),
        cmocka_unit_test(test_exec_buf_runs_and_empties),
        cmocka_unit_test(test_int64_and_text),
        cmocka_unit_test(test_run_binds_and_changes),
        cmocka_unit_test(test_prepare_and_step_done),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

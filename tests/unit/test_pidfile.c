/* test_pidfile.c - pid files as single-instance locks. */
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

#include "pidfile.h"

static char test_dir[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    snprintf(test_dir, sizeof test_dir, "/tmp/test_pidfile.XXXXXX");
    if (mkdtemp(test_dir) == NULL)
        return -1;
    char run[PATH_MAX + 8];
    snprintf(run, sizeof run, "%s/run", test_dir);
    return mkdir(run, 0750);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_take_writes_pid_and_locks(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "";
    struct pidfile *first = NULL;
    assert_int_equal(pidfile_take(test_dir, "ingest", &first, err), 0);

    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/run/ingest.pid", test_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long pid = 0;
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    assert_int_equal(pid, (long)getpid());

    /* A second instance (another open file description) is refused by name. */
    struct pidfile *second = NULL;
    assert_int_equal(pidfile_take(test_dir, "ingest", &second, err), -1);
    assert_null(second);
    assert_non_null(strstr(err, "another lakehouse-ingest"));
    assert_non_null(strstr(err, "is locked"));

    /* Another process name is another lock. */
    struct pidfile *other = NULL;
    assert_int_equal(pidfile_take(test_dir, "processor", &other, err), 0);
    pidfile_release(&other);
    assert_null(other);

    pidfile_release(&first);
    assert_null(first);
    assert_int_equal(access(path, F_OK), -1); /* removed */

    /* Released: can be taken again. */
    assert_int_equal(pidfile_take(test_dir, "ingest", &first, err), 0);
    pidfile_release(&first);
    pidfile_release(&first); /* NULL-safe */
}

static void test_missing_run_directory(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "";
    struct pidfile *pf = NULL;
    assert_int_equal(pidfile_take("/nonexistent/lakehouse", "ingest", &pf, err), -1);
    assert_non_null(strstr(err, "/nonexistent/lakehouse/run/ingest.pid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_take_writes_pid_and_locks, setup, teardown),
        cmocka_unit_test(test_missing_run_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

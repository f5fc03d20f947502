/* test_fsutil.c - unit tests of the filesystem helpers (fsutil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

static char root[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/lh-test-fsutil.XXXXXX");
    return mkdtemp(root) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_path(void **state)
{
    (void)state;
    char out[16];
    char err[ERROR_MAX] = "";
    assert_int_equal(fsutil_path(out, sizeof out, err, "%s/%d", "abc", 42), 0);
    assert_string_equal(out, "abc/42");
    assert_int_equal(fsutil_path(out, sizeof out, err, "%s", "0123456789abcde"), 0); /* 15: fits */
    assert_int_equal(fsutil_path(out, sizeof out, err, "%s", "0123456789abcdef"), -1);
    assert_non_null(strstr(err, "path too long"));
    assert_int_equal(fsutil_path(out, sizeof out, NULL, "%s", "0123456789abcdefgh"), -1);
}

static void test_mkdirs(void **state)
{
    (void)state;
    char path[PATH_MAX];
    char err[ERROR_MAX] = "";
    snprintf(path, sizeof path, "%s/a/b/c", root);
    assert_int_equal(fsutil_mkdirs(path, 0750, err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(fsutil_mkdirs(path, 0750, err), 0); /* existing: fine */

    snprintf(path, sizeof path, "%s/a/b/c//d/", root); /* doubled and trailing slashes */
    assert_int_equal(fsutil_mkdirs(path, 0750, err), 0);
    snprintf(path, sizeof path, "%s/a/b/c/d", root);
    assert_int_equal(stat(path, &st), 0);

    /* a file in the way */
    snprintf(path, sizeof path, "%s/file", root);
    write_text(path, "x");
    snprintf(path, sizeof path, "%s/file/sub", root);
    assert_int_equal(fsutil_mkdirs(path, 0750, err), -1);
    assert_non_null(strstr(err, "/file"));
    snprintf(path, sizeof path, "%s/file", root);
    assert_int_equal(fsutil_mkdirs(path, 0750, err), -1);
    assert_non_null(strstr(err, "not a directory"));
    assert_int_equal(fsutil_mkdirs("", 0750, err), -1);

    /* relative paths work too */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(root), 0);
    assert_int_equal(fsutil_mkdirs("rel/x", 0750, err), 0);
    assert_int_equal(stat("rel/x", &st), 0);
    assert_int_equal(chdir(cwd), 0);
}

static void test_fsync(void **state)
{
    (void)state;
    char path[PATH_MAX];
    char err[ERROR_MAX] = "";
    assert_int_equal(fsutil_fsync_dir(root, err), 0);
    snprintf(path, sizeof path, "%s/f", root);
    write_text(path, "x");
    assert_int_equal(fsutil_fsync_parent(path, err), 0);
    snprintf(path, sizeof path, "%s/missing/f", root);
    assert_int_equal(fsutil_fsync_parent(path, err), -1);
    assert_non_null(strstr(err, "missing"));
    snprintf(path, sizeof path, "%s/f", root);
    assert_int_equal(fsutil_fsync_dir(path, err), -1); /* not a directory */
    assert_non_null(strstr(err, path));
    assert_int_equal(fsutil_fsync_parent("/etc", err), 0);  /* parent is "/" */
    assert_int_equal(fsutil_fsync_parent("plain", err), 0); /* parent is "." */
    assert_int_equal(fsutil_fsync_parent("/tmp/", err), 0);
}

static void test_write_all_and_read_file(void **state)
{
    (void)state;
    char path[PATH_MAX];
    char err[ERROR_MAX] = "";
    snprintf(path, sizeof path, "%s/data", root);
    size_t size = 300000; /* several reads and buffer growths */
    char *payload = malloc(size);
    assert_non_null(payload);
    for (size_t i = 0; i < size; i++)
        payload[i] = (char)(i % 251);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(fsutil_write_all(fd, payload, size, err), 0);
    assert_int_equal(fsutil_write_all(fd, payload, 0, err), 0);
    close(fd);

    char *text = NULL;
    size_t len = 0;
    assert_int_equal(fsutil_read_file(path, size, &text, &len, err), 0);
    assert_int_equal(len, size);
    assert_memory_equal(text, payload, size);
    assert_int_equal(text[len], '\0');
    free(text);

    assert_int_equal(fsutil_read_file(path, size - 1, &text, &len, err), -1);
    assert_null(text);
    assert_non_null(strstr(err, "larger than"));
    assert_non_null(strstr(err, path));

    /* exact small sizes around the limit */
    write_text(path, "hello");
    assert_int_equal(fsutil_read_file(path, 5, &text, &len, err), 0);
    assert_string_equal(text, "hello");
    free(text);
    assert_int_equal(fsutil_read_file(path, 4, &text, &len, err), -1);

    write_text(path, "");
    assert_int_equal(fsutil_read_file(path, 0, &text, &len, err), 0);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);

    snprintf(path, sizeof path, "%s/absent", root);
    assert_int_equal(fsutil_read_file(path, 10, &text, &len, err), -1);
    assert_non_null(strstr(err, "absent"));
    assert_non_null(strstr(err, "No such file"));

    assert_int_equal(fsutil_write_all(-1, "x", 1, err), -1);
    assert_non_null(strstr(err, "write"));
    free(payload);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_write_file_atomic(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    char path[PATH_MAX];
    char err[ERROR_MAX] = "";
    snprintf(dir, sizeof dir, "%s/atomic", root);
    assert_int_equal(fsutil_mkdirs(dir, 0750, err), 0);
    snprintf(path, sizeof path, "%s/out.json", dir);
    assert_int_equal(fsutil_write_file_atomic(path, "first", 5, 0640, err), 0);
    assert_int_equal(fsutil_write_file_atomic(path, "second", 6, 0640, err), 0);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(fsutil_read_file(path, 100, &text, &len, err), 0);
    assert_string_equal(text, "second");
    free(text);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(count_entries(dir), 1); /* no temporary file left behind */

    snprintf(path, sizeof path, "%s/no/such/dir/x", root);
    assert_int_equal(fsutil_write_file_atomic(path, "x", 1, 0640, err), -1);
    assert_non_null(strstr(err, "no/such/dir"));

    /* target is a directory: rename fails, the temporary file is removed */
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(fsutil_mkdirs(path, 0750, err), 0);
    char inner[PATH_MAX];
    snprintf(inner, sizeof inner, "%s/keep", path);
    write_text(inner, "x");
    assert_int_equal(fsutil_write_file_atomic(path, "x", 1, 0640, err), -1);
    assert_non_null(strstr(err, "rename"));
    assert_int_equal(count_entries(dir), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path),
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_all_and_read_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_file_atomic, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

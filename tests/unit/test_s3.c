/* test_s3.c - unit tests of what the S3 client and the table store decide
 * without a server: where credentials come from (s3.h), the s3 settings of
 * the config check, and the local table store (iceberg_store.h). The
 * requests themselves run against radosgw in tests/integration/s3.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "config.h"
#include "iceberg_store.h"
#include "s3.h"

static char root[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    unsetenv("LAKEHOUSE_S3_ACCESS_KEY_ID");
    unsetenv("LAKEHOUSE_S3_SECRET_ACCESS_KEY");
    snprintf(root, sizeof root, "/tmp/lh-test-s3.XXXXXX");
    return mkdtemp(root) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *name, const char *text, char path[PATH_MAX])
{
    snprintf(path, PATH_MAX, "%s/%s", root, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_credentials_env_first(void **state)
{
    (void)state;
    char path[PATH_MAX], key[S3_SECRET_MAX], secret[S3_SECRET_MAX], err[ERROR_MAX];
    write_text("creds", "aws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n", path);
    setenv("LAKEHOUSE_S3_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("LAKEHOUSE_S3_SECRET_ACCESS_KEY", "ENVSECRET", 1);
    assert_int_equal(s3_credentials_load(path, key, secret, err), 0);
    assert_string_equal(key, "ENVKEY");
    assert_string_equal(secret, "ENVSECRET");
    /* one variable alone does not count: the file is used */
    unsetenv("LAKEHOUSE_S3_SECRET_ACCESS_KEY");
    assert_int_equal(s3_credentials_load(path, key, secret, err), 0);
    assert_string_equal(key, "FILEKEY");
    assert_string_equal(secret, "FILESECRET");
}

static void test_credentials_file(void **state)
{
    (void)state;
    char path[PATH_MAX], key[S3_SECRET_MAX], secret[S3_SECRET_MAX], err[ERROR_MAX];
    write_text("aws", "[default]\r\naws_access_key_id=AK \r\n\taws_secret_access_key =  SK/x+y\r\n"
                      "[other]\naws_access_key_id = OTHER\naws_secret_access_key = OTHERS\n",
               path);
    assert_int_equal(s3_credentials_load(path, key, secret, err), 0);
    assert_string_equal(key, "AK");
    assert_string_equal(secret, "SK/x+y");

    write_text("half", "aws_access_key_id = ONLYKEY\n", path);
    assert_int_equal(s3_credentials_load(path, key, secret, err), -1);
    assert_non_null(strstr(err, "aws_secret_access_key"));
    assert_null(strstr(err, "ONLYKEY"));
    assert_string_equal(key, "");

    assert_int_equal(s3_credentials_load("/nonexistent/creds", key, secret, err), -1);
    assert_non_null(strstr(err, "/nonexistent/creds"));
    assert_int_equal(s3_credentials_load(NULL, key, secret, err), -1);
    assert_non_null(strstr(err, "LAKEHOUSE_S3_ACCESS_KEY_ID"));
}

struct problems {
    int n;
    char all[4096];
};

static void collect(const char *problem, void *arg)
{
    struct problems *p = arg;
    p->n++;
    strncat(p->all, problem, sizeof p->all - strlen(p->all) - 2);
    strcat(p->all, "\n");
}

static void test_check_config(void **state)
{
    (void)state;
    struct config cfg;
    char err[ERROR_MAX];
    assert_int_equal(config_load(&cfg, NULL, root, err), 0);
    struct problems p = {0};
    assert_int_equal(s3_check_config(&cfg, false, collect, &p), 0); /* local: nothing to check */
    snprintf(cfg.iceberg_export, sizeof cfg.iceberg_export, "s3");
    assert_int_equal(s3_check_config(&cfg, false, collect, &p), 3);
    assert_non_null(strstr(p.all, "s3_bucket"));
    assert_non_null(strstr(p.all, "s3_endpoint"));
    assert_non_null(strstr(p.all, "credentials"));
    setenv("LAKEHOUSE_S3_ACCESS_KEY_ID", "K", 1);
    setenv("LAKEHOUSE_S3_SECRET_ACCESS_KEY", "S", 1);
    snprintf(cfg.s3_bucket, sizeof cfg.s3_bucket, "b");
    snprintf(cfg.s3_endpoint, sizeof cfg.s3_endpoint, "http://127.0.0.1:9");
    struct problems q = {0};
    assert_int_equal(s3_check_config(&cfg, false, collect, &q), 0);
    assert_int_equal(cfg.s3_path_style, 1); /* the default */
}

static void test_path_style_bool(void **state)
{
    (void)state;
    char path[PATH_MAX], err[ERROR_MAX];
    struct config cfg;
    write_text("c.json", "{\"s3_path_style\": false}", path);
    assert_int_equal(config_load(&cfg, path, root, err), 0);
    assert_int_equal(cfg.s3_path_style, 0);
    write_text("c.json", "{\"s3_path_style\": 2}", path);
    assert_int_equal(config_load(&cfg, path, root, err), -1);
    assert_non_null(strstr(err, "s3_path_style"));
}

static int list_count(const char *key, int64_t size, int64_t mtime_ms, void *arg)
{
    (void)size;
    (void)mtime_ms;
    if (strncmp(key, "a_silver/", 9) == 0)
        (*(int *)arg)++;
    return 0;
}

static void test_local_store(void **state)
{
    (void)state;
    struct config cfg;
    char err[ERROR_MAX], uri[PATH_MAX];
    assert_int_equal(config_load(&cfg, NULL, root, err), 0);
    struct iceberg_store *st = iceberg_store_open(&cfg, err);
    assert_non_null(st);
    assert_false(iceberg_store_is_s3(st));
    assert_int_equal(iceberg_store_uri(st, "a_silver/t/metadata/v1.metadata.json", uri, err), 0);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/iceberg/a_silver/t/metadata/v1.metadata.json", cfg.data_dir);
    assert_string_equal(uri, want);
    assert_int_equal(iceberg_store_put(st, "a_silver/t/metadata/v1.metadata.json", "1", 1, true,
                                       err), S3_OK);
    assert_int_equal(iceberg_store_put(st, "a_silver/t/metadata/v1.metadata.json", "2", 1, true,
                                       err), S3_EXISTS);
    assert_int_equal(iceberg_store_put(st, "a_silver/t/data/x.parquet", "PAR1", 4, false, err),
                     S3_OK);
    assert_int_equal(iceberg_store_put(st, "b_silver/u/data/y.parquet", "PAR1", 4, false, err),
                     S3_OK);
    struct strbuf b = {0};
    assert_int_equal(iceberg_store_get(st, "a_silver/t/metadata/v1.metadata.json", &b, err), S3_OK);
    assert_int_equal(b.len, 1);
    assert_memory_equal(b.s, "1", 1);
    strbuf_free(&b);
    int n = 0;
    assert_int_equal(iceberg_store_list(st, "a_silver/", list_count, &n, err), S3_OK);
    assert_int_equal(n, 2);
    /* keys never leave the store */
    assert_int_equal(iceberg_store_put(st, "../escape", "x", 1, false, err), S3_OTHER);
    assert_int_equal(iceberg_store_put(st, "/abs", "x", 1, false, err), S3_OTHER);
    assert_int_equal(iceberg_store_delete(st, "a_silver/t/data/x.parquet", err), S3_OK);
    assert_int_equal(iceberg_store_get(st, "a_silver/t/data/x.parquet", &b, err), S3_NOT_FOUND);
    assert_int_equal(iceberg_store_delete(st, "a_silver/t/data/x.parquet", err), S3_OK);
    /* the inverse of uri; a location of another store is refused */
    char key[PATH_MAX], path[PATH_MAX];
    assert_int_equal(iceberg_store_key_of(st, uri, key, err), 0);
    assert_string_equal(key, "a_silver/t/metadata/v1.metadata.json");
    assert_int_equal(iceberg_store_key_of(st, "s3://b/a_silver/t", key, err), -1);
    snprintf(want, sizeof want, "%s/iceberg", cfg.data_dir);
    assert_string_equal(iceberg_store_root(st), want);
    /* on disk a data file is built in place: stage gives its final path */
    assert_int_equal(iceberg_store_stage(st, "c_gold/v/data/0-u.parquet", path, err), 0);
    snprintf(want, sizeof want, "%s/iceberg/c_gold/v/data/0-u.parquet", cfg.data_dir);
    assert_string_equal(path, want);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(iceberg_store_put_staged(st, "c_gold/v/data/0-u.parquet", path, err), S3_OK);
    assert_int_equal(access(path, F_OK), 0);
    iceberg_store_free(&st);
    assert_null(st);
    snprintf(cfg.iceberg_export, sizeof cfg.iceberg_export, "off");
    assert_null(iceberg_store_open(&cfg, err));
}

/* The names an S3 store gives (no request is made). */
static void test_s3_store_names(void **state)
{
    (void)state;
    struct config cfg;
    char err[ERROR_MAX], uri[PATH_MAX], key[PATH_MAX], path[PATH_MAX], want[PATH_MAX];
    assert_int_equal(config_load(&cfg, NULL, root, err), 0);
    snprintf(cfg.iceberg_export, sizeof cfg.iceberg_export, "s3");
    snprintf(cfg.s3_endpoint, sizeof cfg.s3_endpoint, "http://127.0.0.1:9");
    snprintf(cfg.s3_bucket, sizeof cfg.s3_bucket, "lake");
    snprintf(cfg.s3_prefix, sizeof cfg.s3_prefix, "/group-a/");
    setenv("LAKEHOUSE_S3_ACCESS_KEY_ID", "K", 1);
    setenv("LAKEHOUSE_S3_SECRET_ACCESS_KEY", "S", 1);
    struct iceberg_store *st = iceberg_store_open(&cfg, err);
    assert_non_null(st);
    assert_true(iceberg_store_is_s3(st));
    assert_string_equal(iceberg_store_root(st), "s3://lake/group-a");
    assert_int_equal(iceberg_store_uri(st, "air_silver/f/data/0-u.parquet", uri, err), 0);
    assert_string_equal(uri, "s3://lake/group-a/air_silver/f/data/0-u.parquet");
    assert_int_equal(iceberg_store_key_of(st, uri, key, err), 0);
    assert_string_equal(key, "air_silver/f/data/0-u.parquet");
    assert_int_equal(iceberg_store_key_of(st, "s3://lake/group-b/air_silver/f", key, err), -1);
    /* data files are built in the staging directory, named by their file name */
    assert_int_equal(iceberg_store_stage(st, "air_silver/f/data/0-u.parquet", path, err), 0);
    snprintf(want, sizeof want, "%s/run/iceberg-staging/0-u.parquet", cfg.data_dir);
    assert_string_equal(path, want);
    assert_int_equal(iceberg_store_stage(st, "../x", path, err), -1);
    /* a staged file a crash left is removed once older than the grace period */
    assert_int_equal(iceberg_store_stage(st, "air_silver/f/data/1-u.parquet", key, err), 0);
    FILE *f = fopen(path, "w"), *g = fopen(key, "w");
    assert_true(f != NULL && g != NULL);
    fclose(f);
    fclose(g);
    struct utimbuf old = {.actime = time(NULL) - 3600, .modtime = time(NULL) - 3600};
    assert_int_equal(utime(path, &old), 0);
    assert_int_equal(iceberg_store_clean_staging(st, 600), 1);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(key, F_OK), 0);
    iceberg_store_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_credentials_env_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_store_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credentials_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_style_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

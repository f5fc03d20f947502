/* test_config.c - unit tests of configuration loading (config.h): defaults,
 * file, environment and --data precedence, errors, derived endpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

extern char **environ;

static char root[PATH_MAX];     /* temporary directory, symlinks resolved */
static char old_cwd[PATH_MAX];
static struct config cfg;

/* No LAKEHOUSE_* variable of the calling shell may leak into a test. */
static void clear_env(void)
{
    for (;;) {
        char name[256] = "";
        for (char **e = environ; *e != NULL; e++) {
            if (strncmp(*e, "LAKEHOUSE_", 10) == 0) {
                size_t n = strcspn(*e, "=");
                snprintf(name, sizeof name, "%.*s", (int)n, *e);
                break;
            }
        }
        if (name[0] == '\0')
            return;
        unsetenv(name);
    }
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    char tmp[] = "/tmp/lh-test-config.XXXXXX";
    if (mkdtemp(tmp) == NULL || realpath(tmp, root) == NULL)
        return -1;
    if (getcwd(old_cwd, sizeof old_cwd) == NULL || chdir(root) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clear_env();
    if (chdir(old_cwd) != 0)
        return -1;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_error(const char *path, const char *override, const char *part1,
                         const char *part2)
{
    char err[ERROR_MAX] = "";
    assert_int_equal(config_load(&cfg, path, override, err), -1);
    if (strstr(err, part1) == NULL || (part2 != NULL && strstr(err, part2) == NULL))
        fail_msg("message '%s' lacks '%s' / '%s'", err, part1, part2 ? part2 : "");
}

static void test_defaults(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "";
    assert_int_equal(config_load(&cfg, NULL, NULL, err), 0);
    char expected[PATH_MAX + 64];
    snprintf(expected, sizeof expected, "%s/lakehouse", root);
    assert_string_equal(cfg.data_dir, expected);
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.seal_max_bytes, 4 * 1024 * 1024);
    assert_int_equal(cfg.seal_max_age_ms, 200);
    assert_int_equal(cfg.batch_max_records, 10000);
    assert_int_equal(cfg.batch_max_bytes, 16 * 1024 * 1024);
    assert_int_equal(cfg.record_max_bytes, 1024 * 1024);
    assert_int_equal(cfg.group_commit_max_batches, 256);
    assert_int_equal(cfg.ingest_queue_max_bytes, 64 * 1024 * 1024);
    assert_int_equal(cfg.batch_id_window, 100000);
    assert_int_equal(cfg.reconcile_interval_ms, 10000);
    assert_int_equal(cfg.restart_backoff_min_ms, 200);
    assert_int_equal(cfg.restart_backoff_max_ms, 30000);
    assert_int_equal(cfg.stop_timeout_ms, 20000);
    assert_int_equal(cfg.query_timeout_ms, 10000);
    assert_int_equal(cfg.query_max_rows, 10000);

    snprintf(expected, sizeof expected, "ipc://%s/lakehouse/run/events-in.sock", root);
    assert_string_equal(cfg.events_pub_endpoint, expected);
    snprintf(expected, sizeof expected, "ipc://%s/lakehouse/run/events-out.sock", root);
    assert_string_equal(cfg.events_sub_endpoint, expected);
    snprintf(expected, sizeof expected, "ipc://%s/lakehouse/run/ingest.sock", root);
    assert_string_equal(cfg.ingest_endpoint, expected);
    snprintf(expected, sizeof expected, "ipc://%s/lakehouse/run/processor.sock", root);
    assert_string_equal(cfg.processor_control_endpoint, expected);
    snprintf(expected, sizeof expected, "ipc://%s/lakehouse/run/transformer.sock", root);
    assert_string_equal(cfg.transformer_control_endpoint, expected);
}

static void test_precedence(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "";
    write_file("c.json", "{\"seal_max_bytes\": 1000, \"seal_max_age_ms\": 50,"
                         " \"log_level\": \"debug\", \"data_dir\": \"/tmp/from-file\","
                         " \"ingest_endpoint\": \"tcp://127.0.0.1:5555\"}");
    assert_int_equal(config_load(&cfg, "c.json", NULL, err), 0);
    assert_int_equal(cfg.seal_max_bytes, 1000);
    assert_int_equal(cfg.seal_max_age_ms, 50);
    assert_int_equal(cfg.batch_max_records, 10000); /* untouched: default */
    assert_string_equal(cfg.log_level, "debug");
    assert_string_equal(cfg.data_dir, "/tmp/from-file");
    assert_string_equal(cfg.ingest_endpoint, "tcp://127.0.0.1:5555"); /* explicit: kept */
    assert_string_equal(cfg.events_pub_endpoint, "ipc:///tmp/from-file/run/events-in.sock");

    /* environment beats the file */
    setenv("LAKEHOUSE_SEAL_MAX_BYTES", "2000", 1);
    setenv("LAKEHOUSE_LOG_LEVEL", "warn", 1);
    setenv("LAKEHOUSE_DATA", "/tmp/from-env", 1);
    setenv("LAKEHOUSE_SEAL_MAX_AGE_MS", "", 1);   /* empty: counts as unset */
    setenv("LAKEHOUSE_NOT_A_SETTING", "x", 1);    /* other LAKEHOUSE_* are ignored */
    setenv("LAKEHOUSE_DATA_DIR", "/tmp/wrong", 1); /* data_dir's variable is LAKEHOUSE_DATA */
    assert_int_equal(config_load(&cfg, "c.json", NULL, err), 0);
    assert_int_equal(cfg.seal_max_bytes, 2000);
    assert_int_equal(cfg.seal_max_age_ms, 50);
    assert_string_equal(cfg.log_level, "warn");
    assert_string_equal(cfg.data_dir, "/tmp/from-env");

    /* --data beats everything */
    assert_int_equal(config_load(&cfg, "c.json", "/tmp/from-flag", err), 0);
    assert_string_equal(cfg.data_dir, "/tmp/from-flag");
    assert_string_equal(cfg.processor_control_endpoint, "ipc:///tmp/from-flag/run/processor.sock");
    assert_int_equal(cfg.seal_max_bytes, 2000);

    /* environment without a file */
    assert_int_equal(config_load(&cfg, NULL, NULL, err), 0);
    assert_string_equal(cfg.data_dir, "/tmp/from-env");
    assert_int_equal(cfg.seal_max_age_ms, 200);
}

static void test_file_errors(void **state)
{
    (void)state;
    write_file("unknown.json", "{\"seal_max_bytes\": 10, \"seal_ms\": 5}");
    expect_error("unknown.json", NULL, "config unknown.json: unknown key 'seal_ms'", NULL);
    write_file("type.json", "{\"seal_max_bytes\": \"10\"}");
    expect_error("type.json", NULL, "config type.json: key 'seal_max_bytes' must be an integer",
                 NULL);
    write_file("real.json", "{\"seal_max_bytes\": 10.5}");
    expect_error("real.json", NULL, "real.json", "must be an integer");
    write_file("str.json", "{\"log_level\": 3}");
    expect_error("str.json", NULL, "key 'log_level' must be a string", NULL);
    write_file("null.json", "{\"data_dir\": null}");
    expect_error("null.json", NULL, "key 'data_dir' must be a string", NULL);
    write_file("dup.json", "{\"seal_max_bytes\": 1, \"seal_max_bytes\": 2}");
    expect_error("dup.json", NULL, "config dup.json", "duplicate");
    write_file("syntax.json", "{\n  \"seal_max_bytes\": 1,\n  oops\n}");
    expect_error("syntax.json", NULL, "config syntax.json: line 3", NULL);
    write_file("array.json", "[1, 2]");
    expect_error("array.json", NULL, "config array.json: expected a JSON object", NULL);
    write_file("empty.json", "");
    expect_error("empty.json", NULL, "config empty.json", NULL);
    expect_error("missing.json", NULL, "config missing.json", "No such file");
    char long_value[400];
    memset(long_value, 'x', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    char text[600];
    snprintf(text, sizeof text, "{\"ingest_endpoint\": \"tcp://%s\"}", long_value);
    write_file("long.json", text);
    expect_error("long.json", NULL, "ingest_endpoint", "too long");
    write_file("ok.json", "{}");
    char err[ERROR_MAX];
    assert_int_equal(config_load(&cfg, "ok.json", NULL, err), 0);
}

static void test_value_errors(void **state)
{
    (void)state;
    setenv("LAKEHOUSE_BATCH_MAX_RECORDS", "12abc", 1);
    expect_error(NULL, NULL, "environment LAKEHOUSE_BATCH_MAX_RECORDS", "not an integer");
    setenv("LAKEHOUSE_BATCH_MAX_RECORDS", "99999999999999999999999", 1);
    expect_error(NULL, NULL, "LAKEHOUSE_BATCH_MAX_RECORDS", "not an integer");
    setenv("LAKEHOUSE_BATCH_MAX_RECORDS", "0", 1);
    expect_error(NULL, NULL, "batch_max_records", "positive");
    unsetenv("LAKEHOUSE_BATCH_MAX_RECORDS");

    write_file("neg.json", "{\"stop_timeout_ms\": -5}");
    expect_error("neg.json", NULL, "stop_timeout_ms", "positive");
    write_file("level.json", "{\"log_level\": \"loud\"}");
    expect_error("level.json", NULL, "log_level 'loud'", NULL);
    write_file("backoff.json", "{\"restart_backoff_min_ms\": 500, \"restart_backoff_max_ms\": 100}");
    expect_error("backoff.json", NULL, "restart_backoff_min_ms", "restart_backoff_max_ms");
    write_file("record.json", "{\"record_max_bytes\": 500, \"batch_max_bytes\": 100}");
    expect_error("record.json", NULL, "record_max_bytes", "batch_max_bytes");
    expect_error(NULL, "", "data_dir is empty", NULL);
}

static void test_data_dir_absolute(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "";
    char expected[PATH_MAX + 64];
    assert_int_equal(mkdir("real", 0750), 0);
    assert_int_equal(symlink("real", "link"), 0);

    /* existing: symlinks resolved, trailing slashes dropped */
    assert_int_equal(config_load(&cfg, NULL, "link/", err), 0);
    snprintf(expected, sizeof expected, "%s/real", root);
    assert_string_equal(cfg.data_dir, expected);

    /* missing, parent exists: realpath of the parent + the name */
    assert_int_equal(config_load(&cfg, NULL, "link/new", err), 0);
    snprintf(expected, sizeof expected, "%s/real/new", root);
    assert_string_equal(cfg.data_dir, expected);
    assert_int_equal(config_load(&cfg, NULL, "./fresh", err), 0);
    snprintf(expected, sizeof expected, "%s/fresh", root);
    assert_string_equal(cfg.data_dir, expected);

    /* missing parent too: joined to the working directory */
    assert_int_equal(config_load(&cfg, NULL, "./a/b/c", err), 0);
    snprintf(expected, sizeof expected, "%s/a/b/c", root);
    assert_string_equal(cfg.data_dir, expected);
    assert_int_equal(config_load(&cfg, NULL, "/nonexistent-lh/x/y", err), 0);
    assert_string_equal(cfg.data_dir, "/nonexistent-lh/x/y");

    /* relative data_dir in a file: relative to the file's directory */
    assert_int_equal(mkdir("etc", 0750), 0);
    write_file("etc/c.json", "{\"data_dir\": \"../real/data\"}");
    assert_int_equal(config_load(&cfg, "etc/c.json", NULL, err), 0);
    snprintf(expected, sizeof expected, "%s/real/data", root);
    assert_string_equal(cfg.data_dir, expected);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/etc/c.json", root);
    assert_int_equal(chdir("/"), 0);
    assert_int_equal(config_load(&cfg, path, NULL, err), 0);
    assert_string_equal(cfg.data_dir, expected);
    assert_int_equal(chdir(root), 0);

    /* a file in the way of the path is reported */
    write_file("plain", "x");
    expect_error(NULL, "plain/sub/more", "data_dir", "Not a directory");
}

static void test_ipc_path_limit(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "";
    /* "/d" + 78 chars + "/run/transformer.sock" (21) = 101 path chars: fits */
    char dir[200] = "/d";
    memset(dir + 2, 'x', 78);
    dir[80] = '\0';
    assert_int_equal(config_load(&cfg, NULL, dir, err), 0);
    /* 107 characters is the most a unix socket path can hold */
    memset(dir + 2, 'x', 200 - 3);
    dir[107 - 21] = '\0';
    assert_int_equal(config_load(&cfg, NULL, dir, err), 0);
    assert_int_equal(strlen(cfg.transformer_control_endpoint) - 6, 107);
    dir[107 - 21] = 'x';
    dir[108 - 21] = '\0';
    expect_error(NULL, dir, "transformer_control_endpoint", "107");
    expect_error(NULL, dir, "shorter data_dir", NULL);

    /* a long data_dir is fine when every endpoint is tcp:// */
    setenv("LAKEHOUSE_EVENTS_PUB_ENDPOINT", "tcp://127.0.0.1:7001", 1);
    setenv("LAKEHOUSE_EVENTS_SUB_ENDPOINT", "tcp://127.0.0.1:7002", 1);
    setenv("LAKEHOUSE_INGEST_ENDPOINT", "tcp://127.0.0.1:7003", 1);
    setenv("LAKEHOUSE_PROCESSOR_CONTROL_ENDPOINT", "tcp://127.0.0.1:7004", 1);
    setenv("LAKEHOUSE_TRANSFORMER_CONTROL_ENDPOINT", "tcp://127.0.0.1:7005", 1);
    assert_int_equal(config_load(&cfg, NULL, dir, err), 0);
    assert_string_equal(cfg.ingest_endpoint, "tcp://127.0.0.1:7003");

    /* an explicit ipc:// endpoint is checked too */
    char ep[200];
    snprintf(ep, sizeof ep, "ipc:///tmp/%0120d", 7);
    setenv("LAKEHOUSE_INGEST_ENDPOINT", ep, 1);
    expect_error(NULL, NULL, "ingest_endpoint", "tcp://");

    /* a data_dir that cannot fit an endpoint buffer at all */
    char huge[1000];
    for (size_t i = 0; i < sizeof huge - 1; i++)
        huge[i] = i % 100 == 0 ? '/' : 'y'; /* components within NAME_MAX */
    huge[sizeof huge - 1] = '\0';
    unsetenv("LAKEHOUSE_EVENTS_PUB_ENDPOINT");
    expect_error(NULL, huge, "events_pub_endpoint", "too long");
}

static void test_print(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "";
    write_file("c.json", "{\"seal_max_bytes\": 1234, \"ingest_endpoint\": \"tcp://127.0.0.1:9\"}");
    assert_int_equal(config_load(&cfg, "c.json", "data", err), 0);

    /* the printed configuration loads back to the same struct */
    FILE *out = fopen("printed.json", "w");
    assert_non_null(out);
    config_print(&cfg, out);
    fclose(out);
    struct config again;
    assert_int_equal(config_load(&again, "printed.json", NULL, err), 0);
    assert_string_equal(again.data_dir, cfg.data_dir);
    assert_string_equal(again.ingest_endpoint, "tcp://127.0.0.1:9");
    assert_string_equal(again.events_sub_endpoint, cfg.events_sub_endpoint);
    assert_int_equal(again.seal_max_bytes, 1234);
    assert_int_equal(again.query_max_rows, cfg.query_max_rows);

    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    config_print_help(mem);
    fclose(mem);
    const char *expected[] = {"data_dir", "LAKEHOUSE_DATA", "seal_max_age_ms",
                              "LAKEHOUSE_SEAL_MAX_AGE_MS", "default 200", "query_max_rows",
                              "transformer_control_endpoint", "log_level"};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (strstr(text, expected[i]) == NULL)
            fail_msg("help lacks '%s'", expected[i]);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_dir_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipc_path_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

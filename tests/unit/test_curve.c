/* test_curve.c - unit tests of CURVE key files and socket setup (curve.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "curve.h"

static char root[PATH_MAX];
static struct config cfg;
static char pub[CURVE_KEY_TEXT], sec[CURVE_KEY_TEXT];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/lh-test-curve.XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", root);
    snprintf(cfg.ingest_endpoint, sizeof cfg.ingest_endpoint, "tcp://127.0.0.1:5555");
    return zmq_curve_keypair(pub, sec);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", root, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_key_read(void **state)
{
    (void)state;
    char text[200], key[CURVE_KEY_TEXT], err[ERROR_MAX];
    snprintf(text, sizeof text, "# made by hand\n\n  %s \r\n", pub);
    write_text("a.pub", text);
    assert_int_equal(curve_key_read(&cfg, "a.pub", key, err), 0); /* relative: data_dir */
    assert_string_equal(key, pub);
    char abs[PATH_MAX + 16];
    snprintf(abs, sizeof abs, "%s/a.pub", root);
    assert_int_equal(curve_key_read(&cfg, abs, key, err), 0);

    write_text("short.pub", "abc\n");
    assert_int_equal(curve_key_read(&cfg, "short.pub", key, err), -1);
    assert_non_null(strstr(err, "not a 40-character Z85 key"));
    write_text("bad.pub", "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\n");
    assert_int_equal(curve_key_read(&cfg, "bad.pub", key, err), -1); /* not Z85 */
    write_text("empty.pub", "# nothing\n");
    assert_int_equal(curve_key_read(&cfg, "empty.pub", key, err), -1);
    assert_int_equal(curve_key_read(&cfg, "missing.pub", key, err), -1);
    assert_non_null(strstr(err, "missing.pub"));
}

static void test_loopback(void **state)
{
    (void)state;
    assert_true(curve_endpoint_is_tcp("tcp://1.2.3.4:5"));
    assert_false(curve_endpoint_is_tcp("ipc:///x"));
    assert_true(curve_endpoint_is_loopback("tcp://127.0.0.1:5"));
    assert_true(curve_endpoint_is_loopback("tcp://localhost:5"));
    assert_true(curve_endpoint_is_loopback("tcp://[::1]:5"));
    assert_false(curve_endpoint_is_loopback("tcp://0.0.0.0:5"));
    assert_false(curve_endpoint_is_loopback("tcp://*:5"));
    assert_false(curve_endpoint_is_loopback("tcp://10.0.0.1:5"));
    assert_false(curve_endpoint_is_loopback("ipc:///tmp/x"));
}

static void test_authorized(void **state)
{
    (void)state;
    char err[ERROR_MAX], text[64];
    char other_pub[CURVE_KEY_TEXT], other_sec[CURVE_KEY_TEXT];
    assert_int_equal(zmq_curve_keypair(other_pub, other_sec), 0);
    uint8_t key[CURVE_KEY_BYTES], other[CURVE_KEY_BYTES];
    zmq_z85_decode(key, pub);
    zmq_z85_decode(other, other_pub);
    snprintf(cfg.curve_authorized_keys_dir, sizeof cfg.curve_authorized_keys_dir, "auth");
    assert_int_equal(curve_key_authorized(&cfg, key, err), -1); /* no directory */
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/auth", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(text, sizeof text, "%s\n", pub);
    write_text("auth/alice.pub", text);
    write_text("auth/junk.pub", "junk\n");
    snprintf(text, sizeof text, "%s\n", other_pub);
    write_text("auth/bob.key", text); /* not *.pub: ignored */
    assert_int_equal(curve_key_authorized(&cfg, key, err), 1);
    assert_int_equal(curve_key_authorized(&cfg, other, err), 0);
    assert_non_null(strstr(err, "junk.pub")); /* the skipped file, for the log */
}

static void test_setup(void **state)
{
    (void)state;
    char err[ERROR_MAX], text[64];
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(curve_client_setup(sock, &cfg, err), 0); /* not configured */
    snprintf(text, sizeof text, "%s\n", pub);
    write_text("server.pub", text);
    snprintf(text, sizeof text, "%s\n", sec);
    write_text("client.key", text);
    snprintf(cfg.curve_server_public_key_file, sizeof cfg.curve_server_public_key_file,
             "server.pub");
    assert_int_equal(curve_client_setup(sock, &cfg, err), -1);
    assert_non_null(strstr(err, "curve_client_secret_key_file"));
    snprintf(cfg.curve_client_secret_key_file, sizeof cfg.curve_client_secret_key_file,
             "client.key");
    assert_int_equal(curve_client_setup(sock, &cfg, err), 1);
    char derived[CURVE_KEY_TEXT];
    size_t len = sizeof derived;
    assert_int_equal(zmq_getsockopt(sock, ZMQ_CURVE_PUBLICKEY, derived, &len), 0);
    assert_string_equal(derived, pub); /* the public key of client.key */
    snprintf(cfg.ingest_endpoint, sizeof cfg.ingest_endpoint, "ipc:///tmp/x.sock");
    assert_int_equal(curve_client_setup(sock, &cfg, err), 0); /* ipc: ignored */
    zmq_close(sock);

    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    snprintf(cfg.ingest_endpoint, sizeof cfg.ingest_endpoint, "tcp://127.0.0.1:5555");
    snprintf(cfg.curve_server_secret_key_file, sizeof cfg.curve_server_secret_key_file,
             "client.key");
    assert_int_equal(curve_server_setup(router, &cfg, err), -1); /* no authorized dir */
    assert_non_null(strstr(err, "curve_authorized_keys_dir"));
    snprintf(cfg.curve_authorized_keys_dir, sizeof cfg.curve_authorized_keys_dir, "auth");
    assert_int_equal(curve_server_setup(router, &cfg, err), 1);
    int server = 0;
    len = sizeof server;
    assert_int_equal(zmq_getsockopt(router, ZMQ_CURVE_SERVER, &server, &len), 0);
    assert_int_equal(server, 1);
    zmq_close(router);
    memset(&cfg.curve_server_secret_key_file, 0, sizeof cfg.curve_server_secret_key_file);
    memset(&cfg.curve_authorized_keys_dir, 0, sizeof cfg.curve_authorized_keys_dir);
    memset(&cfg.curve_server_public_key_file, 0, sizeof cfg.curve_server_public_key_file);
    memset(&cfg.curve_client_secret_key_file, 0, sizeof cfg.curve_client_secret_key_file);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_read, setup, teardown),
        cmocka_unit_test(test_loopback),
        cmocka_unit_test_setup_teardown(test_authorized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

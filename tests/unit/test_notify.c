/* test_notify.c - unit tests of the sd_notify datagram protocol (notify.h):
 * no-op without NOTIFY_SOCKET, path and abstract sockets, the watchdog
 * interval from WATCHDOG_USEC/WATCHDOG_PID, the ping schedule, and the
 * environment entries a parent must not pass on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

static void clear_env(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

/* A datagram socket bound at name ("@..." = abstract); returns its fd. */
static int receiver(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    memcpy(addr.sun_path, name, len);
    if (name[0] == '@')
        addr.sun_path[0] = '\0';
    else
        unlink(name);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
                     0);
    return fd;
}

/* The next datagram, or "" when none is waiting. */
static void next_message(int fd, char *buf, size_t size)
{
    ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);
    buf[n > 0 ? n : 0] = '\0';
}

static void test_noop_without_socket(void **state)
{
    (void)state;
    clear_env();
    char err[ERROR_MAX] = "";
    struct notify *n = (struct notify *)1;
    assert_int_equal(notify_open(&n, err), 0);
    assert_null(n);
    /* every call is harmless on NULL */
    assert_int_equal(notify_send(n, "READY=1", err), 0);
    notify_ready(n, "x");
    notify_watchdog(n);
    notify_stopping(n);
    assert_int_equal(notify_poll_timeout(n, 1234), 1234);
    assert_int_equal(notify_poll_timeout(n, -1), -1);
    notify_close(&n);
    notify_close(NULL);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(notify_open(&n, err), 0);
    assert_null(n);
}

static void test_bad_socket_name(void **state)
{
    (void)state;
    clear_env();
    char err[ERROR_MAX] = "";
    struct notify *n = NULL;
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(notify_open(&n, err), -1);
    assert_null(n);
    assert_non_null(strstr(err, "relative/path"));
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = '\0';
    setenv("NOTIFY_SOCKET", longname, 1);
    assert_int_equal(notify_open(&n, err), -1);
    assert_null(n);
    clear_env();
}

static void test_path_socket(void **state)
{
    (void)state;
    clear_env();
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_notify.%ld.sock", (long)getpid());
    int fd = receiver(path);
    setenv("NOTIFY_SOCKET", path, 1);
    char err[ERROR_MAX] = "";
    struct notify *n = NULL;
    assert_int_equal(notify_open(&n, err), 0);
    assert_non_null(n);
    char buf[512];
    notify_ready(n, "serving");
    next_message(fd, buf, sizeof buf);
    assert_string_equal(buf, "READY=1\nSTATUS=serving");
    notify_ready(n, NULL);
    next_message(fd, buf, sizeof buf);
    assert_string_equal(buf, "READY=1");
    /* no WATCHDOG_USEC: no pings, timeouts unchanged */
    notify_watchdog(n);
    next_message(fd, buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_int_equal(notify_poll_timeout(n, 1000), 1000);
    notify_stopping(n);
    next_message(fd, buf, sizeof buf);
    assert_string_equal(buf, "STOPPING=1\nSTATUS=stopping");
    notify_close(&n);
    assert_null(n);
    /* the receiver is gone: sending fails with a message, never crashes */
    assert_int_equal(notify_open(&n, err), 0);
    close(fd);
    unlink(path);
    assert_int_equal(notify_send(n, "READY=1", err), -1);
    assert_non_null(strstr(err, "READY=1"));
    notify_close(&n);
    clear_env();
}

static void test_abstract_socket_and_watchdog(void **state)
{
    (void)state;
    clear_env();
    char name[64];
    snprintf(name, sizeof name, "@test_notify.%ld", (long)getpid());
    int fd = receiver(name);
    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_USEC", "200000", 1); /* ping every 100 ms */
    char err[ERROR_MAX] = "";
    struct notify *n = NULL;
    assert_int_equal(notify_open(&n, err), 0);
    assert_non_null(n);
    char buf[512];
    notify_watchdog(n); /* the first ping is due at once */
    next_message(fd, buf, sizeof buf);
    assert_string_equal(buf, "WATCHDOG=1");
    notify_watchdog(n); /* not due again yet */
    next_message(fd, buf, sizeof buf);
    assert_string_equal(buf, "");
    long t = notify_poll_timeout(n, 1000);
    assert_true(t >= 0 && t <= 100);
    t = notify_poll_timeout(n, -1);
    assert_true(t >= 0 && t <= 100);
    assert_int_equal(notify_poll_timeout(n, 5), 5);
    usleep(110 * 1000);
    assert_int_equal(notify_poll_timeout(n, 1000), 0);
    notify_watchdog(n);
    next_message(fd, buf, sizeof buf);
    assert_string_equal(buf, "WATCHDOG=1");
    notify_close(&n);
    close(fd);
    clear_env();
}

static void test_watchdog_interval(void **state)
{
    (void)state;
    clear_env();
    assert_int_equal(notify_watchdog_interval_ms(), 0);
    setenv("WATCHDOG_USEC", "30000000", 1);
    assert_int_equal(notify_watchdog_interval_ms(), 15000);
    setenv("WATCHDOG_USEC", "1000", 1);
    assert_int_equal(notify_watchdog_interval_ms(), 1); /* at least 1 ms */
    setenv("WATCHDOG_USEC", "abc", 1);
    assert_int_equal(notify_watchdog_interval_ms(), 0);
    setenv("WATCHDOG_USEC", "-5", 1);
    assert_int_equal(notify_watchdog_interval_ms(), 0);
    setenv("WATCHDOG_USEC", "0", 1);
    assert_int_equal(notify_watchdog_interval_ms(), 0);
    setenv("WATCHDOG_USEC", "2000000", 1);
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(notify_watchdog_interval_ms(), 1000);
    snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1); /* meant for another process */
    assert_int_equal(notify_watchdog_interval_ms(), 0);
    clear_env();
}

static void test_env_entry(void **state)
{
    (void)state;
    assert_true(notify_env_entry("NOTIFY_SOCKET=/run/systemd/notify"));
    assert_true(notify_env_entry("WATCHDOG_USEC=30000000"));
    assert_true(notify_env_entry("WATCHDOG_PID=12"));
    assert_false(notify_env_entry("NOTIFY_SOCKETS=x"));
    assert_false(notify_env_entry("PATH=/usr/bin"));
    assert_false(notify_env_entry("LAKEHOUSE_DATA=/var/lib/lakehouse"));
    assert_false(notify_env_entry("NOTIFY_SOCKET"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noop_without_socket),
        cmocka_unit_test(test_bad_socket_name),
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket_and_watchdog),
        cmocka_unit_test(test_watchdog_interval),
        cmocka_unit_test(test_env_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

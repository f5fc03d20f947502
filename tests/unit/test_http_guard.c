/* test_http_guard.c - unit tests of the HTTP API's browser-safety rules
 * (broker/http/http_guard.c): Host, Origin and body type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../broker/http/http_guard.c"

static void test_host(void **state)
{
    (void)state;
    assert_true(http_guard_host_ok("127.0.0.1:8080", "127.0.0.1", 8080, false));
    assert_true(http_guard_host_ok("localhost:8080", "127.0.0.1", 8080, false));
    assert_true(http_guard_host_ok("LOCALHOST:8080", "127.0.0.1", 8080, false));
    assert_true(http_guard_host_ok("[::1]:8080", "127.0.0.1", 8080, false));
    assert_true(http_guard_host_ok("127.0.0.2:8080", "127.0.0.2", 8080, false));
    assert_true(http_guard_host_ok("[::1]:9000", "::1", 9000, false));
    assert_true(http_guard_host_ok(NULL, "127.0.0.1", 8080, false));
    /* the scheme's default port may be left out, no other */
    assert_true(http_guard_host_ok("localhost", "127.0.0.1", 80, false));
    assert_true(http_guard_host_ok("localhost", "127.0.0.1", 443, true));
    assert_false(http_guard_host_ok("localhost", "127.0.0.1", 8080, false));
    /* DNS rebinding: a foreign name, even on the right port */
    assert_false(http_guard_host_ok("evil.example:8080", "127.0.0.1", 8080, false));
    assert_false(http_guard_host_ok("localhost.evil.example:8080", "127.0.0.1", 8080, false));
    assert_false(http_guard_host_ok("127.0.0.1:8081", "127.0.0.1", 8080, false));
    assert_false(http_guard_host_ok("127.0.0.1:8080x", "127.0.0.1", 8080, false));
    assert_false(http_guard_host_ok("127.0.0.1:", "127.0.0.1", 8080, false));
    assert_false(http_guard_host_ok("", "127.0.0.1", 8080, false));
}

static void test_origin(void **state)
{
    (void)state;
    assert_true(http_guard_origin_own("http://127.0.0.1:8080", "127.0.0.1:8080", false));
    assert_false(http_guard_origin_own("https://127.0.0.1:8080", "127.0.0.1:8080", false));
    assert_true(http_guard_origin_own("https://lake.example", "lake.example", true));
    assert_false(http_guard_origin_own("http://evil.example", "127.0.0.1:8080", false));
    assert_false(http_guard_origin_own("null", "127.0.0.1:8080", false));
    assert_false(http_guard_origin_own("http://127.0.0.1:8080", NULL, false));

    const char *list = "https://console.example, http://localhost:3000/ https://b.example";
    assert_true(http_guard_origin_listed("https://console.example", list));
    assert_true(http_guard_origin_listed("http://localhost:3000", list));
    assert_true(http_guard_origin_listed("https://b.example", list));
    assert_false(http_guard_origin_listed("https://console.example.evil", list));
    assert_false(http_guard_origin_listed("https://console", list));
    assert_false(http_guard_origin_listed("null", list));
    assert_false(http_guard_origin_listed("https://console.example", ""));
}

static void test_type(void **state)
{
    (void)state;
    assert_true(http_guard_type_ok("/endpoints", "application/json", true));
    assert_true(http_guard_type_ok("/endpoints", "Application/JSON; charset=utf-8", true));
    assert_true(http_guard_type_ok("/endpoints", NULL, false));
    assert_false(http_guard_type_ok("/endpoints", NULL, true));
    assert_false(http_guard_type_ok("/endpoints", "text/plain", true));
    assert_false(http_guard_type_ok("/endpoints", "text/plain", false));
    assert_false(http_guard_type_ok("/transform/jobs/d/j/run",
                                    "application/x-www-form-urlencoded", false));
    assert_false(http_guard_type_ok("/ingest/d/e", "multipart/form-data; boundary=x", true));
    assert_false(http_guard_type_ok("/ingest/d/e", "application/jsonx", true));
    assert_true(http_guard_type_ok("/ingest/d/e/batch", "application/x-ndjson", true));
    assert_false(http_guard_type_ok("/ingest/d/e", "application/x-ndjson", true));
    assert_false(http_guard_type_ok("/endpoints", "application/x-ndjson", true));
    assert_true(http_guard_type_ok("/endpoints", "application/yaml", true));
    assert_true(http_guard_type_ok("/models/tpch", "application/yaml", true));
    assert_false(http_guard_type_ok("/ingest/d/e/batch", "application/yaml", true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_broker_http_fifo.c - unit tests of the queue of work waiting for a
 * thread (broker/http/http_fifo.c): order, close, and the item behind a link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/http_internal.h"

struct item {
    int value;
    struct http_link link; /* not first: found back through HTTP_CONTAINER */
};

static int value_of(struct http_link *link)
{
    return link == NULL ? -1 : HTTP_CONTAINER(link, struct item, link)->value;
}

static void test_order(void **state)
{
    (void)state;
    struct http_fifo q = {0};
    struct item a = {.value = 1}, b = {.value = 2}, c = {.value = 3};
    assert_null(http_fifo_pop(&q));
    assert_int_equal(http_fifo_push(&q, &a.link), 0);
    assert_int_equal(http_fifo_push(&q, &b.link), 0);
    assert_int_equal(value_of(http_fifo_pop(&q)), 1);
    assert_int_equal(http_fifo_push(&q, &c.link), 0);
    assert_int_equal(value_of(http_fifo_pop(&q)), 2);
    assert_int_equal(value_of(http_fifo_pop(&q)), 3);
    assert_null(http_fifo_pop(&q));
    assert_null(q.tail);
    /* emptied, it takes items again */
    assert_int_equal(http_fifo_push(&q, &a.link), 0);
    assert_int_equal(value_of(http_fifo_pop(&q)), 1);
}

static void test_close(void **state)
{
    (void)state;
    struct http_fifo q = {0};
    struct item a = {.value = 1}, b = {.value = 2}, c = {.value = 3};
    http_fifo_push(&q, &a.link);
    http_fifo_push(&q, &b.link);
    struct http_link *rest = http_fifo_close(&q);
    assert_true(q.closed);
    assert_int_equal(value_of(rest), 1);
    assert_int_equal(value_of(rest->next), 2);
    assert_null(rest->next->next);
    assert_null(http_fifo_pop(&q));
    assert_int_equal(http_fifo_push(&q, &c.link), -1);
    assert_null(http_fifo_pop(&q));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ingest_dedup.c - unit tests of ingest's batch-id window (ingest/dedup.h).
 * It links ingest's library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "../../ingest/dedup.h"

static void test_insert_lookup(void **state)
{
    (void)state;
    struct dedup *d = NULL;
    char err[ERROR_MAX];
    assert_int_equal(dedup_open(8, &d, err), 0);
    struct dedup_counts c = {.accepted = 3, .refused = 1, .group = 7}, out;
    assert_false(dedup_lookup(d, "demo", "flights", "b1", &out));
    assert_int_equal(dedup_insert(d, "demo", "flights", "b1", &c), 0);
    assert_true(dedup_lookup(d, "demo", "flights", "b1", &out));
    assert_int_equal(out.accepted, 3);
    assert_int_equal(out.refused, 1);
    assert_int_equal(out.group, 7);
    /* the key is domain + endpoint + id */
    assert_false(dedup_lookup(d, "demo", "other", "b1", &out));
    assert_false(dedup_lookup(d, "other", "flights", "b1", &out));
    /* no id: never remembered */
    assert_int_equal(dedup_insert(d, "demo", "flights", "", &c), 0);
    assert_false(dedup_lookup(d, "demo", "flights", "", &out));
    assert_int_equal(dedup_count(d), 1);
    dedup_close(&d);
    assert_null(d);
}

static void test_window_evicts_oldest(void **state)
{
    (void)state;
    struct dedup *d = NULL;
    char err[ERROR_MAX];
    assert_int_equal(dedup_open(100, &d, err), 0);
    struct dedup_counts c = {.accepted = 1};
    char id[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "id-%d", i);
        c.accepted = (uint64_t)i;
        assert_int_equal(dedup_insert(d, "d", "e", id, &c), 0);
    }
    assert_int_equal(dedup_count(d), 100);
    struct dedup_counts out;
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "id-%d", i);
        bool found = dedup_lookup(d, "d", "e", id, &out);
        assert_int_equal(found, i >= 900);
        if (found)
            assert_int_equal(out.accepted, (uint64_t)i);
    }
    dedup_close(&d);
}

static void test_remove_keeps_probe_chains(void **state)
{
    (void)state;
    struct dedup *d = NULL;
    char err[ERROR_MAX];
    assert_int_equal(dedup_open(64, &d, err), 0);
    struct dedup_counts c = {.accepted = 1};
    char id[32];
    for (int i = 0; i < 64; i++) {
        snprintf(id, sizeof id, "k%d", i);
        assert_int_equal(dedup_insert(d, "d", "e", id, &c), 0);
    }
    /* remove every other key; the rest must stay reachable */
    for (int i = 0; i < 64; i += 2) {
        snprintf(id, sizeof id, "k%d", i);
        dedup_remove(d, "d", "e", id);
    }
    struct dedup_counts out;
    for (int i = 0; i < 64; i++) {
        snprintf(id, sizeof id, "k%d", i);
        assert_int_equal(dedup_lookup(d, "d", "e", id, &out), i % 2 == 1);
    }
    assert_int_equal(dedup_count(d), 32);
    /* the window keeps working after removals and wrap-around */
    for (int i = 64; i < 300; i++) {
        snprintf(id, sizeof id, "k%d", i);
        assert_int_equal(dedup_insert(d, "d", "e", id, &c), 0);
    }
    for (int i = 236; i < 300; i++) {
        snprintf(id, sizeof id, "k%d", i);
        assert_true(dedup_lookup(d, "d", "e", id, &out));
    }
    assert_int_equal(dedup_count(d), 64);
    dedup_close(&d);
}

static void test_add_accumulates(void **state)
{
    (void)state;
    struct dedup *d = NULL;
    char err[ERROR_MAX];
    assert_int_equal(dedup_open(4, &d, err), 0);
    assert_int_equal(dedup_add(d, "d", "e", "x", 1, 0), 0);
    assert_int_equal(dedup_add(d, "d", "e", "x", 1, 0), 0);
    assert_int_equal(dedup_add(d, "d", "e", "x", 0, 2), 0);
    struct dedup_counts out;
    assert_true(dedup_lookup(d, "d", "e", "x", &out));
    assert_int_equal(out.accepted, 2);
    assert_int_equal(out.refused, 2);
    assert_int_equal(out.group, 0);
    dedup_close(&d);
}

static void test_disabled_window(void **state)
{
    (void)state;
    struct dedup *d = NULL;
    char err[ERROR_MAX];
    assert_int_equal(dedup_open(0, &d, err), 0);
    struct dedup_counts c = {.accepted = 1}, out;
    assert_int_equal(dedup_insert(d, "d", "e", "x", &c), 0);
    assert_false(dedup_lookup(d, "d", "e", "x", &out));
    dedup_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_lookup),
        cmocka_unit_test(test_window_evicts_oldest),
        cmocka_unit_test(test_remove_keeps_probe_chains),
        cmocka_unit_test(test_add_accumulates),
        cmocka_unit_test(test_disabled_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

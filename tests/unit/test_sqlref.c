/* test_sqlref.c - unit tests of sqlref.c: rewriting domain.layer.table
 * references, leaving literals, comments and quoted identifiers alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sqlref.h"

/* Rewrite and compare; returns the number of refs. */
static size_t rewrite_ok(const char *sql, const char *expected, struct sqlref **refs)
{
    char err[ERROR_MAX] = "";
    char *out = NULL;
    size_t count = 99;
    int rc = sqlref_rewrite(sql, &out, refs, &count, err);
    if (rc != 0)
        fail_msg("rewrite of '%s' failed: %s", sql, err);
    assert_non_null(out);
    assert_string_equal(expected, out);
    free(out);
    return count;
}

static void test_layer_and_schema_names(void **state)
{
    (void)state;
    char schema[SQLREF_SCHEMA_MAX];
    sqlref_schema_name(SQLREF_SILVER, "demo", schema);
    assert_string_equal("silver_demo", schema);
    sqlref_schema_name(SQLREF_GOLD, "air", schema);
    assert_string_equal("gold_air", schema);
    assert_string_equal("bronze", sqlref_layer_name(SQLREF_BRONZE));
    assert_string_equal("silver", sqlref_layer_name(SQLREF_SILVER));
    assert_string_equal("gold", sqlref_layer_name(SQLREF_GOLD));
}

static void test_simple_reference(void **state)
{
    (void)state;
    struct sqlref *refs = NULL;
    size_t n = rewrite_ok("SELECT origin, count(*) FROM demo.silver.flights GROUP BY origin",
                          "SELECT origin, count(*) FROM \"silver_demo\".\"flights\" GROUP BY origin",
                          &refs);
    assert_int_equal(1, n);
    assert_string_equal("demo", refs[0].domain);
    assert_int_equal(SQLREF_SILVER, refs[0].layer);
    assert_string_equal("flights", refs[0].table);
    free(refs);
}

static void test_several_references_dedup_in_order(void **state)
{
    (void)state;
    struct sqlref *refs = NULL;
    size_t n = rewrite_ok(
        "SELECT * FROM air.gold.a JOIN demo.silver.f ON a.x = f.x\n"
        "WHERE f.y IN (SELECT y FROM air.gold.a) UNION SELECT * FROM demo.silver.f",
        "SELECT * FROM \"gold_air\".\"a\" JOIN \"silver_demo\".\"f\" ON a.x = f.x\n"
        "WHERE f.y IN (SELECT y FROM \"gold_air\".\"a\") UNION SELECT * FROM \"silver_demo\".\"f\"",
        &refs);
    assert_int_equal(2, n);
    assert_string_equal("air", refs[0].domain);
    assert_int_equal(SQLREF_GOLD, refs[0].layer);
    assert_string_equal("a", refs[0].table);
    assert_string_equal("demo", refs[1].domain);
    assert_int_equal(SQLREF_SILVER, refs[1].layer);
    assert_string_equal("f", refs[1].table);
    free(refs);
}

static void test_same_table_other_layer_is_distinct(void **state)
{
    (void)state;
    struct sqlref *refs = NULL;
    size_t n = rewrite_ok("SELECT * FROM d.silver.t, d.gold.t, d.bronze.t",
                          "SELECT * FROM \"silver_d\".\"t\", \"gold_d\".\"t\", \"bronze_d\".\"t\"",
                          &refs);
    assert_int_equal(3, n);
    assert_int_equal(SQLREF_BRONZE, refs[2].layer);
    free(refs);
}

static void test_literals_comments_quoted_untouched(void **state)
{
    (void)state;
    struct sqlref *refs = NULL;
    const char *sql = "SELECT 'demo.silver.flights', 'it''s demo.gold.x' AS \"demo.silver.y\",\n"
                      "  `demo.silver.z`, [demo.gold.w] -- demo.silver.comment\n"
                      "/* demo.gold.block\n comment */ FROM demo.silver.real";
    const char *exp = "SELECT 'demo.silver.flights', 'it''s demo.gold.x' AS \"demo.silver.y\",\n"
                      "  `demo.silver.z`, [demo.gold.w] -- demo.silver.comment\n"
                      "/* demo.gold.block\n comment */ FROM \"silver_demo\".\"real\"";
    size_t n = rewrite_ok(sql, exp, &refs);
    assert_int_equal(1, n);
    assert_string_equal("real", refs[0].table);
    free(refs);
}

static void test_quoted_parts(void **state)
{
    (void)state;
    struct sqlref *refs = NULL;
    size_t n = rewrite_ok("SELECT * FROM \"demo\".\"silver\".\"flights\" JOIN \"demo\".gold.x",
                          "SELECT * FROM \"silver_demo\".\"flights\" JOIN \"gold_demo\".\"x\"",
                          &refs);
    assert_int_equal(2, n);
    free(refs);
    /* layer names are matched without regard to case */
    n = rewrite_ok("SELECT * FROM demo.SILVER.flights", "SELECT * FROM \"silver_demo\".\"flights\"",
                   NULL);
    assert_int_equal(1, n);
}

static void test_column_suffix_and_non_references(void **state)
{
    (void)state;
    /* a four-part name is schema.table.column after the rewrite */
    size_t n = rewrite_ok("SELECT demo.silver.f.origin FROM demo.silver.f",
                          "SELECT \"silver_demo\".\"f\".origin FROM \"silver_demo\".\"f\"", NULL);
    assert_int_equal(1, n);
    /* two-part names, middle parts that are not layers, x.demo.silver.t */
    n = rewrite_ok("SELECT t.silver, a.b.c, x.demo.silver.t, 1.5, silver.gold FROM t",
                   "SELECT t.silver, a.b.c, x.demo.silver.t, 1.5, silver.gold FROM t", NULL);
    assert_int_equal(0, n);
    /* blanks break a reference: only the exact form is rewritten */
    n = rewrite_ok("SELECT * FROM demo . silver . f", "SELECT * FROM demo . silver . f", NULL);
    assert_int_equal(0, n);
    /* identifiers that merely contain a layer name */
    n = rewrite_ok("SELECT demo.silverware.t, mysilver.gold_x FROM t",
                   "SELECT demo.silverware.t, mysilver.gold_x FROM t", NULL);
    assert_int_equal(0, n);
    /* parameters and numbers */
    n = rewrite_ok("SELECT :demo, ?1, 1e5, 0x1F FROM demo.gold.g",
                   "SELECT :demo, ?1, 1e5, 0x1F FROM \"gold_demo\".\"g\"", NULL);
    assert_int_equal(1, n);
}

static void test_no_references(void **state)
{
    (void)state;
    struct sqlref *refs = (struct sqlref *)0x1;
    size_t n = rewrite_ok("SELECT 1", "SELECT 1", &refs);
    assert_int_equal(0, n);
    free(refs); /* NULL or an empty allocation */
    n = rewrite_ok("", "", NULL);
    assert_int_equal(0, n);
}

static void test_unterminated_tokens_copied(void **state)
{
    (void)state;
    rewrite_ok("SELECT 'demo.silver.x", "SELECT 'demo.silver.x", NULL);
    rewrite_ok("SELECT \"demo.silver.x", "SELECT \"demo.silver.x", NULL);
    rewrite_ok("SELECT 1 /* demo.silver.x", "SELECT 1 /* demo.silver.x", NULL);
    rewrite_ok("SELECT 1 -- demo.silver.x", "SELECT 1 -- demo.silver.x", NULL);
}

static void expect_invalid(const char *sql, const char *fragment)
{
    char err[ERROR_MAX] = "";
    char *out = (char *)0x1;
    struct sqlref *refs = (struct sqlref *)0x1;
    size_t count = 7;
    assert_int_equal(-1, sqlref_rewrite(sql, &out, &refs, &count, err));
    assert_null(out);
    assert_null(refs);
    assert_int_equal(0, count);
    if (strstr(err, fragment) == NULL)
        fail_msg("error for '%s' is '%s', expected it to contain '%s'", sql, err, fragment);
}

static void test_invalid_parts(void **state)
{
    (void)state;
    expect_invalid("SELECT * FROM Demo.silver.flights", "'Demo.silver.flights'");
    expect_invalid("SELECT * FROM Demo.silver.flights", "invalid domain name 'Demo'");
    expect_invalid("SELECT * FROM demo.silver.Flights", "invalid table name 'Flights'");
    expect_invalid("SELECT * FROM \"my demo\".silver.t", "invalid domain name 'my demo'");
    expect_invalid("SELECT * FROM demo.gold.\"a-b\"", "invalid table name 'a-b'");
    expect_invalid("SELECT * FROM demo.gold.sqlite_master", "reserved");
    expect_invalid("SELECT * FROM demo.silver._snapshots", "'demo.silver._snapshots'");
    expect_invalid("SELECT * FROM demo.silver."
                   "t234567890123456789012345678901234567890123456789012345678901234",
                   "longer than 63");
}

static void test_rewrite_main(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    char *out = NULL;
    struct sqlref *refs = NULL;
    size_t n = 0;
    assert_int_equal(0, sqlref_rewrite_main("SELECT * FROM demo.gold.a JOIN air.gold.a "
                                            "JOIN demo.silver.a",
                                            SQLREF_GOLD, "demo", &out, &refs, &n, err));
    assert_string_equal("SELECT * FROM \"main\".\"a\" JOIN \"gold_air\".\"a\" "
                        "JOIN \"silver_demo\".\"a\"",
                        out);
    assert_int_equal(3, n);
    assert_string_equal("demo", refs[0].domain); /* refs keep the real names */
    assert_int_equal(SQLREF_GOLD, refs[0].layer);
    free(out);
    free(refs);
}

/* sqlref_at_fn that writes the form it was given as text, e.g. "[t:changes 3..7]". */
static int describe_at(void *arg, const struct sqlref *ref, const struct sqlref_at *at,
                       char **text, char err[ERROR_MAX])
{
    (void)arg;
    (void)err;
    static const char *const kinds[] = {"snapshot", "time", "changes", "scd2", "expectations"};
    char buf[160];
    snprintf(buf, sizeof buf, "[%s:%s %lld..%lld %s]", ref->table, kinds[at->kind],
             (long long)at->snapshot, (long long)at->to, at->time);
    *text = strdup(buf);
    return 0;
}

static void test_history_suffixes(void **state)
{
    (void)state;
    char err[ERROR_MAX] = "";
    char *out = NULL;
    assert_int_equal(0, sqlref_rewrite_at("SELECT * FROM d.silver.t@42, d.silver.u@'2026-01-02' "
                                          "JOIN d.silver.v@changes(3,7) JOIN d.silver.w@scd2 "
                                          "JOIN d.silver.x@expectations AS e",
                                          describe_at, NULL, &out, NULL, NULL, err));
    assert_string_equal("SELECT * FROM [t:snapshot 42..0 ], [u:time 0..0 2026-01-02] "
                        "JOIN [v:changes 3..7 ] JOIN [w:scd2 0..0 ] "
                        "JOIN [x:expectations 0..0 ] AS e",
                        out);
    free(out);
    out = NULL;
    /* a longer word is not the form */
    assert_int_not_equal(0, sqlref_rewrite_at("SELECT * FROM d.silver.t@expectationsx",
                                              describe_at, NULL, &out, NULL, NULL, err));
    assert_non_null(strstr(err, "@expectations"));
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_and_schema_names),
        cmocka_unit_test(test_simple_reference),
        cmocka_unit_test(test_several_references_dedup_in_order),
        cmocka_unit_test(test_same_table_other_layer_is_distinct),
        cmocka_unit_test(test_literals_comments_quoted_untouched),
        cmocka_unit_test(test_quoted_parts),
        cmocka_unit_test(test_column_suffix_and_non_references),
        cmocka_unit_test(test_no_references),
        cmocka_unit_test(test_unterminated_tokens_copied),
        cmocka_unit_test(test_invalid_parts),
        cmocka_unit_test(test_rewrite_main),
        cmocka_unit_test(test_history_suffixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

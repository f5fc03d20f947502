/* test_model.c - unit tests of the concept-file compiler (model.h): parsing
 * with positions (YAML and JSON), every refusal of model_check at its
 * file:line:column, and the plan of the TPC-H concept file compared byte for
 * byte with tests/data/tpch/tpch.plan and, --profile full, tpch.full.plan
 * (regenerate them with `lakehouse model plan tests/data/tpch/tpch.yaml
 * [--profile full] --out -` over the endpoints of
 * the tests/data/tpch endpoint files when the generation changes on purpose). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "fsutil.h"
#include "model.h"

/* tests/data/tpch, found from this file's path (the tests run from the
 * repository root) unless LAKEHOUSE_SOURCE says where the repository is. */
static void data_path(const char *name, char out[512])
{
    const char *root = getenv("LAKEHOUSE_SOURCE");
    if (root != NULL)
        snprintf(out, 512, "%s/tests/data/tpch/%s", root, name);
    else
        snprintf(out, 512, "%.*sdata/tpch/%s",
                 (int)(strlen(__FILE__) - strlen("unit/test_model.c")), __FILE__, name);
}

static int tpch_schema(void *arg, const char *domain, const char *table, struct schema **out,
                       char err[ERROR_MAX])
{
    (void)arg;
    *out = NULL;
    if (strcmp(domain, "tpch") != 0)
        return 0;
    char path[512];
    char file[NAMES_MAX + 8];
    snprintf(file, sizeof file, "%s.json", table);
    data_path(file, path);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (j == NULL)
        return 0;
    *out = schema_from_json(j, err);
    json_decref(j);
    return *out != NULL ? 1 : -1;
}

static struct model *parse_ok(const char *text)
{
    struct model *m = NULL;
    char err[ERROR_MAX] = "";
    if (model_parse(text, strlen(text), "t.yaml", &m, err) != 0)
        fail_msg("parse failed: %s\n--- text:\n%s", err, text);
    return m;
}

static void expect_parse_error(const char *text, const char *where, const char *fragment)
{
    struct model *m = NULL;
    char err[ERROR_MAX] = "";
    assert_int_equal(-1, model_parse(text, strlen(text), "t.yaml", &m, err));
    assert_null(m);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t.yaml:%s: ", where);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, fragment) == NULL)
        fail_msg("error is '%s', expected '%s...%s'", err, prefix, fragment);
}

/* Check text; the problems must hold a line "t.yaml:<where>: ...fragment...". */
static void expect_refusal(const char *text, const char *where, const char *fragment)
{
    struct model *m = parse_ok(text);
    struct strbuf problems = {0};
    char err[ERROR_MAX] = "";
    int n = model_check(m, tpch_schema, NULL, &problems, err);
    if (n <= 0)
        fail_msg("check accepted (%d, %s):\n%s", n, err, text);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t.yaml:%s: ", where);
    bool found = false;
    for (const char *line = problems.s; line != NULL && *line != '\0' && !found;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        char one[ERROR_MAX * 2];
        snprintf(one, sizeof one, "%.*s", (int)len, line);
        found = strncmp(one, prefix, strlen(prefix)) == 0 && strstr(one, fragment) != NULL;
        line = nl != NULL ? nl + 1 : NULL;
    }
    if (!found)
        fail_msg("no problem '%s...%s' in:\n%s", prefix, fragment, problems.s);
    strbuf_free(&problems);
    model_free(&m);
}

static void expect_valid(const char *text)
{
    struct model *m = parse_ok(text);
    struct strbuf problems = {0};
    char err[ERROR_MAX] = "";
    int n = model_check(m, tpch_schema, NULL, &problems, err);
    if (n != 0)
        fail_msg("check refused (%d, %s):\n%s", n, err, problems.s ? problems.s : "");
    strbuf_free(&problems);
    model_free(&m);
}

/* A small valid model; the tests change one line of it. Lines:
 * 1 model, 2 source, 3 concepts, 4-6 concept entries, 7 keysets, 8 bags,
 * 9-10 customer, 11-14 orders. */
#define BASE_HEAD                                                                                  \
    "model: shop\n"                                                                                \
    "source: tpch\n"                                                                               \
    "concepts:\n"                                                                                  \
    "  customer: {type: core, definition: \"A buyer\"}\n"                                          \
    "  order: {type: core}\n"                                                                      \
    "  nation: {type: reference}\n"                                                                \
    "keysets: {tpch.customer: customer, tpch.order: order, tpch.nation: nation}\n"                 \
    "bags:\n"
#define BAG_CUSTOMER                                                                               \
    "  - {table: customer, prefix: customer, strip: c_, primary: hook__customer,\n"                \
    "     hooks: {hook__customer: c_custkey, hook__nation__customer: c_nationkey}}\n"
#define BAG_ORDERS                                                                                 \
    "  - {table: orders, prefix: order, strip: o_, primary: hook__order,\n"                        \
    "     hooks: {hook__order: o_orderkey, hook__customer: o_custkey},\n"                          \
    "     events: {placed: o_orderdate},\n"                                                        \
    "     measures: {total_price: {expr: o_totalprice, event: placed}}}\n"

static void test_parse_positions(void **state)
{
    (void)state;
    struct model *m = parse_ok(BASE_HEAD BAG_CUSTOMER BAG_ORDERS);
    assert_string_equal("shop", m->name);
    assert_int_equal(3, m->nconcepts);
    assert_string_equal("A buyer", m->concepts[0].definition);
    assert_int_equal(2, m->nbags);
    assert_int_equal(9, m->bags[0].table_pos.line);
    assert_int_equal(13, m->bags[0].table_pos.column);
    assert_int_equal(12, m->bags[1].hooks[1].pos.line);
    assert_int_equal(39, m->bags[1].hooks[1].pos.column);
    assert_string_equal("customer", m->bags[1].hooks[1].concept);
    assert_string_equal("customer", m->bags[0].hooks[1].role);
    assert_string_equal("nation", m->bags[0].hooks[1].concept);
    assert_string_equal("uss_bridge", m->bridge); /* default */
    model_free(&m);
}

static void test_parse_json_form(void **state)
{
    (void)state;
    const char *json =
        "{\"model\": \"shop\", \"source\": \"tpch\",\n"
        " \"concepts\": {\"customer\": {\"type\": \"core\"}, \"nation\": {}},\n"
        " \"keysets\": {\"tpch.customer\": \"customer\", \"tpch.nation\": \"nation\"},\n"
        " \"bags\": [{\"table\": \"customer\", \"primary\": \"hook__customer\",\n"
        "   \"hooks\": {\"hook__customer\": \"c_custkey\", \"hook__nation\": [\"c_nationkey\"]}}]}\n";
    struct model *m = parse_ok(json);
    assert_int_equal(1, m->nbags);
    assert_int_equal(2, m->bags[0].nhooks);
    assert_int_equal(5, m->bags[0].hooks[1].pos.line);
    assert_string_equal("customer", m->bags[0].prefix); /* default: the table */
    model_free(&m);
    expect_valid(json);
    /* not JSON: jansson's position */
    expect_parse_error("{\"model\": \"shop\",\n \"source\": }\n", "2:12", "not valid JSON");
}

static void test_parse_refusals(void **state)
{
    (void)state;
    expect_parse_error("model: shop\nsource: tpch\ncolour: red\n", "3:1", "unknown key 'colour'");
    expect_parse_error("model: Shop\nsource: tpch\n", "1:8", "invalid model name");
    expect_parse_error("model: shop\nsource: tpch\nbags:\n  - {table: customer, hooks: {customer: c_custkey}}\n",
                       "4:31", "must be named hook__<concept>");
    expect_parse_error("model: shop\nsource: tpch\nbags: [{table: a, table: b}]\n", "3:19",
                       "'table' is repeated");
    expect_parse_error("model: shop\nsource: tpch\nkeysets: {customer: customer}\n", "3:11",
                       "must be <source>.<name>");
    expect_parse_error("model: shop\n", "1:1", "needs 'source");
    expect_parse_error("model: [shop\n", "2:1", "");
}

static void test_valid_base(void **state)
{
    (void)state;
    expect_valid(BASE_HEAD BAG_CUSTOMER BAG_ORDERS);
}

static void test_refuse_unknown_table_and_column(void **state)
{
    (void)state;
    expect_refusal(BASE_HEAD "  - {table: client, primary: hook__customer, hooks: {hook__customer: c_custkey}}\n",
                   "9:13", "unknown table tpch.client");
    expect_refusal(BASE_HEAD "  - {table: customer, primary: hook__customer, hooks: {hook__customer: c_id}}\n",
                   "9:72", "unknown column c_id");
}

static void test_refuse_primary(void **state)
{
    (void)state;
    expect_refusal(BASE_HEAD "  - {table: customer, hooks: {hook__customer: c_custkey}}\n", "9:5",
                   "has no primary hook");
    expect_refusal(BASE_HEAD "  - {table: customer, primary: hook__client, hooks: {hook__customer: c_custkey}}\n",
                   "9:32", "is not one of its hooks");
    /* a keyset that is the primary of two bags */
    expect_refusal(BASE_HEAD BAG_CUSTOMER
                   "  - {table: orders, primary: hook__customer, hooks: {hook__customer: o_custkey}}\n",
                   "11:30", "keyset tpch.customer is the primary of bags customer and orders");
}

static void test_refuse_keyset_concept(void **state)
{
    (void)state;
    expect_refusal(BASE_HEAD "  - {table: customer, primary: hook__customer,\n"
                             "     hooks: {hook__customer: {keyset: tpch.order, key: c_custkey}}}\n",
                   "10:39", "differs from keyset tpch.order's concept 'order'");
    expect_refusal(BASE_HEAD "  - {table: customer, primary: hook__customer, hooks: {hook__customer: c_custkey,"
                             " hook__part: c_nationkey}}\n",
                   "9:83", "unknown concept 'part'");
}

static void test_refuse_cycle(void **state)
{
    (void)state;
    /* customer -> nation -> customer; a self-reference is no cycle */
    expect_refusal(BASE_HEAD BAG_CUSTOMER
                   "  - {table: nation, primary: hook__nation,\n"
                   "     hooks: {hook__nation: n_nationkey, hook__customer: n_regionkey}}\n",
                   "12:41", "reference cycle: customer -> nation -> customer");
    expect_valid(BASE_HEAD "  - {table: customer, primary: hook__customer,\n"
                           "     hooks: {hook__customer: c_custkey, hook__customer__referrer: c_nationkey}}\n");
}

static void test_refuse_events_and_measures(void **state)
{
    (void)state;
    expect_refusal(BASE_HEAD BAG_CUSTOMER
                   "  - {table: orders, primary: hook__order, hooks: {hook__order: o_orderkey},\n"
                   "     events: {placed: o_orderstatus}}\n",
                   "12:23", "column o_orderstatus is string, not a date or timestamp");
    expect_refusal(BASE_HEAD BAG_CUSTOMER
                   "  - {table: orders, primary: hook__order, hooks: {hook__order: o_orderkey},\n"
                   "     events: {placed: o_orderdate},\n"
                   "     measures: {total: {expr: o_totalprice, event: shipped}}}\n",
                   "13:52", "event 'shipped' is not an event of bag orders");
    expect_refusal(BASE_HEAD BAG_CUSTOMER
                   "  - {table: orders, primary: hook__order, hooks: {hook__order: o_orderkey},\n"
                   "     events: {placed: o_orderdate},\n"
                   "     measures: {total: {expr: o_totalprise * 2, event: placed}}}\n",
                   "13:31", "expression does not prepare against tpch.orders");
    expect_refusal(BASE_HEAD BAG_CUSTOMER
                   "  - {table: orders, primary: hook__order, hooks: {hook__order: o_orderkey},\n"
                   "     events: {placed: o_orderdate},\n"
                   "     measures: {total: {expr: \"o_totalprice), (1\", event: placed}}}\n",
                   "13:31", "must be one expression");
    expect_refusal(BASE_HEAD BAG_CUSTOMER
                   "  - {table: orders, primary: hook__order, hooks: {hook__order: o_orderkey},\n"
                   "     events: {placed: o_orderdate},\n"
                   "     measures: {total: {expr: \"o_totalprice) FROM orders --\", event: placed}}}\n",
                   "13:31", "must be one expression");
}

static void test_refuse_long_names(void **state)
{
    (void)state;
    expect_refusal(BASE_HEAD "  - {table: customer, primary: hook__customer,\n"
                             "     prefix: a_very_long_prefix_for_the_customer_bag_which_is_too_long,\n"
                             "     hooks: {hook__customer: c_custkey}}\n",
                   "10:14", "longer than 63 characters");
}

static void test_refuse_ambiguous_inheritance(void **state)
{
    (void)state;
    /* orders gets hook__nation from customer and from supplier: two parents
     * with no role tell them apart */
    const char *text =
        "model: shop\nsource: tpch\n"
        "concepts: {customer: {}, order: {}, nation: {}, supplier: {}}\n"
        "keysets: {tpch.customer: customer, tpch.order: order, tpch.nation: nation,"
        " tpch.supplier: supplier, crm.nation: nation}\n"
        "bags:\n"
        "  - {table: customer, primary: hook__customer,\n"
        "     hooks: {hook__customer: c_custkey, hook__nation: {keyset: tpch.nation, key: c_nationkey}}}\n"
        "  - {table: supplier, primary: hook__supplier,\n"
        "     hooks: {hook__supplier: s_suppkey, hook__nation: {keyset: crm.nation, key: s_nationkey}}}\n"
        "  - {table: nation, primary: hook__nation, hooks: {hook__nation: {keyset: tpch.nation, key: n_nationkey}}}\n"
        "  - {table: region, primary: hook__nation, hooks: {hook__nation: {keyset: crm.nation, key: r_regionkey}}}\n"
        "  - {table: orders, primary: hook__order,\n"
        "     hooks: {hook__order: o_orderkey, hook__customer: o_custkey, hook__supplier: o_shippriority}}\n";
    expect_refusal(text, "13:66", "hook__nation is reached through hook__supplier from supplier");
}

static void test_diamond_accepted(void **state)
{
    (void)state;
    /* lineitem -> part directly and through partsupp: one parent and role */
    struct model *m = NULL;
    char path[512], err[ERROR_MAX] = "";
    char *text = NULL;
    size_t len = 0;
    data_path("tpch.yaml", path);
    assert_int_equal(0, fsutil_read_file(path, 1 << 20, &text, &len, err));
    assert_int_equal(0, model_parse(text, len, "tpch.yaml", &m, err));
    struct strbuf problems = {0};
    assert_int_equal(0, model_check(m, tpch_schema, NULL, &problems, err));
    const struct model_bag *li = &m->bags[7];
    assert_string_equal("lineitem", li->table);
    bool diamond = false;
    for (size_t i = 0; i < li->nstage; i++)
        if (strcmp(li->stage[i].name, "hook__part") == 0)
            diamond = li->stage[i].nsources == 2;
    assert_true(diamond);
    strbuf_free(&problems);
    model_free(&m);
    free(text);
}

static void plan_golden(enum model_profile profile, const char *golden_file)
{
    char path[512], err[ERROR_MAX] = "";
    char *text = NULL, *golden = NULL;
    size_t len = 0, glen = 0;
    data_path("tpch.yaml", path);
    assert_int_equal(0, fsutil_read_file(path, 1 << 20, &text, &len, err));
    data_path(golden_file, path);
    assert_int_equal(0, fsutil_read_file(path, 1 << 22, &golden, &glen, err));
    struct model *m = NULL;
    assert_int_equal(0, model_parse(text, len, "tpch.yaml", &m, err));
    struct strbuf problems = {0};
    assert_int_equal(0, model_check(m, tpch_schema, NULL, &problems, err));
    struct model_job *jobs = NULL;
    size_t count = 0;
    assert_int_equal(0, model_generate(m, profile, &jobs, &count, err));
    assert_int_equal(26, count);
    char *plan = model_plan_text(jobs, count);
    if (strcmp(plan, golden) != 0) {
        size_t i = 0;
        while (plan[i] != '\0' && plan[i] == golden[i])
            i++;
        fail_msg("plan differs from tests/data/tpch/%s at byte %zu: '%.60s' vs '%.60s'",
                 golden_file, i, plan + i, golden + i);
    }
    /* every job is managed by the model and parses as a job */
    for (size_t i = 0; i < count; i++)
        assert_string_equal("tpch", jobs[i].def.model);
    /* full: every job an overwrite; incremental: the bags, the bridge stages,
     * the event rows and the union are upserts, the calendar a rebuild */
    bool incr = profile == MODEL_PROFILE_INCREMENTAL;
    assert_int_equal(incr, jobs[2].def.incremental);
    assert_int_equal(incr, jobs[8].def.incremental);
    assert_int_equal(incr, jobs[16].def.incremental);
    assert_int_equal(incr, jobs[18].def.incremental);
    assert_string_equal("calendar", jobs[19].def.name);
    assert_int_equal(false, jobs[19].def.incremental);
    /* incremental: the facts are upserts on their bag's hook */
    assert_string_equal("fct_lineitem", jobs[24].def.name);
    assert_int_equal(incr, jobs[24].def.incremental);
    assert_int_equal(incr, jobs[25].def.incremental);
    /* incremental: the calendar's span is two seeks on the union's date index */
    assert_string_equal(incr ? "hook__epoch__date" : "", jobs[18].def.index);
    assert_int_equal(incr, strstr(jobs[19].text, "(SELECT min(hook__epoch__date) FROM") != NULL);
    if (profile == MODEL_PROFILE_FULL)
        assert_string_equal("hook__customer", jobs[2].def.index);
    char *docs = model_docs(m, "mermaid", err);
    assert_non_null(docs);
    assert_non_null(strstr(docs, "lineitem }o--|| partsupp : \"hook__partsupp\""));
    free(docs);
    assert_null(model_docs(m, "html", err));
    /* the four diamonds of lineitem: one agreement query each */
    char *diamonds = model_diamond_sql(m, err);
    assert_non_null(diamonds);
    size_t n = 0;
    for (const char *p = diamonds; (p = strstr(p, "SELECT 'lineitem'")) != NULL; p++)
        n++;
    assert_int_equal(4, n);
    assert_non_null(strstr(diamonds, "'hook__part' AS hook"));
    free(diamonds);
    free(plan);
    model_jobs_free(jobs, count);
    strbuf_free(&problems);
    model_free(&m);
    free(text);
    free(golden);
}

static void test_plan_golden(void **state)
{
    (void)state;
    plan_golden(MODEL_PROFILE_INCREMENTAL, "tpch.plan");
}

static void test_plan_golden_full(void **state)
{
    (void)state;
    plan_golden(MODEL_PROFILE_FULL, "tpch.full.plan");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_positions),
        cmocka_unit_test(test_parse_json_form),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_valid_base),
        cmocka_unit_test(test_refuse_unknown_table_and_column),
        cmocka_unit_test(test_refuse_primary),
        cmocka_unit_test(test_refuse_keyset_concept),
        cmocka_unit_test(test_refuse_cycle),
        cmocka_unit_test(test_refuse_events_and_measures),
        cmocka_unit_test(test_refuse_long_names),
        cmocka_unit_test(test_refuse_ambiguous_inheritance),
        cmocka_unit_test(test_diamond_accepted),
        cmocka_unit_test(test_plan_golden),
        cmocka_unit_test(test_plan_golden_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_transformer_schedule.c - the order of runs (transformer/schedule.c,
 * jobs.c), pure logic: a job table built in memory, runs simulated (each
 * "run" records what it read, commits a new snapshot, queues its downstream
 * jobs and later sees the echo of its own gold.committed, as the poll loop
 * does). One silver commit must run each job downstream of it exactly once,
 * after every job upstream of it, whatever the table order and whenever the
 * echoes arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transformer.h"

#define SPEC_INPUTS 8
#define SIM_MAX 64

/* One job: "domain.name" and what it reads ("domain.layer.table"). */
struct spec {
    const char *job;
    const char *inputs[SPEC_INPUTS];
};

/* The DAG the TPC-H concept file generates (tests/data/tpch/tpch.plan). */
static const struct spec tpch[] = {
    {"tpch_dab.bag__region", {"tpch.silver.region"}},
    {"tpch_dab.bag__nation", {"tpch.silver.nation"}},
    {"tpch_dab.bag__customer", {"tpch.silver.customer"}},
    {"tpch_dab.bag__supplier", {"tpch.silver.supplier"}},
    {"tpch_dab.bag__part", {"tpch.silver.part"}},
    {"tpch_dab.bag__partsupp", {"tpch.silver.partsupp"}},
    {"tpch_dab.bag__orders", {"tpch.silver.orders"}},
    {"tpch_dab.bag__lineitem", {"tpch.silver.lineitem"}},
    {"tpch_dar.bridge__region", {"tpch_dab.gold.bag__region"}},
    {"tpch_dar.bridge__nation", {"tpch_dab.gold.bag__nation"}},
    {"tpch_dar.bridge__customer", {"tpch_dab.gold.bag__customer", "tpch_dar.gold.bridge__nation"}},
    {"tpch_dar.bridge__supplier", {"tpch_dab.gold.bag__supplier", "tpch_dar.gold.bridge__nation"}},
    {"tpch_dar.bridge__part", {"tpch_dab.gold.bag__part"}},
    {"tpch_dar.bridge__partsupp",
     {"tpch_dab.gold.bag__partsupp", "tpch_dar.gold.bridge__supplier"}},
    {"tpch_dar.bridge__orders", {"tpch_dab.gold.bag__orders", "tpch_dar.gold.bridge__customer"}},
    {"tpch_dar.bridge__lineitem",
     {"tpch_dab.gold.bag__lineitem", "tpch_dar.gold.bridge__orders",
      "tpch_dar.gold.bridge__partsupp", "tpch_dar.gold.bridge__supplier"}},
    {"tpch_dar.events__orders", {"tpch.silver.orders", "tpch_dar.gold.bridge__orders"}},
    {"tpch_dar.events__lineitem", {"tpch.silver.lineitem", "tpch_dar.gold.bridge__lineitem"}},
    {"tpch_dar.uss_bridge",
     {"tpch_dar.gold.bridge__customer", "tpch_dar.gold.bridge__nation",
      "tpch_dar.gold.bridge__part", "tpch_dar.gold.bridge__partsupp",
      "tpch_dar.gold.bridge__region", "tpch_dar.gold.bridge__supplier",
      "tpch_dar.gold.events__lineitem", "tpch_dar.gold.events__orders"}},
    {"tpch_dar.calendar", {"tpch_dar.gold.uss_bridge"}},
    {"tpch_kimball.dim_customer", {"tpch.silver.customer", "tpch_dab.gold.bag__nation"}},
    {"tpch_kimball.dim_nation", {"tpch_dab.gold.bag__nation", "tpch_dab.gold.bag__region"}},
    {"tpch_kimball.dim_part", {"tpch_dab.gold.bag__part"}},
    {"tpch_kimball.dim_supplier", {"tpch_dab.gold.bag__nation", "tpch_dab.gold.bag__supplier"}},
    {"tpch_kimball.fct_orders",
     {"tpch.silver.orders", "tpch_dar.gold.bridge__orders", "tpch_kimball.gold.dim_customer",
      "tpch_kimball.gold.dim_nation"}},
    {"tpch_kimball.fct_lineitem",
     {"tpch.silver.lineitem", "tpch_dar.gold.bridge__lineitem", "tpch_kimball.gold.dim_customer",
      "tpch_kimball.gold.dim_nation", "tpch_kimball.gold.dim_part",
      "tpch_kimball.gold.dim_supplier"}},
};

/* A chain beside a direct edge (a -> b -> c -> d and a -> d) and a diamond
 * (a -> e, a -> f, e -> g, f -> g), downstream jobs listed first. */
static const struct spec shapes[] = {
    {"w.g", {"w.gold.e", "w.gold.f"}},
    {"w.d", {"w.gold.c", "w.gold.a"}},
    {"w.c", {"w.gold.b"}},
    {"w.f", {"w.gold.a"}},
    {"w.e", {"w.gold.a"}},
    {"w.b", {"w.gold.a"}},
    {"w.a", {"w.silver.src"}},
};

static void split_name(const char *text, char domain[NAMES_MAX], char name[NAMES_MAX])
{
    const char *dot = strchr(text, '.');
    assert_non_null(dot);
    snprintf(domain, NAMES_MAX, "%.*s", (int)(dot - text), text);
    snprintf(name, NAMES_MAX, "%s", dot + 1);
}

static void parse_ref(const char *text, struct sqlref *ref)
{
    char layer[NAMES_MAX];
    assert_int_equal(sscanf(text, "%63[^.].%63[^.].%63s", ref->domain, layer, ref->table), 3);
    ref->layer = strcmp(layer, "gold") == 0 ? SQLREF_GOLD : SQLREF_SILVER;
}

/* The job table of specs (reversed: in the opposite order). */
static void build(struct transformer_ctx *ctx, const struct spec *specs, size_t n, bool reversed)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->jobs.items = calloc(n, sizeof *ctx->jobs.items);
    assert_non_null(ctx->jobs.items);
    ctx->jobs.count = n;
    ctx->jobs.loaded = true;
    for (size_t i = 0; i < n; i++) {
        const struct spec *s = &specs[reversed ? n - 1 - i : i];
        struct tjob *job = &ctx->jobs.items[i];
        split_name(s->job, job->def.domain, job->def.name);
        job->def.schedule = JOB_SCHEDULE_DEPENDENCY;
        job->valid = true;
        job->inputs = calloc(SPEC_INPUTS, sizeof *job->inputs);
        assert_non_null(job->inputs);
        while (job->input_count < SPEC_INPUTS && s->inputs[job->input_count] != NULL) {
            parse_ref(s->inputs[job->input_count], &job->inputs[job->input_count]);
            job->input_count++;
        }
    }
}

/* The simulated data: the latest snapshot of each job's gold table, the
 * runs of each job, and the echoes (gold.committed) not yet delivered. */
struct sim {
    struct transformer_ctx ctx;
    int64_t gold[SIM_MAX];
    int runs[SIM_MAX];
    int64_t next_snapshot;
    size_t run_count;
    size_t echo_delay;          /* runs between a commit and its echo */
    size_t echo_job[SIM_MAX * 4];
    int64_t echo_snapshot[SIM_MAX * 4];
    size_t echo_due[SIM_MAX * 4];
    size_t echoes;
};

static size_t sim_index(const struct sim *s, const struct tjob *job)
{
    return (size_t)(job - s->ctx.jobs.items);
}

/* What a run reads: each input's current snapshot (silver ones: 1). */
static json_t *sim_inputs(const struct sim *s, const struct tjob *job)
{
    json_t *read = json_object();
    for (size_t i = 0; i < job->input_count; i++) {
        char key[3 * NAMES_MAX + 8];
        jobs_input_key(&job->inputs[i], key);
        int64_t id = 1;
        if (job->inputs[i].layer == SQLREF_GOLD) {
            struct tjob *up = jobs_find((struct jobs *)&s->ctx.jobs, job->inputs[i].domain,
                                        job->inputs[i].table);
            assert_non_null(up);
            id = s->gold[sim_index(s, up)];
        }
        json_object_set_new(read, key, json_integer(id));
    }
    return read;
}

static void sim_deliver(struct sim *s, bool all)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->echoes; i++) {
        if (all || s->echo_due[i] <= s->run_count) {
            const struct tjob *job = &s->ctx.jobs.items[s->echo_job[i]];
            schedule_table_committed(&s->ctx, job->def.domain, SQLREF_GOLD, job->def.name,
                                     s->echo_snapshot[i]);
        } else {
            s->echo_job[kept] = s->echo_job[i];
            s->echo_snapshot[kept] = s->echo_snapshot[i];
            s->echo_due[kept] = s->echo_due[i];
            kept++;
        }
    }
    s->echoes = kept;
}

/* What schedule_run_next does around run_job, with a successful run. */
static void sim_run(struct sim *s, struct tjob *job)
{
    size_t i = sim_index(s, job);
    job->passed_over = 0;
    job->pending = false;
    job->forced_execution = 0;
    json_decref(job->last_inputs);
    job->last_inputs = sim_inputs(s, job);
    s->runs[i]++;
    s->gold[i] = ++s->next_snapshot;
    s->run_count++;
    assert_true(s->echoes < SIM_MAX * 4);
    s->echo_job[s->echoes] = i;
    s->echo_snapshot[s->echoes] = s->gold[i];
    s->echo_due[s->echoes++] = s->run_count + s->echo_delay;
    schedule_table_committed(&s->ctx, job->def.domain, SQLREF_GOLD, job->def.name, s->gold[i]);
}

/* The poll loop until idle: events read between runs. */
static void sim_until_idle(struct sim *s)
{
    for (size_t guard = 0; guard < 10 * SIM_MAX; guard++) {
        sim_deliver(s, false);
        struct tjob *job = schedule_pick(&s->ctx.jobs);
        if (job == NULL && s->echoes == 0)
            return;
        if (job == NULL)
            sim_deliver(s, true);
        else
            sim_run(s, job);
    }
    fail_msg("the scheduler never became idle");
}

/* Does job read, directly or through other jobs, the silver table? */
static bool downstream_of(struct jobs *jobs, const struct tjob *job, const char *silver)
{
    for (size_t i = 0; i < job->input_count; i++) {
        const struct sqlref *r = &job->inputs[i];
        if (r->layer == SQLREF_SILVER && strcmp(r->table, silver) == 0)
            return true;
        if (r->layer == SQLREF_GOLD && downstream_of(jobs, jobs_find(jobs, r->domain, r->table),
                                                     silver))
            return true;
    }
    return false;
}

/* Every job once, fresh: commit silver, run to idle, then each job
 * downstream of it ran exactly once (the others not at all) and its one run
 * read the final snapshot of every gold input. */
static void check_wave(const struct spec *specs, size_t n, const char *domain, const char *silver,
                       bool reversed, size_t echo_delay)
{
    assert_true(n <= SIM_MAX);
    struct sim *s = calloc(1, sizeof *s);
    assert_non_null(s);
    build(&s->ctx, specs, n, reversed);
    for (size_t i = 0; i < n; i++)
        s->gold[i] = ++s->next_snapshot; /* every table built once before */
    s->echo_delay = echo_delay;
    schedule_table_committed(&s->ctx, domain, SQLREF_SILVER, silver, 2);
    sim_until_idle(s);
    size_t ran = 0;
    for (size_t i = 0; i < n; i++) {
        struct tjob *job = &s->ctx.jobs.items[i];
        int want = downstream_of(&s->ctx.jobs, job, silver) ? 1 : 0;
        if (s->runs[i] != want)
            fail_msg("%s.%s ran %d times after a commit of %s (want %d; reversed=%d delay=%zu)",
                     job->def.domain, job->def.name, s->runs[i], silver, want, reversed,
                     echo_delay);
        if (want == 1) {
            json_t *fresh = sim_inputs(s, job);
            if (!json_equal(fresh, job->last_inputs))
                fail_msg("%s.%s ran before one of its upstream jobs", job->def.domain,
                         job->def.name);
            json_decref(fresh);
        }
        ran += (size_t)want;
    }
    assert_true(ran > 0);
    assert_false(schedule_has_work(&s->ctx));
    jobs_free(&s->ctx.jobs);
    free(s);
}

static void test_tpch_each_silver_table(void **state)
{
    (void)state;
    static const char *tables[] = {"region", "nation", "customer", "supplier",
                                   "part",   "partsupp", "orders", "lineitem"};
    size_t n = sizeof tpch / sizeof tpch[0];
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (size_t delay = 0; delay < 3; delay++) {
            check_wave(tpch, n, "tpch", tables[t], false, delay);
            check_wave(tpch, n, "tpch", tables[t], true, delay);
        }
    }
}

static void test_chain_and_diamond(void **state)
{
    (void)state;
    size_t n = sizeof shapes / sizeof shapes[0];
    for (size_t delay = 0; delay < 3; delay++) {
        check_wave(shapes, n, "w", "src", false, delay);
        check_wave(shapes, n, "w", "src", true, delay);
    }
}

/* Waiting is transitive: g waits on a through the idle e and f. */
static void test_waiting_is_transitive(void **state)
{
    (void)state;
    struct transformer_ctx ctx;
    build(&ctx, shapes, sizeof shapes / sizeof shapes[0], false);
    struct tjob *a = jobs_find(&ctx.jobs, "w", "a"), *d = jobs_find(&ctx.jobs, "w", "d");
    struct tjob *g = jobs_find(&ctx.jobs, "w", "g");
    schedule_queue(d, "dependency");
    assert_ptr_equal(schedule_pick(&ctx.jobs), d);
    schedule_queue(a, "dependency");
    bool waiting[SIM_MAX];
    assert_int_equal(jobs_mark_waiting(&ctx.jobs, waiting), 0);
    for (size_t i = 0; i < ctx.jobs.count; i++)
        assert_int_equal(waiting[i], &ctx.jobs.items[i] != a);
    assert_ptr_equal(schedule_pick(&ctx.jobs), a);
    /* a forced (manual) run of g also waits for a, then goes first */
    g->forced_execution = 7;
    assert_ptr_equal(schedule_pick(&ctx.jobs), a);
    a->pending = false;
    assert_ptr_equal(schedule_pick(&ctx.jobs), g);
    jobs_free(&ctx.jobs);
}

/* Waiting is bounded: a silver commit arriving during every run of w.a queues
 * it again each time; w.b (reading w.a) still runs, once passed over once per
 * job of the table. */
static void test_waiting_does_not_starve(void **state)
{
    (void)state;
    static const struct spec pair[] = {
        {"w.b", {"w.gold.a"}},
        {"w.a", {"w.silver.src"}},
    };
    struct sim *s = calloc(1, sizeof *s);
    assert_non_null(s);
    build(&s->ctx, pair, 2, false);
    struct tjob *a = jobs_find(&s->ctx.jobs, "w", "a"), *b = jobs_find(&s->ctx.jobs, "w", "b");
    schedule_table_committed(&s->ctx, "w", SQLREF_SILVER, "src", 1);
    size_t runs_of_a = 0;
    for (int64_t commit = 2; s->runs[sim_index(s, b)] == 0; commit++) {
        struct tjob *job = schedule_pick(&s->ctx.jobs);
        assert_non_null(job);
        sim_run(s, job);
        if (job == a) {
            runs_of_a++;
            schedule_table_committed(&s->ctx, "w", SQLREF_SILVER, "src", commit);
        }
        assert_true(runs_of_a <= s->ctx.jobs.count + 1);
    }
    assert_true(runs_of_a > 1); /* it did wait while a was wanted */
    jobs_free(&s->ctx.jobs);
    free(s);
}

/* A cycle (refused by the catalog, but a stored table may hold one) still
 * runs: every wanted job waits, the first one goes. */
static void test_cycle_still_runs(void **state)
{
    (void)state;
    static const struct spec cycle[] = {
        {"w.x", {"w.gold.y"}},
        {"w.y", {"w.gold.x"}},
    };
    struct transformer_ctx ctx;
    build(&ctx, cycle, 2, false);
    assert_null(schedule_pick(&ctx.jobs));
    schedule_queue(&ctx.jobs.items[1], "dependency");
    schedule_queue(&ctx.jobs.items[0], "dependency");
    assert_ptr_equal(schedule_pick(&ctx.jobs), &ctx.jobs.items[0]);
    jobs_free(&ctx.jobs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tpch_each_silver_table),
        cmocka_unit_test(test_chain_and_diamond),
        cmocka_unit_test(test_waiting_is_transitive),
        cmocka_unit_test(test_waiting_does_not_starve),
        cmocka_unit_test(test_cycle_still_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ingest_landing.c - unit tests of the drop folder's logic (ingest/
 * landing_*.c, linked from ingest's library): the state database (file rows,
 * the intent of a chunk, settling), recovery of a chunk a crash left in doubt
 * (committed, torn, not written), the queue of names and format detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../ingest/landing_int.h"
#include "../../ingest/spool.h"
#include "bronze.h"
#include "fsutil.h"
#include "layout.h"

struct fixture {
    char dir[64];
    struct landing *l;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    char err[ERROR_MAX];
    snprintf(fx->dir, sizeof fx->dir, "/tmp/lh-landing-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->l = calloc(1, sizeof *fx->l);
    fx->l->ifd = -1;
    snprintf(fx->l->data_dir, sizeof fx->l->data_dir, "%s", fx->dir);
    assert_int_equal(layout_landing_dir(fx->l->root, sizeof fx->l->root, fx->dir, err), 0);
    assert_int_equal(fsutil_mkdirs(fx->l->root, 0750, err), 0);
    fx->l->queue = calloc(LANDING_QUEUE_MAX, sizeof *fx->l->queue);
    if (landing_db_open(fx->l, err) < 0)
        fail_msg("landing_db_open: %s", err);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    sqlite3_close(fx->l->db);
    free(fx->l->queue);
    free(fx->l);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static const struct landing_item item = {"land", "events", "a.ndjson"};
static const char sha[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void begin_file(struct landing *l)
{
    struct landing_file f = {.item = item, .size = 100};
    snprintf(f.sha, sizeof f.sha, "%s", sha);
    char err[ERROR_MAX];
    assert_int_equal(landing_db_begin_file(l, &f, err), 0);
}

/* The file row: 1 and its counts, 0 none. */
static int row(struct landing *l, bool *done, uint64_t counts[3])
{
    char when[64], err[ERROR_MAX];
    int rc = landing_db_get(l, &item, sha, done, counts, when, err);
    assert_true(rc >= 0);
    return rc;
}

static void test_state_rows_and_intent(void **state)
{
    struct fixture *fx = *state;
    struct landing *l = fx->l;
    bool done;
    uint64_t counts[3];
    char err[ERROR_MAX];
    assert_int_equal(row(l, &done, counts), 0);
    begin_file(l);
    begin_file(l); /* again: the row stays as it is */
    assert_int_equal(row(l, &done, counts), 1);
    assert_false(done);
    assert_int_equal(counts[0], 0);

    struct landing_intent in = {.item = item, .spool_before = 10, .spool_after = 20,
                                .rejected_before = 0, .rejected_after = 5, .done_after = 3,
                                .accepted_after = 2, .refused_after = 1};
    snprintf(in.sha, sizeof in.sha, "%s", sha);
    snprintf(in.id, sizeof in.id, "landing-0011223344556677-0");
    snprintf(in.spool, sizeof in.spool, "spool/land/events/x.ndjson");
    snprintf(in.rejected, sizeof in.rejected, "rejected/land/events/2026-01-01.ndjson");
    assert_int_equal(landing_db_put_intent(l, &in, err), 0);
    struct landing_intent back;
    assert_int_equal(landing_db_get_intent(l, &back, err), 1);
    assert_memory_equal(&back.item, &in.item, sizeof in.item);
    assert_string_equal(back.id, in.id);
    assert_string_equal(back.spool, in.spool);
    assert_string_equal(back.rejected, in.rejected);
    assert_int_equal(back.spool_after, 20);
    assert_int_equal(back.refused_after, 1);

    assert_int_equal(landing_db_settle(l, &item, sha, 3, 2, 1, err), 0);
    assert_int_equal(landing_db_get_intent(l, &back, err), 0);
    assert_int_equal(row(l, &done, counts), 1);
    assert_int_equal(counts[0], 3);
    assert_int_equal(counts[1], 2);
    assert_int_equal(counts[2], 1);
}

/* A spool file holding `before` then `chunk`; an intent for the chunk. */
static void crash_with(struct fixture *fx, const char *before, const char *chunk,
                       int64_t chunk_len, const char *id)
{
    char err[ERROR_MAX], dir[PATH_MAX], path[PATH_MAX];
    assert_int_equal(layout_spool_dir(dir, sizeof dir, fx->dir, "land", "events", err), 0);
    assert_int_equal(fsutil_mkdirs(dir, 0750, err), 0);
    assert_int_equal(layout_spool_file(path, sizeof path, fx->dir, "land", "events", 1,
                                       "2026-01-01", SPOOL_SUFFIX, err), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(before, f);
    fputs(chunk, f);
    fclose(f);
    begin_file(fx->l);
    struct landing_intent in = {.item = item, .spool_before = (int64_t)strlen(before),
                                .done_after = 2, .accepted_after = 2};
    in.spool_after = in.spool_before + chunk_len;
    snprintf(in.sha, sizeof in.sha, "%s", sha);
    snprintf(in.id, sizeof in.id, "%s", id);
    snprintf(in.spool, sizeof in.spool, "%s", path + strlen(fx->dir) + 1);
    snprintf(in.rejected, sizeof in.rejected, "rejected/land/events/2026-01-01.ndjson");
    assert_int_equal(landing_db_put_intent(fx->l, &in, err), 0);
}

static off_t spool_size(struct fixture *fx)
{
    char path[PATH_MAX], err[ERROR_MAX];
    assert_int_equal(layout_spool_file(path, sizeof path, fx->dir, "land", "events", 1,
                                       "2026-01-01", SPOOL_SUFFIX, err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static char *chunk_lines(const char *id, int n)
{
    char suffix[256];
    assert_true(spool_line_suffix(id, suffix, sizeof suffix) > 0);
    static char text[1024];
    text[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, "{\"n\":%d%s", i, suffix);
    }
    return text;
}

static void test_recover_committed(void **state)
{
    struct fixture *fx = *state;
    const char *id = "landing-0011223344556677-0";
    const char *before = "{\"other\":1,\"_batch_id\":\"x\"}\n";
    char *chunk = chunk_lines(id, 2);
    crash_with(fx, before, chunk, (int64_t)strlen(chunk), id);
    char err[ERROR_MAX];
    if (landing_recover(fx->l, err) < 0)
        fail_msg("recover: %s", err);
    bool done;
    uint64_t counts[3];
    assert_int_equal(row(fx->l, &done, counts), 1);
    assert_int_equal(counts[0], 2); /* the row learned of the chunk */
    struct landing_intent back;
    assert_int_equal(landing_db_get_intent(fx->l, &back, err), 0);
    assert_int_equal(spool_size(fx), (off_t)(strlen(before) + strlen(chunk)));
}

static void test_recover_torn_chunk_cut(void **state)
{
    struct fixture *fx = *state;
    const char *id = "landing-0011223344556677-0";
    const char *before = "{\"other\":1}\n";
    char *chunk = chunk_lines(id, 2);
    int64_t full = (int64_t)strlen(chunk);
    chunk[strlen(chunk) / 2 + 3] = '\0'; /* the crash tore the chunk's second line */
    crash_with(fx, before, chunk, full, id);
    char err[ERROR_MAX];
    if (landing_recover(fx->l, err) < 0)
        fail_msg("recover: %s", err);
    bool done;
    uint64_t counts[3];
    assert_int_equal(row(fx->l, &done, counts), 1);
    assert_int_equal(counts[0], 0); /* not stored: ingested again */
    assert_int_equal(spool_size(fx), (off_t)strlen(before)); /* its bytes cut */
}

static void test_recover_not_written(void **state)
{
    struct fixture *fx = *state;
    const char *id = "landing-0011223344556677-0";
    const char *before = "{\"other\":1}\n{\"other\":2}\n";
    crash_with(fx, before, "", 40, id);
    char err[ERROR_MAX];
    if (landing_recover(fx->l, err) < 0)
        fail_msg("recover: %s", err);
    bool done;
    uint64_t counts[3];
    assert_int_equal(row(fx->l, &done, counts), 1);
    assert_int_equal(counts[0], 0);
    /* Complete lines of others are never cut. */
    assert_int_equal(spool_size(fx), (off_t)strlen(before));
}

static void test_queue(void **state)
{
    struct fixture *fx = *state;
    struct landing *l = fx->l;
    landing_enqueue(l, "land", "events", "a.csv");
    landing_enqueue(l, "land", "events", "a.csv"); /* queued once */
    landing_enqueue(l, "land", "events", ".a.csv.tmp"); /* dot names are ignored */
    landing_enqueue(l, "land", "events", "quote\".csv"); /* refused */
    landing_enqueue(l, "land", "other", "a.csv");
    assert_int_equal(l->qcount, 2);
    assert_string_equal(l->queue[l->qhead].name, "a.csv");
    assert_string_equal(l->queue[(l->qhead + 1) % LANDING_QUEUE_MAX].endpoint, "other");
    l->qcount = LANDING_QUEUE_MAX; /* full: found again by a later scan */
    l->rescan_wanted = false;
    landing_enqueue(l, "land", "events", "b.csv");
    assert_true(l->rescan_wanted);
}

static void test_detect(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/x.data", fx->dir);
    FILE *f = fopen(path, "w");
    fputs("\xEF\xBB\xBF\n [ {\"a\":1} ]", f);
    fclose(f);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(landing_detect(fd, "x.data"), RECORD_FORMAT_JSON);
    assert_int_equal(landing_detect(fd, "x.csv"), RECORD_FORMAT_CSV);
    assert_int_equal(landing_detect(fd, "x.jsonl"), RECORD_FORMAT_NDJSON);
    struct landing_reader r;
    char err[ERROR_MAX];
    assert_int_equal(landing_reader_open(&r, fd, RECORD_FORMAT_JSON, 100, err), 0);
    assert_int_equal(landing_reader_next(&r, err), 1);
    assert_string_equal(r.rec, "{\"a\":1}");
    r.held = true; /* a held record comes again */
    assert_int_equal(landing_reader_next(&r, err), 1);
    assert_string_equal(r.rec, "{\"a\":1}");
    assert_int_equal(landing_reader_next(&r, err), 0);
    landing_reader_close(&r);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_rows_and_intent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_torn_chunk_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_not_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detect, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

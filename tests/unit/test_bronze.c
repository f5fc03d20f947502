/* test_bronze.c - unit tests of the bronze format: names, torn-tail
 * detection, sealing (atomic, modes, lz4cat-compatible) and the streaming
 * reader (large lines, corrupt bytes, truncation, trailing data, missing
 * final newline, over-long lines). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bronze.h"
#include "names.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    umask(022);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lakehouse-test-bronze-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Read a whole bronze file; returns the reader's final rc (0 or -1) and
 * the concatenation of lines each followed by '\n' in *out. */
static int read_bronze(const char *path, char **out, size_t *out_len, size_t *lines, char *err)
{
    struct bronze_reader *r = bronze_reader_open(path, err);
    assert_non_null(r);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n = 0;
    int rc;
    const char *line;
    size_t line_len;
    while ((rc = bronze_reader_next(r, &line, &line_len, err)) == 1) {
        while (len + line_len + 1 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        memcpy(buf + len, line, line_len);
        len += line_len;
        buf[len++] = '\n';
        n++;
    }
    if (rc < 0) {
        /* the error sticks */
        char err2[ERROR_MAX];
        assert_int_equal(bronze_reader_next(r, &line, &line_len, err2), -1);
        assert_string_equal(err, err2);
    }
    bronze_reader_close(&r);
    assert_null(r);
    if (out) {
        *out = buf;
        *out_len = len;
    } else {
        free(buf);
    }
    if (lines)
        *lines = n;
    return rc;
}

/* Deterministic pseudo-random text (so some of it does not compress away). */
static uint64_t rng_state = 88172645463325252ULL;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

/* Append one JSON object line of about `size` bytes. */
static size_t append_line(char *buf, size_t at, size_t size, uint64_t seq)
{
    int n = sprintf(buf + at, "{\"_seq\":%llu,\"v\":\"", (unsigned long long)seq);
    size_t pos = at + (size_t)n;
    size_t body = size > (size_t)n + 3 ? size - (size_t)n - 3 : 0;
    for (size_t i = 0; i < body; i++)
        buf[pos++] = (char)('a' + rng() % 26);
    buf[pos++] = '"';
    buf[pos++] = '}';
    buf[pos++] = '\n';
    return pos - at;
}

static void test_names(void **state)
{
    (void)state;
    uint64_t first = 0, last = 0;
    assert_int_equal(bronze_parse_name("00000000000000000001-00000000000000000009.ndjson.lz4",
                                       &first, &last), 0);
    assert_int_equal(first, 1);
    assert_int_equal(last, 9);
    assert_int_equal(bronze_parse_name("18446744073709551615-18446744073709551615.ndjson.lz4",
                                       &first, &last), 0);
    assert_true(first == UINT64_MAX && last == UINT64_MAX);
    const char *bad[] = {
        "18446744073709551616-18446744073709551616.ndjson.lz4", /* > UINT64_MAX */
        "00000000000000000009-00000000000000000001.ndjson.lz4", /* first > last */
        "0000000000000000001-00000000000000000009.ndjson.lz4",  /* 19 digits */
        "00000000000000000001-00000000000000000009.ndjson.lz4.tmp",
        "00000000000000000001-00000000000000000009.ndjson",
        "00000000000000000001_00000000000000000009.ndjson.lz4",
        "0000000000000000000a-00000000000000000009.ndjson.lz4",
        "+0000000000000000001-00000000000000000009.ndjson.lz4",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bronze_parse_name(bad[i], &first, &last), -1);

    char date[11];
    assert_int_equal(spool_parse_name("00000001763730208123-2026-11-21.ndjson", &first, date), 0);
    assert_int_equal(first, 1763730208123ULL);
    assert_string_equal(date, "2026-11-21");
    assert_int_equal(spool_parse_name("00000001763730208123-2026-13-21.ndjson", &first, date), -1);
    assert_int_equal(spool_parse_name("00000001763730208123-2026-11-21.ndjson.lz4", &first, date),
                     -1);
    assert_int_equal(spool_parse_name("1763730208123-2026-11-21.ndjson", &first, date), -1);
    assert_int_equal(spool_parse_name("00000001763730208123-20261121xx.ndjson", &first, date), -1);

    char rel[512];
    assert_int_equal(bronze_relative_path(rel, sizeof rel, "demo", "flights", "2026-11-21", 5, 77),
                     0);
    assert_string_equal(
        rel, "bronze/demo/flights/dt=2026-11-21/00000000000000000005-00000000000000000077.ndjson.lz4");
    char domain[NAMES_MAX], endpoint[NAMES_MAX];
    assert_int_equal(bronze_parse_relative_path(rel, domain, endpoint, date, &first, &last), 0);
    assert_string_equal(domain, "demo");
    assert_string_equal(endpoint, "flights");
    assert_string_equal(date, "2026-11-21");
    assert_int_equal(first, 5);
    assert_int_equal(last, 77);
    /* Sorting names sorts by arrival. */
    char rel2[512];
    assert_int_equal(bronze_relative_path(rel2, sizeof rel2, "demo", "flights", "2026-11-21", 100,
                                          200), 0);
    assert_true(strcmp(rel, rel2) < 0);

    assert_int_equal(bronze_relative_path(rel, 40, "demo", "flights", "2026-11-21", 5, 77), -1);
    assert_int_equal(bronze_relative_path(rel, sizeof rel, "../x", "flights", "2026-11-21", 5, 77),
                     -1);
    assert_int_equal(bronze_relative_path(rel, sizeof rel, "demo", "Flights", "2026-11-21", 5, 77),
                     -1);
    assert_int_equal(bronze_relative_path(rel, sizeof rel, "demo", "flights", "2026/11/21", 5, 77),
                     -1);
    assert_int_equal(bronze_relative_path(rel, sizeof rel, "demo", "flights", "2026-11-21", 9, 1),
                     -1);
    const char *bad_rel[] = {
        "/bronze/demo/flights/dt=2026-11-21/00000000000000000005-00000000000000000077.ndjson.lz4",
        "silver/demo/flights/dt=2026-11-21/00000000000000000005-00000000000000000077.ndjson.lz4",
        "bronze/demo/dt=2026-11-21/00000000000000000005-00000000000000000077.ndjson.lz4",
        "bronze/demo/flights/x/dt=2026-11-21/00000000000000000005-00000000000000000077.ndjson.lz4",
        "bronze/../flights/dt=2026-11-21/00000000000000000005-00000000000000000077.ndjson.lz4",
        "bronze/demo/flights/2026-11-21/00000000000000000005-00000000000000000077.ndjson.lz4",
        "bronze/demo/flights/dt=2026-11-21/00000000000000000005-00000000000000000077.ndjson.lz4/",
        "bronze/demo/flights/dt=2026-11-21/00000000000000000005-00000000000000000077.ndjson.lz4.tmp",
        "bronze/demo/flights/dt=2026-11-21/",
        "",
    };
    for (size_t i = 0; i < sizeof bad_rel / sizeof bad_rel[0]; i++)
        assert_int_equal(
            bronze_parse_relative_path(bad_rel[i], domain, endpoint, date, &first, &last), -1);
}

static void test_valid_prefix(void **state)
{
    (void)state;
    const char *a = "{\"a\":1}\n{\"b\":[1,2]}\n";
    assert_int_equal(bronze_valid_prefix(a, strlen(a)), strlen(a));
    assert_int_equal(bronze_valid_prefix("", 0), 0);
    /* Torn tail: unterminated last line. */
    const char *b = "{\"a\":1}\n{\"b\":2}\n{\"c\":";
    assert_int_equal(bronze_valid_prefix(b, strlen(b)), 16);
    /* Terminated but complete object without newline is still torn. */
    const char *c = "{\"a\":1}\n{\"b\":2}";
    assert_int_equal(bronze_valid_prefix(c, strlen(c)), 8);
    /* Unparsable line in the middle: keep what is before it. */
    const char *d = "{\"a\":1}\n{\"b\":\n{\"c\":3}\n";
    assert_int_equal(bronze_valid_prefix(d, strlen(d)), 8);
    /* Not an object, empty line, garbage after the object. */
    const char *e = "{\"a\":1}\n[1,2]\n";
    assert_int_equal(bronze_valid_prefix(e, strlen(e)), 8);
    const char *f = "{\"a\":1}\n\n{\"b\":1}\n";
    assert_int_equal(bronze_valid_prefix(f, strlen(f)), 8);
    const char *g = "{\"a\":1}\n{\"b\":1}x\n";
    assert_int_equal(bronze_valid_prefix(g, strlen(g)), 8);
    /* Zero bytes from a torn page: not JSON. */
    const char h[] = "{\"a\":1}\n\0\0\0\0\n";
    assert_int_equal(bronze_valid_prefix(h, sizeof h - 1), 8);
    /* \u0000 inside a string is valid JSON and must be kept. */
    const char *i = "{\"a\":\"x\\u0000y\"}\n";
    assert_int_equal(bronze_valid_prefix(i, strlen(i)), strlen(i));
    /* Only len bytes are looked at. */
    assert_int_equal(bronze_valid_prefix(a, 10), 8);
}

static void test_round_trip(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    /* Many small lines, some medium ones, and large ones up to the limit. */
    size_t cap = 2 * (size_t)BRONZE_LINE_MAX + 32 * 1024 * 1024;
    char *spool_buf = malloc(cap);
    assert_non_null(spool_buf);
    size_t len = 0;
    size_t lines = 0;
    for (uint64_t i = 0; i < 30000; i++) {
        size_t size = 20 + rng() % 300;
        if (i % 1000 == 999)
            size = 70000 + rng() % 200000; /* spans chunk and block borders */
        if (i == 12345)
            size = 3 * 1024 * 1024;
        if (i == 20000)
            size = (size_t)BRONZE_LINE_MAX + 1; /* exactly the limit plus '\n' */
        len += append_line(spool_buf, len, size, i);
        lines++;
    }
    assert_true(len < cap);
    assert_int_equal(bronze_valid_prefix(spool_buf, len), len);

    char spool[512], bronze[512], tmp[512];
    snprintf(spool, sizeof spool, "%s/spool.ndjson", tmpdir);
    snprintf(bronze, sizeof bronze,
             "%s/data/bronze/demo/flights/dt=2026-11-21/"
             "00000000000000000000-00000000000000029999.ndjson.lz4",
             tmpdir);
    snprintf(tmp, sizeof tmp, "%s.tmp", bronze);
    write_file(spool, spool_buf, len);
    assert_int_equal(bronze_seal(spool, len, bronze, err), 0);

    /* Modes, no leftover tmp, spool untouched. */
    struct stat st;
    assert_int_equal(stat(bronze, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_true((size_t)st.st_size < len);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/data/bronze/demo/flights/dt=2026-11-21", tmpdir);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0750);
    snprintf(dir, sizeof dir, "%s/data/bronze", tmpdir);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0750);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(spool, F_OK), 0);

    char *back = NULL;
    size_t back_len = 0, back_lines = 0;
    assert_int_equal(read_bronze(bronze, &back, &back_len, &back_lines, err), 0);
    assert_int_equal(back_lines, lines);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, spool_buf, len);
    free(back);

    /* The standard tool reads it back byte for byte. */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "lz4cat -q '%s' | cmp -s - '%s'", bronze, spool);
    assert_int_equal(system(cmd), 0);

    /* And our reader reads what the standard tool writes. */
    char cli[512];
    snprintf(cli, sizeof cli, "%s/cli.ndjson.lz4", tmpdir);
    snprintf(cmd, sizeof cmd, "lz4 -q -f '%s' '%s'", spool, cli);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(read_bronze(cli, &back, &back_len, &back_lines, err), 0);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, spool_buf, len);
    free(back);

    /* Sealing again over an existing file of the same name replaces it
     * atomically (same content here). */
    assert_int_equal(bronze_seal(spool, len, bronze, err), 0);
    assert_int_equal(read_bronze(bronze, NULL, NULL, &back_lines, err), 0);
    assert_int_equal(back_lines, lines);
    free(spool_buf);
}

static void test_torn_tail_and_seal_errors(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    char spool[512], bronze[512], tmp[512];
    snprintf(spool, sizeof spool, "%s/torn.ndjson", tmpdir);
    snprintf(bronze, sizeof bronze,
             "%s/data/bronze/demo/torn/dt=2026-11-22/"
             "00000000000000000001-00000000000000000002.ndjson.lz4",
             tmpdir);
    snprintf(tmp, sizeof tmp, "%s.tmp", bronze);
    const char *content = "{\"id\":1}\n{\"id\":2}\n{\"id\":3,\"na";
    write_file(spool, content, strlen(content));
    size_t keep = bronze_valid_prefix(content, strlen(content));
    assert_int_equal(keep, 18);

    /* The whole file does not end with a complete line: refused, nothing left. */
    assert_int_equal(bronze_seal(spool, strlen(content), bronze, err), -1);
    assert_non_null(strstr(err, "complete line"));
    assert_int_equal(access(bronze, F_OK), -1);
    assert_int_equal(access(tmp, F_OK), -1);
    /* More bytes than the spool has. */
    assert_int_equal(bronze_seal(spool, 1000, bronze, err), -1);
    assert_non_null(strstr(err, spool));
    /* Missing spool. */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/nope.ndjson", tmpdir);
    assert_int_equal(bronze_seal(missing, 0, bronze, err), -1);
    assert_non_null(strstr(err, "nope.ndjson"));

    assert_int_equal(bronze_seal(spool, keep, bronze, err), 0);
    char *back = NULL;
    size_t back_len = 0, lines = 0;
    assert_int_equal(read_bronze(bronze, &back, &back_len, &lines, err), 0);
    assert_int_equal(lines, 2);
    assert_int_equal(back_len, keep);
    assert_memory_equal(back, content, keep);
    free(back);

    /* An empty spool seals to an empty (but valid) frame. */
    char empty[512];
    snprintf(empty, sizeof empty, "%s/data/bronze/demo/torn/dt=2026-11-22/empty.ndjson.lz4",
             tmpdir);
    assert_int_equal(bronze_seal(spool, 0, empty, err), 0);
    assert_int_equal(read_bronze(empty, NULL, NULL, &lines, err), 0);
    assert_int_equal(lines, 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "test -z \"$(lz4cat -q '%s')\"", empty);
    assert_int_equal(system(cmd), 0);

    /* A missing bronze file is an open error. */
    assert_null(bronze_reader_open(missing, err));
    assert_non_null(strstr(err, "nope.ndjson"));
    bronze_reader_close(NULL);
}

/* A sealed file of a few hundred KiB (several blocks) for damage tests. */
static char *make_sealed(const char *name, char *path, size_t path_size, size_t *raw_len)
{
    char err[ERROR_MAX];
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    size_t len = 0;
    for (uint64_t i = 0; len < 600 * 1024; i++)
        len += append_line(buf, len, 40 + rng() % 400, i);
    char spool[512];
    snprintf(spool, sizeof spool, "%s/%s.ndjson", tmpdir, name);
    write_file(spool, buf, len);
    snprintf(path, path_size, "%s/%s.ndjson.lz4", tmpdir, name);
    assert_int_equal(bronze_seal(spool, len, path, err), 0);
    *raw_len = len;
    return buf;
}

static void test_corrupt_bytes(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    char path[512], damaged[512];
    size_t raw_len;
    char *raw = make_sealed("corrupt", path, sizeof path, &raw_len);
    size_t len;
    char *file = read_file(path, &len);
    assert_true(len > 1000);
    snprintf(damaged, sizeof damaged, "%s/damaged.ndjson.lz4", tmpdir);
    char *copy = malloc(len);
    size_t tested = 0;
    for (size_t pos = 0; pos < len; pos += (pos < 32 || pos > len - 32) ? 1 : 997) {
        memcpy(copy, file, len);
        copy[pos] ^= 0x55;
        write_file(damaged, copy, len);
        int rc = read_bronze(damaged, NULL, NULL, NULL, err);
        if (rc != -1)
            fail_msg("flipped byte %zu of %zu not detected", pos, len);
        assert_non_null(strstr(err, "damaged.ndjson.lz4"));
        tested++;
    }
    assert_true(tested > 60);
    free(copy);
    free(file);
    free(raw);
}

static void test_truncated_and_trailing(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    char path[512], cut[512];
    size_t raw_len;
    char *raw = make_sealed("trunc", path, sizeof path, &raw_len);
    size_t len;
    char *file = read_file(path, &len);
    snprintf(cut, sizeof cut, "%s/cut.ndjson.lz4", tmpdir);
    for (size_t n = 0; n < len; n += (n < 32 || n > len - 32) ? 1 : 1009) {
        write_file(cut, file, n);
        if (read_bronze(cut, NULL, NULL, NULL, err) != -1)
            fail_msg("truncation to %zu of %zu bytes not detected", n, len);
        if (n > 0)
            assert_non_null(strstr(err, "truncated"));
    }
    /* Garbage after the frame, and a second frame after the first. */
    char *longer = malloc(2 * len);
    memcpy(longer, file, len);
    memcpy(longer + len, "junk", 4);
    write_file(cut, longer, len + 4);
    assert_int_equal(read_bronze(cut, NULL, NULL, NULL, err), -1);
    assert_non_null(strstr(err, "after the LZ4 frame"));
    memcpy(longer + len, file, len);
    write_file(cut, longer, 2 * len);
    assert_int_equal(read_bronze(cut, NULL, NULL, NULL, err), -1);
    /* The intact file still reads fully. */
    size_t lines = 0;
    char *back;
    size_t back_len;
    assert_int_equal(read_bronze(path, &back, &back_len, &lines, err), 0);
    assert_int_equal(back_len, raw_len);
    assert_memory_equal(back, raw, raw_len);
    free(back);
    free(longer);
    free(file);
    free(raw);
}

/* Write src as one LZ4 frame with the library's one-shot API (what another
 * tool might produce) and return the reader's final rc. */
static int read_frame_of(const char *src, size_t len, size_t *lines, char *err)
{
    size_t cap = LZ4F_compressFrameBound(len, NULL);
    char *dst = malloc(cap);
    size_t n = LZ4F_compressFrame(dst, cap, src, len, NULL);
    assert_false(LZ4F_isError(n));
    char path[512];
    snprintf(path, sizeof path, "%s/frame.ndjson.lz4", tmpdir);
    write_file(path, dst, n);
    free(dst);
    return read_bronze(path, NULL, NULL, lines, err);
}

static void test_line_rules(void **state)
{
    (void)state;
    char err[ERROR_MAX];
    size_t lines = 0;
    const char *ok = "{\"a\":1}\n{\"b\":2}\n";
    assert_int_equal(read_frame_of(ok, strlen(ok), &lines, err), 0);
    assert_int_equal(lines, 2);
    /* Final line without '\n'. */
    const char *torn = "{\"a\":1}\n{\"b\":2}";
    assert_int_equal(read_frame_of(torn, strlen(torn), &lines, err), -1);
    assert_int_equal(lines, 1);
    assert_non_null(strstr(err, "no newline"));
    assert_non_null(strstr(err, "line 2"));
    /* Empty lines are lines (the reader does not judge JSON). */
    assert_int_equal(read_frame_of("\n\n", 2, &lines, err), 0);
    assert_int_equal(lines, 2);
    /* A line over BRONZE_LINE_MAX is refused with bounded memory. */
    size_t big = (size_t)BRONZE_LINE_MAX + 4; /* line 2: LINE_MAX + 1 bytes */
    char *huge = malloc(big + 1);
    memcpy(huge, "{}\n", 3);
    memset(huge + 3, 'x', big - 3);
    huge[big] = '\n';
    assert_int_equal(read_frame_of(huge, big + 1, &lines, err), -1);
    assert_int_equal(lines, 1);
    assert_non_null(strstr(err, "longer than"));
    assert_non_null(strstr(err, "line 2"));
    free(huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_valid_prefix),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_torn_tail_and_seal_errors),
        cmocka_unit_test(test_corrupt_bytes),
        cmocka_unit_test(test_truncated_and_trailing),
        cmocka_unit_test(test_line_rules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

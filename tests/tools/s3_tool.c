/* lakehouse-s3-tool - the S3 client (common/s3.h) from the command line, for
 * tests:
 *   lakehouse-s3-tool ENDPOINT BUCKET mkbucket | headbucket
 *   lakehouse-s3-tool ENDPOINT BUCKET put KEY FILE | put-new KEY FILE
 *   lakehouse-s3-tool ENDPOINT BUCKET get KEY FILE | head KEY | delete KEY | list PREFIX
 * Credentials from LAKEHOUSE_S3_ACCESS_KEY_ID / LAKEHOUSE_S3_SECRET_ACCESS_KEY
 * (or the file in S3_CREDENTIALS_FILE), region from S3_REGION, virtual-hosted
 * URLs when S3_VIRTUAL_HOST=1, LIST pages of S3_LIST_PAGE keys. head prints the size, list prints
 * "<key>\t<size>\t<last modified>" lines. Exit status: 0, 2 usage, or
 * 11 auth, 12 not found, 13 exists, 14 unreachable, 15 other, with the message on stderr.
 *   lakehouse-s3-tool ENDPOINT BUCKET store PREFIX
 * runs the table store (common/iceberg_store.h) through a commit's
 * operations under s3_prefix PREFIX - or, when ENDPOINT is an absolute
 * directory, a local store with that data_dir - printing one line per step. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fsutil.h"
#include "iceberg_store.h"
#include "s3.h"

static int s3_tool_store_entry(const char *key, int64_t size, int64_t mtime_ms, void *arg)
{
    (void)arg;
    printf("list %s %" PRId64 " %s\n", key, size, mtime_ms > 0 ? "mtime" : "no-mtime");
    return 0;
}

#define S3_TOOL_OTHER 15

/* The exit status of a failure: fixed numbers, whatever the error kinds'
 * values (s3.h). */
static int s3_tool_status(enum s3_status st)
{
    switch (st) {
    case S3_AUTH: return 11;
    case S3_NOT_FOUND: return 12;
    case S3_EXISTS: return 13;
    case S3_UNREACHABLE: return 14;
    case S3_OK:
    case S3_OTHER: break;
    }
    return S3_TOOL_OTHER;
}

/* The store's operations in the order of a commit and a cleanup. */
static int s3_tool_store(const char *endpoint, const char *bucket, const char *prefix)
{
    struct config cfg;
    char err[ERROR_MAX];
    bool local = endpoint[0] == '/';
    if (config_load(&cfg, NULL, local ? endpoint : "/tmp", err) < 0) {
        fprintf(stderr, "lakehouse-s3-tool: %s\n", err);
        return S3_TOOL_OTHER;
    }
    snprintf(cfg.iceberg_export, sizeof cfg.iceberg_export, "%s", local ? "local" : "s3");
    snprintf(cfg.s3_endpoint, sizeof cfg.s3_endpoint, "%s", endpoint);
    snprintf(cfg.s3_bucket, sizeof cfg.s3_bucket, "%s", bucket);
    snprintf(cfg.s3_prefix, sizeof cfg.s3_prefix, "%s", prefix);
    if (getenv("S3_REGION") != NULL)
        snprintf(cfg.s3_region, sizeof cfg.s3_region, "%s", getenv("S3_REGION"));
    struct iceberg_store *st = iceberg_store_open(&cfg, err);
    if (st == NULL) {
        fprintf(stderr, "lakehouse-s3-tool: %s\n", err);
        return S3_TOOL_OTHER;
    }
    char uri[PATH_MAX];
    const char *meta = "ns_silver/t/metadata/v1.metadata.json";
    const char *data = "ns_silver/t/data/0-a.parquet";
    enum s3_status a, b, c, d, e;
    a = iceberg_store_put(st, data, "PAR1", 4, false, err);
    b = iceberg_store_put(st, meta, "{\"v\":1}", 7, true, err);
    c = iceberg_store_put(st, meta, "{\"v\":2}", 7, true, err);
    printf("put %s, put-new %s, put-new again %s\n", s3_status_name(a), s3_status_name(b),
           s3_status_name(c));
    struct strbuf buf = {0};
    d = iceberg_store_get(st, meta, &buf, err);
    printf("get %s %.*s\n", s3_status_name(d), (int)buf.len, buf.s != NULL ? (char *)buf.s : "");
    strbuf_free(&buf);
    if (iceberg_store_uri(st, meta, uri, err) == 0)
        printf("uri %s\n", uri);
    fflush(stdout);
    e = iceberg_store_list(st, "ns_silver/t/", s3_tool_store_entry, NULL, err);
    fflush(stdout);
    printf("list %s\n", s3_status_name(e));
    a = iceberg_store_delete(st, data, err);
    b = iceberg_store_get(st, data, &buf, err);
    strbuf_free(&buf);
    c = iceberg_store_delete(st, data, err);
    printf("delete %s, get after delete %s, delete again %s\n", s3_status_name(a),
           s3_status_name(b), s3_status_name(c));
    iceberg_store_free(&st);
    return 0;
}

static int s3_tool_print(const struct s3_object *o, void *arg)
{
    (void)arg;
    printf("%s\t%" PRId64 "\t%s\n", o->key, o->size, o->last_modified);
    return 0;
}

static int s3_tool_usage(void)
{
    fprintf(stderr, "usage: lakehouse-s3-tool ENDPOINT BUCKET "
                    "mkbucket|headbucket|put KEY FILE|put-new KEY FILE|get KEY FILE|head KEY|"
                    "delete KEY|list PREFIX\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return s3_tool_usage();
    const char *op = argv[3];
    if (strcmp(op, "store") == 0)
        return argc == 5 ? s3_tool_store(argv[1], argv[2], argv[4]) : s3_tool_usage();
    char err[ERROR_MAX];
    char key[S3_SECRET_MAX], secret[S3_SECRET_MAX];
    if (s3_credentials_load(getenv("S3_CREDENTIALS_FILE"), key, secret, err) < 0) {
        fprintf(stderr, "lakehouse-s3-tool: %s\n", err);
        return S3_TOOL_OTHER;
    }
    const char *virt = getenv("S3_VIRTUAL_HOST");
    struct s3_settings s = {argv[1], getenv("S3_REGION"), argv[2], key, secret,
                            !(virt != NULL && strcmp(virt, "1") == 0), 0, 0};
    if (getenv("S3_LIST_PAGE") != NULL)
        s.list_page_size = atoi(getenv("S3_LIST_PAGE"));
    struct s3_client *c = s3_client_new(&s, err);
    if (c == NULL) {
        fprintf(stderr, "lakehouse-s3-tool: %s\n", err);
        return S3_TOOL_OTHER;
    }
    enum s3_status st = S3_OTHER;
    int rc = 0;
    if (strcmp(op, "mkbucket") == 0 && argc == 4) {
        st = s3_create_bucket(c, err);
    } else if (strcmp(op, "headbucket") == 0 && argc == 4) {
        st = s3_head_bucket(c, err);
    } else if ((strcmp(op, "put") == 0 || strcmp(op, "put-new") == 0) && argc == 6) {
        char *data = NULL;
        size_t len = 0;
        if (fsutil_read_file(argv[5], (size_t)1 << 30, &data, &len, err) < 0) {
            st = S3_OTHER;
        } else {
            st = s3_put(c, argv[4], data, len, strcmp(op, "put-new") == 0, err);
            free(data);
        }
    } else if (strcmp(op, "get") == 0 && argc == 6) {
        struct strbuf b = {0};
        st = s3_get(c, argv[4], &b, err);
        if (st == S3_OK &&
            fsutil_write_file_atomic(argv[5], b.s != NULL ? (void *)b.s : "", b.len, 0644, err) < 0)
            st = S3_OTHER;
        strbuf_free(&b);
    } else if (strcmp(op, "head") == 0 && argc == 5) {
        int64_t size = -1;
        st = s3_head(c, argv[4], &size, err);
        if (st == S3_OK)
            printf("%" PRId64 "\n", size);
    } else if (strcmp(op, "delete") == 0 && argc == 5) {
        st = s3_delete(c, argv[4], err);
    } else if (strcmp(op, "list") == 0 && argc == 5) {
        st = s3_list(c, argv[4], s3_tool_print, NULL, err);
    } else {
        rc = s3_tool_usage();
    }
    if (rc == 0 && st != S3_OK) {
        fprintf(stderr, "lakehouse-s3-tool: %s [%s]\n", err, s3_status_name(st));
        rc = s3_tool_status(st);
    }
    s3_client_free(&c);
    return rc;
}

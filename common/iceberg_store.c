/* iceberg_store.c - see iceberg_store.h. */
#include "iceberg_store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "layout.h"
#include "timeutil.h"

#define ICEBERG_STORE_FILE_MAX ((size_t)1 << 34)
#define ICEBERG_STORE_MODE 0640

struct iceberg_store {
    char root[PATH_MAX];     /* local: <data_dir>/iceberg; S3: s3://<bucket>[/<prefix>] */
    char staging[PATH_MAX];  /* S3: where data files are built */
    struct s3_client *s3;    /* NULL: local */
    char bucket[256];
    char prefix[512];        /* "" or "<s3_prefix>/" */
};

struct iceberg_store *iceberg_store_open_dir(const char *root, char err[ERROR_MAX])
{
    struct iceberg_store *st = calloc(1, sizeof *st);
    if (st == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    if (fsutil_path(st->root, sizeof st->root, err, "%s", root) < 0) {
        free(st);
        return NULL;
    }
    return st;
}

struct iceberg_store *iceberg_store_open(const struct config *cfg, char err[ERROR_MAX])
{
    bool s3 = strcmp(cfg->iceberg_export, "s3") == 0;
    if (!s3 && strcmp(cfg->iceberg_export, "local") != 0) {
        error_set(err, "iceberg_export is '%.50s': no table store", cfg->iceberg_export);
        return NULL;
    }
    struct iceberg_store *st = calloc(1, sizeof *st);
    if (st == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    if (!s3) {
        if (layout_iceberg_dir(st->root, sizeof st->root, cfg->data_dir, NULL, NULL, NULL, err) <
            0) {
            free(st);
            return NULL;
        }
        return st;
    }
    char key[S3_SECRET_MAX], secret[S3_SECRET_MAX];
    if (s3_credentials_load(cfg->s3_credentials_file, key, secret, err) < 0) {
        free(st);
        return NULL;
    }
    snprintf(st->bucket, sizeof st->bucket, "%s", cfg->s3_bucket);
    /* "a/b/" from "a/b", "/a/b/" or "a/b/"; "" stays "" */
    const char *p = cfg->s3_prefix;
    while (*p == '/')
        p++;
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == '/')
        n--;
    snprintf(st->prefix, sizeof st->prefix, "%.*s%s", (int)n, p, n > 0 ? "/" : "");
    snprintf(st->root, sizeof st->root, "s3://%s%s%.*s", st->bucket, n > 0 ? "/" : "", (int)n, p);
    if (layout_iceberg_staging_dir(st->staging, sizeof st->staging, cfg->data_dir, err) < 0) {
        free(st);
        return NULL;
    }
    struct s3_settings s = {cfg->s3_endpoint, cfg->s3_region, cfg->s3_bucket, key, secret,
                            cfg->s3_path_style != 0, 0, 0};
    st->s3 = s3_client_new(&s, err);
    memset(secret, 0, sizeof secret);
    if (st->s3 == NULL) {
        free(st);
        return NULL;
    }
    return st;
}

void iceberg_store_free(struct iceberg_store **stp)
{
    if (*stp == NULL)
        return;
    s3_client_free(&(*stp)->s3);
    free(*stp);
    *stp = NULL;
}

bool iceberg_store_is_s3(const struct iceberg_store *st) { return st->s3 != NULL; }

const char *iceberg_store_root(const struct iceberg_store *st) { return st->root; }

/* A key is relative and never climbs out of the store. */
static int iceberg_store_check_key(const char *key, char err[ERROR_MAX])
{
    if (key[0] == '\0' || key[0] == '/' || strstr(key, "..") != NULL)
        return error_set(err, "iceberg store: bad key '%.200s'", key);
    return 0;
}

/* The local path, or the S3 key (prefix + key). */
static int iceberg_store_name(const struct iceberg_store *st, const char *key, char out[PATH_MAX],
                              char err[ERROR_MAX])
{
    if (iceberg_store_check_key(key, err) < 0)
        return -1;
    if (st->s3 != NULL)
        return fsutil_path(out, PATH_MAX, err, "%s%s", st->prefix, key);
    return fsutil_path(out, PATH_MAX, err, "%s/%s", st->root, key);
}

int iceberg_store_uri(const struct iceberg_store *st, const char *key, char out[PATH_MAX],
                      char err[ERROR_MAX])
{
    if (iceberg_store_check_key(key, err) < 0)
        return -1;
    if (st->s3 != NULL)
        return fsutil_path(out, PATH_MAX, err, "s3://%s/%s%s", st->bucket, st->prefix, key);
    return fsutil_path(out, PATH_MAX, err, "%s/%s", st->root, key);
}

int iceberg_store_key_of(const struct iceberg_store *st, const char *uri, char key[PATH_MAX],
                         char err[ERROR_MAX])
{
    size_t n = strlen(st->root);
    if (strncmp(uri, st->root, n) != 0 || uri[n] != '/')
        return error_set(err, "%.200s is not under %.200s", uri, st->root);
    if (fsutil_path(key, PATH_MAX, err, "%s", uri + n + 1) < 0)
        return -1;
    return iceberg_store_check_key(key, err);
}

int iceberg_store_stage(struct iceberg_store *st, const char *key, char path[PATH_MAX],
                        char err[ERROR_MAX])
{
    if (st->s3 != NULL) { /* file names carry a uuid: unique within the staging directory */
        const char *base = strrchr(key, '/');
        if (iceberg_store_check_key(key, err) < 0 || fsutil_mkdirs(st->staging, 0750, err) < 0)
            return -1;
        return fsutil_path(path, PATH_MAX, err, "%s/%s", st->staging,
                           base != NULL ? base + 1 : key);
    }
    if (iceberg_store_name(st, key, path, err) < 0)
        return -1;
    const char *base = strrchr(path, '/');
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", (int)(base - path), path);
    return fsutil_mkdirs(dir, 0750, err);
}

enum s3_status iceberg_store_put_staged(struct iceberg_store *st, const char *key,
                                        const char *path, char err[ERROR_MAX])
{
    if (st->s3 == NULL)
        return S3_OK; /* built in place */
    enum s3_status rc = iceberg_store_put_file(st, key, path, false, err);
    unlink(path);
    return rc;
}

int iceberg_store_clean_staging(struct iceberg_store *st, int64_t grace_s)
{
    DIR *d = st->s3 != NULL ? opendir(st->staging) : NULL;
    if (d == NULL)
        return 0;
    int removed = 0;
    time_t horizon = time(NULL) - (time_t)grace_s;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct stat sb;
        if (de->d_name[0] == '.' ||
            fsutil_path(path, sizeof path, NULL, "%s/%s", st->staging, de->d_name) < 0)
            continue;
        if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_mtime < horizon &&
            unlink(path) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

enum s3_status iceberg_store_put(struct iceberg_store *st, const char *key, const void *data,
                                 size_t len, bool exclusive, char err[ERROR_MAX])
{
    char name[PATH_MAX];
    if (iceberg_store_name(st, key, name, err) < 0)
        return S3_OTHER;
    if (st->s3 != NULL)
        return s3_put(st->s3, name, data, len, exclusive, err);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", name);
    *strrchr(dir, '/') = '\0';
    if (fsutil_mkdirs(dir, 0750, err) < 0)
        return S3_OTHER;
    if (!exclusive)
        return fsutil_write_file_atomic(name, data, len, ICEBERG_STORE_MODE, err) < 0 ? S3_OTHER
                                                                                      : S3_OK;
    int rc = fsutil_write_file_exclusive(name, data, len, ICEBERG_STORE_MODE, err);
    return rc == 0 ? S3_OK : error_kind_of(rc) == ERROR_CONFLICT ? S3_EXISTS : S3_OTHER;
}

enum s3_status iceberg_store_put_file(struct iceberg_store *st, const char *key,
                                      const char *path, bool exclusive, char err[ERROR_MAX])
{
    char *data = NULL;
    size_t len = 0;
    if (fsutil_read_file(path, ICEBERG_STORE_FILE_MAX, &data, &len, err) < 0)
        return S3_OTHER;
    enum s3_status rc = iceberg_store_put(st, key, data, len, exclusive, err);
    free(data);
    return rc;
}

enum s3_status iceberg_store_get(struct iceberg_store *st, const char *key, struct strbuf *out,
                                 char err[ERROR_MAX])
{
    char name[PATH_MAX];
    if (iceberg_store_name(st, key, name, err) < 0)
        return S3_OTHER;
    if (st->s3 != NULL)
        return s3_get(st->s3, name, out, err);
    char *data = NULL;
    size_t len = 0;
    if (access(name, F_OK) < 0 && errno == ENOENT) {
        error_set(err, "%s: no such file", name);
        return S3_NOT_FOUND;
    }
    if (fsutil_read_file(name, ICEBERG_STORE_FILE_MAX, &data, &len, err) < 0)
        return S3_OTHER;
    strbuf_append(out, data, len);
    free(data);
    if (out->failed)
        return error_set(err, "%s: out of memory", name), S3_OTHER;
    return S3_OK;
}

enum s3_status iceberg_store_delete(struct iceberg_store *st, const char *key, char err[ERROR_MAX])
{
    char name[PATH_MAX];
    if (iceberg_store_name(st, key, name, err) < 0)
        return S3_OTHER;
    if (st->s3 != NULL)
        return s3_delete(st->s3, name, err);
    if (unlink(name) < 0 && errno != ENOENT)
        return error_set(err, "unlink %s: %s", name, strerror(errno)), S3_OTHER;
    return S3_OK;
}

struct iceberg_store_s3_list {
    size_t strip; /* length of the store's prefix */
    iceberg_store_list_fn fn;
    void *arg;
};

static int iceberg_store_s3_entry(const struct s3_object *o, void *arg)
{
    struct iceberg_store_s3_list *l = arg;
    int64_t ms = 0;
    if (o->last_modified[0] != '\0' && timeutil_parse_utc_ms(o->last_modified, &ms) < 0)
        ms = 0;
    return l->fn(o->key + l->strip, o->size, ms, l->arg);
}

/* Walk dir (whose key is rel, "" for the root) calling fn for files whose
 * key starts with prefix. 1 when fn stopped, 0, -1 with err. */
static int iceberg_store_walk(const char *dir, const char *rel, const char *prefix,
                              iceberg_store_list_fn fn, void *arg, char err[ERROR_MAX])
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : error_set(err, "opendir %s: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[PATH_MAX], key[PATH_MAX];
        if (fsutil_path(path, sizeof path, err, "%s/%s", dir, de->d_name) < 0 ||
            fsutil_path(key, sizeof key, err, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0) {
            rc = -1;
            break;
        }
        struct stat sb;
        if (lstat(path, &sb) < 0)
            continue; /* removed meanwhile */
        size_t klen = strlen(key), plen = strlen(prefix);
        /* descend only where keys below can still start with prefix */
        bool may = strncmp(key, prefix, klen < plen ? klen : plen) == 0;
        if (S_ISDIR(sb.st_mode) && may)
            rc = iceberg_store_walk(path, key, prefix, fn, arg, err);
        else if (S_ISREG(sb.st_mode) && klen >= plen && strncmp(key, prefix, plen) == 0)
            rc = fn(key, (int64_t)sb.st_size,
                    (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000, arg) != 0;
    }
    closedir(d);
    return rc;
}

enum s3_status iceberg_store_list(struct iceberg_store *st, const char *prefix,
                                  iceberg_store_list_fn fn, void *arg, char err[ERROR_MAX])
{
    if (st->s3 != NULL) {
        char name[PATH_MAX];
        if (fsutil_path(name, sizeof name, err, "%s%s", st->prefix, prefix) < 0)
            return S3_OTHER;
        struct iceberg_store_s3_list l = {strlen(st->prefix), fn, arg};
        return s3_list(st->s3, name, iceberg_store_s3_entry, &l, err);
    }
    return iceberg_store_walk(st->root, "", prefix, fn, arg, err) < 0 ? S3_OTHER : S3_OK;
}

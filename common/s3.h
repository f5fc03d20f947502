/* s3.h - a small S3 client: PUT (optionally exclusive), GET, HEAD, DELETE and
 * ListObjectsV2 against one bucket, signed with AWS SigV4 by libcurl.
 * Path-style URLs (<endpoint>/<bucket>/<key>) by default, virtual-hosted
 * (<bucket>.<host>) on request. Every failure has a kind a caller can decide
 * on and a message naming the operation, bucket and key; neither the
 * message nor any log line carries the credentials. The module also owns
 * where credentials come from: LAKEHOUSE_S3_ACCESS_KEY_ID and
 * LAKEHOUSE_S3_SECRET_ACCESS_KEY, else s3_credentials_file. */
#ifndef LAKEHOUSE_S3_H
#define LAKEHOUSE_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "binenc.h"
#include "config.h"
#include "error.h"

/* Each status is the error kind (error.h) callers decide on, so that
 * error_fail / error_kind_of / http_status_of apply to it as they are:
 * return error_fail(err, (enum error_kind)st, ...) or -(int)st. */
enum s3_status {
    S3_OK = ERROR_NONE,
    S3_AUTH = ERROR_DENIED,             /* 401/403: credentials refused or not allowed */
    S3_NOT_FOUND = ERROR_NOT_FOUND,     /* 404: no such key or bucket */
    S3_EXISTS = ERROR_CONFLICT,         /* 412/409 on an exclusive put: the key is already there */
    S3_UNREACHABLE = ERROR_UNAVAILABLE, /* no connection, no answer in time */
    S3_OTHER = ERROR_INTERNAL           /* any other answer or local failure */
};

#define S3_KEY_MAX 1024
#define S3_SECRET_MAX 256

struct s3_settings {
    const char *endpoint;   /* http(s)://host[:port] */
    const char *region;     /* "" : us-east-1 */
    const char *bucket;
    const char *access_key;
    const char *secret_key;
    bool path_style;
    long timeout_ms;        /* whole request; 0: 30 s */
    int list_page_size;     /* keys per LIST request; 0: the server's (1000) */
};

struct s3_client;

/* A client for one bucket; copies the settings. NULL with err. Caller owns
 * (s3_client_free). */
struct s3_client *s3_client_new(const struct s3_settings *s, char err[ERROR_MAX]);
void s3_client_free(struct s3_client **c);

/* Store data at key. exclusive: only if no object has that key (If-None-Match:
 * *), else S3_EXISTS. */
enum s3_status s3_put(struct s3_client *c, const char *key, const void *data, size_t len,
                      bool exclusive, char err[ERROR_MAX]);
/* The object's bytes appended to out. */
enum s3_status s3_get(struct s3_client *c, const char *key, struct strbuf *out,
                      char err[ERROR_MAX]);
/* Whether key exists; *size gets its length (size may be NULL). */
enum s3_status s3_head(struct s3_client *c, const char *key, int64_t *size, char err[ERROR_MAX]);
/* Remove key (S3 answers success for a missing key too). */
enum s3_status s3_delete(struct s3_client *c, const char *key, char err[ERROR_MAX]);
/* HEAD on the bucket: reachable, credentials accepted, bucket there. */
enum s3_status s3_head_bucket(struct s3_client *c, char err[ERROR_MAX]);
/* PUT on the bucket (tests and first setup). */
enum s3_status s3_create_bucket(struct s3_client *c, char err[ERROR_MAX]);

struct s3_object {
    const char *key;
    int64_t size;
    const char *last_modified; /* ISO 8601 as the server wrote it */
};
/* Called per listed object (valid during the call only); nonzero stops the listing. */
typedef int (*s3_list_fn)(const struct s3_object *o, void *arg);
/* Every object whose key starts with prefix, in key order, across pages. */
enum s3_status s3_list(struct s3_client *c, const char *prefix, s3_list_fn fn, void *arg,
                       char err[ERROR_MAX]);

/* "auth", "not found", "exists", "unreachable", "other" (or "ok"). */
const char *s3_status_name(enum s3_status st);

/* The credentials: both environment variables when set, else the first
 * aws_access_key_id / aws_secret_access_key pair of file (the format of
 * ~/.aws/credentials; NULL or "": none). 0, or -1 with err naming what is
 * missing (never a value). */
int s3_credentials_load(const char *file, char access_key[S3_SECRET_MAX],
                        char secret_key[S3_SECRET_MAX], char err[ERROR_MAX]);

/* Check the s3_* settings of cfg when iceberg_export is "s3": bucket and
 * endpoint set, credentials found, and (probe) the bucket answers a HEAD
 * within a few seconds. Each problem goes to report; returns their count. */
int s3_check_config(const struct config *cfg, bool probe, void (*report)(const char *, void *),
                    void *arg);

#endif

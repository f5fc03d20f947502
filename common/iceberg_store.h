/* iceberg_store.h - where the files of exported Iceberg tables live: a local
 * directory (<data_dir>/iceberg, iceberg_export "local") or an S3 bucket
 * under a prefix (iceberg_export "s3"). Callers name files by a relative
 * key such as "air_silver/flights/metadata/v3.metadata.json"; the store
 * maps it to the location readers see (iceberg_store_uri: an absolute path,
 * or s3://<bucket>/<prefix>/<key>) and does the few operations a table
 * commit and its cleanup need: put (replace), put exclusive (the
 * v<N>.metadata.json commit step: a second writer gets S3_EXISTS), get,
 * delete and list. Status codes are those of s3.h for both kinds of store:
 * S3_OK, S3_EXISTS (exclusive put), S3_NOT_FOUND (get), S3_AUTH and
 * S3_UNREACHABLE (S3 only), S3_OTHER (anything else; err says what). Local
 * writes are fsync'd and atomic (readers see the whole file or none). */
#ifndef LAKEHOUSE_ICEBERG_STORE_H
#define LAKEHOUSE_ICEBERG_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "binenc.h"
#include "config.h"
#include "error.h"
#include "s3.h"

struct iceberg_store;

/* The store of cfg's iceberg_export ("local" or "s3"; "off" is an error).
 * S3 credentials are read here (s3.h). NULL with err. Caller owns
 * (iceberg_store_free). */
struct iceberg_store *iceberg_store_open(const struct config *cfg, char err[ERROR_MAX]);
/* A local store rooted at root (tools that write a table anywhere). */
struct iceberg_store *iceberg_store_open_dir(const char *root, char err[ERROR_MAX]);
void iceberg_store_free(struct iceberg_store **st);

bool iceberg_store_is_s3(const struct iceberg_store *st);
/* Where the store's keys start, as readers see it: "<data_dir>/iceberg" or
 * "s3://<bucket>[/<prefix>]" (messages). */
const char *iceberg_store_root(const struct iceberg_store *st);
/* The location of key as readers see it. 0, or -1 when it does not fit. */
int iceberg_store_uri(const struct iceberg_store *st, const char *key, char out[PATH_MAX],
                      char err[ERROR_MAX]);
/* The inverse: the key of a location of this store. 0, or -1 with err when
 * uri is not in the store (a table exported to another store). */
int iceberg_store_key_of(const struct iceberg_store *st, const char *uri, char key[PATH_MAX],
                         char err[ERROR_MAX]);

/* A file too large to hold in memory while it is written (a data file) is
 * built at *path then handed to iceberg_store_put_staged: on local disk
 * path is the key's final place (its directory created; the writer
 * fsyncs), on S3 a file of the staging directory (layout.h) that the put
 * uploads then removes. On failure before the put, unlink path. */
int iceberg_store_stage(struct iceberg_store *st, const char *key, char path[PATH_MAX],
                        char err[ERROR_MAX]);
enum s3_status iceberg_store_put_staged(struct iceberg_store *st, const char *key,
                                        const char *path, char err[ERROR_MAX]);
/* Remove staged files older than grace_s (left by a process that died
 * before its put); the number removed. Nothing to do on local disk. */
int iceberg_store_clean_staging(struct iceberg_store *st, int64_t grace_s);

enum s3_status iceberg_store_put(struct iceberg_store *st, const char *key, const void *data,
                                 size_t len, bool exclusive, char err[ERROR_MAX]);
/* put of a local file's bytes (data files written to a staging directory). */
enum s3_status iceberg_store_put_file(struct iceberg_store *st, const char *key,
                                      const char *path, bool exclusive, char err[ERROR_MAX]);
/* The bytes of key appended to out. */
enum s3_status iceberg_store_get(struct iceberg_store *st, const char *key, struct strbuf *out,
                                 char err[ERROR_MAX]);
/* Remove key; a missing key is not an error. */
enum s3_status iceberg_store_delete(struct iceberg_store *st, const char *key, char err[ERROR_MAX]);

/* Called per file under a prefix: its key, size and modification time
 * (milliseconds since the epoch; 0 when unknown). Nonzero stops. */
typedef int (*iceberg_store_list_fn)(const char *key, int64_t size, int64_t mtime_ms, void *arg);
/* Every file whose key starts with prefix (orphan cleanup), in no set order. */
enum s3_status iceberg_store_list(struct iceberg_store *st, const char *prefix,
                                  iceberg_store_list_fn fn, void *arg, char err[ERROR_MAX]);

#endif

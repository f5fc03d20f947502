/* config.h - every setting of the system, declared once in a table.
 *
 * The table in config.c (name, type, default, offset, help) drives parsing of
 * the JSON config file, environment overrides, `--help` output and the README.
 * Precedence, lowest to highest: built-in default < config file < environment
 * (LAKEHOUSE_<NAME in upper case>, e.g. LAKEHOUSE_SEAL_MAX_AGE_MS; for
 * data_dir it is LAKEHOUSE_DATA, for http_listen LAKEHOUSE_LISTEN) < the --data
 * command-line option. Unknown keys, duplicate keys and values of the wrong
 * type are errors naming the key and the file. An environment variable set to "" counts as unset; other
 * LAKEHOUSE_* variables are ignored. A relative data_dir in the config file is
 * relative to the file's directory; elsewhere to the working directory.
 * Every integer setting must be >= 1; restart_backoff_min_ms <= _max_ms and
 * record_max_bytes <= batch_max_bytes. The struct is read-only after start.
 *
 * Socket endpoints left empty are derived from data_dir:
 *   events_pub_endpoint       ipc://<data_dir>/run/events-in.sock   (broker XSUB binds; publishers connect)
 *   events_sub_endpoint       ipc://<data_dir>/run/events-out.sock  (broker XPUB binds; subscribers connect)
 *   ingest_endpoint           ipc://<data_dir>/run/ingest.sock      (ingest ROUTER binds; producers connect)
 *   processor_control_endpoint ipc://<data_dir>/run/processor.sock (processor REP: replay requests)
 *   transformer_control_endpoint ipc://<data_dir>/run/transformer.sock (transformer REP: run-now requests)
 * data_dir is made absolute at load time (symlinks resolved as far as the
 * path exists). Every ipc:// endpoint path must fit a unix socket address
 * (107 characters); a longer one is a load error that says so. */
#ifndef LAKEHOUSE_CONFIG_H
#define LAKEHOUSE_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include "error.h"

#define CONFIG_ENDPOINT_MAX 256

struct config {
    char data_dir[PATH_MAX];        /* default "./lakehouse" */
    char log_level[16];             /* debug|info|warn|error, default info */
    char log_format[16];            /* text|json, default text */

    char events_pub_endpoint[CONFIG_ENDPOINT_MAX];
    char events_sub_endpoint[CONFIG_ENDPOINT_MAX];
    char ingest_endpoint[CONFIG_ENDPOINT_MAX];
    char processor_control_endpoint[CONFIG_ENDPOINT_MAX];
    char transformer_control_endpoint[CONFIG_ENDPOINT_MAX];

    /* ingest */
    int64_t seal_max_bytes;         /* seal a spool file at this size; default 4 MiB */
    int64_t seal_max_age_ms;        /* ...or this old; default 200 (sub-second freshness) */
    int64_t seal_quiet_ms;          /* ...or this long without a commit; default 10, 0 = off */
    int64_t batch_max_records;      /* records per producer batch; default 10000 */
    int64_t batch_max_bytes;        /* body bytes per producer batch; default 16 MiB */
    int64_t record_max_bytes;       /* bytes per record; default 1 MiB */
    int64_t group_commit_max_batches; /* batches sharing one fdatasync; default 256 */
    int64_t ingest_queue_max_bytes; /* bytes of requests held before replying busy; default 64 MiB */
    int64_t batch_id_window;        /* remembered batch ids for re-send dedup; default 100000 */

    /* processor / transformer */
    int64_t reconcile_interval_ms;  /* periodic re-scan of durable state; default 10000 */
    int64_t silver_cache_mib;       /* processor's page cache per silver database; default 32 */
    int64_t merge_group_max_bytes;  /* pending bronze bytes of a table merged in one transaction; default 4 MiB */

    /* broker / supervision */
    int64_t restart_backoff_min_ms; /* default 200 */
    int64_t restart_backoff_max_ms; /* default 30000 */
    int64_t stop_timeout_ms;        /* per child, before SIGKILL; default 20000 */
    int64_t worker_nice;            /* processor and transformer niceness; default 5 */

    /* query */
    int64_t query_timeout_ms;       /* default 10000 */
    int64_t query_max_rows;         /* default 10000 */
    int64_t query_max_memory_mib;   /* heap of one query; over it -> error; default 256 */
    int64_t query_max_concurrent;   /* queries at once in the broker; more -> 503; default 4 */

    /* HTTP API (broker) */
    char http_listen[CONFIG_ENDPOINT_MAX]; /* host:port; default "127.0.0.1:8080" */
    char http_token[256];           /* bearer token; "" = none (then loopback only) */
    int64_t http_body_max_bytes;    /* request body limit, larger -> 413; default 16 MiB */
    int64_t http_ingest_timeout_ms; /* wait for ingest's ack, then 503; default 15000 */
    char http_token_file[PATH_MAX]; /* file holding the token (config_read_token_file) */
    char http_cors_origins[1024];   /* origins allowed cross-origin, space/comma separated */
    char http_tls_cert_file[PATH_MAX]; /* PEM certificate (chain): serve HTTPS */
    char http_tls_key_file[PATH_MAX];  /* PEM private key of that certificate */
    int64_t http_max_connections;   /* open connections at once; default 4096 */
    int64_t http_max_connections_per_ip; /* ...from one address; default 1024 */
    int64_t http_request_timeout_ms; /* receive a whole request within; default 30000 */
    int64_t http_max_event_streams; /* concurrent GET /events streams; default 16 */

    /* ZeroMQ CURVE on a tcp:// ingest_endpoint (curve.h); "" = off */
    char curve_server_secret_key_file[PATH_MAX]; /* ingest's secret key */
    char curve_authorized_keys_dir[PATH_MAX];    /* *.pub keys of the clients allowed in */
    char curve_client_secret_key_file[PATH_MAX]; /* a producer's secret key */
    char curve_server_public_key_file[PATH_MAX]; /* ingest's public key, for producers */

    /* retention and compaction (common/retention_policy.h, processor/bronze_silver_retention.c) */
    int64_t retention_bronze_days;  /* bronze files (by dt= date); default 90 */
    int64_t retention_silver_days;  /* silver snapshots + row history; default 730 */
    int64_t retention_gold_days;    /* gold snapshots; default 2555 */
    char retention_tables[1024];    /* per-table overrides "layer:domain/table=days ..."; "" none */
    int64_t vacuum_interval_days;   /* VACUUM silver databases this often; default 7 */

    /* Iceberg export (processor/export.c) */
    char iceberg_export[16];        /* off | local | s3; default local */
    int64_t iceberg_export_interval_s; /* export changed tables this often; default 60 */
    /* S3 target of the Iceberg export (s3.h); credentials never live here */
    char s3_endpoint[CONFIG_ENDPOINT_MAX]; /* http(s)://host[:port] */
    char s3_region[64];             /* default "us-east-1" */
    char s3_bucket[256];
    char s3_prefix[512];            /* key prefix of the table tree; "" = bucket root */
    int64_t s3_path_style;          /* 1 (default): <endpoint>/<bucket>/<key>; 0: virtual-hosted */
    char s3_credentials_file[PATH_MAX]; /* aws_access_key_id / aws_secret_access_key lines */
};

/* Fill cfg from defaults, then the JSON file at path (NULL: none), then the
 * environment, then data_dir_override (NULL: none). Derives empty endpoints.
 * Returns 0, or -1 with err such as "config /etc/x.json: unknown key 'seal_ms'". */
int config_load(struct config *cfg, const char *path, const char *data_dir_override,
                char err[ERROR_MAX]);

/* Settings that a running process applies again on SIGHUP (reload.h); every
 * other change needs a restart. */
#define CONFIG_RELOADABLE "log_level, log_format"

/* When cfg->http_token is empty and cfg->http_token_file is set, read the
 * token from that file (surrounding white space removed). Returns 0 (also
 * when there is nothing to read), -1 with err naming the file when it cannot
 * be read or is empty. The broker fails to start on -1; the `lakehouse`
 * command ignores it (the file is readable by root and the lakehouse group
 * only). */
int config_read_token_file(struct config *cfg, char err[ERROR_MAX]);

/* Split http_listen's "host:port" or "[v6]:port" into host and port (-1 with
 * err naming the value when it has neither form). */
int config_split_listen(const char *listen, char *host, size_t host_size, char *port,
                        size_t port_size, char err[ERROR_MAX]);

/* Receives each problem found by config_check_file. */
typedef void (*config_report_fn)(const char *problem, void *arg);

/* Validate the JSON config file at path without stopping at the first
 * problem: syntax, unknown keys, values of the wrong type or out of range
 * (each message names the key and the value), and the rules between keys.
 * The environment is not read. Returns the number of problems (0: valid). */
int config_check_file(const char *path, config_report_fn report, void *arg);

/* Print the default configuration as a JSON config file with the given
 * data_dir and http_token_file ("" = none; endpoints left empty, i.e.
 * derived): `make install` writes /etc/lakehouse/lakehouse.json with it,
 * and config_load reads it back. */
void config_print_defaults(const char *data_dir, const char *token_file, FILE *out);

/* Print every option with its type, default and help (for --help and docs). */
void config_print_help(FILE *out);

/* Print the effective configuration as JSON (secrets such as http_token
 * are shown as "(set)", never their value). */
void config_print(const struct config *cfg, FILE *out);

#endif

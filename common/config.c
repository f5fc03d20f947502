/* config.c - the settings table and its sources (see config.h).
 *
 * Each option is declared once in config_options[]; loading, --help and the
 * printed configuration all walk that table, so a new setting is one line. */
#include "config.h"
#include "s3.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "layout.h"
#include "log.h"
#include "retention_policy.h"

#define CONFIG_FILE_MAX (1024 * 1024)
/* sun_path is 108 bytes: a unix socket path has at most 107 characters. */
#define CONFIG_IPC_PATH_MAX 107

enum config_type { CONFIG_STRING, CONFIG_INT };

struct config_option {
    const char *name;
    enum config_type type;
    const char *default_string; /* CONFIG_STRING */
    int64_t default_int;        /* CONFIG_INT */
    size_t offset;
    size_t size;                /* CONFIG_STRING: buffer size */
    const char *env;            /* NULL: LAKEHOUSE_<NAME in upper case> */
    const char *help;
    bool secret;                /* never printed (config_print) */
    int64_t min, max;           /* CONFIG_INT bounds; 0, 0 = any positive integer */
    const char *socket;         /* endpoints: the socket under <data_dir>/run/ when empty */
};

#define CONFIG_FIELD_SIZE(field) sizeof(((struct config *)0)->field)
#define CONFIG_FIELD(field) .name = #field, .offset = offsetof(struct config, field), \
                            .size = CONFIG_FIELD_SIZE(field)
/* A string read from LAKEHOUSE_<NAME> in the environment. */
#define STRING_OPTION(field, def, text) \
    {CONFIG_FIELD(field), .type = CONFIG_STRING, .default_string = def, .help = text}
/* A string with its own environment variable. */
#define ENV_STRING_OPTION(field, def, env_name, text) \
    {CONFIG_FIELD(field), .type = CONFIG_STRING, .default_string = def, .env = env_name, \
     .help = text}
/* A ZeroMQ endpoint; empty means ipc:// on the socket under <data_dir>/run/. */
#define ENDPOINT_OPTION(field, sock, text)                                              \
    {CONFIG_FIELD(field), .type = CONFIG_STRING, .default_string = "",                 \
     .help = text " (empty: ipc://<data_dir>/run/" sock ")", .socket = sock}
/* A string never printed back (tokens). */
#define SECRET_OPTION(field, text) \
    {CONFIG_FIELD(field), .type = CONFIG_STRING, .default_string = "", .help = text, \
     .secret = true}
#define INT_OPTION(field, def, text) \
    {CONFIG_FIELD(field), .type = CONFIG_INT, .default_int = def, .help = text}
/* An integer between lo and hi (both included). */
#define INT_RANGE_OPTION(field, def, lo, hi, text) \
    {CONFIG_FIELD(field), .type = CONFIG_INT, .default_int = def, .help = text, .min = lo, \
     .max = hi}

static const struct config_option config_options[] = {
    ENV_STRING_OPTION(data_dir, "./lakehouse", "LAKEHOUSE_DATA",
                  "root of all data (made absolute; relative paths in a config file are "
                  "relative to that file)"),
    STRING_OPTION(log_level, "info", "debug, info, warn or error (SIGHUP reloads it)"),
    STRING_OPTION(log_format, "text",
                  "text (key=value) or json (one JSON object per line) (SIGHUP reloads it)"),
    ENDPOINT_OPTION(events_pub_endpoint, "events-in.sock",
                    "where publishers connect and the broker XSUB binds"),
    ENDPOINT_OPTION(events_sub_endpoint, "events-out.sock",
                    "where subscribers connect and the broker XPUB binds"),
    ENDPOINT_OPTION(ingest_endpoint, "ingest.sock", "producer socket, ingest ROUTER binds"),
    ENDPOINT_OPTION(processor_control_endpoint, "processor.sock", "processor control socket"),
    ENDPOINT_OPTION(transformer_control_endpoint, "transformer.sock",
                    "transformer control socket"),
    INT_OPTION(seal_max_bytes, 4 * 1024 * 1024, "seal a spool file into bronze at this size"),
    INT_OPTION(seal_max_age_ms, 200, "...or when it is this old"),
    INT_RANGE_OPTION(seal_quiet_ms, 10, 0, 3600000,
               "...or when no record reached it for this long (0: seal by size and age only)"),
    INT_OPTION(batch_max_records, 10000, "records per producer batch"),
    INT_OPTION(batch_max_bytes, 16 * 1024 * 1024, "body bytes per producer batch"),
    INT_OPTION(record_max_bytes, 1024 * 1024, "bytes per record"),
    INT_OPTION(group_commit_max_batches, 256, "batches sharing one fdatasync"),
    INT_OPTION(ingest_queue_max_bytes, 64 * 1024 * 1024,
               "request bytes held by ingest before it answers busy"),
    INT_OPTION(batch_id_window, 100000, "batch ids remembered to answer re-sends"),
    INT_OPTION(reconcile_interval_ms, 10000, "period of the re-scan of durable state"),
    INT_RANGE_OPTION(silver_cache_mib, 32, 1, 4096,
                     "SQLite page cache of each silver database the processor writes (MiB; "
                     "part of its memory bound)"),
    INT_RANGE_OPTION(merge_group_max_bytes, 4 * 1024 * 1024, 0, INT64_C(1) << 40,
                     "bronze bytes (on disk) of one table's pending files the processor merges "
                     "in one transaction (0: one file per transaction)"),
    INT_OPTION(restart_backoff_min_ms, 200, "first delay before restarting a crashed worker"),
    INT_OPTION(restart_backoff_max_ms, 30000, "longest delay before restarting a crashed worker"),
    INT_OPTION(stop_timeout_ms, 20000, "wait per worker after SIGTERM before SIGKILL"),
    INT_RANGE_OPTION(worker_nice, 5, 0, 19,
                     "niceness the broker gives the processor and transformer (ingest keeps 0: "
                     "acknowledging producers comes before merging)"),
    INT_OPTION(query_timeout_ms, 10000, "longest run of one query"),
    INT_RANGE_OPTION(query_max_rows, 10000, 1, 10000000,
                     "rows returned by one query (the answer is built in memory)"),
    INT_RANGE_OPTION(query_max_memory_mib, 256, 8, 65536,
                     "memory one query may use (MiB; strings and blobs, sorts, page cache); "
                     "a query that needs more fails with an error"),
    INT_RANGE_OPTION(query_max_concurrent, 4, 1, 256,
                     "queries the broker runs at once; more are answered 503 with Retry-After"),
    ENV_STRING_OPTION(http_listen, "127.0.0.1:8080", "LAKEHOUSE_LISTEN",
                  "HTTP API address host:port (IPv6 as [::1]:8080); without http_token it "
                  "must be a loopback address"),
    SECRET_OPTION(http_token,
                  "bearer token required on every HTTP route but GET / (empty: none, "
                  "loopback only)"),
    INT_OPTION(http_body_max_bytes, 16 * 1024 * 1024,
               "largest HTTP request body; a larger one is answered 413"),
    INT_OPTION(http_ingest_timeout_ms, 15000,
               "how long POST /ingest waits for ingest's durable ack before answering 503"),
    STRING_OPTION(http_token_file, "",
                  "file whose content is the bearer token (used when http_token is empty); "
                  "`make install` generates /etc/lakehouse/http_token"),
    STRING_OPTION(http_cors_origins, "",
                  "origins (scheme://host[:port], space or comma separated) whose browser "
                  "requests are allowed, with CORS answers; other foreign origins get 403"),
    STRING_OPTION(http_tls_cert_file, "",
                  "PEM certificate (chain) file: with http_tls_key_file the API serves HTTPS"),
    STRING_OPTION(http_tls_key_file, "", "PEM private key file of http_tls_cert_file"),
    INT_RANGE_OPTION(http_max_connections, 4096, 1, 1000000,
                     "open HTTP connections at once; beyond it new ones are closed at accept"),
    INT_RANGE_OPTION(http_max_connections_per_ip, 1024, 1, 1000000,
                     "open HTTP connections from one client address"),
    INT_OPTION(http_request_timeout_ms, 30000,
               "time to receive a whole request (headers and body, counted from the "
               "connection or the previous answer); a slower one is closed"),
    INT_RANGE_OPTION(http_max_event_streams, 16, 0, 1024,
                     "concurrent GET /events streams; one more is answered 503 with Retry-After"),
    STRING_OPTION(curve_server_secret_key_file, "",
                  "ingest's CURVE secret key file (Z85, `lakehouse keygen`); turns CURVE on "
                  "for a tcp:// ingest_endpoint (relative paths: to data_dir)"),
    STRING_OPTION(curve_authorized_keys_dir, "",
                  "directory of the *.pub CURVE public keys of the producers ingest accepts "
                  "(read at each connection)"),
    STRING_OPTION(curve_client_secret_key_file, "",
                  "a producer's CURVE secret key file (lakehouse send, the broker's HTTP "
                  "ingest)"),
    STRING_OPTION(curve_server_public_key_file, "",
                  "ingest's CURVE public key file; turns CURVE on for producers of a tcp:// "
                  "ingest_endpoint"),
    INT_OPTION(retention_bronze_days, 90, "days bronze files are kept (by their dt= date)"),
    INT_OPTION(retention_silver_days, 730,
               "days silver snapshot history and row history are kept (never the current rows)"),
    INT_OPTION(retention_gold_days, 2555,
               "days gold snapshot history and row history are kept (never the current rows)"),
    STRING_OPTION(retention_tables, "",
                  "per-table retention overrides, e.g. \"bronze:demo/flights=30 "
                  "silver:demo/flights=365 gold:demo/flights_by_origin=3650\""),
    INT_OPTION(vacuum_interval_days, 7, "VACUUM each silver database this often (daily maintenance)"),
    STRING_OPTION(iceberg_export, "local",
                  "publish silver and gold tables as Iceberg v2 tables: off, local (under "
                  "<data_dir>/iceberg/) or s3 (under s3://<s3_bucket>/<s3_prefix>/)"),
    INT_OPTION(iceberg_export_interval_s, 60,
               "export the tables that changed this often (seconds; `lakehouse export` at once)"),
    STRING_OPTION(s3_endpoint, "",
                  "S3 server of iceberg_export s3, http(s)://host[:port] (e.g. "
                  "https://s3.eu-west-1.amazonaws.com)"),
    STRING_OPTION(s3_region, "us-east-1", "S3 region (signs requests)"),
    STRING_OPTION(s3_bucket, "", "S3 bucket of iceberg_export s3"),
    STRING_OPTION(s3_prefix, "",
                  "key prefix of the exported tables in s3_bucket (one per lakehouse group)"),
    INT_RANGE_OPTION(s3_path_style, 1, 0, 1,
                     "1 (or true): path-style URLs <endpoint>/<bucket>/<key>; 0 (false): "
                     "virtual-hosted <bucket>.<host>"),
    STRING_OPTION(s3_credentials_file, "",
                  "file with aws_access_key_id = ... and aws_secret_access_key = ... lines "
                  "(used when LAKEHOUSE_S3_ACCESS_KEY_ID / LAKEHOUSE_S3_SECRET_ACCESS_KEY "
                  "are not set; never logged)"),
};

#define CONFIG_OPTION_COUNT (sizeof config_options / sizeof config_options[0])

static const struct config_option *config_find(const char *name)
{
    for (size_t i = 0; i < CONFIG_OPTION_COUNT; i++)
        if (strcmp(config_options[i].name, name) == 0)
            return &config_options[i];
    return NULL;
}

static void config_env_name(const struct config_option *opt, char out[128])
{
    if (opt->env != NULL) {
        snprintf(out, 128, "%s", opt->env);
        return;
    }
    int n = snprintf(out, 128, "LAKEHOUSE_");
    for (const char *p = opt->name; *p != '\0' && n < 127; p++)
        out[n++] = (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

static char *config_string(struct config *cfg, const struct config_option *opt)
{
    return (char *)cfg + opt->offset;
}

static int64_t *config_int(struct config *cfg, const struct config_option *opt)
{
    return (int64_t *)(void *)((char *)cfg + opt->offset);
}

static int64_t config_int_value(const struct config *cfg, const struct config_option *opt)
{
    return *(const int64_t *)(const void *)((const char *)cfg + opt->offset);
}

/* source names where the value came from, for the message. */
static int config_set_string(struct config *cfg, const struct config_option *opt,
                             const char *value, const char *source, char err[ERROR_MAX])
{
    if (strlen(value) >= opt->size)
        return error_set(err, "%s: value of '%s' is too long (at most %zu bytes)", source,
                         opt->name, opt->size - 1);
    memcpy(config_string(cfg, opt), value, strlen(value) + 1);
    return 0;
}

static void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < CONFIG_OPTION_COUNT; i++) {
        const struct config_option *opt = &config_options[i];
        if (opt->type == CONFIG_STRING)
            snprintf(config_string(cfg, opt), opt->size, "%s", opt->default_string);
        else
            *config_int(cfg, opt) = opt->default_int;
    }
}

/* A relative data_dir in a file means relative to that file, so that a
 * config file works the same from any working directory. */
static int config_file_data_dir(struct config *cfg, const char *path, const char *value,
                                const char *source, char err[ERROR_MAX])
{
    const char *slash = strrchr(path, '/');
    if (value[0] == '/' || value[0] == '\0' || slash == NULL)
        return config_set_string(cfg, config_find("data_dir"), value, source, err);
    char joined[PATH_MAX];
    if (fsutil_path(joined, sizeof joined, err, "%.*s/%s", (int)(slash - path), path, value) < 0)
        return error_prefix(err, "%s: data_dir", source);
    return config_set_string(cfg, config_find("data_dir"), joined, source, err);
}

/* Apply the file to cfg, reporting every problem (not only the first) so
 * that one run of `lakehouse config check` lists them all. Returns the
 * number of problems. */
static int config_apply_file(struct config *cfg, const char *path, config_report_fn report,
                             void *arg)
{
    char source[ERROR_MAX];
    char err[ERROR_MAX];
    snprintf(source, sizeof source, "config %.400s", path);
    char *text = NULL;
    size_t len = 0;
    if (fsutil_read_file(path, CONFIG_FILE_MAX, &text, &len, err) < 0) {
        error_prefix(err, "%s", source);
        report(err, arg);
        return 1;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (root == NULL) {
        error_set(err, "%s: line %d column %d: %s", source, jerr.line, jerr.column, jerr.text);
        report(err, arg);
        return 1;
    }
    int problems = 0;
    if (!json_is_object(root)) {
        error_set(err, "%s: expected a JSON object", source);
        report(err, arg);
        json_decref(root);
        return 1;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        const struct config_option *opt = config_find(key);
        err[0] = '\0';
        if (opt == NULL) {
            error_set(err, "%s: unknown key '%.100s'", source, key);
        } else if (opt->type == CONFIG_INT) {
            if (json_is_integer(value))
                *config_int(cfg, opt) = json_integer_value(value);
            else if (json_is_boolean(value) && opt->min == 0 && opt->max == 1)
                *config_int(cfg, opt) = json_is_true(value); /* a 0/1 switch */
            else
                error_set(err, "%s: key '%s' must be an integer, got %s%.100s%s", source, key,
                          json_is_string(value) ? "'" : "",
                          json_is_string(value) ? json_string_value(value) : "another type",
                          json_is_string(value) ? "'" : "");
        } else if (!json_is_string(value)) {
            error_set(err, "%s: key '%s' must be a string", source, key);
        } else if (strcmp(key, "data_dir") == 0) {
            config_file_data_dir(cfg, path, json_string_value(value), source, err);
        } else {
            config_set_string(cfg, opt, json_string_value(value), source, err);
        }
        if (err[0] != '\0') {
            report(err, arg);
            problems++;
        }
    }
    json_decref(root);
    return problems;
}

/* A reporter that joins every problem into one err message. */
struct config_joined {
    char *err;
    int count;
};

static void config_join(const char *problem, void *arg)
{
    struct config_joined *j = arg;
    size_t used = strlen(j->err);
    if (j->count++ == 0)
        snprintf(j->err, ERROR_MAX, "%s", problem);
    else if (used + 3 < ERROR_MAX)
        snprintf(j->err + used, ERROR_MAX - used, "; %s", problem);
}

static int config_load_file(struct config *cfg, const char *path, char err[ERROR_MAX])
{
    err[0] = '\0';
    struct config_joined joined = {err, 0};
    return config_apply_file(cfg, path, config_join, &joined) > 0 ? -1 : 0;
}

static int config_load_env(struct config *cfg, char err[ERROR_MAX])
{
    for (size_t i = 0; i < CONFIG_OPTION_COUNT; i++) {
        const struct config_option *opt = &config_options[i];
        char name[128];
        config_env_name(opt, name);
        const char *value = getenv(name);
        if (value == NULL || value[0] == '\0') /* set but empty counts as unset */
            continue;
        char source[160];
        snprintf(source, sizeof source, "environment %s", name);
        if (opt->type == CONFIG_STRING) {
            if (config_set_string(cfg, opt, value, source, err) < 0)
                return -1;
            continue;
        }
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0')
            return error_set(err, "%s: '%.100s' is not an integer", source, value);
        *config_int(cfg, opt) = v;
    }
    return 0;
}

/* Make cfg->data_dir absolute: realpath when it exists, else realpath of the
 * parent plus the last component, else the working directory joined. */
static int config_absolute_data_dir(struct config *cfg, char err[ERROR_MAX])
{
    char *dir = cfg->data_dir;
    if (dir[0] == '\0')
        return error_set(err, "data_dir is empty");
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = '\0';
    char resolved[PATH_MAX];
    char joined[PATH_MAX];
    if (realpath(dir, resolved) != NULL)
        return fsutil_path(dir, sizeof cfg->data_dir, err, "%s", resolved);
    if (errno != ENOENT)
        return error_set(err, "data_dir %s: %s", dir, strerror(errno));

    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    char parent[PATH_MAX];
    if (slash == NULL)
        snprintf(parent, sizeof parent, ".");
    else if (slash == dir)
        snprintf(parent, sizeof parent, "/");
    else
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - dir), dir);
    if (realpath(parent, resolved) != NULL) {
        if (fsutil_path(joined, sizeof joined, err, "%s%s%s", resolved,
                        strcmp(resolved, "/") == 0 ? "" : "/", base) < 0)
            return error_prefix(err, "data_dir");
        return fsutil_path(dir, sizeof cfg->data_dir, err, "%s", joined);
    }
    if (dir[0] == '/')
        return 0;
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return error_set(err, "data_dir %s: cannot get the working directory: %s", dir,
                         strerror(errno));
    const char *rel = dir;
    while (strncmp(rel, "./", 2) == 0)
        rel += 2;
    if (fsutil_path(joined, sizeof joined, err, "%s/%s", cwd, rel) < 0)
        return error_prefix(err, "data_dir");
    return fsutil_path(dir, sizeof cfg->data_dir, err, "%s", joined);
}

int config_read_token_file(struct config *cfg, char err[ERROR_MAX])
{
    if (cfg->http_token[0] != '\0' || cfg->http_token_file[0] == '\0')
        return 0;
    char *text = NULL;
    size_t len = 0;
    if (fsutil_read_file(cfg->http_token_file, 4096, &text, &len, err) < 0)
        return error_prefix(err, "http_token_file");
    size_t start = 0;
    while (start < len && isspace((unsigned char)text[start]))
        start++;
    while (len > start && isspace((unsigned char)text[len - 1]))
        len--;
    if (len == start || len - start >= sizeof cfg->http_token) {
        free(text);
        return error_set(err, "http_token_file '%.300s': %s", cfg->http_token_file,
                         len == start ? "the file is empty" : "the token is over 255 bytes");
    }
    memcpy(cfg->http_token, text + start, len - start);
    cfg->http_token[len - start] = '\0';
    free(text);
    return 0;
}

/* "host:port" or "[v6]:port" -> host and port strings. */
int config_split_listen(const char *listen, char *host, size_t host_size, char *port,
                        size_t port_size, char err[ERROR_MAX])
{
    const char *colon;
    const char *h = listen;
    size_t hlen;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':')
            return error_set(err, "http_listen '%.200s': expected [address]:port", listen);
        h = listen + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL)
            return error_set(err, "http_listen '%.200s': expected host:port", listen);
        hlen = (size_t)(colon - listen);
    }
    const char *p = colon + 1;
    if (hlen == 0 || hlen >= host_size || *p == '\0' || strlen(p) >= port_size ||
        strspn(p, "0123456789") != strlen(p) || atol(p) > 65535)
        return error_set(err, "http_listen '%.200s': expected host:port with a port 0-65535",
                         listen);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, port_size, "%s", p);
    return 0;
}

/* -1 not loopback, 1 loopback, 0 a host name only resolving can tell (the
 * broker checks the resolved address again when it binds). */
static int config_host_loopback(const char *host)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, host, addr) == 1)
        return addr[0] == 127 ? 1 : -1;
    if (inet_pton(AF_INET6, host, addr) == 1) {
        static const unsigned char v6_loopback[16] = {[15] = 1};
        return memcmp(addr, v6_loopback, 16) == 0 ? 1 : -1;
    }
    return strcmp(host, "localhost") == 0 ? 1 : 0;
}

/* The string settings whose form can be checked without opening anything. */
static int config_check_strings(const struct config *cfg, config_report_fn report, void *arg)
{
    char err[ERROR_MAX];
    int problems = 0;
    char host[256], port[8];
    if (config_split_listen(cfg->http_listen, host, sizeof host, port, sizeof port, err) < 0) {
        report(err, arg);
        problems++;
    } else if (cfg->http_token[0] == '\0' && cfg->http_token_file[0] == '\0' &&
               config_host_loopback(host) < 0) {
        error_set(err, "http_listen '%.200s': a non-loopback address needs http_token (or "
                       "LAKEHOUSE_HTTP_TOKEN): without a token the API serves loopback only",
                  cfg->http_listen);
        report(err, arg);
        problems++;
    }
    for (size_t i = 0; i < CONFIG_OPTION_COUNT; i++) {
        const struct config_option *opt = &config_options[i];
        const char *ep = (const char *)cfg + opt->offset;
        if (opt->socket != NULL && ep[0] != '\0' && strncmp(ep, "ipc://", 6) != 0 && strncmp(ep, "tcp://", 6) != 0) {
            error_set(err, "%s '%.200s': must be ipc://PATH or tcp://HOST:PORT (or empty for "
                           "the default)", opt->name, ep);
            report(err, arg);
            problems++;
        }
    }
    if (retention_check_overrides(cfg->retention_tables, err) < 0) {
        report(err, arg);
        problems++;
    }
    if ((cfg->http_tls_cert_file[0] == '\0') != (cfg->http_tls_key_file[0] == '\0')) {
        report("http_tls_cert_file and http_tls_key_file: set both (HTTPS) or neither", arg);
        problems++;
    }
    return problems;
}

/* The files named by settings that a process reads at start: each must exist
 * and be readable by whoever runs the check. */
static int config_check_files(const struct config *cfg, config_report_fn report, void *arg)
{
    static const char *const keys[] = {"http_token_file", "http_tls_cert_file",
                                       "http_tls_key_file"};
    char err[ERROR_MAX];
    int problems = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *path = config_string((struct config *)cfg, config_find(keys[i]));
        if (path[0] == '\0' || access(path, R_OK) == 0)
            continue;
        error_set(err, "%s '%.300s': cannot read: %s", keys[i], path, strerror(errno));
        report(err, arg);
        problems++;
    }
    return problems;
}

/* Every bad value, each naming its key and value. Returns the count. */
static int config_check_values(const struct config *cfg, config_report_fn report, void *arg)
{
    char err[ERROR_MAX];
    int problems = 0;
    enum log_level level;
    enum log_format format;
    if (log_level_from_name(cfg->log_level, &level) < 0) {
        error_set(err, "log_level '%.100s': must be debug, info, warn or error", cfg->log_level);
        report(err, arg);
        problems++;
    }
    if (log_format_from_name(cfg->log_format, &format) < 0) {
        error_set(err, "log_format '%.100s': must be text or json", cfg->log_format);
        report(err, arg);
        problems++;
    }
    if (strcmp(cfg->iceberg_export, "off") != 0 && strcmp(cfg->iceberg_export, "local") != 0 &&
        strcmp(cfg->iceberg_export, "s3") != 0) {
        error_set(err, "iceberg_export '%.100s': must be off, local or s3", cfg->iceberg_export);
        report(err, arg);
        problems++;
    }
    for (size_t i = 0; i < CONFIG_OPTION_COUNT; i++) {
        const struct config_option *opt = &config_options[i];
        if (opt->type != CONFIG_INT)
            continue;
        int64_t v = config_int_value(cfg, opt);
        bool ranged = opt->min != 0 || opt->max != 0;
        if (!ranged && v < 1) {
            error_set(err, "%s: must be a positive integer, got %lld", opt->name, (long long)v);
            report(err, arg);
            problems++;
        } else if (ranged && (v < opt->min || v > opt->max)) {
            error_set(err, "%s: must be between %lld and %lld, got %lld", opt->name,
                      (long long)opt->min, (long long)opt->max, (long long)v);
            report(err, arg);
            problems++;
        }
    }
    if (cfg->restart_backoff_min_ms > cfg->restart_backoff_max_ms) {
        error_set(err, "restart_backoff_min_ms (%lld) is larger than restart_backoff_max_ms (%lld)",
                  (long long)cfg->restart_backoff_min_ms, (long long)cfg->restart_backoff_max_ms);
        report(err, arg);
        problems++;
    }
    if (cfg->record_max_bytes > cfg->batch_max_bytes) {
        error_set(err, "record_max_bytes (%lld) is larger than batch_max_bytes (%lld)",
                  (long long)cfg->record_max_bytes, (long long)cfg->batch_max_bytes);
        report(err, arg);
        problems++;
    }
    return problems + config_check_strings(cfg, report, arg);
}

static int config_check(const struct config *cfg, char err[ERROR_MAX])
{
    err[0] = '\0';
    struct config_joined joined = {err, 0};
    return config_check_values(cfg, config_join, &joined) > 0 ? -1 : 0;
}

/* Fill empty endpoints, then check every ipc:// path against the kernel's
 * limit: zmq_bind would fail later with a far less helpful message. */
static int config_endpoints(struct config *cfg, char err[ERROR_MAX])
{
    for (size_t i = 0; i < CONFIG_OPTION_COUNT; i++) {
        const struct config_option *opt = &config_options[i];
        if (opt->socket == NULL)
            continue;
        char *ep = config_string(cfg, opt);
        bool derived = ep[0] == '\0';
        if (derived &&
            layout_run_endpoint(ep, CONFIG_ENDPOINT_MAX, cfg->data_dir, opt->socket,
                                err) < 0)
            return error_set(err, "%s: data_dir '%.300s' is too long for a derived ipc:// "
                                  "endpoint; use a shorter data_dir or set the endpoint",
                             opt->name, cfg->data_dir);
        if (strncmp(ep, "ipc://", 6) != 0)
            continue;
        size_t len = strlen(ep + 6);
        if (len > CONFIG_IPC_PATH_MAX)
            return error_set(err,
                             "%s: socket path '%.300s' is %zu characters, over the %d allowed "
                             "for unix sockets; %s",
                             opt->name, ep + 6, len, CONFIG_IPC_PATH_MAX,
                             derived ? "use a shorter data_dir or set the endpoint "
                                       "(e.g. tcp://127.0.0.1:PORT)"
                                     : "use a shorter path or a tcp:// endpoint");
    }
    return 0;
}

int config_load(struct config *cfg, const char *path, const char *data_dir_override,
                char err[ERROR_MAX])
{
    config_defaults(cfg);
    if (path != NULL && config_load_file(cfg, path, err) < 0)
        return -1;
    if (config_load_env(cfg, err) < 0)
        return -1;
    if (data_dir_override != NULL &&
        config_set_string(cfg, config_find("data_dir"), data_dir_override, "--data", err) < 0)
        return -1;
    if (config_absolute_data_dir(cfg, err) < 0 || config_check(cfg, err) < 0 ||
        config_endpoints(cfg, err) < 0)
        return -1;
    return 0;
}

int config_check_file(const char *path, config_report_fn report, void *arg)
{
    struct config *cfg = malloc(sizeof *cfg);
    char err[ERROR_MAX];
    if (cfg == NULL) {
        report("out of memory", arg);
        return 1;
    }
    config_defaults(cfg);
    int problems = config_apply_file(cfg, path, report, arg);
    /* The token is often kept out of the file: one from the environment the
     * check runs in counts for the non-loopback rule of http_listen. */
    const char *env_token = getenv("LAKEHOUSE_HTTP_TOKEN");
    if (cfg->http_token[0] == '\0' && env_token != NULL && env_token[0] != '\0')
        snprintf(cfg->http_token, sizeof cfg->http_token, "%s", env_token);
    /* Keys with a bad type kept their defaults: the rest is still checked. */
    problems += config_check_values(cfg, report, arg);
    problems += config_check_files(cfg, report, arg);
    /* bucket, credentials (from this environment too) and a HEAD on the bucket */
    problems += s3_check_config(cfg, true, report, arg);
    if (config_absolute_data_dir(cfg, err) < 0 || config_endpoints(cfg, err) < 0) {
        report(err, arg);
        problems++;
    }
    free(cfg);
    return problems;
}

void config_print_defaults(const char *data_dir, const char *token_file, FILE *out)
{
    struct config *cfg = malloc(sizeof *cfg);
    if (cfg == NULL)
        return;
    config_defaults(cfg);
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", data_dir);
    snprintf(cfg->http_token_file, sizeof cfg->http_token_file, "%s", token_file);
    config_print(cfg, out);
    free(cfg);
}

void config_print_help(FILE *out)
{
    fprintf(out, "Settings (JSON config file key, environment variable):\n");
    for (size_t i = 0; i < CONFIG_OPTION_COUNT; i++) {
        const struct config_option *opt = &config_options[i];
        char env[128];
        config_env_name(opt, env);
        if (opt->type == CONFIG_INT)
            fprintf(out, "  %s  integer, default %lld, env %s\n", opt->name,
                    (long long)opt->default_int, env);
        else
            fprintf(out, "  %s  string, default \"%s\", env %s\n", opt->name,
                    opt->default_string, env);
        fprintf(out, "      %s\n", opt->help);
    }
}

void config_print(const struct config *cfg, FILE *out)
{
    json_t *root = json_object();
    for (size_t i = 0; root != NULL && i < CONFIG_OPTION_COUNT; i++) {
        const struct config_option *opt = &config_options[i];
        const char *text = (const char *)cfg + opt->offset;
        json_t *value = opt->type == CONFIG_INT ? json_integer(config_int_value(cfg, opt))
                        : opt->secret && text[0] != '\0' ? json_string("(set)")
                                                          : json_string(text);
        json_object_set_new(root, opt->name, value);
    }
    if (root != NULL)
        json_dumpf(root, out, JSON_INDENT(2));
    fputc('\n', out);
    json_decref(root);
}

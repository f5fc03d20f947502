/* query.c - read-only SQL over silver and gold (see query.h).
 *
 * Every query gets a fresh in-memory connection. The databases its SQL names
 * are ATTACHed with URI mode=ro (so even a bug in the authorizer could not
 * write), then an authorizer is installed that allows only reads - it comes
 * after our own ATTACHes because it refuses ATTACH. Errors from SQLite mention
 * the internal schema names ("silver_demo"."flights"); they are translated
 * back to the names the user wrote (demo.silver.flights). */
#include "read/query.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "read/bronze_vtab.h"
#include "growarray.h"
#include "layout.h"
#include "names.h"
#include "sqlref.h"
#include "timetravel.h"
#include "utf8.h"

/* Result bytes (roughly: the text of the values) after which a result is cut
 * and marked truncated, whatever max_rows says: bounded memory. */
#define QUERY_MAX_RESULT_BYTES (64u * 1024u * 1024u)
/* VM instructions between two checks of the clock. */
#define QUERY_PROGRESS_STEPS 1000
/* A writer checkpointing may hold a lock for a moment; never wait longer. */
#define QUERY_BUSY_TIMEOUT_MS 5000
/* SQLite heap outside queries (catalog and history connections) that the
 * process-wide cap leaves room for. */
#define QUERY_HEAP_BASE_MIB 64

void query_memory_limit(int64_t concurrent, int64_t per_query_mib)
{
    int64_t mib = concurrent * per_query_mib + QUERY_HEAP_BASE_MIB;
    sqlite3_hard_heap_limit64(mib * 1024 * 1024);
}

struct query_auth {
    char denied[ERROR_MAX]; /* what the authorizer refused, for the message */
};

struct query_clock {
    int64_t deadline_ms; /* monotonic; 0 = none */
    bool expired;
};

static int64_t query_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int query_progress(void *arg)
{
    struct query_clock *clock = arg;
    if (clock->deadline_ms > 0 && query_monotonic_ms() >= clock->deadline_ms) {
        clock->expired = true;
        return 1; /* interrupts the statement with SQLITE_INTERRUPT */
    }
    return 0;
}

static const char *query_str(const char *s) { return s != NULL ? s : ""; }

/* Only reads. Everything else is refused with a note saying what it was. */
static int query_authorize(void *arg, int action, const char *a1, const char *a2,
                           const char *db, const char *trigger)
{
    (void)trigger;
    struct query_auth *auth = arg;
    const char *what = NULL;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        /* load_extension() is also off at the connection level; refusing it
         * here gives a message instead of "not authorized". */
        if (a2 != NULL && (strcasecmp(a2, "load_extension") == 0 ||
                           strcasecmp(a2, "fts3_tokenizer") == 0)) {
            snprintf(auth->denied, sizeof auth->denied, "not allowed: function %s()", a2);
            return SQLITE_DENY;
        }
        return SQLITE_OK;
    case SQLITE_INSERT: what = "INSERT into"; break;
    case SQLITE_UPDATE: what = "UPDATE of"; break;
    case SQLITE_DELETE: what = "DELETE from"; break;
    case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TEMP_INDEX: what = "CREATE INDEX"; break;
    case SQLITE_CREATE_TABLE: case SQLITE_CREATE_TEMP_TABLE: what = "CREATE TABLE"; break;
    case SQLITE_CREATE_TRIGGER: case SQLITE_CREATE_TEMP_TRIGGER: what = "CREATE TRIGGER"; break;
    case SQLITE_CREATE_VIEW: case SQLITE_CREATE_TEMP_VIEW: what = "CREATE VIEW"; break;
    case SQLITE_CREATE_VTABLE: what = "CREATE VIRTUAL TABLE"; break;
    case SQLITE_DROP_INDEX: case SQLITE_DROP_TEMP_INDEX: what = "DROP INDEX"; break;
    case SQLITE_DROP_TABLE: case SQLITE_DROP_TEMP_TABLE: what = "DROP TABLE"; break;
    case SQLITE_DROP_TRIGGER: case SQLITE_DROP_TEMP_TRIGGER: what = "DROP TRIGGER"; break;
    case SQLITE_DROP_VIEW: case SQLITE_DROP_TEMP_VIEW: what = "DROP VIEW"; break;
    case SQLITE_DROP_VTABLE: what = "DROP VIRTUAL TABLE"; break;
    case SQLITE_ALTER_TABLE: what = "ALTER TABLE"; break;
    case SQLITE_ATTACH: what = "ATTACH"; a1 = NULL; break;
    case SQLITE_DETACH: what = "DETACH"; break;
    case SQLITE_PRAGMA: what = "PRAGMA"; break;
    case SQLITE_TRANSACTION: what = "transaction control"; a1 = NULL; break;
    case SQLITE_SAVEPOINT: what = "SAVEPOINT"; a1 = NULL; break;
    case SQLITE_ANALYZE: what = "ANALYZE"; break;
    case SQLITE_REINDEX: what = "REINDEX"; break;
    default: what = "this statement"; a1 = NULL; break;
    }
    if (a1 != NULL && (strcmp(a1, "sqlite_master") == 0 || strcmp(a1, "sqlite_schema") == 0 ||
                       strcmp(a1, "sqlite_temp_master") == 0 ||
                       strcmp(a1, "sqlite_temp_schema") == 0)) {
        /* DROP and CREATE first ask to write the schema table; so does a
         * pragma table-valued function (pragma_table_info()) */
        what = "schema changes or PRAGMA functions";
        a1 = NULL;
    }
    if (auth->denied[0] == '\0') {
        /* "silver_demo.flights": translated to demo.silver.flights later */
        bool qualify = a1 != NULL && db != NULL && strcmp(db, "main") != 0 &&
                       strcmp(db, "temp") != 0 && action != SQLITE_DETACH &&
                       action != SQLITE_PRAGMA;
        snprintf(auth->denied, sizeof auth->denied, "not allowed: %s%s%s%s%s (queries are read-only)",
                 what, a1 != NULL ? " " : "", qualify ? db : "", qualify ? "." : "",
                 query_str(a1));
    }
    return SQLITE_DENY;
}

/* Replace every "<layer>_<domain>." in msg by "<domain>.<layer>." so that
 * messages use the names the user wrote. */
static void query_translate_message(char *msg, size_t size, const struct sqlref *refs,
                                    size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char schema[SQLREF_SCHEMA_MAX];
        sqlref_schema_name(refs[i].layer, refs[i].domain, schema);
        char from[SQLREF_SCHEMA_MAX + 1];
        char to[NAMES_MAX + 16];
        snprintf(from, sizeof from, "%s.", schema);
        snprintf(to, sizeof to, "%s.%s.", refs[i].domain, sqlref_layer_name(refs[i].layer));
        size_t from_len = strlen(from);
        size_t to_len = strlen(to);
        char *p = msg;
        while ((p = strstr(p, from)) != NULL) {
            /* only at a word start: "xsilver_demo." is not ours */
            if (p != msg && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
                             (p[-1] >= '0' && p[-1] <= '9'))) {
                p += from_len;
                continue;
            }
            size_t rest = strlen(p + from_len);
            size_t prefix = (size_t)(p - msg);
            if (prefix + to_len + rest + 1 > size)
                break;
            memmove(p + to_len, p + from_len, rest + 1);
            memcpy(p, to, to_len);
            p += to_len;
        }
    }
}

/* Percent-encode the characters that mean something in a URI filename. */
static int query_uri(char *out, size_t size, const char *path)
{
    size_t n = 0;
    int w = snprintf(out, size, "file:");
    if (w < 0 || (size_t)w >= size)
        return -1;
    n = (size_t)w;
    for (const char *p = path; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '?' || c == '#' || c == '%' || c <= ' ' || c >= 0x7f) {
            if (n + 3 >= size)
                return -1;
            snprintf(out + n, 4, "%%%02X", c);
            n += 3;
        } else {
            if (n + 1 >= size)
                return -1;
            out[n++] = (char)c;
        }
    }
    w = snprintf(out + n, size - n, "?mode=ro");
    if (w < 0 || (size_t)w >= size - n)
        return -1;
    return 0;
}

static int query_db_path(char *out, size_t size, const char *data_dir, enum sqlref_layer layer,
                         const char *domain)
{
    if (layer == SQLREF_SILVER)
        return layout_silver_db(out, size, data_dir, domain);
    return layout_gold_db(out, size, data_dir, domain);
}

/* Attach every distinct (layer, domain) database referenced. */
static int query_attach(sqlite3 *db, const char *data_dir, const struct sqlref *refs, size_t count,
                        char err[ERROR_MAX])
{
    for (size_t i = 0; i < count; i++) {
        if (refs[i].layer == SQLREF_BRONZE) {
            /* one virtual table per referenced endpoint (bronze_vtab.h) */
            if (bronze_vtab_attach(db, data_dir, refs[i].domain, refs[i].table, err) != 0)
                return -1;
            continue;
        }
        bool seen = false;
        for (size_t j = 0; j < i; j++) {
            if (refs[j].layer == refs[i].layer && strcmp(refs[j].domain, refs[i].domain) == 0)
                seen = true;
        }
        if (seen)
            continue;
        char path[4096];
        char uri[3 * 4096 + 16];
        if (query_db_path(path, sizeof path, data_dir, refs[i].layer, refs[i].domain) != 0 ||
            query_uri(uri, sizeof uri, path) != 0)
            return error_set(err, "data directory path too long: %s", data_dir);
        struct stat st;
        if (stat(path, &st) != 0) {
            if (errno == ENOENT)
                return error_set(err, "no such domain database: %s (%s)", refs[i].domain,
                                 sqlref_layer_name(refs[i].layer));
            return error_set(err, "%s: %s", path, strerror(errno));
        }
        char schema[SQLREF_SCHEMA_MAX];
        sqlref_schema_name(refs[i].layer, refs[i].domain, schema);
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS ?2", -1, &stmt, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(stmt, 1, uri, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(stmt, 2, schema, -1, SQLITE_TRANSIENT);
            rc = sqlite3_step(stmt);
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE && rc != SQLITE_OK)
            return error_set(err, "cannot open %s database of domain %s (%s): %s",
                             sqlref_layer_name(refs[i].layer), refs[i].domain, path,
                             sqlite3_errmsg(db));
    }
    return 0;
}


/* jansson wants valid UTF-8: invalid bytes become U+FFFD. */
static json_t *query_text(const unsigned char *s, size_t len)
{
    json_t *v = json_stringn((const char *)s, len);
    if (v != NULL)
        return v;
    char *buf = malloc(len * 3 + 1);
    if (buf == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_sequence(s + i, len - i);
        if (k > 0) {
            memcpy(buf + n, s + i, k);
            n += k;
            i += k;
        } else {
            memcpy(buf + n, "\xef\xbf\xbd", 3);
            n += 3;
            i++;
        }
    }
    v = json_stringn(buf, n);
    free(buf);
    return v;
}

static json_t *query_value(sqlite3_stmt *stmt, int col, size_t *bytes)
{
    switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_INTEGER:
        *bytes += 8;
        return json_integer(sqlite3_column_int64(stmt, col));
    case SQLITE_FLOAT: {
        double d = sqlite3_column_double(stmt, col);
        *bytes += 8;
        return isfinite(d) ? json_real(d) : json_null(); /* JSON has no inf/nan */
    }
    case SQLITE_TEXT: {
        const unsigned char *s = sqlite3_column_text(stmt, col);
        size_t len = (size_t)sqlite3_column_bytes(stmt, col);
        *bytes += len;
        return query_text(s != NULL ? s : (const unsigned char *)"", len);
    }
    case SQLITE_BLOB: {
        /* Blobs are shown as lower-case hex. */
        const unsigned char *b = sqlite3_column_blob(stmt, col);
        size_t len = (size_t)sqlite3_column_bytes(stmt, col);
        char *hex = malloc(len * 2 + 1);
        if (hex == NULL)
            return NULL;
        for (size_t i = 0; i < len; i++)
            snprintf(hex + 2 * i, 3, "%02x", b[i]);
        hex[len * 2] = '\0';
        *bytes += len * 2;
        json_t *v = json_stringn(hex, len * 2);
        free(hex);
        return v;
    }
    default:
        return json_null();
    }
}

/* Column names, made unique ("n", "n:2", ...) so that each row object keeps
 * every value. */
static json_t *query_columns(sqlite3_stmt *stmt)
{
    json_t *columns = json_array();
    if (columns == NULL)
        return NULL;
    int n = sqlite3_column_count(stmt);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(stmt, i);
        char base[256];
        snprintf(base, sizeof base, "%s", name != NULL ? name : "?");
        char unique[300];
        snprintf(unique, sizeof unique, "%s", base);
        for (int k = 2;; k++) {
            bool clash = false;
            size_t idx;
            json_t *c;
            json_array_foreach(columns, idx, c) {
                if (strcmp(json_string_value(c), unique) == 0)
                    clash = true;
            }
            if (!clash)
                break;
            snprintf(unique, sizeof unique, "%s:%d", base, k);
        }
        json_t *s = query_text((const unsigned char *)unique, strlen(unique));
        if (s == NULL || json_array_append_new(columns, s) != 0) {
            json_decref(columns);
            return NULL;
        }
    }
    return columns;
}

/* Is the rest after the first statement empty (whitespace, comments, ';')? */
static int query_check_tail(sqlite3 *db, const char *tail, char err[ERROR_MAX])
{
    while (tail != NULL && *tail != '\0') {
        sqlite3_stmt *next = NULL;
        const char *after = NULL;
        int rc = sqlite3_prepare_v2(db, tail, -1, &next, &after);
        if (next != NULL) {
            sqlite3_finalize(next);
            return error_set(err, "only one statement per query");
        }
        if (rc != SQLITE_OK)
            return error_set(err, "only one statement per query");
        if (after == tail)
            break;
        tail = after;
    }
    return 0;
}

static bool query_memory_error(int rc)
{
    return (rc & 0xff) == SQLITE_TOOBIG || (rc & 0xff) == SQLITE_NOMEM;
}

static int query_open_memory(sqlite3 **out, char err[ERROR_MAX])
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(":memory:", &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI |
                                 SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        error_set(err, "cannot open a query connection: %s",
                  db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_busy_timeout(db, QUERY_BUSY_TIMEOUT_MS);
    *out = db;
    return 0;
}

/* Step stmt and append each row to data as an object keyed by columns,
 * until max_rows rows (0: no limit) or QUERY_MAX_RESULT_BYTES, which set
 * *truncated. */
static int query_rows(sqlite3 *db, sqlite3_stmt *stmt, json_t *columns, json_t *data,
                      int64_t max_rows, size_t max_bytes, int64_t max_memory,
                      const struct query_clock *clock, int64_t timeout_ms,
                      const struct sqlref *refs, size_t ref_count, int64_t *rows,
                      bool *truncated, char err[ERROR_MAX])
{
    int ncol = sqlite3_column_count(stmt);
    size_t bytes = 0;
    for (;;) {
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            if (clock->expired)
                return error_fail(err, ERROR_TIMEOUT, "query exceeded the time limit of %lld ms",
                                  (long long)timeout_ms);
            if (query_memory_error(rc) && max_memory > 0)
                return error_fail(err, ERROR_TOO_LARGE,
                                  "query needs more memory than the %lld MiB allowed "
                                  "(query_max_memory_mib): %s",
                                  (long long)(max_memory / (1024 * 1024)), sqlite3_errmsg(db));
            error_set(err, "%s", sqlite3_errmsg(db));
            query_translate_message(err, ERROR_MAX, refs, ref_count);
            return -(int)ERROR_INVALID;
        }
        if ((max_rows > 0 && *rows >= max_rows) || bytes >= max_bytes) {
            *truncated = true;
            break;
        }
        json_t *row = json_object();
        if (row == NULL || json_array_append_new(data, row) != 0)
            return error_fail(err, ERROR_INTERNAL, "out of memory");
        for (int i = 0; i < ncol; i++) {
            json_t *v = query_value(stmt, i, &bytes);
            if (v == NULL || json_object_set_new(row, json_string_value(json_array_get(columns, (size_t)i)), v) != 0)
                return error_fail(err, ERROR_INTERNAL, "out of memory");
        }
        (*rows)++;
    }
    return 0;
}

int query_run(const char *data_dir, const char *sql, const struct query_limits *limits,
              json_t **result, char err[ERROR_MAX])
{
    char *rewritten = NULL;
    struct sqlref *refs = NULL;
    size_t ref_count = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *out = NULL;
    struct query_auth auth = {.denied = ""};
    struct query_clock clock = {0};
    int64_t timeout_ms = limits != NULL ? limits->timeout_ms : 0;
    int64_t max_rows = limits != NULL ? limits->max_rows : 0;
    /* a query that fails is the query's to fix, unless it ran out of time or memory */
    enum error_kind kind = ERROR_INVALID;
    int64_t max_memory = limits != NULL ? limits->max_memory_mib * 1024 * 1024 : 0;
    size_t max_bytes = QUERY_MAX_RESULT_BYTES;

    *result = NULL;
    if (sql == NULL || sql[strspn(sql, " \t\r\n;")] == '\0')
        return error_fail(err, ERROR_INVALID, "empty query");
    if (sqlref_rewrite(sql, &rewritten, &refs, &ref_count, err) != 0)
        goto fail;
    if (query_open_memory(&db, err) != 0)
        goto fail;
    if (max_memory > 0) {
        int64_t value = max_memory / 4 < INT32_MAX ? max_memory / 4 : INT32_MAX;
        sqlite3_limit(db, SQLITE_LIMIT_LENGTH, (int)value);
        if ((uint64_t)value < max_bytes)
            max_bytes = (size_t)value;
    }
    if (query_attach(db, data_dir, refs, ref_count, err) != 0)
        goto fail;
    if (strchr(sql, '@') != NULL) {
        /* history forms (t@42, t@changes(...): timetravel.h) need the
         * attached databases: rewrite once more, before the authorizer */
        free(rewritten);
        rewritten = NULL;
        struct timetravel_db tdb = {.db = db, .gold_main = NULL};
        if (sqlref_rewrite_at(sql, timetravel_expand, &tdb, &rewritten, NULL, NULL, err) != 0)
            goto fail;
    }
    /* After our ATTACHes: from here on only reads. */
    sqlite3_set_authorizer(db, query_authorize, &auth);
    if (timeout_ms > 0) {
        clock.deadline_ms = query_monotonic_ms() + timeout_ms;
        sqlite3_progress_handler(db, QUERY_PROGRESS_STEPS, query_progress, &clock);
    }

    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(db, rewritten, -1, &stmt, &tail);
    if (rc != SQLITE_OK) {
        if (auth.denied[0] != '\0') {
            error_set(err, "%s", auth.denied);
            query_translate_message(err, ERROR_MAX, refs, ref_count);
        } else {
            error_set(err, "%s", sqlite3_errmsg(db));
            query_translate_message(err, ERROR_MAX, refs, ref_count);
            if (strncmp(err, "no such table: ", 15) == 0 && strchr(err + 15, '.') == NULL) {
                size_t n = strlen(err);
                snprintf(err + n, ERROR_MAX - n,
                         " (write tables as domain.silver.table or domain.gold.table)");
            }
        }
        goto fail;
    }
    if (stmt == NULL) {
        error_set(err, "empty query");
        goto fail;
    }
    if (query_check_tail(db, tail, err) != 0)
        goto fail;
    if (!sqlite3_stmt_readonly(stmt)) {
        /* Belt and braces: the authorizer should already have refused it. */
        error_set(err, "not allowed: the statement would write (queries are read-only)");
        goto fail;
    }

    json_t *columns = query_columns(stmt);
    json_t *data = json_array();
    out = json_object();
    if (columns == NULL || data == NULL || out == NULL) {
        json_decref(columns);
        json_decref(data);
        error_set(err, "out of memory");
        goto fail;
    }
    json_object_set_new(out, "columns", columns);
    json_object_set_new(out, "data", data);

    int64_t rows = 0;
    bool truncated = false;
    rc = query_rows(db, stmt, columns, data, max_rows, max_bytes, max_memory, &clock, timeout_ms,
                    refs, ref_count, &rows, &truncated, err);
    if (rc < 0) {
        kind = error_kind_of(rc);
        goto fail;
    }
    json_object_set_new(out, "row_count", json_integer(rows));
    json_object_set_new(out, "truncated", json_boolean(truncated));

    sqlite3_finalize(stmt);
    sqlite3_close(db);
    free(rewritten);
    free(refs);
    *result = out;
    return 0;

fail:
    json_decref(out);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    free(rewritten);
    free(refs);
    return -(int)kind;
}

/* ---- query_list_tables ---- */

struct query_table {
    char domain[NAMES_MAX];
    int layer; /* 0 silver, 1 gold: the order of the listing */
    char table[NAMES_MAX];
    int64_t rows;
    int64_t snapshot_id; /* 0 = none */
    char last_commit[48];
};

struct query_table_list {
    struct query_table *items;
    size_t count;
    size_t cap;
};

static int query_table_push(struct query_table_list *list, const struct query_table *t)
{
    struct query_table *items =
        growarray_room(list->items, &list->cap, list->count, sizeof *items, 16);
    if (items == NULL)
        return -1;
    list->items = items;
    list->items[list->count++] = *t;
    return 0;
}

static int query_table_cmp(const void *a, const void *b)
{
    const struct query_table *x = a;
    const struct query_table *y = b;
    int c = strcmp(x->domain, y->domain);
    if (c != 0)
        return c;
    if (x->layer != y->layer)
        return x->layer - y->layer;
    return strcmp(x->table, y->table);
}

static int query_list_db(const char *path, const char *domain, int layer,
                         struct query_table_list *list, char err[ERROR_MAX])
{
    sqlite3 *db = NULL;
    sqlite3_stmt *tables = NULL;
    sqlite3_stmt *stmt = NULL;
    char uri[3 * 4096 + 16];
    if (query_uri(uri, sizeof uri, path) != 0)
        return error_set(err, "path too long: %s", path);
    int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        error_set(err, "%s: %s", path, db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(db, QUERY_BUSY_TIMEOUT_MS);
    rc = sqlite3_prepare_v2(db,
                            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                            -1, &tables, NULL);
    if (rc != SQLITE_OK) {
        error_set(err, "%s: %s", path, sqlite3_errmsg(db));
        goto fail;
    }
    bool has_snapshots = false;
    size_t first = list->count;
    while ((rc = sqlite3_step(tables)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        if (name == NULL)
            continue;
        if (strcmp(name, "_snapshots") == 0)
            has_snapshots = true;
        /* Internal tables start with '_' and fail the object-name rule. */
        if (!names_is_valid_object(name))
            continue;
        struct query_table t = {.layer = layer};
        snprintf(t.domain, sizeof t.domain, "%s", domain);
        snprintf(t.table, sizeof t.table, "%s", name);
        if (query_table_push(list, &t) != 0) {
            error_set(err, "out of memory");
            goto fail;
        }
    }
    if (rc != SQLITE_DONE) {
        error_set(err, "%s: %s", path, sqlite3_errmsg(db));
        goto fail;
    }
    for (size_t i = first; i < list->count; i++) {
        struct query_table *t = &list->items[i];
        bool counted = false;
        /* the row count kept with the newest snapshot (layout.h version 2);
         * older databases have no such column: count them instead */
        if (has_snapshots &&
            (sqlite3_prepare_v2(db,
                                "SELECT snapshot_id, committed_at, row_count FROM _snapshots "
                                "WHERE table_name = ?1 ORDER BY snapshot_id DESC LIMIT 1",
                                -1, &stmt, NULL) == SQLITE_OK ||
             sqlite3_prepare_v2(db,
                                "SELECT snapshot_id, committed_at, NULL FROM _snapshots "
                                "WHERE table_name = ?1 ORDER BY snapshot_id DESC LIMIT 1",
                                -1, &stmt, NULL) == SQLITE_OK)) {
            sqlite3_bind_text(stmt, 1, t->table, -1, SQLITE_STATIC);
            rc = sqlite3_step(stmt);
            if (rc == SQLITE_ROW) {
                t->snapshot_id = sqlite3_column_int64(stmt, 0);
                const char *at = (const char *)sqlite3_column_text(stmt, 1);
                snprintf(t->last_commit, sizeof t->last_commit, "%s", at != NULL ? at : "");
                counted = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
                t->rows = sqlite3_column_int64(stmt, 2);
            } else if (rc != SQLITE_DONE) {
                error_set(err, "%s: reading _snapshots: %s", path, sqlite3_errmsg(db));
                goto fail;
            }
            sqlite3_finalize(stmt);
            stmt = NULL;
        } else if (has_snapshots) {
            error_set(err, "%s: reading _snapshots: %s", path, sqlite3_errmsg(db));
            goto fail;
        }
        if (counted)
            continue;
        char sql[NAMES_MAX + 64];
        /* The name passed names_is_valid_object: safe inside double quotes. */
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", t->table);
        if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK ||
            sqlite3_step(stmt) != SQLITE_ROW) {
            error_set(err, "%s: counting %s: %s", path, t->table, sqlite3_errmsg(db));
            goto fail;
        }
        t->rows = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        stmt = NULL;
    }
    sqlite3_finalize(tables);
    sqlite3_close(db);
    return 0;
fail:
    sqlite3_finalize(stmt);
    sqlite3_finalize(tables);
    sqlite3_close(db);
    return -1;
}

static int query_list_layer(const char *data_dir, int layer, struct query_table_list *list,
                            char err[ERROR_MAX])
{
    char dir[4096];
    if (layout_dir(dir, sizeof dir, data_dir, layer == 0 ? "silver" : "gold") != 0)
        return error_set(err, "data directory path too long: %s", data_dir);
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return 0; /* nothing committed yet */
        return error_set(err, "%s: %s", dir, strerror(errno));
    }
    struct dirent *e;
    int status = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 3 || strcmp(e->d_name + len - 3, ".db") != 0 || len - 3 >= NAMES_MAX)
            continue;
        char domain[NAMES_MAX];
        memcpy(domain, e->d_name, len - 3);
        domain[len - 3] = '\0';
        if (!names_is_valid_object(domain))
            continue;
        char path[4096];
        int r = layer == 0 ? layout_silver_db(path, sizeof path, data_dir, domain)
                           : layout_gold_db(path, sizeof path, data_dir, domain);
        if (r != 0) {
            status = error_set(err, "data directory path too long: %s", data_dir);
            break;
        }
        if (query_list_db(path, domain, layer, list, err) != 0) {
            status = -1;
            break;
        }
    }
    closedir(d);
    return status;
}

int query_list_tables(const char *data_dir, json_t **result, char err[ERROR_MAX])
{
    struct query_table_list list = {0};
    json_t *out = NULL;
    *result = NULL;
    if (query_list_layer(data_dir, 0, &list, err) != 0 ||
        query_list_layer(data_dir, 1, &list, err) != 0)
        goto fail;
    if (list.count > 0)
        qsort(list.items, list.count, sizeof *list.items, query_table_cmp);
    out = json_array();
    if (out == NULL)
        goto oom;
    for (size_t i = 0; i < list.count; i++) {
        const struct query_table *t = &list.items[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "domain", t->domain, "layer",
                              t->layer == 0 ? "silver" : "gold", "table", t->table, "rows",
                              (json_int_t)t->rows);
        if (o == NULL)
            goto oom;
        json_object_set_new(o, "snapshot_id",
                            t->snapshot_id > 0 ? json_integer(t->snapshot_id) : json_null());
        json_object_set_new(o, "last_commit",
                            t->last_commit[0] != '\0' ? json_string(t->last_commit) : json_null());
        if (json_array_append_new(out, o) != 0)
            goto oom;
    }
    free(list.items);
    *result = out;
    return 0;
oom:
    error_set(err, "out of memory");
fail:
    json_decref(out);
    free(list.items);
    return -1;
}

/* bronze_vtab.c - bronze files as a read-only SQLite virtual table, and the
 * bronze entries of table listings (see bronze_vtab.h). */
#include "read/bronze_vtab.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bronze.h"
#include "retention_policy.h"
#include "catalog.h"
#include "layout.h"
#include "names.h"
#include "schema.h"
#include "sqlref.h"
#include "sqlutil.h"

#define BRONZE_VTAB_MODULE "lakehouse_bronze"
/* A silver writer may hold a lock for a moment; the quarantine lookup is an
 * optimisation of correctness-neutral reads, never wait long for it. */
#define BRONZE_VTAB_BUSY_MS 1000

/* Metadata columns after the user columns, in this order. */
enum bronze_meta {
    META_INSERT_DATE,
    META_SEQ,
    META_SCHEMA_VERSION,
    META_BATCH_ID,
    META_RESCUED,
    META_FILE,
    META_COUNT
};
static const char *const bronze_meta_names[META_COUNT] = {
    "_insert_date", "_seq", "_schema_version", "_batch_id", "_rescued", "_file"};
static const char *const bronze_meta_types[META_COUNT] = {"TEXT", "INTEGER", "INTEGER",
                                                          "TEXT", "TEXT",    "TEXT"};
/* Keys of a bronze line that are metadata, not data (left out of `record`). */
static const char *const bronze_meta_keys[] = {"_insert_date", "_domain",   "_endpoint",
                                               "_seq",         "_schema_version",
                                               "_batch_id",    "_rescued"};

struct bronze_vtab {
    sqlite3_vtab base; /* first: SQLite casts */
    char data_dir[PATH_MAX];
    char domain[NAMES_MAX];
    char table[NAMES_MAX];
    bool record_mode;   /* no schema: one column "record" */
    size_t user_count;  /* user columns (1 in record mode) */
    char (*names)[NAMES_MAX];
};

struct bronze_cursor {
    sqlite3_vtab_cursor base; /* first: SQLite casts */
    char upper[11];           /* "" or: skip dt= directories after this date */
    char only[PATH_MAX];      /* "" or: read only this file (_file = X) */
    struct strvec {
        char **items;
        size_t count;
    } dates, files;
    size_t next_date, next_file;
    char date_dir[16];        /* "dt=YYYY-MM-DD" of the files being read */
    struct bronze_reader *reader;
    char rel[PATH_MAX];       /* file being read, relative to data_dir */
    int64_t line_no;
    json_t *row;              /* current parsed line */
    sqlite3_int64 rowid;
    bool eof;
    sqlite3 *silver;          /* read-only, for _quarantine; NULL if none */
    sqlite3_stmt *quarantined;
};

/* ---- small helpers ---- */

static void strvec_clear(struct strvec *v)
{
    for (size_t i = 0; i < v->count; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->count = 0;
}

static int strvec_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool bronze_vtab_is_date_dir(const char *name)
{
    return strncmp(name, "dt=", 3) == 0 && strlen(name) == 13;
}

static bool bronze_vtab_is_file(const char *name)
{
    uint64_t first, last;
    return bronze_parse_name(name, &first, &last) == 0;
}

/* Sorted names in dir accepted by keep. A missing directory is empty. */
static int bronze_vtab_list(const char *dir, bool (*keep)(const char *), struct strvec *out,
                            char err[ERROR_MAX])
{
    out->items = NULL;
    out->count = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        return error_set(err, "%s: %s", dir, strerror(errno));
    }
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!keep(e->d_name))
            continue;
        if (out->count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **p = realloc(out->items, ncap * sizeof *p);
            if (p == NULL)
                goto oom;
            out->items = p;
            cap = ncap;
        }
        if ((out->items[out->count] = strdup(e->d_name)) == NULL)
            goto oom;
        out->count++;
    }
    closedir(d);
    if (out->count > 1)
        qsort(out->items, out->count, sizeof *out->items, strvec_cmp);
    return 0;
oom:
    closedir(d);
    strvec_clear(out);
    return error_set(err, "out of memory listing %s", dir);
}

/* ---- the virtual table ---- */

static void bronze_vtab_free(struct bronze_vtab *vt)
{
    if (vt == NULL)
        return;
    free(vt->names);
    sqlite3_free(vt);
}

/* The user columns: the latest schema from the catalog, or none (record
 * mode), and *decl (malloc'd, caller frees) the CREATE TABLE statement for
 * sqlite3_declare_vtab. -1 only when the catalog exists but cannot be read. */
static int bronze_vtab_load_columns(struct bronze_vtab *vt, char **decl, char err[ERROR_MAX])
{
    char path[PATH_MAX];
    struct stat st;
    struct schema *schema = NULL;
    if (layout_catalog_db(path, sizeof path, vt->data_dir, err) < 0)
        return -1;
    if (stat(path, &st) == 0) {
        struct catalog *catalog = NULL;
        if (catalog_open(vt->data_dir, true, &catalog, err) < 0)
            return -1;
        int rc = catalog_get_endpoint(catalog, vt->domain, vt->table, 0, &schema, err);
        catalog_close(&catalog);
        if (rc < 0)
            return -1;
    }
    vt->record_mode = schema == NULL || schema->column_count == 0;
    vt->user_count = vt->record_mode ? 1 : schema->column_count;
    vt->names = calloc(vt->user_count, sizeof *vt->names);
    if (vt->names == NULL) {
        schema_destroy(&schema);
        return error_set(err, "out of memory");
    }
    if (vt->record_mode)
        snprintf(vt->names[0], NAMES_MAX, "record");
    else
        for (size_t i = 0; i < schema->column_count; i++)
            snprintf(vt->names[i], NAMES_MAX, "%s", schema->columns[i].name);
    /* Declared types, for the CREATE TABLE given to SQLite. */
    size_t size = 64 + (vt->user_count + META_COUNT) * (NAMES_MAX + 16);
    char *sql = malloc(size);
    if (sql == NULL) {
        schema_destroy(&schema);
        return error_set(err, "out of memory");
    }
    size_t n = (size_t)snprintf(sql, size, "CREATE TABLE x(");
    for (size_t i = 0; i < vt->user_count; i++) {
        /* Column names passed names.h checks (schema.c): safe in quotes. */
        const char *type = vt->record_mode ? "TEXT" : schema_type_sql(schema->columns[i].type);
        n += (size_t)snprintf(sql + n, size - n, "\"%s\" %s, ", vt->names[i], type);
    }
    for (int m = 0; m < META_COUNT; m++)
        n += (size_t)snprintf(sql + n, size - n, "\"%s\" %s%s", bronze_meta_names[m],
                              bronze_meta_types[m], m + 1 < META_COUNT ? ", " : ")");
    schema_destroy(&schema);
    *decl = sql;
    return 0;
}

/* xCreate and xConnect: argv[3] = domain, argv[4] = table; pAux = data_dir. */
static int bronze_vtab_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                               sqlite3_vtab **out, char **errmsg)
{
    char err[ERROR_MAX] = "";
    struct bronze_vtab *vt = NULL;
    if (argc != 5 || !names_is_valid_object(argv[3]) || !names_is_valid_object(argv[4])) {
        *errmsg = sqlite3_mprintf("bronze tables are written domain.bronze.table");
        return SQLITE_ERROR;
    }
    vt = sqlite3_malloc(sizeof *vt);
    if (vt == NULL)
        return SQLITE_NOMEM;
    memset(vt, 0, sizeof *vt);
    snprintf(vt->data_dir, sizeof vt->data_dir, "%s", (const char *)aux);
    snprintf(vt->domain, sizeof vt->domain, "%s", argv[3]);
    snprintf(vt->table, sizeof vt->table, "%s", argv[4]);
    char *decl = NULL;
    if (bronze_vtab_load_columns(vt, &decl, err) < 0) {
        *errmsg = sqlite3_mprintf("%s.bronze.%s: %s", vt->domain, vt->table, err);
        bronze_vtab_free(vt);
        return SQLITE_ERROR;
    }
    int rc = sqlite3_declare_vtab(db, decl);
    free(decl);
    if (rc != SQLITE_OK) {
        *errmsg = sqlite3_mprintf("%s.bronze.%s: %s", vt->domain, vt->table, sqlite3_errmsg(db));
        bronze_vtab_free(vt);
        return rc;
    }
    /* Only for direct use in a query, never from a view or trigger. */
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
    *out = &vt->base;
    return SQLITE_OK;
}

static int bronze_vtab_disconnect(sqlite3_vtab *base)
{
    bronze_vtab_free((struct bronze_vtab *)base);
    return SQLITE_OK;
}

/* idxNum bit 1: an argument is an upper bound of _insert_date (dt
 * pruning); bit 2: the next one is a _file (only that file is read). */
static int bronze_vtab_best_index(sqlite3_vtab *base, sqlite3_index_info *info)
{
    struct bronze_vtab *vt = (struct bronze_vtab *)base;
    int date_col = (int)vt->user_count + META_INSERT_DATE;
    int file_col = (int)vt->user_count + META_FILE;
    int args = 0;
    info->idxNum = 0;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (!c->usable)
            continue;
        bool date = c->iColumn == date_col && !(info->idxNum & 1) &&
                    (c->op == SQLITE_INDEX_CONSTRAINT_LT || c->op == SQLITE_INDEX_CONSTRAINT_LE ||
                     c->op == SQLITE_INDEX_CONSTRAINT_EQ);
        bool file = c->iColumn == file_col && !(info->idxNum & 2) &&
                    c->op == SQLITE_INDEX_CONSTRAINT_EQ;
        if (!date && !file)
            continue;
        info->aConstraintUsage[i].argvIndex = ++args;
        info->aConstraintUsage[i].omit = 0; /* SQLite checks it per row */
        info->idxNum |= date ? 1 : 2;
    }
    /* args in constraint order: record which comes first for xFilter */
    for (int i = 0, k = 0; i < info->nConstraint; i++) {
        if (info->aConstraintUsage[i].argvIndex == 0)
            continue;
        if (k++ == 0 && info->aConstraint[i].iColumn == file_col)
            info->idxNum |= 4; /* the file argument is argv[0] */
    }
    /* A full scan decompresses everything: expensive; pruned somewhat less.
     * High costs make the planner put bronze in the outer loop of joins. */
    info->estimatedCost = info->idxNum & 2 ? 1e4 : info->idxNum ? 5e6 : 1e7;
    info->estimatedRows = info->idxNum & 2 ? 10000 : info->idxNum ? 500000 : 1000000;
    return SQLITE_OK;
}

static int bronze_vtab_open(sqlite3_vtab *base, sqlite3_vtab_cursor **out)
{
    (void)base;
    struct bronze_cursor *c = sqlite3_malloc(sizeof *c);
    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    c->eof = true;
    *out = &c->base;
    return SQLITE_OK;
}

static void bronze_cursor_reset(struct bronze_cursor *c)
{
    bronze_reader_close(&c->reader);
    json_decref(c->row);
    c->row = NULL;
    strvec_clear(&c->dates);
    strvec_clear(&c->files);
    c->next_date = c->next_file = 0;
    c->rowid = 0;
    c->eof = true;
    sqlite3_finalize(c->quarantined);
    c->quarantined = NULL;
    sqlite3_close(c->silver);
    c->silver = NULL;
}

static int bronze_vtab_close(sqlite3_vtab_cursor *base)
{
    struct bronze_cursor *c = (struct bronze_cursor *)base;
    bronze_cursor_reset(c);
    sqlite3_free(c);
    return SQLITE_OK;
}

/* Error on the cursor's table: message for sqlite3_errmsg. */
static int bronze_cursor_fail(struct bronze_cursor *c, const char *what, const char *detail)
{
    sqlite3_vtab *vtab = c->base.pVtab;
    sqlite3_free(vtab->zErrMsg);
    vtab->zErrMsg = sqlite3_mprintf("%s %s: %s", what, c->rel, detail);
    return SQLITE_ERROR;
}

/* Is rel recorded in silver's _quarantine? (No database or table: no.) */
static bool bronze_cursor_quarantined(struct bronze_cursor *c)
{
    if (c->quarantined == NULL)
        return false;
    sqlite3_bind_text(c->quarantined, 1, c->rel, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(c->quarantined) == SQLITE_ROW;
    sqlite3_reset(c->quarantined);
    return found;
}

static void bronze_cursor_open_silver(struct bronze_cursor *c, const struct bronze_vtab *vt)
{
    char path[PATH_MAX];
    struct stat st;
    if (layout_silver_db(path, sizeof path, vt->data_dir, vt->domain) < 0 || stat(path, &st) != 0)
        return;
    /* A plain path, not a URI: a data dir with '?' or '%' in it must work. */
    if (sqlite3_open_v2(path, &c->silver, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(c->silver, BRONZE_VTAB_BUSY_MS) != SQLITE_OK ||
        sqlite3_prepare_v2(c->silver, "SELECT 1 FROM _quarantine WHERE file = ?1", -1,
                           &c->quarantined, NULL) != SQLITE_OK) {
        sqlite3_finalize(c->quarantined);
        c->quarantined = NULL;
        sqlite3_close(c->silver);
        c->silver = NULL;
    }
}

/* Move to the next line of the next readable file; sets eof at the end. */
static int bronze_cursor_advance(struct bronze_cursor *c)
{
    struct bronze_vtab *vt = (struct bronze_vtab *)c->base.pVtab;
    char err[ERROR_MAX] = "";
    json_decref(c->row);
    c->row = NULL;
    for (;;) {
        if (c->reader != NULL) {
            const char *line;
            size_t len;
            int rc = bronze_reader_next(c->reader, &line, &len, err);
            if (rc < 0)
                return bronze_cursor_fail(c, "corrupt bronze file", err);
            if (rc == 0) {
                bronze_reader_close(&c->reader);
                continue;
            }
            c->line_no++;
            json_error_t jerr;
            c->row = json_loadb(line, len, 0, &jerr);
            if (c->row == NULL || !json_is_object(c->row)) {
                snprintf(err, sizeof err, "line %lld is not a JSON object",
                         (long long)c->line_no);
                return bronze_cursor_fail(c, "corrupt bronze file", err);
            }
            c->rowid++;
            return SQLITE_OK;
        }
        if (c->next_file < c->files.count) {
            const char *name = c->files.items[c->next_file++];
            char path[PATH_MAX];
            if (layout_bronze_rel(c->rel, sizeof c->rel, vt->domain, vt->table, c->date_dir,
                                  name, err) < 0 ||
                layout_path(path, sizeof path, vt->data_dir, c->rel, err) < 0)
                return bronze_cursor_fail(c, "bronze file", err);
            if (c->only[0] != '\0' && strcmp(c->rel, c->only) != 0)
                continue;
            if (bronze_cursor_quarantined(c))
                continue; /* void in silver too: see bronze_vtab.h */
            c->line_no = 0;
            c->reader = bronze_reader_open(path, err);
            if (c->reader == NULL) {
                struct stat st;
                if (stat(path, &st) != 0 && errno == ENOENT)
                    continue; /* deleted by retention since the listing */
                return bronze_cursor_fail(c, "cannot read bronze file", err);
            }
            continue;
        }
        if (c->next_date < c->dates.count) {
            const char *dt = c->dates.items[c->next_date++];
            if (c->upper[0] != '\0' && strcmp(dt + 3, c->upper) > 0) {
                c->next_date = c->dates.count; /* sorted: every later one too */
                continue;
            }
            size_t dt_len = strlen(dt);
            if (c->only[0] != '\0' && (strstr(c->only, dt) == NULL ||
                                        strstr(c->only, dt)[dt_len] != '/'))
                continue; /* not the directory of the one file read */
            snprintf(c->date_dir, sizeof c->date_dir, "%s", dt);
            strvec_clear(&c->files);
            c->next_file = 0;
            char dir[PATH_MAX];
            if (layout_bronze_dir(dir, sizeof dir, vt->data_dir, vt->domain, vt->table, dt,
                                  err) < 0 ||
                bronze_vtab_list(dir, bronze_vtab_is_file, &c->files, err) < 0) {
                layout_bronze_rel(c->rel, sizeof c->rel, vt->domain, vt->table, dt, NULL, NULL);
                return bronze_cursor_fail(c, "bronze directory", err);
            }
            /* inputs of a compaction whose output is here: read only the output */
            c->files.count = retention_drop_covered(c->files.items, c->files.count);
            continue;
        }
        c->eof = true;
        return SQLITE_OK;
    }
}

static int bronze_vtab_filter(sqlite3_vtab_cursor *base, int idx_num, const char *idx_str,
                              int argc, sqlite3_value **argv)
{
    (void)idx_str;
    struct bronze_cursor *c = (struct bronze_cursor *)base;
    struct bronze_vtab *vt = (struct bronze_vtab *)base->pVtab;
    char err[ERROR_MAX] = "";
    bronze_cursor_reset(c);
    c->upper[0] = c->only[0] = '\0';
    int date_arg = idx_num & 4 ? 1 : 0, file_arg = idx_num & 4 ? 0 : (idx_num & 1);
    if ((idx_num & 1) && argc > date_arg) {
        const unsigned char *bound = sqlite3_value_text(argv[date_arg]);
        if (bound == NULL) {
            return SQLITE_OK; /* "< NULL" matches nothing: eof */
        }
        if (sqlite3_value_type(argv[date_arg]) == SQLITE_TEXT && strlen((const char *)bound) >= 10)
            snprintf(c->upper, sizeof c->upper, "%.10s", (const char *)bound);
    }
    if ((idx_num & 2) && argc > file_arg) {
        const unsigned char *file = sqlite3_value_text(argv[file_arg]);
        if (file == NULL || strlen((const char *)file) >= sizeof c->only)
            return SQLITE_OK; /* matches nothing: eof */
        snprintf(c->only, sizeof c->only, "%s", (const char *)file);
    }
    c->eof = false;
    char dir[PATH_MAX];
    if (layout_bronze_dir(dir, sizeof dir, vt->data_dir, vt->domain, vt->table, NULL, err) < 0 ||
        bronze_vtab_list(dir, bronze_vtab_is_date_dir, &c->dates, err) < 0) {
        layout_bronze_rel(c->rel, sizeof c->rel, vt->domain, vt->table, NULL, NULL, NULL);
        return bronze_cursor_fail(c, "bronze directory", err);
    }
    bronze_cursor_open_silver(c, vt);
    return bronze_cursor_advance(c);
}

static int bronze_vtab_next(sqlite3_vtab_cursor *base)
{
    return bronze_cursor_advance((struct bronze_cursor *)base);
}

static int bronze_vtab_eof(sqlite3_vtab_cursor *base)
{
    return ((struct bronze_cursor *)base)->eof;
}

/* A JSON value as an SQL value, as the processor stores it in silver. */
static void bronze_vtab_result(sqlite3_context *ctx, const json_t *v)
{
    switch (v != NULL ? json_typeof(v) : JSON_NULL) {
    case JSON_TRUE: sqlite3_result_int(ctx, 1); break;
    case JSON_FALSE: sqlite3_result_int(ctx, 0); break;
    case JSON_INTEGER: sqlite3_result_int64(ctx, json_integer_value(v)); break;
    case JSON_REAL: sqlite3_result_double(ctx, json_real_value(v)); break;
    case JSON_STRING:
        sqlite3_result_text64(ctx, json_string_value(v), json_string_length(v), SQLITE_TRANSIENT,
                              SQLITE_UTF8);
        break;
    case JSON_OBJECT:
    case JSON_ARRAY: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        if (s == NULL)
            sqlite3_result_error_nomem(ctx);
        else
            sqlite3_result_text(ctx, s, -1, free);
        break;
    }
    default: sqlite3_result_null(ctx); break;
    }
}

static int bronze_vtab_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int col)
{
    struct bronze_cursor *c = (struct bronze_cursor *)base;
    struct bronze_vtab *vt = (struct bronze_vtab *)base->pVtab;
    if (c->row == NULL) {
        sqlite3_result_null(ctx);
        return SQLITE_OK;
    }
    if (col >= 0 && (size_t)col < vt->user_count) {
        if (!vt->record_mode) {
            bronze_vtab_result(ctx, json_object_get(c->row, vt->names[col]));
            return SQLITE_OK;
        }
        json_t *data = json_copy(c->row); /* shallow: values are shared */
        if (data == NULL)
            return SQLITE_NOMEM;
        for (size_t i = 0; i < sizeof bronze_meta_keys / sizeof *bronze_meta_keys; i++)
            json_object_del(data, bronze_meta_keys[i]);
        bronze_vtab_result(ctx, data);
        json_decref(data);
        return SQLITE_OK;
    }
    int meta = col - (int)vt->user_count;
    if (meta == META_FILE)
        sqlite3_result_text(ctx, c->rel, -1, SQLITE_TRANSIENT);
    else if (meta >= 0 && meta < META_COUNT)
        bronze_vtab_result(ctx, json_object_get(c->row, bronze_meta_names[meta]));
    else
        sqlite3_result_null(ctx);
    return SQLITE_OK;
}

static int bronze_vtab_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid)
{
    *rowid = ((struct bronze_cursor *)base)->rowid;
    return SQLITE_OK;
}

/* Distinct from xConnect so that the module is not eponymous: it cannot be
 * used without a domain and a table. */
static int bronze_vtab_create(sqlite3 *db, void *aux, int argc, const char *const *argv,
                              sqlite3_vtab **out, char **errmsg)
{
    return bronze_vtab_connect(db, aux, argc, argv, out, errmsg);
}

static const sqlite3_module bronze_vtab_module = {
    .iVersion = 0,
    /* the table: read-only (no xUpdate), nothing to destroy beyond the connection */
    .xCreate = bronze_vtab_create, .xConnect = bronze_vtab_connect,
    .xBestIndex = bronze_vtab_best_index,
    .xDisconnect = bronze_vtab_disconnect, .xDestroy = bronze_vtab_disconnect,
    /* its cursors */
    .xOpen = bronze_vtab_open, .xClose = bronze_vtab_close, .xFilter = bronze_vtab_filter,
    .xNext = bronze_vtab_next, .xEof = bronze_vtab_eof,
    .xColumn = bronze_vtab_column, .xRowid = bronze_vtab_rowid,
};

int bronze_vtab_attach(sqlite3 *db, const char *data_dir, const char *domain, const char *table,
                       char err[ERROR_MAX])
{
    if (names_check_object("domain", domain, err) < 0 || names_check_object("table", table, err) < 0)
        return -1;
    char dir[PATH_MAX];
    struct stat st;
    if (layout_bronze_dir(dir, sizeof dir, data_dir, domain, table, NULL, err) < 0)
        return -1;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return error_set(err, "no bronze data for %s.bronze.%s: bronze/%s/%s does not exist",
                         domain, table, domain, table);
    /* Registering again replaces the module; tables made before keep the
     * old one alive (SQLite counts references), so this is idempotent. */
    char *aux = strdup(data_dir);
    if (aux == NULL)
        return error_set(err, "out of memory");
    if (sqlite3_create_module_v2(db, BRONZE_VTAB_MODULE, &bronze_vtab_module, aux, free) !=
        SQLITE_OK)
        return error_set(err, "cannot register the bronze module: %s", sqlite3_errmsg(db));
    char schema[SQLREF_SCHEMA_MAX];
    sqlref_schema_name(SQLREF_BRONZE, domain, schema);
    const char *attach[] = {schema};
    if (sqlite3_db_filename(db, schema) == NULL &&
        sqlutil_run(db, "ATTACH DATABASE ':memory:' AS ?1", attach, 1, NULL, err, NULL) < 0)
        return error_prefix(err, "%s.bronze.%s", domain, table);
    /* Names passed names.h checks: safe inside double quotes. */
    char sql[3 * NAMES_MAX + SQLREF_SCHEMA_MAX + 96];
    snprintf(sql, sizeof sql,
             "CREATE VIRTUAL TABLE IF NOT EXISTS \"%s\".\"%s\" USING " BRONZE_VTAB_MODULE
             "(%s, %s)",
             schema, table, domain, table);
    if (sqlutil_run(db, sql, NULL, 0, NULL, err, NULL) < 0)
        return -1;
    return 0;
}

/* ---- listing ---- */

struct bronze_vtab_count {
    int64_t rows, files, pending;
};

static void bronze_vtab_count_file(sqlite3_stmt *ledger, const char *data_dir, const char *rel,
                                   struct bronze_vtab_count *count)
{
    count->files++;
    if (ledger != NULL) {
        sqlite3_bind_text(ledger, 1, rel, -1, SQLITE_TRANSIENT);
        int64_t records = sqlite3_step(ledger) == SQLITE_ROW ? sqlite3_column_int64(ledger, 0) : -1;
        sqlite3_reset(ledger);
        if (records >= 0) {
            count->rows += records;
            return;
        }
    }
    count->pending++;
    char path[PATH_MAX], err[ERROR_MAX];
    if (layout_path(path, sizeof path, data_dir, rel, err) < 0)
        return;
    struct bronze_reader *r = bronze_reader_open(path, err);
    if (r == NULL)
        return;
    const char *line;
    size_t len;
    int64_t n = 0;
    int rc;
    while ((rc = bronze_reader_next(r, &line, &len, err)) == 1)
        n++;
    if (rc == 0)
        count->rows += n; /* a corrupt file's lines are void */
    bronze_reader_close(&r);
}

static int bronze_vtab_count_table(sqlite3_stmt *ledger, const char *data_dir, const char *domain,
                                   const char *table, struct bronze_vtab_count *count,
                                   char err[ERROR_MAX])
{
    char dir[PATH_MAX];
    struct strvec dates = {0}, files = {0};
    if (layout_bronze_dir(dir, sizeof dir, data_dir, domain, table, NULL, err) < 0 ||
        bronze_vtab_list(dir, bronze_vtab_is_date_dir, &dates, err) < 0)
        return -1;
    for (size_t d = 0; d < dates.count; d++) {
        char sub[PATH_MAX + 16];
        snprintf(sub, sizeof sub, "%s/%s", dir, dates.items[d]);
        if (bronze_vtab_list(sub, bronze_vtab_is_file, &files, err) < 0) {
            strvec_clear(&dates);
            return -1;
        }
        for (size_t f = 0; f < files.count; f++) {
            char rel[PATH_MAX];
            if (layout_bronze_rel(rel, sizeof rel, domain, table, dates.items[d], files.items[f],
                                  NULL) == 0)
                bronze_vtab_count_file(ledger, data_dir, rel, count);
        }
        strvec_clear(&files);
    }
    strvec_clear(&dates);
    return 0;
}

static bool bronze_vtab_is_object(const char *name) { return names_is_valid_object(name); }

static int bronze_vtab_layer_rank(const char *layer)
{
    if (layer == NULL)
        return 3;
    return strcmp(layer, "bronze") == 0 ? 0 : strcmp(layer, "silver") == 0 ? 1 : 2;
}

static int bronze_vtab_entry_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *xd = json_string_value(json_object_get(x, "domain"));
    const char *yd = json_string_value(json_object_get(y, "domain"));
    int c = strcmp(xd ? xd : "", yd ? yd : "");
    if (c == 0)
        c = bronze_vtab_layer_rank(json_string_value(json_object_get(x, "layer"))) -
            bronze_vtab_layer_rank(json_string_value(json_object_get(y, "layer")));
    if (c == 0) {
        const char *xt = json_string_value(json_object_get(x, "table"));
        const char *yt = json_string_value(json_object_get(y, "table"));
        c = strcmp(xt ? xt : "", yt ? yt : "");
    }
    return c;
}

static int bronze_vtab_sort(json_t *tables, char err[ERROR_MAX])
{
    size_t n = json_array_size(tables);
    if (n < 2)
        return 0;
    json_t **items = malloc(n * sizeof *items);
    if (items == NULL)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(tables, i));
    qsort(items, n, sizeof *items, bronze_vtab_entry_cmp);
    json_array_clear(tables);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(tables, items[i]);
    free(items);
    return 0;
}

int bronze_vtab_add_tables(const char *data_dir, json_t *tables, char err[ERROR_MAX])
{
    char dir[PATH_MAX];
    struct strvec domains = {0}, names = {0};
    int status = 0;
    if (layout_bronze_dir(dir, sizeof dir, data_dir, NULL, NULL, NULL, err) < 0 ||
        bronze_vtab_list(dir, bronze_vtab_is_object, &domains, err) < 0)
        return -1;
    for (size_t i = 0; status == 0 && i < domains.count; i++) {
        const char *domain = domains.items[i];
        char sub[PATH_MAX + NAMES_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, domain);
        if (bronze_vtab_list(sub, bronze_vtab_is_object, &names, err) < 0) {
            status = -1;
            break;
        }
        /* The ledger has the record count of every merged file. */
        char path[PATH_MAX];
        sqlite3 *db = NULL;
        sqlite3_stmt *ledger = NULL;
        struct stat st;
        if (layout_silver_db(path, sizeof path, data_dir, domain) == 0 && stat(path, &st) == 0 &&
            (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
             sqlite3_busy_timeout(db, BRONZE_VTAB_BUSY_MS) != SQLITE_OK ||
             sqlite3_prepare_v2(db, "SELECT records FROM _ledger WHERE file = ?1", -1, &ledger,
                                NULL) != SQLITE_OK)) {
            sqlite3_finalize(ledger);
            ledger = NULL; /* count by reading */
        }
        for (size_t t = 0; status == 0 && t < names.count; t++) {
            struct bronze_vtab_count count = {0};
            if (bronze_vtab_count_table(ledger, data_dir, domain, names.items[t], &count, err) < 0) {
                status = -1;
                break;
            }
            json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:n, s:n}", "domain", domain,
                                  "layer", "bronze", "table", names.items[t], "rows",
                                  (json_int_t)count.rows, "files", (json_int_t)count.files,
                                  "files_pending", (json_int_t)count.pending, "snapshot_id",
                                  "last_commit");
            if (o == NULL || json_array_append_new(tables, o) != 0)
                status = error_set(err, "out of memory");
        }
        sqlite3_finalize(ledger);
        sqlite3_close(db);
        strvec_clear(&names);
    }
    strvec_clear(&domains);
    if (status == 0)
        status = bronze_vtab_sort(tables, err);
    return status;
}

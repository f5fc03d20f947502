/* merge.c - one bronze file -> rows of one silver table, exactly once.
 *
 * A file is merged inside a savepoint of the caller's transaction together
 * with its _snapshots and _ledger rows (rule 2). The live path (merge_one)
 * wraps each file in its own BEGIN IMMEDIATE ... COMMIT; replay wraps all the
 * files of a table in one transaction.
 *
 * The table:
 *   - is created at the first record: the user columns of the endpoint schema
 *     version that record was validated against (the record's _schema_version;
 *     versions are immutable, so replay creates exactly the table live
 *     processing created; the latest version if that one is gone), then
 *     _seq, _insert_date, _schema_version, _rescued, and PRIMARY KEY of the
 *     schema's key columns. Without a catalog entry there is no key and no
 *     column: columns are added as fields appear, types inferred from values.
 *   - gains a column (ALTER TABLE ADD COLUMN) for any field it lacks, typed
 *     by the record's schema version, else the latest schema, else the value
 *     (TEXT for a column the latest version widened to string).
 *   - schema changes (evolve.c): merge_table_open first brings the table to
 *     the latest version (renames, drops); a record of an older version has
 *     its fields renamed to the latest names and dropped fields left out
 *     before it is merged, and a table is created with the latest names, so
 *     live merges and replay build the same table.
 *   - with a primary key: upsert where the larger _seq wins, so a late or
 *     re-merged file never rolls a row back and the row is always the record
 *     with the largest _seq (whatever order files arrive in - replay = live):
 *       INSERT OR IGNORE                              changes()==1 -> inserted
 *       UPDATE all columns WHERE pk AND _seq < new AND some column differs
 *                                                     changes()==1 -> updated
 *       UPDATE _seq/_insert_date/_schema_version WHERE pk AND _seq < new
 *                                                     -> unchanged (same data)
 *   - without: append, with _seq UNIQUE and INSERT OR IGNORE, so a file
 *     merged again never duplicates.
 *   - sequence_by (schema.h): "which version wins" compares (the sequence
 *     column, _seq) instead of _seq alone - NULL lowest, timestamp/date by
 *     julianday() (to the millisecond) - in the updates, the deletes and the
 *     tombstones alike, so a late older record never overwrites a newer one.
 *   - deletes (a record with "_op":"delete", keyed tables only): DELETE the
 *     key's row when the delete is newer (closing its history version, so the
 *     change feed shows a delete), and keep a tombstone in _d_<table> (key,
 *     sequence column, _seq) unless a newer row stays. While _d_<table> has
 *     rows, an upsert first looks up its key's tombstone: a newer tombstone
 *     makes the record unchanged (a late older record cannot bring the row
 *     back), an older one is removed. A table created anew drops an old
 *     _d_<table> (rebuild), so replay rebuilds the tombstones too.
 *   - expectations (schema.h, expectation.h) of the endpoint's LATEST schema
 *     are evaluated on every record that is not a delete: warn counts, drop
 *     counts and leaves the record out (its line goes to
 *     rejected/<d>/<e>/<date>-expectations.ndjson, written and fdatasync'd
 *     before the merge commits; replay does not write it again), fail rolls
 *     the file back and leaves it pending (MERGE_BLOCKED; reconcile tries
 *     again, so changing the rule lets it merge; in a replay it is an error).
 *     Failures per rule go to _expectations(snapshot_id, table_name, rule,
 *     action, failed) with the snapshot, one row per rule (0 included).
 *   - row history (history.c): an inserted row adds a version to
 *     _h_<table>, an updated row closes the current version and adds one
 *     (same bound values, plus the snapshot id reserved before the file's
 *     rows are written); an unchanged row writes no history.
 * Values: string -> TEXT, integer -> INTEGER, real -> REAL, true/false -> 1/0,
 * object/array -> compact JSON text, null/absent -> NULL (a record replaces
 * the whole row: fields it lacks become NULL). _domain, _endpoint, _batch_id
 * are not columns.
 *
 * A file is corrupt (quarantined, never half merged, not retried) when the
 * frame or a line cannot be read, a line is not a JSON object, _seq is not a
 * non-negative integer, a field name breaks the column rule, _domain /
 * _endpoint name another table, a key column is missing, or SQLite refuses a
 * value or a column for good (constraint, type mismatch, too many columns).
 *
 * Each line is read once and its values are bound directly. The common line
 * - a flat object of scalars, every field a known column of the current
 * names, no expectations - is read in place by jsonflat_scan (common/
 * jsonflat.h; building a jansson tree per line was about half of a merge's
 * CPU); any other line (a new column, nested values, escapes, an older
 * version's renamed fields, anything unusual) is parsed with jansson and
 * handled exactly as before, including every error message. The statements
 * for the current column set are prepared once per table and kept while the
 * transaction lasts. */
#include "processor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "bronze.h"
#include "event.h"
#include "expectation.h"
#include "fsutil.h"
#include "jsonflat.h"
#include "log.h"
#include "timeutil.h"

#define MERGE_SEQ "_seq"
#define MERGE_INSERT_DATE "_insert_date"
#define MERGE_SCHEMA_VERSION "_schema_version"
#define MERGE_FLAT_MAX 256 /* fields of a line read by jsonflat; more: jansson */
#define MERGE_SLOW 4       /* merge_record_flat: take the jansson path */

struct merge_column {
    char name[NAMES_MAX];
    bool pk;
};

struct merge_table {
    struct silver_db *sdb;
    struct schemas *schemas;
    char domain[NAMES_MAX];
    char name[NAMES_MAX];
    bool exists;
    /* data columns (user columns and _rescued) in table order */
    struct merge_column *cols;
    size_t ncols;
    size_t cap;
    size_t *pk;        /* indexes into cols, in key order */
    size_t npk;
    uint32_t *slots;   /* case-insensitive name -> index + 1 (SQLite column names ignore case) */
    size_t nslots;
    /* per-record scratch, cap entries each */
    struct jsonflat_field *vals; /* the record's values (strings borrowed) */
    struct jsonflat_field *flat; /* MERGE_FLAT_MAX fields of the line (jsonflat_scan) */
    char **texts;      /* compact JSON of object/array values */
    uint32_t *stamp;   /* stamp[i] == gen: column i has a value in this record */
    uint32_t gen;
    /* statements for the current column set (NULL: prepare on next use) */
    sqlite3_stmt *ins;
    sqlite3_stmt *upd;
    sqlite3_stmt *touch;
    sqlite3_stmt *hins;   /* INSERT INTO _h_<table>: ?n+4 = _valid_from */
    sqlite3_stmt *hclose; /* close the current version of a key (keyed tables) */
    bool history;         /* write history rows (replay's rebuild turns it off) */
    int64_t snapshot_id;  /* the snapshot the current file commits as */
    int64_t closed;       /* versions closed by the current file */
    /* deletes ("_op":"delete", keyed tables): tombstones in _d_<table> */
    sqlite3_stmt *del;    /* DELETE the row WHERE key AND older than the delete */
    sqlite3_stmt *has;    /* SELECT 1 WHERE key */
    sqlite3_stmt *tput;   /* upsert the key's tombstone (the newer wins) */
    sqlite3_stmt *tget;   /* is the key's tombstone newer than the record? */
    sqlite3_stmt *tdel;   /* remove the key's tombstone (a newer record came) */
    bool dtable;          /* _d_<table> exists */
    bool tombstones;      /* _d_<table> may have rows: check before inserting */
    /* sequence_by (schema.h): the column deciding which version wins, or -1 */
    int seq_col;
    bool seq_time;        /* timestamp/date: compared as julianday() */
    /* expectations (expectation.h) of the latest schema */
    struct expectation_set *expect;
    int expect_version;   /* schema version compiled into expect */
    int counted_version;  /* schema version whose rules are in counts (-1: none) */
    struct merge_rule_count *counts; /* failures per rule in the current file */
    size_t ncounts, capcounts;
    struct sqlbuf *drops; /* rejected/ lines of records dropped by the current file */
    const char *file;     /* the file being merged (relative) */
    /* schemas fetched for this table (typing of created/added columns) */
    struct schema *version_schema;
    int version_schema_version;  /* 0: none fetched */
    struct schema *latest;
    bool latest_fetched;
    struct evolve_names *names; /* older versions' column names -> latest (evolve.c) */
};

/* Metadata of the record being merged. */
struct merge_meta {
    int64_t seq;
    const char *insert_date;       /* NULL: absent or null */
    size_t insert_date_len;
    bool has_schema_version;
    int64_t schema_version;
};

/* ---- SQL text -------------------------------------------------------------- */

struct sqlbuf {
    char *s;
    size_t len;
    size_t cap;
    bool failed;
};

static void sqlbuf_add(struct sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sqlbuf_add(struct sqlbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->s != NULL && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* Failures of one rule (by name) in the file being merged. */
struct merge_rule_count {
    char name[NAMES_MAX];
    enum schema_expect_action action;
    char rule[SCHEMA_RULE_MAX];
    int64_t failed;
};

/* ---- columns --------------------------------------------------------------- */

static uint32_t merge_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * 16777619u;
    }
    return h;
}

static int merge_find(const struct merge_table *t, const char *name)
{
    if (t->nslots == 0)
        return -1;
    size_t mask = t->nslots - 1;
    for (size_t i = merge_hash(name) & mask; t->slots[i] != 0; i = (i + 1) & mask) {
        size_t idx = t->slots[i] - 1;
        if (strcasecmp(t->cols[idx].name, name) == 0)
            return (int)idx;
    }
    return -1;
}

static int merge_rehash(struct merge_table *t)
{
    size_t n = 16;
    while (n < 2 * (t->ncols + 1))
        n *= 2;
    if (n != t->nslots) {
        uint32_t *slots = realloc(t->slots, n * sizeof *slots);
        if (slots == NULL)
            return -1;
        t->slots = slots;
        t->nslots = n;
    }
    memset(t->slots, 0, t->nslots * sizeof *t->slots);
    for (size_t c = 0; c < t->ncols; c++) {
        size_t i = merge_hash(t->cols[c].name) & (t->nslots - 1);
        while (t->slots[i] != 0)
            i = (i + 1) & (t->nslots - 1);
        t->slots[i] = (uint32_t)c + 1;
    }
    return 0;
}

static int merge_reserve(struct merge_table *t, size_t need)
{
    if (need <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 16;
    while (cap < need)
        cap *= 2;
    struct merge_column *cols = realloc(t->cols, cap * sizeof *cols);
    if (cols == NULL)
        return -1;
    t->cols = cols;
    struct jsonflat_field *vals = realloc(t->vals, cap * sizeof *vals);
    if (vals == NULL)
        return -1;
    t->vals = vals;
    char **texts = realloc(t->texts, cap * sizeof *texts);
    if (texts == NULL)
        return -1;
    t->texts = texts;
    uint32_t *stamp = realloc(t->stamp, cap * sizeof *stamp);
    if (stamp == NULL)
        return -1;
    t->stamp = stamp;
    size_t *pk = realloc(t->pk, cap * sizeof *pk);
    if (pk == NULL)
        return -1;
    t->pk = pk;
    for (size_t i = t->cap; i < cap; i++) {
        t->texts[i] = NULL;
        t->stamp[i] = 0;
    }
    t->cap = cap;
    return 0;
}

static void merge_finalize(struct merge_table *t)
{
    sqlite3_finalize(t->ins);
    sqlite3_finalize(t->upd);
    sqlite3_finalize(t->touch);
    sqlite3_finalize(t->hins);
    sqlite3_finalize(t->hclose);
    t->ins = t->upd = t->touch = t->hins = t->hclose = NULL;
    sqlite3_finalize(t->del);
    sqlite3_finalize(t->has);
    sqlite3_finalize(t->tput);
    sqlite3_finalize(t->tget);
    sqlite3_finalize(t->tdel);
    t->del = t->has = t->tput = t->tget = t->tdel = NULL;
}

static bool merge_is_meta_column(const char *name)
{
    return strcmp(name, MERGE_SEQ) == 0 || strcmp(name, MERGE_INSERT_DATE) == 0 ||
           strcmp(name, MERGE_SCHEMA_VERSION) == 0;
}

/* Keyed tables: does _d_<table> exist and hold tombstones; which column is
 * the schema's sequence_by (the latest schema: changing it is refused as an
 * incompatible change, so every version agrees). */
static int merge_load_keyed(struct merge_table *t, char err[ERROR_MAX])
{
    t->dtable = t->tombstones = false;
    t->seq_col = -1;
    t->seq_time = false;
    if (!t->exists || t->npk == 0)
        return 0;
    const struct schema *s = t->latest_fetched ? t->latest : NULL;
    if (s != NULL && s->sequence_by[0] != '\0') {
        const struct schema_column *c = schema_find_column(s, s->sequence_by);
        t->seq_col = merge_find(t, s->sequence_by);
        t->seq_time = c != NULL && (c->type == SCHEMA_TYPE_TIMESTAMP || c->type == SCHEMA_TYPE_DATE);
    }
    char sql[NAMES_MAX + 96];
    snprintf(sql, sizeof sql, "SELECT EXISTS (SELECT 1 FROM \"_d_%s\")", t->name);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(t->sdb->db,
                                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                "name = '_d_' || ?1",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW)
            t->dtable = sqlite3_column_int(st, 0) > 0;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_ROW && t->dtable && (rc = sqlite3_prepare_v2(t->sdb->db, sql, -1, &st, NULL)) == SQLITE_OK &&
        (rc = sqlite3_step(st)) == SQLITE_ROW)
        t->tombstones = sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return error_set(err, "silver/%s.db: tombstones of %s: %s", t->domain, t->name,
                         sqlite3_errmsg(t->sdb->db));
    return 0;
}

/* (Re)read the table's columns and key from SQLite; drops the statements. */
static int merge_load(struct merge_table *t, char err[ERROR_MAX])
{
    merge_finalize(t);
    t->ncols = 0;
    t->npk = 0;
    t->exists = false;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(t->sdb->db, "SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid",
                           -1, &st, NULL) != SQLITE_OK)
        return error_set(err, "silver/%s.db: table_info: %s", t->domain,
                         sqlite3_errmsg(t->sdb->db));
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    int keypos[256] = {0};
    bool has_seq = false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        t->exists = true;
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int pk = sqlite3_column_int(st, 1);
        if (name == NULL || strlen(name) >= NAMES_MAX) {
            sqlite3_finalize(st);
            return error_set(err, "silver table %s.%s: unexpected column name", t->domain, t->name);
        }
        if (strcmp(name, MERGE_SEQ) == 0)
            has_seq = true;
        if (merge_is_meta_column(name))
            continue;
        if (merge_reserve(t, t->ncols + 1) < 0) {
            sqlite3_finalize(st);
            return error_set(err, "out of memory");
        }
        struct merge_column *c = &t->cols[t->ncols];
        snprintf(c->name, sizeof c->name, "%s", name);
        c->pk = pk > 0;
        if (pk > 0 && pk <= 255)
            keypos[pk] = (int)t->ncols + 1;
        t->ncols++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return error_set(err, "silver/%s.db: table_info of %s: %s", t->domain, t->name,
                         sqlite3_errmsg(t->sdb->db));
    if (t->exists && !has_seq)
        return error_set(err, "silver table %s.%s has no _seq column: not a processor table",
                         t->domain, t->name);
    for (int p = 1; p < 256; p++)
        if (keypos[p] > 0)
            t->pk[t->npk++] = (size_t)keypos[p] - 1;
    if (merge_rehash(t) < 0)
        return error_set(err, "out of memory");
    return merge_load_keyed(t, err);
}

int merge_table_open(struct silver_db *sdb, struct schemas *schemas, const char *domain,
                     const char *table, struct merge_table **out, char err[ERROR_MAX])
{
    if (names_check_object("table", table, err) < 0)
        return -1;
    struct merge_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return error_set(err, "out of memory");
    t->sdb = sdb;
    t->schemas = schemas;
    snprintf(t->domain, sizeof t->domain, "%s", domain);
    snprintf(t->name, sizeof t->name, "%s", table);
    if (merge_reserve(t, 16) < 0 || (t->flat = calloc(MERGE_FLAT_MAX, sizeof *t->flat)) == NULL) {
        merge_table_close(&t);
        return error_set(err, "out of memory");
    }
    t->history = true;
    /* the latest schema: sequence_by and expectations apply to every file */
    if (schemas_get(schemas, domain, table, 0, &t->latest, err) < 0) {
        merge_table_close(&t);
        return -1;
    }
    t->latest_fetched = true;
    /* a newer schema version renames/drops columns before the file's records
     * (written under it) are merged */
    int64_t changed = 0;
    if (evolve_apply(sdb, schemas, table, t->latest, &changed, err) < 0 ||
        merge_load(t, err) < 0 || (t->exists && history_sync(sdb, table, err) < 0)) {
        merge_table_close(&t);
        return -1;
    }
    *out = t;
    return 0;
}

void merge_table_close(struct merge_table **table)
{
    struct merge_table *t = *table;
    if (t == NULL)
        return;
    merge_finalize(t);
    for (size_t i = 0; i < t->cap; i++)
        free(t->texts[i]);
    free(t->cols);
    free(t->vals);
    free(t->flat);
    free(t->texts);
    free(t->stamp);
    free(t->pk);
    free(t->slots);
    schema_destroy(&t->version_schema);
    schema_destroy(&t->latest);
    evolve_names_free(&t->names);
    expectation_close(&t->expect);
    free(t->counts);
    if (t->drops != NULL)
        free(t->drops->s);
    free(t->drops);
    free(t);
    *table = NULL;
}

/* ---- schemas --------------------------------------------------------------- */

/* The schema for typing: the record's version if the catalog still has it,
 * else the latest. *out borrowed (NULL: the endpoint is unknown). */
static int merge_schema(struct merge_table *t, int version, const struct schema **out,
                        char err[ERROR_MAX])
{
    *out = NULL;
    if (version > 0) {
        if (t->version_schema_version != version) {
            schema_destroy(&t->version_schema);
            t->version_schema_version = 0;
            int rc = schemas_get(t->schemas, t->domain, t->name, version, &t->version_schema, err);
            if (rc < 0)
                return -1;
            t->version_schema_version = version;
        }
        if (t->version_schema != NULL) {
            *out = t->version_schema;
            return 0;
        }
    }
    if (!t->latest_fetched) {
        if (schemas_get(t->schemas, t->domain, t->name, 0, &t->latest, err) < 0)
            return -1;
        t->latest_fetched = true;
    }
    *out = t->latest;
    return 0;
}

static const struct schema_column *merge_schema_column(const struct schema *s, const char *name)
{
    if (s == NULL)
        return NULL;
    const struct schema_column *c = schema_find_column(s, name);
    if (c != NULL)
        return c;
    for (size_t i = 0; i < s->column_count; i++)
        if (strcasecmp(s->columns[i].name, name) == 0)
            return &s->columns[i];
    return NULL;
}

/* Is this SQLite failure caused by the data (permanent) rather than by the
 * moment (busy, I/O, full disk)? */
static bool merge_permanent(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_ERROR: /* SQL-level: duplicate/too many columns, bad value */
        return true;
    default:
        return false;
    }
}

/* Run DDL built from checked names. 0, 1 corrupt (reason), -1 error. */
static int merge_ddl(struct merge_table *t, const char *sql, char reason[ERROR_MAX],
                     char err[ERROR_MAX])
{
    char *msg = NULL;
    int rc = sqlite3_exec(t->sdb->db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return 0;
    char text[ERROR_MAX];
    snprintf(text, sizeof text, "%s", msg ? msg : sqlite3_errmsg(t->sdb->db));
    sqlite3_free(msg);
    if (merge_permanent(rc)) {
        error_set(reason, "table %s: %s", t->name, text);
        return 1;
    }
    return error_set(err, "silver/%s.db: %s: %s", t->domain, sql, text);
}

/* The declared type of a column: its version's type, except TEXT when the
 * latest version widened it to string (evolve.c rebuilt it so live; INTEGER
 * affinity would turn "007" into 7). */
static const char *merge_sql_type(const struct merge_table *t, const char *name,
                                  enum schema_type type)
{
    const struct schema_column *c =
        t->latest_fetched ? merge_schema_column(t->latest, name) : NULL;
    if (c != NULL && c->type == SCHEMA_TYPE_STRING)
        return "TEXT";
    return schema_type_sql(type);
}

/* CREATE TABLE from the schema of the first record's version. */
static int merge_create(struct merge_table *t, int version, char reason[ERROR_MAX],
                        char err[ERROR_MAX])
{
    const struct schema *s;
    if (merge_schema(t, version, &s, err) < 0)
        return -1;
    struct sqlbuf b = {0};
    /* tombstones of an earlier table of this name (dropped, rebuilt) are void */
    sqlbuf_add(&b, "DROP TABLE IF EXISTS \"_d_%s\"; CREATE TABLE \"%s\" (", t->name, t->name);
    size_t keys = 0;
    /* the version's columns under their latest names (renamed; dropped ones
     * left out), as live schema changes left the table (evolve.c) */
    const char **names = s != NULL ? calloc(s->column_count + 1, sizeof *names) : NULL;
    if (s != NULL && names == NULL) {
        free(b.s);
        return error_set(err, "out of memory");
    }
    for (size_t i = 0; s != NULL && i < s->column_count; i++) {
        const struct schema_column *c = &s->columns[i];
        if (!names_is_valid_column(c->name) || merge_is_meta_column(c->name) ||
            strcmp(c->name, SCHEMA_RESCUED_COLUMN) == 0)
            continue; /* the catalog checked names; never splice anything else */
        if (evolve_name(&t->names, t->schemas, t->domain, t->name,
                        t->latest_fetched ? t->latest : NULL, s->version, c->name, &names[i],
                        err) < 0) {
            free(names);
            free(b.s);
            return -1;
        }
        if (names[i] == NULL)
            continue;
        sqlbuf_add(&b, "\"%s\" %s, ", names[i], merge_sql_type(t, names[i], c->type));
        if (c->primary_key)
            keys++;
    }
    sqlbuf_add(&b, "\"%s\" INTEGER NOT NULL%s, \"%s\" TEXT, \"%s\" INTEGER, \"%s\" TEXT", MERGE_SEQ,
               keys ? "" : " UNIQUE", MERGE_INSERT_DATE, MERGE_SCHEMA_VERSION,
               SCHEMA_RESCUED_COLUMN);
    if (keys > 0) {
        sqlbuf_add(&b, ", PRIMARY KEY (");
        size_t k = 0;
        for (size_t i = 0; i < s->column_count; i++) {
            const struct schema_column *c = &s->columns[i];
            if (c->primary_key && names[i] != NULL)
                sqlbuf_add(&b, "%s\"%s\"", k++ ? ", " : "", names[i]);
        }
        sqlbuf_add(&b, ")");
    }
    sqlbuf_add(&b, ")");
    free(names);
    if (b.failed) {
        free(b.s);
        return error_set(err, "out of memory");
    }
    int rc = merge_ddl(t, b.s, reason, err);
    free(b.s);
    if (rc != 0)
        return rc;
    int named = t->latest_fetched && t->latest != NULL ? t->latest->version : 0;
    if (evolve_created(t->sdb, t->name, named, t->snapshot_id, err) < 0)
        return -1;
    log_info("table_created table=%s.%s schema_version=%d columns=%zu key_columns=%zu",
             t->domain, t->name, s ? s->version : 0, s ? s->column_count : 0, keys);
    if (history_sync(t->sdb, t->name, err) < 0)
        return -1;
    return merge_load(t, err);
}

/* ALTER TABLE ADD COLUMN for a field the table lacks. */
static int merge_add_column(struct merge_table *t, const char *name, const json_t *value,
                            int version, char reason[ERROR_MAX], char err[ERROR_MAX])
{
    const char *type = "TEXT";
    if (strcmp(name, SCHEMA_RESCUED_COLUMN) != 0) {
        const struct schema *s;
        if (merge_schema(t, version, &s, err) < 0)
            return -1;
        const struct schema_column *c = merge_schema_column(s, name);
        if (c == NULL && s != t->latest && !t->latest_fetched) {
            if (schemas_get(t->schemas, t->domain, t->name, 0, &t->latest, err) < 0)
                return -1;
            t->latest_fetched = true;
        }
        if (c == NULL && s != t->latest)
            c = merge_schema_column(t->latest, name);
        enum schema_type inferred;
        if (c != NULL)
            type = merge_sql_type(t, name, c->type);
        else if (schema_infer_type(value, &inferred) == 0)
            type = schema_type_sql(inferred);
    }
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER TABLE \"%s\" ADD COLUMN \"%s\" %s", t->name, name, type);
    int rc = merge_ddl(t, sql, reason, err);
    if (rc != 0)
        return rc;
    log_info("column_added table=%s.%s column=%s type=%s", t->domain, t->name, name, type);
    if (history_sync(t->sdb, t->name, err) < 0)
        return -1;
    if (merge_reserve(t, t->ncols + 1) < 0)
        return error_set(err, "out of memory");
    struct merge_column *col = &t->cols[t->ncols++];
    snprintf(col->name, sizeof col->name, "%s", name);
    col->pk = false;
    t->stamp[t->ncols - 1] = 0;
    merge_finalize(t);
    if (merge_rehash(t) < 0)
        return error_set(err, "out of memory");
    if (t->seq_col < 0 && t->npk > 0 && t->latest != NULL && t->latest->sequence_by[0] != '\0')
        t->seq_col = merge_find(t, t->latest->sequence_by); /* it came as a new column */
    return 0;
}

/* ---- statements ------------------------------------------------------------ */

/* The order of a key's versions: _seq, or with sequence_by (sequence value,
 * _seq) - NULL lowest, timestamps/dates by julianday() so that zones compare
 * right. qual: "" or a quoted table name plus '.'. */
static void merge_order(struct sqlbuf *b, const struct merge_table *t, const char *qual)
{
    if (t->seq_col < 0) {
        sqlbuf_add(b, "%s\"%s\"", qual, MERGE_SEQ);
        return;
    }
    sqlbuf_add(b, "(coalesce(%s(%s\"%s\"), -1e308), %s\"%s\")", t->seq_time ? "julianday" : "",
               qual, t->cols[t->seq_col].name, qual, MERGE_SEQ);
}

/* The same for the bound record (merge_bind's parameters). */
static void merge_order_param(struct sqlbuf *b, const struct merge_table *t)
{
    if (t->seq_col < 0) {
        sqlbuf_add(b, "?%zu", t->ncols + 1);
        return;
    }
    sqlbuf_add(b, "(coalesce(%s(?%d), -1e308), ?%zu)", t->seq_time ? "julianday" : "",
               t->seq_col + 1, t->ncols + 1);
}

/* "k1" = ?i AND "k2" = ?j (the key of the bound record). */
static void merge_key_where(struct sqlbuf *b, const struct merge_table *t)
{
    for (size_t k = 0; k < t->npk; k++)
        sqlbuf_add(b, "%s\"%s\" = ?%zu", k ? " AND " : "", t->cols[t->pk[k]].name, t->pk[k] + 1);
}

static int merge_prepare_one(struct merge_table *t, struct sqlbuf *b, sqlite3_stmt **out,
                             char err[ERROR_MAX]);

/* _d_<table> (created on the first delete) and its statements. A tombstone
 * keeps the key, the sequence value and _seq of the newest delete of a key
 * that has no row, so that an older record arriving later cannot bring the
 * row back (replay = live). */
static int merge_prepare_tombstones(struct merge_table *t, char err[ERROR_MAX])
{
    struct sqlbuf b = {0};
    if (!t->dtable) {
        sqlbuf_add(&b, "CREATE TABLE \"_d_%s\" AS SELECT ", t->name);
        for (size_t k = 0; k < t->npk; k++)
            sqlbuf_add(&b, "\"%s\", ", t->cols[t->pk[k]].name);
        if (t->seq_col >= 0 && !t->cols[t->seq_col].pk)
            sqlbuf_add(&b, "\"%s\", ", t->cols[t->seq_col].name);
        sqlbuf_add(&b, "\"%s\" FROM \"%s\" WHERE 0; CREATE UNIQUE INDEX \"_d_%s_key\" ON \"_d_%s\" (",
                   MERGE_SEQ, t->name, t->name, t->name);
        for (size_t k = 0; k < t->npk; k++)
            sqlbuf_add(&b, "%s\"%s\"", k ? ", " : "", t->cols[t->pk[k]].name);
        sqlbuf_add(&b, ")");
        if (b.failed) {
            free(b.s);
            return error_set(err, "out of memory");
        }
        char *msg = NULL;
        int rc = sqlite3_exec(t->sdb->db, b.s, NULL, NULL, &msg);
        free(b.s);
        b = (struct sqlbuf){0};
        if (rc != SQLITE_OK) {
            error_set(err, "silver/%s.db: creating _d_%s: %s", t->domain, t->name,
                      msg ? msg : sqlite3_errmsg(t->sdb->db));
            sqlite3_free(msg);
            return -1;
        }
        t->dtable = true;
    }
    char dq[NAMES_MAX + 8];
    snprintf(dq, sizeof dq, "\"_d_%s\".", t->name);
    bool seq = t->seq_col >= 0 && !t->cols[t->seq_col].pk;
    sqlbuf_add(&b, "INSERT INTO \"_d_%s\" (", t->name);
    for (size_t k = 0; k < t->npk; k++)
        sqlbuf_add(&b, "\"%s\", ", t->cols[t->pk[k]].name);
    if (seq)
        sqlbuf_add(&b, "\"%s\", ", t->cols[t->seq_col].name);
    sqlbuf_add(&b, "\"%s\") VALUES (", MERGE_SEQ);
    for (size_t k = 0; k < t->npk; k++)
        sqlbuf_add(&b, "?%zu, ", t->pk[k] + 1);
    if (seq)
        sqlbuf_add(&b, "?%d, ", t->seq_col + 1);
    sqlbuf_add(&b, "?%zu) ON CONFLICT (", t->ncols + 1);
    for (size_t k = 0; k < t->npk; k++)
        sqlbuf_add(&b, "%s\"%s\"", k ? ", " : "", t->cols[t->pk[k]].name);
    sqlbuf_add(&b, ") DO UPDATE SET ");
    if (seq)
        sqlbuf_add(&b, "\"%s\" = excluded.\"%s\", ", t->cols[t->seq_col].name,
                   t->cols[t->seq_col].name);
    sqlbuf_add(&b, "\"%s\" = excluded.\"%s\" WHERE ", MERGE_SEQ, MERGE_SEQ);
    merge_order(&b, t, dq);
    sqlbuf_add(&b, " < ");
    merge_order(&b, t, "excluded.");
    if (merge_prepare_one(t, &b, &t->tput, err) < 0)
        return -1;
    sqlbuf_add(&b, "SELECT ");
    merge_order(&b, t, "");
    sqlbuf_add(&b, " >= ");
    merge_order_param(&b, t);
    sqlbuf_add(&b, " FROM \"_d_%s\" WHERE ", t->name);
    merge_key_where(&b, t);
    if (merge_prepare_one(t, &b, &t->tget, err) < 0)
        return -1;
    sqlbuf_add(&b, "DELETE FROM \"_d_%s\" WHERE ", t->name);
    merge_key_where(&b, t);
    return merge_prepare_one(t, &b, &t->tdel, err);
}

static int merge_prepare_one(struct merge_table *t, struct sqlbuf *b, sqlite3_stmt **out,
                             char err[ERROR_MAX])
{
    if (b->failed) {
        free(b->s);
        return error_set(err, "out of memory");
    }
    int rc = sqlite3_prepare_v2(t->sdb->db, b->s, (int)b->len, out, NULL);
    if (rc != SQLITE_OK)
        error_set(err, "silver/%s.db: prepare %s: %s", t->domain, b->s,
                  sqlite3_errmsg(t->sdb->db));
    free(b->s);
    *b = (struct sqlbuf){0};
    return rc == SQLITE_OK ? 0 : -1;
}

/* Parameters: ?1..?n the data columns in table order, ?n+1 _seq,
 * ?n+2 _insert_date, ?n+3 _schema_version. */
static int merge_prepare_all(struct merge_table *t, char err[ERROR_MAX])
{
    size_t n = t->ncols;
    struct sqlbuf b = {0};
    sqlbuf_add(&b, "INSERT OR IGNORE INTO \"%s\" (", t->name);
    for (size_t i = 0; i < n; i++)
        sqlbuf_add(&b, "\"%s\", ", t->cols[i].name);
    sqlbuf_add(&b, "\"%s\", \"%s\", \"%s\") VALUES (", MERGE_SEQ, MERGE_INSERT_DATE,
               MERGE_SCHEMA_VERSION);
    for (size_t i = 1; i <= n + 3; i++)
        sqlbuf_add(&b, "%s?%zu", i > 1 ? ", " : "", i);
    sqlbuf_add(&b, ")");
    if (merge_prepare_one(t, &b, &t->ins, err) < 0)
        return -1;
    sqlbuf_add(&b, "INSERT INTO \"_h_%s\" (", t->name);
    for (size_t i = 0; i < n; i++)
        sqlbuf_add(&b, "\"%s\", ", t->cols[i].name);
    sqlbuf_add(&b, "\"%s\", \"%s\", \"%s\", \"_valid_from\") VALUES (", MERGE_SEQ,
               MERGE_INSERT_DATE, MERGE_SCHEMA_VERSION);
    for (size_t i = 1; i <= n + 4; i++)
        sqlbuf_add(&b, "%s?%zu", i > 1 ? ", " : "", i);
    sqlbuf_add(&b, ")");
    if (merge_prepare_one(t, &b, &t->hins, err) < 0)
        return -1;
    if (t->npk == 0)
        return 0;
    sqlbuf_add(&b, "UPDATE \"_h_%s\" SET \"_valid_to\" = ?%zu WHERE ", t->name, n + 4);
    for (size_t k = 0; k < t->npk; k++)
        sqlbuf_add(&b, "\"%s\" = ?%zu AND ", t->cols[t->pk[k]].name, t->pk[k] + 1);
    sqlbuf_add(&b, "\"_valid_to\" IS NULL");
    if (merge_prepare_one(t, &b, &t->hclose, err) < 0)
        return -1;

    /* key condition shared by both updates */
    struct sqlbuf where = {0};
    for (size_t k = 0; k < t->npk; k++)
        sqlbuf_add(&where, "\"%s\" = ?%zu AND ", t->cols[t->pk[k]].name, t->pk[k] + 1);
    merge_order(&where, t, "");
    sqlbuf_add(&where, " < ");
    merge_order_param(&where, t);
    if (where.failed) {
        free(where.s);
        return error_set(err, "out of memory");
    }

    size_t data = 0;
    sqlbuf_add(&b, "UPDATE \"%s\" SET ", t->name);
    for (size_t i = 0; i < n; i++) {
        if (!t->cols[i].pk) {
            sqlbuf_add(&b, "\"%s\" = ?%zu, ", t->cols[i].name, i + 1);
            data++;
        }
    }
    sqlbuf_add(&b, "\"%s\" = ?%zu, \"%s\" = ?%zu, \"%s\" = ?%zu WHERE %s AND (", MERGE_SEQ, n + 1,
               MERGE_INSERT_DATE, n + 2, MERGE_SCHEMA_VERSION, n + 3, where.s);
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        if (!t->cols[i].pk)
            sqlbuf_add(&b, "%s\"%s\" IS NOT ?%zu", d++ ? " OR " : "", t->cols[i].name, i + 1);
    sqlbuf_add(&b, ")");
    if (data == 0) {
        free(b.s); /* only key columns: a newer record can only refresh metadata */
        b = (struct sqlbuf){0};
    } else if (merge_prepare_one(t, &b, &t->upd, err) < 0) {
        free(where.s);
        return -1;
    }

    sqlbuf_add(&b, "UPDATE \"%s\" SET \"%s\" = ?%zu, \"%s\" = ?%zu, \"%s\" = ?%zu WHERE %s",
               t->name, MERGE_SEQ, n + 1, MERGE_INSERT_DATE, n + 2, MERGE_SCHEMA_VERSION, n + 3,
               where.s);
    /* deletes: the row goes only when the delete is newer */
    struct sqlbuf del = {0};
    sqlbuf_add(&del, "DELETE FROM \"%s\" WHERE %s", t->name, where.s);
    free(where.s);
    if (merge_prepare_one(t, &b, &t->touch, err) < 0 ||
        merge_prepare_one(t, &del, &t->del, err) < 0) {
        free(del.s);
        return -1;
    }
    sqlbuf_add(&b, "SELECT 1 FROM \"%s\" WHERE ", t->name);
    merge_key_where(&b, t);
    return merge_prepare_one(t, &b, &t->has, err);
}

/* All statements of the current column set, or none. */
static int merge_prepare(struct merge_table *t, char err[ERROR_MAX])
{
    if (merge_prepare_all(t, err) == 0)
        return 0;
    merge_finalize(t);
    return -1;
}

static void merge_bind(struct merge_table *t, sqlite3_stmt *st, const struct merge_meta *m)
{
    size_t n = t->ncols;
    for (size_t i = 0; i < n; i++) {
        int p = (int)i + 1;
        if (t->stamp[i] != t->gen) {
            sqlite3_bind_null(st, p);
            continue;
        }
        const struct jsonflat_field *v = &t->vals[i];
        switch (v->type) {
        case JSONFLAT_STRING: sqlite3_bind_text(st, p, v->str, (int)v->len, SQLITE_STATIC); break;
        case JSONFLAT_INTEGER: sqlite3_bind_int64(st, p, v->integer); break;
        case JSONFLAT_REAL: sqlite3_bind_double(st, p, v->real); break;
        case JSONFLAT_TRUE: sqlite3_bind_int(st, p, 1); break;
        case JSONFLAT_FALSE: sqlite3_bind_int(st, p, 0); break;
        default: sqlite3_bind_null(st, p); break;
        }
    }
    sqlite3_bind_int64(st, (int)n + 1, m->seq);
    if (m->insert_date != NULL)
        sqlite3_bind_text(st, (int)n + 2, m->insert_date, (int)m->insert_date_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, (int)n + 2);
    if (m->has_schema_version)
        sqlite3_bind_int64(st, (int)n + 3, m->schema_version);
    else
        sqlite3_bind_null(st, (int)n + 3);
}

/* Step a bound statement: rows changed (0/1), or -1 / -2 (permanent) with a message. */
static int merge_step(struct merge_table *t, sqlite3_stmt *st, char msg[ERROR_MAX])
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return sqlite3_changes(t->sdb->db);
    error_set(msg, "%s", sqlite3_errmsg(t->sdb->db));
    return merge_permanent(rc) ? -2 : -1;
}

/* History of a written row: close the key's current version (updates),
 * then add the new one. 1 done, or merge_step's -1 / -2. */
static int merge_history(struct merge_table *t, const struct merge_meta *m, bool close,
                         char msg[ERROR_MAX])
{
    if (!t->history)
        return 1;
    int valid_from = (int)t->ncols + 4;
    if (close && t->hclose != NULL) {
        merge_bind(t, t->hclose, m);
        sqlite3_bind_int64(t->hclose, valid_from, t->snapshot_id);
        int rc = merge_step(t, t->hclose, msg);
        if (rc < 0)
            return rc;
        t->closed += rc;
    }
    merge_bind(t, t->hins, m);
    sqlite3_bind_int64(t->hins, valid_from, t->snapshot_id);
    return merge_step(t, t->hins, msg);
}

void merge_table_set_history(struct merge_table *table, bool on)
{
    table->history = on;
}

/* ---- records --------------------------------------------------------------- */

static void merge_free_texts(struct merge_table *t)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (t->texts[i] != NULL) {
            free(t->texts[i]);
            t->texts[i] = NULL;
        }
    }
}

/* Record why a file is corrupt; returns 1 (the "corrupt" result). */
static int merge_corrupt(char reason[ERROR_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int merge_corrupt(char reason[ERROR_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, ERROR_MAX, fmt, ap);
    va_end(ap);
    return 1;
}

/* ---- expectations ---------------------------------------------------------- */

static struct merge_rule_count *merge_count(struct merge_table *t,
                                            const struct schema_expectation *x)
{
    for (size_t i = 0; i < t->ncounts; i++)
        if (t->counts[i].action == x->action && strcmp(t->counts[i].name, x->name) == 0)
            return &t->counts[i];
    if (t->ncounts == t->capcounts) {
        size_t cap = t->capcounts ? t->capcounts * 2 : 8;
        struct merge_rule_count *c = realloc(t->counts, cap * sizeof *c);
        if (c == NULL)
            return NULL;
        t->counts = c;
        t->capcounts = cap;
    }
    struct merge_rule_count *c = &t->counts[t->ncounts++];
    snprintf(c->name, sizeof c->name, "%s", x->name);
    snprintf(c->rule, sizeof c->rule, "%s", x->rule);
    c->action = x->action;
    c->failed = 0;
    return c;
}

/* The expectations of the endpoint's latest schema on one record: 0 keep,
 * 3 dropped (its rejected/ line kept for the end of the file), 2 a "fail"
 * rule failed (reason), -1 error. */
static int merge_expect(struct merge_table *t, const json_t *root, int version, int64_t line,
                        char reason[ERROR_MAX], char err[ERROR_MAX])
{
    /* the latest rules (not the record's version): changing a rule is how a
     * file blocked by a "fail" rule gets merged */
    (void)version;
    const struct schema *s = t->latest;
    if (s == NULL || s->expectation_count == 0)
        return 0;
    if (t->expect == NULL || t->expect_version != s->version) {
        expectation_close(&t->expect);
        char why[ERROR_MAX];
        if (expectation_open(s, &t->expect, why) < 0) {
            error_set(reason, "schema version %d: %s", s->version, why);
            return 2; /* the catalog holds a rule SQLite cannot run: wait for a fix */
        }
        t->expect_version = s->version;
    }
    if (t->counted_version != s->version) {
        t->counted_version = s->version;
        for (size_t i = 0; i < s->expectation_count; i++) /* rules that never fail count 0 */
            if (merge_count(t, &s->expectations[i]) == NULL)
                return error_set(err, "out of memory");
    }
    bool failed[SCHEMA_EXPECTATIONS_MAX] = {false};
    if (expectation_eval(t->expect, root, failed, err) < 0)
        return -1;
    const struct schema_expectation *drop = NULL;
    for (size_t i = 0; i < s->expectation_count; i++) {
        if (!failed[i])
            continue;
        const struct schema_expectation *x = &s->expectations[i];
        struct merge_rule_count *c = merge_count(t, x);
        if (c == NULL)
            return error_set(err, "out of memory");
        c->failed++;
        if (x->action == SCHEMA_EXPECT_FAIL) {
            error_set(reason, "expectation %s failed on line %" PRId64 " (rule: %s)", x->name,
                      line, x->rule);
            return 2;
        }
        if (x->action == SCHEMA_EXPECT_DROP && drop == NULL)
            drop = x;
    }
    if (drop == NULL)
        return 0;
    if (t->drops == NULL)
        return 3; /* replay: the live merge kept it in rejected/ already */
    /* the line format of ingest's rejected files, plus the bronze file */
    char now[TIMEUTIL_TIMESTAMP_MAX], why[NAMES_MAX + 32];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    snprintf(why, sizeof why, "expectation %s failed", drop->name);
    const json_t *batch = json_object_get(root, "_batch_id");
    json_t *j = json_pack("{s:s, s:O, s:I, s:s, s:O, s:s}", "rejected_at", now, "batch_id",
                          json_is_string(batch) ? batch : json_null(), "index",
                          (json_int_t)(line - 1), "reason", why, "record", root, "file",
                          t->file);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return error_set(err, "out of memory");
    sqlbuf_add(t->drops, "%s\n", text);
    free(text);
    if (t->drops->failed)
        return error_set(err, "out of memory");
    return 3;
}

/* Append the dropped records' lines to rejected/<d>/<e>/<date>-expectations.ndjson
 * (a file of the processor's own: ingest cuts its files back after a failed
 * group commit) and make them durable before the merge commits. */
static int merge_write_drops(struct merge_table *t, const char *data_dir, char err[ERROR_MAX])
{
    if (t->drops == NULL || t->drops->len == 0)
        return 0;
    char now[TIMEUTIL_TIMESTAMP_MAX], dir[PATH_MAX], path[PATH_MAX];
    timeutil_format_utc_ms(timeutil_now_ms(), now);
    if (fsutil_path(dir, sizeof dir, err, "%s/rejected/%s/%s", data_dir, t->domain, t->name) < 0 ||
        fsutil_path(path, sizeof path, err, "%s/%.10s-expectations.ndjson", dir, now) < 0 ||
        fsutil_mkdirs(dir, 0750, err) < 0)
        return -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return error_set(err, "%s: %s", path, strerror(errno));
    int rc = fsutil_write_all(fd, t->drops->s, t->drops->len, err);
    if (rc == 0 && fdatasync(fd) < 0)
        rc = error_set(err, "fdatasync %s: %s", path, strerror(errno));
    close(fd);
    if (rc == 0)
        rc = fsutil_fsync_dir(dir, err);
    return rc;
}

/* _expectations: failures per rule of the snapshot (silver internal table). */
static int merge_record_expectations(struct merge_table *t, int64_t snapshot_id,
                                     char err[ERROR_MAX])
{
    if (t->ncounts == 0)
        return 0;
    if (silver_exec(t->sdb,
                    "CREATE TABLE IF NOT EXISTS _expectations (snapshot_id INTEGER NOT NULL, "
                    "table_name TEXT NOT NULL, rule TEXT NOT NULL, action TEXT NOT NULL, "
                    "failed INTEGER NOT NULL, PRIMARY KEY (snapshot_id, table_name, rule))",
                    err) < 0)
        return -1;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(t->sdb->db,
                                "INSERT OR REPLACE INTO _expectations (snapshot_id, table_name, "
                                "rule, action, failed) VALUES (?1, ?2, ?3, ?4, ?5)",
                                -1, &st, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < t->ncounts; i++) {
        sqlite3_bind_int64(st, 1, snapshot_id);
        sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, t->counts[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, schema_expect_action_name(t->counts[i].action), -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, t->counts[i].failed);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return error_set(err, "silver/%s.db: _expectations: %s", t->domain,
                         sqlite3_errmsg(t->sdb->db));
    return 0;
}

/* A delete ("_op":"delete"): remove the key's row if the delete is newer,
 * close its history version, and keep a tombstone unless a newer row stays.
 * 0 ok, 1 corrupt (reason), -1 error (err). */
static int merge_delete(struct merge_table *t, const struct merge_meta *m, int64_t line,
                        struct merge_result *res, char reason[ERROR_MAX], char err[ERROR_MAX])
{
    if (t->tput == NULL && merge_prepare_tombstones(t, err) < 0)
        return -1;
    char msg[ERROR_MAX];
    merge_bind(t, t->del, m);
    int rc = merge_step(t, t->del, msg);
    if (rc == 1) {
        res->deleted++;
        if (t->history && t->hclose != NULL) {
            merge_bind(t, t->hclose, m);
            sqlite3_bind_int64(t->hclose, (int)t->ncols + 4, t->snapshot_id);
            rc = merge_step(t, t->hclose, msg);
            if (rc > 0)
                t->closed += rc;
        }
    } else if (rc == 0) {
        merge_bind(t, t->has, m);
        int src = sqlite3_step(t->has);
        sqlite3_reset(t->has);
        if (src == SQLITE_ROW) {
            res->unchanged++; /* a newer row stays: this delete is history */
            res->records++;
            return 0;
        }
        if (src != SQLITE_DONE) {
            error_set(msg, "%s", sqlite3_errmsg(t->sdb->db));
            rc = merge_permanent(src) ? -2 : -1;
        } else {
            res->unchanged++; /* no such key (yet): only the tombstone */
        }
    }
    if (rc >= 0) {
        merge_bind(t, t->tput, m);
        rc = merge_step(t, t->tput, msg);
        t->tombstones = true;
    }
    if (rc == -2)
        return merge_corrupt(reason, "line %" PRId64 ": delete: %s", line, msg);
    if (rc < 0)
        return error_set(err, "silver/%s.db: deleting from %s: %s", t->domain, t->name, msg);
    res->records++;
    return 0;
}

/* Before an upsert into a table with tombstones: 0 go on (an older
 * tombstone of the key is removed), 2 the key was deleted by a newer delete
 * (the record is counted unchanged), 1 corrupt, -1 error. */
static int merge_tombstone_check(struct merge_table *t, const struct merge_meta *m, int64_t line,
                                 struct merge_result *res, char reason[ERROR_MAX],
                                 char err[ERROR_MAX])
{
    if (t->tget == NULL && merge_prepare_tombstones(t, err) < 0)
        return -1;
    char msg[ERROR_MAX];
    merge_bind(t, t->tget, m);
    int src = sqlite3_step(t->tget);
    int newer = src == SQLITE_ROW ? sqlite3_column_int(t->tget, 0) : 0;
    sqlite3_reset(t->tget);
    int rc = 0;
    if (src == SQLITE_ROW && newer) {
        res->unchanged++;
        res->records++;
        return 2;
    }
    if (src == SQLITE_ROW) {
        merge_bind(t, t->tdel, m);
        rc = merge_step(t, t->tdel, msg);
    } else if (src != SQLITE_DONE) {
        error_set(msg, "%s", sqlite3_errmsg(t->sdb->db));
        rc = merge_permanent(src) ? -2 : -1;
    }
    if (rc == -2)
        return merge_corrupt(reason, "line %" PRId64 ": tombstone: %s", line, msg);
    if (rc < 0)
        return error_set(err, "silver/%s.db: tombstones of %s: %s", t->domain, t->name, msg);
    return 0;
}

static int merge_write(struct merge_table *t, const struct merge_meta *mp, bool is_delete,
                       int64_t line, struct merge_result *res, char reason[ERROR_MAX],
                       char err[ERROR_MAX]);

/* One record. 0 ok, 1 corrupt (reason), 2 blocked by a "fail" expectation
 * (reason), -1 error (err). */
static int merge_record(struct merge_table *t, json_t *root, int64_t line,
                        struct merge_result *res, int64_t *max_version, char reason[ERROR_MAX],
                        char err[ERROR_MAX])
{
    struct merge_meta m = {0};
    const json_t *seq = json_object_get(root, MERGE_SEQ);
    if (!json_is_integer(seq) || json_integer_value(seq) < 0)
        return merge_corrupt(reason, "line %" PRId64 ": _seq missing or not a non-negative integer",
                         line);
    m.seq = json_integer_value(seq);
    int version = 0;
    bool is_delete = false;

    if (++t->gen == 0) { /* wrapped: forget every stamp */
        memset(t->stamp, 0, t->cap * sizeof *t->stamp);
        t->gen = 1;
    }
    const char *key;
    json_t *value;
    /* pass 1: classify fields, make sure every column exists */
    const json_t *sv = json_object_get(root, MERGE_SCHEMA_VERSION);
    if (sv != NULL && !json_is_null(sv)) {
        if (!json_is_integer(sv))
            return merge_corrupt(reason, "line %" PRId64 ": _schema_version is not an integer",
                             line);
        m.has_schema_version = true;
        m.schema_version = json_integer_value(sv);
        if (json_integer_value(sv) > 0 && json_integer_value(sv) <= INT_MAX)
            version = (int)json_integer_value(sv);
        if (json_integer_value(sv) > *max_version)
            *max_version = json_integer_value(sv);
    }
    if (!t->exists) {
        int rc = merge_create(t, version, reason, err);
        if (rc != 0)
            return rc;
    }
    json_object_foreach(root, key, value) {
        if (key[0] == '_') {
            if (strcmp(key, MERGE_SEQ) == 0 || strcmp(key, MERGE_SCHEMA_VERSION) == 0 ||
                strcmp(key, "_batch_id") == 0)
                continue;
            if (strcmp(key, MERGE_INSERT_DATE) == 0) {
                if (json_is_string(value)) {
                    m.insert_date = json_string_value(value);
                    m.insert_date_len = json_string_length(value);
                }
                else if (!json_is_null(value))
                    return merge_corrupt(reason, "line %" PRId64 ": _insert_date is not a string",
                                     line);
                continue;
            }
            if (strcmp(key, "_domain") == 0 || strcmp(key, "_endpoint") == 0) {
                const char *want = key[1] == 'd' ? t->domain : t->name;
                if (!json_is_string(value) || strcmp(json_string_value(value), want) != 0)
                    return merge_corrupt(reason,
                                     "line %" PRId64 ": %s does not name this file's table %s.%s",
                                     line, key, t->domain, t->name);
                continue;
            }
            if (strcmp(key, "_op") == 0) {
                if (json_is_null(value))
                    continue;
                if (!json_is_string(value) || strcmp(json_string_value(value), "delete") != 0)
                    return merge_corrupt(reason, "line %" PRId64 ": _op is not \"delete\"", line);
                is_delete = true;
                continue;
            }
            if (strcmp(key, SCHEMA_RESCUED_COLUMN) != 0)
                return merge_corrupt(reason, "line %" PRId64 ": unknown metadata field '%.64s'", line,
                                 key);
        } else if (!names_is_valid_column(key)) {
            return merge_corrupt(reason, "line %" PRId64 ": field '%.64s' is not a valid column name",
                             line, key);
        }
        if (json_is_null(value))
            continue; /* null and absent are the same: NULL */
        int idx = merge_find(t, key);
        if (idx < 0) {
            int rc = merge_add_column(t, key, value, version, reason, err);
            if (rc != 0)
                return rc;
            idx = (int)t->ncols - 1;
        }
        if (t->stamp[idx] == t->gen)
            return merge_corrupt(reason, "line %" PRId64 ": two fields map to column '%s'", line,
                             t->cols[idx].name);
        t->stamp[idx] = t->gen;
        struct jsonflat_field *v = &t->vals[idx];
        switch (json_typeof(value)) {
        case JSON_STRING:
            v->type = JSONFLAT_STRING;
            v->str = json_string_value(value);
            v->len = json_string_length(value);
            break;
        case JSON_INTEGER:
            v->type = JSONFLAT_INTEGER;
            v->integer = json_integer_value(value);
            break;
        case JSON_REAL:
            v->type = JSONFLAT_REAL;
            v->real = json_real_value(value);
            break;
        case JSON_TRUE: v->type = JSONFLAT_TRUE; break;
        case JSON_FALSE: v->type = JSONFLAT_FALSE; break;
        default: /* object, array: compact JSON text */
            t->texts[idx] = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
            if (t->texts[idx] == NULL)
                return error_set(err, "out of memory");
            v->type = JSONFLAT_STRING;
            v->str = t->texts[idx];
            v->len = strlen(t->texts[idx]);
            break;
        }
    }
    for (size_t k = 0; k < t->npk; k++)
        if (t->stamp[t->pk[k]] != t->gen)
            return merge_corrupt(reason, "line %" PRId64 ": primary key column '%s' is missing", line,
                             t->cols[t->pk[k]].name);

    if (is_delete && t->npk == 0)
        return merge_corrupt(reason, "line %" PRId64 ": a delete (_op) on table %s without a "
                                     "primary key", line, t->name);

    if (!is_delete) {
        int rc = merge_expect(t, root, version, line, reason, err);
        if (rc == 3) {
            res->dropped++;
            res->records++;
            return 0;
        }
        if (rc != 0)
            return rc;
    }
    return merge_write(t, &m, is_delete, line, res, reason, err);
}

/* Pass 2 of a record whose values are in t->vals (stamped with t->gen):
 * write it. 0 ok, 1 corrupt (reason), -1 error (err). */
static int merge_write(struct merge_table *t, const struct merge_meta *mp, bool is_delete,
                       int64_t line, struct merge_result *res, char reason[ERROR_MAX],
                       char err[ERROR_MAX])
{
    struct merge_meta m = *mp;
    if (t->ins == NULL && merge_prepare(t, err) < 0)
        return -1;
    if (is_delete)
        return merge_delete(t, &m, line, res, reason, err);
    if (t->tombstones && t->npk > 0) {
        int rc = merge_tombstone_check(t, &m, line, res, reason, err);
        if (rc != 0)
            return rc == 2 ? 0 : rc;
    }
    char msg[ERROR_MAX];
    merge_bind(t, t->ins, &m);
    int changed = merge_step(t, t->ins, msg);
    if (changed == 1) {
        res->inserted++;
        changed = merge_history(t, &m, false, msg);
    } else if (changed == 0 && t->npk == 0) {
        res->unchanged++; /* this _seq is already in the table */
    } else if (changed == 0) {
        if (t->upd != NULL) {
            merge_bind(t, t->upd, &m);
            changed = merge_step(t, t->upd, msg);
        }
        if (changed == 1) {
            res->updated++;
            changed = merge_history(t, &m, true, msg);
        } else if (changed == 0) {
            merge_bind(t, t->touch, &m);
            changed = merge_step(t, t->touch, msg);
            if (changed >= 0)
                res->unchanged++;
        }
    }
    if (changed == -2)
        return merge_corrupt(reason, "line %" PRId64 ": %s", line, msg);
    if (changed < 0)
        return error_set(err, "silver/%s.db: writing %s: %s", t->domain, t->name, msg);
    res->records++;
    return 0;
}

/* One record read in place by jsonflat_scan (the common case: a flat line of
 * an existing table whose latest schema has no expectations, every field a
 * known column). Anything else - a new column, a repeated field, metadata
 * that is not as ingest writes it, a missing key - returns MERGE_SLOW before
 * anything is written, and the line goes the jansson way (merge_record),
 * which handles it and words its errors. Otherwise as merge_record. */
static int merge_record_flat(struct merge_table *t, const struct jsonflat_field *f, int n,
                             int64_t line, struct merge_result *res, int64_t *max_version,
                             char reason[ERROR_MAX], char err[ERROR_MAX])
{
    if (!t->exists || (t->latest != NULL && t->latest->expectation_count > 0))
        return MERGE_SLOW;
    struct merge_meta m = {0};
    bool is_delete = false;
    unsigned seen = 0; /* metadata fields met: a repeated one is jansson's (the last wins) */
    if (++t->gen == 0) {
        memset(t->stamp, 0, t->cap * sizeof *t->stamp);
        t->gen = 1;
    }
    /* a record of an older schema version whose columns were renamed or
     * dropped since (evolve.c) must be mapped to the latest names first */
    int64_t version = 0;
    for (int i = 0; i < n; i++)
        if (f[i].key_len == sizeof MERGE_SCHEMA_VERSION - 1 &&
            memcmp(f[i].key, MERGE_SCHEMA_VERSION, f[i].key_len) == 0 &&
            f[i].type == JSONFLAT_INTEGER)
            version = f[i].integer;
    const struct schema *latest = t->latest_fetched ? t->latest : NULL;
    bool older = latest != NULL && version > 0 && version < latest->version;
    char key[NAMES_MAX];
    for (int i = 0; i < n; i++, f++) {
        if (f->key_len == 0 || f->key_len >= sizeof key)
            return MERGE_SLOW;
        memcpy(key, f->key, f->key_len);
        key[f->key_len] = '\0';
        if (key[0] == '_' && strcmp(key, SCHEMA_RESCUED_COLUMN) != 0) {
            static const char *const meta[] = {MERGE_SEQ, MERGE_SCHEMA_VERSION, "_batch_id",
                                               MERGE_INSERT_DATE, "_domain", "_endpoint", "_op"};
            unsigned k = 0;
            while (k < sizeof meta / sizeof meta[0] && strcmp(key, meta[k]) != 0)
                k++;
            if (k == sizeof meta / sizeof meta[0] || (seen & (1u << k)))
                return MERGE_SLOW;
            seen |= 1u << k;
            switch (k) {
            case 0:
                if (f->type != JSONFLAT_INTEGER || f->integer < 0)
                    return MERGE_SLOW;
                m.seq = f->integer;
                break;
            case 1:
                if (f->type == JSONFLAT_INTEGER) {
                    m.has_schema_version = true;
                    m.schema_version = f->integer;
                } else if (f->type != JSONFLAT_NULL) {
                    return MERGE_SLOW;
                }
                break;
            case 2:
                break;
            case 3:
                if (f->type == JSONFLAT_STRING) {
                    m.insert_date = f->str;
                    m.insert_date_len = f->len;
                } else if (f->type != JSONFLAT_NULL) {
                    return MERGE_SLOW;
                }
                break;
            case 4:
            case 5: {
                const char *want = k == 4 ? t->domain : t->name;
                if (f->type != JSONFLAT_STRING || f->len != strlen(want) ||
                    memcmp(f->str, want, f->len) != 0)
                    return MERGE_SLOW;
                break;
            }
            default: /* _op */
                if (f->type == JSONFLAT_STRING && f->len == 6 && memcmp(f->str, "delete", 6) == 0)
                    is_delete = true;
                else if (f->type != JSONFLAT_NULL)
                    return MERGE_SLOW;
                break;
            }
            continue;
        }
        if (key[0] != '_' && !names_is_valid_column(key))
            return MERGE_SLOW;
        if (older && key[0] != '_') {
            const char *now;
            if (evolve_name(&t->names, t->schemas, t->domain, t->name, latest, (int)version, key,
                            &now, err) < 0)
                return -1;
            if (now == NULL || strcasecmp(now, key) != 0)
                return MERGE_SLOW; /* renamed or dropped since: evolve_record's */
        }
        int idx = merge_find(t, key);
        if (idx < 0 || t->stamp[idx] == t->gen)
            return MERGE_SLOW; /* a new column, or two fields for one column */
        t->stamp[idx] = t->gen;
        t->vals[idx] = *f;
    }
    if (!(seen & 1u))
        return MERGE_SLOW; /* no _seq */
    for (size_t k = 0; k < t->npk; k++)
        if (t->stamp[t->pk[k]] != t->gen || t->vals[t->pk[k]].type == JSONFLAT_NULL)
            return MERGE_SLOW;
    if (is_delete && t->npk == 0)
        return MERGE_SLOW;
    if (m.has_schema_version && m.schema_version > *max_version)
        *max_version = m.schema_version;
    return merge_write(t, &m, is_delete, line, res, reason, err);
}

/* ---- files ----------------------------------------------------------------- */

static int merge_savepoint(struct merge_table *t, const char *sql, char err[ERROR_MAX])
{
    return silver_exec(t->sdb, sql, err);
}

/* Undo everything since the savepoint and forget cached columns/statements
 * (an ALTER TABLE may have been rolled back with it). */
static int merge_undo(struct merge_table *t, char err[ERROR_MAX])
{
    merge_free_texts(t);
    merge_finalize(t);
    if (merge_savepoint(t, "ROLLBACK TO merge_file", err) < 0 ||
        merge_savepoint(t, "RELEASE merge_file", err) < 0)
        return -1;
    return merge_load(t, err);
}

int merge_file(struct merge_table *t, const char *data_dir, const char *rel,
               const char *operation, int64_t rows_deleted, struct merge_result *res,
               char err[ERROR_MAX])
{
    memset(res, 0, sizeof *res);
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", data_dir, rel);
    if (n < 0 || (size_t)n >= sizeof path)
        return error_set(err, "path too long: %s/%s", data_dir, rel);
    if (merge_savepoint(t, "SAVEPOINT merge_file", err) < 0)
        return -1;
    t->closed = 0;
    t->ncounts = 0;
    t->counted_version = -1; /* count every rule of this file's versions */
    t->file = rel;
    if (strcmp(operation, "merge") == 0) { /* replay does not write rejected/ again */
        if (t->drops == NULL && (t->drops = calloc(1, sizeof *t->drops)) == NULL) {
            char uerr[ERROR_MAX];
            merge_undo(t, uerr);
            return error_set(err, "out of memory");
        }
        t->drops->len = 0;
        t->drops->failed = false;
    } else if (t->drops != NULL) {
        free(t->drops->s);
        free(t->drops);
        t->drops = NULL;
    }
    if (silver_next_snapshot_id(t->sdb, &t->snapshot_id, err) < 0) {
        char uerr[ERROR_MAX];
        merge_undo(t, uerr);
        return -1;
    }

    int64_t max_version = 0;
    int64_t line = 0;
    int rc = 0; /* 0 ok, 1 corrupt, -1 error */
    char rerr[ERROR_MAX] = "";
    struct bronze_reader *reader = bronze_reader_open(path, rerr);
    if (reader == NULL) {
        struct stat st;
        if (stat(path, &st) < 0 && errno == ENOENT) {
            res->outcome = MERGE_MISSING;
            return merge_savepoint(t, "RELEASE merge_file", err);
        }
        error_set(res->reason, "cannot read: %s", rerr);
        rc = 1;
    }
    while (rc == 0) {
        const char *text;
        size_t len;
        int r = bronze_reader_next(reader, &text, &len, rerr);
        if (r == 0)
            break;
        if (r < 0) {
            error_set(res->reason, "%s", rerr);
            rc = 1;
            break;
        }
        line++;
        int nflat = jsonflat_scan(text, len, t->flat, MERGE_FLAT_MAX);
        if (nflat >= 0) {
            int frc = merge_record_flat(t, t->flat, nflat, line, res, &max_version, res->reason,
                                        err);
            if (frc != MERGE_SLOW) {
                rc = frc;
                continue;
            }
        }
        json_error_t jerr;
        json_t *root = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
        if (root == NULL) {
            error_set(res->reason, "line %" PRId64 ": invalid JSON: %s", line, jerr.text);
            rc = 1;
            break;
        }
        json_t *mapped = NULL; /* a record of an older version, in the latest names */
        if (!json_is_object(root)) {
            error_set(res->reason, "line %" PRId64 ": not a JSON object", line);
            rc = 1;
        } else if (evolve_record(&t->names, t->schemas, t->domain, t->name,
                                 t->latest_fetched ? t->latest : NULL, root, &mapped, err) < 0) {
            rc = -1;
        } else {
            rc = merge_record(t, mapped != NULL ? mapped : root, line, res, &max_version,
                              res->reason, err);
        }
        json_decref(mapped);
        merge_free_texts(t);
        json_decref(root);
    }
    bronze_reader_close(&reader);

    if (rc == 0 && t->closed > 0 && history_cleanup(t->sdb, t->name, t->snapshot_id, err) < 0)
        rc = -1;
    if (rc == 0) {
        struct silver_snapshot snap = {
            .id = t->snapshot_id, .table = t->name, .operation = operation, .source = rel,
            .inserted = res->inserted, .updated = res->updated, .unchanged = res->unchanged,
            .deleted = rows_deleted + res->deleted, .schema_version = max_version};
        if (merge_write_drops(t, data_dir, err) < 0 ||
            silver_record_snapshot(t->sdb, &snap, &res->snapshot_id, err) < 0 ||
            merge_record_expectations(t, res->snapshot_id, err) < 0 ||
            silver_record_ledger(t->sdb, rel, t->name, res->snapshot_id, res->records, err) < 0)
            rc = -1;
    }
    if (rc == 0) {
        res->outcome = MERGE_MERGED;
        return merge_savepoint(t, "RELEASE merge_file", err);
    }
    char uerr[ERROR_MAX];
    if (merge_undo(t, uerr) < 0) {
        if (rc == 1)
            snprintf(err, ERROR_MAX, "%s", uerr);
        return -1;
    }
    if (rc < 0)
        return -1;
    res->records = res->inserted = res->updated = res->unchanged = res->deleted = 0;
    res->dropped = 0;
    if (rc == 2) {
        /* a "fail" expectation: nothing of the file, not quarantined - it
         * stays pending and is tried again at each reconcile */
        if (strcmp(operation, "merge") != 0)
            return error_set(err, "%s: %s (fix the data or the rule, then replay again)", rel,
                             res->reason);
        res->outcome = MERGE_BLOCKED;
        return 0;
    }
    res->outcome = MERGE_QUARANTINED;
    return silver_record_quarantine(t->sdb, rel, t->name, res->reason, err);
}

/* ---- the live path --------------------------------------------------------- */

void merge_publish(struct processor_ctx *ctx, const char *domain, const char *table,
                   const char *file, int64_t snapshot_id, int64_t count)
{
    struct event ev = {.topic = EVENT_SILVER_COMMITTED, .snapshot_id = snapshot_id,
                       .count = count};
    snprintf(ev.domain, sizeof ev.domain, "%s", domain);
    snprintf(ev.name, sizeof ev.name, "%s", table);
    snprintf(ev.file, sizeof ev.file, "%s", file);
    char err[ERROR_MAX];
    if (event_publish(ctx->publisher, &ev, err) < 0)
        log_warn("publish_failed topic=silver.committed table=%s.%s error=\"%s\"", domain, table,
                 err);
}

int merge_one(struct processor_ctx *ctx, const char *rel)
{
    char domain[NAMES_MAX], endpoint[NAMES_MAX], date[11];
    uint64_t first, last;
    if (bronze_parse_relative_path(rel, domain, endpoint, date, &first, &last) < 0) {
        log_warn("merge_skipped file=%s reason=\"not a bronze file path\"", rel);
        return 0;
    }
    char err[ERROR_MAX] = "";
    int64_t started = timeutil_monotonic_ms();
    struct silver_db *sdb;
    if (silver_get(ctx->silver, domain, &sdb, err) < 0)
        goto fail;
    if (silver_exec(sdb, "BEGIN IMMEDIATE", err) < 0)
        goto fail;
    int done = silver_file_done(sdb, rel, err);
    if (done != 0) {
        sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
        if (done < 0)
            goto fail;
        return 0; /* merged or quarantined before (event + scan both saw it) */
    }
    log_debug("merging file=%s", rel);
    struct merge_table *table = NULL;
    struct merge_result res;
    if (merge_table_open(sdb, ctx->schemas, domain, endpoint, &table, err) < 0 ||
        merge_file(table, ctx->cfg->data_dir, rel, "merge", 0, &res, err) < 0) {
        merge_table_close(&table);
        sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    merge_table_close(&table);
    if (silver_exec(sdb, "COMMIT", err) < 0) {
        sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    switch (res.outcome) {
    case MERGE_MERGED:
        ctx->merged_files++;
        log_info("merged file=%s table=%s.%s records=%" PRId64 " inserted=%" PRId64
                 " updated=%" PRId64 " deleted=%" PRId64 " unchanged=%" PRId64
                 " dropped=%" PRId64 " snapshot_id=%" PRId64 " ms=%" PRId64,
                 rel, domain, endpoint, res.records, res.inserted, res.updated, res.deleted,
                 res.unchanged, res.dropped, res.snapshot_id, timeutil_monotonic_ms() - started);
        merge_publish(ctx, domain, endpoint, rel, res.snapshot_id,
                      res.inserted + res.updated + res.deleted);
        return 1;
    case MERGE_QUARANTINED:
        ctx->quarantined_files++;
        log_error("quarantined file=%s table=%s.%s reason=\"%s\"", rel, domain, endpoint,
                  res.reason);
        return 0;
    case MERGE_MISSING:
        log_info("merge_skipped file=%s reason=\"file no longer exists\"", rel);
        return 0;
    case MERGE_BLOCKED:
        ctx->failed_merges++;
        log_error("merge_blocked file=%s table=%s.%s reason=\"%s\" retry=next_reconcile", rel,
                  domain, endpoint, res.reason);
        struct event ev = {.topic = EVENT_MERGE_BLOCKED};
        snprintf(ev.domain, sizeof ev.domain, "%s", domain);
        snprintf(ev.name, sizeof ev.name, "%s", endpoint);
        snprintf(ev.file, sizeof ev.file, "%s", rel);
        if (event_publish(ctx->publisher, &ev, err) < 0)
            log_debug("event_dropped topic=merge.blocked reason=\"%s\"", err);
        return 0;
    }
    return 0;
fail:
    ctx->failed_merges++;
    log_error("merge_failed file=%s error=\"%s\" retry=next_reconcile", rel, err);
    return -1;
}

/* evolve.c - declared schema changes on silver tables: renames, drops and
 * widening to string of MANUAL schema versions (schema.h,
 * schema_check_compatible), and the names of records written under older
 * versions.
 *
 * A new schema version reaches a silver table when the processor next opens
 * the table for a merge (merge_table_open, inside the merge's transaction and
 * before the file: its records may need the new columns) or at a reconcile
 * (reconcile.c: every reconcile_interval_ms and after a schema.changed event).
 * Every version after the one the table was last brought to is applied in
 * order:
 *   - rename: ALTER TABLE RENAME COLUMN on the table, on its row history
 *     _h_<t> and on its tombstones _d_<t> (a key column);
 *   - drop: ALTER TABLE DROP COLUMN on the table; in _h_<t> the column is
 *     renamed to "_dropped_<snapshot>_<n>" and kept with its values, so that
 *     time travel to a snapshot before the drop still shows it (and a column
 *     added later under the same name starts empty);
 *   - widen to string: the table and _h_<t> are rebuilt with the column
 *     declared TEXT (SQLite cannot change a declared type, and INTEGER
 *     affinity would store "007" as 7); stored values become their text form.
 * Columns the table never got (no value arrived yet) need no DDL. A MANUAL
 * version that changes the columns (any of these, an added column, a
 * widened type) is a snapshot of the table: operation "schema_change",
 * schema_version the version, source "schema v<N>: rename a -> b; drop c;
 * ...", no rows. AUTO_INFERENCE versions are not (they come with the data).
 *
 * _schema_changes (created on first use) keeps one row per change, read by
 * timetravel.c to show a snapshot with the columns of its time:
 *   _schema_changes(table_name, snapshot_id, schema_version, change,
 *                   column_name, new_name, h_column)
 *   change: 'rename' (column_name -> new_name), 'drop' (column_name, kept in
 *   _h_<t> as h_column, NULL if it never had one), 'widen' (column_name),
 *   'version' (the table was brought to schema_version), 'create' (the table
 *   was created with the names of schema_version).
 * The version a table is at is the schema_version of its last row; a table
 * from before this module: the largest schema_version of its snapshots.
 *
 * Bronze is immutable, so records of older versions are mapped as they are
 * merged (evolve_record): each field follows the versions, one step at a
 * time (schema_successor), to its name in the latest version; a field whose
 * column was dropped is left out. Live merges and replay map alike, so a
 * replay rebuilds the table that the live changes produced (rule 6). */
#include "processor.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "sqlutil.h"
#include "strbuf.h"

#define EVOLVE_DDL                                                                          \
    "CREATE TABLE IF NOT EXISTS _schema_changes (table_name TEXT NOT NULL, "                \
    "snapshot_id INTEGER NOT NULL, schema_version INTEGER NOT NULL, change TEXT NOT NULL, " \
    "column_name TEXT, new_name TEXT, h_column TEXT)"
#define EVOLVE_SOURCE_MAX 1000 /* characters of the snapshot's source text */

enum evolve_kind { EVOLVE_RENAME, EVOLVE_DROP, EVOLVE_WIDEN };

struct evolve_change {
    enum evolve_kind kind;
    char column[NAMES_MAX];
    char new_name[NAMES_MAX];
};

/* ---- bookkeeping ------------------------------------------------------------- */

static int evolve_ensure(struct silver_db *sdb, char err[ERROR_MAX])
{
    return silver_exec(sdb, EVOLVE_DDL, err);
}

static int evolve_row(struct silver_db *sdb, const char *table, int64_t snapshot_id,
                      int version, const char *change, const char *column,
                      const char *new_name, const char *h_column, char err[ERROR_MAX])
{
    const struct sqlutil_value values[] = {
        SQLUTIL_TEXT(table),  SQLUTIL_INT(snapshot_id), SQLUTIL_INT(version),
        SQLUTIL_TEXT(change), SQLUTIL_TEXT(column),     SQLUTIL_TEXT(new_name),
        SQLUTIL_TEXT(h_column),
    };
    if (sqlutil_run_values(sdb->db,
                           "INSERT INTO _schema_changes (table_name, snapshot_id, schema_version, "
                           "change, column_name, new_name, h_column) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           values, sizeof values / sizeof values[0], NULL, err,
                           "silver/%s.db: insert into _schema_changes", sdb->domain) < 0)
        return -1;
    return 0;
}

/* One integer (NULL or no row -> def) from sql with ?1 = table. */
static int evolve_int(struct silver_db *sdb, const char *sql, const char *table, int64_t def,
                      int64_t *out, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(sdb->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        *out = def;
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            *out = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return error_set(err, "silver/%s.db: %s: %s", sdb->domain, sql, sqlite3_errmsg(sdb->db));
    return 0;
}

/* The schema version the table's columns are named after. */
static int evolve_applied(struct silver_db *sdb, const char *table, int64_t *version,
                          char err[ERROR_MAX])
{
    int64_t v = -1;
    int has = silver_table_exists(sdb, "_schema_changes", err);
    if (has < 0)
        return -1;
    /* the last row, not the largest version: an endpoint deleted with its data
     * kept and created again starts its versions at 1 */
    if (has && evolve_int(sdb,
                          "SELECT schema_version FROM _schema_changes WHERE table_name = ?1 "
                          "ORDER BY rowid DESC LIMIT 1",
                          table, -1, &v, err) < 0)
        return -1;
    if (v < 0 && evolve_int(sdb,
                            "SELECT max(schema_version) FROM _snapshots WHERE table_name = ?1",
                            table, 0, &v, err) < 0)
        return -1;
    *version = v;
    return 0;
}

int evolve_created(struct silver_db *sdb, const char *table, int version, int64_t snapshot_id,
                   char err[ERROR_MAX])
{
    if (evolve_ensure(sdb, err) < 0)
        return -1;
    return evolve_row(sdb, table, snapshot_id, version, "create", NULL, NULL, NULL, err);
}

int evolve_forget(struct silver_db *sdb, const char *table, char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    int has = silver_table_exists(sdb, "_schema_changes", err);
    if (has <= 0)
        return has;
    int rc = sqlite3_prepare_v2(sdb->db, "DELETE FROM _schema_changes WHERE table_name = ?1",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return error_set(err, "silver/%s.db: delete from _schema_changes: %s", sdb->domain,
                         sqlite3_errmsg(sdb->db));
    return 0;
}

/* ---- DDL ----------------------------------------------------------------------- */

/* 1 when table has the column (case-insensitive, like SQLite), 0 if not
 * (or no such table), -1 error. */
static int evolve_has(struct silver_db *sdb, const char *table, const char *column,
                      char err[ERROR_MAX])
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(sdb->db,
                                "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2 "
                                "COLLATE NOCASE",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return error_set(err, "silver/%s.db: columns of %s: %s", sdb->domain, table,
                     sqlite3_errmsg(sdb->db));
}

/* Rebuild table with column declared TEXT: same columns in the same order,
 * NOT NULL and key kept, _seq UNIQUE kept on keyless silver tables, indexes
 * re-created from their SQL. Stored values pass TEXT affinity. */
static int evolve_rebuild_text(struct silver_db *sdb, const char *table, const char *column,
                               bool silver_table, char err[ERROR_MAX])
{
    struct strbuf b = {0}, keys = {0}, cols = {0};
    struct strlist indexes = {0};
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(sdb->db,
                                "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) "
                                "ORDER BY cid",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return error_set(err, "silver/%s.db: columns of %s: %s", sdb->domain, table,
                         sqlite3_errmsg(sdb->db));
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    strbuf_addf(&b, "CREATE TABLE \"_evolve_%s\" (", table);
    size_t n = 0, npk = 0;
    char pk_names[256][NAMES_MAX];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        int notnull = sqlite3_column_int(st, 2), pk = sqlite3_column_int(st, 3);
        if (name == NULL || strlen(name) >= NAMES_MAX ||
            !names_is_valid_column(name[0] == '_' ? name + 1 : name))
            break; /* never splice a name we did not check */
        /* only the affinities the processor creates */
        const char *t = type == NULL ? "" : strcasecmp(type, "INTEGER") == 0 ? "INTEGER"
                                        : strcasecmp(type, "REAL") == 0    ? "REAL"
                                        : strcasecmp(type, "TEXT") == 0    ? "TEXT"
                                                                           : "";
        if (strcasecmp(name, column) == 0)
            t = "TEXT";
        strbuf_addf(&cols, "%s\"%s\"", n ? ", " : "", name);
        strbuf_addf(&b, "%s\"%s\" %s%s", n++ ? ", " : "", name, t, notnull ? " NOT NULL" : "");
        if (pk > 0 && pk <= 256) {
            snprintf(pk_names[pk - 1], NAMES_MAX, "%s", name);
            npk = (size_t)pk > npk ? (size_t)pk : npk;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        strbuf_free(&b);
        strbuf_free(&cols);
        return error_set(err, "silver/%s.db: columns of %s: unexpected column", sdb->domain,
                         table);
    }
    for (size_t k = 0; k < npk; k++)
        strbuf_addf(&keys, "%s\"%s\"", k ? ", " : "", pk_names[k]);
    if (npk > 0)
        strbuf_addf(&b, ", PRIMARY KEY (%s)", keys.s ? keys.s : "");
    else if (silver_table)
        strbuf_addf(&b, ", UNIQUE (\"_seq\")");
    /* named columns: the generated _domain and _endpoint are not copied (the
     * next snapshot adds them again, silver.c) */
    strbuf_addf(&b, "); INSERT INTO \"_evolve_%s\" (%s) SELECT %s FROM \"%s\"", table,
                cols.s ? cols.s : "", cols.s ? cols.s : "", table);
    strbuf_free(&keys);
    strbuf_free(&cols);
    /* the explicit indexes (the history's), re-created after the swap */
    rc = sqlite3_prepare_v2(sdb->db,
                            "SELECT sql FROM sqlite_master WHERE type = 'index' AND "
                            "tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            if (strlist_push(&indexes, (const char *)sqlite3_column_text(st, 0)) < 0) {
                rc = SQLITE_NOMEM;
                break;
            }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        strbuf_free(&b);
        strlist_clear(&indexes);
        return error_set(err, "silver/%s.db: indexes of %s: %s", sdb->domain, table,
                         sqlite3_errmsg(sdb->db));
    }
    strbuf_addf(&b, "; DROP TABLE \"%s\"; ALTER TABLE \"_evolve_%s\" RENAME TO \"%s\"", table,
                table, table);
    for (size_t i = 0; i < indexes.count; i++)
        strbuf_addf(&b, "; %s", indexes.items[i]);
    strlist_clear(&indexes);
    return silver_exec_buf(sdb, &b, err);
}

/* The changes from prev to cur (schema_check_compatible passed when cur was
 * stored). Caller frees *out. */
static int evolve_diff(const struct schema *prev, const struct schema *cur,
                       struct evolve_change **out, size_t *count, bool *columns_changed,
                       char err[ERROR_MAX])
{
    *out = NULL;
    *count = 0;
    *columns_changed = false;
    struct evolve_change *list = calloc(2 * prev->column_count + 1, sizeof *list);
    if (list == NULL)
        return error_set(err, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < prev->column_count; i++) {
        const struct schema_column *a = &prev->columns[i];
        const struct schema_column *b = schema_successor(prev, cur, a->name);
        if (!names_is_valid_column(a->name) || (b != NULL && !names_is_valid_column(b->name)))
            continue; /* the catalog checked them; never splice anything else */
        if (b == NULL) {
            list[n].kind = EVOLVE_DROP;
            snprintf(list[n++].column, NAMES_MAX, "%s", a->name);
            continue;
        }
        if (strcmp(a->name, b->name) != 0) {
            list[n].kind = EVOLVE_RENAME;
            snprintf(list[n].column, NAMES_MAX, "%s", a->name);
            snprintf(list[n++].new_name, NAMES_MAX, "%s", b->name);
        }
        if (b->type == SCHEMA_TYPE_STRING && a->type != SCHEMA_TYPE_STRING) {
            list[n].kind = EVOLVE_WIDEN;
            snprintf(list[n++].column, NAMES_MAX, "%s", b->name);
        }
        if (a->type != b->type)
            *columns_changed = true;
    }
    for (size_t i = 0; i < cur->column_count; i++) {
        const struct schema_column *b = &cur->columns[i];
        bool known = false;
        for (size_t j = 0; j < prev->column_count && !known; j++)
            known = schema_successor(prev, cur, prev->columns[j].name) == b;
        if (!known)
            *columns_changed = true; /* an added column */
    }
    if (n > 0)
        *columns_changed = true;
    *out = list;
    *count = n;
    return 0;
}

/* "schema v3: rename a -> b; drop c; widen d to string; add e" */
static void evolve_source(struct strbuf *b, const struct schema *prev, const struct schema *cur,
                          const struct evolve_change *list, size_t n)
{
    strbuf_addf(b, "schema v%d:", cur->version);
    size_t parts = 0;
    for (size_t i = 0; i < n; i++) {
        const struct evolve_change *c = &list[i];
        if (c->kind == EVOLVE_RENAME)
            strbuf_addf(b, "%s rename %s -> %s", parts++ ? ";" : "", c->column, c->new_name);
        else if (c->kind == EVOLVE_DROP)
            strbuf_addf(b, "%s drop %s", parts++ ? ";" : "", c->column);
        else
            strbuf_addf(b, "%s widen %s to string", parts++ ? ";" : "", c->column);
    }
    for (size_t i = 0; i < cur->column_count; i++) {
        const struct schema_column *col = &cur->columns[i];
        bool known = false;
        for (size_t j = 0; j < prev->column_count && !known; j++)
            known = schema_successor(prev, cur, prev->columns[j].name) == col;
        if (!known)
            strbuf_addf(b, "%s add %s", parts++ ? ";" : "", col->name);
    }
    for (size_t i = 0; i < prev->column_count; i++) {
        const struct schema_column *a = &prev->columns[i];
        const struct schema_column *col = schema_successor(prev, cur, a->name);
        if (col != NULL && a->type != col->type && col->type != SCHEMA_TYPE_STRING)
            strbuf_addf(b, "%s widen %s to %s", parts++ ? ";" : "", col->name,
                        schema_type_name(col->type));
    }
    if (b->s != NULL && b->len > EVOLVE_SOURCE_MAX)
        snprintf(b->s + EVOLVE_SOURCE_MAX - 4, 4, "...");
}

/* Apply one version step (prev -> cur) to the existing table. */
static int evolve_step(struct silver_db *sdb, const char *table, const struct schema *prev,
                       const struct schema *cur, int64_t *last_snapshot, char err[ERROR_MAX])
{
    struct evolve_change *list = NULL;
    size_t n = 0;
    bool changed = false;
    struct strbuf b = {0}, source = {0};
    if (evolve_diff(prev, cur, &list, &n, &changed, err) < 0)
        return -1;
    if (!changed || cur->mode != SCHEMA_MODE_MANUAL) {
        free(list); /* AUTO_INFERENCE only adds and widens: nothing to do here */
        return 0;
    }
    int rc = -1;
    int64_t id = 0;
    char h[NAMES_MAX + 4], d[NAMES_MAX + 4];
    snprintf(h, sizeof h, "_h_%s", table);
    snprintf(d, sizeof d, "_d_%s", table);
    if (silver_next_snapshot_id(sdb, &id, err) < 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        const struct evolve_change *c = &list[i];
        const char *targets[3] = {table, h, d};
        if (c->kind == EVOLVE_RENAME) {
            for (size_t k = 0; k < 3; k++) {
                int has = evolve_has(sdb, targets[k], c->column, err);
                if (has < 0)
                    goto done;
                if (has == 0)
                    continue;
                strbuf_addf(&b, "ALTER TABLE \"%s\" RENAME COLUMN \"%s\" TO \"%s\"", targets[k],
                            c->column, c->new_name);
                if (silver_exec_buf(sdb, &b, err) < 0)
                    goto done;
            }
            if (evolve_row(sdb, table, id, cur->version, "rename", c->column, c->new_name, NULL,
                           err) < 0)
                goto done;
        } else if (c->kind == EVOLVE_DROP) {
            char hidden[NAMES_MAX] = "";
            int has = evolve_has(sdb, table, c->column, err);
            if (has < 0)
                goto done;
            if (has) {
                strbuf_addf(&b, "ALTER TABLE \"%s\" DROP COLUMN \"%s\"", table, c->column);
                if (silver_exec_buf(sdb, &b, err) < 0)
                    goto done;
            }
            if ((has = evolve_has(sdb, h, c->column, err)) < 0)
                goto done;
            if (has) {
                /* kept, out of the way of a later column of the same name */
                snprintf(hidden, sizeof hidden, "_dropped_%" PRId64 "_%zu", id, i + 1);
                strbuf_addf(&b, "ALTER TABLE \"%s\" RENAME COLUMN \"%s\" TO \"%s\"", h, c->column,
                            hidden);
                if (silver_exec_buf(sdb, &b, err) < 0)
                    goto done;
            }
            if (evolve_row(sdb, table, id, cur->version, "drop", c->column, NULL,
                           hidden[0] ? hidden : NULL, err) < 0)
                goto done;
        } else {
            for (size_t k = 0; k < 2; k++) {
                int has = evolve_has(sdb, targets[k], c->column, err);
                if (has < 0 || (has && evolve_rebuild_text(sdb, targets[k], c->column, k == 0,
                                                           err) < 0))
                    goto done;
            }
            if (evolve_row(sdb, table, id, cur->version, "widen", c->column, NULL, NULL, err) < 0)
                goto done;
        }
    }
    evolve_source(&source, prev, cur, list, n);
    if (source.failed) {
        error_set(err, "out of memory");
        goto done;
    }
    struct silver_snapshot snap = {.id = id, .table = table, .operation = "schema_change",
                                   .source = source.s, .schema_version = cur->version};
    if (silver_record_snapshot(sdb, &snap, last_snapshot, err) < 0)
        goto done;
    log_info("schema_changed table=%s.%s schema_version=%d snapshot_id=%" PRId64 " changes=\"%s\"",
             sdb->domain, table, cur->version, *last_snapshot, source.s);
    rc = 0;
done:
    strbuf_free(&b);
    strbuf_free(&source);
    free(list);
    return rc;
}

int evolve_apply(struct silver_db *sdb, struct schemas *schemas, const char *table,
                 const struct schema *latest, int64_t *last_snapshot, char err[ERROR_MAX])
{
    *last_snapshot = 0;
    if (latest == NULL)
        return 0;
    int exists = silver_table_exists(sdb, table, err);
    if (exists <= 0)
        return exists;
    int64_t applied;
    if (evolve_applied(sdb, table, &applied, err) < 0)
        return -1;
    if (applied == latest->version)
        return 0;
    if (evolve_ensure(sdb, err) < 0)
        return -1;
    if (applied > latest->version) {
        /* the endpoint was deleted (data kept) and created anew: its versions
         * are another lineage; the table's names are taken as they are */
        log_warn("schema_version_restarted table=%s.%s was=%" PRId64 " now=%d", sdb->domain,
                 table, applied, latest->version);
        return evolve_row(sdb, table, 0, latest->version, "version", NULL, NULL, NULL, err);
    }
    struct schema *prev = NULL;
    if (applied > 0 &&
        schemas_get(schemas, sdb->domain, table, (int)applied, &prev, err) < 0)
        return -1;
    for (int k = (int)applied + 1; k <= latest->version; k++) {
        struct schema *cur = NULL;
        int found = k == latest->version ? ((cur = schema_copy(latest)) != NULL ? 1 : -1)
                                         : schemas_get(schemas, sdb->domain, table, k, &cur, err);
        if (found < 0) {
            if (cur == NULL && k == latest->version)
                error_set(err, "out of memory");
            schema_destroy(&prev);
            return -1;
        }
        if (found == 0)
            continue; /* versions are never deleted alone; skip a gap */
        int rc = prev != NULL ? evolve_step(sdb, table, prev, cur, last_snapshot, err) : 0;
        schema_destroy(&prev);
        prev = cur;
        if (rc < 0) {
            schema_destroy(&prev);
            return -1;
        }
    }
    schema_destroy(&prev);
    return evolve_row(sdb, table, *last_snapshot, latest->version, "version", NULL, NULL, NULL,
                      err);
}

int evolve_latest(struct silver_db *sdb, struct schemas *schemas, const char *table,
                  char err[ERROR_MAX])
{
    struct schema *latest = NULL;
    int64_t snapshot = 0;
    int rc = schemas_get(schemas, sdb->domain, table, 0, &latest, err);
    if (rc <= 0)
        return rc;
    rc = evolve_apply(sdb, schemas, table, latest, &snapshot, err);
    schema_destroy(&latest);
    return rc;
}

int evolve_reconcile(struct processor_ctx *ctx, struct silver_db *sdb, const char *table,
                     char err[ERROR_MAX])
{
    int exists = silver_table_exists(sdb, table, err);
    if (exists <= 0)
        return exists;
    struct schema *latest = NULL;
    int64_t applied = 0, snapshot = 0;
    int rc = schemas_get(ctx->schemas, sdb->domain, table, 0, &latest, err);
    if (rc <= 0)
        return rc;
    /* the common case costs one read, outside any write transaction */
    if (evolve_applied(sdb, table, &applied, err) < 0) {
        schema_destroy(&latest);
        return -1;
    }
    if (applied == latest->version) {
        schema_destroy(&latest);
        return 0;
    }
    if (silver_exec(sdb, "BEGIN IMMEDIATE", err) < 0) {
        schema_destroy(&latest);
        return -1;
    }
    rc = evolve_apply(sdb, ctx->schemas, table, latest, &snapshot, err);
    schema_destroy(&latest);
    if (rc < 0 || silver_exec(sdb, "COMMIT", err) < 0) {
        sqlite3_exec(sdb->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (snapshot > 0)
        merge_publish(ctx, sdb->domain, table, "", snapshot, 0);
    return 1;
}

/* ---- names of records of older versions ----------------------------------------- */

/* One version's column names and what they are called in the latest. */
struct evolve_map {
    int version;
    bool identity;               /* no name changes: records pass as they are */
    size_t count;
    char (*from)[NAMES_MAX];
    char (*to)[NAMES_MAX];       /* "" = dropped */
};

struct evolve_names {
    char domain[NAMES_MAX];
    char table[NAMES_MAX];
    int latest;                  /* the latest version the maps lead to */
    struct evolve_map *maps;
    size_t count;
    /* the versions read from the catalog, by number (versions are immutable;
     * each is read once per cache however many maps walk through it) */
    struct schema **versions;    /* [0..latest), NULL = not read yet */
    bool *known;                 /* versions[k] was looked up (it may not exist) */
};

void evolve_names_free(struct evolve_names **names)
{
    struct evolve_names *n = *names;
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->count; i++) {
        free(n->maps[i].from);
        free(n->maps[i].to);
    }
    for (int k = 0; n->versions != NULL && k < n->latest; k++)
        schema_destroy(&n->versions[k]);
    free(n->versions);
    free(n->known);
    free(n->maps);
    free(n);
    *names = NULL;
}

/* Version k (< latest) from the cache or the catalog; *out borrowed, NULL
 * when the catalog does not have it. */
static int evolve_version(struct evolve_names *n, struct schemas *schemas, int k,
                          const struct schema **out, char err[ERROR_MAX])
{
    *out = NULL;
    if (k <= 0 || k >= n->latest)
        return 0;
    if (!n->known[k]) {
        if (schemas_get(schemas, n->domain, n->table, k, &n->versions[k], err) < 0)
            return -1;
        n->known[k] = true;
    }
    *out = n->versions[k];
    return 0;
}

/* Follow version's columns through every later version to latest. */
static int evolve_build(struct evolve_names *n, struct schemas *schemas,
                        const struct schema *latest, int version, struct evolve_map *m,
                        char err[ERROR_MAX])
{
    memset(m, 0, sizeof *m);
    m->version = version;
    m->identity = true;
    const struct schema *prev = NULL;
    if (evolve_version(n, schemas, version, &prev, err) < 0)
        return -1;
    if (prev == NULL)
        return 0; /* an unknown version: its names are taken as they are */
    m->count = prev->column_count;
    m->from = calloc(m->count + 1, sizeof *m->from);
    m->to = calloc(m->count + 1, sizeof *m->to);
    if (m->from == NULL || m->to == NULL)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < m->count; i++) {
        snprintf(m->from[i], NAMES_MAX, "%s", prev->columns[i].name);
        snprintf(m->to[i], NAMES_MAX, "%s", prev->columns[i].name);
    }
    for (int k = version + 1; k <= latest->version; k++) {
        const struct schema *next = latest;
        if (k < latest->version) {
            if (evolve_version(n, schemas, k, &next, err) < 0)
                return -1;
            if (next == NULL)
                continue;
        }
        /* only a MANUAL version renames or drops (schema_check_compatible) */
        for (size_t i = 0; next->mode == SCHEMA_MODE_MANUAL && i < m->count; i++) {
            if (m->to[i][0] == '\0')
                continue;
            const struct schema_column *c = schema_successor(prev, next, m->to[i]);
            snprintf(m->to[i], NAMES_MAX, "%s", c != NULL ? c->name : "");
        }
        prev = next;
    }
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->from[i], m->to[i]) != 0)
            m->identity = false;
    return 0;
}

/* The map of version (NULL: nothing to map). */
static int evolve_map_get(struct evolve_names **cache, struct schemas *schemas, const char *domain,
                          const char *table, const struct schema *latest, int version,
                          const struct evolve_map **out, char err[ERROR_MAX])
{
    *out = NULL;
    if (latest == NULL || version <= 0 || version >= latest->version)
        return 0;
    struct evolve_names *n = *cache;
    if (n != NULL && n->latest != latest->version)
        evolve_names_free(cache); /* a newer latest: every map is stale */
    if ((n = *cache) == NULL) {
        if ((n = calloc(1, sizeof *n)) == NULL)
            return error_set(err, "out of memory");
        snprintf(n->domain, sizeof n->domain, "%s", domain);
        snprintf(n->table, sizeof n->table, "%s", table);
        n->latest = latest->version;
        *cache = n;
        n->versions = calloc((size_t)latest->version, sizeof *n->versions);
        n->known = calloc((size_t)latest->version, sizeof *n->known);
        if (n->versions == NULL || n->known == NULL)
            return error_set(err, "out of memory");
    }
    for (size_t i = 0; i < n->count; i++) {
        if (n->maps[i].version == version) {
            *out = n->maps[i].identity ? NULL : &n->maps[i];
            return 0;
        }
    }
    struct evolve_map *maps = realloc(n->maps, (n->count + 1) * sizeof *maps);
    if (maps == NULL)
        return error_set(err, "out of memory");
    n->maps = maps;
    if (evolve_build(n, schemas, latest, version, &maps[n->count], err) < 0) {
        free(maps[n->count].from);
        free(maps[n->count].to);
        return -1;
    }
    const struct evolve_map *m = &maps[n->count++];
    *out = m->identity ? NULL : m;
    return 0;
}

static const char *evolve_lookup(const struct evolve_map *m, const char *name, bool *dropped)
{
    *dropped = false;
    for (size_t i = 0; i < m->count; i++) {
        if (strcasecmp(m->from[i], name) == 0) {
            *dropped = m->to[i][0] == '\0';
            return m->to[i];
        }
    }
    return name; /* not a column of its version (_rescued, metadata) */
}

int evolve_name(struct evolve_names **cache, struct schemas *schemas, const char *domain,
                const char *table, const struct schema *latest, int version, const char *name,
                const char **out, char err[ERROR_MAX])
{
    const struct evolve_map *m;
    *out = name;
    if (evolve_map_get(cache, schemas, domain, table, latest, version, &m, err) < 0)
        return -1;
    if (m != NULL) {
        bool dropped;
        const char *to = evolve_lookup(m, name, &dropped);
        *out = dropped ? NULL : to;
    }
    return 0;
}

int evolve_record(struct evolve_names **cache, struct schemas *schemas, const char *domain,
                  const char *table, const struct schema *latest, json_t *root, json_t **out,
                  char err[ERROR_MAX])
{
    *out = NULL;
    const json_t *sv = json_object_get(root, "_schema_version");
    if (!json_is_integer(sv) || json_integer_value(sv) <= 0 ||
        json_integer_value(sv) > INT32_MAX)
        return 0;
    const struct evolve_map *m;
    if (evolve_map_get(cache, schemas, domain, table, latest, (int)json_integer_value(sv), &m,
                       err) < 0)
        return -1;
    if (m == NULL)
        return 0;
    json_t *copy = json_object();
    if (copy == NULL)
        return error_set(err, "out of memory");
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        bool dropped = false;
        const char *name = key[0] == '_' ? key : evolve_lookup(m, key, &dropped);
        if (dropped)
            continue;
        if (json_object_get(copy, name) != NULL && !json_is_null(value)) {
            /* two fields onto one column: leave it to the merge to refuse */
            name = key;
        }
        if (json_object_set(copy, name, value) < 0) {
            json_decref(copy);
            return error_set(err, "out of memory");
        }
    }
    *out = copy;
    return 0;
}

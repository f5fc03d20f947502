/* write.c - the gold write of a job run per write mode (transformer.h):
 * checking the query and its output columns, overwrite (a new table swapped
 * in), append, upsert through a unique key (accumulate columns, _delete
 * rows), the job's secondary index; the caller (run.c) holds the transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "names.h"
#include "sqlutil.h"
#include "strbuf.h"
#include "transformer.h"

#define WRITE_MAX_COLUMNS 2000

static int write_db_error(sqlite3 *db, char err[ERROR_MAX], const char *what)

{
    return error_set(err, "%s: %s", what, sqlite3_errmsg(db));
}

/* Is there a table named `table` in main? */
int write_table_exists(sqlite3 *db, const char *table, bool *exists, char err[ERROR_MAX])

{
    int rc = sqlutil_run(db, "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?1",
                         &table, 1, NULL, err, "look up gold table");
    *exists = rc == 1;
    return rc < 0 ? -1 : 0;
}

/* Skip blanks, ';' and comments; true if nothing else follows. */
static bool write_only_trailer(const char *s)

{
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == ';')
            s++;
        if (s[0] == '-' && s[1] == '-') {
            while (*s != '\0' && *s != '\n')
                s++;
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            if (e == NULL)
                return true;
            s = e + 2;
        } else {
            return *s == '\0';
        }
    }
}

/* An output column name we may splice (quoted): a column name, or '_' and one. */
static bool write_column_ok(const char *name)

{
    return names_is_valid_column(name) || (name[0] == '_' && names_is_valid_column(name + 1));
}

/* Prepare the rewritten query alone: one SELECT, its output columns, and
 * the statement text without its trailing ';' (*body, malloc'd). */
int write_check_query(sqlite3 *db, const char *sql, char **body, struct write_columns *cols,
                      char err[ERROR_MAX])
{
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    *body = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, &tail) != SQLITE_OK)
        return error_set(err, "SQL error: %s", sqlite3_errmsg(db));
    if (stmt == NULL)
        return error_set(err, "the job SQL is empty");
    if (!write_only_trailer(tail)) {
        sqlite3_finalize(stmt);
        return error_set(err, "the job SQL must be a single SELECT statement (found more after "
                              "the first statement)");
    }
    if (sqlite3_bind_parameter_count(stmt) > 0) {
        sqlite3_finalize(stmt);
        return error_set(err, "the job SQL has parameters (?, :name): a job has no values to "
                              "bind");
    }
    int n = sqlite3_column_count(stmt);
    if (!sqlite3_stmt_readonly(stmt) || n == 0) {
        sqlite3_finalize(stmt);
        return error_set(err, "the job SQL must be a SELECT statement");
    }
    if (n > WRITE_MAX_COLUMNS) {
        sqlite3_finalize(stmt);
        return error_set(err, "the query has %d columns (at most %d)", n, WRITE_MAX_COLUMNS);
    }
    cols->names = calloc((size_t)n, sizeof *cols->names);
    if (cols->names == NULL) {
        sqlite3_finalize(stmt);
        return error_set(err, "out of memory");
    }
    cols->count = (size_t)n;
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(stmt, i);
        if (name == NULL || !write_column_ok(name)) {
            error_set(err,
                      "output column %d '%.60s' is not a valid column name (must match "
                      "^[A-Za-z][A-Za-z0-9_]{0,62}$): give it an alias with AS",
                      i + 1, name ? name : "?");
            sqlite3_finalize(stmt);
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (strcasecmp(cols->names[j], name) == 0) {
                error_set(err, "output column '%s' appears twice: give one an alias with AS",
                          name);
                sqlite3_finalize(stmt);
                return -1;
            }
        }
        snprintf(cols->names[i], NAMES_MAX, "%s", name);
    }
    sqlite3_finalize(stmt);
    /* The statement text itself, without the ';' that ended it. */
    size_t len = (size_t)(tail - sql);
    while (len > 0 && (sql[len - 1] == ';' || sql[len - 1] == ' ' || sql[len - 1] == '\t' ||
                       sql[len - 1] == '\n' || sql[len - 1] == '\r'))
        len--;
    *body = strndup(sql, len);
    if (*body == NULL)
        return error_set(err, "out of memory");
    return 0;
}


/* Add output columns the existing table lacks (append/upsert). */
static int write_add_missing_columns(sqlite3 *db, const char *table, const struct write_columns *cols,
                                     char err[ERROR_MAX])
{
    char sql[NAMES_MAX + 64];
    snprintf(sql, sizeof sql, "PRAGMA main.table_info(\"%s\")", table);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return write_db_error(db, err, "read table columns");
    bool *have = calloc(cols->count, sizeof *have);
    if (have == NULL) {
        sqlite3_finalize(stmt);
        return error_set(err, "out of memory");
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(stmt, 1);
        for (size_t i = 0; name != NULL && i < cols->count; i++) {
            if (strcasecmp(cols->names[i], name) == 0)
                have[i] = true;
        }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        free(have);
        return write_db_error(db, err, "read table columns");
    }
    for (size_t i = 0; i < cols->count; i++) {
        if (have[i])
            continue;
        char alter[3 * NAMES_MAX + 64];
        snprintf(alter, sizeof alter, "ALTER TABLE main.\"%s\" ADD COLUMN \"%s\"", table,
                 cols->names[i]);
        if (sqlutil_exec(db, alter, err, "add column") < 0) {
            free(have);
            return -1;
        }
        log_info("gold_column_added table=%s column=%s", table, cols->names[i]);
    }
    free(have);
    return 0;
}

/* Split the stored unique key "a,b" into names, checking each is an output column. */
int write_key_columns(const char *unique_key, const struct write_columns *cols,
                      char keys[][NAMES_MAX], size_t max, size_t *count, char err[ERROR_MAX])
{
    *count = 0;
    const char *p = unique_key;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t n = strcspn(p, ", ");
        if (n >= NAMES_MAX || *count == max)
            return error_set(err, "unique_key '%s' is too long", unique_key);
        char name[NAMES_MAX];
        memcpy(name, p, n);
        name[n] = '\0';
        p += n;
        if (!names_is_valid_column(name))
            return error_set(err, "unique_key column '%s' is not a valid column name", name);
        bool found = false;
        for (size_t i = 0; i < cols->count && !found; i++)
            found = strcasecmp(cols->names[i], name) == 0;
        if (!found)
            return error_set(err, "unique_key column '%s' is not an output column of the query",
                             name);
        snprintf(keys[(*count)++], NAMES_MAX, "%s", name);
    }
    if (*count == 0)
        return error_set(err, "empty unique_key");
    return 0;
}

/* Make sure main."_uk_<table>" is a UNIQUE index on exactly the key columns. */
static int write_ensure_unique_index(sqlite3 *db, const char *table, char keys[][NAMES_MAX],
                                     size_t nkeys, char err[ERROR_MAX])
{
    char index[NAMES_MAX + 8];
    snprintf(index, sizeof index, "_uk_%s", table);
    char sql[2 * NAMES_MAX + 64];
    snprintf(sql, sizeof sql, "PRAGMA main.index_info(\"%s\")", index);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return write_db_error(db, err, "read unique index");
    size_t seen = 0;
    bool same = true;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int seqno = sqlite3_column_int(stmt, 0);
        const char *name = (const char *)sqlite3_column_text(stmt, 2);
        if (seqno < 0 || (size_t)seqno >= nkeys || name == NULL ||
            strcasecmp(name, keys[seqno]) != 0)
            same = false;
        seen++;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return write_db_error(db, err, "read unique index");
    if (seen == nkeys && same)
        return 0;
    struct strbuf t = {0};
    if (seen > 0)
        strbuf_addf(&t, "DROP INDEX main.\"%s\"; ", index);
    strbuf_addf(&t, "CREATE UNIQUE INDEX main.\"%s\" ON \"%s\" (", index, table);
    for (size_t i = 0; i < nkeys; i++)
        strbuf_addf(&t, "%s\"%s\"", i ? ", " : "", keys[i]);
    strbuf_addf(&t, ")");
    if (sqlutil_exec_buf(db, &t, err, "create the unique index") < 0) {
        char msg[ERROR_MAX];
        snprintf(msg, sizeof msg, "%s", err);
        return error_set(err, "%s (does the gold table already hold duplicate keys?)", msg);
    }
    return 0;
}

int write_count_rows(sqlite3 *db, const char *table, int64_t *out, char err[ERROR_MAX])
{
    char sql[NAMES_MAX + 48];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM main.\"%s\"", table);
    return sqlutil_int64(db, sql, out, err, "count rows") < 0 ? -1 : 0;
}

int write_overwrite(sqlite3 *db, const char *table, const char *body,
                    int64_t *inserted, int64_t *deleted, char err[ERROR_MAX])
{
    bool exists = false;
    *deleted = 0;
    if (write_table_exists(db, table, &exists, err) < 0 ||
        (exists && write_count_rows(db, table, deleted, err) < 0))
        return -1;
    char tmp[NAMES_MAX + 8];
    snprintf(tmp, sizeof tmp, "_tmp_%s", table);
    struct strbuf t = {0};
    strbuf_addf(&t, "DROP TABLE IF EXISTS main.\"%s\"; CREATE TABLE main.\"%s\" AS\n%s\n;", tmp,
                 tmp, body);
    if (sqlutil_exec_buf(db, &t, err, "run the query") < 0 ||
        write_count_rows(db, tmp, inserted, err) < 0)
        return -1;
    strbuf_addf(&t, "DROP TABLE IF EXISTS main.\"%s\"; ALTER TABLE main.\"%s\" RENAME TO \"%s\";",
                 table, tmp, table);
    return sqlutil_exec_buf(db, &t, err, "replace the gold table");
}

static int write_rows(sqlite3 *db, const char *table, const char *body,
                      const struct write_columns *cols, const char *unique_key,
                      const char *accumulate, int64_t *inserted, int64_t *updated,
                      char err[ERROR_MAX])
{
    bool exists = false;
    *inserted = *updated = 0;
    if (write_table_exists(db, table, &exists, err) < 0)
        return -1;
    struct strbuf t = {0};
    if (!exists && unique_key[0] == '\0') {
        strbuf_addf(&t, "CREATE TABLE main.\"%s\" AS\n%s\n;", table, body);
        if (sqlutil_exec_buf(db, &t, err, "run the query") < 0)
            return -1;
        return write_count_rows(db, table, inserted, err);
    }
    if (!exists) {
        /* the first upsert: the table takes the query's shape, then the index */
        strbuf_addf(&t, "CREATE TABLE main.\"%s\" AS SELECT * FROM (\n%s\n) LIMIT 0;", table,
                     body);
        if (sqlutil_exec_buf(db, &t, err, "create the gold table") < 0)
            return -1;
    } else if (write_add_missing_columns(db, table, cols, err) < 0) {
        return -1;
    }

    char(*keys)[NAMES_MAX] = NULL;
    size_t nkeys = 0;
    int64_t before = 0;
    if (unique_key[0] != '\0') {
        keys = calloc(cols->count, sizeof *keys);
        if (keys == NULL)
            return error_set(err, "out of memory");
        if (write_key_columns(unique_key, cols, keys, cols->count, &nkeys, err) < 0 ||
            write_ensure_unique_index(db, table, keys, nkeys, err) < 0 ||
            write_count_rows(db, table, &before, err) < 0) {
            free(keys);
            return -1;
        }
    }
    strbuf_addf(&t, "INSERT INTO main.\"%s\" (", table);
    for (size_t i = 0; i < cols->count; i++)
        strbuf_addf(&t, "%s\"%s\"", i ? ", " : "", cols->names[i]);
    strbuf_addf(&t, ") SELECT * FROM (\n%s\n)", body);
    if (nkeys > 0) {
        /* "WHERE true" resolves the parsing ambiguity between a join's ON and ON CONFLICT */
        strbuf_addf(&t, " WHERE true ON CONFLICT (");
        for (size_t i = 0; i < nkeys; i++)
            strbuf_addf(&t, "%s\"%s\"", i ? ", " : "", keys[i]);
        strbuf_addf(&t, ") DO ");
        size_t set = 0;
        for (size_t i = 0; i < cols->count; i++) {
            bool is_key = false;
            for (size_t k = 0; k < nkeys && !is_key; k++)
                is_key = strcasecmp(keys[k], cols->names[i]) == 0;
            if (is_key)
                continue;
            if (job_column_listed(accumulate, cols->names[i]))
                strbuf_addf(&t, "%s\"%s\" = coalesce(\"%s\", 0) + coalesce(excluded.\"%s\", 0)",
                             set++ ? ", " : "UPDATE SET ", cols->names[i], cols->names[i],
                             cols->names[i]);
            else
                strbuf_addf(&t, "%s\"%s\" = excluded.\"%s\"", set++ ? ", " : "UPDATE SET ",
                             cols->names[i], cols->names[i]);
        }
        if (set == 0)
            strbuf_addf(&t, "NOTHING");
    }
    free(keys);
    if (sqlutil_exec_buf(db, &t, err, "run the query") < 0)
        return -1;
    int64_t changes = sqlite3_changes64(db);
    if (nkeys == 0) {
        *inserted = changes;
        return 0;
    }
    int64_t after = 0;
    if (write_count_rows(db, table, &after, err) < 0)
        return -1;
    *inserted = after - before;
    *updated = changes - *inserted;
    return 0;
}

/* "DELETE FROM main.<table> WHERE (<keys>) IN (SELECT <keys> FROM
 * temp._run_rows" into t: the caller adds a filter and the closing ")". */
static void write_delete_keyed(struct strbuf *t, const char *table, char (*keys)[NAMES_MAX],
                               size_t nkeys)
{
    strbuf_addf(t, "DELETE FROM main.\"%s\" WHERE (", table);
    for (size_t i = 0; i < nkeys; i++)
        strbuf_addf(t, "%s\"%s\"", i ? ", " : "", keys[i]);
    strbuf_addf(t, ") IN (SELECT ");
    for (size_t i = 0; i < nkeys; i++)
        strbuf_addf(t, "%s\"%s\"", i ? ", " : "", keys[i]);
    strbuf_addf(t, " FROM temp.\"_run_rows\"");
}

/* Accumulating jobs (job.h): the rows of the keys this run wrote whose
 * accumulated columns all came to 0 (or NULL) are deleted: their group has
 * no rows left. Adds to *deleted. */
static int write_delete_emptied(sqlite3 *db, const char *table, char (*keys)[NAMES_MAX],
                                size_t nkeys, const char *accumulate, int64_t *deleted,
                                char err[ERROR_MAX])
{
    if (accumulate[0] == '\0')
        return 0;
    struct strbuf t = {0};
    write_delete_keyed(&t, table, keys, nkeys);
    strbuf_addf(&t, ")");
    const char *p = accumulate;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        strbuf_addf(&t, " AND coalesce(\"%.*s\", 0) = 0", (int)n, p);
        p += n + (p[n] == ',');
    }
    if (sqlutil_exec_buf(db, &t, err, "delete the keys whose accumulated columns are 0") < 0)
        return -1;
    *deleted += sqlite3_changes64(db);
    return 0;
}

/* Every accumulate column must be an output column of the query. */
int write_check_accumulate(const char *accumulate, const struct write_columns *cols,
                           char err[ERROR_MAX])
{
    const char *p = accumulate;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < cols->count && !found; i++)
            found = strlen(cols->names[i]) == n && strncasecmp(cols->names[i], p, n) == 0;
        if (!found)
            return error_set(err, "accumulate column '%.*s' is not an output column of the query",
                             (int)n, p);
        p += n + (p[n] == ',');
    }
    return 0;
}

/* An accumulating run that reads a change feed from its start (first run,
 * changed definition, rebuilt input: lineage.c's "from" 0) starts from an
 * empty table, or it would count what the table already holds twice. */
bool write_accumulate_from_start(const struct job_def *def, const json_t *changes)

{
    if (def->accumulate[0] == '\0')
        return false;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)changes, key, value) {
        if (json_integer_value(json_object_get(value, "from")) == 0)
            return true;
    }
    return false;
}

/* append / upsert. An upsert runs the query once, into temp._run_rows, which
 * the write and then the row history (gold_history.c: the keys it touched) read;
 * run_execute drops it. An upsert whose query has a column _delete: rows
 * where it is true delete their key instead of being written (how an
 * incremental job removes a group that lost all its rows, job.h); the column
 * is not stored. */
int write_append(sqlite3 *db, const char *table, const char *body,
                 const struct write_columns *cols, const char *unique_key,
                 const char *accumulate, int64_t *inserted, int64_t *updated,
                 int64_t *deleted, char err[ERROR_MAX])
{
    size_t del = cols->count;
    for (size_t i = 0; unique_key[0] != '\0' && i < cols->count; i++)
        if (strcasecmp(cols->names[i], "_delete") == 0)
            del = i;
    *deleted = 0;
    if (unique_key[0] == '\0')
        return write_rows(db, table, body, cols, unique_key, "", inserted, updated, err);
    if (del < cols->count && cols->count < 2)
        return error_set(err, "the query has only the _delete column");
    struct write_columns kept = {.names = calloc(cols->count, sizeof *kept.names)};
    if (kept.names == NULL)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < cols->count; i++)
        if (i != del)
            memcpy(kept.names[kept.count++], cols->names[i], NAMES_MAX);
    char(*keys)[NAMES_MAX] = calloc(cols->count, sizeof *keys);
    size_t nkeys = 0;
    struct strbuf t = {0}, rows = {0};
    int rc = -1;
    if (keys == NULL) {
        error_set(err, "out of memory");
        goto done;
    }
    if (write_key_columns(unique_key, &kept, keys, kept.count, &nkeys, err) < 0)
        goto done;
    strbuf_addf(&t, "DROP TABLE IF EXISTS temp.\"_run_rows\"; CREATE TEMP TABLE \"_run_rows\" AS "
                     "SELECT * FROM (\n%s\n);", body);
    if (sqlutil_exec_buf(db, &t, err, "run the query") < 0)
        goto done;
    strbuf_addf(&rows, "SELECT ");
    for (size_t i = 0; i < kept.count; i++)
        strbuf_addf(&rows, "%s\"%s\"", i ? ", " : "", kept.names[i]);
    strbuf_addf(&rows, " FROM temp.\"_run_rows\"");
    if (del < cols->count)
        strbuf_addf(&rows, " WHERE NOT coalesce(\"%s\", 0)", cols->names[del]);
    if (rows.failed) {
        error_set(err, "out of memory");
        goto done;
    }
    if (write_rows(db, table, rows.s, &kept, unique_key, accumulate, inserted, updated,
                       err) < 0 ||
        write_delete_emptied(db, table, keys, nkeys, accumulate, deleted, err) < 0)
        goto done;
    if (del == cols->count) {
        rc = 0;
        goto done;
    }
    write_delete_keyed(&t, table, keys, nkeys);
    strbuf_addf(&t, " WHERE coalesce(\"%s\", 0))", cols->names[del]);
    if (sqlutil_exec_buf(db, &t, err, "delete the _delete rows") < 0)
        goto done;
    *deleted += sqlite3_changes64(db);
    rc = 0;
done:
    free(rows.s);
    free(keys);
    free(kept.names);
    return rc;
}

/* The list holds checked column names (job.h), so it can be spliced; a
 * column the table lacks fails the run with SQLite's message. */
int write_ensure_index(sqlite3 *db, const struct job_def *def, char err[ERROR_MAX])
{
    char sql[2 * JOB_UNIQUE_KEY_MAX + 3 * NAMES_MAX], cols[2 * JOB_UNIQUE_KEY_MAX] = "";
    if (def->index[0] == '\0')
        return 0;
    size_t n = 0;
    for (const char *p = def->index; *p != '\0' && n + 4 < sizeof cols; p++) {
        if (*p == ',') {
            memcpy(cols + n, "\", \"", 4);
            n += 4;
        } else {
            cols[n++] = *p;
        }
    }
    cols[n] = '\0';
    /* unqualified: the index goes to the table's database, and the text is
     * what sqlite_master keeps, to compare with */
    snprintf(sql, sizeof sql, "CREATE INDEX \"_ix_%s\" ON \"%s\" (\"%s\")", def->name,
             def->name, cols);
    char old[2 * sizeof sql]; /* any earlier list fits */
    char query[NAMES_MAX + 96];
    snprintf(query, sizeof query,
             "SELECT sql FROM main.sqlite_master WHERE type = 'index' AND name = '_ix_%s'",
             def->name);
    int found = sqlutil_text(db, query, old, sizeof old, err, "read the secondary index");
    if (found < 0)
        return -1;
    if (found == 1 && strcmp(old, sql) == 0)
        return 0;
    char drop[NAMES_MAX + 48];
    snprintf(drop, sizeof drop, "DROP INDEX IF EXISTS main.\"_ix_%s\"", def->name);
    if (sqlutil_exec(db, drop, err, "drop the secondary index") < 0 ||
        sqlutil_exec(db, sql, err, "create the secondary index") < 0)
        return -1;
    return 0;
}

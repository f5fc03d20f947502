/* rowhistory.c - creating _h_<table> and keeping its columns (rowhistory.h).
 *
 * Identifiers spliced into the DDL are table names the callers checked and
 * column names that passed the column rule here. */
#include "rowhistory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"
#include "sqlutil.h"

#define ROWHISTORY_COLS_MAX 2000 /* SQLite's default column limit */

static bool rowhistory_name_ok(const char *name)
{
    return names_is_valid_column(name) || (name[0] == '_' && names_is_valid_column(name + 1));
}

int rowhistory_columns(sqlite3 *db, const char *schema, const char *table,
                       struct rowhistory_cols *out, char err[ERROR_MAX])
{
    out->items = NULL;
    out->count = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, type, pk FROM pragma_table_info(?1, ?2) ORDER BY cid",
                           -1, &st, NULL) != SQLITE_OK)
        return error_set(err, "table_info: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, schema, -1, SQLITE_TRANSIENT);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        if (name == NULL || strlen(name) >= NAMES_MAX || !rowhistory_name_ok(name) ||
            out->count >= ROWHISTORY_COLS_MAX) {
            rc = SQLITE_CORRUPT;
            break;
        }
        if (out->count == cap) {
            cap = cap ? cap * 2 : 32;
            struct rowhistory_col *items = realloc(out->items, cap * sizeof *items);
            if (items == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->items = items;
        }
        struct rowhistory_col *c = &out->items[out->count++];
        snprintf(c->name, sizeof c->name, "%s", name);
        /* only the affinities silver and gold tables have (CREATE TABLE AS
         * declares INT and NUM); never splice other text */
        c->type = type == NULL ? ""
                  : strcasecmp(type, "INTEGER") == 0 || strcasecmp(type, "INT") == 0 ? "INTEGER"
                  : strcasecmp(type, "REAL") == 0                                    ? "REAL"
                  : strcasecmp(type, "TEXT") == 0                                    ? "TEXT"
                  : strcasecmp(type, "NUM") == 0 || strcasecmp(type, "NUMERIC") == 0 ? "NUMERIC"
                                                                                     : "";
        c->pk = sqlite3_column_int(st, 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        rowhistory_cols_free(out);
        return error_set(err, "columns of %s: %s", table,
                         rc == SQLITE_NOMEM     ? "out of memory"
                         : rc == SQLITE_CORRUPT ? "unexpected column name"
                                                : sqlite3_errmsg(db));
    }
    return 0;
}

void rowhistory_cols_free(struct rowhistory_cols *cols)
{
    free(cols->items);
    cols->items = NULL;
    cols->count = 0;
}

const struct rowhistory_col *rowhistory_find(const struct rowhistory_cols *cols, const char *name)
{
    for (size_t i = 0; i < cols->count; i++)
        if (strcasecmp(cols->items[i].name, name) == 0)
            return &cols->items[i];
    return NULL;
}

bool rowhistory_is_validity(const char *name)
{
    return strcmp(name, "_valid_from") == 0 || strcmp(name, "_valid_to") == 0;
}

int rowhistory_sync(sqlite3 *db, const char *schema, const char *table, const char *const *keys,
                    size_t nkeys, bool seed, char err[ERROR_MAX])
{
    char h[NAMES_MAX + 4];
    snprintf(h, sizeof h, "_h_%s", table);
    struct rowhistory_cols t = {0}, hc = {0};
    struct strbuf b = {0};
    int rc = -1;
    if (rowhistory_columns(db, schema, table, &t, err) < 0 ||
        rowhistory_columns(db, schema, h, &hc, err) < 0)
        goto done;
    if (t.count == 0) {
        rc = 0; /* no table (yet) */
        goto done;
    }
    if (hc.count == 0) {
        strbuf_addf(&b, "CREATE TABLE \"%s\".\"%s\" (", schema, h);
        for (size_t i = 0; i < t.count; i++)
            strbuf_addf(&b, "\"%s\" %s, ", t.items[i].name, t.items[i].type);
        strbuf_addf(&b, "\"_valid_from\" INTEGER NOT NULL, \"_valid_to\" INTEGER);");
        strbuf_addf(&b, "CREATE INDEX \"%s\".\"%s_key\" ON \"%s\" (", schema, h, h);
        for (size_t k = 0; k < nkeys; k++)
            strbuf_addf(&b, "\"%s\", ", keys[k]);
        strbuf_addf(&b, "\"_valid_to\");");
        strbuf_addf(&b, "CREATE INDEX \"%s\".\"%s_from\" ON \"%s\" (\"_valid_from\");", schema,
                    h, h);
        strbuf_addf(&b,
                    "CREATE INDEX \"%s\".\"%s_to\" ON \"%s\" (\"_valid_to\") "
                    "WHERE \"_valid_to\" IS NOT NULL;",
                    schema, h, h);
        if (seed) {
            /* a table from before history existed: its rows are the first versions */
            strbuf_addf(&b, "INSERT INTO \"%s\".\"%s\" (", schema, h);
            for (size_t i = 0; i < t.count; i++)
                strbuf_addf(&b, "\"%s\", ", t.items[i].name);
            strbuf_addf(&b, "\"_valid_from\") SELECT ");
            for (size_t i = 0; i < t.count; i++)
                strbuf_addf(&b, "\"%s\", ", t.items[i].name);
            strbuf_addf(&b, "0 FROM \"%s\".\"%s\"", schema, table);
        }
        if (sqlutil_exec_buf(db, &b, err, NULL) < 0)
            goto done;
        rc = 1;
        goto done;
    }
    for (size_t i = 0; i < t.count; i++) {
        if (rowhistory_find(&hc, t.items[i].name) != NULL)
            continue;
        strbuf_addf(&b, "ALTER TABLE \"%s\".\"%s\" ADD COLUMN \"%s\" %s", schema, h,
                    t.items[i].name, t.items[i].type);
        if (sqlutil_exec_buf(db, &b, err, NULL) < 0)
            goto done;
    }
    rc = 0;
done:
    strbuf_free(&b);
    rowhistory_cols_free(&t);
    rowhistory_cols_free(&hc);
    return rc;
}

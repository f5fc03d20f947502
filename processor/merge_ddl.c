/* merge_ddl.c - creating a silver table at its first record and adding the
 * columns records bring, typed by their schema version (merge_table.h). */
#include "merge_table.h"

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
bool merge_permanent(int rc)
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
int merge_create(struct merge_table *t, int version, char reason[ERROR_MAX],
                        char err[ERROR_MAX])
{
    const struct schema *s;
    if (merge_schema(t, version, &s, err) < 0)
        return -1;
    struct strbuf b = {0};
    /* tombstones of an earlier table of this name (dropped, rebuilt) are void */
    strbuf_addf(&b, "DROP TABLE IF EXISTS \"_d_%s\"; CREATE TABLE \"%s\" (", t->name, t->name);
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
        strbuf_addf(&b, "\"%s\" %s, ", names[i], merge_sql_type(t, names[i], c->type));
        if (c->primary_key)
            keys++;
    }
    strbuf_addf(&b, "\"%s\" INTEGER NOT NULL%s, \"%s\" TEXT, \"%s\" INTEGER, \"%s\" TEXT", MERGE_SEQ,
               keys ? "" : " UNIQUE", MERGE_INSERT_DATE, MERGE_SCHEMA_VERSION,
               SCHEMA_RESCUED_COLUMN);
    if (keys > 0) {
        strbuf_addf(&b, ", PRIMARY KEY (");
        size_t k = 0;
        for (size_t i = 0; i < s->column_count; i++) {
            const struct schema_column *c = &s->columns[i];
            if (c->primary_key && names[i] != NULL)
                strbuf_addf(&b, "%s\"%s\"", k++ ? ", " : "", names[i]);
        }
        strbuf_addf(&b, ")");
    }
    strbuf_addf(&b, ")");
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
int merge_add_column(struct merge_table *t, const char *name, const json_t *value,
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

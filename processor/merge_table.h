/* merge_table.h - the state of one silver table while bronze files merge
 * into it, shared by the merge_*.c files (merge.c has the whole design):
 *   merge_table.c   columns of the table, open/close
 *   merge_ddl.c     creating the table and adding columns, typed by schema versions
 *   merge_sql.c     the prepared statements for the current column set
 *   merge_expect.c  expectations: counting, dropped lines, _expectations rows
 *   merge_record.c  one record: upsert, append, delete and tombstones
 *   merge.c         one file in a savepoint (ledger, snapshot)
 *   merge_group.c   the live path: pending files of a table in one transaction */
#ifndef LAKEHOUSE_PROCESSOR_MERGE_TABLE_H
#define LAKEHOUSE_PROCESSOR_MERGE_TABLE_H

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
#include "layout.h"
#include "log.h"
#include "strbuf.h"
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
    sqlite3_stmt *hopen;  /* rowids of a key's open versions (keyed tables) */
    sqlite3_stmt *hclose; /* close a version: ?1 = _valid_to, ?2 = its rowid */
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
    struct strbuf *drops; /* rejected/ lines of records dropped by the current file */
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

/* Failures of one rule (by name) in the file being merged. */
struct merge_rule_count {
    char name[NAMES_MAX];
    enum schema_expect_action action;
    char rule[SCHEMA_RULE_MAX];
    int64_t failed;
};


/* ---- columns (merge_table.c) */
int merge_find(const struct merge_table *t, const char *name);
int merge_rehash(struct merge_table *t);
int merge_reserve(struct merge_table *t, size_t need);
void merge_finalize(struct merge_table *t);
bool merge_is_meta_column(const char *name);
int merge_load(struct merge_table *t, char err[ERROR_MAX]);
void merge_free_texts(struct merge_table *t);
int merge_corrupt(char reason[ERROR_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- creating and extending the table (merge_ddl.c) */
bool merge_permanent(int rc);
int merge_create(struct merge_table *t, int version, char reason[ERROR_MAX],
                 char err[ERROR_MAX]);
int merge_add_column(struct merge_table *t, const char *name, const json_t *value,
                     int version, char reason[ERROR_MAX], char err[ERROR_MAX]);

/* ---- statements (merge_sql.c) */
int merge_prepare_tombstones(struct merge_table *t, char err[ERROR_MAX]);
int merge_prepare(struct merge_table *t, char err[ERROR_MAX]);
void merge_bind(struct merge_table *t, sqlite3_stmt *st, const struct merge_meta *m);
int merge_step(struct merge_table *t, sqlite3_stmt *st, char msg[ERROR_MAX]);
/* Close the open history versions of the current record's key: how many, or
 * -1 / -2 (permanent) with a message. */
int merge_history_close(struct merge_table *t, char msg[ERROR_MAX]);
int merge_history(struct merge_table *t, const struct merge_meta *m, bool close,
                  char msg[ERROR_MAX]);

/* ---- expectations (merge_expect.c) */
int merge_expect(struct merge_table *t, const json_t *root, int version, int64_t line,
                 char reason[ERROR_MAX], char err[ERROR_MAX]);
int merge_write_drops(struct merge_table *t, const char *data_dir, char err[ERROR_MAX]);
int merge_record_expectations(struct merge_table *t, int64_t snapshot_id,
                              char err[ERROR_MAX]);

/* ---- records (merge_record.c); 0 ok, 1 corrupt (reason), 2 blocked, -1 error (err) */
int merge_record(struct merge_table *t, json_t *root, int64_t line,
                 struct merge_result *res, int64_t *max_version, char reason[ERROR_MAX],
                 char err[ERROR_MAX]);
int merge_record_flat(struct merge_table *t, const struct jsonflat_field *f, int n,
                      int64_t line, struct merge_result *res, int64_t *max_version,
                      char reason[ERROR_MAX], char err[ERROR_MAX]);

#endif

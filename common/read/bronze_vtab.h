/* bronze_vtab.h - domain.bronze.table in queries: the bronze LZ4 files of an
 * endpoint read as a read-only SQLite virtual table, and the bronze entries
 * of table listings.
 *
 * query.c gives every query a private in-memory connection. For each bronze
 * reference it calls bronze_vtab_attach, which ATTACHes an empty in-memory
 * database under the schema name sqlref gives the reference ("bronze_<d>")
 * and creates in it a virtual table named after the endpoint, so the SQL
 * rewritten by sqlref.h works unchanged. This owns the module
 * "lakehouse_bronze" (not eponymous: it needs a domain and a table).
 *
 * Columns: the endpoint's columns (latest schema version in the catalog,
 * declared with schema_type_sql types); without a catalog entry a single
 * column `record` (the record as JSON text without its metadata). Then the
 * metadata columns _insert_date, _seq, _schema_version, _batch_id, _rescued
 * (JSON text) and _file (the file's path relative to the data directory,
 * "bronze/<d>/<e>/dt=<date>/<name>.ndjson.lz4"). Values are converted as the
 * processor does: true/false -> 1/0, objects/arrays -> compact JSON text,
 * missing -> NULL. Fields of older records that the latest schema lacks
 * appear only in `record` mode.
 *
 * Scan: files in name order (dt= directories, then file names: arrival
 * order), one file open at a time through the streaming bronze reader and
 * one parsed line in memory (bounded memory whatever the table size).
 * Pruning: a constraint _insert_date <, <= or = X skips the dt= directories
 * after X's date (every record of dt=D was inserted on or after D; a lower
 * bound cannot prune because a file may run past midnight); a constraint
 * _file = X reads only that file (the Iceberg export of bronze reads file by
 * file). SQLite still checks every constraint itself.
 * Corrupt files: files the processor recorded in silver's _quarantine are
 * skipped (they are void in silver too). Any other file that turns out
 * corrupt fails the query with an error naming the file: the reader may
 * detect corruption only at the end of a frame, after earlier rows were
 * returned, so skipping it silently could return part of a void file.
 * A file deleted (retention) between listing and reading is skipped.
 *
 * The tables are read-only (no xUpdate) and SQLITE_VTAB_DIRECTONLY (not
 * usable from views or triggers); reading them needs only SQLITE_READ from
 * the authorizer, which query.c installs after the attach. */
#ifndef LAKEHOUSE_BRONZE_VTAB_H
#define LAKEHOUSE_BRONZE_VTAB_H

#include <sqlite3.h>
#include <jansson.h>
#include "error.h"

/* Make domain.bronze.table readable as "bronze_<domain>"."<table>" in db
 * (registers the module, attaches the schema if needed, creates the table;
 * call before installing an authorizer). -1 with err when a name is invalid
 * or the endpoint has no bronze directory ("no bronze data for
 * demo.bronze.x: bronze/demo/x does not exist"), or SQLite fails. */
int bronze_vtab_attach(sqlite3 *db, const char *data_dir, const char *domain, const char *table,
                       char err[ERROR_MAX]);

/* Append to tables (an array in query_list_tables form) one entry per
 * bronze/<domain>/<endpoint>/ directory:
 *   {domain, layer:"bronze", table, rows, files, files_pending,
 *    snapshot_id:null, last_commit:null}
 * rows = records of the sealed files: taken from silver's _ledger for
 * merged files, counted by reading the others (files_pending; a corrupt
 * file counts in files, not in rows). Then sort the whole array by domain,
 * layer (bronze, silver, gold) and table. A missing bronze/ adds nothing. */
int bronze_vtab_add_tables(const char *data_dir, json_t *tables, char err[ERROR_MAX]);

#endif

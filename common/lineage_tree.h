/* lineage_tree.h - the lineage of a gold table's snapshot: the snapshot of
 * every table its run read and, under each silver input, the bronze files
 * that input stands on (shared by `lakehouse lineage` and the HTTP API).
 *
 * Result (caller owns): {"table":"d.gold.t","snapshot_id","committed_at",
 *   "operation","source","rows_inserted","rows_updated","rows_deleted",
 *   "inputs":[{"table":"d.silver.t"|"d.gold.t","snapshot_id",
 *     ["changes_from","change_rows"] (read as changes), "committed_at",
 *     "operation", silver: "bronze_file_count","bronze_records",
 *     ["changed_bronze_files"],"bronze_files":[{"file","snapshot_id","records"}],
 *     gold: "source","inputs":[...] (recursively)}]} */
#ifndef LAKEHOUSE_LINEAGE_TREE_H
#define LAKEHOUSE_LINEAGE_TREE_H

#include <stdint.h>
#include <jansson.h>

#include "error.h"

#define LINEAGE_TREE_FILES_DEFAULT 20

/* The tree of domain.gold.table at snapshot (0 = its latest), listing at most
 * files_max bronze files per input (0 = all; the counts always cover all).
 * 0 with *out; 1 with err when the table or that snapshot of it is not
 * there; -1 with err on any other failure (an input that cannot be read). */
int lineage_tree_gold(const char *data_dir, const char *domain, const char *table,
                      int64_t snapshot, int64_t files_max, json_t **out, char err[ERROR_MAX]);

#endif

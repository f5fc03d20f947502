/* health_iceberg.h - the Iceberg export of every table as `lakehouse status`
 * shows it (health.h): read from the export state the writers commit in
 * their databases (silver and gold: _iceberg_tables against _snapshots;
 * bronze: _iceberg_bronze_tables in silver/<domain>.db against the sealed
 * files above its _seq watermark). Only tables exported at least once are
 * listed. One entry per table:
 *   {"domain","layer":"bronze|silver|gold","table",
 *    "exported_snapshot" (silver/gold: the project snapshot; bronze: null),
 *    "exported_at" (UTC), "duration_seconds" (the last export's),
 *    "lag_snapshots" (snapshots, or bronze files, not exported yet),
 *    "lag_seconds" (age of the oldest of them; 0 when current),
 *    "state":"ok|lagging" (lagging: lag_seconds above lag_ms)} */
#ifndef LAKEHOUSE_HEALTH_ICEBERG_H
#define LAKEHOUSE_HEALTH_ICEBERG_H

#include <stdint.h>
#include <jansson.h>

/* Append the entries of every database under data_dir to out: per silver
 * database (by domain) its bronze then its silver tables, then the gold
 * ones. Unreadable databases are left out. */
void health_iceberg_collect(const char *data_dir, int64_t now_ms, int64_t lag_ms, json_t *out);

#endif

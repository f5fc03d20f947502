/* job.h - transform job definitions: parsing the SQL-file form, validation,
 * dependencies read from the SQL, and cycle detection. Pure logic.
 *
 * SQL-file form (`lakehouse job add FILE.sql`, and the jobs directory):
 *   -- job: flights_by_origin          (optional: defaults to the file name without .sql)
 *   -- domain: demo                    (required)
 *   -- write_mode: overwrite           (overwrite | append; default overwrite)
 *   -- unique_key: origin, day         (optional: rows are upserted on these columns;
 *                                       implies write_mode append, refused with overwrite)
 *   -- schedule: dependency            (dependency | cron; default dependency, or cron
 *                                       when a cron line is given)
 *   -- cron: 0 2 * * ? *               (with schedule: cron; 5- or 6-field form, UTC)
 *   -- incremental: true               (optional, default false; JSON form: "incremental":
 *                                       true. Needs write_mode append / a unique_key.)
 *   -- accumulate: flights, delay_sum  (optional, needs a unique_key: on a key that exists
 *                                       these columns are added to the stored values
 *                                       instead of replacing them; see below)
 *   SELECT ... FROM demo.silver.flights ...
 * Header lines are the leading "-- key: value" comment lines (keys matched
 * without regard to case; other leading comments are skipped); unknown or
 * repeated keys are errors naming the line; the SQL is the rest. A job writes
 * the gold table named after it: <domain>.gold.<job>. Dependencies of a job
 * are the tables its SQL references (sqlref.h). A job may not read its own
 * output table, and a set of jobs may not form a cycle through gold tables.
 *
 * Incremental jobs: in the SQL of a job with incremental: true, a silver
 * reference followed by a bare @changes (demo.silver.flights@changes) reads
 * the change feed (timetravel.h: the table's columns plus _change_type,
 * _snapshot_id, _committed_at) of the snapshots after the one the job's last
 * successful run read (as in its execution's inputs_json; taken from the
 * gold _lineage row, which commits with the gold rows), up to the snapshot this
 * run reads; on the first run (or after the table was rebuilt with lower
 * snapshot ids) every change from the first snapshot; a changed definition
 * (trigger "definition") also reads every change. Plain references still
 * read the whole table, so the usual form recomputes only the groups touched
 * (the before-images of updates and deletes name the groups rows left):
 *   -- unique_key: origin, day
 *   -- incremental: true
 *   WITH touched AS (SELECT DISTINCT origin, substr(date, 1, 10) AS day
 *                    FROM demo.silver.flights@changes),
 *        agg AS (SELECT origin, substr(date, 1, 10) AS day, count(*) AS flights
 *                FROM demo.silver.flights
 *                WHERE (origin, substr(date, 1, 10)) IN (SELECT origin, day FROM touched)
 *                GROUP BY 1, 2)
 *   SELECT t.origin, t.day, a.flights, a.origin IS NULL AS _delete
 *   FROM touched AS t LEFT JOIN agg AS a ON a.origin = t.origin AND a.day = t.day
 * An output column _delete (upsert jobs): a row where it is true deletes its
 * key from the gold table instead of being written (a group that lost all
 * its rows); _delete is not stored. Bare @changes is refused outside
 * incremental jobs; incremental needs write mode append (usually with a
 * unique_key): overwrite would keep only the groups of the last changes.
 *
 * Accumulating jobs (accumulate: c1, c2, ...; JSON "accumulate"): the query
 * gives per key the change of each listed column (usually signed counts and
 * sums over @changes: +1 for insert / update_after, -1 for delete /
 * update_before), and the upsert adds it to the stored value (NULL counts as
 * 0); a key whose listed columns all become 0 (or NULL) is deleted (the group
 * has no rows left). Such a run costs in proportion to the changes, not to
 * the input tables. When an incremental accumulating run reads a change feed
 * from its start (first run, changed definition, rebuilt input), the gold
 * table is emptied first in the same transaction, so nothing is counted
 * twice. */
#ifndef LAKEHOUSE_JOB_H
#define LAKEHOUSE_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "error.h"
#include "names.h"
#include "sqlref.h"

enum job_write_mode { JOB_WRITE_OVERWRITE, JOB_WRITE_APPEND };
enum job_schedule { JOB_SCHEDULE_DEPENDENCY, JOB_SCHEDULE_CRON };

#define JOB_UNIQUE_KEY_MAX 512
#define JOB_CRON_MAX 128

struct job_def {
    char domain[NAMES_MAX];
    char name[NAMES_MAX];
    char *sql;                          /* owned */
    enum job_write_mode write_mode;
    char unique_key[JOB_UNIQUE_KEY_MAX]; /* comma-separated column names, "" = none */
    enum job_schedule schedule;
    char cron[JOB_CRON_MAX];            /* "" unless schedule is cron */
    bool incremental;                   /* reads @changes since its last success */
    char accumulate[JOB_UNIQUE_KEY_MAX]; /* columns added to the stored row's values on
                                          * upsert (comma-separated), "" = none */
};

const char *job_write_mode_name(enum job_write_mode m);
int job_write_mode_from_name(const char *name, enum job_write_mode *out);
const char *job_schedule_name(enum job_schedule s);
int job_schedule_from_name(const char *name, enum job_schedule *out);

/* Parse the SQL-file form. default_name (may be NULL) is used when the header
 * has no "job:". Validates (job_validate). err names the line. */
int job_parse_sql_file(const char *text, const char *default_name, struct job_def *out,
                       char err[ERROR_MAX]);
/* JSON form {domain, job_name, query, write_mode, unique_key, schedule_type,
 * cron_schedule, incremental (boolean, optional)}; to_json returns a new
 * reference. */
int job_from_json(const json_t *json, struct job_def *out, char err[ERROR_MAX]);
json_t *job_to_json(const struct job_def *job);

/* Names, write mode, unique key columns, cron expression, SQL references
 * (well-formed, layer silver or gold, not its own output table), and that
 * the SQL is one query: after leading blanks/comments it starts with SELECT,
 * WITH (whose statement is a SELECT) or VALUES, and no ';' outside literals
 * and comments is followed by another statement. Checked on the text alone
 * (the input tables need not exist yet); the transformer checks again when
 * it prepares the statement. */
int job_validate(const struct job_def *job, char err[ERROR_MAX]);

/* The tables the job reads, deduplicated. Caller frees *refs. */
int job_dependencies(const struct job_def *job, struct sqlref **refs, size_t *count,
                     char err[ERROR_MAX]);

/* Would adding/replacing `candidate` among `jobs` (a job with the same domain
 * and name is replaced) create a cycle through gold tables? 0 if not, -1 with
 * err listing the cycle ("cycle: demo.a -> demo.b -> demo.a"). */
int job_check_cycle(const struct job_def *jobs, size_t count, const struct job_def *candidate,
                    char err[ERROR_MAX]);

/* Is column in the normalised list ("a,b"; unique_key, accumulate)? Case
 * is ignored, as SQLite does for column names. */
bool job_column_listed(const char *list, const char *column);

int job_copy(struct job_def *dst, const struct job_def *src);
/* Free owned memory and zero the struct. */
void job_clear(struct job_def *job);

#endif

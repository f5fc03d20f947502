/* catalog.h - catalog.db: endpoints (every schema version), transform jobs and
 * their executions. Written rarely, in short transactions with a busy timeout
 * (WAL mode); schema versioned with PRAGMA user_version, migrations in order.
 *
 * Tables (version 1):
 *   endpoints(domain, name, version, mode, schema_json, created_at, updated_at,
 *             PRIMARY KEY(domain, name, version))
 *   jobs(domain, name, sql, write_mode, unique_key, schedule, cron,
 *        created_at, updated_at, PRIMARY KEY(domain, name),
 *        incremental INTEGER 0/1 -- version 2, accumulate -- version 3,
 *        index_columns, model ('' = not managed by a model) -- version 4)
 *   models(name PRIMARY KEY, concept_file, created_at, updated_at) -- version 4
 *   executions(id INTEGER PRIMARY KEY, domain, job, trigger, status
 *              (RUNNING|SUCCEEDED|FAILED), started_at, finished_at, rows,
 *              error, inputs_json)
 * inputs_json of an execution records the snapshot id of each table the run
 * read: {"demo.silver.flights": 12, ...}; the transformer compares it with the
 * current snapshots to find jobs whose inputs changed (events are hints).
 * Timestamps are ISO 8601 UTC with 'Z'. */
#ifndef LAKEHOUSE_CATALOG_H
#define LAKEHOUSE_CATALOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <jansson.h>
#include "error.h"
#include "schema.h"
#include "job.h"

struct catalog;

/* Open <data_dir>/catalog.db. read_only: no creation, no migration.
 * Caller owns *out (catalog_close). */
int catalog_open(const char *data_dir, bool read_only, struct catalog **out, char err[ERROR_MAX]);
void catalog_close(struct catalog **catalog);

/* Store schema as a new version of its endpoint (version = latest + 1, or 1).
 * Fails with kind (error.h) ERROR_INVALID for a definition that does not
 * validate or has a bad expectation, ERROR_CONFLICT for one that is not a
 * compatible change of the previous version (err "endpoint d/e: incompatible
 * change to version N: column 'x': ..."), -1 (ERROR_INTERNAL) for a storage error.
 * A definition equal to the latest version stores nothing and sets *version
 * to that version (re-running `endpoint create` is harmless). Sets *version.
 * The caller publishes schema.changed (when the version changed). */
int catalog_put_endpoint(struct catalog *catalog, const struct schema *schema, int *version,
                         char err[ERROR_MAX]);
/* version 0 = latest. Returns 1 found (*out owned by caller), 0 not found, -1 error. */
int catalog_get_endpoint(struct catalog *catalog, const char *domain, const char *name,
                         int version, struct schema **out, char err[ERROR_MAX]);
/* Latest version number of each endpoint, for cheap change detection:
 * returns 1 and *version, 0 not found, -1 error. */
int catalog_endpoint_version(struct catalog *catalog, const char *domain, const char *name,
                             int *version, char err[ERROR_MAX]);
/* JSON array of {domain, name, version, mode, created_at, updated_at} of the
 * latest versions, optionally of one domain (NULL = all). New reference. */
int catalog_list_endpoints(struct catalog *catalog, const char *domain, json_t **out,
                           char err[ERROR_MAX]);
/* JSON array of every version's schema_to_json. */
int catalog_endpoint_versions(struct catalog *catalog, const char *domain, const char *name,
                              json_t **out, char err[ERROR_MAX]);
/* Deletes every version. Returns 1 deleted, 0 not found, -1 error. */
int catalog_delete_endpoint(struct catalog *catalog, const char *domain, const char *name,
                            char err[ERROR_MAX]);

/* Insert or replace a job (validated by job_validate and job_check_cycle
 * against the stored jobs). The caller publishes job.changed. */
int catalog_put_job(struct catalog *catalog, const struct job_def *job, char err[ERROR_MAX]);
/* 1 found (*out filled; job_clear it), 0 not found, -1 error. */
int catalog_get_job(struct catalog *catalog, const char *domain, const char *name,
                    struct job_def *out, char err[ERROR_MAX]);
/* All jobs; *jobs is a malloc'd array the caller frees after job_clear on each. */
int catalog_list_jobs(struct catalog *catalog, struct job_def **jobs, size_t *count,
                      char err[ERROR_MAX]);
/* 0 deleted; ERROR_NOT_FOUND (error.h) when there is none, -1 on error. */
int catalog_delete_job(struct catalog *catalog, const char *domain, const char *name,
                       char err[ERROR_MAX]);

/* Models (model.h): name, the concept file as given, and the jobs it
 * generated (jobs.model = name). put_model replaces the model's whole job
 * set in one transaction: jobs of the model not in set are deleted; a job of
 * set that exists unmanaged or under another model, or a cycle over the
 * resulting set of all jobs, is -(ERROR_CONFLICT); a job that does not
 * validate -(ERROR_INVALID) (error.h); -1 is a storage error. The caller
 * publishes job.changed. */
int catalog_put_model(struct catalog *catalog, const char *name, const char *concept_file,
                      const struct job_def *set, size_t set_count, char err[ERROR_MAX]);
/* 1 found (*concept_file: caller frees), 0 not found, -1 error. */
int catalog_get_model(struct catalog *catalog, const char *name, char **concept_file,
                      char err[ERROR_MAX]);
/* JSON array of {name, created_at, updated_at, jobs (count)}. */
int catalog_list_models(struct catalog *catalog, json_t **out, char err[ERROR_MAX]);
/* Deletes the model and its jobs (not their tables): 0 deleted,
 * -(ERROR_NOT_FOUND) when there is no such model, -1 error. */
int catalog_delete_model(struct catalog *catalog, const char *name, char err[ERROR_MAX]);

/* Executions. */
int catalog_execution_start(struct catalog *catalog, const char *domain, const char *job,
                            const char *trigger, int64_t *execution_id, char err[ERROR_MAX]);
/* status "SUCCEEDED" or "FAILED"; error NULL on success; inputs_json may be NULL
 * (must be valid JSON otherwise). -1 "no execution N" for an unknown id. */
int catalog_execution_finish(struct catalog *catalog, int64_t execution_id, const char *status,
                             int64_t rows, const char *error, const char *inputs_json,
                             char err[ERROR_MAX]);
/* The inputs_json of the job's last SUCCEEDED execution: 1 found (*out is a
 * new reference; {} when that run recorded none), 0 none, -1 error. */
int catalog_last_success_inputs(struct catalog *catalog, const char *domain, const char *job,
                                json_t **out, char err[ERROR_MAX]);
/* One execution as JSON {execution_id, domain, job_name, trigger, status,
 * started_at, finished_at, rows, error}: 1 found, 0 not found, -1 error. */
int catalog_get_execution(struct catalog *catalog, int64_t execution_id, json_t **out,
                          char err[ERROR_MAX]);
/* Most recent executions (newest first); domain and job each NULL = any;
 * limit <= 0 = no limit. *out is a new array reference. */
int catalog_list_executions(struct catalog *catalog, const char *domain, const char *job,
                            int limit, json_t **out, char err[ERROR_MAX]);
/* Mark RUNNING executions left by a crashed transformer as FAILED. */
int catalog_fail_running_executions(struct catalog *catalog, const char *reason,
                                    char err[ERROR_MAX]);

#endif

/* ops.h - the operations that `lakehouse` and the broker's HTTP API both ask
 * of the workers over their control sockets (control_protocol.h): rollback of a
 * silver table, replay, expire, compact and export; and the check of a
 * configuration file. One implementation, so that the
 * command and the API check the same things, say the same messages and
 * answer the same JSON.
 *
 * Every function returns 0, or -(int)kind (error.h: error_kind_of) with err
 * holding the message the CLI prints (after "lakehouse: ") and the HTTP API
 * answers as {"detail": ...} with the status of the kind: ERROR_NOT_FOUND (no
 * such table or snapshot), ERROR_CONFLICT (refused: a gold table, or the
 * worker said no), ERROR_UNAVAILABLE (the worker is not running or did not
 * answer), ERROR_INTERNAL (out of memory). */
#ifndef LAKEHOUSE_OPS_H
#define LAKEHOUSE_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "config.h"
#include "control_protocol.h"
#include "error.h"

#define OPS_PING_TIMEOUT_MS 5000
#define OPS_LONG_TIMEOUT_MS (6 * 3600 * 1000) /* a rebuild of a big table takes a while */

/* Does a process listen on the ipc:// endpoint? (a test connect; tcp://
 * endpoints: true, ZeroMQ will tell). */
bool ops_endpoint_present(const char *endpoint);

/* Send req to the worker on endpoint (who: "processor", "transformer") and
 * wait up to timeout_ms for *reply. 0: *reply came (reply->ok may be
 * false). ERROR_UNAVAILABLE with err ("the processor is not running (nothing
 * listens on ...)", or "<what>: <transport error>" when what is not NULL). */
int ops_call(void *zmq_context, const char *endpoint, const char *who,
             const struct control_request *req, int timeout_ms, const char *what,
             struct control_reply *reply, char err[ERROR_MAX]);

/* Why a gold table is not rolled back (the reason the CLI gives). */
void ops_rollback_gold_reason(const char *domain, const char *table, char err[ERROR_MAX]);

/* Roll domain.silver.table back to snapshot (a new snapshot). 0 with
 * *out = {"domain","table","to_snapshot","snapshot_id","changed","message"}
 * (caller owns). A gold table of that name: ERROR_CONFLICT with the gold
 * reason; no such silver table: ERROR_NOT_FOUND. */
int ops_rollback(void *zmq_context, const struct config *cfg, const char *domain,
                 const char *table, int64_t snapshot, json_t **out,
                 char err[ERROR_MAX]);

/* Replay (control_protocol.h "replay": req->domain/name/from/to as given), after a
 * ping that tells a stopped processor apart from a long replay.
 * 0 with *out = {"files_merged","message"}. */
int ops_replay(void *zmq_context, const struct config *cfg,
               const struct control_request *req, json_t **out, char err[ERROR_MAX]);

/* Expire (dry_run: say what would go) silver and bronze through the
 * processor, then gold through the transformer when it runs. 0 with
 * *out = {"dry_run","silver":{"message","bronze_files","snapshots"},
 *         "gold":{"message","snapshots","lineage_rows"} | null,
 *         "notes":[...]} (notes: e.g. that the transformer is not running). */
int ops_expire(void *zmq_context, const struct config *cfg, const char *domain,
               const char *table, bool dry_run, json_t **out, char err[ERROR_MAX]);

/* Compact (date "" = every closed day). 0 with
 * *out = {"message","input_files","files_written"}. */
int ops_compact(void *zmq_context, const struct config *cfg, const char *domain,
                const char *table, const char *date, json_t **out,
                char err[ERROR_MAX]);

/* Export (control_protocol.h "export"): the processor publishes silver,
 * then the transformer, when it runs, gold, as Iceberg tables, the tables
 * in scope whose newest snapshot is not exported yet; both answer when
 * done. 0 with *out = {"silver": {"message","tables"} | null,
 * "gold": {"message","tables"} | null, "notes": [...]}: a layer is null
 * when one TABLE was asked for and that layer has none, or (with a note)
 * when the transformer is not running. A TABLE may be silver, gold or both:
 * only when neither layer has it, or an export failed, is it an error
 * (the worker's kind; a TABLE neither layer has: ERROR_NOT_FOUND). */
int ops_export(void *zmq_context, const struct config *cfg, const char *domain,
               const char *table, json_t **out, char err[ERROR_MAX]);

/* Check the configuration file at path as `lakehouse config check` does
 * (config_check_file, in this process's environment). 0 with
 * *out = {"ok": bool, "problems": [...]}, each problem without the
 * "config <path>: " the file parser opens its messages with. */
int ops_config_check(const char *path, json_t **out, char err[ERROR_MAX]);

#endif

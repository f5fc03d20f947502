/* ops.h - the operations that `lakehouse` and the broker's HTTP API both ask
 * of the workers over their control sockets (control.h): rollback of a
 * silver table, replay, expire and compact. One implementation, so that the
 * command and the API check the same things, say the same messages and
 * answer the same JSON.
 *
 * Every function returns an ops_status; on anything but OPS_OK, err holds
 * the message the CLI prints (after "lakehouse: ") and the HTTP API answers
 * as {"detail": ...} with the status the ops_status stands for. */
#ifndef LAKEHOUSE_OPS_H
#define LAKEHOUSE_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "config.h"
#include "control.h"
#include "error.h"

#define OPS_PING_TIMEOUT_MS 5000
#define OPS_LONG_TIMEOUT_MS (6 * 3600 * 1000) /* a rebuild of a big table takes a while */

enum ops_status {
    OPS_OK = 0,
    OPS_NOT_FOUND,   /* no such table or snapshot (HTTP 404) */
    OPS_CONFLICT,    /* refused: a gold table, or the worker said no (HTTP 409) */
    OPS_UNAVAILABLE, /* the worker is not running or did not answer (HTTP 503) */
};

/* Does a process listen on the ipc:// endpoint? (a test connect; tcp://
 * endpoints: true, ZeroMQ will tell). */
bool ops_endpoint_present(const char *endpoint);

/* Send req to the worker on endpoint (who: "processor", "transformer") and
 * wait up to timeout_ms for *reply. OPS_OK: *reply came (reply->ok may be
 * false). OPS_UNAVAILABLE with err ("the processor is not running (nothing
 * listens on ...)", or "<what>: <transport error>" when what is not NULL). */
enum ops_status ops_call(void *zmq_context, const char *endpoint, const char *who,
                         const struct control_request *req, int timeout_ms, const char *what,
                         struct control_reply *reply, char err[ERROR_MAX]);

/* Why a gold table is not rolled back (the reason the CLI gives). */
void ops_rollback_gold_reason(const char *domain, const char *table, char err[ERROR_MAX]);

/* Roll domain.silver.table back to snapshot (a new snapshot). OPS_OK with
 * *out = {"domain","table","to_snapshot","snapshot_id","changed","message"}
 * (caller owns). A gold table of that name: OPS_CONFLICT with the gold
 * reason; no such silver table: OPS_NOT_FOUND. */
enum ops_status ops_rollback(void *zmq_context, const struct config *cfg, const char *domain,
                             const char *table, int64_t snapshot, json_t **out,
                             char err[ERROR_MAX]);

/* Replay (control.h "replay": req->domain/name/from/to as given), after a
 * ping that tells a stopped processor apart from a long replay.
 * OPS_OK with *out = {"files_merged","message"}. */
enum ops_status ops_replay(void *zmq_context, const struct config *cfg,
                           const struct control_request *req, json_t **out, char err[ERROR_MAX]);

/* Expire (dry_run: say what would go) silver and bronze through the
 * processor, then gold through the transformer when it runs. OPS_OK with
 * *out = {"dry_run","silver":{"message","bronze_files","snapshots"},
 *         "gold":{"message","snapshots","lineage_rows"} | null,
 *         "notes":[...]} (notes: e.g. that the transformer is not running). */
enum ops_status ops_expire(void *zmq_context, const struct config *cfg, const char *domain,
                           const char *table, bool dry_run, json_t **out, char err[ERROR_MAX]);

/* Compact (date "" = every closed day). OPS_OK with
 * *out = {"message","input_files","files_written"}. */
enum ops_status ops_compact(void *zmq_context, const struct config *cfg, const char *domain,
                            const char *table, const char *date, json_t **out,
                            char err[ERROR_MAX]);

#endif

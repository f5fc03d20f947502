/* control_protocol.h - the request/reply messages of the control sockets (ZeroMQ
 * REQ -> REP) through which the `lakehouse` command (and later the broker's
 * HTTP API) asks a process to act. Defined here, beside event.h and
 * protocol.h, so that every message on the wire is defined in common/.
 *
 * Request: one frame, msgpack map, exactly these keys (strict decoding):
 *   v (uint, CONTROL_VERSION) cmd (str, control_cmd_name) domain (str) name (str)
 *   from (str) to (str)
 * Reply: one frame, msgpack map, exactly these keys:
 *   v (uint) status (str "ok" | "error") kind (str: "" when ok, else
 *   error_kind_name, error.h) message (str) count (int) id (int)
 * Commands:
 *   processor   (config.processor_control_endpoint)
 *     "ping"    -> ok
 *     "replay"  domain ("" = every domain), name = table ("" = every table of
 *               the domain), from/to = "YYYY-MM-DD" inclusive bronze date range
 *               ("" = unbounded). With no range, the tables are rebuilt from
 *               bronze (dropped and re-merged in one transaction per table);
 *               with a range, the files of those dates are merged again.
 *               Replies when done: count = files merged, message = summary.
 *     "reconcile" -> scan bronze against the ledger now; count = files merged.
 *     "drop"    domain, name = endpoint: delete the data of an endpoint that
 *               is no longer in the catalog (callers delete it there first):
 *               bronze/<d>/<n>, the silver table with its _ledger,
 *               _quarantine and _snapshots rows (one transaction), and
 *               rejected/<d>/<n>. count = bronze files deleted, id = silver
 *               rows dropped. Kind "busy" means ingest still holds a spool
 *               file of the endpoint: retry shortly; "not_found": there was
 *               no data to drop.
 *               Sending it again after any failure finishes the job.
 *     "rollback" domain, name = silver table, from = snapshot id (digits):
 *               make the table equal its state at that snapshot, as a new
 *               snapshot (operation "rollback", so it can be undone by
 *               another rollback). Replies id = the new snapshot, count =
 *               rows inserted + updated + deleted. Errors: unknown table or
 *               snapshot of another table.
 *     "expire"  domain ("" = every domain), name = table ("" = every table):
 *               delete what is older than the retention horizons
 *               (common/retention_policy.h): bronze files of earlier dt= dates
 *               (merged or quarantined ones only; their ledger rows stay),
 *               silver _snapshots rows and ended _h_<table> versions; never
 *               a table's newest snapshot or current rows. count = bronze
 *               files, id = snapshots, message = totals and per-table detail.
 *     "expire_dry_run" the same scope: nothing is deleted, the reply says
 *               what "expire" would delete.
 *     "compact" domain/name as for expire, from = "YYYY-MM-DD" (one date) or
 *               "" (every closed day, before today UTC): rewrite runs of small
 *               merged bronze files of a table and day into one file each
 *               (processor/compaction.c); count = input files, id = files
 *               written. The inputs are deleted after a grace period.
 *     "export"  domain ("" = every domain), name = table ("" = every table;
 *               needs a domain): export now, as Iceberg tables, the silver
 *               tables whose newest snapshot is not exported yet
 *               (processor/export.c). count = tables exported, id = silver
 *               tables in scope (0 with a table that is not silver: the error
 *               then says "no silver table"). Kind "invalid" when
 *               iceberg_export is off.
 *   transformer (config.transformer_control_endpoint)
 *     "ping"    -> ok
 *     "run"     domain, name = job: start a run now; replies at once with
 *               id = execution id (status RUNNING in the catalog) and runs it
 *               right after replying. Errors: unknown job.
 *     "reload"  -> re-read jobs from the catalog; count = jobs.
 *     "expire"  domain ("" = every domain), name = gold table ("" = every
 *               table): delete gold _snapshots rows committed before the
 *               gold retention horizon (retention_policy.h, RETENTION_GOLD) and their
 *               _lineage rows; never a table's newest snapshot, never table
 *               rows or catalog executions. id = snapshots, count = lineage
 *               rows, message "gold: expired N snapshots (M lineage rows)"
 *               plus per-table detail (transformer/gold_retention.c).
 *     "expire_dry_run" the same scope: nothing is deleted, the message says
 *               "gold: would expire ...".
 *     "drop"    domain, name = gold table no job writes (delete the job and
 *               reload first): the table, its _h_ history, its _snapshots
 *               and _lineage rows, in one transaction; count = snapshots.
 *     "export"  the same scope as the processor's, for gold tables
 *               (transformer/gold_export.c): count = tables exported, id =
 *               gold tables in scope (0 is no error: the table may be silver). */
#ifndef LAKEHOUSE_CONTROL_PROTOCOL_H
#define LAKEHOUSE_CONTROL_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "names.h"

#define CONTROL_VERSION 2

/* The commands; control_cmd_name gives each its name on the wire. */
enum control_cmd {
    CONTROL_PING,
    CONTROL_REPLAY,
    CONTROL_RECONCILE,
    CONTROL_DROP,
    CONTROL_ROLLBACK,
    CONTROL_EXPIRE,
    CONTROL_EXPIRE_DRY_RUN,
    CONTROL_COMPACT,
    CONTROL_EXPORT,
    CONTROL_RUN,
    CONTROL_RELOAD,
    CONTROL_CMD_COUNT
};

const char *control_cmd_name(enum control_cmd cmd);
/* -1 for a name that is no command. */
int control_cmd_from_name(const char *name, enum control_cmd *out);

struct control_request {
    enum control_cmd cmd;
    char domain[NAMES_MAX];
    char name[NAMES_MAX];
    char from[16];
    char to[16];
};

struct control_reply {
    bool ok;
    enum error_kind kind; /* ERROR_NONE when ok; a failure without one is sent as internal */
    char message[ERROR_MAX];
    int64_t count;
    int64_t id;
};

/* Encode into a malloc'd buffer (caller frees). Strict decode: -1 with err. */
int control_request_encode(const struct control_request *req, char **out, size_t *len,
                           char err[ERROR_MAX]);
int control_request_decode(const void *buf, size_t len, struct control_request *out,
                           char err[ERROR_MAX]);
int control_reply_encode(const struct control_reply *reply, char **out, size_t *len,
                         char err[ERROR_MAX]);
int control_reply_decode(const void *buf, size_t len, struct control_reply *out,
                         char err[ERROR_MAX]);

/* Client helper: connect a REQ socket to endpoint, send req, wait up to
 * timeout_ms for the reply. -1 with err on timeout ("no reply from
 * ipc://... within 5000 ms: is the process running?") or transport error.
 * timeout_ms <= 0 waits forever. A reply with status "error" is not a
 * transport error: 0 is returned and reply->ok is false. A new socket is
 * used for each call and closed before returning (LINGER 0), so a call that
 * timed out leaves nothing behind. Decoding (both sides) checks domain and
 * name to be "" or valid object names, from to be "", YYYY-MM-DD or digits
 * (a snapshot id), and to to be "" or YYYY-MM-DD. */
int control_call(void *zmq_context, const char *endpoint, const struct control_request *req,
                 int timeout_ms, struct control_reply *reply, char err[ERROR_MAX]);

#endif

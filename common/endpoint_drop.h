/* endpoint_drop.h - deleting an endpoint's data: the client side of the
 * processor's "drop" control command (control_protocol.h), shared by the HTTP API
 * (DELETE /endpoints/{d}/{n}?delete_data=true) and `lakehouse endpoint
 * delete D/N --data`.
 *
 * The caller first deletes the endpoint from the catalog (and publishes
 * schema.changed), so that ingest refuses new batches for it; then it calls
 * endpoint_drop_data, which asks the processor (the only writer of silver)
 * to delete bronze, silver and rejected data (see processor/drop.c for the
 * order that keeps a crash from leaving a half-deleted table behind).
 * A request that failed half-way is finished by sending it again: the
 * endpoint is then already gone from the catalog, the data is not. */
#ifndef LAKEHOUSE_ENDPOINT_DROP_H
#define LAKEHOUSE_ENDPOINT_DROP_H

#include <stdbool.h>
#include "config.h"
#include "control_protocol.h"
#include "error.h"

/* Wait after deleting the endpoint from the catalog before dropping: longer
 * than ingest's own catalog check period (2 s, ingest/main.c), so that even
 * with the schema.changed event lost ingest has stopped accepting batches
 * and its last spool shows up in the processor's "busy" check. */
#define ENDPOINT_DROP_SETTLE_MS 2500
/* How long "busy" answers (ingest still holds a spool) are retried. */
#define ENDPOINT_DROP_BUSY_MS 30000

/* Ask the processor at cfg->processor_control_endpoint to drop the data of
 * domain/name. just_deleted: the catalog entry was deleted a moment ago
 * (wait ENDPOINT_DROP_SETTLE_MS first). Busy answers are retried for
 * ENDPOINT_DROP_BUSY_MS. Returns 0 with *reply filled (reply->ok false: the
 * processor refused; message says why, kind ERROR_BUSY if it still was busy,
 * ERROR_NOT_FOUND when there was nothing to drop), or -1 with err when the
 * processor does not answer. */
int endpoint_drop_data(void *zmq_context, const struct config *cfg, const char *domain,
                       const char *name, bool just_deleted, struct control_reply *reply,
                       char err[ERROR_MAX]);

/* Did the processor refuse because ingest still holds a spool? */
bool endpoint_drop_busy(const struct control_reply *reply);
/* Did it refuse because there was no data at all? */
bool endpoint_drop_nothing(const struct control_reply *reply);

#endif

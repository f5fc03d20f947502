/* endpoint_drop.c - the client side of the processor's "drop" command (see
 * endpoint_drop.h). */
#include "endpoint_drop.h"
#include "timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* One drop (rename, one transaction, removals) is quick; the processor may
 * first finish the file it is merging. */
#define ENDPOINT_DROP_CALL_MS 60000
#define ENDPOINT_DROP_RETRY_MS 200

bool endpoint_drop_busy(const struct control_reply *reply)
{
    return !reply->ok && reply->kind == ERROR_BUSY;
}

bool endpoint_drop_nothing(const struct control_reply *reply)
{
    return !reply->ok && reply->kind == ERROR_NOT_FOUND;
}

int endpoint_drop_data(void *zmq_context, const struct config *cfg, const char *domain,
                       const char *name, bool just_deleted, struct control_reply *reply,
                       char err[ERROR_MAX])
{
    struct control_request req;
    memset(&req, 0, sizeof req);
    req.cmd = CONTROL_DROP;
    snprintf(req.domain, sizeof req.domain, "%s", domain);
    snprintf(req.name, sizeof req.name, "%s", name);
    if (just_deleted)
        timeutil_sleep_ms(ENDPOINT_DROP_SETTLE_MS);
    int64_t deadline = timeutil_monotonic_ms() + ENDPOINT_DROP_BUSY_MS;
    for (;;) {
        memset(reply, 0, sizeof *reply);
        if (control_call(zmq_context, cfg->processor_control_endpoint, &req,
                         ENDPOINT_DROP_CALL_MS, reply, err) < 0)
            return error_prefix(err, "processor");
        if (!endpoint_drop_busy(reply) || timeutil_monotonic_ms() >= deadline)
            return 0;
        timeutil_sleep_ms(ENDPOINT_DROP_RETRY_MS);
    }
}

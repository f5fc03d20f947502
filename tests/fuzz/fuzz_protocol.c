/* fuzz_protocol.c - libFuzzer target: every msgpack message decoder that sees
 * bytes from a peer: the producer request header and reply
 * (protocol.h), control requests and replies (control_protocol.h) and the event
 * envelope (event.h). A decoded request is encoded and decoded again and must
 * come back equal. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control_protocol.h"
#include "event.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ERROR_MAX];
    struct protocol_request req;
    if (protocol_request_decode(data, size, &req, err) == 0) {
        char *buf = NULL;
        size_t len = 0;
        struct protocol_request again;
        if (protocol_request_encode(&req, &buf, &len, err) < 0 ||
            protocol_request_decode(buf, len, &again, err) < 0 ||
            strcmp(req.domain, again.domain) != 0 || strcmp(req.id, again.id) != 0 ||
            req.format != again.format || req.strict != again.strict)
            __builtin_trap();
        free(buf);
    }
    struct protocol_reply reply;
    memset(&reply, 0, sizeof reply);
    if (protocol_reply_decode(data, size, &reply, err) == 0 &&
        reply.error_count > PROTOCOL_ERRORS_MAX)
        __builtin_trap();
    protocol_reply_clear(&reply);
    struct control_request creq;
    (void)control_request_decode(data, size, &creq, err);
    struct control_reply crep;
    (void)control_reply_decode(data, size, &crep, err);
    struct event ev;
    if (event_decode(data, size, &ev, err) == 0) {
        char *buf = NULL;
        size_t len = 0;
        if (event_encode(&ev, &buf, &len, err) < 0)
            __builtin_trap();
        free(buf);
    }
    return 0;
}

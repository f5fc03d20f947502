/* fuzz_http_route.c - libFuzzer target: HTTP path routing
 * (broker/http/http_route.c from the broker library, linked against the stub
 * handlers below, which take precedence over the archive's): any method and
 * path either reaches a handler with checked names in req->params, or is
 * answered 400/404/405. Input: method, a NUL byte, the path. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

static void fuzz_stub(struct http_request *req, struct http_reply *reply)
{
    for (int i = 0; i < HTTP_PARAMS_MAX; i++)
        if (req->params[i][0] != '\0' && strspn(req->params[i], "0123456789") != strlen(req->params[i]) &&
            !names_is_valid_object(req->params[i]))
            __builtin_trap();
    reply->status = 200;
}
#define STUB(name) void name(struct http_request *req, struct http_reply *reply) { fuzz_stub(req, reply); }
/* One STUB(handler) per handler named in the route table, generated from
 * http_route.c by tests/fuzz/stubs.sh so new routes need no edit here. */
#include "fuzz_http_stubs.h"

void http_reply_error(struct http_reply *reply, unsigned status, const char *fmt, ...)
{
    (void)fmt;
    reply->status = status;
}

void http_iceberg_error(struct http_reply *reply, unsigned code, const char *type,
                        const char *fmt, ...)
{
    (void)type;
    (void)fmt;
    reply->status = code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *s = malloc(size + 2);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    s[size + 1] = '\0';
    const char *method = s;
    const char *path = s + strlen(s) + (strlen(s) < size ? 1 : 0);
    struct http_request req;
    struct http_reply reply;
    memset(&req, 0, sizeof req);
    memset(&reply, 0, sizeof reply);
    req.method = method;
    req.path = path;
    req.body = "";
    http_route_dispatch(&req, &reply);
    if (reply.status != 200 && reply.status != 400 && reply.status != 404 && reply.status != 405)
        __builtin_trap();
    free(s);
    return 0;
}

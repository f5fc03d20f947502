/* raw_send.c - test tool: send hand-made frames to ingest (no checks on the
 * client side, unlike `lakehouse send` and lakehouse-ingest-tool, which
 * refuse bad names before sending). Built by the tests that use it
 * (tests/integration/bad_input.sh) against the build's common library.
 *
 *   raw_send ENDPOINT FRAME_FILE...   a REQ socket sends the files as the
 *                                     frames after the empty delimiter
 * Prints the reply as one line: status=<s> accepted=<n> refused=<n>
 * message=<m>, or "no reply" after 5 s (exit 1). */
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "fsutil.h"
#include "protocol.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: raw_send ENDPOINT FRAME_FILE...\n");
        return 2;
    }
    void *zctx = zmq_ctx_new();
    void *s = zmq_socket(zctx, ZMQ_REQ);
    int linger = 0, timeout = 5000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_connect(s, argv[1]) != 0) {
        fprintf(stderr, "connect %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 2;
    }
    char err[ERROR_MAX];
    for (int i = 2; i < argc; i++) {
        char *buf = NULL;
        size_t len = 0;
        if (fsutil_read_file(argv[i], (size_t)1 << 30, &buf, &len, err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }
        zmq_send(s, buf, len, i + 1 < argc ? ZMQ_SNDMORE : 0);
        free(buf);
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int rc = 1;
    if (zmq_msg_recv(&msg, s, 0) < 0) {
        printf("no reply\n");
    } else {
        struct protocol_reply reply = {0};
        if (protocol_reply_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &reply, err) < 0) {
            printf("bad reply: %s\n", err);
        } else {
            printf("status=%s accepted=%llu refused=%llu message=%s\n",
                   protocol_status_name(reply.status), (unsigned long long)reply.accepted,
                   (unsigned long long)reply.refused, reply.message);
            for (size_t k = 0; k < reply.error_count; k++)
                printf("error index=%llu reason=%s\n", (unsigned long long)reply.errors[k].index,
                       reply.errors[k].reason);
            rc = 0;
        }
        protocol_reply_clear(&reply);
    }
    zmq_msg_close(&msg);
    zmq_close(s);
    zmq_ctx_term(zctx);
    return rc;
}

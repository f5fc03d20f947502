/* zap.c - the ZAP handler of ingest: which CURVE clients may connect (see zap.h).
 *
 * A request is: version "1.0", request id, domain, address, routing id,
 * mechanism, then the credentials (for CURVE: the client's 32-byte public
 * key). The reply: version, request id, status code ("200" or "400"),
 * status text, user id, metadata. Every refusal is logged with the client's
 * address and key, so an operator sees who knocked. */
#include "zap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES_MAX 8
#define ZAP_FRAME_MAX 256
/* Requests answered per loop turn: a flood of connections must not starve producers. */
#define ZAP_PER_TURN 100

struct zap {
    const struct config *cfg;
    void *sock;
};

int zap_open(struct ingest_ctx *ctx, char err[ERROR_MAX])
{
    int on = curve_server_setup(ctx->router, ctx->cfg, err);
    if (on <= 0)
        return on;
    struct zap *zap = calloc(1, sizeof *zap);
    if (zap == NULL)
        return error_set(err, "out of memory");
    zap->cfg = ctx->cfg;
    zap->sock = zmq_socket(ctx->zmq, ZMQ_REP);
    int linger = 0;
    if (zap->sock == NULL || zmq_setsockopt(zap->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_bind(zap->sock, ZAP_ENDPOINT) < 0) {
        error_set(err, "ZAP handler %s: %s", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        zap_close(&zap);
        return -1;
    }
    /* Say it at start: a wrong directory is found now, not at the first producer. */
    unsigned char none[CURVE_KEY_BYTES] = {0};
    if (curve_key_authorized(ctx->cfg, none, err) < 0) {
        zap_close(&zap);
        return -1;
    }
    log_info("curve_enabled endpoint=%s authorized_keys_dir=%s", ctx->cfg->ingest_endpoint,
             ctx->cfg->curve_authorized_keys_dir);
    ctx->zap = zap;
    return 0;
}

void *zap_socket(const struct zap *zap)
{
    return zap == NULL ? NULL : zap->sock;
}

static void zap_reply(struct zap *zap, const char *request_id, size_t request_id_len,
                      const char *status, const char *text)
{
    /* REP sockets fail a send only on a broken state; nothing to do but log. */
    if (zmq_send(zap->sock, "1.0", 3, ZMQ_SNDMORE) < 0 ||
        zmq_send(zap->sock, request_id, request_id_len, ZMQ_SNDMORE) < 0 ||
        zmq_send(zap->sock, status, strlen(status), ZMQ_SNDMORE) < 0 ||
        zmq_send(zap->sock, text, strlen(text), ZMQ_SNDMORE) < 0 ||
        zmq_send(zap->sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(zap->sock, "", 0, 0) < 0)
        log_warn("zap_reply_failed reason=\"%s\"", zmq_strerror(zmq_errno()));
}

/* One request; false when none is pending. */
static bool zap_handle_one(struct zap *zap)
{
    char frames[ZAP_FRAMES_MAX][ZAP_FRAME_MAX];
    size_t sizes[ZAP_FRAMES_MAX] = {0};
    int count = 0;
    bool more = true;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, zap->sock, count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&msg);
            if (count == 0)
                return false;
            log_warn("zap_receive_failed reason=\"%s\"", zmq_strerror(zmq_errno()));
            return false;
        }
        more = zmq_msg_more(&msg);
        if (count < ZAP_FRAMES_MAX) {
            size_t n = zmq_msg_size(&msg);
            sizes[count] = n < ZAP_FRAME_MAX ? n : ZAP_FRAME_MAX;
            memcpy(frames[count], zmq_msg_data(&msg), sizes[count]);
        }
        count++;
        zmq_msg_close(&msg);
    }
    /* 0 version, 1 request id, 2 domain, 3 address, 4 routing id, 5 mechanism, 6 key */
    char address[ZAP_FRAME_MAX + 1] = "?";
    if (count > 3) {
        memcpy(address, frames[3], sizes[3]);
        address[sizes[3]] = '\0';
    }
    const char *reason = NULL;
    if (count < 6 || sizes[0] != 3 || memcmp(frames[0], "1.0", 3) != 0)
        reason = "malformed ZAP request";
    else if (sizes[5] != 5 || memcmp(frames[5], "CURVE", 5) != 0)
        reason = "not a CURVE handshake";
    else if (count != 7 || sizes[6] != CURVE_KEY_BYTES)
        reason = "no CURVE public key";
    else if (sizes[2] != strlen(CURVE_ZAP_DOMAIN) ||
             memcmp(frames[2], CURVE_ZAP_DOMAIN, sizes[2]) != 0)
        reason = "unknown ZAP domain";
    char key[CURVE_KEY_TEXT] = "?";
    if (reason == NULL) {
        zmq_z85_encode(key, (const uint8_t *)frames[6], CURVE_KEY_BYTES);
        char err[ERROR_MAX];
        int ok = curve_key_authorized(zap->cfg, (const unsigned char *)frames[6], err);
        if (ok < 0)
            log_error("zap_error reason=\"%s\"", err);
        else if (ok == 0 && err[0] != '\0')
            log_warn("zap_key_file_skipped reason=\"%s\"", err);
        if (ok == 1) {
            log_debug("producer_authorized address=%s key=%s", address, key);
            zap_reply(zap, frames[1], sizes[1], "200", "OK");
            return true;
        }
        reason = "public key not in curve_authorized_keys_dir";
    }
    log_warn("producer_refused address=%s key=%s reason=\"%s\"", address, key, reason);
    zap_reply(zap, count > 1 ? frames[1] : "", count > 1 ? sizes[1] : 0, "400", reason);
    return true;
}

void zap_handle(struct zap *zap)
{
    for (int i = 0; zap != NULL && i < ZAP_PER_TURN; i++) {
        if (!zap_handle_one(zap))
            return;
    }
}

void zap_close(struct zap **zap)
{
    if (*zap == NULL)
        return;
    if ((*zap)->sock != NULL)
        zmq_close((*zap)->sock);
    free(*zap);
    *zap = NULL;
}

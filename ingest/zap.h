/* zap.h - CURVE on ingest's producer socket and its ZAP handler.
 *
 * Owns the ZAP (RFC 27) REP socket bound at inproc://zeromq.zap.01 in
 * ingest's ZeroMQ context: libzmq asks it about every CURVE handshake on the
 * ROUTER, and it accepts only client keys found in curve_authorized_keys_dir
 * (curve.h). It is polled in ingest's main loop. */
#ifndef INGEST_ZAP_H
#define INGEST_ZAP_H

#include "ingest.h"

struct zap;

/* Apply CURVE to ctx->router (before it binds) when configured, and then
 * bind the ZAP handler (ctx->zap; stays NULL when CURVE is off). -1 with err
 * on a configuration or socket error. */
int zap_open(struct ingest_ctx *ctx, char err[ERROR_MAX]);

/* The socket to poll for ZMQ_POLLIN (NULL when CURVE is off). */
void *zap_socket(const struct zap *zap);

/* Answer every pending ZAP request without waiting. */
void zap_handle(struct zap *zap);

/* Close the handler; *zap becomes NULL. */
void zap_close(struct zap **zap);

#endif

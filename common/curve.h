/* curve.h - optional ZeroMQ CURVE on the producer endpoint (ingest_endpoint).
 *
 * Owns: reading key files, applying CURVE options to the ingest ROUTER
 * (server) and to producer sockets (clients: `lakehouse send`, the broker's
 * HTTP ingest), the authorized-keys lookup the ZAP handler uses, and the
 * client-side handshake monitor that turns a refused handshake into a clear
 * error instead of a silent timeout.
 *
 * Key files hold one Z85 key (40 characters, as zmq_curve_keypair writes
 * it; `lakehouse keygen` makes them): blank lines and lines starting with
 * '#' are skipped, the first other line is the key. A relative key path is
 * relative to data_dir. Settings (config.h):
 *   curve_server_secret_key_file   ingest's secret key: turns CURVE on
 *   curve_authorized_keys_dir      *.pub files of the clients allowed in
 *                                  (required with the server key)
 *   curve_client_secret_key_file   a producer's secret key (its public key
 *                                  is derived from it)
 *   curve_server_public_key_file   ingest's public key: turns CURVE on for
 *                                  a producer (needs the client key too)
 * CURVE applies only when ingest_endpoint is tcp://; on ipc:// (protected by
 * the file permissions of run/) the keys are ignored with a warning, on the
 * server and on every client alike, so one configuration file serves all. */
#ifndef LAKEHOUSE_CURVE_H
#define LAKEHOUSE_CURVE_H

#include <stdbool.h>

#include "config.h"
#include "error.h"

#define CURVE_KEY_TEXT 41   /* 40 Z85 characters and the NUL */
#define CURVE_KEY_BYTES 32  /* the binary key */
#define CURVE_ZAP_DOMAIN "lakehouse"

/* Read the Z85 key of the file at path (relative: to data_dir). 0, or -1
 * with err naming the file ("not a 40-character Z85 key", missing...). */
int curve_key_read(const struct config *cfg, const char *path, char key[CURVE_KEY_TEXT],
                   char err[ERROR_MAX]);

/* True for tcp:// endpoints (the only ones CURVE applies to). */
bool curve_endpoint_is_tcp(const char *endpoint);

/* True for a tcp:// endpoint on 127.0.0.0/8, ::1 or localhost. */
bool curve_endpoint_is_loopback(const char *endpoint);

/* Make sock (the ingest ROUTER, before bind) a CURVE server when the server
 * key is set and the endpoint is tcp://. Returns 1 (CURVE on: a ZAP handler
 * must be bound before the socket binds), 0 (off; warnings logged: keys on a
 * non-tcp endpoint, a non-loopback tcp:// endpoint without CURVE) or -1 with
 * err (unreadable key, server key without curve_authorized_keys_dir, libzmq
 * without CURVE). */
int curve_server_setup(void *sock, const struct config *cfg, char err[ERROR_MAX]);

/* Make sock (a producer socket, before connect) a CURVE client when the
 * server public key is set and the endpoint is tcp://. Returns 1 (on), 0
 * (off) or -1 with err (unreadable key, client key missing). Logs nothing. */
int curve_client_setup(void *sock, const struct config *cfg, char err[ERROR_MAX]);

/* Whether the binary client key is one of the *.pub files in dir (read on
 * every call, so adding or removing a file takes effect for the next
 * connection without a restart). Returns 1 yes, 0 no, -1 with err (dir
 * unreadable). Unreadable or malformed files are skipped (reason in err
 * when the answer is 0, for the log). */
int curve_key_authorized(const struct config *cfg, const unsigned char key[CURVE_KEY_BYTES],
                         char err[ERROR_MAX]);

/* Client side: watch sock's handshakes (call before connect). Returns a
 * monitor socket to pass to curve_monitor_failed, or NULL with err. */
void *curve_monitor_open(void *zctx, void *sock, char err[ERROR_MAX]);

/* Read pending monitor events without waiting: true when a handshake
 * failed, with err saying why (refused key, mechanism mismatch...). */
bool curve_monitor_failed(void *monitor, char err[ERROR_MAX]);

/* Close the monitor socket; *monitor becomes NULL. */
void curve_monitor_close(void *sock, void **monitor);

#endif

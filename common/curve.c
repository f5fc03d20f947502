/* curve.c - CURVE keys and socket options for the producer endpoint (see curve.h). */
#include "curve.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "fsutil.h"
#include "log.h"

#define CURVE_KEY_FILE_MAX 4096
/* A bound on the directory walk per handshake. */
#define CURVE_AUTHORIZED_MAX 10000

static int curve_path(const struct config *cfg, const char *path, char out[PATH_MAX],
                      char err[ERROR_MAX])
{
    if (path[0] == '/')
        return fsutil_path(out, PATH_MAX, err, "%s", path);
    return fsutil_path(out, PATH_MAX, err, "%s/%s", cfg->data_dir, path);
}

/* The key of a file's text: the first line that is neither blank nor a
 * '#' comment, without surrounding blanks. */
static int curve_key_parse(const char *text, char key[CURVE_KEY_TEXT])
{
    const char *p = text;
    while (*p != '\0') {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\r')) {
            s++;
            len--;
        }
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
            len--;
        if (len > 0 && *s != '#') {
            uint8_t bin[CURVE_KEY_BYTES];
            if (len != CURVE_KEY_TEXT - 1)
                return -1;
            memcpy(key, s, len);
            key[len] = '\0';
            return zmq_z85_decode(bin, key) == NULL ? -1 : 0;
        }
        p = end ? end + 1 : p + strlen(p);
    }
    return -1;
}

int curve_key_read(const struct config *cfg, const char *path, char key[CURVE_KEY_TEXT],
                   char err[ERROR_MAX])
{
    char full[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    if (curve_path(cfg, path, full, err) < 0)
        return -1;
    if (fsutil_read_file(full, CURVE_KEY_FILE_MAX, &text, &len, err) < 0)
        return error_prefix(err, "CURVE key");
    int rc = curve_key_parse(text, key);
    free(text);
    if (rc < 0)
        return error_set(err, "CURVE key %.400s: not a 40-character Z85 key (make one with "
                              "`lakehouse keygen DIR`)",
                         full);
    return 0;
}

bool curve_endpoint_is_tcp(const char *endpoint)
{
    return strncmp(endpoint, "tcp://", 6) == 0;
}

bool curve_endpoint_is_loopback(const char *endpoint)
{
    if (!curve_endpoint_is_tcp(endpoint))
        return false;
    const char *host = endpoint + 6;
    /* tcp://source;host:port binds nothing different: look at the host. */
    const char *semi = strchr(host, ';');
    if (semi != NULL)
        host = semi + 1;
    return strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost:", 10) == 0 ||
           strncmp(host, "[::1]:", 6) == 0 || strncmp(host, "lo:", 3) == 0;
}

int curve_server_setup(void *sock, const struct config *cfg, char err[ERROR_MAX])
{
    bool keyed = cfg->curve_server_secret_key_file[0] != '\0';
    if (!curve_endpoint_is_tcp(cfg->ingest_endpoint)) {
        if (keyed || cfg->curve_authorized_keys_dir[0] != '\0')
            log_warn("curve_ignored endpoint=%s reason=\"CURVE applies to tcp:// endpoints "
                     "only; an ipc:// socket is protected by the permissions of run/\"",
                     cfg->ingest_endpoint);
        return 0;
    }
    if (!keyed) {
        if (cfg->curve_authorized_keys_dir[0] != '\0')
            return error_set(err, "curve_authorized_keys_dir is set but "
                                  "curve_server_secret_key_file is not");
        if (!curve_endpoint_is_loopback(cfg->ingest_endpoint))
            log_warn("ingest_unprotected endpoint=%s reason=\"a non-loopback tcp:// endpoint "
                     "without CURVE: anyone who can reach it can send records, in clear "
                     "text; set curve_server_secret_key_file and curve_authorized_keys_dir\"",
                     cfg->ingest_endpoint);
        return 0;
    }
    if (cfg->curve_authorized_keys_dir[0] == '\0')
        return error_set(err, "curve_server_secret_key_file needs curve_authorized_keys_dir "
                              "(the directory of the *.pub keys of the clients allowed in)");
    if (!zmq_has("curve"))
        return error_set(err, "this libzmq was built without CURVE support");
    char secret[CURVE_KEY_TEXT];
    if (curve_key_read(cfg, cfg->curve_server_secret_key_file, secret, err) < 0)
        return -1;
    int on = 1;
    int rc = 0;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof on) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, CURVE_KEY_TEXT - 1) < 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, CURVE_ZAP_DOMAIN, strlen(CURVE_ZAP_DOMAIN)) < 0)
        rc = error_set(err, "CURVE server options: %s", zmq_strerror(zmq_errno()));
    memset(secret, 0, sizeof secret);
    return rc < 0 ? -1 : 1;
}

int curve_client_setup(void *sock, const struct config *cfg, char err[ERROR_MAX])
{
    if (!curve_endpoint_is_tcp(cfg->ingest_endpoint) ||
        cfg->curve_server_public_key_file[0] == '\0')
        return 0;
    if (cfg->curve_client_secret_key_file[0] == '\0')
        return error_set(err, "curve_server_public_key_file needs curve_client_secret_key_file "
                              "(this client's secret key; make one with `lakehouse keygen DIR "
                              "--client NAME`)");
    if (!zmq_has("curve"))
        return error_set(err, "this libzmq was built without CURVE support");
    char server[CURVE_KEY_TEXT], secret[CURVE_KEY_TEXT], public[CURVE_KEY_TEXT];
    if (curve_key_read(cfg, cfg->curve_server_public_key_file, server, err) < 0 ||
        curve_key_read(cfg, cfg->curve_client_secret_key_file, secret, err) < 0)
        return -1;
    int rc = 0;
    if (zmq_curve_public(public, secret) < 0)
        rc = error_set(err, "CURVE key %.400s: cannot derive its public key: %s",
                       cfg->curve_client_secret_key_file, zmq_strerror(zmq_errno()));
    else if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, CURVE_KEY_TEXT - 1) < 0 ||
             zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public, CURVE_KEY_TEXT - 1) < 0 ||
             zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, CURVE_KEY_TEXT - 1) < 0)
        rc = error_set(err, "CURVE client options: %s", zmq_strerror(zmq_errno()));
    memset(secret, 0, sizeof secret);
    return rc < 0 ? -1 : 1;
}

int curve_key_authorized(const struct config *cfg, const unsigned char key[CURVE_KEY_BYTES],
                         char err[ERROR_MAX])
{
    char dir_path[PATH_MAX];
    if (curve_path(cfg, cfg->curve_authorized_keys_dir, dir_path, err) < 0)
        return -1;
    DIR *dir = opendir(dir_path);
    if (dir == NULL)
        return error_set(err, "curve_authorized_keys_dir %.400s: %s", dir_path, strerror(errno));
    err[0] = '\0';
    int found = 0;
    int seen = 0;
    struct dirent *ent;
    while (found == 0 && seen < CURVE_AUTHORIZED_MAX && (ent = readdir(dir)) != NULL) {
        size_t n = strlen(ent->d_name);
        if (ent->d_name[0] == '.' || n < 5 || strcmp(ent->d_name + n - 4, ".pub") != 0)
            continue;
        seen++;
        char file[PATH_MAX], text[CURVE_KEY_TEXT], ferr[ERROR_MAX];
        uint8_t bin[CURVE_KEY_BYTES];
        if (fsutil_path(file, sizeof file, ferr, "%s/%s", dir_path, ent->d_name) < 0 ||
            curve_key_read(cfg, file, text, ferr) < 0) {
            snprintf(err, ERROR_MAX, "%s", ferr);
            continue;
        }
        if (zmq_z85_decode(bin, text) != NULL && memcmp(bin, key, CURVE_KEY_BYTES) == 0)
            found = 1;
    }
    closedir(dir);
    return found;
}

/* ------------------------------------------------------------ monitor */

void *curve_monitor_open(void *zctx, void *sock, char err[ERROR_MAX])
{
    char addr[64];
    snprintf(addr, sizeof addr, "inproc://lakehouse-monitor-%p", sock);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(sock, addr, events) < 0) {
        error_set(err, "zmq_socket_monitor: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    void *mon = zmq_socket(zctx, ZMQ_PAIR);
    if (mon == NULL || zmq_connect(mon, addr) < 0) {
        error_set(err, "monitor socket: %s", zmq_strerror(zmq_errno()));
        if (mon != NULL)
            zmq_close(mon);
        zmq_socket_monitor(sock, NULL, 0);
        return NULL;
    }
    return mon;
}

bool curve_monitor_failed(void *monitor, char err[ERROR_MAX])
{
    if (monitor == NULL)
        return false;
    for (;;) {
        zmq_msg_t head, addr;
        zmq_msg_init(&head);
        if (zmq_msg_recv(&head, monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&head);
            return false;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&head) >= 6) {
            memcpy(&event, zmq_msg_data(&head), 2);
            memcpy(&value, (const char *)zmq_msg_data(&head) + 2, 4);
        }
        bool more = zmq_msg_more(&head);
        zmq_msg_close(&head);
        zmq_msg_init(&addr);
        if (more)
            zmq_msg_recv(&addr, monitor, 0);
        zmq_msg_close(&addr);
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            error_set(err, "ingest refused this client's CURVE key (ZAP status %u): its public "
                           "key must be a *.pub file in ingest's curve_authorized_keys_dir",
                      (unsigned)value);
            return true;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            error_set(err, "handshake with ingest failed (ZeroMQ protocol error 0x%x): %s",
                      (unsigned)value,
                      value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
                          ? "security mechanism mismatch: one side uses CURVE and the other "
                            "does not (set curve_server_public_key_file and "
                            "curve_client_secret_key_file, or remove them)"
                          : "wrong curve_server_public_key_file, or a client key ingest does "
                            "not accept");
            return true;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            error_set(err, "handshake with ingest failed (errno %u: %s): wrong "
                           "curve_server_public_key_file, or CURVE on only one side",
                      (unsigned)value, zmq_strerror((int)value));
            return true;
        }
    }
}

void curve_monitor_close(void *sock, void **monitor)
{
    if (*monitor == NULL)
        return;
    zmq_socket_monitor(sock, NULL, 0);
    zmq_close(*monitor);
    *monitor = NULL;
}

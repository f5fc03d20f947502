/* proxy.c - the event bus: every publisher connects a PUB socket to the
 * broker's XSUB, every subscriber a SUB socket to its XPUB; events flow
 * XSUB -> XPUB and subscriptions XPUB -> XSUB (so publishers only send what
 * somebody wants). Not zmq_proxy(): the broker's loop also supervises.
 * Events are hints (rule 3): at a full queue XPUB drops, it never blocks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "broker.h"
#include "log.h"

/* Messages moved per call before returning to the loop. */
#define PROXY_BATCH 1000
/* Queue bounds per peer (messages). */
#define PROXY_HWM 10000

struct proxy {
    void *xsub;
    void *xpub;
    uint64_t forwarded;
};

static int proxy_socket(void *zmq_context, int type, const char *endpoint, void **out,
                        char err[ERROR_MAX])
{
    void *sock = zmq_socket(zmq_context, type);
    if (sock == NULL)
        return error_set(err, "socket for %s: %s", endpoint, zmq_strerror(zmq_errno()));
    int linger = 0;
    int hwm = PROXY_HWM;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0) {
        error_set(err, "socket options for %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return -1;
    }
    if (zmq_bind(sock, endpoint) != 0) {
        error_set(err, "bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return -1;
    }
    *out = sock;
    return 0;
}

int proxy_open(void *zmq_context, const struct config *cfg, struct proxy **out,
               char err[ERROR_MAX])
{
    struct proxy *p = calloc(1, sizeof *p);
    if (p == NULL)
        return error_set(err, "out of memory");
    if (proxy_socket(zmq_context, ZMQ_XSUB, cfg->events_pub_endpoint, &p->xsub, err) != 0 ||
        proxy_socket(zmq_context, ZMQ_XPUB, cfg->events_sub_endpoint, &p->xpub, err) != 0) {
        proxy_close(&p);
        return -1;
    }
    *out = p;
    return 0;
}

void proxy_close(struct proxy **proxy)
{
    if (proxy == NULL || *proxy == NULL)
        return;
    if ((*proxy)->xsub != NULL)
        zmq_close((*proxy)->xsub);
    if ((*proxy)->xpub != NULL)
        zmq_close((*proxy)->xpub);
    free(*proxy);
    *proxy = NULL;
}

void proxy_poll_items(struct proxy *proxy, zmq_pollitem_t items[2])
{
    memset(items, 0, 2 * sizeof *items);
    items[0].socket = proxy->xsub;
    items[0].events = ZMQ_POLLIN;
    items[1].socket = proxy->xpub;
    items[1].events = ZMQ_POLLIN;
}

/* Move up to PROXY_BATCH whole multipart messages from `from` to `to`.
 * Returns the number moved, or -1 with err. */
static int proxy_move(void *from, void *to, const char *what, char err[ERROR_MAX])
{
    int moved = 0;
    while (moved < PROXY_BATCH) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, from, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&msg);
            if (e == EAGAIN || e == EINTR)
                return moved;
            return error_set(err, "%s receive: %s", what, zmq_strerror(e));
        }
        /* Frames of one message: forward them all, SNDMORE on all but the
         * last. ZeroMQ delivers multipart messages atomically, so the rest
         * is already here. */
        for (;;) {
            int more = zmq_msg_more(&msg);
            if (zmq_msg_send(&msg, to, more ? ZMQ_SNDMORE : 0) < 0) {
                int e = zmq_errno();
                zmq_msg_close(&msg);
                return error_set(err, "%s send: %s", what, zmq_strerror(e));
            }
            if (!more)
                break;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, from, 0) < 0) {
                int e = zmq_errno();
                zmq_msg_close(&msg);
                return error_set(err, "%s receive: %s", what, zmq_strerror(e));
            }
        }
        moved++;
    }
    return moved;
}

int proxy_forward_events(struct proxy *proxy, char err[ERROR_MAX])
{
    int n = proxy_move(proxy->xsub, proxy->xpub, "events", err);
    if (n < 0)
        return -1;
    proxy->forwarded += (uint64_t)n;
    return 0;
}

int proxy_forward_subscriptions(struct proxy *proxy, char err[ERROR_MAX])
{
    return proxy_move(proxy->xpub, proxy->xsub, "subscriptions", err) < 0 ? -1 : 0;
}

int proxy_publish(struct proxy *proxy, const struct event *ev, char err[ERROR_MAX])
{
    return event_publish(proxy->xpub, ev, err);
}

uint64_t proxy_forwarded(const struct proxy *proxy)
{
    return proxy->forwarded;
}

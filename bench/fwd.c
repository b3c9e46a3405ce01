/* fwd: a bare libzmq CurveZMQ ROUTER forwarder, the transport limit that
 * the relay is measured against (issue 7, figure 2). Built for the bench
 * only; not part of renraku: no decoding, no verification, no disk, no
 * state but a table of connections.
 *
 * The same message pattern as the relay (submit -> a small ack back to the
 * sender, the message on to its recipient, the recipient's confirm -> a
 * receipt to the sender), in this wire format, one ZeroMQ frame each, from
 * DEALER clients (bench/loadgen --proto fwd):
 *   hello   'H' 's' (a sender), or 'H' 'r' k(2, big-endian): the k-th
 *           recipient (a later hello for k replaces the earlier)  -> 'W'
 *   submit  'S' seq(8) to(2, big-endian) body      -> 'A' seq(8) to the
 *           sender; the same message, its first byte set to 'D' and `to`
 *           to the sender's connection number, to the `to`-th recipient
 *           (dropped, still acked, when there is none)
 *   confirm 'C' seq(8) from(2)                     -> 'R' seq(8) to `from`
 * Messages are forwarded without a copy (zmq_msg_send of what arrived).
 *
 *   fwd --key RELAY.key --bind EP --endpoint-file F
 * CURVE server with the relay's transport key (so loadgen's --relay-pub
 * fits); no ZAP handler, so any client key is accepted. Runs until SIGTERM
 * or SIGINT, then prints one JSON line of counters on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "identity.h"
#include "rk_util.h"
#include "unlock.h"

#define FWD_MAX_CONNS 4096
#define FWD_RID_MAX 256

typedef struct {
    uint8_t rid[FWD_RID_MAX]; /* ZeroMQ routing id of the connection */
    size_t rid_len;
} fwd_conn_t;

static volatile sig_atomic_t s_stop;
static fwd_conn_t s_conns[FWD_MAX_CONNS];
static int s_n_conns;
static int s_rcpt[FWD_MAX_CONNS]; /* connection number of each recipient */
static int s_n_rcpt;              /* recipients 0 .. s_n_rcpt - 1 known */
static long s_forwarded, s_dropped, s_receipts, s_bad;

static void
s_on_signal(int sig) {
    (void)sig;
    s_stop = 1;
}

static int
s_send_to(void *router, int conn, zmq_msg_t *body) {
    fwd_conn_t *c = &s_conns[conn];
    if (zmq_send(router, c->rid, c->rid_len, ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_msg_send(body, router, 0) < 0 ? -1 : 0;
}

static int
s_send_small(void *router, int conn, char type, const uint8_t seq[8]) {
    zmq_msg_t m;
    uint8_t *p;
    if (zmq_msg_init_size(&m, 9) != 0)
        return -1;
    p = zmq_msg_data(&m);
    p[0] = (uint8_t)type;
    memcpy(p + 1, seq, 8);
    if (s_send_to(router, conn, &m) != 0) {
        zmq_msg_close(&m);
        return -1;
    }
    return 0;
}

/* The connection number of routing id rid, registered on first sight. */
static int
s_conn_of(const uint8_t *rid, size_t len) {
    for (int i = s_n_conns - 1; i >= 0; i--)
        if (s_conns[i].rid_len == len && !memcmp(s_conns[i].rid, rid, len))
            return i;
    if (s_n_conns == FWD_MAX_CONNS || len > FWD_RID_MAX)
        return -1;
    memcpy(s_conns[s_n_conns].rid, rid, len);
    s_conns[s_n_conns].rid_len = len;
    return s_n_conns++;
}

/* Handles one message body from connection `from` (ownership of msg stays
 * with the caller unless it was sent on). */
static void
s_handle(void *router, int from, zmq_msg_t *msg) {
    uint8_t *p = zmq_msg_data(msg);
    size_t len = zmq_msg_size(msg);
    zmq_msg_t w;
    if (len < 1) {
        s_bad++;
        return;
    }
    switch (p[0]) {
    case 'H':
        if (len >= 4 && p[1] == 'r') {
            int k = p[2] << 8 | p[3];
            if (k < FWD_MAX_CONNS) {
                for (int i = s_n_rcpt; i < k; i++)
                    s_rcpt[i] = -1;
                s_rcpt[k] = from;
                if (k >= s_n_rcpt)
                    s_n_rcpt = k + 1;
            }
        }
        if (zmq_msg_init_size(&w, 1) == 0) {
            *(uint8_t *)zmq_msg_data(&w) = 'W';
            if (s_send_to(router, from, &w) != 0)
                zmq_msg_close(&w);
        }
        return;
    case 'S': {
        int to;
        if (len < 11) {
            s_bad++;
            return;
        }
        to = p[9] << 8 | p[10];
        if (s_send_small(router, from, 'A', p + 1) != 0)
            s_bad++;
        if (to >= s_n_rcpt || s_rcpt[to] < 0) {
            s_dropped++;
            return;
        }
        p[0] = 'D';
        p[9] = (uint8_t)(from >> 8);
        p[10] = (uint8_t)from;
        if (s_send_to(router, s_rcpt[to], msg) == 0)
            s_forwarded++;
        else
            s_dropped++;
        return;
    }
    case 'C': {
        int back;
        if (len < 11) {
            s_bad++;
            return;
        }
        back = p[9] << 8 | p[10];
        if (back >= s_n_conns || s_send_small(router, back, 'R', p + 1) != 0)
            s_bad++;
        else
            s_receipts++;
        return;
    }
    default:
        s_bad++;
    }
}

int
main(int argc, char **argv) {
    static const struct option lo[] = {{"key", 1, 0, 'k'},
                                       {"bind", 1, 0, 'b'},
                                       {"endpoint-file", 1, 0, 'e'},
                                       {0, 0, 0, 0}};
    const char *key = NULL, *bind = NULL, *ep_file = NULL;
    identity_t *me = NULL;
    void *ctx = NULL, *router = NULL;
    char err[512], ep[300], line[310];
    size_t ep_len = sizeof ep;
    int c, zero = 0, one = 1, status = 1;
    struct sigaction sa;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'k':
            key = optarg;
            break;
        case 'b':
            bind = optarg;
            break;
        case 'e':
            ep_file = optarg;
            break;
        default:
            return 2;
        }
    }
    if (!key || !bind) {
        fprintf(stderr, "usage: fwd --key RELAY.key --bind EP "
                        "[--endpoint-file F]\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    if (unlock_identity(key, NULL, &me, NULL, 0, err, sizeof err) != RK_OK) {
        fprintf(stderr, "fwd: %s\n", err);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    ctx = zmq_ctx_new();
    router = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
    /* No send limit: deliveries are bounded by the bench's message count,
     * and a limit would drop or stall what the relay would queue. */
    if (!router ||
        zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, identity_transport_sk(me),
                       32) != 0 ||
        zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(router, ZMQ_SNDHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(router, ZMQ_RCVHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(router, bind) != 0) {
        fprintf(stderr, "fwd: cannot bind %s: %s\n", bind, zmq_strerror(errno));
        goto cleanup;
    }
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &ep_len);
    snprintf(line, sizeof line, "%s\n", ep);
    if (ep_file &&
        rk_write_file(ep_file, line, strlen(line), 0644, 0) != RK_OK) {
        fprintf(stderr, "fwd: cannot write %s\n", ep_file);
        goto cleanup;
    }
    while (!s_stop) {
        zmq_msg_t rid, body;
        int more, from;
        size_t more_len = sizeof more;
        zmq_msg_init(&rid);
        if (zmq_msg_recv(&rid, router, 0) < 0) {
            zmq_msg_close(&rid);
            if (errno == EINTR)
                continue;
            fprintf(stderr, "fwd: recv: %s\n", zmq_strerror(errno));
            goto cleanup;
        }
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, router, 0) < 0) {
            zmq_msg_close(&rid);
            zmq_msg_close(&body);
            continue;
        }
        from = s_conn_of(zmq_msg_data(&rid), zmq_msg_size(&rid));
        if (from >= 0)
            s_handle(router, from, &body);
        else
            s_bad++;
        /* Discard any further frames of a multipart message. */
        while (zmq_getsockopt(router, ZMQ_RCVMORE, &more, &more_len) == 0 &&
               more) {
            zmq_msg_t x;
            zmq_msg_init(&x);
            zmq_msg_recv(&x, router, 0);
            zmq_msg_close(&x);
            s_bad++;
        }
        zmq_msg_close(&rid);
        zmq_msg_close(&body);
    }
    status = 0;
cleanup:
    printf("{\"connections\":%d,\"recipients\":%d,\"forwarded\":%ld,"
           "\"dropped\":%ld,\"receipts\":%ld,\"bad\":%ld}\n",
           s_n_conns, s_n_rcpt, s_forwarded, s_dropped, s_receipts, s_bad);
    fflush(stdout);
    if (router)
        zmq_close(router);
    if (ctx)
        zmq_ctx_term(ctx);
    identity_destroy(&me);
    return status;
}

/* relay_zap: ZAP request/reply over a REP socket. A request is the frames
 * version, request id, domain, address, routing id, mechanism, then the
 * mechanism's credentials (CURVE: the client's 32-byte public key); the
 * reply is version, request id, status code, status text, user id,
 * metadata. */
#include "relay_zap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "envelope.h"
#include "rk_log.h"
#include "rk_util.h"

/* Debian's libzmq headers hide this draft option; the library accepts it.
 * With it, a CURVE handshake fails when no ZAP handler answers, instead of
 * admitting every key. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define S_MAX_FRAMES 8

struct relay_zap {
    void *sock;
    uint64_t admitted;
    uint64_t refused;
};

relay_zap_t *
relay_zap_new(void *ctx) {
    relay_zap_t *self = calloc(1, sizeof *self);
    int linger = 0;
    if (!self)
        return NULL;
    self->sock = zmq_socket(ctx, ZMQ_REP);
    if (!self->sock) {
        free(self);
        return NULL;
    }
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(self->sock, "inproc://zeromq.zap.01") != 0) {
        int e = errno;
        zmq_close(self->sock);
        free(self);
        errno = e;
        return NULL;
    }
    return self;
}

void
relay_zap_destroy(relay_zap_t **self_p) {
    if (!self_p || !*self_p)
        return;
    zmq_close((*self_p)->sock);
    free(*self_p);
    *self_p = NULL;
}

void *
relay_zap_socket(relay_zap_t *self) {
    return self->sock;
}

uint64_t
relay_zap_admitted(const relay_zap_t *self) {
    return self->admitted;
}
uint64_t
relay_zap_refused(const relay_zap_t *self) {
    return self->refused;
}

static void
s_send(void *sock, const void *data, size_t len, int more) {
    zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0);
}

static void
s_reply(void *sock, zmq_msg_t *req_id, const char *code, const char *text,
        const char *user) {
    s_send(sock, "1.0", 3, 1);
    s_send(sock, zmq_msg_data(req_id), zmq_msg_size(req_id), 1);
    s_send(sock, code, strlen(code), 1);
    s_send(sock, text, strlen(text), 1);
    s_send(sock, user, strlen(user), 1);
    s_send(sock, "", 0, 0);
}

/* Copies a frame into a NUL-terminated string (truncated to cap - 1). */
static void
s_str(char *out, size_t cap, zmq_msg_t *m) {
    size_t n = zmq_msg_size(m);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, zmq_msg_data(m), n);
    out[n] = 0;
}

int
relay_zap_handle(relay_zap_t *self, const roster_t *roster, uint64_t now_ms) {
    int answered = 0;
    for (;;) {
        zmq_msg_t f[S_MAX_FRAMES];
        int n = 0, more = 1;
        char version[8], domain[64], address[64], mech[16];
        const roster_node_t *node = NULL;

        while (more) {
            zmq_msg_t scratch;
            zmq_msg_t *m = n < S_MAX_FRAMES ? &f[n] : &scratch;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, self->sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(m);
                return answered; /* nothing (more) pending */
            }
            more = zmq_msg_more(m);
            if (m == &scratch)
                zmq_msg_close(m);
            else
                n++;
        }
        /* libzmq is the only client of this socket; still, check shape. */
        if (n < 6) {
            for (int i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
            log_error("event=zap_malformed frames=%d", n);
            continue;
        }
        s_str(version, sizeof version, &f[0]);
        s_str(domain, sizeof domain, &f[2]);
        s_str(address, sizeof address, &f[3]);
        s_str(mech, sizeof mech, &f[5]);
        if (strcmp(version, "1.0") != 0) {
            s_reply(self->sock, &f[1], "500", "unsupported ZAP version", "");
        } else if (strcmp(mech, "CURVE") != 0 || n != 7 ||
                   zmq_msg_size(&f[6]) != 32) {
            self->refused++;
            log_warn("event=handshake_refused peer=%s mechanism=%s "
                     "reason=\"only CURVE is accepted\"",
                     address, mech);
            s_reply(self->sock, &f[1], "400", "CURVE required", "");
        } else if (strcmp(domain, RELAY_ZAP_DOMAIN) != 0) {
            self->refused++;
            s_reply(self->sock, &f[1], "400", "wrong ZAP domain", "");
        } else if (!roster || !(node = roster_by_transport_key(
                                    roster, zmq_msg_data(&f[6]), now_ms))) {
            uint8_t kid[ENVELOPE_KEY_ID_LEN];
            char hex[2 * ENVELOPE_KEY_ID_LEN + 1];
            envelope_key_id(kid, zmq_msg_data(&f[6]));
            rk_hex(hex, kid, sizeof kid);
            self->refused++;
            log_warn("event=handshake_refused peer=%s transport_key_id=%s "
                     "reason=\"key of no usable roster node\"",
                     address, hex);
            s_reply(self->sock, &f[1], "400",
                    "transport key not in the roster or not active", "");
        } else {
            self->admitted++;
            log_info("event=handshake_ok peer=%s node=%s", address, node->id);
            s_reply(self->sock, &f[1], "200", "OK", node->id);
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
        answered++;
    }
}

int
relay_zap_harden_server(void *s, const uint8_t sk[32], int handshake_ms,
                        int heartbeat_ms, int64_t max_msg_size) {
    int one = 1, ttl = heartbeat_ms * 3;
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sk, 32) != 0 ||
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, RELAY_ZAP_DOMAIN,
                       strlen(RELAY_ZAP_DOMAIN)) != 0 ||
        zmq_setsockopt(s, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0 ||
        zmq_setsockopt(s, ZMQ_HANDSHAKE_IVL, &handshake_ms,
                       sizeof handshake_ms) != 0 ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &heartbeat_ms,
                       sizeof heartbeat_ms) != 0 ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &ttl, sizeof ttl) != 0 ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &ttl, sizeof ttl) != 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_msg_size, sizeof max_msg_size) !=
            0)
        return -1;
    return 0;
}

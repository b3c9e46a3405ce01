/* relay_zap: the relay's ZAP handler (ZeroMQ RFC 27). It admits a CURVE
 * client only when its long-term public key is the transport key of a node
 * that the current roster lists as usable, and names the connection with
 * that node id (User-Id). It runs on the relay's own thread, polled with
 * the ROUTER socket, so it always sees the roster the relay routes by. */
#ifndef RELAY_ZAP_H
#define RELAY_ZAP_H

#include <stdint.h>

#include "rk_error.h"
#include "roster.h"

#define RELAY_ZAP_DOMAIN "renraku"

typedef struct relay_zap relay_zap_t;

/* Binds the handler to inproc://zeromq.zap.01 in ctx. Must happen before
 * any CURVE server socket of ctx binds. NULL on failure (errno set). */
relay_zap_t *relay_zap_new(void *ctx);

/* Closes the socket; accepts NULL and sets *self_p to NULL. */
void relay_zap_destroy(relay_zap_t **self_p);

/* The ZAP socket, for zmq_poll. */
void *relay_zap_socket(relay_zap_t *self);

/* Answers every pending request (non-blocking) against roster at now_ms.
 * Returns how many requests were answered; refusals are logged with the
 * peer address and key id. */
int relay_zap_handle(relay_zap_t *self, const roster_t *roster,
                     uint64_t now_ms);

/* Counters since start. */
uint64_t relay_zap_admitted(const relay_zap_t *self);
uint64_t relay_zap_refused(const relay_zap_t *self);

/* Makes a CURVE-hardened socket option set on a server socket: CURVE
 * server with secret key sk (32 bytes), ZAP domain enforced, handshake
 * interval, heartbeats, maximum message size. Returns 0 or -1 (errno). */
int relay_zap_harden_server(void *socket, const uint8_t sk[32],
                            int handshake_ms, int heartbeat_ms,
                            int64_t max_msg_size);

#endif

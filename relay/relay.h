/* relay: renraku-relay's server. One CurveZMQ ROUTER endpoint, a ZAP
 * handler admitting only roster nodes, signature checks on a worker pool,
 * a durable log that is also the queue (stored only after fdatasync),
 * at-least-once delivery under per-recipient credit, receipts to senders,
 * expiry, checkpoints and proofs. main.c parses flags and calls this. */
#ifndef RELAY_H
#define RELAY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "note.h"
#include "rk_error.h"

typedef struct {
    const char *bind;              /* e.g. "tcp://127.0.0.1:7400" */
    const char *data_dir;          /* log/ and checkpoints/ live here */
    const char *roster_path;       /* signed roster file, re-read on SIGHUP */
    const char *control;           /* ipc:// endpoint for `renraku-relay stats`,
                                      NULL: DATA_DIR/control.sock */
    const char *origin;            /* checkpoint origin; NULL: renraku/<id> */
    const identity_t *identity;    /* the relay's keys (borrowed) */
    note_verifier_t coordinator;   /* pinned roster signer */
    uint64_t window_ms;            /* replay window */
    uint64_t skew_ms;              /* allowed clock skew */
    size_t workers;                /* verification threads incl. the main one */
    int64_t max_msg_size;          /* ZMQ_MAXMSGSIZE */
    int handshake_ms;              /* ZMQ_HANDSHAKE_IVL */
    int heartbeat_ms;              /* ZMQ_HEARTBEAT_IVL */
    uint64_t checkpoint_ms;        /* sign a checkpoint this often if grown */
    size_t batch_max;              /* frames per group commit */
    uint64_t segment_bytes;        /* log segment size */
    uint64_t snapshot_records;     /* state snapshot after this many new
                                      records (DIR/state) ... */
    uint64_t snapshot_ms;          /* ... and at most this often */
    uint64_t max_held_node;        /* bytes of undelivered envelopes held for
                                      one sender before it gets busy */
    uint64_t max_held;             /* ... and for all of them */
    double rate_limit;             /* submits a second per node; 0: none */
    uint32_t rate_burst;           /* submits a node may send at once */
    uint64_t redeliver_ms;         /* a delivery not confirmed this long
                                      after it was sent goes out again */
    int verify_at_recipients;      /* skip the Ed25519 check at the relay and
                                      leave it to the recipients (docs/
                                      OPERATIONS.md: the trade-off) */
    uint64_t test_refuse_receipts; /* TESTS ONLY: the first this many
                                      receipts fail to send, as when the
                                      node's queue is full */
    int test_tamper_deliveries;    /* TESTS ONLY: flip the last byte of every
                                      delivered envelope, to play a
                                      compromised relay */
} relay_config_t;

typedef struct relay relay_t;

/* Fills a config with the documented defaults (bind, window, ...). */
void relay_config_defaults(relay_config_t *cfg);

/* Opens the log (recovering it, refusing to start when it disagrees with
 * its last checkpoint), loads and verifies the roster, rebuilds pending
 * deliveries, binds the ZAP handler and then the endpoint. err names the
 * problem. Returns the relay or NULL. */
relay_t *relay_new(const relay_config_t *cfg, char *err, size_t errlen);

/* Serves until *stop becomes non-zero; re-reads the roster when *reload
 * is set (and clears it). Returns 0, or a negative rk_err_t when the
 * relay cannot go on (it says why in its log). */
int relay_run(relay_t *self, volatile sig_atomic_t *stop,
              volatile sig_atomic_t *reload) RK_WUR;

/* Signs a final checkpoint, closes the log and sockets; accepts NULL and
 * sets *self_p to NULL. */
void relay_destroy(relay_t **self_p);

/* The endpoint actually bound (resolves tcp://127.0.0.1:0), borrowed. */
const char *relay_endpoint(const relay_t *self);

#endif

/* daemon: renrakud, a partner node. Keeps an outbox (a notice is on disk
 * before the CLI hears "queued", and is resubmitted until the relay
 * answers stored or rejected), an inbox (an envelope is verified, opened
 * and on disk before it is confirmed to the relay), a quarantine for what
 * fails verification, and per-recipient delivery and acknowledgement
 * state. Talks to one or more independent relays over CurveZMQ (it
 * submits to each, and drops duplicate deliveries by msg id) and to the
 * local CLI over an ipc
 * socket in its 0700 state folder. main.c parses flags and calls this. */
#ifndef DAEMON_H
#define DAEMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "note.h"
#include "rk_error.h"

#define DAEMON_MAX_RELAYS 8 /* independent relays a node may use */

typedef struct {
    const identity_t *identity;            /* the node's keys (borrowed) */
    note_verifier_t coordinator;           /* pinned roster signer */
    const char *roster_path;               /* signed roster to start from */
    const char *state_dir;                 /* outbox, inbox, ... (0700) */
    const char *relays[DAEMON_MAX_RELAYS]; /* "tcp://HOST:PORT", or
                                    "ID=tcp://HOST:PORT" naming the relay's
                                    roster id (needed when the roster lists
                                    several relays) */
    size_t n_relays;
    const char *hook;        /* shell command run per new notice with
                                its JSON on stdin, or NULL */
    int auto_ack_comm_check; /* answer comm checks "received" */
    const char *auto_answer; /* simulated participant: answer drill
                                injects and comm checks with this
                                status ("acknowledged", ...), or NULL */
    int answer_delay_ms;     /* ... this long after they arrive */
    int hook_timeout_ms;     /* a hook running longer is killed, with
                                what it started (0: 30 s) */
    uint32_t credit;         /* deliveries in flight (0: default) */
    int heartbeat_ms;
    int resubmit_ms;        /* resubmit unanswered outbox this often */
    int checkpoint_idle_ms; /* checkpoint after this long without
                               deliveries (0: 1000) */
} daemon_config_t;

typedef struct daemon daemon_t;

void daemon_config_defaults(daemon_config_t *cfg);

/* Opens the state, installs the roster (the stored one when newer),
 * binds the control socket and connects to the relay. err names the
 * problem. Returns the daemon or NULL. */
daemon_t *daemon_new(const daemon_config_t *cfg, char *err, size_t errlen);

/* Serves until *stop is set. Returns 0 or a negative rk_err_t. */
int daemon_run(daemon_t *self, volatile sig_atomic_t *stop) RK_WUR;

/* Closes sockets and files; accepts NULL and sets *self_p to NULL. */
void daemon_destroy(daemon_t **self_p);

/* The control endpoint for a state folder: ipc://DIR/control.sock. */
void daemon_control_endpoint(const char *state_dir, char *out, size_t cap);

#endif

/* ctl: the client side of renrakud's control socket (ipc://DIR/control.sock,
 * ZeroMQ REQ/REP, one JSON object each way), for renraku and renraku-drill.
 * docs/NODE.md lists the requests. */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <stddef.h>

#include "rk_error.h"

/* Sends req (borrowed) to the daemon of state folder dir and waits up to
 * timeout_ms for the answer. *reply is a new reference, the caller's.
 * Returns 0; RK_ERR_NOT_FOUND at once when no daemon runs: no control
 * socket in dir, or nothing listens on it (a killed daemon's file);
 * RK_ERR_IO (no answer in time, or the socket failed, or it may not be
 * looked at or connected to: another user's); RK_ERR_MALFORMED
 * (the answer is not JSON); err says which. An answer with "ok": false
 * is still 0: the caller reads its "error". */
int ctl_call(const char *dir, const json_t *req, int timeout_ms, json_t **reply,
             char *err, size_t errlen) RK_WUR;

/* As ctl_call, and *taken (not NULL) tells the two failures apart that
 * matter for a request with an effect, such as a send:
 *   0  the request never reached the daemon: no control socket, nothing
 *      listening on it, or no connection to it was made within timeout_ms
 *      (a daemon that is stopped or gone), or the socket failed before
 *      the request went out; the daemon cannot have acted on it;
 *   1  the request went out on a connection to the daemon. Then an
 *      RK_ERR_IO (no answer within timeout_ms) says nothing of whether the
 *      daemon acted on it: it may have, and only lost or not yet sent
 *      its answer.
 * Returns and err as ctl_call; err says which of the two it was. */
int ctl_call_taken(const char *dir, const json_t *req, int timeout_ms,
                   json_t **reply, int *taken, char *err, size_t errlen) RK_WUR;

#endif

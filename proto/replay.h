/* replay: freshness and replay checks for envelopes, shared by the relay and
 * the daemon. Holds a bounded seen-set of (sender, msg id) for one window;
 * knows nothing of sockets or files. Not thread-safe: one per thread. */
#ifndef REPLAY_H
#define REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "rk_buf.h"
#include "rk_error.h"

typedef struct replay replay_t;

/* A created time is fresh when now - window_ms <= created <= now + skew_ms.
 * The seen-set remembers each accepted (sender, msg id) until it could no
 * longer pass the freshness test, and holds at most max_entries. Returns
 * NULL on allocation failure or when a value is zero. */
replay_t *replay_new(uint64_t window_ms, uint64_t skew_ms, size_t max_entries);

/* Frees; accepts NULL and sets *self_p to NULL. */
void replay_destroy(replay_t **self_p);

/* Checks one envelope and, when accepted, remembers it. Returns 0,
 * RK_ERR_STALE (older than the window), RK_ERR_FUTURE (beyond the skew),
 * RK_ERR_REPLAY (seen before), RK_ERR_FULL (the set is at max_entries even
 * after forgetting what expired: refuse rather than forget early) or
 * RK_ERR_NOMEM. Nothing is remembered on refusal. */
int replay_check(replay_t *self, const char *sender, const uint8_t msg_id[16],
                 uint64_t created_ms, uint64_t now_ms) RK_WUR;

/* Remembers (sender, msg id) without the freshness test, e.g. when the
 * relay rebuilds the set from its log at start. Returns 0, RK_ERR_REPLAY,
 * RK_ERR_FULL or RK_ERR_NOMEM. */
int replay_remember(replay_t *self, const char *sender,
                    const uint8_t msg_id[16], uint64_t created_ms) RK_WUR;

/* Forgets (sender, msg id): an envelope that passed replay_check was not
 * stored after all (storage error), so the sender's retry must pass.
 * Returns 0 or RK_ERR_NOT_FOUND. */
int replay_forget(replay_t *self, const char *sender, const uint8_t msg_id[16]);

/* Appends every remembered entry to b (the relay's state snapshot). */
void replay_save(const replay_t *self, rk_wbuf_t *b);

/* Remembers every entry replay_save wrote, reading them from b. Returns 0,
 * RK_ERR_MALFORMED (b is not what replay_save wrote), RK_ERR_FULL or
 * RK_ERR_NOMEM. */
int replay_restore(replay_t *self, rk_rbuf_t *b) RK_WUR;

/* How many entries the set holds now. */
size_t replay_size(const replay_t *self);

#endif

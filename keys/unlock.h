/* unlock: what every program does to use a secret key file or pin a key:
 * read a passphrase (from a file, or on the terminal with echo off), load
 * the identity, and turn a "--coordinator"-style argument (a signed-note
 * verifier key, or a .pub file) into a note verifier. Messages go to the
 * caller's err buffer; nothing here exits or prints. */
#ifndef UNLOCK_H
#define UNLOCK_H

#include <stddef.h>

#include "identity.h"
#include "note.h"
#include "rk_error.h"

/* Reads the first line of path into sodium_malloc memory (free it with
 * sodium_free). NULL on failure, with err set. */
char *unlock_passphrase_file(const char *path, char *err, size_t errlen);

/* Asks on /dev/tty with echo off (twice when confirm). NULL when there is
 * no terminal, the answers differ or are empty, with err set. Free with
 * sodium_free. */
char *unlock_passphrase_prompt(const char *prompt, int confirm, char *err,
                               size_t errlen);

/* Loads a secret key file; when it is encrypted the passphrase comes from
 * pass_file (may be NULL: then the terminal is asked). *out is the
 * caller's. Returns 0 or an rk_err_t, with err naming file and reason.
 * A pass_file given for a key file that is not encrypted is not an error
 * (the key loads), but it is never passed over in silence: warn (warnlen
 * bytes) then gets a line naming both files, for the caller to show; it
 * is "" otherwise. warn may be NULL only when pass_file is. */
int unlock_identity(const char *path, const char *pass_file, identity_t **out,
                    char *warn, size_t warnlen, char *err,
                    size_t errlen) RK_WUR;

/* Refuses pub, read from the key file at path, as the pinned coordinator
 * key unless its role is coordinator: only the coordinator signs rosters
 * (docs/PROTOCOL.md 4.1), so a node's or a relay's key pinned instead
 * would have every roster refused later as not signed by it, which reads
 * as tampering rather than the slip it is. Returns 0, or RK_ERR_INVALID
 * with err starting with path, then the key's id and role and the role
 * needed. */
int unlock_coordinator_role(const char *path, const identity_public_t *pub,
                            char *err, size_t errlen) RK_WUR;

/* Pins a key from arg: a verifier key "name+hash+base64", or the path of a
 * .pub file (its id is the key name, its signing key the key) whose role
 * is coordinator. A verifier key has no role and is taken as it is.
 * Returns 0, RK_ERR_MALFORMED, RK_ERR_INVALID (a .pub of another role,
 * see unlock_coordinator_role) or the errors of identity_public_load,
 * with err set: it starts with arg, then the problem ("no such file, and
 * not a verifier key ...", "is a directory, not a public key file (.pub)",
 * "the key of 'relay.a', role relay; ...", ...). */
int unlock_verifier(const char *arg, note_verifier_t *out, char *err,
                    size_t errlen) RK_WUR;

#endif

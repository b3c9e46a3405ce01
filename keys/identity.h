/* identity: a node's three key pairs (Ed25519 signing, X25519 end-to-end
 * encryption, X25519 CurveZMQ transport), its key files, and public key
 * files. Secret keys live in sodium_malloc memory and are wiped on destroy.
 * Roster logic is roster.h's; envelopes are proto/envelope.h's. */
#ifndef IDENTITY_H
#define IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "rk_error.h"

typedef enum {
    IDENTITY_ROLE_PARTNER = 1,
    IDENTITY_ROLE_CONTROLLER = 2,
    IDENTITY_ROLE_AUDITOR = 3,
    IDENTITY_ROLE_RELAY = 4,
    IDENTITY_ROLE_COORDINATOR = 5, /* signs the roster; not a roster node */
} identity_role_t;

#define IDENTITY_KEYFILE_MAX 1024        /* bytes of a secret key file */
#define IDENTITY_PUBFILE_MAX (16 * 1024) /* bytes of a public key file */

typedef struct identity identity_t;

/* The public half of an identity, as a .pub file or a roster carries it. */
typedef struct {
    char id[64];
    identity_role_t role;
    uint8_t sign_pk[32];
    uint8_t enc_pk[32];
    uint8_t transport_pk[32];
} identity_public_t;

/* Role names: "partner", "controller", "auditor", "relay", "coordinator";
 * identity_role_from_name returns 0 for an unknown name. */
const char *identity_role_name(identity_role_t role);
identity_role_t identity_role_from_name(const char *name);

/* Makes fresh random key pairs for node id (envelope_node_id_valid syntax).
 * Returns the caller's identity, or NULL (bad id or role, no memory). */
identity_t *identity_generate(const char *id, identity_role_t role);

/* Wipes and frees; accepts NULL and sets *self_p to NULL. */
void identity_destroy(identity_t **self_p);

/* Writes DIR/<id>.key (secret, mode 0600, never overwritten) and
 * DIR/<id>.pub (public JSON, 0644). With a passphrase (borrowed, may be
 * NULL) the secrets are encrypted under an argon2id key. Returns 0,
 * RK_ERR_EXISTS (either file exists), RK_ERR_IO or RK_ERR_NOMEM. */
int identity_save(const identity_t *self, const char *dir,
                  const char *passphrase) RK_WUR;

/* Loads a secret key file. The file must be a regular file (not a link),
 * owned by us and not readable by group or others. passphrase may be NULL
 * for an unencrypted file. *out is the caller's. Returns 0,
 * RK_ERR_NOT_FOUND, RK_ERR_PERMISSION, RK_ERR_MALFORMED (not a key file),
 * RK_ERR_VERSION, RK_ERR_PASSPHRASE (needed, wrong, or the file is
 * corrupt: the integrity tag does not match), RK_ERR_IO or RK_ERR_NOMEM. */
int identity_load(const char *path, const char *passphrase,
                  identity_t **out) RK_WUR;

/* True (1) when the key file at path is encrypted, 0 when not, or a
 * negative rk_err_t when it cannot be read as a key file. */
int identity_file_encrypted(const char *path);

/* What the file at path holds, by its first bytes: a secret key file
 * (its magic), a public key file (JSON: '{' after any white space),
 * nothing but white space, or something else. It says what to try, not
 * that the file is valid: the loaders check the rest. Returns one of
 * these, or RK_ERR_NOT_FOUND or RK_ERR_IO when it cannot be read. */
enum {
    IDENTITY_FILE_SECRET = 1,
    IDENTITY_FILE_PUBLIC = 2,
    IDENTITY_FILE_EMPTY = 3,
    IDENTITY_FILE_OTHER = 4,
};
int identity_file_kind(const char *path);

/* Borrowed accessors; valid while the identity lives. */
const char *identity_id(const identity_t *self);
identity_role_t identity_role(const identity_t *self);
const identity_public_t *identity_public(const identity_t *self);
const uint8_t *identity_sign_sk(const identity_t *self);      /* 64 bytes */
const uint8_t *identity_enc_sk(const identity_t *self);       /* 32 bytes */
const uint8_t *identity_transport_sk(const identity_t *self); /* 32 bytes */

/* The public file's JSON text (malloc'd, caller's), or NULL. */
char *identity_public_to_json(const identity_public_t *pub);

/* Parses a public key file's JSON. On error err (errlen bytes) names the
 * field. Returns 0, RK_ERR_MALFORMED or RK_ERR_VERSION. */
int identity_public_from_json(const char *text, size_t len,
                              identity_public_t *out, char *err,
                              size_t errlen) RK_WUR;

/* Reads and parses a .pub file. Every error in err starts with path, then
 * the problem ("keys/jp.nisc.pub: sign: not 32 bytes of base64: ...",
 * "...: empty: ...", "...: a secret key file (.key), not a public key
 * file (.pub): ...", "...: no such file", "...: is a directory, not a
 * public key file (.pub)"). Returns as above, or RK_ERR_NOT_FOUND,
 * RK_ERR_TOO_LARGE, RK_ERR_IO. */
int identity_public_load(const char *path, identity_public_t *out, char *err,
                         size_t errlen) RK_WUR;

#endif

/* envelope: seal, decode, verify and open renraku envelopes (end-to-end).
 * The relay decodes and verifies without any secret; a recipient opens with
 * its X25519 key. No I/O and no roster look-ups here: callers pass keys.
 * docs/PROTOCOL.md describes every byte. */
#ifndef ENVELOPE_H
#define ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rk_error.h"

#define ENVELOPE_VERSION 1
#define ENVELOPE_MSG_ID_LEN 16
#define ENVELOPE_KEY_ID_LEN 8
#define ENVELOPE_SIG_LEN 64
#define ENVELOPE_NONCE_LEN 24
#define ENVELOPE_SEALED_KEY_LEN 80 /* crypto_box_SEALBYTES + 32 */
#define ENVELOPE_NODE_ID_MAX 63    /* bytes of a node id, without NUL */
#define ENVELOPE_DRILL_ID_MAX 63
#define ENVELOPE_MAX_RECIPIENTS 4096
#define ENVELOPE_MAX_PAYLOAD (256u * 1024u)
#define ENVELOPE_MAX_HEADER (160u * 1024u)
#define ENVELOPE_MAX_BYTES (1024u * 1024u)

/* The signature covers this context string (NUL-terminated, the NUL is
 * signed too) before the header; see PROTOCOL.md. */
#define ENVELOPE_SIG_CONTEXT "renraku/v1/envelope"

typedef enum {
    ENVELOPE_KIND_NOTICE = 1,
    ENVELOPE_KIND_ALERT = 2,
    ENVELOPE_KIND_ACK = 3,
    ENVELOPE_KIND_STATUS_UPDATE = 4,
    ENVELOPE_KIND_COMM_CHECK = 5,
    ENVELOPE_KIND_DRILL_INJECT = 6,
    ENVELOPE_KIND_DRILL_REPLY = 7,
} envelope_kind_t;

/* The decoded header, as the relay and recipients see it. Strings and
 * arrays are borrowed from the envelope_t that produced it. */
typedef struct {
    uint32_t version;
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN];
    const char *sender;
    uint8_t sender_key_id[ENVELOPE_KEY_ID_LEN];
    const char *const *recipients; /* n_recipients node ids */
    size_t n_recipients;
    envelope_kind_t kind;
    uint64_t created_ms;
    uint64_t expires_ms; /* 0: never */
    bool exercise;
    const char *drill_id; /* "" unless exercise */
    bool has_in_reply_to;
    uint8_t in_reply_to[ENVELOPE_MSG_ID_LEN];
    uint32_t payload_size;
} envelope_header_t;

/* What the sender provides to seal. All pointers are borrowed. */
typedef struct {
    const char *sender;         /* sender's node id */
    const uint8_t *sign_sk;     /* 64-byte Ed25519 secret key */
    const uint8_t *sign_key_id; /* 8-byte key id of its public key */
    envelope_kind_t kind;
    uint64_t created_ms;
    uint64_t expires_ms; /* 0: never */
    bool exercise;
    const char *drill_id;       /* required when exercise, else NULL */
    const uint8_t *in_reply_to; /* 16 bytes or NULL */
    const uint8_t *msg_id;      /* 16 bytes to reuse (a retry, a test
                                   vector) or NULL: a random one */
} envelope_params_t;

/* One recipient: its node id and its X25519 encryption public key. */
typedef struct {
    const char *id;
    const uint8_t *enc_pk; /* 32 bytes */
} envelope_recipient_t;

typedef struct envelope envelope_t;

/* The key id of any 32-byte public key: the first 8 bytes of its SHA-256. */
void envelope_key_id(uint8_t out[ENVELOPE_KEY_ID_LEN], const uint8_t pk[32]);

/* Seals payload for the n recipients and signs it as p->sender. The msg
 * id (p->msg_id, or a fresh random one) is written to msg_id (may be
 * NULL). *out is a malloc'd
 * serialized Envelope owned by the caller. Returns 0, RK_ERR_INVALID (bad
 * id, no or duplicate recipients, too many, drill fields inconsistent),
 * RK_ERR_TOO_LARGE (payload or result over the limits) or RK_ERR_NOMEM. */
int envelope_seal(const envelope_params_t *p,
                  const envelope_recipient_t *recipients, size_t n,
                  const uint8_t *payload, size_t payload_len, uint8_t **out,
                  size_t *out_len, uint8_t msg_id[ENVELOPE_MSG_ID_LEN]) RK_WUR;

/* Decodes untrusted bytes and checks their structure: sizes, lengths of
 * every fixed field, node id syntax, one wrapped key per recipient in the
 * header's order, no duplicate recipients, kind and drill fields coherent,
 * no unknown header fields. Verifies nothing cryptographic. On success
 * *out is the caller's (envelope_destroy). On failure *why (if not NULL)
 * gets a static sentence naming the problem. Returns 0, RK_ERR_TOO_LARGE,
 * RK_ERR_MALFORMED, RK_ERR_MISMATCH, RK_ERR_VERSION or RK_ERR_NOMEM. */
int envelope_decode(const uint8_t *buf, size_t len, envelope_t **out,
                    const char **why) RK_WUR;

/* Frees an envelope; accepts NULL and sets *self_p to NULL. */
void envelope_destroy(envelope_t **self_p);

/* The decoded header; borrowed, valid while the envelope lives. */
const envelope_header_t *envelope_header(const envelope_t *self);

/* The exact header bytes as received (borrowed). */
const uint8_t *envelope_header_bytes(const envelope_t *self, size_t *len);

/* Checks the sender's signature over the context, the exact header bytes,
 * the hash of nonce and ciphertext and the hash of the wrapped keys, with
 * the sender's Ed25519 public key (the caller looks it up by
 * header->sender and header->sender_key_id). Decrypts nothing. Returns 0,
 * RK_ERR_UNKNOWN_KEY when sign_pk's key id is not sender_key_id,
 * RK_ERR_BAD_SIGNATURE, or RK_ERR_NOMEM (only for a header or key list
 * over 2 KiB, whose signed input is malloc'd). */
int envelope_verify(const envelope_t *self, const uint8_t sign_pk[32]) RK_WUR;

/* Opens the envelope as recipient my_id with its X25519 key pair. Call
 * envelope_verify first: open authenticates content to the header, not to
 * the sender. *plain is malloc'd and owned by the caller. Returns 0,
 * RK_ERR_NOT_RECIPIENT, RK_ERR_UNKNOWN_KEY (sealed to another key of
 * ours), RK_ERR_DECRYPT, RK_ERR_MISMATCH (payload size differs from the
 * header) or RK_ERR_NOMEM. */
int envelope_open(const envelope_t *self, const char *my_id,
                  const uint8_t enc_pk[32], const uint8_t enc_sk[32],
                  uint8_t **plain, size_t *plain_len) RK_WUR;

/* True when s is a valid node id: 1..63 bytes of [a-z0-9._-], starting
 * with a letter or digit. Groups use the same syntax. */
bool envelope_node_id_valid(const char *s);

/* Lower-case name of a kind ("notice", "drill-inject", ...) or "unknown";
 * and the reverse (returns 0 when the name is unknown). */
const char *envelope_kind_name(envelope_kind_t kind);
envelope_kind_t envelope_kind_from_name(const char *name);

#endif

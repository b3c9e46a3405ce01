/* record: the relay's log records (renraku.LogRecord), the leaves of its
 * Merkle tree, as plain C structs with their encoding and strict decoding.
 * Records hold metadata and ciphertext, never plaintext. No I/O here: the
 * log's segment files, framing and hashing live elsewhere. */
#ifndef RECORD_H
#define RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "frame.h"
#include "rk_buf.h"
#include "rk_error.h"

#define RECORD_VERSION 1
/* Largest encoded record, checked before any parsing: an accepted
 * envelope of ENVELOPE_MAX_BYTES plus room for the record around it. */
#define RECORD_MAX_BYTES (ENVELOPE_MAX_BYTES + 4096u)

/* Which body a record carries. Values are the protobuf oneof numbers. */
typedef enum {
    RECORD_ACCEPTED = 10,
    RECORD_DELIVERED = 11,
    RECORD_EXPIRED = 12,
    RECORD_REFUSED = 13,
    RECORD_ROSTER = 14,
    RECORD_RELAY = 15,
    RECORD_UNDELIVERABLE = 16,
} record_type_t;

/* Bodies. Node ids follow envelope_node_id_valid; texts follow
 * frame_text_valid (1..512 bytes of UTF-8, one line). In a record you
 * build, every pointer is yours and only read; in one from record_decode,
 * every pointer lives as long as that record. */

typedef struct {             /* an envelope the relay accepted */
    const char *sender;      /* the authenticated node id */
    const uint8_t *envelope; /* exact bytes received, 1..ENVELOPE_MAX_BYTES */
    size_t envelope_len;
} record_accepted_t;

typedef struct {                         /* a recipient confirmed */
    uint64_t accepted_index;             /* < the record's own index */
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN]; /* the envelope's */
    const char *recipient;               /* node id */
} record_delivered_t;

typedef struct {                         /* expired before every confirm */
    uint64_t accepted_index;             /* < the record's own index */
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN]; /* the envelope's */
    const char *const *recipients;       /* those that never confirmed: */
    size_t n_recipients; /* 1..ENVELOPE_MAX_RECIPIENTS node ids */
} record_expired_t;

typedef struct {                         /* recipients left the roster */
    uint64_t accepted_index;             /* < the record's own index */
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN]; /* the envelope's */
    const char *const *recipients;       /* those that never confirmed: */
    size_t n_recipients;    /* 1..ENVELOPE_MAX_RECIPIENTS node ids */
    const char *reason;     /* "revoked" or "removed" */
    uint64_t roster_serial; /* the roster that revoked or removed them */
} record_undeliverable_t;

typedef struct {      /* a refused attempt */
    const char *peer; /* authenticated node id, or NULL */
    bool has_msg_id;  /* when the envelope decoded far enough */
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN];
    const char *claimed_sender; /* header's sender (node id), or NULL */
    frame_reject_t code;        /* 1..FRAME_REJECT_MAX */
    const char *reason;         /* text, as sent in the rejected frame */
    uint32_t size;              /* bytes refused */
    bool has_digest;            /* SHA-256 of the refused bytes ... */
    uint8_t digest[32];         /* ... when has_digest */
} record_refused_t;

typedef struct {                  /* a roster the relay installed */
    uint64_t serial;              /* its serial */
    const uint8_t *signed_roster; /* the signed note as installed, */
    size_t signed_roster_len;     /* non-empty */
} record_roster_t;

typedef struct {        /* relay life-cycle */
    const char *event;  /* token in node-id syntax: "started", "stopped" */
    const char *detail; /* text, or NULL */
} record_relay_t;

/* One record: type says which member of the union is meaningful. */
typedef struct {
    uint32_t version; /* RECORD_VERSION */
    uint64_t index;   /* position in the log, from 0 */
    uint64_t time_ms; /* relay clock when appended */
    record_type_t type;
    union {
        record_accepted_t accepted;
        record_delivered_t delivered;
        record_expired_t expired;
        record_refused_t refused;
        record_roster_t roster;
        record_relay_t relay;
        record_undeliverable_t undeliverable;
    };
} record_t;

/* Checks r against the rules above and serializes it as a
 * renraku.LogRecord. *out is malloc'd and owned by the caller; r stays
 * the caller's. Returns 0, RK_ERR_INVALID (version not RECORD_VERSION,
 * unknown type, a NULL or invalid node id or text, an empty byte field,
 * an accepted index not below the record's, no recipients, an unknown
 * reject code), RK_ERR_TOO_LARGE (an envelope over ENVELOPE_MAX_BYTES,
 * over ENVELOPE_MAX_RECIPIENTS recipients, or the record over
 * RECORD_MAX_BYTES) or RK_ERR_NOMEM. */
int record_encode(const record_t *r, uint8_t **out, size_t *len) RK_WUR;

/* As record_encode, but into b (a scratch buffer the caller keeps and
 * reuses; rk_wbuf_free when done): its content is replaced by the
 * record, b->p[0 .. b->len), valid until b's next use. b only grows, so
 * once it is large enough an encoding allocates nothing. Same checks and
 * returns as record_encode; on failure b->len is 0. */
int record_encode_to(const record_t *r, rk_wbuf_t *b) RK_WUR;

/* Decodes untrusted bytes (borrowed; not kept), e.g. a record read back
 * from a log an auditor was handed. Checks the length before parsing,
 * then: exactly one body, no field unknown to version 1, no field sent
 * twice and no NUL inside a string (so the record re-encodes to exactly
 * the bytes given), and every rule record_encode checks. On success *out
 * is the caller's (record_destroy); its strings and byte fields point into
 * memory the record owns. On failure *out is untouched and *why (if not
 * NULL) gets a static sentence naming the problem, e.g. "delivered msg id
 * is not 16 bytes". Returns 0, RK_ERR_TOO_LARGE (input over
 * RECORD_MAX_BYTES, or an envelope or recipient list over its limit),
 * RK_ERR_VERSION (version not RECORD_VERSION), RK_ERR_MALFORMED (anything
 * else) or RK_ERR_NOMEM. */
int record_decode(const uint8_t *buf, size_t len, record_t **out,
                  const char **why) RK_WUR;

/* Frees a record that record_decode returned (never one you built);
 * accepts NULL and sets *self_p to NULL. */
void record_destroy(record_t **self_p);

/* "accepted", "delivered", "expired", "refused", "roster", "relay",
 * "undeliverable", or "unknown"; static. The reverse returns 0 for an unknown
 * or NULL name. */
const char *record_type_name(record_type_t t);
record_type_t record_type_from_name(const char *name);

#endif

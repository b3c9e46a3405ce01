/* frame: the node <-> relay frames (one renraku.Frame per ZeroMQ message)
 * as plain C structs, their encoding and their strict decoding. Structure
 * only: no I/O, no crypto, no roster look-ups; the envelope inside a
 * submit or deliver is opaque bytes here (envelope_decode reads it). */
#ifndef FRAME_H
#define FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "merkle.h"
#include "rk_buf.h"
#include "rk_error.h"

#define FRAME_VERSION 1 /* Hello.version this code speaks */
/* Largest encoded frame, checked before any parsing: an envelope of
 * ENVELOPE_MAX_BYTES plus room for the frame around it. */
#define FRAME_MAX_BYTES (ENVELOPE_MAX_BYTES + 4096u)
#define FRAME_REASON_MAX 512 /* bytes of a rejection reason, without NUL */
#define FRAME_HASH_LEN MERKLE_HASH_LEN          /* 32 */
#define FRAME_MAX_PROOF_HASHES MERKLE_MAX_PROOF /* 64 */
#define FRAME_DEFAULT_CREDIT 64 /* when a hello gives no credit */

/* Which body a frame carries. Values are the protobuf oneof numbers. */
typedef enum {
    FRAME_HELLO = 1,
    FRAME_WELCOME = 2,
    FRAME_SUBMIT = 3,
    FRAME_STORED = 4,
    FRAME_REJECTED = 5,
    FRAME_DELIVER = 6,
    FRAME_CONFIRM = 7,
    FRAME_RECEIPT = 8,
    FRAME_PING = 9,
    FRAME_PONG = 10,
    FRAME_ROSTER = 11,
    FRAME_CHECKPOINT_REQUEST = 12,
    FRAME_CHECKPOINT = 13,
    FRAME_INCLUSION_REQUEST = 14,
    FRAME_INCLUSION = 15,
    FRAME_CONSISTENCY_REQUEST = 16,
    FRAME_CONSISTENCY = 17,
} frame_type_t;

/* Why the relay refused something (renraku.RejectCode). Values are stable
 * on the wire and in the log; 0 is never valid. */
typedef enum {
    FRAME_REJECT_MALFORMED = 1,
    FRAME_REJECT_TOO_LARGE = 2,
    FRAME_REJECT_VERSION = 3,
    FRAME_REJECT_SENDER_MISMATCH = 4,
    FRAME_REJECT_UNKNOWN_KEY = 5,
    FRAME_REJECT_SENDER_INACTIVE = 6,
    FRAME_REJECT_BAD_SIGNATURE = 7,
    FRAME_REJECT_REPLAY = 8,
    FRAME_REJECT_STALE = 9,
    FRAME_REJECT_FUTURE = 10,
    FRAME_REJECT_UNKNOWN_RECIPIENT = 11,
    FRAME_REJECT_RECIPIENT_INACTIVE = 12,
    FRAME_REJECT_EXPIRED = 13,
    FRAME_REJECT_STORAGE = 14,
    FRAME_REJECT_RATE_LIMITED = 15,
    FRAME_REJECT_NOT_ALLOWED = 16,
    FRAME_REJECT_BUSY = 17,
    FRAME_REJECT_INTERNAL = 18,
    FRAME_REJECT_ROSTER = 19,
} frame_reject_t;
#define FRAME_REJECT_MAX FRAME_REJECT_ROSTER

/* What became of one recipient's copy (renraku.ReceiptStatus). */
typedef enum {
    FRAME_RECEIPT_DELIVERED = 1,     /* the recipient confirmed it */
    FRAME_RECEIPT_EXPIRED = 2,       /* expired before the recipient took it */
    FRAME_RECEIPT_UNDELIVERABLE = 3, /* the recipient was revoked or removed
                                        from the roster: it never will */
} frame_receipt_status_t;

/* Bodies. Byte fields are pointer + length; msg ids and hashes are fixed
 * arrays. Strings are NUL-terminated; node ids follow
 * envelope_node_id_valid. Optional scalars have a has_ flag. In a frame you
 * build, every pointer is yours and only read; in one from frame_decode,
 * every pointer lives as long as that frame. */

typedef struct {             /* node -> relay, first frame */
    uint32_t version;        /* FRAME_VERSION */
    bool has_receipts_after; /* resend receipts logged after ... */
    uint64_t receipts_after; /* ... this log index */
    bool has_credit;         /* else FRAME_DEFAULT_CREDIT */
    uint32_t credit;         /* deliveries the node takes in flight */
    bool has_roster_serial;  /* the node holds a roster ... */
    uint64_t roster_serial;  /* ... with this serial */
} frame_hello_t;

typedef struct {            /* relay -> node, answer to hello */
    const char *node_id;    /* the authenticated id (ZAP User-Id) */
    uint64_t roster_serial; /* the relay's roster */
    uint64_t log_size;      /* records in the log */
    uint64_t pending;       /* deliveries queued for this node */
} frame_welcome_t;

typedef struct {             /* node -> relay */
    const uint8_t *envelope; /* 1..ENVELOPE_MAX_BYTES, not decoded here */
    size_t envelope_len;
} frame_submit_t;

typedef struct {                         /* relay -> sender: on disk */
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN]; /* the accepted envelope's */
    uint64_t index;                      /* its record's log index */
    uint64_t time_ms;                    /* relay clock at append */
} frame_stored_t;

typedef struct {                         /* relay -> node: never silence */
    bool has_msg_id;                     /* envelope decoded far enough */
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN]; /* meaningful when has_msg_id */
    frame_reject_t code;                 /* 1..FRAME_REJECT_MAX */
    const char *reason; /* one sentence: 1..512 bytes of UTF-8, no control
                           characters */
} frame_rejected_t;

typedef struct {             /* relay -> recipient */
    uint64_t index;          /* log index of the accepted record */
    const uint8_t *envelope; /* 1..ENVELOPE_MAX_BYTES */
    size_t envelope_len;
} frame_deliver_t;

typedef struct {                         /* recipient -> relay: on disk */
    uint64_t index;                      /* as in the deliver */
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN]; /* the envelope's */
} frame_confirm_t;

typedef struct {                         /* relay -> sender, per recipient */
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN]; /* the sender's envelope */
    const char *recipient;               /* node id */
    frame_receipt_status_t status; /* delivered, expired or undeliverable */
    uint64_t time_ms;              /* when it was confirmed/expired */
    uint64_t index;     /* log index of the delivery or expiry record */
    const char *reason; /* undeliverable: "revoked" or "removed" (required);
                           any other status: NULL */
} frame_receipt_t;

typedef struct {    /* ping and pong alike */
    bool has_nonce; /* a pong echoes the ping's nonce */
    uint64_t nonce;
} frame_ping_t;

typedef struct { /* either way: a signed roster (signed note) */
    const uint8_t *signed_roster; /* non-empty, not verified here */
    size_t signed_roster_len;
} frame_roster_t;

typedef struct {         /* relay -> node: latest signed checkpoint */
    const uint8_t *note; /* non-empty signed note, not verified here */
    size_t note_len;
} frame_checkpoint_t;

typedef struct {     /* exactly one of the two */
    bool has_msg_id; /* by an accepted msg id */
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN];
    bool has_index; /* or by log index */
    uint64_t index;
} frame_inclusion_request_t;

typedef struct {
    uint64_t index;        /* leaf proven */
    const uint8_t *record; /* the logged record, exact bytes, non-empty */
    size_t record_len;
    const uint8_t *hashes;     /* n_hashes * FRAME_HASH_LEN bytes, nearest */
    size_t n_hashes;           /* the leaf first; at most 64 */
    const uint8_t *checkpoint; /* signed note of the tree size proven */
    size_t checkpoint_len;     /* against, non-empty */
} frame_inclusion_t;

typedef struct { /* ranges are the relay's to check against its log */
    uint64_t size1;
    uint64_t size2;
} frame_consistency_request_t;

typedef struct {
    uint64_t size1;
    uint64_t size2;
    const uint8_t *hashes; /* n_hashes * FRAME_HASH_LEN bytes, RFC 9162 */
    size_t n_hashes;       /* order; at most 64, 0 when sizes are equal */
} frame_consistency_t;

/* One frame: type says which member of the union is meaningful. Checkpoint
 * requests have no body. */
typedef struct {
    frame_type_t type;
    union {
        frame_hello_t hello;
        frame_welcome_t welcome;
        frame_submit_t submit;
        frame_stored_t stored;
        frame_rejected_t rejected;
        frame_deliver_t deliver;
        frame_confirm_t confirm;
        frame_receipt_t receipt;
        frame_ping_t ping;
        frame_ping_t pong;
        frame_roster_t roster;
        frame_checkpoint_t checkpoint;
        frame_inclusion_request_t inclusion_request;
        frame_inclusion_t inclusion;
        frame_consistency_request_t consistency_request;
        frame_consistency_t consistency;
    };
} frame_t;

/* Checks f against the rules above and serializes it as a renraku.Frame.
 * *out is malloc'd and owned by the caller; f stays the caller's. Returns
 * 0, RK_ERR_INVALID (a field breaks a rule: unknown type, hello version
 * not FRAME_VERSION, a NULL or invalid node id, an empty or oversized
 * byte field, a bad reason, code or status, an inclusion request with
 * neither or both keys, too many hashes), RK_ERR_TOO_LARGE (an envelope
 * over ENVELOPE_MAX_BYTES, or the frame over FRAME_MAX_BYTES) or
 * RK_ERR_NOMEM. */
int frame_encode(const frame_t *f, uint8_t **out, size_t *len) RK_WUR;

/* As frame_encode, but into b (a scratch buffer the caller keeps and
 * reuses; rk_wbuf_free when done): its content is replaced by the frame,
 * b->p[0 .. b->len), valid until b's next use. b only grows, so once it
 * is large enough an encoding allocates nothing. Same checks and returns
 * as frame_encode; on failure b->len is 0. */
int frame_encode_to(const frame_t *f, rk_wbuf_t *b) RK_WUR;

/* Decodes untrusted bytes (borrowed; not kept). Checks the length before
 * parsing, then: exactly one body, no field unknown to version 1, no field
 * sent twice and no NUL inside a string (the re-encoding must be exactly
 * as long as the input), and every rule frame_encode checks. On success
 * *out is the caller's (frame_destroy); its byte and string fields point
 * into memory the frame owns. On failure *out is untouched and *why (if
 * not NULL) gets a static sentence naming the problem, e.g. "stored msg id
 * is not 16 bytes". Returns 0, RK_ERR_TOO_LARGE (input over
 * FRAME_MAX_BYTES, or an envelope over ENVELOPE_MAX_BYTES), RK_ERR_VERSION
 * (a hello whose version is not FRAME_VERSION), RK_ERR_MALFORMED
 * (anything else) or RK_ERR_NOMEM. */
int frame_decode(const uint8_t *buf, size_t len, frame_t **out,
                 const char **why) RK_WUR;

/* True when s is a valid rejection reason or log text: 1..512 bytes of
 * UTF-8 without control characters (one line). */
bool frame_text_valid(const char *s);

/* Frees a frame that frame_decode returned (never one you built); accepts
 * NULL and sets *self_p to NULL. */
void frame_destroy(frame_t **self_p);

/* One-line encoders for the frames the relay and the daemon send most.
 * Each builds the body from its arguments (borrowed) and calls
 * frame_encode: same ownership of *out, same returns. msg ids are
 * ENVELOPE_MSG_ID_LEN bytes; rejected's msg_id may be NULL. The hello is
 * version FRAME_VERSION without receipts_after; a roster_serial or credit
 * of 0 is left out (no roster held; FRAME_DEFAULT_CREDIT). Ping and pong
 * always carry the nonce. */
int frame_encode_hello(uint64_t roster_serial, uint32_t credit, uint8_t **out,
                       size_t *len) RK_WUR;
int frame_encode_submit(const uint8_t *env, size_t env_len, uint8_t **out,
                        size_t *len) RK_WUR;
int frame_encode_stored(const uint8_t *msg_id, uint64_t index, uint64_t time_ms,
                        uint8_t **out, size_t *len) RK_WUR;
int frame_encode_rejected(const uint8_t *msg_id, frame_reject_t code,
                          const char *reason, uint8_t **out,
                          size_t *len) RK_WUR;
/* The rejected frame frame_encode_rejected encodes, for frame_encode_to
 * (msg_id and reason borrowed). */
frame_t frame_rejected(const uint8_t *msg_id, frame_reject_t code,
                       const char *reason);
int frame_encode_deliver(uint64_t index, const uint8_t *env, size_t env_len,
                         uint8_t **out, size_t *len) RK_WUR;
int frame_encode_confirm(uint64_t index, const uint8_t *msg_id, uint8_t **out,
                         size_t *len) RK_WUR;
int frame_encode_receipt(const uint8_t *msg_id, const char *recipient,
                         frame_receipt_status_t status, uint64_t time_ms,
                         uint64_t index, uint8_t **out, size_t *len) RK_WUR;
int frame_encode_ping(uint64_t nonce, uint8_t **out, size_t *len) RK_WUR;
int frame_encode_pong(uint64_t nonce, uint8_t **out, size_t *len) RK_WUR;

/* Names, static strings. frame_type_name: "hello", "checkpoint-request",
 * ... or "unknown". frame_reject_name: a short stable token per code
 * ("malformed", "too-large", "version", "sender-mismatch", "unknown-key",
 * "sender-inactive", "bad-signature", "replay", "stale", "future",
 * "unknown-recipient", "recipient-inactive", "expired", "storage",
 * "rate-limited", "not-allowed", "busy", "internal", "roster") or
 * "unknown"; frame_reject_from_name is the reverse, 0 for an unknown or
 * NULL name. frame_receipt_status_name: "delivered", "expired",
 * "undeliverable" or "unknown". */
const char *frame_type_name(frame_type_t t);
const char *frame_reject_name(frame_reject_t code);
frame_reject_t frame_reject_from_name(const char *name);
const char *frame_receipt_status_name(frame_receipt_status_t status);

/* The reject code for an rk_err_t a check returned while handling a
 * submit: RK_ERR_MALFORMED and RK_ERR_MISMATCH -> malformed, TOO_LARGE ->
 * too-large, VERSION -> version, UNKNOWN_KEY -> unknown-key, REVOKED,
 * SUSPENDED and EXPIRED -> sender-inactive, BAD_SIGNATURE, REPLAY, STALE,
 * FUTURE -> their own, EXPIRED_MSG -> expired, IO -> storage, FULL ->
 * busy, anything else -> internal. Recipient and sender-mismatch checks
 * have no rk_err_t of their own: name those codes directly. */
frame_reject_t frame_reject_from_error(int err);

#endif

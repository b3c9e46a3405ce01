/* frame: the only place that turns renraku.Frame protobufs into plain C
 * structs and back. One set of rules (s_check) guards encode and decode;
 * decode adds what only bytes can get wrong (fixed lengths, unknown or
 * repeated fields). Nothing here reads the envelopes it carries. */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

#include "pb_arena.h"
#include "renraku.pb-c.h"

/* What frame_decode hands out: the public frame first, so frame_destroy
 * can get back to the rest. */
typedef struct {
    frame_t pub;
    Renraku__Frame *pb; /* owns every string and byte field pub points to */
    uint8_t *hashes;    /* proof hashes back to back, when there are any */
    pb_arena_t arena;   /* where pb was unpacked: block, then malloc */
    uint8_t block[];    /* the arena's block */
} s_frame_t;

/* Arena room beyond the input's own bytes: the Frame and its body
 * structs, alignment. A frame that needs more spills to malloc. */
#define S_ARENA_EXTRA 512

/* ---- Names ---- */

static const char *const s_type_names[] = {
    NULL,
    "hello",
    "welcome",
    "submit",
    "stored",
    "rejected",
    "deliver",
    "confirm",
    "receipt",
    "ping",
    "pong",
    "roster",
    "checkpoint-request",
    "checkpoint",
    "inclusion-request",
    "inclusion",
    "consistency-request",
    "consistency",
};

static const char *const s_reject_names[] = {
    NULL,
    "malformed",
    "too-large",
    "version",
    "sender-mismatch",
    "unknown-key",
    "sender-inactive",
    "bad-signature",
    "replay",
    "stale",
    "future",
    "unknown-recipient",
    "recipient-inactive",
    "expired",
    "storage",
    "rate-limited",
    "not-allowed",
    "busy",
    "internal",
    "roster",
};
_Static_assert(sizeof s_reject_names / sizeof s_reject_names[0] ==
                   FRAME_REJECT_MAX + 1,
               "one name per reject code");

const char *
frame_type_name(frame_type_t t) {
    if (t >= FRAME_HELLO && t <= FRAME_CONSISTENCY)
        return s_type_names[t];
    return "unknown";
}

const char *
frame_reject_name(frame_reject_t code) {
    if (code >= FRAME_REJECT_MALFORMED && code <= FRAME_REJECT_MAX)
        return s_reject_names[code];
    return "unknown";
}

frame_reject_t
frame_reject_from_name(const char *name) {
    if (!name)
        return (frame_reject_t)0;
    for (int c = FRAME_REJECT_MALFORMED; c <= FRAME_REJECT_MAX; c++)
        if (strcmp(name, s_reject_names[c]) == 0)
            return (frame_reject_t)c;
    return (frame_reject_t)0;
}

const char *
frame_receipt_status_name(frame_receipt_status_t status) {
    switch (status) {
    case FRAME_RECEIPT_DELIVERED:
        return "delivered";
    case FRAME_RECEIPT_EXPIRED:
        return "expired";
    case FRAME_RECEIPT_UNDELIVERABLE:
        return "undeliverable";
    }
    return "unknown";
}

frame_reject_t
frame_reject_from_error(int err) {
    switch (err) {
    case RK_ERR_MALFORMED:
    case RK_ERR_MISMATCH:
        return FRAME_REJECT_MALFORMED;
    case RK_ERR_TOO_LARGE:
        return FRAME_REJECT_TOO_LARGE;
    case RK_ERR_VERSION:
        return FRAME_REJECT_VERSION;
    case RK_ERR_UNKNOWN_KEY:
        return FRAME_REJECT_UNKNOWN_KEY;
    case RK_ERR_REVOKED:
    case RK_ERR_SUSPENDED:
    case RK_ERR_EXPIRED:
        return FRAME_REJECT_SENDER_INACTIVE;
    case RK_ERR_BAD_SIGNATURE:
        return FRAME_REJECT_BAD_SIGNATURE;
    case RK_ERR_REPLAY:
        return FRAME_REJECT_REPLAY;
    case RK_ERR_STALE:
        return FRAME_REJECT_STALE;
    case RK_ERR_FUTURE:
        return FRAME_REJECT_FUTURE;
    case RK_ERR_EXPIRED_MSG:
        return FRAME_REJECT_EXPIRED;
    case RK_ERR_IO:
        return FRAME_REJECT_STORAGE;
    case RK_ERR_FULL:
        return FRAME_REJECT_BUSY;
    default:
        return FRAME_REJECT_INTERNAL;
    }
}

/* ---- Rules shared by encode and decode ---- */

bool
frame_text_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t n;

    if (!s)
        return false;
    n = strnlen(s, FRAME_REASON_MAX + 1);
    if (n == 0 || n > FRAME_REASON_MAX)
        return false;
    /* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
     * above U+10FFFF; and no C0 control, DEL or C1 control, so the text
     * stays one line in a log. */
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t k;
        unsigned cp;
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i - 1 < k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp <= 0x9f))
            return false;
        i += k + 1;
    }
    return true;
}

#define CHECK(cond, code, reason)                                              \
    do {                                                                       \
        if (!(cond)) {                                                         \
            *why = (reason);                                                   \
            return (code);                                                     \
        }                                                                      \
    } while (0)

static int
s_check_envelope(const uint8_t *env, size_t len, const char **why,
                 const char *empty, const char *large) {
    CHECK(env && len > 0, RK_ERR_MALFORMED, empty);
    CHECK(len <= ENVELOPE_MAX_BYTES, RK_ERR_TOO_LARGE, large);
    return RK_OK;
}

/* The rules of frame.h on the plain form. Returns 0, or RK_ERR_MALFORMED,
 * RK_ERR_TOO_LARGE or RK_ERR_VERSION with *why set; frame_encode turns
 * all but RK_ERR_TOO_LARGE into RK_ERR_INVALID. */
static int
s_check(const frame_t *f, const char **why) {
    switch (f->type) {
    case FRAME_HELLO:
        CHECK(f->hello.version == FRAME_VERSION, RK_ERR_VERSION,
              "hello asks for an unsupported protocol version");
        return RK_OK;
    case FRAME_WELCOME:
        CHECK(envelope_node_id_valid(f->welcome.node_id), RK_ERR_MALFORMED,
              "welcome node id is not a valid node id");
        return RK_OK;
    case FRAME_SUBMIT:
        return s_check_envelope(f->submit.envelope, f->submit.envelope_len, why,
                                "submit carries an empty envelope",
                                "submitted envelope is larger than 1 MiB");
    case FRAME_DELIVER:
        return s_check_envelope(f->deliver.envelope, f->deliver.envelope_len,
                                why, "deliver carries an empty envelope",
                                "delivered envelope is larger than 1 MiB");
    case FRAME_STORED:
    case FRAME_CONFIRM:
    case FRAME_PING:
    case FRAME_PONG:
    case FRAME_CHECKPOINT_REQUEST:
    case FRAME_CONSISTENCY_REQUEST:
        return RK_OK;
    case FRAME_REJECTED:
        CHECK(f->rejected.code >= FRAME_REJECT_MALFORMED &&
                  f->rejected.code <= FRAME_REJECT_MAX,
              RK_ERR_MALFORMED, "rejected carries an unknown reject code");
        CHECK(f->rejected.reason && f->rejected.reason[0], RK_ERR_MALFORMED,
              "rejection reason is empty");
        CHECK(strnlen(f->rejected.reason, FRAME_REASON_MAX + 1) <=
                  FRAME_REASON_MAX,
              RK_ERR_MALFORMED, "rejection reason is longer than 512 bytes");
        CHECK(frame_text_valid(f->rejected.reason), RK_ERR_MALFORMED,
              "rejection reason is not one line of UTF-8 text");
        return RK_OK;
    case FRAME_RECEIPT:
        CHECK(envelope_node_id_valid(f->receipt.recipient), RK_ERR_MALFORMED,
              "receipt recipient is not a valid node id");
        CHECK(f->receipt.status == FRAME_RECEIPT_DELIVERED ||
                  f->receipt.status == FRAME_RECEIPT_EXPIRED ||
                  f->receipt.status == FRAME_RECEIPT_UNDELIVERABLE,
              RK_ERR_MALFORMED, "receipt carries an unknown status");
        if (f->receipt.status == FRAME_RECEIPT_UNDELIVERABLE)
            CHECK(f->receipt.reason &&
                      (strcmp(f->receipt.reason, "revoked") == 0 ||
                       strcmp(f->receipt.reason, "removed") == 0),
                  RK_ERR_MALFORMED,
                  "undeliverable receipt has no reason revoked or removed");
        else
            CHECK(!f->receipt.reason, RK_ERR_MALFORMED,
                  "receipt has a reason but is not undeliverable");
        return RK_OK;
    case FRAME_ROSTER:
        CHECK(f->roster.signed_roster && f->roster.signed_roster_len > 0,
              RK_ERR_MALFORMED, "roster push carries an empty roster");
        return RK_OK;
    case FRAME_CHECKPOINT:
        CHECK(f->checkpoint.note && f->checkpoint.note_len > 0,
              RK_ERR_MALFORMED, "checkpoint frame carries an empty note");
        return RK_OK;
    case FRAME_INCLUSION_REQUEST:
        CHECK(f->inclusion_request.has_msg_id || f->inclusion_request.has_index,
              RK_ERR_MALFORMED,
              "inclusion request names neither a msg id nor an index");
        CHECK(!(f->inclusion_request.has_msg_id &&
                f->inclusion_request.has_index),
              RK_ERR_MALFORMED,
              "inclusion request names both a msg id and an index");
        return RK_OK;
    case FRAME_INCLUSION:
        CHECK(f->inclusion.record && f->inclusion.record_len > 0,
              RK_ERR_MALFORMED, "inclusion proof carries an empty record");
        CHECK(f->inclusion.checkpoint && f->inclusion.checkpoint_len > 0,
              RK_ERR_MALFORMED, "inclusion proof carries an empty checkpoint");
        CHECK(f->inclusion.n_hashes <= FRAME_MAX_PROOF_HASHES, RK_ERR_MALFORMED,
              "inclusion proof has more than 64 hashes");
        CHECK(f->inclusion.n_hashes == 0 || f->inclusion.hashes,
              RK_ERR_MALFORMED, "inclusion proof hashes are missing");
        return RK_OK;
    case FRAME_CONSISTENCY:
        CHECK(f->consistency.n_hashes <= FRAME_MAX_PROOF_HASHES,
              RK_ERR_MALFORMED, "consistency proof has more than 64 hashes");
        CHECK(f->consistency.n_hashes == 0 || f->consistency.hashes,
              RK_ERR_MALFORMED, "consistency proof hashes are missing");
        return RK_OK;
    }
    *why = "unknown frame type";
    return RK_ERR_MALFORMED;
}

#undef CHECK

/* ---- Encode ---- */

static ProtobufCBinaryData
s_bin(const uint8_t *p, size_t len) {
    ProtobufCBinaryData b = {len, (uint8_t *)p};
    return b;
}

static void
s_hashes_to_pb(ProtobufCBinaryData *pb, const uint8_t *hashes, size_t n) {
    for (size_t i = 0; i < n; i++)
        pb[i] = s_bin(hashes + i * FRAME_HASH_LEN, FRAME_HASH_LEN);
}

/* frame_encode and frame_encode_to: into a new block (to NULL: *out,
 * *len) or into the scratch buffer to. */
static int
s_encode(const frame_t *f, rk_wbuf_t *to, uint8_t **out, size_t *len) {
    Renraku__Frame fr = RENRAKU__FRAME__INIT;
    union {
        Renraku__Hello hello;
        Renraku__Welcome welcome;
        Renraku__Submit submit;
        Renraku__Stored stored;
        Renraku__Rejected rejected;
        Renraku__Deliver deliver;
        Renraku__Confirm confirm;
        Renraku__Receipt receipt;
        Renraku__Ping ping;
        Renraku__Pong pong;
        Renraku__RosterPush roster;
        Renraku__CheckpointRequest checkpoint_request;
        Renraku__CheckpointNote checkpoint;
        Renraku__InclusionRequest inclusion_request;
        Renraku__InclusionProof inclusion;
        Renraku__ConsistencyRequest consistency_request;
        Renraku__ConsistencyProof consistency;
    } b;
    ProtobufCBinaryData hv[FRAME_MAX_PROOF_HASHES];
    const char *why = NULL;
    size_t n;
    int rc;

    rc = s_check(f, &why);
    if (rc != RK_OK)
        return rc == RK_ERR_TOO_LARGE ? rc : RK_ERR_INVALID;

    fr.body_case = (Renraku__Frame__BodyCase)f->type;
    switch (f->type) {
    case FRAME_HELLO:
        renraku__hello__init(&b.hello);
        b.hello.version = f->hello.version;
        b.hello.has_receipts_after = f->hello.has_receipts_after;
        b.hello.receipts_after = f->hello.receipts_after;
        b.hello.has_credit = f->hello.has_credit;
        b.hello.credit = f->hello.credit;
        b.hello.has_roster_serial = f->hello.has_roster_serial;
        b.hello.roster_serial = f->hello.roster_serial;
        fr.hello = &b.hello;
        break;
    case FRAME_WELCOME:
        renraku__welcome__init(&b.welcome);
        b.welcome.node_id = (char *)f->welcome.node_id;
        b.welcome.roster_serial = f->welcome.roster_serial;
        b.welcome.log_size = f->welcome.log_size;
        b.welcome.pending = f->welcome.pending;
        fr.welcome = &b.welcome;
        break;
    case FRAME_SUBMIT:
        renraku__submit__init(&b.submit);
        b.submit.envelope = s_bin(f->submit.envelope, f->submit.envelope_len);
        fr.submit = &b.submit;
        break;
    case FRAME_STORED:
        renraku__stored__init(&b.stored);
        b.stored.msg_id = s_bin(f->stored.msg_id, ENVELOPE_MSG_ID_LEN);
        b.stored.index = f->stored.index;
        b.stored.time_ms = f->stored.time_ms;
        fr.stored = &b.stored;
        break;
    case FRAME_REJECTED:
        renraku__rejected__init(&b.rejected);
        if (f->rejected.has_msg_id) {
            b.rejected.has_msg_id = 1;
            b.rejected.msg_id = s_bin(f->rejected.msg_id, ENVELOPE_MSG_ID_LEN);
        }
        b.rejected.code = (Renraku__RejectCode)f->rejected.code;
        b.rejected.reason = (char *)f->rejected.reason;
        fr.rejected = &b.rejected;
        break;
    case FRAME_DELIVER:
        renraku__deliver__init(&b.deliver);
        b.deliver.index = f->deliver.index;
        b.deliver.envelope =
            s_bin(f->deliver.envelope, f->deliver.envelope_len);
        fr.deliver = &b.deliver;
        break;
    case FRAME_CONFIRM:
        renraku__confirm__init(&b.confirm);
        b.confirm.index = f->confirm.index;
        b.confirm.msg_id = s_bin(f->confirm.msg_id, ENVELOPE_MSG_ID_LEN);
        fr.confirm = &b.confirm;
        break;
    case FRAME_RECEIPT:
        renraku__receipt__init(&b.receipt);
        b.receipt.msg_id = s_bin(f->receipt.msg_id, ENVELOPE_MSG_ID_LEN);
        b.receipt.recipient = (char *)f->receipt.recipient;
        b.receipt.status = (Renraku__ReceiptStatus)f->receipt.status;
        b.receipt.time_ms = f->receipt.time_ms;
        b.receipt.index = f->receipt.index;
        b.receipt.reason = (char *)f->receipt.reason;
        fr.receipt = &b.receipt;
        break;
    case FRAME_PING:
        renraku__ping__init(&b.ping);
        b.ping.has_nonce = f->ping.has_nonce;
        b.ping.nonce = f->ping.nonce;
        fr.ping = &b.ping;
        break;
    case FRAME_PONG:
        renraku__pong__init(&b.pong);
        b.pong.has_nonce = f->pong.has_nonce;
        b.pong.nonce = f->pong.nonce;
        fr.pong = &b.pong;
        break;
    case FRAME_ROSTER:
        renraku__roster_push__init(&b.roster);
        b.roster.signed_roster =
            s_bin(f->roster.signed_roster, f->roster.signed_roster_len);
        fr.roster = &b.roster;
        break;
    case FRAME_CHECKPOINT_REQUEST:
        renraku__checkpoint_request__init(&b.checkpoint_request);
        fr.checkpoint_request = &b.checkpoint_request;
        break;
    case FRAME_CHECKPOINT:
        renraku__checkpoint_note__init(&b.checkpoint);
        b.checkpoint.note = s_bin(f->checkpoint.note, f->checkpoint.note_len);
        fr.checkpoint = &b.checkpoint;
        break;
    case FRAME_INCLUSION_REQUEST:
        renraku__inclusion_request__init(&b.inclusion_request);
        if (f->inclusion_request.has_msg_id) {
            b.inclusion_request.has_msg_id = 1;
            b.inclusion_request.msg_id =
                s_bin(f->inclusion_request.msg_id, ENVELOPE_MSG_ID_LEN);
        }
        b.inclusion_request.has_index = f->inclusion_request.has_index;
        b.inclusion_request.index = f->inclusion_request.index;
        fr.inclusion_request = &b.inclusion_request;
        break;
    case FRAME_INCLUSION:
        renraku__inclusion_proof__init(&b.inclusion);
        b.inclusion.index = f->inclusion.index;
        b.inclusion.record =
            s_bin(f->inclusion.record, f->inclusion.record_len);
        s_hashes_to_pb(hv, f->inclusion.hashes, f->inclusion.n_hashes);
        b.inclusion.n_hashes = f->inclusion.n_hashes;
        b.inclusion.hashes = hv;
        b.inclusion.checkpoint =
            s_bin(f->inclusion.checkpoint, f->inclusion.checkpoint_len);
        fr.inclusion = &b.inclusion;
        break;
    case FRAME_CONSISTENCY_REQUEST:
        renraku__consistency_request__init(&b.consistency_request);
        b.consistency_request.size1 = f->consistency_request.size1;
        b.consistency_request.size2 = f->consistency_request.size2;
        fr.consistency_request = &b.consistency_request;
        break;
    case FRAME_CONSISTENCY:
        renraku__consistency_proof__init(&b.consistency);
        b.consistency.size1 = f->consistency.size1;
        b.consistency.size2 = f->consistency.size2;
        s_hashes_to_pb(hv, f->consistency.hashes, f->consistency.n_hashes);
        b.consistency.n_hashes = f->consistency.n_hashes;
        b.consistency.hashes = hv;
        fr.consistency = &b.consistency;
        break;
    }

    n = renraku__frame__get_packed_size(&fr);
    if (n > FRAME_MAX_BYTES)
        return RK_ERR_TOO_LARGE;
    return pb_pack_out(&fr.base, n, to, out, len);
}

int
frame_encode(const frame_t *f, uint8_t **out, size_t *len) {
    if (!f || !out || !len)
        return RK_ERR_INVALID;
    return s_encode(f, NULL, out, len);
}

int
frame_encode_to(const frame_t *f, rk_wbuf_t *b) {
    if (!f || !b)
        return RK_ERR_INVALID;
    /* A scratch buffer: whatever it held goes, and so does an earlier
     * failure (the allocation is tried again). */
    b->len = 0;
    b->failed = 0;
    return s_encode(f, b, NULL, NULL);
}

int
frame_encode_hello(uint64_t roster_serial, uint32_t credit, uint8_t **out,
                   size_t *len) {
    frame_t f = {.type = FRAME_HELLO};
    f.hello.version = FRAME_VERSION;
    f.hello.has_roster_serial = roster_serial != 0;
    f.hello.roster_serial = roster_serial;
    f.hello.has_credit = credit != 0;
    f.hello.credit = credit;
    return frame_encode(&f, out, len);
}

int
frame_encode_submit(const uint8_t *env, size_t env_len, uint8_t **out,
                    size_t *len) {
    frame_t f = {.type = FRAME_SUBMIT};
    f.submit.envelope = env;
    f.submit.envelope_len = env_len;
    return frame_encode(&f, out, len);
}

int
frame_encode_stored(const uint8_t *msg_id, uint64_t index, uint64_t time_ms,
                    uint8_t **out, size_t *len) {
    frame_t f = {.type = FRAME_STORED};
    if (!msg_id)
        return RK_ERR_INVALID;
    memcpy(f.stored.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
    f.stored.index = index;
    f.stored.time_ms = time_ms;
    return frame_encode(&f, out, len);
}

frame_t
frame_rejected(const uint8_t *msg_id, frame_reject_t code, const char *reason) {
    frame_t f = {.type = FRAME_REJECTED};
    if (msg_id) {
        f.rejected.has_msg_id = true;
        memcpy(f.rejected.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
    }
    f.rejected.code = code;
    f.rejected.reason = reason;
    return f;
}

int
frame_encode_rejected(const uint8_t *msg_id, frame_reject_t code,
                      const char *reason, uint8_t **out, size_t *len) {
    frame_t f = frame_rejected(msg_id, code, reason);
    return frame_encode(&f, out, len);
}

int
frame_encode_deliver(uint64_t index, const uint8_t *env, size_t env_len,
                     uint8_t **out, size_t *len) {
    frame_t f = {.type = FRAME_DELIVER};
    f.deliver.index = index;
    f.deliver.envelope = env;
    f.deliver.envelope_len = env_len;
    return frame_encode(&f, out, len);
}

int
frame_encode_confirm(uint64_t index, const uint8_t *msg_id, uint8_t **out,
                     size_t *len) {
    frame_t f = {.type = FRAME_CONFIRM};
    if (!msg_id)
        return RK_ERR_INVALID;
    f.confirm.index = index;
    memcpy(f.confirm.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
    return frame_encode(&f, out, len);
}

int
frame_encode_receipt(const uint8_t *msg_id, const char *recipient,
                     frame_receipt_status_t status, uint64_t time_ms,
                     uint64_t index, uint8_t **out, size_t *len) {
    frame_t f = {.type = FRAME_RECEIPT};
    if (!msg_id)
        return RK_ERR_INVALID;
    memcpy(f.receipt.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
    f.receipt.recipient = recipient;
    f.receipt.status = status;
    f.receipt.time_ms = time_ms;
    f.receipt.index = index;
    return frame_encode(&f, out, len);
}

int
frame_encode_ping(uint64_t nonce, uint8_t **out, size_t *len) {
    frame_t f = {.type = FRAME_PING};
    f.ping.has_nonce = true;
    f.ping.nonce = nonce;
    return frame_encode(&f, out, len);
}

int
frame_encode_pong(uint64_t nonce, uint8_t **out, size_t *len) {
    frame_t f = {.type = FRAME_PONG};
    f.pong.has_nonce = true;
    f.pong.nonce = nonce;
    return frame_encode(&f, out, len);
}

/* ---- Decode ---- */

/* Reads one varint at *i, never past len. */
static bool
s_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v) {
    *v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        if (*i >= len)
            return false;
        b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* Counts the top-level fields numbered lo..hi. protobuf-c keeps only the
 * last member of a oneof sent twice, so this walk over the raw bytes is
 * how a second body is seen. Returns false when the bytes do not walk. */
static bool
s_count_fields(const uint8_t *p, size_t len, uint64_t lo, uint64_t hi,
               size_t *n) {
    size_t i = 0;
    *n = 0;
    while (i < len) {
        uint64_t key, v;
        if (!s_varint(p, len, &i, &key))
            return false;
        switch (key & 7) {
        case 0:
            if (!s_varint(p, len, &i, &v))
                return false;
            break;
        case 1:
            if (len - i < 8)
                return false;
            i += 8;
            break;
        case 2:
            if (!s_varint(p, len, &i, &v) || v > len - i)
                return false;
            i += (size_t)v;
            break;
        case 5:
            if (len - i < 4)
                return false;
            i += 4;
            break;
        default:
            return false;
        }
        if ((key >> 3) >= lo && (key >> 3) <= hi)
            (*n)++;
    }
    return true;
}

/* Copies a msg id that must be exactly 16 bytes. */
static bool
s_msg_id(uint8_t out[ENVELOPE_MSG_ID_LEN], const ProtobufCBinaryData *b) {
    if (b->len != ENVELOPE_MSG_ID_LEN)
        return false;
    memcpy(out, b->data, ENVELOPE_MSG_ID_LEN);
    return true;
}

/* Copies n proof hashes, each exactly 32 bytes, back to back into a new
 * block owned by self. */
static int
s_hashes(s_frame_t *self, const ProtobufCBinaryData *pb, size_t n,
         const uint8_t **hashes, size_t *n_out, const char **why) {
    if (n > FRAME_MAX_PROOF_HASHES) {
        *why = "proof has more than 64 hashes";
        return RK_ERR_MALFORMED;
    }
    for (size_t i = 0; i < n; i++)
        if (pb[i].len != FRAME_HASH_LEN) {
            *why = "a proof hash is not 32 bytes";
            return RK_ERR_MALFORMED;
        }
    *n_out = n;
    *hashes = NULL;
    if (n == 0)
        return RK_OK;
    self->hashes = malloc(n * FRAME_HASH_LEN);
    if (!self->hashes) {
        *why = "out of memory";
        return RK_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(self->hashes + i * FRAME_HASH_LEN, pb[i].data, FRAME_HASH_LEN);
    *hashes = self->hashes;
    return RK_OK;
}

#define BAD(reason)                                                            \
    do {                                                                       \
        *why = (reason);                                                       \
        return RK_ERR_MALFORMED;                                               \
    } while (0)

/* The body's own unknown fields. Every body is a flat message, so its
 * base is the only place left where unknown fields could hide. */
static bool
s_body_has_unknown(const Renraku__Frame *pb) {
    const ProtobufCMessage *m = NULL;
    switch (pb->body_case) {
    case RENRAKU__FRAME__BODY_HELLO:
        m = &pb->hello->base;
        break;
    case RENRAKU__FRAME__BODY_WELCOME:
        m = &pb->welcome->base;
        break;
    case RENRAKU__FRAME__BODY_SUBMIT:
        m = &pb->submit->base;
        break;
    case RENRAKU__FRAME__BODY_STORED:
        m = &pb->stored->base;
        break;
    case RENRAKU__FRAME__BODY_REJECTED:
        m = &pb->rejected->base;
        break;
    case RENRAKU__FRAME__BODY_DELIVER:
        m = &pb->deliver->base;
        break;
    case RENRAKU__FRAME__BODY_CONFIRM:
        m = &pb->confirm->base;
        break;
    case RENRAKU__FRAME__BODY_RECEIPT:
        m = &pb->receipt->base;
        break;
    case RENRAKU__FRAME__BODY_PING:
        m = &pb->ping->base;
        break;
    case RENRAKU__FRAME__BODY_PONG:
        m = &pb->pong->base;
        break;
    case RENRAKU__FRAME__BODY_ROSTER:
        m = &pb->roster->base;
        break;
    case RENRAKU__FRAME__BODY_CHECKPOINT_REQUEST:
        m = &pb->checkpoint_request->base;
        break;
    case RENRAKU__FRAME__BODY_CHECKPOINT:
        m = &pb->checkpoint->base;
        break;
    case RENRAKU__FRAME__BODY_INCLUSION_REQUEST:
        m = &pb->inclusion_request->base;
        break;
    case RENRAKU__FRAME__BODY_INCLUSION:
        m = &pb->inclusion->base;
        break;
    case RENRAKU__FRAME__BODY_CONSISTENCY_REQUEST:
        m = &pb->consistency_request->base;
        break;
    case RENRAKU__FRAME__BODY_CONSISTENCY:
        m = &pb->consistency->base;
        break;
    default:
        return false;
    }
    return m->n_unknown_fields != 0;
}

/* Fills self->pub from self->pb: fixed lengths here, the rest s_check. */
static int
s_from_pb(s_frame_t *self, const char **why) {
    const Renraku__Frame *pb = self->pb;
    frame_t *f = &self->pub;

    f->type = (frame_type_t)pb->body_case;
    switch (pb->body_case) {
    case RENRAKU__FRAME__BODY_HELLO: {
        const Renraku__Hello *h = pb->hello;
        f->hello.version = h->version;
        f->hello.has_receipts_after = h->has_receipts_after;
        f->hello.receipts_after = h->receipts_after;
        f->hello.has_credit = h->has_credit;
        f->hello.credit = h->credit;
        f->hello.has_roster_serial = h->has_roster_serial;
        f->hello.roster_serial = h->roster_serial;
        return RK_OK;
    }
    case RENRAKU__FRAME__BODY_WELCOME:
        f->welcome.node_id = pb->welcome->node_id;
        f->welcome.roster_serial = pb->welcome->roster_serial;
        f->welcome.log_size = pb->welcome->log_size;
        f->welcome.pending = pb->welcome->pending;
        return RK_OK;
    case RENRAKU__FRAME__BODY_SUBMIT:
        f->submit.envelope = pb->submit->envelope.data;
        f->submit.envelope_len = pb->submit->envelope.len;
        return RK_OK;
    case RENRAKU__FRAME__BODY_STORED:
        if (!s_msg_id(f->stored.msg_id, &pb->stored->msg_id))
            BAD("stored msg id is not 16 bytes");
        f->stored.index = pb->stored->index;
        f->stored.time_ms = pb->stored->time_ms;
        return RK_OK;
    case RENRAKU__FRAME__BODY_REJECTED:
        f->rejected.has_msg_id = pb->rejected->has_msg_id;
        if (pb->rejected->has_msg_id &&
            !s_msg_id(f->rejected.msg_id, &pb->rejected->msg_id))
            BAD("rejected msg id is not 16 bytes");
        f->rejected.code = (frame_reject_t)pb->rejected->code;
        f->rejected.reason = pb->rejected->reason;
        return RK_OK;
    case RENRAKU__FRAME__BODY_DELIVER:
        f->deliver.index = pb->deliver->index;
        f->deliver.envelope = pb->deliver->envelope.data;
        f->deliver.envelope_len = pb->deliver->envelope.len;
        return RK_OK;
    case RENRAKU__FRAME__BODY_CONFIRM:
        f->confirm.index = pb->confirm->index;
        if (!s_msg_id(f->confirm.msg_id, &pb->confirm->msg_id))
            BAD("confirm msg id is not 16 bytes");
        return RK_OK;
    case RENRAKU__FRAME__BODY_RECEIPT:
        if (!s_msg_id(f->receipt.msg_id, &pb->receipt->msg_id))
            BAD("receipt msg id is not 16 bytes");
        f->receipt.recipient = pb->receipt->recipient;
        f->receipt.status = (frame_receipt_status_t)pb->receipt->status;
        f->receipt.time_ms = pb->receipt->time_ms;
        f->receipt.index = pb->receipt->index;
        f->receipt.reason = pb->receipt->reason;
        return RK_OK;
    case RENRAKU__FRAME__BODY_PING:
        f->ping.has_nonce = pb->ping->has_nonce;
        f->ping.nonce = pb->ping->nonce;
        return RK_OK;
    case RENRAKU__FRAME__BODY_PONG:
        f->pong.has_nonce = pb->pong->has_nonce;
        f->pong.nonce = pb->pong->nonce;
        return RK_OK;
    case RENRAKU__FRAME__BODY_ROSTER:
        f->roster.signed_roster = pb->roster->signed_roster.data;
        f->roster.signed_roster_len = pb->roster->signed_roster.len;
        return RK_OK;
    case RENRAKU__FRAME__BODY_CHECKPOINT_REQUEST:
        return RK_OK;
    case RENRAKU__FRAME__BODY_CHECKPOINT:
        f->checkpoint.note = pb->checkpoint->note.data;
        f->checkpoint.note_len = pb->checkpoint->note.len;
        return RK_OK;
    case RENRAKU__FRAME__BODY_INCLUSION_REQUEST: {
        const Renraku__InclusionRequest *r = pb->inclusion_request;
        f->inclusion_request.has_msg_id = r->has_msg_id;
        if (r->has_msg_id && !s_msg_id(f->inclusion_request.msg_id, &r->msg_id))
            BAD("inclusion request msg id is not 16 bytes");
        f->inclusion_request.has_index = r->has_index;
        f->inclusion_request.index = r->index;
        return RK_OK;
    }
    case RENRAKU__FRAME__BODY_INCLUSION: {
        const Renraku__InclusionProof *p = pb->inclusion;
        f->inclusion.index = p->index;
        f->inclusion.record = p->record.data;
        f->inclusion.record_len = p->record.len;
        f->inclusion.checkpoint = p->checkpoint.data;
        f->inclusion.checkpoint_len = p->checkpoint.len;
        return s_hashes(self, p->hashes, p->n_hashes, &f->inclusion.hashes,
                        &f->inclusion.n_hashes, why);
    }
    case RENRAKU__FRAME__BODY_CONSISTENCY_REQUEST:
        f->consistency_request.size1 = pb->consistency_request->size1;
        f->consistency_request.size2 = pb->consistency_request->size2;
        return RK_OK;
    case RENRAKU__FRAME__BODY_CONSISTENCY: {
        const Renraku__ConsistencyProof *p = pb->consistency;
        f->consistency.size1 = p->size1;
        f->consistency.size2 = p->size2;
        return s_hashes(self, p->hashes, p->n_hashes, &f->consistency.hashes,
                        &f->consistency.n_hashes, why);
    }
    default:
        BAD("frame has no body");
    }
}

#undef BAD

int
frame_decode(const uint8_t *buf, size_t len, frame_t **out, const char **why) {
    s_frame_t *self = NULL;
    const char *w = NULL;
    size_t bodies = 0, cap;
    int rc;

    if (why)
        *why = NULL;
    rc = RK_ERR_MALFORMED;
    if (!buf || len == 0) {
        w = "frame is empty";
        goto fail;
    }
    if (len > FRAME_MAX_BYTES) {
        w = "frame is larger than 1 MiB + 4 KiB";
        rc = RK_ERR_TOO_LARGE;
        goto fail;
    }
    /* One block for the frame and every field protobuf-c unpacks (the
     * bytes fields are copies of the input, so the input's length and a
     * little more): a malloc per decode instead of one per field. */
    cap = len + S_ARENA_EXTRA;
    self = malloc(sizeof *self + cap);
    if (!self) {
        w = "out of memory";
        rc = RK_ERR_NOMEM;
        goto fail;
    }
    memset(self, 0, sizeof *self);
    pb_arena_init(&self->arena, self->block, cap);
    self->pb = renraku__frame__unpack(&self->arena.pb, len, buf);
    if (!self->pb) {
        /* protobuf-c's unpack returns NULL both for bad bytes and for a
         * failed allocation; the arena tells the two apart. */
        bool nomem = self->arena.nomem;
        w = nomem ? "out of memory" : "frame does not decode as protobuf";
        rc = nomem ? RK_ERR_NOMEM : RK_ERR_MALFORMED;
        goto fail;
    }
    if (!s_count_fields(buf, len, RENRAKU__FRAME__BODY_HELLO,
                        RENRAKU__FRAME__BODY_CONSISTENCY, &bodies)) {
        w = "frame does not decode as protobuf";
        goto fail;
    }
    if (bodies == 0 || self->pb->body_case == RENRAKU__FRAME__BODY__NOT_SET) {
        /* e.g. a frame type from a later version */
        w = self->pb->base.n_unknown_fields
                ? "frame has no body known to version 1"
                : "frame has no body";
        goto fail;
    }
    if (bodies > 1) {
        w = "frame has more than one body";
        goto fail;
    }
    /* A later version's hello may well carry fields unknown here: tell
     * that node its version is the problem, not its bytes. */
    if (self->pb->body_case == RENRAKU__FRAME__BODY_HELLO &&
        self->pb->hello->version != FRAME_VERSION) {
        w = "hello asks for an unsupported protocol version";
        rc = RK_ERR_VERSION;
        goto fail;
    }
    if (self->pb->base.n_unknown_fields) {
        w = "frame has a field unknown to version 1";
        goto fail;
    }
    if (s_body_has_unknown(self->pb)) {
        w = "frame body has a field unknown to version 1";
        goto fail;
    }
    rc = s_from_pb(self, &w);
    if (rc != RK_OK)
        goto fail;
    rc = s_check(&self->pub, &w);
    if (rc != RK_OK)
        goto fail;
    /* A field sent twice (merged or overwritten) or a NUL inside a string
     * (cut by the C string) decodes to less than was sent. */
    if (renraku__frame__get_packed_size(self->pb) != len) {
        w = "frame is not in canonical form (a field sent twice, a varint "
            "longer than needed or a NUL inside a string)";
        rc = RK_ERR_MALFORMED;
        goto fail;
    }
    *out = &self->pub;
    return RK_OK;
fail:
    if (why)
        *why = w;
    if (self) {
        frame_t *pub = &self->pub;
        frame_destroy(&pub);
    }
    return rc;
}

void
frame_destroy(frame_t **self_p) {
    s_frame_t *self;
    if (!self_p || !*self_p)
        return;
    self = (s_frame_t *)*self_p;
    /* Everything in the block goes with it; only a spill needs the walk. */
    if (self->pb && pb_arena_spilled(&self->arena))
        renraku__frame__free_unpacked(self->pb, &self->arena.pb);
    pb_arena_done(&self->arena);
    free(self->hashes);
    free(self);
    *self_p = NULL;
}

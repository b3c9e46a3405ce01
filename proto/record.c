/* record: the only place that turns renraku.LogRecord protobufs into plain
 * C structs and back. One set of rules (s_check) guards encode and
 * decode; decode adds what only bytes can get wrong (fixed lengths,
 * unknown or repeated fields). The log's hashing is merkle's, over the
 * exact bytes. */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "pb_arena.h"
#include "renraku.pb-c.h"

#define S_DIGEST_LEN 32 /* SHA-256 */

/* What record_decode hands out: the public record first, so
 * record_destroy can get back to the rest. */
typedef struct {
    record_t pub;
    Renraku__LogRecord *pb; /* owns every string and byte field pub uses */
} s_record_t;

static const char *const s_type_names[] = {
    "accepted", "delivered", "expired",       "refused",
    "roster",   "relay",     "undeliverable",
};

const char *
record_type_name(record_type_t t) {
    if (t >= RECORD_ACCEPTED && t <= RECORD_UNDELIVERABLE)
        return s_type_names[t - RECORD_ACCEPTED];
    return "unknown";
}

record_type_t
record_type_from_name(const char *name) {
    if (!name)
        return (record_type_t)0;
    for (int t = RECORD_ACCEPTED; t <= RECORD_UNDELIVERABLE; t++)
        if (strcmp(name, s_type_names[t - RECORD_ACCEPTED]) == 0)
            return (record_type_t)t;
    return (record_type_t)0;
}

/* ---- Rules shared by encode and decode ---- */

#define CHECK(cond, code, reason)                                              \
    do {                                                                       \
        if (!(cond)) {                                                         \
            *why = (reason);                                                   \
            return (code);                                                     \
        }                                                                      \
    } while (0)

/* The rules of record.h on the plain form. Returns 0, or RK_ERR_MALFORMED,
 * RK_ERR_TOO_LARGE or RK_ERR_VERSION with *why set; record_encode turns
 * all but RK_ERR_TOO_LARGE into RK_ERR_INVALID. */
static int
s_check(const record_t *r, const char **why) {
    CHECK(r->version == RECORD_VERSION, RK_ERR_VERSION,
          "unsupported record version");
    switch (r->type) {
    case RECORD_ACCEPTED:
        CHECK(envelope_node_id_valid(r->accepted.sender), RK_ERR_MALFORMED,
              "accepted sender is not a valid node id");
        CHECK(r->accepted.envelope && r->accepted.envelope_len > 0,
              RK_ERR_MALFORMED, "accepted record has an empty envelope");
        CHECK(r->accepted.envelope_len <= ENVELOPE_MAX_BYTES, RK_ERR_TOO_LARGE,
              "accepted envelope is larger than 1 MiB");
        return RK_OK;
    case RECORD_DELIVERED:
        CHECK(r->delivered.accepted_index < r->index, RK_ERR_MALFORMED,
              "delivered record points at or after itself");
        CHECK(envelope_node_id_valid(r->delivered.recipient), RK_ERR_MALFORMED,
              "delivered recipient is not a valid node id");
        return RK_OK;
    case RECORD_EXPIRED:
        CHECK(r->expired.accepted_index < r->index, RK_ERR_MALFORMED,
              "expired record points at or after itself");
        CHECK(r->expired.n_recipients > 0 && r->expired.recipients,
              RK_ERR_MALFORMED, "expired record names no recipient");
        CHECK(r->expired.n_recipients <= ENVELOPE_MAX_RECIPIENTS,
              RK_ERR_TOO_LARGE, "expired record names over 4096 recipients");
        for (size_t i = 0; i < r->expired.n_recipients; i++)
            CHECK(envelope_node_id_valid(r->expired.recipients[i]),
                  RK_ERR_MALFORMED,
                  "an expired recipient is not a valid node id");
        return RK_OK;
    case RECORD_UNDELIVERABLE:
        CHECK(r->undeliverable.accepted_index < r->index, RK_ERR_MALFORMED,
              "undeliverable record points at or after itself");
        CHECK(r->undeliverable.n_recipients > 0 && r->undeliverable.recipients,
              RK_ERR_MALFORMED, "undeliverable record names no recipient");
        CHECK(r->undeliverable.n_recipients <= ENVELOPE_MAX_RECIPIENTS,
              RK_ERR_TOO_LARGE,
              "undeliverable record names over 4096 recipients");
        for (size_t i = 0; i < r->undeliverable.n_recipients; i++)
            CHECK(envelope_node_id_valid(r->undeliverable.recipients[i]),
                  RK_ERR_MALFORMED,
                  "an undeliverable recipient is not a valid node id");
        CHECK(r->undeliverable.reason &&
                  (strcmp(r->undeliverable.reason, "revoked") == 0 ||
                   strcmp(r->undeliverable.reason, "removed") == 0),
              RK_ERR_MALFORMED,
              "undeliverable reason is neither revoked nor removed");
        return RK_OK;
    case RECORD_REFUSED:
        CHECK(!r->refused.peer || envelope_node_id_valid(r->refused.peer),
              RK_ERR_MALFORMED, "refused peer is not a valid node id");
        CHECK(!r->refused.claimed_sender ||
                  envelope_node_id_valid(r->refused.claimed_sender),
              RK_ERR_MALFORMED,
              "refused claimed sender is not a valid node id");
        CHECK(r->refused.code >= FRAME_REJECT_MALFORMED &&
                  r->refused.code <= FRAME_REJECT_MAX,
              RK_ERR_MALFORMED, "refused record has an unknown reject code");
        CHECK(r->refused.reason && r->refused.reason[0], RK_ERR_MALFORMED,
              "refused reason is empty");
        CHECK(frame_text_valid(r->refused.reason), RK_ERR_MALFORMED,
              "refused reason is not one line of UTF-8 text of at most 512 "
              "bytes");
        return RK_OK;
    case RECORD_ROSTER:
        CHECK(r->roster.signed_roster && r->roster.signed_roster_len > 0,
              RK_ERR_MALFORMED, "roster record has an empty roster");
        return RK_OK;
    case RECORD_RELAY:
        CHECK(envelope_node_id_valid(r->relay.event), RK_ERR_MALFORMED,
              "relay event is not a valid token");
        CHECK(!r->relay.detail || frame_text_valid(r->relay.detail),
              RK_ERR_MALFORMED,
              "relay detail is not one line of UTF-8 text of 1 to 512 bytes");
        return RK_OK;
    }
    *why = "unknown record type";
    return RK_ERR_MALFORMED;
}

#undef CHECK

/* ---- Encode ---- */

static ProtobufCBinaryData
s_bin(const uint8_t *p, size_t len) {
    ProtobufCBinaryData b = {len, (uint8_t *)p};
    return b;
}

/* record_encode and record_encode_to: into a new block (to NULL: *out,
 * *len) or into the scratch buffer to. */
static int
s_encode(const record_t *r, rk_wbuf_t *to, uint8_t **out, size_t *len) {
    Renraku__LogRecord lr = RENRAKU__LOG_RECORD__INIT;
    union {
        Renraku__RecAccepted accepted;
        Renraku__RecDelivered delivered;
        Renraku__RecExpired expired;
        Renraku__RecRefused refused;
        Renraku__RecRoster roster;
        Renraku__RecRelay relay;
        Renraku__RecUndeliverable undeliverable;
    } b;
    const char *why = NULL;
    size_t n;
    int rc;

    rc = s_check(r, &why);
    if (rc != RK_OK)
        return rc == RK_ERR_TOO_LARGE ? rc : RK_ERR_INVALID;

    lr.version = r->version;
    lr.index = r->index;
    lr.time_ms = r->time_ms;
    lr.body_case = (Renraku__LogRecord__BodyCase)r->type;
    switch (r->type) {
    case RECORD_ACCEPTED:
        renraku__rec_accepted__init(&b.accepted);
        b.accepted.sender = (char *)r->accepted.sender;
        b.accepted.envelope =
            s_bin(r->accepted.envelope, r->accepted.envelope_len);
        lr.accepted = &b.accepted;
        break;
    case RECORD_DELIVERED:
        renraku__rec_delivered__init(&b.delivered);
        b.delivered.accepted_index = r->delivered.accepted_index;
        b.delivered.msg_id = s_bin(r->delivered.msg_id, ENVELOPE_MSG_ID_LEN);
        b.delivered.recipient = (char *)r->delivered.recipient;
        lr.delivered = &b.delivered;
        break;
    case RECORD_EXPIRED:
        renraku__rec_expired__init(&b.expired);
        b.expired.accepted_index = r->expired.accepted_index;
        b.expired.msg_id = s_bin(r->expired.msg_id, ENVELOPE_MSG_ID_LEN);
        b.expired.n_recipients = r->expired.n_recipients;
        b.expired.recipients = (char **)r->expired.recipients;
        lr.expired = &b.expired;
        break;
    case RECORD_UNDELIVERABLE:
        renraku__rec_undeliverable__init(&b.undeliverable);
        b.undeliverable.accepted_index = r->undeliverable.accepted_index;
        b.undeliverable.msg_id =
            s_bin(r->undeliverable.msg_id, ENVELOPE_MSG_ID_LEN);
        b.undeliverable.n_recipients = r->undeliverable.n_recipients;
        b.undeliverable.recipients = (char **)r->undeliverable.recipients;
        b.undeliverable.reason = (char *)r->undeliverable.reason;
        b.undeliverable.roster_serial = r->undeliverable.roster_serial;
        lr.undeliverable = &b.undeliverable;
        break;
    case RECORD_REFUSED:
        renraku__rec_refused__init(&b.refused);
        b.refused.peer = (char *)r->refused.peer;
        if (r->refused.has_msg_id) {
            b.refused.has_msg_id = 1;
            b.refused.msg_id = s_bin(r->refused.msg_id, ENVELOPE_MSG_ID_LEN);
        }
        b.refused.claimed_sender = (char *)r->refused.claimed_sender;
        b.refused.code = (Renraku__RejectCode)r->refused.code;
        b.refused.reason = (char *)r->refused.reason;
        b.refused.size = r->refused.size;
        if (r->refused.has_digest) {
            b.refused.has_digest = 1;
            b.refused.digest = s_bin(r->refused.digest, S_DIGEST_LEN);
        }
        lr.refused = &b.refused;
        break;
    case RECORD_ROSTER:
        renraku__rec_roster__init(&b.roster);
        b.roster.serial = r->roster.serial;
        b.roster.signed_roster =
            s_bin(r->roster.signed_roster, r->roster.signed_roster_len);
        lr.roster = &b.roster;
        break;
    case RECORD_RELAY:
        renraku__rec_relay__init(&b.relay);
        b.relay.event = (char *)r->relay.event;
        b.relay.detail = (char *)r->relay.detail;
        lr.relay = &b.relay;
        break;
    }

    n = renraku__log_record__get_packed_size(&lr);
    if (n > RECORD_MAX_BYTES)
        return RK_ERR_TOO_LARGE;
    return pb_pack_out(&lr.base, n, to, out, len);
}

int
record_encode(const record_t *r, uint8_t **out, size_t *len) {
    if (!r || !out || !len)
        return RK_ERR_INVALID;
    return s_encode(r, NULL, out, len);
}

int
record_encode_to(const record_t *r, rk_wbuf_t *b) {
    if (!r || !b)
        return RK_ERR_INVALID;
    /* A scratch buffer: whatever it held goes, and so does an earlier
     * failure (the allocation is tried again). */
    b->len = 0;
    b->failed = 0;
    return s_encode(r, b, NULL, NULL);
}

/* ---- Decode ---- */

/* protobuf-c's unpack returns NULL both for bad bytes and for a failed
 * allocation; this allocator tells the two apart. */
static void *
s_pb_alloc(void *data, size_t size) {
    void *p = malloc(size);
    if (!p && size)
        *(bool *)data = true;
    return p;
}

static void
s_pb_free(void *data, void *p) {
    (void)data;
    free(p);
}

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

static bool
s_copy_id(uint8_t *out, size_t n, const ProtobufCBinaryData *b) {
    if (b->len != n)
        return false;
    memcpy(out, b->data, n);
    return true;
}

#define BAD(reason)                                                            \
    do {                                                                       \
        *why = (reason);                                                       \
        return RK_ERR_MALFORMED;                                               \
    } while (0)

/* Fills self->pub from self->pb: unknown fields and fixed lengths here,
 * the rest s_check. */
static int
s_from_pb(s_record_t *self, const char **why) {
    const Renraku__LogRecord *pb = self->pb;
    record_t *r = &self->pub;
    const ProtobufCMessage *body = NULL;

    r->version = pb->version;
    r->index = pb->index;
    r->time_ms = pb->time_ms;
    r->type = (record_type_t)pb->body_case;
    switch (pb->body_case) {
    case RENRAKU__LOG_RECORD__BODY_ACCEPTED:
        body = &pb->accepted->base;
        r->accepted.sender = pb->accepted->sender;
        r->accepted.envelope = pb->accepted->envelope.data;
        r->accepted.envelope_len = pb->accepted->envelope.len;
        break;
    case RENRAKU__LOG_RECORD__BODY_DELIVERED:
        body = &pb->delivered->base;
        r->delivered.accepted_index = pb->delivered->accepted_index;
        if (!s_copy_id(r->delivered.msg_id, ENVELOPE_MSG_ID_LEN,
                       &pb->delivered->msg_id))
            BAD("delivered msg id is not 16 bytes");
        r->delivered.recipient = pb->delivered->recipient;
        break;
    case RENRAKU__LOG_RECORD__BODY_EXPIRED:
        body = &pb->expired->base;
        r->expired.accepted_index = pb->expired->accepted_index;
        if (!s_copy_id(r->expired.msg_id, ENVELOPE_MSG_ID_LEN,
                       &pb->expired->msg_id))
            BAD("expired msg id is not 16 bytes");
        r->expired.recipients = (const char *const *)pb->expired->recipients;
        r->expired.n_recipients = pb->expired->n_recipients;
        break;
    case RENRAKU__LOG_RECORD__BODY_UNDELIVERABLE: {
        const Renraku__RecUndeliverable *f = pb->undeliverable;
        body = &f->base;
        r->undeliverable.accepted_index = f->accepted_index;
        if (!s_copy_id(r->undeliverable.msg_id, ENVELOPE_MSG_ID_LEN,
                       &f->msg_id))
            BAD("undeliverable msg id is not 16 bytes");
        r->undeliverable.recipients = (const char *const *)f->recipients;
        r->undeliverable.n_recipients = f->n_recipients;
        r->undeliverable.reason = f->reason;
        r->undeliverable.roster_serial = f->roster_serial;
        break;
    }
    case RENRAKU__LOG_RECORD__BODY_REFUSED: {
        const Renraku__RecRefused *f = pb->refused;
        body = &f->base;
        r->refused.peer = f->peer;
        r->refused.has_msg_id = f->has_msg_id;
        if (f->has_msg_id &&
            !s_copy_id(r->refused.msg_id, ENVELOPE_MSG_ID_LEN, &f->msg_id))
            BAD("refused msg id is not 16 bytes");
        r->refused.claimed_sender = f->claimed_sender;
        r->refused.code = (frame_reject_t)f->code;
        r->refused.reason = f->reason;
        r->refused.size = f->size;
        r->refused.has_digest = f->has_digest;
        if (f->has_digest &&
            !s_copy_id(r->refused.digest, S_DIGEST_LEN, &f->digest))
            BAD("refused digest is not 32 bytes");
        break;
    }
    case RENRAKU__LOG_RECORD__BODY_ROSTER:
        body = &pb->roster->base;
        r->roster.serial = pb->roster->serial;
        r->roster.signed_roster = pb->roster->signed_roster.data;
        r->roster.signed_roster_len = pb->roster->signed_roster.len;
        break;
    case RENRAKU__LOG_RECORD__BODY_RELAY:
        body = &pb->relay->base;
        r->relay.event = pb->relay->event;
        r->relay.detail = pb->relay->detail;
        break;
    default:
        BAD("record has no body");
    }
    if (body->n_unknown_fields)
        BAD("record body has a field unknown to version 1");
    return RK_OK;
}

#undef BAD

/* RK_OK when pb packs to exactly buf. */
static int
s_canonical(const Renraku__LogRecord *pb, const uint8_t *buf, size_t len,
            const char **why) {
    uint8_t *again;
    bool same;

    if (renraku__log_record__get_packed_size(pb) != len) {
        *why = "record is not in canonical form (a field sent twice, a "
               "varint longer than needed or a NUL inside a string)";
        return RK_ERR_MALFORMED;
    }
    again = malloc(len);
    if (!again) {
        *why = "out of memory";
        return RK_ERR_NOMEM;
    }
    renraku__log_record__pack(pb, again);
    same = memcmp(again, buf, len) == 0;
    free(again);
    if (!same) {
        *why = "record is not in canonical form (fields out of order)";
        return RK_ERR_MALFORMED;
    }
    return RK_OK;
}

int
record_decode(const uint8_t *buf, size_t len, record_t **out,
              const char **why) {
    s_record_t *self = NULL;
    const char *w = NULL;
    bool nomem = false;
    ProtobufCAllocator pba = {s_pb_alloc, s_pb_free, &nomem};
    size_t bodies = 0;
    int rc;

    if (why)
        *why = NULL;
    rc = RK_ERR_MALFORMED;
    if (!buf || len == 0) {
        w = "record is empty";
        goto fail;
    }
    if (len > RECORD_MAX_BYTES) {
        w = "record is larger than 1 MiB + 4 KiB";
        rc = RK_ERR_TOO_LARGE;
        goto fail;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        w = "out of memory";
        rc = RK_ERR_NOMEM;
        goto fail;
    }
    self->pb = renraku__log_record__unpack(&pba, len, buf);
    if (!self->pb) {
        w = nomem ? "out of memory" : "record does not decode as protobuf";
        rc = nomem ? RK_ERR_NOMEM : RK_ERR_MALFORMED;
        goto fail;
    }
    /* A later version's record may well carry fields unknown here. */
    if (self->pb->version != RECORD_VERSION) {
        w = "unsupported record version";
        rc = RK_ERR_VERSION;
        goto fail;
    }
    if (!s_count_fields(buf, len, RENRAKU__LOG_RECORD__BODY_ACCEPTED,
                        RENRAKU__LOG_RECORD__BODY_UNDELIVERABLE, &bodies)) {
        w = "record does not decode as protobuf";
        goto fail;
    }
    if (bodies == 0 ||
        self->pb->body_case == RENRAKU__LOG_RECORD__BODY__NOT_SET) {
        /* e.g. a record type from a later version */
        w = self->pb->base.n_unknown_fields
                ? "record has no body known to version 1"
                : "record has no body";
        goto fail;
    }
    if (bodies > 1) {
        w = "record has more than one body";
        goto fail;
    }
    if (self->pb->base.n_unknown_fields) {
        w = "record has a field unknown to version 1";
        goto fail;
    }
    rc = s_from_pb(self, &w);
    if (rc != RK_OK)
        goto fail;
    rc = s_check(&self->pub, &w);
    if (rc != RK_OK)
        goto fail;
    /* Records are hashed as stored: refuse any encoding but the one
     * record_encode makes (a field sent twice, out of order or as a longer
     * varint, a NUL inside a string), so re-encoding gives back the same
     * leaf. */
    rc = s_canonical(self->pb, buf, len, &w);
    if (rc != RK_OK)
        goto fail;
    *out = &self->pub;
    return RK_OK;
fail:
    if (why)
        *why = w;
    if (self) {
        record_t *pub = &self->pub;
        record_destroy(&pub);
    }
    return rc;
}

void
record_destroy(record_t **self_p) {
    s_record_t *self;
    if (!self_p || !*self_p)
        return;
    self = (s_record_t *)*self_p;
    if (self->pb)
        renraku__log_record__free_unpacked(self->pb, NULL);
    free(self);
    *self_p = NULL;
}

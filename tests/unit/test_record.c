/* Unit tests for proto/record: every record type round-trips, a
 * known-answer encoding, and each way untrusted bytes (a log handed to an
 * auditor) must be refused, with its code and its sentence. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "renraku.pb-c.h"
#include "rk_util.h"

#define TIME_MS 1795331880000ull /* 2026-11-22T07:18:00Z */

static const uint8_t s_id[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
                                 0x0c, 0x0d, 0x0e, 0x0f};
static const uint8_t s_digest[32] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
    0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
    0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
static const uint8_t s_env[] = "ciphertext and metadata, never plaintext";
static const uint8_t s_roster[] = "renraku roster 7\n\n\xe2\x80\x94 sig\n";
static const char *const s_rcpts[] = {"us.cisa", "sg.csa", "jp.nisc"};

/* A record of type t with every field set to something recognisable. */
static record_t
sample(record_type_t t) {
    record_t r = {
        .version = RECORD_VERSION, .index = 100, .time_ms = TIME_MS, .type = t};
    switch (t) {
    case RECORD_ACCEPTED:
        r.accepted = (record_accepted_t){"ctl.test", s_env, sizeof s_env};
        break;
    case RECORD_DELIVERED:
        r.delivered.accepted_index = 99;
        memcpy(r.delivered.msg_id, s_id, 16);
        r.delivered.recipient = "jp.nisc";
        break;
    case RECORD_EXPIRED:
        r.expired.accepted_index = 0;
        memcpy(r.expired.msg_id, s_id, 16);
        r.expired.recipients = s_rcpts;
        r.expired.n_recipients = 3;
        break;
    case RECORD_REFUSED:
        r.refused.peer = "sg.csa";
        r.refused.has_msg_id = true;
        memcpy(r.refused.msg_id, s_id, 16);
        r.refused.claimed_sender = "jp.nisc";
        r.refused.code = FRAME_REJECT_SENDER_MISMATCH;
        r.refused.reason = "header sender is not the authenticated node";
        r.refused.size = 4096;
        r.refused.has_digest = true;
        memcpy(r.refused.digest, s_digest, 32);
        break;
    case RECORD_ROSTER:
        r.roster = (record_roster_t){7, s_roster, sizeof s_roster - 1};
        break;
    case RECORD_RELAY:
        r.relay = (record_relay_t){"started", "renraku-relay 0.1, 3 nodes"};
        break;
    case RECORD_UNDELIVERABLE:
        r.undeliverable.accepted_index = 42;
        memcpy(r.undeliverable.msg_id, s_id, 16);
        r.undeliverable.recipients = s_rcpts;
        r.undeliverable.n_recipients = 2;
        r.undeliverable.reason = "revoked";
        r.undeliverable.roster_serial = 8;
        break;
    }
    return r;
}

static void
assert_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    assert_int_equal(alen, blen);
    if (alen)
        assert_memory_equal(a, b, alen);
}

static void
assert_opt_string(const char *a, const char *b) {
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void
assert_record_equal(const record_t *a, const record_t *b) {
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->index, b->index);
    assert_int_equal(a->time_ms, b->time_ms);
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case RECORD_ACCEPTED:
        assert_string_equal(a->accepted.sender, b->accepted.sender);
        assert_bytes(a->accepted.envelope, a->accepted.envelope_len,
                     b->accepted.envelope, b->accepted.envelope_len);
        break;
    case RECORD_DELIVERED:
        assert_int_equal(a->delivered.accepted_index,
                         b->delivered.accepted_index);
        assert_memory_equal(a->delivered.msg_id, b->delivered.msg_id, 16);
        assert_string_equal(a->delivered.recipient, b->delivered.recipient);
        break;
    case RECORD_EXPIRED:
        assert_int_equal(a->expired.accepted_index, b->expired.accepted_index);
        assert_memory_equal(a->expired.msg_id, b->expired.msg_id, 16);
        assert_int_equal(a->expired.n_recipients, b->expired.n_recipients);
        for (size_t i = 0; i < a->expired.n_recipients; i++)
            assert_string_equal(a->expired.recipients[i],
                                b->expired.recipients[i]);
        break;
    case RECORD_REFUSED:
        assert_opt_string(a->refused.peer, b->refused.peer);
        assert_int_equal(a->refused.has_msg_id, b->refused.has_msg_id);
        if (a->refused.has_msg_id)
            assert_memory_equal(a->refused.msg_id, b->refused.msg_id, 16);
        assert_opt_string(a->refused.claimed_sender, b->refused.claimed_sender);
        assert_int_equal(a->refused.code, b->refused.code);
        assert_string_equal(a->refused.reason, b->refused.reason);
        assert_int_equal(a->refused.size, b->refused.size);
        assert_int_equal(a->refused.has_digest, b->refused.has_digest);
        if (a->refused.has_digest)
            assert_memory_equal(a->refused.digest, b->refused.digest, 32);
        break;
    case RECORD_ROSTER:
        assert_int_equal(a->roster.serial, b->roster.serial);
        assert_bytes(a->roster.signed_roster, a->roster.signed_roster_len,
                     b->roster.signed_roster, b->roster.signed_roster_len);
        break;
    case RECORD_RELAY:
        assert_string_equal(a->relay.event, b->relay.event);
        assert_opt_string(a->relay.detail, b->relay.detail);
        break;
    case RECORD_UNDELIVERABLE:
        assert_int_equal(a->undeliverable.accepted_index,
                         b->undeliverable.accepted_index);
        assert_memory_equal(a->undeliverable.msg_id, b->undeliverable.msg_id,
                            16);
        assert_int_equal(a->undeliverable.n_recipients,
                         b->undeliverable.n_recipients);
        for (size_t i = 0; i < a->undeliverable.n_recipients; i++)
            assert_string_equal(a->undeliverable.recipients[i],
                                b->undeliverable.recipients[i]);
        assert_string_equal(a->undeliverable.reason, b->undeliverable.reason);
        assert_int_equal(a->undeliverable.roster_serial,
                         b->undeliverable.roster_serial);
        break;
    default:
        fail_msg("unexpected type %d", (int)a->type);
    }
}

static void
assert_refused(const uint8_t *buf, size_t len, int rc, const char *want) {
    record_t *r = NULL;
    const char *why = NULL;
    int got = record_decode(buf, len, &r, &why);
    if (got != rc || !why || strcmp(why, want) != 0)
        fail_msg("decode gave %d (%s), expected %d (%s)", got,
                 why ? why : "no reason", rc, want);
    assert_null(r);
}

static void
pack_record(const Renraku__LogRecord *lr, uint8_t **out, size_t *len) {
    *len = renraku__log_record__get_packed_size(lr);
    *out = malloc(*len ? *len : 1);
    assert_non_null(*out);
    renraku__log_record__pack(lr, *out);
}

/* ---- Round trips ---- */

static void
test_round_trip_every_type(void **state) {
    (void)state;
    for (int t = RECORD_ACCEPTED; t <= RECORD_UNDELIVERABLE; t++) {
        record_t r = sample((record_type_t)t);
        record_t *d = NULL;
        uint8_t *buf = NULL, *again = NULL;
        size_t len = 0, len2 = 0;
        const char *why = "unset";

        assert_int_equal(record_encode(&r, &buf, &len), RK_OK);
        assert_true(len > 0 && len <= RECORD_MAX_BYTES);
        if (record_decode(buf, len, &d, &why) != RK_OK)
            fail_msg("%s: %s", record_type_name((record_type_t)t), why);
        assert_null(why);
        assert_record_equal(&r, d);
        assert_int_equal(record_encode(d, &again, &len2), RK_OK);
        assert_bytes(buf, len, again, len2);
        record_destroy(&d);
        assert_null(d);
        free(again);
        free(buf);
    }
}

/* Optional fields left out stay out; extreme values survive. */
static void
test_round_trip_minimal(void **state) {
    record_t r[2] = {sample(RECORD_REFUSED), sample(RECORD_RELAY)};
    (void)state;
    r[0].index = 0;
    r[0].time_ms = 0;
    r[0].refused.peer = NULL;
    r[0].refused.has_msg_id = false;
    r[0].refused.claimed_sender = NULL;
    r[0].refused.has_digest = false;
    r[0].refused.size = UINT32_MAX;
    r[1].index = UINT64_MAX;
    r[1].time_ms = UINT64_MAX;
    r[1].relay.detail = NULL;
    for (size_t i = 0; i < 2; i++) {
        record_t *d = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(record_encode(&r[i], &buf, &len), RK_OK);
        assert_int_equal(record_decode(buf, len, &d, NULL), RK_OK);
        assert_record_equal(&r[i], d);
        record_destroy(&d);
        free(buf);
    }
}

/* An accepted record with an envelope at its limit fits the record cap. */
static void
test_round_trip_largest(void **state) {
    uint8_t *env = calloc(1, ENVELOPE_MAX_BYTES);
    record_t r = sample(RECORD_ACCEPTED), *d = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    (void)state;
    assert_non_null(env);
    r.accepted.sender = "a123456789012345678901234567890123456789012345678901"
                        "23456789012"; /* 63 bytes */
    r.accepted.envelope = env;
    r.accepted.envelope_len = ENVELOPE_MAX_BYTES;
    r.index = UINT64_MAX;
    r.time_ms = UINT64_MAX;
    assert_int_equal(record_encode(&r, &buf, &len), RK_OK);
    assert_true(len <= RECORD_MAX_BYTES);
    assert_int_equal(record_decode(buf, len, &d, NULL), RK_OK);
    assert_record_equal(&r, d);
    record_destroy(&d);
    free(buf);
    r.accepted.envelope_len = ENVELOPE_MAX_BYTES + 1;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_TOO_LARGE);
    free(env);
}

static void
test_encode_refuses(void **state) {
    uint8_t *buf = NULL;
    size_t len = 0;
    record_t r;
    const char *bad_list[] = {"jp.nisc", "Not Valid"};
    (void)state;

    r = sample(RECORD_RELAY);
    r.version = 0;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r.version = 2;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r = sample(RECORD_RELAY);
    r.type = (record_type_t)9;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r.type = (record_type_t)16;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r = sample(RECORD_ACCEPTED);
    r.accepted.sender = NULL;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r = sample(RECORD_ACCEPTED);
    r.accepted.envelope_len = 0;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r = sample(RECORD_DELIVERED);
    r.delivered.accepted_index = r.index;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r = sample(RECORD_EXPIRED);
    r.expired.n_recipients = 0;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r.expired.recipients = bad_list;
    r.expired.n_recipients = 2;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r.expired.n_recipients = ENVELOPE_MAX_RECIPIENTS + 1;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_TOO_LARGE);
    r = sample(RECORD_REFUSED);
    r.refused.code = (frame_reject_t)0;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r = sample(RECORD_REFUSED);
    r.refused.reason = NULL;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r = sample(RECORD_REFUSED);
    r.refused.claimed_sender = "";
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r = sample(RECORD_ROSTER);
    r.roster.signed_roster = NULL;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r = sample(RECORD_RELAY);
    r.relay.event = "Started!";
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r = sample(RECORD_RELAY);
    r.relay.detail = "";
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    assert_int_equal(record_encode(NULL, &buf, &len), RK_ERR_INVALID);
}

/* ---- Known answer ---- */

/* LogRecord{version 1, index 6, time_ms 1795331880000, delivered{
 * accepted_index 5, msg_id 00..0f, recipient "jp.nisc"}}, encoded by hand
 * from the .proto. */
static const char s_delivered_hex[] =
    "0801100618c0e8f990a034"               /* version, index, time */
    "5a1d"                                 /* field 11, 29 bytes */
    "0805"                                 /* accepted_index 5 */
    "1210000102030405060708090a0b0c0d0e0f" /* msg_id */
    "1a076a702e6e697363";                  /* "jp.nisc" */

static void
test_known_answer(void **state) {
    uint8_t want[64];
    size_t want_len = (sizeof s_delivered_hex - 1) / 2;
    record_t r = {.version = 1,
                  .index = 6,
                  .time_ms = TIME_MS,
                  .type = RECORD_DELIVERED},
             *d = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    (void)state;

    r.delivered.accepted_index = 5;
    memcpy(r.delivered.msg_id, s_id, 16);
    r.delivered.recipient = "jp.nisc";
    assert_int_equal(rk_unhex(want, want_len, s_delivered_hex), RK_OK);
    assert_int_equal(record_encode(&r, &buf, &len), RK_OK);
    assert_bytes(buf, len, want, want_len);
    free(buf);
    assert_int_equal(record_decode(want, want_len, &d, NULL), RK_OK);
    assert_record_equal(&r, d);
    record_destroy(&d);
}

/* ---- Refusals ---- */

static void
test_refuses_garbage(void **state) {
    (void)state;
    assert_refused(NULL, 0, RK_ERR_MALFORMED, "record is empty");
    assert_refused((const uint8_t *)"\xff\xff\xff", 3, RK_ERR_MALFORMED,
                   "record does not decode as protobuf");
    assert_refused((const uint8_t *)"log record", 10, RK_ERR_MALFORMED,
                   "record does not decode as protobuf");
    /* No time_ms, which is required. */
    assert_refused((const uint8_t *)"\x08\x01\x10\x06\x7a\x09\x0a\x07started",
                   15, RK_ERR_MALFORMED, "record does not decode as protobuf");
}

static void
test_refuses_every_truncation(void **state) {
    (void)state;
    for (int t = RECORD_ACCEPTED; t <= RECORD_UNDELIVERABLE; t++) {
        record_t r = sample((record_type_t)t);
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(record_encode(&r, &buf, &len), RK_OK);
        for (size_t cut = 0; cut < len; cut++) {
            record_t *d = NULL;
            const char *why = NULL;
            uint8_t *part = malloc(cut ? cut : 1);
            int rc;
            assert_non_null(part);
            memcpy(part, buf, cut);
            rc = record_decode(part, cut, &d, &why);
            if (rc != RK_ERR_MALFORMED)
                fail_msg("%s cut at %zu of %zu gave %d",
                         record_type_name((record_type_t)t), cut, len, rc);
            assert_non_null(why);
            assert_null(d);
            free(part);
        }
        free(buf);
    }
}

static void
test_refuses_body_count(void **state) {
    record_t r = sample(RECORD_RELAY);
    uint8_t *buf = NULL, *two;
    size_t len = 0;
    /* A second relay body, relay{"stopped"}, after a valid record. */
    static const uint8_t extra[] = "\x7a\x09\x0a\x07stopped";
    (void)state;

    assert_int_equal(record_encode(&r, &buf, &len), RK_OK);
    two = malloc(len + sizeof extra - 1);
    assert_non_null(two);
    memcpy(two, buf, len);
    memcpy(two + len, extra, sizeof extra - 1);
    assert_refused(two, len + sizeof extra - 1, RK_ERR_MALFORMED,
                   "record has more than one body");
    free(two);
    free(buf);
    /* A header and no body. */
    assert_refused((const uint8_t *)"\x08\x01\x10\x06\x18\x05", 6,
                   RK_ERR_MALFORMED, "record has no body");
    /* A roster body next to a relay body. */
    assert_refused((const uint8_t *)"\x08\x01\x10\x06\x18\x05"
                                    "\x72\x05\x08\x01\x12\x01x"
                                    "\x7a\x03\x0a\x01x",
                   18, RK_ERR_MALFORMED, "record has more than one body");
}

static void
test_refuses_unknown_fields(void **state) {
    (void)state;
    /* version 1, index 6, time 5, relay{"up"}, field 99 = 1 */
    assert_refused((const uint8_t *)"\x08\x01\x10\x06\x18\x05"
                                    "\x7a\x04\x0a\x02up\x98\x06\x01",
                   15, RK_ERR_MALFORMED,
                   "record has a field unknown to version 1");
    /* relay{"up", field 3 = 1} */
    assert_refused((const uint8_t *)"\x08\x01\x10\x06\x18\x05"
                                    "\x7a\x06\x0a\x02up\x18\x01",
                   14, RK_ERR_MALFORMED,
                   "record body has a field unknown to version 1");
    /* Version 2 with a field 99: the version is the problem. */
    assert_refused((const uint8_t *)"\x08\x02\x10\x06\x18\x05"
                                    "\x7a\x04\x0a\x02up\x98\x06\x01",
                   15, RK_ERR_VERSION, "unsupported record version");
    /* Only a body from a later version. */
    assert_refused((const uint8_t *)"\x08\x01\x10\x06\x18\x05\x8a\x01\x00", 9,
                   RK_ERR_MALFORMED, "record has no body known to version 1");
}

/* Records are hashed as stored: only the one encoding is accepted. */
static void
test_refuses_non_canonical(void **state) {
    (void)state;
    /* index before version. */
    assert_refused((const uint8_t *)"\x10\x06\x08\x01\x18\x05"
                                    "\x7a\x04\x0a\x02up",
                   12, RK_ERR_MALFORMED,
                   "record is not in canonical form (fields out of order)");
    /* index sent twice. */
    assert_refused((const uint8_t *)"\x08\x01\x10\x06\x10\x06\x18\x05"
                                    "\x7a\x04\x0a\x02up",
                   14, RK_ERR_MALFORMED,
                   "record is not in canonical form (a field sent twice, a "
                   "varint longer than needed or a NUL inside a string)");
    /* version as a two-byte varint. */
    assert_refused((const uint8_t *)"\x08\x81\x00\x10\x06\x18\x05"
                                    "\x7a\x04\x0a\x02up",
                   13, RK_ERR_MALFORMED,
                   "record is not in canonical form (a field sent twice, a "
                   "varint longer than needed or a NUL inside a string)");
    /* event "up\0x". */
    assert_refused((const uint8_t *)"\x08\x01\x10\x06\x18\x05"
                                    "\x7a\x06\x0a\x04up\0x",
                   14, RK_ERR_MALFORMED,
                   "record is not in canonical form (a field sent twice, a "
                   "varint longer than needed or a NUL inside a string)");
}

static void
test_refuses_wrong_lengths(void **state) {
    Renraku__LogRecord lr = RENRAKU__LOG_RECORD__INIT;
    Renraku__RecDelivered dl = RENRAKU__REC_DELIVERED__INIT;
    Renraku__RecExpired ex = RENRAKU__REC_EXPIRED__INIT;
    Renraku__RecRefused rf = RENRAKU__REC_REFUSED__INIT;
    char *rcpt[] = {"jp.nisc"};
    uint8_t id[33] = {0};
    uint8_t *buf;
    size_t len;
    (void)state;

#define REFUSED(why)                                                           \
    do {                                                                       \
        pack_record(&lr, &buf, &len);                                          \
        assert_refused(buf, len, RK_ERR_MALFORMED, (why));                     \
        free(buf);                                                             \
    } while (0)

    lr.version = 1;
    lr.index = 10;
    lr.time_ms = TIME_MS;
    lr.body_case = RENRAKU__LOG_RECORD__BODY_DELIVERED;
    lr.delivered = &dl;
    dl.accepted_index = 1;
    dl.recipient = "jp.nisc";
    for (size_t n = 15; n <= 17; n += 2) {
        dl.msg_id = (ProtobufCBinaryData){n, id};
        REFUSED("delivered msg id is not 16 bytes");
    }
    lr.body_case = RENRAKU__LOG_RECORD__BODY_EXPIRED;
    lr.expired = &ex;
    ex.accepted_index = 1;
    ex.n_recipients = 1;
    ex.recipients = rcpt;
    ex.msg_id = (ProtobufCBinaryData){0, id};
    REFUSED("expired msg id is not 16 bytes");
    lr.body_case = RENRAKU__LOG_RECORD__BODY_REFUSED;
    lr.refused = &rf;
    rf.code = RENRAKU__REJECT_CODE__REJECT_REPLAY;
    rf.reason = "replay";
    rf.has_msg_id = 1;
    rf.msg_id = (ProtobufCBinaryData){17, id};
    REFUSED("refused msg id is not 16 bytes");
    rf.msg_id.len = 16;
    rf.has_digest = 1;
    rf.digest = (ProtobufCBinaryData){31, id};
    REFUSED("refused digest is not 32 bytes");
    rf.digest.len = 33;
    REFUSED("refused digest is not 32 bytes");
#undef REFUSED
}

static void
test_refuses_oversize(void **state) {
    uint8_t *big = calloc(1, RECORD_MAX_BYTES + 1);
    Renraku__LogRecord lr = RENRAKU__LOG_RECORD__INIT;
    Renraku__RecAccepted ac = RENRAKU__REC_ACCEPTED__INIT;
    uint8_t *buf;
    size_t len;
    (void)state;
    assert_non_null(big);
    memcpy(big, "\x08\x01\x10\x06\x18\x05\x7a\x04\x0a\x02up", 12);
    assert_refused(big, RECORD_MAX_BYTES + 1, RK_ERR_TOO_LARGE,
                   "record is larger than 1 MiB + 4 KiB");
    lr.version = 1;
    lr.index = 1;
    lr.body_case = RENRAKU__LOG_RECORD__BODY_ACCEPTED;
    lr.accepted = &ac;
    ac.sender = "jp.nisc";
    ac.envelope = (ProtobufCBinaryData){ENVELOPE_MAX_BYTES + 1, big};
    pack_record(&lr, &buf, &len);
    assert_true(len <= RECORD_MAX_BYTES);
    assert_refused(buf, len, RK_ERR_TOO_LARGE,
                   "accepted envelope is larger than 1 MiB");
    free(buf);
    free(big);
}

static void
test_refuses_bad_values(void **state) {
    Renraku__LogRecord lr = RENRAKU__LOG_RECORD__INIT;
    Renraku__RecAccepted ac = RENRAKU__REC_ACCEPTED__INIT;
    Renraku__RecDelivered dl = RENRAKU__REC_DELIVERED__INIT;
    Renraku__RecExpired ex = RENRAKU__REC_EXPIRED__INIT;
    Renraku__RecRefused rf = RENRAKU__REC_REFUSED__INIT;
    Renraku__RecRoster ro = RENRAKU__REC_ROSTER__INIT;
    Renraku__RecRelay re = RENRAKU__REC_RELAY__INIT;
    char *rcpts[] = {"jp.nisc", "-bad"};
    uint8_t *buf;
    size_t len;
    (void)state;

#define REFUSED(code, why)                                                     \
    do {                                                                       \
        pack_record(&lr, &buf, &len);                                          \
        assert_refused(buf, len, (code), (why));                               \
        free(buf);                                                             \
    } while (0)

    lr.index = 10;
    lr.time_ms = TIME_MS;
    lr.body_case = RENRAKU__LOG_RECORD__BODY_RELAY;
    lr.relay = &re;
    re.event = "started";
    lr.version = 2;
    REFUSED(RK_ERR_VERSION, "unsupported record version");
    lr.version = 0;
    REFUSED(RK_ERR_VERSION, "unsupported record version");
    lr.version = 1;
    re.event = "";
    REFUSED(RK_ERR_MALFORMED, "relay event is not a valid token");
    re.event = "started";
    re.detail = "";
    REFUSED(RK_ERR_MALFORMED,
            "relay detail is not one line of UTF-8 text of 1 to 512 bytes");
    re.detail = "line\r\n";
    REFUSED(RK_ERR_MALFORMED,
            "relay detail is not one line of UTF-8 text of 1 to 512 bytes");

    lr.body_case = RENRAKU__LOG_RECORD__BODY_ACCEPTED;
    lr.accepted = &ac;
    ac.sender = "Jp.nisc";
    ac.envelope = (ProtobufCBinaryData){3, (uint8_t *)"env"};
    REFUSED(RK_ERR_MALFORMED, "accepted sender is not a valid node id");
    ac.sender = "jp.nisc";
    ac.envelope.len = 0;
    REFUSED(RK_ERR_MALFORMED, "accepted record has an empty envelope");

    lr.body_case = RENRAKU__LOG_RECORD__BODY_DELIVERED;
    lr.delivered = &dl;
    dl.msg_id = (ProtobufCBinaryData){16, (uint8_t *)s_id};
    dl.recipient = "jp.nisc";
    dl.accepted_index = 10;
    REFUSED(RK_ERR_MALFORMED, "delivered record points at or after itself");
    dl.accepted_index = 9;
    dl.recipient = "jp nisc";
    REFUSED(RK_ERR_MALFORMED, "delivered recipient is not a valid node id");

    lr.body_case = RENRAKU__LOG_RECORD__BODY_EXPIRED;
    lr.expired = &ex;
    ex.msg_id = dl.msg_id;
    ex.accepted_index = 11;
    ex.n_recipients = 1;
    ex.recipients = rcpts;
    REFUSED(RK_ERR_MALFORMED, "expired record points at or after itself");
    ex.accepted_index = 1;
    ex.n_recipients = 0;
    REFUSED(RK_ERR_MALFORMED, "expired record names no recipient");
    ex.n_recipients = 2;
    REFUSED(RK_ERR_MALFORMED, "an expired recipient is not a valid node id");

    lr.body_case = RENRAKU__LOG_RECORD__BODY_REFUSED;
    lr.refused = &rf;
    rf.code = RENRAKU__REJECT_CODE__REJECT_UNSPECIFIED;
    rf.reason = "why";
    REFUSED(RK_ERR_MALFORMED, "refused record has an unknown reject code");
    rf.code = (Renraku__RejectCode)20;
    REFUSED(RK_ERR_MALFORMED, "refused record has an unknown reject code");
    rf.code = RENRAKU__REJECT_CODE__REJECT_STORAGE;
    rf.reason = "";
    REFUSED(RK_ERR_MALFORMED, "refused reason is empty");
    rf.reason = "bad \xff byte";
    REFUSED(RK_ERR_MALFORMED, "refused reason is not one line of UTF-8 text "
                              "of at most 512 bytes");
    rf.reason = "disk full";
    rf.peer = "UPPER";
    REFUSED(RK_ERR_MALFORMED, "refused peer is not a valid node id");
    rf.peer = NULL;
    rf.claimed_sender = "x/y";
    REFUSED(RK_ERR_MALFORMED, "refused claimed sender is not a valid node id");

    lr.body_case = RENRAKU__LOG_RECORD__BODY_ROSTER;
    lr.roster = &ro;
    REFUSED(RK_ERR_MALFORMED, "roster record has an empty roster");
#undef REFUSED
}

/* An undeliverable record names its reason, revoked or removed, and at
 * least one recipient; anything else is refused both ways. */
static void
test_undeliverable_rules(void **state) {
    record_t r = sample(RECORD_UNDELIVERABLE);
    uint8_t *buf = NULL;
    size_t len = 0;
    record_t *d = NULL;
    const char *why = NULL;
    (void)state;
    r.undeliverable.reason = "suspended";
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r.undeliverable.reason = NULL;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r.undeliverable.reason = "removed";
    r.undeliverable.n_recipients = 0;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r.undeliverable.n_recipients = 1;
    r.undeliverable.accepted_index = r.index;
    assert_int_equal(record_encode(&r, &buf, &len), RK_ERR_INVALID);
    r.undeliverable.accepted_index = 3;
    assert_int_equal(record_encode(&r, &buf, &len), RK_OK);
    assert_int_equal(record_decode(buf, len, &d, &why), RK_OK);
    assert_string_equal(d->undeliverable.reason, "removed");
    assert_int_equal(d->undeliverable.roster_serial, 8);
    record_destroy(&d);
    free(buf);
    {
        Renraku__LogRecord lr = RENRAKU__LOG_RECORD__INIT;
        Renraku__RecUndeliverable u = RENRAKU__REC_UNDELIVERABLE__INIT;
        char *names[] = {"us.cisa"};
        lr.version = 1;
        lr.index = 10;
        lr.time_ms = TIME_MS;
        lr.body_case = RENRAKU__LOG_RECORD__BODY_UNDELIVERABLE;
        lr.undeliverable = &u;
        u.accepted_index = 1;
        u.msg_id.data = (uint8_t *)s_id;
        u.msg_id.len = 16;
        u.n_recipients = 1;
        u.recipients = names;
        u.reason = "expired";
        pack_record(&lr, &buf, &len);
        assert_refused(buf, len, RK_ERR_MALFORMED,
                       "undeliverable reason is neither revoked nor removed");
        free(buf);
    }
}

static void
test_names(void **state) {
    static const char *const want[] = {"accepted",     "delivered", "expired",
                                       "refused",      "roster",    "relay",
                                       "undeliverable"};
    (void)state;
    for (int t = RECORD_ACCEPTED; t <= RECORD_UNDELIVERABLE; t++) {
        assert_string_equal(record_type_name((record_type_t)t),
                            want[t - RECORD_ACCEPTED]);
        assert_int_equal(record_type_from_name(want[t - RECORD_ACCEPTED]), t);
    }
    assert_string_equal(record_type_name((record_type_t)0), "unknown");
    assert_string_equal(record_type_name((record_type_t)9), "unknown");
    assert_string_equal(record_type_name((record_type_t)17), "unknown");
    assert_int_equal(record_type_from_name("unknown"), 0);
    assert_int_equal(record_type_from_name(NULL), 0);
    /* The C enum is the oneof number. */
    assert_int_equal(RECORD_ACCEPTED, RENRAKU__LOG_RECORD__BODY_ACCEPTED);
    assert_int_equal(RECORD_RELAY, RENRAKU__LOG_RECORD__BODY_RELAY);
    assert_int_equal(RECORD_UNDELIVERABLE,
                     RENRAKU__LOG_RECORD__BODY_UNDELIVERABLE);
}

/* record_encode_to gives the very bytes record_encode gives, type after
 * type through one reused buffer (a smaller record after a larger one
 * included), and a refusal empties the buffer. */
static void
test_encode_to_reuses_buffer(void **state) {
    rk_wbuf_t b = {0};
    uint8_t big_env[3000];
    record_t r;
    (void)state;
    memset(big_env, 0x5a, sizeof big_env);
    r = sample(RECORD_ACCEPTED);
    r.accepted.envelope = big_env;
    r.accepted.envelope_len = sizeof big_env;
    assert_int_equal(record_encode_to(&r, &b), RK_OK);
    assert_true(b.len > sizeof big_env);
    for (int t = RECORD_ACCEPTED; t <= RECORD_UNDELIVERABLE; t++) {
        uint8_t *want = NULL;
        size_t want_len = 0;
        record_t *back = NULL;
        const uint8_t *before = b.p;
        r = sample((record_type_t)t);
        assert_int_equal(record_encode(&r, &want, &want_len), RK_OK);
        assert_int_equal(record_encode_to(&r, &b), RK_OK);
        assert_ptr_equal(b.p, before); /* large enough: not reallocated */
        assert_bytes(b.p, b.len, want, want_len);
        assert_int_equal(record_decode(b.p, b.len, &back, NULL), RK_OK);
        assert_record_equal(&r, back);
        record_destroy(&back);
        free(want);
    }
    r = sample(RECORD_DELIVERED);
    r.delivered.recipient = "Not An Id";
    assert_int_equal(record_encode_to(&r, &b), RK_ERR_INVALID);
    assert_int_equal(b.len, 0);
    assert_int_equal(record_encode_to(NULL, &b), RK_ERR_INVALID);
    assert_int_equal(record_encode_to(&r, NULL), RK_ERR_INVALID);
    rk_wbuf_free(&b);
    assert_null(b.p);
}

static void
test_destroy_null(void **state) {
    record_t *r = NULL;
    (void)state;
    record_destroy(NULL);
    record_destroy(&r);
    assert_null(r);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_round_trip_minimal),
        cmocka_unit_test(test_round_trip_largest),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_refuses_garbage),
        cmocka_unit_test(test_refuses_every_truncation),
        cmocka_unit_test(test_refuses_body_count),
        cmocka_unit_test(test_refuses_unknown_fields),
        cmocka_unit_test(test_refuses_non_canonical),
        cmocka_unit_test(test_refuses_wrong_lengths),
        cmocka_unit_test(test_refuses_oversize),
        cmocka_unit_test(test_refuses_bad_values),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_undeliverable_rules),
        cmocka_unit_test(test_encode_to_reuses_buffer),
        cmocka_unit_test(test_destroy_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

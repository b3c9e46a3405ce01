/* Unit tests for proto/frame: every frame type round-trips, the one-line
 * encoders, a known-answer encoding, and each way untrusted bytes must be
 * refused (with its code and its sentence). */
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

#include "frame.h"
#include "renraku.pb-c.h"
#include "rk_util.h"

#define TIME_MS 1795331880000ull /* 2026-11-22T07:18:00Z */

static const uint8_t s_id[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
                                 0x0c, 0x0d, 0x0e, 0x0f};
static const uint8_t s_env[] = "not an envelope: frame does not look inside";
static const uint8_t s_note[] =
    "example.org/log\n7\nAAAA\n\n\xe2\x80\x94 sig\n";
static uint8_t s_hashes[FRAME_MAX_PROOF_HASHES * FRAME_HASH_LEN];

static int
setup(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof s_hashes; i++)
        s_hashes[i] = (uint8_t)(i * 7 + 3);
    return 0;
}

/* A frame of type t with every field set to something recognisable. */
static frame_t
sample(frame_type_t t) {
    frame_t f = {.type = t};
    switch (t) {
    case FRAME_HELLO:
        f.hello = (frame_hello_t){.version = FRAME_VERSION,
                                  .has_receipts_after = true,
                                  .receipts_after = 0, /* 0 is an index */
                                  .has_credit = true,
                                  .credit = 32,
                                  .has_roster_serial = true,
                                  .roster_serial = 7};
        break;
    case FRAME_WELCOME:
        f.welcome = (frame_welcome_t){"jp.nisc", 7, 123456, 3};
        break;
    case FRAME_SUBMIT:
        f.submit = (frame_submit_t){s_env, sizeof s_env};
        break;
    case FRAME_STORED:
        memcpy(f.stored.msg_id, s_id, 16);
        f.stored.index = 42;
        f.stored.time_ms = TIME_MS;
        break;
    case FRAME_REJECTED:
        f.rejected.has_msg_id = true;
        memcpy(f.rejected.msg_id, s_id, 16);
        f.rejected.code = FRAME_REJECT_BAD_SIGNATURE;
        f.rejected.reason = "signature does not verify — 署名";
        break;
    case FRAME_DELIVER:
        f.deliver = (frame_deliver_t){UINT64_MAX, s_env, sizeof s_env};
        break;
    case FRAME_CONFIRM:
        f.confirm.index = 9;
        memcpy(f.confirm.msg_id, s_id, 16);
        break;
    case FRAME_RECEIPT:
        memcpy(f.receipt.msg_id, s_id, 16);
        f.receipt.recipient = "sg.csa";
        f.receipt.status = FRAME_RECEIPT_EXPIRED;
        f.receipt.time_ms = TIME_MS + 1;
        f.receipt.index = 77;
        break;
    case FRAME_PING:
        f.ping = (frame_ping_t){true, 0xdeadbeefcafeull};
        break;
    case FRAME_PONG:
        f.pong = (frame_ping_t){true, 1};
        break;
    case FRAME_ROSTER:
        f.roster = (frame_roster_t){s_note, sizeof s_note - 1};
        break;
    case FRAME_CHECKPOINT_REQUEST:
        break;
    case FRAME_CHECKPOINT:
        f.checkpoint = (frame_checkpoint_t){s_note, sizeof s_note - 1};
        break;
    case FRAME_INCLUSION_REQUEST:
        f.inclusion_request.has_msg_id = true;
        memcpy(f.inclusion_request.msg_id, s_id, 16);
        break;
    case FRAME_INCLUSION:
        f.inclusion = (frame_inclusion_t){5, s_env,  sizeof s_env,     s_hashes,
                                          3, s_note, sizeof s_note - 1};
        break;
    case FRAME_CONSISTENCY_REQUEST:
        f.consistency_request = (frame_consistency_request_t){3, 8};
        break;
    case FRAME_CONSISTENCY:
        f.consistency =
            (frame_consistency_t){3, 8, s_hashes, FRAME_MAX_PROOF_HASHES};
        break;
    }
    return f;
}

static void
assert_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    assert_int_equal(alen, blen);
    if (alen)
        assert_memory_equal(a, b, alen);
}

/* Field-by-field equality of two frames of the same type. */
static void
assert_frame_equal(const frame_t *a, const frame_t *b) {
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case FRAME_HELLO:
        assert_int_equal(a->hello.version, b->hello.version);
        assert_int_equal(a->hello.has_receipts_after,
                         b->hello.has_receipts_after);
        assert_int_equal(a->hello.receipts_after, b->hello.receipts_after);
        assert_int_equal(a->hello.has_credit, b->hello.has_credit);
        assert_int_equal(a->hello.credit, b->hello.credit);
        assert_int_equal(a->hello.has_roster_serial,
                         b->hello.has_roster_serial);
        assert_int_equal(a->hello.roster_serial, b->hello.roster_serial);
        break;
    case FRAME_WELCOME:
        assert_string_equal(a->welcome.node_id, b->welcome.node_id);
        assert_int_equal(a->welcome.roster_serial, b->welcome.roster_serial);
        assert_int_equal(a->welcome.log_size, b->welcome.log_size);
        assert_int_equal(a->welcome.pending, b->welcome.pending);
        break;
    case FRAME_SUBMIT:
        assert_bytes(a->submit.envelope, a->submit.envelope_len,
                     b->submit.envelope, b->submit.envelope_len);
        break;
    case FRAME_STORED:
        assert_memory_equal(a->stored.msg_id, b->stored.msg_id, 16);
        assert_int_equal(a->stored.index, b->stored.index);
        assert_int_equal(a->stored.time_ms, b->stored.time_ms);
        break;
    case FRAME_REJECTED:
        assert_int_equal(a->rejected.has_msg_id, b->rejected.has_msg_id);
        if (a->rejected.has_msg_id)
            assert_memory_equal(a->rejected.msg_id, b->rejected.msg_id, 16);
        assert_int_equal(a->rejected.code, b->rejected.code);
        assert_string_equal(a->rejected.reason, b->rejected.reason);
        break;
    case FRAME_DELIVER:
        assert_int_equal(a->deliver.index, b->deliver.index);
        assert_bytes(a->deliver.envelope, a->deliver.envelope_len,
                     b->deliver.envelope, b->deliver.envelope_len);
        break;
    case FRAME_CONFIRM:
        assert_int_equal(a->confirm.index, b->confirm.index);
        assert_memory_equal(a->confirm.msg_id, b->confirm.msg_id, 16);
        break;
    case FRAME_RECEIPT:
        assert_memory_equal(a->receipt.msg_id, b->receipt.msg_id, 16);
        assert_string_equal(a->receipt.recipient, b->receipt.recipient);
        assert_int_equal(a->receipt.status, b->receipt.status);
        assert_int_equal(a->receipt.time_ms, b->receipt.time_ms);
        assert_int_equal(a->receipt.index, b->receipt.index);
        break;
    case FRAME_PING:
    case FRAME_PONG:
        assert_int_equal(a->ping.has_nonce, b->ping.has_nonce);
        assert_int_equal(a->ping.nonce, b->ping.nonce);
        break;
    case FRAME_ROSTER:
        assert_bytes(a->roster.signed_roster, a->roster.signed_roster_len,
                     b->roster.signed_roster, b->roster.signed_roster_len);
        break;
    case FRAME_CHECKPOINT_REQUEST:
        break;
    case FRAME_CHECKPOINT:
        assert_bytes(a->checkpoint.note, a->checkpoint.note_len,
                     b->checkpoint.note, b->checkpoint.note_len);
        break;
    case FRAME_INCLUSION_REQUEST:
        assert_int_equal(a->inclusion_request.has_msg_id,
                         b->inclusion_request.has_msg_id);
        if (a->inclusion_request.has_msg_id)
            assert_memory_equal(a->inclusion_request.msg_id,
                                b->inclusion_request.msg_id, 16);
        assert_int_equal(a->inclusion_request.has_index,
                         b->inclusion_request.has_index);
        assert_int_equal(a->inclusion_request.index,
                         b->inclusion_request.index);
        break;
    case FRAME_INCLUSION:
        assert_int_equal(a->inclusion.index, b->inclusion.index);
        assert_bytes(a->inclusion.record, a->inclusion.record_len,
                     b->inclusion.record, b->inclusion.record_len);
        assert_bytes(a->inclusion.hashes, a->inclusion.n_hashes * 32,
                     b->inclusion.hashes, b->inclusion.n_hashes * 32);
        assert_bytes(a->inclusion.checkpoint, a->inclusion.checkpoint_len,
                     b->inclusion.checkpoint, b->inclusion.checkpoint_len);
        break;
    case FRAME_CONSISTENCY_REQUEST:
        assert_int_equal(a->consistency_request.size1,
                         b->consistency_request.size1);
        assert_int_equal(a->consistency_request.size2,
                         b->consistency_request.size2);
        break;
    case FRAME_CONSISTENCY:
        assert_int_equal(a->consistency.size1, b->consistency.size1);
        assert_int_equal(a->consistency.size2, b->consistency.size2);
        assert_bytes(a->consistency.hashes, a->consistency.n_hashes * 32,
                     b->consistency.hashes, b->consistency.n_hashes * 32);
        break;
    default:
        fail_msg("unexpected type %d", (int)a->type);
    }
}

/* Decodes buf, expecting the code rc and the sentence want. */
static void
assert_refused(const uint8_t *buf, size_t len, int rc, const char *want) {
    frame_t *f = NULL;
    const char *why = NULL;
    int got = frame_decode(buf, len, &f, &why);
    if (got != rc || !why || strcmp(why, want) != 0)
        fail_msg("decode gave %d (%s), expected %d (%s)", got,
                 why ? why : "no reason", rc, want);
    assert_null(f);
}

static void
pack_frame(const Renraku__Frame *fr, uint8_t **out, size_t *len) {
    *len = renraku__frame__get_packed_size(fr);
    *out = malloc(*len ? *len : 1);
    assert_non_null(*out);
    renraku__frame__pack(fr, *out);
}

/* ---- Round trips ---- */

static void
test_round_trip_every_type(void **state) {
    (void)state;
    for (int t = FRAME_HELLO; t <= FRAME_CONSISTENCY; t++) {
        frame_t f = sample((frame_type_t)t);
        frame_t *d = NULL;
        uint8_t *buf = NULL, *again = NULL;
        size_t len = 0, len2 = 0;
        const char *why = "unset";

        assert_int_equal(frame_encode(&f, &buf, &len), RK_OK);
        assert_true(len > 0 && len <= FRAME_MAX_BYTES);
        if (frame_decode(buf, len, &d, &why) != RK_OK)
            fail_msg("%s: %s", frame_type_name((frame_type_t)t), why);
        assert_null(why);
        assert_frame_equal(&f, d);
        /* The decoded frame encodes to the same bytes. */
        assert_int_equal(frame_encode(d, &again, &len2), RK_OK);
        assert_bytes(buf, len, again, len2);
        frame_destroy(&d);
        assert_null(d);
        free(again);
        free(buf);
    }
}

/* Optional fields left out stay left out; 0 values survive. */
static void
test_round_trip_optional_absent(void **state) {
    frame_t f[5] = {{.type = FRAME_HELLO},
                    {.type = FRAME_PING},
                    {.type = FRAME_REJECTED},
                    {.type = FRAME_INCLUSION_REQUEST},
                    {.type = FRAME_CONSISTENCY}};
    (void)state;
    f[0].hello.version = FRAME_VERSION;
    f[2].rejected.code = FRAME_REJECT_MALFORMED;
    f[2].rejected.reason = "frame does not decode";
    f[3].inclusion_request.has_index = true;
    f[3].inclusion_request.index = 0;
    f[4].consistency.size1 = f[4].consistency.size2 = 4;
    for (size_t i = 0; i < 5; i++) {
        frame_t *d = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(frame_encode(&f[i], &buf, &len), RK_OK);
        assert_int_equal(frame_decode(buf, len, &d, NULL), RK_OK);
        assert_frame_equal(&f[i], d);
        frame_destroy(&d);
        free(buf);
    }
}

/* Each one-line encoder gives the frame its arguments describe. */
static void
test_encoders(void **state) {
    frame_t *d = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    (void)state;

#define DECODE()                                                               \
    do {                                                                       \
        assert_int_equal(frame_decode(buf, len, &d, NULL), RK_OK);             \
        free(buf);                                                             \
        buf = NULL;                                                            \
    } while (0)

    assert_int_equal(frame_encode_hello(7, 16, &buf, &len), RK_OK);
    DECODE();
    assert_int_equal(d->type, FRAME_HELLO);
    assert_int_equal(d->hello.version, 1);
    assert_true(d->hello.has_roster_serial && d->hello.roster_serial == 7);
    assert_true(d->hello.has_credit && d->hello.credit == 16);
    assert_false(d->hello.has_receipts_after);
    frame_destroy(&d);
    assert_int_equal(frame_encode_hello(0, 0, &buf, &len), RK_OK);
    DECODE();
    assert_false(d->hello.has_roster_serial || d->hello.has_credit);
    frame_destroy(&d);

    assert_int_equal(frame_encode_submit(s_env, sizeof s_env, &buf, &len),
                     RK_OK);
    DECODE();
    assert_int_equal(d->type, FRAME_SUBMIT);
    assert_bytes(d->submit.envelope, d->submit.envelope_len, s_env,
                 sizeof s_env);
    frame_destroy(&d);

    assert_int_equal(frame_encode_stored(s_id, 42, TIME_MS, &buf, &len), RK_OK);
    DECODE();
    assert_int_equal(d->type, FRAME_STORED);
    assert_memory_equal(d->stored.msg_id, s_id, 16);
    assert_int_equal(d->stored.index, 42);
    assert_int_equal(d->stored.time_ms, TIME_MS);
    frame_destroy(&d);

    assert_int_equal(frame_encode_rejected(s_id, FRAME_REJECT_REPLAY,
                                           "already accepted", &buf, &len),
                     RK_OK);
    DECODE();
    assert_int_equal(d->type, FRAME_REJECTED);
    assert_true(d->rejected.has_msg_id);
    assert_memory_equal(d->rejected.msg_id, s_id, 16);
    assert_int_equal(d->rejected.code, FRAME_REJECT_REPLAY);
    assert_string_equal(d->rejected.reason, "already accepted");
    frame_destroy(&d);
    assert_int_equal(frame_encode_rejected(NULL, FRAME_REJECT_MALFORMED,
                                           "frame is empty", &buf, &len),
                     RK_OK);
    DECODE();
    assert_false(d->rejected.has_msg_id);
    assert_int_equal(d->rejected.code, FRAME_REJECT_MALFORMED);
    frame_destroy(&d);

    assert_int_equal(frame_encode_deliver(12, s_env, sizeof s_env, &buf, &len),
                     RK_OK);
    DECODE();
    assert_int_equal(d->type, FRAME_DELIVER);
    assert_int_equal(d->deliver.index, 12);
    assert_bytes(d->deliver.envelope, d->deliver.envelope_len, s_env,
                 sizeof s_env);
    frame_destroy(&d);

    assert_int_equal(frame_encode_confirm(12, s_id, &buf, &len), RK_OK);
    DECODE();
    assert_int_equal(d->type, FRAME_CONFIRM);
    assert_int_equal(d->confirm.index, 12);
    assert_memory_equal(d->confirm.msg_id, s_id, 16);
    frame_destroy(&d);

    assert_int_equal(frame_encode_receipt(s_id, "us.cisa",
                                          FRAME_RECEIPT_DELIVERED, TIME_MS, 13,
                                          &buf, &len),
                     RK_OK);
    DECODE();
    assert_int_equal(d->type, FRAME_RECEIPT);
    assert_memory_equal(d->receipt.msg_id, s_id, 16);
    assert_string_equal(d->receipt.recipient, "us.cisa");
    assert_int_equal(d->receipt.status, FRAME_RECEIPT_DELIVERED);
    assert_int_equal(d->receipt.time_ms, TIME_MS);
    assert_int_equal(d->receipt.index, 13);
    assert_null(d->receipt.reason);
    frame_destroy(&d);

    {
        frame_t u = {.type = FRAME_RECEIPT};
        memcpy(u.receipt.msg_id, s_id, 16);
        u.receipt.recipient = "us.cisa";
        u.receipt.status = FRAME_RECEIPT_UNDELIVERABLE;
        u.receipt.time_ms = TIME_MS;
        u.receipt.index = 14;
        u.receipt.reason = "revoked";
        assert_int_equal(frame_encode(&u, &buf, &len), RK_OK);
        DECODE();
        assert_int_equal(d->receipt.status, FRAME_RECEIPT_UNDELIVERABLE);
        assert_string_equal(d->receipt.reason, "revoked");
        assert_string_equal(frame_receipt_status_name(d->receipt.status),
                            "undeliverable");
        frame_destroy(&d);
        u.receipt.reason = NULL; /* undeliverable says why */
        assert_int_equal(frame_encode(&u, &buf, &len), RK_ERR_INVALID);
    }

    assert_int_equal(frame_encode_ping(99, &buf, &len), RK_OK);
    DECODE();
    assert_int_equal(d->type, FRAME_PING);
    assert_true(d->ping.has_nonce && d->ping.nonce == 99);
    frame_destroy(&d);
    assert_int_equal(frame_encode_pong(0, &buf, &len), RK_OK);
    DECODE();
    assert_int_equal(d->type, FRAME_PONG);
    assert_true(d->pong.has_nonce && d->pong.nonce == 0);
    frame_destroy(&d);
#undef DECODE

    /* What the encoders refuse. */
    assert_int_equal(frame_encode_stored(NULL, 1, 1, &buf, &len),
                     RK_ERR_INVALID);
    assert_int_equal(frame_encode_confirm(1, NULL, &buf, &len), RK_ERR_INVALID);
    assert_int_equal(frame_encode_receipt(s_id, "Bad Id",
                                          FRAME_RECEIPT_DELIVERED, 1, 1, &buf,
                                          &len),
                     RK_ERR_INVALID);
    assert_int_equal(frame_encode_receipt(s_id, "sg.csa",
                                          (frame_receipt_status_t)3, 1, 1, &buf,
                                          &len),
                     RK_ERR_INVALID);
    assert_int_equal(
        frame_encode_rejected(NULL, FRAME_REJECT_BUSY, "", &buf, &len),
        RK_ERR_INVALID);
    assert_int_equal(
        frame_encode_rejected(NULL, FRAME_REJECT_BUSY, NULL, &buf, &len),
        RK_ERR_INVALID);
    assert_int_equal(
        frame_encode_rejected(NULL, (frame_reject_t)0, "why", &buf, &len),
        RK_ERR_INVALID);
    assert_int_equal(frame_encode_submit(NULL, 0, &buf, &len), RK_ERR_INVALID);
    assert_int_equal(
        frame_encode_submit(s_env, ENVELOPE_MAX_BYTES + 1, &buf, &len),
        RK_ERR_TOO_LARGE);
    assert_int_equal(
        frame_encode_deliver(1, s_env, ENVELOPE_MAX_BYTES + 1, &buf, &len),
        RK_ERR_TOO_LARGE);
}

/* frame_encode refuses what decode would refuse. */
static void
test_encode_refuses(void **state) {
    uint8_t *buf = NULL;
    size_t len = 0;
    frame_t f;
    char long_reason[FRAME_REASON_MAX + 2];
    (void)state;

    f = (frame_t){.type = (frame_type_t)0};
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f = (frame_t){.type = (frame_type_t)18};
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f = sample(FRAME_HELLO);
    f.hello.version = 2;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f = sample(FRAME_WELCOME);
    f.welcome.node_id = NULL;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f.welcome.node_id = "-starts-with-dash";
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f = sample(FRAME_REJECTED);
    memset(long_reason, 'x', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0'; /* 513 bytes */
    f.rejected.reason = long_reason;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    long_reason[FRAME_REASON_MAX] = '\0'; /* 512 bytes: the limit */
    assert_int_equal(frame_encode(&f, &buf, &len), RK_OK);
    free(buf);
    f = sample(FRAME_INCLUSION_REQUEST);
    f.inclusion_request.has_index = true;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f.inclusion_request.has_index = f.inclusion_request.has_msg_id = false;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f = sample(FRAME_INCLUSION);
    f.inclusion.n_hashes = FRAME_MAX_PROOF_HASHES + 1;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f = sample(FRAME_INCLUSION);
    f.inclusion.checkpoint_len = 0;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f = sample(FRAME_CONSISTENCY);
    f.consistency.hashes = NULL;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f = sample(FRAME_ROSTER);
    f.roster.signed_roster_len = 0;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    f = sample(FRAME_CHECKPOINT);
    f.checkpoint.note = NULL;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_INVALID);
    assert_int_equal(frame_encode(NULL, &buf, &len), RK_ERR_INVALID);
}

/* A frame over FRAME_MAX_BYTES is never made: an envelope at its limit
 * fits, a roster that large does not. */
static void
test_encode_size_limit(void **state) {
    uint8_t *big = calloc(1, FRAME_MAX_BYTES);
    uint8_t *buf = NULL;
    size_t len = 0;
    frame_t f = {.type = FRAME_ROSTER}, *d = NULL;
    (void)state;
    assert_non_null(big);
    assert_int_equal(frame_encode_submit(big, ENVELOPE_MAX_BYTES, &buf, &len),
                     RK_OK);
    assert_true(len <= FRAME_MAX_BYTES);
    assert_int_equal(frame_decode(buf, len, &d, NULL), RK_OK);
    assert_int_equal(d->submit.envelope_len, ENVELOPE_MAX_BYTES);
    frame_destroy(&d);
    free(buf);
    f.roster.signed_roster = big;
    f.roster.signed_roster_len = FRAME_MAX_BYTES;
    assert_int_equal(frame_encode(&f, &buf, &len), RK_ERR_TOO_LARGE);
    free(big);
}

/* ---- Known answer ---- */

/* Frame{stored{msg_id 00..0f, index 42, time_ms 1795331880000}}, encoded
 * by hand from the .proto: 22 1b (field 4, 27 bytes) 0a 10 <id> 10 2a
 * 18 <varint time>. */
static const char s_stored_hex[] = "221b0a10000102030405060708090a0b0c0d0e0f"
                                   "102a18c0e8f990a034";

static void
test_known_answer(void **state) {
    uint8_t want[64];
    size_t want_len = (sizeof s_stored_hex - 1) / 2;
    uint8_t *buf = NULL;
    size_t len = 0;
    frame_t *d = NULL;
    (void)state;

    assert_int_equal(rk_unhex(want, want_len, s_stored_hex), RK_OK);
    assert_int_equal(frame_encode_stored(s_id, 42, TIME_MS, &buf, &len), RK_OK);
    assert_bytes(buf, len, want, want_len);
    free(buf);
    assert_int_equal(frame_decode(want, want_len, &d, NULL), RK_OK);
    assert_int_equal(d->type, FRAME_STORED);
    assert_memory_equal(d->stored.msg_id, s_id, 16);
    assert_int_equal(d->stored.index, 42);
    assert_int_equal(d->stored.time_ms, TIME_MS);
    frame_destroy(&d);
}

/* ---- Refusals ---- */

static void
test_refuses_garbage(void **state) {
    (void)state;
    assert_refused(NULL, 0, RK_ERR_MALFORMED, "frame is empty");
    assert_refused((const uint8_t *)"", 0, RK_ERR_MALFORMED, "frame is empty");
    assert_refused((const uint8_t *)"\xff\xff\xff", 3, RK_ERR_MALFORMED,
                   "frame does not decode as protobuf");
    assert_refused((const uint8_t *)"hello relay", 11, RK_ERR_MALFORMED,
                   "frame does not decode as protobuf");
    /* A body with the wrong wire type: hello as a varint. */
    assert_refused((const uint8_t *)"\x08\x01", 2, RK_ERR_MALFORMED,
                   "frame does not decode as protobuf");
    /* A stored without its required time. */
    assert_refused((const uint8_t *)"\x22\x14\x0a\x10"
                                    "0123456789abcdef\x10\x01",
                   22, RK_ERR_MALFORMED, "frame does not decode as protobuf");
}

/* Every proper prefix of every valid frame is refused as malformed. */
static void
test_refuses_every_truncation(void **state) {
    (void)state;
    for (int t = FRAME_HELLO; t <= FRAME_CONSISTENCY; t++) {
        frame_t f = sample((frame_type_t)t);
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(frame_encode(&f, &buf, &len), RK_OK);
        for (size_t cut = 0; cut < len; cut++) {
            frame_t *d = NULL;
            const char *why = NULL;
            /* A copy of exactly cut bytes, so ASan sees any overread. */
            uint8_t *part = malloc(cut ? cut : 1);
            assert_non_null(part);
            memcpy(part, buf, cut);
            if (frame_decode(part, cut, &d, &why) != RK_ERR_MALFORMED)
                fail_msg("%s cut at %zu of %zu decoded",
                         frame_type_name((frame_type_t)t), cut, len);
            assert_non_null(why);
            assert_null(d);
            free(part);
        }
        free(buf);
    }
}

static void
test_refuses_body_count(void **state) {
    uint8_t *a = NULL, *b = NULL, *two;
    size_t alen = 0, blen = 0;
    (void)state;
    assert_int_equal(frame_encode_ping(1, &a, &alen), RK_OK);
    assert_int_equal(frame_encode_pong(1, &b, &blen), RK_OK);
    two = malloc(alen + blen);
    assert_non_null(two);
    memcpy(two, a, alen);
    memcpy(two + alen, b, blen);
    assert_refused(two, alen + blen, RK_ERR_MALFORMED,
                   "frame has more than one body");
    memcpy(two + alen, a, alen); /* the same body twice */
    assert_refused(two, 2 * alen, RK_ERR_MALFORMED,
                   "frame has more than one body");
    /* Bodies of different types, each valid alone. */
    free(b);
    assert_int_equal(frame_encode_stored(s_id, 1, 2, &b, &blen), RK_OK);
    two = realloc(two, alen + blen);
    assert_non_null(two);
    memcpy(two, b, blen);
    memcpy(two + blen, a, alen);
    assert_refused(two, alen + blen, RK_ERR_MALFORMED,
                   "frame has more than one body");
    free(two);
    free(a);
    free(b);
    /* Only a field no version-1 frame has: no body. */
    assert_refused((const uint8_t *)"\x92\x01\x00", 3, RK_ERR_MALFORMED,
                   "frame has no body known to version 1");
}

static void
test_refuses_unknown_fields(void **state) {
    uint8_t *buf = NULL, *more;
    size_t len = 0;
    (void)state;
    assert_int_equal(frame_encode_stored(s_id, 1, 2, &buf, &len), RK_OK);
    /* A top-level field 99 (varint) after a valid body. */
    more = malloc(len + 3);
    assert_non_null(more);
    memcpy(more, buf, len);
    memcpy(more + len, "\x98\x06\x01", 3);
    assert_refused(more, len + 3, RK_ERR_MALFORMED,
                   "frame has a field unknown to version 1");
    free(more);
    free(buf);
    /* Ping{nonce 1, field 2 = 1}. */
    assert_refused((const uint8_t *)"\x4a\x04\x08\x01\x10\x01", 6,
                   RK_ERR_MALFORMED,
                   "frame body has a field unknown to version 1");
    /* Hello{version 2, field 15 = "x"}: the version is the problem. */
    assert_refused((const uint8_t *)"\x0a\x05\x08\x02\x7a\x01x", 7,
                   RK_ERR_VERSION,
                   "hello asks for an unsupported protocol version");
    /* Hello{version 1, field 15 = "x"}. */
    assert_refused((const uint8_t *)"\x0a\x05\x08\x01\x7a\x01x", 7,
                   RK_ERR_MALFORMED,
                   "frame body has a field unknown to version 1");
}

/* Fields sent twice and longer-than-needed varints do not pass. */
static void
test_refuses_non_canonical(void **state) {
    (void)state;
    /* Ping{nonce 1, nonce 2}. */
    assert_refused((const uint8_t *)"\x4a\x04\x08\x01\x08\x02", 6,
                   RK_ERR_MALFORMED,
                   "frame is not in canonical form (a field sent twice, a "
                   "varint longer than needed or a NUL inside a string)");
    /* Ping{nonce 1 as two bytes}. */
    assert_refused((const uint8_t *)"\x4a\x03\x08\x81\x00", 5, RK_ERR_MALFORMED,
                   "frame is not in canonical form (a field sent twice, a "
                   "varint longer than needed or a NUL inside a string)");
    /* Welcome{"jp\0x", 1, 2, 3}: the C string would stop at the NUL. */
    assert_refused((const uint8_t *)"\x12\x0c\x0a\x04jp\0x\x10\x01\x18\x02"
                                    "\x20\x03",
                   14, RK_ERR_MALFORMED,
                   "frame is not in canonical form (a field sent twice, a "
                   "varint longer than needed or a NUL inside a string)");
}

/* Each msg id must be 16 bytes: 15 and 17 are refused, naming the field. */
static void
test_refuses_wrong_id_lengths(void **state) {
    static const struct {
        int body;
        const char *why;
    } cases[] = {
        {RENRAKU__FRAME__BODY_STORED, "stored msg id is not 16 bytes"},
        {RENRAKU__FRAME__BODY_REJECTED, "rejected msg id is not 16 bytes"},
        {RENRAKU__FRAME__BODY_CONFIRM, "confirm msg id is not 16 bytes"},
        {RENRAKU__FRAME__BODY_RECEIPT, "receipt msg id is not 16 bytes"},
        {RENRAKU__FRAME__BODY_INCLUSION_REQUEST,
         "inclusion request msg id is not 16 bytes"},
    };
    uint8_t id[17] = {0};
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t n = 15; n <= 17; n += 2) {
            Renraku__Frame fr = RENRAKU__FRAME__INIT;
            Renraku__Stored st = RENRAKU__STORED__INIT;
            Renraku__Rejected rj = RENRAKU__REJECTED__INIT;
            Renraku__Confirm cf = RENRAKU__CONFIRM__INIT;
            Renraku__Receipt rc = RENRAKU__RECEIPT__INIT;
            Renraku__InclusionRequest ir = RENRAKU__INCLUSION_REQUEST__INIT;
            ProtobufCBinaryData bad = {n, id};
            uint8_t *buf;
            size_t len;

            fr.body_case = (Renraku__Frame__BodyCase)cases[c].body;
            switch (cases[c].body) {
            case RENRAKU__FRAME__BODY_STORED:
                st.msg_id = bad;
                fr.stored = &st;
                break;
            case RENRAKU__FRAME__BODY_REJECTED:
                rj.has_msg_id = 1;
                rj.msg_id = bad;
                rj.code = RENRAKU__REJECT_CODE__REJECT_REPLAY;
                rj.reason = "replay";
                fr.rejected = &rj;
                break;
            case RENRAKU__FRAME__BODY_CONFIRM:
                cf.msg_id = bad;
                fr.confirm = &cf;
                break;
            case RENRAKU__FRAME__BODY_RECEIPT:
                rc.msg_id = bad;
                rc.recipient = "jp.nisc";
                rc.status = RENRAKU__RECEIPT_STATUS__RECEIPT_DELIVERED;
                fr.receipt = &rc;
                break;
            default:
                ir.has_msg_id = 1;
                ir.msg_id = bad;
                fr.inclusion_request = &ir;
                break;
            }
            pack_frame(&fr, &buf, &len);
            assert_refused(buf, len, RK_ERR_MALFORMED, cases[c].why);
            free(buf);
        }
    }
}

/* Every proof hash must be 32 bytes, and a proof has at most 64. */
static void
test_refuses_bad_hashes(void **state) {
    ProtobufCBinaryData hv[FRAME_MAX_PROOF_HASHES + 1];
    Renraku__Frame fr = RENRAKU__FRAME__INIT;
    Renraku__InclusionProof ip = RENRAKU__INCLUSION_PROOF__INIT;
    Renraku__ConsistencyProof cp = RENRAKU__CONSISTENCY_PROOF__INIT;
    uint8_t *buf;
    size_t len;
    (void)state;

    for (size_t i = 0; i <= FRAME_MAX_PROOF_HASHES; i++)
        hv[i] = (ProtobufCBinaryData){32, s_hashes};
    ip.index = 1;
    ip.record = (ProtobufCBinaryData){4, (uint8_t *)"leaf"};
    ip.checkpoint = (ProtobufCBinaryData){4, (uint8_t *)"note"};
    ip.n_hashes = 2;
    ip.hashes = hv;
    fr.body_case = RENRAKU__FRAME__BODY_INCLUSION;
    fr.inclusion = &ip;
    hv[1].len = 31;
    pack_frame(&fr, &buf, &len);
    assert_refused(buf, len, RK_ERR_MALFORMED, "a proof hash is not 32 bytes");
    free(buf);
    hv[1].len = 33;
    pack_frame(&fr, &buf, &len);
    assert_refused(buf, len, RK_ERR_MALFORMED, "a proof hash is not 32 bytes");
    free(buf);
    hv[1].len = 32;
    ip.n_hashes = FRAME_MAX_PROOF_HASHES + 1;
    pack_frame(&fr, &buf, &len);
    assert_refused(buf, len, RK_ERR_MALFORMED, "proof has more than 64 hashes");
    free(buf);
    ip.record.len = 0;
    ip.n_hashes = 1;
    pack_frame(&fr, &buf, &len);
    assert_refused(buf, len, RK_ERR_MALFORMED,
                   "inclusion proof carries an empty record");
    free(buf);

    cp.size1 = 1;
    cp.size2 = 2;
    cp.n_hashes = 1;
    cp.hashes = hv;
    hv[0].len = 0;
    fr.body_case = RENRAKU__FRAME__BODY_CONSISTENCY;
    fr.consistency = &cp;
    pack_frame(&fr, &buf, &len);
    assert_refused(buf, len, RK_ERR_MALFORMED, "a proof hash is not 32 bytes");
    free(buf);
}

static void
test_refuses_oversize(void **state) {
    uint8_t *big = calloc(1, FRAME_MAX_BYTES + 1);
    Renraku__Frame fr = RENRAKU__FRAME__INIT;
    Renraku__Submit sub = RENRAKU__SUBMIT__INIT;
    Renraku__Deliver del = RENRAKU__DELIVER__INIT;
    uint8_t *buf;
    size_t len;
    (void)state;
    assert_non_null(big);

    /* The cap comes before parsing: these bytes would be a valid ping. */
    memcpy(big, "\x4a\x00", 2);
    assert_refused(big, FRAME_MAX_BYTES + 1, RK_ERR_TOO_LARGE,
                   "frame is larger than 1 MiB + 4 KiB");
    /* Within the frame cap, but the envelope is over its own. */
    sub.envelope = (ProtobufCBinaryData){ENVELOPE_MAX_BYTES + 1, big};
    fr.body_case = RENRAKU__FRAME__BODY_SUBMIT;
    fr.submit = &sub;
    pack_frame(&fr, &buf, &len);
    assert_true(len <= FRAME_MAX_BYTES);
    assert_refused(buf, len, RK_ERR_TOO_LARGE,
                   "submitted envelope is larger than 1 MiB");
    free(buf);
    del.envelope = sub.envelope;
    fr.body_case = RENRAKU__FRAME__BODY_DELIVER;
    fr.deliver = &del;
    pack_frame(&fr, &buf, &len);
    assert_refused(buf, len, RK_ERR_TOO_LARGE,
                   "delivered envelope is larger than 1 MiB");
    free(buf);
    free(big);
}

/* Rules on field values, each with its sentence. */
static void
test_refuses_bad_values(void **state) {
    Renraku__Frame fr = RENRAKU__FRAME__INIT;
    Renraku__Hello he = RENRAKU__HELLO__INIT;
    Renraku__Welcome we = RENRAKU__WELCOME__INIT;
    Renraku__Rejected rj = RENRAKU__REJECTED__INIT;
    Renraku__Receipt rc = RENRAKU__RECEIPT__INIT;
    Renraku__Submit sub = RENRAKU__SUBMIT__INIT;
    Renraku__InclusionRequest ir = RENRAKU__INCLUSION_REQUEST__INIT;
    Renraku__RosterPush rp = RENRAKU__ROSTER_PUSH__INIT;
    Renraku__CheckpointNote cn = RENRAKU__CHECKPOINT_NOTE__INIT;
    char reason[FRAME_REASON_MAX + 2];
    uint8_t *buf;
    size_t len;
    (void)state;

#define REFUSED(code, why)                                                     \
    do {                                                                       \
        pack_frame(&fr, &buf, &len);                                           \
        assert_refused(buf, len, (code), (why));                               \
        free(buf);                                                             \
    } while (0)

    fr.body_case = RENRAKU__FRAME__BODY_HELLO;
    fr.hello = &he;
    he.version = 2;
    REFUSED(RK_ERR_VERSION, "hello asks for an unsupported protocol version");
    he.version = 0;
    REFUSED(RK_ERR_VERSION, "hello asks for an unsupported protocol version");

    fr.body_case = RENRAKU__FRAME__BODY_WELCOME;
    fr.welcome = &we;
    we.node_id = "JP.NISC";
    REFUSED(RK_ERR_MALFORMED, "welcome node id is not a valid node id");
    we.node_id = "";
    REFUSED(RK_ERR_MALFORMED, "welcome node id is not a valid node id");

    fr.body_case = RENRAKU__FRAME__BODY_REJECTED;
    fr.rejected = &rj;
    rj.code = RENRAKU__REJECT_CODE__REJECT_UNSPECIFIED;
    rj.reason = "why";
    REFUSED(RK_ERR_MALFORMED, "rejected carries an unknown reject code");
    rj.code = (Renraku__RejectCode)(FRAME_REJECT_MAX + 1);
    REFUSED(RK_ERR_MALFORMED, "rejected carries an unknown reject code");
    rj.code = RENRAKU__REJECT_CODE__REJECT_ROSTER;
    rj.reason = "";
    REFUSED(RK_ERR_MALFORMED, "rejection reason is empty");
    memset(reason, 'a', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    rj.reason = reason;
    REFUSED(RK_ERR_MALFORMED, "rejection reason is longer than 512 bytes");
    rj.reason = "two\nlines";
    REFUSED(RK_ERR_MALFORMED, "rejection reason is not one line of UTF-8 text");
    rj.reason = "bad \xc3\x28 utf-8";
    REFUSED(RK_ERR_MALFORMED, "rejection reason is not one line of UTF-8 text");
    rj.reason = "overlong \xc0\xaf slash";
    REFUSED(RK_ERR_MALFORMED, "rejection reason is not one line of UTF-8 text");
    rj.reason = "escape \x1b[2J";
    REFUSED(RK_ERR_MALFORMED, "rejection reason is not one line of UTF-8 text");

    fr.body_case = RENRAKU__FRAME__BODY_RECEIPT;
    fr.receipt = &rc;
    rc.msg_id = (ProtobufCBinaryData){16, (uint8_t *)s_id};
    rc.recipient = "sg.csa";
    rc.status = RENRAKU__RECEIPT_STATUS__RECEIPT_UNSPECIFIED;
    REFUSED(RK_ERR_MALFORMED, "receipt carries an unknown status");
    rc.status = (Renraku__ReceiptStatus)4;
    REFUSED(RK_ERR_MALFORMED, "receipt carries an unknown status");
    /* Undeliverable says why, revoked or removed; no other status does. */
    rc.status = RENRAKU__RECEIPT_STATUS__RECEIPT_UNDELIVERABLE;
    REFUSED(RK_ERR_MALFORMED,
            "undeliverable receipt has no reason revoked or removed");
    rc.reason = "suspended";
    REFUSED(RK_ERR_MALFORMED,
            "undeliverable receipt has no reason revoked or removed");
    rc.status = RENRAKU__RECEIPT_STATUS__RECEIPT_DELIVERED;
    rc.reason = "revoked";
    REFUSED(RK_ERR_MALFORMED, "receipt has a reason but is not undeliverable");
    rc.reason = NULL;
    rc.status = RENRAKU__RECEIPT_STATUS__RECEIPT_EXPIRED;
    rc.recipient = "sg csa";
    REFUSED(RK_ERR_MALFORMED, "receipt recipient is not a valid node id");

    fr.body_case = RENRAKU__FRAME__BODY_SUBMIT;
    fr.submit = &sub;
    REFUSED(RK_ERR_MALFORMED, "submit carries an empty envelope");

    fr.body_case = RENRAKU__FRAME__BODY_ROSTER;
    fr.roster = &rp;
    REFUSED(RK_ERR_MALFORMED, "roster push carries an empty roster");
    fr.body_case = RENRAKU__FRAME__BODY_CHECKPOINT;
    fr.checkpoint = &cn;
    REFUSED(RK_ERR_MALFORMED, "checkpoint frame carries an empty note");

    fr.body_case = RENRAKU__FRAME__BODY_INCLUSION_REQUEST;
    fr.inclusion_request = &ir;
    REFUSED(RK_ERR_MALFORMED,
            "inclusion request names neither a msg id nor an index");
    ir.has_msg_id = ir.has_index = 1;
    ir.msg_id = (ProtobufCBinaryData){16, (uint8_t *)s_id};
    REFUSED(RK_ERR_MALFORMED,
            "inclusion request names both a msg id and an index");
#undef REFUSED
}

/* ---- Names and helpers ---- */

static void
test_reject_names(void **state) {
    (void)state;
    for (int a = FRAME_REJECT_MALFORMED; a <= FRAME_REJECT_MAX; a++) {
        const char *name = frame_reject_name((frame_reject_t)a);
        assert_string_not_equal(name, "unknown");
        assert_true(strlen(name) > 0);
        assert_int_equal(frame_reject_from_name(name), a);
        for (int b = FRAME_REJECT_MALFORMED; b < a; b++)
            assert_string_not_equal(name, frame_reject_name((frame_reject_t)b));
    }
    assert_string_equal(frame_reject_name(FRAME_REJECT_BAD_SIGNATURE),
                        "bad-signature");
    assert_string_equal(frame_reject_name(FRAME_REJECT_REPLAY), "replay");
    assert_string_equal(frame_reject_name(FRAME_REJECT_SENDER_MISMATCH),
                        "sender-mismatch");
    assert_string_equal(frame_reject_name(FRAME_REJECT_STORAGE), "storage");
    assert_string_equal(frame_reject_name((frame_reject_t)0), "unknown");
    assert_string_equal(frame_reject_name((frame_reject_t)20), "unknown");
    assert_int_equal(frame_reject_from_name("no-such-code"), 0);
    assert_int_equal(frame_reject_from_name("unknown"), 0);
    assert_int_equal(frame_reject_from_name(""), 0);
    assert_int_equal(frame_reject_from_name(NULL), 0);
    /* The C enum mirrors the wire enum value for value. */
    assert_int_equal(FRAME_REJECT_MALFORMED,
                     RENRAKU__REJECT_CODE__REJECT_MALFORMED);
    assert_int_equal(FRAME_REJECT_SENDER_INACTIVE,
                     RENRAKU__REJECT_CODE__REJECT_SENDER_INACTIVE);
    assert_int_equal(FRAME_REJECT_STORAGE,
                     RENRAKU__REJECT_CODE__REJECT_STORAGE);
    assert_int_equal(FRAME_REJECT_ROSTER, RENRAKU__REJECT_CODE__REJECT_ROSTER);
    assert_int_equal(FRAME_RECEIPT_DELIVERED,
                     RENRAKU__RECEIPT_STATUS__RECEIPT_DELIVERED);
    assert_int_equal(FRAME_RECEIPT_EXPIRED,
                     RENRAKU__RECEIPT_STATUS__RECEIPT_EXPIRED);
}

static void
test_other_names(void **state) {
    (void)state;
    assert_string_equal(frame_type_name(FRAME_HELLO), "hello");
    assert_string_equal(frame_type_name(FRAME_CHECKPOINT_REQUEST),
                        "checkpoint-request");
    assert_string_equal(frame_type_name(FRAME_CONSISTENCY), "consistency");
    assert_string_equal(frame_type_name((frame_type_t)0), "unknown");
    assert_string_equal(frame_type_name((frame_type_t)18), "unknown");
    for (int a = FRAME_HELLO; a <= FRAME_CONSISTENCY; a++)
        for (int b = FRAME_HELLO; b < a; b++)
            assert_string_not_equal(frame_type_name((frame_type_t)a),
                                    frame_type_name((frame_type_t)b));
    assert_string_equal(frame_receipt_status_name(FRAME_RECEIPT_DELIVERED),
                        "delivered");
    assert_string_equal(frame_receipt_status_name(FRAME_RECEIPT_EXPIRED),
                        "expired");
    assert_string_equal(frame_receipt_status_name((frame_receipt_status_t)0),
                        "unknown");
}

static void
test_reject_from_error(void **state) {
    (void)state;
    assert_int_equal(frame_reject_from_error(RK_ERR_MALFORMED),
                     FRAME_REJECT_MALFORMED);
    assert_int_equal(frame_reject_from_error(RK_ERR_MISMATCH),
                     FRAME_REJECT_MALFORMED);
    assert_int_equal(frame_reject_from_error(RK_ERR_TOO_LARGE),
                     FRAME_REJECT_TOO_LARGE);
    assert_int_equal(frame_reject_from_error(RK_ERR_VERSION),
                     FRAME_REJECT_VERSION);
    assert_int_equal(frame_reject_from_error(RK_ERR_UNKNOWN_KEY),
                     FRAME_REJECT_UNKNOWN_KEY);
    assert_int_equal(frame_reject_from_error(RK_ERR_REVOKED),
                     FRAME_REJECT_SENDER_INACTIVE);
    assert_int_equal(frame_reject_from_error(RK_ERR_SUSPENDED),
                     FRAME_REJECT_SENDER_INACTIVE);
    assert_int_equal(frame_reject_from_error(RK_ERR_EXPIRED),
                     FRAME_REJECT_SENDER_INACTIVE);
    assert_int_equal(frame_reject_from_error(RK_ERR_BAD_SIGNATURE),
                     FRAME_REJECT_BAD_SIGNATURE);
    assert_int_equal(frame_reject_from_error(RK_ERR_REPLAY),
                     FRAME_REJECT_REPLAY);
    assert_int_equal(frame_reject_from_error(RK_ERR_STALE), FRAME_REJECT_STALE);
    assert_int_equal(frame_reject_from_error(RK_ERR_FUTURE),
                     FRAME_REJECT_FUTURE);
    assert_int_equal(frame_reject_from_error(RK_ERR_EXPIRED_MSG),
                     FRAME_REJECT_EXPIRED);
    assert_int_equal(frame_reject_from_error(RK_ERR_IO), FRAME_REJECT_STORAGE);
    assert_int_equal(frame_reject_from_error(RK_ERR_FULL), FRAME_REJECT_BUSY);
    assert_int_equal(frame_reject_from_error(RK_ERR_NOMEM),
                     FRAME_REJECT_INTERNAL);
    assert_int_equal(frame_reject_from_error(RK_OK), FRAME_REJECT_INTERNAL);
}

static void
test_text_valid(void **state) {
    char s[FRAME_REASON_MAX + 2];
    (void)state;
    assert_true(frame_text_valid("ok"));
    assert_true(frame_text_valid("tab-free, 日本語 and 😀 are fine"));
    assert_false(frame_text_valid(NULL));
    assert_false(frame_text_valid(""));
    assert_false(frame_text_valid("tab\there"));
    assert_false(frame_text_valid("del\x7f"));
    assert_false(frame_text_valid("c1 \xc2\x85 next-line"));
    assert_false(frame_text_valid("surrogate \xed\xa0\x80"));
    assert_false(frame_text_valid("above \xf4\x90\x80\x80"));
    assert_false(frame_text_valid("overlong \xe0\x80\xaf"));
    assert_false(frame_text_valid("cut \xe6\x97"));
    assert_false(frame_text_valid("lone \x80"));
    memset(s, 'a', sizeof s - 1);
    s[FRAME_REASON_MAX] = '\0';
    assert_true(frame_text_valid(s));
    s[FRAME_REASON_MAX] = 'a';
    s[FRAME_REASON_MAX + 1] = '\0';
    assert_false(frame_text_valid(s));
}

/* frame_encode_to gives the very bytes frame_encode gives, type after
 * type through one reused buffer (smaller frames after a larger one), and
 * a refusal empties the buffer. */
static void
test_encode_to_reuses_buffer(void **state) {
    rk_wbuf_t b = {0};
    static uint8_t big_env[5000];
    frame_t f = {.type = FRAME_DELIVER};
    (void)state;
    memset(big_env, 0xa5, sizeof big_env);
    f.deliver.index = 7;
    f.deliver.envelope = big_env;
    f.deliver.envelope_len = sizeof big_env;
    assert_int_equal(frame_encode_to(&f, &b), RK_OK);
    assert_true(b.len > sizeof big_env);
    for (int t = FRAME_HELLO; t <= FRAME_CONSISTENCY; t++) {
        uint8_t *want = NULL;
        size_t want_len = 0;
        frame_t *back = NULL;
        const uint8_t *before = b.p;
        f = sample((frame_type_t)t);
        assert_int_equal(frame_encode(&f, &want, &want_len), RK_OK);
        assert_int_equal(frame_encode_to(&f, &b), RK_OK);
        assert_ptr_equal(b.p, before); /* large enough: not reallocated */
        assert_bytes(b.p, b.len, want, want_len);
        assert_int_equal(frame_decode(b.p, b.len, &back, NULL), RK_OK);
        assert_frame_equal(&f, back);
        frame_destroy(&back);
        free(want);
    }
    f = sample(FRAME_REJECTED);
    f.rejected.reason = "";
    assert_int_equal(frame_encode_to(&f, &b), RK_ERR_INVALID);
    assert_int_equal(b.len, 0);
    assert_int_equal(frame_encode_to(NULL, &b), RK_ERR_INVALID);
    assert_int_equal(frame_encode_to(&f, NULL), RK_ERR_INVALID);
    rk_wbuf_free(&b);
    assert_null(b.p);
}

static void
test_destroy_null(void **state) {
    frame_t *f = NULL;
    (void)state;
    frame_destroy(NULL);
    frame_destroy(&f);
    assert_null(f);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_round_trip_optional_absent),
        cmocka_unit_test(test_encoders),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_encode_size_limit),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_refuses_garbage),
        cmocka_unit_test(test_refuses_every_truncation),
        cmocka_unit_test(test_refuses_body_count),
        cmocka_unit_test(test_refuses_unknown_fields),
        cmocka_unit_test(test_refuses_non_canonical),
        cmocka_unit_test(test_refuses_wrong_id_lengths),
        cmocka_unit_test(test_refuses_bad_hashes),
        cmocka_unit_test(test_refuses_oversize),
        cmocka_unit_test(test_refuses_bad_values),
        cmocka_unit_test(test_reject_names),
        cmocka_unit_test(test_other_names),
        cmocka_unit_test(test_reject_from_error),
        cmocka_unit_test(test_text_valid),
        cmocka_unit_test(test_encode_to_reuses_buffer),
        cmocka_unit_test(test_destroy_null),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

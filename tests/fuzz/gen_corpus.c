/* gen_corpus: writes the seed inputs of the committed fuzz corpora with
 * clearly marked throw-away test keys (seeds of repeated bytes). Run by hand
 * after a format change: build/tests/fuzz/gen_corpus tests/fuzz/corpus */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "frame.h"
#include "note.h"
#include "payload.h"
#include "record.h"
#include "rk_util.h"
#include "roster.h"

static void
s_write(const char *dir, const char *name, const uint8_t *buf, size_t len) {
    char path[1024];
    FILE *f;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        fprintf(stderr, "gen_corpus: path too long: %s/%s\n", dir, name);
        exit(1);
    }
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void
s_envelopes(const char *root) {
    char dir[1024];
    uint8_t seed[32], sign_pk[32], sign_sk[64], kid[8];
    uint8_t enc_pk[3][32], enc_sk[32];
    envelope_recipient_t r[3] = {
        {"us.cisa", enc_pk[0]}, {"sg.csa", enc_pk[1]}, {"jp.nisc", enc_pk[2]}};
    envelope_params_t p = {.sender = "ctl.test",
                           .sign_sk = sign_sk,
                           .sign_key_id = kid,
                           .kind = ENVELOPE_KIND_DRILL_INJECT,
                           .created_ms = 1795331880000ull,
                           .expires_ms = 1795335480000ull,
                           .exercise = true,
                           .drill_id = "test-drill"};
    uint8_t *buf = NULL, id[16];
    size_t len = 0;

    snprintf(dir, sizeof dir, "%s/envelope", root);
    memset(seed, 0x11, sizeof seed); /* TEST KEY, not a secret */
    crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
    envelope_key_id(kid, sign_pk);
    for (int i = 0; i < 3; i++) {
        memset(seed, 0x21 + i, sizeof seed);
        crypto_box_seed_keypair(enc_pk[i], enc_sk, seed);
    }
    if (envelope_seal(&p, r, 3, (const uint8_t *)"EXERCISE inject", 15, &buf,
                      &len, id) != 0)
        exit(1);
    s_write(dir, "drill-3-recipients", buf, len);
    s_write(dir, "truncated", buf, len / 2);
    free(buf);
    p.kind = ENVELOPE_KIND_NOTICE;
    p.exercise = false;
    p.drill_id = NULL;
    p.in_reply_to = id;
    if (envelope_seal(&p, r, 1, (const uint8_t *)"notice", 6, &buf, &len,
                      NULL) != 0)
        exit(1);
    s_write(dir, "notice-1-recipient", buf, len);
    free(buf);
    s_write(dir, "empty-protobuf", (const uint8_t *)"\x0a\x00", 2);
}

/* Payload seeds: one valid encoding of each body, plus broken ones. */
static void
s_payload_write(const char *dir, const char *name, const payload_t *p) {
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    if (payload_encode(p, &buf, &len, &why) != 0) {
        fprintf(stderr, "payload %s: %s\n", name, why ? why : "?");
        exit(1);
    }
    s_write(dir, name, buf, len);
    if (strcmp(name, "notice-full") == 0) {
        s_write(dir, "truncated", buf, len - 3);
        buf[len - 1] ^= 0x80; /* last varint byte now wants a successor */
        s_write(dir, "bad-varint", buf, len);
    }
    free(buf);
}

static void
s_payloads(const char *root) {
    static const char *const sectors[] = {"energy", "health"};
    static const char *const refs[] = {"https://example.org/adv/1"};
    static const payload_indicator_t inds[] = {
        {"ipv4-addr", "192.0.2.1", "C2"}, {"domain-name", "example.net", NULL}};
    static const payload_notice_t drill_notice = {.incident_id = "EX-1",
                                                  .title = "EXERCISE notice",
                                                  .tlp = PAYLOAD_TLP_CLEAR,
                                                  .category = "test"};
    static const uint8_t id[16] = {1, 2,  3,  4,  5,  6,  7,  8,
                                   9, 10, 11, 12, 13, 14, 15, 16};
    char dir[1024];
    payload_t p;

    snprintf(dir, sizeof dir, "%s/payload", root);
    p = (payload_t){.kind = PAYLOAD_NOTICE};
    p.notice = (payload_notice_t){.incident_id = "JP-2026-1",
                                  .title = "Ransomware",
                                  .description = "a\nb",
                                  .purpose = PAYLOAD_PURPOSE_MITIGATION,
                                  .status = PAYLOAD_STATUS_NEW,
                                  .tlp = PAYLOAD_TLP_AMBER_STRICT,
                                  .severity = PAYLOAD_SEVERITY_HIGH,
                                  .category = "malicious-code",
                                  .rsit_type = "ransomware",
                                  .sectors = sectors,
                                  .n_sectors = 2,
                                  .indicators = inds,
                                  .n_indicators = 2,
                                  .requested_action = "block",
                                  .contact = "soc",
                                  .references = refs,
                                  .n_references = 1,
                                  .detected_ms = 1795331880000ull};
    s_payload_write(dir, "notice-full", &p);
    p = (payload_t){.kind = PAYLOAD_NOTICE};
    p.notice = (payload_notice_t){
        .incident_id = "I-1", .title = "T", .tlp = PAYLOAD_TLP_RED};
    s_payload_write(dir, "notice-min", &p);
    p = (payload_t){.kind = PAYLOAD_ACK};
    memcpy(p.ack.ref_msg_id, id, 16);
    p.ack.status = PAYLOAD_ACK_DENIED;
    p.ack.comment = "not ours";
    s_payload_write(dir, "ack", &p);
    p = (payload_t){.kind = PAYLOAD_COMM_CHECK};
    p.comm_check = (payload_comm_check_t){"cc-1", "ping", 1795335480000ull};
    s_payload_write(dir, "comm-check", &p);
    p = (payload_t){.kind = PAYLOAD_DRILL_INJECT};
    p.drill_inject =
        (payload_drill_inject_t){.drill_id = "test-drill",
                                 .inject_id = "i-1",
                                 .title = "Inject",
                                 .text = "EXERCISE EXERCISE",
                                 .expected = PAYLOAD_ACK_ACKNOWLEDGED,
                                 .respond_by_ms = 1795335480000ull,
                                 .notice = &drill_notice};
    s_payload_write(dir, "drill-inject", &p);
    p = (payload_t){.kind = PAYLOAD_DRILL_REPLY};
    p.drill_reply = (payload_drill_reply_t){.drill_id = "test-drill",
                                            .inject_id = "i-1",
                                            .status = PAYLOAD_ACK_RESOLVED,
                                            .text = "EXERCISE done"};
    memcpy(p.drill_reply.ref_msg_id, id, 16);
    s_payload_write(dir, "drill-reply", &p);
    /* An unknown top-level field, and a notice sent twice. */
    s_write(dir, "unknown-field",
            (const uint8_t *)"\x0a\x0a\x0a\x03I-1\x12\x01T\x30\x03\x48\x01",
            14);
    s_write(dir, "empty-notice", (const uint8_t *)"\x0a\x00", 2);
}

/* Roster seeds: a roster of TEST keys (seeds of repeated bytes) as JSON and
 * signed by the TEST coordinator (seed 0x51, "coord.test", the key that
 * fuzz_roster_signed.c pins), plus broken variants of both. */
static void
s_roster_node(roster_t *r, const char *id, const char *cc, uint8_t seed_byte,
              const char *group, roster_status_t status) {
    static char *langs[] = {"en", "ja"};
    uint8_t seed[32], sk[64];
    char *groups[1] = {(char *)group}, err[256];
    roster_contact_t c = {.name = "Duty desk",
                          .email = "soc@example.org",
                          .phone = "+1-555-0100",
                          .hours = "24/7",
                          .timezone = "UTC",
                          .languages = langs,
                          .n_languages = 2};
    roster_keyset_t k = {.not_before_ms = 1767225600000ull,
                         .not_after_ms = ROSTER_FOREVER,
                         .status = ROSTER_ACTIVE};
    roster_node_t n = {.id = (char *)id,
                       .organisation = "TEST node",
                       .role = IDENTITY_ROLE_PARTNER,
                       .status = status,
                       .groups = groups,
                       .n_groups = group ? 1 : 0,
                       .contacts = &c,
                       .n_contacts = 1,
                       .keys = &k,
                       .n_keys = 1};
    memcpy(n.country, cc, 3);
    memset(seed, seed_byte, sizeof seed); /* TEST KEY, not a secret */
    crypto_sign_seed_keypair(k.sign_pk, sk, seed);
    seed[0] ^= 0x01;
    crypto_box_seed_keypair(k.enc_pk, sk, seed);
    seed[0] ^= 0x03;
    crypto_box_seed_keypair(k.transport_pk, sk, seed);
    if (roster_add(r, &n, err, sizeof err) != 0) {
        fprintf(stderr, "roster node %s: %s\n", id, err);
        exit(1);
    }
}

static void
s_rosters(const char *root) {
    char jdir[1024], sdir[1024], *json, *note = NULL, *p;
    uint8_t seed[32], sk[64], pk[32], other_sk[64];
    roster_t *r = roster_new("test-framework");
    size_t len = 0;

    snprintf(jdir, sizeof jdir, "%s/roster_json", root);
    snprintf(sdir, sizeof sdir, "%s/roster_signed", root);
    memset(seed, 0x51, sizeof seed); /* TEST coordinator key */
    crypto_sign_seed_keypair(pk, sk, seed);
    memset(seed, 0x52, sizeof seed); /* TEST impostor key */
    crypto_sign_seed_keypair(pk, other_sk, seed);
    if (!r)
        exit(1);
    json = roster_to_json(r);
    s_write(jdir, "empty.json", (const uint8_t *)json, strlen(json));
    free(json);
    s_roster_node(r, "jp.test", "JP", 0x61, "g7", ROSTER_ACTIVE);
    s_roster_node(r, "us.test", "US", 0x62, "g7", ROSTER_ACTIVE);
    s_roster_node(r, "sg.test", "SG", 0x63, "asean", ROSTER_SUSPENDED);
    s_roster_node(r, "nz.test", "NZ", 0x64, NULL, ROSTER_REVOKED);
    json = roster_to_json(r);
    s_write(jdir, "three-nodes.json", (const uint8_t *)json, strlen(json));
    s_write(jdir, "truncated.json", (const uint8_t *)json, strlen(json) / 2);
    if ((p = strstr(json, "\"status\": \"active\"")) != NULL) {
        memcpy(p, "\"colour\": \"active\"", 18);
        s_write(jdir, "unknown-field.json", (const uint8_t *)json,
                strlen(json));
    }
    free(json);
    s_write(jdir, "not-an-object.json", (const uint8_t *)"[1, 2]", 6);

    if (roster_sign(r, "coord.test", sk, 1780000000000ull, &note, &len) != 0)
        exit(1);
    s_write(sdir, "serial-1", (const uint8_t *)note, len);
    s_write(sdir, "truncated", (const uint8_t *)note, len - 10);
    note[len - 5] ^= 0x01; /* inside the signature */
    s_write(sdir, "bad-signature", (const uint8_t *)note, len);
    free(note);
    if (roster_sign(r, "coord.test", other_sk, 1780000000000ull, &note, &len) !=
        0)
        exit(1);
    s_write(sdir, "other-key", (const uint8_t *)note, len);
    free(note);
    if (note_sign("not a roster\n", 13, "coord.test", sk, &note, &len) != 0)
        exit(1);
    s_write(sdir, "not-a-roster", (const uint8_t *)note, len);
    free(note);
    roster_destroy(&r);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(other_sk, sizeof other_sk);
}

/* Frame seeds: one valid encoding of each type, plus broken ones. */
static void
s_frame_write(const char *dir, const char *name, const frame_t *f) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if (frame_encode(f, &buf, &len) != 0) {
        fprintf(stderr, "frame %s does not encode\n", name);
        exit(1);
    }
    s_write(dir, name, buf, len);
    if (strcmp(name, "stored") == 0)
        s_write(dir, "truncated", buf, len - 1);
    free(buf);
}

static void
s_frames(const char *root) {
    static const uint8_t id[16] = {1, 2,  3,  4,  5,  6,  7,  8,
                                   9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t env[] = "opaque envelope bytes";
    static const uint8_t note[] = "example.org/log\n2\nAAAA\n\n- sig\n";
    static uint8_t hashes[3 * FRAME_HASH_LEN];
    char dir[1024];
    frame_t f[FRAME_CONSISTENCY + 1];

    snprintf(dir, sizeof dir, "%s/frame", root);
    memset(hashes, 0x5a, sizeof hashes);
    memset(f, 0, sizeof f);
    for (int t = FRAME_HELLO; t <= FRAME_CONSISTENCY; t++)
        f[t].type = (frame_type_t)t;
    f[FRAME_HELLO].hello = (frame_hello_t){1, true, 0, true, 64, true, 7};
    f[FRAME_WELCOME].welcome = (frame_welcome_t){"jp.nisc", 7, 100, 2};
    f[FRAME_SUBMIT].submit = (frame_submit_t){env, sizeof env - 1};
    memcpy(f[FRAME_STORED].stored.msg_id, id, 16);
    f[FRAME_STORED].stored.index = 42;
    f[FRAME_STORED].stored.time_ms = 1795331880000ull;
    f[FRAME_REJECTED].rejected.has_msg_id = true;
    memcpy(f[FRAME_REJECTED].rejected.msg_id, id, 16);
    f[FRAME_REJECTED].rejected.code = FRAME_REJECT_REPLAY;
    f[FRAME_REJECTED].rejected.reason = "(sender, msg id) already accepted";
    f[FRAME_DELIVER].deliver = (frame_deliver_t){42, env, sizeof env - 1};
    f[FRAME_CONFIRM].confirm.index = 42;
    memcpy(f[FRAME_CONFIRM].confirm.msg_id, id, 16);
    memcpy(f[FRAME_RECEIPT].receipt.msg_id, id, 16);
    f[FRAME_RECEIPT].receipt.recipient = "sg.csa";
    f[FRAME_RECEIPT].receipt.status = FRAME_RECEIPT_DELIVERED;
    f[FRAME_RECEIPT].receipt.time_ms = 1795331880001ull;
    f[FRAME_RECEIPT].receipt.index = 43;
    f[FRAME_PING].ping = (frame_ping_t){true, 1};
    f[FRAME_PONG].pong = (frame_ping_t){true, 1};
    f[FRAME_ROSTER].roster = (frame_roster_t){note, sizeof note - 1};
    f[FRAME_CHECKPOINT].checkpoint =
        (frame_checkpoint_t){note, sizeof note - 1};
    f[FRAME_INCLUSION_REQUEST].inclusion_request.has_index = true;
    f[FRAME_INCLUSION_REQUEST].inclusion_request.index = 42;
    f[FRAME_INCLUSION].inclusion = (frame_inclusion_t){
        42, env, sizeof env - 1, hashes, 3, note, sizeof note - 1};
    f[FRAME_CONSISTENCY_REQUEST].consistency_request =
        (frame_consistency_request_t){2, 5};
    f[FRAME_CONSISTENCY].consistency = (frame_consistency_t){2, 5, hashes, 3};
    for (int t = FRAME_HELLO; t <= FRAME_CONSISTENCY; t++)
        s_frame_write(dir, frame_type_name((frame_type_t)t), &f[t]);
    /* ping + pong, a ping with an unknown field, an empty frame. */
    s_write(dir, "two-bodies", (const uint8_t *)"\x4a\x02\x08\x01\x52\x00", 6);
    s_write(dir, "unknown-field", (const uint8_t *)"\x4a\x04\x08\x01\x10\x01",
            6);
    s_write(dir, "short-msg-id",
            (const uint8_t *)"\x3a\x07\x08\x01\x12\x03\x01\x02\x03", 9);
}

/* Record seeds: one valid encoding of each type, plus broken ones. */
static void
s_record_write(const char *dir, const char *name, const record_t *r) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if (record_encode(r, &buf, &len) != 0) {
        fprintf(stderr, "record %s does not encode\n", name);
        exit(1);
    }
    s_write(dir, name, buf, len);
    if (strcmp(name, "refused") == 0)
        s_write(dir, "truncated", buf, len - 2);
    free(buf);
}

static void
s_records(const char *root) {
    static const uint8_t id[16] = {1, 2,  3,  4,  5,  6,  7,  8,
                                   9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t env[] = "opaque envelope bytes";
    static const uint8_t roster[] = "renraku roster\n\n- sig\n";
    static const char *const rcpts[] = {"us.cisa", "sg.csa"};
    char dir[1024];
    record_t r;

    snprintf(dir, sizeof dir, "%s/record", root);
    r = (record_t){.version = RECORD_VERSION,
                   .index = 0,
                   .time_ms = 1795331880000ull,
                   .type = RECORD_RELAY};
    r.relay = (record_relay_t){"started", "renraku-relay test"};
    s_record_write(dir, "relay", &r);
    r.index = 1;
    r.type = RECORD_ROSTER;
    r.roster = (record_roster_t){7, roster, sizeof roster - 1};
    s_record_write(dir, "roster", &r);
    r.index = 2;
    r.type = RECORD_ACCEPTED;
    r.accepted = (record_accepted_t){"jp.nisc", env, sizeof env - 1};
    s_record_write(dir, "accepted", &r);
    r.index = 3;
    r.type = RECORD_DELIVERED;
    r.delivered.accepted_index = 2;
    memcpy(r.delivered.msg_id, id, 16);
    r.delivered.recipient = "us.cisa";
    s_record_write(dir, "delivered", &r);
    r.index = 4;
    r.type = RECORD_EXPIRED;
    r.expired.accepted_index = 2;
    memcpy(r.expired.msg_id, id, 16);
    r.expired.recipients = rcpts;
    r.expired.n_recipients = 2;
    s_record_write(dir, "expired", &r);
    r.index = 5;
    r.type = RECORD_REFUSED;
    memset(&r.refused, 0, sizeof r.refused);
    r.refused.peer = "sg.csa";
    r.refused.has_msg_id = true;
    memcpy(r.refused.msg_id, id, 16);
    r.refused.claimed_sender = "jp.nisc";
    r.refused.code = FRAME_REJECT_SENDER_MISMATCH;
    r.refused.reason = "header sender is not the authenticated node";
    r.refused.size = 812;
    r.refused.has_digest = true;
    memset(r.refused.digest, 0xab, sizeof r.refused.digest);
    s_record_write(dir, "refused", &r);
    /* index before version; a relay record with a second body; no body. */
    s_write(dir, "out-of-order",
            (const uint8_t *)"\x10\x06\x08\x01\x18\x05\x7a\x04\x0a\x02up", 12);
    s_write(dir, "two-bodies",
            (const uint8_t *)"\x08\x01\x10\x06\x18\x05\x7a\x04\x0a\x02up"
                             "\x7a\x04\x0a\x02up",
            18);
    s_write(dir, "no-body", (const uint8_t *)"\x08\x01\x10\x06\x18\x05", 6);
}

int
main(int argc, char **argv) {
    if (argc != 2 || sodium_init() < 0) {
        fprintf(stderr, "usage: gen_corpus CORPUS_DIR\n");
        return 2;
    }
    s_envelopes(argv[1]);
    s_rosters(argv[1]);
    s_payloads(argv[1]);
    s_frames(argv[1]);
    s_records(argv[1]);
    return 0;
}

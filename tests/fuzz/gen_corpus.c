/* gen_corpus: writes the seed inputs of the committed fuzz corpora with
 * clearly marked throw-away test keys (seeds of repeated bytes). Run by hand
 * after a format change: build/tests/fuzz/gen_corpus tests/fuzz/corpus */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "payload.h"
#include "rk_util.h"

static void
s_write(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void
s_envelopes(const char *root)
{
    char dir[1024];
    uint8_t seed[32], sign_pk[32], sign_sk[64], kid[8];
    uint8_t enc_pk[3][32], enc_sk[32];
    envelope_recipient_t r[3] = {{"us.cisa", enc_pk[0]},
                                 {"sg.csa", enc_pk[1]},
                                 {"jp.nisc", enc_pk[2]}};
    envelope_params_t p = {.sender = "ctl.test", .sign_sk = sign_sk,
                           .sign_key_id = kid,
                           .kind = ENVELOPE_KIND_DRILL_INJECT,
                           .created_ms = 1795331880000ull,
                           .expires_ms = 1795335480000ull, .exercise = true,
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
s_payload_write(const char *dir, const char *name, const payload_t *p)
{
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
s_payloads(const char *root)
{
    static const char *const sectors[] = {"energy", "health"};
    static const char *const refs[] = {"https://example.org/adv/1"};
    static const payload_indicator_t inds[] = {
        {"ipv4-addr", "192.0.2.1", "C2"}, {"domain-name", "example.net", NULL}};
    static const payload_notice_t drill_notice = {
        .incident_id = "EX-1", .title = "EXERCISE notice",
        .tlp = PAYLOAD_TLP_CLEAR, .category = "test"};
    static const uint8_t id[16] = {1, 2, 3, 4, 5, 6, 7, 8,
                                   9, 10, 11, 12, 13, 14, 15, 16};
    char dir[1024];
    payload_t p;

    snprintf(dir, sizeof dir, "%s/payload", root);
    p = (payload_t){.kind = PAYLOAD_NOTICE};
    p.notice = (payload_notice_t){
        .incident_id = "JP-2026-1", .title = "Ransomware", .description = "a\nb",
        .purpose = PAYLOAD_PURPOSE_MITIGATION, .status = PAYLOAD_STATUS_NEW,
        .tlp = PAYLOAD_TLP_AMBER_STRICT, .severity = PAYLOAD_SEVERITY_HIGH,
        .category = "malicious-code", .rsit_type = "ransomware",
        .sectors = sectors, .n_sectors = 2, .indicators = inds,
        .n_indicators = 2, .requested_action = "block", .contact = "soc",
        .references = refs, .n_references = 1,
        .detected_ms = 1795331880000ull};
    s_payload_write(dir, "notice-full", &p);
    p = (payload_t){.kind = PAYLOAD_NOTICE};
    p.notice = (payload_notice_t){.incident_id = "I-1", .title = "T",
                                  .tlp = PAYLOAD_TLP_RED};
    s_payload_write(dir, "notice-min", &p);
    p = (payload_t){.kind = PAYLOAD_ACK};
    memcpy(p.ack.ref_msg_id, id, 16);
    p.ack.status = PAYLOAD_ACK_DENIED;
    p.ack.comment = "not ours";
    s_payload_write(dir, "ack", &p);
    p = (payload_t){.kind = PAYLOAD_COMM_CHECK};
    p.comm_check = (payload_comm_check_t){"cc-1", "ping",
                                          1795335480000ull};
    s_payload_write(dir, "comm-check", &p);
    p = (payload_t){.kind = PAYLOAD_DRILL_INJECT};
    p.drill_inject = (payload_drill_inject_t){
        .drill_id = "test-drill", .inject_id = "i-1", .title = "Inject",
        .text = "EXERCISE EXERCISE", .expected = PAYLOAD_ACK_ACKNOWLEDGED,
        .respond_by_ms = 1795335480000ull, .notice = &drill_notice};
    s_payload_write(dir, "drill-inject", &p);
    p = (payload_t){.kind = PAYLOAD_DRILL_REPLY};
    p.drill_reply = (payload_drill_reply_t){
        .drill_id = "test-drill", .inject_id = "i-1",
        .status = PAYLOAD_ACK_RESOLVED, .text = "EXERCISE done"};
    memcpy(p.drill_reply.ref_msg_id, id, 16);
    s_payload_write(dir, "drill-reply", &p);
    /* An unknown top-level field, and a notice sent twice. */
    s_write(dir, "unknown-field",
            (const uint8_t *)"\x0a\x0a\x0a\x03I-1\x12\x01T\x30\x03\x48\x01",
            14);
    s_write(dir, "empty-notice", (const uint8_t *)"\x0a\x00", 2);
}

int
main(int argc, char **argv)
{
    if (argc != 2 || sodium_init() < 0) {
        fprintf(stderr, "usage: gen_corpus CORPUS_DIR\n");
        return 2;
    }
    s_envelopes(argv[1]);
    s_payloads(argv[1]);
    return 0;
}

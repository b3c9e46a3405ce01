/* audit_forge: makes the bad inputs of tests/integration/audit.sh that a
 * real relay never writes: a checkpoint signed by any key, and a log whose
 * accepted envelope is signed by a key the roster of its time does not
 * list, or whose receipts contradict it. Test-only; keys are fresh test
 * keys.
 *
 *   audit_forge sign-checkpoint KEY ORIGIN SIZE ROOT_B64   (note to stdout)
 *   audit_forge forge-log DIR RELAY_KEY COORDINATOR_PUB ROSTER_SIGNED
 *                         SIGNER_KEY RECIPIENT_ID [MODE [OTHER_ID]]
 *   After the accepted record (index 2) to RECIPIENT_ID, MODE writes what a
 *   relay must never write:
 *     closed-twice     RECIPIENT_ID delivered (3), then expired for it (4)
 *     delivered-twice  RECIPIENT_ID delivered (3) and delivered again (4)
 *     delivered-other  OTHER_ID, not a recipient, delivered (3)
 *     expired-other    the message expired (3) for OTHER_ID, not a recipient
 *     undeliverable-revoked / undeliverable-removed
 *                      RECIPIENT_ID, active in ROSTER_SIGNED, given up (3)
 *                      as revoked / removed from the roster
 *     expired-undeliverable
 *                      RECIPIENT_ID expired (3), then given up (4) as
 *                      removed from the roster
 *     expiry-lost      the message expires 1 s after it was sent, and
 *                      another message is accepted (3) 10 s after that,
 *                      with no expired record in between (the expiry lost)
 *   and one a relay does write, to show the check is not fooled:
 *     expiry-logged    as expiry-lost, but expired (3) a second after its
 *                      expiry, before the other message (4)
 *   All under a checkpoint signed by RELAY_KEY.
 * Exit: 0 done, 1 failed, 2 usage. */
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "envelope.h"
#include "identity.h"
#include "record.h"
#include "relay_log.h"
#include "rk_log.h"
#include "rk_util.h"
#include "roster.h"
#include "unlock.h"

static int
s_fail(const char *what, int rc) {
    fprintf(stderr, "audit_forge: %s: %s\n", what, rk_strerror(rc));
    return 1;
}

static int
s_sign_checkpoint(char **argv) {
    identity_t *id = NULL;
    checkpoint_t cp;
    char *note = NULL;
    size_t len = 0, rl = 0;
    int rc = identity_load(argv[0], NULL, &id);
    if (rc != RK_OK)
        return s_fail(argv[0], rc);
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "%s", argv[1]);
    cp.size = strtoull(argv[2], NULL, 10);
    rc = rk_unb64(cp.root, sizeof cp.root, &rl, argv[3], strlen(argv[3]));
    if (rc != RK_OK || rl != sizeof cp.root) {
        identity_destroy(&id);
        return s_fail("root", RK_ERR_MALFORMED);
    }
    rc = checkpoint_sign(&cp, argv[1], identity_sign_sk(id), &note, &len);
    identity_destroy(&id);
    if (rc != RK_OK)
        return s_fail("sign", rc);
    fwrite(note, 1, len, stdout);
    free(note);
    return 0;
}

static int
s_append(relay_log_t *log, record_t *r) {
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;
    r->version = RECORD_VERSION;
    r->index = relay_log_size(log);
    if (!r->time_ms)
        r->time_ms = rk_now_ms();
    rc = record_encode(r, &buf, &len);
    if (rc == RK_OK)
        rc = relay_log_append(log, buf, len, NULL);
    free(buf);
    return rc;
}

/* Appends a delivered record to ids[0], or an expired one for ids. */
static int
s_receipt(relay_log_t *log, uint64_t acc_index,
          const uint8_t msg_id[ENVELOPE_MSG_ID_LEN], const char **ids,
          bool expired) {
    record_t r;
    memset(&r, 0, sizeof r);
    if (expired) {
        r.type = RECORD_EXPIRED;
        r.expired.accepted_index = acc_index;
        memcpy(r.expired.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
        r.expired.recipients = ids;
        r.expired.n_recipients = 1;
    } else {
        r.type = RECORD_DELIVERED;
        r.delivered.accepted_index = acc_index;
        memcpy(r.delivered.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
        r.delivered.recipient = ids[0];
    }
    return s_append(log, &r);
}

static int
s_forge_log(char **argv) {
    identity_t *relay = NULL, *signer = NULL;
    note_verifier_t coord;
    roster_t *roster = NULL;
    relay_log_t *log = NULL;
    relay_log_config_t lc;
    uint8_t *note = NULL, *env = NULL, kid[ENVELOPE_KEY_ID_LEN];
    size_t note_len = 0, env_len = 0, cp_len = 0;
    char err[300], origin[300], *cp = NULL;
    const roster_node_t *to;
    envelope_params_t p;
    envelope_recipient_t rcpt;
    record_t r;
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN];
    uint64_t acc_index;
    const char *mode = argv[6];
    bool expiry = mode && (!strcmp(mode, "expiry-lost") ||
                           !strcmp(mode, "expiry-logged"));
    int rc;

    if ((rc = identity_load(argv[1], NULL, &relay)) != RK_OK)
        return s_fail(argv[1], rc);
    if ((rc = identity_load(argv[4], NULL, &signer)) != RK_OK)
        return s_fail(argv[4], rc);
    if ((rc = unlock_verifier(argv[2], &coord, err, sizeof err)) != RK_OK)
        return s_fail(err, rc);
    if ((rc = rk_read_file(argv[3], ROSTER_SIGNED_MAX_BYTES, &note,
                           &note_len)) != RK_OK ||
        (rc = roster_open_signed(note, note_len, &coord, 0, &roster, err,
                                 sizeof err)) != RK_OK)
        return s_fail(argv[3], rc);
    if (!(to = roster_find(roster, argv[5])) || !to->n_keys)
        return s_fail(argv[5], RK_ERR_NOT_FOUND);
    snprintf(origin, sizeof origin, "renraku/%s", identity_id(relay));
    memset(&lc, 0, sizeof lc);
    lc.dir = argv[0];
    lc.origin = origin;
    lc.secret_key = identity_sign_sk(relay);
    if ((rc = relay_log_open(&lc, &log, NULL, err, sizeof err)) != RK_OK)
        return s_fail(err, rc);

    memset(&r, 0, sizeof r);
    r.type = RECORD_ROSTER;
    r.roster.serial = roster_serial(roster);
    r.roster.signed_roster = note;
    r.roster.signed_roster_len = note_len;
    if ((rc = s_append(log, &r)) != RK_OK)
        return s_fail("roster record", rc);
    memset(&r, 0, sizeof r);
    r.type = RECORD_RELAY;
    r.relay.event = "started";
    if ((rc = s_append(log, &r)) != RK_OK)
        return s_fail("relay record", rc);

    /* Signed by the signer's key, which the roster does not list. */
    envelope_key_id(kid, identity_public(signer)->sign_pk);
    memset(&p, 0, sizeof p);
    p.sender = identity_id(signer);
    p.sign_sk = identity_sign_sk(signer);
    p.sign_key_id = kid;
    p.kind = ENVELOPE_KIND_NOTICE;
    p.created_ms = rk_now_ms();
    p.expires_ms = expiry ? p.created_ms + 1000 : 0;
    rcpt.id = to->id;
    rcpt.enc_pk = to->keys[0].enc_pk;
    rc = envelope_seal(&p, &rcpt, 1, (const uint8_t *)"forged", 6, &env,
                       &env_len, msg_id);
    if (rc != RK_OK)
        return s_fail("seal", rc);
    memset(&r, 0, sizeof r);
    r.type = RECORD_ACCEPTED;
    r.accepted.sender = identity_id(signer);
    r.accepted.envelope = env;
    r.accepted.envelope_len = env_len;
    acc_index = relay_log_size(log);
    if ((rc = s_append(log, &r)) != RK_OK)
        return s_fail("accepted record", rc);
    if (expiry) {
        const char *ids[1] = {to->id};
        if (!strcmp(mode, "expiry-logged")) {
            memset(&r, 0, sizeof r);
            r.type = RECORD_EXPIRED;
            r.time_ms = p.expires_ms + 1000;
            r.expired.accepted_index = acc_index;
            memcpy(r.expired.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
            r.expired.recipients = ids;
            r.expired.n_recipients = 1;
            if ((rc = s_append(log, &r)) != RK_OK)
                return s_fail("expired record", rc);
        }
        /* Another message, long after the first one's expiry: the
         * relay's scan (once a second) has passed it by then. */
        free(env);
        p.expires_ms = 0;
        if ((rc = envelope_seal(&p, &rcpt, 1, (const uint8_t *)"later", 5, &env,
                                &env_len, msg_id)) != RK_OK)
            return s_fail("seal", rc);
        memset(&r, 0, sizeof r);
        r.type = RECORD_ACCEPTED;
        r.time_ms = p.created_ms + 1000 + 10000;
        r.accepted.sender = identity_id(signer);
        r.accepted.envelope = env;
        r.accepted.envelope_len = env_len;
        if ((rc = s_append(log, &r)) != RK_OK)
            return s_fail("second accepted record", rc);
    } else if (mode && (!strncmp(mode, "undeliverable-", 14) ||
                        !strcmp(mode, "expired-undeliverable"))) {
        const char *ids[1] = {to->id};
        bool both = !strcmp(mode, "expired-undeliverable");
        if (both) {
            memset(&r, 0, sizeof r);
            r.type = RECORD_EXPIRED;
            r.expired.accepted_index = acc_index;
            memcpy(r.expired.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
            r.expired.recipients = ids;
            r.expired.n_recipients = 1;
            if ((rc = s_append(log, &r)) != RK_OK)
                return s_fail("expired record", rc);
        }
        memset(&r, 0, sizeof r);
        r.type = RECORD_UNDELIVERABLE;
        r.undeliverable.accepted_index = acc_index;
        memcpy(r.undeliverable.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
        r.undeliverable.recipients = ids;
        r.undeliverable.n_recipients = 1;
        r.undeliverable.reason = both ? "removed" : mode + 14;
        r.undeliverable.roster_serial = roster_serial(roster);
        if ((rc = s_append(log, &r)) != RK_OK)
            return s_fail("undeliverable record", rc);
    } else if (mode) {
        bool other =
            !strcmp(mode, "delivered-other") || !strcmp(mode, "expired-other");
        const char *ids[1] = {other ? argv[7] : to->id};
        /* The first receipt: an expiry only for expired-other. */
        if ((rc = s_receipt(log, acc_index, msg_id, ids,
                            !strcmp(mode, "expired-other"))) != RK_OK)
            return s_fail("receipt record", rc);
        /* A second one for the same recipient: closed-twice expires it,
         * delivered-twice delivers it again. */
        if (!other && (rc = s_receipt(log, acc_index, msg_id, ids,
                                      !strcmp(mode, "closed-twice"))) != RK_OK)
            return s_fail("second receipt record", rc);
    }
    memset(&r, 0, sizeof r);
    r.type = RECORD_RELAY;
    r.relay.event = "stopped";
    if ((rc = s_append(log, &r)) != RK_OK ||
        (rc = relay_log_sync(log)) != RK_OK ||
        (rc = relay_log_checkpoint(log, rk_now_ms(), &cp, &cp_len)) != RK_OK)
        return s_fail("stop", rc);
    free(cp);
    free(env);
    free(note);
    relay_log_close(&log);
    roster_destroy(&roster);
    identity_destroy(&relay);
    identity_destroy(&signer);
    return 0;
}

int
main(int argc, char **argv) {
    if (sodium_init() < 0)
        return 1;
    rk_log_level = RK_LOG_ERROR;
    if (argc == 6 && !strcmp(argv[1], "sign-checkpoint"))
        return s_sign_checkpoint(argv + 2);
    if (argc >= 8 && !strcmp(argv[1], "forge-log") &&
        (argc == 8 ||
         (argc == 9 && (!strcmp(argv[8], "closed-twice") ||
                        !strcmp(argv[8], "delivered-twice") ||
                        !strcmp(argv[8], "undeliverable-revoked") ||
                        !strcmp(argv[8], "undeliverable-removed") ||
                        !strcmp(argv[8], "expired-undeliverable") ||
                        !strcmp(argv[8], "expiry-lost") ||
                        !strcmp(argv[8], "expiry-logged"))) ||
         (argc == 10 && (!strcmp(argv[8], "delivered-other") ||
                         !strcmp(argv[8], "expired-other")))))
        return s_forge_log(argv + 2);
    fprintf(stderr,
            "usage: audit_forge sign-checkpoint KEY ORIGIN SIZE "
            "ROOT_B64\n       audit_forge forge-log DIR RELAY_KEY "
            "COORDINATOR_PUB ROSTER_SIGNED SIGNER_KEY RECIPIENT_ID\n"
            "           [closed-twice | delivered-twice | delivered-other "
            "OTHER_ID | expired-other OTHER_ID | expiry-lost |\n"
            "            expiry-logged]\n");
    return 2;
}

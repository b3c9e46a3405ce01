/* Unit tests of clients/audit_compare on synthetic records (real sealed
 * envelopes, records built in memory): agreement, both contradictions
 * (one msg id with two envelopes, one roster serial with two texts), why
 * a message is in one log only, recipients neither relay delivered, the
 * window, the order of findings, their line and JSON, and misuse. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_compare.h"
#include "rk_util.h"

#define T0 1800000000000ull /* a relay time, ms */
#define MAX_FINDS 64

/* A sender's signing key and a recipient's box key. */
typedef struct {
    uint8_t sign_pk[32], sign_sk[64], kid[ENVELOPE_KEY_ID_LEN];
    uint8_t box_pk[32], box_sk[32];
} s_keys_t;

static s_keys_t s_jp, s_us, s_sg;

/* What the callback saw. */
typedef struct {
    size_t n;
    audit_compare_kind_t kind[MAX_FINDS];
    audit_compare_severity_t sev[MAX_FINDS];
    char cls[MAX_FINDS][16];
    char to[MAX_FINDS][64];
    char msg[MAX_FINDS][33];
    int64_t index[MAX_FINDS][2];
    uint64_t time[MAX_FINDS];
    char text[MAX_FINDS][1024];
    char line[MAX_FINDS][1400];
    char json[MAX_FINDS][1800];
} s_seen_t;

static int
s_group_setup(void **state) {
    (void)state;
    assert_true(sodium_init() >= 0);
    s_keys_t *k[3] = {&s_jp, &s_us, &s_sg};
    for (int i = 0; i < 3; i++) {
        crypto_sign_keypair(k[i]->sign_pk, k[i]->sign_sk);
        envelope_key_id(k[i]->kid, k[i]->sign_pk);
        crypto_box_keypair(k[i]->box_pk, k[i]->box_sk);
    }
    return 0;
}

/* An envelope from `from` to the n ids (keys looked up among the three),
 * with msg id `id` (NULL: random), text and expiry; *out malloc'd. */
static size_t
s_seal(const char *from, const char *const *to, size_t n, const uint8_t *id,
       const char *text, uint64_t expires_ms, uint8_t **out,
       uint8_t msg_id[ENVELOPE_MSG_ID_LEN]) {
    envelope_params_t p;
    envelope_recipient_t r[3];
    const s_keys_t *sk = !strcmp(from, "jp.nisc")   ? &s_jp
                         : !strcmp(from, "us.cisa") ? &s_us
                                                    : &s_sg;
    size_t len = 0;
    memset(&p, 0, sizeof p);
    p.sender = from;
    p.sign_sk = sk->sign_sk;
    p.sign_key_id = sk->kid;
    p.kind = ENVELOPE_KIND_NOTICE;
    p.created_ms = T0;
    p.expires_ms = expires_ms;
    p.msg_id = id;
    for (size_t i = 0; i < n; i++) {
        r[i].id = to[i];
        r[i].enc_pk = !strcmp(to[i], "jp.nisc")   ? s_jp.box_pk
                      : !strcmp(to[i], "us.cisa") ? s_us.box_pk
                                                  : s_sg.box_pk;
    }
    assert_int_equal(envelope_seal(&p, r, n, (const uint8_t *)text,
                                   strlen(text), out, &len, msg_id),
                     RK_OK);
    return len;
}

static void
s_accepted(audit_compare_t *c, int log, uint64_t pos, uint64_t t,
           const char *from, const uint8_t *env, size_t len) {
    record_t r;
    memset(&r, 0, sizeof r);
    r.version = RECORD_VERSION;
    r.index = pos;
    r.time_ms = t;
    r.type = RECORD_ACCEPTED;
    r.accepted.sender = from;
    r.accepted.envelope = env;
    r.accepted.envelope_len = len;
    assert_int_equal(audit_compare_add(c, log, pos, &r), RK_OK);
}

static void
s_receipt(audit_compare_t *c, int log, uint64_t pos, uint64_t t, uint64_t acc,
          const uint8_t *msg_id, const char *who, bool expired) {
    record_t r;
    const char *ids[1] = {who};
    memset(&r, 0, sizeof r);
    r.version = RECORD_VERSION;
    r.index = pos;
    r.time_ms = t;
    if (expired) {
        r.type = RECORD_EXPIRED;
        r.expired.accepted_index = acc;
        memcpy(r.expired.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
        r.expired.recipients = ids;
        r.expired.n_recipients = 1;
    } else {
        r.type = RECORD_DELIVERED;
        r.delivered.accepted_index = acc;
        memcpy(r.delivered.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
        r.delivered.recipient = who;
    }
    assert_int_equal(audit_compare_add(c, log, pos, &r), RK_OK);
}

/* Any record that is only a time mark: a relay event. */
static void
s_relay(audit_compare_t *c, int log, uint64_t pos, uint64_t t,
        const char *event) {
    record_t r;
    memset(&r, 0, sizeof r);
    r.version = RECORD_VERSION;
    r.index = pos;
    r.time_ms = t;
    r.type = RECORD_RELAY;
    r.relay.event = event;
    assert_int_equal(audit_compare_add(c, log, pos, &r), RK_OK);
}

static void
s_roster(audit_compare_t *c, int log, uint64_t pos, uint64_t t, uint64_t serial,
         const char *note) {
    record_t r;
    memset(&r, 0, sizeof r);
    r.version = RECORD_VERSION;
    r.index = pos;
    r.time_ms = t;
    r.type = RECORD_ROSTER;
    r.roster.serial = serial;
    r.roster.signed_roster = (const uint8_t *)note;
    r.roster.signed_roster_len = strlen(note);
    assert_int_equal(audit_compare_add(c, log, pos, &r), RK_OK);
}

/* A refusal of a submission by peer (the node the relay authenticated),
 * whose header names that peer as its sender. */
static void
s_refused_by(audit_compare_t *c, int log, uint64_t pos, uint64_t t,
             const uint8_t *msg_id, frame_reject_t code, const char *peer) {
    record_t r;
    memset(&r, 0, sizeof r);
    r.version = RECORD_VERSION;
    r.index = pos;
    r.time_ms = t;
    r.type = RECORD_REFUSED;
    r.refused.peer = peer;
    r.refused.claimed_sender = peer;
    r.refused.has_msg_id = true;
    memcpy(r.refused.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
    r.refused.code = code;
    r.refused.reason = "refused";
    r.refused.size = 100;
    assert_int_equal(audit_compare_add(c, log, pos, &r), RK_OK);
}

static void
s_refused(audit_compare_t *c, int log, uint64_t pos, uint64_t t,
          const uint8_t *msg_id, frame_reject_t code) {
    s_refused_by(c, log, pos, t, msg_id, code, "jp.nisc");
}

static int
s_collect(void *arg, const audit_compare_finding_t *f) {
    s_seen_t *s = arg;
    char *line = audit_compare_line(f), *json = audit_compare_json(f);
    assert_true(s->n < MAX_FINDS);
    assert_non_null(line);
    assert_non_null(json);
    s->kind[s->n] = f->kind;
    s->sev[s->n] = f->severity;
    snprintf(s->cls[s->n], sizeof s->cls[0], "%s", f->cls);
    snprintf(s->to[s->n], sizeof s->to[0], "%s", f->to);
    snprintf(s->msg[s->n], sizeof s->msg[0], "%s", f->msg_id);
    s->index[s->n][0] = f->index[0];
    s->index[s->n][1] = f->index[1];
    s->time[s->n] = f->time_ms;
    snprintf(s->text[s->n], sizeof s->text[0], "%s", f->text);
    snprintf(s->line[s->n], sizeof s->line[0], "%s", line);
    snprintf(s->json[s->n], sizeof s->json[0], "%s", json);
    free(line);
    free(json);
    s->n++;
    return 0;
}

/* Finishes c over [since, until) and collects its findings into *s. */
static void
s_finish(audit_compare_t *c, uint64_t since, uint64_t until,
         audit_compare_counts_t *n, s_seen_t *s) {
    memset(s, 0, sizeof *s);
    assert_int_equal(audit_compare_finish(c, since, until, n), RK_OK);
    assert_int_equal(audit_compare_foreach(c, s_collect, s), RK_OK);
    assert_int_equal(n->findings, s->n);
}

/* The finding of kind k about msg (hex) or NULL: its number, or -1. */
static int
s_which(const s_seen_t *s, audit_compare_kind_t k, const uint8_t *msg) {
    char hex[33];
    if (msg)
        rk_hex(hex, msg, ENVELOPE_MSG_ID_LEN);
    for (size_t i = 0; i < s->n; i++)
        if (s->kind[i] == k && (!msg || !strcmp(s->msg[i], hex)))
            return (int)i;
    return -1;
}

static const char *const s_to_us[] = {"us.cisa"};

/* The same bytes in both logs, delivered by both: they agree. */
static void
test_agree(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    uint8_t *env = NULL, id[16];
    size_t len = s_seal("jp.nisc", s_to_us, 1, NULL, "hello", 0, &env, id);
    (void)state;
    s_roster(c, 0, 0, T0, 1, "roster one\n\n- coordinator AAAA\n");
    s_roster(c, 1, 0, T0 + 5, 1, "roster one\n\n- coordinator AAAA\n");
    s_accepted(c, 0, 1, T0 + 10, "jp.nisc", env, len);
    s_accepted(c, 1, 1, T0 + 12, "jp.nisc", env, len);
    s_receipt(c, 0, 2, T0 + 20, 1, id, "us.cisa", false);
    s_receipt(c, 1, 2, T0 + 21, 1, id, "us.cisa", false);
    s_finish(c, 0, 0, &n, &s);
    assert_int_equal(n.both, 1);
    assert_int_equal(n.messages[0], 1);
    assert_int_equal(n.messages[1], 1);
    assert_int_equal(n.only[0] + n.only[1], 0);
    assert_int_equal(n.contradictions, 0);
    assert_int_equal(n.not_reached, 0);
    assert_int_equal(n.rosters_both, 1);
    assert_int_equal(s.n, 0);
    assert_int_equal(n.last_ms[1], T0 + 21);
    free(env);
    audit_compare_destroy(&c);
    assert_null(c);
    audit_compare_destroy(&c); /* twice: harmless */
    audit_compare_destroy(NULL);
}

/* One msg id, two envelopes: a contradiction naming both records; the
 * text says whether one sender signed both or two senders shared it. */
static void
test_envelopes_differ(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    uint8_t *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, id[16], id2[16];
    size_t l1 = s_seal("jp.nisc", s_to_us, 1, NULL, "version A", 0, &e1, id);
    size_t l2 = s_seal("jp.nisc", s_to_us, 1, id, "version B", 0, &e2, NULL);
    size_t l3 = s_seal("jp.nisc", s_to_us, 1, NULL, "mine", 0, &e3, id2);
    size_t l4 = s_seal("sg.csa", s_to_us, 1, id2, "theirs", 0, &e4, NULL);
    int i;
    (void)state;
    s_accepted(c, 0, 7, T0 + 100, "jp.nisc", e1, l1);
    s_accepted(c, 1, 9, T0 + 90, "jp.nisc", e2, l2);
    s_accepted(c, 0, 8, T0 + 200, "jp.nisc", e3, l3);
    s_accepted(c, 1, 10, T0 + 210, "sg.csa", e4, l4);
    s_finish(c, 0, 0, &n, &s);
    assert_int_equal(n.contradictions, 2);
    assert_int_equal(n.both, 0);
    assert_int_equal(n.messages[0], 2);
    /* Per-recipient outcomes of contradicted messages are not judged. */
    assert_int_equal(n.not_reached, 0);
    assert_int_equal(s.n, 2);
    i = s_which(&s, AUDIT_COMPARE_ENVELOPES, id);
    assert_int_equal(i, 0);
    assert_int_equal(s.sev[i], AUDIT_COMPARE_CONTRADICTION);
    assert_int_equal(s.index[i][0], 7);
    assert_int_equal(s.index[i][1], 9);
    assert_int_equal(s.time[i], T0 + 90); /* the earlier of the two */
    assert_non_null(strstr(s.text[i], "jp.nisc signed two messages with one "
                                      "msg id"));
    assert_non_null(strstr(s.line[i], " contradiction envelopes-differ msg="));
    assert_non_null(strstr(s.line[i], " a.index=7 b.index=9: "));
    i = s_which(&s, AUDIT_COMPARE_ENVELOPES, id2);
    assert_int_equal(i, 1);
    assert_non_null(strstr(s.text[i], "jp.nisc (in A) and sg.csa (in B) used "
                                      "one msg id"));
    free(e1);
    free(e2);
    free(e3);
    free(e4);
    audit_compare_destroy(&c);
}

/* One serial, two texts: a contradiction; the same text with other
 * signature lines is the same roster; a serial in one log informs. */
static void
test_rosters(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    int i;
    (void)state;
    s_roster(c, 0, 0, T0, 1, "serial 1\nnodes a\n\n- coordinator SIG1\n");
    s_roster(c, 1, 0, T0 + 1, 1,
             "serial 1\nnodes a\n\n- coordinator SIG1\n- witness SIG2\n");
    s_roster(c, 0, 5, T0 + 50, 2, "serial 2\nnodes a b\n\n- coordinator X\n");
    s_roster(c, 1, 4, T0 + 40, 2, "serial 2\nnodes a c\n\n- coordinator Y\n");
    s_roster(c, 0, 9, T0 + 90, 3, "serial 3\nnodes a b\n\n- coordinator Z\n");
    s_finish(c, 0, 0, &n, &s);
    assert_int_equal(n.rosters_both, 1);
    assert_int_equal(n.rosters_one, 1);
    assert_int_equal(n.contradictions, 1);
    assert_int_equal(s.n, 2);
    i = s_which(&s, AUDIT_COMPARE_ROSTERS, NULL);
    assert_int_equal(i, 0);
    assert_int_equal(s.sev[i], AUDIT_COMPARE_CONTRADICTION);
    assert_int_equal(s.index[i][0], 5);
    assert_int_equal(s.index[i][1], 4);
    assert_int_equal(s.time[i], T0 + 40);
    assert_non_null(strstr(s.line[i], " contradiction rosters-differ serial=2 "
                                      "a.index=5 b.index=4: "));
    i = s_which(&s, AUDIT_COMPARE_ROSTER_ONE, NULL);
    assert_int_equal(i, 1);
    assert_int_equal(s.sev[i], AUDIT_COMPARE_INFO);
    assert_int_equal(s.index[i][1], -1);
    assert_non_null(strstr(s.text[i], "newer than B's newest (serial 2)"));
    audit_compare_destroy(&c);
}

/* Why a message is in log A only: B's log begins after it, ends before
 * it, refused it, or ran past it (with and without time to resubmit, the
 * relay stopped meanwhile); the clocks are overruled by a later message
 * both logs hold. */
static void
test_only_classes(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    uint8_t *e[7] = {0}, id[7][16];
    size_t len[7];
    int i;
    (void)state;
    for (int k = 0; k < 7; k++)
        len[k] = s_seal("jp.nisc", s_to_us, 1, NULL, "x", 0, &e[k], id[k]);
    /* A: m0 at T0 (before B begins), m1 common, m2 runs past long
     * before B's end, m3 refused by B, m4 while B was stopped, m5 common,
     * m6 after B ends. */
    s_accepted(c, 0, 0, T0, "jp.nisc", e[0], len[0]);
    s_relay(c, 1, 0, T0 + 1000, "started");
    s_accepted(c, 0, 1, T0 + 2000, "jp.nisc", e[1], len[1]);
    s_accepted(c, 1, 1, T0 + 2001, "jp.nisc", e[1], len[1]);
    s_accepted(c, 0, 2, T0 + 3000, "jp.nisc", e[2], len[2]);
    s_accepted(c, 0, 3, T0 + 4000, "jp.nisc", e[3], len[3]);
    s_refused(c, 1, 2, T0 + 4001, id[3], FRAME_REJECT_RECIPIENT_INACTIVE);
    s_relay(c, 1, 3, T0 + 4500, "stopped");
    s_accepted(c, 0, 4, T0 + 5000, "jp.nisc", e[4], len[4]);
    s_relay(c, 1, 4, T0 + 6000, "started");
    s_accepted(c, 0, 5, T0 + 7000, "jp.nisc", e[5], len[5]);
    s_accepted(c, 1, 5, T0 + 7001, "jp.nisc", e[5], len[5]);
    s_relay(c, 1, 6, T0 + 200000, "stopped");
    s_accepted(c, 0, 6, T0 + 300000, "jp.nisc", e[6], len[6]);
    s_finish(c, 0, 0, &n, &s);
    assert_int_equal(n.both, 2);
    assert_int_equal(n.only[0], 5);
    assert_int_equal(n.only_ends[0], 2); /* starts after, ends before */
    assert_int_equal(n.not_reached, 7);  /* no receipt anywhere: all open */
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[0]);
    assert_string_equal(s.cls[i], "starts-after");
    assert_int_equal(s.sev[i], AUDIT_COMPARE_DIFFERENCE);
    assert_non_null(strstr(s.line[i], " difference only-in-a starts-after "));
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[2]);
    assert_string_equal(s.cls[i], "runs-past");
    assert_non_null(strstr(s.text[i], "relay B never stored it"));
    assert_int_equal(s.index[i][0], 2);
    assert_int_equal(s.index[i][1], -1);
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[3]);
    assert_string_equal(s.cls[i], "refused");
    assert_non_null(strstr(s.text[i], "relay B refused it (record 2 at "));
    assert_non_null(strstr(s.text[i], "code=recipient-inactive"));
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[4]);
    assert_string_equal(s.cls[i], "runs-past");
    assert_non_null(
        strstr(s.text[i], "relay B was stopped then (record 3 at "));
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[6]);
    assert_string_equal(s.cls[i], "ends-before");
    assert_non_null(strstr(s.text[i], "which ends before it (its last record, "
                                      "index 6, at "));
    i = s_which(&s, AUDIT_COMPARE_NOT_REACHED, id[6]);
    assert_string_equal(s.cls[i], "open");
    assert_string_equal(s.to[i], "us.cisa");
    assert_non_null(strstr(s.text[i], "in A still open at the end of the log, "
                                      "in B not in that log"));
    for (size_t k = 1; k < s.n; k++)
        assert_true(s.time[k - 1] <= s.time[k]);
    for (int k = 0; k < 7; k++)
        free(e[k]);
    audit_compare_destroy(&c);
}

/* B's clock says its log ended before m, but B holds a message A accepted
 * after m: B ran past it. An empty B and a copy ending seconds after m. */
static void
test_only_evidence(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    uint8_t *e[2] = {0}, id[2][16];
    size_t len[2];
    int i;
    (void)state;
    for (int k = 0; k < 2; k++)
        len[k] = s_seal("jp.nisc", s_to_us, 1, NULL, "x", 0, &e[k], id[k]);
    s_accepted(c, 0, 0, T0 + 5000, "jp.nisc", e[0], len[0]);
    s_accepted(c, 0, 1, T0 + 6000, "jp.nisc", e[1], len[1]);
    s_accepted(c, 1, 0, T0 + 1000, "jp.nisc", e[1], len[1]); /* B's clock */
    s_finish(c, 0, 0, &n, &s);
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[0]);
    assert_string_equal(s.cls[i], "runs-past");
    assert_non_null(strstr(s.text[i], "which A accepted later (index 1)"));
    audit_compare_destroy(&c);

    c = audit_compare_new();
    s_accepted(c, 0, 0, T0, "jp.nisc", e[0], len[0]);
    s_finish(c, 0, 0, &n, &s);
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[0]);
    assert_string_equal(s.cls[i], "empty");
    assert_int_equal(n.only_ends[0], 1);
    audit_compare_destroy(&c);

    /* B logs on 3 s after m: it may still have been coming. */
    c = audit_compare_new();
    s_accepted(c, 1, 0, T0, "jp.nisc", e[0], len[0]);
    s_relay(c, 0, 0, T0 - 10, "started");
    s_relay(c, 0, 1, T0 + 3000, "stopped");
    s_finish(c, 0, 0, &n, &s);
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[0]);
    assert_string_equal(s.cls[i], "runs-past");
    assert_non_null(strstr(s.line[i], " only-in-b runs-past "));
    assert_non_null(strstr(s.text[i], "relay A had not stored it by then, "
                                      "but its log ends only 3.0 s after it"));
    assert_int_equal(n.only[1], 1);
    free(e[0]);
    free(e[1]);
    audit_compare_destroy(&c);
}

/* Per recipient: delivered by both (nothing), by one (info), expired on
 * both (never reached), open on both, expired on one and open on the
 * other. */
static void
test_recipients(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    const char *const three[] = {"jp.nisc", "sg.csa", "us.cisa"};
    const char *const one[] = {"sg.csa"};
    uint8_t *e1 = NULL, *e2 = NULL, *e3 = NULL, id1[16], id2[16], id3[16];
    size_t l1 = s_seal("us.cisa", three, 3, NULL, "x", T0 + 50, &e1, id1);
    size_t l2 = s_seal("us.cisa", one, 1, NULL, "y", T0 + 50, &e2, id2);
    size_t l3 = s_seal("us.cisa", one, 1, NULL, "z", 0, &e3, id3);
    int i;
    (void)state;
    s_accepted(c, 0, 0, T0, "us.cisa", e1, l1);
    s_accepted(c, 1, 0, T0 + 1, "us.cisa", e1, l1);
    s_accepted(c, 0, 1, T0 + 2, "us.cisa", e2, l2);
    s_accepted(c, 1, 1, T0 + 3, "us.cisa", e2, l2);
    s_accepted(c, 0, 2, T0 + 4, "us.cisa", e3, l3);
    s_accepted(c, 1, 2, T0 + 5, "us.cisa", e3, l3);
    /* e1: us.cisa both delivered; jp.nisc delivered in A, expired in B;
     * sg.csa expired in A, open in B. e2: expired on both. e3: open. */
    s_receipt(c, 0, 3, T0 + 10, 0, id1, "us.cisa", false);
    s_receipt(c, 1, 3, T0 + 10, 0, id1, "us.cisa", false);
    s_receipt(c, 0, 4, T0 + 11, 0, id1, "jp.nisc", false);
    s_receipt(c, 1, 4, T0 + 60, 0, id1, "jp.nisc", true);
    s_receipt(c, 0, 5, T0 + 60, 0, id1, "sg.csa", true);
    s_receipt(c, 0, 6, T0 + 60, 1, id2, "sg.csa", true);
    s_receipt(c, 1, 5, T0 + 61, 1, id2, "sg.csa", true);
    /* Receipts a verified log cannot hold are skipped: an unknown msg,
     * the wrong accepted index, a node that is no recipient. */
    s_receipt(c, 0, 7, T0 + 70, 0, id3, "sg.csa", false);
    s_receipt(c, 0, 8, T0 + 70, 2, id3, "nobody.x", false);
    s_receipt(c, 0, 9, T0 + 70, 2, id3, "us.cisa", false);
    s_finish(c, 0, 0, &n, &s);
    assert_int_equal(n.both, 3);
    assert_int_equal(n.not_reached, 3);
    assert_int_equal(n.not_reached_expired, 1);
    assert_int_equal(n.info, 1);
    assert_int_equal(s.n, 4);
    i = s_which(&s, AUDIT_COMPARE_DELIVERED_ONE, id1);
    assert_string_equal(s.to[i], "jp.nisc");
    assert_int_equal(s.sev[i], AUDIT_COMPARE_INFO);
    assert_non_null(strstr(
        s.text[i], "in A delivered (record 4), in B expired (record 4)"));
    i = s_which(&s, AUDIT_COMPARE_NOT_REACHED, id1);
    assert_string_equal(s.to[i], "sg.csa");
    assert_string_equal(s.cls[i], "expired-open");
    i = s_which(&s, AUDIT_COMPARE_NOT_REACHED, id2);
    assert_string_equal(s.cls[i], "expired");
    assert_non_null(strstr(s.text[i], "sg.csa never got it (expired wherever "
                                      "logged): in A expired (record 6), in B "
                                      "expired (record 5)"));
    assert_non_null(strstr(s.line[i], " difference not-reached expired msg="));
    i = s_which(&s, AUDIT_COMPARE_NOT_REACHED, id3);
    assert_string_equal(s.cls[i], "open");
    free(e1);
    free(e2);
    free(e3);
    audit_compare_destroy(&c);
}

/* An undeliverable record (the recipient left the roster) closes the
 * recipient like an expiry, in the expired classes, but is named for what
 * it is: never "expired". */
static void
test_undeliverable(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    const char *const one[] = {"sg.csa"};
    const char *ids[1] = {"sg.csa"};
    uint8_t *e1 = NULL, *e2 = NULL, id1[16], id2[16];
    size_t l1 = s_seal("us.cisa", one, 1, NULL, "x", 0, &e1, id1);
    size_t l2 = s_seal("us.cisa", one, 1, NULL, "y", T0 + 50, &e2, id2);
    record_t r;
    int i;
    (void)state;
    s_accepted(c, 0, 0, T0, "us.cisa", e1, l1);
    s_accepted(c, 1, 0, T0 + 1, "us.cisa", e1, l1);
    s_accepted(c, 0, 1, T0 + 2, "us.cisa", e2, l2);
    s_accepted(c, 1, 1, T0 + 3, "us.cisa", e2, l2);
    /* e1: given up in A, open in B. e2: given up in A, expired in B. */
    for (int k = 0; k < 2; k++) {
        memset(&r, 0, sizeof r);
        r.version = RECORD_VERSION;
        r.index = 2 + (uint64_t)k;
        r.time_ms = T0 + 20;
        r.type = RECORD_UNDELIVERABLE;
        r.undeliverable.accepted_index = (uint64_t)k;
        memcpy(r.undeliverable.msg_id, k ? id2 : id1, ENVELOPE_MSG_ID_LEN);
        r.undeliverable.recipients = ids;
        r.undeliverable.n_recipients = 1;
        r.undeliverable.reason = "revoked";
        r.undeliverable.roster_serial = 2;
        assert_int_equal(audit_compare_add(c, 0, 2 + (uint64_t)k, &r), RK_OK);
    }
    s_receipt(c, 1, 2, T0 + 60, 1, id2, "sg.csa", true);
    s_finish(c, 0, 0, &n, &s);
    assert_int_equal(n.not_reached, 2);
    assert_int_equal(n.not_reached_expired, 1);
    i = s_which(&s, AUDIT_COMPARE_NOT_REACHED, id1);
    assert_string_equal(s.cls[i], "expired-open");
    assert_non_null(strstr(s.text[i], "in A undeliverable (record 2), in B "
                                      "still open at the end of the log"));
    i = s_which(&s, AUDIT_COMPARE_NOT_REACHED, id2);
    assert_string_equal(s.cls[i], "expired");
    assert_non_null(strstr(s.text[i],
                           "sg.csa never got it (expired or given up wherever "
                           "logged): in A undeliverable (record 3), in B "
                           "expired (record 2)"));
    free(e1);
    free(e2);
    audit_compare_destroy(&c);
}

/* --since/--until select messages by the earlier acceptance time;
 * rosters are compared whatever the window. */
static void
test_window(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    uint8_t *e[3] = {0}, id[3][16];
    size_t len[3];
    (void)state;
    for (int k = 0; k < 3; k++)
        len[k] = s_seal("jp.nisc", s_to_us, 1, NULL, "x", 0, &e[k], id[k]);
    s_roster(c, 0, 0, T0, 1, "one\n\n- c A\n");
    s_roster(c, 1, 0, T0, 1, "two\n\n- c B\n");
    s_accepted(c, 0, 1, T0 + 100, "jp.nisc", e[0], len[0]);
    s_accepted(c, 0, 2, T0 + 200, "jp.nisc", e[1], len[1]);
    s_accepted(c, 1, 1, T0 + 199, "jp.nisc", e[2], len[2]);
    s_accepted(c, 0, 3, T0 + 300, "jp.nisc", e[2], len[2]);
    s_finish(c, T0 + 150, T0 + 250, &n, &s);
    assert_int_equal(n.messages[0], 2);
    assert_int_equal(n.messages[1], 1);
    assert_int_equal(n.only[0], 1);        /* e[1]; e[0] is out of the window */
    assert_int_equal(n.both, 1);           /* e[2], by B's earlier time */
    assert_int_equal(n.contradictions, 1); /* the rosters */
    assert_int_equal(s_which(&s, AUDIT_COMPARE_ONE_LOG, id[0]), -1);
    assert_true(s_which(&s, AUDIT_COMPARE_ONE_LOG, id[1]) >= 0);
    for (int k = 0; k < 3; k++)
        free(e[k]);
    audit_compare_destroy(&c);
}

/* The JSON of a finding: every field, null for the index a log lacks. */
static void
test_json(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    const char *const two[] = {"sg.csa", "us.cisa"};
    uint8_t *env = NULL, id[16];
    char hex[33];
    size_t len = s_seal("jp.nisc", two, 2, NULL, "x", 0, &env, id);
    json_t *o;
    (void)state;
    s_accepted(c, 1, 4, T0, "jp.nisc", env, len);
    s_relay(c, 0, 0, T0 + 120000, "started");
    s_finish(c, 0, 0, &n, &s);
    o = json_loads(s.json[s_which(&s, AUDIT_COMPARE_ONE_LOG, id)], 0, NULL);
    assert_non_null(o);
    rk_hex(hex, id, 16);
    assert_string_equal(json_string_value(json_object_get(o, "msg_id")), hex);
    assert_string_equal(json_string_value(json_object_get(o, "finding")),
                        "only-in-b");
    assert_string_equal(json_string_value(json_object_get(o, "class")),
                        "starts-after");
    assert_string_equal(json_string_value(json_object_get(o, "severity")),
                        "difference");
    assert_string_equal(json_string_value(json_object_get(o, "from")),
                        "jp.nisc");
    assert_int_equal(json_array_size(json_object_get(o, "to")), 2);
    assert_true(json_is_null(json_object_get(o, "a_index")));
    assert_int_equal(json_integer_value(json_object_get(o, "b_index")), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "time_ms")), T0);
    assert_non_null(json_string_value(json_object_get(o, "text")));
    json_decref(o);
    free(env);
    audit_compare_destroy(&c);
}

/* Misuse: a bad log number, a record after finish, finish twice, foreach
 * before finish; a repeated msg id in one log is skipped. */
static void
test_misuse(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    record_t r;
    uint8_t *env = NULL, id[16];
    size_t len = s_seal("jp.nisc", s_to_us, 1, NULL, "x", 0, &env, id);
    (void)state;
    memset(&r, 0, sizeof r);
    r.type = RECORD_RELAY;
    r.relay.event = "started";
    assert_int_equal(audit_compare_add(c, 2, 0, &r), RK_ERR_INVALID);
    assert_int_equal(audit_compare_add(c, -1, 0, &r), RK_ERR_INVALID);
    assert_int_equal(audit_compare_add(NULL, 0, 0, &r), RK_ERR_INVALID);
    assert_int_equal(audit_compare_foreach(c, s_collect, &s), RK_ERR_INVALID);
    s_accepted(c, 0, 0, T0, "jp.nisc", env, len);
    s_accepted(c, 0, 1, T0 + 1, "jp.nisc", env, len); /* verify's to report */
    s_accepted(c, 1, 0, T0, "jp.nisc", env, len);
    s_finish(c, 0, 0, &n, &s);
    assert_int_equal(n.messages[0], 1);
    assert_int_equal(n.both, 1);
    assert_int_equal(audit_compare_finish(c, 0, 0, &n), RK_ERR_INVALID);
    assert_int_equal(audit_compare_add(c, 0, 2, &r), RK_ERR_INVALID);
    free(env);
    audit_compare_destroy(&c);
}

/* Only a refusal for good of the sender's own submission makes a message
 * "refused": a node retries after busy, storage, rate-limited and
 * internal, so a relay that logged one of those and ran on without ever
 * storing the message is the notable case; and a refusal of another
 * node's submission that reuses the msg id says nothing of the sender's. */
static void
test_refusal_kinds(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    uint8_t *e[3] = {0}, id[3][16];
    size_t len[3];
    int i;
    (void)state;
    for (int k = 0; k < 3; k++)
        len[k] = s_seal("jp.nisc", s_to_us, 1, NULL, "x", 0, &e[k], id[k]);
    s_relay(c, 1, 0, T0, "started");
    s_accepted(c, 0, 0, T0 + 1000, "jp.nisc", e[0], len[0]);
    s_refused(c, 1, 1, T0 + 1001, id[0], FRAME_REJECT_BUSY);
    s_accepted(c, 0, 1, T0 + 2000, "jp.nisc", e[1], len[1]);
    s_refused_by(c, 1, 2, T0 + 2001, id[1], FRAME_REJECT_RECIPIENT_INACTIVE,
                 "us.cisa");
    /* Busy first, then refused for good: refused, at the later record. */
    s_accepted(c, 0, 2, T0 + 3000, "jp.nisc", e[2], len[2]);
    s_refused(c, 1, 3, T0 + 3001, id[2], FRAME_REJECT_BUSY);
    s_refused(c, 1, 4, T0 + 3500, id[2], FRAME_REJECT_STALE);
    s_relay(c, 1, 5, T0 + 600000, "stopped");
    s_finish(c, 0, 0, &n, &s);
    assert_int_equal(n.only[0], 3);
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[0]);
    assert_string_equal(s.cls[i], "runs-past");
    assert_non_null(strstr(s.text[i], "relay B never stored it"));
    assert_non_null(strstr(s.text[i], "relay B refused it for now (record 1 "));
    assert_non_null(strstr(s.text[i], "code=busy"));
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[1]);
    assert_string_equal(s.cls[i], "runs-past");
    assert_null(strstr(s.text[i], "relay B refused"));
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[2]);
    assert_string_equal(s.cls[i], "refused");
    assert_non_null(strstr(s.text[i], "relay B refused it (record 4 at "));
    assert_non_null(strstr(s.text[i], "code=stale"));
    for (int k = 0; k < 3; k++)
        free(e[k]);
    audit_compare_destroy(&c);
}

/* Two envelopes under one msg id contradict each other whenever they
 * were accepted: a window that leaves them out still counts them, as it
 * does two rosters with one serial. */
static void
test_window_contradiction(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    uint8_t *e1 = NULL, *e2 = NULL, *e3 = NULL, id[16], id3[16];
    size_t l1 = s_seal("jp.nisc", s_to_us, 1, NULL, "version A", 0, &e1, id);
    size_t l2 = s_seal("jp.nisc", s_to_us, 1, id, "version B", 0, &e2, NULL);
    size_t l3 =
        s_seal("jp.nisc", s_to_us, 1, NULL, "in the window", 0, &e3, id3);
    int i;
    (void)state;
    s_accepted(c, 0, 0, T0 + 100, "jp.nisc", e1, l1);
    s_accepted(c, 1, 0, T0 + 101, "jp.nisc", e2, l2);
    s_accepted(c, 0, 1, T0 + 5000, "jp.nisc", e3, l3);
    s_accepted(c, 1, 1, T0 + 5001, "jp.nisc", e3, l3);
    s_receipt(c, 0, 2, T0 + 5002, 1, id3, "us.cisa", false);
    s_receipt(c, 1, 2, T0 + 5003, 1, id3, "us.cisa", false);
    s_finish(c, T0 + 1000, T0 + 9000, &n, &s);
    assert_int_equal(n.contradictions, 1);
    assert_int_equal(n.both, 1);
    assert_int_equal(n.messages[0], 1); /* the window's */
    i = s_which(&s, AUDIT_COMPARE_ENVELOPES, id);
    assert_true(i >= 0);
    assert_int_equal(s.sev[i], AUDIT_COMPARE_CONTRADICTION);
    free(e1);
    free(e2);
    free(e3);
    audit_compare_destroy(&c);
}

/* The stop that covers a message: the last relay event at or before it,
 * when that is a stop, and the start after it; events in log order even
 * when the relay clock went back. */
static void
test_stops(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    uint8_t *e[3] = {0}, id[3][16];
    size_t len[3];
    int i;
    (void)state;
    for (int k = 0; k < 3; k++)
        len[k] = s_seal("jp.nisc", s_to_us, 1, NULL, "x", 0, &e[k], id[k]);
    s_relay(c, 1, 0, T0, "started");
    s_relay(c, 1, 1, T0 + 100, "stopped");
    s_relay(c, 1, 2, T0 + 200, "started");
    s_relay(c, 1, 3, T0 + 300, "stopped");
    s_relay(c, 1, 4, T0 + 250, "stopped"); /* the clock went back */
    s_relay(c, 1, 5, T0 + 900, "started");
    s_relay(c, 1, 6, T0 + 950, "stopped");
    s_relay(c, 1, 7, T0 + 5000000, "stopped");
    s_accepted(c, 0, 0, T0 + 150, "jp.nisc", e[0], len[0]);
    s_accepted(c, 0, 1, T0 + 400, "jp.nisc", e[1], len[1]);
    s_accepted(c, 0, 2, T0 + 960, "jp.nisc", e[2], len[2]);
    s_finish(c, 0, 0, &n, &s);
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[0]);
    assert_non_null(strstr(s.text[i], "stopped then (record 1 at "));
    assert_non_null(strstr(s.text[i], "(record 2)"));
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[1]);
    assert_non_null(strstr(s.text[i], "stopped then (record 4 at "));
    assert_non_null(strstr(s.text[i], "(record 5)"));
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id[2]);
    assert_null(strstr(s.text[i], "stopped then")); /* never back */
    for (int k = 0; k < 3; k++)
        free(e[k]);
    audit_compare_destroy(&c);
}

/* A serial in A only, while B logged on past it: not an older copy of
 * B, a relay that went on with the roster it had. */
static void
test_roster_not_installed(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    int i;
    (void)state;
    s_roster(c, 0, 0, T0, 1, "serial 1\nnodes a\n\n- coordinator S\n");
    s_roster(c, 1, 0, T0 + 1, 1, "serial 1\nnodes a\n\n- coordinator S\n");
    s_roster(c, 0, 1, T0 + 100, 2, "serial 2\nnodes a b\n\n- coordinator T\n");
    s_relay(c, 1, 1, T0 + 500, "stopped");
    s_finish(c, 0, 0, &n, &s);
    assert_int_equal(n.rosters_both, 1);
    assert_int_equal(n.rosters_one, 1);
    i = s_which(&s, AUDIT_COMPARE_ROSTER_ONE, NULL);
    assert_true(i >= 0);
    assert_int_equal(s.sev[i], AUDIT_COMPARE_INFO);
    assert_int_equal(s.index[i][0], 1);
    assert_int_equal(s.index[i][1], -1);
    assert_non_null(strstr(s.text[i], "newer than B's newest (serial 1), "
                                      "though relay B logged on past it "
                                      "(until "));
    assert_non_null(strstr(s.text[i], ", index 1): relay B had not "
                                      "installed it"));
    assert_non_null(strstr(s.text[i], "judged keys by serial 1 meanwhile"));
    assert_null(strstr(s.text[i], "copy is older"));
    audit_compare_destroy(&c);
}

/* Refused for good by B after B was stopped: the text names the stop,
 * and that the message expired before B was back. */
static void
test_refused_after_stop(void **state) {
    audit_compare_t *c = audit_compare_new();
    audit_compare_counts_t n;
    s_seen_t s;
    uint8_t *e = NULL, id[16];
    size_t len = s_seal("jp.nisc", s_to_us, 1, NULL, "x", T0 + 1500, &e, id);
    int i;
    (void)state;
    s_relay(c, 1, 0, T0, "started");
    s_relay(c, 1, 1, T0 + 500, "stopped");
    s_accepted(c, 0, 0, T0 + 1000, "jp.nisc", e, len);
    s_relay(c, 1, 2, T0 + 2000, "started");
    s_refused(c, 1, 3, T0 + 2001, id, FRAME_REJECT_EXPIRED);
    s_finish(c, 0, 0, &n, &s);
    i = s_which(&s, AUDIT_COMPARE_ONE_LOG, id);
    assert_string_equal(s.cls[i], "refused");
    assert_non_null(strstr(s.text[i], "relay B refused it (record 3 at "));
    assert_non_null(strstr(s.text[i], "code=expired"));
    assert_non_null(strstr(s.text[i], "; relay B was stopped then (record 1 "
                                      "at "));
    assert_non_null(strstr(s.text[i], "(record 2), and the message expired "
                                      "at "));
    free(e);
    audit_compare_destroy(&c);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agree),
        cmocka_unit_test(test_envelopes_differ),
        cmocka_unit_test(test_rosters),
        cmocka_unit_test(test_only_classes),
        cmocka_unit_test(test_only_evidence),
        cmocka_unit_test(test_recipients),
        cmocka_unit_test(test_undeliverable),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_refusal_kinds),
        cmocka_unit_test(test_window_contradiction),
        cmocka_unit_test(test_stops),
        cmocka_unit_test(test_roster_not_installed),
        cmocka_unit_test(test_refused_after_stop),
    };
    return cmocka_run_group_tests(tests, s_group_setup, NULL);
}

/* Unit tests for clients/daemon's answers from several relays: the outbox
 * resubmission (the timer's pass and a relay's welcome) sends a message
 * only to the relays that have not answered it for good, and takes out an
 * entry every relay has answered; a later refusal of a second copy by a
 * relay that stored the message (or refused it for good) leaves that
 * first answer, and its reason, in the sent record; the same for a
 * message without a sent record (answers kept in memory); the message
 * and its recipients become "rejected" only once every relay refused it
 * for good; a passing refusal is cleared when its relay stores the
 * message, and does not hide another relay's refusal for good. The .c is
 * included to drive its file-private handlers; the relays are inproc PAIR
 * sockets whose far ends count what was sent to each. */
#define _GNU_SOURCE /* as daemon.c, which is included below */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../clients/daemon.c"

#include <sys/stat.h>

#define HEX_A "0123456789abcdef0123456789abcdef"
#define HEX_B "fedcba9876543210fedcba9876543210"

typedef struct {
    char dir[64];
    daemon_t *d;
    void *ctx;
    void *peer[2]; /* the relays' ends of links[0] (relay.a), [1] (relay.b) */
} fx_t;

static int
s_setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    char err[256];
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/rk-test-daemon-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->d = calloc(1, sizeof *fx->d);
    assert_non_null(fx->d);
    daemon_config_defaults(&fx->d->cfg);
    fx->d->cfg.resubmit_ms = 300;
    assert_int_equal(node_store_open(fx->dir, &fx->d->store, err, sizeof err),
                     RK_OK);
    fx->ctx = zmq_ctx_new();
    assert_non_null(fx->ctx);
    fx->d->n_links = 2;
    for (int i = 0; i < 2; i++) {
        link_t *l = &fx->d->links[i];
        char ep[64];
        snprintf(l->id, sizeof l->id, "relay.%c", 'a' + i);
        snprintf(ep, sizeof ep, "inproc://relay-%d", i);
        l->sock = zmq_socket(fx->ctx, ZMQ_PAIR);
        fx->peer[i] = zmq_socket(fx->ctx, ZMQ_PAIR);
        assert_int_equal(zmq_bind(fx->peer[i], ep), 0);
        assert_int_equal(zmq_connect(l->sock, ep), 0);
        l->connected = l->welcomed = 1;
    }
    rk_log_set_level("error");
    *state = fx;
    return 0;
}

static int
s_teardown(void **state) {
    fx_t *fx = *state;
    char cmd[128];
    for (int i = 0; i < 2; i++) {
        zmq_close(fx->d->links[i].sock);
        zmq_close(fx->peer[i]);
    }
    zmq_ctx_term(fx->ctx);
    node_store_close(&fx->d->store);
    json_decref(fx->d->orphans);
    json_decref(fx->d->refusals);
    json_decref(fx->d->unreadable_sent);
    free(fx->d);
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* How many frames relay i was sent since the last call. */
static int
s_received(fx_t *fx, int i) {
    int n = 0;
    char buf[256];
    while (zmq_recv(fx->peer[i], buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
        n++;
    return n;
}

/* An outbox entry hex, queued a minute ago, with a sent record whose
 * "relays" is relays_json (NULL: no answer yet; "-": no record at all). */
static void
s_queue(fx_t *fx, const char *hex, const char *relays_json) {
    char created[40];
    const uint8_t env[] = "an envelope (not decoded here)";
    json_t *rec;
    rk_time_format(created, sizeof created, rk_now_ms() - 60000);
    assert_int_equal(node_store_put_env(fx->d->store, NODE_STORE_OUTBOX, hex,
                                        env, sizeof env),
                     RK_OK);
    if (relays_json && !strcmp(relays_json, "-"))
        return;
    rec = json_pack("{s:s,s:s,s:[s],s:s,s:s,s:{s:{s:s}}}", "msg_id", hex,
                    "kind", "notice", "to", "sg.csa", "created", created,
                    "state", relays_json ? "stored" : "queued", "recipients",
                    "sg.csa", "state", relays_json ? "stored" : "queued");
    assert_non_null(rec);
    if (relays_json)
        json_object_set_new(rec, "relays", json_loads(relays_json, 0, NULL));
    assert_int_equal(
        node_store_put_json(fx->d->store, NODE_STORE_SENT, hex, rec), RK_OK);
    json_decref(rec);
}

static int
s_in_outbox(fx_t *fx, const char *hex) {
    char path[256];
    snprintf(path, sizeof path, "%s/outbox/%s.env", fx->dir, hex);
    return access(path, F_OK) == 0;
}

/* The sent record of hex, dumped compactly with sorted keys (the caller
 * frees it). */
static char *
s_record(fx_t *fx, const char *hex) {
    int rc;
    json_t *rec = node_store_get_json(fx->d->store, NODE_STORE_SENT, hex, &rc);
    char *s;
    assert_non_null(rec);
    s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rec);
    return s;
}

static void
s_assert_field(fx_t *fx, const char *hex, const char *want) {
    char *s = s_record(fx, hex);
    if (!strstr(s, want))
        fail_msg("record %s lacks %s", s, want);
    free(s);
}

static void
s_assert_no_field(fx_t *fx, const char *hex, const char *unwanted) {
    char *s = s_record(fx, hex);
    if (strstr(s, unwanted))
        fail_msg("record %s has %s", s, unwanted);
    free(s);
}

static void
s_mid(uint8_t out[16], const char *hex) {
    for (int i = 0; i < 16; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void
s_reject(fx_t *fx, int relay, const char *hex, frame_reject_t code) {
    frame_rejected_t r = {.has_msg_id = true, .code = code, .reason = "why"};
    s_mid(r.msg_id, hex);
    s_on_rejected(fx->d, &fx->d->links[relay], &r);
}

static void
s_store(fx_t *fx, int relay, const char *hex) {
    frame_stored_t s = {.index = 7, .time_ms = rk_now_ms()};
    s_mid(s.msg_id, hex);
    s_on_stored(fx->d, &fx->d->links[relay], &s);
}

/* ---- resubmission ------------------------------------------------------ */

/* Stored by relay A: the timer's pass sends it to relay B only, A's
 * welcome does not send it to A, B's does to B. */
static void
test_resubmit_skips_a_relay_that_stored(void **state) {
    fx_t *fx = *state;
    s_queue(fx, HEX_A, "{\"relay.a\":\"stored\"}");
    s_resubmit(fx->d, NULL);
    assert_int_equal(s_received(fx, 0), 0);
    assert_int_equal(s_received(fx, 1), 1);
    s_resubmit(fx->d, &fx->d->links[0]);
    assert_int_equal(s_received(fx, 0), 0);
    s_resubmit(fx->d, &fx->d->links[1]);
    assert_int_equal(s_received(fx, 1), 1);
    assert_true(s_in_outbox(fx, HEX_A));
}

/* Refused for good by relay A (or a passing refusal only, which is not
 * recorded as an answer): A gets it again only in the second case. */
static void
test_resubmit_skips_a_relay_that_refused_for_good(void **state) {
    fx_t *fx = *state;
    s_queue(fx, HEX_A, "{\"relay.a\":\"rejected\"}");
    s_resubmit(fx->d, NULL);
    assert_int_equal(s_received(fx, 0), 0);
    assert_int_equal(s_received(fx, 1), 1);
    s_queue(fx, HEX_B, NULL);
    s_reject(fx, 0, HEX_B, FRAME_REJECT_BUSY);
    s_resubmit(fx->d, &fx->d->links[0]);
    assert_int_equal(s_received(fx, 0), 1); /* HEX_B only */
}

/* No relay answered yet: every welcomed one gets it; one that is not
 * welcomed does not. */
static void
test_resubmit_sends_what_is_unanswered(void **state) {
    fx_t *fx = *state;
    s_queue(fx, HEX_A, NULL);
    s_resubmit(fx->d, NULL);
    assert_int_equal(s_received(fx, 0), 1);
    assert_int_equal(s_received(fx, 1), 1);
    fx->d->links[1].welcomed = 0;
    s_resubmit(fx->d, NULL);
    assert_int_equal(s_received(fx, 0), 1);
    assert_int_equal(s_received(fx, 1), 0);
}

/* Every relay answered for good, but the entry is still there (its
 * removal failed, or the relay it waited for is no longer configured):
 * the pass takes it out, and sends nothing. */
static void
test_resubmit_removes_what_every_relay_answered(void **state) {
    fx_t *fx = *state;
    s_queue(fx, HEX_A, "{\"relay.a\":\"stored\",\"relay.b\":\"rejected\"}");
    s_queue(fx, HEX_B, "{\"relay.a\":\"stored\",\"relay.gone\":\"stored\"}");
    s_resubmit(fx->d, NULL);
    assert_int_equal(s_received(fx, 0), 0);
    assert_int_equal(s_received(fx, 1), 1); /* HEX_B, for relay.b */
    assert_false(s_in_outbox(fx, HEX_A));
    assert_true(s_in_outbox(fx, HEX_B));
    fx->d->n_links = 1; /* relay.a only: what relay.b was to answer is out */
    s_resubmit(fx->d, &fx->d->links[0]);
    assert_int_equal(s_received(fx, 0), 0);
    assert_false(s_in_outbox(fx, HEX_B));
}

/* ---- answers ----------------------------------------------------------- */

/* Relay A stored it; a second copy refused by A (expired since, a replay,
 * busy) changes nothing: A's answer stays "stored", no rejection is
 * recorded, and the entry waits for relay B. B's refusal for good is
 * recorded, and then the entry leaves the outbox. */
static void
test_refusal_after_stored_keeps_stored(void **state) {
    fx_t *fx = *state;
    s_queue(fx, HEX_A, NULL);
    s_store(fx, 0, HEX_A);
    s_assert_field(fx, HEX_A, "\"relays\":{\"relay.a\":\"stored\"}");
    s_reject(fx, 0, HEX_A, FRAME_REJECT_EXPIRED);
    s_reject(fx, 0, HEX_A, FRAME_REJECT_REPLAY);
    s_reject(fx, 0, HEX_A, FRAME_REJECT_BUSY);
    s_assert_field(fx, HEX_A, "\"relays\":{\"relay.a\":\"stored\"}");
    s_assert_field(fx, HEX_A, "\"state\":\"stored\"");
    s_assert_no_field(fx, HEX_A, "last_rejection");
    assert_true(s_in_outbox(fx, HEX_A));
    s_reject(fx, 1, HEX_A, FRAME_REJECT_EXPIRED);
    s_assert_field(fx, HEX_A,
                   "\"relays\":{\"relay.a\":\"stored\",\"relay.b\":"
                   "\"rejected\"}");
    s_assert_field(fx, HEX_A,
                   "\"last_rejection\":{\"code\":\"expired\",\"reason\":"
                   "\"why\",\"relay\":\"relay.b\"}");
    s_assert_field(fx, HEX_A, "\"state\":\"stored\"");
    assert_false(s_in_outbox(fx, HEX_A));
}

/* Relay A refused it for good (unknown recipient); a second copy refused
 * for another reason keeps the first reason. A "stored" from that relay
 * after all (it has the message in its log) still counts. */
static void
test_refusal_after_refusal_keeps_the_first(void **state) {
    fx_t *fx = *state;
    s_queue(fx, HEX_A, NULL);
    s_reject(fx, 0, HEX_A, FRAME_REJECT_UNKNOWN_RECIPIENT);
    s_reject(fx, 0, HEX_A, FRAME_REJECT_EXPIRED);
    s_assert_field(fx, HEX_A, "\"code\":\"unknown-recipient\"");
    s_assert_field(fx, HEX_A, "\"relays\":{\"relay.a\":\"rejected\"}");
    s_store(fx, 0, HEX_A);
    s_assert_field(fx, HEX_A, "\"relays\":{\"relay.a\":\"stored\"}");
    s_assert_field(fx, HEX_A, "\"state\":\"stored\"");
}

/* Without a sent record: relay A's "stored", kept in memory, is not
 * undone by its refusal of a second copy, and A is not sent it again; the
 * entry leaves once relay B answered. */
static void
test_without_record_refusal_after_stored(void **state) {
    fx_t *fx = *state;
    s_queue(fx, HEX_A, "-");
    s_store(fx, 0, HEX_A);
    s_reject(fx, 0, HEX_A, FRAME_REJECT_EXPIRED);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(fx->d->orphans, HEX_A), "relay.a")),
                        "stored");
    s_resubmit(fx->d, NULL);
    assert_int_equal(s_received(fx, 0), 0);
    assert_int_equal(s_received(fx, 1), 1);
    assert_true(s_in_outbox(fx, HEX_A));
    s_store(fx, 1, HEX_A);
    assert_false(s_in_outbox(fx, HEX_A));
}

/* What the record says while a relay has yet to answer, and once every
 * relay refused it for good: the message (and each recipient) stays
 * "queued" while relay B may still store it, and becomes "rejected" when
 * it leaves the outbox, with the last refusal naming its relay. */
static void
test_rejected_once_every_relay_refused(void **state) {
    fx_t *fx = *state;
    s_queue(fx, HEX_A, NULL);
    s_reject(fx, 0, HEX_A, FRAME_REJECT_UNKNOWN_RECIPIENT);
    s_assert_field(fx, HEX_A, "\"state\":\"queued\",\"to\"");
    s_assert_field(fx, HEX_A,
                   "\"recipients\":{\"sg.csa\":{\"state\":\"queued\"");
    s_assert_field(fx, HEX_A,
                   "\"last_rejection\":{\"code\":\"unknown-recipient\","
                   "\"reason\":\"why\",\"relay\":\"relay.a\"}");
    assert_true(s_in_outbox(fx, HEX_A));
    s_reject(fx, 1, HEX_A, FRAME_REJECT_EXPIRED);
    assert_false(s_in_outbox(fx, HEX_A));
    s_assert_field(fx, HEX_A, "\"state\":\"rejected\",\"to\"");
    s_assert_field(fx, HEX_A, "\"recipients\":{\"sg.csa\":{\"rejected\":\"");
    s_assert_field(fx, HEX_A, "\"state\":\"rejected\",\"time\"");
    s_assert_no_field(fx, HEX_A, "\"queued\"");
    s_assert_field(fx, HEX_A,
                   "\"code\":\"expired\",\"reason\":\"why\","
                   "\"relay\":\"relay.b\"");
}

/* A passing refusal is recorded, naming its relay, and cleared when that
 * relay stores the message; it does not hide another relay's refusal for
 * good, which stays when the first relay stores it. */
static void
test_passing_refusal_cleared_by_stored(void **state) {
    fx_t *fx = *state;
    s_queue(fx, HEX_A, NULL);
    s_reject(fx, 0, HEX_A, FRAME_REJECT_RATE_LIMITED);
    s_assert_field(fx, HEX_A, "\"last_rejection\":{\"code\":\"rate-limited\"");
    s_assert_no_field(fx, HEX_A, "\"relays\"");
    s_store(fx, 0, HEX_A);
    s_assert_no_field(fx, HEX_A, "last_rejection");
    s_assert_field(fx, HEX_A, "\"state\":\"stored\",\"to\"");

    s_queue(fx, HEX_B, NULL);
    s_reject(fx, 1, HEX_B, FRAME_REJECT_STALE);
    s_reject(fx, 0, HEX_B, FRAME_REJECT_BUSY);
    s_assert_field(fx, HEX_B,
                   "\"code\":\"stale\",\"reason\":\"why\","
                   "\"relay\":\"relay.b\"");
    s_store(fx, 0, HEX_B);
    s_assert_field(fx, HEX_B,
                   "\"code\":\"stale\",\"reason\":\"why\","
                   "\"relay\":\"relay.b\"");
    s_assert_field(fx, HEX_B, "\"state\":\"stored\",\"to\"");
    s_assert_field(fx, HEX_B,
                   "\"recipients\":{\"sg.csa\":{\"state\":\"stored\"");
    assert_false(s_in_outbox(fx, HEX_B));
}

/* Every relay refused it for good, then one stores a copy after all (it
 * has it in its log): the message and its recipient are "stored", and
 * that relay's refusal no longer stands. */
static void
test_stored_after_rejected(void **state) {
    fx_t *fx = *state;
    s_queue(fx, HEX_A, NULL);
    s_reject(fx, 0, HEX_A, FRAME_REJECT_EXPIRED);
    s_reject(fx, 1, HEX_A, FRAME_REJECT_EXPIRED);
    s_assert_field(fx, HEX_A, "\"state\":\"rejected\",\"to\"");
    s_store(fx, 1, HEX_A);
    s_assert_field(fx, HEX_A, "\"state\":\"stored\",\"to\"");
    s_assert_field(fx, HEX_A, "\"sg.csa\":{\"rejected\":\"");
    s_assert_field(fx, HEX_A, "\"state\":\"stored\",\"stored\"");
    s_assert_no_field(fx, HEX_A, "last_rejection");
}

/* The pass removes an entry every relay given answered for good (one it
 * waited for is no longer configured), none of them with a stored: its
 * record says "rejected" then, and so do its recipients, not "queued"
 * for a message in no outbox. */
static void
test_resubmit_marks_what_leaves_rejected(void **state) {
    fx_t *fx = *state;
    json_t *rec;
    s_queue(fx, HEX_A, NULL);
    s_reject(fx, 0, HEX_A, FRAME_REJECT_EXPIRED);
    s_assert_field(fx, HEX_A, "\"state\":\"queued\",\"to\"");
    fx->d->n_links = 1; /* relay.b is no longer given */
    s_resubmit(fx->d, NULL);
    assert_false(s_in_outbox(fx, HEX_A));
    rec = node_store_get_json(fx->d->store, NODE_STORE_SENT, HEX_A, NULL);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "state")),
                        "rejected");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(rec, "recipients"), "sg.csa"),
            "state")),
        "rejected");
    json_decref(rec);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resubmit_skips_a_relay_that_stored,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_resubmit_skips_a_relay_that_refused_for_good, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_resubmit_sends_what_is_unanswered,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_resubmit_removes_what_every_relay_answered, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_refusal_after_stored_keeps_stored,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_refusal_after_refusal_keeps_the_first, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_without_record_refusal_after_stored, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rejected_once_every_relay_refused,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_passing_refusal_cleared_by_stored,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stored_after_rejected, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(
            test_resubmit_marks_what_leaves_rejected, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

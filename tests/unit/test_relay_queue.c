/* Unit tests for relay/relay_queue: per-recipient log order, the credit
 * window, requeue, confirm codes, dropping confirmed and expired messages,
 * receipts, a queue of 200 recipients and 10,000 messages, and the state
 * snapshot (save, restore, malformed snapshots). The .c is included to
 * count the messages the queue still holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../relay/relay_queue.c"

/* ---- helpers ---------------------------------------------------------- */

static void
s_mid(uint8_t id[16], uint64_t n) {
    memset(id, 0xA5, 16);
    memcpy(id, &n, sizeof n);
}

/* Accepts message index with msg id s_mid(index), an envelope "env-<index>"
 * and the given recipients. */
static void
s_accept(relay_queue_t *q, uint64_t index, const char *sender,
         const char *const *rcpt, size_t n, uint64_t expires_ms) {
    uint8_t id[16];
    char env[32];
    int len = snprintf(env, sizeof env, "env-%llu", (unsigned long long)index);
    s_mid(id, index);
    assert_int_equal(relay_queue_accept(q, index, id, sender, rcpt, n,
                                        expires_ms, (const uint8_t *)env,
                                        (size_t)len),
                     RK_OK);
}

static int
s_confirm(relay_queue_t *q, uint64_t index, const char *recipient) {
    uint8_t id[16];
    const char *sender = NULL;
    s_mid(id, index);
    return relay_queue_confirm(q, index, id, recipient, &sender);
}

/* Takes up to max deliveries for node into idx; returns how many. */
static size_t
s_next(relay_queue_t *q, const char *node, size_t max, uint64_t *idx) {
    relay_delivery_t d[64];
    size_t n;
    assert_true(max <= 64);
    n = relay_queue_next(q, node, max, 1000, d);
    for (size_t i = 0; i < n; i++)
        idx[i] = d[i].index;
    return n;
}

/* ---- deliveries not confirmed in time --------------------------------- */

typedef struct {
    char node[64];
    size_t n, calls;
} resent_t;

static void
s_resent(const char *node, size_t n, void *arg) {
    resent_t *r = arg;
    snprintf(r->node, sizeof r->node, "%s", node);
    r->n += n;
    r->calls++;
}

static void
test_resend_due(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *a[] = {"a"};
    relay_delivery_t d[8];
    resent_t r = {0};
    (void)state;
    assert_non_null(q);
    for (uint64_t i = 1; i <= 4; i++)
        s_accept(q, i, "s", a, 1, 0);
    relay_queue_set_credit(q, "a", 3);
    /* 1 and 2 sent at t=1000, 3 at t=5000; the credit holds 4 back. */
    assert_int_equal(relay_queue_next(q, "a", 2, 1000, d), 2);
    assert_int_equal(relay_queue_next(q, "a", 8, 5000, d), 1);
    assert_int_equal(relay_queue_next(q, "a", 8, 5000, d), 0);
    /* Before any is due: nothing changes, fn is not called. */
    assert_int_equal(relay_queue_resend_due(q, 60999, 60000, s_resent, &r), 0);
    assert_int_equal(r.calls, 0);
    /* The node kept 1 and 3 and skipped 2 (it could not store it): 2 is
     * due once 60 s old, though the node confirms. */
    assert_int_equal(s_confirm(q, 1, "a"), RK_OK);
    assert_int_equal(s_confirm(q, 3, "a"), RK_OK);
    assert_int_equal(relay_queue_resend_due(q, 61000, 60000, s_resent, &r), 1);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.node, "a");
    assert_int_equal(r.n, 1);
    /* Sent again, in log order, with what the credit now lets out. */
    assert_int_equal(relay_queue_next(q, "a", 8, 61000, d), 2);
    assert_int_equal(d[0].index, 2);
    assert_int_equal(d[1].index, 4);
    /* A second copy's confirm after the first is a stale one: ignored. */
    assert_int_equal(s_confirm(q, 2, "a"), RK_OK);
    assert_int_equal(s_confirm(q, 2, "a"), RK_ERR_NOT_FOUND);
    /* 4 (sent at 61000) is not skipped: while the node confirmed within
     * the last 60 s (2, seen at 62000), it may still be on its way (a
     * slow link), and is not sent twice... */
    r.n = r.calls = 0;
    assert_int_equal(relay_queue_resend_due(q, 62000, 60000, s_resent, &r), 0);
    assert_int_equal(relay_queue_resend_due(q, 121000, 60000, s_resent, &r), 0);
    /* ... until the node has confirmed nothing for 60 s. */
    assert_int_equal(relay_queue_resend_due(q, 122000, 60000, s_resent, &r), 1);
    assert_int_equal(relay_queue_next(q, "a", 8, 122000, d), 1);
    assert_int_equal(d[0].index, 4);
    assert_int_equal(relay_queue_pending(q, "a"), 1);
    relay_queue_destroy(&q);
}

static void
test_unsend(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *a[] = {"a"};
    relay_delivery_t d[8];
    (void)state;
    assert_non_null(q);
    for (uint64_t i = 1; i <= 4; i++)
        s_accept(q, i, "s", a, 1, 0);
    relay_queue_set_credit(q, "a", 4);
    assert_int_equal(relay_queue_next(q, "a", 8, 1000, d), 4);
    /* 3 and 4 were not sent (the node's queue was full): only they are
     * handed out again, in order; 1 and 2 stay in flight. */
    assert_int_equal(relay_queue_unsend(q, "a", 3), RK_OK);
    assert_int_equal(relay_queue_unsend(q, "a", 4), RK_OK);
    assert_int_equal(relay_queue_unsend(q, "a", 4), RK_ERR_NOT_FOUND);
    assert_int_equal(relay_queue_unsend(q, "a", 99), RK_ERR_NOT_FOUND);
    assert_int_equal(relay_queue_unsend(q, "nobody", 1), RK_ERR_NOT_FOUND);
    assert_int_equal(relay_queue_next(q, "a", 8, 2000, d), 2);
    assert_int_equal(d[0].index, 3);
    assert_int_equal(d[1].index, 4);
    assert_int_equal(relay_queue_next(q, "a", 8, 2000, d), 0);
    assert_int_equal(relay_queue_pending(q, "a"), 4);
    /* A confirmed one is no longer in flight. */
    assert_int_equal(s_confirm(q, 1, "a"), RK_OK);
    assert_int_equal(relay_queue_unsend(q, "a", 1), RK_ERR_NOT_FOUND);
    relay_queue_destroy(&q);
}

/* ---- order ------------------------------------------------------------ */

static void
test_log_order(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *ab[] = {"a", "b"}, *b[] = {"b"}, *a[] = {"a"};
    relay_delivery_t d[8];
    uint8_t env[] = "original";
    uint8_t id[16];
    uint64_t idx[8];
    (void)state;
    assert_non_null(q);

    s_accept(q, 10, "s", ab, 2, 0);
    s_accept(q, 11, "s", b, 1, 0);
    s_accept(q, 12, "s", a, 1, 0);
    s_accept(q, 13, "s", ab, 2, 0);
    assert_int_equal(relay_queue_pending(q, "a"), 3);
    assert_int_equal(relay_queue_pending(q, "b"), 3);
    assert_int_equal(relay_queue_pending(q, "c"), 0);
    assert_int_equal(relay_queue_live(q), 4);

    /* a: 10, 12, 13; taking them one at a time keeps the order. */
    assert_int_equal(s_next(q, "a", 1, idx), 1);
    assert_int_equal(idx[0], 10);
    assert_int_equal(s_next(q, "a", 8, idx), 2);
    assert_int_equal(idx[0], 12);
    assert_int_equal(idx[1], 13);
    assert_int_equal(s_next(q, "a", 8, idx), 0); /* all in flight */

    assert_int_equal(relay_queue_next(q, "b", 8, 1000, d), 3);
    assert_int_equal(d[0].index, 10);
    assert_int_equal(d[1].index, 11);
    assert_int_equal(d[2].index, 13);
    assert_int_equal(d[1].envelope_len, 6);
    assert_memory_equal(d[1].envelope, "env-11", 6);
    assert_int_equal(relay_queue_next(q, "nobody", 8, 1000, d), 0);

    /* The envelope is a copy: the caller's buffer may go away. */
    s_mid(id, 20);
    assert_int_equal(
        relay_queue_accept(q, 20, id, "s", a, 1, 0, env, sizeof env), RK_OK);
    memset(env, 'X', sizeof env);
    assert_int_equal(relay_queue_next(q, "a", 8, 1000, d), 1);
    assert_int_equal(d[0].index, 20);
    assert_ptr_not_equal(d[0].envelope, env);
    assert_int_equal(d[0].envelope_len, sizeof "original");
    assert_string_equal((const char *)d[0].envelope, "original");

    /* The same index twice is refused and changes nothing. */
    assert_int_equal(
        relay_queue_accept(q, 20, id, "s", b, 1, 0, env, sizeof env),
        RK_ERR_EXISTS);
    assert_int_equal(relay_queue_pending(q, "b"), 3);
    relay_queue_destroy(&q);
    assert_null(q);
    relay_queue_destroy(&q);
    relay_queue_destroy(NULL);
}

/* The sender's name and the envelope are the queue's own copies: the
 * caller's buffers may change or go, and what comes back (deliveries, the
 * sender a confirm names, the expiry) is still what was accepted. */
static void
test_copies_sender_and_envelope(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *ab[] = {"a", "b"};
    char sender[16] = "snd.one";
    uint8_t env[300], id[16];
    relay_delivery_t d[4];
    const char *who = NULL;
    (void)state;
    assert_non_null(q);
    memset(env, 0x3c, sizeof env);
    s_mid(id, 5);
    assert_int_equal(
        relay_queue_accept(q, 5, id, sender, ab, 2, 0, env, sizeof env), RK_OK);
    memset(sender, 'Z', sizeof sender - 1);
    memset(env, 0, sizeof env);
    assert_int_equal(relay_queue_held(q, "snd.one"), 300);
    assert_int_equal(relay_queue_next(q, "b", 4, 1000, d), 1);
    assert_int_equal(d[0].envelope_len, 300);
    for (size_t i = 0; i < 300; i++)
        assert_int_equal(d[0].envelope[i], 0x3c);
    assert_int_equal(relay_queue_check_confirm(q, 5, id, "a", &who), RK_OK);
    assert_string_equal(who, "snd.one");
    assert_int_equal(relay_queue_confirm(q, 5, id, "a", &who), RK_OK);
    assert_string_equal(who, "snd.one");
    assert_int_equal(relay_queue_confirm(q, 5, id, "b", &who), RK_OK);
    assert_string_equal(who, "snd.one");
    relay_queue_destroy(&q);
}

/* ---- credit ----------------------------------------------------------- */

static void
test_credit(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *a[] = {"a"};
    uint64_t idx[64];
    (void)state;

    for (uint64_t i = 0; i < 100; i++)
        s_accept(q, i, "s", a, 1, 0);
    /* Default window: 64 in flight. */
    assert_int_equal(s_next(q, "a", 64, idx), 64);
    assert_int_equal(idx[63], 63);
    assert_int_equal(s_next(q, "a", 64, idx), 0);
    relay_queue_requeue(q, "a");

    relay_queue_set_credit(q, "a", 3);
    assert_int_equal(s_next(q, "a", 64, idx), 3);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 2);
    assert_int_equal(s_next(q, "a", 64, idx), 0);

    /* A confirm frees one credit; the next delivery is the next in order. */
    assert_int_equal(s_confirm(q, 1, "a"), RK_OK);
    assert_int_equal(relay_queue_pending(q, "a"), 99);
    assert_int_equal(s_next(q, "a", 64, idx), 1);
    assert_int_equal(idx[0], 3);
    assert_int_equal(s_next(q, "a", 64, idx), 0);
    assert_int_equal(s_confirm(q, 0, "a"), RK_OK);
    assert_int_equal(s_confirm(q, 2, "a"), RK_OK);
    assert_int_equal(s_next(q, "a", 64, idx), 2);
    assert_int_equal(idx[0], 4);
    assert_int_equal(idx[1], 5);

    /* A confirm of a delivery not yet in flight counts and frees none. */
    assert_int_equal(s_confirm(q, 50, "a"), RK_OK);
    assert_int_equal(s_next(q, "a", 64, idx), 0);

    /* Credit 0 means 1; a bigger window takes more at once. */
    relay_queue_requeue(q, "a");
    relay_queue_set_credit(q, "a", 0);
    assert_int_equal(s_next(q, "a", 64, idx), 1);
    assert_int_equal(idx[0], 3);
    assert_int_equal(s_next(q, "a", 64, idx), 0);
    relay_queue_set_credit(q, "a", 10);
    assert_int_equal(s_next(q, "a", 64, idx), 9);
    assert_int_equal(idx[0], 4);
    assert_int_equal(idx[8], 12);
    relay_queue_destroy(&q);
}

/* ---- requeue ---------------------------------------------------------- */

static void
test_requeue(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *a[] = {"a"}, *ab[] = {"a", "b"};
    uint64_t idx[64];
    (void)state;

    for (uint64_t i = 0; i < 6; i++)
        s_accept(q, i, "s", i == 4 ? ab : a, i == 4 ? 2 : 1, 0);
    relay_queue_set_credit(q, "a", 4);
    relay_queue_set_credit(q, "b", 4);
    assert_int_equal(s_next(q, "a", 64, idx), 4);
    assert_int_equal(s_next(q, "b", 64, idx), 1);
    assert_int_equal(s_confirm(q, 1, "a"), RK_OK);

    /* a reconnected: what was in flight (0, 2, 3) comes again, in order,
     * before what was never sent; b's delivery stays in flight. */
    relay_queue_requeue(q, "a");
    assert_int_equal(s_next(q, "a", 64, idx), 4);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 2);
    assert_int_equal(idx[2], 3);
    assert_int_equal(idx[3], 4);
    assert_int_equal(s_next(q, "b", 64, idx), 0);
    relay_queue_requeue(q, "b");
    assert_int_equal(s_next(q, "b", 64, idx), 1);
    assert_int_equal(idx[0], 4);
    assert_int_equal(relay_queue_pending(q, "a"), 5);

    relay_queue_requeue(q, "nobody"); /* harmless */
    assert_int_equal(relay_queue_pending(q, "nobody"), 0);
    relay_queue_destroy(&q);
}

/* ---- confirm codes ---------------------------------------------------- */

static void
test_confirm_codes(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *ab[] = {"a", "b"};
    const char *sender = NULL;
    uint8_t id[16], other[16];
    uint64_t idx[8];
    (void)state;

    s_accept(q, 7, "alice", ab, 2, 0);
    s_mid(id, 7);
    s_mid(other, 8);
    assert_int_equal(s_next(q, "a", 8, idx), 1);

    assert_int_equal(relay_queue_confirm(q, 99, id, "a", &sender),
                     RK_ERR_NOT_FOUND);
    assert_int_equal(relay_queue_confirm(q, 7, other, "a", &sender),
                     RK_ERR_MISMATCH);
    assert_int_equal(relay_queue_confirm(q, 7, id, "mallory", &sender),
                     RK_ERR_NOT_FOUND);
    assert_null(sender);
    /* None of those touched a's delivery. */
    assert_int_equal(relay_queue_pending(q, "a"), 1);

    assert_int_equal(relay_queue_confirm(q, 7, id, "a", &sender), RK_OK);
    assert_non_null(sender);
    assert_string_equal(sender, "alice");
    assert_int_equal(relay_queue_pending(q, "a"), 0);
    sender = NULL;
    assert_int_equal(relay_queue_confirm(q, 7, id, "a", &sender),
                     RK_ERR_NOT_FOUND);
    assert_null(sender);
    /* A wrong msg id is still a mismatch once one recipient confirmed. */
    assert_int_equal(relay_queue_confirm(q, 7, other, "b", &sender),
                     RK_ERR_MISMATCH);
    assert_int_equal(relay_queue_pending(q, "b"), 1);
    assert_int_equal(relay_queue_live(q), 1);
    relay_queue_destroy(&q);
}

/* ---- all confirmed ---------------------------------------------------- */

static int g_expired_calls;

static void
s_count_expiry(const relay_expiry_t *e, void *arg) {
    (void)e;
    (void)arg;
    g_expired_calls++;
}

static void
test_all_confirmed(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *abc[] = {"a", "b", "c"};
    const char *sender = NULL;
    uint8_t id[16];
    uint64_t index = 0;
    (void)state;

    s_accept(q, 5, "alice", abc, 3, 1000);
    s_accept(q, 6, "alice", abc, 1, 0);
    assert_int_equal(relay_queue_live(q), 2);
    assert_int_equal(s_confirm(q, 5, "b"), RK_OK);
    assert_int_equal(s_confirm(q, 5, "a"), RK_OK);
    assert_int_equal(relay_queue_live(q), 2);
    s_mid(id, 5);
    assert_int_equal(relay_queue_confirm(q, 5, id, "c", &sender), RK_OK);
    /* The sender name outlives the last confirm, for the caller's log. */
    assert_string_equal(sender, "alice");
    assert_int_equal(relay_queue_live(q), 1);
    assert_int_equal(relay_queue_pending(q, "a"), 1);
    assert_int_equal(relay_queue_pending(q, "c"), 0);

    /* A confirmed message never expires and is not reported. */
    g_expired_calls = 0;
    assert_int_equal(relay_queue_expire(q, 5000, s_count_expiry, NULL), 0);
    assert_int_equal(g_expired_calls, 0);
    assert_int_equal(relay_map_count(q->msgs), 1);

    /* Its msg id is still found (for proofs and retried submits). */
    assert_int_equal(relay_queue_find(q, id, &index), RK_OK);
    assert_int_equal(index, 5);
    s_mid(id, 6);
    assert_int_equal(relay_queue_find(q, id, &index), RK_OK);
    assert_int_equal(index, 6);
    s_mid(id, 77);
    assert_int_equal(relay_queue_find(q, id, &index), RK_ERR_NOT_FOUND);
    assert_int_equal(s_confirm(q, 5, "c"), RK_ERR_NOT_FOUND);
    relay_queue_destroy(&q);
}

/* Rebuilding from a long log confirms most messages right after accepting
 * them; the queue must not keep every envelope of the log until the first
 * expiry scan. */
static void
test_confirmed_not_held(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *ab[] = {"a", "b"};
    const char *sender = NULL;
    uint8_t id[16];
    (void)state;

    for (uint64_t i = 0; i < 1000; i++) {
        s_accept(q, i, "alice", ab, 2, 0);
        assert_int_equal(s_confirm(q, i, "a"), RK_OK);
        s_mid(id, i);
        assert_int_equal(relay_queue_confirm(q, i, id, "b", &sender), RK_OK);
        assert_string_equal(sender, "alice");
        assert_true(relay_map_count(q->msgs) <= 1);
    }
    assert_int_equal(relay_queue_live(q), 0);
    /* The last one is kept for its sender name, then dropped; forget of a
     * dropped message says so. */
    assert_int_equal(relay_queue_expire(q, 1, NULL, NULL), 0);
    assert_int_equal(relay_map_count(q->msgs), 0);
    assert_int_equal(relay_queue_forget(q, 999, NULL), RK_ERR_NOT_FOUND);
    relay_queue_destroy(&q);
}

/* The same msg id at two indexes (two senders in one batch, or a log that
 * holds both): the first index stays the one found, nothing leaks. */
static void
test_same_msg_id(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *a[] = {"a"};
    uint8_t id[16];
    uint64_t index = 0;
    (void)state;

    s_mid(id, 1);
    assert_int_equal(
        relay_queue_accept(q, 1, id, "alice", a, 1, 0, id, sizeof id), RK_OK);
    assert_int_equal(
        relay_queue_accept(q, 2, id, "bob", a, 1, 0, id, sizeof id), RK_OK);
    assert_int_equal(relay_queue_find(q, id, &index), RK_OK);
    assert_int_equal(index, 1);
    assert_int_equal(relay_queue_pending(q, "a"), 2);
    relay_queue_destroy(&q);
}

/* ---- expiry ----------------------------------------------------------- */

typedef struct {
    int calls;
    uint64_t index;
    uint8_t msg_id[16];
    char sender[64];
    char names[8][64];
    size_t n;
} expiry_seen_t;

static void
s_on_expiry(const relay_expiry_t *e, void *arg) {
    expiry_seen_t *s = arg;
    s->calls++;
    s->index = e->index;
    memcpy(s->msg_id, e->msg_id, 16);
    snprintf(s->sender, sizeof s->sender, "%s", e->sender);
    s->n = e->n_recipients;
    for (size_t i = 0; i < e->n_recipients && i < 8; i++)
        snprintf(s->names[i], sizeof s->names[i], "%s", e->recipients[i]);
}

static void
test_expiry(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *abcd[] = {"a", "b", "c", "d"}, *a[] = {"a"}, *b[] = {"b"};
    expiry_seen_t seen;
    uint8_t id[16];
    uint64_t idx[8];
    (void)state;

    s_accept(q, 1, "alice", abcd, 4, 1000);
    s_accept(q, 2, "bob", a, 1, 5000);
    s_accept(q, 3, "alice", b, 1, 0); /* never expires */
    relay_queue_set_credit(q, "a", 1);
    assert_int_equal(s_next(q, "a", 8, idx), 1); /* 1 in flight to a */
    assert_int_equal(idx[0], 1);
    assert_int_equal(s_confirm(q, 1, "b"), RK_OK);
    assert_int_equal(s_confirm(q, 1, "d"), RK_OK);

    memset(&seen, 0, sizeof seen);
    assert_int_equal(relay_queue_expire(q, 999, s_on_expiry, &seen), 0);
    assert_int_equal(seen.calls, 0);
    assert_int_equal(relay_queue_live(q), 3);

    assert_int_equal(relay_queue_expire(q, 1000, s_on_expiry, &seen), 1);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.index, 1);
    s_mid(id, 1);
    assert_memory_equal(seen.msg_id, id, 16);
    assert_string_equal(seen.sender, "alice");
    /* Exactly the recipients that never confirmed, in their order. */
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.names[0], "a");
    assert_string_equal(seen.names[1], "c");

    /* Dropped: no longer live, pending or confirmable; a's credit is
     * free again for the next message. */
    assert_int_equal(relay_queue_live(q), 2);
    assert_int_equal(relay_queue_pending(q, "a"), 1);
    assert_int_equal(relay_queue_pending(q, "c"), 0);
    assert_int_equal(s_confirm(q, 1, "a"), RK_ERR_NOT_FOUND);
    assert_int_equal(s_next(q, "a", 8, idx), 1);
    assert_int_equal(idx[0], 2);

    /* Nothing left to expire at the same time; later, only 2 expires. */
    seen.calls = 0;
    assert_int_equal(relay_queue_expire(q, 1000, s_on_expiry, &seen), 0);
    assert_int_equal(relay_queue_expire(q, UINT64_MAX, s_on_expiry, &seen), 1);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.index, 2);
    assert_string_equal(seen.sender, "bob");
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.names[0], "a");
    assert_int_equal(relay_queue_live(q), 1);
    assert_int_equal(relay_queue_pending(q, "a"), 0);
    assert_int_equal(relay_queue_pending(q, "b"), 1);

    /* forget: as if its expiry had been logged before. */
    assert_int_equal(relay_queue_forget(q, 3, NULL), RK_OK);
    assert_int_equal(relay_queue_forget(q, 3, NULL), RK_ERR_NOT_FOUND);
    assert_int_equal(relay_queue_pending(q, "b"), 0);
    assert_int_equal(relay_queue_live(q), 0);
    relay_queue_destroy(&q);
}

/* ---- receipts --------------------------------------------------------- */

static relay_receipt_t
s_receipt(uint64_t index, const char *recipient, int expired) {
    relay_receipt_t r;
    memset(&r, 0, sizeof r);
    r.index = index;
    s_mid(r.msg_id, index * 10);
    snprintf(r.recipient, sizeof r.recipient, "%s", recipient);
    r.status = expired ? RELAY_RECEIPT_EXPIRED : RELAY_RECEIPT_DELIVERED;
    r.time_ms = 1000 + index;
    return r;
}

static void
test_receipts(void **state) {
    relay_queue_t *q = relay_queue_new();
    const relay_receipt_t *rs;
    relay_receipt_t r;
    uint8_t id[16];
    size_t n = 99;
    (void)state;

    assert_null(relay_queue_receipts(q, "alice", 0, &n));
    assert_int_equal(n, 0);
    for (uint64_t i = 5; i <= 11; i += 2) {
        r = s_receipt(i, i == 9 ? "c" : "b", i == 9);
        assert_int_equal(relay_queue_add_receipt(q, "alice", &r), RK_OK);
    }
    r = s_receipt(6, "a", 0);
    assert_int_equal(relay_queue_add_receipt(q, "bob", &r), RK_OK);

    /* UINT64_MAX: "the sender did not say", keeps everything. */
    rs = relay_queue_receipts(q, "alice", UINT64_MAX, &n);
    assert_int_equal(n, 0);
    (void)rs;
    rs = relay_queue_receipts(q, "alice", 0, &n);
    assert_int_equal(n, 4);
    assert_int_equal(rs[0].index, 5);
    assert_int_equal(rs[3].index, 11);
    assert_string_equal(rs[2].recipient, "c");
    assert_int_equal(rs[2].status, RELAY_RECEIPT_EXPIRED);
    assert_int_equal(rs[2].time_ms, 1009);
    s_mid(id, 90);
    assert_memory_equal(rs[2].msg_id, id, 16);

    /* From 7 on (to send again, in order, what a full queue refused):
     * nothing dropped. */
    rs = relay_queue_receipts_from(q, "alice", 7, &n);
    assert_int_equal(n, 3);
    assert_int_equal(rs[0].index, 7);
    assert_int_equal(rs[2].index, 11);
    rs = relay_queue_receipts_from(q, "alice", 8, &n);
    assert_int_equal(n, 2);
    assert_int_equal(rs[0].index, 9);
    rs = relay_queue_receipts_from(q, "alice", 12, &n);
    assert_int_equal(n, 0);
    assert_null(relay_queue_receipts_from(q, "nobody", 0, &n));
    assert_int_equal(n, 0);
    rs = relay_queue_receipts_from(q, "alice", 0, &n);
    assert_int_equal(n, 4);
    /* The sender has seen up to 7: 5 is dropped for good; 7 is given
     * again (the recipients of one expiry share its index, and the
     * sender may have had only some of them), then 9 and 11. */
    rs = relay_queue_receipts(q, "alice", 7, &n);
    assert_int_equal(n, 3);
    assert_int_equal(rs[0].index, 7);
    assert_int_equal(rs[1].index, 9);
    assert_int_equal(rs[2].index, 11);
    rs = relay_queue_receipts(q, "alice", 0, &n);
    assert_int_equal(n, 3);
    assert_int_equal(rs[0].index, 7);
    /* An index between receipts. */
    rs = relay_queue_receipts(q, "alice", 10, &n);
    assert_int_equal(n, 1);
    assert_int_equal(rs[0].index, 11);
    rs = relay_queue_receipts(q, "alice", 11, &n);
    assert_int_equal(n, 1);
    rs = relay_queue_receipts(q, "alice", 12, &n);
    assert_int_equal(n, 0);
    rs = relay_queue_receipts(q, "alice", 0, &n);
    assert_int_equal(n, 0);
    /* Other senders' receipts are their own. */
    rs = relay_queue_receipts(q, "bob", 0, &n);
    assert_int_equal(n, 1);
    assert_string_equal(rs[0].recipient, "a");

    /* Many receipts (the array grows), then a cut in the middle. */
    for (uint64_t i = 100; i < 5100; i++) {
        r = s_receipt(i, "b", 0);
        assert_int_equal(relay_queue_add_receipt(q, "alice", &r), RK_OK);
    }
    rs = relay_queue_receipts(q, "alice", 0, &n);
    assert_int_equal(n, 5000);
    rs = relay_queue_receipts(q, "alice", 4100, &n);
    assert_int_equal(n, 1000);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rs[i].index, 4100 + i);
    relay_queue_destroy(&q);
}

/* ---- scale ------------------------------------------------------------ */

#define S_NODES 200
#define S_MSGS 10000

static void
test_scale(void **state) {
    relay_queue_t *q = relay_queue_new();
    static char names[S_NODES][16];
    static const char *all[S_NODES];
    /* expected[r]: indexes owed to node r, in log order. */
    static uint64_t *expected[S_NODES];
    static size_t n_expected[S_NODES], got[S_NODES];
    size_t total = 0;
    uint64_t idx[64];
    (void)state;

    for (size_t r = 0; r < S_NODES; r++) {
        snprintf(names[r], sizeof names[r], "node-%03zu", r);
        all[r] = names[r];
        expected[r] = calloc(S_MSGS, sizeof **expected);
        assert_non_null(expected[r]);
        n_expected[r] = got[r] = 0;
        relay_queue_set_credit(q, names[r], 100000);
    }
    for (uint64_t i = 0; i < S_MSGS; i++) {
        const char *rc[5];
        size_t n = 0;
        /* Every 100th message goes to all 200, the rest to 5 nodes. */
        if (i % 100 == 0) {
            s_accept(q, 1000 + i, "sender", all, S_NODES, 0);
            for (size_t r = 0; r < S_NODES; r++)
                expected[r][n_expected[r]++] = 1000 + i;
            total += S_NODES;
            continue;
        }
        for (size_t k = 0; k < 5; k++) {
            size_t r = (i * 7 + k * 40) % S_NODES;
            rc[n++] = names[r];
            expected[r][n_expected[r]++] = 1000 + i;
        }
        s_accept(q, 1000 + i, "sender", rc, n, 0);
        total += n;
    }
    assert_int_equal(relay_queue_live(q), S_MSGS);
    for (size_t r = 0; r < S_NODES; r++)
        assert_int_equal(relay_queue_pending(q, names[r]), n_expected[r]);

    /* Deliver everything in bursts; each node sees its own log order. */
    for (size_t r = 0; r < S_NODES; r++) {
        size_t n;
        while ((n = s_next(q, names[r], 64, idx)) > 0)
            for (size_t i = 0; i < n; i++) {
                assert_true(got[r] < n_expected[r]);
                assert_int_equal(idx[i], expected[r][got[r]]);
                got[r]++;
            }
        assert_int_equal(got[r], n_expected[r]);
    }
    /* Confirm in reverse node order; the queue empties exactly at the
     * end. */
    for (size_t r = S_NODES; r-- > 0;) {
        for (size_t i = 0; i < n_expected[r]; i++) {
            assert_int_equal(s_confirm(q, expected[r][i], names[r]), RK_OK);
            total--;
        }
        assert_int_equal(relay_queue_pending(q, names[r]), 0);
        if (r == S_NODES / 2)
            assert_true(relay_queue_live(q) > 0);
    }
    assert_int_equal(total, 0);
    assert_int_equal(relay_queue_live(q), 0);
    for (uint64_t i = 0; i < S_MSGS; i += 997) {
        uint8_t id[16];
        uint64_t index = 0;
        s_mid(id, 1000 + i);
        assert_int_equal(relay_queue_find(q, id, &index), RK_OK);
        assert_int_equal(index, 1000 + i);
    }
    for (size_t r = 0; r < S_NODES; r++)
        free(expected[r]);
    relay_queue_destroy(&q);
}

/* ---- the state snapshot ----------------------------------------------- */

/* Serves the envelope "env-<index>" of each accepted message, as the log
 * would, after checking that the snapshot asks with the msg id and sender
 * the message was accepted with; fails with fail_rc at index fail_at. */
#define S_FETCH_MAX 64

typedef struct {
    size_t calls;
    uint64_t asked[S_FETCH_MAX]; /* indexes asked for, in order */
    uint64_t fail_at;
    int fail_rc;
    const char *senders[S_FETCH_MAX]; /* by index; NULL: not accepted */
    uint8_t ids[S_FETCH_MAX][16];     /* by index */
} fetch_t;

static int
s_fetch(void *arg, uint64_t index, const uint8_t msg_id[16], const char *sender,
        uint8_t **env, size_t *env_len) {
    fetch_t *f = arg;
    char text[32];
    int len;
    if (f->calls < S_FETCH_MAX)
        f->asked[f->calls] = index;
    f->calls++;
    if (index == f->fail_at)
        return f->fail_rc;
    if (index >= S_FETCH_MAX || !f->senders[index] ||
        strcmp(f->senders[index], sender) != 0 ||
        memcmp(f->ids[index], msg_id, 16) != 0)
        return RK_ERR_MISMATCH;
    len = snprintf(text, sizeof text, "env-%llu", (unsigned long long)index);
    *env = malloc((size_t)len);
    if (!*env)
        return RK_ERR_NOMEM;
    memcpy(*env, text, (size_t)len);
    *env_len = (size_t)len;
    return RK_OK;
}

/* Accepts like s_accept and tells the fetch about it; msg id s_mid(id_of). */
static void
s_accept_f(relay_queue_t *q, fetch_t *f, uint64_t index, uint64_t id_of,
           const char *sender, const char *const *rcpt, size_t n,
           uint64_t expires_ms) {
    uint8_t id[16];
    char env[32];
    int len = snprintf(env, sizeof env, "env-%llu", (unsigned long long)index);
    s_mid(id, id_of);
    assert_int_equal(relay_queue_accept(q, index, id, sender, rcpt, n,
                                        expires_ms, (const uint8_t *)env,
                                        (size_t)len),
                     RK_OK);
    assert_true(index < S_FETCH_MAX);
    f->senders[index] = sender;
    memcpy(f->ids[index], id, 16);
}

/* A queue as a relay has it after some traffic:
 *   1 alice -> a, b      a confirmed
 *   2 bob   -> a         confirmed by all (kept only as a msg id)
 *   3 alice -> a, b, c   none confirmed; in flight to a
 *   4 carol -> c
 *   5 alice -> b         confirmed, then swept away
 *   6 bob   -> a, c      c confirmed
 *   7 dave  -> b         reuses msg id 3 (find keeps index 3)
 *   8 erin  -> a         confirmed by all, the last one (kept as "done")
 * and receipts owed to alice (4) and bob (1). */
static relay_queue_t *
s_busy_queue(fetch_t *f) {
    relay_queue_t *q = relay_queue_new();
    const char *ab[] = {"a", "b"}, *a[] = {"a"}, *abc[] = {"a", "b", "c"};
    const char *c[] = {"c"}, *b[] = {"b"}, *ac[] = {"a", "c"};
    relay_receipt_t r;
    uint64_t idx[8];
    assert_non_null(q);
    memset(f, 0, sizeof *f);
    f->fail_at = UINT64_MAX;
    s_accept_f(q, f, 1, 1, "alice", ab, 2, 0);
    s_accept_f(q, f, 2, 2, "bob", a, 1, 0);
    s_accept_f(q, f, 3, 3, "alice", abc, 3, 9000);
    s_accept_f(q, f, 4, 4, "carol", c, 1, 0);
    s_accept_f(q, f, 5, 5, "alice", b, 1, 0);
    s_accept_f(q, f, 6, 6, "bob", ac, 2, 0);
    s_accept_f(q, f, 7, 3, "dave", b, 1, 0);
    assert_int_equal(s_confirm(q, 1, "a"), RK_OK);
    assert_int_equal(s_confirm(q, 2, "a"), RK_OK);
    assert_int_equal(s_confirm(q, 5, "b"), RK_OK);
    assert_int_equal(s_confirm(q, 6, "c"), RK_OK);
    assert_int_equal(relay_queue_expire(q, 1, NULL, NULL), 0);
    s_accept_f(q, f, 8, 8, "erin", a, 1, 0);
    assert_int_equal(s_confirm(q, 8, "a"), RK_OK);
    relay_queue_set_credit(q, "a", 1);
    assert_int_equal(s_next(q, "a", 8, idx), 1);
    assert_int_equal(idx[0], 3);
    for (uint64_t i = 5; i <= 11; i += 2) {
        r = s_receipt(i, i == 9 ? "c" : "b", i == 9);
        assert_int_equal(relay_queue_add_receipt(q, "alice", &r), RK_OK);
    }
    r = s_receipt(6, "a", 0);
    assert_int_equal(relay_queue_add_receipt(q, "bob", &r), RK_OK);
    assert_int_equal(relay_queue_live(q), 5);
    return q;
}

/* Saves q into b, which must then hold something. */
static void
s_save(relay_queue_t *q, rk_wbuf_t *b) {
    memset(b, 0, sizeof *b);
    relay_queue_save(q, b);
    assert_false(b->failed);
    assert_true(b->len > 0);
}

/* Restores p[0, len) into q; *left (may be NULL) gets the unread bytes. */
static int
s_restore(relay_queue_t *q, const uint8_t *p, size_t len, fetch_t *f,
          size_t *left) {
    rk_rbuf_t rb;
    int rc;
    memset(&rb, 0, sizeof rb);
    rb.p = p;
    rb.len = len;
    rc = relay_queue_restore(q, &rb, s_fetch, f);
    if (left)
        *left = rk_rbuf_left(&rb);
    return rc;
}

/* Takes every delivery owed to node (credit lifted) into idx, checking
 * that each comes with its own envelope; returns how many. */
static size_t
s_drain(relay_queue_t *q, const char *node, uint64_t *idx, size_t max) {
    relay_delivery_t d[16];
    size_t n;
    assert_true(max <= 16);
    relay_queue_set_credit(q, node, 1000);
    n = relay_queue_next(q, node, max, 1000, d);
    for (size_t i = 0; i < n; i++) {
        char text[32];
        int len = snprintf(text, sizeof text, "env-%llu",
                           (unsigned long long)d[i].index);
        idx[i] = d[i].index;
        assert_int_equal(d[i].envelope_len, (size_t)len);
        assert_memory_equal(d[i].envelope, text, (size_t)len);
    }
    return n;
}

static void
s_assert_receipts_equal(relay_queue_t *q1, relay_queue_t *q2,
                        const char *sender, size_t expect) {
    size_t n1 = 99, n2 = 99;
    const relay_receipt_t *r1 = relay_queue_receipts(q1, sender, 0, &n1);
    const relay_receipt_t *r2 = relay_queue_receipts(q2, sender, 0, &n2);
    assert_int_equal(n1, expect);
    assert_int_equal(n2, expect);
    for (size_t i = 0; i < expect; i++) {
        assert_int_equal(r2[i].index, r1[i].index);
        assert_memory_equal(r2[i].msg_id, r1[i].msg_id, 16);
        assert_string_equal(r2[i].recipient, r1[i].recipient);
        assert_int_equal(r2[i].status, r1[i].status);
        assert_int_equal(r2[i].time_ms, r1[i].time_ms);
        if (i > 0)
            assert_true(r2[i].index > r2[i - 1].index);
    }
}

/* save -> restore into a new queue: what a restarted relay owes is what
 * the stopped one owed, nothing more, nothing less. */
static void
test_snapshot_round_trip(void **state) {
    fetch_t f;
    relay_queue_t *q = s_busy_queue(&f), *q2 = relay_queue_new();
    rk_wbuf_t b, b2;
    uint64_t idx[16], index = 0;
    uint8_t id[16];
    size_t left = 99;
    const char *sender = NULL;
    (void)state;
    assert_non_null(q2);

    s_save(q, &b);
    assert_int_equal(s_restore(q2, b.p, b.len, &f, &left), RK_OK);
    assert_int_equal(left, 0);
    /* One fetch per live message, in log order: 1 3 4 6 7. */
    assert_int_equal(f.calls, 5);
    assert_int_equal(f.asked[0], 1);
    assert_int_equal(f.asked[1], 3);
    assert_int_equal(f.asked[2], 4);
    assert_int_equal(f.asked[3], 6);
    assert_int_equal(f.asked[4], 7);

    assert_int_equal(relay_queue_live(q2), relay_queue_live(q));
    assert_int_equal(relay_queue_live(q2), 5);
    assert_int_equal(relay_queue_pending(q2, "a"), 2); /* 3 6 */
    assert_int_equal(relay_queue_pending(q2, "b"), 3); /* 1 3 7 */
    assert_int_equal(relay_queue_pending(q2, "c"), 2); /* 3 4 */
    assert_int_equal(relay_queue_pending(q2, "a"), relay_queue_pending(q, "a"));
    assert_int_equal(relay_queue_pending(q2, "b"), relay_queue_pending(q, "b"));
    assert_int_equal(relay_queue_pending(q2, "c"), relay_queue_pending(q, "c"));

    /* In flight before the save (3 to a) is sent again; what a recipient
     * confirmed (1 and 2 by a, 6 by c) is not. */
    assert_int_equal(s_drain(q2, "a", idx, 16), 2);
    assert_int_equal(idx[0], 3);
    assert_int_equal(idx[1], 6);
    assert_int_equal(s_drain(q2, "b", idx, 16), 3);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 3);
    assert_int_equal(idx[2], 7);
    assert_int_equal(s_drain(q2, "c", idx, 16), 2);
    assert_int_equal(idx[0], 3);
    assert_int_equal(idx[1], 4);
    assert_int_equal(s_confirm(q2, 1, "a"), RK_ERR_NOT_FOUND);
    assert_int_equal(s_confirm(q2, 6, "c"), RK_ERR_NOT_FOUND);
    assert_int_equal(s_confirm(q2, 2, "a"), RK_ERR_NOT_FOUND);

    /* The restored messages are confirmed as before, with their sender. */
    assert_int_equal(s_confirm(q2, 1, "b"), RK_OK);
    s_mid(id, 3);
    assert_int_equal(relay_queue_confirm(q2, 7, id, "b", &sender), RK_OK);
    assert_string_equal(sender, "dave");
    assert_int_equal(relay_queue_confirm(q2, 3, id, "c", &sender), RK_OK);
    assert_string_equal(sender, "alice");

    /* Receipts come back in order with every field. */
    s_assert_receipts_equal(q, q2, "alice", 4);
    s_assert_receipts_equal(q, q2, "bob", 1);
    {
        size_t n = 99;
        assert_null(relay_queue_receipts(q2, "carol", 0, &n));
        assert_int_equal(n, 0);
    }

    /* Every msg id is found at its first index, including those of
     * messages confirmed by all before the save (2, 5, 8); a retried
     * submit of them is answered with that index. */
    for (uint64_t i = 1; i <= 8; i++) {
        if (i == 7)
            continue;
        s_mid(id, i);
        assert_int_equal(relay_queue_find(q2, id, &index), RK_OK);
        assert_int_equal(index, i);
    }
    s_mid(id, 9);
    assert_int_equal(relay_queue_find(q2, id, &index), RK_ERR_NOT_FOUND);

    /* A snapshot of the restored queue holds the same: same size, and it
     * restores again. */
    relay_queue_destroy(&q2);
    q2 = relay_queue_new();
    assert_int_equal(s_restore(q2, b.p, b.len, &f, NULL), RK_OK);
    s_save(q2, &b2);
    assert_int_equal(b2.len, b.len);
    rk_wbuf_free(&b2);

    rk_wbuf_free(&b);
    relay_queue_destroy(&q2);
    relay_queue_destroy(&q);
}

/* An empty queue saves and restores to an empty queue. */
static void
test_snapshot_empty(void **state) {
    fetch_t f;
    relay_queue_t *q = relay_queue_new(), *q2 = relay_queue_new();
    rk_wbuf_t b;
    size_t left = 99;
    uint8_t id[16];
    uint64_t index;
    (void)state;
    memset(&f, 0, sizeof f);
    f.fail_at = UINT64_MAX;
    s_save(q, &b);
    assert_int_equal(b.len, 24); /* three zero counts */
    assert_int_equal(s_restore(q2, b.p, b.len, &f, &left), RK_OK);
    assert_int_equal(left, 0);
    assert_int_equal(f.calls, 0);
    assert_int_equal(relay_queue_live(q2), 0);
    s_mid(id, 1);
    assert_int_equal(relay_queue_find(q2, id, &index), RK_ERR_NOT_FOUND);
    rk_wbuf_free(&b);
    relay_queue_destroy(&q2);
    relay_queue_destroy(&q);
}

/* Every proper prefix of a snapshot is refused as malformed (and leaves
 * nothing behind once the queue is destroyed: ASan). */
static void
test_snapshot_truncated(void **state) {
    fetch_t f;
    relay_queue_t *q = s_busy_queue(&f);
    rk_wbuf_t b;
    (void)state;
    s_save(q, &b);
    for (size_t len = 0; len < b.len; len++) {
        relay_queue_t *q2 = relay_queue_new();
        assert_non_null(q2);
        if (s_restore(q2, b.p, len, &f, NULL) != RK_ERR_MALFORMED)
            fail_msg("a snapshot cut to %zu of %zu bytes was not refused as "
                     "malformed",
                     len, b.len);
        relay_queue_destroy(&q2);
    }
    rk_wbuf_free(&b);
    relay_queue_destroy(&q);
}

/* Counts larger than the bytes that follow are refused before anything
 * is allocated for them. */
static void
test_snapshot_counts_lie(void **state) {
    fetch_t f;
    rk_wbuf_t b;
    uint8_t id[16];
    (void)state;
    memset(&f, 0, sizeof f);
    f.fail_at = UINT64_MAX;
    s_mid(id, 1);
    for (int which = 0; which < 7; which++) {
        relay_queue_t *q2 = relay_queue_new();
        memset(&b, 0, sizeof b);
        switch (which) {
        case 0: /* msg ids: UINT64_MAX */
            rk_wbuf_u64(&b, UINT64_MAX);
            rk_wbuf_put(&b, id, 16);
            rk_wbuf_u64(&b, 1);
            break;
        case 1: /* msg ids: 2, one present */
            rk_wbuf_u64(&b, 2);
            rk_wbuf_put(&b, id, 16);
            rk_wbuf_u64(&b, 1);
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, 0);
            break;
        case 2: /* live messages: 2^60 */
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, (uint64_t)1 << 60);
            rk_wbuf_u64(&b, 0);
            break;
        case 3: /* one live message naming 2^40 recipients */
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, 1);
            rk_wbuf_u64(&b, 1);
            rk_wbuf_put(&b, id, 16);
            rk_wbuf_str(&b, "alice");
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, (uint64_t)1 << 40);
            rk_wbuf_str(&b, "a");
            rk_wbuf_u64(&b, 0);
            break;
        case 4: /* one live message with no recipient at all */
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, 1);
            rk_wbuf_u64(&b, 1);
            rk_wbuf_put(&b, id, 16);
            rk_wbuf_str(&b, "alice");
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, 0);
            break;
        case 5: /* senders with receipts: UINT64_MAX */
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, UINT64_MAX);
            rk_wbuf_str(&b, "alice");
            break;
        case 6: /* alice has 2^50 receipts */
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, 0);
            rk_wbuf_u64(&b, 1);
            rk_wbuf_str(&b, "alice");
            rk_wbuf_u64(&b, (uint64_t)1 << 50);
            rk_wbuf_u64(&b, 3);
            break;
        }
        assert_false(b.failed);
        if (s_restore(q2, b.p, b.len, &f, NULL) != RK_ERR_MALFORMED)
            fail_msg("lying count %d was not refused as malformed", which);
        assert_int_equal(f.calls, 0);
        rk_wbuf_free(&b);
        relay_queue_destroy(&q2);
    }
}

/* A msg id listed twice, and a name too long for a node id: malformed. */
static void
test_snapshot_bad_fields(void **state) {
    fetch_t f;
    rk_wbuf_t b;
    relay_queue_t *q2;
    uint8_t id[16];
    char longname[100];
    (void)state;
    memset(&f, 0, sizeof f);
    f.fail_at = UINT64_MAX;
    s_mid(id, 1);
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;

    q2 = relay_queue_new();
    memset(&b, 0, sizeof b);
    rk_wbuf_u64(&b, 2);
    for (int i = 0; i < 2; i++) {
        rk_wbuf_put(&b, id, 16);
        rk_wbuf_u64(&b, 1 + (uint64_t)i);
    }
    rk_wbuf_u64(&b, 0);
    rk_wbuf_u64(&b, 0);
    assert_int_equal(s_restore(q2, b.p, b.len, &f, NULL), RK_ERR_MALFORMED);
    rk_wbuf_free(&b);
    relay_queue_destroy(&q2);

    q2 = relay_queue_new();
    memset(&b, 0, sizeof b);
    rk_wbuf_u64(&b, 0);
    rk_wbuf_u64(&b, 1);
    rk_wbuf_u64(&b, 1);
    rk_wbuf_put(&b, id, 16);
    rk_wbuf_str(&b, longname); /* sender of 99 bytes */
    rk_wbuf_u64(&b, 0);
    rk_wbuf_u64(&b, 1);
    rk_wbuf_str(&b, "a");
    rk_wbuf_u64(&b, 0);
    assert_int_equal(s_restore(q2, b.p, b.len, &f, NULL), RK_ERR_MALFORMED);
    assert_int_equal(f.calls, 0);
    rk_wbuf_free(&b);
    relay_queue_destroy(&q2);

    q2 = relay_queue_new();
    memset(&b, 0, sizeof b);
    rk_wbuf_u64(&b, 0);
    rk_wbuf_u64(&b, 0);
    rk_wbuf_u64(&b, 1);
    rk_wbuf_str(&b, "alice");
    rk_wbuf_u64(&b, 1);
    rk_wbuf_u64(&b, 5);
    rk_wbuf_put(&b, id, 16);
    rk_wbuf_str(&b, longname); /* recipient of 99 bytes */
    rk_wbuf_u8(&b, 0);
    rk_wbuf_u64(&b, 1000);
    assert_int_equal(s_restore(q2, b.p, b.len, &f, NULL), RK_ERR_MALFORMED);
    rk_wbuf_free(&b);
    relay_queue_destroy(&q2);
}

/* A fetch that fails (the log cannot give the envelope, or it is another
 * message) fails the restore with its error, whichever message it is. */
static void
test_snapshot_fetch_fails(void **state) {
    fetch_t f;
    relay_queue_t *q = s_busy_queue(&f);
    rk_wbuf_t b;
    const uint64_t live[] = {1, 3, 4, 6, 7};
    (void)state;
    s_save(q, &b);
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
        relay_queue_t *q2 = relay_queue_new();
        f.calls = 0;
        f.fail_at = live[i];
        f.fail_rc = i % 2 ? RK_ERR_IO : RK_ERR_MISMATCH;
        assert_int_equal(s_restore(q2, b.p, b.len, &f, NULL), f.fail_rc);
        assert_int_equal(f.calls, i + 1); /* stops at the first failure */
        relay_queue_destroy(&q2);
    }
    /* A fetch that finds another sender at that index. */
    {
        relay_queue_t *q2 = relay_queue_new();
        f.fail_at = UINT64_MAX;
        f.senders[4] = "mallory";
        assert_int_equal(s_restore(q2, b.p, b.len, &f, NULL), RK_ERR_MISMATCH);
        relay_queue_destroy(&q2);
    }
    rk_wbuf_free(&b);
    relay_queue_destroy(&q);
}

/* Any one byte of a snapshot changed: restore answers (whatever it
 * answers) without crashing or leaking; random bytes are refused. */
static void
test_snapshot_garbage(void **state) {
    fetch_t f;
    relay_queue_t *q = s_busy_queue(&f);
    rk_wbuf_t b;
    uint8_t junk[512];
    (void)state;
    s_save(q, &b);
    for (size_t i = 0; i < b.len; i++) {
        relay_queue_t *q2 = relay_queue_new();
        b.p[i] ^= 0x41;
        (void)s_restore(q2, b.p, b.len, &f, NULL);
        b.p[i] ^= 0x41;
        relay_queue_destroy(&q2);
    }
    for (size_t len = 1; len <= sizeof junk; len *= 2) {
        relay_queue_t *q2 = relay_queue_new();
        randombytes_buf(junk, len);
        junk[0] |= 0x80; /* a first count no buffer can hold */
        assert_int_equal(s_restore(q2, junk, len, &f, NULL), RK_ERR_MALFORMED);
        relay_queue_destroy(&q2);
    }
    rk_wbuf_free(&b);
    relay_queue_destroy(&q);
}

/* ---- recipients that left the roster --------------------------------- */

/* "x" revoked (1), "y" removed (2), everyone else still there. */
static int
s_gone_xy(const char *node, void *arg) {
    (void)arg;
    return !strcmp(node, "x") ? 1 : !strcmp(node, "y") ? 2 : 0;
}

typedef struct {
    int calls;
    uint64_t index[8];
    int reason[8];
    char names[8][4][64];
    size_t n[8];
} gone_seen_t;

static void
s_on_gone(const relay_expiry_t *e, void *arg) {
    gone_seen_t *s = arg;
    int c = s->calls++;
    assert_true(c < 8);
    s->index[c] = e->index;
    s->reason[c] = e->reason;
    s->n[c] = e->n_recipients;
    for (size_t i = 0; i < e->n_recipients && i < 4; i++)
        snprintf(s->names[c][i], 64, "%s", e->recipients[i]);
}

/* drop_gone gives up exactly the pending deliveries to gone recipients,
 * one call per message and reason; the others stay owed; a message left
 * with no recipient is forgotten; drop does the same for one recipient. */
static void
test_drop_gone(void **state) {
    relay_queue_t *q = relay_queue_new();
    const char *axy[] = {"a", "x", "y"}, *x[] = {"x"}, *ax[] = {"a", "x"};
    gone_seen_t seen;
    uint64_t idx[8];
    char sender[64];
    (void)state;

    s_accept(q, 1, "alice", axy, 3, 0);
    s_accept(q, 2, "bob", x, 1, 0);
    s_accept(q, 3, "carol", ax, 2, 0);
    assert_int_equal(s_confirm(q, 3, "x"), RK_OK); /* x had 3 already */
    assert_int_equal(s_next(q, "x", 8, idx), 2);   /* 1, 2 in flight to x */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(relay_queue_drop_gone(q, s_gone_xy, s_on_gone, &seen), 3);
    assert_int_equal(seen.calls, 3); /* 1 revoked, 1 removed, 2 revoked */
    for (int c = 0; c < 3; c++) {
        assert_int_equal(seen.n[c], 1);
        if (seen.index[c] == 2) {
            assert_int_equal(seen.reason[c], 1);
            assert_string_equal(seen.names[c][0], "x");
        } else {
            assert_int_equal(seen.index[c], 1);
            assert_string_equal(seen.names[c][0],
                                seen.reason[c] == 1 ? "x" : "y");
        }
    }
    /* Not x's or y's any more; a's untouched; 2 forgotten, 3 confirmed by
     * x before is not given up for it. */
    assert_int_equal(relay_queue_pending(q, "x"), 0);
    assert_int_equal(relay_queue_pending(q, "y"), 0);
    assert_int_equal(relay_queue_pending(q, "a"), 2);
    assert_int_equal(relay_queue_live(q), 2);
    assert_int_equal(s_confirm(q, 1, "x"), RK_ERR_NOT_FOUND);
    assert_int_equal(s_confirm(q, 2, "x"), RK_ERR_NOT_FOUND);
    /* Nothing more to give up. */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(relay_queue_drop_gone(q, s_gone_xy, s_on_gone, &seen), 0);
    assert_int_equal(seen.calls, 0);

    /* drop: one recipient, as the rebuild from the log does. */
    assert_int_equal(relay_queue_drop(q, 1, "x", sender), RK_ERR_NOT_FOUND);
    assert_int_equal(relay_queue_drop(q, 1, "a", sender), RK_OK);
    assert_string_equal(sender, "alice");
    assert_int_equal(relay_queue_live(q), 1); /* 1 had only a left */
    assert_int_equal(relay_queue_drop(q, 1, "a", NULL), RK_ERR_NOT_FOUND);
    assert_int_equal(relay_queue_drop(q, 3, "a", NULL), RK_OK);
    assert_int_equal(relay_queue_live(q), 0);
    assert_int_equal(relay_queue_pending(q, "a"), 0);
    assert_int_equal(relay_queue_held(q, NULL), 0);
    relay_queue_destroy(&q);
}

/* Undeliverable receipts (two sharing their record's index) survive a
 * snapshot with their status. */
static void
test_snapshot_undeliverable_receipts(void **state) {
    relay_queue_t *q = relay_queue_new(), *q2 = relay_queue_new();
    relay_receipt_t r = s_receipt(5, "x", 0);
    fetch_t f;
    rk_wbuf_t b;
    const relay_receipt_t *rs;
    size_t n = 0;
    (void)state;
    memset(&f, 0, sizeof f);
    r.status = RELAY_RECEIPT_REVOKED;
    assert_int_equal(relay_queue_add_receipt(q, "alice", &r), RK_OK);
    snprintf(r.recipient, sizeof r.recipient, "y");
    r.status = RELAY_RECEIPT_REMOVED;
    assert_int_equal(relay_queue_add_receipt(q, "alice", &r), RK_OK);
    s_save(q, &b);
    assert_int_equal(s_restore(q2, b.p, b.len, &f, NULL), RK_OK);
    rs = relay_queue_receipts(q2, "alice", 0, &n);
    assert_int_equal(n, 2);
    assert_int_equal(rs[0].status, RELAY_RECEIPT_REVOKED);
    assert_string_equal(rs[0].recipient, "x");
    assert_int_equal(rs[1].status, RELAY_RECEIPT_REMOVED);
    assert_int_equal(rs[1].index, 5);
    rk_wbuf_free(&b);
    relay_queue_destroy(&q2);
    relay_queue_destroy(&q);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_order),
        cmocka_unit_test(test_copies_sender_and_envelope),
        cmocka_unit_test(test_credit),
        cmocka_unit_test(test_requeue),
        cmocka_unit_test(test_confirm_codes),
        cmocka_unit_test(test_all_confirmed),
        cmocka_unit_test(test_confirmed_not_held),
        cmocka_unit_test(test_same_msg_id),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_drop_gone),
        cmocka_unit_test(test_snapshot_undeliverable_receipts),
        cmocka_unit_test(test_receipts),
        cmocka_unit_test(test_scale),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_snapshot_empty),
        cmocka_unit_test(test_snapshot_truncated),
        cmocka_unit_test(test_snapshot_counts_lie),
        cmocka_unit_test(test_snapshot_bad_fields),
        cmocka_unit_test(test_snapshot_fetch_fails),
        cmocka_unit_test(test_snapshot_garbage),
        cmocka_unit_test(test_resend_due),
        cmocka_unit_test(test_unsend),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

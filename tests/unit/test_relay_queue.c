/* Unit tests for relay/relay_queue: per-recipient log order, the credit
 * window, requeue, confirm codes, dropping confirmed and expired messages,
 * receipts, and a queue of 200 recipients and 10,000 messages. The .c is
 * included to count the messages the queue still holds. */
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
    n = relay_queue_next(q, node, max, d);
    for (size_t i = 0; i < n; i++)
        idx[i] = d[i].index;
    return n;
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

    assert_int_equal(relay_queue_next(q, "b", 8, d), 3);
    assert_int_equal(d[0].index, 10);
    assert_int_equal(d[1].index, 11);
    assert_int_equal(d[2].index, 13);
    assert_int_equal(d[1].envelope_len, 6);
    assert_memory_equal(d[1].envelope, "env-11", 6);
    assert_int_equal(relay_queue_next(q, "nobody", 8, d), 0);

    /* The envelope is a copy: the caller's buffer may go away. */
    s_mid(id, 20);
    assert_int_equal(
        relay_queue_accept(q, 20, id, "s", a, 1, 0, env, sizeof env), RK_OK);
    memset(env, 'X', sizeof env);
    assert_int_equal(relay_queue_next(q, "a", 8, d), 1);
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
    r.expired = expired;
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
    assert_int_equal(rs[2].expired, 1);
    assert_int_equal(rs[2].time_ms, 1009);
    s_mid(id, 90);
    assert_memory_equal(rs[2].msg_id, id, 16);

    /* After 7: 9 and 11; 5 and 7 are dropped for good. */
    rs = relay_queue_receipts(q, "alice", 7, &n);
    assert_int_equal(n, 2);
    assert_int_equal(rs[0].index, 9);
    assert_int_equal(rs[1].index, 11);
    rs = relay_queue_receipts(q, "alice", 0, &n);
    assert_int_equal(n, 2);
    assert_int_equal(rs[0].index, 9);
    /* An index between receipts. */
    rs = relay_queue_receipts(q, "alice", 10, &n);
    assert_int_equal(n, 1);
    assert_int_equal(rs[0].index, 11);
    rs = relay_queue_receipts(q, "alice", 11, &n);
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
    rs = relay_queue_receipts(q, "alice", 4099, &n);
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

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_order),
        cmocka_unit_test(test_credit),
        cmocka_unit_test(test_requeue),
        cmocka_unit_test(test_confirm_codes),
        cmocka_unit_test(test_all_confirmed),
        cmocka_unit_test(test_confirmed_not_held),
        cmocka_unit_test(test_same_msg_id),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_receipts),
        cmocka_unit_test(test_scale),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

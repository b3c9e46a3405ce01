/* Unit tests for proto/replay: stale, future-dated and replayed envelopes
 * are refused with distinct errors; the set forgets only what has expired
 * and refuses, never forgets early, when full; the state snapshot (save,
 * restore, malformed input) and the table's growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Included to reach the table (its size, s_bucket) for the growth test;
 * the test then does not link rk_proto's replay.o. */
#include "../../proto/replay.c"

#define WINDOW (10 * 60 * 1000u)
#define SKEW (60 * 1000u)
#define NOW 1795000000000ull

static void
id_of(uint8_t id[16], unsigned n) {
    memset(id, 0, 16);
    memcpy(id, &n, sizeof n);
}

static void
test_fresh_then_replay(void **state) {
    replay_t *r = replay_new(WINDOW, SKEW, 100);
    uint8_t id[16];
    (void)state;
    id_of(id, 1);
    assert_int_equal(replay_check(r, "jp.nisc", id, NOW, NOW), 0);
    assert_int_equal(replay_check(r, "jp.nisc", id, NOW, NOW + 5),
                     RK_ERR_REPLAY);
    /* The same id from another sender is another message. */
    assert_int_equal(replay_check(r, "us.cisa", id, NOW, NOW), 0);
    assert_int_equal(replay_size(r), 2);
    replay_destroy(&r);
    assert_null(r);
    replay_destroy(&r);
}

static void
test_stale_and_future_are_distinct(void **state) {
    replay_t *r = replay_new(WINDOW, SKEW, 100);
    uint8_t id[16];
    (void)state;
    id_of(id, 2);
    assert_int_equal(replay_check(r, "jp.nisc", id, NOW - WINDOW - 1, NOW),
                     RK_ERR_STALE);
    assert_int_equal(replay_check(r, "jp.nisc", id, NOW + SKEW + 1, NOW),
                     RK_ERR_FUTURE);
    /* Both edges are inside. */
    assert_int_equal(replay_check(r, "jp.nisc", id, NOW - WINDOW, NOW), 0);
    id_of(id, 3);
    assert_int_equal(replay_check(r, "jp.nisc", id, NOW + SKEW, NOW), 0);
    /* A refused envelope was not remembered. */
    assert_int_equal(replay_size(r), 2);
    replay_destroy(&r);
}

static void
test_full_set_refuses_until_entries_expire(void **state) {
    replay_t *r = replay_new(WINDOW, SKEW, 3);
    uint8_t id[16];
    (void)state;
    for (unsigned i = 0; i < 3; i++) {
        id_of(id, 10 + i);
        assert_int_equal(replay_check(r, "jp.nisc", id, NOW, NOW), 0);
    }
    id_of(id, 20);
    assert_int_equal(replay_check(r, "jp.nisc", id, NOW, NOW), RK_ERR_FULL);
    /* Once the window has passed, the old entries can go. */
    assert_int_equal(
        replay_check(r, "jp.nisc", id, NOW + WINDOW + 1, NOW + WINDOW + 1), 0);
    assert_int_equal(replay_size(r), 1);
    /* An old id replayed now is stale, not accepted. */
    id_of(id, 10);
    assert_int_equal(replay_check(r, "jp.nisc", id, NOW, NOW + WINDOW + 1),
                     RK_ERR_STALE);
    replay_destroy(&r);
}

static void
test_remember_rebuilds_the_set(void **state) {
    replay_t *r = replay_new(WINDOW, SKEW, 100);
    uint8_t id[16];
    (void)state;
    id_of(id, 7);
    assert_int_equal(replay_remember(r, "sg.csa", id, NOW), 0);
    assert_int_equal(replay_check(r, "sg.csa", id, NOW, NOW), RK_ERR_REPLAY);
    assert_null(replay_new(0, SKEW, 10));
    assert_null(replay_new(WINDOW, SKEW, 0));
    replay_destroy(&r);
}

/* ---- the state snapshot ----------------------------------------------- */

static const char *const s_senders[] = {"jp.nisc", "us.cisa", "sg.csa",
                                        "a-node-id-of-exactly-63-bytes-"
                                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};

/* Restores p[0, len) into r; *left (may be NULL) gets the unread bytes. */
static int
s_restore(replay_t *r, const uint8_t *p, size_t len, size_t *left) {
    rk_rbuf_t b;
    int rc;
    memset(&b, 0, sizeof b);
    b.p = p;
    b.len = len;
    rc = replay_restore(r, &b);
    if (left)
        *left = rk_rbuf_left(&b);
    return rc;
}

/* A set restored from a snapshot refuses what the saved one had seen as a
 * replay, and accepts new messages. */
static void
test_save_restore(void **state) {
    replay_t *r = replay_new(WINDOW, SKEW, 100),
             *r2 = replay_new(WINDOW, SKEW, 100);
    rk_wbuf_t b;
    uint8_t id[16];
    size_t left = 99;
    (void)state;
    assert_int_equal(strlen(s_senders[3]), 63);
    for (unsigned i = 0; i < 40; i++) {
        id_of(id, 100 + i);
        assert_int_equal(replay_check(r, s_senders[i % 4], id, NOW - i, NOW),
                         0);
    }
    memset(&b, 0, sizeof b);
    replay_save(r, &b);
    assert_false(b.failed);
    /* count, then per entry: length byte, sender, msg id, created. */
    assert_int_equal(b.len, 8 + 10 * (1 + 7 + 24) * 2 + 10 * (1 + 6 + 24) +
                                10 * (1 + 63 + 24));
    assert_int_equal(s_restore(r2, b.p, b.len, &left), 0);
    assert_int_equal(left, 0);
    assert_int_equal(replay_size(r2), 40);
    for (unsigned i = 0; i < 40; i++) {
        id_of(id, 100 + i);
        assert_int_equal(replay_check(r2, s_senders[i % 4], id, NOW, NOW + 1),
                         RK_ERR_REPLAY);
        /* The same msg id from another sender is another message. */
        assert_int_equal(
            replay_check(r2, s_senders[(i + 1) % 4], id, NOW, NOW + 1), 0);
    }
    id_of(id, 999);
    assert_int_equal(replay_check(r2, "jp.nisc", id, NOW, NOW + 1), 0);
    assert_int_equal(replay_size(r2), 81);
    /* Restoring the same entries again adds nothing. */
    assert_int_equal(s_restore(r2, b.p, b.len, NULL), 0);
    assert_int_equal(replay_size(r2), 81);
    rk_wbuf_free(&b);

    /* An empty set: just the count. */
    replay_destroy(&r);
    r = replay_new(WINDOW, SKEW, 100);
    memset(&b, 0, sizeof b);
    replay_save(r, &b);
    assert_int_equal(b.len, 8);
    assert_int_equal(s_restore(r, b.p, b.len, &left), 0);
    assert_int_equal(replay_size(r), 0);
    rk_wbuf_free(&b);
    replay_destroy(&r2);
    replay_destroy(&r);
}

/* Every proper prefix of a snapshot, and bytes that are not one, are
 * RK_ERR_MALFORMED (never a crash; ASan checks the leaks). */
static void
test_restore_malformed(void **state) {
    replay_t *r = replay_new(WINDOW, SKEW, 100);
    rk_wbuf_t b;
    uint8_t id[16], junk[256];
    char longname[80];
    (void)state;
    for (unsigned i = 0; i < 5; i++) {
        id_of(id, i);
        assert_int_equal(replay_check(r, s_senders[i % 4], id, NOW, NOW), 0);
    }
    memset(&b, 0, sizeof b);
    replay_save(r, &b);
    for (size_t len = 0; len < b.len; len++) {
        replay_t *r2 = replay_new(WINDOW, SKEW, 100);
        if (s_restore(r2, b.p, len, NULL) != RK_ERR_MALFORMED)
            fail_msg("a snapshot cut to %zu of %zu bytes was not refused as "
                     "malformed",
                     len, b.len);
        replay_destroy(&r2);
    }
    rk_wbuf_free(&b);
    replay_destroy(&r);

    r = replay_new(WINDOW, SKEW, 100);
    /* A count larger than the bytes. */
    memset(&b, 0, sizeof b);
    rk_wbuf_u64(&b, UINT64_MAX);
    rk_wbuf_str(&b, "jp.nisc");
    rk_wbuf_put(&b, id, 16);
    rk_wbuf_u64(&b, NOW);
    assert_int_equal(s_restore(r, b.p, b.len, NULL), RK_ERR_MALFORMED);
    rk_wbuf_free(&b);
    memset(&b, 0, sizeof b);
    rk_wbuf_u64(&b, 2);
    rk_wbuf_str(&b, "jp.nisc");
    rk_wbuf_put(&b, id, 16);
    rk_wbuf_u64(&b, NOW);
    assert_int_equal(s_restore(r, b.p, b.len, NULL), RK_ERR_MALFORMED);
    rk_wbuf_free(&b);
    /* A sender longer than a node id can be. */
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    memset(&b, 0, sizeof b);
    rk_wbuf_u64(&b, 1);
    rk_wbuf_str(&b, longname);
    rk_wbuf_put(&b, id, 16);
    rk_wbuf_u64(&b, NOW);
    assert_int_equal(s_restore(r, b.p, b.len, NULL), RK_ERR_MALFORMED);
    rk_wbuf_free(&b);
    /* A sender with a NUL inside. */
    memset(&b, 0, sizeof b);
    rk_wbuf_u64(&b, 1);
    rk_wbuf_u8(&b, 7);
    rk_wbuf_put(&b, "jp\0nisc", 7);
    rk_wbuf_put(&b, id, 16);
    rk_wbuf_u64(&b, NOW);
    assert_int_equal(s_restore(r, b.p, b.len, NULL), RK_ERR_MALFORMED);
    rk_wbuf_free(&b);
    /* Random bytes with a first count no buffer can hold. */
    for (size_t len = 1; len <= sizeof junk; len *= 2) {
        randombytes_buf(junk, len);
        junk[0] |= 0x80;
        assert_int_equal(s_restore(r, junk, len, NULL), RK_ERR_MALFORMED);
    }
    replay_destroy(&r);
}

/* A restored set bigger than the set's capacity is refused as full, not
 * trimmed. */
static void
test_restore_full(void **state) {
    replay_t *r = replay_new(WINDOW, SKEW, 10),
             *r2 = replay_new(WINDOW, SKEW, 5);
    rk_wbuf_t b;
    uint8_t id[16];
    (void)state;
    for (unsigned i = 0; i < 10; i++) {
        id_of(id, i);
        assert_int_equal(replay_check(r, "jp.nisc", id, NOW, NOW), 0);
    }
    memset(&b, 0, sizeof b);
    replay_save(r, &b);
    assert_int_equal(s_restore(r2, b.p, b.len, NULL), RK_ERR_FULL);
    rk_wbuf_free(&b);
    replay_destroy(&r2);
    replay_destroy(&r);
}

#define S_MANY 100000

/* 100,000 entries with the relay's capacity (a million): every one is
 * still a replay after a save and a restore. */
static void
test_many_entries(void **state) {
    replay_t *r = replay_new(WINDOW, SKEW, 1000000);
    replay_t *r2 = replay_new(WINDOW, SKEW, 1000000);
    rk_wbuf_t b;
    uint8_t id[16];
    (void)state;
    for (unsigned i = 0; i < S_MANY; i++) {
        id_of(id, i);
        assert_int_equal(replay_remember(r, s_senders[i % 3], id, NOW), 0);
    }
    memset(&b, 0, sizeof b);
    replay_save(r, &b);
    assert_false(b.failed);
    assert_int_equal(s_restore(r2, b.p, b.len, NULL), 0);
    assert_int_equal(replay_size(r2), S_MANY);
    for (unsigned i = 0; i < S_MANY; i++) {
        id_of(id, i);
        if (replay_check(r2, s_senders[i % 3], id, NOW, NOW) != RK_ERR_REPLAY)
            fail_msg("entry %u lost in the restore", i);
    }
    rk_wbuf_free(&b);
    replay_destroy(&r2);
    replay_destroy(&r);
}

/* The table grows (s_grow): a set that starts with 1,024 buckets and takes
 * 100,000 entries ends with chains of at most a few entries on average,
 * and every entry is still found, before and after a sweep. */
static void
test_table_grows(void **state) {
    replay_t *r = replay_new(WINDOW, SKEW, 200000);
    uint8_t id[16];
    (void)state;
    /* replay_new sizes the table for max_entries; start it small, as a
     * set built before growth existed did, so that inserts must grow it. */
    free(r->buckets);
    r->n_buckets = 1024;
    r->buckets = calloc(r->n_buckets, sizeof *r->buckets);
    assert_non_null(r->buckets);
    for (unsigned i = 0; i < S_MANY; i++) {
        id_of(id, i);
        assert_int_equal(
            replay_check(r, s_senders[i % 3], id, NOW + i / 1000, NOW), 0);
    }
    assert_int_equal(replay_size(r), S_MANY);
    assert_true(r->n_buckets >= S_MANY / 2);
    assert_true((r->n_buckets & (r->n_buckets - 1)) == 0);
    for (unsigned i = 0; i < S_MANY; i++) {
        id_of(id, i);
        if (replay_check(r, s_senders[i % 3], id, NOW, NOW) != RK_ERR_REPLAY)
            fail_msg("entry %u lost when the table grew", i);
        if (replay_check(r, s_senders[(i + 1) % 3], id, NOW, NOW) != 0)
            fail_msg("entry %u found under another sender", i);
    }
    /* Every entry is in the bucket its hash names. */
    {
        size_t seen = 0;
        for (size_t k = 0; k < r->n_buckets; k++)
            for (entry_t *e = r->buckets[k]; e; e = e->next) {
                assert_int_equal(s_bucket(r, e->sender, e->msg_id), k);
                seen++;
            }
        assert_int_equal(seen, replay_size(r));
    }
    /* Past the window all of them go at the next sweep. */
    id_of(id, S_MANY + 1);
    assert_int_equal(replay_check(r, "jp.nisc", id, NOW + 2 * WINDOW + 200,
                                  NOW + 2 * WINDOW + 200),
                     0);
    assert_int_equal(replay_size(r), 1);
    replay_destroy(&r);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_then_replay),
        cmocka_unit_test(test_stale_and_future_are_distinct),
        cmocka_unit_test(test_full_set_refuses_until_entries_expire),
        cmocka_unit_test(test_remember_rebuilds_the_set),
        cmocka_unit_test(test_save_restore),
        cmocka_unit_test(test_restore_malformed),
        cmocka_unit_test(test_restore_full),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_table_grows),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

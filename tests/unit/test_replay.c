/* Unit tests for proto/replay: stale, future-dated and replayed envelopes
 * are refused with distinct errors; the set forgets only what has expired
 * and refuses, never forgets early, when full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "replay.h"

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

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_then_replay),
        cmocka_unit_test(test_stale_and_future_are_distinct),
        cmocka_unit_test(test_full_set_refuses_until_entries_expire),
        cmocka_unit_test(test_remember_rebuilds_the_set),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

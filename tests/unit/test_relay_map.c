/* Unit tests for relay/relay_map: put/get/del/each, replacing a value,
 * growth past many doublings, keys that differ only after a zero byte or
 * in length, deleting from inside each, and destroy freeing values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "relay_map.h"

#define S_MANY 100000

static void
test_basic(void **state) {
    relay_map_t *m = relay_map_new();
    int a = 1, b = 2, c = 3;
    (void)state;
    assert_non_null(m);
    assert_int_equal(relay_map_count(m), 0);
    assert_null(relay_map_get(m, "alpha", 5));
    assert_null(relay_map_del(m, "alpha", 5));

    assert_int_equal(relay_map_put(m, "alpha", 5, &a), RK_OK);
    assert_int_equal(relay_map_put(m, "beta", 4, &b), RK_OK);
    assert_int_equal(relay_map_count(m), 2);
    assert_ptr_equal(relay_map_get(m, "alpha", 5), &a);
    assert_ptr_equal(relay_map_get(m, "beta", 4), &b);
    /* A prefix is another key. */
    assert_null(relay_map_get(m, "alph", 4));
    assert_null(relay_map_get(m, "alphab", 6));

    /* Replacing keeps the count and returns the new value. */
    assert_int_equal(relay_map_put(m, "alpha", 5, &c), RK_OK);
    assert_int_equal(relay_map_count(m), 2);
    assert_ptr_equal(relay_map_get(m, "alpha", 5), &c);

    /* The key is copied: the caller's buffer may change. */
    {
        char key[] = "gamma";
        assert_int_equal(relay_map_put(m, key, 5, &a), RK_OK);
        memcpy(key, "XXXXX", 5);
        assert_ptr_equal(relay_map_get(m, "gamma", 5), &a);
        assert_null(relay_map_get(m, key, 5));
    }

    assert_ptr_equal(relay_map_del(m, "alpha", 5), &c);
    assert_null(relay_map_get(m, "alpha", 5));
    assert_null(relay_map_del(m, "alpha", 5));
    assert_int_equal(relay_map_count(m), 2);

    /* The empty key is a key like any other. */
    assert_int_equal(relay_map_put(m, "", 0, &b), RK_OK);
    assert_ptr_equal(relay_map_get(m, "", 0), &b);
    assert_int_equal(relay_map_count(m), 3);
    assert_ptr_equal(relay_map_del(m, "", 0), &b);

    relay_map_destroy(&m, NULL);
    assert_null(m);
    relay_map_destroy(&m, NULL);
    relay_map_destroy(NULL, NULL);
}

static void
test_zero_bytes(void **state) {
    relay_map_t *m = relay_map_new();
    static const uint8_t k1[] = {'a', 0, 'b'}, k2[] = {'a', 0, 'c'},
                         k3[] = {'a'}, k4[] = {'a', 0}, k5[] = {0},
                         k6[] = {0, 0};
    int v[6];
    (void)state;
    assert_int_equal(relay_map_put(m, k1, sizeof k1, &v[0]), RK_OK);
    assert_int_equal(relay_map_put(m, k2, sizeof k2, &v[1]), RK_OK);
    assert_int_equal(relay_map_put(m, k3, sizeof k3, &v[2]), RK_OK);
    assert_int_equal(relay_map_put(m, k4, sizeof k4, &v[3]), RK_OK);
    assert_int_equal(relay_map_put(m, k5, sizeof k5, &v[4]), RK_OK);
    assert_int_equal(relay_map_put(m, k6, sizeof k6, &v[5]), RK_OK);
    assert_int_equal(relay_map_count(m), 6);
    assert_ptr_equal(relay_map_get(m, k1, sizeof k1), &v[0]);
    assert_ptr_equal(relay_map_get(m, k2, sizeof k2), &v[1]);
    assert_ptr_equal(relay_map_get(m, k3, sizeof k3), &v[2]);
    assert_ptr_equal(relay_map_get(m, k4, sizeof k4), &v[3]);
    assert_ptr_equal(relay_map_get(m, k5, sizeof k5), &v[4]);
    assert_ptr_equal(relay_map_get(m, k6, sizeof k6), &v[5]);
    assert_ptr_equal(relay_map_del(m, k1, sizeof k1), &v[0]);
    assert_null(relay_map_get(m, k1, sizeof k1));
    assert_ptr_equal(relay_map_get(m, k2, sizeof k2), &v[1]);
    assert_ptr_equal(relay_map_del(m, k4, sizeof k4), &v[3]);
    assert_ptr_equal(relay_map_get(m, k3, sizeof k3), &v[2]);
    assert_int_equal(relay_map_count(m), 4);
    relay_map_destroy(&m, NULL);
}

/* 16-byte binary keys, like msg ids, with zero bytes inside. */
static void
s_key(uint8_t k[16], uint32_t i) {
    memset(k, 0, 16);
    memcpy(k + 4, &i, sizeof i);
}

static void
test_growth(void **state) {
    relay_map_t *m = relay_map_new();
    static uint32_t vals[S_MANY];
    uint8_t k[16];
    (void)state;
    for (uint32_t i = 0; i < S_MANY; i++) {
        vals[i] = i;
        s_key(k, i);
        assert_int_equal(relay_map_put(m, k, 16, &vals[i]), RK_OK);
    }
    assert_int_equal(relay_map_count(m), S_MANY);
    for (uint32_t i = 0; i < S_MANY; i++) {
        uint32_t *v;
        s_key(k, i);
        v = relay_map_get(m, k, 16);
        assert_non_null(v);
        assert_int_equal(*v, i);
    }
    s_key(k, S_MANY);
    assert_null(relay_map_get(m, k, 16));
    /* Delete the odd ones; the even ones stay reachable. */
    for (uint32_t i = 1; i < S_MANY; i += 2) {
        s_key(k, i);
        assert_ptr_equal(relay_map_del(m, k, 16), &vals[i]);
    }
    assert_int_equal(relay_map_count(m), S_MANY / 2);
    for (uint32_t i = 0; i < S_MANY; i++) {
        s_key(k, i);
        if (i % 2)
            assert_null(relay_map_get(m, k, 16));
        else
            assert_ptr_equal(relay_map_get(m, k, 16), &vals[i]);
    }
    relay_map_destroy(&m, NULL);
}

typedef struct {
    relay_map_t *m;
    size_t seen;
    uint64_t sum;
    uint8_t *visited;
} walk_t;

static void
s_visit_del(void *value, void *arg) {
    walk_t *w = arg;
    uint32_t i = *(uint32_t *)value;
    uint8_t k[16];
    w->seen++;
    w->sum += i;
    w->visited[i]++;
    /* Delete every key divisible by 3: it is the current one. */
    if (i % 3 == 0) {
        s_key(k, i);
        assert_ptr_equal(relay_map_del(w->m, k, 16), value);
    }
}

static void
test_each_delete(void **state) {
    relay_map_t *m = relay_map_new();
    static uint32_t vals[10000];
    static uint8_t visited[10000];
    walk_t w = {m, 0, 0, visited};
    uint8_t k[16];
    size_t left = 0;
    (void)state;
    for (uint32_t i = 0; i < 10000; i++) {
        vals[i] = i;
        s_key(k, i);
        assert_int_equal(relay_map_put(m, k, 16, &vals[i]), RK_OK);
    }
    relay_map_each(m, s_visit_del, &w);
    /* Each value exactly once, even the deleted ones. */
    assert_int_equal(w.seen, 10000);
    assert_int_equal(w.sum, (uint64_t)9999 * 10000 / 2);
    for (uint32_t i = 0; i < 10000; i++)
        assert_int_equal(visited[i], 1);
    for (uint32_t i = 0; i < 10000; i++)
        left += i % 3 != 0;
    assert_int_equal(relay_map_count(m), left);
    memset(visited, 0, sizeof visited);
    w.seen = 0;
    w.sum = 0;
    relay_map_each(m, s_visit_del, &w);
    assert_int_equal(w.seen, left);
    for (uint32_t i = 0; i < 10000; i++)
        assert_int_equal(visited[i], i % 3 != 0);
    relay_map_destroy(&m, NULL);

    /* each on an empty map calls nothing. */
    m = relay_map_new();
    w.m = m;
    w.seen = 0;
    relay_map_each(m, s_visit_del, &w);
    assert_int_equal(w.seen, 0);
    relay_map_destroy(&m, NULL);
}

static int g_freed;

static void
s_free_count(void *p) {
    g_freed++;
    free(p);
}

static void
test_destroy_frees(void **state) {
    relay_map_t *m = relay_map_new();
    (void)state;
    g_freed = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        uint8_t k[16];
        uint32_t *v = malloc(sizeof *v);
        assert_non_null(v);
        *v = i;
        s_key(k, i);
        assert_int_equal(relay_map_put(m, k, 16, v), RK_OK);
    }
    relay_map_destroy(&m, s_free_count);
    assert_int_equal(g_freed, 1000);
    assert_null(m);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_zero_bytes),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_each_delete),
        cmocka_unit_test(test_destroy_frees),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

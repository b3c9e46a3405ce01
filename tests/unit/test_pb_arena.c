/* Unit tests for proto/pb_arena: a protobuf message unpacked through the
 * arena reads back the same, lives in the block when it fits, spills to
 * malloc (and is freed through free_unpacked) when it does not, and a
 * failed decode of bad bytes is not taken for a failed allocation. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "pb_arena.h"
#include "renraku.pb-c.h"

/* A packed Frame carrying a submit of n bytes of 0x42. */
static uint8_t *
packed_submit(size_t n, size_t *len) {
    Renraku__Frame fr = RENRAKU__FRAME__INIT;
    Renraku__Submit sub = RENRAKU__SUBMIT__INIT;
    uint8_t *env = malloc(n), *out;
    assert_non_null(env);
    memset(env, 0x42, n);
    sub.envelope.data = env;
    sub.envelope.len = n;
    fr.body_case = RENRAKU__FRAME__BODY_SUBMIT;
    fr.submit = &sub;
    *len = renraku__frame__get_packed_size(&fr);
    out = malloc(*len);
    assert_non_null(out);
    renraku__frame__pack(&fr, out);
    free(env);
    return out;
}

static void
assert_submit(const Renraku__Frame *f, size_t n) {
    assert_non_null(f);
    assert_int_equal(f->body_case, RENRAKU__FRAME__BODY_SUBMIT);
    assert_int_equal(f->submit->envelope.len, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(f->submit->envelope.data[i], 0x42);
}

static bool
inside(const pb_arena_t *a, const void *p) {
    return (const uint8_t *)p >= a->base &&
           (const uint8_t *)p < a->base + a->cap;
}

/* Room enough: the frame, its body and its bytes all come from the
 * block, aligned, and nothing needs freeing but the block. */
static void
test_fits_in_block(void **state) {
    size_t len;
    uint8_t *buf = packed_submit(1200, &len);
    size_t cap = len + 512;
    uint8_t *block = malloc(cap);
    pb_arena_t a;
    Renraku__Frame *f;
    (void)state;
    assert_non_null(block);
    pb_arena_init(&a, block, cap);
    f = renraku__frame__unpack(&a.pb, len, buf);
    assert_submit(f, 1200);
    assert_false(pb_arena_spilled(&a));
    assert_false(a.nomem);
    assert_true(inside(&a, f));
    assert_true(inside(&a, f->submit));
    assert_true(inside(&a, f->submit->envelope.data));
    assert_int_equal((uintptr_t)f % _Alignof(max_align_t), 0);
    assert_int_equal((uintptr_t)f->submit % _Alignof(max_align_t), 0);
    assert_true(a.used <= a.cap);
    pb_arena_done(&a);
    free(block);
    free(buf);
}

/* Too small a block: what does not fit is malloc'd, the message reads
 * the same, and free_unpacked through the arena gives back exactly the
 * spilled parts (ASan's leak check sees the rest). */
static void
test_spills_to_malloc(void **state) {
    size_t len;
    uint8_t *buf = packed_submit(4000, &len);
    uint8_t block[256];
    pb_arena_t a;
    Renraku__Frame *f;
    (void)state;
    pb_arena_init(&a, block, sizeof block);
    f = renraku__frame__unpack(&a.pb, len, buf);
    assert_submit(f, 4000);
    assert_true(pb_arena_spilled(&a));
    assert_false(inside(&a, f->submit->envelope.data));
    assert_true(inside(&a, f));
    renraku__frame__free_unpacked(f, &a.pb);
    assert_false(pb_arena_spilled(&a));
    pb_arena_done(&a);
    free(buf);
}

/* No block at all: every allocation is a malloc. */
static void
test_no_block(void **state) {
    size_t len;
    uint8_t *buf = packed_submit(10, &len);
    pb_arena_t a;
    Renraku__Frame *f;
    (void)state;
    pb_arena_init(&a, NULL, 100);
    assert_int_equal(a.cap, 0);
    f = renraku__frame__unpack(&a.pb, len, buf);
    assert_submit(f, 10);
    assert_true(pb_arena_spilled(&a));
    renraku__frame__free_unpacked(f, &a.pb);
    assert_false(pb_arena_spilled(&a));
    pb_arena_done(&a);
    free(buf);
}

/* Truncated bytes: unpack fails, frees what it had through the arena, and
 * the arena does not claim memory ran out. */
static void
test_bad_bytes_are_not_nomem(void **state) {
    size_t len;
    uint8_t *buf = packed_submit(1200, &len);
    uint8_t block[64];
    pb_arena_t a;
    (void)state;
    pb_arena_init(&a, block, sizeof block);
    assert_null(renraku__frame__unpack(&a.pb, len - 1, buf));
    assert_false(a.nomem);
    assert_false(pb_arena_spilled(&a));
    pb_arena_done(&a);
    free(buf);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits_in_block),
        cmocka_unit_test(test_spills_to_malloc),
        cmocka_unit_test(test_no_block),
        cmocka_unit_test(test_bad_bytes_are_not_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

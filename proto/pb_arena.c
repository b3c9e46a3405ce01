/* pb_arena: see pb_arena.h. Under AddressSanitizer the unused block is
 * poisoned and each allocation unpoisoned with a gap after it, so a read
 * past a field still trips ASan as it would with one malloc per field. */
#include "pb_arena.h"

#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define S_REDZONE 16
#define S_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define S_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define S_REDZONE 0
#define S_POISON(p, n) ((void)(p), (void)(n))
#define S_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define S_ALIGN _Alignof(max_align_t)

static void *
s_alloc(void *data, size_t size) {
    pb_arena_t *a = data;
    void *p;

    if (a->base) {
        uintptr_t at = (uintptr_t)(a->base + a->used);
        size_t pad = (S_ALIGN - at % S_ALIGN) % S_ALIGN;
        size_t left = a->cap - a->used, need = size + S_REDZONE;
        if (need >= size && pad <= left && need <= left - pad) {
            p = a->base + a->used + pad;
            a->used += pad + need;
            S_UNPOISON(p, size);
            return p;
        }
    }
    p = malloc(size);
    if (p)
        a->n_heap++;
    else if (size)
        a->nomem = true;
    return p;
}

static void
s_free(void *data, void *p) {
    pb_arena_t *a = data;
    /* Inside the block: given back with the block. */
    if (!p ||
        (a->base && (uint8_t *)p >= a->base && (uint8_t *)p < a->base + a->cap))
        return;
    free(p);
    a->n_heap--;
}

void
pb_arena_init(pb_arena_t *a, void *block, size_t cap) {
    a->pb.alloc = s_alloc;
    a->pb.free = s_free;
    a->pb.allocator_data = a;
    a->base = block;
    a->used = 0;
    a->cap = block ? cap : 0;
    a->n_heap = 0;
    a->nomem = false;
    if (a->base)
        S_POISON(a->base, a->cap);
}

bool
pb_arena_spilled(const pb_arena_t *a) {
    return a->n_heap > 0;
}

void
pb_arena_done(pb_arena_t *a) {
    if (a->base)
        S_UNPOISON(a->base, a->cap);
}

int
pb_pack_out(const ProtobufCMessage *m, size_t n, rk_wbuf_t *to, uint8_t **out,
            size_t *len) {
    uint8_t *buf;
    if (to) {
        if (rk_wbuf_reserve(to, n) != RK_OK)
            return RK_ERR_NOMEM;
        protobuf_c_message_pack(m, to->p);
        to->len = n;
        return RK_OK;
    }
    buf = malloc(n);
    if (!buf)
        return RK_ERR_NOMEM;
    protobuf_c_message_pack(m, buf);
    *out = buf;
    *len = n;
    return RK_OK;
}

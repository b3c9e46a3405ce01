/* pb_arena: protobuf-c helpers internal to proto/. A bump allocator for
 * one protobuf-c unpack, so that decoding a frame or an envelope costs one
 * block instead of a malloc per field, and dropping it one free instead of
 * a walk over the message (frame.c, envelope.c; one arena per decoded
 * message, used by one thread at a time). And pb_pack_out, the end of
 * every encoder (frame.c, record.c). */
#ifndef PB_ARENA_H
#define PB_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "rk_buf.h"

typedef struct {
    ProtobufCAllocator pb; /* hand &a->pb to unpack and free_unpacked */
    uint8_t *base;         /* the block (borrowed; see pb_arena_init) */
    size_t used, cap;      /* bytes of the block handed out, its size */
    size_t n_heap;         /* allocations that did not fit: malloc'd */
    bool nomem;            /* an allocation failed (unpack then fails) */
} pb_arena_t;

/* Sets a up over block[0 .. cap) (borrowed: it must outlive every use of
 * a and of what was unpacked through it; cap may be 0, then every
 * allocation is a malloc). Allocations are aligned for any type; one that
 * does not fit in what is left is malloc'd instead, and a's free gives
 * those back to free() and ignores pointers into the block. a must not
 * move while a message unpacked through it lives (&a->pb is kept). */
void pb_arena_init(pb_arena_t *a, void *block, size_t cap);

/* True when an allocation that went to malloc is still held: then the
 * message must be freed with its free_unpacked and &a->pb before the block
 * goes; else dropping the block is enough. */
bool pb_arena_spilled(const pb_arena_t *a);

/* Call before the block is freed or reused (under AddressSanitizer it
 * unpoisons the block; otherwise it does nothing). */
void pb_arena_done(pb_arena_t *a);

/* Packs m, whose packed size n the caller has checked against its limit:
 * into to (reserved as needed; what it held goes) or, with to NULL, into
 * a new malloc'd block, *out (the caller's) of *len bytes. Returns 0 or
 * RK_ERR_NOMEM. */
int pb_pack_out(const ProtobufCMessage *m, size_t n, rk_wbuf_t *to,
                uint8_t **out, size_t *len);

#endif

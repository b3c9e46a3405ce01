/* rk_buf: a growable byte buffer to write and a bounded cursor to read
 * simple binary state (big-endian integers, short strings), for files
 * renraku writes for itself, such as the relay's state snapshot. Errors
 * are sticky: check `failed` once at the end. */
#ifndef RK_BUF_H
#define RK_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "rk_error.h"

typedef struct {
    uint8_t *p;
    size_t len, cap;
    int failed; /* an allocation failed: the content is incomplete */
} rk_wbuf_t;

typedef struct {
    const uint8_t *p;
    size_t len, off;
    int failed; /* a read ran past the end or a string was too long */
} rk_rbuf_t;

void rk_wbuf_put(rk_wbuf_t *b, const void *data, size_t n);
void rk_wbuf_u8(rk_wbuf_t *b, uint8_t v);
void rk_wbuf_u64(rk_wbuf_t *b, uint64_t v);
/* A string of at most 255 bytes, length first. */
void rk_wbuf_str(rk_wbuf_t *b, const char *s);
void rk_wbuf_free(rk_wbuf_t *b);
/* Makes room for n more bytes after b->len without writing them (b->p
 * may move), so a caller can fill them in place and add n to b->len.
 * A buffer kept and emptied (len = 0) between uses stops allocating once
 * it is large enough: scratch for one encoding at a time. Returns 0, or
 * RK_ERR_NOMEM (b->failed set, as for any failed write; also when it was
 * already set). */
int rk_wbuf_reserve(rk_wbuf_t *b, size_t n) RK_WUR;

void rk_rbuf_get(rk_rbuf_t *b, void *out, size_t n);
uint8_t rk_rbuf_u8(rk_rbuf_t *b);
uint64_t rk_rbuf_u64(rk_rbuf_t *b);
/* Reads a string written by rk_wbuf_str into out (cap bytes, NUL ended);
 * longer than cap - 1 bytes or holding a NUL: failed. */
void rk_rbuf_str(rk_rbuf_t *b, char *out, size_t cap);
/* Bytes left to read. */
size_t rk_rbuf_left(const rk_rbuf_t *b);

#endif

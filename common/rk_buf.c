/* rk_buf: see rk_buf.h. */
#include "rk_buf.h"

#include <stdlib.h>
#include <string.h>

#include "rk_util.h"

int
rk_wbuf_reserve(rk_wbuf_t *b, size_t n) {
    if (b->failed)
        return RK_ERR_NOMEM;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        uint8_t *p;
        if (n > SIZE_MAX / 2 - b->len) {
            b->failed = 1;
            return RK_ERR_NOMEM;
        }
        while (cap - b->len < n)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return RK_ERR_NOMEM;
        }
        b->p = p;
        b->cap = cap;
    }
    return RK_OK;
}

void
rk_wbuf_put(rk_wbuf_t *b, const void *data, size_t n) {
    if (n == 0 || rk_wbuf_reserve(b, n) != RK_OK)
        return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void
rk_wbuf_u8(rk_wbuf_t *b, uint8_t v) {
    rk_wbuf_put(b, &v, 1);
}

void
rk_wbuf_u64(rk_wbuf_t *b, uint64_t v) {
    uint8_t be[8];
    rk_put_be64(be, v);
    rk_wbuf_put(b, be, 8);
}

void
rk_wbuf_str(rk_wbuf_t *b, const char *s) {
    size_t n = strlen(s);
    if (n > 255) {
        b->failed = 1;
        return;
    }
    rk_wbuf_u8(b, (uint8_t)n);
    rk_wbuf_put(b, s, n);
}

void
rk_wbuf_free(rk_wbuf_t *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

void
rk_rbuf_get(rk_rbuf_t *b, void *out, size_t n) {
    if (b->failed || b->len - b->off < n) {
        b->failed = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, b->p + b->off, n);
    b->off += n;
}

uint8_t
rk_rbuf_u8(rk_rbuf_t *b) {
    uint8_t v;
    rk_rbuf_get(b, &v, 1);
    return v;
}

uint64_t
rk_rbuf_u64(rk_rbuf_t *b) {
    uint8_t be[8];
    rk_rbuf_get(b, be, 8);
    return rk_get_be64(be);
}

void
rk_rbuf_str(rk_rbuf_t *b, char *out, size_t cap) {
    size_t n = rk_rbuf_u8(b);
    if (b->failed || n + 1 > cap) {
        b->failed = 1;
        out[0] = 0;
        return;
    }
    rk_rbuf_get(b, out, n);
    out[n] = 0;
    if (!b->failed && memchr(out, 0, n))
        b->failed = 1;
}

size_t
rk_rbuf_left(const rk_rbuf_t *b) {
    return b->failed ? 0 : b->len - b->off;
}

/* merkle: the RFC 6962 tree behind the relay's log. Keeps the hash of every
 * complete subtree, so the root and the proofs of any past size cost
 * O(log n); verification follows RFC 9162 step by step. No I/O. */
#include "merkle.h"

#include <assert.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rk_sha256.h"

#define MERKLE_LEVELS 64 /* level k holds subtrees of 2^k leaves */

/* One level: the hashes of the complete subtrees of 2^k leaves, left to
 * right; there are floor(size / 2^k) of them. */
typedef struct {
    uint8_t *hashes; /* len hashes of MERKLE_HASH_LEN bytes */
    size_t len;      /* hashes in use */
    size_t cap;      /* hashes allocated */
} s_level_t;

struct merkle_tree {
    s_level_t levels[MERKLE_LEVELS]; /* levels[0] holds the leaf hashes */
    uint64_t size;                   /* leaves appended */
};

void
merkle_leaf_hash(const uint8_t *data, size_t len,
                 uint8_t out[MERKLE_HASH_LEN]) {
    static const uint8_t prefix = 0x00;
    const rk_part_t parts[2] = {{&prefix, 1}, {data, len}};

    rk_sha256(out, parts, 2);
}

void
merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN],
                 const uint8_t right[MERKLE_HASH_LEN],
                 uint8_t out[MERKLE_HASH_LEN]) {
    /* One buffer: out may alias an input since both are copied first. */
    uint8_t buf[1 + 2 * MERKLE_HASH_LEN];
    const rk_part_t part = {buf, sizeof buf};

    buf[0] = 0x01;
    memcpy(buf + 1, left, MERKLE_HASH_LEN);
    memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
    rk_sha256(out, &part, 1);
}

void
merkle_empty_root(uint8_t out[MERKLE_HASH_LEN]) {
    rk_sha256(out, NULL, 0);
}

/* ---- verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) ---- */

int
merkle_verify_inclusion(uint64_t index, uint64_t size,
                        const uint8_t leaf_hash[MERKLE_HASH_LEN],
                        const uint8_t *proof, size_t n,
                        const uint8_t root[MERKLE_HASH_LEN]) {
    uint8_t r[MERKLE_HASH_LEN];
    uint64_t fn, sn;

    assert(leaf_hash && root && (proof || n == 0));
    if (index >= size)
        return RK_ERR_INVALID;
    fn = index;
    sn = size - 1;
    memcpy(r, leaf_hash, MERKLE_HASH_LEN);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = proof + i * MERKLE_HASH_LEN;
        /* sn reaches 0 after at most 64 steps, so a long proof costs no
         * more than that before it is refused. */
        if (sn == 0)
            return RK_ERR_INVALID;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(p, r, r);
            /* On the right edge, skip the levels where this node has no
             * sibling. */
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            merkle_node_hash(r, p, r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return RK_ERR_INVALID; /* proof too short for this (index, size) */
    return sodium_memcmp(r, root, MERKLE_HASH_LEN) == 0 ? RK_OK
                                                        : RK_ERR_MISMATCH;
}

int
merkle_verify_consistency(uint64_t size1, uint64_t size2,
                          const uint8_t root1[MERKLE_HASH_LEN],
                          const uint8_t root2[MERKLE_HASH_LEN],
                          const uint8_t *proof, size_t n) {
    uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
    uint64_t fn, sn;
    size_t start;

    assert(root1 && root2 && (proof || n == 0));
    if (size1 > size2 || size1 == 0)
        return RK_ERR_INVALID;
    if (size1 == size2) {
        if (n != 0)
            return RK_ERR_INVALID;
        return sodium_memcmp(root1, root2, MERKLE_HASH_LEN) == 0
                   ? RK_OK
                   : RK_ERR_MISMATCH;
    }
    if (n == 0)
        return RK_ERR_INVALID;
    /* A power-of-two first tree is a subtree of the second: its root is
     * the implicit first element of the path. */
    if ((size1 & (size1 - 1)) == 0) {
        memcpy(fr, root1, MERKLE_HASH_LEN);
        start = 0;
    } else {
        memcpy(fr, proof, MERKLE_HASH_LEN);
        start = 1;
    }
    memcpy(sr, fr, MERKLE_HASH_LEN);
    fn = size1 - 1;
    sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (size_t i = start; i < n; i++) {
        const uint8_t *c = proof + i * MERKLE_HASH_LEN;
        if (sn == 0)
            return RK_ERR_INVALID;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(c, fr, fr);
            merkle_node_hash(c, sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            merkle_node_hash(sr, c, sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return RK_ERR_INVALID;
    if (sodium_memcmp(fr, root1, MERKLE_HASH_LEN) != 0 ||
        sodium_memcmp(sr, root2, MERKLE_HASH_LEN) != 0)
        return RK_ERR_MISMATCH;
    return RK_OK;
}

/* ---- the tree ---- */

merkle_tree_t *
merkle_tree_new(void) {
    return calloc(1, sizeof(merkle_tree_t));
}

void
merkle_tree_destroy(merkle_tree_t **self_p) {
    merkle_tree_t *self;

    if (!self_p || !*self_p)
        return;
    self = *self_p;
    for (int k = 0; k < MERKLE_LEVELS; k++)
        free(self->levels[k].hashes);
    free(self);
    *self_p = NULL;
}

/* Makes room for one more hash on a level, doubling its array. */
static int
s_level_reserve(s_level_t *lv) {
    size_t cap;
    uint8_t *p;

    if (lv->len < lv->cap)
        return RK_OK;
    cap = lv->cap ? lv->cap * 2 : 64;
    if (cap > SIZE_MAX / MERKLE_HASH_LEN)
        return RK_ERR_NOMEM;
    p = realloc(lv->hashes, cap * MERKLE_HASH_LEN);
    if (!p)
        return RK_ERR_NOMEM;
    lv->hashes = p;
    lv->cap = cap;
    return RK_OK;
}

static int
s_ctz64(uint64_t v) {
    assert(v != 0);
    return __builtin_ctzll(v);
}

/* Largest power of two strictly below n (n >= 2): RFC 6962's split. */
static uint64_t
s_split(uint64_t n) {
    assert(n >= 2);
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

int
merkle_tree_append(merkle_tree_t *self,
                   const uint8_t leaf_hash[MERKLE_HASH_LEN]) {
    uint64_t m;
    int top;

    assert(self && leaf_hash);
    if (self->size == UINT64_MAX)
        return RK_ERR_NOMEM; /* unreachable: memory runs out long before */
    m = self->size + 1;
    /* The new leaf completes one subtree on each level k where 2^k
     * divides the new size. Reserve all of them before writing any, so a
     * failed allocation leaves the tree as it was. */
    top = s_ctz64(m);
    for (int k = 0; k <= top; k++)
        if (s_level_reserve(&self->levels[k]) != RK_OK)
            return RK_ERR_NOMEM;
    memcpy(self->levels[0].hashes + self->levels[0].len * MERKLE_HASH_LEN,
           leaf_hash, MERKLE_HASH_LEN);
    self->levels[0].len++;
    for (int k = 1; k <= top; k++) {
        s_level_t *below = &self->levels[k - 1], *lv = &self->levels[k];
        const uint8_t *pair =
            below->hashes + (below->len - 2) * MERKLE_HASH_LEN;
        merkle_node_hash(pair, pair + MERKLE_HASH_LEN,
                         lv->hashes + lv->len * MERKLE_HASH_LEN);
        lv->len++;
    }
    self->size = m;
    return RK_OK;
}

uint64_t
merkle_tree_size(const merkle_tree_t *self) {
    assert(self);
    return self->size;
}

int
merkle_tree_leaf(const merkle_tree_t *self, uint64_t index,
                 uint8_t out[MERKLE_HASH_LEN]) {
    assert(self && out);
    if (index >= self->size)
        return RK_ERR_INVALID;
    memcpy(out, self->levels[0].hashes + index * MERKLE_HASH_LEN,
           MERKLE_HASH_LEN);
    return RK_OK;
}

/* MTH of leaves [lo, lo + cnt), cnt >= 1, all below the current size.
 * In RFC 6962's recursion every subtree starts at a multiple of the
 * smallest power of two >= its size, so it splits into complete subtrees
 * of the sizes of cnt's set bits, left to right, all stored; fold them
 * from the right. */
static void
s_subtree_hash(const merkle_tree_t *self, uint64_t lo, uint64_t cnt,
               uint8_t out[MERKLE_HASH_LEN]) {
    uint64_t rest = cnt;
    bool first = true;

    assert(cnt >= 1 && lo + cnt <= self->size);
    assert(cnt == 1 || (lo & ((s_split(cnt) << 1) - 1)) == 0);
    while (rest) {
        int b = s_ctz64(rest);
        uint64_t off = lo + (rest - ((uint64_t)1 << b)); /* higher bits */
        const s_level_t *lv = &self->levels[b];
        const uint8_t *h = lv->hashes + (size_t)(off >> b) * MERKLE_HASH_LEN;

        assert((off >> b) < lv->len);
        if (first)
            memcpy(out, h, MERKLE_HASH_LEN);
        else
            merkle_node_hash(h, out, out);
        first = false;
        rest &= rest - 1;
    }
}

int
merkle_tree_root(const merkle_tree_t *self, uint64_t size,
                 uint8_t out[MERKLE_HASH_LEN]) {
    assert(self && out);
    if (size > self->size)
        return RK_ERR_INVALID;
    if (size == 0)
        merkle_empty_root(out);
    else
        s_subtree_hash(self, 0, size, out);
    return RK_OK;
}

/* Reverses n hashes in place: the walks below go root to leaf, proofs are
 * listed leaf to root. */
static void
s_reverse(uint8_t *h, size_t n) {
    uint8_t tmp[MERKLE_HASH_LEN];

    for (size_t i = 0, j = n ? n - 1 : 0; i < j; i++, j--) {
        memcpy(tmp, h + i * MERKLE_HASH_LEN, MERKLE_HASH_LEN);
        memcpy(h + i * MERKLE_HASH_LEN, h + j * MERKLE_HASH_LEN,
               MERKLE_HASH_LEN);
        memcpy(h + j * MERKLE_HASH_LEN, tmp, MERKLE_HASH_LEN);
    }
}

int
merkle_tree_inclusion_proof(const merkle_tree_t *self, uint64_t index,
                            uint64_t size, uint8_t *out, size_t *n) {
    uint64_t lo = 0, cnt = size, m = index;
    size_t k = 0;

    assert(self && out && n);
    if (index >= size || size > self->size)
        return RK_ERR_INVALID;
    /* PATH(m, D[lo:lo+cnt]) unrolled: at each split, the other half's
     * hash is one element of the proof. */
    while (cnt > 1) {
        uint64_t half = s_split(cnt);
        assert(k < MERKLE_MAX_PROOF);
        if (m < half) {
            s_subtree_hash(self, lo + half, cnt - half,
                           out + k * MERKLE_HASH_LEN);
            cnt = half;
        } else {
            s_subtree_hash(self, lo, half, out + k * MERKLE_HASH_LEN);
            lo += half;
            m -= half;
            cnt -= half;
        }
        k++;
    }
    s_reverse(out, k);
    *n = k;
    return RK_OK;
}

int
merkle_tree_consistency_proof(const merkle_tree_t *self, uint64_t size1,
                              uint64_t size2, uint8_t *out, size_t *n) {
    uint64_t lo = 0, cnt = size2, m = size1;
    bool whole = true; /* RFC 6962's b: still on the old tree's left edge */
    size_t k = 0;

    assert(self && out && n);
    if (size1 == 0 || size1 > size2 || size2 > self->size)
        return RK_ERR_INVALID;
    /* SUBPROOF(m, D[lo:lo+cnt], b) unrolled. */
    while (m < cnt) {
        uint64_t half = s_split(cnt);
        assert(k < MERKLE_MAX_PROOF);
        if (m <= half) {
            s_subtree_hash(self, lo + half, cnt - half,
                           out + k * MERKLE_HASH_LEN);
            cnt = half;
        } else {
            s_subtree_hash(self, lo, half, out + k * MERKLE_HASH_LEN);
            lo += half;
            m -= half;
            cnt -= half;
            whole = false;
        }
        k++;
    }
    /* The old tree's last subtree, unless the verifier already holds it
     * as root1 (or the sizes are equal and the proof is empty). */
    if (!whole) {
        assert(k < MERKLE_MAX_PROOF);
        s_subtree_hash(self, lo, cnt, out + k * MERKLE_HASH_LEN);
        k++;
    }
    s_reverse(out, k);
    *n = k;
    return RK_OK;
}

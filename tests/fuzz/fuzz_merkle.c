/* fuzz_merkle: the Merkle proof verifiers on arbitrary sizes and proofs.
 * They must never crash, never return an unknown code, and never accept
 * against a root drawn at random here; proofs a tree makes must verify.
 *
 * Input: mode (1 byte), a and b (8 bytes each, big-endian), a hash (32),
 * then proof hashes (32 each; a trailing partial hash is ignored). Short
 * inputs are padded with zeros. mode % 3: 0 inclusion of the hash at
 * index a in a tree of size b, 1 consistency from size a with the hash as
 * root1 to size b, 2 proofs from a 1024-leaf tree for a and b reduced
 * into range, which must verify. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "rk_util.h"

#define HDR (1 + 8 + 8 + MERKLE_HASH_LEN)
#define TREE_LEAVES 1024

static void
s_expect(int rc, int accept_ok) {
    if (rc != RK_OK && rc != RK_ERR_INVALID && rc != RK_ERR_MISMATCH)
        abort();
    if (rc == RK_OK && !accept_ok)
        abort();
}

static void
s_tree_proofs(merkle_tree_t *t, uint64_t a, uint64_t b) {
    uint8_t proof[MERKLE_MAX_PROOF * MERKLE_HASH_LEN];
    uint8_t leaf[MERKLE_HASH_LEN], r1[MERKLE_HASH_LEN], r2[MERKLE_HASH_LEN];
    uint64_t size = 1 + b % TREE_LEAVES, idx = a % size;
    size_t n = 0;

    if (merkle_tree_root(t, size, r2) != RK_OK ||
        merkle_tree_leaf(t, idx, leaf) != RK_OK ||
        merkle_tree_inclusion_proof(t, idx, size, proof, &n) != RK_OK ||
        merkle_verify_inclusion(idx, size, leaf, proof, n, r2) != RK_OK)
        abort();
    idx += 1; /* a consistency proof starts from size 1 or more */
    if (merkle_tree_root(t, idx, r1) != RK_OK ||
        merkle_tree_consistency_proof(t, idx, size, proof, &n) != RK_OK ||
        merkle_verify_consistency(idx, size, r1, r2, proof, n) != RK_OK)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t secret_root[MERKLE_HASH_LEN];
    static merkle_tree_t *tree;
    uint8_t hdr[HDR] = {0};
    const uint8_t *proof = NULL;
    size_t n = 0;
    uint64_t a, b;

    if (!tree) {
        if (sodium_init() < 0)
            abort();
        /* Unknown to the input, so no proof can lead to it. */
        randombytes_buf(secret_root, sizeof secret_root);
        tree = merkle_tree_new();
        if (!tree)
            abort();
        for (uint32_t i = 0; i < TREE_LEAVES; i++) {
            uint8_t d[4], lh[MERKLE_HASH_LEN];
            rk_put_be32(d, i);
            merkle_leaf_hash(d, sizeof d, lh);
            if (merkle_tree_append(tree, lh) != RK_OK)
                abort();
        }
    }
    memcpy(hdr, data, size < HDR ? size : HDR);
    if (size > HDR) {
        proof = data + HDR;
        n = (size - HDR) / MERKLE_HASH_LEN;
    }
    a = rk_get_be64(hdr + 1);
    b = rk_get_be64(hdr + 9);

    switch (hdr[0] % 3) {
    case 0:
        s_expect(merkle_verify_inclusion(a, b, hdr + 17, proof, n, secret_root),
                 0);
        /* against the input's own hash as root: anything but a crash */
        s_expect(merkle_verify_inclusion(a, b, hdr + 17, proof, n, hdr + 17),
                 1);
        break;
    case 1:
        s_expect(
            merkle_verify_consistency(a, b, hdr + 17, secret_root, proof, n),
            0);
        s_expect(
            merkle_verify_consistency(a, b, secret_root, hdr + 17, proof, n),
            1);
        break;
    default:
        s_tree_proofs(tree, a, b);
        break;
    }
    return 0;
}

/* bench_merkle: how fast the relay's Merkle tree grows and answers at a
 * million leaves: appends per second, root, proof and verification costs.
 * Prints figures only; it asserts nothing and is not a test. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "merkle.h"
#include "rk_util.h"

#define LEAVES 1000000u
#define REPS 100000u

static double
s_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
s_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int
main(void) {
    uint8_t *leaves, root[MERKLE_HASH_LEN], r1[MERKLE_HASH_LEN];
    uint8_t proof[MERKLE_MAX_PROOF * MERKLE_HASH_LEN];
    merkle_tree_t *t;
    uint64_t rng = 0x2545f4914f6cdd1du, sink = 0;
    size_t n = 0, total_n = 0;
    struct rusage ru;
    double t0, t1;
    uint8_t d[8];

    if (sodium_init() < 0 || !(leaves = malloc(LEAVES * MERKLE_HASH_LEN)) ||
        !(t = merkle_tree_new()))
        return 1;

    t0 = s_now();
    for (uint32_t i = 0; i < LEAVES; i++) {
        rk_put_be64(d, i);
        merkle_leaf_hash(d, sizeof d, leaves + (size_t)i * MERKLE_HASH_LEN);
    }
    t1 = s_now();
    printf("leaf hashes:        %8.0f ns each\n", (t1 - t0) / LEAVES * 1e9);

    t0 = s_now();
    for (uint32_t i = 0; i < LEAVES; i++)
        if (merkle_tree_append(t, leaves + (size_t)i * MERKLE_HASH_LEN) !=
            RK_OK)
            return 1;
    if (merkle_tree_root(t, LEAVES, root) != RK_OK)
        return 1;
    t1 = s_now();
    printf("1M appends + root:  %8.3f s (%.0f appends/s)\n", t1 - t0,
           LEAVES / (t1 - t0));
    getrusage(RUSAGE_SELF, &ru);
    printf("max RSS:            %8ld MiB (leaf input array 30.5 MiB of "
           "it)\n",
           ru.ru_maxrss / 1024);

    t0 = s_now();
    for (uint32_t i = 0; i < REPS; i++) {
        uint64_t s = 1 + s_rand(&rng) % LEAVES;
        if (merkle_tree_root(t, s, r1) != RK_OK)
            return 1;
        sink += r1[0];
    }
    t1 = s_now();
    printf("root of a past size:%8.0f ns\n", (t1 - t0) / REPS * 1e9);

    t0 = s_now();
    for (uint32_t i = 0; i < REPS; i++) {
        uint64_t idx = s_rand(&rng) % LEAVES;
        if (merkle_tree_inclusion_proof(t, idx, LEAVES, proof, &n) != RK_OK)
            return 1;
        total_n += n;
    }
    t1 = s_now();
    printf("inclusion proof:    %8.0f ns (%.1f hashes)\n",
           (t1 - t0) / REPS * 1e9, (double)total_n / REPS);

    t0 = s_now();
    for (uint32_t i = 0; i < REPS; i++) {
        uint64_t idx = i % LEAVES;
        if (merkle_tree_inclusion_proof(t, idx, LEAVES, proof, &n) != RK_OK ||
            merkle_verify_inclusion(idx, LEAVES, leaves + idx * MERKLE_HASH_LEN,
                                    proof, n, root) != RK_OK)
            return 1;
    }
    t1 = s_now();
    printf("inclusion proof+verify: %4.0f ns\n", (t1 - t0) / REPS * 1e9);

    total_n = 0;
    t0 = s_now();
    for (uint32_t i = 0; i < REPS; i++) {
        uint64_t s1 = 1 + s_rand(&rng) % LEAVES;
        if (merkle_tree_consistency_proof(t, s1, LEAVES, proof, &n) != RK_OK)
            return 1;
        total_n += n;
    }
    t1 = s_now();
    printf("consistency proof:  %8.0f ns (%.1f hashes)\n",
           (t1 - t0) / REPS * 1e9, (double)total_n / REPS);

    t0 = s_now();
    for (uint32_t i = 0; i < REPS; i++) {
        uint64_t s1 = 1 + s_rand(&rng) % LEAVES;
        if (merkle_tree_root(t, s1, r1) != RK_OK ||
            merkle_tree_consistency_proof(t, s1, LEAVES, proof, &n) != RK_OK ||
            merkle_verify_consistency(s1, LEAVES, r1, root, proof, n) != RK_OK)
            return 1;
    }
    t1 = s_now();
    printf("root+consistency proof+verify: %.0f ns\n", (t1 - t0) / REPS * 1e9);

    t0 = s_now();
    for (uint32_t i = 0; i < REPS; i++)
        merkle_node_hash(root, r1, r1);
    t1 = s_now();
    printf("one node hash:      %8.0f ns (libsodium SHA-256, 65 bytes)\n",
           (t1 - t0) / REPS * 1e9);

    merkle_tree_destroy(&t);
    free(leaves);
    return sink == 42 ? 2 : 0; /* keep the roots computed */
}

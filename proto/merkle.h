/* merkle: RFC 6962 / RFC 9162 Merkle tree hashing, an in-memory tree that
 * the relay and the auditor grow one leaf at a time, its proofs, and their
 * verification. No I/O: the log's records live elsewhere, only hashes here.
 */
#ifndef MERKLE_H
#define MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "rk_error.h"

#define MERKLE_HASH_LEN 32 /* SHA-256 */
/* Most hashes in a proof this module makes: a tree below 2^63 leaves has
 * at most 63 levels, and a consistency proof adds one hash. Proof buffers
 * hold this many. The verifiers take any n and refuse a wrong length
 * after at most 64 steps. */
#define MERKLE_MAX_PROOF 64

/* Proofs travel as n hashes of MERKLE_HASH_LEN bytes back to back, the
 * order of RFC 9162 (nearest the leaf first). */

/* Leaf hash: SHA-256(0x00 || data). data may be NULL when len is 0. */
void merkle_leaf_hash(const uint8_t *data, size_t len,
                      uint8_t out[MERKLE_HASH_LEN]);

/* Interior node hash: SHA-256(0x01 || left || right). out may alias
 * either input. */
void merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN],
                      const uint8_t right[MERKLE_HASH_LEN],
                      uint8_t out[MERKLE_HASH_LEN]);

/* Root of the empty tree: SHA-256 of no bytes. */
void merkle_empty_root(uint8_t out[MERKLE_HASH_LEN]);

/* Checks that leaf_hash is leaf number index of the tree of size leaves
 * whose root is root, with the n hashes of proof (RFC 9162 section
 * 2.1.3.2). Every argument is borrowed and may be untrusted; proof may be
 * NULL when n is 0. Returns 0; RK_ERR_INVALID when index >= size or n is
 * not the proof length for (index, size); RK_ERR_MISMATCH when the
 * recomputed root differs from root. */
int merkle_verify_inclusion(uint64_t index, uint64_t size,
                            const uint8_t leaf_hash[MERKLE_HASH_LEN],
                            const uint8_t *proof, size_t n,
                            const uint8_t root[MERKLE_HASH_LEN]) RK_WUR;

/* Checks that the tree of size2 leaves with root root2 extends the tree of
 * size1 leaves with root root1, with the n hashes of proof (RFC 9162
 * section 2.1.4.2). Equal sizes need n == 0 and equal roots. Every
 * argument is borrowed and may be untrusted; proof may be NULL when n is
 * 0. Returns 0; RK_ERR_INVALID when size1 > size2, size1 == 0 (nothing is
 * proved from the empty tree, so it is refused), or n is not the proof
 * length for (size1, size2); RK_ERR_MISMATCH when a recomputed root
 * differs. */
int merkle_verify_consistency(uint64_t size1, uint64_t size2,
                              const uint8_t root1[MERKLE_HASH_LEN],
                              const uint8_t root2[MERKLE_HASH_LEN],
                              const uint8_t *proof, size_t n) RK_WUR;

/* The tree keeps every complete subtree hash, level by level: n leaf
 * hashes, n/2 hashes of pairs, n/4 of quads and so on, 2n hashes in all,
 * so 64 bytes per leaf, in arrays that double when full (at most 128
 * bytes per leaf allocated, less resident). Roots and proofs of any past
 * size read O(log n) of them and hash O(log n) more for the ragged right
 * edge; nothing is rehashed from the leaves. Not thread-safe. */
typedef struct merkle_tree merkle_tree_t;

/* A new empty tree, owned by the caller (merkle_tree_destroy), or NULL
 * when out of memory. */
merkle_tree_t *merkle_tree_new(void);

/* Frees a tree; accepts NULL and sets *self_p to NULL. */
void merkle_tree_destroy(merkle_tree_t **self_p);

/* Appends one leaf hash (copied; see merkle_leaf_hash). Amortized one
 * node hash per call. Returns 0 or RK_ERR_NOMEM, in which case the tree
 * is unchanged. */
int merkle_tree_append(merkle_tree_t *self,
                       const uint8_t leaf_hash[MERKLE_HASH_LEN]) RK_WUR;

/* Number of leaves appended so far. */
uint64_t merkle_tree_size(const merkle_tree_t *self);

/* The leaf hash at index into out. Returns 0 or RK_ERR_INVALID when
 * index >= merkle_tree_size. */
int merkle_tree_leaf(const merkle_tree_t *self, uint64_t index,
                     uint8_t out[MERKLE_HASH_LEN]) RK_WUR;

/* Root of the tree as it was at size leaves (any size up to the current
 * one, 0 included) into out. Returns 0 or RK_ERR_INVALID when size >
 * merkle_tree_size. */
int merkle_tree_root(const merkle_tree_t *self, uint64_t size,
                     uint8_t out[MERKLE_HASH_LEN]) RK_WUR;

/* Inclusion proof of leaf index in the tree at size leaves (RFC 9162
 * section 2.1.3.1). out must hold MERKLE_MAX_PROOF hashes; *n gets how
 * many were written. Returns 0 or RK_ERR_INVALID when index >= size or
 * size > merkle_tree_size. */
int merkle_tree_inclusion_proof(const merkle_tree_t *self, uint64_t index,
                                uint64_t size, uint8_t *out, size_t *n) RK_WUR;

/* Consistency proof from the tree at size1 leaves to the tree at size2
 * (RFC 9162 section 2.1.4.1); empty when the sizes are equal. out must
 * hold MERKLE_MAX_PROOF hashes; *n gets how many were written. Returns 0
 * or RK_ERR_INVALID when size1 == 0, size1 > size2 or size2 >
 * merkle_tree_size. */
int merkle_tree_consistency_proof(const merkle_tree_t *self, uint64_t size1,
                                  uint64_t size2, uint8_t *out,
                                  size_t *n) RK_WUR;

#endif

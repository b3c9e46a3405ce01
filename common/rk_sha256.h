/* rk_sha256: SHA-256 for the hot paths (Merkle leaves and nodes, the
 * envelope body hash) through OpenSSL's libcrypto, whose SHA-NI and AVX2
 * code runs about ten times faster on 1 KiB records than libsodium's
 * portable C on the machines we measured (bench/BENCHMARKS.md). Cold
 * paths (key ids, notes) keep libsodium. Thread safe. */
#ifndef RK_SHA256_H
#define RK_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define RK_SHA256_LEN 32

/* One input part; the hash covers the parts in order, as one message. */
typedef struct {
    const void *data; /* may be NULL when len is 0 */
    size_t len;
} rk_part_t;

/* out = SHA-256(parts[0] || ... || parts[n-1]). out may alias an input.
 * libcrypto fails only when it cannot allocate its digest context; then
 * this prints why and aborts rather than return a wrong hash. */
void rk_sha256(uint8_t out[RK_SHA256_LEN], const rk_part_t *parts, size_t n);

#endif

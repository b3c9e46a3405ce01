/* merkle: RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their
 * verification. No I/O. */
#ifndef MERKLE_H
#define MERKLE_H
#endif

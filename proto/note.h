/* note: c2sp.org/signed-note with Ed25519 keys: sign a text, verify a note
 * against a trusted verifier key, and the vkey text format. Used for relay
 * checkpoints and the signed roster. No I/O. */
#ifndef NOTE_H
#define NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rk_error.h"

#define NOTE_MAX_BYTES (1024u * 1024u) /* whole note, text + signatures */
#define NOTE_MAX_SIGNATURES 100
#define NOTE_NAME_MAX 255 /* bytes of a key name */
#define NOTE_ALG_ED25519 0x01
#define NOTE_SIG_MAX_BYTES (4u + 8192u) /* key id + any algorithm's sig */

/* A trusted Ed25519 verifier: key name, 32-bit key id, public key. */
typedef struct {
    char name[NOTE_NAME_MAX + 1];
    uint32_t key_id;
    uint8_t pk[32];
} note_verifier_t;

/* True when name is a valid key name: non-empty UTF-8 without spaces
 * (Unicode White_Space), '+' or control characters (below U+0020), at most
 * NOTE_NAME_MAX bytes. */
int note_name_valid(const char *name);

/* True when s (len bytes) is valid UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF) and has no control character below U+0020
 * other than '\n'. The character rule of every note, also used by
 * checkpoint.h. */
bool note_chars_valid(const uint8_t *s, size_t len);

/* key id = first 4 bytes (big-endian) of SHA-256(name || 0x0A || 0x01 || pk).
 */
uint32_t note_key_id(const char *name, const uint8_t pk[32]);

/* Formats "name+hex8(key id)+base64(0x01 || pk)". *vkey is malloc'd and the
 * caller's. Returns 0, RK_ERR_INVALID (bad name) or RK_ERR_NOMEM. */
int note_vkey_format(const char *name, const uint8_t pk[32],
                     char **vkey) RK_WUR;

/* Parses a vkey string (no trailing newline). The key id in the text must
 * match the one computed from name and key. Returns 0, RK_ERR_MALFORMED,
 * RK_ERR_VERSION (algorithm other than Ed25519) or RK_ERR_MISMATCH (the
 * key id disagrees). */
int note_vkey_parse(const char *vkey, note_verifier_t *out) RK_WUR;

/* As note_vkey_parse; on an error, why (whylen bytes; may be NULL) says
 * what is wrong, for a person who typed or copied the key: "empty", "no
 * '+': a verifier key is name+hash+key", "the hash (after the first '+')
 * is not 8 hex digits", "the key (after the second '+') is not base64:
 * it has '!'", "key type 0x02, not 0x01 (Ed25519)", "the key is 40
 * characters of base64, not 44 ...", "the hash 0123abcd is not the key id
 * of this name and key ...". It does not repeat vkey. */
int note_vkey_parse_why(const char *vkey, note_verifier_t *out, char *why,
                        size_t whylen) RK_WUR;

/* Bytes of the note note_sign makes of text_len bytes of text signed as
 * name: the text, a blank line and one Ed25519 signature line. Lets a
 * caller check the note against NOTE_MAX_BYTES (or a cap of its own)
 * before it signs. */
size_t note_signed_len(size_t text_len, const char *name);

/* Signs text (text_len bytes: valid UTF-8, non-empty, ending in '\n', no
 * blank line, no control characters but '\n') as key name with the 64-byte
 * Ed25519 secret key sk. *note is malloc'd (text, a blank line, one
 * signature line) and the caller's; *note_len its length (NUL after it not
 * counted). Returns 0, RK_ERR_INVALID (text or name not allowed),
 * RK_ERR_TOO_LARGE or RK_ERR_NOMEM. */
int note_sign(const char *text, size_t text_len, const char *name,
              const uint8_t sk[64], char **note, size_t *note_len) RK_WUR;

/* Verifies an untrusted note against one trusted verifier. The note must be
 * well-formed (size, UTF-8, no control characters but '\n', split at the
 * last "\n\n", every signature line well-formed, at most 100) and carry a
 * valid signature by v; signatures by other keys are ignored. When v has
 * several lines, every one must verify (the Go library checks only the
 * first; we are stricter). A line by v whose signature is not 64 bytes
 * counts as a bad signature. On success
 * *text points into note (borrowed) and *text_len is its length including
 * the final '\n'. Returns 0, RK_ERR_TOO_LARGE, RK_ERR_MALFORMED,
 * RK_ERR_UNKNOWN_KEY (no signature line by v) or RK_ERR_BAD_SIGNATURE
 * (v's signature line does not verify). */
int note_verify(const uint8_t *note, size_t note_len, const note_verifier_t *v,
                const uint8_t **text, size_t *text_len) RK_WUR;

/* Adds a signature by key name (64-byte Ed25519 secret key sk) to an
 * existing note, for cosigning. The note must be well-formed as
 * note_verify requires; its signatures are NOT checked here, so verify it
 * first. *out is malloc'd (the note with one more signature line at the
 * end) and the caller's. Returns 0, RK_ERR_INVALID (bad name),
 * RK_ERR_MALFORMED, RK_ERR_TOO_LARGE (over the size or signature count),
 * RK_ERR_EXISTS (the note already has a line by this name and key id) or
 * RK_ERR_NOMEM. */
int note_add_signature(const uint8_t *note, size_t note_len, const char *name,
                       const uint8_t sk[64], char **out,
                       size_t *out_len) RK_WUR;

#endif

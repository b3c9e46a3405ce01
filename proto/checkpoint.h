/* checkpoint: the c2sp.org/tlog-checkpoint body (origin, tree size, root
 * hash, optional extension lines) to format and parse, and the two calls
 * that sign and open one through note.h. No I/O and no Merkle math (the
 * root is whatever merkle.h computed). */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "note.h"
#include "rk_error.h"

#define CHECKPOINT_HASH_LEN 32
#define CHECKPOINT_ORIGIN_MAX 255   /* bytes of the origin line */
#define CHECKPOINT_EXT_MAX_LINES 8  /* extension lines kept */
#define CHECKPOINT_EXT_LINE_MAX 255 /* bytes of one extension line */
#define CHECKPOINT_MAX_BYTES 4096u  /* whole body; far above the caps */

/* A checkpoint body. Plain storage, no pointers: copy it, keep it on the
 * stack, nothing to free. */
typedef struct {
    char origin[CHECKPOINT_ORIGIN_MAX + 1]; /* NUL-terminated, non-empty */
    uint64_t size;                          /* number of leaves */
    uint8_t root[CHECKPOINT_HASH_LEN];      /* RFC 6962 root at size */
    size_t n_ext;                           /* extension lines in use */
    char ext[CHECKPOINT_EXT_MAX_LINES][CHECKPOINT_EXT_LINE_MAX + 1];
    /* each NUL-terminated, non-empty, without its '\n' */
} checkpoint_t;

/* Formats cp as its note text: origin, size in decimal, base64 root, then
 * the extension lines, each ending in '\n'. *text is malloc'd,
 * NUL-terminated (the NUL not counted in *len) and the caller's. Returns 0,
 * RK_ERR_INVALID (empty origin or extension line, a '\n', a control
 * character or bad UTF-8 in one, n_ext over the cap) or RK_ERR_NOMEM. */
int checkpoint_format(const checkpoint_t *cp, char **text, size_t *len) RK_WUR;

/* Parses an untrusted checkpoint body (the note text, final '\n'
 * included) into *out. Origin: non-empty, at most CHECKPOINT_ORIGIN_MAX
 * bytes, any characters otherwise (the spec forbids assuming a URL). Size:
 * decimal, no sign, no leading zero except "0" itself, fits uint64. Root:
 * canonical base64 of exactly 32 bytes. Extension lines: non-empty, at
 * most CHECKPOINT_EXT_MAX_LINES of at most CHECKPOINT_EXT_LINE_MAX bytes.
 * On failure *why (if not NULL) gets a static sentence naming the problem.
 * Returns 0, RK_ERR_TOO_LARGE (over CHECKPOINT_MAX_BYTES) or
 * RK_ERR_MALFORMED. */
int checkpoint_parse(const uint8_t *text, size_t len, checkpoint_t *out,
                     const char **why) RK_WUR;

/* Formats cp and signs it as key name with the 64-byte Ed25519 secret key
 * sk (note_sign). The spec wants the key name to match the origin; that is
 * the caller's choice. *note is malloc'd and the caller's. Returns 0 or
 * the errors of checkpoint_format and note_sign. */
int checkpoint_sign(const checkpoint_t *cp, const char *name,
                    const uint8_t sk[64], char **note, size_t *note_len) RK_WUR;

/* Verifies an untrusted signed checkpoint with the trusted verifier v
 * (note_verify), then parses its text. When origin is not NULL the
 * checkpoint's origin must equal it, so a checkpoint of another log signed
 * by the same key is refused. *why as for checkpoint_parse (also set for
 * note errors). Returns 0, the errors of note_verify, RK_ERR_MALFORMED
 * (the signed text is not a checkpoint) or RK_ERR_MISMATCH (other
 * origin). *out is written only on success. */
int checkpoint_open(const uint8_t *note, size_t note_len,
                    const note_verifier_t *v, const char *origin,
                    checkpoint_t *out, const char **why) RK_WUR;

#endif

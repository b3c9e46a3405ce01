/* checkpoint: c2sp.org/tlog-checkpoint bodies. Parsing is strict so that
 * one tree head has one spelling: no leading zeros, canonical base64, no
 * empty lines. Signing and verifying are note.c's. */
#include "checkpoint.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rk_util.h"

/* base64 of 32 bytes: 43 characters and one '='. */
#define S_ROOT_B64_LEN 44
/* Decimal digits of UINT64_MAX. */
#define S_SIZE_DIGITS_MAX 20

#define MALFORMED(reason)                                                      \
    do {                                                                       \
        if (why)                                                               \
            *why = (reason);                                                   \
        return RK_ERR_MALFORMED;                                               \
    } while (0)

/* Only the base64 alphabet and '='. rk_unb64 alone is not enough:
 * libsodium 1.0.18 decodes some bytes >= 0x80 as if they were '/'. */
static bool
s_b64_alphabet(const uint8_t *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '='))
            return false;
    }
    return true;
}

/* A line we write: non-empty, at most max bytes, no '\n', good chars. */
static bool
s_line_ok(const char *s, size_t max) {
    size_t len = strnlen(s, max + 1);
    return len > 0 && len <= max && !memchr(s, '\n', len) &&
           note_chars_valid((const uint8_t *)s, len);
}

int
checkpoint_format(const checkpoint_t *cp, char **text, size_t *len) {
    char size_buf[S_SIZE_DIGITS_MAX + 1];
    char *root = NULL, *buf, *p;
    size_t total, n;

    if (!cp || !text || !len || cp->n_ext > CHECKPOINT_EXT_MAX_LINES ||
        !s_line_ok(cp->origin, CHECKPOINT_ORIGIN_MAX))
        return RK_ERR_INVALID;
    for (size_t i = 0; i < cp->n_ext; i++)
        if (!s_line_ok(cp->ext[i], CHECKPOINT_EXT_LINE_MAX))
            return RK_ERR_INVALID;
    snprintf(size_buf, sizeof size_buf, "%" PRIu64, cp->size);
    root = rk_b64(cp->root, CHECKPOINT_HASH_LEN);
    if (!root)
        return RK_ERR_NOMEM;
    total = strlen(cp->origin) + 1 + strlen(size_buf) + 1 + strlen(root) + 1;
    for (size_t i = 0; i < cp->n_ext; i++)
        total += strlen(cp->ext[i]) + 1;
    buf = malloc(total + 1);
    if (!buf) {
        free(root);
        return RK_ERR_NOMEM;
    }
    p = buf;
    n = (size_t)snprintf(p, total + 1, "%s\n%s\n%s\n", cp->origin, size_buf,
                         root);
    p += n;
    for (size_t i = 0; i < cp->n_ext; i++)
        p += snprintf(p, total + 1 - (size_t)(p - buf), "%s\n", cp->ext[i]);
    assert((size_t)(p - buf) == total);
    free(root);
    *text = buf;
    *len = total;
    return RK_OK;
}

/* Decimal tree size: digits only, no leading zero, fits uint64. */
static bool
s_parse_size(const uint8_t *s, size_t len, uint64_t *out) {
    uint64_t v = 0;
    if (len == 0 || len > S_SIZE_DIGITS_MAX || (s[0] == '0' && len > 1))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return false;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

int
checkpoint_parse(const uint8_t *text, size_t len, checkpoint_t *out,
                 const char **why) {
    checkpoint_t cp;
    const uint8_t *line, *nl, *end;
    size_t line_len, got = 0;
    int n_lines = 0;

    if (why)
        *why = NULL;
    assert(out);
    if (len > CHECKPOINT_MAX_BYTES) {
        if (why)
            *why = "checkpoint larger than 4096 bytes";
        return RK_ERR_TOO_LARGE;
    }
    if (!text || len == 0)
        MALFORMED("empty checkpoint");
    if (text[len - 1] != '\n')
        MALFORMED("checkpoint does not end in a newline");
    if (!note_chars_valid(text, len))
        MALFORMED("checkpoint is not UTF-8 or has a control character");
    memset(&cp, 0, sizeof cp);
    end = text + len;
    for (line = text; line < end; line = nl + 1, n_lines++) {
        nl = memchr(line, '\n', (size_t)(end - line));
        line_len = (size_t)(nl - line);
        switch (n_lines) {
        case 0:
            if (line_len == 0)
                MALFORMED("origin line is empty");
            if (line_len > CHECKPOINT_ORIGIN_MAX)
                MALFORMED("origin longer than 255 bytes");
            memcpy(cp.origin, line, line_len);
            break;
        case 1:
            if (line_len > 1 && line[0] == '0')
                MALFORMED("tree size has a leading zero");
            if (!s_parse_size(line, line_len, &cp.size))
                MALFORMED("tree size is not a decimal number that fits in "
                          "64 bits");
            break;
        case 2:
            if (line_len != S_ROOT_B64_LEN || !s_b64_alphabet(line, line_len) ||
                rk_unb64(cp.root, sizeof cp.root, &got, (const char *)line,
                         line_len) != RK_OK ||
                got != CHECKPOINT_HASH_LEN)
                MALFORMED("root hash is not the base64 of 32 bytes");
            break;
        default:
            if (line_len == 0)
                MALFORMED("empty extension line");
            if (cp.n_ext == CHECKPOINT_EXT_MAX_LINES)
                MALFORMED("more than 8 extension lines");
            if (line_len > CHECKPOINT_EXT_LINE_MAX)
                MALFORMED("extension line longer than 255 bytes");
            memcpy(cp.ext[cp.n_ext++], line, line_len);
            break;
        }
    }
    if (n_lines < 3)
        MALFORMED("checkpoint has fewer than three lines (origin, size, "
                  "root)");
    *out = cp;
    return RK_OK;
}

int
checkpoint_sign(const checkpoint_t *cp, const char *name, const uint8_t sk[64],
                char **note, size_t *note_len) {
    char *text = NULL;
    size_t len = 0;
    int rc;

    rc = checkpoint_format(cp, &text, &len);
    if (rc != RK_OK)
        return rc;
    rc = note_sign(text, len, name, sk, note, note_len);
    free(text);
    return rc;
}

int
checkpoint_open(const uint8_t *note, size_t note_len, const note_verifier_t *v,
                const char *origin, checkpoint_t *out, const char **why) {
    checkpoint_t cp;
    const uint8_t *text = NULL;
    size_t text_len = 0;
    int rc;

    if (why)
        *why = NULL;
    rc = note_verify(note, note_len, v, &text, &text_len);
    if (rc != RK_OK) {
        if (why)
            *why = rk_strerror(rc);
        return rc;
    }
    rc = checkpoint_parse(text, text_len, &cp, why);
    if (rc != RK_OK)
        return rc;
    if (origin && strcmp(origin, cp.origin) != 0) {
        if (why)
            *why = "checkpoint is for another origin";
        return RK_ERR_MISMATCH;
    }
    *out = cp;
    return RK_OK;
}

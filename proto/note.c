/* note: c2sp.org/signed-note with Ed25519. Everything signed is the exact
 * text bytes of the note; nothing is re-encoded before verifying. Knows
 * nothing of what the text says (see checkpoint.c for that). */
#include "note.h"

#include <assert.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rk_util.h"

/* "— " : em dash U+2014 in UTF-8, then a space. */
#define S_SIG_PREFIX "\xe2\x80\x94 "
#define S_SIG_PREFIX_LEN 4
/* base64 of key id (4) + Ed25519 signature (64) = 68 bytes. */
#define S_ED25519_B64_LEN 92
/* Longest base64 text of a signature we accept, any algorithm. */
#define S_SIG_B64_MAX ((NOTE_SIG_MAX_BYTES + 2) / 3 * 4)
/* base64 of 0x01 || 32-byte key: 33 bytes, exactly 44 characters. */
#define S_VKEY_B64_LEN 44

/* A note split in its two parts; both point into the note. */
typedef struct {
    const uint8_t *text; /* includes its final '\n' */
    size_t text_len;
    const uint8_t *sigs; /* signature lines, each ending in '\n' */
    size_t sigs_len;
    size_t n_sigs;
} s_note_t;

/* One decoded signature line. */
typedef struct {
    const uint8_t *name; /* points into the note */
    size_t name_len;
    uint32_t key_id;
    const uint8_t *sig; /* points into buf, after the key id */
    size_t sig_len;
    uint8_t buf[NOTE_SIG_MAX_BYTES];
} s_sig_line_t;

/* Unicode White_Space, as Go's unicode.IsSpace sees it. */
static bool
s_is_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
           cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
           cp == 0x3000;
}

/* Only the base64 alphabet and '='. rk_unb64 alone is not enough:
 * libsodium 1.0.18 decodes some bytes >= 0x80 as if they were '/'. */
static bool
s_b64_alphabet(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '='))
            return false;
    }
    return true;
}

bool
note_chars_valid(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = rk_utf8_next(s + i, len - i, &cp);
        if (n == 0 || (cp < 0x20 && cp != '\n'))
            return false;
        i += n;
    }
    return true;
}

/* A key name of any length: non-empty UTF-8, no space, '+' or control. */
static bool
s_name_ok(const uint8_t *s, size_t len) {
    size_t i = 0;
    if (len == 0)
        return false;
    while (i < len) {
        uint32_t cp;
        size_t n = rk_utf8_next(s + i, len - i, &cp);
        if (n == 0 || cp < 0x20 || cp == '+' || s_is_space(cp))
            return false;
        i += n;
    }
    return true;
}

int
note_name_valid(const char *name) {
    size_t len;
    if (!name)
        return 0;
    len = strnlen(name, NOTE_NAME_MAX + 1);
    return len <= NOTE_NAME_MAX && s_name_ok((const uint8_t *)name, len);
}

static uint32_t
s_key_id(const uint8_t *name, size_t name_len, const uint8_t pk[32]) {
    static const uint8_t sep[2] = {'\n', NOTE_ALG_ED25519};
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, name, name_len);
    crypto_hash_sha256_update(&st, sep, sizeof sep);
    crypto_hash_sha256_update(&st, pk, 32);
    crypto_hash_sha256_final(&st, h);
    return rk_get_be32(h);
}

uint32_t
note_key_id(const char *name, const uint8_t pk[32]) {
    assert(name && pk);
    return s_key_id((const uint8_t *)name, strlen(name), pk);
}

int
note_vkey_format(const char *name, const uint8_t pk[32], char **vkey) {
    uint8_t key[33];
    char *b64, *out;
    size_t cap;

    if (!note_name_valid(name) || !pk || !vkey)
        return RK_ERR_INVALID;
    key[0] = NOTE_ALG_ED25519;
    memcpy(key + 1, pk, 32);
    b64 = rk_b64(key, sizeof key);
    if (!b64)
        return RK_ERR_NOMEM;
    cap = strlen(name) + 1 + 8 + 1 + strlen(b64) + 1;
    out = malloc(cap);
    if (!out) {
        free(b64);
        return RK_ERR_NOMEM;
    }
    snprintf(out, cap, "%s+%08x+%s", name, (unsigned)note_key_id(name, pk),
             b64);
    free(b64);
    *vkey = out;
    return RK_OK;
}

static int
s_hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Writes why (may be NULL) and returns rc: each refusal of
 * note_vkey_parse_why in one statement. */
static int s_vkey_refused(int rc, char *why, size_t whylen, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
static int
s_vkey_refused(int rc, char *why, size_t whylen, const char *fmt, ...) {
    va_list ap;
    if (!why || !whylen)
        return rc;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return rc;
}

/* The first character of s (len bytes) outside the base64 alphabet, as
 * the text of a message: 'c' when printable ASCII, else its byte. */
static void
s_bad_b64_char(const char *s, size_t len, char *out, size_t cap) {
    size_t i = 0;
    while (i < len && s_b64_alphabet(s + i, 1))
        i++;
    if (s[i] == '\r') /* i < len: the caller found one */
        snprintf(out, cap, "a carriage return (a CRLF line end?)");
    else if (s[i] == ' ' || s[i] == '\t')
        snprintf(out, cap, "a space");
    else if (s[i] > ' ' && s[i] < 0x7f)
        snprintf(out, cap, "'%c'", s[i]);
    else
        snprintf(out, cap, "byte 0x%02x", (unsigned)(uint8_t)s[i]);
}

int
note_vkey_parse(const char *vkey, note_verifier_t *out) {
    return note_vkey_parse_why(vkey, out, NULL, 0);
}

int
note_vkey_parse_why(const char *vkey, note_verifier_t *out, char *why,
                    size_t whylen) {
    const char *plus, *hex, *b64;
    uint8_t head[3], key[33];
    size_t name_len, b64_len, got = 0;
    uint32_t id = 0;
    char bad[48];

    if (!out)
        return RK_ERR_MALFORMED;
    if (!vkey || !*vkey)
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen, "empty");
    /* name '+' hex8 '+' base64; the name has no '+', the base64 may. */
    plus = strchr(vkey, '+');
    if (!plus)
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "no '+': a verifier key is name+hash+key");
    if (!strchr(plus + 1, '+'))
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "one '+', not two: a verifier key is "
                              "name+hash+key");
    name_len = (size_t)(plus - vkey);
    if (name_len == 0)
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "no name before the first '+'");
    if (name_len > NOTE_NAME_MAX)
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "the name (before the first '+') is %zu bytes, "
                              "more than %d",
                              name_len, NOTE_NAME_MAX);
    if (!s_name_ok((const uint8_t *)vkey, name_len))
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "the name (before the first '+') has a space, a "
                              "control character or bytes that are not UTF-8");
    hex = plus + 1;
    for (int i = 0; i < 8; i++) {
        int d = s_hex_digit(hex[i]); /* stops at the NUL: -1 */
        if (d < 0)
            return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                                  "the hash (after the first '+') is not 8 "
                                  "hex digits");
        id = (id << 4) | (uint32_t)d;
    }
    if (hex[8] != '+')
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "the hash (after the first '+') is not 8 hex "
                              "digits");
    b64 = hex + 9;
    b64_len = strlen(b64);
    if (!s_b64_alphabet(b64, b64_len)) {
        s_bad_b64_char(b64, b64_len, bad, sizeof bad);
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "the key (after the second '+') is not base64: "
                              "it has %s",
                              bad);
    }
    /* The first 4 characters give the algorithm byte: an unknown algorithm
     * is a version problem, whatever its key looks like. */
    if (b64_len < 4)
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "the key (after the second '+') is %zu "
                              "characters of base64, not %d (the type byte "
                              "0x01 and a 32-byte Ed25519 key)",
                              b64_len, S_VKEY_B64_LEN);
    if (rk_unb64(head, sizeof head, &got, b64, 4) != RK_OK || got < 1)
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "the key (after the second '+') is not base64: "
                              "padding at its start");
    if (head[0] != NOTE_ALG_ED25519)
        return s_vkey_refused(RK_ERR_VERSION, why, whylen,
                              "key type 0x%02x, not 0x01 (Ed25519)", head[0]);
    if (b64_len != S_VKEY_B64_LEN)
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "the key (after the second '+') is %zu "
                              "characters of base64, not %d (the type byte "
                              "0x01 and a 32-byte Ed25519 key)",
                              b64_len, S_VKEY_B64_LEN);
    if (rk_unb64(key, sizeof key, &got, b64, b64_len) != RK_OK ||
        got != sizeof key)
        return s_vkey_refused(RK_ERR_MALFORMED, why, whylen,
                              "the key (after the second '+') is not base64: "
                              "bad padding");
    if (s_key_id((const uint8_t *)vkey, name_len, key + 1) != id)
        return s_vkey_refused(RK_ERR_MISMATCH, why, whylen,
                              "the hash %08x is not the key id of this name "
                              "and key: one of the three was changed or "
                              "mistyped",
                              (unsigned)id);
    memset(out, 0, sizeof *out);
    memcpy(out->name, vkey, name_len);
    out->key_id = id;
    memcpy(out->pk, key + 1, 32);
    return RK_OK;
}

/* Parses one signature line (without its '\n'). Returns 0 or
 * RK_ERR_MALFORMED. */
static int
s_parse_line(const uint8_t *line, size_t len, s_sig_line_t *out) {
    const uint8_t *sp, *b64;
    size_t b64_len, got = 0;

    if (len < S_SIG_PREFIX_LEN ||
        memcmp(line, S_SIG_PREFIX, S_SIG_PREFIX_LEN) != 0)
        return RK_ERR_MALFORMED;
    line += S_SIG_PREFIX_LEN;
    len -= S_SIG_PREFIX_LEN;
    sp = memchr(line, ' ', len);
    if (!sp)
        return RK_ERR_MALFORMED;
    out->name = line;
    out->name_len = (size_t)(sp - line);
    if (!s_name_ok(out->name, out->name_len))
        return RK_ERR_MALFORMED;
    b64 = sp + 1;
    b64_len = len - out->name_len - 1;
    /* rk_unb64 refuses spaces, so "name sig extra" is malformed too. */
    if (b64_len == 0 || b64_len > S_SIG_B64_MAX ||
        !s_b64_alphabet((const char *)b64, b64_len) ||
        rk_unb64(out->buf, sizeof out->buf, &got, (const char *)b64, b64_len) !=
            RK_OK ||
        got < 5)
        return RK_ERR_MALFORMED;
    out->key_id = rk_get_be32(out->buf);
    out->sig = out->buf + 4;
    out->sig_len = got - 4;
    return RK_OK;
}

/* Checks size, characters, the split and every signature line. */
static int
s_split(const uint8_t *note, size_t len, s_note_t *n, s_sig_line_t *scratch) {
    size_t i, off;

    if (len > NOTE_MAX_BYTES)
        return RK_ERR_TOO_LARGE;
    if (!note || len < 2)
        return RK_ERR_MALFORMED;
    if (!note_chars_valid(note, len))
        return RK_ERR_MALFORMED;
    /* The last "\n\n": the text may hold blank lines, signatures cannot. */
    for (i = len - 1; i > 0; i--)
        if (note[i] == '\n' && note[i - 1] == '\n')
            break;
    if (i == 0)
        return RK_ERR_MALFORMED;
    n->text = note;
    n->text_len = i;
    n->sigs = note + i + 1;
    n->sigs_len = len - i - 1;
    n->n_sigs = 0;
    if (n->sigs_len == 0 || n->sigs[n->sigs_len - 1] != '\n')
        return RK_ERR_MALFORMED;
    for (off = 0; off < n->sigs_len;) {
        const uint8_t *line = n->sigs + off;
        const uint8_t *nl = memchr(line, '\n', n->sigs_len - off);
        size_t line_len = (size_t)(nl - line);
        if (++n->n_sigs > NOTE_MAX_SIGNATURES)
            return RK_ERR_MALFORMED;
        if (s_parse_line(line, line_len, scratch) != RK_OK)
            return RK_ERR_MALFORMED;
        off += line_len + 1;
    }
    return RK_OK;
}

/* Decodes the signature line at *off of a note s_split accepted and moves
 * *off to the next one. False at the end. */
static bool
s_next_line(const s_note_t *n, size_t *off, s_sig_line_t *line) {
    const uint8_t *p, *nl;
    if (*off >= n->sigs_len)
        return false;
    p = n->sigs + *off;
    nl = memchr(p, '\n', n->sigs_len - *off);
    *off += (size_t)(nl - p) + 1;
    /* s_split has parsed this very line already: it cannot fail now. */
    if (s_parse_line(p, (size_t)(nl - p), line) != RK_OK) {
        assert(!"signature line changed between two parses");
        return false;
    }
    return true;
}

static bool
s_line_is(const s_sig_line_t *line, const char *name, size_t name_len,
          uint32_t key_id) {
    return line->key_id == key_id && line->name_len == name_len &&
           memcmp(line->name, name, name_len) == 0;
}

int
note_verify(const uint8_t *note, size_t note_len, const note_verifier_t *v,
            const uint8_t **text, size_t *text_len) {
    s_sig_line_t line;
    s_note_t n;
    size_t off = 0, vname_len;
    bool found = false;
    int rc;

    assert(v && text && text_len);
    rc = s_split(note, note_len, &n, &line);
    if (rc != RK_OK)
        return rc;
    vname_len = strnlen(v->name, sizeof v->name);
    if (vname_len > NOTE_NAME_MAX)
        return RK_ERR_UNKNOWN_KEY; /* no NUL: matches no line */
    while (s_next_line(&n, &off, &line)) {
        if (!s_line_is(&line, v->name, vname_len, v->key_id))
            continue;
        found = true;
        if (line.sig_len != crypto_sign_BYTES ||
            crypto_sign_verify_detached(line.sig, n.text, n.text_len, v->pk) !=
                0)
            return RK_ERR_BAD_SIGNATURE;
    }
    if (!found)
        return RK_ERR_UNKNOWN_KEY;
    *text = n.text;
    *text_len = n.text_len;
    return RK_OK;
}

/* Bytes of one Ed25519 signature line by name: "— name base64\n". */
static size_t
s_sig_line_len(const char *name) {
    return S_SIG_PREFIX_LEN + strlen(name) + 1 + S_ED25519_B64_LEN + 1;
}

size_t
note_signed_len(size_t text_len, const char *name) {
    return text_len + 1 + s_sig_line_len(name);
}

/* Writes head (head_len bytes), a '\n' when blank is set, and a signature
 * line by name over text. *out is malloc'd. */
static int
s_build(const uint8_t *head, size_t head_len, bool blank, const uint8_t *text,
        size_t text_len, const char *name, const uint8_t sk[64], char **out,
        size_t *out_len) {
    uint8_t raw[4 + crypto_sign_BYTES];
    size_t name_len = strlen(name);
    size_t line_len = s_sig_line_len(name);
    size_t total = head_len + (blank ? 1 : 0) + line_len;
    char *b64, *buf, *p;

    if (head_len > NOTE_MAX_BYTES || total > NOTE_MAX_BYTES)
        return RK_ERR_TOO_LARGE;
    /* The public key is the second half of a libsodium secret key. */
    rk_put_be32(raw, note_key_id(name, sk + 32));
    crypto_sign_detached(raw + 4, NULL, text, text_len, sk);
    b64 = rk_b64(raw, sizeof raw);
    buf = malloc(total + 1);
    if (!b64 || !buf) {
        free(b64);
        free(buf);
        return RK_ERR_NOMEM;
    }
    assert(strlen(b64) == S_ED25519_B64_LEN);
    p = buf;
    memcpy(p, head, head_len);
    p += head_len;
    if (blank)
        *p++ = '\n';
    memcpy(p, S_SIG_PREFIX, S_SIG_PREFIX_LEN);
    p += S_SIG_PREFIX_LEN;
    memcpy(p, name, name_len);
    p += name_len;
    *p++ = ' ';
    memcpy(p, b64, S_ED25519_B64_LEN);
    p += S_ED25519_B64_LEN;
    *p++ = '\n';
    *p = '\0';
    free(b64);
    *out = buf;
    *out_len = total;
    return RK_OK;
}

/* A text we sign: non-empty, ends in '\n', no empty line, good chars. */
static bool
s_text_signable(const uint8_t *t, size_t len) {
    if (len == 0 || t[len - 1] != '\n' || t[0] == '\n')
        return false;
    for (size_t i = 1; i < len; i++)
        if (t[i] == '\n' && t[i - 1] == '\n')
            return false;
    return note_chars_valid(t, len);
}

int
note_sign(const char *text, size_t text_len, const char *name,
          const uint8_t sk[64], char **note, size_t *note_len) {
    if (!text || !sk || !note || !note_len || !note_name_valid(name))
        return RK_ERR_INVALID;
    if (text_len > NOTE_MAX_BYTES)
        return RK_ERR_TOO_LARGE;
    if (!s_text_signable((const uint8_t *)text, text_len))
        return RK_ERR_INVALID;
    return s_build((const uint8_t *)text, text_len, true, (const uint8_t *)text,
                   text_len, name, sk, note, note_len);
}

int
note_add_signature(const uint8_t *note, size_t note_len, const char *name,
                   const uint8_t sk[64], char **out, size_t *out_len) {
    s_sig_line_t line;
    s_note_t n;
    size_t off = 0;
    uint32_t id;
    int rc;

    if (!sk || !out || !out_len || !note_name_valid(name))
        return RK_ERR_INVALID;
    rc = s_split(note, note_len, &n, &line);
    if (rc != RK_OK)
        return rc;
    if (n.n_sigs >= NOTE_MAX_SIGNATURES)
        return RK_ERR_TOO_LARGE;
    id = note_key_id(name, sk + 32);
    while (s_next_line(&n, &off, &line))
        if (s_line_is(&line, name, strlen(name), id))
            return RK_ERR_EXISTS;
    return s_build(note, note_len, false, n.text, n.text_len, name, sk, out,
                   out_len);
}

/* Unit tests for proto/note: the published Go vectors, sign/verify round
 * trips, and every way a note or a vkey must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"
#include "rk_util.h"

/* Known-answer vectors from golang.org/x/mod, sumdb/note/note_test.go
 * (TestNewVerifier, TestNewSigner, TestSign, TestOpen; also the package
 * documentation example). PETER_SKEY is Go's signer key
 * "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
 * whose base64 part is 0x01 || the Ed25519 seed below. */
#define PETER_VKEY                                                             \
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define PETER_SEED_HEX                                                         \
    "810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173"
#define PETER_PK_HEX                                                           \
    "1a5cd907143c384c41e830c5bce12aa8817ec5649aaabf2c31388b35b2d744d6"
#define ENOCH_VKEY                                                             \
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
#define GO_TEXT                                                                \
    "If you think cryptography is the answer to your problem,\n"               \
    "then you don't know what your problem is.\n"
#define EM "\xe2\x80\x94 "
#define PETER_SIG                                                              \
    EM "PeterNeumann "                                                         \
       "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq" \
       "dngotpRZb6KE6RyyBwJnAM=\n"
#define ENOCH_SIG                                                              \
    EM "EnochRoot "                                                            \
       "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01o" \
       "OTGwnWLox33WWd1RvMc+QQ=\n"
#define GO_NOTE GO_TEXT "\n" PETER_SIG

/* The real sum.golang.org verifier key, from Go's
 * src/cmd/go/internal/modfetch/key.go (also in sigsum-go
 * pkg/checkpoint/checkpoint_test.go). */
#define SUMDB_VKEY                                                             \
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"

static note_verifier_t peter, enoch;

static int
setup(void **state) {
    (void)state;
    if (sodium_init() < 0)
        return -1;
    if (note_vkey_parse(PETER_VKEY, &peter) != RK_OK ||
        note_vkey_parse(ENOCH_VKEY, &enoch) != RK_OK)
        return -1;
    return 0;
}

static int
verify_str(const char *note, const note_verifier_t *v) {
    const uint8_t *text = NULL;
    size_t text_len = 0;
    return note_verify((const uint8_t *)note, strlen(note), v, &text,
                       &text_len);
}

/* TEST KEY derived from a fixed seed of repeated bytes; not a secret. */
static void
test_key(uint8_t seed_byte, uint8_t pk[32], uint8_t sk[64]) {
    uint8_t seed[32];
    memset(seed, seed_byte, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
}

static void
test_kat_vkey_parse(void **state) {
    note_verifier_t v;
    uint8_t pk[32];
    (void)state;

    assert_int_equal(rk_unhex(pk, 32, PETER_PK_HEX), RK_OK);
    assert_int_equal(note_vkey_parse(PETER_VKEY, &v), RK_OK);
    assert_string_equal(v.name, "PeterNeumann");
    assert_int_equal(v.key_id, 0xc74f20a3u);
    assert_memory_equal(v.pk, pk, 32);
    assert_int_equal(note_key_id("PeterNeumann", pk), 0xc74f20a3u);

    assert_int_equal(note_vkey_parse(ENOCH_VKEY, &v), RK_OK);
    assert_string_equal(v.name, "EnochRoot");
    assert_int_equal(v.key_id, 0xaf0cfe78u);

    assert_int_equal(note_vkey_parse(SUMDB_VKEY, &v), RK_OK);
    assert_string_equal(v.name, "sum.golang.org");
    assert_int_equal(v.key_id, 0x033de0aeu);
}

static void
test_kat_sign_reproduces_go(void **state) {
    uint8_t seed[32], pk[32], sk[64], want_pk[32];
    char *note = NULL, *vkey = NULL;
    size_t len = 0;
    (void)state;

    assert_int_equal(rk_unhex(seed, 32, PETER_SEED_HEX), RK_OK);
    assert_int_equal(rk_unhex(want_pk, 32, PETER_PK_HEX), RK_OK);
    crypto_sign_seed_keypair(pk, sk, seed);
    assert_memory_equal(pk, want_pk, 32);
    /* Ed25519 is deterministic: our note must be Go's, byte for byte. */
    assert_int_equal(
        note_sign(GO_TEXT, strlen(GO_TEXT), "PeterNeumann", sk, &note, &len),
        RK_OK);
    assert_int_equal(len, strlen(GO_NOTE));
    assert_string_equal(note, GO_NOTE);
    assert_int_equal(note_vkey_format("PeterNeumann", pk, &vkey), RK_OK);
    assert_string_equal(vkey, PETER_VKEY);
    free(vkey);
    free(note);
    sodium_memzero(sk, sizeof sk);
}

static void
test_kat_verify_go_notes(void **state) {
    const char *two = GO_TEXT "\n" PETER_SIG ENOCH_SIG;
    const char *one = GO_NOTE;
    const uint8_t *text = NULL;
    size_t text_len = 0;
    (void)state;

    assert_int_equal(note_verify((const uint8_t *)one, strlen(one), &peter,
                                 &text, &text_len),
                     RK_OK);
    assert_int_equal(text_len, strlen(GO_TEXT));
    assert_memory_equal(text, GO_TEXT, text_len);
    assert_ptr_equal(text, (const uint8_t *)one); /* borrowed, not copied */

    /* Two signers; each verifier ignores the other's line. */
    assert_int_equal(note_verify((const uint8_t *)two, strlen(two), &peter,
                                 &text, &text_len),
                     RK_OK);
    assert_int_equal(text_len, strlen(GO_TEXT));
    assert_int_equal(note_verify((const uint8_t *)two, strlen(two), &enoch,
                                 &text, &text_len),
                     RK_OK);
    assert_int_equal(text_len, strlen(GO_TEXT));

    /* Go's "duplicated verified and unverified signatures" case: repeated
     * good lines and a broken line by a key we do not trust are fine. */
    assert_int_equal(verify_str(GO_TEXT
                                "\n" PETER_SIG PETER_SIG ENOCH_SIG ENOCH_SIG EM
                                "EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+"
                                "MNtCOXm2/5nABCD2tiOHp+vAF1aGrQ5ovTG01oOTGwnWL"
                                "ox33WWd1RvMc+QQ=\n",
                                &peter),
                     RK_OK);
}

static void
test_round_trip_and_vkey(void **state) {
    const char *text = "renraku.test/relay\n42\n"
                       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    uint8_t pk[32], sk[64];
    note_verifier_t v;
    char *note = NULL, *vkey = NULL;
    const uint8_t *out = NULL;
    size_t len = 0, out_len = 0;
    (void)state;

    test_key(0x42, pk, sk);
    assert_int_equal(note_vkey_format("renraku.test/relay", pk, &vkey), RK_OK);
    assert_int_equal(note_vkey_parse(vkey, &v), RK_OK);
    assert_string_equal(v.name, "renraku.test/relay");
    assert_int_equal(v.key_id, note_key_id("renraku.test/relay", pk));
    assert_memory_equal(v.pk, pk, 32);
    {
        char again[128];
        char hex[9];
        snprintf(hex, sizeof hex, "%08x", v.key_id);
        snprintf(again, sizeof again, "renraku.test/relay+%s+", hex);
        assert_memory_equal(vkey, again, strlen(again));
    }
    free(vkey);

    assert_int_equal(
        note_sign(text, strlen(text), "renraku.test/relay", sk, &note, &len),
        RK_OK);
    assert_int_equal(len, strlen(note));
    assert_int_equal(
        note_verify((const uint8_t *)note, len, &v, &out, &out_len), RK_OK);
    assert_int_equal(out_len, strlen(text));
    assert_memory_equal(out, text, out_len);
    /* text, blank line, one line: "— name base64(68 bytes)\n". */
    assert_int_equal(len, strlen(text) + 1 + 4 + 18 + 1 + 92 + 1);
    free(note);
}

/* Every single-byte change of a signed note is refused. */
static void
check_flips(const char *note_str, const note_verifier_t *v, size_t text_len) {
    static const uint8_t masks[] = {0x01, 0x02, 0x20, 0x80};
    size_t len = strlen(note_str);
    uint8_t *buf = malloc(len);
    size_t bad_sig = 0;
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            const uint8_t *t = NULL;
            size_t tl = 0;
            int rc;
            memcpy(buf, note_str, len);
            buf[i] ^= masks[m];
            rc = note_verify(buf, len, v, &t, &tl);
            if (rc == RK_OK)
                fail_msg("flip of byte %zu by 0x%02x verified", i, masks[m]);
            assert_true(rc == RK_ERR_MALFORMED || rc == RK_ERR_UNKNOWN_KEY ||
                        rc == RK_ERR_BAD_SIGNATURE);
            /* A letter's case flipped in the text is a bad signature. */
            if (i < text_len - 1 && masks[m] == 0x20 &&
                ((buf[i] | 0x20) >= 'a' && (buf[i] | 0x20) <= 'z'))
                assert_int_equal(rc, RK_ERR_BAD_SIGNATURE);
            bad_sig += rc == RK_ERR_BAD_SIGNATURE;
        }
    }
    /* The text and the signature bytes after the key id give at least one
     * bad-signature result each. */
    assert_true(bad_sig > text_len);
    free(buf);
}

static void
test_flip_any_byte(void **state) {
    uint8_t pk[32], sk[64];
    note_verifier_t v;
    char *note = NULL, *vkey = NULL;
    size_t len = 0;
    (void)state;

    check_flips(GO_NOTE, &peter, strlen(GO_TEXT));
    test_key(0x43, pk, sk);
    assert_int_equal(note_vkey_format("flip.test", pk, &vkey), RK_OK);
    assert_int_equal(note_vkey_parse(vkey, &v), RK_OK);
    assert_int_equal(note_sign("a\nb\n", 4, "flip.test", sk, &note, &len),
                     RK_OK);
    check_flips(note, &v, 4);
    free(note);
    free(vkey);
}

static void
test_unknown_key_vs_bad_signature(void **state) {
    note_verifier_t v = peter;
    (void)state;

    /* Wrong key name (its key id recomputed, as a real key would have). */
    snprintf(v.name, sizeof v.name, "PeterNeuman");
    v.key_id = note_key_id(v.name, peter.pk);
    assert_int_equal(verify_str(GO_NOTE, &v), RK_ERR_UNKNOWN_KEY);
    /* Same name, other key id. */
    v = peter;
    v.key_id ^= 1;
    assert_int_equal(verify_str(GO_NOTE, &v), RK_ERR_UNKNOWN_KEY);
    /* Another trusted key entirely. */
    assert_int_equal(verify_str(GO_NOTE, &enoch), RK_ERR_UNKNOWN_KEY);
    /* Missing: only someone else signed. */
    assert_int_equal(verify_str(GO_TEXT "\n" ENOCH_SIG, &peter),
                     RK_ERR_UNKNOWN_KEY);
    /* Go's misnamed and wrong-hash lines: not Peter's, so unknown. */
    assert_int_equal(verify_str(GO_TEXT "\n" EM "CarmenSandiego "
                                        "x08go/ZJkuBS9UG/"
                                        "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1"
                                        "FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnA"
                                        "M=\n",
                                &peter),
                     RK_ERR_UNKNOWN_KEY);
    assert_int_equal(verify_str(GO_TEXT "\n" EM "PeterNeumann "
                                        "xxxxo/ZJkuBS9UG/"
                                        "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1"
                                        "FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnA"
                                        "M=\n",
                                &peter),
                     RK_ERR_UNKNOWN_KEY);

    /* Go's invalid signature: "ABCD" inserted after character 60 keeps the
     * key id but makes the signature 67 bytes. */
    assert_int_equal(verify_str(GO_TEXT "\n" EM "PeterNeumann "
                                        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8p"
                                        "AcElZIABCDnNIuGUgYN1FFYC2pZSNXgKvqfqd"
                                        "ngotpRZb6KE6RyyBwJnAM=\n",
                                &peter),
                     RK_ERR_BAD_SIGNATURE);
    /* Right name and key id, but the trusted key is another one: a forged
     * line colliding on the key id is a bad signature, not unknown. */
    v = peter;
    memcpy(v.pk, enoch.pk, 32);
    assert_int_equal(verify_str(GO_NOTE, &v), RK_ERR_BAD_SIGNATURE);
    /* Text changed: "cryptographY". */
    assert_int_equal(verify_str("If you think cryptographY is the answer to "
                                "your problem,\nthen you don't know what your "
                                "problem is.\n\n" PETER_SIG,
                                &peter),
                     RK_ERR_BAD_SIGNATURE);
    /* A good line by Peter and a bad one by Peter: every line of the
     * trusted key must verify. */
    assert_int_equal(verify_str(GO_TEXT "\n" PETER_SIG EM "PeterNeumann "
                                        "x08go/ZJkuBS9UG/"
                                        "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1"
                                        "FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnB"
                                        "M=\n",
                                &peter),
                     RK_ERR_BAD_SIGNATURE);
}

static void
test_malformed_notes(void **state) {
    /* Go's badMsgs from TestOpen, then more of our own. */
    static const char *const bad[] = {
        GO_TEXT,
        GO_TEXT "\n",
        GO_TEXT "\n" EM "PeterNeumann "
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
                "NXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        "\x01" GO_TEXT "\n" PETER_SIG,
        "\xff" GO_TEXT "\n" PETER_SIG,
        GO_TEXT "\n" EM "Bad Name "
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
                "NXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        GO_TEXT "\n" PETER_SIG "Unexpected line.\n",
        /* control characters: tab, CR, ESC, in text and in signatures */
        "a\tb\n\n" PETER_SIG,
        "a\r\n\n" PETER_SIG,
        "a\x1b\n\n" PETER_SIG,
        GO_TEXT "\n" PETER_SIG "\r\n",
        /* invalid UTF-8: overlong '/', surrogate, above U+10FFFF, cut */
        "a\xc0\xaf\n\n" PETER_SIG,
        "a\xed\xa0\x80\n\n" PETER_SIG,
        "a\xf4\x90\x80\x80\n\n" PETER_SIG,
        "a\xe2\x80\n\n" PETER_SIG,
        /* malformed signature lines */
        GO_TEXT "\n- PeterNeumann "
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
                "NXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT "\n" EM "PeterNeumann\n",
        GO_TEXT "\n" EM "PeterNeumann \n",
        GO_TEXT "\n" EM " x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1"
                "FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT "\n" EM "PeterNeumann  "
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
                "NXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT "\n" EM "Peter+Neumann "
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
                "NXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT "\n" EM "PeterNeumann "
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
                "NXgKvqfqdngotpRZb6KE6RyyBwJnAM\n", /* padding missing */
        GO_TEXT "\n" EM "PeterNeumann "
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
                "NXgKvqfqdngotpRZb6KE6RyyBwJnAM= x\n",
        GO_TEXT "\n" EM "PeterNeumann AAAAAA==\n", /* 4 bytes: no sig */
        /* bytes >= 0x80 that libsodium 1.0.18 would read as "////" */
        GO_TEXT "\n" PETER_SIG EM "other.test AAAAAAAA\xc2\xbe\xcf\xb0\n",
        GO_TEXT "\n" PETER_SIG "\n", /* blank after sigs */
        "\n",
        "\n\n",
    };
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = verify_str(bad[i], &peter);
        if (rc != RK_ERR_MALFORMED)
            fail_msg("bad note %zu: got %d, want malformed", i, rc);
    }
    {
        const uint8_t *t = NULL;
        size_t tl = 0;
        assert_int_equal(note_verify(NULL, 0, &peter, &t, &tl),
                         RK_ERR_MALFORMED);
        /* A NUL inside is a control character. */
        assert_int_equal(note_verify((const uint8_t *)"a\0b\n\n" PETER_SIG,
                                     5 + strlen(PETER_SIG), &peter, &t, &tl),
                         RK_ERR_MALFORMED);
        assert_null(t);
    }
}

/* A text may hold blank lines (the split is at the last one). */
static void
test_text_with_blank_line(void **state) {
    const char *text = "a\n\nb\n";
    uint8_t pk[32], sk[64], raw[68];
    note_verifier_t v;
    char note[256], *b64;
    const uint8_t *out = NULL;
    size_t out_len = 0;
    (void)state;

    test_key(0x44, pk, sk);
    snprintf(v.name, sizeof v.name, "blank.test");
    v.key_id = note_key_id("blank.test", pk);
    memcpy(v.pk, pk, 32);
    rk_put_be32(raw, v.key_id);
    crypto_sign_detached(raw + 4, NULL, (const uint8_t *)text, 5, sk);
    b64 = rk_b64(raw, sizeof raw);
    assert_non_null(b64);
    snprintf(note, sizeof note, "%s\n" EM "blank.test %s\n", text, b64);
    free(b64);
    assert_int_equal(
        note_verify((const uint8_t *)note, strlen(note), &v, &out, &out_len),
        RK_OK);
    assert_int_equal(out_len, 5);
    assert_memory_equal(out, text, 5);
    /* note_sign itself refuses such a text. */
    {
        char *n = NULL;
        size_t l = 0;
        assert_int_equal(note_sign(text, 5, "blank.test", sk, &n, &l),
                         RK_ERR_INVALID);
        assert_null(n);
    }
}

static char *
repeat_sig(size_t n) {
    size_t one = strlen(PETER_SIG), head = strlen(GO_TEXT) + 1;
    char *buf = malloc(head + n * one + 1);
    assert_non_null(buf);
    memcpy(buf, GO_TEXT "\n", head);
    for (size_t i = 0; i < n; i++)
        memcpy(buf + head + i * one, PETER_SIG, one);
    buf[head + n * one] = '\0';
    return buf;
}

static void
test_signature_count(void **state) {
    char *n100 = repeat_sig(NOTE_MAX_SIGNATURES);
    char *n101 = repeat_sig(NOTE_MAX_SIGNATURES + 1);
    (void)state;

    assert_int_equal(verify_str(n100, &peter), RK_OK);
    assert_int_equal(verify_str(n101, &peter), RK_ERR_MALFORMED);
    assert_int_equal(verify_str(n101, &enoch), RK_ERR_MALFORMED);
    free(n100);
    free(n101);
}

static void
test_oversize(void **state) {
    size_t big = NOTE_MAX_BYTES + 1;
    uint8_t *buf = malloc(big);
    uint8_t pk[32], sk[64];
    const uint8_t *t = NULL;
    size_t tl = 0, len = 0;
    char *note = NULL;
    (void)state;

    assert_non_null(buf);
    /* A well-formed note, padded in its text to one byte over the cap. */
    memset(buf, 'a', big);
    memcpy(buf + big - strlen(GO_NOTE), GO_NOTE, strlen(GO_NOTE));
    assert_int_equal(note_verify(buf, big, &peter, &t, &tl), RK_ERR_TOO_LARGE);
    assert_int_equal(note_verify(buf + 1, big - 1, &peter, &t, &tl),
                     RK_ERR_BAD_SIGNATURE); /* at the cap: parsed */

    test_key(0x45, pk, sk);
    memset(buf, 'a', big);
    buf[big - 1] = '\n';
    assert_int_equal(
        note_sign((const char *)buf, big, "size.test", sk, &note, &len),
        RK_ERR_TOO_LARGE);
    /* Fits as text, but not once the signature line is added. */
    assert_int_equal(
        note_sign((const char *)buf + 1, big - 1, "size.test", sk, &note, &len),
        RK_ERR_TOO_LARGE);
    assert_null(note);
    /* note_signed_len is exact: a text that makes a note of the cap signs
     * and verifies, one byte more is refused (what roster_sign relies on
     * to refuse before signing). */
    {
        size_t fit = NOTE_MAX_BYTES - note_signed_len(0, "size.test");
        note_verifier_t v;
        memset(&v, 0, sizeof v);
        snprintf(v.name, sizeof v.name, "size.test");
        memcpy(v.pk, pk, 32);
        v.key_id = note_key_id("size.test", pk);
        assert_int_equal(note_signed_len(fit, "size.test"), NOTE_MAX_BYTES);
        assert_int_equal(note_sign((const char *)buf + big - fit, fit,
                                   "size.test", sk, &note, &len),
                         RK_OK);
        assert_int_equal(len, NOTE_MAX_BYTES);
        assert_int_equal(note_verify((const uint8_t *)note, len, &v, &t, &tl),
                         RK_OK);
        assert_int_equal(tl, fit);
        free(note);
        note = NULL;
        assert_int_equal(note_sign((const char *)buf + big - fit - 1, fit + 1,
                                   "size.test", sk, &note, &len),
                         RK_ERR_TOO_LARGE);
        assert_null(note);
    }
    free(buf);
}

static void
test_sign_refuses(void **state) {
    static const char *const texts[] = {
        "",         "no newline",  "\nstarts blank\n", "two\n\nparts\n",
        "ends\n\n", "tab\there\n", "bad \xff\n",       "nul-free \x7f ok?\n",
    };
    static const int want[] = {
        RK_ERR_INVALID, RK_ERR_INVALID, RK_ERR_INVALID, RK_ERR_INVALID,
        RK_ERR_INVALID, RK_ERR_INVALID, RK_ERR_INVALID, RK_OK,
    };
    uint8_t pk[32], sk[64];
    char name[NOTE_NAME_MAX + 2];
    char *note = NULL;
    size_t len = 0;
    (void)state;

    test_key(0x46, pk, sk);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int rc = note_sign(texts[i], strlen(texts[i]), "refuse.test", sk, &note,
                           &len);
        if (rc != want[i])
            fail_msg("text %zu: got %d, want %d", i, rc, want[i]);
        free(note);
        note = NULL;
    }
    assert_int_equal(note_sign("x\n", 2, "bad name", sk, &note, &len),
                     RK_ERR_INVALID);
    assert_int_equal(note_sign("x\n", 2, "bad+name", sk, &note, &len),
                     RK_ERR_INVALID);
    assert_int_equal(note_sign("x\n", 2, "", sk, &note, &len), RK_ERR_INVALID);
    memset(name, 'n', sizeof name);
    name[NOTE_NAME_MAX + 1] = '\0';
    assert_int_equal(note_sign("x\n", 2, name, sk, &note, &len),
                     RK_ERR_INVALID);
    assert_null(note);
    name[NOTE_NAME_MAX] = '\0'; /* exactly the maximum */
    assert_int_equal(note_sign("x\n", 2, name, sk, &note, &len), RK_OK);
    assert_int_equal(len, 2 + 1 + 4 + NOTE_NAME_MAX + 1 + 92 + 1);
    free(note);
}

static void
test_name_valid(void **state) {
    char name[NOTE_NAME_MAX + 2];
    (void)state;

    assert_true(note_name_valid("a"));
    assert_true(note_name_valid("example.com/foo"));
    assert_true(note_name_valid("\xe9\x80\xa3\xe7\xb5\xa1")); /* 連絡 */
    assert_false(note_name_valid(NULL));
    assert_false(note_name_valid(""));
    assert_false(note_name_valid("a b"));
    assert_false(note_name_valid("a+b"));
    assert_false(note_name_valid("a\tb"));
    assert_false(note_name_valid("a\nb"));
    assert_false(note_name_valid("a\xc2\xa0"
                                 "b")); /* no-break space */
    assert_false(note_name_valid("a\xe3\x80\x80"
                                 "b")); /* ideographic space */
    assert_false(note_name_valid("a\xe2\x80\xa8"
                                 "b")); /* line separator */
    assert_false(note_name_valid("\xff"));
    memset(name, 'n', sizeof name);
    name[NOTE_NAME_MAX] = '\0';
    assert_true(note_name_valid(name));
    name[NOTE_NAME_MAX] = 'n';
    name[NOTE_NAME_MAX + 1] = '\0';
    assert_false(note_name_valid(name));
}

static void
test_vkey_refused(void **state) {
    const char *vkey = PETER_VKEY;
    size_t len = strlen(vkey);
    char buf[128];
    note_verifier_t v;
    (void)state;

    /* The key id disagrees with the name and key. */
    assert_int_equal(
        note_vkey_parse("PeterNeumann+c74f20a4+"
                        "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                        &v),
        RK_ERR_MISMATCH);
    /* Go's two adjusted keys: wrong length, unknown algorithm 0x65. */
    assert_int_equal(note_vkey_parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwx"
                                     "bzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
                                     &v),
                     RK_ERR_MALFORMED);
    assert_int_equal(note_vkey_parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwx"
                                     "bzhKqiBfsVkmqq/LDE4izWy10TW",
                                     &v),
                     RK_ERR_VERSION);
    assert_int_equal(note_vkey_parse("", &v), RK_ERR_MALFORMED);
    assert_int_equal(note_vkey_parse(NULL, &v), RK_ERR_MALFORMED);
    /* Go accepts upper-case hex in the key id; so do we. */
    assert_int_equal(
        note_vkey_parse("PeterNeumann+C74F20A3+"
                        "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                        &v),
        RK_OK);
    assert_int_equal(v.key_id, 0xc74f20a3u);

    /* Go's TestNewVerifier manglings: every proper substring and every
     * byte incremented. */
    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i + 1; j <= len; j++) {
            if (i == 0 && j == len)
                continue;
            memcpy(buf, vkey + i, j - i);
            buf[j - i] = '\0';
            if (note_vkey_parse(buf, &v) == RK_OK)
                fail_msg("substring [%zu,%zu) accepted: %s", i, j, buf);
        }
    }
    for (size_t i = 0; i < len; i++) {
        memcpy(buf, vkey, len + 1);
        buf[i]++;
        if (note_vkey_parse(buf, &v) == RK_OK)
            fail_msg("byte %zu incremented accepted: %s", i, buf);
    }
}

/* note_vkey_parse_why says what is wrong with a vkey (renraku-audit
 * --vkey shows it), with the codes of note_vkey_parse, and writes nothing
 * when why is NULL. */
static void
test_vkey_why(void **state) {
    static const struct {
        const char *vkey;
        int rc;
        const char *why;
    } cases[] = {
        {"", RK_ERR_MALFORMED, "empty"},
        {"PeterNeumann", RK_ERR_MALFORMED,
         "no '+': a verifier key is name+hash+key"},
        {"PeterNeumann+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
         RK_ERR_MALFORMED, "one '+', not two: a verifier key is name+hash+key"},
        {"+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
         RK_ERR_MALFORMED, "no name before the first '+'"},
        {"Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
         RK_ERR_MALFORMED,
         "the name (before the first '+') has a space, a control character "
         "or bytes that are not UTF-8"},
        {"PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
         RK_ERR_MALFORMED,
         "the hash (after the first '+') is not 8 hex digits"},
        {"PeterNeumann+c74f20a3x+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
         RK_ERR_MALFORMED,
         "the hash (after the first '+') is not 8 hex digits"},
        {"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T!",
         RK_ERR_MALFORMED,
         "the key (after the second '+') is not base64: it has '!'"},
        {"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\r",
         RK_ERR_MALFORMED,
         "the key (after the second '+') is not base64: it has a carriage "
         "return (a CRLF line end?)"},
        {"PeterNeumann+c74f20a3+AR", RK_ERR_MALFORMED,
         "the key (after the second '+') is 2 characters of base64, not 44 "
         "(the type byte 0x01 and a 32-byte Ed25519 key)"},
        {"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
         RK_ERR_MALFORMED,
         "the key (after the second '+') is 42 characters of base64, not 44 "
         "(the type byte 0x01 and a 32-byte Ed25519 key)"},
        {"PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
         RK_ERR_VERSION, "key type 0x65, not 0x01 (Ed25519)"},
        {"PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
         RK_ERR_MISMATCH,
         "the hash c74f20a4 is not the key id of this name and key: one of "
         "the three was changed or mistyped"},
    };
    note_verifier_t v;
    char why[200];
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        strcpy(why, "untouched");
        assert_int_equal(note_vkey_parse_why(cases[i].vkey, &v, NULL, 0),
                         cases[i].rc);
        assert_int_equal(note_vkey_parse(cases[i].vkey, &v), cases[i].rc);
        assert_int_equal(
            note_vkey_parse_why(cases[i].vkey, &v, why, sizeof why),
            cases[i].rc);
        assert_string_equal(why, cases[i].why);
    }
    strcpy(why, "untouched");
    assert_int_equal(note_vkey_parse_why(PETER_VKEY, &v, why, sizeof why),
                     RK_OK);
    assert_string_equal(why, "untouched");
    assert_string_equal(v.name, "PeterNeumann");
    /* A short buffer is cut, never overrun. */
    assert_int_equal(note_vkey_parse_why("PeterNeumann", &v, why, 6),
                     RK_ERR_MALFORMED);
    assert_string_equal(why, "no '+");
}

static void
test_add_signature(void **state) {
    uint8_t pk_a[32], sk_a[64], pk_b[32], sk_b[64], seed[32], sk_p[64];
    uint8_t pk_p[32];
    note_verifier_t va, vb;
    char *n1 = NULL, *n2 = NULL, *n3 = NULL;
    size_t l1 = 0, l2 = 0, l3 = 0;
    const uint8_t *t = NULL;
    size_t tl = 0;
    (void)state;

    test_key(0x47, pk_a, sk_a);
    test_key(0x48, pk_b, sk_b);
    snprintf(va.name, sizeof va.name, "log.test");
    va.key_id = note_key_id("log.test", pk_a);
    memcpy(va.pk, pk_a, 32);
    snprintf(vb.name, sizeof vb.name, "witness.test");
    vb.key_id = note_key_id("witness.test", pk_b);
    memcpy(vb.pk, pk_b, 32);

    assert_int_equal(note_sign("tree\n7\n", 7, "log.test", sk_a, &n1, &l1),
                     RK_OK);
    assert_int_equal(note_add_signature((const uint8_t *)n1, l1, "witness.test",
                                        sk_b, &n2, &l2),
                     RK_OK);
    assert_int_equal(l2, l1 + 4 + 12 + 1 + 92 + 1);
    assert_memory_equal(n2, n1, l1); /* appended, nothing else changed */
    assert_int_equal(note_verify((const uint8_t *)n2, l2, &va, &t, &tl), RK_OK);
    assert_int_equal(tl, 7);
    assert_int_equal(note_verify((const uint8_t *)n2, l2, &vb, &t, &tl), RK_OK);
    assert_int_equal(tl, 7);
    assert_int_equal(note_add_signature((const uint8_t *)n2, l2, "witness.test",
                                        sk_b, &n3, &l3),
                     RK_ERR_EXISTS);
    assert_int_equal(note_add_signature((const uint8_t *)"x\n", 2,
                                        "witness.test", sk_b, &n3, &l3),
                     RK_ERR_MALFORMED);
    assert_null(n3);

    /* Cosigning Go's note: Peter's signature still verifies, and Peter
     * signing again is refused. */
    assert_int_equal(note_add_signature((const uint8_t *)GO_NOTE,
                                        strlen(GO_NOTE), "witness.test", sk_b,
                                        &n3, &l3),
                     RK_OK);
    assert_int_equal(verify_str(n3, &peter), RK_OK);
    assert_int_equal(verify_str(n3, &vb), RK_OK);
    free(n3);
    n3 = NULL;
    assert_int_equal(rk_unhex(seed, 32, PETER_SEED_HEX), RK_OK);
    crypto_sign_seed_keypair(pk_p, sk_p, seed);
    assert_int_equal(note_add_signature((const uint8_t *)GO_NOTE,
                                        strlen(GO_NOTE), "PeterNeumann", sk_p,
                                        &n3, &l3),
                     RK_ERR_EXISTS);
    {
        char *full = repeat_sig(NOTE_MAX_SIGNATURES);
        assert_int_equal(note_add_signature((const uint8_t *)full, strlen(full),
                                            "witness.test", sk_b, &n3, &l3),
                         RK_ERR_TOO_LARGE);
        free(full);
    }
    assert_null(n3);
    free(n1);
    free(n2);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_vkey_parse),
        cmocka_unit_test(test_kat_sign_reproduces_go),
        cmocka_unit_test(test_kat_verify_go_notes),
        cmocka_unit_test(test_round_trip_and_vkey),
        cmocka_unit_test(test_flip_any_byte),
        cmocka_unit_test(test_unknown_key_vs_bad_signature),
        cmocka_unit_test(test_malformed_notes),
        cmocka_unit_test(test_text_with_blank_line),
        cmocka_unit_test(test_signature_count),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_sign_refuses),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_vkey_refused),
        cmocka_unit_test(test_vkey_why),
        cmocka_unit_test(test_add_signature),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

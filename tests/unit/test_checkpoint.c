/* Unit tests for proto/checkpoint: a real signed checkpoint of
 * sum.golang.org, the spec's example, round trips, and each malformation
 * refused with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "note.h"
#include "rk_util.h"

/* A real checkpoint, "Retrieved from https://sum.golang.org/latest,
 * 2024-09-23", and the sum.golang.org verifier key (from Go's
 * src/cmd/go/internal/modfetch/key.go); both as published in sigsum-go,
 * pkg/checkpoint/checkpoint_test.go, TestGoSumDBCheckpoint. */
#define SUMDB_VKEY                                                             \
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
#define SUMDB_BODY                                                             \
    "go.sum database tree\n30055305\n"                                         \
    "mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n"
#define SUMDB_NOTE                                                             \
    SUMDB_BODY "\n\xe2\x80\x94 sum.golang.org "                                \
               "Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY+2TyG" \
               "KevucFcAAlWFJJYle3EJlDCrQ+y3A8=\n"
#define SUMDB_ROOT_HEX                                                         \
    "9977e045c2746c6d23dc23dd2b08065ad5330546d7ebbb1a64646616e2461ac3"

/* The example of c2sp.org/tlog-checkpoint (its signing key is not
 * published, so only the body is used). */
#define SPEC_BODY                                                              \
    "example.com/behind-the-sofa\n20852163\n"                                  \
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
#define SPEC_ROOT_HEX                                                          \
    "0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62"

#define ROOT32                                                                 \
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" /* bytes 0..31              \
                                                    */

static int
setup(void **state) {
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static int
parse_str(const char *s, checkpoint_t *cp, const char **why) {
    return checkpoint_parse((const uint8_t *)s, strlen(s), cp, why);
}

static void
test_kat_sumdb(void **state) {
    note_verifier_t v;
    checkpoint_t cp;
    uint8_t root[32];
    const char *why = "unset";
    char *text = NULL;
    size_t len = 0;
    (void)state;

    assert_int_equal(note_vkey_parse(SUMDB_VKEY, &v), RK_OK);
    assert_int_equal(rk_unhex(root, 32, SUMDB_ROOT_HEX), RK_OK);
    assert_int_equal(checkpoint_open((const uint8_t *)SUMDB_NOTE,
                                     strlen(SUMDB_NOTE), &v,
                                     "go.sum database tree", &cp, &why),
                     RK_OK);
    assert_null(why);
    assert_string_equal(cp.origin, "go.sum database tree");
    assert_true(cp.size == 30055305u);
    assert_memory_equal(cp.root, root, 32);
    assert_int_equal(cp.n_ext, 0);
    /* Formatting gives back the signed bytes exactly. */
    assert_int_equal(checkpoint_format(&cp, &text, &len), RK_OK);
    assert_int_equal(len, strlen(SUMDB_BODY));
    assert_string_equal(text, SUMDB_BODY);
    free(text);

    /* Same checkpoint, expected for another log: refused. */
    assert_int_equal(checkpoint_open((const uint8_t *)SUMDB_NOTE,
                                     strlen(SUMDB_NOTE), &v, "example.org/log",
                                     &cp, &why),
                     RK_ERR_MISMATCH);
    assert_string_equal(why, "checkpoint is for another origin");
}

static void
test_kat_sumdb_tampered(void **state) {
    note_verifier_t v;
    checkpoint_t cp;
    char buf[sizeof SUMDB_NOTE];
    const char *why = NULL;
    (void)state;

    assert_int_equal(note_vkey_parse(SUMDB_VKEY, &v), RK_OK);
    memset(&cp, 0x5a, sizeof cp);
    /* Tree size 30055305 -> 30055306. */
    memcpy(buf, SUMDB_NOTE, sizeof buf);
    buf[strlen("go.sum database tree\n3005530")] = '6';
    assert_int_equal(
        checkpoint_open((const uint8_t *)buf, strlen(buf), &v, NULL, &cp, &why),
        RK_ERR_BAD_SIGNATURE);
    assert_string_equal(why, rk_strerror(RK_ERR_BAD_SIGNATURE));
    assert_int_equal((unsigned char)cp.origin[0], 0x5a); /* untouched */
}

static void
test_kat_spec_example(void **state) {
    checkpoint_t cp;
    uint8_t root[32];
    const char *why = "unset";
    char *text = NULL;
    size_t len = 0;
    (void)state;

    assert_int_equal(rk_unhex(root, 32, SPEC_ROOT_HEX), RK_OK);
    assert_int_equal(parse_str(SPEC_BODY, &cp, &why), RK_OK);
    assert_null(why);
    assert_string_equal(cp.origin, "example.com/behind-the-sofa");
    assert_true(cp.size == 20852163u);
    assert_memory_equal(cp.root, root, 32);
    assert_int_equal(checkpoint_format(&cp, &text, &len), RK_OK);
    assert_string_equal(text, SPEC_BODY);
    free(text);
}

static void
make_cp(checkpoint_t *cp) {
    memset(cp, 0, sizeof *cp);
    snprintf(cp->origin, sizeof cp->origin, "renraku.test/relay");
    cp->size = UINT64_MAX;
    for (int i = 0; i < 32; i++)
        cp->root[i] = (uint8_t)i;
    cp->n_ext = 2;
    snprintf(cp->ext[0], sizeof cp->ext[0], "extension one");
    snprintf(cp->ext[1], sizeof cp->ext[1], "\xe9\x80\xa3\xe7\xb5\xa1 two");
}

static void
test_round_trip(void **state) {
    checkpoint_t cp, back;
    uint8_t pk[32], sk[64], seed[32];
    note_verifier_t v;
    char *text = NULL, *note = NULL, *vkey = NULL;
    size_t len = 0, note_len = 0;
    const char *why = NULL;
    (void)state;

    make_cp(&cp);
    assert_int_equal(checkpoint_format(&cp, &text, &len), RK_OK);
    assert_string_equal(text,
                        "renraku.test/relay\n18446744073709551615\n" ROOT32
                        "\nextension one\n"
                        "\xe9\x80\xa3\xe7\xb5\xa1 two\n");
    assert_int_equal(len, strlen(text));
    memset(&back, 0x77, sizeof back);
    assert_int_equal(checkpoint_parse((const uint8_t *)text, len, &back, &why),
                     RK_OK);
    assert_memory_equal(&back, &cp, sizeof cp);
    free(text);

    /* Signed and opened through note.h, with a TEST key (fixed seed). */
    memset(seed, 0x51, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    assert_int_equal(note_vkey_format("renraku.test/relay", pk, &vkey), RK_OK);
    assert_int_equal(note_vkey_parse(vkey, &v), RK_OK);
    free(vkey);
    cp.n_ext = 0;
    cp.size = 12345;
    assert_int_equal(
        checkpoint_sign(&cp, "renraku.test/relay", sk, &note, &note_len),
        RK_OK);
    memset(&back, 0, sizeof back);
    assert_int_equal(checkpoint_open((const uint8_t *)note, note_len, &v,
                                     "renraku.test/relay", &back, &why),
                     RK_OK);
    assert_true(back.size == 12345u);
    assert_memory_equal(back.root, cp.root, 32);
    assert_string_equal(back.origin, "renraku.test/relay");
    /* One byte of the root line changed: the signature fails. */
    note[strlen("renraku.test/relay\n12345\nA")] ^= 0x01;
    assert_int_equal(
        checkpoint_open((const uint8_t *)note, note_len, &v, NULL, &back, &why),
        RK_ERR_BAD_SIGNATURE);
    free(note);

    /* A signed text that is not a checkpoint: its reason comes back. */
    assert_int_equal(note_sign("just one line\n", 14, "renraku.test/relay", sk,
                               &note, &note_len),
                     RK_OK);
    assert_int_equal(
        checkpoint_open((const uint8_t *)note, note_len, &v, NULL, &back, &why),
        RK_ERR_MALFORMED);
    assert_string_equal(why, "checkpoint has fewer than three lines (origin, "
                             "size, root)");
    free(note);
    sodium_memzero(sk, sizeof sk);
}

typedef struct {
    const char *text;
    const char *why;
} bad_t;

static void
check_bad(const bad_t *bad, size_t n) {
    for (size_t i = 0; i < n; i++) {
        checkpoint_t cp;
        const char *why = NULL;
        int rc = parse_str(bad[i].text, &cp, &why);
        if (rc != RK_ERR_MALFORMED)
            fail_msg("case %zu: got %d, want malformed", i, rc);
        if (!why || strcmp(why, bad[i].why) != 0)
            fail_msg("case %zu: why \"%s\", want \"%s\"", i,
                     why ? why : "(null)", bad[i].why);
    }
}

#define SIZE_BAD "tree size is not a decimal number that fits in 64 bits"
#define ROOT_BAD "root hash is not the base64 of 32 bytes"

static void
test_size_rules(void **state) {
    static const bad_t bad[] = {
        {"o\n00\n" ROOT32 "\n", "tree size has a leading zero"},
        {"o\n0123\n" ROOT32 "\n", "tree size has a leading zero"},
        {"o\n18446744073709551616\n" ROOT32 "\n", SIZE_BAD},
        {"o\n99999999999999999999\n" ROOT32 "\n", SIZE_BAD},
        {"o\n123456789012345678901\n" ROOT32 "\n", SIZE_BAD},
        {"o\n\n" ROOT32 "\n", SIZE_BAD},
        {"o\n-1\n" ROOT32 "\n", SIZE_BAD},
        {"o\n+1\n" ROOT32 "\n", SIZE_BAD},
        {"o\n 1\n" ROOT32 "\n", SIZE_BAD},
        {"o\n1 \n" ROOT32 "\n", SIZE_BAD},
        {"o\n1e3\n" ROOT32 "\n", SIZE_BAD},
        {"o\n\xd9\xa1\n" ROOT32 "\n", SIZE_BAD}, /* Arabic-Indic one */
    };
    checkpoint_t cp;
    const char *why = NULL;
    (void)state;

    check_bad(bad, sizeof bad / sizeof bad[0]);
    assert_int_equal(parse_str("o\n0\n" ROOT32 "\n", &cp, &why), RK_OK);
    assert_true(cp.size == 0);
    assert_int_equal(
        parse_str("o\n18446744073709551615\n" ROOT32 "\n", &cp, &why), RK_OK);
    assert_true(cp.size == UINT64_MAX);
    assert_int_equal(parse_str("o\n10\n" ROOT32 "\n", &cp, &why), RK_OK);
    assert_true(cp.size == 10);
}

static void
test_root_rules(void **state) {
    static const bad_t bad[] = {
        /* 31 and 33 bytes */
        {"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", ROOT_BAD},
        {"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", ROOT_BAD},
        /* 32 bytes without padding, with extra padding, non-canonical */
        {"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", ROOT_BAD},
        {"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==\n", ROOT_BAD},
        {"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n", ROOT_BAD},
        /* URL-safe alphabet, hex, empty, trailing space */
        {"o\n1\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n", ROOT_BAD},
        {"o\n1\n0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1a"
         "b62\n",
         ROOT_BAD},
        {"o\n1\n\n", ROOT_BAD},
        {"o\n1\n" ROOT32 " \n", ROOT_BAD},
        /* found by fuzzing: libsodium 1.0.18 reads these bytes as '/' */
        {"o\n0\nAAECAwQ1BgcICQoL\xc2\xbe\xcf\xb0"
         "DxAREhCUFRYXGBkaGxwdHh8=\n",
         ROOT_BAD},
    };
    (void)state;
    check_bad(bad, sizeof bad / sizeof bad[0]);
}

static void
test_missing_lines(void **state) {
    static const bad_t bad[] = {
        {"o\n", "checkpoint has fewer than three lines (origin, size, root)"},
        {"o\n1\n",
         "checkpoint has fewer than three lines (origin, size, root)"},
        {"", "empty checkpoint"},
        {"o\n1\n" ROOT32, "checkpoint does not end in a newline"},
        {"\n1\n" ROOT32 "\n", "origin line is empty"},
        {"\n", "origin line is empty"},
        {"o\r\n1\n" ROOT32 "\n",
         "checkpoint is not UTF-8 or has a control character"},
        {"o\xff\n1\n" ROOT32 "\n",
         "checkpoint is not UTF-8 or has a control character"},
    };
    checkpoint_t cp;
    const char *why = NULL;
    (void)state;

    check_bad(bad, sizeof bad / sizeof bad[0]);
    assert_int_equal(checkpoint_parse(NULL, 0, &cp, &why), RK_ERR_MALFORMED);
    assert_string_equal(why, "empty checkpoint");
    /* Spaces and '+' in an origin are allowed: the spec says not to assume
     * the URL form. */
    assert_int_equal(
        parse_str("go.sum database tree\n1\n" ROOT32 "\n", &cp, &why), RK_OK);
    assert_string_equal(cp.origin, "go.sum database tree");
}

static void
test_extension_rules(void **state) {
    char text[CHECKPOINT_MAX_BYTES + 64], line[CHECKPOINT_EXT_LINE_MAX + 2];
    checkpoint_t cp;
    const char *why = NULL;
    size_t n;
    (void)state;

    /* Extension lines are kept, in order. */
    assert_int_equal(
        parse_str("o\n1\n" ROOT32 "\nfirst ext\nsecond ext\n", &cp, &why),
        RK_OK);
    assert_int_equal(cp.n_ext, 2);
    assert_string_equal(cp.ext[0], "first ext");
    assert_string_equal(cp.ext[1], "second ext");

    assert_int_equal(parse_str("o\n1\n" ROOT32 "\n\n", &cp, &why),
                     RK_ERR_MALFORMED);
    assert_string_equal(why, "empty extension line");
    assert_int_equal(parse_str("o\n1\n" ROOT32 "\na\n\nb\n", &cp, &why),
                     RK_ERR_MALFORMED);
    assert_string_equal(why, "empty extension line");

    /* 8 extension lines fit, 9 do not. */
    n = (size_t)snprintf(text, sizeof text, "o\n1\n" ROOT32 "\n");
    for (int i = 0; i < CHECKPOINT_EXT_MAX_LINES; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "ext %d\n", i);
    assert_int_equal(parse_str(text, &cp, &why), RK_OK);
    assert_int_equal(cp.n_ext, CHECKPOINT_EXT_MAX_LINES);
    assert_string_equal(cp.ext[7], "ext 7");
    snprintf(text + n, sizeof text - n, "ext 8\n");
    assert_int_equal(parse_str(text, &cp, &why), RK_ERR_MALFORMED);
    assert_string_equal(why, "more than 8 extension lines");

    /* A 255-byte extension line fits, 256 bytes do not. */
    memset(line, 'x', sizeof line);
    line[CHECKPOINT_EXT_LINE_MAX] = '\0';
    snprintf(text, sizeof text, "o\n1\n" ROOT32 "\n%s\n", line);
    assert_int_equal(parse_str(text, &cp, &why), RK_OK);
    assert_int_equal(strlen(cp.ext[0]), CHECKPOINT_EXT_LINE_MAX);
    line[CHECKPOINT_EXT_LINE_MAX] = 'x';
    line[CHECKPOINT_EXT_LINE_MAX + 1] = '\0';
    snprintf(text, sizeof text, "o\n1\n" ROOT32 "\n%s\n", line);
    assert_int_equal(parse_str(text, &cp, &why), RK_ERR_MALFORMED);
    assert_string_equal(why, "extension line longer than 255 bytes");

    /* The same limits for the origin. */
    snprintf(text, sizeof text, "%s\n1\n" ROOT32 "\n", line);
    assert_int_equal(parse_str(text, &cp, &why), RK_ERR_MALFORMED);
    assert_string_equal(why, "origin longer than 255 bytes");
    line[CHECKPOINT_ORIGIN_MAX] = '\0';
    snprintf(text, sizeof text, "%s\n1\n" ROOT32 "\n", line);
    assert_int_equal(parse_str(text, &cp, &why), RK_OK);
    assert_int_equal(strlen(cp.origin), CHECKPOINT_ORIGIN_MAX);

    /* Over the whole-body cap, before any parsing. */
    memset(text, 'x', CHECKPOINT_MAX_BYTES + 1);
    assert_int_equal(checkpoint_parse((const uint8_t *)text,
                                      CHECKPOINT_MAX_BYTES + 1, &cp, &why),
                     RK_ERR_TOO_LARGE);
    assert_string_equal(why, "checkpoint larger than 4096 bytes");
}

static void
test_format_refuses(void **state) {
    checkpoint_t cp;
    char *text = NULL;
    size_t len = 0;
    (void)state;

    make_cp(&cp);
    cp.origin[0] = '\0';
    assert_int_equal(checkpoint_format(&cp, &text, &len), RK_ERR_INVALID);
    make_cp(&cp);
    snprintf(cp.origin, sizeof cp.origin, "two\nlines");
    assert_int_equal(checkpoint_format(&cp, &text, &len), RK_ERR_INVALID);
    make_cp(&cp);
    snprintf(cp.origin, sizeof cp.origin, "tab\there");
    assert_int_equal(checkpoint_format(&cp, &text, &len), RK_ERR_INVALID);
    make_cp(&cp);
    cp.ext[1][0] = '\0';
    assert_int_equal(checkpoint_format(&cp, &text, &len), RK_ERR_INVALID);
    make_cp(&cp);
    snprintf(cp.ext[0], sizeof cp.ext[0], "a\nb");
    assert_int_equal(checkpoint_format(&cp, &text, &len), RK_ERR_INVALID);
    make_cp(&cp);
    cp.n_ext = CHECKPOINT_EXT_MAX_LINES + 1;
    assert_int_equal(checkpoint_format(&cp, &text, &len), RK_ERR_INVALID);
    make_cp(&cp);
    memset(cp.origin, 'o', sizeof cp.origin); /* no NUL at all */
    assert_int_equal(checkpoint_format(&cp, &text, &len), RK_ERR_INVALID);
    assert_null(text);
    /* Nothing to sign either. */
    make_cp(&cp);
    cp.origin[0] = '\0';
    {
        uint8_t pk[32], sk[64], seed[32];
        char *note = NULL;
        memset(seed, 0x52, sizeof seed); /* TEST key */
        crypto_sign_seed_keypair(pk, sk, seed);
        assert_int_equal(checkpoint_sign(&cp, "x", sk, &note, &len),
                         RK_ERR_INVALID);
        assert_null(note);
    }
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_sumdb),
        cmocka_unit_test(test_kat_sumdb_tampered),
        cmocka_unit_test(test_kat_spec_example),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_size_rules),
        cmocka_unit_test(test_root_rules),
        cmocka_unit_test(test_missing_lines),
        cmocka_unit_test(test_extension_rules),
        cmocka_unit_test(test_format_refuses),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

/* Unit tests for keys/identity: key generation, the secret key file (plain
 * and passphrase-encrypted), its refusals (corruption, truncation, unsafe
 * modes, links, overwrites) and the public key file's JSON; and what
 * unlock_verifier says of a --coordinator argument it cannot use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "rk_util.h"
#include "unlock.h"

#define PASS "correct horse battery staple"

/* ---- temp dirs and files ---- */

typedef struct {
    char dir[64];
} fixture_t;

static void
rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int
setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/rk-test-identity-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state) {
    fixture_t *f = *state;
    rm_tree(f->dir);
    free(f);
    return 0;
}

static void
path_of(char *out, size_t cap, const fixture_t *f, const char *name) {
    snprintf(out, cap, "%s/%s", f->dir, name);
}

/* Writes bytes to path (replacing it) with the given mode. */
static void
write_bytes(const char *path, const void *data, size_t len, mode_t mode) {
    int fd;
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    if (len)
        assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static uint8_t *
read_bytes(const char *path, size_t *len) {
    uint8_t *data = NULL;
    assert_int_equal(rk_read_file(path, 1u << 20, &data, len), RK_OK);
    return data;
}

/* ---- checks ---- */

/* Both identities hold the same keys, and the loaded secrets give back
 * the public keys (the derivations match, not only the stored bytes). */
static void
assert_same_identity(const identity_t *a, const identity_t *b) {
    const identity_public_t *pa = identity_public(a), *pb = identity_public(b);
    uint8_t derived[32], sig[64];
    const uint8_t msg[] = "liaison";

    assert_string_equal(identity_id(a), identity_id(b));
    assert_int_equal(identity_role(a), identity_role(b));
    assert_memory_equal(pa->sign_pk, pb->sign_pk, 32);
    assert_memory_equal(pa->enc_pk, pb->enc_pk, 32);
    assert_memory_equal(pa->transport_pk, pb->transport_pk, 32);
    assert_memory_equal(identity_sign_sk(a), identity_sign_sk(b), 64);
    assert_memory_equal(identity_enc_sk(a), identity_enc_sk(b), 32);
    assert_memory_equal(identity_transport_sk(a), identity_transport_sk(b), 32);

    assert_int_equal(crypto_scalarmult_base(derived, identity_enc_sk(b)), 0);
    assert_memory_equal(derived, pa->enc_pk, 32);
    assert_int_equal(crypto_scalarmult_base(derived, identity_transport_sk(b)),
                     0);
    assert_memory_equal(derived, pa->transport_pk, 32);
    assert_int_equal(crypto_sign_ed25519_sk_to_pk(derived, identity_sign_sk(b)),
                     0);
    assert_memory_equal(derived, pa->sign_pk, 32);
    /* A signature by the loaded key verifies under the original key. */
    crypto_sign_detached(sig, NULL, msg, sizeof msg, identity_sign_sk(b));
    assert_int_equal(
        crypto_sign_verify_detached(sig, msg, sizeof msg, pa->sign_pk), 0);
}

static void
assert_mode(const char *path, mode_t want) {
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, want);
}

/* Generates and saves id into the fixture dir; returns the identity. */
static identity_t *
make_saved(const fixture_t *f, const char *id, identity_role_t role,
           const char *pass) {
    identity_t *ident = identity_generate(id, role);
    assert_non_null(ident);
    assert_int_equal(identity_save(ident, f->dir, pass), RK_OK);
    return ident;
}

/* ---- tests ---- */

static void
test_generate_refuses_bad_arguments(void **state) {
    (void)state;
    assert_null(identity_generate("JP.NISC", IDENTITY_ROLE_PARTNER));
    assert_null(identity_generate("", IDENTITY_ROLE_PARTNER));
    assert_null(identity_generate(NULL, IDENTITY_ROLE_PARTNER));
    assert_null(identity_generate("jp.nisc", (identity_role_t)0));
    assert_null(identity_generate("jp.nisc", (identity_role_t)6));
    /* Two identities never share a key. */
    identity_t *a = identity_generate("jp.nisc", IDENTITY_ROLE_PARTNER);
    identity_t *b = identity_generate("jp.nisc", IDENTITY_ROLE_PARTNER);
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_not_equal(identity_public(a)->sign_pk,
                            identity_public(b)->sign_pk, 32);
    assert_memory_not_equal(identity_public(a)->enc_pk,
                            identity_public(b)->enc_pk, 32);
    /* The three key pairs of one identity differ from one another. */
    assert_memory_not_equal(identity_public(a)->enc_pk,
                            identity_public(a)->transport_pk, 32);
    identity_destroy(&a);
    identity_destroy(&b);
    assert_null(a);
    identity_destroy(&a); /* already destroyed: harmless */
    identity_destroy(NULL);
}

static void
test_role_names(void **state) {
    (void)state;
    for (int r = IDENTITY_ROLE_PARTNER; r <= IDENTITY_ROLE_COORDINATOR; r++)
        assert_int_equal(
            identity_role_from_name(identity_role_name((identity_role_t)r)), r);
    assert_string_equal(identity_role_name(IDENTITY_ROLE_COORDINATOR),
                        "coordinator");
    assert_int_equal(identity_role_from_name("Partner"), 0);
    assert_int_equal(identity_role_from_name(NULL), 0);
    assert_string_equal(identity_role_name((identity_role_t)0), "unknown");
}

static void
test_round_trip_plain(void **state) {
    fixture_t *f = *state;
    char kpath[128], ppath[128];
    identity_t *orig = make_saved(f, "jp.nisc", IDENTITY_ROLE_PARTNER, NULL);
    identity_t *back = NULL;

    path_of(kpath, sizeof kpath, f, "jp.nisc.key");
    path_of(ppath, sizeof ppath, f, "jp.nisc.pub");
    assert_mode(kpath, 0600);
    assert_mode(ppath, 0644);
    assert_int_equal(identity_file_encrypted(kpath), 0);
    assert_int_equal(identity_load(kpath, NULL, &back), RK_OK);
    assert_same_identity(orig, back);
    identity_destroy(&back);
    /* A passphrase offered for a plain file changes nothing. */
    assert_int_equal(identity_load(kpath, "unused", &back), RK_OK);
    assert_same_identity(orig, back);
    identity_destroy(&back);
    identity_destroy(&orig);
}

static void
test_round_trip_encrypted(void **state) {
    fixture_t *f = *state;
    char kpath[128];
    identity_t *orig =
        make_saved(f, "coord.test", IDENTITY_ROLE_COORDINATOR, PASS);
    identity_t *back = NULL;
    uint8_t *data;
    size_t len = 0;

    path_of(kpath, sizeof kpath, f, "coord.test.key");
    assert_mode(kpath, 0600);
    assert_int_equal(identity_file_encrypted(kpath), 1);
    assert_int_equal(identity_load(kpath, PASS, &back), RK_OK);
    assert_same_identity(orig, back);
    assert_int_equal(identity_role(back), IDENTITY_ROLE_COORDINATOR);
    identity_destroy(&back);

    /* No secret byte appears in the encrypted file. */
    data = read_bytes(kpath, &len);
    for (size_t i = 0; i + 8 <= len; i++) {
        assert_memory_not_equal(data + i, identity_sign_sk(orig), 8);
        assert_memory_not_equal(data + i, identity_enc_sk(orig), 8);
        assert_memory_not_equal(data + i, identity_transport_sk(orig), 8);
    }
    free(data);

    assert_int_equal(identity_load(kpath, "wrong passphrase", &back),
                     RK_ERR_PASSPHRASE);
    assert_null(back);
    assert_int_equal(identity_load(kpath, NULL, &back), RK_ERR_PASSPHRASE);
    assert_int_equal(identity_load(kpath, "", &back), RK_ERR_PASSPHRASE);
    assert_null(back);
    identity_destroy(&orig);
}

/* Loads path after writing buf with byte i xor mask: never a key. */
static void
assert_flip_refused(const char *path, const uint8_t *orig, size_t len, size_t i,
                    uint8_t mask, const char *pass) {
    uint8_t *buf = malloc(len);
    identity_t *back = NULL;
    int rc;
    assert_non_null(buf);
    memcpy(buf, orig, len);
    buf[i] ^= mask;
    write_bytes(path, buf, len, 0600);
    rc = identity_load(path, pass, &back);
    if (rc == RK_OK)
        fail_msg("byte %zu ^ 0x%02x of a key file loaded as a key", i, mask);
    assert_null(back);
    assert_true(rc == RK_ERR_MALFORMED || rc == RK_ERR_VERSION ||
                rc == RK_ERR_PASSPHRASE);
    free(buf);
}

static void
test_every_flipped_byte_refused(void **state) {
    fixture_t *f = *state;
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    char kpath[128], cpath[128];
    identity_t *orig = make_saved(f, "sg.csa", IDENTITY_ROLE_PARTNER, NULL);
    identity_t *back = NULL;
    uint8_t *data;
    size_t len = 0;

    path_of(kpath, sizeof kpath, f, "sg.csa.key");
    path_of(cpath, sizeof cpath, f, "copy.key");
    data = read_bytes(kpath, &len);
    assert_true(len > 100);
    for (size_t i = 0; i < len; i++)
        for (size_t m = 0; m < sizeof masks; m++)
            assert_flip_refused(cpath, data, len, i, masks[m], NULL);
    /* The copy itself, unchanged, still loads: the loop tested flips. */
    write_bytes(cpath, data, len, 0600);
    assert_int_equal(identity_load(cpath, NULL, &back), RK_OK);
    assert_same_identity(orig, back);
    identity_destroy(&back);
    free(data);
    identity_destroy(&orig);
}

/* The encrypted file: argon2 is slow, so one flip per field. */
static void
test_flipped_encrypted_fields_refused(void **state) {
    fixture_t *f = *state;
    char kpath[128], cpath[128];
    identity_t *orig = make_saved(f, "us.cisa", IDENTITY_ROLE_PARTNER, PASS);
    uint8_t *data;
    size_t len = 0, idlen = strlen("us.cisa");
    size_t h = 8 + 3 + idlen; /* magic, kdf, role, id length, id */
    /* kdf, role, id, ops, mem, salt, nonce, sealed secrets, tag */
    const size_t at[] = {8,      9,      11,     h + 7,  h + 13,
                         h + 16, h + 32, h + 56, h + 100};

    path_of(kpath, sizeof kpath, f, "us.cisa.key");
    path_of(cpath, sizeof cpath, f, "copy.key");
    data = read_bytes(kpath, &len);
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        assert_true(at[i] < len);
        assert_flip_refused(cpath, data, len, at[i], 0x01, PASS);
    }
    assert_flip_refused(cpath, data, len, len - 1, 0x01, PASS);
    free(data);
    identity_destroy(&orig);
}

static void
test_truncated_empty_and_foreign_files(void **state) {
    fixture_t *f = *state;
    char kpath[128], cpath[128];
    identity_t *orig = make_saved(f, "fr.anssi", IDENTITY_ROLE_PARTNER, NULL);
    identity_t *back = NULL;
    uint8_t *data, *pub, big[IDENTITY_KEYFILE_MAX + 16];
    size_t len = 0, plen = 0;
    const char *text = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n";

    path_of(kpath, sizeof kpath, f, "fr.anssi.key");
    path_of(cpath, sizeof cpath, f, "other.key");
    data = read_bytes(kpath, &len);
    for (size_t n = 0; n < len; n++) {
        write_bytes(cpath, data, n, 0600);
        assert_int_equal(identity_load(cpath, NULL, &back), RK_ERR_MALFORMED);
        assert_null(back);
    }
    assert_int_equal(identity_file_encrypted(cpath), RK_ERR_MALFORMED);

    /* One byte too many. */
    memset(big, 0, sizeof big);
    memcpy(big, data, len);
    write_bytes(cpath, big, len + 1, 0600);
    assert_int_equal(identity_load(cpath, NULL, &back), RK_ERR_MALFORMED);
    /* Larger than any key file. */
    write_bytes(cpath, big, sizeof big, 0600);
    assert_int_equal(identity_load(cpath, NULL, &back), RK_ERR_MALFORMED);

    /* Another format: the public file, an SSH key, text. */
    path_of(kpath, sizeof kpath, f, "fr.anssi.pub");
    pub = read_bytes(kpath, &plen);
    write_bytes(cpath, pub, plen, 0600);
    assert_int_equal(identity_load(cpath, NULL, &back), RK_ERR_MALFORMED);
    write_bytes(cpath, text, strlen(text), 0600);
    assert_int_equal(identity_load(cpath, NULL, &back), RK_ERR_MALFORMED);

    /* The right magic and an unknown key derivation: a newer format. */
    memcpy(big, data, len);
    big[8] = 7;
    write_bytes(cpath, big, len, 0600);
    assert_int_equal(identity_load(cpath, NULL, &back), RK_ERR_VERSION);

    path_of(cpath, sizeof cpath, f, "missing.key");
    assert_int_equal(identity_load(cpath, NULL, &back), RK_ERR_NOT_FOUND);
    assert_null(back);
    free(pub);
    free(data);
    identity_destroy(&orig);
}

static void
test_unsafe_modes_and_links_refused(void **state) {
    fixture_t *f = *state;
    char kpath[128], lpath[128];
    identity_t *orig = make_saved(f, "de.bsi", IDENTITY_ROLE_PARTNER, NULL);
    identity_t *back = NULL;
    static const mode_t bad[] = {0644, 0640, 0604, 0660, 0606, 0700 | 0004};

    path_of(kpath, sizeof kpath, f, "de.bsi.key");
    path_of(lpath, sizeof lpath, f, "link.key");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(kpath, bad[i]), 0);
        assert_int_equal(identity_load(kpath, NULL, &back), RK_ERR_PERMISSION);
        assert_null(back);
        assert_int_equal(identity_file_encrypted(kpath), RK_ERR_PERMISSION);
    }
    /* 0400 is stricter than 0600 and fine. */
    assert_int_equal(chmod(kpath, 0400), 0);
    assert_int_equal(identity_load(kpath, NULL, &back), RK_OK);
    identity_destroy(&back);
    assert_int_equal(chmod(kpath, 0600), 0);

    /* A link to a good key file is still refused. */
    assert_int_equal(symlink(kpath, lpath), 0);
    assert_int_equal(identity_load(lpath, NULL, &back), RK_ERR_PERMISSION);
    assert_null(back);
    assert_int_equal(identity_file_encrypted(lpath), RK_ERR_PERMISSION);
    /* A directory is not a key file either. */
    assert_int_equal(identity_load(f->dir, NULL, &back), RK_ERR_PERMISSION);

    assert_int_equal(identity_load(kpath, NULL, &back), RK_OK);
    assert_same_identity(orig, back);
    identity_destroy(&back);
    identity_destroy(&orig);
}

static void
test_save_never_overwrites(void **state) {
    fixture_t *f = *state;
    char kpath[128], ppath[128];
    identity_t *first = make_saved(f, "jp.nisc", IDENTITY_ROLE_PARTNER, NULL);
    identity_t *second = identity_generate("jp.nisc", IDENTITY_ROLE_PARTNER);
    identity_t *back = NULL;
    uint8_t *k1, *p1, *k2, *p2;
    size_t kl1, pl1, kl2, pl2;

    path_of(kpath, sizeof kpath, f, "jp.nisc.key");
    path_of(ppath, sizeof ppath, f, "jp.nisc.pub");
    k1 = read_bytes(kpath, &kl1);
    p1 = read_bytes(ppath, &pl1);
    assert_non_null(second);
    assert_int_equal(identity_save(second, f->dir, NULL), RK_ERR_EXISTS);
    assert_int_equal(identity_save(second, f->dir, PASS), RK_ERR_EXISTS);
    k2 = read_bytes(kpath, &kl2);
    p2 = read_bytes(ppath, &pl2);
    assert_int_equal(kl1, kl2);
    assert_memory_equal(k1, k2, kl1);
    assert_int_equal(pl1, pl2);
    assert_memory_equal(p1, p2, pl1);
    assert_int_equal(identity_load(kpath, NULL, &back), RK_OK);
    assert_same_identity(first, back);
    identity_destroy(&back);

    /* Either file existing is enough to refuse. */
    assert_int_equal(unlink(kpath), 0);
    assert_int_equal(identity_save(second, f->dir, NULL), RK_ERR_EXISTS);
    free(p2);
    p2 = read_bytes(ppath, &pl2);
    assert_memory_equal(p1, p2, pl1);
    assert_int_equal(access(kpath, F_OK), -1);

    free(k1);
    free(p1);
    free(k2);
    free(p2);
    identity_destroy(&first);
    identity_destroy(&second);
}

static void
test_public_file_round_trip(void **state) {
    fixture_t *f = *state;
    char ppath[128], err[256] = "";
    identity_t *ident = make_saved(f, "relay.main", IDENTITY_ROLE_RELAY, NULL);
    const identity_public_t *pub = identity_public(ident);
    identity_public_t back;
    char *text = identity_public_to_json(pub), *again;

    assert_non_null(text);
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_non_null(strstr(text, "\"renraku_public_key\": 1"));
    assert_non_null(strstr(text, "\"role\": \"relay\""));
    assert_int_equal(
        identity_public_from_json(text, strlen(text), &back, err, sizeof err),
        RK_OK);
    assert_string_equal(back.id, "relay.main");
    assert_int_equal(back.role, IDENTITY_ROLE_RELAY);
    assert_memory_equal(back.sign_pk, pub->sign_pk, 32);
    assert_memory_equal(back.enc_pk, pub->enc_pk, 32);
    assert_memory_equal(back.transport_pk, pub->transport_pk, 32);
    again = identity_public_to_json(&back);
    assert_string_equal(again, text);

    /* The saved .pub file says the same. */
    path_of(ppath, sizeof ppath, f, "relay.main.pub");
    memset(&back, 0, sizeof back);
    assert_int_equal(identity_public_load(ppath, &back, err, sizeof err),
                     RK_OK);
    assert_string_equal(back.id, "relay.main");
    assert_memory_equal(back.sign_pk, pub->sign_pk, 32);
    assert_memory_equal(back.enc_pk, pub->enc_pk, 32);
    assert_memory_equal(back.transport_pk, pub->transport_pk, 32);

    path_of(ppath, sizeof ppath, f, "nobody.pub");
    assert_int_equal(identity_public_load(ppath, &back, err, sizeof err),
                     RK_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "nobody.pub"));
    /* A parse error names the file too, then the field. */
    path_of(ppath, sizeof ppath, f, "bad.pub");
    assert_int_equal(rk_write_file(ppath, "{\"id\":1}", 8, 0644, 0), RK_OK);
    assert_int_equal(identity_public_load(ppath, &back, err, sizeof err),
                     RK_ERR_VERSION);
    assert_int_equal(strncmp(err, ppath, strlen(ppath)), 0);
    assert_non_null(strstr(err, ": renraku_public_key: must be 1"));
    free(again);
    free(text);
    identity_destroy(&ident);
}

/* Parses the valid public JSON of a fresh identity, lets edit change it,
 * and expects code with an error naming `names`. */
static void
expect_public_refused(void (*edit)(json_t *), int code, const char *names) {
    identity_t *ident = identity_generate("jp.nisc", IDENTITY_ROLE_PARTNER);
    char *text = identity_public_to_json(identity_public(ident)), *bad;
    json_t *o = json_loads(text, 0, NULL);
    identity_public_t out;
    char err[256] = "";

    assert_non_null(o);
    edit(o);
    bad = json_dumps(o, JSON_PRESERVE_ORDER);
    assert_non_null(bad);
    assert_int_equal(
        identity_public_from_json(bad, strlen(bad), &out, err, sizeof err),
        code);
    if (!strstr(err, names))
        fail_msg("error \"%s\" does not name \"%s\" (input %s)", err, names,
                 bad);
    free(bad);
    json_decref(o);
    free(text);
    identity_destroy(&ident);
}

static void
e_unknown(json_t *o) {
    json_object_set_new(o, "colour", json_string("red"));
}
static void
e_bad_b64(json_t *o) {
    json_object_set_new(o, "enc", json_string("not base64!"));
}
static void
e_short_key(json_t *o) {
    json_object_set_new(o, "sign", json_string("AAAA"));
}
static void
e_long_key(json_t *o) {
    /* 48 characters of base64: 36 bytes, a key and 4 bytes more. */
    json_object_set_new(
        o, "transport",
        json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
}
static void
e_missing_key(json_t *o) {
    json_object_del(o, "transport");
}
static void
e_version(json_t *o) {
    json_object_set_new(o, "renraku_public_key", json_integer(2));
}
static void
e_version_string(json_t *o) {
    json_object_set_new(o, "renraku_public_key", json_string("1"));
}
static void
e_bad_id(json_t *o) {
    json_object_set_new(o, "id", json_string("JP NISC"));
}
static void
e_long_id(json_t *o) {
    char id[80];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = 0;
    json_object_set_new(o, "id", json_string(id));
}
static void
e_nul_id(json_t *o) {
    json_object_set_new(o, "id", json_stringn("jp.nisc\0evil", 12));
}
static void
e_bad_role(json_t *o) {
    json_object_set_new(o, "role", json_string("admin"));
}
static void
e_no_role(json_t *o) {
    json_object_del(o, "role");
}

static void
test_public_file_refusals(void **state) {
    identity_public_t out;
    char err[256] = "";
    const char *dup =
        "{\"renraku_public_key\": 1, \"id\": \"a\", \"id\": \"b\"}";
    (void)state;

    expect_public_refused(e_unknown, RK_ERR_MALFORMED, "colour: unknown field");
    /* A key says which it is not: base64, or 32 bytes (and how many). */
    expect_public_refused(e_bad_b64, RK_ERR_MALFORMED,
                          "enc: not 32 bytes of base64: not base64 at all");
    expect_public_refused(e_short_key, RK_ERR_MALFORMED,
                          "sign: not 32 bytes of base64: it decodes to 3 "
                          "bytes (a key is 32 bytes");
    expect_public_refused(e_long_key, RK_ERR_MALFORMED,
                          "transport: not 32 bytes of base64: it decodes to "
                          "36 bytes");
    expect_public_refused(e_missing_key, RK_ERR_MALFORMED, "transport:");
    expect_public_refused(e_version, RK_ERR_VERSION, "renraku_public_key");
    expect_public_refused(e_version_string, RK_ERR_VERSION,
                          "renraku_public_key");
    expect_public_refused(e_bad_id, RK_ERR_MALFORMED, "id:");
    expect_public_refused(e_long_id, RK_ERR_MALFORMED, "id:");
    /* jansson refuses \u0000 before we see it. */
    expect_public_refused(e_nul_id, RK_ERR_MALFORMED, "u0000");
    expect_public_refused(e_bad_role, RK_ERR_MALFORMED, "role:");
    expect_public_refused(e_no_role, RK_ERR_MALFORMED, "role:");

    assert_int_equal(identity_public_from_json("[1]", 3, &out, err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_non_null(strstr(err, "not a JSON object"));
    assert_int_equal(
        identity_public_from_json("{\"id\":", 6, &out, err, sizeof err),
        RK_ERR_MALFORMED);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(
        identity_public_from_json(dup, strlen(dup), &out, err, sizeof err),
        RK_ERR_MALFORMED);
    /* Nothing, or white space: said so, not jansson's "'[' or '{'
     * expected near end of file". */
    assert_int_equal(identity_public_from_json("", 0, &out, err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_non_null(strstr(err, "empty: no public key in it"));
    assert_int_equal(
        identity_public_from_json(" \n\t\r\n", 5, &out, err, sizeof err),
        RK_ERR_MALFORMED);
    assert_non_null(strstr(err, "empty: no public key in it"));
    /* A NUL is not white space. */
    assert_int_equal(
        identity_public_from_json(" \0 ", 3, &out, err, sizeof err),
        RK_ERR_MALFORMED);
    assert_null(strstr(err, "empty"));
}

/* identity_public_load names the file first, then what it is: an empty
 * file, or a secret key file given for a public one (its bytes made a
 * JSON error: "'[' or '{' expected near 'RNRKSEC'"). */
static void
test_public_load_names_file_and_problem(void **state) {
    fixture_t *f = *state;
    char ppath[128], err[512] = "";
    identity_t *ident = make_saved(f, "jp.nisc", IDENTITY_ROLE_PARTNER, PASS);
    identity_public_t back;

    path_of(ppath, sizeof ppath, f, "jp.nisc.key");
    assert_int_equal(identity_public_load(ppath, &back, err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_int_equal(strncmp(err, ppath, strlen(ppath)), 0);
    assert_non_null(strstr(err, ": a secret key file (.key), not a public "
                                "key file (.pub)"));
    assert_null(strstr(err, "JSON"));

    path_of(ppath, sizeof ppath, f, "empty.pub");
    write_bytes(ppath, "", 0, 0644);
    assert_int_equal(identity_public_load(ppath, &back, err, sizeof err),
                     RK_ERR_MALFORMED);
    assert_int_equal(strncmp(err, ppath, strlen(ppath)), 0);
    assert_non_null(strstr(err, ": empty: no public key in it"));
    identity_destroy(&ident);
}

/* A .pub path that does not exist, or names a folder: the error says so
 * after the path, in identity_public_load and in unlock_verifier (what
 * renraku-relay, renrakud, renraku-audit and renraku-drill do with
 * --coordinator), not "input/output error", nor only that it is not a
 * verifier key. */
static void
test_public_load_missing_or_directory(void **state) {
    fixture_t *f = *state;
    char path[128], want[256], err[512] = "";
    identity_public_t back;
    note_verifier_t v;

    path_of(path, sizeof path, f, "missing.pub");
    assert_int_equal(identity_public_load(path, &back, err, sizeof err),
                     RK_ERR_NOT_FOUND);
    snprintf(want, sizeof want, "%s: no such file", path);
    assert_string_equal(err, want);
    assert_int_equal(unlock_verifier(path, &v, err, sizeof err),
                     RK_ERR_NOT_FOUND);
    snprintf(want, sizeof want,
             "%s: no such file, and not a verifier key (name+hash+key) "
             "either",
             path);
    assert_string_equal(err, want);

    path_of(path, sizeof path, f, "keys.d");
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(identity_public_load(path, &back, err, sizeof err),
                     RK_ERR_IO);
    snprintf(want, sizeof want,
             "%s: is a directory, not a public key file (.pub)", path);
    assert_string_equal(err, want);
    assert_int_equal(unlock_verifier(path, &v, err, sizeof err), RK_ERR_IO);
    assert_string_equal(err, want);
    assert_int_equal(rmdir(path), 0);
}

/* unlock_verifier pins only a coordinator's .pub: the .pub of a node or a
 * relay is named with its id and role, not taken (every roster would then
 * be refused as not signed by it, which reads as tampering). A verifier
 * key has no role and is taken as it is. */
static void
test_verifier_needs_coordinator_role(void **state) {
    static const identity_role_t others[] = {
        IDENTITY_ROLE_PARTNER, IDENTITY_ROLE_CONTROLLER, IDENTITY_ROLE_AUDITOR,
        IDENTITY_ROLE_RELAY};
    fixture_t *f = *state;
    char path[128], name[48], want[512], err[512] = "", id[32], *vkey = NULL;
    identity_t *ident;
    note_verifier_t v;

    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        const char *role = identity_role_name(others[i]);
        snprintf(id, sizeof id, "%s.x", role);
        ident = make_saved(f, id, others[i], NULL);
        snprintf(name, sizeof name, "%s.pub", id);
        path_of(path, sizeof path, f, name);
        memset(&v, 0, sizeof v);
        assert_int_equal(unlock_verifier(path, &v, err, sizeof err),
                         RK_ERR_INVALID);
        snprintf(want, sizeof want,
                 "%s: the key of '%s', role %s; --coordinator needs the "
                 "coordinator's key (role coordinator), which signs the "
                 "roster",
                 path, id, role);
        assert_string_equal(err, want);
        assert_string_equal(v.name, ""); /* nothing pinned */
        assert_int_equal(unlock_coordinator_role(path, identity_public(ident),
                                                 err, sizeof err),
                         RK_ERR_INVALID);
        assert_string_equal(err, want);
        /* Its verifier key, given as text, has no role to check. */
        assert_int_equal(
            note_vkey_format(id, identity_public(ident)->sign_pk, &vkey),
            RK_OK);
        assert_int_equal(unlock_verifier(vkey, &v, err, sizeof err), RK_OK);
        assert_string_equal(v.name, id);
        free(vkey);
        vkey = NULL;
        identity_destroy(&ident);
    }

    ident = make_saved(f, "coord.x", IDENTITY_ROLE_COORDINATOR, NULL);
    path_of(path, sizeof path, f, "coord.x.pub");
    assert_int_equal(unlock_verifier(path, &v, err, sizeof err), RK_OK);
    assert_string_equal(v.name, "coord.x");
    assert_memory_equal(v.pk, identity_public(ident)->sign_pk, 32);
    assert_int_equal(
        unlock_coordinator_role(path, identity_public(ident), err, sizeof err),
        RK_OK);
    identity_destroy(&ident);
}

/* identity_file_kind: what renraku-keys show and vkey go by. */
static void
test_file_kind(void **state) {
    fixture_t *f = *state;
    char path[128], text[300];
    identity_t *ident = make_saved(f, "jp.nisc", IDENTITY_ROLE_PARTNER, NULL);

    path_of(path, sizeof path, f, "jp.nisc.key");
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_SECRET);
    /* Mode and links are the loader's to refuse: the kind is the same. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_SECRET);
    path_of(path, sizeof path, f, "jp.nisc.pub");
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_PUBLIC);

    path_of(path, sizeof path, f, "x");
    write_bytes(path, "", 0, 0600);
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_EMPTY);
    write_bytes(path, " \n\t\r\n", 5, 0600);
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_EMPTY);
    /* White space longer than the magic, then JSON, then nothing else. */
    memset(text, ' ', sizeof text);
    text[sizeof text - 1] = '{';
    write_bytes(path, text, sizeof text, 0600);
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_PUBLIC);
    write_bytes(path, text, sizeof text - 1, 0600);
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_EMPTY);
    write_bytes(path, "RNRKSEC", 7, 0600); /* the magic cut short */
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_OTHER);
    write_bytes(path, "  RNRKSEC1", 10, 0600); /* only at the start */
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_OTHER);
    write_bytes(path, " \0{", 3, 0600);
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_OTHER);
    write_bytes(path, "jp.nisc+0efb76d4+AQUJ\n", 22, 0600);
    assert_int_equal(identity_file_kind(path), IDENTITY_FILE_OTHER);

    path_of(path, sizeof path, f, "nobody.pub");
    assert_int_equal(identity_file_kind(path), RK_ERR_NOT_FOUND);
    assert_int_equal(identity_file_kind(f->dir), RK_ERR_IO);
    identity_destroy(&ident);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_refuses_bad_arguments),
        cmocka_unit_test(test_role_names),
        cmocka_unit_test_setup_teardown(test_round_trip_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_encrypted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_flipped_byte_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flipped_encrypted_fields_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_empty_and_foreign_files,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_modes_and_links_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_never_overwrites, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_public_file_round_trip, setup,
                                        teardown),
        cmocka_unit_test(test_public_file_refusals),
        cmocka_unit_test_setup_teardown(test_public_load_names_file_and_problem,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_load_missing_or_directory,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_verifier_needs_coordinator_role,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_kind, setup, teardown),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

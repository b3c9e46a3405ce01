/* Unit tests for proto/merkle: the RFC 6962 vectors in ../shared/vectors,
 * and the tree's roots and proofs against a naive recursive recomputation
 * written here straight from RFC 6962 section 2.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four above, which it needs */

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "merkle.h"
#include "rk_util.h"

#define H MERKLE_HASH_LEN

/* What ../shared/vectors/rfc6962 holds (README.md there): a missing or
 * renamed folder changes these and fails the test. */
#define VEC_INCLUSION_CASES 98
#define VEC_INCLUSION_ACCEPT 6
#define VEC_CONSISTENCY_CASES 98
#define VEC_CONSISTENCY_ACCEPT 6
#define VEC_REFERENCE_CASES 5     /* happy paths of <kind>/<digit>/ per kind */
#define VEC_INCLUSION_BAD_LEAF 11 /* leafHash not 32 bytes */

/* ---- naive RFC 6962 section 2.1, on an array of leaf hashes ---- */

/* Largest power of two strictly below n, by counting up. */
static uint64_t
naive_split(uint64_t n) {
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

/* MTH(D[lo:lo+n]). */
static void
naive_mth(const uint8_t *lh, uint64_t lo, uint64_t n, uint8_t out[H]) {
    uint8_t l[H], r[H];
    uint64_t k;

    if (n == 0) {
        crypto_hash_sha256(out, NULL, 0);
        return;
    }
    if (n == 1) {
        memcpy(out, lh + lo * H, H);
        return;
    }
    k = naive_split(n);
    naive_mth(lh, lo, k, l);
    naive_mth(lh, lo + k, n - k, r);
    merkle_node_hash(l, r, out);
}

/* PATH(m, D[lo:lo+n]), appended to out at *k. */
static void
naive_path(const uint8_t *lh, uint64_t m, uint64_t lo, uint64_t n, uint8_t *out,
           size_t *k) {
    uint64_t s;

    if (n <= 1)
        return;
    s = naive_split(n);
    if (m < s) {
        naive_path(lh, m, lo, s, out, k);
        naive_mth(lh, lo + s, n - s, out + *k * H);
    } else {
        naive_path(lh, m - s, lo + s, n - s, out, k);
        naive_mth(lh, lo, s, out + *k * H);
    }
    (*k)++;
}

/* SUBPROOF(m, D[lo:lo+n], b), appended to out at *k. */
static void
naive_subproof(const uint8_t *lh, uint64_t m, uint64_t lo, uint64_t n, bool b,
               uint8_t *out, size_t *k) {
    uint64_t s;

    if (m == n) {
        if (!b) {
            naive_mth(lh, lo, n, out + *k * H);
            (*k)++;
        }
        return;
    }
    s = naive_split(n);
    if (m <= s) {
        naive_subproof(lh, m, lo, s, b, out, k);
        naive_mth(lh, lo + s, n - s, out + *k * H);
    } else {
        naive_subproof(lh, m - s, lo + s, n - s, false, out, k);
        naive_mth(lh, lo, s, out + *k * H);
    }
    (*k)++;
}

/* ---- fixtures ---- */

/* n distinct leaves: leaf i is the 8-byte big-endian i; lh gets their
 * hashes, the tree gets them appended. */
static uint8_t *
make_leaves(uint64_t n, merkle_tree_t **tree) {
    uint8_t *lh = malloc(n ? n * H : 1);
    uint8_t d[8];

    assert_non_null(lh);
    *tree = merkle_tree_new();
    assert_non_null(*tree);
    for (uint64_t i = 0; i < n; i++) {
        rk_put_be64(d, i);
        merkle_leaf_hash(d, sizeof d, lh + i * H);
        assert_int_equal(merkle_tree_append(*tree, lh + i * H), RK_OK);
    }
    assert_int_equal(merkle_tree_size(*tree), n);
    return lh;
}

static uint64_t
rng_next(uint64_t *s) {
    /* xorshift64: deterministic, so a failure reproduces. */
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void
unhex32(uint8_t out[H], const char *hex) {
    assert_int_equal(rk_unhex(out, H, hex), RK_OK);
}

/* ---- hashing ---- */

static void
test_hash_known_answers(void **state) {
    uint8_t got[H], want[H], buf[1 + 2 * H], l[H], r[H];
    (void)state;

    merkle_empty_root(got);
    unhex32(want, "e3b0c44298fc1c149afbf4c8996fb924"
                  "27ae41e4649b934ca495991b7852b855");
    assert_memory_equal(got, want, H);

    merkle_leaf_hash(NULL, 0, got);
    unhex32(want, "6e340b9cffb37a989ca544e6bb780a2c"
                  "78901d3fb33738768511a30617afa01d");
    assert_memory_equal(got, want, H);

    merkle_leaf_hash((const uint8_t *)"\x10", 1, l);
    buf[0] = 0x00;
    buf[1] = 0x10;
    crypto_hash_sha256(want, buf, 2);
    assert_memory_equal(l, want, H);

    merkle_leaf_hash((const uint8_t *)"\x20\x21", 2, r);
    buf[0] = 0x01;
    memcpy(buf + 1, l, H);
    memcpy(buf + 1 + H, r, H);
    crypto_hash_sha256(want, buf, sizeof buf);
    merkle_node_hash(l, r, got);
    assert_memory_equal(got, want, H);
    merkle_node_hash(l, r, l); /* out may alias an input */
    assert_memory_equal(l, want, H);
}

/* ---- the vectors ---- */

/* The reference tree of the vectors' README. */
static merkle_tree_t *
reference_tree(void) {
    static const char *hex[8] = {
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    };
    merkle_tree_t *t = merkle_tree_new();
    assert_non_null(t);
    for (int i = 0; i < 8; i++) {
        uint8_t d[16], lh[H];
        size_t len = strlen(hex[i]) / 2;
        if (len)
            assert_int_equal(rk_unhex(d, len, hex[i]), RK_OK);
        merkle_leaf_hash(d, len, lh);
        assert_int_equal(merkle_tree_append(t, lh), RK_OK);
    }
    return t;
}

typedef struct {
    merkle_tree_t *ref;
    size_t cases, accepted, rejected, reference, stand_ins, decode_refused;
    size_t length_only; /* refused only by the leaf hash length rule */
} vec_counts_t;

/* A base64 hash from the JSON into out. The API carries exactly 32 bytes,
 * and the vectors (written for a byte-string API) also hold "", 9- and
 * 12-byte values. A root or proof entry of another length becomes
 * SHA-256(tag || value): equal values stay equal, and none can equal a
 * real hash, so the verifier's own arithmetic must refuse what it should.
 * A leaf hash of another length is refused before the verifier, as RFC
 * 9162's reference code and our wire decoders do (strict): returns
 * false. */
static bool
vec_hash(const char *path, json_t *v, uint8_t out[H], bool strict,
         vec_counts_t *c) {
    static const char tag[] = "renraku test: not a 32-byte hash";
    uint8_t buf[64];
    size_t len = 0;
    crypto_hash_sha256_state st;

    if (!json_is_string(v))
        fail_msg("%s: hash is not a string", path);
    if (rk_unb64(buf, sizeof buf, &len, json_string_value(v),
                 json_string_length(v)) != RK_OK)
        fail_msg("%s: bad base64 %s", path, json_string_value(v));
    if (len == H) {
        memcpy(out, buf, H);
        return true;
    }
    if (strict)
        return false;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)tag, sizeof tag);
    crypto_hash_sha256_update(&st, buf, len);
    crypto_hash_sha256_final(&st, out);
    c->stand_ins++;
    return true;
}

/* A count from the JSON. jansson's integers are signed 64-bit, and two
 * vectors hold 2^64 - 1 (index 0 minus one), so numbers are loaded as
 * reals (JSON_DECODE_INT_AS_REAL) and the exact value is read from the
 * file's text, then checked against jansson's. */
static uint64_t
vec_u64(const char *path, json_t *o, const char *text, const char *key) {
    json_t *v = json_object_get(o, key);
    char pat[32];
    const char *p;
    char *end = NULL;
    unsigned long long u;

    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = strstr(text, pat);
    if (!json_is_number(v) || !p)
        fail_msg("%s: %s is not a number", path, key);
    p += strlen(pat);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')
        p++;
    if (*p < '0' || *p > '9')
        fail_msg("%s: %s is not a count", path, key);
    errno = 0;
    u = strtoull(p, &end, 10);
    if (errno != 0 || json_number_value(v) != (double)u)
        fail_msg("%s: %s does not fit 64 bits", path, key);
    return (uint64_t)u;
}

/* Loads one vector file; *text is the raw file, to free. */
static json_t *
vec_load(const char *path, char **text) {
    json_error_t err;
    uint8_t *buf = NULL;
    size_t len = 0;
    json_t *o;

    assert_int_equal(rk_read_file(path, 1u << 20, &buf, &len), RK_OK);
    o = json_loadb((const char *)buf, len, JSON_DECODE_INT_AS_REAL, &err);
    if (!o)
        fail_msg("%s: %s", path, err.text);
    *text = (char *)buf; /* NUL-terminated by rk_read_file */
    return o;
}

/* The proof array (null counts as empty); *out is malloc'd. */
static size_t
vec_proof(const char *path, json_t *o, uint8_t **out, vec_counts_t *c) {
    json_t *a = json_object_get(o, "proof");
    size_t n = json_is_array(a) ? json_array_size(a) : 0;

    if (!json_is_array(a) && !json_is_null(a))
        fail_msg("%s: proof is neither an array nor null", path);
    *out = malloc(n ? n * H : 1);
    assert_non_null(*out);
    for (size_t i = 0; i < n; i++)
        (void)vec_hash(path, json_array_get(a, i), *out + i * H, false, c);
    return n;
}

static bool
vec_want_err(const char *path, json_t *o) {
    json_t *v = json_object_get(o, "wantErr");
    if (!json_is_boolean(v))
        fail_msg("%s: wantErr is not a boolean", path);
    return json_is_true(v);
}

static void
vec_check_result(const char *path, bool want_err, int rc, vec_counts_t *c) {
    if (want_err && rc == RK_OK)
        fail_msg("%s: accepted, should be refused", path);
    if (!want_err && rc != RK_OK)
        fail_msg("%s: refused (%s), should be accepted", path, rk_strerror(rc));
    if (rc == RK_ERR_MALFORMED)
        c->decode_refused++;
    else if (want_err && rc != RK_ERR_INVALID && rc != RK_ERR_MISMATCH)
        fail_msg("%s: unexpected error %d", path, rc);
    c->cases++;
    if (want_err)
        c->rejected++;
    else
        c->accepted++;
}

/* A generated proof must be the vector's, hash for hash. */
static void
vec_same_proof(const char *path, const uint8_t *got, size_t got_n,
               const uint8_t *want, size_t want_n) {
    if (got_n != want_n || (got_n && memcmp(got, want, got_n * H) != 0))
        fail_msg("%s: generated proof differs from the vector's", path);
}

static void
vec_inclusion(const char *path, bool reference, vec_counts_t *c) {
    char *text = NULL;
    json_t *o = vec_load(path, &text);
    uint8_t root[H], leaf[H], *proof = NULL, mine[MERKLE_MAX_PROOF * H];
    uint64_t idx, size;
    size_t n, mine_n = 0;
    bool want_err, leaf_ok;

    idx = vec_u64(path, o, text, "leafIdx");
    size = vec_u64(path, o, text, "treeSize");
    (void)vec_hash(path, json_object_get(o, "root"), root, false, c);
    leaf_ok = vec_hash(path, json_object_get(o, "leafHash"), leaf, true, c);
    n = vec_proof(path, o, &proof, c);
    want_err = vec_want_err(path, o);
    vec_check_result(
        path, want_err,
        leaf_ok ? merkle_verify_inclusion(idx, size, leaf, proof, n, root)
                : RK_ERR_MALFORMED,
        c);
    if (!leaf_ok) {
        /* Would the verifier have refused it anyway, given a stand-in? */
        (void)vec_hash(path, json_object_get(o, "leafHash"), leaf, false, c);
        if (merkle_verify_inclusion(idx, size, leaf, proof, n, root) == RK_OK)
            c->length_only++;
    }
    if (reference && !want_err) {
        uint8_t r[H], l[H];
        assert_int_equal(merkle_tree_root(c->ref, size, r), RK_OK);
        assert_memory_equal(r, root, H);
        assert_int_equal(merkle_tree_leaf(c->ref, idx, l), RK_OK);
        assert_memory_equal(l, leaf, H);
        assert_int_equal(
            merkle_tree_inclusion_proof(c->ref, idx, size, mine, &mine_n),
            RK_OK);
        vec_same_proof(path, mine, mine_n, proof, n);
        c->reference++;
    }
    free(proof);
    free(text);
    json_decref(o);
}

static void
vec_consistency(const char *path, bool reference, vec_counts_t *c) {
    char *text = NULL;
    json_t *o = vec_load(path, &text);
    uint8_t root1[H], root2[H], *proof = NULL, mine[MERKLE_MAX_PROOF * H];
    uint64_t size1, size2;
    size_t n, mine_n = 0;
    bool want_err;

    size1 = vec_u64(path, o, text, "size1");
    size2 = vec_u64(path, o, text, "size2");
    (void)vec_hash(path, json_object_get(o, "root1"), root1, false, c);
    (void)vec_hash(path, json_object_get(o, "root2"), root2, false, c);
    n = vec_proof(path, o, &proof, c);
    want_err = vec_want_err(path, o);
    vec_check_result(
        path, want_err,
        merkle_verify_consistency(size1, size2, root1, root2, proof, n), c);
    if (reference && !want_err) {
        uint8_t r[H];
        assert_int_equal(merkle_tree_root(c->ref, size1, r), RK_OK);
        assert_memory_equal(r, root1, H);
        assert_int_equal(merkle_tree_root(c->ref, size2, r), RK_OK);
        assert_memory_equal(r, root2, H);
        assert_int_equal(
            merkle_tree_consistency_proof(c->ref, size1, size2, mine, &mine_n),
            RK_OK);
        vec_same_proof(path, mine, mine_n, proof, n);
        c->reference++;
    }
    free(proof);
    free(text);
    json_decref(o);
}

static bool
all_digits(const char *s) {
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Runs every *.json below dir. Cases in <kind>/<digits>/ are about the
 * reference tree; "additional" and "single-entry" are not. */
static void
vec_walk(const char *dir, int depth, bool reference, bool inclusion,
         vec_counts_t *c) {
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        fail_msg("cannot open vectors folder %s", dir);
    while ((de = readdir(d))) {
        char path[4096];
        struct stat st;
        size_t len = strlen(de->d_name);

        if (de->d_name[0] == '.')
            continue;
        assert_true(snprintf(path, sizeof path, "%s/%s", dir, de->d_name) <
                    (int)sizeof path);
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode))
            vec_walk(path, depth + 1, depth == 0 && all_digits(de->d_name),
                     inclusion, c);
        else if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0)
            (inclusion ? vec_inclusion : vec_consistency)(path, reference, c);
    }
    closedir(d);
}

static void
test_inclusion_vectors(void **state) {
    vec_counts_t c = {.ref = reference_tree()};
    (void)state;

    vec_walk(RK_VECTORS_DIR "/rfc6962/inclusion", 0, false, true, &c);
    printf("inclusion vectors: %zu cases, %zu accepted, %zu refused, %zu "
           "checked against the reference tree, %zu hashes not 32 bytes, %zu "
           "refused before the verifier\n",
           c.cases, c.accepted, c.rejected, c.reference, c.stand_ins,
           c.decode_refused);
    assert_int_equal(c.cases, VEC_INCLUSION_CASES);
    assert_int_equal(c.accepted, VEC_INCLUSION_ACCEPT);
    assert_int_equal(c.rejected, VEC_INCLUSION_CASES - VEC_INCLUSION_ACCEPT);
    assert_int_equal(c.reference, VEC_REFERENCE_CASES);
    /* Leaf hashes of 0 or 9 bytes are refused before the verifier, and
     * every such case but one is refused by the verifier too when given a
     * stand-in: single-entry/empty-root-and-leaf, where leaf and root are
     * both "" and so equal, as a one-leaf tree's are. */
    assert_int_equal(c.decode_refused, VEC_INCLUSION_BAD_LEAF);
    assert_int_equal(c.length_only, 1);
    merkle_tree_destroy(&c.ref);
}

static void
test_consistency_vectors(void **state) {
    vec_counts_t c = {.ref = reference_tree()};
    (void)state;

    vec_walk(RK_VECTORS_DIR "/rfc6962/consistency", 0, false, false, &c);
    printf("consistency vectors: %zu cases, %zu accepted, %zu refused, %zu "
           "checked against the reference tree, %zu hashes not 32 bytes, %zu "
           "refused before the verifier\n",
           c.cases, c.accepted, c.rejected, c.reference, c.stand_ins,
           c.decode_refused);
    assert_int_equal(c.cases, VEC_CONSISTENCY_CASES);
    assert_int_equal(c.accepted, VEC_CONSISTENCY_ACCEPT);
    assert_int_equal(c.rejected,
                     VEC_CONSISTENCY_CASES - VEC_CONSISTENCY_ACCEPT);
    assert_int_equal(c.reference, VEC_REFERENCE_CASES);
    assert_int_equal(c.decode_refused, 0);
    merkle_tree_destroy(&c.ref);
}

static void
test_reference_tree_root(void **state) {
    merkle_tree_t *t = reference_tree();
    uint8_t got[H], want[H];
    (void)state;

    /* The 8-leaf root every RFC 6962 implementation agrees on; the same
     * value is root2 of consistency/1/happy-path.json. */
    unhex32(want, "5dc9da79a70659a9ad559cb701ded9a2"
                  "ab9d823aad2f4960cfe370eff4604328");
    assert_int_equal(merkle_tree_root(t, 8, got), RK_OK);
    assert_memory_equal(got, want, H);
    merkle_tree_destroy(&t);
    assert_null(t);
    merkle_tree_destroy(&t); /* destroyed twice: harmless */
    merkle_tree_destroy(NULL);
}

/* ---- against the naive recomputation ---- */

static void
test_roots_match_naive(void **state) {
    const uint64_t n = 1000;
    merkle_tree_t *t, *grow = merkle_tree_new();
    uint8_t *lh = make_leaves(n, &t), got[H], want[H];
    (void)state;

    assert_non_null(grow);
    for (uint64_t s = 0; s <= n; s++) {
        naive_mth(lh, 0, s, want);
        /* a past size of the full tree ... */
        assert_int_equal(merkle_tree_root(t, s, got), RK_OK);
        assert_memory_equal(got, want, H);
        /* ... and the current size of a growing one */
        assert_int_equal(merkle_tree_root(grow, s, got), RK_OK);
        assert_memory_equal(got, want, H);
        if (s < n)
            assert_int_equal(merkle_tree_append(grow, lh + s * H), RK_OK);
    }
    assert_int_equal(merkle_tree_root(t, n + 1, got), RK_ERR_INVALID);
    merkle_tree_destroy(&grow);
    merkle_tree_destroy(&t);
    free(lh);
}

/* One inclusion proof: equals the naive one, verifies, and every tamper
 * is refused. roots[s] is the root at size s (0..max). all_bits flips
 * every bit of every hash, otherwise one bit per hash; wrong_all claims
 * the proof for every other index and size, otherwise for neighbours. */
static void
check_inclusion(const merkle_tree_t *t, const uint8_t *lh, const uint8_t *roots,
                uint64_t max, uint64_t idx, uint64_t size, bool all_bits,
                bool wrong_all) {
    uint8_t got[(MERKLE_MAX_PROOF + 1) * H], want[MERKLE_MAX_PROOF * H];
    const uint8_t *leaf = lh + idx * H, *root = roots + size * H;
    size_t n = 0, wn = 0;

    assert_int_equal(merkle_tree_inclusion_proof(t, idx, size, got, &n), RK_OK);
    naive_path(lh, idx, 0, size, want, &wn);
    assert_int_equal(n, wn);
    if (n)
        assert_memory_equal(got, want, n * H);
    assert_int_equal(merkle_verify_inclusion(idx, size, leaf, got, n, root),
                     RK_OK);

    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < H * 8; bit++) {
            int b = all_bits ? bit : (int)((idx * 31 + size * 7 + i) % 256);
            got[i * H + b / 8] ^= (uint8_t)(1u << (b % 8));
            assert_int_equal(
                merkle_verify_inclusion(idx, size, leaf, got, n, root),
                RK_ERR_MISMATCH);
            got[i * H + b / 8] ^= (uint8_t)(1u << (b % 8));
            if (!all_bits)
                break;
        }
    }
    {
        uint8_t bad[H];
        memcpy(bad, leaf, H);
        bad[(idx + size) % H] ^= 0x80;
        assert_int_not_equal(
            merkle_verify_inclusion(idx, size, bad, got, n, root), RK_OK);
        memcpy(bad, root, H);
        bad[idx % H] ^= 0x01;
        assert_int_not_equal(
            merkle_verify_inclusion(idx, size, leaf, got, n, bad), RK_OK);
    }
    /* one hash short, one too many */
    if (n)
        assert_int_equal(
            merkle_verify_inclusion(idx, size, leaf, got, n - 1, root),
            RK_ERR_INVALID);
    memcpy(got + n * H, root, H);
    assert_int_equal(merkle_verify_inclusion(idx, size, leaf, got, n + 1, root),
                     RK_ERR_INVALID);
    /* the same leaf claimed at another index of the same tree */
    for (uint64_t j = 0; j < size; j++) {
        if (j == idx)
            continue;
        if (!wrong_all && j != 0 && j != size - 1 && j != (idx ^ 1) &&
            j != idx / 2)
            continue;
        assert_int_not_equal(
            merkle_verify_inclusion(j, size, leaf, got, n, root), RK_OK);
    }
    /* the proof offered for another size, against that size's root */
    for (uint64_t s = idx + 1; s <= max; s++) {
        if (s == size)
            continue;
        if (!wrong_all && s != size + 1 && s != size - 1 && s != size * 2 &&
            s != size / 2)
            continue;
        assert_int_not_equal(
            merkle_verify_inclusion(idx, s, leaf, got, n, roots + s * H),
            RK_OK);
    }
    assert_int_equal(merkle_verify_inclusion(size, size, leaf, got, n, root),
                     RK_ERR_INVALID);
}

/* The same for one consistency proof, old size m, new size s. */
static void
check_consistency(const merkle_tree_t *t, const uint8_t *lh,
                  const uint8_t *roots, uint64_t max, uint64_t m, uint64_t s,
                  bool all_bits, bool wrong_all) {
    uint8_t got[(MERKLE_MAX_PROOF + 1) * H], want[MERKLE_MAX_PROOF * H];
    const uint8_t *r1 = roots + m * H, *r2 = roots + s * H;
    size_t n = 0, wn = 0;

    assert_int_equal(merkle_tree_consistency_proof(t, m, s, got, &n), RK_OK);
    naive_subproof(lh, m, 0, s, true, want, &wn);
    assert_int_equal(n, wn);
    if (n)
        assert_memory_equal(got, want, n * H);
    assert_int_equal(merkle_verify_consistency(m, s, r1, r2, got, n), RK_OK);

    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < H * 8; bit++) {
            int b = all_bits ? bit : (int)((m * 29 + s * 13 + i) % 256);
            got[i * H + b / 8] ^= (uint8_t)(1u << (b % 8));
            assert_int_equal(merkle_verify_consistency(m, s, r1, r2, got, n),
                             RK_ERR_MISMATCH);
            got[i * H + b / 8] ^= (uint8_t)(1u << (b % 8));
            if (!all_bits)
                break;
        }
    }
    {
        uint8_t bad[H];
        memcpy(bad, r1, H);
        bad[(m + s) % H] ^= 0x04;
        assert_int_equal(merkle_verify_consistency(m, s, bad, r2, got, n),
                         RK_ERR_MISMATCH);
        memcpy(bad, r2, H);
        bad[m % H] ^= 0x40;
        assert_int_equal(merkle_verify_consistency(m, s, r1, bad, got, n),
                         RK_ERR_MISMATCH);
    }
    if (n)
        assert_int_equal(merkle_verify_consistency(m, s, r1, r2, got, n - 1),
                         RK_ERR_INVALID);
    memcpy(got + n * H, r2, H);
    assert_int_equal(merkle_verify_consistency(m, s, r1, r2, got, n + 1),
                     RK_ERR_INVALID);
    /* the proof offered for another old size, against that size's root */
    for (uint64_t m2 = 1; m2 <= s; m2++) {
        if (m2 == m)
            continue;
        if (!wrong_all && m2 != m + 1 && m2 != m - 1 && m2 != 1 && m2 != s)
            continue;
        assert_int_not_equal(
            merkle_verify_consistency(m2, s, roots + m2 * H, r2, got, n),
            RK_OK);
    }
    /* ... and for another new size */
    for (uint64_t s2 = m; s2 <= max; s2++) {
        if (s2 == s)
            continue;
        if (!wrong_all && s2 != s + 1 && s2 != s - 1 && s2 != m && s2 != s * 2)
            continue;
        assert_int_not_equal(
            merkle_verify_consistency(m, s2, r1, roots + s2 * H, got, n),
            RK_OK);
    }
    /* the roots the other way round */
    if (m != s)
        assert_int_not_equal(merkle_verify_consistency(m, s, r2, r1, got, n),
                             RK_OK);
}

/* Roots of every size 0..n of the tree, from the naive recursion. */
static uint8_t *
naive_roots(const uint8_t *lh, uint64_t n) {
    uint8_t *roots = malloc((n + 1) * H);
    assert_non_null(roots);
    for (uint64_t s = 0; s <= n; s++)
        naive_mth(lh, 0, s, roots + s * H);
    return roots;
}

static void
test_inclusion_all_small(void **state) {
    const uint64_t max = 64;
    merkle_tree_t *t;
    uint8_t *lh = make_leaves(max, &t), *roots = naive_roots(lh, max);
    (void)state;

    for (uint64_t size = 1; size <= max; size++)
        for (uint64_t idx = 0; idx < size; idx++)
            check_inclusion(t, lh, roots, max, idx, size, size <= 8,
                            size <= 32);
    merkle_tree_destroy(&t);
    free(roots);
    free(lh);
}

static void
test_consistency_all_small(void **state) {
    const uint64_t max = 64;
    merkle_tree_t *t;
    uint8_t *lh = make_leaves(max, &t), *roots = naive_roots(lh, max);
    (void)state;

    for (uint64_t s = 1; s <= max; s++)
        for (uint64_t m = 1; m <= s; m++)
            check_consistency(t, lh, roots, max, m, s, s <= 8, s <= 32);
    merkle_tree_destroy(&t);
    free(roots);
    free(lh);
}

/* Beyond 64: every power of two and its neighbours, and random pairs. */
static void
test_proofs_sampled(void **state) {
    const uint64_t max = 1000;
    merkle_tree_t *t;
    uint8_t *lh = make_leaves(max, &t), *roots = naive_roots(lh, max);
    uint64_t rng = 0x9e3779b97f4a7c15u;
    (void)state;

    for (uint64_t p = 64; p <= 512; p *= 2)
        for (uint64_t s = p - 1; s <= p + 1; s++) {
            uint64_t picks[] = {0, 1, s / 2, p / 2, p - 2, s - 1};
            for (size_t i = 0; i < sizeof picks / sizeof *picks; i++) {
                check_inclusion(t, lh, roots, max, picks[i], s, false, false);
                if (picks[i] > 0)
                    check_consistency(t, lh, roots, max, picks[i], s, false,
                                      false);
            }
            check_consistency(t, lh, roots, max, s, max, false, false);
        }
    for (int i = 0; i < 150; i++) {
        uint64_t s = 65 + rng_next(&rng) % (max - 64);
        uint64_t a = rng_next(&rng) % s;
        check_inclusion(t, lh, roots, max, a, s, false, false);
        check_consistency(t, lh, roots, max, a + 1, s, false, false);
    }
    merkle_tree_destroy(&t);
    free(roots);
    free(lh);
}

/* A tree past 2^16 leaves: deeper levels and several array doublings. */
static void
test_large_tree(void **state) {
    const uint64_t n = (1u << 16) + 3;
    merkle_tree_t *t;
    uint8_t *lh = make_leaves(n, &t), got[H], want[H];
    uint8_t proof[MERKLE_MAX_PROOF * H], naive[MERKLE_MAX_PROOF * H];
    const uint64_t pairs[][2] = {
        {0, n}, {n - 1, n}, {(1u << 16) - 1, n}, {(1u << 16), n}, {777, n - 2},
    };
    (void)state;

    naive_mth(lh, 0, n, want);
    assert_int_equal(merkle_tree_root(t, n, got), RK_OK);
    assert_memory_equal(got, want, H);
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        uint64_t a = pairs[i][0], s = pairs[i][1];
        size_t k = 0, wk = 0;
        uint8_t r1[H], r2[H];

        assert_int_equal(merkle_tree_root(t, s, r2), RK_OK);
        assert_int_equal(merkle_tree_inclusion_proof(t, a, s, proof, &k),
                         RK_OK);
        naive_path(lh, a, 0, s, naive, &wk);
        assert_int_equal(k, wk);
        assert_memory_equal(proof, naive, k * H);
        assert_int_equal(
            merkle_verify_inclusion(a, s, lh + a * H, proof, k, r2), RK_OK);

        if (a == 0)
            continue;
        k = wk = 0;
        assert_int_equal(merkle_tree_root(t, a, r1), RK_OK);
        assert_int_equal(merkle_tree_consistency_proof(t, a, s, proof, &k),
                         RK_OK);
        naive_subproof(lh, a, 0, s, true, naive, &wk);
        assert_int_equal(k, wk);
        assert_memory_equal(proof, naive, k * H);
        assert_int_equal(merkle_verify_consistency(a, s, r1, r2, proof, k),
                         RK_OK);
    }
    merkle_tree_destroy(&t);
    free(lh);
}

/* ---- arguments and edges ---- */

static void
test_refuses_impossible_arguments(void **state) {
    merkle_tree_t *t;
    uint8_t *lh = make_leaves(10, &t), r[H], r5[H], proof[MERKLE_MAX_PROOF * H];
    uint8_t *junk = calloc(1000, H);
    size_t n = 99;
    (void)state;

    assert_non_null(junk);
    assert_int_equal(merkle_tree_root(t, 10, r), RK_OK);
    assert_int_equal(merkle_tree_root(t, 5, r5), RK_OK);

    /* the tree's own proofs */
    assert_int_equal(merkle_tree_inclusion_proof(t, 10, 10, proof, &n),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_tree_inclusion_proof(t, 0, 11, proof, &n),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_tree_inclusion_proof(t, 0, 0, proof, &n),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_tree_consistency_proof(t, 0, 5, proof, &n),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_tree_consistency_proof(t, 0, 0, proof, &n),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_tree_consistency_proof(t, 6, 5, proof, &n),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_tree_consistency_proof(t, 5, 11, proof, &n),
                     RK_ERR_INVALID);
    assert_int_equal(n, 99); /* untouched on error */
    assert_int_equal(merkle_tree_consistency_proof(t, 7, 7, proof, &n), RK_OK);
    assert_int_equal(n, 0);
    assert_int_equal(merkle_tree_leaf(t, 10, r5), RK_ERR_INVALID);
    assert_int_equal(merkle_tree_root(t, 5, r5), RK_OK);

    /* inclusion */
    assert_int_equal(merkle_verify_inclusion(0, 0, lh, NULL, 0, r),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_verify_inclusion(10, 10, lh, junk, 4, r),
                     RK_ERR_INVALID);
    assert_int_equal(
        merkle_verify_inclusion(UINT64_MAX, UINT64_MAX, lh, junk, 64, r),
        RK_ERR_INVALID);
    /* a thousand hashes is refused after at most 64 steps */
    assert_int_equal(merkle_verify_inclusion(3, 10, lh + 3 * H, junk, 1000, r),
                     RK_ERR_INVALID);
    assert_int_equal(
        merkle_verify_inclusion(UINT64_MAX - 1, UINT64_MAX, lh, junk, 1000, r),
        RK_ERR_INVALID);
    /* a huge tree with a proof of the right length (63) computes, then
     * differs; consistency proofs in trees past 2^63 reach 65 hashes */
    assert_int_equal(
        merkle_verify_inclusion(UINT64_MAX - 1, UINT64_MAX, lh, junk, 63, r),
        RK_ERR_MISMATCH);
    /* a one-leaf tree: the leaf is the root, the proof empty */
    assert_int_equal(merkle_verify_inclusion(0, 1, lh, NULL, 0, lh), RK_OK);
    assert_int_equal(merkle_verify_inclusion(0, 1, lh, junk, 1, lh),
                     RK_ERR_INVALID);

    /* consistency */
    assert_int_equal(merkle_verify_consistency(0, 0, r, r, NULL, 0),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(0, 10, r, r, NULL, 0),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(0, 10, r, r, junk, 1),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(6, 5, r, r, NULL, 0),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(10, 10, r, r, NULL, 0), RK_OK);
    assert_int_equal(merkle_verify_consistency(10, 10, r, r, junk, 1),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(10, 10, r, r5, NULL, 0),
                     RK_ERR_MISMATCH);
    assert_int_equal(merkle_verify_consistency(5, 10, r5, r, NULL, 0),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(5, 10, r5, r, junk, 1000),
                     RK_ERR_INVALID);
    assert_int_equal(
        merkle_verify_consistency(1, UINT64_MAX, r5, r, junk, 1000),
        RK_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(3, UINT64_MAX, r5, r, junk, 65),
                     RK_ERR_MISMATCH);

    merkle_tree_destroy(&t);
    free(junk);
    free(lh);
}

static void
test_empty_tree(void **state) {
    merkle_tree_t *t = merkle_tree_new();
    uint8_t got[H], want[H], proof[MERKLE_MAX_PROOF * H];
    size_t n = 0;
    (void)state;

    assert_non_null(t);
    assert_int_equal(merkle_tree_size(t), 0);
    assert_int_equal(merkle_tree_root(t, 0, got), RK_OK);
    merkle_empty_root(want);
    assert_memory_equal(got, want, H);
    assert_int_equal(merkle_tree_root(t, 1, got), RK_ERR_INVALID);
    assert_int_equal(merkle_tree_inclusion_proof(t, 0, 0, proof, &n),
                     RK_ERR_INVALID);
    assert_int_equal(merkle_tree_leaf(t, 0, got), RK_ERR_INVALID);
    merkle_tree_destroy(&t);
    assert_null(t);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_known_answers),
        cmocka_unit_test(test_reference_tree_root),
        cmocka_unit_test(test_inclusion_vectors),
        cmocka_unit_test(test_consistency_vectors),
        cmocka_unit_test(test_empty_tree),
        cmocka_unit_test(test_refuses_impossible_arguments),
        cmocka_unit_test(test_roots_match_naive),
        cmocka_unit_test(test_inclusion_all_small),
        cmocka_unit_test(test_consistency_all_small),
        cmocka_unit_test(test_proofs_sampled),
        cmocka_unit_test(test_large_tree),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

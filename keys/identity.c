/* identity: key generation and the secret/public key file formats
 * (docs/PROTOCOL.md, "Key files"). Secrets never leave sodium_malloc
 * memory except as ciphertext. */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "rk_util.h"

#define S_MAGIC "RNRKSEC1"
#define S_MAGIC_LEN 8
#define S_KDF_NONE 0
#define S_KDF_ARGON2ID13 1
#define S_SECRETS_LEN 96 /* sign seed, enc sk, transport sk */
#define S_SEALED_LEN (S_SECRETS_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)
/* Refuse work factors a corrupt or hostile file could use to stall us. */
#define S_MAX_OPSLIMIT 16
#define S_MAX_MEMLIMIT (1024ull * 1024 * 1024)

/* Secrets, in one sodium_malloc block. */
typedef struct {
    uint8_t sign_sk[64];
    uint8_t enc_sk[32];
    uint8_t transport_sk[32];
} secrets_t;

struct identity {
    identity_public_t pub;
    secrets_t *sec;
};

static const char *s_roles[] = {NULL,      "partner", "controller",
                                "auditor", "relay",   "coordinator"};

const char *
identity_role_name(identity_role_t role) {
    if (role >= IDENTITY_ROLE_PARTNER && role <= IDENTITY_ROLE_COORDINATOR)
        return s_roles[role];
    return "unknown";
}

identity_role_t
identity_role_from_name(const char *name) {
    for (int r = IDENTITY_ROLE_PARTNER; r <= IDENTITY_ROLE_COORDINATOR; r++)
        if (name && strcmp(name, s_roles[r]) == 0)
            return (identity_role_t)r;
    return (identity_role_t)0;
}

static identity_t *
s_alloc(const char *id, identity_role_t role) {
    identity_t *self;
    if (!envelope_node_id_valid(id) ||
        !identity_role_from_name(identity_role_name(role)))
        return NULL;
    self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->sec = sodium_malloc(sizeof *self->sec);
    if (!self->sec) {
        free(self);
        return NULL;
    }
    snprintf(self->pub.id, sizeof self->pub.id, "%s", id);
    self->pub.role = role;
    return self;
}

/* Fills both halves from the 96 secret bytes (seed, enc sk, transport sk). */
static void
s_from_secrets(identity_t *self, const uint8_t *secrets) {
    crypto_sign_seed_keypair(self->pub.sign_pk, self->sec->sign_sk, secrets);
    memcpy(self->sec->enc_sk, secrets + 32, 32);
    memcpy(self->sec->transport_sk, secrets + 64, 32);
    crypto_scalarmult_base(self->pub.enc_pk, self->sec->enc_sk);
    crypto_scalarmult_base(self->pub.transport_pk, self->sec->transport_sk);
}

identity_t *
identity_generate(const char *id, identity_role_t role) {
    identity_t *self = s_alloc(id, role);
    uint8_t *secrets;
    if (!self)
        return NULL;
    secrets = sodium_malloc(S_SECRETS_LEN);
    if (!secrets) {
        identity_destroy(&self);
        return NULL;
    }
    randombytes_buf(secrets, S_SECRETS_LEN);
    s_from_secrets(self, secrets);
    sodium_free(secrets);
    return self;
}

void
identity_destroy(identity_t **self_p) {
    if (!self_p || !*self_p)
        return;
    sodium_free((*self_p)->sec); /* wipes before freeing */
    free(*self_p);
    *self_p = NULL;
}

const char *
identity_id(const identity_t *self) {
    return self->pub.id;
}
identity_role_t
identity_role(const identity_t *self) {
    return self->pub.role;
}
const identity_public_t *
identity_public(const identity_t *self) {
    return &self->pub;
}
const uint8_t *
identity_sign_sk(const identity_t *self) {
    return self->sec->sign_sk;
}
const uint8_t *
identity_enc_sk(const identity_t *self) {
    return self->sec->enc_sk;
}
const uint8_t *
identity_transport_sk(const identity_t *self) {
    return self->sec->transport_sk;
}

/* The file header (everything before the sealed secrets) is the AEAD's
 * additional data, so no byte of the file can change unnoticed. */
static size_t
s_header(uint8_t *out, const identity_public_t *pub, uint8_t kdf, uint64_t ops,
         uint64_t mem, const uint8_t salt[16], const uint8_t nonce[24]) {
    size_t idlen = strlen(pub->id), n = 0;
    memcpy(out, S_MAGIC, S_MAGIC_LEN);
    n += S_MAGIC_LEN;
    out[n++] = kdf;
    out[n++] = (uint8_t)pub->role;
    out[n++] = (uint8_t)idlen;
    memcpy(out + n, pub->id, idlen);
    n += idlen;
    rk_put_be64(out + n, ops);
    n += 8;
    rk_put_be64(out + n, mem);
    n += 8;
    memcpy(out + n, salt, 16);
    n += 16;
    memcpy(out + n, nonce, 24);
    n += 24;
    return n;
}

/* Derives the file key: argon2id13 from the passphrase, or 32 zero bytes
 * for an unencrypted file (the tag then only detects corruption). */
static int
s_file_key(uint8_t *key, uint8_t kdf, const char *passphrase,
           const uint8_t salt[16], uint64_t ops, uint64_t mem) {
    if (kdf == S_KDF_NONE) {
        sodium_memzero(key, 32);
        return RK_OK;
    }
    if (!passphrase)
        return RK_ERR_PASSPHRASE;
    if (crypto_pwhash(key, 32, passphrase, strlen(passphrase), salt,
                      (unsigned long long)ops, (size_t)mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return RK_ERR_NOMEM;
    return RK_OK;
}

static int
s_join(char *out, size_t cap, const char *dir, const char *id,
       const char *ext) {
    int n = snprintf(out, cap, "%s/%s%s", dir, id, ext);
    return (n < 0 || (size_t)n >= cap) ? RK_ERR_INVALID : RK_OK;
}

int
identity_save(const identity_t *self, const char *dir, const char *passphrase) {
    uint8_t file[IDENTITY_KEYFILE_MAX];
    uint8_t salt[16] = {0}, nonce[24];
    uint8_t *key = NULL, *secrets = NULL;
    uint8_t kdf = passphrase ? S_KDF_ARGON2ID13 : S_KDF_NONE;
    uint64_t ops = passphrase ? crypto_pwhash_OPSLIMIT_INTERACTIVE : 0;
    uint64_t mem = passphrase ? crypto_pwhash_MEMLIMIT_INTERACTIVE : 0;
    char kpath[4096], ppath[4096];
    char *pub = NULL;
    size_t hlen;
    struct stat st;
    int rc;

    if (s_join(kpath, sizeof kpath, dir, self->pub.id, ".key") != RK_OK ||
        s_join(ppath, sizeof ppath, dir, self->pub.id, ".pub") != RK_OK)
        return RK_ERR_INVALID;
    if (lstat(kpath, &st) == 0 || lstat(ppath, &st) == 0)
        return RK_ERR_EXISTS;
    rc = RK_ERR_NOMEM;
    key = sodium_malloc(32);
    secrets = sodium_malloc(S_SECRETS_LEN);
    if (!key || !secrets)
        goto cleanup;
    if (passphrase)
        randombytes_buf(salt, sizeof salt);
    randombytes_buf(nonce, sizeof nonce);
    hlen = s_header(file, &self->pub, kdf, ops, mem, salt, nonce);
    rc = s_file_key(key, kdf, passphrase, salt, ops, mem);
    if (rc != RK_OK)
        goto cleanup;
    /* The Ed25519 secret key holds its seed in its first 32 bytes. */
    memcpy(secrets, self->sec->sign_sk, 32);
    memcpy(secrets + 32, self->sec->enc_sk, 32);
    memcpy(secrets + 64, self->sec->transport_sk, 32);
    crypto_aead_xchacha20poly1305_ietf_encrypt(file + hlen, NULL, secrets,
                                               S_SECRETS_LEN, file, hlen, NULL,
                                               nonce, key);
    rc = rk_write_file(kpath, file, hlen + S_SEALED_LEN, 0600, 1);
    if (rc != RK_OK)
        goto cleanup;
    rc = RK_ERR_NOMEM;
    pub = identity_public_to_json(&self->pub);
    if (!pub)
        goto cleanup;
    rc = rk_write_file(ppath, pub, strlen(pub), 0644, 1);
cleanup:
    sodium_memzero(file, sizeof file);
    sodium_free(secrets);
    sodium_free(key);
    free(pub);
    return rc;
}

/* Opens a key file safely: no links, a regular file of ours, 0600 or
 * stricter. Reads it whole into buf. */
static int
s_read_keyfile(const char *path, uint8_t *buf, size_t cap, size_t *len) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    ssize_t r;
    int rc = RK_ERR_IO;

    if (fd < 0) {
        if (errno == ENOENT)
            return RK_ERR_NOT_FOUND;
        return errno == ELOOP ? RK_ERR_PERMISSION : RK_ERR_IO;
    }
    if (fstat(fd, &st) != 0)
        goto cleanup;
    rc = RK_ERR_PERMISSION;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
        st.st_uid != geteuid())
        goto cleanup;
    rc = RK_ERR_MALFORMED;
    if ((size_t)st.st_size > cap)
        goto cleanup;
    r = read(fd, buf, cap);
    if (r < 0) {
        rc = RK_ERR_IO;
        goto cleanup;
    }
    *len = (size_t)r;
    rc = RK_OK;
cleanup:
    close(fd);
    return rc;
}

typedef struct {
    uint8_t kdf;
    identity_role_t role;
    char id[64];
    uint64_t ops, mem;
    const uint8_t *salt, *nonce, *sealed;
    size_t hlen;
} parsed_t;

static int
s_parse(const uint8_t *buf, size_t len, parsed_t *p) {
    size_t idlen, n = S_MAGIC_LEN;
    if (len < S_MAGIC_LEN + 3 || memcmp(buf, S_MAGIC, S_MAGIC_LEN) != 0)
        return RK_ERR_MALFORMED;
    p->kdf = buf[n++];
    p->role = (identity_role_t)buf[n++];
    idlen = buf[n++];
    if (p->kdf > S_KDF_ARGON2ID13)
        return RK_ERR_VERSION;
    if (idlen == 0 || idlen > ENVELOPE_NODE_ID_MAX ||
        len != n + idlen + 8 + 8 + 16 + 24 + S_SEALED_LEN)
        return RK_ERR_MALFORMED;
    memcpy(p->id, buf + n, idlen);
    p->id[idlen] = 0;
    n += idlen;
    if (!envelope_node_id_valid(p->id) ||
        !identity_role_from_name(identity_role_name(p->role)))
        return RK_ERR_MALFORMED;
    p->ops = rk_get_be64(buf + n);
    p->mem = rk_get_be64(buf + n + 8);
    p->salt = buf + n + 16;
    p->nonce = buf + n + 32;
    p->hlen = n + 56;
    p->sealed = buf + p->hlen;
    if (p->kdf == S_KDF_ARGON2ID13 &&
        (p->ops < crypto_pwhash_OPSLIMIT_MIN || p->ops > S_MAX_OPSLIMIT ||
         p->mem < crypto_pwhash_MEMLIMIT_MIN || p->mem > S_MAX_MEMLIMIT))
        return RK_ERR_MALFORMED;
    return RK_OK;
}

int
identity_file_encrypted(const char *path) {
    uint8_t buf[IDENTITY_KEYFILE_MAX];
    size_t len = 0;
    parsed_t p;
    int rc = s_read_keyfile(path, buf, sizeof buf, &len);
    if (rc == RK_OK)
        rc = s_parse(buf, len, &p);
    return rc == RK_OK ? p.kdf == S_KDF_ARGON2ID13 : rc;
}

int
identity_load(const char *path, const char *passphrase, identity_t **out) {
    uint8_t buf[IDENTITY_KEYFILE_MAX];
    uint8_t *key = NULL, *secrets = NULL;
    identity_t *self = NULL;
    size_t len = 0;
    parsed_t p;
    int rc;

    rc = s_read_keyfile(path, buf, sizeof buf, &len);
    if (rc == RK_OK)
        rc = s_parse(buf, len, &p);
    if (rc != RK_OK)
        return rc;
    rc = RK_ERR_NOMEM;
    key = sodium_malloc(32);
    secrets = sodium_malloc(S_SECRETS_LEN);
    self = s_alloc(p.id, p.role);
    if (!key || !secrets || !self)
        goto cleanup;
    rc = s_file_key(key, p.kdf, passphrase, p.salt, p.ops, p.mem);
    if (rc != RK_OK)
        goto cleanup;
    rc = RK_ERR_PASSPHRASE;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(secrets, NULL, NULL,
                                                   p.sealed, S_SEALED_LEN, buf,
                                                   p.hlen, p.nonce, key) != 0)
        goto cleanup;
    s_from_secrets(self, secrets);
    *out = self;
    self = NULL;
    rc = RK_OK;
cleanup:
    sodium_memzero(buf, sizeof buf);
    sodium_free(secrets);
    sodium_free(key);
    identity_destroy(&self);
    return rc;
}

char *
identity_public_to_json(const identity_public_t *pub) {
    json_t *o = json_object();
    char *sign = rk_b64(pub->sign_pk, 32), *enc = rk_b64(pub->enc_pk, 32);
    char *tr = rk_b64(pub->transport_pk, 32), *text = NULL, *withnl = NULL;

    if (o && sign && enc && tr &&
        json_object_set_new(o, "renraku_public_key", json_integer(1)) == 0 &&
        json_object_set_new(o, "id", json_string(pub->id)) == 0 &&
        json_object_set_new(o, "role",
                            json_string(identity_role_name(pub->role))) == 0 &&
        json_object_set_new(o, "sign", json_string(sign)) == 0 &&
        json_object_set_new(o, "enc", json_string(enc)) == 0 &&
        json_object_set_new(o, "transport", json_string(tr)) == 0)
        text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text && (withnl = malloc(strlen(text) + 2)))
        sprintf(withnl, "%s\n", text);
    free(text);
    free(sign);
    free(enc);
    free(tr);
    json_decref(o);
    return withnl;
}

/* Decodes a base64 32-byte key from o[field]. The error says which of
 * the two it is not: base64, or 32 bytes (then how many it holds), so
 * that a key cut or pasted twice is told from a garbled one. */
static int
s_key32(const json_t *o, const char *field, uint8_t out[32], char *err,
        size_t errlen) {
    const json_t *v = json_object_get(o, field);
    uint8_t buf[64]; /* room to count a key that is too long */
    size_t n = 0;
    int rc;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s: missing or not a string", field);
        return RK_ERR_MALFORMED;
    }
    rc = rk_unb64(buf, sizeof buf, &n, json_string_value(v),
                  json_string_length(v));
    if (rc == RK_ERR_TOO_LARGE || (rc == RK_OK && n != 32)) {
        char got[40];
        if (rc == RK_OK)
            snprintf(got, sizeof got, "%zu", n);
        else
            snprintf(got, sizeof got, "more than %zu", sizeof buf);
        snprintf(err, errlen,
                 "%s: not 32 bytes of base64: it decodes to %s bytes (a key "
                 "is 32 bytes, 44 characters of base64)",
                 field, got);
        return RK_ERR_MALFORMED;
    }
    if (rc != RK_OK) {
        snprintf(err, errlen,
                 "%s: not 32 bytes of base64: not base64 at all (characters "
                 "other than A-Z a-z 0-9 + /, or a bad length or '=' padding)",
                 field);
        return RK_ERR_MALFORMED;
    }
    memcpy(out, buf, 32);
    return RK_OK;
}

/* True when text holds nothing but white space (or nothing). */
static int
s_blank(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r\n", text[i]) || text[i] == 0)
            return 0;
    return 1;
}

/* What a file's first len bytes say it is; see identity_file_kind. */
static int
s_kind(const uint8_t *head, size_t len) {
    size_t i = 0;
    if (len >= S_MAGIC_LEN && memcmp(head, S_MAGIC, S_MAGIC_LEN) == 0)
        return IDENTITY_FILE_SECRET;
    while (i < len && head[i] && strchr(" \t\r\n", head[i]))
        i++;
    if (i == len)
        return IDENTITY_FILE_EMPTY;
    return head[i] == '{' ? IDENTITY_FILE_PUBLIC : IDENTITY_FILE_OTHER;
}

int
identity_file_kind(const char *path) {
    uint8_t head[S_MAGIC_LEN];
    FILE *f = fopen(path, "rb");
    size_t n;
    int c = EOF, kind, saved;

    if (!f)
        return errno == ENOENT ? RK_ERR_NOT_FOUND : RK_ERR_IO;
    n = fread(head, 1, sizeof head, f);
    kind = s_kind(head, n);
    if (kind == IDENTITY_FILE_EMPTY && n == sizeof head) {
        /* White space so far: the first byte past it tells. */
        while ((c = fgetc(f)) != EOF && c && strchr(" \t\r\n", c))
            ;
        kind = c == EOF   ? IDENTITY_FILE_EMPTY
               : c == '{' ? IDENTITY_FILE_PUBLIC
                          : IDENTITY_FILE_OTHER;
    }
    if (ferror(f))
        kind = RK_ERR_IO; /* a directory, say: errno tells the caller */
    saved = errno;
    fclose(f);
    errno = saved;
    return kind;
}

int
identity_public_from_json(const char *text, size_t len, identity_public_t *out,
                          char *err, size_t errlen) {
    json_error_t jerr;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *v;
    const char *k;
    int rc = RK_ERR_MALFORMED;

    memset(out, 0, sizeof *out);
    if (s_blank(text, len)) {
        /* jansson's "'[' or '{' expected near end of file" hides this. */
        snprintf(err, errlen,
                 "empty: no public key in it (a .pub file is "
                 "the JSON that renraku-keys gen writes)");
        goto cleanup;
    }
    if (!o || !json_is_object(o)) {
        snprintf(err, errlen, "not a JSON object (line %d: %s)", jerr.line,
                 o ? "top level is not an object" : jerr.text);
        goto cleanup;
    }
    json_object_foreach(o, k, v) {
        if (strcmp(k, "renraku_public_key") && strcmp(k, "id") &&
            strcmp(k, "role") && strcmp(k, "sign") && strcmp(k, "enc") &&
            strcmp(k, "transport")) {
            snprintf(err, errlen, "%s: unknown field", k);
            goto cleanup;
        }
    }
    v = json_object_get(o, "renraku_public_key");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        snprintf(err, errlen, "renraku_public_key: must be 1");
        rc = RK_ERR_VERSION;
        goto cleanup;
    }
    v = json_object_get(o, "id");
    if (!json_is_string(v) || !envelope_node_id_valid(json_string_value(v))) {
        snprintf(err, errlen,
                 "id: missing or not a node id (a-z 0-9 . _ -, 1-63 bytes)");
        goto cleanup;
    }
    snprintf(out->id, sizeof out->id, "%s", json_string_value(v));
    v = json_object_get(o, "role");
    out->role = identity_role_from_name(json_string_value(v));
    if (!out->role) {
        snprintf(err, errlen,
                 "role: must be partner, controller, auditor, relay or "
                 "coordinator");
        goto cleanup;
    }
    if (s_key32(o, "sign", out->sign_pk, err, errlen) != RK_OK ||
        s_key32(o, "enc", out->enc_pk, err, errlen) != RK_OK ||
        s_key32(o, "transport", out->transport_pk, err, errlen) != RK_OK)
        goto cleanup;
    rc = RK_OK;
cleanup:
    json_decref(o);
    return rc;
}

int
identity_public_load(const char *path, identity_public_t *out, char *err,
                     size_t errlen) {
    uint8_t *data = NULL;
    size_t len = 0;
    char why[256];
    int rc = rk_read_file(path, IDENTITY_PUBFILE_MAX, &data, &len);
    if (rc != RK_OK) {
        int e = errno;
        struct stat st;
        /* Name the problem: rk_read_file's RK_ERR_IO covers a folder, a
         * device and a failed read alike. */
        if (rc == RK_ERR_NOT_FOUND)
            snprintf(err, errlen, "%s: no such file", path);
        else if (rc == RK_ERR_IO && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(err, errlen,
                     "%s: is a directory, not a public key file (.pub)", path);
        else if (rc == RK_ERR_IO && stat(path, &st) == 0 &&
                 !S_ISREG(st.st_mode))
            snprintf(err, errlen,
                     "%s: not a regular file, so not a public key file "
                     "(.pub)",
                     path);
        else if (rc == RK_ERR_IO)
            snprintf(err, errlen, "%s: cannot be read: %s", path, strerror(e));
        else
            snprintf(err, errlen, "%s: %s", path, rk_strerror(rc));
        return rc;
    }
    if (s_kind(data, len) == IDENTITY_FILE_SECRET) {
        /* Its bytes make no JSON error worth reading. */
        snprintf(why, sizeof why,
                 "a secret key file (.key), not a public key file (.pub): "
                 "give the .pub file that renraku-keys gen wrote beside it");
        rc = RK_ERR_MALFORMED;
    } else {
        rc = identity_public_from_json((const char *)data, len, out, why,
                                       sizeof why);
    }
    free(data);
    if (rc != RK_OK)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

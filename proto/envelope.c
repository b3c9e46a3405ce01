/* envelope: sealed, signed envelopes. The only place that turns Header and
 * Envelope protobufs into bytes and back; everything hashed or signed is
 * the exact bytes, never a re-serialization. */
#include "envelope.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pb_arena.h"
#include "renraku.pb-c.h"
#include "rk_sha256.h"
#include "rk_util.h"

struct envelope {
    Renraku__Envelope *pb; /* owns every byte below */
    Renraku__Header *hdr;
    envelope_header_t view;
    pb_arena_t arena; /* where pb and hdr were unpacked: block, then malloc */
    uint8_t block[];  /* the arena's block */
};

static const char *s_kind_names[] = {
    NULL,         "notice",       "alert",       "ack", "status-update",
    "comm-check", "drill-inject", "drill-reply",
};

const char *
envelope_kind_name(envelope_kind_t kind) {
    if (kind >= ENVELOPE_KIND_NOTICE && kind <= ENVELOPE_KIND_DRILL_REPLY)
        return s_kind_names[kind];
    return "unknown";
}

envelope_kind_t
envelope_kind_from_name(const char *name) {
    for (int k = ENVELOPE_KIND_NOTICE; k <= ENVELOPE_KIND_DRILL_REPLY; k++)
        if (strcmp(name, s_kind_names[k]) == 0)
            return (envelope_kind_t)k;
    return (envelope_kind_t)0;
}

void
envelope_key_id(uint8_t out[ENVELOPE_KEY_ID_LEN], const uint8_t pk[32]) {
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, pk, 32);
    memcpy(out, h, ENVELOPE_KEY_ID_LEN);
}

bool
envelope_node_id_valid(const char *s) {
    size_t n = 0;
    if (!s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (n == 0 && !alnum)
            return false;
        if (!alnum && c != '.' && c != '_' && c != '-')
            return false;
        if (n >= ENVELOPE_NODE_ID_MAX)
            return false;
    }
    return n > 0;
}

static int
s_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* True when the list has a repeated entry. O(n log n) on a copy. */
static int
s_has_duplicates(const char *const *ids, size_t n, bool *dup) {
    const char **copy;
    *dup = false;
    if (n < 2)
        return RK_OK;
    copy = malloc(n * sizeof *copy);
    if (!copy)
        return RK_ERR_NOMEM;
    memcpy(copy, ids, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, s_cmp_str);
    for (size_t i = 1; i < n && !*dup; i++)
        *dup = strcmp(copy[i - 1], copy[i]) == 0;
    free(copy);
    return RK_OK;
}

/* SHA-256 over nonce || ciphertext. */
static void
s_body_hash(uint8_t out[32], const uint8_t *nonce, const uint8_t *ct,
            size_t ct_len) {
    const rk_part_t parts[2] = {{nonce, ENVELOPE_NONCE_LEN}, {ct, ct_len}};
    rk_sha256(out, parts, 2);
}

/* Hashing inputs up to this size are built on the stack (a notice to a
 * few recipients); larger ones are malloc'd. */
#define S_SMALL 2048

/* SHA-256 over every wrapped key, in order:
 * u16be(len id) || id || key_id(8) || u16be(len sealed) || sealed.
 * Laid out in one buffer and hashed with rk_sha256 in one go (libsodium's
 * streaming SHA-256 is several times slower). Returns 0 or
 * RK_ERR_NOMEM. */
static int
s_keys_hash(uint8_t out[32], Renraku__WrappedKey *const *keys, size_t n) {
    uint8_t small[S_SMALL], *buf, *p;
    size_t total = 0;
    rk_part_t part;

    for (size_t i = 0; i < n; i++)
        total += 2 + strlen(keys[i]->recipient) + keys[i]->key_id.len + 2 +
                 keys[i]->sealed.len;
    buf = total <= sizeof small ? small : malloc(total);
    if (!buf)
        return RK_ERR_NOMEM;
    p = buf;
    for (size_t i = 0; i < n; i++) {
        size_t idlen = strlen(keys[i]->recipient);
        rk_put_be16(p, (uint16_t)idlen);
        memcpy(p + 2, keys[i]->recipient, idlen);
        p += 2 + idlen;
        if (keys[i]->key_id.len)
            memcpy(p, keys[i]->key_id.data, keys[i]->key_id.len);
        p += keys[i]->key_id.len;
        rk_put_be16(p, (uint16_t)keys[i]->sealed.len);
        if (keys[i]->sealed.len)
            memcpy(p + 2, keys[i]->sealed.data, keys[i]->sealed.len);
        p += 2 + keys[i]->sealed.len;
    }
    part.data = buf;
    part.len = total;
    rk_sha256(out, &part, 1);
    if (buf != small)
        free(buf);
    return RK_OK;
}

/* The signed message: context || 0x00 || u32be(len header) || header ||
 * body hash || keys hash. *out is small (S_SMALL bytes, the caller's) when
 * it fits, else malloc'd: the caller frees it when it is not small. */
static int
s_sig_input(const uint8_t *hdr, size_t hdr_len, const uint8_t body[32],
            const uint8_t keys[32], uint8_t small[S_SMALL], uint8_t **out,
            size_t *out_len) {
    size_t ctx_len = sizeof ENVELOPE_SIG_CONTEXT; /* includes the NUL */
    size_t n = ctx_len + 4 + hdr_len + 64;
    uint8_t *m = n <= S_SMALL ? small : malloc(n), *p;
    if (!m)
        return RK_ERR_NOMEM;
    p = m;
    memcpy(p, ENVELOPE_SIG_CONTEXT, ctx_len);
    p += ctx_len;
    rk_put_be32(p, (uint32_t)hdr_len);
    p += 4;
    memcpy(p, hdr, hdr_len);
    p += hdr_len;
    memcpy(p, body, 32);
    memcpy(p + 32, keys, 32);
    *out = m;
    *out_len = n;
    return RK_OK;
}

static int
s_check_params(const envelope_params_t *p,
               const envelope_recipient_t *recipients, size_t n,
               size_t payload_len) {
    const char **ids;
    bool dup = false;
    int rc;

    if (!p || !p->sign_sk || !p->sign_key_id ||
        !envelope_node_id_valid(p->sender))
        return RK_ERR_INVALID;
    if (p->kind < ENVELOPE_KIND_NOTICE || p->kind > ENVELOPE_KIND_DRILL_REPLY)
        return RK_ERR_INVALID;
    if (p->exercise != (p->drill_id != NULL))
        return RK_ERR_INVALID;
    if (p->drill_id && (!envelope_node_id_valid(p->drill_id)))
        return RK_ERR_INVALID;
    if ((p->kind == ENVELOPE_KIND_DRILL_INJECT ||
         p->kind == ENVELOPE_KIND_DRILL_REPLY) &&
        !p->exercise)
        return RK_ERR_INVALID;
    if (n == 0 || !recipients)
        return RK_ERR_INVALID;
    if (n > ENVELOPE_MAX_RECIPIENTS || payload_len > ENVELOPE_MAX_PAYLOAD)
        return RK_ERR_TOO_LARGE;
    ids = malloc(n * sizeof *ids);
    if (!ids)
        return RK_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!envelope_node_id_valid(recipients[i].id) ||
            !recipients[i].enc_pk) {
            free(ids);
            return RK_ERR_INVALID;
        }
        ids[i] = recipients[i].id;
    }
    rc = s_has_duplicates(ids, n, &dup);
    free(ids);
    if (rc != RK_OK)
        return rc;
    return dup ? RK_ERR_INVALID : RK_OK;
}

int
envelope_seal(const envelope_params_t *p,
              const envelope_recipient_t *recipients, size_t n,
              const uint8_t *payload, size_t payload_len, uint8_t **out,
              size_t *out_len, uint8_t msg_id[ENVELOPE_MSG_ID_LEN]) {
    Renraku__Header hdr = RENRAKU__HEADER__INIT;
    Renraku__Envelope env = RENRAKU__ENVELOPE__INIT;
    Renraku__WrappedKey *wk = NULL, **wkp = NULL;
    uint8_t id[ENVELOPE_MSG_ID_LEN];
    uint8_t(*sealed)[ENVELOPE_SEALED_KEY_LEN] = NULL;
    uint8_t(*key_ids)[ENVELOPE_KEY_ID_LEN] = NULL;
    /* The message's content key: on the stack, wiped on the way out. Not
     * sodium_malloc: its guard pages cost an mmap, mprotects and an mlock
     * per message, for a key used once and gone in microseconds. */
    uint8_t ckey[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    uint8_t *hdr_buf = NULL, *ct = NULL, *sig_in = NULL;
    uint8_t *buf = NULL, sig_small[S_SMALL];
    uint8_t nonce[ENVELOPE_NONCE_LEN], ad[32], body[32], keys[32];
    uint8_t sig[ENVELOPE_SIG_LEN];
    size_t hdr_len, sig_in_len, len;
    unsigned long long ct_len = 0;
    int rc;

    rc = s_check_params(p, recipients, n, payload_len);
    if (rc != RK_OK)
        return rc;
    rc = RK_ERR_NOMEM;
    wk = calloc(n, sizeof *wk);
    wkp = calloc(n, sizeof *wkp);
    sealed = calloc(n, sizeof *sealed);
    key_ids = calloc(n, sizeof *key_ids);
    hdr.recipients = calloc(n, sizeof *hdr.recipients);
    ct = malloc(payload_len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    if (!wk || !wkp || !sealed || !key_ids || !hdr.recipients || !ct)
        goto cleanup;

    if (p->msg_id)
        memcpy(id, p->msg_id, sizeof id);
    else
        randombytes_buf(id, sizeof id);
    hdr.version = ENVELOPE_VERSION;
    hdr.msg_id.data = id;
    hdr.msg_id.len = sizeof id;
    hdr.sender = (char *)p->sender;
    hdr.sender_key_id.data = (uint8_t *)p->sign_key_id;
    hdr.sender_key_id.len = ENVELOPE_KEY_ID_LEN;
    hdr.n_recipients = n;
    for (size_t i = 0; i < n; i++)
        hdr.recipients[i] = (char *)recipients[i].id;
    hdr.kind = (Renraku__Kind)p->kind;
    hdr.created_ms = p->created_ms;
    if (p->expires_ms) {
        hdr.has_expires_ms = 1;
        hdr.expires_ms = p->expires_ms;
    }
    if (p->exercise) {
        hdr.has_exercise = 1;
        hdr.exercise = 1;
        hdr.drill_id = (char *)p->drill_id;
    }
    if (p->in_reply_to) {
        hdr.has_in_reply_to = 1;
        hdr.in_reply_to.data = (uint8_t *)p->in_reply_to;
        hdr.in_reply_to.len = ENVELOPE_MSG_ID_LEN;
    }
    hdr.has_payload_size = 1;
    hdr.payload_size = (uint32_t)payload_len;

    hdr_len = renraku__header__get_packed_size(&hdr);
    if (hdr_len > ENVELOPE_MAX_HEADER) {
        rc = RK_ERR_TOO_LARGE;
        goto cleanup;
    }
    hdr_buf = malloc(hdr_len);
    if (!hdr_buf)
        goto cleanup;
    renraku__header__pack(&hdr, hdr_buf);

    /* Content: XChaCha20-Poly1305 under a fresh key, bound to the header. */
    crypto_aead_xchacha20poly1305_ietf_keygen(ckey);
    randombytes_buf(nonce, sizeof nonce);
    crypto_hash_sha256(ad, hdr_buf, hdr_len);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        ct, &ct_len, payload, payload_len, ad, sizeof ad, NULL, nonce, ckey);
    for (size_t i = 0; i < n; i++) {
        renraku__wrapped_key__init(&wk[i]);
        if (crypto_box_seal(sealed[i], ckey, 32, recipients[i].enc_pk) != 0) {
            rc = RK_ERR_INVALID;
            goto cleanup;
        }
        envelope_key_id(key_ids[i], recipients[i].enc_pk);
        wk[i].recipient = (char *)recipients[i].id;
        wk[i].key_id.data = key_ids[i];
        wk[i].key_id.len = ENVELOPE_KEY_ID_LEN;
        wk[i].sealed.data = sealed[i];
        wk[i].sealed.len = ENVELOPE_SEALED_KEY_LEN;
        wkp[i] = &wk[i];
    }

    s_body_hash(body, nonce, ct, (size_t)ct_len);
    rc = s_keys_hash(keys, wkp, n);
    if (rc != RK_OK)
        goto cleanup;
    rc = s_sig_input(hdr_buf, hdr_len, body, keys, sig_small, &sig_in,
                     &sig_in_len);
    if (rc != RK_OK)
        goto cleanup;
    crypto_sign_detached(sig, NULL, sig_in, sig_in_len, p->sign_sk);

    env.header.data = hdr_buf;
    env.header.len = hdr_len;
    env.signature.data = sig;
    env.signature.len = sizeof sig;
    env.n_keys = n;
    env.keys = wkp;
    env.nonce.data = nonce;
    env.nonce.len = sizeof nonce;
    env.ciphertext.data = ct;
    env.ciphertext.len = (size_t)ct_len;
    len = renraku__envelope__get_packed_size(&env);
    if (len > ENVELOPE_MAX_BYTES) {
        rc = RK_ERR_TOO_LARGE;
        goto cleanup;
    }
    rc = RK_ERR_NOMEM;
    buf = malloc(len);
    if (!buf)
        goto cleanup;
    renraku__envelope__pack(&env, buf);
    *out = buf;
    *out_len = len;
    if (msg_id)
        memcpy(msg_id, id, sizeof id);
    rc = RK_OK;
cleanup:
    sodium_memzero(ckey, sizeof ckey);
    if (sig_in != sig_small)
        free(sig_in);
    free(ct);
    free(hdr_buf);
    free(hdr.recipients);
    free(key_ids);
    free(sealed);
    free(wkp);
    free(wk);
    return rc;
}

void
envelope_destroy(envelope_t **self_p) {
    envelope_t *self;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    /* Everything in the block goes with it; only a spill needs the walks
     * (each frees the block's pointers as nothing, the rest for real). */
    if (pb_arena_spilled(&self->arena)) {
        if (self->hdr)
            renraku__header__free_unpacked(self->hdr, &self->arena.pb);
        if (self->pb)
            renraku__envelope__free_unpacked(self->pb, &self->arena.pb);
    }
    pb_arena_done(&self->arena);
    free(self);
    *self_p = NULL;
}

#define MALFORMED(reason)                                                      \
    do {                                                                       \
        if (why)                                                               \
            *why = (reason);                                                   \
        rc = RK_ERR_MALFORMED;                                                 \
        goto fail;                                                             \
    } while (0)

#define FAIL(code, reason)                                                     \
    do {                                                                       \
        if (why)                                                               \
            *why = (reason);                                                   \
        rc = (code);                                                           \
        goto fail;                                                             \
    } while (0)

int
envelope_decode(const uint8_t *buf, size_t len, envelope_t **out,
                const char **why) {
    envelope_t *self = NULL;
    Renraku__Envelope *e;
    Renraku__Header *h;
    bool dup = false;
    size_t cap;
    int rc;

    if (why)
        *why = NULL;
    if (!buf || len == 0)
        FAIL(RK_ERR_MALFORMED, "empty envelope");
    if (len > ENVELOPE_MAX_BYTES)
        FAIL(RK_ERR_TOO_LARGE, "envelope larger than 1 MiB");
    /* One block for the Envelope, then the Header inside it: their bytes
     * fields copy the input (len, then the header's fields again), plus
     * the structs, about 250 bytes a recipient. Twice the input covers
     * about ten recipients (a one-recipient notice of 1.2 KB uses 1.7 KB
     * of its 3.5 KB); more spill to malloc. Untouched, the rest of a
     * large block costs address space, not memory. */
    cap = 2 * len + 1024;
    self = malloc(sizeof *self + cap);
    if (!self)
        FAIL(RK_ERR_NOMEM, "out of memory");
    memset(self, 0, sizeof *self);
    pb_arena_init(&self->arena, self->block, cap);
    /* protobuf-c returns NULL for bad bytes and for a failed allocation
     * alike; the arena tells them apart. Out of memory is not the
     * sender's fault: the relay answers it so that the sender retries. */
    self->pb = e = renraku__envelope__unpack(&self->arena.pb, len, buf);
    if (!e && self->arena.nomem)
        FAIL(RK_ERR_NOMEM, "out of memory decoding the envelope");
    if (!e)
        MALFORMED("envelope does not decode as protobuf");
    if (e->header.len == 0 || e->header.len > ENVELOPE_MAX_HEADER)
        MALFORMED("header missing or larger than its limit");
    if (e->signature.len != ENVELOPE_SIG_LEN)
        MALFORMED("signature is not 64 bytes");
    if (e->nonce.len != ENVELOPE_NONCE_LEN)
        MALFORMED("nonce is not 24 bytes");
    if (e->ciphertext.len < crypto_aead_xchacha20poly1305_ietf_ABYTES ||
        e->ciphertext.len >
            ENVELOPE_MAX_PAYLOAD + crypto_aead_xchacha20poly1305_ietf_ABYTES)
        MALFORMED("ciphertext shorter than its tag or over the payload limit");
    if (e->base.n_unknown_fields)
        MALFORMED("envelope has unknown fields");

    self->hdr = h =
        renraku__header__unpack(&self->arena.pb, e->header.len, e->header.data);
    if (!h && self->arena.nomem)
        FAIL(RK_ERR_NOMEM, "out of memory decoding the header");
    if (!h)
        MALFORMED("header does not decode as protobuf");
    if (h->base.n_unknown_fields)
        FAIL(RK_ERR_VERSION, "header has fields unknown to version 1");
    if (h->version != ENVELOPE_VERSION)
        FAIL(RK_ERR_VERSION, "unsupported header version");
    if (h->msg_id.len != ENVELOPE_MSG_ID_LEN)
        MALFORMED("msg id is not 16 bytes");
    if (!envelope_node_id_valid(h->sender))
        MALFORMED("sender is not a valid node id");
    if (h->sender_key_id.len != ENVELOPE_KEY_ID_LEN)
        MALFORMED("sender key id is not 8 bytes");
    if (h->n_recipients == 0)
        MALFORMED("no recipients");
    if (h->n_recipients > ENVELOPE_MAX_RECIPIENTS)
        FAIL(RK_ERR_TOO_LARGE, "more than 4096 recipients");
    if (h->kind < RENRAKU__KIND__KIND_NOTICE ||
        h->kind > RENRAKU__KIND__KIND_DRILL_REPLY)
        MALFORMED("unknown message kind");
    if (h->created_ms == 0)
        MALFORMED("created time is zero");
    if (h->has_expires_ms && h->expires_ms != 0 &&
        h->expires_ms <= h->created_ms)
        MALFORMED("expires before it was created");
    if ((h->has_exercise && h->exercise) != (h->drill_id != NULL))
        MALFORMED("exercise flag and drill id disagree");
    if (h->drill_id && !envelope_node_id_valid(h->drill_id))
        MALFORMED("drill id is not a valid id");
    if ((h->kind == RENRAKU__KIND__KIND_DRILL_INJECT ||
         h->kind == RENRAKU__KIND__KIND_DRILL_REPLY) &&
        !h->drill_id)
        MALFORMED("drill message without the exercise flag");
    if (h->has_in_reply_to && h->in_reply_to.len != ENVELOPE_MSG_ID_LEN)
        MALFORMED("in-reply-to is not 16 bytes");
    if (h->has_payload_size &&
        h->payload_size + crypto_aead_xchacha20poly1305_ietf_ABYTES !=
            e->ciphertext.len)
        FAIL(RK_ERR_MISMATCH, "payload size disagrees with the ciphertext");
    for (size_t i = 0; i < h->n_recipients; i++)
        if (!envelope_node_id_valid(h->recipients[i]))
            MALFORMED("a recipient is not a valid node id");
    if (e->n_keys != h->n_recipients)
        FAIL(RK_ERR_MISMATCH, "wrapped keys do not match the recipients");
    for (size_t i = 0; i < e->n_keys; i++) {
        Renraku__WrappedKey *k = e->keys[i];
        if (k->base.n_unknown_fields)
            MALFORMED("wrapped key has unknown fields");
        if (strcmp(k->recipient, h->recipients[i]) != 0)
            FAIL(RK_ERR_MISMATCH, "wrapped keys do not match the recipients");
        if (k->key_id.len != ENVELOPE_KEY_ID_LEN)
            MALFORMED("wrapped key id is not 8 bytes");
        if (k->sealed.len != ENVELOPE_SEALED_KEY_LEN)
            MALFORMED("sealed key is not 80 bytes");
    }
    rc = s_has_duplicates((const char *const *)h->recipients, h->n_recipients,
                          &dup);
    if (rc != RK_OK)
        FAIL(rc, "out of memory");
    if (dup)
        MALFORMED("a recipient is listed twice");

    self->view.version = h->version;
    memcpy(self->view.msg_id, h->msg_id.data, ENVELOPE_MSG_ID_LEN);
    self->view.sender = h->sender;
    memcpy(self->view.sender_key_id, h->sender_key_id.data,
           ENVELOPE_KEY_ID_LEN);
    self->view.recipients = (const char *const *)h->recipients;
    self->view.n_recipients = h->n_recipients;
    self->view.kind = (envelope_kind_t)h->kind;
    self->view.created_ms = h->created_ms;
    self->view.expires_ms = h->has_expires_ms ? h->expires_ms : 0;
    self->view.exercise = h->drill_id != NULL;
    self->view.drill_id = h->drill_id ? h->drill_id : "";
    self->view.has_in_reply_to = h->has_in_reply_to;
    if (h->has_in_reply_to)
        memcpy(self->view.in_reply_to, h->in_reply_to.data,
               ENVELOPE_MSG_ID_LEN);
    self->view.payload_size =
        (uint32_t)(e->ciphertext.len -
                   crypto_aead_xchacha20poly1305_ietf_ABYTES);
    *out = self;
    return RK_OK;
fail:
    envelope_destroy(&self);
    return rc;
}

const envelope_header_t *
envelope_header(const envelope_t *self) {
    return &self->view;
}

const uint8_t *
envelope_header_bytes(const envelope_t *self, size_t *len) {
    *len = self->pb->header.len;
    return self->pb->header.data;
}

int
envelope_verify(const envelope_t *self, const uint8_t sign_pk[32]) {
    const Renraku__Envelope *e = self->pb;
    uint8_t kid[ENVELOPE_KEY_ID_LEN], body[32], keys[32];
    uint8_t small[S_SMALL], *m = NULL;
    size_t m_len;
    int rc;

    envelope_key_id(kid, sign_pk);
    if (sodium_memcmp(kid, self->view.sender_key_id, sizeof kid) != 0)
        return RK_ERR_UNKNOWN_KEY;
    s_body_hash(body, e->nonce.data, e->ciphertext.data, e->ciphertext.len);
    rc = s_keys_hash(keys, e->keys, e->n_keys);
    if (rc != RK_OK)
        return rc;
    rc = s_sig_input(e->header.data, e->header.len, body, keys, small, &m,
                     &m_len);
    if (rc != RK_OK)
        return rc;
    rc = crypto_sign_verify_detached(e->signature.data, m, m_len, sign_pk) == 0
             ? RK_OK
             : RK_ERR_BAD_SIGNATURE;
    if (m != small)
        free(m);
    return rc;
}

int
envelope_open(const envelope_t *self, const char *my_id,
              const uint8_t enc_pk[32], const uint8_t enc_sk[32],
              uint8_t **plain, size_t *plain_len) {
    const Renraku__Envelope *e = self->pb;
    const Renraku__WrappedKey *k = NULL;
    uint8_t kid[ENVELOPE_KEY_ID_LEN], ad[32];
    uint8_t ckey[crypto_aead_xchacha20poly1305_ietf_KEYBYTES]; /* as seal */
    uint8_t *pt = NULL;
    unsigned long long pt_len = 0;
    int rc = RK_ERR_NOMEM;

    for (size_t i = 0; i < e->n_keys && !k; i++)
        if (strcmp(e->keys[i]->recipient, my_id) == 0)
            k = e->keys[i];
    if (!k)
        return RK_ERR_NOT_RECIPIENT;
    envelope_key_id(kid, enc_pk);
    if (sodium_memcmp(kid, k->key_id.data, sizeof kid) != 0)
        return RK_ERR_UNKNOWN_KEY;
    pt = malloc(e->ciphertext.len); /* room for the NUL the caller may add */
    if (!pt)
        goto cleanup;
    rc = RK_ERR_DECRYPT;
    if (crypto_box_seal_open(ckey, k->sealed.data, k->sealed.len, enc_pk,
                             enc_sk) != 0)
        goto cleanup;
    crypto_hash_sha256(ad, e->header.data, e->header.len);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            pt, &pt_len, NULL, e->ciphertext.data, e->ciphertext.len, ad,
            sizeof ad, e->nonce.data, ckey) != 0)
        goto cleanup;
    *plain = pt;
    *plain_len = (size_t)pt_len;
    pt = NULL;
    rc = RK_OK;
cleanup:
    sodium_memzero(ckey, sizeof ckey);
    if (pt) {
        sodium_memzero(pt, e->ciphertext.len);
        free(pt);
    }
    return rc;
}

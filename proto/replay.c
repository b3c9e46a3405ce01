/* replay: a chained hash set keyed by a keyed hash of (sender, msg id), so a
 * sender cannot aim collisions at one bucket; expired entries are swept
 * when the set grows or a window has passed. */
#include "replay.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "rk_buf.h"

typedef struct entry {
    struct entry *next;
    uint64_t created_ms;
    uint8_t msg_id[16];
    char sender[ENVELOPE_NODE_ID_MAX + 1];
} entry_t;

struct replay {
    uint64_t window_ms;
    uint64_t skew_ms;
    size_t max_entries;
    size_t count;
    size_t n_buckets; /* power of two */
    entry_t **buckets;
    uint64_t last_sweep_ms; /* newest time seen at the last sweep */
    uint64_t newest_ms;     /* newest "now" passed to replay_check */
    uint8_t key[crypto_shorthash_KEYBYTES];
};

replay_t *
replay_new(uint64_t window_ms, uint64_t skew_ms, size_t max_entries) {
    replay_t *self;
    size_t nb = 1024;

    if (window_ms == 0 || max_entries == 0)
        return NULL;
    while (nb < max_entries && nb < ((size_t)1 << 22))
        nb <<= 1;
    self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->buckets = calloc(nb, sizeof *self->buckets);
    if (!self->buckets) {
        free(self);
        return NULL;
    }
    self->n_buckets = nb;
    self->window_ms = window_ms;
    self->skew_ms = skew_ms;
    self->max_entries = max_entries;
    crypto_shorthash_keygen(self->key);
    return self;
}

void
replay_destroy(replay_t **self_p) {
    replay_t *self;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    for (size_t i = 0; i < self->n_buckets; i++) {
        entry_t *e = self->buckets[i];
        while (e) {
            entry_t *next = e->next;
            free(e);
            e = next;
        }
    }
    free(self->buckets);
    free(self);
    *self_p = NULL;
}

size_t
replay_size(const replay_t *self) {
    return self->count;
}

static size_t
s_bucket(const replay_t *self, const char *sender, const uint8_t msg_id[16]) {
    uint8_t in[16 + ENVELOPE_NODE_ID_MAX + 1];
    uint8_t h[crypto_shorthash_BYTES];
    size_t n = strnlen(sender, ENVELOPE_NODE_ID_MAX);
    uint64_t v;

    memcpy(in, msg_id, 16);
    memcpy(in + 16, sender, n);
    crypto_shorthash(h, in, 16 + n, self->key);
    memcpy(&v, h, sizeof v);
    return (size_t)(v & (self->n_buckets - 1));
}

/* Drops every entry that could no longer pass the freshness test. */
static void
s_sweep(replay_t *self, uint64_t now_ms) {
    uint64_t horizon = now_ms > self->window_ms ? now_ms - self->window_ms : 0;
    for (size_t i = 0; i < self->n_buckets; i++) {
        entry_t **pp = &self->buckets[i];
        while (*pp) {
            if ((*pp)->created_ms < horizon) {
                entry_t *dead = *pp;
                *pp = dead->next;
                free(dead);
                self->count--;
            } else {
                pp = &(*pp)->next;
            }
        }
    }
    self->last_sweep_ms = now_ms;
}

/* Doubles the buckets and moves every entry to its new one. */
static void
s_grow(replay_t *self) {
    size_t nb = self->n_buckets * 2, old = self->n_buckets;
    entry_t **fresh = calloc(nb, sizeof *fresh), **prev = self->buckets;
    if (!fresh)
        return;
    self->buckets = fresh;
    self->n_buckets = nb;
    for (size_t i = 0; i < old; i++)
        while (prev[i]) {
            entry_t *e = prev[i];
            size_t k = s_bucket(self, e->sender, e->msg_id);
            prev[i] = e->next;
            e->next = fresh[k];
            fresh[k] = e;
        }
    free(prev);
}

static int
s_insert(replay_t *self, const char *sender, const uint8_t msg_id[16],
         uint64_t created_ms) {
    size_t b;
    entry_t *e;

    if (strlen(sender) > ENVELOPE_NODE_ID_MAX)
        return RK_ERR_INVALID;
    b = s_bucket(self, sender, msg_id);
    for (e = self->buckets[b]; e; e = e->next)
        if (memcmp(e->msg_id, msg_id, 16) == 0 &&
            strcmp(e->sender, sender) == 0)
            return RK_ERR_REPLAY;
    if (self->count >= self->max_entries) {
        /* A sweep walks the whole set: while it stays full, at most one a
         * second (a sweep at the same time frees nothing new), or every
         * submit would pay for a walk over a million entries. */
        if (self->newest_ms - self->last_sweep_ms >= 1000)
            s_sweep(self, self->newest_ms);
        if (self->count >= self->max_entries)
            return RK_ERR_FULL;
    }
    if (self->count >= 2 * self->n_buckets)
        s_grow(self); /* keeps chains short; on failure they grow longer */
    b = s_bucket(self, sender, msg_id);
    e = calloc(1, sizeof *e);
    if (!e)
        return RK_ERR_NOMEM;
    memcpy(e->msg_id, msg_id, 16);
    strcpy(e->sender, sender);
    e->created_ms = created_ms;
    e->next = self->buckets[b];
    self->buckets[b] = e;
    self->count++;
    return RK_OK;
}

int
replay_check(replay_t *self, const char *sender, const uint8_t msg_id[16],
             uint64_t created_ms, uint64_t now_ms) {
    if (created_ms + self->window_ms < now_ms)
        return RK_ERR_STALE;
    if (created_ms > now_ms + self->skew_ms)
        return RK_ERR_FUTURE;
    if (now_ms > self->newest_ms)
        self->newest_ms = now_ms;
    /* Sweep about once a window so memory follows the traffic. */
    if (self->newest_ms - self->last_sweep_ms > self->window_ms)
        s_sweep(self, self->newest_ms);
    return s_insert(self, sender, msg_id, created_ms);
}

int
replay_remember(replay_t *self, const char *sender, const uint8_t msg_id[16],
                uint64_t created_ms) {
    return s_insert(self, sender, msg_id, created_ms);
}

int
replay_forget(replay_t *self, const char *sender, const uint8_t msg_id[16]) {
    entry_t **pp;
    if (strlen(sender) > ENVELOPE_NODE_ID_MAX)
        return RK_ERR_NOT_FOUND;
    pp = &self->buckets[s_bucket(self, sender, msg_id)];
    for (; *pp; pp = &(*pp)->next)
        if (memcmp((*pp)->msg_id, msg_id, 16) == 0 &&
            strcmp((*pp)->sender, sender) == 0) {
            entry_t *dead = *pp;
            *pp = dead->next;
            free(dead);
            self->count--;
            return RK_OK;
        }
    return RK_ERR_NOT_FOUND;
}

void
replay_save(const replay_t *self, rk_wbuf_t *b) {
    rk_wbuf_u64(b, self->count);
    for (size_t i = 0; i < self->n_buckets; i++)
        for (const entry_t *e = self->buckets[i]; e; e = e->next) {
            rk_wbuf_str(b, e->sender);
            rk_wbuf_put(b, e->msg_id, 16);
            rk_wbuf_u64(b, e->created_ms);
        }
}

int
replay_restore(replay_t *self, rk_rbuf_t *b) {
    uint64_t n = rk_rbuf_u64(b);
    /* Each entry takes at least 25 bytes: a count beyond that is a lie. */
    if (b->failed || n > rk_rbuf_left(b) / 25)
        return RK_ERR_MALFORMED;
    while (self->n_buckets * 2 < self->count + n) {
        size_t nb = self->n_buckets;
        s_grow(self);
        if (self->n_buckets == nb)
            break;
    }
    for (uint64_t i = 0; i < n; i++) {
        char sender[ENVELOPE_NODE_ID_MAX + 1];
        uint8_t msg_id[16];
        uint64_t created;
        int rc;
        rk_rbuf_str(b, sender, sizeof sender);
        rk_rbuf_get(b, msg_id, 16);
        created = rk_rbuf_u64(b);
        if (b->failed)
            return RK_ERR_MALFORMED;
        rc = s_insert(self, sender, msg_id, created);
        if (rc != RK_OK && rc != RK_ERR_REPLAY)
            return rc;
    }
    return RK_OK;
}

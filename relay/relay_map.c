/* relay_map: chained buckets, doubling at load factor 1. */
#include "relay_map.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct bucket {
    struct bucket *next;
    void *value;
    size_t klen;
    uint8_t key[]; /* copied */
} bucket_t;

struct relay_map {
    bucket_t **b;
    size_t nb; /* power of two */
    size_t count;
    uint8_t k[crypto_shorthash_KEYBYTES];
};

relay_map_t *
relay_map_new(void) {
    relay_map_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->nb = 256;
    self->b = calloc(self->nb, sizeof *self->b);
    if (!self->b) {
        free(self);
        return NULL;
    }
    crypto_shorthash_keygen(self->k);
    return self;
}

void
relay_map_destroy(relay_map_t **self_p, void (*free_value)(void *)) {
    relay_map_t *self;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    for (size_t i = 0; i < self->nb; i++) {
        bucket_t *e = self->b[i];
        while (e) {
            bucket_t *next = e->next;
            if (free_value)
                free_value(e->value);
            free(e);
            e = next;
        }
    }
    free(self->b);
    free(self);
    *self_p = NULL;
}

static size_t
s_hash(const uint8_t k[crypto_shorthash_KEYBYTES], size_t nb, const void *key,
       size_t len) {
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;
    crypto_shorthash(h, key, len, k);
    memcpy(&v, h, sizeof v);
    return (size_t)(v & (nb - 1));
}

static bucket_t **
s_slot(const relay_map_t *self, const void *key, size_t len) {
    bucket_t **pp = &self->b[s_hash(self->k, self->nb, key, len)];
    while (*pp && !((*pp)->klen == len && memcmp((*pp)->key, key, len) == 0))
        pp = &(*pp)->next;
    return pp;
}

void *
relay_map_get(const relay_map_t *self, const void *key, size_t len) {
    bucket_t **pp = s_slot(self, key, len);
    return *pp ? (*pp)->value : NULL;
}

static void
s_grow(relay_map_t *self) {
    size_t nb = self->nb * 2;
    bucket_t **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* keep working with longer chains */
    for (size_t i = 0; i < self->nb; i++) {
        bucket_t *e = self->b[i];
        while (e) {
            bucket_t *next = e->next;
            size_t h = s_hash(self->k, nb, e->key, e->klen);
            e->next = b[h];
            b[h] = e;
            e = next;
        }
    }
    free(self->b);
    self->b = b;
    self->nb = nb;
}

void
relay_map_reserve(relay_map_t *self, size_t n) {
    while (self->nb < n) {
        size_t nb = self->nb;
        s_grow(self);
        if (self->nb == nb)
            return; /* no memory: chains grow longer instead */
    }
}

int
relay_map_put(relay_map_t *self, const void *key, size_t len, void *value) {
    bucket_t **pp = s_slot(self, key, len), *e;
    if (*pp) {
        (*pp)->value = value;
        return RK_OK;
    }
    e = malloc(sizeof *e + len);
    if (!e)
        return RK_ERR_NOMEM;
    e->next = NULL;
    e->value = value;
    e->klen = len;
    memcpy(e->key, key, len);
    *pp = e;
    if (++self->count > self->nb)
        s_grow(self);
    return RK_OK;
}

void *
relay_map_del(relay_map_t *self, const void *key, size_t len) {
    bucket_t **pp = s_slot(self, key, len), *e = *pp;
    void *v;
    if (!e)
        return NULL;
    *pp = e->next;
    v = e->value;
    free(e);
    self->count--;
    return v;
}

size_t
relay_map_count(const relay_map_t *self) {
    return self->count;
}

void
relay_map_each(relay_map_t *self, void (*fn)(void *value, void *arg),
               void *arg) {
    for (size_t i = 0; i < self->nb; i++) {
        bucket_t *e = self->b[i];
        while (e) {
            bucket_t *next = e->next; /* fn may delete e */
            fn(e->value, arg);
            e = next;
        }
    }
}

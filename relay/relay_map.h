/* relay_map: a chained hash map from byte-string keys to pointers, keyed
 * with SipHash under a random key because peers choose the keys (node ids,
 * msg ids). The relay's tables use it; it owns only its buckets. */
#ifndef RELAY_MAP_H
#define RELAY_MAP_H

#include <stddef.h>

#include "rk_error.h"

typedef struct relay_map relay_map_t;

relay_map_t *relay_map_new(void);

/* Frees the buckets, calling free_value (may be NULL) on every value;
 * accepts NULL and sets *self_p to NULL. */
void relay_map_destroy(relay_map_t **self_p, void (*free_value)(void *));

/* The value stored under key, or NULL. */
void *relay_map_get(const relay_map_t *self, const void *key, size_t len);

/* Stores value under key (copied), replacing any previous value (which is
 * not freed). Returns 0 or RK_ERR_NOMEM. */
int relay_map_put(relay_map_t *self, const void *key, size_t len,
                  void *value) RK_WUR;

/* Removes key; returns its value (the caller's to free) or NULL. */
void *relay_map_del(relay_map_t *self, const void *key, size_t len);

size_t relay_map_count(const relay_map_t *self);

/* Makes room for n entries at once (fewer rehashes when their number is
 * known, as when the relay loads its state). Best effort. */
void relay_map_reserve(relay_map_t *self, size_t n);

/* Calls fn on every value; fn may delete the current key. */
void relay_map_each(relay_map_t *self, void (*fn)(void *value, void *arg),
                    void *arg);

#endif

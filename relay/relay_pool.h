/* relay_pool: a fixed set of worker threads that run one parallel-for at a
 * time (fork-join). The relay uses it to verify a batch of envelope
 * signatures on every core it is given; nothing else is shared. */
#ifndef RELAY_POOL_H
#define RELAY_POOL_H

#include <stddef.h>

typedef struct relay_pool relay_pool_t;

/* Calls fn(i, arg) for one item index i. Must be thread-safe for
 * different i. */
typedef void(relay_pool_fn)(size_t i, void *arg);

/* Starts `threads` workers (0 or 1: everything runs on the caller's
 * thread). Returns NULL on failure. */
relay_pool_t *relay_pool_new(size_t threads);

/* Joins the workers and frees; accepts NULL and sets *self_p to NULL. */
void relay_pool_destroy(relay_pool_t **self_p);

/* Runs fn for every i in [0, n) across the workers and the calling
 * thread, and returns when all are done. */
void relay_pool_run(relay_pool_t *self, size_t n, relay_pool_fn *fn, void *arg);

/* How many threads take part (workers + the caller). */
size_t relay_pool_size(const relay_pool_t *self);

#endif

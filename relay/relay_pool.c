/* relay_pool: fork-join over pthreads. Items are handed out with an atomic
 * counter so a slow item does not hold a whole slice back. */
#include "relay_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

struct relay_pool {
    pthread_t *threads;
    size_t n_threads;
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* a new job, or stop */
    pthread_cond_t done;      /* the last worker left the job */
    unsigned long generation; /* bumped per job */
    bool stop;
    /* The current job. */
    relay_pool_fn *fn;
    void *arg;
    size_t n;
    atomic_size_t next;
    size_t busy; /* workers still inside the job */
};

static void
s_drain(relay_pool_t *self) {
    size_t i;
    while ((i = atomic_fetch_add(&self->next, 1)) < self->n)
        self->fn(i, self->arg);
}

static void *
s_worker(void *p) {
    relay_pool_t *self = p;
    unsigned long seen = 0;

    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->stop && self->generation == seen)
            pthread_cond_wait(&self->wake, &self->lock);
        if (self->stop)
            break;
        seen = self->generation;
        pthread_mutex_unlock(&self->lock);
        s_drain(self);
        pthread_mutex_lock(&self->lock);
        if (--self->busy == 0)
            pthread_cond_signal(&self->done);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

relay_pool_t *
relay_pool_new(size_t threads) {
    relay_pool_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    pthread_cond_init(&self->done, NULL);
    atomic_init(&self->next, 0);
    /* The caller works too, so start one thread fewer. */
    if (threads > 1) {
        self->threads = calloc(threads - 1, sizeof *self->threads);
        if (!self->threads) {
            relay_pool_destroy(&self);
            return NULL;
        }
        for (size_t i = 0; i < threads - 1; i++) {
            if (pthread_create(&self->threads[i], NULL, s_worker, self) != 0) {
                relay_pool_destroy(&self);
                return NULL;
            }
            self->n_threads++;
        }
    }
    return self;
}

void
relay_pool_destroy(relay_pool_t **self_p) {
    relay_pool_t *self;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    for (size_t i = 0; i < self->n_threads; i++)
        pthread_join(self->threads[i], NULL);
    free(self->threads);
    pthread_cond_destroy(&self->done);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void
relay_pool_run(relay_pool_t *self, size_t n, relay_pool_fn *fn, void *arg) {
    if (n == 0)
        return;
    if (self->n_threads == 0 || n == 1) {
        for (size_t i = 0; i < n; i++)
            fn(i, arg);
        return;
    }
    pthread_mutex_lock(&self->lock);
    self->fn = fn;
    self->arg = arg;
    self->n = n;
    atomic_store(&self->next, 0);
    self->busy = self->n_threads;
    self->generation++;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    s_drain(self);
    pthread_mutex_lock(&self->lock);
    while (self->busy > 0)
        pthread_cond_wait(&self->done, &self->lock);
    pthread_mutex_unlock(&self->lock);
}

size_t
relay_pool_size(const relay_pool_t *self) {
    return self->n_threads + 1;
}

/* Unit tests for relay/relay_pool: every index runs exactly once for
 * n = 0, 1, 2 and 1000 on 1, 2 and 4 threads, job after job; the workers
 * really share a job; destroy joins every worker thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay_pool.h"

#define S_JOBS 200
#define S_MAX_N 1000

typedef struct {
    atomic_int hits[S_MAX_N];
    size_t n;
    atomic_int out_of_range;
} job_t;

static void
s_hit(size_t i, void *arg) {
    job_t *j = arg;
    if (i >= j->n)
        atomic_fetch_add(&j->out_of_range, 1);
    else
        atomic_fetch_add(&j->hits[i], 1);
}

/* Threads of this process, from /proc/self/task. */
static int
s_threads(void) {
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Linked with -Wl,--wrap=pthread_create,--wrap=pthread_join: the pool's
 * threads started and joined, counted as they happen. (A thread joined a
 * moment ago can still be listed in /proc/self/task while the kernel ends
 * it, so /proc cannot tell that destroy joined every worker.) */
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a,
                          void *(*fn)(void *), void *arg);
int __real_pthread_join(pthread_t t, void **ret);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
                          void *(*fn)(void *), void *arg);
int __wrap_pthread_join(pthread_t t, void **ret);
static atomic_int s_started, s_joined;

int
__wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
                      void *(*fn)(void *), void *arg) {
    int rc = __real_pthread_create(t, a, fn, arg);
    if (rc == 0)
        atomic_fetch_add(&s_started, 1);
    return rc;
}

int
__wrap_pthread_join(pthread_t t, void **ret) {
    int rc = __real_pthread_join(t, ret);
    if (rc == 0)
        atomic_fetch_add(&s_joined, 1);
    return rc;
}

/* The pool's threads started and not joined. */
static int
s_running(void) {
    return atomic_load(&s_started) - atomic_load(&s_joined);
}

static void
test_every_index_once(void **state) {
    static const size_t threads[] = {1, 2, 4};
    static const size_t ns[] = {0, 1, 2, S_MAX_N};
    static job_t job;
    (void)state;
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        relay_pool_t *p = relay_pool_new(threads[t]);
        assert_non_null(p);
        assert_int_equal(relay_pool_size(p), threads[t]);
        for (int round = 0; round < S_JOBS; round++)
            for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
                job.n = ns[k];
                atomic_store(&job.out_of_range, 0);
                for (size_t i = 0; i < S_MAX_N; i++)
                    atomic_store(&job.hits[i], 0);
                relay_pool_run(p, job.n, s_hit, &job);
                /* Everything is done when run returns. */
                assert_int_equal(atomic_load(&job.out_of_range), 0);
                for (size_t i = 0; i < S_MAX_N; i++)
                    if (atomic_load(&job.hits[i]) != (i < job.n ? 1 : 0))
                        fail_msg("threads=%zu n=%zu round=%d index %zu ran "
                                 "%d times",
                                 threads[t], job.n, round, i,
                                 atomic_load(&job.hits[i]));
            }
        relay_pool_destroy(&p);
        assert_null(p);
    }
}

/* Two items that can only finish together: each waits (bounded) until the
 * other has started, so the job completes only when two threads run it. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int started;
    int met; /* items that saw the other one start */
} meet_t;

static void
s_meet(size_t i, void *arg) {
    meet_t *m = arg;
    struct timespec until;
    (void)i;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&m->lock);
    m->started++;
    pthread_cond_broadcast(&m->cond);
    while (m->started < 2)
        if (pthread_cond_timedwait(&m->cond, &m->lock, &until) == ETIMEDOUT)
            break;
    m->met += m->started >= 2;
    pthread_mutex_unlock(&m->lock);
}

static void
test_shared(void **state) {
    relay_pool_t *p = relay_pool_new(2);
    (void)state;
    for (int round = 0; round < 20; round++) {
        meet_t m;
        memset(&m, 0, sizeof m);
        pthread_mutex_init(&m.lock, NULL);
        pthread_cond_init(&m.cond, NULL);
        relay_pool_run(p, 2, s_meet, &m);
        assert_int_equal(m.started, 2);
        assert_int_equal(m.met, 2);
        pthread_cond_destroy(&m.cond);
        pthread_mutex_destroy(&m.lock);
    }
    relay_pool_destroy(&p);
}

static void
test_destroy_joins(void **state) {
    int before = s_threads();
    relay_pool_t *p;
    job_t *job = calloc(1, sizeof *job);
    (void)state;
    assert_non_null(job);

    /* Destroyed before any job: workers still waiting for their first. */
    p = relay_pool_new(4);
    assert_non_null(p);
    assert_int_equal(s_threads(), before + 3);
    assert_int_equal(s_running(), 3);
    relay_pool_destroy(&p);
    assert_null(p);
    assert_int_equal(s_running(), 0);

    /* Destroyed right after a job. */
    p = relay_pool_new(4);
    job->n = S_MAX_N;
    relay_pool_run(p, job->n, s_hit, job);
    assert_int_equal(s_running(), 3);
    relay_pool_destroy(&p);
    assert_int_equal(s_running(), 0);
    for (size_t i = 0; i < S_MAX_N; i++)
        assert_int_equal(atomic_load(&job->hits[i]), 1);

    /* 0 and 1 threads: no workers at all, everything on the caller. */
    p = relay_pool_new(0);
    assert_non_null(p);
    assert_int_equal(relay_pool_size(p), 1);
    assert_int_equal(s_running(), 0);
    relay_pool_destroy(&p);
    p = relay_pool_new(1);
    assert_int_equal(relay_pool_size(p), 1);
    assert_int_equal(s_running(), 0);
    relay_pool_destroy(&p);
    relay_pool_destroy(&p);
    relay_pool_destroy(NULL);
    free(job);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_index_once),
        cmocka_unit_test(test_shared),
        cmocka_unit_test(test_destroy_joins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* skewclock: an LD_PRELOAD shim for the chaos tests that moves a process's
 * wall clock (CLOCK_REALTIME, gettimeofday, time) by SKEW_MS milliseconds
 * (signed), so a real renrakud can run with a clock ahead or behind. With
 * SKEW_FREEZE_FILE set, the wall clock stands still while that file
 * exists, at the time it read when it first saw the file, and runs (jumps)
 * on once the file is gone: a test holds open a wait that the program
 * counts on the wall clock. Test-only: never linked into a program, never
 * installed. Monotonic clocks are left alone. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long
s_skew_ms(void) {
    const char *s = getenv("SKEW_MS");
    return s ? strtoll(s, NULL, 10) : 0;
}

static void
s_shift(struct timespec *ts) {
    long long ns = (long long)ts->tv_nsec + (s_skew_ms() % 1000) * 1000000LL;
    ts->tv_sec += (time_t)(s_skew_ms() / 1000);
    while (ns < 0) {
        ns += 1000000000LL;
        ts->tv_sec--;
    }
    while (ns >= 1000000000LL) {
        ns -= 1000000000LL;
        ts->tv_sec++;
    }
    ts->tv_nsec = (long)ns;
}

static long long s_frozen_ns; /* the stopped clock, or 0: running */

/* Stops ts at the first time read since the freeze file appeared. The file
 * is looked for with a raw syscall: no stdio, nothing that reads the clock
 * back. */
static void
s_freeze(struct timespec *ts) {
    const char *f = getenv("SKEW_FREEZE_FILE");
    long long now, was = 0;
    if (!f || syscall(SYS_faccessat, AT_FDCWD, f, F_OK) != 0) {
        __atomic_store_n(&s_frozen_ns, 0, __ATOMIC_SEQ_CST);
        return;
    }
    now = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
    if (!__atomic_compare_exchange_n(&s_frozen_ns, &was, now, 0,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        now = was; /* frozen earlier, by this thread or another */
    ts->tv_sec = (time_t)(now / 1000000000LL);
    ts->tv_nsec = (long)(now % 1000000000LL);
}

int
clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    int rc;
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "clock_gettime");
    rc = real(id, ts);
    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
        s_shift(ts);
        s_freeze(ts);
    }
    return rc;
}

int
gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return -1;
    (void)tz;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

time_t
time(time_t *out) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (time_t)-1;
    if (out)
        *out = ts.tv_sec;
    return ts.tv_sec;
}

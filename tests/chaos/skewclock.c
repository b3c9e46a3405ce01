/* skewclock: an LD_PRELOAD shim for the chaos tests that moves a process's
 * wall clock (CLOCK_REALTIME, gettimeofday, time) by SKEW_MS milliseconds
 * (signed), so a real renrakud can run with a clock ahead or behind.
 * Test-only: never linked into a program, never installed. Monotonic
 * clocks are left alone. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

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

int
clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    int rc;
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "clock_gettime");
    rc = real(id, ts);
    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
        s_shift(ts);
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

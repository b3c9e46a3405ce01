/* hiccup: how often the machine itself pauses. Sleeps SLEEP_US at a time
 * (default 1000) for SECONDS and counts the wake-ups that came more than
 * THRESHOLD_MS late:
 * a process that asks for almost no CPU is held up when the whole machine
 * is (the host taking its virtual CPUs away, CPU throttling, a long
 * interrupt) or when it waits behind busier processes for a core. Also
 * reads the steal time (/proc/stat) over the same span, which tells the
 * first kind apart.
 * One JSON line on stdout:
 *   {"secs":..,"pauses":N,"max_ms":..,"sum_ms":..,"median_gap_ms":..,
 *    "steal_pct":..}
 * where median_gap_ms is the median time between two pauses (a host's CFS
 * quota shows as pauses every 100 ms) and steal_pct the share of the
 * machine's CPU time the host took (all CPUs; -1 when unknown).
 * Waking more often costs the machine more than it tells: at 200 us the
 * relay's latency p99 beside it rose from 4-7 ms to 8-9 ms.
 * Usage: hiccup SECONDS [THRESHOLD_MS [SLEEP_US]] */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "rk_util.h"

#define S_MAX_PAUSES 100000

/* The project's monotonic clock, in ns (us are fine at ms thresholds). */
static uint64_t
s_ns(void) {
    return rk_mono_us() * 1000u;
}

/* Steal and total jiffies of all CPUs, from /proc/stat's first line. */
static int
s_stat(unsigned long long *steal, unsigned long long *total) {
    unsigned long long v[10] = {0};
    FILE *fp = fopen("/proc/stat", "r");
    int n;
    if (!fp)
        return -1;
    n = fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
               &v[9]);
    fclose(fp);
    if (n < 8)
        return -1;
    *steal = v[7];
    *total = 0;
    for (int i = 0; i < 8; i++) /* guest time is in user already */
        *total += v[i];
    return 0;
}

static int
s_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv) {
    double secs = argc > 1 ? rk_parse_finite(argv[1]) : NAN;
    double thresh_ms = argc > 2 ? rk_parse_finite(argv[2]) : 2.0;
    double sleep_d = argc > 3 ? rk_parse_finite(argv[3]) : 1000;
    long sleep_us = isfinite(sleep_d) && sleep_d == floor(sleep_d) &&
                            sleep_d >= 10 && sleep_d <= 1000000
                        ? (long)sleep_d
                        : -1;
    uint64_t *at, t0, prev, end, thresh, max = 0, sum = 0;
    unsigned long long st0 = 0, tot0 = 0, st1 = 0, tot1 = 0;
    size_t n = 0;
    int have_stat;
    double steal_pct = -1, median_gap = 0;

    if (argc > 4 || !(secs > 0 && secs <= 3600) ||
        !(thresh_ms > 0 && thresh_ms <= 60000) || sleep_us < 0 ||
        sleep_us >= thresh_ms * 1000) {
        fprintf(stderr, "usage: hiccup SECONDS [THRESHOLD_MS [SLEEP_US]] "
                        "(SECONDS in (0, 3600], THRESHOLD_MS in (0, 60000], "
                        "SLEEP_US a whole number in [10, 1000000] and under "
                        "THRESHOLD_MS)\n");
        return 2;
    }
    at = calloc(S_MAX_PAUSES, sizeof *at);
    if (!at) {
        fprintf(stderr, "hiccup: out of memory\n");
        return 1;
    }
    thresh = (uint64_t)(thresh_ms * 1e6);
    have_stat = s_stat(&st0, &tot0) == 0;
    t0 = prev = s_ns();
    end = t0 + (uint64_t)(secs * 1e9);
    while (prev < end) {
        struct timespec req = {sleep_us / 1000000, (sleep_us % 1000000) * 1000};
        uint64_t t, late, want = (uint64_t)sleep_us * 1000u;
        nanosleep(&req, NULL);
        t = s_ns();
        late = t - prev > want ? t - prev - want : 0;
        if (late > thresh) {
            if (n < S_MAX_PAUSES) /* past it, the gaps are not kept */
                at[n] = prev - t0;
            n++;
            sum += late;
            if (late > max)
                max = late;
        }
        prev = t;
    }
    if (have_stat && s_stat(&st1, &tot1) == 0 && tot1 > tot0)
        steal_pct = 100.0 * (double)(st1 - st0) / (double)(tot1 - tot0);
    if (n > 1) {
        size_t k = n < S_MAX_PAUSES ? n : S_MAX_PAUSES;
        for (size_t i = 0; i + 1 < k; i++)
            at[i] = at[i + 1] - at[i];
        qsort(at, k - 1, sizeof *at, s_cmp);
        median_gap = (double)at[(k - 1) / 2] / 1e6; /* the upper median */
    }
    printf("{\"secs\":%.1f,\"threshold_ms\":%.1f,\"sleep_us\":%ld,"
           "\"pauses\":%zu,"
           "\"max_ms\":%.2f,\"sum_ms\":%.1f,\"median_gap_ms\":%.1f,"
           "\"steal_pct\":%.2f}\n",
           secs, thresh_ms, sleep_us, n, (double)max / 1e6, (double)sum / 1e6,
           median_gap, steal_pct);
    free(at);
    return 0;
}

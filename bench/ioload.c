/* ioload: loads that stand in for parts of a node run, with no renraku
 * process, to tell what makes the machine pause (bench/hiccup beside each;
 * row 4g of bench/BENCHMARKS.md):
 *   ioload spin SECONDS
 *       one busy CPU, as the relay, the node and the load generator keep
 *       the cores busy in a run;
 *   ioload disk DIR SECONDS [RATE]
 *       the node's writes without its CPU: RATE times a second (default
 *       1000), a new 4 KiB file in DIR (written, not synced, as an inbox
 *       file) and a 4 KiB append to DIR/journal, then fdatasync of the
 *       journal.
 * One JSON line on stdout: {"mode":..,"secs":..,"ops":N,"rate":..}; disk
 * adds how long the journal's fdatasync took (p50, p99, p99.9, the longest,
 * and how many took over 2 ms): beside `ioload spin`, which does no I/O,
 * that shows whether a busy CPU slows the disk.
 * Errors name what failed, exit 1; bad arguments exit 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rk_util.h"

static int
s_usage(void) {
    fprintf(stderr, "usage: ioload spin SECONDS | ioload disk DIR SECONDS "
                    "[RATE] (SECONDS in (0, 3600], RATE in [1, 100000])\n");
    return 2;
}

static int
s_spin(double secs) {
    uint64_t end = rk_mono_us() + (uint64_t)(secs * 1e6);
    volatile uint64_t sink = 0;
    while (rk_mono_us() < end)
        for (int i = 0; i < 100000; i++)
            sink += (uint64_t)i;
    printf("{\"mode\":\"spin\",\"secs\":%.1f}\n", secs);
    return 0;
}

/* fdatasync latencies, in 10 us steps up to 100 ms (the last step holds
 * everything longer; the longest is kept exactly). */
#define S_STEPS 10000
static uint32_t s_hist[S_STEPS + 1];

/* The latency, in ms, below which a share q of the n samples fall. */
static double
s_quantile(uint64_t n, double q) {
    uint64_t want = (uint64_t)ceil(q * (double)n), seen = 0;
    for (int i = 0; i <= S_STEPS; i++) {
        seen += s_hist[i];
        if (seen >= want && want)
            return (i + 1) / 100.0;
    }
    return 0;
}

static int
s_disk(const char *dir, double secs, double rate) {
    char path[PATH_MAX];
    static char block[4096];
    uint64_t t0 = rk_mono_us(), end = t0 + (uint64_t)(secs * 1e6), ops = 0;
    uint64_t slow = 0, longest = 0;
    int jfd;

    memset(block, 'x', sizeof block);
    if (snprintf(path, sizeof path, "%s/journal", dir) >= (int)sizeof path) {
        fprintf(stderr, "ioload: %s: path too long\n", dir);
        return 1;
    }
    jfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (jfd < 0) {
        fprintf(stderr, "ioload: %s: %s\n", path, strerror(errno));
        return 1;
    }
    for (;;) {
        uint64_t now = rk_mono_us(), due = t0 + (uint64_t)(ops * 1e6 / rate);
        int fd;
        if (now >= end)
            break;
        if (due > now) {
            struct timespec ts = {(time_t)((due - now) / 1000000),
                                  (long)((due - now) % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
        snprintf(path, sizeof path, "%s/f%llu", dir, (unsigned long long)ops);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || rk_write_all(fd, block, sizeof block) != 0) {
            fprintf(stderr, "ioload: %s: %s\n", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            close(jfd);
            return 1;
        }
        close(fd);
        if (rk_write_all(jfd, block, sizeof block) != 0) {
            fprintf(stderr, "ioload: %s/journal: %s\n", dir, strerror(errno));
            close(jfd);
            return 1;
        }
        {
            uint64_t a = rk_mono_us(), took;
            if (fdatasync(jfd) != 0) {
                fprintf(stderr, "ioload: %s/journal: fdatasync: %s\n", dir,
                        strerror(errno));
                close(jfd);
                return 1;
            }
            took = rk_mono_us() - a;
            s_hist[took / 10 < S_STEPS ? took / 10 : S_STEPS]++;
            slow += took > 2000;
            if (took > longest)
                longest = took;
        }
        ops++;
    }
    close(jfd);
    printf("{\"mode\":\"disk\",\"secs\":%.1f,\"ops\":%llu,\"rate\":%.0f,"
           "\"sync_p50_ms\":%.2f,\"sync_p99_ms\":%.2f,\"sync_p999_ms\":%.2f,"
           "\"sync_max_ms\":%.2f,\"sync_over_2ms\":%llu}\n",
           secs, (unsigned long long)ops, (double)ops / secs,
           s_quantile(ops, 0.5), s_quantile(ops, 0.99), s_quantile(ops, 0.999),
           longest / 1000.0, (unsigned long long)slow);
    return 0;
}

int
main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "spin") == 0) {
        double secs = rk_parse_finite(argv[2]);
        if (!(secs > 0 && secs <= 3600))
            return s_usage();
        return s_spin(secs);
    }
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "disk") == 0) {
        double secs = rk_parse_finite(argv[3]);
        double rate = argc == 5 ? rk_parse_finite(argv[4]) : 1000;
        if (!(secs > 0 && secs <= 3600) || !(rate >= 1 && rate <= 100000))
            return s_usage();
        return s_disk(argv[2], secs, rate);
    }
    return s_usage();
}

/* bench_relay_log: appends per second and records per fdatasync of the
 * relay log for 1 KiB records, committed in batches of 1, 16 and 256.
 * Run by hand on an idle machine: bench_relay_log [DIR] (default /tmp; it
 * must be a real disk, not tmpfs, for the fdatasync to mean anything). */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay_log.h"
#include "rk_log.h"

#define REC_LEN 1024
#define RUN_NS 2000000000ull /* about two seconds per batch size */

static uint64_t
s_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
s_syncs(void *arg, const char *op) {
    if (strcmp(op, "fdatasync") == 0)
        (*(uint64_t *)arg)++;
    return 0;
}

static void
s_rm(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static int
s_run(const char *base, size_t batch, const uint8_t sk[64]) {
    char dir[4096], err[256];
    uint8_t rec[REC_LEN];
    relay_log_config_t cfg;
    relay_log_t *log = NULL;
    uint64_t syncs = 0, n = 0, t0, t1, lat_max = 0;

    snprintf(dir, sizeof dir, "%s/bench-rlog-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.dir = dir;
    cfg.origin = "bench.example/relay";
    cfg.secret_key = sk;
    cfg.fault = s_syncs;
    cfg.fault_arg = &syncs;
    if (relay_log_open(&cfg, &log, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    randombytes_buf(rec, sizeof rec);
    syncs = 0;
    t0 = s_now_ns();
    do {
        uint64_t b0 = s_now_ns(), lat;
        for (size_t i = 0; i < batch; i++) {
            rec[0] = (uint8_t)n;
            if (relay_log_append(log, rec, sizeof rec, NULL) != 0) {
                fprintf(stderr, "append failed\n");
                return 1;
            }
            n++;
        }
        if (relay_log_sync(log) != 0) {
            fprintf(stderr, "sync failed\n");
            return 1;
        }
        lat = s_now_ns() - b0;
        if (lat > lat_max)
            lat_max = lat;
        t1 = s_now_ns();
    } while (t1 - t0 < RUN_NS);
    printf("batch %4zu: %8" PRIu64 " records, %7.0f appends/s, %6.1f records "
           "per fdatasync, %5.1f MiB/s, slowest batch %.2f ms\n",
           batch, n, (double)n * 1e9 / (double)(t1 - t0),
           (double)n / (double)syncs,
           (double)n * REC_LEN / (1024.0 * 1024.0) * 1e9 / (double)(t1 - t0),
           (double)lat_max / 1e6);
    relay_log_close(&log);
    s_rm(dir);
    return 0;
}

int
main(int argc, char **argv) {
    const char *base = argc > 1 ? argv[1] : "/tmp";
    const size_t batches[] = {1, 16, 256};
    uint8_t pk[32], sk[64];

    if (sodium_init() < 0)
        return 1;
    rk_log_level = RK_LOG_WARN;
    crypto_sign_keypair(pk, sk);
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++)
        if (s_run(base, batches[i], sk) != 0)
            return 1;
    sodium_memzero(sk, sizeof sk);
    return 0;
}

/* mqtt_bench: one publisher and one subscriber through a mosquitto broker,
 * the MQTT peer of the relay benchmark (issue 7, figure 3). Not part of
 * renraku; bench/bench_peers.sh starts the broker and runs this.
 *
 * The subscriber connects first with a persistent session (clean session
 * false) and subscribes at QoS 1; the publisher then publishes --count
 * messages of --payload bytes at QoS 1 with at most --window unacknowledged
 * (PUBACK) at once, and the run ends when every publish is acknowledged
 * and the subscriber has every message (each counted once; a duplicate is
 * counted apart). Both clients run in this one thread, on one poll loop.
 *
 *   mqtt_bench --port P [--host H] [--count N] [--window W] [--payload B]
 *              [--broker-pid PID] [--timeout-ms T]
 * One JSON line on stdout; exit 0 when everything arrived, 1 otherwise.
 */
#include <getopt.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define TOPIC "renraku/bench"

static long s_count = 10000, s_window = 256, s_payload = 1024;
static long s_inflight, s_acked, s_received, s_dups, s_foreign;
static int s_pub_connected, s_sub_connected, s_subscribed;
static uint8_t s_nonce[8], *s_seen;

static uint64_t
s_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double
s_proc_cpu_s(long pid) {
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *fp;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    fp = fopen(path, "r");
    if (!fp)
        return -1;
    p = fgets(buf, sizeof buf, fp) ? strrchr(buf, ')') : NULL;
    fclose(fp);
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
s_self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
s_on_connect(struct mosquitto *m, void *obj, int rc) {
    (void)m;
    if (rc == 0)
        *(int *)obj = 1;
}

static void
s_on_subscribe(struct mosquitto *m, void *obj, int mid, int n,
               const int *granted) {
    (void)m, (void)obj, (void)mid;
    if (n == 1 && granted[0] == 1)
        s_subscribed = 1;
}

static void
s_on_publish(struct mosquitto *m, void *obj, int mid) {
    (void)m, (void)obj, (void)mid;
    s_inflight--;
    s_acked++;
}

static void
s_on_message(struct mosquitto *m, void *obj,
             const struct mosquitto_message *msg) {
    uint64_t seq = 0;
    const uint8_t *p = msg->payload;
    (void)m, (void)obj;
    if (msg->payloadlen != s_payload || memcmp(p, s_nonce, 8) != 0) {
        s_foreign++;
        return;
    }
    for (int b = 0; b < 8; b++)
        seq = seq << 8 | p[8 + b];
    if (seq >= (uint64_t)s_count) {
        s_foreign++;
        return;
    }
    if (s_seen[seq])
        s_dups++;
    else {
        s_seen[seq] = 1;
        s_received++;
    }
}

/* One round of network I/O for both clients, waiting up to ms. */
static int
s_service(struct mosquitto **ms, int n, int ms_wait) {
    struct pollfd pf[2];
    for (int i = 0; i < n; i++) {
        pf[i].fd = mosquitto_socket(ms[i]);
        pf[i].events = POLLIN | (mosquitto_want_write(ms[i]) ? POLLOUT : 0);
        pf[i].revents = 0;
    }
    if (poll(pf, (nfds_t)n, ms_wait) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        if ((pf[i].revents & (POLLIN | POLLERR | POLLHUP)) &&
            mosquitto_loop_read(ms[i], 1) != MOSQ_ERR_SUCCESS)
            return -1;
        if (mosquitto_want_write(ms[i]) &&
            mosquitto_loop_write(ms[i], 1) != MOSQ_ERR_SUCCESS)
            return -1;
        if (mosquitto_loop_misc(ms[i]) != MOSQ_ERR_SUCCESS)
            return -1;
    }
    return 0;
}

int
main(int argc, char **argv) {
    static const struct option lo[] = {
        {"host", 1, 0, 'h'},       {"port", 1, 0, 'p'},
        {"count", 1, 0, 'N'},      {"window", 1, 0, 'w'},
        {"payload", 1, 0, 'b'},    {"broker-pid", 1, 0, 'i'},
        {"timeout-ms", 1, 0, 'T'}, {0, 0, 0, 0}};
    const char *host = "127.0.0.1";
    long port = 0, broker_pid = 0, timeout_ms = 120000, next = 0;
    struct mosquitto *sub = NULL, *pub = NULL, *both[2];
    char id[64];
    uint8_t *payload;
    uint64_t deadline, t0, t_end = 0;
    double cpu0, cpu1, self0, elapsed;
    int c, ok, one = 1;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'h':
            host = optarg;
            break;
        case 'p':
            port = atol(optarg);
            break;
        case 'N':
            s_count = atol(optarg);
            break;
        case 'w':
            s_window = atol(optarg);
            break;
        case 'b':
            s_payload = atol(optarg);
            break;
        case 'i':
            broker_pid = atol(optarg);
            break;
        case 'T':
            timeout_ms = atol(optarg);
            break;
        default:
            return 2;
        }
    }
    if (port < 1 || port > 65535 || s_count < 1 || s_count > 10000000 ||
        s_window < 1 || s_window > 65535 || s_payload < 16 ||
        s_payload > 1 << 20 || timeout_ms < 100) {
        fprintf(stderr, "usage: see the comment at the top of mqtt_bench.c\n");
        return 2;
    }
    deadline = s_ns() + (uint64_t)timeout_ms * 1000000ull;
    s_seen = calloc((size_t)s_count, 1);
    payload = malloc((size_t)s_payload);
    if (!s_seen || !payload)
        return 1;
    srand((unsigned)(s_ns() ^ (uint64_t)getpid()));
    for (long i = 0; i < s_payload; i++)
        payload[i] = (uint8_t)rand();
    memcpy(s_nonce, payload, 8);
    mosquitto_lib_init();

    /* The subscriber: a persistent session, QoS 1. */
    snprintf(id, sizeof id, "rk-bench-sub-%ld", (long)getpid());
    sub = mosquitto_new(id, false, &s_sub_connected);
    snprintf(id, sizeof id, "rk-bench-pub-%ld", (long)getpid());
    pub = mosquitto_new(id, true, &s_pub_connected);
    if (!sub || !pub)
        return 1;
    both[0] = sub, both[1] = pub;
    for (int i = 0; i < 2; i++) {
        mosquitto_int_option(both[i], MOSQ_OPT_TCP_NODELAY, one);
        mosquitto_max_inflight_messages_set(both[i], (unsigned)s_window);
        mosquitto_connect_callback_set(both[i], s_on_connect);
    }
    mosquitto_subscribe_callback_set(sub, s_on_subscribe);
    mosquitto_message_callback_set(sub, s_on_message);
    mosquitto_publish_callback_set(pub, s_on_publish);
    if (mosquitto_connect(sub, host, (int)port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_connect(pub, host, (int)port, 60) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mqtt_bench: cannot connect to %s:%ld\n", host, port);
        return 1;
    }
    while (!s_sub_connected || !s_pub_connected) {
        if (s_ns() > deadline || s_service(both, 2, 10) != 0) {
            fprintf(stderr, "mqtt_bench: no CONNACK\n");
            return 1;
        }
    }
    if (mosquitto_subscribe(sub, NULL, TOPIC, 1) != MOSQ_ERR_SUCCESS)
        return 1;
    while (!s_subscribed) {
        if (s_ns() > deadline || s_service(both, 2, 10) != 0) {
            fprintf(stderr, "mqtt_bench: no SUBACK at QoS 1\n");
            return 1;
        }
    }

    cpu0 = broker_pid ? s_proc_cpu_s(broker_pid) : 0;
    self0 = s_self_cpu_s();
    t0 = s_ns();
    while (s_ns() < deadline) {
        while (next < s_count && s_inflight < s_window) {
            for (int b = 0; b < 8; b++)
                payload[8 + b] = (uint8_t)((uint64_t)next >> (56 - 8 * b));
            if (mosquitto_publish(pub, NULL, TOPIC, (int)s_payload, payload, 1,
                                  false) != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "mqtt_bench: publish failed\n");
                return 1;
            }
            s_inflight++;
            next++;
        }
        if (s_acked >= s_count && s_received >= s_count) {
            t_end = s_ns();
            break;
        }
        if (s_service(both, 2, 5) != 0) {
            fprintf(stderr, "mqtt_bench: connection lost\n");
            break;
        }
    }
    if (!t_end)
        t_end = s_ns();
    cpu1 = broker_pid ? s_proc_cpu_s(broker_pid) : 0;
    elapsed = (double)(t_end - t0) / 1e9;
    ok = s_acked == s_count && s_received == s_count;
    printf("{\"system\":\"mosquitto\",\"ok\":%s,\"qos\":1,\"count\":%ld,"
           "\"window\":%ld,\"payload\":%ld,\"published\":%ld,\"acked\":%ld,"
           "\"received\":%ld,\"dups\":%ld,\"foreign\":%ld,\"elapsed_s\":%.3f,"
           "\"rate\":%.1f,\"broker_cpu_s\":%.2f,\"broker_cores\":%.2f,"
           "\"client_cpu_s\":%.2f}\n",
           ok ? "true" : "false", s_count, s_window, s_payload, next, s_acked,
           s_received, s_dups, s_foreign, elapsed,
           elapsed > 0 ? (double)s_received / elapsed : 0,
           broker_pid ? cpu1 - cpu0 : -1,
           broker_pid && elapsed > 0 ? (cpu1 - cpu0) / elapsed : -1,
           s_self_cpu_s() - self0);
    fflush(stdout);
    mosquitto_disconnect(pub);
    mosquitto_disconnect(sub);
    mosquitto_destroy(pub);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
    free(payload);
    free(s_seen);
    return ok ? 0 : 1;
}

/* nats_bench: one publisher and one subscriber through nats-server with
 * JetStream, the NATS peer of the relay benchmark (issue 7, figure 3). Not
 * part of renraku; bench/bench_peers.sh starts the server and runs this.
 *
 * Makes a stream with file storage (its own name and subject, deleted at
 * the end), subscribes a durable push consumer with explicit acks (each
 * message acked by the subscriber as it arrives; at most --credit unacked),
 * then publishes --count messages of --payload bytes with JetStream acked
 * publish (js_PublishAsync, at most --window awaiting the server's ack).
 * The run ends when every publish is acked and the subscriber has every
 * message (each counted once; a duplicate is counted apart). The publisher
 * and the subscriber use two connections.
 *
 *   nats_bench --url nats://127.0.0.1:PORT [--count N] [--window W]
 *              [--credit C] [--payload B] [--server-pid PID]
 *              [--timeout-ms T]
 * One JSON line on stdout; exit 0 when everything arrived, 1 otherwise.
 */
#include <getopt.h>
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long s_count = 10000, s_window = 256, s_credit = 1024, s_payload = 1024;
static atomic_long s_acked, s_ack_errors, s_received, s_dups, s_foreign;
static _Atomic uint64_t s_last_ns;
static uint8_t s_nonce[8];
static atomic_uchar *s_seen;

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

/* Keeps the time of the latest event: the run ends at the last of them. */
static void
s_stamp(void) {
    uint64_t now = s_ns(), was = atomic_load(&s_last_ns);
    while (now > was && !atomic_compare_exchange_weak(&s_last_ns, &was, now))
        ;
}

static void
s_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
         void *closure) {
    (void)js, (void)closure;
    if (pa && !pae)
        atomic_fetch_add(&s_acked, 1);
    else
        atomic_fetch_add(&s_ack_errors, 1);
    s_stamp();
    natsMsg_Destroy(msg);
}

static void
s_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
         void *closure) {
    const uint8_t *p = (const uint8_t *)natsMsg_GetData(msg);
    uint64_t seq = 0;
    (void)nc, (void)sub, (void)closure;
    natsMsg_Ack(msg, NULL);
    if (natsMsg_GetDataLength(msg) != s_payload || memcmp(p, s_nonce, 8) != 0) {
        atomic_fetch_add(&s_foreign, 1);
        natsMsg_Destroy(msg);
        return;
    }
    for (int b = 0; b < 8; b++)
        seq = seq << 8 | p[8 + b];
    if (seq >= (uint64_t)s_count)
        atomic_fetch_add(&s_foreign, 1);
    else if (atomic_exchange(&s_seen[seq], 1))
        atomic_fetch_add(&s_dups, 1);
    else {
        atomic_fetch_add(&s_received, 1);
        s_stamp();
    }
    natsMsg_Destroy(msg);
}

static void
s_fail(const char *what, natsStatus s, jsErrCode jerr) {
    fprintf(stderr, "nats_bench: %s: %s (jetstream error %d)\n", what,
            natsStatus_GetText(s), (int)jerr);
    exit(1);
}

int
main(int argc, char **argv) {
    static const struct option lo[] = {
        {"url", 1, 0, 'u'},        {"count", 1, 0, 'N'},
        {"window", 1, 0, 'w'},     {"credit", 1, 0, 'C'},
        {"payload", 1, 0, 'b'},    {"server-pid", 1, 0, 'i'},
        {"timeout-ms", 1, 0, 'T'}, {0, 0, 0, 0}};
    const char *url = NULL;
    long server_pid = 0, timeout_ms = 120000, sent = 0;
    natsConnection *nc_pub = NULL, *nc_sub = NULL;
    jsCtx *js_pub = NULL, *js_sub = NULL;
    natsSubscription *sub = NULL;
    jsOptions jo;
    jsStreamConfig sc;
    jsSubOptions so;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s;
    char stream[64], subject[64];
    const char *subjects[1];
    uint8_t *payload;
    uint64_t deadline, t0, t_end;
    double cpu0, cpu1, self0, elapsed;
    int c, ok;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'u':
            url = optarg;
            break;
        case 'N':
            s_count = atol(optarg);
            break;
        case 'w':
            s_window = atol(optarg);
            break;
        case 'C':
            s_credit = atol(optarg);
            break;
        case 'b':
            s_payload = atol(optarg);
            break;
        case 'i':
            server_pid = atol(optarg);
            break;
        case 'T':
            timeout_ms = atol(optarg);
            break;
        default:
            return 2;
        }
    }
    if (!url || s_count < 1 || s_count > 10000000 || s_window < 1 ||
        s_credit < 1 || s_payload < 16 || s_payload > 1 << 20 ||
        timeout_ms < 100) {
        fprintf(stderr, "usage: see the comment at the top of nats_bench.c\n");
        return 2;
    }
    deadline = s_ns() + (uint64_t)timeout_ms * 1000000ull;
    s_seen = calloc((size_t)s_count, sizeof *s_seen);
    payload = malloc((size_t)s_payload);
    if (!s_seen || !payload)
        return 1;
    srand((unsigned)(s_ns() ^ (uint64_t)getpid()));
    for (long i = 0; i < s_payload; i++)
        payload[i] = (uint8_t)rand();
    memcpy(s_nonce, payload, 8);

    if ((s = natsConnection_ConnectTo(&nc_pub, url)) != NATS_OK ||
        (s = natsConnection_ConnectTo(&nc_sub, url)) != NATS_OK)
        s_fail("connect", s, 0);
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = s_window;
    jo.PublishAsync.AckHandler = s_on_ack;
    jo.PublishAsync.StallWait = timeout_ms;
    if ((s = natsConnection_JetStream(&js_pub, nc_pub, &jo)) != NATS_OK ||
        (s = natsConnection_JetStream(&js_sub, nc_sub, NULL)) != NATS_OK)
        s_fail("jetstream context", s, 0);

    snprintf(stream, sizeof stream, "RKBENCH%ld", (long)getpid());
    snprintf(subject, sizeof subject, "renraku.bench.%ld", (long)getpid());
    subjects[0] = subject;
    jsStreamConfig_Init(&sc);
    sc.Name = stream;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_LimitsPolicy;
    if ((s = js_AddStream(&si, js_pub, &sc, NULL, &jerr)) != NATS_OK)
        s_fail("add stream", s, jerr);
    jsStreamInfo_Destroy(si);

    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.ManualAck = true;
    so.Config.Durable = "rk-bench-sub";
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.MaxAckPending = s_credit;
    if ((s = js_Subscribe(&sub, js_sub, subject, s_on_msg, NULL, NULL, &so,
                          &jerr)) != NATS_OK)
        s_fail("subscribe", s, jerr);
    /* Unlimited pending in the client: the consumer's credit bounds it. */
    natsSubscription_SetPendingLimits(sub, -1, -1);

    cpu0 = server_pid ? s_proc_cpu_s(server_pid) : 0;
    self0 = s_self_cpu_s();
    t0 = s_ns();
    for (; sent < s_count; sent++) {
        for (int b = 0; b < 8; b++)
            payload[8 + b] = (uint8_t)((uint64_t)sent >> (56 - 8 * b));
        /* Blocks while --window publishes await their ack. */
        if ((s = js_PublishAsync(js_pub, subject, payload, (int)s_payload,
                                 NULL)) != NATS_OK) {
            fprintf(stderr, "nats_bench: publish: %s\n", natsStatus_GetText(s));
            break;
        }
    }
    while ((atomic_load(&s_acked) + atomic_load(&s_ack_errors) < sent ||
            atomic_load(&s_received) < s_count) &&
           s_ns() < deadline)
        nats_Sleep(1);
    t_end = atomic_load(&s_last_ns);
    if (t_end < t0)
        t_end = s_ns();
    cpu1 = server_pid ? s_proc_cpu_s(server_pid) : 0;
    elapsed = (double)(t_end - t0) / 1e9;
    ok =
        atomic_load(&s_acked) == s_count && atomic_load(&s_received) == s_count;
    printf("{\"system\":\"nats\",\"ok\":%s,\"count\":%ld,\"window\":%ld,"
           "\"credit\":%ld,\"payload\":%ld,\"published\":%ld,\"acked\":%ld,"
           "\"ack_errors\":%ld,\"received\":%ld,\"dups\":%ld,\"foreign\":%ld,"
           "\"elapsed_s\":%.3f,\"rate\":%.1f,\"broker_cpu_s\":%.2f,"
           "\"broker_cores\":%.2f,\"client_cpu_s\":%.2f}\n",
           ok ? "true" : "false", s_count, s_window, s_credit, s_payload, sent,
           atomic_load(&s_acked), atomic_load(&s_ack_errors),
           atomic_load(&s_received), atomic_load(&s_dups),
           atomic_load(&s_foreign), elapsed,
           elapsed > 0 ? (double)atomic_load(&s_received) / elapsed : 0,
           server_pid ? cpu1 - cpu0 : -1,
           server_pid && elapsed > 0 ? (cpu1 - cpu0) / elapsed : -1,
           s_self_cpu_s() - self0);
    fflush(stdout);
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    js_DeleteStream(js_pub, stream, NULL, NULL);
    jsCtx_Destroy(js_pub);
    jsCtx_Destroy(js_sub);
    natsConnection_Destroy(nc_pub);
    natsConnection_Destroy(nc_sub);
    nats_Close();
    free(payload);
    free(s_seen);
    return ok ? 0 : 1;
}

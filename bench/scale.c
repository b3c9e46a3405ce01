/* scale: issue 7 figure 8, many connected nodes on one relay. `gen` makes
 * the bench nodes' key files and adds them to a roster JSON through keys/
 * (renraku-keys gen + roster add per node is far too slow for 2,000);
 * `run` connects every node to a running relay with CURVE, says hello,
 * waits for every welcome, then stays connected while ZMQ heartbeats run,
 * sampling the relay's RSS and CPU from /proc, and passes a small stream
 * of real notices (deliver + confirm + receipt) to show it still serves.
 * Not a load test: the figure is memory and idle overhead per connection.
 *
 *   scale gen --keys DIR --roster roster.json --nodes N [--prefix P]
 *   scale run --keys DIR --roster R.signed --coordinator C.pub
 *             --relay EP --relay-pub RELAY.pub --relay-pid PID
 *             --control EP --nodes N [--prefix P] [--heartbeat-ms MS]
 *             [--baseline-s S] [--quiet-s S] [--serve-s S]
 *             [--io-threads K] [--timeout-ms T] [--hello-serial N]
 * --hello-serial N: each hello claims roster serial N (0: none), so the
 * relay pushes its signed roster to every node after the welcome.
 * --drain: during the quiet period read every socket (for a roster the
 * relay pushes to all after a SIGHUP) instead of sleeping.
 * --ready-file F: written when every node is welcomed and the quiet
 * period starts (the script sends its SIGHUP then).
 * One JSON line on stdout. Exit 0 when every node was welcomed, stayed
 * connected and every notice was stored, delivered and receipted; 1
 * otherwise (the JSON says what); 2 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "envelope.h"
#include "frame.h"
#include "identity.h"
#include "note.h"
#include "rk_util.h"
#include "roster.h"
#include "unlock.h"

typedef struct {
    const char *keys, *roster, *coordinator, *relay, *relay_pub, *control;
    const char *prefix;
    long nodes, relay_pid, heartbeat_ms, io_threads, timeout_ms;
    long hello_serial;      /* -1: the roster's, so no roster is pushed */
    int drain;              /* read every socket during the quiet period */
    const char *ready_file; /* written when the quiet period starts */
    double baseline_s, quiet_s, serve_s;
} opts_t;

typedef struct {
    char id[64];
    identity_t *me;
    void *sock;
    uint64_t t_connect_ns, t_welcome_ns; /* 0: not yet */
    uint64_t t_roster_ns;                /* --hello-serial: roster pushed */
} node_t;

typedef struct {
    long vm_rss_kib, vm_hwm_kib;
} mem_t;

static opts_t o;
static roster_t *s_roster;
static node_t *s_nodes;
static identity_public_t s_relay;

static void s_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void
s_die(const char *fmt, ...) {
    va_list ap;
    fputs("scale: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static uint64_t
s_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
s_sleep_s(double s) {
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void
s_node_id(long i, char *out, size_t cap) {
    snprintf(out, cap, "%s%04ld", o.prefix, i);
}

/* ---- /proc of the relay ---- */

static double
s_proc_cpu_s(long pid) {
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *fp;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    fp = fopen(path, "r");
    if (!fp)
        s_die("relay pid %ld: %s", pid, strerror(errno));
    if (!fgets(buf, sizeof buf, fp)) {
        fclose(fp);
        s_die("cannot read %s", path);
    }
    fclose(fp);
    p = strrchr(buf, ')');
    /* after ") ": state(3) ... utime is field 14, stime 15 */
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        s_die("cannot parse %s", path);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static mem_t
s_proc_mem(long pid) {
    char path[64], line[256];
    mem_t m = {-1, -1};
    FILE *fp;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    fp = fopen(path, "r");
    if (!fp)
        s_die("relay pid %ld: %s", pid, strerror(errno));
    while (fgets(line, sizeof line, fp)) {
        if (!strncmp(line, "VmRSS:", 6))
            m.vm_rss_kib = atol(line + 6);
        else if (!strncmp(line, "VmHWM:", 6))
            m.vm_hwm_kib = atol(line + 6);
    }
    fclose(fp);
    return m;
}

/* The relay's soft limit on open files, from /proc/PID/limits. */
static long
s_proc_nofile(long pid) {
    char path[64], line[256];
    long soft = -1;
    FILE *fp;
    snprintf(path, sizeof path, "/proc/%ld/limits", pid);
    fp = fopen(path, "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, "Max open files", 14))
            soft = atol(line + 14);
    fclose(fp);
    return soft;
}

/* CPU seconds of each thread of the relay, by thread name. */
#define S_MAX_THREADS 32
typedef struct {
    int n;
    char name[S_MAX_THREADS][20];
    double cpu_s[S_MAX_THREADS];
} threads_t;

static threads_t
s_proc_threads(long pid) {
    threads_t t;
    char path[320], buf[1024];
    DIR *d;
    struct dirent *e;
    memset(&t, 0, sizeof t);
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    if (!(d = opendir(path)))
        return t;
    while ((e = readdir(d)) && t.n < S_MAX_THREADS) {
        FILE *fp;
        char *a, *b;
        unsigned long ut = 0, st = 0;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/task/%.20s/stat", pid,
                 e->d_name);
        if (!(fp = fopen(path, "r")))
            continue;
        a = fgets(buf, sizeof buf, fp);
        fclose(fp);
        if (!a || !(a = strchr(buf, '(')) || !(b = strrchr(buf, ')')) ||
            sscanf(b + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                   &ut, &st) != 2)
            continue;
        *b = 0;
        /* Thread names come from libzmq and us: no quotes to escape. */
        snprintf(t.name[t.n], sizeof t.name[t.n], "%s", a + 1);
        t.cpu_s[t.n++] = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    closedir(d);
    return t;
}

/* Prints the CPU per second of each thread name between two samples. */
static void
s_print_threads(const threads_t *t0, const threads_t *t1, double secs) {
    int first = 1;
    for (int i = 0; i < t1->n; i++) {
        double before = 0, sum = 0;
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= !strcmp(t1->name[j], t1->name[i]);
        if (seen)
            continue;
        for (int j = 0; j < t1->n; j++)
            if (!strcmp(t1->name[j], t1->name[i]))
                sum += t1->cpu_s[j];
        for (int j = 0; j < t0->n; j++)
            if (!strcmp(t0->name[j], t1->name[i]))
                before += t0->cpu_s[j];
        printf("%s\"%s\":%.5f", first ? "" : ",", t1->name[i],
               (sum - before) / secs);
        first = 0;
    }
}

/* How many files the relay holds open. */
static long
s_proc_fds(long pid) {
    char path[64];
    long n = 0;
    DIR *d;
    struct dirent *e;
    snprintf(path, sizeof path, "/proc/%ld/fd", pid);
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* TcpExt ListenOverflows of /proc/net/netstat: connections the kernel
 * dropped because a listen queue was full (machine-wide). */
static long
s_listen_overflows(void) {
    char names[4096], vals[4096];
    long v = -1;
    FILE *fp = fopen("/proc/net/netstat", "r");
    if (!fp)
        return -1;
    while (fgets(names, sizeof names, fp) && fgets(vals, sizeof vals, fp)) {
        char *sn, *sv, *n, *x;
        if (strncmp(names, "TcpExt:", 7) != 0)
            continue;
        n = strtok_r(names, " \n", &sn);
        x = strtok_r(vals, " \n", &sv);
        while (n && x) {
            if (!strcmp(n, "ListenOverflows"))
                v = atol(x);
            n = strtok_r(NULL, " \n", &sn);
            x = strtok_r(NULL, " \n", &sv);
        }
    }
    fclose(fp);
    return v;
}

static double
s_self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Asks the relay's control socket for stats and picks one counter. */
static long
s_stat(void *ctx, const char *name) {
    char reply[8192], key[80], *p;
    int n, timeout = 3000, linger = 0;
    long v = -1;
    void *req = zmq_socket(ctx, ZMQ_REQ);
    if (!req)
        return -1;
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(req, o.control) == 0 && zmq_send(req, "stats", 5, 0) == 5 &&
        (n = zmq_recv(req, reply, sizeof reply - 1, 0)) >= 0) {
        reply[n < (int)sizeof reply ? n : (int)sizeof reply - 1] = 0;
        snprintf(key, sizeof key, "\"%s\":", name);
        if ((p = strstr(reply, key)))
            v = atol(p + strlen(key));
    }
    zmq_close(req);
    return v;
}

/* ---- gen ---- */

static int
cmd_gen(void) {
    char err[512], id[64], path[4096];
    roster_t *r = NULL;
    char *json;
    FILE *fp;
    uint64_t t0 = s_ns();

    if (mkdir(o.keys, 0700) != 0 && errno != EEXIST)
        s_die("mkdir %s: %s", o.keys, strerror(errno));
    if (roster_load_json(o.roster, &r, err, sizeof err) != RK_OK)
        s_die("--roster %s", err);
    for (long i = 0; i < o.nodes; i++) {
        identity_t *me;
        roster_keyset_t ks;
        roster_node_t n;
        const identity_public_t *pub;
        s_node_id(i, id, sizeof id);
        me = identity_generate(id, IDENTITY_ROLE_PARTNER);
        if (!me || identity_save(me, o.keys, NULL) != RK_OK)
            s_die("cannot make the keys of %s in %s", id, o.keys);
        pub = identity_public(me);
        memset(&ks, 0, sizeof ks);
        memcpy(ks.sign_pk, pub->sign_pk, 32);
        memcpy(ks.enc_pk, pub->enc_pk, 32);
        memcpy(ks.transport_pk, pub->transport_pk, 32);
        ks.not_before_ms = 1577836800000ull; /* 2020-01-01, as bench.sh */
        ks.not_after_ms = ROSTER_FOREVER;
        ks.status = ROSTER_ACTIVE;
        memset(&n, 0, sizeof n);
        n.id = id;
        memcpy(n.country, "JP", 3);
        n.organisation = "Scale";
        n.role = IDENTITY_ROLE_PARTNER;
        n.status = ROSTER_ACTIVE;
        n.keys = &ks;
        n.n_keys = 1;
        if (roster_add(r, &n, err, sizeof err) != RK_OK)
            s_die("roster add %s: %s", id, err);
        identity_destroy(&me);
    }
    json = roster_to_json(r);
    snprintf(path, sizeof path, "%s.tmp", o.roster);
    fp = fopen(path, "w");
    if (!json || !fp || fputs(json, fp) == EOF || fclose(fp) != 0 ||
        rename(path, o.roster) != 0)
        s_die("cannot write %s", o.roster);
    free(json);
    printf("{\"nodes\":%ld,\"roster_nodes\":%zu,\"gen_s\":%.2f}\n", o.nodes,
           roster_count(r), (double)(s_ns() - t0) / 1e9);
    roster_destroy(&r);
    return 0;
}

/* ---- run ---- */

static void
s_connect(void *ctx, node_t *n) {
    int linger = 0, hb = (int)o.heartbeat_ms, hb_ttl = (int)o.heartbeat_ms * 3;
    uint8_t *buf = NULL;
    size_t len = 0;
    /* The socket options of a renrakud link (clients/daemon.c). */
    n->sock = zmq_socket(ctx, ZMQ_DEALER);
    if (!n->sock)
        s_die("socket %s: %s (ZMQ_MAX_SOCKETS or open files)", n->id,
              zmq_strerror(errno));
    if (zmq_setsockopt(n->sock, ZMQ_CURVE_SERVERKEY, s_relay.transport_pk,
                       32) != 0 ||
        zmq_setsockopt(n->sock, ZMQ_CURVE_PUBLICKEY,
                       identity_public(n->me)->transport_pk, 32) != 0 ||
        zmq_setsockopt(n->sock, ZMQ_CURVE_SECRETKEY,
                       identity_transport_sk(n->me), 32) != 0 ||
        zmq_setsockopt(n->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(n->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb) != 0 ||
        zmq_setsockopt(n->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_ttl,
                       sizeof hb_ttl) != 0)
        s_die("socket set-up: %s", zmq_strerror(errno));
    n->t_connect_ns = s_ns();
    if (zmq_connect(n->sock, o.relay) != 0)
        s_die("connect %s: %s", o.relay, zmq_strerror(errno));
    if (frame_encode_hello(o.hello_serial >= 0 ? (uint64_t)o.hello_serial
                                               : roster_serial(s_roster),
                           64, &buf, &len) != RK_OK ||
        zmq_send(n->sock, buf, len, 0) < 0)
        s_die("hello failed: %s", zmq_strerror(errno));
    free(buf);
}

/* Receives one frame without waiting; NULL when none (or not a frame). */
static frame_t *
s_recv(void *sock, int *got) {
    zmq_msg_t zm;
    frame_t *f = NULL;
    *got = 0;
    zmq_msg_init(&zm);
    if (zmq_msg_recv(&zm, sock, ZMQ_DONTWAIT) >= 0) {
        *got = 1;
        if (frame_decode(zmq_msg_data(&zm), zmq_msg_size(&zm), &f, NULL) !=
            RK_OK)
            f = NULL;
    }
    zmq_msg_close(&zm);
    return f;
}

/* The quiet period with --drain: reads what arrives on any socket (a
 * roster the relay pushes after a reload), as renrakud would. Returns how
 * many roster frames arrived; *last_ns is when the last one did. */
static long
s_drain_for(double secs, uint64_t *last_ns) {
    zmq_pollitem_t *items = calloc((size_t)o.nodes, sizeof *items);
    uint64_t end = s_ns() + (uint64_t)(secs * 1e9);
    long rosters = 0;
    if (!items)
        s_die("out of memory");
    for (long i = 0; i < o.nodes; i++) {
        items[i].socket = s_nodes[i].sock;
        items[i].events = ZMQ_POLLIN;
    }
    while (s_ns() < end) {
        for (long i = 0; i < o.nodes; i++)
            items[i].revents = 0;
        if (zmq_poll(items, (int)o.nodes, 100) <= 0)
            continue;
        for (long i = 0; i < o.nodes; i++) {
            int got = 1;
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            while (got) {
                frame_t *f = s_recv(s_nodes[i].sock, &got);
                if (f && f->type == FRAME_ROSTER) {
                    rosters++;
                    *last_ns = s_ns();
                }
                frame_destroy(&f);
            }
        }
    }
    free(items);
    return rosters;
}

/* Waits until every node has its welcome (and with --hello-serial, the
 * roster the relay pushes); returns how many have. */
static long
s_await_welcomes(uint64_t deadline) {
    zmq_pollitem_t *items = calloc((size_t)o.nodes, sizeof *items);
    long *idx = calloc((size_t)o.nodes, sizeof *idx);
    long welcomed = 0, done = 0;
    int stale = o.hello_serial >= 0;
    if (!items || !idx)
        s_die("out of memory");
    while (done < o.nodes && s_ns() < deadline) {
        long k = 0;
        for (long i = 0; i < o.nodes; i++)
            if (!s_nodes[i].t_welcome_ns ||
                (stale && !s_nodes[i].t_roster_ns)) {
                items[k].socket = s_nodes[i].sock;
                items[k].events = ZMQ_POLLIN;
                items[k].revents = 0;
                idx[k++] = i;
            }
        if (zmq_poll(items, (int)k, 50) <= 0)
            continue;
        for (long j = 0; j < k; j++) {
            node_t *n = &s_nodes[idx[j]];
            int got = 1;
            if (!(items[j].revents & ZMQ_POLLIN))
                continue;
            while (got && (!n->t_welcome_ns || (stale && !n->t_roster_ns))) {
                frame_t *f = s_recv(n->sock, &got);
                if (f && f->type == FRAME_WELCOME && !n->t_welcome_ns) {
                    n->t_welcome_ns = s_ns();
                    welcomed++;
                } else if (f && f->type == FRAME_ROSTER && !n->t_roster_ns)
                    n->t_roster_ns = s_ns();
                frame_destroy(&f);
                if (n->t_welcome_ns && (!stale || n->t_roster_ns))
                    done++;
            }
        }
    }
    free(items);
    free(idx);
    return welcomed;
}

typedef struct {
    long sent, stored, rejected, delivered, receipts;
    uint32_t *deliver_us, *receipt_us;
    char first_problem[300];
} serve_t;

/* One notice from node 0 to node `to`: submit, wait for stored, the
 * deliver (confirmed at once), and the receipt. */
static void
s_serve_one(serve_t *sv, long to, uint64_t deadline) {
    node_t *s = &s_nodes[0], *r = &s_nodes[to];
    const roster_keyset_t *ks = NULL;
    envelope_params_t p;
    envelope_recipient_t rc;
    uint8_t *env = NULL, *buf = NULL, msg_id[16];
    size_t env_len = 0, len = 0;
    int stored = 0, delivered = 0, receipt = 0;
    uint64_t t0;
    static const uint8_t payload[1024];

    if (roster_usable_keys(s_roster, s->id, NULL, rk_now_ms(), &ks) != RK_OK)
        s_die("%s is not usable in the roster", s->id);
    randombytes_buf(msg_id, sizeof msg_id);
    memset(&p, 0, sizeof p);
    p.sender = s->id;
    p.sign_sk = identity_sign_sk(s->me);
    p.sign_key_id = ks->sign_key_id;
    p.kind = ENVELOPE_KIND_NOTICE;
    p.created_ms = rk_now_ms();
    p.msg_id = msg_id;
    rc.id = r->id;
    rc.enc_pk = identity_public(r->me)->enc_pk;
    if (envelope_seal(&p, &rc, 1, payload, sizeof payload, &env, &env_len,
                      NULL) != RK_OK ||
        frame_encode_submit(env, env_len, &buf, &len) != RK_OK)
        s_die("cannot seal a notice");
    free(env);
    t0 = s_ns();
    if (zmq_send(s->sock, buf, len, 0) < 0)
        s_die("send: %s", zmq_strerror(errno));
    free(buf);
    sv->sent++;
    while (!(stored && delivered && receipt) && s_ns() < deadline) {
        zmq_pollitem_t it[2] = {{s->sock, 0, ZMQ_POLLIN, 0},
                                {r->sock, 0, ZMQ_POLLIN, 0}};
        int got = 1;
        if (zmq_poll(it, 2, 20) <= 0)
            continue;
        while (got) {
            frame_t *f = s_recv(s->sock, &got);
            if (f && f->type == FRAME_STORED &&
                !memcmp(f->stored.msg_id, msg_id, 16) && !stored) {
                stored = 1;
                sv->stored++;
            } else if (f && f->type == FRAME_REJECTED) {
                sv->rejected++;
                if (!sv->first_problem[0])
                    snprintf(sv->first_problem, sizeof sv->first_problem,
                             "rejected %s: %s",
                             frame_reject_name(f->rejected.code),
                             f->rejected.reason);
                frame_destroy(&f);
                return;
            } else if (f && f->type == FRAME_RECEIPT &&
                       !memcmp(f->receipt.msg_id, msg_id, 16) && !receipt) {
                receipt = 1;
                sv->receipt_us[sv->receipts++] =
                    (uint32_t)((s_ns() - t0) / 1000);
            }
            frame_destroy(&f);
        }
        got = 1;
        while (got) {
            frame_t *f = s_recv(r->sock, &got);
            envelope_t *e = NULL;
            if (f && f->type == FRAME_DELIVER &&
                envelope_decode(f->deliver.envelope, f->deliver.envelope_len,
                                &e, NULL) == RK_OK) {
                /* Confirm at once, as loadgen's bench recipients do. */
                if (frame_encode_confirm(f->deliver.index,
                                         envelope_header(e)->msg_id, &buf,
                                         &len) == RK_OK)
                    zmq_send(r->sock, buf, len, 0);
                free(buf);
                buf = NULL;
                if (!memcmp(envelope_header(e)->msg_id, msg_id, 16) &&
                    !delivered) {
                    delivered = 1;
                    sv->deliver_us[sv->delivered++] =
                        (uint32_t)((s_ns() - t0) / 1000);
                }
                envelope_destroy(&e);
            }
            frame_destroy(&f);
        }
    }
    if (!(stored && delivered && receipt) && !sv->first_problem[0])
        snprintf(sv->first_problem, sizeof sv->first_problem,
                 "notice to %s: stored=%d delivered=%d receipt=%d in 5 s",
                 r->id, stored, delivered, receipt);
}

static int
s_cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double
s_pct_ms(uint32_t *v, long n, double q) {
    if (n <= 0)
        return -1;
    qsort(v, (size_t)n, sizeof *v, s_cmp_u32);
    return (double)v[(long)((double)(n - 1) * q)] / 1000.0;
}

static int
cmd_run(void) {
    char err[512];
    note_verifier_t v;
    struct rlimit rl;
    void *ctx;
    uint64_t deadline, t0, t_all = 0;
    long welcomed, need_fds = 2 * o.nodes + 64, relay_nofile, max_sockets;
    long conn_before, conn_end, hs_ok, hs_end, fds_before, fds_connected;
    long fds_quiet, fds_end, fds_gone = -1, conn_gone, lo0, lo1;
    long n_msgs = 0, left;
    mem_t m0, m_conn, m_idle, m_end;
    threads_t th0, th1;
    double quiet_real, self_conn;
    long rosters = 0, quiet_rosters = 0;
    uint64_t t_rosters = 0, t_quiet_roster = 0, t_quiet0;
    double keys_s, cpu_a, cpu_b, base_cpu, idle_cpu, serve_cpu, conn_cpu,
        self_idle, tq, tb, disc_cpu = -1, disc_ms = -1, conn_gone_ms = -1;
    uint32_t *wel;
    serve_t sv;
    int ok;

    memset(&sv, 0, sizeof sv);
    deadline = s_ns() + (uint64_t)o.timeout_ms * 1000000ull;
    /* Each DEALER socket holds a TCP connection and a mailbox eventfd. */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        s_die("getrlimit: %s", strerror(errno));
    if (rl.rlim_cur < (rlim_t)need_fds && rl.rlim_max > rl.rlim_cur) {
        rl.rlim_cur =
            rl.rlim_max < (rlim_t)need_fds ? rl.rlim_max : (rlim_t)need_fds;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 ||
            getrlimit(RLIMIT_NOFILE, &rl) != 0)
            s_die("cannot raise the open-files limit: %s", strerror(errno));
    }
    if (rl.rlim_cur < (rlim_t)need_fds)
        s_die("%ld nodes need %ld open files here; the limit is %ld (ulimit "
              "-n)",
              o.nodes, need_fds, (long)rl.rlim_cur);
    relay_nofile = s_proc_nofile(o.relay_pid);
    if (relay_nofile >= 0 && relay_nofile < o.nodes + 64)
        s_die("the relay may open %ld files, fewer than %ld nodes + 64: start "
              "it where ulimit -n is raised",
              relay_nofile, o.nodes);

    if (unlock_verifier(o.coordinator, &v, err, sizeof err) != RK_OK)
        s_die("--coordinator %s", err);
    if (roster_load_signed(o.roster, &v, 0, &s_roster, err, sizeof err) !=
        RK_OK)
        s_die("--roster %s", err);
    if (identity_public_load(o.relay_pub, &s_relay, err, sizeof err) != RK_OK)
        s_die("--relay-pub %s", err);
    s_nodes = calloc((size_t)o.nodes, sizeof *s_nodes);
    wel = calloc((size_t)o.nodes, sizeof *wel);
    sv.deliver_us = calloc((size_t)(o.serve_s + 2), sizeof *sv.deliver_us);
    sv.receipt_us = calloc((size_t)(o.serve_s + 2), sizeof *sv.receipt_us);
    if (!s_nodes || !wel || !sv.deliver_us || !sv.receipt_us)
        s_die("out of memory");
    tb = (double)s_ns();
    for (long i = 0; i < o.nodes; i++) {
        char path[4096];
        s_node_id(i, s_nodes[i].id, sizeof s_nodes[i].id);
        snprintf(path, sizeof path, "%s/%s.key", o.keys, s_nodes[i].id);
        if (unlock_identity(path, NULL, &s_nodes[i].me, NULL, 0, err,
                            sizeof err) != RK_OK)
            s_die("%s", err);
    }
    keys_s = ((double)s_ns() - tb) / 1e9;

    ctx = zmq_ctx_new();
    if (!ctx || zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)o.nodes + 64) != 0 ||
        zmq_ctx_set(ctx, ZMQ_IO_THREADS, (int)o.io_threads) != 0)
        s_die("zmq context: %s", zmq_strerror(errno));
    max_sockets = zmq_ctx_get(ctx, ZMQ_MAX_SOCKETS);

    /* Before: the relay idle with nobody connected. */
    conn_before = s_stat(ctx, "connected");
    fds_before = s_proc_fds(o.relay_pid);
    m0 = s_proc_mem(o.relay_pid);
    cpu_a = s_proc_cpu_s(o.relay_pid);
    tb = (double)s_ns();
    s_sleep_s(o.baseline_s);
    cpu_b = s_proc_cpu_s(o.relay_pid);
    base_cpu = (cpu_b - cpu_a) / (((double)s_ns() - tb) / 1e9);

    /* Every node at once, as after a relay restart. */
    cpu_a = cpu_b;
    lo0 = s_listen_overflows();
    self_conn = s_self_cpu_s();
    t0 = s_ns();
    for (long i = 0; i < o.nodes; i++)
        s_connect(ctx, &s_nodes[i]);
    welcomed = s_await_welcomes(deadline);
    for (long i = 0; i < o.nodes; i++)
        if (s_nodes[i].t_welcome_ns) {
            wel[i] =
                (uint32_t)((s_nodes[i].t_welcome_ns - s_nodes[i].t_connect_ns) /
                           1000);
            if (s_nodes[i].t_welcome_ns > t_all)
                t_all = s_nodes[i].t_welcome_ns;
        }
    lo1 = s_listen_overflows();
    self_conn = s_self_cpu_s() - self_conn;
    conn_cpu = s_proc_cpu_s(o.relay_pid) - cpu_a;
    for (long i = 0; i < o.nodes; i++)
        if (s_nodes[i].t_roster_ns) {
            rosters++;
            if (s_nodes[i].t_roster_ns > t_rosters)
                t_rosters = s_nodes[i].t_roster_ns;
        }
    m_conn = s_proc_mem(o.relay_pid);
    fds_connected = s_proc_fds(o.relay_pid);
    hs_ok = s_stat(ctx, "handshakes_ok");
    if (welcomed < o.nodes)
        s_die("%ld of %ld nodes welcomed before the time-out", welcomed,
              o.nodes);

    /* Quiet: only heartbeats; this process sleeps (its I/O thread answers
     * the relay's pings). */
    cpu_a = s_proc_cpu_s(o.relay_pid);
    th0 = s_proc_threads(o.relay_pid);
    tq = s_self_cpu_s();
    tb = (double)s_ns();
    t_quiet0 = s_ns();
    if (o.ready_file) {
        FILE *rf = fopen(o.ready_file, "w");
        if (!rf || fputs("quiet\n", rf) == EOF || fclose(rf) != 0)
            s_die("cannot write %s", o.ready_file);
    }
    if (o.drain)
        quiet_rosters = s_drain_for(o.quiet_s, &t_quiet_roster);
    else
        s_sleep_s(o.quiet_s);
    cpu_b = s_proc_cpu_s(o.relay_pid);
    th1 = s_proc_threads(o.relay_pid);
    tb = ((double)s_ns() - tb) / 1e9;
    quiet_real = tb;
    idle_cpu = (cpu_b - cpu_a) / tb;
    self_idle = (s_self_cpu_s() - tq) / tb;
    m_idle = s_proc_mem(o.relay_pid);
    fds_quiet = s_proc_fds(o.relay_pid);

    /* Serving: one notice a second to a random connected node. */
    cpu_a = s_proc_cpu_s(o.relay_pid);
    tb = (double)s_ns();
    left = (long)o.serve_s;
    for (long k = 0; k < left && s_ns() < deadline; k++) {
        uint64_t due = (uint64_t)tb + (uint64_t)k * 1000000000ull, now = s_ns();
        uint64_t msg_deadline;
        if (due > now)
            s_sleep_s((double)(due - now) / 1e9);
        msg_deadline = s_ns() + 5000000000ull;
        if (msg_deadline > deadline)
            msg_deadline = deadline;
        s_serve_one(&sv, 1 + (long)randombytes_uniform((uint32_t)o.nodes - 1),
                    msg_deadline);
        n_msgs++;
    }
    {
        uint64_t end = (uint64_t)tb + (uint64_t)left * 1000000000ull;
        if (end > s_ns())
            s_sleep_s((double)(end - s_ns()) / 1e9);
    }
    cpu_b = s_proc_cpu_s(o.relay_pid);
    serve_cpu = (cpu_b - cpu_a) / (((double)s_ns() - tb) / 1e9);
    m_end = s_proc_mem(o.relay_pid);
    conn_end = s_stat(ctx, "connected");
    fds_end = s_proc_fds(o.relay_pid);
    /* Each reconnection is one more handshake: N means none dropped. */
    hs_end = s_stat(ctx, "handshakes_ok");

    /* Every node leaves at once: the relay forgets each connection. */
    {
        uint64_t td = s_ns();
        cpu_a = s_proc_cpu_s(o.relay_pid);
        for (long i = 0; i < o.nodes; i++)
            zmq_close(s_nodes[i].sock);
        /* Gone when the relay holds no more files than before. */
        for (int i = 0; i < 400; i++) {
            fds_gone = s_proc_fds(o.relay_pid);
            if (fds_gone <= fds_before) {
                disc_ms = (double)(s_ns() - td) / 1e6;
                break;
            }
            s_sleep_s(0.025);
        }
        /* Until `renraku-relay stats` counts none connected (the relay's
         * socket monitor and probes; at most 10 s). */
        for (int i = 0; i < 400; i++) {
            conn_gone = s_stat(ctx, "connected");
            if (conn_gone == 0) {
                conn_gone_ms = (double)(s_ns() - td) / 1e6;
                break;
            }
            s_sleep_s(0.025);
        }
        disc_cpu = s_proc_cpu_s(o.relay_pid) - cpu_a;
    }

    /* The relay holds one file per connection. */
    ok = welcomed == o.nodes && hs_end == hs_ok && fds_quiet >= o.nodes &&
         fds_end >= o.nodes && sv.sent == n_msgs && sv.stored == n_msgs &&
         sv.delivered == n_msgs && sv.receipts == n_msgs && n_msgs > 0;
    printf("{\"ok\":%s,\"nodes\":%ld,\"roster_nodes\":%zu,"
           "\"heartbeat_ms\":%ld,\"io_threads\":%ld,\"keys_load_s\":%.2f,"
           "\"client_fd_limit\":%ld,\"client_max_sockets\":%ld,"
           "\"relay_fd_limit\":%ld,\"relay_fds_before\":%ld,"
           "\"relay_fds_connected\":%ld,\"relay_fds_after_quiet\":%ld,"
           "\"relay_fds_after_serve\":%ld,\"relay_fds_after_disconnect\":%ld,"
           "\"welcomed\":%ld,\"handshakes_ok\":%ld,"
           "\"handshakes_ok_end\":%ld,\"stats_connected_before\":%ld,"
           "\"stats_connected_end\":%ld,"
           "\"stats_connected_after_disconnect\":%ld,"
           "\"listen_overflows\":%ld,"
           "\"connect_all_ms\":%.1f,\"welcome_p50_ms\":%.1f,"
           "\"welcome_p99_ms\":%.1f,\"welcome_max_ms\":%.1f,"
           "\"connect_relay_cpu_s\":%.2f,\"connect_client_cpu_s\":%.2f,",
           ok ? "true" : "false", o.nodes, roster_count(s_roster),
           o.heartbeat_ms, o.io_threads, keys_s, (long)rl.rlim_cur, max_sockets,
           relay_nofile, fds_before, fds_connected, fds_quiet, fds_end,
           fds_gone, welcomed, hs_ok, hs_end, conn_before, conn_end, conn_gone,
           lo0 >= 0 && lo1 >= 0 ? lo1 - lo0 : -1, (double)(t_all - t0) / 1e6,
           s_pct_ms(wel, o.nodes, 0.5), s_pct_ms(wel, o.nodes, 0.99),
           s_pct_ms(wel, o.nodes, 1.0), conn_cpu, self_conn);
    printf("\"hello_serial\":%ld,\"roster_serial\":%llu,"
           "\"rosters_pushed\":%ld,\"rosters_all_ms\":%.1f,",
           o.hello_serial, (unsigned long long)roster_serial(s_roster), rosters,
           rosters ? (double)(t_rosters - t0) / 1e6 : -1.0);
    printf("\"drain\":%s,\"quiet_rosters\":%ld,\"quiet_last_roster_ms\":%.1f,",
           o.drain ? "true" : "false", quiet_rosters,
           t_quiet_roster ? (double)(t_quiet_roster - t_quiet0) / 1e6 : -1.0);
    printf("\"rss_before_kib\":%ld,\"hwm_before_kib\":%ld,"
           "\"rss_connected_kib\":%ld,\"hwm_connected_kib\":%ld,"
           "\"rss_after_quiet_kib\":%ld,\"rss_end_kib\":%ld,"
           "\"hwm_end_kib\":%ld,\"per_node_kib\":%.1f,",
           m0.vm_rss_kib, m0.vm_hwm_kib, m_conn.vm_rss_kib, m_conn.vm_hwm_kib,
           m_idle.vm_rss_kib, m_end.vm_rss_kib, m_end.vm_hwm_kib,
           (double)(m_idle.vm_rss_kib - m0.vm_rss_kib) / (double)o.nodes);
    printf("\"baseline_s\":%.1f,\"baseline_cpu_per_s\":%.5f,"
           "\"quiet_s\":%.1f,\"idle_cpu_per_s\":%.5f,"
           "\"heartbeat_cpu_per_s\":%.5f,\"client_idle_cpu_per_s\":%.5f,"
           "\"serve_s\":%.1f,\"serve_cpu_per_s\":%.5f,",
           o.baseline_s, base_cpu, o.quiet_s, idle_cpu, idle_cpu - base_cpu,
           self_idle, o.serve_s, serve_cpu);
    printf("\"idle_thread_cpu_per_s\":{");
    s_print_threads(&th0, &th1, quiet_real);
    printf("},");
    printf("\"msgs\":%ld,\"sent\":%ld,\"stored\":%ld,\"rejected\":%ld,"
           "\"delivered\":%ld,\"receipts\":%ld,\"deliver_p50_ms\":%.2f,"
           "\"deliver_max_ms\":%.2f,\"receipt_p50_ms\":%.2f,"
           "\"receipt_max_ms\":%.2f,\"disconnect_all_ms\":%.1f,"
           "\"stats_connected_zero_ms\":%.1f,"
           "\"disconnect_relay_cpu_s\":%.2f",
           n_msgs, sv.sent, sv.stored, sv.rejected, sv.delivered, sv.receipts,
           s_pct_ms(sv.deliver_us, sv.delivered, 0.5),
           s_pct_ms(sv.deliver_us, sv.delivered, 1.0),
           s_pct_ms(sv.receipt_us, sv.receipts, 0.5),
           s_pct_ms(sv.receipt_us, sv.receipts, 1.0), disc_ms, conn_gone_ms,
           disc_cpu);
    if (sv.first_problem[0]) {
        for (char *q = sv.first_problem; *q; q++)
            if (*q == '"' || *q == '\\')
                *q = '\'';
        printf(",\"first_problem\":\"%s\"", sv.first_problem);
    }
    printf("}\n");
    fflush(stdout);
    /* No teardown: the sockets are closed, linger 0, the process ends. */
    _exit(ok ? 0 : 1);
}

int
main(int argc, char **argv) {
    static const struct option lo[] = {{"keys", 1, 0, 'k'},
                                       {"roster", 1, 0, 'r'},
                                       {"coordinator", 1, 0, 'c'},
                                       {"relay", 1, 0, 'R'},
                                       {"relay-pub", 1, 0, 'P'},
                                       {"relay-pid", 1, 0, 'i'},
                                       {"control", 1, 0, 'C'},
                                       {"nodes", 1, 0, 'n'},
                                       {"prefix", 1, 0, 'x'},
                                       {"heartbeat-ms", 1, 0, 'H'},
                                       {"baseline-s", 1, 0, 'b'},
                                       {"quiet-s", 1, 0, 'q'},
                                       {"serve-s", 1, 0, 's'},
                                       {"io-threads", 1, 0, 'I'},
                                       {"timeout-ms", 1, 0, 'T'},
                                       {"hello-serial", 1, 0, 'S'},
                                       {"drain", 0, 0, 'D'},
                                       {"ready-file", 1, 0, 'F'},
                                       {0, 0, 0, 0}};
    const char *cmd = argc > 1 ? argv[1] : "";
    int c, gen = !strcmp(cmd, "gen"), run = !strcmp(cmd, "run");

    o.prefix = "scl.";
    o.heartbeat_ms = 5000;
    o.baseline_s = 5;
    o.quiet_s = 20;
    o.serve_s = 20;
    o.io_threads = 1;
    o.timeout_ms = 300000;
    o.hello_serial = -1;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'k':
            o.keys = optarg;
            break;
        case 'r':
            o.roster = optarg;
            break;
        case 'c':
            o.coordinator = optarg;
            break;
        case 'R':
            o.relay = optarg;
            break;
        case 'P':
            o.relay_pub = optarg;
            break;
        case 'i':
            o.relay_pid = atol(optarg);
            break;
        case 'C':
            o.control = optarg;
            break;
        case 'n':
            o.nodes = atol(optarg);
            break;
        case 'x':
            o.prefix = optarg;
            break;
        case 'H':
            o.heartbeat_ms = atol(optarg);
            break;
        case 'b':
            o.baseline_s = atof(optarg);
            break;
        case 'q':
            o.quiet_s = atof(optarg);
            break;
        case 's':
            o.serve_s = atof(optarg);
            break;
        case 'I':
            o.io_threads = atol(optarg);
            break;
        case 'F':
            o.ready_file = optarg;
            break;
        case 'D':
            o.drain = 1;
            break;
        case 'S':
            o.hello_serial = atol(optarg);
            break;
        case 'T':
            o.timeout_ms = atol(optarg);
            break;
        default:
            return 2;
        }
    }
    if ((!gen && !run) || !o.keys || !o.roster || o.nodes < 2 ||
        o.nodes > ROSTER_MAX_NODES - 16 || strlen(o.prefix) > 40 ||
        (run && (!o.coordinator || !o.relay || !o.relay_pub || !o.control ||
                 o.relay_pid <= 0 || o.heartbeat_ms < 100 || o.baseline_s < 0 ||
                 o.quiet_s < 1 || o.serve_s < 1 || o.serve_s > 3600 ||
                 o.io_threads < 1 || o.timeout_ms < 1000))) {
        fprintf(stderr, "usage: see the comment at the top of scale.c\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    return gen ? cmd_gen() : cmd_run();
}

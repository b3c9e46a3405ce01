/* hostile: a hostile-client campaign against a running renraku-relay.
 * Attack workers (one thread each) run concurrently for a while or a number
 * of times, and for every attempt the answer is classified: handshake
 * refused, connection dropped, `rejected code=NAME`, `stored`, or nothing
 * within a bound (a stall). Meanwhile two honest partner nodes exchange
 * genuine, signed and sealed notices, verify and open every delivery and
 * confirm it; their throughput is measured alone first (baseline), then
 * during the attack. Not a fuzzer (tests/fuzz is) and not a benchmark.
 *
 *   hostile --keys DIR --roster R.signed --coordinator C.pub --relay EP
 *           --relay-pub RELAY.pub [options]
 *   --seconds D        attack phase length (default 20)
 *   --count N          stop each attack after N attempts (0: until D ends)
 *   --baseline S       honest traffic alone before the attack (default 5)
 *   --attacks a,b,...  a subset (default all; --list prints them)
 *   --handshake-ms MS  the relay's --handshake-ms (default 5000)
 *   --max-msg-size B   the relay's --max-msg-size (default 1118208)
 *   --answer-ms MS     an answer later than this is a stall (default 5000)
 *   --stall-ms MS      honest traffic may make no progress this long
 *                      (default 5000)
 *   --honest-window W  honest submits in flight per node (default 4)
 *   --honest-rate R    at most R honest submits a second per node (default
 *                      0: as fast as the window allows); keep it under the
 *                      relay's --rate-limit
 *   --flood-window W   flood submits in flight (default 256)
 *   --stall-conns K    stalled TCP handshakes held at once (default 16)
 *   --pace-ms MS       pause between attempts of each attack (default 0)
 *   --relay-pid PID    report the relay's CPU use (from /proc)
 *   Node ids (keys DIR/ID.key): --honest-a jp.nisc --honest-b us.cisa
 *   --attacker mallory.x --flooder flood.x --revoked revoked.x
 *   --sink sink.x (active, never connects); --unknown nobody.x (absent).
 * Output: a table, then one JSON line. Exit 0 when every attack got only
 * its expected answers, each ran at least once, and no honest message was
 * refused, lost or stalled; 1 otherwise; 2 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
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

#define S_MAX_TOKENS 16
#define S_TOKEN_LEN 48
#define S_MAX_STALL_CONNS 256

typedef struct {
    const char *keys, *roster, *coordinator, *relay, *relay_pub, *attacks;
    const char *honest_a, *honest_b, *attacker, *flooder, *revoked, *sink;
    const char *unknown;
    long seconds, count, baseline, handshake_ms, max_msg_size, answer_ms;
    long stall_ms, honest_window, flood_window, stall_conns, pace_ms;
    long relay_pid, honest_rate;
} opts_t;

static opts_t o;
static void *s_ctx;
static roster_t *s_roster;
static identity_public_t s_relay;
static identity_t *s_a, *s_b, *s_mallory, *s_flooder, *s_revoked;
static const uint8_t *s_sink_pk;
static atomic_int s_stop;
/* s_stop set: the attack workers' pause between attempts ends at once. */
static pthread_mutex_t s_stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_stop_cv; /* on CLOCK_MONOTONIC: s_stop_cv_init */

/* ---- small helpers ---- */

static void s_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void
s_die(const char *fmt, ...) {
    va_list ap;
    fputs("hostile: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static uint64_t
s_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t
s_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* CPU seconds used by this process, or by process pid (from /proc; -1
 * when it cannot be read). */
static double
s_cpu_self(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double
s_cpu_pid(long pid) {
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *fp;
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (!(fp = fopen(path, "r")))
        return -1;
    p = fgets(buf, sizeof buf, fp);
    fclose(fp);
    if (!p || !(p = strrchr(buf, ')')) ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
s_set_stop(void) {
    pthread_mutex_lock(&s_stop_mu);
    atomic_store(&s_stop, 1);
    pthread_cond_broadcast(&s_stop_cv);
    pthread_mutex_unlock(&s_stop_mu);
}

/* The stop's condition variable times out on the monotonic clock, so a
 * step of the wall clock neither stretches nor skips a pace. */
static void
s_stop_cv_init(void) {
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0 ||
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&s_stop_cv, &a) != 0)
        s_die("pthread_cond_init: cannot use the monotonic clock");
    pthread_condattr_destroy(&a);
}

/* Waits ms (the attack's pace), or until the run stops. */
static void
s_pace(long ms) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s_stop_mu);
    while (!atomic_load(&s_stop) &&
           pthread_cond_timedwait(&s_stop_cv, &s_stop_mu, &until) == 0)
        ;
    pthread_mutex_unlock(&s_stop_mu);
}

static identity_t *
s_load_identity(const char *id) {
    char path[4096], err[512];
    identity_t *me = NULL;
    snprintf(path, sizeof path, "%s/%s.key", o.keys, id);
    if (unlock_identity(path, NULL, &me, NULL, 0, err, sizeof err) != RK_OK)
        s_die("%s", err);
    return me;
}

/* A new socket. The context allows 8192 and main raised the process's
 * open files to its hard limit, so at the attack rates here (a 20 s run
 * makes some 8,000 attempts, each socket closed at once) neither runs
 * out; if one does, the run stops saying which, rather than wait for
 * libzmq to reap closed sockets, which no event announces. */
static void *
s_socket(int type) {
    void *s = zmq_socket(s_ctx, type);
    if (!s) {
        int e = errno;
        struct rlimit rl = {0, 0};
        getrlimit(RLIMIT_NOFILE, &rl);
        s_die("zmq_socket: %s (the context allows %d sockets, the process "
              "%llu open files)",
              zmq_strerror(e), zmq_ctx_get(s_ctx, ZMQ_MAX_SOCKETS),
              (unsigned long long)rl.rlim_cur);
    }
    return s;
}

/* A DEALER to the relay. CURVE with the key pair given, or the NULL
 * mechanism when pk is NULL. With mon, a monitor of its handshake. */
static void *
s_dealer(const uint8_t *pk, const uint8_t *sk, void **mon, int hwm) {
    static atomic_long seq;
    int linger = 0;
    void *s = s_socket(ZMQ_DEALER);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (hwm > 0) {
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    }
    if (pk && (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, s_relay.transport_pk,
                              32) != 0 ||
               zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pk, 32) != 0 ||
               zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sk, 32) != 0))
        s_die("CURVE options: %s", zmq_strerror(errno));
    if (mon) {
        char ep[64];
        snprintf(ep, sizeof ep, "inproc://hostile-mon-%ld",
                 atomic_fetch_add(&seq, 1));
        if (zmq_socket_monitor(s, ep,
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                   ZMQ_EVENT_DISCONNECTED) != 0)
            s_die("zmq_socket_monitor: %s", zmq_strerror(errno));
        *mon = s_socket(ZMQ_PAIR);
        zmq_setsockopt(*mon, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(*mon, ep) != 0)
            s_die("monitor connect: %s", zmq_strerror(errno));
    }
    if (zmq_connect(s, o.relay) != 0)
        s_die("connect %s: %s", o.relay, zmq_strerror(errno));
    return s;
}

static void *
s_dealer_as(const identity_t *me, void **mon) {
    return s_dealer(identity_public(me)->transport_pk,
                    identity_transport_sk(me), mon, 0);
}

static void
s_close(void **sock) {
    if (*sock)
        zmq_close(*sock);
    *sock = NULL;
}

/* The next monitor event within ms, or 0 on timeout. */
static uint16_t
s_event(void *mon, long ms) {
    zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
    zmq_msg_t m;
    uint16_t ev = 0;
    if (zmq_poll(&it, 1, ms) <= 0)
        return 0;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, mon, 0) >= 2)
        memcpy(&ev, zmq_msg_data(&m), sizeof ev);
    zmq_msg_close(&m);
    zmq_msg_init(&m);
    zmq_msg_recv(&m, mon, 0); /* the endpoint */
    zmq_msg_close(&m);
    return ev;
}

/* One frame from sock before deadline (monotonic ms), or NULL. A frame
 * that does not decode is skipped (and counted by *bad if given). */
static frame_t *
s_recv(void *sock, uint64_t deadline, long *bad) {
    for (;;) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        zmq_msg_t m;
        frame_t *f = NULL;
        uint64_t now = s_ms();
        if (now >= deadline)
            return NULL;
        if (zmq_poll(&it, 1, (long)(deadline - now)) <= 0)
            continue;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) >= 0 &&
            frame_decode(zmq_msg_data(&m), zmq_msg_size(&m), &f, NULL) !=
                RK_OK &&
            bad)
            (*bad)++;
        zmq_msg_close(&m);
        if (f)
            return f;
    }
}

/* Seals a notice to one recipient. sender is the id put in the header,
 * sign_sk the key that signs (the sender's own unless forging). */
static void
s_seal(const identity_t *me, const char *sender, const uint8_t *sign_sk,
       const char *to, const uint8_t *to_pk, int64_t created_offset_ms,
       const uint8_t *msg_id, const char *text, uint8_t **env, size_t *len,
       uint8_t id_out[16]) {
    envelope_params_t p;
    envelope_recipient_t r = {to, to_pk};
    uint8_t kid[ENVELOPE_KEY_ID_LEN];
    envelope_key_id(kid, identity_public(me)->sign_pk);
    memset(&p, 0, sizeof p);
    p.sender = sender;
    p.sign_sk = sign_sk;
    p.sign_key_id = kid;
    p.kind = ENVELOPE_KIND_NOTICE;
    p.created_ms = (uint64_t)((int64_t)rk_now_ms() + created_offset_ms);
    p.msg_id = msg_id;
    if (envelope_seal(&p, &r, 1, (const uint8_t *)text, strlen(text), env, len,
                      id_out) != RK_OK)
        s_die("cannot seal a notice to %s", to);
}

static void
s_submit_frame(const uint8_t *env, size_t len, uint8_t **out, size_t *olen) {
    if (frame_encode_submit(env, len, out, olen) != RK_OK)
        s_die("cannot encode a submit");
}

/* ---- attack workers ---- */

typedef struct {
    char tok[S_TOKEN_LEN];
    long n;
} tally_t;

typedef struct worker worker_t;

typedef struct {
    const char *name;
    const char *what;        /* the attack, for the table */
    const char *expected[8]; /* answers that are a pass; NULL-terminated */
    void (*once)(worker_t *w);
    void (*done)(worker_t *w); /* release what once kept, may be NULL */
} attack_t;

typedef struct {
    int fd;
    uint64_t t0;
} stall_conn_t;

typedef struct { /* one flood submit in flight */
    int used;
    uint8_t id[16];
    uint8_t *frame; /* the submit, kept for one resubmission */
    size_t len;
    uint64_t t_sent;
    int resubmitted;
} flood_slot_t;

struct worker {
    const attack_t *a;
    pthread_t thread;
    atomic_int finished;
    long attempts, unexpected;
    long auth_refused; /* handshakes the ZAP handler refused (status 400) */
    long checked;      /* expected answers other than rate-limited */
    tally_t seen[S_MAX_TOKENS];
    size_t n_seen;
    char first_unexpected[200];
    uint64_t t_min, t_max; /* stall: ms until dropped; others: answer ms */
    void *sock;            /* a kept connection (authenticated attacks) */
    /* stalled handshakes */
    stall_conn_t *conns;
    size_t n_conns;
    /* flood */
    flood_slot_t *slots;
    long inflight, flood_stored, flood_delivered, flood_resubmits, flood_late;
    uint64_t t_start, t_end;
};

static void s_done_sock(worker_t *w);

/* True for the refusal of the relay's per-node rate limit. */
static int
s_limited(const char *tok) {
    return strcmp(tok, "rejected:rate-limited") == 0 ||
           strcmp(tok, "setup-rejected:rate-limited") == 0;
}

static int
s_expected(const attack_t *a, const char *tok) {
    /* The attacks on mallory's connection (those that keep it, closed by
     * s_done_sock) share one node's --rate-limit: a refusal over it is a
     * right answer, but checks nothing of the attack itself. */
    if (a->done == s_done_sock && s_limited(tok))
        return 1;
    for (int i = 0; a->expected[i]; i++)
        if (strcmp(a->expected[i], tok) == 0)
            return 1;
    return 0;
}

/* Records one attempt's answer. */
static void
s_tally(worker_t *w, const char *tok, const char *detail) {
    size_t i;
    w->attempts++;
    for (i = 0; i < w->n_seen; i++)
        if (strcmp(w->seen[i].tok, tok) == 0)
            break;
    if (i == w->n_seen && i < S_MAX_TOKENS) {
        snprintf(w->seen[i].tok, sizeof w->seen[i].tok, "%s", tok);
        w->n_seen++;
    }
    if (i < S_MAX_TOKENS)
        w->seen[i].n++;
    if (s_expected(w->a, tok) && !s_limited(tok))
        w->checked++;
    if (!s_expected(w->a, tok)) {
        w->unexpected++;
        if (!w->first_unexpected[0])
            snprintf(w->first_unexpected, sizeof w->first_unexpected, "%s%s%s",
                     tok, detail ? ": " : "", detail ? detail : "");
    }
}

static void
s_answer_time(worker_t *w, uint64_t dt) {
    if (!w->t_min || dt < w->t_min)
        w->t_min = dt ? dt : 1;
    if (dt > w->t_max)
        w->t_max = dt;
}

/* Sends one frame on the attacker's kept connection and classifies the
 * answer: "stored", "rejected:NAME" or "no-answer" (then the connection
 * is replaced, so that a late answer cannot be taken for the next one).
 * Fills stored_index when stored. */
static void
s_ask(worker_t *w, const uint8_t *buf, size_t len, int parts, char *tok,
      size_t cap, uint64_t *stored_index, char *detail, size_t dcap) {
    uint64_t t0 = s_ms(), deadline = t0 + (uint64_t)o.answer_ms;
    frame_t *f;
    detail[0] = 0;
    if (!w->sock)
        w->sock = s_dealer_as(s_mallory, NULL);
    if (parts) {
        zmq_send(w->sock, "a", 1, ZMQ_SNDMORE);
        zmq_send(w->sock, "b", 1, 0);
    } else if (zmq_send(w->sock, buf, len, 0) < 0)
        s_die("send: %s", zmq_strerror(errno));
    while ((f = s_recv(w->sock, deadline, NULL)) != NULL) {
        if (f->type == FRAME_STORED || f->type == FRAME_REJECTED)
            break;
        frame_destroy(&f); /* a roster push or the like: not the answer */
    }
    if (!f) {
        snprintf(tok, cap, "no-answer");
        snprintf(detail, dcap, "nothing within %ld ms", o.answer_ms);
        s_close(&w->sock);
        return;
    }
    s_answer_time(w, s_ms() - t0);
    if (f->type == FRAME_STORED) {
        snprintf(tok, cap, "stored");
        if (stored_index)
            *stored_index = f->stored.index;
    } else {
        snprintf(tok, cap, "rejected:%s", frame_reject_name(f->rejected.code));
        snprintf(detail, dcap, "%s", f->rejected.reason);
    }
    frame_destroy(&f);
}

/* Submits an envelope as mallory and tallies the answer. */
static void
s_submit_tally(worker_t *w, uint8_t *env, size_t len) {
    uint8_t *buf = NULL;
    size_t blen = 0;
    char tok[S_TOKEN_LEN], detail[FRAME_REASON_MAX + 1];
    s_submit_frame(env, len, &buf, &blen);
    s_ask(w, buf, blen, 0, tok, sizeof tok, NULL, detail, sizeof detail);
    s_tally(w, tok, detail);
    free(buf);
}

static void
s_send_raw_tally(worker_t *w, const uint8_t *buf, size_t len, int parts) {
    char tok[S_TOKEN_LEN], detail[FRAME_REASON_MAX + 1];
    s_ask(w, buf, len, parts, tok, sizeof tok, NULL, detail, sizeof detail);
    s_tally(w, tok, detail);
}

static void
s_done_sock(worker_t *w) {
    s_close(&w->sock);
}

/* A CURVE (or NULL-mechanism) handshake expected to fail. */
static void
s_handshake_attempt(worker_t *w, const uint8_t *pk, const uint8_t *sk) {
    void *mon = NULL, *s = s_dealer(pk, sk, &mon, 0);
    uint64_t t0 = s_ms(), deadline = t0 + (uint64_t)o.answer_ms;
    const char *tok = "no-answer";
    char detail[64] = "";
    while (s_ms() < deadline) {
        uint16_t ev = s_event(mon, (long)(deadline - s_ms()));
        if (!ev)
            continue;
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
            ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            tok = "handshake-refused";
            snprintf(detail, sizeof detail, "monitor event 0x%x", ev);
            /* AUTH: the relay's ZAP handler said no (and counted it);
             * the others: the handshake failed before ZAP was asked. */
            w->auth_refused += ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
            break;
        }
        if (ev == ZMQ_EVENT_DISCONNECTED) {
            tok = "disconnected";
            break;
        }
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            /* Admitted? Then a hello must not be welcomed. */
            uint8_t *buf = NULL;
            size_t len = 0;
            frame_t *f;
            tok = "handshake-ok";
            if (frame_encode_hello(0, 0, &buf, &len) == RK_OK)
                zmq_send(s, buf, len, 0);
            free(buf);
            f = s_recv(s, deadline, NULL);
            if (f && f->type == FRAME_WELCOME)
                tok = "welcomed";
            frame_destroy(&f);
            break;
        }
    }
    if (strcmp(tok, "no-answer") != 0)
        s_answer_time(w, s_ms() - t0);
    s_tally(w, tok, detail);
    zmq_socket_monitor(s, NULL, 0);
    zmq_close(mon);
    zmq_close(s);
}

static void
att_unauth_curve(worker_t *w) {
    uint8_t pk[32], sk[32];
    crypto_box_keypair(pk, sk);
    s_handshake_attempt(w, pk, sk);
    sodium_memzero(sk, sizeof sk);
}

static void
att_null_mech(worker_t *w) {
    s_handshake_attempt(w, NULL, NULL);
}

static void
att_revoked_sender(worker_t *w) {
    s_handshake_attempt(w, identity_public(s_revoked)->transport_pk,
                        identity_transport_sk(s_revoked));
}

/* Raw TCP connections that send the first 11 bytes of a ZMTP 3 greeting
 * and then nothing: the relay must drop each within its handshake limit. */
static int
s_stall_open(void) {
    const char *p = strstr(o.relay, "://");
    char host[64];
    int port = 0, fd;
    struct sockaddr_in sa;
    static const uint8_t partial[11] = {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3};
    if (!p || sscanf(p + 3, "%63[^:]:%d", host, &port) != 2)
        s_die("--relay %s: stalled handshakes need tcp://HOST:PORT", o.relay);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        s_die("--relay %s: not an IPv4 address", o.relay);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        send(fd, partial, sizeof partial, MSG_NOSIGNAL) != sizeof partial) {
        close(fd);
        return -1;
    }
    return fd;
}

static void
att_stall_handshake(worker_t *w) {
    struct pollfd pf[S_MAX_STALL_CONNS];
    uint64_t bound =
        (uint64_t)o.handshake_ms +
        (uint64_t)(o.handshake_ms > o.answer_ms ? o.handshake_ms : o.answer_ms);
    if (!w->conns) {
        w->conns = calloc(S_MAX_STALL_CONNS, sizeof *w->conns);
        if (!w->conns)
            s_die("out of memory");
    }
    while (w->n_conns < (size_t)o.stall_conns && !atomic_load(&s_stop) &&
           (!o.count || w->attempts + (long)w->n_conns < o.count)) {
        int fd = s_stall_open();
        if (fd < 0) {
            s_tally(w, "connect-failed", strerror(errno));
            break;
        }
        w->conns[w->n_conns].fd = fd;
        w->conns[w->n_conns++].t0 = s_ms();
    }
    for (size_t i = 0; i < w->n_conns; i++) {
        pf[i].fd = w->conns[i].fd;
        pf[i].events = POLLIN;
        pf[i].revents = 0;
    }
    poll(pf, w->n_conns, 50);
    for (size_t i = 0; i < w->n_conns;) {
        uint64_t dt = s_ms() - w->conns[i].t0;
        int closed = 0;
        if (pf[i].revents) {
            uint8_t junk[256];
            ssize_t n = recv(w->conns[i].fd, junk, sizeof junk, MSG_DONTWAIT);
            closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
        }
        if (closed || dt > bound) {
            char detail[96];
            snprintf(detail, sizeof detail, "after %llu ms (limit %ld ms)",
                     (unsigned long long)dt, o.handshake_ms);
            if (closed)
                s_answer_time(w, dt);
            /* Dropped well before the limit: not the handshake timer that
             * did it, so the stall was not what got tested. */
            s_tally(w,
                    !closed                                  ? "not-dropped"
                    : dt * 10 < (uint64_t)o.handshake_ms * 8 ? "dropped-early"
                                                             : "dropped",
                    detail);
            close(w->conns[i].fd);
            w->conns[i] = w->conns[--w->n_conns];
            pf[i] = pf[w->n_conns];
            continue;
        }
        i++;
    }
}

static void
s_stall_done(worker_t *w) {
    /* Still open at the end: count those already past the bound. */
    for (size_t i = 0; i < w->n_conns; i++)
        close(w->conns[i].fd);
    free(w->conns);
    w->conns = NULL;
    w->n_conns = 0;
}

static void
att_oversize(worker_t *w) {
    size_t len = FRAME_MAX_BYTES + 1024;
    uint8_t *buf = calloc(1, len);
    if (!buf)
        s_die("out of memory");
    s_send_raw_tally(w, buf, len, 0);
    free(buf);
}

/* Over --max-msg-size: libzmq drops the connection, no answer. */
static void
att_over_max_msg(worker_t *w) {
    size_t len = (size_t)o.max_msg_size + 1024;
    uint8_t *buf = calloc(1, len);
    void *mon = NULL, *s = s_dealer_as(s_mallory, &mon);
    uint64_t t0 = s_ms(), deadline = t0 + (uint64_t)o.answer_ms;
    const char *tok = "no-answer";
    if (!buf)
        s_die("out of memory");
    zmq_send(s, buf, len, 0);
    while (s_ms() < deadline) {
        zmq_pollitem_t it[2] = {{mon, 0, ZMQ_POLLIN, 0}, {s, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, 2, (long)(deadline - s_ms())) <= 0)
            continue;
        if (it[1].revents & ZMQ_POLLIN) {
            frame_t *f = s_recv(s, deadline, NULL);
            tok = f && f->type == FRAME_REJECTED ? "answered" : "frame";
            frame_destroy(&f);
            break;
        }
        if (s_event(mon, 0) == ZMQ_EVENT_DISCONNECTED) {
            tok = "disconnected";
            break;
        }
    }
    if (strcmp(tok, "no-answer") != 0)
        s_answer_time(w, s_ms() - t0);
    s_tally(w, tok, NULL);
    free(buf);
    zmq_socket_monitor(s, NULL, 0);
    zmq_close(mon);
    zmq_close(s);
}

static void
att_random(worker_t *w) {
    size_t len = 16 + randombytes_uniform(4096 - 16);
    uint8_t *buf = malloc(len);
    if (!buf)
        s_die("out of memory");
    randombytes_buf(buf, len);
    s_send_raw_tally(w, buf, len, 0);
    free(buf);
}

static void
att_multipart(worker_t *w) {
    s_send_raw_tally(w, NULL, 0, 1);
}

/* A frame only the relay sends (stored), from a node. */
static void
att_wrong_type(worker_t *w) {
    uint8_t id[16], *buf = NULL;
    size_t len = 0;
    randombytes_buf(id, sizeof id);
    if (frame_encode_stored(id, 7, rk_now_ms(), &buf, &len) != RK_OK)
        s_die("cannot encode");
    s_send_raw_tally(w, buf, len, 0);
    free(buf);
}

/* Frame{hello{version=2}}: encoders refuse to build it, so by hand. */
static void
att_bad_version(worker_t *w) {
    static const uint8_t hello_v2[] = {0x0a, 0x02, 0x08, 0x02};
    s_send_raw_tally(w, hello_v2, sizeof hello_v2, 0);
}

static void
att_mutate(worker_t *w) {
    uint8_t *env = NULL;
    size_t len = 0, at;
    s_seal(s_mallory, identity_id(s_mallory), identity_sign_sk(s_mallory),
           o.sink, s_sink_pk, 0, NULL, "mutated", &env, &len, NULL);
    at = randombytes_uniform((uint32_t)len);
    env[at] ^= (uint8_t)(1 + randombytes_uniform(255));
    s_submit_tally(w, env, len);
    free(env);
}

/* Signed with a key that is not the sender's, under the sender's key id. */
static void
att_forged_signature(worker_t *w) {
    uint8_t pk[32], sk[64], *env = NULL;
    size_t len = 0;
    crypto_sign_keypair(pk, sk);
    s_seal(s_mallory, identity_id(s_mallory), sk, o.sink, s_sink_pk, 0, NULL,
           "forged", &env, &len, NULL);
    sodium_memzero(sk, sizeof sk);
    s_submit_tally(w, env, len);
    free(env);
}

/* The header names an honest node as sender; mallory's connection. */
static void
att_impersonate(worker_t *w) {
    uint8_t *env = NULL;
    size_t len = 0;
    s_seal(s_mallory, identity_id(s_a), identity_sign_sk(s_mallory),
           identity_id(s_b), identity_public(s_b)->enc_pk, 0, NULL,
           "impersonated", &env, &len, NULL);
    s_submit_tally(w, env, len);
    free(env);
}

/* A genuine envelope of the honest node A (as if captured), submitted on
 * mallory's connection. Were it stored, B would get a message A never
 * sent, which the honest side counts as foreign. */
static void
att_replay_stolen(worker_t *w) {
    uint8_t *env = NULL;
    size_t len = 0;
    s_seal(s_a, identity_id(s_a), identity_sign_sk(s_a), identity_id(s_b),
           identity_public(s_b)->enc_pk, 0, NULL, "stolen", &env, &len, NULL);
    s_submit_tally(w, env, len);
    free(env);
}

/* Stores a fresh envelope first (setup, not an attempt); returns its msg
 * id, bytes and index, or 0 when even that failed (tallied). */
static int
s_store_first(worker_t *w, uint8_t id[16], uint8_t **env, size_t *len,
              uint64_t *index) {
    uint8_t *buf = NULL;
    size_t blen = 0;
    char tok[S_TOKEN_LEN], detail[FRAME_REASON_MAX + 1], t2[S_TOKEN_LEN + 8];
    s_seal(s_mallory, identity_id(s_mallory), identity_sign_sk(s_mallory),
           o.sink, s_sink_pk, 0, NULL, "original", env, len, id);
    s_submit_frame(*env, *len, &buf, &blen);
    s_ask(w, buf, blen, 0, tok, sizeof tok, index, detail, sizeof detail);
    free(buf);
    if (strcmp(tok, "stored") == 0)
        return 1;
    snprintf(t2, sizeof t2, "setup-%s", tok);
    s_tally(w, t2, detail);
    free(*env);
    *env = NULL;
    return 0;
}

/* The msg id of a stored message reused for other content. */
static void
att_replay_msgid(worker_t *w) {
    uint8_t id[16], *env = NULL, *other = NULL;
    size_t len = 0, olen = 0;
    uint64_t index = 0;
    if (!s_store_first(w, id, &env, &len, &index))
        return;
    s_seal(s_mallory, identity_id(s_mallory), identity_sign_sk(s_mallory),
           o.sink, s_sink_pk, 0, id, "other content", &other, &olen, NULL);
    s_submit_tally(w, other, olen);
    free(other);
    free(env);
}

/* The very same bytes again: a retry, answered stored with the same index
 * (no second record, no second delivery). */
static void
att_replay_retry(worker_t *w) {
    uint8_t id[16], *env = NULL, *buf = NULL;
    size_t len = 0, blen = 0;
    uint64_t index = 0, again = 0;
    char tok[S_TOKEN_LEN], detail[FRAME_REASON_MAX + 1];
    if (!s_store_first(w, id, &env, &len, &index))
        return;
    s_submit_frame(env, len, &buf, &blen);
    s_ask(w, buf, blen, 0, tok, sizeof tok, &again, detail, sizeof detail);
    if (strcmp(tok, "stored") == 0) {
        if (again == index)
            snprintf(tok, sizeof tok, "stored-same-index");
        else
            snprintf(detail, sizeof detail,
                     "stored again at index %llu, first at %llu",
                     (unsigned long long)again, (unsigned long long)index);
    }
    s_tally(w, tok, detail);
    free(buf);
    free(env);
}

/* A genuine envelope created an hour ago (outside the replay window). */
static void
att_replay_stale(worker_t *w) {
    uint8_t *env = NULL;
    size_t len = 0;
    s_seal(s_mallory, identity_id(s_mallory), identity_sign_sk(s_mallory),
           o.sink, s_sink_pk, -3600 * 1000, NULL, "old", &env, &len, NULL);
    s_submit_tally(w, env, len);
    free(env);
}

static void
att_unknown_recipient(worker_t *w) {
    uint8_t *env = NULL;
    size_t len = 0;
    s_seal(s_mallory, identity_id(s_mallory), identity_sign_sk(s_mallory),
           o.unknown, identity_public(s_mallory)->enc_pk, 0, NULL, "to nobody",
           &env, &len, NULL);
    s_submit_tally(w, env, len);
    free(env);
}

static void
att_revoked_recipient(worker_t *w) {
    uint8_t *env = NULL;
    size_t len = 0;
    s_seal(s_mallory, identity_id(s_mallory), identity_sign_sk(s_mallory),
           identity_id(s_revoked), identity_public(s_revoked)->enc_pk, 0, NULL,
           "to the revoked", &env, &len, NULL);
    s_submit_tally(w, env, len);
    free(env);
}

/* One authenticated node submitting genuine notices as fast as the relay
 * takes them (a window in flight), to itself, confirming each delivery so
 * that the relay's queue stays bounded. The relay has no per-node rate
 * limit: each is expected to be stored (or refused rate-limited / busy).
 * Like a real node it resubmits a submit left unanswered for --answer-ms
 * once: the relay drops an answer when the node's queue is full (logged
 * reply_lost) and answers the resubmission `stored` again. */
static void
s_flood_free(flood_slot_t *sl) {
    free(sl->frame);
    memset(sl, 0, sizeof *sl);
}

static void
s_flood_answer(worker_t *w, const frame_t *f) {
    const uint8_t *id = f->type == FRAME_STORED  ? f->stored.msg_id
                        : f->rejected.has_msg_id ? f->rejected.msg_id
                                                 : NULL;
    flood_slot_t *sl = NULL;
    char tok[S_TOKEN_LEN];
    for (long i = 0; id && i < o.flood_window; i++)
        if (w->slots[i].used && memcmp(w->slots[i].id, id, 16) == 0)
            sl = &w->slots[i];
    if (!sl && id) {
        w->flood_late++; /* the first answer, after its resubmission's */
        return;
    }
    if (f->type == FRAME_STORED) {
        w->flood_stored++;
        snprintf(tok, sizeof tok, "%s",
                 sl->resubmitted ? "stored-after-resubmit" : "stored");
        s_tally(w, tok, NULL);
    } else {
        snprintf(tok, sizeof tok, "rejected:%s",
                 frame_reject_name(f->rejected.code));
        s_tally(w, tok, f->rejected.reason);
    }
    if (sl) {
        s_flood_free(sl);
        w->inflight--;
    }
}

static void
s_flood_timeouts(worker_t *w) {
    uint64_t now = s_ms();
    for (long i = 0; i < o.flood_window; i++) {
        flood_slot_t *sl = &w->slots[i];
        if (!sl->used || now - sl->t_sent < (uint64_t)o.answer_ms)
            continue;
        if (!sl->resubmitted &&
            zmq_send(w->sock, sl->frame, sl->len, ZMQ_DONTWAIT) >= 0) {
            sl->resubmitted = 1;
            sl->t_sent = now;
            w->flood_resubmits++;
            continue;
        }
        s_tally(w, "no-answer", "a flood submit never answered, resubmitted");
        s_flood_free(sl);
        w->inflight--;
    }
}

/* Reads every frame waiting: answers, and deliveries it confirms. */
static void
s_flood_read(worker_t *w) {
    for (;;) {
        frame_t *f = NULL;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, w->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        if (frame_decode(zmq_msg_data(&m), zmq_msg_size(&m), &f, NULL) !=
            RK_OK) {
            zmq_msg_close(&m);
            continue;
        }
        zmq_msg_close(&m);
        if (f->type == FRAME_STORED || f->type == FRAME_REJECTED)
            s_flood_answer(w, f);
        else if (f->type == FRAME_DELIVER) {
            envelope_t *env = NULL;
            uint8_t *buf = NULL;
            size_t len = 0;
            if (envelope_decode(f->deliver.envelope, f->deliver.envelope_len,
                                &env, NULL) == RK_OK &&
                frame_encode_confirm(f->deliver.index,
                                     envelope_header(env)->msg_id, &buf,
                                     &len) == RK_OK)
                zmq_send(w->sock, buf, len, ZMQ_DONTWAIT);
            free(buf);
            envelope_destroy(&env);
            w->flood_delivered++;
        }
        frame_destroy(&f);
    }
}

static void
att_flood(worker_t *w) {
    uint64_t until = s_ms() + 200;
    if (!w->sock) {
        uint8_t *buf = NULL;
        size_t len = 0;
        w->slots = calloc((size_t)o.flood_window, sizeof *w->slots);
        if (!w->slots)
            s_die("out of memory");
        w->sock = s_dealer(identity_public(s_flooder)->transport_pk,
                           identity_transport_sk(s_flooder), NULL, 100000);
        if (frame_encode_hello(roster_serial(s_roster), 1024, &buf, &len) !=
                RK_OK ||
            zmq_send(w->sock, buf, len, 0) < 0)
            s_die("flood hello failed");
        free(buf);
        w->t_start = s_ms();
    }
    while (s_ms() < until) {
        zmq_pollitem_t it = {w->sock, 0, ZMQ_POLLIN, 0};
        for (long i = 0; i < o.flood_window && !atomic_load(&s_stop) &&
                         (!o.count || w->attempts + w->inflight < o.count);
             i++) {
            flood_slot_t *sl = &w->slots[i];
            uint8_t *env = NULL;
            size_t len = 0;
            if (sl->used)
                continue;
            s_seal(s_flooder, identity_id(s_flooder),
                   identity_sign_sk(s_flooder), identity_id(s_flooder),
                   identity_public(s_flooder)->enc_pk, 0, NULL, "flood", &env,
                   &len, sl->id);
            s_submit_frame(env, len, &sl->frame, &sl->len);
            free(env);
            if (zmq_send(w->sock, sl->frame, sl->len, ZMQ_DONTWAIT) < 0) {
                s_flood_free(sl);
                break;
            }
            sl->used = 1;
            sl->t_sent = s_ms();
            w->inflight++;
        }
        if (zmq_poll(&it, 1, 10) > 0)
            s_flood_read(w);
        s_flood_timeouts(w);
    }
    w->t_end = s_ms();
}

static void
s_flood_done(worker_t *w) {
    /* Answers still owed: wait for them (bounded, with one resubmission
     * each), then count the rest as never answered. */
    uint64_t deadline = s_ms() + 2 * (uint64_t)o.answer_ms + 1000;
    while (w->sock && w->inflight > 0 && s_ms() < deadline) {
        zmq_pollitem_t it = {w->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 10) > 0)
            s_flood_read(w);
        s_flood_timeouts(w);
    }
    for (long i = 0; w->slots && i < o.flood_window; i++)
        if (w->slots[i].used) {
            s_tally(w, "no-answer", "a flood submit never answered");
            s_flood_free(&w->slots[i]);
        }
    free(w->slots);
    w->slots = NULL;
    w->inflight = 0;
    s_close(&w->sock);
}

static const attack_t s_attacks[] = {
    {"unauth-curve",
     "CURVE with a key in no roster",
     {"handshake-refused"},
     att_unauth_curve,
     NULL},
    {"null-mechanism",
     "plain ZMTP, NULL mechanism",
     {"handshake-refused"},
     att_null_mech,
     NULL},
    {"stall-handshake",
     "TCP, 11 bytes of greeting, then silence",
     {"dropped"},
     att_stall_handshake,
     s_stall_done},
    {"revoked-sender",
     "CURVE with a revoked node's key",
     {"handshake-refused"},
     att_revoked_sender,
     NULL},
    {"oversize",
     "a frame of 1 MiB + 5 KiB",
     {"rejected:too-large"},
     att_oversize,
     s_done_sock},
    {"over-max-msg",
     "a message over --max-msg-size",
     {"disconnected"},
     att_over_max_msg,
     NULL},
    {"random-bytes",
     "16..4095 random bytes",
     {"rejected:malformed"},
     att_random,
     s_done_sock},
    {"multipart",
     "a two-part ZeroMQ message",
     {"rejected:malformed"},
     att_multipart,
     s_done_sock},
    {"wrong-type",
     "a stored frame sent to the relay",
     {"rejected:not-allowed"},
     att_wrong_type,
     s_done_sock},
    {"bad-version",
     "hello with version 2",
     {"rejected:version"},
     att_bad_version,
     s_done_sock},
    {"mutated-byte",
     "a valid submit, one random byte changed",
     {"rejected:malformed", "rejected:bad-signature", "rejected:version",
      "rejected:too-large", "rejected:sender-mismatch", "rejected:unknown-key",
      "rejected:sender-inactive", NULL},
     att_mutate,
     s_done_sock},
    {"forged-signature",
     "signed with another key, sender's key id",
     {"rejected:bad-signature"},
     att_forged_signature,
     s_done_sock},
    {"impersonate",
     "header sender is another node",
     {"rejected:sender-mismatch"},
     att_impersonate,
     s_done_sock},
    {"replay-stolen",
     "an honest node's genuine envelope, resubmitted",
     {"rejected:sender-mismatch"},
     att_replay_stolen,
     s_done_sock},
    {"replay-msgid",
     "a stored msg id reused for other content",
     {"rejected:replay"},
     att_replay_msgid,
     s_done_sock},
    {"replay-retry",
     "a stored envelope's exact bytes again",
     {"stored-same-index"},
     att_replay_retry,
     s_done_sock},
    {"replay-stale",
     "a genuine envelope created 1 h ago",
     {"rejected:stale"},
     att_replay_stale,
     s_done_sock},
    {"unknown-recipient",
     "to a node not in the roster",
     {"rejected:unknown-recipient"},
     att_unknown_recipient,
     s_done_sock},
    {"revoked-recipient",
     "to a revoked node",
     {"rejected:recipient-inactive"},
     att_revoked_recipient,
     s_done_sock},
    {"flood",
     "one node, genuine notices, full speed",
     {"stored", "stored-after-resubmit", "rejected:rate-limited",
      "rejected:busy"},
     att_flood,
     s_flood_done},
};
#define S_N_ATTACKS (sizeof s_attacks / sizeof s_attacks[0])

static void *
s_worker(void *arg) {
    worker_t *w = arg;
    while (!atomic_load(&s_stop) && (!o.count || w->attempts < o.count)) {
        w->a->once(w);
        if (o.pace_ms)
            s_pace(o.pace_ms);
    }
    if (w->a->done)
        w->a->done(w);
    atomic_store(&w->finished, 1);
    return NULL;
}

/* ---- the honest pair ---- */

typedef struct {
    int from;                               /* 0: A, 1: B */
    uint64_t t_sent, t_stored, t_delivered; /* monotonic ms */
    uint64_t us_sent;                       /* monotonic us */
    uint32_t us_stored, us_delivered;       /* latency in us + 1; 0: none */
} hmsg_t;

typedef struct {
    identity_t *me;
    void *sock;
    int welcomed;
    long inflight;
    uint64_t next_us; /* --honest-rate: no submit before this */
} hnode_t;

static hnode_t s_h[2];
static hmsg_t *s_hm;
static long s_hn, s_hcap;
static uint8_t s_hnonce[8];
static long s_h_rejected, s_h_foreign, s_h_dups, s_h_bad, s_h_stored,
    s_h_delivered;
static char s_h_first_problem[300];
static uint64_t s_h_last_progress, s_h_max_gap;
static int s_h_submitting;

static void s_h_problem(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void
s_h_problem(const char *fmt, ...) {
    va_list ap;
    if (s_h_first_problem[0])
        return;
    va_start(ap, fmt);
    vsnprintf(s_h_first_problem, sizeof s_h_first_problem, fmt, ap);
    va_end(ap);
}

static uint32_t
s_lat(uint64_t from_us) {
    uint64_t d = s_us() - from_us;
    return d >= UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)d + 1;
}

static long
s_h_seq(const uint8_t id[16]) {
    uint64_t v = 0;
    if (memcmp(id, s_hnonce, 8) != 0)
        return -1;
    for (int b = 0; b < 8; b++)
        v = (v << 8) | id[8 + b];
    return v < (uint64_t)s_hn ? (long)v : -1;
}

static void
s_h_progress(void) {
    uint64_t now = s_ms();
    if (s_h_submitting && now - s_h_last_progress > s_h_max_gap)
        s_h_max_gap = now - s_h_last_progress;
    s_h_last_progress = now;
}

static void
s_h_send(int k) {
    hnode_t *n = &s_h[k], *peer = &s_h[!k];
    uint8_t id[16], *env = NULL, *buf = NULL;
    size_t len = 0, blen = 0;
    char text[64];
    if (s_hn == s_hcap) {
        long cap = s_hcap ? s_hcap * 2 : 4096;
        hmsg_t *g = realloc(s_hm, (size_t)cap * sizeof *g);
        if (!g)
            s_die("out of memory");
        s_hm = g;
        s_hcap = cap;
    }
    memcpy(id, s_hnonce, 8);
    for (int b = 0; b < 8; b++)
        id[8 + b] = (uint8_t)((uint64_t)s_hn >> (56 - 8 * b));
    snprintf(text, sizeof text, "honest #%ld", s_hn);
    s_seal(n->me, identity_id(n->me), identity_sign_sk(n->me),
           identity_id(peer->me), identity_public(peer->me)->enc_pk, 0, id,
           text, &env, &len, NULL);
    s_submit_frame(env, len, &buf, &blen);
    free(env);
    memset(&s_hm[s_hn], 0, sizeof s_hm[s_hn]);
    s_hm[s_hn].from = k;
    s_hm[s_hn].t_sent = s_ms();
    s_hm[s_hn].us_sent = s_us();
    if (zmq_send(n->sock, buf, blen, 0) < 0)
        s_die("honest send: %s", zmq_strerror(errno));
    free(buf);
    s_hn++;
    n->inflight++;
}

/* A deliver to honest node k: verify, open, check, confirm. */
static void
s_h_deliver(int k, const frame_t *f) {
    hnode_t *n = &s_h[k];
    envelope_t *env = NULL;
    const roster_keyset_t *ks = NULL;
    uint8_t *plain = NULL, *buf = NULL;
    size_t plain_len = 0, blen = 0;
    const envelope_header_t *h;
    char want[64];
    long seq;
    int rc = envelope_decode(f->deliver.envelope, f->deliver.envelope_len, &env,
                             NULL);
    if (rc != RK_OK) {
        s_h_bad++;
        s_h_problem("%s got a deliver that does not decode",
                    identity_id(n->me));
        return;
    }
    h = envelope_header(env);
    rc = roster_usable_keys(s_roster, h->sender, h->sender_key_id,
                            h->created_ms, &ks);
    if (rc == RK_OK)
        rc = envelope_verify(env, ks->sign_pk);
    if (rc == RK_OK)
        rc = envelope_open(env, identity_id(n->me),
                           identity_public(n->me)->enc_pk,
                           identity_enc_sk(n->me), &plain, &plain_len);
    seq = s_h_seq(h->msg_id);
    if (rc != RK_OK) {
        s_h_bad++;
        s_h_problem("%s: a delivery from %s fails: %s", identity_id(n->me),
                    h->sender, rk_strerror(rc));
    } else if (seq < 0 || s_hm[seq].from == k ||
               strcmp(h->sender, identity_id(s_h[!k].me)) != 0) {
        s_h_foreign++;
        s_h_problem("%s got a message its partner never sent (from %s)",
                    identity_id(n->me), h->sender);
    } else {
        snprintf(want, sizeof want, "honest #%ld", seq);
        if (plain_len != strlen(want) || memcmp(plain, want, plain_len) != 0) {
            s_h_bad++;
            s_h_problem("message %ld opened to other content", seq);
        } else if (s_hm[seq].t_delivered)
            s_h_dups++; /* at-least-once: a redelivery, confirmed again */
        else {
            s_hm[seq].t_delivered = s_ms();
            s_hm[seq].us_delivered = s_lat(s_hm[seq].us_sent);
            s_h_delivered++;
            s_h_progress();
        }
    }
    if (frame_encode_confirm(f->deliver.index, h->msg_id, &buf, &blen) == RK_OK)
        zmq_send(n->sock, buf, blen, 0);
    free(buf);
    free(plain);
    envelope_destroy(&env);
}

static void
s_h_frame(int k, frame_t *f) {
    hnode_t *n = &s_h[k];
    long seq;
    switch (f->type) {
    case FRAME_WELCOME:
        n->welcomed = 1;
        break;
    case FRAME_STORED:
        seq = s_h_seq(f->stored.msg_id);
        if (seq >= 0 && !s_hm[seq].t_stored) {
            s_hm[seq].t_stored = s_ms();
            s_hm[seq].us_stored = s_lat(s_hm[seq].us_sent);
            s_h_stored++;
            n->inflight--;
            s_h_progress();
        }
        break;
    case FRAME_REJECTED:
        s_h_rejected++;
        n->inflight--;
        s_h_problem("%s's honest submit refused: %s (%s)", identity_id(n->me),
                    frame_reject_name(f->rejected.code), f->rejected.reason);
        break;
    case FRAME_DELIVER:
        s_h_deliver(k, f);
        break;
    default:
        break; /* receipts, roster pushes */
    }
}

/* Polls both honest nodes for up to ms, handling every frame. */
static void
s_h_poll(long ms) {
    zmq_pollitem_t it[2] = {{s_h[0].sock, 0, ZMQ_POLLIN, 0},
                            {s_h[1].sock, 0, ZMQ_POLLIN, 0}};
    if (zmq_poll(it, 2, ms) <= 0)
        return;
    for (int k = 0; k < 2; k++) {
        if (!(it[k].revents & ZMQ_POLLIN))
            continue;
        for (;;) {
            zmq_msg_t m;
            frame_t *f = NULL;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s_h[k].sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            if (frame_decode(zmq_msg_data(&m), zmq_msg_size(&m), &f, NULL) ==
                RK_OK)
                s_h_frame(k, f);
            else
                s_h_bad++;
            frame_destroy(&f);
            zmq_msg_close(&m);
        }
    }
}

/* Runs the honest exchange until `until` (monotonic ms) or, when stop_fn
 * says so, earlier. */
static void
s_h_run(uint64_t until, int (*stop_fn)(void)) {
    while (s_ms() < until && !(stop_fn && stop_fn())) {
        for (int k = 0; k < 2; k++)
            while (s_h_submitting && s_h[k].inflight < o.honest_window) {
                if (o.honest_rate) {
                    /* Paced: at most honest_rate a second, catching up
                     * at most a window's worth after a pause. */
                    uint64_t now = s_us(),
                             gap = 1000000u / (uint64_t)o.honest_rate,
                             floor = now - gap * (uint64_t)o.honest_window;
                    if (s_h[k].next_us < floor)
                        s_h[k].next_us = floor;
                    if (s_h[k].next_us > now)
                        break;
                    s_h[k].next_us += gap;
                }
                s_h_send(k);
            }
        s_h_poll(10);
        if (s_h_submitting && s_ms() - s_h_last_progress > s_h_max_gap)
            s_h_max_gap = s_ms() - s_h_last_progress;
    }
}

static long
s_h_count(uint64_t from, uint64_t to, int delivered) {
    long n = 0;
    for (long i = 0; i < s_hn; i++) {
        uint64_t t = delivered ? s_hm[i].t_delivered : s_hm[i].t_stored;
        n += t && t >= from && t < to;
    }
    return n;
}

static int
s_cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Latency percentiles (ms) of the honest messages sent in [from, to):
 * submit -> stored, or submit -> delivered to (opened by) the partner. */
typedef struct {
    long n;
    double p50, p99, max;
} lat_t;

static lat_t
s_h_latency(uint64_t from, uint64_t to, int delivered) {
    lat_t l = {0, 0, 0, 0};
    uint32_t *v = malloc(((size_t)s_hn + 1) * sizeof *v);
    if (!v)
        s_die("out of memory");
    for (long i = 0; i < s_hn; i++) {
        uint32_t x = delivered ? s_hm[i].us_delivered : s_hm[i].us_stored;
        if (x && s_hm[i].t_sent >= from && s_hm[i].t_sent < to)
            v[l.n++] = x - 1;
    }
    if (l.n) {
        qsort(v, (size_t)l.n, sizeof *v, s_cmp_u32);
        l.p50 = v[(l.n - 1) / 2] / 1000.0;
        l.p99 = v[(long)((double)(l.n - 1) * 0.99)] / 1000.0;
        l.max = v[l.n - 1] / 1000.0;
    }
    free(v);
    return l;
}

/* ---- main ---- */

static worker_t *s_w;
static size_t s_nw;

static int
s_all_finished(void) {
    for (size_t i = 0; i < s_nw; i++)
        if (!atomic_load(&s_w[i].finished))
            return 0;
    return 1;
}

static int
s_all_delivered(void) {
    return s_h_delivered + s_h_rejected >= s_hn;
}

static int
s_selected(const char *name) {
    const char *p = o.attacks;
    size_t n = strlen(name);
    if (!p)
        return 1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, name, n) == 0)
            return 1;
        p += l + (e ? 1 : 0);
    }
    return 0;
}

static void
s_check_attack_names(void) {
    const char *p = o.attacks;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        int found = 0;
        for (size_t i = 0; i < S_N_ATTACKS; i++)
            found |= strlen(s_attacks[i].name) == l &&
                     strncmp(s_attacks[i].name, p, l) == 0;
        if (!found) {
            fprintf(stderr,
                    "hostile: --attacks: unknown attack \"%.*s\" (--list "
                    "prints them)\n",
                    (int)l, p);
            exit(2);
        }
        p += l + (e ? 1 : 0);
    }
}

static void
s_seen_text(const worker_t *w, char *out, size_t cap) {
    size_t off = 0;
    out[0] = 0;
    for (size_t i = 0; i < w->n_seen && off < cap; i++)
        off += (size_t)snprintf(out + off, cap - off, "%s%s x%ld",
                                i ? ", " : "", w->seen[i].tok, w->seen[i].n);
}

static void
s_json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

static long
s_num(const char *name, const char *v, long lo, long hi) {
    char *end;
    long n;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || *end || !*v || n < lo || n > hi) {
        fprintf(stderr, "hostile: --%s %s: not a number from %ld to %ld\n",
                name, v, lo, hi);
        exit(2);
    }
    return n;
}

int
main(int argc, char **argv) {
    static const struct option lo[] = {{"keys", 1, 0, 'k'},
                                       {"roster", 1, 0, 'r'},
                                       {"coordinator", 1, 0, 'c'},
                                       {"relay", 1, 0, 'R'},
                                       {"relay-pub", 1, 0, 'P'},
                                       {"seconds", 1, 0, 'd'},
                                       {"count", 1, 0, 'n'},
                                       {"baseline", 1, 0, 'b'},
                                       {"attacks", 1, 0, 'a'},
                                       {"handshake-ms", 1, 0, 'H'},
                                       {"max-msg-size", 1, 0, 'M'},
                                       {"answer-ms", 1, 0, 'A'},
                                       {"stall-ms", 1, 0, 'S'},
                                       {"honest-window", 1, 0, 'w'},
                                       {"flood-window", 1, 0, 'f'},
                                       {"stall-conns", 1, 0, 'C'},
                                       {"pace-ms", 1, 0, 'p'},
                                       {"relay-pid", 1, 0, 'i'},
                                       {"honest-rate", 1, 0, 'q'},
                                       {"honest-a", 1, 0, '1'},
                                       {"honest-b", 1, 0, '2'},
                                       {"attacker", 1, 0, '3'},
                                       {"flooder", 1, 0, '4'},
                                       {"revoked", 1, 0, '5'},
                                       {"sink", 1, 0, '6'},
                                       {"unknown", 1, 0, '7'},
                                       {"list", 0, 0, 'l'},
                                       {"help", 0, 0, 'h'},
                                       {0, 0, 0, 0}};
    note_verifier_t v;
    const roster_keyset_t *ks = NULL;
    char err[512];
    uint64_t t_base0, t_att0, t_att1, t_drain1, deadline;
    long base_deliv, att_deliv, base_stored, att_stored, lost = 0, unanswered;
    double cpu_r[3], cpu_t[3];
    lat_t ls[2], ld[2];
    double base_s, att_s, base_rate, att_rate;
    int c, ok = 1;

    o.seconds = 20;
    o.baseline = 5;
    o.handshake_ms = 5000;
    o.max_msg_size = FRAME_MAX_BYTES + 64 * 1024;
    o.answer_ms = 5000;
    o.stall_ms = 5000;
    o.honest_window = 4;
    o.flood_window = 256;
    o.stall_conns = 16;
    o.honest_a = "jp.nisc";
    o.honest_b = "us.cisa";
    o.attacker = "mallory.x";
    o.flooder = "flood.x";
    o.revoked = "revoked.x";
    o.sink = "sink.x";
    o.unknown = "nobody.x";
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
        case 'd':
            o.seconds = s_num("seconds", optarg, 1, 86400);
            break;
        case 'n':
            o.count = s_num("count", optarg, 0, 100000000);
            break;
        case 'b':
            o.baseline = s_num("baseline", optarg, 1, 3600);
            break;
        case 'a':
            o.attacks = optarg;
            break;
        case 'H':
            o.handshake_ms = s_num("handshake-ms", optarg, 100, 600000);
            break;
        case 'M':
            o.max_msg_size =
                s_num("max-msg-size", optarg, 1024, 64 * 1024 * 1024);
            break;
        case 'A':
            o.answer_ms = s_num("answer-ms", optarg, 100, 600000);
            break;
        case 'S':
            o.stall_ms = s_num("stall-ms", optarg, 100, 600000);
            break;
        case 'w':
            o.honest_window = s_num("honest-window", optarg, 1, 1024);
            break;
        case 'f':
            o.flood_window = s_num("flood-window", optarg, 1, 100000);
            break;
        case 'C':
            o.stall_conns = s_num("stall-conns", optarg, 1, S_MAX_STALL_CONNS);
            break;
        case 'q':
            o.honest_rate = s_num("honest-rate", optarg, 0, 1000000);
            break;
        case 'i':
            o.relay_pid = s_num("relay-pid", optarg, 1, 1L << 30);
            break;
        case 'p':
            o.pace_ms = s_num("pace-ms", optarg, 0, 60000);
            break;
        case '1':
            o.honest_a = optarg;
            break;
        case '2':
            o.honest_b = optarg;
            break;
        case '3':
            o.attacker = optarg;
            break;
        case '4':
            o.flooder = optarg;
            break;
        case '5':
            o.revoked = optarg;
            break;
        case '6':
            o.sink = optarg;
            break;
        case '7':
            o.unknown = optarg;
            break;
        case 'l':
            for (size_t i = 0; i < S_N_ATTACKS; i++)
                printf("%-18s %s\n", s_attacks[i].name, s_attacks[i].what);
            return 0;
        case 'h':
            printf("usage: see the comment at the top of "
                   "tests/hostile/hostile.c\n");
            return 0;
        default:
            return 2;
        }
    }
    if (optind != argc || !o.keys || !o.roster || !o.coordinator || !o.relay ||
        !o.relay_pub) {
        fprintf(stderr, "hostile: need --keys --roster --coordinator --relay "
                        "--relay-pub (see --help)\n");
        return 2;
    }
    s_check_attack_names();
    if (sodium_init() < 0)
        s_die("libsodium failed to initialise");
    if (unlock_verifier(o.coordinator, &v, err, sizeof err) != RK_OK)
        s_die("--coordinator %s", err);
    if (roster_load_signed(o.roster, &v, 0, &s_roster, err, sizeof err) !=
        RK_OK)
        s_die("--roster %s", err);
    if (identity_public_load(o.relay_pub, &s_relay, err, sizeof err) != RK_OK)
        s_die("--relay-pub %s", err);
    s_a = s_load_identity(o.honest_a);
    s_b = s_load_identity(o.honest_b);
    s_mallory = s_load_identity(o.attacker);
    s_flooder = s_load_identity(o.flooder);
    s_revoked = s_load_identity(o.revoked);
    if (roster_usable_keys(s_roster, o.sink, NULL, rk_now_ms(), &ks) != RK_OK)
        s_die("--sink %s: not a usable node of the roster", o.sink);
    s_sink_pk = ks->enc_pk;
    if (roster_find(s_roster, o.unknown))
        s_die("--unknown %s: that node is in the roster", o.unknown);
    {
        const roster_node_t *rn = roster_find(s_roster, o.revoked);
        if (!rn || rn->status != ROSTER_REVOKED)
            s_die("--revoked %s: not a revoked node of the roster", o.revoked);
    }
    s_stop_cv_init();
    {
        /* Stalled handshakes hold descriptors: take all the system gives
         * (a soft limit of 1024 is common), so the run measures the relay,
         * not this process's limit. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    s_ctx = zmq_ctx_new();
    if (!s_ctx || zmq_ctx_set(s_ctx, ZMQ_MAX_SOCKETS, 8192) != 0)
        s_die("zmq context: %s", zmq_strerror(errno));
    randombytes_buf(s_hnonce, sizeof s_hnonce);

    /* The honest pair connects and says hello. */
    s_h[0].me = s_a;
    s_h[1].me = s_b;
    for (int k = 0; k < 2; k++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        s_h[k].sock = s_dealer_as(s_h[k].me, NULL);
        if (frame_encode_hello(roster_serial(s_roster), 64, &buf, &len) !=
                RK_OK ||
            zmq_send(s_h[k].sock, buf, len, 0) < 0)
            s_die("honest hello failed");
        free(buf);
    }
    deadline = s_ms() + 10000;
    while (!(s_h[0].welcomed && s_h[1].welcomed) && s_ms() < deadline)
        s_h_poll(20);
    if (!(s_h[0].welcomed && s_h[1].welcomed))
        s_die("the honest nodes got no welcome within 10 s (relay down, or "
              "their keys not in the roster)");

    /* Baseline: honest traffic alone. */
    s_h_submitting = 1;
    cpu_r[0] = s_cpu_pid(o.relay_pid);
    cpu_t[0] = s_cpu_self();
    t_base0 = s_h_last_progress = s_ms();
    s_h_run(t_base0 + (uint64_t)o.baseline * 1000, NULL);

    /* The attack, honest traffic going on. */
    s_w = calloc(S_N_ATTACKS, sizeof *s_w);
    if (!s_w)
        s_die("out of memory");
    cpu_r[1] = s_cpu_pid(o.relay_pid);
    cpu_t[1] = s_cpu_self();
    t_att0 = s_ms();
    for (size_t i = 0; i < S_N_ATTACKS; i++) {
        if (!s_selected(s_attacks[i].name))
            continue;
        s_w[s_nw].a = &s_attacks[i];
        if (pthread_create(&s_w[s_nw].thread, NULL, s_worker, &s_w[s_nw]) != 0)
            s_die("pthread_create");
        s_nw++;
    }
    s_h_run(t_att0 + (uint64_t)o.seconds * 1000, s_all_finished);
    t_att1 = s_ms();
    cpu_r[2] = s_cpu_pid(o.relay_pid);
    cpu_t[2] = s_cpu_self();
    s_set_stop();

    /* Drain: no new honest submits; every stored one must arrive. The
     * attack threads finish their last attempt meanwhile. */
    s_h_submitting = 0;
    s_h_run(s_ms() + (uint64_t)o.answer_ms + (uint64_t)o.stall_ms,
            s_all_delivered);
    while (!s_all_finished())
        s_h_poll(10);
    t_drain1 = s_ms();
    for (size_t i = 0; i < s_nw; i++)
        pthread_join(s_w[i].thread, NULL);
    for (long i = 0; i < s_hn; i++)
        lost += s_hm[i].t_stored && !s_hm[i].t_delivered;

    base_s = (double)(t_att0 - t_base0) / 1000.0;
    att_s = (double)(t_att1 - t_att0) / 1000.0;
    base_deliv = s_h_count(t_base0, t_att0, 1);
    att_deliv = s_h_count(t_att0, t_att1, 1);
    base_stored = s_h_count(t_base0, t_att0, 0);
    att_stored = s_h_count(t_att0, t_att1, 0);
    base_rate = base_s > 0 ? (double)base_deliv / base_s : 0;
    att_rate = att_s > 0 ? (double)att_deliv / att_s : 0;
    ls[0] = s_h_latency(t_base0, t_att0, 0);
    ls[1] = s_h_latency(t_att0, t_att1, 0);
    ld[0] = s_h_latency(t_base0, t_att0, 1);
    ld[1] = s_h_latency(t_att0, t_att1, 1);

    /* The table. */
    printf("%-18s %-42s %8s  %-34s %s\n", "attack", "what", "attempts",
           "answers seen", "result");
    for (size_t i = 0; i < s_nw; i++) {
        worker_t *w = &s_w[i];
        char seen[600];
        int pass = w->checked > 0 && w->unexpected == 0;
        s_seen_text(w, seen, sizeof seen);
        printf("%-18s %-42s %8ld  %-34s %s", w->a->name, w->a->what,
               w->attempts, seen, pass ? "pass" : "FAIL");
        if (w->t_max)
            printf(" (answered in %llu..%llu ms)", (unsigned long long)w->t_min,
                   (unsigned long long)w->t_max);
        if (!w->checked)
            printf(" (never got an answer that checks the attack)");
        if (w->first_unexpected[0])
            printf(" (first unexpected: %s)", w->first_unexpected);
        printf("\n");
        ok &= pass;
    }
    printf("honest %s <-> %s: baseline %.1f s: %ld delivered (%.1f msg/s); "
           "under attack %.1f s: %ld delivered (%.1f msg/s, %.0f%% of "
           "baseline); stored %ld, delivered %ld, lost %ld, refused %ld, "
           "foreign %ld, bad %ld, redelivered %ld, longest pause %llu ms\n",
           o.honest_a, o.honest_b, base_s, base_deliv, base_rate, att_s,
           att_deliv, att_rate,
           base_rate > 0 ? 100.0 * att_rate / base_rate : 0, s_h_stored,
           s_h_delivered, lost, s_h_rejected, s_h_foreign, s_h_bad, s_h_dups,
           (unsigned long long)s_h_max_gap);
    printf("honest latency submit -> delivered, p50 / p99 / max: baseline "
           "%.1f / %.1f / %.1f ms; under attack %.1f / %.1f / %.1f ms\n",
           ld[0].p50, ld[0].p99, ld[0].max, ld[1].p50, ld[1].p99, ld[1].max);
    if (cpu_r[0] >= 0 && cpu_r[2] >= 0)
        printf("CPU (cores): relay %.2f baseline, %.2f under attack; this tool "
               "%.2f under attack\n",
               (cpu_r[1] - cpu_r[0]) / base_s, (cpu_r[2] - cpu_r[1]) / att_s,
               (cpu_t[2] - cpu_t[1]) / att_s);
    for (size_t i = 0; i < s_nw; i++)
        if (s_w[i].a->once == att_flood && s_w[i].t_end > s_w[i].t_start)
            printf("flood %s: %ld stored in %.1f s (%.1f msg/s), %ld "
                   "deliveries back, each confirmed (redeliveries "
                   "included); %ld answers never came and were resubmitted "
                   "(%ld first answers came late)\n",
                   o.flooder, s_w[i].flood_stored,
                   (double)(s_w[i].t_end - s_w[i].t_start) / 1000.0,
                   (double)s_w[i].flood_stored * 1000.0 /
                       (double)(s_w[i].t_end - s_w[i].t_start),
                   s_w[i].flood_delivered, s_w[i].flood_resubmits,
                   s_w[i].flood_late);
    unanswered = s_hn - s_h_stored - s_h_rejected;
    if (unanswered > 0)
        s_h_problem("%ld honest submits never answered", unanswered);
    if (lost || unanswered || s_h_rejected || s_h_foreign || s_h_bad) {
        ok = 0;
        printf("FAIL: honest traffic: %s\n",
               s_h_first_problem[0] ? s_h_first_problem
                                    : "stored messages never delivered");
    }
    if (s_h_max_gap > (uint64_t)o.stall_ms) {
        ok = 0;
        printf("FAIL: honest traffic stalled for %llu ms (bound %ld ms)\n",
               (unsigned long long)s_h_max_gap, o.stall_ms);
    }
    if (!base_deliv || !att_deliv) {
        ok = 0;
        printf("FAIL: no honest message delivered %s\n",
               !base_deliv ? "in the baseline" : "during the attack");
    }

    /* One JSON line. */
    printf("{\"hostile\":{\"ok\":%s,\"seconds\":%.1f,\"attacks\":{",
           ok ? "true" : "false", att_s);
    for (size_t i = 0; i < s_nw; i++) {
        worker_t *w = &s_w[i];
        printf("%s\"%s\":{\"what\":", i ? "," : "", w->a->name);
        s_json_str(w->a->what);
        printf(",\"expected\":[");
        for (int k = 0; w->a->expected[k]; k++)
            printf("%s\"%s\"", k ? "," : "", w->a->expected[k]);
        printf("],\"attempts\":%ld,\"checked\":%ld,\"unexpected\":%ld,"
               "\"seen\":{",
               w->attempts, w->checked, w->unexpected);
        for (size_t k = 0; k < w->n_seen; k++)
            printf("%s\"%s\":%ld", k ? "," : "", w->seen[k].tok, w->seen[k].n);
        printf("},\"answer_ms_min\":%llu,\"answer_ms_max\":%llu,"
               "\"auth_refused\":%ld",
               (unsigned long long)w->t_min, (unsigned long long)w->t_max,
               w->auth_refused);
        if (w->first_unexpected[0]) {
            printf(",\"first_unexpected\":");
            s_json_str(w->first_unexpected);
        }
        if (w->a->once == att_flood && w->t_end > w->t_start)
            printf(",\"stored\":%ld,\"rate\":%.1f,\"delivered\":%ld,"
                   "\"resubmitted\":%ld,\"late_answers\":%ld",
                   w->flood_stored,
                   (double)w->flood_stored * 1000.0 /
                       (double)(w->t_end - w->t_start),
                   w->flood_delivered, w->flood_resubmits, w->flood_late);
        printf("}");
    }
    printf("},\"honest\":{\"baseline_s\":%.1f,\"baseline_delivered\":%ld,"
           "\"baseline_stored\":%ld,\"baseline_rate\":%.1f,\"attack_s\":%.1f,"
           "\"attack_delivered\":%ld,\"attack_stored\":%ld,"
           "\"attack_rate\":%.1f,\"ratio\":%.3f,\"sent\":%ld,\"stored\":%ld,"
           "\"delivered\":%ld,\"lost\":%ld,\"unanswered\":%ld,\"refused\":%ld,"
           "\"foreign\":%ld,"
           "\"bad\":%ld,\"redelivered\":%ld,\"max_pause_ms\":%llu,"
           "\"drain_s\":%.1f,",
           base_s, base_deliv, base_stored, base_rate, att_s, att_deliv,
           att_stored, att_rate, base_rate > 0 ? att_rate / base_rate : 0, s_hn,
           s_h_stored, s_h_delivered, lost, unanswered, s_h_rejected,
           s_h_foreign, s_h_bad, s_h_dups, (unsigned long long)s_h_max_gap,
           (double)(t_drain1 - t_att1) / 1000.0);
    for (int k = 0; k < 2; k++)
        printf("\"%s_stored_p50_ms\":%.3f,\"%s_stored_p99_ms\":%.3f,"
               "\"%s_delivered_p50_ms\":%.3f,\"%s_delivered_p99_ms\":%.3f,"
               "\"%s_delivered_max_ms\":%.3f,",
               k ? "attack" : "baseline", ls[k].p50, k ? "attack" : "baseline",
               ls[k].p99, k ? "attack" : "baseline", ld[k].p50,
               k ? "attack" : "baseline", ld[k].p99, k ? "attack" : "baseline",
               ld[k].max);
    printf("\"relay_cores_baseline\":%.2f,\"relay_cores_attack\":%.2f,"
           "\"tool_cores_attack\":%.2f}}}\n",
           cpu_r[0] >= 0 ? (cpu_r[1] - cpu_r[0]) / base_s : -1,
           cpu_r[0] >= 0 ? (cpu_r[2] - cpu_r[1]) / att_s : -1,
           (cpu_t[2] - cpu_t[1]) / att_s);
    fflush(stdout);

    for (int k = 0; k < 2; k++)
        s_close(&s_h[k].sock);
    zmq_ctx_term(s_ctx);
    free(s_w);
    free(s_hm);
    identity_destroy(&s_a);
    identity_destroy(&s_b);
    identity_destroy(&s_mallory);
    identity_destroy(&s_flooder);
    identity_destroy(&s_revoked);
    roster_destroy(&s_roster);
    return ok ? 0 : 1;
}

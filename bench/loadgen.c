/* loadgen: load generator and bench recipients for renraku-relay.
 *
 * Pre-builds signed, sealed envelopes (1 KiB payload by default) before the
 * timed part, each with a fresh msg id that encodes its sequence number,
 * connects sender and recipient nodes with CURVE (their keys from a key
 * folder), submits at full speed (a window of submits in flight per sender)
 * or at an offered rate (open loop: latency counts from the scheduled send
 * time, so a stalled relay cannot hide its queueing), counts `stored`
 * answers, and measures submit -> stored and submit -> delivered latency
 * with CLOCK_MONOTONIC. Bench recipients confirm every deliver at once
 * without verifying or opening it (they decode the envelope only to read
 * the msg id the confirm must name). One JSON line of results on stdout.
 * With --inbox, a real node (renrakud) is the recipient instead: loadgen
 * watches its inbox folder (inotify) and measures submit -> in the inbox.
 *
 *   loadgen COMMON [--mode load|fanout|probe] [options]
 *   COMMON: --keys DIR --roster R.signed --coordinator C.pub --relay EP
 *           --relay-pub RELAY.pub
 *   load:   --senders N (nodes snd.00..) --recipients M (nodes rcv.000..,
 *           connected; 0: address --to ID, which stays offline)
 *           --count N --rate R (msg/s; 0 = full speed) --window W
 *           --payload BYTES --relay-pid PID (relay CPU during the run)
 *           --notice: the payload is a valid notice (renraku.Payload) of
 *           BYTES encoded, which a node opens and keeps, not random bytes
 *           --inbox DIR: the inbox folder of the node --to names (renrakud
 *           --state DIR/..): the time its record appears there, renamed
 *           into place after the node verified and opened it and made it
 *           durable (its journal); the run ends when all are there
 *   fanout: --recipients M --alerts K: one sender, K alerts one after the
 *           other, each to all M recipients; time until the last has it
 *   probe:  --ep-file F: wait for the file, connect, hello, welcome; exit
 *   --timeout-ms N bounds the whole run (default 120000).
 *   --proto fwd: the same load against bench/fwd (the bare CurveZMQ
 *           forwarder, the transport limit) instead of the relay: the same
 *           pre-built submit frames, each behind an 11-byte header, the
 *           same connections, window and counting (see fwd.c's wire).
 * Exit 0 when every submit was stored (and, with recipients, delivered),
 * 1 otherwise (the JSON says what), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "envelope.h"
#include "frame.h"
#include "identity.h"
#include "note.h"
#include "payload.h"
#include "rk_util.h"
#include "roster.h"
#include "unlock.h"

#define MAX_CONNS 4096

typedef struct {
    const char *keys, *roster, *coordinator, *relay, *relay_pub, *mode;
    const char *to, *ep_file, *proto, *inbox;
    int notice;
    long senders, recipients, count, rate, window, payload, alerts;
    long timeout_ms, relay_pid, credit;
} opts_t;

typedef struct {
    char id[64];
    identity_t *me;
    void *sock;
    int welcomed;
    long inflight;
    const uint8_t *sign_key_id;
} conn_t;

typedef struct {
    uint8_t *frame; /* submit frame, ready to send */
    size_t len;
    int sender; /* index into senders */
    uint64_t t_sched_ns, t_sent_ns;
    uint32_t stored_us, delivered_us; /* 0: not yet (stored as us + 1) */
    uint32_t inbox_us;                /* --inbox: in the node's inbox */
    uint32_t n_delivered;             /* fan-out: recipients that have it */
    uint64_t t_last_deliver_ns, t_last_receipt_ns;
    uint32_t n_receipts;
} msg_t;

static opts_t o;
static roster_t *s_roster;
static void *s_ctx;
static conn_t *s_snd, *s_rcv;
static msg_t *s_msgs;
static long s_n_msgs;
static uint8_t s_nonce[8];
static identity_public_t s_relay;
static long s_stored, s_rejected, s_delivered, s_dup_deliveries, s_receipts;
static long s_in_inbox;
static uint64_t s_last_inbox_ns; /* when the newest record appeared */
static int s_inotify = -1;       /* --inbox: the last poll item */
static char s_first_reject[300];

static void s_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void
s_die(const char *fmt, ...) {
    va_list ap;
    fputs("loadgen: ", stderr);
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

/* ---- set-up ---- */

static void
s_load_conn(conn_t *c, const char *id) {
    char path[4096], err[512];
    const roster_keyset_t *ks = NULL;
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(path, sizeof path, "%s/%s.key", o.keys, id);
    if (unlock_identity(path, NULL, &c->me, NULL, 0, err, sizeof err) != RK_OK)
        s_die("%s", err);
    if (roster_usable_keys(s_roster, id, NULL, rk_now_ms(), &ks) != RK_OK)
        s_die("%s is not usable in the roster", id);
    c->sign_key_id = ks->sign_key_id;
}

static void
s_connect(conn_t *c, long credit) {
    int linger = 0, hwm = 100000;
    uint8_t *buf = NULL;
    size_t len = 0;
    c->sock = zmq_socket(s_ctx, ZMQ_DEALER);
    if (!c->sock ||
        zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, s_relay.transport_pk,
                       32) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY,
                       identity_public(c->me)->transport_pk, 32) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY,
                       identity_transport_sk(c->me), 32) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0)
        s_die("socket set-up: %s", zmq_strerror(errno));
    if (zmq_connect(c->sock, o.relay) != 0)
        s_die("connect %s: %s", o.relay, zmq_strerror(errno));
    if (!strcmp(o.proto, "fwd")) {
        /* The forwarder's hello names the role (and the recipient's
         * number); recipients are s_rcv. */
        int is_rcv = c >= s_rcv && c < s_rcv + o.recipients;
        long k = is_rcv ? c - s_rcv : 0;
        char hello[4] = {'H', is_rcv ? 'r' : 's', (char)(k >> 8), (char)k};
        if (zmq_send(c->sock, hello, is_rcv ? 4 : 2, 0) < 0)
            s_die("hello failed");
        return;
    }
    if (frame_encode_hello(roster_serial(s_roster), (uint32_t)credit, &buf,
                           &len) != RK_OK ||
        zmq_send(c->sock, buf, len, 0) < 0)
        s_die("hello failed");
    free(buf);
}

/* Seals messages [from, to) of the pool. */
typedef struct {
    long from, to;
    const uint8_t *payload;
} build_job_t;

static void *
s_build(void *arg) {
    build_job_t *j = arg;
    envelope_recipient_t *r =
        calloc((size_t)(o.recipients ? o.recipients : 1), sizeof *r);
    if (!r)
        s_die("out of memory");
    for (long i = j->from; i < j->to; i++) {
        msg_t *m = &s_msgs[i];
        conn_t *s = &s_snd[m->sender];
        envelope_params_t p;
        uint8_t id[16], *env = NULL;
        size_t env_len = 0, n_r = 0;
        const roster_keyset_t *ks = NULL;
        memcpy(id, s_nonce, 8);
        for (int b = 0; b < 8; b++)
            id[8 + b] = (uint8_t)((uint64_t)i >> (56 - 8 * b));
        if (!strcmp(o.mode, "fanout")) {
            for (long k = 0; k < o.recipients; k++) {
                r[k].id = s_rcv[k].id;
                r[k].enc_pk = identity_public(s_rcv[k].me)->enc_pk;
            }
            n_r = (size_t)o.recipients;
        } else if (o.recipients > 0) {
            conn_t *rc = &s_rcv[i % o.recipients];
            r[0].id = rc->id;
            r[0].enc_pk = identity_public(rc->me)->enc_pk;
            n_r = 1;
        } else {
            if (roster_usable_keys(s_roster, o.to, NULL, rk_now_ms(), &ks) !=
                RK_OK)
                s_die("--to %s is not usable in the roster", o.to);
            r[0].id = o.to;
            r[0].enc_pk = ks->enc_pk;
            n_r = 1;
        }
        memset(&p, 0, sizeof p);
        p.sender = s->id;
        p.sign_sk = identity_sign_sk(s->me);
        p.sign_key_id = s->sign_key_id;
        p.kind = !strcmp(o.mode, "fanout") ? ENVELOPE_KIND_ALERT
                                           : ENVELOPE_KIND_NOTICE;
        p.created_ms = rk_now_ms();
        p.msg_id = id;
        if (envelope_seal(&p, r, n_r, j->payload, (size_t)o.payload, &env,
                          &env_len, NULL) != RK_OK ||
            frame_encode_submit(env, env_len, &m->frame, &m->len) != RK_OK)
            s_die("cannot seal message %ld", i);
        free(env);
    }
    free(r);
    return NULL;
}

/* --notice: a notice whose encoded payload is o.payload bytes, padded by
 * its description. */
static uint8_t *
s_notice_payload(void) {
    payload_t p;
    uint8_t *out = NULL;
    size_t len = 0;
    long pad = 1; /* an empty description is not valid */
    const char *why = NULL;
    char *text = malloc((size_t)o.payload + 1);
    if (!text)
        s_die("out of memory");
    memset(&p, 0, sizeof p);
    p.kind = PAYLOAD_NOTICE;
    p.notice.incident_id = "BENCH-0001";
    p.notice.title = "renraku bench notice";
    p.notice.tlp = PAYLOAD_TLP_CLEAR;
    p.notice.description = text;
    /* The description's length prefix can grow with it: a few tries. */
    for (int t = 0; t < 3; t++) {
        memset(text, 'x', (size_t)pad);
        text[pad] = 0;
        free(out);
        out = NULL;
        if (payload_encode(&p, &out, &len, &why) != RK_OK)
            s_die("--notice: %s", why ? why : "cannot encode");
        if (len == (size_t)o.payload)
            break;
        pad += o.payload - (long)len;
        if (pad < 1)
            s_die("--payload %ld is smaller than an empty notice (%zu)",
                  o.payload, len);
    }
    if (len != (size_t)o.payload)
        s_die("--notice: cannot make a payload of %ld bytes", o.payload);
    free(text);
    return out;
}

static void
s_prebuild(void) {
    pthread_t t[8];
    build_job_t j[8];
    long nt = sysconf(_SC_NPROCESSORS_ONLN);
    uint8_t *payload =
        o.notice ? s_notice_payload() : malloc((size_t)o.payload);
    if (!payload)
        s_die("out of memory");
    if (!o.notice)
        randombytes_buf(payload, (size_t)o.payload);
    if (nt < 1)
        nt = 1;
    if (nt > 8)
        nt = 8;
    for (long k = 0; k < nt; k++) {
        j[k].from = s_n_msgs * k / nt;
        j[k].to = s_n_msgs * (k + 1) / nt;
        j[k].payload = payload;
        if (pthread_create(&t[k], NULL, s_build, &j[k]) != 0)
            s_die("pthread_create");
    }
    for (long k = 0; k < nt; k++)
        pthread_join(t[k], NULL);
    free(payload);
}

/* ---- the event loop ---- */

static long
s_seq_of(const uint8_t id[16]) {
    uint64_t v = 0;
    if (memcmp(id, s_nonce, 8) != 0)
        return -1;
    for (int b = 0; b < 8; b++)
        v = (v << 8) | id[8 + b];
    return v < (uint64_t)s_n_msgs ? (long)v : -1;
}

static uint32_t
s_us(uint64_t from, uint64_t to) {
    uint64_t d = to > from ? (to - from) / 1000 : 0;
    return d >= UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)d + 1;
}

static void
s_on_sender_frame(conn_t *c, frame_t *f, uint64_t now) {
    long seq;
    switch (f->type) {
    case FRAME_WELCOME:
        c->welcomed = 1;
        break;
    case FRAME_STORED:
        seq = s_seq_of(f->stored.msg_id);
        if (seq >= 0 && !s_msgs[seq].stored_us) {
            s_msgs[seq].stored_us = s_us(s_msgs[seq].t_sched_ns, now);
            s_stored++;
            c->inflight--;
        }
        break;
    case FRAME_REJECTED:
        s_rejected++;
        c->inflight--;
        if (!s_first_reject[0])
            snprintf(s_first_reject, sizeof s_first_reject, "%s: %s",
                     frame_reject_name(f->rejected.code), f->rejected.reason);
        break;
    case FRAME_RECEIPT:
        seq = s_seq_of(f->receipt.msg_id);
        s_receipts++;
        if (seq >= 0) {
            s_msgs[seq].n_receipts++;
            s_msgs[seq].t_last_receipt_ns = now;
        }
        break;
    default:
        break;
    }
}

static void
s_on_recipient_frame(conn_t *c, frame_t *f, uint64_t now) {
    envelope_t *env = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    long seq;
    if (f->type == FRAME_WELCOME) {
        c->welcomed = 1;
        return;
    }
    if (f->type != FRAME_DELIVER)
        return;
    if (envelope_decode(f->deliver.envelope, f->deliver.envelope_len, &env,
                        NULL) != RK_OK)
        s_die("a deliver does not decode");
    /* Confirm at once: no verify, no open, no disk. */
    if (frame_encode_confirm(f->deliver.index, envelope_header(env)->msg_id,
                             &buf, &len) == RK_OK)
        zmq_send(c->sock, buf, len, 0);
    free(buf);
    seq = s_seq_of(envelope_header(env)->msg_id);
    if (seq >= 0) {
        msg_t *m = &s_msgs[seq];
        uint32_t per_msg =
            !strcmp(o.mode, "fanout") ? (uint32_t)o.recipients : 1;
        if (m->n_delivered < per_msg) {
            m->n_delivered++;
            m->t_last_deliver_ns = now;
            if (!m->delivered_us)
                m->delivered_us = s_us(m->t_sched_ns, now);
            s_delivered++;
        } else
            s_dup_deliveries++;
    }
    envelope_destroy(&env);
}

/* ---- --proto fwd: the bare forwarder's wire (bench/fwd.c) ---- */

/* Puts 'S' seq(8) to(2) before each pre-built submit frame. */
static void
s_fwd_wrap(void) {
    for (long i = 0; i < s_n_msgs; i++) {
        msg_t *m = &s_msgs[i];
        uint8_t *f = malloc(m->len + 11);
        long to = o.recipients > 0 ? i % o.recipients : 0xffff;
        if (!f)
            s_die("out of memory");
        f[0] = 'S';
        for (int b = 0; b < 8; b++)
            f[1 + b] = (uint8_t)((uint64_t)i >> (56 - 8 * b));
        f[9] = (uint8_t)(to >> 8);
        f[10] = (uint8_t)to;
        memcpy(f + 11, m->frame, m->len);
        free(m->frame);
        m->frame = f;
        m->len += 11;
    }
}

static long
s_fwd_seq(const uint8_t *p) {
    uint64_t v = 0;
    for (int b = 0; b < 8; b++)
        v = (v << 8) | p[1 + b];
    return v < (uint64_t)s_n_msgs ? (long)v : -1;
}

/* One message from the forwarder. A recipient decodes the submit frame and
 * its envelope as the relay's bench recipients decode a deliver (the same
 * client work), then confirms at once. */
static void
s_fwd_on_frame(int is_sender, conn_t *c, const uint8_t *p, size_t len,
               uint64_t now) {
    long seq;
    if (len >= 1 && p[0] == 'W') {
        c->welcomed = 1;
        return;
    }
    if (len < 9 || (seq = s_fwd_seq(p)) < 0)
        return;
    if (is_sender && p[0] == 'A' && !s_msgs[seq].stored_us) {
        s_msgs[seq].stored_us = s_us(s_msgs[seq].t_sched_ns, now);
        s_stored++;
        c->inflight--;
    } else if (is_sender && p[0] == 'R') {
        s_receipts++;
        s_msgs[seq].n_receipts++;
        s_msgs[seq].t_last_receipt_ns = now;
    } else if (!is_sender && p[0] == 'D' && len > 11) {
        frame_t *f = NULL;
        envelope_t *env = NULL;
        uint8_t conf[11];
        msg_t *m = &s_msgs[seq];
        if (frame_decode(p + 11, len - 11, &f, NULL) != RK_OK ||
            f->type != FRAME_SUBMIT ||
            envelope_decode(f->submit.envelope, f->submit.envelope_len, &env,
                            NULL) != RK_OK ||
            s_seq_of(envelope_header(env)->msg_id) != seq)
            s_die("a forwarded message does not decode");
        memcpy(conf, p, 11);
        conf[0] = 'C';
        zmq_send(c->sock, conf, sizeof conf, 0);
        envelope_destroy(&env);
        frame_destroy(&f);
        if (m->n_delivered < 1) {
            m->n_delivered++;
            m->t_last_deliver_ns = now;
            m->delivered_us = s_us(m->t_sched_ns, now);
            s_delivered++;
        } else
            s_dup_deliveries++;
    }
}

/* --inbox: records that appeared in the node's inbox ("<msg id>.json",
 * linked into place once durable in the node's journal; IN_CREATE, or
 * IN_MOVED_TO where the node renames temporary files). */
static void
s_on_inbox(void) {
    char buf[64 * 1024]
        __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(s_inotify, buf, sizeof buf)) > 0) {
        uint64_t now = s_ns();
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            uint8_t id[16];
            char hex[33];
            long seq;
            p += sizeof *ev + ev->len;
            if (ev->len < 37 || strcmp(ev->name + 32, ".json") != 0)
                continue;
            memcpy(hex, ev->name, 32);
            hex[32] = 0;
            if (rk_unhex(id, sizeof id, hex) != RK_OK)
                continue;
            seq = s_seq_of(id);
            if (seq >= 0 && !s_msgs[seq].inbox_us) {
                s_msgs[seq].inbox_us = s_us(s_msgs[seq].t_sched_ns, now);
                s_in_inbox++;
                s_last_inbox_ns = now;
            }
        }
    }
}

/* Reads every frame waiting on every socket. */
static void
s_drain(zmq_pollitem_t *items, size_t n_items) {
    for (size_t i = 0; i < n_items; i++) {
        conn_t *c =
            i < (size_t)o.senders ? &s_snd[i] : &s_rcv[i - (size_t)o.senders];
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        if (!items[i].socket) {
            s_on_inbox();
            continue;
        }
        for (;;) {
            zmq_msg_t zm;
            frame_t *f = NULL;
            uint64_t now;
            zmq_msg_init(&zm);
            if (zmq_msg_recv(&zm, c->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&zm);
                break;
            }
            now = s_ns();
            if (!strcmp(o.proto, "fwd"))
                s_fwd_on_frame(i < (size_t)o.senders, c, zmq_msg_data(&zm),
                               zmq_msg_size(&zm), now);
            else if (frame_decode(zmq_msg_data(&zm), zmq_msg_size(&zm), &f,
                                  NULL) == RK_OK) {
                if (i < (size_t)o.senders)
                    s_on_sender_frame(c, f, now);
                else
                    s_on_recipient_frame(c, f, now);
                frame_destroy(&f);
            }
            zmq_msg_close(&zm);
        }
    }
}

static zmq_pollitem_t *s_items;
static size_t s_n_items;

static void
s_poll(long ms) {
    for (size_t i = 0; i < s_n_items; i++)
        s_items[i].revents = 0;
    if (zmq_poll(s_items, (int)s_n_items, ms) > 0)
        s_drain(s_items, s_n_items);
}

static void
s_await_welcomes(uint64_t deadline) {
    for (;;) {
        long missing = 0;
        for (long i = 0; i < o.senders; i++)
            missing += !s_snd[i].welcomed;
        for (long i = 0; i < o.recipients; i++)
            missing += !s_rcv[i].welcomed;
        if (!missing)
            return;
        if (s_ns() > deadline)
            s_die("%ld connections got no welcome (handshake refused or "
                  "relay down)",
                  missing);
        s_poll(20);
    }
}

static int
s_cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Percentiles in ms of the non-zero values (stored as us + 1). */
static void
s_pct(const char *name, uint32_t *v, long n, char *out, size_t cap) {
    long k = 0;
    for (long i = 0; i < n; i++)
        if (v[i])
            v[k++] = v[i] - 1;
    if (k == 0) {
        snprintf(out, cap, "\"%s_n\":0", name);
        return;
    }
    qsort(v, (size_t)k, sizeof *v, s_cmp_u32);
#define P(q) ((double)v[(long)((double)(k - 1) * (q))] / 1000.0)
    snprintf(out, cap,
             "\"%s_n\":%ld,\"%s_p50_ms\":%.3f,\"%s_p99_ms\":%.3f,"
             "\"%s_p999_ms\":%.3f,\"%s_max_ms\":%.3f",
             name, k, name, P(0.5), name, P(0.99), name, P(0.999), name,
             (double)v[k - 1] / 1000.0);
#undef P
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
    if (!fgets(buf, sizeof buf, fp)) {
        fclose(fp);
        return -1;
    }
    fclose(fp);
    p = strrchr(buf, ')');
    /* after ") ": state(3) ... utime is field 14, stime 15 */
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

/* ---- modes ---- */

static int
cmd_load(uint64_t deadline, double prebuild_s) {
    uint64_t t0, t_end = 0,
                 interval = o.rate > 0 ? 1000000000ull / (uint64_t)o.rate : 0;
    long next = 0, want_deliver = o.recipients > 0 ? s_n_msgs : 0;
    double cpu0 = o.relay_pid ? s_proc_cpu_s(o.relay_pid) : 0, cpu1, self0,
           elapsed;
    uint32_t *tmp = malloc((size_t)s_n_msgs * sizeof *tmp);
    char p_stored[400], p_deliv[400], p_inbox[400] = "\"inbox_n\":0";
    int ok;

    if (!tmp)
        s_die("out of memory");
    self0 = s_self_cpu_s();
    t0 = s_ns();
    for (long i = 0; i < s_n_msgs; i++)
        s_msgs[i].t_sched_ns = t0 + (uint64_t)i * interval;
    while (s_ns() < deadline) {
        uint64_t now = s_ns();
        long wait_ms = 10;
        /* Send what is due, within each sender's window. */
        while (next < s_n_msgs) {
            msg_t *m = &s_msgs[next];
            conn_t *c = &s_snd[m->sender];
            if (interval && m->t_sched_ns > now) {
                uint64_t d = (m->t_sched_ns - now) / 1000000;
                wait_ms = d < 10 ? (long)d : 10;
                break;
            }
            if (c->inflight >= o.window) {
                wait_ms = 10;
                break;
            }
            if (!interval)
                m->t_sched_ns = now;
            if (zmq_send(c->sock, m->frame, m->len, ZMQ_DONTWAIT) < 0) {
                if (errno == EAGAIN)
                    break;
                s_die("send: %s", zmq_strerror(errno));
            }
            m->t_sent_ns = now;
            c->inflight++;
            next++;
            if ((next & 63) == 0)
                now = s_ns();
        }
        if (s_stored + s_rejected >= s_n_msgs && s_delivered >= want_deliver &&
            (!o.inbox || s_in_inbox >= s_n_msgs)) {
            t_end = s_ns();
            break;
        }
        if (interval && next < s_n_msgs) {
            /* Offered rate: never spin. zmq_poll wakes at once for an
             * answer (so its time stamp is exact) but counts whole ms;
             * below 1 ms to the next send, sleep in slices of 200 us. */
            uint64_t due = s_msgs[next].t_sched_ns, t = s_ns();
            s_poll(0);
            if (due > t + 1000000)
                s_poll(wait_ms > 0 ? 1 : 0);
            else if (due > t) {
                uint64_t d = due - t < 200000 ? due - t : 200000;
                struct timespec ts = {0, (long)d};
                nanosleep(&ts, NULL);
            }
        } else
            s_poll(next < s_n_msgs ? 0 : 10);
        if (next < s_n_msgs && !interval) {
            /* Full speed: block briefly only when every window is full. */
            int all_full = 1;
            for (long i = 0; i < o.senders; i++)
                if (s_snd[i].inflight < o.window)
                    all_full = 0;
            if (all_full)
                s_poll(5);
        }
    }
    if (!t_end)
        t_end = s_ns();
    elapsed = (double)(t_end - t0) / 1e9;
    cpu1 = o.relay_pid ? s_proc_cpu_s(o.relay_pid) : 0;
    for (long i = 0; i < s_n_msgs; i++)
        tmp[i] = s_msgs[i].stored_us;
    s_pct("stored", tmp, s_n_msgs, p_stored, sizeof p_stored);
    for (long i = 0; i < s_n_msgs; i++)
        tmp[i] = s_msgs[i].delivered_us;
    s_pct("delivered", tmp, s_n_msgs, p_deliv, sizeof p_deliv);
    if (o.inbox) {
        for (long i = 0; i < s_n_msgs; i++)
            tmp[i] = s_msgs[i].inbox_us;
        s_pct("inbox", tmp, s_n_msgs, p_inbox, sizeof p_inbox);
        /* The node's pace: records into its inbox per second, from the
         * first send to the last record. */
        snprintf(p_inbox + strlen(p_inbox), sizeof p_inbox - strlen(p_inbox),
                 ",\"in_inbox\":%ld,\"inbox_rate\":%.1f", s_in_inbox,
                 s_last_inbox_ns > t0
                     ? (double)s_in_inbox * 1e9 / (double)(s_last_inbox_ns - t0)
                     : 0.0);
    }
    free(tmp);
    ok = s_stored == s_n_msgs && s_delivered >= want_deliver &&
         (!o.inbox || s_in_inbox == s_n_msgs);
    printf("{\"mode\":\"load\",\"ok\":%s,\"senders\":%ld,\"recipients\":%ld,"
           "\"payload\":%ld,\"envelope_bytes\":%zu,\"offered_rate\":%ld,"
           "\"window\":%ld,\"count\":%ld,\"sent\":%ld,\"stored\":%ld,"
           "\"rejected\":%ld,\"delivered\":%ld,\"dup_deliveries\":%ld,"
           "\"elapsed_s\":%.3f,\"rate\":%.1f,%s,%s,%s,\"prebuild_s\":%.2f,"
           "\"relay_cpu_s\":%.2f,\"relay_cores\":%.2f,\"loadgen_cpu_s\":%.2f",
           ok ? "true" : "false", o.senders, o.recipients, o.payload,
           s_n_msgs ? s_msgs[0].len : 0, o.rate, o.window, s_n_msgs, next,
           s_stored, s_rejected, s_delivered, s_dup_deliveries, elapsed,
           elapsed > 0 ? (double)s_stored / elapsed : 0, p_stored, p_deliv,
           p_inbox, prebuild_s, o.relay_pid ? cpu1 - cpu0 : -1,
           o.relay_pid && elapsed > 0 ? (cpu1 - cpu0) / elapsed : -1,
           s_self_cpu_s() - self0);
    if (s_first_reject[0]) {
        char *q;
        for (q = s_first_reject; *q; q++)
            if (*q == '"' || *q == '\\')
                *q = '\'';
        printf(",\"first_reject\":\"%s\"", s_first_reject);
    }
    printf("}\n");
    return ok ? 0 : 1;
}

static int
cmd_fanout(uint64_t deadline, double prebuild_s) {
    uint32_t *last = calloc((size_t)s_n_msgs, sizeof *last);
    uint32_t *rcpt = calloc((size_t)s_n_msgs, sizeof *rcpt);
    long done = 0;
    int ok = 1;
    if (!last || !rcpt)
        s_die("out of memory");
    for (long a = 0; a < s_n_msgs && ok; a++) {
        msg_t *m = &s_msgs[a];
        m->t_sched_ns = m->t_sent_ns = s_ns();
        if (zmq_send(s_snd[0].sock, m->frame, m->len, 0) < 0)
            s_die("send: %s", zmq_strerror(errno));
        while (m->n_delivered < (uint32_t)o.recipients ||
               m->n_receipts < (uint32_t)o.recipients || !m->stored_us) {
            if (s_ns() > deadline) {
                ok = 0;
                break;
            }
            s_poll(5);
        }
        if (ok) {
            last[a] = s_us(m->t_sent_ns, m->t_last_deliver_ns);
            rcpt[a] = s_us(m->t_sent_ns, m->t_last_receipt_ns);
            done++;
        }
        /* Let the confirms of the last recipients settle. */
        s_poll(50);
    }
    printf("{\"mode\":\"fanout\",\"ok\":%s,\"recipients\":%ld,\"alerts\":%ld,"
           "\"done\":%ld,\"envelope_bytes\":%zu,\"last_delivered_ms\":[",
           ok ? "true" : "false", o.recipients, s_n_msgs, done,
           s_n_msgs ? s_msgs[0].len : 0);
    for (long a = 0; a < done; a++)
        printf("%s%.3f", a ? "," : "", (double)(last[a] - 1) / 1000.0);
    printf("],\"stored_ms\":[");
    for (long a = 0; a < done; a++)
        printf("%s%.3f", a ? "," : "",
               (double)(s_msgs[a].stored_us - 1) / 1000.0);
    printf("],\"last_receipt_ms\":[");
    for (long a = 0; a < done; a++)
        printf("%s%.3f", a ? "," : "", (double)(rcpt[a] - 1) / 1000.0);
    printf("],\"prebuild_s\":%.2f}\n", prebuild_s);
    free(last);
    free(rcpt);
    return ok ? 0 : 1;
}

/* Waits for the relay's endpoint file, then connects and says hello;
 * exits 0 on the welcome. */
static int
cmd_probe(uint64_t deadline) {
    char ep[300];
    uint64_t t0 = s_ns();
    for (;;) {
        FILE *fp = fopen(o.ep_file, "r");
        if (fp) {
            int got = fgets(ep, sizeof ep, fp) != NULL;
            fclose(fp);
            if (got && strncmp(ep, "tcp://", 6) == 0 && strchr(ep, '\n'))
                break;
        }
        if (s_ns() > deadline)
            s_die("no endpoint file %s", o.ep_file);
        usleep(2000);
    }
    ep[strcspn(ep, "\n")] = 0;
    o.relay = ep;
    s_connect(&s_snd[0], 0);
    s_items[0].socket = s_snd[0].sock;
    s_items[0].events = ZMQ_POLLIN;
    s_await_welcomes(deadline);
    printf("{\"mode\":\"probe\",\"ok\":true,\"probe_ms\":%.1f}\n",
           (double)(s_ns() - t0) / 1e6);
    return 0;
}

int
main(int argc, char **argv) {
    static const struct option lo[] = {
        {"keys", 1, 0, 'k'},        {"roster", 1, 0, 'r'},
        {"coordinator", 1, 0, 'c'}, {"relay", 1, 0, 'R'},
        {"relay-pub", 1, 0, 'P'},   {"mode", 1, 0, 'm'},
        {"senders", 1, 0, 's'},     {"recipients", 1, 0, 'n'},
        {"count", 1, 0, 'N'},       {"rate", 1, 0, 'x'},
        {"window", 1, 0, 'w'},      {"payload", 1, 0, 'p'},
        {"alerts", 1, 0, 'a'},      {"timeout-ms", 1, 0, 'T'},
        {"relay-pid", 1, 0, 'i'},   {"to", 1, 0, 't'},
        {"ep-file", 1, 0, 'e'},     {"credit", 1, 0, 'C'},
        {"proto", 1, 0, 'F'},       {"notice", 0, 0, 'O'},
        {"inbox", 1, 0, 'I'},       {0, 0, 0, 0}};
    note_verifier_t v;
    char err[512];
    int c, rc;
    uint64_t deadline, tb;
    double prebuild_s = 0;

    o.mode = "load";
    o.senders = 1;
    o.window = 256;
    o.payload = 1024;
    o.count = 1000;
    o.alerts = 3;
    o.timeout_ms = 120000;
    o.credit = 1024;
    o.to = "rcv.offline";
    o.proto = "renraku";
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
        case 'm':
            o.mode = optarg;
            break;
        case 's':
            o.senders = atol(optarg);
            break;
        case 'n':
            o.recipients = atol(optarg);
            break;
        case 'N':
            o.count = atol(optarg);
            break;
        case 'x':
            o.rate = atol(optarg);
            break;
        case 'w':
            o.window = atol(optarg);
            break;
        case 'p':
            o.payload = atol(optarg);
            break;
        case 'a':
            o.alerts = atol(optarg);
            break;
        case 'T':
            o.timeout_ms = atol(optarg);
            break;
        case 'i':
            o.relay_pid = atol(optarg);
            break;
        case 't':
            o.to = optarg;
            break;
        case 'e':
            o.ep_file = optarg;
            break;
        case 'C':
            o.credit = atol(optarg);
            break;
        case 'F':
            o.proto = optarg;
            break;
        case 'O':
            o.notice = 1;
            break;
        case 'I':
            o.inbox = optarg;
            break;
        default:
            return 2;
        }
    }
    if (!o.keys || !o.roster || !o.coordinator || !o.relay_pub ||
        (!o.relay && strcmp(o.mode, "probe") != 0) ||
        (!strcmp(o.mode, "probe") && !o.ep_file) || o.senders < 1 ||
        o.senders > 256 || o.recipients < 0 || o.recipients > 2048 ||
        o.count < 1 || o.count > 10000000 || o.rate < 0 || o.window < 1 ||
        o.payload < 1 || o.payload > 256 * 1024 || o.timeout_ms < 100 ||
        (strcmp(o.proto, "renraku") != 0 &&
         (strcmp(o.proto, "fwd") != 0 || strcmp(o.mode, "load") != 0)) ||
        (o.inbox && (strcmp(o.mode, "load") != 0 || o.recipients != 0))) {
        fprintf(stderr, "usage: see the comment at the top of loadgen.c\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    deadline = s_ns() + (uint64_t)o.timeout_ms * 1000000ull;
    if (unlock_verifier(o.coordinator, &v, err, sizeof err) != RK_OK)
        s_die("--coordinator %s", err);
    if (roster_load_signed(o.roster, &v, 0, &s_roster, err, sizeof err) !=
        RK_OK)
        s_die("--roster %s", err);
    if (identity_public_load(o.relay_pub, &s_relay, err, sizeof err) != RK_OK)
        s_die("--relay-pub %s", err);
    if (!strcmp(o.mode, "fanout"))
        o.senders = 1;
    if (!strcmp(o.mode, "probe"))
        o.senders = 1, o.recipients = 0;
    s_snd = calloc((size_t)o.senders, sizeof *s_snd);
    s_rcv = calloc((size_t)(o.recipients ? o.recipients : 1), sizeof *s_rcv);
    if (!s_snd || !s_rcv)
        s_die("out of memory");
    for (long i = 0; i < o.senders; i++) {
        char id[64];
        snprintf(id, sizeof id, "snd.%02ld", i);
        s_load_conn(&s_snd[i], id);
    }
    for (long i = 0; i < o.recipients; i++) {
        char id[64];
        snprintf(id, sizeof id, "rcv.%03ld", i);
        s_load_conn(&s_rcv[i], id);
    }
    s_ctx = zmq_ctx_new();
    if (!s_ctx)
        s_die("zmq context");
    s_n_items = (size_t)(o.senders + o.recipients) + (o.inbox ? 1 : 0);
    s_items = calloc(s_n_items, sizeof *s_items);
    if (!s_items)
        s_die("out of memory");
    if (o.inbox) {
        s_inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (s_inotify < 0 ||
            inotify_add_watch(s_inotify, o.inbox, IN_MOVED_TO | IN_CREATE) < 0)
            s_die("--inbox %s: %s", o.inbox, strerror(errno));
        s_items[s_n_items - 1].fd = s_inotify;
        s_items[s_n_items - 1].events = ZMQ_POLLIN;
    }
    if (!strcmp(o.mode, "probe")) {
        rc = cmd_probe(deadline);
        goto out;
    }
    /* Pre-build before connecting: the timed part only sends. */
    s_n_msgs = !strcmp(o.mode, "fanout") ? o.alerts : o.count;
    s_msgs = calloc((size_t)s_n_msgs, sizeof *s_msgs);
    if (!s_msgs)
        s_die("out of memory");
    randombytes_buf(s_nonce, sizeof s_nonce);
    for (long i = 0; i < s_n_msgs; i++)
        s_msgs[i].sender = (int)(i % o.senders);
    tb = s_ns();
    s_prebuild();
    if (!strcmp(o.proto, "fwd"))
        s_fwd_wrap();
    prebuild_s = (double)(s_ns() - tb) / 1e9;
    for (long i = 0; i < o.recipients; i++)
        s_connect(&s_rcv[i], o.credit);
    for (long i = 0; i < o.senders; i++)
        s_connect(&s_snd[i], o.credit);
    for (long i = 0; i < o.senders; i++) {
        s_items[i].socket = s_snd[i].sock;
        s_items[i].events = ZMQ_POLLIN;
    }
    for (long i = 0; i < o.recipients; i++) {
        s_items[o.senders + i].socket = s_rcv[i].sock;
        s_items[o.senders + i].events = ZMQ_POLLIN;
    }
    s_await_welcomes(deadline);
    if (!strcmp(o.mode, "fanout"))
        rc = cmd_fanout(deadline, prebuild_s);
    else if (!strcmp(o.mode, "load"))
        rc = cmd_load(deadline, prebuild_s);
    else
        s_die("unknown --mode %s", o.mode);
out:
    fflush(stdout);
    /* Exit without tearing down every socket: linger is 0 and the process
     * ends here (zmq_ctx_term would wait on 200 sockets for nothing). */
    _exit(rc);
}

/* testnode: a minimal partner node built on proto/ and keys/, for the
 * relay's integration tests (and a hostile client when asked). One command
 * per run; every event is one line on stdout ("stored index=3 msg=..."),
 * so a test script can wait for it. Not a product: renrakud is.
 *
 *   testnode COMMON send --to ID[,ID...] [--text T] [--count N] [--repeat R]
 *            [--expires-in-ms N] [--created-offset-ms N] [--sender ID]
 *            [--tamper signature|ciphertext] [--save FILE] [--receipts N]
 *   testnode COMMON resend --file ENVELOPE      (submit saved bytes again)
 *   testnode COMMON recv --expect N [--no-confirm] [--credit N]
 *            [--confirm-from-expiry-ms D --confirm-every-ms E]
 *            (hold every confirm until all N came; send the first when the
 *            wall clock reaches the first envelope's expiry + D ms (D may
 *            be negative), then one every E ms: a stream of confirms
 *            across the expiry, which is what the test is about)
 *   testnode COMMON raw (--random N | --file F | --oversize N | --parts)
 *   testnode COMMON checkpoint --relay-vkey VKEY
 *   testnode COMMON prove --msg HEX --relay-vkey VKEY
 *   testnode COMMON consistency --size1 N --root1 HEX --relay-vkey VKEY
 *   testnode COMMON wait --receipts N --receipts-after INDEX
 *   (--stamp, any command: each line ends with mono_ms=T, the time it was
 *   printed on CLOCK_MONOTONIC, which the test's processes share; recv
 *   then also prints a "confirm index=N msg=HEX" line just before each
 *   confirm is sent)
 *   (send also takes --msg-id HEX to reuse an id; it seals all N envelopes
 *   first, then submits them back to back, each R times: frames that
 *   arrive together, which the relay reads into one batch)
 *   COMMON: --key K --roster R --coordinator C --relay EP --relay-pub P
 *           [--timeout-ms N]
 * Exit: 0 when what was asked happened, 1 otherwise (it says why), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "checkpoint.h"
#include "envelope.h"
#include "frame.h"
#include "identity.h"
#include "merkle.h"
#include "note.h"
#include "rk_util.h"
#include "roster.h"
#include "unlock.h"

typedef struct {
    const char *key, *roster, *coordinator, *relay, *relay_pub;
    const char *to, *text, *sender, *tamper, *save, *file, *relay_vkey;
    const char *msg, *msg_id, *root1;
    long count, repeat, expires_in, created_offset, receipts, expect, credit;
    long confirm_from_expiry, confirm_every;
    int confirm_hold; /* --confirm-from-expiry-ms given */
    long random_len, oversize, timeout_ms, receipts_after, size1;
    int no_confirm, parts;
} opts_t;

static int s_stamp; /* --stamp: each line ends with mono_ms=T */

static identity_t *s_me;
static roster_t *s_roster;
static void *s_ctx, *s_sock, *s_mon;

static uint64_t
s_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void s_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void
s_die(const char *fmt, ...) {
    va_list ap;
    fputs("testnode: ", stdout);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    exit(1);
}

static void s_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
s_say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    if (s_stamp)
        fprintf(stdout, " mono_ms=%llu", (unsigned long long)s_mono_ms());
    fputc('\n', stdout);
    fflush(stdout);
}

/* Connects a CURVE DEALER to the relay, watching the handshake. */
static void
s_connect(const opts_t *o) {
    identity_public_t relay;
    char err[256];
    int linger = 0, ok;

    if (identity_public_load(o->relay_pub, &relay, err, sizeof err) != RK_OK)
        s_die("--relay-pub %s", err);
    s_ctx = zmq_ctx_new();
    s_sock = zmq_socket(s_ctx, ZMQ_DEALER);
    ok = zmq_setsockopt(s_sock, ZMQ_CURVE_SERVERKEY, relay.transport_pk, 32) ==
             0 &&
         zmq_setsockopt(s_sock, ZMQ_CURVE_PUBLICKEY,
                        identity_public(s_me)->transport_pk, 32) == 0 &&
         zmq_setsockopt(s_sock, ZMQ_CURVE_SECRETKEY,
                        identity_transport_sk(s_me), 32) == 0 &&
         zmq_setsockopt(s_sock, ZMQ_LINGER, &linger, sizeof linger) == 0;
    if (!ok)
        s_die("cannot set up the socket: %s", zmq_strerror(errno));
    zmq_socket_monitor(s_sock, "inproc://testnode-mon",
                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    s_mon = zmq_socket(s_ctx, ZMQ_PAIR);
    zmq_connect(s_mon, "inproc://testnode-mon");
    if (zmq_connect(s_sock, o->relay) != 0)
        s_die("cannot connect to %s: %s", o->relay, zmq_strerror(errno));
}

/* Waits for the handshake's outcome. */
static void
s_await_handshake(const opts_t *o) {
    uint64_t end = s_mono_ms() + (uint64_t)o->timeout_ms;
    while (s_mono_ms() < end) {
        zmq_msg_t m;
        uint16_t event;
        zmq_pollitem_t it = {s_mon, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, s_mon, 0);
        memcpy(&event, zmq_msg_data(&m), sizeof event);
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        zmq_msg_recv(&m, s_mon, 0); /* endpoint */
        zmq_msg_close(&m);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            s_say("handshake ok");
            return;
        }
        s_say("handshake refused event=%u", event);
        exit(1);
    }
    s_say("handshake timeout");
    exit(1);
}

static void
s_send(const uint8_t *buf, size_t len) {
    if (zmq_send(s_sock, buf, len, 0) < 0)
        s_die("send failed: %s", zmq_strerror(errno));
}

/* Receives one frame, or NULL on timeout. */
static frame_t *
s_recv(uint64_t deadline) {
    for (;;) {
        zmq_pollitem_t it = {s_sock, 0, ZMQ_POLLIN, 0};
        zmq_msg_t m;
        frame_t *f = NULL;
        const char *why = NULL;
        uint64_t now = s_mono_ms();
        if (now >= deadline)
            return NULL;
        if (zmq_poll(&it, 1, (long)(deadline - now)) <= 0)
            continue;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s_sock, 0) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        if (frame_decode(zmq_msg_data(&m), zmq_msg_size(&m), &f, &why) != RK_OK)
            s_say("bad-frame-from-relay reason=\"%s\"", why ? why : "?");
        zmq_msg_close(&m);
        if (f)
            return f;
    }
}

static void
s_hello(const opts_t *o, uint64_t receipts_after) {
    frame_t f;
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(&f, 0, sizeof f);
    f.type = FRAME_HELLO;
    f.hello.version = FRAME_VERSION;
    f.hello.has_credit = o->credit > 0;
    f.hello.credit = (uint32_t)o->credit;
    f.hello.has_roster_serial = true;
    f.hello.roster_serial = roster_serial(s_roster);
    f.hello.has_receipts_after = receipts_after != UINT64_MAX;
    f.hello.receipts_after = receipts_after;
    if (frame_encode(&f, &buf, &len) != RK_OK)
        s_die("cannot encode hello");
    s_send(buf, len);
    free(buf);
}

/* Prints one frame from the relay; returns its type. */
static frame_type_t
s_print(const frame_t *f) {
    char hex[33];
    switch (f->type) {
    case FRAME_WELCOME:
        s_say("welcome node=%s pending=%llu log_size=%llu", f->welcome.node_id,
              (unsigned long long)f->welcome.pending,
              (unsigned long long)f->welcome.log_size);
        break;
    case FRAME_STORED:
        rk_hex(hex, f->stored.msg_id, 16);
        s_say("stored index=%llu msg=%s", (unsigned long long)f->stored.index,
              hex);
        break;
    case FRAME_REJECTED:
        if (f->rejected.has_msg_id)
            rk_hex(hex, f->rejected.msg_id, 16);
        s_say("rejected code=%s msg=%s reason=\"%s\"",
              frame_reject_name(f->rejected.code),
              f->rejected.has_msg_id ? hex : "-", f->rejected.reason);
        break;
    case FRAME_RECEIPT:
        rk_hex(hex, f->receipt.msg_id, 16);
        s_say("receipt msg=%s recipient=%s status=%s index=%llu", hex,
              f->receipt.recipient,
              frame_receipt_status_name(f->receipt.status),
              (unsigned long long)f->receipt.index);
        break;
    case FRAME_ROSTER:
        s_say("roster bytes=%zu", f->roster.signed_roster_len);
        break;
    case FRAME_PONG:
        s_say("pong");
        break;
    default:
        s_say("frame type=%s", frame_type_name(f->type));
    }
    return f->type;
}

static void
s_load(const opts_t *o) {
    note_verifier_t v;
    char err[512];
    if (!o->key || !o->roster || !o->coordinator || !o->relay || !o->relay_pub)
        s_die("need --key --roster --coordinator --relay --relay-pub");
    if (unlock_identity(o->key, NULL, &s_me, NULL, 0, err, sizeof err) != RK_OK)
        s_die("%s", err);
    if (unlock_verifier(o->coordinator, &v, err, sizeof err) != RK_OK)
        s_die("--coordinator %s", err);
    if (roster_load_signed(o->roster, &v, 0, &s_roster, err, sizeof err) !=
        RK_OK)
        s_die("--roster %s", err);
}

/* Seals text to the recipients listed (comma-separated ids or groups). */
static void
s_seal(const opts_t *o, const char *text, uint8_t **out, size_t *len,
       uint8_t msg_id[16]) {
    const char *targets[64];
    char *list = strdup(o->to), *save = NULL, err[256];
    const char **ids = NULL;
    size_t n_t = 0, n_ids = 0;
    envelope_recipient_t *r;
    envelope_params_t p;
    const roster_keyset_t *mine = NULL;
    uint64_t now = rk_now_ms() + (uint64_t)o->created_offset;

    for (char *t = strtok_r(list, ",", &save); t && n_t < 64;
         t = strtok_r(NULL, ",", &save))
        targets[n_t++] = t;
    if (roster_expand(s_roster, targets, n_t, &ids, &n_ids, err, sizeof err) !=
        RK_OK) {
        /* Unknown to our roster: address it anyway (hostile test), with
         * our own key so that it seals. */
        ids = malloc(n_t * sizeof *ids);
        memcpy(ids, targets, n_t * sizeof *ids);
        n_ids = n_t;
    }
    r = calloc(n_ids, sizeof *r);
    for (size_t i = 0; i < n_ids; i++) {
        const roster_keyset_t *k = NULL;
        r[i].id = ids[i];
        r[i].enc_pk =
            roster_usable_keys(s_roster, ids[i], NULL, rk_now_ms(), &k) == RK_OK
                ? k->enc_pk
                : identity_public(s_me)->enc_pk;
    }
    if (roster_usable_keys(s_roster, identity_id(s_me), NULL, rk_now_ms(),
                           &mine) != RK_OK)
        s_die("my own key is not usable in the roster");
    memset(&p, 0, sizeof p);
    p.sender = o->sender ? o->sender : identity_id(s_me);
    p.sign_sk = identity_sign_sk(s_me);
    p.sign_key_id = mine->sign_key_id;
    p.kind = ENVELOPE_KIND_NOTICE;
    p.created_ms = now;
    if (o->expires_in)
        p.expires_ms = now + (uint64_t)o->expires_in;
    uint8_t fixed[16];
    if (o->msg_id) {
        if (rk_unhex(fixed, 16, o->msg_id) != RK_OK)
            s_die("--msg-id needs 32 hex digits");
        p.msg_id = fixed;
    }
    if (envelope_seal(&p, r, n_ids, (const uint8_t *)text, strlen(text), out,
                      len, msg_id) != RK_OK)
        s_die("cannot seal");
    free(r);
    free(ids);
    free(list);
}

/* Flips a byte inside the named part of a serialized envelope. */
static void
s_tamper(uint8_t *buf, size_t len, const char *what) {
    if (!strcmp(what, "ciphertext"))
        buf[len - 1] ^= 1; /* the ciphertext is the last field */
    else if (!strcmp(what, "signature")) {
        /* Walks the envelope's top-level fields to field 2 (signature, 64
         * bytes): a search for its tag bytes could find them inside the
         * header first (about one run in 500). */
        size_t i = 0;
        while (i < len) {
            uint64_t tag = 0, n = 0;
            unsigned shift = 0;
            while (i < len && shift < 64) { /* the tag's varint */
                tag |= (uint64_t)(buf[i] & 0x7f) << shift;
                shift += 7;
                if (!(buf[i++] & 0x80))
                    break;
            }
            shift = 0;
            if ((tag & 7) == 0) { /* a varint field: skip it */
                while (i < len && (buf[i++] & 0x80))
                    ;
                continue;
            }
            if ((tag & 7) != 2)
                break;
            while (i < len && shift < 64) { /* the length's varint */
                n |= (uint64_t)(buf[i] & 0x7f) << shift;
                shift += 7;
                if (!(buf[i++] & 0x80))
                    break;
            }
            if (n > len - i)
                break;
            if (tag >> 3 == 2 && n == 64) {
                buf[i + 8] ^= 1;
                return;
            }
            i += n;
        }
        s_die("no signature field found");
    } else
        s_die("--tamper: signature or ciphertext");
}

/* Waits until every submitted message is answered (stored or rejected)
 * and `receipts` receipts came. Returns the number rejected. */
static long
s_await_answers(const opts_t *o, long answers, long receipts) {
    uint64_t deadline = s_mono_ms() + (uint64_t)o->timeout_ms;
    long rejected = 0;
    while (answers > 0 || receipts > 0) {
        frame_t *f = s_recv(deadline);
        if (!f) {
            s_say("timeout answers_left=%ld receipts_left=%ld", answers,
                  receipts);
            exit(1);
        }
        switch (s_print(f)) {
        case FRAME_STORED:
            answers--;
            break;
        case FRAME_REJECTED:
            answers--;
            rejected++;
            break;
        case FRAME_RECEIPT:
            receipts--;
            break;
        default:
            break;
        }
        frame_destroy(&f);
    }
    return rejected;
}

static int
cmd_send(const opts_t *o) {
    long n = o->count > 0 ? o->count : 1;
    long reps = o->repeat > 0 ? o->repeat : 1;
    uint8_t **frames;
    size_t *flens;
    if (!o->to)
        s_die("send needs --to");
    frames = calloc((size_t)n, sizeof *frames);
    flens = calloc((size_t)n, sizeof *flens);
    if (!frames || !flens)
        s_die("out of memory");
    s_connect(o);
    s_await_handshake(o);
    s_hello(o, UINT64_MAX);
    for (long i = 0; i < n; i++) {
        uint8_t *env = NULL, *buf = NULL, id[16];
        size_t len = 0, blen = 0;
        size_t cap = (o->text ? strlen(o->text) : 16) + 32;
        char *text = malloc(cap);
        if (!text)
            s_die("out of memory");
        snprintf(text, cap, "%s #%ld", o->text ? o->text : "test notice", i);
        s_seal(o, text, &env, &len, id);
        free(text);
        if (o->tamper)
            s_tamper(env, len, o->tamper);
        if (o->save && i == 0 &&
            rk_write_file(o->save, env, len, 0600, 0) != RK_OK)
            s_die("--save %s: cannot write", o->save);
        if (frame_encode_submit(env, len, &buf, &blen) != RK_OK)
            s_die("cannot encode submit");
        frames[i] = buf;
        flens[i] = blen;
        free(env);
    }
    for (long i = 0; i < n; i++)
        for (long r = 0; r < reps; r++)
            s_send(frames[i], flens[i]);
    for (long i = 0; i < n; i++)
        free(frames[i]);
    free(frames);
    free(flens);
    s_await_answers(o, n * reps, o->receipts);
    return 0;
}

static int
cmd_resend(const opts_t *o) {
    uint8_t *env = NULL, *buf = NULL;
    size_t len = 0, blen = 0;
    if (!o->file ||
        rk_read_file(o->file, ENVELOPE_MAX_BYTES, &env, &len) != RK_OK)
        s_die("resend needs a readable --file");
    s_connect(o);
    s_await_handshake(o);
    s_hello(o, UINT64_MAX);
    if (frame_encode_submit(env, len, &buf, &blen) != RK_OK)
        s_die("cannot encode submit");
    s_send(buf, blen);
    free(buf);
    free(env);
    s_await_answers(o, 1, o->receipts);
    return 0;
}

static int
cmd_recv(const opts_t *o) {
    uint64_t deadline;
    long got = 0;
    /* Confirms held back (--confirm-from-expiry-ms), sent after the loop
     * from the first held envelope's expiry on. */
    uint64_t expires_ms = 0;
    uint8_t **held =
        calloc((size_t)(o->expect > 0 ? o->expect : 1), sizeof *held);
    size_t *held_len =
        calloc((size_t)(o->expect > 0 ? o->expect : 1), sizeof *held_len);
    long n_held = 0;
    if (!held || !held_len)
        s_die("out of memory");
    s_connect(o);
    s_await_handshake(o);
    s_hello(o, UINT64_MAX);
    deadline = s_mono_ms() + (uint64_t)o->timeout_ms;
    while (got < o->expect) {
        frame_t *f = s_recv(deadline);
        envelope_t *env = NULL;
        const roster_keyset_t *ks = NULL;
        uint8_t *plain = NULL, *buf = NULL;
        size_t plain_len = 0, blen = 0;
        char hex[33];
        int rc;
        if (!f) {
            s_say("timeout got=%ld expected=%ld", got, o->expect);
            return 1;
        }
        if (f->type != FRAME_DELIVER) {
            s_print(f);
            frame_destroy(&f);
            continue;
        }
        rc = envelope_decode(f->deliver.envelope, f->deliver.envelope_len, &env,
                             NULL);
        if (rc == RK_OK) {
            const envelope_header_t *h = envelope_header(env);
            rc = roster_usable_keys(s_roster, h->sender, h->sender_key_id,
                                    h->created_ms, &ks);
            if (rc == RK_OK)
                rc = envelope_verify(env, ks->sign_pk);
            if (rc == RK_OK)
                rc = envelope_open(env, identity_id(s_me),
                                   identity_public(s_me)->enc_pk,
                                   identity_enc_sk(s_me), &plain, &plain_len);
            rk_hex(hex, h->msg_id, 16);
            if (rc == RK_OK)
                s_say("deliver index=%llu msg=%s from=%s text=\"%.*s\"",
                      (unsigned long long)f->deliver.index, hex, h->sender,
                      (int)plain_len, (const char *)plain);
            else
                s_say("deliver-refused index=%llu msg=%s reason=\"%s\"",
                      (unsigned long long)f->deliver.index, hex,
                      rk_strerror(rc));
            if (!o->no_confirm &&
                frame_encode_confirm(f->deliver.index, h->msg_id, &buf,
                                     &blen) == RK_OK) {
                if (o->confirm_hold && n_held < o->expect) {
                    if (!n_held)
                        expires_ms = h->expires_ms;
                    held[n_held] = buf;
                    held_len[n_held++] = blen;
                    buf = NULL;
                } else {
                    if (s_stamp) /* stamped as it leaves */
                        s_say("confirm index=%llu msg=%s",
                              (unsigned long long)f->deliver.index, hex);
                    s_send(buf, blen);
                }
            }
            free(buf);
        }
        free(plain);
        envelope_destroy(&env);
        frame_destroy(&f);
        got++;
    }
    if (n_held) {
        /* Each confirm at its own instant of the wall clock (the relay's
         * clock, which decides expiry): expiry + D + i * E. */
        int64_t start = (int64_t)expires_ms + o->confirm_from_expiry;
        for (long i = 0; i < n_held; i++) {
            int64_t at = start + (int64_t)i * o->confirm_every;
            struct timespec t = {(time_t)(at / 1000),
                                 (long)(at % 1000) * 1000000L};
            while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &t, NULL) ==
                   EINTR)
                ;
            s_send(held[i], held_len[i]);
            free(held[i]);
        }
        s_say("confirmed %ld from expiry %+ld ms, one every %ld ms", n_held,
              o->confirm_from_expiry, o->confirm_every);
    }
    free(held);
    free(held_len);
    /* Let the last confirm leave before the socket closes. */
    {
        int linger = 1000;
        zmq_setsockopt(s_sock, ZMQ_LINGER, &linger, sizeof linger);
    }
    return 0;
}

static int
cmd_raw(const opts_t *o) {
    uint8_t *buf = NULL;
    size_t len = 0;
    frame_t *f;
    s_connect(o);
    s_await_handshake(o);
    if (o->random_len > 0) {
        len = (size_t)o->random_len;
        buf = malloc(len);
        randombytes_buf(buf, len);
    } else if (o->oversize > 0) {
        len = (size_t)o->oversize;
        buf = calloc(1, len);
    } else if (o->file) {
        if (rk_read_file(o->file, 64u << 20, &buf, &len) != RK_OK)
            s_die("--file %s: cannot read", o->file);
    } else if (o->parts) {
        zmq_send(s_sock, "a", 1, ZMQ_SNDMORE);
        zmq_send(s_sock, "b", 1, 0);
    } else
        s_die("raw needs --random N, --oversize N, --file F or --parts");
    if (buf)
        s_send(buf, len);
    free(buf);
    f = s_recv(s_mono_ms() + (uint64_t)o->timeout_ms);
    if (!f) {
        s_say("no answer");
        return 1;
    }
    s_print(f);
    frame_destroy(&f);
    return 0;
}

/* Pushes a signed roster file to the relay (as the coordinator's tooling
 * would through any node) and prints the relay's answer, if any. */
static int
cmd_push_roster(const opts_t *o) {
    frame_t f, *a;
    uint8_t *note = NULL, *buf = NULL;
    size_t len = 0, blen = 0;
    if (!o->file ||
        rk_read_file(o->file, ROSTER_SIGNED_MAX_BYTES, &note, &len) != RK_OK)
        s_die("push-roster needs a readable --file");
    s_connect(o);
    s_await_handshake(o);
    s_hello(o, UINT64_MAX);
    memset(&f, 0, sizeof f);
    f.type = FRAME_ROSTER;
    f.roster.signed_roster = note;
    f.roster.signed_roster_len = len;
    if (frame_encode(&f, &buf, &blen) != RK_OK)
        s_die("cannot encode the roster frame");
    s_send(buf, blen);
    free(buf);
    /* Answers: a rejection, or (accepted) our roster pushed back to us;
     * the relay's current roster, sent after our hello, is not one. */
    for (;;) {
        a = s_recv(s_mono_ms() + (uint64_t)o->timeout_ms);
        if (!a) {
            s_say("no answer");
            free(note);
            return 1;
        }
        if (a->type == FRAME_REJECTED ||
            (a->type == FRAME_ROSTER && a->roster.signed_roster_len == len &&
             memcmp(a->roster.signed_roster, note, len) == 0)) {
            if (a->type == FRAME_ROSTER)
                s_say("roster accepted");
            else
                s_print(a);
            frame_destroy(&a);
            free(note);
            return 0;
        }
        frame_destroy(&a);
    }
}

/* Says hello asking for the receipts logged after an index, and waits for
 * `receipts` of them. */
static int
cmd_wait(const opts_t *o) {
    s_connect(o);
    s_await_handshake(o);
    s_hello(o, (uint64_t)o->receipts_after);
    s_await_answers(o, 0, o->receipts);
    return 0;
}

static int
s_relay_verifier(const opts_t *o, note_verifier_t *v) {
    if (!o->relay_vkey || note_vkey_parse(o->relay_vkey, v) != RK_OK)
        s_die("need a valid --relay-vkey");
    return 0;
}

static int
cmd_checkpoint(const opts_t *o) {
    note_verifier_t v;
    checkpoint_t cp;
    frame_t q, *f;
    uint8_t *buf = NULL;
    size_t len = 0;
    char root[65];
    s_relay_verifier(o, &v);
    s_connect(o);
    s_await_handshake(o);
    memset(&q, 0, sizeof q);
    q.type = FRAME_CHECKPOINT_REQUEST;
    if (frame_encode(&q, &buf, &len) != RK_OK)
        s_die("cannot encode");
    s_send(buf, len);
    free(buf);
    f = s_recv(s_mono_ms() + (uint64_t)o->timeout_ms);
    if (!f || f->type != FRAME_CHECKPOINT)
        s_die("no checkpoint came");
    if (checkpoint_open(f->checkpoint.note, f->checkpoint.note_len, &v, NULL,
                        &cp, NULL) != RK_OK)
        s_die("checkpoint does not verify with the relay's vkey");
    rk_hex(root, cp.root, 32);
    s_say("checkpoint origin=%s size=%llu root=%s verified=yes", cp.origin,
          (unsigned long long)cp.size, root);
    frame_destroy(&f);
    return 0;
}

static int
cmd_prove(const opts_t *o) {
    note_verifier_t v;
    checkpoint_t cp;
    frame_t q, *f;
    uint8_t *buf = NULL, leaf[32];
    size_t len = 0;
    int rc;
    s_relay_verifier(o, &v);
    memset(&q, 0, sizeof q);
    q.type = FRAME_INCLUSION_REQUEST;
    q.inclusion_request.has_msg_id = true;
    if (!o->msg || rk_unhex(q.inclusion_request.msg_id, 16, o->msg) != RK_OK)
        s_die("prove needs --msg with 32 hex digits");
    s_connect(o);
    s_await_handshake(o);
    if (frame_encode(&q, &buf, &len) != RK_OK)
        s_die("cannot encode");
    s_send(buf, len);
    free(buf);
    f = s_recv(s_mono_ms() + (uint64_t)o->timeout_ms);
    if (!f)
        s_die("no answer");
    if (f->type != FRAME_INCLUSION) {
        s_print(f);
        return 1;
    }
    if (checkpoint_open(f->inclusion.checkpoint, f->inclusion.checkpoint_len,
                        &v, NULL, &cp, NULL) != RK_OK)
        s_die("proof's checkpoint does not verify");
    merkle_leaf_hash(f->inclusion.record, f->inclusion.record_len, leaf);
    rc = merkle_verify_inclusion(f->inclusion.index, cp.size, leaf,
                                 f->inclusion.hashes, f->inclusion.n_hashes,
                                 cp.root);
    s_say("inclusion index=%llu size=%llu verified=%s",
          (unsigned long long)f->inclusion.index, (unsigned long long)cp.size,
          rc == RK_OK ? "yes" : "no");
    frame_destroy(&f);
    return rc == RK_OK ? 0 : 1;
}

/* Fetches the latest checkpoint and proves it extends an older tree
 * (size1, root1). */
static int
cmd_consistency(const opts_t *o) {
    note_verifier_t v;
    checkpoint_t cp;
    frame_t q, *f;
    uint8_t *buf = NULL, root1[32];
    size_t len = 0;
    int rc;
    s_relay_verifier(o, &v);
    if (!o->root1 || rk_unhex(root1, 32, o->root1) != RK_OK || o->size1 <= 0)
        s_die("consistency needs --size1 N --root1 HEX");
    s_connect(o);
    s_await_handshake(o);
    memset(&q, 0, sizeof q);
    q.type = FRAME_CHECKPOINT_REQUEST;
    if (frame_encode(&q, &buf, &len) != RK_OK)
        s_die("cannot encode");
    s_send(buf, len);
    free(buf);
    f = s_recv(s_mono_ms() + (uint64_t)o->timeout_ms);
    if (!f || f->type != FRAME_CHECKPOINT ||
        checkpoint_open(f->checkpoint.note, f->checkpoint.note_len, &v, NULL,
                        &cp, NULL) != RK_OK)
        s_die("no verified checkpoint came");
    frame_destroy(&f);
    memset(&q, 0, sizeof q);
    q.type = FRAME_CONSISTENCY_REQUEST;
    q.consistency_request.size1 = (uint64_t)o->size1;
    q.consistency_request.size2 = cp.size;
    if (frame_encode(&q, &buf, &len) != RK_OK)
        s_die("cannot encode");
    s_send(buf, len);
    free(buf);
    f = s_recv(s_mono_ms() + (uint64_t)o->timeout_ms);
    if (!f || f->type != FRAME_CONSISTENCY)
        s_die("no consistency proof came");
    rc = merkle_verify_consistency((uint64_t)o->size1, cp.size, root1, cp.root,
                                   f->consistency.hashes,
                                   f->consistency.n_hashes);
    s_say("consistency size1=%ld size2=%llu verified=%s", o->size1,
          (unsigned long long)cp.size, rc == RK_OK ? "yes" : "no");
    frame_destroy(&f);
    return rc == RK_OK ? 0 : 1;
}

int
main(int argc, char **argv) {
    static const struct option opts[] = {{"key", 1, 0, 'k'},
                                         {"roster", 1, 0, 'r'},
                                         {"coordinator", 1, 0, 'c'},
                                         {"relay", 1, 0, 'R'},
                                         {"relay-pub", 1, 0, 'P'},
                                         {"to", 1, 0, 't'},
                                         {"text", 1, 0, 'x'},
                                         {"count", 1, 0, 'n'},
                                         {"repeat", 1, 0, 'u'},
                                         {"confirm-from-expiry-ms", 1, 0, 'y'},
                                         {"confirm-every-ms", 1, 0, 'Y'},
                                         {"expires-in-ms", 1, 0, 'e'},
                                         {"created-offset-ms", 1, 0, 'o'},
                                         {"sender", 1, 0, 's'},
                                         {"tamper", 1, 0, 'T'},
                                         {"save", 1, 0, 'S'},
                                         {"receipts", 1, 0, 'a'},
                                         {"expect", 1, 0, 'E'},
                                         {"no-confirm", 0, 0, 'N'},
                                         {"credit", 1, 0, 'C'},
                                         {"random", 1, 0, 'z'},
                                         {"oversize", 1, 0, 'O'},
                                         {"file", 1, 0, 'f'},
                                         {"parts", 0, 0, 'p'},
                                         {"relay-vkey", 1, 0, 'V'},
                                         {"msg", 1, 0, 'm'},
                                         {"timeout-ms", 1, 0, 'W'},
                                         {"msg-id", 1, 0, 'I'},
                                         {"receipts-after", 1, 0, 'A'},
                                         {"size1", 1, 0, '1'},
                                         {"root1", 1, 0, '2'},
                                         {"stamp", 0, 0, 'Z'},
                                         {0, 0, 0, 0}};
    opts_t o;
    const char *cmd;
    int c, rc;

    memset(&o, 0, sizeof o);
    o.timeout_ms = 10000;
    if (sodium_init() < 0 || argc < 2)
        return 2;
    cmd = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o.key = optarg;
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
        case 't':
            o.to = optarg;
            break;
        case 'x':
            o.text = optarg;
            break;
        case 'n':
            o.count = atol(optarg);
            break;
        case 'u':
            o.repeat = atol(optarg);
            break;
        case 'y':
            o.confirm_from_expiry = atol(optarg);
            o.confirm_hold = 1;
            break;
        case 'Y':
            o.confirm_every = atol(optarg);
            break;
        case 'e':
            o.expires_in = atol(optarg);
            break;
        case 'o':
            o.created_offset = atol(optarg);
            break;
        case 's':
            o.sender = optarg;
            break;
        case 'T':
            o.tamper = optarg;
            break;
        case 'S':
            o.save = optarg;
            break;
        case 'a':
            o.receipts = atol(optarg);
            break;
        case 'E':
            o.expect = atol(optarg);
            break;
        case 'N':
            o.no_confirm = 1;
            break;
        case 'C':
            o.credit = atol(optarg);
            break;
        case 'z':
            o.random_len = atol(optarg);
            break;
        case 'O':
            o.oversize = atol(optarg);
            break;
        case 'f':
            o.file = optarg;
            break;
        case 'p':
            o.parts = 1;
            break;
        case 'V':
            o.relay_vkey = optarg;
            break;
        case 'm':
            o.msg = optarg;
            break;
        case 'W':
            o.timeout_ms = atol(optarg);
            break;
        case 'I':
            o.msg_id = optarg;
            break;
        case 'A':
            o.receipts_after = atol(optarg);
            break;
        case '1':
            o.size1 = atol(optarg);
            break;
        case '2':
            o.root1 = optarg;
            break;
        case 'Z':
            s_stamp = 1;
            break;
        default:
            return 2;
        }
    }
    s_load(&o);
    if (!strcmp(cmd, "send"))
        rc = cmd_send(&o);
    else if (!strcmp(cmd, "resend"))
        rc = cmd_resend(&o);
    else if (!strcmp(cmd, "recv"))
        rc = cmd_recv(&o);
    else if (!strcmp(cmd, "raw"))
        rc = cmd_raw(&o);
    else if (!strcmp(cmd, "checkpoint"))
        rc = cmd_checkpoint(&o);
    else if (!strcmp(cmd, "prove"))
        rc = cmd_prove(&o);
    else if (!strcmp(cmd, "wait"))
        rc = cmd_wait(&o);
    else if (!strcmp(cmd, "push-roster"))
        rc = cmd_push_roster(&o);
    else if (!strcmp(cmd, "consistency"))
        rc = cmd_consistency(&o);
    else
        s_die("unknown command %s", cmd);
    if (s_sock)
        zmq_close(s_sock);
    if (s_mon)
        zmq_close(s_mon);
    if (s_ctx)
        zmq_ctx_term(s_ctx);
    identity_destroy(&s_me);
    roster_destroy(&s_roster);
    return rc;
}

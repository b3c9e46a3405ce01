/* daemon: the node's loop: relay link (CurveZMQ DEALER with a monitor),
 * control socket (REP, JSON requests from the CLI), outbox resubmission,
 * delivery handling, hooks. Every state change is on disk before it is
 * announced: "queued" after the outbox write, "confirm" after the inbox
 * write. */
#define _GNU_SOURCE /* memfd_create */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "envelope.h"
#include "frame.h"
#include "node_store.h"
#include "payload.h"
#include "rk_log.h"
#include "rk_util.h"
#include "roster.h"
#include "stix.h"

#define S_MAX_HOOKS 16
#define S_MAX_HOOKS_WAITING 100000 /* then a hook is skipped, and says so */
#define S_HOOK_TIMEOUT_MS 30000    /* unless --hook-timeout-ms */
/* At a stop, how long running hooks get to finish before the daemon goes
 * (and they run again at the next start). */
#define S_HOOK_STOP_WAIT_MS 2000
#define S_CTL_MAX (1024u * 1024u)
#define S_REQUEST_ID_MAX 64 /* a send's request_id, in bytes */
/* A box that stays unlistable is logged again after this many
 * --resubmit-ms periods (10 minutes by default). */
#define S_BOX_RELOG_PERIODS 20

typedef struct {
    pid_t pid;
    uint64_t started_ms; /* rk_mono_us() / 1000: a clock that is not set */
    char msg[33];
    int stopped; /* reaped at the daemon's stop (its marker stays) */
} hook_t;

/* One relay connection. A node may use several independent relays: it
 * submits to each, and drops the duplicates they deliver by msg id. */
typedef struct {
    char id[ENVELOPE_NODE_ID_MAX + 1]; /* the relay's roster id */
    char endpoint[256];
    uint8_t tpk[32]; /* its transport key, from the roster */
    void *sock;      /* DEALER */
    void *mon;       /* PAIR reading the socket's monitor */
    int connected;   /* handshake succeeded, not yet disconnected */
    int welcomed;    /* the relay answered our hello */
    uint64_t connected_since_ms;
    char last_error[600];
    uint64_t reconnect_at_ms; /* recreate the socket (refused handshake) */
    uint64_t backoff_ms;
    /* Refused handshakes since the last one that succeeded: the first is
     * logged, then a reminder at most every S_BOX_RELOG_PERIODS
     * --resubmit-ms periods, not a line at each try. */
    uint32_t refusals;
    uint32_t refusals_unlogged; /* since the last line about them */
    uint64_t refused_since_ms;  /* the first (wall clock) */
    uint64_t refusal_logged_ms; /* the last line about them (monotonic) */
    uint16_t refusal_event;     /* libzmq's event of the last refusal */
    /* The roster in force lists no usable key set for the relay (revoked,
     * suspended, expired): no socket, until it lists one again. */
    int unusable;
} link_t;

/* A box that cannot be listed, logged when it starts failing (or fails
 * for another reason), at most every S_BOX_RELOG_PERIODS resubmission
 * periods while it lasts, and when it can be listed again: the outbox is
 * retried every period, and that must not be a line each time. */
typedef struct {
    char reason[200];   /* why the last listing failed; "" if it did not */
    uint64_t since_ms;  /* its first failure (wall clock) */
    uint64_t logged_ms; /* the last line about it (monotonic) */
    uint64_t repeats;   /* failed listings since that line */
    uint64_t failures;  /* failed listings since the first */
} unlisted_t;

struct daemon {
    daemon_config_t cfg;
    void *ctx;
    void *ctl; /* REP for the CLI */
    char ctl_ep[3200];
    node_store_t *store;
    roster_t *roster;
    link_t links[DAEMON_MAX_RELAYS];
    size_t n_links;
    uint64_t last_resubmit_ms;
    uint64_t last_keycheck_ms; /* s_links_check_keys, once a second */
    int state_dirty;
    uint64_t last_burst_ms;      /* when the last burst was committed */
    uint64_t last_checkpoint_ms; /* the last try */
    int checkpoint_failing;      /* logged once until none is due */
    hook_t hooks[S_MAX_HOOKS];
    /* Messages whose hook waits for one of the S_MAX_HOOKS to finish (a
     * burst brings more than that at once), first in first out. */
    char (*hook_wait)[33];
    size_t hook_wait_head, n_hook_wait, cap_hook_wait;
    struct {
        char hex[33];
        uint64_t due_ms;
    } * answers; /* scheduled automatic answers (simulation) */
    size_t n_answers, cap_answers;
    uint64_t counters[8];
    struct burst *burst; /* deliveries read together, written together */
    /* The request ids of sends, each to {"msg": hex, "fp": what was asked
     * (s_request_fp)}: read from the sent records at the first send that
     * has one, then kept up to date. A send repeated with the same id (its
     * answer was lost) gets the first one's answer. NULL until read. */
    json_t *requests;
    /* Outbox entries with no readable sent record (deleted, or corrupt and
     * left as it is): msg hex to {relay id: "stored"|"rejected"}, what
     * each relay answered for good, so the entry stays until every relay
     * has (s_orphan_answered). In memory only: after a restart every
     * relay is asked again. NULL until the first. */
    json_t *orphans;
    /* Final refusals logged at level error this run: msg hex to {relay
     * id: true}. A message kept in the outbox for another relay is
     * resubmitted to every relay, and the one that refused it refuses
     * each copy: said once, not every --resubmit-ms. Dropped when the
     * entry leaves the outbox. NULL until the first. */
    json_t *refusals;
    /* Sent records found unreadable and logged so (record_unreadable),
     * msg hex to true: each is looked up again at every resubmission,
     * answer and receipt, and said once a run. NULL until the first. */
    json_t *unreadable_sent;
    /* Each box's listing failures, for its log lines (s_unlisted_note). */
    unlisted_t unlisted[NODE_STORE_N_BOXES];
};

static int s_answer(daemon_t *self, const char *hex,
                    payload_ack_status_t status, const char *comment,
                    char sent_hex[33], char *err, size_t errlen);

enum {
    C_SUBMITTED,
    C_STORED,
    C_REJECTED,
    C_RECEIVED,
    C_QUARANTINED,
    C_RECEIPTS,
    C_HOOKS_FAILED,
    C_DUPLICATES
};

void
daemon_config_defaults(daemon_config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->relays[0] = "tcp://127.0.0.1:7400";
    cfg->n_relays = 1;
    cfg->credit = 64;
    cfg->heartbeat_ms = 5000;
    cfg->resubmit_ms = 30000;
}

void
daemon_control_endpoint(const char *state_dir, char *out, size_t cap) {
    snprintf(out, cap, "ipc://%s/control.sock", state_dir);
}

static void
s_hex(char out[33], const uint8_t id[16]) {
    rk_hex(out, id, 16);
}

static void
s_now_text(char *out, size_t cap) {
    rk_time_format(out, cap, rk_now_ms());
}

/* ---- the relay link ---- */

static void
s_link_close(link_t *l) {
    if (l->sock) {
        zmq_socket_monitor(l->sock, NULL, 0);
        zmq_close(l->sock);
        l->sock = NULL;
    }
    if (l->mon) {
        zmq_close(l->mon);
        l->mon = NULL;
    }
    l->connected = l->welcomed = 0;
}

static int
s_link_open(daemon_t *self, link_t *l) {
    static unsigned generation = 0;
    char mon_ep[64];
    int linger = 0, ivl = 500, ivl_max = 30000;
    int hb = self->cfg.heartbeat_ms, hb_ttl = self->cfg.heartbeat_ms * 3;
    const identity_public_t *me = identity_public(self->cfg.identity);

    s_link_close(l);
    l->sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!l->sock)
        return RK_ERR_IO;
    if (zmq_setsockopt(l->sock, ZMQ_CURVE_SERVERKEY, l->tpk, 32) != 0 ||
        zmq_setsockopt(l->sock, ZMQ_CURVE_PUBLICKEY, me->transport_pk, 32) !=
            0 ||
        zmq_setsockopt(l->sock, ZMQ_CURVE_SECRETKEY,
                       identity_transport_sk(self->cfg.identity), 32) != 0 ||
        zmq_setsockopt(l->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(l->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) != 0 ||
        zmq_setsockopt(l->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max,
                       sizeof ivl_max) != 0 ||
        zmq_setsockopt(l->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb) != 0 ||
        zmq_setsockopt(l->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_ttl,
                       sizeof hb_ttl) != 0)
        return RK_ERR_IO;
    snprintf(mon_ep, sizeof mon_ep, "inproc://renrakud-mon-%u", generation++);
    if (zmq_socket_monitor(
            l->sock, mon_ep,
            ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED |
                ZMQ_EVENT_CONNECT_RETRIED) != 0)
        return RK_ERR_IO;
    l->mon = zmq_socket(self->ctx, ZMQ_PAIR);
    if (!l->mon || zmq_connect(l->mon, mon_ep) != 0)
        return RK_ERR_IO;
    if (zmq_connect(l->sock, l->endpoint) != 0) {
        snprintf(l->last_error, sizeof l->last_error,
                 "cannot connect to %s: %s", l->endpoint, zmq_strerror(errno));
        return RK_ERR_IO;
    }
    /* One more try after refused handshakes is not news: at debug. */
    if (l->refusals > 1)
        log_debug("event=relay_connecting relay=%s relay_id=%s", l->endpoint,
                  l->id);
    else
        log_info("event=relay_connecting relay=%s relay_id=%s", l->endpoint,
                 l->id);
    return RK_OK;
}

/* Takes relay link l's transport key from the roster in force. With next
 * (the relay refused our handshake), the usable key set of the relay after
 * the one in use, newest first and round again: during a rotation of its
 * keys the relay runs with one of the sets the roster lists, and we cannot
 * know which. Without next (a new roster), the key in use while it stays
 * usable, else the newest. The new socket made with it (s_link_open) uses
 * it. Returns 1 when l->tpk changed, 0 when not, -1 when the roster lists
 * no usable key set for the relay (l->tpk stays). */
static int
s_link_pick_key(daemon_t *self, link_t *l, int next) {
    const roster_keyset_t *k[ROSTER_MAX_KEYS];
    size_t n = roster_usable_keysets(self->roster, l->id, rk_now_ms(), k,
                                     ROSTER_MAX_KEYS);
    size_t pos = n, want;
    char kid[17];

    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!memcmp(k[i]->transport_pk, l->tpk, 32))
            pos = i;
    want = pos == n ? 0 : next ? (pos + 1) % n : pos;
    if (!memcmp(k[want]->transport_pk, l->tpk, 32))
        return 0;
    memcpy(l->tpk, k[want]->transport_pk, 32);
    rk_hex(kid, k[want]->sign_key_id, 8);
    log_info("event=relay_key_switched relay_id=%s key_id=%s reason=\"%s\"",
             l->id, kid,
             next ? "the relay refused the handshake with its other key set"
                  : "the roster in force no longer lists the key in use as "
                    "usable");
    return 1;
}

/* Keeps relay link l on a transport key the roster in force lists as
 * usable now (after a roster install, and once a second: a validity can
 * end or begin without one). With next, after a refused handshake, the
 * relay's next usable set. A relay with no usable set left (revoked,
 * suspended, expired: perhaps its key was stolen) is not talked to on a
 * key the roster no longer vouches for: its socket is closed, and made
 * again once the roster lists a usable set. */
static void
s_link_check_key(daemon_t *self, link_t *l, int next) {
    int changed = s_link_pick_key(self, l, next);
    if (changed < 0) {
        if (!l->unusable)
            log_error(
                "event=relay_not_usable relay_id=%s roster_serial=%" PRIu64
                " reason=\"the roster in force lists no usable key set "
                "for this relay\" action=\"disconnected until it lists "
                "one\"",
                l->id, roster_serial(self->roster));
        l->unusable = 1;
        l->reconnect_at_ms = 0;
        s_link_close(l);
        snprintf(l->last_error, sizeof l->last_error,
                 "the roster lists no usable key set for this relay (revoked, "
                 "suspended or expired): not connected until it lists one");
        return;
    }
    if (changed == 0 && !l->unusable && !next)
        return;
    if (l->unusable)
        log_info("event=relay_usable relay_id=%s roster_serial=%" PRIu64, l->id,
                 roster_serial(self->roster));
    l->unusable = 0;
    l->reconnect_at_ms = 0;
    if (s_link_open(self, l) != RK_OK) {
        log_error("event=relay_connect_failed relay_id=%s reason=\"%s\"", l->id,
                  l->last_error);
        s_link_close(l); /* half made: not polled */
        l->reconnect_at_ms =
            rk_now_ms() + (l->backoff_ms ? l->backoff_ms : 1000);
    }
}

static int
s_send_frame(link_t *l, const uint8_t *buf, size_t len) {
    if (!l->sock || !l->connected)
        return -1;
    if (zmq_send(l->sock, buf, len, ZMQ_DONTWAIT) < 0) {
        log_warn("event=relay_send_failed relay_id=%s error=\"%s\"", l->id,
                 zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* Sends to every relay that answered our hello; returns how many took
 * it. */
static int
s_send_all(daemon_t *self, const uint8_t *buf, size_t len) {
    int sent = 0;
    for (size_t i = 0; i < self->n_links; i++)
        if (self->links[i].welcomed &&
            s_send_frame(&self->links[i], buf, len) == 0)
            sent++;
    return sent;
}

static int
s_any_welcomed(const daemon_t *self) {
    for (size_t i = 0; i < self->n_links; i++)
        if (self->links[i].welcomed)
            return 1;
    return 0;
}

/* The highest receipt index seen from relay l (each relay has its own
 * log, so its own numbering). */
static uint64_t
s_receipts_after(daemon_t *self, const link_t *l) {
    json_t *o =
        json_object_get(node_store_state(self->store), "receipts_after");
    json_t *v = json_is_object(o) ? json_object_get(o, l->id) : NULL;
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static void
s_set_receipts_after(daemon_t *self, const link_t *l, uint64_t v) {
    json_t *st = node_store_state(self->store);
    json_t *o = json_object_get(st, "receipts_after");
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(st, "receipts_after", o);
    }
    json_object_set_new(o, l->id, json_integer((json_int_t)v));
    self->state_dirty = 1;
}

static void
s_hello(daemon_t *self, link_t *l) {
    frame_t f;
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(&f, 0, sizeof f);
    f.type = FRAME_HELLO;
    f.hello.version = FRAME_VERSION;
    f.hello.has_credit = true;
    f.hello.credit = self->cfg.credit;
    f.hello.has_roster_serial = true;
    f.hello.roster_serial = roster_serial(self->roster);
    f.hello.has_receipts_after = true;
    f.hello.receipts_after = s_receipts_after(self, l);
    if (frame_encode(&f, &buf, &len) == RK_OK)
        s_send_frame(l, buf, len);
    free(buf);
}

static json_t *s_sent_get(daemon_t *self, const char *hex);
static void s_sent_save(daemon_t *self, const char *hex, json_t *rec);
static void s_mark_unsent(json_t *rec, const char *state, uint64_t time_ms);
static const char *s_relay_answer(const daemon_t *self, const char *hex,
                                  json_t *rec, const char *relay_id);
static int s_list_names(daemon_t *self, node_store_box_t box, char ***names,
                        size_t *n, char *why, size_t whylen);

typedef struct {
    uint64_t created_ms;
    char *name;
    unsigned answered; /* bit i: links[i] answered it for good */
} outbox_item_t;

static int
s_by_created(const void *a, const void *b) {
    const outbox_item_t *x = a, *y = b;
    if (x->created_ms != y->created_ms)
        return x->created_ms < y->created_ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Submits every envelope still in the outbox to relay l, or to every
 * welcomed relay when l is NULL (a relay answers a retry of the same bytes
 * with the same stored index), oldest first: after an outage the relay
 * gets them in the order they were sent. The timer's pass (l NULL) skips
 * what was queued less than --resubmit-ms ago. A relay that answered a
 * message for good (stored, or refused it for good) does not get it
 * again, also when it is welcomed anew: what it stored is in its log
 * (durable before "stored"), and a copy sent again could only be stored
 * again (a duplicate) or refused (expired since, ...), which says nothing
 * new. An entry every relay has answered for good (its removal
 * failed, or a relay it waited for is no longer configured) leaves the
 * outbox here. */
static void
s_resubmit(daemon_t *self, link_t *l) {
    char **names = NULL;
    size_t n = 0, sent = 0;
    uint64_t now = rk_now_ms();
    unsigned all = (1u << self->n_links) - 1,
             mine = l ? 1u << (size_t)(l - self->links) : 0;
    if (l ? !l->welcomed : !s_any_welcomed(self))
        return;
    if (s_list_names(self, NODE_STORE_OUTBOX, &names, &n, NULL, 0) != RK_OK) {
        /* Tried again in a period, not at the next turn of the loop. */
        self->last_resubmit_ms = now;
        return;
    }
    outbox_item_t *order = calloc(n ? n : 1, sizeof *order);
    if (!order) {
        node_store_free_names(names, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *rec = s_sent_get(self, names[i]);
        const char *t = json_string_value(json_object_get(rec, "created"));
        order[i].name = names[i];
        if (!t || rk_time_parse(t, &order[i].created_ms) != RK_OK)
            order[i].created_ms = UINT64_MAX; /* no record: last */
        for (size_t k = 0; k < self->n_links; k++)
            if (s_relay_answer(self, names[i], rec, self->links[k].id))
                order[i].answered |= 1u << k;
        json_decref(rec);
    }
    qsort(order, n, sizeof *order, s_by_created);
    for (size_t i = 0; i < n; i++) {
        uint8_t *env = NULL, *buf = NULL;
        size_t len = 0, blen = 0;
        /* The timer's pass leaves alone what was queued (and so sent)
         * less than a period ago: it is not overdue, and a second copy
         * would only cost the relay a duplicate, or a second refusal. */
        if (!l && order[i].created_ms <= now &&
            now - order[i].created_ms < (uint64_t)self->cfg.resubmit_ms)
            continue;
        if (order[i].answered == all) {
            json_t *rec = s_sent_get(self, order[i].name);
            const char *st = json_string_value(json_object_get(rec, "state"));
            /* No relay it waits for stored it: its record says so before
             * it leaves (as s_relay_answered's would have). */
            if (rec && (!st || !strcmp(st, "queued"))) {
                s_mark_unsent(rec, "rejected", now);
                s_sent_save(self, order[i].name, rec);
            }
            json_decref(rec);
            if (node_store_remove(self->store, NODE_STORE_OUTBOX,
                                  order[i].name) != RK_OK) {
                log_error("event=store_write_failed box=outbox msg=%s",
                          order[i].name);
            } else {
                if (self->orphans)
                    json_object_del(self->orphans, order[i].name);
                if (self->refusals)
                    json_object_del(self->refusals, order[i].name);
            }
            continue;
        }
        if (l && (order[i].answered & mine))
            continue;
        if (node_store_get_env(self->store, NODE_STORE_OUTBOX, order[i].name,
                               &env, &len) == RK_OK &&
            frame_encode_submit(env, len, &buf, &blen) == RK_OK) {
            int took = 0;
            if (l)
                took = s_send_frame(l, buf, blen) == 0;
            else
                for (size_t k = 0; k < self->n_links; k++)
                    took += self->links[k].welcomed &&
                            !(order[i].answered & (1u << k)) &&
                            s_send_frame(&self->links[k], buf, blen) == 0;
            if (took) {
                self->counters[C_SUBMITTED]++;
                sent++;
            }
        }
        free(buf);
        free(env);
    }
    if (sent)
        log_info("event=outbox_submitted count=%zu relay_id=%s", sent,
                 l ? l->id : "all");
    free(order);
    node_store_free_names(names, n);
    self->last_resubmit_ms = now;
}

/* A handshake the relay refused (our key not usable in its roster) or
 * that failed (the relay's key is not the roster's, e.g. an endpoint of
 * another relay). libzmq tries again by itself after some of these
 * failures, every ZMQ_RECONNECT_IVL (0.5 s), and not after others: the
 * socket is closed now and made again after the backoff that `status`
 * shows (1 s, doubled up to 60 s), whatever the failure. The first
 * refusal is an error line, and another reason (libzmq's event) is one
 * again; while they go on, a reminder at most every S_BOX_RELOG_PERIODS
 * --resubmit-ms periods. */
static void
s_on_refused(daemon_t *self, link_t *l, uint16_t event) {
    uint64_t now = rk_now_ms(), mono = rk_mono_us() / 1000;
    uint64_t relog = (uint64_t)S_BOX_RELOG_PERIODS * self->cfg.resubmit_ms;
    char since[40];

    s_link_close(l);
    l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : 1000;
    if (l->backoff_ms > 60000)
        l->backoff_ms = 60000;
    l->reconnect_at_ms = now + l->backoff_ms;
    if (!l->refusals++)
        l->refused_since_ms = now;
    rk_time_format(since, sizeof since, l->refused_since_ms);
    snprintf(l->last_error, sizeof l->last_error,
             "relay refused the handshake (our key not in its roster, or a "
             "wrong relay key), %" PRIu32 " time%s since %s",
             l->refusals, l->refusals == 1 ? "" : "s", since);
    if (l->refusals == 1 || event != l->refusal_event) {
        log_error("event=relay_handshake_refused relay=%s relay_id=%s "
                  "zmq_event=%u retry_in_ms=%" PRIu64,
                  l->endpoint, l->id, event, l->backoff_ms);
        l->refusal_logged_ms = mono;
        l->refusals_unlogged = 0;
    } else {
        l->refusals_unlogged++;
        if (mono - l->refusal_logged_ms >= relog) {
            log_error("event=relay_handshake_still_refused relay=%s "
                      "relay_id=%s zmq_event=%u since=%s attempts=%" PRIu32
                      " repeats=%" PRIu32 " retry_in_ms=%" PRIu64,
                      l->endpoint, l->id, event, since, l->refusals,
                      l->refusals_unlogged, l->backoff_ms);
            l->refusal_logged_ms = mono;
            l->refusals_unlogged = 0;
        }
    }
    l->refusal_event = event;
}

static void
s_on_monitor(daemon_t *self, link_t *l) {
    for (;;) {
        zmq_msg_t m;
        uint16_t event;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, l->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        memcpy(&event, zmq_msg_data(&m), sizeof event);
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        zmq_msg_recv(&m, l->mon, 0); /* endpoint */
        zmq_msg_close(&m);
        switch (event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            l->connected = 1;
            l->connected_since_ms = rk_now_ms();
            l->backoff_ms = 0;
            l->last_error[0] = 0;
            if (l->refusals)
                log_info("event=relay_handshake_recovered relay_id=%s "
                         "refused_attempts=%" PRIu32 " refused_for_ms=%" PRIu64,
                         l->id, l->refusals,
                         l->connected_since_ms - l->refused_since_ms);
            l->refusals = l->refusals_unlogged = 0;
            log_info("event=relay_connected relay=%s relay_id=%s", l->endpoint,
                     l->id);
            s_hello(self, l);
            break;
        case ZMQ_EVENT_DISCONNECTED:
            if (l->connected)
                log_warn("event=relay_disconnected relay=%s relay_id=%s "
                         "action=\"reconnecting\"",
                         l->endpoint, l->id);
            l->connected = l->welcomed = 0;
            /* After a refused handshake, keep saying why. */
            if (!l->reconnect_at_ms)
                snprintf(l->last_error, sizeof l->last_error,
                         "connection lost; reconnecting");
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            if (!l->reconnect_at_ms)
                snprintf(l->last_error, sizeof l->last_error,
                         "relay unreachable at %s; retrying", l->endpoint);
            break;
        default:
            s_on_refused(self, l, event);
            return; /* the socket is closed; stop reading its monitor */
        }
    }
}

/* ---- sent records ---- */

static const char *const s_box_names[NODE_STORE_N_BOXES] = {
    "outbox", "sent", "inbox", "quarantine", "hooks"};

/* The record box/name, or NULL (*rc says why: RK_ERR_NOT_FOUND, or why it
 * cannot be read). One that exists but cannot be read is logged, or a
 * receipt, an answer or a listing would pass over it without a word. */
static json_t *
s_get(daemon_t *self, node_store_box_t box, const char *name, int *rc) {
    json_t *rec = node_store_get_json(self->store, box, name, rc);
    if (rec || *rc == RK_ERR_NOT_FOUND)
        return rec;
    /* A sent record is looked up again at every resubmission, answer and
     * receipt of its message: said once a run, not each time. */
    if (box == NODE_STORE_SENT) {
        if (self->unreadable_sent &&
            json_object_get(self->unreadable_sent, name))
            return NULL;
        if (!self->unreadable_sent)
            self->unreadable_sent = json_object();
        if (self->unreadable_sent)
            json_object_set_new(self->unreadable_sent, name, json_true());
    }
    log_error("event=record_unreadable box=%s msg=%s reason=\"%s\"",
              s_box_names[box], name, rk_strerror(*rc));
    return rec;
}

/* Logs a listing of box that failed (reason) or succeeded (NULL), as
 * unlisted_t says: box_unreadable, box_still_unreadable, box_recovered. */
static void
s_unlisted_note(daemon_t *self, node_store_box_t box, const char *reason) {
    unlisted_t *u = &self->unlisted[box];
    uint64_t now = rk_mono_us() / 1000, wall = rk_now_ms();
    uint64_t relog_ms = (uint64_t)self->cfg.resubmit_ms * S_BOX_RELOG_PERIODS;
    char t[40];
    if (!reason) {
        if (u->reason[0])
            log_info("event=box_recovered box=%s unreadable_for_ms=%" PRIu64
                     " failed_listings=%" PRIu64,
                     s_box_names[box],
                     wall > u->since_ms ? wall - u->since_ms : 0, u->failures);
        memset(u, 0, sizeof *u);
        return;
    }
    u->failures++;
    if (u->reason[0] && !strcmp(u->reason, reason)) {
        /* The same failure again: a reminder now and then, with how many
         * listings failed since the last line. */
        u->repeats++;
        if (now - u->logged_ms < relog_ms)
            return;
        rk_time_format(t, sizeof t, u->since_ms);
        log_error("event=box_still_unreadable box=%s reason=\"cannot list "
                  "%s/%s: %s\" since=%s repeats=%" PRIu64,
                  s_box_names[box], node_store_dir(self->store),
                  s_box_names[box], reason, t, u->repeats);
    } else {
        log_error("event=box_unreadable box=%s reason=\"cannot list %s/%s: "
                  "%s\"",
                  s_box_names[box], node_store_dir(self->store),
                  s_box_names[box], reason);
        if (!u->reason[0])
            u->since_ms = wall;
        snprintf(u->reason, sizeof u->reason, "%s", reason);
    }
    u->logged_ms = now;
    u->repeats = 0;
}

/* The names in box, as node_store_list. A folder that cannot be listed is
 * logged with the OS error (s_unlisted_note), or a listing, a lookup or
 * the outbox's resubmission would find it empty without a word; why (when
 * not NULL) gets "box/ cannot be listed: <reason>" for the control
 * socket's reply. */
static int
s_list_names(daemon_t *self, node_store_box_t box, char ***names, size_t *n,
             char *why, size_t whylen) {
    char reason[200];
    int rc = node_store_list(self->store, box, names, n);
    if (rc == RK_OK) {
        s_unlisted_note(self, box, NULL);
        return rc;
    }
    snprintf(reason, sizeof reason, "%s",
             rc == RK_ERR_IO ? strerror(errno) : rk_strerror(rc));
    s_unlisted_note(self, box, reason);
    if (why)
        snprintf(why, whylen, "%s/ cannot be listed: %s", s_box_names[box],
                 reason);
    return rc;
}

/* The sent record of hex, or NULL. */
static json_t *
s_sent_get(daemon_t *self, const char *hex) {
    int rc;
    return s_get(self, NODE_STORE_SENT, hex, &rc);
}

static void
s_sent_save(daemon_t *self, const char *hex, json_t *rec) {
    if (node_store_put_json(self->store, NODE_STORE_SENT, hex, rec) != RK_OK)
        log_error("event=store_write_failed box=sent msg=%s", hex);
}

/* Answers kept per recipient in "answers"; past it, only an answer with a
 * status not yet listed, so the first of each status (all a drill report
 * needs) is never lost and a chatty peer cannot grow the record. */
#define S_ANSWERS_MAX 32

/* Appends {"at", "status", "comment"?} to r["answers"]. */
static void
s_add_answer(json_t *r, const char *status, const char *at,
             const char *comment) {
    json_t *list = json_object_get(r, "answers"), *a;
    if (!json_is_array(list)) {
        /* set_new frees list when it fails (out of memory): then no list */
        if (!(list = json_array()) ||
            json_object_set_new(r, "answers", list) != 0)
            return;
    }
    if (json_array_size(list) >= S_ANSWERS_MAX) {
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) {
            const char *st = json_string_value(json_object_get(v, "status"));
            if (st && !strcmp(st, status))
                return;
        }
    }
    a = json_pack("{s:s,s:s}", "at", at, "status", status);
    if (a && comment)
        json_object_set_new(a, "comment", json_string(comment));
    json_array_append_new(list, a);
}

/* Sets recipients[recipient].state (and time) and keeps the time each
 * phase was first reached: "stored", "delivered", "expired", and for the
 * recipient's own answers "answered" with "answer" (its status) and
 * "comment", all three of the first answer, plus "answers": each answer
 * with its own time ({"at", "status", "comment"}), so a later, more
 * advanced answer is credited at its own time. Drill reports are
 * computed from these. */
static void
s_set_recipient(json_t *rec, const char *recipient, const char *state,
                uint64_t time_ms, const char *comment) {
    json_t *rs = json_object_get(rec, "recipients"), *r;
    const char *phase = state;
    char t[40];
    if (!json_is_object(rs))
        return;
    r = json_object_get(rs, recipient);
    if (!json_is_object(r)) {
        /* set_new frees r when it fails (out of memory) */
        if (!(r = json_object()) || json_object_set_new(rs, recipient, r) != 0)
            return;
    }
    rk_time_format(t, sizeof t, time_ms);
    json_object_set_new(r, "state", json_string(state));
    json_object_set_new(r, "time", json_string(t));
    if (payload_ack_status_from_name(state)) {
        phase = "answered";
        if (!json_object_get(r, "answered")) {
            json_object_set_new(r, "answer", json_string(state));
            if (comment)
                json_object_set_new(r, "comment", json_string(comment));
        }
        s_add_answer(r, state, t, comment);
    }
    if (strcmp(phase, "queued") != 0 && !json_object_get(r, phase))
        json_object_set_new(r, phase, json_string(t));
}

/* For a message that left the outbox with no relay holding it: state
 * (the message's) becomes "rejected" (every relay refused it for good) or
 * "not-sent" (it was never handed over), and so does each recipient still
 * "queued" (or without a state): it is queued nowhere, and none of them
 * gets it. */
static void
s_mark_unsent(json_t *rec, const char *state, uint64_t time_ms) {
    const char *k;
    json_t *v;
    json_object_set_new(rec, "state", json_string(state));
    json_object_foreach(json_object_get(rec, "recipients"), k, v) {
        const char *st = json_string_value(json_object_get(v, "state"));
        if (!st || !strcmp(st, "queued"))
            s_set_recipient(rec, k, state, time_ms, NULL);
    }
}

/* What the relay relay_id answered for good for the message hex:
 * "stored", "rejected" (refused for good), or NULL (no answer yet, or a
 * passing refusal only). From its sent record rec ("relays"), or, with no
 * readable record (rec NULL), from what was kept in memory for it
 * (self->orphans). */
static const char *
s_relay_answer(const daemon_t *self, const char *hex, json_t *rec,
               const char *relay_id) {
    json_t *o = rec             ? json_object_get(rec, "relays")
                : self->orphans ? json_object_get(self->orphans, hex)
                                : NULL;
    const char *st = json_string_value(json_object_get(o, relay_id));
    return st && (!strcmp(st, "stored") || !strcmp(st, "rejected")) ? st : NULL;
}

/* Records what relay l answered for a message in its sent record, and
 * takes the message out of the outbox once every relay has answered it
 * for good (stored, or a final refusal). */
static void
s_relay_answered(daemon_t *self, link_t *l, const char *hex, json_t *rec,
                 const char *state) {
    json_t *relays = json_object_get(rec, "relays");
    int done = 1;
    if (!json_is_object(relays)) {
        relays = json_object();
        json_object_set_new(rec, "relays", relays);
    }
    json_object_set_new(relays, l->id, json_string(state));
    for (size_t i = 0; i < self->n_links; i++) {
        const char *st =
            json_string_value(json_object_get(relays, self->links[i].id));
        done &= st && (!strcmp(st, "stored") || !strcmp(st, "rejected"));
    }
    if (done) {
        const char *st = json_string_value(json_object_get(rec, "state"));
        /* Every relay refused it for good, none stored it (a "stored"
         * from any relay made the message "stored"): it leaves the
         * outbox, and no one gets it. Until then it is "queued": another
         * relay may still store it. */
        if (!st || strcmp(st, "stored") != 0)
            s_mark_unsent(rec, "rejected", rk_now_ms());
    }
    s_sent_save(self, hex, rec);
    if (done && node_store_remove(self->store, NODE_STORE_OUTBOX, hex) != RK_OK)
        log_error("event=store_write_failed box=outbox msg=%s", hex);
    /* Answers kept while its record was unreadable (restored since). */
    if (done && self->orphans)
        json_object_del(self->orphans, hex);
    if (done && self->refusals)
        json_object_del(self->refusals, hex);
}

/* As s_relay_answered, for a message in the outbox whose sent record
 * cannot be read (get_rc: RK_ERR_NOT_FOUND, deleted; else corrupt or
 * unreadable). Its relays' answers are kept in self->orphans, not in a
 * record made up for it (a corrupt one may be evidence: it is not
 * overwritten), and the entry leaves the outbox once every relay has
 * answered for good (answer: "stored" or "rejected"). An answer for a
 * message no longer in the outbox (a repeat, late) changes nothing. */
static void
s_orphan_answered(daemon_t *self, link_t *l, const char *hex,
                  const char *answer, int get_rc) {
    const char *record = get_rc == RK_ERR_NOT_FOUND ? "missing" : "unreadable";
    json_t *o = NULL;
    const char *prev;
    uint8_t *env = NULL;
    size_t answered = 0, len = 0;
    int stored = 0; /* some relay stored it */
    int is_new, rc = node_store_get_env(self->store, NODE_STORE_OUTBOX, hex,
                                        &env, &len);

    free(env);
    if (rc == RK_ERR_NOT_FOUND) {
        /* Gone from the outbox by another way (its record restored, or
         * removed by hand): nothing more to keep for it. */
        if (self->orphans)
            json_object_del(self->orphans, hex);
        if (self->refusals)
            json_object_del(self->refusals, hex);
        return;
    }
    if (!self->orphans)
        self->orphans = json_object();
    if (self->orphans && !(o = json_object_get(self->orphans, hex))) {
        o = json_object();
        if (o && json_object_set_new(self->orphans, hex, o) != 0)
            o = NULL; /* set_new freed it */
    }
    prev = json_string_value(json_object_get(o, l->id));
    is_new = !prev || strcmp(prev, answer) != 0;
    if (o)
        json_object_set_new(o, l->id, json_string(answer));
    for (size_t i = 0; i < self->n_links; i++)
        /* Out of memory (o NULL): only this answer is known. */
        answered += o ? json_object_get(o, self->links[i].id) != NULL
                      : &self->links[i] == l;
    if (answered < self->n_links) {
        /* Each relay's first answer, not every repeat of it. */
        if (is_new)
            log_warn("event=outbox_without_record msg=%s relay_id=%s "
                     "answer=%s record=%s answered=%zu relays=%zu "
                     "action=\"kept in the outbox until every relay "
                     "answered\"",
                     hex, l->id, answer, record, answered, self->n_links);
        return;
    }
    /* No record will say "rejected": this line ends the message's story,
     * so it says when no relay took it. */
    for (size_t i = 0; i < self->n_links; i++) {
        const char *a =
            o ? json_string_value(json_object_get(o, self->links[i].id))
            : &self->links[i] == l ? answer
                                   : NULL;
        stored |= a && !strcmp(a, "stored");
    }
    log_warn("event=outbox_without_record msg=%s relay_id=%s answer=%s "
             "record=%s answered=%zu relays=%zu action=\"removed from the "
             "outbox%s\"",
             hex, l->id, answer, record, answered, self->n_links,
             stored ? "" : ": every relay refused it for good, no one gets it");
    if (node_store_remove(self->store, NODE_STORE_OUTBOX, hex) != RK_OK)
        log_error("event=store_write_failed box=outbox msg=%s", hex);
    if (self->orphans)
        json_object_del(self->orphans, hex);
    if (self->refusals)
        json_object_del(self->refusals, hex);
}

static void
s_on_stored(daemon_t *self, link_t *l, const frame_stored_t *s) {
    char hex[33];
    json_t *rec;
    int get_rc;
    s_hex(hex, s->msg_id);
    rec = s_get(self, NODE_STORE_SENT, hex, &get_rc);
    if (rec) {
        const char *k;
        json_t *v;
        json_t *lr = json_object_get(rec, "last_rejection");
        const char *by = json_string_value(json_object_get(lr, "relay"));
        json_object_set_new(rec, "state", json_string("stored"));
        json_object_set_new(rec, "index", json_integer((json_int_t)s->index));
        /* This relay's refusal, a passing one or for good after all, no
         * longer stands: it has the message in its log. Another relay's
         * stays (and one that names no relay, from an older record). */
        if (lr && by && !strcmp(by, l->id))
            json_object_del(rec, "last_rejection");
        /* Recipients still "queued" (or "rejected": this relay stored it
         * after all) are now "stored" at the relay (one with no state
         * too: a record edited by hand must not crash us at every start,
         * as its message is submitted again each time). */
        json_object_foreach(json_object_get(rec, "recipients"), k, v) {
            const char *st = json_string_value(json_object_get(v, "state"));
            if (!st || !strcmp(st, "queued") || !strcmp(st, "rejected"))
                s_set_recipient(rec, k, "stored", s->time_ms, NULL);
        }
        s_relay_answered(self, l, hex, rec, "stored");
        json_decref(rec);
    } else {
        s_orphan_answered(self, l, hex, "stored", get_rc);
    }
    self->counters[C_STORED]++;
    log_info("event=stored msg=%s relay_id=%s index=%" PRIu64, hex, l->id,
             s->index);
}

/* Whether this is relay_id's first final refusal of msg hex this run, and
 * notes it (self->refusals). Out of memory: 1, said again. */
static int
s_refusal_new(daemon_t *self, const char *hex, const char *relay_id) {
    json_t *m;
    if (!self->refusals && !(self->refusals = json_object()))
        return 1;
    if (!(m = json_object_get(self->refusals, hex))) {
        /* set_new frees m when it fails */
        if (!(m = json_object()) ||
            json_object_set_new(self->refusals, hex, m) != 0)
            return 1;
    }
    if (json_object_get(m, relay_id))
        return 0;
    json_object_set_new(m, relay_id, json_true());
    return 1;
}

static void
s_on_rejected(daemon_t *self, link_t *l, const frame_rejected_t *r) {
    char hex[33];
    json_t *rec;
    const char *prior;
    int get_rc;
    int transient = r->code == FRAME_REJECT_STORAGE ||
                    r->code == FRAME_REJECT_BUSY ||
                    r->code == FRAME_REJECT_RATE_LIMITED ||
                    r->code == FRAME_REJECT_INTERNAL;
    self->counters[C_REJECTED]++;
    if (!r->has_msg_id) {
        log_warn("event=relay_rejected relay_id=%s code=%s reason=\"%s\"",
                 l->id, frame_reject_name(r->code), r->reason);
        snprintf(l->last_error, sizeof l->last_error,
                 "relay refused a frame: %s: %s", frame_reject_name(r->code),
                 r->reason);
        return;
    }
    s_hex(hex, r->msg_id);
    rec = s_get(self, NODE_STORE_SENT, hex, &get_rc);
    prior = s_relay_answer(self, hex, rec, l->id);
    if (prior) {
        /* This relay answered the message for good before: what it
         * refuses now is a second copy (one sent before its answer came
         * back), because the message has expired since, or the relay no
         * longer holds it (replay), ... Its answer stands: a message it
         * stored is in its log, and a refusal for good keeps its own code
         * and reason. */
        log_info("event=repeat_refused msg=%s relay_id=%s code=%s "
                 "answer=%s reason=\"%s\"",
                 hex, l->id, frame_reject_name(r->code), prior, r->reason);
        json_decref(rec);
        return;
    }
    if (transient) {
        log_warn("event=rejected_will_retry msg=%s relay_id=%s code=%s "
                 "reason=\"%s\"",
                 hex, l->id, frame_reject_name(r->code), r->reason);
    } else if (s_refusal_new(self, hex, l->id)) {
        log_error("event=rejected msg=%s relay_id=%s code=%s reason=\"%s\"",
                  hex, l->id, frame_reject_name(r->code), r->reason);
    } else {
        /* The same relay refusing a resubmission: said already. */
        log_debug("event=rejected msg=%s relay_id=%s code=%s reason=\"%s\"",
                  hex, l->id, frame_reject_name(r->code), r->reason);
    }
    if (!rec) {
        /* Refused for good by this relay; another may still store it. */
        if (!transient)
            s_orphan_answered(self, l, hex, "rejected", get_rc);
        return;
    }
    {
        const char *by = json_string_value(
            json_object_get(json_object_get(rec, "last_rejection"), "relay"));
        const char *by_answer = by ? s_relay_answer(self, hex, rec, by) : NULL;
        /* The refusal that stands: a passing one does not hide another
         * relay's refusal for good. The message's state changes only once
         * every relay has answered (s_relay_answered): "stored" by
         * another still counts, and one yet to answer may store it. */
        if (!transient || !by || !strcmp(by, l->id) || !by_answer ||
            strcmp(by_answer, "rejected") != 0) {
            json_t *why = json_object();
            json_object_set_new(why, "code",
                                json_string(frame_reject_name(r->code)));
            json_object_set_new(why, "reason", json_string(r->reason));
            json_object_set_new(why, "relay", json_string(l->id));
            json_object_set_new(rec, "last_rejection", why);
        }
    }
    if (transient)
        s_sent_save(self, hex, rec); /* stays in the outbox */
    else
        s_relay_answered(self, l, hex, rec, "rejected");
    json_decref(rec);
}

static void
s_on_receipt(daemon_t *self, link_t *l, const frame_receipt_t *r) {
    int told = 0; /* the recipient's state changed with this receipt */
    char hex[33];
    json_t *rec;
    s_hex(hex, r->msg_id);
    rec = s_sent_get(self, hex);
    if (rec) {
        json_t *cur =
            json_object_get(json_object_get(rec, "recipients"), r->recipient);
        const char *state = json_string_value(json_object_get(cur, "state"));
        int early =
            !state || !strcmp(state, "queued") || !strcmp(state, "stored") ||
            /* another relay got it to the recipient after all */
            (r->status == FRAME_RECEIPT_DELIVERED &&
             (!strcmp(state, "undeliverable") || !strcmp(state, "expired")));
        /* An acknowledgement may have arrived first, or another relay may
         * have delivered it: never go back to an earlier state. */
        if (early) {
            told = 1;
            s_set_recipient(rec, r->recipient,
                            frame_receipt_status_name(r->status), r->time_ms,
                            NULL);
            cur = json_object_get(json_object_get(rec, "recipients"),
                                  r->recipient);
            if (json_is_object(cur)) {
                if (r->status == FRAME_RECEIPT_UNDELIVERABLE && r->reason)
                    json_object_set_new(cur, "reason", json_string(r->reason));
                else
                    json_object_del(cur, "reason");
            }
        } else if (r->status == FRAME_RECEIPT_DELIVERED &&
                   json_is_object(cur) && !json_object_get(cur, "delivered")) {
            char t[40];
            rk_time_format(t, sizeof t, r->time_ms);
            json_object_set_new(cur, "delivered", json_string(t));
        }
        s_sent_save(self, hex, rec);
        json_decref(rec);
    }
    if (r->index > s_receipts_after(self, l))
        s_set_receipts_after(self, l, r->index);
    self->counters[C_RECEIPTS]++;
    if (r->status == FRAME_RECEIPT_UNDELIVERABLE && told)
        log_warn("event=undeliverable msg=%s relay_id=%s recipient=%s "
                 "reason=%s action=\"the recipient left the roster and will "
                 "never get it; reach it another way\"",
                 hex, l->id, r->recipient, r->reason ? r->reason : "-");
    else
        log_info("event=receipt msg=%s relay_id=%s recipient=%s status=%s", hex,
                 l->id, r->recipient, frame_receipt_status_name(r->status));
}

/* ---- sending ---- */

/* The answer to a send whose write of DIR/box/hex.ext failed with rc,
 * naming the file and, for RK_ERR_IO, errno e ("No space left on device"
 * is the operator's to fix, an I/O error the disk's): nothing was sent. */
static void
s_write_error(const daemon_t *self, char *err, size_t errlen, const char *box,
              const char *hex, const char *ext, int rc, int e) {
    snprintf(err, errlen, "cannot write %s/%s/%s%s: %s; nothing was sent",
             node_store_dir(self->store), box, hex, ext,
             rc == RK_ERR_IO && e ? strerror(e) : rk_strerror(rc));
}

/* This node's key set in the roster: the one holding the keys of its key
 * file (a rotation lists several; the newest is not necessarily ours, as
 * long as we run with the previous key file), usable at at_ms. *out is
 * borrowed from the roster. err says what is wrong. Returns 0,
 * RK_ERR_UNKNOWN_KEY (no set holds these keys) or the errors of
 * roster_usable_keys. */
static int
s_own_keyset(const roster_t *roster, const identity_t *id, uint64_t at_ms,
             const roster_keyset_t **out, char *err, size_t errlen) {
    const identity_public_t *me = identity_public(id);
    const roster_keyset_t *k = roster_keyset_holding(
        roster, me->id, me->sign_pk, me->enc_pk, me->transport_pk);
    int rc;

    if (!k) {
        rc = roster_usable_keys(roster, me->id, NULL, at_ms, out);
        if (rc != RK_OK)
            snprintf(err, errlen,
                     "this node (%s) has no usable key in the roster: %s",
                     me->id, rk_strerror(rc));
        else
            snprintf(err, errlen,
                     "the roster lists other keys for %s than this key file "
                     "(none of its key sets holds this file's keys)",
                     me->id);
        return rc != RK_OK ? rc : RK_ERR_UNKNOWN_KEY;
    }
    rc = roster_usable_keys(roster, me->id, k->sign_key_id, at_ms, out);
    if (rc != RK_OK)
        snprintf(err, errlen,
                 "this node (%s) has no usable key in the roster: the key "
                 "set of this key file is %s",
                 me->id, rk_strerror(rc));
    return rc;
}

/* Seals payload p (kind) to targets, puts it in the outbox and the sent
 * records (with request_id, when not NULL), and submits it. On success hex
 * gets the msg id. */
static int
s_send_payload(daemon_t *self, const payload_t *p, envelope_kind_t kind,
               const char *const *targets, size_t n_targets,
               uint64_t expires_ms, const char *drill_id,
               const uint8_t *in_reply_to, const char *request_id,
               const char *request_fp, char hex[33], char *err, size_t errlen) {
    const char **ids = NULL;
    size_t n_ids = 0, plen = 0;
    envelope_recipient_t *r = NULL;
    const roster_keyset_t *mine = NULL;
    envelope_params_t ep;
    uint8_t *plain = NULL, *env = NULL, msg_id[16], *buf = NULL;
    size_t env_len = 0, blen = 0;
    const char *why = NULL;
    json_t *rec = NULL, *rs, *to;
    uint64_t now = rk_now_ms();
    char t[40];
    int rc;

    rc = roster_expand(self->roster, targets, n_targets, &ids, &n_ids, err,
                       errlen);
    if (rc != RK_OK)
        return rc;
    {
        /* A group reaches its members other than us; naming ourselves
         * explicitly still works. */
        const char *me_id = identity_id(self->cfg.identity);
        int named = 0;
        size_t w = 0;
        for (size_t i = 0; i < n_targets; i++)
            named |= strcmp(targets[i], me_id) == 0;
        for (size_t i = 0; i < n_ids; i++)
            if (named || strcmp(ids[i], me_id) != 0)
                ids[w++] = ids[i];
        n_ids = w;
        if (n_ids == 0) {
            snprintf(err, errlen,
                     "no recipient left: the group has no "
                     "active member but us");
            rc = RK_ERR_INVALID;
            goto cleanup;
        }
    }
    rc =
        s_own_keyset(self->roster, self->cfg.identity, now, &mine, err, errlen);
    if (rc != RK_OK)
        goto cleanup;
    r = calloc(n_ids ? n_ids : 1, sizeof *r);
    if (!r) {
        rc = RK_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n_ids; i++) {
        const roster_keyset_t *k = NULL;
        /* The newest usable set: once a rotation is in the roster, new
         * traffic goes to the new key, never on to a replaced (perhaps
         * compromised) one. */
        rc = roster_usable_keys(self->roster, ids[i], NULL, now, &k);
        if (rc != RK_OK) {
            snprintf(err, errlen, "%s: no usable key: %s", ids[i],
                     rk_strerror(rc));
            goto cleanup;
        }
        r[i].id = ids[i];
        r[i].enc_pk = k->enc_pk;
    }
    rc = payload_encode(p, &plain, &plen, &why);
    if (rc != RK_OK) {
        snprintf(err, errlen, "%s", why ? why : rk_strerror(rc));
        goto cleanup;
    }
    memset(&ep, 0, sizeof ep);
    ep.sender = identity_id(self->cfg.identity);
    ep.sign_sk = identity_sign_sk(self->cfg.identity);
    ep.sign_key_id = mine->sign_key_id;
    ep.kind = kind;
    ep.created_ms = now;
    ep.expires_ms = expires_ms;
    ep.exercise = drill_id != NULL;
    ep.drill_id = drill_id;
    ep.in_reply_to = in_reply_to;
    rc = envelope_seal(&ep, r, n_ids, plain, plen, &env, &env_len, msg_id);
    if (rc != RK_OK) {
        snprintf(err, errlen, "cannot seal: %s", rk_strerror(rc));
        goto cleanup;
    }
    s_hex(hex, msg_id);
    /* The sent record first, then the outbox: once the outbox holds it,
     * it will be sent, and its record exists to say how it went. */
    rec = json_object();
    rs = json_object();
    to = json_array();
    rk_time_format(t, sizeof t, now);
    for (size_t i = 0; i < n_targets; i++)
        json_array_append_new(to, json_string(targets[i]));
    json_object_set_new(rec, "msg_id", json_string(hex));
    json_object_set_new(rec, "kind", json_string(envelope_kind_name(kind)));
    json_object_set_new(rec, "to", to);
    json_object_set_new(rec, "created", json_string(t));
    json_object_set_new(rec, "state", json_string("queued"));
    if (drill_id)
        json_object_set_new(rec, "drill_id", json_string(drill_id));
    if (request_id) {
        json_object_set_new(rec, "request_id", json_string(request_id));
        json_object_set_new(rec, "request_fp", json_string(request_fp));
    }
    if (p->kind == PAYLOAD_NOTICE)
        json_object_set_new(rec, "title", json_string(p->notice.title));
    json_object_set_new(rec, "recipients", rs);
    for (size_t i = 0; i < n_ids; i++)
        s_set_recipient(rec, ids[i], "queued", now, NULL);
    rc = node_store_put_json(self->store, NODE_STORE_SENT, hex, rec);
    if (rc != RK_OK) {
        s_write_error(self, err, errlen, "sent", hex, ".json", rc, errno);
        goto cleanup;
    }
    rc = node_store_put_env(self->store, NODE_STORE_OUTBOX, hex, env, env_len);
    if (rc != RK_OK) {
        /* The cause first: the removal below may change errno. */
        s_write_error(self, err, errlen, "outbox", hex, ".env", rc, errno);
        /* Not queued: no record may say it was (a repeat of its request
         * would find it). If even that fails, its state stays "queued"
         * with nothing in the outbox, and the log says so. */
        if (node_store_remove(self->store, NODE_STORE_SENT, hex) != RK_OK)
            log_error("event=store_write_failed box=sent msg=%s "
                      "reason=\"the record of a send that failed stays\"",
                      hex);
        goto cleanup;
    }
    log_info("event=queued msg=%s kind=%s recipients=%zu", hex,
             envelope_kind_name(kind), n_ids);
    if (frame_encode_submit(env, env_len, &buf, &blen) == RK_OK &&
        s_send_all(self, buf, blen) > 0)
        self->counters[C_SUBMITTED]++;
cleanup:
    json_decref(rec);
    free(buf);
    free(env);
    if (plain)
        sodium_memzero(plain, plen);
    free(plain);
    free(r);
    free(ids);
    return rc;
}

/* ---- receiving ---- */

static void
s_confirm(link_t *l, uint64_t index, const uint8_t msg_id[16]) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if (frame_encode_confirm(index, msg_id, &buf, &len) == RK_OK)
        s_send_frame(l, buf, len);
    free(buf);
}

/* A delivery from its arrival to its confirm. The deliveries read in one
 * burst are written together (node_store_batch: one sync for all), then
 * confirmed and acted on in the order they came. */
typedef enum {
    S_DLV_UNDECODABLE, /* quarantined raw: no msg id to confirm with */
    S_DLV_QUARANTINE,  /* refused on arrival, kept with the reason */
    S_DLV_DUPLICATE,   /* already in the inbox, or earlier in the burst */
    S_DLV_INBOX        /* verified, opened, written to the inbox */
} dlv_kind_t;

typedef struct {
    link_t *l;
    uint64_t index;
    dlv_kind_t kind;
    uint8_t msg_id[16];
    char hex[33];
    envelope_t *env; /* decoded: all but S_DLV_UNDECODABLE */
    payload_t *p;    /* S_DLV_INBOX */
    json_t *rec;     /* S_DLV_INBOX */
    char name[64];   /* S_DLV_QUARANTINE and S_DLV_UNDECODABLE */
    char reason[300];
    /* The same message (or refused envelope) earlier in this burst: the
     * delivery whose files stand for this one too; -1: none; -2: a refused
     * envelope an earlier burst already kept in the quarantine. */
    long first;
    int staged; /* its files were all written (to be committed) */
} dlv_t;

#define S_BURST_MAX 64 /* deliveries written with one sync, at most */
/* A burst is committed once reading and checking it took this long, even
 * with more deliveries waiting: its first deliveries should not wait for
 * the last ones' checks (about 0.5 ms each) much longer than for the
 * sync. */
#define S_BURST_US 3000

typedef struct burst {
    node_store_batch_t *batch;
    dlv_t v[S_BURST_MAX];
    size_t n;
    uint64_t started_us; /* when its first delivery was read */
} burst_t;

/* Writes the envelope refused on arrival, and why, to the quarantine. */
static void
s_quarantine(daemon_t *self, burst_t *b, dlv_t *x, const frame_deliver_t *d,
             const char *reason) {
    uint8_t h[32];
    char hh[17], t[40];
    json_t *rec = json_object();
    crypto_hash_sha256(h, d->envelope, d->envelope_len);
    rk_hex(hh, h, 8);
    snprintf(x->name, sizeof x->name, "%016" PRIx64 "-%s", d->index, hh);
    snprintf(x->reason, sizeof x->reason, "%s", reason);
    s_now_text(t, sizeof t);
    json_object_set_new(rec, "relay_index", json_integer((json_int_t)d->index));
    json_object_set_new(rec, "received", json_string(t));
    json_object_set_new(rec, "reason", json_string(reason));
    json_object_set_new(rec, "size", json_integer((json_int_t)d->envelope_len));
    /* Kept by an earlier burst whose confirm the relay did not get: it is
     * a duplicate, confirmed again, not written again. */
    if (node_store_has(self->store, NODE_STORE_QUARANTINE, x->name)) {
        x->first = -2;
        x->staged = 1;
        json_decref(rec);
        return;
    }
    /* The same envelope twice in one burst (the relay delivered again what
     * was in flight): one file. */
    for (size_t i = 0; i < b->n; i++)
        if ((b->v[i].kind == S_DLV_QUARANTINE ||
             b->v[i].kind == S_DLV_UNDECODABLE) &&
            b->v[i].first == -1 && strcmp(b->v[i].name, x->name) == 0) {
            x->first = (long)i;
            json_decref(rec);
            return;
        }
    x->staged =
        node_store_batch_env(self->store, b->batch, b->n, NODE_STORE_QUARANTINE,
                             x->name, d->envelope, d->envelope_len) == RK_OK &&
        node_store_batch_json(self->store, b->batch, b->n,
                              NODE_STORE_QUARANTINE, x->name, rec) == RK_OK;
    json_decref(rec);
}

/* Whether a message of this kind runs the hook: every kind but answers. */
static int
s_wants_hook(const daemon_t *self, const payload_t *p) {
    return self->cfg.hook && p && p->kind != PAYLOAD_ACK &&
           p->kind != PAYLOAD_DRILL_REPLY;
}

/* Stages hooks/<hex>.json in delivery b->n's group. */
static int
s_stage_hook_marker(daemon_t *self, burst_t *b, const char *hex) {
    json_t *m = json_pack("{s:s}", "msg_id", hex);
    int rc = m ? node_store_batch_json(self->store, b->batch, b->n,
                                       NODE_STORE_HOOKS, hex, m)
               : RK_ERR_NOMEM;
    json_decref(m);
    return rc;
}

/* The hook of hex has run (or failed, or cannot run): its marker goes,
 * and the journal says so if it holds it. The folder is not synced: a
 * crash right after can bring the marker back, and the hook then runs
 * again (at least once). */
static void
s_hook_done(daemon_t *self, const char *hex) {
    if (node_store_forget(self->store, NODE_STORE_HOOKS, hex) != RK_OK)
        log_warn("event=hook_marker_not_removed msg=%s effect=\"its hook "
                 "runs again when renrakud next starts\"",
                 hex);
}

/* Runs the hook of hex, fed rec (NULL: its inbox record, read when the
 * hook starts), or queues it while S_MAX_HOOKS run. */
static void
s_run_hook(daemon_t *self, const char *hex, const json_t *rec) {
    int in = -1, rc = RK_OK;
    pid_t pid;
    char *text;
    json_t *own = NULL;
    size_t slot = S_MAX_HOOKS;

    if (!self->cfg.hook)
        return;
    for (size_t i = 0; i < S_MAX_HOOKS; i++)
        if (!self->hooks[i].pid) {
            slot = i;
            break;
        }
    if (slot == S_MAX_HOOKS && self->n_hook_wait >= S_MAX_HOOKS_WAITING) {
        log_error("event=hook_skipped msg=%s reason=\"%d hooks already "
                  "waiting\" action=\"it runs when renrakud next starts\"",
                  hex, S_MAX_HOOKS_WAITING);
        return; /* not failed: its marker stays */
    }
    if (slot == S_MAX_HOOKS) {
        /* Its turn comes when one finishes (s_reap_hooks). */
        if (self->hook_wait_head + self->n_hook_wait == self->cap_hook_wait) {
            if (self->hook_wait_head) { /* room at the front: move up */
                memmove(self->hook_wait, self->hook_wait + self->hook_wait_head,
                        self->n_hook_wait * sizeof *self->hook_wait);
                self->hook_wait_head = 0;
            } else {
                size_t cap = self->cap_hook_wait ? self->cap_hook_wait * 2 : 64;
                char(*g)[33] = realloc(self->hook_wait, cap * sizeof *g);
                if (!g) {
                    log_error("event=hook_skipped msg=%s reason=\"%d hooks "
                              "still running, and no memory to queue it\" "
                              "action=\"it runs when renrakud next starts\"",
                              hex, S_MAX_HOOKS);
                    return; /* not failed: its marker stays */
                }
                self->hook_wait = g;
                self->cap_hook_wait = cap;
            }
        }
        snprintf(self->hook_wait[self->hook_wait_head + self->n_hook_wait], 33,
                 "%s", hex);
        self->n_hook_wait++;
        log_info("event=hook_queued msg=%s waiting=%zu", hex,
                 self->n_hook_wait);
        return;
    }
    if (!rec) /* read at its turn: the record as it is now */
        rec = own =
            node_store_get_json(self->store, NODE_STORE_INBOX, hex, &rc);
    if (!rec) {
        if (rc == RK_ERR_NOT_FOUND) {
            log_warn("event=hook_dropped msg=%s reason=\"not in the inbox\"",
                     hex);
            s_hook_done(self, hex);
        } else {
            self->counters[C_HOOKS_FAILED]++;
            log_error("event=hook_unreadable msg=%s reason=\"inbox record: "
                      "%s\" action=\"kept due; tried again at the next "
                      "start\"",
                      hex, rk_strerror(rc));
        }
        return;
    }
    /* The hook's stdin is a file in memory, written whole before it
     * starts: a hook that never reads it (or reads it late) cannot hold
     * renrakud up, as a pipe would once the notice outgrew its buffer. */
    text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(own);
    if (!text || (in = memfd_create("renraku-hook-stdin", MFD_CLOEXEC)) < 0 ||
        rk_write_all(in, text, strlen(text)) != RK_OK ||
        rk_write_all(in, "\n", 1) != RK_OK || lseek(in, 0, SEEK_SET) != 0) {
        log_error("event=hook_failed msg=%s reason=\"its stdin: %s\"", hex,
                  text ? strerror(errno) : "out of memory");
        self->counters[C_HOOKS_FAILED]++;
        if (in >= 0)
            close(in);
        free(text);
        s_hook_done(self, hex);
        return;
    }
    free(text);
    pid = fork();
    if (pid == 0) {
        /* A process group of its own: a timeout kills what the shell
         * started too, not the shell alone. SIGPIPE as a shell expects
         * it (renrakud ignores it, and exec keeps that). */
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        dup2(in, 0); /* without close-on-exec */
        execl("/bin/sh", "sh", "-c", self->cfg.hook, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        setpgid(pid, pid); /* as the child does: whichever runs first */
    close(in);
    if (pid < 0) {
        log_error("event=hook_failed msg=%s reason=\"fork: %s\"", hex,
                  strerror(errno));
        self->counters[C_HOOKS_FAILED]++;
        s_hook_done(self, hex);
        return;
    }
    self->hooks[slot].pid = pid;
    self->hooks[slot].started_ms = rk_mono_us() / 1000;
    snprintf(self->hooks[slot].msg, sizeof self->hooks[slot].msg, "%s", hex);
}

/* Sends sig to a hook's whole process group (a shell's children too), or
 * to the hook alone if it has no group of its own yet. */
static void
s_signal_hook(pid_t pid, int sig) {
    if (kill(-pid, sig) != 0)
        kill(pid, sig);
}

/* Collects the hooks that ended; kills those over their time. */
static void
s_reap_finished(daemon_t *self) {
    for (size_t i = 0; i < S_MAX_HOOKS; i++) {
        hook_t *h = &self->hooks[i];
        int status;
        pid_t r;
        if (!h->pid)
            continue;
        r = waitpid(h->pid, &status, WNOHANG);
        if (r == 0) {
            int limit = self->cfg.hook_timeout_ms;
            if (rk_mono_us() / 1000 - h->started_ms > (uint64_t)limit) {
                s_signal_hook(h->pid, SIGKILL);
                log_error("event=hook_killed msg=%s reason=\"ran over %d "
                          "ms\"",
                          h->msg, limit);
            }
            continue;
        }
        if (r == h->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            log_info("event=hook_done msg=%s", h->msg);
        else {
            self->counters[C_HOOKS_FAILED]++;
            log_error("event=hook_failed msg=%s status=%d", h->msg,
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        h->pid = 0;
        s_hook_done(self, h->msg);
    }
}

/* At a stop, hooks still running are stopped, with every process they
 * started: left running, one would run again at the next start while it
 * still ran, twice at once, and a hung one would never be timed out. Their
 * markers stay: they run again, whole, at the next start. */
static void
s_stop_hooks(daemon_t *self) {
    int left = 0;
    for (size_t i = 0; i < S_MAX_HOOKS; i++)
        if (self->hooks[i].pid)
            s_signal_hook(self->hooks[i].pid, SIGTERM);
    for (int t = 0; t < 20; t++) { /* SIGTERM: half a second to go */
        left = 0;
        for (size_t i = 0; i < S_MAX_HOOKS; i++) {
            hook_t *h = &self->hooks[i];
            int status;
            if (!h->pid || h->stopped)
                continue;
            if (waitpid(h->pid, &status, WNOHANG) != 0)
                h->stopped = 1; /* reaped (or not ours any more) */
            else
                left++;
        }
        if (!left)
            return;
        usleep(25 * 1000);
    }
    for (size_t i = 0; i < S_MAX_HOOKS; i++) {
        hook_t *h = &self->hooks[i];
        int status;
        if (!h->pid || h->stopped)
            continue;
        s_signal_hook(h->pid, SIGKILL);
        waitpid(h->pid, &status, 0);
        h->stopped = 1;
    }
}

static void
s_reap_hooks(daemon_t *self) {
    s_reap_finished(self);
    /* Waiting hooks take the free slots, with the record as it is now. */
    while (self->n_hook_wait) {
        size_t busy = 0;
        char hex[33];
        for (size_t i = 0; i < S_MAX_HOOKS; i++)
            busy += self->hooks[i].pid != 0;
        if (busy == S_MAX_HOOKS)
            break;
        memcpy(hex, self->hook_wait[self->hook_wait_head], sizeof hex);
        self->hook_wait_head++;
        self->n_hook_wait--;
        if (!self->n_hook_wait)
            self->hook_wait_head = 0;
        s_run_hook(self, hex, NULL);
    }
}

/* At start: the hooks a crash or a stop left due run now (queued as
 * usual); a marker without its inbox record, or with no --hook any more,
 * is removed, with a line that says so. */
static void
s_resume_hooks(daemon_t *self) {
    char **names = NULL;
    size_t n = 0;
    if (s_list_names(self, NODE_STORE_HOOKS, &names, &n, NULL, 0) != RK_OK) {
        log_error("event=hook_resume_failed reason=\"cannot list %s/hooks\"",
                  node_store_dir(self->store));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!self->cfg.hook) {
            log_warn("event=hook_dropped msg=%s reason=\"renrakud runs "
                     "without --hook now\"",
                     names[i]);
            s_hook_done(self, names[i]);
        } else {
            log_info("event=hook_resumed msg=%s reason=\"due when renrakud "
                     "last stopped\"",
                     names[i]);
            s_run_hook(self, names[i], NULL); /* record read at its turn */
        }
    }
    node_store_free_names(names, n);
}

/* A simulated participant answers after its configured delay. */
static void
s_schedule_answer(daemon_t *self, const char *hex) {
    if (!self->cfg.auto_answer)
        return;
    if (self->n_answers == self->cap_answers) {
        size_t cap = self->cap_answers ? self->cap_answers * 2 : 16;
        void *g = realloc(self->answers, cap * sizeof *self->answers);
        if (!g) {
            log_error("event=auto_answer_dropped msg=%s reason=\"out of "
                      "memory\"",
                      hex);
            return;
        }
        self->answers = g;
        self->cap_answers = cap;
    }
    snprintf(self->answers[self->n_answers].hex, 33, "%s", hex);
    self->answers[self->n_answers].due_ms =
        rk_now_ms() + (uint64_t)self->cfg.answer_delay_ms;
    self->n_answers++;
}

static void
s_fire_answers(daemon_t *self) {
    uint64_t now = rk_now_ms();
    size_t w = 0;
    for (size_t i = 0; i < self->n_answers; i++) {
        char sent[33], err[400];
        if (self->answers[i].due_ms > now) {
            self->answers[w++] = self->answers[i];
            continue;
        }
        if (s_answer(self, self->answers[i].hex,
                     payload_ack_status_from_name(self->cfg.auto_answer),
                     "automatic answer (simulated participant)", sent, err,
                     sizeof err) != RK_OK)
            log_error("event=auto_answer_failed msg=%s reason=\"%s\"",
                      self->answers[i].hex, err);
        else
            log_info("event=auto_answered msg=%s status=%s",
                     self->answers[i].hex, self->cfg.auto_answer);
    }
    self->n_answers = w;
}

/* An ack, status update or drill reply about something we sent. */
static void
s_on_answer(daemon_t *self, const char *from, const uint8_t ref[16],
            payload_ack_status_t status, const char *comment) {
    char hex[33];
    json_t *rec;
    s_hex(hex, ref);
    rec = s_sent_get(self, hex);
    if (!rec) {
        log_warn("event=answer_unknown_message from=%s ref=%s", from, hex);
        return;
    }
    s_set_recipient(rec, from, payload_ack_status_name(status), rk_now_ms(),
                    comment);
    s_sent_save(self, hex, rec);
    json_decref(rec);
    log_info("event=answered msg=%s by=%s status=%s", hex, from,
             payload_ack_status_name(status));
}

static void
s_auto_ack(daemon_t *self, const envelope_header_t *h) {
    payload_t p;
    char hex[33], err[256];
    const char *to[1] = {h->sender};
    memset(&p, 0, sizeof p);
    p.kind = PAYLOAD_ACK;
    memcpy(p.ack.ref_msg_id, h->msg_id, 16);
    p.ack.status = PAYLOAD_ACK_RECEIVED;
    if (s_send_payload(self, &p, ENVELOPE_KIND_ACK, to, 1, 0,
                       h->exercise ? h->drill_id : NULL, h->msg_id, NULL, NULL,
                       hex, err, sizeof err) != RK_OK)
        log_error("event=auto_ack_failed to=%s reason=\"%s\"", h->sender, err);
}

/* Checks a delivery and writes what it leaves (inbox or quarantine) into
 * the burst's batch; s_finish_delivery confirms and acts on it after the
 * commit. */
static void
s_stage_delivery(daemon_t *self, burst_t *b, link_t *l,
                 const frame_deliver_t *d) {
    dlv_t *x = &b->v[b->n];
    const envelope_header_t *h;
    const roster_keyset_t *ks = NULL;
    const identity_public_t *me = identity_public(self->cfg.identity);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    const char *why = NULL;
    char reason[300], t[40];
    json_t *pj;
    int rc;

    if (!b->n)
        b->started_us = rk_mono_us();
    memset(x, 0, sizeof *x);
    x->l = l;
    x->index = d->index;
    x->first = -1;
    rc = envelope_decode(d->envelope, d->envelope_len, &x->env, &why);
    if (rc != RK_OK) {
        snprintf(reason, sizeof reason, "envelope does not decode: %s",
                 why ? why : rk_strerror(rc));
        x->kind = S_DLV_UNDECODABLE;
        s_quarantine(self, b, x, d, reason);
        goto done;
    }
    h = envelope_header(x->env);
    memcpy(x->msg_id, h->msg_id, 16);
    s_hex(x->hex, h->msg_id);
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].kind == S_DLV_INBOX &&
            memcmp(b->v[i].msg_id, h->msg_id, 16) == 0) {
            /* Twice in one burst (a resend, or two relays): one copy. */
            x->kind = S_DLV_DUPLICATE;
            x->first = (long)i;
            goto done;
        }
    if (node_store_has(self->store, NODE_STORE_INBOX, x->hex)) {
        /* At-least-once delivery: already on disk (its record is the
         * commit point: an envelope file alone, left by a crash between
         * the two writes, is written again below), confirm again. */
        x->kind = S_DLV_DUPLICATE;
        goto done;
    }
    x->kind = S_DLV_QUARANTINE;
    rc = roster_usable_keys(self->roster, h->sender, h->sender_key_id,
                            h->created_ms, &ks);
    if (rc != RK_OK) {
        snprintf(reason, sizeof reason,
                 "sender %s key not usable at the created time: %s", h->sender,
                 rk_strerror(rc));
        s_quarantine(self, b, x, d, reason);
        goto done;
    }
    rc = envelope_verify(x->env, ks->sign_pk);
    if (rc == RK_OK)
        rc = envelope_open(x->env, me->id, me->enc_pk,
                           identity_enc_sk(self->cfg.identity), &plain,
                           &plain_len);
    if (rc == RK_OK) {
        rc = payload_decode(plain, plain_len, &x->p, &why);
        if (rc != RK_OK)
            why = why ? why : rk_strerror(rc);
        else if (!payload_kind_matches(x->p, h->kind)) {
            rc = RK_ERR_MISMATCH;
            why = "payload does not match the header's kind";
        }
    } else
        why = rc == RK_ERR_BAD_SIGNATURE
                  ? "signature does not verify (altered in transit?)"
              : rc == RK_ERR_UNKNOWN_KEY
                  /* envelope_open: sealed to a key set of ours this key
                   * file does not hold (sent before a rotation, to the
                   * previous key, and delivered after the switch). */
                  ? "sealed to another encryption key of this node than "
                    "the key file's (a key set before or after a rotation)"
                  : rk_strerror(rc);
    if (plain)
        sodium_memzero(plain, plain_len);
    free(plain);
    if (rc != RK_OK) {
        snprintf(reason, sizeof reason, "from %s: %s", h->sender, why);
        s_quarantine(self, b, x, d, reason);
        goto done;
    }
    /* Verified and opened: keep it, then confirm. */
    x->kind = S_DLV_INBOX;
    pj = payload_to_json(x->p);
    x->rec = json_object();
    s_now_text(t, sizeof t);
    json_object_set_new(x->rec, "msg_id", json_string(x->hex));
    json_object_set_new(x->rec, "from", json_string(h->sender));
    json_object_set_new(x->rec, "kind",
                        json_string(envelope_kind_name(h->kind)));
    json_object_set_new(x->rec, "received", json_string(t));
    rk_time_format(t, sizeof t, h->created_ms);
    json_object_set_new(x->rec, "created", json_string(t));
    if (h->expires_ms) {
        rk_time_format(t, sizeof t, h->expires_ms);
        json_object_set_new(x->rec, "expires", json_string(t));
    }
    json_object_set_new(x->rec, "relay_index",
                        json_integer((json_int_t)d->index));
    if (h->exercise) {
        json_object_set_new(x->rec, "exercise", json_true());
        json_object_set_new(x->rec, "drill_id", json_string(h->drill_id));
    }
    {
        json_t *rcpt = json_array();
        for (size_t i = 0; i < h->n_recipients; i++)
            json_array_append_new(rcpt, json_string(h->recipients[i]));
        json_object_set_new(x->rec, "recipients", rcpt);
    }
    json_object_set_new(x->rec, "payload", pj ? pj : json_null());
    /* Answers are read by the machine, not a person. */
    json_object_set_new(x->rec, "read",
                        json_boolean(x->p->kind == PAYLOAD_ACK ||
                                     x->p->kind == PAYLOAD_DRILL_REPLY));
    /* The hook's marker (hooks/<id>.json: its hook is due, and runs
     * again after a crash until it has run) first, then the envelope, the
     * record last: the record is the commit point. A failed write fails
     * the group (the record is then not written); s_finish_delivery says
     * so. */
    x->staged =
        (!s_wants_hook(self, x->p) ||
         s_stage_hook_marker(self, b, x->hex) == RK_OK) &&
        node_store_batch_env(self->store, b->batch, b->n, NODE_STORE_INBOX,
                             x->hex, d->envelope, d->envelope_len) == RK_OK &&
        node_store_batch_json(self->store, b->batch, b->n, NODE_STORE_INBOX,
                              x->hex, x->rec) == RK_OK;
done:
    b->n++;
}

/* Whether delivery i's files (or those of the copy earlier in the burst
 * that stands for it) are durably in place after the commit. */
static int
s_kept(const burst_t *b, size_t i) {
    if (b->v[i].first == -2)
        return 1; /* kept by an earlier burst */
    if (b->v[i].first >= 0)
        i = (size_t)b->v[i].first;
    return b->v[i].staged && !node_store_batch_failed(b->batch, i);
}

/* After the burst's commit: confirms what is on disk, then acts on it. */
static void
s_finish_delivery(daemon_t *self, burst_t *b, size_t i) {
    dlv_t *x = &b->v[i];
    int kept = s_kept(b, i);
    const envelope_header_t *h = x->env ? envelope_header(x->env) : NULL;
    const payload_t *p = x->p;

    switch (x->kind) {
    case S_DLV_UNDECODABLE:
        /* Without a decodable header there is no msg id to confirm with;
         * the relay only delivers what it decoded, so this is a relay
         * fault. */
        if (!kept)
            log_error("event=store_write_failed box=quarantine index=%" PRIu64,
                      x->index);
        else if (x->first != -1)
            log_info("event=duplicate_dropped relay_index=%" PRIu64 " file=%s",
                     x->index, x->name);
        else {
            self->counters[C_QUARANTINED]++;
            log_error("event=quarantined relay_index=%" PRIu64
                      " file=%s reason=\"%s\"",
                      x->index, x->name, x->reason);
        }
        log_error("event=undecodable_delivery relay_index=%" PRIu64, x->index);
        return;
    case S_DLV_QUARANTINE:
        if (!kept) {
            /* Not on disk: not confirmed, so the relay delivers it again. */
            log_error("event=store_write_failed box=quarantine index=%" PRIu64
                      " action=\"not confirmed; the relay redelivers\"",
                      x->index);
            return;
        }
        if (x->first != -1) {
            self->counters[C_DUPLICATES]++;
            log_info("event=duplicate_dropped relay_index=%" PRIu64 " file=%s",
                     x->index, x->name);
        } else {
            self->counters[C_QUARANTINED]++;
            log_error("event=quarantined relay_index=%" PRIu64
                      " file=%s reason=\"%s\"",
                      x->index, x->name, x->reason);
        }
        /* Confirm: it is durably kept, and resending cannot mend it. */
        s_confirm(x->l, x->index, x->msg_id);
        return;
    case S_DLV_DUPLICATE:
        if (x->first >= 0 && !kept) {
            log_warn("event=duplicate_not_confirmed msg=%s reason=\"its "
                     "first copy in this burst is not on disk; the relay "
                     "delivers it again\"",
                     x->hex);
            return;
        }
        self->counters[C_DUPLICATES]++;
        log_info("event=duplicate_dropped msg=%s", x->hex);
        s_confirm(x->l, x->index, x->msg_id);
        return;
    case S_DLV_INBOX:
        break;
    }
    if (!kept) {
        /* Not on disk: do not confirm; the relay will deliver it again. */
        log_error("event=store_write_failed box=inbox msg=%s "
                  "action=\"not confirmed; the relay redelivers\"",
                  x->hex);
        return;
    }
    s_confirm(x->l, x->index, x->msg_id);
    self->counters[C_RECEIVED]++;
    log_info("event=received msg=%s from=%s kind=%s%s", x->hex, h->sender,
             envelope_kind_name(h->kind), h->exercise ? " exercise=1" : "");
    switch (p->kind) {
    case PAYLOAD_ACK:
        s_on_answer(self, h->sender, p->ack.ref_msg_id, p->ack.status,
                    p->ack.comment);
        break;
    case PAYLOAD_DRILL_REPLY:
        s_on_answer(self, h->sender, p->drill_reply.ref_msg_id,
                    p->drill_reply.status, p->drill_reply.text);
        break;
    case PAYLOAD_COMM_CHECK:
        if (self->cfg.auto_ack_comm_check && !self->cfg.auto_answer)
            s_auto_ack(self, h);
        s_schedule_answer(self, x->hex);
        s_run_hook(self, x->hex, x->rec);
        break;
    case PAYLOAD_DRILL_INJECT:
        s_schedule_answer(self, x->hex);
        s_run_hook(self, x->hex, x->rec);
        break;
    default:
        s_run_hook(self, x->hex, x->rec);
    }
}

/* The store's journal is emptied (its files synced) once the node has
 * been idle this long (unless --checkpoint-idle-ms), or once it holds this
 * much. */
#define S_CHECKPOINT_IDLE_MS 1000
#define S_CHECKPOINT_BYTES (64u * 1024u * 1024u)

/* After a failed one, the next try waits this long. */
#define S_CHECKPOINT_RETRY_MS 10000

/* Empties the store's journal when one is due (now: force). */
static void
s_checkpoint(daemon_t *self, int force) {
    const char *why = NULL;
    int err = 0;
    uint64_t now = rk_now_ms();
    if (!node_store_checkpoint_pending(self->store)) {
        /* Also when a single write to the inbox made it. */
        if (self->checkpoint_failing)
            log_info("event=store_checkpoint_recovered");
        self->checkpoint_failing = 0;
        return;
    }
    if (!force &&
        (self->checkpoint_failing
             ? now - self->last_checkpoint_ms < S_CHECKPOINT_RETRY_MS
             : now - self->last_burst_ms <
                       (self->cfg.checkpoint_idle_ms
                            ? (uint64_t)self->cfg.checkpoint_idle_ms
                            : S_CHECKPOINT_IDLE_MS) &&
                   node_store_journal_bytes(self->store) < S_CHECKPOINT_BYTES))
        return;
    self->last_checkpoint_ms = now;
    if (node_store_checkpoint(self->store, &why, &err) == RK_OK) {
        if (self->checkpoint_failing)
            log_info("event=store_checkpoint_recovered");
        self->checkpoint_failing = 0;
        return;
    }
    if (!self->checkpoint_failing)
        log_error("event=store_checkpoint_failed step=\"%s\" error=\"%s\" "
                  "journal_bytes=%zu action=\"the journal keeps every file "
                  "it holds; retried, and replayed at the next start\"",
                  why ? why : "?", strerror(err),
                  node_store_journal_bytes(self->store));
    self->checkpoint_failing = 1;
}

/* Makes the burst durable (one sync), then confirms and acts on each
 * delivery in the order they came. */
static void
s_flush_burst(daemon_t *self, burst_t *b) {
    if (!b->n)
        return;
    /* What failed is told per delivery (node_store_batch_failed); why, once
     * for the burst. */
    if (node_store_batch_commit(self->store, b->batch) != RK_OK) {
        int err = 0;
        const char *why = node_store_batch_why(b->batch, &err);
        if (why)
            log_error("event=store_commit_failed step=\"%s\" error=\"%s\" "
                      "deliveries=%zu action=\"those not on disk are not "
                      "confirmed; the relay delivers them again\"",
                      why, strerror(err), b->n);
    }
    for (size_t i = 0; i < b->n; i++) {
        dlv_t *x = &b->v[i];
        s_finish_delivery(self, b, i);
        json_decref(x->rec);
        payload_destroy(&x->p);
        envelope_destroy(&x->env);
    }
    b->n = 0;
    self->last_burst_ms = rk_now_ms();
    s_checkpoint(self, 0); /* if the journal is full enough */
}

static void
s_on_roster(daemon_t *self, const frame_roster_t *r) {
    roster_t *nr = NULL;
    char err[300], path[3300];
    int rc = roster_open_signed(
        r->signed_roster, r->signed_roster_len, &self->cfg.coordinator,
        roster_serial(self->roster), &nr, err, sizeof err);
    if (rc == RK_ERR_SERIAL)
        return; /* not newer: nothing to do */
    if (rc != RK_OK) {
        log_error("event=roster_refused source=relay reason=\"%s\"", err);
        return;
    }
    snprintf(path, sizeof path, "%s/roster.signed",
             node_store_dir(self->store));
    if (rk_write_file(path, r->signed_roster, r->signed_roster_len, 0600, 0) !=
        RK_OK)
        log_error("event=store_write_failed file=%s", path);
    roster_destroy(&self->roster);
    self->roster = nr;
    log_info("event=roster_installed serial=%" PRIu64 " nodes=%zu",
             roster_serial(nr), roster_count(nr));
    /* A relay key the new roster no longer lists as usable (revoked,
     * expired, rotated away) is not trusted a moment longer: reconnect
     * with one it lists. A connection on a key still listed stays. */
    for (size_t i = 0; i < self->n_links; i++)
        s_link_check_key(self, &self->links[i], 0);
}

static void
s_on_link(daemon_t *self, link_t *l) {
    burst_t *b = self->burst;
    for (;;) {
        zmq_msg_t m;
        frame_t *f = NULL;
        const char *why = NULL;
        if (b->n == S_BURST_MAX ||
            (b->n && rk_mono_us() - b->started_us >= S_BURST_US))
            s_flush_burst(self, b);
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, l->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            s_flush_burst(self, b); /* what this burst brought */
            return;
        }
        if (frame_decode(zmq_msg_data(&m), zmq_msg_size(&m), &f, &why) !=
            RK_OK) {
            log_error("event=relay_frame_refused relay_id=%s reason=\"%s\"",
                      l->id, why ? why : "?");
            zmq_msg_close(&m);
            continue;
        }
        zmq_msg_close(&m);
        switch (f->type) {
        case FRAME_WELCOME:
            l->welcomed = 1;
            log_info("event=welcome relay_id=%s node=%s pending=%" PRIu64
                     " relay_roster_serial=%" PRIu64,
                     l->id, f->welcome.node_id, f->welcome.pending,
                     f->welcome.roster_serial);
            s_resubmit(self, l);
            break;
        case FRAME_STORED:
            s_on_stored(self, l, &f->stored);
            break;
        case FRAME_REJECTED:
            s_on_rejected(self, l, &f->rejected);
            break;
        case FRAME_RECEIPT:
            s_on_receipt(self, l, &f->receipt);
            break;
        case FRAME_DELIVER:
            s_stage_delivery(self, b, l, &f->deliver);
            break;
        case FRAME_ROSTER:
            s_on_roster(self, &f->roster);
            break;
        default:
            break;
        }
        frame_destroy(&f);
    }
}

/* ---- the control socket ---- */

static json_t *s_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static json_t *
s_error(const char *fmt, ...) {
    char buf[600];
    va_list ap;
    json_t *o = json_object();
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "error", json_string(buf));
    return o;
}

static json_t *
s_ok(void) {
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_true());
    return o;
}

/* Finds a message by full id or unique prefix in a box: how many match
 * (the first in hex), or -1 when the box cannot be listed (why says so:
 * not "no such message"). */
static int
s_resolve(daemon_t *self, node_store_box_t box, const char *prefix,
          char hex[33], char *why, size_t whylen) {
    char **names = NULL;
    size_t n = 0, hits = 0, len = strlen(prefix);
    if (len < 4 || len > 32)
        return 0;
    if (s_list_names(self, box, &names, &n, why, whylen) != RK_OK)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strncmp(names[i], prefix, len) == 0 && strlen(names[i]) == 32) {
            if (!hits)
                snprintf(hex, 33, "%s", names[i]);
            hits++;
        }
    node_store_free_names(names, n);
    return (int)hits;
}

/* A send's request_id: 1 to S_REQUEST_ID_MAX of [A-Za-z0-9._:-]. */
static bool
s_request_id_valid(const char *id) {
    size_t n = 0;
    if (!id)
        return false;
    for (; id[n]; n++) {
        char c = id[n];
        if (n >= S_REQUEST_ID_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
              c == '-'))
            return false;
    }
    return n > 0;
}

/* What a send asks for (kind, to, payload, drill_id, expires_in_s), as
 * 32 hex digits of SHA-256 over its canonical JSON: a request id used
 * again for a different send is refused, not taken for a repeat. */
static void
s_request_fp(const json_t *req, char fp[33]) {
    static const char *const keys[] = {"kind", "to", "payload", "drill_id",
                                       "expires_in_s"};
    json_t *what = json_object();
    char *text;
    uint8_t h[32];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(req, keys[i]);
        if (v)
            json_object_set(what, keys[i], v);
    }
    text = json_dumps(what, JSON_COMPACT | JSON_SORT_KEYS);
    crypto_hash_sha256(h, (const uint8_t *)(text ? text : ""),
                       text ? strlen(text) : 0);
    rk_hex(fp, h, 16);
    free(text);
    json_decref(what);
}

static int
s_request_add(daemon_t *self, const char *id, const char *hex, const char *fp) {
    return json_object_set_new(
               self->requests, id,
               json_pack("{s:s, s:s}", "msg", hex, "fp", fp ? fp : "")) == 0
               ? RK_OK
               : RK_ERR_NOMEM;
}

/* The send taken with request id id into *was ({"msg", "fp"}, owned by
 * the index), or NULL there. The first call reads every sent record (the
 * sends before this start of the daemon); when the sent folder cannot be
 * listed it fails with err set, since a repeat could not be told from a
 * new send. */
static int
s_request_find(daemon_t *self, const char *id, const json_t **was, char *err,
               size_t errlen) {
    *was = NULL;
    if (!self->requests) {
        char **names = NULL;
        size_t n = 0;
        char why[300];
        int rc =
            s_list_names(self, NODE_STORE_SENT, &names, &n, why, sizeof why);
        if (rc != RK_OK) {
            snprintf(err, errlen,
                     "request_id %s cannot be checked: %s; nothing was sent",
                     id, why);
            return rc;
        }
        if (!(self->requests = json_object())) {
            node_store_free_names(names, n);
            snprintf(err, errlen, "out of memory; nothing was sent");
            return RK_ERR_NOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *rec = s_sent_get(self, names[i]);
            const char *r =
                json_string_value(json_object_get(rec, "request_id"));
            if (r && strlen(names[i]) == 32 &&
                s_request_add(self, r, names[i],
                              json_string_value(
                                  json_object_get(rec, "request_fp"))) != RK_OK)
                log_error("event=request_not_kept request=%s msg=%s "
                          "reason=\"out of memory\"",
                          r, names[i]);
            json_decref(rec);
        }
        node_store_free_names(names, n);
        log_info("event=requests_loaded sent_records=%zu request_ids=%zu", n,
                 json_object_size(self->requests));
    }
    *was = json_object_get(self->requests, id);
    return RK_OK;
}

static json_t *
s_cmd_send(daemon_t *self, const json_t *req) {
    const json_t *to = json_object_get(req, "to");
    const json_t *pj = json_object_get(req, "payload");
    const char *kind_name = json_string_value(json_object_get(req, "kind"));
    const char *drill = json_string_value(json_object_get(req, "drill_id"));
    const json_t *rq = json_object_get(req, "request_id");
    const char *request = json_string_value(rq);
    json_int_t expires_in =
        json_integer_value(json_object_get(req, "expires_in_s"));
    const char *targets[256];
    size_t n = 0;
    payload_t *p = NULL;
    envelope_kind_t kind;
    char err[600], hex[33], fp[33] = "";
    json_t *reply;

    if (json_object_get(req, "expires_in_s") &&
        !json_is_integer(json_object_get(req, "expires_in_s")))
        return s_error("expires_in_s: a whole number of seconds, 0 to one "
                       "year");
    if (rq && !s_request_id_valid(request))
        return s_error("request_id: 1 to %d characters of A-Z a-z 0-9 . _ : -",
                       S_REQUEST_ID_MAX);
    if (request) {
        /* The same request again (its answer was lost): the first one's
         * answer, and nothing sent twice. The same id for another send:
         * refused, or that send would be lost. */
        const json_t *was;
        const char *was_msg, *was_fp;
        if (s_request_find(self, request, &was, err, sizeof err) != RK_OK)
            return s_error("%s", err);
        was_msg = json_string_value(json_object_get(was, "msg"));
        was_fp = json_string_value(json_object_get(was, "fp"));
        s_request_fp(req, fp);
        if (was && was_fp && was_fp[0] && strcmp(was_fp, fp) != 0)
            return s_error("request_id %s was used for another send (msg "
                           "%s); give each send its own",
                           request, was_msg);
        if (was) {
            json_t *rec = s_sent_get(self, was_msg);
            const char *st = json_string_value(json_object_get(rec, "state"));
            log_info("event=send_repeated request=%s msg=%s", request, was_msg);
            reply = s_ok();
            json_object_set_new(reply, "msg_id", json_string(was_msg));
            json_object_set_new(reply, "state",
                                json_string(st ? st : "unknown"));
            json_object_set_new(reply, "repeat", json_true());
            json_object_set_new(reply, "record", rec ? rec : json_null());
            return reply;
        }
    }
    kind = envelope_kind_from_name(kind_name ? kind_name : "notice");
    if (!kind)
        return s_error("kind: unknown message kind '%s'", kind_name);
    if (!json_is_array(to) || json_array_size(to) == 0 ||
        json_array_size(to) > 256)
        return s_error("to: give 1 to 256 node ids or groups");
    for (size_t i = 0; i < json_array_size(to); i++) {
        targets[n] = json_string_value(json_array_get(to, i));
        if (!targets[n] || !envelope_node_id_valid(targets[n]))
            return s_error("to[%zu]: not a node id or group name", i);
        n++;
    }
    if (payload_from_json(pj, &p, err, sizeof err) != RK_OK)
        return s_error("%s", err);
    if (!payload_kind_matches(p, kind)) {
        payload_destroy(&p);
        return s_error("kind %s does not carry a %s", envelope_kind_name(kind),
                       payload_kind_name(p->kind));
    }
    if (expires_in < 0 || expires_in > 365LL * 24 * 3600) {
        payload_destroy(&p);
        return s_error("expires_in_s: 0 to one year");
    }
    if (s_send_payload(
            self, p, kind, targets, n,
            expires_in ? rk_now_ms() + (uint64_t)expires_in * 1000 : 0, drill,
            NULL, request, fp, hex, err, sizeof err) != RK_OK) {
        payload_destroy(&p);
        return s_error("%s", err);
    }
    payload_destroy(&p);
    if (request && s_request_add(self, request, hex, fp) != RK_OK)
        log_error("event=request_not_kept request=%s msg=%s reason=\"out of "
                  "memory; a repeat of it would be sent again\"",
                  request, hex);
    reply = s_ok();
    json_object_set_new(reply, "msg_id", json_string(hex));
    json_object_set_new(reply, "state", json_string("queued"));
    json_object_set_new(reply, "record", s_sent_get(self, hex));
    return reply;
}

/* Answers inbox message hex (an ack or status update; a drill reply for
 * a drill inject) with status, to its sender. sent_hex gets the answer's
 * msg id. Returns 0 or an rk_err_t with err set. */
static int
s_answer(daemon_t *self, const char *hex, payload_ack_status_t status,
         const char *comment, char sent_hex[33], char *err, size_t errlen) {
    const char *from, *kind, *drill, *st = payload_ack_status_name(status);
    uint8_t ref[16];
    payload_t p;
    json_t *rec;
    const char *to[1];
    envelope_kind_t ek;
    char t[40];
    int rc;

    rec = node_store_get_json(self->store, NODE_STORE_INBOX, hex, NULL);
    if (!rec) {
        snprintf(err, errlen, "%s: inbox record unreadable", hex);
        return RK_ERR_IO;
    }
    from = json_string_value(json_object_get(rec, "from"));
    kind = json_string_value(json_object_get(rec, "kind"));
    drill = json_string_value(json_object_get(rec, "drill_id"));
    if (!from || !kind || rk_unhex(ref, 16, hex) != RK_OK) {
        json_decref(rec);
        snprintf(err, errlen, "%s: inbox record incomplete", hex);
        return RK_ERR_MALFORMED;
    }
    memset(&p, 0, sizeof p);
    to[0] = from;
    if (!strcmp(kind, "drill-inject")) {
        const json_t *inj =
            json_object_get(json_object_get(rec, "payload"), "drill_inject");
        p.kind = PAYLOAD_DRILL_REPLY;
        p.drill_reply.drill_id = drill;
        p.drill_reply.inject_id =
            json_string_value(json_object_get(inj, "inject_id"));
        memcpy(p.drill_reply.ref_msg_id, ref, 16);
        p.drill_reply.status = status;
        p.drill_reply.text = comment;
        ek = ENVELOPE_KIND_DRILL_REPLY;
    } else {
        p.kind = PAYLOAD_ACK;
        memcpy(p.ack.ref_msg_id, ref, 16);
        p.ack.status = status;
        p.ack.comment = comment;
        ek = (status == PAYLOAD_ACK_IN_PROGRESS ||
              status == PAYLOAD_ACK_RESOLVED)
                 ? ENVELOPE_KIND_STATUS_UPDATE
                 : ENVELOPE_KIND_ACK;
    }
    rc = s_send_payload(self, &p, ek, to, 1, 0, drill, ref, NULL, NULL,
                        sent_hex, err, errlen);
    if (rc != RK_OK) {
        json_decref(rec);
        return rc;
    }
    {
        json_t *mine = json_object();
        s_now_text(t, sizeof t);
        json_object_set_new(mine, "status", json_string(st));
        json_object_set_new(mine, "time", json_string(t));
        json_object_set_new(mine, "msg_id", json_string(sent_hex));
        if (comment)
            json_object_set_new(mine, "comment", json_string(comment));
        json_object_set_new(rec, "my_answer", mine);
        json_object_set_new(rec, "read", json_true());
        if (node_store_put_json(self->store, NODE_STORE_INBOX, hex, rec) !=
            RK_OK)
            log_error("event=store_write_failed box=inbox msg=%s", hex);
    }
    json_decref(rec);
    return RK_OK;
}

static json_t *
s_cmd_ack(daemon_t *self, const json_t *req) {
    const char *id = json_string_value(json_object_get(req, "msg_id"));
    const char *st = json_string_value(json_object_get(req, "status"));
    const char *comment = json_string_value(json_object_get(req, "comment"));
    payload_ack_status_t status = payload_ack_status_from_name(st);
    char hex[33], sent_hex[33], err[600], why[300];
    json_t *reply;
    int hits;

    if (!id)
        return s_error("msg_id: missing");
    if (!status)
        return s_error("status: '%s' is not one of received, acknowledged, "
                       "in-progress, resolved, denied",
                       st ? st : "");
    hits = s_resolve(self, NODE_STORE_INBOX, id, hex, why, sizeof why);
    if (hits < 0)
        return s_error("%s: cannot look it up: %s", id, why);
    if (hits != 1)
        return s_error("%s: %s", id,
                       hits ? "matches several messages; give more digits"
                            : "no such message in the inbox");
    if (s_answer(self, hex, status, comment, sent_hex, err, sizeof err) !=
        RK_OK)
        return s_error("%s", err);
    reply = s_ok();
    json_object_set_new(reply, "msg_id", json_string(sent_hex));
    json_object_set_new(reply, "answers", json_string(hex));
    json_object_set_new(reply, "state", json_string("queued"));
    return reply;
}

/* A record that exists but cannot be read (s_get logged it), as a listing
 * shows it: its id and "unreadable" saying why, so that it is not silently
 * missing. */
static json_t *
s_unreadable(node_store_box_t box, const char *name, int rc) {
    char why[400];
    snprintf(why, sizeof why, "%s/%s.json: %s", s_box_names[box], name,
             rk_strerror(rc));
    return json_pack("{s:s,s:s}", "msg_id", name, "unreadable", why);
}

/* Lists a box's records; one that cannot be read is listed by
 * s_unreadable. A box that cannot be listed is one entry, "box" and
 * "unreadable" saying why, not an empty list. */
static json_t *
s_list(daemon_t *self, node_store_box_t box, int unread_only) {
    char **names = NULL, why[300];
    size_t n = 0;
    json_t *arr = json_array();
    if (s_list_names(self, box, &names, &n, why, sizeof why) != RK_OK) {
        json_array_append_new(
            arr,
            json_pack("{s:s,s:s}", "box", s_box_names[box], "unreadable", why));
        return arr;
    }
    for (size_t i = 0; i < n; i++) {
        int rc;
        json_t *rec = s_get(self, box, names[i], &rc);
        if (!rec && rc != RK_ERR_NOT_FOUND) /* gone since the listing: skip */
            rec = s_unreadable(box, names[i], rc);
        if (!rec)
            continue;
        if (unread_only && json_is_true(json_object_get(rec, "read"))) {
            json_decref(rec);
            continue;
        }
        if (box == NODE_STORE_QUARANTINE)
            json_object_set_new(rec, "file", json_string(names[i]));
        json_array_append_new(arr, rec);
    }
    node_store_free_names(names, n);
    return arr;
}

static json_t *
s_cmd_show(daemon_t *self, const json_t *req) {
    const char *id = json_string_value(json_object_get(req, "msg_id"));
    char hex[33], why[300];
    json_t *rec, *reply;
    int hits;
    if (!id)
        return s_error("msg_id: missing");
    hits = s_resolve(self, NODE_STORE_INBOX, id, hex, why, sizeof why);
    if (hits < 0)
        return s_error("%s: cannot look it up: %s", id, why);
    if (hits == 1) {
        int rc;
        rec = s_get(self, NODE_STORE_INBOX, hex, &rc);
        if (!rec)
            return s_error("%s: its inbox record inbox/%s.json cannot be read "
                           "(%s); the envelope as received is inbox/%s.env",
                           hex, hex, rk_strerror(rc), hex);
        if (!json_is_true(json_object_get(rec, "read"))) {
            json_object_set_new(rec, "read", json_true());
            if (node_store_put_json(self->store, NODE_STORE_INBOX, hex, rec) !=
                RK_OK)
                log_error("event=store_write_failed box=inbox msg=%s", hex);
        }
        reply = s_ok();
        json_object_set_new(reply, "box", json_string("inbox"));
        json_object_set_new(reply, "record", rec);
        return reply;
    }
    hits = s_resolve(self, NODE_STORE_SENT, id, hex, why, sizeof why);
    if (hits < 0)
        return s_error("%s: cannot look it up: %s", id, why);
    if (hits == 1) {
        int rc;
        rec = s_get(self, NODE_STORE_SENT, hex, &rc);
        if (!rec)
            return s_error("%s: its sent record sent/%s.json cannot be read "
                           "(%s)",
                           hex, hex, rk_strerror(rc));
        reply = s_ok();
        json_object_set_new(reply, "box", json_string("sent"));
        json_object_set_new(reply, "record", rec);
        return reply;
    }
    return s_error("%s: no such message (or the prefix is ambiguous)", id);
}

static json_t *
s_link_json(const link_t *l) {
    json_t *o = json_object();
    char t[40];
    json_object_set_new(o, "endpoint", json_string(l->endpoint));
    json_object_set_new(o, "relay_id", json_string(l->id));
    json_object_set_new(o, "connected", json_boolean(l->welcomed));
    if (l->welcomed) {
        rk_time_format(t, sizeof t, l->connected_since_ms);
        json_object_set_new(o, "since", json_string(t));
    }
    if (l->last_error[0] && l->reconnect_at_ms) {
        /* Waiting to make the socket again: when, as it is now. */
        uint64_t now = rk_now_ms(),
                 left = l->reconnect_at_ms > now ? l->reconnect_at_ms - now : 0;
        char *e = NULL;
        if (asprintf(&e, "%s; next try in %" PRIu64 " s", l->last_error,
                     (left + 999) / 1000) >= 0)
            json_object_set_new(o, "last_error", json_string(e));
        free(e);
        json_object_set_new(o, "retry_in_ms", json_integer((json_int_t)left));
    } else if (l->last_error[0])
        json_object_set_new(o, "last_error", json_string(l->last_error));
    if (l->refusals)
        json_object_set_new(o, "handshake_refusals", json_integer(l->refusals));
    return o;
}

static json_t *
s_cmd_status(daemon_t *self) {
    json_t *reply = s_ok(), *relays = json_array(), *c = json_object();
    char **names = NULL, why[300];
    size_t n = 0;
    static const char *cn[] = {"submitted",    "stored",      "rejected",
                               "received",     "quarantined", "receipts",
                               "hooks_failed", "duplicates"};
    for (size_t i = 0; i < self->n_links; i++)
        json_array_append_new(relays, s_link_json(&self->links[i]));
    json_object_set_new(reply, "node",
                        json_string(identity_id(self->cfg.identity)));
    /* "relay": the first (or only) relay, "relays": every one. */
    json_object_set_new(reply, "relay", s_link_json(&self->links[0]));
    json_object_set_new(reply, "relays", relays);
    json_object_set_new(reply, "connected", json_boolean(s_any_welcomed(self)));
    json_object_set_new(reply, "roster_serial",
                        json_integer((json_int_t)roster_serial(self->roster)));
    /* An outbox that cannot be listed is not "0 waiting". */
    if (s_list_names(self, NODE_STORE_OUTBOX, &names, &n, why, sizeof why) ==
        RK_OK) {
        json_object_set_new(reply, "outbox", json_integer((json_int_t)n));
        node_store_free_names(names, n);
    } else
        json_object_set_new(reply, "outbox_unreadable", json_string(why));
    json_object_set_new(reply, "sent", s_list(self, NODE_STORE_SENT, 0));
    json_object_set_new(reply, "quarantine",
                        s_list(self, NODE_STORE_QUARANTINE, 0));
    for (size_t i = 0; i < sizeof cn / sizeof cn[0]; i++)
        json_object_set_new(c, cn[i],
                            json_integer((json_int_t)self->counters[i]));
    json_object_set_new(reply, "counters", c);
    return reply;
}

static json_t *
s_cmd_export(daemon_t *self, const json_t *req) {
    const char *id = json_string_value(json_object_get(req, "msg_id"));
    char hex[33], err[400], why[300];
    json_t *rec, *bundle = NULL, *reply;
    const json_t *nj;
    payload_t *p = NULL;
    stix_meta_t meta;
    const roster_node_t *sender;
    uint8_t mid[16];
    uint64_t created = 0;
    node_store_box_t box = NODE_STORE_INBOX;
    int rc, hits;

    if (!id)
        return s_error("msg_id: missing");
    hits = s_resolve(self, NODE_STORE_INBOX, id, hex, why, sizeof why);
    if (hits < 0)
        return s_error("%s: cannot look it up: %s", id, why);
    if (hits != 1) {
        return s_error("%s: no such received notice (export works on the "
                       "inbox)",
                       id);
    }
    rec = s_get(self, box, hex, &rc);
    if (!rec)
        return s_error("%s: its inbox record inbox/%s.json cannot be read "
                       "(%s)",
                       hex, hex, rk_strerror(rc));
    nj = json_object_get(rec, "payload");
    if (!json_object_get(nj, "notice")) {
        json_decref(rec);
        return s_error("%s: not a notice or alert", hex);
    }
    if (payload_from_json(nj, &p, err, sizeof err) != RK_OK) {
        json_decref(rec);
        return s_error("%s: stored notice unreadable: %s", hex, err);
    }
    if (rk_unhex(mid, 16, hex) != RK_OK ||
        rk_time_parse(json_string_value(json_object_get(rec, "created")),
                      &created) != RK_OK) {
        payload_destroy(&p);
        json_decref(rec);
        return s_error("%s: inbox record incomplete", hex);
    }
    sender = roster_find(self->roster,
                         json_string_value(json_object_get(rec, "from")));
    memset(&meta, 0, sizeof meta);
    memcpy(meta.msg_id, mid, 16);
    meta.sender = json_string_value(json_object_get(rec, "from"));
    meta.organisation = sender ? sender->organisation : meta.sender;
    meta.country = sender ? sender->country : NULL;
    meta.created_ms = created;
    if (stix_export(&p->notice, &meta, &bundle, err, sizeof err) != RK_OK) {
        payload_destroy(&p);
        json_decref(rec);
        return s_error("export: %s", err);
    }
    payload_destroy(&p);
    json_decref(rec);
    reply = s_ok();
    json_object_set_new(reply, "bundle", bundle);
    return reply;
}

static void
s_on_control(daemon_t *self) {
    zmq_msg_t m;
    json_t *req = NULL, *reply;
    json_error_t jerr;
    const char *cmd;
    char *text;

    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, self->ctl, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return;
    }
    if (zmq_msg_size(&m) > S_CTL_MAX)
        reply = s_error("request too large");
    else if (!(req = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m),
                                JSON_REJECT_DUPLICATES, &jerr)) ||
             !json_is_object(req))
        reply = s_error("request is not a JSON object");
    else {
        cmd = json_string_value(json_object_get(req, "cmd"));
        if (!cmd)
            reply = s_error("cmd: missing");
        else if (!strcmp(cmd, "send"))
            reply = s_cmd_send(self, req);
        else if (!strcmp(cmd, "ack"))
            reply = s_cmd_ack(self, req);
        else if (!strcmp(cmd, "inbox")) {
            reply = s_ok();
            json_object_set_new(
                reply, "messages",
                s_list(self, NODE_STORE_INBOX,
                       json_is_true(json_object_get(req, "unread"))));
        } else if (!strcmp(cmd, "show"))
            reply = s_cmd_show(self, req);
        else if (!strcmp(cmd, "status"))
            reply = s_cmd_status(self);
        else if (!strcmp(cmd, "export"))
            reply = s_cmd_export(self, req);
        else if (!strcmp(cmd, "roster")) {
            char *json = roster_to_json(self->roster);
            reply = s_ok();
            json_object_set_new(reply, "roster",
                                json ? json_loads(json, 0, NULL) : json_null());
            free(json);
        } else
            reply = s_error("cmd: unknown command '%s'", cmd);
    }
    zmq_msg_close(&m);
    json_decref(req);
    text = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(reply);
    if (text) {
        zmq_send(self->ctl, text, strlen(text), 0);
        free(text);
    } else
        zmq_send(self->ctl, "{\"ok\":false,\"error\":\"out of memory\"}", 36,
                 0);
}

/* ---- life cycle ---- */

static int
s_load_roster(daemon_t *self, char *err, size_t errlen) {
    char path[3300], rerr[300];
    roster_t *stored = NULL;
    int rc = roster_load_signed(self->cfg.roster_path, &self->cfg.coordinator,
                                0, &self->roster, rerr, sizeof rerr);
    if (rc != RK_OK) {
        snprintf(err, errlen, "roster %s refused: %s", self->cfg.roster_path,
                 rerr);
        return rc;
    }
    /* A newer roster received from the relay earlier wins. */
    snprintf(path, sizeof path, "%s/roster.signed",
             node_store_dir(self->store));
    if (roster_load_signed(path, &self->cfg.coordinator,
                           roster_serial(self->roster), &stored, rerr,
                           sizeof rerr) == RK_OK) {
        roster_destroy(&self->roster);
        self->roster = stored;
    }
    return RK_OK;
}

/* The relays of --relay: "ID=ENDPOINT", or "ENDPOINT" alone when the
 * roster lists exactly one relay. Their transport keys come from the
 * roster, so a node cannot be pointed at an impostor. */
/* A crash between writing a sent record and its outbox envelope leaves a
 * record saying "queued" for a message that was never handed over (the
 * CLI was not told "queued"): say so instead of waiting forever. */
static void
s_sweep_unqueued(daemon_t *self) {
    char **names = NULL;
    size_t n = 0;
    if (s_list_names(self, NODE_STORE_SENT, &names, &n, NULL, 0) != RK_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *rec;
        uint8_t *env = NULL;
        size_t len = 0;
        const char *st;
        if (node_store_get_env(self->store, NODE_STORE_OUTBOX, names[i], &env,
                               &len) == RK_OK) {
            free(env);
            continue;
        }
        rec = s_sent_get(self, names[i]);
        st = json_string_value(json_object_get(rec, "state"));
        if (st && !strcmp(st, "queued")) {
            s_mark_unsent(rec, "not-sent", rk_now_ms());
            json_object_set_new(rec, "note",
                                json_string("the daemon stopped before the "
                                            "message was in its outbox; it "
                                            "was never sent"));
            s_sent_save(self, names[i], rec);
            log_warn("event=never_queued msg=%s", names[i]);
        }
        json_decref(rec);
    }
    node_store_free_names(names, n);
}

static int
s_find_relays(daemon_t *self, char *err, size_t errlen) {
    if (self->cfg.n_relays == 0 || self->cfg.n_relays > DAEMON_MAX_RELAYS) {
        snprintf(err, errlen, "give 1 to %d relays", DAEMON_MAX_RELAYS);
        return RK_ERR_INVALID;
    }
    for (size_t i = 0; i < self->cfg.n_relays; i++) {
        const char *spec = self->cfg.relays[i], *eq = strchr(spec, '=');
        const roster_node_t *relay = NULL;
        const roster_keyset_t *k = NULL;
        link_t *l = &self->links[i];
        char id[ENVELOPE_NODE_ID_MAX + 1] = "";
        if (eq && (size_t)(eq - spec) <= ENVELOPE_NODE_ID_MAX) {
            memcpy(id, spec, (size_t)(eq - spec));
            id[eq - spec] = 0;
            relay = roster_find(self->roster, id);
            spec = eq + 1;
        } else {
            for (size_t j = 0; j < roster_count(self->roster); j++) {
                const roster_node_t *n = roster_node_at(self->roster, j);
                if (n->role != IDENTITY_ROLE_RELAY)
                    continue;
                if (relay) {
                    snprintf(err, errlen,
                             "the roster lists several relays; name each: "
                             "--relay ID=%s",
                             spec);
                    return RK_ERR_INVALID;
                }
                relay = n;
            }
        }
        if (!relay || relay->role != IDENTITY_ROLE_RELAY ||
            roster_usable_keys(self->roster, relay->id, NULL, rk_now_ms(),
                               &k) != RK_OK) {
            snprintf(err, errlen, "no usable relay %s in the roster",
                     id[0] ? id : "");
            return RK_ERR_UNKNOWN_KEY;
        }
        if (strlen(spec) >= sizeof l->endpoint) {
            snprintf(err, errlen, "relay endpoint longer than %zu bytes",
                     sizeof l->endpoint - 1);
            return RK_ERR_INVALID;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(self->links[j].id, relay->id)) {
                snprintf(err, errlen, "relay %s given twice", relay->id);
                return RK_ERR_INVALID;
            }
        memcpy(l->tpk, k->transport_pk, 32);
        snprintf(l->id, sizeof l->id, "%s", relay->id);
        snprintf(l->endpoint, sizeof l->endpoint, "%s", spec);
        self->n_links++;
    }
    return RK_OK;
}

daemon_t *
daemon_new(const daemon_config_t *cfg, char *err, size_t errlen) {
    daemon_t *self = calloc(1, sizeof *self);
    const roster_keyset_t *mine = NULL;
    int rc;
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = *cfg;
    if (self->cfg.hook_timeout_ms <= 0)
        self->cfg.hook_timeout_ms = S_HOOK_TIMEOUT_MS;
    self->burst = calloc(1, sizeof *self->burst);
    if (!self->burst || !(self->burst->batch = node_store_batch_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (node_store_open(cfg->state_dir, &self->store, err, errlen) != RK_OK)
        goto fail;
    if (node_store_swept(self->store))
        log_info("event=store_swept removed=%zu reason=\"temporary files "
                 "of writes a crash interrupted\"",
                 node_store_swept(self->store));
    if (node_store_replayed(self->store) ||
        node_store_journal_ignored(self->store))
        log_info("event=store_replayed files=%zu ignored_bytes=%" PRIu64
                 " reason=\"the journal put back the files a crash lost; "
                 "the ignored bytes were a burst not committed (never "
                 "confirmed, so the relay delivers it again)\"",
                 node_store_replayed(self->store),
                 node_store_journal_ignored(self->store));
    if (s_load_roster(self, err, errlen) != RK_OK)
        goto fail;
    /* Any usable key set of ours will do: during a rotation the roster
     * lists the previous and the new one. */
    rc = s_own_keyset(self->roster, cfg->identity, rk_now_ms(), &mine, err,
                      errlen);
    if (rc != RK_OK)
        goto fail;
    if (s_find_relays(self, err, errlen) != RK_OK)
        goto fail;
    s_sweep_unqueued(self);
    self->ctx = zmq_ctx_new();
    self->ctl = zmq_socket(self->ctx, ZMQ_REP);
    daemon_control_endpoint(cfg->state_dir, self->ctl_ep, sizeof self->ctl_ep);
    if (!self->ctl || zmq_bind(self->ctl, self->ctl_ep) != 0) {
        snprintf(err, errlen,
                 "cannot bind %s: %s (is another renrakud "
                 "running on this state folder?)",
                 self->ctl_ep, zmq_strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < self->n_links; i++)
        if (s_link_open(self, &self->links[i]) != RK_OK) {
            snprintf(err, errlen, "cannot connect to the relay %s: %s",
                     self->links[i].endpoint, self->links[i].last_error);
            goto fail;
        }
    /* Last: nothing after it can fail, so a start that fails runs none. */
    s_resume_hooks(self);
    log_info("event=started node=%s state=%s control=%s roster_serial=%" PRIu64,
             identity_id(cfg->identity), cfg->state_dir, self->ctl_ep,
             roster_serial(self->roster));
    return self;
fail:
    daemon_destroy(&self);
    return NULL;
}

int
daemon_run(daemon_t *self, volatile sig_atomic_t *stop) {
    while (!*stop) {
        zmq_pollitem_t items[1 + 2 * DAEMON_MAX_RELAYS];
        link_t *owner[1 + 2 * DAEMON_MAX_RELAYS];
        int n = 0;
        uint64_t now;
        items[n].socket = self->ctl;
        items[n].events = ZMQ_POLLIN;
        items[n].fd = 0;
        owner[n++] = NULL;
        for (size_t i = 0; i < self->n_links; i++) {
            link_t *l = &self->links[i];
            if (!l->sock)
                continue;
            items[n].socket = l->sock;
            items[n].events = ZMQ_POLLIN;
            items[n].fd = 0;
            owner[n++] = l;
            items[n].socket = l->mon;
            items[n].events = ZMQ_POLLIN;
            items[n].fd = 0;
            owner[n++] = l;
        }
        if (zmq_poll(items, n, 200) < 0 && errno != EINTR) {
            log_error("event=poll_failed error=\"%s\"", zmq_strerror(errno));
            return RK_ERR_IO;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_on_control(self);
        for (int i = 1; i < n; i += 2) {
            link_t *l = owner[i];
            if (items[i + 1].revents & ZMQ_POLLIN)
                s_on_monitor(self, l);
            if (l->sock && (items[i].revents & ZMQ_POLLIN))
                s_on_link(self, l);
        }
        now = rk_now_ms();
        for (size_t i = 0; i < self->n_links; i++) {
            link_t *l = &self->links[i];
            if (l->reconnect_at_ms && now >= l->reconnect_at_ms) {
                l->reconnect_at_ms = 0;
                /* Refused: perhaps the relay runs with another of the key
                 * sets the roster lists for it (a rotation); none usable
                 * left: not made again (s_link_check_key). */
                if (l->refusals > 1)
                    log_debug("event=relay_socket_recreated relay_id=%s "
                              "attempt=%" PRIu32,
                              l->id, l->refusals + 1);
                else
                    log_info("event=relay_socket_recreated relay_id=%s "
                             "attempt=%" PRIu32,
                             l->id, l->refusals + 1);
                s_link_check_key(self, l, 1);
            }
        }
        if (now - self->last_keycheck_ms >= 1000) {
            self->last_keycheck_ms = now;
            for (size_t i = 0; i < self->n_links; i++)
                if (self->links[i].sock || self->links[i].unusable)
                    s_link_check_key(self, &self->links[i], 0);
        }
        if (s_any_welcomed(self) &&
            now - self->last_resubmit_ms >= (uint64_t)self->cfg.resubmit_ms)
            s_resubmit(self, NULL);
        s_reap_hooks(self);
        if (self->n_answers)
            s_fire_answers(self);
        s_checkpoint(self, 0); /* if idle long enough */
        if (self->state_dirty) {
            if (node_store_save_state(self->store) != RK_OK)
                log_error("event=store_write_failed file=state.json");
            self->state_dirty = 0;
        }
    }
    return RK_OK;
}

void
daemon_destroy(daemon_t **self_p) {
    daemon_t *self;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    for (size_t i = 0; i < self->n_links; i++)
        s_link_close(&self->links[i]);
    if (self->ctl)
        zmq_close(self->ctl);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    /* Hooks still running get a little time to finish, so that their
     * markers go before the last checkpoint. */
    if (self->store)
        for (int t = 0; t < S_HOOK_STOP_WAIT_MS / 50; t++) {
            size_t running = 0;
            s_reap_finished(self);
            for (size_t i = 0; i < S_MAX_HOOKS; i++)
                running += self->hooks[i].pid != 0;
            if (!running)
                break;
            usleep(50 * 1000);
        }
    s_stop_hooks(self);
    if (self->store && self->state_dirty &&
        node_store_save_state(self->store) != RK_OK)
        log_error("event=store_write_failed file=state.json");
    if (self->store)
        s_checkpoint(self, 1);
    node_store_close(&self->store);
    roster_destroy(&self->roster);
    free(self->answers);
    json_decref(self->requests);
    json_decref(self->orphans);
    json_decref(self->refusals);
    json_decref(self->unreadable_sent);
    /* Never silent: a hook still running, or one that never ran, says so
     * (its marker stays: it runs at the next start). */
    for (size_t i = 0; i < S_MAX_HOOKS; i++)
        if (self->hooks[i].pid)
            log_warn("event=hook_postponed msg=%s reason=\"still running "
                     "when the daemon stopped: stopped\" action=\"it runs "
                     "again when renrakud next starts\"",
                     self->hooks[i].msg);
    for (size_t i = 0; i < self->n_hook_wait; i++)
        log_warn("event=hook_postponed msg=%s reason=\"the daemon stopped "
                 "before its turn\" action=\"it runs when renrakud next "
                 "starts\"",
                 self->hook_wait[self->hook_wait_head + i]);
    free(self->hook_wait);
    if (self->burst) /* empty: s_on_link flushes each burst it reads */
        node_store_batch_free(&self->burst->batch);
    free(self->burst);
    free(self);
    *self_p = NULL;
}

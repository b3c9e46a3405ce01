/* relay: the server loop. Each turn takes a batch of frames, verifies the
 * submits on the worker pool, handles the batch in order, appends its
 * records, makes them durable with one fdatasync, and only then answers
 * (stored, receipts) and delivers. Refusals are answered and logged too:
 * never silence. */
#include "relay.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "envelope.h"
#include "frame.h"
#include "record.h"
#include "relay_log.h"
#include "relay_map.h"
#include "relay_pool.h"
#include "relay_queue.h"
#include "relay_zap.h"
#include "replay.h"
#include "rk_buf.h"
#include "rk_log.h"
#include "rk_sha256.h"
#include "rk_util.h"
#include "roster.h"

#define S_ROUTING_ID_MAX 256
#define S_DELIVER_BURST 64
#define S_MAX_CREDIT 1024 /* deliveries in flight per node, at most */
#define S_EXPIRY_SCAN_MS 1000
#define S_PEER_FULL_LOG_MS 10000 /* a full peer is logged this often */
#define S_PIPELINE_MIN_BATCH 32  /* frames: sync on its thread from here */
/* With no signature to check (--verify-at recipients), a batch smaller
 * than this is decoded on the relay's thread: waking a worker costs more
 * than the decoding it would take over. */
#define S_INLINE_DECODE_MAX 32
#define S_REPLAY_MAX_ENTRIES 1000000
/* A connection closed (the socket monitor says which file descriptor): the
 * node whose hello came on that descriptor is probed this long after, once
 * libzmq has let go of the connection; a probe that gets through is made
 * again after S_PROBE_CONFIRM_MS; a full queue is tried at the first pace,
 * at most S_PROBE_TRIES times (see s_monitor). */
#define S_PROBE_DELAY_MS 100
#define S_PROBE_CONFIRM_MS 1000
#define S_PROBE_TRIES 50
#define S_MONITOR_EP "inproc://renraku-relay-monitor"
/* A batch that logged only confirms (delivered, expired or refused records:
 * nothing a sender waits on for `stored`) is not synced at once: its
 * records become durable with the next batch's sync, or after this long.
 * At 1,000 submits a second each confirm otherwise took an fdatasync of
 * its own, and the next submit, or a node's own sync on the same disk,
 * waited behind it. */
#define S_CONFIRM_SYNC_DEFER_MS 5

/* One connected (or once connected) node. */
typedef struct {
    char id[ENVELOPE_NODE_ID_MAX + 1];
    uint8_t rid[S_ROUTING_ID_MAX]; /* current connection's routing id */
    size_t rid_len;
    int hello; /* said hello on this connection */
    /* The connection's file descriptor in libzmq (ZMQ_SRCFD of its hello;
     * -1 unknown), and a probe planned since a connection on it closed. */
    int fd;
    uint64_t probe_ms;     /* 0: none planned; else when (monotonic ms) */
    int probe_tries;       /* probes that found its queue full */
    int probe_seen;        /* probes that got through */
    int dirty;             /* may have deliveries to send */
    uint64_t last_seen_ms; /* the last frame read from it */
    uint64_t hello_ms;     /* its last hello */
    /* Rate limit: a token bucket refilled on the relay's thread before a
     * batch is checked, spent by the workers. */
    atomic_long tokens;
    uint64_t refill_ms;
    /* Receipts from this index on wait (0: none): one could not be sent,
     * its queue full. They go, in index order, before any newer one: the
     * node reports the highest it has seen at its next hello, and the
     * relay then drops every receipt up to it. */
    uint64_t receipts_from;
    uint64_t full_count;     /* sends refused, its queue full, since the ... */
    uint64_t full_log_ms;    /* ... last log line about them */
    uint64_t limited;        /* submits refused rate-limited since the ... */
    uint64_t limited_log_ms; /* ... last log line about them */
    /* Bytes of envelopes this node has had accepted in the batch being
     * handled (batch_gen says which batch; they are queued only after its
     * sync). */
    uint64_t batch_gen, batch_held;
} conn_t;

/* One frame of a batch, from receipt to answer. */
typedef struct item {
    zmq_msg_t rid;
    zmq_msg_t body;
    char node[ENVELOPE_NODE_ID_MAX + 1]; /* ZAP User-Id */
    frame_t *f;
    int decode_rc;
    const char *why;
    /* submit */
    envelope_t *env;
    frame_reject_t verdict; /* 0: passes every check */
    char reason[200];
    uint64_t index; /* accepted record's index */
    int appended;   /* a record of it is in the batch: 1 delivered, 2
                     * accepted (answered after the sync), 3 refused */
    int answered;
    struct item *dup_of; /* the same envelope earlier in the batch */
    conn_t *conn;        /* its node's connection state, or NULL */
} item_t;

/* A slot of the batch's index by msg id: the accepted submit, valid while
 * gen is the batch's generation. */
typedef struct {
    item_t *it;
    uint64_t gen;
} batch_slot_t;

/* A receipt to send once its record is durable. For a confirm, the queue
 * lets go of the delivery only then too (accepted_index, r.msg_id and
 * r.recipient name it): a confirm whose record is lost must leave the
 * delivery owed, to be sent and confirmed again. */
typedef struct {
    char sender[ENVELOPE_NODE_ID_MAX + 1];
    relay_receipt_t r;
    int confirm;
    uint64_t accepted_index;
} owed_t;

typedef struct {
    uint64_t accepted, refused, delivered, expired, duplicates;
    uint64_t undeliverable; /* recipients given up: left the roster */
    uint64_t refused_by[FRAME_REJECT_MAX + 1];
    uint64_t fsyncs, fsync_records, fsync_us_total, fsync_us_max;
    uint64_t fsync_failures, deliveries_sent, receipts_sent, send_failures;
    uint64_t frames_in;
    uint64_t fsyncs_overlapped; /* run on the sync thread */
    uint64_t redelivered;       /* sent again, not confirmed in time */
} counters_t;

struct relay {
    relay_config_t cfg;
    char endpoint[256];
    char control_ep[512];
    char origin[300];
    void *ctx;
    void *router;
    void *control;
    void *monitor;         /* the router's disconnect events */
    size_t probes_planned; /* conns with a probe_ms */
    conn_t **by_fd;        /* descriptor -> the node whose hello came on it */
    size_t n_by_fd;
    uint64_t probe_next_ms; /* the earliest probe_ms (monotonic) */
    relay_zap_t *zap;
    relay_log_t *log;
    relay_queue_t *queue;
    replay_t *replay;
    relay_pool_t *pool;
    roster_t *roster;
    uint8_t *roster_note;
    size_t roster_note_len;
    /* The roster frame, encoded once per roster and shared by every send
     * (zmq_msg_copy shares the buffer): pushing it to thousands of nodes
     * must not hold a copy per node. */
    zmq_msg_t roster_msg;
    int roster_msg_ok;
    relay_map_t *conns; /* node id -> conn_t */
    item_t *items;      /* the batch being read, verified and handled */
    size_t n_items;
    /* The accepted submits of the batch being handled: their bytes, and
     * an open-addressing index by msg id (slots from an older batch_gen
     * are empty), so each submit is checked against the batch in O(1)
     * rather than by walking every item before it. */
    uint64_t batch_gen, batch_held;
    batch_slot_t *batch_ids;
    size_t batch_slots; /* a power of two, at least twice batch_max */
    item_t *pitems;     /* the batch before it, waiting for its sync */
    size_t n_pitems;
    /* The sync thread: the fdatasync of one batch runs there while the
     * next batch is read and verified on this thread and the pool. */
    pthread_t sync_thread;
    int sync_started;
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cv;
    int sync_req, sync_done, sync_quit; /* under sync_lock */
    int sync_inflight;                  /* posted, not yet waited for */
    int sync_ready;                     /* pitems wait for s_commit */
    int sync_begin_rc;
    uint64_t sync_pending, sync_t0;
    relay_log_sync_t sync_job;
    owed_t *owed;         /* receipts and confirms waiting for the sync */
    uint64_t deferred_ms; /* since when confirm records wait for a sync */
    int expired_logged;   /* expired records since the last sync */
    /* A roster was installed (or the relay started): deliveries pending
     * to recipients it revokes or lacks are given up, logged and told to
     * their senders at the start of the next turn (s_give_up_gone). */
    int gone_due;
    size_t n_owed, cap_owed;
    counters_t c;
    uint64_t last_expiry_ms, last_checkpoint_ms;
    uint64_t started_ms;
    uint64_t logged_roster; /* serial of the newest roster record */
    uint8_t *logged_note;   /* its signed note, while starting */
    size_t logged_note_len;
    roster_t *pending_roster; /* logged in this batch, active after sync */
    uint8_t *pending_note;
    size_t pending_note_len;
    int storage_ok; /* the last sync worked */
    /* A write or sync failed: records the queue had already applied (an
     * expiry drops its message at once) may have been cut, so memory and
     * the durable log can differ. No state snapshot is written from then
     * on: the next start rebuilds from the last one and the log. */
    int snapshots_off;
    /* The log's records whose hashes recovery took from its cache, hashed
     * again on a thread of their own after the relay serves. */
    relay_log_scrub_t *scrub;
    pthread_t scrub_thread;
    int scrub_started;
    atomic_int scrub_state; /* 0 running, 1 all agree, -1 a record differs */
    uint64_t scrub_checked, scrub_t0;
    char scrub_err[512];
    uint64_t state_size, state_ms; /* the newest state snapshot */
    pid_t saver;                   /* a child writing one, or 0 */
    int corrupt;                   /* the scrub found a changed record */
    uint64_t last_sign_ms;         /* a request last signed a checkpoint */
    uint64_t last_busy_ms;         /* a turn last read frames */
    uint64_t saver_size;           /* the log size it stands for */
    int fatal;                     /* cannot serve any more (endpoint lost) */
    rk_wbuf_t rec_buf;             /* scratch: the record being appended */
    rk_wbuf_t out_buf;             /* scratch: the frame being sent */
};

void
relay_config_defaults(relay_config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->bind = "tcp://127.0.0.1:7400";
    cfg->window_ms = 10 * 60 * 1000;
    cfg->skew_ms = 60 * 1000;
    cfg->workers = 2;
    /* Above the frame limit, so that a frame a little too large gets a
     * too-large refusal; libzmq drops a connection sending more. */
    cfg->max_msg_size = FRAME_MAX_BYTES + 64 * 1024;
    cfg->handshake_ms = 5000;
    cfg->heartbeat_ms = 5000;
    cfg->snapshot_records = 100000;
    cfg->rate_limit = 50;
    cfg->max_held_node = 256ull << 20;
    cfg->max_held = 4096ull << 20;
    cfg->rate_burst = 500;
    cfg->snapshot_ms = 60000;
    cfg->checkpoint_ms = 10 * 1000;
    cfg->batch_max = 256;
    cfg->redeliver_ms = 60 * 1000;
}

const char *
relay_endpoint(const relay_t *self) {
    return self->endpoint;
}

/* ---- connections ---- */

static void s_unplan(relay_t *self, conn_t *c);
static void s_fd_set(relay_t *self, conn_t *c, int fd);

static conn_t *
s_conn(relay_t *self, const char *node, int create) {
    size_t len = strlen(node);
    conn_t *c = relay_map_get(self->conns, node, len);
    if (c || !create)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    memcpy(c->id, node, len);
    c->fd = -1;
    if (relay_map_put(self->conns, c->id, len, c) != RK_OK) {
        free(c);
        return NULL;
    }
    return c;
}

/* Sends one frame to a routing id without blocking. Returns 0, or -1 when
 * the peer is gone or full (the caller keeps what it owes queued). */
static int
s_send_rid(relay_t *self, const void *rid, size_t rid_len, const uint8_t *buf,
           size_t len) {
    if (zmq_send(self->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(self->router, buf, len, ZMQ_DONTWAIT) < 0) {
        self->c.send_failures++;
        return -1;
    }
    return 0;
}

/* Sends to a node's current connection, if it said hello there. */
static int
s_send_node(relay_t *self, const char *node, const uint8_t *buf, size_t len) {
    conn_t *c = s_conn(self, node, 0);
    if (!c || !c->hello)
        return -1;
    if (s_send_rid(self, c->rid, c->rid_len, buf, len) != 0) {
        int e = errno;
        /* A full peer (EAGAIN) is tried again next turn, with what was not
         * sent (the caller puts it back); what libzmq took is on its way.
         * A gone one gets everything again after its next hello. */
        if (e == EAGAIN) {
            uint64_t now = rk_now_ms();
            c->dirty = 1;
            c->full_count++;
            if (now - c->full_log_ms >= S_PEER_FULL_LOG_MS) {
                /* Said once in a while, with how often since. */
                log_warn("event=peer_full node=%s sends=%" PRIu64
                         " action=\"what was not sent (deliveries, "
                         "receipts in order) is sent again next turn\"",
                         node, c->full_count);
                c->full_log_ms = now;
                c->full_count = 0;
            }
        } else {
            c->hello = 0;
            relay_queue_requeue(self->queue, node);
            log_info("event=peer_unreachable node=%s errno=%d", node, e);
        }
        return -1;
    }
    return 0;
}

/* Sends the current roster to c, sharing one encoded frame. */
static void
s_send_roster(relay_t *self, conn_t *c) {
    zmq_msg_t m;
    if (!c || !c->hello)
        return;
    if (!self->roster_msg_ok) {
        frame_t rf;
        uint8_t *buf = NULL;
        size_t len = 0;
        memset(&rf, 0, sizeof rf);
        rf.type = FRAME_ROSTER;
        rf.roster.signed_roster = self->roster_note;
        rf.roster.signed_roster_len = self->roster_note_len;
        if (frame_encode(&rf, &buf, &len) != RK_OK ||
            zmq_msg_init_size(&self->roster_msg, len) != 0) {
            free(buf);
            log_error("event=roster_push_failed reason=\"out of memory\"");
            return;
        }
        memcpy(zmq_msg_data(&self->roster_msg), buf, len);
        free(buf);
        self->roster_msg_ok = 1;
    }
    zmq_msg_init(&m);
    if (zmq_msg_copy(&m, &self->roster_msg) != 0 ||
        zmq_send(self->router, c->rid, c->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) <
            0 ||
        zmq_msg_send(&m, self->router, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&m);
        self->c.send_failures++;
        /* It asks again with its next hello (its serial is older). */
        log_info("event=roster_push_failed node=%s errno=%d", c->id, e);
        return;
    }
}

static void
s_reply(relay_t *self, item_t *it, const uint8_t *buf, size_t len) {
    if (s_send_rid(self, zmq_msg_data(&it->rid), zmq_msg_size(&it->rid), buf,
                   len) != 0)
        log_warn("event=reply_lost node=%s reason=\"peer gone or full; it "
                 "will resubmit and be answered again\"",
                 it->node);
}

/* Encodes f into the relay's scratch frame buffer (self->out_buf), which
 * zmq_send copies from: a reply or delivery per message then costs no
 * malloc and free of its own. Returns what frame_encode_to does. */
static int
s_encode(relay_t *self, const frame_t *f) {
    return frame_encode_to(f, &self->out_buf);
}

static void
s_reply_rejected(relay_t *self, item_t *it, const uint8_t *msg_id,
                 frame_reject_t code, const char *reason) {
    frame_t f = frame_rejected(msg_id, code, reason);
    if (s_encode(self, &f) == RK_OK)
        s_reply(self, it, self->out_buf.p, self->out_buf.len);
    it->answered = 1;
}

static void
s_reply_stored(relay_t *self, item_t *it, const uint8_t *msg_id, uint64_t index,
               uint64_t time_ms) {
    frame_t f = {.type = FRAME_STORED};
    memcpy(f.stored.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
    f.stored.index = index;
    f.stored.time_ms = time_ms;
    if (s_encode(self, &f) == RK_OK)
        s_reply(self, it, self->out_buf.p, self->out_buf.len);
}

/* ---- records ---- */

/* See snapshots_off. */
static void
s_snapshots_off(relay_t *self) {
    if (self->snapshots_off)
        return;
    self->snapshots_off = 1;
    log_warn("event=state_snapshots_off reason=\"a write or sync of the log "
             "failed: what was cut may differ from what the queue applied "
             "(an expiry); the next start rebuilds from the last snapshot "
             "and the log\"");
}

/* Encodes and appends one record with the next index. */
static int
s_append(relay_t *self, record_t *r, uint64_t *index) {
    int rc;
    r->version = 1;
    r->index = relay_log_size(self->log);
    r->time_ms = rk_now_ms();
    /* Into one buffer kept for the relay's life: a record (an envelope
     * and more, over 1 KiB) malloc'd and freed each time cost a glibc
     * consolidation per message. */
    rc = record_encode_to(r, &self->rec_buf);
    if (rc == RK_OK)
        rc = relay_log_append(self->log, self->rec_buf.p, self->rec_buf.len,
                              index);
    if (rc != RK_OK)
        log_error("event=log_append_failed type=%s error=\"%s\"",
                  record_type_name(r->type), rk_strerror(rc));
    return rc;
}

/* Logs a refused attempt (metadata only: never the bytes themselves). */
static void
s_log_refused(relay_t *self, item_t *it, const uint8_t *msg_id,
              const char *claimed, frame_reject_t code, const char *reason) {
    record_t r;
    uint8_t digest[32];
    memset(&r, 0, sizeof r);
    {
        const rk_part_t part = {zmq_msg_data(&it->body),
                                zmq_msg_size(&it->body)};
        rk_sha256(digest, &part, 1); /* up to 1 MiB: the fast one */
    }
    r.type = RECORD_REFUSED;
    r.refused.peer = it->node[0] ? it->node : NULL;
    if (msg_id) {
        r.refused.has_msg_id = true;
        memcpy(r.refused.msg_id, msg_id, ENVELOPE_MSG_ID_LEN);
    }
    r.refused.claimed_sender = claimed;
    r.refused.code = code;
    r.refused.reason = reason;
    r.refused.size = (uint32_t)zmq_msg_size(&it->body);
    r.refused.has_digest = true;
    memcpy(r.refused.digest, digest, sizeof digest);
    if (s_append(self, &r, NULL) == RK_OK)
        it->appended = 3;
    self->c.refused++;
    self->c.refused_by[code]++;
    log_warn("event=refused node=%s code=%s reason=\"%s\"", it->node,
             frame_reject_name(code), reason);
}

static void
s_refuse(relay_t *self, item_t *it, const uint8_t *msg_id, const char *claimed,
         frame_reject_t code, const char *reason) {
    s_log_refused(self, it, msg_id, claimed, code, reason);
    s_reply_rejected(self, it, msg_id, code, reason);
}

/* ---- phase 1: checks that need no shared state (worker threads) ---- */

static void
s_verify_one(size_t i, void *arg) {
    relay_t *self = arg;
    item_t *it = &self->items[i];
    const envelope_header_t *h;
    const roster_keyset_t *ks = NULL;
    uint64_t now = rk_now_ms();
    int rc;

    it->decode_rc = frame_decode(zmq_msg_data(&it->body),
                                 zmq_msg_size(&it->body), &it->f, &it->why);
    if (it->decode_rc != RK_OK || it->f->type != FRAME_SUBMIT)
        return;
    rc = envelope_decode(it->f->submit.envelope, it->f->submit.envelope_len,
                         &it->env, &it->why);
    if (rc != RK_OK) {
        it->verdict = frame_reject_from_error(rc);
        snprintf(it->reason, sizeof it->reason, "envelope refused: %s",
                 it->why ? it->why : rk_strerror(rc));
        return;
    }
    h = envelope_header(it->env);
    if (self->cfg.rate_limit > 0 && it->conn &&
        atomic_fetch_sub(&it->conn->tokens, 1) <= 0) {
        /* Before the signature check: a flood must not cost the relay
         * an Ed25519 verification per message. */
        it->verdict = FRAME_REJECT_RATE_LIMITED;
        snprintf(it->reason, sizeof it->reason,
                 "more than %g submits a second from this node (burst "
                 "%u): retry later",
                 self->cfg.rate_limit, self->cfg.rate_burst);
        return;
    }
    if (strcmp(h->sender, it->node) != 0) {
        it->verdict = FRAME_REJECT_SENDER_MISMATCH;
        snprintf(it->reason, sizeof it->reason,
                 "header names sender %s but this connection is %s", h->sender,
                 it->node);
        return;
    }
    rc = roster_usable_keys(self->roster, h->sender, h->sender_key_id,
                            h->created_ms, &ks);
    if (rc != RK_OK) {
        it->verdict = frame_reject_from_error(rc);
        snprintf(it->reason, sizeof it->reason,
                 "sender key of %s not usable at the created time: %s",
                 h->sender, rk_strerror(rc));
        return;
    }
    if (!self->cfg.verify_at_recipients &&
        envelope_verify(it->env, ks->sign_pk) != RK_OK) {
        it->verdict = FRAME_REJECT_BAD_SIGNATURE;
        snprintf(it->reason, sizeof it->reason,
                 "signature does not verify with %s's key", h->sender);
        return;
    }
    for (size_t r = 0; r < h->n_recipients; r++) {
        const roster_keyset_t *rk = NULL;
        rc = roster_usable_keys(self->roster, h->recipients[r], NULL, now, &rk);
        if (rc != RK_OK) {
            it->verdict = rc == RK_ERR_UNKNOWN_KEY
                              ? FRAME_REJECT_UNKNOWN_RECIPIENT
                              : FRAME_REJECT_RECIPIENT_INACTIVE;
            snprintf(it->reason, sizeof it->reason, "recipient %s: %s",
                     h->recipients[r],
                     rc == RK_ERR_UNKNOWN_KEY ? "not in the roster"
                                              : rk_strerror(rc));
            return;
        }
        /* Sealed to a key the roster does not list for that node? */
        (void)rk;
    }
    if (h->expires_ms && h->expires_ms <= now) {
        it->verdict = FRAME_REJECT_EXPIRED;
        snprintf(it->reason, sizeof it->reason,
                 "the message expired before it arrived");
        return;
    }
    if ((h->kind == ENVELOPE_KIND_DRILL_INJECT ||
         h->kind == ENVELOPE_KIND_COMM_CHECK) &&
        roster_find(self->roster, h->sender)->role !=
            IDENTITY_ROLE_CONTROLLER &&
        h->exercise) {
        it->verdict = FRAME_REJECT_NOT_ALLOWED;
        snprintf(it->reason, sizeof it->reason,
                 "only an exercise controller sends drill injects");
        return;
    }
}

/* ---- phase 2: in order, on the relay thread ---- */

/* Slot of msg_id in the batch index: its item's, or the empty one where
 * it would go. Msg ids are random, but a node may choose them: the probe
 * is bounded by the batch (at most batch_max entries, half the slots). */
static batch_slot_t *
s_batch_slot(relay_t *self, const uint8_t *msg_id) {
    uint64_t h;
    size_t mask = self->batch_slots - 1, i;
    memcpy(&h, msg_id, sizeof h);
    for (i = (size_t)(h ^ (h >> 29)) & mask;; i = (i + 1) & mask) {
        batch_slot_t *sl = &self->batch_ids[i];
        if (sl->gen != self->batch_gen ||
            memcmp(envelope_header(sl->it->env)->msg_id, msg_id,
                   ENVELOPE_MSG_ID_LEN) == 0)
            return sl;
    }
}

/* The submit with this msg id accepted earlier in the batch, or NULL. */
static item_t *
s_batch_find(relay_t *self, const uint8_t *msg_id) {
    batch_slot_t *sl = s_batch_slot(self, msg_id);
    return sl->gen == self->batch_gen ? sl->it : NULL;
}

/* Counts an accepted submit in the batch: its msg id and its bytes. */
static void
s_batch_add(relay_t *self, item_t *it, const uint8_t *msg_id) {
    batch_slot_t *sl = s_batch_slot(self, msg_id);
    uint64_t len = it->f->submit.envelope_len;
    sl->it = it;
    sl->gen = self->batch_gen;
    self->batch_held += len;
    if (it->conn) {
        if (it->conn->batch_gen != self->batch_gen) {
            it->conn->batch_gen = self->batch_gen;
            it->conn->batch_held = 0;
        }
        it->conn->batch_held += len;
    }
}

static void
s_handle_submit(relay_t *self, item_t *it) {
    const envelope_header_t *h = it->env ? envelope_header(it->env) : NULL;
    const uint8_t *mid = h ? h->msg_id : NULL;
    record_t r;
    uint64_t prior, held;
    int rc, mine;

    if (it->verdict == FRAME_REJECT_RATE_LIMITED && it->conn) {
        /* Not a record each, nor a log line each: a flood would fill the
         * log with them. Counted, answered, and summed up in one line a
         * second per node. */
        uint64_t now = rk_now_ms();
        self->c.refused++;
        self->c.refused_by[FRAME_REJECT_RATE_LIMITED]++;
        it->conn->limited++;
        if (now - it->conn->limited_log_ms >= 1000) {
            log_warn("event=rate_limited node=%s refused=%" PRIu64
                     " reason=\"%s\"",
                     it->node, it->conn->limited, it->reason);
            it->conn->limited = 0;
            it->conn->limited_log_ms = now;
        }
        s_reply_rejected(self, it, mid, it->verdict, it->reason);
        return;
    }
    if (it->verdict) {
        s_refuse(self, it, mid, h ? h->sender : NULL, it->verdict, it->reason);
        return;
    }
    /* Already accepted: the sender did not get its stored (lost reply,
     * restart); answer again, idempotently. */
    if (relay_queue_find(self->queue, h->msg_id, &prior) == RK_OK) {
        uint8_t *rec = NULL;
        size_t rec_len = 0;
        record_t *old = NULL;
        int same = 0;
        /* The very same bytes from the same sender: a retry. Anything
         * else reusing the msg id is a replay. */
        if (relay_log_read(self->log, prior, &rec, &rec_len) == RK_OK &&
            record_decode(rec, rec_len, &old, NULL) == RK_OK &&
            old->type == RECORD_ACCEPTED &&
            strcmp(old->accepted.sender, h->sender) == 0 &&
            old->accepted.envelope_len == it->f->submit.envelope_len &&
            memcmp(old->accepted.envelope, it->f->submit.envelope,
                   it->f->submit.envelope_len) == 0)
            same = 1;
        if (same) {
            self->c.duplicates++;
            s_reply_stored(self, it, h->msg_id, prior, old->time_ms);
            it->answered = 1;
        }
        record_destroy(&old);
        free(rec);
        if (!same)
            s_refuse(self, it, mid, h->sender, FRAME_REJECT_REPLAY,
                     "msg id already used by another message (replay)");
        return;
    }
    /* The same msg id earlier in this batch (a quick retry, or a replay). */
    {
        item_t *o = s_batch_find(self, h->msg_id);
        const envelope_header_t *oh = o ? envelope_header(o->env) : NULL;
        if (!o) {
            /* not in this batch: go on */
        } else if (strcmp(oh->sender, h->sender) == 0 &&
                   o->f->submit.envelope_len == it->f->submit.envelope_len &&
                   memcmp(o->f->submit.envelope, it->f->submit.envelope,
                          it->f->submit.envelope_len) == 0) {
            it->dup_of = o; /* answered with o's index after the sync */
            self->c.duplicates++;
            return;
        } else {
            s_refuse(self, it, mid, h->sender, FRAME_REJECT_REPLAY,
                     "msg id already used by another message (replay)");
            return;
        }
    }
    /* Every envelope is held in memory until its recipients confirm: one
     * node (or all) must not be able to make the relay hold more than the
     * operator allows. */
    {
        /* What the queue holds, plus what this batch accepted before it
         * (queued only after the batch's sync). */
        uint64_t node_b = relay_queue_held(self->queue, h->sender),
                 all_b = relay_queue_held(self->queue, NULL) + self->batch_held,
                 add = it->f->submit.envelope_len;
        /* The sender is the authenticated node (checked in phase 1). */
        if (it->conn && it->conn->batch_gen == self->batch_gen)
            node_b += it->conn->batch_held;
        mine = node_b + add > self->cfg.max_held_node;
        held = mine ? node_b : all_b;
    }
    if (mine || held + it->f->submit.envelope_len > self->cfg.max_held) {
        char reason[200];
        snprintf(reason, sizeof reason,
                 "the relay holds %" PRIu64 " MiB not yet delivered from %s "
                 "(limit %" PRIu64 " MiB); retry once recipients confirm",
                 held >> 20, mine ? "this node" : "all nodes",
                 (mine ? self->cfg.max_held_node : self->cfg.max_held) >> 20);
        s_refuse(self, it, mid, h->sender, FRAME_REJECT_BUSY, reason);
        return;
    }
    rc = replay_check(self->replay, h->sender, h->msg_id, h->created_ms,
                      rk_now_ms());
    if (rc != RK_OK) {
        char reason[160];
        snprintf(reason, sizeof reason, "%s", rk_strerror(rc));
        s_refuse(self, it, mid, h->sender,
                 rc == RK_ERR_FULL ? FRAME_REJECT_BUSY
                                   : frame_reject_from_error(rc),
                 reason);
        return;
    }
    memset(&r, 0, sizeof r);
    r.type = RECORD_ACCEPTED;
    r.accepted.sender = it->node;
    r.accepted.envelope = it->f->submit.envelope;
    r.accepted.envelope_len = it->f->submit.envelope_len;
    if (s_append(self, &r, &it->index) != RK_OK) {
        /* Not stored: the sender's retry must pass the replay check. */
        (void)replay_forget(self->replay, h->sender, h->msg_id);
        if (self->storage_ok)
            log_error("event=storage_failed error=\"cannot append\" "
                      "action=\"refusing submissions until the log can be "
                      "written\"");
        self->storage_ok = 0;
        s_snapshots_off(self);
        self->c.refused++;
        self->c.refused_by[FRAME_REJECT_STORAGE]++;
        s_reply_rejected(self, it, mid, FRAME_REJECT_STORAGE,
                         "the relay cannot write its log (storage error); "
                         "the message was not accepted, retry later");
        return;
    }
    it->appended = 2; /* an accepted record: answer after the sync */
    s_batch_add(self, it, h->msg_id);
}

/* Room for one more owed receipt (RK_ERR_NOMEM when there is none). */
static int
s_owed_room(relay_t *self) {
    if (self->n_owed == self->cap_owed) {
        size_t cap = self->cap_owed ? self->cap_owed * 2 : 64;
        owed_t *g = realloc(self->owed, cap * sizeof *g);
        if (!g)
            return RK_ERR_NOMEM;
        self->owed = g;
        self->cap_owed = cap;
    }
    return RK_OK;
}

/* Keeps a receipt to send once its record is durable; the entry, or NULL
 * when there is no memory for it (then it says so). */
static owed_t *
s_owe_receipt(relay_t *self, const char *sender, const relay_receipt_t *r) {
    if (s_owed_room(self) != RK_OK) {
        log_error("event=receipt_dropped reason=\"out of memory\"");
        return NULL;
    }
    memset(&self->owed[self->n_owed], 0, sizeof self->owed[0]);
    rk_str_copy(self->owed[self->n_owed].sender,
                sizeof self->owed[self->n_owed].sender, sender);
    self->owed[self->n_owed].r = *r;
    return &self->owed[self->n_owed++];
}

static void
s_handle_confirm(relay_t *self, item_t *it) {
    const frame_confirm_t *c = &it->f->confirm;
    const char *sender = NULL;
    relay_receipt_t rc;
    record_t r;
    owed_t *o;
    int room;
    /* Checked now, applied in s_commit once its record is durable. */
    int q = relay_queue_check_confirm(self->queue, c->index, c->msg_id,
                                      it->node, &sender);
    for (size_t i = 0; q == RK_OK && i < self->n_owed; i++)
        if (self->owed[i].confirm && self->owed[i].accepted_index == c->index &&
            strcmp(self->owed[i].r.recipient, it->node) == 0)
            q = RK_ERR_NOT_FOUND; /* the same confirm twice in one batch */
    if (q == RK_ERR_MISMATCH) {
        s_refuse(self, it, c->msg_id, NULL, FRAME_REJECT_MALFORMED,
                 "confirm names a msg id that is not the one at that index");
        return;
    }
    if (q != RK_OK)
        return; /* a duplicate confirm: already logged, nothing owed */
    memset(&r, 0, sizeof r);
    r.type = RECORD_DELIVERED;
    r.delivered.accepted_index = c->index;
    memcpy(r.delivered.msg_id, c->msg_id, ENVELOPE_MSG_ID_LEN);
    r.delivered.recipient = it->node;
    memset(&rc, 0, sizeof rc);
    /* The room to remember the confirm comes first: a delivered record
     * logged and then forgotten would be logged again at the next
     * confirm, one delivery twice in the log. */
    room = s_owed_room(self) == RK_OK;
    if (!room)
        log_error("event=confirm_deferred node=%s index=%" PRIu64
                  " reason=\"out of memory\"",
                  it->node, c->index);
    if (!room || s_append(self, &r, &rc.index) != RK_OK) {
        /* Not logged: deliver it again, to be confirmed again. */
        relay_queue_requeue(self->queue, it->node);
        s_conn(self, it->node, 1)->dirty = 1;
        return;
    }
    it->appended = 1;
    memcpy(rc.msg_id, c->msg_id, 16);
    rk_str_copy(rc.recipient, sizeof rc.recipient, it->node);
    rc.time_ms = rk_now_ms();
    o = s_owe_receipt(self, sender, &rc); /* has its room */
    o->confirm = 1;
    o->accepted_index = c->index;
    s_conn(self, it->node, 1)->dirty = 1;
}

static void
s_send_receipt(relay_t *self, const char *sender, const relay_receipt_t *r) {
    frame_t f = {.type = FRAME_RECEIPT};
    conn_t *c = s_conn(self, sender, 0);
    if (c && c->hello && c->receipts_from) {
        c->dirty = 1; /* after those waiting, in order */
        return;
    }
    memcpy(f.receipt.msg_id, r->msg_id, ENVELOPE_MSG_ID_LEN);
    f.receipt.recipient = r->recipient;
    switch (r->status) {
    case RELAY_RECEIPT_EXPIRED:
        f.receipt.status = FRAME_RECEIPT_EXPIRED;
        break;
    case RELAY_RECEIPT_REVOKED:
    case RELAY_RECEIPT_REMOVED:
        f.receipt.status = FRAME_RECEIPT_UNDELIVERABLE;
        f.receipt.reason =
            r->status == RELAY_RECEIPT_REVOKED ? "revoked" : "removed";
        break;
    default:
        f.receipt.status = FRAME_RECEIPT_DELIVERED;
    }
    f.receipt.time_ms = r->time_ms;
    f.receipt.index = r->index;
    if (s_encode(self, &f) != RK_OK)
        return;
    if (self->cfg.test_refuse_receipts && c && c->hello) {
        self->cfg.test_refuse_receipts--;
        c->dirty = 1;
        c->receipts_from = r->index; /* as s_send_node's EAGAIN */
        return;
    }
    if (s_send_node(self, sender, self->out_buf.p, self->out_buf.len) == 0)
        self->c.receipts_sent++;
    else if (c && c->hello) /* its queue was full: sent again, in order */
        c->receipts_from = r->index;
}

/* Sends the receipts waiting for c (its queue was full), in order; 0 when
 * none is left waiting. */
static int
s_resend_receipts(relay_t *self, conn_t *c) {
    size_t n = 0;
    const relay_receipt_t *rs =
        relay_queue_receipts_from(self->queue, c->id, c->receipts_from, &n);
    uint64_t from = c->receipts_from;
    c->receipts_from = 0;
    for (size_t i = 0; i < n; i++) {
        s_send_receipt(self, c->id, &rs[i]);
        if (c->receipts_from)
            return -1; /* full again: from this one, next turn */
    }
    if (n && c->hello) /* gone meanwhile: all again after its hello */
        log_info("event=receipts_resent node=%s from_index=%" PRIu64
                 " receipts=%zu",
                 c->id, from, n);
    return 0;
}

static void
s_handle_hello(relay_t *self, item_t *it) {
    const frame_hello_t *h = &it->f->hello;
    conn_t *c = s_conn(self, it->node, 1);
    frame_t w;
    uint8_t *buf = NULL;
    size_t len = 0, n = 0;
    const relay_receipt_t *rs;

    if (!c)
        return;
    c->rid_len = zmq_msg_size(&it->rid) < S_ROUTING_ID_MAX
                     ? zmq_msg_size(&it->rid)
                     : S_ROUTING_ID_MAX;
    memcpy(c->rid, zmq_msg_data(&it->rid), c->rid_len);
    c->hello = 1;
    c->hello_ms = rk_now_ms();
    s_unplan(self, c); /* a new connection: nothing to probe */
    s_fd_set(self, c, zmq_msg_get(&it->body, ZMQ_SRCFD)); /* -1: none */
    c->dirty = 1;
    c->receipts_from = 0; /* the node says below what it has */
    relay_queue_set_credit(self->queue, it->node,
                           !h->has_credit             ? FRAME_DEFAULT_CREDIT
                           : h->credit > S_MAX_CREDIT ? S_MAX_CREDIT
                                                      : h->credit);
    relay_queue_requeue(self->queue, it->node);
    memset(&w, 0, sizeof w);
    w.type = FRAME_WELCOME;
    w.welcome.node_id = it->node;
    w.welcome.roster_serial = roster_serial(self->roster);
    w.welcome.log_size = relay_log_durable(self->log);
    w.welcome.pending = relay_queue_pending(self->queue, it->node);
    if (frame_encode(&w, &buf, &len) == RK_OK)
        s_reply(self, it, buf, len);
    free(buf);
    it->answered = 1;
    log_info("event=hello node=%s credit=%u pending=%" PRIu64
             " roster_serial=%" PRIu64,
             it->node, h->has_credit ? h->credit : FRAME_DEFAULT_CREDIT,
             w.welcome.pending, h->has_roster_serial ? h->roster_serial : 0);
    /* A node holding an older roster gets ours. */
    if (!h->has_roster_serial || h->roster_serial < roster_serial(self->roster))
        s_send_roster(self, s_conn(self, it->node, 0));
    /* Receipts it may have missed while away. */
    rs = relay_queue_receipts(
        self->queue, it->node,
        h->has_receipts_after ? h->receipts_after : UINT64_MAX, &n);
    if (h->has_receipts_after)
        for (size_t i = 0; i < n; i++)
            s_send_receipt(self, it->node, &rs[i]);
}

static void s_push_roster(relay_t *self);

typedef struct {
    relay_t *self;
    char names[512];
    size_t n;
} revoked_t;

static void
s_find_revoked(void *value, void *arg) {
    conn_t *c = value;
    revoked_t *rv = arg;
    const roster_node_t *n;
    if (!c->hello)
        return;
    n = roster_find(rv->self->roster, c->id);
    if (n && n->status == ROSTER_ACTIVE)
        return;
    if (strlen(rv->names) + strlen(c->id) + 2 < sizeof rv->names)
        snprintf(rv->names + strlen(rv->names),
                 sizeof rv->names - strlen(rv->names), "%s%s", rv->n ? "," : "",
                 c->id);
    rv->n++;
}

static void
s_forget_all(void *value, void *arg) {
    conn_t *c = value;
    relay_t *self = arg;
    if (c->hello)
        relay_queue_requeue(self->queue, c->id);
    c->hello = 0;
}

/* A node revoked, suspended or removed while connected is cut off. libzmq
 * cannot close one peer of a ROUTER, but unbinding the endpoint ends every
 * connection accepted through it; the others reconnect by themselves and
 * say hello again (what was in flight is requeued, receipts are resent
 * after hello, unanswered submits are resubmitted and answered stored
 * again), while the revoked node's reconnection fails at ZAP. */
static void
s_reset_if_revoked(relay_t *self) {
    revoked_t rv;
    int bound = 0;
    memset(&rv, 0, sizeof rv);
    rv.self = self;
    relay_map_each(self->conns, s_find_revoked, &rv);
    if (!rv.n || !self->router)
        return;
    log_warn("event=connections_reset nodes=%s reason=\"no longer active "
             "in the roster; every peer reconnects, these are refused\"",
             rv.names);
    relay_map_each(self->conns, s_forget_all, self);
    if (zmq_unbind(self->router, self->endpoint) != 0) {
        log_error("event=unbind_failed endpoint=%s error=\"%s\"",
                  self->endpoint, zmq_strerror(errno));
        return;
    }
    /* The listener closes asynchronously: retry for up to 5 s. */
    for (int i = 0; i < 250 && !bound; i++) {
        struct timespec ts = {0, 20 * 1000000L};
        if (zmq_bind(self->router, self->endpoint) == 0)
            bound = 1;
        else
            nanosleep(&ts, NULL);
    }
    if (!bound) {
        log_error("event=rebind_failed endpoint=%s error=\"%s\" "
                  "action=\"stopping: restart the relay\"",
                  self->endpoint, zmq_strerror(errno));
        self->fatal = 1;
    }
}

/* Says so when the roster in force does not list this relay with a usable
 * key set holding its transport key: nodes take that key from the roster,
 * so none of them could connect, and their failed CURVE handshakes never
 * reach the relay's log. */
static void
s_check_own_entry(relay_t *self) {
    const identity_public_t *me = identity_public(self->cfg.identity);
    const roster_node_t *n = roster_find(self->roster, me->id);
    const char *why = NULL;

    if (!n)
        why = "this relay is not in the roster";
    else if (n->role != IDENTITY_ROLE_RELAY)
        why = "this relay's id is not of role relay in the roster";
    else if (n->status != ROSTER_ACTIVE)
        why = "this relay is not active in the roster";
    else if (roster_by_transport_key(self->roster, me->transport_pk,
                                     rk_now_ms()) != n)
        why = "no usable key set of this relay in the roster holds the "
              "transport key of --key";
    if (why)
        log_error("event=relay_not_in_roster node=%s roster_serial=%" PRIu64
                  " reason=\"%s: nodes cannot connect\"",
                  me->id, roster_serial(self->roster), why);
}

/* The signing keys of this relay's other key sets that the roster lists
 * as active and whose not_before has come: after a rotation its
 * checkpoints were signed by its previous key, which vouches for them
 * still (an expired set signed them while it was in force). A revoked or
 * suspended set does not, nor one not yet valid. Returns how many were
 * written to out. */
static size_t
s_earlier_keys(const relay_t *self, uint8_t out[ROSTER_MAX_KEYS][32]) {
    const identity_public_t *me = identity_public(self->cfg.identity);
    const roster_node_t *n = roster_find(self->roster, me->id);
    size_t count = 0;
    uint64_t now = rk_now_ms();

    if (!n || n->role != IDENTITY_ROLE_RELAY)
        return 0;
    /* A set whose validity has not begun signed nothing yet: a checkpoint
     * under it was made outside the relay, with a key the roster does not
     * vouch for before its time. */
    for (size_t i = 0; i < n->n_keys && count < ROSTER_MAX_KEYS; i++)
        if (n->keys[i].status == ROSTER_ACTIVE &&
            n->keys[i].not_before_ms <= now &&
            memcmp(n->keys[i].sign_pk, me->sign_pk, 32) != 0)
            memcpy(out[count++], n->keys[i].sign_pk, 32);
    return count;
}

/* Makes r (with its signed note) the roster the relay routes by. */
static void
s_activate_roster(relay_t *self, roster_t *r, uint8_t *note, size_t len) {
    roster_destroy(&self->roster);
    free(self->roster_note);
    self->roster = r;
    self->roster_note = note;
    self->roster_note_len = len;
    if (self->roster_msg_ok)
        zmq_msg_close(&self->roster_msg);
    self->roster_msg_ok = 0;
    log_info("event=roster_installed serial=%" PRIu64 " nodes=%zu",
             roster_serial(r), roster_count(r));
    s_check_own_entry(self);
    s_push_roster(self);
    s_reset_if_revoked(self);
    self->gone_due = 1;
}

/* Whether two signed rosters hold the same roster text; their signature
 * lines may differ (a cosigned copy is the same roster). A note that does
 * not verify with the coordinator key counts as different. */
static bool
s_same_roster(const note_verifier_t *coordinator, const uint8_t *a,
              size_t a_len, const uint8_t *b, size_t b_len) {
    const uint8_t *ta, *tb;
    size_t la, lb;
    if (a_len == b_len && memcmp(a, b, a_len) == 0)
        return true;
    if (note_verify(a, a_len, coordinator, &ta, &la) != RK_OK ||
        note_verify(b, b_len, coordinator, &tb, &lb) != RK_OK)
        return false;
    return la == lb && memcmp(ta, tb, la) == 0;
}

/* Verifies a newer signed roster (from a push, SIGHUP or the log) and logs
 * it. Outside a batch (in_batch 0) it is made durable and active at once;
 * inside one it becomes active in s_commit once the batch's sync has made
 * its record durable, so no sync ever happens in the middle of a batch. */
static int
s_install_roster(relay_t *self, const uint8_t *note, size_t len, int in_batch,
                 char *err, size_t errlen) {
    roster_t *r = NULL;
    record_t rec;
    uint8_t *copy;
    uint64_t held = roster_serial(self->roster);
    int rc;
    if (self->pending_roster && roster_serial(self->pending_roster) > held)
        held = roster_serial(self->pending_roster);
    rc = roster_open_signed(note, len, &self->cfg.coordinator, held, &r, err,
                            errlen);
    if (rc != RK_OK)
        return rc;
    copy = malloc(len);
    if (!copy) {
        roster_destroy(&r);
        return RK_ERR_NOMEM;
    }
    memcpy(copy, note, len);
    memset(&rec, 0, sizeof rec);
    rec.type = RECORD_ROSTER;
    rec.roster.serial = roster_serial(r);
    rec.roster.signed_roster = note;
    rec.roster.signed_roster_len = len;
    rc = s_append(self, &rec, NULL);
    if (rc == RK_OK && !in_batch)
        rc = relay_log_sync(self->log);
    if (rc != RK_OK) {
        snprintf(err, errlen, "cannot log the roster: %s", rk_strerror(rc));
        roster_destroy(&r);
        free(copy);
        return rc;
    }
    self->logged_roster = rec.roster.serial;
    if (!in_batch) {
        s_activate_roster(self, r, copy, len);
        return RK_OK;
    }
    roster_destroy(&self->pending_roster);
    free(self->pending_note);
    self->pending_roster = r;
    self->pending_note = copy;
    self->pending_note_len = len;
    return RK_OK;
}

/* Sends the current signed roster to every node that said hello. */
static void
s_push_one(void *value, void *arg) {
    conn_t *c = value;
    if (c->hello)
        s_send_roster(arg, c);
}

static void
s_push_roster(relay_t *self) {
    relay_map_each(self->conns, s_push_one, self);
}

static void
s_handle_roster(relay_t *self, item_t *it) {
    char err[300], reason[400];
    int rc =
        s_install_roster(self, it->f->roster.signed_roster,
                         it->f->roster.signed_roster_len, 1, err, sizeof err);
    if (rc == RK_OK) {
        it->answered = 1; /* active, and pushed, after the batch's sync */
        return;
    }
    snprintf(reason, sizeof reason, "roster refused: %s", err);
    s_refuse(self, it, NULL, NULL, FRAME_REJECT_ROSTER, reason);
}

/* The checkpoint to answer a request with: a new one is signed (a file
 * written and synced) only when the log grew and none was signed in the
 * last second, so requests cannot make the relay sign and sync a file
 * each. The newest is returned otherwise (the caller checks it covers
 * what it needs). */
static int
s_checkpoint_for_request(relay_t *self, char **note, size_t *len) {
    uint64_t now = rk_now_ms();
    if (self->last_sign_ms && now - self->last_sign_ms < 1000 &&
        relay_log_latest_checkpoint(self->log, note, len, NULL) == RK_OK)
        return RK_OK;
    self->last_sign_ms = now;
    return relay_log_checkpoint(self->log, now, note, len);
}

static void
s_handle_checkpoint_request(relay_t *self, item_t *it) {
    char *note = NULL;
    size_t len = 0;
    frame_t f;
    uint8_t *buf = NULL;
    size_t blen = 0;
    if (s_checkpoint_for_request(self, &note, &len) != RK_OK) {
        s_reply_rejected(self, it, NULL, FRAME_REJECT_INTERNAL,
                         "no checkpoint can be signed now");
        return;
    }
    memset(&f, 0, sizeof f);
    f.type = FRAME_CHECKPOINT;
    f.checkpoint.note = (const uint8_t *)note;
    f.checkpoint.note_len = len;
    if (frame_encode(&f, &buf, &blen) == RK_OK)
        s_reply(self, it, buf, blen);
    free(buf);
    free(note);
    it->answered = 1;
}

/* True when node may see record rec: an auditor always; anyone else only
 * an accepted envelope it sent or received. */
static int
s_may_read_record(relay_t *self, const char *node, const uint8_t *rec,
                  size_t len) {
    const roster_node_t *n = roster_find(self->roster, node);
    record_t *r = NULL;
    envelope_t *env = NULL;
    int ok = 0;
    if (n && n->role == IDENTITY_ROLE_AUDITOR)
        return 1;
    if (record_decode(rec, len, &r, NULL) == RK_OK &&
        r->type == RECORD_ACCEPTED &&
        envelope_decode(r->accepted.envelope, r->accepted.envelope_len, &env,
                        NULL) == RK_OK) {
        const envelope_header_t *h = envelope_header(env);
        ok = strcmp(h->sender, node) == 0;
        for (size_t i = 0; !ok && i < h->n_recipients; i++)
            ok = strcmp(h->recipients[i], node) == 0;
    }
    envelope_destroy(&env);
    record_destroy(&r);
    return ok;
}

static void
s_handle_inclusion(relay_t *self, item_t *it) {
    const frame_inclusion_request_t *q = &it->f->inclusion_request;
    uint8_t proof[MERKLE_MAX_PROOF * MERKLE_HASH_LEN];
    uint8_t *rec = NULL, *buf = NULL;
    size_t n = 0, rec_len = 0, len = 0, note_len = 0;
    char *note = NULL;
    checkpoint_t cp;
    uint64_t index = q->index;
    frame_t f;

    if (q->has_msg_id &&
        relay_queue_find(self->queue, q->msg_id, &index) != RK_OK) {
        s_reply_rejected(self, it, q->msg_id, FRAME_REJECT_MALFORMED,
                         "no accepted message has that msg id");
        return;
    }
    /* Prove against a signed checkpoint that covers the record. */
    if (s_checkpoint_for_request(self, &note, &note_len) != RK_OK ||
        relay_log_latest_checkpoint(self->log, NULL, NULL, &cp) != RK_OK) {
        s_reply_rejected(self, it, q->has_msg_id ? q->msg_id : NULL,
                         FRAME_REJECT_INTERNAL,
                         "no checkpoint can be signed now");
        free(note);
        return;
    }
    if (index < relay_log_durable(self->log) && index >= cp.size) {
        /* Durable, but newer than the newest checkpoint, and one was
         * signed less than a second ago. */
        s_reply_rejected(self, it, q->has_msg_id ? q->msg_id : NULL,
                         FRAME_REJECT_BUSY,
                         "the record is newer than the newest checkpoint; "
                         "ask again in a second");
        free(note);
        return;
    }
    if (index >= cp.size ||
        relay_log_inclusion_proof(self->log, index, cp.size, proof, &n) !=
            RK_OK ||
        relay_log_read(self->log, index, &rec, &rec_len) != RK_OK) {
        s_reply_rejected(self, it, q->has_msg_id ? q->msg_id : NULL,
                         FRAME_REJECT_MALFORMED,
                         "no such durable record to prove");
        free(note);
        return;
    }
    /* A record's metadata is for its sender, its recipients and auditors:
     * another partner may not browse who wrote to whom. */
    if (!s_may_read_record(self, it->node, rec, rec_len)) {
        s_reply_rejected(self, it, q->has_msg_id ? q->msg_id : NULL,
                         FRAME_REJECT_NOT_ALLOWED,
                         "only the sender, the recipients and auditors may "
                         "have a proof of that record");
        free(rec);
        free(note);
        return;
    }
    memset(&f, 0, sizeof f);
    f.type = FRAME_INCLUSION;
    f.inclusion.index = index;
    f.inclusion.record = rec;
    f.inclusion.record_len = rec_len;
    f.inclusion.hashes = proof;
    f.inclusion.n_hashes = n;
    f.inclusion.checkpoint = (const uint8_t *)note;
    f.inclusion.checkpoint_len = note_len;
    if (frame_encode(&f, &buf, &len) == RK_OK)
        s_reply(self, it, buf, len);
    free(buf);
    free(rec);
    free(note);
    it->answered = 1;
}

static void
s_handle_consistency(relay_t *self, item_t *it) {
    const frame_consistency_request_t *q = &it->f->consistency_request;
    uint8_t proof[MERKLE_MAX_PROOF * MERKLE_HASH_LEN];
    uint8_t *buf = NULL;
    size_t n = 0, len = 0;
    frame_t f;
    if (relay_log_consistency_proof(self->log, q->size1, q->size2, proof, &n) !=
        RK_OK) {
        s_reply_rejected(self, it, NULL, FRAME_REJECT_MALFORMED,
                         "sizes out of range (need 0 < size1 <= size2 <= "
                         "durable log size)");
        return;
    }
    memset(&f, 0, sizeof f);
    f.type = FRAME_CONSISTENCY;
    f.consistency.size1 = q->size1;
    f.consistency.size2 = q->size2;
    f.consistency.hashes = proof;
    f.consistency.n_hashes = n;
    if (frame_encode(&f, &buf, &len) == RK_OK)
        s_reply(self, it, buf, len);
    free(buf);
    it->answered = 1;
}

static void
s_handle(relay_t *self, item_t *it) {
    if (!it->node[0]) {
        /* Only reachable if ZAP were bypassed: refuse, never trust. */
        s_reply_rejected(self, it, NULL, FRAME_REJECT_NOT_ALLOWED,
                         "connection is not authenticated");
        return;
    }
    if (it->decode_rc != RK_OK) {
        char reason[200];
        snprintf(reason, sizeof reason, "frame refused: %s",
                 it->why ? it->why : rk_strerror(it->decode_rc));
        s_refuse(self, it, NULL, NULL,
                 it->decode_rc == RK_ERR_TOO_LARGE ? FRAME_REJECT_TOO_LARGE
                 : it->decode_rc == RK_ERR_VERSION ? FRAME_REJECT_VERSION
                                                   : FRAME_REJECT_MALFORMED,
                 reason);
        return;
    }
    /* Authorization is by User-Id, checked against the roster now: a node
     * revoked since its handshake is refused from then on. */
    {
        const roster_node_t *n = roster_find(self->roster, it->node);
        if (!n || n->status != ROSTER_ACTIVE) {
            s_refuse(self, it, NULL, NULL, FRAME_REJECT_SENDER_INACTIVE,
                     "this node is no longer active in the roster");
            return;
        }
    }
    switch (it->f->type) {
    case FRAME_HELLO:
        s_handle_hello(self, it);
        break;
    case FRAME_SUBMIT:
        s_handle_submit(self, it);
        break;
    case FRAME_CONFIRM:
        s_handle_confirm(self, it);
        break;
    case FRAME_PING: {
        frame_t f = {.type = FRAME_PONG};
        f.pong.has_nonce = true;
        f.pong.nonce = it->f->ping.nonce;
        if (s_encode(self, &f) == RK_OK)
            s_reply(self, it, self->out_buf.p, self->out_buf.len);
        it->answered = 1;
        break;
    }
    case FRAME_ROSTER:
        s_handle_roster(self, it);
        break;
    case FRAME_CHECKPOINT_REQUEST:
        s_handle_checkpoint_request(self, it);
        break;
    case FRAME_INCLUSION_REQUEST:
        s_handle_inclusion(self, it);
        break;
    case FRAME_CONSISTENCY_REQUEST:
        s_handle_consistency(self, it);
        break;
    default:
        s_refuse(self, it, NULL, NULL, FRAME_REJECT_NOT_ALLOWED,
                 "a node does not send this frame type to the relay");
    }
}

/* ---- expiry ---- */

/* Owes e's sender a receipt of status for each recipient e closes, all
 * pointing at the record index that closed them. */
static void
s_owe_closing(relay_t *self, const relay_expiry_t *e, uint64_t index,
              relay_receipt_status_t status) {
    for (size_t i = 0; i < e->n_recipients; i++) {
        relay_receipt_t rc;
        memset(&rc, 0, sizeof rc);
        rc.index = index;
        memcpy(rc.msg_id, e->msg_id, 16);
        rk_str_copy(rc.recipient, sizeof rc.recipient, e->recipients[i]);
        rc.status = status;
        rc.time_ms = rk_now_ms();
        s_owe_receipt(self, e->sender, &rc);
    }
}

static void
s_on_expired(const relay_expiry_t *e, void *arg) {
    relay_t *self = arg;
    record_t r;
    uint64_t index = 0;
    memset(&r, 0, sizeof r);
    r.type = RECORD_EXPIRED;
    r.expired.accepted_index = e->index;
    memcpy(r.expired.msg_id, e->msg_id, ENVELOPE_MSG_ID_LEN);
    r.expired.recipients = e->recipients;
    r.expired.n_recipients = e->n_recipients;
    if (s_append(self, &r, &index) != RK_OK) {
        /* The queue drops the message all the same. */
        s_snapshots_off(self);
        return;
    }
    self->expired_logged = 1;
    s_owe_closing(self, e, index, RELAY_RECEIPT_EXPIRED);
    self->c.expired++;
    log_info("event=expired index=%" PRIu64 " sender=%s undelivered=%zu",
             e->index, e->sender, e->n_recipients);
}

/* ---- recipients that left the roster ---- */

static void s_flush(relay_t *self);

/* 1 revoked, 2 removed (absent), 0 still there (active or suspended: a
 * suspended node may come back, so its deliveries wait). */
static int
s_gone(const char *node, void *arg) {
    relay_t *self = arg;
    const roster_node_t *n = roster_find(self->roster, node);
    if (!n)
        return 2;
    return n->status == ROSTER_REVOKED ? 1 : 0;
}

static void
s_on_undeliverable(const relay_expiry_t *e, void *arg) {
    relay_t *self = arg;
    const char *why = e->reason == 1 ? "revoked" : "removed";
    record_t r;
    uint64_t index = 0;
    char hex[33];
    memset(&r, 0, sizeof r);
    r.type = RECORD_UNDELIVERABLE;
    r.undeliverable.accepted_index = e->index;
    memcpy(r.undeliverable.msg_id, e->msg_id, ENVELOPE_MSG_ID_LEN);
    r.undeliverable.recipients = e->recipients;
    r.undeliverable.n_recipients = e->n_recipients;
    r.undeliverable.reason = why;
    r.undeliverable.roster_serial = roster_serial(self->roster);
    rk_hex(hex, e->msg_id, 16);
    if (s_append(self, &r, &index) != RK_OK) {
        /* The queue drops them all the same; a restart rebuilds from the
         * log, finds them pending and gives them up again. */
        s_snapshots_off(self);
        return;
    }
    self->expired_logged = 1; /* a record to sync before the receipts */
    s_owe_closing(self, e, index,
                  e->reason == 1 ? RELAY_RECEIPT_REVOKED
                                 : RELAY_RECEIPT_REMOVED);
    for (size_t i = 0; i < e->n_recipients; i++)
        log_warn("event=undeliverable index=%" PRIu64 " msg=%s sender=%s "
                 "recipient=%s reason=%s roster_serial=%" PRIu64
                 " record=%" PRIu64,
                 e->index, hex, e->sender, e->recipients[i], why,
                 roster_serial(self->roster), index);
    self->c.undeliverable += e->n_recipients;
}

/* Gives up the deliveries the roster in force makes impossible: to
 * recipients revoked or removed. Run where expiry runs (every confirm of
 * earlier batches applied, none of this batch yet), so a recipient whose
 * delivered record is logged is never also given up. */
static void
s_give_up_gone(relay_t *self) {
    if (!self->gone_due)
        return;
    self->gone_due = 0;
    s_flush(self); /* deferred confirms applied first */
    relay_queue_drop_gone(self->queue, s_gone, s_on_undeliverable, self);
}

/* ---- group commit and answers ---- */

/* Deliveries a node has not confirmed in time go out again: it could not
 * store them (it says so in its log, and does not confirm), or a delivery
 * or its confirm was lost while the connection stayed up. A node drops a
 * second copy of what it has. */
static void
s_on_resend(const char *node, size_t n, void *arg) {
    relay_t *self = arg;
    conn_t *c = s_conn(self, node, 0);
    self->c.redelivered += n;
    if (c)
        c->dirty = 1;
    log_warn("event=redelivering node=%s deliveries=%zu reason=\"not "
             "confirmed within %" PRIu64 " ms\"",
             node, n, self->cfg.redeliver_ms);
}

static void *
s_sync_main(void *arg) {
    relay_t *self = arg;
    pthread_mutex_lock(&self->sync_lock);
    for (;;) {
        while (!self->sync_req && !self->sync_quit)
            pthread_cond_wait(&self->sync_cv, &self->sync_lock);
        if (self->sync_quit)
            break;
        pthread_mutex_unlock(&self->sync_lock);
        relay_log_sync_run(&self->sync_job);
        pthread_mutex_lock(&self->sync_lock);
        self->sync_req = 0;
        self->sync_done = 1;
        pthread_cond_broadcast(&self->sync_cv);
    }
    pthread_mutex_unlock(&self->sync_lock);
    return NULL;
}

/* Starts making what the log holds beyond its durable size durable (on the
 * sync thread, so the next batch is read and verified meanwhile); s_commit
 * then answers pitems and applies what is owed. Without a sync thread, or
 * with nothing to sync, it is done here. */
static void
s_sync_begin(relay_t *self) {
    self->deferred_ms = 0; /* this sync covers them */
    self->expired_logged = 0;
    self->sync_pending =
        relay_log_size(self->log) - relay_log_durable(self->log);
    self->sync_t0 = rk_mono_us();
    self->sync_begin_rc = relay_log_sync_begin(self->log, &self->sync_job);
    self->sync_ready = 1;
    if (self->sync_begin_rc != RK_OK || !self->sync_job.needed)
        return;
    {
        /* Hand the sync over only when it buys something: under load (a
         * big batch just handled) with frames waiting whose signatures
         * can be checked meanwhile. Otherwise the hand-over (two thread
         * wake-ups) only adds to the answer's latency. */
        int events = 0;
        size_t len = sizeof events;
        int waiting =
            zmq_getsockopt(self->router, ZMQ_EVENTS, &events, &len) == 0 &&
            (events & ZMQ_POLLIN);
        if (!self->sync_started || self->cfg.verify_at_recipients || !waiting ||
            self->n_pitems < S_PIPELINE_MIN_BATCH) {
            relay_log_sync_run(&self->sync_job);
            return;
        }
    }
    self->c.fsyncs_overlapped++;
    pthread_mutex_lock(&self->sync_lock);
    self->sync_req = 1;
    self->sync_done = 0;
    pthread_cond_broadcast(&self->sync_cv);
    pthread_mutex_unlock(&self->sync_lock);
    self->sync_inflight = 1;
}

/* Makes the batch just handled the batch before (pitems, empty here). */
static void
s_swap_batch(relay_t *self) {
    item_t *t = self->pitems;
    self->pitems = self->items;
    self->n_pitems = self->n_items;
    self->items = t;
    self->n_items = 0;
}

/* Makes the batch just handled the one s_commit answers, and starts its
 * sync. */
static void
s_sync_start(relay_t *self) {
    s_swap_batch(self);
    s_sync_begin(self);
}

/* Waits for the sync s_sync_start began and finishes it in the log. */
static int
s_sync_finish(relay_t *self) {
    if (self->sync_inflight) {
        pthread_mutex_lock(&self->sync_lock);
        while (!self->sync_done)
            pthread_cond_wait(&self->sync_cv, &self->sync_lock);
        pthread_mutex_unlock(&self->sync_lock);
        self->sync_inflight = 0;
    }
    if (self->sync_begin_rc != RK_OK)
        return self->sync_begin_rc;
    return relay_log_sync_end(self->log, &self->sync_job);
}

/* Answers the batch before (pitems) once its sync is done, and lets it go.
 * Nothing to do when no batch waits. */
static void s_commit(relay_t *self);
static void s_release_batch(relay_t *self);
static void
s_settle(relay_t *self) {
    s_commit(self);
    s_release_batch(self);
}

/* Whether the batch just handled may leave its records to a later sync:
 * it logged only confirms (delivered records, and refused or expired
 * ones), so no sender waits on it for `stored`. A confirm's record then
 * becomes durable with the next submits, which usually come within the
 * deferral: one fdatasync instead of two. A crash meanwhile loses only
 * that the delivery was confirmed: it is sent again after the restart,
 * as when the relay stops before any sync, and the node drops the second
 * copy. */
static int
s_may_defer(relay_t *self, uint64_t now) {
    if (!self->storage_ok || self->pending_roster || self->expired_logged ||
        relay_log_size(self->log) == relay_log_durable(self->log) ||
        (self->deferred_ms &&
         now - self->deferred_ms >= S_CONFIRM_SYNC_DEFER_MS))
        return 0;
    for (size_t i = 0; i < self->n_items; i++) {
        const item_t *it = &self->items[i];
        if (it->dup_of)
            return 0;
        if (!it->appended)
            continue; /* logged nothing */
        /* Only delivered records: a refusal's record (answered at once)
         * would be lost from the audit trail by a crash meanwhile. */
        if (it->appended != 1)
            return 0;
        /* A confirm that frees credit for deliveries held back waits for
         * nothing: the recipient is draining a backlog. */
        if (relay_queue_credit_full(self->queue, it->node))
            return 0;
    }
    return 1;
}

/* Answers the batch before, makes the records of deferred batches
 * durable and applies them (the queue, the receipts), before whatever
 * needs the queue to agree with the durable log: the expiry scan, a state
 * snapshot, a checkpoint, a roster reload, the stop. */
static void
s_flush(relay_t *self) {
    s_settle(self);
    if (!self->deferred_ms)
        return;
    s_sync_begin(self); /* pitems is empty: nothing to answer, only owed */
    s_settle(self);
}

/* Makes the batch durable, then answers it. On a failed sync nothing of
 * the batch is acknowledged: accepted submits are refused with the storage
 * code (the sender keeps them in its outbox and retries). */
static void
s_commit(relay_t *self) {
    uint64_t pending = self->sync_pending;
    int ok = 1, rc;

    if (!self->sync_ready)
        return;
    self->sync_ready = 0;
    rc = s_sync_finish(self);
    if (pending || rc != RK_OK) {
        uint64_t dt = rk_mono_us() - self->sync_t0;
        self->c.fsyncs++;
        self->c.fsync_records += pending;
        self->c.fsync_us_total += dt;
        if (dt > self->c.fsync_us_max)
            self->c.fsync_us_max = dt;
        if (rc != RK_OK) {
            ok = 0;
            errno = self->sync_job.err ? self->sync_job.err : EIO;
            self->c.fsync_failures++;
            if (self->storage_ok)
                log_error("event=storage_failed error=\"%s\" errno=%d "
                          "action=\"refusing submissions until the log can "
                          "be written\"",
                          rk_strerror(rc), errno);
            self->storage_ok = 0;
            s_snapshots_off(self);
        } else if (!self->storage_ok) {
            log_info("event=storage_recovered");
            self->storage_ok = 1;
        }
    }
    for (size_t i = 0; i < self->n_pitems; i++) {
        item_t *it = &self->pitems[i];
        const envelope_header_t *h;
        if (it->appended != 2)
            continue;
        h = envelope_header(it->env);
        if (!ok) {
            (void)replay_forget(self->replay, h->sender, h->msg_id);
            s_reply_rejected(self, it, h->msg_id, FRAME_REJECT_STORAGE,
                             "the relay could not make the message durable "
                             "(storage error); it was not accepted, retry "
                             "later");
            self->c.refused++;
            self->c.refused_by[FRAME_REJECT_STORAGE]++;
            continue;
        }
        if (relay_queue_accept(self->queue, it->index, h->msg_id, h->sender,
                               h->recipients, h->n_recipients, h->expires_ms,
                               it->f->submit.envelope,
                               it->f->submit.envelope_len) != RK_OK)
            log_error("event=queue_failed index=%" PRIu64
                      " reason=\"out of memory; delivered after restart\"",
                      it->index);
        for (size_t r = 0; r < h->n_recipients; r++) {
            conn_t *c = s_conn(self, h->recipients[r], 1);
            if (c)
                c->dirty = 1;
        }
        s_reply_stored(self, it, h->msg_id, it->index, rk_now_ms());
        self->c.accepted++;
        if (rk_log_level <= RK_LOG_DEBUG) { /* no hex for an unseen line */
            char hex[33];
            rk_hex(hex, h->msg_id, 16);
            log_debug("event=stored node=%s msg=%s index=%" PRIu64
                      " recipients=%zu",
                      it->node, hex, it->index, h->n_recipients);
        }
    }
    /* Retries that came in the same batch get the same answer. */
    for (size_t i = 0; i < self->n_pitems; i++) {
        item_t *it = &self->pitems[i];
        if (!it->dup_of)
            continue;
        if (ok)
            s_reply_stored(self, it, envelope_header(it->env)->msg_id,
                           it->dup_of->index, rk_now_ms());
        else
            s_reply_rejected(self, it, envelope_header(it->env)->msg_id,
                             FRAME_REJECT_STORAGE,
                             "the relay could not make the message durable "
                             "(storage error); retry later");
        it->answered = 1;
    }
    /* A roster logged in this batch is in force once its record is. */
    if (self->pending_roster) {
        if (ok)
            s_activate_roster(self, self->pending_roster, self->pending_note,
                              self->pending_note_len);
        else {
            log_error("event=roster_not_installed reason=\"its log record "
                      "could not be made durable\"");
            roster_destroy(&self->pending_roster);
            free(self->pending_note);
        }
        self->pending_roster = NULL;
        self->pending_note = NULL;
    }
    /* Confirms and receipts whose records are now durable; or, when the
     * sync failed, deliveries to send again. */
    for (size_t i = 0; i < self->n_owed; i++) {
        owed_t *o = &self->owed[i];
        const char *sender = NULL;
        if (o->confirm) {
            conn_t *c = s_conn(self, o->r.recipient, 1);
            if (c)
                c->dirty = 1; /* credit freed, or a delivery to resend */
            if (!ok) {
                relay_queue_requeue(self->queue, o->r.recipient);
                continue;
            }
            if (relay_queue_confirm(self->queue, o->accepted_index, o->r.msg_id,
                                    o->r.recipient, &sender) != RK_OK)
                continue; /* no longer queued: nothing to apply */
            self->c.delivered++;
        }
        if (!ok)
            continue;
        if (relay_queue_add_receipt(self->queue, o->sender, &o->r) != RK_OK)
            log_error("event=receipt_dropped sender=%s", o->sender);
        s_send_receipt(self, o->sender, &o->r);
    }
    self->n_owed = 0;
}

static void
s_deliver_one(void *value, void *arg) {
    conn_t *c = value;
    relay_t *self = arg;
    relay_delivery_t d[S_DELIVER_BURST];
    size_t n;
    if (!c->dirty || !c->hello)
        return;
    {
        /* A node revoked or suspended since it connected gets nothing. */
        const roster_node_t *rn = roster_find(self->roster, c->id);
        if (!rn || rn->status != ROSTER_ACTIVE)
            return;
    }
    c->dirty = 0;
    if (c->receipts_from && s_resend_receipts(self, c) != 0)
        return; /* its queue is full still */
    while ((n = relay_queue_next(self->queue, c->id, S_DELIVER_BURST,
                                 rk_mono_us() / 1000, d)) > 0) {
        for (size_t i = 0; i < n; i++) {
            frame_t f = {.type = FRAME_DELIVER};
            const uint8_t *env = d[i].envelope;
            uint8_t *bad = NULL;
            int rc;
            if (self->cfg.test_tamper_deliveries &&
                (bad = malloc(d[i].envelope_len))) {
                memcpy(bad, env, d[i].envelope_len);
                bad[d[i].envelope_len - 1] ^= 1;
                env = bad;
            }
            f.deliver.index = d[i].index;
            f.deliver.envelope = env;
            f.deliver.envelope_len = d[i].envelope_len;
            rc = s_encode(self, &f);
            free(bad);
            if (rc != RK_OK)
                continue;
            if (s_send_node(self, c->id, self->out_buf.p, self->out_buf.len) !=
                0) {
                /* Not sent: this one and the rest of the burst go back to
                 * the queue (for a gone node, all went back already). */
                for (size_t k = i; k < n; k++)
                    (void)relay_queue_unsend(self->queue, c->id, d[k].index);
                return;
            }
            self->c.deliveries_sent++;
        }
        if (n < S_DELIVER_BURST)
            break;
    }
}

static void s_state_save(relay_t *self, int background);
static void s_state_reap(relay_t *self, int block);

/* ---- one turn ---- */

static void
s_release_batch(relay_t *self) {
    for (size_t i = 0; i < self->n_pitems; i++) {
        item_t *it = &self->pitems[i];
        frame_destroy(&it->f);
        envelope_destroy(&it->env);
        zmq_msg_close(&it->rid);
        zmq_msg_close(&it->body);
    }
    self->n_pitems = 0;
}

typedef struct {
    const void *rid;
    size_t len;
    relay_t *self;
} rid_match_t;

static void
s_forget_one(void *value, void *arg) {
    conn_t *c = value;
    rid_match_t *m = arg;
    if (c->hello && c->rid_len == m->len &&
        memcmp(c->rid, m->rid, m->len) == 0) {
        c->hello = 0;
        relay_queue_requeue(m->self->queue, c->id);
        log_info("event=peer_disconnected node=%s", c->id);
    }
}

/* A connection closed: whoever used that routing id is no longer there, so
 * nothing is sent to it (another peer could take the id later). */
static void
s_forget_rid(relay_t *self, const void *rid, size_t len) {
    rid_match_t m = {rid, len, self};
    relay_map_each(self->conns, s_forget_one, &m);
}

/* ---- disconnects ----
 * Debian's libzmq has no ZMQ_ROUTER_NOTIFY: the router never says which
 * routing id left. Its socket monitor says which file descriptor closed,
 * and the relay keeps, per descriptor, the node whose hello came on it
 * (by_fd). A descriptor is reused by the next connection, so that only
 * says whom to ask: the probe is a send to the node's routing id
 * (ZMQ_ROUTER_MANDATORY), which fails with EHOSTUNREACH once libzmq has
 * dropped that connection, and otherwise delivers a pong (nonce 0) that
 * nodes ignore. libzmq drops the connection a few ms after the event, so
 * the probe waits S_PROBE_DELAY_MS; one that gets through is made once
 * more S_PROBE_CONFIRM_MS later before the node is taken as still there.
 * EAGAIN means its queue in libzmq is full: tried again, at most
 * S_PROBE_TRIES times. */

/* Plans a probe of c (now: monotonic ms), unless one is planned. */
static void
s_plan(relay_t *self, conn_t *c, uint64_t now, uint64_t delay) {
    if (!c->hello || c->probe_ms)
        return;
    c->probe_ms = now + delay;
    c->probe_tries = 0;
    c->probe_seen = 0;
    if (!self->probes_planned++ || c->probe_ms < self->probe_next_ms)
        self->probe_next_ms = c->probe_ms;
}

static void
s_unplan(relay_t *self, conn_t *c) {
    if (!c->probe_ms)
        return;
    c->probe_ms = 0;
    self->probes_planned--;
}

/* c said hello on descriptor fd (-1: unknown). A node that said hello on
 * the same descriptor before can no longer hold it: its connection closed,
 * perhaps before the monitor told; it is probed. */
static void
s_fd_set(relay_t *self, conn_t *c, int fd) {
    conn_t *old;
    if (c->fd >= 0 && (size_t)c->fd < self->n_by_fd && self->by_fd[c->fd] == c)
        self->by_fd[c->fd] = NULL;
    c->fd = -1;
    if (fd < 0)
        return;
    if ((size_t)fd >= self->n_by_fd) {
        size_t n = self->n_by_fd ? self->n_by_fd : 1024;
        conn_t **p;
        while (n <= (size_t)fd)
            n *= 2;
        p = realloc(self->by_fd, n * sizeof *p);
        if (!p)
            return; /* not indexed: seen gone when a send fails */
        memset(p + self->n_by_fd, 0, (n - self->n_by_fd) * sizeof *p);
        self->by_fd = p;
        self->n_by_fd = n;
    }
    old = self->by_fd[fd];
    if (old && old != c && old->fd == fd) {
        old->fd = -1;
        s_plan(self, old, rk_mono_us() / 1000, S_PROBE_DELAY_MS);
    }
    self->by_fd[fd] = c;
    c->fd = fd;
}

/* Reads the monitor's events: a connection that closed plans a probe of
 * the node whose hello came on its descriptor. */
static void
s_monitor(relay_t *self) {
    for (;;) {
        zmq_msg_t ev, addr;
        uint16_t event = 0;
        uint32_t value = 0;
        int got;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        got = zmq_msg_size(&ev) >= 6;
        if (got) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
        }
        if (zmq_msg_more(&ev)) { /* the endpoint, not needed */
            zmq_msg_init(&addr);
            zmq_msg_recv(&addr, self->monitor, 0);
            zmq_msg_close(&addr);
        }
        zmq_msg_close(&ev);
        if (got && event == ZMQ_EVENT_DISCONNECTED && value < self->n_by_fd &&
            self->by_fd[value])
            s_plan(self, self->by_fd[value], rk_mono_us() / 1000,
                   S_PROBE_DELAY_MS);
    }
}

typedef enum { S_PROBE_THERE, S_PROBE_GONE, S_PROBE_FULL } s_probe_t;

/* Sends c's connection a pong now: still there (it got the pong), gone
 * (then forgotten: its deliveries wait for its next hello), or its queue
 * in libzmq full. */
static s_probe_t
s_probe_now(relay_t *self, conn_t *c) {
    frame_t f = {.type = FRAME_PONG};
    if (zmq_send(self->router, c->rid, c->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) <
        0) {
        if (errno != EHOSTUNREACH)
            return S_PROBE_FULL;
        s_unplan(self, c);
        s_fd_set(self, c, -1);
        c->hello = 0;
        relay_queue_requeue(self->queue, c->id);
        log_info("event=peer_disconnected node=%s", c->id);
        return S_PROBE_GONE;
    }
    /* The routing id went through: the body must follow. */
    f.pong.has_nonce = true;
    f.pong.nonce = 0;
    if (s_encode(self, &f) != RK_OK ||
        zmq_send(self->router, self->out_buf.p, self->out_buf.len,
                 ZMQ_DONTWAIT) < 0)
        zmq_send(self->router, "", 0, ZMQ_DONTWAIT);
    return S_PROBE_THERE;
}

static void
s_probe_due(void *value, void *arg) {
    conn_t *c = value;
    relay_t *self = arg;
    uint64_t now = rk_mono_us() / 1000;
    if (!c->probe_ms)
        return;
    if (c->probe_ms > now) {
        if (c->probe_ms < self->probe_next_ms)
            self->probe_next_ms = c->probe_ms;
        return;
    }
    if (!c->hello) { /* already gone (a send failed) */
        s_unplan(self, c);
        return;
    }
    switch (s_probe_now(self, c)) {
    case S_PROBE_GONE:
        return;
    case S_PROBE_THERE:
        if (c->probe_seen++) {
            s_unplan(self, c); /* twice: still there */
            return;
        }
        c->probe_ms = now + S_PROBE_CONFIRM_MS;
        break;
    case S_PROBE_FULL:
        if (++c->probe_tries >= S_PROBE_TRIES) {
            s_unplan(self, c);
            log_info("event=peer_probe_inconclusive node=%s "
                     "reason=\"its queue in libzmq stayed full\" "
                     "action=\"counted as connected until a send to it "
                     "fails\"",
                     c->id);
            return;
        }
        c->probe_ms = now + S_PROBE_DELAY_MS;
        break;
    }
    if (c->probe_ms < self->probe_next_ms)
        self->probe_next_ms = c->probe_ms;
}

/* Sends the probes that are due. */
static void
s_probes(relay_t *self) {
    if (!self->probes_planned || rk_mono_us() / 1000 < self->probe_next_ms)
        return;
    self->probe_next_ms = UINT64_MAX;
    relay_map_each(self->conns, s_probe_due, self);
}

/* Reads up to batch_max frames without waiting. Each must be exactly
 * [routing id][body]. */
static void
s_read_batch(relay_t *self) {
    while (self->n_items < self->cfg.batch_max) {
        item_t *it = &self->items[self->n_items];
        const char *uid;
        memset(it, 0, sizeof *it);
        zmq_msg_init(&it->rid);
        zmq_msg_init(&it->body);
        if (zmq_msg_recv(&it->rid, self->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&it->rid);
            zmq_msg_close(&it->body);
            return;
        }
        if (!zmq_msg_more(&it->rid) ||
            zmq_msg_recv(&it->body, self->router, 0) < 0) {
            zmq_msg_close(&it->rid);
            zmq_msg_close(&it->body);
            continue;
        }
        if (zmq_msg_size(&it->body) == 0 && !zmq_msg_more(&it->body)) {
            /* ZMQ_ROUTER_NOTIFY: that connection is gone. */
            s_forget_rid(self, zmq_msg_data(&it->rid), zmq_msg_size(&it->rid));
            zmq_msg_close(&it->rid);
            zmq_msg_close(&it->body);
            continue;
        }
        if (zmq_msg_more(&it->body)) {
            /* A multi-part message: drain it and refuse as malformed. */
            zmq_msg_t extra;
            int more = 1;
            while (more) {
                zmq_msg_init(&extra);
                if (zmq_msg_recv(&extra, self->router, 0) < 0)
                    more = 0;
                else
                    more = zmq_msg_more(&extra);
                zmq_msg_close(&extra);
            }
            it->decode_rc = RK_ERR_MALFORMED;
            it->why = "a frame is one ZeroMQ message part";
        }
        uid = zmq_msg_gets(&it->body, "User-Id");
        if (uid && envelope_node_id_valid(uid))
            rk_str_copy(it->node, sizeof it->node, uid);
        self->c.frames_in++;
        self->n_items++;
    }
}

static void
s_verify_item(size_t i, void *arg) {
    relay_t *self = arg;
    if (self->items[i].decode_rc == RK_OK && self->items[i].node[0])
        s_verify_one(i, arg);
}

/* Refills the rate-limit bucket of each node with frames in the batch,
 * before the workers spend from it. */
static void
s_refill(relay_t *self) {
    uint64_t t = rk_now_ms();
    for (size_t i = 0; i < self->n_items; i++) {
        item_t *it = &self->items[i];
        conn_t *c = it->node[0] ? s_conn(self, it->node, 1) : NULL;
        long have, add, burst = (long)self->cfg.rate_burst;
        it->conn = c;
        if (!c || self->cfg.rate_limit <= 0 || c->refill_ms == t)
            continue;
        if (!c->refill_ms) {
            atomic_store(&c->tokens, burst);
            c->refill_ms = t;
            continue;
        }
        /* Whole tokens only; the time of a fraction is kept (not
         * reset to now), or a node knocking every few ms would never
         * earn one. */
        add =
            (long)((double)(t - c->refill_ms) * self->cfg.rate_limit / 1000.0);
        if (add <= 0)
            continue;
        have = atomic_load(&c->tokens);
        if (have < 0)
            have = 0;
        if (have + add >= burst) {
            atomic_store(&c->tokens, burst);
            c->refill_ms = t;
        } else {
            atomic_store(&c->tokens, have + add);
            c->refill_ms +=
                (uint64_t)((double)add * 1000.0 / self->cfg.rate_limit);
        }
    }
}

static void
s_turn(relay_t *self) {
    uint64_t now;
    s_read_batch(self);
    s_refill(self);
    /* Verified while the batch before is being synced (pipelined group
     * commit), then that one is answered, then this one handled. */
    if (self->cfg.verify_at_recipients && self->n_items < S_INLINE_DECODE_MAX)
        for (size_t i = 0; i < self->n_items; i++)
            s_verify_item(i, self);
    else if (self->n_items)
        relay_pool_run(self->pool, self->n_items, s_verify_item, self);
    s_settle(self);
    now = rk_now_ms();
    /* The log is all durable here: a snapshot or a checkpoint now. The
     * snapshot waits for a quiet second (its write competes with the
     * log's fdatasync for the disk: in the bench a 35 MB snapshot written
     * under load put 300 ms on the log's syncs), unless the log has grown
     * by ten times the threshold. */
    if (self->n_items)
        self->last_busy_ms = now;
    {
        uint64_t grown = relay_log_size(self->log) - self->state_size;
        if (grown >= self->cfg.snapshot_records &&
            now - self->state_ms >= self->cfg.snapshot_ms &&
            (now - self->last_busy_ms >= 1000 ||
             grown >= 10 * self->cfg.snapshot_records)) {
            s_flush(self);
            s_state_save(self, 1);
        }
    }
    s_state_reap(self, 0);
    if (now - self->last_checkpoint_ms >= self->cfg.checkpoint_ms) {
        char *note = NULL;
        size_t len = 0;
        self->last_checkpoint_ms = now;
        s_flush(self);
        if (relay_log_durable(self->log) > 0 &&
            relay_log_checkpoint(self->log, now, &note, &len) != RK_OK)
            log_error("event=checkpoint_failed");
        free(note);
    }
    /* Expire before the batch is handled: every confirm of earlier batches
     * is applied to the queue by now (s_settle) and none of this batch is
     * yet, so a recipient whose confirm is being logged is never also
     * listed as expired. A confirm in this batch for a message that
     * expires here finds it gone and is ignored, as a late one is. */
    if (now - self->last_expiry_ms >= S_EXPIRY_SCAN_MS) {
        self->last_expiry_ms = now;
        s_flush(self); /* deferred confirms applied first */
        relay_queue_expire(self->queue, now, s_on_expired, self);
        relay_queue_resend_due(self->queue, rk_mono_us() / 1000,
                               self->cfg.redeliver_ms, s_on_resend, self);
    }
    s_give_up_gone(self);
    self->batch_gen++; /* empties the batch index */
    self->batch_held = 0;
    for (size_t i = 0; i < self->n_items; i++) {
        conn_t *c = self->items[i].conn; /* looked up by s_refill */
        if (c)
            c->last_seen_ms = rk_now_ms();
        s_handle(self, &self->items[i]);
    }
    if (s_may_defer(self, now)) {
        /* Nothing to answer after a sync: let the batch go now. */
        if (!self->deferred_ms)
            self->deferred_ms = now;
        s_swap_batch(self);
        s_release_batch(self);
    } else {
        s_sync_start(self);
        if (!self->sync_inflight)
            s_settle(self); /* nothing to wait for: answer now */
    }
    relay_map_each(self->conns, s_deliver_one, self);
}

/* ---- the control socket: `renraku-relay stats` ---- */

static void
s_count_conn(void *value, void *arg) {
    size_t *n = arg;
    n[0] += ((conn_t *)value)->hello != 0;
}

/* Appends printf-style text to b (b->failed when memory runs out). */
static void s_bprintf(rk_wbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
s_bprintf(rk_wbuf_t *b, const char *fmt, ...) {
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || rk_wbuf_reserve(b, (size_t)n + 1) != RK_OK)
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* `stats`: the counters, one JSON object, every node's queue in it. */
static void
s_stats_json(relay_t *self, rk_wbuf_t *b) {
    size_t connected = 0;
    relay_map_each(self->conns, s_count_conn, &connected);
    s_bprintf(
        b,
        "{\"uptime_s\":%" PRIu64 ",\"log_size\":%" PRIu64
        ",\"accepted\":%" PRIu64 ",\"duplicates\":%" PRIu64
        ",\"refused\":%" PRIu64 ",\"delivered\":%" PRIu64
        ",\"expired\":%" PRIu64 ",\"undeliverable\":%" PRIu64
        ",\"live_messages\":%zu"
        ",\"held_bytes\":%" PRIu64
        ",\"connected\":%zu,\"handshakes_ok\":%" PRIu64
        ",\"handshakes_refused\":%" PRIu64 ",\"fsyncs\":%" PRIu64
        ",\"fsync_failures\":%" PRIu64 ",\"fsync_batch_avg\":%.2f"
        ",\"fsync_us_avg\":%.1f,\"fsync_us_max\":%" PRIu64
        ",\"fsyncs_overlapped\":%" PRIu64 ",\"deliveries_sent\":%" PRIu64
        ",\"receipts_sent\":%" PRIu64 ",\"send_failures\":%" PRIu64
        ",\"redelivered\":%" PRIu64 ",\"roster_serial\":%" PRIu64
        ",\"storage_ok\":%s,\"refused_by\":{",
        (rk_now_ms() - self->started_ms) / 1000, relay_log_size(self->log),
        self->c.accepted, self->c.duplicates, self->c.refused,
        self->c.delivered, self->c.expired, self->c.undeliverable,
        relay_queue_live(self->queue), relay_queue_held(self->queue, NULL),
        connected, relay_zap_admitted(self->zap), relay_zap_refused(self->zap),
        self->c.fsyncs, self->c.fsync_failures,
        self->c.fsyncs ? (double)self->c.fsync_records / self->c.fsyncs : 0.0,
        self->c.fsyncs ? (double)self->c.fsync_us_total / self->c.fsyncs : 0.0,
        self->c.fsync_us_max, self->c.fsyncs_overlapped,
        self->c.deliveries_sent, self->c.receipts_sent, self->c.send_failures,
        self->c.redelivered, roster_serial(self->roster),
        self->storage_ok ? "true" : "false");
    for (int code = 1, first = 1; code <= FRAME_REJECT_MAX; code++) {
        if (!self->c.refused_by[code])
            continue;
        s_bprintf(b, "%s\"%s\":%" PRIu64, first ? "" : ",",
                  frame_reject_name((frame_reject_t)code),
                  self->c.refused_by[code]);
        first = 0;
    }
    s_bprintf(b, "},\"queued\":{");
    for (size_t i = 0, first = 1; i < roster_count(self->roster); i++) {
        const roster_node_t *nd = roster_node_at(self->roster, i);
        size_t q = relay_queue_pending(self->queue, nd->id);
        if (!q)
            continue;
        s_bprintf(b, "%s\"%s\":%zu", first ? "" : ",", nd->id, q);
        first = 0;
    }
    s_bprintf(b, "}}");
}

/* `nodes`: every node of the roster in force, whether it is connected
 * (said hello on a connection still open), since when, when the relay
 * last read a frame from it, and what waits for it. */
static void
s_nodes_json(relay_t *self, rk_wbuf_t *b) {
    char t1[40], t2[40];
    s_bprintf(b, "{\"roster_serial\":%" PRIu64 ",\"nodes\":[",
              roster_serial(self->roster));
    for (size_t i = 0; i < roster_count(self->roster); i++) {
        const roster_node_t *nd = roster_node_at(self->roster, i);
        const conn_t *c = s_conn(self, nd->id, 0);
        if (c && c->hello_ms)
            rk_time_format(t1, sizeof t1, c->hello_ms);
        if (c && c->last_seen_ms)
            rk_time_format(t2, sizeof t2, c->last_seen_ms);
        s_bprintf(
            b,
            "%s{\"id\":\"%s\",\"role\":\"%s\",\"status\":\"%s\","
            "\"this_relay\":%s,\"connected\":%s,\"hello\":%s%s%s,\"last_seen\":"
            "%s%s%s,"
            "\"queued\":%zu}",
            i ? "," : "", nd->id, identity_role_name(nd->role),
            roster_status_name(nd->status),
            strcmp(nd->id, identity_id(self->cfg.identity)) == 0 ? "true"
                                                                 : "false",
            c && c->hello ? "true" : "false", c && c->hello_ms ? "\"" : "",
            c && c->hello_ms ? t1 : "null", c && c->hello_ms ? "\"" : "",
            c && c->last_seen_ms ? "\"" : "",
            c && c->last_seen_ms ? t2 : "null",
            c && c->last_seen_ms ? "\"" : "",
            relay_queue_pending(self->queue, nd->id));
    }
    s_bprintf(b, "]}");
}

/* `probe ID`: is that node connected right now? Its connection gets a
 * pong (nonce 0, which nodes ignore) or is found gone. */
static void
s_probe_json(relay_t *self, const char *id, rk_wbuf_t *b) {
    conn_t *c;
    const char *result;
    if (!envelope_node_id_valid(id) || !roster_find(self->roster, id)) {
        s_bprintf(b, "{\"error\":\"no node of that id in the roster\"}");
        return;
    }
    c = s_conn(self, id, 0);
    if (!c || !c->hello)
        result = "not-connected";
    else
        switch (s_probe_now(self, c)) {
        case S_PROBE_THERE:
            result = "connected";
            break;
        case S_PROBE_GONE:
            result = "gone";
            break;
        default:
            result = "full";
        }
    s_bprintf(b, "{\"node\":\"%s\",\"result\":\"%s\"}", id, result);
}

static void
s_control(relay_t *self) {
    char req[128];
    int n = zmq_recv(self->control, req, sizeof req - 1, ZMQ_DONTWAIT);
    rk_wbuf_t b = {0};
    if (n < 0)
        return;
    req[n < (int)sizeof req ? n : (int)sizeof req - 1] = 0;
    if (strcmp(req, "stats") == 0)
        s_stats_json(self, &b);
    else if (strcmp(req, "nodes") == 0)
        s_nodes_json(self, &b);
    else if (strncmp(req, "probe ", 6) == 0)
        s_probe_json(self, req + 6, &b);
    else {
        zmq_send(self->control, "{\"error\":\"unknown command\"}", 27, 0);
        return;
    }
    if (b.failed)
        zmq_send(self->control, "{\"error\":\"out of memory\"}", 25, 0);
    else
        zmq_send(self->control, b.p, b.len, 0);
    rk_wbuf_free(&b);
}

/* ---- the state snapshot: DIR/state ----
 * What the relay rebuilds from its log at start (the queue with its msg
 * ids and receipts, the replay set, the newest logged roster), as it was
 * when the log had S records, all durable:
 *   "RNRKST01" || u64be S || root at S (32) || u64be body length || body
 *   || SHA-256 of everything before (32)
 * A start that finds a snapshot whose S is at most the log's size and
 * whose root is the log's root at S reads only the records from S on;
 * anything else about it (missing, damaged, another log) and the start
 * rebuilds from the whole log, as without it. Written at a clean stop
 * and, while the log grows, at most once a minute. */

/* 02: a receipt's status byte may say undeliverable (2 revoked, 3
 * removed); a 01 snapshot (0 delivered, 1 expired) reads the same way. */
#define S_STATE_MAGIC "RNRKST02"
#define S_STATE_MAGIC_01 "RNRKST01"

static void
s_state_path(const relay_t *self, char *out, size_t cap) {
    snprintf(out, cap, "%s/state", self->cfg.data_dir);
}

/* Writes the snapshot; the log must be all durable. Returns 0 or an
 * rk_err_t (it logs either). */
static int
s_state_write(relay_t *self) {
    rk_wbuf_t b;
    uint64_t size = relay_log_size(self->log), t0 = rk_now_ms();
    uint8_t root[MERKLE_HASH_LEN], digest[RK_SHA256_LEN];
    char path[4096];
    size_t body_at;
    int rc;

    if (size != relay_log_durable(self->log) || !self->storage_ok ||
        relay_log_root(self->log, size, root) != RK_OK)
        return RK_ERR_INVALID;
    memset(&b, 0, sizeof b);
    rk_wbuf_put(&b, S_STATE_MAGIC, 8);
    rk_wbuf_u64(&b, size);
    rk_wbuf_put(&b, root, sizeof root);
    rk_wbuf_u64(&b, 0); /* body length, filled in below */
    body_at = b.len;
    rk_wbuf_u64(&b, roster_serial(self->roster));
    rk_wbuf_u64(&b, self->roster_note_len);
    rk_wbuf_put(&b, self->roster_note, self->roster_note_len);
    replay_save(self->replay, &b);
    relay_queue_save(self->queue, &b);
    if (!b.failed) {
        rk_put_be64(b.p + body_at - 8, b.len - body_at);
        /* libsodium, not rk_sha256: this may run in a forked child,
         * where only the forking thread's state is sure to be sane. */
        crypto_hash_sha256(digest, b.p, b.len);
        rk_wbuf_put(&b, digest, sizeof digest);
    }
    s_state_path(self, path, sizeof path);
    rc = b.failed ? RK_ERR_NOMEM : rk_write_file(path, b.p, b.len, 0600, 0);
    if (rc == RK_OK)
        log_info("event=state_saved log_size=%" PRIu64 " bytes=%zu ms=%" PRIu64,
                 size, b.len, rk_now_ms() - t0);
    else
        log_warn("event=state_save_failed error=\"%s\" effect=\"the next "
                 "start reads more of the log\"",
                 rk_strerror(rc));
    rk_wbuf_free(&b);
    return rc;
}

/* Waits for a snapshot child; with block 0 only if it is done. */
static void
s_state_reap(relay_t *self, int block) {
    int st = 0;
    pid_t r;
    if (!self->saver)
        return;
    r = waitpid(self->saver, &st, block ? 0 : WNOHANG);
    if (r == 0)
        return;
    if (r == self->saver && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        self->state_size = self->saver_size;
    self->saver = 0;
}

/* Snapshots the state. In the background a forked child serializes and
 * writes it from its copy-on-write image of this moment, so the serving
 * loop does not stall for the size of the state; at a clean stop it is
 * done here. */
static void
s_state_save(relay_t *self, int background) {
    uint64_t size = relay_log_size(self->log);
    pid_t pid;
    self->state_ms = rk_now_ms();
    if (size != relay_log_durable(self->log) || !self->storage_ok ||
        self->snapshots_off)
        return;
    if (!background) {
        s_state_reap(self, 1);
        if (s_state_write(self) == RK_OK)
            self->state_size = size;
        return;
    }
    if (self->saver)
        return; /* the previous one is still writing */
    pid = fork();
    if (pid == 0)
        _exit(s_state_write(self) == RK_OK ? 0 : 1);
    if (pid < 0) {
        log_warn("event=state_save_failed error=\"fork: %s\"", strerror(errno));
        return;
    }
    self->saver = pid;
    self->saver_size = size;
}

/* The envelope of accepted record index, for relay_queue_restore. */
static int
s_state_fetch(void *arg, uint64_t index, const uint8_t msg_id[16],
              const char *sender, uint8_t **env, size_t *env_len) {
    relay_t *self = arg;
    uint8_t *rec = NULL;
    size_t len = 0;
    record_t *r = NULL;
    envelope_t *e = NULL;
    int rc = relay_log_read(self->log, index, &rec, &len);
    if (rc == RK_OK)
        rc = record_decode(rec, len, &r, NULL);
    if (rc == RK_OK &&
        (r->type != RECORD_ACCEPTED || strcmp(r->accepted.sender, sender) != 0))
        rc = RK_ERR_MISMATCH;
    if (rc == RK_OK)
        rc = envelope_decode(r->accepted.envelope, r->accepted.envelope_len, &e,
                             NULL);
    if (rc == RK_OK && memcmp(envelope_header(e)->msg_id, msg_id, 16) != 0)
        rc = RK_ERR_MISMATCH;
    if (rc == RK_OK) {
        *env = malloc(r->accepted.envelope_len);
        if (!*env)
            rc = RK_ERR_NOMEM;
        else {
            memcpy(*env, r->accepted.envelope, r->accepted.envelope_len);
            *env_len = r->accepted.envelope_len;
        }
    }
    envelope_destroy(&e);
    record_destroy(&r);
    free(rec);
    return rc;
}

/* Loads the snapshot into the empty queue and replay set. Returns the log
 * size it stands for (records from there on are still to be read), or 0
 * when there is none to use (then it says why, and leaves the queue and
 * the replay set empty). */
static uint64_t
s_state_load(relay_t *self) {
    char path[4096];
    uint8_t *data = NULL, root[MERKLE_HASH_LEN], digest[RK_SHA256_LEN];
    size_t len = 0;
    uint64_t size = 0, body_len;
    rk_rbuf_t b;
    rk_part_t part;
    const char *why = NULL;
    int rc;

    s_state_path(self, path, sizeof path);
    /* Bounded by what a snapshot of this log can hold: a signed roster, and a
     * few hundred bytes per record at most (msg id, replay entry, a live
     * message's recipients, a receipt). */
    rc = rk_read_file(path,
                      (size_t)(ROSTER_SIGNED_MAX_BYTES + (1u << 20) +
                               1024 * relay_log_size(self->log)),
                      &data, &len);
    if (rc == RK_ERR_NOT_FOUND)
        return 0;
    if (rc != RK_OK) {
        why = rk_strerror(rc);
        goto ignore;
    }
    if (len < 8 + 8 + 32 + 8 + 32 || (memcmp(data, S_STATE_MAGIC, 8) != 0 &&
                                      memcmp(data, S_STATE_MAGIC_01, 8) != 0)) {
        why = "not a state snapshot of this version";
        goto ignore;
    }
    part.data = data;
    part.len = len - RK_SHA256_LEN;
    rk_sha256(digest, &part, 1);
    if (memcmp(digest, data + len - RK_SHA256_LEN, RK_SHA256_LEN) != 0) {
        why = "its checksum does not match (damaged)";
        goto ignore;
    }
    b.p = data;
    b.len = len - RK_SHA256_LEN;
    b.off = 8;
    b.failed = 0;
    size = rk_rbuf_u64(&b);
    if (size == 0 || size > relay_log_size(self->log)) {
        why = "it is of a longer log than this one";
        goto ignore;
    }
    if (relay_log_root(self->log, size, root) != RK_OK ||
        memcmp(root, b.p + b.off, MERKLE_HASH_LEN) != 0) {
        why = "its root differs from the log's at its size (another log)";
        goto ignore;
    }
    b.off += MERKLE_HASH_LEN;
    body_len = rk_rbuf_u64(&b);
    if (body_len != rk_rbuf_left(&b)) {
        why = "its length is wrong";
        goto ignore;
    }
    {
        uint64_t serial = rk_rbuf_u64(&b), note_len = rk_rbuf_u64(&b);
        if (b.failed || note_len > rk_rbuf_left(&b)) {
            why = "its roster section is malformed";
            goto ignore;
        }
        if (note_len) {
            uint8_t *copy = malloc(note_len);
            if (!copy) {
                why = "out of memory";
                goto ignore;
            }
            rk_rbuf_get(&b, copy, note_len);
            free(self->logged_note);
            self->logged_note = copy;
            self->logged_note_len = note_len;
            self->logged_roster = serial;
        }
    }
    if ((rc = replay_restore(self->replay, &b)) != RK_OK) {
        why = "its replay set does not restore";
        goto ignore;
    }
    if ((rc = relay_queue_restore(self->queue, &b, s_state_fetch, self)) !=
            RK_OK ||
        rk_rbuf_left(&b) != 0) {
        why = "its queue does not restore";
        goto ignore;
    }
    free(data);
    self->state_size = size;
    log_info("event=state_loaded log_size=%" PRIu64 " live_messages=%zu "
             "replay_entries=%zu",
             size, relay_queue_live(self->queue), replay_size(self->replay));
    return size;
ignore:
    free(data);
    log_warn("event=state_ignored reason=\"%s\" effect=\"rebuilding from the "
             "whole log\"",
             why);
    /* Start again from nothing. */
    relay_queue_destroy(&self->queue);
    replay_destroy(&self->replay);
    self->queue = relay_queue_new();
    self->replay = replay_new(self->cfg.window_ms, self->cfg.skew_ms,
                              S_REPLAY_MAX_ENTRIES);
    /* relay_new checks both for NULL after this. */
    free(self->logged_note);
    self->logged_note = NULL;
    self->logged_note_len = 0;
    self->logged_roster = 0;
    return 0;
}

/* ---- life cycle ---- */

static void *
s_scrub_main(void *arg) {
    relay_t *self = arg;
    int rc = relay_log_scrub_run(self->scrub, &self->scrub_checked,
                                 self->scrub_err, sizeof self->scrub_err);
    atomic_store(&self->scrub_state, rc == RK_OK ? 1 : -1);
    return NULL;
}

/* Starts hashing again, off the serving thread, the records whose hashes
 * recovery took from the log's cache. */
static void
s_scrub_start(relay_t *self) {
    self->scrub = relay_log_scrub_take(self->log);
    if (!self->scrub)
        return;
    self->scrub_t0 = rk_now_ms();
    atomic_store(&self->scrub_state, 0);
    if (pthread_create(&self->scrub_thread, NULL, s_scrub_main, self) != 0) {
        /* No thread: check here, before serving. */
        s_scrub_main(self);
        return;
    }
    self->scrub_started = 1;
}

/* Reports the scrub once it is done; a record that changed on disk after
 * it was synced stops the relay, as it stops a start that finds one. */
static void
s_scrub_poll(relay_t *self) {
    int st;
    if (!self->scrub)
        return;
    st = atomic_load(&self->scrub_state);
    if (st == 0)
        return;
    if (self->scrub_started) {
        pthread_join(self->scrub_thread, NULL);
        self->scrub_started = 0;
    }
    if (st > 0)
        log_info("event=log_scrubbed records=%" PRIu64 " ms=%" PRIu64,
                 self->scrub_checked, rk_now_ms() - self->scrub_t0);
    else {
        log_error("event=log_corrupt error=\"%s\" action=\"stopping: a "
                  "logged record changed on disk; restore the data folder "
                  "from a backup (docs/OPERATIONS.md)\"",
                  self->scrub_err);
        self->fatal = 1;
        self->corrupt = 1;
    }
    relay_log_scrub_free(&self->scrub);
}

/* Rebuilds the queue and the replay set from the log at start. */
static int
s_rebuild_one(void *arg, uint64_t index, const uint8_t *rec, size_t len) {
    relay_t *self = arg;
    record_t *r = NULL;
    const char *why = NULL;
    int rc = record_decode(rec, len, &r, &why);
    if (rc != RK_OK) {
        log_error("event=recovery_failed index=%" PRIu64 " reason=\"%s\"",
                  index, why ? why : rk_strerror(rc));
        return rc;
    }
    switch (r->type) {
    case RECORD_ACCEPTED: {
        envelope_t *env = NULL;
        if (envelope_decode(r->accepted.envelope, r->accepted.envelope_len,
                            &env, NULL) == RK_OK) {
            const envelope_header_t *h = envelope_header(env);
            if (relay_queue_accept(self->queue, index, h->msg_id, h->sender,
                                   h->recipients, h->n_recipients,
                                   h->expires_ms, r->accepted.envelope,
                                   r->accepted.envelope_len) != RK_OK ||
                replay_remember(self->replay, h->sender, h->msg_id,
                                h->created_ms) == RK_ERR_NOMEM)
                rc = RK_ERR_NOMEM;
            envelope_destroy(&env);
        }
        break;
    }
    case RECORD_DELIVERED: {
        const char *sender = NULL;
        relay_receipt_t rc2;
        if (relay_queue_confirm(self->queue, r->delivered.accepted_index,
                                r->delivered.msg_id, r->delivered.recipient,
                                &sender) == RK_OK) {
            memset(&rc2, 0, sizeof rc2);
            rc2.index = index;
            memcpy(rc2.msg_id, r->delivered.msg_id, 16);
            snprintf(rc2.recipient, sizeof rc2.recipient, "%s",
                     r->delivered.recipient);
            rc2.time_ms = r->time_ms;
            if (relay_queue_add_receipt(self->queue, sender, &rc2) != RK_OK)
                rc = RK_ERR_NOMEM;
        }
        break;
    }
    case RECORD_ROSTER:
        /* Keep the newest logged roster: a roster file older than it must
         * not roll the relay back (a revoked node re-admitted). */
        if (r->roster.serial > self->logged_roster) {
            uint8_t *copy = malloc(r->roster.signed_roster_len);
            if (!copy) {
                rc = RK_ERR_NOMEM;
                break;
            }
            memcpy(copy, r->roster.signed_roster, r->roster.signed_roster_len);
            free(self->logged_note);
            self->logged_note = copy;
            self->logged_note_len = r->roster.signed_roster_len;
            self->logged_roster = r->roster.serial;
        }
        break;
    case RECORD_EXPIRED: {
        char sender[64];
        /* Already gone when every recipient had confirmed: fine. */
        if (relay_queue_forget(self->queue, r->expired.accepted_index,
                               sender) != RK_OK) {
            log_debug("event=expired_without_pending index=%" PRIu64, index);
            break;
        }
        /* The sender is told again after a restart, as for deliveries. */
        for (size_t i = 0; i < r->expired.n_recipients; i++) {
            relay_receipt_t rx;
            memset(&rx, 0, sizeof rx);
            rx.index = index;
            memcpy(rx.msg_id, r->expired.msg_id, 16);
            snprintf(rx.recipient, sizeof rx.recipient, "%s",
                     r->expired.recipients[i]);
            rx.status = RELAY_RECEIPT_EXPIRED;
            rx.time_ms = r->time_ms;
            if (relay_queue_add_receipt(self->queue, sender, &rx) != RK_OK)
                rc = RK_ERR_NOMEM;
        }
        break;
    }
    case RECORD_UNDELIVERABLE: {
        const record_undeliverable_t *u = &r->undeliverable;
        for (size_t i = 0; i < u->n_recipients; i++) {
            relay_receipt_t rx;
            char sender[64];
            /* Already gone (expired, or given up before): fine. */
            if (relay_queue_drop(self->queue, u->accepted_index,
                                 u->recipients[i], sender) != RK_OK) {
                log_debug("event=undeliverable_without_pending index=%" PRIu64
                          " recipient=%s",
                          index, u->recipients[i]);
                continue;
            }
            /* The sender is told again after a restart, as for expiry. */
            memset(&rx, 0, sizeof rx);
            rx.index = index;
            memcpy(rx.msg_id, u->msg_id, 16);
            snprintf(rx.recipient, sizeof rx.recipient, "%s", u->recipients[i]);
            rx.status = strcmp(u->reason, "revoked") == 0
                            ? RELAY_RECEIPT_REVOKED
                            : RELAY_RECEIPT_REMOVED;
            rx.time_ms = r->time_ms;
            if (relay_queue_add_receipt(self->queue, sender, &rx) != RK_OK)
                rc = RK_ERR_NOMEM;
        }
        break;
    }
    default:
        break;
    }
    record_destroy(&r);
    return rc;
}

static int
s_bind(relay_t *self, char *err, size_t errlen) {
    int one = 1, linger = 2000, backlog = 4096, monitor_hwm = 0;
    size_t len = sizeof self->endpoint;
    self->router = zmq_socket(self->ctx, ZMQ_ROUTER);
    if (!self->router ||
        relay_zap_harden_server(self->router,
                                identity_transport_sk(self->cfg.identity),
                                self->cfg.handshake_ms, self->cfg.heartbeat_ms,
                                self->cfg.max_msg_size) != 0 ||
        zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) !=
            0 ||
        zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        /* A thousand nodes reconnecting at once (after a relay restart)
         * must not overflow libzmq's default listen backlog of 100. */
        zmq_setsockopt(self->router, ZMQ_BACKLOG, &backlog, sizeof backlog) !=
            0) {
        snprintf(err, errlen, "cannot set up the endpoint: %s",
                 zmq_strerror(errno));
        return -1;
    }
    {
        /* A node's disconnect. ZMQ_ROUTER_NOTIFY, a draft option of libzmq
         * 4.3 that Debian's lacks, names its routing id; the socket
         * monitor names its descriptor (see s_monitor). */
        int notify = 2; /* ZMQ_NOTIFY_DISCONNECT */
        (void)zmq_setsockopt(self->router, 97 /* ZMQ_ROUTER_NOTIFY */, &notify,
                             sizeof notify);
    }
    /* No high-water mark on the monitor's pipe: libzmq's I/O thread sends
     * each event blocking, holding the monitor's lock, so a full pipe
     * (a connection flood while this thread is busy) would stall every
     * connection, and the stop, which takes that lock, would hang. */
    if (zmq_socket_monitor(self->router, S_MONITOR_EP,
                           ZMQ_EVENT_DISCONNECTED) != 0 ||
        !(self->monitor = zmq_socket(self->ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(self->monitor, ZMQ_RCVHWM, &monitor_hwm,
                       sizeof monitor_hwm) != 0 ||
        zmq_connect(self->monitor, S_MONITOR_EP) != 0) {
        log_warn("event=disconnect_monitor_unavailable error=\"%s\" "
                 "action=\"a node that disconnects is seen gone when a send "
                 "to it fails: stats count it as connected until then\"",
                 zmq_strerror(errno));
        if (self->monitor)
            zmq_close(self->monitor);
        self->monitor = NULL;
        zmq_socket_monitor(self->router, NULL, 0);
    }
    if (zmq_bind(self->router, self->cfg.bind) != 0) {
        snprintf(err, errlen, "cannot bind %s: %s", self->cfg.bind,
                 zmq_strerror(errno));
        return -1;
    }
    zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, self->endpoint, &len);
    return 0;
}

relay_t *
relay_new(const relay_config_t *cfg, char *err, size_t errlen) {
    relay_t *self = calloc(1, sizeof *self);
    relay_log_config_t lc;
    relay_log_report_t rep;
    uint8_t earlier[ROSTER_MAX_KEYS][32];
    size_t n_earlier;
    uint8_t *note = NULL;
    size_t note_len = 0;
    int rc;

    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (cfg->redeliver_ms == 0) {
        /* Every scan would send everything in flight again. */
        snprintf(err, errlen, "redeliver_ms must be more than 0");
        free(self);
        return NULL;
    }
    self->cfg = *cfg;
    self->storage_ok = 1;
    self->started_ms = rk_now_ms();
    pthread_mutex_init(&self->sync_lock, NULL);
    pthread_cond_init(&self->sync_cv, NULL);
    if (cfg->origin)
        snprintf(self->origin, sizeof self->origin, "%s", cfg->origin);
    else
        snprintf(self->origin, sizeof self->origin, "renraku/%s",
                 identity_id(cfg->identity));

    /* The roster first: without it nobody can be admitted. */
    rc = rk_read_file(cfg->roster_path, ROSTER_SIGNED_MAX_BYTES, &note,
                      &note_len);
    if (rc == RK_ERR_TOO_LARGE) {
        snprintf(err, errlen,
                 "roster %s: more than the %u bytes a signed roster may have",
                 cfg->roster_path, ROSTER_SIGNED_MAX_BYTES);
        goto fail;
    }
    if (rc != RK_OK) {
        snprintf(err, errlen, "roster %s: %s", cfg->roster_path,
                 rk_strerror(rc));
        goto fail;
    }
    {
        char rerr[300];
        rc = roster_open_signed(note, note_len, &cfg->coordinator, 0,
                                &self->roster, rerr, sizeof rerr);
        if (rc != RK_OK) {
            snprintf(err, errlen, "roster %s refused: %s", cfg->roster_path,
                     rerr);
            goto fail;
        }
    }
    self->roster_note = note;
    self->roster_note_len = note_len;
    note = NULL;

    memset(&lc, 0, sizeof lc);
    lc.dir = cfg->data_dir;
    lc.origin = self->origin;
    lc.secret_key = identity_sign_sk(cfg->identity);
    lc.segment_size = cfg->segment_bytes;
    lc.trust_leaves = true;
    n_earlier = s_earlier_keys(self, earlier);
    lc.earlier_keys = (const uint8_t(*)[32])earlier;
    lc.n_earlier_keys = n_earlier;
    rc = relay_log_open(&lc, &self->log, &rep, err, errlen);
    if (rc != RK_OK)
        goto fail;
    log_info("event=log_recovered records=%" PRIu64 " segments=%" PRIu64
             " bytes_cut=%" PRIu64 " checkpoint_size=%" PRIu64,
             rep.records, rep.segments, rep.bytes_cut, rep.checkpoint_size);

    self->queue = relay_queue_new();
    self->replay =
        replay_new(cfg->window_ms, cfg->skew_ms, S_REPLAY_MAX_ENTRIES);
    self->pool = relay_pool_new(cfg->workers);
    self->conns = relay_map_new();
    self->items = calloc(cfg->batch_max, sizeof *self->items);
    self->pitems = calloc(cfg->batch_max, sizeof *self->pitems);
    for (self->batch_slots = 16; self->batch_slots < 2 * cfg->batch_max;)
        self->batch_slots *= 2;
    self->batch_ids = calloc(self->batch_slots, sizeof *self->batch_ids);
    self->batch_gen = 1; /* calloc'd slots (gen 0) are empty */
    if (!self->queue || !self->replay || !self->pool || !self->conns ||
        !self->items || !self->pitems || !self->batch_ids) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    {
        uint64_t from = s_state_load(self);
        if (!self->queue || !self->replay) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        rc = relay_log_foreach(self->log, from, s_rebuild_one, self);
    }
    if (rc != RK_OK) {
        snprintf(err, errlen, "rebuilding the queue from the log failed: %s",
                 rk_strerror(rc));
        goto fail;
    }
    log_info("event=queue_rebuilt live_messages=%zu",
             relay_queue_live(self->queue));
    /* The roster file older than the newest logged roster? Then the logged
     * one wins: a stale file must not undo a revocation. A file with the
     * logged serial but other content (two rosters signed with one serial)
     * loses too: the nodes and the log's auditors have the logged one. */
    if (self->logged_note &&
        (self->logged_roster > roster_serial(self->roster) ||
         (self->logged_roster == roster_serial(self->roster) &&
          !s_same_roster(&cfg->coordinator, self->logged_note,
                         self->logged_note_len, self->roster_note,
                         self->roster_note_len)))) {
        roster_t *newer = NULL;
        char rerr[300];
        if (roster_open_signed(self->logged_note, self->logged_note_len,
                               &cfg->coordinator, 0, &newer, rerr,
                               sizeof rerr) != RK_OK) {
            snprintf(err, errlen,
                     "the newest roster in the log (serial %" PRIu64
                     ") does not verify: %s%s",
                     self->logged_roster, rerr,
                     self->logged_roster == roster_serial(self->roster)
                         ? "; the roster file has its serial but other "
                           "content: sign it with a higher serial"
                         : "");
            goto fail;
        }
        if (self->logged_roster > roster_serial(self->roster))
            log_warn("event=roster_file_older file=%s file_serial=%" PRIu64
                     " logged_serial=%" PRIu64 " action=\"using the logged "
                     "roster\"",
                     cfg->roster_path, roster_serial(self->roster),
                     self->logged_roster);
        else
            log_error("event=roster_serial_conflict file=%s serial=%" PRIu64
                      " action=\"using the logged roster\" reason=\"the "
                      "file holds another roster signed with the serial of "
                      "the newest logged one; sign the roster meant to be "
                      "in force with a higher serial\"",
                      cfg->roster_path, self->logged_roster);
        roster_destroy(&self->roster);
        free(self->roster_note);
        self->roster = newer;
        self->roster_note = self->logged_note;
        self->roster_note_len = self->logged_note_len;
        self->logged_note = NULL;
    }
    free(self->logged_note);
    self->logged_note = NULL;
    s_check_own_entry(self);
    /* A roster newer than the last one logged is logged now. */
    {
        record_t r;
        memset(&r, 0, sizeof r);
        r.type = RECORD_ROSTER;
        r.roster.serial = roster_serial(self->roster);
        r.roster.signed_roster = self->roster_note;
        r.roster.signed_roster_len = self->roster_note_len;
        if (self->logged_roster != roster_serial(self->roster) &&
            s_append(self, &r, NULL) != RK_OK) {
            snprintf(err, errlen, "cannot write the log in %s", cfg->data_dir);
            goto fail;
        }
        memset(&r, 0, sizeof r);
        r.type = RECORD_RELAY;
        r.relay.event = "started";
        /* Deliveries to recipients the roster in force revokes or lacks
         * (a roster logged just before a crash, or the file newer than
         * the log) are given up at the first turn. */
        self->gone_due = 1;
        if (s_append(self, &r, NULL) != RK_OK ||
            relay_log_sync(self->log) != RK_OK) {
            snprintf(err, errlen, "cannot write the log in %s", cfg->data_dir);
            goto fail;
        }
    }

    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        snprintf(err, errlen, "cannot create a ZeroMQ context");
        goto fail;
    }
    /* ZAP before the server socket, in the same context: no window in
     * which a CURVE client could be admitted without it. */
    self->zap = relay_zap_new(self->ctx);
    if (!self->zap) {
        snprintf(err, errlen, "cannot bind the ZAP handler: %s",
                 zmq_strerror(errno));
        goto fail;
    }
    if (s_bind(self, err, errlen) != 0)
        goto fail;
    if (cfg->control)
        snprintf(self->control_ep, sizeof self->control_ep, "%s", cfg->control);
    else
        snprintf(self->control_ep, sizeof self->control_ep,
                 "ipc://%s/control.sock", cfg->data_dir);
    self->control = zmq_socket(self->ctx, ZMQ_REP);
    if (!self->control || zmq_bind(self->control, self->control_ep) != 0) {
        snprintf(err, errlen, "cannot bind the control socket %s: %s",
                 self->control_ep, zmq_strerror(errno));
        goto fail;
    }
    log_info("event=listening endpoint=%s control=%s origin=%s nodes=%zu "
             "roster_serial=%" PRIu64 " workers=%zu",
             self->endpoint, self->control_ep, self->origin,
             roster_count(self->roster), roster_serial(self->roster),
             relay_pool_size(self->pool));
    s_scrub_start(self);
    /* Without the thread every sync runs inline: slower, still correct. */
    if (pthread_create(&self->sync_thread, NULL, s_sync_main, self) == 0)
        self->sync_started = 1;
    else
        log_warn("event=sync_thread_unavailable reason=\"%s\"",
                 strerror(errno));
    return self;
fail:
    free(note);
    relay_destroy(&self);
    return NULL;
}

static void
s_reload(relay_t *self) {
    uint8_t *note = NULL;
    size_t len = 0;
    char err[300];
    int rc = rk_read_file(self->cfg.roster_path, ROSTER_SIGNED_MAX_BYTES, &note,
                          &len);
    if (rc == RK_ERR_TOO_LARGE) {
        log_error("event=roster_reload_failed file=%s error=\"more than the "
                  "%u bytes a signed roster may have\"",
                  self->cfg.roster_path, ROSTER_SIGNED_MAX_BYTES);
        return;
    }
    if (rc != RK_OK) {
        log_error("event=roster_reload_failed file=%s error=\"%s\"",
                  self->cfg.roster_path, rk_strerror(rc));
        return;
    }
    rc = s_install_roster(self, note, len, 0, err, sizeof err);
    if (rc == RK_ERR_SERIAL) {
        /* Lower, not equal: the file went back (an old copy restored?);
         * the operator should hear it, as at start. */
        roster_t *old = NULL;
        char oerr[300];
        if (roster_open_signed(note, len, &self->cfg.coordinator, 0, &old, oerr,
                               sizeof oerr) == RK_OK &&
            roster_serial(old) < roster_serial(self->roster))
            log_warn("event=roster_file_older file=%s file_serial=%" PRIu64
                     " serial=%" PRIu64 " action=\"keeping the installed "
                     "roster\"",
                     self->cfg.roster_path, roster_serial(old),
                     roster_serial(self->roster));
        else if (old && roster_serial(old) == roster_serial(self->roster) &&
                 !s_same_roster(&self->cfg.coordinator, note, len,
                                self->roster_note, self->roster_note_len))
            log_error("event=roster_serial_conflict file=%s serial=%" PRIu64
                      " action=\"keeping the installed roster\" "
                      "reason=\"the file holds another roster signed with "
                      "the serial of the one in force; sign the roster "
                      "meant to be in force with a higher serial\"",
                      self->cfg.roster_path, roster_serial(old));
        else
            log_info("event=roster_unchanged reason=\"%s\"", err);
        roster_destroy(&old);
    } else if (rc != RK_OK)
        log_error("event=roster_reload_failed file=%s error=\"%s\"",
                  self->cfg.roster_path, err);
    free(note);
    /* Installed: s_activate_roster has pushed it to every node. */
}

/* How long the loop may sleep in zmq_poll, in ms. */
static long
s_poll_wait(const relay_t *self) {
    uint64_t now, gone;
    long wait = 200;
    if (self->sync_inflight)
        return 0;               /* its batch waits for an answer */
    if (self->probes_planned) { /* until the next probe is due */
        uint64_t mono = rk_mono_us() / 1000;
        if (self->probe_next_ms <= mono)
            return 0;
        if (self->probe_next_ms - mono < (uint64_t)wait)
            wait = (long)(self->probe_next_ms - mono);
    }
    now = rk_now_ms();
    if (!self->deferred_ms)
        return wait;
    gone = now - self->deferred_ms;
    if (gone >= S_CONFIRM_SYNC_DEFER_MS)
        return 0;
    return (long)(S_CONFIRM_SYNC_DEFER_MS - gone) < wait
               ? (long)(S_CONFIRM_SYNC_DEFER_MS - gone)
               : wait;
}

int
relay_run(relay_t *self, volatile sig_atomic_t *stop,
          volatile sig_atomic_t *reload) {
    while (!*stop && !self->fatal) {
        zmq_pollitem_t items[] = {
            {self->router, 0, ZMQ_POLLIN, 0},
            {relay_zap_socket(self->zap), 0, ZMQ_POLLIN, 0},
            {self->control, 0, ZMQ_POLLIN, 0},
            {self->monitor, 0, ZMQ_POLLIN, 0},
        };
        if (reload && *reload) {
            *reload = 0;
            s_flush(self); /* no sync in flight while it logs a roster */
            s_reload(self);
        }
        if (zmq_poll(items, self->monitor ? 4 : 3, s_poll_wait(self)) < 0 &&
            errno != EINTR) {
            log_error("event=poll_failed error=\"%s\"", zmq_strerror(errno));
            return RK_ERR_IO;
        }
        if (items[1].revents & ZMQ_POLLIN)
            relay_zap_handle(self->zap, self->roster, rk_now_ms());
        if (items[2].revents & ZMQ_POLLIN)
            s_control(self);
        if (items[3].revents & ZMQ_POLLIN)
            s_monitor(self);
        s_turn(self);
        s_probes(self);
        s_scrub_poll(self);
    }
    return self->fatal ? RK_ERR_IO : RK_OK;
}

static void
s_free_conn(void *p) {
    free(p);
}

void
relay_destroy(relay_t **self_p) {
    relay_t *self;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    if (self->log)
        s_flush(self); /* the last batch gets its answers */
    if (self->sync_started) {
        pthread_mutex_lock(&self->sync_lock);
        self->sync_quit = 1;
        pthread_cond_broadcast(&self->sync_cv);
        pthread_mutex_unlock(&self->sync_lock);
        pthread_join(self->sync_thread, NULL);
        self->sync_started = 0;
    }
    pthread_mutex_destroy(&self->sync_lock);
    pthread_cond_destroy(&self->sync_cv);
    if (self->scrub_started) {
        relay_log_scrub_cancel(self->scrub);
        pthread_join(self->scrub_thread, NULL);
    }
    s_state_reap(self, 1);
    relay_log_scrub_free(&self->scrub);
    /* After event=log_corrupt nothing more is written: no stopped record,
     * no checkpoint, no snapshot of a log found damaged. */
    if (self->log && self->router && !self->corrupt) {
        record_t r;
        char *note = NULL;
        size_t len = 0;
        memset(&r, 0, sizeof r);
        r.type = RECORD_RELAY;
        r.relay.event = "stopped";
        if (s_append(self, &r, NULL) == RK_OK &&
            relay_log_sync(self->log) == RK_OK &&
            relay_log_checkpoint(self->log, rk_now_ms(), &note, &len) ==
                RK_OK) {
            s_state_save(self, 0);
            log_info("event=stopped log_size=%" PRIu64,
                     relay_log_durable(self->log));
        }
        free(note);
    }
    if (self->monitor) {
        zmq_socket_monitor(self->router, NULL, 0);
        zmq_close(self->monitor);
    }
    if (self->router)
        zmq_close(self->router);
    if (self->control)
        zmq_close(self->control);
    relay_zap_destroy(&self->zap);
    if (self->roster_msg_ok)
        zmq_msg_close(&self->roster_msg);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    relay_log_close(&self->log);
    relay_queue_destroy(&self->queue);
    replay_destroy(&self->replay);
    relay_pool_destroy(&self->pool);
    relay_map_destroy(&self->conns, s_free_conn);
    roster_destroy(&self->roster);
    roster_destroy(&self->pending_roster);
    free(self->pending_note);
    free(self->logged_note);
    free(self->roster_note);
    rk_wbuf_free(&self->rec_buf);
    rk_wbuf_free(&self->out_buf);
    free(self->items);
    free(self->pitems);
    free(self->batch_ids);
    free(self->owed);
    free(self->by_fd);
    free(self);
    *self_p = NULL;
}

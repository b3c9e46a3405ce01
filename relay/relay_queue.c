/* relay_queue: messages by log index, per-node delivery lists in log order,
 * per-sender receipts. Three keyed-hash maps (keys chosen by peers, so
 * SipHash with a random key) and intrusive doubly linked lists. */
#include "relay_queue.h"

#include "relay_map.h"
#include "rk_util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_CREDIT 64

/* ---- queue state ---- */

typedef struct node node_t;
typedef struct msg msg_t;

typedef struct entry {
    msg_t *msg;
    node_t *node;
    struct entry *prev, *next; /* the node's list, log order */
    int in_flight;
    int linked;
    uint64_t sent_ms;  /* when it was last handed out, in flight */
    uint64_t sent_seq; /* its node's count of deliveries handed out then */
} entry_t;

/* One allocation: the entries, then the envelope and the sender's name. */
struct msg {
    uint64_t index;
    uint8_t msg_id[16];
    char *sender; /* in the msg's own block, after env */
    uint64_t expires_ms;
    uint8_t *env; /* in the msg's own block, after e[n] */
    size_t env_len;
    size_t n;
    size_t remaining;
    entry_t e[];
};

struct node {
    char id[64];
    entry_t *head, *tail;
    size_t pending; /* linked entries */
    size_t in_flight;
    size_t credit;
    /* Deliveries handed out (each gets the next number), the highest
     * number confirmed, and confirms counted: a delivery handed out
     * before one that was confirmed was skipped (renrakud confirms in
     * order what it kept); with no confirm at all, the node is stuck. */
    uint64_t sent_seq, confirmed_seq, confirms;
    uint64_t confirms_seen;  /* at the last resend scan ... */
    uint64_t stuck_since_ms; /* ... and since when none came */
    relay_receipt_t *receipts;
    size_t n_receipts, cap_receipts;
    uint64_t held; /* bytes of its envelopes the queue holds, as sender */
};

struct relay_queue {
    relay_map_t *nodes; /* id -> node_t */
    relay_map_t *msgs;  /* u64 index -> msg_t */
    relay_map_t *ids;   /* msg id -> id_box_t */
    msg_t *done;        /* confirmed by all, kept for its sender name */
    /* No live message expires before this (UINT64_MAX: none does), so
     * relay_queue_expire need not look at every message every time. */
    uint64_t next_expiry;
    uint64_t held; /* bytes of every envelope held */
};

/* A msg id's first accepted index; index first, so a uint64_t * reads it. */
typedef struct {
    uint64_t index;
    uint8_t msg_id[16];
} id_box_t;

static void
s_free_node(void *p) {
    node_t *n = p;
    free(n->receipts);
    free(n);
}

static void
s_free_msg(void *p) {
    free(p); /* sender and env live in the same block */
}

relay_queue_t *
relay_queue_new(void) {
    relay_queue_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->nodes = relay_map_new();
    self->msgs = relay_map_new();
    self->ids = relay_map_new();
    self->next_expiry = UINT64_MAX;
    if (!self->nodes || !self->msgs || !self->ids) {
        relay_queue_destroy(&self);
        return NULL;
    }
    return self;
}

void
relay_queue_destroy(relay_queue_t **self_p) {
    relay_queue_t *self;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    relay_map_destroy(&self->nodes, s_free_node);
    relay_map_destroy(&self->msgs, s_free_msg);
    relay_map_destroy(&self->ids, free);
    free(self);
    *self_p = NULL;
}

static node_t *
s_node(relay_queue_t *self, const char *id, int create) {
    size_t len = strnlen(id, 63);
    node_t *n = relay_map_get(self->nodes, id, len);
    if (n || !create)
        return n;
    n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    memcpy(n->id, id, len);
    n->credit = S_DEFAULT_CREDIT;
    if (relay_map_put(self->nodes, n->id, len, n) != RK_OK) {
        free(n);
        return NULL;
    }
    return n;
}

static void
s_unlink(entry_t *e) {
    node_t *n = e->node;
    if (!e->linked)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        n->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        n->tail = e->prev;
    e->prev = e->next = NULL;
    e->linked = 0;
    n->pending--;
    if (e->in_flight) {
        e->in_flight = 0;
        n->in_flight--;
    }
}

static void
s_drop_msg(relay_queue_t *self, msg_t *m) {
    node_t *snd = s_node(self, m->sender, 0);
    if (snd)
        snd->held -= m->env_len;
    self->held -= m->env_len;
    for (size_t i = 0; i < m->n; i++)
        s_unlink(&m->e[i]);
    if (self->done == m)
        self->done = NULL;
    relay_map_del(self->msgs, &m->index, sizeof m->index);
    s_free_msg(m);
}

int
relay_queue_accept(relay_queue_t *self, uint64_t index,
                   const uint8_t msg_id[16], const char *sender,
                   const char *const *recipients, size_t n, uint64_t expires_ms,
                   const uint8_t *envelope, size_t envelope_len) {
    msg_t *m;
    id_box_t *boxed;
    size_t head = sizeof *m + n * sizeof m->e[0];
    size_t sender_len = strlen(sender);

    if (relay_map_get(self->msgs, &index, sizeof index))
        return RK_ERR_EXISTS;
    /* The message, its entries, a copy of the envelope and of the
     * sender's name in one block: one malloc per accepted message, not
     * three. */
    m = malloc(head + envelope_len + sender_len + 1);
    boxed = malloc(sizeof *boxed);
    if (!m || !boxed)
        goto nomem;
    memset(m, 0, head);
    m->env = (uint8_t *)m + head;
    m->sender = (char *)m->env + envelope_len;
    if (envelope_len)
        memcpy(m->env, envelope, envelope_len);
    memcpy(m->sender, sender, sender_len + 1);
    m->env_len = envelope_len;
    m->index = index;
    memcpy(m->msg_id, msg_id, 16);
    m->expires_ms = expires_ms;
    if (expires_ms && expires_ms < self->next_expiry)
        self->next_expiry = expires_ms;
    m->n = m->remaining = n;
    for (size_t i = 0; i < n; i++) {
        node_t *nd = s_node(self, recipients[i], 1);
        entry_t *e = &m->e[i];
        if (!nd)
            goto nomem_linked;
        e->msg = m;
        e->node = nd;
        e->prev = nd->tail;
        if (nd->tail)
            nd->tail->next = e;
        else
            nd->head = e;
        nd->tail = e;
        e->linked = 1;
        nd->pending++;
    }
    boxed->index = index;
    memcpy(boxed->msg_id, msg_id, 16);
    if (relay_map_put(self->msgs, &m->index, sizeof m->index, m) != RK_OK)
        goto nomem_linked;
    {
        node_t *snd = s_node(self, sender, 1);
        if (!snd) {
            relay_map_del(self->msgs, &m->index, sizeof m->index);
            goto nomem_linked;
        }
        snd->held += envelope_len;
        self->held += envelope_len;
    }
    /* A msg id accepted before keeps its first index (and its box). */
    if (relay_map_get(self->ids, m->msg_id, 16)) {
        free(boxed);
        return RK_OK;
    }
    if (relay_map_put(self->ids, boxed->msg_id, 16, boxed) != RK_OK) {
        s_drop_msg(self, m);
        free(boxed);
        return RK_ERR_NOMEM;
    }
    return RK_OK;
nomem_linked:
    for (size_t i = 0; i < n; i++)
        if (m->e[i].node)
            s_unlink(&m->e[i]);
nomem:
    if (m)
        s_free_msg(m);
    free(boxed);
    return RK_ERR_NOMEM;
}

/* The pending delivery of message index to recipient: 0 with *m and *e
 * set, RK_ERR_NOT_FOUND (none, or already confirmed) or RK_ERR_MISMATCH
 * (msg_id is not that message's). */
static int
s_find_delivery(const relay_queue_t *self, uint64_t index,
                const uint8_t msg_id[16], const char *recipient, msg_t **m,
                entry_t **e) {
    msg_t *g = relay_map_get(self->msgs, &index, sizeof index);
    if (!g || g->remaining == 0)
        return RK_ERR_NOT_FOUND;
    if (sodium_memcmp(g->msg_id, msg_id, 16) != 0)
        return RK_ERR_MISMATCH;
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->e[i].node->id, recipient) == 0) {
            if (!g->e[i].linked)
                return RK_ERR_NOT_FOUND;
            *m = g;
            *e = &g->e[i];
            return RK_OK;
        }
    return RK_ERR_NOT_FOUND;
}

int
relay_queue_confirm(relay_queue_t *self, uint64_t index,
                    const uint8_t msg_id[16], const char *recipient,
                    const char **sender) {
    msg_t *m = NULL;
    entry_t *e = NULL;
    int rc;
    /* The previous fully confirmed message has served its caller. */
    if (self->done)
        s_drop_msg(self, self->done);
    if ((rc = s_find_delivery(self, index, msg_id, recipient, &m, &e)) != RK_OK)
        return rc;
    e->node->confirms++;
    if (e->in_flight && e->sent_seq > e->node->confirmed_seq)
        e->node->confirmed_seq = e->sent_seq;
    s_unlink(e);
    *sender = m->sender;
    if (--m->remaining == 0) {
        /* The caller logs the confirmation before the next call, so the
         * sender name must survive this one: keep the message until
         * expiry processing or the next confirm drops it. */
        m->expires_ms = 0;
        self->done = m;
    }
    return RK_OK;
}

int
relay_queue_check_confirm(const relay_queue_t *self, uint64_t index,
                          const uint8_t msg_id[16], const char *recipient,
                          const char **sender) {
    msg_t *m = NULL;
    entry_t *e = NULL;
    int rc = s_find_delivery(self, index, msg_id, recipient, &m, &e);
    if (rc == RK_OK)
        *sender = m->sender;
    return rc;
}

/* Drops messages that every recipient confirmed (remaining == 0). */
typedef struct {
    relay_queue_t *q;
    uint64_t now_ms;
    void (*fn)(const relay_expiry_t *e, void *arg);
    void *arg;
    size_t count;
} sweep_t;

size_t
relay_queue_next(relay_queue_t *self, const char *node, size_t max,
                 uint64_t now_ms, relay_delivery_t *out) {
    node_t *n = s_node(self, node, 0);
    size_t got = 0;
    if (!n)
        return 0;
    for (entry_t *e = n->head; e && got < max && n->in_flight < n->credit;
         e = e->next) {
        if (e->in_flight)
            continue;
        e->in_flight = 1;
        e->sent_ms = now_ms;
        e->sent_seq = ++n->sent_seq;
        n->in_flight++;
        out[got].index = e->msg->index;
        out[got].envelope = e->msg->env;
        out[got].envelope_len = e->msg->env_len;
        got++;
    }
    return got;
}

int
relay_queue_unsend(relay_queue_t *self, const char *node, uint64_t index) {
    node_t *n = s_node(self, node, 0);
    size_t seen = 0;
    if (!n)
        return RK_ERR_NOT_FOUND;
    for (entry_t *e = n->head; e && seen < n->in_flight; e = e->next) {
        if (!e->in_flight)
            continue;
        if (e->msg->index == index) {
            e->in_flight = 0;
            n->in_flight--;
            return RK_OK;
        }
        seen++;
    }
    return RK_ERR_NOT_FOUND;
}

void
relay_queue_set_credit(relay_queue_t *self, const char *node, size_t credit) {
    node_t *n = s_node(self, node, 1);
    if (n)
        n->credit = credit ? credit : 1;
}

void
relay_queue_requeue(relay_queue_t *self, const char *node) {
    node_t *n = s_node(self, node, 0);
    if (!n)
        return;
    for (entry_t *e = n->head; e; e = e->next)
        e->in_flight = 0;
    n->in_flight = 0;
}

typedef struct {
    uint64_t now_ms, after_ms;
    void (*fn)(const char *node, size_t n, void *arg);
    void *arg;
    size_t total;
} resend_t;

static void
s_resend_node(void *value, void *arg) {
    node_t *n = value;
    resend_t *r = arg;
    size_t seen = 0, due = 0, flying = n->in_flight;
    int stuck;
    if (n->confirms != n->confirms_seen || !n->stuck_since_ms) {
        n->confirms_seen = n->confirms;
        n->stuck_since_ms = r->now_ms;
    }
    /* No confirm for a whole period: every old delivery is due. While
     * confirms come, only those skipped (a link slower than the period
     * is no reason to send a window twice). */
    stuck = r->now_ms - n->stuck_since_ms >= r->after_ms;
    /* In-flight entries sit early in the list: stop once all are seen. */
    for (entry_t *e = n->head; e && seen < flying; e = e->next) {
        if (!e->in_flight)
            continue;
        seen++;
        if (r->now_ms - e->sent_ms >= r->after_ms &&
            (stuck || e->sent_seq < n->confirmed_seq)) {
            e->in_flight = 0;
            n->in_flight--;
            due++;
        }
    }
    if (due) {
        r->total += due;
        r->fn(n->id, due, r->arg);
    }
}

size_t
relay_queue_resend_due(relay_queue_t *self, uint64_t now_ms, uint64_t after_ms,
                       void (*fn)(const char *node, size_t n, void *arg),
                       void *arg) {
    resend_t r = {now_ms, after_ms, fn, arg, 0};
    relay_map_each(self->nodes, s_resend_node, &r);
    return r.total;
}

size_t
relay_queue_pending(const relay_queue_t *self, const char *node) {
    node_t *n = relay_map_get(self->nodes, node, strnlen(node, 63));
    return n ? n->pending : 0;
}

int
relay_queue_credit_full(const relay_queue_t *self, const char *node) {
    node_t *n = relay_map_get(self->nodes, node, strnlen(node, 63));
    return n && n->pending > n->in_flight && n->in_flight >= n->credit;
}

static void
s_count_live(void *value, void *arg) {
    *(size_t *)arg += ((msg_t *)value)->remaining > 0;
}

size_t
relay_queue_live(const relay_queue_t *self) {
    size_t live = 0;
    relay_map_each(self->msgs, s_count_live, &live);
    return live;
}

static void
s_expire_one(void *value, void *arg) {
    sweep_t *sw = arg;
    msg_t *m = value;
    const char **names;
    relay_expiry_t ex;

    if (m->remaining == 0) {
        s_drop_msg(sw->q, m);
        return;
    }
    if (!m->expires_ms)
        return;
    if (m->expires_ms > sw->now_ms) {
        if (m->expires_ms < sw->q->next_expiry)
            sw->q->next_expiry = m->expires_ms;
        return;
    }
    names = malloc((m->n ? m->n : 1) * sizeof *names);
    memset(&ex, 0, sizeof ex);
    ex.index = m->index;
    ex.sender = m->sender;
    memcpy(ex.msg_id, m->msg_id, 16);
    if (names) {
        for (size_t k = 0; k < m->n; k++)
            if (m->e[k].linked)
                names[ex.n_recipients++] = m->e[k].node->id;
        ex.recipients = names;
    }
    if (sw->fn)
        sw->fn(&ex, sw->arg);
    free(names);
    s_drop_msg(sw->q, m);
    sw->count++;
}

size_t
relay_queue_expire(relay_queue_t *self, uint64_t now_ms,
                   void (*fn)(const relay_expiry_t *e, void *arg), void *arg) {
    sweep_t sw = {self, now_ms, fn, arg, 0};
    if (now_ms < self->next_expiry) {
        if (self->done) /* the last fully confirmed one has served */
            s_drop_msg(self, self->done);
        return 0;
    }
    self->next_expiry = UINT64_MAX; /* the sweep finds the next one */
    relay_map_each(self->msgs, s_expire_one, &sw);
    return sw.count;
}

typedef struct {
    relay_queue_t *q;
    int (*gone)(const char *node, void *arg);
    void (*fn)(const relay_expiry_t *e, void *arg);
    void *arg;
    size_t count;
    int *why;           /* per entry of the message in hand */
    const char **names; /* room for its recipients */
    size_t cap;
} gone_t;

static void
s_drop_gone_one(void *value, void *arg) {
    gone_t *g = arg;
    msg_t *m = value;
    int max = 0;
    if (m->remaining == 0)
        return;
    if (g->cap < m->n) {
        int *w = realloc(g->why, m->n * sizeof *w);
        const char **nm = w ? realloc(g->names, m->n * sizeof *nm) : NULL;
        if (w)
            g->why = w;
        if (nm)
            g->names = nm;
        if (!w || !nm)
            return; /* out of memory: the next roster install tries again */
        g->cap = m->n;
    }
    for (size_t k = 0; k < m->n; k++) {
        g->why[k] = m->e[k].linked ? g->gone(m->e[k].node->id, g->arg) : 0;
        if (g->why[k] > max)
            max = g->why[k];
    }
    for (int reason = 1; reason <= max; reason++) {
        relay_expiry_t ex;
        memset(&ex, 0, sizeof ex);
        ex.index = m->index;
        ex.sender = m->sender;
        memcpy(ex.msg_id, m->msg_id, 16);
        ex.reason = reason;
        ex.recipients = g->names;
        for (size_t k = 0; k < m->n; k++)
            if (g->why[k] == reason)
                g->names[ex.n_recipients++] = m->e[k].node->id;
        if (!ex.n_recipients)
            continue;
        if (g->fn)
            g->fn(&ex, g->arg);
    }
    for (size_t k = 0; k < m->n; k++)
        if (g->why[k] > 0) {
            s_unlink(&m->e[k]);
            m->remaining--;
            g->count++;
        }
    if (m->remaining == 0)
        s_drop_msg(g->q, m);
}

size_t
relay_queue_drop_gone(relay_queue_t *self,
                      int (*gone)(const char *node, void *arg),
                      void (*fn)(const relay_expiry_t *e, void *arg),
                      void *arg) {
    gone_t g = {self, gone, fn, arg, 0, NULL, NULL, 0};
    if (self->done) /* the last fully confirmed one has served */
        s_drop_msg(self, self->done);
    relay_map_each(self->msgs, s_drop_gone_one, &g);
    free(g.why);
    free(g.names);
    return g.count;
}

int
relay_queue_drop(relay_queue_t *self, uint64_t index, const char *recipient,
                 char sender[64]) {
    msg_t *m = relay_map_get(self->msgs, &index, sizeof index);
    if (!m)
        return RK_ERR_NOT_FOUND;
    for (size_t k = 0; k < m->n; k++)
        if (m->e[k].linked && strcmp(m->e[k].node->id, recipient) == 0) {
            if (sender)
                snprintf(sender, 64, "%s", m->sender);
            s_unlink(&m->e[k]);
            if (--m->remaining == 0)
                s_drop_msg(self, m);
            return RK_OK;
        }
    return RK_ERR_NOT_FOUND;
}

int
relay_queue_forget(relay_queue_t *self, uint64_t index, char sender[64]) {
    msg_t *m = relay_map_get(self->msgs, &index, sizeof index);
    if (!m)
        return RK_ERR_NOT_FOUND;
    if (sender)
        snprintf(sender, 64, "%s", m->sender);
    s_drop_msg(self, m);
    return RK_OK;
}

/* The position of n's first receipt with index >= from (they are kept in
 * index order). */
static size_t
s_receipts_from(const node_t *n, uint64_t from) {
    size_t lo = 0, hi = n->n_receipts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (n->receipts[mid].index < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int
relay_queue_add_receipt(relay_queue_t *self, const char *sender,
                        const relay_receipt_t *r) {
    node_t *n = s_node(self, sender, 1);
    if (!n)
        return RK_ERR_NOMEM;
    if (n->n_receipts == n->cap_receipts) {
        size_t cap = n->cap_receipts ? n->cap_receipts * 2 : 16;
        relay_receipt_t *g = realloc(n->receipts, cap * sizeof *g);
        if (!g)
            return RK_ERR_NOMEM;
        n->receipts = g;
        n->cap_receipts = cap;
    }
    n->receipts[n->n_receipts++] = *r;
    return RK_OK;
}

const relay_receipt_t *
relay_queue_receipts(relay_queue_t *self, const char *sender, uint64_t after,
                     size_t *count) {
    node_t *n = s_node(self, sender, 0);
    size_t lo;
    *count = 0;
    if (!n)
        return NULL;
    lo = s_receipts_from(n, after);
    if (lo > 0 && after != UINT64_MAX) {
        memmove(n->receipts, n->receipts + lo,
                (n->n_receipts - lo) * sizeof *n->receipts);
        n->n_receipts -= lo;
        lo = 0;
    }
    *count = n->n_receipts - lo;
    return n->receipts + lo;
}

const relay_receipt_t *
relay_queue_receipts_from(const relay_queue_t *self, const char *sender,
                          uint64_t from, size_t *count) {
    const node_t *n = relay_map_get(self->nodes, sender, strnlen(sender, 63));
    size_t lo;
    *count = 0;
    if (!n)
        return NULL;
    lo = s_receipts_from(n, from);
    *count = n->n_receipts - lo;
    return n->receipts + lo;
}

int
relay_queue_find(const relay_queue_t *self, const uint8_t msg_id[16],
                 uint64_t *index) {
    uint64_t *v = relay_map_get(self->ids, msg_id, 16);
    if (!v)
        return RK_ERR_NOT_FOUND;
    *index = *v;
    return RK_OK;
}

/* ---- the state snapshot ---- */

typedef struct {
    rk_wbuf_t *b;
    const msg_t **live;
    size_t n_live, cap_live;
    uint64_t count;
} save_t;

static void
s_save_id(void *value, void *arg) {
    const id_box_t *box = value;
    save_t *sv = arg;
    rk_wbuf_put(sv->b, box->msg_id, 16);
    rk_wbuf_u64(sv->b, box->index);
}

static void
s_collect_live(void *value, void *arg) {
    const msg_t *m = value;
    save_t *sv = arg;
    if (m->remaining == 0)
        return;
    if (sv->n_live == sv->cap_live) {
        size_t cap = sv->cap_live ? sv->cap_live * 2 : 256;
        const msg_t **g = realloc(sv->live, cap * sizeof *g);
        if (!g) {
            sv->b->failed = 1;
            return;
        }
        sv->live = g;
        sv->cap_live = cap;
    }
    sv->live[sv->n_live++] = m;
}

static int
s_by_index(const void *a, const void *b) {
    uint64_t x = (*(const msg_t *const *)a)->index;
    uint64_t y = (*(const msg_t *const *)b)->index;
    return x < y ? -1 : x > y;
}

static void
s_count_receipts(void *value, void *arg) {
    ((save_t *)arg)->count += ((const node_t *)value)->n_receipts > 0;
}

static void
s_save_receipts(void *value, void *arg) {
    const node_t *n = value;
    save_t *sv = arg;
    if (!n->n_receipts)
        return;
    rk_wbuf_str(sv->b, n->id);
    rk_wbuf_u64(sv->b, n->n_receipts);
    for (size_t i = 0; i < n->n_receipts; i++) {
        const relay_receipt_t *r = &n->receipts[i];
        rk_wbuf_u64(sv->b, r->index);
        rk_wbuf_put(sv->b, r->msg_id, 16);
        rk_wbuf_str(sv->b, r->recipient);
        rk_wbuf_u8(sv->b, (uint8_t)r->status);
        rk_wbuf_u64(sv->b, r->time_ms);
    }
}

void
relay_queue_save(relay_queue_t *self, rk_wbuf_t *b) {
    save_t sv = {b, NULL, 0, 0, 0};
    rk_wbuf_u64(b, relay_map_count(self->ids));
    relay_map_each(self->ids, s_save_id, &sv);
    relay_map_each(self->msgs, s_collect_live, &sv);
    if (sv.n_live)
        qsort(sv.live, sv.n_live, sizeof *sv.live, s_by_index);
    rk_wbuf_u64(b, sv.n_live);
    for (size_t i = 0; i < sv.n_live; i++) {
        const msg_t *m = sv.live[i];
        rk_wbuf_u64(b, m->index);
        rk_wbuf_put(b, m->msg_id, 16);
        rk_wbuf_str(b, m->sender);
        rk_wbuf_u64(b, m->expires_ms);
        rk_wbuf_u64(b, m->remaining);
        for (size_t k = 0; k < m->n; k++)
            if (m->e[k].linked)
                rk_wbuf_str(b, m->e[k].node->id);
    }
    free(sv.live);
    relay_map_each(self->nodes, s_count_receipts, &sv);
    rk_wbuf_u64(b, sv.count);
    relay_map_each(self->nodes, s_save_receipts, &sv);
}

int
relay_queue_restore(relay_queue_t *self, rk_rbuf_t *b,
                    relay_queue_fetch_fn fetch, void *arg) {
    uint64_t n = rk_rbuf_u64(b);
    int rc = RK_OK;
    /* Counts are checked against the bytes left before anything is
     * allocated for them. */
    if (b->failed || n > rk_rbuf_left(b) / 24)
        return RK_ERR_MALFORMED;
    relay_map_reserve(self->ids, relay_map_count(self->ids) + (size_t)n);
    for (uint64_t i = 0; i < n; i++) {
        id_box_t *box = malloc(sizeof *box);
        if (!box)
            return RK_ERR_NOMEM;
        rk_rbuf_get(b, box->msg_id, 16);
        box->index = rk_rbuf_u64(b);
        /* The lookup warms the bucket the put then uses. */
        if (b->failed || relay_map_get(self->ids, box->msg_id, 16)) {
            free(box);
            return RK_ERR_MALFORMED;
        }
        if (relay_map_put(self->ids, box->msg_id, 16, box) != RK_OK) {
            free(box);
            return RK_ERR_NOMEM;
        }
    }
    n = rk_rbuf_u64(b);
    if (b->failed || n > rk_rbuf_left(b) / 42)
        return RK_ERR_MALFORMED;
    for (uint64_t i = 0; i < n && rc == RK_OK; i++) {
        uint64_t index, expires, k;
        uint8_t msg_id[16], *env = NULL;
        size_t env_len = 0;
        char sender[64], (*names)[64] = NULL;
        const char **list = NULL;
        index = rk_rbuf_u64(b);
        rk_rbuf_get(b, msg_id, 16);
        rk_rbuf_str(b, sender, sizeof sender);
        expires = rk_rbuf_u64(b);
        k = rk_rbuf_u64(b);
        if (b->failed || k == 0 || k > rk_rbuf_left(b))
            return RK_ERR_MALFORMED;
        names = malloc(k * sizeof *names);
        list = malloc(k * sizeof *list);
        if (!names || !list)
            rc = RK_ERR_NOMEM;
        for (uint64_t j = 0; rc == RK_OK && j < k; j++) {
            rk_rbuf_str(b, names[j], sizeof names[j]);
            if (!names[j][0])
                b->failed = 1;
            list[j] = names[j];
        }
        if (rc == RK_OK && b->failed)
            rc = RK_ERR_MALFORMED;
        if (rc == RK_OK)
            rc = fetch(arg, index, msg_id, sender, &env, &env_len);
        if (rc == RK_OK && !sender[0])
            rc = RK_ERR_MALFORMED;
        if (rc == RK_OK)
            rc = relay_queue_accept(self, index, msg_id, sender, list,
                                    (size_t)k, expires, env, env_len);
        if (rc == RK_ERR_EXISTS) /* the same index twice */
            rc = RK_ERR_MALFORMED;
        free(env);
        free(names);
        free(list);
    }
    if (rc != RK_OK)
        return rc;
    n = rk_rbuf_u64(b);
    if (b->failed || n > rk_rbuf_left(b))
        return RK_ERR_MALFORMED;
    for (uint64_t i = 0; i < n; i++) {
        char sender[64];
        uint64_t count;
        rk_rbuf_str(b, sender, sizeof sender);
        count = rk_rbuf_u64(b);
        if (b->failed || count > rk_rbuf_left(b) / 34)
            return RK_ERR_MALFORMED;
        if (!sender[0])
            return RK_ERR_MALFORMED;
        for (uint64_t j = 0, last = 0; j < count; j++) {
            relay_receipt_t r;
            memset(&r, 0, sizeof r);
            r.index = rk_rbuf_u64(b);
            rk_rbuf_get(b, r.msg_id, 16);
            rk_rbuf_str(b, r.recipient, sizeof r.recipient);
            {
                uint8_t st = rk_rbuf_u8(b);
                if (st > RELAY_RECEIPT_STATUS_MAX)
                    b->failed = 1;
                r.status = (relay_receipt_status_t)st;
            }
            r.time_ms = rk_rbuf_u64(b);
            /* Saved in index order, with a recipient; the recipients of
             * one expiry or undeliverable record share its index. */
            if (b->failed || !r.recipient[0] || (j > 0 && r.index < last))
                return RK_ERR_MALFORMED;
            last = r.index;
            if ((rc = relay_queue_add_receipt(self, sender, &r)) != RK_OK)
                return rc;
        }
    }
    return RK_OK;
}

uint64_t
relay_queue_held(const relay_queue_t *self, const char *sender) {
    const node_t *n;
    if (!sender)
        return self->held;
    n = relay_map_get(self->nodes, sender, strnlen(sender, 63));
    return n ? n->held : 0;
}

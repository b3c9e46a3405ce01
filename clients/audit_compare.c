/* audit_compare: two relays' logs side by side, by msg id and roster
 * serial, from compact state: per message its msg id, the SHA-256 of its
 * envelope, sender, kind, index, times and each recipient's outcome.
 * Verification is audit_verify's; docs/AUDIT.md "compare" is the user's
 * view. */
#define _GNU_SOURCE
#include "audit_compare.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "rk_sha256.h"
#include "rk_util.h"

#define S_NONE UINT32_MAX
/* A copy that ends this soon after a message the other relay accepted
 * may have been taken while the sender's node still resubmitted it
 * (renrakud resubmits every 30 s by default): twice that. */
#define S_INFLIGHT_MS 60000u

/* S_UNDELIVERABLE: given up (the recipient left the roster); classed
 * with S_EXPIRED (never got it from that relay), named apart. */
enum { S_OPEN = 0, S_DELIVERED = 1, S_EXPIRED = 2, S_UNDELIVERABLE = 3 };

/* ONE_LOG and NOT_REACHED classes; index into s_cls_names. */
enum {
    S_CLS_NONE,
    S_CLS_RUNS_PAST,
    S_CLS_ENDS_BEFORE,
    S_CLS_STARTS_AFTER,
    S_CLS_REFUSED,
    S_CLS_EMPTY,
    S_CLS_EXPIRED,
    S_CLS_OPEN,
    S_CLS_EXPIRED_OPEN,
};
static const char *const s_cls_names[] = {
    "",      "runs-past", "ends-before", "starts-after", "refused",
    "empty", "expired",   "open",        "expired-open"};

/* One accepted message of one log. msg_id first: the id tables key on
 * an item's first 16 bytes. */
typedef struct {
    uint8_t msg_id[ENVELOPE_MSG_ID_LEN];
    uint8_t hash[RK_SHA256_LEN]; /* SHA-256 of the envelope bytes */
    uint64_t index;              /* its accepted record */
    uint64_t time_ms;            /* relay clock of that record */
    uint64_t expires_ms;         /* the envelope's, 0: never */
    uint32_t sender;             /* node number */
    uint32_t rcpt;               /* first of its recipients in rcpts */
    uint32_t other;              /* the other log's message, or S_NONE */
    uint16_t n_rcpt;             /* ENVELOPE_MAX_RECIPIENTS fits */
    uint8_t kind;                /* envelope_kind_t */
} s_msg_t;

/* One recipient of a message, sorted by node number within it. */
typedef struct {
    uint64_t closed; /* index of the delivered or expired record */
    uint32_t node;   /* node number */
    uint8_t state;   /* S_OPEN, S_DELIVERED, S_EXPIRED, S_UNDELIVERABLE */
} s_rcpt_t;

/* A refusal of a node's own submission (the header names the peer the
 * relay authenticated as its sender): per msg id and sender, the first
 * refusal for good, else the first one a node retries. key first: the
 * refusal table keys on it. */
typedef struct {
    uint8_t key[16]; /* s_refusal_key(msg id, sender) */
    uint64_t index, time_ms;
    uint32_t code; /* frame_reject_t */
} s_refusal_t;

typedef struct {
    uint64_t serial, index, time_ms;
    uint8_t hash[RK_SHA256_LEN]; /* SHA-256 of the roster's signed text */
} s_roster_t;

typedef struct {
    uint64_t index, time_ms;
    uint64_t max_ms; /* the latest time of the events up to this one */
    uint32_t back;   /* the next "started" after it, or S_NONE */
    bool started;    /* else stopped */
} s_event_t;

/* An open-addressing table of item numbers + 1 (0: empty slot), keyed by
 * the first 16 bytes of the items it refers to. */
typedef struct {
    uint32_t *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
} s_tab_t;

typedef struct {
    s_msg_t *msgs;
    size_t n_msgs, cap_msgs;
    s_tab_t by_id; /* msg id -> msgs */
    s_rcpt_t *rcpts;
    size_t n_rcpts, cap_rcpts;
    s_refusal_t *refusals;
    size_t n_refusals, cap_refusals;
    s_tab_t refused; /* s_refusal_key -> refusals */
    s_roster_t *rosters;
    size_t n_rosters, cap_rosters;
    s_event_t *events;
    size_t n_events, cap_events;
    uint64_t records, first_ms, last_ms, last_index;
    /* Messages the other log holds too, by index here: lowest, highest. */
    bool has_common;
    uint64_t min_common, max_common;
    uint32_t max_common_msg; /* the message at max_common */
} s_log_t;

/* A finding before it is put in words. */
typedef struct {
    uint64_t time_ms;
    uint64_t seq;    /* order made: ties stay in log order */
    uint32_t ref[2]; /* message or roster number in A, in B; S_NONE */
    uint32_t node;   /* the recipient concerned, or S_NONE */
    uint8_t kind;    /* audit_compare_kind_t */
    uint8_t cls;     /* S_CLS_* */
} s_find_t;

struct audit_compare {
    uint8_t hkey[crypto_shorthash_KEYBYTES]; /* tables' hash key */
    s_log_t log[2];
    char **names; /* node ids, by node number */
    size_t n_names, cap_names;
    uint32_t *name_slots; /* name hash table: node number + 1 */
    size_t cap_name_slots;
    s_find_t *finds;
    size_t n_finds, cap_finds;
    bool finished;
};

/* ---- growable arrays and tables ---------------------------------------- */

/* Makes room for one more item of size `size` in *arr (n used, *cap
 * allocated). Returns 0 or RK_ERR_NOMEM. */
static int
s_grow(void **arr, size_t n, size_t *cap, size_t size) {
    size_t ncap;
    void *p;
    if (n < *cap)
        return RK_OK;
    ncap = *cap ? *cap * 2 : 64;
    if (ncap > SIZE_MAX / size)
        return RK_ERR_NOMEM;
    if (!(p = realloc(*arr, ncap * size)))
        return RK_ERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return RK_OK;
}

static uint64_t
s_hash(const audit_compare_t *self, const void *key, size_t len) {
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, len, self->hkey);
    return rk_get_be64(h);
}

/* The first empty slot from hash h on (linear probing). */
static size_t
s_probe(const uint32_t *slots, size_t cap, uint64_t h) {
    size_t i = (size_t)h & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    return i;
}

/* The key of item number num (0-based) of items. */
static const uint8_t *
s_item_key(const void *items, size_t stride, uint32_t num) {
    return (const uint8_t *)items + (size_t)num * stride;
}

/* The item whose first 16 bytes are key: its number, or S_NONE. */
static uint32_t
s_tab_find(const audit_compare_t *self, const s_tab_t *t, const void *items,
           size_t stride, const uint8_t key[16]) {
    if (!t->cap)
        return S_NONE;
    for (size_t i = s_hash(self, key, 16) & (t->cap - 1);;
         i = (i + 1) & (t->cap - 1)) {
        uint32_t s = t->slots[i];
        if (!s)
            return S_NONE;
        if (memcmp(s_item_key(items, stride, s - 1), key, 16) == 0)
            return s - 1;
    }
}

/* Adds item number `num` (its key already in items) to t; grows t to
 * keep it at most half full. Returns 0 or RK_ERR_NOMEM. */
static int
s_tab_put(const audit_compare_t *self, s_tab_t *t, const void *items,
          size_t stride, uint32_t num) {
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        uint32_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return RK_ERR_NOMEM;
        for (size_t j = 0; j < t->cap; j++) {
            uint32_t s = t->slots[j];
            if (s)
                slots[s_probe(
                    slots, cap,
                    s_hash(self, s_item_key(items, stride, s - 1), 16))] = s;
        }
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    t->slots[s_probe(t->slots, t->cap,
                     s_hash(self, s_item_key(items, stride, num), 16))] =
        num + 1;
    t->n++;
    return RK_OK;
}

/* The number of node id `id`, or S_NONE when it was never seen. */
static uint32_t
s_node_find(const audit_compare_t *self, const char *id) {
    size_t len = strlen(id);
    if (!self->cap_name_slots)
        return S_NONE;
    for (size_t i = s_hash(self, id, len) & (self->cap_name_slots - 1);;
         i = (i + 1) & (self->cap_name_slots - 1)) {
        uint32_t s = self->name_slots[i];
        if (!s)
            return S_NONE;
        if (strcmp(self->names[s - 1], id) == 0)
            return s - 1;
    }
}

/* The number of node id `id`, given one when new. Returns 0 or
 * RK_ERR_NOMEM. */
static int
s_node(audit_compare_t *self, const char *id, uint32_t *num) {
    size_t i;
    char *copy;
    if ((*num = s_node_find(self, id)) != S_NONE)
        return RK_OK;
    if ((self->n_names + 1) * 2 > self->cap_name_slots) {
        size_t cap = self->cap_name_slots ? self->cap_name_slots * 2 : 64;
        uint32_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return RK_ERR_NOMEM;
        for (size_t j = 0; j < self->n_names; j++)
            slots[s_probe(slots, cap,
                          s_hash(self, self->names[j],
                                 strlen(self->names[j])))] = (uint32_t)j + 1;
        free(self->name_slots);
        self->name_slots = slots;
        self->cap_name_slots = cap;
    }
    if (s_grow((void **)&self->names, self->n_names, &self->cap_names,
               sizeof *self->names) != RK_OK ||
        !(copy = strdup(id)))
        return RK_ERR_NOMEM;
    i = s_probe(self->name_slots, self->cap_name_slots,
                s_hash(self, id, strlen(id)));
    self->names[self->n_names] = copy;
    *num = (uint32_t)self->n_names++;
    self->name_slots[i] = *num + 1;
    return RK_OK;
}

/* ---- life cycle -------------------------------------------------------- */

audit_compare_t *
audit_compare_new(void) {
    audit_compare_t *self;
    if (sodium_init() < 0)
        return NULL;
    if (!(self = calloc(1, sizeof *self)))
        return NULL;
    crypto_shorthash_keygen(self->hkey);
    return self;
}

static void
s_log_free(s_log_t *l) {
    free(l->msgs);
    free(l->by_id.slots);
    free(l->rcpts);
    free(l->refusals);
    free(l->refused.slots);
    free(l->rosters);
    free(l->events);
    memset(l, 0, sizeof *l);
}

void
audit_compare_destroy(audit_compare_t **self_p) {
    audit_compare_t *self;
    if (!self_p || !(self = *self_p))
        return;
    s_log_free(&self->log[0]);
    s_log_free(&self->log[1]);
    for (size_t i = 0; i < self->n_names; i++)
        free(self->names[i]);
    free(self->names);
    free(self->name_slots);
    free(self->finds);
    free(self);
    *self_p = NULL;
}

/* ---- taking records ---------------------------------------------------- */

static int
s_rcpt_cmp(const void *a, const void *b) {
    const s_rcpt_t *x = a, *y = b;
    return x->node < y->node ? -1 : x->node > y->node;
}

static int
s_accepted(audit_compare_t *self, s_log_t *l, const record_t *r) {
    envelope_t *env = NULL;
    const envelope_header_t *h;
    s_msg_t *m;
    rk_part_t part = {r->accepted.envelope, r->accepted.envelope_len};
    uint32_t num;
    int rc;

    if (envelope_decode(r->accepted.envelope, r->accepted.envelope_len, &env,
                        NULL) != RK_OK)
        return RK_OK; /* verify reports it */
    h = envelope_header(env);
    if (s_tab_find(self, &l->by_id, l->msgs, sizeof *l->msgs, h->msg_id) !=
        S_NONE) {
        envelope_destroy(&env); /* a repeated msg id: verify reports it */
        return RK_OK;
    }
    /* Message and recipient numbers are 32 bits: 4 billion of each. */
    if (l->n_msgs >= S_NONE - 1 || l->n_rcpts + h->n_recipients >= S_NONE) {
        rc = RK_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = s_grow((void **)&l->msgs, l->n_msgs, &l->cap_msgs,
                     sizeof *l->msgs)) != RK_OK)
        goto cleanup;
    while (l->n_rcpts + h->n_recipients > l->cap_rcpts)
        if ((rc = s_grow((void **)&l->rcpts, l->cap_rcpts, &l->cap_rcpts,
                         sizeof *l->rcpts)) != RK_OK)
            goto cleanup;
    m = &l->msgs[l->n_msgs];
    memset(m, 0, sizeof *m);
    memcpy(m->msg_id, h->msg_id, sizeof m->msg_id);
    rk_sha256(m->hash, &part, 1);
    m->index = r->index;
    m->time_ms = r->time_ms;
    m->expires_ms = h->expires_ms;
    m->kind = (uint8_t)h->kind;
    m->other = S_NONE;
    m->rcpt = (uint32_t)l->n_rcpts;
    m->n_rcpt = (uint16_t)h->n_recipients;
    if ((rc = s_node(self, r->accepted.sender, &m->sender)) != RK_OK)
        goto cleanup;
    for (size_t i = 0; i < h->n_recipients; i++) {
        s_rcpt_t *x = &l->rcpts[l->n_rcpts + i];
        memset(x, 0, sizeof *x);
        if ((rc = s_node(self, h->recipients[i], &num)) != RK_OK)
            goto cleanup;
        x->node = num;
        x->state = S_OPEN;
    }
    qsort(&l->rcpts[l->n_rcpts], h->n_recipients, sizeof *l->rcpts, s_rcpt_cmp);
    if ((rc = s_tab_put(self, &l->by_id, l->msgs, sizeof *l->msgs,
                        (uint32_t)l->n_msgs)) != RK_OK)
        goto cleanup;
    l->n_msgs++;
    l->n_rcpts += h->n_recipients;
cleanup:
    envelope_destroy(&env);
    return rc;
}

/* A delivered or expired record names recipient `id` of the message with
 * msg_id accepted at accepted_index: the first such record closes it. */
static void
s_closed(audit_compare_t *self, s_log_t *l, uint64_t pos,
         const uint8_t msg_id[ENVELOPE_MSG_ID_LEN], uint64_t accepted_index,
         const char *id, int state) {
    uint32_t n = s_tab_find(self, &l->by_id, l->msgs, sizeof *l->msgs, msg_id);
    uint32_t node = id ? s_node_find(self, id) : S_NONE;
    s_rcpt_t key, *x;
    if (n == S_NONE || node == S_NONE || l->msgs[n].index != accepted_index)
        return; /* verify reports it */
    key.node = node;
    x = bsearch(&key, &l->rcpts[l->msgs[n].rcpt], l->msgs[n].n_rcpt, sizeof *x,
                s_rcpt_cmp);
    if (x && x->state == S_OPEN) {
        x->state = (uint8_t)state;
        x->closed = pos;
    }
}

/* The length of a signed note's text: up to the blank line before its
 * signatures (the last "\n\n"), the final '\n' included. */
static size_t
s_note_text_len(const uint8_t *note, size_t len) {
    for (size_t i = len; i >= 2; i--)
        if (note[i - 2] == '\n' && note[i - 1] == '\n')
            return i - 1;
    return len;
}

/* The refusal table's key of a msg id and a sender. */
static void
s_refusal_key(uint8_t key[16], const uint8_t msg_id[ENVELOPE_MSG_ID_LEN],
              const char *sender) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 16);
    crypto_generichash_update(&st, msg_id, ENVELOPE_MSG_ID_LEN);
    crypto_generichash_update(&st, (const uint8_t *)sender, strlen(sender));
    crypto_generichash_final(&st, key, 16);
}

/* A refusal the sender's node retries (renrakud's s_on_rejected): the
 * message stays in its outbox until that relay stores it. */
static bool
s_transient(uint32_t code) {
    return code == FRAME_REJECT_STORAGE || code == FRAME_REJECT_BUSY ||
           code == FRAME_REJECT_RATE_LIMITED || code == FRAME_REJECT_INTERNAL;
}

/* Log l's refusal of the sender's own submission of m, or NULL. */
static const s_refusal_t *
s_refusal_of(const audit_compare_t *self, const s_log_t *l, const s_msg_t *m) {
    uint8_t key[16];
    uint32_t n;
    s_refusal_key(key, m->msg_id, self->names[m->sender]);
    n = s_tab_find(self, &l->refused, l->refusals, sizeof *l->refusals, key);
    return n == S_NONE ? NULL : &l->refusals[n];
}

int
audit_compare_add(audit_compare_t *self, int log, uint64_t pos,
                  const record_t *r) {
    s_log_t *l;
    int rc = RK_OK;
    if (!self || !r || (log != AUDIT_COMPARE_A && log != AUDIT_COMPARE_B) ||
        self->finished)
        return RK_ERR_INVALID;
    l = &self->log[log];
    if (!l->records)
        l->first_ms = r->time_ms;
    l->records++;
    l->last_ms = r->time_ms;
    l->last_index = pos;
    switch (r->type) {
    case RECORD_ACCEPTED:
        rc = s_accepted(self, l, r);
        break;
    case RECORD_DELIVERED:
        s_closed(self, l, pos, r->delivered.msg_id, r->delivered.accepted_index,
                 r->delivered.recipient, S_DELIVERED);
        break;
    case RECORD_EXPIRED:
        for (size_t i = 0; i < r->expired.n_recipients; i++)
            s_closed(self, l, pos, r->expired.msg_id, r->expired.accepted_index,
                     r->expired.recipients[i], S_EXPIRED);
        break;
    case RECORD_UNDELIVERABLE:
        /* Given up: the recipient left the roster. */
        for (size_t i = 0; i < r->undeliverable.n_recipients; i++)
            s_closed(self, l, pos, r->undeliverable.msg_id,
                     r->undeliverable.accepted_index,
                     r->undeliverable.recipients[i], S_UNDELIVERABLE);
        break;
    case RECORD_REFUSED: {
        const char *peer = r->refused.peer;
        const char *claimed = r->refused.claimed_sender;
        uint8_t key[16];
        uint32_t n;
        s_refusal_t *f;
        /* Another node's submission that reuses the msg id (or names
         * another sender) says nothing of what the sender's node got. */
        if (!r->refused.has_msg_id || !peer ||
            (claimed && strcmp(claimed, peer) != 0))
            break;
        s_refusal_key(key, r->refused.msg_id, peer);
        n = s_tab_find(self, &l->refused, l->refusals, sizeof *l->refusals,
                       key);
        if (n != S_NONE) {
            f = &l->refusals[n];
            if (s_transient(f->code) &&
                !s_transient((uint32_t)r->refused.code)) {
                f->index = pos;
                f->time_ms = r->time_ms;
                f->code = (uint32_t)r->refused.code;
            }
            break;
        }
        if (l->n_refusals >= S_NONE - 1 ||
            (rc = s_grow((void **)&l->refusals, l->n_refusals, &l->cap_refusals,
                         sizeof *l->refusals)) != RK_OK)
            return RK_ERR_NOMEM;
        f = &l->refusals[l->n_refusals];
        memcpy(f->key, key, sizeof f->key);
        f->index = pos;
        f->time_ms = r->time_ms;
        f->code = (uint32_t)r->refused.code;
        rc = s_tab_put(self, &l->refused, l->refusals, sizeof *l->refusals,
                       (uint32_t)l->n_refusals);
        if (rc == RK_OK)
            l->n_refusals++;
        break;
    }
    case RECORD_ROSTER: {
        s_roster_t *ro;
        rk_part_t part = {r->roster.signed_roster, 0};
        if (l->n_rosters >= S_NONE - 1 ||
            (rc = s_grow((void **)&l->rosters, l->n_rosters, &l->cap_rosters,
                         sizeof *l->rosters)) != RK_OK)
            return RK_ERR_NOMEM;
        ro = &l->rosters[l->n_rosters++];
        ro->serial = r->roster.serial;
        ro->index = pos;
        ro->time_ms = r->time_ms;
        part.len = s_note_text_len(r->roster.signed_roster,
                                   r->roster.signed_roster_len);
        rk_sha256(ro->hash, &part, 1);
        break;
    }
    case RECORD_RELAY: {
        bool started = r->relay.event && !strcmp(r->relay.event, "started");
        s_event_t *e;
        if (!started && !(r->relay.event && !strcmp(r->relay.event, "stopped")))
            break;
        if (l->n_events >= S_NONE - 1 ||
            (rc = s_grow((void **)&l->events, l->n_events, &l->cap_events,
                         sizeof *l->events)) != RK_OK)
            return RK_ERR_NOMEM;
        e = &l->events[l->n_events];
        e->index = pos;
        e->time_ms = r->time_ms;
        e->max_ms = l->n_events && e[-1].max_ms > r->time_ms ? e[-1].max_ms
                                                             : r->time_ms;
        e->back = S_NONE;
        e->started = started;
        l->n_events++;
        break;
    }
    }
    return rc;
}

/* ---- comparing --------------------------------------------------------- */

static int
s_find(audit_compare_t *self, uint8_t kind, uint8_t cls, uint64_t time_ms,
       uint32_t ref_a, uint32_t ref_b, uint32_t node) {
    s_find_t *f;
    if (s_grow((void **)&self->finds, self->n_finds, &self->cap_finds,
               sizeof *self->finds) != RK_OK)
        return RK_ERR_NOMEM;
    f = &self->finds[self->n_finds];
    f->time_ms = time_ms;
    f->seq = self->n_finds++;
    f->ref[0] = ref_a;
    f->ref[1] = ref_b;
    f->node = node;
    f->kind = kind;
    f->cls = cls;
    return RK_OK;
}

/* Why message m of log `side` is not in the other log (S_CLS_*). */
static uint8_t
s_classify(const audit_compare_t *self, int side, const s_msg_t *m) {
    const s_log_t *l = &self->log[side], *o = &self->log[!side];
    const s_refusal_t *x = s_refusal_of(self, o, m);
    if (x && !s_transient(x->code))
        return S_CLS_REFUSED;
    if (!o->records)
        return S_CLS_EMPTY;
    /* The other log holding a message this one accepted before (after)
     * m shows it was logging then, whatever the two clocks say. */
    if (o->first_ms > m->time_ms &&
        (!l->has_common || l->min_common > m->index))
        return S_CLS_STARTS_AFTER;
    if (o->last_ms < m->time_ms && (!l->has_common || l->max_common < m->index))
        return S_CLS_ENDS_BEFORE;
    return S_CLS_RUNS_PAST;
}

/* Compares the recipients of message number na of A and nb of B (S_NONE:
 * that log does not hold it). */
static int
s_recipients(audit_compare_t *self, audit_compare_counts_t *c, uint32_t na,
             uint32_t nb, uint64_t time_ms) {
    const s_log_t *a = &self->log[0], *b = &self->log[1];
    const s_msg_t *ma = na != S_NONE ? &a->msgs[na] : NULL;
    const s_msg_t *mb = nb != S_NONE ? &b->msgs[nb] : NULL;
    size_t n = ma ? ma->n_rcpt : mb->n_rcpt;
    for (size_t i = 0; i < n; i++) {
        /* Same bytes: the same recipients, in the same (sorted) order. */
        const s_rcpt_t *ra = ma ? &a->rcpts[ma->rcpt + i] : NULL;
        const s_rcpt_t *rb = mb ? &b->rcpts[mb->rcpt + i] : NULL;
        int sa = ra ? ra->state : -1, sb = rb ? rb->state : -1;
        uint32_t node = ra ? ra->node : rb->node;
        uint8_t cls;
        if (sa == S_DELIVERED && sb == S_DELIVERED)
            continue;
        if (sa == S_DELIVERED || sb == S_DELIVERED) {
            if (sa == -1 || sb == -1)
                continue; /* delivered by the only relay that holds it */
            c->info++;
            if (s_find(self, AUDIT_COMPARE_DELIVERED_ONE, S_CLS_NONE, time_ms,
                       na, nb, node) != RK_OK)
                return RK_ERR_NOMEM;
            continue;
        }
        if (sa != S_OPEN && sb != S_OPEN)
            cls = S_CLS_EXPIRED; /* expired or given up wherever held */
        else if ((sa == -1 || sa == S_OPEN) && (sb == -1 || sb == S_OPEN))
            cls = S_CLS_OPEN;
        else
            cls = S_CLS_EXPIRED_OPEN;
        c->not_reached++;
        if (cls == S_CLS_EXPIRED)
            c->not_reached_expired++;
        if (s_find(self, AUDIT_COMPARE_NOT_REACHED, cls, time_ms, na, nb,
                   node) != RK_OK)
            return RK_ERR_NOMEM;
    }
    return RK_OK;
}

static bool
s_in_window(uint64_t t, uint64_t since_ms, uint64_t until_ms) {
    return t >= since_ms && (!until_ms || t < until_ms);
}

/* Rosters by serial: each log's serials grow (verify checks it). */
static int
s_rosters(audit_compare_t *self, audit_compare_counts_t *c) {
    const s_log_t *a = &self->log[0], *b = &self->log[1];
    size_t i = 0, j = 0;
    while (i < a->n_rosters || j < b->n_rosters) {
        const s_roster_t *ra = i < a->n_rosters ? &a->rosters[i] : NULL;
        const s_roster_t *rb = j < b->n_rosters ? &b->rosters[j] : NULL;
        int rc;
        if (ra && rb && ra->serial == rb->serial) {
            if (sodium_memcmp(ra->hash, rb->hash, sizeof ra->hash) == 0) {
                c->rosters_both++;
            } else {
                c->contradictions++;
                rc = s_find(self, AUDIT_COMPARE_ROSTERS, S_CLS_NONE,
                            ra->time_ms < rb->time_ms ? ra->time_ms
                                                      : rb->time_ms,
                            (uint32_t)i, (uint32_t)j, S_NONE);
                if (rc != RK_OK)
                    return rc;
            }
            i++;
            j++;
        } else if (ra && (!rb || ra->serial < rb->serial)) {
            c->rosters_one++;
            c->info++;
            if (s_find(self, AUDIT_COMPARE_ROSTER_ONE, S_CLS_NONE, ra->time_ms,
                       (uint32_t)i, S_NONE, S_NONE) != RK_OK)
                return RK_ERR_NOMEM;
            i++;
        } else {
            c->rosters_one++;
            c->info++;
            if (s_find(self, AUDIT_COMPARE_ROSTER_ONE, S_CLS_NONE, rb->time_ms,
                       S_NONE, (uint32_t)j, S_NONE) != RK_OK)
                return RK_ERR_NOMEM;
            j++;
        }
    }
    return RK_OK;
}

static int
s_find_cmp(const void *x, const void *y) {
    const s_find_t *a = x, *b = y;
    if (a->time_ms != b->time_ms)
        return a->time_ms < b->time_ms ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Messages of log `side` that the other log lacks (the first pass did
 * those in both, from A's side). */
static int
s_only(audit_compare_t *self, audit_compare_counts_t *c, int side,
       uint64_t since_ms, uint64_t until_ms) {
    s_log_t *l = &self->log[side];
    for (size_t i = 0; i < l->n_msgs; i++) {
        const s_msg_t *m = &l->msgs[i];
        uint32_t na = side ? S_NONE : (uint32_t)i;
        uint32_t nb = side ? (uint32_t)i : S_NONE;
        uint8_t cls;
        if (m->other != S_NONE || !s_in_window(m->time_ms, since_ms, until_ms))
            continue;
        c->messages[side]++;
        c->only[side]++;
        cls = s_classify(self, side, m);
        if (cls == S_CLS_ENDS_BEFORE || cls == S_CLS_STARTS_AFTER ||
            cls == S_CLS_EMPTY)
            c->only_ends[side]++;
        if (s_find(self, AUDIT_COMPARE_ONE_LOG, cls, m->time_ms, na, nb,
                   S_NONE) != RK_OK ||
            s_recipients(self, c, na, nb, m->time_ms) != RK_OK)
            return RK_ERR_NOMEM;
    }
    return RK_OK;
}

int
audit_compare_finish(audit_compare_t *self, uint64_t since_ms,
                     uint64_t until_ms, audit_compare_counts_t *counts) {
    s_log_t *a, *b;
    audit_compare_counts_t local, *c = counts ? counts : &local;
    if (!self || self->finished)
        return RK_ERR_INVALID;
    self->finished = true;
    memset(c, 0, sizeof *c);
    a = &self->log[0];
    b = &self->log[1];
    c->last_ms[0] = a->records ? a->last_ms : 0;
    c->last_ms[1] = b->records ? b->last_ms : 0;
    for (int s = 0; s < 2; s++) {
        s_log_t *l = &self->log[s];
        uint32_t next = S_NONE;
        for (size_t i = l->n_events; i-- > 0;) {
            l->events[i].back = next;
            if (l->events[i].started)
                next = (uint32_t)i;
        }
    }
    /* Pair the messages both logs hold (window or not: evidence of when
     * each relay was logging). */
    for (size_t i = 0; i < a->n_msgs; i++) {
        s_msg_t *m = &a->msgs[i], *o;
        uint32_t j =
            s_tab_find(self, &b->by_id, b->msgs, sizeof *b->msgs, m->msg_id);
        if (j == S_NONE)
            continue;
        o = &b->msgs[j];
        m->other = j;
        o->other = (uint32_t)i;
        if (!a->has_common || m->index < a->min_common)
            a->min_common = m->index;
        if (!a->has_common || m->index > a->max_common) {
            a->max_common = m->index;
            a->max_common_msg = (uint32_t)i;
        }
        if (!b->has_common || o->index < b->min_common)
            b->min_common = o->index;
        if (!b->has_common || o->index > b->max_common) {
            b->max_common = o->index;
            b->max_common_msg = j;
        }
        a->has_common = b->has_common = true;
    }
    for (size_t i = 0; i < a->n_msgs; i++) {
        const s_msg_t *m = &a->msgs[i], *o;
        uint64_t t;
        if (m->other == S_NONE)
            continue;
        bool in;
        o = &b->msgs[m->other];
        t = m->time_ms < o->time_ms ? m->time_ms : o->time_ms;
        in = s_in_window(t, since_ms, until_ms);
        if (in) {
            c->messages[0]++;
            c->messages[1]++;
        }
        if (sodium_memcmp(m->hash, o->hash, sizeof m->hash) != 0) {
            /* Different bytes: their recipients need not match, and the
             * contradiction says more than any outcome would. Like two
             * rosters with one serial, it stands whatever the window. */
            c->contradictions++;
            if (s_find(self, AUDIT_COMPARE_ENVELOPES, S_CLS_NONE, t,
                       (uint32_t)i, m->other, S_NONE) != RK_OK)
                return RK_ERR_NOMEM;
            continue;
        }
        if (!in)
            continue;
        c->both++;
        if (s_recipients(self, c, (uint32_t)i, m->other, t) != RK_OK)
            return RK_ERR_NOMEM;
    }
    if (s_only(self, c, 0, since_ms, until_ms) != RK_OK ||
        s_only(self, c, 1, since_ms, until_ms) != RK_OK ||
        s_rosters(self, c) != RK_OK)
        return RK_ERR_NOMEM;
    if (self->n_finds)
        qsort(self->finds, self->n_finds, sizeof *self->finds, s_find_cmp);
    c->findings = self->n_finds;
    return RK_OK;
}

/* ---- putting findings in words ----------------------------------------- */

/* Appends to a bounded buffer; a sentence cut at the end stays readable. */
typedef struct {
    char *p;
    size_t cap, len;
} s_buf_t;

static void s_put(s_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
s_put(s_buf_t *b, const char *fmt, ...) {
    va_list ap;
    int n;
    if (b->len + 1 >= b->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

static const char *
s_side(int side) {
    return side ? "B" : "A";
}

/* The relay's stop that covers time t in log l: of the events before the
 * first one later than t, the last, when it is a "stopped" record; and
 * the "started" after it (or NULL). A binary search on the events' running
 * maximum time: one per finding, whatever the number of events. */
static const s_event_t *
s_stopped_at(const s_log_t *l, uint64_t t, const s_event_t **back) {
    size_t lo = 0, hi = l->n_events;
    const s_event_t *stop;
    *back = NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->events[mid].max_ms <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo || l->events[lo - 1].started)
        return NULL;
    stop = &l->events[lo - 1];
    if (stop->back != S_NONE)
        *back = &l->events[stop->back];
    return stop;
}

/* "; relay X was stopped then (...) until T (...)[, and the message
 * expired at T, before it was back]" when log o has the relay stopped at
 * m's time and started again later; nothing otherwise. */
static void
s_put_stopped(s_buf_t *b, const s_log_t *o, const s_msg_t *m,
              const char *other) {
    char t1[40], t2[40];
    const s_event_t *back, *stop = s_stopped_at(o, m->time_ms, &back);
    if (!stop || !back)
        return;
    rk_time_format(t1, sizeof t1, stop->time_ms);
    rk_time_format(t2, sizeof t2, back->time_ms);
    s_put(b,
          "; relay %s was stopped then (record %" PRIu64 " at %s) until %s "
          "(record %" PRIu64 ")",
          other, stop->index, t1, t2, back->index);
    if (m->expires_ms && m->expires_ms <= back->time_ms) {
        rk_time_format(t1, sizeof t1, m->expires_ms);
        s_put(b, ", and the message expired at %s, before it was back", t1);
    }
}

static void
s_text_one_log(const audit_compare_t *self, const s_find_t *f, s_buf_t *b) {
    int side = f->ref[0] != S_NONE ? 0 : 1;
    const s_log_t *l = &self->log[side], *o = &self->log[!side];
    const s_msg_t *m = &l->msgs[f->ref[side]];
    const char *me = s_side(side), *other = s_side(!side);
    char t1[40];
    bool inflight;
    switch (f->cls) {
    case S_CLS_REFUSED: {
        const s_refusal_t *x = s_refusal_of(self, o, m);
        rk_time_format(t1, sizeof t1, x->time_ms);
        s_put(b,
              "not in %s's log: relay %s refused it (record %" PRIu64
              " at %s, code=%s); a node keeps resubmitting only until each "
              "relay stored or refused it",
              other, other, x->index, t1,
              frame_reject_name((frame_reject_t)x->code));
        /* A refusal after a stop (code=expired, say) has its cause there. */
        s_put_stopped(b, o, m, other);
        return;
    }
    case S_CLS_EMPTY:
        s_put(b, "not in %s's log, which holds no record", other);
        return;
    case S_CLS_STARTS_AFTER:
        rk_time_format(t1, sizeof t1, o->first_ms);
        s_put(b,
              "not in %s's log, which begins after it (its first record at "
              "%s): relay %s was not logging yet, so this says nothing "
              "against it",
              other, t1, other);
        return;
    case S_CLS_ENDS_BEFORE:
        rk_time_format(t1, sizeof t1, o->last_ms);
        s_put(b,
              "not in %s's log, which ends before it (its last record, "
              "index %" PRIu64 ", at %s): %s's copy is older (or relay %s "
              "stopped for good); compare a newer copy, or use --until",
              other, o->last_index, t1, other, other);
        return;
    default:
        break;
    }
    /* Runs past: the other relay was logging, yet never stored it. */
    rk_time_format(t1, sizeof t1, o->last_ms);
    if (o->last_ms < m->time_ms) {
        /* The clocks say it ended before; what it holds says otherwise. */
        char hex[2 * ENVELOPE_MSG_ID_LEN + 1];
        rk_hex(hex, l->msgs[l->max_common_msg].msg_id, ENVELOPE_MSG_ID_LEN);
        s_put(b,
              "not in %s's log, though relay %s logged on past it: it holds "
              "msg %s, which %s accepted later (index %" PRIu64
              "), although its last record (index %" PRIu64 ", at %s) is "
              "earlier by the relays' clocks",
              other, other, hex, me, l->max_common, o->last_index, t1);
    } else {
        s_put(b,
              "not in %s's log, though relay %s logged on past it (until "
              "%s, index %" PRIu64 ")",
              other, other, t1, o->last_index);
    }
    inflight =
        o->last_ms >= m->time_ms && o->last_ms - m->time_ms < S_INFLIGHT_MS;
    if (inflight)
        s_put(b,
              ": relay %s had not stored it by then, but its log ends only "
              "%.1f s after it, while the sender's node may still have been "
              "resubmitting it (a newer copy of %s's log may hold it)",
              other, (double)(o->last_ms - m->time_ms) / 1000.0, other);
    else
        s_put(b,
              ": relay %s never stored it, though the sender's node keeps a "
              "message in its outbox until every relay stored or refused it",
              other);
    {
        const s_refusal_t *x = s_refusal_of(self, o, m);
        if (x) {
            rk_time_format(t1, sizeof t1, x->time_ms);
            s_put(b,
                  "; relay %s refused it for now (record %" PRIu64
                  " at %s, code=%s), a refusal its node retries",
                  other, x->index, t1,
                  frame_reject_name((frame_reject_t)x->code));
        }
    }
    s_put_stopped(b, o, m, other);
}

/* "delivered (record N)", "expired (record N)", "undeliverable (record
 * N)", "still open at the end of the log", or "not in that log". */
static void
s_put_state(s_buf_t *b, const s_rcpt_t *x) {
    if (!x)
        s_put(b, "not in that log");
    else if (x->state == S_DELIVERED)
        s_put(b, "delivered (record %" PRIu64 ")", x->closed);
    else if (x->state == S_EXPIRED)
        s_put(b, "expired (record %" PRIu64 ")", x->closed);
    else if (x->state == S_UNDELIVERABLE)
        s_put(b, "undeliverable (record %" PRIu64 ")", x->closed);
    else
        s_put(b, "still open at the end of the log");
}

/* The recipient's entry in message ref of log side, or NULL. */
static const s_rcpt_t *
s_rcpt_of(const audit_compare_t *self, int side, uint32_t ref, uint32_t node) {
    const s_log_t *l = &self->log[side];
    s_rcpt_t key;
    if (ref == S_NONE)
        return NULL;
    key.node = node;
    return bsearch(&key, &l->rcpts[l->msgs[ref].rcpt], l->msgs[ref].n_rcpt,
                   sizeof key, s_rcpt_cmp);
}

static void
s_text_recipient(const audit_compare_t *self, const s_find_t *f, s_buf_t *b) {
    const s_rcpt_t *ra = s_rcpt_of(self, 0, f->ref[0], f->node);
    const s_rcpt_t *rb = s_rcpt_of(self, 1, f->ref[1], f->node);
    const char *who = self->names[f->node];
    if (f->kind == AUDIT_COMPARE_DELIVERED_ONE)
        s_put(b, "%s confirmed only one relay's copy: ", who);
    else if (f->cls == S_CLS_EXPIRED)
        s_put(b, "%s never got it (%s wherever logged): ", who,
              (ra && ra->state == S_UNDELIVERABLE) ||
                      (rb && rb->state == S_UNDELIVERABLE)
                  ? "expired or given up"
                  : "expired");
    else if (f->cls == S_CLS_OPEN)
        s_put(b,
              "%s had not confirmed it when the logs end (not yet "
              "delivered, not expired): ",
              who);
    else
        s_put(b,
              "%s never got one copy and had not confirmed the other when "
              "its log ends: ",
              who);
    s_put(b, "in A ");
    s_put_state(b, ra);
    s_put(b, ", in B ");
    s_put_state(b, rb);
}

static void
s_text(const audit_compare_t *self, const s_find_t *f, s_buf_t *b) {
    const s_log_t *a = &self->log[0], *bl = &self->log[1];
    char ha[17], hb[17];
    switch ((audit_compare_kind_t)f->kind) {
    case AUDIT_COMPARE_ENVELOPES: {
        const s_msg_t *ma = &a->msgs[f->ref[0]], *mb = &bl->msgs[f->ref[1]];
        rk_hex(ha, ma->hash, 8);
        rk_hex(hb, mb->hash, 8);
        s_put(b,
              "relays A and B logged different envelopes under one msg id "
              "(SHA-256 %s... in A, %s... in B), each signed by its sender",
              ha, hb);
        if (ma->sender == mb->sender)
            s_put(b,
                  ": %s signed two messages with one msg id, so recipients "
                  "that keep the first copy by msg id may hold different "
                  "messages",
                  self->names[ma->sender]);
        else
            s_put(b,
                  ": %s (in A) and %s (in B) used one msg id, so a "
                  "recipient that drops the second copy by msg id loses "
                  "the other's message",
                  self->names[ma->sender], self->names[mb->sender]);
        return;
    }
    case AUDIT_COMPARE_ROSTERS: {
        const s_roster_t *ra = &a->rosters[f->ref[0]];
        const s_roster_t *rb = &bl->rosters[f->ref[1]];
        rk_hex(ha, ra->hash, 8);
        rk_hex(hb, rb->hash, 8);
        s_put(b,
              "relays A and B installed two different rosters with serial "
              "%" PRIu64 " (SHA-256 of the text %s... in A, %s... in B), "
              "both signed by the coordinator's key: one serial, two "
              "rosters, so nodes and relays may judge keys differently",
              ra->serial, ha, hb);
        return;
    }
    case AUDIT_COMPARE_ROSTER_ONE: {
        int side = f->ref[0] != S_NONE ? 0 : 1;
        const s_log_t *l = &self->log[side], *o = &self->log[!side];
        const s_roster_t *r = &l->rosters[f->ref[side]];
        uint64_t newest =
            o->n_rosters ? o->rosters[o->n_rosters - 1].serial : 0;
        if (!o->n_rosters)
            s_put(b,
                  "roster serial %" PRIu64 " is in %s's log only; %s's "
                  "log holds no roster",
                  r->serial, s_side(side), s_side(!side));
        else if (r->serial > newest && o->last_ms > r->time_ms) {
            /* Not an older copy: that relay logged on with the old one. */
            char t[40];
            rk_time_format(t, sizeof t, o->last_ms);
            s_put(b,
                  "roster serial %" PRIu64 " is in %s's log only, newer "
                  "than %s's newest (serial %" PRIu64 "), though relay %s "
                  "logged on past it (until %s, index %" PRIu64 "): relay "
                  "%s had not installed it (a SIGHUP with the new roster "
                  "file, or a node's push, installs it) and judged keys by "
                  "serial %" PRIu64 " meanwhile",
                  r->serial, s_side(side), s_side(!side), newest, s_side(!side),
                  t, o->last_index, s_side(!side), newest);
        } else if (r->serial > newest)
            s_put(b,
                  "roster serial %" PRIu64 " is in %s's log only, newer "
                  "than %s's newest (serial %" PRIu64 "): %s's copy is "
                  "older, or relay %s had not received it",
                  r->serial, s_side(side), s_side(!side), newest, s_side(!side),
                  s_side(!side));
        else
            s_put(b,
                  "roster serial %" PRIu64 " is in %s's log only: relay %s "
                  "went past it (its newest is serial %" PRIu64 ") without "
                  "installing it",
                  r->serial, s_side(side), s_side(!side), newest);
        return;
    }
    case AUDIT_COMPARE_ONE_LOG:
        s_text_one_log(self, f, b);
        return;
    case AUDIT_COMPARE_NOT_REACHED:
    case AUDIT_COMPARE_DELIVERED_ONE:
        s_text_recipient(self, f, b);
        return;
    }
}

static const char *
s_kind_name(const s_find_t *f) {
    switch ((audit_compare_kind_t)f->kind) {
    case AUDIT_COMPARE_ENVELOPES:
        return "envelopes-differ";
    case AUDIT_COMPARE_ROSTERS:
        return "rosters-differ";
    case AUDIT_COMPARE_ONE_LOG:
        return f->ref[0] != S_NONE ? "only-in-a" : "only-in-b";
    case AUDIT_COMPARE_NOT_REACHED:
        return "not-reached";
    case AUDIT_COMPARE_ROSTER_ONE:
        return "roster-in-one";
    case AUDIT_COMPARE_DELIVERED_ONE:
        return "delivered-by-one";
    }
    return "unknown";
}

static audit_compare_severity_t
s_severity(const s_find_t *f) {
    switch ((audit_compare_kind_t)f->kind) {
    case AUDIT_COMPARE_ENVELOPES:
    case AUDIT_COMPARE_ROSTERS:
        return AUDIT_COMPARE_CONTRADICTION;
    case AUDIT_COMPARE_ONE_LOG:
    case AUDIT_COMPARE_NOT_REACHED:
        return AUDIT_COMPARE_DIFFERENCE;
    default:
        return AUDIT_COMPARE_INFO;
    }
}

/* "a,b,c": the message's recipients, malloc'd; NULL when out of memory. */
static char *
s_recipient_list(const audit_compare_t *self, const s_log_t *l,
                 const s_msg_t *m) {
    size_t len = 1;
    char *out, *p;
    for (size_t i = 0; i < m->n_rcpt; i++)
        len += strlen(self->names[l->rcpts[m->rcpt + i].node]) + 1;
    if (!(out = malloc(len)))
        return NULL;
    p = out;
    *p = 0;
    for (size_t i = 0; i < m->n_rcpt; i++) {
        const char *id = self->names[l->rcpts[m->rcpt + i].node];
        size_t n = strlen(id);
        if (i)
            *p++ = ',';
        memcpy(p, id, n + 1);
        p += n;
    }
    return out;
}

int
audit_compare_foreach(audit_compare_t *self, audit_compare_fn cb, void *arg) {
    /* Texts are a few hundred bytes; room to spare. */
    char text[2048];
    if (!self || !self->finished || !cb)
        return RK_ERR_INVALID;
    for (size_t i = 0; i < self->n_finds; i++) {
        const s_find_t *f = &self->finds[i];
        audit_compare_finding_t out;
        s_buf_t b = {text, sizeof text, 0};
        char hex[2 * ENVELOPE_MSG_ID_LEN + 1] = "", *to = NULL;
        int side = f->ref[0] != S_NONE ? 0 : 1, rc;
        bool roster = f->kind == AUDIT_COMPARE_ROSTERS ||
                      f->kind == AUDIT_COMPARE_ROSTER_ONE;

        text[0] = 0;
        memset(&out, 0, sizeof out);
        out.kind = (audit_compare_kind_t)f->kind;
        out.severity = s_severity(f);
        out.kind_name = s_kind_name(f);
        out.cls = s_cls_names[f->cls];
        out.time_ms = f->time_ms;
        out.msg_id = hex;
        out.from = "";
        out.to = "";
        out.env_kind = "";
        for (int s = 0; s < 2; s++) {
            out.index[s] = -1;
            if (f->ref[s] == S_NONE)
                continue;
            out.index[s] =
                (int64_t)(roster ? self->log[s].rosters[f->ref[s]].index
                                 : self->log[s].msgs[f->ref[s]].index);
        }
        if (roster) {
            out.serial = self->log[side].rosters[f->ref[side]].serial;
        } else {
            const s_log_t *l = &self->log[side];
            const s_msg_t *m = &l->msgs[f->ref[side]];
            rk_hex(hex, m->msg_id, sizeof m->msg_id);
            out.from = self->names[m->sender];
            out.env_kind = envelope_kind_name((envelope_kind_t)m->kind);
            if (f->node != S_NONE)
                out.to = self->names[f->node];
            else if (!(to = s_recipient_list(self, l, m)))
                return RK_ERR_NOMEM;
            else
                out.to = to;
        }
        s_text(self, f, &b);
        out.text = text;
        rc = cb(arg, &out);
        free(to);
        if (rc != 0)
            return rc;
    }
    return RK_OK;
}

/* ---- output ------------------------------------------------------------ */

const char *
audit_compare_severity_name(audit_compare_severity_t s) {
    return s == AUDIT_COMPARE_CONTRADICTION ? "contradiction"
           : s == AUDIT_COMPARE_DIFFERENCE  ? "difference"
                                            : "info";
}

/* "-" for none, the decimal index otherwise, into buf. */
static const char *
s_index_text(char *buf, size_t cap, int64_t index) {
    if (index < 0)
        return "-";
    snprintf(buf, cap, "%" PRId64, index);
    return buf;
}

char *
audit_compare_line(const audit_compare_finding_t *f) {
    char t[40], ia[24], ib[24], *out = NULL;
    const char *a = s_index_text(ia, sizeof ia, f->index[0]);
    const char *b = s_index_text(ib, sizeof ib, f->index[1]);
    int n;
    rk_time_format(t, sizeof t, f->time_ms);
    if (f->kind == AUDIT_COMPARE_ROSTERS || f->kind == AUDIT_COMPARE_ROSTER_ONE)
        n = asprintf(&out,
                     "%s %s %s serial=%" PRIu64 " a.index=%s b.index=%s: %s", t,
                     audit_compare_severity_name(f->severity), f->kind_name,
                     f->serial, a, b, f->text);
    else
        n = asprintf(&out,
                     "%s %s %s%s%s msg=%s %s -> %s kind=%s a.index=%s "
                     "b.index=%s: %s",
                     t, audit_compare_severity_name(f->severity), f->kind_name,
                     *f->cls ? " " : "", f->cls, f->msg_id, f->from, f->to,
                     f->env_kind, a, b, f->text);
    return n < 0 ? NULL : out;
}

static json_t *
s_json_index(int64_t index) {
    return index < 0 ? json_null() : json_integer((json_int_t)index);
}

char *
audit_compare_json(const audit_compare_finding_t *f) {
    char t[40], *out;
    json_t *o = json_object(), *to = json_array();
    if (!o || !to) {
        json_decref(o);
        json_decref(to);
        return NULL;
    }
    for (const char *p = f->to; p && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        json_array_append_new(to, json_stringn(p, n));
        p = e ? e + 1 : NULL;
    }
    rk_time_format(t, sizeof t, f->time_ms);
    json_object_set_new(o, "time", json_string(t));
    json_object_set_new(o, "time_ms", json_integer((json_int_t)f->time_ms));
    json_object_set_new(o, "severity",
                        json_string(audit_compare_severity_name(f->severity)));
    json_object_set_new(o, "finding", json_string(f->kind_name));
    json_object_set_new(o, "class", json_string(f->cls));
    json_object_set_new(o, "msg_id", json_string(f->msg_id));
    json_object_set_new(o, "from", json_string(f->from));
    json_object_set_new(o, "to", to);
    json_object_set_new(o, "kind", json_string(f->env_kind));
    json_object_set_new(o, "serial", json_integer((json_int_t)f->serial));
    json_object_set_new(o, "a_index", s_json_index(f->index[0]));
    json_object_set_new(o, "b_index", s_json_index(f->index[1]));
    json_object_set_new(o, "text", json_string(f->text));
    out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return out;
}

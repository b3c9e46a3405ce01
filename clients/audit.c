/* audit: the auditor's checks over a copy of the relay's log, offline.
 * verify reads the segments itself (not through relay_log) so that it can
 * name every problem and go on past one; the timeline and the proofs read
 * through relay_log in read-only mode. docs/AUDIT.md is the user's view. */
#define _GNU_SOURCE
#include "audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "relay_log.h"
#include "rk_util.h"
#include "roster.h"

#define S_SEG_MAGIC "RNRKLOG1"
#define S_NAME_DIGITS 20
#define S_CHUNK 256           /* envelopes per unit of work of a thread */
#define S_MAX_PROBLEMS 100000 /* kept for sorting; more are only counted */
/* Records after a roster record that may still have been judged by the
 * roster it replaced: the relay activates a roster pushed inside a batch
 * after the batch's sync (batches hold at most 256 frames). */
#define S_SAME_BATCH 256
#define S_CP_MAX_BYTES (64u * 1024u)
#define S_RECENT 8        /* node ids remembered as already counted */
#define S_OPEN UINT64_MAX /* a recipient neither delivered nor expired yet */
/* The relay scans for expired messages once a second, before it handles a
 * batch: a record of a batch logged this long after a message's expiry
 * means a scan has passed it. */
#define S_EXPIRY_SLACK_MS 5000

/* ---- small hash map: 16-byte keys to a value --------------------------- */

typedef struct {
    uint8_t key[16];
    uint64_t val;
    void *ptr;
    bool used;
} s_slot_t;

typedef struct {
    s_slot_t *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
} s_map_t;

static uint64_t
s_hash16(const uint8_t k[16]) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++) {
        h ^= k[i];
        h *= 1099511628211ull;
    }
    return h;
}

static s_slot_t *
s_map_find(const s_map_t *m, const uint8_t k[16]) {
    if (!m->cap)
        return NULL;
    for (size_t i = s_hash16(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].used)
            return NULL;
        if (memcmp(m->slots[i].key, k, 16) == 0)
            return &m->slots[i];
    }
}

/* Adds k; when k is there already *slot is the old one and RK_ERR_EXISTS
 * is returned. */
static int
s_map_put(s_map_t *m, const uint8_t k[16], uint64_t val, void *ptr,
          s_slot_t **slot) {
    s_slot_t *old;
    if (m->n * 2 >= m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        s_slot_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return RK_ERR_NOMEM;
        for (size_t j = 0; j < m->cap; j++) {
            size_t i;
            if (!m->slots[j].used)
                continue;
            for (i = s_hash16(m->slots[j].key) & (cap - 1); slots[i].used;
                 i = (i + 1) & (cap - 1))
                ;
            slots[i] = m->slots[j];
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    if ((old = s_map_find(m, k)) != NULL) {
        if (slot)
            *slot = old;
        return RK_ERR_EXISTS;
    }
    for (size_t i = s_hash16(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].used)
            continue;
        memcpy(m->slots[i].key, k, 16);
        m->slots[i].val = val;
        m->slots[i].ptr = ptr;
        m->slots[i].used = true;
        m->n++;
        if (slot)
            *slot = &m->slots[i];
        return RK_OK;
    }
}

static void
s_map_free(s_map_t *m, void (*free_ptr)(void *)) {
    if (free_ptr)
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].used)
                free_ptr(m->slots[i].ptr);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static void
s_key_index(uint8_t k[16], uint64_t index) {
    memset(k, 0, 16);
    rk_put_be64(k, index);
}

static void
s_key_text(uint8_t k[16], const char *s) {
    crypto_generichash(k, 16, (const uint8_t *)s, strlen(s), NULL, 0);
}

/* ---- verify ------------------------------------------------------------ */

typedef struct {
    uint64_t key; /* log order: 2 * position, + 1 for "after record" */
    uint64_t seq; /* order found, to keep sorting stable */
    char *file;
    int64_t offset, index;
    char *reason;
} s_problem_t;

typedef struct {
    char name[40];   /* "checkpoints/<20 digits>.note" */
    uint64_t size;   /* the size in its name */
    checkpoint_t cp; /* when ok */
    bool ok;         /* signature, origin and name checked */
} s_cp_t;

typedef struct {
    uint64_t pos;
    const char *file;
    uint64_t offset;
    envelope_t *env;
    uint8_t pk[32];     /* the key of the roster in force */
    uint8_t alt_pk[32]; /* the key of the roster it replaced */
    bool has_pk, has_alt;
    uint64_t serial;
    int result; /* 0: by pk; 1: by alt_pk; -1: neither */
} s_item_t;

typedef struct {
    s_item_t items[S_CHUNK];
    size_t n;  /* items filled */
    bool done; /* verified, results not yet collected (under mu) */
} s_chunk_t;

typedef struct {
    const audit_verify_config_t *cfg;
    audit_summary_t *sum;
    merkle_tree_t *tree;
    s_problem_t *probs;
    size_t n_probs, cap_probs;
    uint64_t seq;
    s_cp_t *cps;
    size_t n_cps, next_cp;
    uint64_t last_good_cp; /* size of the last checkpoint the log matched */
    bool have_good_cp;
    roster_t *roster, *prev_roster;
    uint64_t roster_pos;
    s_map_t msgs;  /* msg id -> index of its accepted record */
    s_map_t nodes; /* node ids seen */
    /* (accepted index, recipient) of each recipient of an accepted record
     * -> S_OPEN, then the first delivered, expired or undeliverable
     * record naming it: 4 * position + S_DELIVERED, S_EXPIRED or
     * S_UNDELIVERABLE */
    s_map_t rcpts;
    /* Messages accepted with an expiry, in log order; their recipients'
     * rcpts slots point here (position + 1) to count them closed. */
    struct s_expiring {
        uint64_t index, expires_ms;
        size_t open; /* recipients neither delivered nor expired */
        uint8_t msg_id[ENVELOPE_MSG_ID_LEN];
    } * exp;
    size_t n_exp, cap_exp;
    uint64_t last_turn_ms; /* of the last accepted, delivered, expired or
                              refused record: logged after a scan */
    char recent[S_RECENT][ENVELOPE_NODE_ID_MAX + 1]; /* ids put last */
    size_t next_recent;                              /* next to replace */
    unsigned threads;
    /* The signature pool: chunks [head, tail) are submitted, those from
     * next_claim on not yet taken by a thread; ring[tail % depth] is the
     * one being filled. Counters grow; mu guards tail, next_claim, done
     * and stop. */
    s_chunk_t *ring;
    size_t depth;
    uint64_t head, tail, next_claim;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pthread_t *tids;
    unsigned n_workers;
    bool stop, pool_ok;
    int64_t delta;    /* index - position of the last record */
    uint64_t min_key; /* smallest key of the problems found */
    uint64_t done_bytes, total_bytes;
    int err;            /* NOMEM or IO met on the way */
    uint64_t scan_left; /* bytes s_next_valid may still hash */
    uint8_t *seg;       /* the segment being read, reused for the next */
    size_t seg_cap;     /* its allocated size */
} s_verify_t;

static void s_problem(s_verify_t *v, uint64_t key, const char *file,
                      int64_t offset, int64_t index, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void
s_problem(s_verify_t *v, uint64_t key, const char *file, int64_t offset,
          int64_t index, const char *fmt, ...) {
    s_problem_t *p;
    va_list ap;
    char buf[1024];
    v->sum->problems++;
    if (key < v->min_key)
        v->min_key = key;
    if (v->n_probs >= S_MAX_PROBLEMS)
        return;
    if (v->n_probs == v->cap_probs) {
        size_t cap = v->cap_probs ? v->cap_probs * 2 : 16;
        s_problem_t *np = realloc(v->probs, cap * sizeof *np);
        if (!np) {
            v->err = RK_ERR_NOMEM;
            return;
        }
        v->probs = np;
        v->cap_probs = cap;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    p = &v->probs[v->n_probs];
    p->key = key;
    p->seq = v->seq++;
    p->file = file ? strdup(file) : NULL;
    p->offset = offset;
    p->index = index;
    p->reason = strdup(buf);
    if ((file && !p->file) || !p->reason) {
        free(p->file);
        free(p->reason);
        v->err = RK_ERR_NOMEM;
        return;
    }
    v->n_probs++;
}

static int
s_problem_cmp(const void *a, const void *b) {
    const s_problem_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint64_t
s_cp_key(uint64_t size) {
    return size ? (size - 1) * 2 + 1 : 0;
}

static void
s_node(s_verify_t *v, const char *id) {
    uint8_t k[16];
    size_t len;
    if (!id || !*id)
        return;
    /* The same few ids recur record after record: skip their hashing. */
    len = strnlen(id, ENVELOPE_NODE_ID_MAX + 1);
    if (len <= ENVELOPE_NODE_ID_MAX) {
        for (size_t i = 0; i < S_RECENT; i++)
            if (strcmp(v->recent[i], id) == 0)
                return;
    }
    s_key_text(k, id);
    if (len <= ENVELOPE_NODE_ID_MAX) {
        memcpy(v->recent[v->next_recent], id, len + 1);
        v->next_recent = (v->next_recent + 1) % S_RECENT;
    }
    if (s_map_put(&v->nodes, k, 0, NULL, NULL) == RK_ERR_NOMEM)
        v->err = RK_ERR_NOMEM;
}

static int
s_names_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists DIR/sub names of 20 digits + ext, sorted. */
static int
s_list(const char *dir, const char *ext, char ***names, size_t *n) {
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0, elen = strlen(ext);
    *names = NULL;
    *n = 0;
    if (!d)
        return errno == ENOENT ? RK_ERR_NOT_FOUND : RK_ERR_IO;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), i;
        if (l != S_NAME_DIGITS + elen || strcmp(e->d_name + S_NAME_DIGITS, ext))
            continue;
        for (i = 0; i < S_NAME_DIGITS; i++)
            if (e->d_name[i] < '0' || e->d_name[i] > '9')
                break;
        if (i < S_NAME_DIGITS)
            continue;
        if (*n == cap) {
            char **nn;
            cap = cap ? cap * 2 : 16;
            nn = realloc(*names, cap * sizeof *nn);
            if (!nn)
                goto nomem;
            *names = nn;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            goto nomem;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*names, *n, sizeof **names, s_names_cmp);
    return RK_OK;
nomem:
    closedir(d);
    for (size_t i = 0; i < *n; i++)
        free((*names)[i]);
    free(*names);
    *names = NULL;
    *n = 0;
    return RK_ERR_NOMEM;
}

static void
s_free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* 20-digit decimal to a number; names may exceed uint64 only in theory. */
static uint64_t
s_name_number(const char *name) {
    uint64_t x = 0;
    for (int i = 0; i < S_NAME_DIGITS; i++) {
        unsigned d = (unsigned)(name[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return UINT64_MAX;
        x = x * 10 + d;
    }
    return x;
}

static char *
s_join(const char *a, const char *b) {
    char *p = NULL;
    if (asprintf(&p, "%s/%s", a, b) < 0)
        return NULL;
    return p;
}

/* Loads every checkpoint file and checks its signature, origin and name. */
static int
s_load_checkpoints(s_verify_t *v) {
    char *dir = s_join(v->cfg->dir, "checkpoints");
    char **names = NULL;
    size_t n = 0;
    int rc;
    if (!dir)
        return RK_ERR_NOMEM;
    rc = s_list(dir, ".note", &names, &n);
    if (rc == RK_ERR_NOT_FOUND)
        rc = RK_OK; /* a log without checkpoints: nothing signed to check */
    if (rc != RK_OK)
        goto cleanup;
    v->cps = calloc(n ? n : 1, sizeof *v->cps);
    if (!v->cps) {
        rc = RK_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        s_cp_t *c = &v->cps[v->n_cps++];
        char *path = s_join(dir, names[i]);
        uint8_t *note = NULL;
        size_t len = 0;
        const char *why = NULL;
        int r;
        snprintf(c->name, sizeof c->name, "checkpoints/%s", names[i]);
        c->size = s_name_number(names[i]);
        v->sum->checkpoints++;
        if (!path) {
            rc = RK_ERR_NOMEM;
            goto cleanup;
        }
        r = rk_read_file(path, S_CP_MAX_BYTES, &note, &len);
        free(path);
        if (r != RK_OK) {
            s_problem(v, s_cp_key(c->size), c->name, -1, -1,
                      "cannot read the checkpoint: %s", rk_strerror(r));
            continue;
        }
        r = checkpoint_open(note, len, v->cfg->relay, v->cfg->relay->name,
                            &c->cp, &why);
        /* A rotation of the relay's keys: checkpoints before it are
         * signed by the previous key. */
        for (size_t k = 0; r == RK_ERR_UNKNOWN_KEY && v->cfg->relay_more &&
                           k < v->cfg->n_relay_more;
             k++)
            r = checkpoint_open(note, len, &v->cfg->relay_more[k],
                                v->cfg->relay->name, &c->cp, &why);
        free(note);
        if (r == RK_ERR_UNKNOWN_KEY)
            s_problem(v, s_cp_key(c->size), c->name, -1, -1,
                      "checkpoint not signed by the relay key %s+%08" PRIx32
                      "%s (signed by another key, or unsigned%s)",
                      v->cfg->relay->name, v->cfg->relay->key_id,
                      v->cfg->n_relay_more ? " nor the other --vkey keys" : "",
                      v->cfg->n_relay_more
                          ? ""
                          : "; after a rotation of the relay's keys, give "
                            "each with --vkey");
        else if (r == RK_ERR_BAD_SIGNATURE)
            s_problem(v, s_cp_key(c->size), c->name, -1, -1,
                      "the relay's signature on the checkpoint does not "
                      "verify (the checkpoint was altered)");
        else if (r == RK_ERR_MISMATCH)
            s_problem(v, s_cp_key(c->size), c->name, -1, -1,
                      "checkpoint of another log: origin is not %s",
                      v->cfg->relay->name);
        else if (r != RK_OK)
            s_problem(v, s_cp_key(c->size), c->name, -1, -1,
                      "not a signed checkpoint: %s",
                      why ? why : rk_strerror(r));
        else if (c->cp.size != c->size)
            s_problem(v, s_cp_key(c->size), c->name, -1, -1,
                      "the checkpoint's tree size %" PRIu64
                      " differs from its file name",
                      c->cp.size);
        else
            c->ok = true;
    }
    rc = RK_OK;
cleanup:
    s_free_names(names, n);
    free(dir);
    return rc;
}

/* True once the first problem in log order is known (without --all):
 * nothing read from here on can come before it. */
static bool
s_done(const s_verify_t *v) {
    return v->err || (!v->cfg->all && v->sum->problems &&
                      v->min_key < v->sum->records * 2);
}

/* Checks the checkpoints whose size the tree has just reached. */
static void
s_check_checkpoints(s_verify_t *v) {
    uint64_t size = merkle_tree_size(v->tree);
    while (v->next_cp < v->n_cps && v->cps[v->next_cp].size <= size) {
        s_cp_t *c = &v->cps[v->next_cp++];
        uint8_t root[MERKLE_HASH_LEN];
        if (!c->ok || c->size != size)
            continue;
        if (merkle_tree_root(v->tree, size, root) != RK_OK) {
            v->err = RK_ERR_INVALID;
            return;
        }
        if (sodium_memcmp(root, c->cp.root, sizeof root) == 0) {
            /* A checkpoint of size 0 vouches for no record. */
            v->have_good_cp = v->have_good_cp || size > 0;
            v->last_good_cp = size;
            if (size > v->sum->checkpoint_size)
                v->sum->checkpoint_size = size;
            continue;
        }
        if (v->have_good_cp)
            s_problem(v, s_cp_key(size), c->name, -1, -1,
                      "inconsistent checkpoint: its root differs from the "
                      "root of the log's first %" PRIu64
                      " records, while the checkpoint of size %" PRIu64
                      " matches the log (the records were altered, or the "
                      "relay signed two views)",
                      size, v->last_good_cp);
        else
            s_problem(v, s_cp_key(size), c->name, -1, -1,
                      "inconsistent checkpoint: its root differs from the "
                      "root of the log's first %" PRIu64
                      " records (records under it were changed, removed or "
                      "reordered)",
                      size);
    }
}

/* ---- the signature pool ------------------------------------------------
 * The reading thread decodes records in log order and fills chunks of
 * envelopes to verify; threads - 1 workers verify queued chunks while it
 * reads on. When every chunk of the ring is out, the reading thread
 * verifies a queued chunk itself, so --threads N keeps N cores busy and
 * --threads 1 does everything on one. Chunks are collected oldest first,
 * so results stay in log order. */

/* Verifies one chunk's envelopes: worker threads and the reader. */
static void
s_verify_chunk(s_chunk_t *c) {
    for (size_t i = 0; i < c->n; i++) {
        s_item_t *it = &c->items[i];
        it->result = -1;
        if (it->has_pk && envelope_verify(it->env, it->pk) == RK_OK)
            it->result = 0;
        else if (it->has_alt && envelope_verify(it->env, it->alt_pk) == RK_OK)
            it->result = 1;
    }
}

static void *
s_worker(void *arg) {
    s_verify_t *v = arg;
    pthread_mutex_lock(&v->mu);
    for (;;) {
        s_chunk_t *c;
        while (!v->stop && v->next_claim == v->tail)
            pthread_cond_wait(&v->cv_work, &v->mu);
        if (v->stop)
            break;
        c = &v->ring[v->next_claim++ % v->depth];
        pthread_mutex_unlock(&v->mu);
        s_verify_chunk(c);
        pthread_mutex_lock(&v->mu);
        c->done = true;
        pthread_cond_signal(&v->cv_done);
    }
    pthread_mutex_unlock(&v->mu);
    return NULL;
}

/* Reports the oldest chunk's results in order and frees its envelopes. */
static void
s_collect(s_verify_t *v, s_chunk_t *c) {
    for (size_t i = 0; i < c->n; i++) {
        s_item_t *it = &c->items[i];
        if (it->result < 0) {
            const envelope_header_t *h = envelope_header(it->env);
            char kid[2 * ENVELOPE_KEY_ID_LEN + 1];
            rk_hex(kid, h->sender_key_id, ENVELOPE_KEY_ID_LEN);
            s_problem(v, it->pos * 2, it->file, (int64_t)it->offset,
                      (int64_t)it->pos,
                      "envelope signature does not verify: the key of %s "
                      "(key id %s) in the roster of its time (serial %" PRIu64
                      ") did not sign it",
                      h->sender, kid, it->serial);
        } else {
            v->sum->signatures++;
            if (it->result == 1)
                v->sum->prev_roster++;
        }
        envelope_destroy(&it->env);
    }
    c->n = 0;
    c->done = false;
}

/* Waits for the oldest submitted chunk, verifying queued chunks on this
 * thread meanwhile, and collects it. */
static void
s_reap(s_verify_t *v) {
    s_chunk_t *c = &v->ring[v->head % v->depth];
    pthread_mutex_lock(&v->mu);
    while (!c->done) {
        if (v->next_claim < v->tail) {
            s_chunk_t *mine = &v->ring[v->next_claim++ % v->depth];
            pthread_mutex_unlock(&v->mu);
            s_verify_chunk(mine);
            pthread_mutex_lock(&v->mu);
            mine->done = true;
        } else {
            pthread_cond_wait(&v->cv_done, &v->mu);
        }
    }
    pthread_mutex_unlock(&v->mu);
    s_collect(v, c);
    v->head++;
}

/* Queues the chunk being filled; makes room for the next one. */
static void
s_submit(s_verify_t *v) {
    if (!v->ring[v->tail % v->depth].n)
        return;
    pthread_mutex_lock(&v->mu);
    v->tail++;
    pthread_cond_signal(&v->cv_work);
    pthread_mutex_unlock(&v->mu);
    if (v->tail - v->head == v->depth)
        s_reap(v);
}

/* Verifies and reports everything queued or being filled. */
static void
s_flush(s_verify_t *v) {
    s_submit(v);
    while (v->head < v->tail)
        s_reap(v);
}

/* The next free item of the chunk being filled. */
static s_item_t *
s_next_item(s_verify_t *v) {
    s_chunk_t *c = &v->ring[v->tail % v->depth];
    if (c->n == S_CHUNK) {
        s_submit(v);
        c = &v->ring[v->tail % v->depth];
    }
    return &c->items[c->n++];
}

/* Starts threads - 1 workers (fewer if the system refuses some). */
static int
s_pool_start(s_verify_t *v) {
    v->depth = 2 * (size_t)v->threads + 2;
    v->ring = calloc(v->depth, sizeof *v->ring);
    v->tids = calloc(v->threads, sizeof *v->tids);
    if (!v->ring || !v->tids)
        return RK_ERR_NOMEM;
    if (pthread_mutex_init(&v->mu, NULL) != 0)
        return RK_ERR_NOMEM;
    if (pthread_cond_init(&v->cv_work, NULL) != 0) {
        pthread_mutex_destroy(&v->mu);
        return RK_ERR_NOMEM;
    }
    if (pthread_cond_init(&v->cv_done, NULL) != 0) {
        pthread_cond_destroy(&v->cv_work);
        pthread_mutex_destroy(&v->mu);
        return RK_ERR_NOMEM;
    }
    v->pool_ok = true;
    for (unsigned i = 1; i < v->threads; i++)
        if (pthread_create(&v->tids[v->n_workers], NULL, s_worker, v) == 0)
            v->n_workers++;
    return RK_OK;
}

/* Stops the workers (a chunk in progress is finished) and frees every
 * envelope still held. */
static void
s_pool_stop(s_verify_t *v) {
    if (v->pool_ok) {
        pthread_mutex_lock(&v->mu);
        v->stop = true;
        pthread_cond_broadcast(&v->cv_work);
        pthread_mutex_unlock(&v->mu);
        for (unsigned i = 0; i < v->n_workers; i++)
            pthread_join(v->tids[i], NULL);
        pthread_cond_destroy(&v->cv_done);
        pthread_cond_destroy(&v->cv_work);
        pthread_mutex_destroy(&v->mu);
    }
    for (size_t i = 0; v->ring && i < v->depth; i++)
        for (size_t j = 0; j < v->ring[i].n; j++)
            envelope_destroy(&v->ring[i].items[j].env);
    free(v->ring);
    free(v->tids);
    v->ring = NULL;
    v->tids = NULL;
}

static void
s_recipient_key(uint8_t k[16], uint64_t accepted_index, const char *id) {
    char text[ENVELOPE_NODE_ID_MAX + 32];
    snprintf(text, sizeof text, "%" PRIu64 "/%s", accepted_index, id);
    s_key_text(k, text);
}

/* Remembers that the record at accepted_index is addressed to id; exp:
 * the message's entry in v->exp (position + 1), or NULL without expiry. */
static void
s_recipient(s_verify_t *v, uint64_t accepted_index, const char *id, void *exp) {
    uint8_t k[16];
    s_recipient_key(k, accepted_index, id);
    if (s_map_put(&v->rcpts, k, S_OPEN, exp, NULL) == RK_ERR_NOMEM)
        v->err = RK_ERR_NOMEM; /* EXISTS: envelopes refuse a repeated id */
}

/* Notes a message accepted at index with an expiry, for s_open_expired;
 * returns what its recipients' slots point to, or NULL (no memory: err). */
static void *
s_expiring(s_verify_t *v, uint64_t index, const envelope_header_t *h) {
    struct s_expiring *e;
    if (v->n_exp == v->cap_exp) {
        size_t cap = v->cap_exp ? 2 * v->cap_exp : 256;
        e = realloc(v->exp, cap * sizeof *e);
        if (!e) {
            v->err = RK_ERR_NOMEM;
            return NULL;
        }
        v->exp = e;
        v->cap_exp = cap;
    }
    e = &v->exp[v->n_exp++];
    e->index = index;
    e->expires_ms = h->expires_ms;
    e->open = h->n_recipients;
    memcpy(e->msg_id, h->msg_id, sizeof e->msg_id);
    return (void *)(uintptr_t)v->n_exp;
}

/* Messages whose expiry a scan has passed (records were logged well after
 * it) with recipients neither delivered nor expired: the relay dropped
 * the expiry (it was cut by a failed sync, say), and the sender was never
 * told. Each is a problem at its accepted record. */
static void
s_open_expired(s_verify_t *v) {
    for (size_t i = 0; i < v->n_exp; i++) {
        const struct s_expiring *e = &v->exp[i];
        char msg[2 * ENVELOPE_MSG_ID_LEN + 1], at[40], until[40];
        if (!e->open || e->expires_ms + S_EXPIRY_SLACK_MS >= v->last_turn_ms)
            continue;
        rk_hex(msg, e->msg_id, sizeof e->msg_id);
        rk_time_format(at, sizeof at, e->expires_ms);
        rk_time_format(until, sizeof until, v->last_turn_ms);
        s_problem(v, e->index * 2 + 1, "log/", -1, (int64_t)e->index,
                  "msg %s (accepted at index %" PRIu64 ") expired at %s, "
                  "but %zu of its recipients have neither a delivered nor "
                  "an expired record, though the relay logged records until "
                  "%s: an expiry the relay lost, whose receipt its sender "
                  "never got (renraku-audit export --msg %s)",
                  msg, e->index, at, e->open, until, msg);
    }
}

static void
s_accepted(s_verify_t *v, const char *file, uint64_t off, uint64_t pos,
           const record_t *r) {
    envelope_t *env = NULL;
    const envelope_header_t *h;
    const char *why = NULL;
    const roster_keyset_t *ks = NULL, *alt = NULL;
    char kid[2 * ENVELOPE_KEY_ID_LEN + 1], msg[2 * ENVELOPE_MSG_ID_LEN + 1];
    s_slot_t *slot = NULL;
    int rc, rc2 = RK_ERR_UNKNOWN_KEY;
    s_item_t *it;

    rc = envelope_decode(r->accepted.envelope, r->accepted.envelope_len, &env,
                         &why);
    if (rc != RK_OK) {
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "accepted envelope does not decode: %s",
                  why ? why : rk_strerror(rc));
        return;
    }
    h = envelope_header(env);
    rk_hex(msg, h->msg_id, sizeof h->msg_id);
    s_node(v, r->accepted.sender);
    for (size_t i = 0; i < h->n_recipients; i++)
        s_node(v, h->recipients[i]);
    rc = s_map_put(&v->msgs, h->msg_id, r->index, NULL, &slot);
    if (rc == RK_ERR_EXISTS)
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "msg %s was already accepted at index %" PRIu64
                  " (a replay the relay should have refused)",
                  msg, slot->val);
    else if (rc != RK_OK)
        v->err = rc;
    else {
        void *exp = h->expires_ms ? s_expiring(v, r->index, h) : NULL;
        for (size_t i = 0; i < h->n_recipients; i++)
            s_recipient(v, r->index, h->recipients[i], exp);
    }
    if (strcmp(h->sender, r->accepted.sender) != 0) {
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "the envelope names sender %s but the relay logged %s",
                  h->sender, r->accepted.sender);
        envelope_destroy(&env);
        return;
    }
    if (!v->roster) {
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "accepted before any roster record: no key to check the "
                  "signature of msg %s",
                  msg);
        envelope_destroy(&env);
        return;
    }
    rc = roster_usable_keys(v->roster, h->sender, h->sender_key_id,
                            h->created_ms, &ks);
    if (v->prev_roster && pos - v->roster_pos <= S_SAME_BATCH)
        rc2 = roster_usable_keys(v->prev_roster, h->sender, h->sender_key_id,
                                 h->created_ms, &alt);
    if (rc != RK_OK && rc2 != RK_OK) {
        char t[32];
        rk_hex(kid, h->sender_key_id, sizeof h->sender_key_id);
        rk_time_format(t, sizeof t, h->created_ms);
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "envelope signature does not match the roster of its "
                  "time: sender %s key id %s is not usable at its created "
                  "time %s in roster serial %" PRIu64 " (%s)",
                  h->sender, kid, t, roster_serial(v->roster), rk_strerror(rc));
        envelope_destroy(&env);
        return;
    }
    it = s_next_item(v);
    memset(it, 0, sizeof *it);
    it->pos = pos;
    it->file = file;
    it->offset = off;
    it->env = env;
    it->serial = roster_serial(v->roster);
    if (rc == RK_OK) {
        memcpy(it->pk, ks->sign_pk, 32);
        it->has_pk = true;
    }
    if (rc2 == RK_OK) {
        memcpy(it->alt_pk, alt->sign_pk, 32);
        it->has_alt = true;
    }
}

/* True when the delivered or expired record names an earlier accepted
 * record by its index and msg id; else reports why not. */
static bool
s_points_back(s_verify_t *v, const char *file, uint64_t off, uint64_t pos,
              const char *what, uint64_t accepted_index,
              const uint8_t msg_id[16]) {
    char msg[2 * ENVELOPE_MSG_ID_LEN + 1];
    s_slot_t *slot = s_map_find(&v->msgs, msg_id);
    rk_hex(msg, msg_id, ENVELOPE_MSG_ID_LEN);
    if (!slot)
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "%s record names accepted index %" PRIu64 " and msg %s, but "
                  "no earlier accepted record has that msg id",
                  what, accepted_index, msg);
    else if (slot->val != accepted_index)
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "%s record names accepted index %" PRIu64 " but msg %s was "
                  "accepted at index %" PRIu64,
                  what, accepted_index, msg, slot->val);
    return slot && slot->val == accepted_index;
}

/* How a record closed a recipient: kept in the low two bits of its slot
 * (pos * 4 + kind). */
enum { S_DELIVERED = 0, S_EXPIRED = 1, S_UNDELIVERABLE = 2 };
static const char *const s_closed_names[] = {"delivered", "expired",
                                             "undeliverable"};

/* A delivered, expired or undeliverable record (at pos) of the message
 * accepted at accepted_index names recipient: it must be one of the
 * message's recipients, and a relay logs one delivery, one expiry or one
 * give-up per recipient, never two of them and never one twice (a repeated
 * confirm writes nothing): a log that does contradicts itself about what
 * the recipient got. */
static void
s_closed(s_verify_t *v, const char *file, uint64_t off, uint64_t pos,
         uint64_t accepted_index, const uint8_t msg_id[16],
         const char *recipient, int kind) {
    const char *what = s_closed_names[kind];
    char msg[2 * ENVELOPE_MSG_ID_LEN + 1];
    uint8_t k[16];
    s_slot_t *slot;
    uint64_t first;
    int first_kind;
    if (!recipient)
        return;
    s_recipient_key(k, accepted_index, recipient);
    slot = s_map_find(&v->rcpts, k);
    if (!slot) {
        rk_hex(msg, msg_id, ENVELOPE_MSG_ID_LEN);
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "%s record names %s, which is not a recipient of msg %s "
                  "accepted at index %" PRIu64
                  ": a relay delivers a message only to the recipients its "
                  "sender named, and expires it only for them",
                  what, recipient, msg, accepted_index);
        return;
    }
    if (slot->val == S_OPEN) {
        slot->val = pos * 4 + (uint64_t)kind;
        if (slot->ptr)
            v->exp[(uintptr_t)slot->ptr - 1].open--;
        return;
    }
    first = slot->val / 4;
    first_kind = (int)(slot->val % 4);
    if (first_kind != kind)
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "%s is both %s (record %" PRIu64 ") and %s (record %" PRIu64
                  ") for the message accepted at index %" PRIu64
                  ": a relay delivers a message to a recipient or gives it "
                  "up for it once (expiry, or the recipient left the "
                  "roster), never both",
                  recipient, s_closed_names[first_kind], first, what, pos,
                  accepted_index);
    else if (first == pos)
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "the %s record names %s twice for the message "
                  "accepted at index %" PRIu64,
                  what, recipient, accepted_index);
    else
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "%s is %s twice (records %" PRIu64 " and %" PRIu64
                  ") for the message accepted at index %" PRIu64
                  ": a relay logs one %s per recipient (a repeated confirm "
                  "writes nothing)",
                  recipient, what, first, pos, accepted_index,
                  kind == S_DELIVERED ? "delivery"
                  : kind == S_EXPIRED ? "expiry"
                                      : "undeliverable record");
}

static void
s_roster(s_verify_t *v, const char *file, uint64_t off, uint64_t pos,
         const record_t *r) {
    roster_t *ro = NULL;
    char err[300];
    int rc = roster_open_signed(
        r->roster.signed_roster, r->roster.signed_roster_len,
        v->cfg->coordinator, v->sum->roster_serial, &ro, err, sizeof err);
    if (rc != RK_OK) {
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "roster record (serial %" PRIu64 ") refused: %s%s",
                  r->roster.serial, err,
                  rc == RK_ERR_SERIAL ? " (serials must grow)" : "");
        return;
    }
    if (roster_serial(ro) != r->roster.serial) {
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "roster record says serial %" PRIu64
                  " but its signed roster has serial %" PRIu64,
                  r->roster.serial, roster_serial(ro));
        roster_destroy(&ro);
        return;
    }
    for (size_t i = 0; i < roster_count(ro); i++)
        s_node(v, roster_node_at(ro, i)->id);
    roster_destroy(&v->prev_roster);
    v->prev_roster = v->roster;
    v->roster = ro;
    v->roster_pos = pos;
    v->sum->rosters++;
    v->sum->roster_serial = roster_serial(ro);
}

/* An undeliverable record: it points back at an accepted message, its
 * recipients had neither received it nor had it expire (s_closed), it
 * names the roster in force at this point of the log, and that roster
 * shows each of them revoked (reason revoked) or absent (removed). A
 * relay gives a message up only for a recipient that left the roster: one
 * given up for a recipient still in it is a silent loss. */
static void
s_undeliverable(s_verify_t *v, const char *file, uint64_t off, uint64_t pos,
                const record_t *r) {
    const record_undeliverable_t *u = &r->undeliverable;
    bool revoked = strcmp(u->reason, "revoked") == 0;
    bool back = s_points_back(v, file, off, pos, "undeliverable",
                              u->accepted_index, u->msg_id);
    if (!v->roster)
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "undeliverable record comes before any roster record: "
                  "no roster in force revoked or removed its recipients");
    else if (u->roster_serial != v->sum->roster_serial)
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "undeliverable record names roster serial %" PRIu64
                  " but the roster in force at that point of the log has "
                  "serial %" PRIu64,
                  u->roster_serial, v->sum->roster_serial);
    for (size_t i = 0; i < u->n_recipients; i++) {
        const char *id = u->recipients[i];
        s_node(v, id);
        if (v->roster) {
            const roster_node_t *n = roster_find(v->roster, id);
            if (revoked && (!n || n->status != ROSTER_REVOKED))
                s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                          "undeliverable record says %s was revoked, but "
                          "the roster in force (serial %" PRIu64 ") %s: "
                          "the relay gave up a message it could deliver",
                          id, v->sum->roster_serial,
                          !n ? "does not list it (removed, not revoked)"
                          : n->status == ROSTER_SUSPENDED
                              ? "lists it as suspended, not revoked"
                              : "lists it as active");
            else if (!revoked && n)
                s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                          "undeliverable record says %s was removed from "
                          "the roster, but the roster in force (serial "
                          "%" PRIu64 ") still lists it: the relay gave up a "
                          "message it could deliver",
                          id, v->sum->roster_serial);
        }
        if (back)
            s_closed(v, file, off, pos, u->accepted_index, u->msg_id, id,
                     S_UNDELIVERABLE);
    }
}

/* One frame that checked: the leaf, then what the record says. */
static void
s_record(s_verify_t *v, const char *file, uint64_t off, const uint8_t *rec,
         size_t len, const uint8_t leaf[MERKLE_HASH_LEN]) {
    uint64_t pos = v->sum->records++;
    record_t *r = NULL;
    const char *why = NULL;
    int64_t delta;
    int rc;

    if (merkle_tree_append(v->tree, leaf) != RK_OK) {
        v->err = RK_ERR_NOMEM;
        return;
    }
    rc = record_decode(rec, len, &r, &why);
    if (rc != RK_OK) {
        s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                  "record does not decode: %s", why ? why : rk_strerror(rc));
        s_check_checkpoints(v);
        return;
    }
    delta = (int64_t)(r->index - pos);
    if (delta != 0 && delta != v->delta) {
        if (r->index > pos)
            s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                      "record says index %" PRIu64 " at position %" PRIu64
                      ": %" PRIu64 " record(s) missing before it (a gap), or "
                      "records out of order",
                      r->index, pos, r->index - pos);
        else
            s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                      "record says index %" PRIu64 " at position %" PRIu64
                      ": that index came before (a duplicate, or records "
                      "out of order)",
                      r->index, pos);
    }
    v->delta = delta;
    if (v->sum->records == 1)
        v->sum->first_ms = r->time_ms;
    v->sum->last_ms = r->time_ms;
    if (r->type >= RECORD_ACCEPTED && r->type <= RECORD_UNDELIVERABLE)
        v->sum->by_type[r->type - RECORD_ACCEPTED]++;
    if ((r->type == RECORD_ACCEPTED || r->type == RECORD_DELIVERED ||
         r->type == RECORD_EXPIRED || r->type == RECORD_REFUSED ||
         r->type == RECORD_UNDELIVERABLE) &&
        r->time_ms > v->last_turn_ms)
        v->last_turn_ms = r->time_ms;
    switch (r->type) {
    case RECORD_ACCEPTED:
        s_accepted(v, file, off, pos, r);
        break;
    case RECORD_DELIVERED:
        s_node(v, r->delivered.recipient);
        if (s_points_back(v, file, off, pos, "delivered",
                          r->delivered.accepted_index, r->delivered.msg_id))
            s_closed(v, file, off, pos, r->delivered.accepted_index,
                     r->delivered.msg_id, r->delivered.recipient, S_DELIVERED);
        break;
    case RECORD_EXPIRED: {
        bool back = s_points_back(v, file, off, pos, "expired",
                                  r->expired.accepted_index, r->expired.msg_id);
        for (size_t i = 0; i < r->expired.n_recipients; i++) {
            s_node(v, r->expired.recipients[i]);
            if (back)
                s_closed(v, file, off, pos, r->expired.accepted_index,
                         r->expired.msg_id, r->expired.recipients[i],
                         S_EXPIRED);
        }
        break;
    }
    case RECORD_UNDELIVERABLE:
        s_undeliverable(v, file, off, pos, r);
        break;
    case RECORD_REFUSED:
        s_node(v, r->refused.peer);
        break;
    case RECORD_ROSTER:
        s_roster(v, file, off, pos, r);
        break;
    case RECORD_RELAY:
        break;
    }
    if (v->cfg->record && !v->err &&
        (rc = v->cfg->record(v->cfg->record_arg, pos, r)) != RK_OK)
        v->err = rc;
    record_destroy(&r);
    s_check_checkpoints(v);
}

/* Looks for the first offset > off where a valid frame starts: sets
 * *next to it (n: none) and returns true; or returns false, with *next
 * where it stopped, when hashing the next candidate would exceed the run's
 * budget (v->scan_left). Only the check bytes tell a frame from junk and
 * they need the record's hash, so junk reading as a long length every few
 * bytes costs a long hash at each: unbounded, hours for one segment. */
static bool
s_next_valid(s_verify_t *v, const uint8_t *b, size_t n, size_t off,
             size_t *next) {
    uint64_t left = v->scan_left, at;
    int found = relay_log_find_frame(b, n, off, &left, &at);
    v->sum->scan_bytes += v->scan_left - left;
    v->scan_left = left;
    *next = (size_t)at;
    return found >= 0;
}

static void
s_progress(s_verify_t *v, uint64_t in_segment) {
    if (v->cfg->progress)
        v->cfg->progress(v->cfg->progress_arg, v->done_bytes + in_segment,
                         v->total_bytes, v->sum->records);
}

/* Reads the segment at path into v->seg, which is kept for the next
 * one: no fresh pages to fault in and clear for every segment. */
static int
s_read_segment(s_verify_t *v, const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    size_t got = 0, size;
    int rc = RK_ERR_IO;

    if (fd < 0)
        return errno == ENOENT ? RK_ERR_NOT_FOUND : RK_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto cleanup;
    size = (size_t)st.st_size;
    if (size + 1 > v->seg_cap) {
        uint8_t *nb = realloc(v->seg, size + 1);
        if (!nb) {
            rc = RK_ERR_NOMEM;
            goto cleanup;
        }
        v->seg = nb;
        v->seg_cap = size + 1;
    }
    while (got < size) {
        ssize_t r = read(fd, v->seg + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto cleanup;
        got += (size_t)r;
    }
    *len = got;
    rc = RK_OK;
cleanup:
    close(fd);
    return rc;
}

static int
s_segment(s_verify_t *v, const char *logdir, const char *name, bool last,
          char *file) {
    const uint8_t *b;
    uint8_t head[RELAY_LOG_HEADER_LEN], leaf[MERKLE_HASH_LEN];
    size_t n = 0, off;
    uint32_t rlen = 0;
    char *path = s_join(logdir, name);
    uint64_t first = s_name_number(name), pos = v->sum->records;
    int rc;

    if (!path)
        return RK_ERR_NOMEM;
    rc = s_read_segment(v, path, &n);
    free(path);
    if (rc != RK_OK) {
        s_problem(v, pos * 2, file, -1, (int64_t)pos, "cannot read: %s",
                  rk_strerror(rc));
        return rc == RK_ERR_NOMEM ? rc : RK_OK;
    }
    b = v->seg;
    v->sum->segments++;
    if (first != pos)
        s_problem(v, pos * 2, file, 0, (int64_t)pos,
                  "segment starts at index %" PRIu64 " but the segments "
                  "before it hold %" PRIu64
                  " records: a segment is missing or extra",
                  first, pos);
    memcpy(head, S_SEG_MAGIC, 8);
    rk_put_be64(head + 8, first);
    if (n < RELAY_LOG_HEADER_LEN) {
        if (last && memcmp(b, head, n) == 0) {
            v->sum->tail_bytes = n; /* a torn header: no record yet */
            snprintf(v->sum->tail_file, sizeof v->sum->tail_file, "%s", file);
        } else
            s_problem(v, pos * 2, file, 0, (int64_t)pos,
                      "segment of %zu bytes is shorter than its header", n);
        return RK_OK;
    }
    if (memcmp(b, S_SEG_MAGIC, 8) != 0)
        s_problem(v, pos * 2, file, 0, (int64_t)pos,
                  "bad segment header: not \"" S_SEG_MAGIC "\"");
    else if (memcmp(b + 8, head + 8, 8) != 0)
        s_problem(v, pos * 2, file, 8, (int64_t)pos,
                  "segment header says first index %" PRIu64
                  ", its name %" PRIu64,
                  rk_get_be64(b + 8), first);
    off = RELAY_LOG_HEADER_LEN;
    while (off < n && !s_done(v)) {
        const char *why = relay_log_frame_check(b, n, off, &rlen, leaf);
        size_t next;
        if (!why) {
            s_record(v, file, off, b + off + 4, rlen, leaf);
            off += RELAY_LOG_FRAME_OVERHEAD + rlen;
            if ((v->sum->records & 4095) == 0)
                s_progress(v, off);
            continue;
        }
        pos = v->sum->records;
        if (!s_next_valid(v, b, n, off, &next)) {
            /* Neither a torn tail nor damage with a known end: say that
             * the rest went unchecked rather than guess. */
            s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                      "bad frame: %s; the search for a valid frame after "
                      "it gave up at offset %zu, having hashed %" PRIu64
                      " MiB (this log's limit: the bytes read as long frame "
                      "lengths at many offsets, as junk made to stall an "
                      "audit does), so the %zu bytes from offset %zu to the "
                      "end of the segment are not checked",
                      why, next, v->sum->scan_bytes >> 20, n - off, off);
            break;
        }
        if (last && next == n) {
            v->sum->tail_bytes = n - off; /* a torn tail: never acked */
            v->sum->tail_offset = off;
            snprintf(v->sum->tail_file, sizeof v->sum->tail_file, "%s", file);
            break;
        }
        if (next == n)
            s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                      "bad frame: %s; %zu bytes to the end of a segment that "
                      "is not the last",
                      why, n - off);
        else
            s_problem(v, pos * 2, file, (int64_t)off, (int64_t)pos,
                      "bad frame: %s; a valid frame follows at offset %zu, "
                      "so this is damage, not a torn tail",
                      why, next);
        if (rlen && rlen <= RELAY_LOG_MAX_RECORD &&
            (uint64_t)n - off >= (uint64_t)rlen + RELAY_LOG_FRAME_OVERHEAD &&
            (off + RELAY_LOG_FRAME_OVERHEAD + rlen == n ||
             off + RELAY_LOG_FRAME_OVERHEAD + rlen == next)) {
            /* The length holds: one damaged record, positions stay. */
            merkle_leaf_hash(b + off + 4, rlen, leaf);
            s_record(v, file, off, b + off + 4, rlen, leaf);
            off += RELAY_LOG_FRAME_OVERHEAD + rlen;
        } else {
            off = next;
        }
    }
    /* Queued envelopes own copies of their bytes: the pool goes on
     * verifying while the next segment is read. */
    v->done_bytes += n;
    s_progress(v, 0);
    return RK_OK;
}

int
audit_verify(const audit_verify_config_t *cfg, audit_summary_t *sum, char *err,
             size_t errlen) {
    s_verify_t v;
    audit_summary_t local;
    char *logdir = NULL, **segs = NULL;
    char(*files)[48] = NULL;
    size_t n_segs = 0;
    int rc;

    if (err && errlen)
        err[0] = 0;
    if (!cfg || !cfg->dir || !cfg->relay || !cfg->coordinator) {
        snprintf(err, errlen,
                 "a log folder, a relay vkey and a coordinator "
                 "key are required");
        return RK_ERR_INVALID;
    }
    if (!sum)
        sum = &local;
    memset(sum, 0, sizeof *sum);
    memset(&v, 0, sizeof v);
    v.cfg = cfg;
    v.sum = sum;
    v.min_key = UINT64_MAX;
    v.threads = cfg->threads;
    if (!v.threads) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        v.threads = c > 0 ? (unsigned)c : 1;
    }
    v.tree = merkle_tree_new();
    logdir = s_join(cfg->dir, "log");
    if (!v.tree || !logdir || s_pool_start(&v) != RK_OK) {
        rc = RK_ERR_NOMEM;
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    rc = s_list(logdir, ".seg", &segs, &n_segs);
    if (rc != RK_OK) {
        snprintf(err, errlen, "%s: %s", logdir,
                 rc == RK_ERR_NOT_FOUND
                     ? "no such folder (LOGDIR must be a copy of the relay's "
                       "data folder)"
                     : strerror(errno));
        goto cleanup;
    }
    files = calloc(n_segs ? n_segs : 1, sizeof *files);
    if (!files) {
        rc = RK_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n_segs; i++) {
        char *p = s_join(logdir, segs[i]);
        struct stat st;
        snprintf(files[i], sizeof files[i], "log/%s", segs[i]);
        if (p && stat(p, &st) == 0) /* for the progress line */
            v.total_bytes += (uint64_t)st.st_size;
        free(p);
    }
    sum->bytes = v.total_bytes;
    v.scan_left = RELAY_LOG_SCAN_BASE + RELAY_LOG_SCAN_PER_BYTE * v.total_bytes;
    rc = s_load_checkpoints(&v);
    if (rc != RK_OK) {
        snprintf(err, errlen, "%s/checkpoints: %s", cfg->dir, rk_strerror(rc));
        goto cleanup;
    }
    s_check_checkpoints(&v); /* a checkpoint of size 0 */
    for (size_t i = 0; i < n_segs && !s_done(&v); i++) {
        rc = s_segment(&v, logdir, segs[i], i + 1 == n_segs, files[i]);
        if (rc != RK_OK) {
            snprintf(err, errlen, "%s: %s", files[i], rk_strerror(rc));
            goto cleanup;
        }
    }
    s_flush(&v);
    if (!s_done(&v)) {
        /* Checkpoints beyond the records read. */
        for (; v.next_cp < v.n_cps; v.next_cp++) {
            s_cp_t *c = &v.cps[v.next_cp];
            if (!c->ok)
                continue;
            if (sum->tail_bytes)
                s_problem(&v, s_cp_key(c->size), c->name, -1, -1,
                          "the log is shorter than this checkpoint: it "
                          "covers %" PRIu64 " records, the log holds %" PRIu64
                          " valid records and then a torn tail of %" PRIu64
                          " bytes in %s; records under a signed checkpoint "
                          "were truncated or damaged",
                          c->size, sum->records, sum->tail_bytes,
                          n_segs ? files[n_segs - 1] : "log/");
            else
                s_problem(&v, s_cp_key(c->size), c->name, -1, -1,
                          "the log is shorter than this checkpoint: it "
                          "covers %" PRIu64 " records, the log holds %" PRIu64
                          " (records under a signed checkpoint were "
                          "truncated)",
                          c->size, sum->records);
        }
    }
    s_open_expired(&v);
    if (!v.err && !v.have_good_cp && sum->records &&
        (cfg->all || !sum->problems)) {
        /* Framing, decoding and signatures hold without a checkpoint, but
         * records removed or changed before the copy would not show:
         * nothing the relay signed vouches for them. */
        if (!v.n_cps)
            s_problem(&v, UINT64_MAX, "checkpoints/", -1, -1,
                      "no checkpoint (the folder is missing or empty): "
                      "nothing signed by the relay key %s+%08" PRIx32
                      " covers the log, so records removed, altered or "
                      "reordered by whoever held it would not show; the "
                      "%" PRIu64 " records were checked for framing, "
                      "decoding and signatures only (copy checkpoints/ "
                      "with log/)",
                      cfg->relay->name, cfg->relay->key_id, sum->records);
        else
            s_problem(&v, UINT64_MAX, "checkpoints/", -1, -1,
                      "no checkpoint signed by the relay key %s+%08" PRIx32
                      " matches the log: nothing the relay signed vouches "
                      "for any of the %" PRIu64 " records",
                      cfg->relay->name, cfg->relay->key_id, sum->records);
    }
    if (v.err) {
        rc = v.err;
        snprintf(err, errlen, "%s", rk_strerror(rc));
        goto cleanup;
    }
    if (merkle_tree_root(v.tree, merkle_tree_size(v.tree), sum->root) !=
        RK_OK) {
        rc = RK_ERR_INVALID;
        goto cleanup;
    }
    sum->nodes = v.nodes.n;
    if (v.n_probs)
        qsort(v.probs, v.n_probs, sizeof *v.probs, s_problem_cmp);
    for (size_t i = 0; i < v.n_probs && cfg->problem; i++) {
        audit_problem_t p = {v.probs[i].file, v.probs[i].offset,
                             v.probs[i].index, v.probs[i].reason};
        cfg->problem(cfg->problem_arg, &p);
        if (!cfg->all)
            break;
    }
    rc = sum->problems ? RK_ERR_MISMATCH : RK_OK;
cleanup:
    s_pool_stop(&v);
    free(v.seg);
    for (size_t i = 0; i < v.n_probs; i++) {
        free(v.probs[i].file);
        free(v.probs[i].reason);
    }
    free(v.probs);
    free(v.cps);
    roster_destroy(&v.roster);
    roster_destroy(&v.prev_roster);
    s_map_free(&v.msgs, NULL);
    s_map_free(&v.nodes, NULL);
    s_map_free(&v.rcpts, NULL);
    free(v.exp);
    merkle_tree_destroy(&v.tree);
    s_free_names(segs, n_segs);
    free(files);
    free(logdir);
    return rc;
}

/* ---- timeline, export, replay ------------------------------------------ */

void
audit_event_clear(audit_event_t *ev) {
    if (!ev)
        return;
    free(ev->from);
    free(ev->to);
    free(ev->reason);
    memset(ev, 0, sizeof *ev);
}

/* "a,b,c" of n ids; malloc'd or NULL. */
static char *
s_join_ids(const char *const *ids, size_t n) {
    size_t len = 1;
    char *out, *p;
    for (size_t i = 0; i < n; i++)
        len += strlen(ids[i]) + 1;
    if (!(out = malloc(len)))
        return NULL;
    p = out;
    *p = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(ids[i]);
        if (i)
            *p++ = ',';
        memcpy(p, ids[i], l + 1);
        p += l;
    }
    return out;
}

static char *
s_dup(const char *s) {
    return strdup(s ? s : "");
}

int
audit_event_from_record(const record_t *r, audit_event_t *ev) {
    envelope_t *env = NULL;
    const char *one[1];
    memset(ev, 0, sizeof *ev);
    ev->index = r->index;
    ev->time_ms = r->time_ms;
    ev->type = r->type;
    switch (r->type) {
    case RECORD_ACCEPTED:
        ev->from = s_dup(r->accepted.sender);
        ev->size = r->accepted.envelope_len;
        if (envelope_decode(r->accepted.envelope, r->accepted.envelope_len,
                            &env, NULL) == RK_OK) {
            const envelope_header_t *h = envelope_header(env);
            ev->to = s_join_ids(h->recipients, h->n_recipients);
            snprintf(ev->kind, sizeof ev->kind, "%s",
                     envelope_kind_name(h->kind));
            rk_hex(ev->msg_id, h->msg_id, sizeof h->msg_id);
            if (h->exercise)
                snprintf(ev->drill, sizeof ev->drill, "%s", h->drill_id);
            ev->created_ms = h->created_ms;
            ev->reason = s_dup("");
            envelope_destroy(&env);
        } else {
            ev->to = s_dup("");
            ev->reason = s_dup("envelope does not decode");
        }
        break;
    case RECORD_DELIVERED:
        one[0] = r->delivered.recipient;
        ev->from = s_dup("");
        ev->to = s_join_ids(one, 1);
        rk_hex(ev->msg_id, r->delivered.msg_id, ENVELOPE_MSG_ID_LEN);
        ev->accepted_index = r->delivered.accepted_index;
        ev->reason = s_dup("");
        break;
    case RECORD_EXPIRED:
        ev->from = s_dup("");
        ev->to = s_join_ids(r->expired.recipients, r->expired.n_recipients);
        rk_hex(ev->msg_id, r->expired.msg_id, ENVELOPE_MSG_ID_LEN);
        ev->accepted_index = r->expired.accepted_index;
        ev->reason = s_dup("");
        break;
    case RECORD_UNDELIVERABLE:
        ev->from = s_dup("");
        ev->to = s_join_ids(r->undeliverable.recipients,
                            r->undeliverable.n_recipients);
        rk_hex(ev->msg_id, r->undeliverable.msg_id, ENVELOPE_MSG_ID_LEN);
        ev->accepted_index = r->undeliverable.accepted_index;
        if (asprintf(&ev->reason, "%s (roster serial %" PRIu64 ")",
                     r->undeliverable.reason,
                     r->undeliverable.roster_serial) < 0)
            ev->reason = NULL;
        break;
    case RECORD_REFUSED:
        ev->from = s_dup(r->refused.peer ? r->refused.peer
                                         : r->refused.claimed_sender);
        ev->to = s_dup("");
        if (r->refused.has_msg_id)
            rk_hex(ev->msg_id, r->refused.msg_id, ENVELOPE_MSG_ID_LEN);
        ev->size = r->refused.size;
        ev->code = (int)r->refused.code;
        snprintf(ev->code_name, sizeof ev->code_name, "%s",
                 frame_reject_name(r->refused.code));
        ev->reason = s_dup(r->refused.reason);
        break;
    case RECORD_ROSTER:
        ev->from = s_dup("");
        ev->to = s_dup("");
        ev->size = r->roster.signed_roster_len;
        if (asprintf(&ev->reason, "serial %" PRIu64, r->roster.serial) < 0)
            ev->reason = NULL;
        break;
    case RECORD_RELAY:
        ev->from = s_dup("");
        ev->to = s_dup("");
        if (asprintf(&ev->reason, "%s%s%s", r->relay.event,
                     r->relay.detail ? " " : "",
                     r->relay.detail ? r->relay.detail : "") < 0)
            ev->reason = NULL;
        break;
    }
    if (!ev->from || !ev->to || !ev->reason) {
        audit_event_clear(ev);
        return RK_ERR_NOMEM;
    }
    return RK_OK;
}

/* True when id is one of the comma-separated ids of list. */
static bool
s_list_has(const char *list, const char *id) {
    size_t l = strlen(id);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == l && memcmp(p, id, l) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

bool
audit_filter_match(const audit_filter_t *f, const audit_event_t *ev) {
    if (!f)
        return true;
    if (ev->time_ms < f->since_ms)
        return false;
    if (f->until_ms && ev->time_ms >= f->until_ms)
        return false;
    if (f->node && strcmp(ev->from, f->node) != 0 &&
        !s_list_has(ev->to, f->node))
        return false;
    if (f->kind && strcmp(ev->kind, envelope_kind_name(f->kind)) != 0)
        return false;
    if (f->drill && strcmp(ev->drill, f->drill) != 0)
        return false;
    if (f->has_msg) {
        char hex[2 * ENVELOPE_MSG_ID_LEN + 1];
        rk_hex(hex, f->msg_id, ENVELOPE_MSG_ID_LEN);
        if (strcmp(ev->msg_id, hex) != 0)
            return false;
    }
    return true;
}

/* What the timeline remembers of an accepted record, for the delivered
 * and expired records that point back at it. */
typedef struct {
    char *from;
    char kind[24];
    char drill[ENVELOPE_DRILL_ID_MAX + 1];
} s_ctx_t;

static void
s_ctx_free(void *p) {
    s_ctx_t *c = p;
    if (c)
        free(c->from);
    free(c);
}

typedef struct {
    const audit_filter_t *f;
    audit_event_fn cb;
    void *arg;
    s_map_t accepted; /* index -> s_ctx_t */
    const char *why;
    int rc;
} s_events_t;

static int
s_event_one(void *arg, uint64_t index, const uint8_t *rec, size_t len) {
    s_events_t *e = arg;
    record_t *r = NULL;
    audit_event_t ev;
    uint8_t k[16];
    int rc;
    (void)index;
    rc = record_decode(rec, len, &r, &e->why);
    if (rc != RK_OK) {
        e->rc = RK_ERR_MALFORMED;
        return RK_ERR_MALFORMED;
    }
    rc = audit_event_from_record(r, &ev);
    record_destroy(&r);
    if (rc != RK_OK) {
        e->rc = rc;
        return rc;
    }
    if (ev.type == RECORD_ACCEPTED) {
        s_ctx_t *c = calloc(1, sizeof *c);
        if (!c || !(c->from = strdup(ev.from))) {
            free(c);
            audit_event_clear(&ev);
            return e->rc = RK_ERR_NOMEM;
        }
        memcpy(c->kind, ev.kind, sizeof c->kind);
        memcpy(c->drill, ev.drill, sizeof c->drill);
        s_key_index(k, ev.index);
        rc = s_map_put(&e->accepted, k, 0, c, NULL);
        if (rc != RK_OK)
            s_ctx_free(c); /* a duplicate index: verify reports it */
        if (rc == RK_ERR_NOMEM) {
            audit_event_clear(&ev);
            return e->rc = rc;
        }
    } else if (ev.type == RECORD_DELIVERED || ev.type == RECORD_EXPIRED ||
               ev.type == RECORD_UNDELIVERABLE) {
        s_slot_t *slot;
        s_key_index(k, ev.accepted_index);
        if ((slot = s_map_find(&e->accepted, k)) != NULL) {
            s_ctx_t *c = slot->ptr;
            char *from = strdup(c->from);
            if (!from) {
                audit_event_clear(&ev);
                return e->rc = RK_ERR_NOMEM;
            }
            free(ev.from);
            ev.from = from;
            memcpy(ev.kind, c->kind, sizeof ev.kind);
            memcpy(ev.drill, c->drill, sizeof ev.drill);
        }
    }
    rc = audit_filter_match(e->f, &ev) ? e->cb(e->arg, &ev) : 0;
    audit_event_clear(&ev);
    return rc;
}

int
audit_events(const char *dir, const audit_filter_t *f, audit_event_fn cb,
             void *arg, char *err, size_t errlen) {
    relay_log_config_t lc;
    relay_log_t *log = NULL;
    s_events_t e;
    int rc;

    memset(&lc, 0, sizeof lc);
    lc.dir = dir;
    lc.origin = "audit"; /* read-only, no key: checkpoints are verify's */
    rc = relay_log_open(&lc, &log, NULL, err, errlen);
    if (rc != RK_OK)
        return rc;
    memset(&e, 0, sizeof e);
    e.f = f;
    e.cb = cb;
    e.arg = arg;
    rc = relay_log_foreach(log, 0, s_event_one, &e);
    if (rc != RK_OK && e.rc == RK_ERR_MALFORMED)
        snprintf(err, errlen, "a record does not decode: %s (run verify)",
                 e.why ? e.why : "malformed");
    else if (rc != RK_OK && e.rc)
        snprintf(err, errlen, "%s", rk_strerror(e.rc));
    else if (rc < 0 && !e.rc)
        snprintf(err, errlen, "reading the log: %s", rk_strerror(rc));
    s_map_free(&e.accepted, s_ctx_free);
    relay_log_close(&log);
    return rc;
}

char *
audit_event_line(const audit_event_t *ev) {
    char t[40], *out = NULL, *code = NULL;
    const char *type = record_type_name(ev->type);
    int n;
    rk_time_format(t, sizeof t, ev->time_ms);
    if (ev->type == RECORD_REFUSED) {
        if (asprintf(&code, " code=%s reason=\"%s\"", ev->code_name,
                     ev->reason) < 0)
            return NULL;
    } else if (ev->type == RECORD_ROSTER || ev->type == RECORD_RELAY) {
        n = asprintf(&out, "%s index=%" PRIu64 " %s %s size=%" PRIu64, t,
                     ev->index, type, ev->reason, ev->size);
        return n < 0 ? NULL : out;
    }
    n = asprintf(&out,
                 "%s index=%" PRIu64 " %s %s -> %s kind=%s msg=%s size=%" PRIu64
                 "%s%s%s",
                 t, ev->index, type, *ev->from ? ev->from : "-",
                 *ev->to ? ev->to : "-", *ev->kind ? ev->kind : "-",
                 *ev->msg_id ? ev->msg_id : "-", ev->size,
                 *ev->drill ? " drill=" : "", ev->drill, code ? code : "");
    free(code);
    return n < 0 ? NULL : out;
}

char *
audit_event_json(const audit_event_t *ev) {
    char t[40], *out;
    json_t *o = json_object(), *to = json_array();
    rk_time_format(t, sizeof t, ev->time_ms);
    for (const char *p = ev->to; o && to && p && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        json_array_append_new(to, json_stringn(p, n));
        p = e ? e + 1 : NULL;
    }
    if (!o || !to) {
        json_decref(o);
        json_decref(to);
        return NULL;
    }
    json_object_set_new(o, "time", json_string(t));
    json_object_set_new(o, "time_ms", json_integer((json_int_t)ev->time_ms));
    json_object_set_new(o, "index", json_integer((json_int_t)ev->index));
    json_object_set_new(o, "type", json_string(record_type_name(ev->type)));
    json_object_set_new(o, "from", json_string(ev->from));
    json_object_set_new(o, "to", to);
    json_object_set_new(o, "kind", json_string(ev->kind));
    json_object_set_new(o, "msg_id", json_string(ev->msg_id));
    json_object_set_new(o, "drill", json_string(ev->drill));
    json_object_set_new(o, "size", json_integer((json_int_t)ev->size));
    json_object_set_new(o, "created_ms",
                        json_integer((json_int_t)ev->created_ms));
    json_object_set_new(o, "accepted_index",
                        json_integer((json_int_t)ev->accepted_index));
    json_object_set_new(o, "code", json_string(ev->code_name));
    json_object_set_new(o, "reason", json_string(ev->reason));
    out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return out;
}

static const char *s_csv_columns[] = {
    "time",       "time_ms",        "index",  "type",  "from",
    "to",         "kind",           "msg_id", "drill", "size",
    "created_ms", "accepted_index", "code",   "reason"};

void
audit_csv_header(FILE *out) {
    for (size_t i = 0; i < sizeof s_csv_columns / sizeof *s_csv_columns; i++)
        fprintf(out, "%s%s", i ? "," : "", s_csv_columns[i]);
    fputs("\r\n", out);
}

char *
audit_csv_field(const char *s) {
    size_t n = 0, len = strlen(s);
    char *out, *p;
    if (strcspn(s, ",\"\r\n") == len)
        return strdup(s);
    for (const char *q = s; *q; q++)
        n += *q == '"' ? 2 : 1;
    if (!(out = malloc(n + 3)))
        return NULL;
    p = out;
    *p++ = '"';
    for (const char *q = s; *q; q++) {
        if (*q == '"')
            *p++ = '"';
        *p++ = *q;
    }
    *p++ = '"';
    *p = 0;
    return out;
}

int
audit_event_csv(const audit_event_t *ev, FILE *out) {
    char t[40], nums[4][24];
    const char *fields[14];
    rk_time_format(t, sizeof t, ev->time_ms);
    snprintf(nums[0], sizeof nums[0], "%" PRIu64, ev->time_ms);
    snprintf(nums[1], sizeof nums[1], "%" PRIu64, ev->index);
    snprintf(nums[2], sizeof nums[2], "%" PRIu64, ev->size);
    snprintf(nums[3], sizeof nums[3], "%" PRIu64, ev->created_ms);
    fields[0] = t;
    fields[1] = nums[0];
    fields[2] = nums[1];
    fields[3] = record_type_name(ev->type);
    fields[4] = ev->from;
    fields[5] = ev->to;
    fields[6] = ev->kind;
    fields[7] = ev->msg_id;
    fields[8] = ev->drill;
    fields[9] = nums[2];
    fields[10] = ev->created_ms ? nums[3] : "";
    fields[11] = NULL; /* accepted_index, below */
    fields[12] = ev->code_name;
    fields[13] = ev->reason;
    for (size_t i = 0; i < 14; i++) {
        char ai[24], *q;
        const char *f = fields[i];
        if (i == 11) {
            snprintf(ai, sizeof ai, "%" PRIu64, ev->accepted_index);
            f = ev->type == RECORD_DELIVERED || ev->type == RECORD_EXPIRED ||
                        ev->type == RECORD_UNDELIVERABLE
                    ? ai
                    : "";
        }
        if (!(q = audit_csv_field(f)))
            return RK_ERR_NOMEM;
        fprintf(out, "%s%s", i ? "," : "", q);
        free(q);
    }
    fputs("\r\n", out);
    return ferror(out) ? RK_ERR_IO : RK_OK;
}

int
audit_time_parse(const char *text, uint64_t *ms) {
    size_t n;
    if (!text || !*text)
        return RK_ERR_MALFORMED;
    n = strspn(text, "0123456789");
    if (n == strlen(text)) {
        uint64_t x = 0;
        if (n > 19)
            return RK_ERR_MALFORMED;
        for (size_t i = 0; i < n; i++)
            x = x * 10 + (uint64_t)(text[i] - '0');
        *ms = x;
        return RK_OK;
    }
    return rk_time_parse(text, ms) == RK_OK ? RK_OK : RK_ERR_MALFORMED;
}

int
audit_speed_parse(const char *text, double *factor) {
    char *end = NULL;
    double f;
    if (!text || !*text)
        return RK_ERR_MALFORMED;
    if (strcmp(text, "max") == 0) {
        *factor = 0;
        return RK_OK;
    }
    if (!((*text >= '0' && *text <= '9') || *text == '.'))
        return RK_ERR_MALFORMED;
    errno = 0;
    f = strtod(text, &end);
    if (errno || end == text || !(f > 0) || f > 1e9)
        return RK_ERR_MALFORMED;
    if (*end == 'x')
        end++;
    if (*end)
        return RK_ERR_MALFORMED;
    *factor = f;
    return RK_OK;
}

/* ---- proofs -------------------------------------------------------------- */

void
audit_proof_clear(audit_proof_t *p) {
    if (!p)
        return;
    free(p->extra);
    free(p->checkpoint);
    memset(p, 0, sizeof *p);
}

int
audit_proof_format(const audit_proof_t *p, char **out, size_t *len) {
    char *ex = NULL, *buf = NULL;
    size_t cap, n = 0;
    int w;
    if (!p || !out || !len || !p->checkpoint || !p->checkpoint_len ||
        p->checkpoint[p->checkpoint_len - 1] != '\n' ||
        p->n_hashes > MERKLE_MAX_PROOF || (p->extra && !p->extra_len))
        return RK_ERR_INVALID;
    if (p->extra && !(ex = rk_b64(p->extra, p->extra_len)))
        return RK_ERR_NOMEM;
    cap = sizeof AUDIT_PROOF_HEADER + (ex ? strlen(ex) + 8 : 0) + 32 +
          p->n_hashes * 46 + 2 + p->checkpoint_len + 1;
    if (!(buf = malloc(cap))) {
        free(ex);
        return RK_ERR_NOMEM;
    }
    w = snprintf(buf, cap, AUDIT_PROOF_HEADER "\n%s%s%sindex %" PRIu64 "\n",
                 ex ? "extra " : "", ex ? ex : "", ex ? "\n" : "", p->index);
    free(ex);
    n = (size_t)w;
    for (size_t i = 0; i < p->n_hashes; i++) {
        char *h = rk_b64(p->hashes[i], MERKLE_HASH_LEN);
        if (!h) {
            free(buf);
            return RK_ERR_NOMEM;
        }
        n += (size_t)snprintf(buf + n, cap - n, "%s\n", h);
        free(h);
    }
    buf[n++] = '\n';
    memcpy(buf + n, p->checkpoint, p->checkpoint_len);
    n += p->checkpoint_len;
    buf[n] = 0;
    *out = buf;
    *len = n;
    return RK_OK;
}

/* Decodes canonical base64 (what rk_b64 gives back) of at most cap bytes
 * into a fresh buffer. */
static int
s_unb64_canon(const char *text, size_t tlen, size_t cap, uint8_t **out,
              size_t *olen) {
    uint8_t *b;
    char *again;
    int rc;
    if (tlen == 0 || tlen % 4 || tlen / 4 * 3 > cap + 2)
        return RK_ERR_MALFORMED;
    if (!(b = malloc(tlen / 4 * 3)))
        return RK_ERR_NOMEM;
    rc = rk_unb64(b, tlen / 4 * 3, olen, text, tlen);
    if (rc != RK_OK || *olen > cap) {
        free(b);
        return RK_ERR_MALFORMED;
    }
    if (!(again = rk_b64(b, *olen))) {
        free(b);
        return RK_ERR_NOMEM;
    }
    rc = strlen(again) == tlen && memcmp(again, text, tlen) == 0
             ? RK_OK
             : RK_ERR_MALFORMED;
    free(again);
    if (rc != RK_OK)
        free(b);
    else
        *out = b;
    return rc;
}

#define S_WHY(s)                                                               \
    do {                                                                       \
        if (why)                                                               \
            *why = (s);                                                        \
        rc = RK_ERR_MALFORMED;                                                 \
        goto fail;                                                             \
    } while (0)

int
audit_proof_parse(const uint8_t *text, size_t len, audit_proof_t *out,
                  const char **why) {
    const char *p = (const char *)text, *end = p + len, *nl;
    audit_proof_t r;
    size_t l;
    int rc;

    if (out)
        memset(out, 0, sizeof *out);
    if (!text || !out) {
        if (why)
            *why = "no proof";
        return RK_ERR_MALFORMED;
    }
    memset(&r, 0, sizeof r);
    if (len > AUDIT_PROOF_MAX_BYTES) {
        if (why)
            *why = "proof file too large";
        return RK_ERR_TOO_LARGE;
    }
#define S_LINE()                                                               \
    (nl = memchr(p, '\n', (size_t)(end - p)), l = nl ? (size_t)(nl - p) : 0, nl)
    if (!S_LINE() || l != strlen(AUDIT_PROOF_HEADER) ||
        memcmp(p, AUDIT_PROOF_HEADER, l) != 0)
        S_WHY("the first line is not " AUDIT_PROOF_HEADER);
    p = nl + 1;
    if (!S_LINE())
        S_WHY("no index line");
    if (l >= 6 && memcmp(p, "extra ", 6) == 0) {
        rc = s_unb64_canon(p + 6, l - 6, RELAY_LOG_MAX_RECORD, &r.extra,
                           &r.extra_len);
        if (rc == RK_ERR_NOMEM)
            goto fail;
        if (rc != RK_OK || r.extra_len == 0)
            S_WHY("the extra line is not canonical base64 of 1 byte to 1 "
                  "MiB + 8 KiB");
        p = nl + 1;
        if (!S_LINE())
            S_WHY("no index line");
    }
    if (l < 7 || memcmp(p, "index ", 6) != 0)
        S_WHY("no index line after the header (and extra line)");
    if (p[6] == '0' && l > 7)
        S_WHY("the index has a leading zero");
    for (size_t i = 6; i < l; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9)
            S_WHY("the index is not a decimal number");
        if (r.index > (UINT64_MAX - d) / 10)
            S_WHY("the index does not fit 64 bits");
        r.index = r.index * 10 + d;
    }
    p = nl + 1;
    for (;;) {
        uint8_t *h = NULL;
        size_t hl = 0;
        if (!S_LINE())
            S_WHY("no empty line before the checkpoint");
        if (l == 0)
            break;
        if (r.n_hashes == MERKLE_MAX_PROOF)
            S_WHY("more than 64 proof hashes");
        rc = s_unb64_canon(p, l, MERKLE_HASH_LEN, &h, &hl);
        if (rc == RK_ERR_NOMEM)
            goto fail;
        if (rc != RK_OK || hl != MERKLE_HASH_LEN) {
            free(h);
            S_WHY("a proof line is not canonical base64 of 32 bytes");
        }
        memcpy(r.hashes[r.n_hashes++], h, MERKLE_HASH_LEN);
        free(h);
        p = nl + 1;
    }
#undef S_LINE
    p = nl + 1;
    if (p == end)
        S_WHY("no checkpoint after the empty line");
    if (end[-1] != '\n')
        S_WHY("the checkpoint does not end in a newline");
    r.checkpoint_len = (size_t)(end - p);
    if (!(r.checkpoint = malloc(r.checkpoint_len + 1))) {
        rc = RK_ERR_NOMEM;
        goto fail;
    }
    memcpy(r.checkpoint, p, r.checkpoint_len);
    r.checkpoint[r.checkpoint_len] = 0;
    *out = r;
    return RK_OK;
fail:
    audit_proof_clear(&r);
    return rc;
}
#undef S_WHY

int
audit_proof_check(const audit_proof_t *p, const note_verifier_t *relay,
                  checkpoint_t *cp_out, const char **why) {
    checkpoint_t cp;
    uint8_t leaf[MERKLE_HASH_LEN];
    int rc;
    if (!p || !relay || !p->checkpoint)
        return RK_ERR_INVALID;
    rc = checkpoint_open((const uint8_t *)p->checkpoint, p->checkpoint_len,
                         relay, relay->name, &cp, why);
    if (rc != RK_OK) {
        if (why && rc == RK_ERR_UNKNOWN_KEY)
            *why = "the checkpoint is not signed by the relay key";
        else if (why && rc == RK_ERR_BAD_SIGNATURE)
            *why = "the relay's signature on the checkpoint does not verify";
        else if (why && rc == RK_ERR_MISMATCH)
            *why = "the checkpoint is of another log (origin)";
        return rc;
    }
    if (!p->extra) {
        if (why)
            *why = "the proof has no extra line (the logged record bytes)";
        return RK_ERR_MALFORMED;
    }
    merkle_leaf_hash(p->extra, p->extra_len, leaf);
    rc = merkle_verify_inclusion(p->index, cp.size, leaf,
                                 (const uint8_t *)p->hashes, p->n_hashes,
                                 cp.root);
    if (rc == RK_ERR_INVALID && why)
        *why = p->index >= cp.size
                   ? "the index is outside the checkpoint's tree"
                   : "the number of proof hashes is wrong for this index "
                     "and tree size";
    else if (rc != RK_OK && why)
        *why = "the record is not in the checkpoint's tree at this index "
               "(the proof, the index or the record was changed)";
    if (rc == RK_OK && cp_out)
        *cp_out = cp;
    return rc;
}

static int
s_open_checked(const char *dir, const note_verifier_t *relay, relay_log_t **log,
               char *err, size_t errlen) {
    relay_log_config_t lc;
    memset(&lc, 0, sizeof lc);
    lc.dir = dir;
    lc.origin = relay->name;
    lc.public_key = relay->pk;
    return relay_log_open(&lc, log, NULL, err, errlen);
}

typedef struct {
    const uint8_t *msg_id;
    uint64_t index;
    bool found;
} s_find_t;

static int
s_find_one(void *arg, uint64_t index, const uint8_t *rec, size_t len) {
    s_find_t *f = arg;
    record_t *r = NULL;
    envelope_t *env = NULL;
    if (record_decode(rec, len, &r, NULL) != RK_OK)
        return RK_ERR_MALFORMED;
    if (r->type == RECORD_ACCEPTED &&
        envelope_decode(r->accepted.envelope, r->accepted.envelope_len, &env,
                        NULL) == RK_OK &&
        memcmp(envelope_header(env)->msg_id, f->msg_id, ENVELOPE_MSG_ID_LEN) ==
            0) {
        f->found = true;
        f->index = index;
    }
    envelope_destroy(&env);
    record_destroy(&r);
    return f->found ? 1 : 0;
}

int
audit_prove(const char *dir, const note_verifier_t *relay,
            const uint8_t msg_id[ENVELOPE_MSG_ID_LEN], audit_proof_t *out,
            char *err, size_t errlen) {
    relay_log_t *log = NULL;
    s_find_t f = {msg_id, 0, false};
    audit_proof_t p;
    checkpoint_t cp;
    char hex[2 * ENVELOPE_MSG_ID_LEN + 1];
    size_t n = 0;
    int rc;

    memset(&p, 0, sizeof p);
    memset(out, 0, sizeof *out);
    rk_hex(hex, msg_id, ENVELOPE_MSG_ID_LEN);
    if ((rc = s_open_checked(dir, relay, &log, err, errlen)) != RK_OK)
        return rc;
    rc = relay_log_foreach(log, 0, s_find_one, &f);
    if (rc < 0) {
        snprintf(err, errlen, "reading the log: %s (run verify)",
                 rk_strerror(rc));
        goto cleanup;
    }
    if (!f.found) {
        snprintf(err, errlen, "no accepted record of msg %s in %s", hex, dir);
        rc = RK_ERR_NOT_FOUND;
        goto cleanup;
    }
    rc =
        relay_log_latest_checkpoint(log, &p.checkpoint, &p.checkpoint_len, &cp);
    if (rc != RK_OK) {
        snprintf(err, errlen, "%s holds no checkpoint", dir);
        goto cleanup;
    }
    if (f.index >= cp.size) {
        snprintf(err, errlen,
                 "msg %s is record %" PRIu64 " but the newest checkpoint "
                 "covers only %" PRIu64 " records",
                 hex, f.index, cp.size);
        rc = RK_ERR_NOT_FOUND;
        goto cleanup;
    }
    rc = relay_log_inclusion_proof(log, f.index, cp.size, (uint8_t *)p.hashes,
                                   &n);
    if (rc == RK_OK)
        rc = relay_log_read(log, f.index, &p.extra, &p.extra_len);
    if (rc != RK_OK) {
        snprintf(err, errlen, "record %" PRIu64 ": %s", f.index,
                 rk_strerror(rc));
        goto cleanup;
    }
    p.n_hashes = n;
    p.index = f.index;
    *out = p;
    memset(&p, 0, sizeof p);
cleanup:
    audit_proof_clear(&p);
    relay_log_close(&log);
    return rc;
}

int
audit_consistency(const char *dir, const note_verifier_t *relay,
                  const uint8_t *old_note, size_t old_len,
                  const uint8_t *new_note, size_t new_len, checkpoint_t *old_cp,
                  checkpoint_t *new_cp, uint8_t *proof, size_t *n, char *err,
                  size_t errlen) {
    checkpoint_t a, b;
    relay_log_t *log = NULL;
    const char *why = NULL;
    int rc;

    *n = 0;
    rc = checkpoint_open(old_note, old_len, relay, relay->name, &a, &why);
    if (rc != RK_OK) {
        snprintf(err, errlen, "old checkpoint: %s",
                 rc == RK_ERR_UNKNOWN_KEY ? "not signed by the relay key"
                 : why                    ? why
                                          : rk_strerror(rc));
        return rc;
    }
    rc = checkpoint_open(new_note, new_len, relay, relay->name, &b, &why);
    if (rc != RK_OK) {
        snprintf(err, errlen, "new checkpoint: %s",
                 rc == RK_ERR_UNKNOWN_KEY ? "not signed by the relay key"
                 : why                    ? why
                                          : rk_strerror(rc));
        return rc;
    }
    if (old_cp)
        *old_cp = a;
    if (new_cp)
        *new_cp = b;
    if (a.size > b.size) {
        snprintf(err, errlen,
                 "the old checkpoint (size %" PRIu64 ") is larger than the "
                 "new one (size %" PRIu64 "): swap them",
                 a.size, b.size);
        return RK_ERR_INVALID;
    }
    if (a.size == 0) {
        uint8_t empty[MERKLE_HASH_LEN];
        merkle_empty_root(empty);
        if (sodium_memcmp(empty, a.root, sizeof empty) != 0) {
            snprintf(err, errlen,
                     "the old checkpoint of size 0 does not "
                     "carry the empty tree's root");
            return RK_ERR_MISMATCH;
        }
        return RK_OK; /* every tree extends the empty one */
    }
    if ((rc = s_open_checked(dir, relay, &log, err, errlen)) != RK_OK)
        return rc;
    if (b.size > relay_log_size(log)) {
        snprintf(err, errlen,
                 "the new checkpoint covers %" PRIu64 " records but the log "
                 "holds %" PRIu64,
                 b.size, relay_log_size(log));
        rc = RK_ERR_INVALID;
        goto cleanup;
    }
    rc = relay_log_consistency_proof(log, a.size, b.size, proof, n);
    if (rc == RK_OK)
        rc = merkle_verify_consistency(a.size, b.size, a.root, b.root, proof,
                                       *n);
    if (rc != RK_OK)
        snprintf(err, errlen,
                 "not consistent: the tree of size %" PRIu64
                 " signed in the new checkpoint does not extend the one of "
                 "size %" PRIu64 " signed in the old (%s)",
                 b.size, a.size, rk_strerror(rc));
cleanup:
    relay_log_close(&log);
    return rc;
}

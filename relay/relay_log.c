/* relay_log: segment files of framed records, group commit with an
 * fsync gate, recovery with tail cutting, the RFC 6962 tree over the
 * records and signed checkpoints. Records are opaque bytes here; the file
 * format is docs/LOG-FORMAT.md. */
#include "relay_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "note.h"
#include "rk_log.h"
#include "rk_util.h"

#define S_MAGIC "RNRKLOG1"
#define S_MAGIC_LEN 8
#define S_DIGITS 20
#define S_SEG_EXT ".seg"
#define S_TMP_EXT ".seg.tmp"
#define S_NOTE_EXT ".note"
#define S_CHECK_LEN 4 /* leaf hash bytes after each record */

typedef struct {
    uint64_t first; /* index of its first record */
    uint64_t bytes; /* its length as far as the log knows */
} s_seg_t;

struct relay_log {
    char *log_dir;                          /* DIR/log */
    char *cp_dir;                           /* DIR/checkpoints */
    char origin[CHECKPOINT_ORIGIN_MAX + 1]; /* checkpoint origin line */
    char key_name[NOTE_NAME_MAX + 1];       /* note key name */
    const uint8_t *sk;        /* borrowed secret key; NULL: read-only */
    note_verifier_t verifier; /* the relay's own public key */
    bool have_verifier;       /* false: read-only without a key */
    /* earlier keys of the signer, borrowed during open only (cfg) */
    const uint8_t (*earlier_keys)[32];
    size_t n_earlier_keys;    /* how many */
    uint64_t segment_size;    /* rotate past this */
    relay_log_fault_fn fault; /* chaos hook or NULL */
    void *fault_arg;          /* its argument */
    int lock_fd;              /* holds the flock on DIR/lock, or -1 */
    merkle_tree_t *tree;      /* one leaf per appended record */
    uint64_t *offsets;        /* byte offset of each record's frame */
    uint64_t offsets_cap;     /* slots allocated in offsets */
    uint64_t size;            /* records appended */
    uint64_t durable;         /* records known to be on disk */
    s_seg_t *segs;            /* segments in order */
    size_t n_segs;            /* segments in use */
    size_t segs_cap;          /* slots allocated in segs */
    int wfd;                  /* last segment, read-write; or -1 */
    uint64_t durable_bytes;   /* last segment's length at the last sync */
    int rfd;                  /* cached read fd of segment rseg, or -1 */
    size_t rseg;              /* which segment rfd reads */
    /* Framed records appended since the last write-out: written with
     * one pwrite at the next sync (or when wbuf_max is reached), to the
     * last segment at wbuf_off. */
    uint8_t *wbuf;
    size_t wlen, wcap;
    uint64_t wbuf_off;
    size_t wbuf_max;         /* write out before the buffer grows past this */
    int werr;                /* a write-out failed: errno; appends refused until
                                the next sync rolls the unsynced records back */
    bool broken;             /* a failure could not be undone */
    bool cut_pending;        /* last segment longer than the log: cut it */
    int leaves_fd;           /* DIR/log/leaves (write mode), or -1 */
    uint64_t leaves_written; /* leaf hashes in that file */
    const uint8_t *side;     /* while opening: the file's leaf hashes */
    uint64_t n_side;         /* how many of them can still be used */
    uint64_t side_used;      /* records whose hash came from the file */
    bool trust_leaves;       /* use the file at all */
    relay_log_scrub_t *scrub; /* the records to hash again, or NULL */
    char *cp_note;            /* newest signed checkpoint, or NULL */
    size_t cp_len;            /* its length */
    checkpoint_t cp;          /* its parsed body */
};

static void s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
s_err(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Runs the fault hook for op; -1 (errno set) means fail this call. */
static int
s_fault(const relay_log_t *self, const char *op) {
    if (self->fault && self->fault(self->fault_arg, op) != 0) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

static char *
s_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

static void
s_seg_name(char *out, size_t cap, uint64_t first, const char *ext) {
    snprintf(out, cap, "%020" PRIu64 "%s", first, ext);
}

static void
s_seg_path(const relay_log_t *self, char *out, size_t cap, uint64_t first,
           const char *ext) {
    snprintf(out, cap, "%s/%020" PRIu64 "%s", self->log_dir, first, ext);
}

/* Parses "<20 digits><ext>" into *num. */
static bool
s_parse_name(const char *name, const char *ext, uint64_t *num) {
    uint64_t v = 0;
    size_t i;
    if (strlen(name) != S_DIGITS + strlen(ext) ||
        strcmp(name + S_DIGITS, ext) != 0)
        return false;
    for (i = 0; i < S_DIGITS; i++) {
        unsigned d;
        if (name[i] < '0' || name[i] > '9')
            return false;
        d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *num = v;
    return true;
}

static int
s_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Numbers of the files "<20 digits><ext>" in dir, sorted. *nums is
 * malloc'd (may be NULL when *n is 0). When tmp_ext is not NULL, files
 * named "<20 digits><tmp_ext>" are removed (leftovers of a crash). */
static int
s_list(const char *dir, const char *ext, const char *tmp_ext, uint64_t **nums,
       size_t *n) {
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t *v = NULL, num;
    size_t cnt = 0, cap = 0;

    *nums = NULL;
    *n = 0;
    if (!d)
        return errno == ENOENT ? RK_ERR_NOT_FOUND : RK_ERR_IO;
    while ((e = readdir(d)) != NULL) {
        if (tmp_ext && s_parse_name(e->d_name, tmp_ext, &num)) {
            char *p = s_join(dir, e->d_name);
            if (p && unlink(p) == 0)
                log_warn("event=log_tmp_removed file=%s", e->d_name);
            free(p);
            continue;
        }
        if (!s_parse_name(e->d_name, ext, &num))
            continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                free(v);
                closedir(d);
                return RK_ERR_NOMEM;
            }
            v = nv;
            cap = nc;
        }
        v[cnt++] = num;
    }
    closedir(d);
    if (cnt)
        qsort(v, cnt, sizeof *v, s_cmp_u64);
    *nums = v;
    *n = cnt;
    return RK_OK;
}

static int
s_fsync_dir(const relay_log_t *self, const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0)
        return -1;
    if (s_fault(self, "fsync") != 0 || fsync(fd) != 0)
        rc = -1;
    close(fd);
    return rc;
}

/* Writes all of buf at off, through the fault hook. 0 or -1 (errno). */
static int
s_pwrite_all(const relay_log_t *self, int fd, const uint8_t *buf, size_t len,
             uint64_t off) {
    size_t done = 0;
    while (done < len) {
        ssize_t w;
        if (s_fault(self, "write") != 0)
            return -1;
        w = pwrite(fd, buf + done, len - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

static int
s_pread_all(int fd, uint8_t *buf, size_t len, uint64_t off) {
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return RK_ERR_IO;
        if (r == 0)
            return RK_ERR_MALFORMED; /* the file is shorter than the log */
        done += (size_t)r;
    }
    return RK_OK;
}

static int
s_reserve(relay_log_t *self, uint64_t n) {
    uint64_t nc;
    uint64_t *no;
    if (n <= self->offsets_cap)
        return RK_OK;
    nc = self->offsets_cap ? self->offsets_cap * 2 : 1024;
    while (nc < n)
        nc *= 2;
    if (nc > SIZE_MAX / sizeof *no)
        return RK_ERR_NOMEM;
    no = realloc(self->offsets, (size_t)nc * sizeof *no);
    if (!no)
        return RK_ERR_NOMEM;
    self->offsets = no;
    self->offsets_cap = nc;
    return RK_OK;
}

static int
s_push_seg(relay_log_t *self, uint64_t first, uint64_t bytes) {
    if (self->n_segs == self->segs_cap) {
        size_t nc = self->segs_cap ? self->segs_cap * 2 : 16;
        s_seg_t *ns = realloc(self->segs, nc * sizeof *ns);
        if (!ns)
            return RK_ERR_NOMEM;
        self->segs = ns;
        self->segs_cap = nc;
    }
    self->segs[self->n_segs].first = first;
    self->segs[self->n_segs].bytes = bytes;
    self->n_segs++;
    return RK_OK;
}

/* Checks the frame at off of a mapped segment of size bytes. On success
 * *rec_len and leaf are set and NULL is returned; otherwise a sentence
 * saying what is wrong (*rec_len set when the length field was read). */
static const char *
s_frame_check(relay_log_t *self, const uint8_t *map, uint64_t size,
              uint64_t off, uint32_t *rec_len, uint8_t leaf[MERKLE_HASH_LEN]) {
    uint32_t len;
    *rec_len = 0;
    if (size - off < 4)
        return "a partial length field";
    len = rk_get_be32(map + off);
    *rec_len = len;
    if (len == 0)
        return "a record length of 0";
    if (len > RELAY_LOG_MAX_RECORD)
        return "a record length over the maximum";
    if (size - off < (uint64_t)len + RELAY_LOG_FRAME_OVERHEAD)
        return "the record runs past the end of the segment";
    if (self && self->size < self->n_side &&
        memcmp(self->side + self->size * MERKLE_HASH_LEN, map + off + 4 + len,
               S_CHECK_LEN) == 0) {
        /* The leaves file kept this record's hash when it was synced;
         * the check bytes agree, and the newest checkpoint's root will
         * vouch for it (relay_log_open rescans without the file if not). */
        memcpy(leaf, self->side + self->size * MERKLE_HASH_LEN,
               MERKLE_HASH_LEN);
        self->side_used++;
        return NULL;
    }
    if (self)
        self->n_side = 0; /* from the first disagreement on, hash all */
    merkle_leaf_hash(map + off + 4, len, leaf);
    if (memcmp(leaf, map + off + 4 + len, S_CHECK_LEN) != 0)
        return "its check bytes do not match the record (damaged or altered)";
    return NULL;
}

const char *
relay_log_frame_check(const uint8_t *buf, uint64_t size, uint64_t off,
                      uint32_t *rec_len, uint8_t leaf[MERKLE_HASH_LEN]) {
    return s_frame_check(NULL, buf, size, off, rec_len, leaf);
}

int
relay_log_find_frame(const uint8_t *buf, uint64_t size, uint64_t after,
                     uint64_t *budget, uint64_t *at) {
    uint8_t leaf[MERKLE_HASH_LEN];
    uint32_t l;
    for (uint64_t p = after + 1; p + RELAY_LOG_FRAME_OVERHEAD + 1 <= size;
         p++) {
        uint32_t cand = rk_get_be32(buf + p);
        /* Cheap filters first: most garbage fails on the length alone. */
        if (cand == 0 || cand > RELAY_LOG_MAX_RECORD ||
            size - p < (uint64_t)cand + RELAY_LOG_FRAME_OVERHEAD)
            continue;
        if (*budget < cand) {
            *at = p;
            return -1;
        }
        *budget -= cand;
        if (s_frame_check(NULL, buf, size, p, &l, leaf) == NULL) {
            *at = p;
            return 1;
        }
    }
    *at = size;
    return 0;
}

/* Whether a valid frame starts anywhere after a bad frame at bad (whose
 * length field said len): 1 when one does (the damage is not a torn
 * tail), 0 when none does, -1 when the search gave up past its budget of
 * hashing (RELAY_LOG_SCAN_BASE, RELAY_LOG_SCAN_PER_BYTE). The frame the length
 * points to is tried first; then every later byte offset. */
static int
s_valid_after(const uint8_t *map, uint64_t size, uint64_t bad, uint32_t len) {
    uint8_t leaf[MERKLE_HASH_LEN];
    uint32_t l;
    uint64_t at,
        budget = RELAY_LOG_SCAN_BASE + RELAY_LOG_SCAN_PER_BYTE * (size - bad);

    if (len >= 1 && len <= RELAY_LOG_MAX_RECORD &&
        size - bad > (uint64_t)len + RELAY_LOG_FRAME_OVERHEAD &&
        s_frame_check(NULL, map, size, bad + RELAY_LOG_FRAME_OVERHEAD + len, &l,
                      leaf) == NULL)
        return 1;
    return relay_log_find_frame(map, size, bad, &budget, &at);
}

/* Reads segment file number first (the records from self->size on) into
 * the tree and offsets. For the last segment a bad frame with nothing
 * valid after it sets *cut_at to its offset (0: a torn header, remove the
 * file); otherwise *cut_at is UINT64_MAX. */
static int
s_scan_segment(relay_log_t *self, uint64_t first, bool last, uint64_t *cut_at,
               char *err, size_t errlen) {
    char name[64], path[4096];
    uint8_t hdr[RELAY_LOG_HEADER_LEN];
    uint8_t leaf[MERKLE_HASH_LEN];
    struct stat st;
    uint8_t *map = NULL;
    uint64_t size, off;
    int fd, rc;

    *cut_at = UINT64_MAX;
    s_seg_name(name, sizeof name, first, S_SEG_EXT);
    s_seg_path(self, path, sizeof path, first, S_SEG_EXT);
    if (first != self->size) {
        s_err(err, errlen,
              "log/%s: segment starts at record %" PRIu64
              " but the segments before it end at record %" PRIu64
              " (a segment is missing or out of place)",
              name, first, self->size);
        return RK_ERR_MALFORMED;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        s_err(err, errlen, "log/%s: cannot open: %s", name, strerror(errno));
        return RK_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        s_err(err, errlen, "log/%s: not a regular file", name);
        close(fd);
        return RK_ERR_IO;
    }
    size = (uint64_t)st.st_size;
    memcpy(hdr, S_MAGIC, S_MAGIC_LEN);
    rk_put_be64(hdr + S_MAGIC_LEN, first);
    if (size < RELAY_LOG_HEADER_LEN) {
        uint8_t got[RELAY_LOG_HEADER_LEN];
        rc = s_pread_all(fd, got, (size_t)size, 0);
        close(fd);
        if (rc == RK_OK && last && memcmp(got, hdr, (size_t)size) == 0) {
            *cut_at = 0; /* a segment whose creation was cut short */
            return s_push_seg(self, first, size);
        }
        s_err(err, errlen,
              "log/%s: offset 0: record %" PRIu64 ": segment header is %" PRIu64
              " bytes, not 16",
              name, first, size);
        return RK_ERR_MALFORMED;
    }
    map =
        mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        s_err(err, errlen, "log/%s: mmap: %s", name, strerror(errno));
        return RK_ERR_IO;
    }
    if (memcmp(map, S_MAGIC, S_MAGIC_LEN) != 0) {
        bool other = memcmp(map, S_MAGIC, S_MAGIC_LEN - 1) == 0;
        s_err(err, errlen, "log/%s: offset 0: %s", name,
              other ? "unsupported segment version"
                    : "not a renraku log segment (bad magic)");
        rc = other ? RK_ERR_VERSION : RK_ERR_MALFORMED;
        goto cleanup;
    }
    if (rk_get_be64(map + S_MAGIC_LEN) != first) {
        s_err(err, errlen,
              "log/%s: offset 8: header says first record %" PRIu64
              ", file name says %" PRIu64,
              name, rk_get_be64(map + S_MAGIC_LEN), first);
        rc = RK_ERR_MALFORMED;
        goto cleanup;
    }
    off = RELAY_LOG_HEADER_LEN;
    while (off < size) {
        uint32_t len;
        const char *why = s_frame_check(self, map, size, off, &len, leaf);
        if (why) {
            int after = last ? s_valid_after(map, size, off, len) : 1;
            if (after == 0) {
                *cut_at = off;
                break;
            }
            if (after < 0)
                s_err(err, errlen,
                      "log/%s: offset %" PRIu64 ": record %" PRIu64
                      ": %s, and the %" PRIu64
                      " bytes after it are too costly to search for valid "
                      "records (not cut: they may hold some)",
                      name, off, self->size, why, size - off);
            else
                s_err(err, errlen,
                      "log/%s: offset %" PRIu64 ": record %" PRIu64
                      ": %s, and valid data follows (corruption before the "
                      "tail)",
                      name, off, self->size, why);
            rc = RK_ERR_MALFORMED;
            goto cleanup;
        }
        if ((rc = s_reserve(self, self->size + 1)) != RK_OK ||
            (rc = merkle_tree_append(self->tree, leaf)) != RK_OK) {
            s_err(err, errlen, "out of memory reading the log");
            goto cleanup;
        }
        self->offsets[self->size++] = off;
        off += (uint64_t)len + RELAY_LOG_FRAME_OVERHEAD;
    }
    rc = s_push_seg(self, first, size);
cleanup:
    munmap(map, (size_t)size);
    return rc;
}

/* Rebuilds the tree from the first n leaves of the current one. */
static int
s_tree_truncate(relay_log_t *self, uint64_t n) {
    merkle_tree_t *t;
    uint8_t leaf[MERKLE_HASH_LEN];
    uint64_t i;
    if (merkle_tree_size(self->tree) == n)
        return RK_OK;
    t = merkle_tree_new();
    if (!t)
        return RK_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        if (merkle_tree_leaf(self->tree, i, leaf) != RK_OK ||
            merkle_tree_append(t, leaf) != RK_OK) {
            merkle_tree_destroy(&t);
            return RK_ERR_NOMEM;
        }
    }
    merkle_tree_destroy(&self->tree);
    self->tree = t;
    return RK_OK;
}

/* Loads and checks the newest checkpoint against the records read. */
static int
s_load_checkpoint(relay_log_t *self, char *err, size_t errlen) {
    uint64_t *nums = NULL, num;
    size_t n = 0, len = 0;
    uint8_t *data = NULL;
    uint8_t root[MERKLE_HASH_LEN];
    char path[4096], name[64];
    const char *why = NULL;
    checkpoint_t cp;
    int rc = s_list(self->cp_dir, S_NOTE_EXT, NULL, &nums, &n);

    if (rc == RK_ERR_NOT_FOUND && !self->sk)
        return RK_OK;
    if (rc != RK_OK) {
        s_err(err, errlen, "checkpoints/: cannot list: %s", rk_strerror(rc));
        return rc;
    }
    if (n == 0)
        goto cleanup;
    num = nums[n - 1];
    s_seg_name(name, sizeof name, num, S_NOTE_EXT);
    snprintf(path, sizeof path, "%s/%s", self->cp_dir, name);
    rc = rk_read_file(path, NOTE_MAX_BYTES, &data, &len);
    if (rc != RK_OK) {
        s_err(err, errlen, "checkpoints/%s: cannot read: %s", name,
              rk_strerror(rc));
        goto cleanup;
    }
    rc = checkpoint_open(data, len, &self->verifier, self->origin, &cp, &why);
    for (size_t k = 0; rc == RK_ERR_UNKNOWN_KEY && k < self->n_earlier_keys;
         k++) {
        note_verifier_t ev;
        snprintf(ev.name, sizeof ev.name, "%s", self->key_name);
        memcpy(ev.pk, self->earlier_keys[k], 32);
        ev.key_id = note_key_id(ev.name, ev.pk);
        why = NULL;
        rc = checkpoint_open(data, len, &ev, self->origin, &cp, &why);
        if (rc == RK_OK)
            log_info("event=checkpoint_earlier_key file=checkpoints/%s "
                     "key=%s+%08" PRIx32 " reason=\"signed by an earlier key "
                     "of this relay (a rotation); the next checkpoint is "
                     "signed by the current one\"",
                     name, ev.name, ev.key_id);
    }
    if (rc == RK_ERR_UNKNOWN_KEY && self->sk) {
        /* The relay itself: most likely its keys were rotated and the
         * roster no longer vouches for the previous one. */
        s_err(err, errlen,
              "checkpoints/%s: refused: signed by none of this relay's keys "
              "(not by --key's %s+%08" PRIx32 ", nor by the %zu other key "
              "sets the roster lists as active for it, from their not_before "
              "on). After a rotation it is signed by the previous key: the "
              "roster must still list that key set as active (a past "
              "not_after is fine; a revoked or suspended one, or one whose "
              "not_before is still to come, is not trusted). See "
              "OPERATIONS.md, "
              "\"Rotating the relay's keys\"",
              name, self->verifier.name, self->verifier.key_id,
              self->n_earlier_keys);
        goto cleanup;
    }
    if (rc != RK_OK) {
        s_err(err, errlen, "checkpoints/%s: refused: %s (%s)", name,
              rk_strerror(rc), why ? why : "no reason given");
        goto cleanup;
    }
    if (cp.size != num) {
        s_err(err, errlen,
              "checkpoints/%s: the file name disagrees with its tree size "
              "%" PRIu64,
              name, cp.size);
        rc = RK_ERR_MALFORMED;
        goto cleanup;
    }
    if (cp.size > self->size) {
        s_err(err, errlen,
              "log has %" PRIu64 " valid records but checkpoints/%s signed "
              "%" PRIu64 ": signed records are missing",
              self->size, name, cp.size);
        rc = RK_ERR_MISMATCH;
        goto cleanup;
    }
    if ((rc = merkle_tree_root(self->tree, cp.size, root)) != RK_OK)
        goto cleanup;
    if (memcmp(root, cp.root, MERKLE_HASH_LEN) != 0) {
        s_err(err, errlen,
              "the log's root at size %" PRIu64 " differs from the one "
              "signed in checkpoints/%s: records were changed",
              cp.size, name);
        rc = RK_ERR_MISMATCH;
        goto cleanup;
    }
    self->cp = cp;
    self->cp_note = (char *)data;
    self->cp_len = len;
    data = NULL;
cleanup:
    free(data);
    free(nums);
    return rc;
}

/* Creates segment first durably (temporary name, header, fdatasync,
 * rename, folder fsync) and makes it the one appended to. */
static int
s_new_segment(relay_log_t *self, uint64_t first) {
    char tmp[4096], path[4096];
    uint8_t hdr[RELAY_LOG_HEADER_LEN];
    int fd, wfd = -1, saved;

    s_seg_path(self, tmp, sizeof tmp, first, S_TMP_EXT);
    s_seg_path(self, path, sizeof path, first, S_SEG_EXT);
    memcpy(hdr, S_MAGIC, S_MAGIC_LEN);
    rk_put_be64(hdr + S_MAGIC_LEN, first);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return RK_ERR_IO;
    if (s_pwrite_all(self, fd, hdr, sizeof hdr, 0) != 0 ||
        s_fault(self, "fdatasync") != 0 || fdatasync(fd) != 0)
        goto fail_tmp;
    close(fd);
    fd = -1;
    if (access(path, F_OK) == 0) {
        errno = EEXIST;
        goto fail_tmp;
    }
    if (rename(tmp, path) != 0)
        goto fail_tmp;
    if (s_fsync_dir(self, self->log_dir) != 0)
        goto fail_final;
    wfd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (wfd < 0)
        goto fail_final;
    if (s_push_seg(self, first, RELAY_LOG_HEADER_LEN) != RK_OK) {
        close(wfd);
        errno = ENOMEM;
        goto fail_final;
    }
    if (self->wfd >= 0)
        close(self->wfd);
    self->wfd = wfd;
    self->durable_bytes = RELAY_LOG_HEADER_LEN;
    return RK_OK;
fail_final:
    /* A segment that may not survive a crash must not stay: the next
     * records go to the old one and a stray file would break continuity. */
    saved = errno;
    unlink(path);
    (void)s_fsync_dir(self, self->log_dir);
    errno = saved;
    return RK_ERR_IO;
fail_tmp:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = saved;
    return RK_ERR_IO;
}

/* Cuts the last segment back to off bytes. 0 or -1 (errno). */
static int
s_cut(relay_log_t *self, uint64_t off) {
    if (s_fault(self, "ftruncate") != 0 || ftruncate(self->wfd, (off_t)off))
        return -1;
    return 0;
}

/* In write mode: cut the torn tail found by the scan, make the segments
 * durable and ready the last one for appends. */
static int
s_ready_writer(relay_log_t *self, uint64_t cut_at, char *err, size_t errlen) {
    char path[4096];
    s_seg_t *last;

    if (cut_at == 0 && self->n_segs) {
        /* Only a prefix of a header: remove the file. */
        last = &self->segs[self->n_segs - 1];
        s_seg_path(self, path, sizeof path, last->first, S_SEG_EXT);
        if (unlink(path) != 0 || s_fsync_dir(self, self->log_dir) != 0) {
            s_err(err, errlen, "log: cannot remove a torn segment: %s",
                  strerror(errno));
            return RK_ERR_IO;
        }
        self->n_segs--;
    }
    if (self->n_segs == 0) {
        if (s_new_segment(self, 0) != RK_OK) {
            s_err(err, errlen, "log: cannot create the first segment: %s",
                  strerror(errno));
            return RK_ERR_IO;
        }
        return RK_OK;
    }
    last = &self->segs[self->n_segs - 1];
    s_seg_path(self, path, sizeof path, last->first, S_SEG_EXT);
    self->wfd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (self->wfd < 0) {
        s_err(err, errlen, "log: cannot open the last segment: %s",
              strerror(errno));
        return RK_ERR_IO;
    }
    if (cut_at != UINT64_MAX && cut_at != 0) {
        if (s_cut(self, cut_at) != 0 || s_fault(self, "fsync") != 0 ||
            fsync(self->wfd) != 0) {
            s_err(err, errlen, "log: cannot cut the torn tail: %s",
                  strerror(errno));
            return RK_ERR_IO;
        }
        last->bytes = cut_at;
    }
    /* Records written by a process that stopped before its sync count as
     * durable from now on, so they must be. */
    if (s_fault(self, "fdatasync") != 0 || fdatasync(self->wfd) != 0) {
        s_err(err, errlen, "log: fdatasync of the last segment: %s",
              strerror(errno));
        return RK_ERR_IO;
    }
    self->durable_bytes = last->bytes;
    return RK_OK;
}

static int
s_setup(relay_log_t *self, const relay_log_config_t *cfg, char *err,
        size_t errlen) {
    const char *name = cfg->key_name ? cfg->key_name : cfg->origin;
    const uint8_t *pk = cfg->public_key;
    size_t olen;

    olen = strlen(cfg->origin);
    if (olen == 0 || olen > CHECKPOINT_ORIGIN_MAX ||
        memchr(cfg->origin, '\n', olen) ||
        !note_chars_valid((const uint8_t *)cfg->origin, olen)) {
        s_err(err, errlen, "origin must be 1..255 bytes of one line");
        return RK_ERR_INVALID;
    }
    if (!note_name_valid(name)) {
        s_err(err, errlen, "invalid key name");
        return RK_ERR_INVALID;
    }
    memcpy(self->origin, cfg->origin, olen + 1);
    snprintf(self->key_name, sizeof self->key_name, "%s", name);
    self->sk = cfg->secret_key;
    if (self->sk) {
        /* An Ed25519 secret key is seed || public key. */
        if (pk && memcmp(pk, self->sk + 32, 32) != 0) {
            s_err(err, errlen, "public key does not match the secret key");
            return RK_ERR_MISMATCH;
        }
        pk = self->sk + 32;
    }
    if (pk) {
        snprintf(self->verifier.name, sizeof self->verifier.name, "%s", name);
        memcpy(self->verifier.pk, pk, 32);
        self->verifier.key_id = note_key_id(name, pk);
        self->have_verifier = true;
    }
    self->earlier_keys = cfg->earlier_keys;
    self->n_earlier_keys = cfg->earlier_keys ? cfg->n_earlier_keys : 0;
    self->segment_size =
        cfg->segment_size ? cfg->segment_size : RELAY_LOG_SEGMENT_DEFAULT;
    self->fault = cfg->fault;
    self->fault_arg = cfg->fault_arg;
    self->trust_leaves = cfg->trust_leaves;
    self->log_dir = s_join(cfg->dir, "log");
    self->cp_dir = s_join(cfg->dir, "checkpoints");
    self->tree = merkle_tree_new();
    self->wbuf_max =
        cfg->write_buffer ? cfg->write_buffer : RELAY_LOG_WRITE_BUFFER_DEFAULT;
    if (!self->log_dir || !self->cp_dir || !self->tree) {
        s_err(err, errlen, "out of memory");
        return RK_ERR_NOMEM;
    }
    return RK_OK;
}

static int
s_mkdir(const char *path, char *err, size_t errlen) {
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        s_err(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return RK_ERR_IO;
    }
    return RK_OK;
}

static int
s_lock(relay_log_t *self, const char *dir, char *err, size_t errlen) {
    char *path = s_join(dir, "lock");
    if (!path)
        return RK_ERR_NOMEM;
    self->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    free(path);
    if (self->lock_fd < 0) {
        s_err(err, errlen, "%s/lock: %s", dir, strerror(errno));
        return RK_ERR_IO;
    }
    if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        s_err(err, errlen, "%s: another process has this log open", dir);
        return errno == EWOULDBLOCK ? RK_ERR_EXISTS : RK_ERR_IO;
    }
    return RK_OK;
}

/* DIR/log/leaves: the leaf hash of every synced record, 32 bytes each in
 * index order, written after each sync and never synced itself. Only a
 * cache: at open it spares hashing every record again (recovery of a big
 * log is mostly that), each hash used only when the record's check bytes
 * agree with it and the newest checkpoint's root vouches for the result.
 * Read-only opens (auditors) never use it. */
#define S_LEAVES "leaves"

/* Reads the leaves file into self->side (write mode only). A missing or
 * unreadable file is no error: every record is hashed then. */
static void
s_side_load(relay_log_t *self, const uint64_t *nums, size_t n) {
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    uint64_t bytes = 0, most;
    int rc;
    /* No more hashes than the segments can hold records (a record takes
     * at least its frame overhead and one byte): a larger file is not
     * this log's, and is not read into memory. */
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        s_seg_path(self, path, sizeof path, nums[i], S_SEG_EXT);
        if (stat(path, &st) == 0)
            bytes += (uint64_t)st.st_size;
    }
    most = (bytes / (RELAY_LOG_FRAME_OVERHEAD + 1) + 1) * MERKLE_HASH_LEN;
    snprintf(path, sizeof path, "%s/%s", self->log_dir, S_LEAVES);
    rc = rk_read_file(path, (size_t)most, &data, &len);
    if (rc == RK_ERR_TOO_LARGE)
        log_warn("event=leaves_ignored reason=\"larger than the segments "
                 "could need (%" PRIu64 " bytes at most)\"",
                 most);
    if (rc != RK_OK)
        return;
    self->side = data;
    self->n_side = len / MERKLE_HASH_LEN;
}

static void
s_side_drop(relay_log_t *self) {
    free((void *)self->side);
    self->side = NULL;
    self->n_side = 0;
}

struct relay_log_scrub {
    char **paths;     /* segment files holding records [0, n) */
    uint64_t *firsts; /* first index of each */
    uint64_t *bytes;  /* their length at open */
    size_t n_segs;
    uint8_t *hashes; /* the leaf hash open used for each record */
    uint64_t n;      /* records covered */
    atomic_int cancel;
};

void
relay_log_scrub_cancel(relay_log_scrub_t *job) {
    if (job)
        atomic_store(&job->cancel, 1);
}

void
relay_log_scrub_free(relay_log_scrub_t **job_p) {
    relay_log_scrub_t *job;
    if (!job_p || !*job_p)
        return;
    job = *job_p;
    for (size_t i = 0; job->paths && i < job->n_segs; i++)
        free(job->paths[i]);
    free(job->paths);
    free(job->firsts);
    free(job->bytes);
    free(job->hashes);
    free(job);
    *job_p = NULL;
}

/* Copies what relay_log_scrub_run needs: the segments holding the first
 * side_used records and the hashes taken from the cache. */
static int
s_scrub_make(relay_log_t *self) {
    relay_log_scrub_t *job = calloc(1, sizeof *job);
    size_t k = 0;
    if (!job)
        return RK_ERR_NOMEM;
    while (k < self->n_segs && self->segs[k].first < self->side_used)
        k++;
    job->n = self->side_used;
    job->n_segs = k;
    job->paths = calloc(k ? k : 1, sizeof *job->paths);
    job->firsts = calloc(k ? k : 1, sizeof *job->firsts);
    job->bytes = calloc(k ? k : 1, sizeof *job->bytes);
    if (!job->paths || !job->firsts || !job->bytes)
        goto nomem;
    /* The cache's buffer moves to the job: its first n hashes are the
     * ones open used. */
    job->hashes = (uint8_t *)self->side;
    self->side = NULL;
    self->n_side = 0;
    for (size_t i = 0; i < k; i++) {
        char path[4096];
        s_seg_path(self, path, sizeof path, self->segs[i].first, S_SEG_EXT);
        if (!(job->paths[i] = strdup(path)))
            goto nomem;
        job->firsts[i] = self->segs[i].first;
        job->bytes[i] = self->segs[i].bytes;
    }
    relay_log_scrub_free(&self->scrub);
    self->scrub = job;
    return RK_OK;
nomem:
    relay_log_scrub_free(&job);
    return RK_ERR_NOMEM;
}

relay_log_scrub_t *
relay_log_scrub_take(relay_log_t *self) {
    relay_log_scrub_t *job = self ? self->scrub : NULL;
    if (self)
        self->scrub = NULL;
    return job;
}

int
relay_log_scrub_run(relay_log_scrub_t *job, uint64_t *checked, char *err,
                    size_t errlen) {
    uint64_t index = 0;
    *checked = 0;
    for (size_t i = 0; i < job->n_segs && index < job->n; i++) {
        int fd = open(job->paths[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        uint64_t off = RELAY_LOG_HEADER_LEN, size = job->bytes[i];
        uint8_t *map;
        const char *name = strrchr(job->paths[i], '/');
        name = name ? name + 1 : job->paths[i];
        if (fd < 0) {
            s_err(err, errlen, "log/%s: cannot open: %s", name,
                  strerror(errno));
            return RK_ERR_IO;
        }
        map = size ? mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0)
                   : MAP_FAILED;
        close(fd);
        if (map == MAP_FAILED) {
            s_err(err, errlen, "log/%s: mmap: %s", name, strerror(errno));
            return RK_ERR_IO;
        }
        index = job->firsts[i];
        while (off < size && index < job->n) {
            uint8_t leaf[MERKLE_HASH_LEN];
            if ((index & 1023) == 0 && atomic_load(&job->cancel)) {
                munmap(map, (size_t)size);
                s_err(err, errlen, "scrub cancelled");
                return RK_ERR_IO;
            }
            uint32_t len = 0;
            const char *why = s_frame_check(NULL, map, size, off, &len, leaf);
            if (!why && memcmp(leaf, job->hashes + index * MERKLE_HASH_LEN,
                               MERKLE_HASH_LEN) != 0)
                why = "its bytes no longer match the hash it was synced with";
            if (why) {
                s_err(err, errlen,
                      "log/%s: offset %" PRIu64 ": record %" PRIu64 ": %s",
                      name, off, index, why);
                munmap(map, (size_t)size);
                return RK_ERR_MISMATCH;
            }
            off += (uint64_t)len + RELAY_LOG_FRAME_OVERHEAD;
            index++;
            (*checked)++;
        }
        munmap(map, (size_t)size);
    }
    return RK_OK;
}

/* Forgets what a scan read, to scan again without the leaves file. */
static void
s_scan_reset(relay_log_t *self) {
    merkle_tree_destroy(&self->tree);
    self->tree = merkle_tree_new();
    self->size = 0;
    self->n_segs = 0;
    self->side_used = 0;
    s_side_drop(self);
}

/* Opens the leaves file for writing: keeps the hashes that were used (the
 * file's valid prefix), cuts the rest. */
static void
s_side_open(relay_log_t *self) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", self->log_dir, S_LEAVES);
    self->leaves_fd =
        open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (self->leaves_fd < 0 ||
        ftruncate(self->leaves_fd,
                  (off_t)(self->side_used * MERKLE_HASH_LEN)) != 0) {
        log_warn("event=leaves_unavailable error=\"%s\" effect=\"the next "
                 "start hashes every record\"",
                 strerror(errno));
        if (self->leaves_fd >= 0)
            close(self->leaves_fd);
        self->leaves_fd = -1;
        return;
    }
    self->leaves_written = self->side_used;
}

/* Appends the hashes of records synced since the last call. */
static void
s_side_write(relay_log_t *self) {
    uint8_t buf[256 * MERKLE_HASH_LEN];
    while (self->leaves_fd >= 0 && self->leaves_written < self->durable) {
        uint64_t n = self->durable - self->leaves_written;
        if (n > 256)
            n = 256;
        for (uint64_t i = 0; i < n; i++)
            if (merkle_tree_leaf(self->tree, self->leaves_written + i,
                                 buf + i * MERKLE_HASH_LEN) != RK_OK)
                return;
        /* Not through the fault hook: this file is a cache, and chaos
         * tests count the log's own writes. */
        size_t len = (size_t)n * MERKLE_HASH_LEN, done = 0;
        while (done < len) {
            ssize_t w =
                pwrite(self->leaves_fd, buf + done, len - done,
                       (off_t)(self->leaves_written * MERKLE_HASH_LEN + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        if (done < len) {
            char path[4096];
            log_warn("event=leaves_write_failed error=\"%s\" effect=\"the "
                     "next start hashes every record\"",
                     strerror(errno));
            close(self->leaves_fd);
            self->leaves_fd = -1;
            snprintf(path, sizeof path, "%s/%s", self->log_dir, S_LEAVES);
            (void)unlink(path);
            return;
        }
        self->leaves_written += n;
    }
}

int
relay_log_open(const relay_log_config_t *cfg, relay_log_t **out,
               relay_log_report_t *report, char *err, size_t errlen) {
    relay_log_t *self = NULL;
    uint64_t *nums = NULL, cut_at = UINT64_MAX, bytes_cut = 0;
    size_t n = 0, i;
    int rc;

    if (err && errlen)
        err[0] = 0;
    if (!out || !cfg || !cfg->dir || !cfg->origin) {
        s_err(err, errlen, "dir and origin are required");
        return RK_ERR_INVALID;
    }
    *out = NULL;
    self = calloc(1, sizeof *self);
    if (!self) {
        s_err(err, errlen, "out of memory");
        return RK_ERR_NOMEM;
    }
    self->lock_fd = self->wfd = self->rfd = self->leaves_fd = -1;
    if ((rc = s_setup(self, cfg, err, errlen)) != RK_OK)
        goto cleanup;
    if (self->sk) {
        /* Nothing is made in a node's folder, nor in one another process
         * has: the lock comes before log/ and checkpoints/. */
        if (rk_folder_kind(cfg->dir) == RK_FOLDER_NODE) {
            s_err(err, errlen,
                  "%s is a node's state folder (renrakud --state: it holds "
                  "its journal and boxes), not a relay's data folder: give "
                  "--data a folder of the relay's own",
                  cfg->dir);
            rc = RK_ERR_INVALID;
            goto cleanup;
        }
        if ((rc = s_mkdir(cfg->dir, err, errlen)) != RK_OK ||
            (rc = s_lock(self, cfg->dir, err, errlen)) != RK_OK ||
            (rc = s_mkdir(self->log_dir, err, errlen)) != RK_OK ||
            (rc = s_mkdir(self->cp_dir, err, errlen)) != RK_OK)
            goto cleanup;
    }
    rc = s_list(self->log_dir, S_SEG_EXT, self->sk ? S_TMP_EXT : NULL, &nums,
                &n);
    if (rc != RK_OK) {
        s_err(err, errlen, "%s: cannot list: %s", self->log_dir,
              rk_strerror(rc));
        goto cleanup;
    }
    if (self->sk && self->trust_leaves)
        s_side_load(self, nums, n);
rescan:
    for (i = 0; i < n; i++) {
        rc = s_scan_segment(self, nums[i], i + 1 == n, &cut_at, err, errlen);
        if (rc != RK_OK)
            goto cleanup;
    }
    if (cut_at != UINT64_MAX) {
        s_seg_t *last = &self->segs[self->n_segs - 1];
        bytes_cut = last->bytes - cut_at;
        if (!self->sk && cut_at > 0)
            last->bytes = cut_at; /* read-only: ignore, never touch */
    }
    if (self->have_verifier &&
        (rc = s_load_checkpoint(self, err, errlen)) != RK_OK) {
        if (rc == RK_ERR_MISMATCH && self->side_used) {
            /* Perhaps a wrong cached hash: judge by the records alone. */
            log_warn("event=leaves_ignored reason=\"%s\"", err ? err : "");
            s_scan_reset(self);
            if (!self->tree) {
                rc = RK_ERR_NOMEM;
                goto cleanup;
            }
            cut_at = UINT64_MAX;
            goto rescan;
        }
        goto cleanup;
    }
    if (self->sk && (rc = s_ready_writer(self, cut_at, err, errlen)) != RK_OK)
        goto cleanup;
    if (!self->sk && cut_at == 0)
        self->n_segs--; /* a torn header holds no record */
    self->durable = self->size;
    if (self->sk) {
        s_side_open(self);
        s_side_write(self);
    }
    if (self->side_used && (rc = s_scrub_make(self)) != RK_OK) {
        s_err(err, errlen, "out of memory");
        goto cleanup;
    }
    s_side_drop(self);
    if (bytes_cut)
        log_warn("event=log_tail_cut dir=%s bytes=%" PRIu64 " records=%" PRIu64
                 " cut=%s",
                 cfg->dir, bytes_cut, self->size, self->sk ? "yes" : "no");
    log_info("event=log_open dir=%s records=%" PRIu64 " segments=%zu "
             "checkpoint=%" PRIu64 " hashes_reused=%" PRIu64 " mode=%s",
             cfg->dir, self->size, self->n_segs,
             self->cp_note ? self->cp.size : 0, self->side_used,
             self->sk ? "write" : "read-only");
    if (report) {
        memset(report, 0, sizeof *report);
        report->records = self->size;
        report->segments = self->n_segs;
        report->bytes_cut = bytes_cut;
        report->tail_cut = bytes_cut && self->sk;
        report->checkpoint_found = self->cp_note != NULL;
        report->checkpoint_size = self->cp_note ? self->cp.size : 0;
    }
    self->earlier_keys = NULL; /* borrowed during open only */
    self->n_earlier_keys = 0;
    *out = self;
    self = NULL;
    rc = RK_OK;
cleanup:
    free(nums);
    relay_log_close(&self);
    return rc;
}

void
relay_log_close(relay_log_t **self_p) {
    relay_log_t *self;
    if (!self_p || !*self_p)
        return;
    self = *self_p;
    if (self->wfd >= 0) {
        /* Unsynced records were never acknowledged; write them anyway, as
         * an append without a sync always did (a restart finds them). */
        if (self->wlen && !self->werr && !self->broken && !self->cut_pending &&
            s_pwrite_all(self, self->wfd, self->wbuf, self->wlen,
                         self->wbuf_off) != 0)
            log_warn("event=log_close_write_failed records=%" PRIu64
                     " error=\"%s\" action=\"never acknowledged: the "
                     "senders retry them\"",
                     self->size - self->durable, strerror(errno));
        close(self->wfd);
    }
    if (self->rfd >= 0)
        close(self->rfd);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    if (self->leaves_fd >= 0)
        close(self->leaves_fd);
    s_side_drop(self);
    relay_log_scrub_free(&self->scrub);
    merkle_tree_destroy(&self->tree);
    free(self->offsets);
    free(self->segs);
    free(self->wbuf);
    free(self->cp_note);
    free(self->log_dir);
    free(self->cp_dir);
    free(self);
    *self_p = NULL;
}

/* Cuts the last segment back to the log's length and makes that durable
 * (after a failed cut). 0, or -1 with errno set. */
static int
s_recut(relay_log_t *self) {
    s_seg_t *cur = &self->segs[self->n_segs - 1];
    if (s_cut(self, cur->bytes) != 0 || s_fault(self, "fsync") != 0 ||
        fsync(self->wfd) != 0)
        return -1;
    self->cut_pending = false;
    log_info("event=log_cut_done bytes=%" PRIu64, cur->bytes);
    return 0;
}

/* Writes the buffered frames out (one pwrite). On failure the records
 * stay in the tree until the next sync, which refuses and cuts them all
 * (and logs log_write_failed); appends are refused until then. 0, or -1
 * with errno set. */
static int
s_write_out(relay_log_t *self) {
    if (self->wlen == 0)
        return 0;
    if (s_pwrite_all(self, self->wfd, self->wbuf, self->wlen, self->wbuf_off) !=
        0) {
        self->werr = errno ? errno : EIO;
        errno = self->werr;
        return -1;
    }
    self->wbuf_off += self->wlen;
    self->wlen = 0;
    return 0;
}

int
relay_log_append(relay_log_t *self, const uint8_t *rec, size_t len,
                 uint64_t *index) {
    uint8_t leaf[MERKLE_HASH_LEN], *f;
    s_seg_t *cur;
    size_t flen;
    int rc;

    if (!self || !self->sk || !rec || len == 0)
        return RK_ERR_INVALID;
    if (len > RELAY_LOG_MAX_RECORD)
        return RK_ERR_TOO_LARGE;
    if (self->broken || self->werr) {
        errno = self->broken ? EIO : self->werr;
        return RK_ERR_IO;
    }
    if (self->cut_pending && s_recut(self) != 0)
        return RK_ERR_IO;
    cur = &self->segs[self->n_segs - 1];
    if (self->durable == self->size && self->size > cur->first &&
        cur->bytes >= self->segment_size) {
        /* Rotate only with nothing unsynced (and so nothing buffered), so
         * a sync or a rollback concerns one file. On failure keep filling
         * the current one. */
        if (s_new_segment(self, self->size) != RK_OK)
            log_warn("event=log_rotate_failed first=%" PRIu64 " error=\"%s\"",
                     self->size, strerror(errno));
        cur = &self->segs[self->n_segs - 1];
    }
    flen = len + RELAY_LOG_FRAME_OVERHEAD;
    if (self->wlen && self->wlen + flen > self->wbuf_max &&
        s_write_out(self) != 0)
        return RK_ERR_IO;
    if ((rc = s_reserve(self, self->size + 1)) != RK_OK)
        return rc;
    if (self->wlen + flen > self->wcap) {
        size_t nc = self->wcap ? self->wcap : 64u * 1024u;
        uint8_t *nb;
        while (nc < self->wlen + flen)
            nc *= 2;
        if (!(nb = realloc(self->wbuf, nc)))
            return RK_ERR_NOMEM;
        self->wbuf = nb;
        self->wcap = nc;
    }
    if (self->wlen == 0)
        self->wbuf_off = cur->bytes;
    merkle_leaf_hash(rec, len, leaf);
    if ((rc = merkle_tree_append(self->tree, leaf)) != RK_OK)
        return rc;
    f = self->wbuf + self->wlen;
    rk_put_be32(f, (uint32_t)len);
    memcpy(f + 4, rec, len);
    memcpy(f + 4 + len, leaf, S_CHECK_LEN);
    self->wlen += flen;
    self->offsets[self->size] = cur->bytes;
    cur->bytes += flen;
    if (index)
        *index = self->size;
    self->size++;
    return RK_OK;
}

int
relay_log_sync_begin(relay_log_t *self, relay_log_sync_t *job) {
    memset(job, 0, sizeof *job);
    if (!self || !self->sk)
        return RK_ERR_INVALID;
    if (self->broken) {
        errno = EIO;
        return RK_ERR_IO;
    }
    if (self->durable == self->size)
        return RK_OK; /* job->needed stays false */
    job->needed = true;
    job->fd = self->wfd;
    job->fault = self->fault;
    job->fault_arg = self->fault_arg;
    job->buf = self->wbuf;
    job->len = self->wlen;
    job->off = self->wbuf_off;
    if (self->werr) {
        /* A write-out already failed: the batch is refused as it is. */
        job->failed = job->write_failed = true;
        job->err = self->werr;
    }
    return RK_OK;
}

void
relay_log_sync_run(relay_log_sync_t *job) {
    size_t done = 0;
    if (!job->needed || job->failed)
        return;
    /* The batch's frames, with one pwrite (more only after a short one). */
    while (done < job->len) {
        ssize_t w;
        errno = 0;
        if (job->fault && job->fault(job->fault_arg, "write") != 0)
            w = -1;
        else
            w = pwrite(job->fd, job->buf + done, job->len - done,
                       (off_t)(job->off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            job->failed = job->write_failed = true;
            job->err = w == 0 ? ENOSPC : errno ? errno : EIO;
            return;
        }
        done += (size_t)w;
    }
    errno = 0;
    if (job->fault && job->fault(job->fault_arg, "fdatasync") != 0) {
        job->failed = true;
        job->err = errno ? errno : EIO;
        return;
    }
    if (fdatasync(job->fd) != 0) {
        job->failed = true;
        job->err = errno;
    }
}

int
relay_log_sync(relay_log_t *self) {
    relay_log_sync_t job;
    int rc = relay_log_sync_begin(self, &job);
    if (rc != RK_OK)
        return rc;
    relay_log_sync_run(&job);
    return relay_log_sync_end(self, &job);
}

int
relay_log_sync_end(relay_log_t *self, relay_log_sync_t *job) {
    s_seg_t *cur;
    int saved;

    if (!job->needed)
        return RK_OK;
    cur = &self->segs[self->n_segs - 1];
    self->wlen = 0;
    if (!job->failed) {
        self->durable = self->size;
        self->durable_bytes = cur->bytes;
        self->wbuf_off = cur->bytes;
        s_side_write(self);
        return RK_OK;
    }
    errno = job->err;
    /* fsync gate: after a failed fdatasync the kernel may have dropped the
     * dirty pages and a retry can report success; those records are
     * refused and cut, never trusted. A failed write is refused the same
     * way: its batch, written in part or not at all, is cut whole. */
    saved = errno;
    if (job->write_failed)
        log_error("event=log_write_failed dropped=%" PRIu64 " error=\"%s\"",
                  self->size - self->durable, strerror(saved));
    else
        log_error("event=log_sync_failed dropped=%" PRIu64 " error=\"%s\"",
                  self->size - self->durable, strerror(saved));
    self->werr = 0;
    self->size = self->durable;
    if (s_tree_truncate(self, self->durable) != RK_OK) {
        log_error("event=log_broken reason=\"out of memory rolling back\"");
        self->broken = true;
    }
    if (s_cut(self, self->durable_bytes) != 0 || s_fault(self, "fsync") != 0 ||
        fsync(self->wfd) != 0) {
        /* Not broken for good: until the cut is durable nothing is
         * appended (a record written over part of a refused one could
         * bring the rest of it back at the next start); each append
         * tries it again, so the log resumes by itself. */
        log_error("event=log_cut_failed reason=\"cannot cut unsynced "
                  "records: %s\" action=\"retried before the next append\"",
                  strerror(errno));
        self->cut_pending = true;
    }
    cur->bytes = self->durable_bytes;
    errno = saved;
    return RK_ERR_IO;
}

uint64_t
relay_log_size(const relay_log_t *self) {
    return self->size;
}

uint64_t
relay_log_durable(const relay_log_t *self) {
    return self->durable;
}

/* Segment holding record index (binary search on first indexes). */
static size_t
s_find_seg(const relay_log_t *self, uint64_t index) {
    size_t lo = 0, hi = self->n_segs;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->segs[mid].first <= index)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static int
s_fd_for(relay_log_t *self, size_t segi) {
    char path[4096];
    if (segi + 1 == self->n_segs && self->wfd >= 0)
        return self->wfd;
    if (self->rfd >= 0 && self->rseg == segi)
        return self->rfd;
    if (self->rfd >= 0)
        close(self->rfd);
    s_seg_path(self, path, sizeof path, self->segs[segi].first, S_SEG_EXT);
    self->rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    self->rseg = segi;
    return self->rfd;
}

/* Reads record index into *buf (grown as needed, capacity *cap). */
static int
s_read_into(relay_log_t *self, uint64_t index, uint8_t **buf, size_t *cap,
            size_t *len) {
    uint8_t lenb[4], leaf[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];
    uint64_t off = self->offsets[index];
    uint32_t l;
    int fd = s_fd_for(self, s_find_seg(self, index)), rc;

    if (fd < 0)
        return RK_ERR_IO;
    if ((rc = s_pread_all(fd, lenb, 4, off)) != RK_OK)
        return rc;
    l = rk_get_be32(lenb);
    if (l == 0 || l > RELAY_LOG_MAX_RECORD)
        return RK_ERR_MALFORMED;
    if (*cap < l) {
        uint8_t *nb = realloc(*buf, l);
        if (!nb)
            return RK_ERR_NOMEM;
        *buf = nb;
        *cap = l;
    }
    if ((rc = s_pread_all(fd, *buf, l, off + 4)) != RK_OK)
        return rc;
    merkle_leaf_hash(*buf, l, leaf);
    if (merkle_tree_leaf(self->tree, index, want) != RK_OK ||
        memcmp(leaf, want, MERKLE_HASH_LEN) != 0)
        return RK_ERR_MISMATCH;
    *len = l;
    return RK_OK;
}

int
relay_log_read(relay_log_t *self, uint64_t index, uint8_t **rec, size_t *len) {
    uint8_t *buf = NULL;
    size_t cap = 0, l = 0;
    int rc;
    if (!self || !rec || !len)
        return RK_ERR_INVALID;
    if (index >= self->durable)
        return RK_ERR_NOT_FOUND;
    rc = s_read_into(self, index, &buf, &cap, &l);
    if (rc != RK_OK) {
        free(buf);
        return rc;
    }
    *rec = buf;
    *len = l;
    return RK_OK;
}

int
relay_log_foreach(relay_log_t *self, uint64_t from, relay_log_record_fn cb,
                  void *arg) {
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    uint64_t i;
    int rc = RK_OK;
    if (!self || !cb)
        return RK_ERR_INVALID;
    for (i = from; i < self->durable; i++) {
        if ((rc = s_read_into(self, i, &buf, &cap, &len)) != RK_OK)
            break;
        if ((rc = cb(arg, i, buf, len)) != 0)
            break;
    }
    free(buf);
    return rc;
}

int
relay_log_root(const relay_log_t *self, uint64_t size,
               uint8_t out[MERKLE_HASH_LEN]) {
    return merkle_tree_root(self->tree, size, out);
}

int
relay_log_leaf_hash(const relay_log_t *self, uint64_t index,
                    uint8_t out[MERKLE_HASH_LEN]) {
    return merkle_tree_leaf(self->tree, index, out);
}

int
relay_log_inclusion_proof(const relay_log_t *self, uint64_t index,
                          uint64_t size, uint8_t *proof, size_t *n) {
    if (size > self->durable)
        return RK_ERR_INVALID;
    return merkle_tree_inclusion_proof(self->tree, index, size, proof, n);
}

int
relay_log_consistency_proof(const relay_log_t *self, uint64_t size1,
                            uint64_t size2, uint8_t *proof, size_t *n) {
    if (size2 > self->durable)
        return RK_ERR_INVALID;
    return merkle_tree_consistency_proof(self->tree, size1, size2, proof, n);
}

static int
s_copy_note(const char *src, size_t len, char **note, size_t *out_len) {
    char *p = malloc(len + 1);
    if (!p)
        return RK_ERR_NOMEM;
    memcpy(p, src, len);
    p[len] = 0;
    *note = p;
    *out_len = len;
    return RK_OK;
}

int
relay_log_checkpoint(relay_log_t *self, uint64_t now_ms, char **note,
                     size_t *len) {
    checkpoint_t cp;
    char path[4096], name[64], when[32];
    char *signed_note = NULL;
    size_t signed_len = 0;
    int rc;

    if (!self || !self->sk || !note || !len)
        return RK_ERR_INVALID;
    if (self->cp_note && self->cp.size >= self->durable)
        return s_copy_note(self->cp_note, self->cp_len, note, len);
    memset(&cp, 0, sizeof cp);
    memcpy(cp.origin, self->origin, sizeof cp.origin);
    cp.size = self->durable;
    if ((rc = merkle_tree_root(self->tree, cp.size, cp.root)) != RK_OK)
        return rc;
    rc = checkpoint_sign(&cp, self->key_name, self->sk, &signed_note,
                         &signed_len);
    if (rc != RK_OK)
        return rc;
    s_seg_name(name, sizeof name, cp.size, S_NOTE_EXT);
    snprintf(path, sizeof path, "%s/%s", self->cp_dir, name);
    if (s_fault(self, "checkpoint") != 0) {
        rc = RK_ERR_IO;
        goto cleanup;
    }
    rc = rk_write_file(path, signed_note, signed_len, 0600, 1);
    if (rc != RK_OK) {
        log_error("event=log_checkpoint_failed size=%" PRIu64 " error=\"%s\"",
                  cp.size, rk_strerror(rc));
        goto cleanup;
    }
    if ((rc = s_copy_note(signed_note, signed_len, note, len)) != RK_OK)
        goto cleanup;
    free(self->cp_note);
    self->cp_note = signed_note;
    self->cp_len = signed_len;
    self->cp = cp;
    signed_note = NULL;
    rk_time_format(when, sizeof when, now_ms);
    log_info("event=log_checkpoint size=%" PRIu64 " time=%s", cp.size, when);
cleanup:
    free(signed_note);
    return rc;
}

int
relay_log_latest_checkpoint(const relay_log_t *self, char **note, size_t *len,
                            checkpoint_t *cp) {
    if (!self)
        return RK_ERR_INVALID;
    if (!self->cp_note)
        return RK_ERR_NOT_FOUND;
    if (note && len) {
        int rc = s_copy_note(self->cp_note, self->cp_len, note, len);
        if (rc != RK_OK)
            return rc;
    }
    if (cp)
        *cp = self->cp;
    return RK_OK;
}
